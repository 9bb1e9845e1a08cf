"""FastMNMF2: parity with pyroomacoustics 0.10.1, the Wiener identities, errors and quality."""

import json
import os
import warnings

import numpy as np
import pytest

import sepkit
from sepkit.core import SeparationError
from sepkit.evaluation import bss_eval_v4, si_sdr_matched
from sepkit.kernels.bss import fastmnmf2 as kernels
from sepkit.separation.multichannel.fast_mnmf2 import DEFAULT_STFT, FastMNMF2

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "pyroomacoustics")


@pytest.fixture(scope="module")
def short():
    """1 s of the reverberant duet (violin + clarinet, 2 mics, 16 kHz)."""
    return sepkit.datasets.load_spatial_example("reverberant", duration=1.0)


@pytest.fixture(scope="module")
def fixture():
    with np.load(os.path.join(DATA, "fastmnmf2.npz")) as data:
        return {key: data[key] for key in data.files}


def _pra_initial_g(n_src, n_chan):
    """pyroomacoustics' initial g: 0.05 everywhere but 1 where channel m belongs to source m % n_src."""
    g = np.full((n_src, n_chan), 5e-2)
    g[np.arange(n_chan) % n_src, np.arange(n_chan)] = 1.0
    return g


@pytest.mark.parametrize("case", ["det", "over"])
def test_kernels_equal_pyroomacoustics(fixture, case):
    params = json.loads(str(fixture[f"{case}_params"]))
    x = fixture[f"{case}_x"].astype(np.complex128)
    h, w = fixture[f"{case}_h"], fixture[f"{case}_w"]
    n_freq, n_frames, n_chan = x.shape
    q0 = np.tile(np.eye(n_chan, dtype=complex), (n_freq, 1, 1))
    g0 = _pra_initial_g(params["n_src"], n_chan)
    before = [a.copy() for a in (x, q0, g0, w, h)]
    q, g, _, _, lam = kernels.fastmnmf2(x, q0, g0, w, h, params["n_iter"])
    out = kernels.source_images(x, q, lam, g, mics=[0])[:, :, 0, :]
    expected = fixture[f"{case}_out"]
    assert out.shape == expected.shape == (n_freq, n_frames, params["n_src"])
    assert np.abs(out - expected).max() <= 1e-6 * np.abs(expected).max()
    for a, b in zip(before, (x, q0, g0, w, h)):  # the caller's arrays are not changed (pyroomacoustics changes W0)
        np.testing.assert_array_equal(a, b)


def test_initial_values_are_pyroomacoustics(fixture):
    # H then W, uniform in [0, 1): the same law and order as pyroomacoustics' global draws
    params = json.loads(str(fixture["det_params"]))
    n_freq, n_frames, n_chan = fixture["det_x"].shape
    q, g, w, h = kernels.init_fastmnmf2(np.random.default_rng(0), 2, n_freq, n_frames, n_chan, 8)
    np.testing.assert_array_equal(q, np.tile(np.eye(n_chan), (n_freq, 1, 1)))
    np.testing.assert_array_equal(g, _pra_initial_g(2, n_chan))
    assert h.shape == fixture["det_h"].shape and w.shape == fixture["det_w"].shape
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(h, rng.random(h.shape))
    np.testing.assert_array_equal(w, rng.random(w.shape))
    assert params["n_src"] == 2


def _covariances(q, g, lam):
    """The model covariance sum_n lam_nft Q_f^-1 diag(g_n) Q_f^-H, per bin: (F, T, M, M)."""
    qinv = np.linalg.inv(q)
    spatial = np.einsum("fim,nm,fjm->nfij", qinv, g, qinv.conj())
    return np.einsum("nft,nfij->ftij", lam, spatial)


def test_normalize_leaves_the_model_unchanged():
    rng = np.random.default_rng(1)
    n_src, n_freq, n_frames, n_chan, k = 2, 5, 7, 3, 4
    q = rng.standard_normal((n_freq, n_chan, n_chan)) + 1j * rng.standard_normal((n_freq, n_chan, n_chan))
    g = rng.random((n_src, n_chan)) + 0.1
    w = rng.random((n_src, n_freq, k)) + 0.1
    h = rng.random((n_src, k, n_frames)) + 0.1
    before = _covariances(q, g, w @ h)
    kernels.normalize(q, w, h, g)
    np.testing.assert_allclose(_covariances(q, g, w @ h), before, rtol=1e-10, atol=0)
    np.testing.assert_allclose(np.einsum("fij,fij->f", q, q.conj()).real, n_chan)
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)


