"""DictSep numba kernels against plain numpy formulas and finite differences."""

import math

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d

from sepkit.kernels import dictsep as kn
from sepkit.kernels.dictsep import tones as kn_tones

S0 = 6 / math.pi
LAM = 1024 / math.log(1024)


def _tones():
    a = np.array([1.3, 0.7, 0.4])
    mu = np.array([40.3, 77.8, 61.15])
    sig = np.array([2.0, 2.4, 1.8])
    b = np.array([3e-4, 1e-3, 0.0])
    cls = np.array([0, 1, 1])
    return a, mu, sig, b, cls


def _dict(K=6, C=2, seed=0):
    return np.random.default_rng(seed).uniform(0.1, 1.0, (K, C))


def _numpy_render(a, mu, sig, b, cls, D, lam, p, m, linear=False):
    x = np.arange(m)
    acc = np.zeros(m)
    for k in range(len(a)):
        for h in range(1, D.shape[0] + 1):
            if linear:
                pos = mu[k] * h * math.sqrt(1 + b[k] * h * h)
            else:
                pos = mu[k] + lam * (math.log(h) + 0.5 * math.log1p(b[k] * h * h))
            lo = max(math.floor(pos - 6 * sig[k]), 0)
            hi = min(math.ceil(pos + 6 * sig[k]), m)
            sl = slice(lo, hi) if hi > lo else slice(0, 0)
            acc[sl] += (a[k] * D[h - 1, cls[k]] * np.exp(-((x[sl] - pos) ** 2) / (2 * sig[k] ** 2))) ** p
    return np.maximum(acc, 0) ** (1 / p)


@pytest.mark.parametrize("p", [1.0, 1.5])
def test_render_log_and_lin_match_numpy(p):
    a, mu, sig, b, cls = _tones()
    D = _dict()
    out = np.empty(300)
    kn.render_log(a, mu, sig, b, cls, D, 40.0, p, out)
    np.testing.assert_allclose(out, _numpy_render(a, mu, sig, b, cls, D, 40.0, p, 300), rtol=1e-12, atol=1e-300)
    u = np.array([10.2, 23.7, 31.0])
    out = np.empty(400)
    kn.render_lin(a, u, sig, b, cls, D, p, out)
    np.testing.assert_allclose(out, _numpy_render(a, u, sig, b, cls, D, 0, p, 400, True), rtol=1e-12, atol=1e-300)


def test_non_finite_positions_are_skipped():
    a, mu, sig, b, cls = _tones()
    mu[1] = np.nan
    out = np.empty(300)
    kn.render_log(a, mu, sig, b, cls, _dict(), 40.0, 1.0, out)
    keep = [0, 2]
    ref = _numpy_render(a[keep], mu[keep], sig[keep], b[keep], cls[keep], _dict(), 40.0, 1.0, 300)
    np.testing.assert_allclose(out, ref, rtol=1e-12)


@pytest.mark.parametrize("p, q", [(1.0, 1.0), (1.0, 0.5), (1.5, 0.5), (0.7, 1.0)])
def test_gradients_match_finite_differences(p, q):
    rng = np.random.default_rng(1)
    m = 300
    a, mu, sig, b, cls = _tones()
    D = _dict()
    y = rng.uniform(0, 1, m)
    R = np.empty(m)
    grads = [np.empty(3) for _ in range(4)]
    E = kn.loss_grad_log(y, a, mu, sig, b, cls, D, 40.0, p, q, R, *grads)
    gD = np.empty_like(D)
    E2 = kn.grad_dict_log(y, a, mu, sig, b, cls, D, 40.0, p, q, R, gD)
    params = [a, mu, sig, b]
    E_ref = kn.loss_log(y, *params, cls, D, 40.0, p, q, np.empty(m))
    assert E == pytest.approx(E_ref, rel=1e-13) and E2 == pytest.approx(E_ref, rel=1e-13)
    R_np = _numpy_render(a, mu, sig, b, cls, D, 40.0, p, m)
    delta = 1e-7
    assert E_ref == pytest.approx(0.5 * np.sum(((R_np + delta) ** q - (y + delta) ** q) ** 2), rel=1e-12)

    def loss(ps, Dm=D):
        return kn.loss_log(y, *ps, cls, Dm, 40.0, p, q, np.empty(m))

    for j, g in enumerate(grads):
        for k in range(3):
            h = 1e-6 * max(abs(params[j][k]), 1e-2)
            plus = [v.copy() for v in params]
            minus = [v.copy() for v in params]
            plus[j][k] += h
            minus[j][k] -= h
            fd = (loss(plus) - loss(minus)) / (2 * h)
            assert g[k] == pytest.approx(fd, rel=1e-5, abs=1e-7 * max(1.0, abs(fd))), (j, k)
    for hh in range(D.shape[0]):
        for i in range(D.shape[1]):
            Dp, Dm = D.copy(), D.copy()
            Dp[hh, i] += 1e-6
            Dm[hh, i] -= 1e-6
            fd = (loss(params, Dp) - loss(params, Dm)) / 2e-6
            assert gD[hh, i] == pytest.approx(fd, rel=1e-5, abs=1e-8), (hh, i)


