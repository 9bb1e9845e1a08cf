"""Composite separators: separators built on other separators (windowed processing of long recordings)."""

from .overlap_add import OverlapAdd

__all__ = ["OverlapAdd"]
from .ensemble_clustering import EnsembleClustering  # noqa: E402

__all__ += ["EnsembleClustering"]
