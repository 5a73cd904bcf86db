"""The wrapped Cauchy distribution (``jax.scipy.stats.wrapcauchy``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.scipy.stats._util import const, where

__all__ = ["logpdf", "pdf"]


def logpdf(x: ArrayLike, c: ArrayLike) -> Array:
    """The log density on ``[0, 2 pi]`` (``-inf`` outside) for ``0 < c < 1`` (NaN else)."""
    x_, c_ = promote_args_inexact("wrapcauchy.logpdf", x, c)
    inside = lax.ge(x_, const(x_, 0)) & lax.le(x_, const(x_, np.pi * 2))
    log_density = (jnp.log(1 - c_ * c_) - jnp.log(2 * np.pi)
                   - jnp.log(1 + c_ * c_ - 2 * c_ * jnp.cos(x_)))
    valid = lax.gt(c_, const(c_, 0)) & lax.lt(c_, const(c_, 1))
    return where(valid, where(inside, log_density, -np.inf), np.nan)


def pdf(x: ArrayLike, c: ArrayLike) -> Array:
    """The density."""
    return lax.exp(logpdf(x, c))
