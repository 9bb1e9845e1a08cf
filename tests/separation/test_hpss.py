"""HPSS: librosa's masks, nussl's output order and parity, Driedger's residual, libnmfd's KAM, quality."""

import json
import os

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

import sepkit
from sepkit.core import BinaryMask, SeparationError
from sepkit.evaluation import bss_eval_sources, si_sdr_signals
from sepkit.separation.primitive.hpss import HPSS, kam_masks

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "nussl")


@pytest.fixture(scope="module")
def drums():
    """The first 3 s of the drums + clarinet example: (mix, [harmonic, percussive])."""
    mix, sources = sepkit.datasets.load_foreground_background_example("drums")
    n = 3 * mix.sample_rate
    return mix.truncate(n), [sources["harmonic"].truncate(n), sources["percussive"].truncate(n)]


@pytest.mark.parametrize("kwargs", [
    {},
    {"kernel_size": (17, 41)},
    {"margin": (2.0, 3.0), "kernel_size": 15},
    {"power": 1.0},
    {"power": np.inf},
])
def test_masks_equal_librosa(drums, kwargs):
    import librosa

    mix, _ = drums
    masks = HPSS(mix, **kwargs).run()
    X = mix.stft()[:, :, 0]
    H, P = librosa.decompose.hpss(X, mask=True, **kwargs)
    np.testing.assert_allclose(masks[0].mask[:, :, 0], H, rtol=0, atol=1e-12)
    np.testing.assert_allclose(masks[1].mask[:, :, 0], P, rtol=0, atol=1e-12)


def test_output_order_and_residual(drums):
    mix, _ = drums
    two = HPSS(mix)
    assert two.source_labels == ["harmonic", "percussive"]
    masks = np.stack([m.mask for m in two.run()])
    np.testing.assert_allclose(masks.sum(axis=0), 1.0, atol=1e-12)
    estimates = two.make_audio_signals()
    np.testing.assert_allclose((estimates[0] + estimates[1]).audio_data, mix.audio_data, atol=1e-10)
    three = HPSS(mix, margin=3.0)
    assert three.source_labels == ["harmonic", "percussive", "residual"]
    masks = np.stack([m.mask for m in three.run()])
    np.testing.assert_allclose(masks.sum(axis=0), 1.0, atol=1e-12)
    assert masks[2].mean() > 0.3  # wide margins leave much to the residual
    assert np.all(masks[2] >= 0)


def test_channels_are_separated_independently(drums):
    mix, _ = drums
    left = mix.audio_data[0]
    stereo = sepkit.AudioSignal(np.stack([left, 0.5 * left[::-1]]), mix.sample_rate)
    masks = HPSS(stereo).run()
    for c, channel in enumerate((left, 0.5 * left[::-1])):
        mono = HPSS(sepkit.AudioSignal(channel, mix.sample_rate)).run()
        np.testing.assert_allclose(masks[0].mask[:, :, c], mono[0].mask[:, :, 0], atol=1e-12)


