"""The multivariate normal distribution (``jax.scipy.stats.multivariate_normal``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_dtypes_inexact
from refjax.primitives.decompositions import cholesky, triangular_solve

__all__ = ["logpdf", "pdf"]


def _solve_lower_transposed(chol: Array, y: Array) -> Array:
    """``z`` with ``chol @ z = y`` over broadcast batch dimensions: what JAX's
    ``vectorize(triangular_solve(chol, y, lower=True, transpose_a=True))`` computes, with the
    same operations for one vector and for a batch of vectors against one matrix."""
    n = chol.shape[-1]
    if chol.ndim == 2 and y.ndim == 1:
        return triangular_solve(chol, y, lower=True, transpose_a=True)
    if chol.ndim == 2 and y.ndim == 2:  # the rows of y at once, as JAX's batching rule
        m = y.shape[0]
        rows = lax.broadcast_in_dim(y, (m, 1, n), (0, 2))
        rows = lax.reshape(lax.transpose(rows, (1, 0, 2)), (m, n))
        out = triangular_solve(chol, rows, lower=True, transpose_a=True)
        out = lax.transpose(lax.reshape(out, (1, m, n)), (1, 0, 2))
        return lax.squeeze(out, (1,))
    batch = jnp.broadcast_shapes(chol.shape[:-2], y.shape[:-1])
    chol_b = jnp.broadcast_to(chol, (*batch, n, n))
    y_b = jnp.broadcast_to(y, (*batch, n))
    return triangular_solve(chol_b, y_b, lower=True, transpose_a=True)


def logpdf(
    x: ArrayLike, mean: ArrayLike, cov: ArrayLike, allow_singular: None = None
) -> ArrayLike:
    """The log density of ``x`` (last axis the variables) for mean ``mean`` and covariance
    ``cov`` (a matrix, or a scalar: a multiple of the identity); ``allow_singular`` is not
    supported."""
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x_, mean_, cov_ = promote_dtypes_inexact(x, mean, cov)
    if not mean_.shape:
        out: Array = (-1 / 2 * jnp.square(x_ - mean_) / cov_
                      - 1 / 2 * (jnp.log(2 * np.pi) + jnp.log(cov_)))
        return out
    n = mean_.shape[-1]
    if not np.shape(cov_):
        y = x_ - mean_
        out = (-1 / 2 * jnp.einsum("...i,...i->...", y, y) / cov_
               - n / 2 * (jnp.log(2 * np.pi) + jnp.log(cov_)))
        return out
    if cov_.ndim < 2 or cov_.shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    chol = cholesky(cov_)
    y = _solve_lower_transposed(chol, x_ - mean_)
    out = (-1 / 2 * jnp.einsum("...i,...i->...", y, y) - n / 2 * jnp.log(2 * np.pi)
           - jnp.log(jnp.diagonal(chol, axis1=-1, axis2=-2)).sum(-1))
    return out


def pdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> Array:
    """The density."""
    return lax.exp(logpdf(x, mean, cov))
