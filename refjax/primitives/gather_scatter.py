"""Gather and scatter: reading and writing many windows at positions held in an index array.

``gather`` reads the windows and the ``scatter`` family (``scatter`` and ``scatter_add``,
``_sub``, ``_mul``, ``_min``, ``_max``) writes them, with XLA's semantics, batching dims
included; :class:`GatherDimensionNumbers` and :class:`ScatterDimensionNumbers` say how the dims
of operand, indices and output (or updates) correspond. Out-of-range positions are clamped or
dropped as XLA does; the modes are spelled out at :class:`GatherScatterMode`.
"""

from __future__ import annotations

import enum
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.batching import BatchDim, batching_rules, bdim_at, moveaxis
from refjax.interp.core import (
    EVAL_TRACE,
    Array,
    ArrayLike,
    Jaxpr,
    ParamValue,
    Primitive,
    ShapedArray,
    get_aval,
)
from refjax.interp.jvp import Tangent, Zero, defjvp, instantiate, jvp_rules
from refjax.interp.staging import trace_to_jaxpr
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deftranspose
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives.common import (
    aval_of,
    check_same_dtypes,
    check_shape,
    shape_of,
    standard_primitive,
)
from refjax.primitives.constants import full

__all__ = [
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ScatterDimensionNumbers",
    "gather",
    "gather_p",
    "scatter",
    "scatter_add",
    "scatter_add_p",
    "scatter_max",
    "scatter_max_p",
    "scatter_min",
    "scatter_min_p",
    "scatter_mul",
    "scatter_mul_p",
    "scatter_p",
    "scatter_sub",
    "scatter_sub_p",
]





def _bump(dims: Sequence[int], inserted: int) -> tuple[int, ...]:
    """``dims`` renumbered after a new axis is inserted at position ``inserted``."""
    return tuple(d + (d >= inserted) for d in dims)


def _slot(sorted_dims: Sequence[int], k: int, rank: int) -> tuple[int, int]:
    """The lowest and highest position at which a new axis is the ``k``-th of ``sorted_dims``.

    ``sorted_dims`` are axes of an array of ``rank``; positions count after the insertion.
    """
    low = sorted_dims[k - 1] + 1 if k > 0 else 0
    high = sorted_dims[k] if k < len(sorted_dims) else rank
    return low, high


# ---------------------------------------------------------------------------------------------
# gather and scatter: dimension numbers, modes and the checks XLA's shape inference makes


class GatherDimensionNumbers(NamedTuple):
    """How the dims of a gather's operand, indices and output correspond (XLA's Gather).

    The index vector is always the last dim of the indices.
    """

    offset_dims: tuple[int, ...]
    collapsed_slice_dims: tuple[int, ...]
    start_index_map: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    start_indices_batching_dims: tuple[int, ...] = ()


class ScatterDimensionNumbers(NamedTuple):
    """How the dims of a scatter's operand, indices and updates correspond (XLA's Scatter)."""

    update_window_dims: tuple[int, ...]
    inserted_window_dims: tuple[int, ...]
    scatter_dims_to_operand_dims: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    scatter_indices_batching_dims: tuple[int, ...] = ()


class GatherScatterMode(enum.Enum):
    """What out-of-bounds indices do.

    CLIP: indices are clamped so that the whole window is in range.
    FILL_OR_DROP: a gather window that is partly out of range is filled with ``fill_value``;
      a scatter window that is partly out of range is dropped.
    PROMISE_IN_BOUNDS: the caller promises in-range indices; XLA then clamps gathers and
      drops scatters, and so does refjax.
    ONE_HOT: accepted by name, as in JAX, but has no implementation.
    """

    CLIP = enum.auto()
    FILL_OR_DROP = enum.auto()
    PROMISE_IN_BOUNDS = enum.auto()
    ONE_HOT = enum.auto()

    @staticmethod
    def from_any(s: str | GatherScatterMode | None) -> GatherScatterMode:
        """The mode named by ``s`` (``None``, ``'fill'`` and ``'drop'`` mean FILL_OR_DROP)."""
        if isinstance(s, GatherScatterMode):
            return s
        if s == "clip":
            return GatherScatterMode.CLIP
        if s is None or s == "fill" or s == "drop":
            return GatherScatterMode.FILL_OR_DROP
        if s == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        if s == "one_hot":
            return GatherScatterMode.ONE_HOT
        raise ValueError(f'Unknown gather mode "{s}"')


def _is_sorted(dims: tuple[int, ...], op: str, name: str) -> None:
    if any(b < a for a, b in itertools.pairwise(dims)):
        raise TypeError(f"{name} in {op} op must be sorted; got {dims}")


def _dims_in_range(dims: tuple[int, ...], rank: int, op: str, name: str) -> None:
    for dim in dims:
        if not 0 <= dim < rank:
            raise TypeError(
                f"Invalid {name} set in {op} op; valid range is [0, {rank}); got: {dim}."
            )


def _sorted_dims_in_range(dims: tuple[int, ...], rank: int, op: str, name: str) -> None:
    if dims and (dims[0] < 0 or dims[-1] >= rank):
        bad = dims[0] if dims[0] < 0 else dims[-1]
        raise TypeError(f"Invalid {name} set in {op} op; valid range is [0, {rank}); got: {bad}.")


def _no_duplicate_dims(dims: tuple[int, ...], op: str, name: str) -> None:
    if len(set(dims)) != len(dims):
        raise TypeError(f"{name} in {op} op must not repeat; got: {dims}.")


def _disjoint_dims(
    dims1: tuple[int, ...], dims2: tuple[int, ...], op: str, name1: str, name2: str
) -> None:
    if not set(dims1).isdisjoint(dims2):
        raise TypeError(
            f"{name1} and {name2} in {op} op must be disjoint; got: {dims1} and {dims2}."
        )


def _check_index_dtype(indices: ShapedArray) -> None:
    if not dtypes.is_integer(indices.dtype):
        raise ValueError("indices must have an integer type")


