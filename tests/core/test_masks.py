"""SoftMask and BinaryMask: validation, shapes, read-only values, inversion, thresholding."""

import numpy as np
import pytest

from sepkit import BinaryMask, MaskError, SepkitError, SoftMask
from sepkit.core import MaskBase

# -- SoftMask ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_soft_mask_accepts_unit_interval(dtype):
    values = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=dtype)
    mask = SoftMask(values)
    assert mask.shape == (2, 2, 1) and mask.num_channels == 1
    assert mask.mask.dtype == (np.float32 if dtype == np.float16 else dtype)
    np.testing.assert_array_equal(mask.mask[:, :, 0], values.astype(mask.mask.dtype))


@pytest.mark.parametrize(
    "value", [-1e-12, -0.5, 1.0 + 1e-12, 2.0, np.nan, np.inf, -np.inf], ids=str
)
def test_soft_mask_range_enforced(value):
    values = np.full((3, 4, 2), 0.5)
    values[1, 2, 1] = value
    with pytest.raises(MaskError) as info:
        SoftMask(values)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SepkitError)


@pytest.mark.parametrize(
    "values",
    [np.zeros((2, 2), int), np.ones((2, 2), np.uint8), np.ones((2, 2), bool), np.ones((2, 2), complex),
     np.full((2, 2), "a"), np.array([[0.1, None], [0.2, 0.3]], dtype=object)],
    ids=["int", "uint8", "bool", "complex", "str", "object"],
)
def test_soft_mask_dtype_enforced(values):
    with pytest.raises(MaskError):
        SoftMask(values)


# -- BinaryMask -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [np.array([[True, False], [False, True]]), np.array([[1, 0], [0, 1]]), np.array([[1, 0], [0, 1]], np.uint8),
     np.array([[1.0, 0.0], [-0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]], np.float16), [[1, 0], [0, 1]]],
    ids=["bool", "int", "uint8", "float", "float16", "list"],
)
def test_binary_mask_accepts_exact_zero_one(values):
    mask = BinaryMask(values)
    assert mask.mask.dtype == np.bool_ and mask.shape == (2, 2, 1)
    np.testing.assert_array_equal(mask.mask[:, :, 0], [[True, False], [False, True]])


@pytest.mark.parametrize("bad", [0.5, 0.99, 1e-3, 2, -1, np.nan, np.inf], ids=str)
def test_binary_mask_rejects_other_values(bad):
    values = np.zeros((3, 3))
    values[2, 1] = bad
    with pytest.raises(MaskError):
        BinaryMask(values)


@pytest.mark.parametrize(
    "values", [np.zeros((2, 2), complex), np.full((2, 2), "1"), np.array([[1, 0], [0, None]], dtype=object)],
    ids=["complex", "str", "object"],
)
def test_binary_mask_dtype_enforced(values):
    with pytest.raises(MaskError):
        BinaryMask(values)


# -- shapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SoftMask, BinaryMask])
def test_two_d_expanded_to_three_d(cls):
    values = np.zeros((5, 7))
    mask = cls(values)
    assert mask.shape == (5, 7, 1) and mask.mask.ndim == 3
    assert mask.get_channel(0).shape == (5, 7)


@pytest.mark.parametrize("cls", [SoftMask, BinaryMask])
@pytest.mark.parametrize(
    "shape", [(), (4,), (0, 3), (3, 0), (3, 4, 0), (0, 0, 1), (2, 2, 2, 2)], ids=str
)
def test_bad_shapes(cls, shape):
    with pytest.raises(MaskError):
        cls(np.zeros(shape))


@pytest.mark.parametrize("cls", [SoftMask, BinaryMask])
def test_ragged_input(cls):
    with pytest.raises(MaskError):
        cls([[0.0, 1.0], [1.0]])


def test_get_channel():
    values = np.random.default_rng(0).uniform(0, 1, (4, 5, 2))
    mask = SoftMask(values)
    np.testing.assert_array_equal(mask.get_channel(1), values[:, :, 1])
    for bad in (2, -1, 0.0, "0", True):
        with pytest.raises(MaskError):
            mask.get_channel(bad)


# -- ones / zeros / invert --------------------------------------------------------------------


