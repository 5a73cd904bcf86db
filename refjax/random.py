"""``refjax.random``: JAX's default PRNG (Threefry-2x32), bit for bit.

A key is two ``uint32`` words. ``PRNGKey(seed)`` returns them as a raw ``uint32[2]`` array (the
classic API); ``key(seed)`` wraps them in a :class:`PRNGKeyArray` whose dtype prints as
``key<fry>``. Every function accepts either kind and returns keys of the kind it was given.

Keys are never mutated: ``split`` and ``fold_in`` hash a key into new ones, and a sampler hashes
its key with a counter per output element (``bits``), then maps the bits to the distribution.
Two derivations exist, chosen by the ``jax_threefry_partitionable`` flag, as in JAX:

- on (JAX 0.10's default): element ``i`` of any output is ``threefry2x32(key, (hi(i), lo(i)))``,
  ``i`` a 64-bit counter; ``split`` keeps both hashed words as the new key, ``bits`` xors them
  (32 bits), truncates the xor (8/16 bits) or concatenates them (64 bits);
- off (the classic scheme): the flat counter array ``0 .. n-1`` is split in halves that are hashed
  as pairs, and the two hashed halves are concatenated again.

``fold_in(key, d)`` hashes the counter pair ``(0, d)`` in both schemes.

Everything is built from ``refjax.lax`` operations around the one ``threefry2x32`` primitive, so
``jit``, ``vmap`` (over keys) and ``grad`` (through samplers that are differentiable in their
parameters) work through it. Typed keys are a thin wrapper registered as a pytree node: under
transformations they travel as their ``uint32`` data (``tree_leaves(key)`` lists that data,
where JAX lists the key itself). Only the ``threefry2x32`` implementation exists.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from typing import Final, TypeAlias, overload

import numpy as np

from refjax import dtypes, lax
from refjax.config import config
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike, concrete_or_error, get_aval
from refjax.numpy._util import (
    as_array,
    broadcast_shapes,
    broadcast_to,
    canonicalize_shape,
    check_arraylike,
    promote_dtypes_inexact,
    user_dtype,
)
from refjax.primitives.constants import constant
from refjax.primitives.gather_scatter import GatherDimensionNumbers, GatherScatterMode
from refjax.primitives.prng import threefry2x32
from refjax.util import canonicalize_axis

__all__ = [
    "KeyArray",
    "PRNGKey",
    "PRNGKeyArray",
    "bernoulli",
    "bits",
    "categorical",
    "choice",
    "exponential",
    "fold_in",
    "gumbel",
    "key",
    "key_data",
    "key_impl",
    "normal",
    "permutation",
    "randint",
    "split",
    "truncated_normal",
    "uniform",
    "wrap_key_data",
]

IMPL_NAME: Final = "threefry2x32"
KEY_SHAPE: Final = (2,)
UINT_DTYPES: Final[dict[int, DType]] = {
    8: dtypes.uint8,
    16: dtypes.uint16,
    32: dtypes.uint32,
    64: dtypes.uint64,
}
Shape: TypeAlias = Sequence[int]


# ---------------------------------------------------------------------------------------------
# Typed keys


class KeyDType:
    """The dtype of typed Threefry keys; it prints as JAX's ``key<fry>``."""

    __slots__ = ()
    name: Final = "key<fry>"
    itemsize: Final = 8

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyDType)

    def __hash__(self) -> int:
        return hash(self.name)


KEY_DTYPE: Final = KeyDType()


class PRNGKeyArray:
    """An array of typed PRNG keys: ``uint32`` key data whose last axis (the two words) is hidden.

    Supported: ``shape``/``ndim``/``size``/``dtype``, ``len``, iteration and indexing over the
    key axes, ``==``/``!=``. Arithmetic and conversion to numpy raise, as in JAX.
    """

    __slots__ = ("_base_array",)
    __hash__ = None  # type: ignore[assignment]  # arrays are unhashable
    __array_priority__ = 100

    def __init__(self, key_data: Array) -> None:
        self._base_array = key_data

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the array of keys (the key data's shape without its last axis)."""
        return get_aval(self._base_array).shape[:-1]

    @property
    def ndim(self) -> int:
        """Number of key axes."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of keys."""
        return math.prod(self.shape)

    @property
    def dtype(self) -> KeyDType:
        """``key<fry>``."""
        return KEY_DTYPE

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self) -> Iterator[PRNGKeyArray]:
        if not self.shape:
            raise TypeError("iteration over a 0-d key array")
        return (
            PRNGKeyArray(lax.index_in_dim(self._base_array, i, 0, keepdims=False))
            for i in range(self.shape[0])
        )

    def __getitem__(self, idx: object) -> PRNGKeyArray:
        items = idx if isinstance(idx, tuple) else (idx,)
        if Ellipsis in items:
            return PRNGKeyArray(self._base_array[(*items, slice(None))])
        if sum(i is not None for i in items) > self.ndim:
            raise IndexError(
                f"Too many indices: {self.ndim}-dimensional key array indexed with "
                f"{len(items)} regular indices."
            )
        return PRNGKeyArray(self._base_array[(*items, Ellipsis)])

    def __eq__(self, other: object) -> Array:  # type: ignore[override]  # elementwise
        if not isinstance(other, PRNGKeyArray):
            return NotImplemented
        same = lax.eq(self._base_array, other._base_array)
        return lax.reduce_and(same, (same.ndim - 1,))

    def __ne__(self, other: object) -> Array:  # type: ignore[override]  # elementwise
        equal = self.__eq__(other)
        return lax.bitwise_not(equal) if isinstance(equal, Array) else equal

    def __bool__(self) -> bool:
        raise TypeError("key array cannot be converted to boolean.")

    def __array__(self, dtype: DType | None = None, copy: bool | None = None) -> np.ndarray:
        raise TypeError(
            "JAX array with PRNGKey dtype cannot be converted to a NumPy array. Use "
            "jax.random.key_data(arr) if you wish to extract the underlying integer array."
        )

    def __repr__(self) -> str:
        return f"Array({self.shape}, dtype={self.dtype.name}) overlaying:\n{self._base_array}"


