"""``jnp.float32`` and friends: dtype objects that also build arrays (``jnp.float32(1.0)``).

Each is a class whose metaclass makes it compare and hash equal to the numpy scalar type of the
same name, makes ``isinstance(np.float32(1), jnp.float32)`` true, and makes calling it return a
refjax Array of that dtype. ``np.dtype(jnp.float32)`` works through its ``dtype`` attribute.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from refjax.dtypes import DType
from refjax.interp.core import Array


class _ScalarMeta(type):
    """The metaclass of the scalar types: equality with numpy's type, construction of arrays."""

    dtype: DType

    def __hash__(cls) -> int:
        return hash(cls.dtype.type)

    def __eq__(cls, other: object) -> bool:
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other: object) -> bool:
        return not cls == other

    def __call__(cls, x: Any) -> Array:
        from refjax.numpy.creation import asarray

        return asarray(x, dtype=cls.dtype)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, cls.dtype.type)

    def __repr__(cls) -> str:
        return f"<class 'refjax.numpy.{cls.__name__}'>"


def _make_scalar_type(np_type: type[np.generic], name: str | None = None) -> _ScalarMeta:
    """The refjax scalar type standing for ``np_type``."""
    name = name or np_type.__name__
    return _ScalarMeta(name, (object,), {"dtype": np.dtype(np_type), "__doc__": np_type.__doc__})


bool_ = _make_scalar_type(np.bool_, "bool")
int8 = _make_scalar_type(np.int8)
int16 = _make_scalar_type(np.int16)
int32 = _make_scalar_type(np.int32)
int64 = _make_scalar_type(np.int64)
uint8 = _make_scalar_type(np.uint8)
uint16 = _make_scalar_type(np.uint16)
uint32 = _make_scalar_type(np.uint32)
uint64 = _make_scalar_type(np.uint64)
float16 = _make_scalar_type(np.float16)
float32 = _make_scalar_type(np.float32)
float64 = _make_scalar_type(np.float64)
complex64 = _make_scalar_type(np.complex64)
complex128 = _make_scalar_type(np.complex128)

# numpy's aliases: the default-width types.
int_ = int64
uint = uint64
float_ = float64
complex_ = complex128
single, double = float32, float64
csingle, cdouble = complex64, complex128
half = float16
