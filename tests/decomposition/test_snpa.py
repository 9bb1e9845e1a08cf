"""Separable NMF: kernels against numpy / scipy references, anchor recovery, behaviour of ``snpa``."""

import warnings

import numpy as np
import pytest
from scipy.optimize import nnls

from sepkit import AudioSignal
from sepkit.core import DecompositionError
from sepkit.decomposition import snpa
from sepkit.kernels import snpa as k

VARIANTS = ["snpa", "xray-greedy"]


def np_project_delta(Y):
    """Plain numpy projection of every column of Y onto {x >= 0, sum x <= 1} (notes 3.2)."""
    k, n = Y.shape
    U = -np.sort(-Y, axis=0)  # descending per column
    C = np.cumsum(U, axis=0) - 1
    rho = k - 1 - np.argmax((U - C / np.arange(1, k + 1)[:, None] > 0)[::-1], axis=0)  # last j
    theta = C[rho, np.arange(n)] / (rho + 1)
    P = np.maximum(Y, 0)
    return np.where(P.sum(axis=0) <= 1, P, np.maximum(Y - theta, 0))


def np_fpgm(U, X, H0, simplex, n_iter):
    """Plain projected gradient (step 1/L, no momentum) for min ||X - U H||_F^2, a reference."""
    G, B = U.T @ U, U.T @ X
    L = np.linalg.eigvalsh(G)[-1]
    H = H0.copy()
    for _ in range(n_iter):
        H = H - (G @ H - B) / L
        H = np_project_delta(H) if simplex else np.maximum(H, 0)
    return H


def run_fpgm(U, X, H0, simplex, max_iter=200, tol=1e-6):
    G = U.T @ U
    BT = np.ascontiguousarray((U.T @ X).T)
    HT = np.ascontiguousarray(H0.T)
    it = k.fpgm(G, BT, float(np.linalg.eigvalsh(G)[-1]), HT, simplex, max_iter, tol)
    return HT.T, it


def separable(seed, noise, m=100, r=6, n=400):
    """Random separable X = W [I, H'] with columns permuted; returns (X, anchor index set)."""
    rng = np.random.default_rng(seed)
    W = rng.random((m, r))
    H = np.hstack([np.eye(r), rng.dirichlet(np.full(r, 0.5), n - r).T])
    perm = rng.permutation(n)
    X = (W @ H)[:, perm]
    if noise:
        E = rng.standard_normal(X.shape)
        X = np.maximum(X + noise * np.linalg.norm(X) / np.linalg.norm(E) * E, 0)
    return X, set(np.flatnonzero(perm < r).tolist())


@pytest.fixture(scope="module")
def spectrogram():
    """Magnitude STFT (1025 bins x ~216 frames) of 2.5 s of the bundled mixture."""
    from sepkit.datasets import load_example

    mix, _ = load_example()
    excerpt = AudioSignal(mix.audio_data[:, 44100 : 44100 + 110250], mix.sample_rate)
    return np.ascontiguousarray(np.abs(excerpt.stft()[:, :, 0]))


# ---------------------------------------------------------------- projection kernels


