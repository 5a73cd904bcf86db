"""Elementwise primitives: unary math, binary arithmetic, bitwise logic, comparisons, casts.

Each primitive is stated once: its abstract-evaluation rule (shape, dtype, weak type) at its
definition, then its ``refjax.lax`` wrapper, then its JVP, transpose and batching rules.

Shapes follow lax, not numpy: n-ary operands have equal ranks, except that rank-0 operands
broadcast and size-1 axes stretch (``broadcast_shapes``). Shape errors are raised before dtype
errors, as in JAX. A result is weakly typed when every (value) operand is.

The rules follow JAX's (``jax/_src/lax/lax.py``). Binary rules respect that broadcasting: a JVP
broadcasts a lone tangent of a smaller operand to the output shape (``_maybe_broadcast``) and a
transpose sums the cotangent back to each operand's shape (``_unbroadcast``).
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import (
    BatchDim,
    batching_rules,
    bdim_at,
    defbroadcasting,
    defvectorized,
    moveaxis,
)
from refjax.interp.core import Array, ArrayLike, Primitive, ShapedArray, as_array, get_aval
from refjax.interp.jvp import (
    Tangent,
    Zero,
    defjvp,
    defjvp2,
    defjvp_zero,
    instantiate,
    jvp_rules,
)
from refjax.interp.transpose import (
    Cotangent,
    UndefinedPrimal,
    defbilinear,
    deflinear,
    deflinear2,
    deftranspose,
)
from refjax.primitives.common import (
    ScalarKind,
    broadcast_shapes,
    check_dtype,
    check_dtype_at,
    check_same_dtypes,
    shape_of,
    standard_primitive,
)

if TYPE_CHECKING:
    from refjax.tree_util import PyTree

__all__ = [
    "RoundingMethod",
    "abs",
    "abs_p",
    "add",
    "add_p",
    "and_p",
    "bitcast_convert_type",
    "bitcast_convert_type_p",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "ceil",
    "ceil_p",
    "clamp",
    "clamp_p",
    "clz",
    "clz_p",
    "conj",
    "conj_p",
    "convert_element_type",
    "convert_element_type_p",
    "copy",
    "copy_p",
    "div",
    "div_p",
    "eq",
    "eq_p",
    "floor",
    "floor_p",
    "ge",
    "ge_p",
    "gt",
    "gt_p",
    "imag",
    "imag_p",
    "integer_pow",
    "integer_pow_p",
    "is_finite",
    "is_finite_p",
    "le",
    "le_p",
    "lt",
    "lt_p",
    "max",
    "max_p",
    "min",
    "min_p",
    "mul",
    "mul_p",
    "ne",
    "ne_p",
    "neg",
    "neg_p",
    "nextafter",
    "nextafter_p",
    "not_p",
    "or_p",
    "population_count",
    "population_count_p",
    "pow",
    "pow_p",
    "real",
    "real_p",
    "reciprocal",
    "rem",
    "rem_p",
    "round",
    "round_p",
    "select",
    "select_n",
    "select_n_p",
    "shift_left",
    "shift_left_p",
    "shift_right_arithmetic",
    "shift_right_arithmetic_p",
    "shift_right_logical",
    "shift_right_logical_p",
    "sign",
    "sign_p",
    "square",
    "square_p",
    "stop_gradient",
    "stop_gradient_p",
    "sub",
    "sub_p",
    "xor_p",
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
# Helpers for the transformation rules. Shape and reduction primitives import this module, so
# they are imported where used.



def _const(x: ArrayLike, value: complex) -> Array:
    """Rank-0 ``value`` with ``x``'s dtype and weak type; lax broadcasts it (JAX's ``_const``)."""
    from refjax.primitives.constants import full_like_scalar

    return full_like_scalar(x, value)


def _full_like(x: ArrayLike, value: complex) -> Array:
    """``value`` with ``x``'s shape, dtype and weak type (JAX's ``full_like``)."""
    from refjax.primitives.shape import broadcast_in_dim

    return broadcast_in_dim(_const(x, value), shape_of(x), ())


def _maybe_broadcast(shape: tuple[int, ...], x: Array) -> Array:
    """``x`` broadcast to ``shape`` the way lax broadcasts operands: rank 0, or size-1 axes."""
    from refjax.primitives.shape import broadcast_in_dim, reshape

    x_shape = shape_of(x)
    if x_shape == shape:
        return as_array(x)  # tangents given to ``jvp`` may still be host arrays
    if not x_shape:
        return broadcast_in_dim(x, shape, ())
    kept = tuple(i for i, (a, b) in enumerate(zip(x_shape, shape, strict=True)) if a == b)
    return broadcast_in_dim(reshape(x, tuple(x_shape[i] for i in kept)), shape, kept)


def _unbroadcast(aval: ShapedArray, ct: Array) -> Array:
    """Cotangent ``ct`` summed back to ``aval``'s shape: undoes ``_maybe_broadcast``."""
    from refjax.primitives.reductions import reduce_sum
    from refjax.primitives.shape import reshape

    ct_shape = shape_of(ct)
    if ct_shape == aval.shape:
        return ct
    if not aval.shape:
        return reduce_sum(ct, tuple(range(len(ct_shape))))
    axes = tuple(i for i, (a, b) in enumerate(zip(ct_shape, aval.shape, strict=True)) if a != b)
    return reshape(reduce_sum(ct, axes), aval.shape)


