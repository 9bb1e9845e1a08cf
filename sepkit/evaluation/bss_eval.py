"""BSS Eval v4 (museval) and v3 (mir_eval): SDR, ISR, SIR and SAR.

Every estimate is decomposed by least-squares projections on the references and their
delays ``0 .. filters_len - 1`` (Vincent, Gribonval & Févotte 2006)::

    estimate = s_true + e_spat + e_interf + e_artif

``s_true + e_spat`` is the projection on the matched reference alone (``P_own``),
``s_true + e_spat + e_interf`` the projection on all references (``P_all``). Then, in dB:

=====  ==========================================  ===============================
ratio  images (``mode='images'``, v4 default)      sources (``mode='sources'``)
=====  ==========================================  ===============================
SDR    ``|s|^2 / |estimate - s|^2``                ``|P_own|^2 / |estimate - P_own|^2``
ISR    ``|s|^2 / |P_own - s|^2``                   (not defined)
SIR    ``|P_own|^2 / |P_all - P_own|^2``           same
SAR    ``|P_all|^2 / |estimate - P_all|^2``        same
=====  ==========================================  ===============================

``s`` is the reference (all channels jointly), energies are sums over channels and over
the frame zero-padded by ``filters_len - 1`` samples.

* **v4** (:func:`bss_eval_v4`, SiSEC 2018 / museval): the projection filters are solved
  once on the whole signal, and the ratios are computed per frame.
* **v3** (:func:`bss_eval_sources`, :func:`bss_eval_images` and their ``_framewise``
  versions, mir_eval): the filters are solved anew on each frame (or once on the whole
  signal).

Implementation: correlations by FFT (``scipy.fft``, all cores; long signals block by
block, overlap-save), the block-Toeplitz Gram matrix of the references assembled by a
numba kernel once per reference set (per frame with framewise filters) and shared by
every estimate, all estimates projected with one factorisation, and the energies of the
projections computed from their spectra (Parseval), so no projection is synthesised.

Solving: the system ``(G + eps I) x = D`` of museval (``eps`` the float64 machine
epsilon, needed for parity on ill-conditioned references) is factorised by Cholesky
(``G`` is a Gram matrix), else by LU (what ``numpy.linalg.solve`` does). When LAPACK's
estimate of the reciprocal condition number is below ``eps`` (numerically singular) the
minimum-norm least-squares solution (``numpy.linalg.lstsq``) is used instead. Silent and
duplicate reference signals (two identical references, an image whose channels are
copies) are removed from the basis first: the span, hence every projection, is unchanged.

Silence policy (mir_eval and museval raise instead):

* a reference or an estimate that is all zeros over the whole signal: its row of every
  metric is NaN, with a ``RuntimeWarning``; the other sources are scored normally;
* a frame in which any other reference, or any scored estimate, is all zeros: every
  metric of that frame is NaN for every source (museval's and mir_eval's frame rule),
  with a ``RuntimeWarning``;
* no interference at all (e.g. a single source): SIR is ``+inf``.

Identical estimates trigger a ``UserWarning`` (:func:`~sepkit.evaluation.common.warn_duplicates`).

Permutation: with ``compute_permutation=True`` every (reference, estimate) pair is scored,
and the estimates are assigned to references with the Hungarian algorithm maximising the
sum of the pairs' mean SIR over frames (the criterion of mir_eval and museval, there
found by trying every permutation). One assignment is used for the whole signal, also in
the framewise functions (mir_eval chooses one per frame). More estimates than references
are allowed.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import scipy.fft
import scipy.linalg
from threadpoolctl import ThreadpoolController

from ..core import EvaluationError
from ..kernels.bss_eval import (
    accumulate_cross_spectra,
    frame_energies,
    projection_energies,
    toeplitz_gram,
)
from .common import Scores, as_sources, assign, check_pair, silent_mask, warn_duplicates

__all__ = [
    "bss_eval_images",
    "bss_eval_images_framewise",
    "bss_eval_sources",
    "bss_eval_sources_framewise",
    "bss_eval_v4",
]

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
    with _blas_threads(gram.shape[0]):
        return _solve_system(gram, rhs)


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


# ---------------------------------------------------------------------------------------
# the shared engine


def _weights(n_fft):
    n_freq = n_fft // 2 + 1
    weights = np.full(n_freq, 2.0 / n_fft)
    weights[0] = 1.0 / n_fft
    if n_fft % 2 == 0:
        weights[-1] = 1.0 / n_fft
    return weights


def _db(num, den):
    """10 log10(num / den) with ``den == 0`` giving +inf (mir_eval's ``_safe_db``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * np.log10(num / den)
    return np.where(den == 0, np.inf, out)


def _evaluate(references, estimates, window, hop, filters_len, framewise_filters, sources_mode, pairs, min_frames):
    """Scores of every (reference, estimate) pair in ``pairs``, per frame.

    Returns a dict of metric name to array (n_pairs, n_frames), the frame starts and the
    frame length in samples. Fewer than ``min_frames`` frames: one whole-signal frame.
    """
    n_src, _, n_samples = references.shape
    L = filters_len
    n_frames = (n_samples - window + hop) // hop if window < n_samples else 0
    if n_frames < max(min_frames, 1):
        starts = np.zeros(1, dtype=np.int64)
        length = n_samples
    else:
        starts = np.arange(n_frames, dtype=np.int64) * hop
        length = window
    n_frames = len(starts)

    used = np.unique(pairs[:, 1])
    position = np.full(estimates.shape[0], -1, dtype=np.int64)
    position[used] = np.arange(len(used))
    local_pairs = np.ascontiguousarray(np.stack([pairs[:, 0], position[pairs[:, 1]]], axis=1))
    ests = np.ascontiguousarray(estimates[used])

    # time-domain energies: silence and the images SDR (which needs no projection)
    ref_energy = np.empty((n_src, n_frames))
    est_energy = np.empty((len(used), n_frames))
    dist_energy = np.empty((len(pairs), n_frames))
    frame_energies(references, ests, local_pairs, starts, length, ref_energy, est_energy, dist_energy)

    whole_ref = silent_mask(references)
    whole_est = silent_mask(ests)
    frame_ref = (ref_energy == 0) & ~whole_ref[:, None]
    frame_est = (est_energy == 0) & ~whole_est[:, None]
    pair_dead = whole_ref[local_pairs[:, 0]] | whole_est[local_pairs[:, 1]]
    # frame rule: any (not wholly silent) reference silent, or the pair's estimate silent
    silent_frames = np.any(frame_ref, axis=0)[None, :] | frame_est[local_pairs[:, 1]]

    energies = np.full((len(pairs), n_frames, 6), np.nan)
    n_fft = scipy.fft.next_fast_len(length + L - 1, real=True)
    weights = _weights(n_fft)

    if not framewise_filters:
        taps_all, taps_own = _filters(references, ests, L, local_pairs)
        filt_all = scipy.fft.rfft(taps_all, n=n_fft, axis=-1, workers=-1)
        filt_own = scipy.fft.rfft(taps_own, n=n_fft, axis=-1, workers=-1)

    for t, start in enumerate(starts):
        live = ~silent_frames[:, t] & ~pair_dead
        if not np.any(live):
            continue
        seg = slice(start, start + length)
        ref_spec = scipy.fft.rfft(references[:, :, seg], n=n_fft, axis=-1, workers=-1)
        est_spec = scipy.fft.rfft(ests[:, :, seg], n=n_fft, axis=-1, workers=-1)
        frame_pairs = np.ascontiguousarray(local_pairs[live])
        if framewise_filters:
            taps_all, taps_own = _filters(references[:, :, seg], ests[:, :, seg], L, frame_pairs)
            filt_all = scipy.fft.rfft(taps_all, n=n_fft, axis=-1, workers=-1)
            filt_own = scipy.fft.rfft(taps_own, n=n_fft, axis=-1, workers=-1)
            own = filt_own
        else:
            own = np.ascontiguousarray(filt_own[live])
        out = np.empty((len(frame_pairs), 6))
        projection_energies(ref_spec, est_spec, filt_all, own, frame_pairs, weights, out)
        energies[live, t] = out

    n_silent = int(np.sum(silent_frames & ~pair_dead[:, None]))
    if np.any(pair_dead):
        warnings.warn(
            f"{int(whole_ref.sum())} reference(s) and {int(whole_est.sum())} estimate(s) are silent over the "
            "whole signal: their scores are NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    if n_silent:
        warnings.warn(
            f"{int(np.any(silent_frames & ~pair_dead[:, None], axis=0).sum())} of {n_frames} frame(s) contain a "
            "silent reference or estimate: their scores are NaN",
            RuntimeWarning,
            stacklevel=3,
        )

    own, spat, interf, artif, proj, dist = np.moveaxis(energies, -1, 0)
    valid = ~silent_frames & ~pair_dead[:, None]
    values = {}
    if sources_mode:
        values["SDR"] = _db(own, dist)
    else:
        values["SDR"] = _db(ref_energy[local_pairs[:, 0]], dist_energy)
        values["ISR"] = _db(ref_energy[local_pairs[:, 0]], spat)
    values["SIR"] = _db(own, interf)
    values["SAR"] = _db(proj, artif)
    values = {key: np.where(valid, value, np.nan) for key, value in values.items()}
    est_frame_silent = np.zeros((estimates.shape[0], n_frames), dtype=bool)
    est_frame_silent[used] = frame_est
    return values, starts, length, est_frame_silent


def _run(references, estimates, sample_rate, window, hop, filters_len, framewise_filters, sources_mode,
         compute_permutation, version, min_frames=1):
    """Shared front end: validation, pairs, permutation, packing into Scores."""
    refs, ref_rate = as_sources(references, "references")
    ests, est_rate = as_sources(estimates, "estimates")
    check_pair(refs, ests)
    if ref_rate is not None and est_rate is not None and ref_rate != est_rate:
        raise EvaluationError(f"references and estimates have different sample rates: {ref_rate} and {est_rate} Hz")
    rate = ref_rate or est_rate
    if sample_rate is not None:
        if rate is not None and sample_rate != rate:
            raise EvaluationError(f"sample_rate={sample_rate} Hz differs from the signals' {rate} Hz")
        rate = sample_rate
    if not (isinstance(filters_len, (int, np.integer)) and filters_len >= 1):
        raise EvaluationError(f"filters_len must be a positive integer, got {filters_len!r}")
    filters_len = int(filters_len)
    window_samples, hop_samples, window_s, hop_s = _frames(window, hop, rate, refs.shape[-1])
    n_src, n_est = refs.shape[0], ests.shape[0]
    warn_duplicates(ests)
    if compute_permutation:
        pairs = np.array([(j, e) for j in range(n_src) for e in range(n_est)], dtype=np.int64)
    else:
        pairs = np.stack([np.arange(n_src), np.arange(n_src)], axis=1).astype(np.int64)
    values, starts, length, est_frame_silent = _evaluate(
        refs, ests, window_samples, hop_samples, filters_len, framewise_filters, sources_mode, pairs, min_frames
    )
    n_frames = values["SDR"].shape[1]
    if compute_permutation:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # all-NaN rows give NaN, the worst score for assign
            mean_sir = np.nanmean(values["SIR"], axis=1)
        matrix = mean_sir.reshape(n_src, n_est)
        assignment = assign(matrix)
        rows = np.arange(n_src) * n_est + assignment
        values = {k: v[rows] for k, v in values.items()}
    else:
        assignment = np.arange(n_src)
    # museval's frame rule: a frame with any silent scored estimate is NaN for every source
    silent_columns = np.any(est_frame_silent[assignment], axis=0)
    if np.any(silent_columns):
        values = {k: np.where(silent_columns[None, :], np.nan, v) for k, v in values.items()}
    info = {
        "version": version,
        "mode": "sources" if sources_mode else "images",
        "filters_len": filters_len,
        "framewise_filters": bool(framewise_filters),
        "sample_rate": rate,
        "window": window_s,
        "hop": hop_s,
        "window_samples": int(length),
        "hop_samples": int(hop_samples) if n_frames > 1 else None,
        "frame_starts": [int(s) for s in starts],
        "n_frames": int(n_frames),
        "permutation": "hungarian, mean SIR" if compute_permutation else "identity",
    }
    return values, assignment, info


def _frames(window, hop, rate, n_samples):
    """Window and hop in samples (and seconds when known) from seconds or samples.

    ``window``/``hop`` are either floats in seconds (needs ``rate``), ``None`` (whole
    signal) or tuples ``('samples', n)``.
    """

    def convert(value, name):
        if value is None:
            return n_samples, None
        if isinstance(value, tuple):
            samples = value[1]
            if not (isinstance(samples, (int, np.integer)) and samples >= 1):
                raise EvaluationError(f"{name}_samples must be a positive integer, got {samples!r}")
            return int(samples), (samples / rate if rate else None)
        if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value) and value > 0):
            raise EvaluationError(f"{name} must be a positive number of seconds, got {value!r}")
        if rate is None:
            raise EvaluationError(
                f"{name} is given in seconds: pass sample_rate (or AudioSignals) to convert it to samples"
            )
        samples = round(value * rate)
        if samples < 1:
            raise EvaluationError(f"{name}={value} s is shorter than one sample at {rate} Hz")
        return samples, float(value)

    window_samples, window_s = convert(window, "window")
    hop_samples, hop_s = convert(hop, "hop")
    return window_samples, hop_samples, window_s, hop_s


