"""sepkit.filtering against norbert 0.2.1: every function, random and real inputs, inputs unchanged.

Agreement is asserted at 1e-10 relative to the largest modulus of norbert's output.
Where norbert 0.2.1 is wrong (../shared/notes/wiener.md, §2-§8), the test asserts the
correct value, computed here with numpy from the formula norbert documents, and says why.
All inputs are seeded or bundled; nothing reads ../shared. Arrays stay small (numba
compilation is the main cost).
"""

import doctest

import numpy as np
import pytest

import sepkit
import sepkit.filtering as filtering
from sepkit import SeparationError

norbert = pytest.importorskip("norbert")

RTOL = 1e-10
EPS = np.finfo(np.float64).eps


# -- helpers -----------------------------------------------------------------------------------
def assert_close(ours, ref, rtol=RTOL):
    """Equal to ``rtol`` relative to the largest modulus of ``ref``."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape
    scale = np.abs(ref).max()
    assert np.abs(ours - ref).max() <= rtol * scale, np.abs(ours - ref).max() / scale


def logistic(value, thresh, slope):
    return 1.0 / (1.0 + np.exp(-slope * (value - thresh)))


class Unchanged:
    """Copies of the inputs, to check afterwards that nothing changed them."""

    def __init__(self, *arrays):
        self.arrays = arrays
        self.copies = [a.copy() for a in arrays]

    def check(self):
        for array, copy in zip(self.arrays, self.copies):
            np.testing.assert_array_equal(array, copy)


def random_case(seed, n_channels=2, n_sources=3, scale=1.0, mono_models=False, n_frames=40, n_bins=17):
    """Frames-first ``(v, x)``: gamma-distributed models and a complex Gaussian mixture."""
    rng = np.random.default_rng(seed)
    x = scale * (rng.standard_normal((n_frames, n_bins, n_channels))
                 + 1j * rng.standard_normal((n_frames, n_bins, n_channels)))
    v = rng.gamma(0.5, 1.0, (n_frames, n_bins, 1 if mono_models else n_channels, n_sources)) * scale
    return v, x


@pytest.fixture(scope="module")
def real():
    """1.5 s of the bundled example (stereo, 4 stems), frames first: ``(v, x, y_true)``.

    ``v`` the stems' power spectrograms, ``x`` the mixture STFT, ``y_true`` the stems'
    STFTs (n_frames, n_bins, n_channels, n_sources), from sepkit's own STFT (1025 bins).
    """
    mix, sources = sepkit.datasets.load_example(stereo=True)
    n = int(1.5 * mix.sample_rate)
    x = np.array(np.swapaxes(mix.truncate(n).stft(), 0, 1))
    y_true = np.stack([np.swapaxes(s.truncate(n).stft(), 0, 1) for s in sources.values()], axis=-1)
    return np.abs(y_true) ** 2, x, np.array(y_true)


def norbert_wiener(v, x, **kw):
    """norbert.wiener on copies (it divides x in place)."""
    return norbert.wiener(v.copy(), x.copy(), **kw)


# -- wiener ------------------------------------------------------------------------------------
@pytest.mark.parametrize("iterations", [0, 1, 2])
@pytest.mark.parametrize("scale", [0.5, 30.0], ids=["max|x|<10", "max|x|>10"])
@pytest.mark.parametrize("n_channels, mono_models", [(1, False), (2, False), (2, True)])
def test_wiener_matches_norbert_random(iterations, scale, n_channels, mono_models):
    v, x = random_case(1, n_channels, scale=scale, mono_models=mono_models)
    if scale > 1:
        assert np.abs(x).max() > 10  # norbert's rescaling path (and its in-place division)
    kept = Unchanged(v, x)
    for use_softmask in (True, False):
        ours = filtering.wiener(v, x, iterations, use_softmask=use_softmask)
        assert ours.dtype == np.complex128
        assert_close(ours, norbert_wiener(v, x, iterations=iterations, use_softmask=use_softmask))
    assert_close(filtering.wiener(v, x, iterations, eps=1e-3),
                 norbert_wiener(v, x, iterations=iterations, eps=1e-3))
    kept.check()


@pytest.mark.parametrize("iterations", [1, 2])
def test_wiener_three_channels_matches_norbert_pinv(iterations):
    """C > 2: sepkit inverts the loaded covariance by Gauss-Jordan, norbert by pinv(Cxx, eps)."""
    v, x = random_case(2, n_channels=3, scale=5.0)
    assert_close(filtering.wiener(v, x, iterations), norbert_wiener(v, x, iterations=iterations))


@pytest.mark.parametrize("iterations", [0, 1, 2])
def test_wiener_matches_norbert_real(real, iterations):
    v, x, _ = real
    kept = Unchanged(v, x)
    assert_close(filtering.wiener(v, x, iterations), norbert_wiener(v, x, iterations=iterations))
    magnitudes = np.sqrt(v)
    assert_close(filtering.wiener(magnitudes, x, iterations, use_softmask=False),
                 norbert_wiener(magnitudes, x, iterations=iterations, use_softmask=False))
    kept.check()


def test_wiener_never_changes_x_norbert_does():
    """norbert divides the caller's x by max|x| / 10 in place (notes §3); sepkit does not."""
    v, x = random_case(3, scale=30.0)
    kept = Unchanged(v, x)
    ours = filtering.wiener(v, x, iterations=1)
    kept.check()
    theirs_x = x.copy()
    theirs = norbert.wiener(v, theirs_x, iterations=1)
    np.testing.assert_allclose(theirs_x, x / (np.abs(x).max() / 10), rtol=1e-15)
    assert_close(ours, theirs)


