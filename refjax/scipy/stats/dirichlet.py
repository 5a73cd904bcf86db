"""The Dirichlet distribution (``jax.scipy.stats.dirichlet``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_dtypes_inexact
from refjax.scipy.special import gammaln, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["logpdf", "pdf"]


def _is_simplex(x: Array) -> Array:
    """Along the first axis: every entry positive and the sum within 1e-6 of 1."""
    x_sum = jnp.sum(x, axis=0)
    return jnp.all(x > 0, axis=0) & (abs(x_sum - 1) < 1e-6)


def logpdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """The log density at ``x`` (the simplex coordinates on the first axis, all ``K`` or the
    first ``K - 1``) for the one-dimensional concentration ``alpha`` of length ``K``."""
    x_, alpha_ = promote_dtypes_inexact(x, alpha)
    if alpha_.ndim != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={alpha_.shape}")
    if x_.shape[0] not in (alpha_.shape[0], alpha_.shape[0] - 1):
        raise ValueError("`x` must have either the same number of entries as `alpha` or one "
                         f"entry fewer; got x.shape={x_.shape}, alpha.shape={alpha_.shape}")
    one = const(x_, 1)
    if x_.shape[0] != alpha_.shape[0]:
        x_ = jnp.concatenate([x_, lax.sub(one, x_.sum(0, keepdims=True))], axis=0)
    normalize_term = jnp.sum(gammaln(alpha_)) - gammaln(jnp.sum(alpha_))
    if x_.ndim > 1:
        alpha_ = lax.broadcast_in_dim(alpha_, alpha_.shape + (1,) * (x_.ndim - 1), (0,))
    log_probs = lax.sub(jnp.sum(xlogy(lax.sub(alpha_, one), x_), axis=0), normalize_term)
    return where(_is_simplex(x_), log_probs, -np.inf)


def pdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """The density at ``x``."""
    return lax.exp(logpdf(x, alpha))
