"""Helpers that every layer uses and that need nothing of refjax (JAX's ``jax._src.util``)."""

from __future__ import annotations

import operator
from typing import SupportsIndex

__all__ = ["canonicalize_axis"]


def canonicalize_axis(axis: SupportsIndex, ndim: int) -> int:
    """``axis`` as an index in ``range(ndim)``; negative axes count from the end.

    ``axis`` must be an integer (``operator.index``: a float or a traced value is a TypeError,
    as in JAX); outside ``[-ndim, ndim)`` it is JAX's ValueError.
    """
    ax = operator.index(axis)
    if not -ndim <= ax < ndim:
        raise ValueError(f"axis {ax} is out of bounds for array of dimension {ndim}")
    return ax % ndim if ax < 0 else ax
