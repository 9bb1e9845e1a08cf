"""WienerFilter: agreement with norbert, no mutation, mixture consistency, quality, options, errors.

norbert 0.2.1 is the oracle (frames-first layout: transpose the first two axes). All
inputs are seeded or bundled; nothing reads ../shared. Agreement with norbert is asserted
at 1e-6 relative (to the largest modulus); measured: 1.6e-15 on random mono/stereo
inputs, 1e-14 for three channels, 7e-13 on the stereo excerpt of the example.
"""

import numpy as np
import pytest

import sepkit
from sepkit import AudioSignal, SeparationError, STFTParams
from sepkit.kernels import wiener as kernels
from sepkit.separation import IdealMask, WienerFilter
from sepkit.separation.benchmark.wiener_filter import reduce_interferences, residual_model

norbert = pytest.importorskip("norbert")

EPS = np.finfo(np.float64).eps
SMALL = STFTParams(64, 16, "sqrt_hann")  # 33 bins: random cases stay tiny


# -- helpers --------------------------------------------------------------------------------
def frames_first(a):
    return np.array(np.swapaxes(a, 0, 1), order="C")  # always a writeable copy


def norbert_wiener(v, x, iterations, use_softmask=True):
    """norbert.wiener on sepkit-layout arrays (copies, since norbert divides x in place)."""
    y = norbert.wiener(frames_first(v), frames_first(x), iterations=iterations, use_softmask=use_softmask)
    return np.swapaxes(y, 0, 1)


def assert_close(ours, ref, rtol):
    """Equal to ``rtol`` relative to the largest modulus of ``ref``."""
    scale = np.abs(ref).max()
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * scale)


def logistic(value, thresh, slope):
    return 1.0 / (1.0 + np.exp(-slope * (value - thresh)))


def reference_wiener(v, x, iterations, eps=EPS, compress=None, slope=15.0, renormalize=False):
    """numpy reference built from norbert's pieces, plus compression as notes/wiener.md §8 says."""
    v, x = frames_first(v), frames_first(x)
    n_frames, n_freq, n_channels = x.shape
    mask = v / (eps + v.sum(axis=-1, keepdims=True))
    if iterations == 0:
        if compress is not None:
            total = mask.sum(axis=-1, keepdims=True)
            mask = logistic(mask, compress, slope)
            if renormalize:
                mask = mask * total / (eps + mask.sum(axis=-1, keepdims=True))
        return np.swapaxes(mask * x[..., None], 0, 1)
    max_abs = max(1.0, np.abs(x).max() / 10.0)
    x = x / max_abs
    y = mask * x[..., None]
    n_sources = y.shape[-1]
    for it in range(iterations):
        stats = [norbert.get_local_gaussian_model(y[..., j], eps) for j in range(n_sources)]
        psd = np.stack([s[0] for s in stats], axis=-1)
        cov = np.stack([s[1][0] for s in stats], axis=-1)  # norbert returns R_j as (1, F, C, C)
        cxx = norbert.get_mix_model(psd, cov) + np.sqrt(eps) * np.eye(n_channels)
        inv = norbert._invert(cxx, eps) if n_channels < 3 else np.linalg.inv(cxx)
        gains = [norbert.wiener_gain(psd[..., j], cov[..., j], inv) for j in range(n_sources)]
        if compress is not None and it == iterations - 1:
            g = np.stack([np.trace(w, axis1=-2, axis2=-1).real / n_channels for w in gains], axis=-1)
            h = logistic(g, compress, slope)
            if renormalize:
                h = h * g.sum(axis=-1, keepdims=True) / (eps + h.sum(axis=-1, keepdims=True))
            factor = np.where(g > 0, h / (eps + g), 0.0)
            gains = [w * factor[..., j, None, None] for j, w in enumerate(gains)]
        y = np.stack([norbert.apply_filter(x, w) for w in gains], axis=-1)
    return np.swapaxes(y * max_abs, 0, 1)


