"""The generalized normal distribution (``jax.scipy.stats.gennorm``)."""

from __future__ import annotations

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact

__all__ = ["cdf", "logpdf", "pdf"]


def logpdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """The log density ``log(beta / (2 Gamma(1/beta))) - |x|^beta``."""
    x_, beta_ = promote_args_inexact("gennorm.logpdf", x, beta)
    out: Array = lax.log(0.5 * beta_) - lax.lgamma(1 / beta_) - lax.abs(x_) ** beta_
    return out


def cdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """The distribution function ``(1 + sign(x) P(1/beta, |x|^beta)) / 2``."""
    x_, beta_ = promote_args_inexact("gennorm.cdf", x, beta)
    out: Array = 0.5 * (1 + lax.sign(x_) * lax.igamma(1 / beta_, lax.abs(x_) ** beta_))
    return out


def pdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """The density."""
    return lax.exp(logpdf(x, beta))
