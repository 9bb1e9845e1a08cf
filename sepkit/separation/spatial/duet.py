r"""DUET: sources found as peaks of a weighted attenuation-delay histogram, binary masks by likelihood.

In each time-frequency bin of a two-channel anechoic mixture, one source is assumed to
dominate (W-disjoint orthogonality), so the ratio :math:`R = X_1 / X_0` reveals that
source's relative attenuation :math:`a = |R|` and delay :math:`\delta = -\angle R / \omega`
(in samples, :math:`\omega` in radians per sample). DUET (Yilmaz and Rickard 2004; Rickard
2007) histograms the symmetric attenuation :math:`\alpha = a - 1/a` and the delay of every
bin, weighted by :math:`(|X_0| |X_1|)^p\, \omega^q`, smooths the histogram, takes its
``num_sources`` highest peaks :math:`(\alpha_k, \delta_k)` and gives each bin to the peak of
smallest maximum-likelihood score

.. math::

    J_k(f, t) = \frac{|a_k e^{-j \omega \delta_k} X_0(f, t) - X_1(f, t)|^2}{1 + a_k^2},
    \qquad a_k = \frac{\alpha_k + \sqrt{\alpha_k^2 + 4}}{2}.

The histogram accumulation and the assignment are numba kernels
(:mod:`sepkit.kernels.duet`); nothing of size (n_freq, n_frames) is stored but the masks.
"""

from __future__ import annotations

import numpy as np

from ...core import SeparationError, SoftMask
from ...core.validation import check_bool, check_int, check_real
from ...kernels import duet as _kernels
from ..base import MaskSeparationBase, validate_labels
from ..registry import DemoRow, register

__all__ = ["Duet", "attenuation_delay", "smooth_histogram", "find_peaks", "require_two_channels"]

_E = SeparationError
_EPS = 1e-16  # nussl's constants.EPSILON


def require_two_channels(separator) -> None:
    """Raise :class:`SeparationError` unless the separator's mixture has at least two channels."""
    channels = separator.audio_signal.num_channels
    if channels < 2:
        raise _E(f"{type(separator).__name__} needs a mixture with at least two channels (a stereo or "
                 f"multichannel recording), got {channels} channel")


