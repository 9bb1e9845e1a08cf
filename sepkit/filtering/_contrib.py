"""norbert's ``contrib`` helpers, as they are meant to work: residual model, smoothing,
interference reduction and filter compression."""

from __future__ import annotations

import numpy as np

from ..core.validation import check_array, check_bool, check_positive, check_probability
from ._checks import _ERR, _logistic, _mixture, _models

__all__ = ["residual_model", "smooth", "reduce_interferences", "compress_filter"]

_FLOAT64_EPS = float(np.finfo(np.float64).eps)


def residual_model(v, x, alpha=1, *, autoscale=True):
    """Append a residual source: the part of the mixture the source models do not explain.

    Spectral subtraction after a least-squares fit. With ``vx = max(eps, |x| ** alpha)``
    and ``v_tot = sum_j v_j``, each bin and channel gets the gain
    ``g(f, c) = sum_t vx v_tot / (eps + sum_t v_tot ** 2)``; the sources become
    ``g v_j`` and the residual is ``max(0, vx - sum_j g v_j)``. ``eps`` is the machine
    epsilon of ``v``'s float dtype (float64 for integers).

    norbert 0.2.1 returns the scaled sources but computes the residual from the
    *unscaled* total; sepkit computes it from the scaled one, as norbert's later code
    does.

    Parameters
    ----------
    v : array_like of float, shape (n_frames, n_bins, {1, n_channels}, n_sources)
        Nonnegative source spectrograms, homogeneous to ``|x| ** alpha``.
    x : array_like of complex, shape (n_frames, n_bins, n_channels)
        Mixture STFT.
    alpha : float
        Exponent > 0 of the spectrograms (1: magnitudes, 2: powers).
    autoscale : bool
        sepkit extension (the argument of norbert's later code): fit the gain ``g``
        (True, norbert 0.2.1's behaviour) or take ``g = 1``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_frames, n_bins, n_channels, n_sources + 1)
        Scaled spectrograms with the residual last; always multichannel. A new array,
        in the memory order of ``v``.

    Examples
    --------
    >>> x = np.full((4, 3, 1), 2.0 + 0j)
    >>> out = residual_model(np.full((4, 3, 1, 2), 0.5), x)
    >>> out.shape, float(out[0, 0, 0, 0]), float(out[0, 0, 0, 2])
    ((4, 3, 1, 3), 1.0, 0.0)
    """
    x = _mixture(x)
    v = _models(v, x)
    alpha = check_positive("alpha", alpha, error=_ERR)
    autoscale = check_bool("autoscale", autoscale, error=_ERR)
    eps = float(np.finfo(v.dtype).eps) if v.dtype.kind == "f" else _FLOAT64_EPS
    vx = np.abs(x).astype(np.float64, copy=False)
    if alpha != 1:
        vx **= alpha
    np.maximum(vx, eps, out=vx)
    n_frames, n_bins, n_channels = x.shape
    out = np.empty_like(v, dtype=np.float64, shape=(n_frames, n_bins, n_channels, v.shape[3] + 1), order="K")
    if autoscale:
        total = v.sum(axis=-1)
        gain = (vx * total).sum(axis=0, keepdims=True) / (eps + (total * total).sum(axis=0, keepdims=True))
        np.multiply(v, gain[..., None], out=out[..., :-1])
    else:
        out[..., :-1] = v
    np.maximum(vx - out[..., :-1].sum(axis=-1), 0.0, out=out[..., -1])
    return out


def smooth(v, width=1, temporal=False, *, truncate=None):
    """Gaussian blur of spectrograms over time (and frequency).

    Parameters
    ----------
    v : array_like of float, shape (n_frames, ...)
        Data to blur, frames first (e.g. (n_frames, n_bins, n_channels, n_sources)).
    width : float
        Standard deviation of the Gaussian, in frames (and bins), > 0.
    temporal : bool
        True: blur along time only (:func:`scipy.ndimage.gaussian_filter1d` on axis 0,
        truncated at 4 widths, as norbert). False: blur along time and frequency (axes
        0 and 1), truncated at ``width`` widths as norbert; norbert 0.2.1 also blurs the
        channel and source axes, which mixes sources.
    truncate : float or None
        sepkit extension: truncate the Gaussian at this many standard deviations
        instead of norbert's choice (4 for ``temporal``, ``width`` otherwise).

    Returns
    -------
    numpy.ndarray of float64, shape of ``v``
        A new array.

    Examples
    --------
    >>> v = np.zeros((5, 5, 1, 2)); v[2, 2, 0, 0] = 1.0
    >>> out = smooth(v, 1.0)
    >>> float(out[..., 1].max()), bool(out[1:4, 1:4, 0, 0].min() > 0)  # sources stay apart
    (0.0, True)
    """
    from scipy.ndimage import gaussian_filter, gaussian_filter1d

    v = np.asarray(check_array("v", v, error=_ERR), dtype=np.float64)
    width = check_positive("width", width, error=_ERR)
    temporal = check_bool("temporal", temporal, error=_ERR)
    if truncate is not None:
        truncate = check_positive("truncate", truncate, error=_ERR)
    if temporal:
        return gaussian_filter1d(v, sigma=width, axis=0, truncate=4.0 if truncate is None else truncate)
    sigma = (width,) * min(v.ndim, 2) + (0.0,) * (v.ndim - 2)
    return gaussian_filter(v, sigma=sigma, truncate=width if truncate is None else truncate)