def _unbroadcast_ct(operand: ArrayLike | UndefinedPrimal, ct: Array) -> Array | None:
    """``ct`` summed to the shape of a linear operand; None for a known operand."""
    if not isinstance(operand, UndefinedPrimal):
        return None
    return _unbroadcast(operand.aval, ct)


def _out_shape(name: str, *xs: ArrayLike) -> tuple[int, ...]:
    """The broadcast shape of an n-ary op's operands."""
    return broadcast_shapes(name, *(shape_of(x) for x in xs))


def _replace_zero(x: ArrayLike) -> Array:
    """``x`` with its zeros replaced by ones (a safe divisor or logarithm argument)."""
    return select_n(eq(x, _const(x, 0)), as_array(x), _full_like(x, 1))


def _defzero_unary(*prims: Primitive) -> None:
    """Zero derivative, batched elementwise: the rules of ``sign``, ``floor``, bit counts ..."""
    for prim in prims:
        defjvp_zero(prim)
        defvectorized(prim)


def _defzero_nary(*prims: Primitive) -> None:
    """Zero derivative, batched with broadcasting: comparisons, bitwise ops, shifts."""
    for prim in prims:
        defjvp_zero(prim)
        defbroadcasting(prim)


# ---------------------------------------------------------------------------------------------
# Unary arithmetic

neg_p = standard_primitive("neg", _unop("neg", _NUM))


def neg(x: ArrayLike) -> Array:
    """Elementwise negation: ``-x`` (integers wrap around)."""
    return neg_p.bind(x)


deflinear2(neg_p, lambda ct, x: [neg(ct)])
defvectorized(neg_p)


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


_defzero_unary(sign_p, floor_p, ceil_p, round_p, is_finite_p)


abs_p = standard_primitive("abs", _unop("abs", _SIGNED, _real_dtype))


