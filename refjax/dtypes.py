"""JAX's dtypes: the supported set, canonicalisation under x64, and the type-promotion lattice.

Promotion follows JAX's "standard" lattice exactly. Python scalars are *weakly typed*: they take
the dtype of the strongly typed operand they meet (``f32_array * 2.0`` stays float32) and only
decide the category (``int32_array + 1.5`` is float32). Nodes of the lattice are numpy dtypes for
strong types and the ``WeakKind`` members for the three weak kinds.
"""

from __future__ import annotations

import enum
import functools
from typing import Any, Final, TypeAlias

import numpy as np

from refjax.config import config

DType: TypeAlias = np.dtype[Any]
# Anything np.dtype() accepts, plus the Python types int/float/complex/bool.
DTypeLike: TypeAlias = Any

bool_: Final[DType] = np.dtype(np.bool_)
int8: Final[DType] = np.dtype(np.int8)
int16: Final[DType] = np.dtype(np.int16)
int32: Final[DType] = np.dtype(np.int32)
int64: Final[DType] = np.dtype(np.int64)
uint8: Final[DType] = np.dtype(np.uint8)
uint16: Final[DType] = np.dtype(np.uint16)
uint32: Final[DType] = np.dtype(np.uint32)
uint64: Final[DType] = np.dtype(np.uint64)
float16: Final[DType] = np.dtype(np.float16)
float32: Final[DType] = np.dtype(np.float32)
float64: Final[DType] = np.dtype(np.float64)
complex64: Final[DType] = np.dtype(np.complex64)
complex128: Final[DType] = np.dtype(np.complex128)
# The tangent type of integer and boolean values, as in JAX: a zero-sized void dtype.
float0: Final[DType] = np.dtype([("float0", np.void, 0)])

SIGNED_INTS: Final = (int8, int16, int32, int64)
UNSIGNED_INTS: Final = (uint8, uint16, uint32, uint64)
INTS: Final = SIGNED_INTS + UNSIGNED_INTS
FLOATS: Final = (float16, float32, float64)
COMPLEXES: Final = (complex64, complex128)
INEXACT: Final = FLOATS + COMPLEXES
ALL_DTYPES: Final = (bool_,) + INTS + INEXACT

_SHORT_NAMES: Final[dict[DType, str]] = {
    bool_: "bool",
    **{d: f"i{d.itemsize * 8}" for d in SIGNED_INTS},
    **{d: f"u{d.itemsize * 8}" for d in UNSIGNED_INTS},
    **{d: f"f{d.itemsize * 8}" for d in FLOATS},
    **{d: f"c{d.itemsize * 8}" for d in COMPLEXES},
}
_FROM_SHORT_NAMES: Final[dict[str, DType]] = {v: k for k, v in _SHORT_NAMES.items()}


class WeakKind(enum.Enum):
    """The weakly typed lattice nodes: what a Python ``int``/``float``/``complex`` stands for."""

    INT = "int"
    FLOAT = "float"
    COMPLEX = "complex"


Node: TypeAlias = DType | WeakKind

_WEAK_OF_PYTYPE: Final[dict[type, WeakKind]] = {
    int: WeakKind.INT,
    float: WeakKind.FLOAT,
    complex: WeakKind.COMPLEX,
}
_WEAK_DEFAULT: Final[dict[WeakKind, DType]] = {
    WeakKind.INT: int64,
    WeakKind.FLOAT: float64,
    WeakKind.COMPLEX: complex128,
}


def _lattice(x64: bool) -> dict[Node, tuple[Node, ...]]:
    """Each node's immediate successors in JAX's standard promotion lattice."""
    i_, f_, c_ = WeakKind.INT, WeakKind.FLOAT, WeakKind.COMPLEX
    return {
        bool_: (i_,),
        i_: (uint8, int8),
        uint8: (int16, uint16),
        uint16: (int32, uint32),
        # Without x64, JAX avoids forming int64 from 32-bit inputs: uint32 x int32 -> int32.
        uint32: (int64, uint64) if x64 else (int32, uint64),
        uint64: (f_,),
        int8: (int16,),
        int16: (int32,),
        int32: (int64,),
        int64: (f_,),
        f_: (float16, c_),
        float16: (float32,),
        float32: (float64, complex64),
        float64: (complex128,),
        c_: (complex64,),
        complex64: (complex128,),
        complex128: (),
    }


