"""NMFD separator and onset-informed activations: hand-computed arrays, one-shot templates,
measured quality on the 808 and Funky drum loops, reproducibility, stereo and bad input.

Data (libnmfd's drum material, MIT): the 808 loop in ``tests/data/drums`` (see the README
there); the Funky loop and the one-shots ship with sepkit (``sepkit/data/drums``, read by
:func:`sepkit.datasets.load_drum_example`).
"""

import pathlib
import warnings

import numpy as np
import pytest

import sepkit
from sepkit import (
    AudioSignal,
    BinaryMask,
    SeparationError,
    SepkitError,
    SoftMask,
    STFTParams,
)
from sepkit.evaluation import assign, si_sdr_signals
from sepkit.separation import MixAsEstimate
from sepkit.separation.nmf import NMF, NMFD, onset_activations, read_drum_onsets
from sepkit.separation.nmf.onsets import DRUM_CLASSES, onset_frames
from sepkit.separation.nmf.score import comb_templates

DATA = pathlib.Path(__file__).resolve().parent.parent / "data" / "drums"
PACKAGE_DATA = pathlib.Path(sepkit.__file__).resolve().parent / "data" / "drums"
DRUMS = ("kick", "snare", "hihat")
LOOPS = ("808", "Funky")

# SI-SDR in dB (kick, snare, hi-hat) measured with the default STFT (2048 / 512 sqrt-Hann),
# templates_from_samples(all 15 one-shots, seed=0) and NMFD(..., seed=0), 30 iterations:
#
#   loop   method                              kick   snare  hi-hat
#   808    NMFD one-shot templates            36.82    5.09   11.84
#   808    NMFD templates + onsets            41.76    7.85   14.14
#   808    NMF blind (centroid, best perm.)    9.52   -6.84   11.14
#   808    MixAsEstimate                       8.24  -15.56   -9.38
#   Funky  NMFD one-shot templates            22.84   13.69    6.20
#   Funky  NMFD templates + onsets            20.20   13.19    4.68
#   Funky  NMF blind (centroid, best perm.)    8.24    3.86    1.74
#   Funky  MixAsEstimate                       2.57   -3.52  -11.66
#
# (seeds 1 and 2 move these by at most 0.45 dB). Floors sit 0.5-1 dB below.
FLOORS = {
    ("808", "templates"): [36.0, 4.5, 11.0],
    ("808", "templates+onsets"): [41.0, 7.0, 13.5],
    ("Funky", "templates"): [22.0, 13.0, 5.5],
    ("Funky", "templates+onsets"): [19.5, 12.5, 4.0],
}


def _paths(loop):
    if loop == "Funky":  # bundled with the package
        return {
            "mix": PACKAGE_DATA / "funky_mix.flac",
            "onsets": PACKAGE_DATA / "funky_onsets.txt",
            **{drum: PACKAGE_DATA / f"funky_{drum}.flac" for drum in DRUMS},
        }
    return {
        "mix": DATA / f"runningExample_{loop}Mixture.flac",
        "onsets": DATA / f"runningExample_{loop}Drums.txt",
        **{drum: DATA / f"runningExample_{loop}{drum.capitalize()}.flac" for drum in DRUMS},
    }


def _one_shots():
    return {drum: sorted((PACKAGE_DATA / drum).glob("*.flac")) for drum in DRUMS}


@pytest.fixture(scope="module")
def templates():
    return NMFD.templates_from_samples(_one_shots(), seed=0)


@pytest.fixture(scope="module")
def loops():
    out = {}
    for loop in LOOPS:
        p = _paths(loop)
        out[loop] = (AudioSignal(p["mix"]), [AudioSignal(p[d]) for d in DRUMS], p["onsets"])
    return out


@pytest.fixture(scope="module")
def scores(loops, templates):
    """SI-SDR (kick, snare, hi-hat) of every method on both loops, and the separators."""
    out = {}
    for loop, (mix, refs, onsets) in loops.items():
        nmfd_t = NMFD(mix, templates=templates, seed=0)
        nmfd_o = NMFD(mix, templates=templates, activations=onsets, seed=0)
        for name, sep in (("templates", nmfd_t), ("templates+onsets", nmfd_o)):
            estimates = sep()
            assert [e.label for e in estimates] == list(DRUMS)
            out[loop, name] = si_sdr_signals(refs, estimates)[:, 0]
            out[loop, name, "separator"] = sep
            out[loop, name, "estimates"] = estimates
        # blind NMF: its sources have no names, so each reference gets its best estimate
        blind = NMF(mix, num_sources=3, grouping="centroid", seed=0)()
        pairwise = np.array([[si_sdr_signals([r], [e])[0, 0] for e in blind] for r in refs])
        out[loop, "blind"] = pairwise[np.arange(3), assign(pairwise)]
        out[loop, "mix"] = si_sdr_signals(refs, MixAsEstimate(mix, 3)())[:, 0]
    return out


