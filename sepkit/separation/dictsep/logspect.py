"""Log-frequency spectrogram of DictSep by sparse pursuit of Gaussian peaks.

Each frame of the magnitude spectrogram ``|X|`` (from
:func:`~sepkit.separation.dictsep.frontend.gaussian_stft`) is explained by Gaussian peaks
``a exp(-(x - u)^2 / (2 sig^2))`` found by a greedy pursuit (``notes/dictsep.md`` 3.3-3.4):

1. candidates: local maxima of the residual ``r = |X| - R`` over 5 bins, at most
   ``max_peaks`` per iteration, starting at ``a = r(x)``, ``u = x``, ``sig = sigmas / pi``;
2. least-squares refit of the peaks (``0.8 s0 <= sig <= 1.5 s0``), keep the ``max_peaks``
   largest, refit around the removed ones. Musisep refits all peaks jointly with L-BFGS-B; here
   :func:`~sepkit.separation.dictsep.kernels.fit_peaks_local` takes local 3x3
   Levenberg-Marquardt steps peak by peak, only around the new peaks and the peaks their
   moves disturb (the problem is local: Gaussians are cut at 6 widths), with L-BFGS-B's
   stopping rules. It minimises the same loss, so the result agrees up to the optimiser's
   path, not bit for bit;
3. accept while the residual norm decreases by the factor ``beta`` (1: any decrease), at most
   ``max_iter`` iterations.

Every peak is then moved to the log axis, ``mu = M ln(u / u_min) / ln(u_max / u_min)`` with
``u_min = fmin / sr * 2H`` and ``u_max = fmax / sr * 2H``, and redrawn there with the same
width (in log bins) and height. A harmonic tone then looks the same at every pitch, up to a
shift. Frames are independent and processed in parallel (numba threads).
"""

from __future__ import annotations

import math
import numbers

import numba
import numpy as np

from ...core.errors import SeparationError
from .frontend import SIGMAS
from .kernels import TRUNC, fit_peaks_local, local_maxima, render_log

__all__ = [
    "LOG_BINS",
    "FMIN",
    "FMAX",
    "log_axis_lambda",
    "log_frequencies",
    "pursue_peaks",
    "log_spectrogram",
]

#: Default number of log-frequency bins ``M``.
LOG_BINS = 1024
#: Default lowest frequency of the log axis (Hz).
FMIN = 20.0
#: Default highest frequency of the log axis (Hz).
FMAX = 20480.0

_WIDTH = 5  # local-maximum window (bins)


def log_axis_lambda(n_bins: int = LOG_BINS, fmin: float = FMIN, fmax: float = FMAX) -> float:
    """Log bins per natural-log unit of frequency: ``n_bins / ln(fmax / fmin)``."""
    return n_bins / math.log(fmax / fmin)


