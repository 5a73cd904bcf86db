"""Argument handling shared by ``refjax.numpy``: type checks, dtype and rank promotion.

Every ``jnp`` function starts here: :func:`check_arraylike` rejects lists and other non-arrays with
JAX's message, the ``promote_*`` helpers cast operands to their common dtype on JAX's lattice
(weak types included) and give lower-rank operands leading size-1 axes, and :func:`where_` is the
select that ``jnp.where`` and many other functions share.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike, Tracer
from refjax.primitives.calls import library_jit
from refjax.primitives.constants import as_array as as_array  # (jnp's modules take it here)
from refjax.primitives.constants import convert, full_like_scalar

_ARRAY_TYPES = (Array, np.ndarray, np.generic, bool, int, float, complex)

# What JAX promotes an integer or boolean dtype to when a float result is needed.
_TO_INEXACT: Final[dict[DType, DType]] = {
    **{np.dtype(t): dtypes.float32 for t in ("bool", "int8", "uint8", "int16", "uint16")},
    **{np.dtype(t): dtypes.float32 for t in ("int32", "uint32")},
    **{np.dtype(t): dtypes.float64 for t in ("int64", "uint64")},
}


def check_arraylike(fun_name: str, *args: object) -> None:
    """JAX's TypeError for a non-array argument (a list, a string, None ...)."""
    for pos, arg in enumerate(args):
        if not isinstance(arg, _ARRAY_TYPES):
            raise TypeError(
                f"{fun_name} requires ndarray or scalar arguments, "
                f"got {type(arg)} at position {pos}."
            )



def ensure_arraylike(fun_name: str, *args: object) -> list[Array]:
    """Check that every argument is array-like, then make each an Array."""
    check_arraylike(fun_name, *args)
    return [as_array(a) for a in args]  # type: ignore[arg-type]  # checked just above


# ---------------------------------------------------------------------------------------------
# dtype promotion


def to_inexact_dtype(dtype: DType) -> DType:
    """The float dtype an integer or boolean dtype becomes where a float result is needed."""
    return dtypes.canonicalize_dtype(_TO_INEXACT.get(dtype, dtype))


def to_numeric_dtype(dtype: DType) -> DType:
    """Booleans become int32 where arithmetic needs numbers; other dtypes stay."""
    return dtypes.int32 if dtype == dtypes.bool_ else dtype


def promote_dtypes(*args: ArrayLike) -> list[Array]:
    """Convert ``args`` to their common dtype (JAX's lattice, weak types included)."""
    if len(args) < 2:
        return [as_array(a) for a in args]
    dtype, weak = dtypes.lattice_result_type(*args)
    return [convert(a, dtype, weak) for a in args]


def promote_dtypes_inexact(*args: ArrayLike) -> list[Array]:
    """Like :func:`promote_dtypes`, then integers and bools become floats."""
    dtype, weak = dtypes.lattice_result_type(*args)
    return [convert(a, to_inexact_dtype(dtype), weak) for a in args]


def promote_dtypes_numeric(*args: ArrayLike) -> list[Array]:
    """Like :func:`promote_dtypes`, then booleans become int32."""
    dtype, weak = dtypes.lattice_result_type(*args)
    return [convert(a, to_numeric_dtype(dtype), weak) for a in args]


def promote_shapes(fun_name: str, *args: ArrayLike) -> list[Array]:
    """Rank promotion: operands of lower rank gain leading size-1 axes (numpy broadcasting)."""
    arrays = [as_array(a) for a in args]
    shapes = [a.shape for a in arrays]
    nonscalar_ranks = {len(s) for s in shapes if s}
    if len(nonscalar_ranks) < 2:
        return arrays
    _check_broadcastable(fun_name, shapes)
    top = max(nonscalar_ranks)  # (scalars too gain the axes, as in JAX)
    return [broadcast_to_rank(a, top) for a in arrays]


def broadcast_to_rank(x: Array, rank: int) -> Array:
    """``x`` with leading size-1 axes added until it has ``rank`` dimensions."""
    if x.ndim == rank:
        return x
    lead = rank - x.ndim
    return lax.broadcast_in_dim(x, (1,) * lead + x.shape, tuple(range(lead, rank)))


def _check_broadcastable(fun_name: str, shapes: Sequence[tuple[int, ...]]) -> None:
    """JAX's ValueError for operands whose shapes do not broadcast together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(map(str, shapes))
        raise ValueError(f"Incompatible shapes for broadcasting: shapes=[{listed}]") from None


def promote_args(fun_name: str, *args: ArrayLike) -> list[Array]:
    """Check, promote dtypes, promote ranks: the start of every numpy-style n-ary function."""
    check_arraylike(fun_name, *args)
    return promote_shapes(fun_name, *promote_dtypes(*args))


def promote_args_inexact(fun_name: str, *args: ArrayLike) -> list[Array]:
    """:func:`promote_args` to a float (or complex) dtype."""
    check_arraylike(fun_name, *args)
    return promote_shapes(fun_name, *promote_dtypes_inexact(*args))


def promote_args_numeric(fun_name: str, *args: ArrayLike) -> list[Array]:
    """:func:`promote_args` to a numeric dtype (booleans become int32)."""
    check_arraylike(fun_name, *args)
    return promote_shapes(fun_name, *promote_dtypes_numeric(*args))


# ---------------------------------------------------------------------------------------------
# Shapes and axes


def canonicalize_dims(shape: object) -> tuple[int, ...]:
    """JAX's ``core.canonicalize_shape``: an int or a sequence of integers as a tuple of Python
    ints, else JAX's TypeError (with a hint when a dimension is a traced value)."""
    dims: Any = (shape,) if isinstance(shape, int) else shape  # any object: checked here
    try:
        return tuple(operator.index(d) for d in dims)
    except TypeError:
        raise _invalid_shape_error(dims) from None


