"""Gaussian kernel density estimation (``jax.scipy.stats.gaussian_kde``).

A :class:`gaussian_kde` holds its data as columns of ``dataset`` (``d`` variables by ``n``
points), normalised ``weights``, the effective sample size ``neff`` and the kernel's
``covariance`` (the data's weighted covariance times ``factor**2``, the bandwidth factor that
``bw_method`` chooses) with its inverse. It is a frozen dataclass registered as a pytree of those
five arrays, so it passes through ``jit``, ``vmap`` and ``grad`` like any other argument. The
density at a point is a weighted sum of Gaussians: the points and the data are whitened with the
Cholesky factor of ``inv_cov``, and ``logpdf`` reduces with ``logsumexp`` instead of summing.
The methods use the operations JAX's use, in the same order (JAX's doubly vmapped kernel is
written here as the broadcast it batches to), so values and dtypes match; ``resample`` draws
the same bits as JAX (``choice`` by the weights, then a multivariate normal through the Cholesky
factor of the covariance, as ``jax.random.multivariate_normal`` draws it). As in JAX,
``integrate_box`` and ``set_bandwidth`` raise ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeAlias

import numpy as np

from refjax import dtypes, lax, random
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import as_array, check_arraylike, promote_dtypes_inexact
from refjax.numpy.functional import _vmap as vmap  # refjax.vmap sits above this layer
from refjax.primitives.calls import library_jit
from refjax.random import KeyLike
from refjax.scipy import linalg, special
from refjax.tree_util import register_pytree_node_class

__all__ = ["gaussian_kde"]

PyTree: TypeAlias = Any
BwMethod: TypeAlias = "str | ArrayLike | Callable[[gaussian_kde], ArrayLike] | None"


@register_pytree_node_class
@dataclass(frozen=True, init=False, slots=True)
class gaussian_kde:  # noqa: N801  # JAX's name
    """Gaussian kernel density estimator (:class:`scipy.stats.gaussian_kde`).

    ``dataset``: shape ``(n,)`` for 1-D data or ``(d, n)``; ``bw_method``: ``"scott"``
    (default), ``"silverman"``, a scalar factor, or a callable taking the estimator (which then
    has ``dataset``, ``weights`` and ``neff``) and returning the factor; ``weights``: one per
    data point, normalised to sum to one.
    """

    neff: Array
    dataset: Array
    weights: Array
    covariance: Array
    inv_cov: Array

    def __init__(self, dataset: ArrayLike, bw_method: BwMethod = None,
                 weights: ArrayLike | None = None) -> None:
        check_arraylike("gaussian_kde", dataset)
        data: Array = jnp.atleast_2d(dataset)
        if dtypes.issubdtype(lax.dtype(data), np.complexfloating):
            raise NotImplementedError("gaussian_kde does not support complex data")
        if not data.size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        data, w = _data_and_weights(data, weights)
        self._setattr("dataset", data)
        self._setattr("weights", w)
        self._setattr("neff", 1 / jnp.sum(w**2))
        factor = self._factor("scott" if bw_method is None else bw_method)
        data_covariance = jnp.atleast_2d(jnp.cov(data, rowvar=True, bias=False, aweights=w))
        self._setattr("covariance", data_covariance * factor**2)
        self._setattr("inv_cov", jnp.linalg.inv(data_covariance) / factor**2)

    def _factor(self, bw_method: str | ArrayLike | Callable[[gaussian_kde], ArrayLike]
                ) -> Array:
        """The bandwidth factor ``bw_method`` names (Scott's or Silverman's rule), or gives."""
        d = self.d
        if isinstance(bw_method, str) and bw_method == "scott":
            return jnp.power(self.neff, -1.0 / (d + 4))
        if isinstance(bw_method, str) and bw_method == "silverman":
            return jnp.power(self.neff * (d + 2) / 4.0, -1.0 / (d + 4))
        if jnp.isscalar(bw_method) and not isinstance(bw_method, str):
            return as_array(bw_method)  # type: ignore[arg-type]  # isscalar: array-like
        if callable(bw_method):
            return as_array(bw_method(self))
        raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar, or a callable.")

    def _setattr(self, name: str, value: Array) -> Array:
        """Set a field of the frozen dataclass (as the dataclass's own ``__init__`` does)."""
        object.__setattr__(self, name, value)
        return value

    def tree_flatten(self) -> tuple[tuple[Array, ...], None]:
        """The five arrays as the children; no auxiliary data."""
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data: None, children: Sequence[PyTree]) -> gaussian_kde:
        """The estimator with ``children`` as its five fields (no recomputation)."""
        del aux_data
        kde = cls.__new__(cls)
        for name, value in zip(("neff", "dataset", "weights", "covariance", "inv_cov"),
                               children, strict=True):
            kde._setattr(name, value)
        return kde

    @property
    def d(self) -> int:
        """The number of variables."""
        return int(self.dataset.shape[0])

    @property
    def n(self) -> int:
        """The number of data points."""
        return int(self.dataset.shape[1])

    def evaluate(self, points: ArrayLike) -> Array:
        """The density at ``points`` (shape ``(d, m)``, or ``(m,)`` for 1-D data)."""
        check_arraylike("evaluate", points)
        xi = self._reshape_points(points)
        return _gaussian_kernel_eval(False, self.dataset.T, self.weights, xi.T, self.inv_cov)

    def __call__(self, points: ArrayLike) -> Array:
        return self.evaluate(points)

    def pdf(self, x: ArrayLike) -> Array:
        """Probability density function."""
        return self.evaluate(x)

    def logpdf(self, x: ArrayLike) -> Array:
        """Log probability density function."""
        check_arraylike("logpdf", x)
        xi = self._reshape_points(x)
        return _gaussian_kernel_eval(True, self.dataset.T, self.weights, xi.T, self.inv_cov)

    def integrate_gaussian(self, mean: ArrayLike, cov: ArrayLike) -> Array:
        """The integral of the density times a Gaussian of ``mean`` and ``cov``."""
        mean_ = jnp.atleast_1d(jnp.squeeze(mean))
        cov_ = jnp.atleast_2d(cov)
        if mean_.shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if cov_.shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        chol = linalg.cho_factor(self.covariance + cov_)
        return _gaussian_kernel_convolve(chol, _inverse_norm(chol, self.d), self.dataset,
                                         self.weights, mean_)

    @library_jit()
    def integrate_box_1d(self, low: ArrayLike, high: ArrayLike) -> Array:
        """The probability mass between the scalars ``low`` and ``high`` (1-D data only)."""
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("the limits of integration in integrate_box_1d must be scalars")
        sigma = jnp.squeeze(jnp.sqrt(self.covariance))
        lo = jnp.squeeze((low - self.dataset) / sigma)
        hi = jnp.squeeze((high - self.dataset) / sigma)
        return jnp.sum(self.weights * (special.ndtr(hi) - special.ndtr(lo)))

    def integrate_kde(self, other: gaussian_kde) -> Array:
        """The integral of the product of this density and ``other``'s."""
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        chol = linalg.cho_factor(self.covariance + other.covariance)
        norm = _inverse_norm(chol, self.d)
        sm, lg = (self, other) if self.n < other.n else (other, self)
        convolve = partial(_gaussian_kernel_convolve, chol, norm, lg.dataset, lg.weights)
        result: Array = vmap(convolve, in_axes=1)(sm.dataset)
        return jnp.sum(result * sm.weights)

    @library_jit(static_argnames=("shape",))
    def resample(self, key: KeyLike, shape: tuple[int, ...] = ()) -> Array:
        """``d`` by ``shape`` new points drawn from the density: data points chosen by their
        weights, each moved by a draw from the kernel (``N(0, covariance)``)."""
        ind_key, eps_key = _split(key)
        ind = random.choice(ind_key, self.n, shape=shape, p=self.weights)
        eps = _multivariate_normal(eps_key, self.covariance, tuple(shape), self.dataset.dtype)
        return self.dataset[:, ind] + eps.T

    def integrate_box(self, low_bounds: ArrayLike, high_bounds: ArrayLike,
                      maxpts: int | None = None) -> Array:
        """Not implemented in JAX's interface: raises ``NotImplementedError``."""
        del low_bounds, high_bounds, maxpts
        raise NotImplementedError("only 1D box integrations are supported; use `integrate_box_1d`")

    def set_bandwidth(self, bw_method: BwMethod = None) -> None:
        """Not implemented in JAX's interface: raises ``NotImplementedError``."""
        del bw_method
        raise NotImplementedError("dynamically changing the bandwidth method is not supported")

    def _reshape_points(self, points: ArrayLike) -> Array:
        """``points`` as a ``(d, m)`` array; one point of a ``d``-variate density may be given
        as a row."""
        if dtypes.issubdtype(lax.dtype(points), np.complexfloating):
            raise NotImplementedError("gaussian_kde does not support complex coordinates")
        xi: Array = jnp.atleast_2d(points)
        d, m = xi.shape
        if d == self.d:
            return xi
        if d == 1 and m == self.d:
            return jnp.reshape(xi, (self.d, 1))
        raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")


