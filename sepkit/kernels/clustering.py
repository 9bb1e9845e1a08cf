"""Kernels of clustering separation: soft k-means responsibilities of many points at once.

- :func:`soft_kmeans` fuses, per point, the Euclidean distances to K centres and the stable
  softmax ``r_k = exp(-beta d_k) / sum_j exp(-beta d_j)`` (the largest exponent subtracted
  first), points in parallel; no (N, K) distance matrix or temporary is materialised
  beyond the output.
- :func:`soft_kmeans_shared` is the same for features shared by every channel (spatial
  features): each bin once, its responsibilities written to every channel of masks laid
  out as sepkit's STFT (frequencies inner), so they multiply it without a transpose.
- :func:`loud_rows` gathers the rows of such features at the loud bins, in the order of
  the (frequency, frame, channel) rows, without the transposed boolean mask numpy would make.
- :func:`order_statistics` narrows two consecutive order statistics of millions of
  magnitudes (a percentile) to a few candidates by radix selection.
- :func:`ipd_ild_rows` writes SpatialClustering's inter-channel phase and level differences
  once per bin, frames in parallel, reading the STFT and writing the rows in memory order.

Pure functions on float64 arrays (complex128 STFTs); nothing from sepkit is imported.
"""

import math

import numba
import numpy as np

__all__ = ["soft_kmeans", "soft_kmeans_shared", "loud_rows", "order_statistics", "ipd_ild_rows"]


@numba.njit(parallel=True, cache=True)
def soft_kmeans(rows, centres, beta, out):
    """Soft k-means responsibilities of every row, written to ``out``.

    Parameters
    ----------
    rows : numpy.ndarray of float64, shape (N, D)
        Points (C-contiguous).
    centres : numpy.ndarray of float64, shape (K, D)
        Cluster centres.
    beta : float
        Inverse temperature >= 0.
    out : numpy.ndarray of float64, shape (N, K)
        Responsibilities, each row summing to one.
    """
    N, D = rows.shape
    K = centres.shape[0]
    for n in numba.prange(N):
        top = -np.inf
        for k in range(K):
            s = 0.0
            for j in range(D):
                diff = rows[n, j] - centres[k, j]
                s += diff * diff
            z = -beta * math.sqrt(s)
            out[n, k] = z
            if z > top:
                top = z
        total = 0.0
        for k in range(K):
            e = math.exp(out[n, k] - top)
            out[n, k] = e
            total += e
        for k in range(K):
            out[n, k] /= total


@numba.njit(parallel=True, cache=True)
def soft_kmeans_shared(features, centres, beta, out):
    """Soft k-means responsibilities of per-bin features shared by every channel, written to ``out``.

    The arithmetic of :func:`soft_kmeans` (same values bit for bit), once per bin.

    Parameters
    ----------
    features : numpy.ndarray of float64, shape (n_frames, n_freq, D)
        One feature vector per bin (C-contiguous).
    centres : numpy.ndarray of float64, shape (K, D)
        Cluster centres.
    beta : float
        Inverse temperature >= 0.
    out : numpy.ndarray of float64, shape (K, n_channels, n_frames, n_freq)
        Responsibilities (C-contiguous), the same in every channel: ``out[k].transpose(2, 1, 0)``
        is source k's mask ``(n_freq, n_frames, n_channels)`` in the STFT's memory order.
    """
    T, F, D = features.shape
    K, C = out.shape[0], out.shape[1]
    for t in numba.prange(T):
        z = np.empty(K)
        for f in range(F):
            top = -np.inf
            for k in range(K):
                s = 0.0
                for j in range(D):
                    diff = features[t, f, j] - centres[k, j]
                    s += diff * diff
                z[k] = -beta * math.sqrt(s)
                if z[k] > top:
                    top = z[k]
            total = 0.0
            for k in range(K):
                z[k] = math.exp(z[k] - top) if z[k] != top else 1.0  # exp(0) is exactly 1
                total += z[k]
            for k in range(K):
                r = z[k] / total
                for c in range(C):
                    out[k, c, t, f] = r


