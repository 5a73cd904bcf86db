"""``refjax.scipy.stats``: probability distributions, mirroring ``jax.scipy.stats``.

One module per distribution, each with the functions JAX's has (``logpdf``/``pdf`` or
``logpmf``/``pmf``, and where JAX has them ``cdf``, ``logcdf``, ``sf``, ``logsf``, ``ppf``,
``isf``, ``entropy``), written with the same ``refjax.lax``, ``refjax.numpy`` and
``refjax.scipy.special`` operations as JAX's, so that values, dtypes and derivatives match.
"""

from __future__ import annotations

from refjax.scipy.stats import bernoulli as bernoulli
from refjax.scipy.stats import beta as beta
from refjax.scipy.stats import cauchy as cauchy
from refjax.scipy.stats import expon as expon
from refjax.scipy.stats import gamma as gamma
from refjax.scipy.stats import laplace as laplace
from refjax.scipy.stats import logistic as logistic
from refjax.scipy.stats import multivariate_normal as multivariate_normal
from refjax.scipy.stats import norm as norm
from refjax.scipy.stats import poisson as poisson
from refjax.scipy.stats import t as t
from refjax.scipy.stats import uniform as uniform

__all__ = [
    "bernoulli",
    "beta",
    "cauchy",
    "expon",
    "gamma",
    "laplace",
    "logistic",
    "multivariate_normal",
    "norm",
    "poisson",
    "t",
    "uniform",
]
