"""Elementwise primitives: unary math, binary arithmetic, bitwise logic, comparisons, casts.

Each primitive is stated once: its abstract-evaluation rule (shape, dtype, weak type) at its
definition, then its ``refjax.lax`` wrapper. Later layers register their rules right below.
"""

from __future__ import annotations

from refjax import dtypes
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike, ShapedArray

__all__ = [
    "abs",
    "add",
    "convert_element_type",
    "div",
    "mul",
    "neg",
    "sign",
    "sub",
]

from refjax.primitives.common import (
    ANY,
    NUMBER,
    SIGNED_OR_FLOAT,
    check_dtype,
    naryop_rule,
    standard_primitive,
    unop_rule,
)

# ---------------------------------------------------------------------------------------------
# Unary

neg_p = standard_primitive("neg", unop_rule("neg", NUMBER))


def neg(x: ArrayLike) -> Array:
    """Elementwise negation: ``-x``."""
    return neg_p.bind(x)


sign_p = standard_primitive("sign", unop_rule("sign", NUMBER))


def sign(x: ArrayLike) -> Array:
    """Elementwise sign: -1, 0 or 1 (for unsigned integers, 0 or 1)."""
    return sign_p.bind(x)






abs_p = standard_primitive("abs", unop_rule("abs", SIGNED_OR_FLOAT))


def abs(x: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise absolute value."""
    return abs_p.bind(x)


# ---------------------------------------------------------------------------------------------
# Binary arithmetic

add_p = standard_primitive("add", naryop_rule("add", [NUMBER, NUMBER]))


def add(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x + y``; both operands must have the same dtype."""
    return add_p.bind(x, y)


sub_p = standard_primitive("sub", naryop_rule("sub", [NUMBER, NUMBER]))


def sub(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x - y``."""
    return sub_p.bind(x, y)


mul_p = standard_primitive("mul", naryop_rule("mul", [NUMBER, NUMBER]))


def mul(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x * y``."""
    return mul_p.bind(x, y)


div_p = standard_primitive("div", naryop_rule("div", [NUMBER, NUMBER]))


def div(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x / y``; integer division rounds toward zero, as C (and lax) do."""
    return div_p.bind(x, y)


# ---------------------------------------------------------------------------------------------
# Casts


def _convert_element_type_rule(
    operand: ShapedArray, *, new_dtype: dtypes.DType, weak_type: bool
) -> ShapedArray:
    check_dtype("convert_element_type", operand, ANY)
    return ShapedArray(operand.shape, new_dtype, weak_type)


convert_element_type_p = standard_primitive("convert_element_type", _convert_element_type_rule)


def convert_element_type(operand: ArrayLike, new_dtype: DTypeLike) -> Array:
    """``operand`` cast to ``new_dtype`` (canonicalised); floats to ints truncate toward zero."""
    dtype = dtypes.canonicalize_dtype(new_dtype)
    return convert_element_type_p.bind(operand, new_dtype=dtype, weak_type=False)


