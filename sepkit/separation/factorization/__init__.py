"""Factorization separators: robust PCA (low-rank background, sparse foreground)."""

from .rpca import RPCA

__all__ = ["RPCA"]
from .ica import ICA  # noqa: E402

__all__ += ["ICA"]