KeyArray: TypeAlias = PRNGKeyArray
KeyLike: TypeAlias = PRNGKeyArray | ArrayLike


def _register_key_pytree() -> None:
    from refjax.tree_util import register_pytree_node

    register_pytree_node(
        PRNGKeyArray,
        lambda k: ((k._base_array,), None),
        lambda _, children: PRNGKeyArray(*children),
    )


_register_key_pytree()


# ---------------------------------------------------------------------------------------------
# Key checks


def _invalid(detail: str) -> TypeError:
    return TypeError(f"JAX encountered invalid PRNG key data: {detail}")


def _check_key_data(data: object) -> Array:
    """``data`` as a refjax array if it is valid Threefry key data (``uint32[..., 2]``)."""
    if not isinstance(data, (Array, np.ndarray, np.generic)):
        raise _invalid(f"expected key_data to have ndim, shape, and dtype attributes. Got {data}")
    if data.ndim < 1:
        raise _invalid(f"expected key_data.ndim >= 1; got ndim={data.ndim}")
    if data.shape[-1:] != KEY_SHAPE:
        raise _invalid(
            f"expected key_data.shape to end with {KEY_SHAPE}; got shape={data.shape} for "
            f"impl=PRNGImpl(key_shape={KEY_SHAPE}, name='{IMPL_NAME}', tag='fry')"
        )
    if data.dtype != dtypes.uint32:
        raise _invalid(f"expected key_data.dtype = uint32; got dtype={data.dtype}")
    return as_array(data)


def _check_prng_key(name: str, key: KeyLike, allow_batched: bool = False) -> tuple[Array, bool]:
    """The key data of ``key`` and whether it was a typed key; one key unless batched allowed."""
    if isinstance(key, PRNGKeyArray):
        data, typed = key._base_array, True
    elif isinstance(key, (Array, np.ndarray, np.generic, bool, int, float, complex)):
        data, typed = _check_key_data(key), False
    else:
        raise TypeError(f"unexpected PRNG key type {type(key)}")
    if not allow_batched and get_aval(data).ndim > 1:
        raise ValueError(
            f"{name} accepts a single key, but was given a key array of shape {np.shape(key)} "
            "!= (). Use jax.vmap for batching."
        )
    return data, typed


def _return_keys(typed: bool, data: Array) -> KeyLike:
    return PRNGKeyArray(data) if typed else data


def _check_impl(impl: object) -> None:
    if impl is None or impl == IMPL_NAME or isinstance(impl, KeyDType):
        return
    if isinstance(impl, str):
        raise ValueError(
            f'unrecognized PRNG implementation "{impl}". Did you mean one of: "{IMPL_NAME}"?'
        )
    raise TypeError(f"unrecognized type {type(impl)} for specifying PRNG implementation.")


# ---------------------------------------------------------------------------------------------
# Seeds and key data


def _u32(value: int | Sequence[int]) -> Array:
    return constant(np.asarray(value, dtype=np.uint32), dtypes.uint32)


def _seed_words(seed: Array) -> Array:
    """``uint32[2]``: the high and low 32 bits of an integer seed (high is 0 below 64 bits)."""
    if not dtypes.is_integer(seed.dtype):
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    if seed.dtype.itemsize == 8:
        hi = lax.convert_element_type(lax.shift_right_logical(seed, _const(seed, 32)), np.uint32)
    else:
        hi = _u32(0)
    lo = lax.convert_element_type(seed, np.uint32)
    return _stack([hi, lo], 0)


def _seed(ctor_name: str, seed: ArrayLike | PRNGKeyArray) -> Array:
    if isinstance(seed, PRNGKeyArray):
        raise TypeError(f"{ctor_name} accepts a scalar seed, but was given a PRNG key.")
    if np.ndim(seed):
        raise TypeError(
            f"{ctor_name} accepts a scalar seed, but was given an array of shape "
            f"{np.shape(seed)} != (). Use jax.vmap for batching"
        )
    # A Python int goes through int64 first, as in JAX (it then wraps to 32 bits without x64).
    check_arraylike(ctor_name, seed)
    value = np.int64(seed) if isinstance(seed, int) else seed
    return _seed_words(as_array(value))


def PRNGKey(seed: ArrayLike, *, impl: object = None) -> Array:  # noqa: N802  # JAX's name
    """A raw ``uint32[2]`` Threefry key from an integer seed (JAX's legacy key API)."""
    _check_impl(impl)
    return _seed("PRNGKey", seed)


def key(seed: ArrayLike, *, impl: object = None, dtype: object = None) -> PRNGKeyArray:
    """A typed (``key<fry>``) scalar key from an integer seed."""
    if dtype is not None and impl is not None:
        raise ValueError("Cannot specify both `impl` and `dtype` arguments to jax.random.key")
    _check_impl(impl if dtype is None else dtype)
    return PRNGKeyArray(_seed("key", seed))


