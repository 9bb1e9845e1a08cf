"""Dictionary pursuit of log-frequency frames (``notes/dictsep.md`` section 3.5).

A log frame ``y`` (from :func:`~sepkit.separation.dictsep.logspect.log_spectrogram`) is
explained by a few harmonic tones of the instruments of a dictionary ``D`` (``K`` relative
harmonic amplitudes per column). The pursuit works in the q-domain (``q = 0.5``):

1. the matched filter (:func:`~sepkit.separation.dictsep.kernels.best_match_fft` when ``M``
   is a power of two, else the direct :func:`~sepkit.separation.dictsep.kernels.best_match`) finds the
   instrument ``i`` and log shift ``k`` whose unit-norm template best correlates with the
   residual ``r = y^q - R^q``; its least-squares amplitude ``c`` (none if ``c <= 0``) gives a
   new tone ``a = c^(1/q)``, ``mu = k``, ``sig = s0``, ``b = 0``, class ``i``;
2. all tones are refitted jointly with the bounded Levenberg-Marquardt solver
   :func:`~sepkit.separation.dictsep.kernels.fit_tones` (``a >= 0``,
   ``0.8 s0 <= sig <= 1.5 s0``, ``0 <= b <= 2e-3``); per instrument only the ``tone_num``
   largest tones are kept, and the rest are refitted;
3. the iteration is kept if ``||R^q - y^q||`` falls below ``beta`` times its previous value
   (``beta = 0.9``); otherwise the previous tones are restored and the pursuit stops. At most
   ``max_iter = 2 tone_num C`` iterations.

Musisep refits with scipy's L-BFGS-B on every iteration; the numba solver keeps L-BFGS-B's
stopping rules but removes the per-call overhead that dominated the original's time.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ...core.errors import SeparationError
from ._checks import check_int, check_log_spectrogram, check_positive
from .frontend import SIGMAS
from .kernels import best_match, best_match_fft, fft_twiddles, fit_tones, render_log, template_spectra
from .logspect import FMAX, FMIN, LOG_BINS, log_axis_lambda

__all__ = ["B_MAX", "build_templates", "pursue_tones", "pursue_frames"]

#: Upper bound of the inharmonicity ``b``.
B_MAX = 2e-3


@numba.njit(cache=True)
def _templates(D, n_bins, lam, s0, q):
    C = D.shape[1]
    out = np.empty((2 * n_bins, C))
    col = np.empty(2 * n_bins)
    one = np.ones(1)
    pos = np.array([float(n_bins)])
    width = np.array([s0])
    zero = np.zeros(1)
    for i in range(C):
        cls = np.array([i], dtype=np.int64)
        render_log(one, pos, width, zero, cls, D, lam, 1.0, col)
        for z in range(2 * n_bins):
            out[z, i] = col[z] ** q
    return out


def build_templates(D, n_bins: int = LOG_BINS, lam: float | None = None, sigmas: float = SIGMAS,
                    q: float = 0.5) -> np.ndarray:
    """q-domain templates of the instruments for the matched-filter selector.

    Parameters
    ----------
    D : array_like, shape (K, C)
        Dictionary: relative harmonic amplitudes, one column per instrument.
    n_bins : int
        Log bins ``M`` of the frames.
    lam : float, optional
        Log bins per natural-log unit of frequency; default ``log_axis_lambda(n_bins)``
        (20 Hz to 20480 Hz).
    sigmas : float
        Window parameter; the template tone has width ``sigmas / pi``.
    q : float
        Compression exponent.

    Returns
    -------
    numpy.ndarray, shape (2 * n_bins, C)
        Column ``i``: one tone of instrument ``i`` (``a = 1``, ``b = 0``) with its
        fundamental at bin ``n_bins``, drawn on ``2 n_bins`` bins and raised to ``q``.
    """
    D = _check_dict(D)
    n_bins = check_int("n_bins", n_bins, 2)
    lam = log_axis_lambda(n_bins, FMIN, FMAX) if lam is None else check_positive("lam", lam)
    return _templates(D, n_bins, lam, check_positive("sigmas", sigmas) / math.pi, check_positive("q", q))


@numba.njit(cache=True)
def _prune(a, cls, n, tone_num, n_inst, keep):
    """Mark the ``tone_num`` largest tones of every class; return how many are kept."""
    order = np.argsort(-a[:n], kind="mergesort")
    count = np.zeros(n_inst, dtype=np.int64)
    kept = 0
    for j in range(n):
        k = order[j]
        if count[cls[k]] < tone_num:
            count[cls[k]] += 1
            keep[k] = True
            kept += 1
        else:
            keep[k] = False
    return kept


@numba.njit(cache=True)
def _qdist(y, R, q):
    acc = 0.0
    for x in range(y.shape[0]):
        d = R[x] ** q - y[x] ** q
        acc += d * d
    return math.sqrt(acc)


@numba.njit(cache=True)
def pursue_tones(y, D, templates, lam, s0, tone_num, max_iter, beta, p, q, fit_iter, ftol, gtol):
    """Dictionary pursuit of one log frame.

    Parameters
    ----------
    y : numpy.ndarray, shape (M,)
        Non-negative log frame.
    D : numpy.ndarray, shape (K, C)
        Dictionary.
    templates : numpy.ndarray, shape (2M, C)
        Output of :func:`build_templates` for ``D`` and ``q``.
    lam : float
        Log bins per natural-log unit of frequency.
    s0 : float
        Start width of new tones (``sigmas / pi``).
    tone_num : int
        Tones per instrument at most.
    max_iter : int
        Pursuit iterations at most (Musisep: ``2 tone_num C``).
    beta : float
        Acceptance factor of an iteration (Musisep: 0.9).
    p, q : float
        Partial-addition and compression exponents.
    fit_iter : int
        Levenberg-Marquardt steps per refit at most.
    ftol, gtol : float
        Stopping rules of each refit (see :func:`~sepkit.separation.dictsep.kernels.fit_tones`).

    Returns
    -------
    a, mu, sig, b : numpy.ndarray, shape (n_tones,)
        Amplitudes, log-bin fundamentals, widths and inharmonicities,
        ``n_tones <= tone_num * C``.
    cls : numpy.ndarray, shape (n_tones,), int64
        Instrument of each tone.
    """
    use_fft = templates.shape[0] == 2 * y.shape[0] and (y.shape[0] & (y.shape[0] - 1)) == 0 and y.shape[0] >= 2
    tw = fft_twiddles(templates.shape[0] if use_fft else 2)
    spectra, norms2 = template_spectra(templates if use_fft else np.zeros((2, 1)), tw)
    return _pursue(y, D, templates, use_fft, spectra, norms2, tw, lam, s0, tone_num, max_iter, beta, p, q,
                   fit_iter, ftol, gtol)


@numba.njit(cache=True)
def _pursue(y, D, templates, use_fft, spectra, norms2, tw, lam, s0, tone_num, max_iter, beta, p, q, fit_iter,
            ftol, gtol):
    """:func:`pursue_tones` with the templates' FFTs given (computed once per dictionary)."""
    m = y.shape[0]
    C = D.shape[1]
    cap = tone_num * C + 1
    a = np.zeros(cap)
    mu = np.zeros(cap)
    sig = np.zeros(cap)
    b = np.zeros(cap)
    cls = np.zeros(cap, dtype=np.int64)
    keep = np.zeros(cap, dtype=np.bool_)
    zeros = np.zeros(m)
    R = np.zeros(m)
    r = np.empty(m)
    for x in range(m):
        r[x] = y[x] ** q
    err = _qdist(y, R, q)
    n = 0
    sig_lo = 0.8 * s0
    sig_hi = 1.5 * s0
    for it in range(max_iter):
        if use_fft:
            k, i, c = best_match_fft(r, spectra, norms2, tw)
        else:
            k, i, c = best_match(r, templates)
        if not c > 0.0:
            break
        a_old = a[:n].copy()
        mu_old = mu[:n].copy()
        s_old = sig[:n].copy()
        b_old = b[:n].copy()
        c_old = cls[:n].copy()
        n_old = n
        a[n] = c ** (1.0 / q)
        mu[n] = float(k)
        sig[n] = s0
        b[n] = 0.0
        cls[n] = i
        n += 1
        fit_tones(y, zeros, a[:n], mu[:n], sig[:n], b[:n], cls[:n], D, lam, p, q,
                  sig_lo, sig_hi, 0.0, B_MAX, True, fit_iter, ftol, gtol)
        kept = _prune(a, cls, n, tone_num, C, keep)
        if kept < n:
            j = 0
            for t in range(n):
                if keep[t]:
                    a[j] = a[t]
                    mu[j] = mu[t]
                    sig[j] = sig[t]
                    b[j] = b[t]
                    cls[j] = cls[t]
                    j += 1
            n = kept
            fit_tones(y, zeros, a[:n], mu[:n], sig[:n], b[:n], cls[:n], D, lam, p, q,
                      sig_lo, sig_hi, 0.0, B_MAX, True, fit_iter, ftol, gtol)
        render_log(a[:n], mu[:n], sig[:n], b[:n], cls[:n], D, lam, p, R)
        new_err = _qdist(y, R, q)
        if new_err < beta * err:
            err = new_err
            for x in range(m):
                r[x] = y[x] ** q - R[x] ** q
        else:
            n = n_old
            a[:n] = a_old
            mu[:n] = mu_old
            sig[:n] = s_old
            b[:n] = b_old
            cls[:n] = c_old
            break
    return a[:n].copy(), mu[:n].copy(), sig[:n].copy(), b[:n].copy(), cls[:n].copy()


