r"""Separable NMF: the successive nonnegative projection algorithm (SNPA) and XRAY's greedy rule.

Algorithm
---------
Separable NMF assumes that every column of V is a nonnegative combination of a few of
its own columns, the *anchors* (for a magnitude spectrogram: a few real frames, each
dominated by one sound). The successive nonnegative projection algorithm (SNPA,
Gillis 2014) extracts them one at a time:

1. (``normalize``) scale every column to unit sum, so that each column is a convex
   combination of the anchors and its coefficients lie in
   :math:`\Delta = \{h \ge 0, \sum h \le 1\}`;
2. pick the column with the largest residual norm
   :math:`\|x_j - U h_j\|` (first step: the largest norm);
3. refit every column on the selected ones :math:`U = X_{:,K}`,
   :math:`\min_{h_j \in \Delta} \|x_j - U h_j\|^2` (``proj='simplex'``; or
   :math:`h_j \ge 0` with ``proj='nonneg'``), by the fast projected gradient method
   (FPGM), warm-started from the previous fit;
4. update the residual norms :math:`\|x_j\|^2 - 2 h_j^\top U^\top x_j + h_j^\top
   U^\top U h_j` without forming the residual, and repeat.

``variant='xray-greedy'`` replaces step 2 by the greedy detection of XRAY (Kumar,
Sindhwani & Kambadur 2013): the column maximising :math:`\|R^\top x_j\|^2 /
(\mathbf 1^\top x_j)^2`, R the current residual (computed in Gram form, without R).
Finally H is refitted on the unnormalised data with W fixed,
:math:`\min_{H \ge 0} \|V - W H\|_F`, by FPGM warm-started from the normalised fit.

Notes
-----
Deterministic (no randomness). Ties: columns whose score is within a relative 1e-6 of
the best count as tied and the one with the largest norm wins (then the smallest
index); a column is never selected twice. Each extraction step costs one O(F N) pass to
extend :math:`U^\top X` and O(k^2 N) per FPGM iteration; XRAY also needs
:math:`\|X^\top x_j\|^2` once (O(min(F, N)^2 max(F, N))) and two O(F N k) products per
step. The fits keep, per column, the better of the FPGM result and its warm start, so
the residual history never increases.

References
----------
N. Gillis, "Successive nonnegative projection algorithm for robust nonnegative blind
source separation", SIAM J. Imaging Sciences 7(2), 2014.
A. Kumar, V. Sindhwani, P. Kambadur, "Fast conical hull algorithms for near-separable
non-negative matrix factorization", ICML 2013.
"""

import warnings

import numpy as np

from ..core import DecompositionError
from ..core.validation import check_bool, check_choice, check_int, check_positive, check_real
from ..kernels import snpa as _k
from ._common import check_level, check_nonneg_array, single_thread_blas

__all__ = ["snpa", "separable_init"]

#: Relative gap under which two residual norms (or scores) count as tied (Gillis' SNPA).
_TIE_RTOL = 1e-6
_VARIANTS = ("snpa", "xray-greedy")
_PROJS = ("simplex", "nonneg")
#: The final fit of H (one solve, the one returned) may run this many times ``max_inner_iter``
#: FPGM iterations: on a 1025 x 217 spectrogram with K = 8, 200 iterations left the
#: residual 1.2e-6 (relative) above scipy's NNLS, 1000 left 2e-10.
_FINAL_ITER_FACTOR = 5


def _argmax_tied(score, tiebreak, excluded):
    """Index of the largest ``score``; near-ties (relative gap <= 1e-6) go to the largest ``tiebreak``.

    Indices in ``excluded`` are never chosen; remaining exact ties go to the smallest index.
    """
    s = score.copy()
    s[excluded] = -np.inf
    top = s.max()
    tied = np.flatnonzero(top - s <= _TIE_RTOL * abs(top))
    if tied.size == 1:
        return int(tied[0])
    return int(tied[np.argmax(tiebreak[tied])])


def _gram_largest_eig(G):
    """Largest eigenvalue of the symmetric PSD matrix G (the Lipschitz constant of FPGM)."""
    return float(np.linalg.eigvalsh(G)[-1])


