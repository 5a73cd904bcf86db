"""Shape primitives: broadcasting, reshaping, permuting, padding and joining arrays.

None of them computes new values: each moves elements, so each is linear: its JVP applies it to
the tangents, and its transpose moves cotangents back (summing where it copied). Batching rules
keep the batch axis where it is whenever the operation allows, so ``vmap`` adds no transposes.
``iota`` is here too: it makes an array from its shape alone (no operands, so no rules).
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import BatchDim, batching_rules, bdim_at
from refjax.interp.core import Array, ArrayLike, Params, ShapedArray, display_rules, get_aval
from refjax.interp.jvp import Tangent, Zero, instantiate, jvp_rules, zeros_like_aval
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2, transpose_rules

# Families use each other's operations inside rules; module imports keep the cycle harmless.
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import slicing as sl
from refjax.primitives.common import (
    aval_of,
    check_dtype,
    check_same_dtypes,
    check_shape,
    standard_primitive,
)
from refjax.util import canonicalize_axis

__all__ = [
    "broadcast",
    "broadcast_in_dim",
    "broadcast_in_dim_p",
    "broadcasted_iota",
    "collapse",
    "concatenate",
    "concatenate_p",
    "expand_dims",
    "iota",
    "iota_p",
    "pad",
    "pad_p",
    "reshape",
    "reshape_p",
    "rev",
    "rev_p",
    "split",
    "split_p",
    "squeeze",
    "squeeze_p",
    "stack",
    "stack_p",
    "tile",
    "tile_p",
    "transpose",
    "transpose_p",
    "unstack",
    "unstack_p",
]


def _ints(values: Sequence[int]) -> tuple[int, ...]:
    """A static integer tuple param (``operator.index`` rejects floats and tracers)."""
    return tuple(operator.index(v) for v in values)


def _keeps_layout(operand: Array, shape: Sequence[int], dims: Sequence[int]) -> bool:
    """Whether ``operand`` already has ``shape`` with its axes at ``dims`` (an identity op)."""
    return tuple(shape) == operand.shape and tuple(dims) == tuple(range(operand.ndim))


def _undefined(x: ArrayLike | UndefinedPrimal) -> UndefinedPrimal:
    """The marker of the (only) linear operand being transposed."""
    assert isinstance(x, UndefinedPrimal), x
    return x



def _shifted(axes: Sequence[int], bdim: int) -> tuple[int, ...]:
    """Operand ``axes`` renumbered for the batched operand, whose batch axis is at ``bdim``."""
    return tuple(a + (a >= bdim) for a in axes)


def _inverse(permutation: Sequence[int]) -> tuple[int, ...]:
    """The permutation that undoes ``permutation``."""
    return tuple(int(i) for i in np.argsort(permutation))


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


def _broadcast_in_dim_display(params: Params) -> Params:
    """As JAX shows it: no shape or sharding (the binder has them), no empty dimensions."""
    shown = {k: v for k, v in params.items() if k not in ("shape", "sharding")}
    if not shown["broadcast_dimensions"]:
        del shown["broadcast_dimensions"]
    return shown


display_rules[broadcast_in_dim_p] = _broadcast_in_dim_display


def broadcast_in_dim(
    operand: ArrayLike,
    shape: Sequence[int],
    broadcast_dimensions: Sequence[int],
    *,
    out_sharding: None = None,
) -> Array:
    """``operand`` broadcast to ``shape``; its axis i becomes axis ``broadcast_dimensions[i]``."""
    if isinstance(operand, Array) and _keeps_layout(operand, shape, broadcast_dimensions):
        return operand  # JAX's wrapper skips the bind (or its staging forwards the operand)
    return broadcast_in_dim_p.bind(
        operand,
        shape=tuple(int(d) for d in shape),
        broadcast_dimensions=tuple(int(d) for d in broadcast_dimensions),
        sharding=None,
    )




def _broadcast_in_dim_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    *,
    shape: tuple[int, ...],
    broadcast_dimensions: tuple[int, ...],
    sharding: None = None,
) -> list[Cotangent | None]:
    """Sum the cotangent over the axes the broadcast made: new axes and size-1 axes stretched."""
    aval = _undefined(operand).aval
    unit = tuple(i for i, size in enumerate(aval.shape) if size == 1)
    kept = [d for i, d in enumerate(broadcast_dimensions) if i not in unit]
    summed = rd.reduce_sum(ct, tuple(a for a in range(len(shape)) if a not in kept))
    return [expand_dims(summed, unit)]


deflinear2(broadcast_in_dim_p, _broadcast_in_dim_transpose)


def _broadcast_in_dim_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    shape: tuple[int, ...],
    broadcast_dimensions: tuple[int, ...],
    sharding: None = None,
) -> tuple[list[Array], list[int]]:
    """The batch axis joins the output right after its neighbour's image: no transpose."""
    (x,), (d,) = args, dims
    assert d is not None
    out_d = broadcast_dimensions[d - 1] + 1 if d > 0 else 0
    new_dims = [b + (b >= out_d) for b in broadcast_dimensions]
    new_dims.insert(d, out_d)
    new_shape = (*shape[:out_d], get_aval(x).shape[d], *shape[out_d:])
    return [broadcast_in_dim(x, new_shape, new_dims)], [out_d]