def test_dictionary_gradient_is_zero_for_unused_columns():
    a, mu, sig, b, cls = _tones()
    cls[:] = 0
    D = _dict(C=3)
    gD = np.empty_like(D)
    kn.grad_dict_log(np.ones(300), a, mu, sig, b, cls, D, 40.0, 1.0, 0.5, np.empty(300), gD)
    assert np.all(gD[:, 1:] == 0) and np.any(gD[:, 0] != 0)


@pytest.mark.parametrize("seed", range(4))
def test_local_maxima_match_scipy_maximum_filter(seed):
    rng = np.random.default_rng(seed)
    r = np.round(rng.standard_normal(200), 1)  # ties included
    got = kn.local_maxima(r, 5, 1000, 0.0)
    mx = maximum_filter1d(r, 5, mode="mirror")
    expected = np.flatnonzero((r > 0) & (r == mx))
    expected = expected[np.argsort(-r[expected], kind="stable")]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(kn.local_maxima(r, 5, 3, 0.0), expected[:3])
    high = kn.local_maxima(r, 5, 1000, 1.0)
    np.testing.assert_array_equal(high, expected[r[expected] > 1.0])


def _templates(D, m, q):
    C = D.shape[1]
    T = np.empty((2 * m, C))
    col = np.empty(2 * m)
    for i in range(C):
        kn.render_log(np.ones(1), np.array([float(m)]), np.array([S0]), np.zeros(1),
                      np.array([i]), D, LAM / 8, 1.0, col)
        T[:, i] = col**q
    return T


def test_matched_filter_equals_direct_correlation():
    rng = np.random.default_rng(2)
    m = 128
    D = _dict(K=10, C=3)
    T = _templates(D, m, 0.5)
    r = rng.standard_normal(m)
    got = np.empty((3, m))
    kn.matched_filter(r, T, got)
    r_aug = np.concatenate([np.zeros(m), r])
    for i in range(3):
        t = T[:, i] / np.linalg.norm(T[:, i])
        full = np.correlate(r_aug, t, mode="full")  # full[n] = sum_z r_aug[z + n - (2m-1)] t[z]
        expected = full[2 * m - 1 : 3 * m - 1]
        np.testing.assert_allclose(got[i], expected, rtol=1e-10, atol=1e-12)
    k, i, c = kn.best_match(r, T)
    assert got[i, k] == got.max()
    assert c == pytest.approx(got.max() / np.linalg.norm(T[:, i]))


def test_best_match_finds_a_planted_tone():
    m = 256
    D = _dict(K=8, C=2, seed=4)
    T = _templates(D, m, 1.0)
    y = np.empty(m)
    kn.render_log(np.array([0.6]), np.array([70.0]), np.array([S0]), np.zeros(1), np.array([1]),
                  D, LAM / 8, 1.0, y)
    k, i, c = kn.best_match(y, T)
    assert (k, i) == (70, 1)
    assert c == pytest.approx(0.6, rel=1e-9)
    assert kn.best_match(-y, T)[2] == 0.0


def test_gauss_row_recurrence():
    out = np.empty(40)
    kn_tones._gauss_row(17.3, 1.7, 3, 40, out)
    x = np.arange(3, 40)
    np.testing.assert_allclose(out[:37], np.exp(-((x - 17.3) ** 2) / (2 * 1.7**2)), rtol=1e-12)


