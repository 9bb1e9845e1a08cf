"""Wiener filtering and the multichannel EM: :func:`wiener`, :func:`softmask`, :func:`expectation_maximization`."""

from __future__ import annotations

import numpy as np

from ..core.validation import check_array, check_bool, check_int, check_positive
from ._checks import (
    _CHUNK_BINS,
    _ERR,
    _complex_dtype,
    _eps,
    _frequency_first,
    _mixture,
    _models,
    _raise_if_singular,
    _threshold,
)

__all__ = ["wiener", "softmask", "expectation_maximization"]


# -- separation ---------------------------------------------------------------------------------
def wiener(v, x, iterations=1, use_softmask=True, eps=None, *, logit=None, slope=15.0, renormalize=False):
    """Wiener-based separation: an initial estimate refined by the multichannel EM.

    1. Initial estimate: ``use_softmask=True`` gives the soft mask
       ``y_j = v_j / (eps + sum_k v_k) * x`` (:func:`softmask`); ``False`` gives
       ``y_j = v_j * exp(i angle(x))`` (``v`` must then be magnitudes).
    2. ``iterations`` of :func:`expectation_maximization` on ``y / m`` and ``x / m``,
       with ``m = max(1, max|x| / 10)``, multiplied back by ``m`` (norbert's rescaling,
       done without changing ``x``).

    Equal to ``norbert.wiener`` (0.2.1) to rounding error (measured below 1e-12
    relative), except that ``x`` is never divided in place.

    Parameters
    ----------
    v : array_like of float, shape (n_frames, n_bins, {1, n_channels}, n_sources)
        Nonnegative source spectrograms (magnitudes, powers, ... the exponent is the
        caller's: powers give the classic Wiener mask, magnitudes a ratio mask).
        Mono models (``1`` on the channel axis) are used for every channel.
    x : array_like of complex, shape (n_frames, n_bins, n_channels)
        Mixture STFT. Not changed.
    iterations : int
        EM iterations, >= 0; 0 returns the initial estimate.
    use_softmask : bool
        Start from the soft mask (True) or from ``v`` with the mixture phase (False).
    eps : float or None
        Constant >= 0 added to the mask denominators and the EM weights (the energy of a
        white noise taken out); the EM loads the covariance diagonal with ``sqrt(eps)``.
        None: the machine epsilon of ``x``'s real dtype.
    logit : float or None
        sepkit extension: threshold in (0, 1) of the logistic compression of the final
        filter (the soft mask when ``iterations == 0``, else the gain
        ``tr(W_j) / n_channels`` of the last EM filter; see :func:`compress_filter`).
        None: none. Needs a filter: not with ``use_softmask=False, iterations=0``.
    slope : float
        Slope > 0 of that logistic.
    renormalize : bool
        With ``logit``: rescale the compressed gains to keep their total, so the
        estimates still sum to the mixture.

    Returns
    -------
    numpy.ndarray of complex, shape (n_frames, n_bins, n_channels, n_sources)
        Source STFT estimates: complex128, or complex64 for a complex64 mixture
        (computed in double precision). A new array (a frames-first view of
        frequency-major memory).

    Raises
    ------
    SeparationError
        For mismatched shapes, negative, NaN or infinite values, invalid options, or a
        singular mixture covariance (only possible with ``eps=0``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((50, 33, 2)) + 1j * rng.standard_normal((50, 33, 2))
    >>> v = rng.random((50, 33, 2, 3))
    >>> y = wiener(v, x, iterations=1)
    >>> y.shape, y.dtype
    ((50, 33, 2, 3), dtype('complex128'))
    >>> bool(np.allclose(y.sum(axis=-1), x, rtol=1e-5, atol=1e-5))  # sums back to the mixture
    True
    """
    from ..kernels.threaded import run_threaded
    from ..kernels.wiener import max_abs, wiener_em

    x = _mixture(x)
    v = _models(v, x)
    iterations = check_int("iterations", iterations, minimum=0, error=_ERR)
    use_softmask = check_bool("use_softmask", use_softmask, error=_ERR)
    eps = _eps(x, eps)
    logit = _threshold("logit", logit)
    slope = check_positive("slope", slope, error=_ERR)
    renormalize = check_bool("renormalize", renormalize, error=_ERR)
    if logit is not None and not use_softmask and iterations == 0:
        raise _ERR("logit needs a filter to compress: use use_softmask=True or iterations >= 1")
    xf = _frequency_first(x, np.complex128)
    vf = _frequency_first(v, np.float64)
    n_bins, n_frames, n_channels = xf.shape
    y = np.empty((n_bins, n_frames, n_channels, v.shape[3]), dtype=np.complex128)
    # Overflow guard: a mixture peaking above 2**500 is brought to a peak in [16, 32) and
    # models whose peak is outside [2**-500, 2**500] to [0.5, 1) (powers of two, exact;
    # above 10 norbert divides the mixture by max|x| / 10 anyway, so the result is the
    # same). Magnitude models scale with the mixture. Level-free filtering of quiet
    # mixtures is the separator's job (WienerFilter); this function keeps norbert's
    # absolute loading.
    x_peak = max_abs(xf.ravel(order="K"))
    x_exp = _exponent(x_peak) - 5 if x_peak > 2.0**500 else 0
    v_peak = float(vf.max()) if vf.size else 0.0
    v_exp = _exponent(v_peak) if v_peak > 2.0**500 or 0 < v_peak < 2.0**-500 else 0
    if not use_softmask:
        v_exp = x_exp
    if x_exp:
        xf = _ldexp_complex(np.array(xf, dtype=np.complex128, order="C"), -x_exp)
    if v_exp:
        vf = np.ldexp(vf, -v_exp)
    scale = 1.0
    if iterations > 0:
        scale = max(1.0, max_abs(xf.ravel(order="K")) / 10.0)
    n_bad = np.zeros(n_bins, dtype=np.int64)
    # chunks of bins handed out as threads finish: robust when another process holds a core
    run_threaded(wiener_em, n_bins, vf, xf, not use_softmask, iterations, eps, scale,
                 -1.0 if logit is None else logit, slope, renormalize, y, n_bad, chunk=_CHUNK_BINS)
    _raise_if_singular(n_bad, eps)
    if x_exp:
        _ldexp_complex(y, x_exp)
    return np.swapaxes(y, 0, 1).astype(_complex_dtype(x), copy=False)


