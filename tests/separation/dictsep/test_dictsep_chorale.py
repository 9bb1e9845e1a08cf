"""DictSep on the chorale duet (violin + clarinet of the bundled BWV 255 example, 10 s)."""

import numpy as np
import pytest

import sepkit
from sepkit.evaluation import si_sdr_matched
from sepkit.separation import NMF, DictSep


def _best_order(refs, estimates):
    """SI-SDR (dB) per source, estimates matched to the sources (blind labels)."""
    return si_sdr_matched(refs, estimates)[0]


@pytest.fixture(scope="module")
def duet():
    mix, sources = sepkit.datasets.load_example(["violin", "clarinet"])
    return mix, list(sources.values())


@pytest.fixture(scope="module")
def dictsep(duet):
    sep = DictSep(duet[0], 2, n_iter=2000, num_dicts=4, mode="fast", seed=0, verbose=False)
    return sep, sep()


def test_dictsep_beats_blind_nmf_on_the_duet(duet, dictsep):
    mix, refs = duet
    sep, estimates = dictsep
    scores = _best_order(refs, estimates)
    blind = _best_order(refs, NMF(mix, 2, n_iter=100, seed=0)())
    # measured: violin 12.09, clarinet 12.10 dB (blind choice: seed 2 of 4, the lowest pursuit
    # loss; 12.75 / 9.97 dB before issue 10 gave unmodelled bins to no source instead of 1/2 to
    # each); blind NMF 5.36 / 5.94 dB. Over six single seeds DictSep ranges from -2.5 to 14.8 dB
    # (mean 8.1): the blind choice among several seeds matters.
    assert np.all(scores >= np.array([11.7, 9.0])), scores
    assert scores.mean() > blind.mean() + 4.0
    assert sep.best_seed == int(np.argmin(sep.seed_losses))


def test_duet_estimates_add_up_to_the_mixture(duet, dictsep):
    mix, _ = duet
    sep, estimates = dictsep
    assert all(e.audio_data.shape == mix.audio_data.shape for e in estimates)
    # the ratio masks sum to one in every bin (1 / 2 each where no tone is modelled, 1.8 % of
    # the mixture's energy): the estimates add up to the mixture up to the inverse STFT's error
    residual = mix.audio_data - sum(e.audio_data for e in estimates)
    assert np.sum(residual**2) < 1e-10 * np.sum(mix.audio_data**2)  # measured 6.8e-13
