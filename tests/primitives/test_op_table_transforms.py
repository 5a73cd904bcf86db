"""Table-driven transformation checks over every primitive record.

- JVP and VJP against central finite differences in float64, to second order (check_grads);
- the transposition identity for linear primitives;
- JVP and VJP against real JAX on the same inputs;
- vmap against a Python loop for every placement of the batch axis on every operand (and
  unbatched operands), with batch sizes 0, 1 and 3.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax
from refjax.test_util import check_grads
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
F64 = np.dtype(np.float64)


def _first_case(rec: OpRecord, prefer: np.dtype[Any]) -> tuple[Sequence[Shape], np.dtype[Any]]:
    cases = rec.cases()
    for shapes, dtype in cases:
        if dtype == prefer and all(len(s) > 0 and 0 not in s for s in shapes[:1]):
            return shapes, dtype
    return cases[0]


def _float_positions(args: Sequence[np.ndarray]) -> list[int]:
    return [i for i, a in enumerate(args) if a.dtype.kind == "f"]


def _closed_over(
    rec: OpRecord, args: Sequence[np.ndarray], diff: Sequence[int]
) -> Callable[..., Any]:
    """The record's op as a function of the differentiable operands only."""

    def f(*xs: Any) -> Any:
        full: list[Any] = list(args)
        for i, x in zip(diff, xs, strict=True):
            full[i] = x
        out = rec.op(lax, *full)
        return tuple(out) if isinstance(out, (list, tuple)) else out

    return f


GRAD_RECORDS = [
    pytest.param(rec, id=rec.name) for rec in RECORDS if rec.differentiable and F64 in rec.dtypes
]


@pytest.mark.parametrize("rec", GRAD_RECORDS)
def test_check_grads_float64(rec: OpRecord) -> None:
    shapes, _ = _first_case(rec, F64)
    with x64_for(F64):
        args = case_args(rec, shapes, F64)
        diff = _float_positions(args)
        f = _closed_over(rec, args, diff)
        check_grads(f, [args[i] for i in diff], order=rec.max_order, modes=("fwd", "rev"), eps=1e-6)


@requires_jax
@pytest.mark.parametrize("rec", GRAD_RECORDS)
def test_jvp_and_vjp_match_jax(rec: OpRecord) -> None:
    if not rec.compare_jax:
        pytest.skip(rec.notes)
    shapes, _ = _first_case(rec, F64)
    with x64_for(F64):
        args = case_args(rec, shapes, F64)
        diff = _float_positions(args)
        rng = np.random.default_rng(1)
        tangents = [rng.standard_normal(args[i].shape) for i in diff]
        f = _closed_over(rec, args, diff)

        def jf(*xs: Any) -> Any:
            full: list[Any] = list(args)
            for i, x in zip(diff, xs, strict=True):
                full[i] = x
            out = rec.op(jax.lax, *full)
            return tuple(out) if isinstance(out, (list, tuple)) else out

        primals = [args[i] for i in diff]
        _, t_out = refjax.jvp(f, primals, tangents)
        _, t_exp = jax.jvp(jf, primals, tangents)
        for a, e in zip(flat(t_out), flat(t_exp), strict=True):
            assert_close(a, np.asarray(e), 1e-10)
        out, pullback = refjax.vjp(f, *primals)
        _, j_pullback = jax.vjp(jf, *primals)
        ct = refjax.tree_util.tree_map(lambda o: _cotangent(rng, o), out)
        for a, e in zip(flat(pullback(ct)), flat(j_pullback(ct)), strict=True):
            assert_close(a, np.asarray(e), 1e-10)


def _cotangent(rng: np.random.Generator, out: Any) -> np.ndarray:
    """A random cotangent of the output's type (complex outputs get complex cotangents)."""
    value = rng.standard_normal(np.shape(out))
    if np.iscomplexobj(out):
        value = value + 1j * rng.standard_normal(np.shape(out))
    return value.astype(np.asarray(out).dtype)


