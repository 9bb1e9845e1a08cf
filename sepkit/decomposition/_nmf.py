"""Beta-divergence NMF with multiplicative updates on the kernels of :mod:`sepkit.kernels.nmf`."""

import numbers
import time

import numba
import numpy as np

from ..core import DecompositionError
from ..kernels import nmf as _k
from ._common import blas_controller, check_array, make_rng, nonneg_float, single_thread_blas, times_t, work_dtype

__all__ = ["nmf"]

#: Relative floor of the model W @ H (and of V for beta <= 0), times max(V).
_FLOOR = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}
#: NNDSVD: singular-vector entries below this are zero (then filled, as scikit-learn).
_NNDSVD_EPS = 1e-6


def _svd(V, k, rng):
    """Leading k singular triplets of V (F, N): exact for small V, randomised otherwise."""
    F, N = V.shape
    if F * N <= 400_000 or k > 0.5 * min(F, N):
        U, S, Vt = np.linalg.svd(V, full_matrices=False)
        return U[:, :k], S[:k], Vt[:k]
    # Halko, Martinsson & Tropp randomised range finder with power iterations, like
    # sklearn.utils.extmath.randomized_svd (10 oversamples, 7 power iterations), seeded.
    p = k + 10
    Q, _ = np.linalg.qr(V @ rng.standard_normal((N, p)))
    for _ in range(7):
        Q, _ = np.linalg.qr(V.T @ Q)
        Q, _ = np.linalg.qr(V @ Q)
    Ub, S, Vt = np.linalg.svd(Q.T @ V, full_matrices=False)
    return (Q @ Ub)[:, :k], S[:k], Vt[:k]


