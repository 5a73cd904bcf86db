"""The rest of ``jax.numpy``'s array routines, built from the operations of ``creation``,
``manipulation`` and ``selection`` as JAX's are: rounding, closeness, equality and membership
tests, dtype and realness queries, ``nan_to_num`` and ``angle``, differences and the trapezoidal
rule, ``polyval``, and the Kronecker and cross products.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.interp.core import Array, ArrayLike, get_aval
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    check_arraylike,
    ensure_arraylike,
    promote_args,
    promote_args_inexact,
    promote_dtypes,
    promote_dtypes_inexact,
)
from refjax.numpy._util import (
    broadcast_shapes as _broadcast_shapes,
)
from refjax.numpy.creation import _concrete_scalar, array, asarray, full, zeros_like
from refjax.numpy.manipulation import (
    broadcast_to,
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
)
from refjax.numpy.reductions import all as _all
from refjax.numpy.reductions import any as _any
from refjax.numpy.reductions import sum as _sum
from refjax.numpy.selection import where
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant, convert
from refjax.util import canonicalize_axis

# ---------------------------------------------------------------------------------------------
# Rounding


@library_jit(static_argnames=("decimals",))
def round(a: ArrayLike, decimals: int = 0, out: None = None) -> Array:  # noqa: A001
    """Values rounded to ``decimals`` decimal places, ties to even."""
    (arr,) = ensure_arraylike("round", a)
    decimals = operator.index(decimals)
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.round is not supported.")
    dtype = arr.dtype
    if dtype == dtypes.bool_ or dtypes.is_integer(dtype):
        if decimals < 0:
            raise NotImplementedError("integer np.round not implemented for decimals < 0")
        return arr
    if decimals > np.log10(np.finfo(dtype).max):
        return arr
    if dtype.kind == "c":
        re, im = lax.real(arr), lax.imag(arr)
        return ufuncs.make_complex(_round_float(re, decimals), _round_float(im, decimals), dtype)
    return _round_float(arr, decimals)


def _round_float(x: Array, decimals: int) -> Array:
    if decimals == 0:
        return lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)
    dtype = x.dtype
    if dtype == dtypes.float16:
        x = lax.convert_element_type(x, dtypes.float32)
    factor = constant(10.0**decimals, x.dtype)
    out = lax.div(lax.round(lax.mul(x, factor), lax.RoundingMethod.TO_NEAREST_EVEN), factor)
    return lax.convert_element_type(out, dtype) if dtype == dtypes.float16 else out


@library_jit(static_argnames=("decimals",))
def around(a: ArrayLike, decimals: int = 0, out: None = None) -> Array:
    """``round`` (the same function under numpy's other name)."""
    return round(a, decimals, out)


# ---------------------------------------------------------------------------------------------
# Closeness, equality and membership


@library_jit(static_argnames=("equal_nan",))
def isclose(
    a: ArrayLike, b: ArrayLike, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08,
    equal_nan: bool = False,
) -> Array:
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (with infinities equal only to themselves)."""
    x, y = promote_args("isclose", a, b)
    x, y = promote_args_inexact("isclose", x, y)
    dtype = x.dtype
    if dtype.kind == "c":
        dtype = np.array(0, dtype).real.dtype
    rtol_, atol_ = convert(rtol, dtype), convert(atol, dtype)
    both_nan = ufuncs.logical_and(ufuncs.isnan(x), ufuncs.isnan(y))
    check_fin = ufuncs.isfinite(y)
    in_range = lax.le(lax.abs(lax.sub(x, y)), lax.add(atol_, lax.mul(rtol_, lax.abs(y))))
    out = ufuncs.logical_or(lax.eq(x, y), ufuncs.logical_and(check_fin, in_range))
    return ufuncs.logical_or(out, both_nan) if equal_nan else out


@library_jit(static_argnames=("equal_nan",))
def allclose(
    a: ArrayLike, b: ArrayLike, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08,
    equal_nan: bool = False,
) -> Array:
    """Whether every element of ``a`` is close to the matching one of ``b``."""
    check_arraylike("allclose", a, b)
    return _all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1: ArrayLike, a2: ArrayLike, equal_nan: bool = False) -> Array:
    """Whether the arrays have the same shape and elements."""
    x, y = as_array(a1), as_array(a2)
    if x.shape != y.shape:
        return constant(False, dtypes.bool_)
    eq = ufuncs.equal(x, y)
    if equal_nan:
        eq = ufuncs.logical_or(eq, ufuncs.logical_and(ufuncs.isnan(x), ufuncs.isnan(y)))
    return _all(eq)


def isin(
    element: ArrayLike,
    test_elements: ArrayLike,
    assume_unique: bool = False,
    invert: bool = False,
    *,
    method: str = "auto",
) -> Array:
    """Whether each element of ``element`` equals some element of ``test_elements``."""
    check_arraylike("isin", element, test_elements)
    found = _in1d(element, test_elements, invert=invert, method=method,
                  assume_unique=assume_unique)
    return reshape(found, np.shape(element))


@library_jit(static_argnames=("assume_unique", "invert", "method"))
def _in1d(ar1: ArrayLike, ar2: ArrayLike, invert: bool, method: str = "auto",
          assume_unique: bool = False) -> Array:
    """Membership of each element of ``ar1`` (flattened) in ``ar2``. Every method gives the
    same answer; all compare every pair."""
    if method not in ("auto", "compare_all", "binary_search", "sort"):
        raise ValueError(f"{method=} is not implemented; options are 'compare_all', "
                         "'binary_search', 'sort', and 'auto'")
    x, y = promote_dtypes(*ensure_arraylike("in1d", ar1, ar2))
    x, y = ravel(x), ravel(y)
    if x.size == 0 or y.size == 0:
        return full(x.shape, invert, dtype=dtypes.bool_)
    if invert:
        return _all(ufuncs.not_equal(x[:, None], y[None, :]), axis=-1)
    return _any(ufuncs.equal(x[:, None], y[None, :]), axis=-1)


# ---------------------------------------------------------------------------------------------
# dtype and realness queries


def iscomplexobj(x: Any) -> bool:
    """Whether ``x`` has a complex dtype."""
    if x is None:
        return False
    try:
        return bool(get_aval(x).dtype.kind == "c")
    except TypeError:
        return bool(np.iscomplexobj(x))


def isscalar(element: Any) -> bool:
    """Whether ``element`` is a scalar (a Python/numpy scalar or a 0-d array)."""
    if isinstance(element, (Array, np.ndarray, np.generic)):
        return bool(np.ndim(element) == 0)
    return type(element) in (bool, int, float, complex)


@library_jit()
def iscomplex(x: ArrayLike) -> Array:
    """Elementwise: a nonzero imaginary part."""
    im = ufuncs.imag(x)
    return lax.ne(im, constant(0, im.dtype))


@library_jit()
def isreal(x: ArrayLike) -> Array:
    """Elementwise: a zero imaginary part."""
    im = ufuncs.imag(x)
    return lax.eq(im, constant(0, im.dtype))


# ---------------------------------------------------------------------------------------------
# Elementwise repairs and phases


@library_jit()
def nan_to_num(
    x: ArrayLike,
    copy: bool = True,
    nan: ArrayLike = 0.0,
    posinf: ArrayLike | None = None,
    neginf: ArrayLike | None = None,
) -> Array:
    """NaN replaced by ``nan``, +-inf by ``posinf``/``neginf`` (the dtype's extremes)."""
    del copy
    (arr,) = ensure_arraylike("nan_to_num", x)
    dtype = arr.dtype
    if dtype.kind not in "fc":
        return arr
    if dtype.kind == "c":
        re, im = (nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf)
                  for p in (ufuncs.real(arr), ufuncs.imag(arr)))
        return ufuncs.make_complex(re, im, dtype)
    info = dtypes.finfo(dtype)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    out = where(ufuncs.isnan(arr), asarray(nan, dtype=dtype), arr)
    out = where(ufuncs.isposinf(out), asarray(high, dtype=dtype), out)
    result: Array = where(ufuncs.isneginf(out), asarray(low, dtype=dtype), out)
    return result


@library_jit(static_argnames=("deg",))
def angle(z: ArrayLike, deg: bool = False) -> Array:
    """The argument (phase) of ``z``, in radians (degrees with ``deg``)."""
    (arr,) = ensure_arraylike("angle", z)
    re, im = ufuncs.real(arr), ufuncs.imag(arr)
    if re.dtype.kind not in "fc" or (arr.dtype.kind == "f" and arr.ndim == 0):
        default = dtypes.default_float_dtype()
        re, im = lax.convert_element_type(re, default), lax.convert_element_type(im, default)
    result = lax.atan2(im, re)
    return ufuncs.degrees(result) if deg else result


# ---------------------------------------------------------------------------------------------
# Differences, integrals and polynomials


@library_jit(static_argnames=("n", "axis"))
def diff(
    a: ArrayLike,
    n: int = 1,
    axis: int = -1,
    prepend: ArrayLike | None = None,
    append: ArrayLike | None = None,
) -> Array:
    """The ``n``-th discrete difference along ``axis`` (``!=`` for booleans)."""
    (arr,) = ensure_arraylike("diff", a)
    n = operator.index(_concrete_scalar(n, "'n' argument of jnp.diff"))
    axis = operator.index(_concrete_scalar(axis, "'axis' argument of jnp.diff"))
    if n == 0:
        return arr
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if arr.ndim == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got {a}")
    axis = canonicalize_axis(axis, arr.ndim)
    edge = tuple(1 if k == axis else d for k, d in enumerate(arr.shape))

    def piece(value: ArrayLike) -> Array:  # a scalar stands for a slice of the edge's shape
        (p,) = ensure_arraylike("diff", value)
        return p if p.ndim else broadcast_to(p, edge)

    combined = [arr]
    if prepend is not None:
        combined.insert(0, piece(prepend))
    if append is not None:
        combined.append(piece(append))
    if len(combined) > 1:
        arr = concatenate(combined, axis)
    later = tuple(slice(1, None) if k == axis else slice(None) for k in range(arr.ndim))
    earlier = tuple(slice(None, -1) if k == axis else slice(None) for k in range(arr.ndim))
    op = ufuncs.not_equal if arr.dtype == dtypes.bool_ else ufuncs.subtract
    for _ in range(n):
        arr = op(arr[later], arr[earlier])
    return arr


@library_jit(static_argnames=("axis",))
def trapezoid(
    y: ArrayLike, x: ArrayLike | None = None, dx: ArrayLike = 1.0, axis: int = -1
) -> Array:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule (samples at ``x`` or a
    spacing ``dx``)."""
    if x is None:
        (y_in,) = ensure_arraylike("trapezoid", y)
        (y_arr,) = promote_dtypes_inexact(y_in)
        step = asarray(dx)
        if step.ndim > 0:
            step = lax.expand_dims(step, tuple(range(y_arr.ndim - step.ndim)))
            step = moveaxis(step, axis, -1)
    else:
        y_in, x_in = ensure_arraylike("trapezoid", y, x)
        y_arr, x_arr = promote_dtypes_inexact(y_in, x_in)
        step = diff(x_arr) if x_arr.ndim == 1 else moveaxis(diff(x_arr, axis=axis), axis, -1)
    y_arr = moveaxis(y_arr, axis, -1)
    if step.ndim == 0 or step.shape[-1] == 1:
        width = step if step.ndim == 0 else step[..., 0]
        ends = ufuncs.multiply(0.5, ufuncs.add(y_arr[..., 0], y_arr[..., -1]))
        return ufuncs.multiply(width, ufuncs.subtract(_sum(y_arr, axis=-1), ends))
    pairs = ufuncs.add(y_arr[..., 1:], y_arr[..., :-1])
    return ufuncs.multiply(0.5, _sum(ufuncs.multiply(step, pairs), axis=-1))


@library_jit(static_argnames=("unroll",))
def polyval(p: ArrayLike, x: ArrayLike, *, unroll: int = 16) -> Array:
    """The polynomial with coefficients ``p`` (highest degree first) at ``x`` (Horner's rule,
    a scan over the coefficients as in JAX)."""
    p_in, x_in = ensure_arraylike("polyval", p, x)
    coeffs, xs = promote_dtypes(p_in, x_in)
    shape = _broadcast_shapes(coeffs.shape[1:], xs.shape)
    start = lax.broadcast_in_dim(constant(0, xs.dtype), shape, ())

    def step(y: Array, c: Array) -> tuple[Array, None]:
        return ufuncs.add(ufuncs.multiply(y, xs), c), None

    result, _ = lax.scan(step, start, coeffs, unroll=unroll)
    out: Array = result
    return out


# ---------------------------------------------------------------------------------------------
# Products


@library_jit()
def kron(a: ArrayLike, b: ArrayLike) -> Array:
    """The Kronecker product of ``a`` and ``b``."""
    check_arraylike("kron", a, b)
    x, y = promote_dtypes(a, b)
    if x.ndim < y.ndim:
        x = expand_dims(x, range(y.ndim - x.ndim))
    elif y.ndim < x.ndim:
        y = expand_dims(y, range(x.ndim - y.ndim))
    x_spread = expand_dims(x, range(1, 2 * x.ndim, 2))
    y_spread = expand_dims(y, range(0, 2 * y.ndim, 2))
    out_shape = tuple(int(s) for s in np.multiply(x.shape, y.shape))
    return reshape(lax.mul(x_spread, y_spread), out_shape)


@library_jit(static_argnames=("axisa", "axisb", "axisc", "axis"))
def cross(
    a: ArrayLike,
    b: ArrayLike,
    axisa: int = -1,
    axisb: int = -1,
    axisc: int = -1,
    axis: int | None = None,
) -> Array:
    """The cross product of 2- or 3-vectors along the given axes."""
    check_arraylike("cross", a, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if x.shape[-1] not in (2, 3) or y.shape[-1] not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")
    if x.shape[-1] == 2 and y.shape[-1] == 2:
        return ufuncs.subtract(ufuncs.multiply(x[..., 0], y[..., 1]),
                               ufuncs.multiply(x[..., 1], y[..., 0]))
    x0, x1, y0, y1 = x[..., 0], x[..., 1], y[..., 0], y[..., 1]
    x2 = x[..., 2] if x.shape[-1] == 3 else zeros_like(x0)
    y2 = y[..., 2] if y.shape[-1] == 3 else zeros_like(y0)

    def minor(p: Array, q: Array, r: Array, s: Array) -> Array:
        return ufuncs.subtract(ufuncs.multiply(p, q), ufuncs.multiply(r, s))

    c = array([minor(x1, y2, x2, y1), minor(x2, y0, x0, y2), minor(x0, y1, x1, y0)])
    return moveaxis(c, 0, axisc)
