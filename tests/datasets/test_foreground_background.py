"""The bundled foreground/background examples: exact sums, shapes, the loop's period, levels."""

import doctest

import numpy as np
import pytest

import sepkit.datasets.foreground_background as foreground_background

from sepkit.core import DatasetError
from sepkit.datasets import (
    FOREGROUND_BACKGROUND_SOURCES,
    LOOP_PERIOD_SAMPLES,
    load_foreground_background_example,
)

LENGTHS = {"loop": 441000, "drums": 436464}


@pytest.mark.parametrize("kind", ["loop", "drums"])
def test_mixture_is_the_exact_sum_of_the_sources(kind):
    mix, sources = load_foreground_background_example(kind)
    assert list(sources) == list(FOREGROUND_BACKGROUND_SOURCES[kind])
    assert [s.label for s in sources.values()] == list(sources) and mix.label == "mix"
    for sig in [mix, *sources.values()]:
        assert sig.sample_rate == 44100 and sig.audio_data.shape == (1, LENGTHS[kind])
    np.testing.assert_array_equal(mix.audio_data, sum(s.audio_data for s in sources.values()))
    # 16-bit samples, loudest at -1 dBFS, no source silent or clipped
    assert np.all(mix.audio_data * 32768 == np.round(mix.audio_data * 32768))
    assert np.isclose(np.abs(mix.audio_data).max(), 10 ** (-1 / 20), atol=1 / 32768)
    for sig in sources.values():
        assert 0.1 < np.abs(sig.audio_data).max() < 0.99 and np.sqrt(np.mean(sig.audio_data**2)) > 0.01


def test_loop_background_repeats_with_its_period_and_foreground_does_not():
    _, sources = load_foreground_background_example("loop")
    background = sources["background"].audio_data[0]
    foreground = sources["foreground"].audio_data[0]
    assert LOOP_PERIOD_SAMPLES == 110250 and background.size == 4 * LOOP_PERIOD_SAMPLES
    segments = background.reshape(4, LOOP_PERIOD_SAMPLES)
    np.testing.assert_array_equal(segments, np.broadcast_to(segments[0], segments.shape))
    # faded at the seam (no click), sounding in between
    assert np.abs(segments[0, :20]).max() < 1e-3 and np.abs(segments[0, -20:]).max() < 1e-3
    # the violin's segments are far from each other: a melody, not a loop
    fg = foreground.reshape(4, LOOP_PERIOD_SAMPLES)
    for k in range(1, 4):
        assert np.sum((fg[k] - fg[0]) ** 2) > 0.5 * np.sum(fg[0] ** 2)


def test_drums_percussive_source_is_the_loop_played_twice():
    _, sources = load_foreground_background_example("drums")
    drums = sources["percussive"].audio_data[0].reshape(2, -1)
    np.testing.assert_array_equal(drums[0], drums[1])
    # the voice starts after the chorales' 0.2 s lead-in; the drums from the first sample
    assert not np.any(sources["harmonic"].audio_data[0, : int(0.19 * 44100)])
    assert np.abs(drums[0, :2205]).max() > 0.1


def test_excerpt_and_bad_arguments():
    full_mix, full_sources = load_foreground_background_example("loop")
    mix, sources = load_foreground_background_example("loop", duration=2.5)
    assert mix.signal_length == LOOP_PERIOD_SAMPLES
    np.testing.assert_array_equal(mix.audio_data, full_mix.audio_data[:, :LOOP_PERIOD_SAMPLES])
    np.testing.assert_array_equal(mix.audio_data, sum(s.audio_data for s in sources.values()))
    assert load_foreground_background_example("drums", duration=60)[0].signal_length == LENGTHS["drums"]
    with pytest.raises(DatasetError, match="'vocals'"):
        load_foreground_background_example("vocals")
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(DatasetError, match="duration"):
            load_foreground_background_example("loop", duration=bad)
    with pytest.raises(DatasetError, match="one sample"):
        load_foreground_background_example("loop", duration=1e-6)


def test_docstring_examples_run():
    result = doctest.testmod(foreground_background, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
