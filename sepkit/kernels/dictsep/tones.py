"""DictSep kernels: harmonic tones drawn on one frame, their loss and its gradients.

A *tone* has an amplitude ``a >= 0``, a position ``mu`` (log bin of the fundamental on the
log axis, linear bin on the linear axis), a width ``sig`` (standard deviation in bins), an
inharmonicity ``b >= 0`` and a class ``cls`` (a column of the dictionary ``D``, shape
``(K, C)``, ``K`` harmonics, ``C`` columns). Harmonic ``h = 1..K`` of a tone sits at

* log axis: ``pos_h = mu + lam * (ln h + 0.5 ln(1 + b h^2))``;
* linear axis: ``pos_h = mu * h * sqrt(1 + b h^2)``;

and draws the Gaussian ``a D[h-1, cls] exp(-(x - pos_h)^2 / (2 sig^2))`` on the integer bins
``x`` of ``[floor(pos_h - 6 sig), ceil(pos_h + 6 sig))`` clipped to the axis. Partials add
with exponent ``p``: ``R = (sum (a D G)^p)^(1/p)``. The loss of one frame ``y`` is

    E = 1/2 sum_x ((R(x) + delta)^q - (y(x) + delta)^q)^2,   delta = 1e-7.

All kernels of :mod:`sepkit.kernels.dictsep` but the ``*_into``/``train_many``/
``linear_frames``/``frame_losses`` drivers work on one frame (``cache=True``):
parallelism belongs to the drivers, across frames (``notes/dictsep.md`` section 6: threads
inside these tiny kernels cost more than the work). Tones with a non-finite position are
skipped everywhere.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "TRUNC",
    "DELTA",
    "render_log",
    "render_lin",
    "loss_log",
    "loss_grad_log",
    "grad_dict_log",
]

#: Gaussians are cut at this many standard deviations.
TRUNC = 6.0
#: Offset of the compressed loss, keeps the derivative of ``R^q`` finite at 0.
DELTA = 1e-7


@numba.njit(cache=True)
def _row_len(sig):
    """Longest support (in bins) of a Gaussian with any of the widths ``sig``."""
    smax = 0.0
    for k in range(sig.shape[0]):
        if sig[k] > smax:
            smax = sig[k]
    return int(2.0 * math.ceil(TRUNC * smax) + 3)


@numba.njit(cache=True)
def _support(pos, sig, m):
    lo = math.floor(pos - TRUNC * sig)
    hi = math.ceil(pos + TRUNC * sig)
    if lo < 0:
        lo = 0
    if hi > m:
        hi = m
    return int(lo), int(hi)


@numba.njit(cache=True)
def _log_pos(mu, b, h, lam):
    """Position of harmonic ``h`` and its derivative with respect to ``b`` (log axis)."""
    hh = float(h) * float(h)
    return mu + lam * (math.log(float(h)) + 0.5 * math.log1p(b * hh)), lam * hh / (2.0 * (1.0 + b * hh))


@numba.njit(cache=True)
def _gauss_row(pos, s, lo, hi, out):
    """``out[j] = exp(-(lo + j - pos)^2 / (2 s^2))`` for ``j < hi - lo``, by a two-term recurrence."""
    n = hi - lo
    if n <= 0:
        return
    c = 0.5 / (s * s)
    d = lo - pos
    g = math.exp(-d * d * c)
    ratio = math.exp(-(2.0 * d + 1.0) * c)
    step = math.exp(-2.0 * c)
    for j in range(n):
        out[j] = g
        g *= ratio
        ratio *= step


@numba.njit(cache=True)
def _accumulate(a, mu, sig, b, cls, D, lam, linear, p, out):
    m = out.shape[0]
    K = D.shape[0]
    gbuf = np.empty(_row_len(sig))
    for k in range(a.shape[0]):
        if not math.isfinite(mu[k]) or a[k] == 0.0:
            continue
        s = sig[k]
        for h in range(1, K + 1):
            amp = a[k] * D[h - 1, cls[k]]
            if amp == 0.0:
                continue
            if linear:
                pos = mu[k] * h * math.sqrt(1.0 + b[k] * h * h)
            else:
                pos = _log_pos(mu[k], b[k], h, lam)[0]
            lo, hi = _support(pos, s, m)
            _gauss_row(pos, s, lo, hi, gbuf)
            for x in range(lo, hi):
                v = amp * gbuf[x - lo]
                if p == 1.0:
                    out[x] += v
                else:
                    out[x] += v**p
    if p != 1.0:
        inv_p = 1.0 / p
        for x in range(m):
            out[x] = max(out[x], 0.0) ** inv_p


@numba.njit(cache=True)
def render_log(a, mu, sig, b, cls, D, lam, p, out):
    """Draw harmonic tones on the log-frequency axis into ``out`` (overwritten).

    Parameters
    ----------
    a, mu, sig, b : numpy.ndarray, shape (n_tones,)
        Amplitudes (>= 0), fundamental log-bin positions, widths in bins, inharmonicities.
    cls : numpy.ndarray, shape (n_tones,), int64
        Column of ``D`` of each tone.
    D : numpy.ndarray, shape (K, C)
        Relative harmonic amplitudes.
    lam : float
        Log bins per natural-log unit of frequency; ``lam = 0`` puts every harmonic at ``mu``
        (use it with ``K = 1`` for plain Gaussian peaks).
    p : float
        Partial-addition exponent.
    out : numpy.ndarray, shape (m,)
        Output rendering ``R``.
    """
    out[:] = 0.0
    _accumulate(a, mu, sig, b, cls, D, lam, False, p, out)


@numba.njit(cache=True)
def render_lin(a, u, sig, b, cls, D, p, out):
    """Draw harmonic tones on the linear-frequency axis into ``out`` (overwritten).

    Parameters
    ----------
    a, u, sig, b : numpy.ndarray, shape (n_tones,)
        Amplitudes, fundamentals in linear bins (harmonic ``h`` at ``u h sqrt(1 + b h^2)``),
        widths in bins, inharmonicities.
    cls : numpy.ndarray, shape (n_tones,), int64
        Column of ``D`` of each tone.
    D : numpy.ndarray, shape (K, C)
        Relative harmonic amplitudes.
    p : float
        Partial-addition exponent.
    out : numpy.ndarray, shape (H,)
        Output rendering.
    """
    out[:] = 0.0
    _accumulate(a, u, sig, b, cls, D, 0.0, True, p, out)


@numba.njit(cache=True)
def _loss_weights(y, R, q, w):
    """Loss, and ``w(x) = dE/dR(x) = q ((R+delta)^q - (y+delta)^q) (R+delta)^(q-1)``."""
    E = 0.0
    for x in range(y.shape[0]):
        if q == 1.0:
            diff = R[x] - y[x]
            w[x] = diff
        else:
            rq = (R[x] + DELTA) ** q
            diff = rq - (y[x] + DELTA) ** q
            w[x] = q * diff * rq / (R[x] + DELTA)
        E += 0.5 * diff * diff
    return E


@numba.njit(cache=True)
def loss_log(y, a, mu, sig, b, cls, D, lam, p, q, R):
    """Loss ``E`` of tones on the log axis against the frame ``y``.

    Parameters
    ----------
    y : numpy.ndarray, shape (m,)
        Non-negative frame.
    a, mu, sig, b, cls, D, lam, p :
        Tones and dictionary as in :func:`render_log`.
    q : float
        Compression exponent of the loss.
    R : numpy.ndarray, shape (m,)
        Work array; holds the rendering on return.

    Returns
    -------
    float
        ``E = 1/2 sum_x ((R + delta)^q - (y + delta)^q)^2``.
    """
    render_log(a, mu, sig, b, cls, D, lam, p, R)
    E = 0.0
    for x in range(y.shape[0]):
        if q == 1.0:
            diff = R[x] - y[x]
        else:
            diff = (R[x] + DELTA) ** q - (y[x] + DELTA) ** q
        E += 0.5 * diff * diff
    return E


@numba.njit(cache=True)
def _grads(y, a, mu, sig, b, cls, D, lam, p, q, R, ga, gmu, gsig, gb, gD, want_params, want_dict):
    render_log(a, mu, sig, b, cls, D, lam, p, R)
    m = y.shape[0]
    w = np.empty(m)
    E = _loss_weights(y, R, q, w)
    K = D.shape[0]
    for k in range(a.shape[0]):
        if want_params:
            ga[k] = 0.0
            gmu[k] = 0.0
            gsig[k] = 0.0
            gb[k] = 0.0
        if not math.isfinite(mu[k]):
            continue
        s = sig[k]
        inv_s2 = 1.0 / (s * s)
        for h in range(1, K + 1):
            dcoef = D[h - 1, cls[k]]
            amp = a[k] * dcoef
            pos, dpos_db = _log_pos(mu[k], b[k], h, lam)
            lo, hi = _support(pos, s, m)
            for x in range(lo, hi):
                d = x - pos
                G = math.exp(-0.5 * d * d * inv_s2)
                c = w[x]
                if p != 1.0:
                    # exact chain rule of R = (sum v^p)^(1/p): dR/dv = (v / R)^(p - 1)
                    v = amp * G
                    if v == 0.0 or R[x] == 0.0:
                        continue
                    c = c * (v / R[x]) ** (p - 1.0)
                if want_params:
                    ga[k] += c * dcoef * G
                    t = c * amp * G * d * inv_s2
                    gmu[k] += t
                    gsig[k] += t * d / s
                    gb[k] += t * dpos_db
                if want_dict:
                    gD[h - 1, cls[k]] += c * a[k] * G
    return E


@numba.njit(cache=True)
def loss_grad_log(y, a, mu, sig, b, cls, D, lam, p, q, R, ga, gmu, gsig, gb):
    """Fused loss and gradient with respect to the tone parameters (log axis).

    One rendering pass and one gradient pass: for each tone, harmonic ``h`` and bin ``x``
    of its support, with ``G`` the Gaussian, ``A = a D[h, i]``, ``d = x - pos_h`` and
    ``c = dE/dR(x) * (A G / R(x))^(p-1)``::

        dE/da   += c D[h, i] G          dE/dmu += c A G d / sig^2
        dE/dsig += c A G d^2 / sig^3    dE/db  += c A G d / sig^2 * lam h^2 / (2 (1 + b h^2))

    (for ``p != 1`` this is the exact derivative of ``E``).

    Parameters
    ----------
    y : numpy.ndarray, shape (m,)
        Frame.
    a, mu, sig, b, cls, D, lam, p, q, R :
        As in :func:`loss_log`.
    ga, gmu, gsig, gb : numpy.ndarray, shape (n_tones,)
        Outputs: ``dE/da``, ``dE/dmu``, ``dE/dsig``, ``dE/db``.

    Returns
    -------
    float
        The loss ``E``.
    """
    dummy = np.zeros((1, 1))
    return _grads(y, a, mu, sig, b, cls, D, lam, p, q, R, ga, gmu, gsig, gb, dummy, True, False)


@numba.njit(cache=True)
def grad_dict_log(y, a, mu, sig, b, cls, D, lam, p, q, R, gD):
    """Loss and its gradient with respect to the dictionary ``D`` (log axis).

    ``dE/dD[h, i] = sum over tones of class i and bins x: c a G`` (notation of
    :func:`loss_grad_log`); columns without tones get 0.

    Parameters
    ----------
    y, a, mu, sig, b, cls, D, lam, p, q, R :
        As in :func:`loss_log`.
    gD : numpy.ndarray, shape (K, C)
        Output, overwritten with ``dE/dD``.

    Returns
    -------
    float
        The loss ``E``.
    """
    gD[:, :] = 0.0
    dummy = np.zeros(1)
    return _grads(y, a, mu, sig, b, cls, D, lam, p, q, R, dummy, dummy, dummy, dummy, gD, False, True)
