r"""Numba kernels of PROJET (Fitzgerald, Liutkus and Badeau 2016): projections, the multiplicative
updates of the source spectrograms P, and the Wiener gains in projection space.

Every kernel works one frequency at a time (``prange`` over frequencies): the projection
magnitudes ``V`` of one frequency (``M x T``) live in the worker's scratch array (or in the
caller's ``(F, M, T)`` array when it keeps them between iterations), and the model ``sigma`` and
the ratios one projection row at a time (``T`` values, in L1). Inner loops run along time over 1-D rows so that they vectorize; the
STFT is read as real planes ``Xp`` ``(F, 4, T)`` (``[re x0, im x0, re x1, im x1]``, see
:func:`planes`). Shapes: ``U`` ``(F, M, 2)`` complex (projection vectors, no conjugation:
``C_m = U_m . x``), ``K`` ``(F, M, L)`` (the projection kernel), ``QT`` ``(J, L)`` (the spatial
distributions, transposed), ``KQ`` ``(F, M, J)``, ``P`` ``(F, J, T)`` (source spectrograms).

Degenerate bins (the fix of nussl's non-finite output): where the model ``sigma`` of a bin is
zero, its ratio terms ``V sigma^(beta-2)`` and ``sigma^(beta-1)`` are taken as 0 (such a bin only
arises where every source's P is zero, and a zero P stays zero under multiplicative updates), and
a projection whose gains all have a zero denominator gives each source ``1/J``; nussl divides
0 by 0 there.
"""

from __future__ import annotations

import numba
import numpy as np

from .rows import row_dot, row_sum

__all__ = ["kernel_matrix", "p_step", "planes", "projection_magnitudes", "separate"]


def planes(X) -> np.ndarray:
    """Real planes of a stereo STFT: ``(F, T, 2)`` complex to ``(F, 4, T)`` float64 ``[re x0, im x0, re x1, im x1]``."""
    X = np.asarray(X)
    out = np.empty((X.shape[0], 4, X.shape[1]))
    out[:, 0], out[:, 1] = X[:, :, 0].real, X[:, :, 0].imag
    out[:, 2], out[:, 3] = X[:, :, 1].real, X[:, :, 1].imag
    return out


@numba.njit(cache=True, parallel=True)
def kernel_matrix(U, Lp, alpha, out):
    """``out[f, m, l] = |U[f, m, 0] a_l0 + U[f, m, 1] a_l1| ** alpha`` (PROJET's K).

    Parameters
    ----------
    U : complex128 (F, M, 2)
    Lp : float64 (F, 4, L)
        :func:`planes` of the location vectors ``(F, L, 2)``.
    alpha : float
    out : float64 (F, M, L), written
    """
    F, L = out.shape[0], out.shape[2]
    for f in numba.prange(F):
        _magnitudes(U, Lp, f, alpha, out[f], np.empty(L))


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


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _projection(u0, u1, Xp, f, re, im):
    """``re + i im = u0 x0 + u1 x1`` along time (rows of ``T`` values)."""
    a, b, c, d = u0.real, u0.imag, u1.real, u1.imag
    x0r, x0i, x1r, x1i = Xp[f, 0], Xp[f, 1], Xp[f, 2], Xp[f, 3]
    for t in range(re.shape[0]):
        re[t] = (a * x0r[t] - b * x0i[t]) + (c * x1r[t] - d * x1i[t])
        im[t] = (a * x0i[t] + b * x0r[t]) + (c * x1i[t] + d * x1r[t])


@numba.njit(cache=True, error_model="numpy")
def _magnitudes(U, Xp, f, alpha, V, scratch):
    """``V[m, t] = |U[f, m] . x(f, t)| ** alpha`` for one frequency (``scratch`` ``(T,)``)."""
    for m in range(V.shape[0]):
        v = V[m]
        _projection(U[f, m, 0], U[f, m, 1], Xp, f, v, scratch)
        if alpha == 1.0:
            for t in range(v.shape[0]):
                v[t] = np.sqrt(v[t] * v[t] + scratch[t] * scratch[t])
        elif alpha == 2.0:
            for t in range(v.shape[0]):
                v[t] = v[t] * v[t] + scratch[t] * scratch[t]
        else:
            for t in range(v.shape[0]):
                v[t] = (v[t] * v[t] + scratch[t] * scratch[t]) ** (0.5 * alpha)


