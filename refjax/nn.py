"""``refjax.nn``: common activation functions and friends, mirroring ``jax.nn``.

They are written with ``refjax.numpy`` and ``refjax.lax`` exactly as JAX writes them, so their
jaxprs match: ``softmax`` subtracts the (``stop_gradient``-ed) maximum before exponentiating,
``logsumexp`` does the same with the maximum made finite, ``softplus`` is ``logaddexp(x, 0)``.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax import numpy as jnp
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import (
    check_arraylike,
    ensure_arraylike,
    promote_args_inexact,
    where_,
)
from refjax.numpy.reductions import Axis
from refjax.numpy.reductions import logsumexp as logsumexp
from refjax.primitives.calls import library_jit
from refjax.primitives.custom_derivatives import custom_jvp
from refjax.util import canonicalize_axis

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "mish",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "squareplus",
    "standardize",
    "swish",
]


@library_jit()
def identity(x: ArrayLike) -> Array:
    """``x`` itself, as an array."""
    return ensure_arraylike("identity", x)[0]


@custom_jvp
@library_jit()
def relu(x: ArrayLike) -> Array:
    """Rectified linear unit: ``max(x, 0)``; its derivative at 0 is 0, as in JAX (a custom
    JVP: ``max``'s own rule would give 1/2 at the tie)."""
    return jnp.maximum(x, 0)


relu.defjvps(lambda g, ans, x: lax.select(jnp.greater(x, 0), g, jnp.zeros_like(g)))


@custom_jvp
@library_jit()
def relu6(x: ArrayLike) -> Array:
    """ReLU capped at 6: ``min(max(x, 0), 6)``; its derivative is 0 at 0 and at 6, as in JAX."""
    return jnp.minimum(jnp.maximum(x, 0), 6.0)


relu6.defjvps(
    lambda g, ans, x: lax.select(
        jnp.logical_and(jnp.greater(x, 0), jnp.less(x, 6)), g, jnp.zeros_like(g)
    )
)


@library_jit()
def squareplus(x: ArrayLike, b: ArrayLike = 4) -> Array:
    """``(x + sqrt(x**2 + b)) / 2`` (arXiv:2112.11687)."""
    arr, b_arr = ensure_arraylike("squareplus", x, b)
    return jnp.divide(jnp.add(arr, jnp.sqrt(jnp.add(jnp.square(arr), b_arr))), 2)


@library_jit()
def sparse_plus(x: ArrayLike) -> Array:
    """0 up to -1, ``(x + 1)**2 / 4`` between -1 and 1, ``x`` from 1 on."""
    (arr,) = ensure_arraylike("sparse_plus", x)
    middle = jnp.divide(jnp.power(jnp.add(arr, 1.0), 2), 4)
    upper = jnp.where(jnp.greater_equal(arr, 1.0), arr, middle)
    out: Array = jnp.where(jnp.less_equal(arr, -1.0), 0.0, upper)
    return out


def sigmoid(x: ArrayLike) -> Array:
    """The logistic function ``1 / (1 + exp(-x))``."""
    return lax.logistic(x)


@library_jit()
def softplus(x: ArrayLike) -> Array:
    """``log(1 + exp(x))``, computed stably as ``logaddexp(x, 0)``."""
    return jnp.logaddexp(x, 0)


@library_jit()
def soft_sign(x: ArrayLike) -> Array:
    """``x / (|x| + 1)``."""
    (arr,) = ensure_arraylike("soft_sign", x)
    return jnp.divide(arr, jnp.add(jnp.abs(arr), 1))


@library_jit()
def silu(x: ArrayLike) -> Array:
    """Sigmoid-weighted linear unit: ``x * sigmoid(x)``."""
    (arr,) = ensure_arraylike("silu", x)
    return jnp.multiply(arr, sigmoid(arr))


swish = silu


@library_jit()
def mish(x: ArrayLike) -> Array:
    """``x * tanh(softplus(x))``."""
    (arr,) = ensure_arraylike("mish", x)
    return jnp.multiply(arr, jnp.tanh(softplus(arr)))


@library_jit()
def log_sigmoid(x: ArrayLike) -> Array:
    """``log(sigmoid(x))``, computed stably as ``-softplus(-x)``."""
    (arr,) = ensure_arraylike("log_sigmoid", x)
    return jnp.negative(softplus(jnp.negative(arr)))


@library_jit()
def elu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    """Exponential linear unit: ``x`` above zero, ``alpha * (exp(x) - 1)`` below."""
    (arr,) = ensure_arraylike("elu", x)
    positive = jnp.greater(arr, 0)
    safe = where_(jnp.greater(arr, 0), 0.0, arr)
    return where_(positive, arr, jnp.multiply(alpha, jnp.expm1(safe)))


@library_jit()
def leaky_relu(x: ArrayLike, negative_slope: ArrayLike = 0.01) -> Array:
    """``x`` where non-negative, ``negative_slope * x`` elsewhere."""
    (arr,) = ensure_arraylike("leaky_relu", x)
    return where_(jnp.greater_equal(arr, 0), arr, jnp.multiply(negative_slope, arr))


@library_jit()
def hard_tanh(x: ArrayLike) -> Array:
    """``x`` clipped to ``[-1, 1]``."""
    (arr,) = ensure_arraylike("hard_tanh", x)
    inner = where_(jnp.less(arr, -1), -1, arr)
    return where_(jnp.greater(arr, 1), 1, inner)


@library_jit()
def celu(x: ArrayLike, alpha: ArrayLike = 1.0) -> Array:
    """Continuously differentiable ELU."""
    tail = jnp.multiply(alpha, jnp.expm1(jnp.divide(jnp.minimum(x, 0.0), alpha)))
    return jnp.add(jnp.maximum(x, 0.0), tail)


@library_jit()
def selu(x: ArrayLike) -> Array:
    """Scaled ELU with the self-normalising constants."""
    alpha = 1.6732632423543772
    scale = 1.0507009873554805
    return jnp.multiply(scale, elu(x, alpha))


@library_jit()
def hard_sigmoid(x: ArrayLike) -> Array:
    """``relu6(x + 3) / 6``."""
    return jnp.divide(relu6(jnp.add(x, 3.0)), 6.0)


@library_jit()
def hard_silu(x: ArrayLike) -> Array:
    """``x * hard_sigmoid(x)``."""
    (arr,) = ensure_arraylike("hard_silu", x)
    return jnp.multiply(arr, hard_sigmoid(arr))


hard_swish = hard_silu


def gelu(x: ArrayLike, approximate: bool = True) -> Array:
    """Gaussian error linear unit (the tanh approximation by default)."""
    (arr,) = promote_args_inexact("gelu", x)
    if approximate:
        sqrt_2_over_pi = np.sqrt(2 / np.pi).astype(arr.dtype)
        inner = jnp.add(arr, jnp.multiply(0.044715, jnp.power(arr, 3)))
        cdf = jnp.multiply(0.5, jnp.add(1.0, jnp.tanh(jnp.multiply(sqrt_2_over_pi, inner))))
        return jnp.multiply(arr, cdf)
    sqrt_half = np.sqrt(0.5).astype(arr.dtype)
    half_x = jnp.multiply(0.5, arr)
    erfc = lax.erfc(jnp.multiply(jnp.negative(arr), sqrt_half))
    return jnp.array(jnp.multiply(half_x, erfc), dtype=arr.dtype)


@library_jit(static_argnames=("axis",))
def glu(x: ArrayLike, axis: int = -1) -> Array:
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second half."""
    (arr,) = ensure_arraylike("glu", x)
    if arr.shape[axis] % 2:
        raise AssertionError("axis size must be divisible by 2")
    x1, x2 = jnp.split(arr, 2, axis)
    return jnp.multiply(x1, sigmoid(x2))


@library_jit(static_argnames=("axis",))
def log_softmax(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    """``log(softmax(x))``, computed as ``x - max - log(sum(exp(x - max)))``."""
    (arr,) = ensure_arraylike("log_softmax", x)
    x_max = jnp.max(arr, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = arr if where is None else where_(where, arr, -np.inf)
    shifted = jnp.subtract(x_safe, lax.stop_gradient(x_max))
    total = jnp.sum(jnp.exp(shifted), axis, where=where, keepdims=True)
    result = jnp.subtract(shifted, jnp.log(total))
    return result if where is None else where_(where, result, -np.inf)


def softmax(x: ArrayLike, axis: Axis = -1, where: ArrayLike | None = None) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the maximum for stability."""
    x_max = jnp.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else where_(where, x, -np.inf)
    unnormalized = jnp.exp(jnp.subtract(x_safe, lax.stop_gradient(x_max)))
    total = jnp.sum(unnormalized, axis, where=where, keepdims=True)
    result = jnp.divide(unnormalized, total)
    return result if where is None else where_(where, result, 0)


@library_jit(static_argnames=("axis", "algorithm"))
def standardize(
    x: ArrayLike,
    axis: Axis = -1,
    mean: ArrayLike | None = None,
    variance: ArrayLike | None = None,
    epsilon: ArrayLike = 1e-5,
    where: ArrayLike | None = None,
    *,
    algorithm: str = "fast",
) -> Array:
    """``(x - mean) / sqrt(variance + epsilon)`` with statistics over ``axis``."""
    check_arraylike("standardize", x)
    if mean is None:
        mean = jnp.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            centered = jnp.square(jnp.subtract(x, mean))
            variance = jnp.mean(centered, axis, keepdims=True, where=where)
        elif algorithm == "fast":
            second = jnp.mean(jnp.square(x), axis, keepdims=True, where=where)
            variance = jnp.clip(jnp.subtract(second, jnp.square(mean)), 0)
        else:
            raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return jnp.multiply(jnp.subtract(x, mean), lax.rsqrt(jnp.add(variance, epsilon)))


def one_hot(
    x: Any, num_classes: int, *, dtype: DTypeLike | None = None, axis: int = -1
) -> Array:
    """``x`` encoded as one-hot vectors of length ``num_classes`` along a new ``axis``."""
    num_classes = operator.index(num_classes)
    return _one_hot(jnp.asarray(x), num_classes, dtype=dtype, axis=axis)


@library_jit(static_argnames=("num_classes", "dtype", "axis"))
def _one_hot(arr: Array, num_classes: int, *, dtype: DTypeLike | None = None,
             axis: int = -1) -> Array:
    out_dtype = dtypes.default_float_dtype() if dtype is None else dtype
    out_axis = canonicalize_axis(axis, arr.ndim + 1)
    lhs = lax.expand_dims(arr, (operator.index(axis),))
    rhs_shape = [1] * arr.ndim
    rhs_shape.insert(out_axis, num_classes)
    rhs = lax.broadcasted_iota(arr.dtype, rhs_shape, out_axis)
    return jnp.astype(jnp.equal(lhs, rhs), out_dtype)
