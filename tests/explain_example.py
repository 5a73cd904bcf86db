"""A user's own module for ``python -m refjax explain`` in tests/test_explain.py."""

from __future__ import annotations

import refjax
import refjax.numpy as jnp


def loss(w: refjax.Array, b: refjax.Array) -> refjax.Array:
    """A scalar of a vector and a scalar."""
    return jnp.sum(jnp.tanh(w) * b)


def noise(key: refjax.Array) -> refjax.Array:
    """Three normal samples of a raw key (``u32[2]``)."""
    return refjax.random.normal(key, (3,))


class Model:
    """A namespace, for ``module:Class.method``."""

    @staticmethod
    def double(x: refjax.Array) -> refjax.Array:
        return x * 2.0


NOT_A_FUNCTION = 3
