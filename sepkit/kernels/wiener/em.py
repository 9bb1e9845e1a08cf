"""The simplified multichannel EM of Wiener filtering (Nugraha, Liutkus & Vincent 2016).

The EM is separable over frequency (the statistics of bin ``f`` depend on bin ``f``
only), so every kernel runs over frequency (``prange``, or for :func:`wiener_em` a range
of bins run on threads by :func:`sepkit.kernels.threaded.run_threaded`) and, for each bin,
does the whole job (initial estimate, every EM iteration) on a block that stays in cache.
Numerical conventions follow norbert 0.2.1, so the results agree with
``norbert.expectation_maximization`` and ``norbert.wiener`` to rounding error. Layouts
are those of :mod:`sepkit.kernels.wiener`.
"""

import numba
import numpy as np
from numba import prange

from .masking import _logistic, _magnitude_phase_bin, _mixture_bin, _softmask_bin

__all__ = ["em_refine", "wiener_em", "local_gaussian_model"]

@numba.njit(cache=True)
def _invert(cxx, eps, out):
    """Invert the loaded mixture covariance ``cxx`` (C x C) into ``out``; False if singular.

    C = 1: ``1 / (cxx + eps)`` and C = 2: closed form, as norbert; C > 2: Gauss-Jordan
    elimination with partial pivoting (``cxx`` is overwritten).
    """
    n = cxx.shape[0]
    if n == 1:
        d = cxx[0, 0] + eps
        if d == 0.0:
            return False
        out[0, 0] = 1.0 / d
        return np.isfinite(out[0, 0].real) and np.isfinite(out[0, 0].imag)
    if n == 2:
        det = cxx[0, 0] * cxx[1, 1] - cxx[0, 1] * cxx[1, 0]
        if det == 0.0:
            return False
        inv_det = 1.0 / det
        if not (np.isfinite(inv_det.real) and np.isfinite(inv_det.imag)):
            return False
        out[0, 0] = inv_det * cxx[1, 1]
        out[1, 0] = -inv_det * cxx[1, 0]
        out[0, 1] = -inv_det * cxx[0, 1]
        out[1, 1] = inv_det * cxx[0, 0]
        return True
    for a in range(n):
        for b in range(n):
            out[a, b] = 1.0 if a == b else 0.0
    for col in range(n):
        pivot = col
        best = abs(cxx[col, col])
        for row in range(col + 1, n):
            size = abs(cxx[row, col])
            if size > best:
                best = size
                pivot = row
        if best == 0.0 or not np.isfinite(best):
            return False
        if pivot != col:
            for b in range(n):
                tmp = cxx[col, b]
                cxx[col, b] = cxx[pivot, b]
                cxx[pivot, b] = tmp
                tmp = out[col, b]
                out[col, b] = out[pivot, b]
                out[pivot, b] = tmp
        inv_pivot = 1.0 / cxx[col, col]
        for b in range(n):
            cxx[col, b] *= inv_pivot
            out[col, b] *= inv_pivot
        for row in range(n):
            if row != col:
                factor = cxx[row, col]
                if factor != 0.0:
                    for b in range(n):
                        cxx[row, b] -= factor * cxx[col, b]
                        out[row, b] -= factor * out[col, b]
    for a in range(n):
        for b in range(n):
            if not (np.isfinite(out[a, b].real) and np.isfinite(out[a, b].imag)):
                return False
    return True


@numba.njit(cache=True)
def _compressed_scales(gains, compress, slope, renormalize, eps, scales):
    """Factors ``h_j / (eps + g_j)`` that compress filter gains ``g_j`` (module docstring)."""
    n_sources = gains.shape[0]
    gain_sum = 0.0
    logit_sum = 0.0
    for j in range(n_sources):
        gain_sum += gains[j]
        scales[j] = _logistic(gains[j], compress, slope)
        logit_sum += scales[j]
    factor = 1.0
    if renormalize:
        factor = gain_sum / (eps + logit_sum) if eps + logit_sum > 0.0 else 0.0
    for j in range(n_sources):
        if gains[j] > 0.0:
            scales[j] = scales[j] * factor / (eps + gains[j])
        else:  # a zero gain: the filter is zero and stays so
            scales[j] = 0.0


