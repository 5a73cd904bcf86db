"""Reductions of ``refjax.numpy`` against real JAX (values, dtypes, weak types) and numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import check, check_numpy

RNG = np.random.default_rng(1)
F32 = RNG.standard_normal((3, 4)).astype(np.float32)
I32 = RNG.integers(-5, 5, (3, 4)).astype(np.int32)
BOOL = RNG.random((3, 4)) < 0.5
INPUTS: list[Any] = [
    F32, I32, BOOL, np.int8([1, 2, 3]), np.uint8([1, 2, 250]), np.float16([1, 2, 3]),
    2.0, 3, np.zeros((0, 3), np.float32), RNG.standard_normal((2, 3, 4)).astype(np.float32),
]
AXES: list[dict[str, Any]] = [
    {}, {"axis": 0}, {"axis": -1}, {"axis": (0, 1)}, {"keepdims": True},
    {"axis": 1, "keepdims": True}, {"axis": (-1, 0)}, {"axis": None, "keepdims": True},
]
REDUCTIONS = ["sum", "prod", "max", "min", "amax", "amin", "mean", "var", "std", "all", "any",
              "ptp", "count_nonzero"]


def _ids(xs: list[Any]) -> list[str]:
    return [f"{getattr(x, 'dtype', type(x).__name__)}{getattr(x, 'shape', '')}" for x in xs]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("x", INPUTS, ids=_ids(INPUTS))
@pytest.mark.parametrize("kw", AXES, ids=[str(k) for k in AXES])
def test_reduction_matches_jax(name: str, x: Any, kw: dict[str, Any]) -> None:
    check(lambda m, a: getattr(m, name)(a, **kw), x)


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "var", "std"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float16, bool])
def test_reduction_dtype_argument(name: str, dtype: Any) -> None:
    check(lambda m, a: getattr(m, name)(a, axis=0, dtype=dtype), I32)
    check(lambda m, a: getattr(m, name)(a, dtype=dtype), F32)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "mean", "var", "std", "all",
                                  "any", "argmax", "argmin", "cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_reduction_matches_numpy(name: str, axis: int | None) -> None:
    x = F32 if name not in ("all", "any") else BOOL
    check_numpy(lambda m, a: getattr(m, name)(a, axis=axis), x, tol=1e-5)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("x", [F32, I32, BOOL, np.float32([1.0, np.nan, 3.0]), 2.0,
                               np.zeros((0, 3), np.float32)],
                         ids=_ids([F32, I32, BOOL, np.float32([1.0]), 2.0, np.zeros((0, 3))]))
@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": -1, "keepdims": True},
                                {"keepdims": True}, {"axis": 2}])
def test_arg_reductions_match_jax(name: str, x: Any, kw: dict[str, Any]) -> None:
    check(lambda m, a: getattr(m, name)(a, **kw), x)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("x", [F32, I32, BOOL, np.int8([1, 2, 3]), np.uint8([3, 4]), 2.0,
                               np.zeros((0, 3), np.float32)],
                         ids=_ids([F32, I32, BOOL, np.int8([1]), np.uint8([1]), 2.0,
                                   np.zeros((0, 3))]))
@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": -1}, {"dtype": np.float32},
                                {"dtype": bool}, {"axis": 1, "dtype": np.int8}])
def test_cumulative_matches_jax(name: str, x: Any, kw: dict[str, Any]) -> None:
    check(lambda m, a: getattr(m, name)(a, **kw), x)


def test_where_and_initial() -> None:
    mask = F32 > 0
    check(lambda m, a: m.sum(a, axis=1, where=mask), F32)
    check(lambda m, a: m.prod(a, where=mask), F32)
    check(lambda m, a: m.mean(a, axis=1, where=mask), F32)
    check(lambda m, a: m.var(a, axis=0, where=mask, ddof=1), F32)
    check(lambda m, a: m.max(a, axis=1, initial=3.0), F32)
    check(lambda m, a: m.min(a, axis=1, where=mask, initial=100), F32)
    check(lambda m, a: m.max(a, where=mask), F32)  # no identity and no initial: an error
    check(lambda m, a: m.sum(a, initial=2), I32)
    check(lambda m, a: m.any(a, where=mask), BOOL)
    check(lambda m, a: m.all(a, axis=0, where=mask), BOOL)
    check(lambda m, a: m.sum(a, where=np.ones(4, np.int32)), F32)  # where must be boolean


def test_promote_integers_false_keeps_the_dtype() -> None:
    check(lambda m, a: m.sum(a, promote_integers=False), np.int8([100, 100]))
    check(lambda m, a: m.prod(a, promote_integers=False), np.uint8([20, 20]))


def test_statistics_keywords() -> None:
    check(lambda m, a: m.std(a, ddof=1, axis=0), F32)
    check(lambda m, a: m.var(a, correction=2), F32)
    check(lambda m, a: m.var(a, axis=1, mean=m.mean(a, axis=1, keepdims=True)), F32)
    check(lambda m, a: m.var(a, ddof=1, correction=1), F32)
    check(lambda m, a: m.var(a, ddof=5), np.ones(3, np.float32))  # N - ddof < 0: NaN
    check(lambda m, a: m.std(a, dtype=np.int32), F32)


def test_empty_reductions() -> None:
    empty = np.zeros((0, 3), np.float32)
    for name in ("sum", "prod", "mean", "all", "any", "var"):
        check(lambda m, a, n=name: getattr(m, n)(a, axis=0), empty)
    check(lambda m, a: m.max(a, axis=0), empty)
    check(lambda m, a: m.max(a, axis=1), empty)
    check(lambda m, a: m.argmax(a, axis=0), empty)
    check(lambda m, a: m.argmin(a), empty)


def test_axis_errors_match_jax() -> None:
    for name in ("sum", "max", "mean", "argmax", "cumsum", "var"):
        check(lambda m, a, n=name: getattr(m, n)(a, axis=2), F32)
        check(lambda m, a, n=name: getattr(m, n)(a, axis=-3), F32)
    check(lambda m, a: m.sum(a, axis=(0, 0)), F32)
    check(lambda m, a: m.sum(a, axis=(0, -2)), F32)
    with pytest.raises(ValueError, match="duplicate value in 'axis'"):
        rnp.sum(F32, axis=(1, -1))
    with pytest.raises(ValueError, match="zero-size array to reduction operation max"):
        rnp.max(np.zeros((0,)))


def test_reduction_of_traced_values_has_eager_avals() -> None:
    for name in REDUCTIONS:
        f = getattr(rnp, name)
        eager = f(I32, axis=0)
        (aval,) = refjax.make_jaxpr(lambda a, f=f: f(a, axis=0))(I32).out_avals
        assert (aval.shape, aval.dtype, aval.weak_type) == (eager.shape, eager.dtype,
                                                            eager.weak_type)


def test_methods_call_reductions() -> None:
    for method in ("sum", "prod", "max", "min", "mean", "var", "std", "any", "all", "argmax",
                   "argmin", "cumsum", "cumprod"):
        check(lambda m, a, n=method: getattr(m.asarray(a), n)(axis=0), F32)
    check(lambda m, a: m.asarray(a).sum(axis=(0, 1), keepdims=True), F32)
    check(lambda m, a: m.asarray(a).mean(dtype=np.float16), I32)
    check(lambda m, a: m.asarray(a).std(ddof=1), F32)


def test_x64_reductions(x64: None) -> None:
    for x in (np.int32([1, 2]), np.int64([1, 2]), np.uint8([1]), np.float32([1.5]), 2, 2.0,
              np.bool_([True])):
        for name in ("sum", "prod", "mean", "cumsum", "var", "argmax"):
            check(lambda m, a, n=name: getattr(m, n)(a), x)


NAN_X = np.float32([[2, np.nan, 4, 3], [np.nan, np.nan, np.nan, np.nan], [4, -7, 6, np.nan]])
NAN_REDUCTIONS = ["nanmax", "nanmin", "nansum", "nanprod", "nanmean"]
NAN_CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("all", NAN_X, {}),
    ("axis1", NAN_X, {"axis": 1}),
    ("axis0 keepdims", NAN_X, {"axis": 0, "keepdims": True}),
    ("ints", np.int32([[1, 2], [3, 4]]), {"axis": 0}),
    ("bools", np.array([True, False]), {}),
    ("float16", np.float16([1, np.nan, 3]), {}),
    ("empty", np.zeros((0, 3), np.float32), {"axis": 0}),
    ("where", NAN_X, {"axis": 1, "where": np.array([True, False, True, True])}),
]


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
@pytest.mark.parametrize("case", NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_nan_reductions_match_jax(name: str, case: tuple[str, Any, dict[str, Any]]) -> None:
    _, x, kw = case
    if name in ("nanmax", "nanmin") and "where" in kw:  # JAX asks for an initial with where
        kw = {**kw, "initial": -100.0 if name == "nanmax" else 100.0}
    check(lambda m, a: getattr(m, name)(a, **kw), x)


@pytest.mark.parametrize("name", NAN_REDUCTIONS)
def test_nan_reductions_match_numpy_and_differentiate_as_jax(name: str) -> None:
    x = np.float32([[1, np.nan, 3], [2, 2, np.nan], [5, 1, 0]])
    check_numpy(lambda m, a: getattr(m, name)(a, axis=1), x)
    jax = pytest.importorskip("jax")
    ours = refjax.grad(lambda a: rnp.sum(getattr(rnp, name)(a, axis=1)))(x)
    theirs = jax.grad(lambda a: jax.numpy.sum(getattr(jax.numpy, name)(a, axis=1)))(x)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), equal_nan=True)


NAN_MORE: list[tuple[str, Any, dict[str, Any]]] = [
    ("nanvar", NAN_X, {}),
    ("nanvar", NAN_X, {"axis": 1, "ddof": 1}),
    ("nanvar", NAN_X, {"axis": 0, "keepdims": True}),
    ("nanvar", np.int32([[1, 2], [3, 5]]), {"axis": 0}),
    ("nanvar", NAN_X.astype(np.complex64), {"axis": 1}),
    ("nanvar", NAN_X, {"axis": 1, "where": np.array([True, False, True, True])}),
    ("nanstd", NAN_X, {"axis": 1}),
    ("nanstd", NAN_X, {"axis": 1, "ddof": 2}),
    ("nanargmax", NAN_X, {}),
    ("nanargmax", NAN_X, {"axis": 1}),
    ("nanargmax", NAN_X, {"axis": 0, "keepdims": True}),
    ("nanargmax", np.int32([[1, 7], [3, 5]]), {"axis": 1}),
    ("nanargmin", NAN_X, {"axis": 1}),
    ("nanargmin", NAN_X, {"axis": 0}),
    ("nancumsum", NAN_X, {}),
    ("nancumsum", NAN_X, {"axis": 1}),
    ("nancumsum", np.int8([1, 2, 3]), {}),
    ("nancumprod", NAN_X, {"axis": 0}),
    ("nancumprod", NAN_X, {"axis": 1, "dtype": np.float32}),
]


@pytest.mark.parametrize("name,x,kw", NAN_MORE, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                     enumerate(NAN_MORE)])
def test_more_nan_functions_match_jax(name: str, x: Any, kw: dict[str, Any]) -> None:
    check(lambda m, a: getattr(m, name)(a, **kw), x)


@pytest.mark.parametrize("name", ["nanvar", "nanstd", "nancumsum"])
def test_more_nan_functions_differentiate_as_jax(name: str) -> None:
    x = np.float32([[1, np.nan, 3], [2, 2.5, np.nan], [5, 1, 0]])
    jax = pytest.importorskip("jax")
    ours = refjax.grad(lambda a: rnp.sum(getattr(rnp, name)(a, axis=1)))(x)
    theirs = jax.grad(lambda a: jax.numpy.sum(getattr(jax.numpy, name)(a, axis=1)))(x)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("x", [np.complex64([1, 2j, 3 + 0j, np.nan]), np.float32([1, 2]),
                               np.int32([0, 3])], ids=str)
def test_iscomplex_isreal_match_jax(x: Any) -> None:
    check(lambda m, a: (m.iscomplex(a), m.isreal(a)), x)
