"""Kernels of clustering separation: soft k-means responsibilities of many points at once.

- :func:`soft_kmeans` fuses, per point, the Euclidean distances to K centres and the stable
  softmax ``r_k = exp(-beta d_k) / sum_j exp(-beta d_j)`` (the largest exponent subtracted
  first), points in parallel; no (N, K) distance matrix or temporary is materialised
  beyond the output.
- :func:`timbre_features` forms, per time-frequency bin, the contribution-weighted sum of
  the NMF components' timbre vectors and normalises it (TimbreClustering's features),
  writing the (F, N, C, D) result once, frequencies in parallel.

Pure functions on float64 arrays; nothing from sepkit is imported.
"""

import math

import numba
import numpy as np

__all__ = ["soft_kmeans", "timbre_features"]


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
def timbre_features(W, A, cepstra, out):
    """Unit-length per-bin timbre ``phi = sum_k A[k, t, c] W[k, f] cepstra[k]``, written to ``out``.

    Parameters
    ----------
    W : numpy.ndarray of float64, shape (K, F)
        Nonnegative templates.
    A : numpy.ndarray of float64, shape (K, N, C)
        Activations.
    cepstra : numpy.ndarray of float64, shape (K, D)
        Timbre vector of each template.
    out : numpy.ndarray of float64, shape (F, N, C, D)
        ``phi / (||phi|| + 1e-8)`` per bin.
    """
    K, F = W.shape
    N, C = A.shape[1], A.shape[2]
    D = cepstra.shape[1]
    for f in numba.prange(F):
        acc = np.empty(D)
        for t in range(N):
            for c in range(C):
                for j in range(D):
                    acc[j] = 0.0
                for k in range(K):
                    g = A[k, t, c] * W[k, f]
                    if g != 0.0:
                        for j in range(D):
                            acc[j] += g * cepstra[k, j]
                s = 0.0
                for j in range(D):
                    s += acc[j] * acc[j]
                scale = 1.0 / (math.sqrt(s) + 1e-8)
                for j in range(D):
                    out[f, t, c, j] = acc[j] * scale