def _check_index_vector_dim(op: str, indices: ShapedArray) -> int:
    """The index vector dim (always the last); rank-0 indices have none."""
    if indices.ndim == 0:
        raise TypeError(
            f"{op.capitalize()} index leaf dimension must be within [0, rank(indices) + 1). "
            f"rank(indices) is 0 and {op} index leaf dimension is -1."
        )
    return indices.ndim - 1


def _check_batching_dims(
    op: str,
    operand: ShapedArray,
    indices: ShapedArray,
    operand_batching_dims: tuple[int, ...],
    indices_batching_dims: tuple[int, ...],
    indices_name: str,
) -> None:
    """Operand and indices batching dims: distinct, in range, paired, of equal sizes."""
    _no_duplicate_dims(indices_batching_dims, op, f"{indices_name}_batching_dims")
    _dims_in_range(indices_batching_dims, indices.ndim, op, f"{indices_name}_batching_dims")
    if indices.ndim - 1 in indices_batching_dims:
        raise TypeError(
            f"{op.capitalize()} op cannot have the index vector dimension as a batching "
            f"dimension; got {indices_batching_dims}."
        )
    if len(operand_batching_dims) != len(indices_batching_dims):
        space = " " if op == "scatter" else ""  # JAX's gather text lacks the space
        raise TypeError(
            f"{op.capitalize()} op requires equal numbers of operand_batching_dims and "
            f"{indices_name}_batching_dims, got {operand_batching_dims} and{space}"
            f"{indices_batching_dims}."
        )
    operand_batch = tuple(operand.shape[d] for d in operand_batching_dims)
    indices_batch = tuple(indices.shape[d] for d in indices_batching_dims)
    if operand_batch != indices_batch:
        raise TypeError(
            f"{op.capitalize()} op requires operand batching dimensions and indices batching "
            f"dimensions to have the same shape, got {operand_batch} and {indices_batch}."
        )


def _check_index_map(op: str, index_map: tuple[int, ...], name: str, rank: int) -> None:
    for i, dim in enumerate(index_map):
        if not 0 <= dim < rank:
            what = "start_index_map" if op == "gather" else "scatter_dims_to_operand_dims mapping"
            raise TypeError(f"Invalid {what}; domain is [0, {rank}), got: {i}->{dim}.")
    _no_duplicate_dims(index_map, op, name)


# ---------------------------------------------------------------------------------------------
# Dimension numbers under vmap. GatherDimensionNumbers and ScatterDimensionNumbers name the same
# five things in the same order: the window dims of the output (of the updates), the operand dims
# a window drops (collapsed, inserted), the index map, and the batching dims of operand and
# indices. The batching rules renumber either kind by position with these helpers.

_DimensionNumbers = TypeVar("_DimensionNumbers", GatherDimensionNumbers, ScatterDimensionNumbers)


def window_dims(dnums: _DimensionNumbers, ndim: int) -> tuple[int, ...]:
    """Operand dims that a window runs over (neither collapsed/inserted nor batching), in order:
    the gather's offset dims (the scatter's update window dims) meet them in this order."""
    _, window_dropped, _, operand_batching, _ = dnums
    dropped = set(window_dropped) | set(operand_batching)
    return tuple(d for d in range(ndim) if d not in dropped)


def _nearest_in(dim: BatchDim, low_high: tuple[int, int]) -> int:
    """``dim`` clamped into ``[low, high]`` (``low`` if there is no ``dim``)."""
    low, high = low_high
    return low if dim is None else min(max(dim, low), high)


def _dnums_with_operand_dim(dnums: _DimensionNumbers, operand_dim: int) -> _DimensionNumbers:
    """Operand dims renumbered for a new operand axis at ``operand_dim``."""
    window, dropped, index_map, operand_batching, indices_batching = dnums
    return type(dnums)(
        window,
        _bump(dropped, operand_dim),
        _bump(index_map, operand_dim),
        _bump(operand_batching, operand_dim),
        indices_batching,
    )


def _dnums_with_window_axis(
    dnums: _DimensionNumbers, operand_dim: int, out_dim: BatchDim, ranks: tuple[int, int]
) -> tuple[_DimensionNumbers, int]:
    """A new operand axis at ``operand_dim`` taken whole as a window, with its window axis in the
    output (the updates) at ``out_dim``, or as near as allowed (``None``: the first place).

    ``ranks`` are the unbatched operand's and output's (updates'). The two meet in order on their
    window dims, so the new pair must rank alike among them. Returns the new output axis.
    """
    operand_rank, out_rank = ranks
    moved = _dnums_with_operand_dim(dnums, operand_dim)
    window, dropped, index_map, operand_batching, indices_batching = moved
    k = sum(1 for w in window_dims(dnums, operand_rank) if w < operand_dim)
    new_out_dim = _nearest_in(out_dim, _slot(window, k, out_rank))
    new_window = tuple(sorted(_bump(window, new_out_dim) + (new_out_dim,)))
    new = type(dnums)(new_window, dropped, index_map, operand_batching, indices_batching)
    return new, new_out_dim


def _dnums_with_batch_axis(
    dnums: _DimensionNumbers, indices_dim: int, out_dim: BatchDim, out_rank: int
) -> tuple[_DimensionNumbers, int]:
    """A new indices axis at ``indices_dim`` as one more batch dim, with its axis in the output
    (the updates) at ``out_dim``, or as near as allowed (``None``: the first place).

    ``out_rank`` is the unbatched output's (updates') rank; its dims that are not window dims
    follow the indices' batch dims in order. Returns the new output axis.
    """
    window, dropped, index_map, operand_batching, indices_batching = dnums
    out_batch = [d for d in range(out_rank) if d not in window]
    new_out_dim = _nearest_in(out_dim, _slot(out_batch, indices_dim, out_rank))
    new_window = _bump(window, new_out_dim)
    new_indices_batching = _bump(indices_batching, indices_dim)
    new = type(dnums)(new_window, dropped, index_map, operand_batching, new_indices_batching)
    return new, new_out_dim