@numba.njit(cache=True)
def loud_rows(loud, features, out):
    """The feature rows of the loud bins, in the order of ``features.reshape(-1, D)[loud.ravel()]``
    for per-bin features repeated over the channels (C order: frequency, frame, channel).

    Parameters
    ----------
    loud : numpy.ndarray of bool, shape (n_channels, n_frames, n_freq)
        Which bins are loud, in the STFT's memory order (``loud_bins.transpose(2, 1, 0)``, C-contiguous).
    features : numpy.ndarray of float64, shape (n_frames, n_freq, D)
        One feature vector per bin, the same for every channel (C-contiguous).
    out : numpy.ndarray of float64, shape (n_loud, D)
        Written, ``n_loud = loud.sum()``: a bin loud in k channels gives k consecutive rows.
    """
    C, T, F = loud.shape
    D = features.shape[2]
    # Serial, frames outer: every array is read in memory order (faster than blocks of
    # frequencies in parallel, and than numpy's boolean indexing of the transposed mask).
    start = np.zeros(F + 1, dtype=np.int64)
    for t in range(T):
        for f in range(F):
            for c in range(C):
                start[f + 1] += loud[c, t, f]
    for f in range(F):
        start[f + 1] += start[f]
    for t in range(T):
        for f in range(F):
            for c in range(C):
                if loud[c, t, f]:
                    for j in range(D):
                        out[start[f], j] = features[t, f, j]
                    start[f] += 1


@numba.njit(cache=True)
def order_statistics(values, k):
    """The few values among which the ``k``-th and ``(k + 1)``-th smallest lie (0-based ranks), by radix selection.

    Nonnegative doubles order as their bit patterns: one pass counts the values per top 16
    bits, a second collects those of the buckets holding both ranks (a small fraction of
    millions of magnitudes, which numpy then partitions).

    Parameters
    ----------
    values : numpy.ndarray of float64, shape (n,)
        C-contiguous.
    k : int
        ``0 <= k <= n - 2``.

    Returns
    -------
    chosen : numpy.ndarray of float64, shape (m,)
        Unordered; ranks k and k + 1 of ``values`` are ranks ``k - below`` and
        ``k + 1 - below`` of ``chosen``. Empty if a value is infinite, NaN or has its sign bit
        set (negative or -0.0).
    below : int
        Number of values smaller than every chosen one.
    """
    bits = values.view(np.uint64)
    n = bits.size
    counts = np.zeros(65536, dtype=np.int64)
    for i in range(n):
        counts[bits[i] >> 48] += 1
    if counts[0x7FF0:].sum() > 0:  # infinity, NaN or a sign bit: not for this method
        return np.empty(0), 0
    first, below = 0, 0  # bucket of rank k, values in lower buckets
    while below + counts[first] <= k:
        below += counts[first]
        first += 1
    last, upto = first, below + counts[first]  # bucket of rank k + 1, values up to it
    while upto <= k + 1:
        last += 1
        upto += counts[last]
    chosen = np.empty(upto - below)
    j = 0
    for i in range(n):
        top = bits[i] >> 48
        if first <= top <= last:
            chosen[j] = values[i]
            j += 1
    return chosen, below


@numba.njit(parallel=True, cache=True)
def ipd_ild_rows(spec, freqs, scale, out):
    """nussl's inter-channel phase and level differences of channels 0 and 1, once per bin.

    ``ipd = (angle(X1 conj(X0)) / (f + 1)) mod pi`` (``f`` in Hz; numpy's modulo, in [0, pi)) and
    ``ild = 20 log10(|X0| / (|X1| + 1e-4) + 1e-8)`` (dB, on the STFT scaled by ``scale``):
    ``out[t, f] = (ipd, ild)``.

    Parameters
    ----------
    spec : numpy.ndarray of complex128, shape (n_channels, n_frames, n_freq)
        The STFT in its memory order (``stft.transpose(2, 1, 0)``, C-contiguous), n_channels >= 2.
    freqs : numpy.ndarray of float64, shape (n_freq,)
        Frequency of each bin in Hz.
    scale : float
        Factor applied to both STFTs (nussl's scaling; it matters for the 1e-4).
    out : numpy.ndarray of float64, shape (n_frames, n_freq, 2)
        Written (C-contiguous).
    """
    T, F = spec.shape[1], spec.shape[2]
    for t in numba.prange(T):
        for f in range(F):
            x0 = spec[0, t, f] * scale
            x1 = spec[1, t, f] * scale
            c = x1 * x0.conjugate()
            phase = math.atan2(c.imag, c.real) / (freqs[f] + 1.0)  # in [-pi, pi]
            # numpy's remainder modulo pi, exactly (fmod is the identity on (-pi, pi)), 5x faster
            if phase < 0.0:
                phase += math.pi
            elif phase >= math.pi:
                phase -= math.pi
            out[t, f, 0] = phase + 0.0  # -0.0 -> +0.0, as numpy
            out[t, f, 1] = 20.0 * math.log10(_modulus(x0) / (_modulus(x1) + 1e-4) + 1e-8)


@numba.njit(cache=True)
def _modulus(z):
    """``|z|`` as ``sqrt(re^2 + im^2)`` (within an ulp of ``hypot``, 8x faster); ``hypot`` near over/underflow."""
    s = z.real * z.real + z.imag * z.imag
    if 1e-290 < s < 1e290:
        return math.sqrt(s)
    return math.hypot(z.real, z.imag)
