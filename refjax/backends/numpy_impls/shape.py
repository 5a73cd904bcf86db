"""Numpy implementations of the shape primitives."""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives import shape as sh


@register(sh.broadcast_in_dim_p)
def _broadcast_in_dim(
    x: NDArray,
    *,
    shape: tuple[int, ...],
    broadcast_dimensions: tuple[int, ...],
    sharding: None = None,
) -> NDArray:
    expanded = [1] * len(shape)
    for size, dim in zip(x.shape, broadcast_dimensions, strict=True):
        expanded[dim] = size
    return np.broadcast_to(x.reshape(expanded), shape)
