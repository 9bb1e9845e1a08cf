"""Pursuit-based log-frequency spectrogram of DictSep."""

import math

import numpy as np
import pytest

from sepkit.core.errors import SeparationError
from sepkit.separation.dictsep import (
    gaussian_stft,
    log_axis_lambda,
    log_frequencies,
    log_spectrogram,
    peak_sigma,
    synthetic_parts,
)
from sepkit.kernels.dictsep import render_log
from sepkit.separation.dictsep.logspect import pursue_peaks

SR = 44100


@pytest.fixture(scope="module")
def sinusoid():
    f, amp = 440.0, 0.6
    n = np.arange(int(0.7 * SR))
    x = amp * np.cos(2 * np.pi * f / SR * n + 1.0)
    X = gaussian_stft(x)
    t = X.shape[1] // 2
    return f, amp, np.abs(X[:, t - 1 : t + 2])


def test_log_axis():
    assert log_axis_lambda() == pytest.approx(1024 / math.log(1024))
    f = log_frequencies()
    assert f.shape == (1024,) and f[0] == 20.0
    assert f[102] == pytest.approx(20 * 2 ** (102 / 102.4))


def test_sinusoid_gives_one_log_peak(sinusoid):
    f, amp, mag = sinusoid
    s0 = peak_sigma()
    a, u, sig = pursue_peaks(mag[:, 1].copy(), s0, 1000, 20, 1.0, 0.0, 100, 2.2e-9, 1e-5)
    top = np.argmax(a)
    assert a[top] == pytest.approx(amp / 2, rel=1e-3)
    assert u[top] == pytest.approx(f / SR * 12288, abs=1e-3)
    assert sig[top] == pytest.approx(s0, rel=1e-2)
    assert np.sort(a)[-2] < 1e-3 * a[top]

    Y = log_spectrogram(mag, SR)
    assert Y.shape == (1024, 3)
    col = Y[:, 1]
    expected = 1024 * math.log2(f / 20) / 10
    k = int(np.argmax(col))
    assert abs(k - expected) <= 0.5
    # one peak: every other local maximum is tiny
    inner = col[1:-1]
    maxima = np.flatnonzero((inner > col[:-2]) & (inner >= col[2:])) + 1
    assert np.sum(col[maxima] > 1e-3 * col[k]) == 1
    # position, height and width from the three samples around the top (exact for a Gaussian)
    l0, l1, l2 = np.log(col[k - 1 : k + 2])
    curv = l0 - 2 * l1 + l2
    pos = k + 0.5 * (l0 - l2) / curv
    width = math.sqrt(-1 / curv)
    height = math.exp(l1 - 0.25 * (l0 - l2) * (pos - k))
    assert pos == pytest.approx(expected, abs=2e-3)
    assert height == pytest.approx(amp / 2, rel=2e-3)
    assert width == pytest.approx(peak_sigma(), rel=1e-2)


def test_log_column_is_the_redrawn_peaks():
    rng = np.random.default_rng(0)
    H = 2048
    x = np.arange(H)
    y = np.zeros(H)
    for u, a in zip(rng.uniform(100, 1900, 6), rng.uniform(0.2, 1, 6)):
        y += a * np.exp(-((x - u) ** 2) / (2 * peak_sigma() ** 2))
    s0 = peak_sigma()
    a, u, sig = pursue_peaks(y, s0, 1000, 20, 1.0, 0.0, 100, 2.2e-9, 1e-5)
    Y = log_spectrogram(y[:, None], 16000.0, n_bins=256, fmin=50.0, fmax=7000.0)
    u_min = 50.0 / 16000 * 2 * H
    mu = log_axis_lambda(256, 50.0, 7000.0) * np.log(u / u_min)
    n = a.size
    ref = np.empty(256)
    render_log(a, mu, sig, np.zeros(n), np.zeros(n, dtype=np.int64), np.ones((1, 1)), 0.0, 1.0, ref)
    np.testing.assert_allclose(Y[:, 0], ref, rtol=1e-12, atol=1e-15)


def test_synthetic_frames_are_fitted_closely():
    # frames around 0.5 s of the 1.2-s signal lie inside one note of each part
    part_a, part_b = synthetic_parts(seconds=1.2)
    mag = np.abs(gaussian_stft(part_a + part_b))[:, 85:88]
    s0 = peak_sigma()
    for t in range(mag.shape[1]):
        y = mag[:, t].copy()
        a, u, sig = pursue_peaks(y, s0, 1000, 20, 1.0, 0.0, 100, 2.2e-9, 1e-5)
        assert a.size <= 1000 and np.all(a >= 0)
        assert np.all((sig >= 0.8 * s0 - 1e-12) & (sig <= 1.5 * s0 + 1e-12))
        R = np.empty_like(y)
        n = a.size
        render_log(a, u, sig, np.zeros(n), np.zeros(n, dtype=np.int64), np.ones((1, 1)), 0.0, 1.0, R)
        assert np.linalg.norm(R - y) < 0.01 * np.linalg.norm(y)
    Y, counts = log_spectrogram(mag, SR, floor=1e-4, max_iter=5, return_counts=True)
    assert Y.shape == (1024, 3) and counts.shape == (3,)
    assert np.all(Y >= 0) and np.all(counts > 0)


def test_silent_frame_gives_zero_column():
    Y, counts = log_spectrogram(np.zeros((512, 2)), SR, return_counts=True)
    assert np.all(Y == 0) and np.all(counts == 0)


@pytest.mark.parametrize(
    "mag, kwargs, match",
    [
        (np.ones(10), {}, r"shape \(H, n_frames\).*\(10,\)"),
        (-np.ones((10, 2)), {}, "nonnegative, got a minimum of -1.0"),
        (np.full((10, 2), np.nan), {}, "NaN"),
        (np.ones((10, 2), dtype=complex), {}, "np.abs"),
        (np.ones((10, 2)), {"fmin": 500.0, "fmax": 100.0}, "fmin=500.0, fmax=100.0"),
        (np.ones((10, 2)), {"beta": 1.5}, r"beta must be in \(0, 1\], got 1.5"),
        (np.ones((10, 2)), {"max_peaks": 0}, "max_peaks must be an integer >= 1, got 0"),
        (np.ones((10, 2)), {"floor": 1.0}, r"floor must be in \[0, 1\), got 1.0"),
    ],
)
def test_bad_input_raises(mag, kwargs, match):
    with pytest.raises(SeparationError, match=match):
        log_spectrogram(mag, SR, **kwargs)


def test_bad_sample_rate_raises():
    with pytest.raises(SeparationError, match="sample_rate must be a finite real number > 0.0, got 0"):
        log_spectrogram(np.ones((10, 2)), 0)


def test_synthetic_parts():
    a, b = synthetic_parts(seconds=0.25, sample_rate=8000)
    assert a.shape == b.shape == (2000,)
    a2, b2 = synthetic_parts(seconds=0.25, sample_rate=8000)
    np.testing.assert_array_equal(a, a2)
    assert np.abs(a).max() < 0.2 * 1.7 and np.abs(b).max() > 0.1
    with pytest.raises(SeparationError, match="seconds must be .* got -1"):
        synthetic_parts(seconds=-1)
