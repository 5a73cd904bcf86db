"""The binomial distribution (``jax.scipy.stats.binom``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import gammaln, xlog1py, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The log probability of ``k`` successes in ``n`` trials of probability ``p`` (``-inf``
    outside ``[loc, loc + n]``)."""
    k_, n_, p_, loc_ = promote_args_inexact("binom.logpmf", k, n, p, loc)
    y = lax.sub(k_, loc_)
    zero = const(y, 0)
    comb_term = lax.sub(gammaln(n_ + 1), lax.add(gammaln(y + 1), gammaln(n_ - y + 1)))
    log_linear_term = lax.add(xlogy(y, p_), xlog1py(lax.sub(n_, y), lax.neg(p_)))
    log_probs = lax.add(comb_term, log_linear_term)
    degenerate = jnp.logical_or(jnp.logical_and(lax.eq(y, zero), lax.eq(n_, zero)),
                                lax.eq(log_linear_term, zero))
    log_probs = where(degenerate, 0.0, log_probs)
    return where(lax.ge(k_, loc_) & lax.lt(k_, loc_ + n_ + 1), log_probs, -np.inf)


def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The probability of ``k`` successes."""
    return lax.exp(logpmf(k, n, p, loc))
