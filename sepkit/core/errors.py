"""Exception hierarchy of sepkit.

Every error sepkit raises on bad input is a :class:`SepkitError`. The concrete
classes also derive from :class:`ValueError` (or :class:`OSError` for files), so
code that already catches those keeps working.
"""

__all__ = [
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


class SepkitError(Exception):
    """Base class of every error raised by sepkit."""


class AudioSignalError(SepkitError, ValueError):
    """Invalid audio data, sample rate, channel or length."""


class AudioIOError(SepkitError, OSError):
    """An audio file could not be read or written."""


class STFTParamsError(SepkitError, ValueError):
    """Invalid STFT parameters: window length, hop length or window type."""


class MaskError(SepkitError, ValueError):
    """A mask has the wrong shape, dtype or values."""


class SeparationError(SepkitError, ValueError):
    """A separator was given invalid parameters or inputs, or was used out of order."""


class EvaluationError(SepkitError, ValueError):
    """Invalid references, estimates or metric parameters."""


class DatasetError(SepkitError, ValueError):
    """A dataset folder is missing files or holds inconsistent audio."""


class DecompositionError(SepkitError, ValueError):
    """Invalid input to a matrix decomposition (negative, NaN or wrongly shaped factors)."""
