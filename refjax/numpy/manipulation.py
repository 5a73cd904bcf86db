"""Shape manipulation in ``jax.numpy``: shape queries, reshaping and transposing, broadcasting,
joining and splitting, and repeating, reversing, rolling, rotating and padding.

Each function is a thin, checked layer over the shape primitives (``reshape``, ``transpose``,
``squeeze``, ``broadcast_in_dim``, ``concatenate``, ``slice``, ``rev``, ``pad``, ...).
"""

from __future__ import annotations

import builtins
import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike, Tracer, concrete_or_error, get_aval
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    canonicalize_dims,
    canonicalize_shape,
    check_arraylike,
    ensure_arraylike,
    promote_dtypes,
)
from refjax.numpy._util import (
    broadcast_arrays as _broadcast_arrays,
)
from refjax.numpy._util import (
    broadcast_shapes as _broadcast_shapes,
)
from refjax.numpy._util import (
    broadcast_to as _broadcast_to,
)
from refjax.numpy.creation import array, asarray, astype, full
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import constant, convert
from refjax.util import canonicalize_axis

# ---------------------------------------------------------------------------------------------
# Shape queries


def shape(a: ArrayLike) -> tuple[int, ...]:
    """The shape of ``a``."""
    return get_aval(a).shape


def ndim(a: ArrayLike) -> int:
    """The number of dimensions of ``a``."""
    return len(shape(a))


def size(a: ArrayLike, axis: int | None = None) -> int:
    """The number of elements of ``a`` (along ``axis`` if given)."""
    s = shape(a)
    return math.prod(s) if axis is None else s[canonicalize_axis(axis, len(s))]


# ---------------------------------------------------------------------------------------------
# Reshaping and transposing


def _is_iterable(x: Any) -> bool:
    try:
        iter(x)
    except TypeError:
        return False
    return True


