"""Transcendental and special-function primitives: exp/log, trigonometric, hyperbolic, erf, gamma.

Each is elementwise: it keeps shape, dtype and weak type. Most accept floating and complex
operands, as in JAX; ``cbrt`` and the special functions (``erf``, ``erfc``, ``erf_inv``,
``lgamma``, ``digamma``) accept floating operands only.

JAX gives ``exp``, ``exp2``, ``log``, ``log1p``, ``expm1``, ``tanh``, ``logistic``, ``sin``,
``cos``, ``tan``, ``sqrt``, ``rsqrt`` and ``cbrt`` an ``accuracy`` param that selects an XLA
implementation; its printed jaxprs hide it while it is ``None``. refjax computes at full accuracy
only, so these primitives have no params (the printed jaxprs match) and the wrappers accept only
``accuracy=None``.
"""

from __future__ import annotations

from refjax.interp.core import Array, ArrayLike
from refjax.primitives.common import (
    FLOATING,
    INEXACT,
    naryop_rule,
    standard_primitive,
    unop_rule,
)

__all__ = [
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cbrt",
    "cos",
    "cosh",
    "digamma",
    "erf",
    "erf_inv",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "lgamma",
    "log",
    "log1p",
    "logistic",
    "rsqrt",
    "sin",
    "sinh",
    "sqrt",
    "tan",
    "tanh",
]


def _default_accuracy(name: str, accuracy: None) -> None:
    """lax's ``accuracy`` argument: refjax implements only the default, full accuracy."""
    if accuracy is not None:
        raise NotImplementedError(
            f"lax.{name}: refjax computes at full accuracy only; pass accuracy=None."
        )


# ---------------------------------------------------------------------------------------------
# Exponentials and logarithms

exp_p = standard_primitive("exp", unop_rule("exp", INEXACT))


