"""Special-function primitives that ``jax.scipy.special`` needs beyond ``transcendental``'s.

``igamma`` and ``igammac`` (the regularized lower and upper incomplete gamma functions),
``igamma_grad_a`` (the derivative of ``igamma`` in ``a``), ``regularized_incomplete_beta``
(``lax.betainc``), ``zeta`` (Hurwitz's zeta function) and ``bessel_i0e``/``bessel_i1e`` (the
exponentially scaled modified Bessel functions of orders 0 and 1), as JAX's
``jax/_src/lax/special.py`` defines them: elementwise, floating operands only, n-ary ones with
equal dtypes and lax broadcasting; each keeps its operands' dtype and weak type.

The JVP rules are JAX's, written with the same operations so that differentiated jaxprs match:
``igamma``'s derivative in ``a`` is ``igamma_grad_a`` (itself not differentiable, as in JAX),
``betainc`` is differentiable in ``x`` only (JAX's ValueError for ``a`` and ``b``), ``zeta`` has
no rule (``jax.scipy.special.zeta`` differentiates through a custom JVP instead), and the Bessel
functions' rules read their outputs.
"""

from __future__ import annotations

from refjax import dtypes
from refjax.interp.batching import defbroadcasting, defvectorized
from refjax.interp.core import Array, ArrayLike, get_aval
from refjax.interp.jvp import defjvp, defjvp2
from refjax.primitives.common import FLOATING, naryop_rule, standard_primitive, unop_rule
from refjax.primitives.constants import full_like_scalar
from refjax.primitives.elementwise import (
    abs,  # noqa: A004  # lax's name
    add,
    gt,
    mul,
    neg,
    reciprocal,
    select,
    sign,
    sub,
)
from refjax.primitives.shape import broadcast_in_dim
from refjax.primitives.transcendental import exp, lgamma, log, log1p

__all__ = [
    "bessel_i0e",
    "bessel_i0e_p",
    "bessel_i1e",
    "bessel_i1e_p",
    "betainc",
    "igamma",
    "igamma_grad_a",
    "igamma_grad_a_p",
    "igamma_p",
    "igammac",
    "igammac_p",
    "regularized_incomplete_beta_p",
    "zeta",
    "zeta_p",
]


def _const(x: ArrayLike, value: float) -> Array:
    """Rank-0 ``value`` with ``x``'s dtype and weak type; lax broadcasts it (JAX's ``_const``)."""
    return full_like_scalar(x, value)


def _full(x: ArrayLike, value: float) -> Array:
    """``value`` in ``x``'s shape, dtype and weak type (JAX's ``full_like``)."""
    scalar = _const(x, value)
    shape = get_aval(x).shape
    return scalar if not shape else broadcast_in_dim(scalar, shape, ())


# ---------------------------------------------------------------------------------------------
# Incomplete gamma functions

igamma_p = standard_primitive("igamma", naryop_rule("igamma", [FLOATING, FLOATING]))


def igamma(a: ArrayLike, x: ArrayLike) -> Array:
    """Elementwise regularized lower incomplete gamma function ``P(a, x)``."""
    return igamma_p.bind(a, x)


igammac_p = standard_primitive("igammac", naryop_rule("igammac", [FLOATING, FLOATING]))


