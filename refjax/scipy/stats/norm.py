"""The normal distribution (``jax.scipy.stats.norm``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy import special
from refjax.scipy.stats._util import const

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the normal density with mean ``loc`` and standard deviation ``scale``."""
    x_, loc_, scale_ = promote_args_inexact("norm.logpdf", x, loc, scale)
    scale_sqrd = lax.square(scale_)
    log_normalizer = lax.log(lax.mul(const(x_, 2 * np.pi), scale_sqrd))
    quadratic = lax.div(lax.square(lax.sub(x_, loc_)), scale_sqrd)
    return lax.div(lax.add(log_normalizer, quadratic), const(x_, -2))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The normal density."""
    return lax.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The normal distribution function."""
    x_, loc_, scale_ = promote_args_inexact("norm.cdf", x, loc, scale)
    return special.ndtr(lax.div(lax.sub(x_, loc_), scale_))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the normal distribution function, accurate in the lower tail."""
    x_, loc_, scale_ = promote_args_inexact("norm.logcdf", x, loc, scale)
    return special.log_ndtr(lax.div(lax.sub(x_, loc_), scale_))


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function, the inverse of ``cdf`` (in the default float dtype)."""
    return jnp.asarray(special.ndtri(q) * scale + loc, float)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function ``1 - cdf``."""
    x_, loc_, scale_ = promote_args_inexact("norm.logsf", x, loc, scale)
    return logcdf(-x_, -loc_, scale_)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function ``1 - cdf``."""
    x_, loc_, scale_ = promote_args_inexact("norm.sf", x, loc, scale)
    return cdf(-x_, -loc_, scale_)


def isf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function, ``ppf(1 - q)``."""
    return ppf(lax.sub(const(q, 1), q), loc, scale)
