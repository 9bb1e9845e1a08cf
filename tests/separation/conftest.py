"""Fixtures shared by the separation tests: pyroomacoustics' parity and quality data (AuxIVA, ILRMA),
and the foreground/background scores on the bundled loop example (REPET, REPET-SIM, FT2D)."""

import json
import os

import numpy as np
import pytest

PRA_DATA = os.path.join(os.path.dirname(__file__), "..", "data", "pyroomacoustics")


@pytest.fixture(scope="session")
def pra_parity():
    """Arrays of ``tests/data/pyroomacoustics/bss_parity.npz`` (see its README)."""
    with np.load(os.path.join(PRA_DATA, "bss_parity.npz")) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def pra_quality():
    """``tests/data/pyroomacoustics/bss_quality.json``: pyroomacoustics' measured scores."""
    with open(os.path.join(PRA_DATA, "bss_quality.json")) as file:
        return json.load(file)


@pytest.fixture(scope="session")
def loop_sdr():
    """``score(Separator, **params) -> (sdr, baseline)`` on the bundled loop example.

    Both are BSS Eval v4 SDR over the whole signal (dB, ``[background, foreground]``): of the
    separator's estimates, and of MixAsEstimate's.
    """
    import sepkit
    from sepkit.evaluation import bss_eval_v4

    mix, sources = sepkit.datasets.load_foreground_background_example("loop")
    refs = [sources["background"], sources["foreground"]]

    def sdr(estimates):
        return bss_eval_v4(refs, estimates, window=None, hop=None).values["SDR"][:, 0]

    baseline = sdr(sepkit.separation.MixAsEstimate(mix, num_sources=2)())
    return lambda separator, **params: (sdr(separator(mix, **params)()), baseline)
