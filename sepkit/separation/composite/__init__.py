"""Composite separators: separators built on other separators (windowed processing of long recordings)."""

from .overlap_add import OverlapAdd

__all__ = ["OverlapAdd"]
