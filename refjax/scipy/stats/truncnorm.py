"""The truncated normal distribution (``jax.scipy.stats.truncnorm``).

The normalizing mass ``Phi(b) - Phi(a)`` is computed in logs, in whichever tail keeps it
accurate (JAX's ``_log_gauss_mass``, after SciPy's).
"""

from __future__ import annotations

import numpy as np

from refjax import lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact
from refjax.primitives.calls import library_jit
from refjax.scipy.special import log_ndtr, logsumexp, ndtr
from refjax.scipy.stats import norm
from refjax.scipy.stats._util import where

__all__ = ["cdf", "logcdf", "logpdf", "logsf", "pdf", "sf"]


def _log_diff(x: Array, y: Array) -> Array:
    """``log(exp(x) - exp(y))``."""
    out = logsumexp(jnp.array([x, y]), b=jnp.array([jnp.ones_like(x), -jnp.ones_like(y)]),
                    axis=0)
    assert not isinstance(out, tuple)  # one result without return_sign
    return out


def _log_gauss_mass(a: ArrayLike, b: ArrayLike) -> Array:
    """``log(Phi(b) - Phi(a))``: by the tails when ``[a, b]`` lies on one side of 0 (mirrored
    to the left), by ``log1p(-Phi(a) - Phi(-b))`` when it straddles 0."""
    a_arr, b_arr = jnp.broadcast_arrays(jnp.array(a), jnp.array(b))
    case_left = b_arr <= 0
    case_right = a_arr > 0
    case_central = ~(case_left | case_right)
    a_tail = where(case_right, -b_arr, a_arr)
    b_tail = where(case_right, -a_arr, b_arr)
    mass_tail = _log_diff(log_ndtr(b_tail), log_ndtr(a_tail))
    mass_central = jnp.log1p(-ndtr(a_arr) - ndtr(-b_arr))
    return where(case_central, mass_central, mass_tail)


@library_jit()
def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
           scale: ArrayLike = 1) -> Array:
    """The log density of the normal(``loc``, ``scale``) truncated to standardized
    ``[a, b]`` (``-inf`` outside, NaN if ``a >= b``)."""
    x_, a_, b_, loc_, scale_ = promote_args_inexact("truncnorm.logpdf", x, a, b, loc, scale)
    val = lax.sub(norm.logpdf(x_, loc_, scale_), _log_gauss_mass(a_, b_))
    x_scaled = lax.div(lax.sub(x_, loc_), scale_)
    val = where((x_scaled < a_) | (x_scaled > b_), -np.inf, val)
    return where(a_ >= b_, np.nan, val)


def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
        scale: ArrayLike = 1) -> Array:
    """The density."""
    return lax.exp(logpdf(x, a, b, loc, scale))


@library_jit()
def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
          scale: ArrayLike = 1) -> Array:
    """The log of the survival function: ``logcdf`` of the mirrored distribution."""
    x_, a_, b_, loc_, scale_ = promote_args_inexact("truncnorm.logsf", x, a, b, loc, scale)
    return logcdf(-x_, -b_, -a_, -loc_, scale_)


@library_jit()
def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
       scale: ArrayLike = 1) -> Array:
    """The survival function."""
    return lax.exp(logsf(x, a, b, loc, scale))


@library_jit()
def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
           scale: ArrayLike = 1) -> Array:
    """The log of the distribution function: the log mass of ``[a, x]`` over that of
    ``[a, b]``, or ``log1p(-sf)`` where the result is near 0."""
    x_, a_, b_, loc_, scale_ = promote_args_inexact("truncnorm.logcdf", x, a, b, loc, scale)
    x_, a_, b_ = jnp.broadcast_arrays(x_, a_, b_)
    x_ = lax.div(lax.sub(x_, loc_), scale_)
    lgm_ab = _log_gauss_mass(a_, b_)
    log_cdf = _log_gauss_mass(a_, x_) - lgm_ab
    log_sf = _log_gauss_mass(x_, b_) - lgm_ab
    log_cdf = jnp.select([x_ >= b_, x_ <= a_, log_cdf > -0.1, x_ > a_],
                         [0, -np.inf, jnp.log1p(-jnp.exp(log_sf)), log_cdf])
    return where(a_ >= b_, np.nan, log_cdf)


@library_jit()
def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0,
        scale: ArrayLike = 1) -> Array:
    """The distribution function."""
    return lax.exp(logcdf(x, a, b, loc, scale))
