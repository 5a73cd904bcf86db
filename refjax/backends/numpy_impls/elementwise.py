"""Numpy implementations of the elementwise primitives (exact lax semantics, not numpy's).

Where numpy and XLA differ, XLA (as JAX runs it on CPU) wins: integer division truncates and
``x / 0`` is all ones bits; ``max``/``min`` propagate NaN and order -0 below +0; shifts by an
out-of-range amount give 0 (or the sign fill); float-to-integer casts saturate with NaN -> 0.
Integer arithmetic wraps around silently, so every implementation runs with numpy's floating
point and overflow warnings off.
"""

from __future__ import annotations

import functools

import numpy as np

from refjax.backends.numpy_impls.table import NumpyImpl, impls
from refjax.dtypes import DType
from refjax.interp.core import NDArray, Primitive
from refjax.primitives import elementwise as ew


def _quiet_register(prim: Primitive, fn: NumpyImpl) -> None:
    """Make ``fn`` the implementation of ``prim``, run on ndarrays with numpy warnings off."""

    @functools.wraps(fn)
    def run(*args: NDArray, **params: object) -> NDArray | tuple[NDArray, ...] | list[NDArray]:
        with np.errstate(all="ignore"):
            return fn(*(np.asarray(a) for a in args), **params)

    impls[prim] = run


def _unsigned(dtype: DType) -> DType:
    """The unsigned integer dtype of the same width."""
    return np.dtype(f"u{dtype.itemsize}")


def _signed(dtype: DType) -> DType:
    """The signed integer dtype of the same width."""
    return np.dtype(f"i{dtype.itemsize}")


def _bits(dtype: DType) -> int:
    return dtype.itemsize * 8


def _all_ones(dtype: DType) -> NDArray:
    """The scalar with every bit set: -1 for signed, the maximum for unsigned integers."""
    return np.invert(np.zeros((), dtype))


# ---------------------------------------------------------------------------------------------
# Unary arithmetic


def _sign(x: NDArray) -> NDArray:
    if x.dtype.kind == "f":
        return np.where(x == 0, x, np.sign(x))  # keeps -0.0; NaN stays NaN
    if x.dtype.kind == "c":
        mag = np.abs(x)
        return np.where(mag == 0, 0, x / np.where(mag == 0, 1, mag)).astype(x.dtype)
    return np.sign(x)


def _round_away_from_zero(x: NDArray) -> NDArray:
    """Halves go away from zero; ``x - trunc(x)`` is exact, so no ``x + 0.5`` rounding error."""
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t).astype(x.dtype)


def _round(x: NDArray, *, rounding_method: ew.RoundingMethod) -> NDArray:
    if rounding_method == ew.RoundingMethod.TO_NEAREST_EVEN:
        return np.rint(x)
    return _round_away_from_zero(x)


def _integer_pow(x: NDArray, *, y: int) -> NDArray:
    """Repeated squaring (JAX's own expansion), wrapping for integers; ``1 / x**-y`` if y < 0."""
    n = int(y)
    if n == 0:
        return np.ones_like(x)
    acc: NDArray | None = None
    base, k = x, -n if n < 0 else n
    while k:
        if k & 1:
            acc = base if acc is None else acc * base
        k >>= 1
        if k:
            base = base * base
    assert acc is not None
    return (np.ones_like(acc) / acc).astype(x.dtype) if n < 0 else acc


def _conj(x: NDArray, *, input_dtype: DType) -> NDArray:
    as_complex = x.astype(np.result_type(x.dtype, np.complex64))
    return np.asarray(np.conjugate(as_complex))


_quiet_register(ew.neg_p, np.negative)
_quiet_register(ew.sign_p, _sign)
_quiet_register(ew.floor_p, np.floor)
_quiet_register(ew.ceil_p, np.ceil)
_quiet_register(ew.round_p, _round)
_quiet_register(ew.is_finite_p, np.isfinite)
_quiet_register(ew.abs_p, np.abs)
_quiet_register(ew.square_p, lambda x: x * x)
_quiet_register(ew.integer_pow_p, _integer_pow)
_quiet_register(ew.real_p, np.real)
_quiet_register(ew.imag_p, np.imag)
_quiet_register(ew.conj_p, _conj)


# ---------------------------------------------------------------------------------------------
# Bitwise operations work on the unsigned view of the bits.


