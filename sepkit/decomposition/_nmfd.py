r"""Convolutive NMF (NMFD) with multiplicative updates on stacked GEMMs and the kernels of
:mod:`sepkit.kernels.nmfd` and :mod:`sepkit.kernels.nmf`.

Threads. Each iteration alternates three to six GEMMs of F x T*K x N with O(F*N) kernel
passes. On the shared 2-core development machine (load 9, 1025 x 2585, K = 4, T = 8, KL
with the cost), an iteration took 71 ms with one BLAS thread and serial kernels, 120 ms
with one BLAS thread and numba's parallel ``beta_terms`` (as ``nmf`` does), and 200-330 ms
with two BLAS threads: parallel regions wait for threads the scheduler has parked, and
the products with T*K = 32 inner columns gain little from a second thread. ``nmfd`` hence
runs its loop with one BLAS thread (threadpoolctl) and ``numba.set_num_threads(1)`` (a
thread-local setting, restored afterwards).

Algorithm
---------
One iteration (Smaragdis 2004; Dittmar & Mueller 2016; Cichocki et al. 2009, sec. 3.7),
with :math:`P = V \odot \Lambda^{\beta-2}`, :math:`B = \Lambda^{\beta-1}` and the
majorise-minimise exponent :math:`\gamma(\beta)` (1 for 1 <= beta <= 2):

1. W step (unless ``fix_W``), all taps at once:
   :math:`W_\tau \leftarrow W_\tau \odot [P S_\tau(H)^T / (B S_\tau(H)^T + u \sum_{\tau' \ne \tau} W_{\tau'})]^\gamma`
   (for beta = 1 the denominator is the row sums of :math:`S_\tau(H)`);
2. H step (unless ``fix_H``) with the updated W, see ``h_update``;
3. template normalisation, see ``normalize``.

The defaults (beta = 1, ``h_update='average'``, ``normalize='libnmfd'``) reproduce the
trajectory of libnmfd 1.0.0's ``nmfd`` from the same initial W and H: the same W, and H
multiplied by ``sum(V)`` since libnmfd works on ``V / sum(V)`` and sepkit at the scale of
V. The test suite checks every entry of W and H to 1e-6 relative on a drum-loop
spectrogram (measured: 3e-7, due to libnmfd's 2**-52 added to the model; 1e-13 without it).

Activation updates (``h_update``):

``'average'`` (libnmfd's ``nmfd``, Smaragdis 2004): the mean over taps of per-tap
ratios,
:math:`H \leftarrow H \odot [\frac{1}{T} \sum_\tau W_\tau^T S_{-\tau}(P) / (W_\tau^T S_{-\tau}(B) + \lambda)]^\gamma`,
where taps beyond the last frame count as 0 (at beta = 1, ``W_tau.T @ S_-tau(B)``
is the column sums of ``W_tau``, as in libnmfd). For beta != 1 sepkit applies the
exponent gamma(beta) to the averaged ratio (T = 1 then gives the usual MM update);
this is a heuristic without a descent guarantee (in the tests, with
``normalize='l1'``, the cost never rises for beta in {1, 1.5, 2}, and rises by at
most 0.2 % in a step for beta in {0.5, 3}).
``'exact'`` (libnmfd's ``nmf_conv``, Cichocki et al. 2009): the ratio of sums,
:math:`H \leftarrow H \odot [\sum_\tau W_\tau^T S_{-\tau}(P) / (\sum_\tau W_\tau^T S_{-\tau}(B) + \lambda)]^\gamma`,
the multiplicative update of the convolutive cost; with ``uncorrelatedness=0`` and
``normalize`` in {False, 'l1', 'l2'} the cost never increases, for every beta.
P and B of the H step are those of the model after the W step (recomputed: one
more product), except in libnmfd's own scheme, ``h_update='average'`` with
``normalize='libnmfd'`` (the defaults), which keeps the model of the start of the
iteration as libnmfd does. Without libnmfd's uncompensated normalisation, that
stale model makes the W and the H step correct the same scale error twice (the
cost rose 7-fold in one step on a drum loop), hence the refresh.
Notes
-----
As in :func:`nmf`, the model is floored at ``1e-12 * max(V)`` (``1e-6 * max(V)`` in
float32) and, for beta <= 0, so is V. libnmfd instead adds 2**-52 to the model and to
every denominator and works on ``V / sum(V)``; its reported cost is a "safe" KL mean,
sepkit's the standard divergence at the scale of V. libnmfd also normalises a fixed W
once (after the first iteration); sepkit never changes a fixed factor.

Every large product is one GEMM over the stacked taps (F x T*K by T*K x N): per
iteration three at beta = 1 in libnmfd's scheme (model, W numerator, H numerator),
plus the two denominators for other beta and the refreshed model otherwise. Shifts,
shift-accumulations and prefix sums are numba kernels (:mod:`sepkit.kernels.nmfd`),
the beta terms and the cost those of :mod:`sepkit.kernels.nmf`.
"""

