"""Kernels of convolutive NMF (NMFD): shift stacks, shift-accumulations, prefix sums, NEMA.

The NMFD model with K components of T frames is ``Lam = sum_tau W_tau @ S_tau(H)``, where
``W_tau`` (F, K) holds frame tau of every template and ``S_tau`` shifts the columns of H
(K, N) right by tau with zero fill. Stacking the taps turns it into one product::

    W_stack[:, tau*K + k] = W_tau[:, k]                  (F, T*K)
    H_stack[tau*K + k, n] = H[k, n - tau]  (0 if n < tau) (T*K, N)
    Lam = W_stack @ H_stack

so every large contraction of a multiplicative-update iteration is one BLAS GEMM of size
F x T*K x N (``W_stack @ H_stack``, ``P @ H_stack.T``, ``W_stack.T @ P``). The kernels here
do what surrounds those products, each in one pass over arrays of T*K x N or K x N entries
(no temporaries, no Python loops):

- :func:`shift_stack` builds ``H_stack`` from H;
- :func:`shift_accumulate` folds a tap-stacked product back onto H's frames,
  ``out[k, n] = sum_tau P[tau*K + k, n + tau]`` (the numerator and denominator of the exact
  H update, ``sum_tau W_tau.T @ S_-tau(P)``);
- :func:`average_tap_ratios` is the averaged H update of Smaragdis (2004) as in libnmfd,
  the mean over taps of the per-tap ratios ``num_tau / den_tau``;
- :func:`shifted_row_sums` gives the row sums of every ``S_tau(H)`` from prefix sums (the W
  denominators of the Kullback-Leibler update);
- :func:`nema` is the non-linear exponential moving average used to smooth drum
  activations (``y[n] = max(x[n], d * y[n-1] + (1 - d) * x[n])`` per row).

The elementwise beta terms, the divergence and the multiplicative step itself are those of
beta-NMF, :func:`sepkit.kernels.nmf.beta_terms`, :func:`~sepkit.kernels.nmf.beta_divergence`
and :func:`~sepkit.kernels.nmf.mu_step`, applied to the stacked arrays.

All kernels are serial (they touch O(T*K*N) entries, tens of microseconds at K = 4, T = 8,
N = 2584: less than a thread start-up), compiled with ``cache=True`` and
``error_model="numpy"``, for float64 and float32 arrays. Sums are taken in a fixed order.
"""

import numba
import numpy as np

__all__ = [
    "average_tap_ratios",
    "nema",
    "shift_accumulate",
    "shift_stack",
    "shifted_row_sums",
]


@numba.njit(cache=True, error_model="numpy")
def shift_stack(H, T, out):
    """Stack the right-shifted copies of H: ``out[tau*K + k, n] = H[k, n - tau]`` (0 for n < tau).

    Parameters
    ----------
    H : numpy.ndarray, shape (K, N)
        Activations.
    T : int
        Number of taps (template frames), T >= 1. Shifts of N frames or more give zero rows.
    out : numpy.ndarray, shape (T*K, N)
        Output ``H_stack``; every entry is written.
    """
    K, N = H.shape
    for tau in range(T):
        s = min(tau, N)
        for k in range(K):
            r = tau * K + k
            for n in range(s):
                out[r, n] = 0.0
            for n in range(s, N):
                out[r, n] = H[k, n - s]


@numba.njit(cache=True, error_model="numpy")
def shift_accumulate(P, K, out):
    """Fold a tap-stacked array onto the frames: ``out[k, n] = sum_tau P[tau*K + k, n + tau]``.

    Terms with ``n + tau >= N`` are left out (the adjoint of :func:`shift_stack`). With
    ``P = W_stack.T @ X`` this is ``sum_tau W_tau.T @ S_-tau(X)``, the exact H numerator
    (X = V * Lam**(beta-2)) or denominator (X = Lam**(beta-1)) of NMFD.

    Parameters
    ----------
    P : numpy.ndarray, shape (T*K, N) or (T*K, 1)
        Tap-stacked values; a single column is broadcast over the N frames of ``out`` (e.g.
        the column sums of each ``W_tau``, the exact Kullback-Leibler H denominator).
    K : int
        Number of components; T = P.shape[0] // K.
    out : numpy.ndarray, shape (K, N)
        Output, overwritten.
    """
    TK = P.shape[0]
    T = TK // K
    N = out.shape[1]
    bc = P.shape[1] == 1
    for k in range(K):
        for n in range(N):
            out[k, n] = 0.0
    for tau in range(T):
        m = max(N - tau, 0)
        for k in range(K):
            r = tau * K + k
            if bc:
                c = P[r, 0]
                for n in range(m):
                    out[k, n] += c
            else:
                for n in range(m):
                    out[k, n] += P[r, n + tau]


