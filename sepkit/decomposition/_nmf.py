r"""Beta-divergence NMF with multiplicative updates on the kernels of :mod:`sepkit.kernels.nmf`.

Algorithm
---------
Minimises :math:`D_\beta(V | WH) + l1_W \sum W + \frac{l2_W}{2} \|W\|^2 + l1_H \sum H
+ \frac{l2_H}{2} \|H\|^2` over nonnegative W and H with the multiplicative updates of
Fevotte & Idier (2011) and their majorise-minimise exponent gamma(beta), which make the
unpenalised cost non-increasing for every beta. Each iteration updates W (unless
fixed), rescales its columns (``normalize``), then updates H (unless fixed), as
scikit-learn's ``solver='mu'``. beta = 1 runs fused numba passes that never store
``W @ H``; beta = 2 the Gram form (BLAS only); other beta BLAS products around the
elementwise kernels of :mod:`sepkit.kernels.nmf`.

Notes
-----
The model is floored at ``1e-12 * max(V)`` (``1e-6`` in float32); for beta <= 0, V is
floored likewise (in the updates and the cost). The beta = 1 passes run on numba's
threads or on one thread, whichever was faster lately (bit-identical either way).
Memory: a copy of V and arrays of the size of W and H for beta in {1, 2}; two F x N
work arrays otherwise and with ``fixed_W``.
"""

import numpy as np

from ..core import DecompositionError
from ..core.validation import check_bool, check_int, check_nonneg, check_real, default_rng
from ..kernels import nmf as _k
from ._common import check_level, check_nonneg_array, single_thread_blas, work_dtype
from ._nmf_init import fixed_template_init, nndsvda, random_init
from ._nmf_loops import iterate, iterate_kl, iterate_partial

__all__ = ["nmf"]

#: Relative floor of the model W @ H (and of V for beta <= 0), times max(V).
_FLOOR = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}
_E = DecompositionError


