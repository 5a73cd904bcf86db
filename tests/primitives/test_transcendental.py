"""Transcendental and special-function primitives: errors and printed jaxprs as JAX's, edge values,
float16, the accuracy of the special functions against independent references, and their JVP and
batching rules against real JAX at edge points (the op table checks them in the interior)."""

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
from tests.errors import assert_same_error, raised
from tests.oracle import enable_x64

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
    err = raised(call)
    return type(err), str(err)


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
    assert_same_error(lambda: getattr(lax, name)(1), lambda: getattr(jax.lax, name)(1))


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
    ours, _ = assert_same_error(lambda: lax.atan2(*args), lambda: jax.lax.atan2(*args))
    assert type(ours) is TypeError


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


@pytest.mark.parametrize(
    "args",
    [
        (np.int32(1), np.float32(1)),
        (np.float32(1), np.int32(1)),
        (1, 2.0),
        (np.float32(1), np.float64(1)),
        (np.ones(3, np.float32), np.ones(4, np.float32)),
    ],
    ids=["int-at-0", "int-at-1", "python-int", "widths", "shapes"],
)
def test_polygamma_errors_match_jax(args: tuple[Any, Any], x64: None) -> None:
    jax = _jax()
    ours, _ = assert_same_error(lambda: lax.polygamma(*args), lambda: jax.lax.polygamma(*args))
    assert type(ours) is TypeError


def test_polygamma_printed_jaxpr_matches_jax() -> None:
    jax = _jax()
    x = np.ones((2, 3), np.float32)
    ours = refjax.make_jaxpr(lambda x: lax.polygamma(1.0, x))(x)
    assert str(ours) == str(jax.make_jaxpr(lambda x: jax.lax.polygamma(1.0, x))(x))


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


