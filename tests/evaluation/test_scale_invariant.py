import numpy as np
import pytest

from sepkit import AudioSignal, EvaluationError
from sepkit.evaluation import si_sdr, si_sdr_matched, si_sdr_signals


def _plain_si_sdr(ref, est):
    ref = ref - ref.mean()
    est = est - est.mean()
    target = (ref @ est) / (ref @ ref) * ref
    return 10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2))


def test_si_sdr_matches_the_plain_formula_and_is_scale_invariant():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 2, 500))
    est = ref + 0.3 * rng.standard_normal(ref.shape) + 0.2
    got = si_sdr(ref, est)
    assert got.shape == (3, 2)
    for j in range(3):
        for c in range(2):
            assert got[j, c] == pytest.approx(_plain_si_sdr(ref[j, c], est[j, c]), abs=1e-10)
    np.testing.assert_allclose(si_sdr(ref, 7.5 * est), got, atol=1e-10)


def test_silent_reference_gives_nan_with_a_warning():
    ref = np.zeros((2, 100))
    ref[1] = np.sin(np.arange(100))
    with pytest.warns(RuntimeWarning, match="silent"):
        out = si_sdr(ref, ref + 0.1)
    assert np.isnan(out[0]) and np.isfinite(out[1])


@pytest.mark.parametrize(
    "ref, est",
    [(np.zeros(4), np.zeros(5)), (np.zeros((2, 0)), np.zeros((2, 0))), (np.full(4, np.nan), np.zeros(4))],
)
def test_bad_arrays_raise(ref, est):
    with pytest.raises(EvaluationError):
        si_sdr(ref, est)


def test_signal_lists():
    a = AudioSignal(np.sin(np.arange(1000) * 0.1), 8000)
    b = AudioSignal(np.cos(np.arange(1000) * 0.37), 8000)
    out = si_sdr_signals([a, b], [a * 0.5 + b * 0.01, b])
    assert out.shape == (2, 1) and out[0, 0] > 30 and np.isinf(out[1, 0])
    with pytest.raises(EvaluationError):
        si_sdr_signals([a], [a, b])
    with pytest.raises(EvaluationError):
        si_sdr_signals([a], [a.resample(16000)])
    with pytest.raises(EvaluationError):
        si_sdr_signals([a], [a.truncate(500)])


# ----------------------------------------------------------------------------------------
# scale_invariant: nussl's BSSEvalScale keys
# ----------------------------------------------------------------------------------------

import json
import warnings

from sepkit.evaluation.scale_invariant import SCALE_INVARIANT_KEYS, scale_invariant


def _db(num, den):
    with np.errstate(divide="ignore"):
        return 10 * np.log10(num / den)


def _plain_pair(refs, j, est, mix):
    """nussl's formulas for reference j (rows of refs: all references of one channel),
    written out with explicit signals; SI-SIR through lstsq on the references."""
    s = refs[j]
    alpha = (s @ est) / (s @ s)
    target = alpha * s
    e = est - target
    coef = np.linalg.lstsq(refs.T, e, rcond=None)[0]
    e_interf = refs.T @ coef
    e_artif = e - e_interf
    out = {
        "SI-SDR": _db(np.sum(target**2), np.sum(e**2)),
        "SI-SIR": _db(np.sum(target**2), np.sum(e_interf**2)),
        "SI-SAR": _db(np.sum(target**2), np.sum(e_artif**2)),
        "SD-SDR": _db(np.sum(target**2), np.sum((est - s) ** 2)),
        "SNR": _db(np.sum(s**2), np.sum((est - s) ** 2)),
        "SRR": _db(np.sum(target**2), np.sum((target - s) ** 2)),
    }
    alpha_m = (s @ mix) / (s @ s)
    out["MIX-SI-SDR"] = _db(np.sum((alpha_m * s) ** 2), np.sum((mix - alpha_m * s) ** 2))
    out["MIX-SD-SDR"] = _db(np.sum((alpha_m * s) ** 2), np.sum((mix - s) ** 2))
    out["MIX-SNR"] = _db(np.sum(s**2), np.sum((mix - s) ** 2))
    out["SI-SDRi"] = out["SI-SDR"] - out["MIX-SI-SDR"]
    out["SD-SDRi"] = out["SD-SDR"] - out["MIX-SD-SDR"]
    out["SNRi"] = out["SNR"] - out["MIX-SNR"]
    return out