def _compute_newshape(arr: Array, newshape: Any) -> tuple[int, ...]:
    """A reshape target with its ``-1`` resolved; JAX's TypeError if the sizes differ."""
    orig = newshape
    dims = canonicalize_dims(newshape if _is_iterable(newshape) else [newshape])
    neg = [i for i, d in enumerate(dims) if d == -1]
    if len(neg) > 1:
        raise TypeError(f"can only specify one unknown axis size with a `-1` value, got {orig}")
    if neg:
        (i,) = neg
        others = dims[:i] + dims[i + 1:]
        known = math.prod(others)
        if arr.size % known:  # a ZeroDivisionError for a zero-sized other axis, as JAX
            raise TypeError(
                f"cannot reshape array of shape {arr.shape} (size {arr.size}) into shape {orig} "
                f"because the product of specified axis sizes ({known}) does not evenly divide "
                f"{arr.size}"
            )
        return (*others[:i], arr.size // known, *others[i:])
    if math.prod(dims) != arr.size:
        raise TypeError(
            f"cannot reshape array of shape {arr.shape} (size {arr.size}) into shape {orig} "
            f"(size {math.prod(dims)})"
        )
    return dims


def reshape(a: ArrayLike, shape: Any, order: str = "C", *, copy: bool | None = None) -> Array:
    """``a`` with a new shape (one dimension may be -1); ``order`` is "C" or "F"."""
    check_arraylike("reshape", a)
    arr = as_array(a)
    newshape = _compute_newshape(arr, shape)
    if order == "C":
        return lax.reshape(arr, newshape, None)
    if order == "F":
        dims = list(range(arr.ndim))[::-1]
        return transpose(lax.reshape(arr, newshape[::-1], dims))
    if order == "A":
        raise NotImplementedError("np.reshape order=A is not implemented.")
    raise ValueError(f"Unexpected value for 'order' argument: {order}.")


def ravel(a: ArrayLike, order: str = "C") -> Array:
    """``a`` flattened to 1-D."""
    (arr,) = ensure_arraylike("ravel", a)
    if order == "K":
        raise NotImplementedError("Ravel not implemented for order='K'.")
    return reshape(arr, (arr.size,), order)


def transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Array:
    """``a`` with its axes permuted (reversed by default)."""
    (arr,) = ensure_arraylike("transpose", a)
    perm = list(range(arr.ndim))[::-1] if axes is None else axes
    return lax.transpose(arr, [canonicalize_axis(i, arr.ndim) for i in perm])


permute_dims = transpose


def matrix_transpose(x: ArrayLike, /) -> Array:
    """The last two axes of ``x`` swapped."""
    (arr,) = ensure_arraylike("matrix_transpose", x)
    if arr.ndim < 2:
        raise ValueError(
            f"x must be at least two-dimensional for matrix_transpose; got {arr.ndim=}"
        )
    return swapaxes(arr, -1, -2)


def swapaxes(a: ArrayLike, axis1: int, axis2: int) -> Array:
    """``a`` with two axes exchanged."""
    (arr,) = ensure_arraylike("swapaxes", a)
    perm = list(range(arr.ndim))
    i, j = canonicalize_axis(axis1, arr.ndim), canonicalize_axis(axis2, arr.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(arr, perm)


def _index_tuple(x: int | Sequence[int]) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple of ints."""
    if isinstance(x, Sequence):
        return tuple(operator.index(i) for i in x)
    return (operator.index(x),)


def moveaxis(a: ArrayLike, source: int | Sequence[int], destination: int | Sequence[int]) -> Array:
    """``a`` with the axes ``source`` moved to positions ``destination``."""
    (arr,) = ensure_arraylike("moveaxis", a)
    src = tuple(canonicalize_axis(i, arr.ndim) for i in _index_tuple(source))
    dst = tuple(canonicalize_axis(i, arr.ndim) for i in _index_tuple(destination))
    if len(src) != len(dst):
        raise ValueError(f"Inconsistent number of elements: {len(src)} vs {len(dst)}")
    perm = [i for i in range(arr.ndim) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        perm.insert(d, s)
    return lax.transpose(arr, perm)


def squeeze(a: ArrayLike, axis: int | Sequence[int] | None = None) -> Array:
    """``a`` without the given size-1 axes (all of them if None)."""
    (arr,) = ensure_arraylike("squeeze", a)
    if axis is None:
        dims = tuple(i for i, d in enumerate(arr.shape) if d == 1)
    else:
        dims = _index_tuple(axis)
    return lax.squeeze(arr, dims)


def expand_dims(a: ArrayLike, axis: int | Sequence[int]) -> Array:
    """``a`` with size-1 axes inserted at positions ``axis`` of the result."""
    (arr,) = ensure_arraylike("expand_dims", a)
    return lax.expand_dims(arr, _index_tuple(axis))


# ---------------------------------------------------------------------------------------------
# Broadcasting


def broadcast_to(array: ArrayLike, shape: Any) -> Array:
    """``array`` broadcast to ``shape``."""
    check_arraylike("broadcast_to", array)
    return _broadcast_to(array, canonicalize_shape(shape))


def broadcast_arrays(*args: ArrayLike) -> list[Array]:
    """The arguments broadcast to their common shape."""
    check_arraylike("broadcast_arrays", *args)
    return _broadcast_arrays(*args)


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape the given shapes broadcast to."""
    given = [(s,) if np.ndim(s) == 0 else tuple(s) for s in shapes]
    dims = [canonicalize_dims(s) for s in given]
    for shape, d in zip(given, dims, strict=True):
        if any(n < 0 for n in d):
            raise TypeError(
                "Only non-negative indices are allowed when broadcasting static shapes, but got "
                f"shape {shape!r}."
            )
    return _broadcast_shapes(*dims)


@library_jit()
def atleast_1d(*arys: ArrayLike) -> Any:
    """Each argument viewed with at least one dimension."""
    check_arraylike("atleast_1d", *arys)
    outs = [array(a, copy=False, ndmin=1) for a in arys]
    return outs[0] if len(outs) == 1 else outs


@library_jit()
def atleast_2d(*arys: ArrayLike) -> Any:
    """Each argument viewed with at least two dimensions."""
    check_arraylike("atleast_2d", *arys)
    outs = [array(a, copy=False, ndmin=2) for a in arys]
    return outs[0] if len(outs) == 1 else outs


@library_jit()
def atleast_3d(*arys: ArrayLike) -> Any:
    """Each argument viewed with at least three dimensions (1-D ``(n,)`` becomes ``(1, n, 1)``)."""
    check_arraylike("atleast_3d", *arys)
    outs = []
    for a in arys:
        arr = as_array(a)
        if arr.ndim == 0:
            arr = lax.expand_dims(arr, (0, 1, 2))
        elif arr.ndim == 1:
            arr = lax.expand_dims(arr, (0, 2))
        elif arr.ndim == 2:
            arr = lax.expand_dims(arr, (2,))
        outs.append(arr)
    return outs[0] if len(outs) == 1 else outs


# ---------------------------------------------------------------------------------------------
# Joining and splitting


def _as_sequence(name: str, arrays: Any) -> list[Array]:
    if isinstance(arrays, (np.ndarray, Array)):
        return [getitem_int(as_array(arrays), i) for i in range(len(arrays))]
    check_arraylike(name, *arrays)
    return [as_array(a) for a in arrays]


def getitem_int(x: Array, i: int) -> Array:
    """``x[i]`` for a static int ``i``."""
    from refjax.numpy.indexing import getitem

    return getitem(x, i)


def concatenate(
    arrays: Any, axis: int | None = 0, dtype: DTypeLike | None = None
) -> Array:
    """The arrays joined along an existing ``axis`` (flattened first if None)."""
    if isinstance(arrays, (np.ndarray, Array)):
        return _concatenate_array(as_array(arrays), axis, dtype)
    check_arraylike("concatenate", *arrays)
    if not len(arrays):
        raise ValueError("Need at least one array to concatenate.")
    if axis is None:
        return concatenate([ravel(a) for a in arrays], axis=0, dtype=dtype)
    if np.ndim(arrays[0]) == 0:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    ax = canonicalize_axis(axis, np.ndim(arrays[0]))
    if dtype is None:
        parts = promote_dtypes(*arrays)
    else:
        parts = [asarray(a, dtype=dtype) for a in arrays]
    return lax.concatenate(parts, ax)


concat = concatenate


def _concatenate_array(arr: Array, axis: int | None, dtype: DTypeLike | None) -> Array:
    """``concatenate`` of the leading-axis slices of one array, as a reshape."""
    if axis is None:
        return ravel(arr if dtype is None else astype(arr, dtype))
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError("Need at least one array to concatenate.")
    if dtype is not None:
        arr = astype(arr, dtype)
    ax = canonicalize_axis(axis, arr.ndim - 1)
    new_shape = (*arr.shape[1:ax + 1], arr.shape[0] * arr.shape[ax + 1], *arr.shape[ax + 2:])
    dims = [*range(1, ax + 1), 0, *range(ax + 1, arr.ndim)]
    return lax.reshape(arr, new_shape, dims)


def stack(arrays: Any, axis: int = 0, out: None = None, dtype: DTypeLike | None = None) -> Array:
    """The arrays (all of one shape) joined along a new ``axis``."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.stack is not supported.")
    if not len(arrays):
        raise ValueError("Need at least one array to stack.")
    if isinstance(arrays, (np.ndarray, Array)):
        arr = as_array(arrays)
        ax = canonicalize_axis(axis, arr.ndim)
        return concatenate(expand_dims(arr, ax + 1), axis=ax, dtype=dtype)
    parts = _as_sequence("stack", arrays)
    if dtype is not None:
        parts = [asarray(p, dtype=dtype) for p in parts]
    else:
        parts = promote_dtypes(*parts)
    return lax.stack(parts, axis=axis)


def vstack(tup: Any, dtype: DTypeLike | None = None) -> Array:
    """The arrays (at least 2-D) joined along axis 0."""
    parts = _as_sequence("vstack", tup)
    return concatenate([atleast_2d(p) for p in parts], axis=0, dtype=dtype)


row_stack = vstack


def hstack(tup: Any, dtype: DTypeLike | None = None) -> Array:
    """The arrays (at least 1-D) joined along axis 1 (axis 0 for 1-D arrays)."""
    parts = [atleast_1d(p) for p in _as_sequence("hstack", tup)]
    return concatenate(parts, axis=0 if parts[0].ndim == 1 else 1, dtype=dtype)


def dstack(tup: Any, dtype: DTypeLike | None = None) -> Array:
    """The arrays (at least 3-D) joined along axis 2."""
    return concatenate([atleast_3d(p) for p in _as_sequence("dstack", tup)], axis=2, dtype=dtype)


def column_stack(tup: Any) -> Array:
    """1-D arrays as columns (2-D arrays as they are) joined along axis 1."""
    parts = _as_sequence("column_stack", tup)
    cols = [lax.expand_dims(p, (1,)) if p.ndim < 2 else p for p in parts]
    return concatenate([atleast_2d(c) for c in cols], axis=1)


@library_jit(static_argnames=("axis",))
def append(arr: ArrayLike, values: ArrayLike, axis: int | None = None) -> Array:
    """``values`` appended to ``arr`` along ``axis`` (both flattened when ``axis`` is None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis=axis)


def _split(op: str, ary: ArrayLike, indices_or_sections: Any, axis: int) -> list[Array]:
    (arr,) = ensure_arraylike(op, ary)
    ax = canonicalize_axis(axis, arr.ndim)
    size_ = arr.shape[ax]
    if isinstance(indices_or_sections, (tuple, list)) or np.ndim(indices_or_sections) > 0:
        points = [operator.index(i) for i in np.asarray(indices_or_sections).tolist()]
        sizes = np.diff([0, *points, size_]).tolist()
        if builtins.any(s < 0 for s in sizes):
            raise ValueError(f"Sizes passed to split must be nonnegative, got {sizes}")
    else:
        sections = operator.index(indices_or_sections)
        part, rem = builtins.divmod(size_, sections)
        if rem and op == "split":
            raise ValueError(f"array split does not result in an equal division: rest is {rem}")
        sizes = [part + 1] * rem + [part] * (sections - rem)
    return list(lax.split(arr, sizes, axis=ax))


def unstack(x: ArrayLike, /, *, axis: int = 0) -> tuple[Array, ...]:
    """The slices of ``x`` along ``axis``."""
    (arr,) = ensure_arraylike("unstack", x)
    return lax.unstack(arr, axis=axis)


def dsplit(ary: ArrayLike, indices_or_sections: Any) -> list[Array]:
    """``split`` along axis 2."""
    return _split("dsplit", ary, indices_or_sections, 2)


def split(ary: ArrayLike, indices_or_sections: Any, axis: int = 0) -> list[Array]:
    """``ary`` split along ``axis`` into equal sections or at the given indices."""
    return _split("split", ary, indices_or_sections, axis)


def array_split(ary: ArrayLike, indices_or_sections: Any, axis: int = 0) -> list[Array]:
    """Like :func:`split`, but sections may differ in size by one."""
    return _split("array_split", ary, indices_or_sections, axis)


def vsplit(ary: ArrayLike, indices_or_sections: Any) -> list[Array]:
    """:func:`split` along axis 0."""
    return _split("vsplit", ary, indices_or_sections, 0)


def hsplit(ary: ArrayLike, indices_or_sections: Any) -> list[Array]:
    """:func:`split` along axis 1 (axis 0 for 1-D arrays)."""
    return _split("hsplit", ary, indices_or_sections, 0 if np.ndim(ary) == 1 else 1)


# ---------------------------------------------------------------------------------------------
# Repeating, reversing, rolling, rotating and padding


def tile(A: ArrayLike, reps: int | Sequence[int]) -> Array:  # noqa: N803  # numpy's name
    """``A`` repeated ``reps`` times along each axis."""
    (arr,) = ensure_arraylike("tile", A)
    reps_tup = (1,) * (arr.ndim - len(_index_tuple(reps))) + _index_tuple(reps)
    if len(reps_tup) > arr.ndim:
        arr = lax.expand_dims(arr, tuple(range(len(reps_tup) - arr.ndim)))
    return lax.tile(arr, reps_tup)


def repeat(
    a: ArrayLike,
    repeats: ArrayLike,
    axis: int | None = None,
    *,
    total_repeat_length: int | None = None,
) -> Array:
    """Each element of ``a`` repeated ``repeats`` times along ``axis`` (flattened if None)."""
    if isinstance(repeats, int):
        check_arraylike("repeat", a)
    else:
        check_arraylike("repeat", a, repeats)
    arr = as_array(a)
    if axis is None:
        arr = ravel(arr)
        axis = 0
    ax = operator.index(axis)
    reps = np.asarray(concrete_or_error(
        repeats,
        "When jit-compiling jnp.repeat, the total number of repeats must be static. To fix "
        "this, either specify a static value for `repeats`, or pass a static value to "
        "`total_repeat_length`.",
    ))
    if reps.ndim == 0 and arr.ndim != 0:
        ax = canonicalize_axis(ax, arr.ndim)
        aux_shape = list(arr.shape)
        aux_shape.insert(ax + 1, int(reps))
        dims = [i for i in range(len(aux_shape)) if i != ax + 1]
        out_shape = list(arr.shape)
        out_shape[ax] *= int(reps)
        return reshape(lax.broadcast_in_dim(arr, aux_shape, dims), out_shape)
    return _repeat_each(arr, reps, ax)


def _repeat_each(arr: Array, reps: np.ndarray[Any, Any], axis: int) -> Array:
    """``repeat`` with per-element counts: a gather of the repeated indices."""
    from refjax.numpy.indexing import take

    if arr.ndim == 0:
        if reps.shape != (1,):
            raise ValueError(
                "`repeat` with a scalar parameter `a` is only implemented for scalar values of "
                "the parameter `repeats`."
            )
        return full((int(reps[0]),), arr)
    ax = canonicalize_axis(axis, arr.ndim)
    counts = np.broadcast_to(np.ravel(reps), (arr.shape[ax],))
    indices = np.repeat(np.arange(arr.shape[ax]), counts).astype(dtypes.default_int_dtype())
    return take(arr, indices, axis=ax)


def flip(m: ArrayLike, axis: int | Sequence[int] | None = None) -> Array:
    """``m`` with the order of elements reversed along ``axis`` (all axes if None)."""
    (arr,) = ensure_arraylike("flip", m)
    return _flip(arr, axis if axis is None or isinstance(axis, int) else tuple(axis))


@library_jit(static_argnames=("axis",))
def _flip(m: Array, axis: int | tuple[int, ...] | None = None) -> Array:
    if axis is None:
        return lax.rev(m, tuple(range(m.ndim)))
    return lax.rev(m, tuple(canonicalize_axis(a, m.ndim) for a in _index_tuple(axis)))


def fliplr(m: ArrayLike) -> Array:
    """``m`` reversed along axis 1."""
    (arr,) = ensure_arraylike("fliplr", m)
    return _flip(arr, 1)


def flipud(m: ArrayLike) -> Array:
    """``m`` reversed along axis 0."""
    (arr,) = ensure_arraylike("flipud", m)
    return _flip(arr, 0)


def roll(a: ArrayLike, shift: Any, axis: int | Sequence[int] | None = None) -> Array:
    """``a`` with elements shifted cyclically by ``shift`` along ``axis``."""
    (arr,) = ensure_arraylike("roll", a)
    if axis is None:
        return reshape(roll(ravel(arr), shift, 0), arr.shape)
    axes = tuple(canonicalize_axis(ax, arr.ndim) for ax in _index_tuple(axis))
    if isinstance(shift, Tracer):
        return _roll_dynamic(arr, shift, axes)
    return _roll_static(arr, tuple(int(s) for s in _index_tuple(shift)), axes)


@library_jit(static_argnames=("shift", "axis"))
def _roll_static(a: Array, shift: tuple[int, ...], axis: tuple[int, ...]) -> Array:
    arr = a
    for ax, s in zip(*np.broadcast_arrays(np.asarray(axis), np.asarray(shift)), strict=True):
        n = arr.shape[int(ax)]
        if n == 0:
            continue
        i = int(-s % n)
        arr = lax.concatenate(
            [lax.slice_in_dim(arr, i, n, axis=int(ax)), lax.slice_in_dim(arr, 0, i, axis=int(ax))],
            int(ax),
        )
    return arr


@library_jit(static_argnames=("axis",))
def _roll_dynamic(a: Array, shift: Array, axis: tuple[int, ...]) -> Array:
    """``roll`` by a traced shift: slice a doubled array at the shifted start."""
    arr = a
    shifts = _broadcast_to(shift, np.broadcast_shapes(shift.shape, (len(axis),)))
    for k, ax in enumerate(axis):
        n = arr.shape[ax]
        s = ufuncs.remainder(convert(getitem_int(shifts, k), dtypes.int32),
                             builtins.max(n, 1))
        doubled = lax.concatenate([arr, arr], ax)
        arr = lax.dynamic_slice_in_dim(doubled, lax.sub(constant(n, dtypes.int32), s), n, axis=ax)
    return arr


@library_jit(static_argnames=("k", "axes"))
def rot90(m: ArrayLike, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Array:
    """``m`` rotated by 90 degrees ``k`` times in the plane of ``axes``."""
    (arr,) = ensure_arraylike("rot90", m)
    if arr.ndim < 2:
        raise ValueError(
            "rot90 requires its first argument to have ndim at least two, but got first "
            f"argument of shape {arr.shape}, which has ndim {arr.ndim}"
        )
    ax1, ax2 = (canonicalize_axis(a, arr.ndim) for a in axes)
    if ax1 == ax2:
        raise ValueError("Axes must be different")
    k = k % 4
    if k == 0:
        return arr
    if k == 2:
        return flip(flip(arr, ax1), ax2)
    perm = list(range(arr.ndim))
    perm[ax1], perm[ax2] = perm[ax2], perm[ax1]
    if k == 1:
        return transpose(flip(arr, ax2), perm)
    return flip(transpose(arr, perm), ax2)


def _pad_pairs(pad_width: Any, nd: int) -> list[tuple[int, int]]:
    """``pad_width`` as one (before, after) pair per axis."""
    pw = np.asarray(pad_width)
    if not np.issubdtype(pw.dtype, np.integer):
        raise TypeError("`pad_width` must be of integral type.")
    if pw.ndim == 0:
        pw = np.broadcast_to(pw, (nd, 2))
    elif pw.shape == (1,) or pw.shape == (2,):
        pw = np.broadcast_to(pw, (nd, 2))
    elif pw.ndim == 2 and pw.shape[0] == 1:
        pw = np.broadcast_to(pw, (nd, 2))
    if pw.shape != (nd, 2):
        raise ValueError(f"Expected pad_width to have shape {(nd, 2)}; got {pw.shape}.")
    if np.any(pw < 0):
        raise ValueError("index can't contain negative values")
    return [(int(lo), int(hi)) for lo, hi in pw]


def pad(array: ArrayLike, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """``array`` padded by ``pad_width``; modes "constant" (with ``constant_values``), "edge"
    and "wrap"."""
    (arr,) = ensure_arraylike("pad", array)
    if mode not in ("constant", "edge", "wrap"):
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    allowed = {"constant": {"constant_values"}, "edge": set(), "wrap": set()}[mode]
    if set(kwargs) - allowed:
        raise ValueError(
            f"unsupported keyword arguments for mode '{mode}': {set(kwargs) - allowed}"
        )
    pairs = tuple(_pad_pairs(pad_width, arr.ndim)) if arr.ndim else ()
    return _pad(arr, pairs, mode, kwargs.get("constant_values", 0), None, 0, "even")


@library_jit(static_argnames=("pad_width", "mode", "stat_length", "end_values",
                              "reflect_type"))
def _pad(array: Array, pad_width: tuple[tuple[int, int], ...], mode: str,
         constant_values: ArrayLike, stat_length: None, end_values: ArrayLike,
         reflect_type: str) -> Array:
    arr = array
    if arr.ndim == 0:
        return arr
    if mode == "constant":
        value = convert(constant_values, arr.dtype, arr.weak_type)
        if value.ndim != 0:
            raise NotImplementedError("jnp.pad: only scalar constant_values are supported.")
        return lax.pad(arr, value, [(lo, hi, 0) for lo, hi in pad_width])
    for ax, (lo, hi) in enumerate(pad_width):
        arr = _pad_axis(arr, ax, lo, hi, mode)
    return arr


def _pad_axis(arr: Array, axis: int, lo: int, hi: int, mode: str) -> Array:
    """Edge or wrap padding of one axis by concatenation."""
    n = arr.shape[axis]
    if lo == hi == 0:
        return arr
    if n == 0:
        raise ValueError(f"can't extend empty axis {axis} using modes other than 'constant' or "
                         "'empty'")
    if mode == "edge":
        first = lax.slice_in_dim(arr, 0, 1, axis=axis)
        last = lax.slice_in_dim(arr, n - 1, n, axis=axis)
        before = repeat(first, lo, axis=axis)
        after = repeat(last, hi, axis=axis)
    else:
        reps = -(-builtins.max(lo, hi) // n) + 1
        tiled = concatenate([arr] * reps, axis=axis)
        before = lax.slice_in_dim(tiled, reps * n - lo, reps * n, axis=axis)
        after = lax.slice_in_dim(tiled, 0, hi, axis=axis)
    return lax.concatenate([before, arr, after], axis)
