"""Numpy implementations of the indexing primitives (XLA's semantics, not numpy's).

Gather and scatter share one picture: the index array holds, for each position of its batch
dims, the start of a window in the operand. ``_window_starts`` turns indices into full start
vectors (one row per window), ``_window_index`` turns starts into fancy indices of shape
``(windows, *window_sizes)``; gather reads through them and scatter writes through them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.core import Jaxpr, NDArray, Primitive
from refjax.primitives import gather_scatter as gs
from refjax.primitives import slicing as sl
from refjax.primitives.gather_scatter import (
    GatherDimensionNumbers,
    GatherScatterMode,
    ScatterDimensionNumbers,
)
from refjax.primitives.sorting import sort_p, top_k_p

# ---------------------------------------------------------------------------------------------
# slice, dynamic_slice, dynamic_update_slice


@register(sl.slice_p)
def _slice(
    x: NDArray,
    *,
    start_indices: tuple[int, ...],
    limit_indices: tuple[int, ...],
    strides: tuple[int, ...] | None,
) -> NDArray:
    steps = strides or (1,) * x.ndim
    window = tuple(
        np.s_[s:lim:st] for s, lim, st in zip(start_indices, limit_indices, steps, strict=True)
    )
    return x[window].copy()


def clamped_starts(
    shape: tuple[int, ...], sizes: tuple[int, ...], starts: Sequence[NDArray]
) -> list[int]:
    """XLA's rule: each start is clamped into ``[0, dim - size]`` so the window fits."""
    return [int(np.clip(int(s), 0, d - n)) for s, d, n in zip(starts, shape, sizes, strict=True)]


@register(sl.dynamic_slice_p)
def _dynamic_slice(x: NDArray, *starts: NDArray, slice_sizes: tuple[int, ...]) -> NDArray:
    begin = clamped_starts(x.shape, slice_sizes, starts)
    window = tuple(np.s_[b : b + n] for b, n in zip(begin, slice_sizes, strict=True))
    return x[window].copy()


@register(sl.dynamic_update_slice_p)
def _dynamic_update_slice(x: NDArray, update: NDArray, *starts: NDArray) -> NDArray:
    begin = clamped_starts(x.shape, update.shape, starts)
    window = tuple(np.s_[b : b + n] for b, n in zip(begin, update.shape, strict=True))
    out = x.copy()
    out[window] = update
    return out


# ---------------------------------------------------------------------------------------------
# Windows shared by gather and scatter


def _window_starts(
    operand_shape: tuple[int, ...],
    indices: NDArray,
    index_map: tuple[int, ...],
    batching: tuple[tuple[int, ...], tuple[int, ...]],
    window_sizes: tuple[int, ...],
) -> tuple[NDArray, NDArray]:
    """Start vectors ``(windows, ndim)`` (clamped to fit) and which windows were in range.

    ``batching`` pairs the operand's batching dims with the indices' batching dims: along
    those, a window starts at its own position in the indices' batch dims.
    """
    batch_shape = indices.shape[:-1]
    flat = indices.reshape(math.prod(batch_shape), indices.shape[-1]).astype(np.int64)
    upper = np.array([operand_shape[d] - window_sizes[d] for d in index_map], np.int64)
    in_range = np.all((flat >= 0) & (flat <= upper), axis=1)
    starts = np.zeros((flat.shape[0], len(operand_shape)), np.int64)
    starts[:, list(index_map)] = np.clip(flat, 0, np.maximum(upper, 0))
    if batching[0]:
        positions = np.unravel_index(np.arange(flat.shape[0]), batch_shape)
        for operand_dim, indices_dim in zip(*batching, strict=True):
            starts[:, operand_dim] = positions[indices_dim]
    return starts, in_range


def _window_index(starts: NDArray, window_sizes: tuple[int, ...]) -> tuple[NDArray, ...]:
    """Fancy indices, one per operand dim, broadcasting to ``(windows, *window_sizes)``."""
    ndim = len(window_sizes)
    index = []
    for d, size in enumerate(window_sizes):
        offsets = np.arange(size).reshape([size if k == d else 1 for k in range(ndim)])
        index.append(starts[:, d].reshape((len(starts),) + (1,) * ndim) + offsets[None])
    return tuple(index)


