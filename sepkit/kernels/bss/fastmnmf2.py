"""Kernels of FastMNMF2: joint diagonalisation, diagonal spatial model and NMF source spectra.

FastMNMF2 (Sekiguchi, Bando, Nugraha, Yoshii & Kawahara, IEEE/ACM TASLP 28, 2020) models
the mixture STFT ``x_ft`` (``M`` channels) as a zero-mean complex Gaussian with covariance
``sum_n lam_nft G_nf`` where

- ``lam_nft = sum_k W_nfk H_nkt`` is source ``n``'s power spectrum, an NMF of ``K``
  components;
- ``G_nf = Q_f^-1 diag(g_n) Q_f^-H``: every source's spatial covariance is diagonalised by
  the same matrix ``Q_f`` per frequency (the joint diagonaliser), with a diagonal
  ``g_n`` of ``M`` nonnegative weights shared by all frequencies (the "2" of FastMNMF2).

In the diagonalised domain the powers ``qxp_ftm = |(Q_f x_ft)_m|^2`` have the variances
``y_ftm = sum_n lam_nft g_nm``, and one iteration updates, in this order (majorisation-
minimisation of the negative log-likelihood, the updates of pyroomacoustics 0.10.1's
``pra.bss.fastmnmf2``):

1. ``W <- W sqrt(sum_t H a / sum_t H b)`` with ``a_nft = sum_m g_nm qxp / y^2`` and
   ``b_nft = sum_m g_nm / y`` (:func:`update_w`, which computes the ratios as
   :func:`nmf_ratios` does);
2. ``H <- H sqrt(sum_f W a / sum_f W b)`` with the same ``a``, ``b`` (``accelerate``) or
   ``a``, ``b`` recomputed from the new ``W`` (:func:`update_h`);
3. ``lam = W H + eps``, ``g <- g sqrt(sum_ft lam qxp / y^2 / sum_ft lam / y)``
   (:func:`lambda_g_stats`);
4. for each row ``m`` of every ``Q_f`` in turn, iterative projection:
   ``V_fm = mean_t x x^H / y_ftm``, ``u = (Q_f V_fm)^-1 e_m``,
   ``u <- u / sqrt(u^H V_fm u)``, row ``m`` of ``Q_f`` = ``u^H`` (:func:`update_q`);
5. every ``normalize_every`` iterations (the first included) a rescaling that leaves the
   model unchanged: ``Q_f`` to ``tr(Q_f Q_f^H) = M``, ``g_n`` to unit sum, the columns of
   ``W_n`` to unit sum (:func:`normalize`).

The separated images are the multichannel Wiener estimates
``s_nft = Q_f^-1 diag(lam_nft g_n / y'_ft) Q_f x_ft`` with ``y'_ftm = sum_n lam_nft g_nm``
(:func:`source_images`): they sum to ``x_ft`` exactly.

Layout (frequency first, sepkit's STFT convention; pyroomacoustics is frames first):

- ``x``: complex128 ``(n_freq, n_frames, n_chan)``, C-contiguous;
- ``q``: complex128 ``(n_freq, n_chan, n_chan)``; ``g``: float64 ``(n_src, n_chan)``;
- ``w``: float64 ``(n_src, n_freq, n_components)``; ``h``: float64 ``(n_src, n_components, n_frames)``;
- ``lam``, ``a``, ``b``: float64 ``(n_src, n_freq, n_frames)``;
- ``qxp``, ``y``: float64 ``(n_freq, n_chan, n_frames)``, and inside the iterations the
  mixture as two float64 arrays ``xr``, ``xi`` ``(n_freq, n_chan, n_frames)`` (its real and
  imaginary parts): channels before frames, so that every inner loop runs over contiguous
  frames and vectorises.

The kernels of every iteration (:func:`update_w`, :func:`update_h`, :func:`lambda_g_stats`,
:func:`update_q`) run serial ``nogil`` kernels over ranges of bins (:func:`update_h`: blocks
of frames) on threads (:func:`sepkit.kernels.threaded.run_threaded`; a ``prange`` cost several
times the compile time); those run once or every ``normalize_every`` iterations are serial.
Reductions over frequency are written per bin and summed in bin order, so results do not
depend on the number of threads. Only complex128 / float64 are compiled. The kernels import
nothing from sepkit but :mod:`sepkit.kernels.bss.ip` and :mod:`sepkit.kernels.threaded`;
:func:`fastmnmf2` is the plain-Python driver.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..threaded import run_threaded
from .ip import ip_update_row, solve_small

__all__ = [
    "EPS",
    "G_EPS",
    "fastmnmf2",
    "init_fastmnmf2",
    "lambda_g_stats",
    "nmf_ratios",
    "normalize",
    "refresh",
    "source_images",
    "update_h",
    "update_q",
    "update_w",
]

#: Floor added to the source spectra and to the variances (pyroomacoustics' value).
EPS = 1e-10
#: Initial weight of the channels a source does not own (pyroomacoustics' value).
G_EPS = 5e-2

_H_BLOCK = 256  # frames per block of the H numerators (the unit handed to a thread)
#: Reassociation lets the inner loops vectorise; no finite-math or reciprocal tricks. With
#: ``error_model="numpy"`` the divisions are not guarded (every denominator here is floored).
_FASTMATH = {"reassoc", "contract", "nsz"}


# -- small dense linear algebra ------------------------------------------------------------------------

@numba.njit(cache=True)
def _inverse(a, work, rhs, col, out):
    """``out = a^-1`` for a complex (M, M) matrix, one unit right-hand side at a time.

    Returns False (``out`` meaningless) for a singular ``a``.
    """
    n = a.shape[0]
    for m in range(n):
        for i in range(n):
            for j in range(n):
                work[i, j] = a[i, j]
            rhs[i] = 1.0 if i == m else 0.0
        if not solve_small(work, rhs, col):
            return False
        for i in range(n):
            out[i, m] = col[i]
    return True


# -- NMF of the source spectra ------------------------------------------------------------------------

@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _ratios_bin(g, qxp, y, f, a, b):
    """``a[:, f, :]`` and ``b[:, f, :]`` of :func:`nmf_ratios`."""
    n_src, n_chan = g.shape
    n_frames = qxp.shape[2]
    for n in range(n_src):
        an = a[n, f]
        bn = b[n, f]
        an[:] = 0.0
        bn[:] = 0.0
        for m in range(n_chan):
            gnm = g[n, m]
            ym = y[f, m]
            qm = qxp[f, m]
            for t in range(n_frames):
                inv = 1.0 / ym[t]
                an[t] += gnm * qm[t] * inv * inv
                bn[t] += gnm * inv


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def nmf_ratios(g, qxp, y, a, b):
    """The NMF ratios: ``a_nft = sum_m g_nm qxp_ftm / y_ftm^2``, ``b_nft = sum_m g_nm / y_ftm``.

    Parameters
    ----------
    g : float64 (n_src, n_chan)
    qxp, y : float64 (n_freq, n_chan, n_frames)
    a, b : float64 (n_src, n_freq, n_frames)
        Written.
    """
    for f in range(qxp.shape[0]):
        _ratios_bin(g, qxp, y, f, a, b)


def update_w(g, qxp, y, h, w, a, b, n_threads=None):
    """The NMF ratios (:func:`nmf_ratios`), then ``W_nfk <- W_nfk sqrt(sum_t H_nkt a_nft / sum_t H_nkt b_nft)``.

    Parameters
    ----------
    g : float64 (n_src, n_chan)
    qxp, y : float64 (n_freq, n_chan, n_frames)
    h : float64 (n_src, n_components, n_frames)
    w : float64 (n_src, n_freq, n_components)
        Updated in place.
    a, b : float64 (n_src, n_freq, n_frames)
        Written: the ratios (for :func:`update_h`).
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).
    """
    run_threaded(_update_w_bins, w.shape[1], g, qxp, y, h, w, a, b, n_threads=n_threads)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _update_w_bins(g, qxp, y, h, w, a, b, start, stop):
    """:func:`update_w` for the bins ``[start, stop)``."""
    n_src, _, n_comp = w.shape
    n_frames = h.shape[2]
    for f in range(start, stop):
        _ratios_bin(g, qxp, y, f, a, b)
        for n in range(n_src):
            af = a[n, f]
            bf = b[n, f]
            for k in range(n_comp):
                hk = h[n, k]
                num = 0.0
                den = 0.0
                for t in range(n_frames):
                    num += hk[t] * af[t]
                    den += hk[t] * bf[t]
                w[n, f, k] *= math.sqrt(num / den)


def update_h(a, b, w, h, n_threads=None):
    """``H_nkt <- H_nkt sqrt(sum_f W_nfk a_nft / sum_f W_nfk b_nft)``, in place.

    Parameters
    ----------
    a, b : float64 (n_src, n_freq, n_frames)
    w : float64 (n_src, n_freq, n_components)
    h : float64 (n_src, n_components, n_frames)
        Updated in place.
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).
    """
    n_blocks = (h.shape[2] + _H_BLOCK - 1) // _H_BLOCK
    run_threaded(_update_h_blocks, n_blocks, a, b, w, h, n_threads=n_threads)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _update_h_blocks(a, b, w, h, start, stop):
    """:func:`update_h` for the blocks of ``_H_BLOCK`` frames ``[start, stop)``."""
    n_src, n_freq, n_comp = w.shape
    n_frames = h.shape[2]
    for blk in range(start, stop):
        t0 = blk * _H_BLOCK
        size = min(_H_BLOCK, n_frames - t0)
        num = np.empty(size)
        den = np.empty(size)
        for n in range(n_src):
            for k in range(n_comp):
                num[:] = 0.0
                den[:] = 0.0
                for f in range(n_freq):
                    wk = w[n, f, k]
                    af = a[n, f, t0:t0 + size]
                    bf = b[n, f, t0:t0 + size]
                    for t in range(size):
                        num[t] += wk * af[t]
                        den[t] += wk * bf[t]
                hk = h[n, k, t0:t0 + size]
                for t in range(size):
                    hk[t] *= math.sqrt(num[t] / den[t])


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _lambda_bin(w, h, eps, f, lam):
    """``lam[:, f, :] = W[:, f, :] H + eps``."""
    n_src, _, n_comp = w.shape
    n_frames = h.shape[2]
    for n in range(n_src):
        for t in range(n_frames):
            lam[n, f, t] = eps
        for k in range(n_comp):
            wk = w[n, f, k]
            for t in range(n_frames):
                lam[n, f, t] += wk * h[n, k, t]


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _variance_bin(lam, g, eps, f, y):
    """``y[f, m, t] = sum_n lam[n, f, t] g[n, m] + eps``."""
    n_src, n_chan = g.shape
    n_frames = lam.shape[2]
    for m in range(n_chan):
        ym = y[f, m]
        ym[:] = eps
        for n in range(n_src):
            gnm = g[n, m]
            ln = lam[n, f]
            for t in range(n_frames):
                ym[t] += gnm * ln[t]


def lambda_g_stats(w, h, g, qxp, eps, lam, y, stats, n_threads=None):
    """Source spectra and the per-bin sums of the ``g`` update.

    ``lam = W H + eps``, ``y = sum_n lam g + eps`` and
    ``stats[f, 0, n, m] = sum_t lam_nft qxp_fmt / y_fmt^2``,
    ``stats[f, 1, n, m] = sum_t lam_nft / y_fmt``.

    Parameters
    ----------
    w : float64 (n_src, n_freq, n_components)
    h : float64 (n_src, n_components, n_frames)
    g : float64 (n_src, n_chan)
    qxp : float64 (n_freq, n_chan, n_frames)
    eps : float
    lam : float64 (n_src, n_freq, n_frames)
        Written.
    y : float64 (n_freq, n_chan, n_frames)
        Written (the variances of the new spectra with the old ``g``).
    stats : float64 (n_freq, 2, n_src, n_chan)
        Written; the caller sums it over frequency.
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).
    """
    run_threaded(_lambda_g_stats_bins, qxp.shape[0], w, h, g, qxp, eps, lam, y, stats, n_threads=n_threads)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _lambda_g_stats_bins(w, h, g, qxp, eps, lam, y, stats, start, stop):
    """:func:`lambda_g_stats` for the bins ``[start, stop)``."""
    n_src, n_chan = g.shape
    n_frames = qxp.shape[2]
    for f in range(start, stop):
        _lambda_bin(w, h, eps, f, lam)
        _variance_bin(lam, g, eps, f, y)
        for m in range(n_chan):
            ym = y[f, m]
            qm = qxp[f, m]
            for n in range(n_src):
                ln = lam[n, f]
                s0 = 0.0
                s1 = 0.0
                for t in range(n_frames):
                    inv = 1.0 / ym[t]
                    s0 += ln[t] * qm[t] * inv * inv
                    s1 += ln[t] * inv
                stats[f, 0, n, m] = s0
                stats[f, 1, n, m] = s1


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _qx_power_bin(xr, xi, q, f, qxp, re, im):
    """``qxp[f, m, t] = |(Q_f x_ft)_m|^2`` (``re``, ``im``: work rows of n_frames)."""
    n_chan = q.shape[1]
    n_frames = xr.shape[2]
    for m in range(n_chan):
        re[:] = 0.0
        im[:] = 0.0
        for j in range(n_chan):
            qr = q[f, m, j].real
            qi = q[f, m, j].imag
            xrj = xr[f, j]
            xij = xi[f, j]
            for t in range(n_frames):
                re[t] += qr * xrj[t] - qi * xij[t]
                im[t] += qr * xij[t] + qi * xrj[t]
        qm = qxp[f, m]
        for t in range(n_frames):
            qm[t] = re[t] * re[t] + im[t] * im[t]


def update_q(xr, xi, lam, g, eps, q, y, qxp, n_threads=None):
    """Variances, then every row of the joint diagonalisers by iterative projection, then ``qxp``.

    Per frequency: ``y_fmt = sum_n lam_nft g_nm + eps``; for ``m = 0 .. M-1`` in turn,
    ``V = mean_t x_ft x_ft^H / y_fmt``, ``u = (Q_f V)^-1 e_m``, ``u <- u / sqrt(u^H V u)``,
    row ``m`` of ``Q_f`` = ``conj(u)``; finally ``qxp_fmt = |(Q_f x_ft)_m|^2``.

    Parameters
    ----------
    xr, xi : float64 (n_freq, n_chan, n_frames)
        Real and imaginary parts of the mixture STFT, channels before frames.
    lam : float64 (n_src, n_freq, n_frames)
    g : float64 (n_src, n_chan)
    eps : float
    q : complex128 (n_freq, n_chan, n_chan)
        Updated in place.
    y, qxp : float64 (n_freq, n_chan, n_frames)
        Written.
    n_threads : int or None
        Threads (:func:`sepkit.kernels.threaded.run_threaded`; the values do not depend on it).
    """
    run_threaded(_update_q_bins, xr.shape[0], xr, xi, lam, g, eps, q, y, qxp, n_threads=n_threads)


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _update_q_bins(xr, xi, lam, g, eps, q, y, qxp, start, stop):
    """:func:`update_q` for the bins ``[start, stop)``."""
    _, n_chan, n_frames = xr.shape
    v = np.empty((n_chan, n_chan, n_chan), dtype=np.complex128)  # [m, i, j]
    work = np.empty((n_chan, n_chan), dtype=np.complex128)
    rhs = np.empty(n_chan, dtype=np.complex128)
    u = np.empty(n_chan, dtype=np.complex128)
    re = np.empty(n_frames)
    im = np.empty(n_frames)
    for f in range(start, stop):
        _variance_bin(lam, g, eps, f, y)
        for m in range(n_chan):
            ym = y[f, m]
            for i in range(n_chan):
                xri = xr[f, i]
                xii = xi[f, i]
                for j in range(i, n_chan):
                    xrj = xr[f, j]
                    xij = xi[f, j]
                    sr = 0.0
                    si = 0.0
                    for t in range(n_frames):  # x_i conj(x_j) / y
                        inv = 1.0 / ym[t]
                        sr += (xri[t] * xrj[t] + xii[t] * xij[t]) * inv
                        si += (xii[t] * xrj[t] - xri[t] * xij[t]) * inv
                    v[m, i, j] = complex(sr, si) / n_frames
                    v[m, j, i] = complex(sr, -si) / n_frames
                v[m, i, i] = v[m, i, i].real  # Hermitian: a real diagonal (fused products leave ~1e-17)
        for m in range(n_chan):
            ip_update_row(q[f], v[m], m, work, rhs, u)  # a singular system leaves the row as it was
        _qx_power_bin(xr, xi, q, f, qxp, re, im)


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def refresh(xr, xi, q, w, h, g, eps, lam, qxp, y):
    """Recompute ``lam = W H + eps``, ``qxp = |Q x|^2`` and ``y = sum_n lam g + eps`` (shapes as above)."""
    re = np.empty(xr.shape[2])
    im = np.empty(xr.shape[2])
    for f in range(xr.shape[0]):
        _lambda_bin(w, h, eps, f, lam)
        _qx_power_bin(xr, xi, q, f, qxp, re, im)
        _variance_bin(lam, g, eps, f, y)


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _variances(w, h, g, eps, lam, y):
    """``lam = W H + eps`` and ``y = sum_n lam g + eps`` (the non-accelerated H step)."""
    for f in range(w.shape[1]):
        _lambda_bin(w, h, eps, f, lam)
        _variance_bin(lam, g, eps, f, y)


def normalize(q, w, h, g):
    """Rescale the parameters in place without changing the model.

    ``Q_f /= sqrt(phi_f)``, ``W_nf /= phi_f`` with ``phi_f = tr(Q_f Q_f^H) / M``;
    ``g_n /= mu_n``, ``W_n *= mu_n`` with ``mu_n = sum_m g_nm``; ``W_nk /= nu_nk``,
    ``H_nk *= nu_nk`` with ``nu_nk = sum_f W_nfk``.

    Parameters
    ----------
    q : complex128 (n_freq, n_chan, n_chan)
    w : float64 (n_src, n_freq, n_components)
    h : float64 (n_src, n_components, n_frames)
    g : float64 (n_src, n_chan)
    """
    n_chan = q.shape[1]
    phi = np.einsum("fij,fij->f", q, q.conj()).real / n_chan
    q /= np.sqrt(phi)[:, None, None]
    w /= phi[None, :, None]
    mu = g.sum(axis=1)
    g /= mu[:, None]
    w *= mu[:, None, None]
    nu = w.sum(axis=1)
    w /= nu[:, None, :]
    h *= nu[:, :, None]


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _images(x, q, lam, g, mics, out):
    n_freq, n_frames, n_chan = x.shape
    n_src = g.shape[0]
    for f in range(n_freq):
        qinv = np.empty((n_chan, n_chan), dtype=np.complex128)
        work = np.empty((n_chan, n_chan), dtype=np.complex128)
        rhs = np.empty(n_chan, dtype=np.complex128)
        col = np.empty(n_chan, dtype=np.complex128)
        if not _inverse(q[f], work, rhs, col, qinv):
            qinv[:] = np.nan  # cannot happen after IP updates (their rows are normalised)
        r = np.empty(n_chan, dtype=np.complex128)
        for t in range(n_frames):
            for m in range(n_chan):
                acc = 0j
                for j in range(n_chan):
                    acc += q[f, m, j] * x[f, t, j]
                total = 0.0
                for n in range(n_src):
                    total += lam[n, f, t] * g[n, m]
                r[m] = acc / total
            for n in range(n_src):
                for c in range(mics.size):
                    acc = 0j
                    for m in range(n_chan):
                        acc += qinv[mics[c], m] * r[m] * (lam[n, f, t] * g[n, m])
                    out[f, t, c, n] = acc


def source_images(x, q, lam, g, mics=None):
    """Multichannel Wiener estimates of every source's image.

    ``s_nft = Q_f^-1 diag(lam_nft g_n / y'_ft) Q_f x_ft`` with ``y'_ftm = sum_n lam_nft g_nm``;
    the images of all sources sum to ``x`` (up to rounding).

    Parameters
    ----------
    x : complex128 (n_freq, n_frames, n_chan)
    q : complex128 (n_freq, n_chan, n_chan)
    lam : float64 (n_src, n_freq, n_frames)
        Source spectra (positive).
    g : float64 (n_src, n_chan)
    mics : sequence of int or None
        Microphones whose images are returned; None: all, in order.

    Returns
    -------
    complex128 (n_freq, n_frames, len(mics), n_src)
    """
    n_chan = x.shape[2]
    mics = np.arange(n_chan, dtype=np.int64) if mics is None else np.asarray(mics, dtype=np.int64)
    out = np.empty((x.shape[0], x.shape[1], mics.size, g.shape[0]), dtype=np.complex128)
    _images(np.ascontiguousarray(x, dtype=np.complex128), np.ascontiguousarray(q, dtype=np.complex128),
            np.ascontiguousarray(lam, dtype=np.float64), np.ascontiguousarray(g, dtype=np.float64), mics, out)
    return out


def init_fastmnmf2(rng, n_src, n_freq, n_frames, n_chan, n_components):
    """pyroomacoustics' initial values, drawn from ``rng``.

    ``Q_f = I``; ``g_nm = G_EPS`` except ``g[m % n_src, m] = 1`` (each channel owned by one
    source); ``H`` then ``W`` uniform in [0, 1) (the order of pyroomacoustics' draws).

    Parameters
    ----------
    rng : numpy.random.Generator
    n_src, n_freq, n_frames, n_chan, n_components : int

    Returns
    -------
    q : complex128 (n_freq, n_chan, n_chan)
    g : float64 (n_src, n_chan)
    w : float64 (n_src, n_freq, n_components)
    h : float64 (n_src, n_components, n_frames)
    """
    q = np.tile(np.eye(n_chan, dtype=np.complex128), (n_freq, 1, 1))
    g = np.full((n_src, n_chan), G_EPS)
    for m in range(n_chan):
        g[m % n_src, m] = 1.0
    h = rng.random((n_src, n_components, n_frames))
    w = rng.random((n_src, n_freq, n_components))
    return q, g, w, h


def fastmnmf2(x, q, g, w, h, n_iter, accelerate=True, normalize_every=10, eps=EPS, callback=None, threads=None):
    """Fit FastMNMF2 to a multichannel STFT from the given initial values.

    Parameters
    ----------
    x : complex (n_freq, n_frames, n_chan)
        Mixture STFT (not changed).
    q : complex (n_freq, n_chan, n_chan)
        Initial joint diagonalisers; their rows are scaled to unit norm first.
    g : float (n_src, n_chan)
        Initial diagonal spatial weights (positive).
    w : float (n_src, n_freq, n_components)
        Initial NMF bases (positive).
    h : float (n_src, n_components, n_frames)
        Initial NMF activations (positive).
    n_iter : int
        Number of iterations.
    accelerate : bool
        Update H from the NMF ratios of the start of the iteration, like W (pyroomacoustics'
        default); False recomputes them from the updated W first.
    normalize_every : int
        Rescale (:func:`normalize`) at iterations 0, ``normalize_every``, ...; 0: never.
    eps : float
        Floor added to the spectra and the variances.
    callback : callable or None
        ``callback(iteration, q, g, w, h, lam)`` after every iteration (read-only views).
    threads : object or None
        An object whose ``begin()`` and ``end()`` are called around every iteration (e.g. a
        chooser of numba's thread count by timing; the results do not depend on it).

    Returns
    -------
    q : complex128 (n_freq, n_chan, n_chan)
    g : float64 (n_src, n_chan)
    w : float64 (n_src, n_freq, n_components)
    h : float64 (n_src, n_components, n_frames)
    lam : float64 (n_src, n_freq, n_frames)
        ``W H + eps`` of the final parameters (``W H`` when ``n_iter = 0``). All new arrays;
        the inputs are not changed.
    """
    x = np.ascontiguousarray(x, dtype=np.complex128)
    q = np.array(q, dtype=np.complex128, order="C")
    g = np.array(g, dtype=np.float64, order="C")
    w = np.array(w, dtype=np.float64, order="C")
    h = np.array(h, dtype=np.float64, order="C")
    n_freq, n_frames, n_chan = x.shape
    n_src = g.shape[0]
    q /= np.sqrt(np.sum(np.abs(q) ** 2, axis=2))[:, :, None]
    xt = x.transpose(0, 2, 1)  # channels before frames: every inner loop runs over contiguous frames
    xr = np.ascontiguousarray(xt.real)
    xi = np.ascontiguousarray(xt.imag)
    lam = np.empty((n_src, n_freq, n_frames))
    qxp = np.empty((n_freq, n_chan, n_frames))
    y = np.empty((n_freq, n_chan, n_frames))
    refresh(xr, xi, q, w, h, g, 0.0, lam, qxp, y)  # the first iteration's model has no floor
    a = np.empty_like(lam)
    b = np.empty_like(lam)
    stats = np.empty((n_freq, 2, n_src, n_chan))
    for it in range(n_iter):
        if threads is not None:
            threads.begin()
        update_w(g, qxp, y, h, w, a, b)
        if not accelerate:
            _variances(w, h, g, eps, lam, y)
            nmf_ratios(g, qxp, y, a, b)
        update_h(a, b, w, h)
        lambda_g_stats(w, h, g, qxp, eps, lam, y, stats)
        total = stats.sum(axis=0)
        g *= np.sqrt(total[0] / total[1])
        update_q(xr, xi, lam, g, eps, q, y, qxp)
        if normalize_every and it % normalize_every == 0:
            normalize(q, w, h, g)
            refresh(xr, xi, q, w, h, g, eps, lam, qxp, y)
        if threads is not None:
            threads.end()
        if callback is not None:
            callback(it, q, g, w, h, lam)
    return q, g, w, h, lam
