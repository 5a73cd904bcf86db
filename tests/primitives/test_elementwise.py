"""Elementwise primitives: errors, edge values, weak types and jaxprs, each checked against JAX.

The table-driven checks (values vs numpy, avals, real JAX on random inputs) live in
``test_op_table.py`` over ``records_elementwise.py``. Here: what random inputs never reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refjax
from refjax import lax
from refjax.backends.base import ArrayImpl
from tests.errors import assert_same_error, raised
from tests.oracle import jax, lazy

jlax = lazy("jax.lax")

LaxFn = Callable[[Any], Any]  # fn(lax_module) -> result


def f32(*v: float) -> np.ndarray:
    return np.array(v, np.float32)


def i32(*v: int) -> np.ndarray:
    return np.array(v, np.int32)


def i8(*v: int) -> np.ndarray:
    return np.array(v, np.int8)


def u32(*v: int) -> np.ndarray:
    return np.array(v, np.uint32)


def u8(*v: int) -> np.ndarray:
    return np.array(v, np.uint8)


def boolean(*v: bool) -> np.ndarray:
    return np.array(v, np.bool_)


# ---------------------------------------------------------------------------------------------
# Errors: the same class and message as JAX

ERRORS: dict[str, LaxFn] = {
    # mixed dtypes
    "add-mixed": lambda m: m.add(f32(1), np.array([1], np.float16)),
    "sub-mixed": lambda m: m.sub(f32(1), i32(1)),
    "div-mixed": lambda m: m.div(i32(1), i8(1)),
    "max-mixed": lambda m: m.max(f32(1), i32(1)),
    "eq-mixed": lambda m: m.eq(f32(1), i32(1)),
    "shift_left-mixed": lambda m: m.shift_left(i8(1), i32(1)),
    "nextafter-mixed": lambda m: m.nextafter(f32(1), np.array([1], np.float16)),
    "pow-mixed-inexact": lambda m: m.pow(f32(1), np.array([1], np.float16)),
    # wrong dtype kind
    "floor-int": lambda m: m.floor(i32(1)),
    "ceil-int": lambda m: m.ceil(i32(1)),
    "round-int": lambda m: m.round(i32(1)),
    "is_finite-int": lambda m: m.is_finite(i32(1)),
    "neg-bool": lambda m: m.neg(boolean(True)),
    "sign-bool": lambda m: m.sign(boolean(True)),
    "abs-unsigned": lambda m: m.abs(u32(1)),
    "abs-bool": lambda m: m.abs(boolean(True)),
    "square-bool": lambda m: m.square(boolean(True)),
    "integer_pow-bool": lambda m: m.integer_pow(boolean(True), 2),
    "not-float": lambda m: m.bitwise_not(f32(1)),
    "population_count-bool": lambda m: m.population_count(boolean(True)),
    "clz-float": lambda m: m.clz(f32(1)),
    "real-float": lambda m: m.real(f32(1)),
    "imag-int": lambda m: m.imag(i32(1)),
    "conj-float16": lambda m: m.conj(np.ones(2, np.float16)),
    "add-bool": lambda m: m.add(boolean(True), boolean(True)),
    "rem-complex": lambda m: m.rem(np.ones(1, np.complex64), np.ones(1, np.complex64)),
    "and-float": lambda m: m.bitwise_and(f32(1), f32(1)),
    "shift_left-bool": lambda m: m.shift_left(boolean(True), boolean(True)),
    "lt-complex": lambda m: m.lt(np.ones(1, np.complex64), np.ones(1, np.complex64)),
    "nextafter-int": lambda m: m.nextafter(i32(1), i32(1)),
    "pow-int-base": lambda m: m.pow(i32(2), i32(3)),
    "pow-bool-exponent": lambda m: m.pow(f32(2), boolean(True)),
    # integer_pow
    "integer_pow-negative-int": lambda m: m.integer_pow(np.ones((2, 0), np.int8), -2),
    "integer_pow-negative-weak-int": lambda m: m.integer_pow(3, -1),
    # shapes (checked before dtypes, as in JAX)
    "add-shapes": lambda m: m.add(f32(1, 2), f32(1, 2, 3)),
    "add-ranks": lambda m: m.add(f32(1, 2), np.ones((2, 2), np.float32)),
    "add-size0-vs-2": lambda m: m.add(np.ones(0, np.float32), np.ones(2, np.float32)),
    "add-shape-before-dtype": lambda m: m.add(f32(1, 2), i32(1, 2, 3)),
    "eq-shapes": lambda m: m.eq(np.ones((2, 3), np.int8), np.ones((3, 2), np.int8)),
    # select_n
    "select_n-no-cases": lambda m: m.select_n(True),
    "select_n-bool-three-cases": lambda m: m.select_n(True, f32(1), f32(2), f32(3)),
    "select_n-float-which": lambda m: m.select_n(f32(1), f32(1), f32(2)),
    "select_n-case-shapes": lambda m: m.select_n(True, f32(1), f32(2, 3)),
    "select_n-scalar-case": lambda m: m.select_n(boolean(True, False), np.float32(1), f32(2, 3)),
    "select_n-which-shape": lambda m: m.select_n(boolean(True, False, True), f32(1, 2), f32(2, 3)),
    "select_n-which-no-broadcast": lambda m: m.select_n(boolean(True), f32(1, 2), f32(2, 3)),
    # clamp
    "clamp-min-shape": lambda m: m.clamp(f32(0, 0), f32(-1, 0.5, 2), np.float32(1)),
    "clamp-max-shape": lambda m: m.clamp(np.float32(0), f32(-1, 0.5, 2), f32(1, 1)),
    "clamp-no-size1-broadcast": lambda m: m.clamp(f32(0), f32(-1, 0.5, 2), np.float32(1)),
    "clamp-scalar-operand": lambda m: m.clamp(f32(0, 0), np.float32(0.5), np.float32(1)),
    # casts
    "bitcast-bool": lambda m: m.bitcast_convert_type(boolean(True), np.int8),
    "bitcast-to-bool": lambda m: m.bitcast_convert_type(i8(1), np.bool_),
    "bitcast-complex": lambda m: m.bitcast_convert_type(np.ones(1, np.complex64), np.int32),
    "bitcast-widen-rank0": lambda m: m.bitcast_convert_type(np.int8(1), np.float32),
    "bitcast-widen-bad-last-axis": lambda m: m.bitcast_convert_type(i8(1, 2, 3), np.float32),
    "bitcast-bool-to-int32": lambda m: m.bitcast_convert_type(boolean(True), np.int32),
    "cet-unknown-dtype": lambda m: m.convert_element_type(f32(1), "foo"),
    # rounding method
    "round-bad-method": lambda m: m.round(f32(0.5), 2),
    "round-method-by-name": lambda m: m.round(f32(0.5), "TO_NEAREST_EVEN"),
}

# Differences that live in refjax/primitives/common.py (not in this family's files): its table
# of jnp "tips" is not JAX's, so some same-dtype messages gain or lose the Tip sentence.
_COMMON_TIP = "common._JNP_EQUIVALENTS differs from JAX's _JNP_FUNCTION_EQUIVALENTS"
KNOWN_DIFFERENCES: dict[str, LaxFn] = {
    "rem-mixed": lambda m: m.rem(f32(1), i32(1)),
    "and-mixed": lambda m: m.bitwise_and(i8(1), i32(1)),
    "lt-mixed": lambda m: m.lt(f32(1), i32(1)),
    "clamp-mixed": lambda m: m.clamp(np.int32(0), f32(-1, 0.5, 2), np.float32(1)),
    "select_n-mixed": lambda m: m.select_n(True, f32(1), i32(2)),
}


def _assert_same_error(fn: LaxFn) -> None:
    assert_same_error(lambda: fn(lax), lambda: fn(jlax), expected=(TypeError, ValueError))


@pytest.mark.parametrize("fn", ERRORS.values(), ids=ERRORS.keys())
def test_error_matches_jax(fn: LaxFn) -> None:
    _assert_same_error(fn)


@pytest.mark.parametrize("fn", KNOWN_DIFFERENCES.values(), ids=KNOWN_DIFFERENCES.keys())
def test_same_dtype_tip_matches_jax(fn: LaxFn) -> None:
    _assert_same_error(fn)


@pytest.mark.parametrize("fn", KNOWN_DIFFERENCES.values(), ids=KNOWN_DIFFERENCES.keys())
def test_same_dtype_error_key_phrase(fn: LaxFn) -> None:
    ours = raised(lambda: fn(lax), (TypeError, ValueError))
    theirs = raised(lambda: fn(jlax), (TypeError, ValueError))
    assert type(ours) is type(theirs)
    head = str(theirs).split(" (Tip")[0]
    assert str(ours).startswith(head)


# ---------------------------------------------------------------------------------------------
# Edge values: exactly what JAX computes on CPU

EDGES: dict[str, LaxFn] = {
    "div-int": lambda m: m.div(i32(7, -7, 7, -7, 5, 0, -5), i32(2, 2, -2, -2, 0, 0, 0)),
    "div-int-min-by-minus-one": lambda m: m.div(i32(-(2**31), -(2**31)), i32(-1, 1)),
    "div-int8": lambda m: m.div(i8(-128, 5, -5), i8(-1, 0, 0)),
    "div-unsigned": lambda m: m.div(u32(7, 5, 0), u32(2, 0, 0)),
    "div-float": lambda m: m.div(f32(1, -1, 0, np.inf), f32(0, 0, 0, np.inf)),
    "rem-int": lambda m: m.rem(i32(7, -7, 7, -7, 5, 0, -5), i32(2, 2, -2, -2, 0, 0, 0)),
    "rem-int-min": lambda m: m.rem(i32(-(2**31)), i32(-1)),
    "rem-unsigned": lambda m: m.rem(u32(7, 5), u32(2, 0)),
    "rem-float": lambda m: m.rem(
        f32(7.5, -7.5, 7.5, -7.5, 1, np.inf, 1, -0.0), f32(2, 2, -2, -2, 0, 1, np.inf, 1)
    ),
    "max-nan-zeros": lambda m: m.max(
        f32(np.nan, 1, 0.0, -0.0, -0.0), f32(1, np.nan, -0.0, 0.0, -0.0)
    ),
    "min-nan-zeros": lambda m: m.min(
        f32(np.nan, 1, 0.0, -0.0, 0.0), f32(1, np.nan, -0.0, 0.0, 0.0)
    ),
    "max-bool": lambda m: m.max(boolean(True, False, False), boolean(False, False, True)),
    "min-bool": lambda m: m.min(boolean(True, False, True), boolean(False, False, True)),
    "max-complex": lambda m: m.max(
        np.array([1 + 2j, 1 + 1j, 2], np.complex64),
        np.array([1 + 1j, 1 + 2j, 1 + 5j], np.complex64),
    ),
    "min-complex": lambda m: m.min(
        np.array([1 + 2j, 1 + 1j, 2], np.complex64),
        np.array([1 + 1j, 1 + 2j, 1 + 5j], np.complex64),
    ),
    "shift_left-range": lambda m: m.shift_left(i32(1, 1, 1, 1, -1, 1), i32(0, 31, 32, 33, 1, -1)),
    "shift_left-u32": lambda m: m.shift_left(u32(1, 1, 1), u32(31, 32, 100)),
    "shift_left-i8": lambda m: m.shift_left(i8(1, 1, 1, 1, 3), i8(7, 8, 9, -1, 6)),
    "shift_right_arithmetic-range": lambda m: m.shift_right_arithmetic(
        i32(-8, -8, 8, -8, 8), i32(1, 32, 32, -1, -1)
    ),
    "shift_right_arithmetic-u32": lambda m: m.shift_right_arithmetic(
        u32(2**31, 2**31, 2**31, 5), u32(1, 31, 32, 1)
    ),
    "shift_right_logical-range": lambda m: m.shift_right_logical(
        i32(-8, -8, 8, -8), i32(1, 32, 31, -1)
    ),
    "shift_right_logical-i8": lambda m: m.shift_right_logical(i8(-8, -8, -1), i8(1, 8, 7)),
    "population_count": lambda m: m.population_count(i32(0, 1, -1, 7, -(2**31))),
    "population_count-i8": lambda m: m.population_count(i8(-1, -128, 3)),
    "population_count-u32": lambda m: m.population_count(u32(2**32 - 1, 5)),
    "clz": lambda m: m.clz(i32(0, 1, -1, 7, 2**30)),
    "clz-i8": lambda m: m.clz(i8(0, 1, -1, 7)),
    "clz-u8": lambda m: m.clz(u8(0, 1, 128, 255, 16)),
    "clz-u32": lambda m: m.clz(u32(0, 1, 2**31)),
    "not": lambda m: m.bitwise_not(i8(0, 1, -1)),
    "not-bool": lambda m: m.bitwise_not(boolean(True, False)),
    "not-u32": lambda m: m.bitwise_not(u32(0, 1)),
    "sign-float": lambda m: m.sign(f32(-2, -0.0, 0.0, np.nan, 3, np.inf, -np.inf)),
    "sign-int": lambda m: m.sign(i8(-128, 0, 127)),
    "sign-unsigned": lambda m: m.sign(u32(0, 3)),
    "sign-complex": lambda m: m.sign(np.array([3 + 4j, 0, -2j], np.complex64)),
    "abs-int-min": lambda m: m.abs(i32(-(2**31), -3)),
    "abs-int8-min": lambda m: m.abs(i8(-128, -3)),
    "abs-complex": lambda m: m.abs(np.array([3 + 4j, -5j], np.complex64)),
    "neg-unsigned": lambda m: m.neg(u32(1, 0)),
    "neg-int-min": lambda m: m.neg(i32(-(2**31))),
    "neg-zero": lambda m: m.neg(f32(0.0, -0.0)),
    "round-away": lambda m: m.round(
        f32(-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, np.nan, np.inf, -0.2, 8388609.0)
    ),
    "round-even": lambda m: m.round(
        f32(-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, np.nan, np.inf, -0.2, 8388609.0),
        m.RoundingMethod.TO_NEAREST_EVEN,
    ),
    "round-method-as-int": lambda m: m.round(f32(0.5, 1.5), 1),
    "floor-ceil-zero": lambda m: (m.floor(f32(-0.5, -0.0)), m.ceil(f32(-0.5, -0.0))),
    "is_finite": lambda m: m.is_finite(f32(1, np.inf, -np.inf, np.nan, -0.0)),
    "integer_pow-int": lambda m: m.integer_pow(i32(2, -3, 0, 3), 3),
    "integer_pow-zero": lambda m: m.integer_pow(f32(0, np.nan, np.inf), 0),
    "integer_pow-int-overflow": lambda m: m.integer_pow(i32(2, 3), 40),
    "integer_pow-u8": lambda m: m.integer_pow(u8(3, 200), 2),
    "integer_pow-negative": lambda m: m.integer_pow(f32(2, 0, -2, -0.0), -3),
    "integer_pow-large": lambda m: m.integer_pow(f32(1.0001, 2), 97),
    "reciprocal": lambda m: m.reciprocal(f32(2, 0, -0.0, np.inf)),
    "square-wrap": lambda m: m.square(i8(100, -3)),
    "pow-specials": lambda m: m.pow(
        f32(2, -2, 0, -8, 0, np.nan, 1, -1), f32(0.5, 2, 0, 1 / 3, -1, 0, np.nan, np.inf)
    ),
    "pow-int-exponent": lambda m: m.pow(
        f32(2, -2, 0, -8, 0, 1.0000001), i32(3, 3, 0, 2, -1, 2**30)
    ),
    "pow-int8-exponent": lambda m: m.pow(f32(2, -2), i8(-3, 5)),
    "pow-u32-exponent": lambda m: m.pow(f32(2, 3), u32(3, 0)),
    "nextafter": lambda m: m.nextafter(
        f32(0, 1, 1, np.nan, 1, -0.0, 0.0), f32(1, 2, 0, 1, np.nan, 0.0, -0.0)
    ),
    "mul-wrap": lambda m: m.mul(i32(2**30, -(2**31)), i32(4, -1)),
    "add-wrap": lambda m: m.add(u8(250, 0), u8(10, 0)),
    "eq-nan": lambda m: (m.eq(f32(np.nan, 0.0), f32(np.nan, -0.0)), m.ne(f32(np.nan), f32(np.nan))),
    "lt-bool": lambda m: m.lt(boolean(False, True), boolean(True, True)),
    "eq-complex": lambda m: m.eq(np.array([1j, 1], np.complex64), np.array([1j, 1j], np.complex64)),
    "select_n-out-of-range": lambda m: m.select_n(
        i32(-1, 0, 1, 2, 3, 100),
        f32(0, 0, 0, 0, 0, 0),
        f32(1, 1, 1, 1, 1, 1),
        f32(2, 2, 2, 2, 2, 2),
    ),
    "select_n-unsigned-which": lambda m: m.select_n(
        u32(0, 1, 2, 5), f32(0, 0, 0, 0), f32(1, 1, 1, 1), f32(2, 2, 2, 2)
    ),
    "select_n-one-case": lambda m: m.select_n(i32(0, 5), f32(1, 2)),
    "select_n-int8-which": lambda m: m.select_n(i8(1, 0), f32(1, 2), f32(2, 3)),
    "select_n-rank0-which": lambda m: m.select_n(np.array(True), f32(1, 2), f32(2, 3)),
    "select": lambda m: m.select(boolean(True, False), f32(1, 2), f32(3, 4)),
    "clamp-inverted-bounds": lambda m: m.clamp(np.float32(2), f32(-1, 0.5, 3), np.float32(1)),
    "clamp-nan": lambda m: m.clamp(np.float32(0), f32(np.nan, 1, -0.0), np.float32(1)),
    "clamp-nan-bound": lambda m: m.clamp(np.float32(np.nan), f32(0.5), np.float32(1)),
    "clamp-int": lambda m: m.clamp(np.int32(0), i32(-5, 3, 9), np.int32(5)),
    "clamp-bool": lambda m: m.clamp(np.bool_(False), boolean(True, False), np.bool_(True)),
    "cet-float-to-int32": lambda m: m.convert_element_type(
        f32(1.9, -1.9, np.nan, np.inf, -np.inf, 3e9, -3e9, 2**31, -(2**31), 2147483520), np.int32
    ),
    "cet-float-to-int8": lambda m: m.convert_element_type(
        f32(1.9, -1.9, np.nan, np.inf, -np.inf, 300, -300, 127.9, -128.9), np.int8
    ),
    "cet-float-to-uint32": lambda m: m.convert_element_type(
        f32(1.9, -1.9, np.nan, np.inf, -np.inf, 5e9, -5, -0.5), np.uint32
    ),
    "cet-float-to-uint8": lambda m: m.convert_element_type(
        f32(1.9, -1.9, np.nan, np.inf, -np.inf, 300, -5, 255.9), np.uint8
    ),
    "cet-float16-to-int32": lambda m: m.convert_element_type(
        np.array([65504, -65504, np.inf, np.nan, 2.5], np.float16), np.int32
    ),
    "cet-float-to-bool": lambda m: m.convert_element_type(
        f32(0, -0.0, np.nan, 0.1, np.inf), np.bool_
    ),
    "cet-int-to-bool": lambda m: m.convert_element_type(i32(0, 2, -1), np.bool_),
    "cet-bool-to-float": lambda m: m.convert_element_type(boolean(True, False), np.float32),
    "cet-int-narrowing": lambda m: m.convert_element_type(i32(300, -300, 128), np.int8),
    "cet-int-to-unsigned": lambda m: m.convert_element_type(i32(-1, 5), np.uint32),
    "cet-unsigned-to-int": lambda m: m.convert_element_type(u32(2**32 - 1), np.int32),
    "cet-int-to-float-rounding": lambda m: m.convert_element_type(
        i32(2**24 + 1, 2**24 + 3), np.float32
    ),
    "cet-float-narrowing": lambda m: m.convert_element_type(
        np.array([1e39, 1e-46], np.float64), np.float16
    ),
    "cet-python-types": lambda m: (
        m.convert_element_type(i32(1), float),
        m.convert_element_type(f32(1.5), int),
    ),
    "bitcast-f32-to-i8": lambda m: m.bitcast_convert_type(f32(1.0, -2.5), np.int8),
    "bitcast-f32-to-u16": lambda m: m.bitcast_convert_type(f32(1.0, 2.0), np.uint16),
    "bitcast-u8-to-f32": lambda m: m.bitcast_convert_type(
        np.array([[0, 0, 128, 63]], np.uint8), np.float32
    ),
    "bitcast-f32-to-u32": lambda m: m.bitcast_convert_type(f32(1, -0.0, np.nan), np.uint32),
    "bitcast-size0": lambda m: m.bitcast_convert_type(np.zeros((0,), np.float32), np.int8),
    "bitcast-rank0": lambda m: m.bitcast_convert_type(np.float32(1.0), np.int16),
    "stop_gradient": lambda m: m.stop_gradient(f32(1, 2)),
    "real-imag-conj": lambda m: (
        m.real(np.array([1 + 2j], np.complex64)),
        m.imag(np.array([1 + 2j], np.complex64)),
        m.conj(np.array([1 + 2j], np.complex64)),
        m.conj(f32(3)),
    ),
}

X64_EDGES: dict[str, LaxFn] = {
    "div-int64": lambda m: m.div(
        np.array([-(2**63), 7, 5], np.int64), np.array([-1, -2, 0], np.int64)
    ),
    "rem-int64": lambda m: m.rem(
        np.array([-(2**63), 7, 5], np.int64), np.array([-1, -2, 0], np.int64)
    ),
    "cet-float64-to-int64": lambda m: m.convert_element_type(
        np.array([9.3e18, -9.3e18, np.nan, 2.0**63, -(2.0**63), 1.5], np.float64), np.int64
    ),
    "cet-float64-to-uint64": lambda m: m.convert_element_type(
        np.array([2.0**64, 2.0**63, -1, np.nan, 1.5], np.float64), np.uint64
    ),
    "cet-float32-to-float64": lambda m: m.convert_element_type(f32(0.1, np.nan), np.float64),
    "shifts-int64": lambda m: (
        m.shift_left(np.array([1, 1, 1], np.int64), np.array([63, 64, -1], np.int64)),
        m.shift_right_arithmetic(np.array([-8, -8], np.int64), np.array([63, 64], np.int64)),
        m.shift_right_logical(np.array([-8, -8], np.int64), np.array([60, 64], np.int64)),
    ),
    "bit-counts-int64": lambda m: (
        m.population_count(np.array([-1, 0, 2**40], np.int64)),
        m.clz(np.array([-1, 0, 2**40], np.int64)),
    ),
    "bitcast-f64-to-u32": lambda m: m.bitcast_convert_type(np.array([1.0, -0.0]), np.uint32),
    "bitcast-u16-to-u64": lambda m: m.bitcast_convert_type(
        np.arange(8, dtype=np.uint16).reshape(2, 4), np.uint64
    ),
    "pow-float64-int64": lambda m: m.pow(np.array([2.0, -3.0]), np.array([10, 3], np.int64)),
    "integer_pow-int64": lambda m: m.integer_pow(np.array([3, -7], np.int64), 41),
    "max-float64-zeros": lambda m: m.max(np.array([0.0, -0.0, np.nan]), np.array([-0.0, 0.0, 1.0])),
}


def _flat(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def assert_bitwise_equal(ours: Any, theirs: Any) -> None:
    """Same dtype, shape and values; NaN equals NaN (any sign) and the sign of zero counts."""
    for a, b in zip(_flat(ours), _flat(theirs), strict=True):
        assert isinstance(a, refjax.Array)
        a, b = np.asarray(a), np.asarray(b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        np.testing.assert_array_equal(a, b)
        if a.dtype.kind in "fc":  # the sign of zero counts; NaN's sign bit does not
            signs = np.where(np.isnan(a.real), False, np.signbit(a.real))
            np.testing.assert_array_equal(
                signs, np.where(np.isnan(b.real), False, np.signbit(b.real))
            )


@pytest.mark.parametrize("fn", EDGES.values(), ids=EDGES.keys())
def test_edge_values_match_jax(fn: LaxFn) -> None:
    assert_bitwise_equal(fn(lax), fn(jlax))


@pytest.mark.parametrize("fn", X64_EDGES.values(), ids=X64_EDGES.keys())
def test_edge_values_match_jax_x64(x64: None, fn: LaxFn) -> None:
    assert_bitwise_equal(fn(lax), fn(jlax))


# ---------------------------------------------------------------------------------------------
# Weak types: results are weak only when every value operand is (casts: as the param says)

WEAK: dict[str, LaxFn] = {
    "add-weak-weak": lambda m: m.add(2.0, 3.0),
    "add-strong-weak": lambda m: m.add(np.float32(2), 3.0),
    "neg": lambda m: m.neg(2.0),
    "abs-complex": lambda m: m.abs(2j),
    "sign-int": lambda m: m.sign(-2),
    "eq": lambda m: m.eq(2.0, 3.0),
    "lt-strong": lambda m: m.lt(np.float32(2), 3.0),
    "is_finite": lambda m: m.is_finite(2.0),
    "and-bool": lambda m: m.bitwise_and(True, False),
    "and-int": lambda m: m.bitwise_and(1, 3),
    "not": lambda m: m.bitwise_not(1),
    "population_count": lambda m: m.population_count(3),
    "integer_pow": lambda m: m.integer_pow(2.0, 2),
    "reciprocal": lambda m: m.reciprocal(2.0),
    "round": lambda m: m.round(2.5),
    "square": lambda m: m.square(3),
    "rem": lambda m: m.rem(-7, 2),
    "pow-weak-int": lambda m: m.pow(2.0, 3),
    "pow-strong-int": lambda m: m.pow(2.0, np.int32(3)),
    "select_n": lambda m: m.select_n(True, 2.0, 3.0),
    "select_n-mixed": lambda m: m.select_n(True, 2.0, np.float32(3.0)),
    "select_n-int-which": lambda m: m.select_n(1, 2.0, 3.0),
    "clamp": lambda m: m.clamp(0.0, 2.0, 3.0),
    "clamp-strong-bound": lambda m: m.clamp(np.float32(0.0), 2.0, 3.0),
    "bitcast": lambda m: m.bitcast_convert_type(2.0, np.int32),
    "convert_element_type": lambda m: m.convert_element_type(2.5, np.int32),
    "max-bool": lambda m: m.max(True, False),
    "real": lambda m: m.real(2.0j),
    "conj": lambda m: m.conj(2.0),
}


@pytest.mark.parametrize("fn", WEAK.values(), ids=WEAK.keys())
def test_weak_type_matches_jax(fn: LaxFn) -> None:
    ours, theirs = fn(lax), fn(jlax)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


# ---------------------------------------------------------------------------------------------
# Jaxprs print as JAX prints them

JAXPRS: dict[str, tuple[LaxFn, list[np.ndarray]]] = {
    "integer_pow": (lambda m: lambda x: m.integer_pow(x, 3), [f32(1, 2)]),
    "reciprocal": (lambda m: m.reciprocal, [f32(1, 2)]),
    "is_finite": (lambda m: m.is_finite, [f32(1, 2)]),
    "not": (lambda m: m.bitwise_not, [i32(1)]),
    "eq": (lambda m: m.eq, [f32(1, 2), f32(1, 2)]),
    "pow-int": (lambda m: m.pow, [f32(1, 2), i32(1, 2)]),
    "shift_right_logical": (lambda m: m.shift_right_logical, [u32(1, 2), u32(1, 2)]),
    "select_n": (lambda m: m.select_n, [i32(0, 1), f32(1, 2), f32(3, 4), f32(5, 6)]),
    "clamp": (lambda m: m.clamp, [np.float32(0), f32(1, 2), np.float32(1)]),
    "convert_element_type": (lambda m: lambda x: m.convert_element_type(x, np.int8), [f32(1)]),
    "convert_element_type-same-dtype": (
        lambda m: lambda x: m.convert_element_type(x, np.float32),
        [f32(1)],
    ),
    "bitcast_convert_type": (lambda m: lambda x: m.bitcast_convert_type(x, np.uint8), [f32(1)]),
    "conj": (lambda m: m.conj, [f32(1)]),
    "stop_gradient": (lambda m: m.stop_gradient, [f32(1)]),
    "copy": (lambda m: getattr(m, "copy", None) or m.copy_p.bind, [f32(1)]),
    "literal": (lambda m: lambda x: m.add(x, 2.0), [f32(1)]),
}


def _jaxpr_texts(make: LaxFn, args: list[np.ndarray]) -> tuple[str, str]:
    ours = str(refjax.make_jaxpr(make(lax))(*args))
    theirs = str(jax.make_jaxpr(make(jlax))(*args))
    return ours, theirs


@pytest.mark.parametrize("make,args", JAXPRS.values(), ids=JAXPRS.keys())
def test_jaxpr_text_matches_jax(make: LaxFn, args: list[np.ndarray]) -> None:
    ours, theirs = _jaxpr_texts(make, args)
    assert ours == theirs


def test_round_jaxpr_text_matches_jax() -> None:
    ours, theirs = _jaxpr_texts(lambda m: m.round, [f32(1)])
    assert ours == theirs


# ---------------------------------------------------------------------------------------------
# Wrappers


def test_rounding_method_mirrors_jax() -> None:
    assert {m.name: int(m) for m in lax.RoundingMethod} == {
        m.name: int(m) for m in jlax.RoundingMethod
    }
    eqn = refjax.make_jaxpr(lambda x: lax.round(x, 1))(f32(1)).eqns[0]
    assert eqn.params["rounding_method"] is lax.RoundingMethod.TO_NEAREST_EVEN


def test_convert_element_type_same_dtype_is_identity() -> None:
    x = lax.neg(f32(1, 2))
    assert lax.convert_element_type(x, np.float32) is x
    assert lax.convert_element_type(x, np.int32) is not x


def test_convert_complex_to_real_warns() -> None:
    z = np.array([1 + 2j], np.complex64)
    with pytest.warns(np.exceptions.ComplexWarning, match="discards the imaginary part"):
        out = lax.convert_element_type(z, np.float32)
    np.testing.assert_array_equal(np.asarray(out), f32(1))


def test_stop_gradient_maps_over_pytrees() -> None:
    tree = {"a": f32(1, 2), "b": (np.int32(3), [True])}
    out = lax.stop_gradient(tree)
    expected = jlax.stop_gradient(tree)
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(expected)
    for ours, theirs in zip(
        jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(expected), strict=True
    ):
        assert isinstance(ours, refjax.Array)
        assert ours.dtype == np.asarray(theirs).dtype  # JAX passes Python scalars through
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_copy_makes_a_new_buffer() -> None:
    x = lax.neg(f32(1, 2))
    y = lax.copy(x)
    assert isinstance(x, ArrayImpl) and isinstance(y, ArrayImpl)
    assert y.buffer is not x.buffer
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))


# ---------------------------------------------------------------------------------------------
# Properties

int32s = hnp.arrays(np.int32, 8, elements=st.integers(-(2**31), 2**31 - 1))
uint8s = hnp.arrays(np.uint8, 8)
# XLA on CPU flushes subnormal operands to zero (FTZ/DAZ); refjax keeps IEEE subnormals.
float32s = hnp.arrays(np.float32, 8, elements=st.floats(width=32, allow_subnormal=False))


@given(int32s, int32s)
def test_div_rem_identity(x: np.ndarray, y: np.ndarray) -> None:
    """``x == div(x, y) * y + rem(x, y)`` (wrapping), ``|rem| < |y|``, rem has x's sign."""
    y = np.where(y == 0, 1, y).astype(np.int32)
    q, r = np.asarray(lax.div(x, y)), np.asarray(lax.rem(x, y))
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(q * y + r, x)
    assert np.all(np.abs(r.astype(np.int64)) < np.abs(y.astype(np.int64)))
    assert np.all((r == 0) | (np.sign(r) == np.sign(x)))


