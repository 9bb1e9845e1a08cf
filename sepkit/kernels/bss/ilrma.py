"""ILRMA: determined BSS with a low-rank (IS-NMF) model of each source's power (Kitamura et al. 2016).

Source ``s`` has the variance model ``R_s(f, t) = sum_k B_s(f, k) H_s(t, k)`` (floored at
``eps = 1e-15``). Each iteration, for every source in turn, with ``P_s = |y_s|^2`` from the
start of the iteration:

- bases: ``B <- B sqrt(((P / R^2) H) / ((1 / R) H))``, floored at ``eps``;
- activations: ``H <- H sqrt(((P / R^2)^T B) / ((1 / R)^T B))``, floored at ``eps``
  (``R`` recomputed from the new bases);
- the IP update of row ``s`` of every ``W_f`` with ``V_s(f) = (1/T) sum_t x x^H / R_s(f, t)``.

Then (except after the last iteration) ``P = |W X|^2`` and every source is normalised to unit mean power:
``lambda_s = 1 / sqrt(mean P_s)``, ``P_s`` and ``B_s`` are multiplied by ``lambda_s^2`` and
row ``s`` of ``W`` by ``lambda_s``. pyroomacoustics 0.10.1 scales **column** ``s`` of ``W``
instead, and its next bases update uses the model from before the scaling (it rescales ``R``
but not its cached inverse ``1 / R``); ``compat=True`` reproduces both.

Shapes (the package layout): ``X`` ``(n_freq, n_frames, n_chan)``, ``W``
``(n_freq, n_src, n_chan)`` complex128; ``P`` ``(n_src, n_freq, n_frames)``, ``B``
``(n_src, n_freq, n_components)``, ``H`` ``(n_src, n_frames, n_components)`` float64;
all C-contiguous. Nothing from sepkit is imported.
"""

import numba
import numpy as np

from .ip import ip_update_row, weighted_covariances
from .projection import source_powers

__all__ = ["EPS", "update_bases", "update_activations", "ilrma_ip_update", "ilrma"]

#: Floor of the NMF factors and of the variance model (pyroomacoustics' value).
EPS = 1e-15

@numba.njit(cache=True)
def update_bases(P, B, H, r_scale=1.0):
    """IS-NMF multiplicative update of one source's bases, in place.

    Parameters
    ----------
    P : numpy.ndarray of float64, shape (n_freq, n_frames)
        The source's power ``|y_s|^2``.
    B : numpy.ndarray of float64, shape (n_freq, n_components)
        Bases; updated in place.
    H : numpy.ndarray of float64, shape (n_frames, n_components)
        Activations.
    r_scale : float
        The model used is ``max(r_scale B H^T, eps)``: 1 normally; pyroomacoustics' stale
        model after a normalisation by ``lambda`` is ``1 / lambda^2``.
    """
    n_freq, n_frames = P.shape
    n_comp = B.shape[1]
    num = np.empty(n_comp)
    den = np.empty(n_comp)
    for f in range(n_freq):
        num[:] = 0.0
        den[:] = 0.0
        for t in range(n_frames):
            r = 0.0
            for k in range(n_comp):
                r += B[f, k] * H[t, k]
            ir = 1.0 / max(r_scale * r, EPS)
            a = P[f, t] * ir * ir
            for k in range(n_comp):
                num[k] += a * H[t, k]
                den[k] += ir * H[t, k]
        for k in range(n_comp):
            B[f, k] = max(B[f, k] * np.sqrt(num[k] / den[k]), EPS)


@numba.njit(cache=True)
def update_activations(P, B, H):
    """IS-NMF multiplicative update of one source's activations, in place.

    Parameters
    ----------
    P : numpy.ndarray of float64, shape (n_freq, n_frames)
        The source's power ``|y_s|^2``.
    B : numpy.ndarray of float64, shape (n_freq, n_components)
        Bases.
    H : numpy.ndarray of float64, shape (n_frames, n_components)
        Activations; updated in place.
    """
    n_freq, n_frames = P.shape
    n_comp = H.shape[1]
    num = np.zeros((n_frames, n_comp))
    den = np.zeros((n_frames, n_comp))
    for f in range(n_freq):  # frequency outer: rows of P read in memory order
        for t in range(n_frames):
            r = 0.0
            for k in range(n_comp):
                r += B[f, k] * H[t, k]
            ir = 1.0 / max(r, EPS)
            a = P[f, t] * ir * ir
            for k in range(n_comp):
                num[t, k] += a * B[f, k]
                den[t, k] += ir * B[f, k]
    for t in range(n_frames):
        for k in range(n_comp):
            H[t, k] = max(H[t, k] * np.sqrt(num[t, k] / den[t, k]), EPS)


