"""NMFD: kernels against numpy formulas, one iteration against numpy, libnmfd parity, behaviour of ``nmfd``."""

import os

import numpy as np
import pytest

from sepkit.core import DecompositionError
from sepkit.decomposition import convolutive_model, nmf, nmfd
from sepkit.kernels import nmfd as kd

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data", "nmfd", "libnmfd_nmfd_reference.npz")


def np_gamma(beta):
    return 1 / (2 - beta) if beta < 1 else (1.0 if beta <= 2 else 1 / (beta - 1))


def np_shift(X, tau):
    """S_tau: shift the columns right by tau (left for tau < 0), zero fill."""
    out = np.zeros_like(X)
    N = X.shape[1]
    if tau >= 0:
        if tau < N:
            out[:, tau:] = X[:, : N - tau]
    elif -tau < N:
        out[:, : N + tau] = X[:, -tau:]
    return out


def np_model(W, H):
    """sum_tau W_tau @ S_tau(H) for W (K, F, T)."""
    return sum(W[:, :, tau].T @ np_shift(H, tau) for tau in range(W.shape[2]))


def np_terms(V, W, H, beta):
    L = np_model(W, H)
    return V * L ** (beta - 2), L ** (beta - 1)


def np_iteration(V, W, H, beta, h_update, refresh, sparsity=0.0, unc=0.0, libnmfd_norm=False):
    """One NMFD iteration from the formulas of the docs, tap by tap (no stacking)."""
    T = W.shape[2]
    N = V.shape[1]
    g = np_gamma(beta)
    P, B = np_terms(V, W, H, beta)
    Wn = W.copy()
    total = W.sum(axis=2)  # (K, F)
    for tau in range(T):
        Sh = np_shift(H, tau)
        num = P @ Sh.T
        den = B @ Sh.T + unc * (total - W[:, :, tau]).T
        Wn[:, :, tau] = W[:, :, tau] * ((num / den).T) ** g
    if refresh:
        P, B = np_terms(V, Wn, H, beta)
    if h_update == "exact":
        num = sum(Wn[:, :, tau] @ np_shift(P, -tau) for tau in range(T))
        den = sum(Wn[:, :, tau] @ np_shift(B, -tau) for tau in range(T)) + sparsity
        Hn = H * (num / den) ** g
    else:
        ratio = np.zeros_like(H)
        for tau in range(T):
            Wt = Wn[:, :, tau]
            ratio[:, : N - tau] += (Wt @ P[:, tau:]) / (Wt @ B[:, tau:] + sparsity)
        Hn = H * (ratio / T) ** g
    if libnmfd_norm:
        Wn = Wn / Wn.sum(axis=(1, 2))[:, None, None]
    return Wn, Hn


def np_divergence(V, L, beta):
    if beta == 1:
        return float(np.sum(V * np.log(V / L) - V + L))
    if beta == 0:
        return float(np.sum(V / L - np.log(V / L) - 1))
    return float(np.sum(V**beta + (beta - 1) * L**beta - beta * V * L ** (beta - 1)) / (beta * (beta - 1)))


@pytest.fixture
def problem(rng):
    """A small positive convolutive mixture with positive initial factors."""
    K, F, T, N = 3, 24, 5, 50
    W_true = rng.random((K, F, T))
    H_true = (rng.random((K, N)) > 0.85) * rng.random((K, N))
    V = convolutive_model(W_true, H_true) + 0.02
    W0 = rng.random((K, F, T)) + 0.1
    H0 = rng.random((K, N)) + 0.1
    return V, W0, H0


# ---------------------------------------------------------------- kernels vs numpy


@pytest.mark.parametrize("T", [1, 3, 7, 12])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shift_stack(rng, T, dtype):
    H = rng.random((3, 9)).astype(dtype)
    out = np.full((T * 3, 9), np.nan, dtype=dtype)
    kd.shift_stack(H, T, out)
    expected = np.concatenate([np_shift(H, tau) for tau in range(T)])
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("T", [1, 4, 11])
def test_shift_accumulate(rng, T):
    K, N = 3, 9
    P = rng.random((T * K, N))
    out = np.full((K, N), np.nan)
    kd.shift_accumulate(P, K, out)
    expected = sum(np_shift(P[tau * K : (tau + 1) * K], -tau) for tau in range(T))
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    col = rng.random((T * K, 1))  # broadcast column
    kd.shift_accumulate(col, K, out)
    expected = sum(np_shift(np.repeat(col[tau * K : (tau + 1) * K], N, axis=1), -tau) for tau in range(T))
    np.testing.assert_allclose(out, expected, rtol=1e-14)


