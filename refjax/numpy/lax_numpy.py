"""Array creation and shape manipulation of ``jax.numpy``, plus ``where``, ``clip``, ``round``,
sorting and closeness tests.

Creation functions build constants on the host when their inputs are constants and bind
``iota``/``broadcast_in_dim`` as JAX does; shape functions are thin, checked layers over the shape
primitives (``reshape``, ``transpose``, ``squeeze``, ``broadcast_in_dim``, ``concatenate``, ...).
"""

from __future__ import annotations

import builtins
import math
import operator
import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.errors import ConcretizationTypeError
from refjax.interp.core import Array, ArrayLike, Tracer, concrete_or_error, get_aval
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    canonicalize_axis,
    canonicalize_dims,
    canonicalize_shape,
    check_arraylike,
    ensure_arraylike,
    promote_args,
    promote_args_inexact,
    promote_dtypes,
    promote_dtypes_inexact,
    to_inexact_dtype,
    user_dtype,
    where_,
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
from refjax.numpy.reductions import all as _all
from refjax.numpy.reductions import any as _any
from refjax.numpy.reductions import argmax as _argmax
from refjax.numpy.reductions import sum as _sum
from refjax.primitives.constants import check_python_int_range, constant, convert

# ---------------------------------------------------------------------------------------------
# Arrays from Python values


def _is_weak(x: object) -> bool:
    """Whether ``x`` is weakly typed: a Python int/float/complex or a weak array."""
    if isinstance(x, Array):
        return x.weak_type
    return type(x) in (int, float, complex)


def _leaves(x: object) -> list[object]:
    """The leaves of nested lists and tuples."""
    if isinstance(x, (list, tuple)):
        return [leaf for item in x for leaf in _leaves(item)]
    return [x]


def array(
    object: Any,  # noqa: A002  # numpy's name
    dtype: DTypeLike | None = None,
    copy: bool = True,
    order: str | None = "K",
    ndmin: int = 0,
) -> Array:
    """An array from a scalar, a (nested) list or tuple, a numpy array or an Array."""
    if order is not None and order != "K":
        raise NotImplementedError("Only implemented for order='K'")
    if dtype is None and ndmin == 0 and isinstance(object, (Array, np.ndarray, np.number)):
        return _copy_if_traced(object, copy) if isinstance(object, Array) else as_array(object)
    if dtype is None and ndmin == 0 and type(object) in (bool, int, float, complex):
        return as_array(object)
    out_dtype = None if dtype is None else user_dtype(dtype, "array")
    weak_type = dtype is None and _is_weak(object)
    leaves = _leaves(object)
    if any(leaf is None for leaf in leaves):
        raise ValueError("None is not a valid value for jnp.array")
    check_arraylike("array", *leaves)
    if out_dtype is None:
        out_dtype = dtypes.result_type(*leaves) if leaves else dtypes.default_float_dtype()
    out: ArrayLike
    if not any(isinstance(leaf, Array) for leaf in leaves):
        for leaf in leaves:
            check_python_int_range(leaf)
        out = np.asarray(object, dtype=out_dtype)
    elif isinstance(object, Array):
        out = _copy_if_traced(object, copy)
    else:
        parts = [lax.expand_dims(array(elt, out_dtype, copy=False), (0,)) for elt in object]
        out = lax.concatenate(parts, 0)
    result = convert(out, out_dtype, weak_type)
    if ndmin > result.ndim:
        result = lax.expand_dims(result, tuple(range(ndmin - result.ndim)))
    return result


def _copy_if_traced(x: Array, copy: bool) -> Array:
    """``x``, or (when tracing and a copy is asked for) its ``copy``, as JAX stages one."""
    return lax.copy(x) if copy and isinstance(x, Tracer) else x


def asarray(
    a: Any, dtype: DTypeLike | None = None, order: str | None = None, *, copy: bool | None = None
) -> Array:
    """``a`` as an array (no copy is ever needed: arrays are immutable)."""
    return array(a, dtype=dtype, copy=bool(copy), order=order)


def copy(a: ArrayLike, order: str | None = None) -> Array:
    """A copy of ``a``."""
    return array(a, copy=True, order=order)


def astype(x: ArrayLike, dtype: DTypeLike | None, /, *, copy: bool = False) -> Array:
    """``x`` converted to ``dtype`` (the default float if None)."""
    (arr,) = ensure_arraylike("astype", x)
    new = dtypes.default_float_dtype() if dtype is None else user_dtype(dtype, "astype")
    if arr.dtype.kind == "c" and new == dtypes.bool_:
        arr = lax.ne(arr, constant(0, arr.dtype))
    return convert(arr, new)


# ---------------------------------------------------------------------------------------------
# Filled arrays


def _full(shape: tuple[int, ...], fill_value: ArrayLike, dtype: DType | None) -> Array:
    """``lax.full``: ``fill_value`` cast to ``dtype`` and broadcast to ``shape``."""
    if np.shape(fill_value):
        raise TypeError(
            f"full must be called with scalar fill_value, got fill_value.shape "
            f"{np.shape(fill_value)}."
        )
    weak = dtype is None and _is_weak(fill_value)
    fill_dtype = get_aval(fill_value).dtype if dtype is None else dtype
    fill = convert(fill_value, fill_dtype, weak)
    return lax.broadcast(fill, shape) if shape else fill


def full(shape: Any, fill_value: ArrayLike, dtype: DTypeLike | None = None) -> Array:
    """An array of ``shape`` filled with ``fill_value``."""
    out_dtype = None if dtype is None else user_dtype(dtype, "full")
    check_arraylike("full", fill_value)
    if np.ndim(fill_value) == 0:
        return _full(canonicalize_shape(shape), fill_value, out_dtype)
    return _broadcast_to(asarray(fill_value, dtype=out_dtype), canonicalize_shape(shape))


