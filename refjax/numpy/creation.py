"""Array creation in ``jax.numpy``: arrays from Python values (``array``, ``asarray``, ``copy``,
``astype``), filled arrays (``zeros``, ``ones``, ``empty``, ``full`` and their ``_like`` forms),
ranges and grids (``arange``, ``linspace``, ``logspace``, ``meshgrid``) and the matrices ``eye``,
``identity`` and ``tri``.

Creation functions build constants on the host when their inputs are constants and bind
``iota``/``broadcast_in_dim`` as JAX does.
"""

from __future__ import annotations

import builtins
import operator
import types
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike, Tracer, concrete_or_error, get_aval
from refjax.numpy import ufuncs
from refjax.numpy._util import (
    as_array,
    canonicalize_shape,
    check_arraylike,
    ensure_arraylike,
    to_inexact_dtype,
    user_dtype,
)
from refjax.numpy._util import (
    broadcast_shapes as _broadcast_shapes,
)
from refjax.numpy._util import (
    broadcast_to as _broadcast_to,
)
from refjax.numpy.array_api import DeviceLike, on_device
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import check_python_int_range, constant, convert
from refjax.util import canonicalize_axis

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
    *,
    device: DeviceLike = None,
) -> Array:
    """An array from a scalar, a (nested) list or tuple, a numpy array or an Array."""
    return on_device(_array(object, dtype, copy, order, ndmin), device)


def _array(
    object: Any,  # noqa: A002  # numpy's name
    dtype: DTypeLike | None,
    copy: bool,
    order: str | None,
    ndmin: int,
) -> Array:
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
        parts = [lax.expand_dims(_array(elt, out_dtype, False, "K", 0), (0,)) for elt in object]
        out = lax.concatenate(parts, 0)
    result = convert(out, out_dtype, weak_type)
    if ndmin > result.ndim:
        result = lax.expand_dims(result, tuple(range(ndmin - result.ndim)))
    return result


def _copy_if_traced(x: Array, copy: bool) -> Array:
    """``x``, or (when tracing and a copy is asked for) its ``copy``, as JAX stages one."""
    return lax.copy(x) if copy and isinstance(x, Tracer) else x


def asarray(
    a: Any,
    dtype: DTypeLike | None = None,
    order: str | None = None,
    *,
    copy: bool | None = None,
    device: DeviceLike = None,
) -> Array:
    """``a`` as an array (no copy is ever needed: arrays are immutable)."""
    return array(a, dtype=dtype, copy=bool(copy), order=order, device=device)


def copy(a: ArrayLike, order: str | None = None) -> Array:
    """A copy of ``a``."""
    return array(a, copy=True, order=order)


def astype(
    x: ArrayLike,
    dtype: DTypeLike | None,
    /,
    *,
    copy: bool = False,
    device: DeviceLike = None,
) -> Array:
    """``x`` converted to ``dtype`` (the default float if None), on ``device`` if given."""
    return on_device(_astype(x, dtype), device)


def _astype(x: ArrayLike, dtype: DTypeLike | None) -> Array:
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


def full(
    shape: Any, fill_value: ArrayLike, dtype: DTypeLike | None = None, *, device: DeviceLike = None
) -> Array:
    """An array of ``shape`` filled with ``fill_value``."""
    out = _full_of(shape, fill_value, dtype)
    return _placed_fill(out, device) if np.ndim(fill_value) == 0 else on_device(out, device)


def _full_of(shape: Any, fill_value: ArrayLike, dtype: DTypeLike | None) -> Array:
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


def zeros(shape: Any, dtype: DTypeLike | None = None, *, device: DeviceLike = None) -> Array:
    """An array of zeros (float by default)."""
    return on_device(_filled("zeros", shape, 0, dtype), device)


def ones(shape: Any, dtype: DTypeLike | None = None, *, device: DeviceLike = None) -> Array:
    """An array of ones (float by default)."""
    return on_device(_filled("ones", shape, 1, dtype), device)


def empty(shape: Any, dtype: DTypeLike | None = None, *, device: DeviceLike = None) -> Array:
    """An uninitialised array in JAX; zeros here."""
    return on_device(_filled("empty", shape, 0, dtype), device)


