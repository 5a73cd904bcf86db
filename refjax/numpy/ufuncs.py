"""Elementwise functions of ``jax.numpy``: arithmetic, comparisons, bitwise logic, math.

Each one promotes its operands as JAX does (``promote_args`` keeps the dtype, ``_inexact`` moves
integers to floats, ``_numeric`` moves booleans to int32) and then applies the lax operations that
JAX's own ``jnp`` applies, so that traced programs have the same equations as JAX's.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Final

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, get_aval, is_concrete
from refjax.numpy._util import (
    check_arraylike,
    ensure_arraylike,
    promote_args,
    promote_args_inexact,
    promote_args_numeric,
    promote_dtypes_inexact,
    promote_dtypes_numeric,
    promote_shapes,
    where_,
)
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant, convert
from refjax.primitives.custom_derivatives import custom_jvp

# ---------------------------------------------------------------------------------------------
# Constants shaped like an operand


def constant_like(x: ArrayLike, value: object) -> Array:
    """A strongly typed scalar ``value`` of ``x``'s dtype (JAX's ``_constant_like``)."""
    return constant(value, get_aval(x).dtype)


def const(x: ArrayLike, value: int | float) -> ArrayLike:
    """``value`` for use with ``x`` (``lax._const``): a weakly typed Python scalar when ``x`` is a
    weakly typed scalar whose dtype is that Python type's default, else a strong scalar."""
    aval = get_aval(x)
    if aval.weak_type and not aval.shape:
        scalar = _PYTHON_SCALAR_OF_KIND[aval.dtype.kind](value)
        if dtypes.dtype_and_weak_type(scalar)[0] == aval.dtype:
            return scalar
    return constant(value, aval.dtype)


_PYTHON_SCALAR_OF_KIND: Final[dict[str, Callable[[float], bool | int | float | complex]]] = {
    "b": bool, "i": int, "u": int, "f": float, "c": complex,
}


def zero(x: ArrayLike) -> Array:
    """A scalar 0 with ``x``'s dtype and weak type (``lax._zero``)."""
    aval = get_aval(x)
    return constant(0, aval.dtype, aval.weak_type)


def full_like_lax(x: ArrayLike, value: object, dtype: DType | None = None) -> Array:
    """An array shaped like ``x`` filled with ``value`` (``lax.full_like``; weak type kept)."""
    aval = get_aval(x)
    weak = dtype is None and aval.weak_type
    fill = constant(value, aval.dtype if dtype is None else dtype, weak)
    return fill if not aval.shape else lax.broadcast_in_dim(fill, aval.shape, ())


def _is_integral_or_bool(dtype: DType) -> bool:
    return dtype == dtypes.bool_ or dtypes.is_integer(dtype)


def _is_complex(dtype: DType) -> bool:
    return dtype.kind == "c"


def make_complex(re: Array, im: Array, dtype: DType) -> Array:
    """``re + im * 1j`` as ``dtype`` (``lax.complex``; weak if both parts are)."""
    weak = re.weak_type and im.weak_type
    i = constant(1j, dtype, weak)
    return lax.add(convert(re, dtype, weak), lax.mul(convert(im, dtype, weak), i))


# ---------------------------------------------------------------------------------------------
# Unary arithmetic


def negative(x: ArrayLike, /) -> Array:
    """Elementwise ``-x``."""
    return lax.neg(*promote_args("negative", x))


def positive(x: ArrayLike, /) -> Array:
    """Elementwise ``+x`` (the input, as an array)."""
    return promote_args("positive", x)[0]


def sign(x: ArrayLike, /) -> Array:
    """Elementwise sign: -1, 0 or 1."""
    return lax.sign(*promote_args("sign", x))


def absolute(x: ArrayLike, /) -> Array:
    """Elementwise absolute value (booleans and unsigned integers are returned as they are)."""
    (arr,) = ensure_arraylike("absolute", x)
    if arr.dtype == dtypes.bool_ or arr.dtype.kind == "u":
        return arr
    return lax.abs(arr)


abs = absolute  # noqa: A001  # numpy's name


def fabs(x: ArrayLike, /) -> Array:
    """Elementwise absolute value as a float."""
    (arr,) = ensure_arraylike("fabs", x)
    if _is_complex(arr.dtype):
        raise TypeError("ufunc 'fabs' does not support complex dtypes")
    return lax.abs(*promote_args_inexact("fabs", arr))