@pytest.mark.parametrize("q", [0.5, 1.0])
def test_fit_tones_recovers_harmonic_tones(q):
    m, K = 1024, 25
    rng = np.random.default_rng(1)
    D = rng.uniform(0.1, 1.0, (K, 2))
    D[0] = 1.0
    truth = (np.array([1.3, 0.7]), np.array([240.3, 377.8]), np.array([S0 * 1.1, S0 * 0.9]),
             np.array([5e-5, 1e-4]))
    cls = np.array([0, 1])
    y = np.empty(m)
    kn.render_log(*truth, cls, D, LAM, 1.0, y)
    a, mu, sig, b = np.ones(2), np.array([240.0, 378.0]), np.full(2, S0), np.zeros(2)
    E = kn.fit_tones(y, np.zeros(m), a, mu, sig, b, cls, D, LAM, 1.0, q,
                     0.8 * S0, 1.5 * S0, 0.0, 2e-3, True, 200, 0.0, 0.0)
    assert E < 1e-12
    for got, want in zip((a, mu, sig, b), truth):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)


def test_fit_tones_respects_bounds_and_background():
    m = 200
    D = np.ones((1, 1))
    cls = np.zeros(1, dtype=np.int64)
    x = np.arange(m)
    bg = 0.1 * np.exp(-((x - 150.0) ** 2) / 8)
    # a peak far wider than the upper width bound, on top of a known background
    y = bg + np.exp(-((x - 80.0) ** 2) / (2 * 6.0**2))
    a, mu, sig, b = np.array([0.5]), np.array([78.0]), np.array([S0]), np.zeros(1)
    kn.fit_tones(y, bg, a, mu, sig, b, cls, D, 0.0, 1.0, 1.0, 0.8 * S0, 1.5 * S0, 0.0, 0.0, False, 100, 0.0, 1e-12)
    assert sig[0] == pytest.approx(1.5 * S0)
    assert mu[0] == pytest.approx(80.0, abs=1e-6)
    assert b[0] == 0.0 and a[0] > 0.5


def test_fit_peaks_local_recovers_separated_and_overlapping_peaks():
    m = 600
    rng = np.random.default_rng(7)
    pos = np.array([50.3, 57.1, 130.8, 300.0, 305.5, 480.25])
    amp = np.array([1.0, 0.5, 0.2, 0.8, 0.9, 0.05])
    sg = rng.uniform(0.85 * S0, 1.45 * S0, pos.size)
    n = pos.size
    y = np.empty(m)
    kn.render_log(amp, pos, sg, np.zeros(n), np.zeros(n, dtype=np.int64), np.ones((1, 1)), 0.0, 1.0, y)
    a, mu, sig = amp * 1.3, np.round(pos), np.full(n, S0)
    E = kn.fit_peaks_local(y, a, mu, sig, np.ones(n, dtype=bool), 0.8 * S0, 1.5 * S0, 500, 0.0, 0.0)
    assert E < 1e-14
    np.testing.assert_allclose(mu, pos, atol=1e-5)
    np.testing.assert_allclose(a, amp, rtol=1e-5)
    np.testing.assert_allclose(sig, sg, rtol=1e-5)
    # nothing dirty: nothing moves
    a2, mu2, sig2 = amp * 1.3, np.round(pos), np.full(n, S0)
    kn.fit_peaks_local(y, a2, mu2, sig2, np.zeros(n, dtype=bool), 0.8 * S0, 1.5 * S0, 50, 0.0, 0.0)
    np.testing.assert_array_equal(mu2, np.round(pos))


def test_template_spectra_are_numpy_rffts():
    T = _templates(_dict(K=10, C=3), 128, 0.5)
    spectra, norms2 = kn.template_spectra(T)
    np.testing.assert_allclose(spectra, np.fft.rfft(T, axis=0).T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(norms2, (T**2).sum(axis=0), rtol=1e-12)


@pytest.mark.parametrize("C", [1, 2, 3])
def test_best_match_fft_equals_direct(C):
    rng = np.random.default_rng(C)
    m = 128
    T = _templates(_dict(K=10, C=C), m, 0.5)
    spectra, norms2 = kn.template_spectra(T)
    for _ in range(5):
        r = rng.standard_normal(m)
        k, i, c = kn.best_match(r, T)
        k2, i2, c2 = kn.best_match_fft(r, spectra, norms2)
        assert (k, i) == (k2, i2)
        assert c2 == pytest.approx(c, rel=1e-10)
    assert kn.best_match_fft(-np.abs(r) - 1, spectra, norms2)[2] == 0.0
