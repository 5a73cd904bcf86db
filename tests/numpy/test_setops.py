"""``unique`` (and ``unique_all``/``_counts``/``_inverse``/``_values``), ``intersect1d``,
``union1d``, ``setdiff1d`` and ``setxor1d`` against ``jax.numpy``: values, dtypes and weak
types (NaNs, -0.0, empty inputs, axes, booleans, mixed dtypes), the static ``size`` and
``fill_value`` forms eagerly and under ``jit``, the errors of data-dependent sizes under ``jit``,
gradients (none through the data-dependent path, as in JAX), ``vmap`` and the named calls of
the jaxprs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.numpy.helpers import leaves
from tests.numpy.missing_a_support import check, check_calls, check_grad, check_jit, check_vmap

I = np.array([3, 1, 2, 3, 1, 5], np.int32)  # noqa: E741
J = np.array([5, 1, 7, 3], np.int32)
F = np.array([3.0, np.nan, 1, 2, np.nan, 3, 1, -0.0, 0.0], np.float32)
M = np.array([[1, 2], [2, 3], [1, 2], [0, 5]], np.int32)
X = np.arange(12.0, dtype=np.float32).reshape(3, 4) % 5
C = np.array([1 + 1j, np.nan, 1 + 1j, complex(1, np.nan), 2], np.complex64)
B = np.array([True, False, True])
EMPTY = np.zeros((0,), np.int32)

Case = tuple[str, Any, tuple[Any, ...]]

UNIQUE: list[Case] = [
    ("values", lambda m, a: m.unique(a), (I,)),
    ("all flags", lambda m, a: m.unique(a, True, True, True), (I,)),
    ("2d flattened", lambda m, a: m.unique(a, True, True, True), (X,)),
    ("axis 0", lambda m, a: m.unique(a, True, True, True, axis=0), (M,)),
    ("axis -1", lambda m, a: m.unique(a, True, True, True, axis=-1), (M,)),
    ("axis out of range", lambda m, a: m.unique(a, axis=2), (M,)),
    ("nan equal", lambda m, a: m.unique(a, True, True, True), (F,)),
    ("nan distinct", lambda m, a: m.unique(a, True, True, True, equal_nan=False), (F,)),
    ("complex nan", lambda m, a: m.unique(a, return_counts=True), (C,)),
    ("bool", lambda m, a: m.unique(a, return_counts=True), (B,)),
    ("uint8", lambda m, a: m.unique(a, return_inverse=True), (np.array([255, 0, 255], np.uint8),)),
    ("float16", lambda m, a: m.unique(a, return_inverse=True), (F.astype(np.float16),)),
    ("0-d", lambda m, a: m.unique(a, True, True, True), (np.int32(4),)),
    ("python scalar", lambda m: m.unique(4.0), ()),
    ("list", lambda m: m.unique([1, 2]), ()),
    ("empty", lambda m, a: m.unique(a, True, True, True), (EMPTY,)),
    ("empty axis", lambda m, a: m.unique(a, True, True, True, axis=0),
     (np.zeros((3, 0), np.float32),)),
    ("empty other axis", lambda m, a: m.unique(a, True, True, True, axis=1),
     (np.zeros((3, 0), np.float32),)),
    ("size", lambda m, a: m.unique(a, True, True, True, size=6), (I,)),
    ("size fill", lambda m, a: m.unique(a, True, True, True, size=6, fill_value=-9), (I,)),
    ("size truncates", lambda m, a: m.unique(a, True, True, True, size=2), (I,)),
    ("size axis fill", lambda m, a: m.unique(a, True, True, True, axis=0, size=5, fill_value=7),
     (M,)),
    ("size nan", lambda m, a: m.unique(a, size=7, fill_value=0.5), (F,)),
    ("size empty", lambda m, a: m.unique(a, size=3), (EMPTY,)),
    ("size empty fill", lambda m, a: m.unique(a, True, True, True, size=3, fill_value=1),
     (EMPTY,)),
    ("unique_all", lambda m, a: tuple(m.unique_all(a)), (F,)),
    ("unique_all size", lambda m, a: tuple(m.unique_all(a, size=5, fill_value=-1)), (I,)),
    ("unique_counts", lambda m, a: tuple(m.unique_counts(a, size=8, fill_value=0)), (X,)),
    ("unique_inverse", lambda m, a: tuple(m.unique_inverse(a)), (X,)),
    ("unique_values", lambda m, a: m.unique_values(a), (F,)),
]

SETS: list[Case] = [
    ("intersect1d", lambda m, a, b: m.intersect1d(a, b), (I, J)),
    ("intersect1d indices", lambda m, a, b: m.intersect1d(a, b, return_indices=True), (I, J)),
    ("intersect1d unique", lambda m, a, b: m.intersect1d(a, b, True, True), (J[:3], J[1:])),
    ("intersect1d 2d mixed", lambda m, a, b: m.intersect1d(a, b, return_indices=True), (X, I)),
    ("intersect1d mixed dtypes", lambda m, a, b: m.intersect1d(a, b),
     (F.astype(np.float16), np.array([1, 2], np.int8))),
    ("intersect1d size", lambda m, a, b: m.intersect1d(a, b, size=4), (I, J)),
    ("intersect1d size indices", lambda m, a, b: m.intersect1d(a, b, return_indices=True,
                                                               size=4, fill_value=-1), (I, J)),
    ("intersect1d size unique", lambda m, a, b: m.intersect1d(a, b, True, True, size=4),
     (J[:3], J[1:])),
    ("intersect1d size empty", lambda m, a, b: m.intersect1d(a, b, return_indices=True, size=2),
     (EMPTY, J)),
    ("union1d", lambda m, a, b: m.union1d(a, b), (I, J)),
    ("union1d 2d", lambda m, a, b: m.union1d(a, b), (X, J)),
    ("union1d size", lambda m, a, b: m.union1d(a, b, size=9, fill_value=0), (I, J)),
    ("union1d size truncates", lambda m, a, b: m.union1d(a, b, size=3), (I, J)),
    ("setdiff1d", lambda m, a, b: m.setdiff1d(a, b), (I, J)),
    ("setdiff1d float", lambda m, a, b: m.setdiff1d(a, b), (F, X[0])),
    ("setdiff1d bool", lambda m, a, b: m.setdiff1d(a, b), (B, B[:1])),
    ("setdiff1d size", lambda m, a, b: m.setdiff1d(a, b, size=4), (I, J)),
    ("setdiff1d size fill", lambda m, a, b: m.setdiff1d(a, b, size=4, fill_value=-2), (I, J)),
    ("setdiff1d size unique", lambda m, a, b: m.setdiff1d(a, b, True, size=3), (J, J[:2])),
    ("setdiff1d size empty", lambda m, a, b: m.setdiff1d(a, b, size=3), (EMPTY, J)),
    ("setxor1d", lambda m, a, b: m.setxor1d(a, b), (I, J)),
    ("setxor1d mixed", lambda m, a, b: m.setxor1d(a, b), (I, X[0])),
    ("setxor1d unique", lambda m, a, b: m.setxor1d(a, b, assume_unique=True), (J[:3], J[1:])),
    ("setxor1d empty", lambda m, a, b: m.setxor1d(a, b), (EMPTY, EMPTY)),
    ("setxor1d size", lambda m, a, b: m.setxor1d(a, b, size=5), (I, J)),
    ("setxor1d size fill", lambda m, a, b: m.setxor1d(a, b, size=5, fill_value=0), (I, J)),
    ("setxor1d size unique", lambda m, a, b: m.setxor1d(a, b, True, size=4), (J[:3], J[1:])),
    ("setxor1d size empty", lambda m, a, b: m.setxor1d(a, b, size=2), (EMPTY, EMPTY)),
    ("list argument", lambda m, b: m.setdiff1d([1, 2], b), (J,)),
]

ALL = UNIQUE + SETS
SIZED = [c for c in ALL if "size" in c[0] and c[2]]


@pytest.mark.parametrize("case", ALL, ids=[c[0] for c in ALL])
def test_matches_jax(case: Case) -> None:
    _, f, args = case
    check(f, *args)


@pytest.mark.parametrize("case", SIZED, ids=[c[0] for c in SIZED])
def test_size_forms_under_jit(case: Case) -> None:
    _, f, args = case
    check_jit(f, *args)


DATA_DEPENDENT: list[Case] = [
    ("unique", lambda m, a: m.unique(a), (I,)),
    ("unique traced size", lambda m, a: m.unique(a, size=a[0]), (I,)),
    ("unique_values", lambda m, a: m.unique_values(a), (I,)),
    ("unique_all", lambda m, a: m.unique_all(a), (I,)),
    ("intersect1d", lambda m, a, b: m.intersect1d(a, b), (I, J)),
    ("intersect1d unique", lambda m, a, b: m.intersect1d(a, b, assume_unique=True), (J, J)),
    ("union1d", lambda m, a, b: m.union1d(a, b), (I, J)),
    ("setdiff1d", lambda m, a, b: m.setdiff1d(a, b), (I, J)),
    ("setxor1d", lambda m, a, b: m.setxor1d(a, b), (I, J)),
]


@pytest.mark.parametrize("case", DATA_DEPENDENT, ids=[c[0] for c in DATA_DEPENDENT])
def test_data_dependent_sizes_fail_under_jit(case: Case) -> None:
    """ConcretizationTypeError (NonConcreteBooleanIndexError for assume_unique) as in JAX."""
    _, f, args = case
    check_jit(f, *args)


def test_messages() -> None:
    from tests.errors import assert_same_error
    from tests.numpy.missing_a_support import jnp, rnp

    assert_same_error(lambda: rnp.unique(EMPTY, size=3), lambda: jnp.unique(EMPTY, size=3))
    assert_same_error(lambda: rnp.unique(M, axis=2), lambda: jnp.unique(M, axis=2))


FX = np.array([3.0, 1, 2, 3, 1, 5], np.float32)
GRADS: list[Case] = [
    ("unique", lambda m, a: m.unique(a) * m.arange(4.0), (FX,)),
    ("unique_counts", lambda m, a: m.unique_counts(a).values ** 2, (FX,)),
    ("unique size", lambda m, a: m.unique(a, size=5, fill_value=0.0) * m.arange(5.0), (X,)),
    ("intersect1d", lambda m, a: m.intersect1d(a, a[:3] + 1), (FX,)),
    ("intersect1d unique", lambda m, a: m.intersect1d(a[:3], a[:3] + 1, True, True)[0], (FX,)),
    ("intersect1d size", lambda m, a, b: m.intersect1d(a, b, size=3), (X, FX)),
    ("union1d", lambda m, a: m.union1d(a, a[:3] + 1), (FX,)),
    ("union1d size", lambda m, a, b: m.union1d(a, b, size=3), (X, FX)),
    ("setdiff1d", lambda m, a: m.setdiff1d(a, a[:3] + 1), (FX,)),
    ("setdiff1d unique", lambda m, a: m.setdiff1d(a[:3], a[:3] + 1, assume_unique=True), (FX,)),
    ("setdiff1d size", lambda m, a, b: m.setdiff1d(a, b, size=3), (X, FX)),
    ("setxor1d", lambda m, a: m.setxor1d(a, a[:3] + 1), (FX,)),
    ("setxor1d size", lambda m, a, b: m.setxor1d(a, b, size=3), (X, FX)),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case: Case) -> None:
    """Through the gathers of the sized forms; none through the concrete-size forms, whose
    input JAX replaces by its value."""
    _, f, args = case
    check_grad(f, *args)


BATCH = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) % 5 - 1
VMAPS: list[Case] = [
    ("unique", lambda m, a: m.unique(a, size=5, fill_value=0.0, return_counts=True), (BATCH,)),
    ("unique_inverse", lambda m, a: tuple(m.unique_inverse(a, size=5)), (BATCH,)),
    ("unique axis", lambda m, a: m.unique(a, axis=1, size=3, return_index=True), (BATCH,)),
    ("intersect1d", lambda m, a: m.intersect1d(a[0], a[1], size=3, return_indices=True),
     (BATCH,)),
    ("union1d", lambda m, a: m.union1d(a[0], a[1], size=4), (BATCH,)),
    ("setdiff1d", lambda m, a: m.setdiff1d(a[0], a[1], size=3, fill_value=9.0), (BATCH,)),
    ("setxor1d", lambda m, a: m.setxor1d(a[0], a[1], size=3), (BATCH,)),
]


@pytest.mark.parametrize("case", VMAPS, ids=[c[0] for c in VMAPS])
def test_vmap_matches_jax_and_a_loop(case: Case) -> None:
    _, f, args = case
    check_vmap(f, *args)


CALLS = [c for c in ALL if "size" in c[0] and c[2]] + [
    ("unique axis size", lambda m, a: m.unique(a, True, True, True, axis=1, size=2), (X,)),
    ("unique complex size", lambda m, a: m.unique(a, size=3, fill_value=0), (C,)),
]


@pytest.mark.parametrize("case", CALLS, ids=[c[0] for c in CALLS])
def test_calls_as_jax(case: Case) -> None:
    """The named calls: ``_unique_sorted_mask`` (with ``lexsort``), the sized ``nonzero``'s
    ``cumsum``/``clip``/``floor_divide``/``remainder``, ``_in1d``, ``_intersect1d_size``,
    ``_setxor1d_size``..."""
    _, f, args = case
    check_calls(f, *args)


@pytest.mark.parametrize("how", ["grad", "vmap"])
@pytest.mark.parametrize("case", VMAPS, ids=[c[0] for c in VMAPS])
def test_calls_as_jax_under_transformations(case: Case, how: str) -> None:
    """grad: the forward calls with their residuals and the transposed calls; vmap: the
    batched calls."""
    _, f, args = case
    if how == "grad":
        check_calls(lambda m, a: leaves(f(m, a))[0], *(a[0] for a in args),
                    transform=lambda m, g: m.grad(lambda *a: m.numpy.sum(g(*a))))
    else:
        check_calls(f, *args, transform=lambda m, g: m.vmap(g))
