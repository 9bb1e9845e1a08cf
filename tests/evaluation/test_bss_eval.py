"""BSS Eval v3/v4: agreement with a plain least-squares formula, permutation, silence,
singular projections, errors, and the kernels against numpy."""

import warnings

import numpy as np
import pytest

from sepkit import AudioSignal, EvaluationError
from sepkit.evaluation.bss_eval import (
    bss_eval_images,
    bss_eval_images_framewise,
    bss_eval_sources,
    bss_eval_sources_framewise,
    bss_eval_v4,
)
from sepkit.kernels.bss_eval import frame_energies, projection_energies, toeplitz_gram

L = 8  # short filters keep the plain formula cheap


# --------------------------------------------------------------------------- plain formula


def _delays(x, n_taps):
    """(n + n_taps - 1, n_taps): column m is x delayed by m samples (zero padded)."""
    n = len(x)
    out = np.zeros((n + n_taps - 1, n_taps))
    for m in range(n_taps):
        out[m : m + n, m] = x
    return out


def _basis(refs, sources, n_taps):
    return np.hstack([_delays(refs[j, c], n_taps) for j in sources for c in range(refs.shape[1])])


def _plain(refs, ests, n_taps, sources_mode, starts=None, length=None, global_filters=False):
    """Metrics of estimate j against reference j by explicit least squares (lstsq)."""
    n_src, n_chan, n = refs.shape
    if starts is None:
        starts, length = [0], n
    pad = lambda x: np.concatenate([x, np.zeros(n_taps - 1)])
    out = {k: np.zeros((n_src, len(starts))) for k in ("SDR", "ISR", "SIR", "SAR")}
    if global_filters:
        full_all = _basis(refs, range(n_src), n_taps)
        coef_all = [np.linalg.lstsq(full_all, np.stack([pad(ests[j, c]) for c in range(n_chan)], 1), rcond=None)[0]
                    for j in range(n_src)]
        coef_own = [np.linalg.lstsq(_basis(refs, [j], n_taps), np.stack([pad(ests[j, c]) for c in range(n_chan)], 1),
                                    rcond=None)[0] for j in range(n_src)]
    for t, start in enumerate(starts):
        r = refs[:, :, start : start + length]
        e = ests[:, :, start : start + length]
        all_b = _basis(r, range(n_src), n_taps)
        for j in range(n_src):
            y = np.stack([pad(e[j, c]) for c in range(n_chan)], 1)
            own_b = _basis(r, [j], n_taps)
            if global_filters:
                p_all, p_own = all_b @ coef_all[j], own_b @ coef_own[j]
            else:
                p_all = all_b @ np.linalg.lstsq(all_b, y, rcond=None)[0]
                p_own = own_b @ np.linalg.lstsq(own_b, y, rcond=None)[0]
            s = np.stack([pad(r[j, c]) for c in range(n_chan)], 1)
            db = lambda a, b: 10 * np.log10(np.sum(a**2) / np.sum(b**2))
            if sources_mode:
                out["SDR"][j, t] = db(p_own, y - p_own)
            else:
                out["SDR"][j, t] = db(s, y - s)
                out["ISR"][j, t] = db(s, p_own - s)
            out["SIR"][j, t] = db(p_own, p_all - p_own)
            out["SAR"][j, t] = db(p_all, y - p_all)
    return out


def _signals(rng, n_src=3, n_chan=2, n=600):
    refs = rng.standard_normal((n_src, n_chan, n))
    mix = rng.standard_normal((n_src, n_src)) * 0.2 + np.eye(n_src)
    ests = np.einsum("ij,jcn->icn", mix, refs) + 0.1 * rng.standard_normal(refs.shape)
    ests[:, :, 1:] += 0.3 * ests[:, :, :-1]  # a little filtering distortion
    return refs, ests


def _close(scores, plain, keys, atol=1e-7):
    for key in keys:
        np.testing.assert_allclose(scores.values[key], plain[key], rtol=0, atol=atol, err_msg=key)


