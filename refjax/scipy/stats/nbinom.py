"""The negative binomial distribution (``jax.scipy.stats.nbinom``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import gammaln, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The log probability of ``k - loc`` failures before the ``n``-th success (``-inf`` for
    ``k < loc``)."""
    k_, n_, p_, loc_ = promote_args_inexact("nbinom.logpmf", k, n, p, loc)
    one = const(k_, 1)
    y = lax.sub(k_, loc_)
    comb_term = lax.sub(lax.sub(gammaln(lax.add(y, n_)), gammaln(n_)), gammaln(lax.add(y, one)))
    log_linear_term = lax.add(xlogy(n_, p_), xlogy(y, lax.sub(one, p_)))
    log_probs = lax.add(comb_term, log_linear_term)
    return where(lax.lt(k_, loc_), -np.inf, log_probs)


def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The probability of ``k - loc`` failures before the ``n``-th success."""
    return lax.exp(logpmf(k, n, p, loc))
