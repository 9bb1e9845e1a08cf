"""numba kernels of DictSep: harmonic tones, their loss and gradients, selectors, solver.

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

All kernels are serial (``cache=True``) and work on one frame: parallelism belongs to the
drivers, across frames (``notes/dictsep.md`` section 6: threads inside these tiny kernels
cost more than the work). Tones with a non-finite position are skipped everywhere.
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
    "local_maxima",
    "matched_filter",
    "best_match",
    "fft_twiddles",
    "fft_inplace",
    "template_spectra",
    "best_match_fft",
    "fit_tones",
    "fit_peaks_local",
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


@numba.njit(cache=True, inline="always")
def _support(pos, sig, m):
    lo = math.floor(pos - TRUNC * sig)
    hi = math.ceil(pos + TRUNC * sig)
    if lo < 0:
        lo = 0
    if hi > m:
        hi = m
    return int(lo), int(hi)


@numba.njit(cache=True, inline="always")
def _log_pos(mu, b, h, lam):
    """Position of harmonic ``h`` and its derivative with respect to ``b`` (log axis)."""
    hh = float(h) * float(h)
    return mu + lam * (math.log(float(h)) + 0.5 * math.log1p(b * hh)), lam * hh / (2.0 * (1.0 + b * hh))


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


@numba.njit(cache=True)
def local_maxima(r, width, max_n, floor):
    """Local-maximum selector (Musisep's ``max_selector``).

    Bins ``x`` with ``r[x] > floor`` and ``r[x]`` equal to the maximum of ``r`` over
    ``x - width//2 .. x + width//2`` (mirrored at both ends, as ``scipy.ndimage``'s
    ``mode='mirror'``), sorted by decreasing height, at most ``max_n`` of them.

    Parameters
    ----------
    r : numpy.ndarray, shape (m,)
        Residual.
    width : int
        Odd window length (5 in DictSep).
    max_n : int
        Maximum number of candidates.
    floor : float
        Candidates must exceed this value (>= 0; 0 keeps every positive maximum).

    Returns
    -------
    numpy.ndarray, shape (n,), int64
        Candidate bins, highest first (ties in ascending bin order).
    """
    m = r.shape[0]
    half = width // 2
    idx = np.empty(m, dtype=np.int64)
    n = 0
    for x in range(m):
        v = r[x]
        if not v > floor or v <= 0.0:
            continue
        ok = True
        for j in range(x - half, x + half + 1):
            jj = j
            if m > 1:
                while jj < 0 or jj >= m:
                    if jj < 0:
                        jj = -jj
                    if jj >= m:
                        jj = 2 * (m - 1) - jj
            else:
                jj = 0
            if r[jj] > v:
                ok = False
                break
        if ok:
            idx[n] = x
            n += 1
    heights = np.empty(n)
    for j in range(n):
        heights[j] = -r[idx[j]]
    order = np.argsort(heights, kind="mergesort")
    cnt = min(n, max_n)
    res = np.empty(cnt, dtype=np.int64)
    for j in range(cnt):
        res[j] = idx[order[j]]
    return res


@numba.njit(cache=True)
def matched_filter(r, templates, out):
    """Correlate a residual with every instrument template over all shifts.

    ``out[i, k] = sum_x T_i(x + m - k) r(x) / ||T_i||``: the inner product of ``r`` with the
    unit-norm template of instrument ``i`` whose fundamental sits at bin ``k``, where
    ``T_i`` is drawn with its fundamental at bin ``m`` on ``2m`` bins (Musisep's
    ``fft_selector`` correlates ``[zeros(m), r]`` with ``T_i``; this is the same sum,
    computed directly over the template's nonzero range).

    Parameters
    ----------
    r : numpy.ndarray, shape (m,)
        Residual (q-domain).
    templates : numpy.ndarray, shape (2m, C)
        q-domain templates, fundamental at bin ``m`` (see ``pursuit.build_templates``).
    out : numpy.ndarray, shape (C, m)
        Output correlations.
    """
    m = r.shape[0]
    n_inst = templates.shape[1]
    for i in range(n_inst):
        norm2 = 0.0
        zlo = 2 * m
        zhi = 0
        for z in range(2 * m):
            v = templates[z, i]
            if v != 0.0:
                norm2 += v * v
                if z < zlo:
                    zlo = z
                zhi = z + 1
        for k in range(m):
            out[i, k] = 0.0
        if norm2 == 0.0:
            continue
        inv = 1.0 / math.sqrt(norm2)
        for k in range(m):
            # x = z - m + k for z in [zlo, zhi), restricted to [0, m)
            x0 = max(zlo - m + k, 0)
            x1 = min(zhi - m + k, m)
            acc = 0.0
            off = m - k
            for x in range(x0, x1):
                acc += templates[x + off, i] * r[x]
            out[i, k] = acc * inv


@numba.njit(cache=True)
def best_match(r, templates):
    """Matched-filter selector (Musisep's ``fft_selector`` with one candidate).

    Parameters
    ----------
    r : numpy.ndarray, shape (m,)
        Residual (q-domain).
    templates : numpy.ndarray, shape (2m, C)
        q-domain templates as in :func:`matched_filter`.

    Returns
    -------
    k : int
        Log bin of the fundamental of the best match.
    i : int
        Its instrument (column).
    c : float
        Least-squares q-domain amplitude ``<T_i, r> / ||T_i||^2`` (``<= 0`` means no
        candidate).
    """
    m = r.shape[0]
    n_inst = templates.shape[1]
    corr = np.empty((n_inst, m))
    matched_filter(r, templates, corr)
    best = -np.inf
    bk = 0
    bi = 0
    for i in range(n_inst):
        for k in range(m):
            if corr[i, k] > best:
                best = corr[i, k]
                bk = k
                bi = i
    norm2 = 0.0
    for z in range(2 * m):
        norm2 += templates[z, bi] ** 2
    if norm2 == 0.0 or not best > 0.0:
        return bk, bi, 0.0
    return bk, bi, best / math.sqrt(norm2)


@numba.njit(cache=True)
def fft_twiddles(n):
    """Twiddle factors ``exp(-2 pi i k / n)``, ``k < n / 2``, of :func:`fft_inplace`; shape ``(n // 2,)``."""
    tw = np.empty(n // 2, dtype=np.complex128)
    for k in range(n // 2):
        ang = -2.0 * math.pi * k / n
        tw[k] = complex(math.cos(ang), math.sin(ang))
    return tw


@numba.njit(cache=True)
def fft_inplace(x, tw, inverse):
    """Iterative radix-2 FFT of ``x`` in place (numpy's sign and scaling conventions).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,), complex128
        Data, ``n`` a power of two; overwritten with ``fft(x)`` or ``ifft(x)``.
    tw : numpy.ndarray, shape (n // 2,), complex128
        :func:`fft_twiddles` of ``n``.
    inverse : bool
        Inverse transform (conjugate twiddles, divided by ``n``).
    """
    n = x.shape[0]
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            tmp = x[i]
            x[i] = x[j]
            x[j] = tmp
    size = 2
    while size <= n:
        half = size // 2
        stride = n // size
        for start in range(0, n, size):
            for k in range(half):
                w = tw[k * stride]
                if inverse:
                    w = w.conjugate()
                u = x[start + k]
                v = x[start + k + half] * w
                x[start + k] = u + v
                x[start + k + half] = u - v
        size *= 2
    if inverse:
        for i in range(n):
            x[i] = x[i] / n


@numba.njit(cache=True)
def template_spectra(templates, tw):
    """FFTs and squared norms of the q-domain templates, for :func:`best_match_fft`.

    Parameters
    ----------
    templates : numpy.ndarray, shape (2m, C)
        Templates as in :func:`matched_filter`; ``2m`` a power of two.
    tw : numpy.ndarray, shape (m,), complex128
        :func:`fft_twiddles` of ``2m``.

    Returns
    -------
    spectra : numpy.ndarray, shape (C, 2m), complex128
        ``fft(templates[:, i])``.
    norms2 : numpy.ndarray, shape (C,)
        ``||templates[:, i]||^2``.
    """
    L, C = templates.shape
    spectra = np.empty((C, L), dtype=np.complex128)
    norms2 = np.zeros(C)
    for i in range(C):
        for z in range(L):
            spectra[i, z] = templates[z, i]
            norms2[i] += templates[z, i] ** 2
        fft_inplace(spectra[i], tw, False)
    return spectra, norms2


@numba.njit(cache=True)
def best_match_fft(r, spectra, norms2, tw):
    """:func:`best_match` by FFT: the same correlations in ``O(C m log m)``.

    ``[zeros(m), r]`` is correlated circularly with every template (length ``2m``): the
    wrapped part of the sum meets the zero half, so the first ``m`` lags equal the linear
    correlation of :func:`matched_filter`. Two real correlations share one complex inverse
    FFT.

    Parameters
    ----------
    r : numpy.ndarray, shape (m,)
        Residual (q-domain).
    spectra, norms2 :
        Output of :func:`template_spectra`.
    tw : numpy.ndarray, shape (m,), complex128
        :func:`fft_twiddles` of ``2m``.

    Returns
    -------
    k, i, c :
        As :func:`best_match`.
    """
    m = r.shape[0]
    L = 2 * m
    C = spectra.shape[0]
    rs = np.zeros(L, dtype=np.complex128)
    for x in range(m):
        rs[m + x] = r[x]
    fft_inplace(rs, tw, False)
    buf = np.empty(L, dtype=np.complex128)
    best = -np.inf
    bk = 0
    bi = 0
    for i0 in range(0, C, 2):
        i1 = i0 + 1
        for f in range(L):
            v = spectra[i0, f].conjugate() * rs[f]
            if i1 < C:
                v += 1j * (spectra[i1, f].conjugate() * rs[f])
            buf[f] = v
        fft_inplace(buf, tw, True)
        for i in (i0, i1):
            if i >= C or norms2[i] == 0.0:
                continue
            inv = 1.0 / math.sqrt(norms2[i])
            for k in range(m):
                val = (buf[k].real if i == i0 else buf[k].imag) * inv
                if val > best:
                    best = val
                    bk = k
                    bi = i
    if norms2[bi] == 0.0 or not best > 0.0:
        return bk, bi, 0.0
    return bk, bi, best / math.sqrt(norms2[bi])


# --------------------------------------------------------------------------------------
# bounded Levenberg-Marquardt on the residuals rho(x) = (R(x)+delta)^q - (y(x)+delta)^q
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _powq(v, q):
    if q == 0.5:
        return math.sqrt(v)
    return v**q


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
def fit_tones(y, bg, a, mu, sig, b, cls, D, lam, p, q, sig_lo, sig_hi, b_lo, b_hi, fit_b, max_iter, ftol, gtol):
    """Bounded Levenberg-Marquardt refit of all tone parameters (in place).

    Minimises the loss of :func:`loss_log` over ``a >= 0``, free ``mu``,
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
    gacc = np.empty(npar)
    blk = np.empty((npar, npar))
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
        # order the tones by the start of their spans; the band width is the farthest
        # earlier tone (in that order) whose span can overlap a later one
        order = np.argsort(lo, kind="mergesort")
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
        bw = npar * (w + 1) - 1
        Ab = np.zeros((P, bw + 1))
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
        # active set: parameters at a bound whose gradient points outwards, or without effect
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
        for r in range(P):
            if not frozen[r]:
                gnorm = max(gnorm, abs(g[r]))
        if gnorm <= gtol:
            break
        accepted = False
        while lmbda < 1e12:
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
            if not _band_cholesky_solve(M, bw, step):
                lmbda *= nu
                nu *= 2.0
                continue
            for kr in range(n):
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
    MD = np.empty((3, 3))
    grad = np.empty(3)
    step = np.empty(3)
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
            s = sig[k]
            lo, hi = _support(mu[k], s, m)
            _gauss_row(mu[k], s, lo, hi, g_old)
            inv_s2 = 1.0 / (s * s)
            ga = 0.0
            gm = 0.0
            gs = 0.0
            for i in range(3):
                for j in range(3):
                    M[i, j] = 0.0
            for x in range(lo, hi):
                G = g_old[x - lo]
                e = R[x] - y[x]
                d = x - mu[k]
                ja = G
                jm = a[k] * G * d * inv_s2
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
            frozen[0] = (a[k] <= 0.0 and ga > 0.0) or M[0, 0] <= 0.0
            frozen[1] = M[1, 1] <= 0.0
            frozen[2] = (s <= sig_lo and gs > 0.0) or (s >= sig_hi and gs < 0.0) or M[2, 2] <= 0.0
            pg = 0.0
            if not frozen[0]:
                pg = max(pg, abs(ga))
            if not frozen[1]:
                pg = max(pg, abs(gm))
            if not frozen[2]:
                pg = max(pg, abs(gs))
            if pg <= gtol:
                continue
            grad[0] = ga
            grad[1] = gm
            grad[2] = gs
            accepted = False
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
                    E -= 0.5 * (e_old - e_new)
                    a[k] = a1
                    mu[k] = mu1
                    sig[k] = s1
                    lam_k[k] = max(lam_k[k] / 3.0, 1e-9)
                    accepted = True
                    break
                lam_k[k] *= 10.0
            if accepted:
                nxt[k] = True
                _flag_neighbours(mu, order, jr, mu[k] - reach, mu[k] + reach, nxt)
        active[:] = nxt
        if not any_active or E_start - E <= ftol * max(E_start, 1.0):
            break
    return loss_log(y, a, mu, sig, zb, cls, D, 0.0, 1.0, 1.0, R)
