"""AudioSignal: construction, immutability, STFT cache, arithmetic, editing, masking, I/O."""

import base64
import io
import warnings

import numpy as np
import pytest
import soundfile

import sepkit
from sepkit import (
    AudioIOError,
    AudioSignal,
    AudioSignalError,
    BinaryMask,
    MaskError,
    SoftMask,
    STFTParams,
)

SMALL = STFTParams(64, 16, "hann")


def tone(freq, sample_rate, seconds, amplitude=0.5):
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return amplitude * np.sin(2 * np.pi * freq * t)


@pytest.fixture
def ramp_wav(tmp_path):
    """A stereo int16 WAV at 8 kHz, 1 s, whose samples encode their own index."""
    n = 8000
    index = np.arange(n)
    data = np.stack([index % 2000 - 1000, -(index % 3000) + 1500], axis=1).astype(np.int16)
    path = tmp_path / "ramp.wav"
    soundfile.write(path, data, 8000, subtype="PCM_16")
    return path, data.T / 32768.0


# -- construction from files ------------------------------------------------------------------


def test_from_wav_path(ramp_wav):
    path, expected = ramp_wav
    sig = AudioSignal(path)
    assert sig.sample_rate == 8000 and sig.num_channels == 2 and sig.signal_length == 8000
    assert sig.label == "ramp" and sig.path == str(path)
    assert sig.audio_data.dtype == np.float64
    np.testing.assert_array_equal(sig.audio_data, expected)
    assert AudioSignal(str(path), sample_rate=8000).signal_length == 8000  # matching rate is fine
    assert AudioSignal(path, label="other").label == "other"


def test_offset_and_duration_pick_the_right_samples(ramp_wav):
    path, expected = ramp_wav
    sig = AudioSignal(path, offset=0.25, duration=0.5)
    np.testing.assert_array_equal(sig.audio_data, expected[:, 2000:6000])
    tail = AudioSignal(path, offset=0.9)
    np.testing.assert_array_equal(tail.audio_data, expected[:, 7200:])
    clipped = AudioSignal(path, offset=0.75, duration=10.0)  # duration past the end: to the end
    np.testing.assert_array_equal(clipped.audio_data, expected[:, 6000:])


def test_offset_duration_from_flac(tmp_path, rng):
    x = rng.uniform(-0.9, 0.9, (1, 4410))
    path = tmp_path / "noise.flac"
    soundfile.write(path, x.T, 44100, subtype="PCM_24")
    sig = AudioSignal(path, offset=0.01, duration=0.02)
    assert sig.signal_length == 882
    np.testing.assert_allclose(sig.audio_data, x[:, 441:1323], atol=2**-23)


@pytest.mark.parametrize(
    "kwargs",
    [{"offset": 1.0}, {"offset": 5.0}, {"offset": -0.1}, {"duration": -1.0}, {"offset": float("nan")},
     {"offset": "0.1"}, {"duration": 0.0}, {"sample_rate": 44100}],
    ids=str,
)
def test_bad_file_arguments(ramp_wav, kwargs):
    path, _ = ramp_wav
    with pytest.raises(AudioSignalError):
        AudioSignal(path, **kwargs)


def test_unreadable_files(tmp_path):
    text = tmp_path / "not_audio.wav"
    text.write_text("this is not a RIFF file\n")
    with pytest.raises(AudioIOError) as info:
        AudioSignal(text)
    assert isinstance(info.value, OSError) and "not_audio.wav" in str(info.value)
    with pytest.raises(AudioIOError):
        AudioSignal(tmp_path / "missing.flac")
    with pytest.raises(AudioIOError):
        AudioSignal(str(tmp_path))  # a directory


# -- construction from arrays -----------------------------------------------------------------


def test_one_d_becomes_one_channel():
    sig = AudioSignal(np.linspace(-1, 1, 11), sample_rate=8000)
    assert sig.audio_data.shape == (1, 11) and sig.is_mono
    np.testing.assert_array_equal(sig.audio_data[0], np.linspace(-1, 1, 11))


