"""Demixing and projection back (the minimal-distortion scaling of BSS outputs).

A demixed source ``y_s`` is known up to a complex scale per frequency. Projection back
(Murata, Ikeda and Ziehe 2001; Matsuoka and Nakashima 2001) picks, for each frequency and
source, the scale ``z`` that minimises ``sum_t |conj(z) y_s(f, t) - x_ref(f, t)|^2``::

    c[f, s] = sum_t conj(x_ref(f, t)) y_s(f, t) / sum_t |y_s(f, t)|^2     (1 where y_s is 0)

and the source's image at the reference microphone is ``y_s conj(c)``. Done for every
microphone, it gives each source's image at every microphone (shaped like the mixture).
The images at a microphone sum to its STFT exactly when the demixed sources are uncorrelated
over time at every frequency (then ``c`` is the mixing coefficient itself); otherwise only
approximately.

Shapes (the package layout): ``X`` ``(n_freq, n_frames, n_chan)``, ``W``
``(n_freq, n_src, n_chan)``, ``Y`` ``(n_freq, n_frames, n_src)``; complex128.
Nothing from sepkit is imported.
"""

import numba
import numpy as np

__all__ = ["demix", "source_powers", "projection_back", "images"]


@numba.njit(cache=True)
def _demixed(X, W, f, t, s):
    """``(W_f x_ft)_s``, one output of the demixing at one bin and frame."""
    acc = 0j
    for c in range(X.shape[2]):
        acc += W[f, s, c] * X[f, t, c]
    return acc


@numba.njit(cache=True)
def source_powers(X, W, P):
    """``P[s, f, t] = |(W_f x_ft)_s|^2``.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
    W : numpy.ndarray of complex128, shape (n_freq, n_src, n_chan)
    P : numpy.ndarray of float64, shape (n_src, n_freq, n_frames)
        Output.
    """
    n_freq, n_frames, _ = X.shape
    for f in range(n_freq):
        for t in range(n_frames):
            for s in range(W.shape[1]):
                acc = _demixed(X, W, f, t, s)
                P[s, f, t] = acc.real * acc.real + acc.imag * acc.imag


@numba.njit(cache=True)
def _demix(X, W, Y):
    n_freq, n_frames, _ = X.shape
    for f in range(n_freq):
        for t in range(n_frames):
            for s in range(W.shape[1]):
                Y[f, t, s] = _demixed(X, W, f, t, s)


def demix(X, W):
    """``Y[f, t] = W[f] @ X[f, t]``.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
    W : numpy.ndarray of complex128, shape (n_freq, n_src, n_chan)

    Returns
    -------
    numpy.ndarray of complex128, shape (n_freq, n_frames, n_src)
    """
    X = np.ascontiguousarray(X, dtype=np.complex128)
    W = np.ascontiguousarray(W, dtype=np.complex128)
    Y = np.empty((X.shape[0], X.shape[1], W.shape[1]), np.complex128)
    _demix(X, W, Y)
    return Y


def projection_back(Y, X_ref):
    """The projection-back scales of demixed sources onto a reference signal.

    Parameters
    ----------
    Y : numpy.ndarray of complex, shape (n_freq, n_frames, n_src)
        Demixed STFT.
    X_ref : numpy.ndarray of complex, shape (n_freq, n_frames)
        The reference microphone's STFT.

    Returns
    -------
    numpy.ndarray of complex128, shape (n_freq, n_src)
        ``c``; the image of source ``s`` at the reference is ``Y[:, :, s] * conj(c[:, None, s])``.
        ``c`` is 1 where a source is zero over all frames.
    """
    Y = np.asarray(Y, dtype=np.complex128)
    X_ref = np.asarray(X_ref, dtype=np.complex128)
    num = np.matmul(np.conj(X_ref)[:, None, :], Y)[:, 0, :]
    den = np.einsum("fts,fts->fs", Y.real, Y.real) + np.einsum("fts,fts->fs", Y.imag, Y.imag)
    c = np.ones(num.shape, np.complex128)
    nonzero = den > 0.0
    c[nonzero] = num[nonzero] / den[nonzero]
    return c


def images(Y, X, mics=None):
    """Each source's image at the microphones ``mics`` by projection back.

    Parameters
    ----------
    Y : numpy.ndarray of complex, shape (n_freq, n_frames, n_src)
        Demixed STFT.
    X : numpy.ndarray of complex, shape (n_freq, n_frames, n_chan)
        Mixture STFT.
    mics : sequence of int or None
        Microphones to project onto (None: all, in order).

    Returns
    -------
    numpy.ndarray of complex128, shape (n_freq, n_frames, n_mics, n_src)
        ``out[f, t, m, s] = Y[f, t, s] * conj(c_m[f, s])`` with ``c_m`` the scales onto mic ``mics[m]``.
    """
    Y = np.asarray(Y, dtype=np.complex128)
    mics = range(X.shape[2]) if mics is None else mics
    scales = np.stack([np.conj(projection_back(Y, X[:, :, m])) for m in mics], axis=1)  # (F, M, S)
    return Y[:, :, None, :] * scales[:, None, :, :]
