"""Kernels of beta-divergence NMF: fused elementwise terms, multiplicative steps, normalisation.

The multiplicative updates (MU) of beta-NMF (standard convention: beta = 2 Euclidean,
1 Kullback-Leibler, 0 Itakura-Saito) with the model ``Lam = W @ H`` are::

    H <- H * [ W.T @ (V * Lam**(beta-2)) / (W.T @ Lam**(beta-1) + l1_H + l2_H * H) ]**gamma
    W <- W * [ (V * Lam**(beta-2)) @ H.T / (Lam**(beta-1) @ H.T + l1_W + l2_W * W) ]**gamma

with the majorise-minimise exponent ``gamma = mm_exponent(beta)``. The large contractions
(``W @ H``, ``W.T @ P``, ``P @ H.T``) stay in BLAS; the kernels here fuse what surrounds
them:

- :func:`beta_terms` turns the model ``Lam`` (F, N) into ``P = V * Lam**(beta-2)`` and
  ``B = Lam**(beta-1)`` in one pass (special cases beta = 0, 1, 2 without ``pow``; one
  ``exp``/``log`` pair per element otherwise) and returns the divergence from the same
  quantities;
- :func:`beta_divergence` is the exact divergence on its own (a reduction, ``math.log``);
- :func:`frobenius_cost` is the beta = 2 cost from the Gram-form quantities (no F x N pass);
- :func:`kl_numerator_w` and :func:`kl_numerator_h` compute the numerators of the KL (beta = 1)
  half-steps, ``(V / WH) @ H.T`` and ``W.T @ (V / WH)``, and the KL divergence, in one pass over
  V each: the model and the ratio are formed a few entries at a time in registers and never
  stored as F x N arrays (see "Fused KL passes" below);
- :func:`mu_step` applies one multiplicative step with penalties and exponent in place;
- :func:`normalize_columns` scales the columns of W to unit L2 norm (or unit sum) and rescales H so that
  ``W @ H`` is unchanged.

Everything is shape-generic over the "model" matrix, so the convolutive NMF (NMFD) reuses
:func:`beta_terms` / :func:`beta_divergence` on its model ``sum_tau W_tau S_tau(H)`` and
:func:`mu_step` on its stacked numerators and denominators.

Threads: :func:`beta_terms` and the reductions run in parallel over rows; the kernels on
factor-sized arrays (:func:`mu_step`, :func:`normalize_columns`) are serial. Callers that
alternate these kernels with BLAS products in a loop should limit BLAS to one thread
there (``sepkit.decomposition.nmf`` does): the threads of numba's OpenMP layer and of
OpenBLAS both spin after their parallel regions and steal each other's cores. On the
2-core machine, one ``W @ H`` -> ``beta_terms`` -> ``P @ H.T`` round (1025 x 2585, K = 8,
beta = 1, with the cost) took 17 ms this way, against 25-29 ms with a serial kernel or
with both pools at two threads.

Fused KL passes: with BLAS, a KL half-step is ``W @ H`` (1.5-1.9 ms on one thread at
1025 x 2585, K = 8), :func:`beta_terms` (2.4 ms) and a second product (1.8-2.2 ms), with
``Lam`` and ``V / Lam`` written to memory and read back. :func:`kl_numerator_w` and
:func:`kl_numerator_h` take 2.6-3.9 ms on one thread for the same half-step and allocate
nothing of size F x N. They are bound by their 2 K fused multiply-adds per element (16 at
K = 8: 2.0 ms at one 8-wide FMA per cycle and 2.6 GHz), not by memory; the KL cost adds
about 3 ms per pass (one table-driven ``log`` per element).

Kernels are compiled with ``error_model="numpy"``: with Python's division-by-zero checks
LLVM does not vectorise the divisions (a ``V / Lam`` pass took 4.4 ms instead of 2.1 ms).
Every division here has a floored, positive denominator.

Conventions: 2-D arrays of float64 or float32 (kernels are compiled per dtype); reductions
are accumulated per row in float64 and summed in row order, so results do not depend on
the number of threads. ``floor`` is the smallest value of the model (and, for beta <= 0,
of V): entries below it are raised to it, in the updates and in the cost alike.
"""

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

