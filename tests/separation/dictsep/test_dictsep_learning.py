"""Dictionary learning of DictSep: random columns, bounded Adam, renewal, training."""

import math

import numpy as np
import pytest

from sepkit.core.errors import SeparationError
from sepkit.kernels.dictsep import render_log
from sepkit.separation.dictsep.learning import adam_b_step, random_dictionary, train_dictionaries
from sepkit.separation.dictsep.synthetic import part_a_amplitudes, part_b_amplitudes


def test_random_dictionary():
    D = random_dictionary(25, 4, seed=3)
    assert D.shape == (25, 4)
    assert np.all((D >= 0) & (D <= 1))
    np.testing.assert_allclose(D.max(axis=0), 1.0)
    np.testing.assert_array_equal(D, random_dictionary(25, 4, seed=3))
    # the draw order: per column an exponent, then its weights
    rng = np.random.default_rng(3)
    e = rng.pareto(0.5)
    u = rng.random(25)
    col = np.arange(1, 26) ** (-e) * u
    np.testing.assert_allclose(D[:, 0], col / col.max())
    with pytest.raises(SeparationError, match="columns must be an integer >= 1, got 0"):
        random_dictionary(25, 0)


def test_adam_b_step_matches_formula():
    rng = np.random.default_rng(0)
    D = rng.uniform(0, 1, (5, 3))
    D[0, 0] = 0.9995  # will be clipped at 1
    m = np.zeros((5, 3))
    v = np.zeros(3)
    t = np.array([0, 0, 4])
    m[:, 2] = 0.01
    v[2] = 0.3
    g = rng.standard_normal((5, 3))
    g[0, 0] = -5.0
    ref_D, ref_m, ref_v, ref_t = D.copy(), m.copy(), v.copy(), t.copy()
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    ref_t += 1
    ref_m = b1 * ref_m - (1 - b1) * g
    ref_v = b2 * ref_v + (1 - b2) * np.mean(g**2, axis=0)
    step = lr * (ref_m / (1 - b1**ref_t)) / (np.sqrt(ref_v / (1 - b2**ref_t)) + eps)
    ref_D = np.clip(ref_D + step, 0, 1)
    adam_b_step(D, g, m, v, t, lr, b1, b2, eps)
    np.testing.assert_allclose(D, ref_D, rtol=1e-13)
    np.testing.assert_allclose(m, ref_m, rtol=1e-13)
    np.testing.assert_allclose(v, ref_v, rtol=1e-13)
    np.testing.assert_array_equal(t, [1, 1, 5])
    assert D[0, 0] == 1.0
    # the first step of a column moves every entry by about lr against the gradient sign
    D0 = np.full((4, 1), 0.5)
    g1 = np.array([[1.0], [-2.0], [0.5], [-0.1]])
    adam_b_step(D0, g1, np.zeros((4, 1)), np.zeros(1), np.zeros(1, dtype=np.int64), lr, b1, b2, eps)
    rms = math.sqrt(np.mean(g1**2))
    np.testing.assert_allclose(D0[:, 0], 0.5 - lr * g1[:, 0] / rms, rtol=1e-6)


def _two_instrument_frames(n_frames=60, seed=0):
    """Artificial log frames: one tone of each of two known instruments per frame."""
    M = 1024
    lam = M / math.log(1024)
    s0 = 6 / math.pi
    D = np.stack([part_a_amplitudes(), part_b_amplitudes()], axis=1)
    D /= D.max(axis=0)
    rng = np.random.default_rng(seed)
    Y = np.empty((M, n_frames))
    col = np.empty(M)
    for t in range(n_frames):
        mu = np.array([rng.uniform(420, 520), rng.uniform(300, 380)])
        render_log(np.array([0.05, 0.05]), mu, np.full(2, s0), np.zeros(2), np.array([0, 1]), D, lam, 1.0, col)
        Y[:, t] = col
    return Y, D


