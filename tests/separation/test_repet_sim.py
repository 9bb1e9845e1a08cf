"""RepetSim: similarity, peak picking and median kernels against numpy, nussl parity, loop quality."""

import json
import os

import numpy as np
import pytest

import sepkit
from sepkit.core import SeparationError
from sepkit.kernels.repet import neighbour_mask, similarity_peaks
from sepkit.separation.primitive import RepetSim

NUSSL = os.path.join(os.path.dirname(__file__), "..", "data", "nussl")


def _fixture(name):
    path = os.path.join(NUSSL, name + ".npz")
    if not os.path.exists(path):
        pytest.skip(f"nussl fixture {name}.npz not present")
    return np.load(path, allow_pickle=False)


def _nussl_peaks(row, n_peaks, min_dist, threshold):
    """nussl's picker (core/utils.py find_peak_indices, 1-D), written out: repeated argmax and zeroing."""
    x = np.array(row, dtype=float)
    x -= x.min()
    x /= x.max()
    x = x * (x >= threshold)
    picks = []
    for _ in range(n_peaks):
        j = int(np.argmax(x))
        picks.append(j)
        lower, upper = j - min_dist, j + min_dist + 1
        lower = 0 if lower < 0 else lower
        upper = len(x) if upper >= len(x) else upper
        x[int(lower):int(upper)] = 0
        if np.sum(x) == 0.0:
            break
    return picks


def _peaks(S, min_distance, threshold, max_peaks):
    T = S.shape[0]
    neighbours = np.zeros((T, max(max_peaks - 1, 1)), dtype=np.int64)
    counts = np.zeros(T, dtype=np.int64)
    similarity_peaks(np.ascontiguousarray(S), float(min_distance), float(threshold), max_peaks, neighbours, counts)
    return [list(neighbours[t, :counts[t]]) for t in range(T)]


# ---------------------------------------------------------------- kernels


def test_similarity_matrix():
    V = np.array([[1.0, 0.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0], [1.0, 0.0, 0.0, 2.0]])  # (F=3, T=4)
    S = RepetSim.compute_similarity_matrix(V.T)
    expected = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]], dtype=float)
    np.testing.assert_allclose(S, expected, atol=1e-15)  # silent frame 2: zero row and column
    rng = np.random.default_rng(0)
    W = rng.random((50, 12))
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(RepetSim.compute_similarity_matrix(W), unit @ unit.T, rtol=1e-13)


@pytest.mark.parametrize("min_dist, threshold, n_peaks", [(1.0, 0.0, 100), (3.7, 0.0, 10), (5.2, 0.4, 100),
                                                         (0.0, 0.0, 7), (12.5, 0.9, 3)])
def test_peaks_are_nussls_picks(min_dist, threshold, n_peaks):
    rng = np.random.default_rng(int(min_dist * 10))
    X = rng.random((30, 150))
    S = RepetSim.compute_similarity_matrix(X.T)  # T = 150, no ties
    ours = _peaks(S, min_dist, threshold, n_peaks)
    for i in range(S.shape[0]):
        reference = _nussl_peaks(S[i], n_peaks, min_dist, threshold)
        assert reference[0] == i  # the frame itself is the first pick
        assert ours[i] == reference[1:]
        picks = [i] + ours[i]
        gaps = np.abs(np.subtract.outer(picks, picks))[np.triu_indices(len(picks), 1)]
        assert np.all(gaps > min_dist)  # the minimum distance holds between all picks
        assert np.all(np.diff(S[i, ours[i]]) <= 0)  # most similar first


def test_silent_frame_and_exact_repetition():
    rng = np.random.default_rng(3)
    pattern = rng.random((20, 5))
    V = np.tile(pattern, (1, 6))  # 30 frames, period 5, exactly repeating
    V[:, 12] = 0.0  # a silent frame
    S = RepetSim.compute_similarity_matrix(V.T)
    picks = _peaks(S, 2.0, 0.0, 100)
    assert picks[12] == []  # nussl: 0/0 -> NaN row, arbitrary picks
    for i in (7, 17):
        # ties at 1: nussl drops the first identical frame (i - 5) as "itself" and keeps i
        assert i not in picks[i]
        identical = {j for j in range(i % 5, 30, 5) if j not in (i, 12)}
        assert set(picks[i][:len(identical)]) == identical  # then less similar frames
    out = np.empty(V.T.shape)
    neighbours = np.zeros((30, 99), dtype=np.int64)
    counts = np.array([len(p) for p in picks])
    for t, p in enumerate(picks):
        neighbours[t, :len(p)] = p
    neighbour_mask(np.ascontiguousarray(V.T), neighbours, counts, 1e-16, out)
    assert np.all(np.isfinite(out)) and np.all(out[12] == 1.0)


