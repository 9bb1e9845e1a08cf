"""Reading and writing audio files (soundfile), and converting sample arrays to float."""

from __future__ import annotations

import os
import warnings

import numpy as np

from .errors import AudioIOError, AudioSignalError
from .validation import check_nonneg

__all__ = ["read_audio", "write_audio", "to_float_audio", "audio_info"]


def to_float_audio(array) -> np.ndarray:
    """Convert samples of any real dtype to float64 in [-1, 1] by their own dtype's scale.

    Parameters
    ----------
    array : array_like
        Samples. Signed integers are divided by ``2 ** (bits - 1)``; unsigned integers
        are centred first (uint8 128 is zero); floats are kept as they are.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape (a new array, never a view of the input).

    Raises
    ------
    AudioSignalError
        For boolean, complex, object or string input.
    """
    try:
        array = np.asarray(array)
    except (ValueError, TypeError) as err:  # e.g. ragged nested lists
        raise AudioSignalError(f"audio samples must form a rectangular array: {err}") from None
    kind = array.dtype.kind
    if kind == "f":
        return np.array(array, dtype=np.float64)
    if kind == "i":
        scale = float(2 ** (8 * array.dtype.itemsize - 1))
        return array.astype(np.float64) / scale
    if kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        return (array.astype(np.float64) - half) / half
    raise AudioSignalError(
        f"audio samples must be real numbers (float or integer PCM), got dtype {array.dtype}"
    )


def audio_info(path) -> tuple[int, int, int]:
    """Return ``(sample_rate, n_channels, n_frames)`` of an audio file without reading it."""
    import soundfile

    name = os.fspath(path)
    if isinstance(name, str) and not os.path.exists(name):
        raise AudioIOError(f"cannot read audio file {name!r}: no such file")
    if isinstance(name, str) and os.path.isdir(name):
        raise AudioIOError(f"cannot read audio file {name!r}: it is a folder")
    try:
        info = soundfile.info(name)
    except Exception as err:  # soundfile raises RuntimeError/LibsndfileError/TypeError
        raise AudioIOError(f"cannot read audio file {name!r}: {err}") from None
    return int(info.samplerate), int(info.channels), int(info.frames)


def read_audio(path, offset: float = 0.0, duration: float | None = None):
    """Read an audio file (wav, flac, ogg and every format libsndfile reads).

    Parameters
    ----------
    path : str or os.PathLike
        File to read.
    offset : float
        Start of the excerpt in seconds.
    duration : float or None
        Length of the excerpt in seconds; ``None`` reads to the end.

    Returns
    -------
    audio : numpy.ndarray, shape (n_channels, n_samples)
        float64 samples in [-1, 1].
    sample_rate : int
        Sample rate in Hz.

    Raises
    ------
    AudioIOError
        If the file does not exist or cannot be decoded.
    AudioSignalError
        If ``offset``/``duration`` are negative, non-finite or outside the file.
    """
    import soundfile

    sample_rate, _, n_frames = audio_info(path)
    offset = check_nonneg("offset", offset, error=AudioSignalError)
    if duration is not None:
        duration = check_nonneg("duration", duration, error=AudioSignalError)
    # min(..., n_frames) keeps huge offsets and durations finite before rounding
    start = int(round(min(offset * sample_rate, n_frames)))
    if n_frames == 0:
        raise AudioSignalError(f"audio file {os.fspath(path)!r} holds no samples")
    if start >= n_frames:
        raise AudioSignalError(
            f"offset {offset} s is beyond the end of {os.fspath(path)!r} "
            f"({n_frames / sample_rate:.3f} s)"
        )
    stop = n_frames
    if duration is not None:
        stop = min(n_frames, start + int(round(min(duration * sample_rate, n_frames))))
    try:
        data, _ = soundfile.read(
            os.fspath(path), start=start, stop=stop, dtype="float64", always_2d=True
        )
    except Exception as err:
        raise AudioIOError(f"cannot read audio file {os.fspath(path)!r}: {err}") from None
    return np.ascontiguousarray(data.T), sample_rate


def write_audio(path, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write ``(n_channels, n_samples)`` float audio to a file with soundfile.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; the format follows the extension (``.wav``, ``.flac``, ``.ogg``).
    audio : numpy.ndarray, shape (n_channels, n_samples)
        Float samples, nominally in [-1, 1].
    sample_rate : int
        Sample rate in Hz written to the header (the samples are never resampled).
    subtype : str or None
        soundfile subtype such as ``'PCM_16'``, ``'PCM_24'`` or ``'FLOAT'``; ``None``
        uses the format's default (PCM_16 for WAV and FLAC).

    Warns
    -----
    UserWarning
        When samples outside [-1, 1] are clipped for an integer subtype.

    Raises
    ------
    AudioIOError
        If the format or subtype is not supported or the file cannot be written.
    """
    import soundfile

    path = os.fspath(path)
    extension = path.rsplit(".", 1)[-1].upper() if "." in os.path.basename(path) else ""
    try:
        default = soundfile.default_subtype(extension)
    except ValueError:
        raise AudioIOError(
            f"cannot tell the audio format of {path!r} from its extension: use .wav, .flac or .ogg"
        ) from None
    subtype = default if subtype is None else str(subtype).upper()
    data = np.asarray(audio, dtype=np.float64).T
    is_float_subtype = subtype in ("FLOAT", "DOUBLE", "VORBIS", "OPUS")
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    if peak > 1.0 and not is_float_subtype:
        n_clipped = int(np.count_nonzero(np.abs(data) > 1.0))
        warnings.warn(
            f"{n_clipped} samples of {path!r} exceed [-1, 1] (peak {peak:.3f}) and are clipped "
            f"in subtype {subtype}; call peak_normalize() or write with subtype='FLOAT'",
            UserWarning,
            stacklevel=3,
        )
        data = np.clip(data, -1.0, 1.0)
    try:
        soundfile.write(path, data, int(sample_rate), subtype=subtype)
    except Exception as err:
        raise AudioIOError(f"cannot write audio file {path!r}: {err}") from None