# ---- onsets ---------------------------------------------------------------------------


def test_read_drum_onsets_counts_and_values():
    onsets = read_drum_onsets(DATA / "runningExample_808Drums.txt")
    assert list(onsets) == list(DRUMS)
    assert {k: v.size for k, v in onsets.items()} == {"kick": 12, "snare": 8, "hihat": 32}
    np.testing.assert_array_equal(onsets["snare"][:3], [0.4761, 1.4284, 2.3807])
    assert onsets["kick"][0] == 0.0 and onsets["hihat"][1] == 0.238
    funky = read_drum_onsets(str(PACKAGE_DATA / "funky_onsets.txt"))
    assert {k: v.size for k, v in funky.items()} == {"kick": 8, "snare": 8, "hihat": 32}
    assert all(np.all(np.diff(v) >= 0) for v in funky.values())
    assert DRUM_CLASSES == {1: "kick", 2: "snare", 3: "hihat"}


def test_read_drum_onsets_custom_classes_and_empty_class(tmp_path):
    path = tmp_path / "hits.txt"
    path.write_text("# comment\n0.5\t2\n\n0.25 2.0000\n0.125,7\n")
    onsets = read_drum_onsets(path, classes={2: "snare", 7: "tom", 1: "kick"})
    assert list(onsets) == ["snare", "tom", "kick"]
    np.testing.assert_array_equal(onsets["snare"], [0.25, 0.5])
    np.testing.assert_array_equal(onsets["tom"], [0.125])
    assert onsets["kick"].shape == (0,)


