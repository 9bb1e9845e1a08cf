"""Smoothing ("mel") variant of DictSep's log-frequency spectrogram."""

import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from sepkit.core.errors import SeparationError
from sepkit.separation.dictsep.frontend import gaussian_stft
from sepkit.separation.dictsep.logspect_mel import (
    log_spectrogram_mel,
    mel_log_width,
    mel_smoothing_matrix,
)

SR = 44100


def _gauss(x, height, centre, width):
    return height * np.exp(-((x - centre) ** 2) / (2 * width**2))


def _reference(mag, sample_rate, n_bins, fmin, fmax, sigmas):
    """Slow loop version of Musisep's winlog_spect on |X|^2 followed by a square root."""
    height, n_frames = mag.shape
    power = mag**2
    out = np.zeros((n_bins, n_frames))
    for k in range(n_bins):
        freq = fmin * (fmax / fmin) ** (k / n_bins)
        u = freq / sample_rate * 2 * height
        stretch = freq / fmin
        centre = round(u)  # Python rounds half to even, like numpy
        if stretch <= 1 + 1e-12:
            if centre < height:
                out[k] = np.sqrt(power[centre])
            continue
        sigma = sigmas / math.pi * math.sqrt(stretch**2 - 1) / math.sqrt(2)
        half = math.ceil(sigmas * sigma)
        bins = [b for b in range(centre - half, centre + half) if 0 <= b < height]
        if not bins:
            continue
        weights = np.array([math.exp(-((b - u) ** 2) / (2 * sigma**2)) for b in bins])
        weights = weights / weights.sum() * stretch
        for t in range(n_frames):
            out[k, t] = math.sqrt(sum(w * power[b, t] for w, b in zip(weights, bins)))
    return out


@pytest.mark.parametrize("freq", [440.0, 1234.5, 15000.0])
def test_sinusoid_gives_one_log_peak(freq):
    amp = 0.6
    n = np.arange(int(0.3 * SR))
    x = amp * np.cos(2 * np.pi * freq / SR * n + 1.0)
    X = gaussian_stft(x)
    t = X.shape[1] // 2
    Y = log_spectrogram_mel(np.abs(X[:, t : t + 1]), SR)
    assert Y.shape == (1024, 1)
    col = Y[:, 0]
    expected = 1024 * math.log(freq / 200) / math.log(20480 / 200)
    top = int(np.argmax(col))
    assert abs(top - expected) <= 0.5
    # one peak: every other local maximum is tiny
    inner = col[1:-1]
    maxima = np.flatnonzero((inner > col[:-2]) & (inner >= col[2:])) + 1
    assert np.sum(col[maxima] > 1e-3 * col[top]) == 1
    # the sampled top is within 0.2 % of the sinusoid's peak height amp / 2 (measured <= 0.16 %:
    # the top log bin is up to half a bin off the peak)
    assert col[top] == pytest.approx(amp / 2, rel=2e-3)
    # Gaussian fit over +-3 widths: height and width (measured errors 0.03 % and 0.09 %; the
    # lin-to-log map skews the peak, which moves the fitted centre by about +0.2 log bins)
    width = mel_log_width(1024, 200.0, 20480.0, SR)
    k = np.arange(1024)
    near = np.abs(k - expected) < 3 * width
    (fit_height, fit_centre, fit_width), _ = curve_fit(
        _gauss, k[near], col[near], p0=[col[top], top, width]
    )
    assert fit_height == pytest.approx(amp / 2, rel=1e-3)
    assert fit_width == pytest.approx(width, rel=5e-3)
    assert abs(fit_centre - expected) < 0.3


def test_mel_log_width_value():
    lam = 1024 / math.log(20480 / 200)
    u_min = 200 / SR * 12288
    assert mel_log_width() == pytest.approx(6 / math.pi * lam / u_min)
    assert mel_log_width() == pytest.approx(7.5814, abs=1e-4)
    assert mel_log_width(512, 100.0, 10000.0, 22050, height=1024, sigmas=3.0) == pytest.approx(
        3 / math.pi * 512 / math.log(100) / (100 / 22050 * 2048)
    )


