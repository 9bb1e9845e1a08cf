"""ClusteringSeparationBase and the confidence measures.

A minimal subclass clusters a trivial feature (the frequency of each bin) and separates two
sinusoids; the soft k-means, the fitting on loud bins and the six confidence measures are
checked against plain numpy formulas. (No nussl fixture of the confidence measures exists:
nussl's are unseeded, so only the formulas can be compared.)
"""

import numpy as np
import pytest

import sepkit
from sepkit.core import BinaryMask, SeparationError, SoftMask
from sepkit.evaluation import si_sdr_matched
from sepkit.separation import confidence as conf
from sepkit.separation.clustering import ClusteringSeparationBase, argmax_masks, soft_kmeans_responsibilities

SR = 16000


class FrequencyClustering(ClusteringSeparationBase):
    """Feature of a bin: its centre frequency in kHz."""

    def extract_features(self):
        F, T, C = self._mask_shape()
        khz = np.arange(F) * (self.sample_rate / self.stft_params.window_length) / 1000.0
        return np.broadcast_to(khz[:, None, None, None], (F, T, C, 1)).copy()


@pytest.fixture(scope="module")
def tones():
    t = np.arange(int(1.5 * SR)) / SR
    low = 0.5 * np.sin(2 * np.pi * 300.0 * t)
    high = 0.3 * np.sin(2 * np.pi * 3000.0 * t + 0.4)
    sources = [sepkit.AudioSignal(low, SR, label="low"), sepkit.AudioSignal(high, SR, label="high")]
    return sum(sources), sources


@pytest.mark.parametrize("clustering_type, floor", [("KMeans", 40.0), ("MiniBatchKMeans", 40.0),
                                                    ("GaussianMixture", 40.0)])
def test_two_sinusoids_are_separated(tones, clustering_type, floor):
    # Measured SI-SDR: about 50 dB per tone for every clusterer (the mixture as estimate: 4.4 / -4.4 dB).
    mix, sources = tones
    separator = FrequencyClustering(mix, 2, clustering_type=clustering_type, seed=0)
    estimates = separator()
    masks = np.stack([m.mask for m in separator.result_masks], axis=-1)
    np.testing.assert_allclose(masks.sum(axis=-1), 1.0, atol=1e-12)
    scores, _ = si_sdr_matched(sources, estimates)
    assert np.all(scores > floor), scores
    mix_scores, _ = si_sdr_matched(sources, [mix, mix])
    assert np.all(scores > mix_scores + 30.0)


