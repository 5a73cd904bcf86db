"""``jnp.cov``/``corrcoef`` (weighted averages and one ``dot``) and the quantile family
(``quantile``, ``percentile``, ``median`` and their NaN-ignoring forms), written as JAX's are."""

from __future__ import annotations

from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import creation, indexing, manipulation, reductions, selection, ufuncs
from refjax.numpy._util import (
    check_arraylike,
    ensure_arraylike,
    promote_args_inexact,
)
from refjax.numpy.tensor_contractions import dot
from refjax.primitives.calls import library_jit
from refjax.util import canonicalize_axis

__all__ = [
    "corrcoef",
    "cov",
    "median",
    "nanmedian",
    "nanpercentile",
    "nanquantile",
    "percentile",
    "quantile",
]


def _weights(name: str, value: ArrayLike, n: int, integer: bool) -> Array:
    (w,) = ensure_arraylike("cov", value)
    if w.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {name}")
    if w.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {name}")
    if integer and w.dtype.kind not in "iu":
        raise TypeError("fweights must be integer.")
    return ufuncs.abs(w)


@library_jit(static_argnames=("rowvar", "bias", "ddof", "dtype"))
def cov(
    m: ArrayLike,
    y: ArrayLike | None = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: int | None = None,
    fweights: ArrayLike | None = None,
    aweights: ArrayLike | None = None,
    dtype: DTypeLike | None = None,
) -> Array:
    """The covariance matrix of the variables in the rows of ``m`` (columns, if not
    ``rowvar``), with optional frequency and analytic weights."""
    if y is not None:
        m_arr, y_arr = promote_args_inexact("cov", m, y)
        if y_arr.ndim > 2:
            raise ValueError("y has more than 2 dimensions")
    else:
        (m_arr,) = promote_args_inexact("cov", m)
    if m_arr.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise ValueError(f"cov: dtype must be a subclass of float or complex; got dtype={dtype}")
    x: Array = manipulation.atleast_2d(m_arr)
    if not rowvar and m_arr.ndim != 1:
        x = x.T
    if x.shape[0] == 0:
        return manipulation.reshape(creation.array([]), (0, 0))
    if y is not None:
        extra: Array = manipulation.atleast_2d(y_arr)
        if not rowvar and extra.shape[0] != 1:
            extra = extra.T
        x = manipulation.concatenate((x, extra), axis=0)
    if x.shape[1] == 0:
        shape = () if x.shape[0] == 1 else (x.shape[0], x.shape[0])
        return creation.full(shape, np.nan, dtype=x.dtype)
    if ddof is None:
        ddof = 1 if not bias else 0
    w: Array | None = None
    a_w: Array | None = None
    if fweights is not None:
        w = _weights("fweights", fweights, x.shape[1], integer=True)
    if aweights is not None:
        a_w = _weights("aweights", aweights, x.shape[1], integer=False)
        w = a_w if w is None else ufuncs.multiply(w, a_w)
    if dtype is not None:
        x = x.astype(dtype)
        w = None if w is None else w.astype(dtype)
    avg, w_sums = reductions.average(x, axis=1, weights=w, returned=True)
    w_sum = w_sums[0]
    f: Any
    if w is None:
        f = x.shape[1] - ddof
    elif ddof == 0:
        f = w_sum
    elif a_w is None:
        f = ufuncs.subtract(w_sum, ddof)
    else:
        f = ufuncs.subtract(w_sum, ufuncs.divide(
            ufuncs.multiply(ddof, reductions.sum(ufuncs.multiply(w, a_w))), w_sum))
    centered = ufuncs.subtract(x, avg[:, None])
    weighted = centered if w is None else ufuncs.multiply(centered, w[None, :])
    return manipulation.squeeze(ufuncs.true_divide(dot(centered, ufuncs.conj(weighted.T)), f))