def _dnums_with_batching_pair(
    dnums: _DimensionNumbers, operand_dim: int, indices_dim: int
) -> _DimensionNumbers:
    """``operand_dim`` and ``indices_dim`` (new axes of operand and indices, the indices' already
    counted in ``dnums``) paired as batching dims, in the sorted place of ``operand_dim`` among
    the operand's batching dims."""
    moved = _dnums_with_operand_dim(dnums, operand_dim)
    window, dropped, index_map, operand_batching, indices_batching = moved
    j = sum(1 for d in dnums.operand_batching_dims if d < operand_dim)
    paired_operand = operand_batching[:j] + (operand_dim,) + operand_batching[j:]
    paired_indices = indices_batching[:j] + (indices_dim,) + indices_batching[j:]
    return type(dnums)(window, dropped, index_map, paired_operand, paired_indices)


# ---------------------------------------------------------------------------------------------
# gather


def _check_gather_dims(
    operand: ShapedArray, indices: ShapedArray, dnums: GatherDimensionNumbers
) -> None:
    """ValidateGatherDimensions of XLA's shape inference, with JAX's messages."""
    index_vector_dim = _check_index_vector_dim("gather", indices)
    offset_dims = dnums.offset_dims
    _is_sorted(offset_dims, "gather", "offset_dims")
    _no_duplicate_dims(offset_dims, "gather", "offset_dims")
    output_rank = len(offset_dims) + indices.ndim - 1
    for i, dim in enumerate(offset_dims):
        if not 0 <= dim < output_rank:
            raise TypeError(
                f"Offset dimension {i} in gather op is out of bounds; got {dim}, but should "
                f"have been in [0, {output_rank})"
            )
    if len(dnums.start_index_map) != indices.shape[index_vector_dim]:
        raise TypeError(
            f"Gather op has {len(dnums.start_index_map)} elements in start_index_map and the "
            f"bound of dimension index_vector_dim={index_vector_dim} of indices is "
            f"{indices.shape[index_vector_dim]}. These two numbers must be equal."
        )
    _check_index_map("gather", dnums.start_index_map, "start_index_map", operand.ndim)
    collapsed, batching = dnums.collapsed_slice_dims, dnums.operand_batching_dims
    _is_sorted(collapsed, "gather", "collapsed_slice_dims")
    _sorted_dims_in_range(collapsed, operand.ndim, "gather", "collapsed_slice_dims")
    _no_duplicate_dims(collapsed, "gather", "collapsed_slice_dims")
    _no_duplicate_dims(batching, "gather", "operand_batching_dims")
    _is_sorted(batching, "gather", "operand_batching_dims")
    _sorted_dims_in_range(batching, operand.ndim, "gather", "operand_batching_dims")
    _disjoint_dims(collapsed, batching, "gather", "collapsed_slice_dims", "operand_batching_dims")
    _disjoint_dims(
        dnums.start_index_map, batching, "gather", "start_index_map", "operand_batching_dims"
    )
    _check_batching_dims(
        "gather", operand, indices, batching, dnums.start_indices_batching_dims, "start_indices"
    )


def _check_gather_slice_sizes(
    operand: ShapedArray,
    indices: ShapedArray,
    dnums: GatherDimensionNumbers,
    slice_sizes: tuple[int, ...],
) -> None:
    if operand.ndim != len(slice_sizes):
        raise TypeError(
            "Gather op must have one slice size for every input dimension; got: "
            f"len(slice_sizes)={len(slice_sizes)}, input_shape.rank={operand.ndim}"
        )
    n_windows = len(dnums.offset_dims) + len(dnums.collapsed_slice_dims)
    if len(slice_sizes) != n_windows + len(dnums.operand_batching_dims):
        raise TypeError(
            "All components of the offset index in a gather op must either be a offset "
            f"dimension or explicitly collapsed/batching; got len(slice_sizes)={len(slice_sizes)}, "
            f"output_slice_sizes={dnums.offset_dims}, collapsed_slice_dims="
            f"{dnums.collapsed_slice_dims}, operand_batching_dims={dnums.operand_batching_dims}."
        )
    for i, (size, bound) in enumerate(zip(slice_sizes, operand.shape, strict=True)):
        if indices.size and not 0 <= size <= bound:
            raise TypeError(
                f"Slice size at index {i} in gather op is out of range, must be within "
                f"[0, {bound} + 1), got {size}."
            )
    for i, dim in enumerate(dnums.collapsed_slice_dims):
        if slice_sizes[dim] != 1:
            raise TypeError(
                "Gather op can only collapse slice dims with bound 1, but bound is "
                f"{slice_sizes[dim]} for index {dim} at position {i}."
            )
    for i, dim in enumerate(dnums.operand_batching_dims):
        if slice_sizes[dim] > 1:
            raise TypeError(
                "Gather op can only have operand batching dims with bound 0/1, but bound is "
                f"{slice_sizes[dim]} for index {dim} at position {i}."
            )


def _gather_shape(
    indices: ShapedArray, dnums: GatherDimensionNumbers, slice_sizes: tuple[int, ...]
) -> tuple[int, ...]:
    """Offset dims take the window sizes, the other output dims the indices' batch dims."""
    windows = iter(slice_sizes[d] for d in window_dims(dnums, len(slice_sizes)))
    batch = iter(indices.shape[:-1])
    rank = len(dnums.offset_dims) + indices.ndim - 1
    return tuple(next(windows) if i in dnums.offset_dims else next(batch) for i in range(rank))


def _gather_rule(
    operand: ShapedArray,
    indices: ShapedArray,
    *,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: tuple[int, ...],
    unique_indices: bool,
    indices_are_sorted: bool,
    mode: GatherScatterMode,
    fill_value: complex | None,
) -> ShapedArray:
    _check_index_dtype(indices)
    _check_gather_dims(operand, indices, dimension_numbers)
    _check_gather_slice_sizes(operand, indices, dimension_numbers, slice_sizes)
    return operand.update(shape=_gather_shape(indices, dimension_numbers, slice_sizes))


gather_p = standard_primitive("gather", _gather_rule)


def _default_fill_value(dtype: DType) -> complex:
    """JAX's fill for FILL_OR_DROP gathers: NaN, the lowest signed or highest unsigned int, True."""
    if dtypes.issubdtype(dtype, np.inexact):
        return float("nan")
    if dtypes.issubdtype(dtype, np.signedinteger):
        return int(dtypes.iinfo(dtype).min)
    if dtypes.issubdtype(dtype, np.unsignedinteger):
        return int(dtypes.iinfo(dtype).max)
    if dtype == dtypes.bool_:
        return True
    raise ValueError(f"Unsupported dtype for gather fill_value {dtype}")


