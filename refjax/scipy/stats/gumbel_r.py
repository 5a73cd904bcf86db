"""The right-skewed Gumbel distribution (``jax.scipy.stats.gumbel_r``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import ensure_arraylike, promote_args_inexact
from refjax.primitives.calls import library_jit
from refjax.primitives.custom_derivatives import custom_jvp
from refjax.scipy.special import xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


@library_jit(name="log1mexp")
def _log1mexp_body(x: ArrayLike) -> Array:
    """``log(1 - exp(-x))`` for ``x >= 0``: through ``expm1`` below ``log 2``, ``log1p`` above
    (Maechler's note); ``jax.nn.log1mexp``, which refjax.nn lacks."""
    (arr,) = ensure_arraylike("log1mexp", x)
    return where(arr < jnp.log(2.0), jnp.log(-jnp.expm1(-arr)), jnp.log1p(-jnp.exp(-arr)))


_log1mexp = custom_jvp(_log1mexp_body)
_log1mexp.defjvps(lambda g, ans, x: g / jnp.expm1(x))


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density ``-(z + exp(-z)) - log(scale)`` with ``z = (x - loc) / scale`` (NaN
    unless ``scale > 0``)."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_r.logpdf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    z = lax.div(lax.sub(x_, loc_), scale_)
    log_pdf = lax.add(xlogy(-1, scale_), lax.neg(lax.add(z, lax.exp(lax.neg(z)))))
    return where(ok, log_pdf, np.nan)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function, ``-exp(-z)``."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_r.logcdf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    z = lax.div(lax.sub(x_, loc_), scale_)
    return where(ok, lax.neg(lax.exp(lax.neg(z))), np.nan)


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function ``exp(-exp(-z))``."""
    return lax.exp(logcdf(x, loc, scale))


def ppf(p: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc - scale log(-log p)`` (NaN outside ``(0, 1)``)."""
    p_, loc_, scale_ = promote_args_inexact("gumbel_r.ppf", p, loc, scale)
    ok = lax.bitwise_and(lax.gt(p_, const(p_, 0)), lax.lt(p_, const(p_, 1)))
    quantile = lax.sub(loc_, lax.mul(scale_, lax.log(xlogy(-1, p_))))
    return where(ok, quantile, np.nan)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function ``1 - exp(-exp(-z))``."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_r.sf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    neg_z = lax.div(lax.sub(loc_, x_), scale_)
    survival = lax.sub(const(x_, 1), lax.exp(lax.neg(lax.exp(neg_z))))
    return where(ok, survival, np.nan)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function, ``log1mexp(exp(-z))``."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_r.logsf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    neg_z = lax.div(lax.sub(loc_, x_), scale_)
    log_sf: Array = _log1mexp(lax.exp(neg_z))
    return where(ok, log_sf, np.nan)