batching_rules[broadcast_in_dim_p] = _broadcast_in_dim_batch


def broadcast(operand: ArrayLike, sizes: Sequence[int], *, out_sharding: None = None) -> Array:
    """``operand`` with new leading axes of sizes ``sizes``: shape ``(*sizes, *operand.shape)``."""
    shape = get_aval(operand).shape
    dims = tuple(range(len(sizes), len(sizes) + len(shape)))
    return broadcast_in_dim(operand, (*_ints(sizes), *shape), dims)


def expand_dims(array: ArrayLike, dimensions: Sequence[int]) -> Array:
    """``array`` with size-1 axes inserted at ``dimensions`` (of the result).

    JAX has no ``expand_dims`` primitive: like ``jax.lax.expand_dims``, this binds
    ``broadcast_in_dim``.
    """
    if len(set(dimensions)) != len(dimensions):
        raise ValueError(f"repeated axis in lax.expand_dims: {dimensions}")
    shape = get_aval(array).shape
    ndim_out = len(shape) + len(dimensions)
    dims = [canonicalize_axis(d, ndim_out) for d in dimensions]
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated axis in lax.expand_dims: {dims}")
    kept = [i for i in range(ndim_out) if i not in dims]
    out_shape = [1] * ndim_out
    for i, size in zip(kept, shape, strict=True):
        out_shape[i] = size
    return broadcast_in_dim(array, out_shape, kept)


# ---------------------------------------------------------------------------------------------
# reshape


def _reshape_rule(
    operand: ShapedArray,
    *,
    new_sizes: tuple[int, ...],
    dimensions: tuple[int, ...] | None,
    sharding: None = None,
) -> ShapedArray:
    if not all(d >= 0 for d in new_sizes):
        raise TypeError(f"reshape new_sizes must all be positive, got {new_sizes}.")
    if math.prod(new_sizes) != operand.size:
        raise TypeError(
            f"reshape total size must be unchanged, got new_sizes {new_sizes} "
            f"for shape {operand.shape}."
        )
    if dimensions is not None and set(dimensions) != set(range(operand.ndim)):
        raise TypeError(
            "reshape dimensions must be a permutation of operand dimensions, "
            f"got dimensions {dimensions} for shape {operand.shape}."
        )
    return ShapedArray(tuple(new_sizes), operand.dtype, operand.weak_type)


reshape_p = standard_primitive("reshape", _reshape_rule)


def reshape(
    operand: ArrayLike,
    new_sizes: Sequence[int],
    dimensions: Sequence[int] | None = None,
    *,
    out_sharding: None = None,
) -> Array:
    """``operand``'s elements in row-major order (after permuting by ``dimensions``), reshaped."""
    sizes = _ints(new_sizes)
    shape = get_aval(operand).shape
    dims = None if dimensions is None else _ints(dimensions)
    same_dims = dims is None or dims == tuple(range(len(shape)))
    if shape and sizes == shape and same_dims and isinstance(operand, Array):
        return operand
    return reshape_p.bind(
        operand, new_sizes=sizes, dimensions=None if same_dims else dims, sharding=None
    )




