"""Shape primitives: broadcasting, reshaping, permuting, padding and joining arrays.

None of them computes new values: each moves elements, so their JVPs and transposes are the
same operation (or its inverse) applied to tangents and cotangents.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from refjax.interp.core import Array, ArrayLike, ShapedArray
from refjax.primitives.common import check_shape, standard_primitive

__all__ = ["broadcast_in_dim"]

# ---------------------------------------------------------------------------------------------
# broadcast_in_dim


def _broadcast_in_dim_rule(
    operand: ShapedArray,
    *,
    shape: tuple[int, ...],
    broadcast_dimensions: tuple[int, ...],
    sharding: None = None,
) -> ShapedArray:
    check_shape("broadcast_in_dim", shape)
    if operand.ndim != len(broadcast_dimensions):
        raise TypeError(
            "broadcast_in_dim broadcast_dimensions must have length equal to operand ndim; "
            f"got broadcast_dimensions {broadcast_dimensions} for operand ndim {operand.ndim}."
        )
    if len(shape) < operand.ndim:
        raise TypeError(
            "broadcast_in_dim target broadcast shape must have equal or higher rank to the "
            f"operand shape; got operand ndim {operand.ndim} and target broadcast ndim "
            f"{len(shape)}."
        )
    if any(not 0 <= d < len(shape) for d in broadcast_dimensions):
        raise TypeError(
            "broadcast_in_dim broadcast_dimensions must be a subset of the output dimensions; "
            f"got {broadcast_dimensions} for shape {shape}."
        )
    if any(a >= b for a, b in itertools.pairwise(broadcast_dimensions)):
        raise TypeError(
            "broadcast_in_dim broadcast_dimensions must be strictly increasing; "
            f"got broadcast_dimensions {broadcast_dimensions}"
        )
    for size, dim in zip(operand.shape, broadcast_dimensions, strict=True):
        if size != 1 and size != shape[dim]:
            raise TypeError(
                "broadcast_in_dim operand dimension sizes must either be 1, or be equal to their "
                f"corresponding dimensions in the target broadcast shape; got operand of shape "
                f"{operand.shape}, target broadcast shape {shape}, "
                f"broadcast_dimensions {broadcast_dimensions} "
            )
    return ShapedArray(tuple(shape), operand.dtype, operand.weak_type)


broadcast_in_dim_p = standard_primitive("broadcast_in_dim", _broadcast_in_dim_rule)


def broadcast_in_dim(
    operand: ArrayLike, shape: Sequence[int], broadcast_dimensions: Sequence[int]
) -> Array:
    """``operand`` broadcast to ``shape``; its axis i becomes axis ``broadcast_dimensions[i]``."""
    return broadcast_in_dim_p.bind(
        operand,
        shape=tuple(int(d) for d in shape),
        broadcast_dimensions=tuple(int(d) for d in broadcast_dimensions),
        sharding=None,
    )
