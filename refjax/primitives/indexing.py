"""Indexing primitives: slicing, gathering, scattering and sorting.

Each chooses or moves elements by position: ``slice`` and ``dynamic_slice`` cut a window,
``dynamic_update_slice`` writes one, ``gather`` and the ``scatter`` family read and write many
windows at positions held in an index array (XLA's semantics, batching dims included), and
``sort``/``top_k`` reorder along an axis. Out-of-range positions are clamped or dropped as XLA
does; the modes are spelled out at :class:`GatherScatterMode`.
"""

from __future__ import annotations

import enum
import functools
import itertools
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.core import (
    EVAL_TRACE,
    Array,
    ArrayLike,
    Jaxpr,
    NDArray,
    Primitive,
    ShapedArray,
    Tracer,
    get_aval,
)
from refjax.interp.staging import trace_to_jaxpr
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives.common import check_same_dtypes, check_shape, standard_primitive

__all__ = [
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ScatterDimensionNumbers",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "gather",
    "index_in_dim",
    "scatter",
    "scatter_add",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "scatter_sub",
    "slice",
    "slice_in_dim",
    "sort",
    "sort_key_val",
    "top_k",
]


def canonicalize_axis(axis: int, ndim: int) -> int:
    """``axis`` in ``range(ndim)``, negative counting from the end; JAX's ValueError otherwise."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _shape_of(x: ArrayLike) -> tuple[int, ...]:
    return get_aval(x).shape


# ---------------------------------------------------------------------------------------------
# slice


def _slice_rule(
    operand: ShapedArray,
    *,
    start_indices: tuple[int, ...],
    limit_indices: tuple[int, ...],
    strides: tuple[int, ...] | None,
) -> ShapedArray:
    check_shape("slice", start_indices, "start_indices")
    check_shape("slice", limit_indices, "limit_indices")
    if operand.ndim != len(start_indices):
        raise TypeError(
            "slice start_indices must have length equal to the number of dimensions of the "
            f"operand, got indices {start_indices} for operand shape {operand.shape}."
        )
    if len(start_indices) != len(limit_indices):
        raise TypeError(
            "slice limit_indices must have the same length as start_indices, got start_indices "
            f"{start_indices} and limit_indices {limit_indices}."
        )
    if any(lim > d for d, lim in zip(operand.shape, limit_indices, strict=True)):
        raise TypeError(
            "slice limit_indices must be less than or equal to operand shape, got limit_indices "
            f"{limit_indices} for operand shape {operand.shape}."
        )
    if any(lim < s for s, lim in zip(start_indices, limit_indices, strict=True)):
        raise TypeError(
            "slice limit_indices must be greater than or equal to start_indices, got "
            f"start_indices {start_indices} and limit_indices {limit_indices}."
        )
    sizes = [lim - s for s, lim in zip(start_indices, limit_indices, strict=True)]
    if strides is not None:
        check_shape("slice", strides, "strides")
        if len(strides) != operand.ndim:
            raise TypeError(
                "slice strides must have length equal to the number of dimensions of the "
                f"operand, got strides {strides} for operand shape {operand.shape}."
            )
        if any(s <= 0 for s in strides):
            raise TypeError(f"slice strides must be positive, got {strides}")
        sizes = [max(0, (n - 1) // s + 1) for n, s in zip(sizes, strides, strict=True)]
    return operand.update(shape=tuple(sizes))


slice_p = standard_primitive("slice", _slice_rule)


def slice(  # noqa: A001  # lax's name
    operand: ArrayLike,
    start_indices: Sequence[int],
    limit_indices: Sequence[int],
    strides: Sequence[int] | None = None,
) -> Array:
    """``operand[start:limit:stride]`` in every dimension (static bounds)."""
    return slice_p.bind(
        operand,
        start_indices=tuple(start_indices),
        limit_indices=tuple(limit_indices),
        strides=None if strides is None else tuple(strides),
    )


def slice_in_dim(
    operand: ArrayLike,
    start_index: int | None,
    limit_index: int | None,
    stride: int = 1,
    axis: int = 0,
) -> Array:
    """:func:`slice` along one ``axis``: ``operand[..., start:limit:stride]`` there."""
    shape = _shape_of(operand)
    size = shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = size if limit_index is None else int(limit_index)
    starts, limits, strides = [0] * len(shape), list(shape), [1] * len(shape)
    starts[axis] = start + size if start < 0 else start
    limits[axis] = limit + size if limit < 0 else limit
    strides[axis] = int(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand: ArrayLike, index: int, axis: int = 0, keepdims: bool = True) -> Array:
    """The entry ``index`` along ``axis`` (a size-1 axis kept unless ``keepdims=False``)."""
    index, axis = int(index), int(axis)
    size = _shape_of(operand)[axis]
    wrapped = index + size if index < 0 else index
    if not 0 <= wrapped < size:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {size}")
    result = slice_in_dim(operand, wrapped, wrapped + 1, 1, axis)
    return result if keepdims else sh.squeeze(result, (axis,))


# ---------------------------------------------------------------------------------------------
# dynamic_slice and dynamic_update_slice: start indices are values, clamped into range


def _check_start_indices(name: str, operand: ShapedArray, starts: Sequence[ShapedArray]) -> None:
    if len(starts) != operand.ndim:
        raise TypeError(
            f"{name} start_indices must have length equal to the rank of operand, got "
            f"{len(starts)} indices for operand shape {operand.shape}."
        )
    if any(i.ndim != 0 for i in starts):
        sep = " " if name == "dynamic_slice" else ""  # JAX's texts differ by one space
        raise TypeError(
            f"start_indices arguments to {name} must be scalars,{sep} got indices {tuple(starts)}"
        )
    if any(i.dtype != starts[0].dtype or not dtypes.is_integer(i.dtype) for i in starts):
        sep = ": " if name == "dynamic_slice" else " "
        names = ", ".join(i.dtype.name for i in starts)
        raise TypeError(
            f"index arguments to {name} must be integers of the same type, got{sep}{names}"
        )


def _dynamic_slice_rule(
    operand: ShapedArray, *start_indices: ShapedArray, slice_sizes: tuple[int, ...]
) -> ShapedArray:
    if len(slice_sizes) != operand.ndim or any(
        s > d for s, d in zip(slice_sizes, operand.shape, strict=True)
    ):
        raise TypeError(
            "slice slice_sizes must be less than or equal to operand shape, got slice_sizes "
            f"{slice_sizes} for operand shape {operand.shape}."
        )
    if any(s < 0 for s in slice_sizes):
        raise TypeError(
            "slice slice_sizes must be greater than or equal to zero, got slice_sizes of "
            f"{slice_sizes}."
        )
    _check_start_indices("dynamic_slice", operand, start_indices)
    return operand.update(shape=tuple(slice_sizes))


dynamic_slice_p = standard_primitive("dynamic_slice", _dynamic_slice_rule)


def _index_dtype(i: ArrayLike) -> DType:
    if isinstance(i, (bool, int)):
        return dtypes.default_int_dtype()
    return get_aval(i).dtype


def _wrap_negative(i: ArrayLike, size: int, allow_negative: bool) -> ArrayLike:
    """A start index with negative values counted from the end (``i + size``), as JAX does."""
    dtype = _index_dtype(i)
    if dtypes.issubdtype(dtype, np.unsignedinteger):
        return i
    if isinstance(i, (int, np.integer)):
        if int(i) < 0 and not allow_negative:
            raise ValueError(
                f"Index {i} is out of bounds for dimension {size} if allow_negative_indices=False"
            )
        return np.asarray(int(i) + size if int(i) < 0 else int(i), dtype)
    if not allow_negative:
        return i
    if isinstance(i, Tracer):
        zero, size_value = np.asarray(0, dtype), np.asarray(size, dtype)
        is_negative = ew.lt(i, zero)
        return ew.select_n(is_negative, i, ew.add(i, size_value))
    value = np.asarray(i)
    return np.where(value < 0, value + size, value).astype(value.dtype)


def _dynamic_slice_indices(
    operand: ArrayLike,
    start_indices: Array | NDArray | Sequence[ArrayLike],
    allow_negative_indices: bool | Sequence[bool],
) -> list[ArrayLike]:
    shape = _shape_of(operand)
    if len(start_indices) != len(shape):
        raise ValueError(
            "Length of slice indices must match number of operand dimensions "
            f"({len(start_indices)} vs {shape})"
        )
    if isinstance(start_indices, (Array, np.ndarray)):
        if start_indices.ndim != 1:
            raise ValueError(f"Slice indices must be a 1D sequence, got {start_indices.shape}")
        starts: list[ArrayLike] = [start_indices[k] for k in range(len(start_indices))]
    else:
        starts = list(start_indices)
    if isinstance(allow_negative_indices, bool):
        allow_negative_indices = [allow_negative_indices] * len(starts)
    return [
        _wrap_negative(i, d, allow)
        for i, d, allow in zip(starts, shape, allow_negative_indices, strict=True)
    ]


def dynamic_slice(
    operand: ArrayLike,
    start_indices: Array | NDArray | Sequence[ArrayLike],
    slice_sizes: Sequence[int],
    *,
    allow_negative_indices: bool | Sequence[bool] = True,
) -> Array:
    """The window of ``slice_sizes`` at ``start_indices``, starts clamped to fit in range."""
    starts = _dynamic_slice_indices(operand, start_indices, allow_negative_indices)
    sizes = check_shape("dynamic_slice", slice_sizes, "slice_sizes")
    return dynamic_slice_p.bind(operand, *starts, slice_sizes=sizes)


def _zero_index_like(i: ArrayLike) -> ArrayLike:
    """JAX's ``_const(i, 0)``: 0 as a Python int for Python ints, else of ``i``'s dtype."""
    if isinstance(i, int):
        return 0
    return np.asarray(0, _index_dtype(i))


def dynamic_slice_in_dim(
    operand: ArrayLike,
    start_index: ArrayLike,
    slice_size: int,
    axis: int = 0,
    *,
    allow_negative_indices: bool = True,
) -> Array:
    """:func:`dynamic_slice` along one ``axis``: ``operand[..., start:start + size]`` there."""
    shape = _shape_of(operand)
    axis = int(axis)
    starts: list[ArrayLike] = [_zero_index_like(start_index)] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = int(slice_size)
    allow = [False] * len(shape)
    allow[axis] = allow_negative_indices
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=allow)


def dynamic_index_in_dim(
    operand: ArrayLike,
    index: ArrayLike,
    axis: int = 0,
    keepdims: bool = True,
    *,
    allow_negative_indices: bool = True,
) -> Array:
    """The entry at the (dynamic) ``index`` along ``axis``."""
    result = dynamic_slice_in_dim(
        operand, index, 1, axis, allow_negative_indices=allow_negative_indices
    )
    return result if keepdims else sh.squeeze(result, (int(axis),))


def _dynamic_update_slice_rule(
    operand: ShapedArray, update: ShapedArray, *start_indices: ShapedArray
) -> ShapedArray:
    if operand.ndim != update.ndim:
        raise TypeError(
            "dynamic_update_slice update must have the same rank as operand, got update shape "
            f"{update.shape} for operand shape {operand.shape}."
        )
    if operand.ndim != len(start_indices):
        raise TypeError(
            "dynamic_update_slice start_indices must have length equal to the rank of operand, "
            f"got indices {start_indices} for operand shape {operand.shape}."
        )
    if any(u > d for u, d in zip(update.shape, operand.shape, strict=True)):
        raise TypeError(
            "dynamic_update_slice update shape must be smaller than operand shape, got update "
            f"shape {update.shape} for operand shape {operand.shape}."
        )
    _check_start_indices("dynamic_update_slice", operand, start_indices)
    check_same_dtypes("dynamic_update_slice", operand, update)
    weak = all(a.weak_type for a in (operand, update, *start_indices))
    return operand.update(weak_type=weak)


dynamic_update_slice_p = standard_primitive("dynamic_update_slice", _dynamic_update_slice_rule)


def dynamic_update_slice(
    operand: ArrayLike,
    update: ArrayLike,
    start_indices: Array | NDArray | Sequence[ArrayLike],
    *,
    allow_negative_indices: bool | Sequence[bool] = True,
) -> Array:
    """``operand`` with ``update`` written at ``start_indices`` (clamped so that it fits)."""
    starts = _dynamic_slice_indices(operand, start_indices, allow_negative_indices)
    return dynamic_update_slice_p.bind(operand, update, *starts)


def dynamic_update_slice_in_dim(
    operand: ArrayLike,
    update: ArrayLike,
    start_index: ArrayLike,
    axis: int,
    *,
    allow_negative_indices: bool = True,
) -> Array:
    """:func:`dynamic_update_slice` at ``start_index`` along ``axis`` (0 elsewhere)."""
    ndim = len(_shape_of(operand))
    axis = int(axis)
    starts: list[ArrayLike] = [_zero_index_like(start_index)] * ndim
    starts[axis] = start_index
    allow = [False] * ndim
    allow[axis] = allow_negative_indices
    return dynamic_update_slice(operand, update, starts, allow_negative_indices=allow)


def dynamic_update_index_in_dim(
    operand: ArrayLike,
    update: ArrayLike,
    index: ArrayLike,
    axis: int,
    *,
    allow_negative_indices: bool = True,
) -> Array:
    """``operand`` with entry ``index`` along ``axis`` replaced by ``update``."""
    axis = int(axis)
    if len(_shape_of(update)) != len(_shape_of(operand)):
        assert len(_shape_of(update)) + 1 == len(_shape_of(operand))
        update = sh.expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(
        operand, update, index, axis, allow_negative_indices=allow_negative_indices
    )


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


def gather_window_dims(dnums: GatherDimensionNumbers, ndim: int) -> tuple[int, ...]:
    """Operand dims that appear in the output (neither collapsed nor batching), in order."""
    dropped = set(dnums.collapsed_slice_dims) | set(dnums.operand_batching_dims)
    return tuple(d for d in range(ndim) if d not in dropped)


def _gather_shape(
    indices: ShapedArray, dnums: GatherDimensionNumbers, slice_sizes: tuple[int, ...]
) -> tuple[int, ...]:
    """Offset dims take the window sizes, the other output dims the indices' batch dims."""
    windows = iter(slice_sizes[d] for d in gather_window_dims(dnums, len(slice_sizes)))
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