def test_ones_and_zeros():
    ones = SoftMask.ones((3, 4, 2))
    assert ones.shape == (3, 4, 2) and ones.mask.dtype == np.float64 and np.all(ones.mask == 1.0)
    zeros = SoftMask.zeros((3, 4))
    assert zeros.shape == (3, 4, 1) and np.all(zeros.mask == 0.0)
    b_ones = BinaryMask.ones((2, 3, 1))
    assert b_ones.mask.dtype == np.bool_ and np.all(b_ones.mask)
    assert not np.any(BinaryMask.zeros((2, 3, 2)).mask)
    assert SoftMask.ones(np.array([2, 3])).shape == (2, 3, 1)  # numpy integers are fine
    assert isinstance(SoftMask.ones((1, 1)), SoftMask) and isinstance(BinaryMask.zeros((1, 1)), BinaryMask)


@pytest.mark.parametrize(
    "shape", [(0, 3), (3,), (1, 2, 3, 4), (-1, 2), "ab", "23", None, 5, (2.5, "x"), (2.5, 3), (True, 3)], ids=str
)
def test_ones_bad_shape(shape):
    with pytest.raises(MaskError):
        SoftMask.ones(shape)


def test_invert():
    values = np.array([[0.0, 0.2], [0.75, 1.0]])
    soft = SoftMask(values)
    inverted = soft.invert()
    assert isinstance(inverted, SoftMask)
    np.testing.assert_allclose(inverted.mask[:, :, 0], 1 - values)
    np.testing.assert_allclose(inverted.invert().mask, soft.mask)
    np.testing.assert_array_equal(soft.mask[:, :, 0], values)  # the original is unchanged
    binary = BinaryMask(values > 0.5)
    b_inv = binary.invert()
    assert isinstance(b_inv, BinaryMask)
    np.testing.assert_array_equal(b_inv.mask[:, :, 0], values <= 0.5)
    np.testing.assert_array_equal(b_inv.invert().mask, binary.mask)
    assert np.all(soft.mask + inverted.mask == 1.0)


# -- read-only and independent ----------------------------------------------------------------


@pytest.mark.parametrize("cls, values", [(SoftMask, np.full((3, 4, 2), 0.5)), (BinaryMask, np.ones((3, 4, 2)))])
def test_masks_read_only_and_independent(cls, values):
    original = values.copy()
    mask = cls(values)
    with pytest.raises(ValueError):
        mask.mask[0, 0, 0] = 0
    values[:] = 0  # the caller changes its array
    np.testing.assert_array_equal(mask.mask, original.astype(mask.mask.dtype))
    assert values.flags.writeable  # and can still write to it


def test_copy_false_leaves_caller_array_writeable():
    values = np.full((3, 4), 0.5)
    mask = SoftMask(values, copy=False)
    assert values.flags.writeable and not mask.mask.flags.writeable


# -- conversions ------------------------------------------------------------------------------


def test_to_binary_is_strict():
    soft = SoftMask(np.array([[0.0, 0.2, 0.5, 0.7, 1.0]]))
    np.testing.assert_array_equal(soft.to_binary().mask[0, :, 0], [False, False, False, True, True])
    np.testing.assert_array_equal(soft.to_binary(0.2).mask[0, :, 0], [False, False, True, True, True])
    np.testing.assert_array_equal(soft.to_binary(0).mask[0, :, 0], [False, True, True, True, True])
    np.testing.assert_array_equal(soft.to_binary(0.7).mask[0, :, 0], [False, False, False, False, True])
    assert isinstance(soft.to_binary(), BinaryMask)


@pytest.mark.parametrize("threshold", [1.0, 1.5, -0.1, np.nan, "0.5", None], ids=str)
def test_to_binary_bad_threshold(threshold):
    with pytest.raises(MaskError):
        SoftMask(np.full((2, 2), 0.5)).to_binary(threshold)


def test_to_soft():
    binary = BinaryMask(np.array([[True, False]]))
    soft = binary.to_soft()
    assert isinstance(soft, SoftMask) and soft.mask.dtype == np.float64
    np.testing.assert_array_equal(soft.mask[0, :, 0], [1.0, 0.0])


def test_repr_and_base_class():
    assert "SoftMask" in repr(SoftMask(np.zeros((2, 3)))) and "(2, 3, 1)" in repr(SoftMask(np.zeros((2, 3))))
    assert issubclass(SoftMask, MaskBase) and issubclass(BinaryMask, MaskBase)
