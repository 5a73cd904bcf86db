"""Op records for the shape primitives: each paired with a numpy reference written independently.

A record fixes the params of one primitive, so most records here hold one operand shape (or a few
shapes that share the params). ``op`` runs on refjax.lax and jax.lax alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

F32, F64 = FLOAT_DTYPES
I32 = np.dtype(np.int32)
U8 = np.dtype(np.uint8)
BOOL = np.dtype(np.bool_)
ALL = (F32, F64, I32, U8, BOOL)  # shape ops move values: every dtype is accepted


def _record(
    name: str,
    op: Callable[..., Any],
    ref: Callable[..., Any],
    shapes: Sequence[Sequence[Shape]],
    dtypes: Sequence[np.dtype[Any]] = ALL,
    notes: str = "",
) -> OpRecord:
    """A shape record: linear in its array operands, except iota, which has none."""
    moves_values = name != "iota"
    return OpRecord(
        name,
        op,
        ref,
        shapes,
        dtypes,
        differentiable=moves_values,
        linear=moves_values,
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------
# numpy references


def ref_broadcast_in_dim(x: np.ndarray, shape: Shape, dims: Sequence[int]) -> np.ndarray:
    """Insert the missing axes as size 1, then numpy-broadcast."""
    out = x
    for axis in range(len(shape)):
        if axis not in dims:
            out = np.expand_dims(out, axis)
    return np.broadcast_to(out, shape).copy()


def ref_pad(x: np.ndarray, value: np.ndarray, config: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Interior padding by an element loop, edges by ``np.pad`` or slicing (negative)."""
    out = x
    for axis, (lo, hi, interior) in enumerate(config):
        out = _interior_pad(out, value, axis, interior)
        out = _edge_pad(out, value, axis, lo, hi)
    return out


def _interior_pad(x: np.ndarray, value: np.ndarray, axis: int, interior: int) -> np.ndarray:
    pieces = []
    gap_shape = list(x.shape)
    gap_shape[axis] = interior
    for i in range(x.shape[axis]):
        if i:
            pieces.append(np.full(gap_shape, value, x.dtype))
        pieces.append(np.take(x, [i], axis=axis))
    if not pieces:
        return x
    return np.concatenate(pieces, axis=axis)


def _edge_pad(x: np.ndarray, value: np.ndarray, axis: int, lo: int, hi: int) -> np.ndarray:
    widths = [(0, 0)] * x.ndim
    widths[axis] = (max(lo, 0), max(hi, 0))
    out = np.pad(x, widths, constant_values=value)
    stop = out.shape[axis] - max(-hi, 0)
    index = [slice(None)] * x.ndim
    index[axis] = slice(max(-lo, 0), stop)
    return out[tuple(index)]


def ref_iota(dtype: np.dtype[Any], shape: Shape, dimension: int) -> np.ndarray:
    """``np.indices`` picks the coordinate along ``dimension``."""
    return np.indices(shape)[dimension].astype(dtype)


# ---------------------------------------------------------------------------------------------
# Records


def _broadcast_records() -> list[OpRecord]:
    cases: list[tuple[Shape, Shape, tuple[int, ...]]] = [
        ((), (2, 3), ()),
        ((3,), (2, 3), (1,)),
        ((3, 1), (3, 4), (0, 1)),
        ((1, 3), (2, 0, 3), (1, 2)),
        ((2,), (2, 1, 3), (0,)),
        ((0,), (4, 0), (1,)),
    ]
    return [
        _record(
            "broadcast_in_dim",
            lambda lax, x, s=s, d=d: lax.broadcast_in_dim(x, s, d),
            lambda x, s=s, d=d: ref_broadcast_in_dim(x, s, d),
            [(operand,)],
        )
        for operand, s, d in cases
    ] + [
        _record(
            "broadcast_in_dim",
            lambda lax, x: lax.broadcast(x, (2, 0)),
            lambda x: np.broadcast_to(x, (2, 0, *x.shape)),
            [((3,),), ((),)],
            notes="lax.broadcast",
        ),
        _record(
            "broadcast_in_dim",
            lambda lax, x: lax.broadcast(x, (4,)),
            lambda x: np.broadcast_to(x, (4, *x.shape)),
            [((),), ((2, 3),)],
            notes="lax.broadcast",
        ),
        _record(
            "broadcast_in_dim",
            lambda lax, x: lax.expand_dims(x, (0, -1)),
            lambda x: np.expand_dims(x, (0, -1)),
            [((),), ((3,),), ((2, 0),)],
            notes="lax.expand_dims binds broadcast_in_dim, as in JAX",
        ),
    ]


