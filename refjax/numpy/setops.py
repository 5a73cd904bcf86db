"""Set operations in ``jax.numpy``: ``unique`` (and the array API's ``unique_all``,
``unique_counts``, ``unique_inverse``, ``unique_values``), ``intersect1d``, ``union1d``,
``setdiff1d`` and ``setxor1d``.

Everything starts from one sort: :func:`_unique_sorted_mask` orders the slices along the axis
(``lexsort`` over their elements) and marks where each run of equal slices begins. The number of
distinct values depends on the data, so without ``size`` the input must be concrete; with a
static ``size`` the results have that length, padded with ``fill_value`` (by default the
smallest value), and every function works under ``jit``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from refjax import dtypes, lax
from refjax.errors import ConcretizationTypeError
from refjax.interp.core import Array, ArrayLike, Tracer, concrete_or_error, is_concrete
from refjax.numpy import ufuncs
from refjax.numpy._statics import static_int
from refjax.numpy._util import ensure_arraylike, promote_dtypes
from refjax.numpy.creation import arange, asarray, full, full_like, ones, zeros
from refjax.numpy.histograms import nonzero_sized
from refjax.numpy.manipulation import append, concatenate, moveaxis, ravel
from refjax.numpy.numeric import _in1d, diff
from refjax.numpy.reductions import any as _any
from refjax.numpy.reductions import cumsum
from refjax.numpy.searching import lexsort
from refjax.numpy.selection import nonzero, sort, where
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant
from refjax.util import canonicalize_axis

__all__ = [
    "intersect1d",
    "setdiff1d",
    "setxor1d",
    "union1d",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
]

UNIQUE_SIZE_HINT = (
    "To make jnp.unique() compatible with JIT and other transforms, you can specify a concrete "
    "value for the size argument, which will determine the output size."
)


def _require_concrete(x: ArrayLike, context: str) -> None:
    """JAX's ``concrete_or_error(None, x, context)``: a traced ``x`` cannot size an output."""
    if isinstance(x, Tracer) and not is_concrete(x):
        raise ConcretizationTypeError(x, context)


def _concrete(x: Array, context: str) -> Array:
    """``x``'s value, known now (JAX's ``x = concrete_or_error(None, x, context)``): a tracer
    with a concrete value (under ``grad``, say) becomes that value, so no derivative flows
    through the data-dependent path, as in JAX."""
    if not isinstance(x, Tracer):
        return x
    return constant(concrete_or_error(x, context), x.dtype, x.weak_type)


# ---------------------------------------------------------------------------------------------
# unique


@library_jit(static_argnames=("axis", "equal_nan"))
def _unique_sorted_mask(ar: Array, axis: int, equal_nan: bool) -> tuple[Array, Array, Array]:
    """The slices of ``ar`` along ``axis`` sorted (moved to the front), a mask that is true
    where a run of equal slices begins, and the sorting permutation."""
    aux = moveaxis(ar, axis, 0)
    if aux.dtype.kind == "c":  # (NaN anywhere makes a complex value NaN, as numpy sorts it)
        aux = where(ufuncs.isnan(aux), ufuncs.const(aux, np.nan), aux)
    size, *rest = aux.shape
    n_rest = math.prod(rest)
    if n_rest == 0:
        size = 1
        perm = zeros(1, dtype=dtypes.default_int_dtype())
    else:
        perm = lexsort(aux.reshape(size, n_rest).T[::-1])
    aux = aux[perm]
    if aux.size:
        later, earlier = aux[1:], aux[:-1]
        differs = lax.ne(later, earlier)
        if equal_nan and aux.dtype.kind in "fc":
            both_nan = ufuncs.logical_and(ufuncs.isnan(later), ufuncs.isnan(earlier))
            differs = ufuncs.bitwise_and(differs, ufuncs.invert(both_nan))
        starts = _any(differs, tuple(range(1, aux.ndim)))
        mask: Array = ones(size, dtype=dtypes.bool_).at[1:].set(starts)
    else:
        mask = zeros(size, dtype=dtypes.bool_)
    return aux, mask, perm


