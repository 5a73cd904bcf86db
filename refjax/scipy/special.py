"""``refjax.scipy.special``: special functions, mirroring ``jax.scipy.special``.

Each function promotes its arguments as JAX's does (to an inexact dtype) and is written with the
same ``refjax.lax`` and ``refjax.numpy`` operations, so values, dtypes, weak types, derivatives
and jaxprs match: ``gammasgn`` is a named ``jit`` call; ``logit``, ``xlogy``, ``xlog1py``, the
entropy helper ``_xlogx``, ``log_ndtr`` and ``zeta`` carry JAX's custom JVPs. The incomplete
gamma and beta functions, ``zeta`` and the Bessel functions are the primitives of
``refjax.primitives.special``; ``softmax`` and ``log_softmax`` are ``refjax.nn``'s, with
SciPy's signature (all axes by default).

Real arguments only: JAX's complex ``gamma`` and ``loggamma`` (a Lanczos approximation) are not
implemented and raise NotImplementedError here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Final

import numpy as np

from refjax import dtypes, lax, nn
from refjax import numpy as jnp
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, concrete_or_error, get_aval
from refjax.interp.jvp import instantiate, jvp_flat
from refjax.numpy._util import promote_args_inexact
from refjax.numpy._util import where_ as _where
from refjax.numpy.reductions import logsumexp as logsumexp
from refjax.primitives import special as lax_special
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant, full_like_scalar
from refjax.primitives.custom_derivatives import custom_jvp

__all__ = [
    "beta",
    "betainc",
    "betaln",
    "boxcox",
    "boxcox1p",
    "comb",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "factorial",
    "gamma",
    "gammainc",
    "gammaincc",
    "gammaln",
    "gammasgn",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "kl_div",
    "log_ndtr",
    "log_softmax",
    "loggamma",
    "logit",
    "logsumexp",
    "multigammaln",
    "ndtr",
    "ndtri",
    "polygamma",
    "rel_entr",
    "softmax",
    "xlog1py",
    "xlogy",
    "zeta",
]


def _const(x: ArrayLike, value: float) -> Array:
    """Rank-0 ``value`` with ``x``'s dtype and weak type (JAX's ``lax._const``)."""
    return full_like_scalar(x, value)


def _full_like(x: ArrayLike, value: float) -> Array:
    """``value`` in ``x``'s shape, dtype and weak type (``lax.full_like``)."""
    aval = get_aval(x)
    return lax.broadcast_in_dim(constant(value, aval.dtype, aval.weak_type), aval.shape, ())


def _dtype(x: ArrayLike) -> DType:
    """``x``'s canonical dtype (``lax.dtype``)."""
    return get_aval(x).dtype


def _is_complex(x: Array) -> bool:
    return dtypes.issubdtype(x.dtype, np.complexfloating)


def _no_complex(name: str, x: Array) -> None:
    if _is_complex(x):
        raise ValueError(f"{name} does not support complex-valued inputs.")


# ---------------------------------------------------------------------------------------------
# Gamma and beta functions


def gammaln(x: ArrayLike) -> Array:
    """The log of the absolute value of the gamma function (``scipy.special.gammaln``)."""
    (arr,) = promote_args_inexact("gammaln", x)
    return lax.lgamma(arr)


@library_jit()
def gammasgn(x: ArrayLike) -> Array:
    """The sign of the gamma function: NaN at the poles, -inf and NaN; -1 at -0."""
    (arr,) = promote_args_inexact("gammasgn", x)
    _no_complex("gammasgn", arr)
    typ = arr.dtype.type
    floor_x = lax.floor(arr)
    x_negative = arr < 0
    return jnp.select(
        [(x_negative & (arr == floor_x)) | jnp.isnan(arr),
         (x_negative & (floor_x % 2 != 0)) | ((arr == 0) & jnp.signbit(arr))],
        [typ(np.nan), typ(-1.0)],
        typ(1.0),
    )


def loggamma(x: ArrayLike) -> Array:
    """The principal branch of the log of the gamma function: for real ``x``, ``gammaln(x)``
    where ``x > 0`` and NaN elsewhere."""
    (arr,) = promote_args_inexact("loggamma", x)
    if _is_complex(arr):
        raise NotImplementedError("refjax: loggamma of complex arguments is not implemented.")
    res = lax.lgamma(arr)
    return _where(arr > 0, res, np.nan)