def abs(x: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise absolute value (real for complex input; the most negative integer wraps)."""
    return abs_p.bind(x)


def _abs_jvp(g: Array, ans: Array, x: ArrayLike) -> Array:
    """``g * sign(x)`` for reals, except that x = 0 takes ``g`` (as JAX); ``Re(g conj(x)/|x|)``."""
    if get_aval(x).dtype.kind == "c":
        unit = div(conj(x), _replace_zero(convert_element_type(ans, get_aval(x).dtype)))
        return real(mul(g, unit))
    return select_n(ge(x, _const(x, 0)), neg(g), g)


defjvp2(abs_p, _abs_jvp)
defvectorized(abs_p)


square_p = standard_primitive("square", _unop("square", _NUM))


def square(x: ArrayLike) -> Array:
    """Elementwise ``x * x``."""
    return square_p.bind(x)


defjvp2(square_p, lambda g, ans, x: mul(g, mul(_const(x, 2), x)))
defvectorized(square_p)


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


def _integer_pow_tangent(g: Array, x: ArrayLike, y: int) -> Array:
    """``g * y * x**(y - 1)``, written out for y = 1 and 2 as JAX does."""
    if y == 1:
        return as_array(g)
    if y == 2:
        return mul(g, mul(_const(x, 2), x))
    return mul(g, mul(_const(x, y), integer_pow(x, y - 1)))


def _integer_pow_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, y: int
) -> tuple[list[Array], list[Tangent]]:
    """``x**0`` is constant: its tangent stays a symbolic zero."""
    (x,), (t,) = primals, tangents
    out = integer_pow(x, y)
    if y == 0:
        return [out], [Zero.from_primal(out)]
    return [out], [_integer_pow_tangent(instantiate(t), x, y)]


jvp_rules[integer_pow_p] = _integer_pow_jvp
defvectorized(integer_pow_p)


def reciprocal(x: ArrayLike) -> Array:
    """Elementwise ``1 / x``: ``integer_pow(x, -1)``, as JAX writes it."""
    return integer_pow(x, -1)


real_p = standard_primitive("real", _unop("real", _COMPLEX, _real_dtype))


def real(x: ArrayLike) -> Array:
    """Elementwise real part of a complex array."""
    return real_p.bind(x)


def _real_transpose(ct: Array, x: UndefinedPrimal) -> list[Cotangent | None]:
    """``complex(ct, 0)``."""
    return [convert_element_type(ct, x.aval.dtype)]


deflinear2(real_p, _real_transpose)
defvectorized(real_p)


imag_p = standard_primitive("imag", _unop("imag", _COMPLEX, _real_dtype))


def imag(x: ArrayLike) -> Array:
    """Elementwise imaginary part of a complex array."""
    return imag_p.bind(x)


def _imag_transpose(ct: Array, x: UndefinedPrimal) -> list[Cotangent | None]:
    """``complex(0, -ct)``, as ``ct * -1j``."""
    ct_complex = convert_element_type(ct, x.aval.dtype)
    return [mul(ct_complex, _const(ct_complex, -1j))]


deflinear2(imag_p, _imag_transpose)
defvectorized(imag_p)


def _conj_rule(x: ShapedArray, *, input_dtype: DType) -> ShapedArray:
    check_dtype("conj", x, _CONJ)
    return x.update(dtype=_complex_dtype(x.dtype))


conj_p = standard_primitive("conj", _conj_rule)


def conj(x: ArrayLike) -> Array:
    """Elementwise complex conjugate; a real float32/float64 input becomes complex."""
    return conj_p.bind(x, input_dtype=get_aval(x).dtype)


def _conj_transpose(ct: Array, x: UndefinedPrimal, *, input_dtype: DType) -> list[Cotangent | None]:
    """``conj(ct)``; the real part for a real operand (conj made it complex)."""
    return [conj(ct) if input_dtype.kind == "c" else real(ct)]


deflinear2(conj_p, _conj_transpose)
defvectorized(conj_p)


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


_defzero_unary(not_p, population_count_p, clz_p)


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


_defzero_nary(and_p, or_p, xor_p, shift_left_p, shift_right_logical_p, shift_right_arithmetic_p)


# ---------------------------------------------------------------------------------------------
# Binary arithmetic

add_p = standard_primitive("add", _naryop("add", [_NUM, _NUM]))


def add(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x + y``; both operands must have the same dtype."""
    return add_p.bind(x, y)


def _add_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
) -> tuple[list[Array], list[Tangent]]:
    """``tx + ty``; a lone tangent is broadcast to the output's shape."""
    (x, y), (tx, ty) = primals, tangents
    out = add(x, y)
    if isinstance(tx, Zero):
        return [out], [_maybe_broadcast(out.shape, instantiate(ty))]
    if isinstance(ty, Zero):
        return [out], [_maybe_broadcast(out.shape, tx)]
    return [out], [add(tx, ty)]