#: Reassociation lets the row loops vectorise (sums are still taken in a fixed order, so
#: results do not depend on the number of threads); no finite-math or reciprocal tricks.
_FASTMATH = {"reassoc", "contract", "nsz"}

__all__ = [
    "beta_divergence",
    "beta_terms",
    "frobenius_cost",
    "kl_numerator_h",
    "kl_numerator_w",
    "mm_exponent",
    "mu_step",
    "normalize_columns",
    "power_sum",
]


# Table-driven log for the KL cost (float64): x = 2**e * m, m in [1, 2), m = c_j (1 + r) with
# c_j = 1 + j/128 from the top 7 mantissa bits, so 0 <= r < 1/128 and log1p(r) needs 7 terms
# (truncation below 2e-18). m - c_j is exactly the low 45 mantissa bits times 2**-52, so
# r = that integer, converted, times 2**-52 / c_j: integer operations, one conversion and two
# table lookups, all of which vectorise (libm's log does not, and it dominated the cost pass;
# this form is 25-30 % faster than scaling x by a tabulated power of two).
_LOG_INVC = np.array([1.0 / (1.0 + j / 128.0) for j in range(128)])
_LOG_LOGC = np.array([-math.log(x) for x in _LOG_INVC])


def _weighted_log_sum(w, x):
    """``sum(w[i] * log(x[i]) for w[i] > 0)`` over two 1-D arrays (numba overloads below)."""
    pos = w > 0
    return float(np.sum(w[pos] * np.log(x[pos])))


@overload(_weighted_log_sum, jit_options={"fastmath": {"reassoc", "contract", "nsz"}, "error_model": "numpy"})
def _weighted_log_sum_impl(w, x):
    if isinstance(x, types.Array) and x.dtype == types.float64 and x.layout == "C":

        def fast(w, x):
            # abs. error <= 4e-16 * (1 + |log x|) per term, for x positive and normal;
            # subnormal x (< 2.2e-308) gives a finite, wrong log (its weight is then tiny)
            bits = x.view(np.uint64)
            acc = 0.0
            for i in range(x.shape[0]):
                u = bits[i]
                eb = np.int64(u >> np.uint64(52))
                j = np.int64((u >> np.uint64(45)) & np.uint64(127))
                low = np.int64(u & np.uint64(0x1FFFFFFFFFFF))
                r = np.float64(low) * (2.0**-52) * _LOG_INVC[j]
                p = r * (1.0 + r * (-0.5 + r * (1.0 / 3 + r * (-0.25 + r * (0.2 + r * (-1.0 / 6 + r * (1.0 / 7.0)))))))
                t = w[i] * ((eb - 1023) * 0.6931471805599453 + _LOG_LOGC[j] + p)
                acc += t if w[i] > 0.0 else 0.0
            return acc

        return fast

    def generic(w, x):
        acc = 0.0
        for i in range(x.shape[0]):
            if w[i] > 0.0:
                acc += w[i] * math.log(x[i])
        return acc

    return generic


@numba.njit(cache=True, error_model="numpy")
def mm_exponent(beta):
    """Majorise-minimise exponent gamma(beta) of Fevotte & Idier (2011).

    ``1 / (2 - beta)`` for beta < 1, ``1`` for 1 <= beta <= 2, ``1 / (beta - 1)`` for
    beta > 2. With it the multiplicative updates never increase the beta-divergence.
    """
    if beta < 1.0:
        return 1.0 / (2.0 - beta)
    if beta > 2.0:
        return 1.0 / (beta - 1.0)
    return 1.0


