"""FT2D: peak maps against numpy/scipy formulas, symmetries, quadrants, nussl parity, loop quality."""

import json
import os

import numpy as np
import pytest
import scipy.ndimage

import sepkit
from sepkit.core import SeparationError
from sepkit.separation.primitive import FT2D
from sepkit.separation.primitive.ft2d import point_flip

NUSSL = os.path.join(os.path.dirname(__file__), "..", "data", "nussl")


def _fixture(name):
    path = os.path.join(NUSSL, name + ".npz")
    if not os.path.exists(path):
        pytest.skip(f"nussl fixture {name}.npz not present")
    return np.load(path, allow_pickle=False)


@pytest.fixture(scope="module")
def short_mix():
    mix, _ = sepkit.datasets.load_foreground_background_example("loop", duration=2.0)
    return mix


def _local_std_map(ft2d, size):
    """The local-std peak map on the fftshifted grid (nussl's formula, variance clamped at 0)."""
    D = np.abs(np.fft.fftshift(ft2d))
    D = D / (D.max() + 1e-7)
    mx = scipy.ndimage.maximum_filter(D, size)
    mu = scipy.ndimage.uniform_filter(D, size)
    sd = np.sqrt(np.maximum(scipy.ndimage.uniform_filter(D**2, size) - mu**2, 0)) + 1e-7
    z = (mx - mu) / sd * (D == mx)
    return z / (z.max() + 1e-7)


def test_peak_map_symmetries(short_mix):
    rng = np.random.default_rng(0)
    V = rng.random((33, 40)) ** 2
    ft2d = np.fft.fft2(V)
    M = _local_std_map(ft2d, (1, 5))
    lr = FT2D(short_mix, neighborhood_size=(1, 5), symmetry="lr").peak_map(ft2d)
    lrud = FT2D(short_mix, neighborhood_size=(1, 5), symmetry="lrud").peak_map(ft2d)
    point = FT2D(short_mix, neighborhood_size=(1, 5), symmetry="point").peak_map(ft2d)
    # nussl 1.1.9: np.maximum(M, fliplr(M), flipud(M)) returns max(M, fliplr(M)) (flipud is `out`)
    np.testing.assert_array_equal(lr, np.fft.ifftshift(np.maximum(M, M[:, ::-1])))
    np.testing.assert_array_equal(lrud, np.fft.ifftshift(np.maximum(np.maximum(M, M[:, ::-1]), M[::-1, :])))
    unshifted = np.fft.ifftshift(M)
    np.testing.assert_array_equal(point, np.maximum(unshifted, point_flip(unshifted)))
    # point symmetry is the symmetry of a real spectrogram's 2DFT: the background model is real
    np.testing.assert_array_equal(point, point_flip(point))
    model = np.fft.ifft2(point * ft2d)
    assert np.max(np.abs(model.imag)) < 1e-12 * np.max(np.abs(model.real))
    assert np.max(np.abs(np.fft.ifft2(lr * ft2d).imag)) > 1e-6 * np.max(np.abs(V))  # lr is not


@pytest.mark.parametrize("shape, size", [((33, 40), (1, 25)), ((33, 40), (1, 4)), ((20, 30), (3, 5)),
                                         ((20, 30), (4, 6)), ((10, 7), (1, 25)), ((10, 7), (5, 1)), ((3, 4), (9, 9))])
def test_local_filters_are_scipys(shape, size):
    from sepkit.kernels.ft2d import local_filters

    D = np.random.default_rng(sum(shape)).random(shape)
    mx, mean, mean_sq = np.empty(shape), np.empty(shape), np.empty(shape)
    local_filters(D, size[0], size[1], mx, mean, mean_sq)
    np.testing.assert_array_equal(mx, scipy.ndimage.maximum_filter(D, size))
    np.testing.assert_array_equal(mean, scipy.ndimage.uniform_filter(D, size))  # same running sums
    np.testing.assert_array_equal(mean_sq, scipy.ndimage.uniform_filter(D**2, size))