def _plain_scale_invariant(refs, ests, mixture=None, zero_mean=True):
    """Loop over references and channels; ests[j] is the estimate of refs[j]."""
    refs, ests = np.array(refs, float), np.array(ests, float)
    mix = refs.sum(axis=0) if mixture is None else np.array(mixture, float)
    if zero_mean:
        refs = refs - refs.mean(axis=-1, keepdims=True)
        ests = ests - ests.mean(axis=-1, keepdims=True)
        mix = mix - mix.mean(axis=-1, keepdims=True)
        if mixture is None:
            mix = refs.sum(axis=0)
    S, C, _ = refs.shape
    out = {k: np.zeros((S, C)) for k in SCALE_INVARIANT_KEYS}
    for j in range(S):
        for c in range(C):
            with np.errstate(all="ignore"):  # silent rows in some tests
                pair = _plain_pair(refs[:, c], j, ests[j, c], mix[c])
            for k, v in pair.items():
                out[k][j, c] = v
    return out


def _assert_close(got, want, keys=SCALE_INVARIANT_KEYS, atol=1e-9):
    for key in keys:
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=atol, err_msg=key)


def _workload(seed=0, S=3, C=2, N=3000, noise=0.3, leak=0.1):
    rng = np.random.default_rng(seed)
    refs = rng.standard_normal((S, C, N)) * rng.uniform(0.5, 2.0, (S, C, 1)) + 0.05
    mixing = np.eye(S) + leak * rng.standard_normal((S, S))
    ests = np.einsum("jk,kcn->jcn", mixing, refs) + noise * rng.standard_normal((S, C, N)) + 0.2
    return rng, refs, ests


def test_scale_invariant_keys_shapes_and_info():
    _, refs, ests = _workload()
    scores = scale_invariant(refs, ests, 8000)
    assert tuple(scores.values) == SCALE_INVARIANT_KEYS
    assert all(v.shape == (3, 2) for v in scores.values.values())
    assert scores.axis == "channel" and scores.assignment.tolist() == [0, 1, 2]
    assert scores.info["improvement_reference"] == "sum of references"
    assert scores.info["sample_rate"] == 8000 and scores.info["n_estimates"] == 3
    json.dumps(scores.to_dict(), allow_nan=False)


@pytest.mark.parametrize("zero_mean", [True, False])
@pytest.mark.parametrize("noise, leak", [(0.3, 0.1), (1.0, 0.5), (0.03, 0.01)])
def test_scale_invariant_matches_the_plain_formulas(zero_mean, noise, leak):
    _, refs, ests = _workload(noise=noise, leak=leak)
    got = scale_invariant(refs, ests, zero_mean=zero_mean).values
    _assert_close(got, _plain_scale_invariant(refs, ests, zero_mean=zero_mean))
    np.testing.assert_allclose(got["SI-SDR"], si_sdr(refs, ests, zero_mean=zero_mean), atol=1e-9)


def test_very_good_estimates_keep_full_precision():
    # 60-100 dB scores: the Gram shortcut would cancel; the explicit path takes over.
    rng, refs, _ = _workload()
    ests = refs * 1.3 + 1e-4 * rng.standard_normal(refs.shape)
    ests[1] = refs[1] + 1e-5 * rng.standard_normal(refs[1].shape) + 1e-6 * refs[0]
    got = scale_invariant(refs, ests).values
    assert np.all(got["SI-SDR"] > 60)
    _assert_close(got, _plain_scale_invariant(refs, ests))


