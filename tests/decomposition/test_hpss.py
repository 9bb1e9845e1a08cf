"""decomposition.hpss: running medians equal scipy's, masks and outputs equal librosa's."""

import librosa
import numpy as np
import pytest
from scipy.ndimage import median_filter as scipy_median

import sepkit
from sepkit import DecompositionError
from sepkit.decomposition import hpss
from sepkit.decomposition._hpss import median_filter

SETTINGS = [
    {},
    {"kernel_size": 17},
    {"kernel_size": (7, 12), "power": 1.0},
    {"kernel_size": (31, 5), "power": 0.5},
    {"margin": 3.0},
    {"margin": (1.0, 5.0)},
    {"margin": (2.0, 1.5), "power": 3.0},
    {"power": np.inf},
    {"power": np.inf, "margin": 2.0},
]


@pytest.fixture(scope="module")
def real_spectrogram():
    mix, _ = sepkit.datasets.load_example(["violin", "clarinet"])
    return np.abs(mix.truncate(3 * 44100).stft()[:, :, 0])


@pytest.mark.parametrize("size", [1, 2, 3, 16, 17, 31, 80])
@pytest.mark.parametrize("axis", [0, 1])
def test_median_filter_equals_scipy(rng, size, axis):
    S = rng.random((40, 60))
    S[5:9] = 0.25  # ties
    expected = scipy_median(S, size=(1, size) if axis == 1 else (size, 1), mode="reflect")
    np.testing.assert_array_equal(median_filter(S, size, axis), expected)


def _check_against_librosa(S, kwargs):
    for mask in (False, True):
        ours = hpss(S, mask=mask, **kwargs)
        theirs = librosa.decompose.hpss(S, mask=mask, **kwargs)
        for a, b in zip(ours, theirs):
            assert a.shape == S.shape and a.dtype == np.float64
            np.testing.assert_allclose(a, np.asarray(b, dtype=np.float64), rtol=1e-10, atol=1e-10 * S.max())


@pytest.mark.parametrize("kwargs", SETTINGS)
def test_random_spectrogram_matches_librosa(rng, kwargs):
    S = rng.random((129, 90)) ** 3
    S[:4] = 0.0  # silent bins: both medians zero
    _check_against_librosa(S, kwargs)


@pytest.mark.parametrize("kwargs", SETTINGS[:5])
def test_real_spectrogram_matches_librosa(real_spectrogram, kwargs):
    _check_against_librosa(real_spectrogram, kwargs)


def test_identities_and_channels(rng):
    S = rng.random((65, 50))
    H, P = hpss(S, kernel_size=9)
    np.testing.assert_allclose(H + P, S, rtol=1e-12)  # unit margins: the parts add up
    H3, P3 = hpss(S, margin=3.0)
    assert np.all(H3 + P3 <= S * (1 + 1e-12)) and np.sum(S - H3 - P3) > 0  # a residual
    stereo = np.stack([S, 2 * S], axis=-1)
    before = stereo.copy()
    Hs, Ps = hpss(stereo, kernel_size=9)
    assert Hs.shape == stereo.shape
    np.testing.assert_allclose(Hs[:, :, 0], H, rtol=1e-12)
    np.testing.assert_allclose(Ps[:, :, 1], 2 * P, rtol=1e-12)
    np.testing.assert_array_equal(stereo, before)


@pytest.mark.parametrize(
    "S, kwargs, match",
    [
        (-np.ones((4, 5)), {}, "nonnegative"),
        (np.ones(5), {}, "2-D or 3-D"),
        (np.ones((4, 5)) * 1j, {}, "complex"),
        (np.ones((4, 5)), {"kernel_size": 0}, "kernel_size"),
        (np.ones((4, 5)), {"kernel_size": (3, 2, 1)}, "kernel_size"),
        (np.ones((4, 5)), {"power": 0.0}, "power"),
        (np.ones((4, 5)), {"margin": 0.5}, "margin"),
        (np.ones((4, 5)), {"mask": "yes"}, "mask"),
    ],
)
def test_bad_input(S, kwargs, match):
    with pytest.raises(DecompositionError, match=match):
        hpss(S, **kwargs)
