"""The bundled examples: chorale stems and notes, drum loop with onsets and one-shots."""

import numpy as np
import pytest

import sepkit
from sepkit.core import DatasetError
from sepkit.datasets import load_drum_example, load_example, load_example_notes


def test_example_notes_match_the_stems():
    notes = load_example_notes()
    assert {n.stem for n in notes} == {"violin", "clarinet", "saxophone", "bassoon"}
    assert all(0.2 <= n.onset_s < 10.0 and n.offset_s > n.onset_s for n in notes)
    violin = load_example_notes(["violin"])
    assert [n.stem for n in violin] == ["violin"] * len(violin) and len(violin) == 12
    # the first note starts after the 0.2 s lead-in: the violin stem is silent before it
    _, sources = load_example(["violin"])
    lead_in = sources["violin"].audio_data[:, : int(0.19 * 44100)]
    assert not np.any(lead_in)
    with pytest.raises(DatasetError, match="piano"):
        load_example_notes(["piano"])


def test_drum_example_stems_sum_to_the_mixture():
    mix, sources, onsets, samples = load_drum_example()
    assert list(sources) == list(onsets) == list(samples) == ["kick", "snare", "hihat"]
    assert mix.sample_rate == 44100 and mix.signal_length == 218232
    residual = mix.audio_data - sum(s.audio_data for s in sources.values())
    # equal up to 16-bit rounding: 77 dB below the mixture (README)
    assert 10 * np.log10(np.sum(residual**2) / np.sum(mix.audio_data**2)) < -70
    assert [len(onsets[k]) for k in onsets] == [8, 8, 32]
    assert all(np.all(np.diff(t) >= 0) and t.max() < mix.signal_duration for t in onsets.values())
    assert all(len(v) == 5 for v in samples.values())
    assert all(0.05 < s.signal_duration < 0.17 and s.sample_rate == 44100 for v in samples.values() for s in v)
    # kick hits carry energy in the kick stem around their onsets
    kick = sources["kick"].audio_data[0]
    for t in onsets["kick"]:
        start = int(t * 44100)
        assert np.abs(kick[start : start + 2205]).max() > 0.1 * np.abs(kick).max()


def test_examples_are_read_only_signals():
    mix, _, _, samples = load_drum_example()
    assert isinstance(samples["kick"][0], sepkit.AudioSignal)
    with pytest.raises(ValueError):
        mix.audio_data[0, 0] = 1.0
