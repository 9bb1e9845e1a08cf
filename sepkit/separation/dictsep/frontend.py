"""Gaussian-window STFT of DictSep (Musisep's analysis front end) and its inverse.

The transform follows ``notes/dictsep.md`` section 3.1 exactly:

* window: a Gaussian sampled at the integer offsets ``k = -H .. H-1`` (length ``N = 2H``)
  with standard deviation ``H / sigmas`` samples, normalised to sum 1 (so a sinusoid of
  amplitude ``A`` gives a spectral peak of height ``A / 2``); it ends at ``+-sigmas`` standard
  deviations;
* frame ``t`` is centred on sample ``t * hop`` and covers samples ``t*hop - H .. t*hop + H - 1``
  (zeros outside the signal), ``n_frames = ceil(n_samples / hop)``;
* FFT of length ``N`` with the phase measured from the first sample of the frame; bins
  ``0 .. H-1`` are kept and the Nyquist bin is dropped;
* the inverse is the least-squares (window-sum-square) overlap-add of Griffin and Lim,
  with a zero Nyquist bin.

A stationary sinusoid becomes a Gaussian peak with standard deviation ``sigmas / pi`` bins
(:func:`peak_sigma`), the default width of every peak model of DictSep.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from ...core.errors import SeparationError
from ...core.validation import check_array, check_int, check_positive
from ...kernels.stft import windowed_overlap_add

__all__ = [
    "SPECT_HEIGHT",
    "HOP",
    "SIGMAS",
    "gaussian_window",
    "peak_sigma",
    "num_frames",
    "gaussian_stft",
    "gaussian_istft",
    "stft_blocks",
    "OverlapAdd",
]

#: Linear-frequency bins kept by default (``H``); the FFT and window length is ``2 H``.
SPECT_HEIGHT = 6144
#: Default hop between frames, in samples.
HOP = 256
#: Default ratio of half the window length to the window's standard deviation.
SIGMAS = 6.0
#: Frames transformed at once (bounds the memory of the STFT and its inverse).
BLOCK = 256


def gaussian_window(height: int = SPECT_HEIGHT, sigmas: float = SIGMAS) -> np.ndarray:
    """Analysis and synthesis window of the DictSep STFT.

    Parameters
    ----------
    height : int
        Number of kept bins ``H``; the window has ``2 H`` samples.
    sigmas : float
        The standard deviation is ``H / sigmas`` samples.

    Returns
    -------
    numpy.ndarray, shape (2 * height,)
        ``w[n] = exp(-(n - H)^2 / (2 (H / sigmas)^2)) / sum(...)``, float64, sums to 1.
    """
    height = check_int("height", height, 2, error=SeparationError)
    sigmas = check_positive("sigmas", sigmas, error=SeparationError)
    k = np.arange(-height, height, dtype=np.float64)
    std = height / sigmas
    window = np.exp(-0.5 * (k / std) ** 2)
    return window / window.sum()


def peak_sigma(sigmas: float = SIGMAS) -> float:
    """Standard deviation, in bins, of the spectral peak of a stationary sinusoid: ``sigmas / pi``."""
    return check_positive("sigmas", sigmas, error=SeparationError) / math.pi


def num_frames(n_samples: int, hop: int = HOP) -> int:
    """Number of frames of :func:`gaussian_stft`: ``ceil(n_samples / hop)``."""
    return -(-int(n_samples) // int(hop))


def _as_audio(audio):
    arr = check_array("audio", audio, ndim=(1, 2), what="signal (n_samples,) or (n_channels, n_samples)",
                      error=SeparationError)
    return np.asarray(arr, dtype=np.float64)


def gaussian_stft(
    audio, height: int = SPECT_HEIGHT, hop: int = HOP, sigmas: float = SIGMAS
) -> np.ndarray:
    """Gaussian-window STFT of DictSep.

    Parameters
    ----------
    audio : array_like, shape (n_samples,) or (n_channels, n_samples)
        Real audio; converted to float64.
    height : int
        Kept bins ``H`` (default 6144); window and FFT length ``2 H``.
    hop : int
        Hop between frame centres in samples (default 256).
    sigmas : float
        Window standard deviation is ``H / sigmas`` samples (default 6).

    Returns
    -------
    numpy.ndarray, shape (height, n_frames) or (height, n_frames, n_channels)
        Complex128 STFT, ``n_frames = ceil(n_samples / hop)``; bin ``f`` is at
        ``f * sample_rate / (2 H)`` Hz. The shape follows the input: 2-D for mono 1-D audio.

    Raises
    ------
    SeparationError
        On empty, non-finite, non-real or wrongly shaped audio, or invalid parameters.
    """
    height = check_int("height", height, 2, error=SeparationError)
    hop = check_int("hop", hop, 1, error=SeparationError)
    arr = _as_audio(audio)
    audio2 = arr[None, :] if arr.ndim == 1 else arr
    spec = np.empty((height, num_frames(audio2.shape[1], hop), audio2.shape[0]), dtype=np.complex128)
    for start, block in stft_blocks(audio2, height, hop, sigmas):
        spec[:, start : start + block.shape[1], :] = block
    return spec[:, :, 0] if arr.ndim == 1 else spec


def stft_blocks(audio, height: int = SPECT_HEIGHT, hop: int = HOP, sigmas: float = SIGMAS, block: int = BLOCK):
    """:func:`gaussian_stft` block by block of frames: memory is the audio plus one block.

    Parameters
    ----------
    audio : array_like, shape (n_channels, n_samples)
        Real audio.
    height, hop, sigmas :
        As :func:`gaussian_stft`.
    block : int
        Frames per block.

    Yields
    ------
    start : int
        First frame of the block.
    spec : numpy.ndarray of complex128, shape (height, n_block_frames, n_channels)
        Frames ``start .. start + n_block_frames - 1`` of :func:`gaussian_stft` (the same values).
    """
    height = check_int("height", height, 2, error=SeparationError)
    hop = check_int("hop", hop, 1, error=SeparationError)
    block = check_int("block", block, 1, error=SeparationError)
    audio2 = _as_audio(audio)
    if audio2.ndim != 2:
        raise SeparationError(f"audio must have shape (n_channels, n_samples), got {audio2.shape}")
    window = gaussian_window(height, sigmas)
    n_frames = num_frames(audio2.shape[1], hop)
    # centred frames: frame t covers padded[:, t*hop : t*hop + 2H]
    padded = np.pad(audio2, ((0, 0), (height, height + hop)))
    views = np.lib.stride_tricks.sliding_window_view(padded, 2 * height, axis=-1)[:, ::hop]
    for start in range(0, n_frames, block):  # blocks of frames: no (n_frames, 2H) array at once
        stop = min(start + block, n_frames)
        spec = scipy.fft.rfft(views[:, start:stop] * window, axis=-1)  # (C, B, H + 1)
        yield start, np.transpose(spec[:, :, :height], (2, 1, 0))


class OverlapAdd:
    """Least-squares overlap-add of :func:`gaussian_istft`, fed block by block of frames.

    ``add(spec_block, start)`` adds the frames ``start .. start + B - 1`` (a complex block of
    shape ``(H, B, n_channels)``); :meth:`result` divides by the summed squared window and
    crops to ``length``. Adding the blocks of a spectrogram in any split gives
    :func:`gaussian_istft` of the whole; memory is the output plus one block.
    """

    def __init__(self, n_channels: int, length: int, height: int = SPECT_HEIGHT, hop: int = HOP,
                 sigmas: float = SIGMAS):
        self.height = check_int("height", height, 2, error=SeparationError)
        self.hop = check_int("hop", hop, 1, error=SeparationError)
        self.length = check_int("length", length, 1, error=SeparationError)
        self.n_frames = num_frames(self.length, self.hop)
        self.window = gaussian_window(self.height, sigmas)
        total = (self.n_frames - 1) * self.hop + 2 * self.height
        self.out = np.zeros((int(n_channels), total))
        self.weight = np.zeros(total)

    def add(self, spec_block, start: int) -> None:
        """Add the frames ``start .. start + spec_block.shape[1] - 1`` (complex, ``(H, B, n_channels)``)."""
        height = self.height
        full = np.zeros((spec_block.shape[2], spec_block.shape[1], height + 1), dtype=np.complex128)
        full[:, :, :height] = np.transpose(spec_block, (2, 1, 0))
        frames = np.ascontiguousarray(scipy.fft.irfft(full, n=2 * height, axis=-1))
        offset = start * self.hop
        windowed_overlap_add(frames, self.window, self.hop, self.out[:, offset:], self.weight[offset:])

    def result(self) -> np.ndarray:
        """The signal, shape ``(n_channels, length)`` (0 where no frame reaches)."""
        out = self.out[:, self.height : self.height + self.length]
        weight = self.weight[self.height : self.height + self.length]
        tiny = np.finfo(np.float64).tiny
        return np.where(weight > tiny, out / np.maximum(weight, tiny), 0.0)


def gaussian_istft(spec, length: int, hop: int = HOP, sigmas: float = SIGMAS) -> np.ndarray:
    """Least-squares overlap-add inverse of :func:`gaussian_stft`.

    ``x[n] = sum_t w[n - t hop + H] f_t[n - t hop + H] / sum_t w[n - t hop + H]^2`` with ``f_t``
    the length-``2H`` inverse real FFT of frame ``t`` (kept bins plus a zero Nyquist bin), as
    Musisep's resynthesis and ``librosa.istft`` with the same window. It inverts
    :func:`gaussian_stft` for audio without energy near the Nyquist frequency, whose dropped
    Nyquist bin is negligible; the error is then the leakage of the window cut at
    ``sigmas`` standard deviations (about ``1e-8`` of the signal's scale for ``sigmas = 6``).

    Parameters
    ----------
    spec : array_like, shape (H, n_frames) or (H, n_frames, n_channels)
        Complex STFT, e.g. a masked :func:`gaussian_stft`.
    length : int
        Number of output samples (``n_frames`` must be ``ceil(length / hop)``).
    hop : int
        Hop used by the analysis.
    sigmas : float
        Window parameter used by the analysis.

    Returns
    -------
    numpy.ndarray, shape (length,) or (n_channels, length)
        Real float64 audio (1-D for a 2-D ``spec``).
    """
    spec = np.asarray(spec)
    if spec.ndim not in (2, 3) or spec.shape[0] < 2:
        raise SeparationError(
            f"spec must have shape (H, n_frames) or (H, n_frames, n_channels), got {spec.shape}"
        )
    if not np.all(np.isfinite(spec)):
        raise SeparationError("spec contains NaN or infinite values")
    length = check_int("length", length, 1, error=SeparationError)
    hop = check_int("hop", hop, 1, error=SeparationError)
    height, n_frames = spec.shape[:2]
    if n_frames != num_frames(length, hop):
        raise SeparationError(
            f"spec has {n_frames} frames but length {length} with hop {hop} needs "
            f"{num_frames(length, hop)}"
        )
    spec3 = spec[:, :, None] if spec.ndim == 2 else spec
    acc = OverlapAdd(spec3.shape[2], length, height, hop, sigmas)
    for start in range(0, n_frames, BLOCK):
        acc.add(spec3[:, start : start + BLOCK], start)
    out = acc.result()
    return out[0] if spec.ndim == 2 else out
