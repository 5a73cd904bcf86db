"""Numpy implementation of the ``jit`` call primitive: run the body's compiled executable."""

from __future__ import annotations

from refjax.backends.base import get_backend
from refjax.backends.numpy_impls.table import register
from refjax.interp.core import ClosedJaxpr, NDArray
from refjax.primitives.calls import jit_p


@register(jit_p)
def _jit(*args: NDArray, jaxpr: ClosedJaxpr, name: str) -> list[NDArray]:
    return get_backend("numpy").compile(jaxpr).run(args)
