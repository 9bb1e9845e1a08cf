r"""Numba kernels of PROJET (Fitzgerald, Liutkus and Badeau 2016): projections, the multiplicative
updates of the source spectrograms P, and the Wiener gains in projection space.

Every kernel works one frequency at a time (``prange`` over frequencies), so no
``(F, M, T)`` tensor is ever stored: the projection magnitudes ``V`` and the model ``sigma`` of
one frequency (``M x T``) live in the worker's scratch arrays. Shapes: ``X`` ``(F, T, 2)`` complex
(the stereo STFT), ``U`` ``(F, M, 2)`` complex (projection vectors, no conjugation:
``C_m = U_m . x``), ``KQ`` ``(F, M, J)`` (the projection kernel times the spatial distributions),
``P`` ``(F, J, T)`` (source spectrograms).

Degenerate bins (the fix of nussl's non-finite output): where the model ``sigma`` of a bin is
zero, its ratio terms ``V sigma^(beta-2)`` and ``sigma^(beta-1)`` are taken as 0 (such a bin only
arises where every source's P is zero, and a zero P stays zero under multiplicative updates), and
a projection whose gains all have a zero denominator gives each source ``1/J``; nussl divides
0 by 0 there.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["kernel_matrix", "p_step", "p_step_kl", "projection_magnitudes", "separate"]


@numba.njit(cache=True, parallel=True)
def kernel_matrix(U, Lvec, alpha, out):
    """``out[f, m, l] = |U[f, m, 0] Lvec[f, l, 0] + U[f, m, 1] Lvec[f, l, 1]| ** alpha`` (PROJET's K)."""
    F, M, L = out.shape
    for f in numba.prange(F):
        for m in range(M):
            for l in range(L):
                out[f, m, l] = _magnitude(U[f, m, 0], U[f, m, 1], Lvec[f, l, 0], Lvec[f, l, 1], alpha)


@numba.njit(cache=True)
def _magnitude(u0, u1, x0, x1, alpha):
    c = u0 * x0 + u1 * x1
    p = c.real * c.real + c.imag * c.imag
    if alpha == 1.0:
        return np.sqrt(p)
    if alpha == 2.0:
        return p
    return p ** (0.5 * alpha)


@numba.njit(cache=True, parallel=True)
def projection_magnitudes(X, U, alpha, out):
    """``out[f, m, t] = |U[f, m, 0] X[f, t, 0] + U[f, m, 1] X[f, t, 1]| ** alpha`` (for tests and small inputs)."""
    F, T = X.shape[0], X.shape[1]
    M = U.shape[1]
    for f in numba.prange(F):
        for m in range(M):
            for t in range(T):
                out[f, m, t] = _magnitude(U[f, m, 0], U[f, m, 1], X[f, t, 0], X[f, t, 1], alpha)


@numba.njit(cache=True)
def _ratios(sigma, v, beta):
    """``(V sigma^(beta-2), sigma^(beta-1))``, both 0 where sigma is 0."""
    if sigma <= 0.0:
        return 0.0, 0.0
    if beta == 1.0:
        return v / sigma, 1.0
    if beta == 2.0:
        return v, sigma
    if beta == 0.0:
        return v / (sigma * sigma), 1.0 / sigma
    return v * sigma ** (beta - 2.0), sigma ** (beta - 1.0)


@numba.njit(cache=True)
def _sigma(KQ, P, f, sigma):
    """``sigma[m, t] = sum_j KQ[m, j] P[f, j, t]`` (KQ of one frequency, ``(M, J)``)."""
    M, J = KQ.shape
    T = P.shape[2]
    for m in range(M):
        for t in range(T):
            sigma[m, t] = 0.0
        for j in range(J):
            w = KQ[m, j]
            for t in range(T):
                sigma[m, t] += w * P[f, j, t]


@numba.njit(cache=True)
def _kq(K, Q, f, KQ):
    """``KQ[m, j] = sum_l K[f, m, l] Q[l, j]``."""
    M, L = K.shape[1], K.shape[2]
    J = Q.shape[1]
    for m in range(M):
        for j in range(J):
            acc = 0.0
            for l in range(L):
                acc += K[f, m, l] * Q[l, j]
            KQ[m, j] = acc


@numba.njit(cache=True)
def _kt(K, A, f, out):
    """``out[f, l, j] = sum_m K[f, m, l] A[m, j]``."""
    M, L = K.shape[1], K.shape[2]
    J = A.shape[1]
    for l in range(L):
        for j in range(J):
            out[f, l, j] = 0.0
    for m in range(M):
        for l in range(L):
            k = K[f, m, l]
            for j in range(J):
                out[f, l, j] += k * A[m, j]


@numba.njit(cache=True, parallel=True)
def p_step_kl(X, U, K, k_sum, Q, P, alpha, eps, QN, QD):
    """:func:`p_step` for beta = 1 (Kullback-Leibler), where ``sigma^(beta-1) = 1``.

    The P denominators are ``eps + sum_m KQ[m, j]`` and ``QD[f, l, j] = k_sum[f, l] sum_t P[f, j, t]``
    (``k_sum[f, l] = sum_m K[f, m, l]``), so only ``V / sigma`` needs a pass over the bins.
    """
    F, T = X.shape[0], X.shape[1]
    M, L = K.shape[1], K.shape[2]
    J = Q.shape[1]
    for f in numba.prange(F):
        KQ = np.empty((M, J))
        _kq(K, Q, f, KQ)
        V = np.empty((M, T))
        R = np.empty((M, T))
        num = np.zeros((J, T))
        A = np.empty((M, J))
        for m in range(M):
            for t in range(T):
                V[m, t] = _magnitude(U[f, m, 0], U[f, m, 1], X[f, t, 0], X[f, t, 1], alpha)
        _sigma(KQ, P, f, R)
        for m in range(M):
            for t in range(T):
                s = R[m, t]
                R[m, t] = V[m, t] / s if s > 0.0 else 0.0
            for j in range(J):
                w = KQ[m, j]
                for t in range(T):
                    num[j, t] += w * R[m, t]
        for j in range(J):
            den = eps
            for m in range(M):
                den += KQ[m, j]
            for t in range(T):
                P[f, j, t] *= (eps + num[j, t]) / den
        _sigma(KQ, P, f, R)
        for m in range(M):
            for t in range(T):
                s = R[m, t]
                R[m, t] = V[m, t] / s if s > 0.0 else 0.0
            for j in range(J):
                a = 0.0
                for t in range(T):
                    a += R[m, t] * P[f, j, t]
                A[m, j] = a
        _kt(K, A, f, QN)
        for j in range(J):
            total = 0.0
            for t in range(T):
                total += P[f, j, t]
            for l in range(L):
                QD[f, l, j] = k_sum[f, l] * total


@numba.njit(cache=True, parallel=True)
def p_step(X, U, K, Q, P, alpha, beta, eps, QN, QD):
    """One PROJET iteration's update of P (in place) and each frequency's terms of the Q update.

    For each frequency ``f``: ``KQ = K[f] @ Q`` and ``sigma = KQ @ P[f]``; then
    ``P[f, j, t] *= (eps + sum_m KQ[m,j] V sigma^(beta-2)) / (eps + sum_m KQ[m,j] sigma^(beta-1))``;
    then, with ``sigma`` recomputed from the new P, ``A[m, j] = sum_t V sigma^(beta-2) P[f, j, t]``,
    ``B[m, j] = sum_t sigma^(beta-1) P[f, j, t]``, ``QN[f] = K[f]^T A`` and ``QD[f] = K[f]^T B``
    (the caller updates ``Q *= QN.sum(0) / QD.sum(0)``). K of a frequency is read while in cache.

    Parameters
    ----------
    X : complex128 (F, T, 2)
    U : complex128 (F, M, 2)
    K : float64 (F, M, L)
    Q : float64 (L, J)
    P : float64 (F, J, T), updated in place
    alpha, beta, eps : float
    QN, QD : float64 (F, L, J), written
    """
    F, T = X.shape[0], X.shape[1]
    M = K.shape[1]
    J = Q.shape[1]
    for f in numba.prange(F):
        KQ = np.empty((M, J))
        _kq(K, Q, f, KQ)
        V = np.empty((M, T))
        R = np.empty((M, T))
        S = np.empty((M, T))
        num = np.zeros((J, T))
        den = np.zeros((J, T))
        A = np.empty((M, J))
        B = np.empty((M, J))
        for m in range(M):
            for t in range(T):
                V[m, t] = _magnitude(U[f, m, 0], U[f, m, 1], X[f, t, 0], X[f, t, 1], alpha)
        for rep in range(2):
            _sigma(KQ, P, f, R)
            for m in range(M):
                for t in range(T):
                    r, s = _ratios(R[m, t], V[m, t], beta)
                    R[m, t] = r
                    S[m, t] = s
            if rep == 0:
                for m in range(M):
                    for j in range(J):
                        w = KQ[m, j]
                        for t in range(T):
                            num[j, t] += w * R[m, t]
                            den[j, t] += w * S[m, t]
                for j in range(J):
                    for t in range(T):
                        P[f, j, t] *= (eps + num[j, t]) / (eps + den[j, t])
            else:
                for m in range(M):
                    for j in range(J):
                        a = 0.0
                        b = 0.0
                        for t in range(T):
                            a += R[m, t] * P[f, j, t]
                            b += S[m, t] * P[f, j, t]
                        A[m, j] = a
                        B[m, j] = b
        _kt(K, A, f, QN)
        _kt(K, B, f, QD)


@numba.njit(cache=True, parallel=True)
def separate(X, U, Upinv, KQ, P, out):
    """Source STFTs from Wiener gains in projection space, mapped back by the pseudo-inverse.

    ``C_m = U[f, m] . x(f, t)``, ``G_mj = KQ[f,m,j] P[f,j,t] / sum_j' KQ[f,m,j'] P[f,j',t]``
    (``1/J`` where the sum is 0), ``out[f, t, c, j] = sum_m Upinv[f, c, m] G_mj C_m``. The gains
    of a projection sum to one and ``Upinv[f] U[f] = I``, so the sources sum to ``X``.

    Parameters
    ----------
    X : complex128 (F, T, 2)
    U : complex128 (F, M, 2)
    Upinv : complex128 (F, 2, M)
    KQ : float64 (F, M, J)
    P : float64 (F, J, T)
    out : complex128 (F, T, 2, J), written
    """
    F, T = X.shape[0], X.shape[1]
    M, J = KQ.shape[1], KQ.shape[2]
    for f in numba.prange(F):
        g = np.empty(J)
        for t in range(T):
            for j in range(J):
                out[f, t, 0, j] = 0.0
                out[f, t, 1, j] = 0.0
            for m in range(M):
                c = U[f, m, 0] * X[f, t, 0] + U[f, m, 1] * X[f, t, 1]
                total = 0.0
                for j in range(J):
                    g[j] = KQ[f, m, j] * P[f, j, t]
                    total += g[j]
                for j in range(J):
                    gain = g[j] / total if total > 0.0 else 1.0 / J
                    out[f, t, 0, j] += Upinv[f, 0, m] * (gain * c)
                    out[f, t, 1, j] += Upinv[f, 1, m] * (gain * c)
