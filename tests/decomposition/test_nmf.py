"""beta-NMF: kernels against numpy formulas, agreement with scikit-learn, behaviour of ``nmf``."""

import warnings

import numpy as np
import pytest

from sepkit import AudioSignal
from sepkit.core import DecompositionError
from sepkit.decomposition import nmf
from sepkit.kernels import nmf as k
from sepkit.kernels import nmf_kl as kl

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
FLOOR = 1e-12


def np_gamma(beta):
    return 1 / (2 - beta) if beta < 1 else (1.0 if beta <= 2 else 1 / (beta - 1))


def np_divergence(V, L, beta):
    """Plain numpy sum of d_beta(V | L) (standard convention)."""
    if beta == 1:
        pos = V > 0
        return float(np.sum(V[pos] * np.log(V[pos] / L[pos])) - V.sum() + L.sum())
    if beta == 0:
        return float(np.sum(V / L - np.log(V / L) - 1))
    return float(np.sum(V**beta + (beta - 1) * L**beta - beta * V * L ** (beta - 1)) / (beta * (beta - 1)))


@pytest.fixture
def small(rng):
    V = rng.random((40, 12)) @ rng.random((12, 60)) + 0.05
    W = rng.random((40, 5)) + 0.1
    H = rng.random((5, 60)) + 0.1
    return V, W, H


@pytest.fixture(scope="module")
def spectrogram():
    """Magnitude STFT (1025 bins x ~216 frames) of 2.5 s of the bundled mixture."""
    from sepkit.datasets import load_example

    mix, _ = load_example()
    excerpt = AudioSignal(mix.audio_data[:, 44100 : 44100 + 110250], mix.sample_rate)
    return np.ascontiguousarray(np.abs(excerpt.stft()[:, :, 0]))


# ---------------------------------------------------------------- kernels vs numpy


@pytest.mark.parametrize("beta", [-1.0, *BETAS, 2.5, 4.0])
def test_mm_exponent(beta):
    assert k.mm_exponent(beta) == pytest.approx(np_gamma(beta), rel=1e-15)


@pytest.mark.parametrize("beta", BETAS)
def test_beta_terms_and_divergence_match_numpy(small, beta):
    V, W, H = small
    L = W @ H
    P, B = np.full_like(L, -1.0), np.full_like(L, -1.0)
    vps = k.power_sum(V, beta, FLOOR) if beta not in (0.0, 1.0) else 0.0
    cost = k.beta_terms(V, L.copy(), beta, FLOOR, P, B, vps, True)
    expected = np_divergence(V, L, beta)
    assert cost == pytest.approx(expected, rel=1e-12)
    assert k.beta_divergence(V, L, beta, FLOOR) == pytest.approx(expected, rel=1e-12)
    if beta == 1.0:
        np.testing.assert_allclose(P, V / L, rtol=1e-14)
        assert np.all(B == -1.0)  # untouched: the KL denominators are sums
    else:
        np.testing.assert_allclose(P, V * L ** (beta - 2), rtol=1e-13)
        np.testing.assert_allclose(B, L ** (beta - 1), rtol=1e-13)
    # without the cost the terms are the same and the return value is 0
    P2, B2 = np.full_like(L, -1.0), np.full_like(L, -1.0)
    assert k.beta_terms(V, L.copy(), beta, FLOOR, P2, B2, vps, False) == 0.0
    np.testing.assert_array_equal(P2, P)
    np.testing.assert_array_equal(B2, B)


@pytest.mark.parametrize("beta", [1.0, 1.5])
def test_beta_terms_in_place(small, beta):
    """P (beta = 1) or B may overwrite the model buffer."""
    V, W, H = small
    L = W @ H
    buf = L.copy()
    P = buf if beta == 1.0 else np.empty_like(L)
    k.beta_terms(V, buf, beta, FLOOR, P, buf, k.power_sum(V, beta, FLOOR), True)
    if beta == 1.0:
        np.testing.assert_allclose(buf, V / L, rtol=1e-14)
    else:
        np.testing.assert_allclose(buf, L ** (beta - 1), rtol=1e-13)
        np.testing.assert_allclose(P, V * L ** (beta - 2), rtol=1e-13)


