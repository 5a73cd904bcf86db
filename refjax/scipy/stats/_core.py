"""``mode``, ``rankdata`` and ``sem`` of ``jax.scipy.stats``: statistics of samples.

Each is a named ``jit`` call with JAX's static arguments. ``mode`` counts with
``jnp.unique(..., size=n)`` per column (vmapped over the other axes), ``rankdata`` sorts once and
reads ranks off the run boundaries (NaN everywhere if any input is NaN), ``sem`` divides the
standard deviation by the square root of the sample size. Only ``nan_policy='propagate'``
is implemented for the first two, as in JAX.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from refjax import dtypes, lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import check_arraylike, promote_args_inexact
from refjax.numpy.functional import _vmap as vmap  # refjax.vmap sits above this layer
from refjax.primitives.calls import library_jit
from refjax.util import canonicalize_axis

__all__ = ["ModeResult", "mode", "rankdata", "sem"]

_NAN_POLICIES = ("propagate", "omit", "raise")


class ModeResult(NamedTuple):
    """The most common value and how often it occurs."""

    mode: Array
    count: Array  # type: ignore[assignment]  # JAX's field name shadows tuple.count


def _check_nan_policy(name: str, nan_policy: str) -> None:
    """Only 'propagate' is implemented; 'omit' and 'raise' raise NotImplementedError."""
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")
    if nan_policy == "omit":
        raise NotImplementedError(f"Logic for `nan_policy` of {nan_policy} is not implemented")
    if nan_policy == "raise":
        raise NotImplementedError(
            f"In order to best JIT compile `{name}`, we cannot know whether `x` contains nans. "
            f"Please check if nans exist in `x` outside of the `{name}` function.")


def _reduced_shape(shape: tuple[int, ...], axis: int | None, keepdims: bool
                   ) -> tuple[int, ...]:
    """The shape left after reducing ``axis`` (all axes for None), kept as 1 if asked."""
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else ()
    if keepdims:
        return tuple(1 if i == axis else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i != axis)


def _mode_of_column(x: Array) -> tuple[Array, Array]:
    """The smallest most frequent value of a 1-D ``x`` and its count (NaN and 0 if empty)."""
    if x.size == 0:
        float_dtype = dtypes.default_float_dtype()
        return jnp.array(np.nan, dtype=float_dtype), jnp.array(0, dtype=float_dtype)
    vals, counts = jnp.unique(x, return_counts=True, size=x.size)
    return vals[jnp.argmax(counts)], counts.max()


@library_jit(static_argnames=("axis", "nan_policy", "keepdims"))
def mode(a: ArrayLike, axis: int | None = 0, nan_policy: str = "propagate",
         keepdims: bool = False) -> ModeResult:
    """The most common value along ``axis`` (of the flattened array for None) and its count;
    ties go to the smallest value."""
    check_arraylike("mode", a)
    x = jnp.atleast_1d(a)
    _check_nan_policy("mode", nan_policy)
    if axis is not None:
        axis = canonicalize_axis(axis, x.ndim)
    output_shape = _reduced_shape(x.shape, axis, keepdims)
    if axis is None:
        axis = 0
        x = x.ravel()
    x = jnp.moveaxis(x, axis, 0)
    x = x.reshape(x.shape[0], math.prod(x.shape[1:]))
    vals, counts = vmap(_mode_of_column, in_axes=1)(x)
    return ModeResult(vals.reshape(output_shape), counts.reshape(output_shape))


def _invert_permutation(i: Array) -> Array:
    out: Array = jnp.empty_like(i).at[i].set(jnp.arange(i.size, dtype=i.dtype))
    return out


def _ranks(a: Array, method: str) -> Array:
    """The ranks of a 1-D ``a`` without NaNs, from one sort: ``ordinal`` is the position,
    ``dense`` the run number, ``min``/``max``/``average`` from the run boundaries."""
    out_dtype = dtypes.default_float_dtype()
    arr, sorter = lax.sort_key_val(a, jnp.arange(a.size))
    inv = _invert_permutation(sorter)
    if method == "ordinal":
        return (inv + 1).astype(out_dtype)
    obs = jnp.concatenate([jnp.array([True]), arr[1:] != arr[:-1]])
    dense = obs.cumsum()[inv]
    if method == "dense":
        return dense.astype(out_dtype)
    count = jnp.nonzero(obs, size=arr.size + 1, fill_value=obs.size)[0].astype(out_dtype)
    if method == "max":
        return count[dense]
    if method == "min":
        return count[dense - 1] + 1
    out: Array = 0.5 * (count[dense] + count[dense - 1] + 1)
    return out


@library_jit(static_argnames=("method", "axis", "nan_policy"))
def rankdata(a: ArrayLike, method: str = "average", *, axis: int | None = None,
             nan_policy: str = "propagate") -> Array:
    """The ranks (from 1) of the data, ties resolved by ``method`` (``average``, ``min``,
    ``max``, ``dense``, ``ordinal``), along ``axis`` or of the flattened array; all NaN if
    any element is NaN."""
    check_arraylike("rankdata", a)
    _check_nan_policy("rankdata", nan_policy)
    if method not in ("average", "min", "max", "dense", "ordinal"):
        raise ValueError(f"unknown method '{method}'")
    if axis is not None:
        along: Array = jnp.apply_along_axis(rankdata, axis, a, method)
        return along
    flat = jnp.ravel(a)
    out_dtype = dtypes.default_float_dtype()
    out: Array = lax.cond(jnp.any(jnp.isnan(flat)),
                          lambda v: jnp.full_like(v, jnp.nan, out_dtype),
                          lambda v: _ranks(v, method), flat)
    return out


@library_jit(static_argnames=("axis", "nan_policy", "keepdims"))
def sem(a: ArrayLike, axis: int | None = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False) -> Array:
    """The standard error of the mean, ``std(a, ddof) / sqrt(n)`` along ``axis``; with
    ``nan_policy='omit'`` NaNs are left out of both."""
    (b,) = promote_args_inexact("sem", a)
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        out: Array = b.std(axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(size).astype(b.dtype)
        return out
    if nan_policy == "omit":
        count = (~jnp.isnan(b)).sum(axis, keepdims=keepdims)
        omitted: Array = (jnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims)
                          / jnp.sqrt(count).astype(b.dtype))
        return omitted
    raise ValueError(f"{nan_policy} is not supported")
