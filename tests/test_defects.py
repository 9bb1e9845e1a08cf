"""Regression tests of issue 13's fuzzing defects A1-A6 and B1-B5, one test per defect.

Each test runs the reproducer of the issue and asserts either the right finite value or a
``SepkitError`` subclass whose message names the bad value. Inputs stay tiny (numba
compiles nothing that the rest of the suite does not).
"""

import json
import threading
import warnings

import numpy as np
import pytest

import sepkit
from sepkit import (
    AudioSignal,
    AudioSignalError,
    DecompositionError,
    EvaluationError,
    STFTParams,
    STFTParamsError,
)
from sepkit.core.stft_params import MAX_SAMPLE_RATE, MAX_WINDOW_LENGTH, default_window_length
from sepkit.evaluation import (
    assign,
    bss_eval_gain,
    bss_eval_images,
    bss_eval_sources,
    bss_eval_v4,
    evaluate,
    scale_invariant,
    si_sdr,
)
from sepkit.evaluation.harness import result_path


def _finishes(function, seconds=60.0):
    """Run ``function`` in a thread; return ``(finished, result or exception)``: a guard
    against hangs (the thread is a daemon), not a timing assertion."""
    box = {}

    def target():
        try:
            box["value"] = function()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            box["value"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), box.get("value")


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(13)
    references = rng.standard_normal((2, 1, 2000))
    estimates = references + 0.3 * rng.standard_normal((2, 1, 2000))
    return references, estimates


def _signals(rng, level, n=4000, rate=8000):
    """Two noise sources of peak ``level`` (the mixture's), their mixture, as AudioSignals."""
    stems = rng.standard_normal((2, n)) * np.hanning(n)
    stems = stems / np.abs(stems.sum(axis=0)).max() * level
    mix = AudioSignal(audio_data_array=stems.sum(axis=0), sample_rate=rate)
    return mix, [AudioSignal(audio_data_array=s, sample_rate=rate) for s in stems]


# -- A: exceptions and hangs -------------------------------------------------------------------
def test_A1_bss_eval_v4_with_overflowing_range_returns_an_error_naming_the_levels():
    r = np.zeros((2, 1, 22))
    r[0, 0, 7] = 1e-10
    r[1, 0, 21] = -np.finfo(float).max

    def call():
        return sepkit.evaluation.bss_eval_v4(r, np.ones((2, 1, 22)), window=None, hop=None, filters_len=2)

    finished, outcome = _finishes(call)
    assert finished, "bss_eval_v4 hangs"
    assert isinstance(outcome, EvaluationError), outcome
    assert "1e-10" in str(outcome) and "1.8e+308" in str(outcome)


def test_A2_bss_eval_at_1e160_gives_the_scores_of_level_one(pair):
    r, e = pair
    for function in (bss_eval_sources, bss_eval_images):
        loud = function(r * 1e160, e * 1e160, filters_len=32).values
        plain = function(r, e, filters_len=32).values
        for key in plain:
            np.testing.assert_allclose(loud[key], plain[key], rtol=1e-9)
            assert np.all(np.isfinite(loud[key]))
    loud = bss_eval_v4(r * 1e160, e * 1e160, window=None, hop=None, filters_len=32).values["SDR"]
    plain = bss_eval_v4(r, e, window=None, hop=None, filters_len=32).values["SDR"]
    np.testing.assert_allclose(loud, plain, rtol=1e-9)
    assert 5 < plain.min() < 20


def test_A3_nmf_and_snpa_separate_a_mixture_scaled_by_1e155():
    from sepkit.separation import NMF, SNPA

    rng = np.random.default_rng(3)
    for level in (1e155, 1e160):
        mix, _ = _signals(rng, level)
        for separator in (NMF(mix, num_sources=2, n_components=4, n_iter=5, seed=0), SNPA(mix, num_sources=2)):
            estimates = separator()
            total = sum(est.audio_data for est in estimates)
            assert all(np.all(np.isfinite(est.audio_data)) for est in estimates)
            # soft masks sum to one: the estimates add up to the mixture
            np.testing.assert_allclose(total / level, mix.audio_data / level, atol=1e-9)
            assert np.abs(estimates[0].audio_data - mix.audio_data / 2).max() > 1e-3 * level