def _reshape_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    *,
    new_sizes: tuple[int, ...],
    dimensions: tuple[int, ...] | None,
    sharding: None = None,
) -> list[Cotangent | None]:
    """Reshape the cotangent back (and undo the ``dimensions`` permutation)."""
    shape = _undefined(operand).aval.shape
    if dimensions is None:
        return [reshape(ct, shape)]
    permuted = tuple(shape[d] for d in dimensions)
    return [transpose(reshape(ct, permuted), _inverse(dimensions))]


deflinear2(reshape_p, _reshape_transpose)


def _reshape_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    new_sizes: tuple[int, ...],
    dimensions: tuple[int, ...] | None,
    sharding: None = None,
) -> tuple[list[Array], list[int]]:
    """Row-major order needs the batch axis first: ``dimensions`` moves it there, in the reshape."""
    (x,), (d,) = args, dims
    assert d is not None
    aval = get_aval(x)
    order = range(aval.ndim - 1) if dimensions is None else dimensions
    return [reshape(x, (aval.shape[d], *new_sizes), (d, *_shifted(order, d)))], [0]


batching_rules[reshape_p] = _reshape_batch


def collapse(operand: ArrayLike, start_dimension: int, stop_dimension: int | None = None) -> Array:
    """``operand`` with axes ``[start_dimension, stop_dimension)`` merged into one (row-major)."""
    shape = get_aval(operand).shape
    lo, hi, _ = slice(start_dimension, stop_dimension).indices(len(shape))
    if hi < lo:
        where = f"{shape}[{start_dimension}:{stop_dimension}]"
        raise ValueError(f"Invalid dimension range passed to collapse: {where}")
    return reshape(operand, (*shape[:lo], math.prod(shape[lo:hi]), *shape[hi:]))


# ---------------------------------------------------------------------------------------------
# squeeze


def _squeeze_rule(operand: ShapedArray, *, dimensions: tuple[int, ...]) -> ShapedArray:
    shape = operand.shape
    if len(set(dimensions)) != len(dimensions):
        raise ValueError(f"dimensions are not unique: {dimensions}")
    if not all(0 <= d < len(shape) for d in dimensions):
        raise ValueError(f"dimensions outside range [0, ndim): {dimensions}")
    if any(shape[d] != 1 for d in dimensions):
        raise ValueError(
            "cannot select an axis to squeeze out which has size not equal to one, "
            f"got shape={shape} and dimensions={dimensions}"
        )
    kept = tuple(s for i, s in enumerate(shape) if i not in dimensions)
    return ShapedArray(kept, operand.dtype, operand.weak_type)


squeeze_p = standard_primitive("squeeze", _squeeze_rule)


def squeeze(array: ArrayLike, dimensions: Sequence[int]) -> Array:
    """``array`` without its size-1 axes ``dimensions`` (negative axes count from the end)."""
    ndim = get_aval(array).ndim
    dims = tuple(sorted(canonicalize_axis(d, ndim) for d in dimensions))
    if not dims and isinstance(array, Array):
        return array
    return squeeze_p.bind(array, dimensions=dims)




def _squeeze_transpose(
    ct: Array, operand: ArrayLike | UndefinedPrimal, *, dimensions: tuple[int, ...]
) -> list[Cotangent | None]:
    """Put the squeezed size-1 axes back."""
    return [expand_dims(ct, dimensions)]


deflinear2(squeeze_p, _squeeze_transpose)


def _squeeze_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, dimensions: tuple[int, ...]
) -> tuple[list[Array], list[int]]:
    """Squeeze the same axes around the batch axis, which moves left past those before it."""
    (x,), (d,) = args, dims
    assert d is not None
    return [squeeze(x, _shifted(dimensions, d))], [d - sum(a < d for a in dimensions)]


batching_rules[squeeze_p] = _squeeze_batch


# ---------------------------------------------------------------------------------------------
# transpose and rev