def _tuple_fields(dnums: _DimensionNumbers) -> _DimensionNumbers:
    """Dimension numbers with every field a tuple of Python ints (hashable params)."""
    return dnums._replace(**{f: tuple(int(d) for d in getattr(dnums, f)) for f in dnums._fields})


def gather(
    operand: ArrayLike,
    start_indices: ArrayLike,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: Sequence[int],
    *,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
    mode: str | GatherScatterMode | None = None,
    fill_value: complex | None = None,
) -> Array:
    """XLA's Gather: the windows of ``slice_sizes`` at the positions in ``start_indices``."""
    parsed = GatherScatterMode.from_any(
        GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else mode
    )
    if parsed is GatherScatterMode.FILL_OR_DROP:
        if fill_value is None:
            fill_value = _default_fill_value(get_aval(operand).dtype)
    else:
        fill_value = None
    return gather_p.bind(
        operand,
        start_indices,
        dimension_numbers=_tuple_fields(dimension_numbers),
        slice_sizes=check_shape("gather", slice_sizes, "slice_sizes"),
        unique_indices=bool(unique_indices),
        indices_are_sorted=bool(indices_are_sorted),
        mode=parsed,
        fill_value=fill_value,
    )


def _gather_jvp(
    t: Array,
    operand: ArrayLike,
    indices: ArrayLike,
    *,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: tuple[int, ...],
    unique_indices: bool,
    indices_are_sorted: bool,
    mode: GatherScatterMode,
    fill_value: complex | None,
) -> Array:
    """The same gather of the tangent; filled (out-of-range) windows have zero tangent."""
    return gather(
        t,
        indices,
        dimension_numbers,
        slice_sizes,
        unique_indices=unique_indices,
        indices_are_sorted=indices_are_sorted,
        mode=mode,
        fill_value=0,
    )


defjvp(gather_p, _gather_jvp, None)


def scatter_dnums_for(dnums: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    """The scatter that writes back the windows this gather reads (its transpose)."""
    return ScatterDimensionNumbers(
        update_window_dims=dnums.offset_dims,
        inserted_window_dims=dnums.collapsed_slice_dims,
        scatter_dims_to_operand_dims=dnums.start_index_map,
        operand_batching_dims=dnums.operand_batching_dims,
        scatter_indices_batching_dims=dnums.start_indices_batching_dims,
    )


def _gather_transpose(
    ct: Array,
    operand: UndefinedPrimal,
    indices: ArrayLike,
    *,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: tuple[int, ...],
    unique_indices: bool,
    indices_are_sorted: bool,
    mode: GatherScatterMode,
    fill_value: complex | None,
) -> list[Cotangent | None]:
    """Each window's cotangent added back where it was read (duplicates accumulate)."""
    zeros = full(operand.aval.shape, 0, get_aval(ct).dtype)
    operand_ct = scatter_add(
        zeros,
        indices,
        ct,
        scatter_dnums_for(dimension_numbers),
        indices_are_sorted=indices_are_sorted,
        unique_indices=unique_indices,
        mode=mode,
    )
    return [operand_ct, None]


deftranspose(gather_p, _gather_transpose)


def _batch_axis_off_index_vector(indices: ArrayLike, dim: int) -> tuple[ArrayLike, int]:
    """Batched indices and their batch axis, moved to the front if it sat where the index
    vector (always the last axis) must be."""
    if dim == get_aval(indices).ndim - 1:
        return moveaxis(indices, dim, 0), 0
    return indices, dim


def _gather_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    dimension_numbers: GatherDimensionNumbers,
    slice_sizes: tuple[int, ...],
    unique_indices: bool,
    indices_are_sorted: bool,
    mode: GatherScatterMode,
    fill_value: complex | None,
) -> tuple[list[Array], list[int]]:
    """Batch axes stay where they are: a batched operand alone gains a whole-axis window; a
    batched index array gains an index batch dim; both batched, a pair of batching dims."""
    operand, indices = args
    operand_dim, indices_dim = dims
    sizes = list(slice_sizes)
    if indices_dim is None:
        assert operand_dim is not None
        ranks = (len(slice_sizes), get_aval(indices).ndim)
        dnums, out_dim = _gather_window_over(dimension_numbers, operand_dim, ranks)
        sizes.insert(operand_dim, shape_of(operand)[operand_dim])
    else:
        indices, indices_dim = _batch_axis_off_index_vector(indices, indices_dim)
        dnums, out_dim = _gather_batch_over(dimension_numbers, indices_dim, get_aval(indices).ndim)
        if operand_dim is None:  # a batch of lookups into one array: no longer unique or sorted
            unique_indices = indices_are_sorted = False
        else:
            sizes.insert(operand_dim, min(shape_of(operand)[operand_dim], 1))
            dnums = _dnums_with_batching_pair(dnums, operand_dim, indices_dim)
    out = gather_p.bind(
        operand,
        indices,
        dimension_numbers=dnums,
        slice_sizes=tuple(sizes),
        unique_indices=unique_indices,
        indices_are_sorted=indices_are_sorted,
        mode=mode,
        fill_value=fill_value,
    )
    return [out], [out_dim]


def _gather_window_over(
    dnums: GatherDimensionNumbers, operand_dim: int, ranks: tuple[int, int]
) -> tuple[GatherDimensionNumbers, int]:
    """A new operand axis at ``operand_dim`` taken whole as a window (offset) axis.

    ``ranks`` are the unbatched operand's and the indices'. Offset dims meet the operand's
    window dims in order, so the new offset dim goes where the new window dim ranks among the
    window dims. Returns it as the output batch axis.
    """
    operand_rank, index_rank = ranks
    out_rank = len(dnums.offset_dims) + index_rank - 1
    return _dnums_with_window_axis(dnums, operand_dim, None, (operand_rank, out_rank))