def _unique(
    ar: Array, axis: int, return_index: bool = False, return_inverse: bool = False,
    return_counts: bool = False, equal_nan: bool = True, size: int | None = None,
    fill_value: ArrayLike | None = None, return_true_size: bool = False,
) -> tuple[Array, ...]:
    """The unique slices of ``ar`` along ``axis`` and the asked-for extras, in the order
    values, first indices, inverse, counts, number of unique values."""
    axis = canonicalize_axis(axis, ar.ndim)
    if ar.shape[axis] == 0 and size and fill_value is None:
        raise ValueError("jnp.unique: for zero-sized input with nonzero size argument, "
                         "fill_value must be specified")
    aux, mask, perm = _unique_sorted_mask(ar, axis, equal_nan)
    int_dtype = dtypes.default_int_dtype()
    ind: Array
    if size is None:
        _require_concrete(mask, "The error arose in jnp.unique(). " + UNIQUE_SIZE_HINT)
        ind = mask
    else:
        ind = nonzero_sized(mask, size)[0]
    result: Array = aux[ind] if aux.size else aux
    if size is not None and fill_value is not None:
        fill = asarray(fill_value).astype(result.dtype)
        if result.shape[0]:
            found = ufuncs.less(arange(size), mask.sum())
            valid = lax.expand_dims(found, tuple(range(1, result.ndim)))
            result = where(valid, result, fill)
        else:
            result = full_like(result, fill, shape=(size, *result.shape[1:]))
    out: list[Array] = [moveaxis(result, 0, axis)]
    if return_index:
        out.append(perm[ind] if aux.size else perm)
    if return_inverse:
        if aux.size:
            position = ufuncs.subtract(cumsum(mask), 1)
            inverse: Array = zeros(mask.shape, dtype=int_dtype).at[perm].set(position)
        else:
            inverse = zeros(ar.shape[axis], dtype=int_dtype)
        out.append(inverse)
    if return_counts:
        if aux.size:
            if size is None:
                starts = append(nonzero(mask)[0], mask.size)
            else:
                starts = nonzero_sized(mask, size + 1)[0]
                starts = starts.at[1:].set(where(starts[1:], starts[1:], mask.size))
            out.append(diff(starts))
        elif ar.shape[axis]:
            out.append(full((1,), ar.shape[axis], dtype=int_dtype))
        else:
            out.append(zeros(0, dtype=int_dtype))
    if return_true_size:
        out.append(mask.sum())
    return tuple(out)


def unique(
    ar: ArrayLike, return_index: bool = False, return_inverse: bool = False,
    return_counts: bool = False, axis: int | None = None, *, equal_nan: bool = True,
    size: int | None = None, fill_value: ArrayLike | None = None, sorted: bool = True,  # noqa: A002
) -> Array | tuple[Array, ...]:
    """The sorted unique values of ``ar`` (flattened, or the unique slices along ``axis``),
    with, as asked: the index of each one's first occurrence, the index into them of every
    element, and how often each occurs. With ``size``, exactly ``size`` values (padded with
    ``fill_value``, else the smallest value)."""
    del sorted  # (the values always come sorted)
    (arr,) = ensure_arraylike("unique", ar)
    if size is None:
        arr = _concrete(arr, "The error arose for the first argument of jnp.unique(). "
                        + UNIQUE_SIZE_HINT)
    else:
        size = static_int(size, "The error arose for the size argument of jnp.unique(). "
                          + UNIQUE_SIZE_HINT)
    shape = arr.shape
    if axis is None:
        arr, axis_int = ravel(arr), 0
    else:
        axis_int = canonicalize_axis(axis, arr.ndim)
    result = _unique(arr, axis_int, return_index, return_inverse, return_counts,
                     equal_nan=equal_nan, size=size, fill_value=fill_value)
    if return_inverse and axis is None:
        k = 2 if return_index else 1
        result = (*result[:k], result[k].reshape(shape), *result[k + 1:])
    return result[0] if len(result) == 1 else result


class UniqueAllResult(NamedTuple):
    """What :func:`unique_all` returns."""

    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class UniqueCountsResult(NamedTuple):
    """What :func:`unique_counts` returns."""

    values: Array
    counts: Array


class UniqueInverseResult(NamedTuple):
    """What :func:`unique_inverse` returns."""

    values: Array
    inverse_indices: Array


