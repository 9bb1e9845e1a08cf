"""SNPA separator: templates are mixture frames, refinement, measured quality, bad input.

Quality measured on the 2-source mix (violin + clarinet) of the bundled BWV 255 example
(10 s, default STFT, 16 components, grouping by MFCC + k-means, seed 0), SI-SDR in dB with
the best assignment of estimates to references:

    SNPA, no refinement                        0.54   1.98
    SNPA + 100 KL-NMF iterations               7.66   7.75
    XRAY-greedy + 100 KL-NMF iterations        7.92   7.86
    blind NMF (NNDSVDa, 100 iterations)        5.36   5.94   (tests/separation/test_nmf.py)
    MixAsEstimate                              0.02  -0.02
"""

import numpy as np
import pytest

import sepkit
from sepkit import AudioSignal, SeparationError
from sepkit.evaluation import assign, si_sdr_signals
from sepkit.separation import SNPA
from sepkit.decomposition import separable_init


def _best(refs, estimates):
    pairwise = np.array([[si_sdr_signals([r], [e])[0, 0] for e in estimates] for r in refs])
    return pairwise[np.arange(len(refs)), assign(pairwise)]


@pytest.fixture(scope="module")
def duet():
    mix, sources = sepkit.datasets.load_example(sources=("violin", "clarinet"))
    return mix, list(sources.values())


@pytest.fixture(scope="module")
def alternating():
    """Two harmonic tones, each alone for a while, then together: separable by construction."""
    sr = 16000
    t = np.arange(sr) / sr
    env = np.zeros(sr)
    low = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 440 * t)
    high = np.sin(2 * np.pi * 1500 * t) + 0.5 * np.sin(2 * np.pi * 3000 * t)
    env_low, env_high = env.copy(), env.copy()
    env_low[: sr // 3] = 1.0
    env_low[2 * sr // 3 :] = 1.0
    env_high[sr // 3 :] = 0.7
    refs = [AudioSignal(0.3 * low * env_low, sr), AudioSignal(0.3 * high * env_high, sr)]
    return refs[0] + refs[1], refs


def test_templates_are_mixture_frames_without_refinement(alternating):
    mix, refs = alternating
    sep = SNPA(mix, 2, n_components=4, grouping="centroid", seed=0)
    estimates = sep()
    V = sep.magnitude()
    np.testing.assert_array_equal(sep.W, V[:, sep.indices])
    assert sep.costs.shape == (1,)
    assert np.all(sep.H >= 0)
    # estimates add up to the mixture (alpha-Wiener masks sum to one)
    np.testing.assert_allclose(estimates[0].audio_data + estimates[1].audio_data, mix.audio_data, atol=1e-12)
    # the low tone goes to source 0 (centroid grouping orders sources by register)
    scores = si_sdr_signals(refs, estimates)[:, 0]
    assert np.all(scores > 15.0), scores  # measured 25.4 and 26.2 dB


def test_separable_init_floors_for_multiplicative_updates(alternating):
    mix, _ = alternating
    V = SNPA(mix, 2, n_components=3).magnitude()
    W, H, idx = separable_init(V, 3, floor=False)
    Wf, Hf, idx_f = separable_init(V, 3)
    np.testing.assert_array_equal(idx, idx_f)
    np.testing.assert_array_equal(W, V[:, idx])
    assert (H == 0).any() and Hf.min() > 0 and Wf.min() > 0
    np.testing.assert_array_equal(Hf, np.maximum(H, 1e-3 * H.max()))


def test_refinement_costs_decrease_and_shape(duet):
    mix, _ = duet
    short = mix.truncate(2 * mix.sample_rate)
    sep = SNPA(short, 2, n_components=8, n_iter=30, seed=0)
    sep.run()
    assert sep.costs.shape == (31,)
    assert np.all(np.diff(sep.costs) <= 1e-9 * sep.costs[0])
    assert not np.array_equal(sep.W, sep.magnitude()[:, sep.indices])  # refined


@pytest.mark.parametrize(
    "kwargs, floors",
    [
        (dict(), (0.0, 1.4)),  # measured 0.54, 1.98
        (dict(n_iter=100), (7.0, 7.0)),  # measured 7.66, 7.75
        (dict(variant="xray-greedy", n_iter=100), (7.2, 7.2)),  # measured 7.92, 7.86
    ],
)
def test_quality_on_chorale_duet(duet, kwargs, floors):
    mix, refs = duet
    scores = _best(refs, SNPA(mix, 2, seed=0, **kwargs)())
    assert np.all(scores > np.array(floors)), scores
    mix_scores = si_sdr_signals(refs, [mix, mix])[:, 0]
    assert scores.mean() > mix_scores.mean() + 0.5


def test_reproducible_and_stereo(duet):
    mix, _ = duet
    short = mix.truncate(mix.sample_rate)
    a = SNPA(short, 2, n_components=6, n_iter=5, seed=3)()
    b = SNPA(short, 2, n_components=6, n_iter=5, seed=3)()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.audio_data, y.audio_data)
    stereo, _ = sepkit.datasets.load_example(sources=("violin", "clarinet"), stereo=True)
    stereo = stereo.truncate(stereo.sample_rate)
    sep = SNPA(stereo, 2, n_components=6, seed=0)
    estimates = sep()
    assert estimates[0].num_channels == 2
    assert sep.indices.max() < sep.magnitude().shape[1]
    np.testing.assert_allclose(sum(e.audio_data for e in estimates), stereo.audio_data, atol=1e-12)


def test_bad_input(duet):
    mix, _ = duet
    short = AudioSignal(mix.audio_data[:, 44100 : 44100 + 4096], mix.sample_rate)  # 9 frames
    with pytest.raises(SeparationError, match="variant"):
        SNPA(short, 2, variant="xray-max")
    with pytest.raises(SeparationError, match="n_iter"):
        SNPA(short, 2, n_iter=-1)
    with pytest.raises(SeparationError, match="exceeds n_components=2"):
        SNPA(short, 3, n_components=2)
    with pytest.raises(SeparationError, match="num_sources"):
        SNPA(short, None)
    with pytest.raises(SeparationError, match=r"n_components=40 exceeds its \d+ frames"):
        SNPA(short, 2, n_components=40).run()
    silent = AudioSignal(np.zeros((1, 8000)), 8000)
    with pytest.raises(SeparationError, match="zero energy"):
        SNPA(silent, 2, n_components=4).run()