@pytest.mark.parametrize(
    "text, match",
    [
        ("0.5\t4\n", r"unknown drum class '4'"),
        ("0.5\t1.5\n", r"unknown drum class '1.5'"),
        ("-0.1\t1\n", r"'-0.1'"),
        ("0.5\n", r"time<TAB>class"),
        ("abc\t1\n", r"two numbers"),
        ("# nothing\n", r"no onsets"),
    ],
)
def test_read_drum_onsets_rejects_bad_lines(tmp_path, text, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(SeparationError, match=match):
        read_drum_onsets(path)


def test_read_drum_onsets_missing_file_and_bad_classes(tmp_path):
    with pytest.raises(SeparationError, match="nope.txt"):
        read_drum_onsets(tmp_path / "nope.txt")
    with pytest.raises(SeparationError, match="classes"):
        read_drum_onsets(DATA / "runningExample_808Drums.txt", classes={})
    with pytest.raises(SeparationError, match="distinct"):
        read_drum_onsets(DATA / "runningExample_808Drums.txt", classes={1: "a", 2: "a", 3: "b"})


def test_onset_frames_follow_the_centred_stft():
    # frame n is centred on n * hop: t * rate / hop = 0, 0.4995, 20.4996 -> frames 0, 0, 20
    frames = onset_frames([0.0, 0.0058, 0.238], stft_params=STFTParams(2048, 512), sample_rate=44100)
    np.testing.assert_array_equal(frames, [0, 0, 20])
    # halves round up; hop in seconds gives the same
    np.testing.assert_array_equal(onset_frames([1.25, 1.2499, 0.0], hop_seconds=0.5), [3, 2, 0])
    # a frame is centred at its time: the onset at frame 20's centre maps to 20
    assert onset_frames([20 * 512 / 44100], stft_params=STFTParams(2048, 512), sample_rate=44100)[0] == 20


def test_onset_activations_hand_computed():
    onsets = {"kick": [0.0, 0.04], "snare": [0.021]}
    expected = np.array(
        [
            [1.0, 0.5, 0.25, 0.125, 1.0, 0.5, 0.25],
            [0.0, 0.0, 1.0, 0.5, 0.25, 0.125, 0.0625],
        ]
    )
    H = onset_activations(onsets, 7, hop_seconds=0.01, decay=0.5, lead_frames=0)
    np.testing.assert_allclose(H, expected, rtol=0, atol=1e-15)
    # default lead of one frame: impulses one frame earlier (frame 0 stays 0)
    lead = onset_activations(onsets, 7, hop_seconds=0.01, decay=0.5)
    np.testing.assert_allclose(
        lead,
        [[1.0, 0.5, 0.25, 1.0, 0.5, 0.25, 0.125], [0.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]],
        rtol=0,
        atol=1e-15,
    )
    # decay 0: bare impulses; per-label decays
    np.testing.assert_array_equal(
        onset_activations(onsets, 7, hop_seconds=0.01, decay=0.0, lead_frames=0),
        (expected == 1.0).astype(float),
    )
    per_label = onset_activations(onsets, 7, hop_seconds=0.01, decay={"kick": 0.0, "snare": 0.5}, lead_frames=0)
    np.testing.assert_array_equal(per_label[0], [1, 0, 0, 0, 1, 0, 0])
    np.testing.assert_allclose(per_label[1], expected[1], rtol=0, atol=1e-15)


def test_onset_activations_match_a_plain_nema_and_stft_params():
    onsets = read_drum_onsets(PACKAGE_DATA / "funky_onsets.txt")
    params = STFTParams(2048, 512)
    N = 428
    H = onset_activations(onsets, N, stft_params=params, sample_rate=44100, decay=0.75)
    assert H.shape == (3, N) and H.dtype == np.float64
    # the same from hop_seconds, and a plain Python NEMA over the impulses
    np.testing.assert_array_equal(H, onset_activations(onsets, N, hop_seconds=512 / 44100, decay=0.75))
    for k, times in enumerate(onsets.values()):
        x = np.zeros(N)
        x[np.maximum(np.floor(np.asarray(times) * 44100 / 512 + 0.5).astype(int) - 1, 0)] = 1.0
        y = np.empty(N)
        y[0] = x[0]
        for n in range(1, N):
            y[n] = max(x[n], 0.75 * y[n - 1] + 0.25 * x[n])
        np.testing.assert_allclose(H[k], y, rtol=1e-15, atol=0)


def test_onset_activations_warn_about_late_onsets():
    with pytest.warns(UserWarning, match=r"1 onset\(s\) of 'kick'.*0.1000 s"):
        H = onset_activations({"kick": [0.02, 0.1]}, 5, hop_seconds=0.01, decay=0.5, lead_frames=0)
    np.testing.assert_array_equal(H, [[0, 0, 1, 0.5, 0.25]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"onsets": {"kick": [0.1]}, "num_frames": 5, "hop_seconds": 0.01, "decay": 1.0}, r"decay.*1\.0"),
        ({"onsets": {"kick": [-0.1]}, "num_frames": 5, "hop_seconds": 0.01}, r"-0\.1"),
        ({"onsets": {"kick": [np.nan]}, "num_frames": 5, "hop_seconds": 0.01}, r"nan"),
        ({"onsets": {"kick": [0.1]}, "num_frames": 0, "hop_seconds": 0.01}, r"num_frames.*0"),
        ({"onsets": {"kick": [0.1]}, "num_frames": 5}, r"hop"),
        ({"onsets": {"kick": [0.1]}, "num_frames": 5, "hop_seconds": -1.0}, r"hop_seconds.*-1\.0"),
        ({"onsets": {"kick": [0.1]}, "num_frames": 5, "stft_params": STFTParams(2048, 512)}, r"sample_rate"),
        ({"onsets": {}, "num_frames": 5, "hop_seconds": 0.01}, r"non-empty"),
        ({"onsets": {"kick": [0.1]}, "num_frames": 5, "hop_seconds": 0.01, "decay": {"snare": 0.5}}, r"'snare'"),
        ({"onsets": {"kick": [0.1]}, "num_frames": 5, "hop_seconds": 0.01, "lead_frames": -1}, r"lead_frames.*-1"),
    ],
)
def test_onset_activations_reject_bad_input(kwargs, match):
    with pytest.raises(SeparationError, match=match):
        onset_activations(**kwargs)


# ---- templates ------------------------------------------------------------------------


def test_templates_from_samples_shapes_and_unit_sums(templates):
    assert list(templates) == list(DRUMS)
    for template in templates.values():
        assert template.shape == (1025, 8) and template.dtype == np.float64
        assert template.min() >= 0
        np.testing.assert_allclose(template.sum(), 1.0, rtol=1e-12)
    # kick below snare below hi-hat in spectral centroid
    bins = np.arange(1025)
    centroids = [float(bins @ t.sum(axis=1)) for t in templates.values()]
    assert centroids[0] < centroids[1] < centroids[2], centroids