@numba.njit(cache=True, fastmath={"contract"})
def _sigma_row(KQ, m, P, f, out):
    """``out[t] = sum_j KQ[m, j] P[f, j, t]`` (KQ of one frequency, ``(M, J)``); returns ``out``."""
    w = KQ[m, 0]
    p = P[f, 0]
    for t in range(out.shape[0]):
        out[t] = w * p[t]
    for j in range(1, KQ.shape[1]):
        w = KQ[m, j]
        p = P[f, j]
        for t in range(out.shape[0]):
            out[t] += w * p[t]
    return out


@numba.njit(cache=True, error_model="numpy")
def _ratio_rows(v, sigma, beta, r, q):
    """``r = v sigma^(beta-2)`` and (beta != 1) ``q = sigma^(beta-1)``, both 0 where sigma <= 0."""
    T = v.shape[0]
    if beta == 1.0:
        for t in range(T):
            s = sigma[t]
            r[t] = v[t] / s if s > 0.0 else 0.0
    elif beta == 2.0:
        for t in range(T):
            s = sigma[t]
            q[t] = s if s > 0.0 else 0.0
            r[t] = v[t] if s > 0.0 else 0.0
    elif beta == 0.0:
        for t in range(T):
            s = sigma[t]
            q[t] = 1.0 / s if s > 0.0 else 0.0
            r[t] = v[t] / (s * s) if s > 0.0 else 0.0
    else:
        for t in range(T):
            s = sigma[t]
            q[t] = s ** (beta - 1.0) if s > 0.0 else 0.0
            r[t] = v[t] * s ** (beta - 2.0) if s > 0.0 else 0.0


@numba.njit(cache=True, fastmath={"contract"})
def _kt_rows(K, A, f, out):
    """``out[f, j, l] = sum_m A[m, j] K[f, m, l]`` (summed in m order, vectorized along l; a row of K is
    read once for every j)."""
    out[f] = 0.0
    for m in range(K.shape[1]):
        k = K[f, m]
        for j in range(A.shape[1]):
            w = A[m, j]
            o = out[f, j]
            for l in range(o.shape[0]):
                o[l] += w * k[l]


