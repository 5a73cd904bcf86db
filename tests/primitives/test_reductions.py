"""Reduction primitives: errors (class and text as JAX's), params as JAX names them, identities,
NaN and tie semantics, wraparound, numerical stability, and hypothesis properties against numpy."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refjax
from refjax import lax
from tests.errors import ErrorCase, check_error_case
from tests.oracle import enable_x64, jax

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
BOOLS = np.array([True, False, True])


ERRORS = [
    ErrorCase(
        "sum bool",
        lambda m: m.reduce_sum(BOOLS, (0,)),
        TypeError,
        "reduce_sum does not accept dtype bool. Accepted dtypes are subtypes of number.",
    ),
    ErrorCase(
        "prod bool",
        lambda m: m.reduce_prod(BOOLS, (0,)),
        TypeError,
        "reduce_prod does not accept dtype bool.",
    ),
    ErrorCase(
        "sum repeated axes",
        lambda m: m.reduce_sum(X, (0, 0)),
        ValueError,
        "duplicate value in 'axes' of reduction: (0, 0)",
    ),
    ErrorCase(
        "sum axis out of range",
        lambda m: m.reduce_sum(X, (3,)),
        ValueError,
        "reduction axes (3,) contains out-of-bounds indices for float32[2,3,4].",
    ),
    ErrorCase(
        "max negative axis",
        lambda m: m.reduce_max(X, (-1,)),
        ValueError,
        "reduction axes (-1,) contains out-of-bounds indices for float32[2,3,4].",
    ),
    ErrorCase(
        "min weak operand",
        lambda m: m.reduce_min(m.broadcast(1.0, (2,)), (1,)),
        ValueError,
        "contains out-of-bounds indices for ~float32[2].",
    ),
    ErrorCase(
        "and float",
        lambda m: m.reduce_and(X, (0,)),
        TypeError,
        "logical reduction requires operand dtype bool or int, got float32.",
    ),
    ErrorCase(
        "xor float",
        lambda m: m.reduce_xor(X, (0,)),
        TypeError,
        "logical reduction requires operand dtype bool or int",
    ),
    # JAX checks no axes for logical reductions: it fails later, in lowering or numpy.
    ErrorCase(
        "or repeated axes",
        lambda m: m.reduce_or(BOOLS, (0, 0)),
        ValueError,
        "duplicate value in 'axes' of reduction: (0, 0)",
        same=False,
    ),
    ErrorCase(
        "argmax empty axis",
        lambda m: m.argmax(np.zeros((0, 3)), 0, np.int32),
        ValueError,
        "argmin and argmax require non-empty reduced dimension. operand.shape=(0, 3) axis=0",
    ),
    ErrorCase(
        "argmin axis out of range",
        lambda m: m.argmin(X, 3, np.int32),
        ValueError,
        "Invalid axis 3 for operand shape (2, 3, 4)",
    ),
    ErrorCase(
        "argmax negative axis",
        lambda m: m.argmax(X, -1, np.int32),
        ValueError,
        "Invalid axis -1 for operand shape (2, 3, 4)",
    ),
    ErrorCase(
        "argmax scalar",
        lambda m: m.argmax(np.float32(1), 0, np.int32),
        ValueError,
        "Invalid axis 0 for operand shape ()",
    ),
    ErrorCase(
        "argmax float index",
        lambda m: m.argmax(X, 0, np.float32),
        TypeError,
        "index_dtype must be an integer type, but got float32",
    ),
    ErrorCase(
        "cumsum bool",
        lambda m: m.cumsum(BOOLS),
        TypeError,
        "cumsum does not accept dtype bool. Accepted dtypes are subtypes of number.",
    ),
    ErrorCase(
        "cummax negative axis",
        lambda m: m.cummax(X, -1),
        ValueError,
        "XLA operations do not allow negative axes",
    ),
    ErrorCase(
        "cumprod axis out of range",
        lambda m: m.cumprod(X, 3),
        ValueError,
        "axis 3 is out of bounds for array of shape (2, 3, 4)",
    ),
    ErrorCase(
        "cummin scalar",
        lambda m: m.cummin(np.float32(1), 0),
        ValueError,
        "axis 0 is out of bounds for array of shape ()",
    ),
    # JAX accepts integer operands here, then fails while lowering (OverflowError).
    ErrorCase(
        "cumlogsumexp int",
        lambda m: m.cumlogsumexp(np.arange(3, dtype=np.int32)),
        TypeError,
        "cumlogsumexp does not accept dtype int32",
        same=False,
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.label)
def test_error_class_and_text(case: ErrorCase) -> None:
    check_error_case(
        case, lambda: case.call(lax), lambda: case.call(jax.lax), normalize=_plain_ints
    )


def _plain_ints(text: str) -> str:
    """JAX writes axes as ``np.int64(1)`` or ``1`` depending on earlier x64 state in the process;
    the number is what the message says either way."""
    return re.sub(r"np\.u?int(?:8|16|32|64)\((-?\d+)\)", r"\1", text)


# ---------------------------------------------------------------------------------------------
# Params are named and valued exactly as JAX's

XI = X.astype(np.int32)
PARAM_CASES: list[tuple[str, Callable[..., Any], np.ndarray]] = [
    ("reduce_sum", lambda m, x: m.reduce_sum(x, (0,)), X),
    ("reduce_sum none", lambda m, x: m.reduce_sum(x, ()), X),
    ("reduce_prod", lambda m, x: m.reduce_prod(x, (0, 2)), X),
    ("reduce_max", lambda m, x: m.reduce_max(x, (1,)), X),
    ("reduce_min", lambda m, x: m.reduce_min(x, (2, 0)), X),
    ("reduce_and", lambda m, x: m.reduce_and(x, (1,)), XI),
    ("reduce_or", lambda m, x: m.reduce_or(x, (1,)), XI),
    ("reduce_xor", lambda m, x: m.reduce_xor(x, (1,)), XI),
    ("argmax", lambda m, x: m.argmax(x, 1, np.int32), X),
    ("argmin", lambda m, x: m.argmin(x, 0, np.int8), X),
    ("cumsum", lambda m, x: m.cumsum(x, 1), X),
    ("cumprod", lambda m, x: m.cumprod(x, 1, reverse=True), X),
    ("cummax", lambda m, x: m.cummax(x, 2), XI),
    ("cummin", lambda m, x: m.cummin(x), X),
    ("cumlogsumexp", lambda m, x: m.cumlogsumexp(x, 0, True), X),
]


def _eqn_of(jaxpr: Any, name: str) -> Any:
    eqns = jaxpr.eqns if hasattr(jaxpr, "eqns") else jaxpr.jaxpr.eqns
    (eqn,) = [e for e in eqns if e.primitive.name == name]
    return eqn


@pytest.mark.parametrize("name,fn,arg", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_params_match_jax(name: str, fn: Callable[..., Any], arg: np.ndarray) -> None:
    prim = name.split()[0]
    ours = _eqn_of(refjax.make_jaxpr(lambda x: fn(lax, x))(arg), prim)
    theirs = _eqn_of(jax.make_jaxpr(lambda x: fn(jax.lax, x))(arg), prim)
    assert dict(ours.params) == dict(theirs.params)
    ours_out, theirs_out = ours.outvars[0].aval, theirs.outvars[0].aval
    assert (ours_out.shape, ours_out.dtype) == (theirs_out.shape, theirs_out.dtype)


def test_printed_equations() -> None:
    text = str(refjax.make_jaxpr(lambda x: lax.reduce_sum(x, (0,)))(X))
    assert "reduce_sum[axes=(0,) out_sharding=None] a" in text
    text = str(refjax.make_jaxpr(lambda x: lax.argmax(x, 1, np.int32))(X))
    assert "i32[2,4] = argmax[axes=(1,) index_dtype=int32] a" in text
    text = str(refjax.make_jaxpr(lambda x: lax.cumsum(x, 1))(X))
    assert "cumsum[axis=1 reverse=False] a" in text
    text = str(refjax.make_jaxpr(lambda x: lax.reduce_max(x, (1,)))(X))
    assert "f32[2,4] = reduce_max[axes=(1,)] a" in text


# ---------------------------------------------------------------------------------------------
# Edge semantics, each checked against real JAX (and against the value JAX documents)


def _same_as_jax(fn: Callable[[Any], Any], expected: Any = None) -> None:
    ours, theirs = fn(lax), fn(jax.lax)
    assert ours.dtype == theirs.dtype
    assert ours.weak_type == theirs.weak_type
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    if expected is not None:
        np.testing.assert_array_equal(np.asarray(ours), expected)


@pytest.mark.parametrize(
    "fn,expected",
    [
        (lambda m: m.reduce_max(np.zeros(0, np.float32), (0,)), -np.inf),
        (lambda m: m.reduce_min(np.zeros(0, np.float32), (0,)), np.inf),
        (lambda m: m.reduce_max(np.zeros(0, np.int32), (0,)), np.iinfo(np.int32).min),
        (lambda m: m.reduce_min(np.zeros(0, np.uint32), (0,)), np.iinfo(np.uint32).max),
        (lambda m: m.reduce_max(np.zeros(0, np.uint8), (0,)), 0),
        (lambda m: m.reduce_max(np.zeros(0, bool), (0,)), False),
        (lambda m: m.reduce_min(np.zeros(0, bool), (0,)), True),
        (lambda m: m.reduce_sum(np.zeros((0, 2), np.int32), (0,)), [0, 0]),
        (lambda m: m.reduce_prod(np.zeros((0, 2), np.float32), (0,)), [1, 1]),
        (lambda m: m.reduce_and(np.zeros(0, np.int32), (0,)), -1),
        (lambda m: m.reduce_and(np.zeros(0, np.uint8), (0,)), 255),
        (lambda m: m.reduce_and(np.zeros(0, bool), (0,)), True),
        (lambda m: m.reduce_or(np.zeros(0, bool), (0,)), False),
        (lambda m: m.reduce_xor(np.zeros(0, np.int32), (0,)), 0),
        (lambda m: m.cumsum(np.zeros((0, 3), np.float32), 0), np.zeros((0, 3))),
    ],
)
def test_empty_reductions_give_the_identity(fn: Callable[[Any], Any], expected: Any) -> None:
    _same_as_jax(fn, expected)


@pytest.mark.parametrize(
    "fn,expected",
    [
        (lambda m: m.reduce_max(np.array([1, np.nan, 3], np.float32), (0,)), np.nan),
        (lambda m: m.reduce_min(np.array([1, np.nan, 3], np.float32), (0,)), np.nan),
        (lambda m: m.argmax(np.array([1, np.nan, 3, np.nan], np.float32), 0, np.int32), 1),
        (lambda m: m.argmin(np.array([1, np.nan, -3, np.nan], np.float32), 0, np.int32), 1),
        (lambda m: m.argmax(np.array([1, 3, 3], np.float32), 0, np.int32), 1),
        (lambda m: m.argmin(np.array([2, 0, 5, 0], np.int32), 0, np.int32), 1),
        (lambda m: m.argmax(np.array([False, True, True]), 0, np.int32), 1),
        (lambda m: m.argmax(np.array([-0.0, 0.0], np.float32), 0, np.int32), 0),
        (lambda m: m.argmax(np.array([-np.inf, -np.inf], np.float32), 0, np.int32), 0),
        (lambda m: m.argmin(np.array([np.inf, np.inf], np.float32), 0, np.int32), 0),
        (lambda m: m.argmax(X, 0, np.int8), np.ones((3, 4), np.int8)),
        (lambda m: m.cummax(np.array([1, np.nan, 3], np.float32)), [1, np.nan, np.nan]),
        (lambda m: m.cummin(np.array([1, np.nan, 3], np.float32)), [1, np.nan, np.nan]),
        (lambda m: m.reduce_max(np.array([True, False]), (0,)), True),
    ],
)
def test_nan_and_tie_semantics(fn: Callable[[Any], Any], expected: Any) -> None:
    _same_as_jax(fn, expected)


@pytest.mark.parametrize(
    "fn,expected",
    [
        (lambda m: m.reduce_sum(np.array([2**31 - 1, 1], np.int32), (0,)), -(2**31)),
        (lambda m: m.reduce_sum(np.array([127, 1], np.int8), (0,)), -128),
        (lambda m: m.reduce_prod(np.array([16, 16], np.uint8), (0,)), 0),
        (lambda m: m.cumsum(np.array([2**31 - 1, 1], np.int32)), [2**31 - 1, -(2**31)]),
        (lambda m: m.cumprod(np.array([100, 2], np.int8)), [100, -56]),
    ],
)
def test_integer_reductions_keep_dtype_and_wrap(fn: Callable[[Any], Any], expected: Any) -> None:
    _same_as_jax(fn, expected)


@pytest.mark.parametrize(
    "x",
    [
        np.array([-np.inf, -np.inf, 0, np.inf, 1], np.float32),
        np.array([0, np.nan, 1], np.float32),
        np.array([1000, 1000, -1000], np.float32),
        np.array([-1000, -1000, -1000], np.float32),
        np.array([88, 89, 90], np.float32),  # exp overflows float32 from 89 on
    ],
)
def test_cumlogsumexp_is_stable(x: np.ndarray) -> None:
    ours = np.asarray(lax.cumlogsumexp(x))
    theirs = np.asarray(jax.lax.cumlogsumexp(x))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    wide = x.astype(np.float64)
    finite = wide[np.isfinite(wide)]
    top = finite.max() if finite.size else 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.log(np.cumsum(np.exp(wide - top))) + top  # in float64, shifted by the max
    np.testing.assert_allclose(ours, naive.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.reduce_sum(m.broadcast(1.0, (3,)), (0,)),
        lambda m: m.reduce_max(m.broadcast(1.0, (3,)), (0,)),
        lambda m: m.reduce_prod(m.broadcast(2, (3,)), (0,)),
        lambda m: m.cumsum(m.broadcast(1.0, (3,))),
        lambda m: m.cummax(m.broadcast(1, (3,))),
        lambda m: m.argmax(m.broadcast(1.0, (3,)), 0, np.int32),
        lambda m: m.reduce_or(m.broadcast(1, (3,)), (0,)),
    ],
)
def test_weak_type_matches_jax(fn: Callable[[Any], Any]) -> None:
    _same_as_jax(fn)


def test_argmax_index_dtype_follows_x64(x64: None) -> None:
    out = lax.argmax(X, 1, np.int64)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(np.asarray(out), np.full((2, 4), 2))


# ---------------------------------------------------------------------------------------------
# Properties (expected values use numpy only)

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


@st.composite
def arrays_and_axes(
    draw: st.DrawFn, dtype: Any, elements: st.SearchStrategy[Any] | None = None
) -> tuple[np.ndarray, tuple[int, ...]]:
    """An array and a set of distinct axes of it, in any order."""
    x = draw(hnp.arrays(dtype, shapes, elements=elements))
    axes = draw(st.permutations(range(x.ndim)))[: draw(st.integers(0, x.ndim))]
    return x, tuple(axes)


@given(arrays_and_axes(np.int32))
def test_integer_sum_is_exact(case: tuple[np.ndarray, tuple[int, ...]]) -> None:
    x, axes = case
    with np.errstate(over="ignore"):
        expected = np.sum(x.astype(np.int64), axis=axes).astype(np.int32)  # wrap like int32
    out = lax.reduce_sum(x, axes)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(out), expected)


@given(arrays_and_axes(np.float32, st.floats(-1e3, 1e3, width=32) | st.just(np.nan)))
def test_max_and_min_match_numpy(case: tuple[np.ndarray, tuple[int, ...]]) -> None:
    x, axes = case
    np.testing.assert_array_equal(
        np.asarray(lax.reduce_max(x, axes)), np.max(x, axis=axes, initial=-np.inf)
    )
    np.testing.assert_array_equal(
        np.asarray(lax.reduce_min(x, axes)), np.min(x, axis=axes, initial=np.inf)
    )


@given(arrays_and_axes(np.bool_))
def test_logical_reductions_match_all_and_any(case: tuple[np.ndarray, tuple[int, ...]]) -> None:
    x, axes = case
    np.testing.assert_array_equal(np.asarray(lax.reduce_and(x, axes)), np.all(x, axis=axes))
    np.testing.assert_array_equal(np.asarray(lax.reduce_or(x, axes)), np.any(x, axis=axes))
    parity = np.sum(x, axis=axes, dtype=np.int64) % 2 == 1
    np.testing.assert_array_equal(np.asarray(lax.reduce_xor(x, axes)), parity)


@st.composite
def arrays_and_axis(
    draw: st.DrawFn, dtype: Any, elements: st.SearchStrategy[Any], nonempty: bool = False
) -> tuple[np.ndarray, int]:
    """An array of rank >= 1 and one of its axes (of size >= 1 when ``nonempty``)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=int(nonempty), max_side=5))
    x = draw(hnp.arrays(dtype, shape, elements=elements))
    return x, draw(st.integers(0, x.ndim - 1))