def _filled(name: str, shape: Any, fill_value: int, dtype: DTypeLike | None) -> Array:
    """``zeros``/``ones``/``empty``: JAX's checks of a shape passed by mistake, then ``full``."""
    if isinstance(shape, types.GeneratorType):
        raise TypeError("expected sequence object with len >= 0 or a single integer")
    if isinstance(dtype, int) and isinstance(shape, int):
        raise TypeError(
            f"Cannot interpret '{dtype}' as a data type.\n\nDid you accidentally write "
            f"`jax.numpy.{name}({shape}, {dtype})` when you meant "
            f"`jax.numpy.{name}(({shape}, {dtype}))`, i.e. with a single tuple argument for the "
            "shape?"
        )
    out_dtype = user_dtype(float if dtype is None else dtype, name)
    return _full(canonicalize_shape(shape), fill_value, out_dtype)


def zeros(shape: Any, dtype: DTypeLike | None = None) -> Array:
    """An array of zeros (float by default)."""
    return _filled("zeros", shape, 0, dtype)


def ones(shape: Any, dtype: DTypeLike | None = None) -> Array:
    """An array of ones (float by default)."""
    return _filled("ones", shape, 1, dtype)


def empty(shape: Any, dtype: DTypeLike | None = None) -> Array:
    """An uninitialised array in JAX; zeros here."""
    return _filled("empty", shape, 0, dtype)


def full_like(
    a: ArrayLike, fill_value: ArrayLike, dtype: DTypeLike | None = None, shape: Any = None
) -> Array:
    """An array shaped like ``a`` (dtype and weak type too, unless given) full of ``fill_value``."""
    check_arraylike("full_like", a, fill_value)
    aval = get_aval(a)
    out_shape = aval.shape if shape is None else canonicalize_shape(shape)
    if np.ndim(fill_value) != 0:
        out_dtype = aval.dtype if dtype is None else user_dtype(dtype, "full_like")
        return _broadcast_to(asarray(fill_value, dtype=out_dtype), out_shape)
    weak = dtype is None and aval.weak_type
    out_dtype = aval.dtype if dtype is None else user_dtype(dtype, "full_like")
    fill = convert(fill_value, out_dtype, weak)
    return lax.broadcast(fill, out_shape) if out_shape else fill


def zeros_like(a: ArrayLike, dtype: DTypeLike | None = None, shape: Any = None) -> Array:
    """Zeros shaped like ``a``."""
    return full_like(a, 0, dtype, shape)


def ones_like(a: ArrayLike, dtype: DTypeLike | None = None, shape: Any = None) -> Array:
    """Ones shaped like ``a``."""
    return full_like(a, 1, dtype, shape)


empty_like = zeros_like


# ---------------------------------------------------------------------------------------------
# Ranges and grids


def _concrete_scalar(x: ArrayLike | None, context: str) -> Any:  # a Python or numpy scalar
    """A concrete scalar argument as a numpy value (None stays None)."""
    if x is None:
        return None
    value = concrete_or_error(x, context)
    return value if isinstance(x, Array) else x


def arange(
    start: ArrayLike,
    stop: ArrayLike | None = None,
    step: ArrayLike | None = None,
    dtype: DTypeLike | None = None,
) -> Array:
    """Evenly spaced values in ``[start, stop)`` with spacing ``step``."""
    out_dtype = None if dtype is None else user_dtype(dtype, "arange")
    for arg in (start, stop, step):
        if arg is not None:
            check_arraylike("arange", arg)
    start_name = "stop" if stop is None and step is None else "start"
    lo: Any = _concrete_scalar(start, f"It arose in the jnp.arange argument '{start_name}'")
    hi: Any = _concrete_scalar(stop, "It arose in the jnp.arange argument 'stop'")
    inc: Any = _concrete_scalar(step, "It arose in the jnp.arange argument 'step'")
    return _arange(lo, hi, inc, start_name, out_dtype)


def _arange(start: Any, stop: Any, step: Any, start_name: str, out_dtype: DType | None) -> Array:
    """``arange`` on concrete scalars."""
    for name, val in ((start_name, start), ("stop", stop), ("step", step)):
        if val is not None and np.ndim(val) != 0:
            raise ValueError(f"jax.numpy.arange: arguments must be scalars; got {name}={val}")
    if out_dtype is None:
        out_dtype = dtypes.result_type(start, *(x for x in (stop, step) if x is not None))
    if any(np.iscomplexobj(x) for x in (start, stop, step) if x is not None):
        raise ValueError(
            "Passing complex start/stop/step to jnp.arange is no longer supported starting "
            "in JAX v0.10.0."
        )
    if stop is None:
        start, stop = 0, start
    if step is not None:
        working = dtypes.float32 if out_dtype == dtypes.float16 else out_dtype
        size = builtins.max(0, int(np.ceil((stop - start) / step)))
        ramp = lax.mul(convert(step, working), lax.broadcasted_iota(working, (size,), 0))
        return convert(lax.add(convert(start, working), ramp), out_dtype)
    if start == 0:
        size = builtins.max(0, int(np.ceil(stop)))
        return lax.broadcasted_iota(out_dtype, (size,), 0)
    size = builtins.max(0, int(np.ceil(stop - start)))
    return lax.add(convert(start, out_dtype), lax.broadcasted_iota(out_dtype, (size,), 0))


def linspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: DTypeLike | None = None,
    axis: int = 0,
) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (inclusive if ``endpoint``)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start_arr, stop_arr = ensure_arraylike("linspace", start, stop)
    if dtype is None:
        out_dtype = to_inexact_dtype(dtypes.result_type(start_arr, stop_arr))
    else:
        out_dtype = user_dtype(dtype, "linspace")
    computation = to_inexact_dtype(out_dtype)
    start_arr, stop_arr = convert(start_arr, computation), convert(stop_arr, computation)
    bounds_shape = list(_broadcast_shapes(start_arr.shape, stop_arr.shape))
    broadcast_start = _broadcast_to(start_arr, tuple(bounds_shape))
    broadcast_stop = _broadcast_to(stop_arr, tuple(bounds_shape))
    axis = len(bounds_shape) + axis + 1 if axis < 0 else axis
    bounds_shape.insert(axis, 1)
    div = num - 1 if endpoint else num
    if num > 1:
        delta = ufuncs.true_divide(ufuncs.subtract(stop_arr, start_arr),
                                   constant(div, computation))
        iota_shape = [1] * len(bounds_shape)
        iota_shape[axis] = div
        ramp = reshape(lax.iota(computation, div), iota_shape)
        step = ufuncs.true_divide(ramp, constant(div, computation))
        lo = ufuncs.multiply(reshape(broadcast_start, bounds_shape), ufuncs.subtract(1, step))
        hi = ufuncs.multiply(reshape(broadcast_stop, bounds_shape), step)
        out = ufuncs.add(lo, hi)
        if endpoint:
            last = lax.expand_dims(broadcast_stop, (axis,))
            out = lax.concatenate([out, last], canonicalize_axis(axis, out.ndim))
    elif num == 1:
        nan_or_delta = np.nan if endpoint else ufuncs.subtract(stop_arr, start_arr)
        delta = asarray(nan_or_delta, dtype=computation)
        out = reshape(broadcast_start, bounds_shape)
    else:
        empty_shape = list(_broadcast_shapes(start_arr.shape, stop_arr.shape))
        empty_shape.insert(axis, 0)
        delta = full((), np.nan, computation)
        out = zeros(empty_shape, out_dtype)
    if dtypes.is_integer(out_dtype) and not dtypes.is_integer(out.dtype):
        out = lax.floor(out)
    result = convert(out, out_dtype)
    return (result, delta) if retstep else result


def eye(
    N: int,  # noqa: N803  # numpy's name
    M: int | None = None,  # noqa: N803  # numpy's name
    k: int | ArrayLike = 0,
    dtype: DTypeLike | None = None,
) -> Array:
    """A 2-D array with ones on the ``k``-th diagonal and zeros elsewhere."""
    out_dtype = user_dtype(float if dtype is None else dtype, "eye")
    (offset,) = ensure_arraylike("eye", k)
    if not (offset.shape == () and dtypes.is_integer(offset.dtype)):
        raise ValueError(f"k must be a scalar integer; got {k}")
    n = operator.index(N)
    m = n if M is None else operator.index(M)
    if n < 0 or m < 0:
        raise ValueError(f"negative dimensions are not allowed, got {N} and {M}")
    i = lax.broadcasted_iota(offset.dtype, (n, m), 0)
    j = lax.broadcasted_iota(offset.dtype, (n, m), 1)
    return astype(ufuncs.equal(ufuncs.add(i, offset), j), out_dtype)


def identity(n: int, dtype: DTypeLike | None = None) -> Array:
    """The ``n`` by ``n`` identity matrix."""
    return eye(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: DTypeLike | None = None) -> Array:  # noqa: N803
    """Ones at and below the ``k``-th diagonal, zeros above."""
    out_dtype = dtypes.float32 if dtype is None else user_dtype(dtype, "tri")
    shape = (N, N if M is None else M)
    rows = lax.add(lax.broadcasted_iota(dtypes.int32, shape, 0), constant(k, dtypes.int32))
    mask = lax.ge(rows, lax.broadcasted_iota(dtypes.int32, shape, 1))
    return mask if out_dtype == dtypes.bool_ else lax.convert_element_type(mask, out_dtype)


def _tri_mask(m: Array, k: int, name: str) -> Array:
    if m.ndim < 2:
        raise ValueError(f"Argument to jax.numpy.{name} must be at least 2D")
    n_rows, n_cols = m.shape[-2:]
    mask = tri(n_rows, n_cols, k=k, dtype=dtypes.bool_)
    return lax.broadcast(mask, m.shape[:-2])


def tril(m: ArrayLike, k: int = 0) -> Array:
    """``m`` with the elements above the ``k``-th diagonal zeroed."""
    (arr,) = ensure_arraylike("tril", m)
    which = _tri_mask(arr, k, "tril")
    return lax.select_n(which, zeros_like(arr), arr)


def triu(m: ArrayLike, k: int = 0) -> Array:
    """``m`` with the elements below the ``k``-th diagonal zeroed."""
    (arr,) = ensure_arraylike("triu", m)
    which = _tri_mask(arr, k - 1, "triu")
    return lax.select_n(which, arr, zeros_like(arr))


