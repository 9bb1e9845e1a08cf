"""DictSep's model spectra and masks: the pursued tones drawn on the linear axis, their ratio masks.

Drivers of :mod:`sepkit.kernels.dictsep.synthesis` and of the library's one ratio-mask
kernel :func:`sepkit.kernels.masks.alpha_wiener`.
"""

from __future__ import annotations

import math

import numpy as np

from ...kernels.dictsep.synthesis import frame_losses, linear_frames
from ...kernels.threaded import run_threaded
from ...kernels.dictsep.tones import TRUNC
from ...kernels.masks import alpha_wiener
from .frontend import SIGMAS, SPECT_HEIGHT
from .logspect import FMAX, FMIN, LOG_BINS, log_axis_lambda

__all__ = ["linear_spectra", "ratio_masks", "max_tones", "total_loss"]


def max_tones(n_bins: int = LOG_BINS, sigmas: float = SIGMAS) -> int:
    """Tones a log frame can hold at distinct positions: ``n_bins // (2 ceil(6 s0) + 1)``.

    One tone's fundamental covers ``2 ceil(6 s0) + 1`` log bins at the start width
    ``s0 = sigmas / pi`` (25 bins by default), so the default 1024-bin axis holds at most
    40 tones per frame; :class:`~sepkit.separation.dictsep.DictSep` refuses
    ``num_sources * tone_num`` above that.
    """
    return int(n_bins) // (2 * math.ceil(TRUNC * sigmas / math.pi) + 1)


def _linear_stack(tones, D, sample_rate, height, n_bins, fmin, fmax, p, stretch) -> np.ndarray:
    """:func:`linear_spectra` as a C-ordered ``(I, n_frames, height)`` array."""
    D = np.ascontiguousarray(D, dtype=np.float64)
    A = np.ascontiguousarray(tones["a"], dtype=np.float64)
    out = np.zeros((D.shape[1], A.shape[0], int(height)))
    u_min = float(fmin) / float(sample_rate) * 2 * int(height)
    lam = log_axis_lambda(int(n_bins), float(fmin), float(fmax))
    run_threaded(linear_frames, A.shape[0], A, np.ascontiguousarray(tones["mu"], dtype=np.float64),
                 np.ascontiguousarray(np.asarray(tones["sigma"], dtype=np.float64) / float(stretch)),
                 np.ascontiguousarray(tones["b"], dtype=np.float64),
                 np.ascontiguousarray(tones["instrument"], dtype=np.int64), D, u_min, lam, float(p), out)
    return out


def linear_spectra(tones, D, sample_rate, *, height=SPECT_HEIGHT, n_bins=LOG_BINS, fmin=FMIN, fmax=FMAX,
                   p=1.0, stretch=1.0) -> np.ndarray:
    """Draw the pursued tones of every instrument on the linear frequency axis.

    Each tone ``(a, mu, sigma, b, i)`` of :func:`~sepkit.separation.dictsep.pursuit.pursue_frames`
    gets its linear-bin fundamental ``u = u_min exp(mu / lam)`` (``u_min = fmin / sr * 2H``,
    ``lam = n_bins / ln(fmax / fmin)``) and is drawn with its amplitude, width (in bins)
    and inharmonicity: harmonic ``h`` at ``u h sqrt(1 + b h^2)`` (``notes/dictsep.md`` 3.7).
    Frames run in parallel.

    Parameters
    ----------
    tones : dict of numpy.ndarray
        Output of :func:`~sepkit.separation.dictsep.pursuit.pursue_frames`, arrays of shape
        ``(n_frames, n_slots)``.
    D : array_like, shape (K, I)
        The dictionary used by the pursuit.
    sample_rate : float
        Sample rate in Hz.
    height : int
        Linear bins ``H`` of the STFT.
    n_bins, fmin, fmax : int, float, float
        The log axis of the pursuit.
    p : float
        Partial-addition exponent.
    stretch : float
        Ratio of a peak's width on the log axis to its width on the linear axis: 1 for the
        pursuit spectrogram, :func:`~sepkit.separation.dictsep.logspect_mel.mel_log_width`
        over ``sigmas / pi`` for the mel variant (Musisep's ``sigma_lin = sigma / stretch``).

    Returns
    -------
    numpy.ndarray, shape (height, n_frames, I)
        Non-negative model magnitude spectrogram of every instrument (float64, on the scale of
        ``|X|``); a transposed view of a C-ordered ``(I, n_frames, height)`` array, so
        ``models[..., i]`` is a Fortran-ordered ``(height, n_frames)`` array.
    """
    return np.transpose(_linear_stack(tones, D, sample_rate, height, n_bins, fmin, fmax, p, stretch), (2, 1, 0))


def _ratio_stack(stack: np.ndarray) -> np.ndarray:
    """Ratio masks of a C-ordered ``(I, ...)`` stack of models, same layout (the library's rule)."""
    flat = stack.reshape(stack.shape[0], -1)
    out = np.empty_like(flat)
    alpha_wiener(flat, 1.0, out)
    return out.reshape(stack.shape)


def ratio_masks(models) -> np.ndarray:
    """Ratio masks ``S_i / sum_j S_j`` of model spectra (sources on the last axis).

    The rule of the whole library (:func:`sepkit.kernels.masks.alpha_wiener` with
    ``alpha = 1``, as the NMF family): where every model of a bin is zero, each of the
    ``I`` sources gets ``1 / I``, so the masks sum to one in every bin and the estimates
    add up to the mixture. (Musisep divides by ``sum_j S_j + 1e-40``, which gives 0 for every
    source there; sepkit's DictSep did the same before issue 10.)

    Parameters
    ----------
    models : array_like, shape (..., I)
        Non-negative model magnitudes.

    Returns
    -------
    numpy.ndarray, same shape
        Masks in ``[0, 1]``, float64.
    """
    models = np.asarray(models, dtype=np.float64)
    stack = np.ascontiguousarray(np.moveaxis(models, -1, 0))
    return np.moveaxis(_ratio_stack(stack), 0, -1)


def total_loss(Y, tones, D, lam, p, q) -> float:
    """Sum over frames of the pursuit loss of ``tones`` on the log spectrogram ``Y`` (M, n_frames)."""
    out = np.empty(Y.shape[1])
    run_threaded(frame_losses, Y.shape[1], Y, tones["a"], tones["mu"], tones["sigma"], tones["b"],
                 tones["instrument"], np.ascontiguousarray(D), lam, p, q, out)
    return float(out.sum())
