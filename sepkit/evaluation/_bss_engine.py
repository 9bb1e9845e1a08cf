"""The shared engine of BSS Eval v3 and v4: frames, per-frame energies of the projections,
silence policy, permutation and the packing of the scores.

See :mod:`sepkit.evaluation.bss_eval` for the method and the silence policy.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.fft

from ..core import EvaluationError
from ..core.validation import check_int, check_positive
from ..kernels.bss_eval import frame_energies, projection_energies
from ._bss_projection import _filters
from .common import as_sources, assign, check_pair, check_sample_rate, normalise_levels, silent_mask, warn_duplicates

def _weights(n_fft):
    n_freq = n_fft // 2 + 1
    weights = np.full(n_freq, 2.0 / n_fft)
    weights[0] = 1.0 / n_fft
    if n_fft % 2 == 0:
        weights[-1] = 1.0 / n_fft
    return weights


def _db(num, den):
    """10 log10(num / den) with ``den == 0`` giving +inf (mir_eval's ``_safe_db``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * np.log10(num / den)
    return np.where(den == 0, np.inf, out)


def _evaluate(references, estimates, window, hop, filters_len, framewise_filters, sources_mode, pairs, min_frames):
    """Scores of every (reference, estimate) pair in ``pairs``, per frame.

    Returns a dict of metric name to array (n_pairs, n_frames), the frame starts and the
    frame length in samples. Fewer than ``min_frames`` frames: one whole-signal frame.
    """
    n_src, _, n_samples = references.shape
    L = filters_len
    n_frames = (n_samples - window + hop) // hop if window < n_samples else 0
    if n_frames < max(min_frames, 1):
        starts = np.zeros(1, dtype=np.int64)
        length = n_samples
    else:
        starts = np.arange(n_frames, dtype=np.int64) * hop
        length = window
    n_frames = len(starts)

    used = np.unique(pairs[:, 1])
    position = np.full(estimates.shape[0], -1, dtype=np.int64)
    position[used] = np.arange(len(used))
    local_pairs = np.ascontiguousarray(np.stack([pairs[:, 0], position[pairs[:, 1]]], axis=1))
    ests = np.ascontiguousarray(estimates[used])

    # time-domain energies: silence and the images SDR (which needs no projection)
    ref_energy = np.empty((n_src, n_frames))
    est_energy = np.empty((len(used), n_frames))
    dist_energy = np.empty((len(pairs), n_frames))
    frame_energies(references, ests, local_pairs, starts, length, ref_energy, est_energy, dist_energy)

    whole_ref = silent_mask(references)
    whole_est = silent_mask(ests)
    frame_ref = (ref_energy == 0) & ~whole_ref[:, None]
    frame_est = (est_energy == 0) & ~whole_est[:, None]
    pair_dead = whole_ref[local_pairs[:, 0]] | whole_est[local_pairs[:, 1]]
    # frame rule: any (not wholly silent) reference silent, or the pair's estimate silent
    silent_frames = np.any(frame_ref, axis=0)[None, :] | frame_est[local_pairs[:, 1]]

    energies = np.full((len(pairs), n_frames, 6), np.nan)
    n_fft = scipy.fft.next_fast_len(length + L - 1, real=True)
    weights = _weights(n_fft)

    if not framewise_filters:
        taps_all, taps_own = _filters(references, ests, L, local_pairs)
        filt_all = scipy.fft.rfft(taps_all, n=n_fft, axis=-1, workers=-1)
        filt_own = scipy.fft.rfft(taps_own, n=n_fft, axis=-1, workers=-1)

    for t, start in enumerate(starts):
        live = ~silent_frames[:, t] & ~pair_dead
        if not np.any(live):
            continue
        seg = slice(start, start + length)
        ref_spec = scipy.fft.rfft(references[:, :, seg], n=n_fft, axis=-1, workers=-1)
        est_spec = scipy.fft.rfft(ests[:, :, seg], n=n_fft, axis=-1, workers=-1)
        frame_pairs = np.ascontiguousarray(local_pairs[live])
        if framewise_filters:
            taps_all, taps_own = _filters(references[:, :, seg], ests[:, :, seg], L, frame_pairs)
            filt_all = scipy.fft.rfft(taps_all, n=n_fft, axis=-1, workers=-1)
            filt_own = scipy.fft.rfft(taps_own, n=n_fft, axis=-1, workers=-1)
            own = filt_own
        else:
            own = np.ascontiguousarray(filt_own[live])
        out = np.empty((len(frame_pairs), 6))
        projection_energies(ref_spec, est_spec, filt_all, own, frame_pairs, weights, out)
        energies[live, t] = out

    n_silent = int(np.sum(silent_frames & ~pair_dead[:, None]))
    if np.any(pair_dead):
        warnings.warn(
            f"{int(whole_ref.sum())} reference(s) and {int(whole_est.sum())} estimate(s) are silent over the "
            "whole signal: their scores are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    if n_silent:
        warnings.warn(
            f"{int(np.any(silent_frames & ~pair_dead[:, None], axis=0).sum())} of {n_frames} frame(s) contain a "
            "silent reference or estimate: their scores are NaN",
            RuntimeWarning,
            stacklevel=3,
        )

    own, spat, interf, artif, proj, dist = np.moveaxis(energies, -1, 0)
    valid = ~silent_frames & ~pair_dead[:, None]
    values = {}
    if sources_mode:
        values["SDR"] = _db(own, dist)
    else:
        values["SDR"] = _db(ref_energy[local_pairs[:, 0]], dist_energy)
        values["ISR"] = _db(ref_energy[local_pairs[:, 0]], spat)
    values["SIR"] = _db(own, interf)
    values["SAR"] = _db(proj, artif)
    values = {key: np.where(valid, value, np.nan) for key, value in values.items()}
    est_frame_silent = np.zeros((estimates.shape[0], n_frames), dtype=bool)
    est_frame_silent[used] = frame_est
    return values, starts, length, est_frame_silent


def _run(references, estimates, sample_rate, window, hop, filters_len, framewise_filters, sources_mode,
         compute_permutation, version, min_frames=1):
    """Shared front end: validation, pairs, permutation, packing into Scores."""
    sample_rate = check_sample_rate(sample_rate)
    refs, ref_rate = as_sources(references, "references")
    ests, est_rate = as_sources(estimates, "estimates")
    check_pair(refs, ests)
    normalise_levels(references=refs, estimates=ests)
    if ref_rate is not None and est_rate is not None and ref_rate != est_rate:
        raise EvaluationError(f"references and estimates have different sample rates: {ref_rate} and {est_rate} Hz")
    rate = ref_rate or est_rate
    if sample_rate is not None:
        if rate is not None and sample_rate != rate:
            raise EvaluationError(f"sample_rate={sample_rate} Hz differs from the signals' {rate} Hz")
        rate = sample_rate
    filters_len = check_int("filters_len", filters_len, minimum=1, error=EvaluationError)
    window_samples, hop_samples, window_s, hop_s = _frames(window, hop, rate, refs.shape[-1])
    n_src, n_est = refs.shape[0], ests.shape[0]
    warn_duplicates(ests)
    if compute_permutation:
        pairs = np.array([(j, e) for j in range(n_src) for e in range(n_est)], dtype=np.int64)
    else:
        pairs = np.stack([np.arange(n_src), np.arange(n_src)], axis=1).astype(np.int64)
    values, starts, length, est_frame_silent = _evaluate(
        refs, ests, window_samples, hop_samples, filters_len, framewise_filters, sources_mode, pairs, min_frames
    )
    n_frames = values["SDR"].shape[1]
    if compute_permutation:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # all-NaN rows give NaN, the worst score for assign
            mean_sir = np.nanmean(values["SIR"], axis=1)
        matrix = mean_sir.reshape(n_src, n_est)
        assignment = assign(matrix)
        rows = np.arange(n_src) * n_est + assignment
        values = {k: v[rows] for k, v in values.items()}
    else:
        assignment = np.arange(n_src)
    # museval's frame rule: a frame with any silent scored estimate is NaN for every source
    silent_columns = np.any(est_frame_silent[assignment], axis=0)
    if np.any(silent_columns):
        values = {k: np.where(silent_columns[None, :], np.nan, v) for k, v in values.items()}
    info = {
        "version": version,
        "mode": "sources" if sources_mode else "images",
        "filters_len": filters_len,
        "framewise_filters": bool(framewise_filters),
        "sample_rate": rate,
        "window": window_s,
        "hop": hop_s,
        "window_samples": int(length),
        "hop_samples": int(hop_samples) if n_frames > 1 else None,
        "frame_starts": [int(s) for s in starts],
        "n_frames": int(n_frames),
        "permutation": "hungarian, mean SIR" if compute_permutation else "identity",
    }
    return values, assignment, info


def _frames(window, hop, rate, n_samples):
    """Window and hop in samples (and seconds when known) from seconds or samples.

    ``window``/``hop`` are either floats in seconds (needs ``rate``), ``None`` (whole
    signal) or tuples ``('samples', n)``.
    """

    def convert(value, name):
        if value is None:
            return n_samples, None
        if isinstance(value, tuple):
            samples = check_int(f"{name}_samples", value[1], minimum=1, error=EvaluationError)
            return samples, (samples / rate if rate else None)
        value = check_positive(f"{name} (seconds)", value, error=EvaluationError)
        if rate is None:
            raise EvaluationError(
                f"{name} is given in seconds: pass sample_rate (or AudioSignals) to convert it to samples"
            )
        samples = round(value * rate)
        if samples < 1:
            raise EvaluationError(f"{name}={value} s is shorter than one sample at {rate} Hz")
        return samples, value

    window_samples, window_s = convert(window, "window")
    hop_samples, hop_s = convert(hop, "hop")
    return window_samples, hop_samples, window_s, hop_s


def _window_arg(seconds, samples, name):
    if samples is not None:
        return ("samples", samples)
    return seconds


_COMMON_PARAMS = """references : list of AudioSignal or array_like
        Reference sources: AudioSignals of equal rate and shape, or an array of shape
        ``(n_sources, n_channels, n_samples)`` (or ``(n_sources, n_samples)`` for mono).
    estimates : list of AudioSignal or array_like
        Estimates, same channels and length, at least as many as references."""