def gamma(x: ArrayLike) -> Array:
    """The gamma function: ``±inf`` at ``±0``, NaN at the negative integers and at ``-inf``."""
    (arr,) = promote_args_inexact("gamma", x)
    if _is_complex(arr):
        raise NotImplementedError("refjax: gamma of complex arguments is not implemented.")
    return gammasgn(arr) * lax.exp(lax.lgamma(arr))


def _algdiv(a: Array, b: Array) -> Array:
    """``lgamma(b) - lgamma(a + b)`` for ``a <= b``, ``b >= 8`` (SciPy's cdflib ``algdiv``)."""
    c0 = 0.833333333333333e-01
    c1 = -0.277777777760991e-02
    c2 = 0.793650666825390e-03
    c3 = -0.595202931351870e-03
    c4 = 0.837308034031215e-03
    c5 = -0.165322962780713e-02
    h = a / b
    c = h / (1 + h)
    x = h / (1 + h)
    d = b + (a - 0.5)
    x2 = x * x  # s_n = (1 - x**n) / (1 - x)
    s3 = 1.0 + (x + x2)
    s5 = 1.0 + (x + x2 * s3)
    s7 = 1.0 + (x + x2 * s5)
    s9 = 1.0 + (x + x2 * s7)
    s11 = 1.0 + (x + x2 * s9)
    t = (1.0 / b) ** 2  # w = del(b) - del(a + b), Stirling's remainders
    w = ((((c5 * s11 * t + c4 * s9) * t + c3 * s7) * t + c2 * s5) * t + c1 * s3) * t + c0
    w = w * (c / b)
    u = d * lax.log1p(a / b)
    v = a * (lax.log(b) - 1.0)
    return _where(u <= v, (w - v) - u, (w - u) - v)


def betaln(a: ArrayLike, b: ArrayLike) -> Array:
    """The log of the absolute value of the beta function; accurate for large arguments
    (SciPy's cdflib ``algdiv`` from ``max(a, b) >= 8``)."""
    a_arr, b_arr = promote_args_inexact("betaln", a, b)
    a_arr, b_arr = promote_args_inexact("betaln", a_arr, b_arr)
    lo, hi = jnp.minimum(a_arr, b_arr), jnp.maximum(a_arr, b_arr)
    small_b = lax.lgamma(lo) + (lax.lgamma(hi) - lax.lgamma(lo + hi))
    large_b = lax.lgamma(lo) + _algdiv(lo, hi)
    return _where(hi < 8, small_b, large_b)


def factorial(n: ArrayLike, exact: bool = False) -> Array:
    """``n!`` as ``gamma(n + 1)`` (0 for negative ``n``); ``exact=True`` is not supported."""
    if exact:
        raise NotImplementedError("factorial with exact=True")
    (arr,) = promote_args_inexact("factorial", n)
    return _where(arr < 0, 0, lax.exp(lax.lgamma(arr + 1)))


def comb(N: ArrayLike, k: ArrayLike, *, repetition: bool = False) -> Array:  # noqa: N803
    """The number of combinations of ``N`` things taken ``k`` at a time, as a float (0 unless
    ``0 <= k <= N``); with ``repetition``, multisets."""
    n_arr, k_arr = promote_args_inexact("comb", N, k)
    if repetition:
        cond = (k_arr == 0) & (n_arr >= 0)
        result = comb(n_arr + k_arr - 1, k_arr, repetition=False)
        return _where(cond, 1.0, result)
    cond = (k_arr <= n_arr) & (n_arr >= 0) & (k_arr >= 0)
    safe_n = _where(cond, n_arr, 0.0)
    safe_k = _where(cond, k_arr, 0.0)
    result = lax.exp(gammaln(safe_n + 1) - gammaln(safe_k + 1) - gammaln(safe_n + 1 - safe_k))
    return _where(cond, result, 0.0)


