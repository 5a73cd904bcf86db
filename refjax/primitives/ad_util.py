"""``add_any``: the sum of two tangents or cotangents, as JAX's autodiff writes it.

Autodiff accumulates tangents (and, in the backward pass, cotangents) with ``add_any``
rather than ``add``, so staged derivatives read like JAX's: ``h:f32[] = add_any f g``.
"""

from __future__ import annotations

from collections.abc import Sequence

from refjax.interp.batching import BatchDim, batching_rules, bdim_at
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.jvp import deflinear
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2
from refjax.primitives.common import check_same_dtypes, standard_primitive

__all__: list[str] = []


def _add_any_abstract_eval(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    check_same_dtypes("add_any", x, y)
    if x.shape != y.shape:
        raise TypeError(f"add_any got different shapes: {x.shape} and {y.shape}")
    return x.update(weak_type=x.weak_type and y.weak_type)


add_any_p = standard_primitive("add_any", _add_any_abstract_eval)


def add_any(x: ArrayLike, y: ArrayLike) -> Array:
    """``x + y`` for two tangents of the same type."""
    return add_any_p.bind(x, y)


deflinear(add_any_p)


def _add_any_transpose(
    ct: Cotangent, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal
) -> Sequence[Cotangent | None]:
    return [ct, ct]


deflinear2(add_any_p, _add_any_transpose)


def _add_any_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[Array, BatchDim]:
    x, y = args
    dx, dy = dims
    if dx == dy:
        return add_any(x, y), dx
    batched, d = (x, dx) if dx is not None else (y, dy)
    assert d is not None  # batching rules run only when some operand is batched
    size = get_aval(batched).shape[d]
    return add_any(bdim_at(x, dx, size, 0), bdim_at(y, dy, size, 0)), 0


batching_rules[add_any_p] = _add_any_batch