def test_neighbour_mask_is_the_median_formula():
    rng = np.random.default_rng(5)
    T, F, K = 40, 70, 9
    VT = rng.random((T, F)) ** 2
    VT[3, 10] = 0.0
    counts = rng.integers(0, K + 1, size=T)
    neighbours = rng.integers(0, T, size=(T, K))
    out = np.empty((T, F))
    neighbour_mask(VT, neighbours, counts, 1e-16, out)
    for t in range(T):
        if counts[t] == 0:
            np.testing.assert_array_equal(out[t], 1.0)
            continue
        model = np.median(VT[neighbours[t, :counts[t]]], axis=0)
        np.testing.assert_allclose(out[t], (np.minimum(model, VT[t]) + 1e-16) / (VT[t] + 1e-16), rtol=1e-15)


# ---------------------------------------------------------------- behaviour


def test_repeating_noise_with_a_sparse_tone():
    rng = np.random.default_rng(7)
    hop, sr, period = 512, 44100, 23
    segment = rng.standard_normal(period * hop) * 0.1
    noise = np.tile(segment, 10) + rng.standard_normal(period * hop * 10) * 1e-3  # no exact ties
    t = np.arange(noise.size) / sr
    tone = np.where((t > 1.0) & (t < 1.3), 0.3 * np.sin(2 * np.pi * 1000.0 * t), 0.0)
    mix = sepkit.AudioSignal((noise + tone)[None, :], sr)
    sep = RepetSim(mix, min_distance_between_frames=0.2)
    background, foreground = sep.run()
    i = 5 * period + 3
    repeats = {i + k * period for k in range(-5, 5) if k != 0}
    # the repetitions come first (but the one under the tone, frames 86-112)
    assert set(sep.similarity_indices[i][:len(repeats) - 1]) <= repeats
    k = int(round(1000.0 * 2048 / sr))
    frames = slice(int(1.05 * sr / hop), int(1.25 * sr / hop))
    assert np.mean(foreground.mask[k, frames, 0]) > 0.9
    assert np.mean(background.mask[200:400, 20:60, 0]) > 0.6
    assert np.all(np.isfinite(background.mask))


def test_bad_arguments_and_params():
    mix, _ = sepkit.datasets.load_foreground_background_example("loop", duration=1.0)
    with pytest.raises(SeparationError, match="similarity_threshold"):
        RepetSim(mix, similarity_threshold=1.5)
    with pytest.raises(SeparationError, match="max_repeating_frames"):
        RepetSim(mix, max_repeating_frames=0)
    with pytest.raises(SeparationError, match="min_distance_between_frames"):
        RepetSim(mix, min_distance_between_frames=-1)
    sep = RepetSim(mix, min_distance_between_frames=0.5)
    assert sep.min_distance_frames() == 0.5 * 44100 / 512  # fractional, as nussl
    sep.run()
    assert len(sep.similarity_indices) == sep.similarity_matrix.shape[0]


# ---------------------------------------------------------------- nussl parity


@pytest.mark.parametrize("name", ["repet_sim", "repet_sim_params"])
def test_parity_with_nussl(name):
    f = _fixture(name)
    mix = sepkit.AudioSignal(f["mix"].astype(np.float64), int(f["sample_rate"]))
    sep = RepetSim(mix, **json.loads(str(f["params"])))
    masks = np.stack([m.mask for m in sep.run()], axis=-1).astype(np.float64)
    np.testing.assert_allclose(masks, f["masks"].astype(np.float64), rtol=0, atol=1e-6)


# ---------------------------------------------------------------- quality


@pytest.mark.filterwarnings("ignore:estimates 0 and 1 are identical")
def test_quality_on_the_loop_example(loop_sdr):
    sdr, baseline = loop_sdr(RepetSim)
    # measured 6.403 / 3.044 dB; nussl 1.1.9 on the same mixture: 6.403 / 3.044 dB
    # (MixAsEstimate: 3.36 / -3.36 dB)
    assert sdr[0] >= 6.40 and sdr[1] >= 3.04
    assert np.all(sdr > baseline + 3)
