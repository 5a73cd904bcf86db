"""Convolutions: ``conv_general_dilated``, XLA's general N-d convolution, and its wrappers.

``conv_general_dilated(lhs, rhs, ...)`` slides the kernel ``rhs`` over the input ``lhs``. Every
operand has a batch (or output-feature), a feature (or input-feature) and N spatial dimensions,
placed where the :class:`ConvDimensionNumbers` say (the strings ``("NCHW", "OIHW", "NCHW")``
spell them). Per spatial dimension, the input is dilated by ``lhs_dilation`` (holes of zeros:
a transposed convolution) and padded (``(low, high)``, negative to crop), the kernel is dilated by
``rhs_dilation`` (atrous convolution), and windows start every ``window_strides`` elements.
``feature_group_count`` splits the input features (and output features) into groups convolved
separately (a depthwise convolution when it equals the feature count); ``batch_group_count``
does the same with the batch and the output features (what the kernel's gradient is).

The convolution is bilinear: its JVP convolves each tangent with the other operand, and its
transposes are again convolutions, JAX's: the input's cotangent convolves the output cotangent
with the reversed kernel (strides and input dilation swapped), the kernel's cotangent convolves
the input with the output cotangent. Batching folds the vmapped axis into the batch dimension
(input batched), the output features (kernel batched), or both as feature groups.
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeAlias

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import BatchDim, batching_rules
from refjax.interp.core import Array, ArrayLike, NDArray, ShapedArray, get_aval
from refjax.interp.jvp import Zero
from refjax.interp.transpose import Cotangent, UndefinedPrimal, defbilinear
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives.common import (
    ANY,
    check_dtype_at,
    check_same_dtypes,
    standard_primitive,
)
from refjax.primitives.linalg import CanonicalPrecision, PrecisionLike, canonicalize_precision

__all__ = [
    "ConvDimensionNumbers",
    "ConvGeneralDilatedDimensionNumbers",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_general_dilated_p",
    "conv_general_permutations",
    "conv_general_shape_tuple",
    "conv_shape_tuple",
    "conv_transpose",
    "conv_transpose_shape_tuple",
    "conv_with_general_padding",
    "padtype_to_pads",
]

Dims: TypeAlias = tuple[int, ...]
Padding: TypeAlias = tuple[tuple[int, int], ...]
PaddingLike: TypeAlias = str | Sequence[tuple[int, int]]
Size: TypeAlias = int | np.integer[Any]  # (np.int64 sizes show as such in error messages)
ShapeLike: TypeAlias = Sequence[Size] | NDArray


class ConvDimensionNumbers(NamedTuple):
    """Where the batch, feature and spatial dimensions of a convolution's operands are.

    ``lhs_spec``: (batch dim, feature dim, spatial dims...) of the input; ``rhs_spec``: (output
    feature dim, input feature dim, spatial dims...) of the kernel; ``out_spec``: (batch dim,
    feature dim, spatial dims...) of the output. The spatial dims are listed in the kernel's
    order, so the i-th spatial dim of each operand is the same one.
    """

    lhs_spec: Dims
    rhs_spec: Dims
    out_spec: Dims


ConvGeneralDilatedDimensionNumbers: TypeAlias = tuple[str, str, str] | ConvDimensionNumbers | None


# ---------------------------------------------------------------------------------------------
# Padding strings and shape arithmetic (JAX's ``padtype_to_pads``, ``dilate_dim``, ``stride_dim``)


class PaddingType(enum.Enum):
    """The padding strings: ``VALID`` (none), ``SAME`` (extra at the end), ``SAME_LOWER``."""

    VALID = 1
    SAME = 2
    SAME_LOWER = 3


def padtype_to_pads(
    in_shape: ShapeLike,
    window_shape: ShapeLike,
    window_strides: ShapeLike,
    padding: str | PaddingType,
) -> list[tuple[int, int]]:
    """``(low, high)`` pads per dimension for a padding string (``"SAME"``, ``"SAME_LOWER"``,
    ``"VALID"``) given the input and (dilated) window shapes and the strides: SAME pads so that
    the output has ``ceil(in / stride)`` elements, the odd element at the end (SAME_LOWER: at
    the start); VALID pads nothing."""
    if isinstance(padding, str):
        try:
            padding = PaddingType[padding.upper()]
        except KeyError as err:
            raise RuntimeError(
                "Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', "
                f"got {padding}."
            ) from err
    if padding in (PaddingType.SAME, PaddingType.SAME_LOWER):
        shape, strides = np.asarray(in_shape), np.asarray(window_strides)
        out_shape = -np.floor_divide(np.negative(shape), strides)
        sizes = [max(int(d), 0) for d in (out_shape - 1) * strides + window_shape - shape]
        if padding == PaddingType.SAME:
            return [(size // 2, size - size // 2) for size in sizes]
        return [(size - size // 2, size // 2) for size in sizes]
    if padding == PaddingType.VALID:
        return [(0, 0)] * len(in_shape)
    raise TypeError(f"Unknown padding type: {padding}.")


def _dilate_dim(size: int, dilation: int) -> int:
    """``size`` elements with ``dilation - 1`` holes between neighbours: max(0, 1 + r (d - 1))."""
    if dilation == 1:
        return size
    return max(1 + dilation * (size - 1), 0)


def _stride_dim(size: int, window: int, stride: int) -> int:
    """How many windows of ``window`` fit in ``size`` every ``stride`` (numpy's x // 0 == 0: a
    zero stride is caught where the convolution runs, as XLA catches it)."""
    steps = (size - window) // stride if stride else 0
    return max(steps + 1, 0)


def dilate_shape(shape: Sequence[int], dilation: Sequence[int]) -> Dims:
    """``shape`` with trailing dims dilated by ``dilation`` (JAX's ``lax._dilate_shape``)."""
    if not np.all(np.greater(dilation, 0)):
        raise TypeError(f"All dilations must be positive, got {dilation}.")
    full = (1,) * (len(shape) - len(dilation)) + tuple(dilation)
    return tuple(_dilate_dim(d, r) for d, r in zip(shape, full, strict=False))


def conv_shape_tuple(
    lhs_shape: Sequence[Size],
    rhs_shape: Sequence[Size],
    strides: Sequence[int],
    pads: str | Sequence[tuple[int, int]],
    batch_group_count: int = 1,
) -> Dims:
    """The output shape of a convolution in the canonical layouts (NC..., OI..., NC...)."""
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(
            f"Wrong number of explicit pads for convolution: expected {len(lhs_shape) - 2}, "
            f"got {len(pads)}."
        )
    lhs_padded = np.add(np.array(lhs_shape[2:]), np.sum(np.array(pads).reshape(-1, 2), axis=1))
    if np.any(lhs_padded < 0):
        raise ValueError(
            "Negative padding is larger than the size of the corresponding dimension: "
            f"got padding={pads} for lhs_shape[2:]={tuple(lhs_shape[2:])}"
        )
    out_space = tuple(
        _stride_dim(int(d), int(k), int(s))
        for d, k, s in zip(lhs_padded, rhs_shape[2:], strides, strict=False)
    )
    batch = lhs_shape[0] // batch_group_count if batch_group_count > 1 else lhs_shape[0]
    return (int(batch), int(rhs_shape[0]), *out_space)


def conv_general_permutations(
    dimension_numbers: Sequence[str],
) -> tuple[Dims, Dims, Dims]:
    """The (lhs, rhs, out) specs of string dimension numbers such as ``("NHWC", "HWIO",
    "NHWC")``: each the positions of (N or O, C or I, spatial dims in the kernel's order)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(charpairs):
        spec = dimension_numbers[i]
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(
                f"convolution dimension_numbers[{i}] must contain the characters '{a}' and "
                f"'{b}' exactly once, got {spec}."
            )
        if len(spec) != len(set(spec)):
            raise TypeError(
                f"convolution dimension_numbers[{i}] cannot have duplicate characters, "
                f"got {spec}."
            )
    if not (
        set(lhs_spec) - set(charpairs[0])
        == set(rhs_spec) - set(charpairs[1])
        == set(out_spec) - set(charpairs[2])
    ):
        raise TypeError(
            "convolution dimension_numbers elements must each have the same set of spatial "
            f"characters, got {tuple(dimension_numbers)}."
        )

    def getperm(spec: str, pair: tuple[str, str]) -> Dims:
        spatial = sorted(
            (i for i, c in enumerate(spec) if c not in pair), key=lambda i: rhs_spec.index(spec[i])
        )
        return (spec.index(pair[0]), spec.index(pair[1]), *spatial)

    lhs_perm, rhs_perm, out_perm = (
        getperm(spec, pair) for spec, pair in zip(dimension_numbers, charpairs, strict=True)
    )
    return lhs_perm, rhs_perm, out_perm


def conv_dimension_numbers(
    lhs_shape: Sequence[int],
    rhs_shape: Sequence[int],
    dimension_numbers: ConvGeneralDilatedDimensionNumbers | Sequence[str],
) -> ConvDimensionNumbers:
    """``dimension_numbers`` (None, three strings, or a :class:`ConvDimensionNumbers`) as a
    :class:`ConvDimensionNumbers`; None is the identity layout (NCHW, OIHW, NCHW)."""
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return ConvDimensionNumbers(
            *(tuple(operator.index(d) for d in spec) for spec in dimension_numbers)
        )
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(
            "convolution requires lhs and rhs ndim to be equal, got "
            f"{len(lhs_shape)} and {len(rhs_shape)}."
        )
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if not isinstance(dimension_numbers, (list, tuple)):
        raise TypeError(
            "convolution dimension_numbers must be tuple/list or None, got "
            f"{type(dimension_numbers)}."
        )
    if len(dimension_numbers) != 3:
        raise TypeError(
            "convolution dimension_numbers list/tuple must be length 3, got "
            f"{len(dimension_numbers)}."
        )
    if not all(isinstance(spec, str) for spec in dimension_numbers):
        raise TypeError(
            "convolution dimension_numbers elements must be strings, got "
            f"{tuple(map(type, dimension_numbers))}."
        )
    specs = [str(spec) for spec in dimension_numbers]
    for i, spec in enumerate(specs):
        if len(spec) != len(lhs_shape):
            raise TypeError(
                f"convolution dimension_numbers[{i}] must have len equal to the ndim of lhs and "
                f"rhs, got {len(spec)} for lhs and rhs shapes {tuple(lhs_shape)} and "
                f"{tuple(rhs_shape)}."
            )
    return ConvDimensionNumbers(*conv_general_permutations(specs))


def conv_general_shape_tuple(
    lhs_shape: Sequence[int],
    rhs_shape: Sequence[int],
    window_strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    dimension_numbers: Sequence[str],
) -> Dims:
    """The output shape of a convolution with string dimension numbers (no dilation)."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_trans = [lhs_shape[i] for i in lhs_perm]
    rhs_trans = [rhs_shape[i] for i in rhs_perm]
    out_trans = conv_shape_tuple(lhs_trans, rhs_trans, window_strides, padding)
    return tuple(out_trans[i] for i in np.argsort(out_perm))


def _conv_transpose_padding(k: int, s: int, padding: str | tuple[int, int]) -> tuple[int, int]:
    """(before, after) padding of one dim of a transposed convolution (kernel ``k``, stride
    ``s``) whose forward convolution had ``padding``."""
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a = pads[0]
        pad_len = sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


def conv_transpose_shape_tuple(
    lhs_shape: Sequence[int],
    rhs_shape: Sequence[int],
    window_strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    dimension_numbers: Sequence[str],
) -> Dims:
    """The output shape of :func:`conv_transpose` with string dimension numbers."""
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_trans = [lhs_shape[i] for i in lhs_perm]
    rhs_trans = [rhs_shape[i] for i in rhs_perm]
    if isinstance(padding, str):
        padding = [
            _conv_transpose_padding(k, s, padding)
            for k, s in zip(rhs_trans[2:], window_strides, strict=False)
        ]
    totals = [int(np.sum(p)) for p in padding]
    unpadded = [
        (i - 1) * s - k + 2
        for i, k, s in zip(lhs_trans[2:], rhs_trans[2:], window_strides, strict=False)
    ]
    out_space = [u + p for u, p in zip(unpadded, totals, strict=False)]
    out_trans = (lhs_trans[0], rhs_trans[0], *out_space)
    return tuple(int(out_trans[i]) for i in np.argsort(out_perm))


# ---------------------------------------------------------------------------------------------
# Abstract evaluation


def _validate_preferred_element_type(input_dtype: DType, preferred: DType) -> None:
    """JAX's checks that ``preferred`` can hold results computed from ``input_dtype``."""
    int_to_float = dtypes.issubdtype(input_dtype, np.integer) and dtypes.issubdtype(
        preferred, np.floating
    )
    if not int_to_float:  # (allowed, whatever the signedness)
        for kind in (np.integer, np.floating, np.complexfloating):
            if dtypes.issubdtype(input_dtype, kind) and not dtypes.issubdtype(preferred, kind):
                raise TypeError(
                    "Input type is incompatible with `preferred_element_type`. The compatible "
                    "combinations of (input_type, preferred_element_type) are (integral, "
                    "integral), (integral, floating), (floating, floating), (complex, complex."
                )
        if dtypes.issubdtype(input_dtype, np.signedinteger) and not dtypes.issubdtype(
            preferred, np.signedinteger
        ):
            raise TypeError(
                "`preferred_element_type` must have the same signedness as the original type."
            )
    if np.dtype(preferred).itemsize < np.dtype(input_dtype).itemsize:
        raise TypeError("`preferred_element_type` must not be narrower than the original type.")


def conv_result_dtype(lhs: DType, preferred_element_type: DType | None) -> DType:
    """The element type of a convolution of ``lhs``'s dtype (the operands share it)."""
    if preferred_element_type is None:
        return lhs
    _validate_preferred_element_type(lhs, preferred_element_type)
    return preferred_element_type


def _check_groups(
    lhs: ShapedArray,
    rhs: ShapedArray,
    dnums: ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
) -> None:
    """JAX's checks of the group counts against the feature and batch sizes."""
    if not feature_group_count > 0:
        raise ValueError(
            "conv_general_dilated feature_group_count must be a positive integer, "
            f"got {feature_group_count}."
        )
    lhs_features = lhs.shape[dnums.lhs_spec[1]]
    quot, rem = divmod(lhs_features, feature_group_count)
    if rem:
        raise ValueError(
            "conv_general_dilated feature_group_count must divide lhs feature dimension size, "
            f"but {feature_group_count} does not divide {lhs_features}."
        )
    rhs_in, rhs_out = rhs.shape[dnums.rhs_spec[1]], rhs.shape[dnums.rhs_spec[0]]
    if quot != rhs_in:
        raise ValueError(
            "conv_general_dilated lhs feature dimension size divided by feature_group_count "
            "must equal the rhs input feature dimension size, but "
            f"{lhs_features} // {feature_group_count} != {rhs_in}."
        )
    if rhs_out % feature_group_count:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple of "
            f"feature_group_count, but {rhs_out} is not a multiple of {feature_group_count}."
        )
    if not batch_group_count > 0:
        raise ValueError(
            "conv_general_dilated batch_group_count must be a positive integer, "
            f"got {batch_group_count}."
        )
    lhs_batch = lhs.shape[dnums.lhs_spec[0]]
    if batch_group_count > 1 and lhs_batch % batch_group_count != 0:
        raise ValueError(
            "conv_general_dilated batch_group_count must divide lhs batch dimension size, "
            f"but {batch_group_count} does not divide {lhs_batch}."
        )
    if rhs_out % batch_group_count:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple of "
            f"batch_group_count, but {rhs_out} is not a multiple of {batch_group_count}."
        )
    if batch_group_count > 1 and feature_group_count > 1:
        raise ValueError(
            "At most one of batch_group_count and feature_group_count may be > 1, got "
            f"batch_group_count={batch_group_count} and "
            f"feature_group_count={feature_group_count}"
        )


