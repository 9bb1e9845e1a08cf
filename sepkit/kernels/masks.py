"""Kernels of mask-based separation: ideal-mask terms, ratio normalisation, masking.

Every kernel works elementwise on flat 1-D arrays: callers pass ``a.ravel(order="K")``
views of same-shaped, same-ordered arrays (sepkit's STFTs are Fortran-ordered
``(n_freq, n_frames, n_channels)``), so no array is copied or transposed, and fuse what
numpy would do in several passes with temporaries. The loops are serial: they are bound by
memory, and a ``prange`` made each kernel's first compilation several times longer for
little gain on two cores. Outputs are allocated by the caller with numpy and passed in. Magnitudes use ``sqrt(re**2 + im**2)`` rather than the
slower overflow-safe ``hypot``; STFT values are far from overflow.
"""

import math

import numba
import numpy as np

__all__ = [
    "update_loudest",
    "one_hot",
    "magnitude_terms",
    "phase_sensitive_terms",
    "normalize_terms",
    "masked_spectrum",
    "alpha_wiener",
]


@numba.njit(cache=True)
def update_loudest(spec, index, loudest, winner):
    """Fold one source into a running arg-max of magnitudes (ties keep the earlier source).

    Parameters
    ----------
    spec : numpy.ndarray of complex, shape (n,)
        STFT values of source ``index``.
    index : int
        Source index; for ``index == 0`` the running state is initialised.
    loudest : numpy.ndarray of float64, shape (n,)
        Largest magnitude so far, updated in place.
    winner : numpy.ndarray of int64, shape (n,)
        Index of the source holding it, updated in place.
    """
    for i in range(spec.shape[0]):
        magnitude = np.sqrt(spec[i].real * spec[i].real + spec[i].imag * spec[i].imag)
        if index == 0 or magnitude > loudest[i]:
            loudest[i] = magnitude
            winner[i] = index


@numba.njit(cache=True)
def one_hot(winner, index, out):
    """Write ``(winner == index)`` as float64 into ``out`` (both shape (n,))."""
    for i in range(winner.shape[0]):
        out[i] = 1.0 if winner[i] == index else 0.0


@numba.njit(cache=True)
def magnitude_terms(spec, power, out, total):
    """Write ``|spec| ** power`` (power 1 or 2) into ``out`` and add it to ``total``.

    Parameters
    ----------
    spec : numpy.ndarray of complex, shape (n,)
    power : int
        1 or 2.
    out : numpy.ndarray of float64, shape (n,)
        Receives the terms.
    total : numpy.ndarray of float64, shape (n,)
        Running sum over sources, updated in place.
    """
    for i in range(spec.shape[0]):
        value = spec[i].real * spec[i].real + spec[i].imag * spec[i].imag
        if power == 1:
            value = np.sqrt(value)
        out[i] = value
        total[i] += value


@numba.njit(cache=True)
def phase_sensitive_terms(spec, mix, clip_to_mixture, out, total):
    """Write ``|S| cos(angle S - angle X)`` into ``out`` and add it to ``total``.

    Computed as ``Re(S conj X) / |X|``; where ``X == 0`` its angle is taken as 0, so the
    term is ``Re(S)`` (as ``numpy.angle`` gives).

    Parameters
    ----------
    spec : numpy.ndarray of complex, shape (n,)
        Source STFT ``S``.
    mix : numpy.ndarray of complex, shape (n,)
        Mixture STFT ``X``.
    clip_to_mixture : bool
        Clip each term to ``[0, |X|]`` (nussl's truncated PSA).
    out : numpy.ndarray of float64, shape (n,)
        Receives the terms.
    total : numpy.ndarray of float64, shape (n,)
        Running sum over sources, updated in place.
    """
    for i in range(spec.shape[0]):
        mix_magnitude = np.sqrt(mix[i].real * mix[i].real + mix[i].imag * mix[i].imag)
        if mix_magnitude > 0.0:
            value = (spec[i].real * mix[i].real + spec[i].imag * mix[i].imag) / mix_magnitude
        else:
            value = spec[i].real
        if clip_to_mixture:
            value = min(max(value, 0.0), mix_magnitude)
        out[i] = value
        total[i] += value


@numba.njit(cache=True)
def normalize_terms(terms, denominator, offset, clip):
    """Divide source terms by a denominator in place: ``terms / (denominator + offset)``.

    Where ``denominator + offset == 0`` the result is 0 (the mixture is silent there, so
    the estimate is 0 whatever the mask).

    Parameters
    ----------
    terms : numpy.ndarray of float64, shape (n,)
        One source's terms, overwritten by its mask.
    denominator : numpy.ndarray of float64, shape (n,)
        E.g. the sum of all sources' terms, or ``|X| ** power``.
    offset : float
        Constant added to the denominator (nussl's 1e-8, or 0).
    clip : bool
        Clip the result to [0, 1].

    Returns
    -------
    (float, float)
        Minimum and maximum of the result.
    """
    low = np.inf
    high = -np.inf
    for i in range(terms.shape[0]):
        d = denominator[i] + offset
        value = terms[i] / d if d != 0.0 else 0.0
        if clip:
            value = min(max(value, 0.0), 1.0)
        terms[i] = value
        low = min(low, value)
        high = max(high, value)
    return low, high


@numba.njit(cache=True)
def masked_spectrum(spec, mask, out):
    """Write ``spec * mask`` (complex times real or boolean) into ``out``; all shape (n,)."""
    for i in range(spec.shape[0]):
        out[i] = spec[i] * mask[i]


@numba.njit(cache=True, error_model="numpy")
def alpha_wiener(models, alpha, out):
    """alpha-Wiener masks over sources: ``out[s] = models[s]**alpha / sum_j models[j]**alpha``.

    Each bin is first divided by its largest model value, so large ``alpha`` cannot
    overflow. Where every model is zero the bin is shared equally (``1 / S``), so the masks
    always sum to one (Liutkus & Badeau 2015; alpha = 1 is the ratio of magnitudes, 2 the
    classic power-ratio Wiener gain).

    Parameters
    ----------
    models : numpy.ndarray of float64, shape (S, n)
        Nonnegative magnitude models of the S sources (e.g. summed NMF components), flattened.
    alpha : float
        Positive exponent.
    out : numpy.ndarray of float64, shape (S, n)
        Masks, written in place (may be ``models`` itself).
    """
    S, n = models.shape
    for i in range(n):
        top = 0.0
        for s in range(S):
            top = max(top, models[s, i])
        if not top > 0.0:
            for s in range(S):
                out[s, i] = 1.0 / S
            continue
        total = 0.0
        for s in range(S):
            r = models[s, i] / top
            if alpha == 1.0:
                v = r
            elif alpha == 2.0:
                v = r * r
            elif r > 0.0:
                v = math.exp(alpha * math.log(r))
            else:
                v = 0.0
            out[s, i] = v
            total += v
        for s in range(S):
            out[s, i] = out[s, i] / total