def test_wiener_sums_to_the_mixture_and_keeps_complex64():
    v, x = random_case(4, scale=2.0)
    y = filtering.wiener(v, x, iterations=0)
    assert_close(y.sum(axis=-1), x, 1e-12)  # masks sum to total / (eps + total)
    y = filtering.wiener(v, x, iterations=2)
    assert_close(y.sum(axis=-1), x, 1e-5)  # up to the sqrt(eps) loading of the EM
    # single precision in, single precision out (computed in double, with float32's eps)
    y32 = filtering.wiener(v.astype(np.float32), x.astype(np.complex64), iterations=1)
    assert y32.dtype == np.complex64
    eps32 = float(np.finfo(np.float32).eps)
    assert_close(y32, filtering.wiener(v.astype(np.float32), x.astype(np.complex64).astype(complex), 1, eps=eps32),
                 1e-6)


def test_wiener_compression_is_compress_filter_on_the_last_filter():
    """``logit`` (a sepkit extension) compresses the gain of the last EM filter: the same as
    norbert's building blocks followed by :func:`compress_filter` (which fails in norbert)."""
    v, x = random_case(5, scale=3.0)
    ours = filtering.wiener(v, x, 1, logit=0.4, slope=8.0)
    max_abs = max(1.0, np.abs(x).max() / 10)
    xs = x / max_abs
    y0 = filtering.softmask(v, xs)
    stats = [norbert.get_local_gaussian_model(y0[..., j], EPS) for j in range(3)]
    psd = np.stack([s[0] for s in stats], -1)
    cov = np.stack([s[1][0] for s in stats], -1)
    inv = norbert._invert(norbert.get_mix_model(psd, cov) + np.sqrt(EPS) * np.eye(2), EPS)
    gains = [filtering.compress_filter(norbert.wiener_gain(psd[..., j], cov[..., j], inv), 0.4, 8.0)
             for j in range(3)]
    ref = np.stack([norbert.apply_filter(xs, w) for w in gains], -1) * max_abs
    assert_close(ours, ref)
    # with iterations=0 it compresses the soft mask itself
    assert_close(filtering.wiener(v, x, 0, logit=0.4, slope=8.0), filtering.softmask(v, x, logit=0.4, slope=8.0))


def test_wiener_filter_is_wiener_on_stft_views(example):
    """The separator WienerFilter is :func:`filtering.wiener` on frames-first views of its STFTs."""
    from sepkit.separation import WienerFilter

    mix, stems = example
    n = mix.sample_rate
    mix, stems = mix.truncate(n), [s.truncate(n) for s in stems.values()]
    v = np.swapaxes(np.stack([np.abs(s.stft()) for s in stems], axis=-1), 0, 1)
    y = filtering.wiener(v, np.swapaxes(mix.stft(), 0, 1), 1)
    # |S_j| comes from WienerFilter's stacking kernel there: equal to rounding
    assert_close(WienerFilter(mix, stems, iterations=1, alpha=1).run(), np.swapaxes(y, 0, 1), 1e-12)


# -- softmask ----------------------------------------------------------------------------------
@pytest.mark.parametrize("n_channels, mono_models", [(1, False), (2, False), (2, True)])
def test_softmask_matches_norbert_random(n_channels, mono_models):
    v, x = random_case(6, n_channels, mono_models=mono_models)
    kept = Unchanged(v, x)
    assert_close(filtering.softmask(v, x), norbert.softmask(v, x))
    assert_close(filtering.softmask(v, x, eps=0.5), norbert.softmask(v, x, eps=0.5))
    kept.check()