def _solve(G, BT, HT, n0, simplex, max_iter, tol, HT_ws, nR_ws):
    """FPGM from the warm start ``HT_ws``; keep, per column, the better of solution and warm start.

    Columns are independent problems, so taking the better of the two per column can only
    lower every residual: the residual history never increases, whatever the accuracy of
    the (non-monotone, accelerated) inner solver. Returns ``(HT, nR)``.
    """
    L = _gram_largest_eig(G)
    HT[:] = HT_ws
    if L > 0:
        _k.fpgm(G, BT, L, HT, simplex, max_iter, tol)
    nR = np.empty_like(n0)
    _k.residual_norms(n0, HT, BT, G, nR)
    worse = nR > nR_ws
    if np.any(worse):
        HT[worse] = HT_ws[worse]
        nR[worse] = nR_ws[worse]
    return HT, nR


def snpa(
    V,
    n_components,
    variant="snpa",
    normalize=True,
    proj="simplex",
    max_inner_iter=200,
    inner_tol=1e-6,
    relerr=1e-6,
    return_indices=False,
):
    r"""Separable NMF: choose ``n_components`` columns of V as templates, ``V ~ V[:, K] @ H``.

    The algorithm (SNPA, Gillis 2014; XRAY's greedy rule, Kumar et al. 2013) is described in
    the notes of :mod:`sepkit.decomposition._snpa` (module docstring).

    Parameters
    ----------
    V : array_like, shape (F, N)
        Nonnegative data whose columns are the samples, e.g. a magnitude spectrogram
        (F frequency bins, N frames), any unit. Never modified. Transpose it to select rows
        (frequency bins) instead.
    n_components : int
        Number K of columns to extract, 1 <= K <= N.
    variant : {'snpa', 'xray-greedy'}, default 'snpa'
        Selection rule: SNPA's largest residual norm, or XRAY's greedy detection with the
        :math:`(\mathbf 1^\top x_j)^2` normalisation.
    normalize : bool, default True
        Scale the columns of V to unit sum before the extraction (recommended for
        nonnegative data such as spectrograms: loud and quiet frames then weigh alike).
        The final H is always fitted to the unnormalised V.
    proj : {'simplex', 'nonneg'}, default 'simplex'
        Constraint of the fits during the extraction: columns of H in
        :math:`\Delta` (the setting of SNPA's recovery guarantees; meaningful with
        ``normalize``) or only :math:`H \ge 0` (cheaper, no guarantee).
    max_inner_iter : int, default 200
        Cap of FPGM iterations for the fit of each extraction step; the final fit of H, on
        which the result rests, may run ``5 * max_inner_iter``.
    inner_tol : float, default 1e-6
        FPGM stops when :math:`\|H^{t+1} - H^t\|_F \le` ``inner_tol``
        :math:`\cdot \|H^1 - H^0\|_F`.
    relerr : float, default 1e-6
        Stop extracting when the largest residual norm falls to ``relerr`` times the largest
        column norm (the data are then explained).
    return_indices : bool, default False
        Also return the indices of the selected columns.

    Returns
    -------
    W : numpy.ndarray of float64, shape (F, K)
        The selected columns, ``V[:, indices]`` (real frames of V), in the order of
        extraction.
    H : numpy.ndarray of float64, shape (K, N)
        Nonnegative activations fitted to the unnormalised V with W fixed.
    costs : numpy.ndarray of float64, shape (K,)
        Relative residual :math:`\|V - W_k H_k\|_F / \|V\|_F` after each extraction step k,
        for the fit the algorithm holds then (the constrained fit of step 3, mapped back to
        the scale of V); the last entry is that of the returned (W, H). Non-increasing.
        Computed in Gram form (without forming the residual), so accurate to about
        1e-7 absolute; exact zeros are reported as small positive numbers.
    indices : numpy.ndarray of int, shape (K,)
        Only with ``return_indices``: the selected columns, ``W = V[:, indices]``.

    Raises
    ------
    DecompositionError
        If V is not a nonempty 2-D array of finite nonnegative reals or is all zeros; if
        ``n_components`` is not an int in [1, N]; if ``variant``, ``proj``, ``normalize``,
        ``max_inner_iter``, ``inner_tol`` or ``relerr`` is invalid.

    Warns
    -----
    UserWarning
        If the residual vanishes (falls to ``relerr``) before ``n_components`` columns are
        found: V is then exactly explained by fewer columns, and the K' < K columns found
        are returned (W of shape (F, K'), H (K', N), costs (K',)). Extra columns would be
        arbitrary (duplicates of explained frames), so none are invented.

    Examples
    --------
    >>> import numpy as np
    >>> from sepkit.decomposition import snpa
    >>> rng = np.random.default_rng(0)
    >>> W0 = rng.random((50, 3))
    >>> V = W0 @ np.hstack([np.eye(3), rng.dirichlet(np.ones(3), 97).T])
    >>> W, H, costs, idx = snpa(V, 3, return_indices=True)
    >>> sorted(idx.tolist())
    [0, 1, 2]
    >>> bool(costs[-1] < 1e-6)
    True
    """
    V, K, variant, proj, normalize, max_inner_iter, inner_tol, relerr = _check_snpa(
        V, n_components, variant, proj, normalize, max_inner_iter, inner_tol, relerr
    )
    F, N = V.shape
    simplex = proj == "simplex"
    xray = variant == "xray-greedy"

    # ---- (normalised) data and norms --------------------------------------------------
    sums = V.sum(axis=0)
    d = np.where(sums > 0, sums, 1.0) if normalize else np.ones(N)  # x_j = v_j / d_j
    X = V / d if normalize else V
    n0 = np.einsum("fn,fn->n", X, X)
    v_norm = np.sqrt(float(np.einsum("n,n->", n0, d * d)))  # ||V||_F
    stop = relerr * relerr * float(n0.max())
    # BLAS runs on one thread throughout: the products are thin (F x N by a vector, N x k by
    # k x k) or one-off, and on the loaded 2-core machine two BLAS threads stalled (XRAY's
    # ||X.T x_j||^2 of a 100 x 400 matrix: 47-68 ms with two threads, 0.3 ms with one; of
    # the 1025 x 2585 spectrogram: 456 against 397 ms).
    with single_thread_blas():
        a = denom = None
        if xray:  # ||X.T x_j||^2 and (1.T x_j)^2 of every column, once
            if F <= N:
                a = np.einsum("fn,fn->n", X, (X @ X.T) @ X)
            else:
                M = X.T @ X
                a = np.einsum("mn,mn->n", M, M)
            l1 = X.sum(axis=0)
            denom = np.where(l1 > 0, l1 * l1, np.inf)  # zero columns score 0
        idx, HTu, costs = _extract(X, d, n0, v_norm, K, xray, a, denom, simplex, max_inner_iter, inner_tol,
                                   relerr, stop)
    W = V[:, idx]
    H = np.ascontiguousarray(HTu.T)
    costs = np.asarray(costs)
    if return_indices:
        return W, H, costs, idx
    return W, H, costs