def test_one_reference_and_a_real_mixture_match_the_plain_formulas():
    rng, refs, ests = _workload(S=1, C=1)
    mixture = refs[0] + 0.5 * rng.standard_normal(refs[0].shape)
    got = scale_invariant(refs, ests, mixture=mixture).values
    keys = [k for k in SCALE_INVARIANT_KEYS if k != "SI-SIR"]
    _assert_close(got, _plain_scale_invariant(refs, ests, mixture=mixture), keys)
    # No other reference: e is orthogonal to the only reference, so there is no
    # interference at all (the plain lstsq leaves a rounding residue of ~1e-32).
    assert np.all(np.isposinf(got["SI-SIR"]))


def test_scale_invariance():
    _, refs, ests = _workload()
    base = scale_invariant(refs, ests).values
    scaled = scale_invariant(refs, 3.7 * ests).values
    for key in ("SI-SDR", "SI-SIR", "SI-SAR", "SI-SDRi", "MIX-SI-SDR"):
        np.testing.assert_allclose(scaled[key], base[key], atol=1e-9, err_msg=key)
    assert not np.allclose(scaled["SD-SDR"], base["SD-SDR"])
    assert not np.allclose(scaled["SNR"], base["SNR"])
    refs_scaled = scale_invariant(0.25 * refs, ests).values  # everything but the mixture terms moves
    np.testing.assert_allclose(refs_scaled["SI-SDR"], base["SI-SDR"], atol=1e-9)


def test_improvement_against_the_real_mixture():
    rng, refs, ests = _workload()
    exact = refs.sum(axis=0)
    default = scale_invariant(refs, ests)
    same = scale_invariant(refs, ests, mixture=exact)
    assert same.info["improvement_reference"] == "mixture"
    _assert_close(same.values, default.values)
    noisy_mix = exact + 0.8 * rng.standard_normal(exact.shape)
    noisy = scale_invariant(refs, ests, mixture=noisy_mix)
    for key in ("MIX-SI-SDR", "MIX-SD-SDR", "MIX-SNR", "SI-SDRi", "SD-SDRi", "SNRi"):
        assert np.all(np.abs(noisy.values[key] - default.values[key]) > 0.1), key
    # The mixture is worse than the sum, so the improvements are larger.
    assert np.all(noisy.values["SI-SDRi"] > default.values["SI-SDRi"])
    for key in ("SI-SDR", "SI-SIR", "SI-SAR", "SD-SDR", "SNR", "SRR"):
        np.testing.assert_array_equal(noisy.values[key], default.values[key])
    _assert_close(noisy.values, _plain_scale_invariant(refs, ests, mixture=noisy_mix))
    signal_mix = AudioSignal(noisy_mix, 8000)
    as_signal = scale_invariant(refs, ests, 8000, mixture=signal_mix)
    _assert_close(as_signal.values, noisy.values, atol=0)


def test_audio_signal_inputs():
    _, refs, ests = _workload()
    r = [AudioSignal(x, 16000) for x in refs]
    e = [AudioSignal(x, 16000) for x in ests]
    scores = scale_invariant(r, e)
    assert scores.info["sample_rate"] == 16000
    _assert_close(scores.values, scale_invariant(refs, ests).values, atol=0)
    with pytest.raises(EvaluationError, match="disagree"):
        scale_invariant(r, e, 8000)


def test_permutation_recovers_a_shuffled_order_with_extra_estimates():
    rng, refs, ests = _workload(S=4)
    extra = rng.standard_normal((2,) + refs.shape[1:])
    order = np.array([3, 0, 5, 1, 4, 2])  # estimates 2 and 4 are noise
    pool = np.concatenate([ests, extra])[order]
    scores = scale_invariant(refs, pool, compute_permutation=True)
    expected = np.argsort(order)[:4]
    assert scores.assignment.tolist() == expected.tolist()
    assert scores.info["permutation"] is True and scores.info["n_estimates"] == 6
    _assert_close(scores.values, scale_invariant(refs, ests).values, atol=1e-12)
    # Without a permutation, estimate j is simply scored against reference j.
    assert scale_invariant(refs, pool).assignment.tolist() == [0, 1, 2, 3]


