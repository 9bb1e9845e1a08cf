"""sepkit's pYIN: equal to librosa.pyin (the reference, imported here only), its Viterbi kernel
against a dense plain-numpy Viterbi, argument checks, no mutation, and no librosa import."""

import os
import subprocess
import sys

import numpy as np
import pytest
import soxr

import sepkit
from sepkit.core import SeparationError
from sepkit.kernels.viterbi import banded_viterbi
from sepkit.separation.primitive.pyin import pyin

SR = 22050
REPO = os.path.dirname(os.path.dirname(os.path.abspath(sepkit.__file__)))


def _tone():
    """1.5 s at 22,050 Hz: a 7-partial tone around 330 Hz with a 5-Hz, half-semitone vibrato,
    silent from 0.6 to 0.9 s, plus faint seeded noise."""
    t = np.arange(int(1.5 * SR)) / SR
    phase = 2 * np.pi * np.cumsum(330.0 * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 5.0 * t))) / SR
    tone = sum(np.sin(h * phase) / h for h in range(1, 8))
    tone[int(0.6 * SR): int(0.9 * SR)] = 0.0
    return 0.1 * tone + 1e-3 * np.random.default_rng(5).standard_normal(t.size)


def _violin():
    """The first 1.5 s of the bundled example's violin (silent at first, two notes), at 22,050 Hz."""
    _, sources = sepkit.datasets.load_example(sources=("violin",))
    audio = sources["violin"].audio_data[0, : int(1.5 * 44100)]
    return soxr.resample(audio, 44100, SR, quality="HQ")


SIGNALS = {"tone": _tone, "violin": _violin}
SETTINGS = {"tone": {"fmin": 65.0, "fmax": 2093.0, "frame_length": 2048, "hop_length": 256},
            "violin": {"fmin": 180.0, "fmax": 1760.0, "frame_length": 2048, "hop_length": 256}}


@pytest.mark.parametrize("fill_na", [None, np.nan])
@pytest.mark.parametrize("name", ["tone", "violin"])
def test_equals_librosa(name, fill_na):
    librosa = pytest.importorskip("librosa")
    y = SIGNALS[name]()
    kwargs = {**SETTINGS[name], "sr": SR, "fill_na": fill_na}
    f0, flag, prob = pyin(y, **kwargs)
    ref_f0, ref_flag, ref_prob = librosa.pyin(y, **kwargs)
    assert f0.shape == flag.shape == prob.shape == ref_f0.shape
    np.testing.assert_array_equal(flag, ref_flag)
    assert flag.any() and not flag.all()
    np.testing.assert_allclose(f0[flag], ref_f0[flag], rtol=1e-9, atol=0)
    np.testing.assert_allclose(prob, ref_prob, rtol=0, atol=1e-9)
    if fill_na is None:
        np.testing.assert_allclose(f0, ref_f0, rtol=1e-9, atol=0)  # the best guess where unvoiced too
    else:
        assert np.all(np.isnan(f0[~flag])) and np.all(np.isnan(ref_f0[~flag]))