def test_templates_from_samples_seeded_signals_and_frames():
    shots = _one_shots()
    signals = {k: [AudioSignal(p) for p in v[:2]] for k, v in shots.items()}
    before = {k: [s.audio_data.copy() for s in v] for k, v in signals.items()}
    a = NMFD.templates_from_samples(signals, n_template_frames=4, seed=3, n_iter=10)
    b = NMFD.templates_from_samples({k: v[:2] for k, v in shots.items()}, n_template_frames=4, seed=3, n_iter=10)
    for k in DRUMS:
        assert a[k].shape == (1025, 4)
        np.testing.assert_array_equal(a[k], b[k])  # signals or paths, same seed: same templates
        for sig, data in zip(signals[k], before[k]):
            np.testing.assert_array_equal(sig.audio_data, data)
    # stereo one-shots are made mono; a smaller window gives fewer bins
    stereo = AudioSignal(np.stack([signals["kick"][0].audio_data[0]] * 2), 44100)
    one = NMFD.templates_from_samples({"kick": stereo}, stft_params=STFTParams(1024, 256), seed=0)
    assert one["kick"].shape == (513, 8)


@pytest.mark.parametrize(
    "samples, match",
    [
        ({}, r"non-empty dict"),
        ({"kick": []}, r"samples\['kick'\] is empty"),
        ({"kick": [3.0]}, r"samples\['kick'\]\[0\] is a float"),
        ({"kick": [AudioSignal(np.zeros(4096), 44100)]}, r"silent"),
    ],
)
def test_templates_from_samples_reject_bad_input(samples, match):
    with pytest.raises(SeparationError, match=match):
        NMFD.templates_from_samples(samples)


def test_pitched_templates_are_repeated_combs():
    tpl = NMFD.pitched_templates([60, 67], 44100, n_template_frames=4)
    assert list(tpl) == ["pitch_60", "pitch_67"]
    combs = comb_templates([60, 67], 44100, 2048)
    for j, template in enumerate(tpl.values()):
        assert template.shape == (1025, 4)
        np.testing.assert_allclose(template.sum(), 1.0)
        np.testing.assert_allclose(template, np.repeat(combs[:, j : j + 1], 4, axis=1) / 4, rtol=1e-12)
    decaying = NMFD.pitched_templates({"low": 48}, 44100, n_template_frames=3, decay=0.5)["low"]
    frame_mass = decaying.sum(axis=0)
    np.testing.assert_allclose(frame_mass / frame_mass[0], [1, 0.5, 0.25])
    with pytest.raises(SeparationError, match="distinct"):
        NMFD.pitched_templates([60, 60], 44100)
    with pytest.raises(SeparationError, match="decay"):
        NMFD.pitched_templates([60], 44100, decay=1.5)


def test_pitched_nmfd_separates_two_tones():
    rate, n = 22050, 22050
    t = np.arange(n) / rate

    def tone(midi, start, stop):
        f0 = 440 * 2 ** ((midi - 69) / 12)
        env = ((t >= start) & (t < stop)) * np.exp(-3 * (t - start).clip(0))
        return sum(np.sin(2 * np.pi * h * f0 * t) / h for h in range(1, 6)) * env

    low = tone(48, 0.0, 0.6) + tone(48, 0.5, 1.0) * 0.8
    high = tone(67, 0.25, 0.75)
    mix = AudioSignal(low + high, rate)
    sep = NMFD(mix, templates="pitched", pitches={"low": 48, "high": 67}, n_template_frames=4, n_iter=40)
    estimates = sep()
    assert sep.source_labels == ["low", "high"]
    scores = si_sdr_signals([AudioSignal(low, rate), AudioSignal(high, rate)], estimates)[:, 0]
    assert np.all(scores > 10.0), scores


# ---- separation quality ---------------------------------------------------------------


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("method", ["templates", "templates+onsets"])
def test_nmfd_separates_drums_above_floors_and_baselines(scores, loop, method):
    got = scores[loop, method]
    assert np.all(got > FLOORS[loop, method]), (loop, method, got)
    assert np.all(got > scores[loop, "mix"] + 3.0), (got, scores[loop, "mix"])
    assert np.all(got > scores[loop, "blind"]), (got, scores[loop, "blind"])