def beta(a: ArrayLike, b: ArrayLike) -> Array:
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``."""
    a_arr, b_arr = promote_args_inexact("beta", a, b)
    _no_complex("beta", a_arr)
    sign = gammasgn(a_arr) * gammasgn(b_arr) * gammasgn(a_arr + b_arr)
    return sign * lax.exp(betaln(a_arr, b_arr))


def betainc(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """The regularized incomplete beta function ``I_x(a, b)``."""
    a_arr, b_arr, x_arr = promote_args_inexact("betainc", a, b, x)
    _no_complex("betainc", x_arr)
    return lax_special.betainc(a_arr, b_arr, x_arr)


def digamma(x: ArrayLike) -> Array:
    """The digamma function, the derivative of ``gammaln``."""
    (arr,) = promote_args_inexact("digamma", x)
    return lax.digamma(arr)


def gammainc(a: ArrayLike, x: ArrayLike) -> Array:
    """The regularized lower incomplete gamma function ``P(a, x)``."""
    a_arr, x_arr = promote_args_inexact("gammainc", a, x)
    return lax_special.igamma(a_arr, x_arr)


def gammaincc(a: ArrayLike, x: ArrayLike) -> Array:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``."""
    a_arr, x_arr = promote_args_inexact("gammaincc", a, x)
    return lax_special.igammac(a_arr, x_arr)


def multigammaln(a: ArrayLike, d: ArrayLike) -> Array:
    """The log of the multivariate gamma function of dimension ``d`` (a concrete integer)."""
    d_int = int(concrete_or_error(d, "d argument of multigammaln"))
    a_arr, d_arr = promote_args_inexact("multigammaln", a, d_int)
    constant_term = lax.mul(
        lax.mul(lax.mul(_const(a_arr, 0.25), d_arr), lax.sub(d_arr, _const(a_arr, 1))),
        lax.log(_const(a_arr, np.pi)),
    )
    b = lax.div(jnp.arange(d_int, dtype=d_arr.dtype), _const(a_arr, 2))
    terms = gammaln(
        jnp.expand_dims(a_arr, axis=-1) - jnp.expand_dims(b, axis=tuple(range(a_arr.ndim)))
    )
    return jnp.sum(terms, axis=-1) + constant_term


def polygamma(n: ArrayLike, x: ArrayLike) -> Array:
    """The polygamma function ``psi^(n)(x)``; ``n`` must have an integer dtype."""
    n_dtype = _dtype(n)
    if not dtypes.issubdtype(n_dtype, np.integer):
        raise ValueError(
            f"Argument `n` to polygamma must be of integer type. Got dtype {n_dtype}."
        )
    n_arr, x_arr = promote_args_inexact("polygamma", n, x)
    _no_complex("polygamma", x_arr)
    return lax.polygamma(n_arr, x_arr)


# ---------------------------------------------------------------------------------------------
# Error functions


def erf(x: ArrayLike) -> Array:
    """The error function."""
    (arr,) = promote_args_inexact("erf", x)
    return lax.erf(arr)


def erfc(x: ArrayLike) -> Array:
    """The complementary error function ``1 - erf(x)``."""
    (arr,) = promote_args_inexact("erfc", x)
    return lax.erfc(arr)


def erfinv(x: ArrayLike) -> Array:
    """The inverse of the error function."""
    (arr,) = promote_args_inexact("erfinv", x)
    return lax.erf_inv(arr)


# ---------------------------------------------------------------------------------------------
# Logistic functions, logarithms and entropies


@custom_jvp
def logit(x: ArrayLike) -> Array:
    """The logit function ``log(p / (1 - p))``, the inverse of ``expit``."""
    (arr,) = promote_args_inexact("logit", x)
    return lax.log(lax.div(arr, lax.sub(_const(arr, 1), arr)))


logit.defjvps(lambda g, ans, x: lax.div(g, lax.mul(x, lax.sub(_const(x, 1), x))))


def expit(x: ArrayLike) -> Array:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    (arr,) = promote_args_inexact("expit", x)
    return lax.logistic(arr)