@numba.njit(cache=True, parallel=True)
def _pursue_frames(Y, D, templates, lam, s0, tone_num, max_iter, beta, p, q, fit_iter, ftol, gtol,
                   A, MU, SIG, B, CLS):
    m = Y.shape[0]
    use_fft = templates.shape[0] == 2 * m and (m & (m - 1)) == 0 and m >= 2
    tw = fft_twiddles(2 * m if use_fft else 2)
    spectra, norms2 = template_spectra(templates if use_fft else np.zeros((2, 1)), tw)  # once, not per frame
    for t in numba.prange(Y.shape[1]):
        y = np.empty(m)  # a C-ordered copy of the frame
        y[:] = Y[:, t]
        a, mu, sig, b, cls = _pursue(y, D, templates, use_fft, spectra, norms2, tw, lam, s0, tone_num, max_iter,
                                     beta, p, q, fit_iter, ftol, gtol)
        for j in range(a.shape[0]):
            A[t, j] = a[j]
            MU[t, j] = mu[j]
            SIG[t, j] = sig[j]
            B[t, j] = b[j]
            CLS[t, j] = cls[j]


def pursue_frames(
    Y,
    D,
    *,
    tone_num: int = 1,
    max_iter: int | None = None,
    beta: float = 0.9,
    p: float = 1.0,
    q: float = 0.5,
    fmin: float = FMIN,
    fmax: float = FMAX,
    sigmas: float = SIGMAS,
    fit_iter: int = 100,
    ftol: float = 2.220446049250313e-09,
    gtol: float = 1e-5,
):
    """Dictionary pursuit of every frame of a log spectrogram (frames in parallel).

    Parameters
    ----------
    Y : array_like, shape (M, n_frames)
        Non-negative log-frequency spectrogram.
    D : array_like, shape (K, C)
        Dictionary with entries in ``[0, 1]``, one column per instrument.
    tone_num : int
        Tones per instrument and frame at most (Musisep: 1).
    max_iter : int, optional
        Pursuit iterations per frame; default ``2 tone_num C``.
    beta : float
        Acceptance factor in ``(0, 1]``.
    p, q : float
        Partial-addition and compression exponents (> 0).
    fmin, fmax : float
        Frequency range of the log axis in Hz (sets ``lam = M / ln(fmax / fmin)``).
    sigmas : float
        Window parameter; tones start at width ``sigmas / pi``.
    fit_iter, ftol, gtol :
        Limits and stopping rules of each refit.

    Returns
    -------
    dict of numpy.ndarray
        ``'a'``, ``'mu'``, ``'sigma'``, ``'b'``: float arrays of shape
        ``(n_frames, tone_num * C)``, and ``'instrument'``: int64 of the same shape; unused
        slots have ``a = 0``, ``mu = nan`` and instrument ``-1``.
    """
    Y = check_log_spectrogram(Y)
    D = _check_dict(D)
    tone_num = check_int("tone_num", tone_num, 1)
    C = D.shape[1]
    max_iter = 2 * tone_num * C if max_iter is None else check_int("max_iter", max_iter, 1)
    beta = check_positive("beta", beta)
    if beta > 1:
        raise SeparationError(f"beta must be in (0, 1], got {beta!r}")
    p = check_positive("p", p)
    q = check_positive("q", q)
    fmin = check_positive("fmin", fmin)
    fmax = check_positive("fmax", fmax)
    if not fmin < fmax:
        raise SeparationError(f"fmin must be below fmax, got fmin={fmin!r}, fmax={fmax!r}")
    s0 = check_positive("sigmas", sigmas) / math.pi
    fit_iter = check_int("fit_iter", fit_iter, 1)
    lam = log_axis_lambda(Y.shape[0], fmin, fmax)
    templates = _templates(D, Y.shape[0], lam, s0, q)
    T = Y.shape[1]
    width = tone_num * C
    A = np.zeros((T, width))
    MU = np.full((T, width), np.nan)
    SIG = np.zeros((T, width))
    B = np.zeros((T, width))
    CLS = np.full((T, width), -1, dtype=np.int64)
    _pursue_frames(Y, D, templates, lam, s0, tone_num, max_iter, beta, p, q, fit_iter,
                   float(ftol), float(gtol), A, MU, SIG, B, CLS)
    return {"a": A, "mu": MU, "sigma": SIG, "b": B, "instrument": CLS}


def _check_dict(D):
    arr = np.asarray(D)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1 or arr.dtype.kind not in "biuf":
        raise SeparationError(f"D must be a real array of shape (K, C), got {arr.dtype} {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise SeparationError(
            f"D must hold finite values in [0, 1], got range [{float(np.nanmin(arr))!r}, {float(np.nanmax(arr))!r}]"
        )
    if np.any(arr.max(axis=0) == 0):
        raise SeparationError(f"D has an all-zero column: {np.flatnonzero(arr.max(axis=0) == 0).tolist()}")
    return arr
