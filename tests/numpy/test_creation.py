"""Array creation in ``refjax.numpy`` and its dtype helpers, against real JAX and numpy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from refjax.errors import ConcretizationTypeError
from tests.numpy.helpers import assert_values, check, jnp

X = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5

Case = tuple[str, Callable[[Any], Any]]

ARRAY_CASES: list[Case] = [
    ("float", lambda m: m.array(1.0)),
    ("int", lambda m: m.array(1)),
    ("bool", lambda m: m.array(True)),
    ("complex", lambda m: m.array(1 + 2j)),
    ("list float", lambda m: m.array([1.0])),
    ("list mixed", lambda m: m.array([1, 2.0])),
    ("list bool int", lambda m: m.array([True, 2])),
    ("nested", lambda m: m.array([[1, 2], [3, 4]])),
    ("tuple dtype", lambda m: m.array((1, 2, 3), dtype=m.uint8)),
    ("empty list", lambda m: m.array([])),
    ("numpy scalar", lambda m: m.array(np.float64(1))),
    ("numpy array", lambda m: m.array(np.arange(3, dtype=np.int64))),
    ("numpy bool", lambda m: m.array(np.array([True, False]))),
    ("dtype f16", lambda m: m.array(1.0, m.float16)),
    ("dtype int from float", lambda m: m.array(X, dtype=int)),
    ("list of arrays", lambda m: m.array([m.array(1.0), 2.0])),
    ("list of strong arrays", lambda m: m.array([m.ones(2), m.zeros(2)])),
    ("weak array", lambda m: m.array(m.array(1.0))),
    ("asarray weak", lambda m: m.asarray(m.array(1.0))),
    ("asarray list", lambda m: m.asarray([[1.5], [2]])),
    ("asarray dtype", lambda m: m.asarray(3, dtype=m.float32)),
    ("ndmin", lambda m: m.array(3.0, ndmin=2)),
    ("ndmin list", lambda m: m.array([1, 2], ndmin=3)),
    ("ragged", lambda m: m.array([[1, 2], [3]])),
    ("none", lambda m: m.array([1, None])),
    ("copy", lambda m: m.copy(X)),
    ("big int", lambda m: m.asarray(2**40)),
    ("scalar type float32", lambda m: m.float32(1.0)),
    ("scalar type list", lambda m: m.float32([1, 2])),
    ("scalar type int32", lambda m: m.int32(3.7)),
    ("scalar type bool", lambda m: m.bool_(1)),
    ("scalar type uint8", lambda m: m.uint8(np.array([1, 2]))),
    ("scalar type of array", lambda m: m.float16(m.arange(3))),
]

FILLED_CASES: list[Case] = [
    ("zeros", lambda m: m.zeros(3)),
    ("zeros int", lambda m: m.zeros((2, 3), int)),
    ("zeros scalar", lambda m: m.zeros(())),
    ("ones", lambda m: m.ones((2,), m.int8)),
    ("ones bool", lambda m: m.ones(2, bool)),
    ("empty", lambda m: m.empty((2, 0))),
    ("full float", lambda m: m.full(3, 1.0)),
    ("full int", lambda m: m.full((2, 2), 7)),
    ("full dtype", lambda m: m.full((2, 2), 7, dtype=float)),
    ("full array", lambda m: m.full((2, 3), np.array([1.0, 2.0, 3.0]))),
    ("full weak array", lambda m: m.full(3, m.array(1.0))),
    ("full strong scalar", lambda m: m.full(3, np.float16(1.0))),
    ("full list", lambda m: m.full(3, [1.0])),
    ("full_like", lambda m: m.full_like(np.ones(3, np.int32), 1.5)),
    ("full_like dtype", lambda m: m.full_like(X, 2, dtype=m.int8)),
    ("ones_like weak", lambda m: m.ones_like(m.array(1.0))),
    ("zeros_like python", lambda m: m.zeros_like(2.0)),
    ("zeros_like shape", lambda m: m.zeros_like(X, shape=(2,))),
    ("ones_like dtype", lambda m: m.ones_like(X, dtype=int)),
    ("empty_like", lambda m: m.empty_like(X)),
]

RANGE_CASES: list[Case] = [
    ("arange stop", lambda m: m.arange(5)),
    ("arange float stop", lambda m: m.arange(5.0)),
    ("arange step", lambda m: m.arange(1, 5, 2)),
    ("arange float step", lambda m: m.arange(0, 1, 0.25)),
    ("arange start stop", lambda m: m.arange(2, 7)),
    ("arange negative step", lambda m: m.arange(5, 1, -1)),
    ("arange f16", lambda m: m.arange(0, 3, 0.5, dtype=m.float16)),
    ("arange empty", lambda m: m.arange(3, 1)),
    ("arange numpy", lambda m: m.arange(np.int32(4))),
    ("arange array", lambda m: m.arange(m.array(4))),
    ("arange dtype", lambda m: m.arange(4, dtype=m.float32)),
    ("arange uint8", lambda m: m.arange(1, 9, 3, dtype=m.uint8)),
    ("arange 2d", lambda m: m.arange(np.ones(2))),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("linspace int", lambda m: m.linspace(0, 10, 5, dtype=int)),
    ("linspace no endpoint", lambda m: m.linspace(0, 1, 4, endpoint=False)),
    ("linspace retstep", lambda m: m.linspace(0, 1, 5, retstep=True)),
    ("linspace one", lambda m: m.linspace(2.0, 3.0, 1)),
    ("linspace one retstep", lambda m: m.linspace(2.0, 3.0, 1, retstep=True)),
    ("linspace zero", lambda m: m.linspace(2.0, 3.0, 0)),
    ("linspace arrays", lambda m: m.linspace(np.zeros(2), np.ones(2), 3, axis=-1)),
    ("linspace arrays axis0", lambda m: m.linspace(np.zeros((2, 1)), np.ones(3), 4)),
    ("linspace negative num", lambda m: m.linspace(0, 1, -1)),
    ("eye", lambda m: m.eye(3)),
    ("eye k", lambda m: m.eye(3, 4, k=1)),
    ("eye negative k", lambda m: m.eye(4, 3, k=-2, dtype=int)),
    ("eye bool", lambda m: m.eye(2, dtype=bool)),
    ("identity", lambda m: m.identity(2, int)),
    ("tri", lambda m: m.tri(3, 4, 1)),
    ("tri dtype", lambda m: m.tri(3, dtype=int)),
]


def _case_ids(cases: list[Case]) -> list[str]:
    return [name for name, _ in cases]


@pytest.mark.parametrize("name,f", ARRAY_CASES, ids=_case_ids(ARRAY_CASES))
def test_array_matches_jax(name: str, f: Callable[[Any], Any]) -> None:
    check(f)


@pytest.mark.parametrize("name,f", FILLED_CASES, ids=_case_ids(FILLED_CASES))
def test_filled_matches_jax(name: str, f: Callable[[Any], Any]) -> None:
    check(f)


@pytest.mark.parametrize("name,f", RANGE_CASES, ids=_case_ids(RANGE_CASES))
def test_ranges_match_jax(name: str, f: Callable[[Any], Any]) -> None:
    check(f)


def test_ranges_match_numpy() -> None:
    assert_values(np.asarray(rnp.arange(0, 1, 0.1)), np.arange(0, 1, 0.1, dtype=np.float32))
    assert_values(np.asarray(rnp.linspace(-1, 3, 7)), np.linspace(-1, 3, 7, dtype=np.float32))
    assert_values(np.asarray(rnp.eye(3, 5, 2)), np.eye(3, 5, 2, dtype=np.float32))
    assert_values(np.asarray(rnp.tri(4, 3, -1)), np.tri(4, 3, -1, dtype=np.float32))


def test_array_passes_tracers_through() -> None:
    def f(x: refjax.Array) -> refjax.Array:
        return rnp.array([x, 2 * x])

    jaxpr = refjax.make_jaxpr(f)(np.float32(1.0))
    assert jaxpr.out_avals[0].shape == (2,)
    assert np.asarray(f(rnp.float32(1.5))).tolist() == [1.5, 3.0]
    traced = refjax.make_jaxpr(lambda x: rnp.asarray(x))(X)
    assert not traced.eqns


def test_arange_needs_concrete_arguments() -> None:
    with pytest.raises(ConcretizationTypeError, match=r"jnp\.arange argument 'stop'"):
        refjax.make_jaxpr(lambda n: rnp.arange(n))(3)


def test_scalar_types_are_dtypes() -> None:
    assert rnp.float32 == np.float32 and hash(rnp.float32) == hash(np.float32)
    assert np.dtype(rnp.float32) == np.float32
    assert rnp.dtype(rnp.int8) == np.int8 and rnp.dtype("float32") == np.float32
    assert isinstance(np.float32(1), rnp.float32)
    assert not isinstance(np.float64(1), rnp.float32)
    assert rnp.zeros(2, rnp.bool_).dtype == np.bool_
    assert rnp.bool is rnp.bool_
    assert rnp.issubdtype(rnp.float32, rnp.floating)
    assert rnp.issubdtype(np.int8, rnp.integer) and not rnp.issubdtype(np.int8, rnp.inexact)
    assert isinstance(rnp.float32(1.0), rnp.ndarray)
    assert rnp.ndarray is refjax.Array


def test_dtype_helpers_match_jax() -> None:
    for a, b in [(np.int32, np.float16), (np.uint8, np.int8), (bool, np.int16),
                 (np.float16, np.float32), (int, np.int8), (float, np.float16)]:
        assert rnp.promote_types(a, b) == jnp.promote_types(a, b)
    for args in [(1, 2.0), (np.int8(1), 2), (np.ones(2, np.float16), 1.0), (True, False)]:
        assert rnp.result_type(*args) == jnp.result_type(*args)
    assert rnp.finfo(rnp.float32).eps == jnp.finfo(jnp.float32).eps
    assert rnp.iinfo(rnp.int8).max == 127
    assert rnp.isdtype(np.float32, "real floating")
    assert rnp.isdtype(np.int8, ("bool", "integral")) and not rnp.isdtype(np.int8, "bool")
    assert rnp.can_cast(np.int8, np.int32) and not rnp.can_cast(np.float32, np.int32)


def test_constants() -> None:
    assert rnp.pi == jnp.pi and rnp.e == jnp.e
    assert rnp.inf == jnp.inf and np.isnan(rnp.nan)
    assert rnp.newaxis is None


def test_x64_creation(x64: None) -> None:
    for f in (lambda m: m.array(1.0), lambda m: m.array([1, 2]), lambda m: m.arange(3),
              lambda m: m.zeros(2), lambda m: m.linspace(0, 1, 3), lambda m: m.eye(2),
              lambda m: m.asarray(2**40), lambda m: m.full(2, 3), lambda m: m.float32(1)):
        check(f)
