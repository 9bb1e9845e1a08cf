"""The shared evaluation helpers: Scores, as_sources, check_pair, silent_mask,
warn_duplicates and the Hungarian assignment."""

import itertools
import json
import warnings

import numpy as np
import pytest

from sepkit import AudioSignal, EvaluationError
from sepkit.evaluation.common import (
    Scores,
    as_sources,
    assign,
    check_pair,
    silent_mask,
    warn_duplicates,
)


def _key(scores, assignment, maximize):
    """Brute-force order of an assignment: first the number of perfect scores (+inf
    when maximising, -inf when minimising) minus the number of worst ones (NaN and the
    other infinity), then the sum of the finite scores."""
    picked = scores[np.arange(scores.shape[0]), list(assignment)]
    best, worst = (np.inf, -np.inf) if maximize else (-np.inf, np.inf)
    n_best = np.count_nonzero(picked == best)
    n_worst = np.count_nonzero(np.isnan(picked) | (picked == worst))
    finite = picked[np.isfinite(picked)].sum()
    return (n_best - n_worst, finite if maximize else -finite)


def _brute_force(scores, maximize=True):
    S, E = scores.shape
    return max((_key(scores, p, maximize), p) for p in itertools.permutations(range(E), S))


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("n_ref, n_est", [(1, 1), (2, 2), (3, 3), (3, 5), (4, 4), (4, 6), (5, 7)])
def test_assign_matches_brute_force_on_random_matrices(n_ref, n_est, maximize):
    rng = np.random.default_rng(n_ref * 10 + n_est)
    for _ in range(20):
        scores = rng.normal(5.0, 10.0, (n_ref, n_est))
        got = assign(scores, maximize=maximize)
        assert got.shape == (n_ref,) and len(set(got.tolist())) == n_ref
        assert set(got.tolist()) <= set(range(n_est))
        best_key, best = _brute_force(scores, maximize)
        assert tuple(got) == best
        assert _key(scores, got, maximize)[1] == pytest.approx(best_key[1], abs=1e-9)


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("n_ref, n_est", [(2, 3), (3, 3), (3, 5), (4, 4), (4, 6)])
def test_assign_with_nan_and_inf_matches_brute_force(n_ref, n_est, maximize):
    rng = np.random.default_rng(100 + n_ref * 10 + n_est)
    for _ in range(50):
        scores = rng.normal(0.0, 30.0, (n_ref, n_est)) * rng.choice([1.0, 100.0], (n_ref, n_est))
        special = rng.random((n_ref, n_est))
        scores[special < 0.15] = np.nan
        scores[(special >= 0.15) & (special < 0.25)] = np.inf
        scores[(special >= 0.25) & (special < 0.32)] = -np.inf
        got = assign(scores, maximize=maximize)
        assert len(set(got.tolist())) == n_ref
        best_key, _ = _brute_force(scores, maximize)
        got_key = _key(scores, got, maximize)
        assert got_key[0] == best_key[0]
        assert got_key[1] == pytest.approx(best_key[1], rel=1e-12, abs=1e-9)


def test_assign_prefers_a_perfect_pair_and_avoids_nan():
    inf, nan = np.inf, np.nan
    assert assign(np.array([[inf, 100.0], [100.0, -100.0]])).tolist() == [0, 1]
    assert assign(np.array([[nan, 1.0], [2.0, 50.0]])).tolist() == [1, 0]
    assert assign(np.array([[nan, nan], [nan, nan]])).tolist() in ([0, 1], [1, 0])
    # More estimates than references: the extra (bad) estimate is left out.
    assert assign(np.array([[-30.0, 10.0, 0.0], [-30.0, 0.0, 12.0]])).tolist() == [1, 2]


def test_assign_rejects_too_few_estimates_or_bad_shape():
    with pytest.raises(EvaluationError):
        assign(np.zeros((3, 2)))
    with pytest.raises(EvaluationError):
        assign(np.zeros(3))


def test_as_sources_stacks_signals_and_arrays():
    a = AudioSignal(np.ones((2, 100)), 8000)
    b = AudioSignal(np.zeros((2, 100)), 8000)
    array, rate = as_sources([a, b])
    assert array.shape == (2, 2, 100) and array.dtype == np.float64 and rate == 8000
    array[0] = 5.0  # a new array: the signals are untouched
    assert np.all(a.audio_data == 1.0)
    single, rate = as_sources(a)
    assert single.shape == (1, 2, 100) and rate == 8000
    mono, rate = as_sources(np.zeros((3, 50), dtype=np.float32))
    assert mono.shape == (3, 1, 50) and mono.dtype == np.float64 and rate is None
    source = np.ones((2, 1, 10))
    copy, _ = as_sources(source)
    copy[:] = 0
    assert np.all(source == 1)


