"""Transcendental and special-function primitives: exp/log, trigonometric, hyperbolic, erf, gamma.

Each is elementwise: it keeps shape, dtype and weak type. Most accept floating and complex
operands, as in JAX; ``cbrt`` and the special functions (``erf``, ``erfc``, ``erf_inv``,
``lgamma``, ``digamma``, and the binary ``polygamma``) accept floating operands only.

JAX gives ``exp``, ``exp2``, ``log``, ``log1p``, ``expm1``, ``tanh``, ``logistic``, ``sin``,
``cos``, ``tan``, ``sqrt``, ``rsqrt`` and ``cbrt`` an ``accuracy`` param that selects an XLA
implementation; its printed jaxprs hide it while it is ``None``. refjax computes at full accuracy
only, so these primitives have no params (the printed jaxprs match) and the wrappers accept only
``accuracy=None``.

Each primitive's JVP and batching rules follow its wrapper. The JVP rules are JAX's
(``jax/_src/lax/lax.py`` and ``special.py``), written with the same operations so that
differentiated jaxprs match: those that read the output (``exp``, ``tanh``, ``sqrt`` ...) use it,
``sqrt``'s derivative is ``inf`` at 0, and ``digamma``'s derivative is ``polygamma(1, x)``, with
``polygamma`` a primitive here as in JAX (differentiable in ``x`` to any order, not in ``m``).
All are complex-differentiable where they accept complex operands (holomorphic rules, as JAX).
"""

from __future__ import annotations

import math

from refjax.interp.batching import defbroadcasting, defvectorized
from refjax.interp.core import Array, ArrayLike
from refjax.interp.jvp import defjvp, defjvp2
from refjax.primitives.common import (
    FLOATING,
    INEXACT,
    naryop_rule,
    standard_primitive,
    unop_rule,
)
from refjax.primitives.constants import full_like_scalar
from refjax.primitives.elementwise import (
    add,
    div,
    integer_pow,
    mul,
    neg,
    reciprocal,
    square,
    sub,
)

__all__ = [
    "acos",
    "acos_p",
    "acosh",
    "acosh_p",
    "asin",
    "asin_p",
    "asinh",
    "asinh_p",
    "atan",
    "atan2",
    "atan2_p",
    "atan_p",
    "atanh",
    "atanh_p",
    "cbrt",
    "cbrt_p",
    "cos",
    "cos_p",
    "cosh",
    "cosh_p",
    "digamma",
    "digamma_p",
    "erf",
    "erf_inv",
    "erf_inv_p",
    "erf_p",
    "erfc",
    "erfc_p",
    "exp",
    "exp2",
    "exp2_p",
    "exp_p",
    "expm1",
    "expm1_p",
    "lgamma",
    "lgamma_p",
    "log",
    "log1p",
    "log1p_p",
    "log_p",
    "logistic",
    "logistic_p",
    "polygamma",
    "polygamma_p",
    "rsqrt",
    "rsqrt_p",
    "sin",
    "sin_p",
    "sinh",
    "sinh_p",
    "sqrt",
    "sqrt_p",
    "tan",
    "tan_p",
    "tanh",
    "tanh_p",
]


def _const(x: ArrayLike, value: float) -> Array:
    """Rank-0 ``value`` with ``x``'s dtype and weak type; lax broadcasts it (JAX's ``_const``)."""
    return full_like_scalar(x, value)


def _one(x: ArrayLike) -> Array:
    """Rank-0 one with ``x``'s dtype and weak type (JAX's ``_one``)."""
    return _const(x, 1)


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


defjvp2(exp_p, lambda g, ans, x: mul(g, ans))
defvectorized(exp_p)


exp2_p = standard_primitive("exp2", unop_rule("exp2", INEXACT))


