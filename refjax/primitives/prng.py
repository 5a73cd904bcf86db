"""The Threefry-2x32 counter-based hash: the one primitive under ``refjax.random``.

``threefry2x32(key1, key2, x1, x2)`` hashes the counter pairs ``(x1, x2)`` under the key
``(key1, key2)``, all ``uint32``, and returns the two hashed words. Operands broadcast as lax's
n-ary elementwise operations do (rank-0 operands broadcast, size-1 axes stretch), so its batching
rule is the broadcasting one. It has no JVP rule, as in JAX: its inputs and outputs are integers,
so their tangents are symbolic ``float0`` zeros and the JVP interpreter never asks for one.

Everything else in ``refjax.random`` (seeding, ``split``, ``fold_in``, ``bits`` and the samplers)
is built from lax operations around this primitive, so that jit, vmap and grad see through it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.interp.batching import BatchDim, batching_rules, broadcast_batched_operands
from refjax.interp.core import Array, ArrayLike, ShapedArray
from refjax.primitives.common import broadcast_shapes, standard_primitive

__all__ = ["threefry2x32"]


def _threefry2x32_rule(*operands: ShapedArray) -> tuple[ShapedArray, ShapedArray]:
    if any(a.dtype != dtypes.uint32 for a in operands):
        avals = ", ".join(repr(a) for a in operands)
        raise TypeError(f"Arguments to threefry2x32 must have uint32 type, got ({avals})")
    shape = broadcast_shapes("threefry2x32", *(a.shape for a in operands))
    out = ShapedArray(shape, np.dtype(np.uint32))
    return out, out


threefry2x32_p = standard_primitive("threefry2x32", _threefry2x32_rule, multiple_results=True)


def _threefry2x32_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[Array], list[BatchDim]]:
    """Elementwise in all four operands: align the batch axes, hash, both outputs batched there.

    (``defbroadcasting``'s rule, for a primitive with two results.)
    """
    operands, out_dim = broadcast_batched_operands(args, dims)
    return threefry2x32_p.bind_all(*operands), [out_dim, out_dim]


batching_rules[threefry2x32_p] = _threefry2x32_batch


def threefry2x32(
    key1: ArrayLike, key2: ArrayLike, x1: ArrayLike, x2: ArrayLike
) -> tuple[Array, Array]:
    """The Threefry-2x32 hash (20 rounds) of counters ``(x1, x2)`` under key ``(key1, key2)``."""
    y1, y2 = threefry2x32_p.bind_all(key1, key2, x1, x2)
    return y1, y2