PI = np.pi
POLYGAMMA_EDGES: list[tuple[float, float, float]] = [  # (m, x, polygamma(m, x))
    (1, 1, PI**2 / 6),
    (1, 0.5, PI**2 / 2),
    (2, 1, -2 * 1.2020569031595942854),  # -2 zeta(3)
    (3, 1, PI**4 / 15),
    (0, 1, -EULER_GAMMA),
    (0, 0.0, NAN),
    (1, 0.0, INF),  # odd orders: +inf at the poles, from both sides
    (1, -0.0, INF),
    (1, -3, INF),
    (3, -INF, INF),
    (2, 0.0, NAN),  # even orders change sign across a pole
    (2, -3, NAN),
    (2, -INF, NAN),
    (1, INF, NAN),  # XLA's, though the limit is 0
    (1.5, 2, NAN),  # orders must be natural numbers
    (-1, 2, NAN),
    (INF, 2, NAN),
    (NAN, 2, NAN),
    (1, NAN, NAN),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_polygamma_edge_values(dtype: type[np.generic], x64: None) -> None:
    m, x, expected = (np.array(column, dtype) for column in zip(*POLYGAMMA_EDGES, strict=True))
    out = lax.polygamma(m, x)
    assert out.dtype == np.dtype(dtype)
    _assert_same_values(out, expected)
    theirs = np.asarray(_jax().lax.polygamma(m, x))
    np.testing.assert_allclose(out, theirs, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_polygamma_of_huge_orders_overflows_with_the_sign_of_jax(x64: None) -> None:
    """Past 170, n! overflows: ±inf at negative x, signed by the nearest pole's term."""
    m = np.array([169, 170, 171, 172, 171, 172, 1e6, 1e6 + 1])
    x = np.array([-2.3, -2.7, -2.3, -2.3, -2.7, -2.7, -3.25, -3.25])
    out = lax.polygamma(m, x)
    _assert_same_values(out, [INF, -INF, INF, INF, INF, -INF, INF, INF])
    np.testing.assert_array_equal(out[:6], _jax().lax.polygamma(m[:6], x[:6]))


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


def test_polygamma_matches_scipy_for_positive_x(x64: None) -> None:
    x = np.concatenate([_grid(0, 12, 2001), np.geomspace(1e-8, 1e8, 501)])
    for m in range(1, 13):
        expected = _special().polygamma(m, x)
        np.testing.assert_allclose(lax.polygamma(float(m), x), expected, rtol=1e-14, err_msg=str(m))


def test_polygamma_matches_the_recurrence_from_positive_x(x64: None) -> None:
    """psi^(m)(x) = psi^(m)(x + n) - (-1)^m m! sum_{k<n} (x + k)^-(m+1), x + n in (1, 2], with
    the sum in 40-digit decimals (scipy sums it in floats, losing ~1e-14 near the zeros of even
    orders; XLA's polygamma is wrong below about -8). The reference itself cancels near those
    zeros, so errors are measured against the size of its terms."""
    x = np.concatenate([_grid(-60, 0, 301), [-0.5, -1e-9, -3 + 1e-9, -7.5 + 2**-40]])
    x = x[x != np.round(x)]
    n = np.ceil(-x) + 1  # x + n is exact
    for m in range(1, 7):
        with localcontext() as ctx:
            ctx.prec = 40
            terms = [
                [(Decimal(float(v)) + k) ** -(m + 1) for k in range(int(count))]
                for v, count in zip(x, n, strict=True)
            ]
            total = np.array([float(sum(t)) for t in terms])
            magnitude = np.array([float(sum(abs(a) for a in t)) for t in terms])
        shifted = _special().polygamma(m, x + n)
        factor = (-1) ** m * math.factorial(m)
        expected = shifted - factor * total
        scale = np.abs(shifted) + math.factorial(m) * magnitude
        error = np.abs(np.asarray(lax.polygamma(float(m), x)) - expected)
        assert np.all(error <= 2e-15 * scale), (m, np.max(error / scale))


def test_polygamma_far_below_zero_is_fast_and_accurate(x64: None) -> None:
    """Reflection, not -x recurrence steps: psi'(1/2 - N) = pi^2 - psi'(N + 1/2) ~ pi^2 - 1/N."""
    big = np.array([1e6, 1e10, 1e15])
    out = np.asarray(lax.polygamma(1.0, 0.5 - big))
    np.testing.assert_allclose(out, np.pi**2 - 1 / big, rtol=1e-15)


def test_polygamma_zero_is_digamma(x64: None) -> None:
    x = np.concatenate([_grid(-10, 10, 501), [0.0, -2.0, INF, -INF]])
    np.testing.assert_array_equal(lax.polygamma(0.0, x), lax.digamma(x))


def test_hurwitz_zeta_at_one_is_riemann_zeta() -> None:
    s = np.arange(2.0, 12.0)
    expected = 1 + np.array(impl._ZETA_MINUS_ONE[:10])
    np.testing.assert_allclose(impl._hurwitz_zeta(s, np.ones_like(s)), expected, rtol=5e-16)


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


@given(finite64)
def test_erf_is_odd_and_erfc_complements(x: float) -> None:
    with enable_x64():  # hypothesis tests can't take the x64 fixture
        assert float(lax.erf(-np.float64(x))) == -float(lax.erf(np.float64(x)))
        total = float(lax.erfc(np.float64(x))) + float(lax.erfc(-np.float64(x)))
        assert abs(total - 2) <= 4e-16


@given(st.floats(-1, 1, allow_nan=False, exclude_min=True, exclude_max=True))
def test_erf_inverts_erf_inv(p: float) -> None:
    with enable_x64():
        y = lax.erf_inv(np.float64(p))
        assert math.erf(float(y)) == pytest.approx(p, rel=1e-15, abs=1e-16)


@given(st.floats(0.01, 60))
def test_gamma_recurrences(x: float) -> None:
    with enable_x64():
        v = np.float64(x)
        lhs, rhs = float(lax.lgamma(v + 1)), float(lax.lgamma(v)) + math.log(x)
        assert lhs == pytest.approx(rhs, rel=1e-14, abs=1e-14)
        lhs, rhs = float(lax.digamma(v + 1)), float(lax.digamma(v)) + 1 / x
        assert lhs == pytest.approx(rhs, rel=1e-14, abs=1e-14)


@given(st.integers(1, 8), st.floats(-20, 20).filter(lambda v: abs(v - round(v)) > 1e-3))
def test_polygamma_recurrence(m: int, x: float) -> None:
    """psi^(m)(x + 1) = psi^(m)(x) + (-1)^m m! / x^(m + 1)."""
    with enable_x64():
        step = (-1) ** m * math.factorial(m) / x ** (m + 1)
        lhs = float(lax.polygamma(float(m), np.float64(x + 1)))
        rhs = float(lax.polygamma(float(m), np.float64(x))) + step
        assert lhs == pytest.approx(rhs, rel=1e-13, abs=1e-13 * abs(step))


@given(st.floats(-50, 50))
def test_logistic_is_symmetric(x: float) -> None:
    with enable_x64():
        total = float(lax.logistic(np.float64(x))) + float(lax.logistic(np.float64(-x)))
        assert total == pytest.approx(1, abs=4.5e-16)  # two roundings of 1/2 ulp, and the sum


# ---------------------------------------------------------------------------------------------
# Transformation rules: JVP (forward and reverse), batching, against real JAX

ALL_UNARY = UNARY_OPS


def _unary(module: Any, name: str) -> Callable[[Any], Any]:
    return getattr(module.lax, name) if hasattr(module, "lax") else getattr(module, name)


@pytest.mark.parametrize("name", ALL_UNARY)
def test_jvp_jaxprs_print_as_jax(name: str) -> None:
    """The rules use JAX's operations in JAX's order: differentiated jaxprs are identical."""
    jax = _jax()
    x = np.float32(0.5)
    ours = refjax.make_jaxpr(lambda x: refjax.jvp(getattr(lax, name), (x,), (x,)))(x)
    theirs = jax.make_jaxpr(lambda x: jax.jvp(getattr(jax.lax, name), (x,), (x,)))(x)
    assert str(ours) == str(theirs)


@pytest.mark.parametrize(
    "fn",
    [lambda lx, x: lx.atan2(x, x * 2), lambda lx, x: lx.polygamma(2.0, x)],
    ids=["atan2", "polygamma"],
)
def test_binary_jvp_jaxprs_print_as_jax(fn: Callable[..., Any]) -> None:
    jax = _jax()
    x = np.float32(0.5)
    ours = refjax.make_jaxpr(lambda x: refjax.jvp(lambda v: fn(lax, v), (x,), (x,)))(x)
    theirs = jax.make_jaxpr(lambda x: jax.jvp(lambda v: fn(jax.lax, v), (x,), (x,)))(x)
    assert str(ours) == str(theirs)


EPS32 = float(np.finfo(np.float32).eps)
# Points where derivatives are infinite, vanish, saturate or come near a pole. (None whose float32
# values are subnormal: XLA's CPU flushes those to zero, numpy does not.)
EDGE_POINTS: dict[str, list[float]] = {
    "sqrt": [0.0, 1e-30, 4, INF],
    "rsqrt": [0.0, 1e-30, 4, INF],
    "cbrt": [0.0, -0.0, -8, 1e-30, INF],
    "logistic": [-800, -40, -20, -1, 0, 1, 20, 40, 800, -INF, INF],
    "tanh": [0, 1, 20, 400, -INF],
    "exp": [-INF, -80, 0, 100],
    "exp2": [-INF, 0, 100],
    "expm1": [-INF, -1e-8, 0, 50],
    "log": [0.0, 1e-30, 1, INF],
    "log1p": [-1, -1 + 1e-6, 0, INF],
    "sin": [0, 1, PI, -PI / 2],
    "cos": [0, 1, PI, -PI / 2],
    "tan": [0, 1, 1.5, -1.5],
    "asin": [-1, -0.999, 0, 0.5, 1],
    "acos": [-1, -0.999, 0, 0.5, 1],
    "atan": [-INF, -1e10, 0, 1, INF],
    "sinh": [-20, 0, 1, 20],
    "cosh": [-20, 0, 1, 20],
    "asinh": [-1e10, 0, 1, INF],
    "acosh": [1, 1.001, 10, INF],
    "atanh": [-1, -0.999, 0, 0.5, 1],
    "erf": [-INF, -5, 0, 1, 5, 30, INF],
    "erfc": [-INF, -5, 0, 1, 5, 30, INF],
    "erf_inv": [-1, -1 + EPS32, -0.999, 0, 0.5, 0.999, 1 - EPS32, 1],
    "lgamma": [-2.5, -1 + 1e-3, -0.5, 0.0, 1e-6, 1, 2, 30],
    "digamma": [-3.5, -0.5, 0.0, 1e-3, 1, 2, 30],
}


def _derivatives(module: Any, name: str, x: np.ndarray) -> tuple[Any, Any, Any]:
    """f'(x) elementwise three ways: JVP with unit tangents, VJP of unit cotangents, vmap(grad)."""
    f = getattr(module.lax, name)
    ones = np.ones_like(x)
    _, forward = module.jvp(f, (x,), (ones,))
    _, pullback = module.vjp(f, x)
    (reverse,) = pullback(ones)
    batched = module.vmap(module.grad(f))(x)
    return forward, reverse, batched


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(EDGE_POINTS))
def test_derivatives_at_edge_points_match_jax(
    name: str, dtype: type[np.generic], x64: None
) -> None:
    jax = _jax()
    x = np.array(EDGE_POINTS[name], dtype)
    tol = 2e-5 if dtype == np.float32 else 1e-10  # XLA's digamma is ~1e-11 accurate in float64
    expected = np.asarray(jax.jvp(getattr(jax.lax, name), (x,), (np.ones_like(x),))[1])
    for out in _derivatives(refjax, name, x):
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_allclose(out, expected, rtol=tol, atol=0, equal_nan=True)
    for out in _derivatives(jax, name, x):  # JAX's own three ways agree as ours do
        np.testing.assert_allclose(out, expected, rtol=tol, atol=0, equal_nan=True)


def test_sqrt_derivative_at_zero_is_inf_as_jax() -> None:
    jax = _jax()
    ours, theirs = refjax.grad(lax.sqrt)(0.0), jax.grad(jax.lax.sqrt)(0.0)
    assert float(ours) == float(theirs) == INF
    # A zero tangent times the infinite slope is NaN in both (no symbolic shortcut)
    _, t = refjax.jvp(lax.sqrt, (np.float32(0),), (np.float32(0),))
    _, t_jax = jax.jvp(jax.lax.sqrt, (np.float32(0),), (np.float32(0),))
    assert np.isnan(t) and np.isnan(t_jax)


def test_logistic_tails_have_zero_not_nan_derivatives() -> None:
    x = np.array([-1000, -200, 100, 1000], np.float32)
    out = np.asarray(refjax.vmap(refjax.grad(lax.logistic))(x))
    assert np.all(out == 0)
    np.testing.assert_array_equal(out, _jax().vmap(_jax().grad(_jax().lax.logistic))(x))


def test_erf_inv_derivative_near_one(x64: None) -> None:
    """sqrt(pi)/2 exp(erf_inv(x)^2): large but finite a few ulps from ±1, inf at ±1."""
    x = np.array([1 - 2**-52, 1 - 2**-40, -(1 - 2**-30), 1.0, -1.0])
    out = np.asarray(refjax.vmap(refjax.grad(lax.erf_inv))(x))
    expected = math.sqrt(math.pi) / 2 * np.exp(_special().erfinv(x) ** 2)
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    assert np.all(np.isfinite(out[:3])) and np.all(out[3:] == INF)


def test_lgamma_derivatives_near_poles(x64: None) -> None:
    """lgamma' = digamma and lgamma'' = polygamma(1, x) ~ 1/(x + n)^2 next to the poles.

    References by reflection from 1 - x > 0 (scipy's psi loses ~1e-7 right next to the poles):
    psi(x) = psi(1 - x) - pi / tan(pi x), psi'(x) = -psi'(1 - x) + pi^2 / sin(pi x)^2.
    """
    jax = _jax()
    x = np.array([-1 + 1e-9, -2 - 1e-7, -3.5, 1e-12, -1e-12])
    first = refjax.vmap(refjax.grad(lax.lgamma))(x)
    second = refjax.vmap(refjax.grad(refjax.grad(lax.lgamma)))(x)
    r = np.pi * (x - np.round(x))  # exact reduction
    psi = _special().psi(1 - x) - np.pi / np.tan(r)
    psi1 = -_special().polygamma(1, 1 - x) + (np.pi / np.sin(r)) ** 2
    np.testing.assert_allclose(first, psi, rtol=1e-13)
    np.testing.assert_allclose(second, psi1, rtol=1e-13)
    np.testing.assert_allclose(first, jax.vmap(jax.grad(jax.lax.lgamma))(x), rtol=1e-10)
    hessian = jax.vmap(jax.grad(jax.grad(jax.lax.lgamma)))(x)
    np.testing.assert_allclose(second, hessian, rtol=1e-10)


@pytest.mark.parametrize("name", ALL_UNARY)
def test_third_derivatives_match_jax(name: str, x64: None) -> None:
    jax = _jax()
    low, high = F16_DOMAINS.get(name, (-2, 2))
    x = np.random.default_rng(3).uniform(low, high, 7)

    def third(module: Any) -> Any:
        g = module.grad(module.grad(module.grad(getattr(module.lax, name))))
        return np.array([g(v) for v in x])

    np.testing.assert_allclose(third(refjax), third(jax), rtol=1e-9, atol=1e-12)


def test_digamma_derivatives_are_polygammas(x64: None) -> None:
    x = np.array([0.3, 1.0, 2.5, 12.0, -0.5, -2.7])
    d = lax.digamma
    for order in range(1, 5):
        d = refjax.grad(d)
        out = np.asarray(refjax.vmap(d)(x))
        np.testing.assert_allclose(out, _special().polygamma(order, x), rtol=1e-13)


def test_polygamma_is_not_differentiable_in_m_as_jax() -> None:
    jax = _jax()
    ours = _error_text(lambda: refjax.grad(lambda m: lax.polygamma(m, 2.0))(1.0))
    assert ours == _error_text(lambda: jax.grad(lambda m: jax.lax.polygamma(m, 2.0))(1.0))
    assert ours == (ValueError, "polygamma gradient with respect to m is not supported")
    # A constant order is fine, as is m passed through a non-differentiated path
    assert float(refjax.grad(lambda x: lax.polygamma(1.0, x))(2.0)) == pytest.approx(
        float(jax.grad(lambda x: jax.lax.polygamma(1.0, x))(2.0)), rel=1e-6
    )


COMPLEX_POINTS = np.array([0.3 + 0.4j, -0.7 + 1.1j, 1.5 - 0.2j, -0.4 - 0.9j])


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", INEXACT_OPS)
def test_complex_jvp_and_vjp_match_jax(name: str, dtype: type[np.generic], x64: None) -> None:
    """Holomorphic rules: the JVP multiplies by f'(z); the VJP too (JAX's convention, no conj)."""
    jax = _jax()
    x = COMPLEX_POINTS.astype(dtype)
    t = (np.array([1.0, 1j, -0.5 + 2j, 0.3]) * 1).astype(dtype)
    tol = 1e-4 if dtype == np.complex64 else 1e-11
    _, ours = refjax.jvp(getattr(lax, name), (x,), (t,))
    _, theirs = jax.jvp(getattr(jax.lax, name), (x,), (t,))
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    (ours_ct,) = refjax.vjp(getattr(lax, name), x)[1](t)
    (theirs_ct,) = jax.vjp(getattr(jax.lax, name), x)[1](t)
    np.testing.assert_allclose(ours_ct, theirs_ct, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", [n for n in INEXACT_OPS if n != "acosh"])
def test_complex_derivatives_match_finite_differences(name: str, x64: None) -> None:
    """Forward mode to second order; reverse mode by JAX's complex transposition identity
    <t, conj(vjp(conj(c)))> = <jvp(t), c>. (acosh is left out: JAX's rule, g rsqrt(x^2 - 1),
    has the wrong sign for complex x with negative real part; ours is JAX's.)"""
    from refjax.test_util import check_grads, check_vjp

    f = getattr(lax, name)
    check_grads(f, [COMPLEX_POINTS], order=2, modes=("fwd",), eps=1e-6)

    # check_vjp applies JAX's conj(vjp(conj(c))) itself
    check_vjp(f, lambda x: refjax.vjp(f, x), [COMPLEX_POINTS], eps=1e-6)


def test_atan2_gradients_broadcast_and_match_jax(x64: None) -> None:
    jax = _jax()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 1)), rng.standard_normal((1, 4))
    ours = refjax.grad(lambda x, y: lax.atan2(x, y).sum(), argnums=(0, 1))(x, y)
    theirs = jax.grad(lambda x, y: jax.lax.atan2(x, y).sum(), argnums=(0, 1))(x, y)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-13)
    # At the origin both partial derivatives are 0/0 in JAX's rule: NaN, as there
    zero = np.float64(0)
    ours0 = refjax.grad(lax.atan2, argnums=(0, 1))(zero, zero)
    theirs0 = jax.grad(jax.lax.atan2, argnums=(0, 1))(zero, zero)
    np.testing.assert_array_equal(np.array(ours0), np.array(theirs0))


