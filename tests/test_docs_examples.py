"""The documentation's examples run: every ``>>>`` example of the listed pages is a doctest."""

import doctest
import os

import pytest

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")
PAGES = ["guide/writing_a_separator.rst", "guide/clustering.rst"]


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page):
    result = doctest.testfile(
        os.path.join(DOCS, page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.attempted > 0, f"{page} has no example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {page} failed"
