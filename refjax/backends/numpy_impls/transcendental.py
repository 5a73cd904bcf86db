"""Numpy implementations of the transcendental and special-function primitives.

The elementary functions are numpy's ufuncs (numpy evaluates float16 in float32). ``logistic``,
``rsqrt`` and complex ``atan2`` are written out here, with float16 evaluated in float32.

numpy has no error or gamma functions, and refjax depends on numpy alone, so the special
functions are computed here, vectorised, in float64, and rounded once to the operand's dtype
(float32 and float16 results are thus correctly rounded in nearly all cases). Measured float64
accuracy against the C library and high-precision values: ``erf`` and ``erfc`` within 4 ulp;
``erf_inv`` within a few ulp, ``lgamma`` and ``digamma`` within a few ulp away from their zeros,
and within about 1e-16 absolute near them; ``polygamma`` within a few ulp for orders up to 30.
Edge values follow XLA: ``erf_inv(±1) = ±inf``, ``lgamma`` is ``inf`` at its poles and at
``±inf``, ``digamma`` is NaN at its poles and at ``-inf``; ``polygamma(m, x)`` is NaN unless ``m``
is a natural number, and for ``m >= 1`` it is ``inf`` (odd ``m``) or NaN (even ``m``) at the poles
and at ``-inf``, and NaN at ``+inf``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Final

import numpy as np

from refjax.backends.numpy_impls.table import impls, register
from refjax.interp.core import NDArray
from refjax.primitives import transcendental as tr

Kernel = Callable[[NDArray], NDArray]


def _quiet(fn: Kernel) -> Kernel:
    """``fn`` with numpy's floating-point warnings off: lax returns inf/NaN silently."""

    @functools.wraps(fn)
    def quiet(x: NDArray) -> NDArray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x))

    return quiet


def _at_least_float32(fn: Kernel) -> Kernel:
    """``fn`` evaluated in float32 for float16 operands, rounded back to float16."""

    @functools.wraps(fn)
    def wide(x: NDArray) -> NDArray:
        if x.dtype == np.float16:
            return fn(x.astype(np.float32)).astype(np.float16)
        return fn(x)

    return wide


def _in_float64(fn: Kernel) -> Kernel:
    """``fn`` evaluated in float64 and rounded once to the operand's dtype."""

    @functools.wraps(fn)
    def wide(x: NDArray) -> NDArray:
        with np.errstate(all="ignore"):
            return np.asarray(fn(x.astype(np.float64))).astype(x.dtype)

    return wide


# ---------------------------------------------------------------------------------------------
# Elementary functions

_UFUNCS: Final = {
    tr.exp_p: np.exp,
    tr.exp2_p: np.exp2,
    tr.log_p: np.log,
    tr.log1p_p: np.log1p,
    tr.tanh_p: np.tanh,
    tr.sin_p: np.sin,
    tr.cos_p: np.cos,
    tr.tan_p: np.tan,
    tr.asin_p: np.arcsin,
    tr.acos_p: np.arccos,
    tr.atan_p: np.arctan,
    tr.sinh_p: np.sinh,
    tr.cosh_p: np.cosh,
    tr.asinh_p: np.arcsinh,
    tr.acosh_p: np.arccosh,
    tr.atanh_p: np.arctanh,
    tr.sqrt_p: np.sqrt,
    tr.cbrt_p: np.cbrt,
}
impls.update({prim: _quiet(ufunc) for prim, ufunc in _UFUNCS.items()})


@register(tr.expm1_p)
@_quiet
def _expm1(x: NDArray) -> NDArray:
    """numpy's ``expm1``, except on the real axis of complex operands: there XLA gives
    ``expm1(a) + 0j`` with ``+0`` for ``a = -0`` (numpy's ``exp(a) * sin(0)`` is NaN for an
    infinite or NaN ``a``), as the array API's special cases ask."""
    if not np.iscomplexobj(x):
        return np.expm1(x)
    on_axis = (np.expm1(x.real) + 0.0).astype(x.dtype)  # + 0.0 turns -0 into +0
    return np.where(x.imag == 0, on_axis, np.expm1(x))


