"""sepkit: audio source separation with classic methods, fast and tested.

>>> import sepkit
>>> mix, sources = sepkit.datasets.load_example()
>>> estimates = sepkit.separation.IdealMask(mix, sources)()

The subpackages :mod:`sepkit.separation`, :mod:`sepkit.evaluation` and
:mod:`sepkit.datasets` are imported on first access, so ``import sepkit`` stays light.
"""

import importlib

from .core import (
    AudioIOError,
    AudioSignal,
    AudioSignalError,
    BinaryMask,
    DatasetError,
    DecompositionError,
    EvaluationError,
    MaskError,
    SeparationError,
    SepkitError,
    SoftMask,
    STFTParams,
    STFTParamsError,
)

__version__ = "0.1.0"

_SUBMODULES = ("core", "kernels", "decomposition", "filtering", "separation", "evaluation", "datasets")

__all__ = [
    "AudioSignal",
    "STFTParams",
    "SoftMask",
    "BinaryMask",
    "SepkitError",
    "AudioSignalError",
    "AudioIOError",
    "STFTParamsError",
    "MaskError",
    "SeparationError",
    "EvaluationError",
    "DatasetError",
    "DecompositionError",
    *_SUBMODULES,
]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sepkit' has no attribute {name!r}")


def __dir__():
    return sorted(__all__ + ["__version__"])
