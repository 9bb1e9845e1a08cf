"""Scale-invariant signal-to-distortion ratio (SI-SDR, Le Roux et al. 2019)."""

from __future__ import annotations

import warnings

import numpy as np

from ..core import AudioSignal, EvaluationError

__all__ = ["si_sdr", "si_sdr_signals"]


def si_sdr(reference, estimate, zero_mean: bool = True) -> np.ndarray:
    """Scale-invariant SDR in dB along the last axis.

    With ``alpha = <s, s_hat> / ||s||^2``::

        SI-SDR = 10 log10( ||alpha s||^2 / ||s_hat - alpha s||^2 )

    Parameters
    ----------
    reference, estimate : array_like, shape (..., n_samples)
        Real signals of the same shape (e.g. ``(n_sources, n_channels, n_samples)``).
    zero_mean : bool
        Remove the mean over time first (as nussl's ``BSSEvalScale``).

    Returns
    -------
    numpy.ndarray, shape (...)
        SI-SDR in dB. A silent reference gives NaN with a ``RuntimeWarning``; a perfect
        estimate gives ``inf``.

    Raises
    ------
    EvaluationError
        If the shapes differ, an array is empty, or a value is NaN or infinite.

    Examples
    --------
    >>> s = np.sin(np.linspace(0, 100, 1000))
    >>> round(float(si_sdr(s, 0.5 * s + 0.01 * np.cos(np.linspace(0, 77, 1000)))), 1)
    34.0
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape or reference.ndim == 0 or reference.shape[-1] == 0:
        raise EvaluationError(
            f"reference and estimate must have the same non-empty shape (..., n_samples), "
            f"got {reference.shape} and {estimate.shape}"
        )
    if not (np.all(np.isfinite(reference)) and np.all(np.isfinite(estimate))):
        raise EvaluationError("reference and estimate must not contain NaN or infinite values")
    if zero_mean:
        reference = reference - reference.mean(axis=-1, keepdims=True)
        estimate = estimate - estimate.mean(axis=-1, keepdims=True)
    energy = np.einsum("...n,...n->...", reference, reference)
    silent = energy == 0
    if np.any(silent):
        warnings.warn(
            f"{int(silent.sum())} silent reference signal(s): their SI-SDR is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
    alpha = np.einsum("...n,...n->...", reference, estimate) / np.where(silent, 1.0, energy)
    target = alpha[..., None] * reference
    error = estimate - target
    with np.errstate(divide="ignore"):
        ratio = 10 * np.log10(
            np.einsum("...n,...n->...", target, target) / np.einsum("...n,...n->...", error, error)
        )
    return np.where(silent, np.nan, ratio)


def si_sdr_signals(references, estimates) -> np.ndarray:
    """SI-SDR of each estimate against the reference at the same position, per channel.

    Parameters
    ----------
    references, estimates : list of AudioSignal
        Same number of signals, each pair of equal sample rate and shape.

    Returns
    -------
    numpy.ndarray, shape (n_sources, n_channels)
        SI-SDR in dB.

    Raises
    ------
    EvaluationError
        If the lists differ in length or a pair differs in rate or shape.
    """
    references, estimates = list(references), list(estimates)
    if len(references) != len(estimates) or not references:
        raise EvaluationError(
            f"need as many estimates as references (at least one), got {len(estimates)} and {len(references)}"
        )
    for j, (ref, est) in enumerate(zip(references, estimates)):
        if not isinstance(ref, AudioSignal) or not isinstance(est, AudioSignal):
            raise EvaluationError(f"pair {j}: references and estimates must be AudioSignals")
        if ref.sample_rate != est.sample_rate:
            raise EvaluationError(f"pair {j}: sample rates differ ({ref.sample_rate} and {est.sample_rate} Hz)")
        if ref.audio_data.shape != est.audio_data.shape:
            raise EvaluationError(
                f"pair {j}: shapes differ ({ref.audio_data.shape} and {est.audio_data.shape}, channels x samples)"
            )
    scores = [si_sdr(ref.audio_data, est.audio_data) for ref, est in zip(references, estimates)]
    if len({score.shape for score in scores}) != 1:
        raise EvaluationError("all references must have the same number of channels")
    return np.stack(scores)