@pytest.mark.parametrize("mode", ["images", "sources"])
def test_whole_signal_matches_plain_least_squares(rng, mode):
    refs, ests = _signals(rng)
    fn = bss_eval_images if mode == "images" else bss_eval_sources
    scores = fn(refs, ests, compute_permutation=False, filters_len=L)
    keys = ["SDR", "SIR", "SAR"] + (["ISR"] if mode == "images" else [])
    assert scores.axis == "signal" and scores.values["SDR"].shape == (3, 1)
    _close(scores, _plain(refs, ests, L, mode == "sources"), keys)


def test_framewise_v3_matches_plain_least_squares(rng):
    refs, ests = _signals(rng, n=700)
    scores = bss_eval_images_framewise(refs, ests, window_samples=300, hop_samples=200, filters_len=L)
    starts = [0, 200, 400]  # floor((700 - 300 + 200) / 200) = 3 frames
    assert scores.info["frame_starts"] == starts and scores.axis == "frame"
    _close(scores, _plain(refs, ests, L, False, starts, 300), ["SDR", "ISR", "SIR", "SAR"])


@pytest.mark.parametrize("mode", ["images", "sources"])
def test_v4_global_filters_match_plain_least_squares(rng, mode):
    refs, ests = _signals(rng, n=1000)
    scores = bss_eval_v4(refs, ests, sample_rate=1000, window=0.3, hop=0.3, filters_len=L, mode=mode)
    plain = _plain(refs, ests, L, mode == "sources", [0, 300, 600], 300, global_filters=True)
    _close(scores, plain, ["SDR", "SIR", "SAR"] + (["ISR"] if mode == "images" else []))
    assert ("ISR" in scores.values) == (mode == "images")


def test_v4_frame_convention_and_info(rng):
    refs, ests = _signals(rng, n_src=2, n=6800)
    scores = bss_eval_v4(refs, ests, sample_rate=1000, filters_len=L)  # 6.8 s, 1 s frames
    assert scores.axis == "frame" and scores.values["SDR"].shape == (2, 6)
    assert scores.info["n_frames"] == 6 and scores.info["window"] == 1.0 and scores.info["hop"] == 1.0
    whole = bss_eval_v4(refs, ests, sample_rate=1000, window=None, hop=None, filters_len=L)
    assert whole.values["SDR"].shape == (2, 1)


def test_v4_framewise_sources_is_v3_framewise(rng):
    refs, ests = _signals(rng, n=900)
    v4 = bss_eval_v4(refs, ests, sample_rate=100, window=3.0, hop=2.0, mode="sources", framewise_filters=True,
                     filters_len=L)
    v3 = bss_eval_sources_framewise(refs, ests, window_samples=300, hop_samples=200, filters_len=L)
    for key in ("SDR", "SIR", "SAR"):
        np.testing.assert_array_equal(v4.values[key], v3.values[key])


def test_framewise_falls_back_to_whole_signal_below_two_frames(rng):
    refs, ests = _signals(rng, n=500)
    fw = bss_eval_sources_framewise(refs, ests, window_samples=400, hop_samples=300, filters_len=L)
    whole = bss_eval_sources(refs, ests, compute_permutation=False, filters_len=L)
    assert fw.axis == "signal" and "fallback" in fw.info
    np.testing.assert_array_equal(fw.values["SDR"], whole.values["SDR"])


def test_perfect_estimates():
    rng = np.random.default_rng(3)
    refs = rng.standard_normal((2, 2, 400))
    scores = bss_eval_images(refs, refs.copy(), filters_len=L)
    assert np.all(scores.values["SDR"] == np.inf)
    assert np.all(scores.values["SIR"] > 100) and np.all(scores.values["SAR"] > 100)


def test_single_source_sir_is_inf(rng):
    refs, ests = _signals(rng, n_src=1)
    for scores in (bss_eval_sources(refs, ests, filters_len=L), bss_eval_images(refs, ests, filters_len=L),
                   bss_eval_v4(refs, ests, sample_rate=200, filters_len=L)):
        assert np.all(scores.values["SIR"] == np.inf)
        assert np.all(np.isfinite(scores.values["SDR"]))


# --------------------------------------------------------------------------- permutation