def test_integer_samples_scaled_by_their_own_dtype():
    np.testing.assert_array_equal(
        AudioSignal(np.array([-32768, 0, 16384], np.int16), sample_rate=8000).audio_data, [[-1.0, 0.0, 0.5]]
    )
    np.testing.assert_array_equal(
        AudioSignal(np.array([0, 128, 192, 255], np.uint8), sample_rate=8000).audio_data,
        [[-1.0, 0.0, 0.5, 127 / 128]],
    )
    np.testing.assert_array_equal(
        AudioSignal(np.array([2**30, -(2**31), 0], np.int32), sample_rate=8000).audio_data, [[0.5, -1.0, 0.0]]
    )
    x32 = np.array([0.1, -0.7, 1.5], np.float32)
    sig = AudioSignal(x32, sample_rate=8000)
    assert sig.audio_data.dtype == np.float64
    np.testing.assert_array_equal(sig.audio_data, [x32.astype(np.float64)])


@pytest.mark.parametrize(
    "array",
    [np.zeros(0), np.zeros((2, 0)), np.zeros((1, 1, 4)), np.float64(0.5), np.zeros((5, 2)),
     np.array([0.0, np.nan]), np.array([np.inf, 0.0]), np.zeros(4, complex), np.zeros(4, bool),
     np.array(["a", "b"]), [[0.0, 1.0], [2.0]]],
    ids=["empty", "empty-2d", "3d", "0d", "transposed", "nan", "inf", "complex", "bool", "str", "ragged"],
)
def test_bad_arrays(array):
    with pytest.raises(AudioSignalError):
        AudioSignal(array, sample_rate=8000)


@pytest.mark.parametrize("sample_rate", [None, 0, -8000, 8000.5, float("nan"), float("inf"), True, "8000", 2**31, 1e300])
def test_bad_sample_rates(sample_rate):
    with pytest.raises(AudioSignalError):
        AudioSignal(np.zeros(10), sample_rate=sample_rate)


def test_float_and_numpy_sample_rates_become_int():
    for rate in (8000.0, np.int64(8000), np.float32(8000)):
        sig = AudioSignal(np.zeros(10), sample_rate=rate)
        assert sig.sample_rate == 8000 and type(sig.sample_rate) is int


def test_conflicting_arguments(stereo):
    with pytest.raises(AudioSignalError):
        AudioSignal()
    with pytest.raises(AudioSignalError):
        AudioSignal(np.zeros(10), sample_rate=8000, stft=np.zeros((33, 3), complex))
    with pytest.raises(AudioSignalError):
        AudioSignal(np.zeros(10), sample_rate=8000, offset=0.1)
    with pytest.raises(AudioSignalError):
        AudioSignal(np.zeros(10), sample_rate=8000, label=3)
    with pytest.raises(AudioSignalError):
        AudioSignal(np.zeros(10), sample_rate=8000, stft_params=(64, 16, "hann"))
    with pytest.raises(AudioSignalError):
        AudioSignal(stft=stereo.stft(), stft_params=stereo.stft_params)  # no sample rate


def test_nussl_keywords(ramp_wav, rng):
    path, data = ramp_wav
    from_file = AudioSignal(path_to_input_file=path)
    assert from_file.sample_rate == 8000 and from_file.path == str(path) and from_file.label == "ramp"
    np.testing.assert_array_equal(from_file.audio_data, AudioSignal(path).audio_data)
    x = rng.standard_normal((2, 1000))
    from_array = AudioSignal(audio_data_array=x, sample_rate=8000, label="x")
    np.testing.assert_array_equal(from_array.audio_data, x)
    assert from_array.sample_rate == 8000 and from_array.label == "x"
    spec = sepkit.core.stft(x, SMALL)
    from_stft = AudioSignal(stft=spec, sample_rate=8000, stft_params=SMALL, length=1000)
    np.testing.assert_allclose(from_stft.audio_data, x, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"path_or_array": np.zeros(10), "audio_data_array": np.zeros(10)}, "path_or_array and audio_data_array"),
        ({"path_or_array": "a.wav", "path_to_input_file": "a.wav"}, "path_or_array and path_to_input_file"),
        ({"path_to_input_file": "a.wav", "audio_data_array": np.zeros(10)}, "path_to_input_file and audio_data_array"),
        ({"audio_data_array": np.zeros(10), "stft": np.zeros((33, 3), complex)}, "audio_data_array and stft"),
        ({"path_to_input_file": np.zeros(10)}, "path_to_input_file must be a str"),
        ({"audio_data_array": "a.wav"}, "audio_data_array must be an array"),
    ],
    ids=["positional+array", "positional+path", "path+array", "array+stft", "array-as-path", "path-as-array"],
)
def test_nussl_keywords_conflicts(kwargs, named):
    with pytest.raises(AudioSignalError, match=named):
        AudioSignal(sample_rate=8000, **kwargs)


