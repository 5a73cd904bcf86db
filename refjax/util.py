"""Helpers that every layer uses and that need nothing of refjax (JAX's ``jax._src.util``)."""

from __future__ import annotations

import functools
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


def fun_name(fun: object, default_name: str = "<unnamed function>") -> str:
    """A callable's name as JAX's printer and errors give it: ``__name__``, through
    ``functools.partial``, else ``default_name``."""
    name = getattr(fun, "__name__", None)
    if isinstance(name, str):
        return name
    if isinstance(fun, functools.partial):
        return fun_name(fun.func, default_name)
    return default_name