def _nndsvda(V, k, rng):
    """NNDSVD of Boutsidis & Gallopoulos (2008), zeros filled with mean(V) (scikit-learn's 'nndsvda')."""
    U, S, Vt = _svd(V.astype(np.float64, copy=False), k, rng)
    W = np.zeros((V.shape[0], k))
    H = np.zeros((k, V.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, k):
        x, y = U[:, j], Vt[j]
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.maximum(-x, 0), np.maximum(-y, 0)
        xpn, ypn, xnn, ynn = (np.linalg.norm(a) for a in (xp, yp, xn, yn))
        mp, mn = xpn * ypn, xnn * ynn
        if mp > mn:
            u, v, sigma = xp / xpn, yp / ypn, mp
        elif mn > 0:
            u, v, sigma = xn / xnn, yn / ynn, mn
        else:
            continue  # degenerate pair: left at zero, filled below
        lam = np.sqrt(S[j] * sigma)
        W[:, j] = lam * u
        H[j] = lam * v
    W[W < _NNDSVD_EPS] = 0
    H[H < _NNDSVD_EPS] = 0
    mean = V.mean()
    W[W == 0] = mean
    H[H == 0] = mean
    return W, H


def nmf(
    V,
    n_components,
    *,
    beta=1.0,
    n_iter=200,
    init="nndsvda",
    W=None,
    H=None,
    fix_W=False,
    fix_H=False,
    l1_W=0.0,
    l2_W=0.0,
    l1_H=0.0,
    l2_H=0.0,
    normalize=True,
    tol=None,
    seed=None,
    dtype=None,
):
    r"""Beta-divergence NMF ``V ~ W @ H`` by multiplicative updates.

    Minimises :math:`D_\beta(V | WH) + l1_W \sum W + \frac{l2_W}{2} \|W\|^2 + l1_H \sum H
    + \frac{l2_H}{2} \|H\|^2` over nonnegative W and H with the multiplicative updates of
    Fevotte & Idier (2011) and their majorise-minimise exponent gamma(beta), which makes the
    unpenalised cost non-increasing for every beta. Each iteration updates W (unless fixed),
    rescales it to unit-sum columns (``normalize``), then updates H (unless fixed), as
    scikit-learn's ``solver='mu'`` does. For beta = 1 each half-step is a single fused numba
    pass over V (:func:`~sepkit.kernels.nmf.kl_numerator_w`, ``kl_numerator_h``) that never
    stores W @ H; for beta = 2 the Gram form uses BLAS products only; for other beta the
    large products run in BLAS and the elementwise work in the kernels of
    :mod:`sepkit.kernels.nmf`.

    Parameters
    ----------
    V : array_like, shape (F, N)
        Nonnegative data, e.g. a magnitude spectrogram (F frequency bins, N frames), any
        unit. Never modified.
    n_components : int
        Number of components K >= 1 (and K <= min(F, N) for ``init='nndsvda'``).
    beta : float, default 1.0
        Beta of the divergence: 2 Euclidean (half squared error), 1 generalised
        Kullback-Leibler, 0 Itakura-Saito, any finite real otherwise.
    n_iter : int, default 200
        Maximum number of iterations (>= 0).
    init : {'nndsvda', 'random'} or tuple (W0, H0), default 'nndsvda'
        ``'nndsvda'``: NNDSVD (Boutsidis & Gallopoulos, 2008) from a seeded randomised SVD
        (exact SVD for small V), zeros filled with mean(V), as scikit-learn.
        ``'random'``: ``sqrt(mean(V) / K) * |N(0, 1)|`` entries, as scikit-learn, drawn from
        ``seed``. A tuple gives the initial W0 (F, K) and H0 (K, N).
    W : array_like, shape (F, K), optional
        Initial (or, with ``fix_W``, fixed) templates; overrides the W of ``init``. When only
        W is given (and ``init`` is not a tuple) H starts constant, scaled so that
        mean(W @ H) = mean(V).
    H : array_like, shape (K, N), optional
        Initial (or fixed) activations; symmetric to ``W``.
    fix_W, fix_H : bool, default False
        Keep W (e.g. templates learned beforehand) or H unchanged. A fixed factor must be
        given through ``W``/``H`` or an ``init`` tuple, and is returned bit-identical.
    l1_W, l2_W, l1_H, l2_H : float, default 0.0
        Nonnegative L1 and L2 penalty weights (absolute, not scaled by the data size, unlike
        scikit-learn's ``alpha_W``/``alpha_H``). An L1 penalty on H needs ``normalize=True``
        to be meaningful (otherwise W grows to dodge it).
    normalize : {True, False, 'l2', 'l1'}, default True
        After each W update scale the columns of W to unit norm and multiply the rows of H
        by the same factors, so W @ H and the cost are unchanged. True or ``'l2'``: unit
        Euclidean norm; ``'l1'``: unit sum. Skipped when W or H is fixed (both must stay as
        given); the initial W is normalised likewise. Use ``'l2'`` with an L1 penalty on
        H: with unit-sum columns and beta = 1 the penalty only rescales H (the H
        denominators become ``1 + l1_H`` for every entry) instead of making it sparse.
    tol : float, optional
        Stop when the relative cost decrease of one iteration, ``(c[i-1] - c[i]) / c[i-1]``,
        falls to ``tol`` or below. None (default) runs all ``n_iter`` iterations.
    seed : int or numpy.random.Generator, optional
        Randomness of the initialisation. numpy's global RNG is never used.
    dtype : {numpy.float64, numpy.float32}, optional
        Working and output precision; default float32 for float32 V, float64 otherwise.

    Returns
    -------
    W : numpy.ndarray, shape (F, K)
        Templates (unit-norm columns with ``normalize`` and neither factor fixed).
    H : numpy.ndarray, shape (K, N)
        Activations.
    costs : numpy.ndarray of float64, shape (n_done + 1,)
        ``D_beta(V | W H)`` (without penalties) after the initialisation and after each of
        the ``n_done`` iterations run (``n_done = n_iter`` unless ``tol`` stopped early).

    Raises
    ------
    DecompositionError
        If V is not a nonempty 2-D array of finite nonnegative reals or is all zeros; if
        ``n_components``, ``beta``, ``n_iter``, ``tol``, a penalty, ``init``, ``normalize``,
        ``seed`` or ``dtype`` is invalid; if an initial or fixed factor has the wrong shape or negative /
        non-finite entries; or if a fixed factor is not given.

    Notes
    -----
    The model W @ H is floored at ``1e-12 * max(V)`` (``1e-6 * max(V)`` in float32). For
    beta <= 0 the divergence needs V > 0: zeros (and values below that floor) of V are
    raised to the same floor, in the updates and in the reported cost alike, instead of
    raising an error. Cost history for beta = 2 is computed from the Gram-form quantities
    of the update (no extra pass over V); for other beta from the ratio the update needs.

    For beta = 1 the fused passes run on numba's threads, or on one thread when that was
    faster over the last iterations (a loaded machine makes parallel passes wait for a
    descheduled thread); results are bit-identical on any number of threads. Memory: a
    private copy of V and arrays of the size of W and H (for beta = 1); the Frobenius path
    adds no F x N array either; other beta use two F x N work arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from sepkit.decomposition import nmf
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((64, 4)) @ rng.random((4, 100))
    >>> W, H, costs = nmf(V, 4, beta=1, n_iter=100, seed=0)
    >>> W.shape, H.shape, costs.shape
    ((64, 4), (4, 100), (101,))
    >>> bool(costs[-1] < 1e-2 * costs[0])
    True
    """
    # ---- validation -------------------------------------------------------------------
    dt = work_dtype(dtype, V)
    V = check_array("V", V, dt)
    F, N = V.shape
    vmax = float(V.max())
    if vmax == 0.0:
        raise DecompositionError(f"V of shape {V.shape} is all zeros (zero energy): nothing to factorise")
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta):
        raise DecompositionError(f"beta must be a finite real number, got {beta!r}")
    beta = float(beta)
    if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 0:
        raise DecompositionError(f"n_iter must be an int >= 0, got {n_iter!r}")
    n_iter = int(n_iter)
    if tol is not None:
        tol = nonneg_float("tol", tol)
    l1_W, l2_W = nonneg_float("l1_W", l1_W), nonneg_float("l2_W", l2_W)
    l1_H, l2_H = nonneg_float("l1_H", l1_H), nonneg_float("l2_H", l2_H)
    if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral) or n_components < 1:
        raise DecompositionError(f"n_components must be an int >= 1, got {n_components!r}")
    K = int(n_components)

    if isinstance(init, tuple):
        if len(init) != 2:
            raise DecompositionError(f"init as a tuple must be (W0, H0), got a tuple of length {len(init)}")
        W0 = check_array("init W0", init[0], dt, shape=(F, K))
        H0 = check_array("init H0", init[1], dt, shape=(K, N))
    elif isinstance(init, str) and init in ("nndsvda", "random"):
        W0 = H0 = None
    else:
        raise DecompositionError(f"init must be 'nndsvda', 'random' or a tuple (W0, H0), got {init!r}")
    if W is not None:
        W0 = check_array("W", W, dt, shape=(F, K))
    if H is not None:
        H0 = check_array("H", H, dt, shape=(K, N))
    if fix_W and W0 is None:
        raise DecompositionError("fix_W=True needs the fixed templates: pass W (F, K) or init=(W0, H0)")
    if fix_H and H0 is None:
        raise DecompositionError("fix_H=True needs the fixed activations: pass H (K, N) or init=(W0, H0)")
    if normalize is True or normalize == "l2":
        norm_order = 2
    elif normalize == "l1":
        norm_order = 1
    elif normalize is False:
        norm_order = 0
    else:
        raise DecompositionError(f"normalize must be True, False, 'l2' or 'l1', got {normalize!r}")
    rng = make_rng(seed)

    # ---- initialisation ---------------------------------------------------------------
    if W0 is None and H0 is None:
        if init == "nndsvda":
            if K > min(F, N):
                raise DecompositionError(
                    f"init='nndsvda' needs n_components <= min(F, N) = {min(F, N)}, got {K}; use init='random'"
                )
            Wi, Hi = _nndsvda(V, K, rng)
        else:
            scale = np.sqrt(V.mean(dtype=np.float64) / K)
            Hi = scale * np.abs(rng.standard_normal((K, N)))
            Wi = scale * np.abs(rng.standard_normal((F, K)))
        W0, H0 = Wi.astype(dt), Hi.astype(dt)
    elif W0 is None:
        total = float(H0.sum(dtype=np.float64))
        W0 = np.full((F, K), V.mean(dtype=np.float64) * N / total if total > 0 else 1.0, dtype=dt)
    elif H0 is None:
        total = float(W0.sum(dtype=np.float64))
        H0 = np.full((K, N), V.mean(dtype=np.float64) * F / total if total > 0 else 1.0, dtype=dt)
    W, H = W0, H0  # private copies already
    do_norm = norm_order if not fix_W and not fix_H else 0
    if do_norm:
        _k.normalize_columns(W, H, do_norm)

    floor = _FLOOR[dt] * vmax
    args = (V, W, H, beta, n_iter, fix_W, fix_H, l1_W, l2_W, l1_H, l2_H, do_norm, tol, floor)
    if beta == 2.0:  # Gram form: BLAS products only, BLAS keeps its threads
        costs = _iterate(*args)
    elif beta == 1.0:  # fused numba passes (no BLAS product in the loop)
        costs = _iterate_kl(*args)
    else:
        # numba's and OpenBLAS's threads both spin after their parallel regions: alternating
        # them with two threads each is slower than parallel kernels around 1-thread BLAS.
        with single_thread_blas():
            costs = _iterate(*args)
    return W, H, costs




