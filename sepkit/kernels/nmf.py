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
- the fused KL passes (numerators of the beta = 1 half-steps without F x N temporaries)
  are in :mod:`sepkit.kernels.nmf_kl`;
- :func:`mu_step` applies one multiplicative step with penalties and exponent in place;
- :func:`normalize_columns` scales the columns of W to unit L2 norm (or unit sum) and rescales H so that
  ``W @ H`` is unchanged.

Everything is shape-generic over the "model" matrix, so the convolutive NMF (NMFD) reuses
:func:`beta_terms` / :func:`beta_divergence` on its model ``sum_tau W_tau S_tau(H)`` and
:func:`mu_step` on its stacked numerators and denominators.

Threads: :func:`beta_terms` and the reductions run over rows on threads (serial ``nogil``
range kernels run by :func:`~sepkit.kernels.threaded.run_threaded`; a ``prange`` cost 4x
the compile time); the kernels on factor-sized arrays (:func:`mu_step`,
:func:`normalize_columns`) are serial. Callers that alternate these kernels with BLAS
products in a loop should limit BLAS to one thread there (``sepkit.decomposition.nmf``
does): OpenBLAS's threads spin after their parallel regions and steal the cores. On the
2-core machine, one ``W @ H`` -> ``beta_terms`` -> ``P @ H.T`` round (1025 x 2585, K = 8,
beta = 1, with the cost) took 17 ms this way, against 25-29 ms with a serial kernel or
with both pools at two threads.

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

from .threaded import run_threaded

#: Reassociation lets the row loops vectorise (sums are still taken in a fixed order, so
#: results do not depend on the number of threads); no finite-math or reciprocal tricks.
_FASTMATH = {"reassoc", "contract", "nsz"}

__all__ = [
    "beta_divergence",
    "beta_terms",
    "frobenius_cost",
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


def _rows_total(rows) -> float:
    """``rows[0] + rows[1] + ...`` in order (so a reduction does not depend on the thread count)."""
    return float(np.cumsum(rows)[-1]) if rows.size else 0.0


def power_sum(V, beta, floor) -> float:
    """Return ``sum(max(V, floor) ** beta)`` for beta not in {0, 1} (float64).

    The V-only part of the general-beta divergence, computed once per factorisation, rows
    on threads (:func:`~sepkit.kernels.threaded.run_threaded`).

    Parameters
    ----------
    V : numpy.ndarray, shape (F, N)
        Nonnegative data.
    beta : float
    floor : float
        Values below ``floor`` are raised to it when ``beta <= 0`` (as everywhere else).
    """
    rows = np.zeros(V.shape[0])
    run_threaded(_power_sum_rows, V.shape[0], V, beta, floor, rows)
    return _rows_total(rows)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _power_sum_rows(V, beta, floor, rows, start, stop):
    """:func:`power_sum` of rows ``start`` to ``stop - 1``, into ``rows`` (F,)."""
    N = V.shape[1]
    for f in range(start, stop):
        acc = 0.0
        for n in range(N):
            v = np.float64(V[f, n])
            if beta <= 0.0 and v < floor:
                v = floor
            if v > 0.0:
                acc += math.exp(beta * math.log(v))
        rows[f] = acc


def beta_terms(V, Lam, beta, floor, P, B, v_power_sum, want_cost) -> float:
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
    rows = np.zeros(V.shape[0])
    run_threaded(_beta_terms_rows, V.shape[0], V, Lam, beta, floor, P, B, want_cost, rows)
    if not want_cost:
        return 0.0
    total = _rows_total(rows)
    if beta != 1.0 and beta != 0.0 and beta != 2.0:
        total = (total + v_power_sum) / (beta * (beta - 1.0))
    return total


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH, error_model="numpy")
def _beta_terms_rows(V, Lam, beta, floor, P, B, want_cost, rows, start, stop):
    """:func:`beta_terms` on rows ``start`` to ``stop - 1``; ``rows`` (F,) receives each row's cost terms."""
    N = V.shape[1]
    bm1 = beta - 1.0
    for f in range(start, stop):
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


def beta_divergence(V, Lam, beta, floor) -> float:
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
    rows = np.zeros(V.shape[0])
    run_threaded(_divergence_rows, V.shape[0], V, Lam, beta, floor, rows)
    return _rows_total(rows)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _divergence_rows(V, Lam, beta, floor, rows, start, stop):
    """:func:`beta_divergence` of rows ``start`` to ``stop - 1``, into ``rows`` (F,)."""
    N = V.shape[1]
    for f in range(start, stop):
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