def _data_and_weights(data: Array, weights: ArrayLike | None) -> tuple[Array, Array]:
    """The data as floats and the weights normalised to sum to one (uniform by default)."""
    n = data.shape[1]
    if weights is None:
        (data,) = promote_dtypes_inexact(data)
        return data, jnp.full(n, 1.0 / n, dtype=data.dtype)
    check_arraylike("gaussian_kde", weights)
    data, w = promote_dtypes_inexact(data, weights)
    w = jnp.atleast_1d(w)
    w = w / jnp.sum(w)
    if w.ndim != 1:
        raise ValueError("`weights` input should be one-dimensional.")
    if len(w) != n:
        raise ValueError("`weights` input should be of length n")
    return data, w


def _split(key: KeyLike) -> tuple[KeyLike, KeyLike]:
    """Two new keys from ``key`` (``random.split``), of the kind ``key`` is."""
    keys = random.split(key)
    return keys[0], keys[1]


def _multivariate_normal(key: KeyLike, cov: Array, shape: tuple[int, ...],
                         dtype: dtypes.DType) -> Array:
    """``jax.random.multivariate_normal(key, zeros(d), cov, shape, dtype)`` (its Cholesky
    method): ``shape + (d,)`` standard normals mapped through the Cholesky factor of ``cov``."""
    d = cov.shape[-1]
    mean, cov_ = promote_dtypes_inexact(jnp.zeros(d, cov.dtype), cov)
    factor = jnp.linalg.cholesky(cov_)
    normal_samples = random.normal(key, (*shape, d), dtype)
    return mean + jnp.einsum("...ij,...j->...i", factor, normal_samples)