@pytest.mark.parametrize("T", [1, 4, 11])
@pytest.mark.parametrize("l1", [0.0, 0.3])
def test_average_tap_ratios(rng, T, l1):
    K, N = 3, 9
    num = rng.random((T * K, N))
    for den in (rng.random((T * K, N)) + 0.1, rng.random((T * K, 1)) + 0.1):
        out = np.full((K, N), np.nan)
        kd.average_tap_ratios(num, den, l1, K, out)
        full = np.broadcast_to(den, num.shape)
        expected = sum(np_shift(num[tau * K : (tau + 1) * K] / (full[tau * K : (tau + 1) * K] + l1), -tau)
                       for tau in range(T)) / T
        np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_average_tap_ratios_dead_component():
    num = np.zeros((2, 4))
    den = np.zeros((2, 1))
    out = np.empty((1, 4))
    kd.average_tap_ratios(num, den, 0.0, 1, out)
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("T", [1, 2, 8, 9, 12])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shifted_row_sums(rng, T, dtype):
    H = rng.random((4, 9)).astype(dtype)
    out = np.full((1, T * 4), np.nan, dtype=dtype)
    kd.shifted_row_sums(H, T, out)
    expected = np.concatenate([np_shift(H.astype(np.float64), tau).sum(axis=1) for tau in range(T)])
    np.testing.assert_allclose(out[0], expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_nema(rng):
    X = rng.random((3, 40)) * (rng.random((3, 40)) > 0.8)
    decay = np.array([0.0, 0.75, 1.5])  # 1.5 is clipped to 0.9999999
    Y = kd.nema(X, decay)
    expected = X.copy()
    for k, d in enumerate(np.clip(decay, 0, 0.9999999)):
        for n in range(1, X.shape[1]):
            expected[k, n] = max(X[k, n], d * expected[k, n - 1] + (1 - d) * X[k, n])
    np.testing.assert_allclose(Y, expected, rtol=1e-15)
    np.testing.assert_array_equal(Y[0], X[0])  # no decay: unchanged
    assert np.all(Y >= X)
    Y32 = kd.nema(X.astype(np.float32), decay)
    assert Y32.dtype == np.float32
    np.testing.assert_allclose(Y32, expected, rtol=1e-5)


# ---------------------------------------------------------------- convolutive model


@pytest.mark.parametrize("T", [1, 4])
def test_convolutive_model_matches_numpy(rng, T):
    W, H = rng.random((3, 10, T)), rng.random((3, 20))
    L = convolutive_model(W, H)
    np.testing.assert_allclose(L, np_model(W, H), rtol=1e-13)
    parts = convolutive_model(W, H, per_component=True)
    assert parts.shape == (3, 10, 20)
    for k in range(3):
        np.testing.assert_allclose(parts[k], np_model(W[k : k + 1], H[k : k + 1]), rtol=1e-13)
    np.testing.assert_allclose(parts.sum(axis=0), L, rtol=1e-13)
    assert convolutive_model(W.astype(np.float32), H.astype(np.float32)).dtype == np.float32


def test_convolutive_model_errors(rng):
    with pytest.raises(DecompositionError, match="W must be a 3-D"):
        convolutive_model(rng.random((10, 3)), rng.random((3, 20)))
    with pytest.raises(DecompositionError, match="K = 3 rows"):
        convolutive_model(rng.random((3, 10, 2)), rng.random((2, 20)))
    with pytest.raises(DecompositionError, match="nonnegative"):
        convolutive_model(-rng.random((3, 10, 2)), rng.random((3, 20)))


# ---------------------------------------------------------------- one iteration vs numpy


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("h_update", ["average", "exact"])
def test_one_iteration_matches_numpy(problem, beta, h_update):
    V, W0, H0 = problem
    W, H, costs = nmfd(V, 3, 5, 1, beta=beta, W=W0, H=H0, h_update=h_update, normalize=False)
    We, He = np_iteration(V, W0, H0, beta, h_update, refresh=True)
    np.testing.assert_allclose(W, We, rtol=1e-11)
    np.testing.assert_allclose(H, He, rtol=1e-11)
    assert costs[0] == pytest.approx(np_divergence(V, np_model(W0, H0), beta), rel=1e-11)
    assert costs[1] == pytest.approx(np_divergence(V, np_model(We, He), beta), rel=1e-11)


@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
def test_one_iteration_libnmfd_scheme_matches_numpy(problem, beta):
    """Defaults: one model per iteration (stale P for H) and unit-sum templates, H not compensated."""
    V, W0, H0 = problem
    W, H, _ = nmfd(V, 3, 5, 1, beta=beta, W=W0, H=H0)
    We, He = np_iteration(V, W0, H0, beta, "average", refresh=False, libnmfd_norm=True)
    np.testing.assert_allclose(W, We, rtol=1e-11)
    np.testing.assert_allclose(H, He, rtol=1e-11)
    np.testing.assert_allclose(W.sum(axis=(1, 2)), 1.0, rtol=1e-13)


@pytest.mark.parametrize("h_update", ["average", "exact"])
def test_one_iteration_penalties_match_numpy(problem, h_update):
    V, W0, H0 = problem
    W, H, _ = nmfd(V, 3, 5, 1, beta=1.5, W=W0, H=H0, sparsity=0.3, uncorrelatedness=0.2, h_update=h_update,
                   normalize=False)
    We, He = np_iteration(V, W0, H0, 1.5, h_update, refresh=True, sparsity=0.3, unc=0.2)
    np.testing.assert_allclose(W, We, rtol=1e-11)
    np.testing.assert_allclose(H, He, rtol=1e-11)


def test_compensated_normalisation_keeps_model(problem):
    V, W0, H0 = problem
    for mode, norm in (("l1", lambda W: W.sum(axis=(1, 2))), ("l2", lambda W: np.sqrt((W**2).sum(axis=(1, 2))))):
        W, H, costs = nmfd(V, 3, 5, 0, W=W0, H=H0, normalize=mode)
        np.testing.assert_allclose(norm(W), 1.0, rtol=1e-13)
        np.testing.assert_allclose(convolutive_model(W, H), np_model(W0, H0), rtol=1e-12)
        W, H, costs = nmfd(V, 3, 5, 3, W=W0, H=H0, normalize=mode)
        np.testing.assert_allclose(norm(W), 1.0, rtol=1e-13)
        assert costs[-1] == pytest.approx(np_divergence(V, np_model(W, H), 1.0), rel=1e-11)


# ---------------------------------------------------------------- libnmfd parity


def test_libnmfd_parity():
    """Defaults reproduce libnmfd 1.0.0 ``nmfd`` (30 iterations, K = 3, T = 8, drum loop 128 x 100)."""
    ref = np.load(REFERENCE)
    V, s = ref["V"], float(ref["sum_V"])
    W, H, costs = nmfd(V, 3, 8, int(ref["n_iter"]), W=ref["W0"], H=ref["H0"])
    # W as libnmfd; H at the scale of V (libnmfd works on V / sum(V)). Entry-wise agreement
    # is ~3e-7 because of libnmfd's 2**-52 added to models down to ~1e-9 on its scale; without
    # that epsilon the two agree to 1e-13.
    np.testing.assert_allclose(W, ref["W_learn"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(H, s * ref["H_learn"], rtol=1e-6, atol=0)
    assert np.linalg.norm(W - ref["W_learn"]) < 1e-8 * np.linalg.norm(ref["W_learn"])
    assert np.linalg.norm(H - s * ref["H_learn"]) < 1e-8 * np.linalg.norm(s * ref["H_learn"])
    assert costs[-1] < 0.05 * costs[1]


def test_libnmfd_parity_fixed_templates():
    ref = np.load(REFERENCE)
    V, s = ref["V"], float(ref["sum_V"])
    W, H, _ = nmfd(V, 3, 8, int(ref["n_iter"]), W=ref["W_learn"], H=ref["H0"], fix_W=True)
    np.testing.assert_array_equal(W, ref["W_learn"])
    np.testing.assert_allclose(H, s * ref["H_fixW"], rtol=1e-6, atol=0)


# ---------------------------------------------------------------- behaviour


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("normalize", [False, "l1"])
def test_exact_update_is_monotone(problem, beta, normalize):
    V, W0, H0 = problem
    _, _, costs = nmfd(V, 3, 5, 60, beta=beta, W=W0, H=H0, h_update="exact", normalize=normalize, sparsity=0.0)
    assert np.all(np.diff(costs) <= 1e-12 * np.abs(costs[:-1]))
    assert costs[-1] < 0.5 * costs[0]


@pytest.mark.parametrize("beta", [1.0, 1.5, 2.0])
def test_average_update_is_monotone_here(problem, beta):
    """Not guaranteed, but holds on this problem (and a drum loop) for beta in [1, 2]."""
    V, W0, H0 = problem
    _, _, costs = nmfd(V, 3, 5, 60, beta=beta, W=W0, H=H0, normalize="l1")
    assert np.all(np.diff(costs) <= 1e-12 * np.abs(costs[:-1]))


@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0])
def test_average_update_decreases_overall(problem, beta):
    V, W0, H0 = problem
    _, _, costs = nmfd(V, 3, 5, 60, beta=beta, W=W0, H=H0, normalize="l1")
    assert np.all(np.isfinite(costs))
    assert costs[-1] < 0.5 * costs[0]


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("h_update", ["average", "exact"])
def test_one_frame_is_plain_nmf(problem, beta, h_update):
    V, W0, H0 = problem
    Wf = W0[:, :, 0].T.copy()  # (F, K)
    Wn, Hn, cn = nmf(V, 3, beta=beta, n_iter=15, init=(Wf, H0), normalize=False)
    W, H, c = nmfd(V, 3, 1, 15, beta=beta, W=Wf.T[:, :, None], H=H0, h_update=h_update, normalize=False)
    np.testing.assert_allclose(W[:, :, 0].T, Wn, rtol=1e-9)
    np.testing.assert_allclose(H, Hn, rtol=1e-9)
    np.testing.assert_allclose(c, cn, rtol=1e-10)


def test_one_frame_l1_normalised_is_nmf_l1(problem):
    V, W0, H0 = problem
    Wf = W0[:, :, 0].T.copy()
    Wn, Hn, cn = nmf(V, 3, beta=1, n_iter=15, init=(Wf, H0), normalize="l1")
    W, H, c = nmfd(V, 3, 1, 15, W=Wf.T[:, :, None], H=H0, h_update="exact", normalize="l1")
    np.testing.assert_allclose(W[:, :, 0].T, Wn, rtol=1e-9)
    np.testing.assert_allclose(H, Hn, rtol=1e-9)
    np.testing.assert_allclose(c, cn, rtol=1e-10)


@pytest.mark.parametrize("h_update", ["average", "exact"])
def test_fixed_factors_bit_identical(problem, h_update):
    V, W0, H0 = problem
    W, H, costs = nmfd(V, 3, 5, 10, W=W0, H=H0, fix_W=True, h_update=h_update)
    np.testing.assert_array_equal(W, W0)
    assert not np.array_equal(H, H0)
    assert np.all(np.diff(costs) <= 1e-12 * costs[:-1])  # an H-only MU is a descent step
    W, H, _ = nmfd(V, 3, 5, 10, W=W0, H=H0, fix_H=True, h_update=h_update)
    np.testing.assert_array_equal(H, H0)
    np.testing.assert_allclose(W.sum(axis=(1, 2)), 1.0, rtol=1e-13)  # libnmfd normalisation of W only
    W, H, costs = nmfd(V, 3, 5, 4, W=W0, H=H0, fix_W=True, fix_H=True)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(H, H0)
    assert np.all(costs == costs[0])


def test_does_not_mutate_inputs(problem):
    V, W0, H0 = problem
    copies = V.copy(), W0.copy(), H0.copy()
    nmfd(V, 3, 5, 3, W=W0, H=H0)
    nmfd(V, 3, 5, 3, W=W0, H=H0, fix_W=True, normalize="l1")
    for a, b in zip((V, W0, H0), copies):
        np.testing.assert_array_equal(a, b)


def test_seed_reproducible_and_global_rng_untouched(problem):
    V, _, _ = problem
    state = np.random.get_state()[1].copy()
    W1, H1, c1 = nmfd(V, 3, 5, 5, seed=3)
    W2, H2, c2 = nmfd(V, 3, 5, 5, seed=np.random.default_rng(3))
    W3, _, _ = nmfd(V, 3, 5, 5, seed=4)
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(H1, H2)
    np.testing.assert_array_equal(c1, c2)
    assert not np.array_equal(W1, W3)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    W, H, _ = nmfd(V, 3, 5, 0, seed=3)  # default init: H ones, model mean = mean(V)
    np.testing.assert_array_equal(H, 1.0)
    assert convolutive_model(W, H).mean() == pytest.approx(V.mean(), rel=1e-12)


def test_shapes_dtypes_and_float32(problem):
    V, W0, H0 = problem
    W, H, c = nmfd(V, 3, 5, 20, W=W0, H=H0, normalize="l1")
    assert W.shape == (3, 24, 5) and H.shape == (3, 50) and c.shape == (21,)
    assert W.flags.c_contiguous and W.dtype == np.float64 and c.dtype == np.float64
    W32, H32, c32 = nmfd(V.astype(np.float32), 3, 5, 20, W=W0, H=H0, normalize="l1")
    assert W32.dtype == np.float32 and H32.dtype == np.float32 and c32.dtype == np.float64
    np.testing.assert_allclose(c32, c, rtol=1e-4)
    _, _, c32b = nmfd(V, 3, 5, 20, W=W0, H=H0, normalize="l1", dtype=np.float32)
    np.testing.assert_allclose(c32b, c32, rtol=1e-6)


def test_zero_frames_and_long_templates(rng):
    V = rng.random((6, 5)) + 0.1
    V[:, 2] = 0.0  # zero frames are fine for beta >= 1
    W, H, c = nmfd(V, 2, 8, 10, seed=0, normalize="l1", h_update="exact")  # T > N
    assert W.shape == (2, 6, 8)
    assert np.all(np.isfinite(W)) and np.all(np.isfinite(H)) and np.all(np.diff(c) <= 1e-12 * c[:-1])
    _, _, c0 = nmfd(V, 2, 3, 10, beta=0, seed=0)  # beta = 0 floors the zeros of V
    assert np.all(np.isfinite(c0))


GOOD = {"n_components": 2, "n_template_frames": 3}


@pytest.mark.parametrize(
    "V, kwargs, match",
    [
        (np.ones(10), {}, r"V must be a 2-D array"),
        (np.ones((2, 3, 4)), {}, r"V must be a 2-D array"),
        (-np.ones((4, 6)), {}, r"V must be nonnegative"),
        (np.full((4, 6), np.nan), {}, r"V contains 24 NaN"),
        (np.zeros((4, 6)), {}, r"all zeros"),
        (np.ones((4, 0)), {}, r"must not be empty"),
        (np.ones((4, 6)) + 1j, {}, r"complex"),
        (np.array([["a"]]), {}, r"real numbers"),
        (None, {"n_components": 0}, r"n_components must be an integer >= 1, got 0"),
        (None, {"n_components": 2.0}, r"n_components must be an integer >= 1, got 2.0"),
        (None, {"n_template_frames": 0}, r"n_template_frames must be an integer >= 1, got 0"),
        (None, {"n_iter": -1}, r"n_iter must be an integer >= 0, got -1"),
        (None, {"n_iter": True}, r"n_iter must be an integer >= 0, got True"),
        (None, {"beta": np.inf}, r"beta must be a finite real number, got inf"),
        (None, {"beta": "kl"}, r"beta must be a finite real number, got 'kl'"),
        (None, {"sparsity": -0.1}, r"sparsity must be a finite real number >= 0.0, got -0.1"),
        (None, {"uncorrelatedness": np.nan}, r"uncorrelatedness must be a finite real number >= 0.0"),
        (None, {"h_update": "mean"}, r"h_update must be one of 'average', 'exact'; got 'mean'"),
        (None, {"normalize": "max"}, r"normalize must be 'libnmfd', 'l1', 'l2' or False, got 'max'"),
        (None, {"fix_W": True}, r"fix_W=True needs the fixed templates"),
        (None, {"fix_H": True}, r"fix_H=True needs the fixed activations"),
        (None, {"fix_W": "yes"}, r"fix_W must be True or False"),
        (None, {"W": np.ones((4, 2, 3))}, r"W must have shape .* = \(2, 4, 3\), got \(4, 2, 3\)"),
        (None, {"W": np.ones((2, 4))}, r"W must be a 3-D array of templates"),
        (None, {"W": -np.ones((2, 4, 3))}, r"W must be nonnegative"),
        (None, {"H": np.ones((3, 6))}, r"H must have shape \(2, 6\), got \(3, 6\)"),
        (None, {"H": np.full((2, 6), np.inf)}, r"H contains 12 NaN or infinite"),
        (None, {"seed": -1}, r"seed must be None, a nonnegative int or a numpy.random.Generator, got -1"),
        (None, {"dtype": np.int32}, r"dtype must be numpy.float64 or numpy.float32"),
    ],
)
def test_errors(V, kwargs, match):
    V = np.ones((4, 6)) if V is None else V
    with pytest.raises(DecompositionError, match=match):
        nmfd(V, **{**GOOD, **kwargs})
