"""DictSep kernels: the dictionary pursuit of log frames (``notes/dictsep.md`` section 3.5).

:func:`render_templates` draws the q-domain templates of the matched filter,
:func:`pursue_tones` / :func:`pursue_frame` pursue one frame and
:func:`pursue_frames_into` a range of frames (run on threads). The validated front end is
:func:`sepkit.separation.dictsep.pursuit.pursue_frames`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .lm import fit_tones
from .peaks import best_match, best_match_fft, template_spectra
from .tones import render_log

__all__ = ["B_MAX", "render_templates", "pursue_tones", "pursue_frame", "pursue_frames_into", "fft_templates"]

#: Upper bound of the inharmonicity ``b``.
B_MAX = 2e-3


@numba.njit(cache=True)
def render_templates(D, n_bins, lam, s0, q):
    """q-domain templates of the matched filter, shape ``(2 n_bins, C)``.

    Column ``i``: one tone of instrument ``i`` (``a = 1``, width ``s0``, ``b = 0``) of ``D``
    (K, C) with its fundamental at bin ``n_bins``, drawn on ``2 n_bins`` log bins (``lam``
    bins per natural-log unit) and raised to ``q``.
    """
    C = D.shape[1]
    out = np.empty((2 * n_bins, C))
    col = np.empty(2 * n_bins)
    one = np.ones(1)
    pos = np.array([float(n_bins)])
    width = np.array([s0])
    zero = np.zeros(1)
    for i in range(C):
        cls = np.array([i], dtype=np.int64)
        render_log(one, pos, width, zero, cls, D, lam, 1.0, col)
        for z in range(2 * n_bins):
            out[z, i] = col[z] ** q
    return out


@numba.njit(cache=True)
def _prune(a, cls, n, tone_num, n_inst, keep):
    """Mark the ``tone_num`` largest tones of every class; return how many are kept."""
    order = np.argsort(-a[:n], kind="mergesort")
    count = np.zeros(n_inst, dtype=np.int64)
    kept = 0
    for j in range(n):
        k = order[j]
        if count[cls[k]] < tone_num:
            count[cls[k]] += 1
            keep[k] = True
            kept += 1
        else:
            keep[k] = False
    return kept


@numba.njit(cache=True)
def _qdist(y, R, q):
    """``||R^q - y^q||_2`` over the frame."""
    acc = 0.0
    for x in range(y.shape[0]):
        d = R[x] ** q - y[x] ** q
        acc += d * d
    return math.sqrt(acc)


@numba.njit(cache=True)
def pursue_tones(y, D, templates, lam, s0, tone_num, max_iter, beta, p, q, fit_iter, ftol, gtol):
    """Dictionary pursuit of one log frame.

    Parameters
    ----------
    y : numpy.ndarray, shape (M,)
        Non-negative log frame.
    D : numpy.ndarray, shape (K, C)
        Dictionary.
    templates : numpy.ndarray, shape (2M, C)
        Output of :func:`build_templates` for ``D`` and ``q``.
    lam : float
        Log bins per natural-log unit of frequency.
    s0 : float
        Start width of new tones (``sigmas / pi``).
    tone_num : int
        Tones per instrument at most.
    max_iter : int
        Pursuit iterations at most (Musisep: ``2 tone_num C``).
    beta : float
        Acceptance factor of an iteration (Musisep: 0.9).
    p, q : float
        Partial-addition and compression exponents.
    fit_iter : int
        Levenberg-Marquardt steps per refit at most.
    ftol, gtol : float
        Stopping rules of each refit (see :func:`~sepkit.kernels.dictsep.lm.fit_tones`).

    Returns
    -------
    a, mu, sig, b : numpy.ndarray, shape (n_tones,)
        Amplitudes, log-bin fundamentals, widths and inharmonicities,
        ``n_tones <= tone_num * C``.
    cls : numpy.ndarray, shape (n_tones,), int64
        Instrument of each tone.
    """
    use_fft, spectra, norms2 = fft_templates(templates, y.shape[0])
    return pursue_frame(y, D, templates, use_fft, spectra, norms2, lam, s0, tone_num, max_iter, beta, p, q,
                   fit_iter, ftol, gtol)


@numba.njit(cache=True)
def pursue_frame(y, D, templates, use_fft, spectra, norms2, lam, s0, tone_num, max_iter, beta, p, q, fit_iter,
                 ftol, gtol):
    """:func:`pursue_tones` with the templates' FFTs given (computed once per dictionary).

    ``use_fft`` selects :func:`~sepkit.kernels.dictsep.peaks.best_match_fft` with
    ``spectra``, ``norms2`` (:func:`~sepkit.kernels.dictsep.peaks.template_spectra`); else the direct :func:`~sepkit.kernels.dictsep.peaks.best_match` on
    ``templates``. Other arguments and the result as :func:`pursue_tones`.
    """
    m = y.shape[0]
    C = D.shape[1]
    cap = tone_num * C + 1
    a = np.zeros(cap)
    mu = np.zeros(cap)
    sig = np.zeros(cap)
    b = np.zeros(cap)
    cls = np.zeros(cap, dtype=np.int64)
    keep = np.zeros(cap, dtype=np.bool_)
    zeros = np.zeros(m)
    R = np.zeros(m)
    r = np.empty(m)
    for x in range(m):
        r[x] = y[x] ** q
    err = _qdist(y, R, q)
    n = 0
    sig_lo = 0.8 * s0
    sig_hi = 1.5 * s0
    for it in range(max_iter):
        if use_fft:
            k, i, c = best_match_fft(r, spectra, norms2)
        else:
            k, i, c = best_match(r, templates)
        if not c > 0.0:
            break
        a_old = a[:n].copy()
        mu_old = mu[:n].copy()
        s_old = sig[:n].copy()
        b_old = b[:n].copy()
        c_old = cls[:n].copy()
        n_old = n
        a[n] = c ** (1.0 / q)
        mu[n] = float(k)
        sig[n] = s0
        b[n] = 0.0
        cls[n] = i
        n += 1
        fit_tones(y, zeros, a[:n], mu[:n], sig[:n], b[:n], cls[:n], D, lam, p, q,
                  sig_lo, sig_hi, 0.0, B_MAX, True, fit_iter, ftol, gtol)
        kept = _prune(a, cls, n, tone_num, C, keep)
        if kept < n:
            j = 0
            for t in range(n):
                if keep[t]:
                    a[j] = a[t]
                    mu[j] = mu[t]
                    sig[j] = sig[t]
                    b[j] = b[t]
                    cls[j] = cls[t]
                    j += 1
            n = kept
            fit_tones(y, zeros, a[:n], mu[:n], sig[:n], b[:n], cls[:n], D, lam, p, q,
                      sig_lo, sig_hi, 0.0, B_MAX, True, fit_iter, ftol, gtol)
        render_log(a[:n], mu[:n], sig[:n], b[:n], cls[:n], D, lam, p, R)
        new_err = _qdist(y, R, q)
        if new_err < beta * err:
            err = new_err
            for x in range(m):
                r[x] = y[x] ** q - R[x] ** q
        else:
            n = n_old
            a[:n] = a_old
            mu[:n] = mu_old
            sig[:n] = s_old
            b[:n] = b_old
            cls[:n] = c_old
            break
    return a[:n].copy(), mu[:n].copy(), sig[:n].copy(), b[:n].copy(), cls[:n].copy()


@numba.njit(cache=True)
def fft_templates(templates, m):
    """Whether the pursuit of ``m``-bin frames matches ``templates`` by FFT, and their spectra.

    Parameters
    ----------
    templates : numpy.ndarray, shape (2 m, C) or other
        Rendered templates (:func:`render_templates`).
    m : int
        Bins per frame.

    Returns
    -------
    use_fft : bool
        True when ``templates`` has ``2 m`` rows and ``m`` is a power of two.
    spectra, norms2 : numpy.ndarray
        :func:`~sepkit.kernels.dictsep.peaks.template_spectra` of the templates (of a dummy
        ``(2, 1)`` array when ``use_fft`` is False).
    """
    use_fft = templates.shape[0] == 2 * m and (m & (m - 1)) == 0 and m >= 2
    spectra, norms2 = template_spectra(templates if use_fft else np.zeros((2, 1)))
    return use_fft, spectra, norms2


@numba.njit(cache=True, nogil=True)
def pursue_frames_into(Y, D, templates, use_fft, spectra, norms2, lam, s0, tone_num, max_iter, beta, p, q,
                       fit_iter, ftol, gtol, A, MU, SIG, B, CLS, start, stop):
    """:func:`pursue_tones` on frames ``start`` to ``stop - 1`` of ``Y`` (M, n_frames).

    ``use_fft``, ``spectra`` and ``norms2`` come from :func:`fft_templates` (computed once
    for all frames). The tones of frame ``t`` are written to row ``t`` of ``A``, ``MU``,
    ``SIG``, ``B`` (float) and ``CLS`` (int64), each (n_frames, n_slots); slots beyond the
    frame's tones are left as they are. Serial and ``nogil``: run on several threads by
    :func:`sepkit.kernels.threaded.run_threaded`.
    """
    m = Y.shape[0]
    for t in range(start, stop):
        y = np.empty(m)  # a C-ordered copy of the frame
        y[:] = Y[:, t]
        a, mu, sig, b, cls = pursue_frame(y, D, templates, use_fft, spectra, norms2, lam, s0, tone_num,
                                          max_iter, beta, p, q, fit_iter, ftol, gtol)
        for j in range(a.shape[0]):
            A[t, j] = a[j]
            MU[t, j] = mu[j]
            SIG[t, j] = sig[j]
            B[t, j] = b[j]
            CLS[t, j] = cls[j]