def test_zero_data_and_flooring(small):
    V, W, H = small
    V = V.copy()
    V[0, :5] = 0.0
    L = W @ H
    L[1, 0] = 0.0  # model below the floor is floored
    Lf = np.maximum(L, FLOOR)
    assert k.beta_divergence(V, L, 1.0, FLOOR) == pytest.approx(np_divergence(V, Lf, 1.0), rel=1e-12)
    assert k.beta_divergence(V, L, 0.5, FLOOR) == pytest.approx(np_divergence(V, Lf, 0.5), rel=1e-12)
    # beta <= 0: V is floored at the same value, in the terms and in the cost
    Vf = np.maximum(V, FLOOR)
    for beta in (0.0, -0.5):
        expected = np_divergence(Vf, Lf, beta)
        assert k.beta_divergence(V, L, beta, FLOOR) == pytest.approx(expected, rel=1e-12)
        P, B = np.empty_like(L), np.empty_like(L)
        c = k.beta_terms(V, L.copy(), beta, FLOOR, P, B, k.power_sum(V, beta, FLOOR), True)
        assert c == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(P, Vf * Lf ** (beta - 2), rtol=1e-13)


@pytest.mark.parametrize("K", [1, 5, 8, 13])
@pytest.mark.parametrize("shape", [(41, 130), (6, 7)])
def test_kl_numerators_match_numpy(rng, K, shape):
    """Fused KL passes = (V / max(WH, floor)) @ H.T and W.T @ (V / max(WH, floor)), and the KL cost.

    Covers the two-row paths (K <= 8, odd F), the generic blocks of 8 (K = 13), partial
    column tiles (N not a multiple of 64), a model below the floor and zeros in V.
    """
    F, N = shape
    V = rng.random((F, N)) * 3
    V[0, :3] = 0.0
    W = rng.random((F, K)) + 0.1
    W[2] = 0.0  # row of the model at the floor
    H = rng.random((K, N)) + 0.1
    floor = 0.05
    L = np.maximum(W @ H, floor)
    Q = V / L
    expected_cost = np_divergence(V, L, 1.0)
    num_W, num_H = np.full((F, K), np.nan), np.full((K, N), np.nan)
    assert kl.kl_numerator_w(V, W, H, floor, num_W, True) == pytest.approx(expected_cost, rel=1e-13)
    np.testing.assert_allclose(num_W, Q @ H.T, rtol=1e-13)
    assert kl.kl_numerator_h(V, W, H, floor, num_H, True) == pytest.approx(expected_cost, rel=1e-13)
    np.testing.assert_allclose(num_H, W.T @ Q, rtol=1e-13)
    num_W2, num_H2 = np.empty_like(num_W), np.empty_like(num_H)
    assert kl.kl_numerator_w(V, W, H, floor, num_W2, False) == 0.0
    assert kl.kl_numerator_h(V, W, H, floor, num_H2, False) == 0.0
    np.testing.assert_array_equal(num_W2, num_W)
    np.testing.assert_allclose(num_H2, num_H, rtol=1e-13)  # two-row blocking: another summation order


def test_kl_numerators_float32_and_thread_count(rng):
    """float32 factors are read as float64; results are bit-identical on 1 and 2 threads."""
    import numba

    V = rng.random((33, 200)) + 0.01
    W = rng.random((33, 6)) + 0.1
    H = rng.random((6, 200)) + 0.1
    Q = V / (W @ H)
    num_W, num_H = np.empty((33, 6)), np.empty((6, 200))
    kl.kl_numerator_w(V.astype(np.float32), W.astype(np.float32), H.astype(np.float32), 1e-6, num_W, False)
    kl.kl_numerator_h(V.astype(np.float32), W.astype(np.float32), H.astype(np.float32), 1e-6, num_H, False)
    np.testing.assert_allclose(num_W, Q @ H.T, rtol=1e-5)
    np.testing.assert_allclose(num_H, W.T @ Q, rtol=1e-5)
    results = []
    threads = numba.get_num_threads()
    try:
        for n in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(n)
            out_W, out_H = np.empty((33, 6)), np.empty((6, 200))
            c = kl.kl_numerator_w(V, W, H, 1e-12, out_W, True)
            c2 = kl.kl_numerator_h(V, W, H, 1e-12, out_H, True)
            results.append((c, c2, out_W, out_H))
    finally:
        numba.set_num_threads(threads)
    for a, b in zip(results[0], results[-1]):
        np.testing.assert_array_equal(a, b)


