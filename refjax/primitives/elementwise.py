"""Elementwise primitives: unary math, binary arithmetic, bitwise logic, comparisons, casts.

Each primitive is stated once: its abstract-evaluation rule (shape, dtype, weak type) at its
definition, then its ``refjax.lax`` wrapper. Later layers register their rules right below.

Shapes follow lax, not numpy: n-ary operands have equal ranks, except that rank-0 operands
broadcast and size-1 axes stretch (``broadcast_shapes``). Shape errors are raised before dtype
errors, as in JAX. A result is weakly typed when every (value) operand is.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.primitives.common import (
    ScalarKind,
    broadcast_shapes,
    check_dtype,
    check_dtype_at,
    check_same_dtypes,
    standard_primitive,
)

if TYPE_CHECKING:
    from refjax.tree_util import PyTree

__all__ = [
    "RoundingMethod",
    "abs",
    "add",
    "bitcast_convert_type",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clz",
    "conj",
    "convert_element_type",
    "copy",
    "div",
    "eq",
    "floor",
    "ge",
    "gt",
    "imag",
    "integer_pow",
    "is_finite",
    "le",
    "lt",
    "max",
    "min",
    "mul",
    "ne",
    "neg",
    "nextafter",
    "population_count",
    "pow",
    "real",
    "reciprocal",
    "rem",
    "round",
    "select",
    "select_n",
    "shift_left",
    "shift_right_arithmetic",
    "shift_right_logical",
    "sign",
    "square",
    "stop_gradient",
    "sub",
]

# Accepted dtype kinds, listed in the order JAX's error messages list them.
_FLOAT: Final[tuple[ScalarKind, ...]] = (np.floating,)
_INT: Final[tuple[ScalarKind, ...]] = (np.integer,)
_COMPLEX: Final[tuple[ScalarKind, ...]] = (np.complexfloating,)
_NUM: Final[tuple[ScalarKind, ...]] = (np.integer, np.floating, np.complexfloating)
_ANY: Final[tuple[ScalarKind, ...]] = (np.integer, np.bool_, np.floating, np.complexfloating)
_ORDERED: Final[tuple[ScalarKind, ...]] = (np.integer, np.floating, np.bool_)
_BOOL_OR_INT: Final[tuple[ScalarKind, ...]] = (np.integer, np.bool_)
_INT_OR_FLOAT: Final[tuple[ScalarKind, ...]] = (np.integer, np.floating)
_INEXACT: Final[tuple[ScalarKind, ...]] = (np.floating, np.complexfloating)
_SIGNED: Final[tuple[ScalarKind, ...]] = (np.floating, np.complexfloating, np.signedinteger)
_CONJ: Final[tuple[ScalarKind, ...]] = (np.float32, np.complexfloating, np.float64)

DTypeRule = Callable[[DType], DType]
ElementwiseRule = Callable[..., ShapedArray]


def _real_dtype(dtype: DType) -> DType:
    """The dtype of ``|x|``: complex64 -> float32, complex128 -> float64, others unchanged."""
    return np.dtype(np.abs(np.zeros((), dtype)).dtype)


def _complex_dtype(dtype: DType) -> DType:
    """The complex dtype holding ``dtype``: float32 -> complex64, float64 -> complex128."""
    return np.result_type(dtype, np.complex64)


def _unop(
    name: str, accepted: Sequence[ScalarKind], result: DTypeRule | None = None
) -> ElementwiseRule:
    """Abstract eval of a unary elementwise op: dtype checked, shape and weak type kept."""

    def rule(x: ShapedArray) -> ShapedArray:
        check_dtype(name, x, accepted)
        return x if result is None else x.update(dtype=result(x.dtype))

    return rule


def _naryop(
    name: str,
    accepted: Sequence[Sequence[ScalarKind]],
    result: DTypeRule | None = None,
    same_dtypes: bool = True,
) -> ElementwiseRule:
    """Abstract eval of an n-ary elementwise op: shapes broadcast (lax rules), dtypes checked."""

    def rule(*avals: ShapedArray) -> ShapedArray:
        if len(avals) != len(accepted):
            raise TypeError(f"{name} takes {len(accepted)} arguments, got {len(avals)}")
        shape = broadcast_shapes(name, *(a.shape for a in avals))
        for i, (aval, kinds) in enumerate(zip(avals, accepted, strict=True)):
            check_dtype_at(name, aval, i, kinds)
        if same_dtypes:
            check_same_dtypes(name, *avals)
        dtype = avals[0].dtype if result is None else result(avals[0].dtype)
        return ShapedArray(shape, dtype, all(a.weak_type for a in avals))

    return rule


def _to_bool(dtype: DType) -> DType:
    return dtypes.bool_


# ---------------------------------------------------------------------------------------------
# Unary arithmetic

neg_p = standard_primitive("neg", _unop("neg", _NUM))


def neg(x: ArrayLike) -> Array:
    """Elementwise negation: ``-x`` (integers wrap around)."""
    return neg_p.bind(x)


sign_p = standard_primitive("sign", _unop("sign", _NUM))


def sign(x: ArrayLike) -> Array:
    """Elementwise sign: -1, 0 or 1; ±0 and NaN map to themselves; ``x / |x|`` for complex."""
    return sign_p.bind(x)


floor_p = standard_primitive("floor", _unop("floor", _FLOAT))


def floor(x: ArrayLike) -> Array:
    """Elementwise floor: round toward negative infinity."""
    return floor_p.bind(x)


ceil_p = standard_primitive("ceil", _unop("ceil", _FLOAT))


def ceil(x: ArrayLike) -> Array:
    """Elementwise ceiling: round toward positive infinity."""
    return ceil_p.bind(x)


class RoundingMethod(enum.IntEnum):
    """How :func:`round` breaks ties (``jax.lax.RoundingMethod``)."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def _round_rule(x: ShapedArray, *, rounding_method: RoundingMethod) -> ShapedArray:
    check_dtype("round", x, _FLOAT)
    return x