def log_frequencies(n_bins: int = LOG_BINS, fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """Centre frequency of every log bin: ``fmin (fmax / fmin)^(k / n_bins)`` Hz, shape ``(n_bins,)``."""
    return fmin * (fmax / fmin) ** (np.arange(n_bins) / n_bins)


@numba.njit(cache=True)
def pursue_peaks(y, s0, max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol):
    """Sparse pursuit of Gaussian peaks in one linear-frequency magnitude frame.

    Parameters
    ----------
    y : numpy.ndarray, shape (H,)
        Magnitude frame.
    s0 : float
        Start width of new peaks in bins (``sigmas / pi``); widths stay in
        ``[0.8 s0, 1.5 s0]``.
    max_peaks : int
        Peaks kept (and candidates added per iteration) at most.
    max_iter : int
        Pursuit iterations at most.
    beta : float
        Acceptance factor: an iteration is kept if the residual norm falls below
        ``beta`` times the previous one.
    floor : float
        Candidates must exceed ``floor * max(y)`` (0: every positive local maximum).
    fit_iter : int
        Levenberg-Marquardt steps per refit at most.
    ftol, gtol : float
        Stopping rules of every refit (see :func:`~sepkit.separation.dictsep.kernels.fit_tones`).

    Returns
    -------
    a, u, sig : numpy.ndarray, shape (n_peaks,)
        Heights, positions (linear bins, continuous) and widths of the accepted peaks.
    """
    m = y.shape[0]
    cap = 2 * max_peaks
    a = np.zeros(cap)
    u = np.zeros(cap)
    sig = np.zeros(cap)
    b = np.zeros(cap)
    cls = np.zeros(cap, dtype=np.int64)
    dirty = np.zeros(cap, dtype=np.bool_)
    D = np.ones((1, 1))
    R = np.zeros(m)
    r = y.copy()
    ymax = 0.0
    err = 0.0
    for x in range(m):
        ymax = max(ymax, y[x])
        err += y[x] * y[x]
    err = math.sqrt(err)
    n = 0
    if not ymax > 0.0:
        return a[:0], u[:0], sig[:0]
    thresh = floor * ymax
    sig_lo = 0.8 * s0
    sig_hi = 1.5 * s0
    reach = 2.0 * TRUNC * sig_hi + 2.0
    for it in range(max_iter):
        cand = local_maxima(r, _WIDTH, max_peaks, thresh)
        nc = cand.shape[0]
        if nc == 0:
            break
        a_old = a[:n].copy()
        u_old = u[:n].copy()
        s_old = sig[:n].copy()
        n_old = n
        dirty[:n] = False
        for j in range(nc):
            a[n + j] = r[cand[j]]
            u[n + j] = float(cand[j])
            sig[n + j] = s0
            dirty[n + j] = True
        n += nc
        E = fit_peaks_local(y, a[:n], u[:n], sig[:n], dirty[:n], sig_lo, sig_hi, fit_iter, ftol, gtol)
        if n > max_peaks:
            order = np.argsort(-a[:n], kind="mergesort")
            keep = order[:max_peaks]
            gone = np.sort(u[order[max_peaks:n]])
            a2 = a[keep]
            u2 = u[keep]
            s2 = sig[keep]
            n = max_peaks
            a[:n] = a2
            u[:n] = u2
            sig[:n] = s2
            # refit only around the removed peaks (the rest is still at its optimum)
            for k in range(n):
                j = np.searchsorted(gone, u[k])
                near = False
                if j < gone.shape[0] and gone[j] - u[k] < reach:
                    near = True
                if j > 0 and u[k] - gone[j - 1] < reach:
                    near = True
                dirty[k] = near
            E = fit_peaks_local(y, a[:n], u[:n], sig[:n], dirty[:n], sig_lo, sig_hi, fit_iter, ftol, gtol)
        new_err = math.sqrt(2.0 * E)
        if new_err < beta * err:
            err = new_err
            render_log(a[:n], u[:n], sig[:n], b[:n], cls[:n], D, 0.0, 1.0, R)
            for x in range(m):
                r[x] = y[x] - R[x]
        else:
            n = n_old
            a[:n] = a_old
            u[:n] = u_old
            sig[:n] = s_old
            break
    return a[:n].copy(), u[:n].copy(), sig[:n].copy()


@numba.njit(cache=True, parallel=True)
def _log_frames(mag, s0, u_min, lam, n_bins, max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol, out, counts):
    n_frames = mag.shape[1]
    D = np.ones((1, 1))
    for t in numba.prange(n_frames):
        y = np.empty(mag.shape[0])  # a C-ordered copy of the frame
        y[:] = mag[:, t]
        a, u, sig = pursue_peaks(y, s0, max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol)
        n = 0
        for k in range(a.shape[0]):
            if u[k] > 0.0:
                n += 1
        al = np.empty(n)
        mul = np.empty(n)
        sl = np.empty(n)
        j = 0
        for k in range(a.shape[0]):
            if u[k] > 0.0:
                al[j] = a[k]
                mul[j] = lam * math.log(u[k] / u_min)
                sl[j] = sig[k]
                j += 1
        col = np.empty(n_bins)
        render_log(al, mul, sl, np.zeros(n), np.zeros(n, dtype=np.int64), D, 0.0, 1.0, col)
        out[:, t] = col
        counts[t] = a.shape[0]


def _positive(name, value, integer=False, allow_zero=False):
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or value < 0 or (
        value == 0 and not allow_zero
    ):
        kind = "an integer" if integer else "a finite number"
        bound = ">= 0" if allow_zero else "> 0"
        raise SeparationError(f"{name} must be {kind} {bound}, got {value!r}")
    return int(value) if integer else float(value)


def _check_magnitude(magnitude) -> np.ndarray:
    """A finite, non-negative, real ``(H, n_frames)`` float64 array (H >= 2), or SeparationError."""
    mag = np.asarray(magnitude)
    if mag.ndim != 2 or mag.shape[0] < 2 or mag.shape[1] < 1:
        raise SeparationError(f"magnitude must have shape (H, n_frames) with H >= 2, got {mag.shape}")
    if mag.dtype.kind not in "biuf":
        raise SeparationError(f"magnitude must be real, got dtype {mag.dtype} (pass np.abs(X))")
    mag = np.asarray(mag, dtype=np.float64)
    if not np.all(np.isfinite(mag)):
        raise SeparationError("magnitude contains NaN or infinite values")
    if np.any(mag < 0):
        raise SeparationError(f"magnitude must be non-negative, got minimum {float(mag.min())!r}")
    return mag


def log_spectrogram(
    magnitude,
    sample_rate: float,
    *,
    n_bins: int = LOG_BINS,
    fmin: float = FMIN,
    fmax: float = FMAX,
    sigmas: float = SIGMAS,
    max_peaks: int = 1000,
    max_iter: int = 20,
    beta: float = 1.0,
    floor: float = 0.0,
    fit_iter: int = 100,
    ftol: float = 2.220446049250313e-09,
    gtol: float = 1e-5,
    return_counts: bool = False,
):
    """Pursuit-based log-frequency spectrogram of a Gaussian-window magnitude spectrogram.

    Parameters
    ----------
    magnitude : array_like, shape (H, n_frames)
        Non-negative magnitudes ``|X|`` of :func:`~sepkit.separation.dictsep.frontend.gaussian_stft`
        (mono); bin ``f`` is at ``f * sample_rate / (2 H)`` Hz.
    sample_rate : float
        Sample rate of the analysed audio (Hz).
    n_bins : int
        Log bins ``M`` (default 1024: 102.4 bins per octave from 20 Hz to 20480 Hz).
    fmin, fmax : float
        Frequency range of the log axis (Hz), ``0 < fmin < fmax``.
    sigmas : float
        Window parameter of the STFT; peaks start at width ``sigmas / pi`` bins.
    max_peaks : int
        Peaks per frame at most (Musisep: 1000).
    max_iter : int
        Pursuit iterations per frame at most (Musisep: 20).
    beta : float
        Acceptance factor of an iteration, in ``(0, 1]`` (Musisep: 1).
    floor : float
        Ignore candidate maxima below ``floor`` times the frame maximum, in ``[0, 1)``. The
        default 0 is Musisep's behaviour; ``1e-4`` (-80 dB) skips numerical noise and is
        much faster on dense frames.
    fit_iter : int
        Levenberg-Marquardt steps per refit at most.
    ftol, gtol : float
        Stopping rules of every refit, with the meaning and defaults of scipy's L-BFGS-B
        (``factr = 1e7``, ``pgtol = 1e-5``) that Musisep uses: stop when the loss falls by
        at most ``ftol * max(E, 1)`` or the projected gradient is at most ``gtol``. Like the
        original, they are absolute for losses below 1, so the fit is coarser for quiet audio.
    return_counts : bool
        Also return the number of peaks found per frame.

    Returns
    -------
    Y : numpy.ndarray, shape (n_bins, n_frames)
        Log-frequency spectrogram (float64, on the scale of ``magnitude``): log bin ``k`` is
        centred at ``fmin (fmax / fmin)^(k / n_bins)`` Hz.
    counts : numpy.ndarray, shape (n_frames,), int64
        Only with ``return_counts``: peaks per frame.

    Raises
    ------
    SeparationError
        If ``magnitude`` is not a finite non-negative 2-D array or a parameter is out of range.
    """
    mag = _check_magnitude(magnitude)
    sample_rate = _positive("sample_rate", sample_rate)
    n_bins = _positive("n_bins", n_bins, integer=True)
    fmin = _positive("fmin", fmin)
    fmax = _positive("fmax", fmax)
    if not fmin < fmax:
        raise SeparationError(f"fmin must be below fmax, got fmin={fmin!r}, fmax={fmax!r}")
    sigmas = _positive("sigmas", sigmas)
    max_peaks = _positive("max_peaks", max_peaks, integer=True)
    max_iter = _positive("max_iter", max_iter, integer=True)
    beta = _positive("beta", beta)
    if beta > 1:
        raise SeparationError(f"beta must be in (0, 1], got {beta!r}")
    floor = _positive("floor", floor, allow_zero=True)
    if floor >= 1:
        raise SeparationError(f"floor must be in [0, 1), got {floor!r}")
    fit_iter = _positive("fit_iter", fit_iter, integer=True)
    ftol = _positive("ftol", ftol, allow_zero=True)
    gtol = _positive("gtol", gtol, allow_zero=True)
    n_fft = 2 * mag.shape[0]
    u_min = fmin / sample_rate * n_fft
    lam = log_axis_lambda(n_bins, fmin, fmax)
    out = np.empty((n_bins, mag.shape[1]))
    counts = np.zeros(mag.shape[1], dtype=np.int64)
    _log_frames(np.ascontiguousarray(mag), sigmas / math.pi, u_min, lam, n_bins, max_peaks,
                max_iter, beta, floor, fit_iter, ftol, gtol, out, counts)
    return (out, counts) if return_counts else out