def test_softmask_matches_norbert_real(real):
    v, x, _ = real
    kept = Unchanged(v, x)
    assert_close(filtering.softmask(v, x), norbert.softmask(v, x))
    kept.check()


def test_softmask_logit_compresses_each_mask():
    """norbert 0.2.1's ``softmask(logit=...)`` raises TypeError (it calls compress_filter with
    an outdated signature, notes §2); sepkit applies the documented logistic to each mask."""
    v, x = random_case(7)
    with pytest.raises(TypeError):
        norbert.softmask(v, x, logit=0.5)
    mask = v / (EPS + v.sum(axis=-1, keepdims=True))
    assert_close(filtering.softmask(v, x, logit=0.5), logistic(mask, 0.5, 15.0) * x[..., None])
    compressed = filtering.compress_filter(mask[..., None], 0.5)[..., 0]  # single-channel masks: (..., 1)
    assert_close(filtering.softmask(v, x, logit=0.5), compressed * x[..., None])
    # renormalize (a sepkit extension): compressed masks keep their total, the sum stays x
    assert_close(filtering.softmask(v, x, logit=0.5, renormalize=True).sum(-1), x, 1e-12)


# -- expectation_maximization ------------------------------------------------------------------
@pytest.mark.parametrize("iterations", [0, 1, 3])
@pytest.mark.parametrize("n_channels", [1, 2, 3])
def test_em_matches_norbert_random(iterations, n_channels):
    v, x = random_case(8, n_channels, scale=0.8)
    y0 = norbert.softmask(v, x)
    kept = Unchanged(y0, x)
    y, psd, cov = filtering.expectation_maximization(y0, x, iterations)
    kept.check()  # norbert overwrites its y argument
    ry, rpsd, rcov = norbert.expectation_maximization(y0.copy(), x.copy(), iterations)
    assert_close(y, ry)
    if iterations:
        assert_close(psd, rpsd)
        assert_close(cov, rcov)
    else:  # as norbert: zero statistics
        assert not psd.any() and not cov.any()
        assert psd.shape == rpsd.shape and cov.shape == rcov.shape


def test_em_matches_norbert_real(real):
    v, x, _ = real
    y0 = filtering.softmask(v, x)
    kept = Unchanged(y0, x)
    ours = filtering.expectation_maximization(y0, x, iterations=2)
    kept.check()
    theirs = norbert.expectation_maximization(y0.copy(), x.copy(), iterations=2)
    for a, b in zip(ours, theirs):
        assert_close(a, b)


def test_em_does_not_overwrite_y_norbert_does():
    v, x = random_case(9)
    y0 = norbert.softmask(v, x)
    theirs = y0.copy()
    norbert.expectation_maximization(theirs, x.copy(), 1)
    assert not np.array_equal(theirs, y0)
    before = y0.copy()
    filtering.expectation_maximization(y0, x, 1)
    np.testing.assert_array_equal(y0, before)


# -- building blocks ---------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["random", "real"])
def test_building_blocks_match_norbert(real, source):
    if source == "real":
        _, x, y = real
    else:
        v, x = random_case(10, scale=2.0)
        y = norbert.softmask(v, x)
    kept = Unchanged(x, y)
    n_sources = y.shape[-1]
    for eps in (1.0, EPS):
        psd_j, cov_j = filtering.get_local_gaussian_model(y[..., 0], eps)
        ref_psd, ref_cov = norbert.get_local_gaussian_model(y[..., 0].copy(), eps)
        assert_close(psd_j, ref_psd)
        # norbert returns R_j with an extra leading axis of length 1 (its docstring says (F, C, C))
        assert_close(cov_j, ref_cov[0])
    assert_close(filtering.get_local_gaussian_model(y[..., 1])[1], norbert.get_local_gaussian_model(y[..., 1])[1][0])
    stats = [norbert.get_local_gaussian_model(y[..., j], EPS) for j in range(n_sources)]
    psd = np.stack([s[0] for s in stats], -1)
    cov = np.stack([s[1][0] for s in stats], -1)
    cxx = filtering.get_mix_model(psd, cov)
    assert_close(cxx, norbert.get_mix_model(psd, cov))
    inv = norbert._invert(cxx + np.sqrt(EPS) * np.eye(x.shape[2]), EPS)
    for j in range(n_sources):
        gain = filtering.wiener_gain(psd[..., j], cov[..., j], inv)
        ref = norbert.wiener_gain(psd[..., j], cov[..., j], inv)
        assert_close(gain, ref)
        assert_close(filtering.apply_filter(x, gain), norbert.apply_filter(x, ref))
    kept.check()


