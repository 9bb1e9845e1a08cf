"""DictSep kernels: the Gaussian-peak pursuit of a linear frame and the log spectrogram.

:func:`pursue_peaks` explains one magnitude frame by Gaussian peaks (``notes/dictsep.md``
3.3-3.4); :func:`log_frames_into` runs it on a range of frames (on threads) and redraws the peaks
on the log axis. The validated front end is
:func:`sepkit.separation.dictsep.logspect.log_spectrogram`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .lm_peaks import fit_peaks_local
from .peaks import local_maxima
from .tones import TRUNC, render_log

__all__ = ["LOCAL_MAX_WIDTH", "pursue_peaks", "log_frames_into"]

#: Window of the local-maximum selector (bins).
LOCAL_MAX_WIDTH = 5


@numba.njit(cache=True)
def pursue_peaks(y, s0, max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol):
    """Sparse pursuit of Gaussian peaks in one linear-frequency magnitude frame.

    Parameters
    ----------
    y : numpy.ndarray, shape (H,)
        Magnitude frame.
    s0 : float
        Start width of new peaks in bins (``sigmas / pi``); widths stay in
        ``[0.8 s0, 1.5 s0]``.
    max_peaks : int
        Peaks kept (and candidates added per iteration) at most.
    max_iter : int
        Pursuit iterations at most.
    beta : float
        Acceptance factor: an iteration is kept if the residual norm falls below
        ``beta`` times the previous one.
    floor : float
        Candidates must exceed ``floor * max(y)`` (0: every positive local maximum).
    fit_iter : int
        Levenberg-Marquardt steps per refit at most.
    ftol, gtol : float
        Stopping rules of every refit (see :func:`~sepkit.kernels.dictsep.lm.fit_tones`).

    Returns
    -------
    a, u, sig : numpy.ndarray, shape (n_peaks,)
        Heights, positions (linear bins, continuous) and widths of the accepted peaks.
    """
    m = y.shape[0]
    cap = 2 * max_peaks
    a = np.zeros(cap)
    u = np.zeros(cap)
    sig = np.zeros(cap)
    b = np.zeros(cap)
    cls = np.zeros(cap, dtype=np.int64)
    dirty = np.zeros(cap, dtype=np.bool_)
    D = np.ones((1, 1))
    R = np.zeros(m)
    r = y.copy()
    ymax = 0.0
    err = 0.0
    for x in range(m):
        ymax = max(ymax, y[x])
        err += y[x] * y[x]
    err = math.sqrt(err)
    n = 0
    if not ymax > 0.0:
        return a[:0], u[:0], sig[:0]
    thresh = floor * ymax
    sig_lo = 0.8 * s0
    sig_hi = 1.5 * s0
    reach = 2.0 * TRUNC * sig_hi + 2.0
    for it in range(max_iter):
        cand = local_maxima(r, LOCAL_MAX_WIDTH, max_peaks, thresh)
        nc = cand.shape[0]
        if nc == 0:
            break
        a_old = a[:n].copy()
        u_old = u[:n].copy()
        s_old = sig[:n].copy()
        n_old = n
        dirty[:n] = False
        for j in range(nc):
            a[n + j] = r[cand[j]]
            u[n + j] = float(cand[j])
            sig[n + j] = s0
            dirty[n + j] = True
        n += nc
        E = fit_peaks_local(y, a[:n], u[:n], sig[:n], dirty[:n], sig_lo, sig_hi, fit_iter, ftol, gtol)
        if n > max_peaks:
            order = np.argsort(-a[:n], kind="mergesort")
            keep = order[:max_peaks]
            gone = np.sort(u[order[max_peaks:n]])
            a2 = a[keep]
            u2 = u[keep]
            s2 = sig[keep]
            n = max_peaks
            a[:n] = a2
            u[:n] = u2
            sig[:n] = s2
            # refit only around the removed peaks (the rest is still at its optimum)
            for k in range(n):
                j = np.searchsorted(gone, u[k])
                near = False
                if j < gone.shape[0] and gone[j] - u[k] < reach:
                    near = True
                if j > 0 and u[k] - gone[j - 1] < reach:
                    near = True
                dirty[k] = near
            E = fit_peaks_local(y, a[:n], u[:n], sig[:n], dirty[:n], sig_lo, sig_hi, fit_iter, ftol, gtol)
        new_err = math.sqrt(2.0 * E)
        if new_err < beta * err:
            err = new_err
            render_log(a[:n], u[:n], sig[:n], b[:n], cls[:n], D, 0.0, 1.0, R)
            for x in range(m):
                r[x] = y[x] - R[x]
        else:
            n = n_old
            a[:n] = a_old
            u[:n] = u_old
            sig[:n] = s_old
            break
    return a[:n].copy(), u[:n].copy(), sig[:n].copy()


@numba.njit(cache=True, nogil=True)
def log_frames_into(mag, s0, u_min, lam, n_bins, max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol, out, counts,
                    start, stop):
    """Log spectrogram of frames ``start`` to ``stop - 1`` of a magnitude spectrogram ``mag`` (H, n_frames).

    Each frame's peaks (:func:`pursue_peaks`) are moved to the log axis,
    ``mu = lam ln(u / u_min)``, and drawn there with their height and width into
    ``out[:, t]`` (``out`` shape (n_bins, n_frames)); ``counts[t]`` receives the number of
    peaks. Serial and ``nogil``: run on several threads by
    :func:`sepkit.kernels.threaded.run_threaded`.
    """
    D = np.ones((1, 1))
    for t in range(start, stop):
        y = np.empty(mag.shape[0])  # a C-ordered copy of the frame
        y[:] = mag[:, t]
        a, u, sig = pursue_peaks(y, s0, max_peaks, max_iter, beta, floor, fit_iter, ftol, gtol)
        n = 0
        for k in range(a.shape[0]):
            if u[k] > 0.0:
                n += 1
        al = np.empty(n)
        mul = np.empty(n)
        sl = np.empty(n)
        j = 0
        for k in range(a.shape[0]):
            if u[k] > 0.0:
                al[j] = a[k]
                mul[j] = lam * math.log(u[k] / u_min)
                sl[j] = sig[k]
                j += 1
        col = np.empty(n_bins)
        render_log(al, mul, sl, np.zeros(n), np.zeros(n, dtype=np.int64), D, 0.0, 1.0, col)
        out[:, t] = col
        counts[t] = a.shape[0]