@numba.njit(parallel=True, cache=True, error_model="numpy")
def power_sum(V, beta, floor):
    """Return ``sum(max(V, floor) ** beta)`` for beta not in {0, 1} (float64).

    The V-only part of the general-beta divergence, computed once per factorisation.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data.
    beta : float
    floor : float
        Values below ``floor`` are raised to it when ``beta <= 0`` (as everywhere else).
    """
    F, N = V.shape
    rows = np.zeros(F)
    for f in numba.prange(F):
        acc = 0.0
        for n in range(N):
            v = np.float64(V[f, n])
            if beta <= 0.0 and v < floor:
                v = floor
            if v > 0.0:
                acc += math.exp(beta * math.log(v))
        rows[f] = acc
    total = 0.0
    for f in range(F):
        total += rows[f]
    return total


@numba.njit(parallel=True, cache=True, fastmath=_FASTMATH, error_model="numpy")
def beta_terms(V, Lam, beta, floor, P, B, v_power_sum, want_cost):
    """Fused MU terms ``P = V * Lam**(beta-2)``, ``B = Lam**(beta-1)`` and the divergence.

    ``Lam`` is first floored at ``floor``; for beta <= 0, V is floored likewise. ``B``
    may be ``Lam`` itself (each element is read before it is written; ``P`` and ``B`` must
    differ); so may ``P`` for beta = 1, but an aliased ``P`` defeats vectorisation. For
    beta = 1, ``B`` is not written (its MU denominator is a sum of the other factor) and
    for beta = 2 ``B`` receives the floored ``Lam``. Each row is done
    in a branch-free pass, then (``want_cost``) a second pass adds the ``log`` terms of
    beta in {0, 1} from the ratio just stored.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data.
    Lam : numpy.ndarray, shape (F, N)
        Model, e.g. ``W @ H``.
    beta : float
        Beta of the divergence (any finite real).
    floor : float
        Positive floor of the model (and of V when beta <= 0).
    P : numpy.ndarray, shape (F, N)
        Output ``V * Lam**(beta-2)`` (``V / Lam`` for beta = 1, ``V`` for beta = 2).
    B : numpy.ndarray, shape (F, N)
        Output ``Lam**(beta-1)`` (untouched for beta = 1).
    v_power_sum : float
        ``power_sum(V, beta, floor)`` for beta not in {0, 1}; ignored otherwise.
    want_cost : bool
        Compute the divergence (costs one ``log`` per element for beta in {0, 1}, and is
        free otherwise). For beta = 1 in float64 the log is table-driven and vectorised
        (absolute error <= 4e-16 (1 + |log|) per term, i.e. the cost to ~1e-15 relative
        on spectrograms); elsewhere ``math.log``.

    Returns
    -------
    float
        ``D(V | Lam) = sum d_beta(V | Lam)`` if ``want_cost``, else 0.0.
    """
    F, N = V.shape
    rows = np.zeros(F)
    bm1 = beta - 1.0
    for f in numba.prange(F):
        acc = 0.0
        if beta == 1.0:
            for n in range(N):
                lam = max(Lam[f, n], floor)
                v = V[f, n]
                P[f, n] = v / lam
                acc += lam - v
            if want_cost:
                acc += _weighted_log_sum(V[f], P[f])
        elif beta == 0.0:
            for n in range(N):
                r = 1.0 / max(Lam[f, n], floor)
                q = max(V[f, n], floor) * r
                P[f, n] = q * r
                B[f, n] = r
                acc += q - 1.0
            if want_cost:
                for n in range(N):
                    acc -= math.log(max(V[f, n], floor) * B[f, n])
        elif beta == 2.0:
            for n in range(N):
                lam = max(Lam[f, n], floor)
                v = V[f, n]
                P[f, n] = v
                B[f, n] = lam
                d = v - lam
                acc += 0.5 * d * d
        else:
            for n in range(N):
                lam = max(Lam[f, n], floor)
                v = max(V[f, n], floor) if beta < 0.0 else V[f, n]
                b = math.exp(bm1 * math.log(lam))
                P[f, n] = v * b / lam
                B[f, n] = b
                # (beta-1) lam^beta - beta v lam^(beta-1); the V^beta part is summed apart
                acc += b * (bm1 * lam - beta * v)
        rows[f] = acc
    if not want_cost:
        return 0.0
    total = 0.0
    for f in range(F):
        total += rows[f]
    if beta != 1.0 and beta != 0.0 and beta != 2.0:
        total = (total + v_power_sum) / (beta * bm1)
    return total


