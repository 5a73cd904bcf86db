"""The beta-binomial distribution (``jax.scipy.stats.betabinom``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.primitives.calls import library_jit
from refjax.scipy.special import betaln
from refjax.scipy.stats._util import const, where

__all__ = ["logpmf", "pmf"]


@library_jit()
def logpmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The log probability of ``floor(k)`` for ``n`` trials with a Beta(``a``, ``b``) success
    probability (``-inf`` off the support, NaN for ``n < 0`` or non-positive ``a``, ``b``)."""
    k_, n_, a_, b_, loc_ = promote_args_inexact("betabinom.logpmf", k, n, a, b, loc)
    y = lax.sub(lax.floor(k_), loc_)
    one = const(y, 1)
    zero = const(y, 0)
    combiln = lax.neg(lax.add(lax.log1p(n_), betaln(lax.add(lax.sub(n_, y), one),
                                                     lax.add(y, one))))
    beta_lns = lax.sub(betaln(lax.add(y, a_), lax.add(lax.sub(n_, y), b_)), betaln(a_, b_))
    log_probs = lax.add(combiln, beta_lns)
    log_probs = where(jnp.logical_and(lax.eq(y, zero), lax.eq(n_, zero)), 0.0, log_probs)
    off_support = jnp.logical_or(jnp.logical_or(lax.lt(y, lax.neg(loc_)), lax.gt(y, n_)),
                                 lax.le(lax.add(y, a_), zero))
    log_probs = where(off_support, -np.inf, log_probs)
    bad_params = jnp.logical_or(jnp.logical_or(lax.lt(n_, zero), lax.le(a_, zero)),
                                lax.le(b_, zero))
    return where(bad_params, np.nan, log_probs)


def pmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The probability of ``floor(k)``."""
    return lax.exp(logpmf(k, n, a, b, loc))
