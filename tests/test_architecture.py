"""The package's shape: which layer may import which, no cycles, no numba above the kernels, small modules.

Read from the source with :mod:`ast` (nothing is imported), following DESIGN.md:
``kernels`` imports nothing from sepkit but its errors; ``core`` never imports
``separation`` or ``evaluation``; ``datasets`` never imports ``separation``; nothing
imports ``cli``; there is no import cycle between modules; no numba function is defined
under ``sepkit/separation/``; no module is over 600 lines.
"""

import ast
import os

import pytest

import sepkit

ROOT = os.path.dirname(sepkit.__file__)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 120


def _modules():
    """``{dotted name: path}`` of every module of the package."""
    out = {}
    for folder, _, files in os.walk(ROOT):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                out[".".join(rel)] = path
    return out


MODULES = _modules()


def _is_package(name):
    return MODULES[name].endswith("__init__.py")


class _ImportNodes(ast.NodeVisitor):
    """Import statements of a module; with ``lazy=False``, not those inside functions."""

    def __init__(self, lazy):
        self.lazy, self.nodes = lazy, []

    def visit_FunctionDef(self, node):
        if self.lazy:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node):
        self.nodes.append(node)

    visit_ImportFrom = visit_Import


def _imports(name, lazy=True):
    """Modules of the package that module ``name`` imports; ``lazy=False``: only at import time."""
    visitor = _ImportNodes(lazy)
    visitor.visit(ast.parse(open(MODULES[name]).read()))
    package = name if _is_package(name) else name.rsplit(".", 1)[0]
    found = set()
    for node in visitor.nodes:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        found.update(t for t in targets if t in MODULES and t != name)
    return found


def _layer(name):
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _layer(n) == "kernels"))
def test_kernels_import_only_errors(name):
    bad = {m for m in _imports(name) if _layer(m) != "kernels" and m not in ("sepkit.core.errors", "sepkit.core")}
    assert not bad, f"{name} imports {sorted(bad)}"
    # 'from ..core import errors' style is the only core import allowed
    tree = ast.parse(open(MODULES[name]).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("core"):
            assert [a.name for a in node.names] == ["errors"], f"{name} imports {node.module}: {node.names}"


def test_layer_directions():
    rules = {
        "core": {"separation", "evaluation", "datasets", "decomposition", "cli", "demo", "filtering"},
        "datasets": {"separation", "evaluation", "cli", "demo"},
        "kernels": {"core", "separation", "evaluation", "datasets", "decomposition", "cli", "demo", "filtering"},
        "decomposition": {"separation", "evaluation", "datasets", "cli", "demo"},
        "filtering": {"separation", "evaluation", "datasets", "cli", "demo"},
        "separation": {"evaluation", "cli", "demo"},
        "evaluation": {"cli", "demo"},
        "demo": {"cli"},
    }
    violations = []
    for name in MODULES:
        forbidden = rules.get(_layer(name), set())
        for target in _imports(name):
            if _layer(target) in forbidden and not (_layer(name) == "kernels" and target == "sepkit.core.errors"):
                violations.append(f"{name} -> {target}")
    assert not violations, violations


def test_no_import_cycle():
    graph = {name: _imports(name) for name in MODULES}  # lazy imports too
    # Lazy imports inside functions count too. A module importing its parent package is not an
    # edge: a package's __init__ importing its submodules is how packages work.
    def edges(name):
        return {t for t in graph[name] if not name.startswith(t + ".")}

    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in edges(node):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not cycles, cycles[:3]


def test_no_numba_under_separation():
    offenders = []
    for name, path in MODULES.items():
        if _layer(name) != "separation":
            continue
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for deco in node.decorator_list:
                    text = ast.unparse(deco)
                    if any(word in text for word in ("njit", "jit", "vectorize", "stencil", "cfunc")):
                        offenders.append(f"{name}.{node.name}")
            if isinstance(node, ast.Call) and any(
                w in ast.unparse(node.func) for w in ("njit", "numba.jit", "vectorize")
            ):
                offenders.append(f"{name}: {ast.unparse(node)[:60]}")
    assert not offenders, offenders


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    with open(MODULES[name]) as file:
        lines = sum(1 for _ in file)
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines"


def test_function_size():
    long = []
    for name, path in MODULES.items():
        tree = ast.parse(open(path).read())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                # the docstring does not count: it is documentation, not logic
                if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    start = body[1].lineno if len(body) > 1 else node.end_lineno
                else:
                    start = node.lineno
                size = node.end_lineno - start + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {size} lines")
    assert not long, long
