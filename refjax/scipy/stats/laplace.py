"""The Laplace distribution (``jax.scipy.stats.laplace``)."""

from __future__ import annotations

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import const

__all__ = ["cdf", "logpdf", "pdf"]


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density ``-|x - loc| / scale - log(2 scale)``."""
    x_, loc_, scale_ = promote_args_inexact("laplace.logpdf", x, loc, scale)
    two = const(x_, 2)
    linear_term = lax.div(lax.abs(lax.sub(x_, loc_)), scale_)
    return lax.neg(lax.add(linear_term, lax.log(lax.mul(two, scale_))))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function."""
    x_, loc_, scale_ = promote_args_inexact("laplace.cdf", x, loc, scale)
    half = const(x_, 0.5)
    one = const(x_, 1)
    zero = const(x_, 0)
    diff = lax.div(lax.sub(x_, loc_), scale_)
    return lax.select(lax.le(diff, zero), lax.mul(half, lax.exp(diff)),
                      lax.sub(one, lax.mul(half, lax.exp(lax.neg(diff)))))
