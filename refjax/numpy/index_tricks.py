"""Index tricks and index arrays of ``jax.numpy``: ``mgrid``, ``ogrid``, ``r_``, ``c_``, ``s_``,
``index_exp``, ``ix_``, ``indices``, ``diag_indices(_from)``, ``tril_indices(_from)``,
``triu_indices(_from)``, ``mask_indices`` and ``ravel_multi_index``.

As JAX's (``jax/_src/numpy/index_tricks.py`` and ``lax_numpy.py``): a slice ``start:stop:step``
in a grid or a concatenation is ``arange``, or ``linspace`` with ``abs(step)`` points when the
step is imaginary; its bounds must be concrete. The triangle indices depend only on static sizes,
so they are computed now, as constants (JAX stages the same computation under ``jit``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike, concrete_or_error
from refjax.numpy import reductions, ufuncs
from refjax.numpy._util import ensure_arraylike, promote_dtypes, user_dtype
from refjax.numpy.creation import arange, array, linspace, meshgrid, ones
from refjax.numpy.manipulation import concatenate, expand_dims, stack, transpose
from refjax.numpy.selection import clip, nonzero
from refjax.primitives.constants import constant
from refjax.primitives.lax_extras import full

__all__ = [
    "c_",
    "diag_indices",
    "diag_indices_from",
    "index_exp",
    "indices",
    "ix_",
    "mask_indices",
    "mgrid",
    "ogrid",
    "r_",
    "ravel_multi_index",
    "s_",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
]


def _concrete(x: Any, context: str) -> Any:
    """A slice bound: None stays None, an Array must be concrete (its numpy value)."""
    if x is None or not isinstance(x, Array):
        return x
    return concrete_or_error(x, context)


def _grid_from_slice(s: slice, op_name: str) -> Array:
    """``arange(start, stop, step)``, or ``linspace(start, stop, |step|)`` for an imaginary
    step."""
    start = _concrete(s.start, f"slice start of jnp.{op_name}") or 0
    stop = _concrete(s.stop, f"slice stop of jnp.{op_name}")
    step = _concrete(s.step, f"slice step of jnp.{op_name}") or 1
    if np.iscomplex(step):
        grid: Array = linspace(start, stop, int(abs(step)))
        return grid
    return arange(start, stop, step)


class _Mgrid:
    """``jnp.mgrid[...]``: a dense ``meshgrid`` (``indexing='ij'``) of slices, stacked."""

    def __getitem__(self, key: slice | tuple[slice, ...]) -> Array:
        if isinstance(key, slice):
            return _grid_from_slice(key, "mgrid")
        grids = promote_dtypes(*(_grid_from_slice(k, "mgrid") for k in key))
        output = meshgrid(*grids, indexing="ij", sparse=False)
        if not output:
            return arange(0)
        return stack(output, 0)


class _Ogrid:
    """``jnp.ogrid[...]``: an open (sparse) ``meshgrid`` (``indexing='ij'``) of slices."""

    def __getitem__(self, key: slice | tuple[slice, ...]) -> Array | list[Array]:
        if isinstance(key, slice):
            return _grid_from_slice(key, "ogrid")
        grids = promote_dtypes(*(_grid_from_slice(k, "ogrid") for k in key))
        return meshgrid(*grids, indexing="ij", sparse=True)


mgrid: Final = _Mgrid()
ogrid: Final = _Ogrid()


class _AxisConcat:
    """Concatenates slices, scalars and array-likes along an axis; a leading string directive
    ``"axis,ndmin,trans1d"`` (or ``"r"``/``"c"``) changes how, as numpy's ``r_``/``c_``."""

    axis: int
    ndmin: int
    trans1d: int
    op_name: str

    def __getitem__(self, key: Any) -> Array:
        key_tup: tuple[Any, ...] = key if isinstance(key, tuple) else (key,)
        params = [self.axis, self.ndmin, self.trans1d, -1]
        directive = key_tup[0]
        if isinstance(directive, str):
            key_tup = key_tup[1:]
            if directive == "r":
                params[-1] = 0
            elif directive == "c":
                params[-1] = 1
            else:
                vec: list[Any] = directive.split(",")
                k = len(vec)
                vec = vec + params[k:] if k < 4 else [*vec[:3], params[-1]]
                try:
                    params = [int(v) for v in vec]
                except ValueError as err:
                    raise ValueError(f"could not understand directive {directive!r}") from err
        axis, ndmin, trans1d, matrix = params
        output = []
        for item in key_tup:
            if isinstance(item, slice):
                newobj = _grid_from_slice(item, self.op_name)
                item_ndim = 0
            elif isinstance(item, str):
                raise ValueError("string directive must be placed at the beginning")
            else:
                newobj = array(item, copy=False)
                item_ndim = newobj.ndim
            newobj = array(newobj, copy=False, ndmin=ndmin)
            if trans1d != -1 and ndmin - item_ndim > 0:
                shape_obj = tuple(range(ndmin))
                num_lshifts = ndmin - abs(ndmin + trans1d + 1) % ndmin
                shape_obj = shape_obj[num_lshifts:] + shape_obj[:num_lshifts]
                newobj = transpose(newobj, shape_obj)
            output.append(newobj)
        res = concatenate(tuple(output), axis=axis)
        if matrix != -1 and res.ndim == 1:
            res = expand_dims(res, matrix)
        return res

    def __len__(self) -> int:
        return 0