def floor(x: ArrayLike, /) -> Array:
    """Elementwise floor; integers are returned unchanged."""
    (arr,) = ensure_arraylike("floor", x)
    if _is_integral_or_bool(arr.dtype):
        return arr
    return lax.floor(*promote_args_inexact("floor", arr))


def ceil(x: ArrayLike, /) -> Array:
    """Elementwise ceiling; integers are returned unchanged."""
    (arr,) = ensure_arraylike("ceil", x)
    if _is_integral_or_bool(arr.dtype):
        return arr
    return lax.ceil(*promote_args_inexact("ceil", arr))


@library_jit()
def trunc(x: ArrayLike, /) -> Array:
    """Elementwise rounding toward zero; integers are returned unchanged."""
    (arr,) = ensure_arraylike("trunc", x)
    if _is_integral_or_bool(arr.dtype):
        return arr
    return where_(lax.lt(arr, const(arr, 0)), ceil(arr), floor(arr))




@library_jit()
def rint(x: ArrayLike, /) -> Array:
    """Elementwise rounding to the nearest integer, ties to even (as a float)."""
    (arr,) = ensure_arraylike("rint", x)
    if _is_integral_or_bool(arr.dtype):
        return lax.convert_element_type(arr, dtypes.default_float_dtype())
    if _is_complex(arr.dtype):
        return make_complex(rint(lax.real(arr)), rint(lax.imag(arr)), arr.dtype)
    return lax.round(arr, lax.RoundingMethod.TO_NEAREST_EVEN)


def square(x: ArrayLike, /) -> Array:
    """Elementwise ``x * x``."""
    (arr,) = ensure_arraylike("square", x)
    (arr,) = promote_dtypes_numeric(arr)
    return lax.square(arr)


def reciprocal(x: ArrayLike, /) -> Array:
    """Elementwise ``1 / x`` in floating point."""
    (arr,) = ensure_arraylike("reciprocal", x)
    (arr,) = promote_dtypes_inexact(arr)
    return lax.integer_pow(arr, -1)


def conjugate(x: ArrayLike, /) -> Array:
    """Elementwise complex conjugate (real inputs are returned unchanged)."""
    (arr,) = ensure_arraylike("conjugate", x)
    return lax.conj(arr) if _is_complex(arr.dtype) else arr


conj = conjugate


def real(val: ArrayLike, /) -> Array:
    """Elementwise real part."""
    (arr,) = ensure_arraylike("real", val)
    return lax.real(arr) if _is_complex(arr.dtype) else arr


def imag(val: ArrayLike, /) -> Array:
    """Elementwise imaginary part (zeros for real inputs)."""
    (arr,) = ensure_arraylike("imag", val)
    return lax.imag(arr) if _is_complex(arr.dtype) else full_like_lax(arr, 0)


# ---------------------------------------------------------------------------------------------
# Unary math: each promotes to a float dtype and applies the lax function of the same meaning.


def _inexact_unary(name: str, lax_fn: Callable[[ArrayLike], Array]) -> Callable[[ArrayLike], Array]:
    """A numpy ufunc that promotes its operand to floating point and applies ``lax_fn``."""

    def ufunc(x: ArrayLike, /) -> Array:
        return lax_fn(*promote_args_inexact(name, x))

    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = f"Elementwise ``{name}`` in floating point."
    return ufunc


exp = _inexact_unary("exp", lax.exp)
exp2 = _inexact_unary("exp2", lax.exp2)
expm1 = _inexact_unary("expm1", lax.expm1)
log = _inexact_unary("log", lax.log)
log1p = _inexact_unary("log1p", lax.log1p)
sqrt = _inexact_unary("sqrt", lax.sqrt)
cbrt = _inexact_unary("cbrt", lax.cbrt)
sin = _inexact_unary("sin", lax.sin)
cos = _inexact_unary("cos", lax.cos)
tan = _inexact_unary("tan", lax.tan)
arcsin = _inexact_unary("arcsin", lax.asin)
arccos = _inexact_unary("arccos", lax.acos)
arctan = _inexact_unary("arctan", lax.atan)
sinh = _inexact_unary("sinh", lax.sinh)
cosh = _inexact_unary("cosh", lax.cosh)
tanh = _inexact_unary("tanh", lax.tanh)
arcsinh = _inexact_unary("arcsinh", lax.asinh)
arccosh = library_jit(name="arccosh")(_inexact_unary("arccosh", lax.acosh))
arctanh = _inexact_unary("arctanh", lax.atanh)
asin, acos, atan = arcsin, arccos, arctan
asinh, acosh, atanh = arcsinh, arccosh, arctanh