def _ldexp_complex(a: np.ndarray, exponent: int) -> np.ndarray:
    """``a * 2**exponent`` in place (``a`` C-contiguous complex128), exact barring under/overflow."""
    parts = a.view(np.float64)
    np.ldexp(parts, exponent, out=parts)
    return a


def _exponent(peak: float) -> int:
    """``e`` with ``peak * 2**-e`` in [0.5, 1) (0 for a zero peak)."""
    return int(np.frexp(peak)[1]) if peak > 0 else 0


def softmask(v, x, logit=None, eps=None, *, slope=15.0, renormalize=False):
    """Ratio (alpha-Wiener) mask estimates: ``y_j = v_j / (eps + sum_k v_k) * x``.

    Channel-independent (no spatial model). Powers give the classic Wiener mask,
    magnitudes a ratio mask (optimal under alpha-stable assumptions, Liutkus & Badeau
    2015); the masks sum to ``sum_k v_k / (eps + sum_k v_k)``, about 1.

    Parameters
    ----------
    v : array_like of float, shape (n_frames, n_bins, {1, n_channels}, n_sources)
        Nonnegative source spectrograms.
    x : array_like of complex, shape (n_frames, n_bins, n_channels)
        Mixture STFT. Not changed.
    logit : float or None
        Threshold in (0, 1) of the logistic compression ("soft binarisation") of each
        mask, ``m <- 1 / (1 + exp(-slope (m - logit)))``: masks above it move towards 1,
        below it towards 0. None: none. (norbert 0.2.1 raises ``TypeError`` here.)
    eps : float or None
        Constant >= 0 added to the denominator; None: the machine epsilon of ``x``'s
        real dtype. With ``eps=0``, bins where every model is 0 get 0.
    slope : float
        sepkit extension: slope > 0 of the logistic (norbert's is 15).
    renormalize : bool
        sepkit extension: rescale compressed masks to their uncompressed total, so the
        estimates still sum to the mixture.

    Returns
    -------
    numpy.ndarray of complex, shape (n_frames, n_bins, n_channels, n_sources)
        Estimates (complex64 for a complex64 mixture, else complex128).

    Examples
    --------
    >>> x = np.full((2, 3, 1), 2.0 + 0j)
    >>> v = np.stack([np.ones((2, 3, 1)), 3 * np.ones((2, 3, 1))], axis=-1)
    >>> softmask(v, x, eps=0)[0, 0, 0]
    array([0.5+0.j, 1.5+0.j])
    """
    from ..kernels.threaded import run_threaded
    from ..kernels.wiener import softmask as softmask_kernel

    x = _mixture(x)
    v = _models(v, x)
    logit = _threshold("logit", logit)
    eps = _eps(x, eps)
    slope = check_positive("slope", slope, error=_ERR)
    renormalize = check_bool("renormalize", renormalize, error=_ERR)
    xf = _frequency_first(x, np.complex128)
    vf = _frequency_first(v, np.float64)
    v_peak = float(vf.max()) if vf.size else 0.0
    if v_peak > 2.0**500 or 0 < v_peak < 2.0**-500:  # the sum of the models must not overflow
        vf = np.ldexp(vf, -_exponent(v_peak))
    n_bins, n_frames, n_channels = xf.shape
    y = np.empty((n_bins, n_frames, n_channels, v.shape[3]), dtype=np.complex128)
    run_threaded(softmask_kernel, n_bins, vf, xf, eps, -1.0 if logit is None else logit, slope, renormalize, y)
    return np.swapaxes(y, 0, 1).astype(_complex_dtype(x), copy=False)


