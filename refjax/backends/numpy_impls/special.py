"""Numpy implementations of the special-function primitives of ``refjax.primitives.special``.

numpy has none of these functions and refjax depends on numpy alone, so each is computed here,
vectorised, in float64, and rounded once to the operands' dtype (float32 results are thus nearly
always correctly rounded, where XLA computes in float32 and is off by a few ulp):

- ``igamma``/``igammac`` (and ``igamma_grad_a``): the power series of ``P(a, x)`` for
  ``x < 1`` or ``x <= a``, else the continued fraction of ``Q(a, x)`` (Cephes' ``igam``/``igamc``,
  the algorithms JAX lowers), carrying the derivatives in ``a`` along for ``igamma_grad_a``.
  The prefactor ``x**a e**-x / Gamma(a)`` is ``exp`` of a difference of large terms for large
  ``a``, so relative accuracy falls to about ``1e-16 * a`` there (as in XLA);
- ``regularized_incomplete_beta``: the continued fraction DLMF 8.17.22 by Lentz's method, on
  ``I_x(a, b)`` or on ``1 - I_(1-x)(b, a)``, whichever converges fast (DLMF 8.17.4);
- ``zeta``: direct summation, then the Euler-Maclaurin tail (Bernoulli numbers computed once in
  exact rational arithmetic);
- ``bessel_i0e``/``bessel_i1e``: the power series (all terms positive) below ``|x| = 20``, and the
  asymptotic expansion above, whose terms past the first share one sign.

Edge values follow JAX's lowerings (``jax/_src/lax/special.py``) and XLA's ``zeta``: NaN outside
the domain, ``igamma(a, 0) = 0`` and ``igamma(a, inf) = 1``; ``igamma`` is 0 (``igammac`` 1)
where ``x**a e**-x / Gamma(a)`` underflows in the operands' dtype (float32 for 16-bit ones), as
there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Final

import numpy as np

from refjax.backends.numpy_impls import (  # noqa: F401  # lgamma's and digamma's kernels
    transcendental,
)
from refjax.backends.numpy_impls.table import impls, register
from refjax.backends.numpy_impls.transcendental import euler_maclaurin_zeta
from refjax.dtypes import DType
from refjax.interp.core import NDArray
from refjax.primitives import special as sp
from refjax.primitives import transcendental as tr

_EPS: Final = float(np.finfo(np.float64).eps)
_MAX_ITERATIONS: Final = 100_000  # a bound only: the loops stop when every element converged


def _lgamma(x: NDArray) -> NDArray:
    return np.asarray(impls[tr.lgamma_p](x))


def _digamma(x: NDArray) -> NDArray:
    return np.asarray(impls[tr.digamma_p](x))


def _in_float64(fn: Callable[..., NDArray]) -> Callable[..., NDArray]:
    """``fn`` on float64 operands broadcast together, with the operands' dtype passed as
    ``dtype=``; the result rounded once to that dtype."""

    @functools.wraps(fn)
    def wide(*args: NDArray) -> NDArray:
        dtype = np.result_type(*args)
        operands = [np.asarray(a, np.float64) for a in np.broadcast_arrays(*args)]
        with np.errstate(all="ignore"):
            out = fn(*(o.reshape(-1) for o in operands), dtype=np.dtype(dtype))
            return np.asarray(out).reshape(operands[0].shape).astype(dtype)

    return wide


def _iterate(
    active: NDArray,
    state: list[NDArray],
    step: Callable[[list[NDArray]], tuple[list[NDArray], NDArray]],
) -> list[NDArray]:
    """Run ``step`` on the elements of ``state`` where ``active`` holds until each converges.

    ``step(values) -> (new values, still unconverged)`` sees only the unconverged elements, so
    a slowly converging element does not make the whole array iterate.
    """
    state = [s.copy() for s in state]
    index = np.flatnonzero(active)
    for _ in range(_MAX_ITERATIONS):
        if index.size == 0:
            break
        values, going = step([s[index] for s in state])
        for s, v in zip(state, values, strict=True):
            s[index] = v
        index = index[going]
    return state


# ---------------------------------------------------------------------------------------------
# Incomplete gamma functions


def _log_prefactor(a: NDArray, x: NDArray) -> NDArray:
    """log(x**a e**-x / Gamma(a))."""
    return np.asarray(a * np.log(x) - x - _lgamma(a))


def _series(a: NDArray, x: NDArray, active: NDArray) -> tuple[NDArray, NDArray]:
    """sum_n x**n / ((a+1)...(a+n)) and its derivative in ``a`` (Cephes' ``igam`` series)."""
    ones = np.ones_like(a)

    def step(v: list[NDArray]) -> tuple[list[NDArray], NDArray]:
        aa, xx, r, c, ans, dc_da, dans_da = v
        r = r + 1
        dc_da = dc_da * (xx / r) - (c * xx) / (r * r)
        dans_da = dans_da + dc_da
        c = c * (xx / r)
        ans = ans + c
        going = (c > _EPS * ans) | (np.abs(dc_da) > _EPS * np.abs(dans_da))
        return [aa, xx, r, c, ans, dc_da, dans_da], going

    state = [a, x, a.copy(), ones, ones.copy(), np.zeros_like(a), np.zeros_like(a)]
    out = _iterate(active, state, step)
    return out[4], out[6]


def _continued_fraction(a: NDArray, x: NDArray, active: NDArray) -> tuple[NDArray, NDArray]:
    """Cephes' continued fraction of Q(a, x) e**x x**-a Gamma(a), and its derivative in ``a``."""
    y = 1 - a
    z = x + y + 1
    pkm2, qkm2 = np.ones_like(x), x.copy()
    pkm1, qkm1 = x + 1, z * x
    ans = pkm1 / qkm1
    dpkm2, dqkm2, dpkm1, dqkm1 = (np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), -x)
    dans = (dpkm1 - ans * dqkm1) / qkm1
    c = np.zeros_like(x)
    big = 1 / _EPS

    def step(v: list[NDArray]) -> tuple[list[NDArray], NDArray]:
        yy, zz, cc, p2, q2, p1, q1, an, dp2, dq2, dp1, dq1, dan = v
        cc = cc + 1
        yy = yy + 1
        zz = zz + 2
        yc = yy * cc
        pk = p1 * zz - p2 * yc
        qk = q1 * zz - q2 * yc
        dpk = dp1 * zz - p1 - dp2 * yc + p2 * cc
        dqk = dq1 * zz - q1 - dq2 * yc + q2 * cc
        nonzero = qk != 0
        r = pk / np.where(nonzero, qk, 1)
        t = np.where(nonzero, np.abs((an - r) / r), 1)
        an = np.where(nonzero, r, an)
        dan_new = np.where(nonzero, (dpk - an * dqk) / np.where(nonzero, qk, 1), dan)
        dt = np.where(nonzero, np.abs(dan_new - dan), 1)
        p2, p1, q2, q1 = p1, pk, q1, qk
        dp2, dp1, dq2, dq1 = dp1, dpk, dq1, dqk
        scale = np.where(np.abs(pk) > big, _EPS, 1.0)
        p2, p1, q2, q1 = p2 * scale, p1 * scale, q2 * scale, q1 * scale
        dp2, dp1, dq2, dq1 = dp2 * scale, dp1 * scale, dq2 * scale, dq1 * scale
        going = (t > _EPS) | (dt > _EPS * np.abs(dan_new))
        return [yy, zz, cc, p2, q2, p1, q1, an, dp2, dq2, dp1, dq1, dan_new], going

    state = [y, z, c, pkm2, qkm2, pkm1, qkm1, ans, dpkm2, dqkm2, dpkm1, dqkm1, dans]
    out = _iterate(active, state, step)
    return out[7], out[12]