def _add_transpose(
    ct: Array, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal
) -> list[Cotangent | None]:
    return [_unbroadcast_ct(x, ct), _unbroadcast_ct(y, ct)]


jvp_rules[add_p] = _add_jvp
deftranspose(add_p, _add_transpose)
defbroadcasting(add_p)


sub_p = standard_primitive("sub", _naryop("sub", [_NUM, _NUM]))


def sub(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x - y``."""
    return sub_p.bind(x, y)


def _sub_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
) -> tuple[list[Array], list[Tangent]]:
    """``tx - ty``; a lone tangent is broadcast to the output's shape."""
    (x, y), (tx, ty) = primals, tangents
    out = sub(x, y)
    if isinstance(tx, Zero):
        return [out], [_maybe_broadcast(out.shape, neg(instantiate(ty)))]
    if isinstance(ty, Zero):
        return [out], [_maybe_broadcast(out.shape, tx)]
    return [out], [sub(tx, ty)]


def _sub_transpose(
    ct: Array, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal
) -> list[Cotangent | None]:
    return [_unbroadcast_ct(x, ct), _unbroadcast_ct(y, neg(ct))]


jvp_rules[sub_p] = _sub_jvp
deftranspose(sub_p, _sub_transpose)
defbroadcasting(sub_p)


mul_p = standard_primitive("mul", _naryop("mul", [_NUM, _NUM]))


def mul(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x * y``."""
    return mul_p.bind(x, y)


def _mul_transpose_lhs(ct: Array, x: UndefinedPrimal, y: ArrayLike) -> Cotangent:
    return _unbroadcast(x.aval, mul(ct, y))


def _mul_transpose_rhs(ct: Array, x: ArrayLike, y: UndefinedPrimal) -> Cotangent:
    return _unbroadcast(y.aval, mul(x, ct))


defbilinear(mul_p, _mul_transpose_lhs, _mul_transpose_rhs)
defbroadcasting(mul_p)


div_p = standard_primitive("div", _naryop("div", [_NUM, _NUM]))


def div(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x / y``; integer division rounds toward zero, as C (and lax) do."""
    return div_p.bind(x, y)


def _div_transpose(
    ct: Array, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal
) -> list[Cotangent | None]:
    """Linear in the numerator only."""
    if isinstance(y, UndefinedPrimal):
        raise RuntimeError("nonlinear div can't be transposed")
    assert isinstance(x, UndefinedPrimal)
    return [_unbroadcast(x.aval, div(ct, y)), None]


defjvp(
    div_p,
    lambda g, x, y: div(g, y),
    lambda g, x, y: mul(mul(neg(g), x), integer_pow(y, -2)),
)
deftranspose(div_p, _div_transpose)
defbroadcasting(div_p)


rem_p = standard_primitive("rem", _naryop("rem", [_INT_OR_FLOAT, _INT_OR_FLOAT]))


def rem(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise remainder of ``div``: it takes the sign of the dividend ``x`` (C's fmod)."""
    return rem_p.bind(x, y)


def _rem_jvp_rhs(g: Array, x: ArrayLike, y: ArrayLike) -> Array:
    """``-g * trunc(x / y)``, written ``sign(x / y) * floor(|x / y|)`` as JAX does."""
    return mul(neg(g), mul(sign(div(x, y)), floor(abs(div(x, y)))))


defjvp(rem_p, lambda g, x, y: _maybe_broadcast(_out_shape("rem", x, y), g), _rem_jvp_rhs)
defbroadcasting(rem_p)


max_p = standard_primitive("max", _naryop("max", [_ANY, _ANY]))


def max(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise maximum; NaN propagates, +0 beats -0, complex compares lexicographically."""
    return max_p.bind(x, y)


min_p = standard_primitive("min", _naryop("min", [_ANY, _ANY]))


def min(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise minimum; NaN propagates, -0 beats +0, complex compares lexicographically."""
    return min_p.bind(x, y)


def _balanced_eq(x: ArrayLike, z: Array, y: ArrayLike) -> Array:
    """1 where ``x`` attains ``z`` alone, 1/2 where ``y`` ties it, else 0 (JAX's rule)."""
    # (the constants made in JAX's order, so that traced programs read the same)
    x_at, one, zero = eq(x, z), _full_like(z, 1), _full_like(z, 0)
    hit = select_n(x_at, zero, one)
    y_at, two, one = eq(y, z), _full_like(z, 2), _full_like(z, 1)
    return div(hit, select_n(y_at, one, two))


def _defchooser(prim: Primitive) -> None:
    """Rules of ``max`` and ``min``: the tangent of whichever operand the answer is."""
    defjvp2(
        prim,
        lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)),
        lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x)),
    )
    defbroadcasting(prim)


_defchooser(max_p)
_defchooser(min_p)


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


def _pow_jvp_lhs(g: Array, ans: Array, x: ArrayLike, y: ArrayLike) -> Array:
    """``g * y * x**(y - 1)``; for an integer ``y``, 0 where ``y == 0`` (so d(x**0) = 0)."""
    dtype = get_aval(x).dtype
    y_is_int = dtypes.is_integer(get_aval(y).dtype)
    x, y = convert_element_type(x, dtype), convert_element_type(y, dtype)
    if not y_is_int:
        return mul(g, mul(y, pow(x, sub(y, _const(y, 1)))))
    shape = _out_shape("pow", x, y)
    x, y = _maybe_broadcast(shape, x), _maybe_broadcast(shape, y)
    slope = mul(_replace_zero(y), pow(x, sub(y, _const(y, 1))))
    return mul(g, select_n(eq(y, _const(y, 0)), slope, _full_like(y, 0)))


def _pow_jvp_rhs(g: Array, ans: Array, x: ArrayLike, y: ArrayLike) -> Array:
    """``g * log(x) * x**y``, with ``log(1)`` where ``x == 0`` (so d(0**y)/dy = 0)."""
    from refjax.primitives.transcendental import log

    tangent = mul(g, mul(log(_replace_zero(x)), ans))
    return convert_element_type(tangent, get_aval(y).dtype)


defjvp2(pow_p, _pow_jvp_lhs, _pow_jvp_rhs)
defbroadcasting(pow_p)


nextafter_p = standard_primitive("nextafter", _naryop("nextafter", [_FLOAT, _FLOAT]))


def nextafter(x1: ArrayLike, x2: ArrayLike) -> Array:
    """The next representable value after ``x1`` in the direction of ``x2``."""
    return nextafter_p.bind(x1, x2)


# No JVP rule, as in JAX: differentiating nextafter raises NotImplementedError naming it.
defbroadcasting(nextafter_p)


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


_defzero_nary(eq_p, ne_p, lt_p, le_p, gt_p, ge_p)


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


def _select_n_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
) -> tuple[list[Array], list[Tangent]]:
    """Linear in the cases (zero tangents filled in), constant in ``which``."""
    which, *cases = primals
    out = select_n(which, *cases)
    case_tangents = tangents[1:]
    nonzero = [t for t in case_tangents if not isinstance(t, Zero)]
    if not nonzero:
        return [out], [Zero.from_primal(out)]
    zeros = _full_like(nonzero[0], 0)
    return [out], [select_n(which, *[zeros if isinstance(t, Zero) else t for t in case_tangents])]