def reduce_interferences(v, thresh=0.6, slope=15, *, width=10.0, truncate=None):
    """Sparsify spectrograms along the source axis (interference reduction).

    After Prätzlich, Bittner, Liutkus & Müller (ICASSP 2015), with norbert's ad-hoc
    changes::

        vs_j    = smooth(v_j, width)                       (time and frequency only)
        share_j = vs_j / (eps + sum_k vs_k)
        v_j    <- v_j / (1 + exp(-slope * (share_j - thresh)))

    with ``eps`` the float64 machine epsilon. norbert 0.2.1 ignores ``thresh`` and
    ``slope`` (it uses 0.4 and 15) and blurs across sources too, so every share is
    ``1 / n_sources`` and the function only rescales ``v`` by a constant; sepkit
    honours both and blurs each source and channel on its own.

    Parameters
    ----------
    v : array_like of float, shape (n_frames, n_bins, ..., n_sources)
        Nonnegative spectrograms, sources last (e.g. (n_frames, n_bins, n_channels,
        n_sources)).
    thresh : float
        In (0, 1): sources with a local share of the energy below it are attenuated
        (closer to 1: fewer interferences, more distortion).
    slope : float
        Slope > 0 of the logistic (higher: harder).
    width : float
        sepkit extension: standard deviation of the blur in frames and bins (norbert:
        10).
    truncate : float or None
        sepkit extension: truncation of the blur, in standard deviations (None:
        ``width``, as :func:`smooth`).

    Returns
    -------
    numpy.ndarray of float64, shape of ``v``
        A new array.

    Examples
    --------
    >>> v = np.random.default_rng(0).random((30, 20, 1, 2))
    >>> reduce_interferences(v, 0.6).shape
    (30, 20, 1, 2)
    """
    v = np.asarray(check_array("v", v, nonneg=True, error=_ERR), dtype=np.float64)
    if v.ndim < 3:
        raise _ERR(f"v must have frames, bins and sources axes (n_frames, n_bins, ..., n_sources), got {v.shape}")
    thresh = check_probability("thresh", thresh, open_interval=True, error=_ERR)
    slope = check_positive("slope", slope, error=_ERR)
    blurred = smooth(v, width, truncate=truncate)
    share = blurred / (_FLOAT64_EPS + blurred.sum(axis=-1, keepdims=True))
    return v * _logistic(share, thresh, slope)


def compress_filter(W, thresh=0.6, slope=15):
    """Logistic compression ("soft binarisation") of a separation filter.

    * Real masks with a last axis of length 1 (single channel): each value becomes
      ``1 / (1 + exp(-slope (W - thresh)))``.
    * Otherwise ``W`` holds C x C filters: each is seen as a beamformer followed by a
      scalar gain ``g = Re tr(W) / C`` (the mask value for an identity-like filter), and
      only that gain is compressed: ``W <- W logistic(g) / (eps + g)``, zero where
      ``g <= 0``. ``eps`` is the machine epsilon of ``W``'s dtype.

    norbert 0.2.1 raises ``ValueError`` at once (``np.finfo`` of an array), and would
    have used the plain trace ``tr(W)``, which puts the threshold on a [0, C] scale.
    This is the compression :func:`softmask` and :func:`wiener` apply with ``logit``.

    Parameters
    ----------
    W : array_like, shape (..., n_channels, n_channels), or real (..., 1)
        Filters (e.g. :func:`wiener_gain`) or single-channel masks.
    thresh : float
        Threshold in (0, 1): gains above it move towards 1, below it towards 0.
    slope : float
        Slope > 0 of the logistic (higher: harder).

    Returns
    -------
    numpy.ndarray, shape of ``W``
        A new array (norbert compresses multichannel filters in place); ``W`` is not
        changed.

    Examples
    --------
    >>> compress_filter(np.array([[0.2], [0.9]]), thresh=0.5, slope=10).round(3).tolist()
    [[0.047], [0.982]]
    """
    W = check_array("W", W, kinds="biufc", error=_ERR)
    thresh = check_probability("thresh", thresh, open_interval=True, error=_ERR)
    slope = check_positive("slope", slope, error=_ERR)
    if W.dtype.kind in "biu":
        W = W.astype(np.float64)
    if W.shape[-1] == 1 and W.dtype.kind == "f":
        return _logistic(W, thresh, slope)
    if W.ndim < 2 or W.shape[-1] != W.shape[-2]:  # (0-D arrays are refused here too)
        raise _ERR(f"W must hold square filters (..., n_channels, n_channels) or real masks (..., 1), got {W.shape}")
    eps = float(np.finfo(W.dtype).eps)
    gain = np.trace(W, axis1=-2, axis2=-1).real / W.shape[-1]
    positive = gain > 0
    factor = np.where(positive, _logistic(gain, thresh, slope) / (eps + np.where(positive, gain, 1.0)), 0.0)
    return (W * factor[..., None, None]).astype(W.dtype, copy=False)
