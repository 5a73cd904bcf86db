"""Editing arrays in ``jax.numpy``: removing and adding entries (``delete``, ``insert``,
``trim_zeros``, ``resize``), writing into them (``place``, ``put``, ``put_along_axis``,
``fill_diagonal``; all functional, as JAX's, so each requires ``inplace=False``), and
re-shaping ones (``rollaxis``, ``diagflat``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.errors import ConcretizationTypeError
from refjax.interp.core import Array, ArrayLike, Tracer, concrete_or_error, get_aval, is_concrete
from refjax.numpy import ufuncs
from refjax.numpy._util import broadcast_to, check_arraylike, ensure_arraylike
from refjax.numpy.creation import arange, array, asarray, full, ones, zeros, zeros_like
from refjax.numpy.histograms import nonzero_sized
from refjax.numpy.manipulation import (
    broadcast_shapes,
    concatenate,
    moveaxis,
    ravel,
    reshape,
    tile,
)
from refjax.numpy.searching import sparse_indices
from refjax.numpy.selection import argsort, clip, sort, unravel_index, where
from refjax.primitives.calls import library_jit
from refjax.util import canonicalize_axis

__all__ = [
    "delete",
    "diagflat",
    "fill_diagonal",
    "insert",
    "place",
    "put",
    "put_along_axis",
    "resize",
    "rollaxis",
    "trim_zeros",
]


def _tile_to_size(arr: Array, size: int) -> Array:
    """The 1-D ``arr`` repeated (or cut) to length ``size``."""
    if arr.size < size:
        arr = tile(arr, int(np.ceil(size / arr.size)))
    return arr[:size] if arr.size > size else arr


def _leading(axis: int) -> tuple[slice, ...]:
    return (slice(None),) * axis


# ---------------------------------------------------------------------------------------------
# Removing and adding entries


def delete(
    arr: ArrayLike, obj: ArrayLike | slice, axis: int | None = None, *,
    assume_unique_indices: bool = False,
) -> Array:
    """``arr`` without the entries at ``obj`` (an index, a slice, an index array or a boolean
    mask) along ``axis`` (of flattened ``arr`` if None). Index arrays must be concrete unless
    ``assume_unique_indices`` promises that they hold no duplicates."""
    (a,) = ensure_arraylike("delete", arr)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonicalize_axis(axis, a.ndim)
    if not isinstance(obj, slice):
        try:
            position = operator.index(obj)  # type: ignore[arg-type]  # an index, or not
        except TypeError:
            pass
        else:  # one static index: two slices
            position = canonicalize_axis(position, a.shape[axis])
            before = a[(*_leading(axis), slice(0, position))]
            after = a[(*_leading(axis), slice(position + 1, None))]
            return concatenate([before, after], axis=axis)
    if isinstance(obj, slice):
        obj = arange(a.shape[axis])[obj]
        assume_unique_indices = True
    check_arraylike("delete", a, obj)
    n = a.shape[axis]
    if dtypes.is_integer(get_aval(obj).dtype) and assume_unique_indices:
        removed = ravel(asarray(obj))
        removed = clip(where(ufuncs.less(removed, 0), ufuncs.add(removed, n), removed), 0, n)
        removed = sort(removed)
        removed = ufuncs.subtract(removed, arange(removed.shape[0], dtype=removed.dtype))
        kept = arange(n - removed.size, dtype=removed.dtype)
        shift = ufuncs.greater_equal(kept[None, :], removed[:, None]).sum(0, dtype=kept.dtype)
        kept = ufuncs.add(kept, shift)
        return a[(*_leading(axis), kept)]
    static = concrete_or_error(obj, "'obj' array argument of jnp.delete()")
    if static.dtype.kind in "iu":
        keep = np.ones(n, dtype=bool)
        keep[static] = False
    elif static.dtype == np.bool_:
        if static.shape != (n,):
            raise ValueError("np.delete(arr, obj): for boolean indices, obj must be "
                             "one-dimensional with length matching specified axis.")
        keep = ~static
    else:
        raise ValueError(f"np.delete(arr, obj): got obj.dtype={static.dtype}; must be integer "
                         "or bool.")
    return a[(*_leading(axis), keep)]


def insert(arr: ArrayLike, obj: ArrayLike | slice, values: ArrayLike,
           axis: int | None = None) -> Array:
    """``arr`` with ``values`` inserted before the index (or indices) ``obj`` along ``axis``
    (of flattened ``arr`` if None)."""
    a, _, vals = ensure_arraylike("insert", arr, 0 if isinstance(obj, slice) else obj, values)
    if axis is None:
        a, axis = ravel(a), 0
    if isinstance(axis, Tracer) and not is_concrete(axis):
        raise ConcretizationTypeError(axis, "axis argument of jnp.insert()")
    axis = canonicalize_axis(axis, a.ndim)
    if isinstance(obj, slice):
        indices = arange(*obj.indices(a.shape[axis]))
    else:
        indices = asarray(obj)
    if indices.ndim > 1:
        raise ValueError("jnp.insert(): obj must be a slice, a one-dimensional array, or a "
                         f"scalar; got {obj}")
    if not dtypes.is_integer(indices.dtype):
        if indices.size == 0 and not isinstance(obj, Array):
            indices = indices.astype(int)
        else:
            raise ValueError(f"jnp.insert(): index array must be integer typed; got {obj}")
    vals = array(vals, ndmin=a.ndim, dtype=a.dtype, copy=False)
    if indices.size == 1:
        index = ravel(indices)[0]
        if indices.ndim == 0:
            vals = moveaxis(vals, 0, axis)
        indices = full(vals.shape[axis], index)
    n_input = a.shape[axis]
    n_insert = broadcast_shapes(indices.shape, (vals.shape[axis],))[0]
    out_shape = tuple(d + n_insert if k == axis else d for k, d in enumerate(a.shape))
    out = zeros_like(a, shape=out_shape)
    indices = where(ufuncs.less(indices, 0), ufuncs.add(indices, n_input), indices)
    indices = clip(indices, 0, n_input)
    value_at: Array = indices.at[argsort(indices)].add(
        arange(n_insert, dtype=indices.dtype))
    keep_mask: Array = ones(n_input + n_insert, dtype=dtypes.bool_).at[value_at].set(False)
    kept_at = nonzero_sized(keep_mask, n_input)[0]
    out = out.at[(*_leading(axis), value_at)].set(vals)
    result: Array = out.at[(*_leading(axis), kept_at)].set(a)
    return result


def trim_zeros(filt: ArrayLike, trim: str = "fb",
               axis: int | Sequence[int] | None = None) -> Array:
    """``filt`` without its leading (``'f'`` in ``trim``) and trailing (``'b'``) all-zero
    slices along each axis in ``axis`` (every axis if None). ``filt`` must be concrete."""
    (arr,) = ensure_arraylike("trim_zeros", filt)
    values = concrete_or_error(arr, "Error arose in the `filt` argument of trim_zeros()")
    if axis is None:
        axes = set(range(arr.ndim))
    elif isinstance(axis, Sequence):
        listed = tuple(canonicalize_axis(i, arr.ndim) for i in axis)
        if len(set(listed)) != len(listed):
            raise ValueError(f"repeated axis: {listed}")
        axes = set(listed)
    else:
        axes = {canonicalize_axis(axis, arr.ndim)}
    front, back = "f" in trim.lower(), "b" in trim.lower()
    if not axes or not (front or back):
        return arr

    def kept(ax: int) -> slice:
        if ax not in axes:
            return slice(None)
        nonzero = np.any(values, axis=tuple(i for i in range(arr.ndim) if i != ax))
        if not nonzero.any():
            return slice(0, 0)
        start = int(nonzero.argmax()) if front else None
        stop = arr.shape[ax] - int(nonzero[::-1].argmax()) if back else None
        return slice(start, stop)

    return arr[tuple(kept(ax) for ax in range(arr.ndim))]


@library_jit(static_argnames=("new_shape",))
def resize(a: ArrayLike, new_shape: int | Sequence[int]) -> Array:
    """``a`` flattened, repeated as often as needed and cut to fill ``new_shape``."""
    check_arraylike("resize", a)
    shape = _index_tuple(new_shape)
    if any(d < 0 for d in shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    flat = ravel(a)
    size = math.prod(shape)
    if flat.size == 0 or size == 0:
        return zeros_like(flat, shape=shape)
    repeats = -(-size // flat.size)
    return reshape(tile(flat, repeats)[:size], shape)


def _index_tuple(x: int | Sequence[int]) -> tuple[int, ...]:
    try:
        return (operator.index(x),)  # type: ignore[arg-type]  # an int, or a sequence of them
    except TypeError:
        return tuple(map(operator.index, x))  # type: ignore[arg-type]  # (not an int)


# ---------------------------------------------------------------------------------------------
# Writing into arrays


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise ValueError(
            f"jax.numpy.{name} cannot modify arrays in-place, because JAX arrays are immutable. "
            "Pass inplace=False to instead return an updated array.")


def place(arr: ArrayLike, mask: ArrayLike, vals: ArrayLike, *, inplace: bool = True) -> Array:
    """``arr`` with the positions where ``mask`` is true set to the values of ``vals`` in order
    (repeated as needed)."""
    data, where_mask, values = ensure_arraylike("place", arr, mask, vals)
    values = ravel(values)
    _no_inplace("place", inplace)
    if data.size != where_mask.size:
        raise ValueError("place: arr and mask must be the same size")
    if not values.size:
        raise ValueError("Cannot place values from an empty array")
    if not data.size:
        return data
    positions = nonzero_sized(ravel(where_mask), where_mask.size,
                              fill_value=where_mask.size)[0]
    values = _tile_to_size(values, positions.shape[0])
    out: Array = ravel(data).at[positions].set(values, mode="drop")
    return out.reshape(data.shape)


def put(a: ArrayLike, ind: ArrayLike, v: ArrayLike, mode: str | None = None, *,
        inplace: bool = True) -> Array:
    """``a`` with the elements at the flat indices ``ind`` set to ``v`` (repeated as needed);
    out-of-range indices are dropped (``mode=None``), clipped or wrapped."""
    _no_inplace("put", inplace)
    arr, index, _ = ensure_arraylike("put", a, ind, v)
    index = ravel(index)
    values = ravel(v)
    if not arr.size or not index.size or not values.size:
        return arr
    values = _tile_to_size(values, index.shape[0])
    if mode is None:
        scatter_mode = "drop"
    elif mode == "clip":
        index = clip(index, 0, arr.size - 1)
        scatter_mode = "promise_in_bounds"
    elif mode == "wrap":
        index = ufuncs.remainder(index, arr.size)
        scatter_mode = "promise_in_bounds"
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.put is not supported.")
    else:
        raise ValueError(f"mode should be one of 'wrap' or 'clip'; got {mode=}")
    out: Array = arr.at[unravel_index(index, arr.shape)].set(values, mode=scatter_mode)
    return out


@library_jit(static_argnames=("axis", "inplace", "mode"))
def put_along_axis(
    arr: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: int | None,
    inplace: bool = True, *, mode: str | None = None,
) -> Array:
    """``arr`` with ``values`` written at ``indices`` along ``axis``, the other axes matched
    elementwise (the inverse of ``take_along_axis``)."""
    if inplace:
        raise ValueError(
            "jax.numpy.put_along_axis cannot modify arrays in-place, because JAX arrays"
            "are immutable. Pass inplace=False to instead return an updated array.")
    a, idx, vals = ensure_arraylike("put_along_axis", arr, indices, values)
    shape = a.shape
    if axis is None:
        a = ravel(a)
        ax = 0
    else:
        ax = axis
    if a.ndim != idx.ndim:
        raise ValueError("put_along_axis arguments 'arr' and 'indices' must have same ndim. "
                         f"Got arr.ndim={a.ndim} and indices.ndim={idx.ndim}.")
    try:
        vals = broadcast_to(vals, idx.shape)
    except ValueError:
        raise ValueError("put_along_axis argument 'values' must be broadcastable to 'indices'. "
                         f"Got values.shape={vals.shape} and indices.shape={idx.shape}."
                         ) from None
    ax = ax + a.ndim if ax < 0 else ax
    where_: list[Any] = list(sparse_indices(a.shape))
    where_[ax] = idx
    out: Array = a.at[tuple(where_)].set(vals, mode=mode)
    return out.reshape(shape) if axis is None else out


def fill_diagonal(a: ArrayLike, val: ArrayLike, wrap: bool = False, *,
                  inplace: bool = True) -> Array:
    """``a`` (at least 2-D, all axes equal if more) with its main diagonal set to ``val``
    (repeated as needed)."""
    if inplace:
        raise NotImplementedError("JAX arrays are immutable, must use inplace=False")
    if wrap:
        raise NotImplementedError("wrap=True is not implemented, must use wrap=False")
    arr, value = ensure_arraylike("fill_diagonal", a, val)
    if arr.ndim < 2:
        raise ValueError("array must be at least 2-d")
    if arr.ndim > 2 and not all(n == arr.shape[0] for n in arr.shape[1:]):
        raise ValueError("All dimensions of input must be of equal length")
    n = min(arr.shape)
    diagonal = (lax.iota(dtypes.default_int_dtype(), n),) * arr.ndim
    fill = value if value.ndim == 0 else _tile_to_size(ravel(value), n)
    out: Array = arr.at[diagonal].set(fill)
    return out


# ---------------------------------------------------------------------------------------------
# Axes and diagonals


@library_jit(static_argnames=("axis", "start"))
def rollaxis(a: ArrayLike, axis: int, start: int = 0) -> Array:
    """``a`` with ``axis`` moved to lie before ``start`` (numpy's older ``moveaxis``)."""
    (arr,) = ensure_arraylike("rollaxis", a)
    start = operator.index(start)
    ndim = arr.ndim
    axis = canonicalize_axis(axis, ndim)
    if not -ndim <= start <= ndim:
        raise ValueError(f"{start=} must satisfy {-ndim}<=start<={ndim}")
    if start < 0:
        start += ndim
    if start > axis:
        start -= 1
    return moveaxis(arr, axis, start)


def diagflat(v: ArrayLike, k: int = 0) -> Array:
    """A 2-D array with flattened ``v`` on its ``k``-th diagonal, zeros elsewhere."""
    check_arraylike("diagflat", v)
    flat = ravel(v)
    n = flat.shape[0] + abs(k)
    out = zeros(n * n, dtype=flat.dtype)
    i = arange(0, n - abs(k))
    if k >= 0:
        at = ufuncs.add(ufuncs.add(i, k), ufuncs.multiply(i, n))
    else:
        at = ufuncs.add(i, ufuncs.multiply(ufuncs.subtract(i, k), n))
    filled: Array = out.at[at].set(flat)
    return filled.reshape(n, n)
