"""Determined multichannel blind source separation: as many microphones as sources (AuxIVA, ILRMA, FastMNMF2)."""

# Helper M (issue 12): AuxIVA and ILRMA register on import.
from .aux_iva import AuxIVA, DeterminedBSSBase  # noqa: E402
from .ilrma import ILRMA  # noqa: E402

__all__ = ["AuxIVA", "DeterminedBSSBase", "ILRMA"]

# Helper M2 (issue 12): FastMNMF2 registers on import.
from .fast_mnmf2 import FastMNMF2  # noqa: E402

__all__ += ["FastMNMF2"]