def _window_arg(seconds, samples, name):
    if samples is not None:
        return ("samples", samples)
    return seconds


# ---------------------------------------------------------------------------------------
# public functions

_COMMON_PARAMS = """references : list of AudioSignal or array_like
        Reference sources: AudioSignals of equal rate and shape, or an array of shape
        ``(n_sources, n_channels, n_samples)`` (or ``(n_sources, n_samples)`` for mono).
    estimates : list of AudioSignal or array_like
        Estimates, same channels and length, at least as many as references."""


def bss_eval_v4(
    references,
    estimates,
    sample_rate=None,
    window=1.0,
    hop=1.0,
    mode="images",
    filters_len=512,
    framewise_filters=False,
    compute_permutation=False,
):
    """BSS Eval v4 (museval / SiSEC 2018): SDR, ISR, SIR and SAR per frame.

    The projection filters are solved once over the whole signal (unless
    ``framewise_filters``), then the ratios are computed on each frame, as
    ``museval.metrics.bss_eval``. Frame ``k`` covers samples ``[k * hop, k * hop + window)``;
    there are ``floor((n_samples - window + hop) / hop)`` frames (the last partial frame
    is dropped; a window at least as long as the signal gives one whole-signal frame).

    Parameters
    ----------
    {common}
    sample_rate : int, optional
        Sample rate in Hz; taken from AudioSignals, required for arrays.
    window, hop : float or None
        Frame length and hop in seconds (rounded to whole samples). ``None`` scores the
        whole signal as one frame. Default 1 s and 1 s (museval's ``evaluate``).
    mode : {{'images', 'sources'}}
        ``'images'`` evaluates the channels jointly against the reference image
        (museval's default); ``'sources'`` is museval's ``bsseval_sources_version=True``
        (no ISR).
    filters_len : int
        Number of filter taps (delays ``0 .. filters_len - 1``), 512 by default.
    framewise_filters : bool
        Solve the filters anew on every frame (BSS Eval v3 behaviour).
    compute_permutation : bool
        Assign estimates to references (Hungarian algorithm on the mean SIR of every
        pair) instead of taking estimate ``j`` for reference ``j``.

    Returns
    -------
    Scores
        ``values`` maps ``'SDR'``, ``'ISR'`` (images mode only), ``'SIR'``, ``'SAR'`` to
        arrays of shape ``(n_sources, n_frames)`` in dB; ``axis='frame'``;
        ``assignment`` the estimate of each reference; ``info`` holds window and hop in
        seconds and samples, the frame starts, mode and filter settings.

    Raises
    ------
    EvaluationError
        For invalid inputs (see :func:`~sepkit.evaluation.common.as_sources`), mismatched
        shapes, fewer estimates than references, a window or hop in seconds without a
        sample rate, or invalid parameters.

    Warns
    -----
    RuntimeWarning
        Silent references, estimates or frames (their scores are NaN).
    UserWarning
        Identical estimates.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> refs = rng.standard_normal((2, 2, 16000))
    >>> ests = refs + 0.1 * rng.standard_normal(refs.shape)
    >>> scores = bss_eval_v4(refs, ests, sample_rate=8000, window=1.0, hop=1.0)
    >>> scores.values["SDR"].shape
    (2, 2)
    """
    if mode not in ("images", "sources"):
        raise EvaluationError(f"mode must be 'images' or 'sources', got {mode!r}")
    values, assignment, info = _run(
        references, estimates, sample_rate, window, hop, filters_len, framewise_filters, mode == "sources",
        compute_permutation, "v4",
    )
    return Scores(values=values, assignment=assignment, axis="frame", info=info)