def _unique_parts(name: str, x: ArrayLike, size: int | None, fill_value: ArrayLike | None,
                  **returns: bool) -> tuple[Array, ...]:
    (arr,) = ensure_arraylike(name, x)
    out = unique(arr, equal_nan=False, size=size, fill_value=fill_value, **returns)
    return out if isinstance(out, tuple) else (out,)


def unique_all(x: ArrayLike, /, *, size: int | None = None,
               fill_value: ArrayLike | None = None) -> UniqueAllResult:
    """The array API's ``unique_all``: values, first indices, inverse indices and counts (NaNs
    distinct)."""
    values, indices, inverse, counts = _unique_parts(
        "unique_all", x, size, fill_value, return_index=True, return_inverse=True,
        return_counts=True)
    return UniqueAllResult(values, indices, inverse, counts)


def unique_counts(x: ArrayLike, /, *, size: int | None = None,
                  fill_value: ArrayLike | None = None) -> UniqueCountsResult:
    """The array API's ``unique_counts``: values and how often each occurs."""
    values, counts = _unique_parts("unique_counts", x, size, fill_value, return_counts=True)
    return UniqueCountsResult(values, counts)


def unique_inverse(x: ArrayLike, /, *, size: int | None = None,
                   fill_value: ArrayLike | None = None) -> UniqueInverseResult:
    """The array API's ``unique_inverse``: values and the index into them of every element."""
    values, inverse = _unique_parts("unique_inverse", x, size, fill_value, return_inverse=True)
    return UniqueInverseResult(values, inverse)


def unique_values(x: ArrayLike, /, *, size: int | None = None,
                  fill_value: ArrayLike | None = None) -> Array:
    """The array API's ``unique_values``: the sorted unique values (NaNs distinct)."""
    (values,) = _unique_parts("unique_values", x, size, fill_value)
    return values


# ---------------------------------------------------------------------------------------------
# Operations on two sets


def _concat_unique(arr1: Array, arr2: Array) -> tuple[Array, Array]:
    """The unique values of ``arr1`` then those of ``arr2`` in one array of their combined
    length (zeros after them), and how many there are."""
    arr1, arr2 = ravel(arr1), ravel(arr2)
    uniq1, count1 = _unique(arr1, 0, size=arr1.size, return_true_size=True)
    uniq2, count2 = _unique(arr2, 0, size=arr2.size, return_true_size=True)
    both = zeros(uniq1.size + uniq2.size, dtype=dtypes.result_type(uniq1, uniq2))
    both = lax.dynamic_update_slice(both, uniq1, (0,))
    both = lax.dynamic_update_slice(both, uniq2, (count1,))
    return both, ufuncs.add(count1, count2)


def setdiff1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False, *,
              size: int | None = None, fill_value: ArrayLike | None = None) -> Array:
    """The sorted unique values of ``ar1`` that are not in ``ar2`` (with ``size``: the first
    ``size`` of them, padded with ``fill_value``, by default 0)."""
    arr1, arr2 = ensure_arraylike("setdiff1d", ar1, ar2)
    arr1, arr2 = ravel(arr1), ravel(arr2)
    if size is None:
        _require_concrete(ar1, "The error arose in setdiff1d()")
    else:
        size = static_int(size, "The error arose in setdiff1d()")
    fill = full_like(arr1, fill_value=0 if fill_value is None else fill_value, shape=())
    if arr1.size == 0:
        return full_like(arr1, fill, shape=size or 0)
    if not assume_unique:
        uniq = unique(arr1, size=size and arr1.size)
        assert isinstance(uniq, Array)
        arr1 = uniq
    keep = _in1d(arr1, arr2, invert=True, assume_unique=assume_unique)
    if size is None:
        kept: Array = arr1[keep]
        return kept
    if not assume_unique:  # (the padding of unique's result is no value of ar1's)
        n_unique = ufuncs.subtract(arr1.size + 1, ufuncs.equal(arr1, arr1[0]).sum())
        keep = where(ufuncs.less(arange(arr1.size), n_unique), keep, False)
    picked = arr1[nonzero_sized(keep, size)[0]]
    result: Array = where(ufuncs.less(arange(size), keep.sum()), picked, fill)
    return result