def test_ip_rows_satisfy_their_equations():
    # after update_q, for each m: (Q_f V_fm)[:, m] ... i.e. Q_f V_fm q_m^H = e_m and q_m V_fm q_m^H = 1
    rng = np.random.default_rng(2)
    n_src, n_freq, n_frames, n_chan = 2, 4, 50, 2
    x = rng.standard_normal((n_freq, n_frames, n_chan)) + 1j * rng.standard_normal((n_freq, n_frames, n_chan))
    lam = rng.random((n_src, n_freq, n_frames)) + 0.1
    g = rng.random((n_src, n_chan)) + 0.1
    q = np.tile(np.eye(n_chan, dtype=complex), (n_freq, 1, 1))
    y = np.empty((n_freq, n_chan, n_frames))
    qxp = np.empty_like(y)
    xt = x.transpose(0, 2, 1)
    kernels.update_q(np.ascontiguousarray(xt.real), np.ascontiguousarray(xt.imag), lam, g, 0.0, q, y, qxp)
    y, qxp = y.transpose(0, 2, 1), qxp.transpose(0, 2, 1)  # to (F, T, M)
    np.testing.assert_allclose(y, np.einsum("nft,nm->ftm", lam, g), rtol=1e-12)
    np.testing.assert_allclose(qxp, np.abs(np.einsum("fij,ftj->fti", q, x)) ** 2, rtol=1e-10)
    last = q.copy()
    for m in range(n_chan):  # the last row solves its equations with the final Q; earlier rows with Q then
        v = np.einsum("fti,ftj,ft->fij", x, x.conj(), 1.0 / y[..., m]) / n_frames
        u = last[:, m].conj()
        quad = np.einsum("fi,fij,fj->f", u.conj(), v, u)
        np.testing.assert_allclose(quad, 1.0, rtol=1e-10)
    v = np.einsum("fti,ftj,ft->fij", x, x.conj(), 1.0 / y[..., n_chan - 1]) / n_frames
    np.testing.assert_allclose(np.einsum("fij,fjk,fk->fi", q, v, q[:, n_chan - 1].conj()),
                               np.tile(np.eye(n_chan)[n_chan - 1], (n_freq, 1)), atol=1e-10)


def test_images_sum_to_the_mixture(short):
    mix, _ = short
    sep = FastMNMF2(mix, 2, n_iter=5, seed=0)
    images = sep.run()
    x = mix.stft(sep.stft_params)
    assert images.shape == x.shape + (2,)
    assert np.abs(images.sum(axis=-1) - x).max() <= 1e-12 * np.abs(x).max()
    estimates = sep.make_audio_signals()
    np.testing.assert_allclose(sum(e.audio_data for e in estimates), mix.audio_data, rtol=0, atol=1e-10)
    assert [e.label for e in estimates] == ["source_0", "source_1"]


def test_ref_mic_gives_that_channel(short):
    mix, _ = short
    every = FastMNMF2(mix, 2, n_iter=3, seed=0).run()
    one = FastMNMF2(mix, 2, n_iter=3, seed=0, ref_mic=1)
    np.testing.assert_array_equal(one.run()[:, :, 0, :], every[:, :, 1, :])
    assert one.make_audio_signals()[0].num_channels == 1


def test_seeded_and_global_rng_untouched(short):
    mix, _ = short
    state = np.random.get_state()[1].copy()
    a = FastMNMF2(mix, 2, n_iter=2, seed=7).run()
    b = FastMNMF2(mix, 2, n_iter=2, seed=np.random.default_rng(7)).run()
    c = FastMNMF2(mix, 2, n_iter=2, seed=8).run()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_more_sources_than_microphones_still_sum_to_the_mixture(short):
    mix, _ = short
    sep = FastMNMF2(mix, 3, n_iter=3, seed=0, n_components=2)
    images = sep.run()
    assert images.shape[-1] == 3 and np.all(np.isfinite(images))
    x = mix.stft(sep.stft_params)
    assert np.abs(images.sum(axis=-1) - x).max() <= 1e-12 * np.abs(x).max()