def _read_windows(operand: NDArray, starts: NDArray, window_sizes: tuple[int, ...]) -> NDArray:
    """The windows at ``starts``: an array ``(windows, *window_sizes)``."""
    if operand.ndim == 0:
        return np.broadcast_to(operand, (starts.shape[0],)).copy()
    return operand[_window_index(starts, window_sizes)]


def _fill(dtype: np.dtype[Any], value: complex | None) -> NDArray:
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(value).astype(dtype)


# ---------------------------------------------------------------------------------------------
# gather


@register(gs.gather_p)
def _gather(
    operand: NDArray,
    indices: NDArray,
    *,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: tuple[int, ...],
    unique_indices: bool,
    indices_are_sorted: bool,
    mode: GatherScatterMode,
    fill_value: complex | None,
) -> NDArray:
    dnums = dimension_numbers
    if mode is GatherScatterMode.ONE_HOT:
        raise NotImplementedError("gather with mode ONE_HOT is not implemented")
    batching = (dnums.operand_batching_dims, dnums.start_indices_batching_dims)
    starts, in_range = _window_starts(
        operand.shape, indices, dnums.start_index_map, batching, slice_sizes
    )
    windows = _read_windows(operand, starts, slice_sizes)
    if mode is GatherScatterMode.FILL_OR_DROP:
        windows[~in_range] = _fill(operand.dtype, fill_value)
    kept = gs.window_dims(dnums, operand.ndim)
    batch_shape = indices.shape[:-1]
    grouped_shape = batch_shape + tuple(slice_sizes[d] for d in kept)
    if windows.size != math.prod(grouped_shape):  # a batching dim with slice size 0: XLA's zeros
        windows = np.zeros(grouped_shape, operand.dtype)
    grouped = windows.reshape(grouped_shape)
    return np.transpose(grouped, _gather_output_order(dnums.offset_dims, len(batch_shape)))


def _gather_output_order(offset_dims: tuple[int, ...], n_batch: int) -> list[int]:
    """Where each output dim comes from in the (batch dims, window dims) layout."""
    batch, window = iter(range(n_batch)), iter(range(n_batch, n_batch + len(offset_dims)))
    rank = n_batch + len(offset_dims)
    return [next(window) if i in offset_dims else next(batch) for i in range(rank)]


# ---------------------------------------------------------------------------------------------
# scatter: the same windows, written through a combiner

# How each scatter combines an entry with an update (None: the update replaces it).
_COMBINERS: Final[dict[Primitive, np.ufunc | None]] = {
    gs.scatter_p: None,
    gs.scatter_add_p: np.add,
    gs.scatter_sub_p: np.subtract,
    gs.scatter_mul_p: np.multiply,
    gs.scatter_min_p: np.minimum,
    gs.scatter_max_p: np.maximum,
}


def _scatter_window_sizes(
    operand: NDArray, updates: NDArray, dnums: ScatterDimensionNumbers
) -> tuple[int, ...]:
    """The window in operand dims: the updates' window sizes, 1 for inserted/batching dims."""
    sizes = [1] * operand.ndim
    kept = gs.window_dims(dnums, operand.ndim)
    for operand_dim, updates_dim in zip(kept, dnums.update_window_dims, strict=True):
        sizes[operand_dim] = updates.shape[updates_dim]
    return tuple(sizes)


def _updates_by_window(
    updates: NDArray, dnums: ScatterDimensionNumbers, window_sizes: tuple[int, ...]
) -> NDArray:
    """``updates`` as ``(windows, *window_sizes)``: scatter dims first, then window dims."""
    scatter_dims = [d for d in range(updates.ndim) if d not in dnums.update_window_dims]
    moved = np.transpose(updates, scatter_dims + list(dnums.update_window_dims))
    n_windows = math.prod(updates.shape[d] for d in scatter_dims)
    return moved.reshape((n_windows, *window_sizes))


def _assign_last_wins(out: NDArray, index: tuple[NDArray, ...], values: NDArray) -> None:
    """``out[index] = values`` where, among duplicate positions, the last update wins."""
    if values.size == 0:
        return
    full = np.broadcast_arrays(*index, values)
    flat = np.ravel_multi_index(tuple(a.ravel() for a in full[:-1]), out.shape)
    _, first_from_end = np.unique(flat[::-1], return_index=True)
    last = flat.size - 1 - first_from_end
    out.reshape(-1)[flat[last]] = full[-1].ravel()[last]


