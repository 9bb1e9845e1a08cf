"""Argument checks: the one home of sepkit's validation.

Every public function and separator checks its arguments with these helpers, so a bad
value gets the same wording everywhere: the argument's name, the value given and what
was expected. Each helper takes the error class to raise (``error=``), so a
decomposition raises :class:`~sepkit.DecompositionError`, a separator
:class:`~sepkit.SeparationError`, and so on; all are :class:`~sepkit.SepkitError`.

>>> check_int("n_iter", 30, minimum=1)
30
>>> check_real("alpha", 2, minimum=0.0, inclusive=False)
2.0
>>> check_choice("mode", "Fast", ("fast", "faithful"))
'fast'
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import SepkitError

__all__ = [
    "is_int",
    "is_real",
    "check_int",
    "check_real",
    "check_positive",
    "check_nonneg",
    "check_probability",
    "check_bool",
    "check_choice",
    "check_seed",
    "default_rng",
    "check_array",
]


def is_int(value) -> bool:
    """Whether ``value`` is an integer (Python or numpy), bools excluded."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value) -> bool:
    """Whether ``value`` is a real number (Python or numpy, integers included), bools excluded."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _bounds_text(minimum, maximum, inclusive) -> str:
    low_op, high_op = (">=", "<=") if inclusive else (">", "<")
    parts = []
    if minimum is not None:
        parts.append(f"{low_op} {minimum}")
    if maximum is not None:
        parts.append(f"{high_op} {maximum}")
    return " and ".join(parts)


def check_int(name: str, value, minimum=None, maximum=None, *, error=SepkitError) -> int:
    """``value`` as an int, if it is an integer within ``[minimum, maximum]``.

    Parameters
    ----------
    name : str
        Argument name, for the message.
    value : object
    minimum, maximum : int or None
        Inclusive bounds; None for none.
    error : type
        Exception class raised (a :class:`~sepkit.SepkitError` subclass).

    Returns
    -------
    int

    Raises
    ------
    error
        For a non-integer (floats and bools included) or a value out of bounds.
    """
    if not is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = _bounds_text(minimum, maximum, True)
        raise error(f"{name} must be an integer{' ' + bounds if bounds else ''}, got {value!r}")
    return int(value)


def check_real(name: str, value, minimum=None, maximum=None, *, inclusive=True, finite=True,
               error=SepkitError) -> float:
    """``value`` as a float, if it is a real number within the bounds.

    Parameters
    ----------
    name : str
        Argument name, for the message.
    value : object
    minimum, maximum : float or None
        Bounds; None for none.
    inclusive : bool
        Whether the bounds themselves are allowed.
    finite : bool
        Refuse infinities (NaN is always refused).
    error : type
        Exception class raised.

    Returns
    -------
    float

    Raises
    ------
    error
        For a non-number, a bool, NaN, an infinity (with ``finite``) or a value out of bounds.
    """
    ok = is_real(value) and not math.isnan(value) and (not finite or math.isfinite(value))
    if ok and minimum is not None:
        ok = value >= minimum if inclusive else value > minimum
    if ok and maximum is not None:
        ok = value <= maximum if inclusive else value < maximum
    if not ok:
        bounds = _bounds_text(minimum, maximum, inclusive)
        kind = "a finite real number" if finite else "a real number"
        raise error(f"{name} must be {kind}{' ' + bounds if bounds else ''}, got {value!r}")
    return float(value)


def check_positive(name: str, value, *, error=SepkitError) -> float:
    """``value`` as a float, if it is a finite real number > 0."""
    return check_real(name, value, 0.0, inclusive=False, error=error)


def check_nonneg(name: str, value, *, error=SepkitError) -> float:
    """``value`` as a float, if it is a finite real number >= 0."""
    return check_real(name, value, 0.0, error=error)


def check_probability(name: str, value, *, open_interval=False, error=SepkitError) -> float:
    """``value`` as a float in [0, 1] (in (0, 1) with ``open_interval``)."""
    return check_real(name, value, 0.0, 1.0, inclusive=not open_interval, error=error)


def check_bool(name: str, value, *, error=SepkitError) -> bool:
    """``value`` as a bool, if it is True or False (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value, choices, *, case_sensitive=False, error=SepkitError):
    """``value`` if it is one of ``choices`` (strings compared without case by default).

    Returns
    -------
    object
        The matching element of ``choices`` (so ``'Fast'`` gives ``'fast'``).
    """
    for choice in choices:
        if value == choice or (
            not case_sensitive and isinstance(value, str) and isinstance(choice, str) and value.lower() == choice.lower()
        ):
            return choice
    raise error(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")


def check_seed(seed, *, error=SepkitError):
    """``seed`` if it is None, a nonnegative integer (as an int) or a ``numpy.random.Generator``.

    Separators store the checked seed and call :func:`default_rng` in ``run()``, so that
    running twice gives the same result.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if is_int(seed) and seed >= 0:
        return int(seed)
    raise error(f"seed must be None, a nonnegative int or a numpy.random.Generator, got {seed!r}")


def default_rng(seed, *, error=SepkitError) -> np.random.Generator:
    """A generator from ``seed``: a Generator is used as it is, else ``numpy.random.default_rng(seed)``.

    numpy's global RNG is never used.
    """
    seed = check_seed(seed, error=error)
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_array(name: str, value, *, ndim=None, shape=None, kinds="biuf", dtype=None, finite=True,
                nonneg=False, allow_empty=False, copy=False, what="array", error=SepkitError) -> np.ndarray:
    """``value`` as a numpy array, checked for dimensions, shape, kind and values.

    Parameters
    ----------
    name : str
        Argument name, for the message.
    value : array_like
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        Required shape; an entry None matches any length.
    kinds : str
        Allowed ``dtype.kind`` letters: ``'biuf'`` real (the default), ``'biufc'`` real or
        complex, ``'c'`` complex only.
    dtype : numpy.dtype, optional
        Convert to this dtype (C order).
    finite : bool
        Refuse NaN and infinities.
    nonneg : bool
        Refuse negative values.
    allow_empty : bool
        Accept an array with no element.
    copy : bool
        Return a private copy (else the caller's array when no conversion is needed; it
        must then only be read).
    what : str
        What the array is, for messages.
    error : type
        Exception class raised.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    error
        For ragged or non-numeric input, a wrong kind, dimension count or shape, an empty
        array, NaN/inf or negative values, naming the argument.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested sequences and the like
        raise error(f"{name} must be a numeric {what}: {exc}") from None
    if array.dtype.kind not in kinds:
        expected = {"biuf": "real numbers", "biufc": "numbers", "c": "complex numbers"}.get(kinds, f"kind {kinds!r}")
        raise error(f"{name} must be a {what} of {expected}, got dtype {array.dtype}")
    if ndim is not None:
        allowed = (ndim,) if is_int(ndim) else tuple(ndim)
        if array.ndim not in allowed:
            dims = " or ".join(f"{d}-D" for d in allowed)
            raise error(f"{name} must be a {dims} {what}, got shape {array.shape}")
    if shape is not None and (
        array.ndim != len(shape) or any(want is not None and want != got for want, got in zip(shape, array.shape))
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise error(f"{name} must have shape {want}, got {array.shape}")
    if array.size == 0 and not allow_empty:
        raise error(f"{name} must not be empty, got shape {array.shape}")
    if dtype is not None or copy:
        array = np.array(array, dtype=dtype, order="C", copy=True if copy else None)
    if finite and array.size and not np.all(np.isfinite(array)):
        raise error(f"{name} contains {int(np.sum(~np.isfinite(array)))} NaN or infinite values")
    if nonneg and array.size and array.dtype.kind != "c" and array.min() < 0:
        raise error(f"{name} must be nonnegative, got a minimum of {float(array.min())!r}")
    return array
