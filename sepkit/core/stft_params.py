"""STFT parameters: window length, hop length and window type, validated once."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .errors import STFTParamsError
from .validation import check_int

__all__ = [
    "STFTParams",
    "get_window",
    "default_window_length",
    "WINDOW_ALIASES",
    "MAX_SAMPLE_RATE",
    "MAX_WINDOW_LENGTH",
    "MAX_DEFAULT_WINDOW_LENGTH",
]

#: Window names sepkit understands besides every :func:`scipy.signal.get_window` name.
WINDOW_ALIASES = {"rectangular": "boxcar", "rect": "boxcar"}
DEFAULT_WINDOW_TYPE = "sqrt_hann"
DEFAULT_WINDOW_SECONDS = 0.032
#: Largest sample rate accepted: libsndfile and WAV headers store it as a 32-bit integer.
MAX_SAMPLE_RATE = 2**31 - 1
#: Largest window (and FFT) length accepted: 2**24 samples (128 MB per float64 window,
#: 6 minutes at 44.1 kHz); longer ones cannot be allocated as STFT frames in practice.
MAX_WINDOW_LENGTH = 2**24
#: Cap of the default window length: nussl's 32 ms reaches it at 32.8 MHz, so only
#: sample rates above that get a window shorter than 32 ms by default.
MAX_DEFAULT_WINDOW_LENGTH = 2**20


def default_window_length(sample_rate: float) -> int:
    """Return nussl's default window length: 32 ms rounded up to a power of two.

    Parameters
    ----------
    sample_rate : float
        Sample rate in Hz.

    Returns
    -------
    int
        ``2 ** ceil(log2(0.032 * sample_rate))``: 2048 at 44.1 and 48 kHz, 512 at 16 kHz;
        at most :data:`MAX_DEFAULT_WINDOW_LENGTH` (2**20, reached above 32.8 MHz).
    """
    try:
        samples = DEFAULT_WINDOW_SECONDS * sample_rate
        valid = math.isfinite(samples) and samples > 0 and sample_rate <= MAX_SAMPLE_RATE
    except (TypeError, OverflowError):
        valid = False
    if not valid:
        raise STFTParamsError(
            f"sample_rate must be a positive number in Hz, at most {MAX_SAMPLE_RATE}, got {sample_rate!r}"
        )
    # At least one sample: below 31.25 Hz the 32 ms window is shorter than a sample.
    return int(min(2 ** max(0, math.ceil(math.log2(samples))), MAX_DEFAULT_WINDOW_LENGTH))


@lru_cache(maxsize=64)
def _cached_window(window_type, length: int) -> np.ndarray:
    if window_type == "sqrt_hann":
        window = np.sqrt(_cached_window("hann", length))
    else:
        import scipy.signal  # imported lazily: it takes most of a second

        name = WINDOW_ALIASES.get(window_type, window_type)
        try:
            window = scipy.signal.get_window(name, length, fftbins=True)
        # scipy raises IndexError for an empty tuple, OverflowError for ('chebwin', 1e4), ...
        except (ValueError, TypeError, IndexError, ArithmeticError) as err:
            raise STFTParamsError(
                f"unknown window_type {window_type!r}: expected 'sqrt_hann', 'hann', 'hamming', "
                f"'blackman', 'rectangular' or another scipy.signal.get_window name ({err})"
            ) from None
        window = np.asarray(window, dtype=np.float64)
        if not np.all(np.isfinite(window)):
            raise STFTParamsError(
                f"window_type {window_type!r} gives a window with NaN or infinite values "
                f"at length {length}: check its parameters"
            )
    window.flags.writeable = False
    return window


def get_window(window_type, length: int) -> np.ndarray:
    """Return a periodic analysis window.

    Parameters
    ----------
    window_type : str or tuple
        ``'sqrt_hann'``, ``'rectangular'`` or any :func:`scipy.signal.get_window` name
        (a tuple such as ``('kaiser', 8.0)`` for windows with a parameter).
    length : int
        Window length in samples.

    Returns
    -------
    numpy.ndarray, shape (length,)
        The window, float64, read-only (it is cached).

    Raises
    ------
    STFTParamsError
        If the window type is unknown.
    """
    try:
        hash(window_type)
    except TypeError:
        raise STFTParamsError(
            f"window_type must be a string or a tuple, got {type(window_type).__name__}"
        ) from None
    return _cached_window(window_type, int(length))


def _check_nola(window: np.ndarray, hop_length: int, window_type) -> None:
    """Raise unless the squared window overlap-added at ``hop_length`` is nonzero everywhere,
    including at the ends of a finite signal framed as in :func:`sepkit.core.stft`."""
    length = window.shape[0]
    n_shifts = -(-length // hop_length)
    padded = np.zeros(n_shifts * hop_length)
    padded[:length] = window**2
    coverage = padded.reshape(n_shifts, hop_length).sum(axis=0)
    if coverage.min() <= 1e-10 * max(coverage.max(), np.finfo(float).tiny):
        raise STFTParamsError(
            f"window {window_type!r} of length {length} with hop_length {hop_length} cannot be "
            "inverted: the overlap-added squared window is zero somewhere (NOLA condition "
            "fails); use a smaller hop_length or another window"
        )
    # The ends of a finite signal: with centred frames (see sepkit.core.stft), sample k of a
    # signal of at most hop samples is seen only at window offsets W//2 + k and W//2 + k - hop,
    # and every sample of a longer signal is seen at least at the two offsets of its residue
    # class, so these must not both vanish. Windows whose mass sits away from the centre
    # (e.g. ('general_gaussian', -5.0, 2.0)) pass NOLA but fail this.
    squared = np.zeros(length + 2 * hop_length)
    squared[hop_length : hop_length + length] = window**2  # squared[hop + i] = w[i] ** 2, else 0
    offsets = length // 2 + np.arange(hop_length)
    edge = squared[hop_length + offsets] + squared[offsets]
    if edge.min() <= 1e-10 * max(coverage.max(), np.finfo(float).tiny):
        raise STFTParamsError(
            f"window {window_type!r} of length {length} with hop_length {hop_length} cannot "
            "invert the first or last samples of a signal: the window vanishes around its "
            "centre; use a smaller hop_length or another window"
        )


@dataclass(frozen=True)
class STFTParams:
    """Short-time Fourier transform parameters.

    Fields left as ``None`` are filled from the sample rate by :meth:`resolve` with
    nussl's defaults: a window of 32 ms rounded up to a power of two (2048 samples at
    44.1 kHz), a hop of a quarter window, and a square-root Hann window.

    Parameters
    ----------
    window_length : int or None
        Window (and FFT) length in samples.
    hop_length : int or None
        Hop between frames in samples, at most ``window_length``.
    window_type : str, tuple or None
        ``'sqrt_hann'``, ``'hann'``, ``'hamming'``, ``'blackman'``, ``'rectangular'``
        or any :func:`scipy.signal.get_window` name.

    Raises
    ------
    STFTParamsError
        If a length is not a positive integer at most :data:`MAX_WINDOW_LENGTH` (2**24),
        the hop exceeds the window, the window
        type is unknown, or the window/hop pair cannot be inverted (NOLA).

    Examples
    --------
    >>> STFTParams(1024, 256, "hann")
    STFTParams(window_length=1024, hop_length=256, window_type='hann')
    >>> STFTParams().resolve(44100)
    STFTParams(window_length=2048, hop_length=512, window_type='sqrt_hann')
    """

    window_length: int | None = None
    hop_length: int | None = None
    window_type: str | tuple | None = None

    def __post_init__(self):
        if self.window_length is not None:
            window_length = check_int(
                "window_length", self.window_length, 1, MAX_WINDOW_LENGTH, error=STFTParamsError
            )
            object.__setattr__(self, "window_length", window_length)
        if self.hop_length is not None:
            hop_length = check_int("hop_length", self.hop_length, 1, MAX_WINDOW_LENGTH, error=STFTParamsError)
            object.__setattr__(self, "hop_length", hop_length)
        if self.window_length is not None and self.hop_length is not None:
            if self.hop_length > self.window_length:
                raise STFTParamsError(
                    f"hop_length ({self.hop_length}) must not exceed window_length "
                    f"({self.window_length})"
                )
        if self.window_type is not None:
            if not isinstance(self.window_type, (str, tuple)):
                raise STFTParamsError(
                    f"window_type must be a string or a tuple, got {self.window_type!r}"
                )
            # Validate the name now, even before a length is known.
            get_window(self.window_type, self.window_length or 16)
        if self.is_complete:
            _check_nola(self.window, self.hop_length, self.window_type)

    @property
    def is_complete(self) -> bool:
        """True when no field is ``None``."""
        return None not in (self.window_length, self.hop_length, self.window_type)

    @property
    def window(self) -> np.ndarray:
        """The analysis window, shape ``(window_length,)``; needs complete parameters."""
        if not self.is_complete:
            raise STFTParamsError(f"{self} is incomplete: call resolve(sample_rate) first")
        return get_window(self.window_type, self.window_length)

    @property
    def n_freq(self) -> int:
        """Number of frequency bins, ``window_length // 2 + 1``."""
        if self.window_length is None:
            raise STFTParamsError(f"{self} has no window_length: call resolve(sample_rate) first")
        return self.window_length // 2 + 1

    def resolve(self, sample_rate: float) -> "STFTParams":
        """Return complete parameters, filling ``None`` fields from ``sample_rate``.

        Parameters
        ----------
        sample_rate : float
            Sample rate in Hz.

        Returns
        -------
        STFTParams
            Parameters with every field set (``self`` if already complete).
        """
        if self.is_complete:
            return self
        window_length = self.window_length or default_window_length(sample_rate)
        hop_length = self.hop_length or max(window_length // 4, 1)
        window_type = self.window_type or DEFAULT_WINDOW_TYPE
        return replace(
            self, window_length=window_length, hop_length=hop_length, window_type=window_type
        )
