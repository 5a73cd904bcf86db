"""More sorting and searching in ``jax.numpy``: partial sorts (``partition``, ``argpartition``,
from ``lax.top_k`` as in JAX), ``lexsort`` (one multi-key ``lax.sort``), ``sort_complex``, and
the selections ``flatnonzero``, ``extract``, ``compress`` and ``choose``.

``flatnonzero``, ``extract`` and ``compress`` have data-dependent output sizes: with ``size``
they are traceable (padded with ``fill_value``), without it their input must be concrete.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.interp.batching import vmap_leading
from refjax.interp.core import Array, ArrayLike, concrete_or_error
from refjax.numpy import ufuncs
from refjax.numpy._util import check_arraylike, ensure_arraylike, to_inexact_dtype
from refjax.numpy.creation import array, asarray
from refjax.numpy.histograms import nonzero_sized
from refjax.numpy.manipulation import broadcast_arrays, expand_dims, moveaxis, ravel
from refjax.numpy.reductions import any as _any
from refjax.numpy.selection import argsort, clip, nonzero, where
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant
from refjax.util import canonicalize_axis

__all__ = [
    "argpartition",
    "choose",
    "compress",
    "extract",
    "flatnonzero",
    "lexsort",
    "partition",
    "sort_complex",
]


# ---------------------------------------------------------------------------------------------
# Partial sorts


def _check_partition(name: str, arr: Array) -> None:
    if arr.dtype.kind == "c":
        raise NotImplementedError(f"jnp.{name} for complex dtype is not implemented.")


@library_jit(static_argnames=("kth", "axis"))
def partition(a: ArrayLike, kth: int, axis: int = -1) -> Array:
    """``a`` rearranged along ``axis`` so that the element at ``kth`` is the one a full sort
    puts there, with the smaller ones (sorted) before it and the others (in descending order)
    after it."""
    (arr,) = ensure_arraylike("partition", a)
    _check_partition("partition", arr)
    axis = canonicalize_axis(axis, arr.ndim)
    kth = canonicalize_axis(kth, arr.shape[axis])
    arr = arr.swapaxes(axis, -1)
    if arr.dtype.kind == "u":  # (negation wraps unsigned integers: shift 0 away first)
        smallest = lax.top_k(ufuncs.negative(ufuncs.add(arr, 1)), kth + 1)[0]
        bottom = ufuncs.subtract(ufuncs.negative(smallest), 1)
    else:
        bottom = ufuncs.negative(lax.top_k(ufuncs.negative(arr), kth + 1)[0])
    top = lax.top_k(arr, arr.shape[-1] - kth - 1)[0]
    out = lax.concatenate([bottom, top], arr.ndim - 1)
    return out.swapaxes(-1, axis)


def _zero_at(row: Array, index: Array) -> Array:
    out: Array = row.at[index].set(0)
    return out


@library_jit(static_argnames=("kth", "axis"))
def argpartition(a: ArrayLike, kth: int, axis: int = -1) -> Array:
    """The indices that :func:`partition` ``a`` along ``axis``."""
    (arr,) = ensure_arraylike("partition", a)
    _check_partition("argpartition", arr)
    axis = canonicalize_axis(axis, arr.ndim)
    kth = canonicalize_axis(kth, arr.shape[axis])
    arr = arr.swapaxes(axis, -1)
    if arr.dtype.kind == "u":
        bottom = lax.top_k(ufuncs.negative(ufuncs.add(arr, 1)), kth + 1)[1]
    else:
        bottom = lax.top_k(ufuncs.negative(arr), kth + 1)[1]
    # The rest, by index: a proxy of ones with the bottom positions zeroed (ties in the data
    # would otherwise let top_k pick a bottom position again).
    zero_at: Any = _zero_at
    for _ in range(arr.ndim - 1):
        zero_at = functools.partial(vmap_leading, zero_at)
    ones = lax.broadcast_in_dim(constant(1.0, dtypes.default_float_dtype(), True), arr.shape, ())
    proxy: Array = zero_at(ones, bottom)
    top = lax.top_k(proxy, arr.shape[-1] - kth - 1)[1]
    out = lax.concatenate([bottom, top], arr.ndim - 1)
    return out.swapaxes(-1, axis)


# ---------------------------------------------------------------------------------------------
# Sorts by several keys, and complex sorts


def _index_dtype() -> dtypes.DType:
    return dtypes.default_int_dtype()


@library_jit(static_argnames=("axis",))
def lexsort(keys: Array | np.ndarray[Any, Any] | Sequence[ArrayLike], axis: int = -1) -> Array:
    """The indices that sort by the last key, ties broken by the one before it, and so on
    (stable)."""
    key_arrays = ensure_arraylike("lexsort", *tuple(keys))
    if len(key_arrays) == 0:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    if len({k.shape for k in key_arrays}) > 1:
        raise ValueError("all keys need to be the same shape")
    shape = key_arrays[0].shape
    if len(shape) == 0:
        return constant(0, _index_dtype())
    axis = canonicalize_axis(axis, len(shape))
    iota = lax.broadcasted_iota(_index_dtype(), shape, axis)
    out = lax.sort((*key_arrays[::-1], iota), dimension=axis, num_keys=len(key_arrays))
    assert isinstance(out, tuple)
    return out[-1]


def _complex_dtype(dtype: dtypes.DType) -> dtypes.DType:
    real = to_inexact_dtype(dtype)
    if real.kind == "c":
        return real
    if real == np.dtype(np.float16):
        return np.dtype(np.complex64)
    return dtypes.canonicalize_dtype((real.type(0) + 1j).dtype)


@library_jit()
def sort_complex(a: ArrayLike) -> Array:
    """``a`` sorted along its last axis (complex numbers by real part, then imaginary part), as
    a complex array."""
    (arr,) = ensure_arraylike("sort_complex", a)
    out = lax.sort(arr)
    assert isinstance(out, Array)
    return lax.convert_element_type(out, _complex_dtype(out.dtype))


# ---------------------------------------------------------------------------------------------
# Selections with data-dependent sizes


def flatnonzero(
    a: ArrayLike, *, size: int | None = None,
    fill_value: ArrayLike | tuple[ArrayLike, ...] | None = None,
) -> Array:
    """The indices of the nonzero elements of ``a`` flattened (the first ``size`` of them,
    padded with ``fill_value``, if ``size`` is given)."""
    flat = ravel(a)
    if size is None:
        return nonzero(flat)[0]  # (without a size, nothing is filled)
    return nonzero_sized(flat, size, fill_value)[0]


def extract(
    condition: ArrayLike, arr: ArrayLike, *, size: int | None = None, fill_value: ArrayLike = 0
) -> Array:
    """The elements of flattened ``arr`` where flattened ``condition`` is true."""
    check_arraylike("extreact", condition, arr, fill_value)  # (JAX's spelling)
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)


def compress(
    condition: ArrayLike, a: ArrayLike, axis: int | None = None, *,
    size: int | None = None, fill_value: ArrayLike = 0, out: None = None,
) -> Array:
    """The slices of ``a`` along ``axis`` (of flattened ``a`` if None) where the 1-D
    ``condition`` is true; with ``size``, the first ``size`` of them, padded with
    ``fill_value``."""
    cond, arr, fill = ensure_arraylike("compress", condition, a, fill_value)
    cond = cond.astype(bool)
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.compress is not supported.")
    if cond.ndim != 1:
        raise ValueError("condition must be a 1D array")
    if axis is None:
        axis = 0
        arr = ravel(arr)
    else:
        arr = moveaxis(arr, axis, 0)
    n = arr.shape[0]
    cond, extra = cond[:n], cond[n:]
    arr = arr[: cond.shape[0]]
    if size is None:
        if _any(extra):
            raise ValueError("condition contains entries that are out of bounds")
        result: Array = arr[cond]
    elif not 0 <= size <= arr.shape[0]:
        raise ValueError("size must be positive and not greater than the size of the array axis;"
                         f" got {size=} for a.shape[axis]={arr.shape[0]}")
    else:
        mask = expand_dims(cond, tuple(range(1, arr.ndim)))
        arr = where(mask, arr, array(fill, dtype=arr.dtype))
        result = arr[argsort(cond, stable=True, descending=True)][:size]
    return moveaxis(result, 0, axis)


def sparse_indices(shape: Sequence[int], dtype: dtypes.DTypeLike | None = None
                   ) -> tuple[Array, ...]:
    """``jnp.indices(shape, sparse=True)``: for each axis an iota shaped to vary along it."""
    index_dtype = dtypes.canonicalize_dtype(int if dtype is None else dtype)
    out: list[Array] = []
    for i, dim in enumerate(shape):
        s = (1,) * i + (dim,) + (1,) * (len(shape) - i - 1)
        out.append(lax.broadcast_in_dim(lax.iota(index_dtype, dim), s, (i,)))
    return tuple(out)


def choose(
    a: ArrayLike, choices: Array | np.ndarray[Any, Any] | Sequence[ArrayLike],
    out: None = None, mode: str = "raise",
) -> Array:
    """For each element of the integer array ``a``, the matching element of ``choices[a]``
    (all broadcast together); out-of-range indices raise, wrap or clip, as ``mode`` says."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.choose is not supported.")
    idx, *options = ensure_arraylike("choose", a, *choices)
    if not dtypes.is_integer(idx.dtype):
        raise ValueError("`a` array must be integer typed")
    n = len(options)
    if mode == "raise":
        values = concrete_or_error(
            idx, "The error occurred because jnp.choose was jit-compiled with mode='raise'. "
            "Use mode='wrap' or mode='clip' instead.")
        if np.any((values < 0) | (values >= n)):
            raise ValueError("invalid entry in choice array")
        which = asarray(idx)
    elif mode == "wrap":
        which = ufuncs.remainder(idx, n)
    elif mode == "clip":
        which = clip(idx, 0, n - 1)
    else:
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    which, *options = broadcast_arrays(which, *options)
    stacked = array(options)
    return stacked[(which, *sparse_indices(which.shape))]
