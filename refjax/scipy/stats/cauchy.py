"""The Cauchy distribution (``jax.scipy.stats.cauchy``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import const

__all__ = ["cdf", "isf", "logcdf", "logpdf", "logsf", "pdf", "ppf", "sf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density ``-log(pi scale (1 + y**2))``, ``y = (x - loc) / scale``."""
    x_, loc_, scale_ = promote_args_inexact("cauchy.logpdf", x, loc, scale)
    pi = const(x_, np.pi)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    normalize_term = lax.log(lax.mul(pi, scale_))
    return lax.neg(lax.add(normalize_term, lax.log1p(lax.mul(scaled_x, scaled_x))))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function ``1/2 + arctan(y) / pi``."""
    x_, loc_, scale_ = promote_args_inexact("cauchy.cdf", x, loc, scale)
    pi = const(x_, np.pi)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    return lax.add(const(x_, 0.5), lax.mul(lax.div(const(x_, 1.0), pi), jnp.arctan(scaled_x)))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function."""
    return lax.log(cdf(x, loc, scale))


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function, ``cdf(-x, -loc, scale)``."""
    x_, loc_, scale_ = promote_args_inexact("cauchy.sf", x, loc, scale)
    return cdf(-x_, -loc_, scale_)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function."""
    x_, loc_, scale_ = promote_args_inexact("cauchy.logsf", x, loc, scale)
    return logcdf(-x_, -loc_, scale_)


def isf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The inverse survival function ``loc + scale tan(pi/2 - pi q)``."""
    q_, loc_, scale_ = promote_args_inexact("cauchy.isf", q, loc, scale)
    pi = const(q_, np.pi)
    half_pi = const(q_, np.pi / 2)
    unscaled = lax.tan(lax.sub(half_pi, lax.mul(pi, q_)))
    return lax.add(lax.mul(unscaled, scale_), loc_)


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The quantile function ``loc + scale tan(pi q - pi/2)``."""
    q_, loc_, scale_ = promote_args_inexact("cauchy.ppf", q, loc, scale)
    pi = const(q_, np.pi)
    half_pi = const(q_, np.pi / 2)
    unscaled = lax.tan(lax.sub(lax.mul(pi, q_), half_pi))
    return lax.add(lax.mul(unscaled, scale_), loc_)
