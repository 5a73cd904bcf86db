"""The Pareto distribution (``jax.scipy.stats.pareto``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density ``log(b / scale) - (b + 1) log((x - loc) / scale)`` (``-inf`` below
    ``loc + scale``)."""
    x_, b_, loc_, scale_ = promote_args_inexact("pareto.logpdf", x, b, loc, scale)
    one = const(x_, 1)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    normalize_term = lax.log(lax.div(scale_, b_))
    log_probs = lax.neg(lax.add(normalize_term, lax.mul(lax.add(b_, one), lax.log(scaled_x))))
    return where(lax.lt(x_, lax.add(loc_, scale_)), -np.inf, log_probs)


def pdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, b, loc, scale))


def cdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function ``1 - ((x - loc) / scale)^-b`` (0 below ``loc + scale``)."""
    x_, b_, loc_, scale_ = promote_args_inexact("pareto.cdf", x, b, loc, scale)
    one = const(x_, 1)
    zero = const(x_, 0)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    value = lax.sub(one, lax.pow(scaled_x, lax.neg(b_)))
    return where(lax.lt(x_, lax.add(loc_, scale_)), zero, value)


def logcdf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function."""
    x_, b_, loc_, scale_ = promote_args_inexact("pareto.logcdf", x, b, loc, scale)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    value = lax.log1p(lax.neg(lax.pow(scaled_x, lax.neg(b_))))
    return where(lax.lt(x_, lax.add(loc_, scale_)), -np.inf, value)


def logsf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function, ``-b log((x - loc) / scale)``."""
    x_, b_, loc_, scale_ = promote_args_inexact("pareto.logsf", x, b, loc, scale)
    zero = const(x_, 0)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    value = lax.neg(lax.mul(b_, lax.log(scaled_x)))
    return where(lax.lt(x_, lax.add(loc_, scale_)), zero, value)


def sf(x: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function."""
    return lax.exp(logsf(x, b, loc, scale))


def ppf(q: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc + scale (1 - q)^(-1/b)`` (NaN outside ``[0, 1]``)."""
    q_, b_, loc_, scale_ = promote_args_inexact("pareto.ppf", q, b, loc, scale)
    one = const(q_, 1)
    value = lax.add(loc_, lax.mul(scale_, lax.pow(lax.sub(one, q_), lax.neg(lax.div(one, b_)))))
    return where(jnp.isnan(q_) | (q_ < 0) | (q_ > 1), np.nan, value)