def _population_count(x: NDArray) -> NDArray:
    as_bytes = np.ascontiguousarray(x).reshape(*x.shape, 1).view(np.uint8)
    counts: NDArray = np.unpackbits(as_bytes, axis=-1).sum(axis=-1, dtype=x.dtype)
    return counts


def _clz(x: NDArray) -> NDArray:
    """Binary search for the highest set bit: test the top half, then a quarter, ..."""
    bits = _bits(x.dtype)
    v = x.view(_unsigned(x.dtype))
    count = np.zeros(x.shape, x.dtype)
    width = bits // 2
    while width:
        empty = (v >> (bits - width)) == 0
        count = np.where(empty, count + width, count)
        v = np.where(empty, v << width, v)
        width //= 2
    return np.where(v == 0, count + 1, count).astype(x.dtype)


def _shift_amount(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    """The shift amount as unsigned bits, and where it is out of range for ``x``'s width."""
    amount = y.view(_unsigned(y.dtype)).astype(_unsigned(x.dtype))
    out_of_range = amount >= _bits(x.dtype)
    return np.where(out_of_range, 0, amount).astype(amount.dtype), out_of_range


def _shift_left(x: NDArray, y: NDArray) -> NDArray:
    amount, out_of_range = _shift_amount(x, y)
    shifted = np.left_shift(x.view(_unsigned(x.dtype)), amount)
    return np.asarray(np.where(out_of_range, 0, shifted).astype(shifted.dtype)).view(x.dtype)


def _shift_right_logical(x: NDArray, y: NDArray) -> NDArray:
    amount, out_of_range = _shift_amount(x, y)
    shifted = np.right_shift(x.view(_unsigned(x.dtype)), amount)
    return np.asarray(np.where(out_of_range, 0, shifted).astype(shifted.dtype)).view(x.dtype)


def _shift_right_arithmetic(x: NDArray, y: NDArray) -> NDArray:
    """Shifting by ``bits - 1`` or more fills every bit with the sign bit."""
    amount = y.view(_unsigned(y.dtype)).astype(_unsigned(x.dtype))
    capped = np.minimum(amount, _bits(x.dtype) - 1).astype(_signed(x.dtype))
    shifted = np.right_shift(x.view(_signed(x.dtype)), capped)
    return np.asarray(shifted).view(x.dtype)


_quiet_register(ew.not_p, np.invert)
_quiet_register(ew.population_count_p, _population_count)
_quiet_register(ew.clz_p, _clz)
_quiet_register(ew.and_p, np.bitwise_and)
_quiet_register(ew.or_p, np.bitwise_or)
_quiet_register(ew.xor_p, np.bitwise_xor)
_quiet_register(ew.shift_left_p, _shift_left)
_quiet_register(ew.shift_right_logical_p, _shift_right_logical)
_quiet_register(ew.shift_right_arithmetic_p, _shift_right_arithmetic)


# ---------------------------------------------------------------------------------------------
# Binary arithmetic


def _safe_divisor(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``y`` with 0 and -1 replaced by 1 (C leaves them undefined), and where they were."""
    by_zero = y == 0
    by_minus_one = (y == -1) if y.dtype.kind == "i" else np.zeros(y.shape, bool)
    safe = np.where(by_zero | by_minus_one, 1, y).astype(y.dtype)
    return safe, by_zero, by_minus_one


def _div(x: NDArray, y: NDArray) -> NDArray:
    """Integers: truncation toward zero; ``x / 0`` is all ones bits; ``MIN / -1`` wraps."""
    if x.dtype.kind not in "iu":
        return np.divide(x, y)
    safe, by_zero, by_minus_one = _safe_divisor(x, y)
    quotient = (x - np.fmod(x, safe)) // safe
    quotient = np.where(by_minus_one, np.negative(x), quotient)
    return np.where(by_zero, _all_ones(x.dtype), quotient).astype(x.dtype)


def _rem(x: NDArray, y: NDArray) -> NDArray:
    """The sign of the dividend (C's fmod); for integers ``x % 0`` is ``x``."""
    if x.dtype.kind not in "iu":
        return np.fmod(x, y)
    safe, by_zero, _ = _safe_divisor(x, y)
    return np.where(by_zero, x, np.fmod(x, safe)).astype(x.dtype)


def _lexicographic_greater(x: NDArray, y: NDArray) -> NDArray:
    """Complex order: by real part, then by imaginary part."""
    greater: NDArray = (x.real > y.real) | ((x.real == y.real) & (x.imag > y.imag))
    return greater


def _max(x: NDArray, y: NDArray) -> NDArray:
    if x.dtype.kind == "c":
        return np.where(_lexicographic_greater(y, x), y, x)
    out = np.maximum(x, y)  # propagates NaN
    if x.dtype.kind != "f":
        return out
    zeros = (x == 0) & (y == 0)
    return np.where(zeros, np.where(np.signbit(x), y, x), out)


def _min(x: NDArray, y: NDArray) -> NDArray:
    if x.dtype.kind == "c":
        return np.where(_lexicographic_greater(x, y), y, x)
    out = np.minimum(x, y)  # propagates NaN
    if x.dtype.kind != "f":
        return out
    zeros = (x == 0) & (y == 0)
    return np.where(zeros, np.where(np.signbit(x), x, y), out)


def _pow(x: NDArray, y: NDArray) -> NDArray:
    """An integer exponent is first converted to ``x``'s dtype, as XLA does."""
    return np.asarray(np.power(x, y.astype(x.dtype)))


_quiet_register(ew.add_p, np.add)
_quiet_register(ew.sub_p, np.subtract)
_quiet_register(ew.mul_p, np.multiply)
_quiet_register(ew.div_p, _div)
_quiet_register(ew.rem_p, _rem)
_quiet_register(ew.max_p, _max)
_quiet_register(ew.min_p, _min)
_quiet_register(ew.pow_p, _pow)
_quiet_register(ew.nextafter_p, np.nextafter)


# ---------------------------------------------------------------------------------------------
# Comparisons and selection

_quiet_register(ew.eq_p, np.equal)
_quiet_register(ew.ne_p, np.not_equal)
_quiet_register(ew.lt_p, np.less)
_quiet_register(ew.le_p, np.less_equal)
_quiet_register(ew.gt_p, np.greater)
_quiet_register(ew.ge_p, np.greater_equal)


def _select_n(which: NDArray, *cases: NDArray) -> NDArray:
    """``cases[which]``; an index out of range picks the nearest case (XLA's select tree)."""
    out = cases[0]
    for i, case in enumerate(cases[1:], start=1):
        out = np.where(which >= i, case, out)
    return out


def _clamp(lo: NDArray, x: NDArray, hi: NDArray) -> NDArray:
    """``min(max(x, lo), hi)``: NaN anywhere gives NaN; ``lo > hi`` gives ``hi``."""
    return np.broadcast_to(_min(_max(x, lo), hi), x.shape)


_quiet_register(ew.select_n_p, _select_n)
_quiet_register(ew.clamp_p, _clamp)


# ---------------------------------------------------------------------------------------------
# Casts


def _float_to_int(x: NDArray, dtype: DType) -> NDArray:
    """Truncate toward zero, saturate at the integer range, and send NaN to 0."""
    info = np.iinfo(dtype)
    t = np.trunc(x.astype(np.float64))  # exact; the bounds are powers of two, exact as well
    lo = float(info.min)
    hi = 2.0 ** _bits(dtype) if dtype.kind == "u" else -lo
    inside = (t >= lo) & (t < hi)
    out = np.where(inside, t, 0).astype(dtype)
    out = np.where(t >= hi, info.max, out)
    return np.where(t < lo, info.min, out).astype(dtype)


def _convert_element_type(x: NDArray, *, new_dtype: DType, weak_type: bool) -> NDArray:
    if x.dtype.kind == "c" and new_dtype.kind != "c":
        x = x.real
    if x.dtype.kind == "f" and new_dtype.kind in "iu":
        return _float_to_int(x, new_dtype)
    return x.astype(new_dtype)


def _bitcast_convert_type(x: NDArray, *, new_dtype: DType) -> NDArray:
    """Little-endian bytes, as XLA on CPU: a narrower dtype's pieces go on a new last axis."""
    ratio = x.dtype.itemsize / new_dtype.itemsize
    if ratio > 1:
        shape = (*x.shape, int(ratio))
    elif ratio < 1:
        shape = x.shape[:-1]
    else:
        shape = x.shape
    data = np.ascontiguousarray(x).tobytes()
    return np.frombuffer(data, dtype=new_dtype).reshape(shape).copy()


_quiet_register(ew.convert_element_type_p, _convert_element_type)
_quiet_register(ew.bitcast_convert_type_p, _bitcast_convert_type)
_quiet_register(ew.stop_gradient_p, np.asarray)
_quiet_register(ew.copy_p, np.array)  # np.array copies