round_p = standard_primitive("round", _round_rule)


def round(  # noqa: A001  # lax's name
    x: ArrayLike, rounding_method: RoundingMethod | int = RoundingMethod.AWAY_FROM_ZERO
) -> Array:
    """Elementwise rounding to the nearest integer; ties as ``rounding_method`` says."""
    return round_p.bind(x, rounding_method=RoundingMethod(rounding_method))


is_finite_p = standard_primitive("is_finite", _unop("is_finite", _FLOAT, _to_bool))


def is_finite(x: ArrayLike) -> Array:
    """Elementwise test: True unless ``x`` is ±inf or NaN."""
    return is_finite_p.bind(x)


abs_p = standard_primitive("abs", _unop("abs", _SIGNED, _real_dtype))


def abs(x: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise absolute value (real for complex input; the most negative integer wraps)."""
    return abs_p.bind(x)


square_p = standard_primitive("square", _unop("square", _NUM))


def square(x: ArrayLike) -> Array:
    """Elementwise ``x * x``."""
    return square_p.bind(x)


def _aval_text(aval: ShapedArray) -> str:
    """JAX's ``str`` of an aval: ``int32[2,3]``, with ``~`` in front when weakly typed."""
    weak = "~" if aval.weak_type else ""
    return f"{weak}{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def _integer_pow_rule(x: ShapedArray, *, y: int) -> ShapedArray:
    check_dtype("integer_pow", x, _NUM)
    if y < 0 and dtypes.is_integer(x.dtype):
        raise TypeError(
            f"Integers cannot be raised to negative powers, got integer_pow({_aval_text(x)}, {y})"
        )
    return x


integer_pow_p = standard_primitive("integer_pow", _integer_pow_rule)


def integer_pow(x: ArrayLike, y: int) -> Array:
    """Elementwise ``x ** y`` for a static integer ``y`` (by repeated squaring)."""
    return integer_pow_p.bind(x, y=y)


def reciprocal(x: ArrayLike) -> Array:
    """Elementwise ``1 / x``: ``integer_pow(x, -1)``, as JAX writes it."""
    return integer_pow(x, -1)


real_p = standard_primitive("real", _unop("real", _COMPLEX, _real_dtype))


def real(x: ArrayLike) -> Array:
    """Elementwise real part of a complex array."""
    return real_p.bind(x)


imag_p = standard_primitive("imag", _unop("imag", _COMPLEX, _real_dtype))


def imag(x: ArrayLike) -> Array:
    """Elementwise imaginary part of a complex array."""
    return imag_p.bind(x)


def _conj_rule(x: ShapedArray, *, input_dtype: DType) -> ShapedArray:
    check_dtype("conj", x, _CONJ)
    return x.update(dtype=_complex_dtype(x.dtype))


conj_p = standard_primitive("conj", _conj_rule)


def conj(x: ArrayLike) -> Array:
    """Elementwise complex conjugate; a real float32/float64 input becomes complex."""
    return conj_p.bind(x, input_dtype=get_aval(x).dtype)


# ---------------------------------------------------------------------------------------------
# Bitwise operations

not_p = standard_primitive("not", _unop("not", _BOOL_OR_INT))


def bitwise_not(x: ArrayLike) -> Array:
    """Elementwise NOT: logical for bool, bitwise (``~x``) for integers."""
    return not_p.bind(x)


population_count_p = standard_primitive("population_count", _unop("population_count", _INT))


def population_count(x: ArrayLike) -> Array:
    """Elementwise number of set bits (of the two's-complement pattern)."""
    return population_count_p.bind(x)


clz_p = standard_primitive("clz", _unop("clz", _INT))


def clz(x: ArrayLike) -> Array:
    """Elementwise number of leading zero bits (the bit width for zero)."""
    return clz_p.bind(x)


and_p = standard_primitive("and", _naryop("and", [_BOOL_OR_INT, _BOOL_OR_INT]))


def bitwise_and(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise AND of bools or integer bit patterns."""
    return and_p.bind(x, y)


or_p = standard_primitive("or", _naryop("or", [_BOOL_OR_INT, _BOOL_OR_INT]))


def bitwise_or(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise OR of bools or integer bit patterns."""
    return or_p.bind(x, y)


xor_p = standard_primitive("xor", _naryop("xor", [_BOOL_OR_INT, _BOOL_OR_INT]))


def bitwise_xor(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise exclusive OR of bools or integer bit patterns."""
    return xor_p.bind(x, y)


shift_left_p = standard_primitive("shift_left", _naryop("shift_left", [_INT, _INT]))


def shift_left(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x << y``; 0 where ``y`` (read as unsigned) is at least the bit width."""
    return shift_left_p.bind(x, y)


shift_right_logical_p = standard_primitive(
    "shift_right_logical", _naryop("shift_right_logical", [_INT, _INT])
)


def shift_right_logical(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise right shift filling with zeros; 0 where ``y`` is out of range."""
    return shift_right_logical_p.bind(x, y)


shift_right_arithmetic_p = standard_primitive(
    "shift_right_arithmetic", _naryop("shift_right_arithmetic", [_INT, _INT])
)


def shift_right_arithmetic(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise right shift filling with the sign bit (also for unsigned dtypes)."""
    return shift_right_arithmetic_p.bind(x, y)


# ---------------------------------------------------------------------------------------------
# Binary arithmetic

add_p = standard_primitive("add", _naryop("add", [_NUM, _NUM]))


def add(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x + y``; both operands must have the same dtype."""
    return add_p.bind(x, y)


sub_p = standard_primitive("sub", _naryop("sub", [_NUM, _NUM]))


def sub(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x - y``."""
    return sub_p.bind(x, y)


mul_p = standard_primitive("mul", _naryop("mul", [_NUM, _NUM]))


def mul(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x * y``."""
    return mul_p.bind(x, y)


div_p = standard_primitive("div", _naryop("div", [_NUM, _NUM]))


def div(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x / y``; integer division rounds toward zero, as C (and lax) do."""
    return div_p.bind(x, y)


rem_p = standard_primitive("rem", _naryop("rem", [_INT_OR_FLOAT, _INT_OR_FLOAT]))


def rem(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise remainder of ``div``: it takes the sign of the dividend ``x`` (C's fmod)."""
    return rem_p.bind(x, y)


max_p = standard_primitive("max", _naryop("max", [_ANY, _ANY]))


def max(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise maximum; NaN propagates, +0 beats -0, complex compares lexicographically."""
    return max_p.bind(x, y)


min_p = standard_primitive("min", _naryop("min", [_ANY, _ANY]))


def min(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise minimum; NaN propagates, -0 beats +0, complex compares lexicographically."""
    return min_p.bind(x, y)


_pow_operands_rule: Final = _naryop("pow", [_INEXACT, _NUM], same_dtypes=False)


def _pow_rule(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    out = _pow_operands_rule(x, y)
    if dtypes.is_integer(y.dtype) or x.dtype == y.dtype:
        return out
    raise TypeError(
        "the first argument to pow must have an inexact dtype (float or complex), and the "
        "second argument must have an inexact or integer dtype, and two inexact dtypes must "
        f"match, but got {x.dtype} and {y.dtype} respectively."
    )


pow_p = standard_primitive("pow", _pow_rule)


def pow(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise ``x ** y``: ``x`` inexact; ``y`` of ``x``'s dtype or any integer dtype."""
    return pow_p.bind(x, y)


nextafter_p = standard_primitive("nextafter", _naryop("nextafter", [_FLOAT, _FLOAT]))


def nextafter(x1: ArrayLike, x2: ArrayLike) -> Array:
    """The next representable value after ``x1`` in the direction of ``x2``."""
    return nextafter_p.bind(x1, x2)


# ---------------------------------------------------------------------------------------------
# Comparisons: a bool result, weakly typed only when both operands are.

eq_p = standard_primitive("eq", _naryop("eq", [_ANY, _ANY], _to_bool))


def eq(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x == y``."""
    return eq_p.bind(x, y)


ne_p = standard_primitive("ne", _naryop("ne", [_ANY, _ANY], _to_bool))


def ne(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x != y``."""
    return ne_p.bind(x, y)


lt_p = standard_primitive("lt", _naryop("lt", [_ORDERED, _ORDERED], _to_bool))


def lt(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x < y``."""
    return lt_p.bind(x, y)


le_p = standard_primitive("le", _naryop("le", [_ORDERED, _ORDERED], _to_bool))


def le(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x <= y``."""
    return le_p.bind(x, y)


gt_p = standard_primitive("gt", _naryop("gt", [_ORDERED, _ORDERED], _to_bool))


def gt(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x > y``."""
    return gt_p.bind(x, y)


ge_p = standard_primitive("ge", _naryop("ge", [_ORDERED, _ORDERED], _to_bool))


def ge(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x >= y``."""
    return ge_p.bind(x, y)


# ---------------------------------------------------------------------------------------------
# Selection


def _select_n_rule(which: ShapedArray, *cases: ShapedArray) -> ShapedArray:
    if not cases:
        raise TypeError("select must have at least one case")
    if any(c.shape != cases[0].shape for c in cases[1:]):
        shapes = ", ".join(str(c.shape) for c in cases)
        raise TypeError(f"select cases must have the same shapes, got [{shapes}].")
    if which.shape and which.shape != cases[0].shape:
        raise TypeError(
            "select `which` must be scalar or have the same shape as cases, got `which` shape "
            f"{which.shape} but case shape {cases[0].shape}."
        )
    check_same_dtypes("select", *cases)
    if which.dtype != dtypes.bool_ and not dtypes.is_integer(which.dtype):
        raise TypeError(f"select `which` must be boolean or integer type, got {which.dtype}.")
    if which.dtype == dtypes.bool_ and len(cases) > 2:
        raise TypeError("select with boolean `which` cannot have > 2 cases.")
    return cases[0].update(weak_type=all(c.weak_type for c in cases))


select_n_p = standard_primitive("select_n", _select_n_rule)


def select_n(which: ArrayLike, *cases: ArrayLike) -> Array:
    """``cases[which]`` elementwise; ``which`` is bool (two cases) or an integer index."""
    if not cases:
        raise ValueError("select_n() must have at least one case")
    return select_n_p.bind(which, *cases)


def select(pred: ArrayLike, on_true: ArrayLike, on_false: ArrayLike) -> Array:
    """``on_true`` where ``pred`` holds, else ``on_false``: ``select_n`` with the cases swapped."""
    return select_n(pred, on_false, on_true)


def _clamp_rule(lo: ShapedArray, x: ShapedArray, hi: ShapedArray) -> ShapedArray:
    for arg, bound in (("min", lo), ("max", hi)):
        if bound.shape and bound.shape != x.shape:
            raise TypeError(
                f"clamp requires {arg}.shape == operand.shape or {arg}.shape == (), got "
                f"{arg}.shape={bound.shape}, operand.shape={x.shape}."
            )
    for i, aval in enumerate((lo, x, hi)):
        check_dtype_at("clamp", aval, i, _ANY)
    check_same_dtypes("clamp", lo, x, hi)
    return x.update(weak_type=lo.weak_type and x.weak_type and hi.weak_type)


clamp_p = standard_primitive("clamp", _clamp_rule)


def clamp(min: ArrayLike, x: ArrayLike, max: ArrayLike) -> Array:  # noqa: A002  # lax's names
    """``x`` clipped to ``[min, max]`` elementwise: ``lax.min(lax.max(x, min), max)``."""
    return clamp_p.bind(min, x, max)


# ---------------------------------------------------------------------------------------------
# Casts


def _convert_element_type_rule(
    operand: ShapedArray, *, new_dtype: DType, weak_type: bool
) -> ShapedArray:
    check_dtype("convert_element_type", operand, _ANY)
    return ShapedArray(operand.shape, new_dtype, weak_type)


convert_element_type_p = standard_primitive("convert_element_type", _convert_element_type_rule)


def convert_element_type(operand: ArrayLike, new_dtype: DTypeLike) -> Array:
    """``operand`` cast to ``new_dtype`` (canonicalised), like C's ``static_cast``.

    Floats to integers truncate toward zero and saturate (NaN -> 0), as XLA on CPU does.
    An array that already has the (strong) dtype is returned unchanged.
    """
    dtype = dtypes.canonicalize_dtype(new_dtype)
    aval = get_aval(operand)
    if aval.dtype.kind == "c" and dtype.kind != "c":
        msg = "Casting complex values to real discards the imaginary part"
        warnings.warn(msg, np.exceptions.ComplexWarning, stacklevel=2)
    if isinstance(operand, Array) and aval.dtype == dtype and not aval.weak_type:
        return operand
    return convert_element_type_p.bind(operand, new_dtype=dtype, weak_type=False)


def _bitcast_shape(operand: ShapedArray, new_dtype: DType) -> tuple[int, ...]:
    """A narrower dtype adds a trailing axis; a wider one consumes the trailing axis."""
    old_bits, new_bits = operand.dtype.itemsize * 8, new_dtype.itemsize * 8
    if old_bits == new_bits:
        return operand.shape
    if old_bits > new_bits:
        return (*operand.shape, old_bits // new_bits)
    last = operand.shape[-1] if operand.shape else 1
    if last * old_bits != new_bits:
        raise ValueError(
            f"Attempting to convert array of shape {operand.shape} from {operand.dtype} of size "
            f"{old_bits} bits to {new_dtype} of size {new_bits}, bits "
            f"but {last} * {old_bits} != {new_bits}"
        )
    return operand.shape[:-1]


def _bitcast_convert_type_rule(operand: ShapedArray, *, new_dtype: DType) -> ShapedArray:
    shape = _bitcast_shape(operand, new_dtype)
    special = {operand.dtype.kind, new_dtype.kind} & {"b", "c"}
    if special and operand.dtype != new_dtype:
        raise TypeError(
            "lax.bitcast_convert_type does not support bool or complex values unless the "
            f"operand and destination types match. Got operand dtype={operand.dtype}, "
            f"new_dtype={new_dtype!r}. Consider using the arr.view() method instead."
        )
    return ShapedArray(shape, new_dtype, False)


bitcast_convert_type_p = standard_primitive("bitcast_convert_type", _bitcast_convert_type_rule)


def bitcast_convert_type(operand: ArrayLike, new_dtype: DTypeLike) -> Array:
    """The bits of ``operand`` reinterpreted as ``new_dtype`` (see ``_bitcast_shape``)."""
    dtype = dtypes.canonicalize_dtype(new_dtype)
    return bitcast_convert_type_p.bind(operand, new_dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Identities: stop_gradient (a constant to autodiff) and copy (a fresh buffer)


def _identity_rule(x: ShapedArray) -> ShapedArray:
    return x


stop_gradient_p = standard_primitive("stop_gradient", _identity_rule)


def stop_gradient(x: PyTree) -> PyTree:
    """The identity on every leaf of ``x``, treated as a constant by differentiation."""
    from refjax.tree_util import tree_map

    return tree_map(stop_gradient_p.bind, x)


copy_p = standard_primitive("copy", _identity_rule)


def copy(x: ArrayLike) -> Array:
    """A copy of ``x`` in a new buffer (the ``copy`` primitive of ``jnp.array(x, copy=True)``)."""
    return copy_p.bind(x)