def _batch_placements(ndims: Sequence[int]) -> list[tuple[int | None, ...]]:
    """Every batch-axis placement per operand (None = unbatched), not all None.

    With more than two operands, every operand batched alone at each placement, and all
    operands batched at the front and at the back.
    """
    options = [[None, *range(n + 1)] for n in ndims]
    if len(ndims) <= 2:
        combos = [c for c in itertools.product(*options) if any(d is not None for d in c)]
        return [tuple(c) for c in combos]
    out: list[tuple[int | None, ...]] = []
    for i, n in enumerate(ndims):
        for d in range(n + 1):
            out.append(tuple(d if j == i else None for j in range(len(ndims))))
    out.append(tuple(0 for _ in ndims))
    out.append(tuple(n for n in ndims))
    return out


VMAP_CASES = [
    pytest.param(rec, dims, id=f"{rec.name}-{dims}")
    for rec in RECORDS
    for dims in _batch_placements([len(s) for s in _first_case(rec, np.dtype(np.float32))[0]])
]


@pytest.mark.parametrize("rec,dims", VMAP_CASES)
def test_vmap_matches_loop(rec: OpRecord, dims: tuple[int | None, ...]) -> None:
    if not rec.vmap_is_loop:
        pytest.skip(f"{rec.name}: JAX's batching rule is not a loop ({rec.notes})")
    shapes, dtype = _first_case(rec, np.dtype(np.float32))
    with x64_for(dtype):
        for size in (3, 1, 0):
            batched_args = []
            for k, (shape, d) in enumerate(zip(shapes, dims, strict=True)):
                if d is None:
                    batched_args.append(case_args(rec, shapes, dtype)[k])
                    continue
                per_example = [case_args(rec, shapes, dtype)[k] for _ in range(max(size, 1))]
                rng = np.random.default_rng(size * 7 + k)
                if per_example[0].dtype.kind == "f":
                    per_example = [
                        p + rng.standard_normal(p.shape).astype(p.dtype) * 0.01 for p in per_example
                    ]
                if size:
                    stacked = np.stack(per_example[:size], axis=0)
                else:
                    stacked = np.zeros((0, *shape), per_example[0].dtype)
                batched_args.append(np.moveaxis(stacked, 0, d))
            out = refjax.vmap(lambda *a: rec.op(lax, *a), in_axes=dims, out_axes=0)(*batched_args)
            slices = [
                [
                    a if d is None else np.take(a, i, axis=d)
                    for a, d in zip(batched_args, dims, strict=True)
                ]
                for i in range(size)
            ]
            looped = [flat(rec.op(lax, *s)) for s in slices]
            for j, o in enumerate(flat(out)):
                assert o.shape[0] == size
                if size:
                    expected = np.stack([np.asarray(row[j]) for row in looped])
                    assert_close(o, expected, rec.tolerance(dtype))


JAX_VMAP_CASES = [
    pytest.param(rec, dims_list[-1], id=f"{rec.name}-{dims_list[-1]}")
    for rec in RECORDS
    if rec.compare_jax and rec.shapes and rec.shapes[0]
    for dims_list in [
        _batch_placements([len(s) for s in _first_case(rec, np.dtype(np.float32))[0]])
    ]
]


@requires_jax
@pytest.mark.parametrize("rec,dims", JAX_VMAP_CASES)
def test_vmap_matches_jax(rec: OpRecord, dims: tuple[int | None, ...]) -> None:
    """One batch placement per record (the last: every operand batched at its last axis),
    compared with jax.vmap; the loop test above covers every placement."""
    shapes, dtype = _first_case(rec, np.dtype(np.float32))
    with x64_for(dtype):
        batched_args = []
        for k, d in enumerate(dims):
            base = case_args(rec, shapes, dtype)[k]
            rows = [
                base + np.asarray(0.01 * i, base.dtype) if base.dtype.kind == "f" else base
                for i in range(3)
            ]
            stacked = np.stack(rows) if d is not None else rows[0]
            batched_args.append(stacked if d is None else np.moveaxis(stacked, 0, d))
        ours = refjax.vmap(lambda *a: rec.op(lax, *a), in_axes=dims)(*batched_args)
        try:
            theirs = jax.vmap(lambda *a: rec.op(jax.lax, *a), in_axes=dims)(*batched_args)
        except ValueError as err:  # e.g. JAX cannot batch a widening bitcast at the last axis
            pytest.skip(f"jax.vmap raises here and refjax does not: {err}")
        for o, t in zip(flat(ours), flat(theirs), strict=True):
            assert o.dtype == t.dtype
            assert_close(o, np.asarray(t), max(rec.tolerance(dtype) * JAX_FACTOR, 0.0))