def test_pairwise_permutation_matches_brute_force_on_mean_si_sdr():
    import itertools

    rng = np.random.default_rng(3)
    refs = rng.standard_normal((3, 2, 400))
    ests = rng.standard_normal((4, 2, 400)) + 0.5 * refs[[2, 0, 1, 1]]
    got = scale_invariant(refs, ests, compute_permutation=True).assignment
    mean_si = si_sdr(*np.broadcast_arrays(refs[:, None], ests[None, :])).mean(axis=-1)
    best = max(itertools.permutations(range(4), 3), key=lambda p: mean_si[np.arange(3), list(p)].sum())
    assert tuple(got) == best


def test_perfect_estimate_gives_inf():
    _, refs, _ = _workload()
    scores = scale_invariant(refs, refs.copy()).values
    for key in ("SI-SDR", "SI-SIR", "SI-SAR", "SD-SDR", "SNR", "SRR", "SI-SDRi", "SNRi"):
        assert np.all(np.isposinf(scores[key])), key
    assert np.all(np.isfinite(scores["MIX-SI-SDR"]))
    halved = scale_invariant(refs, 0.5 * refs).values
    assert np.all(np.isposinf(halved["SI-SDR"])) and np.all(np.isfinite(halved["SNR"]))


def test_single_reference_mixture_is_perfect_so_improvements_are_nan_with_warning():
    _, refs, _ = _workload(S=1)
    with pytest.warns(RuntimeWarning, match="undefined"):
        scores = scale_invariant(refs, refs.copy())
    assert np.all(np.isnan(scores.values["SI-SDRi"])) and np.all(np.isposinf(scores.values["MIX-SI-SDR"]))


def test_silent_reference_gives_nan_and_a_warning_not_an_exception():
    _, refs, ests = _workload()
    refs[1] = 0.0
    refs[2, 1] = 0.75  # constant: silent once the mean is removed
    with pytest.warns(RuntimeWarning, match="silent reference") as record:
        scores = scale_invariant(refs, ests, compute_permutation=True)
    assert not any("invalid value" in str(w.message) or "divide" in str(w.message) for w in record)
    for key, v in scores.values.items():
        assert np.all(np.isnan(v[1])) and np.isnan(v[2, 1]), key
        assert np.all(~np.isnan(v[0])) and np.isfinite(v[2, 0]), key
    # In channel 1 only reference 0 is left: no interference (SI-SIR inf); the rest is
    # scored as if the silent references were not there (zero rows add nothing).
    assert np.isposinf(scores.values["SI-SIR"][0, 1])
    want = _plain_scale_invariant(refs[[0, 2]], ests[[0, 2]], mixture=refs.sum(axis=0))
    got = {k: v[[0, 2], 0] for k, v in scores.values.items()}
    _assert_close(got, {k: v[:, 0] for k, v in want.items()})
    # ... and the mixture (sum of references) of channel 1 is reference 0 itself.
    assert np.isposinf(scores.values["MIX-SI-SDR"][0, 1]) and np.isneginf(scores.values["SI-SDRi"][0, 1])
    # Without mean removal the constant reference channel counts.
    with pytest.warns(RuntimeWarning, match="silent reference"):
        raw = scale_invariant(refs, ests, zero_mean=False)
    assert np.isfinite(raw.values["SI-SDR"][2, 1])


def test_silent_estimate_gives_nan_but_keeps_the_mixture_scores():
    _, refs, ests = _workload()
    ests[0, 1] = 0.0
    with pytest.warns(RuntimeWarning, match="silent estimate"):
        scores = scale_invariant(refs, ests).values
    for key in ("SI-SDR", "SI-SIR", "SI-SAR", "SD-SDR", "SNR", "SRR", "SI-SDRi", "SD-SDRi", "SNRi"):
        assert np.isnan(scores[key][0, 1]) and np.isfinite(scores[key][0, 0]), key
    for key in ("MIX-SI-SDR", "MIX-SD-SDR", "MIX-SNR"):
        assert np.all(np.isfinite(scores[key])), key


def test_silent_mixture_channel():
    _, refs, ests = _workload()
    mixture = refs.sum(axis=0)
    mixture[1] = 0.0
    with pytest.warns(RuntimeWarning, match="silent mixture"):
        scores = scale_invariant(refs, ests, mixture=mixture).values
    assert np.all(np.isnan(scores["SI-SDRi"][:, 1])) and np.all(np.isfinite(scores["SI-SDR"]))