def _select_n_transpose(
    ct: Array, which: ArrayLike, *cases: ArrayLike | UndefinedPrimal
) -> list[Cotangent | None]:
    """Case i receives ``ct`` where ``which == i`` and zero elsewhere."""
    assert not isinstance(which, UndefinedPrimal)
    zeros = _full_like(ct, 0)
    is_bool = get_aval(which).dtype == dtypes.bool_
    cts: list[Cotangent | None] = [None]
    for i, case in enumerate(cases):
        if not isinstance(case, UndefinedPrimal):
            cts.append(None)
        elif is_bool:
            cts.append(select_n(which, ct, zeros) if i == 0 else select_n(which, zeros, ct))
        else:
            cts.append(select_n(eq(which, _const(which, i)), zeros, ct))
    return cts


def _select_n_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[Array], list[int]]:
    """Every operand gets its batch axis where the output's goes (a batched case's, if any)."""
    which, *cases = args
    which_dim, *case_dims = dims
    size = _batch_size(args, dims)
    rank = len(shape_of(cases[0])) - (case_dims[0] is not None)
    dst = _batch_dst([(which, which_dim), *zip(cases, case_dims, strict=True)], rank)
    moved = [bdim_at(c, d, size, dst) for c, d in zip(cases, case_dims, strict=True)]
    return [select_n(_batch_operand(which, which_dim, size, dst, moved[0]), *moved)], [dst]


