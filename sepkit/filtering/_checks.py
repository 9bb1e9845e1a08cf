"""Argument checks and small helpers shared by :mod:`sepkit.filtering`."""

from __future__ import annotations

import numpy as np

from ..core.errors import SeparationError
from ..core.validation import check_array, check_nonneg, check_probability

_CHUNK_BINS = 16  # frequency bins per dynamically scheduled chunk of the parallel kernels
_ERR = SeparationError


# -- argument checks ------------------------------------------------------------------------------
def _mixture(x) -> np.ndarray:
    """``x`` checked: a finite 3-D (n_frames, n_bins, n_channels) array."""
    return check_array("x", x, ndim=3, kinds="biufc", what="mixture STFT (n_frames, n_bins, n_channels)", error=_ERR)


def _models(v, x, name="v") -> np.ndarray:
    """``v`` checked against ``x``: nonnegative, finite, (n_frames, n_bins, {1, n_channels}, n_sources)."""
    v = check_array(name, v, ndim=4, nonneg=True, what="model array (n_frames, n_bins, n_channels, n_sources)",
                    error=_ERR)
    n_frames, n_bins, n_channels = x.shape
    if v.shape[:2] != (n_frames, n_bins) or v.shape[2] not in (1, n_channels):
        raise _ERR(
            f"{name} has shape {v.shape}, expected ({n_frames}, {n_bins}, {{1, {n_channels}}}, n_sources) "
            f"to match x of shape {x.shape}"
        )
    return v


def _eps(x, eps) -> float:
    """``eps``, or norbert's default: the machine epsilon of ``x``'s real dtype."""
    if eps is None:
        return float(np.finfo(x.dtype if x.dtype.kind in "fc" else np.float64).eps)
    return check_nonneg("eps", eps, error=_ERR)


def _threshold(name, value):
    return None if value is None else check_probability(name, value, open_interval=True, error=_ERR)


def _complex_dtype(x):
    """The dtype of estimates of mixture ``x``: complex64 for a single-precision mixture."""
    return np.dtype(np.complex64) if x.dtype in (np.complex64, np.float32) else np.dtype(np.complex128)


def _frequency_first(a, dtype):
    """``a`` with its first two axes swapped, converted to ``dtype`` (a view when it already is)."""
    return np.swapaxes(np.asarray(a, dtype=dtype), 0, 1)


def _raise_if_singular(n_bad, eps) -> None:
    bad = int(n_bad.sum())
    if bad:
        raise _ERR(
            f"the mixture covariance is singular in {bad} time-frequency bins with eps={eps!r}; "
            "use eps > 0 (None gives the machine epsilon)"
        )


def _logistic(values, thresh, slope):
    return 1.0 / (1.0 + np.exp(-slope * (values - thresh)))