@given(int32s, hnp.arrays(np.int32, 8, elements=st.integers(-40, 40)))
def test_shifts_match_jax(x: np.ndarray, y: np.ndarray) -> None:
    for name in ("shift_left", "shift_right_logical", "shift_right_arithmetic"):
        assert_bitwise_equal(getattr(lax, name)(x, y), getattr(jlax, name)(x, y))


@given(uint8s)
def test_bit_counts_match_python(x: np.ndarray) -> None:
    popcount = [bin(int(v)).count("1") for v in x]
    clz = [8 - int(v).bit_length() for v in x]
    np.testing.assert_array_equal(np.asarray(lax.population_count(x)), popcount)
    np.testing.assert_array_equal(np.asarray(lax.clz(x)), clz)


@given(float32s)
def test_float_to_int32_saturates(x: np.ndarray) -> None:
    """NaN -> 0; otherwise truncate toward zero and clip to the int32 range."""
    expected = [
        0 if np.isnan(v) else int(np.clip(np.trunc(float(v)), -(2**31), 2**31 - 1)) for v in x
    ]
    np.testing.assert_array_equal(np.asarray(lax.convert_element_type(x, np.int32)), expected)


@given(float32s, float32s)
def test_max_min_round_match_jax(x: np.ndarray, y: np.ndarray) -> None:
    assert_bitwise_equal(lax.max(x, y), jlax.max(x, y))
    assert_bitwise_equal(lax.min(x, y), jlax.min(x, y))
    assert_bitwise_equal(lax.round(x), jlax.round(x))
    assert_bitwise_equal(lax.nextafter(x, y), jlax.nextafter(x, y))


