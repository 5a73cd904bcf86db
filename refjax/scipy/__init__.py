"""``refjax.scipy``: the parts of the SciPy API that ``jax.scipy`` offers, on refjax arrays.

``linalg`` (decompositions, solves, the matrix exponential, special matrices, built on
``refjax.lax.linalg``'s primitives and ``refjax.numpy``), ``special`` (gamma, beta, error and
Bessel functions, incomplete gamma and beta, zeta, logsumexp, ...), ``stats`` (densities and
distribution functions of the common distributions) and ``optimize`` (``minimize`` by BFGS;
imported on demand, as in JAX: ``import refjax.scipy.optimize``).
"""

from __future__ import annotations

from refjax.scipy import linalg as linalg
from refjax.scipy import special as special
from refjax.scipy import stats as stats