@pytest.mark.parametrize("fn", [bss_eval_sources, bss_eval_images])
def test_permutation_recovers_shuffled_estimates(rng, fn):
    refs, ests = _signals(rng, n_src=4)
    order = np.array([2, 0, 3, 1])  # estimate order[j] belongs to reference j
    shuffled = np.empty_like(ests)
    shuffled[order] = ests
    straight = fn(refs, ests, compute_permutation=False, filters_len=L)
    permuted = fn(refs, shuffled, compute_permutation=True, filters_len=L)
    np.testing.assert_array_equal(permuted.assignment, order)
    for key in straight.values:
        np.testing.assert_allclose(permuted.values[key], straight.values[key], rtol=0, atol=1e-9)


def test_more_estimates_than_references(rng):
    refs, ests = _signals(rng, n_src=2)
    extra = np.concatenate([rng.standard_normal((1,) + ests.shape[1:]), ests[::-1]])  # noise, est1, est0
    scores = bss_eval_v4(refs, extra, sample_rate=200, window=1.0, hop=1.0, compute_permutation=True, filters_len=L)
    np.testing.assert_array_equal(scores.assignment, [2, 1])
    plain = bss_eval_v4(refs, ests, sample_rate=200, filters_len=L)
    np.testing.assert_allclose(scores.values["SDR"], plain.values["SDR"], atol=1e-9)
    with pytest.raises(EvaluationError):
        bss_eval_sources(refs, ests[:1])


def test_identical_estimates_warn(rng):
    refs, ests = _signals(rng, n_src=2)
    ests[1] = ests[0]
    with pytest.warns(UserWarning, match="identical"):
        bss_eval_sources(refs, ests, compute_permutation=False, filters_len=L)


# --------------------------------------------------------------------------- silence


def test_silent_reference_gives_nan_row_with_warning(rng):
    refs, ests = _signals(rng)
    refs[1] = 0.0
    with pytest.warns(RuntimeWarning, match="silent"):
        scores = bss_eval_images(refs, ests, compute_permutation=False, filters_len=L)
    for key, value in scores.values.items():
        assert np.all(np.isnan(value[1])), key
        assert np.all(np.isfinite(value[[0, 2]])), key
    # the silent reference adds nothing to the span: the others score as without it
    without = bss_eval_images(refs[[0, 2]], ests[[0, 2]], compute_permutation=False, filters_len=L)
    for key in scores.values:
        np.testing.assert_allclose(scores.values[key][[0, 2]], without.values[key], atol=1e-7)


def test_silent_estimate_gives_nan_row_with_warning(rng):
    refs, ests = _signals(rng)
    ests[2] = 0.0
    with pytest.warns(RuntimeWarning, match="silent"):
        scores = bss_eval_v4(refs, ests, sample_rate=200, filters_len=L)
    assert np.all(np.isnan(scores.values["SDR"][2])) and np.all(np.isfinite(scores.values["SDR"][:2]))


@pytest.mark.parametrize("which", ["reference", "estimate"])
def test_silent_frame_gives_nan_frame_with_warning(rng, which):
    refs, ests = _signals(rng, n=900)
    (refs if which == "reference" else ests)[1, :, 300:600] = 0.0  # frame 1 of 3 (300-sample frames)
    for call in (lambda: bss_eval_v4(refs, ests, sample_rate=300, filters_len=L),
                 lambda: bss_eval_sources_framewise(refs, ests, window_samples=300, hop_samples=300, filters_len=L)):
        with pytest.warns(RuntimeWarning, match="frame"):
            scores = call()
        for key, value in scores.values.items():
            assert np.all(np.isnan(value[:, 1])), key
            assert np.all(np.isfinite(value[:, [0, 2]])), key


# --------------------------------------------------------------------------- singular projections


