"""Reduction primitives: monoid reductions over axes, arg-reductions, cumulative reductions.

A reduction over an axis of size 0 gives the monoid's identity (0 for sums, 1 for products, -inf or
the least integer for max, all ones for bitwise and ...), as XLA's ``Reduce`` does. Integer sums and
products keep their dtype and wrap around. ``reduce_max``/``reduce_min`` propagate NaN;
``argmax``/``argmin`` count NaN as the extreme value and pick the first index on ties.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import AbstractEvalRule, Array, ArrayLike, ShapedArray
from refjax.primitives.common import (
    ANY,
    FLOATING,
    NUMBER,
    ScalarKind,
    check_dtype,
    standard_primitive,
)

__all__ = [
    "argmax",
    "argmin",
    "cumlogsumexp",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_prod",
    "reduce_sum",
    "reduce_xor",
]


def _aval_text(aval: ShapedArray) -> str:
    """JAX's ``str`` of an aval: ``float32[2,3]``, with ``~`` in front when weakly typed."""
    weak = "~" if aval.weak_type else ""
    return f"{weak}{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def reduced_shape(operand: ShapedArray, axes: tuple[int, ...]) -> tuple[int, ...]:
    """``operand``'s shape without ``axes``; JAX's ValueError for repeated or out-of-range axes."""
    if len(axes) != len(set(axes)):
        raise ValueError(f"duplicate value in 'axes' of reduction: {axes}")
    if not all(0 <= a < operand.ndim for a in axes):
        raise ValueError(
            f"reduction axes {axes} contains out-of-bounds indices for {_aval_text(operand)}."
        )
    return tuple(d for i, d in enumerate(operand.shape) if i not in axes)


def _axes(axes: Sequence[int]) -> tuple[int, ...]:
    return tuple(operator.index(a) for a in axes)


# ---------------------------------------------------------------------------------------------
# Monoid reductions over axes


def _reduce_rule(name: str, accepted: Sequence[ScalarKind]) -> AbstractEvalRule:
    """Abstract eval of ``reduce_<op>``: axes removed, dtype and weak type kept."""

    def rule(
        operand: ShapedArray, *, axes: tuple[int, ...], out_sharding: None = None
    ) -> ShapedArray:
        shape = reduced_shape(operand, axes)
        check_dtype(name, operand, accepted)
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    return rule


