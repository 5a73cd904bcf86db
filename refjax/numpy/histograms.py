"""Counting and binning in ``jax.numpy``: ``bincount``, ``digitize``, and the histograms
(``histogram_bin_edges``, ``histogram``, ``histogram2d``, ``histogramdd``).

Every count is a scatter-add into an array whose length is known statically: ``bincount`` takes
it from its ``length`` argument (under a trace) or from the largest value of a concrete input,
and the histograms from their number of bins. :func:`nonzero_sized` (``jnp.nonzero`` with a
``size``) is built on ``bincount`` as JAX's is, so it works under ``jit``; the set operations,
``flatnonzero``, ``insert`` and ``place`` use it.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, concrete_or_error, get_aval
from refjax.numpy import ufuncs
from refjax.numpy._statics import static_int
from refjax.numpy._util import (
    check_arraylike,
    ensure_arraylike,
    promote_dtypes_inexact,
    to_inexact_dtype,
)
from refjax.numpy.creation import arange, asarray, linspace, ones_like, zeros, zeros_like
from refjax.numpy.manipulation import reshape, transpose
from refjax.numpy.numeric import diff
from refjax.numpy.reductions import cumsum, ptp
from refjax.numpy.reductions import sum as _sum
from refjax.numpy.selection import clip, searchsorted, where
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant

__all__ = [
    "bincount",
    "digitize",
    "histogram",
    "histogram2d",
    "histogram_bin_edges",
    "histogramdd",
]


# ---------------------------------------------------------------------------------------------
# bincount, and nonzero with a static size


def bincount(
    x: ArrayLike,
    weights: ArrayLike | None = None,
    minlength: int = 0,
    *,
    length: int | None = None,
    out_sharding: None = None,
) -> Array:
    """The number of occurrences of each value ``0 .. length-1`` in the non-negative integer
    array ``x`` (the sum of ``weights`` there, if given). Negative values count as 0 and values
    past ``length`` are dropped; without ``length``, ``x`` must be concrete and the length is
    ``max(minlength, x.max() + 1)``. (refjax has no shardings: ``out_sharding`` must be
    None.)"""
    (arr,) = ensure_arraylike("bincount", x)
    if out_sharding is not None:
        raise NotImplementedError("refjax has no shardings: out_sharding must be None")
    if arr.dtype == dtypes.bool_:
        arr = lax.convert_element_type(arr, dtypes.int32)
    if not dtypes.is_integer(arr.dtype):
        raise TypeError(f"x argument to bincount must have an integer type; got {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError("only 1-dimensional input supported.")
    minlength = static_int(
        minlength, "The error occurred because of argument 'minlength' of jnp.bincount.")
    if length is None:
        values = concrete_or_error(
            arr, "The error occurred because of argument 'x' of jnp.bincount. To avoid this "
            "error, pass a static `length` argument.")
        length = builtins.max(minlength, values.size and int(builtins.max(0, values.max())) + 1)
    else:
        length = static_int(
            length, "The error occurred because of argument 'length' of jnp.bincount.")
    counted: ArrayLike
    if weights is None:
        counted = np.array(1, dtype=dtypes.default_int_dtype())
    else:
        if np.shape(arr) != np.shape(weights):
            w_aval = get_aval(weights)
            raise ValueError(
                "type of weights must match type of x. Got "
                f"typeof(x)={get_aval(arr).str_short(True)}({{}}) and "
                f"typeof(weights)={w_aval.str_short(True)}({{}})"
            )
        counted = weights
    out: Array = zeros(length, get_aval(counted).dtype).at[clip(arr, 0)].add(counted, mode="drop")
    return out


def nonzero_sized(
    a: Array, size: int, fill_value: ArrayLike | tuple[ArrayLike, ...] | None = None
) -> tuple[Array, ...]:
    """``jnp.nonzero(a, size=size, fill_value=fill_value)``, traceable: the flat positions of
    the first ``size`` nonzero elements come from a running count of them (``bincount`` of the
    cumulative sum of the mask, summed again), then split into one index array per axis.
    Positions past the count hold ``fill_value`` (0 by default)."""
    if a.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "jnp.atleast_1d(scalar).nonzero() instead.")
    size = static_int(size, "The size argument of jnp.nonzero must be statically specified to "
                      "use jnp.nonzero within JAX transformations.")
    mask = a if a.dtype == dtypes.bool_ else ufuncs.not_equal(a, 0)
    int_dtype = dtypes.default_int_dtype()
    if a.size == 0 or size == 0:
        return tuple(zeros(size, int_dtype) for _ in a.shape)
    flat = cumsum(bincount(cumsum(mask), length=size))
    strides = (np.cumprod(a.shape[::-1])[::-1] // a.shape).astype(flat.dtype)
    out = tuple(ufuncs.remainder(ufuncs.floor_divide(flat, stride), n)
                for stride, n in zip(strides, a.shape, strict=True))
    if fill_value is None:
        return out
    fills = fill_value if isinstance(fill_value, tuple) else (fill_value,) * a.ndim
    if any(np.shape(f) != () for f in fills):
        raise ValueError(
            f"fill_value must be a scalar or a tuple of length {a.ndim}; got {fill_value}")
    past_count = ufuncs.greater_equal(arange(size), _sum(mask))
    return tuple(where(past_count, f, entry) for f, entry in zip(fills, out, strict=True))


# ---------------------------------------------------------------------------------------------
# digitize


@library_jit(static_argnames=("right", "method"))
def digitize(x: ArrayLike, bins: ArrayLike, right: bool = False, *,
             method: str | None = None) -> Array:
    """The index of the bin of ``bins`` (increasing or decreasing) holding each ``x``: ``i`` with
    ``bins[i-1] <= x < bins[i]`` (``bins[i-1] < x <= bins[i]`` with ``right``)."""
    arr, edges = ensure_arraylike("digitize", x, bins)
    right = bool(concrete_or_error(right, "right argument of jnp.digitize()"))
    if edges.ndim != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array; got {bins=}")
    if edges.shape[0] == 0:
        return zeros_like(arr, dtype=dtypes.int32)
    side = "left" if right else "right"
    how = "scan" if method is None else method  # (refjax's searchsorted: every method alike)
    increasing = ufuncs.greater_equal(edges[-1], edges[0])
    forward = searchsorted(edges, arr, side=side, method=how)
    backward = ufuncs.subtract(edges.shape[0], searchsorted(edges[::-1], arr, side=side,
                                                            method=how))
    result: Array = where(increasing, forward, backward)
    return result


# ---------------------------------------------------------------------------------------------
# Histograms


def histogram_bin_edges(
    a: ArrayLike,
    bins: ArrayLike = 10,
    range: Sequence[ArrayLike] | Array | None = None,  # noqa: A002  # numpy's name
    weights: ArrayLike | None = None,
) -> Array:
    """The edges of ``bins`` equal bins over ``range`` (the data's extent if None; a range of
    zero width is widened by 0.5 each way), or ``bins`` itself if it is 1-D."""
    del weights  # (only the string bins of numpy, which JAX does not support, use it)
    if isinstance(bins, str):
        raise NotImplementedError("string values for `bins` not implemented.")
    check_arraylike("histogram_bin_edges", a, bins)
    arr = asarray(a)
    dtype = to_inexact_dtype(arr.dtype)
    if np.ndim(bins) == 1:
        return asarray(bins, dtype=dtype)
    n_bins = static_int(bins, "bins argument of histogram_bin_edges")
    lo_hi = asarray([arr.min(), arr.max()] if range is None else range, dtype=dtype)
    if np.shape(lo_hi) != (2,):
        raise ValueError(f"`range` must be either None or a sequence of scalars, got {lo_hi}")
    empty = ufuncs.equal(ptp(lo_hi), 0)
    lo = where(empty, ufuncs.subtract(lo_hi[0], 0.5), lo_hi[0])
    empty = ufuncs.equal(ptp(lo_hi), 0)
    hi = where(empty, ufuncs.add(lo_hi[1], 0.5), lo_hi[1])
    edges: Array = linspace(lo, hi, n_bins + 1, dtype=dtype)
    return edges


def histogram(
    a: ArrayLike,
    bins: ArrayLike = 10,
    range: Sequence[ArrayLike] | None = None,  # noqa: A002  # numpy's name
    weights: ArrayLike | None = None,
    density: bool | None = None,
) -> tuple[Array, Array]:
    """The counts (or summed ``weights``, or a density) of ``a`` in each bin, and the bin
    edges; the last bin includes its right edge."""
    if weights is None:
        arr, _ = ensure_arraylike("histogram", a, bins)
        (arr,) = promote_dtypes_inexact(arr)
        w = ones_like(arr)
    else:
        arr, _, w = ensure_arraylike("histogram", a, bins, weights)
        if np.shape(arr) != np.shape(w):
            raise ValueError("weights should have the same shape as a.")
        arr, w = promote_dtypes_inexact(arr, w)
    edges = histogram_bin_edges(arr, bins, range, w)
    index = searchsorted(edges, arr, side="right")
    n_edges = edges.shape[0]
    index = where(ufuncs.equal(arr, edges[-1]), n_edges - 1, index)
    counts: Array = zeros(n_edges, w.dtype).at[index].add(w)[1:]
    if density:
        widths = diff(edges)
        counts = ufuncs.true_divide(ufuncs.true_divide(counts, widths), counts.sum())
    return counts, edges


def histogram2d(
    x: ArrayLike,
    y: ArrayLike,
    bins: ArrayLike | list[ArrayLike] = 10,
    range: Sequence[Sequence[ArrayLike] | Array | None] | None = None,  # noqa: A002
    weights: ArrayLike | None = None,
    density: bool | None = None,
) -> tuple[Array, Array, Array]:
    """The 2-D histogram of the points ``(x[i], y[i])``, with the edges along x and along y."""
    xs, ys = ensure_arraylike("histogram2d", x, y)
    try:
        n = len(bins)  # type: ignore[arg-type]  # a scalar has none: caught below
    except TypeError:
        n = 1
    if n not in (1, 2):
        edges = asarray(bins)
        bins = [edges, edges]
    sample = transpose(asarray([xs, ys]))
    hist, edges_by_dim = histogramdd(sample, bins, range, weights, density)
    return hist, edges_by_dim[0], edges_by_dim[1]


def histogramdd(
    sample: ArrayLike,
    bins: ArrayLike | list[ArrayLike] = 10,
    range: Sequence[Sequence[ArrayLike] | Array | None] | None = None,  # noqa: A002
    weights: ArrayLike | None = None,
    density: bool | None = None,
) -> tuple[Array, list[Array]]:
    """The D-dimensional histogram of the ``N`` points of the ``(N, D)`` array ``sample``, with
    the bin edges along each dimension."""
    if weights is None:
        (points,) = ensure_arraylike("histogramdd", sample)
        (points,) = promote_dtypes_inexact(points)
        w: Array | None = None
    else:
        points, w = ensure_arraylike("histogramdd", sample, weights)
        if np.shape(w) != np.shape(points)[:1]:
            raise ValueError("should have one weight for each sample.")
        points, w = promote_dtypes_inexact(points, w)
    n_points, n_dims = points.shape
    if range is not None and (
        len(range) != n_dims or any(r is not None and np.shape(np.asarray(r))[0] != 2
                                    for r in range)
    ):
        raise ValueError(f"For sample.shape={(n_points, n_dims)}, range must be a sequence "
                         f"of {n_dims} pairs or Nones; got {range=}")
    per_dim: list[Any]
    try:
        per_dim = list(bins)  # type: ignore[arg-type]  # a scalar is not iterable: caught
    except TypeError:
        per_dim = [bins] * n_dims
    else:
        if len(per_dim) != n_dims:
            raise ValueError("should be a bin for each dimension.")
    indices: list[Array] = []
    edges_by_dim: list[Array] = []
    for i in builtins.range(n_dims):
        column = points[:, i]
        edges = histogram_bin_edges(column, per_dim[i], None if range is None else range[i], w)
        index = searchsorted(edges, column, side="right")
        index = where(ufuncs.equal(column, edges[-1]), ufuncs.subtract(index, 1), index)
        indices.append(index)
        edges_by_dim.append(edges)
    n_bins = tuple(e.shape[0] + 1 for e in edges_by_dim)
    widths = [diff(e) for e in edges_by_dim]
    flat = _ravel_clipped(indices, n_bins)
    hist = reshape(bincount(flat, w, length=math.prod(n_bins)), n_bins)
    hist = hist[(slice(1, -1),) * n_dims]
    if density:
        hist = hist.astype(points.dtype)
        hist = ufuncs.true_divide(hist, hist.sum())
        for norm in _ix(*widths):
            hist = ufuncs.true_divide(hist, norm)
    return hist, edges_by_dim


# ---------------------------------------------------------------------------------------------
# Index helpers (JAX's ravel_multi_index with mode='clip', and ix_)


def _ravel_clipped(multi_index: Sequence[Array], dims: Sequence[int]) -> Array:
    """The flat C-order index of each multi-index into ``dims``, each index first clipped to
    its axis (``jnp.ravel_multi_index(..., mode='clip')``)."""
    dtype: DType = dtypes.result_type(int, *multi_index)
    clipped = [clip(i, 0, d - 1) for i, d in zip(multi_index, dims, strict=True)]
    strides = np.cumprod((1,) + tuple(dims[1:])[::-1])[::-1]
    result = constant(0, dtype)
    for i, s in zip(clipped, strides, strict=True):
        result = ufuncs.add(result, ufuncs.multiply(i.astype(dtype), int(s)))
    return result


def _ix(*args: ArrayLike) -> tuple[Array, ...]:
    """An open mesh: the ``i``-th 1-D argument shaped to vary along axis ``i`` only."""
    arrays = ensure_arraylike("ix", *args)
    n = len(arrays)
    out: list[Array] = []
    for i, arr in enumerate(arrays):
        if arr.ndim != 1:
            raise ValueError(
                f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape {arr.shape}")
        if arr.dtype == dtypes.bool_:
            raise NotImplementedError("Boolean arguments to jax.numpy.ix_ are not implemented")
        shape = tuple(arr.shape[0] if k == i else 1 for k in builtins.range(n))
        if arr.size == 0:
            out.append(zeros(shape, np.intp))
        else:
            out.append(lax.broadcast_in_dim(arr, shape, (i,)))
    return tuple(out)
