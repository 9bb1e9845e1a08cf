"""Core objects: :class:`AudioSignal`, :class:`STFTParams`, masks, STFT and errors."""

from .audio_signal import AudioSignal
from .errors import (
    AudioIOError,
    AudioSignalError,
    DatasetError,
    DecompositionError,
    EvaluationError,
    MaskError,
    SeparationError,
    SepkitError,
    STFTParamsError,
)
from .masks import BinaryMask, MaskBase, SoftMask
from .stft import istft, stft
from .stft_params import STFTParams, get_window

__all__ = [
    "AudioSignal",
    "STFTParams",
    "SoftMask",
    "BinaryMask",
    "MaskBase",
    "stft",
    "istft",
    "get_window",
    "SepkitError",
    "AudioSignalError",
    "AudioIOError",
    "STFTParamsError",
    "MaskError",
    "SeparationError",
    "EvaluationError",
    "DatasetError",
    "DecompositionError",
]