def _underflow(log_ax: NDArray, dtype: DType) -> NDArray:
    """Where the prefactor underflows in the dtype JAX computes in (JAX's ``underflow``):
    the operands', or float32 for 16-bit ones."""
    wide = np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    return np.asarray(log_ax < -math.log(float(np.finfo(wide).max)))


def _igamma_parts(
    a: NDArray, x: NDArray, dtype: DType, use_cf: NDArray, enabled: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray, NDArray]:
    """The prefactor, then the series (value and derivative) on ``enabled & ~use_cf`` and the
    continued fraction (value and derivative) on ``enabled & use_cf``."""
    log_ax = _log_prefactor(a, x)
    enabled = enabled & ~_underflow(log_ax, dtype)
    ax = np.exp(log_ax)
    s, ds = _series(a, x, enabled & ~use_cf)
    f, df = _continued_fraction(a, x, enabled & use_cf)
    return ax, s, ds, f, df, enabled


@register(sp.igamma_p)
@_in_float64
def _igamma(a: NDArray, x: NDArray, *, dtype: DType) -> NDArray:
    """P(a, x): NaN outside a, x >= 0 (and at a = x = 0), 0 at x = 0, 1 at x = inf."""
    is_nan = np.isnan(a) | np.isnan(x)
    domain_error = (x < 0) | (a < 0) | ((a == 0) & (x == 0)) | is_nan
    use_cf = (x >= 1) & (x > a)
    enabled = ~((x == 0) | domain_error | (x == np.inf))
    ax, s, _, f, _, _ = _igamma_parts(a, x, dtype, use_cf, enabled)
    out = np.where(use_cf, 1 - f * ax, s * ax / a)
    out = np.where(x == 0, 0.0, out)
    out = np.where(x == np.inf, 1.0, out)
    return np.where(domain_error, np.nan, out)


