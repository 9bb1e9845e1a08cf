"""DictSep kernel: bounded Levenberg-Marquardt refit of harmonic tones (:func:`fit_tones`).

The residuals are ``rho(x) = (R(x) + bg(x) + delta)^q - (y(x) + delta)^q`` (notation of
:mod:`~sepkit.kernels.dictsep.tones`). One iteration of :func:`fit_tones`:

1. the per-tone Jacobian blocks over each tone's span (:func:`_jacobian`);
2. the tones ordered by the start of their spans and the band width of ``J^T J``
   (:func:`_band_width`);
3. the gradient and the banded normal matrix (:func:`_normal_equations`);
4. the active set and the projected-gradient test (:func:`_active_set`);
5. damped banded Cholesky steps, projected onto the box, until the loss decreases
   (:func:`_damped_step`, :func:`_trial_point`), and Nielsen's damping update.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .tones import DELTA, _gauss_row, _log_pos, _row_len, _support, render_log

__all__ = ["fit_tones"]


@numba.njit(cache=True)
def _target_q(y, q):
    """``(y + delta)^q`` (``y`` itself for ``q = 1``), computed once per fit."""
    out = np.empty(y.shape[0])
    if q == 1.0:
        out[:] = y
    elif q == 0.5:
        for x in range(y.shape[0]):  # branch-free, so the loop vectorises
            out[x] = math.sqrt(y[x] + DELTA)
    else:
        for x in range(y.shape[0]):
            out[x] = (y[x] + DELTA) ** q
    return out


@numba.njit(cache=True)
def _loss_bg(yq, bg, a, mu, sig, b, cls, D, lam, p, q, R):
    render_log(a, mu, sig, b, cls, D, lam, p, R)
    m = yq.shape[0]
    diff = np.empty(m)
    # branch-free loops vectorise; the sum stays sequential (same rounding as one loop)
    for x in range(m):
        R[x] += bg[x]
    if q == 1.0:
        for x in range(m):
            diff[x] = R[x] - yq[x]
    elif q == 0.5:
        for x in range(m):
            diff[x] = math.sqrt(R[x] + DELTA) - yq[x]
    else:
        for x in range(m):
            diff[x] = (R[x] + DELTA) ** q - yq[x]
    E = 0.0
    for x in range(m):
        E += 0.5 * diff[x] * diff[x]
    return E


@numba.njit(cache=True)
def _spans(mu, sig, b, cls, D, lam, m, lo, hi):
    """Bin range touched by each tone (union of its harmonics' supports)."""
    K = D.shape[0]
    for k in range(mu.shape[0]):
        lo[k] = 0
        hi[k] = 0
        if not math.isfinite(mu[k]):
            continue
        first = True
        for h in range(1, K + 1):
            pos = _log_pos(mu[k], b[k], h, lam)[0]
            l, u = _support(pos, sig[k], m)
            if u <= l:
                continue
            if first:
                lo[k] = l
                hi[k] = u
                first = False
            else:
                lo[k] = min(lo[k], l)
                hi[k] = max(hi[k], u)


@numba.njit(cache=True)
def _jacobian(yq, a, mu, sig, b, cls, D, lam, p, q, npar, R, rho, lo, hi, off, J):
    """Residuals and the per-tone Jacobian blocks ``J[off[k]:off[k+1]]`` ((hi-lo) x npar)."""
    m = yq.shape[0]
    K = D.shape[0]
    gbuf = np.empty(_row_len(sig))
    scale = np.empty(m)
    if q == 1.0:
        for x in range(m):
            rho[x] = R[x] - yq[x]
            scale[x] = 1.0
    elif q == 0.5:
        for x in range(m):  # branch-free, so the loop vectorises
            rq = math.sqrt(R[x] + DELTA)
            rho[x] = rq - yq[x]
            scale[x] = q * rq / (R[x] + DELTA)
    else:
        for x in range(m):
            rq = (R[x] + DELTA) ** q
            rho[x] = rq - yq[x]
            scale[x] = q * rq / (R[x] + DELTA)
    for k in range(a.shape[0]):
        if hi[k] <= lo[k]:
            continue
        s = sig[k]
        inv_s2 = 1.0 / (s * s)
        base = off[k]
        for h in range(1, K + 1):
            dcoef = D[h - 1, cls[k]]
            amp = a[k] * dcoef
            pos, dpos_db = _log_pos(mu[k], b[k], h, lam)
            l, u = _support(pos, s, m)
            _gauss_row(pos, s, l, u, gbuf)
            for x in range(l, u):
                d = x - pos
                G = gbuf[x - l]
                c = scale[x]
                if p != 1.0:
                    v = amp * G
                    if v == 0.0 or R[x] == 0.0:
                        continue
                    c = c * (v / R[x]) ** (p - 1.0)
                row = base + (x - lo[k]) * npar
                J[row] += c * dcoef * G
                t = c * amp * G * d * inv_s2
                J[row + 1] += t
                J[row + 2] += t * d / s
                if npar == 4:
                    J[row + 3] += t * dpos_db


@numba.njit(cache=True)
def _band_cholesky_solve(Ab, bw, rhs):
    """Solve ``A z = rhs`` in place for SPD banded ``A`` (lower band ``Ab[i, i-j]``); False if not SPD."""
    n = rhs.shape[0]
    L = np.zeros_like(Ab)
    for j in range(n):
        s = Ab[j, 0]
        k0 = max(0, j - bw)
        for k in range(k0, j):
            v = L[j, j - k]
            s -= v * v
        if not s > 0.0:
            return False
        djj = math.sqrt(s)
        L[j, 0] = djj
        for i in range(j + 1, min(n, j + bw + 1)):
            s = Ab[i, i - j]
            k0 = max(0, i - bw)
            for k in range(k0, j):
                s -= L[i, i - k] * L[j, j - k]
            L[i, i - j] = s / djj
    for i in range(n):
        s = rhs[i]
        for k in range(max(0, i - bw), i):
            s -= L[i, i - k] * rhs[k]
        rhs[i] = s / L[i, 0]
    for i in range(n - 1, -1, -1):
        s = rhs[i]
        for k in range(i + 1, min(n, i + bw + 1)):
            s -= L[k, k - i] * rhs[k]
        rhs[i] = s / L[i, 0]
    return True


@numba.njit(cache=True)
def _band_width(order, lo, hi, pm):
    """Band width of ``J^T J`` in tones: the farthest earlier tone whose span can overlap a later one.

    ``order`` (n,) sorts the tones by the start ``lo`` of their spans ``[lo, hi)`` (n,);
    ``pm`` (n,) is work space (the running maximum of the span ends in that order).
    """
    n = order.shape[0]
    w = 0
    run = -1
    for kr in range(n):
        k = order[kr]
        if hi[k] > lo[k] and hi[k] > run:
            run = hi[k]
        pm[kr] = run
    for lr in range(n):
        l = order[lr]
        if hi[l] <= lo[l]:
            continue
        # pm is non-decreasing: binary search for the first rank with pm > lo[l]
        left = 0
        right = lr
        while left < right:
            mid = (left + right) // 2
            if pm[mid] > lo[l]:
                right = mid
            else:
                left = mid + 1
        if lr - left > w:
            w = lr - left
    return w


@numba.njit(cache=True)
def _normal_equations(J, rho, order, lo, hi, off, npar, w, g, Ab):
    """Gradient ``g = J^T rho`` and the lower band of ``J^T J`` in ``Ab``, in tone order.

    Parameter ``j`` of the tone of rank ``kr`` is row ``kr * npar + j``; ``Ab[r, d]`` holds
    entry ``(r, r - d)``. Returns the largest diagonal entry.
    """
    n = order.shape[0]
    gacc = np.empty(npar)
    blk = np.empty((npar, npar))
    dmax = 0.0
    for kr in range(n):
        k = order[kr]
        base_k = off[k]
        for j in range(npar):
            gacc[j] = 0.0
        for x in range(lo[k], hi[k]):
            row = base_k + (x - lo[k]) * npar
            for j in range(npar):
                gacc[j] += J[row + j] * rho[x]
        for j in range(npar):
            g[kr * npar + j] = gacc[j]
        for lr in range(max(0, kr - w), kr + 1):
            l = order[lr]
            x0 = max(lo[k], lo[l])
            x1 = min(hi[k], hi[l])
            if x1 <= x0:
                continue
            base_l = off[l]
            # one pass over the overlap for the whole npar x npar block (each entry sums
            # over x in the same order as a pass per entry would)
            blk[:, :] = 0.0
            for x in range(x0, x1):
                rk = base_k + (x - lo[k]) * npar
                rl = base_l + (x - lo[l]) * npar
                for j1 in range(npar):
                    v1 = J[rk + j1]
                    for j2 in range(npar):
                        blk[j1, j2] += v1 * J[rl + j2]
            for j1 in range(npar):
                r1 = kr * npar + j1
                for j2 in range(npar):
                    c2 = lr * npar + j2
                    if c2 <= r1:
                        Ab[r1, r1 - c2] += blk[j1, j2]
        for j in range(npar):
            dmax = max(dmax, Ab[kr * npar + j, 0])
    return dmax


@numba.njit(cache=True)
def _active_set(Ab, g, order, a, sig, b, npar, sig_lo, sig_hi, b_lo, b_hi, dmax, frozen):
    """Freeze the parameters at a bound whose gradient points outwards, or without effect.

    Sets ``frozen`` (P,) in place and returns the largest free projected-gradient component.
    """
    n = order.shape[0]
    dfloor = 1e-12 * dmax
    for kr in range(n):
        k = order[kr]
        for j in range(npar):
            r = kr * npar + j
            gr = g[r]
            fz = Ab[r, 0] <= dfloor
            if j == 0:
                fz = fz or (a[k] <= 0.0 and gr > 0.0)
            elif j == 2:
                fz = fz or (sig[k] <= sig_lo and gr > 0.0) or (sig[k] >= sig_hi and gr < 0.0)
            elif j == 3:
                fz = fz or (b[k] <= b_lo and gr > 0.0) or (b[k] >= b_hi and gr < 0.0)
            frozen[r] = fz
    gnorm = 0.0
    for r in range(g.shape[0]):
        if not frozen[r]:
            gnorm = max(gnorm, abs(g[r]))
    return gnorm


@numba.njit(cache=True)
def _damped_step(Ab, g, frozen, lmbda, bw, step):
    """Solve ``(J^T J + lmbda diag(J^T J)) step = -g`` over the free parameters (frozen get 0).

    Returns False when the damped matrix is not positive definite.
    """
    P = g.shape[0]
    M = Ab.copy()
    for r in range(P):
        if frozen[r]:
            for d in range(bw + 1):
                M[r, d] = 0.0
                if r + d < P:
                    M[r + d, d] = 0.0
            M[r, 0] = 1.0
            step[r] = 0.0
        else:
            M[r, 0] = Ab[r, 0] * (1.0 + lmbda)
            step[r] = -g[r]
    return _band_cholesky_solve(M, bw, step)


@numba.njit(cache=True)
def _trial_point(order, a, mu, sig, b, step, npar, sig_lo, sig_hi, b_lo, b_hi, a1, mu1, s1, b1):
    """The step projected onto the box, each position moving by at most one width."""
    for kr in range(order.shape[0]):
        k = order[kr]
        r = kr * npar
        a1[k] = max(a[k] + step[r], 0.0)
        # trust limit: a position moves by at most one width per step
        dmu = min(max(step[r + 1], -sig[k]), sig[k])
        mu1[k] = mu[k] + dmu
        s1[k] = min(max(sig[k] + step[r + 2], sig_lo), sig_hi)
        if npar == 4:
            b1[k] = min(max(b[k] + step[r + 3], b_lo), b_hi)
        else:
            b1[k] = b[k]


@numba.njit(cache=True)
def fit_tones(y, bg, a, mu, sig, b, cls, D, lam, p, q, sig_lo, sig_hi, b_lo, b_hi, fit_b, max_iter, ftol, gtol):
    """Bounded Levenberg-Marquardt refit of all tone parameters (in place).

    Minimises the loss of :func:`~sepkit.kernels.dictsep.tones.loss_log` over ``a >= 0``, free ``mu``,
    ``sig_lo <= sig <= sig_hi`` and (if ``fit_b``) ``b_lo <= b <= b_hi``. Parameters are
    grouped per tone; ``J^T J`` is assembled only over overlapping tone supports and stored
    as a band matrix (tone order), so a frame of many narrow peaks sorted by position costs
    ``O(n_tones)`` per iteration and a few harmonic tones make a small dense system. Each
    iteration solves ``(J^T J + lambda diag(J^T J)) step = -J^T rho`` by banded Cholesky with
    the parameters that sit at an active bound (or have no effect) frozen, limits each
    position's move to one width, projects onto the box, and accepts the step if the loss
    decreases, else retries with a larger ``lambda``; ``lambda`` follows Nielsen's update
    from the ratio of actual to predicted decrease. Tones are ordered by
    the start of their support in every iteration, so the band stays narrow even when
    positions cross.

    Parameters
    ----------
    y : numpy.ndarray, shape (m,)
        Frame.
    bg : numpy.ndarray, shape (m,)
        Fixed background added to the rendering of the tones (zeros for none; meant for
        ``p = 1``, where contributions add).
    a, mu, sig, b : numpy.ndarray, shape (n_tones,)
        Start values, overwritten with the fit.
    cls, D, lam, p, q :
        As in :func:`loss_log`.
    sig_lo, sig_hi, b_lo, b_hi : float
        Bounds of the widths and inharmonicities.
    fit_b : bool
        Fit ``b`` too (``False`` keeps it, e.g. when ``lam = 0`` makes it meaningless).
    max_iter : int
        Maximum number of accepted steps.
    ftol : float
        Stop when an accepted step lowers the loss by at most ``ftol * max(E, E_new, 1)``
        (L-BFGS-B's rule; its default ``factr = 1e7`` is ``ftol = 2.22e-9``).
    gtol : float
        Stop when the largest projected-gradient component is at most ``gtol`` (L-BFGS-B's
        ``pgtol``, default ``1e-5``).

    Returns
    -------
    float
        Final loss ``E`` (of the rendering plus ``bg``).
    """
    n = a.shape[0]
    m = y.shape[0]
    npar = 4 if fit_b else 3
    P = n * npar
    R = np.empty(m)
    yq = _target_q(y, q)
    E = _loss_bg(yq, bg, a, mu, sig, b, cls, D, lam, p, q, R)
    if n == 0:
        return E
    rho = np.empty(m)
    lo = np.empty(n, dtype=np.int64)
    hi = np.empty(n, dtype=np.int64)
    off = np.empty(n + 1, dtype=np.int64)
    g = np.empty(P)
    step = np.empty(P)
    frozen = np.zeros(P, dtype=np.bool_)
    a1 = np.empty(n)
    mu1 = np.empty(n)
    s1 = np.empty(n)
    b1 = np.empty(n)
    pm = np.empty(n, dtype=np.int64)
    lmbda = 1e-3
    nu = 2.0
    for it in range(max_iter):
        _spans(mu, sig, b, cls, D, lam, m, lo, hi)
        off[0] = 0
        for k in range(n):
            off[k + 1] = off[k] + (hi[k] - lo[k]) * npar
        J = np.zeros(off[n])
        # R already holds the rendering of (a, mu, sig, b) plus bg: from the first loss, or
        # from the accepted trial step of the previous iteration
        _jacobian(yq, a, mu, sig, b, cls, D, lam, p, q, npar, R, rho, lo, hi, off, J)
        order = np.argsort(lo, kind="mergesort")
        w = _band_width(order, lo, hi, pm)
        bw = npar * (w + 1) - 1
        Ab = np.zeros((P, bw + 1))
        dmax = _normal_equations(J, rho, order, lo, hi, off, npar, w, g, Ab)
        if _active_set(Ab, g, order, a, sig, b, npar, sig_lo, sig_hi, b_lo, b_hi, dmax, frozen) <= gtol:
            break
        accepted = False
        while lmbda < 1e12:
            if not _damped_step(Ab, g, frozen, lmbda, bw, step):
                lmbda *= nu
                nu *= 2.0
                continue
            _trial_point(order, a, mu, sig, b, step, npar, sig_lo, sig_hi, b_lo, b_hi, a1, mu1, s1, b1)
            E1 = _loss_bg(yq, bg, a1, mu1, s1, b1, cls, D, lam, p, q, R)
            if E1 < E:
                accepted = True
                break
            lmbda *= nu
            nu *= 2.0
        if not accepted:
            break
        # Nielsen's damping update from the gain ratio actual / predicted decrease
        pred = 0.0
        for r in range(P):
            if not frozen[r]:
                pred += 0.5 * step[r] * (lmbda * Ab[r, 0] * step[r] - g[r])
        rho_gain = (E - E1) / pred if pred > 0.0 else 1.0
        lmbda = max(lmbda * max(1.0 / 3.0, 1.0 - (2.0 * rho_gain - 1.0) ** 3), 1e-12)
        nu = 2.0
        a[:] = a1
        mu[:] = mu1
        sig[:] = s1
        b[:] = b1
        done = E - E1 <= ftol * max(E, E1, 1.0)
        E = E1
        if done:
            break
    return E