bss_eval_v4.__doc__ = bss_eval_v4.__doc__.format(common=_COMMON_PARAMS)


def _v3(references, estimates, sources_mode, compute_permutation, filters_len, framewise, window, hop,
        sample_rate, window_samples, hop_samples):
    if framewise:
        win = _window_arg(window, window_samples, "window")
        hp = _window_arg(hop, hop_samples, "hop")
    else:
        win = hp = None
    values, assignment, info = _run(
        references, estimates, sample_rate, win, hp, filters_len, True, sources_mode, compute_permutation, "v3",
        min_frames=2,
    )
    axis = "frame" if framewise and info["n_frames"] > 1 else "signal"
    if framewise and axis == "signal":
        info["fallback"] = "fewer than 2 frames: whole-signal scores"
    return Scores(values=values, assignment=assignment, axis=axis, info=info)


def bss_eval_sources(references, estimates, compute_permutation=True, filters_len=512):
    """BSS Eval v3 ``bss_eval_sources`` (mir_eval): SDR, SIR and SAR over the whole signal.

    Each estimate's channels are projected jointly (sources mode: the target is the
    projection on the matched reference, ``P_own``); mir_eval's mono case is
    ``n_channels = 1``.

    Parameters
    ----------
    {common}
    compute_permutation : bool
        Assign estimates to references by the Hungarian algorithm on mean SIR (True,
        mir_eval's default) or take them in order.
    filters_len : int
        Number of filter taps, 512 by default.

    Returns
    -------
    Scores
        ``values``: ``'SDR'``, ``'SIR'``, ``'SAR'``, each of shape ``(n_sources, 1)`` in dB;
        ``axis='signal'``; ``assignment`` as mir_eval's ``perm``.

    Raises
    ------
    EvaluationError
        For invalid or mismatched inputs, fewer estimates than references.

    Warns
    -----
    RuntimeWarning
        Silent references or estimates (NaN scores).
    UserWarning
        Identical estimates.
    """
    return _v3(references, estimates, True, compute_permutation, filters_len, False, None, None, None, None, None)