@numba.njit(parallel=True, cache=True, error_model="numpy")
def beta_divergence(V, Lam, beta, floor):
    """Exact ``D(V | Lam) = sum d_beta(V | Lam)`` with the same flooring as :func:`beta_terms`.

    ``d_1(x|y) = x log(x/y) - x + y`` (``= y`` at x = 0), ``d_0(x|y) = x/y - log(x/y) - 1``,
    ``d_2 = (x - y)**2 / 2`` and ``(x**b + (b-1) y**b - b x y**(b-1)) / (b (b-1))`` otherwise.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data.
    Lam : numpy.ndarray, shape (F, N)
        Model.
    beta : float
    floor : float
        ``Lam`` (and V for beta <= 0) is floored at this value; 0 disables flooring.

    Returns
    -------
    float
    """
    F, N = V.shape
    rows = np.zeros(F)
    for f in numba.prange(F):
        acc = 0.0
        for n in range(N):
            y = np.float64(Lam[f, n])
            y = max(y, floor)
            x = np.float64(V[f, n])
            if beta <= 0.0 and x < floor:
                x = floor
            if beta == 1.0:
                term = y - x
                if x > 0.0:
                    term += x * math.log(x / y)
            elif beta == 0.0:
                q = x / y
                term = q - math.log(q) - 1.0
            elif beta == 2.0:
                term = 0.5 * (x - y) * (x - y)
            else:
                xb = math.exp(beta * math.log(x)) if x > 0.0 else 0.0
                yb1 = math.exp((beta - 1.0) * math.log(y))
                term = (xb + (beta - 1.0) * yb1 * y - beta * x * yb1) / (beta * (beta - 1.0))
            acc += term
        rows[f] = acc
    total = 0.0
    for f in range(F):
        total += rows[f]
    return total


@numba.njit(cache=True, error_model="numpy")
def frobenius_cost(v_sq_sum, num_W, W, gram_W, gram_H):
    """Half squared Frobenius error ``||V - W H||^2 / 2`` from the Gram-form W-step terms.

    ``= (||V||^2 - 2 <V H^T, W> + <W^T W, H H^T>) / 2``: no F x N pass. Exact up to
    cancellation (relative roundoff about ``eps * ||V||^2 / cost``).

    Parameters
    ----------
    v_sq_sum : float
        ``||V||_F^2``.
    num_W : numpy.ndarray, shape (F, K)
        ``V @ H.T``.
    W : numpy.ndarray, shape (F, K)
    gram_W : numpy.ndarray, shape (K, K)
        ``W.T @ W``.
    gram_H : numpy.ndarray, shape (K, K)
        ``H @ H.T``.
    """
    F, K = W.shape
    cross = 0.0
    for f in range(F):
        for k in range(K):
            cross += num_W[f, k] * W[f, k]
    quad = 0.0
    for i in range(K):
        for j in range(K):
            quad += gram_W[i, j] * gram_H[i, j]
    return 0.5 * (v_sq_sum - 2.0 * cross + quad)


@numba.njit(cache=True, error_model="numpy")
def mu_step(X, num, den, l1, l2, gamma):
    """Multiplicative step in place: ``X *= (num / (den + l1 + l2 * X)) ** gamma``.

    ``den`` broadcasts: pass shape (1, n) for a per-column sum (beta = 1, H step: column
    sums of W as a (K, 1) array; W step: row sums of H as a (1, K) array). A denominator
    that is not positive (a dead component) gives a zero step where the numerator is 0.

    Parameters
    ----------
    X : numpy.ndarray, shape (m, n)
        Factor (W or H), updated in place.
    num : numpy.ndarray, shape (m, n)
        Numerator (e.g. ``W.T @ P`` or ``P @ H.T``).
    den : numpy.ndarray, shape (m, n), (m, 1) or (1, n)
        Denominator without penalties.
    l1, l2 : float
        Nonnegative L1 and L2 penalty weights.
    gamma : float
        Exponent (``mm_exponent(beta)``); 1 and 0.5 avoid ``pow``.
    """
    m, n = X.shape
    si = 0 if den.shape[0] == 1 else 1  # broadcast strides
    sj = 0 if den.shape[1] == 1 else 1
    for i in range(m):
        di = i * si
        for j in range(n):
            dj = j * sj
            x = X[i, j]
            d = den[di, dj] + l1 + l2 * x
            if not d > 0.0:
                d = 2.2250738585072014e-308
            r = num[i, j] / d
            if gamma == 1.0:
                X[i, j] = x * r
            elif gamma == 0.5:
                X[i, j] = x * math.sqrt(r)
            elif r > 0.0:
                X[i, j] = x * math.exp(gamma * math.log(r))
            else:
                X[i, j] = 0.0