def noise_mix(rng, n_channels, std, seconds=0.1, sample_rate=8000):
    audio = std * rng.standard_normal((n_channels, int(seconds * sample_rate)))
    return AudioSignal(audio, sample_rate, stft_params=SMALL, label="mix")


def random_models(rng, mix, n_sources, mono_models=False):
    n_freq, n_frames, n_channels = mix.stft().shape
    shape = (n_freq, n_frames, 1 if mono_models else n_channels, n_sources)
    return rng.gamma(0.5, 1.0, size=shape) * np.abs(mix.stft()).mean()


def si_sdr(reference, estimate):
    """Scale-invariant SDR in dB of one source (all channels flattened)."""
    reference = reference.ravel()
    estimate = estimate.ravel()
    target = (estimate @ reference) / (reference @ reference) * reference
    error = estimate - target
    return 10 * np.log10((target @ target) / (error @ error))


def mean_si_sdr(references, estimates):
    return float(np.mean([si_sdr(r.audio_data, e.audio_data) for r, e in zip(references, estimates)]))


def excerpt(example, seconds=2.5, stereo=False):
    """The bundled example's first seconds; stereo: each stem panned to its own place."""
    mix, sources = example
    n = int(seconds * mix.sample_rate)
    stems = {name: sig.truncate(n) for name, sig in sources.items()}
    if stereo:
        pans = np.linspace(0.15, 0.85, len(stems)) * np.pi / 2
        stems = {
            name: AudioSignal(np.vstack([np.cos(p) * s.audio_data[0], np.sin(p) * s.audio_data[0]]),
                              s.sample_rate, label=name)
            for p, (name, s) in zip(pans, stems.items())
        }
    return sum(stems.values()).with_label("mix"), stems


# -- agreement with norbert -----------------------------------------------------------------
@pytest.mark.parametrize("iterations", [0, 1, 2, 3])
@pytest.mark.parametrize("std", [0.2, 15.0], ids=["max|x|<10", "max|x|~400"])
@pytest.mark.parametrize("n_channels, mono_models", [(1, False), (2, False), (2, True)])
def test_matches_norbert_random(rng, iterations, std, n_channels, mono_models):
    mix = noise_mix(rng, n_channels, std)
    x = mix.stft()
    assert (np.abs(x).max() < 10) == (std < 1)
    if std > 1:
        assert 200 < np.abs(x).max() < 800  # the rescaling path of the EM is exercised
    mags = random_models(rng, mix, 3, mono_models)
    ours = WienerFilter(mix, mags, iterations=iterations, alpha=2).run()
    assert ours.shape == x.shape + (3,) and ours.dtype == np.complex128
    assert_close(ours, norbert_wiener(mags**2, x, iterations), 1e-6)
    # alpha=1 (magnitude ratio start), also norbert's convention with v = |S|
    ours = WienerFilter(mix, mags, iterations=iterations, alpha=1).run()
    assert_close(ours, norbert_wiener(mags, x, iterations), 1e-6)


@pytest.mark.parametrize("iterations", [0, 1, 3])
def test_matches_norbert_magnitude_init(rng, iterations):
    mix = noise_mix(rng, 2, 15.0)
    mags = random_models(rng, mix, 2)
    ours = WienerFilter(mix, mags, iterations=iterations, softmask_init=False, alpha=2).run()
    assert_close(ours, norbert_wiener(mags, mix.stft(), iterations, use_softmask=False), 1e-6)


@pytest.mark.parametrize("iterations", [1, 3])
def test_three_channels_against_norbert_pinv(rng, iterations):
    """C > 2: sepkit inverts with Gauss-Jordan, norbert uses pinv(Cxx, eps).

    Measured agreement 1e-14 relative on these well-conditioned inputs; asserted at 1e-9.
    """
    mix = noise_mix(rng, 3, 15.0)
    mags = random_models(rng, mix, 3)
    ours = WienerFilter(mix, mags, iterations=iterations).run()
    assert_close(ours, norbert_wiener(mags**2, mix.stft(), iterations), 1e-9)