bss_eval_sources.__doc__ = bss_eval_sources.__doc__.format(common=_COMMON_PARAMS)


def bss_eval_images(references, estimates, compute_permutation=True, filters_len=512):
    """BSS Eval v3 ``bss_eval_images`` (mir_eval): SDR, ISR, SIR and SAR over the whole signal.

    Parameters
    ----------
    {common}
    compute_permutation : bool
        Assign estimates to references by the Hungarian algorithm on mean SIR (True,
        mir_eval's default) or take them in order.
    filters_len : int
        Number of filter taps, 512 by default.

    Returns
    -------
    Scores
        ``values``: ``'SDR'``, ``'ISR'``, ``'SIR'``, ``'SAR'``, each ``(n_sources, 1)`` in
        dB; ``axis='signal'``.

    Raises
    ------
    EvaluationError
        For invalid or mismatched inputs, fewer estimates than references.

    Warns
    -----
    RuntimeWarning
        Silent references or estimates (NaN scores).
    UserWarning
        Identical estimates.
    """
    return _v3(references, estimates, False, compute_permutation, filters_len, False, None, None, None, None, None)


bss_eval_images.__doc__ = bss_eval_images.__doc__.format(common=_COMMON_PARAMS)

_FRAMEWISE_DOC = """BSS Eval v3 ``{name}`` (mir_eval): {what} per frame, filters solved per frame.

    Frame ``k`` covers samples ``[k * hop, k * hop + window)``; there are
    ``floor((n_samples - window + hop) / hop)`` frames. With fewer than 2 frames the
    whole-signal scores are returned (one column, ``axis='signal'``), as mir_eval does.

    Parameters
    ----------
    {common}
    window, hop : float
        Frame length and hop in seconds (default 30 s and 15 s, mir_eval's defaults in
        samples at 44.1 kHz); converted with ``sample_rate`` and rounded to samples.
    sample_rate : int, optional
        Sample rate in Hz; taken from AudioSignals, needed for arrays when window and
        hop are in seconds.
    compute_permutation : bool
        Assign estimates to references by the Hungarian algorithm on the mean SIR over
        frames; one assignment for all frames (mir_eval assigns per frame). Default
        False, as mir_eval.
    filters_len : int
        Number of filter taps, 512 by default.
    window_samples, hop_samples : int, optional
        Frame length and hop in samples; override ``window`` and ``hop`` (mir_eval's
        units, no sample rate needed).

    Returns
    -------
    Scores
        ``values``: {keys}, each ``(n_sources, n_frames)`` in dB; ``axis='frame'``.

    Raises
    ------
    EvaluationError
        For invalid or mismatched inputs, fewer estimates than references, a window in
        seconds without a sample rate.

    Warns
    -----
    RuntimeWarning
        Silent references, estimates or frames (NaN scores).
    UserWarning
        Identical estimates.
    """


