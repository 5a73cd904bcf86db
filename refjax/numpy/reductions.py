"""Reductions of ``jax.numpy``: sum, prod, max, min, all, any, mean, var, std, arg-reductions
and cumulative reductions.

A reduction casts its operand to the computation dtype (sums and products of small integers and
booleans upcast to the default integer, as JAX's ``promote_integers=True``; float16 sums compute
in float32), reduces with the matching ``reduce_*`` primitive, and casts the result back.
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike, concrete_or_error
from refjax.numpy._util import (
    as_array,
    broadcast_to,
    ensure_arraylike,
    promote_args_inexact,
    promote_dtypes_inexact,
    promote_dtypes_numeric,
    to_inexact_dtype,
    user_dtype,
    where_,
)
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant, convert
from refjax.util import canonicalize_axis

Axis: TypeAlias = int | Sequence[int] | None


@dataclass(frozen=True, slots=True)
class Monoid:
    """A reduction: the primitive that reduces over axes and the binary op it folds with."""

    reduce: Callable[[ArrayLike, Sequence[int]], Array]
    combine: Callable[[ArrayLike, ArrayLike], Array]


SUM = Monoid(lax.reduce_sum, lax.add)
PROD = Monoid(lax.reduce_prod, lax.mul)
MAX = Monoid(lax.reduce_max, lax.max)
MIN = Monoid(lax.reduce_min, lax.min)
AND = Monoid(lax.reduce_and, lax.bitwise_and)
OR = Monoid(lax.reduce_or, lax.bitwise_or)


def _ensure_optional_axes(axis: Any) -> int | tuple[int, ...] | None:
    """A static axis argument: None, an int, or a tuple of ints."""

    def force(x: Any) -> int | tuple[int, ...] | None:
        if x is None:
            return None
        try:
            return operator.index(x)
        except TypeError:
            return tuple(operator.index(i) for i in x)

    if isinstance(axis, Array):
        concrete_or_error(axis, "The axis argument must be known statically.")
    return force(axis)


def reduction_dims(ndim: int, axis: Axis) -> tuple[int, ...]:
    """The canonical, distinct axes a reduction over ``axis`` removes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    canon = tuple(canonicalize_axis(a, ndim) for a in axes)
    if len(canon) != len(set(canon)):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return canon


def _promote_integer_dtype(dtype: DType) -> DType:
    """Bools and integers narrower than the default integer widen to it (for sums)."""
    if dtype == dtypes.bool_:
        return dtypes.default_int_dtype()
    if dtype.kind == "u":
        default_uint = dtypes.canonicalize_dtype(dtypes.uint64)
        return default_uint if dtype.itemsize < default_uint.itemsize else dtype
    if dtype.kind == "i":
        default_int = dtypes.default_int_dtype()
        return default_int if dtype.itemsize < default_int.itemsize else dtype
    return dtype


def _upcast_f16(dtype: DType) -> DType:
    return dtypes.float32 if dtype == dtypes.float16 else dtype


def _init_value(dtype: DType, value: float) -> Array:
    """The reduction's identity as a strongly typed scalar of ``dtype`` (clamped to the range)."""
    if dtype == dtypes.bool_:
        return constant(value > 0, dtype)
    if dtypes.is_integer(dtype) and not np.isfinite(value):
        info = np.iinfo(dtype)
        return constant(info.min if value < 0 else info.max, dtype)
    return constant(value, dtype)


def _check_where(name: str, where: ArrayLike | None) -> Array | None:
    if where is None:
        return None
    (arr,) = ensure_arraylike(name, where)
    if arr.dtype != dtypes.bool_:
        raise ValueError(
            f"jnp.{name}: where must be None or a boolean array; got where.dtype={arr.dtype!r}."
        )
    return arr


@dataclass(frozen=True, slots=True)
class _Reduction:
    """How one jnp reduction treats dtypes: its monoids, identity and promotion flags."""

    name: str
    monoid: Monoid
    bool_monoid: Monoid
    init: float
    has_identity: bool = True
    preproc: Callable[[Array], Array] | None = None
    upcast_f16: bool = False
    promote_integers: bool = False


