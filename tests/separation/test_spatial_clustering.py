"""SpatialClustering: IPD/ILD features against numpy and nussl, hard-panned sources, quality on the anechoic example."""

import json
import os

import numpy as np
import pytest

import sepkit
from sepkit.core import SeparationError
from sepkit.datasets import load_spatial_example
from sepkit.evaluation import si_sdr_matched
from sepkit.separation.clustering import soft_kmeans_responsibilities
from sepkit.separation.spatial.spatial_clustering import SpatialClustering, ipd_ild_features

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "data", "nussl")


@pytest.fixture(scope="module")
def nussl_case():
    with np.load(os.path.join(FIXTURES, "spatial_clustering.npz")) as f:
        data = {k: f[k] for k in f.files}
    data["signal"] = sepkit.AudioSignal(data["mix"].astype(np.float64), 44100)
    return data


def _fold_distance(a, b):
    """Distance on the circle of circumference pi (the IPD is folded modulo pi)."""
    d = np.abs(a - b) % np.pi
    return np.minimum(d, np.pi - d)


def test_features_are_nussls_formula():
    mix, _ = load_spatial_example("anechoic", duration=0.5)
    sep = SpatialClustering(mix, 2)
    features = sep.extract_features()
    spec = mix.stft(sep.stft_params)
    ipd, ild = ipd_ild_features(spec[:, :, 0], spec[:, :, 1], mix.sample_rate, 1 / np.sum(sep.stft_params.window))
    assert features.shape == spec.shape + (2,)
    for c in range(2):  # the same features for every channel, as nussl
        np.testing.assert_allclose(features[:, :, c, 1], ild, rtol=1e-12, atol=1e-9)
        assert _fold_distance(features[:, :, c, 0], ipd).max() < 1e-12
    assert features[..., 0].min() >= 0 and features[..., 0].max() < np.pi
    # a phase of -0.001 rad at 1 kHz maps to pi - 0.001 / 1001 (nussl's fold)
    x0, x1 = np.ones((2, 1), complex), np.exp(-0.001j) * np.ones((2, 1))
    folded, level = ipd_ild_features(x0, x1, 2000)
    assert folded[1, 0] == pytest.approx(np.pi - 0.001 / 1001, rel=1e-12)
    assert level[1, 0] == pytest.approx(20 * np.log10(1 / (1 + 1e-4) + 1e-8))


