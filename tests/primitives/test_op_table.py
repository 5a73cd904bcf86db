"""Table-driven checks over every primitive record: numpy reference, abstract eval, real JAX."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax
from tests.oracle import jax, requires_jax
from tests.primitives.records import (
    OpRecord,
    Shape,
    all_records,
    assert_close,
    case_args,
    flat,
    x64_for,
)
from tests.tolerances import JAX_FACTOR

RECORDS = all_records()
CASES = [
    pytest.param(rec, shapes, dtype, id=f"{rec.name}-{'x'.join(map(str, shapes))}-{dtype.name}")
    for rec in RECORDS
    for shapes, dtype in rec.cases()
]


@pytest.mark.parametrize("rec,shapes,dtype", CASES)
def test_eval_matches_numpy(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> None:
    with x64_for(dtype):
        args = case_args(rec, shapes, dtype)
        outs = flat(rec.op(lax, *args))
        refs = flat(rec.ref(*args))
        assert len(outs) == len(refs)
        for out, ref in zip(outs, refs, strict=True):
            assert isinstance(out, refjax.Array)
            assert_close(out, ref, rec.tolerance(dtype))


@pytest.mark.parametrize("rec,shapes,dtype", CASES)
def test_abstract_eval_matches_result(
    rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> None:
    with x64_for(dtype):
        args = case_args(rec, shapes, dtype)
        outs = flat(rec.op(lax, *args))
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


@requires_jax
@pytest.mark.parametrize("rec,shapes,dtype", _jax_cases())
def test_matches_real_jax(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> None:
    if not rec.compare_jax:
        pytest.skip(f"{rec.name}: no jax.lax equivalent ({rec.notes})")
    with x64_for(dtype):
        args = case_args(rec, shapes, dtype)
        outs = flat(rec.op(lax, *args))
        expected = flat(rec.op(jax.lax, *args))
        assert len(outs) == len(expected)
        for out, exp in zip(outs, expected, strict=True):
            assert out.dtype == exp.dtype, (out.dtype, exp.dtype)
            assert out.weak_type == exp.weak_type
            tol = max(rec.tolerance(dtype) * JAX_FACTOR, 0.0)
            assert_close(out, np.asarray(exp), tol)