@numba.njit(cache=True, error_model="numpy")
def normalize_columns(W, H, order):
    """Scale each column of W to unit norm and row k of H by the same factor, in place.

    ``W @ H`` is unchanged (up to roundoff). Zero columns are left as they are.

    Parameters
    ----------
    W : numpy.ndarray, shape (F, K)
        Nonnegative templates.
    H : numpy.ndarray, shape (K, N)
        Activations.
    order : int
        1 for unit-sum columns (L1), 2 for unit Euclidean norm (L2).
    """
    F, K = W.shape
    N = H.shape[1]
    sums = np.zeros(K)
    for f in range(F):
        for k in range(K):
            w = np.float64(W[f, k])
            sums[k] += w * w if order == 2 else w
    for k in range(K):
        s = math.sqrt(sums[k]) if order == 2 else sums[k]
        if s > 0.0:
            inv = 1.0 / s
            for f in range(F):
                W[f, k] *= inv
            for n in range(N):
                H[k, n] *= s


# ------------------------------------------------------------------ fused KL passes
#
# One KL half-step needs, besides sums of the other factor, the numerator
# ``(V / Lam) @ H.T`` (W step) or ``W.T @ (V / Lam)`` (H step) with ``Lam = max(W @ H, floor)``.
# With BLAS that is two F x N x K products and an elementwise pass, and Lam and V / Lam are
# written to memory and read back (about 100 MB of traffic per half-step at 1025 x 2585).
# The kernels below form Lam[f, n] and q = V[f, n] / Lam[f, n] in registers instead: the loop
# over n is vectorised and the K products of a block of 8 components are unrolled, so each
# element costs 2 K fused multiply-adds, one division and one read of V. Components are
# taken 8 at a time (a block past K reads a zero row); for K <= 8 two rows f are done per
# pass over the factor rows, which keeps both FMA pipes busy. Every output entry is a sum
# in a fixed order, whatever the number of threads.

#: Column tile of :func:`kl_numerator_h` (a K x 64 tile of H and of the numerator fit in L1).
_KL_TILE = 64
#: Row chunks of :func:`kl_numerator_w` (each allocates its scratch once).
_KL_CHUNKS = 64


@numba.njit(inline="always")
def _rows8(X, k, K, n0, n1, zero):
    """Views ``X[k + j, n0:n1]`` for j < 8, the zero row where ``k + j >= K``."""
    return (
        X[k, n0:n1] if k < K else zero,
        X[k + 1, n0:n1] if k + 1 < K else zero,
        X[k + 2, n0:n1] if k + 2 < K else zero,
        X[k + 3, n0:n1] if k + 3 < K else zero,
        X[k + 4, n0:n1] if k + 4 < K else zero,
        X[k + 5, n0:n1] if k + 5 < K else zero,
        X[k + 6, n0:n1] if k + 6 < K else zero,
        X[k + 7, n0:n1] if k + 7 < K else zero,
    )


@numba.njit(inline="always")
def _vals8(W, f, k, K):
    """``W[f, k + j]`` as float64 for j < 8, 0.0 where ``k + j >= K``."""
    z = 0.0
    return (
        np.float64(W[f, k]) if k < K else z,
        np.float64(W[f, k + 1]) if k + 1 < K else z,
        np.float64(W[f, k + 2]) if k + 2 < K else z,
        np.float64(W[f, k + 3]) if k + 3 < K else z,
        np.float64(W[f, k + 4]) if k + 4 < K else z,
        np.float64(W[f, k + 5]) if k + 5 < K else z,
        np.float64(W[f, k + 6]) if k + 6 < K else z,
        np.float64(W[f, k + 7]) if k + 7 < K else z,
    )