def bss_eval_sources_framewise(
    references,
    estimates,
    window=30.0,
    hop=15.0,
    sample_rate=None,
    compute_permutation=False,
    filters_len=512,
    window_samples=None,
    hop_samples=None,
):
    return _v3(references, estimates, True, compute_permutation, filters_len, True, window, hop, sample_rate,
               window_samples, hop_samples)


bss_eval_sources_framewise.__doc__ = _FRAMEWISE_DOC.format(
    name="bss_eval_sources_framewise", what="SDR, SIR and SAR", keys="``'SDR'``, ``'SIR'``, ``'SAR'``",
    common=_COMMON_PARAMS,
)


def bss_eval_images_framewise(
    references,
    estimates,
    window=30.0,
    hop=15.0,
    sample_rate=None,
    compute_permutation=False,
    filters_len=512,
    window_samples=None,
    hop_samples=None,
):
    return _v3(references, estimates, False, compute_permutation, filters_len, True, window, hop, sample_rate,
               window_samples, hop_samples)


bss_eval_images_framewise.__doc__ = _FRAMEWISE_DOC.format(
    name="bss_eval_images_framewise", what="SDR, ISR, SIR and SAR",
    keys="``'SDR'``, ``'ISR'``, ``'SIR'``, ``'SAR'``", common=_COMMON_PARAMS,
)
