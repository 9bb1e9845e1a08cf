"""Repet: kernels against plain numpy formulas, nussl parity (fixtures), quality on the loop example."""

import json
import math
import os

import numpy as np
import pytest

import sepkit
from sepkit.core import SeparationError
from sepkit.kernels.repet import median_select, period_mask
from sepkit.separation.primitive import Repet
from sepkit.separation.primitive.repet import nussl_magnitude

NUSSL = os.path.join(os.path.dirname(__file__), "..", "data", "nussl")


def _fixture(name):
    path = os.path.join(NUSSL, name + ".npz")
    if not os.path.exists(path):
        pytest.skip(f"nussl fixture {name}.npz not present")
    return np.load(path, allow_pickle=False)


def _noise_loop(period_frames, n_periods, hop=512, sr=44100, seed=0):
    """Noise exactly periodic in STFT frames: a segment of ``period_frames * hop`` samples, tiled."""
    rng = np.random.default_rng(seed)
    segment = rng.standard_normal(period_frames * hop) * 0.1
    return sepkit.AudioSignal(np.tile(segment, n_periods)[None, :], sr)


# ---------------------------------------------------------------- kernels


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 22, 23, 100])
def test_median_select_is_numpy_median(n):
    rng = np.random.default_rng(n)
    for values in (rng.random(n), np.round(rng.random(n) * 3)):  # distinct values, many ties
        buf = np.concatenate([values, [np.nan] * 3])  # values past n are never read
        assert median_select(buf, n) == np.median(values)
        assert sorted(buf[:n]) == sorted(values)  # a permutation of the input


def _nussl_period_mask(V, p, eps=1e-16):
    """nussl's formula: NaN padding to whole periods, nanmedian over segments, tiled, min, ratio."""
    F, T = V.shape
    r = math.ceil(T / p)
    padded = np.concatenate([V, np.full((F, r * p - T), np.nan)], axis=1)
    model = np.nanmedian(padded.reshape(F, r, p), axis=1)
    model = np.tile(model, (1, r))[:, :T]
    return (np.minimum(model, V) + eps) / (V + eps)


@pytest.mark.parametrize("period", [1, 3, 7, 10, 25, 40])
def test_period_mask_is_nussl_formula(period):
    rng = np.random.default_rng(period)
    V = rng.random((9, 31)) ** 3
    V[2, 5] = 0.0
    out = np.empty(V.T.shape)
    period_mask(np.ascontiguousarray(V.T), period, 1e-16, out)
    np.testing.assert_allclose(out.T, _nussl_period_mask(V, min(period, 31)), rtol=1e-15, atol=0)


def test_beat_spectrum_is_the_direct_autocorrelation():
    rng = np.random.default_rng(1)
    P = rng.random((6, 37))
    T = P.shape[1]
    direct = np.array([np.mean([P[f, : T - lag] @ P[f, lag:] / (T - lag) for f in range(6)]) for lag in range(T)])
    np.testing.assert_allclose(Repet.compute_beat_spectrum(P), direct, rtol=1e-12)


def test_period_search():
    beat = np.array([9.0, 1.0, 5.0, 3.0, 5.0, 2.0])
    assert Repet.find_repeating_period_simple(beat, 1, 5) == 2  # first lag on ties, lag 0 excluded
    assert Repet.find_repeating_period_simple(beat, 3, 4) == 4
    assert Repet.find_repeating_period_simple(beat, 3, 99) == 4  # range cut at the end
    with pytest.raises(SeparationError, match="no repeating period"):
        Repet.find_repeating_period_simple(beat, 7, 9)


# ---------------------------------------------------------------- behaviour


def test_periodic_noise_is_all_background():
    mix = _noise_loop(period_frames=20, n_periods=8)  # 20 frames = 0.23 s
    sep = Repet(mix, min_period=0.1, max_period=0.6)
    background, foreground = sep.run()
    assert sep.repeating_period == 20
    beat = sep.beat_spectrum
    assert np.argmax(beat[10:30]) + 10 == 20 and np.argmax(beat[30:50]) + 30 == 40  # peaks at k, 2k
    interior = background.mask[:, 8:-8, 0]  # frames away from the zero-padded ends
    assert np.min(interior) > 1 - 1e-9
    bg, fg = sep.make_audio_signals()
    assert np.sqrt(np.mean(fg.audio_data[:, 6000:-6000] ** 2)) < 1e-6