@numba.njit(inline="always")
def _store8(num, f, k, K, s0, s1, s2, s3, s4, s5, s6, s7):
    """``num[f, k + j] = s_j`` for the j < 8 with ``k + j < K``."""
    vals = (s0, s1, s2, s3, s4, s5, s6, s7)
    for j in range(8):
        if k + j < K:
            num[f, k + j] = vals[j]


@numba.njit(fastmath=_FASTMATH, error_model="numpy", inline="always")
def _kl_row_w(V, W, H, floor, num, f, lam, q, zero, want_cost):
    """W-step numerator of row f, any K (blocks of 8 components); returns the row's KL terms."""
    N = V.shape[1]
    K = W.shape[1]
    vf = V[f]
    kl = ((K - 1) // 8) * 8  # first component of the last block
    for t in range(N):
        lam[t] = 0.0
    for kb in range(0, kl, 8):
        h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, kb, K, 0, N, zero)
        w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kb, K)
        for t in range(N):
            lam[t] += (w0 * h0[t] + w1 * h1[t] + w2 * h2[t] + w3 * h3[t]) + (
                w4 * h4[t] + w5 * h5[t] + w6 * h6[t] + w7 * h7[t])
    h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, kl, K, 0, N, zero)
    w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kl, K)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    acc = 0.0
    for t in range(N):
        x0, x1, x2, x3 = h0[t], h1[t], h2[t], h3[t]
        x4, x5, x6, x7 = h4[t], h5[t], h6[t], h7[t]
        lm = lam[t] + (w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3) + (w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7)
        lm = max(lm, floor)
        v = np.float64(vf[t])
        r = v / lm
        q[t] = r
        acc += lm - v
        s0 += r * x0
        s1 += r * x1
        s2 += r * x2
        s3 += r * x3
        s4 += r * x4
        s5 += r * x5
        s6 += r * x6
        s7 += r * x7
    _store8(num, f, kl, K, s0, s1, s2, s3, s4, s5, s6, s7)
    for kb in range(0, kl, 8):
        h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, kb, K, 0, N, zero)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
        for t in range(N):
            r = q[t]
            s0 += r * h0[t]
            s1 += r * h1[t]
            s2 += r * h2[t]
            s3 += r * h3[t]
            s4 += r * h4[t]
            s5 += r * h5[t]
            s6 += r * h6[t]
            s7 += r * h7[t]
        _store8(num, f, kb, K, s0, s1, s2, s3, s4, s5, s6, s7)
    if want_cost:
        acc += _weighted_log_sum(vf, q)
    return acc


@numba.njit(fastmath=_FASTMATH, error_model="numpy", inline="always")
def _kl_rows2_w(V, W, H, floor, num, f, qa, qb, zero, want_cost, rows):
    """W-step numerators of rows f and f + 1 for K <= 8; their KL terms go to ``rows``."""
    N = V.shape[1]
    K = W.shape[1]
    va = V[f]
    vb = V[f + 1]
    h0, h1, h2, h3, h4, h5, h6, h7 = _rows8(H, 0, K, 0, N, zero)
    u0, u1, u2, u3, u4, u5, u6, u7 = _vals8(W, f, 0, K)
    w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f + 1, 0, K)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0.0
    acc_a = 0.0
    acc_b = 0.0
    for t in range(N):
        x0, x1, x2, x3 = h0[t], h1[t], h2[t], h3[t]
        x4, x5, x6, x7 = h4[t], h5[t], h6[t], h7[t]
        la = (u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3) + (u4 * x4 + u5 * x5 + u6 * x6 + u7 * x7)
        lb = (w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3) + (w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7)
        la = max(la, floor)
        lb = max(lb, floor)
        a = np.float64(va[t])
        b = np.float64(vb[t])
        ra = a / la
        rb = b / lb
        qa[t] = ra
        qb[t] = rb
        acc_a += la - a
        acc_b += lb - b
        s0 += ra * x0
        s1 += ra * x1
        s2 += ra * x2
        s3 += ra * x3
        s4 += ra * x4
        s5 += ra * x5
        s6 += ra * x6
        s7 += ra * x7
        p0 += rb * x0
        p1 += rb * x1
        p2 += rb * x2
        p3 += rb * x3
        p4 += rb * x4
        p5 += rb * x5
        p6 += rb * x6
        p7 += rb * x7
    _store8(num, f, 0, K, s0, s1, s2, s3, s4, s5, s6, s7)
    _store8(num, f + 1, 0, K, p0, p1, p2, p3, p4, p5, p6, p7)
    if want_cost:
        acc_a += _weighted_log_sum(va, qa)
        acc_b += _weighted_log_sum(vb, qb)
    rows[f] = acc_a
    rows[f + 1] = acc_b


