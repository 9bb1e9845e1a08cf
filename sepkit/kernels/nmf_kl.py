"""Fused KL passes of beta-NMF (beta = 1): the half-step numerators and the KL cost, one pass over V.

:func:`kl_numerator_w` and :func:`kl_numerator_h` compute the numerators of the KL
half-steps, ``(V / WH) @ H.T`` and ``W.T @ (V / WH)``, and the KL divergence, in one pass
over V each: the model and the ratio are formed a few entries at a time in registers and
never stored as F x N arrays.

Fused KL passes: with BLAS, a KL half-step is ``W @ H`` (1.5-1.9 ms on one thread at
1025 x 2585, K = 8), :func:`beta_terms` (2.4 ms) and a second product (1.8-2.2 ms), with
``Lam`` and ``V / Lam`` written to memory and read back. :func:`kl_numerator_w` and
:func:`kl_numerator_h` take 2.6-3.9 ms on one thread for the same half-step and allocate
nothing of size F x N. They are bound by their 2 K fused multiply-adds per element (16 at
K = 8: 2.0 ms at one 8-wide FMA per cycle and 2.6 GHz), not by memory; the KL cost adds
about 3 ms per pass (one table-driven ``log`` per element).

Conventions as in :mod:`sepkit.kernels.nmf` (whose table-driven log the cost uses).
"""

import numba
import numpy as np

from .nmf import _FASTMATH, _rows_total, _weighted_log_sum
from .threaded import run_threaded

__all__ = ["kl_numerator_w", "kl_numerator_h"]

# The helpers are plain jitted functions, not ``inline="always"``: LLVM inlines them anyway
# (same speed, measured on 1025 x 2585 with K = 4, 13, 16), and numba-level inlining made the
# first compilation of the two kernels take 74 s instead of 21 s on 2 cores.

#: Column tile of :func:`kl_numerator_h` (a K x 64 tile of H and of the numerator fit in L1).
_KL_TILE = 64


@numba.njit
def _rows8(X, k, K, n0, n1, zero):
    """Views ``X[k + j, n0:n1]`` for j < 8, the zero row where ``k + j >= K``."""
    return (
        X[k, n0:n1] if k < K else zero,
        X[k + 1, n0:n1] if k + 1 < K else zero,
        X[k + 2, n0:n1] if k + 2 < K else zero,
        X[k + 3, n0:n1] if k + 3 < K else zero,
        X[k + 4, n0:n1] if k + 4 < K else zero,
        X[k + 5, n0:n1] if k + 5 < K else zero,
        X[k + 6, n0:n1] if k + 6 < K else zero,
        X[k + 7, n0:n1] if k + 7 < K else zero,
    )


@numba.njit
def _vals8(W, f, k, K):
    """``W[f, k + j]`` as float64 for j < 8, 0.0 where ``k + j >= K``."""
    z = 0.0
    return (
        np.float64(W[f, k]) if k < K else z,
        np.float64(W[f, k + 1]) if k + 1 < K else z,
        np.float64(W[f, k + 2]) if k + 2 < K else z,
        np.float64(W[f, k + 3]) if k + 3 < K else z,
        np.float64(W[f, k + 4]) if k + 4 < K else z,
        np.float64(W[f, k + 5]) if k + 5 < K else z,
        np.float64(W[f, k + 6]) if k + 6 < K else z,
        np.float64(W[f, k + 7]) if k + 7 < K else z,
    )


@numba.njit
def _store8(num, f, k, K, s0, s1, s2, s3, s4, s5, s6, s7):
    """``num[f, k + j] = s_j`` for the j < 8 with ``k + j < K``."""
    vals = (s0, s1, s2, s3, s4, s5, s6, s7)
    for j in range(8):
        if k + j < K:
            num[f, k + j] = vals[j]


@numba.njit(fastmath=_FASTMATH, error_model="numpy")
def _kl_row_w(V, W, H, floor, num, f, lam, q, zero, want_cost):
    """W-step numerator of row f, any K (blocks of 8 components); returns the row's KL terms."""
    N = V.shape[1]
    K = W.shape[1]
    vf = V[f]
    kl = ((K - 1) // 8) * 8  # first component of the last block
    for t in range(N):
        lam[t] = 0.0
    for kb in range(0, kl, 8):
        h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, kb, K, 0, N, zero)
        w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kb, K)
        for t in range(N):
            lam[t] += (w0 * h0[t] + w1 * h1[t] + w2 * h2[t] + w3 * h3[t]) + (
                w4 * h4[t] + w5 * h5[t] + w6 * h6[t] + w7 * h7[t])
    h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, kl, K, 0, N, zero)
    w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kl, K)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    acc = 0.0
    for t in range(N):
        x0, x1, x2, x3 = h0[t], h1[t], h2[t], h3[t]
        x4, x5, x6, x7 = h4[t], h5[t], h6[t], h7[t]
        lm = lam[t] + (w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3) + (w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7)
        lm = max(lm, floor)
        v = np.float64(vf[t])
        r = v / lm
        q[t] = r
        acc += lm - v
        s0 += r * x0
        s1 += r * x1
        s2 += r * x2
        s3 += r * x3
        s4 += r * x4
        s5 += r * x5
        s6 += r * x6
        s7 += r * x7
    _store8(num, f, kl, K, s0, s1, s2, s3, s4, s5, s6, s7)
    for kb in range(0, kl, 8):
        h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, kb, K, 0, N, zero)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        for t in range(N):
            r = q[t]
            s0 += r * h0[t]
            s1 += r * h1[t]
            s2 += r * h2[t]
            s3 += r * h3[t]
            s4 += r * h4[t]
            s5 += r * h5[t]
            s6 += r * h6[t]
            s7 += r * h7[t]
        _store8(num, f, kb, K, s0, s1, s2, s3, s4, s5, s6, s7)
    if want_cost:
        acc += _weighted_log_sum(vf, q)
    return acc