@library_jit(static_argnames=("rowvar", "dtype"))
def corrcoef(
    x: ArrayLike, y: ArrayLike | None = None, rowvar: bool = True, dtype: DTypeLike | None = None
) -> Array:
    """Pearson correlation coefficients: the covariance scaled to a unit diagonal."""
    check_arraylike("corrcoef", x)
    if dtype is not None and np.dtype(dtype).kind not in "fc":
        raise ValueError(
            f"corrcoef: dtype must be a subclass of float or complex; got dtype={dtype}"
        )
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return ufuncs.divide(c, c)
    stddev = ufuncs.sqrt(ufuncs.real(selection.diag(c))).astype(c.dtype)
    c = ufuncs.divide(ufuncs.divide(c, stddev[:, None]), stddev[None, :])
    real_part = selection.clip(ufuncs.real(c), -1, 1)
    if dtypes.issubdtype(c.dtype, np.complexfloating):
        return ufuncs.make_complex(real_part, selection.clip(ufuncs.imag(c), -1, 1), c.dtype)
    return real_part


# ---------------------------------------------------------------------------------------------
# Quantiles: sort along the reduced axis, then interpolate between neighbouring order statistics

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def _sort_last(x: Array) -> Array:
    """``x`` sorted along its last axis (``lax.sort``, as JAX's quantile sorts)."""
    out = lax.sort(x, dimension=x.ndim - 1)
    assert isinstance(out, Array)
    return out


def _quantile(
    a: ArrayLike,
    q: ArrayLike,
    axis: int | tuple[int, ...] | None,
    method: str,
    keepdims: bool,
    squash_nans: bool,
    weights: ArrayLike | None,
) -> Array:
    if method not in _METHODS:
        raise ValueError("method can only be 'linear', 'lower', 'higher', 'midpoint', 'nearest' "
                         "or 'inverted_cdf'")
    if weights is not None or method == "inverted_cdf":
        raise NotImplementedError("refjax's quantile has no weights and no 'inverted_cdf' method")
    (arr,) = ensure_arraylike("quantile", a)
    (q_arr,) = ensure_arraylike("quantile", q)
    (arr,) = promote_args_inexact("quantile", arr)
    if arr.dtype.kind == "c":
        raise ValueError(
            "quantile does not support complex input, as the operation is poorly defined."
        )
    if q_arr.ndim > 1:
        raise ValueError(f"q must be have rank <= 1, got shape {q_arr.shape}")
    q_arr = q_arr.astype(arr.dtype) if q_arr.dtype.kind != "f" else q_arr
    ndim = arr.ndim
    if axis is None:
        axes = tuple(range(ndim))
    elif isinstance(axis, tuple):
        axes = tuple(canonicalize_axis(d, ndim) for d in axis)
        if len(set(axes)) != len(axes):
            raise ValueError("repeated axis")
    else:
        axes = (canonicalize_axis(axis, ndim),)
    kept = [d for d in range(ndim) if d not in axes]
    # the reduced axes, flattened, last
    flat = manipulation.reshape(manipulation.transpose(arr, [*kept, *axes]),
                                (*[arr.shape[d] for d in kept], -1))
    n = flat.shape[-1]
    nan = ufuncs.isnan(flat)
    if squash_nans:
        ordered = _sort_last(flat)  # NaNs sort last
        counts = reductions.sum(ufuncs.logical_not(nan), axis=-1, dtype=q_arr.dtype)
    else:
        any_nan = reductions.any(nan, axis=-1, keepdims=True)
        ordered = _sort_last(selection.where(any_nan, np.nan, flat))
        counts = creation.full(flat.shape[:-1], n, dtype=q_arr.dtype)
    # q's axis first, then the kept axes
    q_b = manipulation.reshape(q_arr, q_arr.shape + (1,) * counts.ndim)
    position = ufuncs.multiply(q_b, ufuncs.subtract(counts, 1))
    low, high = ufuncs.floor(position), ufuncs.ceil(position)
    high_weight = ufuncs.subtract(position, low)
    low_weight = ufuncs.subtract(1, high_weight)
    last = ufuncs.subtract(counts, 1)
    low = ufuncs.maximum(0, ufuncs.minimum(low, last)).astype(dtypes.int32)
    high = ufuncs.maximum(0, ufuncs.minimum(high, last)).astype(dtypes.int32)
    out_shape = q_arr.shape + counts.shape
    source = manipulation.broadcast_to(ordered, out_shape + (n,))

    def at(index: Array) -> Array:
        spread = manipulation.broadcast_to(index, out_shape)
        picked = indexing._take_along_axis(source, spread[..., None], axis=-1)
        return picked[..., 0]

    low_value, high_value = at(low), at(high)
    if method == "linear":
        result = ufuncs.add(ufuncs.multiply(low_value, low_weight),
                            ufuncs.multiply(high_value, high_weight))
    elif method == "lower":
        result = low_value
    elif method == "higher":
        result = high_value
    elif method == "nearest":
        result = selection.where(ufuncs.less_equal(high_weight, 0.5), low_value, high_value)
    else:  # midpoint
        result = ufuncs.multiply(ufuncs.add(low_value, high_value), 0.5)
    if keepdims:  # the reduced axes back, as size 1, after q's axis
        shape = list(result.shape[: q_arr.ndim])
        rest = iter(result.shape[q_arr.ndim :])
        shape += [1 if d in axes else next(rest) for d in range(ndim)]
        result = manipulation.reshape(result, tuple(shape))
    return result.astype(arr.dtype)


