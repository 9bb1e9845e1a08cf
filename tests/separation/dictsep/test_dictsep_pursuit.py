"""Dictionary pursuit of log frames (matched-filter selector + bounded LM refits)."""

import math

import numpy as np
import pytest

from sepkit.core.errors import SeparationError
from sepkit.kernels.dictsep import render_log
from sepkit.separation.dictsep.pursuit import build_templates, pursue_frames, pursue_tones
from sepkit.separation.dictsep.synthetic import part_a_amplitudes, part_b_amplitudes

M = 1024
LAM = M / math.log(1024)
S0 = 6 / math.pi


@pytest.fixture(scope="module")
def dictionary():
    D = np.stack([part_a_amplitudes(), part_b_amplitudes()], axis=1)
    return D / D.max(axis=0)


def _frame(D, a, mu, sig, b, cls):
    y = np.empty(M)
    render_log(np.asarray(a, float), np.asarray(mu, float), np.asarray(sig, float),
               np.asarray(b, float), np.asarray(cls, dtype=np.int64), D, LAM, 1.0, y)
    return y


def test_templates(dictionary):
    T = build_templates(dictionary)
    assert T.shape == (2 * M, 2)
    assert np.argmax(T[:, 0]) == M  # fundamental (the strongest partial) at bin M
    assert T[M, 1] == pytest.approx(1.0)  # a = 1, D[0] = 1, q = 0.5
    assert np.all(T[: M - 13] == 0)


def test_recovers_planted_tones(dictionary):
    truth = dict(a=[0.05, 0.08], mu=[600.3, 420.7], sig=[S0 * 1.05, S0 * 0.95], b=[2e-5, 0.0], cls=[0, 1])
    y = _frame(dictionary, *truth.values())
    T = build_templates(dictionary)
    a, mu, sig, b, cls = pursue_tones(y, dictionary, T, LAM, S0, 1, 4, 0.9, 1.0, 0.5, 100, 0.0, 1e-12)
    order = np.argsort(cls)
    np.testing.assert_array_equal(cls[order], [0, 1])
    np.testing.assert_allclose(a[order], truth["a"], rtol=1e-6)
    np.testing.assert_allclose(mu[order], truth["mu"], atol=1e-5)
    np.testing.assert_allclose(sig[order], truth["sig"], rtol=1e-5)
    np.testing.assert_allclose(b[order], truth["b"], atol=1e-8)


def test_tone_num_and_silence(dictionary):
    y = _frame(dictionary, [0.05, 0.04, 0.03], [500.0, 300.0, 700.0], [S0] * 3, [0.0] * 3, [0, 0, 0])
    T = build_templates(dictionary)
    a, mu, sig, b, cls = pursue_tones(y, dictionary, T, LAM, S0, 1, 8, 0.9, 1.0, 0.5, 100, 2.2e-9, 1e-5)
    assert np.bincount(cls, minlength=2).max() <= 1
    a2, *_, cls2 = pursue_tones(y, dictionary, T, LAM, S0, 3, 12, 0.9, 1.0, 0.5, 100, 2.2e-9, 1e-5)
    assert a2.size == 3 and np.all(cls2 == 0)
    empty = pursue_tones(np.zeros(M), dictionary, T, LAM, S0, 1, 4, 0.9, 1.0, 0.5, 100, 2.2e-9, 1e-5)
    assert empty[0].size == 0


def test_pursue_frames_layout(dictionary):
    y0 = _frame(dictionary, [0.05], [600.0], [S0], [0.0], [0])
    y1 = _frame(dictionary, [0.05, 0.02], [350.0, 480.0], [S0, S0], [0.0, 0.0], [1, 0])
    Y = np.stack([y0, np.zeros(M), y1], axis=1)
    out = pursue_frames(Y, dictionary)
    assert out["a"].shape == out["instrument"].shape == (3, 2)
    assert out["instrument"][0].tolist() == [0, -1] and np.isnan(out["mu"][0, 1])
    assert np.all(out["instrument"][1] == -1) and np.all(out["a"][1] == 0)
    assert sorted(out["instrument"][2].tolist()) == [0, 1]
    assert out["mu"][0, 0] == pytest.approx(600.0, abs=1e-3)


@pytest.mark.parametrize(
    "Y, D, kwargs, match",
    [
        (np.ones(5), None, {}, r"shape \(M, n_frames\)"),
        (-np.ones((64, 2)), None, {}, "nonnegative"),
        (np.ones((64, 2)), np.full((5, 2), 1.5), {}, r"\[0, 1\], got range \[1.5, 1.5\]"),
        (np.ones((64, 2)), np.zeros((5, 2)), {}, r"all-zero column: \[0, 1\]"),
        (np.ones((64, 2)), None, {"tone_num": 0}, "tone_num must be an integer >= 1, got 0"),
        (np.ones((64, 2)), None, {"beta": 2.0}, r"beta must be in \(0, 1\], got 2.0"),
        (np.ones((64, 2)), None, {"q": -0.5}, "q must be a finite real number > 0.0, got -0.5"),
    ],
)
def test_bad_input_raises(Y, D, kwargs, match):
    D = np.ones((5, 2)) if D is None else D
    with pytest.raises(SeparationError, match=match):
        pursue_frames(Y, D, **kwargs)
