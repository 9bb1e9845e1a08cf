"""Gain-only, whole-signal BSS Eval (Musisep's measure, dictsep notes section 5.1)."""

import itertools
import json
import warnings

import numpy as np
import pytest

from sepkit import AudioSignal, EvaluationError
from sepkit.evaluation.bss_eval_gain import BSS_EVAL_GAIN_KEYS, bss_eval_gain
from sepkit.evaluation.scale_invariant import scale_invariant


def _orthonormal(n_vectors, n_samples, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n_samples, n_vectors)))
    return q.T


def _musisep_measures(synth, orig):
    """Plain re-statement of the notes' definitions (unit-norm references, QR projection),
    for every (reference j, estimate k) pair; SAR per estimate."""
    orig = orig / np.linalg.norm(orig, axis=1, keepdims=True)
    q, _ = np.linalg.qr(orig.T)
    n_ref, n_est = orig.shape[0], synth.shape[0]
    sdr, sir, sar = np.zeros((n_ref, n_est)), np.zeros((n_ref, n_est)), np.zeros(n_est)
    for k in range(n_est):
        proj = q @ (q.T @ synth[k])
        sar[k] = 10 * np.log10(np.sum(proj**2) / (np.sum((synth[k] - proj) ** 2) + 1e-40))
        for j in range(n_ref):
            target = (synth[k] @ orig[j]) * orig[j]
            sdr[j, k] = 10 * np.log10(np.sum(target**2) / (np.sum((synth[k] - target) ** 2) + 1e-40))
            sir[j, k] = 10 * np.log10(np.sum(target**2) / (np.sum((proj - target) ** 2) + 1e-40))
    return sdr, sir, sar


def test_hand_checked_values():
    # s1, s2 and the noise n are orthonormal: for estimate 2 s1 + 0.5 s2 + 0.1 n of s1,
    # s_target = 2 s1, e_interf = 0.5 s2, e_artif = 0.1 n.
    s1, s2, n, m = _orthonormal(4, 2000)
    refs = np.stack([3.0 * s1, -0.7 * s2])  # the references' scale does not matter
    ests = np.stack([2.0 * s1 + 0.5 * s2 + 0.1 * n, 0.2 * s1 - 1.5 * s2 + 0.3 * m])
    scores = bss_eval_gain(refs, ests)
    sdr, sir, sar = (scores.values[k][:, 0] for k in BSS_EVAL_GAIN_KEYS)
    # Reference 1: 4 / (0.25 + 0.01), 4 / 0.25, (4 + 0.25) / 0.01
    assert sdr[0] == pytest.approx(10 * np.log10(4 / 0.26), abs=1e-9)
    assert sir[0] == pytest.approx(10 * np.log10(16.0), abs=1e-9)
    assert sar[0] == pytest.approx(10 * np.log10(425.0), abs=1e-9)
    # Reference 2: 2.25 / (0.04 + 0.09), 2.25 / 0.04, (2.25 + 0.04) / 0.09
    assert sdr[1] == pytest.approx(10 * np.log10(2.25 / 0.13), abs=1e-9)
    assert sir[1] == pytest.approx(10 * np.log10(2.25 / 0.04), abs=1e-9)
    assert sar[1] == pytest.approx(10 * np.log10(2.29 / 0.09), abs=1e-9)
    assert scores.axis == "signal" and scores.values["SDR"].shape == (2, 1)
    json.dumps(scores.to_dict(), allow_nan=False)


def test_hand_checked_values_with_correlated_references():
    # s2 = s1 + t with s1, t orthonormal: the projection is onto span{s1, t}.
    s1, t, n = _orthonormal(3, 1000, seed=1)
    refs = np.stack([s1, s1 + t])
    a, b, c = 1.0, 0.5, 0.2
    est = a * s1 + b * t + c * n  # of reference 1: target a s1, interference b t
    got = bss_eval_gain(refs, np.stack([est, refs[1]])).values
    assert got["SDR"][0, 0] == pytest.approx(10 * np.log10(a**2 / (b**2 + c**2)), abs=1e-9)
    assert got["SIR"][0, 0] == pytest.approx(10 * np.log10(a**2 / b**2), abs=1e-9)
    assert got["SAR"][0, 0] == pytest.approx(10 * np.log10((a**2 + b**2) / c**2), abs=1e-9)


def test_matches_the_plain_definitions_and_musisep_permutation():
    rng = np.random.default_rng(4)
    refs = rng.standard_normal((3, 5000)) * np.array([[1.0], [0.3], [2.0]])
    mixing = np.eye(3) + 0.15 * rng.standard_normal((3, 3))
    ests = (mixing @ refs + 0.1 * rng.standard_normal((3, 5000)))[[1, 2, 0]]
    sdr, sir, sar = _musisep_measures(ests, refs)
    # Musisep: every permutation, keep the largest SIR sum.
    best = max(itertools.permutations(range(3)), key=lambda p: sir[np.arange(3), list(p)].sum())
    scores = bss_eval_gain(refs, ests, compute_permutation=True)
    assert tuple(scores.assignment) == best == (2, 0, 1)
    a = scores.assignment
    np.testing.assert_allclose(scores.values["SDR"][:, 0], sdr[np.arange(3), a], rtol=0, atol=1e-9)
    np.testing.assert_allclose(scores.values["SIR"][:, 0], sir[np.arange(3), a], rtol=0, atol=1e-9)
    np.testing.assert_allclose(scores.values["SAR"][:, 0], sar[a], rtol=0, atol=1e-9)
    # Without permutation estimate j goes with reference j.
    plain = bss_eval_gain(refs, ests)
    np.testing.assert_allclose(plain.values["SIR"][:, 0], np.diag(sir), atol=1e-9)