# -- residual_model ----------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [1, 2])
@pytest.mark.parametrize("mono_models", [False, True])
def test_residual_model_against_norbert(alpha, mono_models):
    """The scaled sources equal norbert's. norbert 0.2.1 computes the residual from the
    *unscaled* total (notes §5), inconsistent with the sources it returns; sepkit takes it
    from the scaled total, and with ``autoscale=False`` (no gain) equals norbert's residual."""
    v, x = random_case(11, scale=3.0, mono_models=mono_models)
    kept = Unchanged(v, x)
    ours = filtering.residual_model(v, x, alpha)
    theirs = norbert.residual_model(v.copy(), x.copy(), alpha)
    assert ours.shape == theirs.shape == x.shape + (4,)
    assert_close(ours[..., :3], theirs[..., :3])
    vx = np.maximum(EPS, np.abs(x) ** alpha)
    np.testing.assert_allclose(ours[..., 3], np.maximum(0.0, vx - ours[..., :3].sum(-1)), rtol=1e-12, atol=1e-12)
    assert not np.allclose(ours[..., 3], theirs[..., 3])  # norbert's is from the unscaled total
    plain = filtering.residual_model(v, x, alpha, autoscale=False)
    assert_close(plain[..., 3], theirs[..., 3])
    assert_close(plain[..., :3], np.broadcast_to(v, plain[..., :3].shape))
    kept.check()


def test_residual_model_real(real):
    v, x, _ = real
    three = v[..., :3]
    ours = filtering.residual_model(three, x, alpha=2)
    assert_close(ours[..., :3], norbert.residual_model(three.copy(), x.copy(), alpha=2)[..., :3])
    # the residual takes the missing fourth stem: most of its energy, little of the others
    assert np.corrcoef(ours[..., 3].ravel(), v[..., 3].ravel())[0, 1] > 0.5


# -- smooth and reduce_interferences ------------------------------------------------------------
def test_smooth_against_norbert():
    """``temporal=True`` and 2-D input: norbert's values. On (frames, bins, channels, sources)
    norbert 0.2.1 also blurs across channels and sources (notes §6); sepkit blurs each
    channel and source on its own, so it equals norbert's smooth of each 2-D slice."""
    rng = np.random.default_rng(12)
    v = rng.random((30, 20, 2, 3))
    kept = Unchanged(v)
    assert_close(filtering.smooth(v, 2.0, temporal=True), norbert.smooth(v, 2.0, temporal=True))
    assert_close(filtering.smooth(v[:, :, 0, 0], 2.0), norbert.smooth(v[:, :, 0, 0], 2.0))
    ours = filtering.smooth(v, 2.0)
    slices = np.stack([np.stack([norbert.smooth(v[:, :, c, j], 2.0) for j in range(3)], -1) for c in range(2)], 2)
    assert_close(ours, slices)
    assert not np.allclose(ours, norbert.smooth(v, 2.0))  # norbert mixes the sources
    kept.check()


@pytest.mark.parametrize("source", ["random", "real"])
def test_reduce_interferences_as_documented(real, source):
    """norbert 0.2.1 ignores ``thresh`` and ``slope`` (uses 0.4 and 15) and its blur runs
    across the source axis, so every smoothed share is 1/J and v is only multiplied by a
    constant (notes §7). sepkit applies the documented formula with a blur per source."""
    if source == "real":
        v = real[0][:60, :200]
    else:
        v = np.random.default_rng(13).random((40, 30, 2, 3))
    kept = Unchanged(v)
    ours = filtering.reduce_interferences(v, thresh=0.5, slope=10)
    n_channels, n_sources = v.shape[2:]
    blurred = np.stack(
        [np.stack([norbert.smooth(v[:, :, c, j], 10) for j in range(n_sources)], -1) for c in range(n_channels)], 2
    )
    share = blurred / (EPS + blurred.sum(-1, keepdims=True))
    assert_close(ours, v * logistic(share, 0.5, 10.0))
    theirs = norbert.reduce_interferences(v.copy(), thresh=0.5, slope=10)
    ratio = theirs[v > 0] / v[v > 0]
    # norbert: one factor, 1 / (1 + exp(-15 (1/J - 0.4))), for every value (up to its float32 eps)
    np.testing.assert_allclose(ratio, logistic(1 / n_sources, 0.4, 15.0), rtol=1e-5)
    assert not np.allclose(ours, theirs)
    kept.check()


