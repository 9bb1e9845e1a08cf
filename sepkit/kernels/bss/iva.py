"""AuxIVA: independent vector analysis with auxiliary-function (IP) updates (Ono 2011).

Each iteration, with ``Y = W X`` and each source's frame norm over frequency
``n_s(t) = sqrt(sum_f |y_s(f, t)|^2)``:

- ``'laplace'`` prior: ``r_s(t) = 2 n_s(t)``; ``'gauss'`` prior: ``r_s(t) = n_s(t)^2 / n_freq``;
  ``r`` is floored at ``eps = 1e-15`` and ``phi_s(t) = 1 / r_s(t)``;
- for every frequency and every source in turn, the IP update of row ``s`` with
  ``V_s = (1/T) sum_t phi_s(t) x x^H`` (:func:`sepkit.kernels.bss.ip.ip_update_row`).

This is pyroomacoustics' ``auxiva`` in the determined case (``n_src == n_chan``) with the
identity as initial value, to rounding error.

Shapes (the package layout): ``X`` ``(n_freq, n_frames, n_chan)``, ``W``
``(n_freq, n_src, n_chan)``, complex128, C-contiguous. Nothing from sepkit is imported.
"""

import numba
import numpy as np

from .ip import ip_update_row, weighted_covariances

__all__ = ["EPS", "source_frame_weights", "auxiva_update", "auxiva"]

#: Floor of the variance model (pyroomacoustics' value).
EPS = 1e-15


@numba.njit(cache=True)
def source_frame_weights(X, W, laplace, phi):
    """AuxIVA's weights ``phi_s(t) = 1 / max(r_s(t), eps)`` from the current demixing.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
        Mixture STFT.
    W : numpy.ndarray of complex128, shape (n_freq, n_src, n_chan)
        Demixing matrices.
    laplace : bool
        Laplace prior (``r = 2 ||y_s(t)||``) or Gauss (``r = ||y_s(t)||^2 / n_freq``).
    phi : numpy.ndarray of float64, shape (n_frames, n_src)
        Output.
    """
    n_freq, n_frames, n_chan = X.shape
    n_src = W.shape[1]
    phi[:] = 0.0
    for f in range(n_freq):  # |y_s(f, t)|^2 summed over f straight into phi (no (S, F, T) array)
        for t in range(n_frames):
            for s in range(n_src):
                acc = 0j
                for c in range(n_chan):
                    acc += W[f, s, c] * X[f, t, c]
                phi[t, s] += acc.real * acc.real + acc.imag * acc.imag
    for t in range(n_frames):
        for s in range(n_src):
            if laplace:
                r = 2.0 * np.sqrt(phi[t, s])
            else:
                r = phi[t, s] / n_freq
            phi[t, s] = 1.0 / max(r, EPS)


@numba.njit(cache=True)
def auxiva_update(X, W, phi):
    """One IP sweep: every row of every frequency's ``W`` updated in place, sources in order.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
        Mixture STFT.
    W : numpy.ndarray of complex128, shape (n_freq, n_chan, n_chan)
        Demixing matrices (determined: ``n_src == n_chan``); updated in place.
    phi : numpy.ndarray of float64, shape (n_frames, n_chan)
        Weights of :func:`source_frame_weights` (the same for every frequency).
    """
    n_freq, n_frames, n_chan = X.shape
    C = np.empty((n_chan, n_chan, n_chan), np.complex128)
    A = np.empty((n_chan, n_chan), np.complex128)
    b = np.empty(n_chan, np.complex128)
    w = np.empty(n_chan, np.complex128)
    for f in range(n_freq):
        weighted_covariances(X, f, phi, C)
        for s in range(n_chan):
            ip_update_row(W[f], C[s], s, A, b, w)


def auxiva(X, n_iter, laplace=True, W0=None):
    """Run AuxIVA on a determined mixture.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
        Mixture STFT, C-contiguous.
    n_iter : int
        Number of iterations (each: weights from ``Y = W X``, then one IP sweep).
    laplace : bool
        Laplace (True) or Gauss source prior.
    W0 : numpy.ndarray of complex128, shape (n_freq, n_chan, n_chan), optional
        Initial demixing matrices (copied); default the identity.

    Returns
    -------
    numpy.ndarray of complex128, shape (n_freq, n_chan, n_chan)
        The demixing matrices (rows ``w_s^H``).
    """
    n_freq, n_frames, n_chan = X.shape
    if W0 is None:
        W = np.ascontiguousarray(np.broadcast_to(np.eye(n_chan, dtype=np.complex128), (n_freq, n_chan, n_chan)))
    else:
        W = np.array(W0, dtype=np.complex128, order="C")
    phi = np.empty((n_frames, n_chan))
    for _ in range(n_iter):
        source_frame_weights(X, W, laplace, phi)
        auxiva_update(X, W, phi)
    return W
