"""dot, matmul, tensordot, inner, outer, vdot and einsum against real JAX and numpy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import refjax.numpy as rnp
from refjax.numpy.einsum import contraction_path, parse_subscripts
from tests.numpy.helpers import assert_values, check, check_numpy

RNG = np.random.default_rng(2)


def rand(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    """Small random values of ``dtype``, the same on every call with the same shape."""
    rng = np.random.default_rng(list(shape))
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 4, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


X = rand(3, 4)
I = rand(3, 4, dtype=np.int32)  # noqa: E741  # a readable name here

Case = tuple[str, Callable[..., Any]]

PRODUCT_CASES: list[Case] = [
    ("dot", lambda m: m.dot(X, X.T)),
    ("dot vectors", lambda m: m.dot(X[0], X[1])),
    ("dot int float", lambda m: m.dot(np.ones(3, np.int32), np.ones(3, np.float32))),
    ("dot bool", lambda m: m.dot(np.ones(3, bool), np.ones(3, bool))),
    ("dot scalar", lambda m: m.dot(X, 2.0)),
    ("dot python scalars", lambda m: m.dot(2, 3.0)),
    ("dot nd", lambda m: m.dot(rand(2, 3, 4), rand(5, 4, 6))),
    ("dot matrix vector", lambda m: m.dot(X, np.ones(4))),
    ("dot preferred", lambda m: m.dot(I, I.T, preferred_element_type=np.float32)),
    ("dot mismatch", lambda m: m.dot(X, X)),
    ("matmul", lambda m: m.matmul(X, X.T)),
    ("matmul batch", lambda m: m.matmul(rand(2, 3, 4), rand(4, 5))),
    ("matmul matrix vector", lambda m: m.matmul(rand(2, 3, 4), np.ones(4))),
    ("matmul vector matrix", lambda m: m.matmul(np.ones(3), rand(2, 3, 4))),
    ("matmul broadcast", lambda m: m.matmul(rand(2, 1, 3, 4), rand(1, 5, 4, 2))),
    ("matmul ones", lambda m: m.matmul(rand(1, 3, 4), rand(1, 4, 2))),
    ("matmul vectors", lambda m: m.matmul(np.ones(3), np.ones(3))),
    ("matmul int", lambda m: m.matmul(I, I.T)),
    ("matmul weak", lambda m: m.matmul(m.array([1.0]), m.array([2.0]))),
    ("matmul scalar", lambda m: m.matmul(X, 2.0)),
    ("matmul bad batch", lambda m: m.matmul(rand(2, 3, 4), rand(3, 4, 5))),
    ("matmul empty", lambda m: m.matmul(np.zeros((2, 0)), np.zeros((0, 3)))),
    ("vdot", lambda m: m.vdot(X, X)),
    ("tensordot", lambda m: m.tensordot(X, X.T, 1)),
    ("tensordot axes", lambda m: m.tensordot(rand(2, 3, 4), rand(4, 3), ((1, 2), (1, 0)))),
    ("tensordot ints", lambda m: m.tensordot(rand(2, 3), rand(3, 2), (1, 0))),
    ("tensordot 0", lambda m: m.tensordot(X, X, 0)),
    ("tensordot default", lambda m: m.tensordot(rand(2, 3, 4), rand(3, 4, 5))),
    ("tensordot too many", lambda m: m.tensordot(X, X, 3)),
    ("inner", lambda m: m.inner(X, X)),
    ("inner scalar", lambda m: m.inner(X, 2)),
    ("outer", lambda m: m.outer(X, np.arange(3.0))),
    ("outer ints", lambda m: m.outer(np.arange(3), np.arange(2))),
]

EINSUM_CASES: list[Case] = [
    ("matmul", lambda m: m.einsum("ij,jk->ik", X, X.T)),
    ("trace", lambda m: m.einsum("ii->", X[:, :3])),
    ("diagonal", lambda m: m.einsum("ii->i", X[:, :3])),
    ("chain of 3", lambda m: m.einsum("ij,jk,kl->il", rand(2, 3), rand(3, 4), rand(4, 5))),
    ("chain of 4", lambda m: m.einsum("ab,bc,cd,de->ae", rand(2, 3), rand(3, 4), rand(4, 5),
                                      rand(5, 6))),
    ("batch", lambda m: m.einsum("bij,bjk->bik", rand(2, 2, 3), rand(2, 3, 4))),
    ("sum", lambda m: m.einsum("ij->j", X)),
    ("sum all", lambda m: m.einsum("ij->", X)),
    ("transpose", lambda m: m.einsum("ij->ji", X)),
    ("outer", lambda m: m.einsum("i,j->ij", np.arange(2.0), np.arange(3.0))),
    ("implicit", lambda m: m.einsum("ij,jk", X, X.T)),
    ("implicit transpose", lambda m: m.einsum("ji", X)),
    ("ellipsis", lambda m: m.einsum("...ij,...jk->...ik", rand(5, 2, 3), rand(3, 4))),
    ("ellipsis implicit", lambda m: m.einsum("...j,j", rand(5, 2, 3), rand(3))),
    ("dot", lambda m: m.einsum("i,i", np.arange(3.0), np.arange(3.0))),
    ("int", lambda m: m.einsum("ij,jk->ik", I, I.T)),
    ("mixed dtypes", lambda m: m.einsum("ij,jk->ik", I, X.T)),
    ("bool", lambda m: m.einsum("ij,jk->ik", I > 1, I.T > 1)),
    ("broadcast size 1", lambda m: m.einsum("ij,ij->ij", np.ones((3, 1)), X)),
    ("repeated and contracted", lambda m: m.einsum("iij,jk->ik", rand(3, 3, 2), rand(2, 4))),
    ("repeated kept", lambda m: m.einsum("iij->ij", rand(3, 3, 2))),
    ("three way", lambda m: m.einsum("i,i,i->", rand(4), rand(4), rand(4))),
    ("hadamard", lambda m: m.einsum("ij,ij->", X, X)),
    ("interleaved", lambda m: m.einsum(X, [0, 1], X, [2, 1], [0, 2])),
    ("preferred", lambda m: m.einsum("ij,jk->ik", I, I.T, preferred_element_type=np.float32)),
    ("python scalar", lambda m: m.einsum(",ij->ij", 2.0, X)),
    ("wrong count", lambda m: m.einsum("ij,jk->ik", X)),
    ("size mismatch", lambda m: m.einsum("ij,jk->ik", X, X)),
]


def _ids(cases: list[Case]) -> list[str]:
    return [name for name, _ in cases]


@pytest.mark.parametrize("name,f", PRODUCT_CASES, ids=_ids(PRODUCT_CASES))
def test_products_match_jax(name: str, f: Callable[..., Any]) -> None:
    check(f, tol=1e-5)


@pytest.mark.parametrize("name,f", EINSUM_CASES, ids=_ids(EINSUM_CASES))
def test_einsum_matches_jax(name: str, f: Callable[..., Any]) -> None:
    check(f, tol=1e-5)


@pytest.mark.parametrize("name", ["dot", "matmul", "inner", "outer", "vdot"])
def test_products_match_numpy(name: str) -> None:
    a, b = (rand(4, 3), rand(3, 5)) if name in ("dot", "matmul") else (rand(3), rand(3))
    check_numpy(lambda m, x, y: getattr(m, name)(x, y), a, b, tol=1e-5)


def test_tensordot_and_einsum_match_numpy() -> None:
    a, b = rand(2, 3, 4), rand(4, 3, 5)
    check_numpy(lambda m, x, y: m.tensordot(x, y, ((1, 2), (1, 0))), a, b, tol=1e-5)
    for spec in ("ijk,kjl->il", "ijk,kjl->li"):
        check_numpy(lambda m, x, y, s=spec: m.einsum(s, x, y), a, b, tol=1e-5)
    check_numpy(lambda m, x: m.einsum("iji->j", x), rand(3, 2, 3), tol=1e-5)


def test_parse_subscripts() -> None:
    assert parse_subscripts("ij,jk", [2, 2]) == (["ij", "jk"], "ik")
    assert parse_subscripts("ba", [2]) == (["ba"], "ab")
    inputs, out = parse_subscripts("...i,i->...", [3, 1])
    assert inputs[0][-1] == "i" and len(inputs[0]) == 3 and out == inputs[0][:2]
    with pytest.raises(ValueError, match="did not appear"):
        parse_subscripts("ij->k", [2])


def test_greedy_path_contracts_the_smallest_result_first() -> None:
    sizes = {"a": 2, "b": 100, "c": 100, "d": 3}
    path = contraction_path(["ab", "bc", "cd"], "ad", sizes)
    assert path[0].inputs in (("bc", "ab"), ("cd", "bc"))
    assert path[-1].result == "ad"


LETTERS = "abcde"


@st.composite
def einsum_problems(draw: st.DrawFn) -> tuple[str, list[np.ndarray]]:
    """A random einsum over 1 to 3 operands with small dimensions."""
    sizes = {c: draw(st.integers(1, 3)) for c in LETTERS}
    n_ops = draw(st.integers(1, 3))
    terms = [draw(st.text(LETTERS, min_size=0, max_size=3)) for _ in range(n_ops)]
    used = sorted(set("".join(terms)))
    out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
    ops = [RNG.standard_normal([sizes[c] for c in t]).astype(np.float32) for t in terms]
    return ",".join(terms) + "->" + out, ops


@given(einsum_problems())
def test_einsum_random_expressions_match_numpy(problem: tuple[str, list[np.ndarray]]) -> None:
    spec, ops = problem
    expected = np.einsum(spec, *[o.astype(np.float64) for o in ops])
    actual = rnp.einsum(spec, *ops)
    assert actual.dtype == np.float32
    assert_values(np.asarray(actual), expected.astype(np.float32), tol=1e-4)
