"""NMF family: every argument is stored under its name, and ``type(s)(mix, **s.get_params())``
gives the same estimates, in every mode."""

import pathlib

import numpy as np
import pytest

import sepkit
from sepkit import AudioSignal
from sepkit.separation.nmf import NMF, NMFD, SNPA

PACKAGE_DATA = pathlib.Path(sepkit.__file__).resolve().parent / "data" / "drums"
DRUMS = ("kick", "snare", "hihat")


@pytest.fixture(scope="module")
def duet():
    mix, sources = sepkit.datasets.load_example(["violin", "clarinet"])
    n = 22050
    sources = {k: v.truncate(n) for k, v in sources.items()}
    return sum(sources.values()).with_label("mix"), sources


@pytest.fixture(scope="module")
def drums():
    mix = AudioSignal(PACKAGE_DATA / "funky_mix.flac").truncate(22050)
    shots = {d: sorted((PACKAGE_DATA / d).glob("*.flac"))[:1] for d in DRUMS}
    return mix, NMFD.templates_from_samples(shots, n_template_frames=4, n_iter=5, seed=0), PACKAGE_DATA / "funky_onsets.txt"


def _same_estimates(sep):
    mix = sep.audio_signal
    before = mix.audio_data.copy()
    first = [e.audio_data for e in sep()]
    params = sep.get_params()
    again = type(sep)(mix, **params)
    second = [e.audio_data for e in again()]
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(mix.audio_data, before)
    assert again.get_params().keys() == params.keys()


def _notes(sources):
    return [
        {"stem": "violin", "onset_s": 0.0, "offset_s": 0.4, "midi_pitch": 74},
        {"stem": "clarinet", "onset_s": 0.1, "offset_s": 0.5, "midi_pitch": 65},
    ]


@pytest.mark.parametrize("mode", ["blind", "percussiveness", "snpa-init", "supervised", "supervised+other", "score"])
def test_nmf_round_trip(duet, mode):
    mix, sources = duet
    kw = dict(n_iter=5, seed=0)
    if mode == "blind":
        sep = NMF(mix, 2, n_components=4, **kw)
    elif mode == "percussiveness":
        sep = NMF(mix, 2, n_components=4, grouping="percussiveness", **kw)
    elif mode == "snpa-init":
        sep = NMF(mix, 2, n_components=4, init="snpa", grouping="centroid", **kw)
    elif mode.startswith("supervised"):
        templates = NMF.learn_templates({k: [v] for k, v in sources.items()}, n_components=3, n_iter=5, seed=0)
        extra = dict(num_sources=3, free_components=2) if mode.endswith("other") else {}
        sep = NMF(mix, templates=templates, **extra, **kw)
    else:
        sep = NMF(mix, score=_notes(sources), free_components=1, **kw)
    _same_estimates(sep)


@pytest.mark.parametrize("variant, n_iter", [("snpa", 0), ("xray-greedy", 0), ("snpa", 5)])
def test_snpa_round_trip(duet, variant, n_iter):
    mix, _ = duet
    _same_estimates(SNPA(mix, 2, n_components=4, variant=variant, n_iter=n_iter, grouping="centroid", seed=0))


@pytest.mark.filterwarnings("ignore:.*fall after the last frame")
@pytest.mark.parametrize("mode", ["random", "templates", "templates+onsets", "fixed", "pitched", "array"])
def test_nmfd_round_trip(drums, mode):
    mix, templates, onsets = drums
    kw = dict(n_iter=5, seed=0)
    if mode == "random":
        sep = NMFD(mix, n_components=3, n_template_frames=4, **kw)
    elif mode == "templates":
        sep = NMFD(mix, templates=templates, **kw)
    elif mode == "templates+onsets":
        sep = NMFD(mix, templates=templates, activations=onsets, onset_decay=0.5, **kw)
    elif mode == "fixed":
        sep = NMFD(mix, templates=templates, fix_W=True, labels=["hihat", "kick", "snare"], **kw)
    elif mode == "pitched":
        sep = NMFD(mix, templates="pitched", pitches={"low": 40, "high": 52}, n_template_frames=3, **kw)
    else:
        H = np.random.default_rng(0).random((3, mix.stft().shape[1]))
        sep = NMFD(mix, activations=H, n_template_frames=4, **kw)
    _same_estimates(sep)
