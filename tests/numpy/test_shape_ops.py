"""Shape manipulation, joining, selection and sorting in ``refjax.numpy`` against JAX and numpy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import check, check_numpy

X = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5
I = np.arange(12, dtype=np.int32).reshape(3, 4) - 5  # noqa: E741  # a readable name here
CUBE = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

Case = tuple[str, Callable[..., Any]]

SHAPE_CASES: list[Case] = [
    ("reshape", lambda m: m.reshape(m.asarray(X), (2, 6))),
    ("reshape -1", lambda m: m.reshape(m.asarray(X), (-1, 3))),
    ("reshape F", lambda m: m.reshape(m.asarray(X), (2, 6), order="F")),
    ("reshape int", lambda m: m.reshape(m.asarray(X), 12)),
    ("reshape scalar", lambda m: m.reshape(m.asarray(2.0), (1, 1))),
    ("reshape empty", lambda m: m.reshape(m.zeros((0, 3)), (3, 0))),
    ("reshape bad", lambda m: m.reshape(m.asarray(X), (5, 2))),
    ("reshape two -1", lambda m: m.reshape(m.asarray(X), (-1, -1))),
    ("reshape A", lambda m: m.reshape(m.asarray(X), 12, order="A")),
    ("reshape -1 uneven", lambda m: m.reshape(m.asarray(X), (-1, 5))),
    ("reshape float", lambda m: m.reshape(m.asarray(X), 12.0)),
    ("method reshape", lambda m: m.asarray(X).reshape(4, 3)),
    ("method reshape tuple", lambda m: m.asarray(X).reshape((4, -1))),
    ("ravel", lambda m: m.ravel(X)),
    ("ravel F", lambda m: m.ravel(m.asarray(X), order="F")),
    ("transpose", lambda m: m.transpose(X)),
    ("transpose axes", lambda m: m.transpose(CUBE, (1, -1, 0))),
    ("permute_dims", lambda m: m.permute_dims(CUBE, (2, 0, 1))),
    ("matrix_transpose", lambda m: m.matrix_transpose(CUBE)),
    ("swapaxes", lambda m: m.swapaxes(CUBE, 0, -1)),
    ("moveaxis", lambda m: m.moveaxis(CUBE, 0, -1)),
    ("moveaxis many", lambda m: m.moveaxis(CUBE, (0, 1), (-1, 0))),
    ("squeeze", lambda m: m.squeeze(np.ones((1, 3, 1)))),
    ("squeeze axis", lambda m: m.squeeze(np.ones((1, 3, 1)), -1)),
    ("squeeze bad axis", lambda m: m.squeeze(np.ones((1, 3, 1)), 1)),
    ("expand_dims", lambda m: m.expand_dims(X, (0, -1))),
    ("expand_dims scalar", lambda m: m.expand_dims(2.0, 0)),
    ("broadcast_to", lambda m: m.broadcast_to(X, (2, 3, 4))),
    ("broadcast_to int shape", lambda m: m.broadcast_to(1.0, 3)),
    ("broadcast_to bad", lambda m: m.broadcast_to(X, (4, 4))),
    ("broadcast_arrays", lambda m: m.broadcast_arrays(X, np.ones(4), 2.0)),
    ("atleast_1d", lambda m: m.atleast_1d(1.0)),
    ("atleast_1d many", lambda m: m.atleast_1d(1.0, X)),
    ("atleast_2d", lambda m: m.atleast_2d(np.ones(3))),
    ("atleast_3d", lambda m: m.atleast_3d(X)),
    ("atleast_3d 1d", lambda m: m.atleast_3d(np.ones(3))),
    ("flip", lambda m: m.flip(X)),
    ("flip axis", lambda m: m.flip(CUBE, (0, 2))),
    ("fliplr", lambda m: m.fliplr(X)),
    ("flipud", lambda m: m.flipud(X)),
    ("roll", lambda m: m.roll(X, 1, axis=0)),
    ("roll flat", lambda m: m.roll(X, -3)),
    ("roll many", lambda m: m.roll(X, (1, 2), (0, 1))),
    ("roll big", lambda m: m.roll(X, 7, axis=1)),
    ("tile", lambda m: m.tile(X, (2, 1))),
    ("tile int", lambda m: m.tile(np.arange(3), 2)),
    ("tile more dims", lambda m: m.tile(X, (2, 1, 2))),
    ("repeat", lambda m: m.repeat(X, 2, axis=0)),
    ("repeat flat", lambda m: m.repeat(X, 2)),
    ("repeat counts", lambda m: m.repeat(X, np.array([1, 0, 2]), axis=0)),
    ("repeat scalar", lambda m: m.repeat(2.0, 3)),
    ("tril", lambda m: m.tril(X)),
    ("triu", lambda m: m.triu(X, 1)),
    ("tril 3d", lambda m: m.tril(np.ones((2, 3, 3)), -1)),
    ("triu 1d", lambda m: m.triu(np.ones(3))),
    ("diag of 2d", lambda m: m.diag(X)),
    ("diag of 2d k", lambda m: m.diag(X, 1)),
    ("diag of 2d -k", lambda m: m.diag(X, -1)),
    ("diag of 1d", lambda m: m.diag(np.arange(3.0))),
    ("diag of 1d k", lambda m: m.diag(np.arange(3.0), -1)),
    ("diagonal 3d", lambda m: m.diagonal(CUBE, 1, 1, 2)),
    ("trace", lambda m: m.trace(X)),
    ("pad", lambda m: m.pad(X, 1)),
    ("pad pairs", lambda m: m.pad(X, ((1, 0), (0, 2)), constant_values=7)),
    ("pad int", lambda m: m.pad(I, (2, 1), constant_values=1.5)),
    ("pad edge", lambda m: m.pad(X, 2, mode="edge")),
    ("pad wrap", lambda m: m.pad(X, ((1, 5), (2, 1)), mode="wrap")),
    ("pad scalar", lambda m: m.pad(2.0, 1)),
]

JOIN_CASES: list[Case] = [
    ("concatenate", lambda m: m.concatenate([X, I])),
    ("concatenate axis", lambda m: m.concatenate([X, X], axis=1)),
    ("concatenate negative axis", lambda m: m.concatenate([X, X], axis=-2)),
    ("concatenate None", lambda m: m.concatenate([X, np.ones(2)], axis=None)),
    ("concatenate array", lambda m: m.concatenate(np.ones((2, 3, 4)), axis=1)),
    ("concatenate dtype", lambda m: m.concatenate([I, I], dtype=float)),
    ("concatenate weak", lambda m: m.concatenate([m.array([1.0]), np.ones(1, np.float16)])),
    ("concatenate one", lambda m: m.concatenate([X])),
    ("concatenate empty", lambda m: m.concatenate([])),
    ("concatenate scalars", lambda m: m.concatenate([1.0, 2.0])),
    ("concatenate bad shapes", lambda m: m.concatenate([X, np.ones((2, 3))])),
    ("concat", lambda m: m.concat([X, X])),
    ("stack", lambda m: m.stack([X, X])),
    ("stack axis", lambda m: m.stack([X, X], axis=-1)),
    ("stack scalars", lambda m: m.stack([1.0, 2.0])),
    ("stack array", lambda m: m.stack(np.ones((2, 3)), axis=1)),
    ("stack mixed", lambda m: m.stack([I, X])),
    ("stack bad", lambda m: m.stack([X, X.T])),
    ("vstack", lambda m: m.vstack([np.ones(3), np.zeros(3)])),
    ("hstack", lambda m: m.hstack([X, X])),
    ("hstack 1d", lambda m: m.hstack([np.ones(3), np.zeros(2)])),
    ("dstack", lambda m: m.dstack([X, X])),
    ("column_stack", lambda m: m.column_stack([np.ones(3), np.zeros(3)])),
    ("split", lambda m: m.split(X, 2, axis=1)),
    ("split indices", lambda m: m.split(X, [1, 3], axis=1)),
    ("split uneven", lambda m: m.split(X, 3, axis=1)),
    ("split past end", lambda m: m.split(X, [2, 10])),
    ("array_split", lambda m: m.array_split(X, 3, axis=1)),
    ("vsplit", lambda m: m.vsplit(X, 3)),
    ("hsplit", lambda m: m.hsplit(X, 2)),
    ("hsplit 1d", lambda m: m.hsplit(np.arange(4.0), 2)),
]

SELECT_CASES: list[Case] = [
    ("where", lambda m: m.where(X > 0, X, 0.0)),
    ("where python", lambda m: m.where(True, 1.0, 2)),
    ("where int condition", lambda m: m.where(I, X, I)),
    ("where broadcast", lambda m: m.where(np.array([True, False, True, False]), X,
                                          np.ones((3, 1)))),
    ("where one arg", lambda m: m.where(X > 0)),
    ("where missing y", lambda m: m.where(X > 0, X)),
    ("where empty", lambda m: m.where(np.zeros((0,), bool), 1.0, 2.0)),
    ("nonzero", lambda m: m.nonzero(X > 0)),
    ("nonzero size", lambda m: m.nonzero(X > 0, size=8, fill_value=-1)),
    ("argwhere", lambda m: m.argwhere(X > 0)),
    ("clip", lambda m: m.clip(X, 0, 1)),
    ("clip int", lambda m: m.clip(I, 0.5, 2)),
    ("clip min", lambda m: m.clip(X, min=0.0)),
    ("clip max array", lambda m: m.clip(X, max=np.ones(4, np.float32))),
    ("clip none", lambda m: m.clip(None)),
    ("round", lambda m: m.round(X / 3)),
    ("round decimals", lambda m: m.round(X / 3, 2)),
    ("round negative decimals", lambda m: m.round(X * 7, -1)),
    ("round int", lambda m: m.round(I)),
    ("round halves", lambda m: m.round(np.array([0.5, 1.5, 2.5, -0.5], np.float32))),
    ("around f16", lambda m: m.around(np.float16([1.234, 2.5]), 1)),
    ("isclose", lambda m: m.isclose(X, X + 1e-6)),
    ("isclose nan", lambda m: m.isclose(np.array([np.nan, 1.0, np.inf]),
                                        np.array([np.nan, 1.0, np.inf]), equal_nan=True)),
    ("isclose int", lambda m: m.isclose(I, I + 1, atol=1)),
    ("allclose", lambda m: m.allclose(X, X)),
    ("array_equal", lambda m: m.array_equal(X, X)),
    ("array_equal shapes", lambda m: m.array_equal(X, X[0])),
    ("sort", lambda m: m.sort(X[::-1])),
    ("sort axis0 descending", lambda m: m.sort(X, axis=0, descending=True)),
    ("sort None", lambda m: m.sort(X, axis=None)),
    ("sort nan", lambda m: m.sort(np.array([3.0, np.nan, 1.0, -np.inf], np.float32))),
    ("sort kind", lambda m: m.sort(X, kind="stable")),
    ("argsort", lambda m: m.argsort(np.array([3.0, 1.0, 2.0, 1.0]))),
    ("argsort descending", lambda m: m.argsort(np.array([3.0, 1.0, 2.0, 1.0]), descending=True)),
    ("argsort None", lambda m: m.argsort(X, axis=None)),
    ("argsort axis0", lambda m: m.argsort(-X, axis=0)),
    ("argsort dtype", lambda m: m.argsort(X, dtype=m.int8)),
    ("astype", lambda m: m.asarray(X).astype(m.int32)),
    ("astype weak", lambda m: m.array(1.0).astype(m.float32)),
    ("astype bool", lambda m: m.astype(X, bool)),
    ("astype None", lambda m: m.astype(I, None)),
    ("shape", lambda m: m.asarray(m.shape(X))),
    ("ndim", lambda m: m.asarray(m.ndim(X))),
    ("size", lambda m: m.asarray(m.size(X))),
    ("size axis", lambda m: m.asarray(m.size(X, 1))),
    ("isscalar", lambda m: m.asarray(m.isscalar(2.0))),
    ("iscomplexobj", lambda m: m.asarray(m.iscomplexobj(X))),
]


def _ids(cases: list[Case]) -> list[str]:
    return [name for name, _ in cases]


@pytest.mark.parametrize("name,f", SHAPE_CASES, ids=_ids(SHAPE_CASES))
def test_shape_ops_match_jax(name: str, f: Callable[..., Any]) -> None:
    check(f)


@pytest.mark.parametrize("name,f", JOIN_CASES, ids=_ids(JOIN_CASES))
def test_joining_matches_jax(name: str, f: Callable[..., Any]) -> None:
    check(f)


@pytest.mark.parametrize("name,f", SELECT_CASES, ids=_ids(SELECT_CASES))
def test_selection_matches_jax(name: str, f: Callable[..., Any]) -> None:
    check(f)


NUMPY_CASES: list[Case] = [
    ("reshape", lambda m, a: m.reshape(a, (4, 3))),
    ("transpose", lambda m, a: m.transpose(a)),
    ("moveaxis", lambda m, a: m.moveaxis(a, 0, 1)),
    ("concatenate", lambda m, a: m.concatenate([a, a], axis=1)),
    ("stack", lambda m, a: m.stack([a, a], axis=1)),
    ("tile", lambda m, a: m.tile(a, (2, 3))),
    ("repeat", lambda m, a: m.repeat(a, np.array([2, 0, 1]), axis=0)),
    ("roll", lambda m, a: m.roll(a, (1, -1), (0, 1))),
    ("flip", lambda m, a: m.flip(a)),
    ("pad", lambda m, a: m.pad(a, ((1, 2), (3, 0)))),
    ("pad edge", lambda m, a: m.pad(a, 2, mode="edge")),
    ("pad wrap", lambda m, a: m.pad(a, ((4, 1), (2, 6)), mode="wrap")),
    ("where", lambda m, a: m.where(a > 0, a, -a)),
    ("clip", lambda m, a: m.clip(a, -1, 2)),
    ("sort", lambda m, a: m.sort(a, axis=0)),
    ("argsort", lambda m, a: m.argsort(a, axis=1)),
    ("tril", lambda m, a: m.tril(a, 1)),
    ("triu", lambda m, a: m.triu(a, -1)),
    ("diag", lambda m, a: m.diag(a, 1)),
    ("trace", lambda m, a: m.trace(a)),
    ("split", lambda m, a: m.array_split(a, 3, axis=1)),
    ("round", lambda m, a: m.round(a / 7, 1)),
]


@pytest.mark.parametrize("name,f", NUMPY_CASES, ids=_ids(NUMPY_CASES))
def test_shape_ops_match_numpy(name: str, f: Callable[..., Any]) -> None:
    check_numpy(f, X)


def test_roll_by_a_traced_shift() -> None:
    def f(shift: refjax.Array) -> refjax.Array:
        return rnp.roll(rnp.asarray(X), shift, axis=1)

    for shift in (0, 1, -2, 7):
        assert np.array_equal(np.asarray(f(rnp.int32(shift))), np.roll(X, shift, axis=1))
    refjax.make_jaxpr(f)(np.int32(1))


def test_traced_shape_ops_keep_avals() -> None:
    for name, f in SHAPE_CASES[:20]:
        if any(w in name for w in ("bad", " A", "two", "uneven", "float")):
            continue
        eager = f(rnp)
        jaxpr = refjax.make_jaxpr(lambda f=f: f(rnp))()
        assert jaxpr.out_avals[0].shape == eager.shape


def test_nonzero_needs_concrete_input() -> None:
    with pytest.raises(refjax.errors.ConcretizationTypeError):
        refjax.make_jaxpr(lambda x: rnp.nonzero(x))(X)