def test_frobenius_cost(small):
    V, W, H = small
    c = k.frobenius_cost(float(np.sum(V * V)), V @ H.T, W, W.T @ W, H @ H.T)
    assert c == pytest.approx(0.5 * np.sum((V - W @ H) ** 2), rel=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 0.5, 1 / 1.5, 0.5 + 1e-9])
@pytest.mark.parametrize("den_shape", ["full", "row", "col"])
def test_mu_step(rng, gamma, den_shape):
    X = rng.random((7, 9)) + 0.1
    num = rng.random((7, 9))
    den = {"full": rng.random((7, 9)), "row": rng.random((1, 9)), "col": rng.random((7, 1))}[den_shape] + 0.1
    l1, l2 = 0.3, 0.7
    expected = X * (num / (den + l1 + l2 * X)) ** gamma
    out = X.copy()
    k.mu_step(out, num, den, l1, l2, gamma)
    np.testing.assert_allclose(out, expected, rtol=1e-13)


@pytest.mark.parametrize("order", [1, 2])
def test_normalize_columns(small, order):
    _, W, H = small
    W, H = W.copy(), H.copy()
    W[:, 2] = 0.0
    before = W @ H
    k.normalize_columns(W, H, order)
    np.testing.assert_allclose(W @ H, before, rtol=1e-13)
    sums = np.linalg.norm(W, ord=order, axis=0)
    np.testing.assert_allclose(np.delete(sums, 2), 1.0, rtol=1e-14)
    assert sums[2] == 0.0


# ---------------------------------------------------------------- scikit-learn agreement


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_one_iteration_equals_sklearn_mu(small, beta):
    """One sepkit iteration = sklearn's W then H multiplicative updates (to 1e-13 relative).

    sklearn floors W H at float32 eps and replaces zero denominators: neither happens on
    these positive inputs, so both compute the same formulas.
    """
    skl = pytest.importorskip("sklearn.decomposition._nmf")
    V, W0, H0 = small
    Ws = skl._multiplicative_update_w(V, W0.copy(), H0.copy(), beta, 0.0, 0.0, 1.0)[0]
    Hs = skl._multiplicative_update_h(V, Ws, H0.copy(), beta, 0.0, 0.0, 1.0)
    W, H, costs = nmf(V, 5, beta=beta, n_iter=1, init=(W0, H0), normalize=False)
    np.testing.assert_allclose(W, Ws, rtol=1e-13)
    np.testing.assert_allclose(H, Hs, rtol=1e-13)
    assert costs[0] == pytest.approx(skl._beta_divergence(V, W0, H0, beta), rel=1e-12)
    assert costs[1] == pytest.approx(skl._beta_divergence(V, W, H, beta), rel=1e-12)


