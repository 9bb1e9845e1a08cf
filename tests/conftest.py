"""Shared fixtures: the bundled example and a small seeded stereo signal (all offline)."""

import numpy as np
import pytest

import sepkit


@pytest.fixture(scope="session")
def example():
    """``(mix, sources)`` of the bundled BWV 255 example (10 s, mono, 44.1 kHz)."""
    return sepkit.datasets.load_example()


@pytest.fixture
def rng():
    """A fresh seeded generator per test (never numpy's global RNG)."""
    return np.random.default_rng(20240501)


@pytest.fixture(scope="session")
def stereo():
    """0.25 s of seeded white noise, stereo, 16 kHz, label ``'noise'``."""
    audio = 0.1 * np.random.default_rng(7).standard_normal((2, 4001))
    return sepkit.AudioSignal(audio, sample_rate=16000, label="noise")