def _transpose_rule(operand: ShapedArray, *, permutation: tuple[int, ...]) -> ShapedArray:
    if not isinstance(permutation, (tuple, list, np.ndarray)):
        raise TypeError(
            f"transpose permutation must be a tuple/list/ndarray, got {type(permutation)}."
        )
    if tuple(sorted(permutation)) != tuple(range(operand.ndim)):
        raise TypeError(
            "transpose permutation isn't a permutation of operand dimensions, "
            f"got permutation {permutation} for operand shape {operand.shape}."
        )
    shape = tuple(operand.shape[i] for i in permutation)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


transpose_p = standard_primitive("transpose", _transpose_rule)


def transpose(operand: ArrayLike, permutation: Sequence[int]) -> Array:
    """``operand`` with axes permuted: result axis i is operand axis ``permutation[i]``."""
    perm = _ints(permutation)
    if perm == tuple(range(get_aval(operand).ndim)) and isinstance(operand, Array):
        return operand
    return transpose_p.bind(operand, permutation=perm)




def _transpose_transpose(
    ct: Array, operand: ArrayLike | UndefinedPrimal, *, permutation: tuple[int, ...]
) -> list[Cotangent | None]:
    """Apply the inverse permutation."""
    return [transpose(ct, _inverse(permutation))]


deflinear2(transpose_p, _transpose_transpose)


def _transpose_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, permutation: tuple[int, ...]
) -> tuple[list[Array], list[int]]:
    """Permute the other axes around the batch axis, which stays where it is."""
    (x,), (d,) = args, dims
    assert d is not None
    perm = list(_shifted(permutation, d))
    perm.insert(d, d)
    return [transpose(x, perm)], [d]


batching_rules[transpose_p] = _transpose_batch


def _rev_rule(operand: ShapedArray, *, dimensions: tuple[int, ...]) -> ShapedArray:
    check_shape("rev", dimensions, "dimensions")
    if len(set(dimensions)) != len(dimensions):
        raise TypeError(f"rev dimensions must be unique, got {dimensions}.")
    if dimensions and not max(dimensions) < operand.ndim:
        raise TypeError(
            "rev dimensions must all be less than operand ndim, got dimensions "
            f"{dimensions} for operand ndim {operand.ndim}."
        )
    return operand


rev_p = standard_primitive("rev", _rev_rule)


def rev(operand: ArrayLike, dimensions: Sequence[int]) -> Array:
    """``operand`` with the order of elements reversed along each axis in ``dimensions``."""
    return rev_p.bind(operand, dimensions=_ints(dimensions))




def _rev_transpose(
    ct: Array, operand: ArrayLike | UndefinedPrimal, *, dimensions: tuple[int, ...]
) -> list[Cotangent | None]:
    """Reverse the cotangent along the same axes."""
    return [rev(ct, dimensions)]


deflinear2(rev_p, _rev_transpose)


def _rev_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, dimensions: tuple[int, ...]
) -> tuple[list[Array], list[int]]:
    """Reverse the same axes around the batch axis."""
    (x,), (d,) = args, dims
    assert d is not None
    return [rev(x, _shifted(dimensions, d))], [d]


batching_rules[rev_p] = _rev_batch


# ---------------------------------------------------------------------------------------------
# concatenate


def _shapes_text(avals: Sequence[ShapedArray]) -> str:
    return ", ".join(str(a.shape) for a in avals)


def _concatenate_rule(*operands: ShapedArray, dimension: int) -> ShapedArray:
    if not operands:
        raise TypeError("concatenate expects at least one operand, got 0.")
    if len({o.ndim for o in operands}) != 1:
        raise TypeError(
            "Cannot concatenate arrays with different numbers of dimensions: "
            f"got {_shapes_text(operands)}."
        )
    if not 0 <= dimension < operands[0].ndim:
        raise TypeError(
            f"concatenate dimension out of bounds: dimension {dimension} "
            f"for shapes {_shapes_text(operands)}."
        )
    others = {o.shape[:dimension] + o.shape[dimension + 1 :] for o in operands}
    if len(others) != 1:
        raise TypeError(
            "Cannot concatenate arrays with shapes that differ in dimensions other than the one "
            f"being concatenated: concatenating along dimension {dimension} "
            f"for shapes {_shapes_text(operands)}."
        )
    check_same_dtypes("concatenate", *operands)
    first = operands[0].shape
    size = sum(o.shape[dimension] for o in operands)
    shape = (*first[:dimension], size, *first[dimension + 1 :])
    weak = all(o.weak_type for o in operands)
    return ShapedArray(shape, operands[0].dtype, weak)