@functools.cache
def _upper_bounds(x64: bool) -> dict[Node, frozenset[Node]]:
    """For every node, the set of nodes at or above it (transitive closure of the lattice)."""
    lattice = _lattice(x64)
    bounds: dict[Node, frozenset[Node]] = {}

    def visit(node: Node) -> frozenset[Node]:
        if node not in bounds:
            above: set[Node] = {node}
            for succ in lattice[node]:
                above |= visit(succ)
            bounds[node] = frozenset(above)
        return bounds[node]

    for node in lattice:
        visit(node)
    return bounds


class TypePromotionError(ValueError):
    """Raised when two dtypes have no implicit promotion path (as ``jax.errors``)."""


def _least_upper_bound(*nodes: Node) -> Node:
    """The least upper bound of ``nodes`` in the promotion lattice."""
    ubs = _upper_bounds(config.x64_enabled)
    unique = set(nodes)
    try:
        common = frozenset.intersection(*(ubs[n] for n in unique))
    except KeyError:
        bad = next(n for n in unique if n not in ubs)
        raise ValueError(f"dtype={bad!r} is not a valid dtype for JAX type promotion.") from None
    least = (common & unique) or {c for c in common if common <= ubs[c]}
    if len(least) != 1:
        names = tuple(str(n) for n in nodes)
        raise TypePromotionError(
            f"Input dtypes {names} have no available implicit dtype promotion path. "
            "Try explicitly casting inputs to the desired output type."
        )
    return next(iter(least))


def _node_dtype(node: Node) -> DType:
    """The concrete (not yet canonicalised) dtype a lattice node stands for."""
    return _WEAK_DEFAULT[node] if isinstance(node, WeakKind) else node


def canonicalize_dtype(dtype: DTypeLike) -> DType:
    """Map a dtype to the one JAX uses for it: 64-bit types shrink to 32 bits unless x64 is on."""
    dt = np.dtype(dtype)
    if dt == float0:
        return dt
    if dt not in _SHORT_NAMES:
        raise TypeError(
            f"Dtype {dt} is not a valid JAX array type. "
            "Only arrays of numeric types are supported by JAX."
        )
    if config.x64_enabled:
        return dt
    return _NARROW.get(dt, dt)


_NARROW: Final[dict[DType, DType]] = {
    int64: int32,
    uint64: uint32,
    float64: float32,
    complex128: complex64,
}


def default_int_dtype() -> DType:
    """int64 with x64 enabled, else int32."""
    return canonicalize_dtype(int64)


def default_float_dtype() -> DType:
    """float64 with x64 enabled, else float32."""
    return canonicalize_dtype(float64)


def short_name(dtype: DType) -> str:
    """JAX's short dtype name used in jaxprs: ``f32``, ``i32``, ``bool``, ``float0``."""
    if dtype == float0:
        return "float0"
    return _SHORT_NAMES[dtype]


def from_short_name(name: str) -> DType:
    """Inverse of :func:`short_name`."""
    if name == "float0":
        return float0
    try:
        return _FROM_SHORT_NAMES[name]
    except KeyError:
        raise ValueError(f"unknown short dtype name {name!r}") from None


def _to_node(dtype: DTypeLike) -> Node:
    """A lattice node for a dtype specifier; Python ``int``/``float``/``complex`` are weak."""
    if isinstance(dtype, type) and dtype in _WEAK_OF_PYTYPE:
        return _WEAK_OF_PYTYPE[dtype]
    return np.dtype(dtype)


def promote_types(a: DTypeLike, b: DTypeLike) -> DType:
    """The dtype a binary operation casts ``a`` and ``b`` to (``jnp.promote_types``)."""
    return _node_dtype(_least_upper_bound(_to_node(a), _to_node(b)))


