"""The uniform distribution on ``[loc, loc + scale]`` (``jax.scipy.stats.uniform``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import where

__all__ = ["cdf", "logpdf", "pdf", "ppf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density: ``-log(scale)`` inside, ``-inf`` outside."""
    x_, loc_, scale_ = promote_args_inexact("uniform.logpdf", x, loc, scale)
    log_probs = lax.neg(lax.log(scale_))
    return where(jnp.logical_or(lax.gt(x_, lax.add(loc_, scale_)), lax.lt(x_, loc_)),
                 -np.inf, log_probs)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function."""
    x_, loc_, scale_ = promote_args_inexact("uniform.cdf", x, loc, scale)
    zero, one = jnp.array(0, x_.dtype), jnp.array(1, x_.dtype)
    conds = [lax.lt(x_, loc_), lax.gt(x_, lax.add(loc_, scale_)),
             lax.ge(x_, loc_) & lax.le(x_, lax.add(loc_, scale_))]
    vals = [zero, one, lax.div(lax.sub(x_, loc_), scale_)]
    return jnp.select(conds, vals)


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc + scale q`` (NaN outside ``[0, 1]``)."""
    q_, loc_, scale_ = promote_args_inexact("uniform.ppf", q, loc, scale)
    return where(jnp.isnan(q_) | (q_ < 0) | (q_ > 1), np.nan,
                 lax.add(loc_, lax.mul(scale_, q_)))
