"""Selection and sorting in ``jax.numpy``: choosing elements (``where``, ``select``, ``clip``),
the indices of elements (``nonzero``, ``argwhere``, ``unravel_index``), triangles and diagonals
(``tril``, ``triu``, ``diagonal``, ``diag``, ``trace``), and sorting and searching (``sort``,
``argsort``, ``searchsorted``).

``take`` and ``take_along_axis`` are gathers and live with indexing, in ``numpy/indexing.py``.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DTypeLike
from refjax.errors import ConcretizationTypeError
from refjax.interp.core import Array, ArrayLike, Tracer
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    check_arraylike,
    ensure_arraylike,
    promote_dtypes,
    user_dtype,
    where_,
)
from refjax.numpy.creation import arange, asarray, eye, tri, zeros, zeros_like
from refjax.numpy.manipulation import atleast_1d, broadcast_arrays, moveaxis, ravel, reshape, stack
from refjax.numpy.reductions import argmax as _argmax
from refjax.numpy.reductions import sum as _sum
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant
from refjax.util import canonicalize_axis

# ---------------------------------------------------------------------------------------------
# Choosing elements


def where(
    condition: ArrayLike,
    x: ArrayLike | None = None,
    y: ArrayLike | None = None,
    /,
    *,
    size: int | None = None,
    fill_value: ArrayLike | None = None,
) -> Any:
    """``x`` where ``condition`` else ``y``; with one argument, the indices where it is true."""
    if x is None and y is None:
        check_arraylike("where", condition)
        return nonzero(condition, size=size, fill_value=fill_value)
    check_arraylike("where", condition, x, y)
    if size is not None or fill_value is not None:
        raise ValueError("size and fill_value arguments cannot be used in three-term where "
                         "function.")
    if x is None or y is None:
        raise ValueError(
            "Either both or neither of the x and y arguments should be provided to "
            f"jax.numpy.where, got {x} and {y}."
        )
    return where_(condition, x, y)


def select(
    condlist: Sequence[ArrayLike], choicelist: Sequence[ArrayLike], default: ArrayLike = 0
) -> Array:
    """The element of the first choice whose condition holds, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"condlist must have length equal to choicelist ({len(condlist)} vs "
            f"{len(choicelist)})"
        )
    if len(condlist) == 0:
        raise ValueError("condlist must be non-empty")
    check_arraylike("select", *condlist, *choicelist, default)
    conds = [asarray(c) for c in condlist]
    choices = promote_dtypes(asarray(default), *[asarray(c) for c in choicelist])
    # the default first, under a False condition: argmax of all-False picks it
    conditions = stack(broadcast_arrays(False, *conds))
    index = _argmax(conditions.astype(bool), axis=0)
    return lax.select_n(*broadcast_arrays(index, *choices))


@library_jit()
def clip(
    arr: ArrayLike | None = None,
    /,
    min: ArrayLike | None = None,  # noqa: A002  # numpy's name
    max: ArrayLike | None = None,  # noqa: A002  # numpy's name
) -> Array:
    """``arr`` with values below ``min`` raised to it and above ``max`` lowered to it."""
    if arr is None:
        raise ValueError("No input was provided to the clip function.")
    check_arraylike("clip", arr)
    if builtins.any(np.iscomplexobj(t) or (isinstance(t, Array) and t.dtype.kind == "c")
                    for t in (arr, min, max) if t is not None):
        raise ValueError(
            "Clip received a complex value either through the input or the min/max keywords. "
            "Complex values have no ordering and cannot be clipped. Please convert to a real "
            "value or array by taking the real or imaginary components via "
            "jax.numpy.real/imag respectively."
        )
    out = as_array(arr)
    if min is not None:
        out = ufuncs.maximum(min, out)
    if max is not None:
        out = ufuncs.minimum(max, out)
    return out


# ---------------------------------------------------------------------------------------------
# Indices of elements