few_floats = st.sampled_from([-2.0, -1.0, 0.0, 1.0, 2.0, np.nan, np.inf, -np.inf])


@given(arrays_and_axis(np.float32, few_floats, nonempty=True))
def test_argmax_argmin_match_numpy(case: tuple[np.ndarray, int]) -> None:
    """Ties and NaNs are frequent here: numpy also picks the first extreme and the first NaN."""
    x, axis = case
    np.testing.assert_array_equal(np.asarray(lax.argmax(x, axis, np.int32)), np.argmax(x, axis))
    np.testing.assert_array_equal(np.asarray(lax.argmin(x, axis, np.int32)), np.argmin(x, axis))


@given(arrays_and_axis(np.int32, st.integers(-100, 100)), st.booleans())
def test_cumulative_reductions_match_numpy(case: tuple[np.ndarray, int], reverse: bool) -> None:
    x, axis = case

    def run(ufunc: np.ufunc) -> np.ndarray:
        source = np.flip(x, axis) if reverse else x
        return (
            np.flip(ufunc.accumulate(source, axis), axis)
            if reverse
            else ufunc.accumulate(source, axis)
        )

    np.testing.assert_array_equal(np.asarray(lax.cumsum(x, axis, reverse)), run(np.add))
    np.testing.assert_array_equal(np.asarray(lax.cummax(x, axis, reverse)), run(np.maximum))
    np.testing.assert_array_equal(np.asarray(lax.cummin(x, axis, reverse)), run(np.minimum))


