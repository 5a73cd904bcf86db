"""Hypergeometric functions and the Pochhammer symbol, mirroring ``jax.scipy.special``.

``hyp1f1`` and ``hyp2f1`` follow Pearson, Olver and Porter (2014, arXiv:1407.7786), as JAX 0.10.2
does: the Taylor series (``while_loop`` to machine precision, at most 250 terms), the asymptotic
series of 1F1 for ``|x| >= 100``, the terminating series and the digamma transformation
(Abramowitz and Stegun 15.3.10-12) of 2F1, and closed forms at the special parameters. Both are
vectorized scalar functions under a named ``jit``; their derivatives in each parameter are the
series of the parameter derivative term by term, as JAX's custom JVPs state them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import promote_args_inexact, where_
from refjax.primitives.calls import library_jit
from refjax.primitives.custom_derivatives import custom_jvp
from refjax.scipy.special import digamma, gamma

__all__ = ["hyp1f1", "hyp2f1", "poch"]

_MAX_TERMS = 250


def _eps(x: Array) -> float:
    return float(dtypes.finfo(x.dtype).eps)


# ---------------------------------------------------------------------------------------------
# The Pochhammer symbol


def _poch_body(z: ArrayLike, m: ArrayLike) -> Array:
    z_arr, m_arr = promote_args_inexact("poch", z, m)
    if dtypes.issubdtype(z_arr.dtype, np.complexfloating):
        raise ValueError("jnp.poch does not support complex-valued inputs.")
    return where_(m_arr == 0.0, jnp.array(1, dtype=z_arr.dtype),
                     gamma(z_arr + m_arr) / gamma(z_arr))


_poch_body.__name__ = "poch"
_poch = custom_jvp(_poch_body)


def poch(z: ArrayLike, m: ArrayLike) -> Array:
    """The Pochhammer symbol ``(z)_m = gamma(z + m) / gamma(z)`` (1 at ``m == 0``); real only."""
    out: Array = _poch(z, m)
    return out


_poch.defjvps(
    lambda z_dot, ans, z, m: (digamma(z + m) - digamma(z)) * poch(z, m) * z_dot,
    lambda m_dot, ans, z, m: digamma(z + m) * poch(z, m) * m_dot,
)


# ---------------------------------------------------------------------------------------------
# Series helpers: sum term_k (times a weight), term_(k+1) = term_k * ratio(k)

Ratio = Any  # a function of the index k (an array) to the ratio of consecutive terms


def _series(first: Array, init_sum: float, ratio: Ratio, x: Array,
            weight: Ratio | None = None) -> Array:
    """``init_sum + sum_k w(k) term_k`` from ``term_1 = first``, until a term is below the
    precision relative to the sum or after 250 terms (JAX's loops for 1F1, 2F1's derivatives)."""
    precision = _eps(x)

    def body(state: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
        total, k, term = state
        total = total + (term if weight is None else term * weight(k))
        return total, k + 1, term * ratio(k)

    def cond(state: tuple[Any, Any, Any]) -> Any:
        total, k, term = state
        return (k < _MAX_TERMS) & (lax.abs(term) / lax.abs(total) > precision)

    # JAX's while_loop promotes the weak integer start of the sum to the body's float type;
    # refjax's insists on identical types, so the sum starts in the terms' type.
    out: Array = lax.while_loop(cond, body, (lax.full_like(first, init_sum), 1, first))[0]
    return out


# ---------------------------------------------------------------------------------------------
# 1F1


def _hyp1f1_series(a: Array, b: Array, x: Array) -> Array:
    return _series(a / b * x, 1, lambda k: (a + k) / (b + k) * x / (k + 1), x)


def _hyp1f1_asymptotic(a: Array, b: Array, x: Array) -> Array:
    """gamma(b)/gamma(a) e^x x^(a-b) sum_k (b-a)_k (1-a)_k / (k! x^k)."""
    total = _series((b - a) * (1 - a) / x, 1, lambda k: (b - a + k) * (1 - a + k) / (k + 1) / x,
                    x)
    out: Array = gamma(b) / gamma(a) * lax.exp(x) * x ** (a - b) * total
    return out


@library_jit(name="_hyp1f1_a_derivative")
def _hyp1f1_a_derivative(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    out: Array = jnp.vectorize(_hyp1f1_a_derivative_scalar)(a, b, x)
    return out


def _hyp1f1_a_derivative_scalar(a: Array, b: Array, x: Array) -> Array:
    """sum_k (a)_k x^k / ((b)_k k!) (psi(a + k) - psi(a))."""
    return _series(a / b * x, 0, lambda k: (a + k) / (b + k) * x / (k + 1), x,
                   weight=lambda k: digamma(a + k) - digamma(a))


@library_jit(name="_hyp1f1_b_derivative")
def _hyp1f1_b_derivative(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    out: Array = jnp.vectorize(_hyp1f1_b_derivative_scalar)(a, b, x)
    return out


def _hyp1f1_b_derivative_scalar(a: Array, b: Array, x: Array) -> Array:
    """sum_k (a)_k x^k / ((b)_k k!) (psi(b) - psi(b + k))."""
    return _series(a / b * x, 0, lambda k: (a + k) / (b + k) * x / (k + 1), x,
                   weight=lambda k: digamma(b) - digamma(b + k))


@library_jit(name="_hyp1f1_x_derivative")
def _hyp1f1_x_derivative(a: Array, b: Array, x: Array) -> Array:
    out: Array = a / b * hyp1f1(a + 1, b + 1, x)
    return out


def _hyp1f1_scalar(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """1F1(a; b; x) of scalars: the series below |x| = 100, the asymptotic series beyond;
    1 at a == 0, e^x at a == b, inf at b == 0."""
    a_arr, b_arr, x_arr = promote_args_inexact("hyp1f1", a, b, x)
    if dtypes.issubdtype(x_arr.dtype, np.complexfloating):
        raise ValueError("hyp1f1 does not support complex-valued inputs.")
    result = lax.cond(lax.abs(x_arr) < 100, _hyp1f1_series, _hyp1f1_asymptotic,
                      a_arr, b_arr, x_arr)
    index = ((a_arr == 0) * 1 + ((a_arr == b_arr) & (a_arr != 0)) * 2
             + ((b_arr == 0) & (a_arr != 0)) * 3)
    return lax.select_n(index, result, jnp.array(1, dtype=x_arr.dtype), jnp.exp(x_arr),
                        jnp.array(np.inf, dtype=x_arr.dtype))


@library_jit(name="hyp1f1")
def _hyp1f1_body(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    out: Array = jnp.vectorize(_hyp1f1_scalar)(a, b, x)
    return out


_hyp1f1 = custom_jvp(_hyp1f1_body)


def hyp1f1(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """The confluent hypergeometric function ``1F1(a; b; x) = sum_k (a)_k x^k / ((b)_k k!)``
    of real arguments (1 at ``a == b == 0``, unlike SciPy)."""
    out: Array = _hyp1f1(a, b, x)
    return out


_hyp1f1.defjvps(
    lambda a_dot, ans, a, b, x: _hyp1f1_a_derivative(a, b, x) * a_dot,
    lambda b_dot, ans, a, b, x: _hyp1f1_b_derivative(a, b, x) * b_dot,
    lambda x_dot, ans, a, b, x: _hyp1f1_x_derivative(a, b, x) * x_dot,
)


# ---------------------------------------------------------------------------------------------
# 2F1


def _hyp2f1_terminal(a: Array, b: Array, c: Array, x: Array) -> Array:
    """The finite sum when ``a`` (or ``b``, swapped in when it is the non-positive integer
    that ends the series first) is a non-positive integer."""
    eps = _eps(x) * 50
    ib = jnp.round(b)
    swap = (b < a) & (jnp.abs(b - ib) < eps) & ~((c % 1 == 0) & (c <= 0) & (c > b))
    a, b = jnp.where(swap, b, a), jnp.where(swap, a, b)
    a = jnp.abs(a)

    def body(i: Array, state: tuple[Array, Array]) -> tuple[Array, Array]:
        total, term = state
        term = term * (-(a - i + 1) / (c + i - 1) * (b + i - 1) / i * x)
        return total + term, term

    one = jnp.array(1, dtype=x.dtype)
    out: Array = lax.fori_loop(jnp.array(1, dtype=a.dtype), a + 1, body, (one, one))[0]
    return out


def _hyp2f1_series(a: Array, b: Array, c: Array, x: Array) -> Array:
    """The Taylor series, to ``eps`` relative to the sum or 250 terms."""
    rtol = _eps(x)

    def body(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        total, k, term = state
        total = total + term
        term = term * ((a + k - 1) * (b + k - 1) / (c + k - 1) / k * x)
        return total, k + 1, term

    def cond(state: tuple[Array, Array, Array]) -> Array:
        total, k, term = state
        out: Array = (k < _MAX_TERMS) & (lax.abs(term) > rtol * lax.abs(total))
        return out

    init = (jnp.array(0, dtype=x.dtype), jnp.array(1, dtype=x.dtype),
            jnp.array(1, dtype=x.dtype))
    out: Array = lax.while_loop(cond, body, init)[0]
    return out


def _hyp2f1_terminal_or_series(a: Array, b: Array, c: Array, x: Array) -> Array:
    """The terminating sum for a non-positive integer ``a`` or ``b``; near ``x = 1`` the
    digamma transformation when ``c - a - b`` is an integer; else the series."""
    eps = _eps(x) * 50
    d = c - a - b
    neg_int_a = (a <= 0) & (jnp.abs(a - jnp.round(a)) < eps)
    neg_int_b = (b <= 0) & (jnp.abs(b - jnp.round(b)) < eps)
    neg_int = neg_int_a | neg_int_b
    index = jnp.where((x > 0.9) & ~neg_int, jnp.where(jnp.abs(d - jnp.round(d)) >= eps, 0, 1),
                      jnp.where(neg_int, 2, 0))
    return lax.select_n(index, _hyp2f1_series(a, b, c, x),
                        _hyp2f1_digamma_transform(a, b, c, x), _hyp2f1_terminal(a, b, c, x))


_DigammaState = tuple[Array, Array, Array, Array, Array]  # p, q, r, t, y


def _hyp2f1_digamma_transform(a: Array, b: Array, c: Array, x: Array) -> Array:
    """2F1 in powers of ``1 - x`` when ``c - a - b`` is an integer (A&S 15.3.10-12)."""
    rtol = _eps(x)
    d = c - a - b
    s = 1 - x
    rd = jnp.round(d)
    e = jnp.where(rd >= 0, d, -d)
    zero = jnp.array(0, dtype=d.dtype)
    d1 = jnp.where(rd >= 0, d, zero)
    d2 = jnp.where(rd >= 0, zero, d)
    ard = jnp.where(rd >= 0, rd, -rd).astype("int32")
    ax = jnp.log(s)
    y = digamma(1.0) + digamma(1.0 + e) - digamma(a + d1) - digamma(b + d1) - ax
    y /= gamma(e + 1.0)
    p = (a + d1) * (b + d1) * s / gamma(e + 2.0)
    def cond(state: _DigammaState) -> Array:
        _, q, _, t, y = state
        out: Array = (t < _MAX_TERMS) & (jnp.abs(q) >= rtol * jnp.abs(y))
        return out

    def body(state: _DigammaState) -> _DigammaState:
        p, _, _, t, y = state
        r = (digamma(1.0 + t) + digamma(1.0 + t + e) - digamma(a + t + d1)
             - digamma(b + t + d1) - ax)
        q = p * r
        p = p * (s * (a + t + d1) / (t + 1.0))
        p = p * ((b + t + d1) / (t + 1.0 + e))
        return p, q, r, t + 1.0, y + q

    one = jnp.array(1, dtype=x.dtype)
    _, _, _, _, y = lax.while_loop(cond, body, (p, y, jnp.array(0, dtype=x.dtype), one, y))

    def with_finite_sum(y: Array) -> Array:
        def finite_body(i: Array, state: tuple[Array, Array, Array]
                        ) -> tuple[Array, Array, Array]:
            p, t, y1 = state
            p = p * (s * (a + t + d2) * (b + t + d2) / (1.0 - e + t))
            t = t + 1.0
            p = p / t
            return p, t, y1 + p

        init = (jnp.array(1, dtype=x.dtype), jnp.array(0, dtype=x.dtype), one)
        y1 = lax.fori_loop(1, ard, finite_body, init)[-1]
        gc = gamma(c)
        y1 = y1 * (gamma(e) * gc / (gamma(a + d1) * gamma(b + d1)))
        y = y * (gc / (gamma(a + d2) * gamma(b + d2)))
        y = jnp.where((ard & 1) != 0, -y, y)
        q = s**rd
        return where_(rd > 0, y * q + y1, y + y1 * q)

    return where_(rd == 0, y * gamma(c) / (gamma(a) * gamma(b)), with_finite_sum(y))


def _hyp2f1_parameter_derivative(which: str) -> Any:
    """The derivative of 2F1 in ``a``, ``b`` or ``c``: the series with each term weighted by
    ``psi(a + k) - psi(a)``, ``psi(b + k) - psi(b)`` or ``psi(c) - psi(c + k)``."""

    def scalar(a: Array, b: Array, c: Array, x: Array) -> Array:
        def weight(k: Any) -> Array:
            if which == "a":
                return digamma(a + k) - digamma(a)
            if which == "b":
                return digamma(b + k) - digamma(b)
            return digamma(c) - digamma(c + k)

        return _series(a * b / c * x, 0, lambda k: (a + k) * (b + k) / (c + k) / (k + 1) * x, x,
                       weight=weight)

    def derivative(a: ArrayLike, b: ArrayLike, c: ArrayLike, x: ArrayLike) -> Array:
        out: Array = jnp.vectorize(scalar)(a, b, c, x)
        return out

    derivative.__name__ = f"_hyp2f1_{which}_derivative"
    return library_jit()(derivative)


_hyp2f1_a_derivative = _hyp2f1_parameter_derivative("a")
_hyp2f1_b_derivative = _hyp2f1_parameter_derivative("b")
_hyp2f1_c_derivative = _hyp2f1_parameter_derivative("c")


@library_jit(name="_hyp2f1_x_derivative")
def _hyp2f1_x_derivative(a: Array, b: Array, c: Array, x: Array) -> Array:
    out: Array = a * b / c * hyp2f1(a + 1, b + 1, c + 1, x)
    return out


def _hyp2f1_scalar(a: ArrayLike, b: ArrayLike, c: ArrayLike, x: ArrayLike) -> Array:
    """2F1(a, b; c; x) of scalars: 1 at ``x == 0`` (or ``a`` or ``b`` zero); inf at a
    non-positive integer ``c`` or for ``x > 1``; Euler's transformation for ``c - a - b <= -1``;
    ``(1 - x)^-a`` or ``^-b`` when ``b`` or ``a`` equals ``c``; Gauss's sum at ``x == 1``."""
    a_arr, b_arr, c_arr, x_arr = promote_args_inexact("hyp2f1", a, b, c, x)
    eps = _eps(x_arr) * 50
    d = c_arr - a_arr - b_arr
    s = 1 - x_arr
    ca = c_arr - a_arr
    cb = c_arr - b_arr
    index = jnp.where(
        (x_arr == 0) | (((a_arr == 0) | (b_arr == 0)) & (c_arr != 0)), 0,
        jnp.where((c_arr == 0) | ((c_arr < 0) & (c_arr % 1 == 0)), 1,
        jnp.where((d <= -1) & ~((jnp.abs(d - jnp.round(d)) >= eps) & (s < 0)), 2,
        jnp.where((d <= 0) & (x_arr == 1), 1,
        jnp.where((x_arr < 1) & (b_arr == c_arr), 3,
        jnp.where((x_arr < 1) & (a_arr == c_arr), 4,
        jnp.where(x_arr > 1, 1,
        jnp.where(x_arr == 1, 5, 6))))))))
    return lax.select_n(index,
                        jnp.array(1, dtype=x_arr.dtype),
                        jnp.array(np.inf, dtype=x_arr.dtype),
                        s**d * _hyp2f1_terminal_or_series(ca, cb, c_arr, x_arr),
                        s ** (-a_arr),
                        s ** (-b_arr),
                        gamma(c_arr) * gamma(d) / (gamma(ca) * gamma(cb)),
                        _hyp2f1_terminal_or_series(a_arr, b_arr, c_arr, x_arr))


@library_jit(name="hyp2f1")
def _hyp2f1_body(a: ArrayLike, b: ArrayLike, c: ArrayLike, x: ArrayLike) -> Array:
    out: Array = jnp.vectorize(_hyp2f1_scalar)(a, b, c, x)
    return out


_hyp2f1 = custom_jvp(_hyp2f1_body)


def hyp2f1(a: ArrayLike, b: ArrayLike, c: ArrayLike, x: ArrayLike) -> Array:
    """The Gauss hypergeometric function ``2F1(a, b; c; x) = sum_k (a)_k (b)_k x^k /
    ((c)_k k!)`` of real arguments."""
    out: Array = _hyp2f1(a, b, c, x)
    return out


_hyp2f1.defjvps(
    lambda a_dot, ans, a, b, c, x: _hyp2f1_a_derivative(a, b, c, x) * a_dot,
    lambda b_dot, ans, a, b, c, x: _hyp2f1_b_derivative(a, b, c, x) * b_dot,
    lambda c_dot, ans, a, b, c, x: _hyp2f1_c_derivative(a, b, c, x) * c_dot,
    lambda x_dot, ans, a, b, c, x: _hyp2f1_x_derivative(a, b, c, x) * x_dot,
)
