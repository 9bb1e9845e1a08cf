"""DictSep kernel: local Levenberg-Marquardt refit of single Gaussian peaks (:func:`fit_peaks_local`).

The log spectrogram's pursuit (``p = q = 1``, ``lam = 0``, one harmonic) refits its peaks by
block-coordinate descent: a 3x3 damped Gauss-Newton step per peak on its own support
(:func:`_peak_system`, :func:`_peak_step`), the other peaks held fixed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .tones import TRUNC, _gauss_row, _support, loss_log

__all__ = ["fit_peaks_local"]


@numba.njit(cache=True)
def _solve3(M, rhs, frozen):
    """Solve a damped 3x3 SPD system in place (frozen unknowns get 0); False if singular."""
    A = np.zeros((3, 3))
    bvec = np.zeros(3)
    for i in range(3):
        for j in range(3):
            if frozen[i] or frozen[j]:
                A[i, j] = 1.0 if i == j else 0.0
            else:
                A[i, j] = M[i, j]
        bvec[i] = 0.0 if frozen[i] else rhs[i]
    for j in range(3):
        s = A[j, j]
        for k in range(j):
            s -= A[j, k] * A[j, k]
        if not s > 0.0:
            return False
        A[j, j] = math.sqrt(s)
        for i in range(j + 1, 3):
            t = A[i, j]
            for k in range(j):
                t -= A[i, k] * A[j, k]
            A[i, j] = t / A[j, j]
    for i in range(3):
        t = bvec[i]
        for k in range(i):
            t -= A[i, k] * bvec[k]
        bvec[i] = t / A[i, i]
    for i in range(2, -1, -1):
        t = bvec[i]
        for k in range(i + 1, 3):
            t -= A[k, i] * bvec[k]
        bvec[i] = t / A[i, i]
    for i in range(3):
        rhs[i] = bvec[i]
    return True


@numba.njit(cache=True)
def _flag_neighbours(mu, order, pos, low, high, flags):
    """Flag the peaks next to sorted position ``pos`` whose position lies in ``(low, high)``.

    ``order`` (n,) sorts the peaks by their position ``mu`` (n,); the scan walks outwards
    from ``pos`` in both directions and stops at the first peak out of range. ``flags``
    (n,) of bool is set in place.
    """
    n = order.shape[0]
    j = pos - 1
    while j >= 0 and mu[order[j]] > low:
        flags[order[j]] = True
        j -= 1
    j = pos + 1
    while j < n and mu[order[j]] < high:
        flags[order[j]] = True
        j += 1


@numba.njit(cache=True)
def _peak_system(y, R, a_k, mu_k, s, lo, hi, G, M, grad):
    """Gradient ``grad`` (3,) and Gauss-Newton matrix ``M`` (3, 3) of one peak over ``(a, mu, sig)``.

    Computed on the peak's support ``[lo, hi)``, where ``G`` holds its unit Gaussian; the
    residual is ``R - y`` with ``R`` the rendering of all peaks.
    """
    inv_s2 = 1.0 / (s * s)
    ga = 0.0
    gm = 0.0
    gs = 0.0
    for i in range(3):
        for j in range(3):
            M[i, j] = 0.0
    for x in range(lo, hi):
        g = G[x - lo]
        e = R[x] - y[x]
        d = x - mu_k
        ja = g
        jm = a_k * g * d * inv_s2
        js = jm * d / s
        ga += e * ja
        gm += e * jm
        gs += e * js
        M[0, 0] += ja * ja
        M[0, 1] += ja * jm
        M[0, 2] += ja * js
        M[1, 1] += jm * jm
        M[1, 2] += jm * js
        M[2, 2] += js * js
    M[1, 0] = M[0, 1]
    M[2, 0] = M[0, 2]
    M[2, 1] = M[1, 2]
    grad[0] = ga
    grad[1] = gm
    grad[2] = gs


@numba.njit(cache=True)
def _peak_frozen(M, grad, a_k, s, sig_lo, sig_hi, frozen):
    """Freeze the peak's parameters at an active bound or without effect; return the projected-gradient max."""
    ga = grad[0]
    gm = grad[1]
    gs = grad[2]
    frozen[0] = (a_k <= 0.0 and ga > 0.0) or M[0, 0] <= 0.0
    frozen[1] = M[1, 1] <= 0.0
    frozen[2] = (s <= sig_lo and gs > 0.0) or (s >= sig_hi and gs < 0.0) or M[2, 2] <= 0.0
    pg = 0.0
    if not frozen[0]:
        pg = max(pg, abs(ga))
    if not frozen[1]:
        pg = max(pg, abs(gm))
    if not frozen[2]:
        pg = max(pg, abs(gs))
    return pg


