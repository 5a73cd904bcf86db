"""Numerical routines of ``jax.numpy``: finite differences (``gradient``, ``ediff1d``),
interpolation and phase unwrapping (``interp``, ``unwrap``), ``cumulative_prod``, the Bessel
function ``i0``, integer ``gcd``/``lcm``, the float-decomposition ufuncs (``frexp``, ``ldexp``,
``modf``, ``spacing``), bit counting and packing (``bitwise_count``, ``packbits``,
``unpackbits``), ``vander``, and the small predicates ``array_equiv``, ``isrealobj`` and
``iterable``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.interp.jvp import Zero, jvp_flat
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    ensure_arraylike,
    promote_args_inexact,
    promote_args_numeric,
    promote_dtypes,
    promote_dtypes_inexact,
)
from refjax.numpy.creation import arange, array, asarray, zeros_like
from refjax.numpy.manipulation import (
    broadcast_arrays,
    concatenate,
    expand_dims,
    pad,
    ravel,
    swapaxes,
)
from refjax.numpy.numeric import diff, iscomplexobj
from refjax.numpy.reductions import _cumulative, cumsum, cumulative_along
from refjax.numpy.reductions import all as _all
from refjax.numpy.reductions import any as _any
from refjax.numpy.selection import clip, searchsorted, where
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant
from refjax.primitives.custom_derivatives import custom_jvp
from refjax.util import canonicalize_axis

__all__ = [
    "array_equiv",
    "bitwise_count",
    "cumulative_prod",
    "ediff1d",
    "frexp",
    "gcd",
    "gradient",
    "i0",
    "interp",
    "isrealobj",
    "iterable",
    "lcm",
    "ldexp",
    "modf",
    "packbits",
    "spacing",
    "unpackbits",
    "unwrap",
    "vander",
]


# ---------------------------------------------------------------------------------------------
# Differences


@library_jit(static_argnames=("axis", "edge_order"))
def gradient(
    f: ArrayLike,
    *varargs: ArrayLike,
    axis: int | Sequence[int] | None = None,
    edge_order: int | None = None,
) -> Array | list[Array]:
    """The gradient of the sampled ``f`` along each axis in ``axis`` (all if None): central
    differences inside, one-sided at the edges; ``varargs`` give the spacing (one scalar, or
    one scalar or 1-D coordinate array per axis)."""
    if edge_order is not None:
        raise NotImplementedError("The 'edge_order' argument to jnp.gradient is not supported.")
    a, *spacing = promote_dtypes_inexact(f, *varargs)
    if axis is None:
        axes = tuple(range(a.ndim))
    else:
        listed = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(canonicalize_axis(i, a.ndim) for i in listed)
    if len(axes) == 0:
        return []
    if min(s for i, s in enumerate(a.shape) if i in axes) < 2:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                         "2 elements are required.")
    steps: Sequence[ArrayLike]
    if len(spacing) == 0:
        steps = [1.0] * len(axes)
    elif len(spacing) == 1:
        steps = spacing * len(axes)
    elif len(spacing) == len(axes):
        steps = spacing
    else:
        raise TypeError(f"Invalid number of spacing arguments {len(spacing)} for {axis=}")
    grads = [_gradient_along(a, h, ax) for ax, h in zip(axes, steps, strict=True)]
    return grads[0] if len(axes) == 1 else grads


def _gradient_along(a: Array, h: ArrayLike, axis: int) -> Array:
    """Second-order differences of ``a`` along ``axis`` at spacing ``h`` (a scalar, or the
    sample coordinates)."""

    def part(x: Array, start: int | None, stop: int | None) -> Array:
        return lax.slice_in_dim(x, start, stop, axis=axis)

    upper = ufuncs.subtract(part(a, 1, 2), part(a, 0, 1))
    lower = ufuncs.subtract(part(a, -1, None), part(a, -2, -1))
    if np.ndim(h) == 0:
        inner = ufuncs.true_divide(
            ufuncs.multiply(ufuncs.subtract(part(a, 2, None), part(a, None, -2)), 0.5), h)
        lower = ufuncs.true_divide(lower, h)
        upper = ufuncs.true_divide(upper, h)
    elif np.ndim(h) == 1:
        coords = asarray(h)
        if coords.shape[0] != a.shape[axis]:
            raise ValueError("Spacing arrays must have the same length as the dimension along "
                             "which the gradient is calculated.")
        coords = coords.reshape(tuple(coords.shape[0] if k == axis else 1
                                      for k in range(a.ndim)))
        upper = ufuncs.true_divide(upper, ufuncs.subtract(part(coords, 1, 2),
                                                          part(coords, 0, 1)))
        lower = ufuncs.true_divide(lower, ufuncs.subtract(part(coords, -1, None),
                                                          part(coords, -2, -1)))
        dx1 = ufuncs.subtract(part(coords, 1, -1), part(coords, 0, -2))
        dx2 = ufuncs.subtract(part(coords, 2, None), part(coords, 1, -1))
        total = ufuncs.add(dx1, dx2)
        w0 = ufuncs.true_divide(ufuncs.negative(dx2), ufuncs.multiply(dx1, total))
        w1 = ufuncs.true_divide(ufuncs.subtract(dx2, dx1), ufuncs.multiply(dx1, dx2))
        w2 = ufuncs.true_divide(dx1, ufuncs.multiply(dx2, total))
        inner = ufuncs.add(ufuncs.add(ufuncs.multiply(w0, part(a, 0, -2)),
                                      ufuncs.multiply(w1, part(a, 1, -1))),
                           ufuncs.multiply(w2, part(a, 2, None)))
    else:
        raise ValueError("Spacing arrays must be 1D arrays or scalars.")
    return concatenate((upper, inner, lower), axis=axis)


@library_jit()
def ediff1d(ary: ArrayLike, to_end: ArrayLike | None = None,
            to_begin: ArrayLike | None = None) -> Array:
    """The differences between consecutive elements of flattened ``ary``, with ``to_begin``
    and ``to_end`` (cast to its dtype) around them."""
    (arr,) = ensure_arraylike("ediff1d", ary)
    arr = ravel(arr)
    result = lax.sub(arr[1:], arr[:-1])
    if to_begin is not None:
        (begin,) = ensure_arraylike("ediff1d", to_begin)
        result = concatenate((ravel(begin.astype(arr.dtype)), result))
    if to_end is not None:
        (end,) = ensure_arraylike("ediff1d", to_end)
        result = concatenate((result, ravel(end.astype(arr.dtype))))
    return result


def cumulative_prod(
    x: ArrayLike, /, *, axis: int | None = None, dtype: DTypeLike | None = None,
    include_initial: bool = False,
) -> Array:
    """Running products along ``axis`` (the array API's ``cumprod``), optionally starting
    with 1."""
    return cumulative_along(
        "cumulative_prod", "product", x, axis, include_initial, 1,
        lambda arr, ax: _cumulative("cumulative_prod", lax.cumprod, arr, ax, dtype))


# ---------------------------------------------------------------------------------------------
# Interpolation and phases


def interp(
    x: ArrayLike,
    xp: ArrayLike,
    fp: ArrayLike,
    left: ArrayLike | str | None = None,
    right: ArrayLike | str | None = None,
    period: ArrayLike | None = None,
) -> Array:
    """The piecewise-linear interpolant through the points ``(xp, fp)`` (``xp`` increasing) at
    ``x``; outside them ``left``/``right`` (the end values by default, or ``'extrapolate'``),
    or, with ``period``, the periodic interpolant."""
    static = (isinstance(left, str) or left is None, isinstance(right, str) or right is None,
              period is None)
    return _interp_call(static)(x, xp, fp, left, right, period)


_INTERP_CALLS: dict[tuple[bool, bool, bool], Callable[..., Array]] = {}


def _interp_call(static: tuple[bool, bool, bool]) -> Callable[..., Array]:
    """JAX's ``jit(_interp, static_argnames=...)``: ``left``, ``right`` and ``period`` are
    static where they are strings or None."""
    call = _INTERP_CALLS.get(static)
    if call is None:
        names = tuple(n for n, s in zip(("left", "right", "period"), static, strict=True) if s)
        call = library_jit(static_argnames=names, name="_interp")(_interp)
        _INTERP_CALLS[static] = call
    return call


def _extrapolates(name: str, value: ArrayLike | str | None) -> bool:
    if isinstance(value, str):
        if value != "extrapolate":
            raise ValueError(f"the only valid string value of `{name}` is 'extrapolate', but "
                             f"got: {value!r}")
        return True
    return False


def _interp(x: ArrayLike, xp: ArrayLike, fp: ArrayLike, left: ArrayLike | str | None = None,
            right: ArrayLike | str | None = None, period: ArrayLike | None = None) -> Array:
    x_in, xp_in, fp_in = ensure_arraylike("interp", x, xp, fp)
    if xp_in.shape != fp_in.shape or xp_in.ndim != 1:
        raise ValueError("xp and fp must be one-dimensional arrays of equal size")
    xs, xps = promote_dtypes_inexact(x_in, xp_in)
    (fps,) = promote_dtypes_inexact(fp_in)
    extrapolate_left = _extrapolates("left", left)
    extrapolate_right = _extrapolates("right", right)
    if xs.dtype.kind == "c":
        raise ValueError("jnp.interp: complex x values not supported.")
    if period is not None:
        if np.ndim(period) != 0:
            raise ValueError(f"period must be a scalar; got {period}")
        span = ufuncs.abs(period)
        xs = ufuncs.remainder(xs, span)
        xps = ufuncs.remainder(xps, span)
        xps, fps = lax.sort_key_val(xps, fps)
        xps = concatenate([ufuncs.subtract(xps[-1:], span), xps, ufuncs.add(xps[:1], span)])
        fps = concatenate([fps[-1:], fps, fps[:1]])
    i = clip(searchsorted(xps, xs, side="right"), 1, xps.shape[0] - 1)
    before = ufuncs.subtract(i, 1)
    df = ufuncs.subtract(fps[i], fps[before])
    dx = ufuncs.subtract(xps[i], xps[before])
    delta = ufuncs.subtract(xs, xps[before])
    epsilon = np.spacing(np.finfo(xps.dtype).eps)
    tiny = ufuncs.less_equal(lax.abs(dx), epsilon)  # (no NaN gradients where dx vanishes)
    step = ufuncs.multiply(ufuncs.true_divide(delta, where(tiny, 1, dx)), df)
    f: Array = where(tiny, fps[before], ufuncs.add(fps[before], step))
    if not extrapolate_left:
        assert not isinstance(left, str)
        left_value: ArrayLike = fps[0] if left is None else left
        if period is None:
            f = where(ufuncs.less(xs, xps[0]), left_value, f)
    if not extrapolate_right:
        assert not isinstance(right, str)
        right_value: ArrayLike = fps[-1] if right is None else right
        if period is None:
            f = where(ufuncs.greater(xs, xps[-1]), right_value, f)
    return f


@library_jit(static_argnames=("axis",))
def unwrap(p: ArrayLike, discont: ArrayLike | None = None, axis: int = -1,
           period: ArrayLike = 2 * np.pi) -> Array:
    """``p`` with jumps between neighbours along ``axis`` larger than ``discont`` (half the
    ``period`` by default) removed by adding multiples of ``period``."""
    (arr,) = ensure_arraylike("unwrap", p)
    arr, span = promote_dtypes(arr, period)
    if arr.dtype.kind == "c":
        raise ValueError("jnp.unwrap does not support complex inputs.")
    if arr.shape[axis] == 0:
        return arr
    if dtypes.is_integer(arr.dtype):
        interval = ufuncs.floor_divide(span, 2)
    else:
        interval = ufuncs.true_divide(span, 2)
    threshold = ufuncs.true_divide(span, 2) if discont is None else discont
    dd = diff(arr, axis=axis)
    ddmod = ufuncs.subtract(ufuncs.remainder(ufuncs.add(dd, interval), span), interval)
    at_lower = ufuncs.bitwise_and(ufuncs.equal(ddmod, ufuncs.negative(interval)),
                                  ufuncs.greater(dd, 0))
    ddmod = where(at_lower, interval, ddmod)
    correction = where(ufuncs.less(ufuncs.abs(dd), threshold), 0, ufuncs.subtract(ddmod, dd))
    rest = ufuncs.add(lax.slice_in_dim(arr, 1, None, axis=axis), cumsum(correction, axis=axis))
    return concatenate((lax.slice_in_dim(arr, 0, 1, axis=axis), rest), axis=axis)


# ---------------------------------------------------------------------------------------------
# The Bessel function i0


@library_jit()
def i0(x: ArrayLike) -> Array:
    """The modified Bessel function of the first kind of order zero."""
    (arr,) = promote_args_inexact("i0", x)
    if arr.dtype.kind != "f":
        raise ValueError(f"Unsupported input type to jax.numpy.i0: {arr.dtype}")
    out: Array = _i0(arr)
    return out


def _i0_formula(x: Array) -> Array:
    magnitude = lax.abs(x)
    return lax.mul(lax.exp(magnitude), lax.bessel_i0e(magnitude))


_i0 = custom_jvp(_i0_formula)


def _i0_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    """The formula's own JVP, with the derivative at 0 (where ``abs`` has none) set to 0."""
    (primal,), (tangent,) = jvp_flat(lambda v: [_i0_formula(v)], list(primals), list(tangents))
    dense = zeros_like(primal) if isinstance(tangent, Zero) else tangent
    out: Array = where(ufuncs.equal(primals[0], 0), 0.0, dense)
    return primal, out


_i0.defjvp(_i0_jvp)


# ---------------------------------------------------------------------------------------------
# Greatest common divisor and least common multiple


def _gcd_continue(xs: tuple[Array, Array]) -> Array:
    return _any(ufuncs.not_equal(xs[1], 0))


def _gcd_step(xs: tuple[Array, Array]) -> tuple[Array, Array]:
    """One step of Euclid's algorithm, the larger value kept first."""
    x1, x2 = xs
    nonzero = ufuncs.not_equal(x2, 0)
    x1, x2 = (where(nonzero, x2, x1),
              where(nonzero, lax.rem(x1, x2), ufuncs.const(x2, 0)))
    swap = ufuncs.less(x1, x2)
    return where(swap, x2, x1), where(swap, x1, x2)


@library_jit()
def gcd(x1: ArrayLike, x2: ArrayLike) -> Array:
    """The elementwise greatest common divisor of integers ``x1`` and ``x2``."""
    a, b = promote_dtypes(*ensure_arraylike("gcd", x1, x2))
    if not dtypes.is_integer(a.dtype):
        raise ValueError("Arguments to jax.numpy.gcd must be integers.")
    a, b = broadcast_arrays(a, b)
    result, _ = lax.while_loop(_gcd_continue, _gcd_step, (ufuncs.abs(a), ufuncs.abs(b)))
    out: Array = result
    return out


@library_jit()
def lcm(x1: ArrayLike, x2: ArrayLike) -> Array:
    """The elementwise least common multiple of integers ``x1`` and ``x2``."""
    a, b = promote_dtypes(*ensure_arraylike("lcm", x1, x2))
    a, b = ufuncs.abs(a), ufuncs.abs(b)
    if not dtypes.is_integer(a.dtype):
        raise ValueError("Arguments to jax.numpy.lcm must be integers.")
    d = gcd(a, b)
    multiple = ufuncs.multiply(a, ufuncs.floor_divide(b, d))
    result: Array = where(ufuncs.equal(d, 0), ufuncs.const(d, 0), multiple)
    return result


# ---------------------------------------------------------------------------------------------
# Decomposing floats

_INT_FOR_BITS: dict[int, type[np.signedinteger[Any]]] = {
    16: np.int16, 32: np.int32, 64: np.int64,
}


@library_jit()
def frexp(x: ArrayLike, /) -> tuple[Array, Array]:
    """Mantissa in ``[0.5, 1)`` (by magnitude) and integer exponent with ``x = m * 2**e``."""
    (arr,) = ensure_arraylike("frexp", x)
    (arr,) = promote_dtypes_inexact(arr)
    if arr.dtype.kind == "c":
        raise TypeError("frexp does not support complex-valued inputs")
    out: tuple[Array, Array] = _frexp(arr)
    return out


def _normalize_float(x: Array) -> tuple[Array, Array]:
    """``x``'s bits as an integer, subnormals first scaled up into the normal range (and the
    exponent correction that undoes it)."""
    info = dtypes.finfo(x.dtype)
    int_type = _INT_FOR_BITS[info.bits]
    small = ufuncs.less(lax.abs(x), info.tiny)
    scaled = where(small, ufuncs.multiply(x, ufuncs.const(x, 1 << info.nmant)), x)
    correction = where(small, int_type(-info.nmant), int_type(0))
    return lax.bitcast_convert_type(scaled, int_type), correction


def _frexp_formula(x: Array) -> tuple[Array, Array]:
    info = dtypes.finfo(x.dtype)
    mask = (1 << info.nexp) - 1
    bias = 1 - info.minexp
    bits, exponent = _normalize_float(x)
    biased = ufuncs.bitwise_and(ufuncs.right_shift(bits, info.nmant), mask)
    exponent = ufuncs.add(exponent, ufuncs.add(ufuncs.subtract(biased, bias), 1))
    bits = ufuncs.bitwise_and(bits, ~(mask << info.nmant))
    bits = ufuncs.bitwise_or(bits, (bias - 1) << info.nmant)
    mantissa = lax.bitcast_convert_type(bits, x.dtype)
    special = ufuncs.logical_or(ufuncs.logical_or(ufuncs.isinf(x), ufuncs.isnan(x)),
                                ufuncs.equal(x, 0))
    exponent = where(special, zeros_like(exponent), exponent)
    return where(special, x, mantissa), lax.convert_element_type(exponent, np.int32)


_frexp = custom_jvp(_frexp_formula)


def _frexp_jvp(primals: tuple[Array], tangents: tuple[Array]
               ) -> tuple[tuple[Array, Array], tuple[Array, np.ndarray[Any, Any]]]:
    (x,), (t,) = primals, tangents
    m, e = frexp(x)
    m_dot = ufuncs.multiply(t, ufuncs.exp2(ufuncs.negative(e.astype(t.dtype))))
    return (m, e), (m_dot, np.zeros(e.shape, dtype=dtypes.float0))


_frexp.defjvp(_frexp_jvp)


@library_jit()
def ldexp(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """``x1 * 2**x2`` for integer ``x2``."""
    a, b = ensure_arraylike("ldexp", x1, x2)
    if a.dtype.kind == "c" or b.dtype.kind in "fc":
        raise ValueError(f"ldexp not supported for input types {(a.dtype, b.dtype)}")
    (a,) = promote_args_inexact("ldexp", a)
    b = lax.convert_element_type(b, a.dtype)
    m, e = frexp(a)  # (scaling the mantissa keeps small x1 with large x2 from overflowing)
    e = ufuncs.add(e.astype(b.dtype), b).astype(a.dtype)
    positive = ufuncs.greater(e, 0)
    m = where(positive, ufuncs.multiply(m, 2), m)
    e = where(ufuncs.greater(e, 0), ufuncs.subtract(e, 1), e)
    scaled = ufuncs.multiply(m, ufuncs.power(2, e.astype(m.dtype)))
    keep = ufuncs.logical_or(ufuncs.isinf(a), ufuncs.equal(a, 0))
    result: Array = where(keep, a, scaled)
    return result


@library_jit()
def modf(x: ArrayLike, /, out: None = None) -> tuple[Array, Array]:
    """The fractional and integral parts of ``x`` (both with ``x``'s sign)."""
    (arr,) = ensure_arraylike("modf", x)
    (arr,) = promote_dtypes_inexact(arr)
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.modf is not supported.")
    whole = where(lax.ge(arr, ufuncs.zero(arr)), ufuncs.floor(arr), ufuncs.ceil(arr))
    return ufuncs.subtract(arr, whole), whole


def spacing(x: ArrayLike, /) -> Array:
    """The distance from ``x`` to the next representable value away from zero."""
    (arr,) = promote_args_inexact("spacing", x)
    if arr.dtype.kind == "c":
        raise ValueError("jnp.spacing is not defined for complex inputs.")
    inf = ufuncs.const(arr, np.inf)
    if arr.dtype == np.float16:
        return ufuncs.subtract(lax.nextafter(arr, lax.broadcast_in_dim(
            as_array(inf), arr.shape, ())), arr)
    result = ufuncs.subtract(lax.nextafter(arr, ufuncs.copysign(inf, arr)), arr)
    smallest = dtypes.finfo(arr.dtype).smallest_subnormal
    out: Array = where(ufuncs.equal(result, 0), ufuncs.copysign(smallest, arr), result)
    return out


# ---------------------------------------------------------------------------------------------
# Bits


@library_jit()
def bitwise_count(x: ArrayLike, /) -> Array:
    """The number of 1 bits in ``|x|``, as uint8."""
    (arr,) = promote_args_numeric("bitwise_count", x)
    return lax.population_count(ufuncs.abs(arr)).astype(np.uint8)


def _check_bitorder(bitorder: str) -> None:
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")


@library_jit(static_argnames=("axis", "bitorder"))
def packbits(a: ArrayLike, axis: int | None = None, bitorder: str = "big") -> Array:
    """The nonzero-ness of ``a``'s elements along ``axis`` (flattened if None) packed eight to
    a uint8, the last group padded with zeros."""
    (arr,) = ensure_arraylike("packbits", a)
    if not (dtypes.is_integer(arr.dtype) or arr.dtype == dtypes.bool_):
        raise TypeError("Expected an input array of integer or boolean data type")
    _check_bitorder(bitorder)
    arr = lax.ne(arr, constant(0, arr.dtype)).astype(np.uint8)
    bits = arange(8, dtype=np.uint8)
    if bitorder == "big":
        bits = bits[::-1]
    if axis is None:
        arr, axis = ravel(arr), 0
    arr = swapaxes(arr, axis, -1)
    short = arr.shape[-1] % 8
    if short:
        config = [(0, 0, 0)] * (arr.ndim - 1) + [(0, 8 - short, 0)]
        arr = lax.pad(arr, np.uint8(0), config)
    arr = arr.reshape(arr.shape[:-1] + (arr.shape[-1] // 8, 8))
    bits = expand_dims(bits, tuple(range(arr.ndim - 1)))
    packed = ufuncs.left_shift(arr, bits).sum(-1).astype(np.uint8)
    return swapaxes(packed, axis, -1)


@library_jit(static_argnames=("axis", "count", "bitorder"))
def unpackbits(a: ArrayLike, axis: int | None = None, count: int | None = None,
               bitorder: str = "big") -> Array:
    """The bits of the uint8 array ``a`` along ``axis`` (flattened if None), eight per byte,
    as a uint8 array of 0s and 1s (cut or zero-padded to ``count``)."""
    (arr,) = ensure_arraylike("unpackbits", a)
    if arr.dtype != np.uint8:
        raise TypeError("Expected an input array of unsigned byte data type")
    _check_bitorder(bitorder)
    bits = ufuncs.left_shift(asarray(1), arange(8, dtype=np.uint8))
    if bitorder == "big":
        bits = bits[::-1]
    if axis is None:
        arr, axis = ravel(arr), 0
    arr = swapaxes(arr, axis, -1)
    masked = ufuncs.bitwise_and(arr[..., None], expand_dims(bits, tuple(range(arr.ndim))))
    unpacked = ufuncs.greater(masked, 0).astype(np.uint8)
    unpacked = unpacked.reshape(unpacked.shape[:-2] + (-1,))
    if count is not None:
        if count > unpacked.shape[-1]:
            widths = [(0, 0)] * (unpacked.ndim - 1) + [(0, count - unpacked.shape[-1])]
            unpacked = pad(unpacked, widths)
        else:
            unpacked = unpacked[..., :count]
    return swapaxes(unpacked, axis, -1)


# ---------------------------------------------------------------------------------------------
# Vandermonde matrices and predicates


@library_jit(static_argnames=("N", "increasing"))
def vander(x: ArrayLike, N: int | None = None, increasing: bool = False) -> Array:  # noqa: N803
    """The Vandermonde matrix of the 1-D ``x``: its columns are powers of ``x``, decreasing
    from ``N - 1`` (increasing from 0 with ``increasing``)."""
    (arr,) = ensure_arraylike("vander", x)
    if arr.ndim != 1:
        raise ValueError("x must be a one-dimensional array")
    n = arr.shape[0] if N is None else operator.index(N)
    if n < 0:
        raise ValueError("N must be nonnegative")
    powers = lax.iota(arr.dtype, n)
    if not increasing:
        powers = lax.sub(ufuncs.const(powers, n - 1), powers)
    return ufuncs.power(arr[..., None], expand_dims(powers, tuple(range(arr.ndim))))


def array_equiv(a1: ArrayLike, a2: ArrayLike) -> Array:
    """Whether ``a1`` and ``a2`` are equal after broadcasting (False if they do not
    broadcast)."""
    x, y = asarray(a1), asarray(a2)
    try:
        eq = ufuncs.equal(x, y)
    except ValueError:
        return array(False)
    return _all(eq)


def isrealobj(x: Any) -> bool:
    """Whether ``x`` has no complex dtype."""
    return not iscomplexobj(x)


def iterable(y: object) -> bool:
    """Whether ``y`` can be iterated over (numpy's ``iterable``)."""
    return bool(np.iterable(y))