@library_jit(static_argnames=("axis", "overwrite_input", "keepdims", "method"))
def quantile(
    a: ArrayLike,
    q: ArrayLike,
    axis: int | tuple[int, ...] | None = None,
    out: None = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: ArrayLike | None = None,
) -> Array:
    """The ``q``-th quantiles of ``a`` over ``axis`` (interpolated by ``method``)."""
    check_arraylike("quantile", a, q)
    if overwrite_input or out is not None:
        raise ValueError("jax.numpy.quantile does not support overwrite_input=True or out != None")
    return _quantile(a, q, axis, method, keepdims, False, weights)


@library_jit(static_argnames=("axis", "overwrite_input", "keepdims", "method"))
def nanquantile(
    a: ArrayLike,
    q: ArrayLike,
    axis: int | tuple[int, ...] | None = None,
    out: None = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: ArrayLike | None = None,
) -> Array:
    """:func:`quantile` of the elements that are not NaN."""
    check_arraylike("nanquantile", a, q)
    if overwrite_input or out is not None:
        raise ValueError(
            "jax.numpy.nanquantile does not support overwrite_input=True or out != None"
        )
    return _quantile(a, q, axis, method, keepdims, True, weights)


@library_jit(static_argnames=("axis", "overwrite_input", "keepdims", "method"))
def percentile(
    a: ArrayLike,
    q: ArrayLike,
    axis: int | tuple[int, ...] | None = None,
    out: None = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: ArrayLike | None = None,
) -> Array:
    """:func:`quantile` with ``q`` in percent."""
    return quantile(a, _fraction("percentile", a, q), axis, out, overwrite_input, method,
                    keepdims, weights=weights)


@library_jit(static_argnames=("axis", "overwrite_input", "keepdims", "method"))
def nanpercentile(
    a: ArrayLike,
    q: ArrayLike,
    axis: int | tuple[int, ...] | None = None,
    out: None = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: ArrayLike | None = None,
) -> Array:
    """:func:`nanquantile` with ``q`` in percent."""
    return nanquantile(a, _fraction("nanpercentile", a, q), axis, out, overwrite_input, method,
                       keepdims, weights=weights)


def _fraction(name: str, a: ArrayLike, q: ArrayLike) -> Array:
    """A percentage ``q`` as a fraction (after checking the arguments, as JAX does)."""
    check_arraylike(name, a, q)
    (q_arr,) = promote_args_inexact(name, q)
    return ufuncs.true_divide(q_arr, 100)


@library_jit(static_argnames=("axis", "overwrite_input", "keepdims"))
def median(
    a: ArrayLike,
    axis: int | tuple[int, ...] | None = None,
    out: None = None,
    overwrite_input: bool = False,
    keepdims: bool = False,
) -> Array:
    """The median over ``axis`` (the midpoint of the middle two for an even count)."""
    (arr,) = ensure_arraylike("median", a)
    return quantile(arr, 0.5, axis=axis, out=out, overwrite_input=overwrite_input,
                    keepdims=keepdims, method="midpoint")


@library_jit(static_argnames=("axis", "overwrite_input", "keepdims"))
def nanmedian(
    a: ArrayLike,
    axis: int | tuple[int, ...] | None = None,
    out: None = None,
    overwrite_input: bool = False,
    keepdims: bool = False,
) -> Array:
    """The median of the elements that are not NaN."""
    (arr,) = ensure_arraylike("nanmedian", a)
    return nanquantile(arr, 0.5, axis=axis, out=out, overwrite_input=overwrite_input,
                       keepdims=keepdims, method="midpoint")
