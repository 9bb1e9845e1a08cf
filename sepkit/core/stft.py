"""Short-time Fourier transform and its least-squares inverse.

Conventions
-----------
* Time-domain audio is ``(n_channels, n_samples)``; an STFT is complex
  ``(n_freq, n_frames, n_channels)`` with ``n_freq = window_length // 2 + 1``.
* Frames are centred: the signal is padded with ``window_length // 2`` zeros on the
  left, and on the right up to a whole number of hops, so frame ``t`` is centred on
  sample ``t * hop_length`` and ``n_frames = ceil(n_samples / hop_length) + 1``.
* Layout: the result of :func:`stft` is a Fortran-ordered array, the transpose of
  the FFT's natural ``(n_channels, n_frames, n_freq)`` layout, so no copy is made to
  present it as ``(n_freq, n_frames, n_channels)``. numpy handles either order.
* No scaling: ``X[f, t] = sum_n w[n] x[n + t*hop - W/2] exp(-2j pi f n / W)``, as in
  librosa (nussl's scipy backend divides by the window sum instead).
* The inverse is the least-squares overlap-add (Griffin & Lim), so
  ``istft(stft(x)) == x`` to rounding error for every window/hop pair that
  satisfies NOLA, which :class:`~sepkit.core.STFTParams` checks.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .errors import STFTParamsError
from .stft_params import STFTParams

__all__ = ["stft", "istft", "num_frames"]


def _check_params(params: STFTParams) -> STFTParams:
    if not isinstance(params, STFTParams) or not params.is_complete:
        raise STFTParamsError(
            f"expected complete STFTParams (call .resolve(sample_rate)), got {params!r}"
        )
    return params


def num_frames(n_samples: int, hop_length: int) -> int:
    """Number of STFT frames for ``n_samples`` samples: ``ceil(n_samples / hop) + 1``."""
    return -(-int(n_samples) // int(hop_length)) + 1


def stft(audio: np.ndarray, params: STFTParams) -> np.ndarray:
    """Compute the STFT of multichannel audio.

    Parameters
    ----------
    audio : numpy.ndarray, shape (n_channels, n_samples)
        Real audio, float32 or float64.
    params : STFTParams
        Complete STFT parameters.

    Returns
    -------
    numpy.ndarray, shape (n_freq, n_frames, n_channels)
        Complex STFT (complex64 for float32 input, complex128 otherwise),
        Fortran-ordered.
    """
    params = _check_params(params)
    audio = np.asarray(audio)
    if audio.ndim != 2:
        raise STFTParamsError(f"stft expects audio of shape (n_channels, n_samples), got {audio.shape}")
    from ..kernels.stft import windowed_frames  # numba: imported on first use only

    dtype = np.float32 if audio.dtype == np.float32 else np.float64
    audio = np.ascontiguousarray(audio, dtype=dtype)
    frames = np.empty((audio.shape[0], num_frames(audio.shape[1], params.hop_length), params.window_length), dtype)
    windowed_frames(audio, params.window.astype(dtype), params.hop_length, frames)
    spec = scipy.fft.rfft(frames, axis=-1, workers=-1, overwrite_x=True)  # (C, T, F)
    return spec.transpose(2, 1, 0)


def istft(stft_data: np.ndarray, params: STFTParams, length: int) -> np.ndarray:
    """Invert an STFT by least-squares overlap-add.

    Parameters
    ----------
    stft_data : numpy.ndarray, shape (n_freq, n_frames, n_channels)
        Complex STFT with ``n_freq == params.window_length // 2 + 1``.
    params : STFTParams
        Complete STFT parameters, those used for the forward transform.
    length : int
        Number of samples of the output.

    Returns
    -------
    numpy.ndarray, shape (n_channels, length)
        Real audio (float32 for complex64 input, float64 otherwise).
    """
    from ..kernels.stft import windowed_overlap_add  # numba: imported on first use only

    params = _check_params(params)
    stft_data = np.asarray(stft_data)
    if stft_data.ndim != 3 or stft_data.shape[0] != params.n_freq:
        raise STFTParamsError(
            f"istft expects an STFT of shape ({params.n_freq}, n_frames, n_channels) for "
            f"window_length {params.window_length}, got {stft_data.shape}"
        )
    win, hop = params.window_length, params.hop_length
    n_freq, n_frames, n_channels = stft_data.shape
    real = np.float32 if stft_data.dtype == np.complex64 else np.float64
    # (C, T, F) view: contiguous when stft_data came from stft().
    frames = scipy.fft.irfft(stft_data.transpose(2, 1, 0), n=win, axis=-1, workers=-1)
    total = (n_frames - 1) * hop + win
    out = np.zeros((n_channels, total), dtype=real)
    weight = np.zeros(total, dtype=real)
    windowed_overlap_add(frames.astype(real, copy=False), params.window.astype(real), hop, out, weight)
    start = win // 2
    stop = start + int(length)
    if stop > total:
        # More samples asked for than the frames cover: the rest is silence.
        out = np.pad(out, ((0, 0), (0, stop - total)))
        weight = np.pad(weight, (0, stop - total), constant_values=1.0)
    tiny = np.finfo(real).tiny
    return out[:, start:stop] / np.maximum(weight[start:stop], tiny)