_DimensionNumbers = TypeVar("_DimensionNumbers", GatherDimensionNumbers, ScatterDimensionNumbers)


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


def scatter_window_dims(dnums: ScatterDimensionNumbers, ndim: int) -> tuple[int, ...]:
    """Operand dims that the updates' window dims run over (neither inserted nor batching)."""
    dropped = set(dnums.inserted_window_dims) | set(dnums.operand_batching_dims)
    return tuple(d for d in range(ndim) if d not in dropped)


def _check_scatter_bounds(
    operand: ShapedArray,
    indices: ShapedArray,
    updates: ShapedArray,
    dnums: ScatterDimensionNumbers,
) -> None:
    """Update windows fit in the operand; update scatter dims match the indices' batch dims."""
    max_sizes = [operand.shape[d] for d in scatter_window_dims(dnums, operand.ndim)]
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


# ---------------------------------------------------------------------------------------------
# sort and top_k


def _sort_rule(
    *operands: ShapedArray, dimension: int, is_stable: bool, num_keys: int
) -> tuple[ShapedArray, ...]:
    if any(a.shape != operands[0].shape for a in operands[1:]):
        shapes = " ".join(str(a.shape) for a in operands)
        raise TypeError(f"Arguments to sort must have equal shapes, got: {shapes}")
    return operands


