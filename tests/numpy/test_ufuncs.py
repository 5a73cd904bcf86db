"""Elementwise ``refjax.numpy`` functions against real JAX (values, dtypes, weak types), numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import check, check_numpy, jnp

RNG = np.random.default_rng(0)
F32 = RNG.standard_normal((3, 4)).astype(np.float32)
POS = RNG.uniform(0.1, 3.0, (3, 4)).astype(np.float32)
UNIT = RNG.uniform(-0.9, 0.9, (3, 4)).astype(np.float32)
I32 = RNG.integers(-10, 10, (3, 4)).astype(np.int32)
U8 = np.array([0, 1, 7, 200], np.uint8)
BOOL = RNG.random((2, 3)) < 0.5
F16 = np.array([0.5, -1.5, 2.25], np.float16)
EMPTY = np.zeros((2, 0), np.float32)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0], np.float32)
C64 = (RNG.standard_normal((2, 3)) + 1j * RNG.standard_normal((2, 3))).astype(np.complex64)

# Operands for unary functions: arrays of several dtypes and shapes, Python scalars (weak).
UNARY_INPUTS: list[Any] = [F32, I32, U8, BOOL, F16, EMPTY, SPECIAL, C64, 2.0, 3, True,
                           np.float32(1.5), 1j]

UNARY_ANY = [
    "negative", "positive", "sign", "abs", "absolute", "fabs", "floor", "ceil", "trunc",
    "rint", "square", "reciprocal", "exp", "exp2", "expm1", "sin", "cos", "tan", "arctan",
    "sinh", "cosh", "tanh", "arcsinh", "cbrt", "deg2rad", "rad2deg", "degrees", "radians",
    "isfinite", "isinf", "isnan", "isposinf", "isneginf", "signbit", "real", "imag", "conj",
    "conjugate", "invert", "bitwise_not", "logical_not",
]
UNARY_POSITIVE = ["log", "log1p", "log2", "log10", "sqrt", "arccosh"]
UNARY_UNIT = ["arcsin", "arccos", "arctanh", "asin", "acos", "atanh"]


def _ids(xs: list[Any]) -> list[str]:
    return [f"{getattr(x, 'dtype', type(x).__name__)}{getattr(x, 'shape', '')}" for x in xs]


@pytest.mark.parametrize("name", UNARY_ANY)
@pytest.mark.parametrize("x", UNARY_INPUTS, ids=_ids(UNARY_INPUTS))
def test_unary_matches_jax(name: str, x: Any) -> None:
    check(lambda m, a: getattr(m, name)(a), x)


@pytest.mark.parametrize("name", UNARY_POSITIVE + UNARY_UNIT)
@pytest.mark.parametrize("x", [POS, UNIT, 2, 0.5, F16, EMPTY], ids=_ids([POS, UNIT, 2, 0.5, F16,
                                                                          EMPTY]))
def test_unary_domain_matches_jax(name: str, x: Any) -> None:
    check(lambda m, a: getattr(m, name)(a), x)


NUMPY_UNARY = [
    ("negative", F32), ("sign", F32), ("abs", I32), ("floor", F32), ("ceil", F32),
    ("trunc", F32), ("rint", F32 * 3), ("square", I32), ("reciprocal", POS), ("exp", F32),
    ("exp2", F32), ("expm1", F32), ("log", POS), ("log1p", POS), ("log2", POS), ("log10", POS),
    ("sqrt", POS), ("cbrt", F32), ("sin", F32), ("cos", F32), ("tan", UNIT), ("arcsin", UNIT),
    ("arccos", UNIT), ("arctan", F32), ("sinh", F32), ("cosh", F32), ("tanh", F32),
    ("arcsinh", F32), ("arccosh", POS + 1), ("arctanh", UNIT), ("deg2rad", F32),
    ("rad2deg", F32), ("isfinite", SPECIAL), ("isinf", SPECIAL), ("isnan", SPECIAL),
    ("isposinf", SPECIAL), ("isneginf", SPECIAL), ("signbit", SPECIAL), ("invert", I32),
    ("logical_not", F32),
]


@pytest.mark.parametrize("name,x", NUMPY_UNARY, ids=[n for n, _ in NUMPY_UNARY])
def test_unary_matches_numpy(name: str, x: np.ndarray) -> None:
    check_numpy(lambda m, a: getattr(m, name)(a), x, tol=1e-5)


BINARY = [
    "add", "subtract", "multiply", "true_divide", "divide", "floor_divide", "remainder", "mod",
    "fmod", "power", "pow", "float_power", "maximum", "minimum", "fmax", "fmin", "arctan2",
    "hypot", "copysign", "logaddexp", "logaddexp2", "equal", "not_equal", "less", "less_equal",
    "greater", "greater_equal", "logical_and", "logical_or", "logical_xor", "heaviside",
    "nextafter", "divmod",
]
F32_B = RNG.standard_normal((3, 4)).astype(np.float32) + 0.5
I32_B = RNG.integers(1, 6, (3, 4)).astype(np.int32)
BINARY_PAIRS: list[tuple[Any, Any]] = [
    (F32, F32_B), (I32, I32_B), (I32, -I32_B), (F32, 2), (I32, 2.5), (3, F32_B), (I32, 3),
    (F32, I32_B), (2.5, 3), (True, 2), (np.float32(2), 3.0), (2.0, 3.0), (F16, 2.0),
    (EMPTY, 1.0), (F32, F32_B[0]), (F32[:, :1], F32_B[0]), (BOOL, BOOL[::-1]), (U8, np.uint8(3)),
    (SPECIAL, SPECIAL[::-1]), (np.float32(-7.5), np.float32(2.0)), (I32, np.int8(3)),
    (C64, C64[::-1]), (F32[:2, :3], 1j),
]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize(
    "pair", BINARY_PAIRS, ids=[f"{_ids([a])[0]}-{_ids([b])[0]}" for a, b in BINARY_PAIRS]
)
def test_binary_matches_jax(name: str, pair: tuple[Any, Any]) -> None:
    check(lambda m, a, b: getattr(m, name)(a, b), *pair)


BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
           "bitwise_left_shift", "bitwise_right_shift"]
BITWISE_PAIRS: list[tuple[Any, Any]] = [
    (I32, I32_B), (I32, 2), (U8, np.uint8(3)), (BOOL, BOOL[::-1]), (np.int8([-8, 5]), 1),
    (3, 1),
]


@pytest.mark.parametrize("name", BITWISE)
@pytest.mark.parametrize("pair", BITWISE_PAIRS,
                         ids=[f"{_ids([a])[0]}-{_ids([b])[0]}" for a, b in BITWISE_PAIRS])
def test_bitwise_matches_jax(name: str, pair: tuple[Any, Any]) -> None:
    check(lambda m, a, b: getattr(m, name)(a, b), *pair)


NUMPY_BINARY = [
    "add", "subtract", "multiply", "true_divide", "floor_divide", "remainder", "fmod",
    "maximum", "minimum", "arctan2", "hypot", "copysign", "logaddexp", "logaddexp2", "equal",
    "less", "greater_equal", "logical_xor",
]


@pytest.mark.parametrize("name", NUMPY_BINARY)
def test_binary_matches_numpy(name: str) -> None:
    check_numpy(lambda m, a, b: getattr(m, name)(a, b), F32 * 4, F32_B, tol=1e-5)


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod", "divmod"])
def test_integer_division_is_numpys(name: str) -> None:
    a = np.array([-7, -7, 7, 7, 0, -1, 5], np.int32)
    b = np.array([2, -2, 2, -2, 3, 4, -1], np.int32)
    check_numpy(lambda m, x, y: getattr(m, name)(x, y), a, b)
    check(lambda m, x, y: getattr(m, name)(x, y), a, b)


def test_float_floor_divide_and_mod_are_pythons() -> None:
    a = np.array([-7.5, 7.5, -7.5, 7.5, 1.0, -0.0], np.float32)
    b = np.array([2.0, -2.0, -2.0, 2.0, 0.5, 3.0], np.float32)
    for name in ("floor_divide", "remainder", "divmod"):
        check_numpy(lambda m, x, y, n=name: getattr(m, n)(x, y), a, b)
    assert float(rnp.floor_divide(-7.0, 2.0)) == -7.0 // 2.0
    assert float(rnp.remainder(-7.0, 2.0)) == -7.0 % 2.0


def test_integer_power_of_integers() -> None:
    base = np.array([-3, -1, 0, 1, 2, 5], np.int32)
    exp = np.array([3, 4, 0, 7, 10, 2], np.int32)
    check_numpy(lambda m, x, y: m.power(x, y), base, exp)
    check(lambda m, x, y: m.power(x, y), base, exp)


@pytest.mark.parametrize("exponent", [0, 1, 2, 3, -1, -2, np.int32(2), True])
def test_power_with_static_integer_exponent(exponent: Any) -> None:
    check(lambda m, x: m.power(x, exponent), POS)
    check(lambda m, x: m.power(x, exponent), I32 if exponent >= 0 else POS)


def test_python_scalars_are_weak() -> None:
    f16 = np.ones(3, np.float16)
    out = rnp.add(f16, 1.0)
    assert out.dtype == np.float16 and not out.weak_type
    out = rnp.multiply(2, 3.5)
    assert out.dtype == np.float32 and out.weak_type
    out = rnp.add(np.int8([1, 2]), 300 - 290)
    assert out.dtype == np.int8
    check(lambda m, x: m.add(x, 2**20), np.int8([1]))
    check(lambda m, x: m.add(x, 2**40), np.int32([1]))
    check(lambda m: m.asarray(2**40))


def test_x64_promotion(x64: None) -> None:
    check(lambda m, a, b: m.add(a, b), np.int32([1]), 2.5)
    check(lambda m, a, b: m.multiply(a, b), np.float64([1.5]), 2)
    check(lambda m, a: m.sqrt(a), np.int64([4, 9]))
    check(lambda m, a: m.sqrt(a), np.int32([4, 9]))
    check(lambda m, a, b: m.true_divide(a, b), 1, 2)
    check(lambda m, a, b: m.floor_divide(a, b), np.int64([-7]), 2)


def test_list_arguments_are_rejected_with_jax_message() -> None:
    with pytest.raises(TypeError, match=r"add requires ndarray or scalar arguments, got "
                                        r"<class 'list'> at position 0\."):
        rnp.add([1, 2], 3)
    with pytest.raises(TypeError, match=r"at position 1"):
        rnp.subtract(1, [1])
    with pytest.raises(TypeError, match="sin requires ndarray or scalar arguments"):
        rnp.sin([1.0])


def test_incompatible_shapes_raise_like_jax() -> None:
    check(lambda m, a, b: m.add(a, b), np.ones(3), np.ones(4))
    check(lambda m, a, b: m.add(a, b), np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"Incompatible shapes for broadcasting: "
                                         r"shapes=\[\(2, 3\), \(4,\)\]"):
        rnp.add(np.ones((2, 3)), np.ones(4))


def test_float16_with_python_float_stays_float16() -> None:
    for name in ("add", "multiply", "maximum", "true_divide", "power", "arctan2", "hypot"):
        out = getattr(rnp, name)(F16, 2.0)
        assert out.dtype == np.float16, name
        check(lambda m, a, n=name: getattr(m, n)(a, 2.0), F16)


def test_results_under_tracing_have_the_eager_avals() -> None:
    for name in ("add", "floor_divide", "remainder", "power", "logaddexp", "hypot"):
        f = getattr(rnp, name)
        eager = f(I32, 2.5)
        jaxpr = refjax.make_jaxpr(lambda a, f=f: f(a, 2.5))(I32)
        (aval,) = jaxpr.out_avals
        assert (aval.shape, aval.dtype, aval.weak_type) == (eager.shape, eager.dtype,
                                                            eager.weak_type)


def test_operators_match_jax() -> None:
    a, b = F32, F32_B
    ops = [
        lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
        lambda x, y: x // y, lambda x, y: x % y, lambda x, y: x ** 2, lambda x, y: 2.0 ** x,
        lambda x, y: -x, lambda x, y: +x, lambda x, y: abs(x), lambda x, y: x < y,
        lambda x, y: x <= y, lambda x, y: x > y, lambda x, y: x >= y, lambda x, y: x == y,
        lambda x, y: x != y, lambda x, y: 1 - x, lambda x, y: 3 / x, lambda x, y: 7 // y,
        lambda x, y: 7 % y, lambda x, y: divmod(x, y),
    ]
    for op in ops:
        check(lambda m, x, y, op=op: op(m.asarray(x), m.asarray(y)), a, b)
    int_ops = [lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x,
               lambda x, y: x << 1, lambda x, y: x >> 1, lambda x, y: 3 & x]
    for op in int_ops:
        check(lambda m, x, y, op=op: op(m.asarray(x), m.asarray(y)), I32, I32_B)
    jnp.asarray(0)  # JAX is importable
