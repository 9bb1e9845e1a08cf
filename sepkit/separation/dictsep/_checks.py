"""Argument checks shared by the DictSep modules (one helper per concern)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...core.errors import SeparationError


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int if it is an integer (not a bool) ``>= minimum``, else SeparationError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise SeparationError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(name: str, value) -> float:
    """``value`` as a float if it is a finite real number ``> 0``, else SeparationError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        math.isfinite(value) and value > 0
    ):
        raise SeparationError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_log_spectrogram(Y) -> np.ndarray:
    """A finite, non-negative, real ``(M, n_frames)`` array as C-ordered float64, else SeparationError."""
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[0] < 2 or Y.shape[1] < 1 or Y.dtype.kind not in "biuf":
        raise SeparationError(f"Y must be a real array of shape (M, n_frames), got {Y.dtype} {Y.shape}")
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if not np.all(np.isfinite(Y)) or np.any(Y < 0):
        raise SeparationError("Y must be finite and non-negative")
    return Y