def test_identical_references_do_not_break_the_projection(rng):
    refs, ests = _signals(rng, n_src=2)
    twins = np.stack([refs[0], refs[0], refs[1]])
    est3 = np.stack([ests[0], ests[0] + 0.05 * rng.standard_normal(ests[0].shape), ests[1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no LinAlgError, no numpy warning
        scores = bss_eval_images(twins, est3, compute_permutation=False, filters_len=L)
    single = bss_eval_images(refs, ests, compute_permutation=False, filters_len=L)
    # the span of the references is that of the two distinct ones: same projections
    for key in single.values:
        np.testing.assert_allclose(scores.values[key][[0, 2]], single.values[key], atol=1e-7, err_msg=key)
    assert np.all(np.isfinite(scores.values["SDR"][1]))


def test_nearly_identical_references_take_the_least_squares_path(rng):
    refs, ests = _signals(rng, n_src=2)
    near = np.stack([refs[0], refs[0] + 1e-13 * rng.standard_normal(refs[0].shape), refs[1]])
    est3 = np.stack([ests[0], ests[0] + 0.05 * rng.standard_normal(ests[0].shape), ests[1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = bss_eval_images(near, est3, compute_permutation=False, filters_len=L)
    single = bss_eval_images(refs, ests, compute_permutation=False, filters_len=L)
    np.testing.assert_allclose(scores.values["SDR"][[0, 2]], single.values["SDR"], atol=1e-9)
    np.testing.assert_allclose(scores.values["SAR"][[0, 2]], single.values["SAR"], atol=1e-3)


def test_solve_falls_back_to_least_squares_on_a_singular_gram(rng):
    from sepkit.evaluation._bss_projection import _solve

    basis = rng.standard_normal((50, 6))
    basis[:, 5] = basis[:, 4]  # exactly dependent columns
    gram = basis.T @ basis
    rhs = basis.T @ rng.standard_normal((50, 2))
    got = _solve(gram, rhs)
    np.testing.assert_allclose(got, np.linalg.lstsq(gram, rhs, rcond=None)[0], atol=1e-8)
    np.testing.assert_allclose(got[4], got[5], atol=1e-8)  # the minimum-norm solution
    well = gram[:5, :5]
    np.testing.assert_allclose(_solve(well, rhs[:5]), np.linalg.solve(well, rhs[:5]), rtol=1e-10)


def _band_limited(rng, noise):
    refs, ests = _signals(rng, n_src=2, n_chan=1, n=512)
    spec = np.fft.rfft(refs, axis=-1)
    spec[..., 40:] = 0  # empty above ~15% of the band
    return np.fft.irfft(spec, n=512, axis=-1) + noise * rng.standard_normal(refs.shape), ests


def test_ill_conditioned_reference_matches_least_squares(rng):
    # faint noise in the empty band: Gram condition number ~3e10, like int16 AAC stems
    refs, ests = _band_limited(rng, 1e-5)
    for fn, sources_mode in ((bss_eval_sources, True), (bss_eval_images, False)):
        scores = fn(refs, ests, compute_permutation=False, filters_len=64)
        _close(scores, _plain(refs, ests, 64, sources_mode), list(scores.values), atol=1e-4)


def test_band_limited_reference_is_handled(rng):
    # exactly band-limited: the Gram matrix is numerically singular (least-squares path)
    refs, ests = _band_limited(rng, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = bss_eval_images(refs, ests, compute_permutation=False, filters_len=64)
    plain = _plain(refs, ests, 64, False)
    assert all(np.all(np.isfinite(v)) for v in scores.values.values())
    # SDR and ISR do not depend on the projection on all references; SAR barely does;
    # the (small) interference is only determined to ~sqrt(eps) here
    _close(scores, plain, ["SDR", "ISR"], atol=1e-8)
    _close(scores, plain, ["SAR"], atol=0.02)
    _close(scores, plain, ["SIR"], atol=0.5)


# --------------------------------------------------------------------------- inputs


def test_audio_signals_give_the_sample_rate(rng):
    refs, ests = _signals(rng, n_src=2, n=800)
    as_signals = lambda x: [AudioSignal(s, sample_rate=400) for s in x]
    from_signals = bss_eval_v4(as_signals(refs), as_signals(ests), window=0.5, hop=0.5, filters_len=L)
    from_arrays = bss_eval_v4(refs, ests, sample_rate=400, window=0.5, hop=0.5, filters_len=L)
    assert from_signals.info["sample_rate"] == 400 and from_signals.values["SDR"].shape == (2, 4)
    np.testing.assert_array_equal(from_signals.values["SDR"], from_arrays.values["SDR"])
    assert from_signals.to_dict()["axis"] == "frame"


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"sample_rate": 100, "mode": "stereo"}, {"sample_rate": 100, "window": -1.0},
     {"sample_rate": 100, "filters_len": 0}],
)
def test_bad_parameters_raise(rng, kwargs):
    refs, ests = _signals(rng, n_src=2, n=300)
    with pytest.raises(EvaluationError):
        bss_eval_v4(refs, ests, **kwargs)  # {} -> seconds without a sample rate


def test_mismatched_inputs_raise(rng):
    refs, ests = _signals(rng, n_src=2, n=300)
    with pytest.raises(EvaluationError):
        bss_eval_sources(refs, ests[:, :, :200])
    with pytest.raises(EvaluationError):
        bss_eval_images(refs, np.full_like(ests, np.nan))
    with pytest.raises(EvaluationError):
        bss_eval_sources_framewise(refs, ests, window=1.0, hop=0.5)  # seconds, no rate


# --------------------------------------------------------------------------- kernels


def test_toeplitz_gram_matches_numpy(rng):
    x = rng.standard_normal((3, 50))
    n_taps = 5
    corr = np.zeros((3, 3, 2 * n_taps - 1))
    for a in range(3):
        for b in range(3):
            full = np.correlate(np.concatenate([x[b], np.zeros(n_taps)]), np.concatenate([x[a], np.zeros(n_taps)]),
                                mode="full")
            mid = len(full) // 2
            corr[a, b] = full[mid - n_taps + 1 : mid + n_taps]
    gram = np.empty((15, 15))
    toeplitz_gram(corr, n_taps, gram)
    basis = np.hstack([_delays(x[k], n_taps) for k in range(3)])
    np.testing.assert_allclose(gram, basis.T @ basis, atol=1e-10)


def test_frame_energies_match_numpy(rng):
    refs = rng.standard_normal((2, 2, 100))
    ests = rng.standard_normal((3, 2, 100))
    pairs = np.array([[0, 2], [1, 0]], dtype=np.int64)
    starts = np.array([0, 30, 60], dtype=np.int64)
    ref_e, est_e, dist_e = np.empty((2, 3)), np.empty((3, 3)), np.empty((2, 3))
    frame_energies(refs, ests, pairs, starts, 40, ref_e, est_e, dist_e)
    for t, s in enumerate(starts):
        np.testing.assert_allclose(ref_e[:, t], np.sum(refs[:, :, s : s + 40] ** 2, axis=(1, 2)))
        np.testing.assert_allclose(est_e[:, t], np.sum(ests[:, :, s : s + 40] ** 2, axis=(1, 2)))
        for p, (j, e) in enumerate(pairs):
            np.testing.assert_allclose(dist_e[p, t], np.sum((ests[e, :, s : s + 40] - refs[j, :, s : s + 40]) ** 2))


def test_projection_energies_match_time_domain(rng):
    n, n_taps, n_fft = 40, 4, 64
    refs = rng.standard_normal((2, 1, n))
    est = rng.standard_normal((1, 1, n))
    taps_all = rng.standard_normal((1, 2, 1, 1, n_taps))
    taps_own = rng.standard_normal((1, 1, 1, n_taps))
    weights = np.full(n_fft // 2 + 1, 2.0 / n_fft)
    weights[[0, -1]] = 1.0 / n_fft
    out = np.empty((1, 6))
    spec = lambda x: np.fft.rfft(x, n=n_fft, axis=-1)
    projection_energies(spec(refs), spec(est), spec(taps_all), spec(taps_own), np.array([[1, 0]]), weights, out)
    p_all = sum(np.convolve(refs[i, 0], taps_all[0, i, 0, 0]) for i in range(2))
    p_own = np.convolve(refs[1, 0], taps_own[0, 0, 0])
    s = np.concatenate([refs[1, 0], np.zeros(n_taps - 1)])
    e = np.concatenate([est[0, 0], np.zeros(n_taps - 1)])
    want = [p_own @ p_own, (p_own - s) @ (p_own - s), (p_all - p_own) @ (p_all - p_own), (e - p_all) @ (e - p_all),
            p_all @ p_all, (e - p_own) @ (e - p_own)]
    np.testing.assert_allclose(out[0], want, rtol=1e-10)