def canonicalize_shape(shape: Any) -> tuple[int, ...]:
    """A ``jnp`` shape argument as a tuple of Python ints; a 0-d value (``3``, ``np.int64(3)``,
    a 0-d array, but also ``2.0`` or None, which then fail) stands for a one-dimensional shape."""
    if not isinstance(shape, (tuple, list)) and (
        getattr(shape, "ndim", None) == 0 or np.ndim(shape) == 0
    ):
        shape = (shape,)
    return canonicalize_dims(shape)


def _invalid_shape_error(shape: object) -> TypeError:
    msg = f"Shapes must be 1D sequences of concrete values of integer type, got {shape}."
    dims = shape if isinstance(shape, (tuple, list)) else ()
    traced = [d for d in dims if isinstance(d, Tracer) and d._concrete_value() is None]
    if traced:
        msg += (
            "\nIf using `jit`, try using `static_argnums` or applying `jit` to smaller "
            "subfunctions."
        )
        msg += "".join(d._origin_msg() for d in traced)
    return TypeError(msg)


def broadcast_to(x: ArrayLike, shape: tuple[int, ...]) -> Array:
    """``x`` broadcast to ``shape`` with numpy's rules (``lax.broadcast_to``)."""
    arr = as_array(x)
    if arr.shape == shape:
        return arr
    lead = len(shape) - arr.ndim
    tail = shape[lead:] if lead >= 0 else ()
    if lead < 0 or not all(d in (1, s) for d, s in zip(arr.shape, tail, strict=True)):
        raise ValueError(
            "Incompatible types for broadcasting: input type="
            f"{_type_str(arr.dtype, arr.shape)} and requested type={_type_str(arr.dtype, shape)}"
        )
    return lax.broadcast_in_dim(arr, shape, tuple(range(lead, len(shape))))


def _type_str(dtype: DType, shape: tuple[int, ...]) -> str:
    """JAX's long aval text used in broadcasting errors: ``float32[3,4]``."""
    return f"{dtype.name}[{','.join(map(str, shape))}]"


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape that numpy broadcasting gives ``shapes`` (``jnp.broadcast_shapes``)."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = ", ".join(map(str, shapes))
        raise ValueError(f"Incompatible shapes for broadcasting: shapes=[{listed}]") from None


def broadcast_arrays(*args: ArrayLike) -> list[Array]:
    """All arguments broadcast to their common shape."""
    arrays = [as_array(a) for a in args]
    shapes = [a.shape for a in arrays]
    if not shapes or all(s == shapes[0] for s in shapes):
        return arrays
    shape = broadcast_shapes(*shapes)
    return [broadcast_to(a, shape) for a in arrays]


# ---------------------------------------------------------------------------------------------
# Selection


@library_jit(name="_where")
def where_(condition: ArrayLike, x: ArrayLike, y: ArrayLike) -> Array:
    """Elementwise ``x`` where ``condition`` else ``y``, promoted and broadcast (``lax.select``)."""
    cond, xa, ya = ensure_arraylike("where", condition, x, y)
    if cond.dtype != dtypes.bool_:
        cond = lax.ne(cond, full_like_scalar(cond, 0))
    xa, ya = promote_dtypes(xa, ya)
    if cond.ndim == 0:
        xa, ya = broadcast_arrays(xa, ya)
    else:
        cond, xa, ya = broadcast_arrays(cond, xa, ya)
    if 0 in xa.shape:
        return xa
    return lax.select_n(cond, ya, xa)


def is_dtype_like(x: object) -> bool:
    """Whether ``x`` names a dtype (a numpy dtype, a scalar type, a string)."""
    try:
        np.dtype(x)  # type: ignore[call-overload]  # any dtype specifier
    except TypeError:
        return False
    return True


def user_dtype(dtype: DTypeLike, fun_name: str) -> DType:
    """A user-supplied dtype, checked and canonicalised (``check_and_canonicalize_user_dtype``)."""
    del fun_name
    return dtypes.canonicalize_dtype(dtype)


_DTYPE_KINDS: Final[dict[str, frozenset[DType]]] = {  # JAX's ``_dtype_kinds``
    "bool": frozenset({dtypes.bool_}),
    "signed integer": frozenset(dtypes.SIGNED_INTS),
    "unsigned integer": frozenset(dtypes.UNSIGNED_INTS),
    "integral": frozenset(dtypes.INTS),
    "real floating": frozenset(dtypes.FLOATS),
    "complex floating": frozenset(dtypes.COMPLEXES),
    "numeric": frozenset(dtypes.INTS + dtypes.INEXACT),
}


def isdtype(dtype: object, kind: object) -> bool:
    """The array API's ``isdtype``: is ``dtype`` of ``kind`` (a name, a dtype or a tuple)?"""
    the_dtype = np.dtype(dtype)  # type: ignore[call-overload]  # any dtype specifier
    options: set[DType] = set()
    for k in kind if isinstance(kind, tuple) else (kind,):
        if isinstance(k, str) and k in _DTYPE_KINDS:
            options.update(_DTYPE_KINDS[k])
            continue
        try:
            options.add(np.dtype(k))
        except TypeError as err:
            if isinstance(k, str):
                raise ValueError(
                    f"Unrecognized kind={k!r} expected one of {list(_DTYPE_KINDS)}, or a "
                    "compatible input for jnp.dtype()"
                ) from None
            raise TypeError(
                f"Expected kind to be a dtype, string, or tuple; got kind={k!r}"
            ) from err
    return the_dtype in options
