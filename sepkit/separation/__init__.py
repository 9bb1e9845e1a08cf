"""Separators. Each takes a mixture :class:`~sepkit.AudioSignal` and returns one signal per source.

>>> estimates = sepkit.separation.IdealMask(mix, sources)()

Every separator is registered by name (:func:`available`, :func:`get_separator`); the
command line, the evaluation presets and the demo are derived from the registry.
"""

from .base import MaskSeparationBase, SeparationBase
from .clustering import ClusteringSeparationBase
from .benchmark import HighLowPassFilter, IdealBinaryMask, IdealMask, IdealRatioMask, MixAsEstimate, WienerFilter
from .dictsep import DictSep
from .nmf import NMF, NMFD, SNPA
from .primitive import FT2D, HPSS, Melody, Repet, RepetSim, TimbreClustering
from .factorization import ICA, RPCA
from .composite import EnsembleClustering, OverlapAdd
from .spatial import Duet, Projet, SpatialClustering
from .multichannel import AuxIVA, FastMNMF2, ILRMA
from .registry import available, get_separator, register

__all__ = [
    "SeparationBase",
    "MaskSeparationBase",
    "ClusteringSeparationBase",
    "IdealMask",
    "IdealBinaryMask",
    "IdealRatioMask",
    "WienerFilter",
    "MixAsEstimate",
    "HighLowPassFilter",
    "NMF",
    "NMFD",
    "SNPA",
    "DictSep",
    "HPSS",
    "Repet",
    "RepetSim",
    "FT2D",
    "TimbreClustering",
    "RPCA",
    "Melody",
    "OverlapAdd",
    "Duet",
    "SpatialClustering",
    "Projet",
    "ICA",
    "EnsembleClustering",
    "AuxIVA",
    "ILRMA",
    "FastMNMF2",
    "available",
    "get_separator",
    "register",
]

