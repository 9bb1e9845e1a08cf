"""Kernels of the spatial separators: DUET's weighted histogram and masks, IPD/ILD features.

- :func:`duet_histogram` fuses, per time-frequency point, the inter-channel ratio, the
  symmetric attenuation ``alpha = a - 1/a`` and the delay ``-angle(R) / (factor * omega)``,
  their weight ``(|X0| |X1|)^p |omega|^q`` and its accumulation into a 2-D histogram,
  binned as :func:`numpy.histogram2d` bins (half-open on the right), so no (F, T) array of
  attenuations, delays or weights is materialised.
- :func:`duet_masks` gives each point to the peak of smallest maximum-likelihood score
  ``|a_k exp(-j omega d_k) X0 - X1|^2 / (1 + a_k^2)``; with
  ``compat`` it reproduces nussl 1.1.9's running-minimum construction (wrong for 3 or
  more peaks, see :class:`sepkit.separation.spatial.duet.Duet`).

All serial: on two shared cores a parallel region cost more compile time than it saved.

Arrays of one channel are C-contiguous ``(n_frames, n_freq)`` (sepkit's STFT layout,
``stft[:, :, c].T``). Nothing from sepkit is imported.
"""

import math

import numba
import numpy as np

__all__ = ["duet_histogram", "duet_masks", "bin_index"]

_EPS = 1e-16  # nussl's constants.EPSILON, added to both channels before their ratio


@numba.njit(cache=True)
def bin_index(x, edges):
    """Bin of ``x`` among ``edges`` (increasing), as ``searchsorted(edges, x, 'right') - 1``; -1 if outside."""
    n = edges.size - 1
    lo, hi = edges[0], edges[n]
    if not (lo <= x < hi):
        return -1
    i = int((x - lo) / (hi - lo) * n)
    if i > n - 1:
        i = n - 1
    while i < n - 1 and x >= edges[i + 1]:
        i += 1
    while i > 0 and x < edges[i]:
        i -= 1
    return i


@numba.njit(cache=True)
def duet_histogram(X0, X1, omega, scale, delay_factor, p, q, att_edges, delay_edges, hist):
    """Accumulate DUET's weighted attenuation-delay histogram.

    Parameters
    ----------
    X0, X1 : numpy.ndarray of complex128, shape (n_frames, n_freq)
        STFT of the two channels.
    omega : numpy.ndarray of float64, shape (n_freq,)
        Frequency of each bin in radians per sample (nussl adds 1e-16, so bin 0 is not 0).
    scale : float
        Factor applied to both STFTs first (nussl's STFT scaling; it moves the 1e-16).
    delay_factor : float
        The delay is ``-angle(R) / (delay_factor * omega)``: 1 gives samples, ``2 pi`` nussl's units.
    p, q : float
        Weight exponents: ``(|X0| |X1|)^p |omega|^q``.
    att_edges, delay_edges : numpy.ndarray of float64
        Bin edges (increasing, evenly spaced); a point counts when its attenuation lies
        strictly inside the first and last attenuation edge, and its delay likewise.
    hist : numpy.ndarray of float64, shape (att_edges.size - 1, delay_edges.size - 1)
        Accumulated in place (zero it first).
    """
    n_frames, n_freq = X0.shape
    a_lo, a_hi = att_edges[0], att_edges[att_edges.size - 1]
    d_lo, d_hi = delay_edges[0], delay_edges[delay_edges.size - 1]
    for t in range(n_frames):
        for f in range(n_freq):
            x0 = X0[t, f] * scale
            x1 = X1[t, f] * scale
            r0, i0 = x0.real + _EPS, x0.imag
            r1, i1 = x1.real + _EPS, x1.imag
            a = math.sqrt((r1 * r1 + i1 * i1) / (r0 * r0 + i0 * i0))  # |R| with R = (x1 + eps) / (x0 + eps)
            alpha = a - 1.0 / a
            if not (a_lo < alpha < a_hi):
                continue
            # angle(R) = angle((x1 + eps) conj(x0 + eps)), without the complex division
            delay = -math.atan2(i1 * r0 - r1 * i0, r1 * r0 + i1 * i0) / (delay_factor * omega[f])
            if not (d_lo < delay < d_hi):
                continue
            i = bin_index(alpha, att_edges)
            j = bin_index(delay, delay_edges)
            if i < 0 or j < 0:
                continue
            w = math.sqrt((x0.real * x0.real + x0.imag * x0.imag) * (x1.real * x1.real + x1.imag * x1.imag))
            if p == 0.5:
                w = math.sqrt(w)
            elif p != 1.0:
                w = w**p
            if q != 0.0:
                w *= abs(omega[f]) ** q
            hist[i, j] += w


@numba.njit(cache=True)
def duet_masks(X0, X1, omega, attenuation, delay, compat, out):
    """DUET's binary masks: each point to the peak of smallest maximum-likelihood score.

    Parameters
    ----------
    X0, X1 : numpy.ndarray of complex128, shape (n_frames, n_freq)
    omega : numpy.ndarray of float64, shape (n_freq,)
        Radians per sample.
    attenuation : numpy.ndarray of float64, shape (K,)
        Each peak's amplitude ratio ``a_k > 0``.
    delay : numpy.ndarray of float64, shape (K,)
        Each peak's delay, in the unit the phase ``exp(-j omega d_k)`` takes it (samples).
    compat : bool
        False: mask k holds the points whose score is smallest at k (ties to the lowest k),
        a partition. True: nussl 1.1.9's masks, where mask k >= 1 holds the points whose
        score at k is below the running minimum over 0..k-1, and mask 0 is the complement
        of the exclusive-or of the others (equal to the partition for K = 2).
    out : numpy.ndarray of bool, shape (K, n_frames, n_freq)
    """
    n_frames, n_freq = X0.shape
    K = attenuation.size
    model = np.empty((K, n_freq), dtype=np.complex128)  # a_k exp(-j omega d_k)
    norm = np.empty(K)
    for k in range(K):
        a = attenuation[k]
        norm[k] = 1.0 / (1.0 + a * a)
        for f in range(n_freq):
            phase = omega[f] * delay[k]
            model[k, f] = a * complex(math.cos(phase), -math.sin(phase))
    for t in range(n_frames):
        for f in range(n_freq):
            x0 = X0[t, f]
            x1 = X1[t, f]
            best = np.inf
            winner = 0
            parity = False
            for k in range(K):
                z = model[k, f] * x0 - x1
                score = (z.real * z.real + z.imag * z.imag) * norm[k]
                below = score < best
                if below:
                    best = score
                    winner = k
                if compat and k > 0:
                    out[k, t, f] = below
                    parity = parity != below
            if compat:
                out[0, t, f] = not parity
            else:
                for k in range(K):
                    out[k, t, f] = k == winner