def diagonal(a: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """The ``offset`` diagonal of the 2-D slices of ``a`` over ``axis1`` and ``axis2``."""
    from refjax.numpy.indexing import getitem

    (arr,) = ensure_arraylike("diagonal", a)
    if arr.ndim < 2:
        raise ValueError("diagonal requires an array of at least two dimensions.")
    offset = operator.index(offset)
    n1, n2 = arr.shape[axis1], arr.shape[axis2]
    arr = moveaxis(arr, (axis1, axis2), (-2, -1))
    size = builtins.max(0, builtins.min(n1 + builtins.min(offset, 0), n2 - builtins.max(offset, 0)))
    i = arange(size)
    j = arange(builtins.abs(offset), builtins.abs(offset) + size)
    return getitem(arr, (..., i, j) if offset >= 0 else (..., j, i))


def diag(v: ArrayLike, k: int = 0) -> Array:
    """The ``k``-th diagonal of a 2-D array, or a 2-D array with 1-D ``v`` on that diagonal."""
    from refjax.numpy.indexing import getitem

    (arr,) = ensure_arraylike("diag", v)
    k = operator.index(k)
    if arr.ndim == 1:
        zero = constant(0, arr.dtype, arr.weak_type)
        n = arr.shape[0] + builtins.abs(k)
        padded = lax.pad(arr, zero, ((builtins.max(0, -k), builtins.max(0, k), 0),))
        return where_(eye(n, k=k, dtype=dtypes.bool_), getitem(padded, (slice(None), None)), zero)
    if arr.ndim == 2:
        return diagonal(arr, offset=k)
    raise ValueError("diag input must be 1d or 2d")


def trace(
    a: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: DTypeLike | None = None
) -> Array:
    """Sum along the ``offset`` diagonal."""
    from refjax.numpy.reductions import sum as _sum

    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Shapes


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


def atleast_1d(*arys: ArrayLike) -> Any:
    """Each argument viewed with at least one dimension."""
    check_arraylike("atleast_1d", *arys)
    outs = [array(a, copy=False, ndmin=1) for a in arys]
    return outs[0] if len(outs) == 1 else outs


def atleast_2d(*arys: ArrayLike) -> Any:
    """Each argument viewed with at least two dimensions."""
    check_arraylike("atleast_2d", *arys)
    outs = [array(a, copy=False, ndmin=2) for a in arys]
    return outs[0] if len(outs) == 1 else outs


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
    shape0 = parts[0].shape
    if any(p.shape != shape0 for p in parts[1:]):
        raise ValueError("All input arrays must have the same shape.")
    ax = canonicalize_axis(axis, len(shape0) + 1)
    if dtype is not None:
        parts = [asarray(p, dtype=dtype) for p in parts]
    else:
        parts = promote_dtypes(*parts)
    return lax.concatenate([lax.expand_dims(p, (ax,)) for p in parts], ax)


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
    stops = np.cumsum(sizes).tolist()
    starts = [0, *stops[:-1]]
    return [lax.slice_in_dim(arr, s, e, axis=ax) for s, e in zip(starts, stops, strict=True)]


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


def tile(A: ArrayLike, reps: int | Sequence[int]) -> Array:  # noqa: N803  # numpy's name
    """``A`` repeated ``reps`` times along each axis."""
    (arr,) = ensure_arraylike("tile", A)
    reps_tup = _index_tuple(reps)
    a_shape = (1,) * (len(reps_tup) - arr.ndim) + arr.shape
    reps_tup = (1,) * (len(a_shape) - len(reps_tup)) + reps_tup
    interleaved = [j for i in a_shape for j in (1, i)]
    target = tuple(k for pair in zip(reps_tup, a_shape, strict=True) for k in pair)
    result = _broadcast_to(reshape(arr, interleaved), target)
    return reshape(result, tuple(int(r) * s for r, s in zip(reps_tup, a_shape, strict=True)))


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
    if axis is None:
        return lax.rev(arr, tuple(range(arr.ndim)))
    return lax.rev(arr, tuple(canonicalize_axis(a, arr.ndim) for a in _index_tuple(axis)))


def fliplr(m: ArrayLike) -> Array:
    """``m`` reversed along axis 1."""
    return flip(m, 1)


def flipud(m: ArrayLike) -> Array:
    """``m`` reversed along axis 0."""
    return flip(m, 0)


def roll(a: ArrayLike, shift: Any, axis: int | Sequence[int] | None = None) -> Array:
    """``a`` with elements shifted cyclically by ``shift`` along ``axis``."""
    (arr,) = ensure_arraylike("roll", a)
    if axis is None:
        return reshape(roll(ravel(arr), shift, 0), arr.shape)
    axes = tuple(canonicalize_axis(ax, arr.ndim) for ax in _index_tuple(axis))
    if isinstance(shift, Tracer):
        return _roll_dynamic(arr, shift, axes)
    shifts = _index_tuple(shift)
    for ax, s in zip(*np.broadcast_arrays(np.asarray(axes), np.asarray(shifts)), strict=True):
        n = arr.shape[int(ax)]
        if n == 0:
            continue
        i = int(-s % n)
        arr = lax.concatenate(
            [lax.slice_in_dim(arr, i, n, axis=int(ax)), lax.slice_in_dim(arr, 0, i, axis=int(ax))],
            int(ax),
        )
    return arr


def _roll_dynamic(arr: Array, shift: Array, axes: tuple[int, ...]) -> Array:
    """``roll`` by a traced shift: slice a doubled array at the shifted start."""
    shifts = _broadcast_to(shift, np.broadcast_shapes(shift.shape, (len(axes),)))
    for k, ax in enumerate(axes):
        n = arr.shape[ax]
        s = ufuncs.remainder(convert(getitem_int(shifts, k), dtypes.int32),
                             builtins.max(n, 1))
        doubled = lax.concatenate([arr, arr], ax)
        arr = lax.dynamic_slice_in_dim(doubled, lax.sub(constant(n, dtypes.int32), s), n, axis=ax)
    return arr


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
    """``array`` padded by ``pad_width``; modes "constant" (with ``constant_values``) and "edge"."""
    (arr,) = ensure_arraylike("pad", array)
    if mode not in ("constant", "edge", "wrap"):
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    allowed = {"constant": {"constant_values"}, "edge": set(), "wrap": set()}[mode]
    if set(kwargs) - allowed:
        raise ValueError(
            f"unsupported keyword arguments for mode '{mode}': {set(kwargs) - allowed}"
        )
    if arr.ndim == 0:
        return arr
    pairs = _pad_pairs(pad_width, arr.ndim)
    if mode == "constant":
        value = convert(kwargs.get("constant_values", 0), arr.dtype, arr.weak_type)
        if value.ndim != 0:
            raise NotImplementedError("jnp.pad: only scalar constant_values are supported.")
        return lax.pad(arr, value, [(lo, hi, 0) for lo, hi in pairs])
    for ax, (lo, hi) in enumerate(pairs):
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


# ---------------------------------------------------------------------------------------------
# Selection, clipping, rounding


def where(
    condition: ArrayLike,
    x: ArrayLike | None = None,
    y: ArrayLike | None = None,
    /,
    *,
    size: int | None = None,
    fill_value: ArrayLike | None = None,
) -> Any:
    """``x`` where ``condition`` else ``y``; with one argument, the indices where it is true."""
    if x is None and y is None:
        check_arraylike("where", condition)
        return nonzero(condition, size=size, fill_value=fill_value)
    check_arraylike("where", condition, x, y)
    if size is not None or fill_value is not None:
        raise ValueError("size and fill_value arguments cannot be used in three-term where "
                         "function.")
    if x is None or y is None:
        raise ValueError(
            "Either both or neither of the x and y arguments should be provided to "
            f"jax.numpy.where, got {x} and {y}."
        )
    return where_(condition, x, y)


def nonzero(
    a: ArrayLike, *, size: int | None = None, fill_value: ArrayLike | None = None
) -> tuple[Array, ...]:
    """The indices of the non-zero elements, one array per axis (``a`` must be concrete)."""
    (arr,) = ensure_arraylike("nonzero", a)
    if arr.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use jnp.atleast_1d(scalar)"
                         " instead.")
    if isinstance(arr, Tracer):
        raise ConcretizationTypeError(
            arr, "The size argument of jnp.nonzero must be statically specified to use "
            "jnp.nonzero within JAX transformations. "
        )
    found = np.nonzero(np.asarray(arr))
    int_dtype = dtypes.default_int_dtype()
    if size is None:
        return tuple(constant(idx, int_dtype) for idx in found)
    fill = 0 if fill_value is None else fill_value
    fills = np.broadcast_to(np.asarray(fill), (arr.ndim,))
    outs = []
    for idx, f in zip(found, fills, strict=True):
        padded = np.full((size,), f, dtype=int_dtype)
        k = builtins.min(size, len(idx))
        padded[:k] = idx[:k]
        outs.append(constant(padded, int_dtype))
    return tuple(outs)


