"""Op records for the indexing primitives: slicing, gather, scatter, sort and top_k.

The record's dtype is the data operand's; index operands are always int32, made by the record's
args maker (in range for PROMISE_IN_BOUNDS, partly out of range where a mode says what happens).
References are loops or plain numpy indexing, written without the gather/scatter picture the
implementation uses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape, random_values

F32, F64 = FLOAT_DTYPES
I32 = np.dtype(np.int32)
U8 = np.dtype(np.uint8)
BOOL = np.dtype(np.bool_)
ALL = (F32, F64, I32, U8, BOOL)  # moving values: every dtype is accepted
ARITH = (F32, F64, I32, U8)

IndexFn = Callable[[np.random.Generator, Shape, Shape], np.ndarray]  # (rng, shape, data shape)


def data_and_indices(index_fn: IndexFn) -> Callable[..., list[np.ndarray]]:
    """Args maker: the first shape is data of the record's dtype, the others int32 indices."""

    def make(
        rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
    ) -> list[np.ndarray]:
        data = random_values(rng, shapes[0], dtype)
        return [data] + [index_fn(rng, s, shapes[0]).astype(np.int32) for s in shapes[1:]]

    return make


def indices_below(size_of: Callable[[Shape], int], slack: int = 0) -> IndexFn:
    """Indices in ``[-slack, size + slack)`` for ``size = size_of(data shape)``."""

    def make(rng: np.random.Generator, shape: Shape, data_shape: Shape) -> np.ndarray:
        return rng.integers(-slack, size_of(data_shape) + slack, shape)

    return make


def dim(i: int) -> Callable[[Shape], int]:
    """The size of dim ``i`` of the data."""
    return lambda shape: shape[i]


# ---------------------------------------------------------------------------------------------
# slice, dynamic_slice, dynamic_update_slice