@pytest.mark.parametrize("iterations", [0, 1, 2])
@pytest.mark.parametrize("stereo", [False, True], ids=["mono", "stereo"])
def test_matches_norbert_on_real_audio(example, iterations, stereo):
    mix, stems = excerpt(example, 2.5, stereo)
    ours = WienerFilter(mix, stems, iterations=iterations).run()
    v = np.stack([np.abs(s.stft()) ** 2 for s in stems.values()], axis=-1)
    assert_close(ours, norbert_wiener(v, mix.stft(), iterations), 1e-6)


@pytest.mark.parametrize("n_channels", [1, 2, 3])
@pytest.mark.parametrize("iterations", [0, 1, 2])
@pytest.mark.parametrize("renormalize", [False, True])
def test_compression_matches_reference(rng, n_channels, iterations, renormalize):
    mix = noise_mix(rng, n_channels, 15.0)
    mags = random_models(rng, mix, 3)
    ours = WienerFilter(mix, mags, iterations=iterations, compress=0.4, slope=8.0, renormalize=renormalize).run()
    ref = reference_wiener(mags**2, mix.stft(), iterations, compress=0.4, slope=8.0, renormalize=renormalize)
    assert_close(ours, ref, 1e-9)


def test_kernels_match_norbert_pieces(rng):
    x = rng.standard_normal((9, 20, 2)) + 1j * rng.standard_normal((9, 20, 2))
    v = rng.random((9, 20, 2, 3))
    y = np.empty(x.shape + (3,), dtype=np.complex128)
    kernels.softmask(v, np.asfortranarray(x), EPS, -1.0, 15.0, False, y, 0, x.shape[0])
    assert_close(y, np.swapaxes(norbert.softmask(frames_first(v), frames_first(x)), 0, 1), 1e-12)
    kernels.magnitude_phase(v, x, y)
    assert_close(y, v * np.exp(1j * np.angle(x))[..., None], 1e-12)
    start = y.copy()
    n_bad = kernels.em_refine(y, x, 2, EPS, -1.0, 15.0, False)
    assert n_bad.sum() == 0
    ref = norbert.expectation_maximization(frames_first(start), frames_first(x), iterations=2)[0]
    assert_close(y, np.swapaxes(ref, 0, 1), 1e-12)
    assert kernels.max_abs(x.ravel()) == pytest.approx(np.abs(x).max(), rel=1e-15)
    stacked = np.empty((9, 20, 2, 2))
    for power in (1.0, 2.0, 1.5):
        kernels.stack_models((np.asfortranarray(x), np.asfortranarray(2 * x)), power, stacked)
        np.testing.assert_allclose(stacked, np.abs(np.stack([x, 2 * x], axis=-1)) ** power, rtol=1e-13)


def test_magnitude_init_from_signals_matches_norbert(example):
    mix, stems = excerpt(example, 1.0, stereo=True)
    ours = WienerFilter(mix, stems, iterations=1, softmask_init=False).run()
    mags = np.stack([np.abs(s.stft()) for s in stems.values()], axis=-1)
    assert_close(ours, norbert_wiener(mags, mix.stft(), 1, use_softmask=False), 1e-6)
    # alpha only shapes the models, not the magnitudes of this start
    np.testing.assert_array_equal(WienerFilter(mix, stems, iterations=0, softmask_init=False, alpha=1).run(),
                                  WienerFilter(mix, stems, iterations=0, softmask_init=False, alpha=2).run())


