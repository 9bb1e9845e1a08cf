"""Kernels of median-filtering harmonic/percussive separation (HPSS): running medians, soft masks.

- :func:`median_rows` filters every row of a 2-D array with a running median of ``size``
  samples, edges extended by reflection (scipy's ``mode='reflect'``: ``d c b a | a b c d |
  d c b a``), the ``size // 2``-th smallest value of the window (scipy's rank for even
  sizes too). The window is kept sorted: each step removes the outgoing sample and inserts
  the incoming one (O(size) moves, no sort). Rows are run on threads
  (:func:`sepkit.kernels.threaded.run_threaded` over a serial ``nogil`` kernel: a ``prange``
  cost several times its compile time; the values do not depend on the number of threads).
- :func:`soft_mask` is librosa's ``util.softmask``: ``(X/Z)**p / ((X/Z)**p + (R/Z)**p)``
  with ``Z = max(X, R)``, where ``Z`` is below the smallest normal float the mask is
  ``zero_value``; an infinite power gives the hard mask ``X > R``.

Pure functions on float64 arrays; nothing from sepkit is imported but
:mod:`sepkit.kernels.threaded`.
"""

import numba
import numpy as np

from .threaded import run_threaded

__all__ = ["median_rows", "reflect_index", "soft_mask"]


@numba.njit(cache=True)
def reflect_index(j, n):
    """Index ``j`` folded into ``[0, n)`` by scipy's 'reflect' rule (repeated for short rows).

    Shared with :mod:`sepkit.kernels.ft2d` (its local filters extend rows the same way).
    """
    period = 2 * n
    j = j % period
    if j < 0:
        j += period
    return j if j < n else period - 1 - j


def median_rows(X, size, out, n_threads=None):
    """Running median along the last axis of X (R, N), written to ``out`` (R, N).

    Parameters
    ----------
    X : numpy.ndarray of float64, shape (R, N)
        Finite values (C-contiguous rows).
    size : int
        Window length >= 1: samples ``n - size // 2`` to ``n + (size - 1 - size // 2)``.
    out : numpy.ndarray of float64, shape (R, N)
        Output (must not be X).
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).
    """
    run_threaded(_median_rows, X.shape[0], X, size, out, n_threads=n_threads)


@numba.njit(cache=True, nogil=True)
def _median_rows(X, size, out, start, stop):
    """:func:`median_rows` for the rows ``[start, stop)``."""
    N = X.shape[1]
    left = size // 2
    rank = size // 2
    win = np.empty(size)
    for r in range(start, stop):
        row = X[r]
        # the first window, sorted by insertion
        for i in range(size):
            v = row[reflect_index(i - left, N)]
            j = i
            while j > 0 and win[j - 1] > v:
                win[j] = win[j - 1]
                j -= 1
            win[j] = v
        out[r, 0] = win[rank]
        for n in range(1, N):
            old = row[reflect_index(n - 1 - left, N)]
            new = row[reflect_index(n - 1 - left + size, N)]
            if old != new:
                # position of the outgoing value (any copy of it)
                lo, hi = 0, size - 1
                while lo < hi:
                    mid = (lo + hi) // 2
                    if win[mid] < old:
                        lo = mid + 1
                    else:
                        hi = mid
                j = lo
                if new > old:  # shift the smaller-than-new values left over the gap
                    while j < size - 1 and win[j + 1] < new:
                        win[j] = win[j + 1]
                        j += 1
                else:  # shift the larger-than-new values right over the gap
                    while j > 0 and win[j - 1] > new:
                        win[j] = win[j - 1]
                        j -= 1
                win[j] = new
            out[r, n] = win[rank]


@numba.njit(cache=True)
def soft_mask(X, R, power, zero_value, out):
    """librosa's soft mask of X against R (flat arrays of one length), written to ``out``.

    Parameters
    ----------
    X, R : numpy.ndarray of float64, shape (M,)
        Nonnegative values.
    power : float
        Exponent > 0; ``inf`` gives the hard mask ``X > R`` (as 0.0 / 1.0).
    zero_value : float
        Mask where ``max(X, R)`` is below the smallest normal float64 (0.5 or 0.0 in librosa).
    out : numpy.ndarray of float64, shape (M,)
    """
    tiny = np.finfo(np.float64).tiny
    hard = power == np.inf
    for i in range(X.size):
        x = X[i]
        r = R[i]
        if hard:
            out[i] = 1.0 if x > r else 0.0
            continue
        z = max(x, r)
        if z < tiny:
            out[i] = zero_value
        else:
            a = x / z
            b = r / z
            if power == 2.0:  # numpy's own fast path for ** 2 (a square, not pow)
                a = a * a
                b = b * b
            elif power != 1.0:
                a = a**power
                b = b**power
            out[i] = a / (a + b)