def _check_snpa(V, n_components, variant, proj, normalize, max_inner_iter, inner_tol, relerr):
    """Validated arguments of :func:`snpa` (V as a float64 array)."""
    V = check_nonneg_array("V", V, np.float64, what="array (n_features, n_samples)")
    check_level(V)
    if V.max() == 0:
        raise DecompositionError(f"V of shape {V.shape} is all zeros (zero energy): no column to select")
    F, N = V.shape
    K = check_int("n_components", n_components, 1, error=DecompositionError)
    if K > N:
        raise DecompositionError(
            f"n_components must be at most the number of columns of V (N = {N}), got {K}"
        )
    variant = check_choice("variant", variant, _VARIANTS, case_sensitive=True, error=DecompositionError)
    proj = check_choice("proj", proj, _PROJS, case_sensitive=True, error=DecompositionError)
    normalize = check_bool("normalize", normalize, error=DecompositionError)
    max_inner_iter = check_int("max_inner_iter", max_inner_iter, 1, error=DecompositionError)
    inner_tol = check_positive("inner_tol", inner_tol, error=DecompositionError)
    relerr = check_real("relerr", relerr, 0.0, 1.0, inclusive=False, error=DecompositionError)
    return V, K, variant, proj, normalize, max_inner_iter, inner_tol, relerr