def test_duplicate_estimates_warn_and_duplicate_references_are_projected_robustly():
    _, refs, ests = _workload()
    twice = ests.copy()
    twice[2] = twice[0]
    with pytest.warns(UserWarning, match="identical"):
        scale_invariant(refs, twice)
    same_refs = refs.copy()
    same_refs[2] = same_refs[0]  # singular Gram matrix
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = scale_invariant(same_refs, ests).values
    assert all(np.all(np.isfinite(v)) for v in got.values())
    _assert_close(got, _plain_scale_invariant(same_refs, ests), atol=1e-8)


def test_compute_sir_sar_false():
    _, refs, ests = _workload()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = scale_invariant(refs, ests, compute_sir_sar=False)
    assert np.all(np.isnan(scores.values["SI-SIR"])) and np.all(np.isnan(scores.values["SI-SAR"]))
    np.testing.assert_array_equal(scores.values["SI-SDR"], scale_invariant(refs, ests).values["SI-SDR"])


@pytest.mark.parametrize(
    "refs, ests, kwargs",
    [
        (np.zeros((2, 1, 10)), np.zeros((1, 1, 10)), {}),  # fewer estimates
        (np.zeros((2, 1, 10)), np.zeros((2, 2, 10)), {}),  # channels differ
        (np.zeros((2, 1, 10)), np.zeros((2, 1, 11)), {}),  # lengths differ
        (np.full((1, 1, 10), np.nan), np.zeros((1, 1, 10)), {}),
        (np.zeros((0, 1, 10)), np.zeros((0, 1, 10)), {}),
        (np.ones((1, 1, 10)), np.ones((1, 1, 10)), {"mixture": np.ones((2, 10))}),
        (np.ones((1, 1, 10)), np.ones((1, 1, 10)), {"mixture": np.ones((1, 1, 1, 10))}),
        (np.ones((1, 1, 10)), np.ones((1, 1, 10)), {"mixture": np.full((1, 10), np.inf)}),
        (np.ones((1, 1, 10)), np.ones((1, 1, 10)), {"mixture": "mix"}),
        (np.ones((1, 1, 10)), np.ones((1, 1, 10)), {"mixture": AudioSignal(np.ones((1, 10)), 8000), "sample_rate": 1}),
    ],
)
def test_scale_invariant_bad_input_raises(refs, ests, kwargs):
    with pytest.raises(EvaluationError):
        scale_invariant(refs, ests, **kwargs)


def test_si_sdr_silent_estimate_is_nan_with_a_clear_warning():
    ref = np.sin(np.arange(200.0))[None].repeat(2, 0)
    est = ref.copy()
    est[1] = 0.0
    with pytest.warns(RuntimeWarning, match="silent estimate"):
        out = si_sdr(ref, est)
    assert np.isposinf(out[0]) and np.isnan(out[1])


def test_inputs_are_not_modified():
    _, refs, ests = _workload()
    r, e = refs.copy(), ests.copy()
    scale_invariant(refs, ests, compute_permutation=True)
    np.testing.assert_array_equal(refs, r)
    np.testing.assert_array_equal(ests, e)


def test_si_sdr_matched_finds_the_permutation():
    rng = np.random.default_rng(0)
    refs = [AudioSignal(rng.standard_normal((2, 800)), 8000) for _ in range(3)]
    noisy = [AudioSignal(r.audio_data + 0.1 * (k + 1) * rng.standard_normal((2, 800)), 8000)
             for k, r in enumerate(refs)]
    order = [2, 0, 1]
    scores, assignment = si_sdr_matched(refs, [noisy[j] for j in order])
    # reference i is matched to the shuffled position of its own noisy copy
    np.testing.assert_array_equal(assignment, [1, 2, 0])
    np.testing.assert_allclose(scores, si_sdr_signals(refs, noisy).mean(axis=1), rtol=1e-12)
    with pytest.raises(EvaluationError, match="as many estimates as references"):
        si_sdr_matched(refs, noisy[:2])
