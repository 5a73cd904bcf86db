"""``refjax.Array``'s operators and methods, installed on the class when ``refjax.numpy`` loads.

``interp/core.py`` defines what an array *is* (an aval, a concrete value or a tracer, conversions
to Python and numpy); what one can *do* with it is ``refjax.numpy``'s business, so ``x + y`` and
``x.sum()`` forward to ``jnp.add`` and ``jnp.sum`` from here, as JAX's own array-methods
registration does. The operators are tables of numpy functions; each method is a small function
taking the array first. ``core.Array`` declares all of them for the type checker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from refjax import dtypes
from refjax import numpy as jnp
from refjax.interp.core import Array, ArrayLike, as_operand
from refjax.numpy import array_api as _array_api
from refjax.numpy import indexing as _indexing

_UNARY: Final[dict[str, str]] = {
    "neg": "negative",
    "pos": "positive",
    "abs": "abs",
    "invert": "invert",
}
_BINARY: Final[dict[str, str]] = {  # each also reflected: __radd__(x, y) is add(y, x)
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "truediv": "true_divide",
    "floordiv": "floor_divide",
    "mod": "remainder",
    "pow": "power",
    "matmul": "matmul",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
    "lshift": "left_shift",
    "rshift": "right_shift",
}
_COMPARISONS: Final[dict[str, str]] = {
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "eq": "equal",  # with any object, as numpy: unsupported ones raise TypeError
    "ne": "not_equal",
}


def _unary(name: str) -> Callable[[Array], Array]:
    fn: Callable[[ArrayLike], Array] = getattr(jnp, name)

    def op(self: Array) -> Array:
        return fn(self)

    return op


def _binary(name: str, reflected: bool) -> Callable[[Array, ArrayLike], Array]:
    fn: Callable[[ArrayLike, ArrayLike], Array] = getattr(jnp, name)
    if reflected:
        return lambda self, other: fn(other, self)
    return lambda self, other: fn(self, other)


def _comparison(name: str) -> Callable[[Array, object], Array]:
    fn: Callable[[ArrayLike, ArrayLike], Array] = getattr(jnp, name)
    return lambda self, other: fn(self, as_operand(other))


def _divmod(self: Array, other: ArrayLike) -> tuple[Array, Array]:
    return jnp.floor_divide(self, other), jnp.remainder(self, other)


def _getitem(self: Array, idx: Any) -> Array:
    return _indexing.getitem(self, idx)


def _at(self: Array) -> _indexing.IndexUpdateHelper:
    """Functional index updates: ``x.at[idx].set(v)``, ``.add``, ``.mul``, ``.get`` ..."""
    return _indexing.IndexUpdateHelper(self)


def _T(self: Array) -> Array:  # noqa: N802  # numpy's name
    """The transpose (axes reversed)."""
    return jnp.transpose(self)


def _mT(self: Array) -> Array:  # noqa: N802  # numpy's name
    """The matrix transpose (last two axes swapped)."""
    return jnp.swapaxes(self, -1, -2)


def _real(self: Array) -> Array:
    """The real part."""
    return jnp.real(self)


def _imag(self: Array) -> Array:
    """The imaginary part."""
    return jnp.imag(self)


def _conj(self: Array) -> Array:
    """The complex conjugate."""
    return jnp.conjugate(self)


def _astype(self: Array, dtype: dtypes.DTypeLike) -> Array:
    """This array converted to ``dtype``."""
    return jnp.astype(self, dtype)


def _reshape(self: Array, *shape: Any, order: str = "C") -> Array:
    """This array with a new shape (``x.reshape(2, 3)`` or ``x.reshape((2, 3))``)."""
    new_shape = shape[0] if len(shape) == 1 else shape  # as given, for JAX's messages
    return jnp.reshape(self, new_shape, order=order)


def _transpose(self: Array, *axes: Any) -> Array:
    """This array with its axes permuted (reversed by default)."""
    perm = axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes
    return jnp.transpose(self, perm or None)


def _swapaxes(self: Array, axis1: int, axis2: int) -> Array:
    """This array with two axes swapped."""
    return jnp.swapaxes(self, axis1, axis2)


def _squeeze(self: Array, axis: int | tuple[int, ...] | None = None) -> Array:
    """This array without its size-1 axes."""
    return jnp.squeeze(self, axis)


def _ravel(self: Array, order: str = "C") -> Array:
    """This array flattened to 1-D."""
    return jnp.ravel(self, order=order)


def _flatten(self: Array, order: str = "C") -> Array:
    """This array flattened to 1-D."""
    return self.ravel(order)


def _sum(self: Array, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    """Sum over ``axis``."""
    return jnp.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)


def _prod(self: Array, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    """Product over ``axis``."""
    return jnp.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)


def _mean(self: Array, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    """Mean over ``axis``."""
    return jnp.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)


def _var(
    self: Array, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False
) -> Array:
    """Variance over ``axis``."""
    return jnp.var(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)


def _std(
    self: Array, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False
) -> Array:
    """Standard deviation over ``axis``."""
    return jnp.std(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)


def _max(self: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """Maximum over ``axis``."""
    return jnp.max(self, axis=axis, keepdims=keepdims)


def _min(self: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """Minimum over ``axis``."""
    return jnp.min(self, axis=axis, keepdims=keepdims)


def _any(self: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """Whether any element is true over ``axis``."""
    return jnp.any(self, axis=axis, keepdims=keepdims)


def _all(self: Array, axis: Any = None, keepdims: bool = False) -> Array:
    """Whether all elements are true over ``axis``."""
    return jnp.all(self, axis=axis, keepdims=keepdims)


def _argmax(self: Array, axis: int | None = None, keepdims: bool = False) -> Array:
    """Index of the maximum over ``axis``."""
    return jnp.argmax(self, axis=axis, keepdims=keepdims)


def _argmin(self: Array, axis: int | None = None, keepdims: bool = False) -> Array:
    """Index of the minimum over ``axis``."""
    return jnp.argmin(self, axis=axis, keepdims=keepdims)


def _cumsum(self: Array, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative sum along ``axis``."""
    return jnp.cumsum(self, axis=axis, dtype=dtype)


