"""Log-frequency spectrogram of DictSep by frequency-dependent smoothing ("mel" variant).

This is Musisep's ablation variant ``spect_method="mel"`` (``spect.logspect_mel`` with
``spect.winlog_spect``, used with ``basefreq = minfreq`` by the ``dictsep`` driver;
``notes/dictsep.md`` 3.4). Instead of the sparse pursuit of
:mod:`~sepkit.separation.dictsep.logspect`, every log bin is a Gaussian-weighted average of the
*power* spectrum ``|X|^2`` around its centre frequency, with a kernel that widens in proportion
to frequency, followed by a square root:

* log bin ``k`` is centred at ``f_k = fmin (fmax / fmin)^(k / M)`` Hz, i.e. at the continuous
  linear bin ``u_k = f_k / sr * 2H``; its stretch is ``s_k = f_k / fmin = u_k / u_min``
  (``fmin`` is the base frequency, so ``s_k >= 1``);
* ``s_k = 1`` (the lowest bin): the power of the nearest linear bin ``round(u_k)``;
* ``s_k > 1``: kernel width ``g_k = (sigmas / pi) sqrt(s_k^2 - 1) / sqrt(2)`` bins, support the
  linear bins ``round(u_k) + j`` with ``j = -w_k .. w_k - 1``, ``w_k = ceil(sigmas g_k)``, clipped
  to ``0 .. H-1``; weights ``exp(-(bin - u_k)^2 / (2 g_k^2))`` normalised to sum 1 over the
  clipped support, then multiplied by ``s_k``;
* ``Y[k, t] = sqrt(sum_bin weight_k(bin) |X[bin, t]|^2)``.

Why these numbers: the power peak of a stationary sinusoid is a Gaussian of width
``s0 / sqrt(2)`` (``s0 = sigmas / pi``, see :func:`~sepkit.separation.dictsep.frontend.peak_sigma`).
Smoothing widens it to ``s0 s_k / sqrt(2)`` and lowers it by ``1 / s_k``, which the factor ``s_k``
undoes; after the square root the peak has its original height and the linear width
``s0 s_k``, which grows like frequency and therefore has the constant width
``s0 * M / ln(fmax / fmin) / u_min`` on the log axis (:func:`mel_log_width`). The dictionary
stage must use that width in place of ``s0``. It is much larger than ``s0`` unless ``fmin`` is
high, so Musisep's drivers used ``fmin = 200`` Hz for this variant (7.6 log bins at 44.1 kHz
with the defaults), which is the default here.

The smoothing is a fixed sparse ``(M, H)`` matrix, built once per parameter set (and cached)
and applied to all frames with one sparse-dense product.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.sparse

from ...core.errors import SeparationError
from .frontend import SIGMAS, SPECT_HEIGHT
from ...core.validation import check_int, check_positive
from .logspect import FMAX, LOG_BINS, check_magnitude, check_range, log_axis_lambda

__all__ = [
    "MEL_FMIN",
    "log_spectrogram_mel",
    "mel_log_width",
    "mel_smoothing_matrix",
]

#: Default lowest (and base) frequency of the mel variant (Hz), as in Musisep's drivers.
MEL_FMIN = 200.0

_UNIT_STRETCH = 1.0 + 1e-12  # at or below this stretch a log bin takes the nearest linear bin


def _check_axis(sample_rate, n_bins, fmin, fmax, sigmas):
    sample_rate = check_positive("sample_rate", sample_rate, error=SeparationError)
    n_bins = check_int("n_bins", n_bins, 1, error=SeparationError)
    fmin, fmax = check_range(fmin, fmax)
    sigmas = check_positive("sigmas", sigmas, error=SeparationError)
    return sample_rate, n_bins, fmin, fmax, sigmas


def mel_log_width(
    n_bins: int = LOG_BINS,
    fmin: float = MEL_FMIN,
    fmax: float = FMAX,
    sample_rate: float = 44100.0,
    height: int = SPECT_HEIGHT,
    sigmas: float = SIGMAS,
) -> float:
    """Width (standard deviation, in log bins) of a spectral peak in :func:`log_spectrogram_mel`.

    ``s0 * stretch_mel`` with ``s0 = sigmas / pi`` and
    ``stretch_mel = n_bins / ln(fmax / fmin) / (fmin / sample_rate * 2 height)``: Musisep's
    ``stretch`` of the ``"mel"`` variant, the factor the dictionary stage applies to ``s0``.

    Parameters
    ----------
    n_bins : int
        Log bins ``M``.
    fmin, fmax : float
        Frequency range of the log axis (Hz), ``0 < fmin < fmax``; ``fmin`` is also the base
        frequency of the smoothing.
    sample_rate : float
        Sample rate of the analysed audio (Hz).
    height : int
        Linear bins ``H`` of the STFT (window and FFT length ``2 H``).
    sigmas : float
        Window parameter of the STFT.

    Returns
    -------
    float
        Peak width in log bins (about 7.58 for the defaults at 44.1 kHz).

    Raises
    ------
    SeparationError
        If a parameter is out of range.
    """
    sample_rate, n_bins, fmin, fmax, sigmas = _check_axis(sample_rate, n_bins, fmin, fmax, sigmas)
    height = check_int("height", height, 1, error=SeparationError)
    u_min = fmin / sample_rate * (2 * height)
    return sigmas / math.pi * log_axis_lambda(n_bins, fmin, fmax) / u_min


@functools.lru_cache(maxsize=8)
def _smoothing_matrix(height, sample_rate, n_bins, fmin, fmax, sigmas):
    s0 = sigmas / math.pi
    k = np.arange(n_bins)
    stretch = (fmax / fmin) ** (k / n_bins)
    centre = fmin * stretch / sample_rate * (2 * height)  # continuous linear bin of each log bin
    nearest = np.rint(centre)  # half to even, like numpy's round in the original
    smooth = stretch > _UNIT_STRETCH
    kernel_sigma = np.where(smooth, s0 * np.sqrt(np.maximum(stretch**2 - 1.0, 0.0)) / math.sqrt(2.0), 0.0)
    half = np.where(smooth, np.ceil(sigmas * kernel_sigma), 0.0)
    # support round(u) - w .. round(u) + w - 1 (the original's half-open window), or round(u) alone
    first = np.maximum(nearest - half, 0.0)
    stop = np.where(smooth, np.minimum(nearest + half, height), np.minimum(nearest + 1, height))
    counts = np.maximum(stop - first, 0.0).astype(np.int64)
    rows = np.repeat(k, counts)
    starts = np.cumsum(counts) - counts
    cols = np.arange(rows.size) - np.repeat(starts, counts) + np.repeat(first.astype(np.int64), counts)
    sig = np.repeat(np.where(smooth, kernel_sigma, 1.0), counts)
    dist = (cols - np.repeat(centre, counts)) / sig
    weights = np.where(np.repeat(smooth, counts), np.exp(-0.5 * dist * dist), 1.0)
    # normalise over the clipped support (as the original), then undo the height loss
    sums = np.bincount(rows, weights=weights, minlength=n_bins)
    scale = np.divide(stretch, sums, out=np.zeros(n_bins), where=sums > 0)
    weights = weights * np.where(smooth, scale, 1.0)[rows]
    matrix = scipy.sparse.csr_matrix((weights, (rows, cols)), shape=(n_bins, height))
    matrix.data.setflags(write=False)
    return matrix


def mel_smoothing_matrix(
    height: int,
    sample_rate: float,
    *,
    n_bins: int = LOG_BINS,
    fmin: float = MEL_FMIN,
    fmax: float = FMAX,
    sigmas: float = SIGMAS,
) -> scipy.sparse.csr_matrix:
    """Sparse matrix mapping a linear power spectrum to the smoothed log power spectrum.

    Row ``k`` holds the weights of log bin ``k`` described in the module docstring, so
    ``log_spectrogram_mel(mag, ...) == sqrt(mel_smoothing_matrix(...) @ mag**2)``. Log bins whose
    support lies entirely above the spectrum (``f_k`` well beyond ``sample_rate / 2``) are empty
    rows and give 0. Cached: do not modify the result.

    Parameters
    ----------
    height : int
        Linear bins ``H`` (>= 2); bin ``f`` is at ``f * sample_rate / (2 H)`` Hz.
    sample_rate : float
        Sample rate of the analysed audio (Hz).
    n_bins : int
        Log bins ``M``.
    fmin, fmax : float
        Frequency range of the log axis (Hz), ``0 < fmin < fmax``; ``fmin`` is the base frequency.
    sigmas : float
        Window parameter of the STFT; also the kernel truncation in kernel widths.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_bins, height)
        Non-negative float64 weights.

    Raises
    ------
    SeparationError
        If a parameter is out of range.
    """
    sample_rate, n_bins, fmin, fmax, sigmas = _check_axis(sample_rate, n_bins, fmin, fmax, sigmas)
    height = check_int("height", height, 2, error=SeparationError)
    return _smoothing_matrix(height, sample_rate, n_bins, fmin, fmax, sigmas)


def log_spectrogram_mel(
    magnitude,
    sample_rate: float,
    *,
    n_bins: int = LOG_BINS,
    fmin: float = MEL_FMIN,
    fmax: float = FMAX,
    sigmas: float = SIGMAS,
) -> np.ndarray:
    """Log-frequency spectrogram by frequency-dependent Gaussian smoothing of the power spectrum.

    Musisep's ablation variant ``"mel"`` of DictSep's log spectrogram (formula in the module
    docstring). Amplitude scale: a stationary sinusoid whose peak in ``|X|`` is a Gaussian of
    height ``a`` and width ``sigmas / pi`` bins gives a peak of height ``a`` (its power ``a^2``
    is preserved at the peak centre by the ``stretch`` factor, exactly in the continuum limit)
    and width :func:`mel_log_width` in log bins. Energies are not preserved. The map is linear
    in the power domain: ``Y(c |X|)^2 = c^2 Y(|X|)^2``.

    Parameters
    ----------
    magnitude : array_like, shape (H, n_frames)
        Non-negative magnitudes ``|X|`` of :func:`~sepkit.separation.dictsep.frontend.gaussian_stft`
        (mono); bin ``f`` is at ``f * sample_rate / (2 H)`` Hz.
    sample_rate : float
        Sample rate of the analysed audio (Hz).
    n_bins : int
        Log bins ``M`` (default 1024).
    fmin, fmax : float
        Frequency range of the log axis (Hz), ``0 < fmin < fmax``. ``fmin`` is also the base
        frequency below which no smoothing happens (default 200 Hz as in Musisep's drivers).
    sigmas : float
        Window parameter of the STFT (peak width ``sigmas / pi`` bins); kernels are cut at
        ``sigmas`` of their widths, as in the original.

    Returns
    -------
    numpy.ndarray, shape (n_bins, n_frames)
        Log-frequency spectrogram (float64, on the amplitude scale of ``magnitude``): log bin
        ``k`` is centred at ``fmin (fmax / fmin)^(k / n_bins)`` Hz.

    Raises
    ------
    SeparationError
        If ``magnitude`` is not a finite non-negative real 2-D array with ``H >= 2`` and at least
        one frame, or a parameter is out of range.
    """
    mag = check_magnitude(magnitude)
    sample_rate, n_bins, fmin, fmax, sigmas = _check_axis(sample_rate, n_bins, fmin, fmax, sigmas)
    matrix = _smoothing_matrix(mag.shape[0], sample_rate, n_bins, fmin, fmax, sigmas)
    power = matrix @ np.square(mag)
    return np.sqrt(np.maximum(power, 0.0))
