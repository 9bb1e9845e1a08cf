import numpy as np
import pytest

from sepkit import AudioSignal, EvaluationError
from sepkit.evaluation import si_sdr, si_sdr_signals


def _plain_si_sdr(ref, est):
    ref = ref - ref.mean()
    est = est - est.mean()
    target = (ref @ est) / (ref @ ref) * ref
    return 10 * np.log10(np.sum(target**2) / np.sum((est - target) ** 2))


def test_si_sdr_matches_the_plain_formula_and_is_scale_invariant():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 2, 500))
    est = ref + 0.3 * rng.standard_normal(ref.shape) + 0.2
    got = si_sdr(ref, est)
    assert got.shape == (3, 2)
    for j in range(3):
        for c in range(2):
            assert got[j, c] == pytest.approx(_plain_si_sdr(ref[j, c], est[j, c]), abs=1e-10)
    np.testing.assert_allclose(si_sdr(ref, 7.5 * est), got, atol=1e-10)


def test_silent_reference_gives_nan_with_a_warning():
    ref = np.zeros((2, 100))
    ref[1] = np.sin(np.arange(100))
    with pytest.warns(RuntimeWarning, match="silent"):
        out = si_sdr(ref, ref + 0.1)
    assert np.isnan(out[0]) and np.isfinite(out[1])


@pytest.mark.parametrize(
    "ref, est",
    [(np.zeros(4), np.zeros(5)), (np.zeros((2, 0)), np.zeros((2, 0))), (np.full(4, np.nan), np.zeros(4))],
)
def test_bad_arrays_raise(ref, est):
    with pytest.raises(EvaluationError):
        si_sdr(ref, est)


def test_signal_lists():
    a = AudioSignal(np.sin(np.arange(1000) * 0.1), 8000)
    b = AudioSignal(np.cos(np.arange(1000) * 0.37), 8000)
    out = si_sdr_signals([a, b], [a * 0.5 + b * 0.01, b])
    assert out.shape == (2, 1) and out[0, 0] > 30 and np.isinf(out[1, 0])
    with pytest.raises(EvaluationError):
        si_sdr_signals([a], [a, b])
    with pytest.raises(EvaluationError):
        si_sdr_signals([a], [a.resample(16000)])
    with pytest.raises(EvaluationError):
        si_sdr_signals([a], [a.truncate(500)])