_LOG10_E: Final = 0.4342944819032518


def log2(x: ArrayLike, /) -> Array:
    """Elementwise base-2 logarithm: ``log(x) / log(2)``."""
    (arr,) = promote_args_inexact("log2", x)
    return lax.div(lax.log(arr), lax.log(constant_like(arr, 2)))


def log10(x: ArrayLike, /) -> Array:
    """Elementwise base-10 logarithm: ``log(x) * log10(e)``."""
    (arr,) = promote_args_inexact("log10", x)
    return lax.mul(lax.log(arr), constant_like(arr, _LOG10_E))


def deg2rad(x: ArrayLike, /) -> Array:
    """Degrees to radians."""
    (arr,) = promote_args_inexact("deg2rad", x)
    return lax.mul(arr, const(arr, np.pi / 180))


def rad2deg(x: ArrayLike, /) -> Array:
    """Radians to degrees."""
    (arr,) = promote_args_inexact("rad2deg", x)
    return lax.mul(arr, const(arr, 180 / np.pi))


radians, degrees = deg2rad, rad2deg


# ---------------------------------------------------------------------------------------------
# Floating-point classification


def isfinite(x: ArrayLike, /) -> Array:
    """Elementwise: not infinite and not NaN."""
    (arr,) = ensure_arraylike("isfinite", x)
    if arr.dtype.kind == "f":
        return lax.is_finite(arr)
    if _is_complex(arr.dtype):
        return lax.bitwise_and(lax.is_finite(real(arr)), lax.is_finite(imag(arr)))
    return full_like_lax(arr, True, dtypes.bool_)


@library_jit()
def isinf(x: ArrayLike, /) -> Array:
    """Elementwise: positive or negative infinity."""
    (arr,) = ensure_arraylike("isinf", x)
    if arr.dtype.kind == "f":
        return lax.eq(lax.abs(arr), constant_like(arr, np.inf))
    if _is_complex(arr.dtype):
        re, im = lax.real(arr), lax.imag(arr)
        return lax.bitwise_or(lax.eq(lax.abs(re), constant_like(re, np.inf)),
                              lax.eq(lax.abs(im), constant_like(im, np.inf)))
    return full_like_lax(arr, False, dtypes.bool_)


def _isposneginf(name: str, infinity: float, x: ArrayLike) -> Array:
    (arr,) = ensure_arraylike(name, x)
    if arr.dtype.kind == "f":
        return lax.eq(arr, constant_like(arr, infinity))
    if _is_complex(arr.dtype):
        raise ValueError("isposinf/isneginf are not well defined for complex types")
    return full_like_lax(arr, False, dtypes.bool_)


def isposinf(x: ArrayLike, /) -> Array:
    """Elementwise: positive infinity."""
    return _isposneginf("isposinf", np.inf, x)


def isneginf(x: ArrayLike, /) -> Array:
    """Elementwise: negative infinity."""
    return _isposneginf("isneginf", -np.inf, x)


def isnan(x: ArrayLike, /) -> Array:
    """Elementwise: not a number (``x != x``)."""
    (arr,) = ensure_arraylike("isnan", x)
    return lax.ne(arr, arr)


_INT_OF_BITS: Final[dict[int, DType]] = {16: dtypes.int16, 32: dtypes.int32, 64: dtypes.int64}


@library_jit()
def signbit(x: ArrayLike, /) -> Array:
    """Elementwise: whether the sign bit is set (true for -0.0)."""
    (arr,) = promote_args("signbit", x)
    if dtypes.is_integer(arr.dtype):
        return lax.lt(arr, constant_like(arr, 0))
    if arr.dtype == dtypes.bool_:
        return full_like_lax(arr, False, dtypes.bool_)
    if arr.dtype.kind != "f":
        raise ValueError(f"jax.numpy.signbit is not well defined for {arr.dtype}")
    info = np.finfo(arr.dtype)
    as_int = lax.bitcast_convert_type(arr, _INT_OF_BITS[info.bits])
    shifted = right_shift(as_int, info.nexp + info.nmant)
    return lax.convert_element_type(shifted, dtypes.bool_)


