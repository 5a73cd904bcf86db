"""``refjax.scipy.stats``: probability distributions, mirroring ``jax.scipy.stats``.

One module per distribution, each with the functions JAX's has (``logpdf``/``pdf`` or
``logpmf``/``pmf``, and where JAX has them ``cdf``, ``logcdf``, ``sf``, ``logsf``, ``ppf``,
``isf``, ``entropy``), written with the same ``refjax.lax``, ``refjax.numpy`` and
``refjax.scipy.special`` operations as JAX's, so that values, dtypes and derivatives match.
"""

from __future__ import annotations

from refjax.scipy.stats import bernoulli as bernoulli
from refjax.scipy.stats import beta as beta
from refjax.scipy.stats import betabinom as betabinom
from refjax.scipy.stats import binom as binom
from refjax.scipy.stats import cauchy as cauchy
from refjax.scipy.stats import chi2 as chi2
from refjax.scipy.stats import dirichlet as dirichlet
from refjax.scipy.stats import expon as expon
from refjax.scipy.stats import gamma as gamma
from refjax.scipy.stats import gennorm as gennorm
from refjax.scipy.stats import geom as geom
from refjax.scipy.stats import gumbel_l as gumbel_l
from refjax.scipy.stats import gumbel_r as gumbel_r
from refjax.scipy.stats import laplace as laplace
from refjax.scipy.stats import logistic as logistic
from refjax.scipy.stats import multinomial as multinomial
from refjax.scipy.stats import multivariate_normal as multivariate_normal
from refjax.scipy.stats import nbinom as nbinom
from refjax.scipy.stats import norm as norm
from refjax.scipy.stats import pareto as pareto
from refjax.scipy.stats import poisson as poisson
from refjax.scipy.stats import t as t
from refjax.scipy.stats import truncnorm as truncnorm
from refjax.scipy.stats import uniform as uniform
from refjax.scipy.stats import vonmises as vonmises
from refjax.scipy.stats import wrapcauchy as wrapcauchy
from refjax.scipy.stats._core import mode as mode
from refjax.scipy.stats._core import rankdata as rankdata
from refjax.scipy.stats._core import sem as sem
from refjax.scipy.stats.gaussian_kde import gaussian_kde as gaussian_kde

__all__ = [
    "bernoulli",
    "beta",
    "betabinom",
    "binom",
    "cauchy",
    "chi2",
    "dirichlet",
    "expon",
    "gamma",
    "gaussian_kde",
    "gennorm",
    "geom",
    "gumbel_l",
    "gumbel_r",
    "laplace",
    "logistic",
    "mode",
    "multinomial",
    "multivariate_normal",
    "nbinom",
    "norm",
    "pareto",
    "poisson",
    "rankdata",
    "sem",
    "t",
    "truncnorm",
    "uniform",
    "vonmises",
    "wrapcauchy",
]
