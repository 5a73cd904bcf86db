"""Op records for the primitives of ``refjax/primitives/lax_more.py``: ``approx_top_k``
(``approx_max_k``/``approx_min_k``), the total-order comparisons ``eq_to``, ``lt_to``,
``le_to``, and ``rng_bit_generator``.

References, all numpy and written here:

- ``approx_top_k``: a stable argsort along the reduction dimension (JAX computes it exactly on
  CPU), on distinct values (a shuffled, shifted iota) so that ties cannot matter and finite
  differences see a smooth function; the JVP gathers the tangent at the indices. The records
  with derivatives keep only the values (the int32 indices take no cotangent). One record
  keeps XLA's approximate reduction size (``aggregate_to_topk=False``): 256 values in rank 2
  reduce to 128 (two TPU lanes of 128 halved; XLA's ``ApproxTopKReductionOutputSize`` worked by
  hand), all of them sorted on CPU.
- ``eq_to``/``lt_to``/``le_to`` (reached as ``lax.eq_to_p.bind``: JAX has no wrapper): Python
  tuples ordered as IEEE's total order, ``-NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN``,
  on inputs with many ties drawn from signed zeros, infinities and NaNs of both signs.
- ``rng_bit_generator``: an implementation of XLA's CPU expansion written from the algorithms
  (Threefry-2x32 with 20 rounds, Philox-4x32-10) and XLA's ``prng.cc``/
  ``rng_bit_generator_expander.cc``: the key ``uint32[4]`` is a 64-bit key ``K`` and a 64-bit
  counter ``C`` (little-endian words). Threefry hashes counters ``C + i`` over half the
  elements, word 0 and word 1 interleaved along the first even dimension (else the longest),
  or one counter per element joined into 64 bits; Philox runs on the 128-bit counters
  ``(C + i) + K * 2**64``, four words each in order (two 64-bit values for uint64). uint8 and
  uint16 keep the low bits of the uint32 draw (JAX's lowering). The new key is ``K`` and the
  counter advanced by the number of counters used (mod 2**64). Keys are random, and some
  records start the counter just below 2**64 (the wrap, and Philox's carry into ``K``).
  ``rng_bit_generator`` is not differentiable, and ``vmap_is_loop=False``: JAX's batching rule
  draws the whole batch from the first key (refjax follows it), so the shared vmap check
  compares it with ``jax.vmap`` only.

Left out:

- ``rng_uniform``: XLA's stateful Rng; its values are unspecified (fresh entropy on every call
  in refjax, XLA's own state in JAX), so there is no reference to compare values with. It is
  tested (shape, dtype, range, errors) in ``tests/primitives/test_lax_more.py``.
- ``stage``: the identity (a host value made an array of the current trace); a record would
  test nothing a record of ``optimization_barrier``'s kind does not, and JAX has no
  ``jax.lax.stage`` to compare with. ``dce_sink``: has no outputs (it only marks its operand as
  used), so there is no value to compare and no jaxpr output for the shared checks; a record
  makes no sense. ``composite``: a named call of a traced function, not an op on operands.
- The composites (``ragged_dot``, ``conv_general_dilated_patches`` ...) bind primitives that
  have records of their own; they are tested in ``tests/primitives/test_lax_more.py``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape
from tests.primitives.records_indexing import distinct_values, tie_values, total_order_key

F32, F64 = FLOAT_DTYPES
F16, I32 = np.dtype(np.float16), np.dtype(np.int32)
U32, U64 = np.dtype(np.uint32), np.dtype(np.uint64)
NDArray = np.ndarray
Maker = Callable[[np.random.Generator, Sequence[Shape], np.dtype[Any]], list[np.ndarray]]

_M32 = (1 << 32) - 1
_M64 = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------
# approx_top_k


def _distinct(rng: np.random.Generator, shapes: Sequence[Shape],
              dtype: np.dtype[Any]) -> list[np.ndarray]:
    return [distinct_values(rng, s, dtype) for s in shapes]


def ref_top_k(k: int, axis: int, largest: bool) -> Callable[[NDArray], list[NDArray]]:
    """The ``k`` largest (smallest) values along ``axis`` in order, and their int32 indices."""

    def ref(x: NDArray) -> list[NDArray]:
        moved = np.moveaxis(x, axis, -1)
        order = np.argsort(-moved if largest else moved, axis=-1, kind="stable")[..., :k]
        values = np.take_along_axis(moved, order, axis=-1)
        return [np.moveaxis(values, -1, axis), np.moveaxis(order.astype(np.int32), -1, axis)]

    return ref


def _top_k_records() -> list[OpRecord]:
    def values_only(ref: Callable[[NDArray], list[NDArray]]) -> Callable[[NDArray], NDArray]:
        return lambda x: ref(x)[0]

    return [
        OpRecord("approx_top_k", lambda lax, x: lax.approx_max_k(x, 3),
                 ref_top_k(3, -1, True), [((3, 7),), ((6,),)], FLOAT_DTYPES,
                 args_maker=_distinct, differentiable=False, tol=0.0,
                 notes="approx_max_k, k=3: values and indices"),
        OpRecord("approx_top_k",
                 lambda lax, x: lax.approx_min_k(x, 2, reduction_dimension=0),
                 ref_top_k(2, 0, False), [((5, 3),), ((4, 2, 3),)], FLOAT_DTYPES,
                 args_maker=_distinct, differentiable=False, tol=0.0,
                 notes="approx_min_k, k=2 along dimension 0: values and indices"),
        OpRecord("approx_top_k", lambda lax, x: lax.approx_max_k(x, 2)[0],
                 values_only(ref_top_k(2, -1, True)), [((3, 6),), ((5,),)], FLOAT_DTYPES,
                 args_maker=_distinct, tol=0.0,
                 notes="approx_max_k values: the tangent gathered at the indices"),
        OpRecord("approx_top_k",
                 lambda lax, x: lax.approx_min_k(x, 2, reduction_dimension=1,
                                                 recall_target=0.5)[0],
                 values_only(ref_top_k(2, 1, False)), [((2, 5, 3),)], FLOAT_DTYPES,
                 args_maker=_distinct, tol=0.0,
                 notes="approx_min_k values along a middle dimension"),
        OpRecord("approx_top_k",
                 lambda lax, x: lax.approx_max_k(x, 3, aggregate_to_topk=False),
                 ref_top_k(128, -1, True), [((2, 256),)], (F32,),
                 args_maker=_distinct, differentiable=False, tol=0.0,
                 notes="aggregate_to_topk=False: XLA's reduction keeps 128 of 256, sorted"),
    ]


# ---------------------------------------------------------------------------------------------
# eq_to, lt_to, le_to


def _ties(rng: np.random.Generator, shapes: Sequence[Shape],
          dtype: np.dtype[Any]) -> list[np.ndarray]:
    return [tie_values(rng, s, dtype) for s in shapes]


def ref_total_order(compare: Callable[[Any, Any], bool]) -> Callable[[NDArray, NDArray], NDArray]:
    """``compare`` of IEEE total-order keys, element by element."""

    def ref(x: NDArray, y: NDArray) -> NDArray:
        xs, ys = np.broadcast_arrays(x, y)
        out = [compare(total_order_key(a), total_order_key(b))
               for a, b in zip(xs.ravel().tolist(), ys.ravel().tolist(), strict=True)]
        return np.array(out, dtype=np.bool_).reshape(xs.shape)

    return ref


def _total_order_records() -> list[OpRecord]:
    shapes = [((3, 4), (3, 4)), ((10,), (10,)), ((), ())]
    dtypes = (F32, F64, F16, I32)
    return [
        OpRecord(name, lambda lax, x, y, name=name: getattr(lax, f"{name}_p").bind(x, y),
                 ref_total_order(compare), shapes, dtypes, args_maker=_ties,
                 differentiable=False, notes="signed zeros, infinities, NaNs of both signs")
        for name, compare in (("eq_to", operator.eq), ("lt_to", operator.lt),
                              ("le_to", operator.le))
    ]


# ---------------------------------------------------------------------------------------------
# rng_bit_generator: XLA's expansion, in numpy


def _rotl(x: NDArray, r: int) -> NDArray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k0: int, k1: int, x0: NDArray, x1: NDArray) -> tuple[NDArray, NDArray]:
    """Threefry-2x32, 20 rounds (Salmon et al. 2011), on uint32 counter words."""
    ks = [np.uint32(k0), np.uint32(k1), np.uint32(k0 ^ k1 ^ 0x1BD11BDA)]
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in rotations[i % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def philox4x32(key: tuple[int, int], x: list[NDArray]) -> list[NDArray]:
    """Philox-4x32-10 (Salmon et al. 2011), on four uint32 counter words."""
    k0, k1 = key
    for _ in range(10):
        p0 = x[0].astype(np.uint64) * np.uint64(0xD2511F53)
        p1 = x[2].astype(np.uint64) * np.uint64(0xCD9E8D57)
        hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), p0.astype(np.uint32)
        hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), p1.astype(np.uint32)
        x = [hi1 ^ x[1] ^ np.uint32(k0), lo1, hi0 ^ x[3] ^ np.uint32(k1), lo0]
        k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
    return x


def _words(values: Sequence[int]) -> tuple[NDArray, NDArray]:
    """The low and high uint32 words of 64-bit Python ints."""
    return (np.array([v & _M32 for v in values], np.uint32),
            np.array([(v >> 32) & _M32 for v in values], np.uint32))


def _threefry_bits(key: int, counter: int, shape: Shape, wide: bool) -> tuple[NDArray, int]:
    k0, k1 = key & _M32, key >> 32
    if wide:  # one counter per element, the two words joined
        n = math.prod(shape)
        y0, y1 = threefry2x32(k0, k1, *_words([(counter + i) & _M64 for i in range(n)]))
        return (y0.astype(np.uint64) | y1.astype(np.uint64) << np.uint64(32)).reshape(shape), n
    if not shape:
        y0, _ = threefry2x32(k0, k1, *_words([counter]))
        return y0.reshape(()), 1
    split = next((i for i, d in enumerate(shape) if d % 2 == 0), None)
    if split is None:  # no even dimension: the longest (the first of equals)
        split = max(range(len(shape)), key=lambda i: (shape[i], -i))
    half = (shape[split] + 1) // 2
    half_shape = (*shape[:split], half, *shape[split + 1:])
    n = math.prod(half_shape)
    y0, y1 = threefry2x32(k0, k1, *_words([(counter + i) & _M64 for i in range(n)]))
    out = np.empty((*shape[:split], 2 * half, *shape[split + 1:]), np.uint32)
    index: list[Any] = [slice(None)] * len(shape)
    index[split] = slice(0, None, 2)
    out[tuple(index)] = y0.reshape(half_shape)
    index[split] = slice(1, None, 2)
    out[tuple(index)] = y1.reshape(half_shape)
    return out[tuple(slice(0, d) for d in shape)], n


def _philox_bits(key: int, counter: int, shape: Shape, wide: bool) -> tuple[NDArray, int]:
    size = math.prod(shape)
    n = -(-size * (2 if wide else 1) // 4)
    full = [counter + i + (key << 64) for i in range(n)]  # 128-bit counters
    low, high = [v & _M64 for v in full], [(v >> 64) & _M64 for v in full]
    x = philox4x32((key & _M32, key >> 32), [*_words(low), *_words(high)])
    if wide:
        pairs = [x[0].astype(np.uint64) | x[1].astype(np.uint64) << np.uint64(32),
                 x[2].astype(np.uint64) | x[3].astype(np.uint64) << np.uint64(32)]
        flat = np.stack(pairs, axis=1).reshape(-1)
    else:
        flat = np.stack(x, axis=1).reshape(-1)
    return flat[:size].reshape(shape), n


def ref_rng_bit_generator(shape: Shape, dtype: Any, algorithm: str
                          ) -> Callable[[NDArray], list[NDArray]]:
    """``(new_key, bits)`` of XLA's RngBitGenerator (CPU: RNG_DEFAULT is Philox)."""
    out_dtype = np.dtype(dtype)

    def ref(key: NDArray) -> list[NDArray]:
        words = [int(w) for w in key]
        if key.dtype == np.uint32:
            k, c = words[0] | words[1] << 32, words[2] | words[3] << 32
        else:
            k, c = words
        wide = out_dtype.itemsize == 8
        bits_fn = _threefry_bits if algorithm == "RNG_THREE_FRY" else _philox_bits
        bits, used = bits_fn(k, c, shape, wide)
        c = (c + used) & _M64
        if key.dtype == np.uint32:
            new_key = np.array([k & _M32, k >> 32, c & _M32, c >> 32], np.uint32)
        else:
            new_key = np.array([k, c], np.uint64)
        return [new_key, bits.astype(out_dtype)]

    return ref