def _batch_size(args: Sequence[ArrayLike], dims: Sequence[BatchDim]) -> int:
    """The size of the batch axis (of the first batched operand)."""
    return next(shape_of(a)[d] for a, d in zip(args, dims, strict=True) if d is not None)


def _batch_dst(operands: Sequence[tuple[ArrayLike, BatchDim]], rank: int) -> int:
    """Where the output's batch axis goes: that of the first batched operand of full ``rank``."""
    for x, d in operands:
        if d is not None and len(shape_of(x)) == rank + 1:
            return d
    return 0


def _batch_operand(x: ArrayLike, d: BatchDim, size: int, dst: int, like: Array) -> Array:
    """An operand that may be rank 0 per example (``which``, clamp's bounds) batched like ``like``.

    Unbatched rank-0 operands stay scalars (lax broadcasts them); a batched scalar is broadcast
    along ``like``'s batch axis ``dst``; a full-rank operand gets its batch axis at ``dst``.
    """
    from refjax.primitives.shape import broadcast_in_dim

    rank = len(shape_of(x))
    if d is None and rank == 0:
        return as_array(x)
    if d is not None and rank == 1 and len(shape_of(like)) > 1:
        return broadcast_in_dim(x, shape_of(like), (dst,))
    return bdim_at(x, d, size, dst)


jvp_rules[select_n_p] = _select_n_jvp
deftranspose(select_n_p, _select_n_transpose)
batching_rules[select_n_p] = _select_n_batch


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


def _clamp_jvp_min(g: Array, lo: ArrayLike, x: ArrayLike, hi: ArrayLike) -> Array:
    """``g`` where the lower bound is the answer (``x < min < max``), else 0."""
    chosen = bitwise_and(gt(lo, x), lt(lo, hi))
    return select_n(chosen, _full_like(x, 0), _maybe_broadcast(shape_of(x), g))


def _clamp_jvp_operand(g: Array, lo: ArrayLike, x: ArrayLike, hi: ArrayLike) -> Array:
    """``g`` strictly inside the bounds, else 0."""
    return select_n(bitwise_and(gt(x, lo), lt(x, hi)), _full_like(x, 0), g)


def _clamp_jvp_max(g: Array, lo: ArrayLike, x: ArrayLike, hi: ArrayLike) -> Array:
    """``g`` where the upper bound is the answer (``max < x``), else 0."""
    return select_n(lt(hi, x), _full_like(x, 0), _maybe_broadcast(shape_of(x), g))


