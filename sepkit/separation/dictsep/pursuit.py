"""Dictionary pursuit of log-frequency frames (``notes/dictsep.md`` section 3.5).

A log frame ``y`` (from :func:`~sepkit.separation.dictsep.logspect.log_spectrogram`) is
explained by a few harmonic tones of the instruments of a dictionary ``D`` (``K`` relative
harmonic amplitudes per column). The pursuit works in the q-domain (``q = 0.5``):

1. the matched filter (:func:`~sepkit.kernels.dictsep.best_match_fft` when ``M``
   is a power of two, else the direct :func:`~sepkit.kernels.dictsep.best_match`) finds the
   instrument ``i`` and log shift ``k`` whose unit-norm template best correlates with the
   residual ``r = y^q - R^q``; its least-squares amplitude ``c`` (none if ``c <= 0``) gives a
   new tone ``a = c^(1/q)``, ``mu = k``, ``sig = s0``, ``b = 0``, class ``i``;
2. all tones are refitted jointly with the bounded Levenberg-Marquardt solver
   :func:`~sepkit.kernels.dictsep.fit_tones` (``a >= 0``,
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

import numpy as np

from ...core.errors import SeparationError
from ...core.validation import check_array, check_int, check_positive
from ...kernels.dictsep.pursuit import B_MAX, fft_templates, pursue_frames_into, pursue_tones, render_templates
from ...kernels.threaded import run_threaded
from .frontend import SIGMAS
from .logspect import FMAX, FMIN, LOG_BINS, check_log_spectrogram, check_range, log_axis_lambda

# B_MAX (upper bound of the inharmonicity ``b``) and pursue_tones (one frame) are kernels,
# re-exported here beside their validated front ends.
__all__ = ["B_MAX", "build_templates", "pursue_tones", "pursue_frames", "check_dictionary"]


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
    D = check_dictionary(D)
    n_bins = check_int("n_bins", n_bins, 2, error=SeparationError)
    lam = log_axis_lambda(n_bins, FMIN, FMAX) if lam is None else check_positive("lam", lam, error=SeparationError)
    s0 = check_positive("sigmas", sigmas, error=SeparationError) / math.pi
    return render_templates(D, n_bins, lam, s0, check_positive("q", q, error=SeparationError))


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
    D = check_dictionary(D)
    err = SeparationError
    tone_num = check_int("tone_num", tone_num, 1, error=err)
    C = D.shape[1]
    max_iter = 2 * tone_num * C if max_iter is None else check_int("max_iter", max_iter, 1, error=err)
    beta = check_positive("beta", beta, error=err)
    if beta > 1:
        raise SeparationError(f"beta must be in (0, 1], got {beta!r}")
    p = check_positive("p", p, error=err)
    q = check_positive("q", q, error=err)
    fmin, fmax = check_range(fmin, fmax)
    s0 = check_positive("sigmas", sigmas, error=err) / math.pi
    fit_iter = check_int("fit_iter", fit_iter, 1, error=err)
    lam = log_axis_lambda(Y.shape[0], fmin, fmax)
    templates = render_templates(D, Y.shape[0], lam, s0, q)
    T = Y.shape[1]
    width = tone_num * C
    A = np.zeros((T, width))
    MU = np.full((T, width), np.nan)
    SIG = np.zeros((T, width))
    B = np.zeros((T, width))
    CLS = np.full((T, width), -1, dtype=np.int64)
    use_fft, spectra, norms2 = fft_templates(templates, Y.shape[0])
    run_threaded(pursue_frames_into, T, Y, D, templates, use_fft, spectra, norms2, lam, s0, tone_num, max_iter,
                 beta, p, q, fit_iter, float(ftol), float(gtol), A, MU, SIG, B, CLS)
    return {"a": A, "mu": MU, "sigma": SIG, "b": B, "instrument": CLS}


def check_dictionary(D) -> np.ndarray:
    """A dictionary ``(K, C)`` with finite entries in ``[0, 1]`` and no all-zero column, as C-ordered float64.

    Raises
    ------
    SeparationError
        For another shape or kind, values outside ``[0, 1]`` or an all-zero column.
    """
    arr = check_array("D", D, ndim=2, finite=False, what="dictionary (K, C)", error=SeparationError)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise SeparationError(
            f"D must hold finite values in [0, 1], got range [{float(np.nanmin(arr))!r}, {float(np.nanmax(arr))!r}]"
        )
    if np.any(arr.max(axis=0) == 0):
        raise SeparationError(f"D has an all-zero column: {np.flatnonzero(arr.max(axis=0) == 0).tolist()}")
    return arr
