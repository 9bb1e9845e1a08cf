"""Kernels of separable NMF (SNPA, XRAY): column projections, the FPGM inner solver, residual norms.

Separable NMF picks ``k`` columns ``U = X[:, K]`` of the data X (m, n) and fits every column
``x_j ~ U h_j``. With ``G = U.T @ U`` (k, k) and ``B = U.T @ X`` (k, n), everything the inner
problem needs is O(k^2 n) -- no pass over X:

- :func:`project_delta` projects each column of an array onto
  ``Delta = {x >= 0, sum(x) <= 1}`` (sort-based, Gillis 2014, App. A.1; Michelot's
  iteration for more than 16 rows);
  :func:`project_nonneg` onto the nonnegative orthant;
- :func:`fpgm_step` is one step of the fast projected gradient method (FPGM) of Gillis'
  ``nnls_FPGM``, ``H+ = Proj(Y - (G Y - B) / L)``, ``Y = H+ + beta (H+ - H)``: the gradient
  step, projection and momentum update fused in one pass; :func:`fpgm` runs the whole loop
  (``G Y`` in BLAS, momentum schedule, stopping rule) in one compiled call;
- :func:`residual_norms` gives ``||x_j - U h_j||^2 = n0_j - 2 h_j.T (U.T x_j) + h_j.T G h_j``
  for every column without forming the residual;
- :func:`xray_scores` gives XRAY's greedy detection score ``||R.T x_j||^2`` of every column
  from the Gram-form quantities, again without forming R.

Layout: the solvers keep the coefficients **transposed**, ``HT`` of shape (n, k) with one
C-contiguous row per data column (likewise ``BT = B.T``), so that the per-column work
(a k x k product, a sort, the update) reads and writes contiguous memory. ``G`` is
symmetric, so ``(G @ Y).T = Y.T @ G``.

``G @ Y`` stays in BLAS. Measured on the shared 2-core machine (200 steps, simplex
projection, minimum of 9 runs, BLAS at one thread): n = 400, k = 6: 3.0 ms with BLAS
called inside the compiled loop, 8.0 ms with the same kernels driven from a Python loop,
9.1 ms with ``G @ Y`` fused into the step as a k x k loop; n = 2584, k = 8: 27 / 32 / 44 ms;
k = 20: 90 / 83 / 134 ms. A threaded (``prange``) step was 2-10 times slower than the serial
one on the loaded machine (a parallel region per step costs more than the step's work), so
the FPGM step is serial and BLAS is limited to one thread around it.

Parallelism: :func:`project_delta` and :func:`project_nonneg` use ``prange`` over columns
(in chunks with one scratch buffer each). :func:`residual_norms` and :func:`xray_scores`
are serial: at O(n k^2) per call, waking numba's thread pool cost more (about 20 ms per
call on the loaded machine, against well under 1 ms of work). Compiled with
``error_model="numpy"`` (no Python division checks).
"""

import math

import numba
import numpy as np

__all__ = [
    "fpgm",
    "fpgm_step",
    "momentum_schedule",
    "project_delta",
    "project_nonneg",
    "residual_norms",
    "xray_scores",
]

#: Columns per parallel chunk: enough work per task, and one scratch buffer per chunk.
_CHUNK = 64
#: Largest k projected onto Delta by sorting (insertion sort); Michelot's iteration beyond.
#: 200 FPGM steps on 2585 columns: k = 8: 24-31 ms sorting, 31-53 ms Michelot; k = 16: equal
#: (70-87 ms); k = 20: 225 against 121-131 ms; k = 50: 1220-1290 (an in-place quicksort)
#: against 515 ms.
_INSERTION_MAX = 16