@given(float32s)
def test_bitcast_round_trip(x: np.ndarray) -> None:
    as_bytes = lax.bitcast_convert_type(x, np.uint8)
    assert as_bytes.shape == (8, 4)
    back = np.asarray(lax.bitcast_convert_type(as_bytes, np.float32))
    np.testing.assert_array_equal(back.view(np.uint32), x.view(np.uint32))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)


@given(shapes, shapes)
def test_broadcasting_rule_matches_jax(s1: tuple[int, ...], s2: tuple[int, ...]) -> None:
    """lax broadcasting: rank-0 or equal ranks with 1s stretching; same error class as JAX."""
    x, y = np.zeros(s1, np.float32), np.ones(s2, np.float32)
    try:
        theirs = jlax.add(x, y)
    except TypeError as err:
        with pytest.raises(TypeError) as info:
            lax.add(x, y)
        assert str(info.value) == str(err)
        return
    assert_bitwise_equal(lax.add(x, y), theirs)


# ---------------------------------------------------------------------------------------------
# Transformations: JVP, VJP and batching rules at the edge cases, against real JAX

jnp = lazy("jax.numpy")
rng = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _assert_same(ours: Any, theirs: Any) -> None:
    """Same dtype (float0 included), shape and values (NaN equals NaN)."""
    ours_leaves, theirs_leaves = jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (a, b)
        if a.dtype != jax.dtypes.float0:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, equal_nan=True)


