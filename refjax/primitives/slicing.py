"""Slicing primitives: windows of an array at static or dynamic positions.

``slice`` cuts a window at static bounds (with strides); ``dynamic_slice`` cuts one at start
indices that are values and ``dynamic_update_slice`` writes one, their starts clamped so that
the window fits, as XLA does. ``slice_in_dim``, ``index_in_dim`` and their dynamic forms do the
same along one axis. Batched start indices make a dynamic slice a gather (an update a scatter),
so those batching rules reuse :mod:`refjax.primitives.gather_scatter`'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.batching import BatchDim, batching_rules, bdim_at
from refjax.interp.core import Array, ArrayLike, NDArray, ShapedArray, Tracer, get_aval
from refjax.interp.jvp import Tangent, Zero, instantiate, jvp_rules
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2, deftranspose
from refjax.primitives import elementwise as ew
from refjax.primitives import gather_scatter as gs
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
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_slice_p",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "dynamic_update_slice_p",
    "index_in_dim",
    "slice",
    "slice_in_dim",
    "slice_p",
]





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




def _slice_transpose(
    ct: Array,
    operand: UndefinedPrimal,
    *,
    start_indices: tuple[int, ...],
    limit_indices: tuple[int, ...],
    strides: tuple[int, ...] | None,
) -> list[Cotangent | None]:
    """Zeros around the cotangent (before, after, and between strided elements)."""
    shape = operand.aval.shape
    steps = strides or (1,) * len(shape)
    ct_shape = get_aval(ct).shape
    ends = [
        s + sh.dilate_dim(n, st - 1)
        for s, n, st in zip(start_indices, ct_shape, steps, strict=True)
    ]
    config = tuple(
        (s, d - end, st - 1)
        for s, d, end, st in zip(start_indices, shape, ends, steps, strict=True)
    )
    zero = np.zeros((), get_aval(ct).dtype)
    return [sh.pad(ct, zero, config)]


deflinear2(slice_p, _slice_transpose)


def _slice_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    start_indices: tuple[int, ...],
    limit_indices: tuple[int, ...],
    strides: tuple[int, ...] | None,
) -> tuple[list[Array], list[int]]:
    """The whole batch axis is kept: start 0, limit its size, stride 1."""
    (x,), (d,) = args, dims
    assert d is not None
    starts, limits = list(start_indices), list(limit_indices)
    starts.insert(d, 0)
    limits.insert(d, shape_of(x)[d])
    steps = None if strides is None else [*strides[:d], 1, *strides[d:]]
    return [slice(x, starts, limits, steps)], [d]


batching_rules[slice_p] = _slice_batch


def slice_in_dim(
    operand: ArrayLike,
    start_index: int | None,
    limit_index: int | None,
    stride: int = 1,
    axis: int = 0,
) -> Array:
    """:func:`slice` along one ``axis``: ``operand[..., start:limit:stride]`` there."""
    shape = shape_of(operand)
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
    size = shape_of(operand)[axis]
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
    shape = shape_of(operand)
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


def _dynamic_slice_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, slice_sizes: tuple[int, ...]
) -> tuple[list[Array], list[Tangent]]:
    """The tangent's window at the same (clamped) starts."""
    operand, *starts = primals
    out = dynamic_slice_p.bind(operand, *starts, slice_sizes=slice_sizes)
    t = tangents[0]
    if isinstance(t, Zero):
        return [out], [Zero.from_primal(out)]
    return [out], [dynamic_slice_p.bind(t, *starts, slice_sizes=slice_sizes)]


jvp_rules[dynamic_slice_p] = _dynamic_slice_jvp


def _dynamic_slice_transpose(
    ct: Array, operand: UndefinedPrimal, *starts: ArrayLike, slice_sizes: tuple[int, ...]
) -> list[Cotangent | None]:
    """The cotangent written into zeros at the window's place."""
    zeros = full(operand.aval.shape, 0, get_aval(ct).dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *starts), *[None] * len(starts)]


deftranspose(dynamic_slice_p, _dynamic_slice_transpose)


def _zero_start(starts: Sequence[ArrayLike]) -> NDArray:
    """A start index 0 of the dtype of the other start indices."""
    dtype = get_aval(starts[0]).dtype if starts else dtypes.int32
    return np.zeros((), dtype)


def _stacked_starts(starts: Sequence[ArrayLike], dims: Sequence[BatchDim]) -> Array:
    """Scalar start indices, some batched, as one index array of shape (batch, len(starts))."""
    size = next(get_aval(i).shape[0] for i, d in zip(starts, dims, strict=True) if d is not None)
    columns = [
        sh.broadcast_in_dim(i, (size, 1), () if d is None else (0,))
        for i, d in zip(starts, dims, strict=True)
    ]
    return sh.concatenate(columns, 1)


