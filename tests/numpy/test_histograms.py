"""``bincount``, ``digitize``, ``histogram_bin_edges``, ``histogram``, ``histogram2d`` and
``histogramdd`` against ``jax.numpy``: values and dtypes (weights, densities, ranges, edges
given as arrays, NaNs, empty inputs, 64-bit mode), ``bincount``'s static ``length`` under
``jit``, errors, gradients, ``vmap`` and the named calls (``searchsorted``'s body aside)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
from tests.numpy.helpers import assert_same
from tests.numpy.missing_a_support import (
    check,
    check_calls,
    check_grad,
    check_jit,
    check_vmap,
)
from tests.oracle import enable_x64, jax

I = np.array([3, 1, 2, 3, 1, 5], np.int32)  # noqa: E741
X = np.arange(12.0, dtype=np.float32).reshape(3, 4) % 5
V = np.array([0.5, 1.5, 2.5, 4.0], np.float32)
NAN = np.array([3.0, np.nan, 1, 2, -np.inf, 1, -0.0, 0.0, np.inf], np.float32)

Case = tuple[str, Any, tuple[Any, ...]]

CASES: list[Case] = [
    ("bincount", lambda m, a: m.bincount(a), (I,)),
    ("bincount weights minlength", lambda m, a, w: m.bincount(a, w, minlength=9), (I, X[0, :1]
                                                                                   .repeat(6))),
    ("bincount length negative", lambda m, a: m.bincount(a, length=4), (I - 2,)),
    ("bincount bool", lambda m, a: m.bincount(a), (I > 2,)),
    ("bincount empty", lambda m, a: m.bincount(a), (I[:0],)),
    ("bincount empty minlength", lambda m, a: m.bincount(a, minlength=3), (I[:0],)),
    ("bincount uint8", lambda m, a: m.bincount(a, length=7), (I.astype(np.uint8),)),
    ("bincount float", lambda m, a: m.bincount(a), (V,)),
    ("bincount 2d", lambda m, a: m.bincount(a), (X.astype(np.int32),)),
    ("bincount weights shape", lambda m, a, w: m.bincount(a, w), (I, V)),
    ("digitize", lambda m, a, b: m.digitize(a, b), (X, V)),
    ("digitize right", lambda m, a, b: m.digitize(a, b, right=True), (X, V)),
    ("digitize decreasing", lambda m, a, b: m.digitize(a, b), (X, V[::-1])),
    ("digitize decreasing right", lambda m, a, b: m.digitize(a, b, True), (X, V[::-1])),
    ("digitize int", lambda m, a, b: m.digitize(a, b), (I, np.array([1, 3]))),
    ("digitize nan", lambda m, a, b: m.digitize(a, b), (NAN, V)),
    ("digitize no bins", lambda m, a, b: m.digitize(a, b), (X, V[:0])),
    ("digitize method", lambda m, a, b: m.digitize(a, b, method="compare_all"), (X, V)),
    ("digitize 2d bins", lambda m, a, b: m.digitize(a, b), (X, X)),
    ("histogram", lambda m, a: m.histogram(a), (X,)),
    ("histogram bins range", lambda m, a: m.histogram(a, bins=3, range=(0, 3)), (X,)),
    ("histogram edges", lambda m, a, b: m.histogram(a, bins=b), (X, V)),
    ("histogram weights density", lambda m, a, w: m.histogram(a, 4, weights=w, density=True),
     (X, X + 1)),
    ("histogram int", lambda m, a: m.histogram(a, bins=4), (I,)),
    ("histogram constant", lambda m, a: m.histogram(a, bins=4), (np.ones(3, np.float32),)),
    ("histogram nan", lambda m, a: m.histogram(a, bins=3, range=(0, 3)), (NAN,)),
    ("histogram weights shape", lambda m, a, w: m.histogram(a, weights=w), (X, V)),
    ("histogram list bins", lambda m, a: m.histogram(a, bins=[0, 1, 2]), (X,)),
    ("histogram_bin_edges", lambda m, a: m.histogram_bin_edges(a, 5), (X,)),
    ("histogram_bin_edges int range", lambda m, a: m.histogram_bin_edges(a, 2, (1, 4)), (I,)),
    ("histogram_bin_edges string", lambda m, a: m.histogram_bin_edges(a, "auto"), (X,)),
    ("histogram_bin_edges bad range", lambda m, a: m.histogram_bin_edges(a, 2, (1, 2, 3)),
     (X,)),
    ("histogram2d", lambda m, a, b: m.histogram2d(a, b, bins=3), (V, V[::-1])),
    ("histogram2d two bins density", lambda m, a, b: m.histogram2d(a, b, [2, 3], density=True),
     (V, V[::-1])),
    ("histogram2d edges", lambda m, a, b: m.histogram2d(a, b, bins=V), (V, V[::-1])),
    ("histogram2d weights range", lambda m, a, b: m.histogram2d(a, b, 2, [(0, 5), None], V),
     (V, V[::-1])),
    ("histogramdd", lambda m, a: m.histogramdd(a, bins=3), (X,)),
    ("histogramdd weights density", lambda m, a, w: m.histogramdd(a, (2, 3, 2, 2), weights=w,
                                                                  density=True), (X, V[:3])),
    ("histogramdd range", lambda m, a: m.histogramdd(a, bins=3, range=[(0, 1)] * 4), (X,)),
    ("histogramdd bad range", lambda m, a: m.histogramdd(a, bins=3, range=[(0, 1)] * 3), (X,)),
    ("histogramdd bad bins", lambda m, a: m.histogramdd(a, bins=[2, 3]), (X,)),
    ("histogramdd bad weights", lambda m, a, w: m.histogramdd(a, weights=w), (X, V)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(case: Case) -> None:
    _, f, args = case
    check(f, *args)


X64_CASES = [c for c in CASES if c[0] in ("bincount", "histogram", "histogramdd",
                                          "digitize nan", "bincount weights minlength")]


@pytest.mark.parametrize("case", X64_CASES, ids=[c[0] for c in X64_CASES])
def test_matches_jax_in_x64(case: Case) -> None:
    _, f, args = case
    with enable_x64():
        check(f, *(a.astype(np.float64) if a.dtype == np.float32 else a for a in args))


JIT: list[Case] = [
    ("bincount length", lambda m, a: m.bincount(a, length=7), (I,)),
    ("bincount weights length", lambda m, a, w: m.bincount(a, w, length=3), (I, I * 0.5)),
    ("bincount no length", lambda m, a: m.bincount(a), (I,)),
    ("bincount traced length", lambda m, a: m.bincount(a, length=a[0]), (I,)),
    ("digitize", lambda m, a, b: m.digitize(a, b), (X, V)),
    ("histogram", lambda m, a, w: m.histogram(a, bins=4, range=(0, 5), weights=w), (X, X)),
    ("histogram traced bins", lambda m, a: m.histogram(a, bins=a[0]), (I,)),
    ("histogram2d", lambda m, a, b: m.histogram2d(a, b, bins=3, density=True), (V, V)),
    ("histogramdd", lambda m, a: m.histogramdd(a, bins=2), (X,)),
]


@pytest.mark.parametrize("case", JIT, ids=[c[0] for c in JIT])
def test_under_jit(case: Case) -> None:
    """Static lengths and bin counts work under jit; data-dependent ones are a
    ConcretizationTypeError, as in JAX."""
    _, f, args = case
    check_jit(f, *args)


GRADS: list[Case] = [
    ("bincount weights", lambda m, w: m.bincount(np.array([0, 1, 1, 3]), w, length=5), (V,)),
    ("histogram weights", lambda m, w: m.histogram(X, bins=3, weights=w)[0], (X,)),
    ("histogram density", lambda m, a: m.histogram(a, 3, density=True)[0] * m.arange(3), (X,)),
    ("histogram edges", lambda m, a: m.histogram(a, bins=3)[1], (X,)),
    ("histogramdd density", lambda m, w: m.histogramdd(X, 2, weights=w, density=True)[0],
     (X[:, 0],)),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case: Case) -> None:
    _, f, args = case
    check_grad(f, *args)


BATCH = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) % 5 - 1
VMAPS: list[Case] = [
    ("bincount", lambda m, a: m.bincount(a, length=6), (np.array([[0, 1, 1], [2, 5, 9]]),)),
    ("bincount weights", lambda m, a, w: m.bincount(a, w, length=4),
     (np.array([[0, 1, 1], [2, 3, 9]]), BATCH[:, 0, :3])),
    ("digitize", lambda m, a: m.digitize(a, V), (BATCH,)),
    ("digitize bins", lambda m, b: m.digitize(X, b), (np.stack([V, V[::-1]]),)),
    ("histogram", lambda m, a: m.histogram(a, bins=3, range=(-1, 4)), (BATCH,)),
    ("histogram2d", lambda m, a: m.histogram2d(a[0], a[1], bins=2, range=[(-1, 4)] * 2),
     (BATCH,)),
]


@pytest.mark.parametrize("case", VMAPS, ids=[c[0] for c in VMAPS])
def test_vmap_matches_jax_and_a_loop(case: Case) -> None:
    _, f, args = case
    check_vmap(f, *args)


CALLS: list[Case] = [
    ("bincount", lambda m, a: m.bincount(a, length=7), (I,)),
    ("bincount weights", lambda m, a, w: m.bincount(a, w, length=7), (I, I * 0.5)),
    ("digitize", lambda m, a, b: m.digitize(a, b), (X, V)),
    ("digitize right", lambda m, a, b: m.digitize(a, b, right=True), (X, V)),
    ("histogram", lambda m, a: m.histogram(a, bins=4, range=(0, 5)), (X,)),
    ("histogram density", lambda m, a: m.histogram(a, bins=4, density=True), (X,)),
    ("histogram_bin_edges", lambda m, a: m.histogram_bin_edges(a, bins=4), (X,)),
    ("histogram2d", lambda m, a, b: m.histogram2d(a, b, 3, [(0, 5), (0, 5)]), (V, V)),
    ("histogramdd", lambda m, a: m.histogramdd(a, bins=3, range=[(0, 5)] * 4), (X,)),
    ("histogramdd density", lambda m, a, w: m.histogramdd(a, 2, weights=w, density=True),
     (X, V[:3])),
]


@pytest.mark.parametrize("case", CALLS, ids=[c[0] for c in CALLS])
def test_calls_as_jax(case: Case) -> None:
    _, f, args = case
    check_calls(f, *args)


@pytest.mark.parametrize("case", CALLS[:6], ids=[c[0] for c in CALLS[:6]])
def test_calls_as_jax_under_vmap(case: Case) -> None:
    _, f, args = case
    check_calls(f, *(np.stack([a, a]) for a in args), transform=lambda m, g: m.vmap(g))


NONZERO_SIZED: list[tuple[str, Any]] = [
    ("nonzero", lambda m, x: m.nonzero(x, size=3)),
    ("nonzero fill", lambda m, x: m.nonzero(x, size=5, fill_value=-1)),
    ("nonzero fill per axis", lambda m, x: m.nonzero(x > 4, size=2, fill_value=(9, 8))),
    ("argwhere", lambda m, x: m.argwhere(x, size=4)),
    ("where one argument", lambda m, x: m.where(x, size=2)),
]


@pytest.mark.parametrize("f", [c[1] for c in NONZERO_SIZED], ids=[c[0] for c in NONZERO_SIZED])
def test_nonzero_with_size_traces_as_jax(f: Any) -> None:
    """With ``size``, ``nonzero`` (and ``argwhere``, one-argument ``where``) work under jit and
    vmap, as JAX's."""
    a = np.array([[0, 3, 0], [5, 0, 7]])
    j = jax.load()
    ours = refjax.jit(lambda x: f(refjax.numpy, x))(a)
    theirs = j.jit(lambda x: f(j.numpy, x))(a)
    assert_same(ours, theirs)
    ours_v = refjax.vmap(lambda x: f(refjax.numpy, x[None]))(a)
    theirs_v = j.vmap(lambda x: f(j.numpy, x[None]))(a)
    assert_same(ours_v, theirs_v)
