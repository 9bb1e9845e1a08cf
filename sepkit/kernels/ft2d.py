"""Kernels of 2DFT separation: local maximum, mean and standard deviation filters, fused.

- :func:`local_filters` computes, for a 2-D array, the maximum, the mean and the mean of the
  squares over a ``(m, n)`` neighbourhood with scipy.ndimage's conventions: edges extended by
  reflection (``'reflect'``: ``d c b a | a b c d | d c b a``), the window of output ``i``
  covering ``i - size // 2 .. i - size // 2 + size - 1`` along each axis, separable passes
  (frequency axis first, then time, as scipy) and the running sum of ``uniform_filter1d``
  (``s += x_in - x_out``, divided by ``size``), so the values are scipy's.
- :func:`local_std_peaks` turns them into the soft peak map of the local-std approach:
  ``(max - mean) / (sqrt(max(mean_sq - mean^2, 0)) + eps)`` where a value is its own local
  maximum, 0 elsewhere (the variance clamped at zero: no NaN in flat regions).
- :func:`row_local_std_peaks` fuses both for a ``(1, n)`` neighbourhood (the default one),
  a serial ``nogil`` kernel over ranges of rows run on threads
  (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on the number of
  threads). The other two are serial: a ``prange`` cost several times their compile time.

Pure functions on float64 arrays; only the reflection rule (from :mod:`sepkit.kernels.hpss`)
and :func:`~sepkit.kernels.threaded.run_threaded` are imported.
"""

import numba
import numpy as np

from .hpss import reflect_index
from .threaded import run_threaded

__all__ = ["local_filters", "local_std_peaks", "row_local_std_peaks"]


@numba.njit(cache=True)
def _extend(x, size, ext):
    """``x`` extended by reflection into ``ext`` (length ``len(x) + size - 1``) for windows of ``size``."""
    N = x.size
    left = size // 2
    for j in range(N + size - 1):
        ext[j] = x[reflect_index(j - left, N)]


@numba.njit(cache=True)
def _running_max(ext, size, out):
    """``out[i] = max(ext[i : i + size])`` (direct: the neighbourhoods used here are small)."""
    for i in range(out.size):
        top = ext[i]
        for j in range(i + 1, i + size):
            if ext[j] > top:
                top = ext[j]
        out[i] = top


@numba.njit(cache=True)
def _running_mean(ext, size, square, out):
    """scipy's running mean of ``ext`` (or of its squares): the first window summed, then
    ``s += new - old``, each output ``s / size``."""
    s = 0.0
    for j in range(size):
        v = ext[j]
        s += v * v if square else v
    out[0] = s / size
    for i in range(1, out.size):
        a = ext[i + size - 1]
        b = ext[i - 1]
        s += a * a - b * b if square else a - b
        out[i] = s / size


@numba.njit(cache=True)
def local_filters(D, m, n, mx, mean, mean_sq):
    """Local maximum, mean and mean of squares of ``D`` over ``(m, n)`` neighbourhoods.

    Parameters
    ----------
    D : numpy.ndarray of float64, shape (F, T)
    m, n : int
        Neighbourhood size along axis 0 and axis 1 (>= 1).
    mx, mean, mean_sq : numpy.ndarray of float64, shape (F, T)
        Outputs: scipy.ndimage's ``maximum_filter(D, (m, n))``, ``uniform_filter(D, (m, n))``
        and ``uniform_filter(D**2, (m, n))``.
    """
    F, T = D.shape
    square = True  # whether the row pass squares its input (no column pass before it)
    if m > 1:  # the frequency axis first, as scipy
        square = False
        for t in range(T):
            ext = np.empty(F + m - 1)
            col = np.empty(F)
            out = np.empty(F)
            for f in range(F):
                col[f] = D[f, t]
            _extend(col, m, ext)
            _running_max(ext, m, out)
            for f in range(F):
                mx[f, t] = out[f]
            _running_mean(ext, m, False, out)
            for f in range(F):
                mean[f, t] = out[f]
            _running_mean(ext, m, True, out)
            for f in range(F):
                mean_sq[f, t] = out[f]
    for f in range(F):
        if n == 1:
            if square:
                for t in range(T):
                    v = D[f, t]
                    mx[f, t] = v
                    mean[f, t] = v
                    mean_sq[f, t] = v * v
            continue
        ext = np.empty(T + n - 1)
        if square:
            _extend(D[f], n, ext)
            _running_max(ext, n, mx[f])
            _running_mean(ext, n, False, mean[f])
            _running_mean(ext, n, True, mean_sq[f])
        else:
            row = mx[f].copy()
            _extend(row, n, ext)
            _running_max(ext, n, mx[f])
            row[:] = mean[f]
            _extend(row, n, ext)
            _running_mean(ext, n, False, mean[f])
            row[:] = mean_sq[f]
            _extend(row, n, ext)
            _running_mean(ext, n, False, mean_sq[f])