def argwhere(
    a: ArrayLike, *, size: int | None = None, fill_value: ArrayLike | None = None
) -> Array:
    """The indices of the non-zero elements, one row per element."""
    (arr,) = ensure_arraylike("argwhere", a)
    found = nonzero(atleast_1d(arr), size=size, fill_value=fill_value)
    result = stack(found, axis=1) if found else zeros((0, 0), dtypes.default_int_dtype())
    return result if arr.ndim else result[:, :0]


def clip(
    arr: ArrayLike | None = None,
    /,
    min: ArrayLike | None = None,  # noqa: A002  # numpy's name
    max: ArrayLike | None = None,  # noqa: A002  # numpy's name
) -> Array:
    """``arr`` with values below ``min`` raised to it and above ``max`` lowered to it."""
    if arr is None:
        raise ValueError("No input was provided to the clip function.")
    check_arraylike("clip", arr)
    if builtins.any(np.iscomplexobj(t) or (isinstance(t, Array) and t.dtype.kind == "c")
                    for t in (arr, min, max) if t is not None):
        raise ValueError(
            "Clip received a complex value either through the input or the min/max keywords. "
            "Complex values have no ordering and cannot be clipped. Please convert to a real "
            "value or array by taking the real or imaginary components via "
            "jax.numpy.real/imag respectively."
        )
    out = as_array(arr)
    if min is not None:
        out = ufuncs.maximum(min, out)
    if max is not None:
        out = ufuncs.minimum(max, out)
    return out


def round(a: ArrayLike, decimals: int = 0, out: None = None) -> Array:  # noqa: A001
    """Values rounded to ``decimals`` decimal places, ties to even."""
    (arr,) = ensure_arraylike("round", a)
    decimals = operator.index(decimals)
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.round is not supported.")
    dtype = arr.dtype
    if dtype == dtypes.bool_ or dtypes.is_integer(dtype):
        if decimals < 0:
            raise NotImplementedError("integer np.round not implemented for decimals < 0")
        return arr
    if decimals > np.log10(np.finfo(dtype).max):
        return arr
    if dtype.kind == "c":
        re, im = lax.real(arr), lax.imag(arr)
        return ufuncs.make_complex(_round_float(re, decimals), _round_float(im, decimals), dtype)
    return _round_float(arr, decimals)


def _round_float(x: Array, decimals: int) -> Array:
    if decimals == 0:
        return lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)
    dtype = x.dtype
    if dtype == dtypes.float16:
        x = lax.convert_element_type(x, dtypes.float32)
    factor = constant(10.0**decimals, x.dtype)
    out = lax.div(lax.round(lax.mul(x, factor), lax.RoundingMethod.TO_NEAREST_EVEN), factor)
    return lax.convert_element_type(out, dtype) if dtype == dtypes.float16 else out


around = round


