"""Log-frequency spectrogram of DictSep by sparse pursuit of Gaussian peaks.

Each frame of the magnitude spectrogram ``|X|`` (from
:func:`~sepkit.separation.dictsep.frontend.gaussian_stft`) is explained by Gaussian peaks
``a exp(-(x - u)^2 / (2 sig^2))`` found by a greedy pursuit (``notes/dictsep.md`` 3.3-3.4):

1. candidates: local maxima of the residual ``r = |X| - R`` over 5 bins, at most
   ``max_peaks`` per iteration, starting at ``a = r(x)``, ``u = x``, ``sig = sigmas / pi``;
2. least-squares refit of the peaks (``0.8 s0 <= sig <= 1.5 s0``), keep the ``max_peaks``
   largest, refit around the removed ones. Musisep refits all peaks jointly with L-BFGS-B; here
   :func:`~sepkit.kernels.dictsep.fit_peaks_local` takes local 3x3
   Levenberg-Marquardt steps peak by peak, only around the new peaks and the peaks their
   moves disturb (the problem is local: Gaussians are cut at 6 widths), with L-BFGS-B's
   stopping rules. It minimises the same loss, so the result agrees up to the optimiser's
   path, not bit for bit;
3. accept while the residual norm decreases by the factor ``beta`` (1: any decrease), at most
   ``max_iter`` iterations.

Every peak is then moved to the log axis, ``mu = M ln(u / u_min) / ln(u_max / u_min)`` with
``u_min = fmin / sr * 2H`` and ``u_max = fmax / sr * 2H``, and redrawn there with the same
width (in log bins) and height. A harmonic tone then looks the same at every pitch, up to a
shift. Frames are independent and processed in parallel (threads,
:func:`sepkit.kernels.threaded.run_threaded`).
"""

from __future__ import annotations

import math

import numpy as np

from ...core.errors import SeparationError
from ...core.validation import check_array, check_int, check_nonneg, check_positive, check_real
from ...kernels.dictsep.logspect import log_frames_into, pursue_peaks
from ...kernels.threaded import run_threaded
from .frontend import SIGMAS

__all__ = [
    "LOG_BINS",
    "FMIN",
    "FMAX",
    "log_axis_lambda",
    "log_frequencies",
    "pursue_peaks",
    "log_spectrogram",
    "check_log_spectrogram",
    "check_magnitude",
]

#: Default number of log-frequency bins ``M``.
LOG_BINS = 1024
#: Default lowest frequency of the log axis (Hz).
FMIN = 20.0
#: Default highest frequency of the log axis (Hz).
FMAX = 20480.0



def log_axis_lambda(n_bins: int = LOG_BINS, fmin: float = FMIN, fmax: float = FMAX) -> float:
    """Log bins per natural-log unit of frequency: ``n_bins / ln(fmax / fmin)``."""
    return n_bins / math.log(fmax / fmin)


def check_range(fmin, fmax) -> tuple:
    """``(fmin, fmax)`` as floats if ``0 < fmin < fmax`` (finite), else SeparationError."""
    fmin = check_positive("fmin", fmin, error=SeparationError)
    fmax = check_positive("fmax", fmax, error=SeparationError)
    if not fmin < fmax:
        raise SeparationError(f"fmin must be below fmax, got fmin={fmin!r}, fmax={fmax!r}")
    return fmin, fmax


def log_frequencies(n_bins: int = LOG_BINS, fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """Centre frequency of every log bin: ``fmin (fmax / fmin)^(k / n_bins)`` Hz, shape ``(n_bins,)``."""
    return fmin * (fmax / fmin) ** (np.arange(n_bins) / n_bins)


def check_log_spectrogram(Y) -> np.ndarray:
    """A finite, non-negative, real ``(M, n_frames)`` array (``M >= 2``) as C-ordered float64.

    Raises
    ------
    SeparationError
        For another shape or kind, NaN/inf or negative values.
    """
    Y = check_array("Y", Y, ndim=2, finite=True, nonneg=True, what="log spectrogram of shape (M, n_frames)",
                    error=SeparationError)
    if Y.shape[0] < 2:
        raise SeparationError(f"Y must have shape (M, n_frames) with M >= 2, got {Y.shape}")
    return np.ascontiguousarray(Y, dtype=np.float64)


def check_magnitude(magnitude) -> np.ndarray:
    """A finite, non-negative, real ``(H, n_frames)`` float64 array (``H >= 2``), or SeparationError."""
    mag = check_array("magnitude", magnitude, ndim=2, finite=True, nonneg=True,
                      what="magnitude spectrogram of shape (H, n_frames) (pass np.abs(X))", error=SeparationError)
    if mag.shape[0] < 2:
        raise SeparationError(f"magnitude must have shape (H, n_frames) with H >= 2, got {mag.shape}")
    return np.asarray(mag, dtype=np.float64)


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
    mag = check_magnitude(magnitude)
    sample_rate = check_positive("sample_rate", sample_rate, error=SeparationError)
    n_bins = check_int("n_bins", n_bins, 1, error=SeparationError)
    fmin, fmax = check_range(fmin, fmax)
    sigmas = check_positive("sigmas", sigmas, error=SeparationError)
    max_peaks = check_int("max_peaks", max_peaks, 1, error=SeparationError)
    max_iter = check_int("max_iter", max_iter, 1, error=SeparationError)
    beta = check_positive("beta", beta, error=SeparationError)
    if beta > 1:
        raise SeparationError(f"beta must be in (0, 1], got {beta!r}")
    floor = check_real("floor", floor, 0.0, error=SeparationError)
    if floor >= 1:
        raise SeparationError(f"floor must be in [0, 1), got {floor!r}")
    fit_iter = check_int("fit_iter", fit_iter, 1, error=SeparationError)
    ftol = check_nonneg("ftol", ftol, error=SeparationError)
    gtol = check_nonneg("gtol", gtol, error=SeparationError)
    n_fft = 2 * mag.shape[0]
    u_min = fmin / sample_rate * n_fft
    lam = log_axis_lambda(n_bins, fmin, fmax)
    out = np.empty((n_bins, mag.shape[1]))
    counts = np.zeros(mag.shape[1], dtype=np.int64)
    run_threaded(log_frames_into, mag.shape[1], np.ascontiguousarray(mag), sigmas / math.pi, u_min, lam, n_bins,
                 max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol, out, counts)
    return (out, counts) if return_counts else out
