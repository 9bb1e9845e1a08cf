"""Input handling shared by every metric: stacking sources, checks, the silence and
duplicate policies, and the assignment of estimates to references."""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..core import AudioSignal, EvaluationError
from ..core.stft_params import MAX_SAMPLE_RATE

__all__ = [
    "Scores",
    "as_sources",
    "check_pair",
    "check_sample_rate",
    "normalise_levels",
    "silent_mask",
    "warn_duplicates",
    "assign",
]

# Peaks inside this band are scored as given (bit-identical to earlier releases); outside
# it every signal is multiplied by one power of two (exact) so the loudest peak is ~1 and
# no energy over- or underflows.
_LEVEL_BAND = (2.0**-100, 2.0**100)
# Largest ratio of the loudest to the quietest non-silent signal that float64 energies
# (squares, summed) represent side by side.
_MAX_RANGE = 1e100


@dataclass
class Scores:
    """What every metric function returns.

    Attributes
    ----------
    values : dict of str to numpy.ndarray, each shape (n_references, n_values)
        Metric name (``'SDR'``, ``'SI-SDR'``, ...) to scores in dB, one row per
        reference (in reference order); the columns are frames, channels or a single
        whole-signal value (see ``axis``). NaN marks an undefined score (e.g. a silent
        frame), ``inf`` a perfect one.
    assignment : numpy.ndarray of int, shape (n_references,)
        Index of the estimate scored against each reference.
    axis : {'frame', 'channel', 'signal'}
        What the columns of ``values`` are.
    info : dict
        JSON-serialisable details (window and hop in seconds, which signal the
        improvements are measured against, ...).
    """

    values: dict
    assignment: np.ndarray
    axis: str
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict: arrays as lists, NaN as ``None``, infinities as strings
        ``'inf'``/``'-inf'``."""

        def clean(x):
            x = float(x)
            if np.isnan(x):
                return None
            if np.isinf(x):
                return "inf" if x > 0 else "-inf"
            return x

        return {
            "values": {k: [[clean(x) for x in row] for row in np.asarray(v)] for k, v in self.values.items()},
            "assignment": [int(i) for i in self.assignment],
            "axis": self.axis,
            "info": self.info,
        }


def as_sources(signals, name: str = "references") -> tuple[np.ndarray, int | None]:
    """Stack sources into a float64 array of shape ``(n_sources, n_channels, n_samples)``.

    Parameters
    ----------
    signals : list of AudioSignal, or array_like
        One signal per source; an array of shape ``(n_sources, n_channels, n_samples)``,
        or ``(n_sources, n_samples)`` for mono.
    name : str
        Argument name, for error messages.

    Returns
    -------
    array : numpy.ndarray, shape (n_sources, n_channels, n_samples)
        float64, a new array.
    sample_rate : int or None
        The signals' common sample rate (``None`` for arrays).

    Raises
    ------
    EvaluationError
        For an empty list, mixed sample rates or shapes, a wrong number of axes, or
        NaN/inf values.
    """
    sample_rate = None
    if isinstance(signals, AudioSignal):
        signals = [signals]
    if isinstance(signals, (list, tuple)) and signals and all(isinstance(s, AudioSignal) for s in signals):
        rates = {s.sample_rate for s in signals}
        if len(rates) != 1:
            raise EvaluationError(f"{name} have different sample rates: {sorted(rates)} Hz")
        shapes = {s.audio_data.shape for s in signals}
        if len(shapes) != 1:
            raise EvaluationError(f"{name} have different shapes (channels, samples): {sorted(shapes)}")
        sample_rate = rates.pop()
        array = np.stack([s.audio_data for s in signals]).astype(np.float64)
    else:
        try:
            array = np.array(signals, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise EvaluationError(
                f"{name} must be a list of AudioSignals or an array (n_sources, n_channels, n_samples): {err}"
            ) from None
        if array.ndim == 2:
            array = array[:, None, :]
    if array.ndim != 3 or 0 in array.shape:
        raise EvaluationError(
            f"{name} must have shape (n_sources, n_channels, n_samples) with no empty axis, got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise EvaluationError(f"{name} contain NaN or infinite values")
    return array, sample_rate


def check_sample_rate(sample_rate):
    """``sample_rate`` as an int (None passes through): a positive whole number of Hz.

    Raises
    ------
    EvaluationError
        Naming ``sample_rate`` for a non-number, a bool, NaN/inf, zero, a negative, a
        fractional value or one above ``sepkit.core.stft_params.MAX_SAMPLE_RATE`` (2**31 - 1, as
        :class:`~sepkit.AudioSignal`).
    """
    if sample_rate is None:
        return None
    ok = isinstance(sample_rate, numbers.Real) and not isinstance(sample_rate, (bool, np.bool_))
    if ok:
        try:
            value = float(sample_rate)
        except OverflowError:  # an int beyond float's range
            value = math.inf
        ok = math.isfinite(value) and 0 < value <= MAX_SAMPLE_RATE and value.is_integer()
    if not ok:
        raise EvaluationError(
            f"sample_rate must be a positive whole number of Hz, at most {MAX_SAMPLE_RATE}, got {_short(sample_rate)}"
        )
    return int(sample_rate)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _peaks(array: np.ndarray) -> np.ndarray:
    return np.abs(array).reshape(array.shape[0], -1).max(axis=1)


def normalise_levels(**signals) -> list:
    """Bring signals to a level where their energies are representable, in place.

    Every metric here is unchanged when all its inputs are multiplied by one factor. When
    the loudest peak is outside ``[2**-100, 2**100]``, every array is multiplied by the
    same power of two (exact, no rounding) so that the loudest peak is in ``[0.5, 1)``;
    inside that band nothing changes.

    Parameters
    ----------
    **signals : numpy.ndarray of float64, shape (n_signals, ...)
        Named arrays (names for messages); modified in place, None entries skipped.

    Returns
    -------
    list of numpy.ndarray
        The arrays, in the order given.

    Raises
    ------
    EvaluationError
        If a non-silent signal peaks more than 1e100 below the loudest one: its energy
        cannot be represented next to the loudest one in float64. The message names both
        signals and their peaks.
    """
    named = [(name, array) for name, array in signals.items() if array is not None]
    peaks = [(name, _peaks(array)) for name, array in named]
    loud_name, loud_i, loud = max(
        ((name, int(np.argmax(p)), float(p.max())) for name, p in peaks), key=lambda item: item[2]
    )
    if loud == 0.0:
        return [array for array in signals.values()]
    quiet = [(float(p[i]), name, i) for name, p in peaks for i in np.flatnonzero(p > 0)]
    q, q_name, q_i = min(quiet)
    if loud / q > _MAX_RANGE:
        raise EvaluationError(
            f"{q_name}[{q_i}] peaks at {q:.3g} and {loud_name}[{loud_i}] at {loud:.3g}: levels more than "
            f"{_MAX_RANGE:.0e} apart cannot be scored in float64 (rescale the signals or zero the quiet one)"
        )
    if not _LEVEL_BAND[0] <= loud <= _LEVEL_BAND[1]:
        exponent = math.frexp(loud)[1]
        for _, array in named:
            np.ldexp(array, -exponent, out=array)
    return [array for array in signals.values()]


def check_pair(references: np.ndarray, estimates: np.ndarray, allow_more_estimates: bool = True) -> None:
    """Raise unless references and estimates share channels and length (and, unless
    ``allow_more_estimates``, the number of sources); at least as many estimates as
    references are needed."""
    if references.shape[1:] != estimates.shape[1:]:
        raise EvaluationError(
            f"references and estimates must have the same (n_channels, n_samples), got "
            f"{references.shape[1:]} and {estimates.shape[1:]}"
        )
    if estimates.shape[0] < references.shape[0] or (
        not allow_more_estimates and estimates.shape[0] != references.shape[0]
    ):
        raise EvaluationError(
            f"got {estimates.shape[0]} estimates for {references.shape[0]} references: "
            + ("at least" if allow_more_estimates else "exactly")
            + " one estimate per reference is needed"
        )


def silent_mask(signals: np.ndarray, axis=(-2, -1)) -> np.ndarray:
    """True where a signal is all zeros over ``axis`` (channels and samples by default)."""
    return ~np.any(signals != 0, axis=axis)


def warn_duplicates(estimates: np.ndarray) -> None:
    """Warn (``UserWarning``) when two estimates are identical: usually a typo that
    scores one estimate twice."""
    n = estimates.shape[0]
    flat = estimates.reshape(n, -1)
    for a in range(n):
        for b in range(a + 1, n):
            if np.array_equal(flat[a], flat[b]):
                warnings.warn(
                    f"estimates {a} and {b} are identical: check that each source has its own estimate",
                    UserWarning,
                    stacklevel=3,
                )


def assign(scores: np.ndarray, maximize: bool = True) -> np.ndarray:
    """Assign one estimate to each reference with the Hungarian algorithm.

    Parameters
    ----------
    scores : numpy.ndarray, shape (n_references, n_estimates)
        Pairwise score of every (reference, estimate) pair, ``n_estimates >=
        n_references``. NaN counts as the worst possible score.
    maximize : bool
        Maximise the total score (e.g. SDR); ``False`` minimises it (e.g. an error).

    Returns
    -------
    numpy.ndarray of int, shape (n_references,)
        ``assignment[i]`` is the index of the estimate matched to reference ``i``.

    Raises
    ------
    EvaluationError
        If there are fewer estimates than references.
    """
    from scipy.optimize import linear_sum_assignment

    try:
        scores = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise EvaluationError(f"scores must be a numeric array (n_references, n_estimates): {err}") from None
    if scores.ndim != 2 or scores.shape[1] < scores.shape[0]:
        raise EvaluationError(
            f"scores must have shape (n_references, n_estimates) with n_estimates >= n_references, got {scores.shape}"
        )
    # linear_sum_assignment needs finite costs: map +-inf (and NaN, as the worst score)
    # beyond every finite value. Two assignments' finite totals differ by at most
    # 2 * n_references * max|score|, so span must exceed that for one more infinite
    # (or NaN) entry to always outweigh any finite difference.
    bounded = scores[np.isfinite(scores)]
    span = (np.abs(bounded).max() + 1.0) * (2 * scores.shape[0] + 1) if bounded.size else 1.0
    worst = -span if maximize else span
    finite = np.nan_to_num(scores, nan=worst, posinf=span, neginf=-span)
    rows, cols = linear_sum_assignment(finite, maximize=maximize)
    assignment = np.empty(scores.shape[0], dtype=np.intp)
    assignment[rows] = cols
    return assignment
