"""Sorting primitives: ``sort`` (and ``sort_key_val``) and ``top_k`` reorder along an axis.

Floats sort in a total order (-0.0 and 0.0 tie, NaNs last), complex numbers by real part, then
imaginary part. Tangents follow the permutation, read with a gather.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.interp.batching import BatchDim, batching_rules, bdim_at
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.jvp import Tangent, Zero, instantiate, jvp_rules
from refjax.primitives import shape as sh
from refjax.primitives.common import shape_of, standard_primitive
from refjax.primitives.gather_scatter import GatherDimensionNumbers, GatherScatterMode, gather
from refjax.util import canonicalize_axis

__all__ = [
    "sort",
    "sort_key_val",
    "sort_p",
    "top_k",
    "top_k_p",
]



# ---------------------------------------------------------------------------------------------
# sort and top_k


def _sort_rule(
    *operands: ShapedArray, dimension: int, is_stable: bool, num_keys: int
) -> tuple[ShapedArray, ...]:
    if any(a.shape != operands[0].shape for a in operands[1:]):
        shapes = " ".join(str(a.shape) for a in operands)
        raise TypeError(f"Arguments to sort must have equal shapes, got: {shapes}")
    return operands


sort_p = standard_primitive("sort", _sort_rule, multiple_results=True)


def sort(
    operand: ArrayLike | Sequence[ArrayLike],
    dimension: int = -1,
    is_stable: bool = True,
    num_keys: int = 1,
) -> Array | tuple[Array, ...]:
    """Operands sorted along ``dimension`` by the first ``num_keys`` of them, lexicographically.

    Floats sort in a total order: -0.0 and 0.0 tie, NaNs go last; complex numbers sort by real
    part, then imaginary part.
    """
    if isinstance(operand, Sequence):
        if len(operand) == 0:
            raise TypeError("Sort requires at least one operand")
        if not 1 <= num_keys <= len(operand):
            raise ValueError(
                f"num_keys={num_keys} must be between 1 and len(operand)={len(operand)}"
            )
        axis = canonicalize_axis(dimension, len(shape_of(operand[0])))
        outs = sort_p.bind_all(*operand, dimension=axis, is_stable=is_stable, num_keys=num_keys)
        return tuple(outs)
    if num_keys != 1:
        raise ValueError(f"num_keys={num_keys} must equal 1 for a single operand.")
    axis = canonicalize_axis(dimension, len(shape_of(operand)))
    return sort_p.bind_all(operand, dimension=axis, is_stable=is_stable, num_keys=1)[0]


def sort_key_val(
    keys: ArrayLike, values: ArrayLike, dimension: int = -1, is_stable: bool = True
) -> tuple[Array, Array]:
    """``keys`` sorted along ``dimension``, and ``values`` permuted the same way."""
    axis = canonicalize_axis(dimension, len(shape_of(keys)))
    k, v = sort_p.bind_all(keys, values, dimension=axis, is_stable=is_stable, num_keys=1)
    return k, v


def _take_along(x: ArrayLike, positions: ArrayLike, axis: int) -> Array:
    """``x`` read at ``positions`` along ``axis`` (same shape elsewhere): take_along_axis."""
    ndim = get_aval(x).ndim
    others = tuple(d for d in range(ndim) if d != axis)
    dnums = GatherDimensionNumbers(
        offset_dims=(),
        collapsed_slice_dims=(axis,),
        start_index_map=(axis,),
        operand_batching_dims=others,
        start_indices_batching_dims=others,
    )
    index = sh.expand_dims(positions, (ndim,))
    return gather(x, index, dnums, (1,) * ndim, mode=GatherScatterMode.PROMISE_IN_BOUNDS)


def _sort_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    dimension: int,
    is_stable: bool,
    num_keys: int,
) -> tuple[list[Array], list[Tangent]]:
    """Sort an iota along with the operands; the tangents follow that permutation."""
    iota = sh.broadcasted_iota(dtypes.uint32, shape_of(primals[0]), dimension)
    *outs, perm = sort_p.bind_all(
        *primals, iota, dimension=dimension, is_stable=is_stable, num_keys=num_keys
    )
    t_outs = [t if isinstance(t, Zero) else _take_along(t, perm, dimension) for t in tangents]
    return outs, t_outs


jvp_rules[sort_p] = _sort_jvp


def _sort_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    dimension: int,
    is_stable: bool,
    num_keys: int,
) -> tuple[list[Array], list[int]]:
    """Every operand batched at the first batched operand's axis; the sort axis shifts past it."""
    first, bdim = next((a, d) for a, d in zip(args, dims, strict=True) if d is not None)
    size = shape_of(first)[bdim]
    operands = [bdim_at(a, d, size, bdim) for a, d in zip(args, dims, strict=True)]
    new_dimension = dimension + (bdim <= dimension)
    outs = sort_p.bind_all(
        *operands, dimension=new_dimension, is_stable=is_stable, num_keys=num_keys
    )
    return outs, [bdim] * len(outs)


batching_rules[sort_p] = _sort_batch


def _top_k_rule(operand: ShapedArray, *, k: int, axis: int) -> tuple[ShapedArray, ShapedArray]:
    if dtypes.issubdtype(operand.dtype, np.complexfloating):
        raise ValueError("top_k is not compatible with complex inputs.")
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    if operand.ndim == 0:
        raise TypeError(f"top_k operand must have >= 1 dimension, got {operand.shape}")
    if not 0 <= axis < operand.ndim:
        raise ValueError(
            f"axis argument out of range: axis={axis} for operand.shape={operand.shape}"
        )
    shape = list(operand.shape)
    if shape[axis] < k:
        raise ValueError(
            "k argument to top_k must be no larger than size along axis; got "
            f"k={k} with shape={shape} and axis={axis}"
        )
    shape[axis] = k
    return operand.update(shape=tuple(shape)), operand.update(
        shape=tuple(shape), dtype=dtypes.int32
    )


top_k_p = standard_primitive("top_k", _top_k_rule, multiple_results=True)


def top_k(operand: ArrayLike, k: int, *, axis: int = -1) -> tuple[Array, Array]:
    """The ``k`` largest entries along ``axis`` and their indices (NaN largest, ties by index)."""
    k = int(k)
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    axis = canonicalize_axis(axis, len(shape_of(operand)))
    values, indices = top_k_p.bind_all(operand, k=k, axis=axis)
    return values, indices


def _top_k_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, k: int, axis: int
) -> tuple[list[Array], list[Tangent]]:
    """The tangent read at the winning indices; the indices have none."""
    (operand,), (t,) = primals, tangents
    values, indices = top_k_p.bind_all(operand, k=k, axis=axis)
    t_values = _take_along(instantiate(t), indices, axis)
    return [values, indices], [t_values, Zero.from_primal(indices)]


jvp_rules[top_k_p] = _top_k_jvp


def _top_k_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, k: int, axis: int
) -> tuple[list[Array], list[int]]:
    """The batch axis stays put; the top-k axis shifts past it."""
    (x,), (d,) = args, dims
    assert d is not None
    outs = top_k_p.bind_all(x, k=k, axis=axis + (d <= axis))
    return outs, [d, d]


batching_rules[top_k_p] = _top_k_batch