@register(tr.logistic_p)
@_quiet
@_at_least_float32
def _logistic(x: NDArray) -> NDArray:
    if np.iscomplexobj(x):
        return 1 / (1 + np.exp(-x))
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


@register(tr.rsqrt_p)
@_quiet
@_at_least_float32
def _rsqrt(x: NDArray) -> NDArray:
    return 1 / np.sqrt(x)


@register(tr.atan2_p)
def _atan2(x: NDArray, y: NDArray) -> NDArray:
    with np.errstate(all="ignore"):
        if not np.iscomplexobj(x):
            return np.asarray(np.arctan2(x, y))
        # atan(x / y) = -i log((y + i x) / sqrt(x**2 + y**2)); XLA's branch, as tests check.
        return np.asarray(-1j * np.log((y + 1j * x) / np.sqrt(x * x + y * y)))


# ---------------------------------------------------------------------------------------------
# Constants of the special functions, derived once in exact rational arithmetic


def _bernoulli(n: int) -> list[Fraction]:
    """Bernoulli numbers B_0..B_n, from sum_{k<=m} C(m+1, k) B_k = 0."""
    b: list[Fraction] = [Fraction(1)]
    for m in range(1, n + 1):
        b.append(-sum((math.comb(m + 1, k) * b[k] for k in range(m)), Fraction()) / (m + 1))
    return b


_B: Final = _bernoulli(22)


def _zeta_minus_one(s: int, n: int = 10, terms: int = 10) -> float:
    """zeta(s) - 1 for an integer s >= 2, by Euler-Maclaurin summation from n on."""
    head = sum((Fraction(1, k**s) for k in range(2, n)), Fraction())
    tail = Fraction(1, (s - 1) * n ** (s - 1)) + Fraction(1, 2 * n**s)
    rising = Fraction(s)  # s (s+1) ... (s+2j-2)
    for j in range(1, terms + 1):
        tail += _B[2 * j] / math.factorial(2 * j) * rising / n ** (s + 2 * j - 1)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
    return float(head + tail)


_ZETA_MINUS_ONE: Final = [_zeta_minus_one(k) for k in range(2, 33)]  # k = 2..32
_ONE_MINUS_EULER_GAMMA: Final = 0.42278433509846713939  # 1 - 0.5772156649015328606...
_HALF_LOG_TWO_PI: Final = 0.91893853320467274178  # log(2 pi) / 2
_TWO_OVER_SQRT_PI: Final = 1.1283791670955125739  # 2 / sqrt(pi)
_SQRT_PI_OVER_TWO: Final = 0.88622692545275801365  # sqrt(pi) / 2

# lgamma(2 + z) = z * sum_m LGAMMA_2[m] z**m,  psi(2 + z) = sum_m DIGAMMA_2[m] z**m  (|z| < 2):
# the Taylor series at 2, with coefficients (-1)**k (zeta(k) - 1) / k and (-1)**k (zeta(k) - 1).
_LGAMMA_2: Final = [_ONE_MINUS_EULER_GAMMA] + [
    (-1) ** k * zm1 / k for k, zm1 in enumerate(_ZETA_MINUS_ONE, start=2)
]
_DIGAMMA_2: Final = [_ONE_MINUS_EULER_GAMMA] + [
    (-1) ** k * zm1 for k, zm1 in enumerate(_ZETA_MINUS_ONE, start=2)
]
# Stirling: lgamma(x) ~ (x - 1/2) log x - x + log(2 pi)/2 + sum_k B_2k / (2k (2k-1) x**(2k-1)),
# and psi(x) ~ log x - 1/(2x) - sum_k B_2k / (2k x**2k); both to float64 precision for x >= 10.
_STIRLING: Final = [float(_B[2 * k] / (2 * k * (2 * k - 1))) for k in range(1, 10)]
_DIGAMMA_ASYMPTOTIC: Final = [float(_B[2 * k] / (2 * k)) for k in range(1, 10)]
_ASYMPTOTIC_FROM: Final = 10.0