def nmf(
    V,
    n_components,
    *,
    beta=1.0,
    n_iter=200,
    init=None,
    W=None,
    H=None,
    fix_W=False,
    fix_H=False,
    fixed_W=None,
    l1_W=0.0,
    l2_W=0.0,
    l1_H=0.0,
    l2_H=0.0,
    normalize=True,
    tol=None,
    seed=None,
    dtype=None,
):
    r"""Beta-divergence NMF ``V ~ W @ H`` by multiplicative updates, some templates optionally fixed.

    See the module notes (:mod:`sepkit.decomposition._nmf`) for the cost, the updates and the floors.

    Parameters
    ----------
    V : array_like, shape (F, N)
        Nonnegative data, e.g. a magnitude spectrogram (F bins, N frames), any unit. Never modified.
    n_components : int
        Number of components K >= 1, fixed templates included (K <= min(F, N) for ``'nndsvda'``).
    beta : float, default 1.0
        2 Euclidean (half squared error), 1 generalised Kullback-Leibler, 0 Itakura-Saito,
        any finite real otherwise.
    n_iter : int, default 200
        Maximum number of iterations (>= 0).
    init : {'nndsvda', 'random'} or tuple (W0, H0), optional
        ``'nndsvda'`` (the default): NNDSVD (Boutsidis & Gallopoulos, 2008) from a seeded
        randomised SVD (exact for small V), zeros filled with mean(V), as scikit-learn.
        ``'random'``: ``sqrt(mean(V) / K) * |N(0, 1)|`` entries from ``seed``, as
        scikit-learn; with ``fixed_W`` (where it is the default) the free templates are
        ``|N(0, 1)|`` columns at unit norm and H is constant, ``sum(W0 @ H0) = sum(V)``.
        A tuple gives W0 (F, K) and H0 (K, N).
    W, H : array_like, shapes (F, K) and (K, N), optional
        Initial (or, with ``fix_W`` / ``fix_H``, fixed) factors, overriding those of
        ``init``. When only one is given the other starts constant, scaled so that
        ``mean(W @ H) = mean(V)``.
    fix_W, fix_H : bool, default False
        Keep W or H unchanged; it must be given (``W``/``H`` or an ``init`` tuple) and is
        returned bit-identical.
    fixed_W : array_like, shape (F, Kf), optional
        Fixed-template NMF: templates kept unchanged as the first ``Kf`` columns of W
        (e.g. learned on isolated sources); the other ``K - Kf`` templates (possibly none)
        and all of H are learned. An ``init`` tuple's first Kf columns are replaced by
        ``fixed_W``; ``W`` and ``fix_W`` cannot be combined with it. ``normalize`` then
        rescales the free columns only, and the start is used as given.
    l1_W, l2_W, l1_H, l2_H : float, default 0.0
        Nonnegative L1 / L2 penalty weights (absolute, unlike scikit-learn's ``alpha_W``).
        An L1 penalty on H needs ``normalize='l2'`` to make it sparse.
    normalize : {True, False, 'l2', 'l1'}, default True
        After each W update scale the columns of W to unit norm (True, ``'l2'``:
        Euclidean; ``'l1'``: unit sum) and the rows of H by the inverse factors (model and
        cost unchanged); also on the initial W. Skipped when W or H is fixed.
    tol : float, optional
        Stop when the relative cost decrease of one iteration falls to ``tol`` or below;
        None runs all ``n_iter`` iterations.
    seed : int or numpy.random.Generator, optional
        Randomness of the initialisation. numpy's global RNG is never used.
    dtype : {numpy.float64, numpy.float32}, optional
        Working and output precision; default float32 for float32 V, float64 otherwise.

    Returns
    -------
    W : numpy.ndarray, shape (F, K)
        Templates.
    H : numpy.ndarray, shape (K, N)
        Activations.
    costs : numpy.ndarray of float64, shape (n_done + 1,)
        ``D_beta(V | W H)`` (without penalties) after the initialisation and after each of
        the ``n_done`` iterations (``n_iter`` unless ``tol`` stopped early).

    Raises
    ------
    DecompositionError
        If V is not a nonempty 2-D array of finite nonnegative reals or is all zeros; for
        any invalid argument, factor shape or value, or a fixed factor not given.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((64, 4)) @ rng.random((4, 100))
    >>> W, H, costs = nmf(V, 4, beta=1, n_iter=100, seed=0)
    >>> W.shape, H.shape, costs.shape, bool(costs[-1] < 1e-2 * costs[0])
    ((64, 4), (4, 100), (101,), True)
    >>> W2, H2, _ = nmf(V, 6, fixed_W=W, n_iter=20, seed=0)     # 4 fixed + 2 free templates
    >>> bool(np.array_equal(W2[:, :4], W))
    True
    """
    a = _check_args(V, n_components, beta, n_iter, init, W, H, fix_W, fix_H, fixed_W, l1_W, l2_W, l1_H, l2_H,
                    normalize, tol, seed, dtype)
    V, K, beta, dt, rng = a["V"], a["K"], a["beta"], a["dt"], a["rng"]
    penalties = (a["l1_W"], a["l2_W"], a["l1_H"], a["l2_H"])
    floor = _FLOOR[dt] * a["vmax"]
    if a["fixed_W"] is not None:
        W, H = _fixed_start(V, K, a, rng, dt)
        do_norm = a["norm_order"] if not fix_H else 0
        costs = iterate_partial(V, W, H, a["fixed_W"].shape[1], beta, a["n_iter"], fix_H, *penalties, do_norm,
                                a["tol"], floor)
        return W, H, costs
    W, H = _start(V, K, a, rng, dt)
    do_norm = a["norm_order"] if not fix_W and not fix_H else 0
    if do_norm:
        _k.normalize_columns(W, H, do_norm)
    args = (V, W, H, beta, a["n_iter"], fix_W, fix_H, *penalties, do_norm, a["tol"], floor)
    if beta == 2.0:  # Gram form: BLAS products only, BLAS keeps its threads
        costs = iterate(*args)
    elif beta == 1.0:  # fused numba passes (no BLAS product in the loop)
        costs = iterate_kl(*args)
    else:
        # numba's and OpenBLAS's threads both spin after their parallel regions: alternating
        # them with two threads each is slower than parallel kernels around 1-thread BLAS.
        with single_thread_blas():
            costs = iterate(*args)
    return W, H, costs