def _converged(costs, it, tol):
    """Relative decrease of the last iteration at or below ``tol`` (cost ``costs[it]`` just computed)."""
    return tol is not None and it > 0 and costs[it - 1] - costs[it] <= tol * abs(costs[it - 1])


def _iterate(V, W, H, beta, n_iter, fix_W, fix_H, l1_W, l2_W, l1_H, l2_H, do_norm, tol, floor):
    """Run the MU loop in place on W (F, K) and H (K, N); return the cost history."""
    F, N = V.shape
    gamma = _k.mm_exponent(beta)
    costs = np.empty(n_iter + 1)
    if fix_W and fix_H:
        costs[:] = _k.beta_divergence(V, W @ H, beta, floor)
        return costs
    n_done = n_iter
    if beta == 2.0:
        v_sq = float(np.einsum("ij,ij->", V, V, dtype=np.float64))
        WtV = W.T @ V if fix_W else None
        WtW_fixed = W.T @ W if fix_W else None
        VHt = times_t(V, H) if fix_H else None
        HHt_fixed = H @ H.T if fix_H else None
        threads = _ThreadChooser("blas")
        try:
            costs, n_done = _iterate_frobenius(V, W, H, n_iter, fix_W, fix_H, l1_W, l2_W, l1_H, l2_H, do_norm,
                                               tol, gamma, costs, v_sq, WtV, WtW_fixed, VHt, HHt_fixed, threads)
        finally:
            threads.restore()
        return costs[: n_done + 1]

    Lam = np.empty((F, N), dtype=V.dtype)
    # P gets its own buffer (an aliased output defeats vectorisation: 3.4 against 2.1 ms per
    # pass at 1025 x 2585); B = Lam**(beta-1) overwrites the model (unused for beta = 1).
    P = np.empty_like(Lam)
    B = Lam
    vps = _k.power_sum(V, beta, floor) if beta not in (0.0, 1.0) else 0.0
    for it in range(n_iter):
        if not fix_W:
            np.matmul(W, H, out=Lam)
            costs[it] = _k.beta_terms(V, Lam, beta, floor, P, B, vps, True)
            if _converged(costs, it, tol):
                n_done = it
                break
            num = times_t(P, H)
            den = H.sum(axis=1)[None, :] if beta == 1.0 else times_t(B, H)
            _k.mu_step(W, num, den, l1_W, l2_W, gamma)
            if do_norm:
                _k.normalize_columns(W, H, do_norm)
        if not fix_H:
            np.matmul(W, H, out=Lam)
            c = _k.beta_terms(V, Lam, beta, floor, P, B, vps, fix_W)
            if fix_W:
                costs[it] = c
                if _converged(costs, it, tol):
                    n_done = it
                    break
            num = W.T @ P
            den = W.sum(axis=0)[:, None] if beta == 1.0 else W.T @ B
            _k.mu_step(H, num, den, l1_H, l2_H, gamma)
    else:
        costs[n_iter] = _k.beta_divergence(V, W @ H, beta, floor)
    return costs[: n_done + 1]


