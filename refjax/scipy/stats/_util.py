"""Helpers shared by the distributions: JAX's ``lax._const`` and a typed ``jnp.where``."""

from __future__ import annotations

from refjax.interp.core import Array, ArrayLike
from refjax.numpy._util import where_
from refjax.primitives.constants import full_like_scalar

__all__ = ["const", "where"]


def const(x: ArrayLike, value: float) -> Array:
    """Rank-0 ``value`` with ``x``'s dtype and weak type (JAX's ``lax._const``)."""
    return full_like_scalar(x, value)


def where(condition: ArrayLike, x: ArrayLike, y: ArrayLike) -> Array:
    """``x`` where ``condition`` else ``y``, promoted and broadcast (``jnp.where``)."""
    return where_(condition, x, y)
