"""Numpy implementations of the reduction primitives (no upcasting: results keep the dtype)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from refjax.backends.numpy_impls.table import impls, register
from refjax.dtypes import DType
from refjax.interp.core import NDArray
from refjax.primitives import reductions as rd


def max_identity(dtype: DType) -> NDArray:
    """The identity of ``max`` at ``dtype``: -inf, the least integer, or False."""
    if dtype == np.bool_:
        return np.array(False)
    if np.issubdtype(dtype, np.integer):
        return np.array(np.iinfo(dtype).min, dtype)
    return np.array(-np.inf, dtype)


def min_identity(dtype: DType) -> NDArray:
    """The identity of ``min`` at ``dtype``: inf, the greatest integer, or True."""
    if dtype == np.bool_:
        return np.array(True)
    if np.issubdtype(dtype, np.integer):
        return np.array(np.iinfo(dtype).max, dtype)
    return np.array(np.inf, dtype)


# ---------------------------------------------------------------------------------------------
# Monoid reductions over axes


@register(rd.reduce_sum_p)
def _reduce_sum(x: NDArray, *, axes: tuple[int, ...], out_sharding: None = None) -> NDArray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.add.reduce(x, axis=axes, dtype=x.dtype))


@register(rd.reduce_prod_p)
def _reduce_prod(x: NDArray, *, axes: tuple[int, ...]) -> NDArray:
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        return np.asarray(np.multiply.reduce(x, axis=axes, dtype=x.dtype))


def settle_zeros(out: NDArray, winner_seen: NDArray, winner: float) -> NDArray:
    """XLA's max and min order -0 below +0: a zero result is ``winner`` if one was seen."""
    if out.dtype.kind != "f":
        return out
    zero = np.where(winner_seen, np.array(winner, out.dtype), np.array(-winner, out.dtype))
    return np.where(out == 0, zero, out)


def is_zero_like(x: NDArray, winner: float) -> NDArray:
    """Where ``x`` is a zero with the sign of ``winner`` (all False for non-floats)."""
    if x.dtype.kind != "f":
        return np.zeros(x.shape, bool)
    return np.asarray((x == 0) & (np.signbit(x) == np.signbit(winner)))


@register(rd.reduce_max_p)
def _reduce_max(x: NDArray, *, axes: tuple[int, ...]) -> NDArray:
    out = np.asarray(np.maximum.reduce(x, axis=axes, initial=max_identity(x.dtype)))
    return settle_zeros(out, np.logical_or.reduce(is_zero_like(x, 0.0), axis=axes), 0.0)


@register(rd.reduce_min_p)
def _reduce_min(x: NDArray, *, axes: tuple[int, ...]) -> NDArray:
    out = np.asarray(np.minimum.reduce(x, axis=axes, initial=min_identity(x.dtype)))
    return settle_zeros(out, np.logical_or.reduce(is_zero_like(x, -0.0), axis=axes), -0.0)


def _bitwise_reducer(ufunc: np.ufunc, identity: int) -> Callable[..., NDArray]:
    """A reduction by ``ufunc`` (bitwise on ints, logical on bools) starting from ``identity``."""

    def reduce(x: NDArray, *, axes: tuple[int, ...]) -> NDArray:
        start = np.array(identity).astype(x.dtype)
        return np.asarray(ufunc.reduce(x, axis=axes, initial=start))

    return reduce


impls[rd.reduce_and_p] = _bitwise_reducer(np.bitwise_and, -1)
impls[rd.reduce_or_p] = _bitwise_reducer(np.bitwise_or, 0)
impls[rd.reduce_xor_p] = _bitwise_reducer(np.bitwise_xor, 0)


# ---------------------------------------------------------------------------------------------
# Arg-reductions: numpy's argmax/argmin already pick the first extreme and treat NaN as extreme.


@register(rd.argmax_p)
def _argmax(x: NDArray, *, axes: tuple[int, ...], index_dtype: DType) -> NDArray:
    return np.asarray(np.argmax(x, axis=axes[0]), dtype=index_dtype)


@register(rd.argmin_p)
def _argmin(x: NDArray, *, axes: tuple[int, ...], index_dtype: DType) -> NDArray:
    return np.asarray(np.argmin(x, axis=axes[0]), dtype=index_dtype)


# ---------------------------------------------------------------------------------------------
# Cumulative reductions


def _running(ufunc: np.ufunc, x: NDArray, axis: int, reverse: bool) -> NDArray:
    """Running ``ufunc`` along ``axis`` in ``x``'s dtype; ``reverse`` runs from the end."""
    source = np.flip(x, axis) if reverse else x
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        out = np.asarray(ufunc.accumulate(source, axis=axis, dtype=x.dtype))
    return np.flip(out, axis) if reverse else out


def _accumulator(ufunc: np.ufunc) -> Callable[..., NDArray]:
    """The implementation of a cumulative reduction by ``ufunc``."""

    def accumulate(x: NDArray, *, axis: int, reverse: bool) -> NDArray:
        return _running(ufunc, x, axis, reverse)

    return accumulate


def _chooser_accumulator(ufunc: np.ufunc, winner: float) -> Callable[..., NDArray]:
    """A running max or min whose zeros are signed as XLA's (see :func:`settle_zeros`)."""

    def accumulate(x: NDArray, *, axis: int, reverse: bool) -> NDArray:
        out = _running(ufunc, x, axis, reverse)
        seen = _running(np.logical_or, is_zero_like(x, winner), axis, reverse)
        return settle_zeros(out, seen, winner)

    return accumulate


impls[rd.cumsum_p] = _accumulator(np.add)
impls[rd.cumprod_p] = _accumulator(np.multiply)
# logaddexp is max(a, b) + log1p(exp(-|a - b|)): it never overflows.
impls[rd.cumlogsumexp_p] = _accumulator(np.logaddexp)
impls[rd.cummax_p] = _chooser_accumulator(np.maximum, 0.0)
impls[rd.cummin_p] = _chooser_accumulator(np.minimum, -0.0)