def test_binary_masks_are_the_argmax_with_ties_to_harmonic():
    sr = 8000
    signal = np.zeros(sr)
    signal[sr // 2 :] = np.sin(2 * np.pi * 440 * np.arange(sr - sr // 2) / sr)  # silence then a tone
    mix = sepkit.AudioSignal(signal, sr)
    soft = HPSS(mix, kernel_size=9).run()
    binary = HPSS(mix, kernel_size=9, mask_type="binary").run()
    assert all(isinstance(m, BinaryMask) for m in binary)
    np.testing.assert_array_equal(binary[0].mask, soft[0].mask >= soft[1].mask)
    np.testing.assert_array_equal(binary[1].mask, ~binary[0].mask)  # a tie goes to one source only


def test_sinusoid_is_harmonic_and_clicks_are_percussive():
    sr = 16000
    t = np.arange(2 * sr) / sr
    tone = np.sin(2 * np.pi * 1000.0 * t)
    clicks = np.zeros_like(t)
    clicks[:: sr // 4] = 1.0
    mix = sepkit.AudioSignal(tone + clicks, sr)
    sep = HPSS(mix)
    harm, perc = (m.mask[:, :, 0] for m in sep.run())
    bin_1k = int(round(1000.0 * sep.stft_params.window_length / sr))
    assert np.median(harm[bin_1k, 10:-10]) > 0.99
    spec = np.abs(mix.stft(sep.stft_params))[:, :, 0]
    click_frames = np.argsort(spec[100:, :].sum(axis=0))[-6:]
    assert np.median(perc[100:, click_frames]) > 0.9


def _kam_reference(V, size, n_iter, alpha, median):
    """libnmfd's hpss_kam_fitzgerald in plain scipy (zero-padded smoothing, alpha-Wiener)."""
    harm, perc = V.copy(), V.copy()
    hann = np.hanning(size)
    hann /= hann.sum()
    footprint = np.zeros((size, size), dtype=bool)
    footprint[(size + 1) // 2 - 1, :] = True
    for _ in range(n_iter):
        if median:
            perc = scipy.ndimage.median_filter(perc, footprint=footprint.T, mode="constant")
            harm = scipy.ndimage.median_filter(harm, footprint=footprint, mode="constant")
        else:
            perc = scipy.signal.convolve2d(perc, hann.reshape(-1, 1), mode="same")
            harm = scipy.signal.convolve2d(harm, hann.reshape(1, -1), mode="same")
        total = harm**alpha + perc**alpha
        mask_h, mask_p = harm**alpha / total, perc**alpha / total
        harm, perc = mask_h * V, mask_p * V
    return mask_h, mask_p


@pytest.mark.parametrize("n_iter, alpha, kam_filter", [(1, 1.0, "hann"), (3, 2.0, "hann"), (2, 1.5, "median")])
def test_kam_equals_libnmfd_formula(drums, n_iter, alpha, kam_filter):
    mix, _ = drums
    V = np.abs(mix.stft())[:, :200, 0] + 1e-9  # no all-zero bin (libnmfd would divide by its EPS)
    H, P = kam_masks(V, 17, n_iter, alpha, kam_filter)
    H_ref, P_ref = _kam_reference(V, 17, n_iter, alpha, kam_filter == "median")
    np.testing.assert_allclose(H, H_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(P, P_ref, rtol=1e-9, atol=1e-12)
    masks = HPSS(mix, method="kam", kernel_size=17, n_iter=n_iter, power=alpha, kam_filter=kam_filter).run()
    np.testing.assert_allclose(masks[0].mask + masks[1].mask, 1.0, atol=1e-12)


def test_quality_on_drums_and_clarinet(drums):
    # Measured on these 3 s (BSS Eval v3 SDR, harmonic / percussive): median 6.5 / 11.5 dB (nussl's HPSS is
    # the same algorithm: equal masks, see the parity test), KAM 4.9 / 10.7 dB; the mixture as estimate:
    # -1.0 / 1.0 dB.
    mix, refs = drums
    with pytest.warns(UserWarning, match="identical"):
        mix_sdr = bss_eval_sources(refs, [mix, mix], compute_permutation=False).values["SDR"][:, 0]
    for kwargs, floors in (({}, (6.0, 11.0)), ({"method": "kam"}, (4.4, 10.2))):
        estimates = HPSS(mix, **kwargs)()
        sdr = bss_eval_sources(refs, estimates, compute_permutation=False).values["SDR"][:, 0]
        assert np.all(sdr > np.asarray(floors)), (kwargs, sdr)
        assert np.all(sdr > mix_sdr + 5.0)
    si = si_sdr_signals(refs, HPSS(mix)())[:, 0]
    assert np.all(si > [6.0, 6.8]), si  # measured 6.5 / 7.3 dB


def _fixture(case):
    path = os.path.join(FIXTURES, f"{case}.npz")
    if not os.path.exists(path):
        pytest.skip(f"nussl fixture {path} not present")
    data = np.load(path)
    params = json.loads(str(data["params"]))
    if "kernel_size" in params:
        params["kernel_size"] = tuple(params["kernel_size"])
    return sepkit.AudioSignal(data["mix"].astype(np.float64), int(data["sample_rate"])), params, data


@pytest.mark.parametrize("case", ["hpss", "hpss_kernels"])
def test_parity_with_nussl(case):
    mix, params, data = _fixture(case)
    sep = HPSS(mix, **params)
    estimates = sep()
    masks = np.stack([m.mask for m in sep.result_masks], axis=-1)
    np.testing.assert_allclose(masks, data["masks"], rtol=0, atol=1e-6)  # measured 3e-8 (float32 storage)
    if "estimates" in data.files:
        np.testing.assert_allclose(np.stack([e.audio_data for e in estimates]), data["estimates"], rtol=0, atol=1e-6)


def test_binary_ties_deviate_from_nussl():
    # nussl marks a bin in both binary masks where the soft masks tie (1/2 each: silent bins), so its
    # estimates no longer add up to the mixture; sepkit gives the tie to the harmonic source only.
    mix, params, data = _fixture("hpss_binary")
    masks = np.stack([m.mask for m in HPSS(mix, **params).run()], axis=-1)
    theirs = data["masks"]
    ties = theirs[..., 0] & theirs[..., 1]
    assert ties.any()
    np.testing.assert_array_equal(masks[~ties], theirs[~ties])
    assert np.all(masks[ties][:, 0]) and not np.any(masks[ties][:, 1])
    assert np.all(masks.sum(axis=-1) == 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel_size": 0}, "kernel_size"),
    ({"kernel_size": (3, 4, 5)}, "kernel_size"),
    ({"margin": 0.5}, "margin"),
    ({"power": 0}, "power"),
    ({"method": "nmf"}, "method"),
    ({"method": "kam", "margin": 2.0}, "kam"),
    ({"method": "kam", "power": np.inf}, "kam"),
    ({"n_iter": 0}, "n_iter"),
    ({"kam_filter": "box"}, "kam_filter"),
])
def test_bad_arguments(drums, kwargs, match):
    with pytest.raises(SeparationError, match=match):
        HPSS(drums[0], **kwargs)


def test_at_least_as_good_as_nussl_on_the_whole_example():
    path = os.path.join(FIXTURES, "quality.json")
    if not os.path.exists(path):
        pytest.skip("nussl's scores tests/data/nussl/quality.json not present")
    with open(path) as file:
        nussl = json.load(file)["drums"]["hpss"]["si_sdr"]  # 7.288 / 7.212 dB
    mix, sources = sepkit.datasets.load_foreground_background_example("drums")
    refs = [sources["harmonic"], sources["percussive"]]
    ours = si_sdr_signals(refs, HPSS(mix)())[:, 0]
    assert np.all(ours >= np.array([nussl["harmonic"], nussl["percussive"]]) - 0.005), (ours, nussl)