concatenate_p = standard_primitive("concatenate", _concatenate_rule)


def concatenate(operands: Sequence[ArrayLike], dimension: int) -> Array:
    """The ``operands`` joined along axis ``dimension``; other axes must match."""
    if len(operands) == 0:
        raise ValueError("concatenate requires a non-empty sequences of arrays")
    if len(operands) == 1 and isinstance(operands[0], Array):
        return operands[0]
    return concatenate_p.bind(*operands, dimension=operator.index(dimension))




def _concatenate_transpose(
    ct: Array, *operands: ArrayLike | UndefinedPrimal, dimension: int
) -> list[Cotangent | None]:
    """Each linear operand gets its own stretch of the cotangent along ``dimension``: one
    ``split`` of it, as JAX's rule."""
    pieces = split_p.bind_all(ct, sizes=tuple(aval_of(x).shape[dimension] for x in operands),
                              axis=dimension)
    return [p if isinstance(x, UndefinedPrimal) else None
            for p, x in zip(pieces, operands, strict=True)]


deflinear2(concatenate_p, _concatenate_transpose)


def _concatenate_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, dimension: int
) -> tuple[list[Array], list[int]]:
    """Every operand gets its batch axis where the first batched one has it (broadcast if none)."""
    d = next(d for d in dims if d is not None)
    size = next(get_aval(x).shape[xd] for x, xd in zip(args, dims, strict=True) if xd == d)
    operands = [bdim_at(x, xd, size, d) for x, xd in zip(args, dims, strict=True)]
    return [concatenate(operands, dimension + (dimension >= d))], [d]


batching_rules[concatenate_p] = _concatenate_batch


# ---------------------------------------------------------------------------------------------
# pad

PaddingConfig = tuple[tuple[int, int, int], ...]


def dilate_dim(size: int, interior: int) -> int:
    """Size of an axis of ``size`` elements with ``interior`` values inserted between each pair."""
    return 0 if size == 0 else 1 + (interior + 1) * (size - 1)


def _pad_rule(
    operand: ShapedArray, padding_value: ShapedArray, *, padding_config: PaddingConfig
) -> ShapedArray:
    if padding_value.ndim != 0:
        raise ValueError(
            f"padding_value must be a scalar; got np.shape(padding_value)={padding_value.shape}"
        )
    if len(padding_config) != operand.ndim:
        raise ValueError(
            "length of padding_config must equal the number of axes of operand, "
            f"got padding_config {padding_config} for operand shape {operand.shape}"
        )
    if not all(i >= 0 for _, _, i in padding_config):
        raise ValueError(
            "interior padding in padding_config must be nonnegative, "
            f"got padding_config {padding_config}"
        )
    shape = tuple(
        lo + hi + dilate_dim(d, i)
        for (lo, hi, i), d in zip(padding_config, operand.shape, strict=True)
    )
    if not all(d >= 0 for d in shape):
        raise ValueError(
            f"Dimension size after padding is not at least 0, got result shape {shape}, "
            f"for padding_config {padding_config} and operand shape {operand.shape}"
        )
    if operand.dtype != padding_value.dtype:
        raise TypeError(
            "pad operand and padding_value must be same dtype: "
            f"got {operand.dtype.name} and {padding_value.dtype.name}."
        )
    weak = operand.weak_type and padding_value.weak_type
    return ShapedArray(shape, operand.dtype, weak)


pad_p = standard_primitive("pad", _pad_rule)


def pad(
    operand: ArrayLike,
    padding_value: ArrayLike,
    padding_config: Sequence[tuple[int, int, int]],
) -> Array:
    """``operand`` padded per axis by ``(low, high, interior)`` copies of ``padding_value``.

    Negative ``low``/``high`` remove elements from that edge instead.
    """
    config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    return pad_p.bind(operand, padding_value, padding_config=config)