# ---------------------------------------------------------------------------------------------
# Binary arithmetic


def add(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x + y`` (logical or for booleans)."""
    a, b = promote_args("add", x, y)
    return lax.bitwise_or(a, b) if a.dtype == dtypes.bool_ else lax.add(a, b)


def subtract(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x - y``."""
    return lax.sub(*promote_args("subtract", x, y))


def multiply(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x * y`` (logical and for booleans)."""
    a, b = promote_args("multiply", x, y)
    return lax.bitwise_and(a, b) if a.dtype == dtypes.bool_ else lax.mul(a, b)


def true_divide(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 / x2`` in floating point."""
    return lax.div(*promote_args_inexact("true_divide", x1, x2))


divide = true_divide


@library_jit()
def floor_divide(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 // x2``: the quotient rounded toward negative infinity."""
    a, b = promote_args_numeric("floor_divide", x1, x2)
    if a.dtype.kind == "u":
        return lax.div(a, b)
    if dtypes.is_integer(a.dtype):
        quotient = lax.div(a, b)
        select = logical_and(not_equal(lax.sign(a), lax.sign(b)),
                             not_equal(lax.rem(a, b), 0))
        return where_(select, subtract(quotient, 1), quotient)
    if _is_complex(a.dtype):
        raise TypeError("floor_divide does not support complex-valued inputs")
    return _float_divmod(a, b)[0]


def _float_divmod(x1: Array, x2: Array) -> tuple[Array, Array]:
    """Python's divmod on floats: a floored quotient and a remainder with the divisor's sign."""
    mod = lax.rem(x1, x2)
    x1_corrected = where_(equal(x2, 0), x1, lax.sub(x1, mod))
    div = lax.div(x1_corrected, x2)
    ind = lax.bitwise_and(not_equal(mod, 0), not_equal(lax.sign(x2), lax.sign(mod)))
    mod = lax.select_n(ind, mod, add(mod, x2))
    div = lax.select_n(ind, div, subtract(div, 1.0))
    return lax.round(div), mod


@library_jit()
def divmod(x1: ArrayLike, x2: ArrayLike, /) -> tuple[Array, Array]:  # noqa: A001  # numpy's name
    """``(x1 // x2, x1 % x2)`` elementwise."""
    a, b = promote_args_numeric("divmod", x1, x2)
    if dtypes.is_integer(a.dtype):
        return floor_divide(a, b), remainder(a, b)
    return _float_divmod(a, b)


@library_jit()
def remainder(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 % x2`` with the sign of the divisor (Python's ``%``)."""
    a, b = promote_args_numeric("remainder", x1, x2)
    zero_ = constant_like(a, 0)
    if dtypes.is_integer(b.dtype):
        b = where_(equal(b, 0), full_like_lax(b, 1), b)
    trunc_mod = lax.rem(a, b)
    trunc_mod_not_zero = lax.ne(trunc_mod, zero_)
    do_plus = lax.bitwise_and(
        lax.ne(lax.lt(trunc_mod, zero_), lax.lt(b, zero_)), trunc_mod_not_zero
    )
    return lax.select_n(do_plus, trunc_mod, lax.add(trunc_mod, b))


mod = remainder


@library_jit()
def fmod(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise C-style remainder: the sign of the dividend."""
    a, b = ensure_arraylike("fmod", x1, x2)
    if dtypes.is_integer(dtypes.result_type(a, b)):
        b = where_(equal(b, 0), full_like_lax(b, 1), b)
    return lax.rem(*promote_args_numeric("fmod", a, b))


def power(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 ** x2``; a concrete integer exponent uses ``integer_pow``."""
    check_arraylike("power", x1, x2)
    if is_concrete(x2):
        exponent = _static_int(x2)
        if exponent is not None:
            (base,) = promote_dtypes_numeric(x1)
            return lax.integer_pow(base, exponent)
    return _power(x1, x2)


pow = power  # noqa: A001  # numpy's name


def _static_int(x: ArrayLike) -> int | None:
    """``x`` as a Python int if it is an integer scalar known now, else None."""
    try:
        return operator.index(x)  # type: ignore[arg-type]  # anything with __index__
    except TypeError:
        return None


def _power(x1: ArrayLike, x2: ArrayLike) -> Array:
    """``x1 ** x2`` for a traced or non-integer exponent."""
    s1, s2 = promote_shapes("power", x1, x2)
    a, b = promote_args_numeric("power", s1, s2)
    if _is_integral_or_bool(a.dtype):
        return _pow_int_int(a, b)
    if a.dtype.kind in "fc" and dtypes.is_integer(s2.dtype) and s1.dtype.kind in "fc":
        return lax.pow(s1, s2)
    return lax.pow(a, b)


def _pow_int_int(x1: Array, x2: Array) -> Array:
    """Integer power by repeated squaring over the exponent's low 6 bits (as JAX)."""
    zero_, one = constant(0, x2.dtype), constant(1, x2.dtype)
    acc = where_(lax.bitwise_and(lax.eq(x1, zero_), lax.ne(x2, zero_)), zero_, one)
    for _ in range(6):
        acc = where_(lax.bitwise_and(x2, one), lax.mul(acc, x1), acc)
        x1 = lax.mul(x1, x1)
        x2 = lax.shift_right_logical(x2, one)
    return acc


def float_power(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 ** x2`` in floating point."""
    return lax.pow(*promote_args_inexact("float_power", x1, x2))


def maximum(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise maximum (NaN if either is NaN)."""
    return lax.max(*promote_args("maximum", x, y))


def minimum(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise minimum (NaN if either is NaN)."""
    return lax.min(*promote_args("minimum", x, y))


@library_jit()
def fmax(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise maximum that ignores NaNs."""
    return where_(bitwise_or(greater(x1, x2), isnan(x2)), x1, x2)


@library_jit()
def fmin(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise minimum that ignores NaNs."""
    return where_(bitwise_or(less(x1, x2), isnan(x2)), x1, x2)


def arctan2(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``atan(x1 / x2)`` in the correct quadrant."""
    return lax.atan2(*promote_args_inexact("arctan2", x1, x2))


atan2 = arctan2


@library_jit()
def hypot(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``sqrt(x1**2 + x2**2)`` without overflow."""
    a, b = promote_args_inexact("hypot", x1, x2)
    if _is_complex(a.dtype):
        raise ValueError(
            "jnp.hypot is not well defined for complex-valued inputs. "
            "Please convert to real values first, such as by using abs(x)"
        )
    a, b = lax.abs(a), lax.abs(b)
    idx_inf = lax.bitwise_or(isposinf(a), isposinf(b))
    a, b = maximum(a, b), minimum(a, b)
    a_is_zero = equal(a, 0)
    safe = where_(equal(a, 0), full_like_lax(a, 1), a)
    ratio = lax.square(lax.div(b, safe))
    x = where_(a_is_zero, a, multiply(a, lax.sqrt(add(1, ratio))))
    return where_(idx_inf, const(x, np.inf), x)


@library_jit()
def copysign(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise magnitude of ``x1`` with the sign of ``x2``."""
    a, b = promote_args_inexact("copysign", x1, x2)
    if _is_complex(a.dtype):
        raise TypeError("copysign does not support complex-valued inputs")
    return where_(signbit(b), lax.neg(lax.abs(a)), lax.abs(a))


def nextafter(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """The next representable float after ``x1`` toward ``x2``."""
    return lax.nextafter(*promote_args_inexact("nextafter", x1, x2))


def logaddexp(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``log(exp(x1) + exp(x2))``, computed stably.

    Its derivative is JAX's custom JVP, ``t1 * exp(x1 - out) + t2 * exp(x2 - out)`` (so
    ``softplus'(0) = 1/2``), not the derivative of the stable formula (0 at ``x1 == x2``)."""
    a, b = promote_args_inexact("logaddexp", x1, x2)
    out: Array = _logaddexp(a, b)
    return out


def _replace_inf(x: Array) -> Array:
    """``x`` with +inf (in the real part) replaced by 0, as JAX's derivative rules use it."""
    re = lax.real(x) if _is_complex(x.dtype) else x
    zeros = lax.broadcast_in_dim(constant_like(x, 0), x.shape, ())
    return lax.select(lax.eq(re, constant_like(re, np.inf)), zeros, x)


def _log_add_exp_jvp(
    primal: Callable[[Array, Array], Array], exp_: Callable[[ArrayLike], Array]
) -> Callable[[tuple[Array, ...], tuple[Array, ...]], tuple[Array, Array]]:
    def jvp(primals: tuple[Array, ...], tangents: tuple[Array, ...]) -> tuple[Array, Array]:
        (x1, x2), (t1, t2) = primals, tangents
        out = primal(x1, x2)
        d1 = lax.mul(t1, exp_(lax.sub(_replace_inf(x1), _replace_inf(out))))
        d2 = lax.mul(t2, exp_(lax.sub(_replace_inf(x2), _replace_inf(out))))
        return out, lax.add(d1, d2)

    return jvp


def _logaddexp_formula(a: Array, b: Array) -> Array:
    amax = lax.max(a, b)
    if _is_complex(a.dtype):
        delta = lax.sub(lax.add(a, b), lax.mul(amax, const(amax, 2)))
        out = lax.add(amax, lax.log1p(lax.exp(delta)))
        return make_complex(lax.real(out), _wrap_between(lax.imag(out), np.pi), out.dtype)
    delta = lax.sub(a, b)
    nan = lax.ne(delta, delta)
    naive = lax.add(a, b)
    stable = lax.add(amax, lax.log1p(lax.exp(lax.neg(lax.abs(delta)))))
    return lax.select_n(nan, stable, naive)


_logaddexp_formula.__name__ = _logaddexp_formula.__qualname__ = "logaddexp"  # JAX's name
_logaddexp = custom_jvp(_logaddexp_formula)
_logaddexp.defjvp(_log_add_exp_jvp(_logaddexp, lax.exp))


def logaddexp2(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``log2(2**x1 + 2**x2)``, computed stably (with JAX's custom JVP, as
    :func:`logaddexp`)."""
    a, b = promote_args_inexact("logaddexp2", x1, x2)
    out: Array = _logaddexp2(a, b)
    return out


def _logaddexp2_formula(a: Array, b: Array) -> Array:
    amax = lax.max(a, b)
    inv_ln2 = const(amax, float(1 / np.log(2)))
    if _is_complex(a.dtype):
        delta = lax.sub(lax.add(a, b), lax.mul(amax, const(amax, 2)))
        out = lax.add(amax, lax.mul(inv_ln2, lax.log1p(lax.exp2(delta))))
        wrapped = _wrap_between(lax.imag(out), float(np.pi / np.log(2)))
        return make_complex(lax.real(out), wrapped, out.dtype)
    delta = lax.sub(a, b)
    nan = lax.ne(delta, delta)
    naive = lax.add(a, b)
    tail = lax.mul(inv_ln2, lax.log1p(lax.exp2(lax.neg(lax.abs(delta)))))
    return lax.select_n(nan, lax.add(amax, tail), naive)


_logaddexp2_formula.__name__ = _logaddexp2_formula.__qualname__ = "logaddexp2"
_logaddexp2 = custom_jvp(_logaddexp2_formula)
_logaddexp2.defjvp(_log_add_exp_jvp(_logaddexp2, lax.exp2))


def _wrap_between(x: Array, bound: float) -> Array:
    """``x`` wrapped into ``[-bound, bound)`` (the phase of a complex logaddexp)."""
    a, two_a, zero_ = const(x, bound), const(x, 2 * bound), const(x, 0)
    rem = lax.rem(lax.add(x, a), two_a)
    rem = lax.select_n(lax.lt(rem, zero_), rem, lax.add(rem, two_a))
    return lax.sub(rem, a)


@library_jit()
def heaviside(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Heaviside step: 0 below zero, 1 above, ``x2`` at zero."""
    a, b = ensure_arraylike("heaviside", x1, x2)
    a, b = promote_dtypes_inexact(a, b)
    zero_ = const(a, 0)
    at_zero = where_(isnan(a), a, b)
    return where_(lax.lt(a, zero_), zero_,
                  where_(lax.gt(a, zero_), const(a, 1), at_zero))


# ---------------------------------------------------------------------------------------------
# Bitwise and logical


def bitwise_and(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise bitwise ``x & y``."""
    return lax.bitwise_and(*promote_args("bitwise_and", x, y))


def bitwise_or(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise bitwise ``x | y``."""
    return lax.bitwise_or(*promote_args("bitwise_or", x, y))


def bitwise_xor(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise bitwise ``x ^ y``."""
    return lax.bitwise_xor(*promote_args("bitwise_xor", x, y))


def invert(x: ArrayLike, /) -> Array:
    """Elementwise bitwise ``~x`` (logical not for booleans)."""
    return lax.bitwise_not(*promote_args("invert", x))


bitwise_not = bitwise_invert = invert


def left_shift(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 << x2``."""
    return lax.shift_left(*promote_args_numeric("left_shift", x1, x2))


def right_shift(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Elementwise ``x1 >> x2``: arithmetic for signed, logical for unsigned integers."""
    a, b = promote_args_numeric("right_shift", x1, x2)
    if a.dtype.kind == "u":
        return lax.shift_right_logical(a, b)
    return lax.shift_right_arithmetic(a, b)


bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


def _to_bool(x: Array) -> Array:
    return x if x.dtype == dtypes.bool_ else lax.ne(x, const(x, 0))


def logical_and(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise truth of ``x and y``."""
    return lax.bitwise_and(*map(_to_bool, promote_args("logical_and", x, y)))


def logical_or(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise truth of ``x or y``."""
    return lax.bitwise_or(*map(_to_bool, promote_args("logical_or", x, y)))


def logical_xor(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise truth of ``x != y`` as booleans."""
    return lax.bitwise_xor(*map(_to_bool, promote_args("logical_xor", x, y)))


def logical_not(x: ArrayLike, /) -> Array:
    """Elementwise truth of ``not x``."""
    return lax.bitwise_not(*map(_to_bool, promote_args("logical_not", x)))


# ---------------------------------------------------------------------------------------------
# Comparisons


def _compare(
    name: str, lax_op: Callable[[ArrayLike, ArrayLike], Array], x: ArrayLike, y: ArrayLike
) -> Array:
    """A comparison after promotion; complex numbers compare lexicographically, as numpy."""
    a, b = promote_args(name, x, y)
    if _is_complex(a.dtype):
        return lax.select_n(lax.eq(lax.real(a), lax.real(b)),
                            lax_op(lax.real(a), lax.real(b)), lax_op(lax.imag(a), lax.imag(b)))
    return lax_op(a, b)


def equal(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x == y``."""
    return lax.eq(*promote_args("equal", x, y))


def not_equal(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x != y``."""
    return lax.ne(*promote_args("not_equal", x, y))


def less(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x < y``."""
    return _compare("less", lax.lt, x, y)


def less_equal(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x <= y``."""
    return _compare("less_equal", lax.le, x, y)


def greater(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x > y``."""
    return _compare("greater", lax.gt, x, y)


def greater_equal(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x >= y``."""
    return _compare("greater_equal", lax.ge, x, y)


@library_jit()
def sinc(x: ArrayLike, /) -> Array:
    """``sin(pi x) / (pi x)``, 1 at 0; every derivative at 0 is the Maclaurin coefficient
    (JAX's custom JVP), not the 0/0 of the quotient rule."""
    (arr,) = promote_args_inexact("sinc", x)
    is_zero = lax.eq(arr, constant_like(arr, 0))
    pi_x = lax.mul(constant_like(arr, np.pi), arr)
    safe_pi_x = where_(is_zero, constant_like(arr, 1), pi_x)
    out: Array = where_(is_zero, _sinc_maclaurin(0, pi_x), lax.div(lax.sin(safe_pi_x), safe_pi_x))
    return out


def _sinc_maclaurin_impl(k: int, x: Array) -> Array:
    """The k-th derivative of ``sin(x)/x`` at 0, shaped like ``x``."""
    zero = lax.mul(x, constant_like(x, 0))
    if k % 2:
        return zero
    return lax.add(zero, constant_like(x, (-1) ** (k // 2) / (k + 1)))


_sinc_maclaurin = custom_jvp(_sinc_maclaurin_impl, nondiff_argnums=(0,))


def _sinc_maclaurin_jvp(
    k: int, primals: tuple[Array, ...], tangents: tuple[Array, ...]
) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    return _sinc_maclaurin(k, x), lax.mul(_sinc_maclaurin(k + 1, x), t)


_sinc_maclaurin.defjvp(_sinc_maclaurin_jvp)
