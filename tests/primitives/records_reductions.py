"""Op records for the reduction primitives, each with an independent numpy reference.

Reductions keep their dtype (no upcasting), so the references pass ``dtype=x.dtype``; reductions
over size-0 axes give the monoid's identity, which the references pass as ``initial``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

F32, F64 = FLOAT_DTYPES
I32 = np.dtype(np.int32)
I8 = np.dtype(np.int8)
U32 = np.dtype(np.uint32)
BOOL = np.dtype(np.bool_)

# Operand shape and the axes to reduce, as one parameterisation.
AXES_CASES: list[tuple[Shape, tuple[int, ...]]] = [
    ((3, 4), (0,)),
    ((2, 3, 4), (1,)),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), (0, 1, 2)),
    ((2, 3), ()),
    ((), ()),
    ((5,), (0,)),
    ((0, 3), (0,)),
    ((0, 3), (1,)),
    ((2, 0, 3), (0, 1)),
]


def _max_identity(dtype: np.dtype[Any]) -> Any:
    if dtype == np.bool_:
        return False
    return np.iinfo(dtype).min if np.issubdtype(dtype, np.integer) else -np.inf


def _min_identity(dtype: np.dtype[Any]) -> Any:
    if dtype == np.bool_:
        return True
    return np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else np.inf


def ref_sum(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Sum in the operand's dtype (wrapping integers)."""
    return np.sum(x, axis=axes, dtype=x.dtype)


