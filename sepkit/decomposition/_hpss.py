"""Harmonic/percussive separation of a magnitude spectrogram by median filtering (array level)."""

import numpy as np

from ..core import DecompositionError
from ..core.validation import check_bool, check_int, check_real
from ..kernels import hpss as _k
from ._common import check_nonneg_array

__all__ = ["hpss", "median_filter"]

_E = DecompositionError


def median_filter(S, size, axis):
    """Running median of a 2-D array along one axis, edges reflected (``scipy.ndimage.median_filter``).

    Parameters
    ----------
    S : array_like, shape (R, N)
        Finite real values (float64 computation).
    size : int
        Window length >= 1.
    axis : {0, 1}
        Axis filtered: 1 along rows (time, for a spectrogram), 0 along columns (frequency).

    Returns
    -------
    numpy.ndarray of float64, shape (R, N)
        Equal to ``scipy.ndimage.median_filter(S, size=(1, size) or (size, 1), mode='reflect')``.
    """
    X = np.ascontiguousarray(S, dtype=np.float64)
    if axis == 0:
        X = np.ascontiguousarray(X.T)
    out = np.empty_like(X)
    _k.median_rows(X, size, out)
    return out if axis == 1 else np.ascontiguousarray(out.T)


def _pair(name, value, check):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise _E(f"{name} as a pair must be (harmonic, percussive), got {value!r}")
        return check(f"{name}[0] (harmonic)", value[0]), check(f"{name}[1] (percussive)", value[1])
    v = check(name, value)
    return v, v


def hpss(S, *, kernel_size=31, power=2.0, mask=False, margin=1.0):
    r"""Median-filtering harmonic/percussive separation (Fitzgerald 2010; Driedger et al. 2014).

    The harmonic enhancement is ``S`` median-filtered along time (``kernel_size[0]``
    frames), the percussive along frequency (``kernel_size[1]`` bins), both with reflected
    edges. The masks are librosa's soft masks
    :math:`M_H = \tilde H^p / (\tilde H^p + (\mu_H \tilde P)^p)` and
    :math:`M_P = \tilde P^p / (\tilde P^p + (\mu_P \tilde H)^p)` (``power`` p; an infinite
    p gives the binary masks :math:`\tilde H > \mu_H \tilde P`), computed relative to the
    larger of the two (no overflow). Where both are zero the masks are 1/2 with unit
    margins, else 0. With margins :math:`\mu > 1` the masks sum to less than one and
    ``S - H - P`` is a residual (Driedger, Mueller & Disch 2014). The results equal
    ``librosa.decompose.hpss`` with the same settings (tested to 1e-10).

    Parameters
    ----------
    S : array_like, shape (n_freq, n_frames) or (n_freq, n_frames, n_channels)
        Nonnegative magnitude (or power) spectrogram, any unit; channels last (sepkit's
        STFT layout), each channel filtered on its own. Never modified.
    kernel_size : int or (int, int), default 31
        Median window lengths >= 1: one for both, or ``(harmonic frames, percussive bins)``.
    power : float, default 2.0
        Exponent p > 0 of the soft masks (``numpy.inf``: binary masks).
    mask : bool, default False
        Return the masks instead of the masked spectrograms.
    margin : float or (float, float), default 1.0
        Margins >= 1, one for both or ``(harmonic, percussive)``.

    Returns
    -------
    harmonic, percussive : numpy.ndarray of float64, shape of S
        ``S * M_H`` and ``S * M_P``, or the masks ``M_H`` and ``M_P`` with ``mask=True``.

    Raises
    ------
    DecompositionError
        If S is not a 2-D or 3-D array of finite nonnegative reals, or for a kernel size
        below 1, a power <= 0 or a margin below 1.

    Notes
    -----
    The running medians are numba kernels (:func:`sepkit.kernels.hpss.median_rows`, a
    sorted window updated per frame, rows on threads); ``benchmarks/bench_hpss.py`` times
    the function against librosa.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> S = rng.random((257, 100))
    >>> H, P = hpss(S, kernel_size=17)
    >>> bool(np.allclose(H + P, S))            # unit margins: the two parts add up to S
    True
    >>> H, P = hpss(S, margin=3.0)
    >>> bool(np.all(H + P <= S))               # margins > 1 leave a residual S - H - P
    True
    """
    S = check_nonneg_array("S", S, np.float64, ndim=(2, 3), copy=False,
                           what="magnitude spectrogram (n_freq, n_frames[, n_channels])")
    win_harm, win_perc = _pair("kernel_size", kernel_size, lambda n, v: check_int(n, v, 1, error=_E))
    power = check_real("power", power, 0.0, inclusive=False, finite=False, error=_E)
    margin_harm, margin_perc = _pair("margin", margin, lambda n, v: check_real(n, v, 1.0, error=_E))
    mask = check_bool("mask", mask, error=_E)
    zero_value = 0.5 if margin_harm == 1 and margin_perc == 1 else 0.0
    if S.ndim == 2:
        return _hpss2(S, win_harm, win_perc, power, margin_harm, margin_perc, zero_value, mask)
    parts = [_hpss2(S[:, :, c], win_harm, win_perc, power, margin_harm, margin_perc, zero_value, mask)
             for c in range(S.shape[2])]
    return np.stack([p[0] for p in parts], axis=-1), np.stack([p[1] for p in parts], axis=-1)


def _hpss2(S, win_harm, win_perc, power, margin_harm, margin_perc, zero_value, mask):
    """:func:`hpss` of one channel, S (F, N)."""
    harm = median_filter(S, win_harm, axis=1)
    perc = median_filter(S, win_perc, axis=0)
    mask_harm = np.empty_like(harm)
    mask_perc = np.empty_like(perc)
    ref = perc * margin_harm if margin_harm != 1 else perc
    _k.soft_mask(harm.ravel(), ref.ravel(), power, zero_value, mask_harm.ravel())
    ref = harm * margin_perc if margin_perc != 1 else harm
    _k.soft_mask(perc.ravel(), ref.ravel(), power, zero_value, mask_perc.ravel())
    if mask:
        return mask_harm, mask_perc
    mask_harm *= S
    mask_perc *= S
    return mask_harm, mask_perc