def _inverse_norm(chol: tuple[Array, bool], d: int) -> Array:
    """``1 / sqrt(det(2 pi S))`` for the covariance ``S`` whose Cholesky factor is ``chol``."""
    norm = jnp.sqrt(2 * np.pi) ** d * jnp.prod(jnp.diag(chol[0]))
    return 1.0 / norm


def _gaussian_kernel_convolve(chol: tuple[Array, bool], norm: Array, target: Array,
                              weights: Array, mean: Array) -> Array:
    """The weighted sum over ``target``'s columns of the Gaussian density at ``mean``."""
    diff = target - mean[:, None]
    alpha = linalg.cho_solve(chol, diff)
    arg = 0.5 * jnp.sum(diff * alpha, axis=0)
    return norm * jnp.sum(jnp.exp(-arg) * weights)


@library_jit(static_argnames=("in_log",))
def _gaussian_kernel_eval(in_log: bool, points: Array, values: Array, xi: Array,
                          precision: Array) -> Array:
    """At each row of ``xi``, the ``values``-weighted sum (``logsumexp`` of the logs when
    ``in_log``) of Gaussian kernels of precision ``precision`` centred on ``points``' rows."""
    points, values, xi, precision = promote_dtypes_inexact(points, values, xi, precision)
    d = points.shape[1]
    whitening = linalg.cholesky(precision, lower=True)
    points = jnp.dot(points, whitening)
    xi = jnp.dot(xi, whitening)
    log_norm = jnp.sum(jnp.log(jnp.diag(whitening))) - 0.5 * d * jnp.log(2 * np.pi)
    # arg[i, j]: the log kernel between test point i and data point j.
    arg = log_norm - 0.5 * jnp.sum(jnp.square(points[None, :, :] - xi[:, None, :]), axis=-1)
    if in_log:
        out = special.logsumexp(jnp.log(values) + arg, axis=1)
        assert not isinstance(out, tuple)  # one result without return_sign
        return out
    return jnp.sum(values * jnp.exp(arg), axis=1)