def key_data(keys: KeyLike) -> Array:
    """The ``uint32`` data under an array of keys (shape ``keys.shape + (2,)``)."""
    data, _ = _check_prng_key("key_data", keys, allow_batched=True)
    return data


def wrap_key_data(
    key_bits_array: ArrayLike, *, impl: object = None, dtype: object = None
) -> PRNGKeyArray:
    """Typed keys over ``uint32`` key data whose last axis has size 2."""
    if dtype is not None and impl is not None:
        raise ValueError(
            "Cannot specify both `impl` and `dtype` arguments to jax.random.wrap_key_data"
        )
    _check_impl(impl if dtype is None else dtype)
    return PRNGKeyArray(_check_key_data(key_bits_array))


def key_impl(keys: KeyLike) -> str:
    """The name of the keys' PRNG implementation (always ``'threefry2x32'``)."""
    _check_prng_key("key_impl", keys, allow_batched=True)
    return IMPL_NAME


# ---------------------------------------------------------------------------------------------
# lax helpers


def _const(like: ArrayLike, value: object) -> Array:
    """A scalar ``value`` with ``like``'s dtype (strong)."""
    return constant(value, get_aval(like).dtype)


def _stack(arrays: Sequence[ArrayLike], axis: int) -> Array:
    return lax.concatenate([lax.expand_dims(a, (axis,)) for a in arrays], axis)


def _row(x: ArrayLike, i: int) -> Array:
    return lax.index_in_dim(x, i, 0, keepdims=False)


def _key_words(key: Array) -> tuple[Array, Array]:
    return _row(key, 0), _row(key, 1)


def _where(pred: Array, on_true: ArrayLike, on_false: ArrayLike) -> Array:
    return lax.select_n(pred, on_false, on_true)


def _partitionable() -> bool:
    return config.read("jax_threefry_partitionable")


# ---------------------------------------------------------------------------------------------
# Threefry key derivations: split, fold_in, random bits


def _iota_2x32(shape: tuple[int, ...]) -> tuple[Array, Array]:
    """High and low words of the 64-bit row-major index of each element of ``shape``."""
    size = math.prod(shape)
    if size > np.iinfo(np.uint32).max:
        raise NotImplementedError("random arrays of 2 ** 32 or more elements")
    hi = lax.broadcast_in_dim(_u32(0), shape, ())
    lo = lax.reshape(lax.iota(np.uint32, size), shape) if shape else _u32(0)
    return hi, lo


def _threefry_counters(key: Array, shape: tuple[int, ...]) -> tuple[Array, Array]:
    """Both hashed words for every element of ``shape`` (the partitionable scheme)."""
    k1, k2 = _key_words(key)
    c1, c2 = _iota_2x32(shape)
    return threefry2x32(k1, k2, c1, c2)


def _threefry_2x32(key: Array, count: Array) -> Array:
    """The classic scheme: the flat counts split in halves, hashed as pairs, rejoined."""
    k1, k2 = _key_words(key)
    shape, n = count.shape, count.size
    flat = lax.reshape(count, (n,))
    if n % 2:
        flat = lax.concatenate([flat, _u32([0])], 0)
    half = flat.shape[0] // 2
    x1 = lax.slice_in_dim(flat, 0, half)
    x2 = lax.slice_in_dim(flat, half, 2 * half)
    out = lax.concatenate(list(threefry2x32(k1, k2, x1, x2)), 0)
    if n % 2:
        out = lax.slice_in_dim(out, 0, n)
    return lax.reshape(out, shape)


def _split_data(key: Array, shape: tuple[int, ...]) -> Array:
    """Key data of ``shape + (2,)`` derived from one key."""
    if _partitionable():
        return _stack(_threefry_counters(key, shape), len(shape))
    counts = lax.iota(np.uint32, math.prod(shape) * 2)
    return lax.reshape(_threefry_2x32(key, counts), (*shape, 2))


def _fold_in_data(key: Array, data: Array) -> Array:
    """The key hashed with the counter pair ``(0, data)``."""
    k1, k2 = _key_words(key)
    return _stack(threefry2x32(k1, k2, _u32(0), data), 0)


def _random_bits(key: Array, bit_width: int, shape: tuple[int, ...]) -> Array:
    """``uint<bit_width>`` random bits of ``shape`` from one key."""
    if _partitionable():
        return _random_bits_partitionable(key, bit_width, shape)
    return _random_bits_classic(key, bit_width, shape)


def _random_bits_partitionable(key: Array, bit_width: int, shape: tuple[int, ...]) -> Array:
    bits1, bits2 = _threefry_counters(key, shape)
    dtype = UINT_DTYPES[bit_width]
    if bit_width == 64:
        hi = lax.convert_element_type(bits1, dtype)
        lo = lax.convert_element_type(bits2, dtype)
        return lax.bitwise_or(lax.shift_left(hi, _const(hi, 32)), lo)
    xored = lax.bitwise_xor(bits1, bits2)
    return xored if bit_width == 32 else lax.convert_element_type(xored, dtype)


