"""Constants: the one place where host values become arrays of a chosen dtype and weak type.

A constant is always concrete, whatever the current trace (a staging trace sees it as a constant,
as JAX's ``lax._const`` values are), so making one never stages an equation; converting a traced
value binds ``convert_element_type``. Arrays are made through ``interp.core.concrete_array``, the
hook the backend layer registers, so nothing here imports a backend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, ShapedArray, Tracer, concrete_array, get_aval
from refjax.primitives.elementwise import convert_element_type_p

__all__ = ["as_array", "check_python_int_range", "constant", "convert", "full",
           "full_like_scalar"]


def constant(value: object, dtype: DType, weak_type: bool = False) -> Array:
    """A concrete array of exactly ``dtype``/``weak_type`` made from a host value."""
    return concrete_array(value, ShapedArray(np.asarray(value).shape, dtype, weak_type))


def convert(x: ArrayLike, dtype: DType, weak_type: bool = False) -> Array:
    """``x`` as ``dtype`` with weak flag ``weak_type``: constants convert now, tracers by an eqn."""
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type and isinstance(x, Array):
        return x
    if isinstance(x, Tracer):
        return convert_element_type_p.bind(x, new_dtype=dtype, weak_type=weak_type)
    check_python_int_range(x)
    return constant(np.asarray(x), dtype, weak_type)


def full(shape: Sequence[int], value: object, dtype: DType) -> Array:
    """An array of ``shape`` filled with ``value``: a broadcast scalar, as ``lax.full``."""
    from refjax.primitives import shape as sh  # shape's rules make constants: a lazy tie

    return sh.broadcast_in_dim(np.asarray(value, dtype), tuple(shape), ())


def full_like_scalar(x: ArrayLike, value: object) -> Array:
    """The scalar ``value`` with ``x``'s dtype and weak type (``lax._const``)."""
    aval = get_aval(x)
    return constant(value, aval.dtype, aval.weak_type)


def check_python_int_range(x: object) -> None:
    """JAX's OverflowError for a Python int outside the default integer dtype's range."""
    if type(x) is int:
        dtype = dtypes.default_int_dtype()
        info = np.iinfo(dtype)
        if not info.min <= x <= info.max:
            raise OverflowError(f"Python int {x} too large to convert to {dtype.name}")


def as_array(x: ArrayLike) -> Array:
    """``x`` as an Array of its own canonical dtype and weak type (``lax.asarray``): an Array
    as it is, a Python or numpy value as a constant (a Python int out of range raises)."""
    if isinstance(x, Array):
        return x
    dtype, weak = dtypes.dtype_and_weak_type(x)
    check_python_int_range(x)
    return constant(np.asarray(x), dtype, weak)