def _gather_batch_over(
    dnums: GatherDimensionNumbers, indices_dim: int, index_rank: int
) -> tuple[GatherDimensionNumbers, int]:
    """A new indices axis at ``indices_dim`` (``index_rank`` counts it) as one more batch dim.

    The output's batch dims follow the indices' in order; returns the new one's position.
    """
    out_rank = len(dnums.offset_dims) + index_rank - 2
    return _dnums_with_batch_axis(dnums, indices_dim, None, out_rank)


batching_rules[gather_p] = _gather_batch


# ---------------------------------------------------------------------------------------------
# scatter


def _check_scatter_dims(
    operand: ShapedArray,
    indices: ShapedArray,
    updates: ShapedArray,
    dnums: ScatterDimensionNumbers,
) -> None:
    """ValidateScatterDimensions of XLA's shape inference, with JAX's messages."""
    index_vector_dim = _check_index_vector_dim("scatter", indices)
    expected_rank = indices.ndim - 1 + len(dnums.update_window_dims)
    if updates.ndim != expected_rank:
        raise TypeError(f"Updates tensor must be of rank {expected_rank}; got {updates.ndim}.")
    window, inserted = dnums.update_window_dims, dnums.inserted_window_dims
    batching = dnums.operand_batching_dims
    _is_sorted(window, "scatter", "update_window_dims")
    _no_duplicate_dims(window, "scatter", "update_window_dims")
    _sorted_dims_in_range(window, updates.ndim, "scatter", "update_window_dims")
    _is_sorted(inserted, "scatter", "inserted_window_dims")
    _no_duplicate_dims(inserted, "scatter", "inserted_window_dims")
    _sorted_dims_in_range(inserted, operand.ndim, "scatter", "inserted_window_dims")
    _is_sorted(batching, "scatter", "operand_batching_dims")
    _no_duplicate_dims(batching, "scatter", "operand_batching_dims")
    _sorted_dims_in_range(batching, operand.ndim, "scatter", "operand_batching_dims")
    _disjoint_dims(inserted, batching, "scatter", "inserted_window_dims", "operand_batching_dims")
    _disjoint_dims(
        dnums.scatter_dims_to_operand_dims,
        batching,
        "scatter",
        "scatter_dims_to_operand_dims",
        "operand_batching_dims",
    )
    _check_batching_dims(
        "scatter",
        operand,
        indices,
        batching,
        dnums.scatter_indices_batching_dims,
        "scatter_indices",
    )
    _check_updates_batch_shape(operand, updates, dnums, index_vector_dim)
    window_size = len(window) + len(inserted) + len(batching)
    if operand.ndim != window_size:
        raise TypeError(
            f"Scatter op has window of size {window_size}; doesn't match operand of rank "
            f"{operand.ndim}."
        )
    if len(dnums.scatter_dims_to_operand_dims) != indices.shape[index_vector_dim]:
        raise TypeError(
            f"Scatter op has {len(dnums.scatter_dims_to_operand_dims)} elements in "
            "scatter_dims_to_operand_dims and the bound of dimension "
            f"index_vector_dim={index_vector_dim} of indices is "
            f"{indices.shape[index_vector_dim]}. These two numbers must be equal"
        )
    _check_index_map(
        "scatter", dnums.scatter_dims_to_operand_dims, "scatter_dims_to_operand_dims", operand.ndim
    )


def _updates_scatter_dims(updates_ndim: int, dnums: ScatterDimensionNumbers) -> list[int]:
    """The dims of the updates that run over the indices' batch dims (not window dims)."""
    return [d for d in range(updates_ndim) if d not in dnums.update_window_dims]


def _check_updates_batch_shape(
    operand: ShapedArray,
    updates: ShapedArray,
    dnums: ScatterDimensionNumbers,
    index_vector_dim: int,
) -> None:
    scatter_dims = _updates_scatter_dims(updates.ndim, dnums)
    updates_batch = tuple(
        updates.shape[scatter_dims[d]] for d in dnums.scatter_indices_batching_dims
    )
    operand_batch = tuple(operand.shape[d] for d in dnums.operand_batching_dims)
    if operand_batch != updates_batch:
        raise TypeError(
            "Scatter op requires operand batching dimensions and updates batching dimensions "
            f"to have the same shape, got {operand_batch} and {updates_batch}."
        )


def _check_scatter_bounds(
    operand: ShapedArray,
    indices: ShapedArray,
    updates: ShapedArray,
    dnums: ScatterDimensionNumbers,
) -> None:
    """Update windows fit in the operand; update scatter dims match the indices' batch dims."""
    max_sizes = [operand.shape[d] for d in window_dims(dnums, operand.ndim)]
    for dim, bound in zip(dnums.update_window_dims, max_sizes, strict=False):
        if bound < updates.shape[dim]:
            raise TypeError(
                "Bounds of the window dimensions of updates must not exceed the bounds of the "
                f"corresponding dimensions of operand. For dimension {dim}, updates bound is "
                f"{updates.shape[dim]}, operand bound is {bound}."
            )
    scatter_dims = _updates_scatter_dims(updates.ndim, dnums)
    for dim, bound in zip(scatter_dims, indices.shape[:-1], strict=True):
        if updates.shape[dim] != bound:
            raise TypeError(
                "Bounds of the scatter dimensions of updates must be the same as the bounds of "
                "the corresponding dimensions of scatter indices. For scatter dimension "
                f"{dim}, updates bound is {updates.shape[dim]}, indices bound is {bound}."
            )


def _scatter_rule(
    operand: ShapedArray,
    indices: ShapedArray,
    updates: ShapedArray,
    *,
    dimension_numbers: ScatterDimensionNumbers,
    indices_are_sorted: bool,
    unique_indices: bool,
    mode: GatherScatterMode,
    update_jaxpr: Jaxpr | None,
    update_consts: tuple[ArrayLike, ...],
) -> ShapedArray:
    _check_index_dtype(indices)
    check_same_dtypes("scatter", operand, updates)
    _check_scatter_dims(operand, indices, updates, dimension_numbers)
    _check_scatter_bounds(operand, indices, updates, dimension_numbers)
    return operand