def ref_prod(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Product in the operand's dtype."""
    return np.prod(x, axis=axes, dtype=x.dtype)


def ref_max(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Max with the identity for empty reductions."""
    return np.max(x, axis=axes, initial=_max_identity(x.dtype))


def ref_min(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Min with the identity for empty reductions."""
    return np.min(x, axis=axes, initial=_min_identity(x.dtype))


def ref_and(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``all`` for bools; for ints, AND of the bits one element at a time."""
    if x.dtype == np.bool_:
        return np.all(x, axis=axes)
    return _fold(x, axes, np.bitwise_and, ~np.zeros((), x.dtype))


def ref_or(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``any`` for bools; for ints, OR of the bits one element at a time."""
    if x.dtype == np.bool_:
        return np.any(x, axis=axes)
    return _fold(x, axes, np.bitwise_or, np.zeros((), x.dtype))


def ref_xor(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Parity of the count of Trues for bools; for ints, XOR one element at a time."""
    if x.dtype == np.bool_:
        return np.sum(x, axis=axes) % 2 == 1
    return _fold(x, axes, np.bitwise_xor, np.zeros((), x.dtype))


def _fold(x: np.ndarray, axes: tuple[int, ...], op: np.ufunc, start: np.ndarray) -> np.ndarray:
    """Fold ``op`` over the reduced axes, moved to the front and flattened."""
    moved = np.moveaxis(x, axes, tuple(range(len(axes))))
    kept = moved.shape[len(axes) :]
    count = int(np.prod(moved.shape[: len(axes)], dtype=np.int64))
    flat = moved.reshape((count, *kept))
    acc = np.broadcast_to(start, kept).copy()
    for row in flat:
        acc = op(acc, row)
    return acc


def ref_cumulative(ufunc: np.ufunc) -> Callable[[np.ndarray, int, bool], np.ndarray]:
    """Running ``ufunc`` by an explicit loop over the axis (reverse: from the end)."""

    def run(x: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
        moved = np.moveaxis(x, axis, 0)
        out = np.empty_like(moved)
        order = range(moved.shape[0] - 1, -1, -1) if reverse else range(moved.shape[0])
        acc = None
        with np.errstate(over="ignore", invalid="ignore"):
            for i in order:
                acc = moved[i] if acc is None else ufunc(acc, moved[i]).astype(x.dtype)
                out[i] = acc
        return np.moveaxis(out, 0, axis)

    return run


def _axis_records(
    name: str,
    fn: str,
    ref: Callable[[np.ndarray, tuple[int, ...]], np.ndarray],
    dtypes: Sequence[np.dtype[Any]],
    differentiable: bool = True,
) -> list[OpRecord]:
    """One record per entry of ``AXES_CASES`` for ``lax.<fn>(x, axes)``."""
    return [
        OpRecord(
            name,
            lambda lax, x, a=axes: getattr(lax, fn)(x, a),
            lambda x, a=axes: ref(x, a),
            [(shape,)],
            dtypes,
            differentiable=differentiable,
            linear=name == "reduce_sum",
        )
        for shape, axes in AXES_CASES
    ]


def _arg_records(name: str, ref: Callable[..., np.ndarray]) -> list[OpRecord]:
    cases: list[tuple[Shape, int]] = [
        ((5,), 0),
        ((3, 4), 1),
        ((2, 3, 4), 0),
        ((2, 3, 4), 2),
        ((0, 3), 1),
        ((1, 4), 0),
    ]
    records = []
    for index_dtype in (np.int32, np.int8):
        records += [
            OpRecord(
                name,
                lambda lax, x, a=axis, it=index_dtype: getattr(lax, name)(x, a, it),
                lambda x, a=axis, it=index_dtype: ref(x, axis=a).astype(it),
                [(shape,)],
                (F32, F64, I32, U32, BOOL),
                differentiable=False,
            )
            for shape, axis in cases
        ]
    return records


def nan_values(rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> list:
    """Floats with about a quarter NaNs (and repeated values, so ties occur)."""
    out = []
    for shape in shapes:
        x = rng.integers(-3, 3, shape).astype(dtype)
        x[rng.random(shape) < 0.25] = np.nan
        out.append(x)
    return out


def _nan_records() -> list[OpRecord]:
    """NaN semantics: max/min propagate NaN; argmax/argmin point at the first NaN."""
    shapes = [((4, 5),), ((3, 2, 6),)]
    specs: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
        ("reduce_max", lambda lax, x: lax.reduce_max(x, (x.ndim - 1,)), lambda x: np.max(x, -1)),
        ("reduce_min", lambda lax, x: lax.reduce_min(x, (0,)), lambda x: np.min(x, 0)),
        (
            "argmax",
            lambda lax, x: lax.argmax(x, x.ndim - 1, np.int32),
            lambda x: np.argmax(x, -1).astype(np.int32),
        ),
        (
            "argmin",
            lambda lax, x: lax.argmin(x, 0, np.int32),
            lambda x: np.argmin(x, 0).astype(np.int32),
        ),
        (
            "cummax",
            lambda lax, x: lax.cummax(x, 1),
            lambda x: ref_cumulative(np.maximum)(x, 1, False),
        ),
        (
            "cummin",
            lambda lax, x: lax.cummin(x, 0, reverse=True),
            lambda x: ref_cumulative(np.minimum)(x, 0, True),
        ),
    ]
    return [
        OpRecord(
            name,
            op,
            ref,
            shapes,
            FLOAT_DTYPES,
            args_maker=nan_values,
            differentiable=False,
            notes="with NaNs and ties: no finite-difference derivative (see test_reductions)",
        )
        for name, op, ref in specs
    ]


def _cumulative_records(
    name: str, ufunc: np.ufunc, dtypes: Sequence[np.dtype[Any]], tol: float | None = None
) -> list[OpRecord]:
    cases: list[tuple[Shape, int, bool]] = [
        ((5,), 0, False),
        ((5,), 0, True),
        ((3, 4), 1, False),
        ((3, 4), 0, True),
        ((2, 3, 4), 2, True),
        ((2, 3, 4), 1, False),
        ((0, 3), 0, False),
        ((2, 0), 1, True),
    ]
    ref = ref_cumulative(ufunc)
    return [
        OpRecord(
            name,
            lambda lax, x, a=axis, r=rev: getattr(lax, name)(x, a, r),
            lambda x, a=axis, r=rev: ref(x, a, r),
            [(shape,)],
            dtypes,
            tol=tol,
            linear=name == "cumsum",
        )
        for shape, axis, rev in cases
    ]


def ref_logaddexp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(exp(a) + exp(b))`` shifted by the larger argument (inf and -inf handled)."""
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    with np.errstate(invalid="ignore"):
        shifted = hi + np.log1p(np.exp(lo - hi))
    return np.where(np.isinf(hi) & (hi == lo), hi, shifted)


def _cumlogsumexp_records() -> list[OpRecord]:
    ref_ufunc = np.frompyfunc(lambda a, b: ref_logaddexp(np.float64(a), np.float64(b)), 2, 1)
    records = _cumulative_records("cumlogsumexp", ref_ufunc, FLOAT_DTYPES, tol=1e-5)

    def big(rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> list:
        return [(rng.standard_normal(s) * 300 + 500).astype(dtype) for s in shapes]

    records.append(
        OpRecord(
            "cumlogsumexp",
            lambda lax, x: lax.cumlogsumexp(x, x.ndim - 1),
            lambda x: ref_cumulative(ref_ufunc)(x, x.ndim - 1, False),
            [((3, 7),)],
            FLOAT_DTYPES,
            args_maker=big,
            tol=1e-5,
            notes="values near 500: exp overflows float32, the running logsumexp must not",
        )
    )
    return records


RECORDS: list[OpRecord] = [
    *_axis_records("reduce_sum", "reduce_sum", ref_sum, (F32, F64, I32, I8, U32)),
    *_axis_records("reduce_prod", "reduce_prod", ref_prod, (F32, F64, I32, U32)),
    *_axis_records("reduce_max", "reduce_max", ref_max, (F32, F64, I32, U32, BOOL)),
    *_axis_records("reduce_min", "reduce_min", ref_min, (F32, F64, I32, U32, BOOL)),
    *_axis_records("reduce_and", "reduce_and", ref_and, (BOOL, I32, U32), differentiable=False),
    *_axis_records("reduce_or", "reduce_or", ref_or, (BOOL, I32, U32), differentiable=False),
    *_axis_records("reduce_xor", "reduce_xor", ref_xor, (BOOL, I32, U32), differentiable=False),
    *_arg_records("argmax", np.argmax),
    *_arg_records("argmin", np.argmin),
    *_nan_records(),
    *_cumulative_records("cumsum", np.add, (F32, F64, I32, I8)),
    *_cumulative_records("cumprod", np.multiply, (F32, F64, I32)),
    *_cumulative_records("cummax", np.maximum, (F32, F64, I32, U32)),
    *_cumulative_records("cummin", np.minimum, (F32, F64, I32, U32)),
    *_cumlogsumexp_records(),
]
