"""Lowering and fusion against the numpy backend, over the whole primitive table.

For every record and case of ``tests/primitives``, the traced jaxpr is planned by the fusion
compiler and the plan is run by the IR evaluator (kernels) and numpy (other steps); the result
must equal the numpy backend's within the record's tolerance. No device is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax
from refjax.backends.base import device_put
from refjax.backends.kernels import lower
from refjax.backends.kernels.evaluate import evaluate_plan
from refjax.backends.kernels.fusion import KernelStep, PrimitiveStep, ReshapeStep, plan
from refjax.interp.core import Primitive
from tests.primitives.records import (
    OpRecord,
    Shape,
    all_records,
    assert_close,
    case_args,
    flat,
    x64_for,
)

RECORDS = all_records()
CASES = [
    pytest.param(rec, shapes, dtype, id=f"{rec.name}-{'x'.join(map(str, shapes))}-{dtype.name}")
    for rec in RECORDS
    for shapes, dtype in rec.cases()
]
LOWERED: set[Primitive] = set(lower.lowerings) | set(lower.reductions)


def _plan_and_expected(
    rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> tuple[Any, list[np.ndarray], list[np.ndarray]]:
    args = case_args(rec, shapes, dtype)
    closed = refjax.make_jaxpr(lambda *a: rec.op(lax, *a))(*args)
    expected = flat(rec.op(lax, *[device_put(a, "numpy") for a in args]))
    return plan(closed), args, [np.asarray(e) for e in expected]


@pytest.mark.parametrize("rec,shapes,dtype", CASES)
def test_plan_matches_numpy_backend(
    rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> None:
    with x64_for(dtype):
        p, args, expected = _plan_and_expected(rec, shapes, dtype)
        outs = evaluate_plan(p, args)
    assert len(outs) == len(expected)
    for out, exp in zip(outs, expected, strict=True):
        assert out.dtype == exp.dtype
        assert_close(out, exp, rec.tolerance(dtype))


def test_every_lowered_primitive_is_exercised() -> None:
    """Each primitive with a kernel form is fused in some record's plan (or is a free view)."""
    seen: set[str] = set()
    for rec in RECORDS:
        for shapes, dtype in rec.cases()[:2]:
            with x64_for(dtype):
                closed = refjax.make_jaxpr(lambda *a, rec=rec: rec.op(lax, *a))(
                    *case_args(rec, shapes, dtype)
                )
            p = plan(closed)
            if any(isinstance(s, KernelStep | ReshapeStep) for s in p.steps):
                seen |= {e.primitive.name for e in closed.eqns}
    missing = {p.name for p in LOWERED} - seen - {"add_any", "copy", "stop_gradient"}
    assert not missing, sorted(missing)


def test_lowered_primitives_fuse_into_kernels() -> None:
    """A lowered primitive on kernel dtypes never becomes a host step."""
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    closed = refjax.make_jaxpr(
        lambda x: lax.rev(lax.transpose(lax.exp(x), (1, 0)), (0,)).sum(0) * lax.sign(x[:, 0])
    )(x)
    steps = plan(closed).steps
    assert steps and not [s for s in steps if isinstance(s, PrimitiveStep)]