def _reshape_records() -> list[OpRecord]:
    cases: list[tuple[Shape, Shape, tuple[int, ...] | None]] = [
        ((2, 3, 4), (6, 4), None),
        ((2, 3, 4), (24,), None),
        ((2, 3, 4), (4, 2, 3), (2, 0, 1)),
        ((2, 3), (3, 2), (1, 0)),
        ((), (1, 1), None),
        ((1,), (), None),
        ((0, 3), (3, 0), None),
        ((0, 3), (0,), (1, 0)),
    ]
    records = [
        _record(
            "reshape",
            lambda lax, x, s=s, d=d: lax.reshape(x, s, d),
            lambda x, s=s, d=d: (x if d is None else np.transpose(x, d)).reshape(s),
            [(operand,)],
        )
        for operand, s, d in cases
    ]
    records.append(
        _record(
            "reshape",
            lambda lax, x: lax.collapse(x, 1),
            lambda x: x.reshape(x.shape[0], -1),
            [((2, 3, 4),), ((2, 0),)],
            notes="lax.collapse",
        )
    )
    return records


def _squeeze_records() -> list[OpRecord]:
    cases: list[tuple[Shape, tuple[int, ...]]] = [
        ((1, 3, 1), (0, 2)),
        ((1, 3, 1), (-1,)),
        ((1,), (0,)),
        ((0, 1), (1,)),
        ((2, 1, 1, 3), (2, 1)),
    ]
    return [
        _record(
            "squeeze",
            lambda lax, x, d=d: lax.squeeze(x, d),
            lambda x, d=d: np.squeeze(x, axis=d),
            [(operand,)],
        )
        for operand, d in cases
    ]


def _transpose_records() -> list[OpRecord]:
    cases: list[tuple[Shape, tuple[int, ...]]] = [
        ((2, 3, 4), (2, 0, 1)),
        ((2, 3, 4), (1, 0, 2)),
        ((2, 3), (1, 0)),
        ((0, 2), (1, 0)),
        ((3,), (0,)),
        ((), ()),
    ]
    return [
        _record(
            "transpose",
            lambda lax, x, p=p: lax.transpose(x, p),
            lambda x, p=p: np.transpose(x, p),
            [(operand,)],
        )
        for operand, p in cases
    ]


def _rev_records() -> list[OpRecord]:
    cases: list[tuple[Shape, tuple[int, ...]]] = [
        ((2, 3, 4), (0, 2)),
        ((2, 3, 4), (1,)),
        ((5,), (0,)),
        ((0, 2), (0, 1)),
        ((), ()),
        ((2, 3), ()),
    ]
    return [
        _record(
            "rev",
            lambda lax, x, d=d: lax.rev(x, d),
            lambda x, d=d: x[
                tuple(slice(None, None, -1) if i in d else slice(None) for i in range(x.ndim))
            ],
            [(operand,)],
        )
        for operand, d in cases
    ]


def _concatenate_records() -> list[OpRecord]:
    def concat(dimension: int) -> OpRecord:
        return _record(
            "concatenate",
            lambda lax, *xs: lax.concatenate(xs, dimension),
            lambda *xs: np.concatenate(xs, axis=dimension),
            {
                0: [((2, 3), (4, 3), (0, 3)), ((1,), (2,)), ((0,), (0,)), ((2, 0), (1, 0))],
                1: [((2, 3), (2, 1)), ((2, 0, 4), (2, 3, 4), (2, 1, 4))],
                2: [((1, 2, 3), (1, 2, 2))],
            }[dimension],
        )

    return [concat(0), concat(1), concat(2)]