@numba.njit(cache=True)
def _peak_step(y, R, a, mu, sig, k, lo, hi, g_old, g_new, M, grad, frozen, lam_k, sig_lo, sig_hi):
    """Up to 8 damped, bound-projected steps of peak ``k``; the first that lowers the loss is kept.

    On success ``a[k]``, ``mu[k]``, ``sig[k]`` and the rendering ``R`` are updated and the
    loss decrease (>= 0) is returned; else -1. ``lam_k[k]`` follows the outcome.
    """
    m = y.shape[0]
    s = sig[k]
    MD = np.empty((3, 3))
    step = np.empty(3)
    for attempt in range(8):
        for i in range(3):
            for j in range(3):
                MD[i, j] = M[i, j]
            MD[i, i] = M[i, i] * (1.0 + lam_k[k])
            step[i] = -grad[i]
        if not _solve3(MD, step, frozen):
            lam_k[k] *= 10.0
            continue
        a1 = max(a[k] + step[0], 0.0)
        mu1 = mu[k] + min(max(step[1], -s), s)
        s1 = min(max(s + step[2], sig_lo), sig_hi)
        lo1, hi1 = _support(mu1, s1, m)
        _gauss_row(mu1, s1, lo1, hi1, g_new)
        x0 = min(lo, lo1)
        x1 = max(hi, hi1)
        e_old = 0.0
        e_new = 0.0
        for x in range(x0, x1):
            own = a[k] * g_old[x - lo] if lo <= x < hi else 0.0
            own1 = a1 * g_new[x - lo1] if lo1 <= x < hi1 else 0.0
            r0 = R[x] - y[x]
            r1 = r0 - own + own1
            e_old += r0 * r0
            e_new += r1 * r1
        if e_new < e_old:
            for x in range(x0, x1):
                own = a[k] * g_old[x - lo] if lo <= x < hi else 0.0
                own1 = a1 * g_new[x - lo1] if lo1 <= x < hi1 else 0.0
                R[x] += own1 - own
            a[k] = a1
            mu[k] = mu1
            sig[k] = s1
            lam_k[k] = max(lam_k[k] / 3.0, 1e-9)
            return 0.5 * (e_old - e_new)
        lam_k[k] *= 10.0
    return -1.0


@numba.njit(cache=True)
def fit_peaks_local(y, a, mu, sig, dirty, sig_lo, sig_hi, max_sweeps, ftol, gtol):
    """Least-squares refit of single Gaussian peaks by local Levenberg-Marquardt steps.

    For ``p = q = 1`` and Gaussians cut at 6 widths, a peak only interacts with the peaks
    whose supports overlap its own. Each sweep visits the *active* peaks in order of
    position; a visit computes the peak's gradient and 3x3 Gauss-Newton matrix on its support
    (the other peaks held fixed), takes a damped, bound-projected step (``a >= 0``,
    ``sig_lo <= sig <= sig_hi``, the position moving at most one width) and keeps it only if
    the loss on the affected bins decreases. Every move activates the overlapping neighbours
    for the next sweep; a peak whose projected gradient is at most ``gtol`` goes idle. This is
    block-coordinate descent: the loss never increases, and the work concentrates where the
    fit changes (new peaks and their neighbours). Peaks are ``a exp(-(x - mu)^2 / (2 sig^2))``.

    Parameters
    ----------
    y : numpy.ndarray, shape (m,)
        Frame.
    a, mu, sig : numpy.ndarray, shape (n_peaks,)
        Heights, positions (bins) and widths; overwritten with the fit.
    dirty : numpy.ndarray, shape (n_peaks,), bool
        Peaks to refit (with their neighbours), e.g. the new ones; others stay unless a
        neighbour's move activates them.
    sig_lo, sig_hi : float
        Width bounds.
    max_sweeps : int
        Sweeps at most.
    ftol, gtol : float
        Stop when a sweep lowers the loss by at most ``ftol * max(E, 1)``; a peak is idle
        when its largest projected-gradient component is at most ``gtol``.

    Returns
    -------
    float
        Loss ``1/2 ||R - y||^2`` of all peaks.
    """
    m = y.shape[0]
    n = a.shape[0]
    D = np.ones((1, 1))
    zb = np.zeros(n)
    cls = np.zeros(n, dtype=np.int64)
    R = np.empty(m)
    E = loss_log(y, a, mu, sig, zb, cls, D, 0.0, 1.0, 1.0, R)
    if n == 0:
        return E
    order = np.argsort(mu, kind="mergesort")
    rank = np.empty(n, dtype=np.int64)
    for j in range(n):
        rank[order[j]] = j
    reach = 2.0 * TRUNC * sig_hi + 2.0
    active = np.zeros(n, dtype=np.bool_)
    nxt = np.zeros(n, dtype=np.bool_)
    lam_k = np.full(n, 1e-3)
    span = int(2 * math.ceil(TRUNC * sig_hi) + 2 * math.ceil(sig_hi) + 8)
    g_old = np.empty(span)
    g_new = np.empty(span)
    M = np.empty((3, 3))
    grad = np.empty(3)
    frozen = np.zeros(3, dtype=np.bool_)
    for k in range(n):
        if dirty[k]:
            active[k] = True
            _flag_neighbours(mu, order, rank[k], mu[k] - reach, mu[k] + reach, active)
    for sweep in range(max_sweeps):
        E_start = E
        any_active = False
        nxt[:] = False
        for jr in range(n):
            k = order[jr]
            if not active[k] or not math.isfinite(mu[k]):
                continue
            any_active = True
            lo, hi = _support(mu[k], sig[k], m)
            _gauss_row(mu[k], sig[k], lo, hi, g_old)
            _peak_system(y, R, a[k], mu[k], sig[k], lo, hi, g_old, M, grad)
            if _peak_frozen(M, grad, a[k], sig[k], sig_lo, sig_hi, frozen) <= gtol:
                continue
            gain = _peak_step(y, R, a, mu, sig, k, lo, hi, g_old, g_new, M, grad, frozen, lam_k,
                              sig_lo, sig_hi)
            if gain >= 0.0:
                E -= gain
                nxt[k] = True
                _flag_neighbours(mu, order, jr, mu[k] - reach, mu[k] + reach, nxt)
        active[:] = nxt
        if not any_active or E_start - E <= ftol * max(E_start, 1.0):
            break
    return loss_log(y, a, mu, sig, zb, cls, D, 0.0, 1.0, 1.0, R)