# -- inputs are never changed -----------------------------------------------------------------
def test_never_mutates_inputs(rng):
    mix = noise_mix(rng, 2, 15.0)
    x = mix.stft()
    assert np.abs(x).max() > 10 and not x.flags.writeable
    x_before, audio_before = x.copy(), mix.audio_data.copy()
    mags = random_models(rng, mix, 2)
    mags_before = mags.copy()
    WienerFilter(mix, mags, iterations=2, residual=True, reduce_interferences=0.5, compress=0.5).run()
    WienerFilter(mix, list(np.moveaxis(mags, -1, 0)), iterations=1).run()
    np.testing.assert_array_equal(mags, mags_before)
    np.testing.assert_array_equal(mix.stft(), x_before)
    assert mix.stft() is x  # the cache itself is still the same array
    np.testing.assert_array_equal(mix.audio_data, audio_before)

    sources = [AudioSignal(0.5 * mix.audio_data, mix.sample_rate), AudioSignal(0.5 * mix.audio_data, mix.sample_rate)]
    sources_before = [s.audio_data.copy() for s in sources]
    sep = WienerFilter(mix, sources, iterations=1)
    first = sep.run().copy()
    sep.make_audio_signals()
    for s, before in zip(sources, sources_before):
        np.testing.assert_array_equal(s.audio_data, before)
    np.testing.assert_array_equal(sep.run(), first)  # and running again gives the same
    np.testing.assert_array_equal(mix.stft(), x_before)


def test_norbert_mutates_the_mixture(rng):
    """Why sepkit does not call norbert: it divides the caller's x in place when max|x| > 10."""
    mix = noise_mix(rng, 2, 15.0)
    x = frames_first(mix.stft())
    before = x.copy()
    max_abs = np.abs(x).max() / 10
    norbert.wiener(frames_first(random_models(rng, mix, 2)), x, iterations=1)
    assert not np.array_equal(x, before)
    np.testing.assert_allclose(x, before / max_abs, rtol=1e-15)


# -- mixture consistency ----------------------------------------------------------------------
def test_softmask_estimates_sum_to_the_mixture(example):
    mix, sources = example
    y = WienerFilter(mix, sources, iterations=0).run()
    x = mix.stft()
    # masks sum to total / (eps + total): exact to rounding (measured 1.5e-14 relative)
    assert np.linalg.norm(y.sum(axis=-1) - x) / np.linalg.norm(x) < 1e-12
    np.testing.assert_allclose(y.sum(axis=-1), x, rtol=1e-10, atol=1e-10 * np.abs(x).max())


def test_em_estimates_sum_to_the_mixture_up_to_the_loading(example):
    mix, sources = example
    x = mix.stft()
    for iterations in (1, 3):
        y = WienerFilter(mix, sources, iterations=iterations).run()
        # the sqrt(eps) loading leaves a deficit in weak bins: measured 8.9e-5 (1 iteration)
        assert np.linalg.norm(y.sum(axis=-1) - x) / np.linalg.norm(x) < 3e-4


# -- quality on the bundled example -----------------------------------------------------------
@pytest.fixture(scope="module")
def example_scores(example):
    mix, sources = example
    refs = list(sources.values())
    ibm = IdealMask(mix, sources, approach="ibm")()
    return {
        "ibm": mean_si_sdr(refs, ibm),
        "wiener(ibm)": mean_si_sdr(refs, WienerFilter(mix, ibm, iterations=1)()),
        "wiener(true)": mean_si_sdr(refs, WienerFilter(mix, sources, iterations=1)()),
    }


def test_wiener_on_ibm_estimates_stays_close_to_the_ibm_in_mono(example_scores):
    """Measured mean SI-SDR on the (mono) example: IBM 6.50 dB, Wiener(IBM, 1 iteration) 5.96 dB.

    In mono the EM gain is a real power ratio of the current estimates (no spatial
    information to use), so one iteration on IBM estimates cannot beat the oracle IBM:
    every variant measured (iterations 0-2, alpha 1 or 2, either initialisation) lands
    0.3-0.6 dB below it, as in nussl's regression data. It stays within 0.8 dB.
    """
    assert example_scores["wiener(ibm)"] > example_scores["ibm"] - 0.8
    assert example_scores["wiener(ibm)"] > 5.5