def test_features_and_masks_are_nussls(nussl_case):
    """Features within 1e-6 of nussl's; with nussl's centres, nussl's soft k-means formula on
    sepkit's features gives nussl's masks, and sepkit's (stable) masks are the plain softmax."""
    data = nussl_case
    centres = data["cluster_centers"]
    sep = SpatialClustering(data["signal"], 2, fit_clusterer=False, init=centres)
    masks = np.stack([m.mask for m in sep.run()], axis=-1)
    features = sep.features
    bins = data["feature_bins"]
    np.testing.assert_allclose(features[bins, :, 0, 1], data["ild"], rtol=0, atol=1e-6)
    assert _fold_distance(features[bins, :, 0, 0], data["ipd"]).max() < 1e-6
    rows = features.reshape(-1, 2)
    distances = np.linalg.norm(rows[:, None, :] - centres[None], axis=-1)
    nussl_formula = np.exp(-5.0 * distances) + 1e-8
    nussl_formula /= nussl_formula.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(nussl_formula.reshape(masks.shape), data["masks"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(masks, soft_kmeans_responsibilities(distances, 5.0).reshape(masks.shape), atol=1e-12)
    # Deviation (the base's stable softmax): nussl's masks fall to 1/2 far from both centres, sepkit's do not.
    far = distances.min(axis=1) > 6.0  # exp(-30) << 1e-8
    assert far.any()
    np.testing.assert_allclose(data["masks"].reshape(-1, 2)[far], 0.5, atol=1e-3)
    assert np.abs(masks.reshape(-1, 2)[far] - 0.5).max() > 0.4


def test_fitted_centres_are_nussls(nussl_case):
    """Seeded k-means on the same loud bins reaches nussl's centres (up to the label order)."""
    sep = SpatialClustering(nussl_case["signal"], 2, seed=0)
    sep.run()
    ours = sep.clusterer.cluster_centers_
    theirs = nussl_case["cluster_centers"]
    order = np.argsort(ours[:, 1]), np.argsort(theirs[:, 1])
    np.testing.assert_allclose(ours[order[0]], theirs[order[1]], rtol=1e-3, atol=1e-3)


def test_hard_panned_sources_are_recovered():
    """Left-only and right-only noise in alternate 0.5 s blocks (ILD about +-160 dB): each estimate is its image."""
    sr = 16000
    rng = np.random.default_rng(0)
    on = (np.arange(2 * sr) // (sr // 2)) % 2
    left = rng.normal(size=2 * sr) * (on == 0)
    right = rng.normal(size=2 * sr) * (on == 1)
    images = [sepkit.AudioSignal(np.stack([left, 0 * left]), sr), sepkit.AudioSignal(np.stack([0 * right, right]), sr)]
    mix = images[0] + images[1]
    sep = SpatialClustering(mix, 2, mask_type="binary", seed=0)
    estimates = sep()
    errors = [min(np.sum((e.audio_data - i.audio_data) ** 2) for e in estimates) / np.sum(i.audio_data**2)
              for i in images]
    assert max(errors) < 0.05, errors  # measured 0.035: the frames across the 3 block boundaries hold both
    masks = np.stack([m.mask for m in sep.result_masks])
    np.testing.assert_array_equal(masks.sum(axis=0), 1)
    np.testing.assert_array_equal(masks[..., 0], masks[..., 1])


@pytest.mark.parametrize("voices, floor", [(("violin", "clarinet"), 15.0), (("violin", "clarinet", "saxophone"), 9.5)])
def test_quality_on_the_anechoic_example(voices, floor):
    """3 s of the anechoic example, default parameters, seed 0. Measured SI-SDR: 16.5, 16.4 (2 voices);
    14.2, 10.8, 11.2 (3 voices). nussl (quality_spatial.json): 9.0, 5.0; 12.1, 12.0, 10.4 (its soft
    k-means floor leaves far bins at 1/K): sepkit is above it on every source but the 3-voice clarinet
    (1.2 dB below), and above it on average."""
    with open(os.path.join(FIXTURES, "quality_spatial.json")) as f:
        peer = json.load(f)[f"{len(voices)}_voices"]
    mix, sources = load_spatial_example("anechoic", sources=voices, duration=3)
    mix = sepkit.AudioSignal(mix.audio_data.astype(np.float32).astype(np.float64), 44100)  # nussl's input
    scores = si_sdr_matched(list(sources.values()), SpatialClustering(mix, len(voices), seed=0)())[0]
    baseline = np.array(list(peer["mix_as_estimate"]["si_sdr"].values()))
    nussl = np.array(list(peer["spatial_clustering"]["si_sdr"].values()))
    assert np.all(scores > floor), scores
    assert np.all(scores > baseline + 10), (scores, baseline)
    assert scores.mean() >= nussl.mean() and np.all(scores > nussl - 1.5), (scores, nussl)


def test_mono_error_and_seed():
    mono, _ = sepkit.datasets.load_example(sources=("violin",))
    with pytest.raises(SeparationError, match="two channels.*got 1 channel"):
        SpatialClustering(mono.truncate(4410), 2)
    mix, _ = load_spatial_example("anechoic", duration=0.5)
    before = mix.audio_data.copy()
    first = SpatialClustering(mix, 2, seed=3)
    a = np.stack([m.mask for m in first.run()])
    b = np.stack([m.mask for m in type(first)(mix, **first.get_params()).run()])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mix.audio_data, before)


def test_fast_paths_match_the_plain_formulas():
    """The percentile (radix selection), the loud rows and the last estimate (mixture minus the
    others) give numpy's percentile, numpy's boolean rows and the inverse STFT of the last mask."""
    from sepkit.separation.clustering import _loud_rows, _percentile

    rng = np.random.default_rng(0)
    for n in (2, 3, 11, 1001, 12345):
        for x in (np.abs(rng.standard_cauchy(n)), np.round(rng.random(n), 2), 1 + np.arange(n) * 1e-16):
            for p in (0.0, 10.0, 33.3, 50.0, 90.0, 99.9, 100.0):
                assert _percentile(x, p) == np.percentile(x, p), (n, p)
    assert _percentile(np.array([-1.0, 2.0, 3.0]), 50.0) == 2.0  # negative values: numpy's own
    mix, _ = load_spatial_example("anechoic", duration=0.5)
    sep = SpatialClustering(mix, 2, seed=0)
    estimates = sep()
    features, loud = sep.features, sep.loud_bins
    once = np.ascontiguousarray(features[:, :, 0, :].transpose(1, 0, 2))
    np.testing.assert_array_equal(_loud_rows(features, once, loud), features.reshape(-1, 2)[loud.ravel()])
    last = mix.apply_mask(sep.result_masks[-1], sep.stft_params).audio_data
    assert np.abs(estimates[-1].audio_data - last).max() < 1e-12 * np.abs(mix.audio_data).max()
    assert estimates[-1].label == sep.source_labels[-1]
    assert all(m.mask.flags.f_contiguous for m in sep.result_masks)  # the STFT's order: no copy to apply


def test_masks_set_by_hand_are_each_applied():
    mix, _ = load_spatial_example("anechoic", duration=0.5)
    sep = SpatialClustering(mix, 2, seed=0)
    sep.run()
    half = sepkit.core.SoftMask(np.full(sep.result_masks[0].shape, 0.5))
    sep.result_masks = [sep.result_masks[0], half]
    estimates = sep.make_audio_signals()
    np.testing.assert_allclose(estimates[1].audio_data, 0.5 * mix.audio_data, atol=1e-12)