scatter_p = standard_primitive("scatter", _scatter_rule)
scatter_add_p = standard_primitive("scatter-add", _scatter_rule)
scatter_sub_p = standard_primitive("scatter-sub", _scatter_rule)
scatter_mul_p = standard_primitive("scatter-mul", _scatter_rule)
scatter_min_p = standard_primitive("scatter-min", _scatter_rule)
scatter_max_p = standard_primitive("scatter-max", _scatter_rule)


Combiner = Callable[[ArrayLike, ArrayLike], Array]


@functools.cache
def _update_jaxpr(combiner: Combiner, dtype: DType) -> Jaxpr:
    """The scalar jaxpr ``lambda x, y: combiner(x, y)`` that JAX attaches to a scatter."""
    scalar = ShapedArray((), dtype)
    traced = trace_to_jaxpr(lambda x, y: [combiner(x, y)], [scalar, scalar], parent=EVAL_TRACE)
    return traced.jaxpr


def _bind_scatter(
    prim_combiner: tuple[Primitive, Combiner | None],
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    indices_are_sorted: bool,
    unique_indices: bool,
    mode: str | GatherScatterMode | None,
) -> Array:
    prim, combiner = prim_combiner
    jaxpr = None if combiner is None else _update_jaxpr(combiner, get_aval(operand).dtype)
    return prim.bind(
        operand,
        scatter_indices,
        updates,
        dimension_numbers=_tuple_fields(dimension_numbers),
        indices_are_sorted=bool(indices_are_sorted),
        unique_indices=bool(unique_indices),
        mode=GatherScatterMode.from_any(mode),
        update_jaxpr=jaxpr,
        update_consts=(),
    )


def scatter(
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: str | GatherScatterMode | None = None,
) -> Array:
    """XLA's Scatter: ``updates`` written into ``operand``'s windows; the last duplicate wins."""
    return _bind_scatter(
        (scatter_p, None),
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    )


def scatter_add(
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: str | GatherScatterMode | None = None,
) -> Array:
    """Scatter where updates are added (duplicate indices accumulate)."""
    return _bind_scatter(
        (scatter_add_p, ew.add),
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    )


def scatter_sub(
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: str | GatherScatterMode | None = None,
) -> Array:
    """Scatter where updates are subtracted."""
    return _bind_scatter(
        (scatter_sub_p, ew.sub),
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    )


def scatter_mul(
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: str | GatherScatterMode | None = None,
) -> Array:
    """Scatter where entries are multiplied by the updates."""
    return _bind_scatter(
        (scatter_mul_p, ew.mul),
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    )


def scatter_min(
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: str | GatherScatterMode | None = None,
) -> Array:
    """Scatter keeping the minimum of each entry and its updates."""
    return _bind_scatter(
        (scatter_min_p, ew.min),
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    )


def scatter_max(
    operand: ArrayLike,
    scatter_indices: ArrayLike,
    updates: ArrayLike,
    dimension_numbers: ScatterDimensionNumbers,
    *,
    indices_are_sorted: bool = False,
    unique_indices: bool = False,
    mode: str | GatherScatterMode | None = None,
) -> Array:
    """Scatter keeping the maximum of each entry and its updates."""
    return _bind_scatter(
        (scatter_max_p, ew.max),
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    )


# Scatter rules. Every scatter reads its windows back with the gather of the same dimension
# numbers (its transpose, and the way JVP rules find which update landed where).


def gather_dnums_for(dnums: ScatterDimensionNumbers) -> GatherDimensionNumbers:
    """The gather that reads the windows this scatter writes."""
    return GatherDimensionNumbers(
        offset_dims=dnums.update_window_dims,
        collapsed_slice_dims=dnums.inserted_window_dims,
        start_index_map=dnums.scatter_dims_to_operand_dims,
        operand_batching_dims=dnums.operand_batching_dims,
        start_indices_batching_dims=dnums.scatter_indices_batching_dims,
    )


def _scatter_slice_sizes(
    operand_ndim: int, updates_shape: tuple[int, ...], dnums: ScatterDimensionNumbers
) -> tuple[int, ...]:
    """The window of each update in operand dims: 1 on inserted and batching dims."""
    sizes = [1] * operand_ndim
    for operand_dim, updates_dim in zip(
        window_dims(dnums, operand_ndim), dnums.update_window_dims, strict=True
    ):
        sizes[operand_dim] = updates_shape[updates_dim]
    return tuple(sizes)


def _gather_windows(
    x: ArrayLike,
    indices: ArrayLike,
    updates_shape: tuple[int, ...],
    dnums: ScatterDimensionNumbers,
    mode: GatherScatterMode | None = None,
    fill_value: complex | None = None,
) -> Array:
    """The windows of ``x`` that a scatter with ``dnums`` writes, shaped like its updates."""
    sizes = _scatter_slice_sizes(get_aval(x).ndim, updates_shape, dnums)
    return gather(x, indices, gather_dnums_for(dnums), sizes, mode=mode, fill_value=fill_value)