@numba.njit(cache=True)
def _source_statistics(y, eps, psd, cov):
    """PSDs ``psd[t, j] = mean_c |y[t, c, j]|^2`` and covariances ``cov[j] = R_j`` of one bin."""
    n_frames, n_channels, n_sources = y.shape
    for j in range(n_sources):
        for a in range(n_channels):
            for b in range(n_channels):
                cov[j, a, b] = 0.0
        weight = eps
        for t in range(n_frames):
            power = 0.0
            for c in range(n_channels):
                yc = y[t, c, j]
                power += yc.real * yc.real + yc.imag * yc.imag
            power /= n_channels
            psd[t, j] = power
            weight += power
            for a in range(n_channels):
                ya = y[t, a, j]
                for b in range(n_channels):
                    cov[j, a, b] += ya * np.conj(y[t, b, j])
        if weight > 0.0:
            for a in range(n_channels):
                for b in range(n_channels):
                    cov[j, a, b] /= weight


@numba.njit(cache=True)
def _em_bin_mono(y, x, iterations, eps, compress, slope, renormalize):
    """:func:`_em_bin` for one channel: every quantity is a real gain on ``x``."""
    n_frames, _, n_sources = y.shape
    psd = np.empty((n_frames, n_sources))
    spatial = np.empty(n_sources)
    gains = np.empty(n_sources)
    scales = np.ones(n_sources)
    loading = np.sqrt(eps)
    n_bad = 0
    for it in range(iterations):
        squash = compress > 0.0 and it == iterations - 1
        for j in range(n_sources):
            weight = eps
            acc = 0.0
            for t in range(n_frames):
                yc = y[t, 0, j]
                power = yc.real * yc.real + yc.imag * yc.imag
                psd[t, j] = power
                weight += power
                acc += power
            spatial[j] = acc / weight if weight > 0.0 else 0.0
        for t in range(n_frames):
            total = 0.0
            cxx = 0.0
            for j in range(n_sources):
                total += psd[t, j]
                cxx += psd[t, j] * spatial[j]
            denominator = cxx + loading + eps
            if total == 0.0 or denominator == 0.0:
                if total != 0.0:
                    n_bad += 1
                for j in range(n_sources):
                    y[t, 0, j] = 0.0
                continue
            inv = 1.0 / denominator
            z = inv * x[t, 0]
            if squash:
                for j in range(n_sources):
                    gains[j] = psd[t, j] * spatial[j] * inv
                _compressed_scales(gains, compress, slope, renormalize, eps, scales)
            for j in range(n_sources):
                y[t, 0, j] = (psd[t, j] * scales[j] * spatial[j]) * z
    return n_bad


