"""Gaussian-window STFT of DictSep: window, librosa equivalence, peaks, round trip, errors."""

import math

import numpy as np
import pytest

from sepkit.core.errors import SeparationError, SepkitError
from sepkit.separation.dictsep.frontend import (
    gaussian_istft,
    gaussian_stft,
    gaussian_window,
    num_frames,
    peak_sigma,
)


def test_window_constants():
    w = gaussian_window()
    assert w.shape == (12288,)
    assert w.sum() == pytest.approx(1.0, rel=1e-14)
    assert np.argmax(w) == 6144
    k = np.arange(-6144, 6144)
    std = math.sqrt(np.sum(w * k**2))
    assert std == pytest.approx(1024.0, rel=1e-6)
    assert peak_sigma() == pytest.approx(6 / math.pi)


def test_matches_librosa_with_the_same_window():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(3)
    x = rng.standard_normal(3000)
    H, hop = 256, 64
    w = gaussian_window(H)
    ours = gaussian_stft(x, height=H, hop=hop)
    ref = librosa.stft(x, n_fft=2 * H, hop_length=hop, win_length=2 * H, window=w,
                       center=True, pad_mode="constant")[:H]
    assert ours.shape == (H, num_frames(3000, hop)) == (H, 47)
    np.testing.assert_allclose(ours, ref[:, : ours.shape[1]], atol=1e-12)


def test_sinusoid_gives_gaussian_peak_of_half_amplitude():
    sr, H, hop = 8000, 512, 128
    f, amp = 1000.37, 0.8
    n = np.arange(8 * 2 * H)
    x = amp * np.cos(2 * np.pi * f / sr * n + 0.3)
    X = gaussian_stft(x, height=H, hop=hop)
    col = np.abs(X[:, X.shape[1] // 2])
    u = f / sr * 2 * H
    k = np.arange(int(u) - 3, int(u) + 4)
    expected = amp / 2 * np.exp(-((k - u) ** 2) / (2 * peak_sigma() ** 2))
    np.testing.assert_allclose(col[k], expected, rtol=1e-6)


@pytest.mark.parametrize("channels", [None, 2])
def test_round_trip(channels):
    rng = np.random.default_rng(5)
    H, hop, L = 128, 32, 2000
    shape = (L,) if channels is None else (channels, L)
    # band-limited (the Nyquist bin is not kept) and smooth at both ends (zero padding of a
    # hard start would spread energy up to Nyquist): random sinusoids below 0.8 Nyquist
    # under a Hann taper
    n = np.arange(L)
    freqs = rng.uniform(0.0, 0.4, size=shape[:-1] + (40,))
    phases = rng.uniform(0, 2 * np.pi, size=freqs.shape)
    x = np.sin(2 * np.pi * freqs[..., None] * n + phases[..., None]).sum(axis=-2)
    x = x * np.hanning(L)
    X = gaussian_stft(x, height=H, hop=hop)
    assert X.shape == ((H, 63) if channels is None else (H, 63, channels))
    y = gaussian_istft(X, L, hop=hop)
    assert y.shape == x.shape
    # exact up to the leakage of the window cut at 6 standard deviations (~1e-8 relative)
    np.testing.assert_allclose(y, x, atol=1e-7 * np.abs(x).max())


def test_stft_does_not_mutate_input():
    x = np.linspace(-1, 1, 1000)
    before = x.copy()
    gaussian_stft(x, height=64, hop=16)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(
    "audio, kwargs, match",
    [
        (np.zeros(0), {}, "empty"),
        (np.array([0.0, np.nan]), {}, "NaN"),
        (np.zeros((2, 2, 2)), {}, r"shape \(2, 2, 2\)"),
        (np.zeros(10, dtype=complex), {}, "complex"),
        (np.zeros(100), {"hop": 0}, "hop must be an integer >= 1, got 0"),
        (np.zeros(100), {"height": 1}, "height must be an integer >= 2, got 1"),
        (np.zeros(100), {"sigmas": -1.0}, "sigmas must be .* got -1.0"),
    ],
)
def test_bad_input_raises(audio, kwargs, match):
    with pytest.raises(SeparationError, match=match):
        gaussian_stft(audio, **kwargs)


def test_istft_checks_frame_count():
    X = gaussian_stft(np.ones(100), height=32, hop=16)
    with pytest.raises(SepkitError, match="needs 13"):
        gaussian_istft(X, 200, hop=16)


def test_blockwise_transforms_equal_one_pass(monkeypatch):
    # more frames than one block: the STFT is computed and inverted block by block
    from sepkit.separation.dictsep import frontend
    from sepkit.separation.dictsep.frontend import OverlapAdd

    monkeypatch.setattr(frontend, "BLOCK", 7)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3001))
    H, hop = 128, 32
    X = gaussian_stft(x, height=H, hop=hop)
    # one-pass reference: frame t is the window times samples t*hop - H .. t*hop + H - 1
    w = gaussian_window(H)
    padded = np.pad(x, ((0, 0), (H, H + hop)))
    ref = np.stack([np.fft.rfft(padded[:, t * hop: t * hop + 2 * H] * w, axis=-1)[:, :H]
                    for t in range(num_frames(3001, hop))], axis=1)  # (C, T, H)
    np.testing.assert_allclose(X, np.transpose(ref, (2, 1, 0)), rtol=0, atol=1e-13)
    whole = gaussian_istft(X, 3001, hop=hop)
    # any split into blocks, in any order, gives the same signal
    acc = OverlapAdd(2, 3001, H, hop)
    for start, stop in ((40, 94), (0, 13), (13, 40)):
        acc.add(X[:, start:stop], start)
    np.testing.assert_allclose(acc.result(), whole, rtol=0, atol=1e-13)