def test_twenty_iterations_equal_sklearn_estimator(small):
    """The public sklearn estimator (KL, init='custom', tol=0) agrees over 20 iterations."""
    sk = pytest.importorskip("sklearn.decomposition")
    V, W0, H0 = small
    model = sk.NMF(5, solver="mu", beta_loss="kullback-leibler", max_iter=20, tol=0, init="custom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached, when tol > 0
        Ws = model.fit_transform(V, W=W0.copy(), H=H0.copy())
    W, H, _ = nmf(V, 5, beta=1, n_iter=20, init=(W0, H0), normalize=False)
    np.testing.assert_allclose(W, Ws, rtol=1e-11)
    np.testing.assert_allclose(H, model.components_, rtol=1e-11)


# ---------------------------------------------------------------- behaviour of nmf


@pytest.mark.parametrize("beta", BETAS)
def test_cost_is_monotone(small, beta):
    V, _, _ = small
    _, _, costs = nmf(V, 5, beta=beta, n_iter=200, init="random", seed=3, normalize=False)
    assert costs.shape == (201,)
    assert np.all(np.diff(costs) <= 1e-12 * costs[0])
    assert costs[-1] < 0.2 * costs[0]


@pytest.mark.parametrize("beta", BETAS)
def test_cost_history_is_the_divergence_of_the_factors(small, beta):
    V, _, _ = small
    W, H, costs = nmf(V, 5, beta=beta, n_iter=30, seed=1)
    assert costs[-1] == pytest.approx(np_divergence(V, W @ H, beta), rel=1e-10)
    W5, H5, costs5 = nmf(V, 5, beta=beta, n_iter=5, seed=1)
    np.testing.assert_allclose(costs5, costs[:6], rtol=1e-12)
    assert costs[5] == pytest.approx(np_divergence(V, W5 @ H5, beta), rel=1e-10)


@pytest.mark.parametrize("normalize, order", [(True, 2), ("l2", 2), ("l1", 1)])
@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5])
def test_normalize_keeps_model_and_cost(small, beta, normalize, order):
    """Unit-norm (L2 by default, or unit-sum) columns of W; costs equal the unnormalised run's."""
    V, W0, H0 = small
    Wn, Hn, cn = nmf(V, 5, beta=beta, n_iter=10, init=(W0, H0), normalize=normalize)
    Wu, Hu, cu = nmf(V, 5, beta=beta, n_iter=10, init=(W0, H0), normalize=False)
    np.testing.assert_allclose(np.linalg.norm(Wn, ord=order, axis=0), 1.0, rtol=1e-13)
    np.testing.assert_allclose(Wn @ Hn, Wu @ Hu, rtol=1e-10)
    np.testing.assert_allclose(cn, cu, rtol=1e-10)


@pytest.mark.parametrize("beta", [1.0, 2.0, 1.5])
def test_fixed_factors_stay_identical(small, beta):
    V, W0, H0 = small
    W, H, costs = nmf(V, 5, beta=beta, n_iter=20, W=W0, fix_W=True)
    np.testing.assert_array_equal(W, W0)
    assert not np.shares_memory(W, W0)
    assert np.all(np.diff(costs) <= 1e-12 * costs[0])
    W, H, costs = nmf(V, 5, beta=beta, n_iter=20, H=H0, fix_H=True)
    np.testing.assert_array_equal(H, H0)
    assert np.all(np.diff(costs) <= 1e-12 * costs[0])
    W, H, costs = nmf(V, 5, beta=beta, n_iter=3, init=(W0, H0), fix_W=True, fix_H=True)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(H, H0)
    assert np.ptp(costs) == 0.0


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_thread_settings_restored_and_results_independent_of_threads(small, beta):
    """nmf may run iterations on one thread (when faster); it restores numba's and BLAS's
    thread counts, and KL results are bit-identical to a run on one numba thread."""
    import numba
    from threadpoolctl import threadpool_info

    V, W0, H0 = small
    blas_before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    numba_before = numba.get_num_threads()
    W, H, costs = nmf(V, 5, beta=beta, n_iter=40, init=(W0, H0))
    assert numba.get_num_threads() == numba_before
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == blas_before
    if beta == 1.0:
        numba.set_num_threads(1)
        try:
            W1, H1, costs1 = nmf(V, 5, beta=beta, n_iter=40, init=(W0, H0))
        finally:
            numba.set_num_threads(numba_before)
        np.testing.assert_array_equal(W1, W)
        np.testing.assert_array_equal(H1, H)
        np.testing.assert_array_equal(costs1, costs)


def test_caller_arrays_untouched(small):
    V, W0, H0 = small
    copies = [a.copy() for a in (V, W0, H0)]
    nmf(V, 5, n_iter=5, init=(W0, H0))
    for a, c in zip((V, W0, H0), copies):
        np.testing.assert_array_equal(a, c)