@numba.njit(cache=True)
def _em_bin_stereo(y, x, iterations, eps, compress, slope, renormalize):
    """:func:`_em_bin` for two channels, with the Hermitian 2 x 2 algebra written out."""
    n_frames, _, n_sources = y.shape
    psd = np.empty((n_frames, n_sources))
    r00 = np.empty(n_sources)
    r11 = np.empty(n_sources)
    r01 = np.empty(n_sources, dtype=np.complex128)
    gains = np.empty(n_sources)
    scales = np.ones(n_sources)
    loading = np.sqrt(eps)
    n_bad = 0
    for it in range(iterations):
        squash = compress > 0.0 and it == iterations - 1
        for j in range(n_sources):
            weight = eps
            a00 = 0.0
            a11 = 0.0
            a01 = 0.0j
            for t in range(n_frames):
                y0 = y[t, 0, j]
                y1 = y[t, 1, j]
                p0 = y0.real * y0.real + y0.imag * y0.imag
                p1 = y1.real * y1.real + y1.imag * y1.imag
                power = (p0 + p1) / 2
                psd[t, j] = power
                weight += power
                a00 += p0
                a11 += p1
                a01 += y0 * np.conj(y1)
            if weight > 0.0:
                r00[j] = a00 / weight
                r11[j] = a11 / weight
                r01[j] = a01 / weight
            else:
                r00[j] = 0.0
                r11[j] = 0.0
                r01[j] = 0.0
        for t in range(n_frames):
            total = 0.0
            c00 = 0.0
            c11 = 0.0
            c01 = 0.0j
            for j in range(n_sources):
                vj = psd[t, j]
                total += vj
                c00 += vj * r00[j]
                c11 += vj * r11[j]
                c01 += vj * r01[j]
            if total == 0.0:
                for j in range(n_sources):
                    y[t, 0, j] = 0.0
                    y[t, 1, j] = 0.0
                continue
            c00 += loading
            c11 += loading
            det = c00 * c11 - (c01.real * c01.real + c01.imag * c01.imag)
            if det == 0.0 or not np.isfinite(1.0 / det):
                n_bad += 1
                for j in range(n_sources):
                    y[t, 0, j] = 0.0
                    y[t, 1, j] = 0.0
                continue
            inv_det = 1.0 / det
            i00 = inv_det * c11
            i11 = inv_det * c00
            i01 = -inv_det * c01
            i10 = np.conj(i01)
            x0 = x[t, 0]
            x1 = x[t, 1]
            z0 = i00 * x0 + i01 * x1
            z1 = i10 * x0 + i11 * x1
            if squash:
                for j in range(n_sources):
                    # tr(R_j Cxx^-1) = r00 i00 + r11 i11 + 2 Re(r01 i10)
                    trace = r00[j] * i00 + r11[j] * i11 + 2.0 * (r01[j] * i10).real
                    gains[j] = psd[t, j] * trace / 2
                _compressed_scales(gains, compress, slope, renormalize, eps, scales)
            for j in range(n_sources):
                w = psd[t, j] * scales[j]
                rj = r01[j]
                y[t, 0, j] = w * (r00[j] * z0 + rj * z1)
                y[t, 1, j] = w * (np.conj(rj) * z0 + r11[j] * z1)
    return n_bad