def union1d(ar1: ArrayLike, ar2: ArrayLike, *, size: int | None = None,
            fill_value: ArrayLike | None = None) -> Array:
    """The sorted unique values of ``ar1`` and ``ar2`` together."""
    arr1, arr2 = ensure_arraylike("union1d", ar1, ar2)
    if size is None:
        arr1 = _concrete(arr1, "The error arose in union1d()")
        arr2 = _concrete(arr2, "The error arose in union1d()")
    else:
        size = static_int(size, "The error arose in union1d()")
    out = unique(concatenate((arr1, arr2), axis=None), size=size, fill_value=fill_value)
    assert isinstance(out, Array)
    return out


def _fill_past(vals: Array, count: Array, fill_value: ArrayLike | None) -> Array:
    """``vals`` with the entries from ``count`` on replaced by ``fill_value`` (by default the
    smallest of the values, found as JAX finds it)."""
    found = ufuncs.less(arange(vals.shape[0]), count)
    if fill_value is None:
        vals = where(found, vals, vals.max())
        out: Array = where(ufuncs.less(arange(vals.shape[0]), count), vals, vals.min())
        return out
    result: Array = where(found, vals, fill_value)
    return result


@library_jit(static_argnames=("assume_unique", "size"))
def _setxor1d_size(arr1: Array, arr2: Array, fill_value: ArrayLike | None, *,
                   assume_unique: bool, size: int) -> Array:
    """``setxor1d`` with a static ``size``."""
    if assume_unique:
        aux = sort(concatenate([arr1, arr2]))
        flag = concatenate((bool(aux.size), ufuncs.not_equal(aux[1:], aux[:-1]), True),
                           axis=None)
    else:
        arr, n_unique = _concat_unique(arr1, arr2)
        mask = ufuncs.less(arange(arr.size + 1), ufuncs.add(n_unique, 1))
        _, aux = lax.sort([ufuncs.invert(mask[1:]), arr], is_stable=True, num_keys=2)
        steps = concatenate((bool(aux.size), ufuncs.not_equal(aux[1:], aux[:-1]), False),
                            axis=None)
        flag = ufuncs.bitwise_and(mask, steps.at[n_unique].set(True))
    single = ufuncs.bitwise_and(flag[1:], flag[:-1])
    count = single.sum()
    if aux.size:
        indices = nonzero_sized(single, size, fill_value=aux.shape[0])[0]
        vals: Array = aux.at[indices].get(mode="fill", fill_value=0)
    else:
        vals = zeros(size, aux.dtype)
    return _fill_past(vals, count, fill_value)


def setxor1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False, *,
             size: int | None = None, fill_value: ArrayLike | None = None) -> Array:
    """The sorted values in exactly one of ``ar1`` and ``ar2``."""
    a1, a2 = ensure_arraylike("setxor1d", ar1, ar2)
    arr1, arr2 = promote_dtypes(ravel(a1), ravel(a2))
    if size is not None:
        return _setxor1d_size(arr1, arr2, fill_value=fill_value, assume_unique=assume_unique,
                              size=size)
    if not assume_unique:
        arr1, arr2 = _as_array(unique(arr1)), _as_array(unique(arr2))
    aux = concatenate((arr1, arr2))
    if aux.size == 0:
        return aux
    aux = sort(aux)
    flag = concatenate((True, ufuncs.not_equal(aux[1:], aux[:-1]), True), axis=None)
    single: Array = aux[ufuncs.bitwise_and(flag[1:], flag[:-1])]
    return single


def _as_array(x: Array | tuple[Array, ...]) -> Array:
    assert isinstance(x, Array)
    return x


@library_jit(static_argnames=("return_indices",))
def _intersect1d_sorted_mask(arr1: Array, arr2: Array, return_indices: bool
                             ) -> tuple[Array, Array, Array | None]:
    """Both arrays' values sorted together, a mask of the positions equal to the next one,
    and (with ``return_indices``) the sorting permutation."""
    arr = concatenate((arr1, arr2))
    indices: Array | None
    if return_indices:
        iota = lax.broadcasted_iota(dtypes.default_int_dtype(), arr.shape, 0)
        aux, indices = lax.sort_key_val(arr, iota)
    else:
        aux, indices = sort(arr), None
    return aux, ufuncs.equal(aux[1:], aux[:-1]), indices