def full_like(
    a: ArrayLike,
    fill_value: ArrayLike,
    dtype: DTypeLike | None = None,
    shape: Any = None,
    *,
    device: DeviceLike = None,
) -> Array:
    """An array shaped like ``a`` (dtype and weak type too, unless given) full of ``fill_value``."""
    out = _full_like(a, fill_value, dtype, shape)
    return _placed_fill(out, device) if np.ndim(fill_value) == 0 else on_device(out, device)


def _placed_fill(x: Array, device: DeviceLike) -> Array:
    """A scalar fill placed on ``device``: as JAX's ``lax.full`` with a sharding, a concrete
    result placed so is strongly typed (a traced one keeps its weak type)."""
    if device is None or isinstance(x, Tracer):
        return x
    return on_device(convert(x, x.dtype, weak_type=False), device)


def _full_like(a: ArrayLike, fill_value: ArrayLike, dtype: DTypeLike | None, shape: Any) -> Array:
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


def zeros_like(
    a: ArrayLike, dtype: DTypeLike | None = None, shape: Any = None, *, device: DeviceLike = None
) -> Array:
    """Zeros shaped like ``a``."""
    return full_like(a, 0, dtype, shape, device=device)


def ones_like(
    a: ArrayLike, dtype: DTypeLike | None = None, shape: Any = None, *, device: DeviceLike = None
) -> Array:
    """Ones shaped like ``a``."""
    return full_like(a, 1, dtype, shape, device=device)


def empty_like(
    prototype: ArrayLike,
    dtype: DTypeLike | None = None,
    shape: Any = None,
    *,
    device: DeviceLike = None,
) -> Array:
    """An uninitialised array shaped like ``prototype`` in JAX; zeros here."""
    return full_like(prototype, 0, dtype, shape, device=device)


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
    *,
    device: DeviceLike = None,
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
    return on_device(_arange(lo, hi, inc, start_name, out_dtype), device)


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
    *,
    device: DeviceLike = None,
) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (inclusive if ``endpoint``)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    out = _linspace(start, stop, num, endpoint, retstep, dtype, operator.index(axis))
    return (on_device(out[0], device), out[1]) if retstep else on_device(out, device)


@library_jit(static_argnames=("num", "endpoint", "retstep", "dtype", "axis"))
def _linspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: DTypeLike | None = None,
    axis: int = 0,
) -> Any:
    from refjax.numpy.manipulation import reshape  # manipulation builds on this module

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
    return _logspace(start, stop, operator.index(num), endpoint, base, dtype,
                     operator.index(axis))


@library_jit(static_argnames=("num", "endpoint", "dtype", "axis"))
def _logspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    base: ArrayLike = 10.0,
    dtype: DTypeLike | None = None,
    axis: int = 0,
) -> Array:
    out_dtype = (to_inexact_dtype(dtypes.result_type(start, stop)) if dtype is None
                 else user_dtype(dtype, "logspace"))
    computation_dtype = to_inexact_dtype(out_dtype)
    lo, hi = ensure_arraylike("logspace", start, stop)
    lin = linspace(lo.astype(computation_dtype), hi.astype(computation_dtype), num,
                   endpoint=endpoint, axis=axis)
    return lax.convert_element_type(ufuncs.power(base, lin), out_dtype)


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


# ---------------------------------------------------------------------------------------------
# Matrices


def eye(
    N: int,  # noqa: N803  # numpy's name
    M: int | None = None,  # noqa: N803  # numpy's name
    k: int | ArrayLike = 0,
    dtype: DTypeLike | None = None,
    *,
    device: DeviceLike = None,
) -> Array:
    """A 2-D array with ones on the ``k``-th diagonal and zeros elsewhere."""
    return on_device(_eye(N, M, k, dtype), device)


def _eye(N: int, M: int | None, k: int | ArrayLike, dtype: DTypeLike | None) -> Array:  # noqa: N803
    out_dtype = user_dtype(float if dtype is None else dtype, "eye")
    if isinstance(k, int):  # a Python int offset is clipped to int32's range, as JAX's
        int32 = np.iinfo(np.int32)
        k = builtins.max(int32.min, builtins.min(k, int32.max))
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
