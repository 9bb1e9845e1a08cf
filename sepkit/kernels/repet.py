"""Kernels of REPET and REPET-SIM: median repeating models, similarity-peak picking, masks.

- :func:`median_select` is the in-place median of the first ``n`` values of a buffer
  (branch-free quickselect; the mean of the two middle values for even ``n``, as ``numpy.median``).
- :func:`period_mask` is REPET's background mask for one channel: the repeating segment
  model ``S(f, j) = median_k V(f, j + k p)`` (the segments that exist; nussl pads the last one
  with NaN and takes ``nanmedian``, which is the same), tiled over time, and the mask
  ``(min(S, V) + eps) / (V + eps)``.
- :func:`similarity_peaks` is REPET-SIM's choice of repeating frames: for every frame ``i``,
  the row ``S[i]`` of the similarity matrix is min-max normalised, values below the
  threshold are zeroed, and peaks are picked greedily (largest first, the first index on
  ties) with a suppression window ``[floor(j - d), floor(j + d + 1))`` around every pick,
  up to ``max_peaks`` picks; frame ``i`` itself is always the first pick and is dropped.
  Block maxima of the row replace nussl's repeated ``argmax`` over the whole row (same picks).
- :func:`neighbour_mask` is REPET-SIM's background mask for one channel: the model of frame
  ``t`` is the median of the magnitude columns of its neighbours (the frame's own magnitude
  where it has none, a mask of 1), then ``(min(S, V) + eps) / (V + eps)``.

Pure functions on float64 arrays, compiled serially (a ``prange`` cost several times the compile
time); :func:`neighbour_mask`, the costly one, runs a serial ``nogil`` kernel over ranges of frames
on threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on the number
of threads). Nothing from sepkit is imported but :mod:`sepkit.kernels.threaded`.
"""

import numba
import numpy as np

from .threaded import run_threaded

__all__ = ["median_select", "period_mask", "similarity_peaks", "neighbour_mask"]


@numba.njit(cache=True)
def _select(a, n, k):
    """Move the k-th smallest of ``a[:n]`` to ``a[k]``, smaller values before it, larger after.

    Quickselect with a median-of-three pivot and a branch-free Lomuto partition (conditional
    moves instead of unpredictable branches: about twice as fast on audio magnitudes).
    """
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        a[mid], a[hi] = a[hi], a[mid]  # the median of the three is the pivot, at hi
        pivot = a[hi]
        store = lo
        for i in range(lo, hi):
            x = a[i]
            s = a[store]
            less = x < pivot
            a[i] = s if less else x
            a[store] = x if less else s
            store += 1 if less else 0
        a[hi] = a[store]
        a[store] = pivot
        if store == k:
            return
        if k < store:
            hi = store - 1
        else:
            lo = store + 1


@numba.njit(cache=True)
def median_select(a, n):
    """Median of ``a[:n]`` (``n >= 1``), reordering ``a`` in place; numpy's value for even ``n``."""
    k = n // 2
    _select(a, n, k)
    upper = a[k]
    if n % 2 == 1:
        return upper
    lower = a[0]
    for i in range(1, k):
        if a[i] > lower:
            lower = a[i]
    return (lower + upper) / 2.0


@numba.njit(cache=True)
def period_mask(VT, period, eps, out):
    """REPET's background mask of one channel for a repeating period of ``period`` frames.

    Parameters
    ----------
    VT : numpy.ndarray of float64, shape (T, F)
        Magnitude spectrogram, one row per frame (nonnegative, finite).
    period : int
        Repeating period in frames, >= 1.
    eps : float
        Regulariser of the ratio (nussl: 1e-16).
    out : numpy.ndarray of float64, shape (T, F)
        The mask ``(min(S, V) + eps) / (V + eps)``, ``S`` the tiled median model.
    """
    T, F = VT.shape
    n_rep = (T + period - 1) // period
    cols = np.empty((F, n_rep))
    for j in range(min(period, T)):
        n = (T - j + period - 1) // period  # frames j, j + period, ... before T
        for k in range(n):
            src = VT[j + k * period]
            for f in range(F):
                cols[f, k] = src[f]
        for f in range(F):
            model = median_select(cols[f], n)
            for k in range(n):
                v = VT[j + k * period, f]
                out[j + k * period, f] = (min(model, v) + eps) / (v + eps)


_BLOCK = 64