def _reduce(
    spec: _Reduction,
    a: ArrayLike,
    axis: Axis,
    dtype: DTypeLike | None,
    keepdims: bool,
    initial: ArrayLike | None,
    where: ArrayLike | None,
) -> Array:
    """The common body of every jnp reduction (JAX's ``_reduction``)."""
    (arr,) = ensure_arraylike(spec.name, a)
    mask = _check_where(spec.name, where)
    if initial is None and not spec.has_identity and mask is not None:
        raise ValueError(
            f"reduction operation {spec.name} does not have an identity, so to use a where mask "
            "one has to specify 'initial'"
        )
    arr = spec.preproc(arr) if spec.preproc else arr
    dims = reduction_dims(arr.ndim, _ensure_optional_axes(axis))
    if initial is None and not spec.has_identity and builtins.any(arr.shape[d] < 1 for d in dims):
        raise ValueError(
            f"zero-size array to reduction operation {spec.name} which has no identity"
        )
    if dtype is None:
        result_dtype = arr.dtype
        if spec.promote_integers:
            result_dtype = _promote_integer_dtype(result_dtype)
    else:
        result_dtype = user_dtype(dtype, spec.name)
    computation_dtype = result_dtype
    if spec.upcast_f16 and dtype is None and result_dtype.kind in "fc":
        computation_dtype = _upcast_f16(result_dtype)
    arr = convert(arr, computation_dtype)
    monoid = spec.bool_monoid if computation_dtype == dtypes.bool_ else spec.monoid
    init_val = _init_value(computation_dtype, spec.init)
    if mask is not None:
        arr = where_(mask, arr, init_val)
    result = monoid.reduce(arr, dims)
    if initial is not None:
        initial_arr = convert(initial, arr.dtype)
        if initial_arr.shape != ():
            raise ValueError(
                f"initial value must be a scalar. Got array of shape {initial_arr.shape}"
            )
        result = monoid.combine(initial_arr, result)
    if keepdims:
        result = lax.expand_dims(result, dims)
    return convert(result, result_dtype)


def _cast_to_numeric(x: Array) -> Array:
    return promote_dtypes_numeric(x)[0]


def _cast_to_bool(x: Array) -> Array:
    if x.dtype.kind == "c":
        x = lax.real(x)
    return convert(x, dtypes.bool_)


_SUM = _Reduction("sum", SUM, OR, 0, preproc=_cast_to_numeric, upcast_f16=True,
                  promote_integers=True)
_PROD = _Reduction("prod", PROD, AND, 1, preproc=_cast_to_numeric, upcast_f16=True,
                   promote_integers=True)
_MAX = _Reduction("max", MAX, MAX, -np.inf, has_identity=False)
_MIN = _Reduction("min", MIN, MIN, np.inf, has_identity=False)
_ALL = _Reduction("all", AND, AND, 1, preproc=_cast_to_bool)
_ANY = _Reduction("any", OR, OR, 0, preproc=_cast_to_bool)


def sum(  # noqa: A001  # numpy's name
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
    promote_integers: bool = True,
) -> Array:
    """Sum of elements over ``axis``; small integers and bools sum in the default integer."""
    _no_out("sum", out)
    spec = _SUM if promote_integers else _Reduction(
        "sum", SUM, OR, 0, preproc=_cast_to_numeric, upcast_f16=True)
    return _reduce(spec, a, axis, dtype, keepdims, initial, where)


def prod(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
    promote_integers: bool = True,
) -> Array:
    """Product of elements over ``axis``."""
    _no_out("prod", out)
    spec = _PROD if promote_integers else _Reduction(
        "prod", PROD, AND, 1, preproc=_cast_to_numeric, upcast_f16=True)
    return _reduce(spec, a, axis, dtype, keepdims, initial, where)