def test_nussl_keywords_need_a_sample_rate():
    with pytest.raises(AudioSignalError, match="sample_rate is required"):
        AudioSignal(audio_data_array=np.zeros(10))  # nussl assumed 44100 Hz; sepkit asks


def test_from_stft(rng):
    x = rng.standard_normal((2, 1000))
    spec = sepkit.core.stft(x, SMALL)
    sig = AudioSignal(stft=spec, sample_rate=8000, stft_params=SMALL, length=1000, label="rebuilt")
    assert sig.label == "rebuilt" and sig.stft_params == SMALL
    np.testing.assert_allclose(sig.audio_data, x, atol=1e-12)
    default_length = AudioSignal(stft=spec, sample_rate=8000, stft_params=SMALL)
    assert default_length.signal_length == (spec.shape[1] - 1) * SMALL.hop_length
    mono = AudioSignal(stft=spec[:, :, 0], sample_rate=8000, stft_params=SMALL, length=1000)  # 2-D
    np.testing.assert_allclose(mono.audio_data, x[:1], atol=1e-12)


@pytest.mark.parametrize(
    "spec, length",
    [(np.zeros((32, 10, 1), complex), 100), (np.zeros((33, 0, 1), complex), 100),
     (np.full((33, 10, 1), np.nan, complex), 100), (np.zeros((33, 10, 1), complex), 0),
     (np.zeros((33, 10, 1), complex), 1.5), (np.zeros((33, 10, 1), bool), 100), (np.zeros(33, complex), 100)],
    ids=["n_freq", "no-frames", "nan", "zero-length", "float-length", "bool", "1d"],
)
def test_bad_stft_input(spec, length):
    with pytest.raises(AudioSignalError):
        AudioSignal(stft=spec, sample_rate=8000, stft_params=SMALL, length=length)


# -- properties -------------------------------------------------------------------------------


def test_properties(stereo):
    assert stereo.sample_rate == 16000
    assert stereo.num_channels == 2 and not stereo.is_mono
    assert stereo.signal_length == len(stereo) == 4001
    assert stereo.signal_duration == pytest.approx(4001 / 16000)
    assert stereo.label == "noise" and stereo.path is None
    assert stereo.stft_params == STFTParams(512, 128, "sqrt_hann")
    freqs = stereo.frequencies()
    assert freqs.shape == (257,) and freqs[0] == 0 and freqs[-1] == pytest.approx(8000)
    assert stereo.frequencies(SMALL).shape == (33,)


def test_spectrograms(stereo):
    spec = stereo.stft(SMALL)
    np.testing.assert_allclose(stereo.magnitude_spectrogram(SMALL), np.abs(spec))
    np.testing.assert_allclose(stereo.power_spectrogram(SMALL), np.abs(spec) ** 2, rtol=1e-12)


def test_repr(stereo):
    text = repr(stereo)
    assert "noise" in text and "16000" in text and "num_channels=2" in text and "4001" in text


def test_with_label(stereo):
    other = stereo.with_label("renamed")
    assert other.label == "renamed" and stereo.label == "noise"
    np.testing.assert_array_equal(other.audio_data, stereo.audio_data)
    with pytest.raises(AudioSignalError):
        stereo.with_label(None)


