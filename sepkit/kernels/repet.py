"""Kernels of REPET and REPET-SIM: median repeating models, similarity-peak picking, masks.

- :func:`median_select` is the in-place median of the first ``n`` values of a buffer
  (quickselect; the mean of the two middle values for even ``n``, as ``numpy.median``).
- :func:`period_mask` is REPET's background mask for one channel: the repeating segment
  model ``S(f, j) = median_k V(f, j + k p)`` (the segments that exist; nussl pads the last one
  with NaN and takes ``nanmedian``, which is the same), tiled over time, and the mask
  ``(min(S, V) + eps) / (V + eps)``.
- :func:`similarity_peaks` is REPET-SIM's choice of repeating frames: for every frame ``i``,
  the row ``S[i]`` of the similarity matrix is min-max normalised, values below the
  threshold are zeroed, and peaks are picked greedily (largest first, the first index on
  ties) with a suppression window ``[floor(j - d), floor(j + d + 1))`` around every pick,
  up to ``max_peaks`` picks; frame ``i`` itself is always the first pick and is dropped.
  A sort of the row replaces nussl's repeated ``argmax`` (same picks, O(T log T) per row).
- :func:`neighbour_mask` is REPET-SIM's background mask for one channel: the model of frame
  ``t`` is the median of the magnitude columns of its neighbours (the frame's own magnitude
  where it has none, a mask of 1), then ``(min(S, V) + eps) / (V + eps)``.

Pure functions on float64 arrays; nothing from sepkit is imported.
"""

import numba
import numpy as np

__all__ = ["median_select", "period_mask", "similarity_peaks", "neighbour_mask"]


@numba.njit(cache=True)
def _select(a, n, k):
    """Move the k-th smallest of ``a[:n]`` to ``a[k]`` (smaller values before it, larger after)."""
    lo = 0
    hi = n - 1
    while hi > lo:
        # median of three as the pivot
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


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


@numba.njit(parallel=True, cache=True)
def period_mask(V, period, eps, out):
    """REPET's background mask of one channel for a repeating period of ``period`` frames.

    Parameters
    ----------
    V : numpy.ndarray of float64, shape (F, T)
        Magnitude spectrogram (nonnegative, finite).
    period : int
        Repeating period in frames, >= 1.
    eps : float
        Regulariser of the ratio (nussl: 1e-16).
    out : numpy.ndarray of float64, shape (F, T)
        The mask ``(min(S, V) + eps) / (V + eps)``, ``S`` the tiled median model.
    """
    F, T = V.shape
    p = min(period, T)
    n_rep = (T + period - 1) // period
    for f in numba.prange(F):
        buf = np.empty(n_rep)
        for j in range(p):
            n = 0
            t = j
            while t < T:
                buf[n] = V[f, t]
                n += 1
                t += period
            model = median_select(buf, n)
            t = j
            while t < T:
                v = V[f, t]
                out[f, t] = (min(model, v) + eps) / (v + eps)
                t += period


@numba.njit(cache=True)
def _row_peaks(row, i, min_distance, threshold, max_peaks, order_buf, taken, out):
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
    for t in range(T):
        v = (row[t] - lo) / span
        order_buf[t] = v if v >= threshold else 0.0
        taken[t] = False
    order = np.argsort(-order_buf, kind="mergesort")  # descending, first index on ties
    count = 0
    picks = 1
    r = 0  # position in ``order``: every earlier candidate is taken (``taken`` only grows)
    j = i  # frame i is the first pick, whatever the ties
    while True:
        lower = j - min_distance
        lower = 0 if lower < 0 else int(lower)
        upper = j + min_distance + 1
        upper = T if upper >= T else int(upper)
        for t in range(lower, upper):
            taken[t] = True
        if picks >= max_peaks:
            break
        j = -1
        while r < T:
            t = order[r]
            if order_buf[t] <= 0.0:
                break
            if not taken[t]:
                j = t
                break
            r += 1
        if j < 0:
            break
        out[count] = j
        count += 1
        picks += 1
    return count


@numba.njit(parallel=True, cache=True)
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
    for i in numba.prange(T):
        buf = np.empty(T)
        taken = np.empty(T, dtype=np.bool_)
        counts[i] = _row_peaks(S[i], i, min_distance, threshold, max_peaks, buf, taken, neighbours[i])


@numba.njit(parallel=True, cache=True)
def neighbour_mask(VT, neighbours, counts, eps, out):
    """REPET-SIM's background mask of one channel from the neighbours of each frame.

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
    """
    T, F = VT.shape
    K = neighbours.shape[1]
    for t in numba.prange(T):
        n = counts[t]
        if n == 0:
            for f in range(F):
                out[t, f] = 1.0
            continue
        cols = np.empty((F, K))
        for k in range(n):
            src = VT[neighbours[t, k]]
            for f in range(F):
                cols[f, k] = src[f]
        for f in range(F):
            model = median_select(cols[f], n)
            v = VT[t, f]
            out[t, f] = (min(model, v) + eps) / (v + eps)