def expectation_maximization(y, x, iterations=2, verbose=0, eps=None):
    """Refine source estimates with the simplified multichannel EM (Nugraha et al. 2016).

    Each iteration re-estimates, per bin, the PSDs ``v_j = mean_c |y_j|^2`` and the
    time-invariant spatial covariances ``R_j = sum_t y_j y_j^H / (eps + sum_t v_j)``
    (:func:`get_local_gaussian_model`), then filters
    ``y_j = v_j R_j (sum_k v_k R_k + sqrt(eps) I)^-1 x`` (:func:`get_mix_model`,
    :func:`wiener_gain`, :func:`apply_filter`; for one channel the inverse is
    ``1 / (Cxx + eps)``). Not the exact EM of Duong et al. (2010): the statistics come
    from the current estimates only, which is more robust for music.

    Parameters
    ----------
    y : array_like of complex, shape (n_frames, n_bins, n_channels, n_sources)
        Initial estimates. Not changed (norbert overwrites them).
    x : array_like of complex, shape (n_frames, n_bins, n_channels)
        Mixture STFT. Not changed.
    iterations : int
        Number of iterations, >= 0.
    verbose : object
        Accepted for compatibility; nothing is printed.
    eps : float or None
        Regularisation >= 0; None: the machine epsilon of ``x``'s real dtype.

    Returns
    -------
    y : numpy.ndarray of complex, shape (n_frames, n_bins, n_channels, n_sources)
        Refined estimates (a new array; complex64 for a complex64 mixture).
    v : numpy.ndarray of float64, shape (n_frames, n_bins, n_sources)
        PSDs of the last iteration (computed from its input estimates); zeros when
        ``iterations == 0``, as in norbert.
    R : numpy.ndarray of complex, shape (n_bins, n_channels, n_channels, n_sources)
        Spatial covariance matrices of the last iteration; zeros when
        ``iterations == 0``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((40, 9, 2)) + 1j * rng.standard_normal((40, 9, 2))
    >>> y0 = softmask(rng.random((40, 9, 2, 2)), x)
    >>> y, v, R = expectation_maximization(y0, x, iterations=2)
    >>> y.shape, v.shape, R.shape
    ((40, 9, 2, 2), (40, 9, 2), (9, 2, 2, 2))
    """
    import numba

    from ..kernels.wiener import em_refine, local_gaussian_model

    x = _mixture(x)
    y = check_array("y", y, ndim=4, kinds="biufc", what="estimate array (n_frames, n_bins, n_channels, n_sources)",
                    error=_ERR)
    if y.shape[:3] != x.shape:
        raise _ERR(f"y has shape {y.shape}, expected {x.shape + ('n_sources',)} to match x of shape {x.shape}")
    iterations = check_int("iterations", iterations, minimum=0, error=_ERR)
    eps = _eps(x, eps)
    xf = _frequency_first(x, np.complex128)
    out = np.array(np.swapaxes(y, 0, 1), dtype=np.complex128, order="C")  # private copy, refined in place
    n_bins, n_frames, n_channels, n_sources = out.shape
    psd = np.zeros((n_bins, n_frames, n_sources))
    cov = np.zeros((n_bins, n_sources, n_channels, n_channels), dtype=np.complex128)
    n_bad = np.zeros(1, dtype=np.int64)
    with numba.parallel_chunksize(_CHUNK_BINS):
        if iterations > 1:
            n_bad = n_bad + em_refine(out, xf, iterations - 1, eps, -1.0, 15.0, False).sum()
        if iterations > 0:
            local_gaussian_model(out, eps, psd, cov)  # the statistics the last iteration uses
            n_bad = n_bad + em_refine(out, xf, 1, eps, -1.0, 15.0, False).sum()
    _raise_if_singular(n_bad, eps)
    dtype = _complex_dtype(x)
    return (np.swapaxes(out, 0, 1).astype(dtype, copy=False), np.swapaxes(psd, 0, 1),
            cov.transpose(0, 2, 3, 1).astype(dtype, copy=False))
