"""Projection filters of BSS Eval: correlations by FFT, the Gram system and its solver.

Shared by :mod:`sepkit.evaluation.bss_eval` (v4) and :mod:`sepkit.evaluation.bss_eval_v3`;
see the former for the method. Solving: the system ``(G + eps I) x = D`` of museval is
factorised by Cholesky, else by LU, with the minimum-norm least-squares solution when the
system is numerically singular; silent and duplicate reference signals are left out of
the basis first (the span, hence every projection, is unchanged).
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.fft
import scipy.linalg
from threadpoolctl import ThreadpoolController

from ..core import EvaluationError
from ..kernels.bss_eval import accumulate_cross_spectra, toeplitz_gram

_EPS = np.finfo(np.float64).eps
# Largest system solved with single-threaded BLAS: below this, threads gain little and,
# on a busy machine, their synchronisation costs several times the solve.
_SINGLE_THREAD_MAX = 2048
_THREADPOOLS = []


def _blas_threads(n):
    """Context limiting BLAS to one thread for systems of ``n <= _SINGLE_THREAD_MAX`` unknowns."""
    if n > _SINGLE_THREAD_MAX:
        return contextlib.nullcontext()
    if not _THREADPOOLS:
        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1, user_api="blas")


# ---------------------------------------------------------------------------------------
# linear algebra


def _solve(gram, rhs):
    # The inputs are normalised (common.normalise_levels), so the system is finite; a
    # non-finite one would make LAPACK's least squares loop forever: refuse it instead.
    if not (np.all(np.isfinite(gram)) and np.all(np.isfinite(rhs))):
        raise EvaluationError("the projection system of BSS Eval is not finite: the signals' levels overflow")
    with _blas_threads(gram.shape[0]):
        try:
            return _solve_system(gram, rhs)
        except np.linalg.LinAlgError as err:
            raise EvaluationError(f"the projection system of BSS Eval could not be solved: {err}") from None


def _solve_system(gram, rhs):
    """Solve ``(gram + eps I) x = rhs``; least squares when ``gram`` is numerically singular.

    ``gram`` is a Gram matrix (symmetric positive semi-definite), so the system is solved
    by Cholesky (LAPACK ``potrf``/``potrs``, half the cost of the LU factorisation of
    ``numpy.linalg.solve``); if that fails, by LU (``getrf``/``getrs``, what
    ``numpy.linalg.solve`` runs). A factorisation is accepted when LAPACK's estimate of
    the reciprocal condition number is at least ``eps`` and the solution is finite;
    otherwise the minimum-norm least-squares solution (``numpy.linalg.lstsq``) is returned.

    Parameters
    ----------
    gram : numpy.ndarray of float64, shape (n, n)
        Symmetric positive semi-definite; not modified.
    rhs : numpy.ndarray of float64, shape (n, m)

    Returns
    -------
    numpy.ndarray of float64, shape (n, m)
    """
    lapack = scipy.linalg.lapack
    n = gram.shape[0]

    def regularised():
        out = gram.copy()
        out.flat[:: n + 1] += _EPS
        return out.T  # symmetric: the transpose is the same matrix, in Fortran order

    matrix = regularised()
    anorm = np.abs(matrix).sum(axis=0).max()
    factor, info = lapack.dpotrf(matrix, lower=0, overwrite_a=1)
    if info == 0:
        rcond, _ = lapack.dpocon(factor, anorm)
        if rcond >= _EPS:
            solution, info = lapack.dpotrs(factor, rhs)
            if info == 0 and np.all(np.isfinite(solution)):
                return solution
    del factor, matrix
    lu, piv, info = lapack.dgetrf(regularised(), overwrite_a=1)
    if info == 0:
        rcond, _ = lapack.dgecon(lu, anorm)
        if rcond >= _EPS:
            solution, info = lapack.dgetrs(lu, piv, rhs)
            if info == 0 and np.all(np.isfinite(solution)):
                return solution
    del lu
    return np.linalg.lstsq(gram, rhs, rcond=None)[0]


# ---------------------------------------------------------------------------------------
# projection filters


_BLOCK_FFT = 16384  # FFT length of the blocks of the correlations of long signals


def _segment(signals, start, stop):
    """``signals[:, start:stop]``, zero outside ``[0, n_samples)``; a new array."""
    n = signals.shape[-1]
    out = np.zeros((signals.shape[0], stop - start))
    lo, hi = max(start, 0), min(stop, n)
    if hi > lo:
        out[:, lo - start : hi - start] = signals[:, lo:hi]
    return out


def _correlations(refs, ests, filters_len):
    """Correlations at lags ``-(L-1) .. L-1`` of references with references and estimates.

    Overlap-save: the signals are cut into blocks, the spectra of the extended reference
    blocks times the conjugate spectra of the plain blocks are summed over blocks, and
    each sum is inverted once. Memory stays at a few blocks beyond the inputs.

    Parameters
    ----------
    refs : numpy.ndarray of float64, shape (K, n_samples)
    ests : numpy.ndarray of float64, shape (M, n_samples)
    filters_len : int

    Returns
    -------
    numpy.ndarray of float64, shape (K, K + M, 2 L - 1)
        ``out[b, a, L - 1 + d] = sum_n refs[b, n + d] x_a[n]`` with ``x`` the references
        then the estimates; for ``a < K`` only ``a <= b`` is computed (symmetry).
    """
    K, n = refs.shape
    n_plain = K + ests.shape[0]
    L = filters_len
    halo = L - 1
    n_fft = scipy.fft.next_fast_len(min(n, _BLOCK_FFT) + 2 * halo, real=True)
    block = n_fft - 2 * halo
    n_blocks = -(-n // block)
    acc = np.zeros((K, n_plain, n_fft // 2 + 1), dtype=np.complex128)
    chunk = max(1, (1 << 22) // (n_fft * (K + n_plain)))  # spectra of at most ~64 MB at once
    for first in range(0, n_blocks, chunk):
        stop = min(n_blocks, first + chunk)
        lo, hi = first * block, stop * block
        ext = _segment(refs, lo - halo, hi + halo)
        ext_blocks = np.lib.stride_tricks.sliding_window_view(ext, block + 2 * halo, axis=1)[:, ::block]
        ext_spec = scipy.fft.rfft(ext_blocks.transpose(1, 0, 2), n=n_fft, axis=-1, workers=-1)
        plain = np.concatenate([_segment(refs, lo, hi), _segment(ests, lo, hi)])
        plain_blocks = plain.reshape(n_plain, stop - first, block).transpose(1, 0, 2)
        plain_spec = scipy.fft.rfft(plain_blocks, n=n_fft, axis=-1, workers=-1)
        accumulate_cross_spectra(ext_spec, plain_spec, K, acc)
    return scipy.fft.irfft(acc, n=n_fft, axis=-1, workers=-1)[:, :, : 2 * L - 1]


def _basis(signals, members):
    """Indices of the non-zero, pairwise distinct signals among ``members``.

    Dropping silent and duplicate signals leaves the span of the delayed references, hence
    every projection, unchanged, and makes the Gram matrix of two identical references
    (or of an image whose channels are copies) invertible.
    """
    kept = []
    for k in members:
        if not np.any(signals[k]):
            continue
        if any(np.array_equal(signals[k], signals[i]) for i in kept):
            continue
        kept.append(k)
    return kept


def _filters(references, estimates, filters_len, own_pairs):
    """Projection filters of estimates on all references and on each reference alone.

    Parameters
    ----------
    references : numpy.ndarray of float64, shape (n_sources, n_channels, n_samples)
    estimates : numpy.ndarray of float64, shape (n_est, n_channels, n_samples)
        The estimates to project (same segment as the references).
    filters_len : int
    own_pairs : numpy.ndarray of int64, shape (n_pairs, 2)
        ``(reference, row of estimates)`` pairs needing a projection on one reference.

    Returns
    -------
    taps_all : numpy.ndarray of float64, shape (n_est, n_sources, n_channels, n_channels, L)
        ``[e, i, c_in, c_out, m]``: filter from channel ``c_in`` of reference ``i`` to
        channel ``c_out`` of the projection of estimate ``e`` (zero on the silent or
        duplicate reference signals left out of the basis).
    taps_own : numpy.ndarray of float64, shape (n_pairs, n_channels, n_channels, L)
    """
    n_src, n_chan, n_samples = references.shape
    n_est = estimates.shape[0]
    L = filters_len
    K = n_src * n_chan
    refs = references.reshape(K, n_samples)
    ests = estimates.reshape(n_est * n_chan, n_samples)

    keep_all = _basis(refs, range(K))
    keep_own = {int(j): _basis(refs, range(j * n_chan, (j + 1) * n_chan)) for j in np.unique(own_pairs[:, 0])}
    union = sorted(set(keep_all).union(*keep_own.values()))
    where = {k: u for u, k in enumerate(union)}
    U = len(union)
    if U == 0:
        return np.zeros((n_est, n_src, n_chan, n_chan, L)), np.zeros((len(own_pairs), n_chan, n_chan, L))
    xcorr = _correlations(refs[union], ests, L)
    # corr[a, b, L - 1 + d] = sum_n x_b[n + d] x_a[n] (a <= b)
    corr = np.ascontiguousarray(xcorr[:, :U].transpose(1, 0, 2))
    gram = np.empty((U * L, U * L))
    toeplitz_gram(corr, L, gram)
    del corr
    # rhs[(u, m), (e, c_out)] = sum_n basis_u[n - m] est_{e, c_out}[n]: lags 0, -1, ..., -(L - 1)
    rhs = np.ascontiguousarray(xcorr[:, U:, L - 1 :: -1].transpose(0, 2, 1))
    del xcorr

    def solve(members, cols):
        """Taps (len(members), L, len(cols), n_chan) of the projection on ``members``."""
        rows = np.concatenate([np.arange(where[k] * L, where[k] * L + L) for k in members])
        sub_gram = gram if len(members) == U else gram[np.ix_(rows, rows)]
        sub_rhs = rhs[[where[k] for k in members]][:, :, _columns(cols, n_chan)]
        solution = _solve(sub_gram, sub_rhs.reshape(len(members) * L, -1))
        return solution.reshape(len(members), L, len(cols), n_chan)

    taps_all = np.zeros((n_est, n_src, n_chan, n_chan, L))
    flat_all = taps_all.reshape(n_est, K, n_chan, L)
    if keep_all:
        sol = solve(keep_all, np.arange(n_est))
        flat_all[:, keep_all] = sol.transpose(2, 0, 3, 1)

    taps_own = np.zeros((len(own_pairs), n_chan, n_chan, L))
    for j, members in keep_own.items():
        rows = np.flatnonzero(own_pairs[:, 0] == j)
        if not members:
            continue
        cols = own_pairs[rows, 1]
        if n_src == 1:  # the projection on all references: reuse it, so SIR is exactly +inf
            sol = taps_all[cols, 0].transpose(1, 3, 0, 2)  # (c_in, L, cols, c_out)
            sol = sol[[k - j * n_chan for k in members]]
        else:
            sol = solve(members, cols)
        own = np.zeros((len(rows), n_chan, n_chan, L))
        own[:, [k - j * n_chan for k in members]] = sol.transpose(2, 0, 3, 1)
        taps_own[rows] = own
    return taps_all, taps_own


def _columns(estimates, n_chan):
    """Columns ``(e, c)`` of the right-hand side for the given estimates."""
    return (np.asarray(estimates)[:, None] * n_chan + np.arange(n_chan)[None, :]).ravel()