def isclose(
    a: ArrayLike, b: ArrayLike, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08,
    equal_nan: bool = False,
) -> Array:
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (with infinities equal only to themselves)."""
    x, y = promote_args("isclose", a, b)
    x, y = promote_args_inexact("isclose", x, y)
    dtype = x.dtype
    if dtype.kind == "c":
        dtype = np.array(0, dtype).real.dtype
    rtol_, atol_ = convert(rtol, dtype), convert(atol, dtype)
    both_nan = ufuncs.logical_and(ufuncs.isnan(x), ufuncs.isnan(y))
    check_fin = ufuncs.isfinite(y)
    in_range = lax.le(lax.abs(lax.sub(x, y)), lax.add(atol_, lax.mul(rtol_, lax.abs(y))))
    out = ufuncs.logical_or(lax.eq(x, y), ufuncs.logical_and(check_fin, in_range))
    return ufuncs.logical_or(out, both_nan) if equal_nan else out


def allclose(
    a: ArrayLike, b: ArrayLike, rtol: ArrayLike = 1e-05, atol: ArrayLike = 1e-08,
    equal_nan: bool = False,
) -> Array:
    """Whether every element of ``a`` is close to the matching one of ``b``."""
    check_arraylike("allclose", a, b)
    return _all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1: ArrayLike, a2: ArrayLike, equal_nan: bool = False) -> Array:
    """Whether the arrays have the same shape and elements."""
    x, y = as_array(a1), as_array(a2)
    if x.shape != y.shape:
        return constant(False, dtypes.bool_)
    eq = ufuncs.equal(x, y)
    if equal_nan:
        eq = ufuncs.logical_or(eq, ufuncs.logical_and(ufuncs.isnan(x), ufuncs.isnan(y)))
    return _all(eq)


# ---------------------------------------------------------------------------------------------
# Sorting


def sort(
    a: ArrayLike,
    axis: int | None = -1,
    *,
    kind: None = None,
    order: None = None,
    stable: bool = True,
    descending: bool = False,
) -> Array:
    """``a`` sorted along ``axis`` (the flattened array if None)."""
    (arr,) = ensure_arraylike("sort", a)
    _check_sort_args("sort", kind, order)
    if axis is None:
        arr, axis = ravel(arr), 0
    dim = canonicalize_axis(axis, arr.ndim)
    result = lax.sort(arr, dimension=dim, is_stable=stable)
    assert isinstance(result, Array)
    return lax.rev(result, (dim,)) if descending else result


def argsort(
    a: ArrayLike,
    axis: int | None = -1,
    *,
    kind: None = None,
    order: None = None,
    stable: bool = True,
    descending: bool = False,
    dtype: DTypeLike | None = None,
) -> Array:
    """The indices that sort ``a`` along ``axis``."""
    (arr,) = ensure_arraylike("argsort", a)
    _check_sort_args("argsort", kind, order)
    if axis is None:
        arr, axis = ravel(arr), 0
    dim = canonicalize_axis(axis, arr.ndim)
    if dtype is not None:
        idx_dtype = user_dtype(dtype, "argsort")
    elif arr.shape[dim] >= 2**31:
        idx_dtype = dtypes.canonicalize_dtype(dtypes.int64)
    else:
        idx_dtype = dtypes.default_int_dtype()
    iota = lax.broadcasted_iota(idx_dtype, arr.shape, dim)
    if descending and stable:
        arr, iota = lax.rev(arr, (dim,)), lax.rev(iota, (dim,))
    _, indices = lax.sort_key_val(arr, iota, dimension=dim, is_stable=stable)
    return lax.rev(indices, (dim,)) if descending else indices


def _check_sort_args(name: str, kind: object, order: object) -> None:
    if kind is not None:
        raise TypeError(f"'kind' argument to {name} is not supported. Use stable=True or "
                        "stable=False to specify sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {name} is not supported.")


# ---------------------------------------------------------------------------------------------
# dtype queries


def iscomplexobj(x: Any) -> bool:
    """Whether ``x`` has a complex dtype."""
    if x is None:
        return False
    try:
        return bool(get_aval(x).dtype.kind == "c")
    except TypeError:
        return bool(np.iscomplexobj(x))


def isscalar(element: Any) -> bool:
    """Whether ``element`` is a scalar (a Python/numpy scalar or a 0-d array)."""
    if isinstance(element, (Array, np.ndarray, np.generic)):
        return bool(np.ndim(element) == 0)
    return type(element) in (bool, int, float, complex)


# ---------------------------------------------------------------------------------------------
# Differences, grids, products and rotations (built from the operations above, as JAX's are)


def diff(
    a: ArrayLike,
    n: int = 1,
    axis: int = -1,
    prepend: ArrayLike | None = None,
    append: ArrayLike | None = None,
) -> Array:
    """The ``n``-th discrete difference along ``axis`` (``!=`` for booleans)."""
    (arr,) = ensure_arraylike("diff", a)
    n = operator.index(_concrete_scalar(n, "'n' argument of jnp.diff"))
    axis = operator.index(_concrete_scalar(axis, "'axis' argument of jnp.diff"))
    if n == 0:
        return arr
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if arr.ndim == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got {a}")
    axis = canonicalize_axis(axis, arr.ndim)
    edge = tuple(1 if k == axis else d for k, d in enumerate(arr.shape))

    def piece(value: ArrayLike) -> Array:  # a scalar stands for a slice of the edge's shape
        (p,) = ensure_arraylike("diff", value)
        return p if p.ndim else broadcast_to(p, edge)

    combined = [arr]
    if prepend is not None:
        combined.insert(0, piece(prepend))
    if append is not None:
        combined.append(piece(append))
    if len(combined) > 1:
        arr = concatenate(combined, axis)
    later = tuple(slice(1, None) if k == axis else slice(None) for k in range(arr.ndim))
    earlier = tuple(slice(None, -1) if k == axis else slice(None) for k in range(arr.ndim))
    op = ufuncs.not_equal if arr.dtype == dtypes.bool_ else ufuncs.subtract
    for _ in range(n):
        arr = op(arr[later], arr[earlier])
    return arr


def meshgrid(
    *xi: ArrayLike, copy: bool = True, sparse: bool = False, indexing: str = "xy"
) -> list[Array]:
    """Coordinate grids from 1-D coordinate arrays (``xy``: the first two axes swapped)."""
    args = ensure_arraylike("meshgrid", *xi)
    if not copy:
        raise ValueError("jax.numpy.meshgrid only supports copy=True")
    if indexing not in ["xy", "ij"]:
        raise ValueError(f"Valid values for indexing are 'xy' and 'ij', got {indexing}")
    if any(a.ndim != 1 for a in args):
        raise ValueError(
            f"Arguments to jax.numpy.meshgrid must be 1D, got shapes {[a.shape for a in args]}"
        )
    swap = indexing == "xy" and len(args) >= 2
    if swap:
        args[0], args[1] = args[1], args[0]
    shape = [1 if sparse else a.shape[0] for a in args]

    def grid_shape(i: int, a: Array) -> list[int]:
        return [*shape[:i], a.shape[0], *shape[i + 1 :]] if sparse else shape

    output = [lax.broadcast_in_dim(a, grid_shape(i, a), (i,)) for i, a in enumerate(args)]
    if swap:
        output[0], output[1] = output[1], output[0]
    return output


def append(arr: ArrayLike, values: ArrayLike, axis: int | None = None) -> Array:
    """``values`` appended to ``arr`` along ``axis`` (both flattened when ``axis`` is None)."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis=axis)


