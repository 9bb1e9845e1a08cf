"""DictSep kernels over all frames: the linear model spectra and the per-frame pursuit losses.

Both are serial and ``nogil`` over a range of frames, run on threads
(:func:`sepkit.kernels.threaded.run_threaded`); the drivers are
:func:`sepkit.separation.dictsep.models.linear_spectra` and ``DictSep``'s blind choice of
the dictionary.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .tones import loss_log, render_lin

__all__ = ["linear_frames", "frame_losses"]


@numba.njit(cache=True, nogil=True)
def linear_frames(A, MU, SIG, B, CLS, D, u_min, lam, p, out, start, stop):
    """Draw the tones of frames ``start`` to ``stop - 1`` of every instrument on the linear axis.

    Parameters
    ----------
    A, MU, SIG, B : numpy.ndarray, shape (n_frames, n_slots)
        Amplitudes, log-bin fundamentals, widths (linear bins) and inharmonicities of the
        pursued tones; slots with ``a = 0`` or a non-finite position are skipped.
    CLS : numpy.ndarray, shape (n_frames, n_slots), int64
        Instrument of each tone (-1 for an unused slot).
    D : numpy.ndarray, shape (K, I)
        Dictionary.
    u_min : float
        Linear bin of the log axis's lowest frequency (``fmin / sr * 2H``).
    lam : float
        Log bins per natural-log unit of frequency.
    p : float
        Partial-addition exponent.
    out : numpy.ndarray, shape (I, n_frames, H)
        Output: ``out[i, t]`` is the model magnitude spectrum of instrument ``i`` in frame ``t``.
    """
    W = A.shape[1]
    n_inst = out.shape[0]
    for t in range(start, stop):
        for i in range(n_inst):
            n = 0
            for j in range(W):
                if CLS[t, j] == i and A[t, j] > 0.0 and math.isfinite(MU[t, j]):
                    n += 1
            a = np.empty(n)
            u = np.empty(n)
            s = np.empty(n)
            b = np.empty(n)
            c = np.empty(n, dtype=np.int64)
            k = 0
            for j in range(W):
                if CLS[t, j] == i and A[t, j] > 0.0 and math.isfinite(MU[t, j]):
                    a[k] = A[t, j]
                    u[k] = u_min * math.exp(MU[t, j] / lam)
                    s[k] = SIG[t, j]
                    b[k] = B[t, j]
                    c[k] = i
                    k += 1
            render_lin(a, u, s, b, c, D, p, out[i, t])


@numba.njit(cache=True, nogil=True)
def frame_losses(Y, A, MU, SIG, B, CLS, D, lam, p, q, out, start, stop):
    """Pursuit loss of frames ``start`` to ``stop - 1``.

    Parameters
    ----------
    Y : numpy.ndarray, shape (M, n_frames)
        Log spectrogram.
    A, MU, SIG, B, CLS :
        Tones per frame as in :func:`linear_frames` (widths in log bins).
    D : numpy.ndarray, shape (K, I)
        Dictionary.
    lam, p, q : float
        Log-axis scale, partial-addition and compression exponents.
    out : numpy.ndarray, shape (n_frames,)
        Output: the loss :func:`~sepkit.kernels.dictsep.tones.loss_log` of each frame.
    """
    for t in range(start, stop):
        y = np.empty(Y.shape[0])
        y[:] = Y[:, t]
        R = np.empty(Y.shape[0])
        cls = np.maximum(CLS[t], 0)  # unused slots (a = 0, mu = nan) are skipped by the renderer
        out[t] = loss_log(y, A[t], MU[t], SIG[t], B[t], cls, D, lam, p, q, R)