def _keys(counter_near_wrap: bool) -> Maker:
    """Random keys (``uint32[4]`` or ``uint64[2]``, as the shape says); the counter optionally
    a few steps below 2**64."""

    def make(rng: np.random.Generator, shapes: Sequence[Shape],
             dtype: np.dtype[Any]) -> list[np.ndarray]:
        out = []
        for s in shapes:
            info = np.iinfo(dtype)
            key = rng.integers(0, int(info.max), s, dtype=np.uint64, endpoint=True).astype(dtype)
            if counter_near_wrap:
                below = int(rng.integers(1, 4))
                if dtype == np.uint32:
                    key[2], key[3] = _M32 - below + 1, _M32
                else:
                    key[1] = _M64 - below + 1
            out.append(key)
        return out

    return make


def _rng_records() -> list[OpRecord]:
    def record(shape: Shape, dtype: Any, algorithm: str, key: np.dtype[Any],
               wrap: bool = False) -> OpRecord:
        key_shape = (4,) if key == U32 else (2,)
        return OpRecord(
            "rng_bit_generator",
            lambda lax, k: lax.rng_bit_generator(k, shape, dtype,
                                                 getattr(lax.RandomAlgorithm, algorithm)),
            ref_rng_bit_generator(shape, dtype, algorithm), [(key_shape,)], (key,),
            args_maker=_keys(wrap), differentiable=False, vmap_is_loop=False,
            notes=f"{algorithm}, {np.dtype(dtype).name}{list(shape)}"
                  + (", counter wrapping past 2**64" if wrap else ""),
        )

    return [
        record((3, 5), np.uint32, "RNG_THREE_FRY", U32),
        record((2, 3), np.uint8, "RNG_THREE_FRY", U32),
        record((), np.uint32, "RNG_THREE_FRY", U32),
        record((7,), np.uint16, "RNG_THREE_FRY", U32, wrap=True),
        record((2, 3), np.uint64, "RNG_THREE_FRY", U64),
        record((7,), np.uint32, "RNG_PHILOX", U32),
        record((2, 3), np.uint16, "RNG_PHILOX", U32),
        record((9,), np.uint32, "RNG_PHILOX", U32, wrap=True),
        record((3,), np.uint64, "RNG_PHILOX", U64, wrap=True),
        record((3, 2), np.uint32, "RNG_DEFAULT", U32),
    ]


RECORDS: list[OpRecord] = _top_k_records() + _total_order_records() + _rng_records()