def _zero_scalar(x: ArrayLike) -> Array:
    """A scalar zero of ``x``'s dtype and weak type."""
    return zeros_like_aval(get_aval(x).update(shape=()))


def _unpad(ct: Array, padding_config: PaddingConfig) -> Array:
    """The elements of ``ct`` that came from the operand: undo the edges, then the interior."""
    edges = tuple((-lo, -hi, 0) for lo, hi, _ in padding_config)
    if any(lo or hi for lo, hi, _ in edges):
        ct = pad(ct, _zero_scalar(ct), edges)
    strides = tuple(interior + 1 for _, _, interior in padding_config)
    if any(s > 1 for s in strides):
        ct = sl.slice(ct, (0,) * ct.ndim, ct.shape, strides)
    return ct


def _pad_transpose(
    ct: Array,
    operand: ArrayLike | UndefinedPrimal,
    padding_value: ArrayLike | UndefinedPrimal,
    *,
    padding_config: PaddingConfig,
) -> list[Cotangent | None]:
    """The operand's cotangent is the unpadded ``ct``; the padding value gets all the rest."""
    t_operand = _unpad(ct, padding_config)
    t_value = None
    if isinstance(padding_value, UndefinedPrimal):
        total = tuple(range(ct.ndim))
        t_value = ew.sub(rd.reduce_sum(ct, total), rd.reduce_sum(t_operand, total))
    return [t_operand if isinstance(operand, UndefinedPrimal) else None, t_value]


deflinear2(pad_p, _pad_transpose)


def _pad_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, padding_config: PaddingConfig
) -> tuple[list[Array], list[int]]:
    """No padding along the batch axis; a batched padding value fills through a mask."""
    (x, value), (xd, vd) = args, dims
    if vd is None:
        assert xd is not None
        return [pad(x, value, _config_with_batch(padding_config, xd))], [xd]
    size = get_aval(value).shape[vd]
    d = 0 if xd is None else xd
    x = bdim_at(x, xd, size, d)
    config = _config_with_batch(padding_config, d)
    padded = pad(x, _zero_scalar(x), config)
    is_operand = pad(broadcast_in_dim(np.True_, x.shape, ()), np.False_, config)
    fill = broadcast_in_dim(value, padded.shape, (d,))
    return [ew.select_n(is_operand, fill, padded)], [d]


def _config_with_batch(padding_config: PaddingConfig, bdim: int) -> PaddingConfig:
    """``padding_config`` with no padding for the batch axis at ``bdim``."""
    config = list(padding_config)
    config.insert(bdim, (0, 0, 0))
    return tuple(config)


batching_rules[pad_p] = _pad_batch


# ---------------------------------------------------------------------------------------------
# iota

_IOTA_KINDS = (np.integer, np.floating, np.complexfloating)


def _iota_rule(
    *, dtype: DType, shape: tuple[int, ...], dimension: int, sharding: None = None
) -> ShapedArray:
    check_shape("iota", shape)
    check_dtype("iota", ShapedArray((), dtype), _IOTA_KINDS)
    if not 0 <= dimension < len(shape):
        raise ValueError(
            "iota dimension must be between 0 and len(shape), "
            f"got dimension={dimension} for shape={shape}"
        )
    return ShapedArray(tuple(shape), dtype, False)


iota_p = standard_primitive("iota", _iota_rule)


def broadcasted_iota(
    dtype: DTypeLike, shape: Sequence[int], dimension: int, *, out_sharding: None = None
) -> Array:
    """An array of ``shape`` holding each element's index along axis ``dimension``."""
    return iota_p.bind(
        dtype=dtypes.canonicalize_dtype(dtype),
        shape=_ints(shape),
        dimension=operator.index(dimension),
        sharding=None,
    )


def iota(dtype: DTypeLike, size: int) -> Array:
    """``[0, 1, ..., size - 1]`` as ``dtype``."""
    return broadcasted_iota(dtype, (size,), 0)


# ---------------------------------------------------------------------------------------------
# stack, unstack, split and tile (JAX 0.10's own primitives for them)


