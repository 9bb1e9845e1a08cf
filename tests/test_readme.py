"""The README's Python blocks run as they are written (each on its own, in a scratch folder)."""

import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def _python_blocks():
    with open(README, encoding="utf-8") as file:
        text = file.read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


BLOCKS = _python_blocks()


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks write their estimates to the working folder
    namespace = {"__name__": f"readme_block_{index}"}
    exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)


def test_readme_methods_table_lists_every_registered_separator():
    from sepkit.separation.registry import entries

    with open(README, encoding="utf-8") as file:
        table = file.read().split("## Methods", 1)[1].split("\n## ", 1)[0]
    missing = sorted({e.cls.__name__ for e in entries()} - set(re.findall(r"^\| `(\w+)`", table, flags=re.M)))
    assert not missing, f"README's methods table lacks {missing}"
