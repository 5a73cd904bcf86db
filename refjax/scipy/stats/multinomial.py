"""The multinomial distribution (``jax.scipy.stats.multinomial``)."""

from __future__ import annotations

import numpy as np

from refjax import dtypes, lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact, promote_args_numeric
from refjax.scipy.special import gammaln, xlogy
from refjax.scipy.stats._util import where

__all__ = ["logpmf", "pmf"]


def logpmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """The log probability of the counts ``x`` (last axis) in ``n`` trials with category
    probabilities ``p``; ``-inf`` unless the counts sum to ``n``. ``x`` and ``n`` must be
    integers (ValueError else)."""
    (p_,) = promote_args_inexact("multinomial.logpmf", p)
    x_, n_ = promote_args_numeric("multinomial.logpmf", x, n)
    if not dtypes.issubdtype(x_.dtype, np.integer):
        raise ValueError(f"x and n must be of integer type; got x.dtype={x_.dtype}, "
                         f"n.dtype={n_.dtype}")
    x_ = x_.astype(p_.dtype)
    n_ = n_.astype(p_.dtype)
    logprobs = gammaln(n_ + 1) + jnp.sum(xlogy(x_, p_) - gammaln(x_ + 1), axis=-1)
    return where(jnp.equal(jnp.sum(x_), n_), logprobs, -np.inf)


def pmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """The probability of the counts ``x``."""
    return lax.exp(logpmf(x, n, p))
