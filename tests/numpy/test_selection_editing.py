"""Partial sorts and selections (``partition``, ``argpartition``, ``lexsort``,
``sort_complex``, ``flatnonzero``, ``extract``, ``compress``, ``choose``) and editing
(``delete``, ``insert``, ``place``, ``put``, ``put_along_axis``, ``fill_diagonal``,
``trim_zeros``, ``resize``, ``rollaxis``, ``diagflat``) against ``jax.numpy``: values, dtypes,
edge cases and errors, the ``size`` forms under ``jit``, gradients, ``vmap`` and the named
calls of the jaxprs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.numpy.missing_a_support import (
    check,
    check_calls,
    check_grad,
    check_jit,
    check_vmap,
)
from tests.oracle import enable_x64

I = np.array([3, 1, 2, 3, 1, 5], np.int32)  # noqa: E741
U = I.astype(np.uint8)
X = np.arange(12.0, dtype=np.float32).reshape(3, 4) % 5
V = np.array([0.5, 1.5, 2.5, 4.0], np.float32)
S3 = np.arange(27.0, dtype=np.float32).reshape(3, 3, 3)
NAN = np.array([3.0, np.nan, 1, 2, np.nan, -np.inf, 1, -0.0, 0.0], np.float32)
IDX = np.array([0, 2], np.int32)
PADDED = np.pad(X, 1)

Case = tuple[str, Any, tuple[Any, ...]]

SELECTION: list[Case] = [
    ("partition", lambda m, a: m.partition(a, 2), (X,)),
    ("partition axis 0 kth -1", lambda m, a: m.partition(a, -1, axis=0), (X,)),
    ("partition uint8", lambda m, a: m.partition(a, 2), (U,)),
    ("partition int kth 0", lambda m, a: m.partition(a, 0), (I,)),
    ("partition nan", lambda m, a: m.partition(a, 3), (NAN,)),
    ("partition bool", lambda m, a: m.partition(a, 0), (I > 2,)),
    ("partition complex", lambda m, a: m.partition(a, 0), (X.astype(np.complex64),)),
    ("partition kth out of range", lambda m, a: m.partition(a, 7), (I,)),
    ("argpartition", lambda m, a: m.argpartition(a, 2), (X,)),
    ("argpartition axis 0", lambda m, a: m.argpartition(a, 1, axis=0), (X,)),
    ("argpartition uint8 ties", lambda m, a: m.argpartition(a, 3), (U,)),
    ("argpartition 3d", lambda m, a: m.argpartition(a, 1, axis=1), (X.reshape(3, 2, 2),)),
    ("argpartition nan", lambda m, a: m.argpartition(a, 3), (NAN,)),
    ("lexsort", lambda m, a, b: m.lexsort((a, b)), (I, I[::-1])),
    ("lexsort array", lambda m, a: m.lexsort(a), (X,)),
    ("lexsort axis 0", lambda m, a: m.lexsort([a, a], axis=0), (X,)),
    ("lexsort nan", lambda m, a: m.lexsort([a]), (NAN,)),
    ("lexsort 0-d", lambda m, a: m.lexsort([a]), (X[0, 0],)),
    ("lexsort no keys", lambda m: m.lexsort([]), ()),
    ("lexsort shapes", lambda m, a: m.lexsort([a, a[:2]]), (I,)),
    ("sort_complex", lambda m, a: m.sort_complex(a), (X,)),
    ("sort_complex int", lambda m, a: m.sort_complex(a), (I,)),
    ("sort_complex complex", lambda m, a: m.sort_complex(a),
     (np.array([1 + 2j, 1 - 1j, -3j], np.complex64),)),
    ("sort_complex float16", lambda m, a: m.sort_complex(a), (V.astype(np.float16),)),
    ("sort_complex nan", lambda m, a: m.sort_complex(a), (NAN,)),
    ("flatnonzero", lambda m, a: m.flatnonzero(a), (X,)),
    ("flatnonzero size fill", lambda m, a: m.flatnonzero(a, size=14, fill_value=-1), (X,)),
    ("flatnonzero size short", lambda m, a: m.flatnonzero(a, size=3), (X,)),
    ("flatnonzero bad fill", lambda m, a: m.flatnonzero(a, size=3, fill_value=IDX), (X,)),
    ("extract", lambda m, c, a: m.extract(c, a), (X > 2, X)),
    ("extract size", lambda m, c, a: m.extract(c, a, size=5, fill_value=-1.5), (X > 2, X)),
    ("compress", lambda m, c, a: m.compress(c, a, axis=1), (np.array([True, False, True]), X)),
    ("compress flat", lambda m, c, a: m.compress(c, a), (np.array([True, False, True]), X)),
    ("compress int condition", lambda m, c, a: m.compress(c, a, axis=0), (np.array([0, 2]), X)),
    ("compress size", lambda m, c, a: m.compress(c, a, axis=0, size=2, fill_value=9),
     (np.array([False, True]), X)),
    ("compress size too big", lambda m, c, a: m.compress(c, a, axis=0, size=5),
     (np.array([False, True]), X)),
    ("compress out of bounds", lambda m, c, a: m.compress(c, a, axis=0),
     (np.array([False, True, True, True]), X)),
    ("compress 2d condition", lambda m, c, a: m.compress(c, a, axis=0), (X > 1, X)),
    ("choose", lambda m, a, c: m.choose(a, c), (np.array([0, 1, 2, 1]), X)),
    ("choose list", lambda m, a, c: m.choose(a, [c[0], c[1]]), (np.array([[0], [1]]), X)),
    ("choose invalid", lambda m, a, c: m.choose(a, c), (np.array([0, 1, 3, 1]), X)),
    ("choose clip", lambda m, a, c: m.choose(a, c, mode="clip"), (np.array([0, -1, 3, 1]), X)),
    ("choose wrap", lambda m, a, c: m.choose(a, c, mode="wrap"), (np.array([0, -1, 3, 1]), X)),
    ("choose bad mode", lambda m, a, c: m.choose(a, c, mode="x"), (IDX, X)),
    ("choose float", lambda m, a, c: m.choose(a, c), (np.array([0.0, 1.0]), X)),
]

EDITING: list[Case] = [
    ("delete index", lambda m, a: m.delete(a, 1, axis=1), (X,)),
    ("delete negative index", lambda m, a: m.delete(a, -1), (X,)),
    ("delete index out of range", lambda m, a: m.delete(a, 9, axis=1), (X,)),
    ("delete array", lambda m, a, i: m.delete(a, i, axis=1), (X, IDX)),
    ("delete duplicates", lambda m, a, i: m.delete(a, i, axis=0), (X, np.array([0, 0, -1]))),
    ("delete unique indices", lambda m, a, i: m.delete(a, i, 1, assume_unique_indices=True),
     (X, IDX)),
    ("delete unique out of range", lambda m, a, i: m.delete(a, i, assume_unique_indices=True),
     (X, np.array([-1, 3, 20]))),
    ("delete slice", lambda m, a: m.delete(a, slice(1, 3), axis=1), (X,)),
    ("delete slice step", lambda m, a: m.delete(a, slice(None, None, 2)), (X,)),
    ("delete mask", lambda m, a, i: m.delete(a, i, axis=0), (X, np.array([True, False, True]))),
    ("delete bad mask", lambda m, a, i: m.delete(a, i, axis=0), (X, np.array([True, False]))),
    ("delete float", lambda m, a, i: m.delete(a, i, axis=0), (X, np.array([1.0]))),
    ("delete list", lambda m, a: m.delete(a, [1], axis=0), (X,)),
    ("delete 0-d", lambda m, a: m.delete(a, 0), (np.float32(3),)),
    ("insert", lambda m, a, i: m.insert(a, i, 7.0, axis=1), (X, IDX)),
    ("insert at index", lambda m, a: m.insert(a, 1, V[:3], axis=1), (X,)),
    ("insert flat", lambda m, a: m.insert(a, 3, V), (X,)),
    ("insert rows", lambda m, a, i: m.insert(a, i, V[:2], axis=0), (X[:, :2], IDX)),
    ("insert slice", lambda m, a: m.insert(a, slice(0, 4, 2), 1, axis=1), (X,)),
    ("insert negative", lambda m, a: m.insert(a, -1, 5), (I,)),
    ("insert cast", lambda m, a: m.insert(a, 2, 2.7), (I,)),
    ("insert empty obj", lambda m, a: m.insert(a, np.array([]), 5), (I,)),
    ("insert 2d obj", lambda m, a: m.insert(a, np.ones((2, 2), int), 5), (I,)),
    ("insert float obj", lambda m, a: m.insert(a, np.ones(2), 5), (I,)),
    ("insert 0-d", lambda m, a: m.insert(a, 0, 1.0), (np.float32(3),)),
    ("place", lambda m, a, k: m.place(a, k, V, inplace=False), (X, X > 2)),
    ("place inplace", lambda m, a, k: m.place(a, k, V), (X, X > 2)),
    ("place sizes", lambda m, a, k: m.place(a, k, V, inplace=False), (X, V > 2)),
    ("place no values", lambda m, a, k: m.place(a, k, V[:0], inplace=False), (X, X > 2)),
    ("place empty", lambda m, a, k: m.place(a, k, V, inplace=False), (X[:0], X[:0] > 2)),
    ("put", lambda m, a, i: m.put(a, i, V[:2], inplace=False), (X, IDX)),
    ("put out of range", lambda m, a, i: m.put(a, i, V, inplace=False),
     (X, np.array([0, 20, -1, 5]))),
    ("put clip", lambda m, a, i: m.put(a, i, V, mode="clip", inplace=False),
     (X, np.array([0, 20, -1, 5]))),
    ("put wrap", lambda m, a, i: m.put(a, i, V, mode="wrap", inplace=False),
     (X, np.array([0, 20, -1, 5]))),
    ("put raise", lambda m, a, i: m.put(a, i, V, mode="raise", inplace=False), (X, IDX)),
    ("put bad mode", lambda m, a, i: m.put(a, i, V, mode="x", inplace=False), (X, IDX)),
    ("put inplace", lambda m, a, i: m.put(a, i, V), (X, IDX)),
    ("put repeats values", lambda m, a, i: m.put(a, i, 3, inplace=False),
     (X, np.array([1, 2, 3]))),
    ("put_along_axis", lambda m, a, i: m.put_along_axis(a, i, 9.0, 1, inplace=False),
     (X, np.zeros((3, 1), np.int32))),
    ("put_along_axis axis -2", lambda m, a, i: m.put_along_axis(a, i, V, -2, inplace=False),
     (X[:2], np.array([[1, 0, 1, 0]]))),
    ("put_along_axis flat", lambda m, a, i: m.put_along_axis(a, i, 9.0, None, inplace=False),
     (X, IDX)),
    ("put_along_axis ndim", lambda m, a, i: m.put_along_axis(a, i, 9.0, 0, inplace=False),
     (X, IDX)),
    ("put_along_axis values", lambda m, a, i, w: m.put_along_axis(a, i, w, 1, inplace=False),
     (X, np.zeros((3, 1), np.int32), V)),
    ("put_along_axis inplace", lambda m, a, i: m.put_along_axis(a, i, 9.0, 1),
     (X, np.zeros((3, 1), np.int32))),
    ("fill_diagonal", lambda m, a: m.fill_diagonal(a, V, inplace=False), (X,)),
    ("fill_diagonal scalar", lambda m, a: m.fill_diagonal(a, 3, inplace=False), (X.T,)),
    ("fill_diagonal 3d", lambda m, a: m.fill_diagonal(a, V[:2], inplace=False), (S3,)),
    ("fill_diagonal uneven 3d", lambda m, a: m.fill_diagonal(a, 0, inplace=False), (S3[:2],)),
    ("fill_diagonal 1d", lambda m, a: m.fill_diagonal(a, 0, inplace=False), (V,)),
    ("fill_diagonal wrap", lambda m, a: m.fill_diagonal(a, 0, wrap=True, inplace=False), (X,)),
    ("fill_diagonal inplace", lambda m, a: m.fill_diagonal(a, 0), (X,)),
    ("trim_zeros", lambda m, a: m.trim_zeros(a), (np.array([0, 0, 1, 0, 2, 0], np.float32),)),
    ("trim_zeros front", lambda m, a: m.trim_zeros(a, "f"), (np.array([0, 1, 0, 2, 0]),)),
    ("trim_zeros back", lambda m, a: m.trim_zeros(a, "B"), (np.array([0, 1, 0, 2, 0]),)),
    ("trim_zeros neither", lambda m, a: m.trim_zeros(a, ""), (np.array([0, 1, 0]),)),
    ("trim_zeros all zero", lambda m, a: m.trim_zeros(a), (np.zeros(4, np.float32),)),
    ("trim_zeros 2d", lambda m, a: m.trim_zeros(a), (PADDED,)),
    ("trim_zeros 2d axis", lambda m, a: m.trim_zeros(a, axis=-1), (PADDED,)),
    ("trim_zeros 2d axes", lambda m, a: m.trim_zeros(a, axis=(0,)), (PADDED,)),
    ("trim_zeros repeated axes", lambda m, a: m.trim_zeros(a, axis=(0, 0)), (PADDED,)),
    ("resize", lambda m, a: m.resize(a, (5, 5)), (X,)),
    ("resize int", lambda m, a: m.resize(a, 5), (X,)),
    ("resize to empty", lambda m, a: m.resize(a, (2, 0)), (X,)),
    ("resize from empty", lambda m, a: m.resize(a, (2, 3)), (X[:0],)),
    ("resize negative", lambda m, a: m.resize(a, (2, -3)), (X,)),
    ("rollaxis", lambda m, a: m.rollaxis(a, 1), (X,)),
    ("rollaxis to end", lambda m, a: m.rollaxis(a, 0, 3), (S3,)),
    ("rollaxis negative", lambda m, a: m.rollaxis(a, -1, -2), (S3,)),
    ("rollaxis bad start", lambda m, a: m.rollaxis(a, 0, 5), (S3,)),
    ("diagflat", lambda m, a: m.diagflat(a), (V,)),
    ("diagflat k", lambda m, a: m.diagflat(a, 2), (X[:2, :2],)),
    ("diagflat negative k", lambda m, a: m.diagflat(a, -1), (I,)),
    ("diagflat scalar", lambda m: m.diagflat(3.0, 1), ()),
]

ALL = SELECTION + EDITING


@pytest.mark.parametrize("case", ALL, ids=[c[0] for c in ALL])
def test_matches_jax(case: Case) -> None:
    _, f, args = case
    check(f, *args)


X64 = [c for c in ALL if c[0] in ("lexsort", "argpartition nan", "flatnonzero size fill",
                                  "delete unique indices", "insert", "put", "fill_diagonal")]


@pytest.mark.parametrize("case", X64, ids=[c[0] for c in X64])
def test_matches_jax_in_x64(case: Case) -> None:
    _, f, args = case
    with enable_x64():
        check(f, *args)


JIT: list[Case] = [
    *(c for c in ALL if c[0] in ("partition", "argpartition", "lexsort", "sort_complex",
                                  "flatnonzero size fill", "extract size", "compress size",
                                  "choose clip", "choose wrap", "delete index",
                                  "delete unique indices", "delete slice", "insert",
                                  "insert at index", "place", "put", "put clip",
                                  "put_along_axis", "fill_diagonal", "resize", "rollaxis",
                                  "diagflat")),
    ("flatnonzero no size", lambda m, a: m.flatnonzero(a), (X,)),
    ("extract no size", lambda m, c, a: m.extract(c, a), (X > 2, X)),
    ("compress no size", lambda m, c, a: m.compress(c, a), (X[0] > 2, X)),
    ("choose raise", lambda m, a, c: m.choose(a, c), (IDX, X)),
    ("delete traced indices", lambda m, a, i: m.delete(a, i), (X, IDX)),
    ("delete traced index", lambda m, a, i: m.delete(a, i[0]), (X, IDX)),
    ("trim_zeros", lambda m, a: m.trim_zeros(a), (V,)),
]


@pytest.mark.parametrize("case", JIT, ids=[c[0] for c in JIT])
def test_under_jit(case: Case) -> None:
    """The size forms work under jit; data-dependent shapes fail as in JAX."""
    _, f, args = case
    check_jit(f, *args)


GRADS: list[Case] = [
    ("partition", lambda m, a: m.partition(a, 1) * m.arange(4.0), (X,)),
    ("argpartition", lambda m, a: m.argpartition(a, 1) * a, (X,)),
    ("lexsort", lambda m, a: a[m.lexsort(a)], (X,)),
    ("sort_complex", lambda m, a: m.real(m.sort_complex(a)) * m.arange(4.0), (X,)),
    ("extract", lambda m, a: m.extract(a > 1, a), (X,)),
    ("extract size", lambda m, a: m.extract(a > 1, a, size=4), (X,)),
    ("compress size", lambda m, a: m.compress(np.array([True, False, True]), a, 0, size=2),
     (X,)),
    ("choose", lambda m, a: m.choose(np.array([0, 1, 2, 0]), a, mode="wrap"), (X,)),
    ("delete", lambda m, a: m.delete(a, np.array([1, 0]), 1, assume_unique_indices=True), (X,)),
    ("delete duplicates", lambda m, a: m.delete(a, np.array([0, 0, 2])), (X,)),
    ("insert array", lambda m, a, b: m.insert(a, np.array([1, 3]), b[:2], axis=1), (X, V)),
    ("insert values", lambda m, b, a: m.insert(a, np.array([1, 3]), b[:2], axis=1), (V, X)),
    ("place", lambda m, a, b: m.place(a, a > 1, b, inplace=False), (X, V)),
    ("put", lambda m, a, b: m.put(a, np.array([0, 5, 0]), b[:3], inplace=False), (X, V)),
    ("put_along_axis", lambda m, a, b: m.put_along_axis(a, np.array([[0], [1], [2]]),
                                                        b[:3, None], 1, inplace=False), (X, V)),
    ("fill_diagonal", lambda m, a, b: m.fill_diagonal(a, b, inplace=False), (X, V)),
    ("trim_zeros", lambda m, a: m.trim_zeros(a), (np.array([0.0, 1, 2, 0], np.float32),)),
    ("resize", lambda m, a: m.resize(a, (4, 5)), (X,)),
    ("rollaxis", lambda m, a: m.rollaxis(a, 1) * m.arange(3.0), (X,)),
    ("diagflat", lambda m, a: m.diagflat(a, -1) * m.arange(25.0).reshape(5, 5), (V,)),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case: Case) -> None:
    _, f, args = case
    check_grad(f, *args)


BATCH = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) % 5 - 1
VMAPS: list[Case] = [
    ("partition", lambda m, a: m.partition(a, 1, axis=0), (BATCH,)),
    ("argpartition", lambda m, a: m.argpartition(a, 2), (BATCH,)),
    ("lexsort", lambda m, a: m.lexsort(a), (BATCH,)),
    ("flatnonzero", lambda m, a: m.flatnonzero(a, size=5, fill_value=-1), (BATCH,)),
    ("compress", lambda m, a: m.compress(np.array([True, False, True]), a, 0, size=2), (BATCH,)),
    ("choose", lambda m, i, a: m.choose(i, a, mode="clip"),
     (np.array([[0, 1, 2, 5], [2, 1, 0, -1]]), BATCH)),
    ("delete", lambda m, a: m.delete(a, np.array([1, 0]), 1, assume_unique_indices=True),
     (BATCH,)),
    ("insert", lambda m, a: m.insert(a, np.array([1, 3]), 0.5, axis=1), (BATCH,)),
    ("place", lambda m, a: m.place(a, a > 0, V, inplace=False), (BATCH,)),
    ("put", lambda m, a, i: m.put(a, i, V[:2], inplace=False), (BATCH, np.array([[0, 3], [5, 5]]))),
    ("put_along_axis", lambda m, a: m.put_along_axis(a, np.array([[0], [1], [2]]), 9.0, 1,
                                                     inplace=False), (BATCH,)),
    ("fill_diagonal", lambda m, a: m.fill_diagonal(a, 7.0, inplace=False), (BATCH,)),
    ("resize", lambda m, a: m.resize(a, (5, 3)), (BATCH,)),
    ("diagflat", lambda m, a: m.diagflat(a, 1), (BATCH,)),
]


@pytest.mark.parametrize("case", VMAPS, ids=[c[0] for c in VMAPS])
def test_vmap_matches_jax_and_a_loop(case: Case) -> None:
    _, f, args = case
    check_vmap(f, *args)


CALLS = [c for c in ALL if c[2] and c[0] not in ("flatnonzero", "extract", "compress",
                                                 "compress flat", "compress int condition",
                                                 "compress out of bounds")]


@pytest.mark.parametrize("case", CALLS, ids=[c[0] for c in CALLS])
def test_calls_as_jax(case: Case) -> None:
    """``partition``, ``argpartition``, ``lexsort``, ``sort_complex``, ``resize``,
    ``rollaxis``, ``put_along_axis`` are calls; the others' bodies call ``clip``, ``sort``,
    ``argsort``, ``cumsum``, ``divmod``, ``_where`` ... as JAX's do."""
    _, f, args = case
    check_calls(f, *args)


UNDER = ["partition", "argpartition", "sort_complex", "insert", "put", "put_along_axis",
         "fill_diagonal", "resize", "rollaxis", "compress size", "delete unique indices"]


@pytest.mark.parametrize("how", ["grad", "vmap"])
@pytest.mark.parametrize("case", [c for c in ALL if c[0] in UNDER],
                         ids=[c[0] for c in ALL if c[0] in UNDER])
def test_calls_as_jax_under_transformations(case: Case, how: str) -> None:
    _, f, args = case
    if how == "grad":
        check_calls(lambda m, a, *rest: m.real(f(m, a, *rest)), *args,
                    transform=lambda m, g: m.grad(lambda *a: m.numpy.sum(g(*a))))
    else:
        check_calls(f, *(np.stack([a, a]) for a in args), transform=lambda m, g: m.vmap(g))