@library_jit(static_argnames=("fill_value", "assume_unique", "size", "return_indices"))
def _intersect1d_size(arr1: Array, arr2: Array, fill_value: ArrayLike | None,
                      assume_unique: bool, size: int, return_indices: bool
                      ) -> Array | tuple[Array, Array, Array]:
    """``intersect1d`` with a static ``size``: the unique values of both arrays, sorted
    together (each array's first), where a value equals the next one it is in both."""
    ind1: Array
    ind2: Array
    if assume_unique:
        ind1, n1 = arange(arr1.size), full((), arr1.size)
        ind2, n2 = arange(arr2.size), full((), arr2.size)
        arr = concatenate([arr1, arr2])
        aux, order = lax.sort([arr, arange(arr.size)], is_stable=True, num_keys=1)
        mask = ones(arr.size, dtype=dtypes.bool_)
    else:
        arr1, ind1, n1 = _unique(arr1, 0, size=arr1.size, return_index=True,
                                 return_true_size=True, fill_value=0)
        arr2, ind2, n2 = _unique(arr2, 0, size=arr2.size, return_index=True,
                                 return_true_size=True, fill_value=0)
        arr = zeros(arr1.size + arr2.size, dtype=dtypes.result_type(arr1, arr2))
        arr = lax.dynamic_update_slice(arr, arr1, (0,))
        arr = lax.dynamic_update_slice(arr, arr2, (n1,))
        mask = ufuncs.less(arange(arr.size), ufuncs.add(n1, n2))
        _, aux, order = lax.sort([ufuncs.invert(mask), arr, arange(arr.size)], is_stable=True,
                                 num_keys=2)
    both = ufuncs.bitwise_and(ufuncs.equal(aux[1:], aux[:-1]), mask[1:])
    count = both.sum()
    val_indices: Array
    if aux.size:
        val_indices = nonzero_sized(both, size, fill_value=aux.size)[0]
        vals: Array = aux.at[val_indices].get(mode="fill", fill_value=0)
    else:
        val_indices = arange(0)
        vals = zeros(size, aux.dtype)
    vals = _fill_past(vals, count, fill_value)
    if not return_indices:
        return vals
    idx1: Array = order.at[val_indices].get(mode="fill", fill_value=arr1.size)
    idx1 = where(ufuncs.less(arange(size), count), idx1, arr1.size)
    idx2: Array = order.at[ufuncs.add(val_indices, 1)].get(mode="fill", fill_value=arr2.size)
    idx2 = where(ufuncs.less(arange(size), count), ufuncs.subtract(idx2, n1), arr2.size)
    if not assume_unique:
        idx1 = ind1.at[idx1].get(mode="fill", fill_value=ind1.size)
        idx2 = ind2.at[idx2].get(mode="fill", fill_value=ind2.size)
    return vals, idx1, idx2


def intersect1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False,
                return_indices: bool = False, *, size: int | None = None,
                fill_value: ArrayLike | None = None) -> Array | tuple[Array, Array, Array]:
    """The sorted unique values in both ``ar1`` and ``ar2`` (with ``return_indices``, also
    where each first occurs in each array, flattened)."""
    a1, a2 = ensure_arraylike("intersect1d", ar1, ar2)
    arr1, arr2 = promote_dtypes(a1, a2)
    arr1, arr2 = ravel(arr1), ravel(arr2)
    if size is not None:
        return _intersect1d_size(arr1, arr2, return_indices=return_indices, size=size,
                                 fill_value=fill_value, assume_unique=assume_unique)
    ind1 = ind2 = arange(0)
    if not assume_unique:
        if return_indices:
            arr1, ind1 = unique(arr1, return_index=True)
            arr2, ind2 = unique(arr2, return_index=True)
        else:
            arr1, arr2 = _as_array(unique(arr1)), _as_array(unique(arr2))
    aux, mask, order = _intersect1d_sorted_mask(arr1, arr2, return_indices)
    common: Array = aux[:-1][mask]
    if not return_indices:
        return common
    assert order is not None
    idx1: Array = order[:-1][mask]
    idx2: Array = ufuncs.subtract(order[1:][mask], np.size(arr1))
    if not assume_unique:
        idx1, idx2 = ind1[idx1], ind2[idx2]
    return common, idx1, idx2