def _stack_rule(*operands: ShapedArray, axis: int) -> ShapedArray:
    if not operands:
        raise ValueError("stack expects at least one operand, got 0.")
    if len({o.ndim for o in operands}) != 1:
        raise ValueError("Cannot stack arrays with different numbers of dimensions: got "
                         f"{', '.join(str(o.shape) for o in operands)}.")
    if len({o.shape for o in operands}) != 1:
        raise ValueError("All input arrays must have the same shape. Got "
                         f"{', '.join(str(o.shape) for o in operands)}.")
    check_same_dtypes("stack", *operands)
    shape = list(operands[0].shape)
    shape.insert(axis, len(operands))
    return ShapedArray(tuple(shape), operands[0].dtype, all(o.weak_type for o in operands))


stack_p = standard_primitive("stack", _stack_rule)


def stack(operands: Sequence[ArrayLike], axis: int = 0) -> Array:
    """The ``operands`` (of one shape) joined along a new axis ``axis``."""
    if not operands:
        raise ValueError("stack expects at least one operand, got 0.")
    axis = canonicalize_axis(axis, get_aval(operands[0]).ndim + 1)
    return stack_p.bind(*operands, axis=axis)


def _stack_transpose(ct: Array, *operands: ArrayLike | UndefinedPrimal,
                     axis: int) -> list[Cotangent | None]:
    parts = unstack_p.bind_all(ct, axis=axis)
    return [p if isinstance(x, UndefinedPrimal) else None
            for p, x in zip(parts, operands, strict=True)]


deflinear2(stack_p, _stack_transpose)


def _stack_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                 axis: int) -> tuple[list[Array], list[BatchDim]]:
    first = dims[0]
    if first is not None and all(d == first for d in dims):
        if axis <= first:
            return [stack_p.bind(*args, axis=axis)], [first + 1]
        return [stack_p.bind(*args, axis=axis + 1)], [first]
    size = next(get_aval(x).shape[d] for x, d in zip(args, dims, strict=True) if d is not None)
    moved = [bdim_at(x, d, size, 0) for x, d in zip(args, dims, strict=True)]
    return [stack_p.bind(*moved, axis=axis + 1)], [0]


batching_rules[stack_p] = _stack_batch


def _unstack_rule(operand: ShapedArray, *, axis: int) -> list[ShapedArray]:
    if operand.ndim == 0:
        raise ValueError("unstack requires arrays with rank > 0, however a scalar array of "
                         f"shape {operand.shape} was passed.")
    shape = list(operand.shape)
    n = shape.pop(axis)
    return [ShapedArray(tuple(shape), operand.dtype, operand.weak_type)] * n


unstack_p = standard_primitive("unstack", _unstack_rule, multiple_results=True)


def unstack(x: ArrayLike, axis: int = 0) -> tuple[Array, ...]:
    """The slices of ``x`` along ``axis``, each without that axis."""
    aval = get_aval(x)
    if aval.ndim == 0:
        raise ValueError("unstack requires arrays with rank > 0, however a scalar array of "
                         f"shape {aval.shape} was passed.")
    return tuple(unstack_p.bind_all(x, axis=canonicalize_axis(axis, aval.ndim)))


def _unstack_transpose(cts: Sequence[Cotangent], operand: ArrayLike | UndefinedPrimal, *,
                       axis: int) -> list[Cotangent | None]:
    if all(isinstance(c, Zero) for c in cts):
        return [Zero(aval_of(operand))]
    return [stack_p.bind(*(instantiate(c) for c in cts), axis=axis)]


def _unstack_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
                 axis: int) -> tuple[list[Array], list[Tangent]]:
    (x,), (t,) = primals, tangents
    outs = unstack_p.bind_all(x, axis=axis)
    if isinstance(t, Zero):
        return outs, [Zero.from_primal(o) for o in outs]
    return outs, list(unstack_p.bind_all(instantiate(t), axis=axis))


def _unstack_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                   axis: int) -> tuple[list[Array], list[BatchDim]]:
    (x,), (d,) = args, dims
    assert d is not None
    if axis < d:
        outs = unstack_p.bind_all(x, axis=axis)
        return outs, [d - 1] * len(outs)
    outs = unstack_p.bind_all(x, axis=axis + 1)
    return outs, [d] * len(outs)


