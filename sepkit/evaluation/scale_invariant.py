"""Scale-invariant metrics (SI-SDR and friends, Le Roux et al. 2019), with nussl's keys.

:func:`scale_invariant` computes nussl's ``BSSEvalScale`` keys per reference and channel;
:func:`si_sdr` and :func:`si_sdr_signals` are the plain SI-SDR of aligned pairs.

Every score is a ratio of energies of signals built from the references, the estimates
and the mixture. All those energies follow from inner products, so they are computed
from one Gram matrix per channel (a single BLAS product over references, estimates and
the mixture). Energies obtained by subtraction (``||s_hat - alpha s||^2 = ||s_hat||^2 -
<s, s_hat>^2 / ||s||^2`` ...) lose precision when the subtracted terms are close, i.e.
for very good estimates; wherever the relative cancellation exceeds ``1e3`` (scores
above about 30 dB) the pair is recomputed from the explicit residual signals, so every
score keeps the accuracy of the plain formula and an exact estimate gives ``inf``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..core import AudioSignal, EvaluationError
from ._gram import _db, _GramEngine, _mean_over_last, _pairs, _rows_for, _sample_rate, _zero_constant_rows
from .common import Scores, as_sources, assign, check_pair, check_sample_rate, normalise_levels, warn_duplicates

__all__ = ["SCALE_INVARIANT_KEYS", "scale_invariant", "si_sdr", "si_sdr_signals", "si_sdr_matched"]

#: The keys of :func:`scale_invariant`, in nussl's ``BSSEvalScale`` order.
SCALE_INVARIANT_KEYS = (
    "SI-SDR",
    "SI-SIR",
    "SI-SAR",
    "SD-SDR",
    "SNR",
    "SRR",
    "SI-SDRi",
    "SD-SDRi",
    "SNRi",
    "MIX-SI-SDR",
    "MIX-SD-SDR",
    "MIX-SNR",
)


# ----------------------------------------------------------------------------------------
# scale_invariant: parsing, the signal stack, the scores, the silence policy
# ----------------------------------------------------------------------------------------

_ESTIMATE_KEYS = ("SI-SDR", "SI-SIR", "SI-SAR", "SD-SDR", "SNR", "SRR", "SI-SDRi", "SD-SDRi", "SNRi")
_MIXTURE_KEYS = ("MIX-SI-SDR", "MIX-SD-SDR", "MIX-SNR", "SI-SDRi", "SD-SDRi", "SNRi")


def _parse_mixture(mixture, n_channels: int, n_samples: int) -> tuple[np.ndarray, int | None]:
    """The mixture as a float64 ``(1, n_channels, n_samples)`` array, and its sample rate.

    Raises
    ------
    EvaluationError
        For a non-numeric, NaN/inf or wrongly shaped mixture.
    """
    rate = None
    if isinstance(mixture, AudioSignal):
        mix, rate = as_sources(mixture, "mixture")
    else:
        try:
            arr = np.asarray(mixture, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise EvaluationError(
                f"mixture must be an AudioSignal or an array (n_channels, n_samples): {err}"
            ) from None
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2:
            raise EvaluationError(f"mixture must have shape (n_channels, n_samples), got {arr.shape}")
        mix, _ = as_sources(arr[None], "mixture")
    if mix.shape != (1, n_channels, n_samples):
        raise EvaluationError(
            f"mixture must have shape (n_channels, n_samples) = {(n_channels, n_samples)} like the references, "
            f"got {mix.shape[1:]}"
        )
    return mix, rate


def _gram_engine(refs: np.ndarray, ests: np.ndarray, mix: np.ndarray | None, zero_mean: bool) -> _GramEngine:
    """The Gram engine of references, estimates and mixture (or the sum of the references).

    Parameters
    ----------
    refs : numpy.ndarray, shape (S, C, N)
    ests : numpy.ndarray, shape (E, C, N)
    mix : numpy.ndarray, shape (1, C, N), or None
        None: the sum of the references stands for the mixture.
    zero_mean : bool
        Remove each row's mean over time; rows that were constant become exactly zero.

    Returns
    -------
    _GramEngine
        On ``Z`` of shape ``(C, S + E + 1, N)``: references, estimates, mixture
        (channel-major for BLAS).
    """
    S, C, N = refs.shape
    E = ests.shape[0]
    # The mean removal writes straight into Z.
    Z = np.empty((C, S + E + 1, N))
    means = np.zeros(Z.shape[:2])
    blocks = [(refs, slice(0, S)), (ests, slice(S, S + E))]
    if mix is not None:
        blocks.append((mix, slice(S + E, S + E + 1)))
    for block, rows in blocks:
        block = block.transpose(1, 0, 2)
        if zero_mean:
            means[:, rows] = block.mean(axis=-1)
            np.subtract(block, means[:, rows, None], out=Z[:, rows])
        else:
            Z[:, rows] = block
    if mix is None:
        np.sum(Z[:, :S], axis=1, out=Z[:, -1])
    engine = _GramEngine(Z, S)
    if zero_mean and _zero_constant_rows(Z, engine.energies, means):
        if mix is None:
            np.sum(Z[:, :S], axis=1, out=Z[:, -1])
        engine = _GramEngine(Z, S)
    return engine


def _metrics(d: dict, sir_sar: bool) -> dict:
    """dB scores ``(C, S)`` of one decomposition (:meth:`_GramEngine.decompose`)."""
    tgt = d["alpha"] ** 2 * d["rr"]
    out = {
        "SI-SDR": _db(tgt, d["err_si"]),
        "SNR": _db(d["rr"], d["err_sn"]),
        "SD-SDR": _db(tgt, d["err_sn"]),
        "SRR": _db(d["alpha"] ** 2, (d["alpha"] - 1.0) ** 2),
    }
    if sir_sar:
        out["SI-SIR"] = _db(tgt, d["e_i"])
        out["SI-SAR"] = _db(tgt, d["e_a"])
    return out


def _score_values(est: dict, mix_d: dict, compute_sir_sar: bool) -> dict:
    """Every key of :data:`SCALE_INVARIANT_KEYS` as an ``(S, C)`` array, improvements included."""
    m_est = _metrics(est, compute_sir_sar)
    m_mix = _metrics(mix_d, False)
    nan = np.full(est["rr"].shape, np.nan)
    values = {
        "SI-SDR": m_est["SI-SDR"],
        "SI-SIR": m_est.get("SI-SIR", nan),
        "SI-SAR": m_est.get("SI-SAR", nan),
        "SD-SDR": m_est["SD-SDR"],
        "SNR": m_est["SNR"],
        "SRR": m_est["SRR"],
        "MIX-SI-SDR": m_mix["SI-SDR"],
        "MIX-SD-SDR": m_mix["SD-SDR"],
        "MIX-SNR": m_mix["SNR"],
    }
    with np.errstate(invalid="ignore"):
        values["SI-SDRi"] = values["SI-SDR"] - values["MIX-SI-SDR"]
        values["SD-SDRi"] = values["SD-SDR"] - values["MIX-SD-SDR"]
        values["SNRi"] = values["SNR"] - values["MIX-SNR"]
    return {key: values[key].T.copy() for key in SCALE_INVARIANT_KEYS}  # (S, C)


def _silence_policy(values: dict, est: dict, mix_d: dict, zero_mean: bool, mixture_given: bool,
                    compute_sir_sar: bool) -> None:
    """Set the scores of silent references, estimates and mixtures to NaN (in place) and
    warn about them and about otherwise undefined scores (warnings point at the caller of
    :func:`scale_invariant`)."""
    silent_ref = (est["rr"] == 0).T
    silent_est = (est["tt"] == 0).T & ~silent_ref
    silent_mix = (mix_d["tt"] == 0).T & ~silent_ref
    expected_nan = silent_ref | silent_est | silent_mix
    for key in SCALE_INVARIANT_KEYS:
        values[key][silent_ref] = np.nan
        if key in _ESTIMATE_KEYS:
            values[key][silent_est] = np.nan
        if key in _MIXTURE_KEYS:
            values[key][silent_mix] = np.nan
    what = "after removing the mean, " if zero_mean else ""
    if silent_ref.any():
        warnings.warn(
            f"silent reference ({what}all zeros) at {_pairs(silent_ref)}: every score there is NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    if silent_est.any():
        warnings.warn(
            f"silent estimate ({what}all zeros) for {_pairs(silent_est)}: its scores there are NaN "
            "(MIX-* kept)",
            RuntimeWarning,
            stacklevel=3,
        )
    if silent_mix.any():
        warnings.warn(
            f"silent {'mixture' if mixture_given else 'sum of references'} ({what}all zeros) at "
            f"{_pairs(silent_mix)}: MIX-* scores and improvements there are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    undefined = {
        key: int(np.count_nonzero(np.isnan(v) & ~expected_nan))
        for key, v in values.items()
        if not (key in ("SI-SIR", "SI-SAR") and not compute_sir_sar)
    }
    undefined = {k: n for k, n in undefined.items() if n}
    if undefined:
        warnings.warn(
            f"undefined scores (0/0 or inf - inf, e.g. a perfect mixture) set to NaN: {undefined}",
            RuntimeWarning,
            stacklevel=3,
        )


def scale_invariant(
    references,
    estimates,
    sample_rate: int | None = None,
    *,
    mixture=None,
    compute_permutation: bool = False,
    compute_sir_sar: bool = True,
    zero_mean: bool = True,
) -> Scores:
    """Scale-invariant and scale-dependent SDR metrics with nussl's ``BSSEvalScale`` keys.

    Per reference ``s`` (channel by channel), its estimate ``s_hat``, all references
    ``R`` and ``alpha = <s, s_hat> / ||s||^2``::

        SI-SDR = 10 log10 ||alpha s||^2 / ||s_hat - alpha s||^2
        SNR    = 10 log10 ||s||^2       / ||s_hat - s||^2
        SD-SDR = 10 log10 ||alpha s||^2 / ||s_hat - s||^2
        SRR    = 10 log10 ||alpha s||^2 / ||alpha s - s||^2
        SI-SIR = 10 log10 ||alpha s||^2 / ||e_interf||^2,   e = s_hat - alpha s,
                 e_interf = R (R^T R)^+ R^T e   (projection of e onto the references)
        SI-SAR = 10 log10 ||alpha s||^2 / ||e - e_interf||^2
        MIX-SI-SDR, MIX-SD-SDR, MIX-SNR: the same with the mixture as the estimate
        SI-SDRi, SD-SDRi, SNRi: the estimate's score minus the MIX-* score

    Parameters
    ----------
    references : list of AudioSignal, or array_like, shape (n_sources, n_channels, n_samples)
        The true sources (``(n_sources, n_samples)`` for mono).
    estimates : list of AudioSignal, or array_like, shape (n_estimates, n_channels, n_samples)
        At least as many estimates as references, same channels and length.
    sample_rate : int, optional
        Sample rate in Hz, recorded in ``info``; must agree with the signals' rates.
    mixture : AudioSignal or array_like, shape (n_channels, n_samples), optional
        The real mixture for the improvement metrics. Without it the sum of the
        references is used, as nussl does (biased when the stems do not sum to the
        mixture, e.g. with noise or a missing stem). ``info['improvement_reference']``
        says which: ``'mixture'`` or ``'sum of references'``.
    compute_permutation : bool
        Find the estimate of each reference with the Hungarian algorithm on the
        pairwise SI-SDR (mean over channels); otherwise reference ``j`` is scored
        against estimate ``j``.
    compute_sir_sar : bool
        Compute SI-SIR and SI-SAR (otherwise they are NaN, as in nussl).
    zero_mean : bool
        Remove each signal's mean over time first (nussl's behaviour).

    Returns
    -------
    Scores
        ``values[key]`` of shape ``(n_sources, n_channels)`` in dB for the keys of
        :data:`SCALE_INVARIANT_KEYS`, ``axis='channel'``, ``assignment`` the estimate
        index of each reference, ``info`` with ``improvement_reference``,
        ``zero_mean``, ``compute_sir_sar``, ``sample_rate``, ``n_references``,
        ``n_estimates`` and ``permutation`` (True if the assignment was searched).

    Warns
    -----
    RuntimeWarning
        A reference, its estimate or the mixture is silent (all zeros, or constant with
        ``zero_mean``) in a channel: the affected scores of that reference and channel
        are NaN (all of them for a silent reference; all but MIX-* for a silent
        estimate; MIX-* and the improvements for a silent mixture). Also when a score is
        otherwise undefined (e.g. ``inf - inf`` in an improvement).
    UserWarning
        Two estimates are identical.

    Raises
    ------
    EvaluationError
        Empty, NaN/inf, mismatched or wrong-shape inputs, fewer estimates than
        references, or disagreeing sample rates.

    Notes
    -----
    A perfect estimate (``s_hat`` an exact multiple of ``s``) gives ``inf`` for SI-SDR,
    SI-SIR and SI-SAR, and ``s_hat == s`` also for SNR, SD-SDR and SRR; improvements are
    then ``inf`` too (or NaN with a warning if the mixture itself is perfect).
    SI-SIR needs the projection onto all references; duplicated or linearly dependent
    references are handled by a pseudo-inverse (eigenvalues of ``R^T R`` below 1e-12 of
    the largest are dropped).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> refs = rng.standard_normal((2, 1, 8000))
    >>> scores = scale_invariant(refs, refs + 0.1 * rng.standard_normal(refs.shape))
    >>> round(float(scores.values["SI-SDR"][0, 0]), 1)
    20.1
    >>> sorted(scores.values) == sorted(SCALE_INVARIANT_KEYS), scores.values["SI-SDR"].shape
    (True, (2, 1))
    """
    refs, rate_r = as_sources(references, "references")
    ests, rate_e = as_sources(estimates, "estimates")
    check_pair(refs, ests)
    S, C, N = refs.shape
    E = ests.shape[0]
    mix, rate_m = (None, None) if mixture is None else _parse_mixture(mixture, C, N)
    rate = _sample_rate(check_sample_rate(sample_rate), rate_r, rate_e, rate_m)
    normalise_levels(references=refs, estimates=ests, mixture=mix)
    warn_duplicates(ests)
    engine = _gram_engine(refs, ests, mix, zero_mean)
    del refs, ests, mix

    if compute_permutation:
        pairwise = _mean_over_last(engine.pairwise_si_sdr(S, E))
        assignment = assign(pairwise, maximize=True)
    else:
        assignment = np.arange(S)
    est = engine.decompose(_rows_for(assignment, S), projection=compute_sir_sar)
    mix_d = engine.decompose(np.full(S, S + E), projection=False)
    values = _score_values(est, mix_d, compute_sir_sar)
    _silence_policy(values, est, mix_d, zero_mean, mixture is not None, compute_sir_sar)

    info = {
        "metric": "scale_invariant",
        "improvement_reference": "mixture" if mixture is not None else "sum of references",
        "zero_mean": bool(zero_mean),
        "compute_sir_sar": bool(compute_sir_sar),
        "sample_rate": rate,
        "n_references": int(S),
        "n_estimates": int(E),
        "permutation": bool(compute_permutation),
    }
    return Scores(values=values, assignment=np.asarray(assignment, dtype=np.intp), axis="channel", info=info)


# ----------------------------------------------------------------------------------------
# Plain SI-SDR of aligned pairs
# ----------------------------------------------------------------------------------------


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
        SI-SDR in dB. A silent reference or a silent estimate gives NaN with a
        ``RuntimeWarning``; a perfect estimate gives ``inf``.

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
    try:
        reference = np.array(reference, dtype=np.float64)
        estimate = np.array(estimate, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise EvaluationError(f"reference and estimate must be numeric arrays (..., n_samples): {err}") from None
    if reference.shape != estimate.shape or reference.ndim == 0 or reference.shape[-1] == 0:
        raise EvaluationError(
            f"reference and estimate must have the same non-empty shape (..., n_samples), "
            f"got {reference.shape} and {estimate.shape}"
        )
    if not (np.all(np.isfinite(reference)) and np.all(np.isfinite(estimate))):
        raise EvaluationError("reference and estimate must not contain NaN or infinite values")
    # SI-SDR is unchanged by scaling the reference or the estimate: bring each signal to a
    # peak in [0.5, 1) (a power of two, exact) so no energy over- or underflows.
    for signal in (reference, estimate):
        peak = np.abs(signal).max(axis=-1, keepdims=True)
        exponent = np.frexp(np.where(peak > 0, peak, 1.0))[1]
        np.ldexp(signal, -exponent, out=signal)
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
    silent_estimate = ~silent & (np.einsum("...n,...n->...", estimate, estimate) == 0)
    if np.any(silent_estimate):
        warnings.warn(
            f"{int(silent_estimate.sum())} silent estimate signal(s): their SI-SDR is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
    alpha = np.einsum("...n,...n->...", reference, estimate) / np.where(silent, 1.0, energy)
    target = alpha[..., None] * reference
    error = estimate - target
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 10 * np.log10(
            np.einsum("...n,...n->...", target, target) / np.einsum("...n,...n->...", error, error)
        )
    return np.where(silent | silent_estimate, np.nan, ratio)


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


def si_sdr_matched(references, estimates) -> tuple[np.ndarray, np.ndarray]:
    """SI-SDR per reference after matching the estimates to the references (blind labels).

    Every (reference, estimate) pair is scored (SI-SDR averaged over channels) and the
    assignment with the largest total is kept (:func:`~sepkit.evaluation.assign`, the
    Hungarian algorithm), as blind separators return their sources in no particular order.

    Parameters
    ----------
    references, estimates : list of AudioSignal
        Same number of signals, all of one sample rate and shape.

    Returns
    -------
    scores : numpy.ndarray, shape (n_sources,)
        SI-SDR in dB of each reference against its matched estimate.
    assignment : numpy.ndarray of int, shape (n_sources,)
        ``assignment[i]`` is the index of the estimate matched to reference ``i``.

    Raises
    ------
    EvaluationError
        As :func:`si_sdr_signals`.
    """
    references, estimates = list(references), list(estimates)
    n = len(references)
    if len(estimates) != n:
        raise EvaluationError(f"need as many estimates as references, got {len(estimates)} and {n}")
    pairwise = np.stack([si_sdr_signals(references, [est] * n).mean(axis=1) for est in estimates], axis=1)
    assignment = assign(pairwise)
    return pairwise[np.arange(n), assignment], assignment