def test_soft_kmeans_is_a_softmax():
    rng = np.random.default_rng(0)
    d = rng.random((50, 3)) * 4
    r = soft_kmeans_responsibilities(d, 2.5)
    e = np.exp(-2.5 * d)
    np.testing.assert_allclose(r, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(soft_kmeans_responsibilities(d, 0.0), 1.0 / 3)
    one_hot = soft_kmeans_responsibilities(d, 1e6)
    np.testing.assert_array_equal(one_hot, argmax_masks(-d))
    # Far from every centre: nussl's exp(-beta d) + 1e-8 collapses to 1/K; the stable softmax does not.
    far = soft_kmeans_responsibilities(np.array([[10.0, 11.0]]), 5.0)
    assert far[0, 0] > 0.99


def test_clusterer_is_fitted_on_the_loud_bins(tones):
    mix, _ = tones
    sep = FrequencyClustering(mix, 2, percentile=80, seed=3)
    sep.run()
    magnitude = np.abs(mix.stft(sep.stft_params))
    np.testing.assert_array_equal(sep.loud_bins, magnitude >= np.percentile(magnitude, 80))
    rows = sep.features.reshape(-1, 1)[sep.loud_bins.ravel()]
    labels = sep.clusterer.labels_
    assert labels.shape == (rows.shape[0],)
    for k in range(2):  # a converged k-means: each centre is the mean of its loud members
        np.testing.assert_allclose(sep.clusterer.cluster_centers_[k], rows[labels == k].mean(axis=0), rtol=1e-9)


def test_pilot_fit_reaches_the_full_fit():
    # Many loud rows: KMeans's starts run on a random subset, then one run on every loud row from the
    # best pilot centres. Planted blobs: the same clustering as n_init full runs.
    from sklearn.cluster import KMeans

    class SmallPilot(FrequencyClustering):
        PILOT_POINTS = 200

        def extract_features(self):
            F, T, C = self._mask_shape()
            rng = np.random.default_rng(0)
            blob = (np.arange(F) > F // 2).astype(float)[:, None, None, None] * 4.0
            return blob + rng.normal(0, 0.3, (F, T, C, 3))

    t = np.arange(SR) / SR
    mix = sepkit.AudioSignal(np.sin(2 * np.pi * 440 * t) + 0.1 * np.random.default_rng(1).normal(size=SR), SR)
    sep = SmallPilot(mix, 2, percentile=50, seed=0)
    sep.run()
    rows = sep.features.reshape(-1, 3)[sep.loud_bins.ravel()]
    assert rows.shape[0] > 2 * SmallPilot.PILOT_POINTS
    assert sep.clusterer.get_params()["n_init"] == 1  # started from the pilot centres
    full = KMeans(2, n_init=10, random_state=0).fit(rows)
    assert sep.clusterer.inertia_ == pytest.approx(full.inertia_, rel=1e-9)
    for k in range(2):
        members = rows[sep.clusterer.labels_ == k]
        np.testing.assert_allclose(sep.clusterer.cluster_centers_[k], members.mean(axis=0), rtol=1e-9)


def test_given_centres_without_fitting(tones):
    mix, _ = tones
    centres = np.array([[0.3], [3.0]])
    sep = FrequencyClustering(mix, 2, fit_clusterer=False, init=centres, beta=2.0)
    masks = sep.run()
    phi = sep.features[..., 0]
    d = np.abs(phi[..., None] - centres[:, 0])
    e = np.exp(-2.0 * d)
    np.testing.assert_allclose(masks[0].mask, e[..., 0] / e.sum(axis=-1), rtol=1e-10)
    assert sep.get_params()["init"] is centres
    with pytest.raises(SeparationError, match="fitted clusterer"):
        FrequencyClustering(mix, 2, fit_clusterer=False).run()


def test_binary_masks_are_the_argmax(tones):
    mix, _ = tones
    soft = FrequencyClustering(mix, 2, seed=0).run()
    binary = FrequencyClustering(mix, 2, seed=0, mask_type="binary").run()
    assert all(isinstance(m, BinaryMask) for m in binary)
    expected = argmax_masks(np.stack([m.mask for m in soft], axis=-1))
    for k in range(2):
        np.testing.assert_array_equal(binary[k].mask, expected[..., k].astype(bool))


@pytest.mark.parametrize("mask_type", ["soft", "binary"])
def test_last_estimate_by_subtraction_equals_its_mask_applied(tones, mask_type):
    mix, _ = tones
    sep = FrequencyClustering(mix, 2, seed=0, mask_type=mask_type)
    estimates = sep()
    for estimate, mask in zip(estimates, sep.result_masks):
        applied = mix.apply_mask(mask, sep.stft_params).audio_data
        assert np.abs(estimate.audio_data - applied).max() < 1e-12 * np.abs(mix.audio_data).max()
    assert [e.label for e in estimates] == sep.source_labels


def test_get_params_keeps_the_clusterer_keywords(tones):
    mix, _ = tones
    sep = FrequencyClustering(mix, 2, seed=1, max_iter=20, tol=1e-3)
    params = sep.get_params()
    assert params["max_iter"] == 20 and params["tol"] == 1e-3 and params["seed"] == 1
    again = FrequencyClustering(mix, **params)
    assert again.clusterer_kwargs == {"max_iter": 20, "tol": 1e-3}
    a = np.stack([m.mask for m in sep.run()])
    b = np.stack([m.mask for m in again.run()])
    np.testing.assert_array_equal(a, b)
    assert isinstance(sep.run()[0], SoftMask)


def test_given_features_are_not_modified(tones):
    mix, _ = tones
    sep = FrequencyClustering(mix, 2, seed=0)
    features = sep.extract_features()
    before = features.copy()
    sep.run(features=features)
    np.testing.assert_array_equal(features, before)
    with pytest.raises(SeparationError, match="do not match"):
        sep.run(features=features[:-1])
    with pytest.raises(SeparationError, match="NaN"):
        sep.run(features=np.full_like(features, np.nan))


@pytest.mark.parametrize("kwargs, match", [
    ({"clustering_type": "kmeans"}, "clustering_type"),
    ({"n_clusters": 3}, "n_clusters"),
    ({"random_state": 3}, "random_state"),
    ({"not_a_keyword": 1}, "not_a_keyword"),
    ({"percentile": 101}, "percentile"),
    ({"beta": -1.0}, "beta"),
    ({"seed": -1}, "seed"),
])
def test_bad_arguments(tones, kwargs, match):
    with pytest.raises(SeparationError, match=match):
        FrequencyClustering(tones[0], 2, **kwargs)
    with pytest.raises(SeparationError, match="num_sources"):
        FrequencyClustering(tones[0], 0)


def test_confidence_needs_a_run(tones):
    sep = FrequencyClustering(tones[0], 2, seed=0)
    with pytest.raises(SeparationError, match="run"):
        sep.confidence()
    sep.run()
    assert sep.confidence() > 0.9  # two tones, one frequency each: a perfect silhouette
    with pytest.raises(SeparationError, match="approach"):
        sep.confidence("entropy")


# ---- the confidence measures against plain numpy -----------------------------------------------


def _blobs(seed=0, centres=((0.0, 0.0), (6.0, 6.0)), n=400, spread=0.5):
    """Features (F, T, 1, D) of Gaussian blobs, one row of bins per point, and a loudness."""
    rng = np.random.default_rng(seed)
    pts = np.concatenate([rng.normal(c, spread, size=(n, len(c))) for c in centres])
    features = pts.reshape(len(pts), 1, 1, -1)
    loudness = rng.random((len(pts), 1, 1)) + 0.01
    return features, loudness


def _kmeans(points, k, seed):
    from sklearn.cluster import KMeans

    model = KMeans(n_clusters=k, n_init=10, random_state=seed)
    return model, model.fit_transform(points)


def test_loud_points_are_strictly_above_the_percentile():
    features, loudness = _blobs()
    points, weights = conf.loud_points(features, loudness, 60)
    keep = loudness > np.percentile(loudness, 60)
    np.testing.assert_array_equal(points, features[keep])
    np.testing.assert_array_equal(weights, loudness[keep])
    with pytest.raises(SeparationError, match="shape"):
        conf.loud_points(features[:-1], loudness, 60)


def test_posterior_confidence_formula():
    features, loudness = _blobs(spread=2.0)
    points, _ = conf.loud_points(features, loudness, 50)
    _, d = _kmeans(points, 2, 7)
    p = np.exp(-d) / np.exp(-d).sum(axis=1, keepdims=True)
    expected = np.mean((2 * p.max(axis=1) - 1) / (2 - 1))
    assert conf.posterior_confidence(features, loudness, 2, threshold=50, seed=7) == pytest.approx(expected, rel=1e-12)


def test_silhouette_confidence_formula():
    features, loudness = _blobs(spread=2.0)
    points, _ = conf.loud_points(features, loudness, 50)
    model, _ = _kmeans(points, 2, 5)
    labels = model.labels_
    dist = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))
    s = []
    for i in range(len(points)):
        own = labels == labels[i]
        a = dist[i, own].sum() / (own.sum() - 1)
        b = dist[i, ~own].mean()
        s.append((b - a) / max(a, b))
    value = conf.silhouette_confidence(features, loudness, 2, threshold=50, max_points=10_000, seed=5)
    assert value == pytest.approx(np.mean(s), rel=1e-10)
    # more points than max_points: a seeded random subset, reproducible
    a = conf.silhouette_confidence(features, loudness, 2, threshold=50, max_points=100, seed=1)
    assert a == conf.silhouette_confidence(features, loudness, 2, threshold=50, max_points=100, seed=1)