def test_l1_penalty_makes_H_sparser(spectrogram):
    V = spectrogram
    def sparsity(H):  # Hoyer (2004): 0 dense ... 1 one-hot, mean over components
        n = H.shape[1]
        r = H.sum(axis=1) / np.sqrt((H**2).sum(axis=1))
        return float(np.mean((np.sqrt(n) - r) / (np.sqrt(n) - 1)))

    _, H0, _ = nmf(V, 6, beta=1, n_iter=60, seed=0)
    _, H1, _ = nmf(V, 6, beta=1, n_iter=60, seed=0, l1_H=10 * V.mean())
    # measured: Hoyer sparsity 0.488 -> 0.558, near-zero entries 10 % -> 49 %
    assert sparsity(H1) > sparsity(H0) + 0.03
    assert np.mean(H1 < 1e-3 * H1.max()) > 3 * np.mean(H0 < 1e-3 * H0.max())


def test_l2_penalty_shrinks_W(small):
    V, W0, H0 = small
    W, _H, _ = nmf(V, 5, n_iter=30, init=(W0, H0), normalize=False)
    Wp, _Hp, _ = nmf(V, 5, n_iter=30, init=(W0, H0), normalize=False, l2_W=50.0)
    assert np.linalg.norm(Wp) < np.linalg.norm(W)


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5])
def test_float32(small, beta):
    V, _W0, _H0 = small
    W, H, costs = nmf(V.astype(np.float32), 5, beta=beta, n_iter=50, seed=0)
    assert W.dtype == np.float32 and H.dtype == np.float32 and costs.dtype == np.float64
    _W64, _H64, costs64 = nmf(V, 5, beta=beta, n_iter=50, seed=0)
    assert costs[-1] == pytest.approx(costs64[-1], rel=1e-3)
    W2, _, _ = nmf(V, 5, beta=beta, n_iter=5, seed=0, dtype=np.float32)
    assert W2.dtype == np.float32


@pytest.mark.parametrize("init", ["random", "nndsvda"])
def test_seed_reproducibility_and_no_global_rng(small, init):
    V, _, _ = small
    state = np.random.get_state()
    a = nmf(V, 5, n_iter=5, init=init, seed=7)
    b = nmf(V, 5, n_iter=5, init=init, seed=np.random.default_rng(7))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    if init == "random":
        c = nmf(V, 5, n_iter=5, init=init, seed=8)
        assert not np.array_equal(a[0], c[0])
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]


def test_nndsvda_matches_sklearn(rng):
    """NNDSVDa (randomised SVD path for this size, exact SVD for small V) as scikit-learn's."""
    skl = pytest.importorskip("sklearn.decomposition._nmf")
    for shape in [(700, 800), (40, 60)]:
        V = rng.random((shape[0], 12)) @ rng.random((12, shape[1])) + 0.01
        W1, H1, _ = nmf(V, 4, n_iter=0, seed=1, normalize=False)
        W2, _H2, _ = nmf(V, 4, n_iter=0, seed=1, normalize=False)
        np.testing.assert_array_equal(W1, W2)
        Ws, Hs = skl._initialize_nmf(V, 4, init="nndsvda", random_state=0)
        np.testing.assert_allclose(W1 @ H1, Ws @ Hs, rtol=1e-6)


def test_tol_stops_early(small):
    V, _, _ = small
    W, H, costs = nmf(V, 5, n_iter=500, tol=1e-4, seed=0)
    assert 2 <= costs.size < 501
    assert costs[-1] == pytest.approx(np_divergence(V, W @ H, 1.0), rel=1e-10)
    rel = (costs[-2] - costs[-1]) / costs[-2]
    assert rel <= 1e-4
    assert np.all((costs[:-2] - costs[1:-1]) / costs[:-2] > 1e-4)


def test_supervised_only_W_given(small):
    """Given only W, H starts constant with mean(W H) = mean(V)."""
    V, W0, _ = small
    _, H, _costs = nmf(V, 5, n_iter=0, W=W0, normalize=False)
    np.testing.assert_allclose((W0 @ H).mean(), V.mean(), rtol=1e-12)
    assert np.ptp(H) == 0


