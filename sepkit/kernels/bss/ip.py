"""The iterative-projection (IP) update of one demixing row, on one frequency's small matrices.

Given the demixing matrix ``W`` (``n_chan x n_chan``, rows ``w_s^H``) and a source's weighted
covariance ``V_s = (1/T) sum_t phi_s(t) x_t x_t^H`` (Hermitian, ``n_chan x n_chan``), the
update of row ``s`` (Ono 2011) is::

    w   = (W V_s)^{-1} e_s
    w   = w / sqrt(Re(w^H V_s w))
    W[s, :] = conj(w)

after which ``W V_s w_s`` is proportional to ``e_s`` and ``w_s^H V_s w_s = 1``.
The solve is Gaussian elimination with partial pivoting on the small system (closed forms
are not worth it next to the covariance sums). A singular system (a frequency where the
mixture is exactly zero, say) leaves the row unchanged instead of writing NaN.

Pure functions on complex128 arrays; nothing from sepkit is imported.
"""

import numba
import numpy as np

__all__ = ["solve_small", "ip_update_row", "weighted_covariances"]


@numba.njit(cache=True)
def solve_small(A, b, x):
    """Solve ``A x = b`` for a small complex system by Gaussian elimination with partial pivoting.

    Parameters
    ----------
    A : numpy.ndarray of complex128, shape (n, n)
        The matrix; overwritten (its LU factors).
    b : numpy.ndarray of complex128, shape (n,)
        Right-hand side; overwritten.
    x : numpy.ndarray of complex128, shape (n,)
        Output: the solution.

    Returns
    -------
    bool
        False when a pivot is zero or not finite (``x`` is then meaningless).
    """
    n = A.shape[0]
    for k in range(n):
        p = k
        best = abs(A[k, k])
        for i in range(k + 1, n):
            v = abs(A[i, k])
            if v > best:
                best = v
                p = i
        if not (best > 0.0) or not np.isfinite(best):
            return False
        if p != k:
            for j in range(n):
                A[k, j], A[p, j] = A[p, j], A[k, j]
            b[k], b[p] = b[p], b[k]
        pivot = A[k, k]
        for i in range(k + 1, n):
            factor = A[i, k] / pivot
            if factor != 0:
                for j in range(k + 1, n):
                    A[i, j] -= factor * A[k, j]
                b[i] -= factor * b[k]
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, n):
            acc -= A[i, j] * x[j]
        x[i] = acc / A[i, i]
    return True


@numba.njit(cache=True)
def ip_update_row(W, V, s, A, b, w):
    """Replace row ``s`` of ``W`` by the IP update for the weighted covariance ``V``.

    Parameters
    ----------
    W : numpy.ndarray of complex128, shape (n_chan, n_chan)
        Demixing matrix of one frequency (rows ``w_k^H``); row ``s`` is updated in place.
    V : numpy.ndarray of complex128, shape (n_chan, n_chan)
        Hermitian weighted covariance of source ``s``.
    s : int
        The row (source) to update.
    A : numpy.ndarray of complex128, shape (n_chan, n_chan)
        Work space.
    b, w : numpy.ndarray of complex128, shape (n_chan,)
        Work space.

    Returns
    -------
    bool
        False when the system was singular or the norm not positive (row left unchanged).
    """
    n = W.shape[0]
    for i in range(n):
        for j in range(n):
            acc = 0j
            for k in range(n):
                acc += W[i, k] * V[k, j]
            A[i, j] = acc
        b[i] = 0j
    b[s] = 1.0
    if not solve_small(A, b, w):
        return False
    norm = 0.0
    for i in range(n):
        acc = 0j
        for j in range(n):
            acc += V[i, j] * w[j]
        norm += (w[i].conjugate() * acc).real
    if not (norm > 0.0) or not np.isfinite(norm):
        return False
    scale = 1.0 / np.sqrt(norm)
    for i in range(n):
        W[s, i] = w[i].conjugate() * scale
    return True


@numba.njit(cache=True)
def _covariances_2ch(X, f, phi, C):
    """:func:`weighted_covariances` for two channels and one or two sources, in registers."""
    n_frames = X.shape[1]
    n_src = phi.shape[1]
    a00 = a11 = b00 = b11 = 0.0
    a01 = b01 = 0j
    for t in range(n_frames):
        x0 = X[f, t, 0]
        x1 = X[f, t, 1]
        p00 = x0.real * x0.real + x0.imag * x0.imag
        p11 = x1.real * x1.real + x1.imag * x1.imag
        p01 = x0 * x1.conjugate()
        w = phi[t, 0]
        a00 += w * p00
        a11 += w * p11
        a01 += w * p01
        if n_src == 2:
            w = phi[t, 1]
            b00 += w * p00
            b11 += w * p11
            b01 += w * p01
    C[0, 0, 0] = a00 / n_frames
    C[0, 1, 1] = a11 / n_frames
    C[0, 0, 1] = a01 / n_frames
    C[0, 1, 0] = C[0, 0, 1].conjugate()
    if n_src == 2:
        C[1, 0, 0] = b00 / n_frames
        C[1, 1, 1] = b11 / n_frames
        C[1, 0, 1] = b01 / n_frames
        C[1, 1, 0] = C[1, 0, 1].conjugate()


@numba.njit(cache=True)
def weighted_covariances(X, f, phi, C):
    """The weighted covariances of one frequency for every source: ``C[s] = mean_t phi[t, s] x x^H``.

    Parameters
    ----------
    X : numpy.ndarray of complex128, shape (n_freq, n_frames, n_chan)
        Mixture STFT.
    f : int
        Frequency index.
    phi : numpy.ndarray of float64, shape (n_frames, n_src)
        Weights (the inverse of each source's variance model at this frequency, or over
        all frequencies for AuxIVA).
    C : numpy.ndarray of complex128, shape (n_src, n_chan, n_chan)
        Output (overwritten); each ``C[s]`` is Hermitian.
    """
    n_frames = X.shape[1]
    n_chan = X.shape[2]
    n_src = phi.shape[1]
    if n_chan == 2 and n_src <= 2:
        _covariances_2ch(X, f, phi, C)
        return
    C[:] = 0j
    for t in range(n_frames):
        for i in range(n_chan):
            xi = X[f, t, i]
            for j in range(i, n_chan):
                outer = xi * X[f, t, j].conjugate()
                for s in range(n_src):
                    C[s, i, j] += phi[t, s] * outer
    for s in range(n_src):
        for i in range(n_chan):
            C[s, i, i] = C[s, i, i].real / n_frames
            for j in range(i + 1, n_chan):
                C[s, i, j] /= n_frames
                C[s, j, i] = C[s, i, j].conjugate()