def test_loudness_confidence_formula():
    features, loudness = _blobs(centres=((0.0, 0.0), (6.0, 6.0), (0.0, 6.0)))
    points, _ = conf.loud_points(features, loudness, 30)
    model, _ = _kmeans(points, 3, 2)
    counts = np.bincount(model.labels_, minlength=3)
    assert conf.loudness_confidence(features, loudness, 3, threshold=30, seed=2) == counts.min() / counts.sum()


def _unit_weighted(V, Y, w):
    V = V / np.linalg.norm(V, axis=1, keepdims=True)
    Y = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    return V * w[:, None], Y * w[:, None]


def test_deep_clustering_loss_is_the_pairwise_sum():
    rng = np.random.default_rng(1)
    V, w = rng.normal(size=(30, 4)), rng.random(30)
    Y = np.eye(3)[rng.integers(0, 3, 30)]
    Vn = V / np.linalg.norm(V, axis=1, keepdims=True)
    pair = (Vn @ Vn.T - Y @ Y.T) ** 2
    expected = np.sum(np.outer(w**2, w**2) * pair) / (np.sum(w**2) ** 2 + 1e-8)
    assert conf.deep_clustering_loss(V, Y, w) == pytest.approx(expected, rel=1e-10)
    # invariant to the level of the weights (up to the 1e-8)
    assert conf.deep_clustering_loss(V, Y, 10 * w) == pytest.approx(expected, rel=1e-8)