import numba
import numpy as np

from ..core import DecompositionError
from ..core.validation import check_bool, check_choice, check_int, check_nonneg, check_real, default_rng
from ..kernels import nmf as _k
from ..kernels import nmfd as _kd
from ._common import check_level, check_nonneg_array, single_thread_blas, times_t, work_dtype

__all__ = ["convolutive_model", "nmfd"]

#: Relative floor of the model (and of V for beta <= 0), times max(V), as in ``nmf``.
_FLOOR = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}
_H_UPDATES = ("average", "exact")
_NORMALIZE = ("libnmfd", "l1", "l2")
_E = DecompositionError


def _stack_W(W):
    """(K, F, T) templates -> (F, T*K) stacked taps, ``W_stack[:, tau*K + k] = W[k, :, tau]``."""
    K, F, T = W.shape
    return np.ascontiguousarray(W.transpose(1, 2, 0).reshape(F, T * K))


def _unstack_W(Ws, K):
    """Inverse of :func:`_stack_W`: (F, T*K) -> (K, F, T), C-contiguous."""
    F, TK = Ws.shape
    return np.ascontiguousarray(Ws.reshape(F, TK // K, K).transpose(2, 0, 1))




def convolutive_model(W, H, per_component=False):
    r"""Convolutive NMF model :math:`\Lambda = \sum_{\tau} W_\tau S_\tau(H)`.

    ``Lambda[f, n] = sum_k sum_tau W[k, f, tau] * H[k, n - tau]`` (terms with n < tau are
    zero): each activation ``H[k, n]`` starts a copy of template ``W[k]`` at frame n.

    Parameters
    ----------
    W : array_like, shape (K, F, T)
        Nonnegative 2-D templates: ``W[k]`` is component k's template of F bins by T frames.
    H : array_like, shape (K, N)
        Nonnegative activations.
    per_component : bool, default False
        Return the model of each component separately (e.g. to build Wiener masks).

    Returns
    -------
    numpy.ndarray, shape (F, N), or (K, F, N) if ``per_component``
        The model (float32 if W and H are both float32, else float64); with
        ``per_component`` the K component models, which sum to the full model.

    Raises
    ------
    DecompositionError
        If W is not a 3-D or H not a 2-D array of finite nonnegative reals, or their
        numbers of components differ.

    Examples
    --------
    >>> import numpy as np
    >>> from sepkit.decomposition import convolutive_model
    >>> W = np.ones((1, 2, 3))           # one template: 2 bins, 3 frames
    >>> H = np.array([[1.0, 0, 0, 0, 2]])
    >>> convolutive_model(W, H)
    array([[1., 1., 1., 0., 2.],
           [1., 1., 1., 0., 2.]])
    """
    dt = work_dtype(None, W, H)
    W = check_nonneg_array("W", W, dt, 3, what="array of templates (K, F, T)")
    K, F, T = W.shape
    H = check_nonneg_array("H", H, dt, 2, what="array of activations (K, N)")
    if H.shape[0] != K:
        raise DecompositionError(f"H must have K = {K} rows (one per template of W {W.shape}), got shape {H.shape}")
    N = H.shape[1]
    if not per_component:
        Hs = np.empty((T * K, N), dtype=dt)
        _kd.shift_stack(H, T, Hs)
        return _stack_W(W) @ Hs
    out = np.empty((K, F, N), dtype=dt)
    Hs = np.empty((T, N), dtype=dt)
    for k in range(K):
        _kd.shift_stack(H[k : k + 1], T, Hs)
        np.matmul(W[k], Hs, out=out[k])
    return out


def nmfd(
    V,
    n_components=3,
    n_template_frames=8,
    n_iter=30,
    beta=1.0,
    W=None,
    H=None,
    sparsity=0.0,
    uncorrelatedness=0.0,
    fix_W=False,
    fix_H=False,
    h_update="average",
    normalize="libnmfd",
    seed=None,
    dtype=None,
):
    r"""Convolutive NMF (NMF deconvolution) ``V ~ sum_tau W_tau S_tau(H)`` by multiplicative updates.

    Each of the K components has a 2-D template ``W[k]`` (F bins x T frames) and a row of
    activations ``H[k]``; the model is :func:`convolutive_model`,
    :math:`\Lambda = \sum_{\tau=0}^{T-1} W_\tau S_\tau(H)` with :math:`W_\tau` (F, K) frame
    tau of every template and :math:`S_\tau` the shift of H's columns by tau frames to
    the right (zero fill). The fit is the beta-divergence :math:`D_\beta(V | \Lambda)` plus
    ``sparsity * sum(H)`` and the template-uncorrelatedness penalty below.

    The iteration, the parity with libnmfd and the products are described in the notes
    of :mod:`sepkit.decomposition._nmfd` (module docstring).

    Parameters
    ----------
    V : array_like, shape (F, N)
        Nonnegative data, e.g. a magnitude spectrogram (F bins, N frames), any unit. Never
        modified.
    n_components : int, default 3
        Number of components K >= 1 (must equal ``len(W)`` / ``len(H)`` when those are given).
    n_template_frames : int, default 8
        Frames T >= 1 per template (``W.shape[2]`` when W is given). T = 1 is plain NMF.
    n_iter : int, default 30
        Number of iterations (>= 0).
    beta : float, default 1.0
        Beta of the divergence: 2 Euclidean (half squared error), 1 generalised
        Kullback-Leibler, 0 Itakura-Saito, any finite real otherwise.
    W : array_like, shape (K, F, T), optional
        Initial (or, with ``fix_W``, fixed) templates, e.g. learned from one-shot drum
        samples. Default: ``seed``-drawn uniform [0, 1) entries, scaled so that the initial
        model has the mean of V.
    H : array_like, shape (K, N), optional
        Initial (or fixed) activations. Default: ones (libnmfd's ``'uniform'``).
    sparsity : float, default 0.0
        Weight of an L1 penalty on H (``sparsity * sum(H)``), added to the H denominators
        (to every per-tap one with ``'average'``); meaningful with ``normalize='l1'``/``'l2'``.
    uncorrelatedness : float, default 0.0
        Weight u of libnmfd's ``nmf_conv`` template-uncorrelatedness penalty:
        ``u * sum(W_tau' for tau' != tau)`` added to the W denominator of tap tau (a heuristic).
    fix_W, fix_H : bool, default False
        Keep the given W (supervised / template-informed NMFD) or H unchanged; a fixed
        factor must be given and is returned bit-identical (it is not normalised).
    h_update : {'average', 'exact'}, default 'average'
        ``'average'`` (libnmfd's ``nmfd``, Smaragdis 2004): the mean over taps of per-tap
        ratios (a heuristic for beta != 1); ``'exact'`` (libnmfd's ``nmf_conv``, Cichocki
        et al. 2009): the ratio of sums, whose cost never increases with
        ``uncorrelatedness=0`` and ``normalize`` in {False, 'l1', 'l2'}. Formulas and the
        model used by each step: module notes.
    normalize : {'libnmfd', 'l1', 'l2', False}, default 'libnmfd'
        ``'libnmfd'``: after every iteration scale each template to unit sum, H untouched
        (as libnmfd; the cost may rise). ``'l1'`` / ``'l2'``: after every W step scale each
        template to unit sum / norm and ``H[k]`` by the inverse factor (model and cost
        unchanged; also on the initial W). ``False``: none. A fixed W is never normalised;
        the compensated modes are skipped when H is fixed.
    seed : int or numpy.random.Generator, optional
        Randomness of the default templates. numpy's global RNG is never used.
    dtype : {numpy.float64, numpy.float32}, optional
        Working and output precision; default float32 for float32 V, float64 otherwise.

    Returns
    -------
    W : numpy.ndarray, shape (K, F, T)
        Templates (``W[k]`` is component k's F x T template).
    H : numpy.ndarray, shape (K, N)
        Activations.
    costs : numpy.ndarray of float64, shape (n_iter + 1,)
        ``D_beta(V | convolutive_model(W, H))`` (standard beta convention, without penalties)
        after the initialisation and after each iteration.

    Raises
    ------
    DecompositionError
        If V is not a nonempty 2-D array of finite nonnegative reals or is all zeros; for any
        invalid argument, a factor of the wrong shape or with negative / non-finite
        entries, or a fixed factor not given.

    Examples
    --------
    >>> import numpy as np
    >>> from sepkit.decomposition import nmfd, convolutive_model
    >>> rng = np.random.default_rng(0)
    >>> W0 = rng.random((2, 30, 4))                      # 2 templates, 30 bins, 4 frames
    >>> H0 = (rng.random((2, 200)) > 0.95) * 1.0        # sparse onsets
    >>> V = convolutive_model(W0, H0) + 1e-3
    >>> W, H, costs = nmfd(V, 2, 4, n_iter=50, seed=0)
    >>> W.shape, H.shape, costs.shape
    ((2, 30, 4), (2, 200), (51,))
    >>> bool(costs[-1] < 0.1 * costs[0])
    True
    """
    V, dt, vmax, K, T, n_iter, beta, lam, unc, h_update, normalize, fix_W, fix_H, W, H, rng = _check_nmfd(
        V, n_components, n_template_frames, n_iter, beta, W, H, sparsity, uncorrelatedness, fix_W, fix_H,
        h_update, normalize, seed, dtype
    )
    Ws, H, mode = _start(V, W, H, K, T, dt, rng, normalize, fix_W, fix_H)
    floor = _FLOOR[dt] * vmax
    args = (V, Ws, H, K, T, beta, n_iter, fix_W, fix_H, lam, unc, h_update, mode, floor)
    # One BLAS thread and serial kernels: measured fastest on the shared 2-core machine (see
    # the module notes); numba's thread count is thread-local, restored on exit.
    nt0 = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with single_thread_blas():
            costs = _iterate(*args)
    finally:
        numba.set_num_threads(nt0)
    return _unstack_W(Ws, K), H, costs


def _start(V, W, H, K, T, dt, rng, normalize, fix_W, fix_H):
    """Initial stacked templates ``Ws`` (F, T*K), activations H (K, N) and the normalisation mode in use."""
    F, N = V.shape
    if H is None:
        H = np.ones((K, N), dtype=dt)
    if W is None:
        W = rng.random((K, F, T))
        lam0 = float(convolutive_model(W, H.astype(np.float64)).mean())
        if lam0 > 0:
            W *= V.mean(dtype=np.float64) / lam0
        W = W.astype(dt)
    Ws = _stack_W(W)  # (F, T*K), a private copy
    del W
    mode = normalize
    if mode in ("l1", "l2") and (fix_W or fix_H):
        mode = False
    if mode == "libnmfd" and fix_W:
        mode = False
    if mode in ("l1", "l2"):
        _normalize_templates(Ws, H, K, mode)
    return Ws, H, mode


def _check_nmfd(V, n_components, n_template_frames, n_iter, beta, W, H, sparsity, uncorrelatedness, fix_W, fix_H,
                h_update, normalize, seed, dtype):
    """Validated arguments of :func:`nmfd`, in the order of its body (factors as private copies)."""
    dt = work_dtype(dtype, V)
    V = check_nonneg_array("V", V, dt, 2, what="array (n_freq, n_frames)", copy=False)  # only read
    check_level(V)
    F, N = V.shape
    vmax = float(V.max())
    if vmax == 0.0:
        raise DecompositionError(f"V of shape {V.shape} is all zeros (zero energy): nothing to factorise")
    K = check_int("n_components", n_components, 1, error=_E)
    T = check_int("n_template_frames", n_template_frames, 1, error=_E)
    n_iter = check_int("n_iter", n_iter, 0, error=_E)
    beta = check_real("beta", beta, error=_E)
    lam = check_nonneg("sparsity", sparsity, error=_E)
    unc = check_nonneg("uncorrelatedness", uncorrelatedness, error=_E)
    h_update = check_choice("h_update", h_update, _H_UPDATES, case_sensitive=True, error=_E)
    if normalize is False or normalize is None:
        normalize = False
    elif not isinstance(normalize, str) or normalize not in _NORMALIZE:
        raise DecompositionError(f"normalize must be 'libnmfd', 'l1', 'l2' or False, got {normalize!r}")
    fix_W, fix_H = check_bool("fix_W", fix_W, error=_E), check_bool("fix_H", fix_H, error=_E)
    if W is not None:
        W = check_nonneg_array("W", W, dt, 3, what="array of templates (K, F, T)")
        if W.shape[0] != K or W.shape[1] != F or W.shape[2] != T:
            raise DecompositionError(
                f"W must have shape (n_components, n_freq, n_template_frames) = {(K, F, T)}, got {W.shape}"
            )
    elif fix_W:
        raise DecompositionError("fix_W=True needs the fixed templates: pass W of shape (K, F, T)")
    if H is not None:
        H = check_nonneg_array("H", H, dt, 2, shape=(K, N), what="array of activations (K, N)")
    elif fix_H:
        raise DecompositionError("fix_H=True needs the fixed activations: pass H of shape (K, N)")
    rng = default_rng(seed, error=_E)
    return V, dt, vmax, K, T, n_iter, beta, lam, unc, h_update, normalize, fix_W, fix_H, W, H, rng


def _normalize_templates(Ws, H, K, mode):
    """Scale each template (all taps of component k in the stacked ``Ws`` (F, T*K)) to unit
    sum ('l1', 'libnmfd') or unit Frobenius norm ('l2'), in place; for 'l1'/'l2' multiply
    ``H[k]`` (K, N) by the same factor so the model is unchanged."""
    F, TK = Ws.shape
    W3 = Ws.reshape(F, TK // K, K)  # a view
    if mode == "l2":
        norms = np.sqrt(np.einsum("ftk,ftk->k", W3, W3, dtype=np.float64))
    else:
        norms = W3.sum(axis=(0, 1), dtype=np.float64)
    good = norms > 0
    scale = np.where(good, 1.0 / np.where(good, norms, 1.0), 1.0)
    W3 *= scale.astype(Ws.dtype)
    if mode != "libnmfd":
        H *= np.where(good, norms, 1.0).astype(H.dtype)[:, None]


def _iterate(V, Ws, H, K, T, beta, n_iter, fix_W, fix_H, lam, unc, h_update, mode, floor):
    """Run the NMFD updates in place on the stacked templates Ws (F, T*K) and H (K, N)."""
    F, N = V.shape
    dt = V.dtype
    gamma = _k.mm_exponent(beta)
    costs = np.empty(n_iter + 1)
    Hs = np.empty((T * K, N), dtype=dt)  # shifted-H stack
    Lam = np.empty((F, N), dtype=dt)
    _kd.shift_stack(H, T, Hs)
    if n_iter == 0 or (fix_W and fix_H):
        costs[:] = _k.beta_divergence(V, Ws @ Hs, beta, floor)
        return costs
    P = np.empty_like(Lam)
    B = Lam  # Lam**(beta-1) overwrites the model (unused for beta = 1)
    vps = _k.power_sum(V, beta, floor) if beta not in (0.0, 1.0) else 0.0
    exact = h_update == "exact"
    # libnmfd's scheme keeps one model per iteration; everything else refreshes it after the W step
    refresh = not fix_W and (exact or mode != "libnmfd")
    kl = beta == 1.0
    row_sums = np.empty((1, T * K), dtype=dt)
    num_H = np.empty((K, N), dtype=dt)
    den_H = np.empty((K, N), dtype=dt)
    one = np.ones((1, 1), dtype=dt)

    for it in range(n_iter):
        np.matmul(Ws, Hs, out=Lam)
        costs[it] = _k.beta_terms(V, Lam, beta, floor, P, B, vps, True)
        if not fix_W:
            num = times_t(P, Hs)  # (F, T*K) = P @ Hs.T
            if kl:
                _kd.shifted_row_sums(H, T, row_sums)
                den = row_sums
            else:
                den = times_t(B, Hs)
            if unc > 0.0:
                S = Ws.reshape(F, T, K).sum(axis=1)  # (F, K): every template's sum over taps
                den = den + unc * np.maximum(np.tile(S, (1, T)) - Ws, 0.0)
            _k.mu_step(Ws, num, den, 0.0, 0.0, gamma)
            if mode in ("l1", "l2"):
                _normalize_templates(Ws, H, K, mode)
                _kd.shift_stack(H, T, Hs)
        if not fix_H:
            WsT = np.ascontiguousarray(Ws.T)  # (T*K, F)
            if refresh:
                np.matmul(Ws, Hs, out=Lam)
                _k.beta_terms(V, Lam, beta, floor, P, B, vps, False)
            G = WsT @ P  # (T*K, N)
            if kl:
                denG = Ws.sum(axis=0)[:, None]  # (T*K, 1): column sums of every W_tau
            else:
                denG = WsT @ B
            if exact:
                _kd.shift_accumulate(G, K, num_H)
                _kd.shift_accumulate(denG, K, den_H)
                _k.mu_step(H, num_H, den_H, lam, 0.0, gamma)
            else:
                _kd.average_tap_ratios(G, denG, lam, K, num_H)
                _k.mu_step(H, num_H, one, 0.0, 0.0, gamma)
            _kd.shift_stack(H, T, Hs)
        if mode == "libnmfd":
            _normalize_templates(Ws, H, K, mode)
    np.matmul(Ws, Hs, out=Lam)
    costs[n_iter] = _k.beta_divergence(V, Lam, beta, floor)
    return costs
