"""Numpy implementations of ``primitives/lax_more.py``: XLA's random bit generators bit for
bit, ``rng_uniform``, exact approximate top-k, total-order comparisons, ``stage``,
``dce_sink`` and ``composite``.

``rng_bit_generator`` follows XLA's CPU expansion (``rng_bit_generator_expander.cc`` and
``prng.cc``): the key ``uint32[4]`` is two little-endian 64-bit words, a key ``K`` and a counter
``C``. Threefry hashes counters ``C + i`` (32-bit outputs: over half the elements, the two
output words interleaved along the first even dimension, else the longest); Philox-4x32-10 runs
on the 128-bit counter ``(C + i, K)``, four words per counter in order. Narrow dtypes keep the
low bits of 32-bit words; 64-bit ones join two words. The new key advances ``C`` by the number
of counters used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from refjax.backends.numpy_impls.prng import threefry2x32_words
from refjax.backends.numpy_impls.program import run_inner
from refjax.backends.numpy_impls.table import register
from refjax.dtypes import DType
from refjax.interp.core import ClosedJaxpr, NDArray
from refjax.primitives import lax_more as lm

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1


def _key_words(key: NDArray) -> tuple[int, int]:
    """(K, C): the 64-bit key and counter of a ``uint32[4]`` or ``uint64[2]`` key."""
    if key.dtype == np.uint64:
        return int(key[0]), int(key[1])
    k = [int(v) for v in key]
    return k[0] | k[1] << 32, k[2] | k[3] << 32


def _as_key(like: NDArray, key: int, counter: int) -> NDArray:
    if like.dtype == np.uint64:
        return np.array([key, counter & _M64], np.uint64)
    counter &= _M64
    return np.array([key & _M32, key >> 32, counter & _M32, counter >> 32], np.uint32)


def _counters(start: int, n: int) -> NDArray:
    """``start + i`` for ``i < n``, wrapping at 2**64, as uint64."""
    return np.uint64(start) + np.arange(n, dtype=np.uint64)


def _split_words(x: NDArray) -> tuple[NDArray, NDArray]:
    return (x & np.uint64(_M32)).astype(np.uint32), (x >> np.uint64(32)).astype(np.uint32)


def _threefry(key: int, words: tuple[NDArray, NDArray]) -> tuple[NDArray, NDArray]:
    k0 = np.array([key & _M32], np.uint32)
    k1 = np.array([key >> 32], np.uint32)
    return threefry2x32_words(k0, k1, *words)


def _threefry32(key: int, counter: int, shape: tuple[int, ...]) -> tuple[NDArray, int]:
    """XLA's ``ThreeFryRngBit32``: half as many counters, outputs interleaved along a split
    dimension (the first even one, else the longest)."""
    if not shape:
        y0, _ = _threefry(key, _split_words(_counters(counter, 1)))
        return y0.reshape(()), counter + 1
    split = next((i for i, d in enumerate(shape) if d % 2 == 0), None)
    if split is None:
        split = max(range(len(shape)), key=lambda i: (shape[i], -i))
    half = -(-shape[split] // 2)
    half_shape = (*shape[:split], half, 1, *shape[split + 1 :])
    n = math.prod(half_shape)
    y0, y1 = _threefry(key, _split_words(_counters(counter, n)))
    both = np.concatenate([y0.reshape(half_shape), y1.reshape(half_shape)], axis=split + 1)
    full = both.reshape((*shape[:split], 2 * half, *shape[split + 1 :]))
    return full[tuple(slice(0, d) for d in shape)], counter + n


def _threefry64(key: int, counter: int, shape: tuple[int, ...]) -> tuple[NDArray, int]:
    n = math.prod(shape)
    y0, y1 = _threefry(key, _split_words(_counters(counter, n)))
    bits = y0.astype(np.uint64) | (y1.astype(np.uint64) << np.uint64(32))
    return bits.reshape(shape), counter + n


def _philox(key: int, counter: int, n4: int) -> tuple[list[NDArray], int]:
    """Philox-4x32-10 on the 128-bit counters ``(counter + i, key)`` for ``i < n4``."""
    low = _counters(counter, n4)
    carry = (low < np.uint64(counter)).astype(np.uint64)
    high = np.uint64(key) + carry
    x = [*_split_words(low), *_split_words(high)]
    k0, k1 = np.uint32(key & _M32), np.uint32(key >> 32)
    m0, m1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    for _ in range(10):
        p0 = x[0].astype(np.uint64) * m0
        p1 = x[2].astype(np.uint64) * m1
        hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), p0.astype(np.uint32)
        hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), p1.astype(np.uint32)
        x = [hi1 ^ x[1] ^ k0, lo1, hi0 ^ x[3] ^ k1, lo0]
        k0 = np.uint32((int(k0) + 0x9E3779B9) & _M32)
        k1 = np.uint32((int(k1) + 0xBB67AE85) & _M32)
    return x, counter + n4


def _philox32(key: int, counter: int, shape: tuple[int, ...]) -> tuple[NDArray, int]:
    n = math.prod(shape)
    words, new = _philox(key, counter, -(-n // 4))
    return np.stack(words, axis=1).reshape(-1)[:n].reshape(shape), new


def _philox64(key: int, counter: int, shape: tuple[int, ...]) -> tuple[NDArray, int]:
    n = math.prod(shape)
    w, new = _philox(key, counter, -(-2 * n // 4))
    b0 = w[0].astype(np.uint64) | (w[1].astype(np.uint64) << np.uint64(32))
    b1 = w[2].astype(np.uint64) | (w[3].astype(np.uint64) << np.uint64(32))
    return np.stack([b0, b1], axis=1).reshape(-1)[:n].reshape(shape), new


@register(lm.rng_bit_generator_p)
def _rng_bit_generator(
    key: NDArray, *, shape: tuple[int, ...], dtype: DType, algorithm: lm.RandomAlgorithm,
    out_sharding: None,
) -> list[NDArray]:
    k, c = _key_words(key)
    wide = dtype.itemsize == 8
    if algorithm is lm.RandomAlgorithm.RNG_THREE_FRY:
        bits, new = (_threefry64 if wide else _threefry32)(k, c, shape)
    else:  # RNG_PHILOX, and RNG_DEFAULT (Philox on XLA's CPU backend)
        bits, new = (_philox64 if wide else _philox32)(k, c, shape)
    return [_as_key(key, k, new), bits.astype(dtype)]


@register(lm.rng_uniform_p)
def _rng_uniform(a: NDArray, b: NDArray, *, shape: tuple[int, ...]) -> NDArray:
    rng = np.random.default_rng()  # fresh entropy: the values are unspecified, as XLA's
    if a.dtype.kind == "f":
        out = (a.astype(np.float64) + (b.astype(np.float64) - a) * rng.random(shape))
        out = out.astype(a.dtype)
        return np.where(out < b, out, a) if b > a else np.full(shape, a)
    if b > a:
        return rng.integers(int(a), int(b), size=shape).astype(a.dtype)
    return np.full(shape, a)


@register(lm.approx_top_k_p)
def _approx_top_k(
    operand: NDArray, *, k: int, reduction_dimension: int, recall_target: float,
    is_max_k: bool, reduction_input_size_override: int, aggregate_to_topk: bool,
) -> list[NDArray]:
    """Exact: the ``size`` largest (smallest) values in order, ties by index."""
    axis = reduction_dimension % operand.ndim
    size, _ = lm.approx_top_k_reduction_output_size(
        operand.shape[axis], operand.ndim, k, recall_target, aggregate_to_topk,
        reduction_input_size_override)
    x = np.moveaxis(operand, axis, -1)
    keys = np.negative(x) if is_max_k else x
    order = np.argsort(keys, axis=-1, kind="stable")[..., :size]
    values = np.take_along_axis(x, order, axis=-1)
    return [np.moveaxis(values, -1, axis), np.moveaxis(order.astype(np.int32), -1, axis)]


def _total_order_keys(x: NDArray) -> NDArray:
    """Integers ordered as IEEE's total order orders the floats ``x`` (other dtypes as they
    are): the sign-magnitude bits turned into two's complement."""
    if x.dtype.kind != "f":
        return x
    ints = x.view(np.dtype(f"i{x.dtype.itemsize}"))
    magnitude = np.array(np.iinfo(ints.dtype).max, ints.dtype)
    return np.asarray(ints ^ ((ints >> (8 * x.dtype.itemsize - 1)) & magnitude))