@given(arrays_and_axis(np.int32, st.integers(-100, 100)))
def test_cumsum_last_entry_is_the_sum(case: tuple[np.ndarray, int]) -> None:
    x, axis = case
    if x.shape[axis] == 0:
        return
    forward = np.asarray(lax.cumsum(x, axis))
    backward = np.asarray(lax.cumsum(x, axis, reverse=True))
    total = np.sum(x, axis=axis)
    np.testing.assert_array_equal(np.take(forward, -1, axis=axis), total)
    np.testing.assert_array_equal(np.take(backward, 0, axis=axis), total)


@given(
    arrays_and_axis(np.float64, st.floats(-30, 30)),
    st.floats(-500, 500),
    st.booleans(),
)
def test_cumlogsumexp_shift_and_naive(
    case: tuple[np.ndarray, int], shift: float, reverse: bool
) -> None:
    """Matches ``log(cumsum(exp(x)))`` where that is safe, and shifting x shifts the result."""
    x, axis = case
    with enable_x64():
        out = np.asarray(lax.cumlogsumexp(x, axis, reverse))
        shifted = np.asarray(lax.cumlogsumexp(x + shift, axis, reverse))
    source = np.flip(x, axis) if reverse else x
    naive = np.log(np.cumsum(np.exp(source), axis))
    naive = np.flip(naive, axis) if reverse else naive
    np.testing.assert_allclose(out, naive, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(shifted, naive + shift, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "values", [[0.0, -0.0], [-0.0, 0.0], [-0.0, -0.0], [0.0, 0.0], [-0.0, 0.0, -0.0], [-1.0, -0.0]]
)
@pytest.mark.parametrize("name", ["reduce_max", "reduce_min", "cummax", "cummin"])
def test_max_and_min_order_negative_zero_below_zero(name: str, values: list[float]) -> None:
    """As XLA: max(-0, +0) is +0 and min(-0, +0) is -0 in either order (numpy's depend on it)."""
    x = np.array(values, np.float32)

    def run(m: Any) -> np.ndarray:
        fn = getattr(m, name)
        return np.asarray(fn(x, (0,)) if name.startswith("reduce") else fn(x, 0))

    ours, theirs = run(lax), run(jax.lax)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
    ours_rev = np.asarray(getattr(lax, name)(x, 0, True)) if name.startswith("cum") else ours
    theirs_rev = (
        np.asarray(getattr(jax.lax, name)(x, 0, True)) if name.startswith("cum") else theirs
    )
    np.testing.assert_array_equal(np.signbit(ours_rev), np.signbit(theirs_rev))


# ---------------------------------------------------------------------------------------------
# Derivatives and batching, each checked against real JAX

Fn = Callable[[Any, Any], Any]  # fn(lax_module, x)


def _vjp_both(fn: Fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cotangent of ``x`` for one random output cotangent, from refjax and from JAX."""
    out, pullback = refjax.vjp(lambda a: fn(lax, a), x)
    ct = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
    _, jax_pullback = jax.vjp(lambda a: fn(jax.lax, a), x)
    return np.asarray(pullback(ct)[0]), np.asarray(jax_pullback(ct)[0])


def _jvp_both(fn: Fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The output tangent for one random input tangent, from refjax and from JAX."""
    t = np.random.default_rng(1).standard_normal(x.shape).astype(x.dtype)
    _, ours = refjax.jvp(lambda a: fn(lax, a), (x,), (t,))
    _, theirs = jax.jvp(lambda a: fn(jax.lax, a), (x,), (t,))
    return np.asarray(ours), np.asarray(theirs)


def _assert_derivatives_match_jax(fn: Fn, x: np.ndarray, tol: float = 1e-6) -> None:
    for ours, theirs in (_vjp_both(fn, x), _jvp_both(fn, x)):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, equal_nan=True)


TIES = np.array([[1, 3, 3, 2], [5, 5, 5, 0], [-1, 0, 7, 4]], np.float32)


@pytest.mark.parametrize("name", ["reduce_max", "reduce_min"])
@pytest.mark.parametrize("axes", [(1,), (0,), (0, 1), ()])
def test_reduce_max_min_ties_share_the_gradient(name: str, axes: tuple[int, ...]) -> None:
    """JAX's location-based rule: tied extremes split the cotangent equally."""
    _assert_derivatives_match_jax(lambda m, x: getattr(m, name)(x, axes), TIES)
    grad = refjax.grad(lambda x: lax.reduce_max(x, (0,)))(np.array([1.0, 2.0, 2.0, 2.0]))
    np.testing.assert_allclose(np.asarray(grad), [0, 1 / 3, 1 / 3, 1 / 3])


def test_reduce_max_gradient_with_nan() -> None:
    """A NaN maximum matches no element: 0/0, as in JAX."""
    x = np.array([[1.0, np.nan, 2.0], [3.0, 4.0, 4.0]], np.float32)
    _assert_derivatives_match_jax(lambda m, a: m.reduce_max(a, (1,)), x)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("n", range(1, 8))
def test_cummax_cummin_ties_match_jax(name: str, reverse: bool, n: int) -> None:
    """Differentiated through the same prefix scan as JAX's, so ties split the same way."""
    x = np.array([2, 2, 1, 3, 3, 3, 0], np.float32)[:n]
    _assert_derivatives_match_jax(lambda m, a: getattr(m, name)(a, 0, reverse), x)


@pytest.mark.parametrize(
    "x,axes",
    [
        (np.array([[0, 2, 3], [0, 0, 4], [1, 2, 3]], np.float32), (1,)),
        (np.array([[0, 2, 3], [0, 0, 4], [1, 2, 3]], np.float32), (0,)),
        (np.array([[0, 2, 3], [5, 1, 4], [1, 2, 3]], np.float32), (0, 1)),
        (np.array([[0, 2, 3], [0, 1, 4]], np.float32), (0, 1)),
        (np.array([[0, 2, 3], [0, 1, 4]], np.float32), ()),
        (np.zeros((2, 0, 3), np.float32), (1,)),
    ],
)
def test_reduce_prod_gradient_at_zeros(x: np.ndarray, axes: tuple[int, ...]) -> None:
    """The product of the other factors, never a division by the zero factor."""
    _assert_derivatives_match_jax(lambda m, a: m.reduce_prod(a, axes), x)
    ours = np.asarray(refjax.grad(lambda a: lax.reduce_prod(a, (0,)))(np.array([0.0, 2.0, 3.0])))
    np.testing.assert_array_equal(ours, [6.0, 0.0, 0.0])


@pytest.mark.parametrize("reverse", [False, True])
def test_cumprod_gradient_at_zeros(reverse: bool) -> None:
    x = np.array([2, 0, 3, 0, 5, 1.5], np.float32)
    _assert_derivatives_match_jax(lambda m, a: m.cumprod(a, 0, reverse), x, 1e-5)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(
    "x",
    [
        np.array([0.5, -1.0, 2.0, 2.0, 0.0], np.float32),
        np.array([-np.inf, 0.0, 1.0, -np.inf], np.float32),
        np.array([500.0, 520.0, 480.0, 510.0], np.float32),
    ],
    ids=["plain", "minus-inf", "large"],
)
def test_cumlogsumexp_derivatives_match_jax(x: np.ndarray, reverse: bool) -> None:
    """Tangents weighted by ``exp(x_j - out_i)``: finite where ``exp(x)`` overflows."""
    _assert_derivatives_match_jax(lambda m, a: m.cumlogsumexp(a, 0, reverse), x, 1e-5)


def test_cumlogsumexp_gradient_is_softmax_of_prefix() -> None:
    """d/dx_j of the last running logsumexp is softmax(x)_j (hand-computed)."""
    x = np.array([0.1, -0.7, 1.3, 0.4])
    grad = refjax.grad(lambda a: lax.cumlogsumexp(a)[-1])(x)
    np.testing.assert_allclose(np.asarray(grad), np.exp(x) / np.exp(x).sum(), rtol=1e-6)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_have_float0_tangents(name: str) -> None:
    x = np.array([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]], np.float32)
    ours = refjax.jvp(lambda a: getattr(lax, name)(a, 1, np.int32), (x,), (np.ones_like(x),))[1]
    theirs = jax.jvp(lambda a: getattr(jax.lax, name)(a, 1, np.int32), (x,), (np.ones_like(x),))
    assert np.asarray(ours).dtype == np.asarray(theirs[1]).dtype == refjax.dtypes.float0
    grad = refjax.grad(lambda a: lax.convert_element_type(getattr(lax, name)(a, 1, np.int32),
                                                          np.float32).sum())(x)
    np.testing.assert_array_equal(np.asarray(grad), np.zeros_like(x))


