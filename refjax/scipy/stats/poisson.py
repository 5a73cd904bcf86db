"""The Poisson distribution (``jax.scipy.stats.poisson``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import ensure_arraylike, promote_args_inexact, promote_dtypes_inexact
from refjax.primitives.calls import library_jit
from refjax.scipy.special import entr, gammaincc, gammaln, xlogy
from refjax.scipy.stats._util import const, where

__all__ = ["cdf", "entropy", "logpmf", "pmf"]


def logpmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The log probability of ``k`` for mean ``mu`` (``-inf`` off the integers from ``loc``)."""
    k_, mu_, loc_ = promote_args_inexact("poisson.logpmf", k, mu, loc)
    zero = const(k_, 0)
    x = lax.sub(k_, loc_)
    log_probs = xlogy(x, mu_) - gammaln(x + 1) - mu_
    return where(jnp.logical_or(lax.lt(x, zero), lax.ne(jnp.round(k_), k_)), -np.inf, log_probs)


def pmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The probability of ``k``."""
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The distribution function, ``gammaincc(floor(k - loc) + 1, mu)``."""
    k_, mu_, loc_ = promote_args_inexact("poisson.logpmf", k, mu, loc)  # (JAX's name)
    zero = const(k_, 0)
    x = lax.sub(k_, loc_)
    p = gammaincc(jnp.floor(1 + x), mu_)
    return where(lax.lt(x, zero), zero, p)


@library_jit()
def entropy(mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The entropy: summed over the probable ``k`` below ``mu = 100``, asymptotic above
    (``loc`` shifts nothing but the shape)."""
    mu_in, loc_in = ensure_arraylike("poisson.entropy", mu, loc)
    promoted_mu, promoted_loc = promote_dtypes_inexact(mu_in, loc_in)
    result_shape = jnp.broadcast_shapes(promoted_mu.shape, promoted_loc.shape)
    mu_flat = jnp.ravel(promoted_mu)
    zero_result = jnp.zeros_like(mu_flat)
    result = where(
        mu_flat == 0,
        zero_result,
        where(
            mu_flat < 10,
            _entropy_small_mu(mu_flat),
            where(mu_flat < 100, _entropy_medium_mu(mu_flat), _entropy_large_mu(mu_flat)),
        ),
    )
    result_mu_shape = jnp.reshape(result, promoted_mu.shape)
    return jnp.broadcast_to(result_mu_shape, result_shape)


def _entropy_small_mu(mu: Array) -> Array:
    """-sum_k p_k log p_k up to ``k = mu + 20`` (at most 35 terms)."""
    k = jnp.arange(35, dtype=mu.dtype)[:, None]
    probs = pmf(k, mu, 0)
    upper_bounds = jnp.ceil(mu + 20).astype(k.dtype)
    mask = k < upper_bounds[None, :]
    probs_masked = where(mask, probs, 0.0)
    return jnp.sum(entr(probs_masked), axis=0)


def _entropy_medium_mu(mu: Array) -> Array:
    """-sum_k p_k log p_k up to ``k = mu + 10 sqrt(mu) + 20`` (at most 250 terms)."""
    k = jnp.arange(250, dtype=mu.dtype)[:, None]
    probs = pmf(k, mu, 0)
    upper_bounds = jnp.ceil(mu + 10 * jnp.sqrt(mu) + 20).astype(k.dtype)
    mask = k < upper_bounds[None, :]
    probs_masked = where(mask, probs, 0.0)
    return jnp.sum(entr(probs_masked), axis=0)


def _entropy_large_mu(mu: Array) -> Array:
    """The asymptotic ``log(2 pi e mu) / 2 - 1 / (12 mu)``."""
    out: Array = 0.5 * jnp.log(2 * np.pi * np.e * mu) - 1.0 / (12 * mu)
    return out