def test_wiener_on_true_sources_beats_the_ibm(example_scores):
    """Measured: power-Wiener with 1 EM iteration on the true stems 7.28 dB vs IBM 6.50 dB."""
    assert example_scores["wiener(true)"] > example_scores["ibm"] + 0.5


@pytest.fixture(scope="module")
def stereo_scores(example):
    mix, stems = excerpt(example, seconds=10, stereo=True)
    refs = list(stems.values())
    ibm = IdealMask(mix, stems, approach="ibm")()
    return {
        "ibm": mean_si_sdr(refs, ibm),
        "wiener(ibm) 1": mean_si_sdr(refs, WienerFilter(mix, ibm, iterations=1)()),
        "wiener(ibm) 3": mean_si_sdr(refs, WienerFilter(mix, ibm, iterations=3)()),
    }


def test_wiener_on_ibm_estimates_beats_the_ibm_on_a_stereo_mix(stereo_scores):
    """The example's stems panned across the stereo field (10 s).

    Measured mean SI-SDR: IBM 9.26 dB, Wiener(IBM) 10.31 dB after 1 EM iteration and
    11.40 dB after 3: the spatial covariances let the multichannel filter undo
    interference that the binary mask kept.
    """
    assert stereo_scores["wiener(ibm) 1"] > stereo_scores["ibm"] + 0.7
    assert stereo_scores["wiener(ibm) 3"] > stereo_scores["wiener(ibm) 1"] + 0.6


def test_mono_em_is_a_real_gain_on_the_mixture(example):
    """In mono the EM output is a nonnegative real gain times x: the complex output equals
    re-masking the mixture with |Y| / |x| and its phase (why nussl's re-masking only
    loses information from two channels on)."""
    mix, sources = excerpt(example, seconds=1.0)
    sep = WienerFilter(mix, sources, iterations=2)
    stfts = sep.run()
    x = mix.stft()[..., None]
    loud = np.abs(x) > 1e-6 * np.abs(x).max()
    gains = stfts[loud[..., 0]] / x[loud[..., 0]]
    assert np.abs(gains.imag).max() < 1e-9 * np.abs(gains).max()
    assert gains.real.min() >= 0.0


def test_make_audio_signals(example):
    mix, sources = example
    sep = WienerFilter(mix, sources, iterations=1, residual=True)
    with pytest.raises(SeparationError, match="run"):
        sep.make_audio_signals()
    estimates = sep()
    assert [e.label for e in estimates] == list(sources) + ["residual"]
    assert all(e.sample_rate == mix.sample_rate and e.audio_data.shape == mix.audio_data.shape for e in estimates)
    # the complex STFTs themselves are inverted (not magnitudes re-applied to the mixture)
    np.testing.assert_array_equal(estimates[1].audio_data, mix.istft(sep.result_stfts[..., 1]).audio_data)


# -- options ----------------------------------------------------------------------------------
def test_residual_absorbs_a_missing_source(example):
    """Three of four stems as estimates: the residual takes the bassoon.

    Measured (1 iteration): the three estimates' mean SI-SDR goes from 4.39 to 7.56 dB;
    the residual scores 2.7 dB against the bassoon.
    """
    mix, sources = example
    names = list(sources)
    three = {name: sources[name] for name in names[:3]}
    refs = [sources[name] for name in names]
    plain = WienerFilter(mix, three, iterations=1)()
    with_residual = WienerFilter(mix, three, iterations=1, residual=True)()
    assert len(plain) == 3 and len(with_residual) == 4
    assert with_residual[-1].label == "residual"
    assert mean_si_sdr(refs[:3], with_residual[:3]) > mean_si_sdr(refs[:3], plain) + 2.5
    assert si_sdr(refs[3].audio_data, with_residual[3].audio_data) > 2.0


