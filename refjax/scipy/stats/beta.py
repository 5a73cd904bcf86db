"""The beta distribution (``jax.scipy.stats.beta``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import betainc, betaln, xlog1py, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
           scale: ArrayLike = 1) -> Array:
    """The log density (``-inf`` outside ``[loc, loc + scale]``, NaN unless ``a``, ``b`` and
    ``scale`` are positive)."""
    x_, a_, b_, loc_, scale_ = promote_args_inexact("beta.logpdf", x, a, b, loc, scale)
    one = const(x_, 1)
    zero = const(a_, 0)
    shape_term = lax.neg(betaln(a_, b_))
    y = lax.div(lax.sub(x_, loc_), scale_)
    log_linear_term = lax.add(xlogy(lax.sub(a_, one), y), xlog1py(lax.sub(b_, one), lax.neg(y)))
    log_probs = lax.sub(lax.add(shape_term, log_linear_term), lax.log(scale_))
    result = where(jnp.logical_or(lax.gt(x_, lax.add(loc_, scale_)), lax.lt(x_, loc_)),
                   -np.inf, log_probs)
    return where(jnp.logical_or(jnp.logical_or(lax.le(a_, zero), lax.le(b_, zero)),
                                lax.le(scale_, zero)), np.nan, result)


def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
        scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, a, b, loc, scale))


def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
        scale: ArrayLike = 1) -> Array:
    """The distribution function, ``betainc(a, b, (x - loc) / scale)`` (clamped to [0, 1])."""
    x_, a_, b_, loc_, scale_ = promote_args_inexact("beta.cdf", x, a, b, loc, scale)
    return betainc(a_, b_, lax.clamp(const(x_, 0), lax.div(lax.sub(x_, loc_), scale_),
                                     const(x_, 1)))


def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
           scale: ArrayLike = 1) -> Array:
    """The log of the distribution function."""
    return lax.log(cdf(x, a, b, loc, scale))


def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
       scale: ArrayLike = 1) -> Array:
    """The survival function, ``betainc(b, a, 1 - y)``."""
    x_, a_, b_, loc_, scale_ = promote_args_inexact("beta.sf", x, a, b, loc, scale)
    return betainc(b_, a_, 1 - lax.clamp(const(x_, 0), lax.div(lax.sub(x_, loc_), scale_),
                                         const(x_, 1)))


def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
          scale: ArrayLike = 1) -> Array:
    """The log of the survival function."""
    return lax.log(sf(x, a, b, loc, scale))
