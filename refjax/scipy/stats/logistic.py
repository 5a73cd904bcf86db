"""The logistic distribution (``jax.scipy.stats.logistic``)."""

from __future__ import annotations

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import expit, logit
from refjax.scipy.stats._util import const

__all__ = ["cdf", "isf", "logpdf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density ``-2 logaddexp(y/2, -y/2) - log(scale)``, ``y = (x - loc) / scale``."""
    x_, loc_, scale_ = promote_args_inexact("logistic.logpdf", x, loc, scale)
    y = lax.div(lax.sub(x_, loc_), scale_)
    two = const(y, 2)
    half_y = lax.div(y, two)
    return lax.sub(lax.mul(lax.neg(two), jnp.logaddexp(half_y, lax.neg(half_y))),
                   lax.log(scale_))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def ppf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc + scale logit(x)``."""
    x_, loc_, scale_ = promote_args_inexact("logistic.ppf", x, loc, scale)
    return lax.add(lax.mul(logit(x_), scale_), loc_)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function ``expit(-(x - loc) / scale)``."""
    x_, loc_, scale_ = promote_args_inexact("logistic.sf", x, loc, scale)
    return expit(lax.neg(lax.div(lax.sub(x_, loc_), scale_)))


def isf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function ``loc - scale logit(x)``."""
    x_, loc_, scale_ = promote_args_inexact("logistic.isf", x, loc, scale)
    return lax.add(lax.mul(lax.neg(logit(x_)), scale_), loc_)


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function ``expit((x - loc) / scale)``."""
    x_, loc_, scale_ = promote_args_inexact("logistic.cdf", x, loc, scale)
    return expit(lax.div(lax.sub(x_, loc_), scale_))
