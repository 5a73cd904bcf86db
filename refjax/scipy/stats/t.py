"""Student's t distribution (``jax.scipy.stats.t``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import const

__all__ = ["logpdf", "pdf"]


def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The log density with ``df`` degrees of freedom."""
    x_, df_, loc_, scale_ = promote_args_inexact("t.logpdf", x, df, loc, scale)
    two = const(x_, 2)
    scaled_x = lax.div(lax.sub(x_, loc_), scale_)
    df_over_two = lax.div(df_, two)
    df_plus_one_over_two = lax.add(df_over_two, const(x_, 0.5))
    normalize_term_const = lax.mul(lax.mul(scale_, scale_), const(x_, np.pi))
    normalize_term_tmp = lax.div(lax.log(lax.mul(normalize_term_const, df_)), two)
    normalize_term = lax.sub(lax.add(lax.lgamma(df_over_two), normalize_term_tmp),
                             lax.lgamma(df_plus_one_over_two))
    quadratic = lax.div(lax.mul(scaled_x, scaled_x), df_)
    return lax.neg(lax.add(normalize_term,
                           lax.mul(df_plus_one_over_two, lax.log1p(quadratic))))


def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, df, loc, scale))