@numba.njit(fastmath=_FASTMATH, error_model="numpy")
def _kl_rows2_w(V, W, H, floor, num, f, qa, qb, zero, want_cost, rows):
    """W-step numerators of rows f and f + 1 for K <= 8; their KL terms go to ``rows``."""
    N = V.shape[1]
    K = W.shape[1]
    va = V[f]
    vb = V[f + 1]
    h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, 0, K, 0, N, zero)
    u0, u1, u2, u3, u4, u5, u6, u7 = _vals8(W, f, 0, K)
    w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f + 1, 0, K)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0.0
    acc_a = 0.0
    acc_b = 0.0
    for t in range(N):
        x0, x1, x2, x3 = h0[t], h1[t], h2[t], h3[t]
        x4, x5, x6, x7 = h4[t], h5[t], h6[t], h7[t]
        la = (u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3) + (u4 * x4 + u5 * x5 + u6 * x6 + u7 * x7)
        lb = (w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3) + (w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7)
        la = max(la, floor)
        lb = max(lb, floor)
        a = np.float64(va[t])
        b = np.float64(vb[t])
        ra = a / la
        rb = b / lb
        qa[t] = ra
        qb[t] = rb
        acc_a += la - a
        acc_b += lb - b
        s0 += ra * x0
        s1 += ra * x1
        s2 += ra * x2
        s3 += ra * x3
        s4 += ra * x4
        s5 += ra * x5
        s6 += ra * x6
        s7 += ra * x7
        p0 += rb * x0
        p1 += rb * x1
        p2 += rb * x2
        p3 += rb * x3
        p4 += rb * x4
        p5 += rb * x5
        p6 += rb * x6
        p7 += rb * x7
    _store8(num, f, 0, K, s0, s1, s2, s3, s4, s5, s6, s7)
    _store8(num, f + 1, 0, K, p0, p1, p2, p3, p4, p5, p6, p7)
    if want_cost:
        acc_a += _weighted_log_sum(va, qa)
        acc_b += _weighted_log_sum(vb, qb)
    rows[f] = acc_a
    rows[f + 1] = acc_b


