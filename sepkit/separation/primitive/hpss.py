r"""HPSS: harmonic/percussive separation by median filtering, or by kernel additive modelling.

``method='median'`` (the default, nussl's and librosa's): the magnitude spectrogram is
median-filtered along time (``kernel_size[0]`` frames: harmonic sounds are steady in time)
and along frequency (``kernel_size[1]`` bins: percussive sounds are flat in frequency), and
each source's mask compares its enhanced spectrogram with the other's (Fitzgerald 2010):
:math:`M_H = \tilde H^p / (\tilde H^p + (\mu_H \tilde P)^p)` and likewise :math:`M_P`. With
margins :math:`\mu > 1` the two masks sum to less than one and a third, *residual*, source
takes the rest (Driedger, Mueller and Disch 2014). The masks are
:func:`sepkit.decomposition.hpss`'s, equal to ``librosa.decompose.hpss(..., mask=True)``.

``method='kam'``: libnmfd's kernel additive modelling of the two sources
(``libnmfd.dsp.algorithms.hpss_kam_fitzgerald``; FitzGerald, Liutkus, Rafii, Pardo and
Daudet 2014; Dittmar, Driedger, Mueller and Paulus 2016): both source models start as the
mixture's magnitude; each of ``n_iter`` iterations smooths the percussive model along
frequency and the harmonic one along time (a normalised Hann window of ``kernel_size``, or a
median with ``kam_filter='median'``, both zero-padded at the edges), then re-estimates both
from the mixture by alpha-Wiener filtering with exponent ``power``.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from ...core import SeparationError
from ...core.validation import check_choice, check_int, check_real
from ...decomposition import hpss as _hpss
from ...kernels import hpss as _hpss_kernels
from ...kernels import masks as _mask_kernels
from ..base import MaskSeparationBase
from ..clustering import argmax_masks
from ..registry import DemoRow, register

__all__ = ["HPSS", "kam_masks"]

_E = SeparationError


def _pair(name, value, check):
    """``value`` as given (int/float or a pair), checked; returns (stored, first, second)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise _E(f"{name} as a pair must be (harmonic, percussive), got {value!r}")
        a, b = check(f"{name}[0] (harmonic)", value[0]), check(f"{name}[1] (percussive)", value[1])
        return (a, b), a, b
    v = check(name, value)
    return v, v, v


def _smooth(S, size, axis, kind):
    """Zero-padded smoothing of S (F, N) along ``axis``: normalised Hann window or running median."""
    if kind == "hann":
        window = np.hanning(size)
        total = window.sum()
        window = window / total if total > 0 else np.ones(1)
        return scipy.ndimage.convolve1d(S, window, axis=axis, mode="constant", cval=0.0)
    X = np.ascontiguousarray(S if axis == 1 else S.T)
    left, right = size // 2, size - 1 - size // 2
    padded = np.zeros((X.shape[0], X.shape[1] + left + right))
    padded[:, left : left + X.shape[1]] = X
    out = np.empty_like(padded)
    _hpss_kernels.median_rows(padded, size, out)
    out = out[:, left : left + X.shape[1]]
    return np.ascontiguousarray(out if axis == 1 else out.T)


def kam_masks(V, kernel_size=17, n_iter=1, power=1.0, kam_filter="hann"):
    """Harmonic and percussive masks of libnmfd's kernel-additive HPSS, for one magnitude spectrogram.

    Parameters
    ----------
    V : numpy.ndarray of float64, shape (n_freq, n_frames)
        Nonnegative magnitude spectrogram.
    kernel_size : int or (int, int), default 17
        Window lengths >= 1: ``(harmonic frames, percussive bins)`` or one for both.
    n_iter : int, default 1
        KAM iterations >= 1.
    power : float, default 1.0
        Exponent > 0 of the alpha-Wiener filter.
    kam_filter : {'hann', 'median'}, default 'hann'
        Smoothing kernel (libnmfd's default is the Hann window, ``use_median=False``).

    Returns
    -------
    mask_harmonic, mask_percussive : numpy.ndarray of float64, shape (n_freq, n_frames)
        Summing to one (one half each where both models are zero).
    """
    _, win_harm, win_perc = _pair("kernel_size", kernel_size, lambda n, v: check_int(n, v, 1, error=_E))
    V = np.asarray(V, dtype=np.float64)
    harm, perc = V, V
    masks = np.empty((2, V.size))
    for _ in range(n_iter):
        harm = _smooth(harm, win_harm, 1, kam_filter)
        perc = _smooth(perc, win_perc, 0, kam_filter)
        models = np.stack([np.maximum(harm, 0.0).ravel(), np.maximum(perc, 0.0).ravel()])
        _mask_kernels.alpha_wiener(models, power, masks)
        harm = masks[0].reshape(V.shape) * V
        perc = masks[1].reshape(V.shape) * V
    return masks[0].reshape(V.shape).copy(), masks[1].reshape(V.shape).copy()