def _clamp_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[Array], list[int]]:
    """The operand's batch axis stays put; bounds follow it (scalar bounds stay scalars)."""
    (lo, x, hi), (lo_dim, x_dim, hi_dim) = args, dims
    size = _batch_size(args, dims)
    rank = len(shape_of(x)) - (x_dim is not None)
    dst = _batch_dst([(x, x_dim), (lo, lo_dim), (hi, hi_dim)], rank)
    x = bdim_at(x, x_dim, size, dst)
    lo = _batch_operand(lo, lo_dim, size, dst, x)
    return [clamp(lo, x, _batch_operand(hi, hi_dim, size, dst, x))], [dst]


defjvp(clamp_p, _clamp_jvp_min, _clamp_jvp_operand, _clamp_jvp_max)
batching_rules[clamp_p] = _clamp_batch


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


def _convert_element_type_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, new_dtype: DType, weak_type: bool
) -> tuple[list[Array], list[Tangent]]:
    """The tangent converted alike; zero (float0 for integer and bool results) where the
    operand or the result is an integer or bool."""
    (x,), (t,) = primals, tangents
    out = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if not (dtypes.is_float(new_dtype) and dtypes.is_float(get_aval(x).dtype)):
        return [out], [Zero.from_primal(out)]
    t_out = convert_element_type_p.bind(instantiate(t), new_dtype=new_dtype, weak_type=weak_type)
    return [out], [t_out]


def _convert_element_type_transpose(
    ct: Array, operand: UndefinedPrimal, *, new_dtype: DType, weak_type: bool
) -> list[Cotangent | None]:
    """Convert back to the operand's dtype and weak type; float0 for an integer operand."""
    aval = operand.aval
    if not dtypes.is_float(aval.dtype):
        return [Zero(aval.update(dtype=dtypes.float0, weak_type=False))]
    return [convert_element_type_p.bind(ct, new_dtype=aval.dtype, weak_type=aval.weak_type)]


jvp_rules[convert_element_type_p] = _convert_element_type_jvp
deftranspose(convert_element_type_p, _convert_element_type_transpose)
defvectorized(convert_element_type_p)


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


def _bitcast_convert_type_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, new_dtype: DType
) -> tuple[list[Array], list[BatchDim]]:
    """Elementwise, except that a widening cast consumes the last axis: keep the batch off it."""
    (x,), (d,) = args, dims
    aval = get_aval(x)
    if new_dtype.itemsize > aval.dtype.itemsize and d == aval.ndim - 1:
        x, d = moveaxis(x, d, 0), 0
    return [bitcast_convert_type_p.bind(x, new_dtype=new_dtype)], [d]


defjvp_zero(bitcast_convert_type_p)
batching_rules[bitcast_convert_type_p] = _bitcast_convert_type_batch


# ---------------------------------------------------------------------------------------------
# Identities: stop_gradient (a constant to autodiff) and copy (a fresh buffer)


def _identity_rule(x: ShapedArray) -> ShapedArray:
    return x


stop_gradient_p = standard_primitive("stop_gradient", _identity_rule)


def stop_gradient(x: PyTree) -> PyTree:
    """The identity on every leaf of ``x``, treated as a constant by differentiation."""
    from refjax.tree_util import tree_map

    return tree_map(stop_gradient_p.bind, x)


def _stop_gradient_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
) -> tuple[list[Array], list[Tangent]]:
    """A zero tangent; the primal goes through ``stop_gradient`` again for outer traces."""
    (x,) = primals
    out = stop_gradient_p.bind(x)
    return [out], [Zero.from_primal(out)]


jvp_rules[stop_gradient_p] = _stop_gradient_jvp
defvectorized(stop_gradient_p)


copy_p = standard_primitive("copy", _identity_rule)


def copy(x: ArrayLike) -> Array:
    """A copy of ``x`` in a new buffer (the ``copy`` primitive of ``jnp.array(x, copy=True)``)."""
    return copy_p.bind(x)


deflinear(copy_p, lambda ct: [copy(ct)])  # its transpose needs no operand, as JAX's
defvectorized(copy_p)