@numba.njit(cache=True, error_model="numpy")
def _delta_inplace(z, buf):
    """Project the 1-D vector ``z`` (k,) onto Delta = {x >= 0, sum x <= 1} in place.

    ``buf`` (k,) is scratch. If ``sum(max(z, 0)) <= 1`` the result is ``max(z, 0)``;
    otherwise it is the projection onto the probability simplex, ``x = max(z - theta, 0)``.
    For k <= 16, theta comes from sorting (Gillis 2014, App. A.1): sort the positive
    entries of z descending into u, ``c_j = sum_{i<=j} u_i - 1``, rho = the largest j with
    ``u_j - c_j / j > 0`` and ``theta = c_rho / rho``. For larger k, from Michelot's
    iteration (no sort, faster there): start from the positive entries,
    ``theta = (sum of the active entries - 1) / their number``, drop the entries
    ``<= theta`` and repeat until none is dropped; both give the same, exact theta.
    """
    k = z.shape[0]
    s = 0.0
    for i in range(k):
        if z[i] > 0.0:
            s += z[i]
    if s <= 1.0:
        for i in range(k):
            z[i] = max(z[i], 0.0)
        return
    # only the positive entries can exceed theta > 0
    if k <= _INSERTION_MAX:
        # sort them descending into buf[:m] (insertion: no allocation, fastest for small k)
        m = 0
        for i in range(k):
            v = z[i]
            if v > 0.0:
                p = m
                while p > 0 and buf[p - 1] < v:
                    buf[p] = buf[p - 1]
                    p -= 1
                buf[p] = v
                m += 1
        c = 0.0
        theta = 0.0
        for j in range(m):
            c += buf[j]
            t = (c - 1.0) / (j + 1)
            if buf[j] - t > 0.0:
                theta = t
            else:
                break
    else:
        # Michelot's active-set iteration, no sort: theta = (sum of the active entries - 1)
        # / their number; drop the entries <= theta; repeat until none is dropped
        m = 0
        for i in range(k):
            if z[i] > 0.0:
                buf[m] = z[i]
                m += 1
        theta = (s - 1.0) / m
        while True:
            m2 = 0
            c = 0.0
            for j in range(m):
                v = buf[j]
                if v > theta:
                    buf[m2] = v
                    m2 += 1
                    c += v
            if m2 == m:
                break
            m = m2
            theta = (c - 1.0) / m
    for i in range(k):
        v = z[i] - theta
        z[i] = max(0.0, v)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def project_delta(X):
    """Project every column of X onto ``Delta = {x >= 0, sum(x) <= 1}``, in place.

    Sort-based (Gillis 2014, App. A.1) for k <= 16, the usual sizes of separable NMF: only
    the positive entries are sorted, by insertion, without allocation. For larger k the
    threshold comes from Michelot's active-set iteration instead (no sort; twice as fast
    at k = 20, and more beyond); the result is the same exact projection.

    Parameters
    ----------
    X : numpy.ndarray, shape (k, n)
        float64; column j is replaced by its Euclidean projection onto Delta.
    """
    k, n = X.shape
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in numba.prange(n_chunks):
        z = np.empty(k)
        buf = np.empty(k)
        for j in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            for i in range(k):
                z[i] = X[i, j]
            _delta_inplace(z, buf)
            for i in range(k):
                X[i, j] = z[i]


@numba.njit(parallel=True, cache=True, error_model="numpy")
def project_nonneg(X):
    """Project X onto the nonnegative orthant, in place (``X = max(X, 0)``).

    Parameters
    ----------
    X : numpy.ndarray, shape (k, n)
        float64.
    """
    k, n = X.shape
    for i in numba.prange(k):
        for j in range(n):
            X[i, j] = max(X[i, j], 0.0)


@numba.njit(cache=True, error_model="numpy")
def momentum_schedule(alpha):
    """Next FPGM momentum: ``(alpha_next, beta)`` from ``alpha`` (Gillis' ``nnls_FPGM``).

    ``alpha_next = (sqrt(alpha^4 + 4 alpha^2) - alpha^2) / 2`` and
    ``beta = alpha (1 - alpha) / (alpha^2 + alpha_next)``; the sequence starts at 0.05.
    """
    a2 = alpha * alpha
    nxt = (math.sqrt(a2 * a2 + 4.0 * a2) - a2) / 2.0
    return nxt, alpha * (1.0 - alpha) / (a2 + nxt)


@numba.njit(cache=True, error_model="numpy")
def fpgm_step(GY, BT, inv_L, HT, YT, beta, simplex):
    """One FPGM step on every column, in place: gradient step, projection and momentum fused.

    With ``GY = (G @ Y).T = YT @ G`` computed beforehand (in BLAS), for each column j (row
    j of the transposed arrays)::

        z     = Proj(y_j - (G y_j - b_j) / L)
        y_j  <- z + beta (z - h_j)
        h_j  <- z

    Parameters
    ----------
    GY : numpy.ndarray, shape (n, k)
        ``YT @ G``.
    BT : numpy.ndarray, shape (n, k)
        ``(U.T @ X).T``: row j is ``U.T x_j``.
    inv_L : float
        ``1 / L`` with L >= the largest eigenvalue of G (the Lipschitz constant).
    HT : numpy.ndarray, shape (n, k)
        Current iterate (transposed), updated in place.
    YT : numpy.ndarray, shape (n, k)
        Extrapolated point (transposed), updated in place; may not alias ``GY``.
    beta : float
        Momentum weight of this step (:func:`momentum_schedule`).
    simplex : bool
        Project onto Delta (True) or the nonnegative orthant (False).

    Returns
    -------
    float
        ``||H+ - H||_F^2`` of this step.
    """
    n, k = HT.shape
    z = np.empty(k)
    buf = np.empty(k)
    acc = 0.0
    for j in range(n):
        for i in range(k):
            z[i] = YT[j, i] - (GY[j, i] - BT[j, i]) * inv_L
        if simplex:
            _delta_inplace(z, buf)
        else:
            for i in range(k):
                z[i] = max(z[i], 0.0)
        for i in range(k):
            d = z[i] - HT[j, i]
            acc += d * d
            YT[j, i] = z[i] + beta * d
            HT[j, i] = z[i]
    return acc


