"""Records for the non-transcendental elementwise primitives (see ``records.py``).

References are plain numpy, or Python integers wrapped to the dtype's width where numpy's own
integer semantics are not lax's (truncating division, shifts, bit counts). Edge values (division by
zero, NaN, out-of-range shifts and casts) are checked against real JAX in ``test_elementwise.py``.

Float operands stay away from the points where an op is not differentiable (``abs`` at 0, ties of
``max``/``min``, the jumps of ``rem``, clamp's bounds), so finite differences check the rules;
the rules' behaviour at those points is checked against JAX in ``test_elementwise.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import (
    BOOL_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    ArgsMaker,
    OpRecord,
    Shape,
    random_values,
    same_maker,
)

F = FLOAT_DTYPES
I = INT_DTYPES  # noqa: E741  # I for integers, next to F and B
B = BOOL_DTYPES
SIGNED = (np.dtype(np.int32), np.dtype(np.int8))
COMPLEX = (np.dtype(np.complex64),)

UNARY: list[tuple[Shape, ...]] = [((),), ((0, 3),), ((2, 3),)]
# lax broadcasting: equal shapes, a rank-0 operand on either side, size-1 axes stretching.
# The first non-scalar case is the one the transformation checks use: size-1 axes on both sides
# exercise the broadcasting of tangents and the summing of cotangents.
BINARY: list[tuple[Shape, ...]] = [
    ((), ()),
    ((0, 3), (0, 3)),
    ((1, 3), (2, 1)),
    ((2, 3), (2, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((0, 3), (1, 3)),
]
Dtype = np.dtype[Any]


def _fn(name: str, **params: Any) -> Callable[..., Any]:
    """``op`` calling ``lax.<name>(*operands, **params)`` on whichever lax module it is given."""
    return lambda lax, *xs: getattr(lax, name)(*xs, **params)


def _maker(*values: Callable[[np.random.Generator, Shape, Dtype], np.ndarray]) -> ArgsMaker:
    """An args maker drawing operand ``i`` from ``values[i]``."""

    def make(rng: np.random.Generator, shapes: Sequence[Shape], dtype: Dtype) -> list[np.ndarray]:
        return [v(rng, s, dtype) for v, s in zip(values, shapes, strict=True)]

    return make


# ---------------------------------------------------------------------------------------------
# Value generators


def small_ints(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Values in {-2..2} (non-negative for unsigned): equal pairs and zeros are common."""
    low = 0 if np.issubdtype(dtype, np.unsignedinteger) else -2
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(low, 3, shape).astype(dtype)