@numba.njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def p_step(Xp, U, K, k_sum, QT, P, alpha, beta, eps, QN, QD, V_kept, fill):
    """One PROJET iteration's update of P (in place) and each frequency's terms of the Q update.

    For each frequency ``f``: ``KQ = K[f] Q`` and ``sigma = KQ P[f]``; then
    ``P[f, j, t] *= (eps + sum_m KQ[m,j] V sigma^(beta-2)) / (eps + sum_m KQ[m,j] sigma^(beta-1))``;
    then, with ``sigma`` recomputed from the new P, ``A[m, j] = sum_t V sigma^(beta-2) P[f, j, t]``,
    ``B[m, j] = sum_t sigma^(beta-1) P[f, j, t]``, ``QN[f, j] = A[:, j] K[f]`` and ``QD[f, j] =
    B[:, j] K[f]`` (the caller updates ``Q *= QN.sum(0).T / QD.sum(0).T``). For beta = 1
    (Kullback-Leibler) ``sigma^(beta-1) = 1``: the P denominator is ``eps + sum_m KQ[m, j]`` and
    ``QD[f, j, l] = k_sum[f, l] sum_t P[f, j, t]``. K of a frequency is read twice while in cache.

    Parameters
    ----------
    Xp : float64 (F, 4, T)
        :func:`planes` of the STFT.
    U : complex128 (F, M, 2)
    K : float64 (F, M, L)
    k_sum : float64 (F, L)
        ``K.sum(axis=1)`` (read for beta = 1 only).
    QT : float64 (J, L)
    P : float64 (F, J, T), updated in place
    alpha, beta, eps : float
    QN, QD : float64 (F, J, L), written
    V_kept : float64 (F, M, T) or (0, 0, 0)
        The projection magnitudes kept between iterations (written if ``fill``, else read), or
        an empty array: each frequency's are then computed in scratch.
    fill : bool
    """
    F, T = Xp.shape[0], Xp.shape[2]
    M = K.shape[1]
    J = QT.shape[0]
    kl = beta == 1.0
    for f in numba.prange(F):
        KQ = np.empty((M, J))
        for m in range(M):
            for j in range(J):
                KQ[m, j] = row_dot(K[f, m], QT[j])
        s = np.empty(T)
        r = np.empty(T)
        q = np.empty(T)
        if V_kept.shape[0] == 0:
            V = np.empty((M, T))
            _magnitudes(U, Xp, f, alpha, V, r)
        else:
            V = V_kept[f]
            if fill:
                _magnitudes(U, Xp, f, alpha, V, r)
        num = np.zeros((J, T))
        den = np.zeros((J, T))
        for m in range(M):
            _ratio_rows(V[m], _sigma_row(KQ, m, P, f, s), beta, r, q)
            for j in range(J):
                w = KQ[m, j]
                nj = num[j]
                for t in range(T):
                    nj[t] += w * r[t]
                if not kl:
                    dj = den[j]
                    for t in range(T):
                        dj[t] += w * q[t]
        for j in range(J):
            p = P[f, j]
            nj = num[j]
            if kl:
                d = eps
                for m in range(M):
                    d += KQ[m, j]
                for t in range(T):
                    p[t] *= (eps + nj[t]) / d
            else:
                dj = den[j]
                for t in range(T):
                    p[t] *= (eps + nj[t]) / (eps + dj[t])
        A = np.empty((M, J))
        B = np.empty((M, J))
        for m in range(M):
            _ratio_rows(V[m], _sigma_row(KQ, m, P, f, s), beta, r, q)
            for j in range(J):
                A[m, j] = row_dot(r, P[f, j])
                if not kl:
                    B[m, j] = row_dot(q, P[f, j])
        _kt_rows(K, A, f, QN)
        if kl:
            for j in range(J):
                total = row_sum(P[f, j])
                for l in range(k_sum.shape[1]):
                    QD[f, j, l] = k_sum[f, l] * total
        else:
            _kt_rows(K, B, f, QD)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def separate(Xp, U, Upinv, KQ, P, out):
    """Source STFTs from Wiener gains in projection space, mapped back by the pseudo-inverse.

    ``C_m = U[f, m] . x(f, t)``, ``G_mj = KQ[f,m,j] P[f,j,t] / sum_j' KQ[f,m,j'] P[f,j',t]``
    (``1/J`` where the sum is 0), ``out[f, t, c, j] = sum_m Upinv[f, c, m] G_mj C_m``. The gains
    of a projection sum to one and ``Upinv[f] U[f] = I``, so the sources sum to ``X``.

    Parameters
    ----------
    Xp : float64 (F, 4, T)
        :func:`planes` of the STFT.
    U : complex128 (F, M, 2)
    Upinv : complex128 (F, 2, M)
    KQ : float64 (F, M, J)
    P : float64 (F, J, T)
    out : complex128 (F, T, 2, J), written
    """
    F, T = Xp.shape[0], Xp.shape[2]
    M, J = KQ.shape[1], KQ.shape[2]
    for f in numba.prange(F):
        cr = np.empty(T)
        ci = np.empty(T)
        total = np.empty(T)
        gr = np.empty(T)
        gi = np.empty(T)
        acc = np.zeros((2, J, 2, T))  # (channel, source, re/im, time)
        for m in range(M):
            _projection(U[f, m, 0], U[f, m, 1], Xp, f, cr, ci)
            _sigma_row(KQ[f], m, P, f, total)
            for j in range(J):
                w = KQ[f, m, j]
                p = P[f, j]
                for t in range(T):
                    s = total[t]
                    gain = (w * p[t]) / s if s > 0.0 else 1.0 / J
                    gr[t] = gain * cr[t]
                    gi[t] = gain * ci[t]
                for c in range(2):
                    a, b = Upinv[f, c, m].real, Upinv[f, c, m].imag
                    o_re, o_im = acc[c, j, 0], acc[c, j, 1]
                    for t in range(T):
                        o_re[t] += a * gr[t] - b * gi[t]
                        o_im[t] += a * gi[t] + b * gr[t]
        for t in range(T):
            for c in range(2):
                for j in range(J):
                    out[f, t, c, j] = complex(acc[c, j, 0, t], acc[c, j, 1, t])
