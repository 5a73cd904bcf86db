"""The primitive table that drives the table-driven tests (see shared STYLE.md, "Tests").

One ``OpRecord`` per primitive (or per interesting parameterisation of one). ``op`` is written
against a lax-like module, ``op(lax, *operands)``, so the same record runs on ``refjax.lax`` and on
real ``jax.lax``. ``ref`` is an independent numpy reference. Every check in
``test_op_table.py`` runs over ``ALL_RECORDS``; a new primitive gets every check by adding a record
to its family's ``records_<family>.py``.
"""

from __future__ import annotations

import contextlib
import importlib
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.oracle import enable_x64
from tests.tolerances import value_tol

Shape = tuple[int, ...]
ArgsMaker = Callable[[np.random.Generator, Sequence[Shape], np.dtype[Any]], list[np.ndarray]]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
INT_DTYPES = (np.dtype(np.int32), np.dtype(np.int8), np.dtype(np.uint32))
BOOL_DTYPES = (np.dtype(np.bool_),)

def random_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Values typical for ``dtype``: standard normals, small integers, random bools."""
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.unsignedinteger):
        return rng.integers(0, 10, shape).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-10, 10, shape).astype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def positive_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Values in (0.1, 3): for log, sqrt, rsqrt, lgamma ..."""
    return rng.uniform(0.1, 3.0, shape).astype(dtype)


def unit_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Values in (-0.9, 0.9): for asin, acos, atanh, erf_inv."""
    return rng.uniform(-0.9, 0.9, shape).astype(dtype)


ValuesFn = Callable[[np.random.Generator, Shape, np.dtype[Any]], np.ndarray]


def same_maker(values: ValuesFn) -> ArgsMaker:
    """An args maker drawing every operand from ``values`` with the record's dtype."""

    def make(
        rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
    ) -> list[np.ndarray]:
        return [values(rng, s, dtype) for s in shapes]

    return make


@dataclass(frozen=True)
class OpRecord:
    """One primitive under test: how to call it, an independent reference, and what to try."""

    name: str  # the primitive's name, as in jaxprs
    op: Callable[..., Any]  # op(lax_module, *operands): works with refjax.lax and jax.lax
    ref: Callable[..., Any]  # numpy reference on the same operands
    shapes: Sequence[Sequence[Shape]]  # operand shapes, one tuple per case
    dtypes: Sequence[np.dtype[Any]]  # operand dtype (the record's args maker decides per operand)
    args_maker: ArgsMaker = field(default=same_maker(random_values))
    tol: float | None = None  # overrides tests.tolerances.VALUE (relative and absolute)
    differentiable: bool = True  # has a nonzero JVP on float inputs
    linear: bool = False  # linear in all float operands (has a transpose rule)
    compare_jax: bool = True  # real jax.lax has an op with these semantics
    max_order: int = 2  # derivative order check_grads reaches (1: JAX has no second derivative)
    vmap_is_loop: bool = True  # vmap equals a loop (False: JAX's batching rule differs on purpose)
    notes: str = ""

    def cases(self) -> list[tuple[Sequence[Shape], np.dtype[Any]]]:
        """Every (shapes, dtype) pair to test."""
        return [(shapes, dtype) for shapes in self.shapes for dtype in self.dtypes]

    def tolerance(self, dtype: np.dtype[Any]) -> float:
        """The value tolerance for this record at ``dtype`` (0 for exact dtypes)."""
        if self.tol is not None:
            return self.tol
        return value_tol(dtype)


FAMILIES = ("elementwise", "shape", "reductions", "indexing", "linalg", "transcendental",
            "decompositions", "fft", "convolution", "special", "decompositions_more", "lax_more")


def all_records() -> list[OpRecord]:
    """The records of every family module that exists."""
    records: list[OpRecord] = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"tests.primitives.records_{family}")
        except ModuleNotFoundError as err:
            if err.name != f"tests.primitives.records_{family}":
                raise
            continue
        records.extend(module.RECORDS)
    return records


# ---------------------------------------------------------------------------------------------
# Running a record's case (shared by the table-driven tests in tests/primitives, tests/interp
# and tests/backends)

_WIDE = {np.dtype(t) for t in (np.float64, np.int64, np.uint64, np.complex128)}


@contextlib.contextmanager
def x64_for(dtype: np.dtype[Any]) -> Iterator[None]:
    """Enable 64-bit mode (refjax and JAX) while testing a 64-bit dtype."""
    if np.dtype(dtype) not in _WIDE:
        yield
        return
    with enable_x64():
        yield


def flat(out: Any) -> list[Any]:
    """A primitive's outputs as a list (one output or several)."""
    return list(out) if isinstance(out, (tuple, list)) else [out]


def case_args(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> list[np.ndarray]:
    """The operands of one case of ``rec``: the same on every run."""
    seed = zlib.crc32(repr((rec.name, tuple(shapes), dtype.name)).encode())
    return rec.args_maker(np.random.default_rng(seed), shapes, dtype)


def assert_close(actual: Any, expected: Any, tol: float) -> None:
    """Same shape; equal for exact dtypes (or ``tol == 0``), else within ``tol`` (NaNs equal)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if tol == 0 or actual.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, equal_nan=True)
