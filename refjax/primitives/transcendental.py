"""Transcendental and special-function primitives: exp/log, trigonometric, hyperbolic, erf, gamma.

Each accepts floating (and, where JAX does, complex) operands and keeps shape, dtype and weak type.
"""

from __future__ import annotations

from refjax.interp.core import Array, ArrayLike
from refjax.primitives.common import INEXACT, standard_primitive, unop_rule

__all__ = ["cos", "exp", "log", "sin"]

sin_p = standard_primitive("sin", unop_rule("sin", INEXACT))


def sin(x: ArrayLike) -> Array:
    """Elementwise sine."""
    return sin_p.bind(x)


cos_p = standard_primitive("cos", unop_rule("cos", INEXACT))


def cos(x: ArrayLike) -> Array:
    """Elementwise cosine."""
    return cos_p.bind(x)


exp_p = standard_primitive("exp", unop_rule("exp", INEXACT))


def exp(x: ArrayLike) -> Array:
    """Elementwise natural exponential."""
    return exp_p.bind(x)


log_p = standard_primitive("log", unop_rule("log", INEXACT))


def log(x: ArrayLike) -> Array:
    """Elementwise natural logarithm."""
    return log_p.bind(x)