#: Chunks of a parallel loop handed to a thread at a time by the fused KL passes: dynamic
#: scheduling, so that a thread descheduled by another process (shared machines) does not
#: hold half of the pass back.
_KL_CHUNKSIZE = 1
#: Base interval (iterations) at which the thread count not in use is re-timed.
_PROBE_EVERY = 16
#: Iterations timed with each thread count at the start (alternately; the minimum is kept).
_WARMUP = 2


class _ThreadChooser:
    """Runs each iteration on the current thread count or on one thread, whichever was faster lately.

    A parallel region ends when its last thread does: on a loaded machine a descheduled
    worker thread makes a 3-ms pass last a scheduler time slice (measured: 16 ms on the
    shared 2-core machine, where one thread took 3 ms), while on a quiet machine two threads
    halve the time. The first ``2 * _WARMUP`` iterations alternate the two settings (the
    fastest of each is kept), then moving averages of the wall time per iteration are kept
    for both; the slower one is re-timed after ``_PROBE_EVERY`` iterations times its
    slowness (at most 8 times), so that the probes cost about 1 / ``_PROBE_EVERY`` of the time.

    ``pool`` is ``'numba'`` (the fused KL passes, bit-identical on any number of threads)
    or ``'blas'`` (the Gram-form products of beta = 2), for which the count is never changed:
    OpenBLAS's results differ in the last bits between thread counts (measured), and the
    results must not depend on the machine's load.
    """

    def __init__(self, pool):
        self.pool = pool
        if pool == "numba":
            self.initial = numba.get_num_threads()
        else:
            self.controller = blas_controller()
            blas = self.controller.select(user_api="blas")
            self.initial = min((lib.num_threads for lib in blas.lib_controllers), default=1)
        # OpenBLAS results change with its thread count (last bits): switching by timing
        # would make beta = 2 results depend on the machine's load, so BLAS keeps its count.
        self.options = [self.initial, 1] if self.initial > 1 and pool == "numba" else [self.initial]
        self.avg = [None] * len(self.options)
        self.first_limiter = None
        self.count = 0
        self.next_probe = _PROBE_EVERY
        self.current = 0
        self.start = 0.0

    def _set(self, n):
        if self.pool == "numba":
            numba.set_num_threads(n)
        else:
            limiter = self.controller.limit(limits=n, user_api="blas")
            if self.first_limiter is None:  # remembers every library's original count
                self.first_limiter = limiter

    def begin(self):
        if len(self.options) > 1:
            if self.count < 2 * _WARMUP:  # alternate at first: a first timing alone is noisy
                choice = self.count % 2
            else:
                best = min(range(len(self.options)), key=lambda i: self.avg[i])
                choice = best
                if self.count >= self.next_probe:
                    choice = 1 - best
                    # probes of a setting r times slower are r times rarer: they cost at
                    # most about 1 / _PROBE_EVERY of the run time
                    ratio = self.avg[1 - best] / max(self.avg[best], 1e-9)
                    self.next_probe = self.count + int(_PROBE_EVERY * min(max(ratio, 1.0), 8.0))
            if choice != self.current or self.count == 0:
                self._set(self.options[choice])
            self.current = choice
        self.count += 1
        self.start = time.perf_counter()

    def end(self):
        elapsed = time.perf_counter() - self.start
        a = self.avg[self.current]
        if a is None or self.count <= 2 * _WARMUP:
            self.avg[self.current] = elapsed if a is None else min(a, elapsed)
        else:  # moving average, a single spike counting for at most 3 times the average
            self.avg[self.current] = 0.7 * a + 0.3 * min(elapsed, 3.0 * a)

    def restore(self):
        if self.pool == "numba":
            if len(self.options) > 1:
                numba.set_num_threads(self.initial)
        elif self.first_limiter is not None:
            self.first_limiter.restore_original_limits()


