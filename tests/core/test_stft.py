"""STFT, inverse STFT and STFTParams: exact identities and reference formulas."""

import dataclasses
import math

import numpy as np
import pytest
import scipy.signal

import sepkit
from sepkit import AudioSignal, STFTParams, STFTParamsError
from sepkit.core import get_window, istft, stft
from sepkit.core.stft import num_frames

WINDOWS = ["sqrt_hann", "hann", "hamming", "blackman", "rectangular", "triang", ("kaiser", 8.0)]
HOP_DIVISORS = [2, 4, 8]
WINDOW_LENGTHS = [64, 63]  # even and odd


def reference_stft(x, window, hop):
    """Plain numpy STFT of a 1-D signal: centred frames, no scaling, (n_freq, n_frames)."""
    win = window.size
    n_frames = math.ceil(x.size / hop) + 1
    padded = np.zeros((n_frames - 1) * hop + win)
    padded[win // 2 : win // 2 + x.size] = x
    frames = np.stack([padded[t * hop : t * hop + win] * window for t in range(n_frames)])
    return np.fft.rfft(frames, axis=1).T


# -- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("window_type", WINDOWS, ids=str)
@pytest.mark.parametrize("window_length", WINDOW_LENGTHS)
@pytest.mark.parametrize("divisor", HOP_DIVISORS)
@pytest.mark.parametrize("n_channels", [1, 2])
def test_round_trip_functions(window_type, window_length, divisor, n_channels, rng):
    hop = window_length // divisor
    params = STFTParams(window_length, hop, window_type)
    n_samples = 7 * window_length + hop // 2 + 1  # not a multiple of the hop
    assert n_samples % hop != 0
    x = rng.standard_normal((n_channels, n_samples))
    spec = stft(x, params)
    assert spec.shape == (window_length // 2 + 1, num_frames(n_samples, hop), n_channels)
    y = istft(spec, params, n_samples)
    assert y.shape == x.shape
    assert np.max(np.abs(y - x)) < 1e-6


@pytest.mark.parametrize("window_type", WINDOWS, ids=str)
@pytest.mark.parametrize("window_length", WINDOW_LENGTHS)
@pytest.mark.parametrize("divisor", HOP_DIVISORS)
def test_round_trip_audio_signal(window_type, window_length, divisor, rng):
    hop = window_length // divisor
    params = STFTParams(window_length, hop, window_type)
    x = rng.uniform(-1, 1, (2, 5 * window_length + 3))
    sig = AudioSignal(x, sample_rate=8000, stft_params=params)
    back = sig.istft(sig.stft())
    assert back.sample_rate == 8000 and back.audio_data.shape == x.shape
    assert np.max(np.abs(back.audio_data - x)) < 1e-6
    rebuilt = AudioSignal(stft=sig.stft(), sample_rate=8000, stft_params=params, length=x.shape[1])
    assert np.max(np.abs(rebuilt.audio_data - x)) < 1e-6


def test_round_trip_is_at_rounding_error(rng):
    params = STFTParams(2048, 512, "sqrt_hann")
    x = rng.standard_normal((2, 10_001))
    assert np.max(np.abs(istft(stft(x, params), params, x.shape[1]) - x)) < 1e-12


def test_round_trip_float32(rng):
    params = STFTParams(256, 64, "hann")
    x = rng.standard_normal((1, 3001)).astype(np.float32)
    spec = stft(x, params)
    assert spec.dtype == np.complex64
    y = istft(spec, params, x.shape[1])
    assert y.dtype == np.float32
    assert np.max(np.abs(y - x)) < 1e-5


def test_istft_longer_than_frames_is_silence(rng):
    params = STFTParams(64, 16, "hann")
    x = rng.standard_normal((1, 200))
    y = istft(stft(x, params), params, 500)
    assert y.shape == (1, 500)
    np.testing.assert_allclose(y[:, :200], x, atol=1e-12)
    np.testing.assert_allclose(y[:, 200:], 0.0, atol=1e-12)


# -- reference formula ------------------------------------------------------------------------


FORMULA_WINDOWS = [("hann", "hann"), ("sqrt_hann", None), ("rectangular", "boxcar"), (("kaiser", 8.0), ("kaiser", 8.0))]
FORMULA_CASES = [
    (window_type, scipy_window, window_length, hop)
    for window_type, scipy_window in FORMULA_WINDOWS
    for window_length, hop in [(32, 8), (31, 10), (16, 16)]
    # hann and sqrt_hann with hop == window_length fail NOLA (tested below)
    if not (window_type in ("hann", "sqrt_hann") and hop == window_length)
]


@pytest.mark.parametrize("window_type, scipy_window, window_length, hop", FORMULA_CASES, ids=str)
def test_stft_matches_numpy_formula(window_type, scipy_window, window_length, hop, rng):
    if scipy_window is None:
        window = np.sqrt(scipy.signal.get_window("hann", window_length, fftbins=True))
    else:
        window = scipy.signal.get_window(scipy_window, window_length, fftbins=True)
    x = rng.standard_normal((2, 101))
    spec = stft(x, STFTParams(window_length, hop, window_type))
    for c in range(2):
        np.testing.assert_allclose(spec[:, :, c], reference_stft(x[c], window, hop), rtol=0, atol=1e-12)


def test_stft_of_impulse_is_window_spectrum():
    """A unit impulse at sample t*hop sits at the centre of frame t."""
    params = STFTParams(16, 4, "rectangular")
    x = np.zeros((1, 40))
    x[0, 12] = 1.0
    spec = stft(x, params)
    # Frame 3 starts at padded index 12 = signal index 12 - 8 = 4; the impulse is at offset 8.
    expected = np.exp(-2j * np.pi * np.arange(9) * 8 / 16)
    np.testing.assert_allclose(spec[:, 3, 0], expected, atol=1e-12)


@pytest.mark.parametrize("n_samples", [1, 2, 511, 512, 513, 1000, 1024, 4097])
@pytest.mark.parametrize("hop", [1, 128, 256, 512])
def test_frame_count(n_samples, hop):
    params = STFTParams(1024, hop, "hann")
    expected = math.ceil(n_samples / hop) + 1
    assert num_frames(n_samples, hop) == expected
    assert stft(np.zeros((1, n_samples)), params).shape == (513, expected, 1)


def test_stft_rejects_bad_inputs(rng):
    params = STFTParams(64, 16, "hann")
    with pytest.raises(STFTParamsError):
        stft(rng.standard_normal(100), params)  # 1-D
    with pytest.raises(STFTParamsError):
        stft(rng.standard_normal((1, 100)), STFTParams())  # incomplete
    with pytest.raises(STFTParamsError):
        istft(np.zeros((32, 5, 1), complex), params, 10)  # wrong n_freq for window 64
    with pytest.raises(STFTParamsError):
        istft(np.zeros((33, 5), complex), params, 10)  # 2-D


# -- windows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 8, 9, 1024])
def test_windows(length):
    np.testing.assert_allclose(get_window("sqrt_hann", length) ** 2, get_window("hann", length), atol=1e-15)
    np.testing.assert_array_equal(get_window("rectangular", length), np.ones(length))
    np.testing.assert_allclose(
        get_window("hamming", length), scipy.signal.get_window("hamming", length, fftbins=True)
    )
    window = get_window("hann", length)
    assert window.shape == (length,) and window.dtype == np.float64
    assert not window.flags.writeable


# -- STFTParams -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample_rate, window_length",
    [(44100, 2048), (48000, 2048), (22050, 1024), (16000, 512), (8000, 256)],
)
def test_default_params(sample_rate, window_length):
    params = STFTParams().resolve(sample_rate)
    assert params == STFTParams(window_length, window_length // 4, "sqrt_hann")
    assert params.is_complete and params.n_freq == window_length // 2 + 1
    assert AudioSignal(np.zeros(100), sample_rate=sample_rate).stft_params == params


def test_default_params_44100_exact():
    params = STFTParams().resolve(44100)
    assert (params.window_length, params.hop_length, params.window_type) == (2048, 512, "sqrt_hann")


def test_default_window_at_very_low_rate_is_one_sample():
    assert STFTParams().resolve(15).window_length == 1


def test_resolve_fills_only_missing_fields():
    assert STFTParams(window_length=1000).resolve(44100) == STFTParams(1000, 250, "sqrt_hann")
    assert STFTParams(hop_length=100).resolve(44100) == STFTParams(2048, 100, "sqrt_hann")
    assert STFTParams(window_type="hann").resolve(16000) == STFTParams(512, 128, "hann")
    complete = STFTParams(64, 16, "hamming")
    assert complete.resolve(44100) is complete
    with pytest.raises(STFTParamsError):
        STFTParams(hop_length=4096).resolve(44100)  # hop exceeds the default window


@pytest.mark.parametrize("sample_rate", [0, -44100, float("nan"), float("inf"), "44100", None])
def test_resolve_rejects_bad_sample_rate(sample_rate):
    with pytest.raises(STFTParamsError):
        STFTParams().resolve(sample_rate)


def test_params_frozen():
    params = STFTParams(1024, 256, "hann")
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.hop_length = 128
    assert params.hop_length == 256


def test_params_hashable_and_equal():
    a, b = STFTParams(1024, 256, "hann"), STFTParams(1024, 256, "hann")
    assert a == b and a is not b and hash(a) == hash(b)
    assert {a: 1}[b] == 1
    assert a != STFTParams(1024, 128, "hann")
    assert a != STFTParams(1024, 256, "hamming")
    assert STFTParams(512, 128, ("kaiser", 8.0)) == STFTParams(512, 128, ("kaiser", 8.0))
    assert np.int64(1024) == STFTParams(np.int64(1024), 256, "hann").window_length
    assert type(STFTParams(np.int64(1024), np.int32(256), "hann").window_length) is int


@pytest.mark.parametrize("field", ["window_length", "hop_length"])
@pytest.mark.parametrize("value", [0, -1, -1024, 1.5, 1024.0, "1024", True, float("nan")])
def test_params_reject_bad_lengths(field, value):
    with pytest.raises(STFTParamsError) as info:
        STFTParams(**{field: value})
    assert field in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, sepkit.SepkitError)


def test_params_reject_hop_above_window():
    with pytest.raises(STFTParamsError, match="hop_length"):
        STFTParams(256, 257, "hann")
    assert STFTParams(256, 256, "rectangular").hop_length == 256  # equal is fine


@pytest.mark.parametrize("window_type", ["nope", "", "HANN", ("kaiser",), ("kaiser", "x"), 3, ["hann"]], ids=str)
def test_params_reject_unknown_window(window_type):
    with pytest.raises(STFTParamsError):
        STFTParams(256, 64, window_type)


@pytest.mark.parametrize(
    "window_type, window_length",
    [("hann", 256), ("hann", 255), ("sqrt_hann", 256), ("blackman", 256)],
)
def test_params_reject_non_invertible_pair(window_type, window_length):
    """These periodic windows are zero at n = 0: with hop == window_length that sample is lost."""
    with pytest.raises(STFTParamsError, match="NOLA"):
        STFTParams(window_length, window_length, window_type)
    STFTParams(window_length, window_length // 2, window_type)  # half overlap is fine


@pytest.mark.parametrize("window_type", [("kaiser", float("nan")), ("kaiser", float("inf")), ("gaussian", 0.0)], ids=str)
def test_params_reject_non_finite_window(window_type):
    with np.errstate(all="ignore"):
        with pytest.raises(STFTParamsError):
            STFTParams(256, 64, window_type)


@pytest.mark.parametrize(
    "window_type, window_length, hop",
    [("hann", 8, 4), ("sqrt_hann", 9, 3), ("rectangular", 6, 6), ("triang", 7, 7), ("hamming", 8, 8),
     (("kaiser", 8.0), 10, 5), ("blackman", 12, 3)],
    ids=str,
)
def test_round_trip_every_short_length(window_type, window_length, hop, rng):
    """The ends of the signal invert too, whatever the length modulo the hop."""
    params = STFTParams(window_length, hop, window_type)
    for n_samples in range(1, window_length + 2 * hop + 2):
        x = rng.standard_normal((1, n_samples))
        assert np.max(np.abs(istft(stft(x, params), params, n_samples) - x)) < 1e-10, n_samples


def test_params_reject_window_vanishing_at_its_centre():
    """Passes NOLA (hop 1) but the last sample of any signal falls where the window is 0."""
    window_type = ("general_gaussian", -5.0, 2.0)  # [0.61, 4e-223, 0, 4e-223] at length 4
    with np.errstate(divide="ignore"), pytest.raises(STFTParamsError, match="first or last samples"):
        STFTParams(4, 1, window_type)


def test_incomplete_params_have_no_window():
    with pytest.raises(STFTParamsError):
        STFTParams(window_length=256).window
    with pytest.raises(STFTParamsError):
        STFTParams().n_freq
    assert STFTParams(window_length=256).n_freq == 129