def test_tone_in_the_last_quarter_goes_to_the_foreground():
    mix = _noise_loop(period_frames=20, n_periods=8)
    n = mix.signal_length
    t = np.arange(n) / mix.sample_rate
    tone = np.where(t > t[-1] * 0.75, 0.3 * np.sin(2 * np.pi * 440.0 * t), 0.0)  # in 2 periods of 8
    mix2 = sepkit.AudioSignal(mix.audio_data + tone, mix.sample_rate)
    sep = Repet(mix2, period=20 * 512 / 44100)
    background, foreground = sep.run()
    assert sep.repeating_period == 20
    k = int(round(440.0 * 2048 / 44100))
    late = slice(foreground.mask.shape[1] * 3 // 4 + 4, -4)
    assert np.mean(foreground.mask[k, late, 0]) > 0.9
    noise_bins = np.r_[100:200]
    assert np.mean(background.mask[noise_bins, late, 0]) > 0.7


def test_period_conversion_and_high_pass():
    mix, _ = sepkit.datasets.load_foreground_background_example("loop", duration=3.0)
    sep = Repet(mix, period=0.5, high_pass_cutoff=300.0)
    background, foreground = sep.run()
    assert sep.repeating_period == math.ceil(0.5 * 44100 / 512)  # 44 frames
    assert Repet(mix).period_range() == (math.ceil(0.8 * 44100 / 512), math.ceil(1.0 * 44100 / 512))
    cutoff = int(np.argmin(np.abs(np.linspace(0, 22050, 1025) - 300.0)))  # 14
    assert np.all(foreground.mask[:cutoff] == 0) and np.all(background.mask[:cutoff] == 1)
    assert np.any(foreground.mask[cutoff] > 0)
    np.testing.assert_allclose(background.mask + foreground.mask, 1.0, atol=1e-15)


def test_stereo_and_beat_spectrum_before_run():
    mono, _ = sepkit.datasets.load_foreground_background_example("loop", duration=3.0)
    stereo = sepkit.AudioSignal(np.vstack([mono.audio_data, 0.5 * mono.audio_data]), 44100)
    sep = Repet(stereo, period=0.5)
    beat = sep.get_beat_spectrum()  # nussl's needs run() first
    power = np.mean(nussl_magnitude(sep) ** 2, axis=2)
    np.testing.assert_allclose(beat, Repet.compute_beat_spectrum(power))
    background, _ = sep.run()
    assert background.mask.shape[2] == 2
    # every channel has its own model: the half-level channel gives the same mask, up to the eps
    np.testing.assert_allclose(background.mask[..., 0], background.mask[..., 1], atol=1e-9)


def test_bad_arguments():
    mix, _ = sepkit.datasets.load_foreground_background_example("loop", duration=1.0)
    with pytest.raises(SeparationError, match="period"):
        Repet(mix, period=0.5, min_period=0.2)
    with pytest.raises(SeparationError, match="min_period"):
        Repet(mix, min_period=-1.0)
    with pytest.raises(SeparationError, match="max_period"):
        Repet(mix, min_period=0.5, max_period=0.2)
    with pytest.raises(SeparationError, match="high_pass_cutoff"):
        Repet(mix, high_pass_cutoff=30000.0)
    with pytest.raises(SeparationError, match="no repeating period"):
        Repet(mix).run()  # 0.8 s > duration / 3


def test_binary_masks_partition():
    mix, _ = sepkit.datasets.load_foreground_background_example("loop", duration=3.0)
    background, foreground = Repet(mix, period=0.5, mask_type="binary").run()
    assert np.all(background.mask ^ foreground.mask)  # no exact 0.5 ties on real audio


# ---------------------------------------------------------------- nussl parity


@pytest.mark.parametrize("name", ["repet", "repet_binary", "repet_period", "repet_range"])
def test_parity_with_nussl(name):
    f = _fixture(name)
    mix = sepkit.AudioSignal(f["mix"].astype(np.float64), int(f["sample_rate"]))
    sep = Repet(mix, **json.loads(str(f["params"])))
    masks = np.stack([m.mask for m in sep.run()], axis=-1).astype(np.float64)
    np.testing.assert_allclose(masks, f["masks"].astype(np.float64), rtol=0, atol=1e-6)
    assert sep.repeating_period == int(f["period"])
    if f["beat_spectrum"].size:
        beat = f["beat_spectrum"]
        np.testing.assert_allclose(sep.beat_spectrum, beat, rtol=0, atol=1e-12 * np.max(np.abs(beat)))


# ---------------------------------------------------------------- quality


@pytest.mark.filterwarnings("ignore:estimates 0 and 1 are identical")
def test_quality_on_the_loop_example(loop_sdr):
    sdr, baseline = loop_sdr(Repet)
    # measured 9.166 / 5.807 dB; nussl 1.1.9 on the same mixture: 9.166 / 5.807 dB
    # (MixAsEstimate: 3.36 / -3.36 dB)
    assert sdr[0] >= 9.16 and sdr[1] >= 5.80
    assert np.all(sdr > baseline + 5)


@pytest.mark.parametrize("mask_type", ["soft", "binary"])
def test_foreground_is_the_mixture_minus_the_background(mask_type):
    # Soft masks [M, 1 - M]: one inverse STFT, the foreground as mixture - background; equal to
    # inverting each masked STFT (the general path, which binary masks take) to rounding.
    from sepkit.core import STFTParams
    from sepkit.separation.base import MaskSeparationBase

    rng = np.random.default_rng(7)
    mix = sepkit.AudioSignal(rng.standard_normal((2, 22050)) * 0.1, 22050)
    params = STFTParams(window_length=512, hop_length=128)
    sep = Repet(mix, period=0.2, mask_type=mask_type, stft_params=params)
    sep.run()
    fast = sep.make_audio_signals()
    general = MaskSeparationBase.make_audio_signals(sep)
    assert [e.label for e in fast] == ["background", "foreground"]
    for a, b in zip(fast, general):
        assert a.audio_data.shape == mix.audio_data.shape
        np.testing.assert_allclose(a.audio_data, b.audio_data, rtol=0, atol=1e-12)