def _random_bits_classic(key: Array, bit_width: int, shape: tuple[int, ...]) -> Array:
    size = math.prod(shape)
    words = -(-bit_width * size // 32)
    if words > np.iinfo(np.uint32).max:
        raise NotImplementedError("random arrays of 2 ** 32 or more 32-bit words")
    bits = _threefry_2x32(key, lax.iota(np.uint32, words))
    dtype = UINT_DTYPES[bit_width]
    if bit_width == 64:
        halves = (lax.slice_in_dim(bits, 0, size), lax.slice_in_dim(bits, size, 2 * size))
        hi, lo = (lax.convert_element_type(h, dtype) for h in halves)
        bits = lax.bitwise_or(lax.shift_left(hi, _const(hi, 32)), lo)
    elif bit_width < 32:
        bits = lax.slice_in_dim(_subwords(bits, bit_width), 0, size)
    return lax.reshape(bits, shape)


def _subwords(words: Array, bit_width: int) -> Array:
    """Each ``uint32`` word cut into ``32 // bit_width`` pieces, low bits first (``view``)."""
    per_word = 32 // bit_width
    mask = _u32((1 << bit_width) - 1)
    pieces = [
        lax.bitwise_and(lax.shift_right_logical(words, _u32(bit_width * j)), mask)
        for j in range(per_word)
    ]
    flat = lax.reshape(_stack(pieces, 1), (words.shape[0] * per_word,))
    return lax.convert_element_type(flat, UINT_DTYPES[bit_width])


# ---------------------------------------------------------------------------------------------
# Key operations


@overload
def split(key: PRNGKeyArray, num: int | tuple[int, ...] = 2) -> PRNGKeyArray: ...
@overload
def split(key: ArrayLike, num: int | tuple[int, ...] = 2) -> Array: ...
def split(key: KeyLike, num: int | tuple[int, ...] = 2) -> KeyLike:
    """``num`` new keys (or an array of keys of shape ``num``) derived from ``key``."""
    data, typed = _check_prng_key("split", key)
    shape = tuple(num) if isinstance(num, Sequence) else (num,)
    return _return_keys(typed, _split_data(data, tuple(map(_dim, shape))))


def _dim(d: int) -> int:
    size = operator.index(d)
    if size < 0:
        raise ValueError(f"split num must be non-negative, got {size}")
    return size


def _split(key: Array, num: int = 2) -> list[Array]:
    """``num`` key data arrays split from ``key``, for samplers' internal use."""
    keys = _split_data(key, (num,))
    return [_row(keys, i) for i in range(num)]


@overload
def fold_in(key: PRNGKeyArray, data: ArrayLike) -> PRNGKeyArray: ...
@overload
def fold_in(key: ArrayLike, data: ArrayLike) -> Array: ...
def fold_in(key: KeyLike, data: ArrayLike) -> KeyLike:
    """A new key derived from ``key`` and the 32-bit integer ``data``."""
    key_arr, typed = _check_prng_key("fold_in", key)
    if np.ndim(data):
        raise TypeError(
            "fold_in accepts a scalar, but was given an array of"
            f"shape {np.shape(data)} != (). Use jax.vmap for batching."
        )
    return _return_keys(typed, _fold_in_data(key_arr, _as_uint32(data)))


def _as_uint32(data: ArrayLike) -> Array:
    """``jnp.asarray(data, dtype='uint32')``: ints wrap, floats truncate, Python ints checked."""
    if type(data) is int:
        if not 0 <= data <= np.iinfo(np.uint32).max:
            raise OverflowError(f"Python integer {data} out of bounds for uint32")
        return _u32(data)
    check_arraylike("fold_in", data)
    arr = as_array(data)
    if dtypes.is_integer(arr.dtype) or arr.dtype == dtypes.bool_:
        return lax.convert_element_type(arr, np.uint32)
    as_int = lax.convert_element_type(arr, dtypes.canonicalize_dtype(np.int64))
    return lax.convert_element_type(as_int, np.uint32)


# ---------------------------------------------------------------------------------------------
# Argument checks shared by the samplers


def _shape(shape: object) -> tuple[int, ...]:
    return canonicalize_shape(shape)


def _float_dtype(name: str, dtype: DTypeLike | None, kinds: str = "a float") -> DType:
    """The sampler's dtype (default float), a floating dtype or JAX's ValueError."""
    dt = user_dtype(float if dtype is None else dtype, name)
    ok = dtypes.issubdtype(dt, np.floating) or (
        kinds != "a float" and dtypes.issubdtype(dt, np.complexfloating)
    )
    if not ok:
        raise ValueError(f"dtype argument to `{name}` must be {kinds} dtype, got {dt}")
    return dt


def _check_shape(name: str, shape: tuple[int, ...], *param_shapes: tuple[int, ...]) -> None:
    """JAX's ValueError unless parameter shapes broadcast to exactly ``shape``."""
    if not param_shapes:
        return
    result = broadcast_shapes(shape, *param_shapes)
    if result != shape:
        raise ValueError(
            f"{name} parameter shapes must be broadcast-compatible with shape argument, and the "
            "result of broadcasting the shapes must equal the shape argument, but got result "
            f"{result} for shape argument {shape}."
        )


def _bcast(x: ArrayLike, shape: tuple[int, ...]) -> Array:
    return broadcast_to(x, shape)


# ---------------------------------------------------------------------------------------------
# Samplers


def bits(key: KeyLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Uniform random bits as unsigned integers (default ``uint32``; ``uint64`` with x64)."""
    key_arr, _ = _check_prng_key("bits", key)
    dt = user_dtype(np.uint64 if dtype is None else dtype, "bits")
    if not dtypes.issubdtype(dt, np.unsignedinteger):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dt}")
    return _random_bits(key_arr, dt.itemsize * 8, _shape(shape))


def uniform(
    key: KeyLike,
    shape: Shape = (),
    dtype: DTypeLike | None = None,
    minval: ArrayLike = 0.0,
    maxval: ArrayLike = 1.0,
) -> Array:
    """Uniform floats in ``[minval, maxval)``."""
    key_arr, _ = _check_prng_key("uniform", key)
    dt = _float_dtype("uniform", dtype)
    return _uniform(key_arr, minval, maxval, _shape(shape), dt)


def _uniform(
    key: Array, minval: ArrayLike, maxval: ArrayLike, shape: tuple[int, ...], dtype: DType
) -> Array:
    """Random mantissa bits under the exponent of 1.0 give ``[1, 2)``; shift and scale."""
    lo = _to_rank(lax.convert_element_type(minval, dtype), len(shape))
    hi = _to_rank(lax.convert_element_type(maxval, dtype), len(shape))
    finfo = dtypes.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    if nbits not in UINT_DTYPES:
        raise TypeError(f"uniform only accepts 8-, 16-, 32-, or 64-bit dtypesgot {dtype}.")
    rng_bits = nbits if nmant >= 8 else 8
    uint = UINT_DTYPES[nbits]
    raw = lax.convert_element_type(_random_bits(key, rng_bits, shape), uint)
    one_bits = constant(np.array(1.0, dtype).view(uint), uint)
    mantissa = lax.shift_right_logical(raw, constant(rng_bits - nmant, uint))
    floats = lax.sub(
        lax.bitcast_convert_type(lax.bitwise_or(mantissa, one_bits), dtype), _one(dtype)
    )
    scaled = lax.add(lax.mul(floats, lax.sub(hi, lo)), lo)
    return lax.max(lo, lax.reshape(scaled, shape))


def _to_rank(x: Array, rank: int) -> Array:
    """``lax.broadcast_to_rank``: leading size-1 axes up to ``rank``."""
    if x.ndim >= rank:
        return x
    return lax.broadcast(x, (1,) * (rank - x.ndim))


def _one(dtype: DType) -> Array:
    return constant(1.0, dtype)


def normal(key: KeyLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Standard normal samples: ``sqrt(2) * erf_inv(u)``, ``u`` uniform in ``(-1, 1)``."""
    key_arr, _ = _check_prng_key("normal", key)
    shp = _shape(shape)
    dt = _float_dtype("normal", dtype, "a float or complex")
    if dtypes.issubdtype(dt, np.complexfloating):
        return _normal_complex(key_arr, shp, dt)
    return _normal_real(key_arr, shp, dt)


def _normal_real(key: Array, shape: tuple[int, ...], dtype: DType) -> Array:
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    u = _uniform(key, lo, np.array(1.0, dtype), shape, dtype)
    return lax.mul(constant(np.sqrt(2), dtype), lax.erf_inv(u))


def _normal_complex(key: Array, shape: tuple[int, ...], dtype: DType) -> Array:
    """Real and imaginary parts from two split keys, each of variance 1/2."""
    key_re, key_im = _split(key)
    real_dtype = np.array(0, dtype).real.dtype
    re = lax.convert_element_type(_normal_real(key_re, shape, real_dtype), dtype)
    im = lax.convert_element_type(_normal_real(key_im, shape, real_dtype), dtype)
    z = lax.add(re, lax.mul(constant(1j, dtype), im))
    return lax.div(z, constant(np.sqrt(2), dtype))


def truncated_normal(
    key: KeyLike,
    lower: ArrayLike,
    upper: ArrayLike,
    shape: Shape | None = None,
    dtype: DTypeLike | None = None,
) -> Array:
    """Standard normal samples conditioned on ``lower < x < upper`` (inverse-CDF method)."""
    shp = None if shape is None else _shape(shape)
    key_arr, _ = _check_prng_key("truncated_normal", key)
    dt = _float_dtype("truncated_normal", dtype)
    bounds = (np.shape(lower), np.shape(upper))
    if shp is None:
        shp = broadcast_shapes(*bounds)
    else:
        _check_shape("truncated_normal", shp, *bounds)
    sqrt2 = constant(np.sqrt(2), dt)
    lo = lax.convert_element_type(lower, dt)
    hi = lax.convert_element_type(upper, dt)
    a = lax.erf(lax.div(lo, sqrt2))
    b = lax.erf(lax.div(hi, sqrt2))
    u = _uniform(key_arr, a, b, shp, dt)
    out = lax.mul(sqrt2, lax.erf_inv(u))
    # Clamp into the open interval: rounding (or u == a) must not reach the bounds.
    above = lax.nextafter(lax.stop_gradient(lo), constant(np.inf, dt))
    below = lax.nextafter(lax.stop_gradient(hi), constant(-np.inf, dt))
    out = lax.max(_bcast(above, shp), out)
    return lax.min(_bcast(below, shp), out)


def bernoulli(
    key: KeyLike, p: ArrayLike = 0.5, shape: Shape | None = None, mode: str = "low"
) -> Array:
    """Booleans that are True with probability ``p``: ``uniform < p``."""
    shp = None if shape is None else _shape(shape)
    if mode not in ("high", "low"):
        raise ValueError(f"got {mode=}, expected 'high' or 'low'")
    key_arr, _ = _check_prng_key("bernoulli", key)
    dt = get_aval(p).dtype
    if not dtypes.issubdtype(dt, np.floating):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {dt}.")
    prob = lax.convert_element_type(p, dt)
    if shp is None:
        shp = prob.shape
    else:
        _check_shape("bernoulli", shp, prob.shape)
    prob = _bcast(prob, shp)
    if mode == "high":
        u = _uniform(key_arr, 0.0, 1.0, (2, *shp), dt)
        u1, u2 = _row(u, 0), _row(u, 1)
        u2 = lax.mul(u2, constant(2.0 ** -dtypes.finfo(dt).nmant, dt))
        return lax.lt(u2, lax.sub(prob, u1))
    return lax.lt(_uniform(key_arr, 0.0, 1.0, shp, dt), prob)


def randint(
    key: KeyLike,
    shape: Shape,
    minval: ArrayLike,
    maxval: ArrayLike,
    dtype: DTypeLike | None = None,
) -> Array:
    """Integers in ``[minval, maxval)``: ``2 * nbits`` random bits reduced modulo the span."""
    key_arr, _ = _check_prng_key("randint", key)
    dt = user_dtype(int if dtype is None else dtype, "randint")
    shp = _shape(shape)
    if not dtypes.is_integer(dt):
        raise TypeError(f"randint only accepts integer dtypes, got {dt}")
    info = dtypes.iinfo(dt)
    if info.bits >= 32:
        return _randint(key_arr, minval, maxval, shp, dt)
    # Narrow dtypes sample in 32 bits (less bias), with bounds clipped to the dtype.
    lo = _clip_int32(minval, int(info.min), int(info.max))
    hi = _clip_int32(maxval, int(info.min), int(info.max) + 1)
    return lax.convert_element_type(_randint(key_arr, lo, hi, shp, dtypes.int32), dt)


def _clip_int32(x: ArrayLike, lo: int, hi: int) -> Array:
    check_arraylike("randint", x)
    x32 = lax.convert_element_type(as_array(x), dtypes.int32)
    return lax.clamp(_const(x32, lo), x32, _const(x32, hi))


def _randint(
    key: Array, minval: ArrayLike, maxval: ArrayLike, shape: tuple[int, ...], dtype: DType
) -> Array:
    _check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    check_arraylike("randint", minval, maxval)
    lo_in, hi_in = (_as_int(as_array(v)) for v in (minval, maxval))
    info = dtypes.iinfo(dtype)
    # Where maxval exceeds the dtype (randint(k, s, 0, 256, uint8)), the span is one larger.
    top = min(int(info.max), int(dtypes.iinfo(hi_in.dtype).max))
    out_of_range = _bcast(lax.gt(hi_in, _const(hi_in, top)), shape)
    lo = _bcast(_convert_and_clip(lo_in, dtype), shape)
    hi = _bcast(_convert_and_clip(hi_in, dtype), shape)
    nbits = info.bits
    k1, k2 = _split(key)
    higher, lower = _random_bits(k1, nbits, shape), _random_bits(k2, nbits, shape)
    unsigned = UINT_DTYPES[nbits]
    span = lax.convert_element_type(lax.sub(hi, lo), unsigned)
    span = _where(lax.le(hi, lo), _bcast(_const(span, 1), shape), span)
    grow = lax.bitwise_and(out_of_range, lax.gt(hi, lo))
    span = _where(grow, lax.add(span, _const(span, 1)), span)
    # (hi * 2**nbits + lo) % span without overflow, via (a * b) % n == ((a % n) * (b % n)) % n.
    multiplier = lax.rem(_bcast(_const(span, 2 ** (nbits // 2)), shape), span)
    multiplier = lax.rem(lax.mul(multiplier, multiplier), span)
    offset = lax.add(lax.mul(lax.rem(higher, span), multiplier), lax.rem(lower, span))
    offset = lax.rem(offset, span)
    return lax.add(lo, lax.convert_element_type(offset, dtype))


def _as_int(x: Array) -> Array:
    """Non-integer bounds become the default int dtype (``astype(int)``)."""
    if dtypes.is_integer(x.dtype):
        return x
    return lax.convert_element_type(x, dtypes.default_int_dtype())


def _convert_and_clip(x: Array, dtype: DType) -> Array:
    """``x`` cast to the integer ``dtype``, saturating at the limits both dtypes share."""
    lo = max(int(dtypes.iinfo(dtype).min), int(dtypes.iinfo(x.dtype).min))
    hi = min(int(dtypes.iinfo(dtype).max), int(dtypes.iinfo(x.dtype).max))
    clipped = lax.clamp(_const(x, lo), x, _const(x, hi))
    return lax.convert_element_type(clipped, dtype)


def permutation(key: KeyLike, x: ArrayLike, axis: int = 0, independent: bool = False) -> Array:
    """A random permutation of ``arange(x)`` (int ``x``) or of ``x`` along ``axis``."""
    key_arr, _ = _check_prng_key("permutation", key)
    check_arraylike("permutation", x)
    arr = as_array(x)
    ax = canonicalize_axis(axis, arr.ndim or 1)
    if not arr.ndim:
        if not dtypes.is_integer(arr.dtype):
            raise TypeError("x must be an integer or at least 1-dimensional")
        n = int(concrete_or_error(arr, "argument x of jax.random.permutation()"))
        return _shuffle(key_arr, _arange(n), ax)
    if independent or arr.ndim == 1:
        return _shuffle(key_arr, arr, ax)
    ind = _shuffle(key_arr, _arange(arr.shape[ax]), 0)
    return _take(arr, ind, ax)


def _arange(n: int) -> Array:
    return lax.iota(dtypes.default_int_dtype(), n)


def _shuffle(key: Array, x: Array, axis: int) -> Array:
    """Sort by fresh random 32-bit keys, enough rounds to make collisions negligible."""
    exponent = 3
    uint32max = np.iinfo(np.uint32).max
    num_rounds = int(np.ceil(exponent * np.log(max(1, x.size)) / np.log(uint32max)))
    for _ in range(num_rounds):
        key, subkey = _split(key)
        sort_keys = _random_bits(subkey, 32, x.shape)
        _, x = lax.sort_key_val(sort_keys, x, axis)
    return x


def _take(x: Array, indices: Array, axis: int) -> Array:
    """``jnp.take(x, indices, axis)`` for in-range indices, as one gather."""
    if x.shape[axis] == 0:
        return x
    nidx = indices.ndim
    offset_dims = (*range(axis), *range(axis + nidx, x.ndim - 1 + nidx))
    dnums = GatherDimensionNumbers(
        offset_dims=offset_dims, collapsed_slice_dims=(axis,), start_index_map=(axis,)
    )
    slice_sizes = tuple(1 if i == axis else d for i, d in enumerate(x.shape))
    starts = lax.expand_dims(indices, (nidx,))
    return lax.gather(x, starts, dnums, slice_sizes, mode=GatherScatterMode.PROMISE_IN_BOUNDS)


def choice(
    key: KeyLike,
    a: ArrayLike,
    shape: Shape = (),
    replace: bool = True,
    p: ArrayLike | None = None,
    axis: int = 0,
    mode: str | None = None,
) -> Array:
    """A random sample of ``shape`` from ``a`` (or ``arange(a)``), with weights ``p``."""
    key_arr, _ = _check_prng_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of jax.random.choice must be a sequence, got {shape}")
    check_arraylike("choice", a)
    arr = as_array(a)
    if arr.ndim == 0:
        n_inputs = int(concrete_or_error(arr, "The error occurred in jax.random.choice()"))
    else:
        axis = canonicalize_axis(axis, arr.ndim)
        n_inputs = arr.shape[axis]
    shp = tuple(shape)
    n_draws = math.prod(shp)
    if n_draws == 0:
        return lax.broadcast_in_dim(constant(0, arr.dtype), shp, ())
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(
            f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
            "when 'replace=False'"
        )
    if p is None:
        result = _choice_uniform(key_arr, arr, n_inputs, shp, replace, axis)
    else:
        ind = _choice_weighted(key_arr, p, n_inputs, shp, replace, mode)
        result = ind if arr.ndim == 0 else _take(arr, ind, axis)
    out_shape = shp if arr.ndim == 0 else (*arr.shape[:axis], *shp, *arr.shape[axis + 1 :])
    return lax.reshape(result, out_shape)


def _choice_uniform(
    key: Array, arr: Array, n: int, shape: tuple[int, ...], replace: bool, axis: int
) -> Array:
    if replace:
        ind = _randint(key, 0, n, shape, dtypes.default_int_dtype())
        return ind if arr.ndim == 0 else _take(arr, ind, axis)
    perm = permutation(key, n if arr.ndim == 0 else arr, axis)
    return lax.slice_in_dim(perm, 0, math.prod(shape), axis=axis if arr.ndim else 0)


def _choice_weighted(
    key: Array,
    p: ArrayLike,
    n: int,
    shape: tuple[int, ...],
    replace: bool,
    mode: str | None,
) -> Array:
    """Inverse-CDF sampling with replacement; the Gumbel top-k trick without."""
    check_arraylike("choice", p)
    (probs,) = promote_dtypes_inexact(p)
    if probs.shape != (n,):
        raise ValueError(
            "p must be None or a 1D vector with the same size as a.shape[axis]. "
            f"p has shape {probs.shape} and a.shape[axis] is {n}."
        )
    index_dtype = dtypes.default_int_dtype()
    if replace:
        cdf = lax.cumsum(probs)
        total = lax.index_in_dim(cdf, n - 1, keepdims=False)
        u = _uniform(key, 0.0, 1.0, shape, cdf.dtype)
        r = lax.mul(total, lax.sub(_const(u, 1), u))
        # searchsorted(cdf, r, side='left') == how many cdf entries are below r.
        below = lax.lt(_bcast(cdf, (*shape, n)), lax.expand_dims(r, (len(shape),)))
        return lax.reduce_sum(lax.convert_element_type(below, index_dtype), (len(shape),))
    g = lax.add(gumbel(key, (n,), probs.dtype, mode=mode), lax.log(probs))
    _, ind = lax.top_k(g, math.prod(shape))
    return lax.convert_element_type(ind, index_dtype)


def categorical(
    key: KeyLike,
    logits: ArrayLike,
    axis: int = -1,
    shape: Shape | None = None,
    replace: bool = True,
    mode: str | None = None,
) -> Array:
    """Category indices drawn with probabilities ``softmax(logits, axis)`` (Gumbel-max)."""
    key_arr, _ = _check_prng_key("categorical", key)
    check_arraylike("categorical", logits)
    logits_arr = as_array(logits)
    batch_shape = tuple(np.delete(np.array(logits_arr.shape, dtype=int), axis).tolist())
    if shape is None:
        shp = batch_shape
    else:
        shp = _shape(shape)
        _check_shape("categorical", shp, batch_shape)
    prefix = shp[: len(shp) - len(batch_shape)]
    if replace:
        return _categorical_replace(key_arr, logits_arr, axis, shp, batch_shape, prefix, mode)
    return _categorical_no_replace(key_arr, logits_arr, axis, shp, batch_shape, prefix, mode)


def _categorical_replace(
    key: Array,
    logits: Array,
    axis: int,
    shape: tuple[int, ...],
    batch_shape: tuple[int, ...],
    prefix: tuple[int, ...],
    mode: str | None,
) -> Array:
    ndim = logits.ndim
    axis = axis - ndim if axis >= 0 else axis
    sample_shape = list(shape[len(shape) - len(batch_shape) :])
    sample_shape.insert(axis % ndim, logits.shape[axis])
    full = (*prefix, *sample_shape)
    noise = gumbel(key, full, logits.dtype, mode=mode)
    shifted = lax.expand_dims(logits, tuple(range(len(prefix))))
    scores = lax.add(noise, _bcast(shifted, full))
    return lax.argmax(scores, axis % len(full), dtypes.default_int_dtype())


def _categorical_no_replace(
    key: Array,
    logits: Array,
    axis: int,
    shape: tuple[int, ...],
    batch_shape: tuple[int, ...],
    prefix: tuple[int, ...],
    mode: str | None,
) -> Array:
    scores = lax.add(logits, gumbel(key, logits.shape, logits.dtype, mode=mode))
    k = math.prod(prefix)
    ax = canonicalize_axis(axis, logits.ndim)
    if k > logits.shape[ax]:
        raise ValueError(
            f"Number of samples without replacement ({k}) cannot exceed number of "
            f"categories ({logits.shape[ax]})."
        )
    perm = (*(i for i in range(logits.ndim) if i != ax), ax)
    _, indices = lax.top_k(lax.transpose(scores, perm), k)
    dimensions = (indices.ndim - 1, *range(indices.ndim - 1))
    return lax.reshape(indices, shape, dimensions)


def gumbel(
    key: KeyLike, shape: Shape = (), dtype: DTypeLike | None = None, mode: str | None = None
) -> Array:
    """Standard Gumbel samples: ``-log(-log(u))``."""
    key_arr, _ = _check_prng_key("gumbel", key)
    dt = _float_dtype("gumbel", dtype)
    shp = _shape(shape)
    mode = "low" if mode is None else mode
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    if dt == dtypes.float32 and mode == "highest":
        return _gumbel_highest(key_arr, shp)
    if mode in ("high", "highest"):
        return _gumbel_high(key_arr, shp, dt)
    tiny = float(dtypes.finfo(dt).tiny)
    u = _uniform(key_arr, tiny, 1.0, shp, dt)
    return lax.neg(lax.log(lax.neg(lax.log(u))))


def _gumbel_high(key: Array, shape: tuple[int, ...], dtype: DType) -> Array:
    """Two uniforms combined into one with twice the resolution below 1/2."""
    info = dtypes.finfo(dtype)
    u = _uniform(key, 0.0, 1.0, (2, *shape), dtype)
    high, low = _row(u, 0), _row(u, 1)
    refined = lax.add(
        lax.add(high, lax.mul(constant(2.0**-info.nmant, dtype), low)),
        constant(info.tiny, dtype),
    )
    x = _where(lax.ge(high, constant(0.5, dtype)), high, refined)
    return lax.neg(lax.log(lax.neg(lax.log1p(lax.neg(x)))))


def _gumbel_highest(key: Array, shape: tuple[int, ...]) -> Array:
    """float32 Gumbel from 64 random bits read as a fixed-point fraction in (0, 1)."""
    words = _random_bits(key, 32, (2, *shape))
    neg = lax.bitwise_not(words)
    neg_lo = _row(neg, 1)
    carry = lax.convert_element_type(lax.eq(neg_lo, _u32(0xFFFFFFFF)), np.uint32)
    # 1 - bits as a 64-bit fixed-point number: (~hi + carry, ~lo + 1).
    neg = lax.add(neg, _stack([carry, lax.broadcast_in_dim(_u32(1), shape, ())], 0))
    flip = lax.lt(_row(words, 0), _u32(1 << 31))
    chosen = _where(_bcast(flip, words.shape), words, neg)
    x = _fixed_point_to_float32(chosen)
    small = lax.neg(lax.log(lax.neg(lax.log1p(lax.neg(x)))))
    large = lax.neg(lax.log(lax.neg(lax.log(x))))
    return _where(flip, small, large)


def _fixed_point_to_float32(words: Array) -> Array:
    """``uint32[2, ...]`` (high, low) fraction bits as the float32 in ``(0, 1)`` below them."""
    finfo = dtypes.finfo(dtypes.float32)
    hi, lo = _row(words, 0), _row(words, 1)
    hiclz, loclz = lax.clz(hi), lax.clz(lo)
    hi_empty = lax.eq(hiclz, _u32(32))
    mantissa = lax.bitwise_or(
        lax.shift_left(hi, hiclz),
        _where(
            hi_empty,
            lax.shift_left(lo, loclz),
            lax.shift_right_logical(lo, lax.sub(_u32(finfo.bits), hiclz)),
        ),
    )
    mantissa = lax.shift_right_logical(mantissa, _u32(finfo.bits - finfo.nmant - 1))
    mantissa = lax.bitwise_and(mantissa, _u32((1 << finfo.nmant) - 1))
    leading = _where(hi_empty, lax.add(_u32(32), loclz), hiclz)
    exp = lax.shift_left(lax.sub(_u32(-finfo.minexp), leading), _u32(finfo.nmant))
    exp = lax.bitwise_and(exp, _u32((1 << (finfo.bits - 2)) - (1 << (finfo.nmant - 1))))
    return lax.bitcast_convert_type(lax.bitwise_or(exp, mantissa), dtypes.float32)


def exponential(key: KeyLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Standard exponential samples: ``-log1p(-u)``."""
    key_arr, _ = _check_prng_key("exponential", key)
    dt = _float_dtype("exponential", dtype)
    u = _uniform(key_arr, 0.0, 1.0, _shape(shape), dt)
    return lax.neg(lax.log1p(lax.neg(u)))
