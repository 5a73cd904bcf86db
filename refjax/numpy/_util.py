"""Argument handling shared by ``refjax.numpy``: type checks, dtype and rank promotion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.backends.base import ArrayImpl, device_put, get_backend
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, ShapedArray, Tracer, get_aval
from refjax.primitives.elementwise import convert_element_type_p

_ARRAY_TYPES = (Array, np.ndarray, np.generic, bool, int, float, complex)


def check_arraylike(fun_name: str, *args: object) -> None:
    """JAX's TypeError for a non-array argument (a list, a string, None ...)."""
    for pos, arg in enumerate(args):
        if not isinstance(arg, _ARRAY_TYPES):
            raise TypeError(
                f"{fun_name} requires ndarray or scalar arguments, "
                f"got {type(arg)} at position {pos}."
            )


def convert(x: ArrayLike, dtype: DType, weak_type: bool = False) -> ArrayLike:
    """``x`` as ``dtype`` with weak flag ``weak_type``: constants convert now, tracers by an eqn."""
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type and isinstance(x, Array):
        return x
    if isinstance(x, Tracer):
        return convert_element_type_p.bind(x, new_dtype=dtype, weak_type=weak_type)
    return constant(np.asarray(x), dtype, weak_type)


def constant(value: object, dtype: DType, weak_type: bool = False) -> ArrayImpl:
    """A concrete array of exactly ``dtype``/``weak_type`` made from a host value."""
    with np.errstate(invalid="ignore", over="ignore"):
        host = np.asarray(value).astype(dtype)
    if not weak_type:
        return device_put(host)
    backend = get_backend()
    return ArrayImpl(ShapedArray(host.shape, dtype, True), backend.from_numpy(host), backend)


def promote_dtypes(*args: ArrayLike) -> list[ArrayLike]:
    """Convert ``args`` to their common dtype (JAX's lattice, weak types included)."""
    if len(args) < 2:
        return [convert(a, *dtypes.result_type(a, return_weak_type_flag=True)) for a in args]
    dtype, weak = dtypes.result_type(*args, return_weak_type_flag=True)
    return [convert(a, dtype, weak) for a in args]


def promote_dtypes_inexact(*args: ArrayLike) -> list[ArrayLike]:
    """Like :func:`promote_dtypes`, then integers and bools become the default float."""
    dtype, weak = dtypes.result_type(*args, return_weak_type_flag=True)
    if not dtypes.is_float(dtype):
        dtype = dtypes.default_float_dtype()
    return [convert(a, dtype, weak) for a in args]


def promote_shapes(fun_name: str, *args: ArrayLike) -> list[ArrayLike]:
    """Rank promotion: operands of lower rank gain leading size-1 axes (numpy broadcasting)."""
    from refjax.primitives.shape import broadcast_in_dim

    shapes = [np.shape(a) if not isinstance(a, Array) else a.shape for a in args]
    ranks = [len(s) for s in shapes]
    top = max(ranks, default=0)
    out: list[ArrayLike] = []
    for arg, shape in zip(args, shapes, strict=True):
        if len(shape) == top or not shape:
            out.append(arg)
            continue
        new_shape = (1,) * (top - len(shape)) + tuple(shape)
        dims = tuple(range(top - len(shape), top))
        out.append(broadcast_in_dim(arg, new_shape, dims))
    _check_broadcastable(fun_name, [tuple(s) for s in shapes])
    return out


def _check_broadcastable(fun_name: str, shapes: Sequence[tuple[int, ...]]) -> None:
    """JAX's ValueError for operands whose shapes do not broadcast together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(map(str, shapes))
        raise ValueError(f"Incompatible shapes for broadcasting: shapes=[{listed}]") from None