@register(sp.igammac_p)
@_in_float64
def _igammac(a: NDArray, x: NDArray, *, dtype: DType) -> NDArray:
    """Q(a, x) = 1 - P(a, x): NaN outside the domain, 0 at x = inf and at a = 0."""
    is_nan = np.isnan(a) | np.isnan(x)
    domain_error = (x < 0) | (a < 0) | ((a == 0) & (x == 0)) | is_nan
    use_series = (x < 1) | (x < a)
    enabled = ~(domain_error | (x == np.inf) | (a == 0))
    ax, s, _, f, _, _ = _igamma_parts(a, x, dtype, ~use_series, enabled)
    out = np.where(use_series, 1 - s * ax / a, f * ax)
    out = np.where((x == np.inf) | (a == 0), 0.0, out)
    return np.where(domain_error, np.nan, out)


@register(sp.igamma_grad_a_p)
@_in_float64
def _igamma_grad_a(a: NDArray, x: NDArray, *, dtype: DType) -> NDArray:
    """d/da P(a, x): NaN for x < 0 or a <= 0, 0 at x = 0."""
    is_nan = np.isnan(a) | np.isnan(x)
    domain_error = (x < 0) | (a <= 0) | ((a == np.inf) & (x < np.inf))
    use_cf = (x > 1) & (x > a)
    enabled = ~((x == 0) | domain_error | is_nan)
    safe_a = np.where(domain_error | is_nan, 1.0, a)
    ax, s, ds, f, df, enabled = _igamma_parts(safe_a, x, dtype, use_cf, enabled)
    series = ax * (s * (np.log(x) - _digamma(safe_a + 1)) + ds) / safe_a
    fraction = -ax * (f * (np.log(x) - _digamma(safe_a)) + df)
    out = np.where(use_cf, fraction, series)
    out = np.where(enabled, out, 0.0)  # the prefactor underflows: the derivative does too
    out = np.where(x == 0, 0.0, out)
    return np.where(domain_error | is_nan, np.nan, out)


# ---------------------------------------------------------------------------------------------
# Regularized incomplete beta function


def _beta_fraction(a: NDArray, b: NDArray, x: NDArray, active: NDArray) -> NDArray:
    """1 / (1 + d1 / (1 + d2 / (1 + ...))) of DLMF 8.17.22, by the modified Lentz method."""
    tiny = 1e-300

    def numerator(m2: NDArray, aa: NDArray, bb: NDArray, xx: NDArray) -> NDArray:
        """d_n for n = m2 (1, 2, 3 ...)."""
        m = np.floor(m2 / 2)
        odd = -(aa + m) * (aa + bb + m) * xx / ((aa + 2 * m) * (aa + 2 * m + 1))
        even = m * (bb - m) * xx / ((aa + 2 * m - 1) * (aa + 2 * m))
        return np.asarray(np.where(m2 % 2 == 1, odd, even))

    def step(v: list[NDArray]) -> tuple[list[NDArray], NDArray]:
        aa, bb, xx, n, c, d, f = v
        dn = numerator(n, aa, bb, xx)
        d = 1 + dn * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1 + dn / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1 / d
        delta = c * d
        f = f * delta
        return [aa, bb, xx, n + 1, c, d, f], np.abs(delta - 1) > _EPS

    # The fraction is 1/(1 + d1/(1 + ...)): after Lentz's first step (b_0 = 0, a_1 = 1),
    # f = 1, C = 1/tiny and D = 1.
    ones = np.ones_like(x)
    state = [a, b, x, ones.copy(), np.full_like(x, 1 / tiny), ones.copy(), ones.copy()]
    out = _iterate(active, state, step)
    return out[6]