XB = np.random.default_rng(3).standard_normal((3, 4, 5)).astype(np.float32)

# (fn on one example, in_axes, out_axes where the rule leaves the batch axis)
VMAP_IN_PLACE: list[tuple[str, Fn, int, int]] = [
    ("reduce_sum-before", lambda m, x: m.reduce_sum(x, (0,)), 1, 0),
    ("reduce_sum-after", lambda m, x: m.reduce_sum(x, (1,)), 1, 1),
    ("reduce_sum-around", lambda m, x: m.reduce_sum(x, (0, 1)), 1, 0),
    ("reduce_sum-last", lambda m, x: m.reduce_sum(x, (0,)), 2, 1),
    ("reduce_max", lambda m, x: m.reduce_max(x, (1,)), 2, 1),
    ("reduce_min", lambda m, x: m.reduce_min(x, (0,)), 0, 0),
    ("reduce_prod", lambda m, x: m.reduce_prod(x, (1,)), 1, 1),
    ("reduce_or", lambda m, x: m.reduce_or(m.gt(x, 0.0), (0,)), 2, 1),
    ("argmax", lambda m, x: m.argmax(x, 1, np.int32), 1, 1),
    ("argmin", lambda m, x: m.argmin(x, 0, np.int32), 2, 1),
    ("cumsum", lambda m, x: m.cumsum(x, 1), 1, 1),
    ("cummax", lambda m, x: m.cummax(x, 0, True), 2, 2),
    ("cumlogsumexp", lambda m, x: m.cumlogsumexp(x, 1), 0, 0),
]