@pytest.mark.parametrize("loop", LOOPS)
def test_estimates_sum_to_the_mixture_and_results_are_stored(scores, loops, loop):
    mix = loops[loop][0]
    sep = scores[loop, "templates+onsets", "separator"]
    estimates = scores[loop, "templates+onsets", "estimates"]
    total = sum(e.audio_data for e in estimates)
    assert np.max(np.abs(total - mix.audio_data)) < 1e-9 * np.max(np.abs(mix.audio_data))
    F, N, C = mix.stft().shape
    assert sep.W.shape == (3, F, 8) and sep.H.shape == (3, C * N) and sep.costs.shape == (31,)
    assert sep.source_models.shape == (3, F, N, C)
    assert all(isinstance(m, SoftMask) and m.shape == (F, N, C) for m in sep.result_masks)
    np.testing.assert_allclose(sum(m.mask for m in sep.result_masks), 1.0, atol=1e-12)
    np.testing.assert_allclose(sep.W.sum(axis=(1, 2)), 1.0, rtol=1e-10)
    # onset-informed: no hit before the first annotated onset (less the one-frame lead)
    first = read_drum_onsets(loops[loop][2])["snare"][0]
    assert not sep.H[1, : max(int(np.floor(first * 44100 / 512 + 0.5)) - 1, 0)].any()


def test_seed_reproducibility(loops):
    mix = loops["Funky"][0].truncate(2 * 44100)
    a, b, c = (NMFD(mix, seed=s, n_iter=10) for s in (5, 5, 6))
    ea, eb, _ = a(), b(), c()
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    for x, y in zip(ea, eb):
        np.testing.assert_array_equal(x.audio_data, y.audio_data)
    assert not np.array_equal(a.W, c.W)
    assert a.source_labels == ["component_0", "component_1", "component_2"]
    # a second run() of one separator repeats itself
    W = a.W.copy()
    a.run()
    np.testing.assert_array_equal(a.W, W)


def test_stereo_mixture(loops, templates):
    mix, refs, onsets = loops["Funky"]
    gains = {"kick": (1.0, 1.0), "snare": (1.0, 0.7), "hihat": (0.7, 1.0)}
    stems = [
        AudioSignal(np.stack([g[0] * r.audio_data[0], g[1] * r.audio_data[0]]), 44100, label=d)
        for d, r, g in zip(DRUMS, refs, gains.values())
    ]
    stereo = sum(stems)
    sep = NMFD(stereo, templates=templates, activations=onsets, seed=0)
    estimates = sep()
    F, N, _ = mix.stft().shape
    assert sep.initial_H.shape == (3, 2 * N)
    np.testing.assert_array_equal(sep.initial_H[:, :N], sep.initial_H[:, N:])
    assert sep.source_models.shape == (3, F, N, 2)
    assert all(e.audio_data.shape == stereo.audio_data.shape for e in estimates)
    total = sum(e.audio_data for e in estimates)
    assert np.max(np.abs(total - stereo.audio_data)) < 1e-9 * np.max(np.abs(stereo.audio_data))
    per_channel = si_sdr_signals(stems, estimates)  # (3, 2)
    # measured: kick 20.40 / 20.53, snare 14.00 / 12.04, hi-hat 2.43 / 6.15 dB (left / right);
    # the mono loop gives 20.20, 13.19, 4.68: each channel is separated on its own
    assert np.all(per_channel > [[19.5, 19.5], [13.0, 11.0], [1.5, 5.0]]), per_channel
    # an array of activations for one channel is used for both
    H_mono = sep.initial_H[:, :N]
    assert NMFD(stereo, templates=templates, activations=H_mono).initial_H.shape == (3, 2 * N)


def test_binary_masks_and_fixed_factors(loops, templates):
    mix = loops["808"][0].truncate(2 * 44100)
    sep = NMFD(mix, templates=templates, mask_type="binary", fix_W=True, n_iter=5)
    sep.run()
    assert all(isinstance(m, BinaryMask) for m in sep.result_masks)
    np.testing.assert_array_equal(sum(m.mask.astype(int) for m in sep.result_masks), 1)
    for k, drum in enumerate(DRUMS):
        np.testing.assert_array_equal(sep.W[k], templates[drum])  # fixed: returned unchanged
    N = mix.stft().shape[1]
    H = np.random.default_rng(0).random((3, N))
    fixed = NMFD(mix, activations=H, fix_H=True, n_iter=5, seed=0)
    fixed.run()
    np.testing.assert_array_equal(fixed.H, H)