def conv_general_dilated_shape(
    lhs: ShapedArray,
    rhs: ShapedArray,
    *,
    window_strides: Dims,
    padding: Padding,
    lhs_dilation: Dims,
    rhs_dilation: Dims,
    dimension_numbers: ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
) -> Dims:
    """The output shape of ``conv_general_dilated``, with JAX's errors."""
    if lhs.ndim != rhs.ndim:
        raise ValueError(
            "conv_general_dilated lhs and rhs must have the same number of dimensions, but got "
            f"{lhs.shape} and {rhs.shape}."
        )
    _check_groups(lhs, rhs, dimension_numbers, feature_group_count, batch_group_count)
    lhs_perm, rhs_perm, out_perm = dimension_numbers
    if len(rhs_perm[2:]) != len(window_strides):
        raise ValueError(
            "conv_general_dilated window and window_strides must have the same number of "
            f"dimensions, but got {len(rhs_perm[2:])} and {len(window_strides)}"
        )
    # (np.int64 sizes, as JAX's np.take gives them: they show so in its error messages)
    lhs_trans = [np.int64(d) for d in dilate_shape([lhs.shape[i] for i in lhs_perm], lhs_dilation)]
    rhs_trans = [np.int64(d) for d in dilate_shape([rhs.shape[i] for i in rhs_perm], rhs_dilation)]
    out_trans = conv_shape_tuple(lhs_trans, rhs_trans, window_strides, padding, batch_group_count)
    return tuple(int(out_trans[i]) for i in np.argsort(out_perm))


