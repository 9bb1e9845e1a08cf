"""Benchmark separators: oracle masks (upper bounds), the Wiener post-filter, trivial baselines (lower bounds)."""

# Import order is registration order (the order of `sepkit separate --help`): oracles first.
from .ideal_mask import IdealBinaryMask, IdealMask, IdealRatioMask  # isort: skip
from .wiener_filter import WienerFilter  # isort: skip
from .baselines import HighLowPassFilter, MixAsEstimate  # isort: skip

__all__ = ["IdealMask", "IdealBinaryMask", "IdealRatioMask", "WienerFilter", "MixAsEstimate", "HighLowPassFilter"]