@custom_jvp
def xlogy(x: ArrayLike, y: ArrayLike) -> Array:
    """``x * log(y)``, 0 where ``x == 0`` (unless ``y`` is NaN), with derivatives defined there."""
    x_arr, y_arr = promote_args_inexact("xlogy", x, y)
    x_ok = x_arr != 0.0
    return _where(x_ok | jnp.isnan(y_arr), lax.mul(x_arr, lax.log(y_arr)),
                     jnp.zeros_like(x_arr))


def _xlogy_jvp(primals: tuple[Array, Array], tangents: tuple[Array, Array]) -> tuple[Array, Array]:
    x, y = primals
    x_dot, y_dot = tangents
    result = xlogy(x, y)
    return result, (x_dot * lax.log(y) + y_dot * x / y).astype(result.dtype)


xlogy.defjvp(_xlogy_jvp)


@custom_jvp
def xlog1py(x: ArrayLike, y: ArrayLike) -> Array:
    """``x * log1p(y)``, 0 where ``x == 0`` (unless ``y`` is NaN), with derivatives defined
    there."""
    x_arr, y_arr = promote_args_inexact("xlog1py", x, y)
    x_ok = x_arr != 0.0
    return _where(x_ok | jnp.isnan(y_arr), lax.mul(x_arr, lax.log1p(y_arr)),
                     jnp.zeros_like(x_arr))


def _xlog1py_jvp(
    primals: tuple[Array, Array], tangents: tuple[Array, Array]
) -> tuple[Array, Array]:
    x, y = primals
    x_dot, y_dot = tangents
    result = xlog1py(x, y)
    return result, (x_dot * lax.log1p(y) + y_dot * x / (1 + y)).astype(result.dtype)


xlog1py.defjvp(_xlog1py_jvp)


@custom_jvp
def _xlogx(x: ArrayLike) -> Array:
    """``x log(x)``, with the derivative ``log(x) + 1``."""
    out: Array = xlogy(x, x)
    return out


def _xlogx_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (x,) = primals
    (x_dot,) = tangents
    return _xlogx(x), x_dot * (lax.log(x) + 1)


_xlogx.defjvp(_xlogx_jvp)


def entr(x: ArrayLike) -> Array:
    """The elementwise entropy ``-x log(x)``: 0 at 0, ``-inf`` for negative ``x``."""
    (arr,) = promote_args_inexact("entr", x)
    _no_complex("entr", arr)
    return lax.select(lax.lt(arr, _const(arr, 0)), _full_like(arr, -np.inf),
                      lax.neg(_xlogx(arr)))


def kl_div(p: ArrayLike, q: ArrayLike) -> Array:
    """The elementwise Kullback-Leibler divergence ``p log(p/q) - p + q``."""
    p_arr, q_arr = promote_args_inexact("kl_div", p, q)
    _no_complex("kl_div", p_arr)
    return rel_entr(p_arr, q_arr) - p_arr + q_arr


def rel_entr(p: ArrayLike, q: ArrayLike) -> Array:
    """The elementwise relative entropy ``p log(p/q)``: 0 where ``p == 0 <= q``, ``inf`` where
    either is negative or only ``q`` is zero."""
    p_arr, q_arr = promote_args_inexact("rel_entr", p, q)
    _no_complex("rel_entr", p_arr)
    zero = _const(p_arr, 0.0)
    both_gt_zero_mask = lax.bitwise_and(lax.gt(p_arr, zero), lax.gt(q_arr, zero))
    one_zero_mask = lax.bitwise_and(lax.eq(p_arr, zero), lax.ge(q_arr, zero))
    safe_p = _where(both_gt_zero_mask, p_arr, 1)
    safe_q = _where(both_gt_zero_mask, q_arr, 1)
    log_val = lax.sub(_xlogx(safe_p), xlogy(safe_p, safe_q))
    return _where(both_gt_zero_mask, log_val, _where(one_zero_mask, zero, np.inf))


def boxcox(x: ArrayLike, lmbda: ArrayLike) -> Array:
    """The Box-Cox transformation ``(x**lmbda - 1) / lmbda`` (``log(x)`` at ``lmbda == 0``)."""
    x_arr, l_arr = promote_args_inexact("boxcox", x, lmbda)
    lmbda_is_zero = l_arr == 0
    safe_lmbda = _where(lmbda_is_zero, jnp.ones_like(l_arr), l_arr)
    log_x = jnp.log(x_arr)
    power_branch = jnp.expm1(safe_lmbda * log_x) / safe_lmbda
    return _where(lmbda_is_zero, log_x, power_branch)