def attenuation_delay(stft0, stft1, sample_rate, delay_factor=1.0):
    r"""DUET's symmetric attenuation and delay of every bin (plain numpy; the reference of the kernel).

    Parameters
    ----------
    stft0, stft1 : numpy.ndarray of complex, shape (n_freq, n_frames)
        STFT of the two channels (``n_freq = window_length // 2 + 1``).
    sample_rate : int
        Hz.
    delay_factor : float, default 1
        Delays are ``-angle(R) / (delay_factor * omega)``: 1 gives samples, ``2 pi`` nussl's unit.

    Returns
    -------
    alpha : numpy.ndarray, shape (n_freq, n_frames)
        ``a - 1/a`` with ``a = |(X1 + 1e-16) / (X0 + 1e-16)|``.
    delay : numpy.ndarray, shape (n_freq, n_frames)
        In samples (``delay_factor=1``); bin 0 (``omega = 1e-16``) gets huge values.
    omega : numpy.ndarray, shape (n_freq,)
        ``2 pi f / sample_rate + 1e-16``, radians per sample.
    """
    n_freq = stft0.shape[0]
    omega = np.linspace(0.0, sample_rate // 2, n_freq) * (2 * np.pi / sample_rate) + _EPS
    ratio = (stft1 + _EPS) / (stft0 + _EPS)
    a = np.abs(ratio)
    return a - 1.0 / a, -np.angle(ratio) / (delay_factor * omega[:, None]), omega


def smooth_histogram(histogram, compat=False) -> np.ndarray:
    """3 x 3 moving average of a 2-D histogram, its edges replicated outward (nussl's smoothing).

    With ``compat``, the bottom-left corner of the padding repeats ``histogram[-1, 1]`` instead
    of ``histogram[-1, 0]``, as nussl 1.1.9 does.
    """
    h = np.asarray(histogram, dtype=np.float64)
    padded = np.pad(h, 1, mode="edge")
    if compat:
        padded[-1, 0] = h[-1, 1]
    rows, cols = h.shape
    out = np.zeros_like(h)
    for i in range(3):
        for j in range(3):
            out += padded[i:i + rows, j:j + cols] / 9.0
    return out


def find_peaks(histogram, n_peaks, min_distance=(5, 5), threshold=0.0) -> np.ndarray:
    """Greedy peak picking: the highest bin, then its neighbourhood zeroed, ``n_peaks`` times.

    The histogram is first scaled to [0, 1] (minimum subtracted, then divided by the maximum)
    and values below ``threshold`` are zeroed (nussl's ``find_peak_indices``). After each
    pick, the bins within ``min_distance[0]`` rows and ``min_distance[1]`` columns of it are
    zeroed; picking stops early once nothing is left.

    Returns
    -------
    numpy.ndarray of int, shape (n_found, 2)
        Row and column of each peak, highest first (``n_found <= n_peaks``).
    """
    h = np.asarray(histogram, dtype=np.float64) - np.min(histogram)
    top = h.max()
    if not top > 0:
        return np.zeros((0, 2), dtype=np.int64)
    h /= top
    h *= h >= threshold
    peaks = []
    for _ in range(n_peaks):
        if not np.any(h):
            break
        i, j = np.unravel_index(int(np.argmax(h)), h.shape)
        peaks.append((i, j))
        h[max(i - min_distance[0], 0):i + min_distance[0] + 1, max(j - min_distance[1], 0):j + min_distance[1] + 1] = 0
    return np.array(peaks, dtype=np.int64).reshape(-1, 2)


class Duet(MaskSeparationBase):
    r"""DUET (Rickard 2007): attenuation-delay histogram peaks, binary masks by maximum likelihood.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture, at least two channels (channels 0 and 1 are analysed; the masks apply
        to every channel). Never modified.
    num_sources : int
        Number of sources (histogram peaks) K >= 1.
    attenuation_min, attenuation_max : float, default -3, 3
        Range of the symmetric attenuation :math:`\alpha = a - 1/a` histogrammed, with
        :math:`a = |X_1 / X_0|` (a source panned with right/left gain ratio ``a``); bins
        outside are ignored. A gain ratio of 4 (12 dB) is :math:`\alpha = 3.75`.
    num_attenuation_bins : int, default 50
    delay_min, delay_max : float, default -3, 3
        Range of the delay of channel 1 behind channel 0, in samples (nussl's unit, the
        delay divided by :math:`2\pi`, with ``compat=True``). DUET assumes
        :math:`|\omega \delta| < \pi`: delays beyond one sample wrap at high frequencies.
    num_delay_bins : int, default 50
    peak_threshold : float, default 0
        In [0, 1]: histogram bins below this fraction of the peak height (after smoothing,
        on a histogram scaled to [0, 1]) cannot be peaks.
    attenuation_min_distance, delay_min_distance : int, default 5, 5
        After each peak, the bins within this many attenuation (delay) bins are excluded.
    p, q : float, default 1, 0
        Weights :math:`(|X_0| |X_1|)^p \omega^q` of each bin (Rickard recommends ``p=1,
        q=0``, and ``p=0.5, q=0`` when one source dominates).
    compat : bool, default False
        Reproduce nussl 1.1.9 exactly (see Notes): delays in nussl's unit, peaks at the left
        bin edges, nussl's masks for K >= 3 and its smoothing corner.
    mask_type : {'binary', 'soft'}, default 'binary'
        DUET's masks are binary; ``'soft'`` returns the same 0/1 values as soft masks.
    mask_threshold : float, default 0.5
        Unused (kept for the common API).
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Attributes
    ----------
    attenuation_bins, delay_bins : numpy.ndarray
        After :meth:`run`: bin edges of the histogram (``num_*_bins + 1`` values).
    attenuation_delay_histogram : numpy.ndarray, shape (num_attenuation_bins, num_delay_bins)
        The weighted histogram (attenuation on the rows).
    normalized_attenuation_delay_histogram : numpy.ndarray
        It scaled to a maximum of 1 and smoothed (3 x 3): where the peaks are picked.
        Also available as :attr:`histogram`.
    peak_indices : numpy.ndarray of int, shape (K, 2)
        Row (attenuation) and column (delay) of each peak, highest first.
    peaks : numpy.ndarray, shape (K, 2)
        Symmetric attenuation and delay of each peak (histogram units; bin centres, or left
        edges with ``compat``): what to plot on the histogram.
    atn_peak, delay_peak : numpy.ndarray, shape (K,)
        Each peak's amplitude ratio :math:`a_k` and delay (nussl's names).

    Raises
    ------
    SeparationError
        For a mono mixture, bad parameters; in :meth:`run`, when no bin falls inside the
        histogram ranges or fewer than ``num_sources`` peaks are found.

    Notes
    -----
    Output order: the peaks', by decreasing height of the smoothed histogram (as nussl).

    Differences from nussl 1.1.9 (``compat=True`` restores each; the parity tests check it):

    - nussl histograms :math:`-\angle R / (2\pi\omega)`, the delay divided by :math:`2\pi`, but
      its masks use the peak value as a delay in samples, so its masks are wrong for any
      source with a delay (nussl issue 170). sepkit uses samples throughout.
    - nussl takes each peak's value at the left edge of its bin; sepkit at the centre.
    - For three or more sources nussl's masks overlap and its first mask is wrong (it keeps a
      running minimum and never clears earlier winners); sepkit gives each bin to the
      smallest score (the masks partition the plane). For two sources both agree.
    - nussl smooths with one wrong padding corner (``[-1, 1]`` for ``[-1, 0]``).
    - nussl crashes with ``mask_type='soft'``, and with an index error when fewer peaks than
      sources are found; sepkit gives 0/1 soft masks, and a :class:`SeparationError`.
    """

    def __init__(self, input_audio_signal, num_sources, attenuation_min=-3, attenuation_max=3,
                 num_attenuation_bins=50, delay_min=-3, delay_max=3, num_delay_bins=50, peak_threshold=0.0,
                 attenuation_min_distance=5, delay_min_distance=5, p=1, q=0, compat=False, mask_type="binary",
                 mask_threshold=0.5, stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        require_two_channels(self)
        self.num_sources = check_int("num_sources", num_sources, 1, error=_E)
        self.attenuation_min = check_real("attenuation_min", attenuation_min, error=_E)
        self.attenuation_max = check_real("attenuation_max", attenuation_max, error=_E)
        self.delay_min = check_real("delay_min", delay_min, error=_E)
        self.delay_max = check_real("delay_max", delay_max, error=_E)
        for low, high in (("attenuation_min", "attenuation_max"), ("delay_min", "delay_max")):
            if not getattr(self, low) < getattr(self, high):
                raise _E(f"{low} must be below {high}, got {getattr(self, low)!r} and {getattr(self, high)!r}")
        self.num_attenuation_bins = check_int("num_attenuation_bins", num_attenuation_bins, 1, error=_E)
        self.num_delay_bins = check_int("num_delay_bins", num_delay_bins, 1, error=_E)
        self.peak_threshold = check_real("peak_threshold", peak_threshold, 0.0, 1.0, error=_E)
        self.attenuation_min_distance = check_int("attenuation_min_distance", attenuation_min_distance, 0, error=_E)
        self.delay_min_distance = check_int("delay_min_distance", delay_min_distance, 0, error=_E)
        self.p = check_real("p", p, 0.0, error=_E)
        self.q = check_real("q", q, 0.0, error=_E)
        self.compat = check_bool("compat", compat, error=_E)
        self.source_labels = validate_labels(None, self.num_sources)
        self.attenuation_bins = self.delay_bins = None
        self.attenuation_delay_histogram = self.normalized_attenuation_delay_histogram = None
        self.peak_indices = self.atn_peak = self.delay_peak = None

    @property
    def histogram(self):
        """The normalised, smoothed histogram the peaks were picked on (None before :meth:`run`)."""
        return self.normalized_attenuation_delay_histogram

    @property
    def peaks(self):
        """``(K, 2)``: symmetric attenuation and delay of each peak, in histogram units (None before :meth:`run`)."""
        if self.peak_indices is None:
            return None
        return np.column_stack([self._peak_values(self.attenuation_bins, self.peak_indices[:, 0]),
                                self._peak_values(self.delay_bins, self.peak_indices[:, 1])])

    def _peak_values(self, edges, index):
        if self.compat:
            return edges[index]
        return (edges[index] + edges[index + 1]) / 2

    def _channels(self):
        spec = self.audio_signal.stft(self.stft_params)
        x0 = np.ascontiguousarray(spec[:, :, 0].T)
        x1 = np.ascontiguousarray(spec[:, :, 1].T)
        sr = self.sample_rate
        omega = np.linspace(0.0, sr // 2, spec.shape[0]) * (2 * np.pi / sr) + _EPS
        return x0, x1, omega

    def run(self):
        """Histogram, peaks and masks.

        Returns
        -------
        list of BinaryMask or SoftMask
            ``num_sources`` masks ``(n_freq, n_frames, n_channels)``, in peak order.
        """
        x0, x1, omega = self._channels()
        delay_factor = 2 * np.pi if self.compat else 1.0
        self.attenuation_bins = np.linspace(self.attenuation_min, self.attenuation_max, self.num_attenuation_bins + 1)
        self.delay_bins = np.linspace(self.delay_min, self.delay_max, self.num_delay_bins + 1)
        hist = np.zeros((self.num_attenuation_bins, self.num_delay_bins))
        scale = 1.0 / float(np.sum(self.stft_params.window))  # nussl's STFT scale (moves its 1e-16)
        _kernels.duet_histogram(x0, x1, omega, scale, delay_factor, self.p, self.q, self.attenuation_bins,
                                self.delay_bins, hist)
        self.attenuation_delay_histogram = hist
        if not hist.max() > 0:
            raise _E(f"no time-frequency bin of weight > 0 has a symmetric attenuation in "
                     f"({self.attenuation_min}, {self.attenuation_max}) and a delay in "
                     f"({self.delay_min}, {self.delay_max}): widen the ranges")
        self.normalized_attenuation_delay_histogram = smooth_histogram(hist / hist.max(), self.compat)
        peaks = find_peaks(self.normalized_attenuation_delay_histogram, self.num_sources,
                           (self.attenuation_min_distance, self.delay_min_distance), self.peak_threshold)
        if len(peaks) < self.num_sources:
            raise _E(f"found {len(peaks)} histogram peaks for num_sources={self.num_sources}: lower "
                     "attenuation_min_distance, delay_min_distance or peak_threshold, or widen the ranges")
        self.peak_indices = peaks
        alpha, self.delay_peak = self.peaks.T.copy()
        self.atn_peak = (alpha + np.sqrt(alpha**2 + 4)) / 2
        labels = np.empty((self.num_sources,) + x0.shape, dtype=np.bool_)
        _kernels.duet_masks(x0, x1, omega, self.atn_peak, self.delay_peak, self.compat, labels)
        shape = self._mask_shape()
        values = [np.broadcast_to(labels[k].T[:, :, None], shape) for k in range(self.num_sources)]
        if self.mask_type is SoftMask:
            values = [v.astype(np.float64) for v in values]
        self.result_masks = [self.mask_type(v, copy=False) for v in values]
        return self.result_masks


register(
    "duet", Duet,
    "DUET: peaks of a weighted attenuation-delay histogram (stereo), binary maximum-likelihood masks",
    needs=("num_sources", "multichannel"),
    quick={"attenuation_min": -5.0, "attenuation_max": 5.0},
    demo=(DemoRow("spatial", "Duet (attenuation -5..5)", {"attenuation_min": -5.0, "attenuation_max": 5.0},
                  blind=True, order=40),),
)