def max(  # noqa: A001  # numpy's name
    a: ArrayLike,
    axis: Axis = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Array:
    """Maximum over ``axis`` (NaN if any element is NaN)."""
    _no_out("max", out)
    return _reduce(_MAX, a, axis, None, keepdims, initial, where)


def min(  # noqa: A001  # numpy's name
    a: ArrayLike,
    axis: Axis = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Array:
    """Minimum over ``axis`` (NaN if any element is NaN)."""
    _no_out("min", out)
    return _reduce(_MIN, a, axis, None, keepdims, initial, where)


amax, amin = max, min


def all(  # noqa: A001  # numpy's name
    a: ArrayLike,
    axis: Axis = None,
    out: None = None,
    keepdims: bool = False,
    *,
    where: ArrayLike | None = None,
) -> Array:
    """Whether every element over ``axis`` is true."""
    _no_out("all", out)
    return _reduce(_ALL, a, axis, None, keepdims, None, where)


def any(  # noqa: A001  # numpy's name
    a: ArrayLike,
    axis: Axis = None,
    out: None = None,
    keepdims: bool = False,
    *,
    where: ArrayLike | None = None,
) -> Array:
    """Whether any element over ``axis`` is true."""
    _no_out("any", out)
    return _reduce(_ANY, a, axis, None, keepdims, None, where)


def _no_out(name: str, out: object) -> None:
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")


# ---------------------------------------------------------------------------------------------
# Statistics


def _count(
    a: Array, axis: Axis, keepdims: bool, where: Array | None, dtype: DType
) -> Array:
    """How many elements a reduction over ``axis`` sees, as a ``dtype`` value."""
    if where is None:
        axes = range(a.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
        return constant(math.prod(a.shape[d] for d in axes), dtype)  # IndexError as JAX
    return sum(broadcast_to(where, a.shape), axis, dtype=dtype, keepdims=keepdims)


def mean(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    *,
    where: ArrayLike | None = None,
) -> Array:
    """Arithmetic mean over ``axis``, in floating point."""
    _no_out("mean", out)
    (arr,) = ensure_arraylike("mean", a)
    mask = _check_where("mean", where)
    axes = _ensure_optional_axes(axis)
    result_dtype = to_inexact_dtype(arr.dtype) if dtype is None else user_dtype(dtype, "mean")
    computation_dtype = result_dtype
    if dtype is None and result_dtype.kind in "fc":
        computation_dtype = _upcast_f16(result_dtype)
    normalizer = _count(arr, axes, keepdims, mask, computation_dtype)
    total = sum(arr, axes, dtype=computation_dtype, keepdims=keepdims, where=mask)
    return convert(lax.div(total, normalizer), result_dtype)


_mean = mean  # ``var`` and ``std`` take a keyword argument called ``mean``


# ---------------------------------------------------------------------------------------------
# NaN-ignoring reductions: NaNs replaced by the reduction's identity (JAX's _nan_reduction)


def _nan_reduction(
    a: ArrayLike,
    name: str,
    reduction: Callable[..., Array],
    init: float,
    nan_if_all_nan: bool,
    axis: Axis,
    keepdims: bool,
    where: ArrayLike | None,
    **kwargs: Any,
) -> Array:
    (arr,) = ensure_arraylike(name, a)
    mask = _check_where(name, where)
    if arr.dtype.kind not in "fc":
        return reduction(arr, axis=axis, keepdims=keepdims, where=mask, **kwargs)
    nan = lax.ne(arr, arr)
    out = reduction(where_(nan, _init_value(arr.dtype, init), arr), axis=axis,
                    keepdims=keepdims, where=mask, **kwargs)
    if not nan_if_all_nan:
        return out
    return where_(all(nan, axis=axis, keepdims=keepdims), constant(np.nan, out.dtype), out)


@library_jit(static_argnames=("axis", "keepdims"))
def nanmax(
    a: ArrayLike,
    axis: Axis = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Array:
    """Maximum over ``axis`` ignoring NaNs (NaN where every element is NaN)."""
    _no_out("nanmax", out)
    return _nan_reduction(a, "nanmax", max, -np.inf, initial is None, axis, keepdims, where,
                          initial=initial)


@library_jit(static_argnames=("axis", "keepdims"))
def nanmin(
    a: ArrayLike,
    axis: Axis = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Array:
    """Minimum over ``axis`` ignoring NaNs (NaN where every element is NaN)."""
    _no_out("nanmin", out)
    return _nan_reduction(a, "nanmin", min, np.inf, initial is None, axis, keepdims, where,
                          initial=initial)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def nansum(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Array:
    """Sum over ``axis`` treating NaNs as 0."""
    _no_out("nansum", out)
    return _nan_reduction(a, "nansum", sum, 0, False, axis, keepdims, where, dtype=dtype,
                          initial=initial)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def nanprod(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    initial: ArrayLike | None = None,
    where: ArrayLike | None = None,
) -> Array:
    """Product over ``axis`` treating NaNs as 1."""
    _no_out("nanprod", out)
    return _nan_reduction(a, "nanprod", prod, 1, False, axis, keepdims, where, dtype=dtype,
                          initial=initial)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def nanmean(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    keepdims: bool = False,
    where: ArrayLike | None = None,
) -> Array:
    """Mean over ``axis`` of the elements that are not NaN (NaN where there are none)."""
    _no_out("nanmean", out)
    (arr,) = ensure_arraylike("nanmean", a)
    mask = _check_where("nanmean", where)
    if arr.dtype.kind in "biu":
        return mean(arr, axis, dtype, None, keepdims, where=mask)
    result_dtype = to_inexact_dtype(arr.dtype) if dtype is None else user_dtype(dtype, "mean")
    kept = lax.bitwise_not(lax.ne(arr, arr))
    normalizer = sum(kept, axis=axis, dtype=result_dtype, keepdims=keepdims, where=mask)
    total = nansum(arr, axis, dtype=result_dtype, keepdims=keepdims, where=mask)
    return lax.div(total, normalizer)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def nanvar(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    ddof: int = 0,
    keepdims: bool = False,
    where: ArrayLike | None = None,
    mean: ArrayLike | None = None,
) -> Array:
    """Variance over ``axis`` of the elements that are not NaN (NaN where too few remain)."""
    _no_out("nanvar", out)
    (arr,) = ensure_arraylike("nanvar", a)
    mask = _check_where("nanvar", where)
    user = None if dtype is None else user_dtype(dtype, "nanvar")
    computation_dtype, result_dtype = _var_promote_types(arr.dtype, user)
    arr = convert(arr, computation_dtype)
    if mean is None:
        a_mean = nanmean(arr, axis, dtype=computation_dtype, keepdims=True, where=mask)
    else:
        a_mean = convert(as_array(mean), computation_dtype)
    nan = lax.ne(arr, arr)
    centered = where_(nan, 0, lax.sub(arr, broadcast_to(a_mean, arr.shape)))  # grads stay finite
    centered = _squared_magnitude(centered)
    normalizer = sum(lax.bitwise_not(nan), axis=axis, keepdims=keepdims, where=mask)
    normalizer = lax.sub(normalizer, convert(ddof, normalizer.dtype))  # (ddof may be traced)
    too_few = lax.le(normalizer, constant(0, normalizer.dtype))
    total = sum(centered, axis, keepdims=keepdims, where=mask)
    total = where_(too_few, np.nan, total)
    divisor = where_(too_few, 1, normalizer)
    result = lax.div(total, convert(divisor, total.dtype))
    return convert(result, result_dtype)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def nanstd(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    ddof: int = 0,
    keepdims: bool = False,
    where: ArrayLike | None = None,
    mean: ArrayLike | None = None,
) -> Array:
    """Standard deviation over ``axis`` of the elements that are not NaN."""
    _no_out("nanstd", out)
    return lax.sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims,
                           where=where, mean=mean))


def _nan_arg_extreme(name: str, fill: float, pick: Callable[..., Array]) -> Callable[..., Array]:
    def reduce(
        a: ArrayLike, axis: int | None = None, out: None = None, keepdims: bool | None = None
    ) -> Array:
        _no_out(name, out)
        (arr,) = ensure_arraylike(name, a)
        return staged(arr, None if axis is None else operator.index(axis),
                      keepdims=bool(keepdims))

    @library_jit(static_argnames=("axis", "keepdims"), name=f"_{name}")
    def staged(a: Array, axis: int | None = None, keepdims: bool = False) -> Array:
        if a.dtype.kind not in "fc":
            return pick(a, axis=axis, keepdims=keepdims)
        nan = lax.ne(a, a)
        found = pick(where_(nan, fill, a), axis=axis, keepdims=keepdims)
        return where_(all(nan, axis=axis, keepdims=keepdims), -1, found)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = (f"Index of the {'greatest' if fill < 0 else 'least'} element along "
                      "``axis`` ignoring NaNs (-1 where every element is NaN).")
    return reduce


def _squared_magnitude(x: Array) -> Array:
    """``|x|**2``, real: ``x * conj(x)``'s real part for complex ``x`` (as JAX's var)."""
    if x.dtype.kind == "c":
        return lax.real(lax.mul(x, lax.conj(x)))
    return lax.square(x)


def _var_promote_types(a_dtype: DType, dtype: DType | None) -> tuple[DType, DType]:
    """(computation dtype, result dtype) of ``var``."""
    if dtype is not None:
        if dtype.kind != "c" and a_dtype.kind == "c":
            raise ValueError(
                "jax.numpy.var does not yet support real dtype parameters when computing the "
                "variance of an array of complex values."
            )
        return _upcast_f16(dtype), dtype
    if a_dtype.kind not in "fc":
        out = to_inexact_dtype(a_dtype)
        return _upcast_f16(out), out
    return _upcast_f16(a_dtype), np.array(0, a_dtype).real.dtype


def var(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where: ArrayLike | None = None,
    mean: ArrayLike | None = None,  # jnp's keyword
    correction: ArrayLike | None = None,
) -> Array:
    """Variance over ``axis``: the mean squared deviation, divided by ``N - ddof``."""
    correction = _correction(ddof, correction)
    (arr,) = ensure_arraylike("var", a)
    return _var(arr, axis=_ensure_optional_axes(axis), dtype=dtype, out=out,
                correction=correction, keepdims=keepdims, where=where, a_mean=mean)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def _var(
    a: Array,
    *,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    correction: ArrayLike = 0,
    keepdims: bool = False,
    where: ArrayLike | None = None,
    a_mean: ArrayLike | None = None,
) -> Array:
    _no_out("var", out)
    mask = _check_where("var", where)
    axes = axis
    user = None if dtype is None else user_dtype(dtype, "var")
    computation_dtype, result_dtype = _var_promote_types(a.dtype, user)
    arr = convert(a, computation_dtype)
    if a_mean is None:
        mean = _mean(arr, axes, dtype=computation_dtype, keepdims=True, where=mask)
    else:
        mean = convert(as_array(a_mean), computation_dtype)
    centered = _squared_magnitude(lax.sub(arr, mean))
    computation_dtype = centered.dtype
    normalizer = _count(arr, axes, keepdims, mask, computation_dtype)
    normalizer = lax.sub(normalizer, convert(correction, computation_dtype))
    total = sum(centered, axes, dtype=computation_dtype, keepdims=keepdims, where=mask)
    result = convert(lax.div(total, normalizer), result_dtype)
    from refjax.numpy.ufuncs import greater

    return where_(greater(normalizer, 0), result, np.nan)


def _correction(ddof: int, correction: ArrayLike | None) -> ArrayLike:
    if correction is None:
        return ddof
    if not isinstance(ddof, int) or ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return correction


def std(
    a: ArrayLike,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where: ArrayLike | None = None,
    mean: ArrayLike | None = None,  # jnp's keyword
    correction: ArrayLike | None = None,
) -> Array:
    """Standard deviation over ``axis``: the square root of :func:`var`."""
    correction = _correction(ddof, correction)
    (arr,) = ensure_arraylike("std", a)
    return _std(arr, axis=_ensure_optional_axes(axis), dtype=dtype, out=out,
                correction=correction, keepdims=keepdims, where=where, mean=mean)


@library_jit(static_argnames=("axis", "dtype", "keepdims"))
def _std(
    a: Array,
    *,
    axis: Axis = None,
    dtype: DTypeLike | None = None,
    out: None = None,
    correction: ArrayLike = 0,
    keepdims: bool = False,
    where: ArrayLike | None = None,
    mean: ArrayLike | None = None,
) -> Array:
    _no_out("std", out)
    if dtype is not None and user_dtype(dtype, "std").kind not in "fc":
        raise ValueError(f"dtype argument to jnp.std must be inexact; got {np.dtype(dtype)}")
    return lax.sqrt(var(a, axis, dtype=dtype, correction=correction, keepdims=keepdims,
                        where=where, mean=mean))


def ptp(a: ArrayLike, axis: Axis = None, out: None = None, keepdims: bool = False) -> Array:
    """Range of values (maximum minus minimum) over ``axis``."""
    (arr,) = ensure_arraylike("ptp", a)
    return _ptp(arr, _ensure_optional_axes(axis), out, keepdims)


@library_jit(static_argnames=("axis", "keepdims"))
def _ptp(a: Array, axis: Axis = None, out: None = None, keepdims: bool = False) -> Array:
    _no_out("ptp", out)
    return lax.sub(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))


@library_jit(static_argnames=("axis", "keepdims"))
def count_nonzero(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Array:
    """Number of non-zero elements over ``axis``."""
    (arr,) = ensure_arraylike("count_nonzero", a)
    nonzero = lax.ne(arr, constant(0, arr.dtype))
    return sum(nonzero, axis, dtype=dtypes.default_int_dtype(), keepdims=keepdims)


# ---------------------------------------------------------------------------------------------
# Arg-reductions


def _arg_reduce(
    name: str, lax_fn: Callable[[ArrayLike, int, DTypeLike], Array], a: ArrayLike,
    axis: int | None, keepdims: bool | None,
) -> Array:
    (arr,) = ensure_arraylike(name, a)
    if axis is None:
        dims = tuple(range(arr.ndim))
        arr = lax.reshape(arr, (arr.size,))
        ax = 0
    else:
        if arr.shape[axis] == 0:  # an IndexError for an axis out of range, as JAX
            raise ValueError(f"attempt to get {name} of an empty sequence")
        ax = canonicalize_axis(axis, arr.ndim)
        dims = (ax,)
    if arr.shape[ax] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    result = lax_fn(arr, ax, dtypes.default_int_dtype())
    return lax.expand_dims(result, dims) if keepdims else result


def argmax(
    a: ArrayLike, axis: int | None = None, out: None = None, keepdims: bool | None = None
) -> Array:
    """Index of the first maximum along ``axis`` (of the flattened array if None)."""
    _no_out("argmax", out)
    return _arg_reduce("argmax", lax.argmax, a, axis, keepdims)


def argmin(
    a: ArrayLike, axis: int | None = None, out: None = None, keepdims: bool | None = None
) -> Array:
    """Index of the first minimum along ``axis`` (of the flattened array if None)."""
    _no_out("argmin", out)
    return _arg_reduce("argmin", lax.argmin, a, axis, keepdims)


# ---------------------------------------------------------------------------------------------
# Cumulative reductions


def _cumulative(
    name: str,
    lax_fn: Callable[[ArrayLike, int, bool], Array],
    a: ArrayLike,
    axis: int | None,
    dtype: DTypeLike | None,
    promote_integers: bool = False,
    fill_nan: float | None = None,
) -> Array:
    """The common body of cumsum/cumprod (JAX's ``_cumulative_reduction``); ``fill_nan``
    replaces NaNs first (nancumsum, nancumprod)."""
    (arr,) = ensure_arraylike(name, a)
    if axis is None or arr.ndim == 0:
        arr = lax.reshape(arr, (arr.size,))
    ax = canonicalize_axis(0 if axis is None else axis, arr.ndim)
    if fill_nan is not None and arr.dtype.kind in "fc":
        arr = where_(lax.ne(arr, arr), constant(fill_nan, arr.dtype), arr)
    if dtype is None:
        result_dtype = arr.dtype
        if promote_integers or arr.dtype == dtypes.bool_:
            result_dtype = _promote_integer_dtype(arr.dtype)
        computation_dtype = result_dtype
    elif np.dtype(dtype) == dtypes.bool_:
        result_dtype = dtypes.bool_
        if arr.dtype != dtypes.bool_:
            arr = lax.ne(arr, constant(0, arr.dtype))
        computation_dtype = _promote_integer_dtype(result_dtype)
    else:
        result_dtype = computation_dtype = user_dtype(dtype, name)
    arr = convert(arr, computation_dtype)
    return convert(lax_fn(arr, ax, False), result_dtype)


@library_jit(static_argnames=("axis", "dtype"))
def cumsum(
    a: ArrayLike, axis: int | None = None, dtype: DTypeLike | None = None, out: None = None
) -> Array:
    """Running sums along ``axis`` (of the flattened array if None)."""
    _no_out("cumsum", out)
    return _cumulative("cumsum", lax.cumsum, a, axis, dtype)


@library_jit(static_argnames=("axis", "dtype"))
def cumprod(
    a: ArrayLike, axis: int | None = None, dtype: DTypeLike | None = None, out: None = None
) -> Array:
    """Running products along ``axis`` (of the flattened array if None)."""
    _no_out("cumprod", out)
    return _cumulative("cumprod", lax.cumprod, a, axis, dtype)


@library_jit(static_argnames=("axis", "dtype"))
def nancumsum(
    a: ArrayLike, axis: int | None = None, dtype: DTypeLike | None = None, out: None = None
) -> Array:
    """Running sums along ``axis`` treating NaNs as 0."""
    _no_out("nancumsum", out)
    return _cumulative("nancumsum", lax.cumsum, a, axis, dtype, fill_nan=0)


@library_jit(static_argnames=("axis", "dtype"))
def nancumprod(
    a: ArrayLike, axis: int | None = None, dtype: DTypeLike | None = None, out: None = None
) -> Array:
    """Running products along ``axis`` treating NaNs as 1."""
    _no_out("nancumprod", out)
    return _cumulative("nancumprod", lax.cumprod, a, axis, dtype, fill_nan=1)


def logsumexp(
    a: ArrayLike,
    axis: Axis = None,
    b: ArrayLike | None = None,
    keepdims: bool = False,
    return_sign: bool = False,
    where: ArrayLike | None = None,
) -> Array | tuple[Array, Array]:
    """``log(sum(b * exp(a)))`` over ``axis``, computed without overflow (``jax.nn.logsumexp``)."""
    if where is not None:
        a = where_(where, a, 0)
    if b is not None:
        arr, b_arr = promote_args_inexact("logsumexp", a, b)
        arr = where_(lax.ne(b_arr, constant(0, b_arr.dtype)), arr, -np.inf)
    else:
        (arr,) = promote_args_inexact("logsumexp", a)
        b_arr = arr
    dims = reduction_dims(arr.ndim, _ensure_optional_axes(axis))
    real_part = lax.real(arr) if arr.dtype.kind == "c" else arr
    amax = max(real_part, axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    amax = lax.stop_gradient(lax.select_n(lax.is_finite(amax), full_zero(amax), amax))
    amax_with_dims = amax if keepdims else lax.expand_dims(amax, dims)
    exp_a = lax.exp(lax.sub(arr, convert(amax_with_dims, arr.dtype)))
    if b is not None:
        exp_a = lax.mul(exp_a, b_arr)
    sumexp = sum(exp_a, axis=dims, keepdims=keepdims, where=where)
    sign = lax.sign(sumexp)
    if return_sign or arr.dtype.kind != "c":
        sumexp = lax.abs(sumexp)
    out = lax.add(lax.log(sumexp), convert(amax, sumexp.dtype))
    if return_sign:
        return out, sign
    if b is not None and out.dtype.kind != "c":
        out = where_(lax.lt(sign, constant(0, sign.dtype)), constant(np.nan, out.dtype), out)
    return out


def full_zero(x: Array) -> Array:
    """Zeros shaped like ``x``, keeping its dtype and weak type (``lax.full_like(x, 0)``)."""
    fill = constant(0, x.dtype, x.weak_type)
    return fill if not x.shape else lax.broadcast_in_dim(fill, x.shape, ())


def average(
    a: ArrayLike,
    axis: Axis = None,
    weights: ArrayLike | None = None,
    returned: bool = False,
    keepdims: bool = False,
) -> Array | tuple[Array, Array]:
    """The (weighted) mean over ``axis``; with ``returned``, also the sum of the weights."""
    axes = _ensure_optional_axes(axis)
    if weights is None:
        (arr,) = ensure_arraylike("average", a)
        (arr,) = promote_dtypes_inexact(arr)
        axis_tuple = tuple(range(arr.ndim)) if axes is None else (
            (axes,) if isinstance(axes, int) else axes)
        avg = mean(arr, axis=axes, keepdims=keepdims)
        count = math.prod(arr.shape[canonicalize_axis(d, arr.ndim)] for d in axis_tuple)
        weights_sum: Array = constant(count, avg.dtype)
    else:
        arr, w = ensure_arraylike("average", a, weights)
        arr, w = promote_dtypes_inexact(arr, w)
        if arr.shape != w.shape:
            if axes is None:
                raise ValueError("Axis must be specified when shapes of a and weights differ.")
            axis_tuple = tuple(canonicalize_axis(d, arr.ndim) for d in (
                (axes,) if isinstance(axes, int) else axes))
            if w.shape != tuple(arr.shape[d] for d in axis_tuple):
                raise ValueError(
                    "Shape of weights must be consistent with shape of a along specified axis."
                )
            new_shape = tuple(n if d in axis_tuple else 1 for d, n in enumerate(arr.shape))
            w = lax.reshape(w, new_shape, dimensions=tuple(int(i) for i in np.argsort(axis_tuple)))
        weights_sum = sum(w, axis=axes, keepdims=keepdims)
        avg = lax.div(sum(lax.mul(arr, broadcast_to(w, arr.shape)), axis=axes,
                          keepdims=keepdims), weights_sum)
    if returned:
        if avg.shape != weights_sum.shape:
            weights_sum = broadcast_to(weights_sum, avg.shape)
        return avg, weights_sum
    return avg


def cumulative_sum(
    x: ArrayLike,
    /,
    *,
    axis: int | None = None,
    dtype: DTypeLike | None = None,
    include_initial: bool = False,
) -> Array:
    """Running sums along ``axis`` (the array API's cumsum), optionally starting with 0."""
    return cumulative_along(
        "cumulative_sum", "sum", x, axis, include_initial, 0,
        lambda arr, ax: _cumsum_with_promotion(arr, axis=ax, dtype=dtype))


def cumulative_along(name: str, noun: str, x: ArrayLike, axis: int | None,
                     include_initial: bool, identity: int,
                     scan: Callable[[Array, int], Array]) -> Array:
    """The array API's ``cumulative_sum``/``cumulative_prod``: ``scan(arr, axis)`` along an
    axis only a 1-D input may leave out, optionally after a slice of ``identity``."""
    (arr,) = ensure_arraylike(name, x)
    if arr.ndim == 0:
        raise ValueError(
            f"The input must be non-scalar to take a cumulative {noun}, however a scalar value "
            "or scalar array was given."
        )
    if axis is None:
        axis = 0
        if arr.ndim > 1:
            raise ValueError(
                f"The input array has rank {arr.ndim}, however axis was not set to an explicit "
                "value. The axis argument is only optional for one-dimensional arrays."
            )
    axis = canonicalize_axis(axis, arr.ndim)
    out = scan(arr, axis)
    if include_initial:
        shape = tuple(1 if d == axis else n for d, n in enumerate(arr.shape))
        start = broadcast_to(constant(identity, out.dtype), shape)
        out = lax.concatenate([start, out], axis)
    return out


@library_jit(static_argnames=("axis", "dtype"))
def _cumsum_with_promotion(a: ArrayLike, axis: int | None = None,
                           dtype: DTypeLike | None = None, out: None = None) -> Array:
    """``cumsum`` with integers promoted as ``sum`` promotes them."""
    return _cumulative("_cumsum_with_promotion", lax.cumsum, a, axis, dtype,
                       promote_integers=True)


nanargmax = _nan_arg_extreme("nanargmax", -np.inf, argmax)
nanargmin = _nan_arg_extreme("nanargmin", np.inf, argmin)