@pytest.mark.parametrize(
    "fn,in_axes,out_axes", [c[1:] for c in VMAP_IN_PLACE], ids=[c[0] for c in VMAP_IN_PLACE]
)
def test_vmap_keeps_the_batch_axis_in_place(fn: Fn, in_axes: int, out_axes: int) -> None:
    """The reduced axes shift around the batch axis: the jaxpr holds no transpose."""
    batched = refjax.vmap(lambda x: fn(lax, x), in_axes=in_axes, out_axes=out_axes)
    jaxpr = refjax.make_jaxpr(batched)(XB)
    assert [e.primitive.name for e in jaxpr.eqns if e.primitive.name == "transpose"] == []
    expected = jax.vmap(lambda x: fn(jax.lax, x), in_axes=in_axes, out_axes=out_axes)(XB)
    np.testing.assert_allclose(np.asarray(batched(XB)), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_grad_of_vmapped_reduce_max_matches_jax() -> None:
    """Batching and differentiation compose: per-example gradients of the maximum."""
    x = np.array([[1.0, 4.0, 4.0], [2.0, 0.0, -1.0]], np.float32)

    def ours(a: Any) -> Any:
        return refjax.vmap(lambda r: lax.reduce_max(r, (0,)))(a).sum()

    def theirs(a: Any) -> Any:
        return jax.vmap(lambda r: jax.lax.reduce_max(r, (0,)))(a).sum()

    np.testing.assert_allclose(np.asarray(refjax.grad(ours)(x)), np.asarray(jax.grad(theirs)(x)))