@register(sp.regularized_incomplete_beta_p)
@_in_float64
def _betainc(a: NDArray, b: NDArray, x: NDArray, *, dtype: DType) -> NDArray:
    """I_x(a, b), with JAX's values at the domain's edges (a or b zero or infinite)."""
    a_is_zero = (a == 0) | (b == np.inf)
    b_is_zero = (b == 0) | (a == np.inf)
    is_nan = np.isnan(a) | np.isnan(b) | np.isnan(x)
    result_is_zero = (b_is_zero & (x != 1)) | (a_is_zero & (x == 0))
    result_is_one = (a_is_zero & (x != 0)) | (b_is_zero & (x == 1))
    result_is_nan = (a < 0) | (b < 0) | (x < 0) | (x > 1) | (a_is_zero & b_is_zero) | is_nan
    regular = ~(result_is_zero | result_is_one | result_is_nan) & (x > 0) & (x < 1)
    direct = x < (a + 1) / (a + b + 2)
    aa, bb = np.where(direct, a, b), np.where(direct, b, a)
    xx = np.where(direct, x, 1 - x)
    safe = [np.where(regular, v, 0.5) for v in (aa, bb, xx)]
    sa, sb, sx = safe
    fraction = _beta_fraction(sa, sb, sx, regular)
    log_factor = sa * np.log(sx) + sb * np.log1p(-sx) - (_lgamma(sa) + _lgamma(sb)
                                                         - _lgamma(sa + sb))
    value = fraction * np.exp(log_factor) / sa
    out = np.where(direct, value, 1 - value)
    out = np.where(regular, out, np.where(x <= 0, 0.0, 1.0))  # x = 0 or 1 in the domain
    out = np.where(result_is_zero, 0.0, out)
    out = np.where(result_is_one, 1.0, out)
    return np.where(result_is_nan, np.nan, out)


# ---------------------------------------------------------------------------------------------
# Hurwitz zeta function


def _bernoulli_even(count: int) -> list[float]:
    """B_2j / (2j)! for j = 1..count, from B_0..B_2count computed exactly."""
    b: list[Fraction] = [Fraction(1)]
    for m in range(1, 2 * count + 1):
        b.append(-sum((math.comb(m + 1, k) * b[k] for k in range(m)), Fraction()) / (m + 1))
    return [float(b[2 * j] / math.factorial(2 * j)) for j in range(1, count + 1)]


_EULER_MACLAURIN: Final = _bernoulli_even(12)
_ZETA_SHIFT: Final = 12.0  # sum directly up to q + k >= 12 + |x| / 2, then Euler-Maclaurin


def _zeta_regular(x: NDArray, q: NDArray) -> NDArray:
    """zeta(x, q) for finite x > 1 and finite q off the non-positive integers (x integral
    where q < 0): direct terms, then zeta(x, a) = a**-x (a/(x-1) + 1/2 + sum_j B_2j/(2j)!
    x (x+1) .. (x+2j-2) a**(1-2j))."""
    target = _ZETA_SHIFT + np.minimum(np.abs(x), 400.0) / 2
    return euler_maclaurin_zeta(x, q, target, _EULER_MACLAURIN)