def _slice_bounds(shape: Shape) -> tuple[list[int], list[int], list[int]]:
    """Start a third of the way in, run to the end, step 2 (any shape, size-0 dims included)."""
    return [d // 3 for d in shape], list(shape), [2] * len(shape)


def ref_strided_slice(x: np.ndarray) -> np.ndarray:
    """Element loop: output (i, j, ...) is input (start + 2 i, start + 2 j, ...)."""
    starts, limits, _ = _slice_bounds(x.shape)
    out_shape = tuple(len(range(s, lim, 2)) for s, lim in zip(starts, limits, strict=True))
    out = np.empty(out_shape, x.dtype)
    for pos in np.ndindex(*out_shape):
        out[pos] = x[tuple(s + 2 * p for s, p in zip(starts, pos, strict=True))]
    return out


def _clamped_start(i: int, size: int, window: int) -> int:
    """JAX: a negative start counts from the end once; XLA then clamps the window into range."""
    start = i + size if i < 0 else i
    return min(max(start, 0), size - window)


def _dynamic_sizes(shape: Shape) -> list[int]:
    return [(d + 1) // 2 for d in shape]


def ref_dynamic_slice(x: np.ndarray, *starts: np.ndarray) -> np.ndarray:
    """Clamp each start by hand, then cut with Python slices."""
    sizes = _dynamic_sizes(x.shape)
    begin = [_clamped_start(int(i), d, n) for i, d, n in zip(starts, x.shape, sizes, strict=True)]
    return x[tuple(slice(b, b + n) for b, n in zip(begin, sizes, strict=True))]


def ref_dynamic_update_slice(x: np.ndarray, update: np.ndarray, *starts: np.ndarray) -> np.ndarray:
    """Element loop over the update, at clamped starts."""
    out = np.array(x)
    dims = zip(starts, x.shape, update.shape, strict=True)
    begin = [_clamped_start(int(i), d, n) for i, d, n in dims]
    for pos in np.ndindex(*update.shape):
        out[tuple(b + p for b, p in zip(begin, pos, strict=True))] = update[pos]
    return out


def _start_indices(rng: np.random.Generator, shapes: Sequence[Shape]) -> list[np.ndarray]:
    """One scalar start per operand dim, from -2 size to 2 size (so clamping is exercised).

    The record's shapes list the scalar starts after the data operands; they are made here.
    """
    return [np.int32(rng.integers(-2 * d - 1, 2 * d + 2)) for d in shapes[0]]


def _dynamic_slice_args(
    rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> list[np.ndarray]:
    return [random_values(rng, shapes[0], dtype), *_start_indices(rng, shapes)]


def _dynamic_update_args(
    rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> list[np.ndarray]:
    data, update = (random_values(rng, s, dtype) for s in shapes[:2])
    return [data, update, *_start_indices(rng, shapes)]


def _slice_records() -> list[OpRecord]:
    shapes = [((7,),), ((4, 5),), ((3, 0, 4),), ((),)]
    return [
        OpRecord(
            "slice",
            lambda lax, x: lax.slice(x, *_slice_bounds(x.shape)),
            ref_strided_slice,
            shapes,
            ALL,
            linear=True,
        ),
        OpRecord(
            "slice",
            lambda lax, x: lax.slice(x, [min(1, d) for d in x.shape], x.shape),
            lambda x: x[tuple(slice(min(1, d), d) for d in x.shape)],
            shapes,
            (F32, I32),
            linear=True,
            notes="strides=None",
        ),
        OpRecord(
            "slice",
            lambda lax, x: lax.slice_in_dim(x, -3, None, 2, axis=1),
            lambda x: x[:, -3::2],
            [((2, 5),), ((3, 4, 2),)],
            (F32,),
            linear=True,
            notes="lax.slice_in_dim",
        ),
    ]


def _with_starts(*shapes: Shape) -> tuple[Shape, ...]:
    """Operand shapes followed by one scalar shape per start index (so vmap batches them too)."""
    return (*shapes, *[()] * len(shapes[0]))


def _dynamic_slice_records() -> list[OpRecord]:
    shapes = [_with_starts(s) for s in [(9,), (4, 5), (3, 0, 4), ()]]
    update_shapes = [
        ((9,), (4,)),
        ((4, 5), (2, 5)),
        ((3, 0, 4), (1, 0, 4)),
        ((), ()),
        ((3, 2), (0, 1)),
    ]
    return [
        OpRecord(
            "dynamic_slice",
            lambda lax, x, *i: lax.dynamic_slice(x, i, _dynamic_sizes(x.shape)),
            ref_dynamic_slice,
            shapes,
            ALL,
            args_maker=_dynamic_slice_args,
            linear=True,
            notes="starts from -2 size to 2 size: wrapped once, then clamped",
        ),
        OpRecord(
            "dynamic_update_slice",
            lambda lax, x, u, *i: lax.dynamic_update_slice(x, u, i),
            ref_dynamic_update_slice,
            [_with_starts(*pair) for pair in update_shapes],
            ALL,
            args_maker=_dynamic_update_args,
            linear=True,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# gather


def _row_gather(lax: Any, x: Any, idx: Any, mode: str | None = None, fill: Any = None) -> Any:
    """``x[idx[..., 0]]`` as jnp writes it: rows of ``x`` at each index."""
    nb = idx.ndim - 1
    dnums = lax.GatherDimensionNumbers(
        offset_dims=tuple(range(nb, nb + x.ndim - 1)),
        collapsed_slice_dims=(0,),
        start_index_map=(0,),
    )
    return lax.gather(x, idx, dnums, (1, *x.shape[1:]), mode=mode, fill_value=fill)


def fill_value(dtype: np.dtype[Any]) -> Any:
    """JAX's default fill for out-of-range gathers."""
    if np.issubdtype(dtype, np.inexact):
        return np.nan
    if dtype == np.bool_:
        return True
    return np.iinfo(dtype).min if np.issubdtype(dtype, np.signedinteger) else np.iinfo(dtype).max


def ref_row_gather(
    x: np.ndarray, idx: np.ndarray, mode: str = "clip", fill: Any = None
) -> np.ndarray:
    """Loop over index positions: clamp (``clip``) or fill (``fill``) out-of-range rows."""
    out = np.empty(idx.shape[:-1] + x.shape[1:], x.dtype)
    for pos in np.ndindex(*idx.shape[:-1]):
        i = int(idx[pos][0])
        if 0 <= i < x.shape[0] or mode == "clip":
            out[pos] = x[min(max(i, 0), x.shape[0] - 1)]
        else:
            out[pos] = fill_value(x.dtype) if fill is None else fill
    return out


def _column_gather(lax: Any, x: Any, idx: Any) -> Any:
    """``x[:, idx[..., 0]]``: the batch dims land after the first dim."""
    nb = idx.ndim - 1
    dnums = lax.GatherDimensionNumbers(
        offset_dims=(0, *range(nb + 1, nb + x.ndim - 1)),
        collapsed_slice_dims=(1,),
        start_index_map=(1,),
    )
    return lax.gather(x, idx, dnums, (x.shape[0], 1, *x.shape[2:]))


def _take_along_axis(lax: Any, x: Any, idx: Any) -> Any:
    """``take_along_axis(x, idx[..., 0], axis=1)``: dim 0 is a batching dim of both."""
    dnums = lax.GatherDimensionNumbers(
        offset_dims=(),
        collapsed_slice_dims=(1,),
        start_index_map=(1,),
        operand_batching_dims=(0,),
        start_indices_batching_dims=(0,),
    )
    return lax.gather(x, idx, dnums, (1, 1))


def _inner_batch_gather(lax: Any, x: Any, idx: Any) -> Any:
    """Operand (n, b, c), indices (k, b, 1): out[k, j] = x[idx[k, j], j] (batching dim 1)."""
    dnums = lax.GatherDimensionNumbers(
        offset_dims=(2,),
        collapsed_slice_dims=(0,),
        start_index_map=(0,),
        operand_batching_dims=(1,),
        start_indices_batching_dims=(1,),
    )
    return lax.gather(x, idx, dnums, (1, 1, x.shape[2]))


def ref_inner_batch_gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Loop over (k, j)."""
    out = np.empty((idx.shape[0], idx.shape[1], x.shape[2]), x.dtype)
    for k, j in np.ndindex(*idx.shape[:2]):
        out[k, j] = x[idx[k, j, 0], j]
    return out


WINDOW = (2, 3)


def _window_gather(mode: str) -> Callable[..., Any]:
    """2x3 windows of a matrix at (column, row) index pairs; batch (b0, b1), window (w0, w1)."""

    def op(lax: Any, x: Any, idx: Any) -> Any:
        dnums = lax.GatherDimensionNumbers(
            offset_dims=(1, 3), collapsed_slice_dims=(), start_index_map=(1, 0)
        )
        return lax.gather(x, idx, dnums, WINDOW, mode=mode)

    return op


def ref_window_gather(mode: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Loop over the 2-D batch: cut each window by hand; output dims (b0, w0, b1, w1)."""

    def ref(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        windows = np.empty(idx.shape[:2] + WINDOW, x.dtype)
        for b in np.ndindex(*idx.shape[:2]):
            col, row = (int(v) for v in idx[b])
            hi_row, hi_col = x.shape[0] - WINDOW[0], x.shape[1] - WINDOW[1]
            if mode == "fill" and not (0 <= row <= hi_row and 0 <= col <= hi_col):
                windows[b] = fill_value(x.dtype)
                continue
            row, col = min(max(row, 0), hi_row), min(max(col, 0), hi_col)
            windows[b] = x[row : row + WINDOW[0], col : col + WINDOW[1]]
        return windows.transpose(0, 2, 1, 3)

    return ref


def _pair_indices(rng: np.random.Generator, shape: Shape, data_shape: Shape) -> np.ndarray:
    """(column, row) pairs, each from -2 to 2 past the last valid window start."""
    cols = rng.integers(-2, data_shape[1] - WINDOW[1] + 3, shape[:-1])
    rows = rng.integers(-2, data_shape[0] - WINDOW[0] + 3, shape[:-1])
    return np.stack([cols, rows], axis=-1)


def _gather_records() -> list[OpRecord]:
    in_rows = data_and_indices(indices_below(dim(0)))
    rows_slack = data_and_indices(indices_below(dim(0), slack=3))
    row_shapes = [((5, 3), (4, 1)), ((5,), (2, 3, 1)), ((4, 2, 3), (0, 1)), ((3, 2), (1,))]
    return [
        OpRecord(
            "gather",
            _row_gather,
            ref_row_gather,
            row_shapes,
            ALL,
            args_maker=in_rows,
            linear=True,
            notes="x[idx]",
        ),
        OpRecord(
            "gather",
            lambda lax, x, i: _row_gather(lax, x, i, "clip"),
            lambda x, i: ref_row_gather(x, i, "clip"),
            row_shapes[:2],
            (F32, I32),
            args_maker=rows_slack,
            linear=True,
            notes="mode=clip",
        ),
        OpRecord(
            "gather",
            lambda lax, x, i: _row_gather(lax, x, i, "fill"),
            lambda x, i: ref_row_gather(x, i, "fill"),
            row_shapes[:2],
            ALL,
            args_maker=rows_slack,
            differentiable=False,  # NaN fill: finite differences are NaN (see fill_value=0)
            linear=True,
            notes="mode=fill: NaN, int min, uint max, True",
        ),
        OpRecord(
            "gather",
            lambda lax, x, i: _row_gather(lax, x, i, "fill", 0),
            lambda x, i: ref_row_gather(x, i, "fill", 0),
            row_shapes[:2],
            (F32, F64),
            args_maker=rows_slack,
            linear=True,
            notes="mode=fill, fill_value=0: out-of-range rows have zero derivative",
        ),
        OpRecord(
            "gather",
            _column_gather,
            lambda x, i: np.take(x, i[..., 0], axis=1),
            [((3, 5), (4, 1)), ((2, 5, 3), (2, 2, 1))],
            (F32, I32, BOOL),
            args_maker=data_and_indices(indices_below(dim(1))),
            linear=True,
            notes="x[:, idx]",
        ),
        OpRecord(
            "gather",
            _take_along_axis,
            lambda x, i: np.take_along_axis(x, i[..., 0], axis=1),
            [((3, 6), (3, 4, 1)), ((2, 5), (2, 0, 1))],
            (F32, F64, I32),
            args_maker=data_and_indices(indices_below(dim(1))),
            linear=True,
            notes="take_along_axis: operand_batching_dims",
        ),
        OpRecord(
            "gather",
            _inner_batch_gather,
            ref_inner_batch_gather,
            [((5, 3, 2), (4, 3, 1))],
            (F32, I32),
            args_maker=data_and_indices(indices_below(dim(0))),
            linear=True,
            notes="batching dims that are not leading",
        ),
        *(
            OpRecord(
                "gather",
                _window_gather(mode),
                ref_window_gather(mode),
                [((6, 7), (2, 3, 2)), ((2, 3), (1, 4, 2))],
                (F32, I32),
                args_maker=data_and_indices(_pair_indices),
                linear=True,
                notes=f"2-D windows, mode={mode}",
            )
            for mode in ("clip", "fill")
        ),
    ]


# ---------------------------------------------------------------------------------------------
# scatter

Combine = Callable[[np.ndarray, np.ndarray], np.ndarray]
COMBINES: dict[str, Combine] = {
    "scatter": lambda old, new: new,
    "scatter_add": lambda old, new: old + new,
    "scatter_sub": lambda old, new: old - new,
    "scatter_mul": lambda old, new: old * new,
    "scatter_min": np.minimum,
    "scatter_max": np.maximum,
}
PRIMITIVE_NAMES = {name: name.replace("_", "-") for name in COMBINES}


def _row_scatter(name: str, mode: str | None, unique: bool = False) -> Callable[..., Any]:
    """``x.at[idx[..., 0]].<op>(updates)``: whole rows of ``x``."""

    def op(lax: Any, x: Any, idx: Any, updates: Any) -> Any:
        nb = idx.ndim - 1
        dnums = lax.ScatterDimensionNumbers(
            update_window_dims=tuple(range(nb, nb + x.ndim - 1)),
            inserted_window_dims=(0,),
            scatter_dims_to_operand_dims=(0,),
        )
        return getattr(lax, name)(x, idx, updates, dnums, mode=mode, unique_indices=unique)

    return op


def ref_row_scatter(name: str, mode: str | None) -> Callable[..., np.ndarray]:
    """Sequential loop over the updates: clamp (clip) or drop out-of-range rows."""
    combine = COMBINES[name]

    def ref(x: np.ndarray, idx: np.ndarray, updates: np.ndarray) -> np.ndarray:
        out = x.copy()
        for pos in np.ndindex(*idx.shape[:-1]):
            i = int(idx[pos][0])
            if mode == "clip":
                i = min(max(i, 0), x.shape[0] - 1)
            elif not 0 <= i < x.shape[0]:
                continue
            with np.errstate(all="ignore"):
                out[i] = combine(out[i], updates[pos])
        return out

    return ref


def _scatter_args(slack: int, axis: int = 0) -> Callable[..., list[np.ndarray]]:
    """Operand and updates of the record's dtype; indices into ``axis``, often repeated."""

    def make(
        rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
    ) -> list[np.ndarray]:
        x_shape, idx_shape, upd_shape = shapes
        idx = rng.integers(-slack, x_shape[axis] + slack, idx_shape).astype(np.int32)
        return [random_values(rng, x_shape, dtype), idx, random_values(rng, upd_shape, dtype)]

    return make


ROW_SCATTER_SHAPES = [
    ((5, 3), (6, 1), (6, 3)),
    ((4,), (5, 1), (5,)),
    ((5, 2), (0, 1), (0, 2)),
    ((3, 2, 2), (2, 3, 1), (2, 3, 2, 2)),
]


def _unique_scatter_args(
    rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> list[np.ndarray]:
    """Distinct in-range rows (for ``unique_indices=True``)."""
    x_shape, idx_shape, upd_shape = shapes
    rows = rng.permutation(x_shape[0])[: math.prod(idx_shape)].reshape(idx_shape)
    return [
        random_values(rng, x_shape, dtype),
        rows.astype(np.int32),
        random_values(rng, upd_shape, dtype),
    ]


UNIQUE_SCATTER_SHAPES = [((5, 3), (4, 1), (4, 3)), ((4,), (3, 1), (3,)), ((3, 2), (0, 1), (0, 2))]


def _row_scatter_records() -> list[OpRecord]:
    dtypes = {"scatter": ALL, "scatter_min": ALL, "scatter_max": ALL}
    records = []
    for name in COMBINES:
        for mode, slack in ((None, 2), ("clip", 2), ("promise_in_bounds", 0)):
            records.append(
                OpRecord(
                    PRIMITIVE_NAMES[name],
                    _row_scatter(name, mode),
                    ref_row_scatter(name, mode),
                    ROW_SCATTER_SHAPES if mode is None else ROW_SCATTER_SHAPES[:2],
                    dtypes.get(name, ARITH) if mode is None else (F32, I32),
                    args_maker=_scatter_args(slack),
                    # JAX differentiates scatter_mul's updates only with unique_indices=True
                    differentiable=name != "scatter_mul",
                    linear=name in ("scatter_add", "scatter_sub"),
                    notes=f"duplicate rows, mode={mode}",
                )
            )
    for name in ("scatter", "scatter_mul", "scatter_add"):
        records.append(
            OpRecord(
                PRIMITIVE_NAMES[name],
                _row_scatter(name, None, unique=True),
                ref_row_scatter(name, None),
                UNIQUE_SCATTER_SHAPES,
                (F32, F64),
                args_maker=_unique_scatter_args,
                linear=name == "scatter_add",
                notes="unique_indices=True (distinct rows)",
            )
        )
    return records


def _batched_scatter_add(lax: Any, x: Any, idx: Any, updates: Any) -> Any:
    """out[b, idx[b, k]] += updates[b, k]: dim 0 batches operand, indices and updates."""
    dnums = lax.ScatterDimensionNumbers(
        update_window_dims=(),
        inserted_window_dims=(1,),
        scatter_dims_to_operand_dims=(1,),
        operand_batching_dims=(0,),
        scatter_indices_batching_dims=(0,),
    )
    return lax.scatter_add(x, idx, updates, dnums)


def ref_batched_scatter_add(x: np.ndarray, idx: np.ndarray, updates: np.ndarray) -> np.ndarray:
    """Loop over (b, k), dropping out-of-range indices."""
    out = x.copy()
    for b, k in np.ndindex(*idx.shape[:2]):
        i = int(idx[b, k, 0])
        if 0 <= i < x.shape[1]:
            out[b, i] += updates[b, k]
    return out


def _scatter_records() -> list[OpRecord]:
    return [
        *_row_scatter_records(),
        OpRecord(
            "scatter-add",
            _batched_scatter_add,
            ref_batched_scatter_add,
            [((3, 6), (3, 4, 1), (3, 4)), ((2, 3), (2, 0, 1), (2, 0))],
            (F32, I32),
            args_maker=_scatter_args(2, axis=1),
            linear=True,
            notes="operand_batching_dims",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# sort and top_k

FLOAT_SPECIALS = (-np.inf, -1.5, -0.0, 0.0, 1.5, 2.0, np.inf, np.nan, -np.nan)


def tie_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Values with many ties: float specials (signed zeros, infinities, NaNs of both signs)."""
    if np.issubdtype(dtype, np.floating):
        return rng.choice(np.array(FLOAT_SPECIALS), shape).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    low = 0 if np.issubdtype(dtype, np.unsignedinteger) else -3
    return rng.integers(low, 3, shape).astype(dtype)


def _sort_args(
    rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> list[np.ndarray]:
    """Keys with ties of the record's dtype, a second int32 key, then distinct int32 values."""
    keys = tie_values(rng, shapes[0], dtype)
    second = tie_values(rng, shapes[0], I32)
    values = np.arange(math.prod(shapes[0]), dtype=np.int32).reshape(shapes[0])
    return [keys, second, values][: len(shapes)]


def sort_key(v: Any) -> tuple[int, Any]:
    """Ascending key in lax.sort's order: NaNs (either sign) last and tied, -0.0 ties 0.0."""
    if isinstance(v, float) and math.isnan(v):
        return (1, 0.0)
    return (0, v)


def ref_sort(num_keys: int, axis: int) -> Callable[..., list[np.ndarray]]:
    """Python's stable ``sorted`` on each lane along ``axis``, keys compared as tuples."""

    def ref(*operands: np.ndarray) -> list[np.ndarray]:
        moved = [np.moveaxis(x, axis, -1) for x in operands]
        outs = [np.empty_like(x) for x in moved]
        for lane in np.ndindex(*moved[0].shape[:-1]):
            rows = [x[lane].tolist() for x in moved]
            order = sorted(
                range(len(rows[0])),
                key=lambda i: tuple(sort_key(rows[k][i]) for k in range(num_keys)),
            )
            for out, row in zip(outs, rows, strict=True):
                out[lane] = [row[i] for i in order]
        return [np.moveaxis(x, -1, axis) for x in outs]

    return ref


def total_order_key(v: Any) -> tuple[int, Any, int]:
    """IEEE total order: -NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN."""
    if isinstance(v, float) and math.isnan(v):
        return (-1 if math.copysign(1.0, v) < 0 else 1, 0.0, 0)
    sign = int(math.copysign(1.0, v) > 0) if isinstance(v, float) else 0
    return (0, v, sign)


def ref_top_k(k: int) -> Callable[[np.ndarray], list[np.ndarray]]:
    """Stable descending ``sorted`` over the last axis (equal values keep index order)."""

    def ref(x: np.ndarray) -> list[np.ndarray]:
        shape = (*x.shape[:-1], k)
        values, indices = np.empty(shape, x.dtype), np.empty(shape, np.int32)
        for lane in np.ndindex(*x.shape[:-1]):
            row = x[lane].tolist()
            order = sorted(range(len(row)), key=lambda i: total_order_key(row[i]), reverse=True)
            values[lane] = [row[i] for i in order[:k]]
            indices[lane] = order[:k]
        return [values, indices]

    return ref


def distinct_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Values at least 1 apart (a shuffled, shifted iota): sorting is differentiable there."""
    values = rng.permutation(math.prod(shape)).reshape(shape) - math.prod(shape) / 2
    return (values + rng.uniform(0.0, 0.5, shape)).astype(dtype)


def _distinct_first(
    rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> list[np.ndarray]:
    """Distinct keys first, then random values of the same dtype."""
    return [distinct_values(rng, shapes[0], dtype)] + [
        random_values(rng, s, dtype) for s in shapes[1:]
    ]


def _differentiable_sort_records() -> list[OpRecord]:
    """Sorts of distinct float keys (the tie records above have no finite differences)."""
    shapes = [(9,), (3, 8), (4, 1)]
    return [
        OpRecord(
            "sort",
            lambda lax, x: lax.sort(x),
            lambda x: ref_sort(1, -1)(x)[0],
            [(s,) for s in shapes],
            FLOAT_DTYPES,
            args_maker=_distinct_first,
            notes="distinct keys",
        ),
        OpRecord(
            "sort",
            lambda lax, k, v: lax.sort_key_val(k, v, dimension=0),
            lambda k, v: ref_sort(1, 0)(k, v),
            [(s, s) for s in shapes],
            FLOAT_DTYPES,
            args_maker=_distinct_first,
            notes="sort_key_val, distinct keys, float values",
        ),
        OpRecord(
            "sort",
            lambda lax, *xs: lax.sort(xs, dimension=1, num_keys=2),
            lambda *xs: ref_sort(2, 1)(*xs),
            [((3, 5),) * 3],
            FLOAT_DTYPES,
            args_maker=_distinct_first,
            notes="three float operands, two keys, distinct first key",
        ),
        OpRecord(
            "top_k",
            lambda lax, x: lax.top_k(x, 3)[0],
            lambda x: ref_top_k(3)(x)[0],
            [((9,),), ((3, 8),)],
            FLOAT_DTYPES,
            args_maker=_distinct_first,
            notes="values of top_k, distinct inputs",
        ),
    ]


def _sort_records() -> list[OpRecord]:
    shapes = [(9,), (3, 8), (0, 3), (4, 1)]
    return [
        OpRecord(
            "sort",
            lambda lax, x: lax.sort(x),
            lambda x: ref_sort(1, -1)(x)[0],
            [(s,) for s in shapes],
            ALL,
            args_maker=_sort_args,
            differentiable=False,  # ties, infinities and NaNs: see the distinct-keys records
            notes="NaNs last, -0.0 ties 0.0",
        ),
        OpRecord(
            "sort",
            lambda lax, x: lax.sort(x, dimension=0),
            lambda x: ref_sort(1, 0)(x)[0],
            [((7, 3),), ((0, 2),)],
            (F32, I32),
            args_maker=_sort_args,
            differentiable=False,
        ),
        OpRecord(
            "sort",
            lambda lax, k, _, v: lax.sort_key_val(k, v),
            lambda k, _, v: ref_sort(1, -1)(k, v),
            [(s, s, s) for s in shapes],
            ALL,
            args_maker=_sort_args,
            differentiable=False,
            notes="sort_key_val: stable, values follow keys",
        ),
        OpRecord(
            "sort",
            lambda lax, *xs: lax.sort(xs, dimension=0, num_keys=2),
            lambda *xs: ref_sort(2, 0)(*xs),
            [((9, 2),) * 3, ((0, 3),) * 3],
            (F32, F64, I32, BOOL),
            args_maker=_sort_args,
            differentiable=False,
            notes="three operands, two keys",
        ),
        *(
            OpRecord(
                "top_k",
                lambda lax, x, k=k: lax.top_k(x, k),
                ref_top_k(k),
                shapes,
                ALL,
                args_maker=lambda rng, s, d: [tie_values(rng, s[0], d)],
                differentiable=False,
                notes="NaN largest, -NaN smallest, ties by index",
            )
            for k, shapes in ((3, [((9,),), ((3, 8),), ((0, 4),)]), (0, [((2, 3),)]))
        ),
    ]


RECORDS: list[OpRecord] = [
    *_slice_records(),
    *_dynamic_slice_records(),
    *_gather_records(),
    *_scatter_records(),
    *_sort_records(),
    *_differentiable_sort_records(),
]
