"""Argument parsing of :class:`~sepkit.AudioSignal`: the sample source (sepkit's positional
argument or nussl's keywords), the sample rate and the samples themselves."""

from __future__ import annotations

import os

import numpy as np

from .errors import AudioSignalError
from .stft_params import MAX_SAMPLE_RATE
from .validation import is_real

__all__ = ["check_sample_rate", "check_audio", "pick_source"]


def check_sample_rate(sample_rate) -> int:
    """``sample_rate`` as an int, if it is a whole positive number of Hz (``44100.0`` is accepted).

    Raises
    ------
    AudioSignalError
        For a non-number, a bool, a fraction, NaN/inf, zero, a negative rate or one above
        ``MAX_SAMPLE_RATE`` (2**31 - 1, what audio file headers can store).
    """
    # Compared before any float conversion: NaN fails the bounds, huge ints never overflow.
    if not is_real(sample_rate) or not 0 < sample_rate <= MAX_SAMPLE_RATE or int(sample_rate) != sample_rate:
        raise AudioSignalError(
            f"sample_rate must be a positive integer in Hz, at most {MAX_SAMPLE_RATE}, got {sample_rate!r}"
        )
    return int(sample_rate)


def check_audio(array: np.ndarray) -> np.ndarray:
    """A float64 array as read-only, C-ordered ``(n_channels, n_samples)`` samples.

    Parameters
    ----------
    array : numpy.ndarray of float64, shape (n_samples,) or (n_channels, n_samples)

    Raises
    ------
    AudioSignalError
        For another number of dimensions, no sample, more channels than samples (a
        transposed array) or NaN/inf values.
    """
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise AudioSignalError(
            f"audio must have shape (n_samples,) or (n_channels, n_samples), got shape {array.shape}"
        )
    if array.size == 0:
        raise AudioSignalError(f"audio is empty (shape {array.shape})")
    if array.shape[0] > array.shape[1]:
        raise AudioSignalError(
            f"audio of shape {array.shape} has more channels than samples; sepkit expects "
            "(n_channels, n_samples): pass array.T if the array is (n_samples, n_channels)"
        )
    if not np.all(np.isfinite(array)):
        raise AudioSignalError("audio contains NaN or infinite values")
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def pick_source(path_or_array, path_to_input_file, audio_data_array, stft):
    """The one source of samples among sepkit's positional argument and nussl's keywords.

    Parameters
    ----------
    path_or_array : str, os.PathLike, array_like or None
        sepkit's first argument (a path or samples).
    path_to_input_file : str, os.PathLike or None
        nussl's keyword for a file.
    audio_data_array : array_like or None
        nussl's keyword for samples, shape ``(n_samples,)`` or ``(n_channels, n_samples)``.
    stft : array_like or None
        An STFT to invert (sepkit's and nussl's keyword).

    Returns
    -------
    object
        The path or the array given, or None when only ``stft`` (or nothing) is given.

    Raises
    ------
    AudioSignalError
        When two sources are given (naming them), a path is given as ``audio_data_array``
        or something else than a path as ``path_to_input_file``.
    """
    given = [
        name
        for name, value in (
            ("path_or_array", path_or_array),
            ("path_to_input_file", path_to_input_file),
            ("audio_data_array", audio_data_array),
            ("stft", stft),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise AudioSignalError(
            f"give one source of samples, got {' and '.join(given)}: a path (path_or_array or "
            "path_to_input_file), an array (path_or_array or audio_data_array) or an stft"
        )
    if path_to_input_file is not None:
        if not isinstance(path_to_input_file, (str, os.PathLike)):
            raise AudioSignalError(
                f"path_to_input_file must be a str or os.PathLike, got {type(path_to_input_file).__name__}; "
                "pass samples as audio_data_array"
            )
        return path_to_input_file
    if audio_data_array is not None:
        if isinstance(audio_data_array, (str, os.PathLike)):
            raise AudioSignalError(
                f"audio_data_array must be an array of samples, got the path {os.fspath(audio_data_array)!r}; "
                "pass it as path_to_input_file"
            )
        return audio_data_array
    return path_or_array