def exp2(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise base-2 exponential: ``2**x``."""
    _default_accuracy("exp2", accuracy)
    return exp2_p.bind(x)


defjvp2(exp2_p, lambda g, ans, x: mul(log(_const(x, 2)), mul(g, ans)))
defvectorized(exp2_p)


log_p = standard_primitive("log", unop_rule("log", INEXACT))


def log(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise natural logarithm."""
    _default_accuracy("log", accuracy)
    return log_p.bind(x)


defjvp(log_p, lambda g, x: div(g, x))
defvectorized(log_p)


log1p_p = standard_primitive("log1p", unop_rule("log1p", INEXACT))


def log1p(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise ``log(1 + x)``, accurate for small ``x``."""
    _default_accuracy("log1p", accuracy)
    return log1p_p.bind(x)


defjvp(log1p_p, lambda g, x: div(g, add(x, _one(x))))
defvectorized(log1p_p)


expm1_p = standard_primitive("expm1", unop_rule("expm1", INEXACT))


def expm1(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise ``e**x - 1``, accurate for small ``x``."""
    _default_accuracy("expm1", accuracy)
    return expm1_p.bind(x)


defjvp2(expm1_p, lambda g, ans, x: mul(g, add(ans, _one(ans))))
defvectorized(expm1_p)


# ---------------------------------------------------------------------------------------------
# Sigmoids

tanh_p = standard_primitive("tanh", unop_rule("tanh", INEXACT))


def tanh(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise hyperbolic tangent."""
    _default_accuracy("tanh", accuracy)
    return tanh_p.bind(x)


defjvp2(tanh_p, lambda g, ans, x: mul(add(g, mul(g, ans)), sub(_one(x), ans)))  # g (1 - ans^2)
defvectorized(tanh_p)


logistic_p = standard_primitive("logistic", unop_rule("logistic", INEXACT))


def logistic(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise logistic sigmoid: ``1 / (1 + e**-x)``."""
    _default_accuracy("logistic", accuracy)
    return logistic_p.bind(x)


defjvp2(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(_one(ans), ans))))
defvectorized(logistic_p)


# ---------------------------------------------------------------------------------------------
# Trigonometric functions

sin_p = standard_primitive("sin", unop_rule("sin", INEXACT))


def sin(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise sine."""
    _default_accuracy("sin", accuracy)
    return sin_p.bind(x)


defjvp(sin_p, lambda g, x: mul(g, cos(x)))
defvectorized(sin_p)


cos_p = standard_primitive("cos", unop_rule("cos", INEXACT))


def cos(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise cosine."""
    _default_accuracy("cos", accuracy)
    return cos_p.bind(x)


defjvp(cos_p, lambda g, x: neg(mul(g, sin(x))))
defvectorized(cos_p)


tan_p = standard_primitive("tan", unop_rule("tan", INEXACT))


def tan(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise tangent."""
    _default_accuracy("tan", accuracy)
    return tan_p.bind(x)


defjvp2(tan_p, lambda g, ans, x: mul(g, add(_const(x, 1), square(ans))))
defvectorized(tan_p)


asin_p = standard_primitive("asin", unop_rule("asin", INEXACT))


def asin(x: ArrayLike) -> Array:
    """Elementwise arc sine, in ``[-pi/2, pi/2]`` for real ``x`` in ``[-1, 1]``."""
    return asin_p.bind(x)


defjvp(asin_p, lambda g, x: mul(g, rsqrt(sub(_const(x, 1), square(x)))))
defvectorized(asin_p)


acos_p = standard_primitive("acos", unop_rule("acos", INEXACT))


def acos(x: ArrayLike) -> Array:
    """Elementwise arc cosine, in ``[0, pi]`` for real ``x`` in ``[-1, 1]``."""
    return acos_p.bind(x)


defjvp(acos_p, lambda g, x: mul(g, neg(rsqrt(sub(_const(x, 1), square(x))))))
defvectorized(acos_p)


atan_p = standard_primitive("atan", unop_rule("atan", INEXACT))


def atan(x: ArrayLike) -> Array:
    """Elementwise arc tangent, in ``(-pi/2, pi/2)`` for real ``x``."""
    return atan_p.bind(x)


defjvp(atan_p, lambda g, x: div(g, add(_const(x, 1), square(x))))
defvectorized(atan_p)


atan2_p = standard_primitive("atan2", naryop_rule("atan2", [INEXACT, INEXACT]))


def atan2(x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise arc tangent of ``x / y`` in ``[-pi, pi]``, by the signs of both operands."""
    return atan2_p.bind(x, y)


defjvp(
    atan2_p,
    lambda g, x, y: mul(g, div(y, add(square(x), square(y)))),
    lambda g, x, y: mul(g, div(neg(x), add(square(x), square(y)))),
)
defbroadcasting(atan2_p)


# ---------------------------------------------------------------------------------------------
# Hyperbolic functions

sinh_p = standard_primitive("sinh", unop_rule("sinh", INEXACT))


def sinh(x: ArrayLike) -> Array:
    """Elementwise hyperbolic sine."""
    return sinh_p.bind(x)


defjvp(sinh_p, lambda g, x: mul(g, cosh(x)))
defvectorized(sinh_p)


cosh_p = standard_primitive("cosh", unop_rule("cosh", INEXACT))


def cosh(x: ArrayLike) -> Array:
    """Elementwise hyperbolic cosine."""
    return cosh_p.bind(x)


defjvp(cosh_p, lambda g, x: mul(g, sinh(x)))
defvectorized(cosh_p)


asinh_p = standard_primitive("asinh", unop_rule("asinh", INEXACT))


def asinh(x: ArrayLike) -> Array:
    """Elementwise inverse hyperbolic sine."""
    return asinh_p.bind(x)


defjvp(asinh_p, lambda g, x: mul(g, rsqrt(add(square(x), _one(x)))))
defvectorized(asinh_p)


acosh_p = standard_primitive("acosh", unop_rule("acosh", INEXACT))


def acosh(x: ArrayLike) -> Array:
    """Elementwise inverse hyperbolic cosine (NaN below 1 for real ``x``)."""
    return acosh_p.bind(x)


# x**2 - 1 rather than (x + 1)(x - 1), as JAX: the domain is x >= 1.
defjvp(acosh_p, lambda g, x: mul(g, rsqrt(sub(square(x), _one(x)))))
defvectorized(acosh_p)


atanh_p = standard_primitive("atanh", unop_rule("atanh", INEXACT))


def atanh(x: ArrayLike) -> Array:
    """Elementwise inverse hyperbolic tangent (NaN outside ``[-1, 1]`` for real ``x``)."""
    return atanh_p.bind(x)


defjvp(atanh_p, lambda g, x: mul(reciprocal(add(_one(x), x)), div(g, sub(_one(x), x))))
defvectorized(atanh_p)


# ---------------------------------------------------------------------------------------------
# Roots

sqrt_p = standard_primitive("sqrt", unop_rule("sqrt", INEXACT))


def sqrt(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise square root."""
    _default_accuracy("sqrt", accuracy)
    return sqrt_p.bind(x)


defjvp2(sqrt_p, lambda g, ans, x: mul(g, div(_const(x, 0.5), ans)))  # inf at 0, as JAX
defvectorized(sqrt_p)


rsqrt_p = standard_primitive("rsqrt", unop_rule("rsqrt", INEXACT))


def rsqrt(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise reciprocal square root: ``1 / sqrt(x)``."""
    _default_accuracy("rsqrt", accuracy)
    return rsqrt_p.bind(x)


defjvp2(rsqrt_p, lambda g, ans, x: mul(g, mul(_const(x, -0.5), div(ans, x))))
defvectorized(rsqrt_p)


cbrt_p = standard_primitive("cbrt", unop_rule("cbrt", FLOATING))


def cbrt(x: ArrayLike, *, accuracy: None = None) -> Array:
    """Elementwise real cube root (negative for negative ``x``)."""
    _default_accuracy("cbrt", accuracy)
    return cbrt_p.bind(x)


defjvp2(cbrt_p, lambda g, ans, x: mul(g, mul(_const(x, 1 / 3), integer_pow(ans, -2))))
defvectorized(cbrt_p)


# ---------------------------------------------------------------------------------------------
# Special functions

erf_p = standard_primitive("erf", unop_rule("erf", FLOATING))


def erf(x: ArrayLike) -> Array:
    """Elementwise error function: ``2/sqrt(pi) * integral(exp(-t**2), t=0..x)``."""
    return erf_p.bind(x)


defjvp(erf_p, lambda g, x: mul(_const(x, 2 / math.sqrt(math.pi)), mul(g, exp(neg(square(x))))))
defvectorized(erf_p)


erfc_p = standard_primitive("erfc", unop_rule("erfc", FLOATING))


def erfc(x: ArrayLike) -> Array:
    """Elementwise complementary error function ``1 - erf(x)``, accurate for large ``x``."""
    return erfc_p.bind(x)


defjvp(erfc_p, lambda g, x: mul(_const(x, -2 / math.sqrt(math.pi)), mul(g, exp(neg(square(x))))))
defvectorized(erfc_p)


erf_inv_p = standard_primitive("erf_inv", unop_rule("erf_inv", FLOATING))


def erf_inv(x: ArrayLike) -> Array:
    """Elementwise inverse error function: ``±inf`` at ``±1``, NaN outside ``[-1, 1]``."""
    return erf_inv_p.bind(x)


defjvp2(
    erf_inv_p, lambda g, ans, x: mul(_const(x, math.sqrt(math.pi) / 2), mul(g, exp(square(ans))))
)
defvectorized(erf_inv_p)


lgamma_p = standard_primitive("lgamma", unop_rule("lgamma", FLOATING))


def lgamma(x: ArrayLike) -> Array:
    """Elementwise ``log(abs(gamma(x)))``: ``inf`` at the poles (non-positive integers)."""
    return lgamma_p.bind(x)


defjvp(lgamma_p, lambda g, x: mul(g, digamma(x)))
defvectorized(lgamma_p)


digamma_p = standard_primitive("digamma", unop_rule("digamma", FLOATING))


def digamma(x: ArrayLike) -> Array:
    """Elementwise digamma function ``d/dx lgamma(x)``: NaN at non-positive integers."""
    return digamma_p.bind(x)


defjvp(digamma_p, lambda g, x: mul(g, polygamma(_const(x, 1), x)))
defvectorized(digamma_p)


polygamma_p = standard_primitive("polygamma", naryop_rule("polygamma", [FLOATING, FLOATING]))


def polygamma(m: ArrayLike, x: ArrayLike) -> Array:
    """Elementwise polygamma ``psi^(m)(x)``, the m-th derivative of digamma (NaN unless m in N)."""
    return polygamma_p.bind(m, x)


def _polygamma_jvp_m(g: Array, m: ArrayLike, x: ArrayLike) -> Array:
    """Not differentiable in the order ``m`` (JAX's ValueError)."""
    raise ValueError("polygamma gradient with respect to m is not supported")


defjvp(polygamma_p, _polygamma_jvp_m, lambda g, m, x: mul(g, polygamma(add(m, _const(m, 1)), x)))
defbroadcasting(polygamma_p)
