"""Fixtures shared by the separation tests: pyroomacoustics' parity and quality data (AuxIVA, ILRMA)."""

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
