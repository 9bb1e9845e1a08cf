"""Factorization separators: robust PCA (low-rank background, sparse foreground)."""

from .rpca import RPCA

__all__ = ["RPCA"]
