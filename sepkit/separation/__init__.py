"""Separators. Each takes a mixture :class:`~sepkit.AudioSignal` and returns one signal per source.

>>> estimates = sepkit.separation.IdealMask(mix, sources)()
"""

from .base import MaskSeparationBase, SeparationBase
from .benchmark import HighLowPassFilter, IdealBinaryMask, IdealMask, IdealRatioMask, MixAsEstimate, WienerFilter
from .dictsep import DictSep
from .nmf import NMF, NMFD, SNPA

__all__ = [
    "SeparationBase",
    "MaskSeparationBase",
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
]