def _scatter_linear_jvp(prim: Primitive) -> None:
    """JVP of a scatter linear in (operand, updates) jointly: scatter the tangents alike."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: ParamValue
    ) -> tuple[list[Array], list[Tangent]]:
        operand, indices, updates = primals
        t_operand, _, t_updates = tangents
        out = prim.bind(operand, indices, updates, **params)
        if isinstance(t_operand, Zero) and isinstance(t_updates, Zero):
            return [out], [Zero.from_primal(out)]
        t_out = prim.bind(instantiate(t_operand), indices, instantiate(t_updates), **params)
        return [out], [t_out]

    jvp_rules[prim] = rule


def _scatter_addsub_transpose(prim: Primitive) -> None:
    """scatter-add/-sub: the operand's cotangent passes through; the updates' is gathered."""

    def fn(
        ct: Array,
        operand: ArrayLike | UndefinedPrimal,
        indices: ArrayLike,
        updates: ArrayLike | UndefinedPrimal,
        *,
        dimension_numbers: ScatterDimensionNumbers,
        mode: GatherScatterMode,
        **params: ParamValue,
    ) -> list[Cotangent | None]:
        operand_ct = ct if isinstance(operand, UndefinedPrimal) else None
        updates_ct = None
        if isinstance(updates, UndefinedPrimal):
            shape = updates.aval.shape
            updates_ct = _gather_windows(ct, indices, shape, dimension_numbers, mode, 0)
            if prim is scatter_sub_p:
                updates_ct = ew.neg(updates_ct)
        return [operand_ct, None, updates_ct]

    deftranspose(prim, fn)


for _prim in (scatter_add_p, scatter_sub_p):
    _scatter_linear_jvp(_prim)
    _scatter_addsub_transpose(_prim)


_SCATTER_MUL_NOT_UNIQUE = "scatter_mul gradients are only implemented if `unique_indices=True`"


def _scatter_mul_jvp_operand(
    t: Array, operand: ArrayLike, indices: ArrayLike, updates: ArrayLike, **params: ParamValue
) -> Array:
    """Linear in the operand: the tangent multiplied by the same updates."""
    return scatter_mul_p.bind(t, indices, updates, **params)


def _scatter_mul_jvp_updates(
    t: Array,
    operand: ArrayLike,
    indices: ArrayLike,
    updates: ArrayLike,
    *,
    dimension_numbers: ScatterDimensionNumbers,
    indices_are_sorted: bool,
    unique_indices: bool,
    mode: GatherScatterMode,
    **params: ParamValue,
) -> Array:
    """``operand * t`` where each (unique) update lands; JAX has no rule for duplicates."""
    if not unique_indices:
        raise NotImplementedError(_SCATTER_MUL_NOT_UNIQUE)
    aval = get_aval(operand)
    spread = scatter_add(
        full(aval.shape, 0, aval.dtype),
        indices,
        t,
        dimension_numbers,
        indices_are_sorted=indices_are_sorted,
        unique_indices=unique_indices,
        mode=mode,
    )
    return ew.mul(operand, spread)


defjvp(scatter_mul_p, _scatter_mul_jvp_operand, None, _scatter_mul_jvp_updates)


def _scatter_mul_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    indices: ArrayLike,
    updates: ArrayLike | UndefinedPrimal,
    *,
    dimension_numbers: ScatterDimensionNumbers,
    mode: GatherScatterMode,
    **params: ParamValue,
) -> list[Cotangent | None]:
    """Operand: ``ct`` scaled by the same updates. Updates (unique only): ``ct * operand``."""
    operand_ct = updates_ct = None
    if isinstance(operand, UndefinedPrimal):
        assert not isinstance(updates, UndefinedPrimal)
        operand_ct = scatter_mul_p.bind(
            ct, indices, updates, dimension_numbers=dimension_numbers, mode=mode, **params
        )
    if isinstance(updates, UndefinedPrimal):
        assert not isinstance(operand, UndefinedPrimal)
        if not params["unique_indices"]:
            raise NotImplementedError(_SCATTER_MUL_NOT_UNIQUE)
        shape = updates.aval.shape
        updates_ct = _gather_windows(
            ew.mul(ct, operand), indices, shape, dimension_numbers, mode, 0
        )
    return [operand_ct, None, updates_ct]


deftranspose(scatter_mul_p, _scatter_mul_transpose)


def _scatter_extremal_jvp(prim: Primitive) -> None:
    """scatter-min/-max: each result takes the tangent of the value that won, averaged over
    ties between the operand and the updates (JAX's ``_scatter_extremal_jvp``)."""

    def rule(
        primals: Sequence[ArrayLike],
        tangents: Sequence[Tangent],
        *,
        dimension_numbers: ScatterDimensionNumbers,
        indices_are_sorted: bool,
        unique_indices: bool,
        mode: GatherScatterMode,
        **params: ParamValue,
    ) -> tuple[list[Array], list[Tangent]]:
        operand, indices, updates = primals
        dnums = dimension_numbers
        out = prim.bind(
            operand,
            indices,
            updates,
            dimension_numbers=dnums,
            indices_are_sorted=indices_are_sorted,
            unique_indices=unique_indices,
            mode=mode,
            **params,
        )
        t_operand, t_updates = instantiate(tangents[0]), instantiate(tangents[2])
        operand_aval, updates_aval = get_aval(operand), get_aval(updates)
        dtype = operand_aval.dtype

        def windows(x: ArrayLike) -> Array:
            return _gather_windows(x, indices, updates_aval.shape, dnums)

        def count(x: ArrayLike) -> Array:
            zeros = full(operand_aval.shape, 0, dtype)
            return windows(scatter_add(zeros, indices, x, dnums))

        target = windows(out)
        won = ew.eq(updates, target)
        kept = ew.eq(windows(operand), target)
        ones, zeros = full(updates_aval.shape, 1, dtype), full(updates_aval.shape, 0, dtype)
        num_updates, num_refs = count(ew.select(won, ones, zeros)), count(ones)
        shared = ew.div(ones, ew.add(num_updates, ones))
        updates_coef = ew.select(won, ew.select(kept, shared, ew.div(ones, num_updates)), zeros)
        operand_coef = ew.div(ew.sub(ew.select(kept, shared, zeros), ones), num_refs)
        t_windows = ew.add(
            ew.mul(windows(t_operand), operand_coef), ew.mul(t_updates, updates_coef)
        )
        t_out = scatter_add(
            t_operand,
            indices,
            t_windows,
            dnums,
            indices_are_sorted=indices_are_sorted,
            unique_indices=unique_indices,
            mode=mode,
        )
        return [out], [t_out]

    jvp_rules[prim] = rule


for _prim in (scatter_min_p, scatter_max_p):
    _scatter_extremal_jvp(_prim)


def _scatter_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    dimension_numbers: ScatterDimensionNumbers,
    indices_are_sorted: bool,
    unique_indices: bool,
    mode: GatherScatterMode,
    update_jaxpr: Jaxpr | None,
    update_consts: tuple[ArrayLike, ...],
) -> tuple[list[Array], list[Tangent]]:
    """Unique indices: scatter the tangents alike. Otherwise JAX's rule: scatter an id per
    update, read back which id won each place, and scatter-add the winners' values and
    tangents into the operand's (values and tangents) with the overwritten places zeroed."""
    operand, indices, updates = primals
    t_operand, t_updates = instantiate(tangents[0]), instantiate(tangents[2])
    dnums = dimension_numbers
    sorted_ = indices_are_sorted
    if unique_indices:

        def scatter_unique(x: ArrayLike, u: ArrayLike) -> Array:
            return scatter(
                x, indices, u, dnums, indices_are_sorted=sorted_, unique_indices=True, mode=mode
            )

        return [scatter_unique(operand, updates)], [scatter_unique(t_operand, t_updates)]
    update_ids = _update_ids(shape_of(updates), dnums)
    id_dtype = get_aval(update_ids).dtype
    zero_ids = full(shape_of(operand), 0, id_dtype)
    ids = scatter(zero_ids, indices, update_ids, dnums, indices_are_sorted=sorted_, mode=mode)
    won = ew.eq(update_ids, _gather_windows(ids, indices, shape_of(updates), dnums))
    untouched = ew.eq(ids, np.zeros((), id_dtype))

    def combine(x: ArrayLike, u: ArrayLike) -> Array:
        x_kept = ew.select(untouched, x, full(shape_of(x), 0, get_aval(x).dtype))
        u_won = ew.select(won, u, full(shape_of(u), 0, get_aval(u).dtype))
        return scatter_add(x_kept, indices, u_won, dnums, indices_are_sorted=sorted_, mode=mode)

    return [combine(operand, updates)], [combine(t_operand, t_updates)]


