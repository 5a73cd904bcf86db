"""The geometric distribution (``jax.scipy.stats.geom``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.special import xlog1py
from refjax.scipy.stats._util import const, where

__all__ = ["logpmf", "pmf"]


def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The log probability that the first success is trial ``k - loc`` (``-inf`` below 1)."""
    k_, p_, loc_ = promote_args_inexact("geom.logpmf", k, p, loc)
    zero = const(k_, 0)
    one = const(k_, 1)
    x = lax.sub(k_, loc_)
    log_probs = xlog1py(lax.sub(x, one), -p_) + lax.log(p_)
    return where(lax.le(x, zero), -np.inf, log_probs)


def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The probability that the first success is trial ``k - loc``."""
    return jnp.exp(logpmf(k, p, loc))