def test_vmap_of_elementwise_chain_has_no_transposes() -> None:
    """Unary rules keep the batch axis in place; atan2 and polygamma too when it agrees."""

    def f(x: Any, y: Any) -> Any:
        return lax.atan2(lax.sin(lax.exp(x)), lax.polygamma(1.0, lax.sqrt(y)))

    x = np.ones((2, 5, 3), np.float32)
    jaxpr = refjax.make_jaxpr(refjax.vmap(f, in_axes=1, out_axes=1))(x, x)
    names = [eqn.primitive.name for eqn in jaxpr.jaxpr.eqns]
    assert "transpose" not in names
    assert jaxpr.out_avals[0].shape == (2, 5, 3)


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 1), (1, 0), (None, 1)])
def test_vmap_of_polygamma_and_atan2_match_jax(
    in_axes: tuple[int | None, int | None], x64: None
) -> None:
    """In float64: XLA's float32 polygamma is only ~1e-5 accurate."""
    jax = _jax()
    rng = np.random.default_rng(1)

    def shape(axis: int | None) -> tuple[int, ...]:
        return (3,) if axis is None else (4, 3) if axis == 0 else (3, 4)

    m = rng.integers(0, 4, shape(in_axes[0])).astype(np.float64)
    x = rng.uniform(0.2, 3, shape(in_axes[1]))
    for fn in ("polygamma", "atan2"):
        ours = refjax.vmap(getattr(lax, fn), in_axes=in_axes)(m, x)
        theirs = jax.vmap(getattr(jax.lax, fn), in_axes=in_axes)(m, x)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, err_msg=fn)


def test_jvp_of_polygamma_batched_order_matches_jax() -> None:
    jax = _jax()
    m = np.array([1.0, 2.0, 3.0], np.float32)
    x = np.float32(1.7)

    def deriv(module: Any) -> Any:
        def one(order: Any) -> Any:
            return module.grad(lambda v: module.lax.polygamma(order, v))(x)

        return np.asarray(module.vmap(one)(m))

    np.testing.assert_allclose(deriv(refjax), deriv(jax), rtol=2e-6)