sort_p = standard_primitive("sort", _sort_rule, multiple_results=True)


def sort(
    operand: ArrayLike | Sequence[ArrayLike],
    dimension: int = -1,
    is_stable: bool = True,
    num_keys: int = 1,
) -> Array | tuple[Array, ...]:
    """Operands sorted along ``dimension`` by the first ``num_keys`` of them, lexicographically.

    Floats sort in a total order: -0.0 and 0.0 tie, NaNs go last; complex numbers sort by real
    part, then imaginary part.
    """
    if isinstance(operand, Sequence):
        if len(operand) == 0:
            raise TypeError("Sort requires at least one operand")
        if not 1 <= num_keys <= len(operand):
            raise ValueError(
                f"num_keys={num_keys} must be between 1 and len(operand)={len(operand)}"
            )
        axis = canonicalize_axis(dimension, len(_shape_of(operand[0])))
        outs = sort_p.bind_all(*operand, dimension=axis, is_stable=is_stable, num_keys=num_keys)
        return tuple(outs)
    if num_keys != 1:
        raise ValueError(f"num_keys={num_keys} must equal 1 for a single operand.")
    axis = canonicalize_axis(dimension, len(_shape_of(operand)))
    return sort_p.bind_all(operand, dimension=axis, is_stable=is_stable, num_keys=1)[0]