@numba.njit(cache=True)
def _em_bin(y, x, iterations, eps, compress, slope, renormalize):
    """Run ``iterations`` EM iterations on one frequency bin, in place on ``y``.

    y : (n_frames, n_channels, n_sources) complex128, current estimates, overwritten;
    x : (n_frames, n_channels) complex128 mixture. Returns the number of frames whose
    mixture covariance could not be inverted (their estimates are set to zero). One and
    two channels take specialised paths; more channels a small Gauss-Jordan inverse.
    """
    n_frames, n_channels, n_sources = y.shape
    if n_channels == 1:
        return _em_bin_mono(y, x, iterations, eps, compress, slope, renormalize)
    if n_channels == 2:
        return _em_bin_stereo(y, x, iterations, eps, compress, slope, renormalize)
    psd = np.empty((n_frames, n_sources))
    cov = np.empty((n_sources, n_channels, n_channels), dtype=np.complex128)
    cxx = np.empty((n_channels, n_channels), dtype=np.complex128)
    inv = np.empty((n_channels, n_channels), dtype=np.complex128)
    z = np.empty(n_channels, dtype=np.complex128)
    gains = np.empty(n_sources)
    scales = np.ones(n_sources)
    loading = np.sqrt(eps)
    n_bad = 0
    for it in range(iterations):
        squash = compress > 0.0 and it == iterations - 1
        # 1. statistics: PSD v_j(t) (channel mean of |y_j|^2), spatial covariance R_j
        _source_statistics(y, eps, psd, cov)
        # 2.-3. per frame: Cxx = sum_j v_j R_j + sqrt(eps) I, its inverse, y_j = v_j R_j Cxx^-1 x
        for t in range(n_frames):
            total = 0.0
            for j in range(n_sources):
                total += psd[t, j]
            if total == 0.0:  # every source silent: every gain is zero
                for c in range(n_channels):
                    for j in range(n_sources):
                        y[t, c, j] = 0.0
                continue
            for a in range(n_channels):
                for b in range(n_channels):
                    cxx[a, b] = 0.0
            for j in range(n_sources):
                vj = psd[t, j]
                for a in range(n_channels):
                    for b in range(n_channels):
                        cxx[a, b] += vj * cov[j, a, b]
            for a in range(n_channels):
                cxx[a, a] += loading
            if not _invert(cxx, eps, inv):
                n_bad += 1
                for c in range(n_channels):
                    for j in range(n_sources):
                        y[t, c, j] = 0.0
                continue
            for a in range(n_channels):
                acc = 0.0j
                for b in range(n_channels):
                    acc += inv[a, b] * x[t, b]
                z[a] = acc
            if squash:
                for j in range(n_sources):
                    trace = 0.0
                    for a in range(n_channels):
                        for b in range(n_channels):
                            trace += (cov[j, a, b] * inv[b, a]).real
                    gains[j] = psd[t, j] * trace / n_channels
                _compressed_scales(gains, compress, slope, renormalize, eps, scales)
            for j in range(n_sources):
                weight_j = psd[t, j] * scales[j]
                for a in range(n_channels):
                    acc = 0.0j
                    for b in range(n_channels):
                        acc += cov[j, a, b] * z[b]
                    y[t, a, j] = weight_j * acc
    return n_bad


@numba.njit(cache=True, parallel=True)
def em_refine(y, x, iterations, eps, compress, slope, renormalize):
    """Refine source estimates with the simplified multichannel EM, in place.

    Each iteration re-estimates, per bin ``f``, the PSDs
    ``v_j(t) = mean_c |y_j(t, c)|^2`` and spatial covariances
    ``R_j = sum_t y_j y_j^H / (eps + sum_t v_j)``, then filters
    ``y_j(t) = v_j(t) R_j (sum_k v_k(t) R_k + sqrt(eps) I)^-1 x(t)`` (for one channel the
    inverse is ``1 / (Cxx + eps)``). No rescaling is done here: scale ``x`` and ``y``
    beforehand as :func:`wiener_em` does.

    Parameters
    ----------
    y : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
        Initial estimates, C-contiguous; overwritten with the refined ones.
    x : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels)
        Mixture STFT (any memory order).
    iterations : int
        Number of EM iterations (>= 0).
    eps : float
        Regularisation (>= 0): ``sqrt(eps)`` loads the covariance diagonal.
    compress, slope, renormalize : float, float, bool
        Logistic compression of the gain of the last iteration's filter (module
        docstring); ``compress <= 0``: none.

    Returns
    -------
    numpy.ndarray of int64, shape (n_freq,)
        Per bin, the number of frames whose covariance was singular (only possible with
        ``eps == 0``); their estimates are zero.
    """
    n_freq, n_frames, n_channels = x.shape
    n_bad = np.zeros(n_freq, dtype=np.int64)
    for f in prange(n_freq):
        xf = _mixture_bin(x, f)
        n_bad[f] = _em_bin(y[f], xf, iterations, eps, compress, slope, renormalize)
    return n_bad


