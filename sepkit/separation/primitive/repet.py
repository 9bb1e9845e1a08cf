"""REPET: a repeating background and a non-repeating foreground, from the beat spectrum.

The helpers :func:`nussl_magnitude` and :func:`foreground_background_masks` are shared by the
foreground/background separators of this family (:class:`Repet`, :class:`RepetSim`,
:class:`FT2D`).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from ...core import AudioSignal, SeparationError
from ...core.masks import SoftMask
from ...core.validation import check_real
from ..base import MaskSeparationBase
from ..registry import DemoRow, register

__all__ = ["ForegroundBackgroundSignals", "Repet", "foreground_background_masks", "nussl_magnitude"]

#: Regulariser of REPET's ratio masks (nussl's ``constants.EPSILON``).
EPSILON = 1e-16


def nussl_magnitude(separator) -> np.ndarray:
    """Magnitude spectrogram of the separator's mixture on nussl's scale, ``(n_freq, n_frames, n_channels)``.

    sepkit's STFT is unscaled; nussl's (scipy's ``'spectrum'`` scaling) is divided by the sum of
    the window. The absolute constants of these methods (REPET's 1e-16, 2DFT's 1e-7) act on
    nussl's scale, so the magnitudes are brought to it (float64, C-ordered per channel).
    """
    params = separator.stft_params
    spec = separator.audio_signal.stft(params)
    return np.abs(spec).astype(np.float64, copy=False) / float(np.sum(params.window))


def empty_mask_like(magnitude: np.ndarray) -> np.ndarray:
    """An uninitialised ``(n_freq, n_frames, n_channels)`` array whose channels are C-ordered ``(n_frames, n_freq)``.

    sepkit's STFT layout: ``out[:, :, c].T`` is a contiguous frame-major array kernels write to.
    """
    n_freq, n_frames, n_channels = magnitude.shape
    return np.empty((n_channels, n_frames, n_freq)).transpose(2, 1, 0)


def check_cutoff(separator, high_pass_cutoff) -> float:
    """``high_pass_cutoff`` in Hz, checked to lie in [0, sample_rate / 2]."""
    nyquist = separator.audio_signal.sample_rate / 2
    return check_real("high_pass_cutoff", high_pass_cutoff, 0.0, nyquist, error=SeparationError)


def foreground_background_masks(separator, background: np.ndarray) -> list:
    """``[background, foreground]`` masks from a soft background mask, with nussl's high-pass rule.

    Every bin below the bin nearest ``separator.high_pass_cutoff`` (on nussl's frequency grid,
    ``linspace(0, sr // 2, n_freq)``) goes entirely to the background; the foreground is the
    complement. ``background`` (n_freq, n_frames, n_channels) is modified and owned.
    """
    n_freq = background.shape[0]
    freqs = np.linspace(0, separator.audio_signal.sample_rate // 2, n_freq)
    cutoff_bin = int(np.argmin(np.abs(freqs - separator.high_pass_cutoff)))
    np.clip(background, 0.0, 1.0, out=background)
    background[:cutoff_bin] = 1.0
    return separator.masks_from_soft([background, 1.0 - background])


class ForegroundBackgroundSignals:
    """Mixin: ``make_audio_signals`` with one inverse STFT when the masks are complementary soft masks.

    With soft masks ``[M, 1 - M]``, the foreground ``istft((1 - M) X)`` equals
    ``istft(X) - istft(M X)`` (the inverse STFT is linear), and ``istft(X)`` is the mixture
    (a least-squares inverse on a NOLA window): the foreground is the mixture minus the
    background, to rounding error, at the cost of one inverse STFT instead of two. Binary
    masks (whose complement need not be the other mask) take the general path.
    """

    def make_audio_signals(self):
        self._check_run()
        masks = self.result_masks
        if self.mask_type is not SoftMask or len(masks) != 2 or not all(isinstance(m, SoftMask) for m in masks):
            return super().make_audio_signals()
        labels = self.source_labels
        mix = self.audio_signal
        background = self.apply_mask(masks[0], labels[0])
        foreground = AudioSignal(mix.audio_data - background.audio_data, mix.sample_rate,
                                 label=labels[1], stft_params=mix.stft_params)
        return [background, foreground]


def seconds_to_frames(seconds: float, sample_rate: int, hop_length: int) -> int:
    """nussl's conversion of a duration to STFT frames: ``ceil(seconds * sample_rate / hop)``."""
    return int(math.ceil(float(seconds) / (hop_length / sample_rate)))


def _optional_seconds(name, value):
    if value is None:
        return None
    return check_real(name, value, 0.0, inclusive=False, error=SeparationError)


class Repet(ForegroundBackgroundSignals, MaskSeparationBase):
    """REPET (Rafii and Pardo 2013): the repeating background of a mixture and its foreground.

    The beat spectrum (the autocorrelation over time of every frequency row of the power
    spectrogram, averaged over frequency) gives one repeating period; the median of the
    spectrogram's segments of that period models the repeating background, and
    ``min(model, V) / V`` is the background mask (nussl's algorithm, same defaults).

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (any number of channels; the beat spectrum averages them).
    min_period, max_period : float or None
        Range of the period search in seconds (``None``: 0.8 s and ``min(8, duration / 3)``),
        both converted to frames by ``ceil(seconds * sample_rate / hop)``.
    period : float or None
        The repeating period in seconds, skipping the search (not together with
        ``min_period`` or ``max_period``).
    high_pass_cutoff : float
        Bins below this frequency (Hz) go entirely to the background.
    mask_type : {'soft', 'binary'} or SoftMask or BinaryMask
        ``'binary'`` keeps the bins whose soft value exceeds ``mask_threshold``.
    mask_threshold : float
        In (0, 1).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's (nussl's defaults).

    Attributes
    ----------
    beat_spectrum : numpy.ndarray, shape (n_frames,)
        After :meth:`run` (or :meth:`get_beat_spectrum`): the beat spectrum, lag 0 first.
    repeating_period : int
        After :meth:`run`: the period in frames.

    Raises
    ------
    SeparationError
        For a non-positive period or bound, ``period`` given with a bound, or (in :meth:`run`)
        an empty period range.

    Notes
    -----
    Output order: ``[background, foreground]`` (labels ``'background'``, ``'foreground'``).

    References
    ----------
    Z. Rafii, B. Pardo, "REpeating Pattern Extraction Technique (REPET): A simple method for
    music/voice separation", IEEE TASLP 21(1):73-84, 2013.

    Examples
    --------
    >>> mix, sources = sepkit.datasets.load_example()
    >>> background, foreground = Repet(mix, min_period=0.5, max_period=2.0)()
    """

    def __init__(self, input_audio_signal, min_period=None, max_period=None, period=None,
                 high_pass_cutoff=100.0, mask_type="soft", mask_threshold=0.5, stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        self.min_period = _optional_seconds("min_period", min_period)
        self.max_period = _optional_seconds("max_period", max_period)
        self.period = _optional_seconds("period", period)
        if self.period is not None and (self.min_period is not None or self.max_period is not None):
            raise SeparationError(
                f"give either period ({period!r}) or min_period/max_period ({min_period!r}, {max_period!r}), not both"
            )
        if self.min_period is not None and self.max_period is not None and self.max_period < self.min_period:
            raise SeparationError(f"max_period ({max_period!r}) is below min_period ({min_period!r})")
        self.high_pass_cutoff = check_cutoff(self, high_pass_cutoff)
        self.source_labels = ["background", "foreground"]
        self.beat_spectrum = None
        self.repeating_period = None

    def _frames(self, seconds: float) -> int:
        return seconds_to_frames(seconds, self.sample_rate, self.stft_params.hop_length)

    def period_range(self) -> tuple[int, int]:
        """The period search range in frames, ``(min_period, max_period)``, both included.

        The defaults are nussl's: 0.8 s and ``min(8 s, duration / 3)``.
        """
        low = 0.8 if self.min_period is None else self.min_period
        high = 8.0 if self.max_period is None else self.max_period
        high = min(high, self.audio_signal.signal_duration / 3)
        return self._frames(low), self._frames(high)

    @staticmethod
    def compute_beat_spectrum(power_spectrogram) -> np.ndarray:
        """Beat spectrum of a power spectrogram: row autocorrelations averaged over frequency.

        ``b(l) = mean_f [ sum_t P(f, t) P(f, t + l) / (T - l) ]`` for ``l = 0 .. T-1``, by FFT
        (zero padding to at least ``2 T - 1``: no circular wrap; nussl pads to a power of two,
        which gives the same values).

        Parameters
        ----------
        power_spectrogram : numpy.ndarray, shape (n_freq, n_frames)
            Nonnegative power. (nussl's method takes the transpose, ``(n_frames, n_freq)``.)

        Returns
        -------
        numpy.ndarray of float64, shape (n_frames,)
        """
        power = np.asarray(power_spectrogram, dtype=np.float64)
        if power.ndim != 2 or power.shape[1] == 0:
            raise SeparationError(f"power_spectrogram must be 2-D (n_freq, n_frames), got shape {power.shape}")
        n_frames = power.shape[1]
        n_fft = scipy.fft.next_fast_len(2 * n_frames - 1, real=True)  # any n >= 2T - 1: no wrap
        spectrum = scipy.fft.rfft(power, n=n_fft, axis=1, workers=-1)
        density = np.mean(spectrum.real ** 2 + spectrum.imag ** 2, axis=0)  # the mean is linear
        autocorrelation = scipy.fft.irfft(density, n=n_fft)[:n_frames]
        return autocorrelation / np.arange(n_frames, 0, -1)

    @staticmethod
    def find_repeating_period_simple(beat_spectrum, min_period: int, max_period: int) -> int:
        """The lag in ``[min_period, max_period]`` (frames, lag 0 excluded) where the beat spectrum peaks.

        The first such lag on ties; the range is cut at the end of the beat spectrum.

        Raises
        ------
        SeparationError
            If the range holds no lag.
        """
        beat = np.asarray(beat_spectrum, dtype=np.float64)
        low = max(int(min_period), 1)
        high = min(int(max_period), beat.size - 1)
        if high < low:
            raise SeparationError(
                f"no repeating period to search: the range [{int(min_period)}, {int(max_period)}] frames "
                f"is empty or beyond the beat spectrum ({beat.size} lags); lower min_period or give a longer mixture"
            )
        return int(np.argmax(beat[low:high + 1])) + low

    def get_beat_spectrum(self, magnitude=None) -> np.ndarray:
        """The beat spectrum of the mixture (channels' power averaged), shape ``(n_frames,)``.

        Unlike nussl's, it works before :meth:`run`. ``magnitude``: the mixture's magnitude
        spectrogram on nussl's scale when already at hand.
        """
        if magnitude is None:
            magnitude = nussl_magnitude(self)
        power = magnitude[:, :, 0] ** 2 if magnitude.shape[2] == 1 else np.mean(magnitude ** 2, axis=2)
        self.beat_spectrum = self.compute_beat_spectrum(power)
        return self.beat_spectrum

    def _repeating_period(self, magnitude) -> int:
        if self.period is not None:
            return self._frames(self.period)
        low, high = self.period_range()
        return self.find_repeating_period_simple(self.get_beat_spectrum(magnitude), low, high)

    def run(self):
        """Find the period, build the median model of every channel and the masks.

        Returns
        -------
        list of SoftMask or BinaryMask
            ``[background, foreground]``, each ``(n_freq, n_frames, n_channels)``.
        """
        from ...kernels.repet import period_mask

        magnitude = nussl_magnitude(self)
        self.repeating_period = self._repeating_period(magnitude)
        background = empty_mask_like(magnitude)
        for ch in range(magnitude.shape[2]):
            frames = np.ascontiguousarray(magnitude[:, :, ch].T)  # (T, F): a view of sepkit's STFT layout
            period_mask(frames, self.repeating_period, EPSILON, background[:, :, ch].T)
        self.result_masks = foreground_background_masks(self, background)
        return self.result_masks


register(
    "repet", Repet, "repeating background and non-repeating foreground, one period from the beat spectrum (REPET)",
    quick={"min_period": 0.1, "max_period": 0.3},
    demo=(DemoRow("loop", "Repet", order=10),),
)