# -- immutability and the STFT cache ----------------------------------------------------------


def test_stft_cache(rng):
    sig = AudioSignal(rng.standard_normal((2, 500)), sample_rate=8000)
    first = sig.stft()
    assert sig.stft() is first
    assert sig.stft(sig.stft_params) is first
    other = sig.stft(SMALL)
    assert other is not first and other.shape != first.shape
    assert sig.stft(STFTParams(64, 16, "hann")) is other  # equal params, same entry
    assert sig.stft(STFTParams(64, 16, "hamming")) is not other
    assert sig.stft() is first  # the first entry is still there
    with pytest.raises(ValueError):
        first[0, 0, 0] = 1.0
    assert not first.flags.writeable


def test_audio_data_read_only(stereo):
    with pytest.raises(ValueError):
        stereo.audio_data[0, 0] = 1.0
    with pytest.raises(AttributeError):
        stereo.audio_data = np.zeros((2, 4001))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_caller_array_is_copied(dtype, rng):
    original = (rng.uniform(-0.5, 0.5, (2, 300)) * (30000 if dtype == np.int16 else 1)).astype(dtype)
    kept = original.copy()
    sig = AudioSignal(original, sample_rate=8000)
    before = sig.audio_data.copy()
    spec = sig.stft(SMALL).copy()
    original[:] = 0
    assert original.flags.writeable  # the caller's array is left writeable
    np.testing.assert_array_equal(sig.audio_data, before)
    np.testing.assert_array_equal(sig.stft(SMALL), spec)
    assert np.any(kept != 0)


def test_derived_signals_have_fresh_stft(rng):
    a = AudioSignal(rng.standard_normal((1, 800)), sample_rate=8000)
    b = AudioSignal(rng.standard_normal((1, 800)), sample_rate=8000)
    a.stft(SMALL), b.stft(SMALL)  # fill the caches
    np.testing.assert_allclose((a + b).stft(SMALL), a.stft(SMALL) + b.stft(SMALL), atol=1e-12)
    np.testing.assert_allclose((a * 3).stft(SMALL), 3 * a.stft(SMALL), atol=1e-12)
    np.testing.assert_allclose(a.zero_pad(0, 0).stft(SMALL), a.stft(SMALL), atol=0)


# -- arithmetic -------------------------------------------------------------------------------


def test_arithmetic(rng):
    x, y, z = rng.standard_normal((3, 2, 100))
    a, b, c = (AudioSignal(v, sample_rate=8000, label=name) for v, name in zip((x, y, z), "abc"))
    np.testing.assert_allclose((a + b).audio_data, x + y)
    np.testing.assert_allclose((a - b).audio_data, x - y)
    np.testing.assert_allclose((-a).audio_data, -x)
    np.testing.assert_allclose((a * 2.5).audio_data, 2.5 * x)
    np.testing.assert_allclose((2.5 * a).audio_data, 2.5 * x)
    np.testing.assert_allclose((a * np.float32(2)).audio_data, 2 * x)
    np.testing.assert_allclose((a / 4).audio_data, x / 4)
    total = sum([a, b, c])
    assert isinstance(total, AudioSignal)
    np.testing.assert_allclose(total.audio_data, x + y + z)
    assert (a + b).sample_rate == 8000 and (a + b).label == "a"
    # operands are unchanged
    np.testing.assert_array_equal(a.audio_data, x)
    np.testing.assert_array_equal(b.audio_data, y)