@pytest.mark.parametrize(
    "sample_rate, n_bins, fmin, fmax, sigmas",
    [
        (1280.0, 24, 50.0, 600.0, 6.0),  # kernels clipped at both ends of the spectrum
        (1280.0, 17, 35.0, 1200.0, 6.0),  # log axis beyond Nyquist
        (1000.0, 30, 20.0, 400.0, 3.0),
    ],
)
def test_matches_reference(sample_rate, n_bins, fmin, fmax, sigmas):
    rng = np.random.default_rng(3)
    mag = rng.random((64, 3))
    Y = log_spectrogram_mel(mag, sample_rate, n_bins=n_bins, fmin=fmin, fmax=fmax, sigmas=sigmas)
    ref = _reference(mag, sample_rate, n_bins, fmin, fmax, sigmas)
    assert Y.shape == (n_bins, 3)
    np.testing.assert_allclose(Y, ref, rtol=1e-12, atol=1e-14)
    matrix = mel_smoothing_matrix(64, sample_rate, n_bins=n_bins, fmin=fmin, fmax=fmax, sigmas=sigmas)
    np.testing.assert_allclose(np.sqrt(matrix @ mag**2), Y, rtol=1e-12)


def test_linear_in_power_and_zero_input():
    rng = np.random.default_rng(4)
    mag = rng.random((256, 4))
    kw = {"n_bins": 40, "fmin": 100.0, "fmax": 4000.0}
    Y = log_spectrogram_mel(mag, 8000, **kw)
    for c in (0.25, 3.0):
        np.testing.assert_allclose(log_spectrogram_mel(c * mag, 8000, **kw), c * Y, rtol=1e-12)
    # linear in power: the sum of two power spectra maps to the sum of the squared outputs
    other = rng.random((256, 4))
    mixed = log_spectrogram_mel(np.sqrt(mag**2 + other**2), 8000, **kw)
    np.testing.assert_allclose(mixed**2, Y**2 + log_spectrogram_mel(other, 8000, **kw) ** 2, rtol=1e-10)
    zero = log_spectrogram_mel(np.zeros((256, 2)), 8000, **kw)
    assert zero.shape == (40, 2) and np.all(zero == 0)
    # integer input is accepted as real
    assert log_spectrogram_mel(np.ones((256, 1), dtype=np.int32), 8000, **kw).dtype == np.float64


@pytest.mark.parametrize(
    "magnitude, kwargs, match",
    [
        (np.ones(8), {}, r"shape \(H, n_frames\).*\(8,\)"),
        (np.ones((1, 3)), {}, r"H >= 2, got \(1, 3\)"),
        (np.ones((8, 0)), {}, r"got shape \(8, 0\)"),
        (np.ones((8, 2), dtype=complex), {}, "real numbers, got dtype complex128"),
        (np.full((8, 2), np.nan), {}, "NaN or infinite"),
        (np.full((8, 2), np.inf), {}, "NaN or infinite"),
        (-np.ones((8, 2)), {}, "nonnegative, got a minimum of -1.0"),
        (np.ones((8, 2)), {"sample_rate": 0.0}, "sample_rate must be a finite real number > 0.0, got 0.0"),
        (np.ones((8, 2)), {"sample_rate": float("nan")}, "sample_rate .* got nan"),
        (np.ones((8, 2)), {"sample_rate": True}, "sample_rate .* got True"),
        (np.ones((8, 2)), {"n_bins": 0}, "n_bins must be an integer >= 1, got 0"),
        (np.ones((8, 2)), {"n_bins": 2.5}, "n_bins must be an integer >= 1, got 2.5"),
        (np.ones((8, 2)), {"fmin": -5.0}, "fmin must be a finite real number > 0.0, got -5.0"),
        (np.ones((8, 2)), {"fmax": 0}, "fmax must be a finite real number > 0.0, got 0"),
        (np.ones((8, 2)), {"fmin": 300.0, "fmax": 300.0}, "fmin must be below fmax, got fmin=300.0, fmax=300.0"),
        (np.ones((8, 2)), {"sigmas": 0.0}, "sigmas must be a finite real number > 0.0, got 0.0"),
    ],
)
def test_bad_input_raises(magnitude, kwargs, match):
    args = {"sample_rate": SR, **kwargs}
    sample_rate = args.pop("sample_rate")
    with pytest.raises(SeparationError, match=match):
        log_spectrogram_mel(magnitude, sample_rate, **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_bins": -1}, "n_bins .* got -1"),
        ({"fmin": 500.0, "fmax": 400.0}, "fmin must be below fmax, got fmin=500.0, fmax=400.0"),
        ({"sample_rate": -1.0}, "sample_rate .* got -1.0"),
        ({"height": 0}, "height must be an integer >= 1, got 0"),
        ({"sigmas": float("inf")}, "sigmas .* got inf"),
    ],
)
def test_mel_log_width_bad_input(kwargs, match):
    with pytest.raises(SeparationError, match=match):
        mel_log_width(**kwargs)


def test_smoothing_matrix_bad_height():
    with pytest.raises(SeparationError, match="height must be an integer >= 2, got 1"):
        mel_smoothing_matrix(1, SR)
