"""``AudioSignal``: immutable multichannel audio with a lazily computed, cached STFT."""

from __future__ import annotations

import numbers
import os

import numpy as np

from . import audio_io, stft as _stft
from ._audio_args import check_audio as _check_audio, check_sample_rate as _check_sample_rate, pick_source
from .errors import AudioSignalError, MaskError
from .masks import MaskBase
from .stft_params import STFTParams
from .validation import check_int, check_positive, is_real

__all__ = ["AudioSignal"]


#: Largest absolute sample value accepted: the STFT of the longest window (2**24 samples)
#: then stays below float64's maximum (1.8e308) with a margin.
MAX_SAMPLE_LEVEL = 1e300


class AudioSignal:
    """Multichannel audio: samples, sample rate, label and path, with a cached STFT.

    An ``AudioSignal`` is immutable: its samples are a read-only array and every
    operation (arithmetic, resampling, masking, padding) returns a new signal. So the
    STFT, computed on first use and cached per :class:`STFTParams`, can never go stale.

    Parameters
    ----------
    path_or_array : str, os.PathLike, array_like or None
        A path to an audio file (wav, flac, ogg, ... through soundfile), or samples of
        shape ``(n_samples,)`` or ``(n_channels, n_samples)``. Integer samples are
        scaled by their own dtype (int16 by 2**15, int32 by 2**31, uint8 centred on
        128); floats are taken as they are. ``None`` when ``stft`` is given.
    sample_rate : int or None
        Sample rate in Hz; required for arrays and STFTs, read from the file otherwise
        (where it must agree if given).
    stft : array_like of complex, shape (n_freq, n_frames, n_channels) or (n_freq, n_frames), optional
        Build the signal by inverting this STFT with ``stft_params``.
    stft_params : STFTParams or None
        Default STFT parameters of the signal; ``None`` fields are filled from the
        sample rate (2048/512 sqrt-Hann at 44.1 kHz).
    length : int or None
        Number of samples when building from ``stft`` (default: ``(n_frames - 1) * hop``).
    label : str or None
        A name, e.g. the source it holds; defaults to the file name without extension.
    offset, duration : float
        Excerpt of a file to read, in seconds.
    path_to_input_file : str or os.PathLike, optional
        nussl's keyword for a file (instead of ``path_or_array``).
    audio_data_array : array_like, shape (n_samples,) or (n_channels, n_samples), optional
        nussl's keyword for samples (instead of ``path_or_array``). Unlike nussl,
        ``sample_rate`` has no default of 44100 Hz: give it.

    Raises
    ------
    AudioSignalError
        Empty, NaN/inf, complex or wrongly shaped samples; a bad sample rate; more than
        one source of samples (e.g. ``path_or_array`` and ``audio_data_array``).
    AudioIOError
        The file cannot be read.

    Examples
    --------
    >>> import numpy as np
    >>> sig = AudioSignal(np.zeros((2, 44100)), sample_rate=44100, label="silence")
    >>> sig.num_channels, sig.signal_duration, sig.stft().shape
    (2, 1.0, (1025, 88, 2))
    >>> AudioSignal(audio_data_array=np.zeros(8000), sample_rate=8000).num_channels  # nussl's keywords
    1
    """

    __slots__ = ("_audio", "_sample_rate", "_label", "_path", "_stft_params", "_stft_cache")

    def __init__(
        self,
        path_or_array=None,
        sample_rate: int | None = None,
        *,
        stft=None,
        stft_params: STFTParams | None = None,
        length: int | None = None,
        label: str | None = None,
        offset: float = 0.0,
        duration: float | None = None,
        path_to_input_file=None,
        audio_data_array=None,
    ):
        path = None
        path_or_array = pick_source(path_or_array, path_to_input_file, audio_data_array, stft)
        if stft is not None:
            if sample_rate is None:
                raise AudioSignalError("sample_rate is required when building a signal from an STFT")
            sample_rate = _check_sample_rate(sample_rate)
            params = self._resolve_params(stft_params, sample_rate)
            audio = self._invert(stft, params, length)
        elif isinstance(path_or_array, (str, os.PathLike)):
            audio, file_rate = audio_io.read_audio(path_or_array, offset=offset, duration=duration)
            if sample_rate is not None and _check_sample_rate(sample_rate) != file_rate:
                raise AudioSignalError(
                    f"sample_rate={sample_rate} given but {os.fspath(path_or_array)!r} is at "
                    f"{file_rate} Hz; load it, then call resample({sample_rate})"
                )
            sample_rate = file_rate
            path = os.fspath(path_or_array)
            if label is None:
                label = os.path.splitext(os.path.basename(path))[0]
        elif path_or_array is None:
            raise AudioSignalError("an AudioSignal needs a path, an array of samples or an stft")
        else:
            if sample_rate is None:
                raise AudioSignalError("sample_rate is required when building a signal from an array")
            if offset or duration is not None:
                raise AudioSignalError("offset and duration apply to files only; slice the array instead")
            sample_rate = _check_sample_rate(sample_rate)
            audio = audio_io.to_float_audio(path_or_array)
        if label is not None and not isinstance(label, str):
            raise AudioSignalError(f"label must be a string, got {label!r}")
        self._init(_check_audio(audio), sample_rate, label, path, stft_params)

    def _init(self, audio, sample_rate, label, path, stft_params):
        peak = float(np.max(np.abs(audio)))
        if peak > MAX_SAMPLE_LEVEL:
            raise AudioSignalError(
                f"audio peaks at {peak:.3g}: above {MAX_SAMPLE_LEVEL:.0e} its STFT (a sum of up to "
                "2**24 windowed samples) would overflow float64; rescale the samples"
            )
        self._audio = audio
        self._sample_rate = sample_rate
        self._label = label
        self._path = path
        self._stft_params = self._resolve_params(stft_params, sample_rate)
        self._stft_cache = {}

    @classmethod
    def _trusted(cls, audio, sample_rate, label=None, path=None, stft_params=None):
        """Wrap float64 audio that sepkit made itself (checked, never copied)."""
        signal = cls.__new__(cls)
        signal._init(_check_audio(np.asarray(audio, dtype=np.float64)), sample_rate, label, path, stft_params)
        return signal

    @staticmethod
    def _resolve_params(stft_params, sample_rate) -> STFTParams:
        if stft_params is None:
            stft_params = STFTParams()
        if not isinstance(stft_params, STFTParams):
            raise AudioSignalError(f"stft_params must be an STFTParams, got {stft_params!r}")
        return stft_params.resolve(sample_rate)

    @staticmethod
    def _invert(stft, params, length) -> np.ndarray:
        try:
            stft = np.asarray(stft)
        except (ValueError, TypeError) as err:  # e.g. ragged nested lists
            raise AudioSignalError(f"stft must be an array of complex numbers: {err}") from None
        if stft.ndim == 2:
            stft = stft[:, :, None]
        if stft.ndim != 3 or 0 in stft.shape:
            raise AudioSignalError(f"stft must have shape (n_freq, n_frames, n_channels), got {stft.shape}")
        if stft.dtype.kind not in "cfiu":
            raise AudioSignalError(f"stft must be numeric, got dtype {stft.dtype}")
        if stft.shape[0] != params.n_freq:
            raise AudioSignalError(
                f"stft has {stft.shape[0]} frequency bins but window_length {params.window_length} "
                f"gives {params.n_freq}"
            )
        if not np.all(np.isfinite(stft)):
            raise AudioSignalError("stft contains NaN or infinite values")
        if length is None:
            length = (stft.shape[1] - 1) * params.hop_length
        length = check_int("length", length, minimum=1, error=AudioSignalError)
        return _stft.istft(stft.astype(np.complex128, copy=False), params, length)

    # -- properties ---------------------------------------------------------------------------
    @property
    def audio_data(self) -> np.ndarray:
        """Samples, float64, read-only, shape ``(n_channels, n_samples)``."""
        return self._audio

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def num_channels(self) -> int:
        """Number of channels."""
        return self._audio.shape[0]

    @property
    def signal_length(self) -> int:
        """Number of samples per channel."""
        return self._audio.shape[1]

    @property
    def signal_duration(self) -> float:
        """Duration in seconds."""
        return self.signal_length / self._sample_rate

    @property
    def label(self) -> str | None:
        """Name of the signal (e.g. the source it holds), or ``None``."""
        return self._label

    @property
    def path(self) -> str | None:
        """File the signal was read from, or ``None``."""
        return self._path

    @property
    def stft_params(self) -> STFTParams:
        """Default (complete) STFT parameters of this signal."""
        return self._stft_params

    @property
    def is_mono(self) -> bool:
        """True for a single channel."""
        return self.num_channels == 1

    def __len__(self) -> int:
        return self.signal_length

    def __repr__(self) -> str:
        where = f", path={self._path!r}" if self._path else ""
        return (
            f"AudioSignal(label={self._label!r}, sample_rate={self._sample_rate}, "
            f"num_channels={self.num_channels}, signal_length={self.signal_length} "
            f"({self.signal_duration:.3f} s){where})"
        )

    # -- derived signals ----------------------------------------------------------------------
    def _derive(self, audio, label=None, keep_path=False) -> "AudioSignal":
        return AudioSignal._trusted(
            audio,
            self._sample_rate,
            label=self._label if label is None else label,
            path=self._path if keep_path else None,
            stft_params=self._stft_params,
        )

    def with_label(self, label: str) -> "AudioSignal":
        """Return the same samples under another label (no copy)."""
        if not isinstance(label, str):
            raise AudioSignalError(f"label must be a string, got {label!r}")
        signal = self._derive(self._audio, label=label, keep_path=True)
        signal._stft_cache = self._stft_cache  # same samples, same spectra
        return signal

    # -- time-frequency -----------------------------------------------------------------------
    def _params(self, params) -> STFTParams:
        return self._stft_params if params is None else self._resolve_params(params, self._sample_rate)

    def stft(self, params: STFTParams | None = None) -> np.ndarray:
        """Return the STFT, computed once per parameter set and cached.

        Parameters
        ----------
        params : STFTParams or None
            STFT parameters; ``None`` uses :attr:`stft_params`.

        Returns
        -------
        numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels)
            Read-only (it is the cached array). See :mod:`sepkit.core.stft` for the
            framing convention.
        """
        params = self._params(params)
        cached = self._stft_cache.get(params)
        if cached is None:
            cached = _stft.stft(self._audio, params)
            cached.flags.writeable = False
            self._stft_cache[params] = cached
        return cached

    def istft(self, stft_data, params: STFTParams | None = None, label: str | None = None) -> "AudioSignal":
        """Return a new signal, of this signal's length and rate, from an STFT.

        Parameters
        ----------
        stft_data : array_like of complex, shape (n_freq, n_frames, n_channels)
            E.g. a masked version of :meth:`stft`.
        params : STFTParams or None
            The parameters of ``stft_data``; ``None`` uses :attr:`stft_params`.
        label : str or None
            Label of the new signal (default: this signal's label).

        Returns
        -------
        AudioSignal
        """
        params = self._params(params)
        audio = self._invert(stft_data, params, self.signal_length)
        return self._derive(audio, label=label)

    def _istft_trusted(self, stft_data, params: STFTParams, label) -> "AudioSignal":
        """:meth:`istft` for STFTs sepkit computed itself (shape and values already valid)."""
        return self._derive(_stft.istft(stft_data, params, self.signal_length), label=label)

    def magnitude_spectrogram(self, params: STFTParams | None = None) -> np.ndarray:
        """``|STFT|``, float64, shape ``(n_freq, n_frames, n_channels)``."""
        return np.abs(self.stft(params))

    def power_spectrogram(self, params: STFTParams | None = None) -> np.ndarray:
        """``|STFT|**2``, float64, shape ``(n_freq, n_frames, n_channels)``."""
        spec = self.stft(params)
        return spec.real**2 + spec.imag**2

    def frequencies(self, params: STFTParams | None = None) -> np.ndarray:
        """Centre frequency of every STFT bin in Hz, shape ``(n_freq,)``."""
        params = self._params(params)
        return np.arange(params.n_freq) * (self._sample_rate / params.window_length)

    def apply_mask(self, mask: MaskBase, params: STFTParams | None = None, label: str | None = None) -> "AudioSignal":
        """Mask the STFT and return the resulting signal.

        Parameters
        ----------
        mask : SoftMask or BinaryMask, shape (n_freq, n_frames, n_channels)
            The mask; one channel is applied to every channel of the signal.
        params : STFTParams or None
            STFT parameters the mask was made for (default :attr:`stft_params`).
        label : str or None
            Label of the result (default: this signal's label).

        Returns
        -------
        AudioSignal
            ``istft(mask * stft)``, of this signal's length and rate.

        Raises
        ------
        MaskError
            If ``mask`` is not a mask object or its shape does not match the STFT.
        """
        if not isinstance(mask, MaskBase):
            raise MaskError(f"apply_mask needs a SoftMask or BinaryMask, got {type(mask).__name__}")
        spec = self.stft(params)
        n_freq, n_frames, n_channels = spec.shape
        if mask.shape[:2] != (n_freq, n_frames) or mask.num_channels not in (1, n_channels):
            raise MaskError(
                f"mask of shape {mask.shape} does not fit the STFT of shape {spec.shape} "
                f"(the channel count may be 1 or {n_channels})"
            )
        return self._masked_istft(mask.mask, self._params(params), label)

    def _masked_istft(self, values: np.ndarray, params: STFTParams, label) -> "AudioSignal":
        """Invert ``values * stft(params)``; ``values`` is a real or boolean array that
        broadcasts against the STFT (validated by the caller)."""
        spec = self.stft(params)
        if values.shape == spec.shape and values.flags.f_contiguous and spec.flags.f_contiguous:
            from ..kernels.masks import masked_spectrum  # numba: imported on first use only

            # Same shape and memory order as the STFT: a parallel product on flat views.
            flat = np.empty(spec.size, dtype=spec.dtype)
            masked_spectrum(spec.ravel(order="F"), values.ravel(order="F"), flat)
            masked = flat.reshape(spec.shape, order="F")
        else:
            masked = spec * values
        return self._istft_trusted(masked, params, label)

    # -- editing (all return new signals) -----------------------------------------------------
    def to_mono(self) -> "AudioSignal":
        """Return the mean over channels as a one-channel signal."""
        if self.is_mono:
            return self
        return self._derive(self._audio.mean(axis=0, keepdims=True))

    def get_channel(self, channel: int) -> np.ndarray:
        """Return channel ``channel`` as a read-only ``(n_samples,)`` array."""
        return self._audio[check_int("channel", channel, 0, self.num_channels - 1, error=AudioSignalError)]

    def resample(self, sample_rate: int) -> "AudioSignal":
        """Return the signal resampled to ``sample_rate`` Hz (soxr, high quality)."""
        import soxr

        sample_rate = _check_sample_rate(sample_rate)
        if sample_rate == self._sample_rate:
            return self
        audio = soxr.resample(self._audio.T, self._sample_rate, sample_rate, quality="HQ").T
        return AudioSignal._trusted(np.ascontiguousarray(audio), sample_rate, label=self._label)

    def zero_pad(self, before: int, after: int = 0) -> "AudioSignal":
        """Return the signal with ``before`` and ``after`` zero samples added."""
        before = check_int("before", before, minimum=0, error=AudioSignalError)
        after = check_int("after", after, minimum=0, error=AudioSignalError)
        return self._derive(np.pad(self._audio, ((0, 0), (before, after))))

    def truncate(self, length: int) -> "AudioSignal":
        """Return the first ``length`` samples (at most the whole signal)."""
        length = check_int("length", length, minimum=1, error=AudioSignalError)
        if length >= self.signal_length:
            return self
        return self._derive(self._audio[:, :length])

    def peak_normalize(self, peak: float = 1.0) -> "AudioSignal":
        """Return the signal scaled so its largest absolute sample equals ``peak``."""
        current = float(np.max(np.abs(self._audio)))
        if current == 0.0:
            raise AudioSignalError("cannot peak-normalise a silent signal")
        return self * (check_positive("peak", peak, error=AudioSignalError) / current)

    def rms(self) -> np.ndarray:
        """Root-mean-square level per channel, shape ``(n_channels,)``."""
        return np.sqrt(np.mean(self._audio**2, axis=1))

    # -- output -------------------------------------------------------------------------------
    def write(self, path, subtype: str | None = None) -> None:
        """Write the signal to ``path`` (format from the extension).

        Parameters
        ----------
        path : str or os.PathLike
            ``.wav``, ``.flac``, ``.ogg``, ...
        subtype : str or None
            soundfile subtype (``'PCM_16'``, ``'PCM_24'``, ``'FLOAT'``, ...); ``None`` is
            the format's default. Samples outside [-1, 1] are clipped, with a warning,
            for integer subtypes.
        """
        audio_io.write_audio(path, self._audio, self._sample_rate, subtype=subtype)

    def embed_audio(self) -> str:
        """HTML audio player holding the samples (for notebooks; no ffmpeg needed)."""
        from .display import audio_html

        return audio_html(self._audio, self._sample_rate, self._label)

    def _repr_html_(self) -> str:
        return self.embed_audio()

    # -- arithmetic ---------------------------------------------------------------------------
    def _check_compatible(self, other: "AudioSignal", op: str) -> None:
        if other._sample_rate != self._sample_rate:
            raise AudioSignalError(f"cannot {op} signals at {self._sample_rate} Hz and {other._sample_rate} Hz")
        if other._audio.shape != self._audio.shape:
            raise AudioSignalError(
                f"cannot {op} signals of shape {self._audio.shape} and {other._audio.shape} "
                "(channels, samples)"
            )

    def __add__(self, other):
        if isinstance(other, AudioSignal):
            self._check_compatible(other, "add")
            return self._derive(self._audio + other._audio)
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # so that sum([...]) works
            return self
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, AudioSignal):
            self._check_compatible(other, "subtract")
            return self._derive(self._audio - other._audio)
        return NotImplemented

    def __neg__(self):
        return self._derive(-self._audio)

    def __mul__(self, scalar):
        if is_real(scalar):
            if not np.isfinite(scalar):
                raise AudioSignalError(f"cannot multiply a signal by {scalar!r}")
            return self._derive(self._audio * float(scalar))
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, scalar):
        if is_real(scalar):
            if scalar == 0 or not np.isfinite(scalar):
                raise AudioSignalError(f"cannot divide a signal by {scalar!r}")
            return self._derive(self._audio / float(scalar))
        return NotImplemented