def test_training_learns_the_two_instruments():
    Y, D_true = _two_instrument_frames()
    dicts, losses = train_dictionaries(Y, 2, n_iter=1000, lifetime=500, num_dicts=2, seed=0)
    assert dicts.shape == (2, 25, 2) and losses.shape == (2,) and np.all(losses > 0)
    assert np.all((dicts >= 0) & (dicts <= 1))
    # at least one seed finds both instruments (cosine similarity of the first 8 harmonics)
    best = 0.0
    for D in dicts:
        sims = np.array([[np.dot(D[:8, i], D_true[:8, j]) / np.linalg.norm(D[:8, i]) / np.linalg.norm(D_true[:8, j])
                          for j in range(2)] for i in range(2)])
        best = max(best, min(sims[0, 0], sims[1, 1]), min(sims[0, 1], sims[1, 0]))
    assert best > 0.95
    again, _ = train_dictionaries(Y, 2, n_iter=1000, lifetime=500, num_dicts=2, seed=0)
    np.testing.assert_array_equal(dicts, again)


def test_batch_of_identical_frames_equals_single_frame_steps():
    # every frame the same: a batch of 3 sums three equal gradients, and Adam's step is
    # invariant to the gradient's scale (up to eps = 1e-8), so the dictionaries agree (one
    # renewal, at the last step: the returned survivors do not depend on its random draws)
    Y, _ = _two_instrument_frames(n_frames=1)
    Y3 = np.repeat(Y, 3, axis=1)
    single, _ = train_dictionaries(Y, 2, n_iter=40, lifetime=40, num_dicts=1, seed=1)
    batched, _ = train_dictionaries(Y3, 2, n_iter=40, lifetime=40, num_dicts=1, seed=1, batch_size=3)
    assert np.abs(single - batched).max() < 1e-6
    assert not np.array_equal(single, random_dictionary(25, 4, seed=np.random.default_rng(1).spawn(1)[0])[:, :2])


def test_frame_draws_follow_the_weights():
    from sepkit.separation.dictsep.learning import _frame_draws

    w = np.array([0.0, 0.25, 0.0, 0.75])
    draws = _frame_draws(np.random.default_rng(0), 4, 4000, 2, w)
    assert draws.shape == (4000, 2)
    counts = np.bincount(draws.ravel(), minlength=4) / draws.size
    assert counts[0] == 0 and counts[2] == 0
    assert abs(counts[3] - 0.75) < 0.02
    # uniform draws keep Musisep's order of random numbers: one integer per step
    np.testing.assert_array_equal(_frame_draws(np.random.default_rng(5), 7, 9, 1, None)[:, 0],
                                  np.random.default_rng(5).integers(0, 7, 9))


def test_energy_sampling_skips_silent_frames():
    Y, _ = _two_instrument_frames(n_frames=4)
    Y[:, [0, 2]] = 0.0
    dicts, losses = train_dictionaries(Y, 2, n_iter=20, lifetime=10, num_dicts=1, seed=0, sampling="energy")
    assert np.all(np.isfinite(dicts)) and losses[0] > 0
    with pytest.raises(SeparationError, match="sampling='energy' needs a frame with energy"):
        train_dictionaries(np.zeros((64, 3)), 2, n_iter=20, lifetime=10, sampling="energy")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"sampling": "loud"}, "sampling must be one of 'uniform', 'energy'; got 'loud'"),
        ({"n_iter": 100, "lifetime": 500}, r"n_iter must be at least lifetime \(500\).*got 100"),
        ({"num_dicts": 0}, "num_dicts must be an integer >= 1, got 0"),
        ({"lr": -1.0}, "lr must be a finite real number > 0.0, got -1.0"),
        ({"seed": "x"}, "seed must be None, a nonnegative int or a numpy.random.Generator, got 'x'"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(SeparationError, match=match):
        train_dictionaries(np.ones((64, 3)), 2, **kwargs)