def boxcox1p(x: ArrayLike, lmbda: ArrayLike) -> Array:
    """The Box-Cox transformation of ``1 + x``."""
    x_arr, l_arr = promote_args_inexact("boxcox1p", x, lmbda)
    lmbda_is_zero = l_arr == 0
    safe_lmbda = _where(lmbda_is_zero, jnp.ones_like(l_arr), l_arr)
    log1p_x = jnp.log1p(x_arr)
    power_branch = jnp.expm1(safe_lmbda * log1p_x) / safe_lmbda
    return _where(lmbda_is_zero, log1p_x, power_branch)


# ---------------------------------------------------------------------------------------------
# Zeta function

def _bernoulli_ratios(count: int) -> np.ndarray[Any, Any]:
    """(2k)! / B_2k for k = 1..count, with the Bernoulli numbers B_n computed exactly from
    sum_{j<=n} C(n+1, j) B_j = 0, then rounded once."""
    b: list[Fraction] = [Fraction(1)]
    for n in range(1, 2 * count + 1):
        b.append(-sum((math.comb(n + 1, j) * b[j] for j in range(n)), Fraction()) / (n + 1))
    return np.array([float(math.factorial(2 * k) / b[2 * k]) for k in range(1, count + 1)])


_BERNOULLI_COEFS: Final = _bernoulli_ratios(16)


def _riemann_not_implemented() -> NotImplementedError:
    return NotImplementedError(
        "Riemann zeta function not implemented; pass q != None to compute the Hurwitz Zeta "
        "function."
    )


@custom_jvp
def zeta(x: ArrayLike, q: ArrayLike | None = None) -> Array:
    """The Hurwitz zeta function ``sum_n (n + q)**-x``; the Riemann one (``q=None``) is not
    implemented, as in JAX."""
    if q is None:
        raise _riemann_not_implemented()
    x_arr, q_arr = promote_args_inexact("zeta", x, q)
    return lax_special.zeta(x_arr, q_arr)


def _zeta_series_expansion(x: ArrayLike, q: ArrayLike | None = None) -> Array:
    """zeta(x, q) by Euler-Maclaurin summation with N = M = 8 (float32) or 16 terms, written
    with differentiable operations (Johansson 2015, formula (5)): zeta's derivatives."""
    if q is None:
        raise _riemann_not_implemented()
    s, a = promote_args_inexact("zeta", x, q)
    dtype = a.dtype.type
    s_, a_ = jnp.expand_dims(s, -1), jnp.expand_dims(a, -1)
    n = m = dtype(8) if a.dtype == np.float32 else dtype(16)
    k = jnp.expand_dims(np.arange(n, dtype=n.dtype), tuple(range(a.ndim)))
    total = jnp.sum((a_ + k) ** -s_, -1)
    integral = lax.div((a + n) ** (dtype(1) - s), s - dtype(1))
    t0 = (a + n) ** -s
    ms = jnp.expand_dims(np.arange(2 * m, dtype=m.dtype), tuple(range(s.ndim)))
    s_over_a = (s_ + ms) / (a_ + n)
    t1 = jnp.cumprod(s_over_a, -1)[..., ::2]
    t1 = jnp.clip(t1, max=dtypes.finfo(dtype).max)
    coefs = np.expand_dims(np.array(_BERNOULLI_COEFS[: t1.shape[-1]], dtype=dtype),
                           tuple(range(a.ndim)))
    t1 = t1 / coefs
    tail = t0 * (dtype(0.5) + t1.sum(-1))
    out: Array = total + integral + tail
    return out


def _jvp_of(fun: Callable[..., Array], primals: tuple[ArrayLike, ...],
            tangents: tuple[ArrayLike, ...]) -> tuple[Array, Array]:
    """``jvp(fun, primals, tangents)`` for a function of arrays with one array output."""
    outs, tangents_out = jvp_flat(
        lambda *args: [fun(*args)], list(primals), [jnp.asarray(t) for t in tangents]
    )
    return outs[0], instantiate(tangents_out[0])


