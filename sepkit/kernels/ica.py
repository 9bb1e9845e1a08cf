r"""Numba kernels of FastICA (parallel, log-cosh contrast): the moments of the data and of one
fixed-point iteration, each in one pass over the samples, and the final projection.

Only :func:`logcosh_moments` (run once per iteration, dominated by ``tanh``) is parallel; the
two single passes (:func:`centred_covariance`, :func:`project_images`) are memory-bound and
compile three times faster serial.

The data stay as the caller's ``(C, N)`` channels ``x``; the whitened data ``z = K_w (x - m)``
are never stored: a kernel takes ``B = W K_w`` (``(K, C)``) and forms ``y = B (x - m)`` block by
block. Samples are cut into a fixed number of blocks (``N_BLOCKS``, whatever the number of
threads), each block sums into its own row of a partial array and the rows are added in block
order, so the results do not depend on the threading.

``tanh`` is computed here (:func:`tanh_rows`) rather than by libm, whose scalar call the loop
vectorizer cannot widen (about 10x slower): ``tanh(a) = e / (e + 2)`` with ``e = expm1(2a)``,
``2a = k ln 2 + r`` (``|r| <= ln(2) / 2``; ``ln 2`` split in a high part, exact in ``k ln2_hi``,
and a low part), ``expm1(r)`` by its Taylor series to degree 13 (truncation below ``1.2e-17``
relative) and ``2**k`` written as the bits of a float; ``|tanh(a)| = 1`` to double precision
beyond ``|a| = 20``. Measured error against ``math.tanh``: a few units in the last place.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numba
import numpy as np

from .rows import row_dot

__all__ = ["N_BLOCKS", "centred_covariance", "logcosh_moments", "project_images", "tanh_rows"]

#: Blocks the samples are cut into (the partial sums' rows); fixed so results do not depend on threads.
N_BLOCKS = 64
_CHUNK = 512  # samples per inner step: a block's scratch stays in L1

getcontext().prec = 40
_LN2 = Decimal(2).ln()
_LN2_HI = float(round(_LN2 * 2**32) / 2**32)  # 32 fraction bits: k * _LN2_HI is exact for k < 2**20
_LN2_LO = float(_LN2 - Decimal(_LN2_HI))
_INV_LN2 = float(1 / _LN2)
# 1 / j! for the Taylor series of expm1(r) / r = sum_j r^j / (j + 1)!, j = 0..12.
_C = [float(1 / Decimal(math.factorial(j + 1))) for j in range(13)]
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12 = _C


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def tanh_rows(y, work):
    """``y[:] = tanh(y)`` in place, without branches (so that both loops vectorize); see the module.

    Parameters
    ----------
    y : float64 (n,), overwritten
    work : float64 (2, >= n), scratch
    """
    n = y.shape[0]
    em1 = work[0, :n]
    scale = work[1, :n]
    bits = scale.view(np.int64)
    for i in range(n):
        a = min(abs(y[i]), 20.0)
        t = a + a
        k = np.floor(t * _INV_LN2 + 0.5)
        r = (t - k * _LN2_HI) - k * _LN2_LO
        # expm1(r) = r p(r), p of degree 12 by Estrin's scheme (short dependency chains).
        r2 = r * r
        r4 = r2 * r2
        s0 = (_C0 + _C1 * r) + (_C2 + _C3 * r) * r2
        s1 = (_C4 + _C5 * r) + (_C6 + _C7 * r) * r2
        s2 = (_C8 + _C9 * r) + (_C10 + _C11 * r) * r2
        em1[i] = ((s0 + s1 * r4) + (s2 + _C12 * r4) * (r4 * r4)) * r
        bits[i] = (np.int64(k) + 1023) << 52  # the float 2**k (0 <= k <= 58), exactly
    for i in range(n):
        s = scale[i]
        e = s * em1[i] + (s - 1.0)  # expm1(2a) = 2**k (1 + expm1(r)) - 1
        g = e / (e + 2.0)
        y[i] = g if y[i] >= 0.0 else -g


@numba.njit(cache=True)
def _bounds(b, n_blocks, n):
    return b * n // n_blocks, (b + 1) * n // n_blocks


@numba.njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def centred_covariance(x, shift, out):
    """Sums of ``x - shift`` and of its products, per block, in one pass.

    Parameters
    ----------
    x : float64 (C, N)
        The channels.
    shift : float64 (C,)
        A value near the mean (the sums are of ``x - shift``, so that ``sum(d d^T) / N - mean(d)
        mean(d)^T`` does not cancel).
    out : float64 (N_BLOCKS, C, C + 1), written
        ``out[b, c, c2] = sum_n d[c, n] d[c2, n]`` and ``out[b, c, C] = sum_n d[c, n]`` over the
        samples of block ``b``, with ``d = x - shift``.
    """
    C, N = x.shape
    n_blocks = out.shape[0]
    for b in range(n_blocks):
        start, stop = _bounds(b, n_blocks, N)
        d = np.empty((C, _CHUNK))
        acc = np.zeros((C, C + 1))
        for s0 in range(start, stop, _CHUNK):
            n = min(_CHUNK, stop - s0)
            for c in range(C):
                acc[c, C] += _centre(x[c, s0:s0 + n], shift[c], d[c])
            for c in range(C):
                for c2 in range(c + 1):
                    acc[c, c2] += row_dot(d[c, :n], d[c2, :n])
        for c in range(C):
            for c2 in range(c + 1):
                out[b, c, c2] = out[b, c2, c] = acc[c, c2]
            out[b, c, C] = acc[c, C]


@numba.njit(cache=True, parallel=True, error_model="numpy", fastmath={"reassoc", "contract"})
def logcosh_moments(x, mean, B, out):
    """The sums of one FastICA iteration (log-cosh contrast), in one pass over the samples.

    With ``y = B (x - mean)`` and ``g = tanh(y)``: ``out[b, k, c] = sum_n g[k, n] (x[c, n] -
    mean[c])`` and ``out[b, k, C] = sum_n (1 - g[k, n]^2)`` over the samples of block ``b``.
    For ``B = W K_w`` these give ``E[g(W z) z^T] = (sum_b out[b, :, :C]) K_w^T / N`` and
    ``E[g'(W z)] = sum_b out[b, :, C] / N`` with ``z = K_w (x - mean)`` the whitened data.

    Parameters
    ----------
    x : float64 (C, N)
    mean : float64 (C,)
    B : float64 (K, C)
    out : float64 (N_BLOCKS, K, C + 1), written
    """
    C, N = x.shape
    K = B.shape[0]
    n_blocks = out.shape[0]
    for b in numba.prange(n_blocks):
        start, stop = _bounds(b, n_blocks, N)
        d = np.empty((C, _CHUNK))
        g = np.empty(_CHUNK)
        work = np.empty((2, _CHUNK))
        acc = np.zeros((K, C + 1))
        for s0 in range(start, stop, _CHUNK):
            n = min(_CHUNK, stop - s0)
            for c in range(C):
                _centre(x[c, s0:s0 + n], mean[c], d[c])
            for k in range(K):
                _combine(B, k, d, n, g)
                tanh_rows(g[:n], work)
                a = 0.0
                for i in range(n):
                    a += 1.0 - g[i] * g[i]
                acc[k, C] += a
                for c in range(C):
                    acc[k, c] += row_dot(g[:n], d[c, :n])
        for k in range(K):
            for c in range(C + 1):
                out[b, k, c] = acc[k, c]


@numba.njit(cache=True)
def _combine(B, k, d, n, out):
    """``out[i] = sum_c B[k, c] d[c, i]`` for ``i < n`` (rows as 1-D views: the loops vectorize)."""
    w = B[k, 0]
    dc = d[0]
    for i in range(n):
        out[i] = w * dc[i]
    for c in range(1, d.shape[0]):
        w = B[k, c]
        dc = d[c]
        for i in range(n):
            out[i] += w * dc[i]


@numba.njit(cache=True, fastmath={"reassoc"})
def _centre(x, m, out):
    """``out[:n] = x - m`` (``n = len(x)``); returns ``sum(x - m)``."""
    a = 0.0
    for i in range(x.shape[0]):
        v = x[i] - m
        out[i] = v
        a += v
    return a


@numba.njit(cache=True)
def project_images(x, mean, B, A, images):
    """The components' images on the channels, ``images[k, c] = A[c, k] (B (x - mean))[k]``, in one pass.

    Parameters
    ----------
    x : float64 (C, N)
    mean : float64 (C,)
    B : float64 (K, C)
        Unmixing matrix (of the channels, centred).
    A : float64 (C, K)
        Mixing matrix.
    images : float64 (K, C, N), written
    """
    C, N = x.shape
    K = B.shape[0]
    d = np.empty((C, _CHUNK))
    row = np.empty(_CHUNK)
    for s0 in range(0, N, _CHUNK):
        n = min(_CHUNK, N - s0)
        for c in range(C):
            _centre(x[c, s0:s0 + n], mean[c], d[c])
        for k in range(K):
            _combine(B, k, d, n, row)
            for c in range(C):
                a = A[c, k]
                image = images[k, c, s0:s0 + n]
                for i in range(n):
                    image[i] = a * row[i]
