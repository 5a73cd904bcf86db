"""The numpy backend's lowering table: one numpy function per primitive."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from refjax.interp.core import NDArray, Primitive

# impl(*operands, **params) -> result (or a tuple of results for multiple-result primitives)
NumpyImpl: TypeAlias = Callable[..., "NDArray | tuple[NDArray, ...] | list[NDArray]"]

impls: dict[Primitive, NumpyImpl] = {}


def register(prim: Primitive) -> Callable[[NumpyImpl], NumpyImpl]:
    """Decorator: ``@register(sin_p)`` makes the function the numpy implementation of ``sin_p``."""

    def store(fn: NumpyImpl) -> NumpyImpl:
        impls[prim] = fn
        return fn

    return store