def test_A4_bad_metric_arguments_are_evaluation_errors_naming_the_value(pair):
    r, e = pair
    with pytest.raises(EvaluationError, match="numeric"):
        si_sdr([[1.0, 2.0], [1.0]], [[1.0, 2.0], [1.0, 2.0]])
    with pytest.raises(EvaluationError, match="abc"):
        si_sdr("abc", "abc")
    with pytest.raises(EvaluationError, match="abc"):
        assign("abc")
    with pytest.raises(EvaluationError, match="sample_rate.*nan"):
        bss_eval_v4(r, e, sample_rate=float("nan"))
    with pytest.raises(EvaluationError, match="sample_rate.*'x'"):
        scale_invariant(r, e, sample_rate="x")
    with pytest.raises(EvaluationError, match="sample_rate.* 0$"):
        bss_eval_v4(r, e, sample_rate=0)
    with pytest.raises(EvaluationError, match="window.*True"):
        bss_eval_v4(r, e, sample_rate=1000, window=True, hop=None)
    with pytest.raises(EvaluationError, match="filters_len.*True"):
        bss_eval_v4(r, e, window=None, hop=None, filters_len=True)
    with pytest.raises(EvaluationError, match="sample_rate.*-3"):
        bss_eval_gain(r, e, sample_rate=-3)


