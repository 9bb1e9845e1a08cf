"""nussl's NMF mixin on sepkit's NMF: NMF.fit / transform / inverse_transform with nussl's shapes."""

import numpy as np
import pytest

import sepkit
from sepkit import AudioSignal, SeparationError
from sepkit.separation import NMF
from sepkit.separation.nmf.mixin import NMFModel


@pytest.fixture(scope="module")
def signals():
    _, sources = sepkit.datasets.load_example(["violin", "clarinet"])
    return [s.truncate(22050) for s in sources.values()]


def test_fit_shapes_and_reconstruction(signals):
    violin, clarinet = signals
    F, N = violin.stft().shape[:2]
    model, components, activations = NMF.fit([violin, clarinet], 6, beta_loss="kullback-leibler", n_iter=50, seed=0)
    assert isinstance(model, NMFModel) and model.n_components == 6 and model.beta == 1.0
    assert components.shape == (6, F) and activations.shape == (6, 2 * N, 1)
    recon = NMF.inverse_transform(components, activations)
    assert recon.shape == (F, 2 * N, 1)
    V = np.hstack([np.abs(violin.stft()[:, :, 0]), np.abs(clarinet.stft()[:, :, 0])])
    # the identity: inverse_transform is W @ H of the fit
    np.testing.assert_allclose(recon[:, :, 0], components.T @ activations[:, :, 0], rtol=1e-12)
    assert np.linalg.norm(recon[:, :, 0] - V) < 0.5 * np.linalg.norm(V)


def test_transform_keeps_the_templates_and_fits_a_new_signal(signals):
    violin, clarinet = signals
    model, components, _ = NMF.fit(violin, 8, beta_loss="frobenius", n_iter=60, seed=0)
    comps, acts = NMF.transform(violin, model)
    np.testing.assert_array_equal(comps, components)
    F, N = violin.stft().shape[:2]
    assert acts.shape == (8, N, 1) and acts.min() >= 0
    recon = NMF.inverse_transform(comps, acts)[:, :, 0]
    V = np.abs(violin.stft()[:, :, 0])
    assert np.linalg.norm(recon - V) < 0.5 * np.linalg.norm(V)
    # scikit-learn's model API
    H = model.transform(V.T)
    assert H.shape == (N, 8)


def test_stereo_channels_are_unfolded(signals):
    violin = signals[0]
    stereo = AudioSignal(np.vstack([violin.audio_data, np.zeros_like(violin.audio_data)]), violin.sample_rate)
    model, components, activations = NMF.fit(stereo, 4, beta_loss=1, n_iter=30, seed=0)
    N = violin.stft().shape[1]
    assert activations.shape == (4, N, 2)
    assert activations[:, :, 1].max() <= 1e-6 * activations[:, :, 0].max()  # channel 1 is silent
    _, acts = NMF.transform(stereo, model)
    assert acts.shape == (4, N, 2) and acts[:, :, 1].max() == 0.0


def test_inverse_transform_identity_and_errors():
    rng = np.random.default_rng(0)
    V = rng.random((5, 7, 2))
    np.testing.assert_array_equal(NMF.inverse_transform(np.eye(5), V), V)  # identity templates
    np.testing.assert_array_equal(NMF.inverse_transform(np.eye(5), V[:, :, 0]), V[:, :, 0])
    with pytest.raises(SeparationError, match="same number of components"):
        NMF.inverse_transform(np.ones((3, 5)), np.ones((4, 7)))
    with pytest.raises(SeparationError, match="beta_loss"):
        NMF.fit(AudioSignal(rng.random((1, 4096)), 8000), 2, beta_loss="euclid")
