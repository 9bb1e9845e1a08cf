"""Reductions of one row, reassociated so that LLVM vectorizes them; shared by the Projet and ICA kernels.

Pure functions on 1-D float64 arrays; nothing from sepkit is imported.
"""

import numba

__all__ = ["row_dot", "row_sum"]


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def row_dot(a, b):
    """``sum(a * b)`` of two rows of equal length (reassociated: vectorized)."""
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@numba.njit(cache=True, fastmath={"reassoc"})
def row_sum(a):
    """``sum(a)`` of a row (reassociated: vectorized)."""
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i]
    return acc