@numba.njit(cache=True, error_model="numpy")
def average_tap_ratios(num, den, l1, K, out):
    """Mean over taps of per-tap MU ratios: ``out[k, n] = (1/T) sum_tau num[i, n+tau] / (den[i, n+tau] + l1)``.

    with ``i = tau*K + k``; taps with ``n + tau >= N`` contribute 0 but are still counted
    (T is the divisor everywhere), as in libnmfd's ``nmfd``. This is the averaged H update
    of Smaragdis (2004): ``H <- H * out``. A denominator ``den + l1`` that is not positive
    (dead component) counts as the smallest positive double, so a zero numerator gives 0.

    Parameters
    ----------
    num : numpy.ndarray, shape (T*K, N)
        ``W_stack.T @ (V * Lam**(beta-2))``.
    den : numpy.ndarray, shape (T*K, N) or (T*K, 1)
        ``W_stack.T @ Lam**(beta-1)``, or for beta = 1 the column sums of each ``W_tau``
        as one column (broadcast over frames).
    l1 : float
        Added to every denominator (an L1 penalty weight on H).
    K : int
        Number of components; T = num.shape[0] // K.
    out : numpy.ndarray, shape (K, N)
        Output, overwritten.
    """
    TK, N = num.shape
    T = TK // K
    bc = den.shape[1] == 1
    for k in range(K):
        for n in range(N):
            out[k, n] = 0.0
    for tau in range(T):
        m = max(N - tau, 0)
        for k in range(K):
            r = tau * K + k
            if bc:
                d = den[r, 0] + l1
                if not d > 0.0:
                    d = 2.2250738585072014e-308
                inv = 1.0 / d
                for n in range(m):
                    out[k, n] += num[r, n + tau] * inv
            else:
                for n in range(m):
                    d = den[r, n + tau] + l1
                    if not d > 0.0:
                        d = 2.2250738585072014e-308
                    out[k, n] += num[r, n + tau] / d
    scale = 1.0 / T
    for k in range(K):
        for n in range(N):
            out[k, n] *= scale


@numba.njit(cache=True, error_model="numpy")
def shifted_row_sums(H, T, out):
    """Row sums of every shifted H: ``out[0, tau*K + k] = sum_n S_tau(H)[k, n] = sum_{n < N-tau} H[k, n]``.

    The row sums of ``H_stack`` (the W denominators of the Kullback-Leibler update) from one
    prefix-sum pass per row, O(K*N + T*K) instead of O(T*K*N). Accumulated in float64.

    Parameters
    ----------
    H : numpy.ndarray, shape (K, N)
        Activations.
    T : int
        Number of taps, T >= 1.
    out : numpy.ndarray, shape (1, T*K)
        Output (a row, to broadcast over the F rows of the W step), overwritten.
    """
    K, N = H.shape
    for k in range(K):
        # prefix[j] = sum_{n < j} H[k, n] for the T lengths needed: N, N-1, ..., N-T+1
        total = 0.0
        lo = max(N - T + 1, 0)
        for n in range(lo):
            total += H[k, n]
        # total = prefix[lo]; walk up to N, recording prefix[N - tau] on the way
        for j in range(lo, N + 1):
            tau = N - j
            if tau < T:
                out[0, tau * K + k] = total
            if j < N:
                total += H[k, j]
        for tau in range(N + 1, T):  # shifts beyond the signal: empty rows
            out[0, tau * K + k] = 0.0


@numba.njit(cache=True, error_model="numpy")
def nema(X, decay):
    """Non-linear exponential moving average per row: ``y[n] = max(x[n], d*y[n-1] + (1-d)*x[n])``.

    ``y[0] = x[0]``. Peaks pass unchanged and decay exponentially afterwards (a drum hit's
    activation with its release), as libnmfd's ``nema``; the decay of each row is clipped
    to [0, 0.9999999].

    Parameters
    ----------
    X : numpy.ndarray, shape (K, N)
        Rows of time series (e.g. activations).
    decay : numpy.ndarray, shape (K,)
        Decay ``d`` of each row (repeat a scalar for one decay everywhere).

    Returns
    -------
    numpy.ndarray, shape (K, N)
        The filtered rows, same dtype as X (a new array).
    """
    K, N = X.shape
    Y = np.empty_like(X)
    for k in range(K):
        d = min(max(decay[k], 0.0), 0.9999999)
        if N == 0:
            continue
        y = X[k, 0]
        Y[k, 0] = y
        for n in range(1, N):
            x = X[k, n]
            y = max(x, d * y + (1.0 - d) * x)
            Y[k, n] = y
    return Y