def test_errors(short):
    mix, _ = short
    mono = sepkit.AudioSignal(mix.audio_data[:1], mix.sample_rate)
    with pytest.raises(SeparationError, match="multichannel"):
        FastMNMF2(mono, 2)
    with pytest.raises(SeparationError, match="num_sources"):
        FastMNMF2(mix, 0)
    with pytest.raises(SeparationError, match="ref_mic"):
        FastMNMF2(mix, 2, ref_mic=2)
    with pytest.raises(SeparationError, match="seed"):
        FastMNMF2(mix, 2, seed=-1)
    with pytest.raises(SeparationError, match="stft_params"):
        FastMNMF2(mix, 2, stft_params=1024)
    silent = sepkit.AudioSignal(np.zeros_like(mix.audio_data), mix.sample_rate)
    with pytest.raises(SeparationError, match="silent"):
        FastMNMF2(silent, 2, n_iter=1).run()


def _scores(refs, estimates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = bss_eval_v4(refs, estimates, compute_permutation=True)
        sdr = float(np.mean(np.nanmedian(scores.values["SDR"], axis=1)))
        si = float(np.mean(si_sdr_matched(refs, estimates)[0]))
    return sdr, si


def test_quality_on_the_reverberant_duet():
    mix, sources = sepkit.datasets.load_spatial_example("reverberant", duration=3)
    refs = list(sources.values())
    with open(os.path.join(DATA, "fastmnmf2_quality.json")) as file:
        peer = json.load(file)
    assert peer["stft"] == repr(DEFAULT_STFT.resolve(mix.sample_rate))
    sdr, si = _scores(refs, FastMNMF2(mix, 2, n_iter=QUALITY_ITER, seed=0)())
    mix_sdr = peer["mix_as_estimate"]["sdr"]  # measured by the fixture script with the same metric (0.00 dB)
    assert sdr >= SDR_FLOOR > mix_sdr + 1.0
    # pyroomacoustics on the same input and STFT, 100 iterations, mean over global seeds 0-4
    assert SDR_FLOOR >= peer["pyroomacoustics"]["mean_sdr"]
    assert SDR_FLOOR >= max(run["sdr"] for run in peer["pyroomacoustics"]["runs"])
    # SI-SDR: below the mixture's for every blind method on this input (pyroomacoustics too)
    assert si >= SI_SDR_FLOOR >= peer["pyroomacoustics"]["mean_si_sdr"]


#: Iterations of the quality test (30 reach the SDR of 100 here) and floors below the measured
#: values, 2.30 dB SDR and -0.63 dB SI-SDR (see the docs page).
QUALITY_ITER = 30
SDR_FLOOR = 2.0
SI_SDR_FLOOR = -1.0


def _neg_log_likelihood(x, q, g, lam):
    """sum_ft [sum_m |(Q_f x_ft)_m|^2 / y_ftm + log y_ftm] - 2 T sum_f log |det Q_f| (up to constants)."""
    y = np.einsum("nft,nm->ftm", lam, g) + kernels.EPS
    qxp = np.abs(np.einsum("fij,ftj->fti", q, x)) ** 2
    return float(np.sum(qxp / y + np.log(y)) - 2 * x.shape[1] * np.sum(np.log(np.abs(np.linalg.det(q)))))


@pytest.mark.parametrize("accelerate", [False, True])
def test_the_likelihood_improves(accelerate):
    # majorisation-minimisation and IP steps: non-increasing cost without acceleration
    rng = np.random.default_rng(3)
    n_freq, n_frames, n_chan = 6, 40, 2
    x = rng.standard_normal((n_freq, n_frames, n_chan)) + 1j * rng.standard_normal((n_freq, n_frames, n_chan))
    x *= rng.random((1, n_frames, 1)) * 3  # some dynamics
    init = kernels.init_fastmnmf2(np.random.default_rng(0), 2, n_freq, n_frames, n_chan, 3)
    costs = [_neg_log_likelihood(x, init[0], init[1], init[2] @ init[3])]
    kernels.fastmnmf2(x, *init, 15, accelerate=accelerate,
                      callback=lambda it, q, g, w, h, lam: costs.append(_neg_log_likelihood(x, q, g, lam)))
    costs = np.array(costs)
    assert costs[-1] < costs[0] - 0.05 * abs(costs[0])
    if not accelerate:
        assert np.all(np.diff(costs) <= 1e-9 * np.abs(costs[1:]))
