"""Transcendental and special-function primitives: errors and printed jaxprs as JAX's, edge values,
float16, and the accuracy of the special functions against independent references."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal, getcontext, localcontext
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refjax
from refjax import lax
from refjax.backends.numpy_impls import transcendental as impl

INEXACT_OPS = (
    "exp exp2 log log1p expm1 tanh logistic sin cos tan asin acos atan sinh cosh asinh acosh "
    "atanh sqrt rsqrt"
).split()
FLOAT_OPS = ["cbrt", "erf", "erfc", "erf_inv", "lgamma", "digamma"]
UNARY_OPS = INEXACT_OPS + FLOAT_OPS
WITH_ACCURACY = "exp exp2 log log1p expm1 tanh logistic sin cos tan sqrt rsqrt cbrt".split()


def _jax() -> Any:
    return pytest.importorskip("jax")


def _error_text(call: Callable[[], Any]) -> tuple[type[BaseException], str]:
    try:
        call()
    except Exception as err:  # the class is what we compare
        return type(err), str(err)
    raise AssertionError("expected an error")


# ---------------------------------------------------------------------------------------------
# Dtype rules and error messages


REJECTED = [
    (name, dtype)
    for name in UNARY_OPS
    for dtype in (np.int32, np.bool_, np.uint8, np.complex64)
    if not (name in INEXACT_OPS and dtype == np.complex64)
]


@pytest.mark.parametrize("name,dtype", REJECTED)
def test_rejected_dtypes_raise_jax_type_error(name: str, dtype: type[np.generic]) -> None:
    accepted = "floating, complexfloating" if name in INEXACT_OPS else "floating"
    x = np.zeros(3, dtype)
    message = (
        f"{name} does not accept dtype {np.dtype(dtype).name}. "
        f"Accepted dtypes are subtypes of {accepted}."
    )
    with pytest.raises(TypeError) as info:
        getattr(lax, name)(x)
    assert str(info.value) == message
    jax = _jax()
    assert _error_text(lambda: getattr(jax.lax, name)(x)) == (TypeError, message)


@pytest.mark.parametrize("name", UNARY_OPS)
def test_python_int_is_rejected_like_jax(name: str) -> None:
    jax = _jax()
    assert _error_text(lambda: getattr(lax, name)(1)) == _error_text(
        lambda: getattr(jax.lax, name)(1)
    )


@pytest.mark.parametrize(
    "args",
    [
        (np.float32(1), np.int32(1)),
        (np.int32(1), np.float32(1)),
        (np.ones(3, np.float32), np.ones(4, np.float32)),
        (np.ones(3, np.float32), np.ones((1, 3), np.float32)),
        (np.ones(3, np.float32), 2.0),
    ],
    ids=["int-at-1", "int-at-0", "shapes", "ranks", "weak-under-x64"],
)
def test_atan2_errors_match_jax(args: tuple[Any, Any], x64: None) -> None:
    jax = _jax()
    ours = _error_text(lambda: lax.atan2(*args))
    assert ours == _error_text(lambda: jax.lax.atan2(*args))
    assert ours[0] is TypeError


def test_atan2_mixed_float_widths_message(x64: None) -> None:
    with pytest.raises(TypeError) as info:
        lax.atan2(np.float32(1), np.float64(1))
    assert str(info.value) == (
        "lax.atan2 requires arguments to have the same dtypes, got float32, float64. "
        "(Tip: jnp.arctan2 is a similar function that does automatic type promotion on inputs)."
    )


@pytest.mark.parametrize("name", WITH_ACCURACY)
def test_accuracy_accepts_only_the_default(name: str) -> None:
    x = np.float32(0.5)
    np.testing.assert_array_equal(getattr(lax, name)(x, accuracy=None), getattr(lax, name)(x))
    with pytest.raises(NotImplementedError, match="accuracy=None"):
        getattr(lax, name)(x, accuracy="highest")  # type: ignore[arg-type]  # a wrong value


# ---------------------------------------------------------------------------------------------
# Jaxprs and weak types


@pytest.mark.parametrize("name", UNARY_OPS)
def test_printed_jaxpr_matches_jax(name: str) -> None:
    jax = _jax()
    x = np.ones((2, 3), np.float32)
    ours = refjax.make_jaxpr(getattr(lax, name))(x)
    assert str(ours) == str(jax.make_jaxpr(getattr(jax.lax, name))(x))
    assert ours.jaxpr.eqns[0].params == {}


def test_atan2_printed_jaxpr_matches_jax() -> None:
    jax = _jax()
    x, y = np.ones((2, 3), np.float32), np.float32(2)
    ours = refjax.make_jaxpr(lax.atan2)(x, y)
    assert str(ours) == str(jax.make_jaxpr(jax.lax.atan2)(x, y))


@pytest.mark.parametrize("name", UNARY_OPS)
def test_python_float_gives_weak_float32(name: str) -> None:
    jax = _jax()
    out, expected = getattr(lax, name)(0.5), getattr(jax.lax, name)(0.5)
    assert (out.dtype, out.weak_type) == (np.dtype(np.float32), True)
    assert (out.dtype, out.weak_type) == (expected.dtype, expected.weak_type)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_atan2_of_python_floats_is_weak() -> None:
    out = lax.atan2(1.0, 2.0)
    assert (out.dtype, out.weak_type) == (np.dtype(np.float32), True)
    np.testing.assert_allclose(out, math.atan2(1.0, 2.0), rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# Edge values: hand-computed, then checked against JAX

INF, NAN = np.inf, np.nan
EULER_GAMMA = 0.57721566490153286
EDGES: list[tuple[str, list[float], list[float]]] = [
    ("erf_inv", [-1, 1, 1.5, -1.5, 0.0, -0.0, NAN], [-INF, INF, NAN, NAN, 0.0, -0.0, NAN]),
    ("erf", [0.0, -0.0, INF, -INF, NAN, 10.0], [0.0, -0.0, 1, -1, NAN, 1]),
    ("erfc", [0.0, -0.0, INF, -INF, NAN, 30.0], [1, 1, 0, 2, NAN, 0]),
    ("lgamma", [0.0, -0.0, -1, -2, -1e20, INF, -INF, NAN, 1, 2], [INF] * 7 + [NAN, 0, 0]),
    (
        "digamma",
        [0.0, -0.0, -1, -2, -1e20, INF, -INF, NAN, 1],
        [NAN] * 5 + [INF, NAN, NAN, -EULER_GAMMA],
    ),
    ("rsqrt", [0.0, -0.0, INF, -1, 4], [INF, -INF, 0, NAN, 0.5]),
    ("cbrt", [-8, -0.0, INF, -INF, 27], [-2, -0.0, INF, -INF, 3]),
    ("logistic", [-INF, INF, 0.0, NAN, -800], [0, 1, 0.5, NAN, 0]),
    ("log", [0.0, -1, INF, 1], [-INF, NAN, INF, 0]),
    ("log1p", [-1, -2, -0.0, INF], [-INF, NAN, -0.0, INF]),
    ("expm1", [-INF, -0.0, INF], [-1, -0.0, INF]),
    ("exp2", [-INF, 10, INF], [0, 1024, INF]),
    ("sqrt", [-1, -0.0, INF], [NAN, -0.0, INF]),
    ("asin", [2, -0.0, 1], [NAN, -0.0, np.pi / 2]),
    ("acosh", [0.5, 1, INF], [NAN, 0, INF]),
    ("atanh", [1, -1, 2, -0.0], [INF, -INF, NAN, -0.0]),
    ("tanh", [INF, -INF, -0.0], [1, -1, -0.0]),
]


def _assert_same_values(out: Any, expected: Any) -> None:
    out, expected = np.asarray(out), np.asarray(expected, out.dtype)
    np.testing.assert_allclose(out, expected, rtol=4 * np.finfo(out.dtype).eps, equal_nan=True)
    zeros = expected == 0
    np.testing.assert_array_equal(np.signbit(out[zeros]), np.signbit(expected[zeros]))


@pytest.mark.parametrize("name,inputs,expected", EDGES, ids=[e[0] for e in EDGES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_values(
    name: str, inputs: list[float], expected: list[float], dtype: type[np.generic], x64: None
) -> None:
    x = np.array(inputs, dtype)
    out = getattr(lax, name)(x)
    assert out.dtype == np.dtype(dtype)
    _assert_same_values(out, expected)
    jax = _jax()
    theirs = np.asarray(getattr(jax.lax, name)(x))
    np.testing.assert_allclose(out, theirs, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_atan2_signed_zeros_and_infinities() -> None:
    x = np.array([0.0, -0.0, 0.0, -0.0, 1, INF, -INF, NAN], np.float32)
    y = np.array([0.0, 0.0, -0.0, -0.0, 0.0, INF, INF, 1], np.float32)
    pi = np.pi
    _assert_same_values(lax.atan2(x, y), [0.0, -0.0, pi, -pi, pi / 2, pi / 4, -pi / 4, NAN])
    jax = _jax()
    np.testing.assert_array_equal(lax.atan2(x, y), jax.lax.atan2(x, y))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_atan2_matches_jax(dtype: type[np.generic], x64: None) -> None:
    jax = _jax()
    rng = np.random.default_rng(0)
    x, y = (
        (rng.standard_normal((3, 5)) + 1j * rng.standard_normal((3, 5))).astype(dtype)
        for _ in range(2)
    )
    out = lax.atan2(x, y)
    assert out.dtype == np.dtype(dtype)
    tol = 1e-5 if dtype == np.complex64 else 1e-13
    np.testing.assert_allclose(out, jax.lax.atan2(x, y), rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------
# float16: computed wider, rounded to float16

F16_DOMAINS: dict[str, tuple[float, float]] = {
    "log": (0.1, 3),
    "log1p": (0.1, 3),
    "sqrt": (0.1, 3),
    "rsqrt": (0.1, 3),
    "lgamma": (0.1, 3),
    "digamma": (0.1, 3),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atanh": (-0.9, 0.9),
    "erf_inv": (-0.9, 0.9),
    "acosh": (1.1, 4),
}


@pytest.mark.parametrize("name", UNARY_OPS)
def test_float16_results_match_jax(name: str) -> None:
    jax = _jax()
    low, high = F16_DOMAINS.get(name, (-3, 3))
    x = np.random.default_rng(0).uniform(low, high, (4, 5)).astype(np.float16)
    out = getattr(lax, name)(x)
    assert out.dtype == np.dtype(np.float16)
    expected = np.asarray(getattr(jax.lax, name)(x))
    np.testing.assert_allclose(out, expected.astype(np.float32), rtol=2e-3, atol=2e-3)


# ---------------------------------------------------------------------------------------------
# Accuracy of the float64 special functions against independent references


def _special() -> Any:
    return pytest.importorskip("scipy.special")


def _grid(low: float, high: float, n: int = 20001) -> np.ndarray:
    return np.random.default_rng(0).uniform(low, high, n)


def test_erf_and_erfc_match_libm_within_a_few_ulp(x64: None) -> None:
    x = np.concatenate([_grid(-6, 6), _grid(-1, 1), np.geomspace(1e-300, 27, 2000)])
    x = np.concatenate([x, -x])
    erf, erfc = np.vectorize(math.erf)(x), np.vectorize(math.erfc)(x)
    np.testing.assert_allclose(lax.erf(x), erf, rtol=4e-16, atol=1e-300)
    normal = erfc > np.finfo(np.float64).tiny
    np.testing.assert_allclose(np.asarray(lax.erfc(x))[normal], erfc[normal], rtol=1e-15)


def test_erf_inv_matches_scipy_within_a_few_ulp(x64: None) -> None:
    p = np.concatenate(
        [_grid(-1, 1), 1 - np.geomspace(1e-16, 0.5, 2000), np.geomspace(1e-300, 1, 2000)]
    )
    p = np.concatenate([p, -p])
    np.testing.assert_allclose(lax.erf_inv(p), _special().erfinv(p), rtol=1e-15)


def test_lgamma_and_digamma_match_scipy_for_positive_x(x64: None) -> None:
    x = np.concatenate([_grid(0, 12), _grid(0.9, 2.1), np.geomspace(1e-300, 1e300, 2000)])
    np.testing.assert_allclose(lax.lgamma(x), _special().gammaln(x), rtol=1e-15, atol=5e-16)
    np.testing.assert_allclose(lax.digamma(x), _special().psi(x), rtol=1e-15, atol=5e-16)


def test_lgamma_matches_scipy_for_negative_x(x64: None) -> None:
    x = _grid(-30, 0)
    x = x[x != np.round(x)]
    np.testing.assert_allclose(lax.lgamma(x), _special().gammaln(x), rtol=1e-14, atol=1e-15)


def test_digamma_matches_the_recurrence_from_positive_x(x64: None) -> None:
    """psi(x) = psi(x + n) - sum_{k<n} 1/(x + k), x + n in (1, 2]; scipy's psi itself loses up to
    1e-12 relative near the negative poles, so the reference steps up from positive x instead."""
    x = _grid(-30, -1)
    x = x[x != np.round(x)]
    n = np.ceil(-x) + 1  # x + k is exact for these x
    terms = np.array([np.where(k < n, 1 / (x + k), 0.0) for k in range(32)])
    shifted = _special().psi(x + n)
    expected = shifted - terms.sum(axis=0)
    scale = np.abs(shifted) + np.abs(terms).sum(axis=0)
    assert np.all(np.abs(np.asarray(lax.digamma(x)) - expected) <= 1e-15 * scale)


def test_float32_special_functions_are_correctly_rounded_mostly() -> None:
    x = _grid(0.05, 6, 2000).astype(np.float32)
    for name, ref in [("erf", math.erf), ("erfc", math.erfc), ("lgamma", math.lgamma)]:
        expected = np.vectorize(ref)(x.astype(np.float64)).astype(np.float32)
        out = np.asarray(getattr(lax, name)(x))
        assert np.mean(out == expected) > 0.99, name


def _erfcx_decimal(x: Decimal, pi: Decimal) -> Decimal:
    """exp(x**2) erfc(x) in the current decimal precision: Maclaurin below 7, continued fraction
    above."""
    if x < 7:
        total, term, n = Decimal(0), x, 0
        while abs(term) > Decimal(10) ** -(getcontext().prec - 5):
            total += term / (2 * n + 1)
            n += 1
            term = -term * x * x / n
        return (1 - 2 / pi.sqrt() * total) * (x * x).exp()
    fraction = x
    for k in range(300, 0, -1):
        fraction = x + Decimal(k) / 2 / fraction
    return 1 / pi.sqrt() / fraction


def _cos_decimal(x: Decimal, pi: Decimal) -> Decimal:
    x = x % (2 * pi)
    total, term, n = Decimal(0), Decimal(1), 0
    while abs(term) > Decimal(10) ** -(getcontext().prec - 2):
        total += term
        n += 2
        term = -term * x * x / (n * (n - 1))
    return total


def test_erfc_chebyshev_coefficients_reproduce_from_high_precision() -> None:
    """Re-derive the fit: Chebyshev interpolation of log(erfcx(x)/t) at 64 nodes, 60 digits."""
    nodes = 64
    with localcontext() as ctx:
        ctx.prec = 60
        pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
        theta = [pi * (Decimal(j) + Decimal("0.5")) / nodes for j in range(nodes)]
        values = []
        for angle in theta:
            t = (_cos_decimal(angle, pi) + 1) / 2
            values.append((_erfcx_decimal(2 / t - 2, pi) / t).ln())
        pairs = list(zip(values, theta, strict=True))
        coeffs = [
            2 / Decimal(nodes) * sum(v * _cos_decimal(k * a, pi) for v, a in pairs)
            for k in range(len(impl._ERFCX_CHEBYSHEV))
        ]
        coeffs[0] /= 2
    np.testing.assert_allclose(
        impl._ERFCX_CHEBYSHEV, [float(c) for c in coeffs], rtol=0, atol=1e-18
    )


def test_zeta_values_match_closed_forms() -> None:
    """zeta(2) = pi^2/6, zeta(4) = pi^4/90, zeta(6) = pi^6/945, and Apery's constant zeta(3)."""
    with localcontext() as ctx:
        ctx.prec = 40
        pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")
        closed = [pi**2 / 6 - 1, Decimal("0.20205690315959428539973816151144999"), pi**4 / 90 - 1]
        closed += [Decimal(0), pi**6 / 945 - 1]
    for k in (2, 3, 4, 6):
        assert impl._ZETA_MINUS_ONE[k - 2] == float(closed[k - 2])


