"""The left-skewed Gumbel distribution (``jax.scipy.stats.gumbel_l``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import xlog1py, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density ``z - exp(z) - log(scale)`` with ``z = (x - loc) / scale`` (NaN unless
    ``scale > 0``)."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_l.logpdf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    z = lax.div(lax.sub(x_, loc_), scale_)
    log_pdf = lax.add(xlogy(-1, scale_), lax.sub(z, lax.exp(z)))
    return where(ok, log_pdf, np.nan)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function ``1 - exp(-exp(z))``."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_l.logcdf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    z = lax.div(lax.sub(x_, loc_), scale_)
    log_cdf = lax.log(-lax.expm1(lax.neg(lax.exp(z))))
    return where(ok, log_cdf, np.nan)


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function."""
    return lax.exp(logcdf(x, loc, scale))


def ppf(p: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc + scale log(-log(1 - p))`` (NaN outside ``(0, 1)``)."""
    p_, loc_, scale_ = promote_args_inexact("gumbel_l.ppf", p, loc, scale)
    ok = lax.bitwise_and(lax.gt(p_, const(p_, 0)), lax.lt(p_, const(p_, 1)))
    quantile = lax.add(loc_, lax.mul(scale_, lax.log(xlog1py(-1, lax.neg(p_)))))
    return where(ok, quantile, np.nan)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function ``exp(-exp(z))``."""
    return jnp.exp(logsf(x, loc, scale))


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function, ``-exp(z)``."""
    x_, loc_, scale_ = promote_args_inexact("gumbel_l.logsf", x, loc, scale)
    ok = lax.gt(scale_, const(scale_, 0))
    z = lax.div(lax.sub(x_, loc_), scale_)
    return where(ok, lax.neg(lax.exp(z)), np.nan)