def nonzero(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Random values with zeros replaced by 3: safe divisors."""
    x = np.asarray(random_values(rng, shape, dtype))
    return np.where(x == 0, np.asarray(3, dtype), x).astype(dtype)


def away_from_zero(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Floats with magnitudes in (0.5, 2) and either sign; nonzero values of other dtypes."""
    if not np.issubdtype(dtype, np.floating):
        return nonzero(rng, shape, dtype)
    signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return (signs * rng.uniform(0.5, 2.0, shape)).astype(dtype)


def distinct_or_small_ints(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Normals for floats (ties have probability 0, so ``max``/``min`` are differentiable);
    values in {-2..2} for integers and bools (ties are common)."""
    if np.issubdtype(dtype, np.floating):
        return np.asarray(random_values(rng, shape, dtype))
    return small_ints(rng, shape, dtype)


def off_integers(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Floats whose fractional part is in (0.25, 0.75): ``rem`` by a divisor from ``divisors``
    is then at least 1/16 away from its jumps. Usual random values for integers."""
    if not np.issubdtype(dtype, np.floating):
        return np.asarray(random_values(rng, shape, dtype))
    return (rng.integers(-6, 6, shape) + rng.uniform(0.25, 0.75, shape)).astype(dtype)


def divisors(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Floats in {±1, ±2, ±4}; nonzero values of other dtypes."""
    if not np.issubdtype(dtype, np.floating):
        return nonzero(rng, shape, dtype)
    return rng.choice(np.array([-4.0, -2.0, -1.0, 1.0, 2.0, 4.0]), shape).astype(dtype)


def lower_bounds(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Floats in (-1.5, -0.5), below every upper bound; usual values of other dtypes."""
    if not np.issubdtype(dtype, np.floating):
        return np.asarray(random_values(rng, shape, dtype))
    return rng.uniform(-1.5, -0.5, shape).astype(dtype)


def upper_bounds(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Floats in (0.5, 1.5); usual values of other dtypes."""
    if not np.issubdtype(dtype, np.floating):
        return np.asarray(random_values(rng, shape, dtype))
    return rng.uniform(0.5, 1.5, shape).astype(dtype)


def halves(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Multiples of 1/2 in [-3, 3]: every rounding tie."""
    return (rng.integers(-6, 7, shape) / 2).astype(dtype)


def with_specials(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Normals with some entries replaced by inf, -inf and NaN."""
    x = np.asarray(random_values(rng, shape, dtype))
    specials = np.array([np.inf, -np.inf, np.nan], dtype)
    pick = rng.integers(0, 6, shape)
    return np.where(pick < 3, specials[np.minimum(pick, 2)], x).astype(dtype)


def positive(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Values in (0.1, 3)."""
    return rng.uniform(0.1, 3.0, shape).astype(dtype)


def scaled(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Floats in (-100, 100) (fractional), or the dtype's usual random values."""
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-100, 100, shape).astype(dtype)
    return np.asarray(random_values(rng, shape, dtype))


def all_bits(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Integers with uniformly random bit patterns (every bit, the sign bit included)."""
    raw = rng.integers(0, 256, (*shape, dtype.itemsize), dtype=np.uint8)
    return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape).copy()


def shift_amounts(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Shift amounts in range: 0 .. bit width - 1."""
    return rng.integers(0, dtype.itemsize * 8, shape).astype(dtype)


def int32_exponents(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Small int32 exponents, negative ones included."""
    return rng.integers(-3, 4, shape).astype(np.int32)


def bools(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """Random booleans, whatever the record's dtype."""
    return np.asarray(rng.random(shape) < 0.5)


def case_indices(rng: np.random.Generator, shape: Shape, dtype: Dtype) -> np.ndarray:
    """int32 indices of three cases."""
    return rng.integers(0, 3, shape).astype(np.int32)


# ---------------------------------------------------------------------------------------------
# Reference helpers


def _wrap(values: Sequence[int], dtype: Dtype) -> np.ndarray:
    """Python ints reduced modulo 2**bits and read as ``dtype`` (two's complement)."""
    mask = (1 << (dtype.itemsize * 8)) - 1
    unsigned = np.dtype(f"u{dtype.itemsize}")
    return np.array([v & mask for v in values], dtype=unsigned).view(dtype)


def int_ref(fn: Callable[..., int]) -> Callable[..., np.ndarray]:
    """A reference computing ``fn`` on Python ints per element, wrapped to the first dtype."""

    def ref(*xs: np.ndarray) -> np.ndarray:
        arrays = np.broadcast_arrays(*map(np.asarray, xs))
        dtype = np.asarray(xs[0]).dtype
        flat = [fn(*map(int, vals)) for vals in zip(*(a.ravel() for a in arrays), strict=True)]
        return _wrap(flat, dtype).reshape(arrays[0].shape)

    return ref


def _unsigned_int(v: int, bits: int) -> int:
    return v & ((1 << bits) - 1)


def _signed_int(v: int, bits: int) -> int:
    v = _unsigned_int(v, bits)
    return v - (1 << bits) if v >> (bits - 1) else v


def bit_ref(fn: Callable[[int, int], int]) -> Callable[..., np.ndarray]:
    """A reference ``fn(value, bits)`` on each element, as an int of the operand's width."""

    def ref(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        bits = x.dtype.itemsize * 8
        return int_ref(lambda v: fn(v, bits))(x)

    return ref


def shift_ref(kind: str) -> Callable[..., np.ndarray]:
    """Shifts on Python ints: ``left``, ``logical`` (of the unsigned bits), ``arithmetic``."""

    def ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        bits = np.asarray(x).dtype.itemsize * 8
        ops: dict[str, Callable[[int, int], int]] = {
            "left": lambda a, b: a << b,
            "logical": lambda a, b: _unsigned_int(a, bits) >> b,
            "arithmetic": lambda a, b: _signed_int(a, bits) >> b,
        }
        return int_ref(ops[kind])(x, y)

    return ref


def trunc_div(x: int, y: int) -> int:
    """Integer division rounding toward zero."""
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def div_ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Float division, or truncating integer division."""
    if np.asarray(x).dtype.kind in "iu":
        return int_ref(trunc_div)(x, y)
    return np.divide(x, y)


def rem_ref(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Remainder with the dividend's sign: C's fmod."""
    if np.asarray(x).dtype.kind in "iu":
        return int_ref(lambda a, b: a - trunc_div(a, b) * b)(x, y)
    return np.fmod(x, y)


def integer_pow_ref(y: int) -> Callable[..., np.ndarray]:
    """``x ** y``: wrapped Python ints for integers, numpy's power for floats."""

    def ref(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind in "iu":
            return int_ref(lambda v: v**y)(x)
        wide = np.complex128 if x.dtype.kind == "c" else np.float64
        return np.power(x.astype(wide), y).astype(x.dtype)

    return ref


def round_away_ref(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (exact for the moderate values the records use)."""
    x = np.asarray(x)
    return np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(x.dtype)


def to_int_ref(dtype: Any) -> Callable[..., np.ndarray]:
    """A cast that truncates floats toward zero (values are in range)."""

    def ref(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return (np.trunc(x) if x.dtype.kind == "f" else x).astype(dtype)

    return ref


_SAME_WIDTH: dict[Dtype, Any] = {
    np.dtype(np.float32): np.int32,
    np.dtype(np.float64): np.uint64,
    np.dtype(np.int32): np.float32,
    np.dtype(np.int8): np.uint8,
    np.dtype(np.uint32): np.int32,
}


def bitcast_same_width(lax: Any, x: Any) -> Any:
    """``bitcast_convert_type`` to another dtype of the same width."""
    return lax.bitcast_convert_type(x, _SAME_WIDTH[np.dtype(x.dtype)])


def view_ref(dtype: Any) -> Callable[..., np.ndarray]:
    """The bytes of ``x`` read as ``dtype``: a narrower one adds an axis, a wider one drops one."""

    def ref(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        new = np.dtype(dtype)
        if new.itemsize < x.itemsize:
            shape = (*x.shape, x.itemsize // new.itemsize)
        elif new.itemsize > x.itemsize:
            shape = x.shape[:-1]
        else:
            shape = x.shape
        return np.frombuffer(x.tobytes(), dtype=new).reshape(shape)

    return ref


def copy_op(lax: Any, x: Any) -> Any:
    """``refjax.lax.copy``; real JAX has no wrapper, so bind its ``copy_p``."""
    return lax.copy(x) if hasattr(lax, "copy") else lax.copy_p.bind(x)


def select_ref(which: np.ndarray, *cases: np.ndarray) -> np.ndarray:
    """``cases[which]`` elementwise."""
    which = np.asarray(which).astype(np.int64)
    return np.choose(which, cases)


def clamp_ref(lo: np.ndarray, x: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``min(max(x, lo), hi)`` (numpy's maximum/minimum propagate NaN)."""
    return np.minimum(np.maximum(x, lo), hi)


def _identity(x: np.ndarray) -> np.ndarray:
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# The records

_UNARY_RECORDS = [
    OpRecord("neg", _fn("neg"), np.negative, UNARY, F + I, tol=0.0, linear=True),
    OpRecord("sign", _fn("sign"), np.sign, UNARY, F + I, tol=0.0, differentiable=False),
    OpRecord("floor", _fn("floor"), np.floor, UNARY, F, tol=0.0, differentiable=False),
    OpRecord("ceil", _fn("ceil"), np.ceil, UNARY, F, tol=0.0, differentiable=False),
    OpRecord(
        "round",
        _fn("round"),
        round_away_ref,
        UNARY,
        F,
        args_maker=same_maker(halves),
        tol=0.0,
        differentiable=False,
        notes="AWAY_FROM_ZERO",
    ),
    OpRecord(
        "round",
        lambda lax, x: lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN),
        np.round,
        UNARY,
        F,
        args_maker=same_maker(halves),
        tol=0.0,
        differentiable=False,
        notes="TO_NEAREST_EVEN",
    ),
    OpRecord(
        "is_finite",
        _fn("is_finite"),
        np.isfinite,
        UNARY,
        F,
        args_maker=same_maker(with_specials),
        differentiable=False,
    ),
    OpRecord("abs", _fn("abs"), np.abs, UNARY, F + SIGNED + COMPLEX),
    OpRecord("square", _fn("square"), lambda x: x * x, UNARY, F + I + COMPLEX),
    OpRecord("integer_pow", _fn("integer_pow", y=3), integer_pow_ref(3), UNARY, F + I + COMPLEX),
    OpRecord("integer_pow", _fn("integer_pow", y=0), integer_pow_ref(0), UNARY, F + I),
    OpRecord(
        "integer_pow",
        _fn("integer_pow", y=-2),
        integer_pow_ref(-2),
        UNARY,
        F,
        args_maker=same_maker(away_from_zero),
    ),
    OpRecord(
        "integer_pow",
        _fn("reciprocal"),
        np.reciprocal,
        UNARY,
        F,
        args_maker=same_maker(away_from_zero),
        notes="lax.reciprocal",
    ),
    OpRecord("not", _fn("bitwise_not"), np.invert, UNARY, I + B, differentiable=False),
    OpRecord(
        "population_count",
        _fn("population_count"),
        bit_ref(lambda v, bits: bin(_unsigned_int(v, bits)).count("1")),
        UNARY,
        I,
        args_maker=same_maker(all_bits),
        differentiable=False,
    ),
    OpRecord(
        "clz",
        _fn("clz"),
        bit_ref(lambda v, bits: bits - _unsigned_int(v, bits).bit_length()),
        UNARY,
        I,
        args_maker=same_maker(all_bits),
        differentiable=False,
    ),
    OpRecord("real", _fn("real"), np.real, UNARY, COMPLEX, linear=True),
    OpRecord("imag", _fn("imag"), np.imag, UNARY, COMPLEX, linear=True),
    OpRecord("conj", _fn("conj"), np.conj, UNARY, COMPLEX, linear=True),
    OpRecord(
        "conj",
        _fn("conj"),
        lambda x: np.asarray(x).astype(np.complex64),
        UNARY,
        (np.dtype(np.float32),),
        linear=True,
        notes="a real operand becomes complex",
    ),
    OpRecord(
        "stop_gradient",
        _fn("stop_gradient"),
        _identity,
        UNARY,
        F + I + B,
        tol=0.0,
        differentiable=False,
    ),
    OpRecord("copy", copy_op, _identity, UNARY, F + I + B, tol=0.0, linear=True),
]

_BINARY_RECORDS = [
    OpRecord("add", _fn("add"), np.add, BINARY, F + I + COMPLEX, linear=True),
    OpRecord("sub", _fn("sub"), np.subtract, BINARY, F + I, linear=True),
    OpRecord("mul", _fn("mul"), np.multiply, BINARY, F + I + COMPLEX),
    OpRecord(
        "div", _fn("div"), div_ref, BINARY, F + I, args_maker=_maker(random_values, away_from_zero)
    ),
    OpRecord("rem", _fn("rem"), rem_ref, BINARY, F + I, args_maker=_maker(off_integers, divisors)),
    OpRecord(
        "max",
        _fn("max"),
        np.maximum,
        BINARY,
        F + I + B,
        args_maker=same_maker(distinct_or_small_ints),
        tol=0.0,
    ),
    OpRecord(
        "min",
        _fn("min"),
        np.minimum,
        BINARY,
        F + I + B,
        args_maker=same_maker(distinct_or_small_ints),
        tol=0.0,
    ),
    OpRecord("pow", _fn("pow"), np.power, BINARY, F, args_maker=_maker(positive, random_values)),
    OpRecord(
        "pow",
        _fn("pow"),
        lambda x, y: np.power(x, np.asarray(y).astype(np.asarray(x).dtype)),
        BINARY,
        F,
        args_maker=_maker(positive, int32_exponents),
        notes="int32 exponent",
    ),
    OpRecord(
        "nextafter",
        _fn("nextafter"),
        np.nextafter,
        BINARY,
        F,
        args_maker=same_maker(small_ints),
        tol=0.0,
        differentiable=False,
    ),
    OpRecord("and", _fn("bitwise_and"), np.bitwise_and, BINARY, I + B, differentiable=False),
    OpRecord("or", _fn("bitwise_or"), np.bitwise_or, BINARY, I + B, differentiable=False),
    OpRecord("xor", _fn("bitwise_xor"), np.bitwise_xor, BINARY, I + B, differentiable=False),
    *[
        OpRecord(
            name,
            _fn(name),
            shift_ref(kind),
            BINARY,
            I,
            args_maker=_maker(all_bits, shift_amounts),
            differentiable=False,
        )
        for name, kind in [
            ("shift_left", "left"),
            ("shift_right_logical", "logical"),
            ("shift_right_arithmetic", "arithmetic"),
        ]
    ],
    *[
        OpRecord(
            name,
            _fn(name),
            ref,
            BINARY,
            F + I + B,
            args_maker=same_maker(small_ints),
            differentiable=False,
        )
        for name, ref in [
            ("eq", np.equal),
            ("ne", np.not_equal),
            ("lt", np.less),
            ("le", np.less_equal),
            ("gt", np.greater),
            ("ge", np.greater_equal),
        ]
    ],
]

# which: rank-0 or the cases' shape; cases: all of one shape.
SELECT2: list[tuple[Shape, ...]] = [
    ((), (), ()),
    ((), (2, 3), (2, 3)),
    ((2, 3), (2, 3), (2, 3)),
    ((0, 3), (0, 3), (0, 3)),
    ((), (0, 3), (0, 3)),
]
SELECT3 = [(which, *cases, cases[0]) for which, *cases in SELECT2]
# min and max: rank-0 or the operand's shape.
CLAMP: list[tuple[Shape, ...]] = [
    ((), (), ()),
    ((), (2, 3), ()),
    ((2, 3), (2, 3), (2, 3)),
    ((2, 3), (2, 3), ()),
    ((), (0, 3), ()),
]
BITCAST_WIDEN: list[tuple[Shape, ...]] = [((4,),), ((2, 4),), ((0, 4),)]

_SELECTION_RECORDS = [
    OpRecord(
        "select_n",
        _fn("select_n"),
        select_ref,
        SELECT2,
        F + I + B,
        args_maker=_maker(bools, random_values, random_values),
        tol=0.0,
        linear=True,
        notes="boolean which",
    ),
    OpRecord(
        "select_n",
        _fn("select_n"),
        select_ref,
        SELECT3,
        F + I + B,
        args_maker=_maker(case_indices, random_values, random_values, random_values),
        tol=0.0,
        linear=True,
        notes="int32 which, three cases",
    ),
    OpRecord(
        "select_n",
        lambda lax, p, t, f: lax.select(p, t, f),
        lambda p, t, f: np.where(p, t, f),
        SELECT2,
        F,
        args_maker=_maker(bools, random_values, random_values),
        linear=True,
        notes="lax.select",
    ),
    OpRecord(
        "clamp",
        _fn("clamp"),
        clamp_ref,
        CLAMP,
        F + I + B,
        args_maker=_maker(lower_bounds, random_values, upper_bounds),
        tol=0.0,
    ),
]

_CAST_RECORDS = [
    OpRecord(
        "convert_element_type",
        lambda lax, x: lax.convert_element_type(x, np.int32),
        to_int_ref(np.int32),
        UNARY,
        F + I + B,
        args_maker=same_maker(scaled),
        differentiable=False,
        notes="to int32",
    ),
    OpRecord(
        "convert_element_type",
        lambda lax, x: lax.convert_element_type(x, np.int8),
        to_int_ref(np.int8),
        UNARY,
        F + SIGNED,
        args_maker=same_maker(scaled),
        differentiable=False,
        notes="to int8",
    ),
    OpRecord(
        "convert_element_type",
        lambda lax, x: lax.convert_element_type(x, np.uint32),
        to_int_ref(np.uint32),
        UNARY,
        F,
        args_maker=same_maker(positive),
        differentiable=False,
        notes="to uint32",
    ),
    OpRecord(
        "convert_element_type",
        lambda lax, x: lax.convert_element_type(x, np.float32),
        lambda x: np.asarray(x).astype(np.float32),
        UNARY,
        (np.dtype(np.float32),) + I + B,
        linear=True,
        notes="to float32",
    ),
    OpRecord(
        "convert_element_type",
        lambda lax, x: lax.convert_element_type(x, np.float32),
        lambda x: np.asarray(x).astype(np.float32),
        UNARY,
        (np.dtype(np.float64),),
        differentiable=False,
        linear=True,
        notes="float64 to float32: differentiable, but rounding to float32 defeats finite "
        "differences in float64 and the harness's float64 cotangents; its JVP and VJP are "
        "checked against JAX in test_elementwise.py",
    ),
    OpRecord(
        "convert_element_type",
        lambda lax, x: lax.convert_element_type(x, np.bool_),
        lambda x: np.asarray(x) != 0,
        UNARY,
        F + I + B,
        args_maker=same_maker(small_ints),
        differentiable=False,
        notes="to bool",
    ),
    OpRecord(
        "bitcast_convert_type",
        bitcast_same_width,
        lambda x: view_ref(_SAME_WIDTH[np.asarray(x).dtype])(x),
        UNARY,
        F + I,
        args_maker=same_maker(all_bits),
        differentiable=False,
        notes="same width",
    ),
    OpRecord(
        "bitcast_convert_type",
        lambda lax, x: lax.bitcast_convert_type(x, np.uint8),
        view_ref(np.uint8),
        UNARY,
        F + I,
        differentiable=False,
        notes="to uint8: a trailing axis of itemsize",
    ),
    OpRecord(
        "bitcast_convert_type",
        lambda lax, x: lax.bitcast_convert_type(x, np.int32),
        view_ref(np.int32),
        BITCAST_WIDEN,
        (np.dtype(np.int8),),
        args_maker=same_maker(all_bits),
        differentiable=False,
        notes="int8[..., 4] to int32[...]",
    ),
]

RECORDS: list[OpRecord] = _UNARY_RECORDS + _BINARY_RECORDS + _SELECTION_RECORDS + _CAST_RECORDS
