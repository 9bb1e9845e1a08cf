"""Melody: the harmonic comb against a plain formula, pYIN's track on a tone, masks, quality."""

import numpy as np
import pytest

import sepkit
from sepkit.core import BinaryMask, SeparationError
from sepkit.evaluation import bss_eval_sources
from sepkit.separation.primitive.melody import Melody, harmonic_comb_mask


def _reference_comb(f0, n_freq, sr, num_overtones, width):
    bin_hz = sr / (2.0 * (n_freq - 1))
    mask = np.zeros((n_freq, len(f0)))
    for t, f in enumerate(f0):
        if not f > 0:
            continue
        for h in range(1, num_overtones + 1):
            centre = h * f / bin_hz
            if centre >= n_freq - 1:
                continue
            for k in range(n_freq):
                mask[k, t] = max(mask[k, t], 1.0 - abs(k - centre) / width)
    return mask


@pytest.fixture(scope="module")
def loop():
    """The first 3 s of the loop example: (mix, [background, foreground])."""
    mix, sources = sepkit.datasets.load_foreground_background_example("loop", duration=3.0)
    return mix, [sources["background"], sources["foreground"]]


@pytest.mark.parametrize("width", [0.7, 2.0, 3.5])
def test_comb_equals_plain_formula(width):
    f0 = np.array([0.0, 220.0, 261.6, np.nan, 1500.0, 55.0, 10000.0])
    mask = harmonic_comb_mask(f0, 1025, 44100, 12, width)
    np.testing.assert_allclose(mask, _reference_comb(f0, 1025, 44100, 12, width), rtol=0, atol=1e-12)
    assert np.all(mask[:, [0, 3]] == 0.0)


def test_given_constant_pitch_masks_the_overtones(loop):
    mix = loop[0]
    n_frames = mix.stft().shape[1]
    f0 = np.full(n_frames, 220.0)
    f0[:10] = 0.0  # unvoiced: all background
    background, melody = (m.mask[:, :, 0] for m in Melody(mix, f0=f0, num_overtones=40).run())
    bin_hz = mix.sample_rate / 2048
    for h in range(1, 41):
        assert melody[int(round(h * 220 / bin_hz)), 20] > 0.5
    between = [int(round((h + 0.5) * 220 / bin_hz)) for h in range(1, 40)]
    assert np.all(melody[between, 20:] == 0.0)
    assert np.all(melody[:, :10] == 0.0) and np.all(melody[int(round(41.5 * 220 / bin_hz)):] == 0.0)
    np.testing.assert_allclose(background + melody, 1.0, atol=1e-15)


def test_high_pass_and_track_lengths(loop):
    mix = loop[0]
    n_frames = mix.stft().shape[1]
    sep = Melody(mix, f0=np.full(n_frames - 5, 60.0), high_pass_cutoff=150.0)
    melody = sep.run()[1].mask[:, :, 0]
    assert sep.pitch.shape == (n_frames,) and np.all(sep.pitch[-5:] == 0.0)
    cutoff = int(np.argmin(np.abs(np.linspace(0, mix.sample_rate // 2, 1025) - 150.0)))
    assert np.all(melody[:cutoff] == 0.0) and melody[cutoff:, 0].max() > 0.5
    longer = Melody(mix, f0=np.full(n_frames + 7, 60.0), high_pass_cutoff=150.0).run()[1].mask[:, :, 0]
    np.testing.assert_array_equal(longer[:, :-5], melody[:, :-5])
    binary = Melody(mix, f0=np.full(n_frames, 60.0), mask_type="binary").run()
    assert isinstance(binary[0], BinaryMask)
    np.testing.assert_array_equal(binary[0].mask ^ binary[1].mask, True)


def test_pyin_tracks_a_harmonic_tone():
    sr = 44100
    t = np.arange(sr) / sr
    tone = sum(np.sin(2 * np.pi * 440.0 * h * t) / h for h in range(1, 8))
    sep = Melody(sepkit.AudioSignal(0.1 * tone[None], sr))
    sep.run()
    voiced = sep.pitch > 0
    assert voiced[5:-5].mean() > 0.9
    np.testing.assert_allclose(sep.pitch[voiced], 440.0, rtol=0.01)
    assert sep.voicing_probability is not None


def test_stereo_mask_on_both_channels(loop):
    mix = loop[0].truncate(44100)
    stereo = sepkit.AudioSignal(np.vstack([mix.audio_data, 0.3 * mix.audio_data]), mix.sample_rate)
    f0 = np.full(mix.stft().shape[1], 330.0)
    masks = Melody(stereo, f0=f0).run()
    np.testing.assert_array_equal(masks[1].mask[:, :, 0], masks[1].mask[:, :, 1])


@pytest.mark.parametrize("kwargs, word", [
    ({"minimum_frequency": 500.0, "maximum_frequency": 400.0}, "maximum_frequency"),
    ({"minimum_frequency": 0.0}, "minimum_frequency"), ({"num_overtones": 0}, "num_overtones"),
    ({"voicing_tolerance": 1.5}, "voicing_tolerance"), ({"harmonic_width": 0.0}, "harmonic_width"),
    ({"pitch_sample_rate": 3000}, "pitch_sample_rate"), ({"f0": [100.0, -1.0]}, "f0"),
    ({"f0": [[100.0]]}, "f0"), ({"high_pass_cutoff": -5.0}, "high_pass_cutoff"),
])
def test_bad_arguments(loop, kwargs, word):
    with pytest.raises(SeparationError, match=word):
        Melody(loop[0], **kwargs)


def test_pitch_rate_must_give_a_whole_hop(loop):
    with pytest.raises(SeparationError, match="pitch_sample_rate"):
        Melody(loop[0].truncate(4410), pitch_sample_rate=16000).run()
    assert Melody(loop[0])._pitch_rate() == 22050


def test_low_sample_rate_tracks_at_its_own_rate():
    sr = 8000
    t = np.arange(sr) / sr
    tone = sum(np.sin(2 * np.pi * 330.0 * h * t) / h for h in range(1, 6))
    sep = Melody(sepkit.AudioSignal(0.1 * tone[None], sr))
    assert sep._pitch_rate() == 8000
    sep.run()
    voiced = sep.pitch > 0
    assert voiced[5:-5].mean() > 0.9
    np.testing.assert_allclose(sep.pitch[voiced], 330.0, rtol=0.01)


def test_quality_on_the_loop(loop):
    # Measured on these 3 s (BSS Eval v3 SDR, background / foreground), minimum_frequency=300 Hz (above the
    # accompaniment, so pYIN follows the violin): 6.26 / 0.57 dB; the mixture as estimate 4.06 / -3.00 dB;
    # RPCA on the same input 5.21 / -1.59 dB. nussl's Melodia cannot run without its vamp plugin.
    mix, refs = loop
    estimates = Melody(mix, minimum_frequency=300.0)()
    sdr = bss_eval_sources(refs, estimates, compute_permutation=False).values["SDR"][:, 0]
    with pytest.warns(UserWarning, match="identical"):
        mix_sdr = bss_eval_sources(refs, [mix, mix], compute_permutation=False).values["SDR"][:, 0]
    assert np.all(sdr > [5.9, 0.2]), sdr
    assert np.all(sdr > mix_sdr + 1.8), (sdr, mix_sdr)
