"""2DFT: the repeating background as the peaks of the 2-D Fourier transform of the spectrogram."""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.ndimage

from ...core import SeparationError
from ...core.validation import check_bool, check_choice, check_int
from ..base import MaskSeparationBase
from ..registry import DemoRow, register
from .repet import (
    ForegroundBackgroundSignals,
    check_cutoff,
    empty_mask_like,
    foreground_background_masks,
    nussl_magnitude,
)

__all__ = ["FT2D", "hermitian_modulus", "point_flip"]

_EPS = 1e-7  # nussl's regulariser of the 2DFT normalisation, the peak map and the spectrogram


def _neighborhood(value) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SeparationError(f"neighborhood_size must be a pair (n_freq, n_time) of positive ints, got {value!r}")
    return tuple(check_int("neighborhood_size", v, 1, error=SeparationError) for v in value)


def _quadrants(value) -> tuple[int, ...]:
    try:
        items = tuple(value)
    except TypeError:
        raise SeparationError(f"quadrants_to_keep must be a sequence of 0, 1, 2, 3, got {value!r}") from None
    out = tuple(sorted({check_int("quadrants_to_keep", q, 0, 3, error=SeparationError) for q in items}))
    return out


def point_flip(array: np.ndarray) -> np.ndarray:
    """``array[(-k1) mod N1, (-k2) mod N2]``: the index map of ``k -> -k`` on an unshifted 2-D FFT grid."""
    return np.roll(array[::-1, ::-1], (1, 1), axis=(0, 1))


def hermitian_modulus(half: np.ndarray, n_cols: int) -> np.ndarray:
    """``|fft2(x)|`` of a real 2-D ``x`` from ``half = rfft2(x)``, shape ``(n_rows, n_cols)``.

    The missing columns ``k2 > n_cols // 2`` are ``|half[-k1 mod n_rows, n_cols - k2]|``
    (Hermitian symmetry), so the result is exactly point-symmetric.
    """
    n_rows, n_half = half.shape
    modulus = np.abs(half)
    full = np.empty((n_rows, n_cols))
    full[:, :n_half] = modulus
    rows = (-np.arange(n_rows)) % n_rows
    cols = n_cols - np.arange(n_half, n_cols)
    full[:, n_half:] = modulus[rows][:, cols]
    return full


