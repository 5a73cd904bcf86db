"""Table-driven checks over every primitive record: numpy reference, abstract eval, real JAX."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax
from tests.primitives.records import OpRecord, Shape, all_records

RECORDS = all_records()
CASES = [
    pytest.param(rec, shapes, dtype, id=f"{rec.name}-{'x'.join(map(str, shapes))}-{dtype.name}")
    for rec in RECORDS
    for shapes, dtype in rec.cases()
]
_WIDE = {np.dtype(t) for t in (np.float64, np.int64, np.uint64, np.complex128)}


@contextlib.contextmanager
def x64_for(dtype: np.dtype[Any]) -> Iterator[None]:
    """Enable 64-bit mode (refjax and JAX) while testing a 64-bit dtype."""
    if np.dtype(dtype) not in _WIDE:
        yield
        return
    jax = _maybe_jax()
    refjax.config.update("jax_enable_x64", True)
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        refjax.config.update("jax_enable_x64", False)
        if jax is not None:
            jax.config.update("jax_enable_x64", False)


def _maybe_jax() -> Any:
    try:
        import jax
    except ImportError:
        return None
    return jax


def _flat(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _args(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> list[np.ndarray]:
    seed = zlib.crc32(repr((rec.name, tuple(shapes), dtype.name)).encode())  # same every run
    return rec.args_maker(np.random.default_rng(seed), shapes, dtype)


def assert_close(actual: Any, expected: Any, tol: float) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if tol == 0 or actual.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, equal_nan=True)


@pytest.mark.parametrize("rec,shapes,dtype", CASES)
def test_eval_matches_numpy(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> None:
    with x64_for(dtype):
        args = _args(rec, shapes, dtype)
        outs = _flat(rec.op(lax, *args))
        refs = _flat(rec.ref(*args))
        assert len(outs) == len(refs)
        for out, ref in zip(outs, refs, strict=True):
            assert isinstance(out, refjax.Array)
            assert_close(out, ref, rec.tolerance(dtype))


@pytest.mark.parametrize("rec,shapes,dtype", CASES)
def test_abstract_eval_matches_result(
    rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> None:
    with x64_for(dtype):
        args = _args(rec, shapes, dtype)
        outs = _flat(rec.op(lax, *args))
        jaxpr = refjax.make_jaxpr(lambda *a: rec.op(lax, *a))(*args)
        assert len(jaxpr.out_avals) == len(outs)
        for aval, out in zip(jaxpr.out_avals, outs, strict=True):
            assert (aval.shape, aval.dtype, aval.weak_type) == (out.shape, out.dtype, out.weak_type)


def _jax_cases() -> list[Any]:
    """Per record and dtype, its highest-rank case: real JAX compiles every new shape, so
    comparing every case would take most of the test budget; numpy covers every case above."""
    out = []
    for rec in RECORDS:
        best: dict[str, tuple[Sequence[Shape], np.dtype[Any]]] = {}
        for shapes, dtype in rec.cases():
            rank = sum(len(s) for s in shapes)
            current = best.get(dtype.name)
            if current is None or rank > sum(len(s) for s in current[0]):
                best[dtype.name] = (shapes, dtype)
        for shapes, dtype in best.values():
            case_id = f"{rec.name}-{'x'.join(map(str, shapes))}-{dtype.name}"
            out.append(pytest.param(rec, shapes, dtype, id=case_id))
    return out


@pytest.mark.parametrize("rec,shapes,dtype", _jax_cases())
def test_matches_real_jax(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> None:
    jax = pytest.importorskip("jax")
    if not rec.compare_jax:
        pytest.skip(f"{rec.name}: no jax.lax equivalent ({rec.notes})")
    with x64_for(dtype):
        args = _args(rec, shapes, dtype)
        outs = _flat(rec.op(lax, *args))
        expected = _flat(rec.op(jax.lax, *args))
        assert len(outs) == len(expected)
        for out, exp in zip(outs, expected, strict=True):
            assert out.dtype == exp.dtype, (out.dtype, exp.dtype)
            assert out.weak_type == exp.weak_type
            tol = max(rec.tolerance(dtype) * 10, 0.0)
            assert_close(out, np.asarray(exp), tol)