@pytest.mark.parametrize(
    "bad",
    [
        [],
        np.zeros((2, 0)),
        np.zeros(10),
        np.zeros((1, 1, 1, 4)),
        [np.zeros(4), np.zeros(5)],
        np.array([[0.0, np.nan]]),
        np.array([[0.0, np.inf]]),
        "not audio",
    ],
)
def test_as_sources_rejects_bad_input(bad):
    with pytest.raises(EvaluationError):
        as_sources(bad)


def test_as_sources_rejects_mixed_rates_and_shapes():
    a = AudioSignal(np.ones((1, 100)), 8000)
    with pytest.raises(EvaluationError, match="sample rates"):
        as_sources([a, AudioSignal(np.ones((1, 100)), 16000)])
    with pytest.raises(EvaluationError, match="shapes"):
        as_sources([a, AudioSignal(np.ones((1, 90)), 8000)])


def test_check_pair():
    check_pair(np.zeros((2, 1, 10)), np.zeros((3, 1, 10)))
    with pytest.raises(EvaluationError):
        check_pair(np.zeros((2, 1, 10)), np.zeros((3, 1, 10)), allow_more_estimates=False)
    with pytest.raises(EvaluationError):
        check_pair(np.zeros((2, 1, 10)), np.zeros((1, 1, 10)))
    with pytest.raises(EvaluationError):
        check_pair(np.zeros((2, 1, 10)), np.zeros((2, 2, 10)))
    with pytest.raises(EvaluationError):
        check_pair(np.zeros((2, 1, 10)), np.zeros((2, 1, 11)))


def test_silent_mask():
    x = np.zeros((3, 2, 5))
    x[1, 0, 2] = 1e-300
    assert silent_mask(x).tolist() == [True, False, True]
    assert silent_mask(x, axis=-1).tolist() == [[True, True], [False, True], [True, True]]


def test_warn_duplicates():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_duplicates(x)
    x[2] = x[0]
    with pytest.warns(UserWarning, match="estimates 0 and 2 are identical"):
        warn_duplicates(x)


def test_scores_to_dict_round_trips_through_json():
    values = {
        "SDR": np.array([[1.5, np.nan], [np.inf, -np.inf]]),
        "SIR": np.array([[2.0, 3.0], [4.0, 5.0]]),
    }
    scores = Scores(values=values, assignment=np.array([1, 0]), axis="channel", info={"sample_rate": 8000})
    text = json.dumps(scores.to_dict(), allow_nan=False)  # strict JSON: no NaN/Infinity tokens
    back = json.loads(text)
    assert back == {
        "values": {"SDR": [[1.5, None], ["inf", "-inf"]], "SIR": [[2.0, 3.0], [4.0, 5.0]]},
        "assignment": [1, 0],
        "axis": "channel",
        "info": {"sample_rate": 8000},
    }
    restored = np.array([[np.nan if x is None else float(x) for x in row] for row in back["values"]["SDR"]])
    np.testing.assert_array_equal(restored, values["SDR"])


def test_assign_one_infinite_entry_outweighs_any_finite_difference():
    # Regression: with the infinities mapped to only (max + 1) * (S + 1), this case chose
    # a finite total of -299 over an assignment containing -inf (minimising).
    inf, nan = np.inf, np.nan
    scores = np.array(
        [
            [inf, nan, -100.0, inf, 100.0],
            [inf, 100.0, 100.0, -100.0, 100.0],
            [-100.0, nan, -inf, 100.0, 1.0],
            [nan, nan, -1.0, 100.0, 1.0],
        ]
    )
    best_key, _ = _brute_force(scores, maximize=False)
    assert _key(scores, assign(scores, maximize=False), maximize=False) == best_key
    assert _key(-scores, assign(-scores), maximize=True) == _brute_force(-scores)[0]


def test_assign_fuzz_with_many_special_values():
    rng = np.random.default_rng(5)
    for _ in range(300):
        S = int(rng.integers(2, 5))
        E = S + int(rng.integers(0, 3))
        scores = rng.choice([-100.0, 100.0, -1.0, 1.0, np.inf, -np.inf, np.nan], (S, E))
        for maximize in (True, False):
            best_key, _ = _brute_force(scores, maximize)
            got = _key(scores, assign(scores, maximize=maximize), maximize)
            assert got[0] == best_key[0] and got[1] == pytest.approx(best_key[1], abs=1e-9)