def _iterate_kl(V, W, H, beta, n_iter, fix_W, fix_H, l1_W, l2_W, l1_H, l2_H, do_norm, tol, floor):
    """KL MU loop on the fused passes :func:`~sepkit.kernels.nmf.kl_numerator_w` / ``_h``.

    Same updates, order and cost history as :func:`_iterate` at beta = 1, without any
    F x N temporary: one pass over V per half-step, the cost of iteration i from the pass
    of the W step (of the H step when W is fixed). Threads: see :class:`_ThreadChooser`.
    """
    F, N = V.shape
    K = W.shape[1]
    costs = np.empty(n_iter + 1)
    if fix_W and fix_H:
        costs[:] = _k.beta_divergence(V, W @ H, 1.0, floor)
        return costs
    num_W = np.empty((F, K))
    num_H = np.empty((K, N))
    n_done = n_iter
    previous = numba.get_parallel_chunksize()
    numba.set_parallel_chunksize(_KL_CHUNKSIZE)
    threads = _ThreadChooser("numba")
    try:
        for it in range(n_iter):
            threads.begin()
            if not fix_W:
                costs[it] = _k.kl_numerator_w(V, W, H, floor, num_W, True)
                if _converged(costs, it, tol):
                    n_done = it
                    break
                _k.mu_step(W, num_W, H.sum(axis=1)[None, :], l1_W, l2_W, 1.0)
                if do_norm:
                    _k.normalize_columns(W, H, do_norm)
            if not fix_H:
                c = _k.kl_numerator_h(V, W, H, floor, num_H, fix_W)
                if fix_W:
                    costs[it] = c
                    if _converged(costs, it, tol):
                        n_done = it
                        break
                _k.mu_step(H, num_H, W.sum(axis=0)[:, None], l1_H, l2_H, 1.0)
            threads.end()
        else:
            costs[n_iter] = _k.kl_numerator_w(V, W, H, floor, num_W, True)
    finally:
        threads.restore()
        numba.set_parallel_chunksize(previous)
    return costs[: n_done + 1]