def _register_scatter(prim: Primitive, combine: np.ufunc | None) -> None:
    """Register the numpy implementation of the scatter primitive ``prim``."""

    @register(prim)
    def impl(
        operand: NDArray,
        indices: NDArray,
        updates: NDArray,
        *,
        dimension_numbers: ScatterDimensionNumbers,
        indices_are_sorted: bool,
        unique_indices: bool,
        mode: GatherScatterMode,
        update_jaxpr: Jaxpr | None,
        update_consts: tuple[NDArray, ...],
    ) -> NDArray:
        dnums = dimension_numbers
        if mode is GatherScatterMode.ONE_HOT:
            raise NotImplementedError(f"{prim.name} with mode ONE_HOT is not implemented")
        sizes = _scatter_window_sizes(operand, updates, dnums)
        batching = (dnums.operand_batching_dims, dnums.scatter_indices_batching_dims)
        starts, in_range = _window_starts(
            operand.shape, indices, dnums.scatter_dims_to_operand_dims, batching, sizes
        )
        values = _updates_by_window(updates, dnums, sizes)
        if mode is not GatherScatterMode.CLIP:  # out-of-range windows are dropped
            starts, values = starts[in_range], values[in_range]
        out = operand.copy()
        if operand.ndim == 0:
            index: tuple[NDArray, ...] = (np.zeros(values.shape[0], np.int64),)
            out, values = out.reshape(1), values.reshape(-1)
        else:
            index = _window_index(starts, sizes)
        if combine is None:
            _assign_last_wins(out, index, values)
        else:
            with np.errstate(all="ignore"):
                combine.at(out, index, values)
        return out.reshape(operand.shape)


for _prim, _combine in _COMBINERS.items():
    _register_scatter(_prim, _combine)


# ---------------------------------------------------------------------------------------------
# sort and top_k


def _sort_keys(x: NDArray) -> list[NDArray]:
    """Keys, most significant first, that order ``x`` as XLA's sort comparator does.

    Floats: NaNs after everything (all NaNs tie), -0.0 ties with 0.0. Complex: by real part,
    then imaginary part, each ordered as a float.
    """
    if np.issubdtype(x.dtype, np.complexfloating):
        return _sort_keys(x.real) + _sort_keys(x.imag)
    if np.issubdtype(x.dtype, np.floating):
        nan = np.isnan(x)
        return [nan, np.where(nan, 0, x) + 0.0]  # + 0.0 turns -0.0 into 0.0
    return [x]


def _sort_permutation(keys: Sequence[NDArray], axis: int) -> NDArray:
    """The stable permutation along ``axis`` sorting by ``keys`` (first key most significant)."""
    flat_keys = [k for key in keys for k in _sort_keys(key)]
    return np.lexsort(flat_keys[::-1], axis=axis)


@register(sort_p)
def _sort(*operands: NDArray, dimension: int, is_stable: bool, num_keys: int) -> list[NDArray]:
    perm = _sort_permutation(operands[:num_keys], dimension)
    return [np.take_along_axis(x, perm, axis=dimension) for x in operands]


def _total_order(x: NDArray) -> NDArray:
    """Floats as signed ints in IEEE total order: -NaN < -inf < ... < -0.0 < 0.0 < ... < NaN."""
    ints = x.view(np.dtype(f"i{x.dtype.itemsize}"))
    return np.where(ints < 0, ints ^ np.iinfo(ints.dtype).max, ints)


def _descending_key(x: NDArray) -> NDArray:
    """A key whose ascending order is ``x`` descending in total order (top_k's order)."""
    key = _total_order(x) if np.issubdtype(x.dtype, np.floating) else x
    return ~key  # bitwise not reverses the order of every integer dtype, and of bools


@register(top_k_p)
def _top_k(x: NDArray, *, k: int, axis: int) -> tuple[NDArray, NDArray]:
    order = np.argsort(_descending_key(x), axis=axis, kind="stable")
    top = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, top, axis=axis), top.astype(np.int32)