# erf(x) = x * sum_n ERF_SERIES[n] x**(2n): Maclaurin, used for |x| < 1.
_ERF_SERIES: Final = [
    _TWO_OVER_SQRT_PI * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(20)
]
# log(erfc(x) exp(x**2) / t), t = 2 / (2 + x), as a Chebyshev series in 2t - 1 on x >= 0 (t in
# (0, 1]). Interpolated at 64 Chebyshev nodes in 80-digit decimal arithmetic, cut where the
# coefficients fall below 1e-17; tests/primitives/test_transcendental.py checks the fit.
_ERFCX_CHEBYSHEV: Final = [
    -0.6513268598908547, 0.6419697923564902, 0.019476473204185836,
    -0.009561514786808632, -0.0009465953444820369, 0.00036683949785276145,
    4.252332480690777e-05, -2.0278578112534242e-05, -1.6242900046470256e-06,
    1.3036558355805232e-06, 1.5626441722066142e-08, -8.523809591492654e-08,
    6.5290544390988515e-09, 5.059343495551469e-09, -9.91364156493033e-10,
    -2.273651222931836e-10, 9.646791102015527e-11, 2.3940380830391146e-12,
    -6.886027526497553e-12, 8.944879273090725e-13, 3.130921399342958e-13,
    -1.1270822361367252e-13, 3.810905255189232e-16, 7.106097613609237e-15,
    -1.5230282014571043e-15, -9.457494571291233e-17, 1.210237189224279e-16,
    -2.816663087747177e-17,
]  # fmt: skip


Piece = Callable[[NDArray], NDArray] | float


def _piecewise(x: NDArray, conditions: list[NDArray], pieces: list[Piece]) -> NDArray:
    """``pieces[i]`` on the elements where ``conditions[i]`` holds (a last piece: elsewhere).

    Each piece sees only its own elements, so no branch computes on values outside its range.
    """
    return np.asarray(np.piecewise(x, conditions, pieces))