def nonzero(
    a: ArrayLike, *, size: int | None = None, fill_value: ArrayLike | None = None
) -> tuple[Array, ...]:
    """The indices of the non-zero elements, one array per axis (``a`` must be concrete unless
    ``size`` is given: then the first ``size`` of them, padded with ``fill_value``, traceable)."""
    (arr,) = ensure_arraylike("nonzero", a)
    if arr.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use jnp.atleast_1d(scalar)"
                         " instead.")
    if isinstance(arr, Tracer) and size is not None:
        from refjax.numpy.histograms import nonzero_sized  # (histograms builds on this module)

        return nonzero_sized(arr, size, fill_value)
    if isinstance(arr, Tracer):
        raise ConcretizationTypeError(
            arr, "The size argument of jnp.nonzero must be statically specified to use "
            "jnp.nonzero within JAX transformations. "
        )
    found = np.nonzero(np.asarray(arr))
    int_dtype = dtypes.default_int_dtype()
    if size is None:
        return tuple(constant(idx, int_dtype) for idx in found)
    fill = 0 if fill_value is None else fill_value
    fills = np.broadcast_to(np.asarray(fill), (arr.ndim,))
    outs = []
    for idx, f in zip(found, fills, strict=True):
        padded = np.full((size,), f, dtype=int_dtype)
        k = builtins.min(size, len(idx))
        padded[:k] = idx[:k]
        outs.append(constant(padded, int_dtype))
    return tuple(outs)


def argwhere(
    a: ArrayLike, *, size: int | None = None, fill_value: ArrayLike | None = None
) -> Array:
    """The indices of the non-zero elements, one row per element."""
    (arr,) = ensure_arraylike("argwhere", a)
    found = nonzero(atleast_1d(arr), size=size, fill_value=fill_value)
    result = stack(found, axis=1) if found else zeros((0, 0), dtypes.default_int_dtype())
    return result if arr.ndim else result[:, :0]


def unravel_index(indices: ArrayLike, shape: Any) -> tuple[Array, ...]:
    """The multi-indices of flat ``indices`` into ``shape`` (out-of-range indices clamped)."""
    (flat,) = ensure_arraylike("unravel_index", indices)
    try:
        sizes = list(shape)
    except TypeError:
        sizes = [shape]
    if any(np.ndim(s) != 0 for s in sizes):
        raise ValueError("unravel_index: shape should be a scalar or 1D sequence.")
    out: list[Array] = [flat] * len(sizes)
    rest = flat
    for i, s in reversed(list(enumerate(sizes))):
        rest, out[i] = ufuncs.divmod(rest, s)
    past_end = ufuncs.greater(rest, 0)
    before_start = (asarray(False) if rest.dtype.kind == "u" else ufuncs.less(rest, -1))
    return tuple(where(past_end, s - 1, where(before_start, 0, i))
                 for s, i in zip(sizes, out, strict=True))


# ---------------------------------------------------------------------------------------------
# Triangles and diagonals


def _tri_mask(m: Array, k: int, name: str) -> Array:
    if m.ndim < 2:
        raise ValueError(f"Argument to jax.numpy.{name} must be at least 2D")
    n_rows, n_cols = m.shape[-2:]
    mask = tri(n_rows, n_cols, k=k, dtype=dtypes.bool_)
    return lax.broadcast(mask, m.shape[:-2])


@library_jit(static_argnames=("k",))
def tril(m: ArrayLike, k: int = 0) -> Array:
    """``m`` with the elements above the ``k``-th diagonal zeroed."""
    (arr,) = ensure_arraylike("tril", m)
    which = _tri_mask(arr, k, "tril")
    return lax.select_n(which, zeros_like(arr), arr)


@library_jit(static_argnames=("k",))
def triu(m: ArrayLike, k: int = 0) -> Array:
    """``m`` with the elements below the ``k``-th diagonal zeroed."""
    (arr,) = ensure_arraylike("triu", m)
    which = _tri_mask(arr, k - 1, "triu")
    return lax.select_n(which, arr, zeros_like(arr))


