"""The chi-squared distribution (``jax.scipy.stats.chi2``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import gammainc, gammaincc
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density with ``df`` degrees of freedom (``-inf`` below ``loc``)."""
    x_, df_, loc_, scale_ = promote_args_inexact("chi2.logpdf", x, df, loc, scale)
    one = const(x_, 1)
    two = const(x_, 2)
    y = lax.div(lax.sub(x_, loc_), scale_)
    df_on_two = lax.div(df_, two)
    kernel = lax.sub(lax.mul(lax.sub(df_on_two, one), lax.log(y)), lax.div(y, two))
    nrml_cnst = lax.neg(lax.add(lax.lgamma(df_on_two), lax.div(lax.mul(lax.log(two), df_), two)))
    log_probs = lax.add(lax.sub(nrml_cnst, lax.log(scale_)), kernel)
    return where(lax.lt(x_, loc_), -np.inf, log_probs)


def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, df, loc, scale))


def _half_scaled(x: Array, loc: Array, scale: Array) -> Array:
    """``(x - loc) / (2 scale)`` clamped to ``[0, inf]``."""
    two = const(scale, 2)
    return lax.clamp(const(x, 0), lax.div(lax.sub(x, loc), lax.mul(scale, two)),
                     const(x, np.inf))


def cdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The distribution function ``P(df / 2, (x - loc) / (2 scale))``."""
    x_, df_, loc_, scale_ = promote_args_inexact("chi2.cdf", x, df, loc, scale)
    return gammainc(lax.div(df_, const(scale_, 2)), _half_scaled(x_, loc_, scale_))


def logcdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the distribution function."""
    return lax.log(cdf(x, df, loc, scale))


def sf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The survival function ``Q(df / 2, (x - loc) / (2 scale))``."""
    x_, df_, loc_, scale_ = promote_args_inexact("chi2.sf", x, df, loc, scale)
    return gammaincc(lax.div(df_, const(scale_, 2)), _half_scaled(x_, loc_, scale_))


def logsf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log of the survival function."""
    return lax.log(sf(x, df, loc, scale))