def test_kl_on_real_spectrogram(spectrogram):
    """KL-NMF, K = 8, 200 iterations on 2.5 s of the bundled chorale: measured 49.5x reduction."""
    W, _H, costs = nmf(spectrogram, 8, beta=1, n_iter=200, seed=0)
    assert np.all(np.diff(costs) <= 1e-12 * costs[0])
    assert costs[0] / costs[-1] > 40.0
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, rtol=1e-12)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "V, kwargs, match",
    [
        (-np.ones((4, 5)), {}, "nonnegative"),
        (np.full((4, 5), np.nan), {}, "NaN"),
        (np.array([1.0, np.inf, 2.0, 3.0]).reshape(2, 2), {}, "NaN or infinite"),
        (np.ones(5), {}, "2-D"),
        (np.ones((2, 3, 4)), {}, "2-D"),
        (np.ones((0, 4)), {}, "empty"),
        (np.zeros((4, 5)), {}, "all zeros"),
        (np.ones((4, 5)) * 1j, {}, "complex"),
        (np.ones((4, 5)), {"n_components": 0}, "n_components"),
        (np.ones((4, 5)), {"n_components": 2.0}, "n_components"),
        (np.ones((4, 5)), {"n_components": 5}, "min\\(F, N\\) = 4"),
        (np.ones((4, 5)), {"beta": np.nan}, "beta"),
        (np.ones((4, 5)), {"beta": "kl"}, "beta"),
        (np.ones((4, 5)), {"l1_H": -1.0}, "l1_H"),
        (np.ones((4, 5)), {"l2_W": -0.1}, "l2_W"),
        (np.ones((4, 5)), {"n_iter": -1}, "n_iter"),
        (np.ones((4, 5)), {"tol": -1e-3}, "tol"),
        (np.ones((4, 5)), {"init": "nndsvd"}, "init"),
        (np.ones((4, 5)), {"init": (np.ones((4, 3)), np.ones((2, 5)))}, "W0 must have shape \\(4, 2\\)"),
        (np.ones((4, 5)), {"init": (np.ones((4, 2)), np.ones((2, 6)))}, "H0 must have shape \\(2, 5\\)"),
        (np.ones((4, 5)), {"init": (np.ones((4, 2)), -np.ones((2, 5)))}, "nonnegative"),
        (np.ones((4, 5)), {"W": np.ones((3, 2))}, "W must have shape"),
        (np.ones((4, 5)), {"fix_W": True}, "fix_W"),
        (np.ones((4, 5)), {"fix_H": True}, "fix_H"),
        (np.ones((4, 5)), {"seed": "x"}, "seed"),
        (np.ones((4, 5)), {"dtype": np.int32}, "dtype"),
        (np.ones((4, 5)), {"normalize": "max"}, "normalize"),
    ],
)
def test_bad_input(V, kwargs, match):
    kwargs = {"n_components": 2, **kwargs}
    with pytest.raises(DecompositionError, match=match):
        nmf(V, **kwargs)


def test_random_init_allows_more_components_than_dimensions():
    V = np.arange(1.0, 21.0).reshape(4, 5)
    W, H, _ = nmf(V, 6, init="random", seed=0, n_iter=3)
    assert W.shape == (4, 6) and H.shape == (6, 5)


def test_zeros_in_V_are_floored_for_itakura_saito(small):
    V, _, _ = small
    V = V.copy()
    V[:3, :3] = 0.0
    W, H, costs = nmf(V, 5, beta=0, n_iter=50, seed=0)
    assert np.all(np.isfinite(costs)) and np.all(np.isfinite(W)) and np.all(np.isfinite(H))
    assert np.all(np.diff(costs) <= 1e-12 * costs[0])