def test_arithmetic_mismatch(rng):
    a = AudioSignal(rng.standard_normal((2, 100)), sample_rate=8000)
    for other in (
        AudioSignal(rng.standard_normal((2, 100)), sample_rate=16000),  # rate
        AudioSignal(rng.standard_normal((2, 101)), sample_rate=8000),  # length
        AudioSignal(rng.standard_normal((1, 100)), sample_rate=8000),  # channels
    ):
        with pytest.raises(AudioSignalError):
            a + other
        with pytest.raises(AudioSignalError):
            a - other
    for bad in (0, 0.0, float("nan"), float("inf")):
        with pytest.raises(AudioSignalError):
            a / bad
    with pytest.raises(AudioSignalError):
        a * float("nan")
    with pytest.raises(TypeError):
        a * a
    with pytest.raises(TypeError):
        a + 1.0
    with pytest.raises(TypeError):
        a * (1 + 2j)
    with np.errstate(over="ignore"), pytest.raises(AudioSignalError):
        AudioSignal(np.full((1, 4), 1e308), sample_rate=8000) * 10  # overflow is not silent


# -- editing ----------------------------------------------------------------------------------


def test_to_mono(stereo):
    mono = stereo.to_mono()
    assert mono.num_channels == 1 and mono.label == "noise"
    np.testing.assert_allclose(mono.audio_data[0], stereo.audio_data.mean(axis=0))
    np.testing.assert_array_equal(mono.to_mono().audio_data, mono.audio_data)


def test_get_channel(stereo):
    np.testing.assert_array_equal(stereo.get_channel(1), stereo.audio_data[1])
    assert stereo.get_channel(np.int64(0)).shape == (4001,)
    for bad in (2, -1, 1.0, True, "0"):
        with pytest.raises(AudioSignalError):
            stereo.get_channel(bad)


def test_resample_keeps_pitch():
    sig = AudioSignal(tone(440, 44100, 1.0), sample_rate=44100, label="A4")
    half = sig.resample(22050)
    assert half.sample_rate == 22050 and half.label == "A4"
    assert abs(half.signal_length - 22050) <= 1
    spectrum = np.abs(np.fft.rfft(half.audio_data[0] * np.hanning(half.signal_length)))
    peak_hz = np.argmax(spectrum) * half.sample_rate / half.signal_length
    assert abs(peak_hz - 440) <= 1.0
    assert half.stft_params == STFTParams(1024, 256, "sqrt_hann")  # defaults follow the new rate
    assert np.max(np.abs(half.audio_data)) == pytest.approx(0.5, abs=0.01)
    same = sig.resample(44100)
    np.testing.assert_array_equal(same.audio_data, sig.audio_data)
    with pytest.raises(AudioSignalError):
        sig.resample(0)


def test_zero_pad(stereo):
    padded = stereo.zero_pad(3, 5)
    assert padded.signal_length == stereo.signal_length + 8
    np.testing.assert_array_equal(padded.audio_data[:, :3], 0)
    np.testing.assert_array_equal(padded.audio_data[:, -5:], 0)
    np.testing.assert_array_equal(padded.audio_data[:, 3:-5], stereo.audio_data)
    assert stereo.zero_pad(2).signal_length == stereo.signal_length + 2
    for bad in ((-1, 0), (0, -1), (1.5, 0), (True, 0)):
        with pytest.raises(AudioSignalError):
            stereo.zero_pad(*bad)


def test_truncate(stereo):
    short = stereo.truncate(10)
    np.testing.assert_array_equal(short.audio_data, stereo.audio_data[:, :10])
    assert stereo.truncate(10**6).signal_length == stereo.signal_length
    for bad in (0, -3, 2.0):
        with pytest.raises(AudioSignalError):
            stereo.truncate(bad)


def test_peak_normalize(stereo):
    assert np.max(np.abs(stereo.peak_normalize().audio_data)) == pytest.approx(1.0, abs=1e-15)
    half = stereo.peak_normalize(0.5)
    assert np.max(np.abs(half.audio_data)) == pytest.approx(0.5, abs=1e-15)
    ratio = half.audio_data / stereo.audio_data
    np.testing.assert_allclose(ratio, ratio.flat[0])  # one gain for every sample and channel
    with pytest.raises(AudioSignalError):
        AudioSignal(np.zeros((2, 10)), sample_rate=8000).peak_normalize()
    for bad in (0, -1, float("nan")):
        with pytest.raises(AudioSignalError):
            stereo.peak_normalize(bad)


