"""Time-frequency masks: thin validated wrappers over ``(n_freq, n_frames, n_channels)`` arrays."""

from __future__ import annotations

import numpy as np

from .errors import MaskError
from .validation import check_int, is_int

__all__ = ["MaskBase", "SoftMask", "BinaryMask"]


class MaskBase:
    """A read-only time-frequency mask of shape ``(n_freq, n_frames, n_channels)``.

    Parameters
    ----------
    mask : array_like, shape (n_freq, n_frames, n_channels) or (n_freq, n_frames)
        Mask values; a 2-D mask gets a channel axis of length 1.
    copy : bool
        Copy the values (default), so later changes to ``mask`` cannot reach this object.

    Raises
    ------
    MaskError
        If the shape is not 2-D or 3-D, an axis is empty, or the values do not suit the
        subclass.
    """

    def __init__(self, mask, copy: bool = True):
        try:
            array = np.array(mask, copy=copy) if copy else np.asarray(mask)
        except (ValueError, TypeError) as err:  # e.g. ragged nested lists
            raise MaskError(f"a mask must be a rectangular array: {err}") from None
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3 or 0 in array.shape:
            raise MaskError(
                f"a mask must have shape (n_freq, n_frames, n_channels) with no empty axis, "
                f"got shape {array.shape}"
            )
        # A read-only view: the flag change never reaches the caller's array.
        self._mask = self._validate(array).view()
        self._mask.flags.writeable = False

    def _validate(self, array: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def mask(self) -> np.ndarray:
        """The values, read-only, shape ``(n_freq, n_frames, n_channels)``."""
        return self._mask

    @property
    def shape(self) -> tuple:
        """``(n_freq, n_frames, n_channels)``."""
        return self._mask.shape

    @property
    def num_channels(self) -> int:
        """Number of channels of the mask."""
        return self._mask.shape[2]

    def get_channel(self, channel: int) -> np.ndarray:
        """Return channel ``channel`` as an ``(n_freq, n_frames)`` array."""
        return self._mask[:, :, check_int("channel", channel, 0, self.num_channels - 1, error=MaskError)]

    @classmethod
    def ones(cls, shape):
        """A mask of ones (passes everything) of the given ``(n_freq, n_frames, n_channels)`` shape."""
        return cls(np.ones(_check_shape(shape), dtype=cls._ones_dtype), copy=False)

    @classmethod
    def zeros(cls, shape):
        """A mask of zeros (passes nothing) of the given ``(n_freq, n_frames, n_channels)`` shape."""
        return cls(np.zeros(_check_shape(shape), dtype=cls._ones_dtype), copy=False)

    def invert(self):
        """Return the complementary mask (``1 - m`` or logical not)."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape}, dtype={self._mask.dtype})"


def _check_shape(shape) -> tuple:
    try:
        items = tuple(shape)
    except TypeError:
        items = None
    if items is None or not all(is_int(n) for n in items):
        # like numpy: no floats (2.5 would silently become 2) and no strings ("23" is not (2, 3))
        raise MaskError(f"shape must be a tuple of integers, got {shape!r}")
    shape = tuple(int(n) for n in items)
    if len(shape) not in (2, 3) or min(shape) <= 0:
        raise MaskError(f"shape must be (n_freq, n_frames[, n_channels]) of positive sizes, got {shape}")
    return shape


class SoftMask(MaskBase):
    """A real-valued mask with every value in [0, 1].

    Parameters
    ----------
    mask : array_like of float, shape (n_freq, n_frames, n_channels) or (n_freq, n_frames)
        Values in [0, 1] (float32 or float64; float16 is promoted to float32).
    copy : bool
        Copy the values (default).

    Raises
    ------
    MaskError
        If the dtype is not floating point, a value is NaN or outside [0, 1].

    Examples
    --------
    >>> m = SoftMask(np.full((3, 4), 0.25))
    >>> m.shape, float(m.invert().mask.max())
    ((3, 4, 1), 0.75)
    """

    _ones_dtype = np.float64

    def _validate(self, array):
        if array.dtype.kind != "f":
            raise MaskError(f"a SoftMask needs floating-point values, got dtype {array.dtype}")
        if array.dtype == np.float16:
            array = array.astype(np.float32)
        low, high = float(np.min(array)), float(np.max(array))
        if not (0.0 <= low and high <= 1.0):  # also catches NaN
            raise MaskError(
                f"SoftMask values must lie in [0, 1], got values in [{low}, {high}]"
            )
        return array

    def invert(self) -> "SoftMask":
        return SoftMask(1.0 - self._mask, copy=False)

    def to_binary(self, threshold: float = 0.5) -> "BinaryMask":
        """Return ``BinaryMask(mask > threshold)``; ``threshold`` must lie in [0, 1)."""
        if not isinstance(threshold, (int, float, np.floating)) or not 0.0 <= threshold < 1.0:
            raise MaskError(f"threshold must be a number in [0, 1), got {threshold!r}")
        return BinaryMask(self._mask > threshold, copy=False)


class BinaryMask(MaskBase):
    """A boolean mask: each time-frequency bin is kept or dropped.

    Parameters
    ----------
    mask : array_like, shape (n_freq, n_frames, n_channels) or (n_freq, n_frames)
        Booleans, or integers/floats that are exactly 0 or 1 (stored as bool).
    copy : bool
        Copy the values (default).

    Raises
    ------
    MaskError
        If a value is not 0, 1, True or False.
    """

    _ones_dtype = np.bool_

    def _validate(self, array):
        if array.dtype == np.bool_:
            return array
        if array.dtype.kind not in "iuf":
            raise MaskError(f"a BinaryMask needs boolean or 0/1 values, got dtype {array.dtype}")
        is_one = array == 1
        if not np.all(is_one | (array == 0)):
            bad = array[~(is_one | (array == 0))].flat[0]
            raise MaskError(f"BinaryMask values must be 0 or 1, found {bad!r}")
        return is_one

    def invert(self) -> "BinaryMask":
        return BinaryMask(~self._mask, copy=False)

    def to_soft(self) -> SoftMask:
        """Return the same mask as a float64 :class:`SoftMask` of zeros and ones."""
        return SoftMask(self._mask.astype(np.float64), copy=False)
