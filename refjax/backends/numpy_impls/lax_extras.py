"""Numpy implementations of ``complex``, ``mulhi``, ``reduce_precision``,
``optimization_barrier``, ``empty`` and the generic ``reduce`` (``primitives/lax_extras.py``).

``reduce_precision`` works on the bits as XLA's elemental emitter does (``EmitReducePrecisionIR``):
the mantissa rounded to nearest, ties to even; then an exponent past the narrow format's range
becomes infinity and one at or below its smallest normal exponent becomes zero (keeping the sign);
NaNs stay NaN (even with no mantissa bit left, as XLA's CPU results are). ``reduce`` folds the
elements in order, ``acc = computation(acc, x_i)`` from the initial values, as XLA's CPU reduce
does (over no dimension it returns the operands), with the computation batched over all the
outputs at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from refjax.backends.numpy_impls.program import run_inner
from refjax.backends.numpy_impls.table import register
from refjax.dtypes import DType
from refjax.interp.batching import batch_jaxpr
from refjax.interp.core import ClosedJaxpr, NDArray
from refjax.primitives import lax_extras as lx


@register(lx.complex_p)
def _complex(x: NDArray, y: NDArray) -> NDArray:
    dtype = np.result_type(x.dtype, np.complex64)
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), dtype)
    out.real = x
    out.imag = y
    return out


@register(lx.mulhi_p)
def _mulhi(x: NDArray, y: NDArray) -> NDArray:
    dtype = x.dtype
    bits = dtype.itemsize * 8
    if bits < 64:
        wide = np.dtype(f"{dtype.kind}{2 * dtype.itemsize}")
        product: NDArray = x.astype(wide) * y.astype(wide)
        return np.right_shift(product, bits).astype(dtype)
    # 64-bit operands: exact products of Python integers (the shift floors, as an arithmetic
    # shift of the 128-bit product does)
    big = np.multiply(x.astype(object), y.astype(object)) >> 64
    out: NDArray = np.asarray(big, dtype=object).astype(dtype)
    return out


@register(lx.reduce_precision_p)
def _reduce_precision(x: NDArray, *, exponent_bits: int, mantissa_bits: int) -> NDArray:
    info = np.finfo(x.dtype)
    src_mantissa, src_exponent, nbits = int(info.nmant), int(info.nexp), int(info.bits)
    uint = np.dtype(f"u{nbits // 8}")
    bits = np.array(x, copy=True).view(uint)

    def u(value: int) -> Any:  # a numpy unsigned scalar of the operand's width
        return uint.type(value % (1 << nbits))

    if mantissa_bits < src_mantissa:
        shift = src_mantissa - mantissa_bits
        last_bit = 1 << shift
        base_bias = (last_bit >> 1) - 1
        last = (bits & u(last_bit)) >> u(shift)
        bits = (bits + last + u(base_bias)) & u(~(last_bit - 1))
    if exponent_bits < src_exponent:
        sign_mask = 1 << (nbits - 1)
        exp_mask = ((1 << src_exponent) - 1) << src_mantissa
        bias = (1 << (src_exponent - 1)) - 1
        reduced_bias = (1 << (exponent_bits - 1)) - 1
        exponent = bits & u(exp_mask)
        overflows = exponent > u((bias + reduced_bias) << src_mantissa)
        underflows = exponent <= u((bias - reduced_bias) << src_mantissa)
        signed_zero = bits & u(sign_mask)
        signed_inf = signed_zero | u(exp_mask)
        bits = np.where(overflows, signed_inf, bits)
        bits = np.where(underflows, signed_zero, bits)
    out = np.asarray(bits, uint).view(x.dtype).reshape(x.shape)
    return np.asarray(np.where(np.isnan(x), x, out), x.dtype)  # NaN stays NaN, as XLA's


@register(lx.optimization_barrier_p)
def _optimization_barrier(*args: NDArray) -> list[NDArray]:
    return list(args)


@register(lx.empty_p)
def _empty(*, shape: tuple[int, ...], dtype: DType, out_sharding: None) -> NDArray:
    return np.zeros(shape, dtype)


@register(lx.reduce_p)
def _reduce(
    *args: NDArray, computation: Callable[..., Any], jaxpr: ClosedJaxpr,
    dimensions: tuple[int, ...],
) -> list[NDArray]:
    n = len(args) // 2
    operands, inits = args[:n], args[n:]
    if not dimensions:
        return list(operands)
    shape = operands[0].shape
    kept = tuple(i for i in range(len(shape)) if i not in dimensions)
    out_shape = tuple(shape[i] for i in kept)
    m = math.prod(out_shape)
    k = math.prod(shape[i] for i in dimensions)
    elements = [np.transpose(x, (*dimensions, *kept)).reshape(k, m) for x in operands]
    acc = [np.broadcast_to(np.asarray(i, x.dtype), (m,)) for i, x in zip(inits, operands,
                                                                       strict=True)]
    if m and k:
        body = batch_jaxpr(jaxpr, (0,) * (2 * n), m)
        for i in range(k):
            acc = run_inner(body, [*acc, *(e[i] for e in elements)])
    return [np.asarray(a, x.dtype).reshape(out_shape) for a, x in zip(acc, operands,
                                                                     strict=True)]