@library_jit(static_argnames=("offset", "axis1", "axis2"))
def diagonal(a: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """The ``offset`` diagonal of the 2-D slices of ``a`` over ``axis1`` and ``axis2``."""
    from refjax.numpy.indexing import getitem

    (arr,) = ensure_arraylike("diagonal", a)
    if arr.ndim < 2:
        raise ValueError("diagonal requires an array of at least two dimensions.")
    offset = operator.index(offset)
    n1, n2 = arr.shape[axis1], arr.shape[axis2]
    arr = moveaxis(arr, (axis1, axis2), (-2, -1))
    size = builtins.max(0, builtins.min(n1 + builtins.min(offset, 0), n2 - builtins.max(offset, 0)))
    i = arange(size)
    j = arange(builtins.abs(offset), builtins.abs(offset) + size)
    return getitem(arr, (..., i, j) if offset >= 0 else (..., j, i))


def diag(v: ArrayLike, k: int = 0) -> Array:
    """The ``k``-th diagonal of a 2-D array, or a 2-D array with 1-D ``v`` on that diagonal."""
    (arr,) = ensure_arraylike("diag", v)
    return _diag(arr, operator.index(k))


@library_jit(static_argnames=("k",))
def _diag(v: Array, k: int) -> Array:
    from refjax.numpy.indexing import getitem

    if v.ndim == 1:
        zero = constant(0, v.dtype, v.weak_type)
        n = v.shape[0] + builtins.abs(k)
        padded = lax.pad(v, zero, ((builtins.max(0, -k), builtins.max(0, k), 0),))
        return where_(eye(n, k=k, dtype=dtypes.bool_), getitem(padded, (slice(None), None)), zero)
    if v.ndim == 2:
        return diagonal(v, offset=k)
    raise ValueError("diag input must be 1d or 2d")


@library_jit(static_argnames=("axis1", "axis2", "dtype"))
def trace(
    a: ArrayLike, offset: int | ArrayLike = 0, axis1: int = 0, axis2: int = 1,
    dtype: DTypeLike | None = None, out: None = None,
) -> Array:
    """Sum along the ``offset`` diagonal (which may be traced: the diagonal is masked, as in
    JAX, not sliced)."""
    from refjax.numpy.reductions import sum as _sum

    (arr,) = ensure_arraylike("trace", a)
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.trace is not supported.")
    if canonicalize_axis(axis1, arr.ndim) == canonicalize_axis(axis2, arr.ndim):
        raise ValueError(f"axis1 and axis2 can not be same. axis1={axis1} and axis2={axis2}")
    if dtype is not None:
        dtype = user_dtype(dtype, "trace")
    n1, n2 = arr.shape[axis1], arr.shape[axis2]
    arr = moveaxis(arr, (axis1, axis2), (-2, -1))
    arr = where(eye(n1, n2, k=offset, dtype=dtypes.bool_), arr, zeros_like(arr))
    return _sum(arr, axis=(-2, -1), dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Sorting and searching


@library_jit(static_argnames=("axis", "kind", "order", "stable", "descending"))
def sort(
    a: ArrayLike,
    axis: int | None = -1,
    *,
    kind: None = None,
    order: None = None,
    stable: bool = True,
    descending: bool = False,
) -> Array:
    """``a`` sorted along ``axis`` (the flattened array if None)."""
    (arr,) = ensure_arraylike("sort", a)
    _check_sort_args("sort", kind, order)
    if axis is None:
        arr, axis = ravel(arr), 0
    dim = canonicalize_axis(axis, arr.ndim)
    result = lax.sort(arr, dimension=dim, is_stable=stable)
    assert isinstance(result, Array)
    return lax.rev(result, (dim,)) if descending else result


@library_jit(static_argnames=("axis", "kind", "order", "stable", "descending", "dtype"))
def argsort(
    a: ArrayLike,
    axis: int | None = -1,
    *,
    kind: None = None,
    order: None = None,
    stable: bool = True,
    descending: bool = False,
    dtype: DTypeLike | None = None,
) -> Array:
    """The indices that sort ``a`` along ``axis``."""
    (arr,) = ensure_arraylike("argsort", a)
    _check_sort_args("argsort", kind, order)
    if axis is None:
        arr, axis = ravel(arr), 0
    dim = canonicalize_axis(axis, arr.ndim)
    if dtype is not None:
        idx_dtype = user_dtype(dtype, "argsort")
    elif arr.shape[dim] >= 2**31:
        idx_dtype = dtypes.canonicalize_dtype(dtypes.int64)
    else:
        idx_dtype = dtypes.default_int_dtype()
    iota = lax.broadcasted_iota(idx_dtype, arr.shape, dim)
    if descending and stable:
        arr, iota = lax.rev(arr, (dim,)), lax.rev(iota, (dim,))
    _, indices = lax.sort_key_val(arr, iota, dimension=dim, is_stable=stable)
    return lax.rev(indices, (dim,)) if descending else indices


def _check_sort_args(name: str, kind: object, order: object) -> None:
    if kind is not None:
        raise TypeError(f"'kind' argument to {name} is not supported. Use stable=True or "
                        "stable=False to specify sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {name} is not supported.")


def _sort_less(x: Array, y: Array) -> Array:
    """``x`` before ``y`` in sort order: -0.0 equals 0.0, NaN after everything (as lax.sort);
    complex numbers by real part, then imaginary part."""
    if x.dtype == dtypes.bool_:
        return ufuncs.logical_and(ufuncs.logical_not(x), y)
    if x.dtype.kind == "c":
        re_x, re_y, im_x, im_y = ufuncs.real(x), ufuncs.real(y), ufuncs.imag(x), ufuncs.imag(y)
        tie = ufuncs.logical_not(ufuncs.logical_or(_sort_less(re_x, re_y),
                                                   _sort_less(re_y, re_x)))
        return ufuncs.logical_or(_sort_less(re_x, re_y),
                                 ufuncs.logical_and(tie, _sort_less(im_x, im_y)))
    if x.dtype.kind != "f":
        return ufuncs.less(x, y)
    nan_last = ufuncs.logical_and(ufuncs.isnan(y), ufuncs.logical_not(ufuncs.isnan(x)))
    return ufuncs.logical_or(ufuncs.less(x, y), nan_last)


@library_jit(static_argnames=("side", "method"))
def searchsorted(
    a: ArrayLike,
    v: ArrayLike,
    side: str = "left",
    sorter: ArrayLike | None = None,
    *,
    method: str = "scan",
) -> Array:
    """Where ``v``'s elements would go in the sorted 1-D ``a``: the count of elements of ``a``
    before each (``left``: strictly before; ``right``: not after), in lax.sort's order."""
    if side not in ("left", "right"):
        raise ValueError(f"{side!r} is an invalid value for keyword 'side'. "
                         "Expected one of ['left', 'right'].")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"{method!r} is an invalid value for keyword 'method'. Expected one of "
                         "['sort', 'scan', 'scan_unrolled', 'compare_all'].")
    if sorter is None:
        arr, values = ensure_arraylike("searchsorted", a, v)
    else:
        arr, values, order = ensure_arraylike("searchsorted", a, v, sorter)
    if arr.ndim != 1:
        raise ValueError("a should be 1-dimensional")
    arr, values = promote_dtypes(arr, values)
    if sorter is not None:
        arr = arr[order]
    index_dtype = dtypes.int32 if arr.shape[0] < 2**31 - 1 else dtypes.int64
    column = reshape(arr, (arr.shape[0],) + (1,) * values.ndim)
    if side == "left":
        before = _sort_less(column, values)
    else:
        before = ufuncs.logical_not(_sort_less(values, column))
    return _sum(before, axis=0, dtype=index_dtype)
