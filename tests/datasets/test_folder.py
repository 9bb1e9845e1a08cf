"""FolderDataset: MUSDB18-HQ and chorale layouts built in tmp_path, lazy loading, clear errors."""

import json
import os

import numpy as np
import pytest
import soundfile

from sepkit import DatasetError
from sepkit.datasets import FolderDataset, load_example

RATE = 44100
MUSDB = {"violin": "vocals", "clarinet": "drums", "saxophone": "bass", "bassoon": "other"}


def _stems(seconds=1.0, start=0.0, stereo=False):
    mix, sources = load_example(stereo=stereo)
    a, b = int(start * RATE), int((start + seconds) * RATE)
    return {name: sig.audio_data[:, a:b] for name, sig in sources.items()}


def _write(path, audio, rate=RATE, subtype="FLOAT"):
    soundfile.write(str(path), np.asarray(audio).T, rate, subtype=subtype)


def make_chorales(root, n_items=2, seconds=1.0):
    """chorales-dev layout: mix.wav, one WAV per instrument, plus files that are not sources."""
    for i in range(n_items):
        folder = root / f"bwv{255 + i}"
        folder.mkdir(parents=True)
        stems = _stems(seconds, start=i * seconds)
        for name, audio in stems.items():
            _write(folder / f"{name}.wav", audio)
            (folder / f"{name}.mid").write_bytes(b"MThd\x00\x00\x00\x06")
        _write(folder / "mix.wav", sum(stems.values()))
        _write(folder / "mix_violin_clarinet.wav", stems["violin"] + stems["clarinet"])
        (folder / "notes.csv").write_text("stem,voice,onset_s\n")
        (folder / "metadata.json").write_text(json.dumps({"piece": folder.name}))
    return root


def make_musdb(root, n_items=2, seconds=1.0):
    """MUSDB18-HQ layout: mixture.wav, vocals/drums/bass/other.wav, stereo."""
    for i in range(n_items):
        folder = root / f"Artist - Track {i}"
        folder.mkdir(parents=True)
        stems = _stems(seconds, start=i * seconds, stereo=True)
        for name, audio in stems.items():
            _write(folder / f"{MUSDB[name]}.wav", audio)
        _write(folder / "mixture.wav", sum(stems.values()))
    return root


def test_chorale_layout_default_sources_skip_other_mixes_and_non_audio(tmp_path):
    ds = FolderDataset(make_chorales(tmp_path / "ch"))
    assert len(ds) == 2 and ds.names == ["bwv255", "bwv256"]
    name, mix, sources = ds[0]
    assert name == "bwv255"
    assert list(sources) == ["bassoon", "clarinet", "saxophone", "violin"]
    assert mix.sample_rate == RATE and mix.signal_length == RATE and mix.num_channels == 1
    assert all(s.label == label for label, s in sources.items())
    np.testing.assert_allclose(sum(s.audio_data for s in sources.values()), mix.audio_data, atol=1e-6)


@pytest.mark.parametrize("names", [["violin", "clarinet"], ["violin.wav", "clarinet.wav"]])
def test_chorale_layout_source_list_keeps_order(tmp_path, names):
    ds = FolderDataset(make_chorales(tmp_path / "ch", n_items=1), mixture="mix", sources=names)
    assert list(ds[0].sources) == ["violin", "clarinet"]


def test_glob_pattern_selects_sources(tmp_path):
    # A pattern is taken literally (only the mixture itself is excluded) ...
    ds = FolderDataset(make_chorales(tmp_path / "ch", n_items=1), sources="*o*.wav")
    assert list(ds[0].sources) == ["bassoon", "mix_violin_clarinet", "saxophone", "violin"]
    # ... so a stricter one leaves other mixtures out.
    ds = FolderDataset(tmp_path / "ch", sources="[bsv]*.wav")
    assert list(ds[0].sources) == ["bassoon", "saxophone", "violin"]


def test_musdb_layout(tmp_path):
    root = make_musdb(tmp_path / "musdb")
    ds = FolderDataset(root, mixture="mixture.wav", sources=["vocals", "drums", "bass", "other"])
    assert ds.names == ["Artist - Track 0", "Artist - Track 1"]
    items = list(ds)
    assert [item.name for item in items] == ds.names
    name, mix, sources = ds["Artist - Track 1"]
    assert list(sources) == ["vocals", "drums", "bass", "other"]
    assert mix.num_channels == 2 and all(s.num_channels == 2 for s in sources.values())
    assert list(FolderDataset(root, mixture="mixture.wav")[0].sources) == ["bass", "drums", "other", "vocals"]
    assert ds[-1].name == "Artist - Track 1"
    with pytest.raises(IndexError):
        ds[2]
    with pytest.raises(DatasetError, match="no item named"):
        ds["nope"]


def test_files_lists_paths_without_reading(tmp_path):
    ds = FolderDataset(make_chorales(tmp_path / "ch", n_items=1), sources=["violin"])
    mix, sources = ds.files(0)
    assert mix.endswith(os.path.join("bwv255", "mix.wav"))
    assert sources == {"violin": str(tmp_path / "ch" / "bwv255" / "violin.wav")}


def _break(folder, how):
    if how == "missing source":
        os.remove(folder / "clarinet.wav")
        return "clarinet"
    if how == "missing mixture":
        os.remove(folder / "mix.wav")
        return "mix.wav"
    if how == "sample rate":
        audio, _ = soundfile.read(str(folder / "violin.wav"), always_2d=True)
        _write(folder / "violin.wav", audio.T, rate=22050)
        return "sample rate of 'violin.wav' is 22050 Hz"
    if how == "length":
        audio, _ = soundfile.read(str(folder / "violin.wav"), always_2d=True)
        _write(folder / "violin.wav", audio.T[:, :-10])
        return "length of 'violin.wav'"
    if how == "channels":
        audio, _ = soundfile.read(str(folder / "violin.wav"), always_2d=True)
        _write(folder / "violin.wav", np.vstack([audio.T, audio.T]))
        return "channel count of 'violin.wav' is 2"
    if how == "unreadable":
        (folder / "saxophone.wav").write_text("not audio")
        return "saxophone.wav"
    if how == "nan":
        audio, _ = soundfile.read(str(folder / "bassoon.wav"), always_2d=True)
        audio[100] = np.nan
        _write(folder / "bassoon.wav", audio.T)
        return "bassoon.wav"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["missing source", "missing mixture", "sample rate", "length", "channels", "unreadable", "nan"]
)
def test_broken_item_raises_dataset_error_naming_item_and_file(tmp_path, how):
    root = make_chorales(tmp_path / "ch")
    expected = _break(root / "bwv256", how)
    ds = FolderDataset(root, sources=["violin", "clarinet", "saxophone", "bassoon"])  # lazy: no error yet
    assert ds[0].name == "bwv255"
    with pytest.raises(DatasetError) as info:
        ds[1]
    assert "bwv256" in str(info.value) and expected in str(info.value)


def test_bad_roots_and_arguments(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        FolderDataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no item folder"):
        FolderDataset(tmp_path / "empty")
    root = make_chorales(tmp_path / "ch", n_items=1)
    with pytest.raises(DatasetError, match="distinct"):
        FolderDataset(root, sources=["violin", "violin.wav"])
    with pytest.raises(DatasetError, match="cannot also be a source"):
        FolderDataset(root, sources=["mix", "violin"])
    with pytest.raises(DatasetError, match="no source file"):
        FolderDataset(root, sources="*.flac")[0]
