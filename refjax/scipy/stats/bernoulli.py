"""The Bernoulli distribution (``jax.scipy.stats.bernoulli``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import xlog1py, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "logpmf", "pmf", "ppf"]


def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The log probability of ``k`` (``-inf`` off ``{loc, loc + 1}``) for success
    probability ``p``."""
    k_, p_, loc_ = promote_args_inexact("bernoulli.logpmf", k, p, loc)
    zero = const(k_, 0)
    one = const(k_, 1)
    x = lax.sub(k_, loc_)
    log_probs = xlogy(x, p_) + xlog1py(lax.sub(one, x), -p_)
    return where(jnp.logical_or(lax.lt(x, zero), lax.gt(x, one)), -np.inf, log_probs)


def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The probability of ``k``."""
    return jnp.exp(logpmf(k, p, loc))


def cdf(k: ArrayLike, p: ArrayLike) -> Array:
    """The distribution function (NaN for ``p`` outside ``[0, 1]``)."""
    k_, p_ = promote_args_inexact("bernoulli.cdf", k, p)
    zero, one = const(k_, 0), const(k_, 1)
    conds = [
        jnp.isnan(k_) | jnp.isnan(p_) | (p_ < zero) | (p_ > one),
        lax.lt(k_, zero),
        jnp.logical_and(lax.ge(k_, zero), lax.lt(k_, one)),
        lax.ge(k_, one),
    ]
    vals: list[ArrayLike] = [np.nan, zero, one - p_, one]
    return jnp.select(conds, vals)


def ppf(q: ArrayLike, p: ArrayLike) -> Array:
    """The quantile function: 0 up to ``1 - p``, else 1 (NaN outside the domain)."""
    q_, p_ = promote_args_inexact("bernoulli.ppf", q, p)
    zero, one = const(q_, 0), const(q_, 1)
    return where(
        jnp.isnan(q_) | jnp.isnan(p_) | (p_ < zero) | (p_ > one) | (q_ < zero) | (q_ > one),
        np.nan,
        where(lax.le(q_, one - p_), zero, one),
    )