def test_point_flip_is_negation_of_frequencies():
    a = np.arange(20.0).reshape(4, 5)
    k1, k2 = np.meshgrid(np.arange(4), np.arange(5), indexing="ij")
    np.testing.assert_array_equal(point_flip(a), a[(-k1) % 4, (-k2) % 5])


def test_original_filter_is_binary(short_mix):
    rng = np.random.default_rng(1)
    ft2d = np.fft.fft2(rng.random((33, 40)))
    sep = FT2D(short_mix, neighborhood_size=(3, 5), filter_approach="original", symmetry="lr")
    D = np.abs(np.fft.fftshift(ft2d))
    D = D / (D.max() + 1e-7)
    mx = scipy.ndimage.maximum_filter(D, (3, 5))
    mn = scipy.ndimage.minimum_filter(D, (3, 5))
    M = (D == mx) & (mx - mn > np.std(D))
    np.testing.assert_array_equal(sep.peak_map(ft2d), np.fft.ifftshift(np.maximum(M, M[:, ::-1])).astype(float))


def test_no_quadrant_kept_gives_an_empty_background(short_mix):
    background, foreground = FT2D(short_mix, quadrants_to_keep=()).run()
    cutoff = int(np.argmin(np.abs(np.linspace(0, 22050, 1025) - 100.0)))
    assert np.all(background.mask[cutoff:] == 0) and np.all(background.mask[:cutoff] == 1)
    assert np.all(foreground.mask[cutoff:] == 1)


def test_quadrant_filter(short_mix):
    data = np.ones((6, 8))
    FT2D(short_mix, quadrants_to_keep=(1, 3)).filter_quadrants(data)
    expected = np.ones((6, 8))
    expected[3:, :4] = 0  # quadrant 0
    expected[:3, 4:] = 0  # quadrant 2
    np.testing.assert_array_equal(data, expected)


def test_constant_spectrogram_gives_no_nan(short_mix):
    # flat 2DFT regions make mean(D^2) - mean(D)^2 slightly negative: nussl's sqrt gives NaN there
    sep = FT2D(short_mix)
    mask = sep.channel_mask(np.full((65, 48), 0.25))
    assert np.all(np.isfinite(mask)) and np.all((mask >= 0) & (mask <= 1))