@numba.njit(parallel=True, cache=True, fastmath=_FASTMATH, error_model="numpy")
def kl_numerator_w(V, W, H, floor, num, want_cost):
    """Numerator of the KL W step, ``num = (V / Lam) @ H.T`` with ``Lam = max(W @ H, floor)``.

    One pass over V, parallel over rows; ``Lam`` and ``V / Lam`` are never stored as
    F x N arrays. The KL step is then ``W *= num / (H.sum(axis=1) + ...)``
    (:func:`mu_step`). Each ``num[f, k]`` is a sum over n in a fixed order, so the
    result does not depend on the number of threads.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data (C-contiguous).
    W : numpy.ndarray, shape (F, K)
        Templates.
    H : numpy.ndarray, shape (K, N)
        Activations (C-contiguous).
    floor : float
        Positive floor of the model.
    num : numpy.ndarray of float64, shape (F, K)
        Output.
    want_cost : bool
        Also compute ``D_1(V | Lam)`` (one table-driven ``log`` per element, see
        :func:`beta_terms`).

    Returns
    -------
    float
        The KL divergence ``D_1(V | Lam)`` if ``want_cost``, else 0.0.
    """
    F, N = V.shape
    K = W.shape[1]
    rows = np.zeros(F)
    n_pairs = (F + 1) // 2
    n_chunks = min(_KL_CHUNKS, n_pairs)
    for c in numba.prange(n_chunks):
        p0 = c * n_pairs // n_chunks
        p1 = (c + 1) * n_pairs // n_chunks
        qa = np.empty(N)
        qb = np.empty(N)
        zero = np.zeros(N, dtype=H.dtype)
        for p in range(p0, p1):
            f = 2 * p
            if K <= 8 and f + 1 < F:
                _kl_rows2_w(V, W, H, floor, num, f, qa, qb, zero, want_cost, rows)
            else:
                for g in range(f, min(f + 2, F)):
                    rows[g] = _kl_row_w(V, W, H, floor, num, g, qa, qb, zero, want_cost)
    if not want_cost:
        return 0.0
    total = 0.0
    for f in range(F):
        total += rows[f]
    return total