def igammac(a: ArrayLike, x: ArrayLike) -> Array:
    """Elementwise regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    return igammac_p.bind(a, x)


igamma_grad_a_p = standard_primitive(
    "igamma_grad_a", naryop_rule("igamma_grad_a", [FLOATING, FLOATING])
)


def igamma_grad_a(a: ArrayLike, x: ArrayLike) -> Array:
    """Elementwise derivative of ``igamma(a, x)`` with respect to ``a``."""
    return igamma_grad_a_p.bind(a, x)


def _igamma_grad_x(g: Array, a: ArrayLike, x: ArrayLike) -> Array:
    """d/dx P(a, x) = exp(-x + (a - 1) log x - lgamma(a)) (JAX's ``igamma_gradx``)."""
    return mul(g, exp(sub(add(neg(x), mul(sub(a, _full(a, 1)), log(x))), lgamma(a))))


def _igamma_grad_a(g: Array, a: ArrayLike, x: ArrayLike) -> Array:
    return mul(g, igamma_grad_a(a, x))


defjvp(igamma_p, _igamma_grad_a, _igamma_grad_x)
defjvp(
    igammac_p,
    lambda g, a, x: neg(_igamma_grad_a(g, a, x)),
    lambda g, a, x: neg(_igamma_grad_x(g, a, x)),
)
for _prim in (igamma_p, igammac_p, igamma_grad_a_p):
    defbroadcasting(_prim)


# ---------------------------------------------------------------------------------------------
# Regularized incomplete beta function

regularized_incomplete_beta_p = standard_primitive(
    "regularized_incomplete_beta",
    naryop_rule("regularized_incomplete_beta", [FLOATING, FLOATING, FLOATING]),
)


def betainc(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """Elementwise regularized incomplete beta integral ``I_x(a, b)``."""
    return regularized_incomplete_beta_p.bind(a, b, x)


def _betainc_grad_ab(g: Array, a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """Not differentiable in ``a`` or ``b`` (JAX's ValueError)."""
    raise ValueError("Betainc gradient with respect to a and b not supported.")


def _betainc_grad_x(g: Array, a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """d/dx I_x(a, b) = x**(a-1) (1-x)**(b-1) / B(a, b) (JAX's ``betainc_gradx``)."""
    lbeta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    one = _const(a, 1)
    partial_x = exp(sub(add(mul(sub(b, one), log1p(neg(x))), mul(sub(a, one), log(x))), lbeta))
    return mul(partial_x, g)


defjvp(regularized_incomplete_beta_p, _betainc_grad_ab, _betainc_grad_ab, _betainc_grad_x)
defbroadcasting(regularized_incomplete_beta_p)


# ---------------------------------------------------------------------------------------------
# Hurwitz zeta function

zeta_p = standard_primitive("zeta", naryop_rule("zeta", [FLOATING, FLOATING]))


def zeta(x: ArrayLike, q: ArrayLike) -> Array:
    """Elementwise Hurwitz zeta function ``sum_k (q + k)**-x``."""
    return zeta_p.bind(x, q)


defbroadcasting(zeta_p)


# ---------------------------------------------------------------------------------------------
# Exponentially scaled modified Bessel functions

bessel_i0e_p = standard_primitive("bessel_i0e", unop_rule("bessel_i0e", FLOATING))


def bessel_i0e(x: ArrayLike) -> Array:
    """Elementwise ``exp(-|x|) I0(x)``, the scaled modified Bessel function of order 0."""
    return bessel_i0e_p.bind(x)


bessel_i1e_p = standard_primitive("bessel_i1e", unop_rule("bessel_i1e", FLOATING))


def bessel_i1e(x: ArrayLike) -> Array:
    """Elementwise ``exp(-|x|) I1(x)``, the scaled modified Bessel function of order 1."""
    return bessel_i1e_p.bind(x)


def _bessel_i1e_jvp(g: Array, y: Array, x: ArrayLike) -> Array:
    """i1e' = i0e - y (sign(x) + 1/x), and 1/2 at |x| <= eps (JAX's rule)."""
    eps = float(dtypes.finfo(y.dtype).eps)
    x_is_not_tiny = gt(abs(x), _const(x, eps))
    safe_x = select(x_is_not_tiny, x, _full(x, eps))
    dy_dx = sub(bessel_i0e(safe_x), mul(y, add(sign(safe_x), reciprocal(safe_x))))
    dy_dx = select(x_is_not_tiny, dy_dx, _full(x, 0.5))
    return mul(g, dy_dx)


defjvp2(bessel_i0e_p, lambda g, y, x: mul(g, sub(bessel_i1e(x), mul(sign(x), y))))
defjvp2(bessel_i1e_p, _bessel_i1e_jvp)
defvectorized(bessel_i0e_p)
defvectorized(bessel_i1e_p)
