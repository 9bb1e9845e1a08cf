"""nussl's benchmark tutorial lines, written with nussl's keywords and class names, run on sepkit.

Each test is the nussl line (in the comment) and its sepkit spelling, which differs only in
the import: ``nussl.AudioSignal`` -> ``sepkit.AudioSignal``,
``nussl.separation.benchmark.X`` -> ``sepkit.separation.X``,
``nussl.evaluation.BSSEvalScale(...).evaluate()`` -> ``sepkit.evaluation.scale_invariant``.
"""

import numpy as np
import pytest

import sepkit
from sepkit.separation import IdealBinaryMask, IdealMask, IdealRatioMask, WienerFilter


@pytest.fixture(scope="module")
def tutorial():
    """nussl's tutorial set-up: a mixture and a list of sources, all from arrays."""
    mix, sources = sepkit.datasets.load_example(stereo=True)
    n = int(1.5 * mix.sample_rate)
    sr = mix.sample_rate
    # mix = nussl.AudioSignal(audio_data_array=mix_array, sample_rate=sr)
    mix = sepkit.AudioSignal(audio_data_array=mix.audio_data[:, :n], sample_rate=sr)
    # sources_list = [nussl.AudioSignal(audio_data_array=s, sample_rate=sr, label=name) for ...]
    sources_list = [
        sepkit.AudioSignal(audio_data_array=s.audio_data[:, :n], sample_rate=sr, label=name)
        for name, s in sources.items()
    ]
    return mix, sources_list


def _check_estimates(estimates, mix, n_sources):
    assert len(estimates) == n_sources
    for est in estimates:
        assert isinstance(est, sepkit.AudioSignal)
        assert est.audio_data.shape == mix.audio_data.shape and est.sample_rate == mix.sample_rate
        assert np.all(np.isfinite(est.audio_data))


def test_audio_signal_from_a_file_with_nussl_keywords(tmp_path, tutorial):
    mix, _ = tutorial
    mix.write(tmp_path / "mix.wav", subtype="FLOAT")
    # signal = nussl.AudioSignal(path_to_input_file="mix.wav")
    signal = sepkit.AudioSignal(path_to_input_file=str(tmp_path / "mix.wav"))
    np.testing.assert_array_equal(signal.audio_data, mix.audio_data.astype(np.float32))
    assert signal.sample_rate == mix.sample_rate


def test_ideal_binary_mask_tutorial(tutorial):
    mix, sources_list = tutorial
    # ibm = nussl.separation.benchmark.IdealBinaryMask(mix, sources_list)
    # ibm_estimates = ibm()
    ibm = IdealBinaryMask(mix, sources_list)
    ibm_estimates = ibm()
    _check_estimates(ibm_estimates, mix, len(sources_list))
    assert [e.label for e in ibm_estimates] == [s.label for s in sources_list]
    oracle = IdealMask(mix, sources_list, approach="ibm", mask_type="binary")()
    for got, want in zip(ibm_estimates, oracle):
        np.testing.assert_array_equal(got.audio_data, want.audio_data)


@pytest.mark.parametrize("approach", ["psa", "msa"])
def test_ideal_ratio_mask_tutorial(tutorial, approach):
    mix, sources_list = tutorial
    # irm = nussl.separation.benchmark.IdealRatioMask(mix, sources_list, approach='psa', mask_type='soft')
    # irm_estimates = irm()
    irm = IdealRatioMask(mix, sources_list, approach=approach, mask_type="soft")
    irm_estimates = irm()
    _check_estimates(irm_estimates, mix, len(sources_list))
    oracle = IdealMask(mix, sources_list, approach="irm-" + approach, normalize="sources")()
    for got, want in zip(irm_estimates, oracle):
        np.testing.assert_array_equal(got.audio_data, want.audio_data)
    # nussl's masks are normalised by the sum of the source terms (+ 1e-8): they sum to at most one
    total = sum(m.mask for m in irm.result_masks)
    assert np.all(total >= 0.0) and np.all(total <= 1.0 + 1e-12)


def test_wiener_filter_tutorial(tutorial):
    mix, sources_list = tutorial
    ibm_estimates = IdealBinaryMask(mix, sources_list)()
    # wiener = nussl.separation.benchmark.WienerFilter(mix, ibm_estimates, iterations=1)
    # wiener_estimates = wiener()
    wiener = WienerFilter(mix, ibm_estimates, iterations=1)
    wiener_estimates = wiener()
    _check_estimates(wiener_estimates, mix, len(sources_list))


def test_evaluation_tutorial(tutorial):
    mix, sources_list = tutorial
    irm_estimates = IdealRatioMask(mix, sources_list)()
    # scores = nussl.evaluation.BSSEvalScale(sources_list, irm_estimates, compute_permutation=True).evaluate()
    scores = sepkit.evaluation.scale_invariant(sources_list, irm_estimates, compute_permutation=True)
    assert scores.values["SI-SDR"].shape == (len(sources_list), mix.num_channels)
    np.testing.assert_array_equal(scores.assignment, np.arange(len(sources_list)))
    assert np.all(scores.values["SI-SDR"] > 0.0)