@numba.njit(cache=True)
def local_std_peaks(D, mx, mean, mean_sq, eps, out):
    """Soft peak map: local maxima's height above the local mean in local standard deviations.

    Parameters
    ----------
    D, mx, mean, mean_sq : numpy.ndarray of float64, shape (F, T)
        The data and its local maximum, mean and mean of squares (:func:`local_filters`).
    eps : float
        Added to the standard deviation (nussl: 1e-7).
    out : numpy.ndarray of float64, shape (F, T)
        ``(mx - mean) / (sqrt(max(mean_sq - mean^2, 0)) + eps)`` where ``D == mx``, else 0.

    Returns
    -------
    float
        The largest value of ``out``.
    """
    F, T = D.shape
    best = np.zeros(F)
    for f in range(F):
        _peak_row(D[f], mx[f], mean[f], mean_sq[f], eps, out[f], best, f)
    return best.max()


@numba.njit(cache=True)
def _peak_row(d, mx, mean, mean_sq, eps, out, best, f):
    row_best = 0.0
    for t in range(d.size):
        if d[t] == mx[t]:
            mu = mean[t]
            var = max(mean_sq[t] - mu * mu, 0.0)
            z = (mx[t] - mu) / (np.sqrt(var) + eps)
            out[t] = z
            row_best = max(row_best, z)
        else:
            out[t] = 0.0
    best[f] = row_best


@numba.njit(cache=True)
def _running_max_vhgw(ext, size, out, prefix, suffix):
    """``out[i] = max(ext[i : i + size])`` by van Herk/Gil-Werman: block prefix and suffix
    maxima, three comparisons per value whatever ``size`` (the maximum is exact)."""
    n_ext = ext.size
    for start in range(0, n_ext, size):
        stop = min(start + size, n_ext)
        top = ext[start]
        prefix[start] = top
        for j in range(start + 1, stop):
            v = ext[j]
            if v > top:
                top = v
            prefix[j] = top
        top = ext[stop - 1]
        suffix[stop - 1] = top
        for j in range(stop - 2, start - 1, -1):
            v = ext[j]
            if v > top:
                top = v
            suffix[j] = top
    for i in range(out.size):
        a = suffix[i]
        b = prefix[i + size - 1]
        out[i] = a if a > b else b


def row_local_std_peaks(D, n, eps, out, n_threads=None):
    """:func:`local_filters` then :func:`local_std_peaks` for a ``(1, n)`` neighbourhood, fused per row.

    Same values as the two-step path (the same running sums in the same order, an exact
    maximum), without the three intermediate arrays.

    Parameters
    ----------
    D : numpy.ndarray of float64, shape (F, T)
    n : int
        Neighbourhood length along axis 1 (>= 1).
    eps : float
        Added to the standard deviation.
    out : numpy.ndarray of float64, shape (F, T)
        The soft peak map (unnormalised).
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).

    Returns
    -------
    float
        The largest value of ``out``.
    """
    best = np.zeros(D.shape[0])
    run_threaded(_row_std_peaks, D.shape[0], D, n, eps, out, best, n_threads=n_threads)
    return float(best.max())


@numba.njit(cache=True, nogil=True)
def _row_std_peaks(D, n, eps, out, best, start, stop):
    """:func:`row_local_std_peaks` for the rows ``[start, stop)``; ``best[f]``: the largest value of row ``f``."""
    T = D.shape[1]
    ext = np.empty(T + n - 1)
    mx = np.empty(T)
    prefix = np.empty(T + n - 1)
    suffix = np.empty(T + n - 1)
    for f in range(start, stop):
        d = D[f]
        o = out[f]
        _extend(d, n, ext)
        _running_max_vhgw(ext, n, mx, prefix, suffix)
        s = 0.0
        s2 = 0.0
        for j in range(n):
            v = ext[j]
            s += v
            s2 += v * v
        row_best = 0.0
        for t in range(T):
            if n == 1:  # no running sum (scipy's, and local_filters', shortcut)
                s = ext[t]
                s2 = s * s
            elif t > 0:
                a = ext[t + n - 1]
                b = ext[t - 1]
                s += a - b
                s2 += a * a - b * b
            if d[t] == mx[t]:
                mu = s / n
                var = max(s2 / n - mu * mu, 0.0)
                z = (mx[t] - mu) / (np.sqrt(var) + eps)
                o[t] = z
                row_best = max(row_best, z)
            else:
                o[t] = 0.0
        best[f] = row_best