def test_table_log_of_the_kl_cost(rng):
    """The vectorised float64 log used by the KL cost: abs. error <= 4e-16 (1 + |log x|) (measured 2.2e-16)."""
    import numba

    @numba.njit
    def wlog(w, x):
        return k._weighted_log_sum(w, x)

    x = np.concatenate([
        np.exp(rng.uniform(-700, 700, 3000)),
        1 + rng.uniform(-1e-6, 1e-6, 1000),
        [1.0, 2.0, 0.5, np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0), 1e-300, 1e300],
    ])
    got = np.array([wlog(np.ones(1), x[i : i + 1]) for i in range(x.size)])
    ref = np.log(x)
    assert np.all(np.abs(got - ref) <= 4e-16 * (1 + np.abs(ref)))
    w = rng.random(x.size)
    w[::3] = 0.0  # zero weights are skipped (even where log x is not finite)
    x2 = x.copy()
    x2[::3] = 0.0
    assert wlog(w, x2) == pytest.approx(float(np.sum(w[w > 0] * np.log(x2[w > 0]))), rel=1e-14)
    x3 = np.exp(rng.uniform(-30, 30, 500))  # float32 (and non-contiguous) rows take math.log
    w3 = rng.random(500)
    expected = float(np.sum(w3 * np.log(x3)))
    assert wlog(w3.astype(np.float32), x3.astype(np.float32)) == pytest.approx(expected, rel=1e-5)
    assert wlog(w3[::2], x3[::2]) == pytest.approx(float(np.sum(w3[::2] * np.log(x3[::2]))), rel=1e-13)


# ---------------------------------------------------------------- fixed templates (fixed_W)


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("n_free", [0, 2])
def test_fixed_templates_stay_and_cost_decreases(beta, n_free):
    rng = np.random.default_rng(2)
    W_true = rng.random((30, 5))
    V = W_true @ rng.random((5, 40)) + 0.01
    fixed = W_true[:, :3].copy()
    W, H, costs = nmf(V, 3 + n_free, beta=beta, n_iter=40, fixed_W=fixed, seed=0)
    np.testing.assert_array_equal(W[:, :3], fixed)
    np.testing.assert_array_equal(fixed, W_true[:, :3])  # the caller's array untouched
    if n_free:
        np.testing.assert_allclose(np.linalg.norm(W[:, 3:], axis=0), 1.0, rtol=1e-12)
    assert costs.shape == (41,) and np.all(np.diff(costs) <= 1e-10 * costs[0])
    # costs[0] is the cost of the start: the fixed templates, |N(0, 1)| unit-norm free ones, constant H
    W0 = np.hstack([fixed, np.abs(np.random.default_rng(0).standard_normal((30, n_free)))])
    W0[:, 3:] /= np.linalg.norm(W0[:, 3:], axis=0) if n_free else 1.0
    H0 = np.full((3 + n_free, 40), V.sum() / (W0.sum() * 40))
    _, _, c0 = nmf(V, 3 + n_free, beta=beta, n_iter=0, init=(W0, H0), fix_W=True, fix_H=True)
    np.testing.assert_allclose(costs[0], c0[0], rtol=1e-10)


def test_fixed_templates_with_fixed_activations_and_tuple_init(rng):
    V = rng.random((20, 30)) + 0.1
    fixed = rng.random((20, 2))
    H = rng.random((3, 30))
    W, H_out, _ = nmf(V, 3, fixed_W=fixed, H=H, fix_H=True, n_iter=10, seed=0)
    np.testing.assert_array_equal(H_out, H)
    np.testing.assert_array_equal(W[:, :2], fixed)
    W0 = rng.random((20, 3))
    W, _, _ = nmf(V, 3, fixed_W=fixed, init=(W0, rng.random((3, 30))), n_iter=5)
    np.testing.assert_array_equal(W[:, :2], fixed)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fixed_W": np.ones((5, 2))}, r"fixed_W must have shape \(F, Kf\) = \(4, Kf\)"),
        ({"fixed_W": np.ones((4, 3))}, r"Kf <= n_components = 2"),
        ({"fixed_W": -np.ones((4, 1))}, "nonnegative"),
        ({"fixed_W": np.ones((4, 1)), "W": np.ones((4, 2))}, "do not give W or fix_W"),
        ({"fixed_W": np.ones((4, 1)), "init": "nndsvda"}, "with fixed_W, init must be 'random'"),
    ],
)
def test_fixed_templates_bad_input(kwargs, match):
    with pytest.raises(DecompositionError, match=match):
        nmf(np.ones((4, 5)), 2, **kwargs)