def _poly(z: NDArray, coeffs: list[float]) -> NDArray:
    """sum_m coeffs[m] z**m, by Horner's rule."""
    acc = np.full_like(z, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc *= z
        acc += c
    return acc


def _chebyshev(u: NDArray, coeffs: list[float]) -> NDArray:
    """sum_k coeffs[k] T_k(u), by Clenshaw's recurrence b_k = 2u b_(k+1) - b_(k+2) + c_k."""
    two_u = 2 * u
    b1, b2 = np.zeros_like(u), np.zeros_like(u)
    for c in reversed(coeffs[1:]):
        b2 -= two_u * b1  # b2 becomes -b_k, then b_k
        np.negative(b2, out=b2)
        b2 += c
        b1, b2 = b2, b1
    return np.asarray(u * b1 - b2 + coeffs[0])


# ---------------------------------------------------------------------------------------------
# Error functions (float64 kernels)


def _exp_minus_square(x: NDArray) -> tuple[NDArray, NDArray]:
    """``exp(-x**2)`` as a product of two factors, without the rounding error of ``x * x``."""
    hi = x.astype(np.float32).astype(np.float64)  # 24 bits, so hi * hi is exact
    return np.exp(-hi * hi), -(x - hi) * (x + hi)  # exp(-x**2) = first * exp(second)


def _erfc_nonneg(x: NDArray) -> NDArray:
    """erfc(x) for x >= 0 (or NaN): t exp(-x**2 + chebyshev(2t - 1)), t = 2 / (2 + x)."""
    x = np.minimum(x, 28.0)  # erfc(28) underflows to 0; keeps inf out of the arithmetic
    t = 2 / (2 + x)
    scale, exponent = _exp_minus_square(x)
    return np.asarray(t * np.exp(_chebyshev(2 * t - 1, _ERFCX_CHEBYSHEV) + exponent) * scale)


def _erf_series(x: NDArray) -> NDArray:
    """erf(x) for |x| < 1, by its Maclaurin series."""
    return x * _poly(x * x, _ERF_SERIES)


def _erf(x: NDArray) -> NDArray:
    """erf(x): its Maclaurin series for |x| < 1, else ±(1 - erfc(|x|))."""
    return _piecewise(
        x,
        [np.abs(x) < 1],
        [_erf_series, lambda v: np.copysign(1 - _erfc_nonneg(np.abs(v)), v)],
    )


def _erfc(x: NDArray) -> NDArray:
    """erfc(x), with erfc(-x) = 2 - erfc(x)."""
    e = _erfc_nonneg(np.abs(x))
    return np.where(x < 0, 2 - e, e)


def _halley_erf_inv(y: NDArray, residual: Kernel) -> NDArray:
    """Refine y toward erf(y) = target by Halley's method, given residual(y) = erf(y) - target."""
    for _ in range(3):  # cubic convergence from 2e-3: 1e-8, then 1e-24
        f = residual(y)
        y = y - f / (_TWO_OVER_SQRT_PI * np.exp(-y * y) + y * f)  # f'' = -2 y f'
    return y


def _erf_inv_central(a: NDArray) -> NDArray:
    """erf_inv(a) for 0 <= a < 1/2: from its Maclaurin series in z = sqrt(pi)/2 a (3e-4)."""
    z = _SQRT_PI_OVER_TWO * a
    guess = z * _poly(z * z, [1, 1 / 3, 7 / 30, 127 / 630])
    return _halley_erf_inv(guess, lambda y: _erf_series(y) - a)


def _erf_inv_tail(a: NDArray) -> NDArray:
    """erf_inv(a) for 1/2 <= a < 1: from Winitzki's approximation (2e-3), on erfc's residual."""
    w = np.log((1 - a) * (1 + a))
    b = 2 / (np.pi * 0.147) + w / 2
    guess = np.sqrt(np.sqrt(b * b - w / 0.147) - b)
    return _halley_erf_inv(guess, lambda y: (1 - a) - _erfc_nonneg(y))  # 1 - a is exact


def _erf_inv(x: NDArray) -> NDArray:
    """erf_inv(x) on |x|, then the sign of x: ±inf at ±1, NaN beyond."""
    a = np.abs(x)
    y = _piecewise(
        a,
        [a < 0.5, (a >= 0.5) & (a < 1), a == 1],
        [_erf_inv_central, _erf_inv_tail, np.inf, np.nan],
    )
    return np.copysign(y, x)


# ---------------------------------------------------------------------------------------------
# Gamma functions (float64 kernels). Below 1/2 both reflect: Gamma(x) Gamma(1-x) = pi/sin(pi x).


def _shift_to_two(y: NDArray) -> tuple[NDArray, list[tuple[NDArray, NDArray]]]:
    """``y`` in [1.5, 10) moved down by whole steps into [1.5, 2.5), and the steps taken.

    Each step is (where it was taken, the point y - k it reached): lgamma(y) = lgamma(y - 1) +
    log(y - 1) and psi(y) = psi(y - 1) + 1 / (y - 1) add one term per step.
    """
    steps: list[tuple[NDArray, NDArray]] = []
    for _ in range(int(_ASYMPTOTIC_FROM) - 2):
        taken = y >= 2.5
        y = np.where(taken, y - 1, y)
        steps.append((taken, y))
    return y, steps


def _lgamma_near_one(y: NDArray) -> NDArray:
    """lgamma(y) for y in [1/2, 3/2): lgamma(2 + (y-1)) - log(y)."""
    z = y - 1
    return z * _poly(z, _LGAMMA_2) - np.log(y)


def _lgamma_near_two(y: NDArray) -> NDArray:
    """lgamma(y) for y in [3/2, 10): the series at 2 after stepping down."""
    shifted, steps = _shift_to_two(y)
    z = shifted - 2
    product = functools.reduce(np.multiply, [np.where(t, p, 1.0) for t, p in steps])
    return z * _poly(z, _LGAMMA_2) + np.log(product)


def _lgamma_stirling(y: NDArray) -> NDArray:
    """lgamma(y) for y >= 10, by Stirling's series."""
    r = 1 / y
    return (y - 0.5) * np.log(y) - y + _HALF_LOG_TWO_PI + r * _poly(r * r, _STIRLING)


def _lgamma_from_half(y: NDArray) -> NDArray:
    """lgamma(y) for y >= 1/2."""
    return _piecewise(
        y,
        [y < 1.5, (y >= 1.5) & (y < _ASYMPTOTIC_FROM)],
        [_lgamma_near_one, _lgamma_near_two, _lgamma_stirling],
    )


def _lgamma_reflected(x: NDArray) -> NDArray:
    """lgamma(x) for x < 1/2: log(pi / |sin(pi x)|) - lgamma(1 - x); inf at the poles."""
    r = x - np.round(x)  # exact; |sin(pi x)| = |sin(pi r)|
    return np.asarray(np.log(np.pi / np.abs(np.sin(np.pi * r))) - _lgamma_from_half(1 - x))


def _lgamma(x: NDArray) -> NDArray:
    """lgamma(x); inf at ±inf, as in XLA."""
    finite = np.isfinite(x)
    return _piecewise(
        x,
        [finite & (x < 0.5), finite & (x >= 0.5)],
        [_lgamma_reflected, _lgamma_from_half, np.abs],
    )


def _digamma_near_one(y: NDArray) -> NDArray:
    """digamma(y) for y in [1/2, 3/2): psi(2 + (y-1)) - 1/y."""
    return _poly(y - 1, _DIGAMMA_2) - 1 / y


def _digamma_near_two(y: NDArray) -> NDArray:
    """digamma(y) for y in [3/2, 10): the series at 2 after stepping down."""
    shifted, steps = _shift_to_two(y)
    stepped = functools.reduce(np.add, [np.where(t, 1 / p, 0.0) for t, p in steps])
    return _poly(shifted - 2, _DIGAMMA_2) + stepped


def _digamma_asymptotic(y: NDArray) -> NDArray:
    """digamma(y) for y >= 10, by its asymptotic series."""
    r = 1 / y
    return np.log(y) - r / 2 - r * r * _poly(r * r, _DIGAMMA_ASYMPTOTIC)


def _digamma_from_half(y: NDArray) -> NDArray:
    """digamma(y) for y >= 1/2."""
    return _piecewise(
        y,
        [y < 1.5, (y >= 1.5) & (y < _ASYMPTOTIC_FROM)],
        [_digamma_near_one, _digamma_near_two, _digamma_asymptotic],
    )


def _digamma_reflected(x: NDArray) -> NDArray:
    """digamma(x) for x < 1/2: psi(1 - x) - pi / tan(pi x); NaN at the poles, as in XLA."""
    r = x - np.round(x)  # exact; tan(pi x) = tan(pi r)
    value = _digamma_from_half(1 - x) - np.pi / np.tan(np.pi * r)
    return np.where(r == 0, np.nan, value)


def _digamma(x: NDArray) -> NDArray:
    """digamma(x); inf at inf, NaN at -inf, as in XLA."""
    finite = np.isfinite(x)
    return _piecewise(
        x,
        [finite & (x < 0.5), finite & (x >= 0.5)],
        [_digamma_reflected, _digamma_from_half, lambda v: np.where(v > 0, v, np.nan)],
    )


# polygamma(n, x) = (-1)**(n+1) n! zeta(n+1, x) for n >= 1, with the Hurwitz zeta function
# zeta(s, q) = sum_k (q + k)**-s summed directly up to a = q + K >= _ZETA_SHIFT + s, and the rest
# by Euler-Maclaurin: zeta(s, a) = a**-s (a/(s-1) + 1/2 + sum_{j<=10} B_2j/(2j)! s(s+1)..(s+2j-2)
# a**(1-2j)), whose first omitted term is below 1e-17 of the leading one there. Negative x reflect
# to 1 - x: summing up from x would take -x steps, and cancel between terms of both signs.
_ZETA_SHIFT: Final = 10.0
_EULER_MACLAURIN: Final = [float(_B[2 * j] / math.factorial(2 * j)) for j in range(1, 11)]
_MAX_FACTORIAL: Final = 170  # 171! overflows float64
_FACTORIALS: Final = np.array([float(math.factorial(k)) for k in range(_MAX_FACTORIAL + 1)])


def _hurwitz_zeta(s: NDArray, q: NDArray) -> NDArray:
    """zeta(s, q) for integer-valued s >= 2 and finite q > 0."""
    target = _ZETA_SHIFT + np.minimum(s, 2 * _MAX_FACTORIAL)  # bounded: n! overflows past 170
    return euler_maclaurin_zeta(s, q, target, _EULER_MACLAURIN)


def euler_maclaurin_zeta(s: NDArray, q: NDArray, target: NDArray,
                         coefficients: Sequence[float]) -> NDArray:
    """zeta(s, q): the terms (q + k)**-s summed directly until q + k reaches ``target``, the
    rest by the Euler-Maclaurin formula ``a**-s (a/(s-1) + 1/2 + sum_j B_2j/(2j)! s (s+1) ..
    (s+2j-2) a**(1-2j))`` with ``coefficients[j-1] = B_2j/(2j)!``."""
    head = np.zeros_like(q)
    a = q.copy()
    while True:
        below = a < target
        if not below.any():
            break
        head += np.where(below, np.power(np.where(below, a, 1.0), -s), 0.0)
        a = np.where(below, a + 1, a)
    inv = 1 / a
    tail = a / (s - 1) + 0.5
    rising, power = s.copy(), inv.copy()  # s (s+1) .. (s+2j-2), and a**(1-2j)
    for j, coefficient in enumerate(coefficients, start=1):
        tail += coefficient * rising * power
        rising *= (s + 2 * j - 1) * (s + 2 * j)
        power *= inv * inv
    return np.asarray(head + np.power(a, -s) * tail)


def _polygamma_by_zeta(n: NDArray, x: NDArray) -> NDArray:
    """polygamma(n, x) = (-1)**(n+1) n! zeta(n+1, x) for natural n >= 1 and x > 0."""
    index = np.minimum(n, _MAX_FACTORIAL).astype(np.int64)
    factorial = np.where(n > _MAX_FACTORIAL, np.inf, _FACTORIALS[index])
    sign = np.where(np.remainder(n, 2) == 1, 1.0, -1.0)
    return np.asarray(sign * factorial * _hurwitz_zeta(n + 1, x))


def _to_float(k: int) -> float:
    """A Python int as a float, ±inf beyond float64's range."""
    try:
        return float(k)
    except OverflowError:
        return math.inf if k > 0 else -math.inf


@functools.cache
def _cot_derivative(n: int) -> list[float]:
    """Coefficients of P_n (ascending), d^n/dy^n cot y = P_n(cot y): P_0 = c, P_k+1 = -(1+c^2) P_k'.

    Computed in exact integers; the coefficients of each P_n share one sign, so evaluating it
    cancels nothing.
    """
    p = [0, 1]
    for _ in range(n):
        derivative = [i * p[i] for i in range(1, len(p))]
        p = [0] * (len(derivative) + 2)
        for i, a in enumerate(derivative):
            p[i] -= a
            p[i + 2] -= a
    return [_to_float(a) for a in p]


def _cot_pi(r: NDArray) -> NDArray:
    """cot(pi r) for r in [-1/2, 1/2], as tan(pi (1/2 - |r|)) past 1/4 (exact argument there), so
    that it keeps its relative accuracy near r = ±1/2, where it vanishes."""
    far = np.abs(r) > 0.25
    near = 1 / np.tan(np.pi * np.where(far, 0.25, r))
    return np.where(far, np.copysign(np.tan(np.pi * (0.5 - np.abs(r))), r), near)


def _polygamma_reflected(n: NDArray, x: NDArray) -> NDArray:
    """polygamma(n, x) for non-integral x < 0 by reflection from 1 - x > 1:

    polygamma(n, x) = (-1)**n polygamma(n, 1 - x) - pi**(n+1) P_n(cot(pi x)).
    """
    r = x - np.round(x)  # exact; cot(pi x) = cot(pi r)
    trig = np.empty_like(x)
    for order in np.unique(n):
        at = n == order
        trig[at] = np.pi ** (order + 1) * _poly(_cot_pi(r[at]), _cot_derivative(int(order)))
    sign = np.where(np.remainder(n, 2) == 1, -1.0, 1.0)
    return np.asarray(sign * _polygamma_by_zeta(n, 1 - x) - trig)


def _polygamma_overflowing(n: NDArray, x: NDArray) -> NDArray:
    """±inf: polygamma(n, x) for n > 170 and non-integral x < 0, where |polygamma| >= n! 2**(n+1).

    The nearest pole's term (-1)**(n+1) n! r**-(n+1), r = x - round(x), dominates the sign.
    """
    r = x - np.round(x)
    odd = np.remainder(n, 2) == 1
    return np.where(odd | (r < 0), np.inf, -np.inf)


def _polygamma_natural(n: NDArray, x: NDArray) -> NDArray:
    """polygamma(n, x) for natural n >= 1: inf (odd n) or NaN (even n) at poles and -inf."""
    odd = np.remainder(n, 2) == 1
    pole = (x <= 0) & (x == np.floor(x))  # -inf included, as in XLA
    regular = ~pole & np.isfinite(x)  # +inf and NaN give NaN
    out = np.where(pole & odd, np.inf, np.nan)
    positive = regular & (x > 0)
    negative = regular & (x < 0) & (n <= _MAX_FACTORIAL)
    overflowing = regular & (x < 0) & (n > _MAX_FACTORIAL)
    out[positive] = _polygamma_by_zeta(n[positive], x[positive])
    out[negative] = _polygamma_reflected(n[negative], x[negative])
    out[overflowing] = _polygamma_overflowing(n[overflowing], x[overflowing])
    return out


def _polygamma(m: NDArray, x: NDArray) -> NDArray:
    """polygamma(m, x): digamma for m = 0, NaN unless m is a natural number."""
    m, x = (np.array(a, dtype=np.float64).reshape(-1) for a in np.broadcast_arrays(m, x))
    natural = np.isfinite(m) & (m >= 0) & (m == np.floor(m))
    out = np.full_like(x, np.nan)
    zero, higher = natural & (m == 0), natural & (m > 0)
    out[zero] = _digamma(x[zero])
    out[higher] = _polygamma_natural(m[higher], x[higher])
    return out


@register(tr.polygamma_p)
def _polygamma_impl(m: NDArray, x: NDArray) -> NDArray:
    shape = np.broadcast_shapes(np.shape(m), np.shape(x))
    with np.errstate(all="ignore"):
        return _polygamma(m, x).reshape(shape).astype(np.result_type(m, x))


impls[tr.erf_p] = _in_float64(_erf)
impls[tr.erfc_p] = _in_float64(_erfc)
impls[tr.erf_inv_p] = _in_float64(_erf_inv)
impls[tr.lgamma_p] = _in_float64(_lgamma)
impls[tr.digamma_p] = _in_float64(_digamma)
