"""Sphinx configuration of the sepkit documentation.

Build from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build is offline (no intersphinx, no remote images) and writes only under
``docs/_build``.
"""

import os
import sys

# Importing sepkit for autodoc must not leave bytecode caches next to the sources.
sys.dont_write_bytecode = True

# Document the checkout this file belongs to, even when sepkit is not installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import sepkit  # noqa: E402

# -- Project information ---------------------------------------------------------------
project = "sepkit"
author = "the sepkit developers"
copyright = "sepkit developers, MIT license"
release = sepkit.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration -------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
]

exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
root_doc = "index"
language = "en"
default_role = "code"
pygments_style = "sphinx"

# autodoc: members in source order, signatures without the type hints (the numpydoc
# Parameters sections already give types, shapes and units).
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {}

# numpydoc: members are listed by autodoc, not by numpydoc (avoids duplicate entries).
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Link sepkit's own classes in "Parameters"/"Returns" types; leave every other word as text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
# numpydoc's default aliases point into the Python and NumPy inventories, which this
# offline build does not load: map each of those words to itself (plain text).
from numpydoc.xref import DEFAULT_LINKS  # noqa: E402

numpydoc_xref_aliases = {word: word for word in DEFAULT_LINKS}
# Every public class of sepkit.core and sepkit.separation links by its short name.
import sepkit.core  # noqa: E402
import sepkit.separation  # noqa: E402

for _module in (sepkit.core, sepkit.separation):
    numpydoc_xref_aliases.update(
        {name: f"{_module.__name__}.{name}" for name in _module.__all__ if isinstance(getattr(_module, name), type)}
    )

# -- HTML output -----------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"sepkit {release}"
html_static_path = []
html_theme_options = {
    "description": "Audio source separation with classic methods",
    "fixed_sidebar": True,
    "show_powered_by": False,
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
html_show_sourcelink = False


# -- Cross-references ------------------------------------------------------------------
# Docstrings name sepkit objects by short or top-level names (``AudioSignal``,
# ``sepkit.AudioSignal``, ``residual_model``) that Sphinx cannot resolve from the page
# they are rendered on. Resolve such a reference when it names exactly one documented
# sepkit object; otherwise leave it as plain text, as Sphinx does.
def _resolve_sepkit_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if target.startswith("sepkit.") and target.count(".") == 1:
        target = target.split(".", 1)[1]
    if not target or "." in target:
        return None
    domain = env.get_domain("py")
    matches = [
        (name, obj)
        for name, obj in domain.find_obj(env, None, None, target, node.get("reftype"), 1)
        if name.startswith("sepkit.") and not obj.aliased  # skip autodoc's canonical aliases
    ]
    if len(matches) != 1:
        return None
    name, obj = matches[0]
    from sphinx.util.nodes import make_refnode

    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)


# -- The methods table, generated from the registry ------------------------------------
from docutils import nodes  # noqa: E402
from docutils.parsers.rst import Directive  # noqa: E402
from docutils.statemachine import StringList  # noqa: E402


class SepkitMethods(Directive):
    """``.. sepkit-methods::``: one row per registered separator (name, class, description, needs, page).

    Each row links the method's page ``docs/<entry.page>.rst``; a registered separator
    without its page is a broken link, which fails the build (``-W``).
    """

    def run(self):
        from sepkit.separation.registry import entries

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 14 18 48 20", "",
                 "   * - name", "     - separator", "     - what it does", "     - needs"]
        for entry in entries():
            oracle = " (oracle)" if entry.oracle and "oracle" not in entry.description else ""
            lines += [
                f"   * - ``{entry.name}``",
                f"     - :class:`~sepkit.separation.{entry.cls.__name__}` (:doc:`/{entry.page}`)",
                f"     - {entry.description}{oracle}",
                f"     - {entry.needs_text().replace('*', '')}",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="sepkit registry"), self.content_offset, container)
        return container.children


class SepkitCli(Directive):
    """``.. sepkit-cli:: COMMAND``: the ``--help`` text of ``sepkit COMMAND``, from the argument parser."""

    required_arguments = 1

    def run(self):
        import os as _os

        from sepkit.cli import build_parser

        _os.environ["COLUMNS"] = "100"  # a stable width for argparse's wrapping
        parser = build_parser()
        command = self.arguments[0]
        subparsers = next(a for a in parser._actions if a.dest == "command")
        text = subparsers.choices[command].format_help()
        return [nodes.literal_block(text, text, language="text")]


def setup(app):
    app.connect("missing-reference", _resolve_sepkit_reference)
    app.add_directive("sepkit-methods", SepkitMethods)
    app.add_directive("sepkit-cli", SepkitCli)