_jvp_of.__name__ = "jvp"  # the rule's name in printed jaxprs: JAX's is partial(jax.jvp, ...)
zeta.defjvp(functools.partial(_jvp_of, _zeta_series_expansion))


# ---------------------------------------------------------------------------------------------
# The normal distribution function

# log_ndtr's segments: below LOWER its asymptotic series, above UPPER -ndtr(-x)
_LOGNDTR_FLOAT64_LOWER: Final = np.array(-20, np.float64)
_LOGNDTR_FLOAT32_LOWER: Final = np.array(-10, np.float32)
_LOGNDTR_FLOAT64_UPPER: Final = np.array(8, np.float64)
_LOGNDTR_FLOAT32_UPPER: Final = np.array(5, np.float32)


def ndtr(x: ArrayLike) -> Array:
    """The standard normal distribution function; float32 and float64 only (TypeError else)."""
    arr = jnp.asarray(x)
    dtype = arr.dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(
            f"x.dtype={dtype} is not supported, see docstring for supported types."
        )
    return _ndtr(arr)


def _ndtr(x: ArrayLike) -> Array:
    """``(1 + erf(x / sqrt 2)) / 2``, through ``erfc`` away from 0."""
    dtype = _dtype(x).type
    half_sqrt_2 = dtype(0.5) * np.sqrt(2.0, dtype=dtype)
    w = jnp.multiply(x, half_sqrt_2)
    z = lax.abs(w)
    y = lax.select(
        lax.lt(z, half_sqrt_2),
        dtype(1.0) + lax.erf(w),
        lax.select(lax.gt(w, dtype(0.0)), dtype(2.0) - lax.erfc(z), lax.erfc(z)),
    )
    out: Array = dtype(0.5) * y
    return out


# Cephes' rational approximations of ndtri (JAX's constants)
_P0: Final = [-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
              1.39312609387279679503e1, -1.23916583867381258016e0]
_Q0: Final = [1.0, 1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
              -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
              1.59056225126211695515e1, -1.18331621121330003142e0]
_P1: Final = [4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
              4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
              -1.40256079171354495875e-1, -3.50424626827848203418e-2,
              -8.57456785154685413611e-4]
_Q1: Final = [1.0, 1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
              1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
              -3.80806407691578277194e-2, -9.33259480895457427372e-4]
_P2: Final = [3.23774891776946035970e0, 6.91522889068984211695e0, 3.93881025292474443415e0,
              1.33303460815807542389e0, 2.01485389549179081538e-1, 1.23716634817820021358e-2,
              3.01581553508235416007e-4, 2.65806974686737550832e-6, 6.23974539184983293730e-9]
_Q2: Final = [1.0, 6.02427039364742014255e0, 3.67983563856160859403e0, 1.37702099489081330271e0,
              2.16236993594496635890e-1, 1.34204006088543189037e-2, 3.28014464682127739104e-4,
              2.89247864745380683936e-6, 6.79019408009981274425e-9]


def ndtri(p: ArrayLike) -> Array:
    """The inverse of ``ndtr``: ``-inf`` at 0, ``inf`` at 1, NaN outside ``[0, 1]``; float32 and
    float64 only (TypeError else)."""
    dtype = _dtype(p)
    if dtype not in (np.float32, np.float64):
        raise TypeError(
            f"x.dtype={dtype} is not supported, see docstring for supported types."
        )
    return _ndtri(p)