def test_rms(stereo):
    x = stereo.audio_data
    np.testing.assert_allclose(stereo.rms(), np.sqrt(np.mean(x**2, axis=1)))
    assert stereo.rms().shape == (2,)
    sine = AudioSignal(tone(100, 8000, 1.0, amplitude=1.0), sample_rate=8000)
    assert sine.rms()[0] == pytest.approx(1 / np.sqrt(2), rel=1e-9)


# -- masking ----------------------------------------------------------------------------------


def test_ones_mask_returns_the_mixture(stereo):
    shape = stereo.stft().shape
    for mask in (SoftMask.ones(shape), BinaryMask.ones(shape), SoftMask.ones(shape[:2])):
        out = stereo.apply_mask(mask, label="same")
        assert out.label == "same" and out.sample_rate == stereo.sample_rate
        assert np.max(np.abs(out.audio_data - stereo.audio_data)) < 1e-10


def test_zeros_mask_gives_silence(stereo):
    out = stereo.apply_mask(BinaryMask.zeros(stereo.stft(SMALL).shape), params=SMALL)
    assert out.audio_data.shape == stereo.audio_data.shape
    assert np.max(np.abs(out.audio_data)) < 1e-12


def test_one_channel_mask_applies_to_every_channel(stereo, rng):
    spec = stereo.stft(SMALL)
    mask = SoftMask(rng.uniform(0, 1, spec.shape[:2] + (1,)))
    out = stereo.apply_mask(mask, params=SMALL)
    for c in range(2):
        channel = AudioSignal(stereo.audio_data[c], sample_rate=stereo.sample_rate)
        expected = channel.apply_mask(mask, params=SMALL)
        np.testing.assert_allclose(out.audio_data[c], expected.audio_data[0], atol=1e-12)
    assert not np.allclose(out.audio_data, stereo.audio_data, atol=1e-3)  # the mask did something


def test_complementary_masks_sum_to_the_mixture(stereo, rng):
    mask = SoftMask(rng.uniform(0, 1, stereo.stft(SMALL).shape))
    total = stereo.apply_mask(mask, SMALL) + stereo.apply_mask(mask.invert(), SMALL)
    assert np.max(np.abs(total.audio_data - stereo.audio_data)) < 1e-10


def test_apply_mask_wrong_shape(stereo):
    f, t, c = stereo.stft().shape
    for shape in ((f - 1, t, c), (f, t + 1, c), (f, t, 3)):
        with pytest.raises(MaskError):
            stereo.apply_mask(SoftMask.ones(shape))
    with pytest.raises(MaskError):
        stereo.apply_mask(SoftMask.ones((f, t, c)), params=SMALL)  # mask made for other params
    with pytest.raises(MaskError):
        stereo.apply_mask(np.ones((f, t, c)))  # a bare array is not a mask


# -- writing and display ----------------------------------------------------------------------


def test_write_flac_pcm24_round_trip(stereo, tmp_path):
    path = tmp_path / "out.flac"
    stereo.write(path, subtype="PCM_24")
    back = AudioSignal(path)
    assert back.sample_rate == stereo.sample_rate and back.audio_data.shape == stereo.audio_data.shape
    assert back.label == "out"
    assert np.max(np.abs(back.audio_data - stereo.audio_data)) < 1e-6
    assert soundfile.info(path).subtype == "PCM_24"


def test_write_wav_default_and_float(stereo, tmp_path):
    stereo.write(tmp_path / "a.wav")
    back = AudioSignal(tmp_path / "a.wav")
    assert np.max(np.abs(back.audio_data - stereo.audio_data)) <= 1 / 32768
    loud = stereo * 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FLOAT does not clip, so no warning
        loud.write(tmp_path / "b.wav", subtype="FLOAT")
    np.testing.assert_allclose(AudioSignal(tmp_path / "b.wav").audio_data, loud.audio_data, rtol=1e-6)