def _check_args(V, n_components, beta, n_iter, init, W, H, fix_W, fix_H, fixed_W, l1_W, l2_W, l1_H, l2_H,
                normalize, tol, seed, dtype) -> dict:
    """Validated arguments of :func:`nmf` (a dict; the factors as private copies of dtype ``dt``)."""
    dt = work_dtype(dtype, V)
    V = check_nonneg_array("V", V, dt)
    check_level(V)
    F, N = V.shape
    vmax = float(V.max())
    if vmax == 0.0:
        raise _E(f"V of shape {V.shape} is all zeros (zero energy): nothing to factorise")
    out = {"V": V, "dt": dt, "vmax": vmax}
    out["beta"] = check_real("beta", beta, error=_E)
    out["n_iter"] = check_int("n_iter", n_iter, 0, error=_E)
    out["tol"] = None if tol is None else check_nonneg("tol", tol, error=_E)
    for name, value in (("l1_W", l1_W), ("l2_W", l2_W), ("l1_H", l1_H), ("l2_H", l2_H)):
        out[name] = check_nonneg(name, value, error=_E)
    K = out["K"] = check_int("n_components", n_components, 1, error=_E)
    fix_W, fix_H = check_bool("fix_W", fix_W, error=_E), check_bool("fix_H", fix_H, error=_E)
    if fixed_W is not None:
        fixed_W = check_nonneg_array("fixed_W", fixed_W, dt, what="array of templates (F, Kf)")
        if fixed_W.shape[0] != F or fixed_W.shape[1] > K:
            raise _E(f"fixed_W must have shape (F, Kf) = ({F}, Kf) with Kf <= n_components = {K}, "
                     f"got {fixed_W.shape}")
        if W is not None or fix_W:
            raise _E("fixed_W keeps some templates fixed: do not give W or fix_W with it (use init=(W0, H0))")
    out["fixed_W"] = fixed_W
    if init is None:
        init = "nndsvda" if fixed_W is None else "random"
    W0 = H0 = None
    if isinstance(init, tuple):
        if len(init) != 2:
            raise _E(f"init as a tuple must be (W0, H0), got a tuple of length {len(init)}")
        W0 = check_nonneg_array("init W0", init[0], dt, shape=(F, K))
        H0 = check_nonneg_array("init H0", init[1], dt, shape=(K, N))
    elif not (isinstance(init, str) and init in ("nndsvda", "random")):
        raise _E(f"init must be 'nndsvda', 'random' or a tuple (W0, H0), got {init!r}")
    elif fixed_W is not None and init != "random":
        raise _E(f"with fixed_W, init must be 'random' or a tuple (W0, H0), got {init!r}")
    if W is not None:
        W0 = check_nonneg_array("W", W, dt, shape=(F, K))
    if H is not None:
        H0 = check_nonneg_array("H", H, dt, shape=(K, N))
    if fix_W and W0 is None:
        raise _E("fix_W=True needs the fixed templates: pass W (F, K) or init=(W0, H0)")
    if fix_H and H0 is None:
        raise _E("fix_H=True needs the fixed activations: pass H (K, N) or init=(W0, H0)")
    out.update(init=init, W0=W0, H0=H0)
    orders = {True: 2, "l2": 2, "l1": 1, False: 0}
    if not any(normalize is key or (isinstance(key, str) and normalize == key) for key in orders):
        raise _E(f"normalize must be True, False, 'l2' or 'l1', got {normalize!r}")
    out["norm_order"] = orders[normalize]
    out["rng"] = default_rng(seed, error=_E)
    return out


def _start(V, K, a, rng, dt):
    """Initial (W, H), private arrays of dtype ``dt``, from the validated arguments ``a``."""
    F, N = V.shape
    W0, H0 = a["W0"], a["H0"]
    if W0 is None and H0 is None:
        if a["init"] == "nndsvda":
            if K > min(F, N):
                raise _E(f"init='nndsvda' needs n_components <= min(F, N) = {min(F, N)}, got {K}; use init='random'")
            Wi, Hi = nndsvda(V, K, rng)
        else:
            Wi, Hi = random_init(V, K, rng)
        return Wi.astype(dt), Hi.astype(dt)
    if W0 is None:
        total = float(H0.sum(dtype=np.float64))
        W0 = np.full((F, K), V.mean(dtype=np.float64) * N / total if total > 0 else 1.0, dtype=dt)
    elif H0 is None:
        total = float(W0.sum(dtype=np.float64))
        H0 = np.full((K, N), V.mean(dtype=np.float64) * F / total if total > 0 else 1.0, dtype=dt)
    return W0, H0  # private copies already


def _fixed_start(V, K, a, rng, dt):
    """Initial (W, H) of fixed-template NMF: ``W[:, :Kf] = fixed_W``."""
    fixed_W, W0, H0 = a["fixed_W"], a["W0"], a["H0"]
    if W0 is None:
        W0, H0 = fixed_template_init(V, fixed_W, K, rng, H0)
    else:
        W0[:, : fixed_W.shape[1]] = fixed_W
        if H0 is None:
            H0 = np.full((K, V.shape[1]), float(V.sum()) / (float(W0.sum()) * V.shape[1]))
    return np.ascontiguousarray(W0, dtype=dt), np.ascontiguousarray(H0, dtype=dt)