def _complex_parts(x: NDArray) -> list[NDArray]:
    if x.dtype.kind == "c":
        return [_total_order_keys(np.asarray(x.real, order="C")),
                _total_order_keys(np.asarray(x.imag, order="C"))]
    return [_total_order_keys(np.asarray(x, order="C"))]


@register(lm.eq_to_p)
def _eq_to(x: NDArray, y: NDArray) -> NDArray:
    parts = [np.asarray(a == b) for a, b in zip(_complex_parts(x), _complex_parts(y),
                                                strict=True)]
    return np.asarray(np.logical_and.reduce(parts)) if len(parts) > 1 else parts[0]


@register(lm.lt_to_p)
def _lt_to(x: NDArray, y: NDArray) -> NDArray:
    return np.asarray(_total_order_keys(np.asarray(x, order="C"))
                      < _total_order_keys(np.asarray(y, order="C")))


@register(lm.le_to_p)
def _le_to(x: NDArray, y: NDArray) -> NDArray:
    return np.asarray(_total_order_keys(np.asarray(x, order="C"))
                      <= _total_order_keys(np.asarray(y, order="C")))


@register(lm.stage_p)
def _stage(x: NDArray) -> NDArray:
    return x


@register(lm.dce_sink_p)
def _dce_sink(x: NDArray, *, prevent_mlir_dce: bool) -> list[NDArray]:
    return []


@register(lm.composite_p)
def _composite(*args: NDArray, name: str, attributes: tuple[Any, ...], version: int,
               jaxpr: ClosedJaxpr) -> list[NDArray]:
    return run_inner(jaxpr, list(args))