def test_options_equal_librosa():
    # An even pitch-transition width (resolution 0.34: 3 bins per semitone), a fractional
    # Boltzmann parameter, reflect padding and a number as fill_na.
    librosa = pytest.importorskip("librosa")
    y = _tone()[: SR // 2]
    kwargs = {"fmin": 80.0, "fmax": 1000.0, "sr": SR, "frame_length": 1024, "hop_length": 200, "resolution": 0.34,
              "boltzmann_parameter": 2.5, "pad_mode": "reflect", "fill_na": 0.0, "switch_prob": 0.1,
              "beta_parameters": (1, 10), "n_thresholds": 37}
    (f0, flag, prob), (ref_f0, ref_flag, ref_prob) = pyin(y, **kwargs), librosa.pyin(y, **kwargs)
    np.testing.assert_array_equal(flag, ref_flag)
    np.testing.assert_allclose(f0, ref_f0, rtol=1e-9, atol=0)
    np.testing.assert_allclose(prob, ref_prob, rtol=0, atol=1e-9)
    f0, flag, _ = pyin(y, **{**kwargs, "center": False})
    assert f0.size == 1 + (y.size - 1024) // 200 and np.all(f0[~flag] == 0.0)


def test_tracks_the_tone():
    f0, flag, prob = pyin(_tone(), fmin=65.0, fmax=2093.0, sr=SR, hop_length=256)
    times = np.arange(f0.size) * 256 / SR
    sounding = ((times > 0.1) & (times < 0.55)) | ((times > 0.95) & (times < 1.4))
    silent = (times > 0.7) & (times < 0.8)
    assert flag[sounding].all() and not flag[silent].any()
    # Within the vibrato's half semitone (and a bin) of 330 Hz.
    assert np.all(np.abs(12 * np.log2(f0[sounding] / 330.0)) < 0.65)
    assert prob[sounding].min() > 0.5 and prob[silent].max() <= 0.01  # noise: only no_trough_prob


def _dense_viterbi(log_obs, log_init, log_trans):
    """Plain Viterbi on a dense log transition matrix ``[from, to]``, first index on ties."""
    value = log_obs[0] + log_init
    ptr = np.zeros(log_obs.shape, dtype=np.int64)
    for t in range(1, len(log_obs)):
        scores = value[:, None] + log_trans
        ptr[t] = np.argmax(scores, axis=0)
        value = log_obs[t] + scores[ptr[t], np.arange(scores.shape[1])]
    states = [int(np.argmax(value))]
    for t in range(len(log_obs) - 1, 0, -1):
        states.append(ptr[t, states[-1]])
    return np.array(states[::-1])


@pytest.mark.parametrize("n_pitch, half", [(9, 2), (12, 0), (7, 6)])
def test_banded_viterbi_equals_dense(rng, n_pitch, half):
    width = 2 * half + 1
    log_zero = -30.0  # low enough to be rarely taken, high enough that out-of-band moves occur
    stay, switch = rng.uniform(-4, 0, (n_pitch, width)), rng.uniform(-9, -3, (n_pitch, width))
    dense = np.full((2 * n_pitch, 2 * n_pitch), log_zero)
    for p in range(n_pitch):
        for d in range(width):
            q = p + d - half
            if 0 <= q < n_pitch:
                for c in range(2):
                    dense[c * n_pitch + q, c * n_pitch + p] = stay[p, d]
                    dense[(1 - c) * n_pitch + q, c * n_pitch + p] = switch[p, d]
    log_obs = np.log(rng.random((40, 2 * n_pitch)))
    log_obs[rng.random(log_obs.shape) < 0.6] = -50.0  # many near-impossible states
    log_init = np.log(rng.dirichlet(np.ones(2 * n_pitch)))
    states = banded_viterbi(log_obs, log_init, stay, switch, log_zero)
    np.testing.assert_array_equal(states, _dense_viterbi(log_obs, log_init, dense))
    # Ties (equal observations everywhere) go to the lowest index, as numpy's argmax.
    flat = banded_viterbi(np.zeros((5, 2 * n_pitch)), np.zeros(2 * n_pitch), np.zeros_like(stay),
                          np.zeros_like(switch), 0.0)
    np.testing.assert_array_equal(flat, _dense_viterbi(np.zeros((5, 2 * n_pitch)), np.zeros(2 * n_pitch),
                                                       np.zeros_like(dense)))
    assert len(banded_viterbi.signatures) == 1


def test_input_not_modified_and_read_only_accepted():
    y = _tone()[: SR // 2]
    before = y.copy()
    y.flags.writeable = False
    out = pyin(y, fmin=100.0, fmax=1000.0, sr=SR, frame_length=1024)
    np.testing.assert_array_equal(y, before)
    out2 = pyin(list(before), fmin=100.0, fmax=1000.0, sr=SR, frame_length=1024)
    for a, b in zip(out, out2):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, word", [
    ({"y": np.zeros((2, 3000))}, "y"), ({"y": np.array([0.0, np.nan] * 1000)}, "y"),
    ({"y": np.zeros(1000), "center": False}, "y"),
    ({"fmin": 0.0}, "fmin"), ({"fmax": 50.0}, "fmax"), ({"fmax": 12000.0}, "fmax"), ({"fmin": 20.0}, "fmin"),
    ({"sr": -1}, "sr"), ({"frame_length": 2048.0}, "frame_length"), ({"hop_length": 0}, "hop_length"),
    ({"n_thresholds": 0}, "n_thresholds"), ({"beta_parameters": (2, -1)}, "beta_parameters"),
    ({"boltzmann_parameter": 0}, "boltzmann_parameter"), ({"resolution": 1.0}, "resolution"),
    ({"max_transition_rate": 0.0}, "max_transition_rate"), ({"switch_prob": 1.0}, "switch_prob"),
    ({"no_trough_prob": 1.5}, "no_trough_prob"), ({"fill_na": "nan"}, "fill_na"), ({"center": 1}, "center"),
    ({"pad_mode": "nope"}, "pad_mode"), ({"fmin": 990.0, "max_transition_rate": 300.0}, "max_transition_rate"),
])
def test_bad_arguments(kwargs, word):
    args = {"y": np.zeros(4000), "fmin": 100.0, "fmax": 1000.0, "sr": SR, "frame_length": 1024, **kwargs}
    with pytest.raises(SeparationError, match=rf"\b{word}\b"):
        pyin(**args)


def test_warns_below_two_periods():
    with pytest.warns(UserWarning, match="two periods"):
        pyin(np.zeros(4000), fmin=30.0, fmax=1000.0, sr=SR, frame_length=1024)


def test_melody_does_not_import_librosa():
    script = (
        "import sys, numpy as np, sepkit\n"
        "from sepkit.separation.primitive import Melody\n"
        "t = np.arange(22050) / 44100\n"
        "sep = Melody(sepkit.AudioSignal(0.1 * np.sin(2 * np.pi * 440 * t)[None], 44100))\n"
        "sep.run()\n"
        "assert (sep.pitch > 0).any()\n"
        "print('librosa' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