def dtype_and_weak_type(x: object) -> tuple[DType, bool]:
    """The (canonical) dtype of a value, and whether it is weakly typed."""
    if type(x) in _WEAK_OF_PYTYPE:
        return canonicalize_dtype(_WEAK_DEFAULT[_WEAK_OF_PYTYPE[type(x)]]), True
    if isinstance(x, bool):
        return bool_, False
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval.dtype, bool(aval.weak_type)
    if isinstance(x, (np.ndarray, np.generic)):
        return canonicalize_dtype(x.dtype), False
    if isinstance(x, (int, float, complex)):  # subclasses of Python scalars: weak as JAX
        kind = next(k for t, k in _WEAK_OF_PYTYPE.items() if isinstance(x, t))
        return canonicalize_dtype(_WEAK_DEFAULT[kind]), True
    if isinstance(x, (type, np.dtype, str)):
        node = _to_node(x)
        if isinstance(node, WeakKind):
            return canonicalize_dtype(_WEAK_DEFAULT[node]), True
        return canonicalize_dtype(node), False
    raise TypeError(f"Cannot determine dtype of {x!r}")


def is_weakly_typed(x: object) -> bool:
    """Whether ``x`` is a Python scalar or a weakly typed array."""
    return dtype_and_weak_type(x)[1]


def lattice_result_type(*args: object) -> tuple[DType, bool]:
    """The canonical dtype and weak flag that combining ``args`` gives: jnp's promotion."""
    dtype, weak = _lattice_result_type(*args)
    return canonicalize_dtype(dtype), weak


_DEFAULT_OF_KIND: Final[dict[str, DType]] = {
    "b": bool_,
    "i": int64,
    "u": uint64,
    "f": float64,
    "c": complex128,
}


def result_type(*args: object, return_weak_type_flag: bool = False) -> Any:
    """``jnp.result_type``: like :func:`lattice_result_type`, but a weak result is reported as
    the default dtype of its kind (weak int8 + weak int8 -> int32), as JAX does."""
    dtype, weak = _lattice_result_type(*args)
    if weak:
        dtype = _DEFAULT_OF_KIND[dtype.kind]
    dtype = canonicalize_dtype(dtype)
    return (dtype, weak) if return_weak_type_flag else dtype


def _lattice_result_type(*args: object) -> tuple[DType, bool]:
    """Promotion of values: weak operands join as their kind; weak if a weak node wins."""
    if not args:
        raise ValueError("at least one array or dtype is required")
    return _join(tuple(dtype_and_weak_type(a) for a in args), config.x64_enabled)


@functools.lru_cache(maxsize=4096)
def _join(pairs: tuple[tuple[DType, bool], ...], x64: bool) -> tuple[DType, bool]:
    """The lattice join of (dtype, weak) pairs (memoised; ``x64`` is part of the key)."""
    dtypes = [d for d, _ in pairs]
    if len(pairs) == 1:
        out, weak = pairs[0]
    elif len(set(dtypes)) == 1 and not all(w for _, w in pairs):
        out, weak = dtypes[0], False
    elif all(w for _, w in pairs):
        out, weak = _node_dtype(_least_upper_bound(*dtypes)), True
    else:
        node = _least_upper_bound(*(_weak_node(d) if w else d for d, w in pairs))
        out, weak = _node_dtype(node), isinstance(node, WeakKind)
    return out, weak and out != bool_


def _weak_node(dtype: DType) -> Node:
    """The weak lattice node of a weakly typed value's dtype."""
    if dtype == bool_:
        return bool_
    if np.issubdtype(dtype, np.integer):
        return WeakKind.INT
    if np.issubdtype(dtype, np.floating):
        return WeakKind.FLOAT
    return WeakKind.COMPLEX


def issubdtype(a: DTypeLike, b: DTypeLike) -> bool:
    """``np.issubdtype`` that also knows ``float0`` (a subtype only of itself)."""
    if _is_float0(a) or _is_float0(b):
        return _is_float0(a) and _is_float0(b)
    return bool(np.issubdtype(a, b))


def _is_float0(d: DTypeLike) -> bool:
    return isinstance(d, np.dtype) and d == float0


def is_float(dtype: DType) -> bool:
    """Floating or complex: the dtypes that carry real tangents."""
    return dtype.kind in "fc"


def is_integer(dtype: DType) -> bool:
    """Signed or unsigned integer."""
    return dtype.kind in "iu"


def finfo(dtype: DTypeLike) -> np.finfo[Any]:
    """Machine limits of a floating dtype (``jnp.finfo``)."""
    return np.finfo(dtype)


def iinfo(dtype: DTypeLike) -> np.iinfo[Any]:
    """Machine limits of an integer dtype (``jnp.iinfo``)."""
    return np.iinfo(dtype)