@numba.njit(cache=True)
def _suppress(values, block_max, j, min_distance):
    """Zero the window ``[floor(j - d), floor(j + d + 1))`` of ``values`` and refresh the block maxima."""
    T = values.size
    lower = j - min_distance
    lower = 0 if lower < 0 else int(lower)
    upper = j + min_distance + 1
    upper = T if upper >= T else int(upper)
    for t in range(lower, upper):
        values[t] = 0.0
    for b in range(lower // _BLOCK, (upper - 1) // _BLOCK + 1):
        top = 0.0
        for t in range(b * _BLOCK, min((b + 1) * _BLOCK, T)):
            top = max(top, values[t])
        block_max[b] = top


@numba.njit(cache=True)
def _row_peaks(row, i, min_distance, threshold, max_peaks, values, block_max, out):
    """Neighbours of frame ``i`` from its similarity row; returns how many were written to ``out``."""
    T = row.size
    lo = row[0]
    hi = row[0]
    for t in range(T):
        lo = min(lo, row[t])
        hi = max(hi, row[t])
    span = hi - lo
    if not span > 0.0:  # a silent frame (zero row) or a constant row: no neighbours
        return 0
    n_blocks = (T + _BLOCK - 1) // _BLOCK
    for b in range(n_blocks):
        top = 0.0
        for t in range(b * _BLOCK, min((b + 1) * _BLOCK, T)):
            v = (row[t] - lo) / span
            v = v if v >= threshold else 0.0
            values[t] = v
            top = max(top, v)
        block_max[b] = top
    count = 0
    _suppress(values, block_max, i, min_distance)  # frame i is the first pick, whatever the ties
    for _ in range(max_peaks - 1):
        best = 0  # the first block holding the largest value, then its first index of it
        for b in range(1, n_blocks):
            if block_max[b] > block_max[best]:
                best = b
        top = block_max[best]
        if not top > 0.0:  # nothing left above zero (nussl stops when the row sums to zero)
            break
        j = best * _BLOCK
        while values[j] != top:
            j += 1
        out[count] = j
        count += 1
        _suppress(values, block_max, j, min_distance)
    return count


@numba.njit(cache=True)
def similarity_peaks(S, min_distance, threshold, max_peaks, neighbours, counts):
    """REPET-SIM's repeating frames of every frame, from the similarity matrix.

    Parameters
    ----------
    S : numpy.ndarray of float64, shape (T, T)
        Frame similarity matrix (finite).
    min_distance : float
        Minimum distance between picks in frames (nussl keeps it fractional).
    threshold : float
        Values of the min-max normalised row below it are zeroed (never picked).
    max_peaks : int
        Number of picks per row, frame ``i`` itself included (>= 1).
    neighbours : numpy.ndarray of int64, shape (T, max(max_peaks - 1, 1))
        Picked frames of row ``i`` in pick order (largest similarity first).
    counts : numpy.ndarray of int64, shape (T,)
        Number of neighbours of each frame (0 for a silent or constant row).
    """
    T = S.shape[0]
    values = np.empty(T)
    block_max = np.empty((T + _BLOCK - 1) // _BLOCK)
    for i in range(T):
        counts[i] = _row_peaks(S[i], i, min_distance, threshold, max_peaks, values, block_max, neighbours[i])


_FBLOCK = 32


def neighbour_mask(VT, neighbours, counts, eps, out, n_threads=None):
    """REPET-SIM's background mask of one channel from the neighbours of each frame.

    The exact median is needed only where it is below the bin's magnitude: elsewhere the mask
    is ``(V + eps) / (V + eps) = 1``, which a count of the neighbours' values below ``V``
    decides (a median of an even number of values on the fence is computed).

    Parameters
    ----------
    VT : numpy.ndarray of float64, shape (T, F)
        Magnitude spectrogram, one row per frame.
    neighbours : numpy.ndarray of int64, shape (T, K)
        Neighbours of each frame (the first ``counts[t]`` of row ``t`` are used).
    counts : numpy.ndarray of int64, shape (T,)
    eps : float
        Regulariser of the ratio (nussl: 1e-16).
    out : numpy.ndarray of float64, shape (T, F)
        Mask ``(min(S, V) + eps) / (V + eps)``; 1 for a frame without neighbours.
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).
    """
    run_threaded(_neighbour_mask_frames, VT.shape[0], VT, neighbours, counts, eps, out, n_threads=n_threads)


@numba.njit(cache=True, nogil=True)
def _neighbour_mask_frames(VT, neighbours, counts, eps, out, start, stop):
    """:func:`neighbour_mask` for the frames ``[start, stop)``."""
    F = VT.shape[1]
    K = neighbours.shape[1]
    for t in range(start, stop):
        n = counts[t]
        if n == 0:
            for f in range(F):
                out[t, f] = 1.0
            continue
        half = n // 2
        cols = np.empty((_FBLOCK, K))
        below = np.empty(_FBLOCK, dtype=np.int64)
        for f0 in range(0, F, _FBLOCK):
            width = min(_FBLOCK, F - f0)
            for b in range(width):
                below[b] = 0
            for k in range(n):
                src = VT[neighbours[t, k]]
                for b in range(width):
                    v = src[f0 + b]
                    cols[b, k] = v
                    below[b] += v < VT[t, f0 + b]
            for b in range(width):
                v = VT[t, f0 + b]
                # median >= v when at most half (odd n) or half - 1 (even n) values are below v
                if below[b] <= half - 1 + (n % 2):
                    out[t, f0 + b] = 1.0
                else:
                    model = median_select(cols[b], n)
                    out[t, f0 + b] = (min(model, v) + eps) / (v + eps)