def kl_numerator_w(V, W, H, floor, num, want_cost) -> float:
    """Numerator of the KL W step, ``num = (V / Lam) @ H.T`` with ``Lam = max(W @ H, floor)``.

    One pass over V, parallel over rows; ``Lam`` and ``V / Lam`` are never stored as
    F x N arrays. The KL step is then ``W *= num / (H.sum(axis=1) + ...)``
    (:func:`mu_step`). Each ``num[f, k]`` is a sum over n in a fixed order, so the
    result does not depend on the number of threads.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data (C-contiguous).
    W : numpy.ndarray, shape (F, K)
        Templates.
    H : numpy.ndarray, shape (K, N)
        Activations (C-contiguous).
    floor : float
        Positive floor of the model.
    num : numpy.ndarray of float64, shape (F, K)
        Output.
    want_cost : bool
        Also compute ``D_1(V | Lam)`` (one table-driven ``log`` per element, see
        :func:`beta_terms`).

    Returns
    -------
    float
        The KL divergence ``D_1(V | Lam)`` if ``want_cost``, else 0.0.
    """
    rows = np.zeros(V.shape[0])
    run_threaded(_kl_numerator_w_pairs, (V.shape[0] + 1) // 2, V, W, H, floor, num, want_cost, rows)
    return _rows_total(rows) if want_cost else 0.0


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _kl_numerator_w_pairs(V, W, H, floor, num, want_cost, rows, start, stop):
    """:func:`kl_numerator_w` on the row pairs ``(2 p, 2 p + 1)``, ``p`` from ``start`` to
    ``stop - 1``; ``rows`` (F,) receives each row's cost. The scratch is allocated once per call."""
    F, N = V.shape
    K = W.shape[1]
    qa = np.empty(N)
    qb = np.empty(N)
    zero = np.zeros(N, dtype=H.dtype)
    for p in range(start, stop):
        f = 2 * p
        if K <= 8 and f + 1 < F:
            _kl_rows2_w(V, W, H, floor, num, f, qa, qb, zero, want_cost, rows)
        else:
            for g in range(f, min(f + 2, F)):
                rows[g] = _kl_row_w(V, W, H, floor, num, g, qa, qb, zero, want_cost)


def kl_numerator_h(V, W, H, floor, num, want_cost) -> float:
    """Numerator of the KL H step, ``num = W.T @ (V / Lam)`` with ``Lam = max(W @ H, floor)``.

    One pass over V, parallel over tiles of 64 columns (each thread accumulates its own
    columns of ``num`` over all rows f, in order); ``Lam`` and ``V / Lam`` are never stored
    as F x N arrays. The KL step is then ``H *= num / (W.sum(axis=0)[:, None] + ...)``.
    The result does not depend on the number of threads.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data (C-contiguous).
    W : numpy.ndarray, shape (F, K)
        Templates.
    H : numpy.ndarray, shape (K, N)
        Activations.
    floor : float
        Positive floor of the model.
    num : numpy.ndarray of float64, shape (K, N)
        Output.
    want_cost : bool
        Also compute ``D_1(V | Lam)`` (slower: one ``log`` per element and no two-row
        blocking).

    Returns
    -------
    float
        The KL divergence ``D_1(V | Lam)`` if ``want_cost``, else 0.0.
    """
    n_tiles = (V.shape[1] + _KL_TILE - 1) // _KL_TILE
    tile_cost = np.zeros(n_tiles)
    run_threaded(_kl_numerator_h_tiles, n_tiles, V, W, H, floor, num, want_cost, tile_cost)
    return _rows_total(tile_cost) if want_cost else 0.0


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _kl_numerator_h_tiles(V, W, H, floor, num, want_cost, tile_cost, start, stop):
    """:func:`kl_numerator_h` on column tiles ``start`` to ``stop - 1`` (of ``_KL_TILE``
    columns); ``tile_cost`` (n_tiles,) receives each tile's cost."""
    F, N = V.shape
    K = W.shape[1]
    T = _KL_TILE
    Kp = ((K + 7) // 8) * 8
    for b in range(start, stop):
        n0 = b * T
        n1 = min(N, n0 + T)
        L = n1 - n0
        ht = np.zeros((Kp, L))
        acc = np.zeros((Kp, L))
        lam = np.empty(L)
        q = np.empty(L)
        for k in range(K):
            for t in range(L):
                ht[k, t] = H[k, n0 + t]
        cost = 0.0
        f = 0
        if Kp == 8 and not want_cost:
            g0, g1, g2, g3, g4, g5, g6, g7 = _rows8(ht, 0, 8, 0, L, lam)
            a0, a1, a2, a3, a4, a5, a6, a7 = _rows8(acc, 0, 8, 0, L, lam)
            while f + 2 <= F:
                u0, u1, u2, u3, u4, u5, u6, u7 = _vals8(W, f, 0, K)
                w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f + 1, 0, K)
                va = V[f, n0:n1]
                vb = V[f + 1, n0:n1]
                for t in range(L):
                    x0, x1, x2, x3 = g0[t], g1[t], g2[t], g3[t]
                    x4, x5, x6, x7 = g4[t], g5[t], g6[t], g7[t]
                    la = (u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3) + (u4 * x4 + u5 * x5 + u6 * x6 + u7 * x7)
                    lb = (w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3) + (w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7)
                    ra = np.float64(va[t]) / max(la, floor)
                    rb = np.float64(vb[t]) / max(lb, floor)
                    a0[t] += u0 * ra + w0 * rb
                    a1[t] += u1 * ra + w1 * rb
                    a2[t] += u2 * ra + w2 * rb
                    a3[t] += u3 * ra + w3 * rb
                    a4[t] += u4 * ra + w4 * rb
                    a5[t] += u5 * ra + w5 * rb
                    a6[t] += u6 * ra + w6 * rb
                    a7[t] += u7 * ra + w7 * rb
                f += 2
        while f < F:  # any K, one row at a time (and the cost if wanted)
            vf = V[f, n0:n1]
            for t in range(L):
                lam[t] = 0.0
            for kb in range(0, Kp, 8):
                g0, g1, g2, g3, g4, g5, g6, g7 = _rows8(ht, kb, Kp, 0, L, lam)
                w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kb, K)
                for t in range(L):
                    lam[t] += (w0 * g0[t] + w1 * g1[t] + w2 * g2[t] + w3 * g3[t]) + (
                        w4 * g4[t] + w5 * g5[t] + w6 * g6[t] + w7 * g7[t])
            for t in range(L):
                lm = max(lam[t], floor)
                v = np.float64(vf[t])
                q[t] = v / lm
                cost += lm - v
            if want_cost:
                cost += _weighted_log_sum(vf, q)
            for kb in range(0, Kp, 8):
                a0, a1, a2, a3, a4, a5, a6, a7 = _rows8(acc, kb, Kp, 0, L, lam)
                w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kb, K)
                for t in range(L):
                    r = q[t]
                    a0[t] += w0 * r
                    a1[t] += w1 * r
                    a2[t] += w2 * r
                    a3[t] += w3 * r
                    a4[t] += w4 * r
                    a5[t] += w5 * r
                    a6[t] += w6 * r
                    a7[t] += w7 * r
            f += 1
        for k in range(K):
            for t in range(L):
                num[k, n0 + t] = acc[k, t]
        tile_cost[b] = cost