def _logical_reduce_rule(operand: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    """Abstract eval of ``reduce_and``/``or``/``xor``: bool or integer operands, strong result."""
    shape = reduced_shape(operand, axes)
    if not (operand.dtype == dtypes.bool_ or np.issubdtype(operand.dtype, np.integer)):
        raise TypeError(
            f"logical reduction requires operand dtype bool or int, got {operand.dtype.name}."
        )
    return ShapedArray(shape, operand.dtype, False)


reduce_sum_p = standard_primitive("reduce_sum", _reduce_rule("reduce_sum", NUMBER))


def reduce_sum(operand: ArrayLike, axes: Sequence[int], *, out_sharding: None = None) -> Array:
    """The sum over ``axes`` (no upcasting: integer sums wrap around)."""
    return reduce_sum_p.bind(operand, axes=_axes(axes), out_sharding=None)


reduce_prod_p = standard_primitive("reduce_prod", _reduce_rule("reduce_prod", NUMBER))


def reduce_prod(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """The product over ``axes`` (no upcasting: integer products wrap around)."""
    return reduce_prod_p.bind(operand, axes=_axes(axes))


reduce_max_p = standard_primitive("reduce_max", _reduce_rule("reduce_max", ANY))


def reduce_max(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """The maximum over ``axes``; NaN if any element is NaN; -inf (least int) if empty."""
    return reduce_max_p.bind(operand, axes=_axes(axes))


reduce_min_p = standard_primitive("reduce_min", _reduce_rule("reduce_min", ANY))


def reduce_min(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """The minimum over ``axes``; NaN if any element is NaN; inf (greatest int) if empty."""
    return reduce_min_p.bind(operand, axes=_axes(axes))


reduce_and_p = standard_primitive("reduce_and", _logical_reduce_rule)


def reduce_and(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Bitwise (for bools, logical) AND over ``axes``; all ones if empty."""
    return reduce_and_p.bind(operand, axes=_axes(axes))


reduce_or_p = standard_primitive("reduce_or", _logical_reduce_rule)


def reduce_or(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Bitwise (for bools, logical) OR over ``axes``; zero if empty."""
    return reduce_or_p.bind(operand, axes=_axes(axes))


reduce_xor_p = standard_primitive("reduce_xor", _logical_reduce_rule)


def reduce_xor(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Bitwise (for bools, logical) XOR over ``axes``; zero if empty."""
    return reduce_xor_p.bind(operand, axes=_axes(axes))


# ---------------------------------------------------------------------------------------------
# Arg-reductions


def _argminmax_rule(name: str) -> AbstractEvalRule:
    """Abstract eval of ``argmax``/``argmin``: one non-empty axis removed, integer indices."""

    def rule(operand: ShapedArray, *, axes: tuple[int, ...], index_dtype: DType) -> ShapedArray:
        (axis,) = axes
        if not 0 <= axis < operand.ndim:
            raise ValueError(f"Invalid axis {axis} for operand shape {operand.shape}")
        if operand.shape[axis] < 1:
            raise ValueError(
                "argmin and argmax require non-empty reduced dimension. "
                f"operand.shape={operand.shape} axis={axis}"
            )
        check_dtype(name, operand, ANY)
        if not np.issubdtype(index_dtype, np.integer):
            raise TypeError(
                f"index_dtype must be an integer type, but got {np.dtype(index_dtype).name}"
            )
        shape = operand.shape[:axis] + operand.shape[axis + 1 :]
        return ShapedArray(shape, index_dtype, False)

    return rule


argmax_p = standard_primitive("argmax", _argminmax_rule("argmax"))


def argmax(operand: ArrayLike, axis: int, index_dtype: DTypeLike) -> Array:
    """Index of the greatest element along ``axis`` (the first one; NaN counts as greatest)."""
    dtype = dtypes.canonicalize_dtype(index_dtype)
    return argmax_p.bind(operand, axes=(operator.index(axis),), index_dtype=dtype)


argmin_p = standard_primitive("argmin", _argminmax_rule("argmin"))


def argmin(operand: ArrayLike, axis: int, index_dtype: DTypeLike) -> Array:
    """Index of the least element along ``axis`` (the first one; NaN counts as least)."""
    dtype = dtypes.canonicalize_dtype(index_dtype)
    return argmin_p.bind(operand, axes=(operator.index(axis),), index_dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Cumulative reductions


def _cumulative_rule(name: str, accepted: Sequence[ScalarKind]) -> AbstractEvalRule:
    """Abstract eval of ``cum<op>``: shape, dtype and weak type kept; one non-negative axis."""

    def rule(operand: ShapedArray, *, axis: int, reverse: bool) -> ShapedArray:
        if axis < 0:
            raise ValueError("XLA operations do not allow negative axes")
        if axis >= operand.ndim:
            raise ValueError(f"axis {axis} is out of bounds for array of shape {operand.shape}")
        check_dtype(name, operand, accepted)
        return operand

    return rule


cumsum_p = standard_primitive("cumsum", _cumulative_rule("cumsum", NUMBER))


def cumsum(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running sums along ``axis`` (from the end when ``reverse``)."""
    return cumsum_p.bind(operand, axis=int(axis), reverse=bool(reverse))


cumprod_p = standard_primitive("cumprod", _cumulative_rule("cumprod", NUMBER))


def cumprod(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running products along ``axis`` (from the end when ``reverse``)."""
    return cumprod_p.bind(operand, axis=int(axis), reverse=bool(reverse))


cummax_p = standard_primitive("cummax", _cumulative_rule("cummax", NUMBER))


def cummax(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running maxima along ``axis`` (NaN propagates)."""
    return cummax_p.bind(operand, axis=int(axis), reverse=bool(reverse))


cummin_p = standard_primitive("cummin", _cumulative_rule("cummin", NUMBER))


def cummin(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running minima along ``axis`` (NaN propagates)."""
    return cummin_p.bind(operand, axis=int(axis), reverse=bool(reverse))


# JAX accepts integers here too, then fails while lowering; refjax rejects them up front.
cumlogsumexp_p = standard_primitive("cumlogsumexp", _cumulative_rule("cumlogsumexp", FLOATING))


def cumlogsumexp(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running ``log(sum(exp(x)))`` along ``axis``, computed without overflow."""
    return cumlogsumexp_p.bind(operand, axis=int(axis), reverse=bool(reverse))
