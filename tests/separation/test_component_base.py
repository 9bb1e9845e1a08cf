"""The NMF family's base: alpha-Wiener kernel, channel layout, grouping checks, mask identities."""

import numpy as np
import pytest

from sepkit import AudioSignal, BinaryMask, SeparationError, SoftMask
from sepkit.kernels.masks import alpha_wiener
from sepkit.separation.nmf.base import (
    ComponentSeparationBase,
    grouped_models,
    validate_alpha,
    validate_groups,
)


def np_alpha_wiener(models, alpha):
    powered = models**alpha
    total = powered.sum(axis=0)
    out = np.full_like(models, 1.0 / models.shape[0])
    pos = total > 0
    out[:, pos] = powered[:, pos] / total[pos]
    return out


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.2, 2.0, 7.0])
def test_alpha_wiener_matches_numpy_and_sums_to_one(rng, alpha):
    models = rng.random((3, 500)) * rng.integers(0, 2, (3, 500))  # zeros, including all-zero bins
    models[:, :5] = 0.0
    out = np.empty_like(models)
    alpha_wiener(models, alpha, out)
    np.testing.assert_allclose(out, np_alpha_wiener(models, alpha), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out.sum(axis=0), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(out[:, :5], 1.0 / 3.0)


def test_alpha_wiener_in_place_and_no_overflow():
    models = np.array([[1e300, 1.0], [1e299, 3.0]])
    expected = np.array([[1.0 / (1 + 1e-4), 1.0 / 82.0], [1e-4 / (1 + 1e-4), 81.0 / 82.0]])
    alpha_wiener(models, 4.0, models)  # 1e300**4 would overflow without the per-bin scaling
    np.testing.assert_allclose(models, expected, rtol=1e-14)


@pytest.mark.parametrize("bad", [0, -1.0, np.inf, np.nan, "1", True])
def test_validate_alpha_rejects(bad):
    with pytest.raises(SeparationError, match="alpha"):
        validate_alpha(bad)


def test_validate_groups():
    np.testing.assert_array_equal(validate_groups([1, 0, 1], 3, 2), [1, 0, 1])
    with pytest.raises(SeparationError, match=r"shape \(3,\)"):
        validate_groups([0, 1], 3, 2)
    with pytest.raises(SeparationError, match=r"\[0, 2\)"):
        validate_groups([0, 1, 2], 3, 2)
    with pytest.raises(SeparationError, match=r"sources \[1\] received no component"):
        validate_groups([0, 0, 0], 3, 2)
    with pytest.raises(SeparationError, match="integer"):
        validate_groups([0.0, 1.0, 1.0], 3, 2)


def test_grouped_models_sum_components(rng):
    W, H = rng.random((6, 4)), rng.random((4, 9))
    groups = np.array([1, 0, 1, 1])
    models = grouped_models(W, H, groups, 2)
    np.testing.assert_allclose(models[0], np.outer(W[:, 1], H[1]), rtol=1e-14)
    np.testing.assert_allclose(models.sum(axis=0), W @ H, rtol=1e-13)


class _OracleModels(ComponentSeparationBase):
    """Uses the true source magnitudes as models: tests the base in isolation."""

    def __init__(self, mix, sources, **kwargs):
        super().__init__(mix, len(sources), **kwargs)
        self.sources = sources

    def run(self):
        V = self.magnitude()
        models = np.stack([np.abs(s.stft(self.stft_params)).reshape(V.shape[0], -1, order="F") for s in self.sources])
        self.set_source_models(models)
        return self.result_masks


@pytest.fixture(scope="module")
def stereo_pair():
    rng = np.random.default_rng(3)
    n = 8000
    a = rng.standard_normal((2, n)) * np.linspace(0.1, 1, n)
    b = rng.standard_normal((2, n)) * np.array([[0.3], [1.0]])
    sa, sb = AudioSignal(a, 8000), AudioSignal(b, 8000)
    return sa + sb, [sa, sb]


def test_magnitude_layout_channels_side_by_side(stereo_pair):
    mix, sources = stereo_pair
    sep = _OracleModels(mix, sources)
    V = sep.magnitude()
    X = mix.stft()
    F, N, C = X.shape
    assert V.shape == (F, C * N) and V.flags.c_contiguous
    np.testing.assert_array_equal(V[:, N + 3], np.abs(X[:, 3, 1]))
    np.testing.assert_array_equal(sep.unfold(V), np.abs(X))


@pytest.mark.parametrize("mask_type", ["soft", "binary"])
def test_estimates_sum_to_mixture_and_masks_typed(stereo_pair, mask_type):
    mix, sources = stereo_pair
    sep = _OracleModels(mix, sources, mask_type=mask_type, labels=["a", "b"])
    estimates = sep()
    assert [e.label for e in estimates] == ["a", "b"]
    assert all(isinstance(m, SoftMask if mask_type == "soft" else BinaryMask) for m in sep.result_masks)
    total = estimates[0].audio_data + estimates[1].audio_data
    np.testing.assert_allclose(total, mix.audio_data, atol=1e-12)
    assert sep.source_models.shape == (2,) + mix.stft().shape
    np.testing.assert_allclose(sep.source_models[1], np.abs(sources[1].stft()), rtol=1e-14)


def test_binary_masks_are_argmax_of_models(stereo_pair):
    mix, sources = stereo_pair
    sep = _OracleModels(mix, sources, mask_type="binary")
    sep.run()
    A, B = (np.abs(s.stft()) for s in sources)
    np.testing.assert_array_equal(sep.result_masks[1].mask, B > A)
    np.testing.assert_array_equal(sep.result_masks[0].mask, A >= B)


def test_soft_masks_are_alpha_wiener(stereo_pair):
    mix, sources = stereo_pair
    sep = _OracleModels(mix, sources, alpha=2.0)
    sep.run()
    A, B = (np.abs(s.stft()) for s in sources)
    np.testing.assert_allclose(sep.result_masks[0].mask, A**2 / (A**2 + B**2), rtol=1e-12)


def test_zero_energy_mixture_raises():
    silent = AudioSignal(np.zeros((1, 4000)), 8000)
    with pytest.raises(SeparationError, match="zero energy"):
        _OracleModels(silent, [silent, silent]).run()


def test_bad_construction_raises(stereo_pair):
    mix, sources = stereo_pair
    with pytest.raises(SeparationError, match="num_sources"):
        ComponentSeparationBase(mix, 0)
    with pytest.raises(SeparationError, match="labels"):
        ComponentSeparationBase(mix, 2, labels=["only one"])
    with pytest.raises(SeparationError, match="alpha"):
        ComponentSeparationBase(mix, 2, alpha=-1)