def _copy(m: Any) -> Any:
    """``lax.copy`` (refjax) or ``lax.copy_p.bind`` (JAX has no wrapper)."""
    return getattr(m, "copy", None) or m.copy_p.bind


# fn(lax_module) -> scalar function, its arguments, the argnums to differentiate
GRADS: dict[str, tuple[LaxFn, tuple[Any, ...], tuple[int, ...]]] = {
    "abs-at-0": (lambda m: m.abs, (0.0,), (0,)),  # JAX: select(x >= 0, g, -g), so 1 at 0
    "abs-negative": (lambda m: m.abs, (-2.0,), (0,)),
    "max-tie": (lambda m: m.max, (1.0, 1.0), (0, 1)),
    "min-tie": (lambda m: m.min, (1.0, 1.0), (0, 1)),
    "max-signed-zeros": (lambda m: m.max, (0.0, -0.0), (0, 1)),
    "max-x-or-neg-x-at-0": (lambda m: lambda x: m.max(x, m.neg(x)), (0.0,), (0,)),
    "max-no-tie": (lambda m: m.max, (1.0, 2.0), (0, 1)),
    "min-no-tie": (lambda m: m.min, (1.0, 2.0), (0, 1)),
    "pow": (lambda m: m.pow, (1.5, 2.5), (0, 1)),
    "pow-float-zero-exponent-at-0": (lambda m: m.pow, (0.0, 0.0), (0, 1)),
    "pow-int-zero-exponent-at-0": (lambda m: lambda x: m.pow(x, np.int32(0)), (0.0,), (0,)),
    "pow-int-exponent": (lambda m: lambda x: m.pow(x, np.int32(3)), (-2.0,), (0,)),
    "pow-negative-int-exponent": (lambda m: lambda x: m.pow(x, np.int32(-2)), (1.5,), (0,)),
    "pow-zero-base": (lambda m: lambda y: m.pow(0.0, y), (2.0,), (0,)),
    "integer_pow-0-at-0": (lambda m: lambda x: m.integer_pow(x, 0), (0.0,), (0,)),
    "integer_pow-1": (lambda m: lambda x: m.integer_pow(x, 1), (3.0,), (0,)),
    "integer_pow-2": (lambda m: lambda x: m.integer_pow(x, 2), (-3.0,), (0,)),
    "integer_pow-3": (lambda m: lambda x: m.integer_pow(x, 3), (-2.0,), (0,)),
    "integer_pow-negative": (lambda m: lambda x: m.integer_pow(x, -3), (2.0,), (0,)),
    "reciprocal": (lambda m: m.reciprocal, (-4.0,), (0,)),
    "square": (lambda m: m.square, (-3.0,), (0,)),
    "div": (lambda m: m.div, (3.0, -2.0), (0, 1)),
    "rem": (lambda m: m.rem, (7.5, -2.0), (0, 1)),
    "rem-negative-dividend": (lambda m: m.rem, (-7.5, 2.0), (0, 1)),
    "sign": (lambda m: m.sign, (2.0,), (0,)),
    "floor": (lambda m: m.floor, (2.5,), (0,)),
    "ceil": (lambda m: m.ceil, (2.5,), (0,)),
    "round": (lambda m: m.round, (2.5,), (0,)),
    "neg": (lambda m: m.neg, (2.0,), (0,)),
    "add-sub": (lambda m: lambda x, y: m.sub(m.add(x, y), m.mul(y, y)), (1.0, 3.0), (0, 1)),
    "select_n-bool": (
        lambda m: lambda x, y: m.select_n(m.gt(x, y), x, m.mul(y, y)),
        (1.0, 3.0),
        (0, 1),
    ),
    "select_n-int": (
        lambda m: lambda a, b, c: m.select_n(np.int32(1), a, b, c),
        (1.0, 2.0, 3.0),
        (0, 1, 2),
    ),
    "clamp-inside": (lambda m: m.clamp, (0.0, 0.5, 1.0), (0, 1, 2)),
    "clamp-below": (lambda m: m.clamp, (0.0, -0.5, 1.0), (0, 1, 2)),
    "clamp-above": (lambda m: m.clamp, (0.0, 1.5, 1.0), (0, 1, 2)),
    "clamp-at-lower": (lambda m: m.clamp, (0.0, 0.0, 1.0), (0, 1, 2)),
    "clamp-at-upper": (lambda m: m.clamp, (0.0, 1.0, 1.0), (0, 1, 2)),
    "stop_gradient": (lambda m: lambda x: m.mul(x, m.stop_gradient(x)), (3.0,), (0,)),
    "copy": (lambda m: lambda x: m.mul(x, _copy(m)(x)), (3.0,), (0,)),
    "convert-to-float16-and-back": (
        lambda m: (
            lambda x: m.convert_element_type(m.convert_element_type(x, np.float16), np.float32)
        ),
        (1.5,),
        (0,),
    ),
    "convert-through-int": (
        lambda m: (
            lambda x: m.mul(
                x, m.convert_element_type(m.convert_element_type(x, np.int32), np.float32)
            )
        ),
        (2.5,),
        (0,),
    ),
}


