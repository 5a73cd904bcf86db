"""The von Mises distribution (``jax.scipy.stats.vonmises``)."""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.primitives import special as lax_special
from refjax.scipy.stats._util import const, where

__all__ = ["logpdf", "pdf"]


def logpdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """The log density ``kappa (cos x - 1) - log(2 pi i0e(kappa))`` (NaN unless
    ``kappa > 0``)."""
    x_, kappa_ = promote_args_inexact("vonmises.logpdf", x, kappa)
    zero = const(kappa_, 0)
    return where(lax.gt(kappa_, zero),
                 kappa_ * (jnp.cos(x_) - 1) - jnp.log(2 * np.pi * lax_special.bessel_i0e(kappa_)),
                 np.nan)


def pdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """The density."""
    return lax.exp(logpdf(x, kappa))