def sort_key_val(
    keys: ArrayLike, values: ArrayLike, dimension: int = -1, is_stable: bool = True
) -> tuple[Array, Array]:
    """``keys`` sorted along ``dimension``, and ``values`` permuted the same way."""
    axis = canonicalize_axis(dimension, len(_shape_of(keys)))
    k, v = sort_p.bind_all(keys, values, dimension=axis, is_stable=is_stable, num_keys=1)
    return k, v


def _top_k_rule(operand: ShapedArray, *, k: int, axis: int) -> tuple[ShapedArray, ShapedArray]:
    if dtypes.issubdtype(operand.dtype, np.complexfloating):
        raise ValueError("top_k is not compatible with complex inputs.")
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    if operand.ndim == 0:
        raise TypeError(f"top_k operand must have >= 1 dimension, got {operand.shape}")
    if not 0 <= axis < operand.ndim:
        raise ValueError(
            f"axis argument out of range: axis={axis} for operand.shape={operand.shape}"
        )
    shape = list(operand.shape)
    if shape[axis] < k:
        raise ValueError(
            "k argument to top_k must be no larger than size along axis; got "
            f"k={k} with shape={shape} and axis={axis}"
        )
    shape[axis] = k
    return operand.update(shape=tuple(shape)), operand.update(
        shape=tuple(shape), dtype=dtypes.int32
    )


top_k_p = standard_primitive("top_k", _top_k_rule, multiple_results=True)


def top_k(operand: ArrayLike, k: int, *, axis: int = -1) -> tuple[Array, Array]:
    """The ``k`` largest entries along ``axis`` and their indices (NaN largest, ties by index)."""
    k = int(k)
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    axis = canonicalize_axis(axis, len(_shape_of(operand)))
    values, indices = top_k_p.bind_all(operand, k=k, axis=axis)
    return values, indices