@pytest.mark.parametrize("make,args,argnums", GRADS.values(), ids=GRADS.keys())
def test_grad_matches_jax(make: LaxFn, args: tuple[Any, ...], argnums: tuple[int, ...]) -> None:
    args = tuple(np.float32(a) for a in args)
    ours = refjax.grad(make(lax), argnums)(*args)
    theirs = jax.grad(make(jlax), argnums)(*args)
    _assert_same(ours, theirs)


ONES = np.ones((2, 3), np.float32)
Z = np.array([1 + 2j, -3 + 0.5j, 0j], np.complex64)

# fn(lax_module) -> function, primals, tangents
JVPS: dict[str, tuple[LaxFn, tuple[Any, ...], tuple[Any, ...]]] = {
    "add-scalar-tangent-broadcast": (
        lambda m: lambda x: m.add(x, ONES),
        (np.float32(1),),
        (np.float32(2),),
    ),
    "add-size1-tangent-broadcast": (
        lambda m: lambda x: m.add(ONES, x),
        (normal(1, 3),),
        (normal(1, 3),),
    ),
    "sub-rhs-tangent-broadcast": (
        lambda m: lambda y: m.sub(ONES, y),
        (normal(2, 1),),
        (normal(2, 1),),
    ),
    "mul-size1-both": (lambda m: m.mul, (normal(1, 3), normal(2, 1)), (normal(1, 3), normal(2, 1))),
    "div-scalar-numerator": (
        lambda m: lambda x: m.div(x, ONES * 2),
        (np.float32(3),),
        (np.float32(1),),
    ),
    "rem-scalar-dividend": (
        lambda m: lambda x: m.rem(x, ONES * 2),
        (np.float32(3.5),),
        (np.float32(1),),
    ),
    "max-ties-vector": (
        lambda m: m.max,
        (f32(1, 2, 3), f32(1, 0, 3)),
        (f32(1, 1, 1), f32(4, 4, 4)),
    ),
    "pow-int-exponent-broadcast": (
        lambda m: lambda x: m.pow(x, np.array([[0, 1, -2]], np.int32)),
        (normal(2, 1) + 3,),
        (normal(2, 1),),
    ),
    "abs-complex": (lambda m: m.abs, (Z,), (Z * 1j,)),
    "bitcast-float0": (
        lambda m: lambda x: m.bitcast_convert_type(x, np.int32),
        (f32(1, 2),),
        (f32(1, 1),),
    ),
    "lt-float0": (lambda m: lambda x: m.lt(x, 1.5), (f32(1, 2),), (f32(1, 1),)),
    "convert-to-int-float0": (
        lambda m: lambda x: m.convert_element_type(x, np.int8),
        (f32(1.5),),
        (f32(1),),
    ),
    "convert-to-bool-float0": (
        lambda m: lambda x: m.convert_element_type(x, np.bool_),
        (f32(1.5),),
        (f32(1),),
    ),
    "round-zero": (lambda m: m.round, (f32(1.5, 2.5),), (f32(1, 1),)),
    "is_finite-float0": (lambda m: m.is_finite, (f32(1.5, np.inf),), (f32(1, 1),)),
    "stop_gradient-zero": (lambda m: m.stop_gradient, (f32(1.5),), (f32(1),)),
    "integer_pow-0": (lambda m: lambda x: m.integer_pow(x, 0), (f32(0, 2),), (f32(1, 1),)),
    "select_n-one-case-tangent": (
        lambda m: lambda a: m.select_n(np.array([True, False]), a, f32(5, 6)),
        (f32(1, 2),),
        (f32(3, 4),),
    ),
    "real": (lambda m: m.real, (Z,), (Z,)),
    "imag": (lambda m: m.imag, (Z,), (Z,)),
    "conj": (lambda m: m.conj, (Z,), (Z,)),
    "conj-real": (lambda m: m.conj, (f32(1, 2),), (f32(3, 4),)),
}