def exp(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise natural exponential: ``e**x``."""
    _default_accuracy("exp", accuracy)
    return exp_p.bind(x)


exp2_p = standard_primitive("exp2", unop_rule("exp2", INEXACT))


def exp2(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise base-2 exponential: ``2**x``."""
    _default_accuracy("exp2", accuracy)
    return exp2_p.bind(x)


log_p = standard_primitive("log", unop_rule("log", INEXACT))


def log(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise natural logarithm."""
    _default_accuracy("log", accuracy)
    return log_p.bind(x)


log1p_p = standard_primitive("log1p", unop_rule("log1p", INEXACT))


def log1p(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise ``log(1 + x)``, accurate for small ``x``."""
    _default_accuracy("log1p", accuracy)
    return log1p_p.bind(x)


expm1_p = standard_primitive("expm1", unop_rule("expm1", INEXACT))


def expm1(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise ``e**x - 1``, accurate for small ``x``."""
    _default_accuracy("expm1", accuracy)
    return expm1_p.bind(x)


# ---------------------------------------------------------------------------------------------
# Sigmoids

tanh_p = standard_primitive("tanh", unop_rule("tanh", INEXACT))


def tanh(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise hyperbolic tangent."""
    _default_accuracy("tanh", accuracy)
    return tanh_p.bind(x)


logistic_p = standard_primitive("logistic", unop_rule("logistic", INEXACT))


def logistic(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise logistic sigmoid: ``1 / (1 + e**-x)``."""
    _default_accuracy("logistic", accuracy)
    return logistic_p.bind(x)


# ---------------------------------------------------------------------------------------------
# Trigonometric functions

sin_p = standard_primitive("sin", unop_rule("sin", INEXACT))


def sin(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise sine."""
    _default_accuracy("sin", accuracy)
    return sin_p.bind(x)


cos_p = standard_primitive("cos", unop_rule("cos", INEXACT))


def cos(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise cosine."""
    _default_accuracy("cos", accuracy)
    return cos_p.bind(x)


tan_p = standard_primitive("tan", unop_rule("tan", INEXACT))


def tan(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise tangent."""
    _default_accuracy("tan", accuracy)
    return tan_p.bind(x)


asin_p = standard_primitive("asin", unop_rule("asin", INEXACT))


def asin(x: ArrayLike) -> Array:
    """Elementwise arc sine, in ``[-pi/2, pi/2]`` for real ``x`` in ``[-1, 1]``."""
    return asin_p.bind(x)


acos_p = standard_primitive("acos", unop_rule("acos", INEXACT))


def acos(x: ArrayLike) -> Array:
    """Elementwise arc cosine, in ``[0, pi]`` for real ``x`` in ``[-1, 1]``."""
    return acos_p.bind(x)


atan_p = standard_primitive("atan", unop_rule("atan", INEXACT))


def atan(x: ArrayLike) -> Array:
    """Elementwise arc tangent, in ``(-pi/2, pi/2)`` for real ``x``."""
    return atan_p.bind(x)


atan2_p = standard_primitive("atan2", naryop_rule("atan2", [INEXACT, INEXACT]))


def atan2(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise arc tangent of ``x / y`` in ``[-pi, pi]``, by the signs of both operands."""
    return atan2_p.bind(x, y)


# ---------------------------------------------------------------------------------------------
# Hyperbolic functions

sinh_p = standard_primitive("sinh", unop_rule("sinh", INEXACT))


def sinh(x: ArrayLike) -> Array:
    """Elementwise hyperbolic sine."""
    return sinh_p.bind(x)


cosh_p = standard_primitive("cosh", unop_rule("cosh", INEXACT))


def cosh(x: ArrayLike) -> Array:
    """Elementwise hyperbolic cosine."""
    return cosh_p.bind(x)


asinh_p = standard_primitive("asinh", unop_rule("asinh", INEXACT))


def asinh(x: ArrayLike) -> Array:
    """Elementwise inverse hyperbolic sine."""
    return asinh_p.bind(x)


acosh_p = standard_primitive("acosh", unop_rule("acosh", INEXACT))


def acosh(x: ArrayLike) -> Array:
    """Elementwise inverse hyperbolic cosine (NaN below 1 for real ``x``)."""
    return acosh_p.bind(x)


atanh_p = standard_primitive("atanh", unop_rule("atanh", INEXACT))


def atanh(x: ArrayLike) -> Array:
    """Elementwise inverse hyperbolic tangent (NaN outside ``[-1, 1]`` for real ``x``)."""
    return atanh_p.bind(x)


# ---------------------------------------------------------------------------------------------
# Roots

sqrt_p = standard_primitive("sqrt", unop_rule("sqrt", INEXACT))


def sqrt(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise square root."""
    _default_accuracy("sqrt", accuracy)
    return sqrt_p.bind(x)


rsqrt_p = standard_primitive("rsqrt", unop_rule("rsqrt", INEXACT))


def rsqrt(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise reciprocal square root: ``1 / sqrt(x)``."""
    _default_accuracy("rsqrt", accuracy)
    return rsqrt_p.bind(x)


cbrt_p = standard_primitive("cbrt", unop_rule("cbrt", FLOATING))


def cbrt(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise real cube root (negative for negative ``x``)."""
    _default_accuracy("cbrt", accuracy)
    return cbrt_p.bind(x)


# ---------------------------------------------------------------------------------------------
# Special functions

erf_p = standard_primitive("erf", unop_rule("erf", FLOATING))


def erf(x: ArrayLike) -> Array:
    """Elementwise error function: ``2/sqrt(pi) * integral(exp(-t**2), t=0..x)``."""
    return erf_p.bind(x)


erfc_p = standard_primitive("erfc", unop_rule("erfc", FLOATING))


def erfc(x: ArrayLike) -> Array:
    """Elementwise complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return erfc_p.bind(x)


erf_inv_p = standard_primitive("erf_inv", unop_rule("erf_inv", FLOATING))


def erf_inv(x: ArrayLike) -> Array:
    """Elementwise inverse error function: ``±inf`` at ``±1``, NaN outside ``[-1, 1]``."""
    return erf_inv_p.bind(x)


lgamma_p = standard_primitive("lgamma", unop_rule("lgamma", FLOATING))


def lgamma(x: ArrayLike) -> Array:
    """Elementwise ``log(abs(gamma(x)))``: ``inf`` at the poles (non-positive integers)."""
    return lgamma_p.bind(x)


digamma_p = standard_primitive("digamma", unop_rule("digamma", FLOATING))


def digamma(x: ArrayLike) -> Array:
    """Elementwise digamma function ``d/dx lgamma(x)``: NaN at non-positive integers."""
    return digamma_p.bind(x)