@numba.njit(cache=True)
def ilrma_ip_update(X, W, s, B, H):
    """IP update of row ``s`` of every ``W_f`` with the weights ``1 / R_s(f, t)``, in place.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
        Mixture STFT.
    W : numpy.ndarray of complex128, shape (n_freq, n_chan, n_chan)
        Demixing matrices; row ``s`` updated in place.
    s : int
        The source.
    B : numpy.ndarray of float64, shape (n_freq, n_components)
        The source's bases.
    H : numpy.ndarray of float64, shape (n_frames, n_components)
        The source's activations.
    """
    n_freq, n_frames, n_chan = X.shape
    n_comp = B.shape[1]
    phi = np.empty((n_frames, 1))
    C = np.empty((1, n_chan, n_chan), np.complex128)
    A = np.empty((n_chan, n_chan), np.complex128)
    b = np.empty(n_chan, np.complex128)
    w = np.empty(n_chan, np.complex128)
    for f in range(n_freq):
        for t in range(n_frames):
            r = 0.0
            for k in range(n_comp):
                r += B[f, k] * H[t, k]
            phi[t, 0] = 1.0 / max(r, EPS)
        weighted_covariances(X, f, phi, C)
        ip_update_row(W[f], C[0], s, A, b, w)


def ilrma(X, n_iter, bases, activations, W0=None, compat=False):
    """Run ILRMA on a determined mixture.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
        Mixture STFT, C-contiguous.
    n_iter : int
        Number of iterations.
    bases : numpy.ndarray of float64, shape (n_chan, n_freq, n_components)
        Initial bases (copied), positive.
    activations : numpy.ndarray of float64, shape (n_chan, n_frames, n_components)
        Initial activations (copied), positive.
    W0 : numpy.ndarray of complex128, shape (n_freq, n_chan, n_chan), optional
        Initial demixing matrices (copied); default the identity.
    compat : bool
        Reproduce pyroomacoustics 0.10.1: the normalisation scales column ``s`` of ``W``
        (instead of row ``s``), and the next bases update divides by the model from before
        the normalisation (pyroomacoustics rescales ``R`` but not its cached inverse).

    Returns
    -------
    W : numpy.ndarray of complex128, shape (n_freq, n_chan, n_chan)
        The demixing matrices (rows ``w_s^H``).
    B : numpy.ndarray of float64, shape (n_chan, n_freq, n_components)
    H : numpy.ndarray of float64, shape (n_chan, n_frames, n_components)
    """
    n_freq, n_frames, n_chan = X.shape
    if W0 is None:
        W = np.ascontiguousarray(np.broadcast_to(np.eye(n_chan, dtype=np.complex128), (n_freq, n_chan, n_chan)))
    else:
        W = np.array(W0, dtype=np.complex128, order="C")
    B = np.array(bases, dtype=np.float64, order="C")
    H = np.array(activations, dtype=np.float64, order="C")
    P = np.empty((n_chan, n_freq, n_frames))
    source_powers(X, W, P)
    r_scale = np.ones(n_chan)
    for it in range(n_iter):
        for s in range(n_chan):
            update_bases(P[s], B[s], H[s], r_scale[s])
            update_activations(P[s], B[s], H[s])
            ilrma_ip_update(X, W, s, B[s], H[s])
        if it == n_iter - 1:
            break  # the returned W is the one the last powers came from (as pyroomacoustics' Y)
        source_powers(X, W, P)
        for s in range(n_chan):
            mean = P[s].mean()
            r_scale[s] = 1.0
            if not mean > 0.0:
                continue  # a silent source: nothing to normalise
            lam = 1.0 / np.sqrt(mean)
            if compat:
                W[:, :, s] *= lam
                r_scale[s] = 1.0 / (lam * lam)
            else:
                W[:, s, :] *= lam
            P[s] *= lam * lam
            B[s] *= lam * lam
    return W, B, H