class RClass(_AxisConcat):
    """``jnp.r_[...]``: slices, scalars and arrays concatenated along the first axis."""

    axis = 0
    ndmin = 1
    trans1d = -1
    op_name = "r_"


class CClass(_AxisConcat):
    """``jnp.c_[...]``: slices, scalars and arrays concatenated along the last axis (1-D inputs
    as columns)."""

    axis = -1
    ndmin = 2
    trans1d = 0
    op_name = "c_"


r_: Final = RClass()
c_: Final = CClass()
s_: Final = np.s_
index_exp: Final = np.index_exp


# ---------------------------------------------------------------------------------------------
# Index arrays


def ix_(*args: ArrayLike) -> tuple[Array, ...]:
    """An open mesh from 1-D index sequences: argument ``i`` reshaped to size 1 on every axis but
    axis ``i``."""
    arrays = ensure_arraylike("ix", *args)
    n = len(arrays)
    output = []
    for i, a in enumerate(arrays):
        if a.ndim != 1:
            raise ValueError(
                f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape {a.shape}")
        if a.dtype == dtypes.bool_:
            raise NotImplementedError("Boolean arguments to jax.numpy.ix_ are not implemented")
        shape = [1] * n
        shape[i] = a.shape[0]
        if a.size == 0:  # numpy uses an integer index type for empty arrays
            output.append(full(shape, np.zeros((), np.intp)))
        else:
            output.append(lax.broadcast_in_dim(a, shape, (i,)))
    return tuple(output)


def indices(
    dimensions: Sequence[int], dtype: DTypeLike | None = None, sparse: bool = False
) -> Array | tuple[Array, ...]:
    """The index grid of an array of shape ``dimensions``: ``result[i][...]`` is the index along
    axis ``i`` (stacked, or as broadcastable pieces when ``sparse``)."""
    out_dtype = user_dtype(int if dtype is None else dtype, "indices")
    dims = tuple(operator.index(d) for d in dimensions)
    n = len(dims)
    output = []
    shape: tuple[int, ...] = dims
    for i, dim in enumerate(dims):
        idx = lax.iota(out_dtype, dim)
        if sparse:
            shape = (1,) * i + (dim,) + (1,) * (n - i - 1)
        output.append(lax.broadcast_in_dim(idx, shape, (i,)))
    if sparse:
        return tuple(output)
    return stack(output, 0) if output else array([], dtype=out_dtype)


def diag_indices(n: int, ndim: int = 2) -> tuple[Array, ...]:
    """The indices of the main diagonal of an ``n``-sized, ``ndim``-dimensional array."""
    n = operator.index(n)
    ndim = operator.index(ndim)
    if n < 0:
        raise ValueError(f"n argument to diag_indices must be nonnegative, got {n}")
    if ndim < 0:
        raise ValueError(f"ndim argument to diag_indices must be nonnegative, got {ndim}")
    index_dtype = dtypes.int64 if n > np.iinfo(np.int32).max else dtypes.int32
    if index_dtype == dtypes.int32:
        index_dtype = dtypes.default_int_dtype()
    return (lax.iota(index_dtype, n),) * ndim


def diag_indices_from(arr: ArrayLike) -> tuple[Array, ...]:
    """The indices of the main diagonal of ``arr`` (all of whose dimensions are equal)."""
    (a,) = ensure_arraylike("diag_indices_from", arr)
    if a.ndim < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(a.shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(a.shape[0], ndim=a.ndim)


def _triangle(n: int, k: int, m: int | None, lower: bool) -> tuple[Array, Array]:
    """The row and column indices of the lower (or upper) triangle of an ``n`` by ``m`` array."""
    rows = operator.index(n)
    cols = rows if m is None else operator.index(m)
    offset = operator.index(k)
    mask = np.ones((rows, cols), bool)
    mask = np.tril(mask, offset) if lower else np.triu(mask, offset)
    i, j = np.nonzero(mask)
    index_dtype = dtypes.default_int_dtype()
    return constant(i.astype(index_dtype), index_dtype), constant(j.astype(index_dtype),
                                                                  index_dtype)


def tril_indices(n: int, k: int = 0, m: int | None = None) -> tuple[Array, Array]:
    """The indices of the lower triangle (on and below diagonal ``k``) of an ``n`` by ``m``
    array (``m`` defaults to ``n``)."""
    return _triangle(n, k, m, lower=True)


def triu_indices(n: int, k: int = 0, m: int | None = None) -> tuple[Array, Array]:
    """The indices of the upper triangle (on and above diagonal ``k``) of an ``n`` by ``m``
    array (``m`` defaults to ``n``)."""
    return _triangle(n, k, m, lower=False)


def _shape_2d(arr: Any, name: str) -> tuple[int, ...]:
    shape = arr.shape if hasattr(arr, "shape") else ensure_arraylike(name, arr)[0].shape
    if len(shape) != 2:
        raise ValueError("Only 2-D inputs are accepted")
    return tuple(shape)


def tril_indices_from(arr: Any, k: int = 0) -> tuple[Array, Array]:
    """:func:`tril_indices` for the shape of the 2-D ``arr``."""
    rows, cols = _shape_2d(arr, "tril_indices_from")
    return tril_indices(rows, k=k, m=cols)


def triu_indices_from(arr: Any, k: int = 0) -> tuple[Array, Array]:
    """:func:`triu_indices` for the shape of the 2-D ``arr``."""
    rows, cols = _shape_2d(arr, "triu_indices_from")
    return triu_indices(rows, k=k, m=cols)


def mask_indices(
    n: int, mask_func: Callable[[ArrayLike, int], Array], k: int = 0, *, size: int | None = None
) -> tuple[Array, Array]:
    """The indices where ``mask_func(ones((n, n)), k)`` is nonzero (``size`` pads or cuts them,
    as ``nonzero``'s)."""
    i, j = nonzero(mask_func(ones((n, n)), k), size=size)
    return i, j


def ravel_multi_index(
    multi_index: Sequence[ArrayLike],
    dims: Sequence[int],
    mode: str = "raise",
    order: str = "C",
    *,
    dtype: DTypeLike | None = None,
) -> Array:
    """Flat indices into an array of shape ``dims`` from one index array per dimension;
    ``mode`` says what out-of-range indices do ('raise', 'clip', 'wrap' or 'ignore')."""
    assert len(multi_index) == len(dims), (
        f"len(multi_index)={len(multi_index)} != len(dims)={len(dims)}"
    )
    sizes = tuple(operator.index(d) for d in dims)
    arrays = ensure_arraylike("ravel_multi_index", *multi_index)
    out_dtype: DType = (dtypes.result_type(int, *arrays) if dtype is None
                        else user_dtype(dtype, "ravel_multi_index"))
    if not np.issubdtype(out_dtype, np.integer):
        raise ValueError(f"dtype={out_dtype!r} is not an integer type.")
    if math.prod(sizes) - 1 > np.iinfo(out_dtype).max:
        raise ValueError(
            f"jnp.ravel_multi_index: dtype={out_dtype!r} not large enough to hold flattened "
            f"index for dims={sizes}. Use the dtype argument to pass a suitable dtype (e.g. "
            "dtype=np.min_scalar_type(prod(dims)))."
        )
    for index in arrays:
        if mode == "raise":
            concrete_or_error(
                index,
                "The error occurred because ravel_multi_index was jit-compiled with "
                "mode='raise'. Use mode='wrap' or mode='clip' instead.",
            )
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError("only int indices permitted")
    if mode == "raise":
        if any(bool(reductions.any(ufuncs.logical_or(ufuncs.less(i, 0),
                                                     ufuncs.greater_equal(i, d))))
               for i, d in zip(arrays, sizes, strict=True)):
            raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        arrays = [clip(i, 0, d - 1) for i, d in zip(arrays, sizes, strict=True)]
    elif mode == "wrap":
        arrays = [ufuncs.remainder(i, d) for i, d in zip(arrays, sizes, strict=True)]
    elif mode != "ignore":
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', 'clip', or 'ignore'.")
    if order == "F":
        strides = np.cumprod((1, *sizes[:-1]))
    elif order == "C":
        strides = np.cumprod((1, *sizes[1:][::-1]))[::-1]
    else:
        raise ValueError(f"invalid order={order!r}. Expected 'C' or 'F'")
    result = array(0, dtype=out_dtype)
    for i, s in zip(arrays, strides, strict=True):
        result = ufuncs.add(result, ufuncs.multiply(i.astype(out_dtype), int(s)))
    return result