def test_write_clips_with_warning(tmp_path):
    x = np.array([[0.5, 1.5, -2.0, 0.25, 1.0]])
    sig = AudioSignal(x, sample_rate=8000)
    path = tmp_path / "clip.wav"
    with pytest.warns(UserWarning, match="clipped"):
        sig.write(path, subtype="PCM_16")
    back = AudioSignal(path).audio_data
    assert np.all(np.abs(back) <= 1.0)
    np.testing.assert_allclose(back, np.clip(x, -1, 1), atol=1 / 32768)
    np.testing.assert_array_equal(sig.audio_data, x)  # the signal itself is not clipped


def test_write_unknown_extension(stereo, tmp_path):
    for name in ("out.xyz", "no_extension"):
        with pytest.raises(AudioIOError):
            stereo.write(tmp_path / name)
    with pytest.raises(AudioIOError):
        stereo.write(tmp_path / "out.wav", subtype="NOT_A_SUBTYPE")
    with pytest.raises(AudioIOError):
        stereo.write(tmp_path / "missing_folder" / "out.wav")


def test_embed_audio(stereo):
    html = stereo.embed_audio()
    assert "<audio" in html and "noise" in html
    prefix = "data:audio/wav;base64,"
    assert prefix in html
    encoded = html.split(prefix, 1)[1].split('"', 1)[0]
    data, rate = soundfile.read(io.BytesIO(base64.b64decode(encoded)), always_2d=True)
    assert rate == 16000 and data.shape == (4001, 2)
    np.testing.assert_allclose(data.T, stereo.audio_data, atol=1 / 32768)
    assert stereo._repr_html_() == html


def test_embed_audio_escapes_label_and_normalises_loud_audio():
    sig = AudioSignal(np.array([0.0, 2.0, -4.0, 1.0]), sample_rate=8000, label="<b>x</b>")
    html = sig.embed_audio()
    assert "<b>" not in html and "&lt;b&gt;" in html
    encoded = html.split("base64,", 1)[1].split('"', 1)[0]
    data, _ = soundfile.read(io.BytesIO(base64.b64decode(encoded)), always_2d=True)
    np.testing.assert_allclose(data[:, 0], [0.0, 0.5, -1.0, 0.25], atol=1 / 32768)


# -- separators leave the caller's signals alone ----------------------------------------------


@pytest.mark.parametrize("approach", ["ibm", "irm-msa", "irm-psa"])
def test_separators_do_not_mutate_inputs(example, approach):
    mix, sources = example
    mix_before = (mix.audio_data.copy(), mix.label, mix.path, mix.stft_params)
    src_before = {name: (sig, sig.audio_data.copy(), sig.label) for name, sig in sources.items()}
    estimates = sepkit.separation.IdealMask(mix, sources, approach=approach)()
    assert [e.label for e in estimates] == list(sources)
    np.testing.assert_array_equal(mix.audio_data, mix_before[0])
    assert (mix.label, mix.path, mix.stft_params) == mix_before[1:]
    assert list(sources) == list(src_before)
    for name, sig in sources.items():
        same, audio, label = src_before[name]
        assert sig is same and sig.label == label
        np.testing.assert_array_equal(sig.audio_data, audio)
    if approach == "ibm":  # the binary masks partition the bins: estimates sum to the mixture
        assert np.max(np.abs(sum(estimates).audio_data - mix.audio_data)) < 1e-10


def test_separator_list_input_not_mutated(stereo, rng):
    other = AudioSignal(rng.standard_normal((2, 4001)) * 0.1, sample_rate=16000, label="other")
    mix = stereo + other
    sources = [stereo, other]
    HighLowPass = sepkit.separation.HighLowPassFilter
    low, high = HighLowPass(mix, cutoff_hz=1000)()
    sepkit.separation.IdealMask(mix, sources, approach="irm-msa", power=2)()
    assert sources == [stereo, other] and stereo.label == "noise" and other.label == "other"
    np.testing.assert_array_equal(mix.audio_data, stereo.audio_data + other.audio_data)
    assert np.max(np.abs((low + high).audio_data - mix.audio_data)) < 1e-10