def _dynamic_slice_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, slice_sizes: tuple[int, ...]
) -> tuple[list[Array], list[int]]:
    """A batched operand alone keeps its batch axis in the window; batched starts: a gather."""
    operand, *starts = args
    operand_dim, *start_dims = dims
    if all(d is None for d in start_dims):
        assert operand_dim is not None
        new_starts: list[ArrayLike] = list(starts)
        new_starts.insert(operand_dim, _zero_start(starts))
        sizes = list(slice_sizes)
        sizes.insert(operand_dim, shape_of(operand)[operand_dim])
        out = dynamic_slice_p.bind(operand, *new_starts, slice_sizes=tuple(sizes))
        return [out], [operand_dim]
    all_dims = tuple(range(len(slice_sizes)))
    dnums = gs.GatherDimensionNumbers(
        offset_dims=all_dims, collapsed_slice_dims=(), start_index_map=all_dims
    )
    return gs._gather_batch(
        [operand, _stacked_starts(starts, start_dims)],
        [operand_dim, 0],
        dimension_numbers=dnums,
        slice_sizes=slice_sizes,
        unique_indices=True,
        indices_are_sorted=True,
        mode=gs.GatherScatterMode.CLIP,
        fill_value=None,
    )


batching_rules[dynamic_slice_p] = _dynamic_slice_batch


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
    shape = shape_of(operand)
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


def _dynamic_update_slice_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
) -> tuple[list[Array], list[Tangent]]:
    """The update's tangent written into the operand's tangent."""
    operand, update, *starts = primals
    t_operand, t_update, *_ = tangents
    out = dynamic_update_slice_p.bind(operand, update, *starts)
    if isinstance(t_operand, Zero) and isinstance(t_update, Zero):
        return [out], [Zero.from_primal(out)]
    t_out = dynamic_update_slice_p.bind(instantiate(t_operand), instantiate(t_update), *starts)
    return [out], [t_out]


jvp_rules[dynamic_update_slice_p] = _dynamic_update_slice_jvp


def _dynamic_update_slice_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    update: ArrayLike | UndefinedPrimal,
    *starts: ArrayLike,
) -> list[Cotangent | None]:
    """The operand gets ``ct`` with the window zeroed; the update gets the window."""
    update_shape = aval_of(update).shape
    operand_ct = update_ct = None
    if isinstance(operand, UndefinedPrimal):
        zeros = full(update_shape, 0, get_aval(ct).dtype)
        operand_ct = dynamic_update_slice_p.bind(ct, zeros, *starts)
    if isinstance(update, UndefinedPrimal):
        update_ct = dynamic_slice_p.bind(ct, *starts, slice_sizes=update_shape)
    return [operand_ct, update_ct, *[None] * len(starts)]


deftranspose(dynamic_update_slice_p, _dynamic_update_slice_transpose)


def _dynamic_update_slice_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[Array], list[int]]:
    """Unbatched starts: the window spans the batch axis. Batched starts: a scatter."""
    operand, update, *starts = args
    operand_dim, update_dim, *start_dims = dims
    size = next(shape_of(x)[d] for x, d in zip(args, dims, strict=True) if d is not None)
    if all(d is None for d in start_dims):
        dim = update_dim if operand_dim is None else operand_dim
        assert dim is not None
        operand = bdim_at(operand, operand_dim, size, dim)
        update = bdim_at(update, update_dim, size, dim)
        new_starts: list[ArrayLike] = list(starts)
        new_starts.insert(dim, _zero_start(starts))
        return [dynamic_update_slice_p.bind(operand, update, *new_starts)], [dim]
    all_dims = tuple(range(len(starts)))
    dnums = gs.ScatterDimensionNumbers(
        update_window_dims=all_dims, inserted_window_dims=(), scatter_dims_to_operand_dims=all_dims
    )
    return gs._scatter_batch(
        gs.scatter_p,
        [operand, _stacked_starts(starts, start_dims), update],
        [operand_dim, 0, update_dim],
        dimension_numbers=dnums,
        indices_are_sorted=True,
        unique_indices=True,
        mode=gs.GatherScatterMode.CLIP,
        update_jaxpr=None,
        update_consts=(),
    )


batching_rules[dynamic_update_slice_p] = _dynamic_update_slice_batch


def dynamic_update_slice_in_dim(
    operand: ArrayLike,
    update: ArrayLike,
    start_index: ArrayLike,
    axis: int,
    *,
    allow_negative_indices: bool = True,
) -> Array:
    """:func:`dynamic_update_slice` at ``start_index`` along ``axis`` (0 elsewhere)."""
    ndim = len(shape_of(operand))
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
    if len(shape_of(update)) != len(shape_of(operand)):
        assert len(shape_of(update)) + 1 == len(shape_of(operand))
        update = sh.expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(
        operand, update, index, axis, allow_negative_indices=allow_negative_indices
    )
