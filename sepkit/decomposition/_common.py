"""Helpers shared by the array-level decompositions: validation, RNG, BLAS threads, product layout."""

from __future__ import annotations

import numbers

import numpy as np

from ..core import DecompositionError

__all__ = [
    "check_array",
    "nonneg_float",
    "positive_int",
    "make_rng",
    "blas_controller",
    "single_thread_blas",
    "times_t",
    "work_dtype",
]


def check_array(name, X, dtype, ndim=2, shape=None, what="array", copy=True):
    """Validated C-contiguous finite nonnegative real array of ``ndim`` dimensions.

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
    try:
        A = np.asarray(X)
    except (TypeError, ValueError) as exc:  # ragged nested sequences and the like
        raise DecompositionError(f"{name} must be a {ndim}-D {what} of real numbers: {exc}") from None
    if A.dtype == object or not (np.issubdtype(A.dtype, np.number) or A.dtype == bool):
        raise DecompositionError(f"{name} must be a {ndim}-D {what} of real numbers, got dtype {A.dtype}")
    if np.iscomplexobj(A):
        raise DecompositionError(f"{name} must be real and nonnegative (e.g. magnitudes), got a complex array")
    if A.ndim != ndim:
        raise DecompositionError(f"{name} must be a {ndim}-D {what}, got an array of shape {A.shape}")
    if shape is not None and A.shape != shape:
        raise DecompositionError(f"{name} must have shape {shape}, got {A.shape}")
    if A.size == 0:
        raise DecompositionError(f"{name} must not be empty, got shape {A.shape}")
    A = np.array(A, dtype=dtype, order="C", copy=True if copy else None)
    if not np.all(np.isfinite(A)):
        raise DecompositionError(f"{name} contains {int(np.sum(~np.isfinite(A)))} NaN or infinite values")
    if A.min() < 0:
        raise DecompositionError(f"{name} must be nonnegative, got a minimum of {float(A.min())!r}")
    return A


def nonneg_float(name, value) -> float:
    """``value`` as a float, or :class:`DecompositionError` unless it is finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise DecompositionError(f"{name} must be a finite nonnegative real, got {value!r}")
    return float(value)


def positive_int(name, value, minimum) -> int:
    """``value`` as an int, or :class:`DecompositionError` unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DecompositionError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def make_rng(seed) -> np.random.Generator:
    """A generator from ``seed`` (None, a nonnegative int, or a Generator used as is); never numpy's global RNG."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise DecompositionError(f"seed must be None, a nonnegative int or a numpy.random.Generator, got {seed!r}")


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
