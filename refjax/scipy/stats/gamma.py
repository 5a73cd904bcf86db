"""The gamma distribution (``jax.scipy.stats.gamma``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import gammainc, gammaincc, gammaln, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density for shape ``a`` (``-inf`` below ``loc``)."""
    x_, a_, loc_, scale_ = promote_args_inexact("gamma.logpdf", x, a, loc, scale)
    ok = lax.ge(x_, loc_)
    one = const(x_, 1)
    y = where(ok, lax.div(lax.sub(x_, loc_), scale_), one)
    log_linear_term = lax.sub(xlogy(lax.sub(a_, one), y), y)
    shape_terms = lax.add(gammaln(a_), lax.log(scale_))
    log_probs = lax.sub(log_linear_term, shape_terms)
    return where(ok, log_probs, -np.inf)


def pdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, a, loc, scale))


def cdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function, ``gammainc(a, (x - loc) / scale)`` (clamped at 0)."""
    x_, a_, loc_, scale_ = promote_args_inexact("gamma.cdf", x, a, loc, scale)
    return gammainc(a_, lax.clamp(const(x_, 0), lax.div(lax.sub(x_, loc_), scale_),
                                  const(x_, np.inf)))


def logcdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function."""
    return lax.log(cdf(x, a, loc, scale))


def sf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function, ``gammaincc(a, (x - loc) / scale)`` (1 below ``loc``)."""
    x_, a_, loc_, scale_ = promote_args_inexact("gamma.sf", x, a, loc, scale)
    y = lax.div(lax.sub(x_, loc_), scale_)
    return where(lax.lt(y, const(y, 0)), 1, gammaincc(a_, y))


def logsf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function."""
    return lax.log(sf(x, a, loc, scale))