class FT2D(ForegroundBackgroundSignals, MaskSeparationBase):
    """2DFT separation (Seetharaman, Pishdadian and Pardo 2017): repetition as peaks of the 2-D FFT.

    A repeating pattern in the magnitude spectrogram is a peak in its 2-D Fourier transform.
    Per channel, the peaks of ``|fft2(V)|`` are found with local filters of
    ``neighborhood_size``; the peaks alone, transformed back, model the repeating background,
    and ``min(model, V) / V`` (renormalised to a maximum of 1) is the background mask.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (channels processed independently).
    neighborhood_size : (int, int)
        Size (frequency, time) of the peak-finding filters, in 2DFT bins.
    high_pass_cutoff : float
        Bins below this frequency (Hz) go entirely to the background.
    quadrants_to_keep : sequence of {0, 1, 2, 3}
        Quadrants of the (unshifted) 2DFT kept, as in nussl's code: 0 is rows ``[F//2:]`` x
        columns ``[:T//2]``, 1 ``[:F//2, :T//2]``, 2 ``[:F//2, T//2:]``, 3 ``[F//2:, T//2:]``.
    filter_approach : {'local_std', 'original'}
        ``'local_std'``: a soft peak map, the local maximum's height above the local mean in
        local standard deviations (Seetharaman 2019); ``'original'``: binary, local maxima
        whose local range exceeds the standard deviation of the 2DFT (the paper's).
    use_bg_2dft : bool
        Build the masks from the peaks' reconstruction (True) or from the rest's (False, the
        foreground's).
    symmetry : {'lrud', 'lr', 'point'}
        How the peak map is made symmetric. ``'lrud'``: the maximum of the fftshifted map and
        its left-right and up-down mirror images, what nussl's code means to do; ``'lr'``:
        the left-right mirror only, what nussl 1.1.9 does (its
        ``np.maximum(M, fliplr(M), flipud(M))`` passes the up-down image as ``out``), for
        parity with nussl; ``'point'``: every 2-D frequency paired with its negative (the
        symmetry of the 2DFT of a real spectrogram, so the background model is real).
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        ``'binary'`` keeps the bins whose soft value exceeds ``mask_threshold``.
    mask_threshold : float
        In (0, 1).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Notes
    -----
    Output order: ``[background, foreground]``. The local variance is clamped at zero
    (nussl takes the square root of tiny negative values in flat regions, which turns its whole
    peak map into NaN).

    References
    ----------
    P. Seetharaman, F. Pishdadian, B. Pardo, "Music/voice separation using the 2D Fourier
    transform", IEEE WASPAA 2017. P. Seetharaman, "Bootstrapping the learning process for
    computer audition", PhD thesis, Northwestern University, 2019 (chapter 2).

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> background, foreground = FT2D(mix)()
    """

    def __init__(self, input_audio_signal, neighborhood_size=(1, 25), high_pass_cutoff=100.0,
                 quadrants_to_keep=(0, 1, 2, 3), filter_approach="local_std", use_bg_2dft=True,
                 symmetry="lrud", mask_type="soft", mask_threshold=0.5, stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        self.neighborhood_size = _neighborhood(neighborhood_size)
        self.high_pass_cutoff = check_cutoff(self, high_pass_cutoff)
        self.quadrants_to_keep = _quadrants(quadrants_to_keep)
        self.filter_approach = check_choice(
            "filter_approach", filter_approach, ("local_std", "original"), error=SeparationError)
        self.use_bg_2dft = check_bool("use_bg_2dft", use_bg_2dft, error=SeparationError)
        self.symmetry = check_choice("symmetry", symmetry, ("lrud", "lr", "point"), error=SeparationError)
        self.source_labels = ["background", "foreground"]

    def peak_map(self, ft2d: np.ndarray) -> np.ndarray:
        """The peak map of one channel's 2DFT, on the unshifted grid, values in [0, 1].

        Parameters
        ----------
        ft2d : numpy.ndarray of complex, shape (n_freq, n_frames)
            ``fft2`` of the magnitude spectrogram.
        """
        return self._peaks_of(np.fft.fftshift(np.abs(ft2d)))

    def _peaks_of(self, data: np.ndarray) -> np.ndarray:
        """:meth:`peak_map` from the fftshifted modulus of the 2DFT (``data``, overwritten)."""
        from ...kernels.ft2d import local_filters, local_std_peaks, row_local_std_peaks

        data /= np.max(data) + _EPS
        size = self.neighborhood_size
        if self.filter_approach == "local_std" and size[0] == 1:
            peaks = np.empty_like(data)
            top = row_local_std_peaks(data, size[1], _EPS, peaks)  # the general path's values, fused
            peaks /= top + _EPS
        elif self.filter_approach == "local_std":
            data_max, mean, mean_sq = np.empty_like(data), np.empty_like(data), np.empty_like(data)
            local_filters(data, size[0], size[1], data_max, mean, mean_sq)  # scipy.ndimage's values
            peaks = mean_sq  # reused as the output
            top = local_std_peaks(data, data_max, mean, mean_sq, _EPS, peaks)
            peaks /= top + _EPS
        else:
            data_max = scipy.ndimage.maximum_filter(data, size)
            data_min = scipy.ndimage.minimum_filter(data, size)
            peaks = ((data == data_max) & (data_max - data_min > np.std(data))).astype(np.float64)
        if self.symmetry != "point":
            mirrored = np.maximum(peaks, peaks[:, ::-1])
            if self.symmetry == "lrud":
                np.maximum(mirrored, peaks[::-1, :], out=mirrored)
            return np.fft.ifftshift(mirrored)
        peaks = np.fft.ifftshift(peaks)
        return np.maximum(peaks, point_flip(peaks))

    def _hermitian(self, shape) -> bool:
        """Whether the peak map of a real spectrogram of ``shape`` is point-symmetric, so the
        background's 2DFT is Hermitian and real transforms give the same model.

        The modulus of the 2DFT of a real array is point-symmetric, and so is the peak map
        found on it (symmetric filters, mirror boundaries). On an fftshifted grid of odd
        length, the left-right (up-down) mirror image is exactly the negation of the
        temporal (spectral) modulation frequency, so nussl's mirrorings keep the point
        symmetry when both sizes are odd (the usual case: ``n_freq`` is odd for an even
        window); ``'point'`` keeps it at any size. Dropping a quadrant breaks it.
        """
        if len(self.quadrants_to_keep) != 4:
            return False
        return self.symmetry == "point" or (shape[0] % 2 == 1 and shape[1] % 2 == 1)

    def filter_quadrants(self, data: np.ndarray) -> np.ndarray:
        """Zero, in place, the quadrants of an unshifted 2DFT not in ``quadrants_to_keep``."""
        h, w = data.shape[0] // 2, data.shape[1] // 2
        regions = {0: (slice(h, None), slice(None, w)), 1: (slice(None, h), slice(None, w)),
                   2: (slice(None, h), slice(w, None)), 3: (slice(h, None), slice(w, None))}
        for quadrant, region in regions.items():
            if quadrant not in self.quadrants_to_keep:
                data[region] = 0
        return data

    def channel_mask(self, magnitude: np.ndarray) -> np.ndarray:
        """Background mask of one channel from its magnitude spectrogram ``(n_freq, n_frames)`` (nussl's scale)."""
        if self._hermitian(magnitude.shape):
            # Same model from half the spectrum: rfft2, the full modulus by Hermitian symmetry,
            # a peak map made exactly point-symmetric (it is, to rounding), and irfft2.
            half = scipy.fft.rfft2(magnitude, workers=-1)
            peaks = self._peaks_of(np.fft.fftshift(hermitian_modulus(half, magnitude.shape[1])))
            peaks = np.maximum(peaks, point_flip(peaks))
            if not self.use_bg_2dft:
                peaks = 1.0 - peaks
            half *= peaks[:, :half.shape[1]]
            estimate = scipy.fft.irfft2(half, s=magnitude.shape, workers=-1, overwrite_x=True)
            np.abs(estimate, out=estimate)
        else:
            ft2d = scipy.fft.fft2(magnitude, workers=-1)
            peaks = self.peak_map(ft2d)
            if not self.use_bg_2dft:
                peaks = 1.0 - peaks
            selected = self.filter_quadrants(peaks * ft2d)
            estimate = np.abs(scipy.fft.ifft2(selected, workers=-1, overwrite_x=True))
        reference = magnitude + _EPS
        mask = np.minimum(estimate, reference, out=estimate)
        mask /= reference
        mask /= np.max(mask + _EPS)
        return mask if self.use_bg_2dft else 1.0 - mask

    def run(self):
        """The 2DFT peak masks of every channel.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``[background, foreground]``, each ``(n_freq, n_frames, n_channels)``.
        """
        magnitude = nussl_magnitude(self)
        background = empty_mask_like(magnitude)  # the STFT's memory order: the masked inverse is fast
        for ch in range(magnitude.shape[2]):
            background[:, :, ch] = self.channel_mask(np.ascontiguousarray(magnitude[:, :, ch]))
        self.result_masks = foreground_background_masks(self, background)
        return self.result_masks


register(
    "ft2d", FT2D, "repeating background from the peaks of the 2-D Fourier transform of the spectrogram (2DFT)",
    demo=(DemoRow("loop", "FT2D", order=12),),
)