@numba.njit(cache=True, error_model="numpy")
def fpgm(G, BT, L, HT, simplex, max_iter, tol):
    """Fast projected gradient method for ``min ||X - U H||_F^2`` over H (Gillis' ``nnls_FPGM``).

    Columns of H in Delta (``simplex``) or H >= 0. The warm start ``HT`` is projected, then
    ``Y = H``; momentum ``alpha_0 = 0.05`` (:func:`momentum_schedule`); each step is
    ``GY = YT @ G`` (BLAS, into a preallocated buffer) and :func:`fpgm_step`, until
    ``||H+ - H||_F <= tol ||H^1 - H^0||_F`` (the first step's change) or ``max_iter``
    steps. The loop runs compiled (no Python call per step). Run it with BLAS limited to
    one thread: the (n, k) x (k, k) products are too small for threads to pay.

    Parameters
    ----------
    G : numpy.ndarray, shape (k, k)
        ``U.T @ U`` (symmetric).
    BT : numpy.ndarray, shape (n, k)
        ``(U.T @ X).T``.
    L : float
        Largest eigenvalue of G (> 0).
    HT : numpy.ndarray, shape (n, k)
        Warm start (transposed, C-contiguous), overwritten with the solution.
    simplex : bool
        Project onto Delta (True) or onto H >= 0 (False).
    max_iter : int
        Maximum number of steps (>= 1).
    tol : float
        Relative stopping tolerance delta.

    Returns
    -------
    int
        Number of steps taken.
    """
    n, k = HT.shape
    if simplex:
        buf = np.empty(k)
        for j in range(n):
            _delta_inplace(HT[j], buf)
    else:
        for j in range(n):
            for i in range(k):
                HT[j, i] = max(HT[j, i], 0.0)
    YT = HT.copy()
    GY = np.empty_like(HT)
    inv_L = 1.0 / L
    alpha = 0.05
    first = -1.0
    it = 0
    while it < max_iter:
        alpha, beta = momentum_schedule(alpha)
        np.dot(YT, G, GY)
        d2 = fpgm_step(GY, BT, inv_L, HT, YT, beta, simplex)
        it += 1
        if first < 0.0:
            first = d2
        if d2 <= tol * tol * first:
            break
    return it


@numba.njit(cache=True, error_model="numpy")
def residual_norms(n0, HT, BT, G, out):
    """Squared residual norm of every column without forming the residual.

    ``out[j] = max(n0_j - 2 h_j.T (U.T x_j) + h_j.T G h_j, 0)`` (the clip removes the
    roundoff of the cancellation, about ``eps * n0_j``).

    Parameters
    ----------
    n0 : numpy.ndarray, shape (n,)
        ``||x_j||^2``.
    HT : numpy.ndarray, shape (n, k)
        Coefficients (transposed).
    BT : numpy.ndarray, shape (n, k)
        ``(U.T @ X).T``.
    G : numpy.ndarray, shape (k, k)
        ``U.T @ U``.
    out : numpy.ndarray, shape (n,)
        Output.
    """
    n, k = HT.shape
    for j in range(n):
        lin = 0.0
        quad = 0.0
        for i in range(k):
            h = HT[j, i]
            lin += h * BT[j, i]
            g = 0.0
            for l in range(k):
                g += G[i, l] * HT[j, l]
            quad += h * g
        r = n0[j] - 2.0 * lin + quad
        out[j] = max(0.0, r)


@numba.njit(cache=True, error_model="numpy")
def xray_scores(a, BT, QT, S, out):
    """XRAY's greedy score numerator ``||R.T x_j||^2`` of every column, R = X - U H.

    ``||R.T x_j||^2 = x_j.T (X X.T - U P.T - P U.T + U S U.T) x_j`` with ``P = X H.T`` and
    ``S = H H.T``, i.e. ``a_j - 2 b_j.T q_j + b_j.T S b_j`` where ``a_j = ||X.T x_j||^2``,
    ``b_j = U.T x_j`` and ``q_j = P.T x_j``. Clipped at 0 (cancellation roundoff).

    Parameters
    ----------
    a : numpy.ndarray, shape (n,)
        ``||X.T x_j||^2``.
    BT : numpy.ndarray, shape (n, k)
        ``(U.T @ X).T``.
    QT : numpy.ndarray, shape (n, k)
        ``(P.T @ X).T = X.T @ X @ H.T``.
    S : numpy.ndarray, shape (k, k)
        ``H @ H.T``.
    out : numpy.ndarray, shape (n,)
        Output.
    """
    # the same quadratic form as the residual norms, with (b_j, q_j, S) for (h_j, b_j, G)
    residual_norms(a, BT, QT, S, out)