@pytest.mark.parametrize("make,primals,tangents", JVPS.values(), ids=JVPS.keys())
def test_jvp_matches_jax(make: LaxFn, primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> None:
    ours = refjax.jvp(make(lax), primals, tangents)
    theirs = jax.jvp(make(jlax), primals, tangents)
    _assert_same(ours, theirs)


# fn(lax_module) -> function, primals (the cotangent is random, shaped like the output)
VJPS: dict[str, tuple[LaxFn, tuple[Any, ...]]] = {
    "add-scalar": (lambda m: lambda x: m.add(x, ONES), (np.float32(1),)),
    "add-size1-both": (lambda m: m.add, (normal(1, 3), normal(2, 1))),
    "sub-size1-both": (lambda m: m.sub, (normal(1, 3), normal(2, 1))),
    "sub-scalar-rhs": (lambda m: m.sub, (normal(2, 3), np.float32(2))),
    "mul-size1-both": (lambda m: m.mul, (normal(1, 3), normal(2, 1))),
    "mul-scalar-lhs": (lambda m: m.mul, (np.float32(3), normal(2, 3))),
    "div-size1-both": (lambda m: m.div, (normal(1, 3), normal(2, 1) + 3)),
    "div-scalar-denominator": (lambda m: m.div, (normal(2, 3), np.float32(3))),
    "rem-size1-both": (lambda m: m.rem, (normal(1, 3) + 5, f32(2, 3).reshape(2, 1))),
    "max-size1-both": (lambda m: m.max, (normal(1, 3), normal(2, 1))),
    "min-scalar": (lambda m: m.min, (normal(2, 3), np.float32(0))),
    "pow-size1-both": (lambda m: m.pow, (normal(1, 3) ** 2 + 0.5, normal(2, 1))),
    "neg": (lambda m: m.neg, (normal(2, 3),)),
    "copy": (lambda m: _copy(m), (normal(2, 3),)),
    "select_n-scalar-which": (
        lambda m: lambda a, b: m.select_n(True, a, b),
        (normal(2, 3), normal(2, 3)),
    ),
    "select_n-int-which": (
        lambda m: lambda a, b, c: m.select_n(np.array([0, 1, 2, 1], np.int32), a, b, c),
        (normal(4), normal(4), normal(4)),
    ),
    "clamp": (lambda m: m.clamp, (normal(2, 3) - 1, normal(2, 3), normal(2, 3) + 1)),
    "convert-float16": (lambda m: lambda x: m.convert_element_type(x, np.float16), (normal(2, 3),)),
    "convert-to-complex": (
        lambda m: lambda x: m.convert_element_type(x, np.complex64),
        (normal(3),),
    ),
    "convert-from-complex": (lambda m: lambda z: m.convert_element_type(z, np.float32), (Z,)),
    "real": (lambda m: m.real, (Z,)),
    "imag": (lambda m: m.imag, (Z,)),
    "conj": (lambda m: m.conj, (Z,)),
    "conj-real": (lambda m: m.conj, (f32(1, 2),)),
    "abs-complex": (lambda m: m.abs, (Z,)),
}


def _random_like(x: Any) -> np.ndarray:
    x = np.asarray(x)
    out = rng.standard_normal(x.shape)
    if x.dtype.kind == "c":
        out = out + 1j * rng.standard_normal(x.shape)
    return out.astype(x.dtype)


@pytest.mark.parametrize("make,primals", VJPS.values(), ids=VJPS.keys())
@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_vjp_matches_jax(make: LaxFn, primals: tuple[Any, ...]) -> None:
    out, pullback = refjax.vjp(make(lax), *primals)
    j_out, j_pullback = jax.vjp(make(jlax), *primals)
    ct = _random_like(j_out)
    _assert_same(out, j_out)
    _assert_same(pullback(ct), j_pullback(ct))


@pytest.mark.parametrize(
    "x,dtype", [(np.float32(1.25), np.float64), (np.float64(1.25), np.float32)]
)
def test_convert_element_type_derivatives_across_widths_match_jax(
    x64: None, x: np.floating[Any], dtype: type[np.floating[Any]]
) -> None:
    """float32 <-> float64: tangents and cotangents are converted both ways."""

    def f(m: Any) -> Callable[[Any], Any]:
        return lambda v: m.convert_element_type(v, dtype)

    _assert_same(refjax.jvp(f(lax), (x,), (x,)), jax.jvp(f(jlax), (x,), (x,)))
    ct = np.asarray(3.0, dtype)
    _assert_same(refjax.vjp(f(lax), x)[1](ct), jax.vjp(f(jlax), x)[1](ct))


def test_clamp_jvp_with_scalar_bounds() -> None:
    """JAX's rule fails on scalar bounds (its select gets a scalar case); refjax broadcasts the
    bound's tangent, giving what JAX gives for bounds broadcast to the operand's shape."""
    x = f32(-2, 0.5, 2)

    def ours(lo: Any, hi: Any) -> Any:
        return lax.clamp(lo, x, hi)

    def theirs(lo: Any, hi: Any) -> Any:
        return jlax.clamp(jnp.broadcast_to(lo, x.shape), x, jnp.broadcast_to(hi, x.shape))

    primals, tangents = (np.float32(-1), np.float32(1)), (np.float32(3), np.float32(5))
    _assert_same(refjax.jvp(ours, primals, tangents), jax.jvp(theirs, primals, tangents))
    ct = f32(1, 10, 100)
    _assert_same(refjax.vjp(ours, *primals)[1](ct), jax.vjp(theirs, *primals)[1](ct))


def test_nextafter_is_not_differentiable_as_in_jax() -> None:
    for m, jvp in ((lax, refjax.jvp), (jlax, jax.jvp)):
        with pytest.raises(NotImplementedError, match="Differentiation rule for 'nextafter'"):
            jvp(lambda x, m=m: m.nextafter(x, np.float32(2)), (np.float32(1),), (np.float32(1),))


def test_double_where_gives_finite_gradients() -> None:
    """The inner select keeps 1/x away from 0; select_n's JVP routes a zero tangent there."""

    def f(m: Any) -> Callable[[Any], Any]:
        def fn(x: Any) -> Any:
            safe = m.select_n(m.ne(x, 0.0), np.float32(1), x)
            return m.select_n(m.ne(x, 0.0), np.float32(0), m.reciprocal(safe))

        return fn

    assert float(refjax.grad(f(lax))(np.float32(0))) == float(jax.grad(f(jlax))(np.float32(0))) == 0


def test_double_where_with_sqrt_gives_finite_gradients() -> None:
    def f(np_: Any) -> Callable[[Any], Any]:
        return lambda x: np_.where(x > 0, np_.sqrt(np_.where(x > 0, x, 1.0)), 0.0)

    assert float(refjax.grad(f(refjax.numpy))(0.0)) == float(jax.grad(f(jnp))(0.0)) == 0


def test_grad_jaxpr_has_jax_primitives() -> None:
    from collections import Counter

    ours = refjax.make_jaxpr(refjax.grad(lambda x: x * refjax.numpy.sin(x)))(1.0)
    theirs = jax.make_jaxpr(jax.grad(lambda x: x * jnp.sin(x)))(1.0)
    names = Counter(e.primitive.name for e in ours.eqns)
    assert names == Counter(e.primitive.name for e in theirs.jaxpr.eqns)
    assert names == Counter({"mul": 4, "sin": 1, "cos": 1, "add_any": 1})


# fn(lax_module) -> function, arguments, in_axes
VMAPS: dict[str, tuple[LaxFn, tuple[Any, ...], tuple[int | None, ...]]] = {
    "select_n-batched-scalar-which": (
        lambda m: m.select_n,
        (np.array([True, False, True, True, False]), normal(3), normal(3)),
        (0, None, None),
    ),
    "select_n-batched-which-at-1": (
        lambda m: m.select_n,
        (normal(3, 5) > 0, normal(3), normal(3)),
        (1, None, None),
    ),
    "select_n-unbatched-which": (
        lambda m: m.select_n,
        (normal(3) > 0, normal(5, 3), normal(3, 5)),
        (None, 0, 1),
    ),
    "select_n-unbatched-scalar-which": (
        lambda m: m.select_n,
        (np.bool_(True), normal(5, 3), normal(3, 5)),
        (None, 0, 1),
    ),
    "select_n-int-which-mixed": (
        lambda m: m.select_n,
        (np.array([0, 1, 2, 1, 0], np.int32), normal(3), normal(3, 5), normal(5, 3)),
        (0, None, 1, 0),
    ),
    "select_n-scalar-cases": (
        lambda m: m.select_n,
        (np.array([True, False, True]), np.float32(1), normal(3)),
        (0, None, 0),
    ),
    "clamp-batched-scalar-lower": (
        lambda m: m.clamp,
        (normal(5) - 1, normal(3), np.float32(1)),
        (0, None, None),
    ),
    "clamp-operand-at-1-scalar-bounds": (
        lambda m: m.clamp,
        (np.float32(-0.5), normal(3, 5), np.float32(0.5)),
        (None, 1, None),
    ),
    "clamp-full-upper-at-1": (
        lambda m: m.clamp,
        (np.float32(-0.5), normal(3), normal(3, 5)),
        (None, None, 1),
    ),
    "clamp-scalar-examples": (
        lambda m: m.clamp,
        (normal(5) - 1, normal(5), np.float32(1)),
        (0, 0, None),
    ),
    "add-unbatched-scalar": (lambda m: m.add, (normal(3, 5), np.float32(2)), (1, None)),
    "mul-unbatched-size1": (lambda m: m.mul, (normal(2, 5, 1), normal(1, 3)), (1, None)),
    "pow-int-exponent": (
        lambda m: m.pow,
        (normal(3, 4) ** 2 + 0.5, np.array([0, 1, 2, -1], np.int32)),
        (1, 0),
    ),
    "convert_element_type": (
        lambda m: lambda x: m.convert_element_type(x, np.int8),
        (normal(3, 4) * 9,),
        (1,),
    ),
    "bitcast-narrowing-batch-last": (
        lambda m: lambda x: m.bitcast_convert_type(x, np.uint8),
        (normal(3, 4),),
        (1,),
    ),
}


@pytest.mark.parametrize("make,args,in_axes", VMAPS.values(), ids=VMAPS.keys())
def test_vmap_matches_jax(
    make: LaxFn, args: tuple[Any, ...], in_axes: tuple[int | None, ...]
) -> None:
    ours = refjax.vmap(make(lax), in_axes=in_axes)(*args)
    theirs = jax.vmap(make(jlax), in_axes=in_axes)(*args)
    _assert_same(ours, theirs)


def test_vmap_bitcast_widening_with_batch_axis_last() -> None:
    """JAX's vectorized rule lets the widening cast eat the batch axis (a ValueError); refjax
    moves the batch axis off the last position first, matching a loop."""
    x = np.arange(24, dtype=np.int8).reshape(2, 4, 3)

    def f(v: Any) -> Any:
        return lax.bitcast_convert_type(v, np.int32)

    out = refjax.vmap(f, in_axes=2)(x)
    expected = np.stack([np.asarray(f(x[..., i])) for i in range(3)])
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_vmap_of_elementwise_chain_has_no_transposes() -> None:
    def f(x: Any, y: Any, w: Any) -> Any:
        z = lax.mul(lax.add(x, y), lax.neg(lax.max(x, 2.0)))
        z = lax.select_n(lax.gt(z, y), z, lax.integer_pow(y, 2))
        return lax.clamp(-1.0, lax.div(z, w), 1.0)

    args = (normal(3, 4), normal(3, 4), normal(3, 4) + 3)
    jaxpr = refjax.make_jaxpr(refjax.vmap(f, in_axes=1, out_axes=1))(*args)
    assert "transpose" not in {e.primitive.name for e in jaxpr.eqns}
    expected = jax.vmap(
        lambda x, y, w: jlax.clamp(
            -1.0,
            jlax.div(
                jlax.select_n(
                    (x + y) * -jnp.maximum(x, 2.0) > y, (x + y) * -jnp.maximum(x, 2.0), y**2
                ),
                w,
            ),
            1.0,
        ),
        in_axes=1,
        out_axes=1,
    )(*args)
    _assert_same(refjax.vmap(f, in_axes=1, out_axes=1)(*args), expected)


def _np_unbroadcast(ct: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Numpy reference: sum ``ct`` over the axes that broadcasting stretched."""
    if not shape:
        return ct.sum()
    axes = tuple(i for i, (c, s) in enumerate(zip(ct.shape, shape, strict=True)) if c != s)
    return ct.sum(axis=axes, keepdims=True)


@st.composite
def lax_broadcastable(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes lax broadcasts: one rank 0, or equal ranks where one side may have 1s."""
    out = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))

    def one_side() -> tuple[int, ...]:
        if draw(st.booleans()) and draw(st.booleans()):
            return ()
        return tuple(1 if draw(st.booleans()) else s for s in out)

    return one_side(), one_side()


@given(lax_broadcastable())
def test_binary_vjps_sum_back_to_operand_shapes(shapes: tuple[tuple[int, ...], ...]) -> None:
    """add/sub/mul/div cotangents equal numpy's formulas summed to each operand's shape."""
    x, y = normal(*shapes[0]), normal(*shapes[1]) + 4
    out_shape = np.broadcast_shapes(x.shape, y.shape)
    ct = normal(*out_shape)
    expected = {
        "add": (ct, ct),
        "sub": (ct, -ct),
        "mul": (ct * y, ct * x),
        "div": (ct / y, -ct * x / y**2),
    }
    for name, (ct_x, ct_y) in expected.items():
        gx, gy = refjax.vjp(getattr(lax, name), x, y)[1](ct)
        assert gx.shape == x.shape and gy.shape == y.shape
        np.testing.assert_allclose(
            np.asarray(gx), _np_unbroadcast(ct_x, x.shape), rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            np.asarray(gy), _np_unbroadcast(ct_y, y.shape), rtol=1e-5, atol=1e-5
        )