def kron(a: ArrayLike, b: ArrayLike) -> Array:
    """The Kronecker product of ``a`` and ``b``."""
    check_arraylike("kron", a, b)
    x, y = promote_dtypes(a, b)
    if x.ndim < y.ndim:
        x = expand_dims(x, range(y.ndim - x.ndim))
    elif y.ndim < x.ndim:
        y = expand_dims(y, range(x.ndim - y.ndim))
    x_spread = expand_dims(x, range(1, 2 * x.ndim, 2))
    y_spread = expand_dims(y, range(0, 2 * y.ndim, 2))
    out_shape = tuple(int(s) for s in np.multiply(x.shape, y.shape))
    return reshape(lax.mul(x_spread, y_spread), out_shape)


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


def nan_to_num(
    x: ArrayLike,
    copy: bool = True,
    nan: ArrayLike = 0.0,
    posinf: ArrayLike | None = None,
    neginf: ArrayLike | None = None,
) -> Array:
    """NaN replaced by ``nan``, +-inf by ``posinf``/``neginf`` (the dtype's extremes)."""
    del copy
    (arr,) = ensure_arraylike("nan_to_num", x)
    dtype = arr.dtype
    if dtype.kind not in "fc":
        return arr
    if dtype.kind == "c":
        re, im = (nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf)
                  for p in (ufuncs.real(arr), ufuncs.imag(arr)))
        return ufuncs.make_complex(re, im, dtype)
    info = dtypes.finfo(dtype)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    out = where(ufuncs.isnan(arr), asarray(nan, dtype=dtype), arr)
    out = where(ufuncs.isposinf(out), asarray(high, dtype=dtype), out)
    result: Array = where(ufuncs.isneginf(out), asarray(low, dtype=dtype), out)
    return result


def angle(z: ArrayLike, deg: bool = False) -> Array:
    """The argument (phase) of ``z``, in radians (degrees with ``deg``)."""
    (arr,) = ensure_arraylike("angle", z)
    re, im = ufuncs.real(arr), ufuncs.imag(arr)
    if re.dtype.kind not in "fc" or (arr.dtype.kind == "f" and arr.ndim == 0):
        default = dtypes.default_float_dtype()
        re, im = lax.convert_element_type(re, default), lax.convert_element_type(im, default)
    result = lax.atan2(im, re)
    return ufuncs.degrees(result) if deg else result


def select(
    condlist: Sequence[ArrayLike], choicelist: Sequence[ArrayLike], default: ArrayLike = 0
) -> Array:
    """The element of the first choice whose condition holds, else ``default``."""
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"condlist must have length equal to choicelist ({len(condlist)} vs "
            f"{len(choicelist)})"
        )
    if len(condlist) == 0:
        raise ValueError("condlist must be non-empty")
    check_arraylike("select", *condlist, *choicelist, default)
    conds = [asarray(c) for c in condlist]
    choices = promote_dtypes(asarray(default), *[asarray(c) for c in choicelist])
    # the default first, under a False condition: argmax of all-False picks it
    conditions = stack(broadcast_arrays(False, *conds))
    index = _argmax(conditions.astype(bool), axis=0)
    return lax.select_n(*broadcast_arrays(index, *choices))


def cross(
    a: ArrayLike,
    b: ArrayLike,
    axisa: int = -1,
    axisb: int = -1,
    axisc: int = -1,
    axis: int | None = None,
) -> Array:
    """The cross product of 2- or 3-vectors along the given axes."""
    check_arraylike("cross", a, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if x.shape[-1] not in (2, 3) or y.shape[-1] not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")
    if x.shape[-1] == 2 and y.shape[-1] == 2:
        return ufuncs.subtract(ufuncs.multiply(x[..., 0], y[..., 1]),
                               ufuncs.multiply(x[..., 1], y[..., 0]))
    x0, x1, y0, y1 = x[..., 0], x[..., 1], y[..., 0], y[..., 1]
    x2 = x[..., 2] if x.shape[-1] == 3 else zeros_like(x0)
    y2 = y[..., 2] if y.shape[-1] == 3 else zeros_like(y0)

    def minor(p: Array, q: Array, r: Array, s: Array) -> Array:
        return ufuncs.subtract(ufuncs.multiply(p, q), ufuncs.multiply(r, s))

    c = array([minor(x1, y2, x2, y1), minor(x2, y0, x0, y2), minor(x0, y1, x1, y0)])
    return moveaxis(c, 0, axisc)


def logspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    base: ArrayLike = 10.0,
    dtype: DTypeLike | None = None,
    axis: int = 0,
) -> Array:
    """``base ** linspace(start, stop, num)``."""
    out_dtype = (to_inexact_dtype(dtypes.result_type(start, stop)) if dtype is None
                 else user_dtype(dtype, "logspace"))
    computation_dtype = to_inexact_dtype(out_dtype)
    lo, hi = ensure_arraylike("logspace", start, stop)
    lin = linspace(lo.astype(computation_dtype), hi.astype(computation_dtype), num,
                   endpoint=endpoint, axis=axis)
    return lax.convert_element_type(ufuncs.power(base, lin), out_dtype)


def _sort_less(x: Array, y: Array) -> Array:
    """``x`` before ``y`` in sort order: -0.0 equals 0.0, NaN after everything (as lax.sort);
    complex numbers by real part, then imaginary part."""
    if x.dtype == dtypes.bool_:
        return ufuncs.logical_and(ufuncs.logical_not(x), y)
    if x.dtype.kind == "c":
        re_x, re_y, im_x, im_y = ufuncs.real(x), ufuncs.real(y), ufuncs.imag(x), ufuncs.imag(y)
        tie = ufuncs.logical_not(ufuncs.logical_or(_sort_less(re_x, re_y),
                                                   _sort_less(re_y, re_x)))
        return ufuncs.logical_or(_sort_less(re_x, re_y),
                                 ufuncs.logical_and(tie, _sort_less(im_x, im_y)))
    if x.dtype.kind != "f":
        return ufuncs.less(x, y)
    nan_last = ufuncs.logical_and(ufuncs.isnan(y), ufuncs.logical_not(ufuncs.isnan(x)))
    return ufuncs.logical_or(ufuncs.less(x, y), nan_last)