def test_A5_stft_sizes_are_bounded():
    with pytest.raises(STFTParamsError, match="window_length.*1099511627776"):
        STFTParams(2**40, 2**38, "hann")
    with pytest.raises(STFTParamsError, match="hop_length.*16777217"):
        STFTParams(None, 2**24 + 1)
    assert STFTParams(MAX_WINDOW_LENGTH, MAX_WINDOW_LENGTH // 2, "hann").window_length == 2**24
    # the largest sample rate gets a bounded default window, and a short signal a small STFT
    assert default_window_length(MAX_SAMPLE_RATE) == 2**20
    assert default_window_length(44100) == 2048
    signal = AudioSignal(audio_data_array=np.random.default_rng(0).standard_normal(400), sample_rate=MAX_SAMPLE_RATE)
    spec = signal.stft()
    assert spec.shape == (2**19 + 1, 2, 1) and np.all(np.isfinite(spec))


def _tiny_dataset(tmp_path):
    from sepkit.datasets import FolderDataset

    import soundfile

    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "item0"
    folder.mkdir(parents=True)
    stems = {name: 0.1 * rng.standard_normal(4000) for name in ("a", "b")}
    for name, audio in stems.items():
        soundfile.write(str(folder / f"{name}.wav"), audio, 8000, subtype="FLOAT")
    soundfile.write(str(folder / "mix.wav"), sum(stems.values()), 8000, subtype="FLOAT")
    return FolderDataset(tmp_path / "data")


def _mix_method(mix, sources):
    from sepkit.separation import MixAsEstimate

    return MixAsEstimate(mix, num_sources=len(sources))


@pytest.mark.parametrize("content", ["[]", '"ok"', "1", "null"])
def test_A6_a_result_file_that_is_not_an_object_is_redone_with_a_warning(tmp_path, content):
    dataset = _tiny_dataset(tmp_path)
    out = tmp_path / "out"
    path = result_path(out, "mix", "item0")
    (out / "mix").mkdir(parents=True)
    with open(path, "w") as file:
        file.write(content)
    with pytest.warns(RuntimeWarning, match="item0.json"):
        summary = evaluate(dataset, {"mix": _mix_method}, "scale_invariant", out)
    assert (summary.done, summary.skipped, summary.failed) == (1, 0, 0)
    record = json.load(open(path))
    assert record["status"] == "ok" and "scale_invariant" in record["metrics"]


# -- B: silent wrong results ---------------------------------------------------------------------
def test_B1_wiener_filter_outputs_sum_to_the_mixture_at_any_level():
    from sepkit.datasets import load_example
    from sepkit.separation import WienerFilter

    _, sources = load_example()
    stems = np.stack([s.audio_data[:, 20000:20000 + 22050] for s in sources.values()])
    ratios = []
    for level in (1.0, 8.5e-5, 8.5e-6, 8.5e-7, 1e-7):
        scaled = stems / np.abs(stems.sum(axis=0)).max() * level
        mix = AudioSignal(audio_data_array=scaled.sum(axis=0), sample_rate=44100)
        estimates = [AudioSignal(audio_data_array=s, sample_rate=44100) for s in scaled]
        outputs = WienerFilter(mix, estimates)()
        total = sum(out.audio_data for out in outputs)
        ratios.append(np.linalg.norm(total) / np.linalg.norm(mix.audio_data))
    # before the fix: 0.986 at 8.5e-5, 0.73 at 8.5e-6, 0.046 at 8.5e-7
    np.testing.assert_allclose(ratios, 1.0, atol=1e-6)


def test_B2_scale_invariant_metrics_are_finite_on_large_values(pair):
    r, e = pair
    plain = si_sdr(r, e)
    for level in (1e153, 1e200, 1e300, 1e-300):
        np.testing.assert_allclose(si_sdr(r * level, e * level), plain, rtol=1e-12)
    np.testing.assert_allclose(si_sdr(r, e * 1e250), plain, rtol=1e-12)  # each signal at its own level
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning blaming a "perfect mixture"
        loud = scale_invariant(r * 1e200, e * 1e200).values
        gain = bss_eval_gain(r * 1e200, e * 1e200).values
    plain_si = scale_invariant(r, e).values
    plain_gain = bss_eval_gain(r, e).values
    for key in plain_si:
        np.testing.assert_allclose(loud[key], plain_si[key], rtol=1e-9)
    for key in plain_gain:
        assert np.all(np.isfinite(gain[key]))
        np.testing.assert_allclose(gain[key], plain_gain[key], rtol=1e-9)


def test_B3_loud_input_to_wiener_and_ideal_mask_and_overflowing_samples():
    from sepkit.separation import IdealMask, WienerFilter

    rng = np.random.default_rng(5)
    for level in (1e155, 1e299):
        mix, sources = _signals(rng, level)
        for kwargs in ({}, {"power": 2}):
            estimates = IdealMask(mix, sources, **kwargs)()
            assert all(np.all(np.isfinite(est.audio_data)) for est in estimates)
            np.testing.assert_allclose(sum(est.audio_data for est in estimates) / level,
                                       mix.audio_data / level, atol=1e-9)
        estimates = WienerFilter(mix, sources)()
        assert all(np.all(np.isfinite(est.audio_data)) for est in estimates)
        total = sum(est.audio_data / level for est in estimates)
        np.testing.assert_allclose(np.linalg.norm(total), np.linalg.norm(mix.audio_data / level), rtol=1e-5)
    with pytest.raises(AudioSignalError, match="1e\\+308"):
        AudioSignal(audio_data_array=np.full(100, 1e308), sample_rate=8000)
    loud = AudioSignal(audio_data_array=np.full(100, 1e300), sample_rate=8000)
    assert np.all(np.isfinite(loud.stft(STFTParams(2048, 512, "hann"))))


def test_B4_nmf_family_at_tiny_levels():
    from sepkit.decomposition import nmf
    from sepkit.separation import NMF, NMFD, SNPA

    rng = np.random.default_rng(4)
    mix, _ = _signals(rng, 1e-310 * 2**20)  # denormal samples
    separator = NMF(mix, num_sources=2, n_components=4, n_iter=5, beta=0, init="random", seed=0)
    estimates = separator()
    assert np.all(np.isfinite(separator.W)) and np.all(np.isfinite(separator.H))
    assert np.all(np.isfinite(separator.costs))
    peak = np.abs(mix.audio_data).max()
    assert np.abs(estimates[0].audio_data - mix.audio_data / 2).max() > 1e-3 * peak  # was: the mixture halved
    np.testing.assert_allclose(sum(est.audio_data for est in estimates) / peak, mix.audio_data / peak, atol=1e-6)
    for sep in (SNPA(mix, num_sources=2), NMFD(mix, n_components=2, n_iter=5)):
        assert all(np.all(np.isfinite(est.audio_data)) for est in sep())
    mix, _ = _signals(rng, 1e-200)
    assert all(np.all(np.isfinite(est.audio_data)) for est in NMFD(mix, n_components=2, n_iter=5)())
    # the decomposition itself checks the level up front, naming it
    with pytest.raises(DecompositionError, match="V peaks at 1e-200"):
        nmf(np.full((4, 5), 1e-200), 2, n_iter=2)


def test_B5_a_result_without_metrics_is_redone_with_a_warning(tmp_path):
    dataset = _tiny_dataset(tmp_path)
    out = tmp_path / "out"
    evaluate(dataset, {"mix": _mix_method}, "scale_invariant", out)
    path = result_path(out, "mix", "item0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a complete result is kept silently
        assert evaluate(dataset, {"mix": _mix_method}, "scale_invariant", out).skipped == 1
    for broken in ({"status": "ok"}, {"status": "ok", "metrics": {}, "metric_names": ["scale_invariant"]},
                   {"status": "error"}, {"status": 3}):
        with open(path, "w") as file:
            json.dump(broken, file)
        with pytest.warns(RuntimeWarning, match="item0.json"):
            summary = evaluate(dataset, {"mix": _mix_method}, "scale_invariant", out)
        assert (summary.done, summary.skipped) == (1, 0)
        assert "scale_invariant" in json.load(open(path))["metrics"]


def test_fuzz_huge_integer_sample_rate_is_named_not_an_overflow():
    """Found by the campaign: an int beyond float's range raised OverflowError in the check."""
    refs = np.random.default_rng(0).standard_normal((2, 1, 400))
    with pytest.raises(EvaluationError, match=r"sample_rate must be a positive whole number of Hz, at most 2147483647"):
        sepkit.evaluation.bss_eval_v4(refs, refs, sample_rate=10**400, window=0.01)
    with pytest.raises(EvaluationError, match="at most 2147483647"):
        sepkit.evaluation.bss_eval_v4(refs, refs, sample_rate=2**31, window=0.01)
