"""The exponential distribution (``jax.scipy.stats.expon``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density (``-inf`` below ``loc``)."""
    x_, loc_, scale_ = promote_args_inexact("expon.logpdf", x, loc, scale)
    log_scale = lax.log(scale_)
    linear_term = lax.div(lax.sub(x_, loc_), scale_)
    log_probs = lax.neg(lax.add(linear_term, log_scale))
    return where(lax.lt(x_, loc_), -np.inf, log_probs)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function ``1 - exp(-(x - loc) / scale)``."""
    x_, loc_, scale_ = promote_args_inexact("expon.cdf", x, loc, scale)
    neg_scaled_x = lax.div(lax.sub(loc_, x_), scale_)
    return where(lax.lt(x_, loc_), jnp.zeros_like(neg_scaled_x), lax.neg(lax.expm1(neg_scaled_x)))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function, ``log1p(-sf)``."""
    return lax.log1p(lax.neg(sf(x, loc, scale)))


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function, ``-(x - loc) / scale`` (0 below ``loc``)."""
    x_, loc_, scale_ = promote_args_inexact("expon.sf", x, loc, scale)  # (JAX's name)
    neg_scaled_x = lax.div(lax.sub(loc_, x_), scale_)
    return where(lax.lt(x_, loc_), jnp.zeros_like(neg_scaled_x), neg_scaled_x)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function."""
    return lax.exp(logsf(x, loc, scale))


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc - scale log1p(-q)`` (NaN outside ``[0, 1]``)."""
    q_, loc_, scale_ = promote_args_inexact("expon.ppf", q, loc, scale)
    return where(jnp.isnan(q_) | (q_ < 0) | (q_ > 1), np.nan,
                 lax.sub(loc_, lax.mul(scale_, lax.log1p(lax.neg(q_)))))