def _cumprod(self: Array, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative product along ``axis``."""
    return jnp.cumprod(self, axis=axis, dtype=dtype)


def _clip(self: Array, min: ArrayLike | None = None, max: ArrayLike | None = None) -> Array:  # noqa: A002
    """Values limited to ``[min, max]``."""
    return jnp.clip(self, min, max)


def _round(self: Array, decimals: int = 0) -> Array:
    """Values rounded half to even."""
    return jnp.round(self, decimals)


def _dot(self: Array, other: ArrayLike) -> Array:
    """The dot product with ``other``."""
    return jnp.dot(self, other)


def _sort(self: Array, axis: int = -1) -> Array:
    """Values sorted along ``axis``."""
    return jnp.sort(self, axis=axis)


def _argsort(self: Array, axis: int = -1) -> Array:
    """Indices that sort along ``axis``."""
    return jnp.argsort(self, axis=axis)


def _take(self: Array, indices: ArrayLike, axis: int | None = None) -> Array:
    """Elements at ``indices`` along ``axis``."""
    return jnp.take(self, indices, axis=axis)


def _repeat(self: Array, repeats: int, axis: int | None = None) -> Array:
    """Each element repeated ``repeats`` times."""
    return jnp.repeat(self, repeats, axis=axis)


_METHODS: Final[dict[str, Any]] = {  # functions, and properties (T, mT, real, imag, at)
    "__getitem__": _getitem,
    "at": property(_at),
    "T": property(_T),
    "mT": property(_mT),
    "real": property(_real),
    "imag": property(_imag),
    "conj": _conj,
    "astype": _astype,
    "reshape": _reshape,
    "transpose": _transpose,
    "swapaxes": _swapaxes,
    "squeeze": _squeeze,
    "ravel": _ravel,
    "flatten": _flatten,
    "sum": _sum,
    "prod": _prod,
    "mean": _mean,
    "var": _var,
    "std": _std,
    "max": _max,
    "min": _min,
    "any": _any,
    "all": _all,
    "argmax": _argmax,
    "argmin": _argmin,
    "cumsum": _cumsum,
    "cumprod": _cumprod,
    "clip": _clip,
    "round": _round,
    "dot": _dot,
    "sort": _sort,
    "argsort": _argsort,
    "take": _take,
    "repeat": _repeat,
    "to_device": _array_api.to_device,  # the array API standard's methods
    "__array_namespace__": _array_api.array_namespace,
    "__dlpack__": _array_api.dlpack,
    "__dlpack_device__": _array_api.dlpack_device,
}


def install() -> None:
    """Give ``Array`` its operators and methods (idempotent)."""
    for name, fn in _UNARY.items():
        setattr(Array, f"__{name}__", _unary(fn))
    for name, fn in _BINARY.items():
        setattr(Array, f"__{name}__", _binary(fn, reflected=False))
        setattr(Array, f"__r{name}__", _binary(fn, reflected=True))
    for name, fn in _COMPARISONS.items():
        setattr(Array, f"__{name}__", _comparison(fn))
    setattr(Array, "__divmod__", _divmod)  # noqa: B010  # as the others, declared in core
    for name, method in _METHODS.items():
        setattr(Array, name, method)
