"""Gain-only, whole-signal SDR/SIR/SAR: the measure of the dictionary-separation papers.

Musisep (Schulze and King, the reference for :class:`~sepkit.separation.DictSep`) reports
a small re-implementation of BSS Eval v2 (Vincent et al. 2006) whose distortion "filter"
is a single time-invariant gain per source (``filters_len = 1``, zero lag only), computed
once over the whole signal. Its numbers are **not** comparable with BSS Eval v3/v4
(mir_eval, museval: 512-tap filters, framewise in v4); use this variant to compare with
the papers that used it.
"""

from __future__ import annotations

import warnings

import numpy as np

from .common import Scores, as_sources, assign, check_pair, check_sample_rate, normalise_levels, warn_duplicates
from ._gram import _GramEngine, _pairs, _sample_rate

__all__ = ["BSS_EVAL_GAIN_KEYS", "bss_eval_gain"]

#: The keys of :func:`bss_eval_gain`.
BSS_EVAL_GAIN_KEYS = ("SDR", "SIR", "SAR")

#: Added to every denominator, as in Musisep's ``performance.py``.
GUARD = 1e-40


def _db(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10 * np.log10(num / (den + GUARD))


def bss_eval_gain(
    references, estimates, sample_rate: int | None = None, *, compute_permutation: bool = False
) -> Scores:
    """Gain-only, whole-signal BSS Eval (SDR, SIR, SAR), as in Musisep.

    Each signal is flattened over channels and samples (one vector per source, one gain
    for all channels). With ``s_j`` the references normalised to unit norm, an estimate
    ``s_hat`` scored against ``s_j``, and ``P`` the orthogonal projection onto
    ``span{s_1 .. s_S}`` (all references)::

        s_target = <s_hat, s_j> s_j
        e_interf = P s_hat - s_target
        e_artif  = s_hat - P s_hat
        SDR = 10 log10 ||s_target||^2 / (||s_hat - s_target||^2 + 1e-40)
        SIR = 10 log10 ||s_target||^2 / (||e_interf||^2 + 1e-40)
        SAR = 10 log10 ||P s_hat||^2  / (||e_artif||^2 + 1e-40)

    No mean is removed. SDR equals the SI-SDR of the flattened signals and SIR equals
    their SI-SIR (see :func:`~sepkit.evaluation.scale_invariant.scale_invariant` with
    ``zero_mean=False``); SAR differs from SI-SAR (its numerator is the whole
    projection ``||P s_hat||^2``, not ``||s_target||^2``).

    Parameters
    ----------
    references : list of AudioSignal, or array_like, shape (n_sources, n_channels, n_samples)
        The true sources (``(n_sources, n_samples)`` for mono).
    estimates : list of AudioSignal, or array_like, shape (n_estimates, n_channels, n_samples)
        At least as many estimates as references, same channels and length (crop or
        pad them to the mixture's length first, as Musisep does).
    sample_rate : int, optional
        Sample rate in Hz, recorded in ``info``; must agree with the signals' rates.
    compute_permutation : bool
        Choose the estimates that maximise the **sum of SIR** (Musisep's rule; here with
        the Hungarian algorithm on the pairwise SIR, which gives the same choice as
        Musisep's search over all permutations, and also works with more estimates than
        references). Otherwise reference ``j`` is scored against estimate ``j``.

    Returns
    -------
    Scores
        ``values['SDR' | 'SIR' | 'SAR']`` of shape ``(n_sources, 1)`` in dB,
        ``axis='signal'``, ``assignment``, and ``info`` (``metric``, ``sample_rate``,
        ``n_references``, ``n_estimates``, ``permutation``, ``permutation_key``,
        ``flatten``).

    Warns
    -----
    RuntimeWarning
        A reference or its estimate is all zeros: that reference's scores are NaN.
    UserWarning
        Two estimates are identical.

    Raises
    ------
    EvaluationError
        Empty, NaN/inf, mismatched or wrong-shape inputs, fewer estimates than
        references, or disagreeing sample rates.

    Notes
    -----
    The 1e-40 guard keeps a perfect estimate finite (about 400 dB above the signal
    energy in dB) where :func:`scale_invariant` gives ``inf``. Linearly dependent or
    duplicated references are handled with a pseudo-inverse of their Gram matrix.
    Musisep works on mono signals (it averages stereo input); pass mono downmixes for
    exact parity with its figures.
    """
    refs, rate_r = as_sources(references, "references")
    ests, rate_e = as_sources(estimates, "estimates")
    check_pair(refs, ests)
    rate = _sample_rate(check_sample_rate(sample_rate), rate_r, rate_e)
    normalise_levels(references=refs, estimates=ests)
    warn_duplicates(ests)
    S, E = refs.shape[0], ests.shape[0]
    Z = np.concatenate([refs.reshape(S, -1), ests.reshape(E, -1)])[None]  # (1, S + E, C * N)
    del refs, ests
    engine = _GramEngine(Z, S)

    if compute_permutation:
        assignment = assign(_pairwise_sir(engine, E)[0], maximize=True)
    else:
        assignment = np.arange(S)

    d = engine.decompose(S + assignment, projection=True)
    target = d["alpha"] ** 2 * d["rr"]
    values = {
        "SDR": _db(target, d["err_si"]),
        "SIR": _db(target, d["e_i"]),
        "SAR": _db(target + d["e_i"], d["e_a"]),
    }
    values = {k: v.T.copy() for k, v in values.items()}  # (S, 1)
    silent_ref = (d["rr"] == 0).T
    silent_est = (d["tt"] == 0).T & ~silent_ref
    for v in values.values():
        v[silent_ref | silent_est] = np.nan
    if silent_ref.any():
        warnings.warn(
            f"silent reference (all zeros): {_pairs(silent_ref)}: its scores are NaN", RuntimeWarning, stacklevel=2
        )
    if silent_est.any():
        warnings.warn(
            f"silent estimate (all zeros) for {_pairs(silent_est)}: its scores are NaN", RuntimeWarning, stacklevel=2
        )
    info = {
        "metric": "bss_eval_gain",
        "sample_rate": rate,
        "n_references": int(S),
        "n_estimates": int(E),
        "permutation": bool(compute_permutation),
        "permutation_key": "SIR",
        "flatten": "channels and samples",
    }
    return Scores(values=values, assignment=np.asarray(assignment, dtype=np.intp), axis="signal", info=info)


def _pairwise_sir(engine: _GramEngine, E: int) -> np.ndarray:
    """Gain-only SIR (dB) of every (reference, estimate) pair, shape (C, S, E); NaN for
    silent signals. It depends only on the pair, so the best total is a linear
    assignment."""
    S, G = engine.S, engine.gram
    j = np.arange(S)
    k = np.arange(S, S + E)
    rr = G[:, j, j]  # (C, S)
    ee = G[:, k, k]  # (C, E)
    re = G[:, :S][:, :, k]  # (C, S, E)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = re / rr[:, :, None]  # (C, S, E)
        # <r_m, e_jk> = <r_m, s_hat_k> - alpha_jk <r_m, s_j>: shape (C, S(m), S(j), E)
        P = re[:, :, None, :] - G[:, :S, :S, None] * alpha[:, None, :, :]
        P[:, j, j, :] = 0.0  # <s_j, e_jk> = 0 exactly by the choice of alpha
        e_i = engine.projected_energy(P)  # (C, S, E)
        sir = _db(alpha**2 * rr[:, :, None], e_i)
    sir[(rr[:, :, None] == 0) | (ee[:, None, :] == 0) | np.zeros_like(sir, dtype=bool)] = np.nan
    return sir