@numba.njit(cache=True, nogil=True)
def wiener_em(init, x, magnitude_init, iterations, eps, max_abs, compress, slope, renormalize, y, n_bad, start,
              stop):
    """Initial estimates and EM refinement fused, for bins ``start`` to ``stop - 1``, one at a time.

    For each bin: the initial estimate (soft mask of ``init``, or ``init`` as magnitudes
    with the mixture phase), then, when ``iterations > 0``, the estimates and the mixture
    are divided by ``max_abs``, refined by :func:`em_refine`'s iterations and multiplied
    back -- the arithmetic of ``norbert.wiener``, without ever storing a scaled mixture.

    Parameters
    ----------
    init : numpy.ndarray of float64, shape (n_freq, n_frames, n_model_channels, n_sources)
        Nonnegative models (soft-mask start) or magnitudes (``magnitude_init``);
        ``n_model_channels`` is 1 or ``n_channels``.
    x : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels)
        Mixture STFT (any memory order), read only.
    magnitude_init : bool
        Start from ``init * exp(i angle(x))`` instead of the soft mask.
    iterations : int
        EM iterations (>= 0).
    eps : float
        Mask denominator constant and EM regularisation (>= 0).
    max_abs : float
        Rescaling of the EM, ``max(1, max|x| / 10)`` in norbert.
    compress, slope, renormalize : float, float, bool
        Logistic compression of the final filter: of the soft mask when
        ``iterations == 0``, else of the last EM filter's gain; ``compress <= 0``: none.
    y : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
        Output, C-contiguous, overwritten.
    n_bad : numpy.ndarray of int64, shape (n_freq,)
        Output: per bin, the number of frames with a singular covariance (see
        :func:`em_refine`).
    start, stop : int
        The bins to process. Serial and ``nogil``: run on several threads by
        :func:`sepkit.kernels.threaded.run_threaded` (a ``prange`` here cost 4x the compile
        time).
    """
    n_frames, n_channels = x.shape[1], x.shape[2]
    divisor = max_abs if iterations > 0 else 1.0
    init_compress = compress if iterations == 0 else -1.0
    for f in range(start, stop):
        n_bad[f] = 0
        xf = _mixture_bin(x, f)
        yf = y[f]
        if magnitude_init:
            _magnitude_phase_bin(init[f], xf, divisor, yf)
        else:
            _softmask_bin(init[f], xf, eps, divisor, init_compress, slope, renormalize, yf)
        if iterations > 0:
            for t in range(n_frames):
                for c in range(n_channels):
                    xf[t, c] = xf[t, c] / max_abs
            n_bad[f] = _em_bin(yf, xf, iterations, eps, compress, slope, renormalize)
            for t in range(n_frames):
                for c in range(n_channels):
                    for j in range(yf.shape[2]):
                        yf[t, c, j] = yf[t, c, j] * max_abs
    return n_bad




@numba.njit(cache=True, parallel=True)
def local_gaussian_model(y, eps, psd, cov):
    """Local Gaussian model of every source: PSDs and spatial covariance matrices.

    Per bin ``f`` and source ``j``: ``psd[f, t, j] = mean_c |y[f, t, c, j]|^2`` and
    ``cov[f, j] = sum_t y_j(t) y_j(t)^H / (eps + sum_t psd[f, t, j])`` (``R_j`` left at
    its unnormalised sum where that weight is 0), the statistics of one iteration of
    :func:`em_refine`.

    Parameters
    ----------
    y : numpy.ndarray of complex128, shape (n_freq, n_frames, n_channels, n_sources)
        Source STFT estimates (any memory order), read only.
    eps : float
        Regularisation (>= 0) added to the weight of each covariance.
    psd : numpy.ndarray of float64, shape (n_freq, n_frames, n_sources)
        Output, overwritten.
    cov : numpy.ndarray of complex128, shape (n_freq, n_sources, n_channels, n_channels)
        Output, overwritten.
    """
    n_freq, n_frames, n_channels, n_sources = y.shape
    for f in prange(n_freq):
        yf = np.empty((n_frames, n_channels, n_sources), dtype=np.complex128)
        for t in range(n_frames):
            for c in range(n_channels):
                for j in range(n_sources):
                    yf[t, c, j] = y[f, t, c, j]
        _source_statistics(yf, eps, psd[f], cov[f])