def test_clicks_go_to_the_background_and_a_sweep_to_the_foreground():
    sr = 22050
    n = 3 * sr
    x = np.zeros(n)
    x[:: sr // 4] = 1.0  # clicks every 0.25 s
    t = np.arange(n) / sr
    f0 = 500.0 + 1500.0 * t / 3  # a slow sweep, never repeating
    sweep = 0.1 * np.sin(2 * np.pi * np.cumsum(f0) / sr)
    mix = sepkit.AudioSignal((x + sweep)[None, :], sr)
    # 12 click periods in 3 s: their 2DFT peaks are 11 rate bins apart, closer than the default 25;
    # 3 scale bins keep the sweep's own (scale, rate) ridge from counting as peaks
    # (measured: clicks 0.88 background, sweep 0.92 foreground)
    background, foreground = FT2D(mix, neighborhood_size=(3, 5)).run()
    V = np.abs(mix.stft())[:, :, 0]
    frames = np.arange(V.shape[1])
    click_frames = frames[np.isin(frames, np.round(np.arange(0, n, sr // 4) / 256).astype(int))]
    high = slice(200, 500)  # well above the sweep (< 2000 Hz = bin 93)
    assert np.mean(background.mask[high][:, click_frames, 0]) > 0.8
    sweep_bins = np.round(f0[np.minimum(frames * 256, n - 1)] * 1024 / sr).astype(int)
    fg_on_sweep = foreground.mask[sweep_bins[8:-8], frames[8:-8], 0]
    assert np.mean(fg_on_sweep) > 0.8


def test_bad_arguments(short_mix):
    with pytest.raises(SeparationError, match="filter_approach"):
        FT2D(short_mix, filter_approach="median")
    with pytest.raises(SeparationError, match="neighborhood_size"):
        FT2D(short_mix, neighborhood_size=(0, 25))
    with pytest.raises(SeparationError, match="quadrants_to_keep"):
        FT2D(short_mix, quadrants_to_keep=(4,))
    with pytest.raises(SeparationError, match="symmetry"):
        FT2D(short_mix, symmetry="ud")
    with pytest.raises(SeparationError, match="use_bg_2dft"):
        FT2D(short_mix, use_bg_2dft="yes")
    sep = FT2D(short_mix, neighborhood_size=[3, 15], quadrants_to_keep=[2, 0])
    assert sep.neighborhood_size == (3, 15) and sep.quadrants_to_keep == (0, 2)


# ---------------------------------------------------------------- nussl parity


@pytest.mark.parametrize("name", ["ft2d", "ft2d_original"])
def test_parity_with_nussl(name):
    f = _fixture(name)
    mix = sepkit.AudioSignal(f["mix"].astype(np.float64), int(f["sample_rate"]))
    sep = FT2D(mix, symmetry="lr", **json.loads(str(f["params"])))  # nussl's actual symmetrisation
    masks = np.stack([m.mask for m in sep.run()], axis=-1).astype(np.float64)
    np.testing.assert_allclose(masks, f["masks"].astype(np.float64), rtol=0, atol=1e-6)


# ---------------------------------------------------------------- quality


@pytest.mark.filterwarnings("ignore:estimates 0 and 1 are identical")
def test_quality_on_the_loop_example(loop_sdr):
    sdr, baseline = loop_sdr(FT2D)
    # measured (symmetry='lrud') 5.865 / 2.505 dB; nussl 1.1.9 on the same mixture: 5.865 / 2.505 dB
    # (symmetry='point': 5.77 / 2.41 dB; MixAsEstimate: 3.36 / -3.36 dB)
    assert sdr[0] >= 5.86 and sdr[1] >= 2.50
    assert np.all(sdr > baseline + 2)


def test_fused_row_kernel_equals_two_step_filters():
    from sepkit.kernels.ft2d import local_filters, local_std_peaks, row_local_std_peaks

    rng = np.random.default_rng(3)
    for shape, n in [((7, 40), 25), ((4, 3), 25), ((6, 50), 1), ((6, 50), 4)]:
        D = rng.random(shape)
        D[:, 2:6] = 0.3  # a flat run: ties at the local maximum
        mx, mu, sq, two_step = (np.empty_like(D) for _ in range(4))
        local_filters(D, 1, n, mx, mu, sq)
        top = local_std_peaks(D, mx, mu, sq, 1e-7, two_step)
        fused = np.empty_like(D)
        assert row_local_std_peaks(D, n, 1e-7, fused) == top
        np.testing.assert_array_equal(fused, two_step)


@pytest.mark.parametrize("symmetry", ["lr", "lrud", "point"])
@pytest.mark.parametrize("approach", ["local_std", "original"])
def test_real_transform_path_equals_complex_path(short_mix, symmetry, approach):
    # odd sizes: the peak map is point-symmetric, the model comes from rfft2/irfft2
    magnitude = np.abs(np.random.default_rng(4).standard_normal((65, 47))) ** 2
    sep = FT2D(short_mix, neighborhood_size=(1, 5), symmetry=symmetry, filter_approach=approach)
    assert sep._hermitian(magnitude.shape)
    fast = sep.channel_mask(magnitude)
    sep._hermitian = lambda shape: False  # fft2/ifft2 on the full grid, as nussl
    np.testing.assert_allclose(fast, sep.channel_mask(magnitude), rtol=0, atol=1e-9)
    assert FT2D(short_mix, symmetry=symmetry)._hermitian((65, 48)) == (symmetry == "point")
    assert not FT2D(short_mix, quadrants_to_keep=(0, 1))._hermitian((65, 47))


def test_hermitian_modulus_is_the_full_modulus():
    from sepkit.separation.primitive.ft2d import hermitian_modulus

    x = np.random.default_rng(5).random((9, 12))
    for cols in (12, 11):
        y = x[:, :cols]
        np.testing.assert_allclose(hermitian_modulus(np.fft.rfft2(y), cols), np.abs(np.fft.fft2(y)), atol=1e-12)