class HPSS(MaskSeparationBase):
    """Harmonic/percussive separation (Fitzgerald 2010; Driedger et al. 2014; KAM: FitzGerald et al. 2014).

    See the module documentation for the two methods. Output order (nussl's):
    ``harmonic``, ``percussive``, then ``residual`` when a margin exceeds 1.

    Parameters
    ----------
    input_audio_signal : AudioSignal
        The mixture (never modified); every channel is separated on its own.
    kernel_size : int or (int, int), default 31
        Window lengths >= 1, one for both or ``(harmonic frames, percussive bins)``.
    margin : float or (float, float), default 1.0
        Margins >= 1 of the median method (one for both or ``(harmonic, percussive)``);
        above 1 a residual source is returned. Must be 1 with ``method='kam'``.
    power : float, default 2.0
        Exponent > 0 of the soft masks (``numpy.inf``: binary masks, median method only);
        with ``method='kam'`` the alpha of the alpha-Wiener filter (libnmfd's default is 1).
    method : {'median', 'kam'}, default 'median'
    n_iter : int, default 1
        KAM iterations (``method='kam'`` only).
    kam_filter : {'hann', 'median'}, default 'hann'
        KAM smoothing kernel (``method='kam'`` only).
    mask_type : {'soft', 'binary'}, default 'soft'
        Binary masks give each bin to the source with the largest soft mask (ties to the
        first, in output order).
    mask_threshold : float, default 0.5
        Unused (binary masks come from the arg-max); kept for the common API.
    stft_params : STFTParams or None
        STFT parameters; ``None`` uses the mixture's.

    Raises
    ------
    SeparationError
        For a kernel size below 1, a margin below 1 (or not 1 with KAM), a power <= 0 (or
        infinite with KAM), an unknown method or filter, or ``n_iter`` below 1.

    Notes
    -----
    nussl's ``HPSS`` has only ``kernel_size`` (librosa's defaults for the rest) and makes
    binary masks by comparing each soft mask with the largest, so an exact tie (a silent
    bin, where both masks are 1/2) gives both sources the bin; here ties go to the first.
    """

    def __init__(self, input_audio_signal, kernel_size=31, margin=1.0, power=2.0, method="median", n_iter=1,
                 kam_filter="hann", mask_type="soft", mask_threshold=0.5, stft_params=None):
        super().__init__(input_audio_signal, mask_type=mask_type, mask_threshold=mask_threshold,
                         stft_params=stft_params)
        self.kernel_size, _, _ = _pair("kernel_size", kernel_size, lambda n, v: check_int(n, v, 1, error=_E))
        self.margin, margin_h, margin_p = _pair("margin", margin, lambda n, v: check_real(n, v, 1.0, error=_E))
        self.power = check_real("power", power, 0.0, inclusive=False, finite=False, error=_E)
        self.method = check_choice("method", method, ("median", "kam"), error=_E)
        self.n_iter = check_int("n_iter", n_iter, 1, error=_E)
        self.kam_filter = check_choice("kam_filter", kam_filter, ("hann", "median"), error=_E)
        residual = margin_h > 1.0 or margin_p > 1.0
        if self.method == "kam" and (residual or not np.isfinite(self.power)):
            raise _E(f"method='kam' needs margin=1 and a finite power, got margin={margin!r}, power={power!r}")
        self.source_labels = ["harmonic", "percussive"] + (["residual"] if residual else [])

    def run(self):
        """Compute the harmonic, percussive (and residual) masks.

        Returns
        -------
        list of SoftMask or BinaryMask
            Shape ``(n_freq, n_frames, n_channels)`` each, in ``source_labels`` order.
        """
        V = np.abs(self.audio_signal.stft(self.stft_params))
        if self.method == "median":
            harm, perc = _hpss(V, kernel_size=self.kernel_size, power=self.power, mask=True, margin=self.margin)
        else:
            parts = [kam_masks(V[:, :, c], self.kernel_size, self.n_iter, self.power, self.kam_filter)
                     for c in range(V.shape[2])]
            harm = np.stack([p[0] for p in parts], axis=-1)
            perc = np.stack([p[1] for p in parts], axis=-1)
        soft = [harm, perc]
        if len(self.source_labels) == 3:
            soft.append(np.clip(1.0 - harm - perc, 0.0, 1.0))
        if self.mask_type is self.MASKS["soft"]:
            self.result_masks = self.masks_from_soft(soft)
        else:
            onehot = argmax_masks(np.stack(soft, axis=-1)).astype(bool)
            self.result_masks = [self.mask_type(np.ascontiguousarray(onehot[..., j]), copy=False)
                                 for j in range(len(soft))]
        return self.result_masks


register(
    "hpss", HPSS, "harmonic/percussive separation by median filtering (Fitzgerald 2010), librosa's masks",
    quick={"kernel_size": 17},
    demo=(DemoRow("drums_voice", "HPSS", order=10), DemoRow("drums_voice", "HPSS kam", {"method": "kam"}, order=11)),
)