# ---------------------------------------------------------------------------------------------
# Identities (hypothesis)

finite64 = st.floats(-30, 30, allow_nan=False)


class _x64:  # noqa: N801  # reads like the fixture it stands in for
    """Enable 64-bit mode for a block (hypothesis tests can't take the function fixture)."""

    def __enter__(self) -> None:
        refjax.config.update("jax_enable_x64", True)

    def __exit__(self, *exc: object) -> None:
        refjax.config.update("jax_enable_x64", False)


@given(finite64)
def test_erf_is_odd_and_erfc_complements(x: float) -> None:
    with _x64():
        assert float(lax.erf(-np.float64(x))) == -float(lax.erf(np.float64(x)))
        total = float(lax.erfc(np.float64(x))) + float(lax.erfc(-np.float64(x)))
        assert abs(total - 2) <= 4e-16


@given(st.floats(-1, 1, allow_nan=False, exclude_min=True, exclude_max=True))
def test_erf_inverts_erf_inv(p: float) -> None:
    with _x64():
        y = lax.erf_inv(np.float64(p))
        assert math.erf(float(y)) == pytest.approx(p, rel=1e-15, abs=1e-16)


@given(st.floats(0.01, 60))
def test_gamma_recurrences(x: float) -> None:
    with _x64():
        v = np.float64(x)
        lhs, rhs = float(lax.lgamma(v + 1)), float(lax.lgamma(v)) + math.log(x)
        assert lhs == pytest.approx(rhs, rel=1e-14, abs=1e-14)
        lhs, rhs = float(lax.digamma(v + 1)), float(lax.digamma(v)) + 1 / x
        assert lhs == pytest.approx(rhs, rel=1e-14, abs=1e-14)


@given(st.floats(-50, 50))
def test_logistic_is_symmetric(x: float) -> None:
    with _x64():
        total = float(lax.logistic(np.float64(x))) + float(lax.logistic(np.float64(-x)))
        assert total == pytest.approx(1, abs=4.5e-16)  # two roundings of 1/2 ulp, and the sum