def _ndtri(p: ArrayLike) -> Array:
    """Cephes' piecewise rational approximation, in ``w = p - 1/2`` near the middle and in
    ``z = sqrt(-2 log p)`` in the tails (one polynomial pair below ``exp(-32)``)."""
    dtype = _dtype(p).type
    shape = np.shape(p)
    p0, q0, p1, q1, p2, q2 = (np.array(c, dtype=dtype) for c in (_P0, _Q0, _P1, _Q1, _P2, _Q2))
    maybe_complement_p = _where(p > dtype(-np.expm1(-2.0)), dtype(1.0) - p, p)
    # 0 would give NaNs below; that branch's result is not used at p == 0
    sanitized_mcp = _where(maybe_complement_p == dtype(0.0), jnp.full(shape, dtype(0.5)),
                              maybe_complement_p)
    w = sanitized_mcp - dtype(0.5)
    ww = lax.square(w)
    x_for_big_p = w + w * ww * (jnp.polyval(p0, ww) / jnp.polyval(q0, ww))
    x_for_big_p *= -dtype(np.sqrt(2.0 * np.pi))
    z = lax.sqrt(dtype(-2.0) * lax.log(sanitized_mcp))
    first_term = z - lax.log(z) / z
    second_term_small_p = jnp.polyval(p2, 1 / z) / jnp.polyval(q2, 1 / z) / z
    second_term_otherwise = jnp.polyval(p1, 1 / z) / jnp.polyval(q1, 1 / z) / z
    x_for_small_p = first_term - second_term_small_p
    x_otherwise = first_term - second_term_otherwise
    x = _where(sanitized_mcp > dtype(np.exp(-2.0)), x_for_big_p,
                  _where(z >= dtype(8.0), x_for_small_p, x_otherwise))
    x = _where(p > dtype(1.0 - np.exp(-2.0)), x, -x)
    infinity = jnp.full(shape, dtype(np.inf))
    return _where(p == dtype(0.0), -infinity, _where(p == dtype(1.0), infinity, x))


def _check_series_order(series_order: object) -> None:
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")


def _log_ndtr_body(x: ArrayLike, series_order: int = 3) -> Array:
    """log(ndtr(x)): ``-ndtr(-x)`` above the upper segment, ``log(ndtr(x))`` in between, the
    asymptotic series below the lower segment."""
    _check_series_order(series_order)
    x_arr = jnp.asarray(x)
    dtype = x_arr.dtype
    if dtype == np.float64:
        lower_segment: np.ndarray[Any, Any] = _LOGNDTR_FLOAT64_LOWER
        upper_segment: np.ndarray[Any, Any] = _LOGNDTR_FLOAT64_UPPER
    elif dtype == np.float32:
        lower_segment = _LOGNDTR_FLOAT32_LOWER
        upper_segment = _LOGNDTR_FLOAT32_UPPER
    else:
        raise TypeError(f"x.dtype={np.dtype(dtype)} is not supported.")
    # The max/min keep the unchosen branches finite, so that their derivatives are too.
    x_arr_gt_upper_segment = lax.gt(x_arr, upper_segment)
    ndtr_arg = _where(x_arr_gt_upper_segment, -x_arr, lax.max(x_arr, lower_segment))
    ndtr_res = _ndtr(ndtr_arg)
    return _where(
        x_arr_gt_upper_segment,
        -ndtr_res,  # log(1 - u) ~ -u for small u
        _where(lax.gt(x_arr, lower_segment), lax.log(ndtr_res),
                  _log_ndtr_lower(lax.min(x_arr, lower_segment), series_order)),
    )


_log_ndtr_body.__name__ = "log_ndtr"  # the custom_jvp_call's name, as JAX shows it
_log_ndtr = custom_jvp(_log_ndtr_body, nondiff_argnums=(1,))


def log_ndtr(x: ArrayLike, series_order: int = 3) -> Array:
    """The log of the normal distribution function, accurate far into both tails (an
    asymptotic series of order ``series_order``, in ``[0, 30]``, below -20 (float64) or -10
    (float32)); float32 and float64 only."""
    out: Array = _log_ndtr(x, series_order)
    return out


