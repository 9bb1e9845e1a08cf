"""Building blocks of the EM: local Gaussian model, mixture model, Wiener gain, filtering."""

from __future__ import annotations

import numpy as np

from ..core.validation import check_array, check_nonneg
from ._checks import _CHUNK_BINS, _ERR, _frequency_first, _mixture

__all__ = ["get_local_gaussian_model", "get_mix_model", "wiener_gain", "apply_filter"]


# -- building blocks ----------------------------------------------------------------------------
def get_local_gaussian_model(y_j, eps=1.0):
    """Local Gaussian model of one source: its PSD and spatial covariance matrix.

    ``v_j(t, f) = mean_c |y_j(t, f, c)|^2`` and
    ``R_j(f) = sum_t y_j(t, f) y_j(t, f)^H / (eps + sum_t v_j(t, f))``.

    Parameters
    ----------
    y_j : array_like of complex, shape (n_frames, n_bins, n_channels)
        STFT of the source.
    eps : float
        Regularisation >= 0 of the weight (norbert's default, 1).

    Returns
    -------
    v_j : numpy.ndarray of float64, shape (n_frames, n_bins)
        Power spectral density.
    R_j : numpy.ndarray of complex128, shape (n_bins, n_channels, n_channels)
        Spatial covariance matrix (norbert 0.2.1 returns it with an extra leading axis
        of length 1, contrary to its documentation).

    Examples
    --------
    >>> y_j = np.ones((4, 3, 2), dtype=complex)
    >>> v_j, R_j = get_local_gaussian_model(y_j, eps=0)
    >>> v_j.shape, R_j.shape, R_j[0].real.tolist()
    ((4, 3), (3, 2, 2), [[1.0, 1.0], [1.0, 1.0]])
    """
    import numba

    from ..kernels.wiener import local_gaussian_model

    y_j = check_array("y_j", y_j, ndim=3, kinds="biufc", what="source STFT (n_frames, n_bins, n_channels)",
                      error=_ERR)
    eps = check_nonneg("eps", eps, error=_ERR)
    yf = _frequency_first(y_j, np.complex128)[..., None]
    n_bins, n_frames, n_channels, _ = yf.shape
    psd = np.empty((n_bins, n_frames, 1))
    cov = np.empty((n_bins, 1, n_channels, n_channels), dtype=np.complex128)
    with numba.parallel_chunksize(_CHUNK_BINS):
        local_gaussian_model(yf, eps, psd, cov)
    return psd[:, :, 0].T, cov[:, 0]


def get_mix_model(v, R):
    """Model covariance of the mixture: ``Cxx(t, f) = sum_j v_j(t, f) R_j(f)``.

    Parameters
    ----------
    v : array_like of float, shape (n_frames, n_bins, n_sources)
        Source PSDs.
    R : array_like of complex, shape (n_bins, n_channels, n_channels, n_sources)
        Spatial covariance matrices.

    Returns
    -------
    numpy.ndarray, shape (n_frames, n_bins, n_channels, n_channels)
        Mixture covariances, of ``R``'s dtype (or wider).

    Examples
    --------
    >>> R = np.stack([np.eye(2), np.ones((2, 2))], axis=-1)[None].astype(complex)
    >>> get_mix_model(np.array([[[1.0, 2.0]]]), R)[0, 0].real.tolist()
    [[3.0, 2.0], [2.0, 3.0]]
    """
    v = check_array("v", v, ndim=3, what="PSD array (n_frames, n_bins, n_sources)", error=_ERR)
    R = check_array("R", R, ndim=4, kinds="biufc", what="covariance array (n_bins, n_channels, n_channels, n_sources)",
                    error=_ERR)
    if R.shape[1] != R.shape[2] or R.shape[0] != v.shape[1] or R.shape[3] != v.shape[2]:
        raise _ERR(f"R has shape {R.shape}, expected ({v.shape[1]}, C, C, {v.shape[2]}) to match v of shape {v.shape}")
    return np.einsum("tfj,fabj->tfab", v, R)


def wiener_gain(v_j, R_j, inv_Cxx):
    """Multichannel Wiener gain of one source: ``G_j(t, f) = v_j(t, f) R_j(f) Cxx(t, f)^-1``.

    Parameters
    ----------
    v_j : array_like of float, shape (n_frames, n_bins)
        PSD of the source (norbert's docstring says (n_frames, n_bins, n_channels), but
        its code, like this one, needs (n_frames, n_bins)).
    R_j : array_like of complex, shape (n_bins, n_channels, n_channels)
        Spatial covariance matrix of the source.
    inv_Cxx : array_like of complex, shape (n_frames, n_bins, n_channels, n_channels)
        Inverses of the mixture covariances.

    Returns
    -------
    numpy.ndarray, shape (n_frames, n_bins, n_channels, n_channels)
        Filters to apply to the mixture with :func:`apply_filter`.

    Examples
    --------
    >>> G = wiener_gain(np.full((1, 1), 0.5), np.eye(2)[None], np.eye(2)[None, None] / 2)
    >>> G[0, 0].tolist()
    [[0.25, 0.0], [0.0, 0.25]]
    """
    v_j = check_array("v_j", v_j, ndim=2, what="PSD (n_frames, n_bins)", error=_ERR)
    R_j = check_array("R_j", R_j, ndim=3, kinds="biufc", what="covariance array (n_bins, n_channels, n_channels)",
                      error=_ERR)
    inv_Cxx = check_array("inv_Cxx", inv_Cxx, ndim=4, kinds="biufc",
                          what="array (n_frames, n_bins, n_channels, n_channels)", error=_ERR)
    n_bins = v_j.shape[1]
    if inv_Cxx.shape[:2] != v_j.shape or R_j.shape != (n_bins,) + inv_Cxx.shape[2:] or R_j.shape[1] != R_j.shape[2]:
        raise _ERR(
            f"shapes do not match: v_j {v_j.shape} (n_frames, n_bins), R_j {R_j.shape} (n_bins, C, C), "
            f"inv_Cxx {inv_Cxx.shape} (n_frames, n_bins, C, C)"
        )
    gain = np.matmul(R_j[None], inv_Cxx)
    gain *= v_j[..., None, None]
    return gain


def apply_filter(x, W):
    """Apply filters to a mixture: ``y(t, f) = W(t, f) x(t, f)``.

    Parameters
    ----------
    x : array_like of complex, shape (n_frames, n_bins, n_channels)
        STFT to filter.
    W : array_like of complex, shape (n_frames, n_bins, n_channels, n_channels)
        Filters, e.g. from :func:`wiener_gain`; a length-1 frame axis applies the same
        filter to every frame.

    Returns
    -------
    numpy.ndarray of complex, shape (n_frames, n_bins, n_channels)
        Filtered STFT.

    Examples
    --------
    >>> x = np.ones((2, 3, 2), dtype=complex)
    >>> apply_filter(x, np.broadcast_to(np.eye(2) * 0.5, (2, 3, 2, 2)))[0, 0]
    array([0.5+0.j, 0.5+0.j])
    """
    x = _mixture(x)
    W = check_array("W", W, ndim=4, kinds="biufc", what="filter array (n_frames, n_bins, n_channels, n_channels)",
                    error=_ERR)
    n_channels = x.shape[2]
    if W.shape[2:] != (n_channels, n_channels) or W.shape[1] != x.shape[1] or W.shape[0] not in (1, x.shape[0]):
        raise _ERR(f"W has shape {W.shape}, expected ({x.shape[0]} or 1, {x.shape[1]}, {n_channels}, {n_channels})")
    return np.matmul(W, x[..., None])[..., 0]
