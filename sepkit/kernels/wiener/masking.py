"""Soft masks, magnitude-with-mixture-phase starts, model stacking and the largest modulus.

Per-bin helpers (``_softmask_bin``, ``_magnitude_phase_bin``) are shared with the EM
driver :func:`sepkit.kernels.wiener.em.wiener_em`; :func:`softmask` takes a range of bins
and is run on threads (:func:`sepkit.kernels.threaded.run_threaded`), the others are
serial. Layouts are those of :mod:`sepkit.kernels.wiener`.
"""

import math

import numba
import numpy as np

__all__ = ["softmask", "magnitude_phase", "stack_models", "max_abs"]


@numba.njit(cache=True)
def _logistic(value, thresh, slope):
    return 1.0 / (1.0 + np.exp(-slope * (value - thresh)))


@numba.njit(cache=True)
def _mixture_bin(x, f):
    """Bin ``f`` of the mixture ``x`` (n_freq, n_frames, n_channels, any order) as a C-contiguous copy."""
    n_frames, n_channels = x.shape[1], x.shape[2]
    xf = np.empty((n_frames, n_channels), dtype=np.complex128)
    for t in range(n_frames):
        for c in range(n_channels):
            xf[t, c] = x[f, t, c]
    return xf


@numba.njit(cache=True)
def _softmask_bin(v, x, eps, divisor, compress, slope, renormalize, y):
    """Soft mask of one frequency bin, ``y[t, c, j] = m_j(t, c) * x[t, c] / divisor``.

    v : (n_frames, n_model_channels, n_sources) float64; x : (n_frames, n_channels)
    complex128; y : (n_frames, n_channels, n_sources) complex128, written.
    """
    n_frames, n_model_channels, n_sources = v.shape
    n_channels = x.shape[1]
    masks = np.empty(n_sources)
    for t in range(n_frames):
        for c in range(n_channels):
            cv = c if n_model_channels > 1 else 0
            total = 0.0
            for j in range(n_sources):
                total += v[t, cv, j]
            denominator = eps + total
            if denominator > 0.0:
                for j in range(n_sources):
                    masks[j] = v[t, cv, j] / denominator
            else:  # eps == 0 and every model silent: the eps -> 0 limit is a zero mask
                for j in range(n_sources):
                    masks[j] = 0.0
            if compress > 0.0:
                mask_sum = 0.0
                logit_sum = 0.0
                for j in range(n_sources):
                    mask_sum += masks[j]
                    masks[j] = _logistic(masks[j], compress, slope)
                    logit_sum += masks[j]
                if renormalize:
                    factor = mask_sum / (eps + logit_sum) if eps + logit_sum > 0.0 else 0.0
                    for j in range(n_sources):
                        masks[j] *= factor
            xc = x[t, c]
            for j in range(n_sources):
                y[t, c, j] = (masks[j] * xc) / divisor


@numba.njit(cache=True)
def _magnitude_phase_bin(mag, x, divisor, y):
    """``y[t, c, j] = mag[t, c, j] * exp(i angle(x[t, c])) / divisor`` for one bin (angle(0) = 0)."""
    n_frames, n_model_channels, n_sources = mag.shape
    n_channels = x.shape[1]
    for t in range(n_frames):
        for c in range(n_channels):
            cv = c if n_model_channels > 1 else 0
            xc = x[t, c]
            modulus = np.sqrt(xc.real * xc.real + xc.imag * xc.imag)
            if modulus > 0.0:
                unit = xc / modulus
            else:
                unit = 1.0 + 0.0j
            for j in range(n_sources):
                y[t, c, j] = (mag[t, cv, j] * unit) / divisor



@numba.njit(cache=True, nogil=True)
def softmask(v, x, eps, compress, slope, renormalize, y, start, stop):
    """Soft-mask (alpha-Wiener) estimates ``y_j = v_j / (eps + sum_k v_k) * x`` of bins ``start`` to ``stop - 1``.

    Parameters
    ----------
    v : numpy.ndarray of float64, shape (n_freq, n_frames, n_model_channels, n_sources)
        Nonnegative source models; ``n_model_channels`` is 1 (one mask for every channel)
        or ``n_channels``.
    x : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels)
        Mixture STFT (any memory order).
    eps : float
        Nonnegative constant added to the denominator. Where it is 0 and every model is
        0, the masks are 0.
    compress : float
        Threshold in (0, 1) of the logistic compression of each mask; ``<= 0``: none.
    slope : float
        Slope of the logistic.
    renormalize : bool
        Rescale compressed masks so they sum to the uncompressed total (about 1).
    y : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
        Output, C-contiguous, overwritten.
    start, stop : int
        The bins to process. Serial and ``nogil``: run on several threads by
        :func:`sepkit.kernels.threaded.run_threaded`.
    """
    for f in range(start, stop):
        xf = _mixture_bin(x, f)
        _softmask_bin(v[f], xf, eps, 1.0, compress, slope, renormalize, y[f])


@numba.njit(cache=True)
def magnitude_phase(mag, x, y):
    """Magnitudes with the mixture phase: ``y_j = mag_j * exp(i angle(x))``.

    Parameters
    ----------
    mag : numpy.ndarray of float64, shape (n_freq, n_frames, n_model_channels, n_sources)
        Nonnegative magnitudes; ``n_model_channels`` is 1 or ``n_channels``.
    x : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels)
        Mixture STFT (any memory order); where ``x == 0`` the phase is 0.
    y : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
        Output, C-contiguous, overwritten.
    """
    for f in range(x.shape[0]):
        xf = _mixture_bin(x, f)
        _magnitude_phase_bin(mag[f], xf, 1.0, y[f])


@numba.njit(cache=True)
def stack_models(specs, power, out):
    """Stack ``|S_j| ** power`` of every source into one model array.

    The loop runs frame by frame so that the Fortran-ordered STFTs of
    :meth:`AudioSignal.stft` are read along their contiguous axis while whole cache
    lines of ``out`` are written. Serial: it is bound by memory (a ``prange`` cost more
    compile time than it saved).

    Parameters
    ----------
    specs : tuple of numpy.ndarray of complex128, each of shape (n_freq, n_frames, n_channels)
        Source STFTs, all of the same shape and memory order.
    power : float
        Exponent ``alpha > 0`` (2 and 1 take fast paths).
    out : numpy.ndarray of float64, shape (n_freq, n_frames, n_channels, n_sources)
        C-contiguous output, overwritten.
    """
    n_freq, n_frames, n_channels, n_sources = out.shape
    half = 0.5 * power
    for t in range(n_frames):
        for j in range(n_sources):
            spec = specs[j]
            for c in range(n_channels):
                for f in range(n_freq):
                    s = spec[f, t, c]
                    p = s.real * s.real + s.imag * s.imag
                    if power == 2.0:
                        out[f, t, c, j] = p
                    elif power == 1.0:
                        out[f, t, c, j] = np.sqrt(p)
                    else:
                        out[f, t, c, j] = p**half


@numba.njit(cache=True)
def max_abs(x):
    """Largest modulus of a complex array (serial: bound by memory).

    Parameters
    ----------
    x : numpy.ndarray of complex128, shape (n,)
        Flat data, e.g. ``stft.ravel(order='K')`` (a view for a contiguous array of
        either memory order).

    Returns
    -------
    float
        ``max |x|`` (0 for an empty array).
    """
    m = 0.0
    for i in range(x.shape[0]):
        s = x[i]
        p = s.real * s.real + s.imag * s.imag
        if p > m:
            m = p
    return math.sqrt(m)