def test_permutation_with_more_estimates_than_references():
    rng = np.random.default_rng(5)
    refs = rng.standard_normal((2, 1, 3000))
    mixed = refs[0] + refs[1] + rng.standard_normal((1, 3000))  # about 0 dB SIR for both
    ests = np.stack([mixed, refs[1] + 0.1 * refs[0], refs[0] + 0.05 * refs[1]])
    scores = bss_eval_gain(refs, ests, compute_permutation=True)
    assert scores.assignment.tolist() == [2, 1] and scores.info["n_estimates"] == 3


def test_sdr_and_sir_equal_the_scale_invariant_ones_without_mean_removal():
    rng = np.random.default_rng(6)
    refs = rng.standard_normal((3, 1, 2000)) + 0.3
    ests = refs + 0.4 * rng.standard_normal(refs.shape) + 0.2 * refs[[1, 2, 0]]
    gain = bss_eval_gain(refs, ests).values
    si = scale_invariant(refs, ests, zero_mean=False).values
    np.testing.assert_allclose(gain["SDR"], si["SI-SDR"], atol=1e-9)
    np.testing.assert_allclose(gain["SIR"], si["SI-SIR"], atol=1e-9)
    assert np.all(gain["SAR"] > si["SI-SAR"])  # the whole projection in the numerator


def test_channels_are_flattened():
    rng = np.random.default_rng(7)
    refs = rng.standard_normal((2, 2, 1000))
    ests = refs + 0.3 * rng.standard_normal(refs.shape)
    ests[0, 1] *= 4.0  # a different gain per channel is distortion for one shared gain
    stereo = bss_eval_gain(refs, ests)
    flat = bss_eval_gain(refs.reshape(2, 1, -1), ests.reshape(2, 1, -1))
    for key in BSS_EVAL_GAIN_KEYS:
        np.testing.assert_allclose(stereo.values[key], flat.values[key], atol=1e-12)
    assert stereo.values["SDR"].shape == (2, 1)
    assert stereo.info["flatten"] == "channels and samples"


def test_perfect_estimate_is_large_but_finite_by_the_guard():
    rng = np.random.default_rng(8)
    refs = rng.standard_normal((2, 1, 500))
    scores = bss_eval_gain(refs, refs.copy()).values
    assert np.all(scores["SDR"] > 300) and np.all(np.isfinite(scores["SDR"]))


def test_signals_and_sample_rate():
    rng = np.random.default_rng(9)
    refs = [AudioSignal(x, 22050) for x in rng.standard_normal((2, 1, 400))]
    ests = [AudioSignal(r.audio_data * 0.5 + rng.standard_normal(400) * 0.1, 22050) for r in refs]
    scores = bss_eval_gain(refs, ests, 22050)
    assert scores.info["sample_rate"] == 22050
    with pytest.raises(EvaluationError):
        bss_eval_gain(refs, ests, 44100)


def test_silent_reference_and_estimate_give_nan_with_a_warning():
    rng = np.random.default_rng(10)
    refs = rng.standard_normal((3, 1, 500))
    ests = refs + 0.1 * rng.standard_normal(refs.shape)
    refs[1] = 0.0
    ests[2] = 0.0
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        scores = bss_eval_gain(refs, ests).values
    messages = [str(w.message) for w in record]
    assert all(issubclass(w.category, RuntimeWarning) for w in record)
    assert any("silent reference" in m for m in messages) and any("silent estimate" in m for m in messages)
    assert not any("invalid value" in m or "divide" in m for m in messages)
    for v in scores.values():
        assert np.isfinite(v[0, 0]) and np.isnan(v[1, 0]) and np.isnan(v[2, 0])


def test_duplicates_warn_and_duplicate_references_are_handled():
    rng = np.random.default_rng(11)
    refs = rng.standard_normal((2, 1, 500))
    ests = refs + 0.1 * rng.standard_normal(refs.shape)
    with pytest.warns(UserWarning, match="identical"):
        bss_eval_gain(refs, ests[[0, 0]])
    same = refs[[0, 0]]
    scores = bss_eval_gain(same, ests).values
    assert all(np.all(np.isfinite(v)) for v in scores.values())
    # The span is one-dimensional: no interference, artifacts = everything off s_0.
    assert np.all(scores["SIR"] > 300)
    sdr, _, sar = _musisep_measures(ests[:, 0], refs[[0], 0])
    assert scores["SDR"][0, 0] == pytest.approx(sdr[0, 0], abs=1e-9)
    np.testing.assert_allclose(scores["SAR"][:, 0], sar, atol=1e-9)


@pytest.mark.parametrize(
    "refs, ests",
    [
        (np.zeros((2, 1, 10)), np.zeros((1, 1, 10))),
        (np.zeros((2, 1, 10)), np.zeros((2, 1, 9))),
        (np.zeros((2, 1, 10)), np.zeros((2, 2, 10))),
        (np.full((1, 1, 10), np.inf), np.zeros((1, 1, 10))),
        ([], []),
    ],
)
def test_bad_input_raises(refs, ests):
    with pytest.raises(EvaluationError):
        bss_eval_gain(refs, ests)