def _conv_general_dilated_rule(
    lhs: ShapedArray,
    rhs: ShapedArray,
    *,
    window_strides: Dims,
    padding: Padding,
    lhs_dilation: Dims,
    rhs_dilation: Dims,
    dimension_numbers: ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> ShapedArray:
    shape = conv_general_dilated_shape(
        lhs,
        rhs,
        window_strides=window_strides,
        padding=padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dimension_numbers,
        feature_group_count=feature_group_count,
        batch_group_count=batch_group_count,
    )
    for i, aval in enumerate((lhs, rhs)):
        check_dtype_at("conv_general_dilated", aval, i, ANY)
    check_same_dtypes("conv_general_dilated", lhs, rhs)
    dtype = conv_result_dtype(lhs.dtype, preferred_element_type)
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


conv_general_dilated_p = standard_primitive("conv_general_dilated", _conv_general_dilated_rule)


# ---------------------------------------------------------------------------------------------
# The wrappers


def _canonical_padding(padding: Sequence[tuple[int, int]]) -> Padding:
    try:
        return tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (ValueError, TypeError) as err:
        raise ValueError(
            "padding argument to conv_general_dilated should be a string or a sequence of "
            f"(low, high) pairs, got {padding}"
        ) from err


def conv_general_dilated(
    lhs: ArrayLike,
    rhs: ArrayLike,
    window_strides: Sequence[int],
    padding: PaddingLike,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    out_sharding: None = None,
) -> Array:
    """General N-d convolution of ``lhs`` (input) with ``rhs`` (kernel), XLA's ``Conv``.

    ``padding``: ``"SAME"``, ``"SAME_LOWER"``, ``"VALID"`` or ``(low, high)`` per spatial
    dimension; ``lhs_dilation`` (transposed convolution) and ``rhs_dilation`` (atrous) default
    to 1; ``dimension_numbers``: None (``("NCHW", "OIHW", "NCHW")``-like), three strings, or a
    :class:`ConvDimensionNumbers`. String padding cannot be combined with ``lhs_dilation``.
    """
    lhs_shape, rhs_shape = get_aval(lhs).shape, get_aval(rhs).shape
    dnums = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    if lhs_dilation is None:
        lhs_dilation = (1,) * (len(lhs_shape) - 2)
    elif isinstance(padding, str) and not all(d == 1 for d in lhs_dilation):
        raise ValueError(
            "String padding is not implemented for transposed convolution using this op. "
            "Please either exactly specify the required padding or use conv_transpose."
        )
    if rhs_dilation is None:
        rhs_dilation = (1,) * (len(rhs_shape) - 2)
    if isinstance(padding, str):
        lhs_perm, rhs_perm, _ = dnums
        kernel = [_dilate_dim(rhs_shape[i], r) for i, r in zip(rhs_perm[2:], rhs_dilation,
                                                                 strict=False)]
        spatial = [lhs_shape[i] for i in lhs_perm[2:]]
        pads = tuple(padtype_to_pads(spatial, kernel, window_strides, padding))
    else:
        pads = _canonical_padding(padding)
    preferred = (
        None if preferred_element_type is None
        else dtypes.canonicalize_dtype(preferred_element_type)
    )
    return conv_general_dilated_p.bind(
        lhs,
        rhs,
        window_strides=tuple(operator.index(s) for s in window_strides),
        padding=pads,
        lhs_dilation=tuple(operator.index(d) for d in lhs_dilation),
        rhs_dilation=tuple(operator.index(d) for d in rhs_dilation),
        dimension_numbers=dnums,
        feature_group_count=operator.index(feature_group_count),
        batch_group_count=operator.index(batch_group_count),
        precision=canonicalize_precision(precision),
        preferred_element_type=preferred,
        out_sharding=out_sharding,
    )


def conv(
    lhs: ArrayLike,
    rhs: ArrayLike,
    window_strides: Sequence[int],
    padding: str,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """A convolution in the NCHW / OIHW layouts, padded ``"SAME"`` or ``"VALID"``."""
    return conv_general_dilated(
        lhs, rhs, window_strides, padding, precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_with_general_padding(
    lhs: ArrayLike,
    rhs: ArrayLike,
    window_strides: Sequence[int],
    padding: PaddingLike,
    lhs_dilation: Sequence[int] | None,
    rhs_dilation: Sequence[int] | None,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """A convolution in the NCHW / OIHW layouts, with any padding and dilations."""
    return conv_general_dilated(
        lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation, precision=precision,
        preferred_element_type=preferred_element_type,
    )


_CONV_TRANSPOSE_LAYOUTS = {
    2: ("NC", "IO", "NC"),
    3: ("NHC", "HIO", "NHC"),
    4: ("NHWC", "HWIO", "NHWC"),
    5: ("NHWDC", "HWDIO", "NHWDC"),
}


def conv_transpose(
    lhs: ArrayLike,
    rhs: ArrayLike,
    strides: Sequence[int],
    padding: PaddingLike,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
    transpose_kernel: bool = False,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    use_consistent_padding: bool = False,
) -> Array:
    """The "transposed" (fractionally strided) convolution: ``lhs`` dilated by ``strides``.

    ``padding`` ``"SAME"``/``"VALID"`` (or, with ``use_consistent_padding``, pairs) is that of
    the forward convolution this transposes; other pairs pad the dilated input directly. The
    default layouts are TensorFlow's (NHWC, HWIO). ``transpose_kernel`` flips the kernel's
    spatial dims and swaps its feature dims, which makes this the gradient of ``conv``.
    """
    lhs_shape, rhs_shape = get_aval(lhs).shape, get_aval(rhs).shape
    if not (len(lhs_shape) == len(rhs_shape) and len(lhs_shape) >= 2):
        raise AssertionError
    ndims = len(lhs_shape)
    one = (1,) * (ndims - 2)
    if dimension_numbers is None:
        if ndims not in _CONV_TRANSPOSE_LAYOUTS:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = _CONV_TRANSPOSE_LAYOUTS[ndims]
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    k_sdims = [rhs_shape[i] for i in dn.rhs_spec[2:]]
    if rhs_dilation is None:
        rhs_dilation = (1,) * (ndims - 2)
    pads: PaddingLike
    if use_consistent_padding or (isinstance(padding, str) and padding in {"SAME", "VALID"}):
        effective = [_dilate_dim(k, r) for k, r in zip(k_sdims, rhs_dilation, strict=False)]
        per_dim: Sequence[str | tuple[int, int]] = (
            [padding] * len(strides) if isinstance(padding, str) else list(padding)
        )
        pads = tuple(
            _conv_transpose_padding(k, s, p if isinstance(p, str) else (p[0], p[1]))
            for k, s, p in zip(effective, strides, per_dim, strict=False)
        )
    else:
        pads = padding
    if transpose_kernel:  # (one axis at a time, as JAX's np.flip loop reverses them)
        for axis in dn.rhs_spec[2:]:
            rhs = sh.rev(rhs, (axis,))
        perm = list(range(ndims))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = dn.rhs_spec[1], dn.rhs_spec[0]
        rhs = sh.transpose(rhs, perm)
    return conv_general_dilated(
        lhs, rhs, one, pads, strides, rhs_dilation, dn, precision=precision,
        preferred_element_type=preferred_element_type,
    )


# ---------------------------------------------------------------------------------------------
# Transposes (JAX's ``_conv_general_dilated_transpose_lhs`` / ``_rhs``)
#
# Ignoring spatial dims, with m the batch, j the input and k the output features, the forward
# convolution contracts [m, j] [j, k] -> [m, k]. Its transposes are the matmul's: the input's
# cotangent [m, k] [k, j] -> [m, j], the kernel's [j, m] [m, k] -> [j, k]. Feature groups
# ([m, gj] [j, gk] -> [m, gk]) transpose to feature groups on the input's side (the group moved
# from the kernel's output features to its input features) and to batch groups on the kernel's;
# batch groups the other way round.


def _spatial(spec: Dims) -> Dims:
    return spec[2:]


def _swap_features(spec: Dims) -> Dims:
    """The spec with its first two entries swapped (batch <-> feature, O <-> I)."""
    return (spec[1], spec[0], *spec[2:])


def reshape_axis_into(src: int, dst: int, x: ArrayLike) -> Array:
    """``x`` with axis ``src`` merged into axis ``dst`` (numbered once ``src`` is removed), as
    its major part."""
    shape = get_aval(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new_shape = [d for i, d in enumerate(shape) if i != src]
    new_shape[dst] *= shape[src]
    return sh.reshape(x, new_shape, perm)


def reshape_axis_out_of(src: int, size1: int, x: ArrayLike) -> Array:
    """``x`` with axis ``src`` split into (``size1``, rest)."""
    shape = list(get_aval(x).shape)
    size2, ragged = divmod(shape[src], size1)
    assert not ragged
    shape[src : src + 1] = [size1, size2]
    return sh.reshape(x, shape)


def _dilated(shape: Sequence[int], dilation: Sequence[int]) -> NDArray:
    return np.array([_dilate_dim(int(d), int(r)) for d, r in zip(shape, dilation, strict=True)],
                    dtype=np.int64)


def conv_general_vjp_lhs_padding(
    in_shape: Sequence[int],
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    out_shape: Sequence[int],
    padding: Sequence[tuple[int, int]],
    lhs_dilation: Sequence[int],
    rhs_dilation: Sequence[int],
) -> list[tuple[int, int]]:
    """The padding of the convolution computing the input's cotangent (may be negative)."""
    lhs_dilated = _dilated(in_shape, lhs_dilation)
    rhs_dilated = _dilated(window_dimensions, rhs_dilation)
    out_dilated = _dilated(out_shape, window_strides)
    before = rhs_dilated - np.array([lo for lo, _ in padding], dtype=np.int64) - 1
    after = lhs_dilated + rhs_dilated - 1 - out_dilated - before
    return [(int(b), int(a)) for b, a in zip(before, after, strict=True)]


def conv_general_vjp_rhs_padding(
    in_shape: Sequence[int],
    window_dimensions: Sequence[int],
    window_strides: Sequence[int],
    out_shape: Sequence[int],
    padding: Sequence[tuple[int, int]],
    lhs_dilation: Sequence[int],
    rhs_dilation: Sequence[int],
) -> list[tuple[int, int]]:
    """The padding of the convolution computing the kernel's cotangent."""
    if len(in_shape) == 0:
        return []
    lhs_dilated = _dilated(in_shape, lhs_dilation)
    rhs_dilated = _dilated(window_dimensions, rhs_dilation)
    out_dilated = _dilated(out_shape, window_strides)
    lows = [lo for lo, _ in padding]
    from_lhs = out_dilated - lhs_dilated
    from_rhs = [int(rd) - lo - 1 for rd, lo in zip(rhs_dilated, lows, strict=True)]
    return [(lo, int(a) + b) for lo, a, b in zip(lows, from_lhs, from_rhs, strict=True)]


def _conv_transpose_lhs(
    ct: Array,
    lhs: UndefinedPrimal,
    rhs: ArrayLike,
    *,
    window_strides: Dims,
    padding: Padding,
    lhs_dilation: Dims,
    rhs_dilation: Dims,
    dimension_numbers: ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> Cotangent:
    """The input's cotangent: ``ct`` convolved with the spatially reversed kernel, its feature
    dims swapped, strides and input dilation exchanged."""
    assert batch_group_count == 1 or feature_group_count == 1
    rhs_shape = get_aval(rhs).shape
    lhs_shape = lhs.aval.shape
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    t_rhs_spec = _swap_features(rhs_spec)
    if feature_group_count > 1:
        # the group moves from the kernel's output features into its input features
        rhs = reshape_axis_out_of(rhs_spec[0], feature_group_count, rhs)
        rhs = reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    elif batch_group_count > 1:
        rhs = reshape_axis_out_of(rhs_spec[0], batch_group_count, rhs)
        rhs = reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
        feature_group_count = batch_group_count
    trans_dnums = ConvDimensionNumbers(out_spec, t_rhs_spec, lhs_spec)
    pads = conv_general_vjp_lhs_padding(
        [lhs_shape[i] for i in _spatial(lhs_spec)],
        [rhs_shape[i] for i in _spatial(rhs_spec)],
        window_strides,
        [ct.shape[i] for i in _spatial(out_spec)],
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    reversed_kernel = sh.rev(rhs, _spatial(rhs_spec))
    if ct.dtype != get_aval(reversed_kernel).dtype:
        reversed_kernel = ew.convert_element_type(reversed_kernel, ct.dtype)
    out = conv_general_dilated(
        ct,
        reversed_kernel,
        window_strides=lhs_dilation,
        padding=pads,
        lhs_dilation=window_strides,
        rhs_dilation=rhs_dilation,
        dimension_numbers=trans_dnums,
        feature_group_count=feature_group_count,
        batch_group_count=1,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    if out.dtype != lhs.aval.dtype:
        out = ew.convert_element_type(out, lhs.aval.dtype)
    if batch_group_count > 1:
        out = reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    return out


def _conv_transpose_rhs(
    ct: Array,
    lhs: ArrayLike,
    rhs: UndefinedPrimal,
    *,
    window_strides: Dims,
    padding: Padding,
    lhs_dilation: Dims,
    rhs_dilation: Dims,
    dimension_numbers: ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> Cotangent:
    """The kernel's cotangent: the input convolved with ``ct`` (batch and feature dims
    swapped, strides and kernel dilation exchanged, feature groups become batch groups)."""
    if math.prod(ct.shape) == 0:  # (a kernel of spatial size 0 would follow)
        return Zero(rhs.aval)
    lhs_shape = get_aval(lhs).shape
    rhs_shape = rhs.aval.shape
    lhs_trans, rhs_trans, out_trans = map(_swap_features, dimension_numbers)
    assert batch_group_count == 1 or feature_group_count == 1
    if batch_group_count > 1:
        feature_group_count, batch_group_count = batch_group_count, 1
    elif feature_group_count > 1:
        feature_group_count, batch_group_count = 1, feature_group_count
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    trans_dnums = ConvDimensionNumbers(lhs_trans, out_trans, rhs_trans)
    pads = conv_general_vjp_rhs_padding(
        [lhs_shape[i] for i in _spatial(lhs_spec)],
        [rhs_shape[i] for i in _spatial(rhs_spec)],
        window_strides,
        [ct.shape[i] for i in _spatial(out_spec)],
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    if ct.dtype != get_aval(lhs).dtype:
        lhs = ew.convert_element_type(lhs, ct.dtype)
    out = conv_general_dilated(
        lhs,
        ct,
        window_strides=rhs_dilation,
        padding=pads,
        lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides,
        dimension_numbers=trans_dnums,
        feature_group_count=feature_group_count,
        batch_group_count=batch_group_count,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    if out.dtype != rhs.aval.dtype:
        out = ew.convert_element_type(out, rhs.aval.dtype)
    return out


defbilinear(conv_general_dilated_p, _conv_transpose_lhs, _conv_transpose_rhs)


# ---------------------------------------------------------------------------------------------
# Batching (JAX's ``_conv_general_dilated_batch_rule``)


def _conv_general_dilated_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    window_strides: Dims,
    padding: Padding,
    lhs_dilation: Dims,
    rhs_dilation: Dims,
    dimension_numbers: ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> tuple[list[Array], list[BatchDim]]:
    """The vmapped axis folded into the batch dim (input batched), the kernel's output
    features (kernel batched), or both, as feature groups (or more batch groups)."""
    lhs, rhs = args
    lhs_bdim, rhs_bdim = dims
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_aval, rhs_aval = get_aval(lhs), get_aval(rhs)
    assert batch_group_count == 1 or feature_group_count == 1

    def bind(x: ArrayLike, y: ArrayLike, fgc: int, bgc: int) -> Array:
        return conv_general_dilated(
            x, y, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
            feature_group_count=fgc, batch_group_count=bgc, precision=precision,
            preferred_element_type=preferred_element_type,
        )

    # Folding a size-0 batch axis into another one leaves nothing to unfold it from.
    if (lhs_bdim is not None and lhs_aval.shape[lhs_bdim] == 0) or (
        rhs_bdim is not None and rhs_aval.shape[rhs_bdim] == 0
    ):
        lhs_shape = [d for i, d in enumerate(lhs_aval.shape) if i != lhs_bdim]
        rhs_shape = [d for i, d in enumerate(rhs_aval.shape) if i != rhs_bdim]
        shape = conv_general_dilated_shape(
            ShapedArray(tuple(lhs_shape), lhs_aval.dtype),
            ShapedArray(tuple(rhs_shape), rhs_aval.dtype),
            window_strides=window_strides,
            padding=padding,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            dimension_numbers=dimension_numbers,
            feature_group_count=feature_group_count,
            batch_group_count=batch_group_count,
        )
        dtype = lhs_aval.dtype if preferred_element_type is None else preferred_element_type
        zero = np.zeros((), dtype)
        return [sh.broadcast_in_dim(zero, (0, *shape), ())], [0]

    if lhs_bdim is not None and rhs_bdim is not None:
        size = lhs_aval.shape[lhs_bdim]
        assert size == rhs_aval.shape[rhs_bdim]
        if batch_group_count > 1:
            new_lhs = reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
            batch_group_count *= size
        else:
            new_lhs = reshape_axis_into(lhs_bdim, lhs_spec[1], lhs)
            feature_group_count *= size
        new_rhs = reshape_axis_into(rhs_bdim, rhs_spec[0], rhs)
        out = bind(new_lhs, new_rhs, feature_group_count, batch_group_count)
        return [reshape_axis_out_of(out_spec[1], size, out)], [out_spec[1]]

    if lhs_bdim is not None:
        size = lhs_aval.shape[lhs_bdim]
        if batch_group_count == 1:
            new_lhs = reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
            out = bind(new_lhs, rhs, feature_group_count, 1)
            return [reshape_axis_out_of(out_spec[0], size, out)], [out_spec[0]]
        new_lhs = reshape_axis_out_of(
            lhs_spec[0] + int(lhs_bdim <= lhs_spec[0]), batch_group_count, lhs
        )
        new_lhs = reshape_axis_into(
            lhs_bdim + int(lhs_spec[0] < lhs_bdim), lhs_spec[0] + 1, new_lhs
        )
        new_lhs = reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = bind(new_lhs, rhs, feature_group_count, batch_group_count)
        return [reshape_axis_out_of(out_spec[0], size, out)], [out_spec[0]]

    assert rhs_bdim is not None
    size = rhs_aval.shape[rhs_bdim]
    if feature_group_count == 1 and batch_group_count == 1:
        new_rhs = reshape_axis_into(rhs_bdim, rhs_spec[0], rhs)
        out = bind(lhs, new_rhs, feature_group_count, batch_group_count)
        return [reshape_axis_out_of(out_spec[1], size, out)], [out_spec[1]]
    # The groups must stay outermost in the kernel's output features: factor them out, fold
    # the batch axis into what remains, and put the groups back; the same on the output.
    group_count = feature_group_count if feature_group_count > 1 else batch_group_count
    new_rhs = reshape_axis_out_of(rhs_spec[0] + int(rhs_bdim <= rhs_spec[0]), group_count, rhs)
    new_rhs = reshape_axis_into(rhs_bdim + int(rhs_spec[0] < rhs_bdim), rhs_spec[0] + 1, new_rhs)
    new_rhs = reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = bind(lhs, new_rhs, feature_group_count, batch_group_count)
    out = reshape_axis_out_of(out_spec[1], group_count, out)
    out = reshape_axis_out_of(out_spec[1] + 1, size, out)
    out = reshape_axis_into(out_spec[1], out_spec[1] + 1, out)
    return [out], [out_spec[1]]


batching_rules[conv_general_dilated_p] = _conv_general_dilated_batch