def _iterate_frobenius(V, W, H, n_iter, fix_W, fix_H, l1_W, l2_W, l1_H, l2_H, do_norm, tol, gamma, costs,
                       v_sq, WtV, WtW_fixed, VHt, HHt_fixed, threads):
    """Gram-form MU loop of beta = 2 (BLAS threads chosen per iteration); returns (costs, n_done)."""
    n_done = n_iter
    for it in range(n_iter):
        threads.begin()
        if not fix_W:
            HHt = HHt_fixed if fix_H else H @ H.T
            num = VHt if fix_H else times_t(V, H)
            costs[it] = _k.frobenius_cost(v_sq, num, W, W.T @ W, HHt)
            if _converged(costs, it, tol):
                n_done = it
                break
            _k.mu_step(W, num, W @ HHt, l1_W, l2_W, gamma)
            if do_norm:
                _k.normalize_columns(W, H, do_norm)
        if not fix_H:
            WtW = WtW_fixed if fix_W else W.T @ W
            num = WtV if fix_W else W.T @ V
            if fix_W:
                costs[it] = _k.frobenius_cost(v_sq, num.T, H.T, H @ H.T, WtW)
                if _converged(costs, it, tol):
                    n_done = it
                    break
            _k.mu_step(H, num, WtW @ H, l1_H, l2_H, gamma)
        threads.end()
    else:
        costs[n_iter] = _k.frobenius_cost(v_sq, times_t(V, H), W, W.T @ W, H @ H.T)
    return costs, n_done
