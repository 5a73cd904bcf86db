"""``refjax.numpy``: the NumPy API on refjax arrays, mirroring ``jax.numpy``."""

from __future__ import annotations

from refjax import lax
from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import (
    check_arraylike,
    promote_dtypes,
    promote_dtypes_inexact,
    promote_shapes,
)


def _binary(name: str, x: ArrayLike, y: ArrayLike) -> tuple[ArrayLike, ArrayLike]:
    check_arraylike(name, x, y)
    a, b = promote_shapes(name, *promote_dtypes(x, y))
    return a, b


def add(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x + y`` with numpy promotion and broadcasting."""
    return lax.add(*_binary("add", x, y))


def subtract(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x - y``."""
    return lax.sub(*_binary("subtract", x, y))


def multiply(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise ``x * y``."""
    return lax.mul(*_binary("multiply", x, y))


def sin(x: ArrayLike, /) -> Array:
    """Elementwise sine."""
    check_arraylike("sin", x)
    (a,) = promote_dtypes_inexact(x)
    return lax.sin(a)