@numba.njit(parallel=True, cache=True, fastmath=_FASTMATH, error_model="numpy")
def kl_numerator_h(V, W, H, floor, num, want_cost):
    """Numerator of the KL H step, ``num = W.T @ (V / Lam)`` with ``Lam = max(W @ H, floor)``.

    One pass over V, parallel over tiles of 64 columns (each thread accumulates its own
    columns of ``num`` over all rows f, in order); ``Lam`` and ``V / Lam`` are never stored
    as F x N arrays. The KL step is then ``H *= num / (W.sum(axis=0)[:, None] + ...)``.
    The result does not depend on the number of threads.

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data (C-contiguous).
    W : numpy.ndarray, shape (F, K)
        Templates.
    H : numpy.ndarray, shape (K, N)
        Activations.
    floor : float
        Positive floor of the model.
    num : numpy.ndarray of float64, shape (K, N)
        Output.
    want_cost : bool
        Also compute ``D_1(V | Lam)`` (slower: one ``log`` per element and no two-row
        blocking).

    Returns
    -------
    float
        The KL divergence ``D_1(V | Lam)`` if ``want_cost``, else 0.0.
    """
    F, N = V.shape
    K = W.shape[1]
    T = _KL_TILE
    n_tiles = (N + T - 1) // T
    Kp = ((K + 7) // 8) * 8
    tile_cost = np.zeros(n_tiles)
    for b in numba.prange(n_tiles):
        n0 = b * T
        n1 = min(N, n0 + T)
        L = n1 - n0
        ht = np.zeros((Kp, L))
        acc = np.zeros((Kp, L))
        lam = np.empty(L)
        q = np.empty(L)
        for k in range(K):
            for t in range(L):
                ht[k, t] = H[k, n0 + t]
        cost = 0.0
        f = 0
        if Kp == 8 and not want_cost:
            g0, g1, g2, g3, g4, g5, g6, g7 = _rows8(ht, 0, 8, 0, L, lam)
            a0, a1, a2, a3, a4, a5, a6, a7 = _rows8(acc, 0, 8, 0, L, lam)
            while f + 2 <= F:
                u0, u1, u2, u3, u4, u5, u6, u7 = _vals8(W, f, 0, K)
                w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f + 1, 0, K)
                va = V[f, n0:n1]
                vb = V[f + 1, n0:n1]
                for t in range(L):
                    x0, x1, x2, x3 = g0[t], g1[t], g2[t], g3[t]
                    x4, x5, x6, x7 = g4[t], g5[t], g6[t], g7[t]
                    la = (u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3) + (u4 * x4 + u5 * x5 + u6 * x6 + u7 * x7)
                    lb = (w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3) + (w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7)
                    ra = np.float64(va[t]) / max(la, floor)
                    rb = np.float64(vb[t]) / max(lb, floor)
                    a0[t] += u0 * ra + w0 * rb
                    a1[t] += u1 * ra + w1 * rb
                    a2[t] += u2 * ra + w2 * rb
                    a3[t] += u3 * ra + w3 * rb
                    a4[t] += u4 * ra + w4 * rb
                    a5[t] += u5 * ra + w5 * rb
                    a6[t] += u6 * ra + w6 * rb
                    a7[t] += u7 * ra + w7 * rb
                f += 2
        while f < F:  # any K, one row at a time (and the cost if wanted)
            vf = V[f, n0:n1]
            for t in range(L):
                lam[t] = 0.0
            for kb in range(0, Kp, 8):
                g0, g1, g2, g3, g4, g5, g6, g7 = _rows8(ht, kb, Kp, 0, L, lam)
                w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kb, K)
                for t in range(L):
                    lam[t] += (w0 * g0[t] + w1 * g1[t] + w2 * g2[t] + w3 * g3[t]) + (
                        w4 * g4[t] + w5 * g5[t] + w6 * g6[t] + w7 * g7[t])
            for t in range(L):
                lm = max(lam[t], floor)
                v = np.float64(vf[t])
                q[t] = v / lm
                cost += lm - v
            if want_cost:
                cost += _weighted_log_sum(vf, q)
            for kb in range(0, Kp, 8):
                a0, a1, a2, a3, a4, a5, a6, a7 = _rows8(acc, kb, Kp, 0, L, lam)
                w0, w1, w2, w3, w4, w5, w6, w7 = _vals8(W, f, kb, K)
                for t in range(L):
                    r = q[t]
                    a0[t] += w0 * r
                    a1[t] += w1 * r
                    a2[t] += w2 * r
                    a3[t] += w3 * r
                    a4[t] += w4 * r
                    a5[t] += w5 * r
                    a6[t] += w6 * r
                    a7[t] += w7 * r
            f += 1
        for k in range(K):
            for t in range(L):
                num[k, n0 + t] = acc[k, t]
        tile_cost[b] = cost
    if not want_cost:
        return 0.0
    total = 0.0
    for b in range(n_tiles):
        total += tile_cost[b]
    return total