def test_residual_makes_the_sum_closer_to_the_mixture(example):
    """With missing sources and a large eps, masks lose energy; the residual gives it back.

    Measured (iterations=0, eps=0.1): relative sum error 4.1e-2 without, 9.6e-3 with. (After
    EM the deficit comes from the sqrt(eps) loading, which a residual does not remove.)
    """
    mix, sources = example
    three = {name: sources[name] for name in list(sources)[:3]}
    x = mix.stft()

    def sum_error(**kw):
        y = WienerFilter(mix, three, iterations=0, eps=0.1, **kw).run()
        return np.linalg.norm(y.sum(axis=-1) - x) / np.linalg.norm(x)

    assert sum_error(residual=True) < 0.5 * sum_error()


def test_residual_model_formula(rng):
    v = rng.random((6, 30, 1, 2))
    x = (rng.standard_normal((6, 30, 2)) + 1j * rng.standard_normal((6, 30, 2))) * 2
    out = residual_model(v, x, alpha=2)
    assert out.shape == (6, 30, 2, 3)
    vx = np.maximum(EPS, np.abs(x) ** 2)
    total = v.sum(-1)
    gain = (vx * total).sum(axis=1, keepdims=True) / (EPS + (total**2).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(out[..., :2], v * gain[..., None], rtol=1e-12)
    # residual from the *scaled* total (norbert 0.2.1 uses the unscaled one)
    np.testing.assert_allclose(out[..., 2], np.maximum(0, vx - out[..., :2].sum(-1)), rtol=1e-12, atol=1e-12)
    # models that already fit exactly: gain 1, zero residual
    exact = np.stack([np.abs(x) ** 2 * 0.25, np.abs(x) ** 2 * 0.75], axis=-1)
    fitted = residual_model(exact, x, alpha=2)
    np.testing.assert_allclose(fitted[..., :2], exact, rtol=1e-12)
    assert np.abs(fitted[..., 2]).max() < 1e-12 * vx.max()


def test_reduce_interferences_blurs_within_sources_and_channels_only(rng):
    from scipy.ndimage import gaussian_filter

    v = rng.random((40, 50, 2, 3))
    out = reduce_interferences(v, thresh=0.4, slope=10.0, width=3.0)
    # per channel on its own gives the same: no blur across channels
    np.testing.assert_allclose(out[:, :, 1:], reduce_interferences(v[:, :, 1:], 0.4, 10.0, 3.0), rtol=1e-12)
    smooth = np.stack(
        [np.stack([gaussian_filter(v[:, :, c, j], 3.0) for j in range(3)], -1) for c in range(2)], axis=2
    )
    share = smooth / (EPS + smooth.sum(-1, keepdims=True))
    np.testing.assert_allclose(out, v * logistic(share, 0.4, 10.0), rtol=1e-12)
    # one source: share 1 everywhere, a constant factor (norbert's bug makes this true for every J)
    single = reduce_interferences(v[..., :1], 0.4, 10.0, 3.0)
    np.testing.assert_allclose(single, v[..., :1] * logistic(1.0, 0.4, 10.0), rtol=1e-12)


def _mask_spread(y, x):
    """Energy-weighted mean of min(m, 1 - m) over sources: 0 for binary masks."""
    masks = np.clip(np.abs(y) / np.maximum(np.abs(x), 1e-300)[..., None], 0, 1)
    weight = (np.abs(x) ** 2)[..., None]
    return float((np.minimum(masks, 1 - masks) * weight).sum() / (weight.sum() * y.shape[-1]))


def test_reduce_interferences_sparsifies_the_masks(example):
    """Measured spread (iterations=0): 0.060 plain, 0.031 with reduce_interferences=0.5."""
    mix, sources = example
    x = mix.stft()
    plain = _mask_spread(WienerFilter(mix, sources, iterations=0).run(), x)
    reduced = _mask_spread(WienerFilter(mix, sources, iterations=0, reduce_interferences=0.5).run(), x)
    assert reduced < 0.8 * plain


@pytest.mark.parametrize("iterations", [0, 1])
def test_compress_makes_masks_closer_to_binary(example, iterations):
    """Measured spread: 0.060 -> 0.019 (iterations=0), 0.034 -> 0.010 (1 iteration), thresh 0.5."""
    mix, sources = example
    x = mix.stft()
    plain = _mask_spread(WienerFilter(mix, sources, iterations=iterations).run(), x)
    squashed = _mask_spread(WienerFilter(mix, sources, iterations=iterations, compress=0.5).run(), x)
    assert squashed < 0.7 * plain


def test_compress_renormalized_keeps_the_sum(example):
    mix, sources = example
    x = mix.stft()
    y = WienerFilter(mix, sources, iterations=0, compress=0.5, renormalize=True).run()
    np.testing.assert_allclose(y.sum(-1), x, rtol=1e-10, atol=1e-10 * np.abs(x).max())


def test_eps_zero_and_silence_give_no_nan(rng):
    audio = np.zeros((2, 800))
    audio[:, 300:500] = rng.standard_normal((2, 200))
    mix = AudioSignal(audio, 8000, stft_params=SMALL)
    sources = [mix * 0.3, mix * 0.7]
    for iterations in (0, 1, 2):
        y = WienerFilter(mix, sources, iterations=iterations, eps=0).run()
        assert np.all(np.isfinite(y))
        assert np.all(y[:, :5] == 0)  # digital silence stays exactly zero
    silent = AudioSignal(np.zeros((1, 800)), 8000, stft_params=SMALL)
    y = WienerFilter(silent, [silent, silent], iterations=2).run()
    assert np.all(y == 0)


def test_eps_zero_singular_covariance_raises(rng):
    """One source panned to a fixed place has a rank-1 covariance: singular without loading."""
    left = rng.standard_normal(800)
    mix = AudioSignal(np.vstack([left, 2 * left]), 8000, stft_params=SMALL)
    with pytest.raises(SeparationError, match="singular"):
        WienerFilter(mix, [mix], iterations=1, eps=0).run()
    assert np.all(np.isfinite(WienerFilter(mix, [mix], iterations=1).run()))


def test_list_and_dict_of_arrays_and_mono_models(rng):
    mix = noise_mix(rng, 2, 1.0)
    mags = random_models(rng, mix, 2)
    stacked = WienerFilter(mix, mags).run()
    as_list = WienerFilter(mix, [mags[..., 0], mags[..., 1]])
    np.testing.assert_array_equal(as_list.run(), stacked)
    assert as_list.source_labels == ["source_0", "source_1"]
    as_dict = WienerFilter(mix, {"a": mags[..., 0], "b": mags[..., 1]}, residual=True)
    assert as_dict.source_labels == ["a", "b", "residual"]
    assert as_dict.run().shape[-1] == 3
    mono = random_models(rng, mix, 2, mono_models=True)
    from_2d = WienerFilter(mix, [mono[:, :, 0, 0], mono[:, :, 0, 1]]).run()
    np.testing.assert_array_equal(from_2d, WienerFilter(mix, mono).run())


def test_custom_stft_params(example):
    mix, stems = excerpt(example, 1.0)
    params = STFTParams(1024, 256, "hann")
    sep = WienerFilter(mix, stems, iterations=1, stft_params=params)
    y = sep.run()
    assert y.shape == mix.stft(params).shape + (4,)
    v = np.stack([np.abs(s.stft(params)) ** 2 for s in stems.values()], axis=-1)
    assert_close(y, norbert_wiener(v, mix.stft(params), 1), 1e-6)
    assert sep.make_audio_signals()[0].signal_length == mix.signal_length


# -- invalid inputs -----------------------------------------------------------------------------
@pytest.fixture
def small_case(rng):
    mix = noise_mix(rng, 2, 1.0)
    return mix, random_models(rng, mix, 2)


@pytest.mark.parametrize(
    "value, match",
    [(-1.0, "negative"), (np.nan, "NaN"), (np.inf, "infinite")],
)
def test_bad_spectrogram_values(small_case, value, match):
    mix, mags = small_case
    bad = mags.copy()
    bad[3, 4, 1, 0] = value
    with pytest.raises(SeparationError, match=match):
        WienerFilter(mix, bad)
    with pytest.raises(SeparationError, match=match):
        WienerFilter(mix, [mags[..., 0], bad[..., 0]])


def test_bad_spectrogram_shapes(small_case):
    mix, mags = small_case
    for bad in (mags[:-1], mags[:, :-1], np.concatenate([mags, mags[:, :, :1]], axis=2), mags[..., 0]):
        with pytest.raises(SeparationError, match="shape"):
            WienerFilter(mix, bad)
    with pytest.raises(SeparationError, match="complex"):
        WienerFilter(mix, mags * (1 + 1j))
    with pytest.raises(SeparationError, match="shape"):
        WienerFilter(mix, [mags[..., 0], mags[:-1, :, :, 0]])
    with pytest.raises(SeparationError, match="empty"):
        WienerFilter(mix, [])
    with pytest.raises(SeparationError, match="list or dict"):
        WienerFilter(mix, "estimates.wav")
    with pytest.raises(SeparationError, match="do not mix"):
        WienerFilter(mix, [mags[..., 0], mix])


def test_mismatched_signals(rng):
    mix = noise_mix(rng, 2, 1.0)
    audio = mix.audio_data
    cases = [
        (AudioSignal(audio, 16000), "Hz"),
        (AudioSignal(audio[:, :-10], mix.sample_rate), "shape"),
        (AudioSignal(audio[:1], mix.sample_rate), "shape"),
    ]
    for other, match in cases:
        with pytest.raises(SeparationError, match=match):
            WienerFilter(mix, [mix * 0.5, other])
    with pytest.raises(SeparationError, match="AudioSignal"):
        WienerFilter(mix.audio_data, [mix])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=0), "alpha"),
        (dict(alpha=-1), "alpha"),
        (dict(alpha=np.nan), "alpha"),
        (dict(alpha=True), "alpha"),
        (dict(alpha="2"), "alpha"),
        (dict(iterations=-1), "iterations"),
        (dict(iterations=1.5), "iterations"),
        (dict(iterations=True), "iterations"),
        (dict(eps=-1e-9), "eps"),
        (dict(eps=np.inf), "eps"),
        (dict(eps="small"), "eps"),
        (dict(residual=1), "residual"),
        (dict(softmask_init=None), "softmask_init"),
        (dict(compress=0.0), "compress"),
        (dict(compress=1.5), "compress"),
        (dict(reduce_interferences=1.0), "reduce_interferences"),
        (dict(slope=0), "slope"),
        (dict(slope=np.inf), "slope"),
        (dict(softmask_init=False, iterations=0, compress=0.5), "compress"),
        (dict(stft_params=(64, 16)), "stft_params"),
    ],
)
def test_bad_options(small_case, kwargs, match):
    mix, mags = small_case
    with pytest.raises(SeparationError, match=match):
        WienerFilter(mix, mags, **kwargs)


def test_example_runs_from_the_docstring(example):
    mix, sources = example
    rough = IdealMask(mix, sources, approach="ibm")()
    sep = WienerFilter(mix, rough, residual=True)
    assert sep.run().shape == (1025, 863, 1, 5)
    assert isinstance(sepkit.separation.benchmark.WienerFilter, type)


def test_get_params_rebuilds_the_same_separator(example):
    mix, stems = excerpt(example, 1.0)
    sep = WienerFilter(mix, stems, iterations=2, residual=True, compress=0.5)
    params = sep.get_params()
    assert params["estimates"] is stems and params["iterations"] == 2 and params["compress"] == 0.5
    np.testing.assert_array_equal(type(sep)(mix, **params).run(), sep.run())