def test_labels_name_pitches_and_late_onsets_warn(loops):
    mix = loops["Funky"][0].truncate(44100)
    assert NMFD(mix, templates="pitched", pitches=[40, 52]).source_labels == ["pitch_40", "pitch_52"]
    assert NMFD(mix, templates="pitched", pitches=[40, 52], labels=["lo", "hi"]).source_labels == ["lo", "hi"]
    with pytest.warns(UserWarning, match=r"onset\(s\) of '(kick|snare|hihat)' fall after the last frame") as record:
        sep = NMFD(mix, activations=loops["Funky"][2])
    assert len(record) == 3 and all(w.filename == __file__ for w in record)  # at the caller's line
    assert sep.source_labels == list(DRUMS) and sep.initial_H.shape == (3, mix.stft().shape[1])


def test_inputs_are_not_mutated_and_keys_set_the_order(loops, templates):
    mix = loops["808"][0].truncate(44100)
    given = {k: v.copy() for k, v in templates.items()}
    onsets = {"hihat": [0.0, 0.238], "kick": np.array([0.0]), "snare": [0.4761]}
    kept = {k: np.array(v, copy=True) for k, v in onsets.items()}
    sep = NMFD(mix, templates=given, activations=onsets, labels=["snare", "kick", "hihat"], n_iter=3)
    sep.run()
    assert sep.source_labels == ["snare", "kick", "hihat"]
    np.testing.assert_array_equal(sep.initial_W[0], templates["snare"])
    for k, v in given.items():
        np.testing.assert_array_equal(v, templates[k])
        np.testing.assert_array_equal(onsets[k], kept[k])


# ---- bad input ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_mix(loops):
    return loops["Funky"][0].truncate(22050)  # 45 frames


def _bad_cases(templates):
    wrong_bins = {k: v[:513] for k, v in templates.items()}
    negative = {k: v.copy() for k, v in templates.items()}
    negative["snare"][3, 2] = -0.5
    return [
        ({"templates": wrong_bins}, r"513 frequency bins.*1025"),
        ({"templates": np.ones((3, 1025, 8)), "n_template_frames": 4}, r"8 frames.*n_template_frames=4"),
        ({"activations": np.ones((3, 40))}, r"40 frames.*45 frames"),
        ({"templates": templates, "activations": {"kick": [0.0], "snare": [0.1], "tom": [0.2]}}, r"unknown key.*'tom'"),
        ({"templates": templates, "labels": ["kick", "snare", "ride"]}, r"unknown key.*'ride'"),
        ({"templates": negative}, r"templates\['snare'\] must be nonnegative.*-0\.5"),
        ({"activations": -np.ones((3, 45))}, r"activations must be nonnegative.*-1\.0"),
        ({"activations": np.full((3, 45), np.nan)}, r"NaN"),
        ({"templates": np.zeros((2, 1025, 8))}, r"all zeros"),
        ({"templates": templates, "n_components": 2}, r"disagree"),
        ({"templates": "drums"}, r"'drums'"),
        ({"templates": "pitched"}, r"pitches"),
        ({"pitches": [60]}, r"templates='pitched'"),
        ({"fix_W": True}, r"fix_W=True needs templates"),
        ({"fix_H": True}, r"fix_H=True needs activations"),
        ({"activations": "no_such_file.txt"}, r"no_such_file.txt"),
        ({"activations": {"kick": [9.0]}}, r"no onset falls inside"),
        ({"h_update": "fast"}, r"h_update.*'fast'"),
        ({"n_iter": -1}, r"n_iter.*-1"),
        ({"beta": np.inf}, r"beta"),
        ({"seed": -3}, r"seed.*-3"),
        ({"alpha": 0}, r"alpha.*0"),
        ({"mask_type": "fuzzy"}, r"mask_type.*'fuzzy'"),
        ({"n_components": 0}, r"n_components.*0"),
        ({"sparsity": -1.0}, r"sparsity.*-1\.0"),
    ]


def test_bad_input_raises_clear_errors(short_mix, templates):
    for kwargs, match in _bad_cases(templates):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the late-onset warning of one case
            with pytest.raises(SeparationError, match=match):
                NMFD(short_mix, **kwargs)


def test_zero_energy_and_non_signal_mixtures():
    with pytest.raises(SepkitError, match="zero energy"):
        NMFD(AudioSignal(np.zeros(8000), 8000))
    with pytest.raises(SeparationError, match="AudioSignal"):
        NMFD(np.ones(8000))
    with pytest.raises(SeparationError, match="run"):
        NMFD(AudioSignal(np.ones(8000), 8000)).make_audio_signals()