def _update_ids(updates_shape: tuple[int, ...], dnums: ScatterDimensionNumbers) -> Array:
    """1, 2, 3, ... for each update window (constant across the window), as uint32."""
    ids_shape = [1 if d in dnums.update_window_dims else n for d, n in enumerate(updates_shape)]
    iota = sh.reshape(sh.iota(dtypes.uint32, math.prod(ids_shape)), ids_shape)
    return ew.add(iota, full(updates_shape, 1, dtypes.uint32))


jvp_rules[scatter_p] = _scatter_jvp


def _scatter_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    indices: ArrayLike,
    updates: ArrayLike | UndefinedPrimal,
    *,
    dimension_numbers: ScatterDimensionNumbers,
    unique_indices: bool,
    mode: GatherScatterMode,
    **params: ParamValue,
) -> list[Cotangent | None]:
    """Unique indices only: the operand's cotangent has the written windows zeroed; the
    updates' cotangent is those windows."""
    if not unique_indices:
        raise NotImplementedError("scatter transpose is only implemented where unique_indices=True")
    updates_shape = aval_of(updates).shape
    operand_ct = updates_ct = None
    if isinstance(operand, UndefinedPrimal):
        zeros = full(updates_shape, 0, get_aval(ct).dtype)
        operand_ct = scatter_p.bind(
            ct,
            indices,
            zeros,
            dimension_numbers=dimension_numbers,
            unique_indices=True,
            mode=mode,
            **params,
        )
    if isinstance(updates, UndefinedPrimal):
        updates_ct = _gather_windows(ct, indices, updates_shape, dimension_numbers, mode, 0)
    return [operand_ct, None, updates_ct]


deftranspose(scatter_p, _scatter_transpose)


def _scatter_batch(
    prim: Primitive,
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    dimension_numbers: ScatterDimensionNumbers,
    **params: ParamValue,
) -> tuple[list[Array], list[int]]:
    """Unbatched indices: the batch axis is one more window axis of operand and updates.
    Batched indices: it pairs operand, indices and updates as batching dims. Batch axes stay
    where they are when the dimension numbers allow it (else updates move, as little as can
    be); an unbatched operand or updates is broadcast right where it is needed."""
    operand, indices, updates = args
    operand_dim, indices_dim, updates_dim = dims
    size = next(shape_of(x)[d] for x, d in zip(args, dims, strict=True) if d is not None)
    updates_rank = len(shape_of(updates)) - (updates_dim is not None)
    if indices_dim is None:
        operand_rank = len(shape_of(operand)) - (operand_dim is not None)
        ranks = (operand_rank, updates_rank)
        dnums, out_dim, new_updates_dim = _scatter_window_over(
            dimension_numbers, operand_dim, updates_dim, ranks
        )
    else:
        indices, indices_dim = _batch_axis_off_index_vector(indices, indices_dim)
        out_dim = 0 if operand_dim is None else operand_dim
        dnums, new_updates_dim = _scatter_batch_over(
            dimension_numbers, out_dim, indices_dim, updates_dim, updates_rank
        )
    operand = bdim_at(operand, operand_dim, size, out_dim)
    updates = bdim_at(updates, updates_dim, size, new_updates_dim)
    return [prim.bind(operand, indices, updates, dimension_numbers=dnums, **params)], [out_dim]


def _scatter_window_over(
    dnums: ScatterDimensionNumbers,
    operand_dim: BatchDim,
    updates_dim: BatchDim,
    ranks: tuple[int, int],
) -> tuple[ScatterDimensionNumbers, int, int]:
    """The batch axis as a whole window axis of operand and updates (indices unbatched).

    Operand window dims and update window dims meet in order, so the new pair must rank
    alike among them. Returns the dimension numbers and both axes' positions.
    """
    operand_rank = ranks[0]
    if operand_dim is None:
        assert updates_dim is not None
        rank = sum(1 for u in dnums.update_window_dims if u < updates_dim)
        operand_dim, _ = _slot(window_dims(dnums, operand_rank), rank, operand_rank)
    new, new_updates_dim = _dnums_with_window_axis(dnums, operand_dim, updates_dim, ranks)
    return new, operand_dim, new_updates_dim


def _scatter_batch_over(
    dnums: ScatterDimensionNumbers,
    operand_dim: int,
    indices_dim: int,
    updates_dim: BatchDim,
    updates_rank: int,
) -> tuple[ScatterDimensionNumbers, int]:
    """The batch axis as a batching dim of operand and indices, and a scatter dim of updates.

    The updates' scatter dims follow the indices' batch dims in order. Returns the dimension
    numbers and the updates' batch axis.
    """
    new, new_updates_dim = _dnums_with_batch_axis(dnums, indices_dim, updates_dim, updates_rank)
    return _dnums_with_batching_pair(new, operand_dim, indices_dim), new_updates_dim


for _prim in (scatter_p, scatter_add_p, scatter_sub_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    batching_rules[_prim] = functools.partial(_scatter_batch, _prim)