def searchsorted(
    a: ArrayLike,
    v: ArrayLike,
    side: str = "left",
    sorter: ArrayLike | None = None,
    *,
    method: str = "scan",
) -> Array:
    """Where ``v``'s elements would go in the sorted 1-D ``a``: the count of elements of ``a``
    before each (``left``: strictly before; ``right``: not after), in lax.sort's order."""
    if side not in ("left", "right"):
        raise ValueError(f"{side!r} is an invalid value for keyword 'side'. "
                         "Expected one of ['left', 'right'].")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"{method!r} is an invalid value for keyword 'method'. Expected one of "
                         "['sort', 'scan', 'scan_unrolled', 'compare_all'].")
    if sorter is None:
        arr, values = ensure_arraylike("searchsorted", a, v)
    else:
        arr, values, order = ensure_arraylike("searchsorted", a, v, sorter)
    if arr.ndim != 1:
        raise ValueError("a should be 1-dimensional")
    arr, values = promote_dtypes(arr, values)
    if sorter is not None:
        arr = arr[order]
    index_dtype = dtypes.int32 if arr.shape[0] < 2**31 - 1 else dtypes.int64
    column = reshape(arr, (arr.shape[0],) + (1,) * values.ndim)
    if side == "left":
        before = _sort_less(column, values)
    else:
        before = ufuncs.logical_not(_sort_less(values, column))
    return _sum(before, axis=0, dtype=index_dtype)


def isin(
    element: ArrayLike,
    test_elements: ArrayLike,
    assume_unique: bool = False,
    invert: bool = False,
    *,
    method: str = "auto",
) -> Array:
    """Whether each element of ``element`` equals some element of ``test_elements``."""
    del assume_unique, method  # every method gives the same answer: compare all pairs
    elements, tests = ensure_arraylike("isin", element, test_elements)
    x, y = promote_dtypes(elements, tests)
    x, y = ravel(x), ravel(y)
    if x.size == 0 or y.size == 0:
        return full(elements.shape, invert, dtype=dtypes.bool_)
    if invert:
        found = _all(ufuncs.not_equal(x[:, None], y[None, :]), axis=-1)
    else:
        found = _any(ufuncs.equal(x[:, None], y[None, :]), axis=-1)
    return reshape(found, elements.shape)


def trapezoid(
    y: ArrayLike, x: ArrayLike | None = None, dx: ArrayLike = 1.0, axis: int = -1
) -> Array:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule (samples at ``x`` or a
    spacing ``dx``)."""
    if x is None:
        (y_in,) = ensure_arraylike("trapezoid", y)
        (y_arr,) = promote_dtypes_inexact(y_in)
        step = asarray(dx)
        if step.ndim > 0:
            step = lax.expand_dims(step, tuple(range(y_arr.ndim - step.ndim)))
            step = moveaxis(step, axis, -1)
    else:
        y_in, x_in = ensure_arraylike("trapezoid", y, x)
        y_arr, x_arr = promote_dtypes_inexact(y_in, x_in)
        step = diff(x_arr) if x_arr.ndim == 1 else moveaxis(diff(x_arr, axis=axis), axis, -1)
    y_arr = moveaxis(y_arr, axis, -1)
    if step.ndim == 0 or step.shape[-1] == 1:
        width = step if step.ndim == 0 else step[..., 0]
        ends = ufuncs.multiply(0.5, ufuncs.add(y_arr[..., 0], y_arr[..., -1]))
        return ufuncs.multiply(width, ufuncs.subtract(_sum(y_arr, axis=-1), ends))
    pairs = ufuncs.add(y_arr[..., 1:], y_arr[..., :-1])
    return ufuncs.multiply(0.5, _sum(ufuncs.multiply(step, pairs), axis=-1))


def unravel_index(indices: ArrayLike, shape: Any) -> tuple[Array, ...]:
    """The multi-indices of flat ``indices`` into ``shape`` (out-of-range indices clamped)."""
    (flat,) = ensure_arraylike("unravel_index", indices)
    try:
        sizes = list(shape)
    except TypeError:
        sizes = [shape]
    if any(np.ndim(s) != 0 for s in sizes):
        raise ValueError("unravel_index: shape should be a scalar or 1D sequence.")
    out: list[Array] = [flat] * len(sizes)
    rest = flat
    for i, s in reversed(list(enumerate(sizes))):
        rest, out[i] = ufuncs.divmod(rest, s)
    past_end = ufuncs.greater(rest, 0)
    before_start = (asarray(False) if rest.dtype.kind == "u" else ufuncs.less(rest, -1))
    return tuple(where(past_end, s - 1, where(before_start, 0, i))
                 for s, i in zip(sizes, out, strict=True))


def polyval(p: ArrayLike, x: ArrayLike, *, unroll: int = 16) -> Array:
    """The polynomial with coefficients ``p`` (highest degree first) at ``x`` (Horner's rule,
    a scan over the coefficients as in JAX)."""
    p_in, x_in = ensure_arraylike("polyval", p, x)
    coeffs, xs = promote_dtypes(p_in, x_in)
    shape = _broadcast_shapes(coeffs.shape[1:], xs.shape)
    start = lax.broadcast_in_dim(constant(0, xs.dtype), shape, ())

    def step(y: Array, c: Array) -> tuple[Array, None]:
        return ufuncs.add(ufuncs.multiply(y, xs), c), None

    result, _ = lax.scan(step, start, coeffs, unroll=unroll)
    out: Array = result
    return out


def iscomplex(x: ArrayLike) -> Array:
    """Elementwise: a nonzero imaginary part."""
    im = ufuncs.imag(x)
    return lax.ne(im, constant(0, im.dtype))


def isreal(x: ArrayLike) -> Array:
    """Elementwise: a zero imaginary part."""
    im = ufuncs.imag(x)
    return lax.eq(im, constant(0, im.dtype))
