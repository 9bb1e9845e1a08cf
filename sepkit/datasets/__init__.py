"""Datasets: the bundled example (and, later, folder datasets)."""

from .example import EXAMPLE_SOURCES, load_example

__all__ = ["load_example", "EXAMPLE_SOURCES"]