def _log_ndtr_jvp(
    series_order: int, primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (x,), (t,) = primals, tangents
    ans = log_ndtr(x, series_order=series_order)
    t_out = lax.mul(t, lax.exp(lax.sub(_norm_logpdf(x), ans)))
    return ans, t_out


_log_ndtr.defjvp(_log_ndtr_jvp)


def _log_ndtr_lower(x: Array, series_order: int) -> Array:
    """The asymptotic expansion of log(ndtr(x)), for x << -1."""
    dtype = x.dtype.type
    x_2 = lax.square(x)
    log_scale = -dtype(0.5) * x_2 - lax.log(-x) - dtype(0.5 * np.log(2.0 * np.pi))
    out: Array = log_scale + lax.log(_log_ndtr_asymptotic_series(x, series_order))
    return out


def _log_ndtr_asymptotic_series(x: Array, series_order: int) -> Array | np.ndarray[Any, Any]:
    """1 + sum_n (-1)**n (2n-1)!! / x**2n, n = 1..series_order."""
    dtype = x.dtype.type
    if series_order <= 0:
        return np.array(1, dtype)
    x_2 = lax.square(x)
    even_sum = jnp.zeros_like(x)
    odd_sum = jnp.zeros_like(x)
    x_2n = x_2
    for n in range(1, series_order + 1):
        y = np.array(_double_factorial(2 * n - 1), dtype) / x_2n
        if n % 2:
            odd_sum += y
        else:
            even_sum += y
        x_2n *= x_2
    out: Array = dtype(1.0) + even_sum - odd_sum
    return out


def _double_factorial(n: int) -> int:
    """n!! for a small natural n."""
    return math.prod(range(n, 1, -2))


_NORM_LOGPDF_CONSTANT: Final = float(np.log(np.sqrt(2 * np.pi)))


def _norm_logpdf(x: Array) -> Array:
    return lax.sub(lax.mul(_const(x, -0.5), lax.square(x)), _const(x, _NORM_LOGPDF_CONSTANT))


# ---------------------------------------------------------------------------------------------
# Modified Bessel functions


def i0e(x: ArrayLike) -> Array:
    """The exponentially scaled modified Bessel function of order 0, ``exp(-|x|) I0(x)``."""
    (arr,) = promote_args_inexact("i0e", x)
    return lax_special.bessel_i0e(arr)


def i0(x: ArrayLike) -> Array:
    """The modified Bessel function of order 0."""
    (arr,) = promote_args_inexact("i0", x)
    return lax.mul(lax.exp(lax.abs(arr)), lax_special.bessel_i0e(arr))


def i1e(x: ArrayLike) -> Array:
    """The exponentially scaled modified Bessel function of order 1, ``exp(-|x|) I1(x)``."""
    (arr,) = promote_args_inexact("i1e", x)
    return lax_special.bessel_i1e(arr)


def i1(x: ArrayLike) -> Array:
    """The modified Bessel function of order 1."""
    (arr,) = promote_args_inexact("i1", x)
    return lax.mul(lax.exp(lax.abs(arr)), lax_special.bessel_i1e(arr))


# ---------------------------------------------------------------------------------------------
# Softmax, with SciPy's signature


def softmax(x: ArrayLike, /, *, axis: int | tuple[int, ...] | None = None) -> Array:
    """``exp(x) / sum(exp(x))`` over ``axis`` (all axes by default), ``jax.nn.softmax``'s."""
    return nn.softmax(x, axis=axis)


def log_softmax(x: ArrayLike, /, *, axis: int | tuple[int, ...] | None = None) -> Array:
    """``log(softmax(x))`` over ``axis`` (all axes by default), ``jax.nn.log_softmax``'s."""
    return nn.log_softmax(x, axis=axis)



# ---------------------------------------------------------------------------------------------
# The rest of jax.scipy.special, in modules of their own that build on the functions above
# (hence imported last).

from refjax.scipy.special_functions import (  # noqa: E402, I001  # they import this module
    bernoulli as bernoulli,
    bessel_jn as bessel_jn,
    dawsn as dawsn,
    erfcx as erfcx,
    exp1 as exp1,
    expi as expi,
    expn as expn,
    fresnel as fresnel,
    owens_t as owens_t,
    sici as sici,
    spence as spence,
    sph_harm_y as sph_harm_y,
    wofz as wofz,
)
from refjax.scipy.special_hypergeometric import (  # noqa: E402  # as above
    hyp1f1 as hyp1f1,
    hyp2f1 as hyp2f1,
    poch as poch,
)

__all__ += ["bernoulli", "bessel_jn", "dawsn", "erfcx", "exp1", "expi", "expn", "fresnel",
            "hyp1f1", "hyp2f1", "owens_t", "poch", "sici", "spence", "sph_harm_y", "wofz"]