def _split_rule(operand: ShapedArray, *, sizes: tuple[int, ...], axis: int
                ) -> list[ShapedArray]:
    if any(s < 0 for s in sizes):
        raise ValueError(f"Sizes passed to split must be nonnegative, got {list(sizes)}")
    if operand.shape[axis] != sum(sizes):
        raise ValueError(f"Sum of sizes {sum(sizes)} must be equal to dimension {axis} of the "
                         f"operand shape {list(operand.shape)}")
    outs = []
    for size in sizes:
        shape = list(operand.shape)
        shape[axis] = size
        outs.append(ShapedArray(tuple(shape), operand.dtype, operand.weak_type))
    return outs


split_p = standard_primitive("split", _split_rule, multiple_results=True)


def split(operand: ArrayLike, sizes: Sequence[int], axis: int = 0) -> tuple[Array, ...]:
    """``operand`` cut along ``axis`` into pieces of ``sizes`` (which sum to that axis's
    length)."""
    aval = get_aval(operand)
    return tuple(split_p.bind_all(operand, sizes=_ints(sizes),
                                  axis=canonicalize_axis(axis, aval.ndim)))


def _split_transpose(cts: Sequence[Cotangent], operand: ArrayLike | UndefinedPrimal, *,
                     sizes: tuple[int, ...], axis: int) -> list[Cotangent | None]:
    if all(isinstance(c, Zero) for c in cts):
        return [Zero(aval_of(operand))]
    return [concatenate_p.bind(*(instantiate(c) for c in cts), dimension=axis)]


def _split_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
               sizes: tuple[int, ...], axis: int) -> tuple[list[Array], list[Tangent]]:
    (x,), (t,) = primals, tangents
    outs = split_p.bind_all(x, sizes=sizes, axis=axis)
    if isinstance(t, Zero):
        return outs, [Zero.from_primal(o) for o in outs]
    return outs, list(split_p.bind_all(instantiate(t), sizes=sizes, axis=axis))


def _split_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                 sizes: tuple[int, ...], axis: int) -> tuple[list[Array], list[BatchDim]]:
    (x,), (d,) = args, dims
    assert d is not None
    outs = split_p.bind_all(x, sizes=sizes, axis=axis + 1 if axis >= d else axis)
    return outs, [d] * len(outs)


def _tile_rule(x: ShapedArray, *, reps: tuple[int, ...]) -> ShapedArray:
    if x.ndim != len(reps):
        raise TypeError(f"reps length must be equal to the ndim of x, got len(reps)={len(reps)} "
                        f"and x.ndim={x.ndim}.")
    return ShapedArray(tuple(n * r for n, r in zip(x.shape, reps, strict=True)), x.dtype,
                       x.weak_type)


tile_p = standard_primitive("tile", _tile_rule)


def tile(operand: ArrayLike, reps: Sequence[int]) -> Array:
    """``operand`` repeated ``reps[i]`` times along each axis ``i``."""
    return tile_p.bind(operand, reps=_ints(reps))


def _tile_transpose(ct: Array, operand: ArrayLike | UndefinedPrimal, *,
                    reps: tuple[int, ...]) -> list[Cotangent | None]:
    if not isinstance(operand, UndefinedPrimal):
        return [None]
    shape = operand.aval.shape
    pairs = tuple(k for pair in zip(reps, shape, strict=True) for k in pair)
    return [rd.reduce_sum(reshape(ct, pairs), tuple(2 * i for i in range(len(shape))))]


deflinear2(tile_p, _tile_transpose)


def _tile_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                reps: tuple[int, ...]) -> tuple[list[Array], list[BatchDim]]:
    (x,), (d,) = args, dims
    assert d is not None
    new = list(reps)
    new.insert(d, 1)
    return [tile_p.bind(x, reps=tuple(new))], [d]


batching_rules[tile_p] = _tile_batch


jvp_rules[unstack_p] = _unstack_jvp
jvp_rules[split_p] = _split_jvp
transpose_rules[unstack_p] = _unstack_transpose
transpose_rules[split_p] = _split_transpose
batching_rules[unstack_p] = _unstack_batch
batching_rules[split_p] = _split_batch