# -- compress_filter ---------------------------------------------------------------------------
def test_compress_filter_as_documented():
    """norbert 0.2.1 raises ValueError at once (``np.finfo`` of an array, notes §8). sepkit:
    a logistic of each single-channel mask; for C x C filters, only the scalar gain
    g = Re tr(W) / C is compressed, W <- W logistic(g) / (eps + g)."""
    rng = np.random.default_rng(14)
    W = rng.standard_normal((6, 5, 2, 2)) + 1j * rng.standard_normal((6, 5, 2, 2))
    W += 2 * np.eye(2)  # mostly positive gains
    kept = Unchanged(W)
    with pytest.raises(ValueError):
        norbert.compress_filter(W.copy(), 0.6, 15)
    gain = np.trace(W, axis1=-2, axis2=-1).real / 2
    factor = np.where(gain > 0, logistic(gain, 0.6, 15.0) / (EPS + np.where(gain > 0, gain, 1)), 0.0)
    assert_close(filtering.compress_filter(W), W * factor[..., None, None])
    masks = rng.random((6, 5, 1))
    assert_close(filtering.compress_filter(masks, 0.3, 5.0), logistic(masks, 0.3, 5.0))
    W32 = W.astype(np.complex64)
    assert filtering.compress_filter(W32).dtype == np.complex64
    kept.check()


# -- errors and docstrings ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda v, x: filtering.wiener(v[:-1], x), r"v has shape \(39,"),
        (lambda v, x: filtering.wiener(v, x[..., 0]), "3-D"),
        (lambda v, x: filtering.wiener(-v, x), "nonnegative"),
        (lambda v, x: filtering.wiener(np.where(v > 1, np.nan, v), x), "NaN"),
        (lambda v, x: filtering.wiener(v, x, iterations=-1), "iterations must be an integer >= 0, got -1"),
        (lambda v, x: filtering.wiener(v, x, iterations=1.5), "iterations"),
        (lambda v, x: filtering.wiener(v, x, eps=-1.0), "eps"),
        (lambda v, x: filtering.wiener(v, x, use_softmask="yes"), "use_softmask"),
        (lambda v, x: filtering.wiener(v, x, 0, use_softmask=False, logit=0.5), "logit"),
        (lambda v, x: filtering.softmask(v, x, logit=1.0), "logit"),
        (lambda v, x: filtering.softmask(v + 0j, x), "real"),
        (lambda v, x: filtering.expectation_maximization(v, x[:, :, :1]), "y has shape"),
        (lambda v, x: filtering.residual_model(v, x, alpha=0), "alpha"),
        (lambda v, x: filtering.reduce_interferences(v, thresh=0.0), "thresh"),
        (lambda v, x: filtering.smooth(v, width=0), "width"),
        (lambda v, x: filtering.compress_filter(np.ones((3, 2, 3)) + 0j), "square"),
        (lambda v, x: filtering.apply_filter(x, np.ones((40, 17, 3, 3))), "W has shape"),
        (lambda v, x: filtering.get_mix_model(v[..., 0, :], np.ones((17, 2, 2, 2))), "R has shape"),
        (lambda v, x: filtering.wiener_gain(v[..., 0, 0], np.ones((16, 2, 2)), np.ones((40, 17, 2, 2))),
         "do not match"),
    ],
)
def test_bad_arguments(call, match):
    v, x = random_case(15)
    with pytest.raises(SeparationError, match=match):
        call(v, x)


def test_singular_covariance_with_eps_zero_raises():
    """One source at a fixed place has a rank-1 covariance: singular without the loading."""
    rng = np.random.default_rng(16)
    s = rng.standard_normal((20, 9)) + 1j * rng.standard_normal((20, 9))
    x = np.stack([s, 2 * s], axis=-1)
    v = np.abs(x)[..., None] ** 2
    with pytest.raises(SeparationError, match="singular"):
        filtering.wiener(v, x, 1, eps=0)
    with pytest.raises(SeparationError, match="singular"):
        filtering.expectation_maximization(x[..., None], x, 1, eps=0)
    assert np.all(np.isfinite(filtering.wiener(v, x, 1)))


def test_docstring_examples_run():
    result = doctest.testmod(filtering, extraglobs={"np": np}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 20 and result.failed == 0