@register(sp.zeta_p)
@_in_float64
def _zeta(x: NDArray, q: NDArray, *, dtype: DType) -> NDArray:
    """zeta(x, q) for finite x > 1 and finite q, with XLA's choices elsewhere, applied in its
    order: NaN for x < 1 or x = inf, NaN for q <= 0 unless x is an integer; at the poles
    (integral q <= 0, and -inf) inf for even integral x, else NaN; and inf at x = 1 whatever q."""
    x_is_int = x == np.floor(x)
    q_le_zero = q <= 0
    at_pole = q_le_zero & (q == np.floor(q))
    regular = (x > 1) & np.isfinite(x) & np.isfinite(q) & (~q_le_zero | (x_is_int & ~at_pole))
    out = np.full_like(x, np.nan)
    out[regular] = _zeta_regular(x[regular], q[regular])
    even = x_is_int & (np.remainder(x, 2) == 0)
    out = np.where(at_pole, np.where(even, np.inf, np.nan), out)
    return np.where(x == 1, np.inf, out)


# ---------------------------------------------------------------------------------------------
# Exponentially scaled modified Bessel functions of orders 0 and 1

_SERIES_BELOW: Final = 20.0
_SERIES_TERMS: Final = 64
_ASYMPTOTIC_TERMS: Final = 40


def _asymptotic_coefficients(order: int) -> list[float]:
    """c_k with I_order(x) e**-x sqrt(2 pi x) ~ sum_k c_k x**-k (DLMF 10.40.1)."""
    mu = 4 * order * order
    coefficients, c = [1.0], Fraction(1)
    for k in range(1, _ASYMPTOTIC_TERMS):
        c *= Fraction(-(mu - (2 * k - 1) ** 2), 8 * k)
        coefficients.append(float(c))
    return coefficients


_I0_ASYMPTOTIC: Final = _asymptotic_coefficients(0)
_I1_ASYMPTOTIC: Final = _asymptotic_coefficients(1)


def _bessel_series(order: int, ax: NDArray) -> NDArray:
    """I_order(ax) = (ax/2)**order sum_k (ax**2/4)**k / (k! (k + order)!), for ax < 20."""
    z = ax * ax / 4
    term = np.ones_like(ax) / math.factorial(order)
    total = term.copy()
    for k in range(1, _SERIES_TERMS):
        term = term * z / (k * (k + order))
        total += term
    return np.asarray(total * (ax / 2) ** order)


def _bessel_asymptotic(coefficients: list[float], ax: NDArray) -> NDArray:
    """I_order(ax) e**-ax for ax >= 20: the expansion summed until its terms stop shrinking."""
    inv = 1 / ax
    total = np.zeros_like(ax)
    power = np.ones_like(ax)
    previous = np.full_like(ax, np.inf)
    for c in coefficients:
        term = c * power
        shrinking = np.abs(term) < previous
        total += np.where(shrinking, term, 0.0)
        previous = np.where(shrinking, np.abs(term), 0.0)
        power = power * inv
    return np.asarray(total / np.sqrt(2 * np.pi * ax))


def _bessel_scaled(order: int, x: NDArray) -> NDArray:
    """exp(-|x|) I_order(|x|), for finite x: the series or the asymptotic expansion."""
    ax = np.abs(x)
    small = ax < _SERIES_BELOW
    out = np.empty_like(ax)
    out[small] = _bessel_series(order, ax[small]) * np.exp(-ax[small])
    coefficients = _I0_ASYMPTOTIC if order == 0 else _I1_ASYMPTOTIC
    out[~small] = _bessel_asymptotic(coefficients, ax[~small])
    return out


@register(sp.bessel_i0e_p)
@_in_float64
def _bessel_i0e(x: NDArray, *, dtype: DType) -> NDArray:
    """exp(-|x|) I0(x): even, 0 at ±inf."""
    finite = np.isfinite(x)
    out = np.where(np.isnan(x), np.nan, 0.0)
    out[finite] = _bessel_scaled(0, x[finite])
    return out


@register(sp.bessel_i1e_p)
@_in_float64
def _bessel_i1e(x: NDArray, *, dtype: DType) -> NDArray:
    """exp(-|x|) I1(x): odd, ±0 at ±inf."""
    finite = np.isfinite(x)
    out = np.where(np.isnan(x), np.nan, 0.0)
    out[finite] = _bessel_scaled(1, x[finite])
    return np.copysign(out, x)