def _extract(X, d, n0, v_norm, K, xray, a, denom, simplex, max_inner_iter, inner_tol, relerr, stop):
    """The extraction loop and the final fit on the unnormalised data (see :func:`snpa`).

    Returns the selected indices (K',), the final coefficients transposed (N, K') and the
    cost history (K',).
    """
    N = X.shape[1]
    # ---- extraction -------------------------------------------------------------------
    idx = []
    BT_full = np.empty((N, K))  # row j: U.T x_j, one column per selected index
    HT = BT = np.zeros((N, 0))
    nR = n0.copy()
    costs = []
    for k in range(1, K + 1):
        if nR.max() <= stop:
            warnings.warn(
                f"snpa: the residual vanished after {k - 1} of n_components={K} columns "
                f"(relative residual {costs[-1]:.3g} <= relerr={relerr:g}); returning the "
                f"{k - 1} columns found",
                UserWarning,
                stacklevel=3,
            )
            break
        if xray and k > 1:
            P = X @ HT  # (F, k-1)
            QT = X.T @ P  # (N, k-1) = X.T X H.T
            score = np.empty(N)
            _k.xray_scores(a, BT, QT, HT.T @ HT, score)
            score /= denom
        elif xray:
            score = a / denom
        else:
            score = nR
        b = _argmax_tied(score, n0, idx)
        idx.append(b)
        BT_full[:, k - 1] = X.T @ X[:, b]
        BT = np.ascontiguousarray(BT_full[:, :k])
        G = np.ascontiguousarray(BT[idx, :])  # U.T U
        # warm start: previous fit, column b explained by itself
        HT_ws = np.zeros((N, k))
        HT_ws[:, : k - 1] = HT
        HT_ws[b] = 0.0
        HT_ws[b, k - 1] = 1.0
        nR_ws = nR.copy()
        nR_ws[b] = 0.0
        HT, nR = _solve(G, BT, np.empty((N, k)), n0, simplex, max_inner_iter, inner_tol, HT_ws, nR_ws)
        costs.append(np.sqrt(float(np.einsum("n,n->", nR, d * d))) / v_norm)

    # ---- H on the unnormalised data ---------------------------------------------------
    idx = np.asarray(idx, dtype=np.intp)
    k = idx.size
    dK = d[idx]
    BTu = BT * (d[:, None] * dK[None, :])  # (V.T W)
    Gu = G * (dK[:, None] * dK[None, :])  # W.T W
    n0u = n0 * (d * d)
    HT_ws = HT * (d[:, None] / dK[None, :])
    HTu, nRu = _solve(Gu, BTu, np.empty((N, k)), n0u, False, _FINAL_ITER_FACTOR * max_inner_iter, inner_tol, HT_ws,
                      nR * d * d)
    costs[-1] = np.sqrt(float(nRu.sum())) / v_norm
    return idx, HTu, costs


def separable_init(V, n_components, variant="snpa", floor=True):
    """Separable NMF of V (:func:`snpa`), optionally made a valid start for multiplicative updates.

    Used as the ``'snpa'`` initialisation of NMF (:class:`~sepkit.separation.NMF`,
    :class:`~sepkit.separation.SNPA`): the templates are real columns (frames) of V.

    Parameters
    ----------
    V : array_like, shape (F, N)
        Nonnegative data, e.g. a magnitude spectrogram (F bins, N frames). Never modified.
    n_components : int
        Number of columns to select, 1 <= n_components <= N.
    variant : {'snpa', 'xray-greedy'}, default 'snpa'
    floor : bool, default True
        Floor W at ``1e-9 * max(V)`` and H at ``1e-3 * max(H)``: the separable fit leaves
        exact zeros, which multiplicative updates could never leave.

    Returns
    -------
    W : numpy.ndarray of float64, shape (F, n_components)
        The selected columns ``V[:, indices]`` (floored with ``floor``).
    H : numpy.ndarray of float64, shape (n_components, N)
        Their nonnegative least-squares activations (floored with ``floor``).
    indices : numpy.ndarray of int, shape (n_components,)
        The selected columns.

    Raises
    ------
    DecompositionError
        If ``n_components`` exceeds the number of columns, or fewer columns already explain
        V exactly (besides the errors of :func:`snpa`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((20, 3)) @ rng.random((3, 30))
    >>> W, H, idx = separable_init(V, 3)
    >>> W.shape, H.shape, bool(H.min() > 0)
    ((20, 3), (3, 30), True)
    """
    n_components = check_int("n_components", n_components, 1, error=DecompositionError)
    n_columns = np.shape(V)[1] if np.ndim(V) == 2 else None
    if n_columns is not None and n_components > n_columns:
        raise DecompositionError(
            f"separable NMF selects frames (columns) of V: n_components={n_components} exceeds its "
            f"{n_columns} frames"
        )
    W, H, _, indices = snpa(V, n_components, variant=variant, return_indices=True)
    if W.shape[1] < n_components:
        raise DecompositionError(
            f"V is explained exactly by {W.shape[1]} of its frames (columns); ask for "
            f"n_components <= {W.shape[1]}, got {n_components}"
        )
    if check_bool("floor", floor, error=DecompositionError):
        H = np.maximum(H, 1e-3 * max(float(H.max()), 1e-300))
        W = np.maximum(W, 1e-9 * float(np.max(V)))
    return W, H, indices
