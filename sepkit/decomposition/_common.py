"""Helpers shared by the array-level decompositions: array checks, BLAS threads, product layout, dtype."""

from __future__ import annotations

import numpy as np

from ..core import DecompositionError
from ..core.validation import check_array

__all__ = [
    "check_nonneg_array",
    "blas_controller",
    "single_thread_blas",
    "times_t",
    "work_dtype",
    "check_level",
    "LEVEL_BAND",
]


def check_nonneg_array(name, X, dtype, ndim=2, shape=None, what="array", copy=True):
    """Validated C-contiguous finite nonnegative real array of ``ndim`` dimensions.

    :func:`sepkit.core.validation.check_array` with the decompositions' settings.

    Parameters
    ----------
    name : str
        Name of the argument, for messages.
    X : array_like
    dtype : numpy.dtype
        Working dtype of the result.
    ndim : int, default 2
    shape : tuple, optional
        Required shape.
    what : str
        What the array is, for messages (``'array'``, ``'tensor'``, ...).
    copy : bool, default True
        Return a private copy; with False (arrays that are only read), the caller's array
        itself when it already has the dtype and layout.

    Raises
    ------
    DecompositionError
        For a non-numeric, complex, empty, non-finite or negative array, or a wrong shape.
    """
    return check_array(name, X, ndim=ndim, shape=shape, dtype=dtype, nonneg=True, copy=copy, what=what,
                       error=DecompositionError)


# Peaks of V the factorisations handle in each working dtype: their products (e.g. W H H^T),
# costs and the absolute thresholds of the initialisations over- or underflow outside.
LEVEL_BAND = {np.dtype(np.float64): (1e-100, 1e50), np.dtype(np.float32): (1e-12, 1e12)}


def check_level(V: np.ndarray) -> None:
    """Raise :class:`~sepkit.DecompositionError` naming the peak of ``V`` when it is outside
    :data:`LEVEL_BAND` of its dtype (a factorisation of ``c V`` is ``c W, H``: rescale)."""
    low, high = LEVEL_BAND.get(V.dtype, LEVEL_BAND[np.dtype(np.float64)])
    peak = float(V.max()) if V.size else 0.0
    if peak and not low <= peak <= high:
        raise DecompositionError(
            f"V peaks at {peak:.3g}, outside [{low:.0e}, {high:.0e}] where the {V.dtype} updates and costs "
            "over- or underflow: rescale V (the factorisation of c * V is c * W and H)"
        )


_CONTROLLER = []


def blas_controller():
    """The process's ``threadpoolctl.ThreadpoolController`` (created once)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def single_thread_blas():
    """Context limiting BLAS to one thread while numba kernels run in parallel between products."""
    return blas_controller().limit(limits=1, user_api="blas")


def times_t(A, B):
    """``A @ B.T`` for A (F, N) and B (M, N), as ``(B @ A.T).T`` made contiguous (F, M).

    OpenBLAS computes this layout about 1.8 times faster than ``A @ B.T`` at M = 8.
    """
    return np.ascontiguousarray((B @ A.T).T)


def work_dtype(dtype, *arrays) -> np.dtype:
    """The working precision: ``dtype`` if given (float64 or float32), else float32 when every
    array is float32, else float64."""
    if dtype is None:
        if all(getattr(a, "dtype", None) == np.float32 for a in arrays):
            return np.dtype(np.float32)
        return np.dtype(np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise DecompositionError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    return dt