@pytest.mark.parametrize("kdim", [1, 2, 5, 16, 17, 40, 100])
@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0])
def test_project_delta_matches_numpy(rng, kdim, scale):
    Y = scale * rng.standard_normal((kdim, 300))
    X = Y.copy()
    k.project_delta(X)
    np.testing.assert_allclose(X, np_project_delta(Y), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kdim", [6, 40])  # sorting and Michelot's iteration
def test_project_delta_properties(rng, kdim):
    Y = 2 * rng.standard_normal((kdim, 500))
    Y[:, :10] = -np.abs(Y[:, :10])  # all-negative columns project to 0
    Y[:, 10:20] = np.abs(Y[:, 10:20]) / (10 * np.abs(Y[:, 10:20]).sum(axis=0))  # already inside
    X = Y.copy()
    k.project_delta(X)
    # in Delta
    assert X.min() >= 0
    assert X.sum(axis=0).max() <= 1 + 1e-14
    np.testing.assert_array_equal(X[:, :10], 0)
    np.testing.assert_array_equal(X[:, 10:20], Y[:, 10:20])
    # idempotent
    X2 = X.copy()
    k.project_delta(X2)
    np.testing.assert_allclose(X2, X, rtol=0, atol=1e-15)
    # optimality (variational inequality): (y - x).(v - x) <= 0 for every v in Delta; the
    # left side is linear in v, so checking the vertices 0, e_1, ..., e_k suffices
    R = Y - X
    at_zero = -(R * X).sum(axis=0)
    at_e = R - (R * X).sum(axis=0)[None, :]
    assert max(at_zero.max(), at_e.max()) <= 1e-12


def test_project_delta_brute_force_small(rng):
    """Against a dense search over a grid of Delta in 2-D (the projection is the closest point)."""
    g = np.linspace(0, 1, 401)
    A, B = np.meshgrid(g, g)
    inside = A + B <= 1 + 1e-12
    pts = np.stack([A[inside], B[inside]])
    Y = 1.5 * rng.standard_normal((2, 40))
    X = Y.copy()
    k.project_delta(X)
    for j in range(Y.shape[1]):
        d2 = ((pts - Y[:, j : j + 1]) ** 2).sum(axis=0)
        best = pts[:, np.argmin(d2)]
        assert np.sum((X[:, j] - Y[:, j]) ** 2) <= d2.min() + 1e-12
        np.testing.assert_allclose(X[:, j], best, atol=2 / 400)


def test_project_nonneg(rng):
    Y = rng.standard_normal((4, 50))
    X = Y.copy()
    k.project_nonneg(X)
    np.testing.assert_array_equal(X, np.maximum(Y, 0))


def test_momentum_schedule():
    a = 0.05
    for _ in range(5):
        nxt = (np.sqrt(a**4 + 4 * a**2) - a**2) / 2
        got = k.momentum_schedule(a)
        assert got[0] == pytest.approx(nxt, rel=1e-15)
        assert got[1] == pytest.approx(a * (1 - a) / (a**2 + nxt), rel=1e-15)
        a = nxt


# ---------------------------------------------------------------- FPGM and Gram-form kernels


@pytest.mark.parametrize("simplex", [True, False])
def test_fpgm_step_matches_formula(rng, simplex):
    U, X = rng.random((30, 5)), rng.random((30, 40))
    G, B = U.T @ U, U.T @ X
    L = np.linalg.eigvalsh(G)[-1]
    H, Y = rng.random((5, 40)) / 5, rng.random((5, 40)) / 5
    Z = Y - (G @ Y - B) / L
    Z = np_project_delta(Z) if simplex else np.maximum(Z, 0)
    HT, YT = np.ascontiguousarray(H.T), np.ascontiguousarray(Y.T)
    d2 = k.fpgm_step(YT @ G, np.ascontiguousarray(B.T), 1 / L, HT, YT, 0.3, simplex)
    np.testing.assert_allclose(HT.T, Z, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(YT.T, Z + 0.3 * (Z - H), rtol=1e-13, atol=1e-15)
    assert d2 == pytest.approx(np.sum((Z - H) ** 2), rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_fpgm_nonneg_matches_scipy_nnls(seed):
    rng = np.random.default_rng(seed)
    U = rng.random((30, 6))
    X = U @ np.maximum(rng.standard_normal((6, 25)), 0) + 0.3 * rng.standard_normal((30, 25))
    H, _ = run_fpgm(U, X, np.zeros((6, 25)), False, max_iter=20000, tol=1e-12)
    Hn = np.stack([nnls(U, X[:, j])[0] for j in range(X.shape[1])], axis=1)
    assert H.min() >= 0
    np.testing.assert_allclose(H, Hn, atol=1e-6 * np.abs(Hn).max())
    f, fn = np.linalg.norm(X - U @ H), np.linalg.norm(X - U @ Hn)
    assert f <= fn * (1 + 1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_fpgm_simplex_matches_projected_gradient(seed):
    rng = np.random.default_rng(seed)
    U = rng.random((20, 4))
    X = U @ rng.dirichlet(np.ones(4), 30).T * 1.3 + 0.05 * rng.random((20, 30))
    H0 = np.full((4, 30), 0.25)
    H, _ = run_fpgm(U, X, H0, True, max_iter=20000, tol=1e-13)
    Href = np_fpgm(U, X, H0, True, 5000)
    assert H.min() >= 0 and H.sum(axis=0).max() <= 1 + 1e-12
    np.testing.assert_allclose(H, Href, atol=1e-7)
    f, fref = np.linalg.norm(X - U @ H), np.linalg.norm(X - U @ Href)
    assert f == pytest.approx(fref, rel=1e-9)


def test_fpgm_stops_on_tolerance(rng):
    U, X = rng.random((20, 3)), rng.random((20, 50))
    _, it_loose = run_fpgm(U, X, np.zeros((3, 50)), False, max_iter=5000, tol=1e-2)
    _, it_tight = run_fpgm(U, X, np.zeros((3, 50)), False, max_iter=5000, tol=1e-9)
    assert 1 <= it_loose < it_tight <= 5000


def test_residual_norms_and_xray_scores(rng):
    X = rng.random((25, 60))
    idx = [3, 17, 40]
    U = X[:, idx]
    H = rng.random((3, 60))
    G, BT = U.T @ U, np.ascontiguousarray((U.T @ X).T)
    out = np.empty(60)
    k.residual_norms(np.sum(X * X, axis=0), np.ascontiguousarray(H.T), BT, G, out)
    R = X - U @ H
    np.testing.assert_allclose(out, np.sum(R * R, axis=0), rtol=1e-10)
    a = np.sum((X.T @ X) ** 2, axis=0)
    QT = np.ascontiguousarray(X.T @ (X @ H.T))
    k.xray_scores(a, BT, QT, H @ H.T, out)
    np.testing.assert_allclose(out, np.sum((R.T @ X) ** 2, axis=0), rtol=1e-9)


# ---------------------------------------------------------------- anchor recovery


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("noise", [0.0, 0.02])
@pytest.mark.parametrize("seed", range(3))
def test_recovers_planted_anchors(variant, noise, seed):
    X, anchors = separable(seed, noise)
    W, H, costs, idx = snpa(X, 6, variant=variant, return_indices=True)
    assert set(idx.tolist()) == anchors
    np.testing.assert_array_equal(W, X[:, idx])
    assert H.shape == (6, 400) and H.min() >= 0
    assert costs.shape == (6,)
    assert np.all(np.diff(costs) <= 0)
    # Gram-form residual: accurate to about sqrt(eps) relative to the norm of X
    assert costs[-1] == pytest.approx(np.linalg.norm(X - W @ H) / np.linalg.norm(X), rel=1e-9, abs=1e-7)
    if noise == 0:
        assert costs[-1] < 1e-4
    else:
        assert costs[-1] < 0.03  # about the noise level


@pytest.mark.parametrize("variant", VARIANTS)
def test_more_features_than_columns(variant):
    """F > N takes XRAY's other branch for ||X.T x_j||^2."""
    X, anchors = separable(5, 0.0, m=60, r=4, n=30)
    _, _, _, idx = snpa(X, 4, variant=variant, return_indices=True)
    assert set(idx.tolist()) == anchors


@pytest.mark.parametrize("variant", VARIANTS)
def test_options_without_normalisation_and_simplex(variant):
    X, _ = separable(1, 0.0)
    for normalize, proj in [(False, "simplex"), (True, "nonneg"), (False, "nonneg")]:
        W, H, costs = snpa(X, 6, variant=variant, normalize=normalize, proj=proj)
        assert H.min() >= 0 and np.all(np.diff(costs) <= 0)
        assert costs[-1] == pytest.approx(np.linalg.norm(X - W @ H) / np.linalg.norm(X), rel=1e-9, abs=1e-7)


# ---------------------------------------------------------------- real spectrogram


@pytest.mark.parametrize("variant", VARIANTS)
def test_real_spectrogram(spectrogram, variant):
    V = spectrogram
    W, H, costs, idx = snpa(V, 8, variant=variant, return_indices=True)
    assert W.shape == (V.shape[0], 8) and H.shape == (8, V.shape[1])
    assert len(set(idx.tolist())) == 8
    np.testing.assert_array_equal(W, V[:, idx])  # real frames of V
    assert H.min() >= 0
    assert np.all(np.diff(costs) < 0)
    rel = np.linalg.norm(V - W @ H) / np.linalg.norm(V)
    assert costs[-1] == pytest.approx(rel, rel=1e-9)
    # H is the nonnegative least-squares fit: as good as scipy's NNLS to 1e-6
    Hn = np.stack([nnls(W, V[:, j])[0] for j in range(V.shape[1])], axis=1)
    assert rel <= np.linalg.norm(V - W @ Hn) / np.linalg.norm(V) * (1 + 1e-6)
    assert costs[-1] < 0.35


# ---------------------------------------------------------------- behaviour


def test_deterministic_and_caller_arrays_untouched():
    X, _ = separable(2, 0.02)
    X.setflags(write=False)
    before = X.copy()
    out1 = snpa(X, 6, return_indices=True)
    out2 = snpa(X, 6, return_indices=True)
    np.testing.assert_array_equal(X, before)
    for a, b in zip(out1, out2):
        np.testing.assert_array_equal(a, b)
    out1[0][:] = -1  # W is a copy, not a view of X
    np.testing.assert_array_equal(X, before)


def test_accepts_lists_ints_and_float32():
    X, anchors = separable(3, 0.0, m=20, r=3, n=40)
    W, H, costs, idx = snpa(X.astype(np.float32), 3, return_indices=True)
    assert W.dtype == H.dtype == costs.dtype == np.float64
    assert set(idx.tolist()) == anchors
    W, H, costs = snpa([[1, 0, 1], [0, 1, 1]], 2)
    np.testing.assert_array_equal(W, [[1, 0], [0, 1]])
    np.testing.assert_allclose(H, [[1, 0, 1], [0, 1, 1]], atol=1e-9)


def test_ties_go_to_the_largest_norm_then_the_smallest_index():
    # step 2: residual norms 1 (column 1) and 1 - 1e-7 (column 2) tie within 1e-6, and the
    # larger column norm (column 2: ||x||^2 ~ 2 against 1) wins over the larger residual
    V = np.array([[10.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0 - 5e-8]])
    _, _, _, idx = snpa(V, 2, normalize=False, proj="nonneg", return_indices=True)
    assert idx.tolist() == [0, 2]
    # exact duplicates after normalisation, equal norms: the smallest index
    V = np.array([[0.0, 2.0, 1.0, 3.0], [1.0, 0.0, 0.0, 0.0]])
    _, _, _, idx = snpa(V, 2, return_indices=True)
    assert idx.tolist() == [0, 1]


def test_zero_columns_are_never_selected():
    X, anchors = separable(4, 0.0, m=30, r=3, n=50)
    X[:, [0, 7, 9]] = 0
    anchors -= {0, 7, 9}
    _, H, _, idx = snpa(X, 3, return_indices=True)
    assert set(idx.tolist()) == anchors & set(idx.tolist())
    np.testing.assert_array_equal(H[:, [0, 7, 9]], 0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_vanishing_residual_warns_and_returns_fewer_columns(variant):
    rng = np.random.default_rng(0)
    W0 = rng.random((40, 3))
    X = W0 @ np.hstack([np.eye(3), rng.dirichlet(np.ones(3), 27).T])
    with pytest.warns(UserWarning, match=r"after 3 of n_components=5"):
        W, H, costs, idx = snpa(X, 5, variant=variant, return_indices=True)
    assert sorted(idx.tolist()) == [0, 1, 2]
    assert W.shape == (40, 3) and H.shape == (3, 30) and costs.shape == (3,)
    assert costs[-1] < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        snpa(X, 3, variant=variant)  # exactly the rank: no warning


@pytest.mark.parametrize(
    "V, kwargs, match",
    [
        (np.ones(5), {}, r"2-D .* shape \(5,\)"),
        (np.ones((2, 3, 4)), {}, r"2-D .* shape \(2, 3, 4\)"),
        (np.ones((3, 0)), {}, "empty"),
        (-np.ones((3, 4)), {}, "nonnegative, got a minimum of -1"),
        (np.array([[1.0, np.nan], [1, 1]]), {}, "1 NaN or infinite"),
        (np.array([[1.0, np.inf], [1, 1]]), {}, "1 NaN or infinite"),
        (np.zeros((3, 4)), {}, r"all zeros \(zero energy\)"),
        (np.ones((3, 4)) + 0j, {}, "complex"),
        (np.array([["a", "b"]]), {}, "real numbers"),
        (np.ones((3, 4)), {"n_components": 0}, "n_components must be an integer >= 1, got 0"),
        (np.ones((3, 4)), {"n_components": 5}, r"at most the number of columns of V \(N = 4\), got 5"),
        (np.ones((3, 4)), {"n_components": 2.0}, "n_components must be an integer >= 1, got 2.0"),
        (np.ones((3, 4)), {"n_components": True}, "n_components must be an integer >= 1, got True"),
        (np.ones((3, 4)), {"variant": "xray"}, "variant must be one of 'snpa', 'xray-greedy'; got 'xray'"),
        (np.ones((3, 4)), {"proj": "l1"}, "proj must be one of 'simplex', 'nonneg'; got 'l1'"),
        (np.ones((3, 4)), {"normalize": "yes"}, "normalize must be True or False, got 'yes'"),
        (np.ones((3, 4)), {"max_inner_iter": 0}, "max_inner_iter must be an integer >= 1, got 0"),
        (np.ones((3, 4)), {"inner_tol": -1.0}, "inner_tol must be a finite real number > 0.0, got -1.0"),
        (np.ones((3, 4)), {"relerr": 0.0}, r"relerr must be a finite real number > 0.0 and < 1.0, got 0.0"),
        (np.ones((3, 4)), {"relerr": 1.0}, r"relerr must be a finite real number > 0.0 and < 1.0, got 1.0"),
    ],
)
def test_bad_input(V, kwargs, match):
    kw = {"n_components": 2, **kwargs}
    with pytest.raises(DecompositionError, match=match):
        snpa(V, **kw)
