"""Numpy implementations of every primitive, one module per primitive family."""

from __future__ import annotations

from refjax.backends.numpy_impls import (  # noqa: F401  # imported to register implementations
    calls,
    collectives,
    control_flow,
    convolution,
    decompositions,
    decompositions_more,
    eig,
    elementwise,
    fft,
    indexing,
    lax_extras,
    lax_more,
    linalg,
    prng,
    program,
    reductions,
    shape,
    shard_map,
    solves,
    special,
    transcendental,
    windowed,
)
from refjax.backends.numpy_impls.table import NumpyImpl, impls, register

__all__ = ["NumpyImpl", "impls", "register"]