def test_whitened_kmeans_loss_formula():
    rng = np.random.default_rng(2)
    V, w = rng.normal(size=(40, 5)), rng.random(40) * 3
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    Vw, Yw = _unit_weighted(V, Y, w)
    A = np.linalg.inv(Vw.T @ Vw + np.eye(5))
    B = np.linalg.inv(Yw.T @ Yw + np.eye(3))
    C = Vw.T @ Yw
    expected = 5 + 3 - 2 * np.trace(C.T @ A @ C @ B)
    assert conf.whitened_kmeans_loss(V, Y, w) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("name, loss, scale", [
    ("whitened_kmeans", conf.whitened_kmeans_loss, lambda D, K: D + K),
    ("dpcl_classic", conf.deep_clustering_loss, lambda D, K: 1.0),
])
def test_loss_confidences_use_the_nearest_centre(name, loss, scale):
    features, loudness = _blobs(centres=((0.0, 0.0), (6.0, 6.0), (0.0, 6.0)))
    points, weights = conf.loud_points(features, loudness, 50)
    _, d = _kmeans(points, 3, 4)
    function = conf.APPROACHES[name]
    for assignment, pick in (("nearest", d.argmin(axis=1)), ("farthest", d.argmax(axis=1))):
        expected = 1 - loss(points, np.eye(3)[pick], weights) / scale(2, 3)
        value = function(features, loudness, 3, threshold=50, seed=4, assignment=assignment)
        assert value == pytest.approx(expected, rel=1e-12)
    # nussl's farthest-centre assignment changes the value for K >= 3 ...
    near = function(features, loudness, 3, threshold=50, seed=4)
    assert near != pytest.approx(function(features, loudness, 3, threshold=50, seed=4, assignment="farthest"))
    # ... but not for K = 2 (a relabelling)
    two = _blobs()
    assert function(*two, 2, seed=4) == pytest.approx(function(*two, 2, seed=4, assignment="farthest"), rel=1e-9)


def test_one_hot_features_are_perfectly_clusterable():
    labels = np.repeat([0, 1], 200)
    features = np.eye(2)[labels].reshape(400, 1, 1, 2)
    loudness = np.linspace(1, 2, 400).reshape(400, 1, 1)
    assert conf.dpcl_classic_confidence(features, loudness, 2, threshold=10, seed=0) == pytest.approx(1.0, abs=1e-6)
    assert conf.silhouette_confidence(features, loudness, 2, threshold=10, seed=0) == pytest.approx(1.0)
    assert conf.posterior_confidence(features, loudness, 2, threshold=10, seed=0) == pytest.approx(
        (2 * np.exp(0) / (np.exp(0) + np.exp(-np.sqrt(2))) - 1), rel=1e-9)


def test_jensen_shannon():
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    near = GaussianMixture(1, random_state=0).fit(rng.normal(0, 1, (500, 1)))
    far = GaussianMixture(1, random_state=0).fit(rng.normal(100, 1, (500, 1)))
    assert conf.jensen_shannon_divergence(near, far, 20_000, seed=0) == pytest.approx(np.log(2), abs=1e-6)
    assert conf.jensen_shannon_divergence(near, near, 20_000, seed=0) == pytest.approx(0.0, abs=1e-12)
    two = conf.jensen_shannon_confidence(*_blobs(), 2, n_samples=20_000, seed=0)
    one = conf.jensen_shannon_confidence(*_blobs(centres=((0.0, 0.0),)), 2, n_samples=20_000, seed=0)
    assert two > 0.3 and one < 0.12, (two, one)  # measured: 0.38 and 0.08
    assert two == conf.jensen_shannon_confidence(*_blobs(), 2, n_samples=20_000, seed=0)