def _pad_records() -> list[OpRecord]:
    cases: list[tuple[Shape, tuple[tuple[int, int, int], ...]]] = [
        ((4,), ((2, 3, 0),)),
        ((4,), ((0, 0, 1),)),
        ((5,), ((-1, -2, 0),)),
        ((5,), ((-2, 1, 2),)),
        ((2, 3), ((1, 0, 1), (-1, 2, 0))),
        ((2, 3, 2), ((0, 1, 0), (1, -3, 1), (2, 0, 3))),
        ((0, 2), ((1, 1, 2), (0, 0, 0))),
        ((), ()),
        ((3,), ((-3, 0, 0),)),
    ]
    return [
        _record(
            "pad",
            lambda lax, x, v, c=c: lax.pad(x, v, c),
            lambda x, v, c=c: ref_pad(x, v, c),
            [(operand, ())],
        )
        for operand, c in cases
    ]


def _iota_records() -> list[OpRecord]:
    records = []
    for dtype in (I32, F32, F64, U8, np.dtype(np.int64)):
        records.append(
            _record(
                "iota",
                lambda lax, dt=dtype: lax.iota(dt, 5),
                lambda dt=dtype: np.arange(5, dtype=dt),
                [()],
                [dtype],
            )
        )
        for shape, dimension in [((2, 3), 1), ((2, 3, 4), 0), ((0, 3), 1), ((4,), 0)]:
            records.append(
                _record(
                    "iota",
                    lambda lax, dt=dtype, s=shape, d=dimension: lax.broadcasted_iota(dt, s, d),
                    lambda dt=dtype, s=shape, d=dimension: ref_iota(dt, s, d),
                    [()],
                    [dtype],
                    notes="lax.broadcasted_iota",
                )
            )
    records.append(
        _record(
            "iota",
            lambda lax: lax.iota(np.int32, 0),
            lambda: np.zeros(0, np.int32),
            [()],
            [I32],
        )
    )
    return records


def _stack_split_tile_records() -> list[OpRecord]:
    """JAX 0.10's stack, unstack, split and tile primitives (references: numpy's)."""
    return [
        _record("stack", lambda lax, *xs: lax.stack(xs, 0), lambda *xs: np.stack(xs, 0),
                [((2, 3), (2, 3)), ((3,), (3,), (3,)), ((0, 2), (0, 2))]),
        _record("stack", lambda lax, *xs: lax.stack(xs, -1), lambda *xs: np.stack(xs, -1),
                [((2, 3), (2, 3)), ((4,),)], notes="last axis"),
        _record("unstack", lambda lax, x: lax.unstack(x, 1),
                lambda x: [x[:, i] for i in range(x.shape[1])], [((2, 3),), ((1, 2, 2),)]),
        _record("split", lambda lax, x: lax.split(x, (1, 0, 2), 1),
                lambda x: [x[:, :1], x[:, 1:1], x[:, 1:]], [((2, 3),), ((0, 3, 2),)]),
        _record("split", lambda lax, x: lax.split(x, (2, 2), 0),
                lambda x: [x[:2], x[2:]], [((4,),), ((4, 3),)], notes="axis 0"),
        _record("tile", lambda lax, x: lax.tile(x, (2, 1, 3)[: x.ndim]),
                lambda x: np.tile(x, (2, 1, 3)[: x.ndim]), [((2, 3),), ((3,),), ((1, 2, 2),)]),
    ]


RECORDS: list[OpRecord] = [
    *_stack_split_tile_records(),
    *_broadcast_records(),
    *_reshape_records(),
    *_squeeze_records(),
    *_transpose_records(),
    *_rev_records(),
    *_concatenate_records(),
    *_pad_records(),
    *_iota_records(),
]
