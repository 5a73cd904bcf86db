"""Linear-algebra primitives: ``dot_general``, the one contraction every matmul lowers to.

``dot_general`` contracts paired dims of ``lhs`` and ``rhs`` and maps over paired batch dims;
its output is laid out as (batch dims, lhs free dims, rhs free dims). ``refjax.lax.dot`` and
every ``refjax.numpy`` product (``dot``, ``matmul``, ``einsum``, ``tensordot``) bind it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final, TypeAlias

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import BatchDim, batching_rules
from refjax.interp.core import (
    Array,
    ArrayLike,
    Params,
    ShapedArray,
    display_rules,
    get_aval,
)
from refjax.interp.transpose import Cotangent, UndefinedPrimal, defbilinear
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives.common import standard_primitive
from refjax.primitives.dot_algorithm import DotAlgorithm, DotAlgorithmPreset

__all__ = ["DotDimensionNumbers", "Precision", "dot", "dot_general", "dot_general_p"]

# ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))
DotDimensionNumbers: TypeAlias = tuple[
    tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]
]
Dims: TypeAlias = tuple[int, ...]
CanonicalDimensionNumbers: TypeAlias = tuple[tuple[Dims, Dims], tuple[Dims, Dims]]


class Precision(enum.Enum):
    """How precisely an accelerator multiplies float32 (numpy is always exact in its dtype)."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value: object) -> Precision | None:
        return _PRECISION_STRINGS.get(value) if isinstance(value, str) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __str__(self) -> str:
        return self.name


_PRECISION_STRINGS: Final[dict[str | None, Precision]] = {
    "highest": Precision.HIGHEST,
    "float32": Precision.HIGHEST,
    "high": Precision.HIGH,
    "bfloat16_3x": Precision.HIGH,
    "tensorfloat32": Precision.HIGH,
    "default": Precision.DEFAULT,
    "bfloat16": Precision.DEFAULT,
    "fastest": Precision.DEFAULT,
    None: Precision.DEFAULT,
}

PrecisionLike: TypeAlias = (
    str | Precision | tuple[str, str] | tuple[Precision, Precision] | DotAlgorithm
    | DotAlgorithmPreset | None
)
CanonicalPrecision: TypeAlias = (
    tuple[Precision, Precision] | DotAlgorithm | DotAlgorithmPreset | None
)


def canonicalize_precision(precision: PrecisionLike) -> CanonicalPrecision:
    """``precision`` as a pair of :class:`Precision` values (None stays None)."""
    if precision is None:
        return None
    if isinstance(precision, str) and precision in _PRECISION_STRINGS:
        return Precision(precision), Precision(precision)
    if isinstance(precision, Precision):
        return precision, precision
    if isinstance(precision, str) and precision in DotAlgorithmPreset.__members__:
        return DotAlgorithmPreset[precision]  # (the algorithm is recorded, not followed)
    if isinstance(precision, (DotAlgorithm, DotAlgorithmPreset)):
        return precision
    if isinstance(precision, (list, tuple)) and len(precision) == 2:
        if all(isinstance(p, Precision) for p in precision):
            return Precision(precision[0]), Precision(precision[1])
        if all(isinstance(p, str) and p in _PRECISION_STRINGS for p in precision):
            return Precision(precision[0]), Precision(precision[1])
    raise ValueError(
        "Precision argument must be one of:\n"
        "- None,\n"
        f"- a string in {list(_PRECISION_STRINGS)},\n"
        "- a lax.Precision value,\n"
        "- a tuple of two lax.Precision values or strings,\n"
        "- a lax.DotAlgorithmPreset or the name of one of these presets, or\n"
        "- a lax.DotAlgorithm value;\n"
        f"but got {precision}."
    )


# ---------------------------------------------------------------------------------------------
# Shape rule


def _check_dims_in_range(side: str, ndim: int, contracting: Dims, batch: Dims) -> None:
    if not all(0 <= d < ndim for d in contracting + batch):
        raise TypeError(
            f"dot_general requires {side} dimension numbers to be nonnegative and less than the "
            f"number of axes of the {side} value, got {side}_batch of {batch} and "
            f"{side}_contracting of {contracting} for {side} of rank {ndim}"
        )


def _check_distinct(side: str, contracting: Dims, batch: Dims) -> None:
    if len(set(batch)) != len(batch):
        raise TypeError(
            f"dot_general requires {side} batch dimensions to be distinct, got "
            f"{side}_batch {batch}."
        )
    if len(set(contracting)) != len(contracting):
        raise TypeError(
            f"dot_general requires {side} contracting dimensions to be distinct, got "
            f"{side}_contracting {contracting}."
        )


def _check_disjoint(side: str, contracting: Dims, batch: Dims) -> None:
    if set(contracting) & set(batch):
        raise TypeError(
            f"dot_general requires {side} batch dimensions to be disjoint from contracting "
            f"dimensions, got {side}_batch {batch} and {side}_contracting {contracting}."
        )


def free_dims(ndim: int, contracting: Dims, batch: Dims) -> Dims:
    """The dims of one operand that are neither contracted nor batch dims, in order."""
    return tuple(d for d in range(ndim) if d not in contracting and d not in batch)


def swaps_free_dims(
    dimension_numbers: CanonicalDimensionNumbers, lhs_ndim: int, rhs_ndim: int,
    permutation: Sequence[int],
) -> bool:
    """Whether ``transpose(dot_general(a, b), permutation)`` is ``dot_general(b, a)`` with the
    dimension numbers swapped: the batch dims stay first and the permutation puts ``b``'s free
    dims before ``a``'s, each in order (both groups non-empty, so it is not the identity)."""
    (lc, rc), (lb, rb) = dimension_numbers
    nb, nl = len(lb), lhs_ndim - len(lc) - len(lb)
    nr = rhs_ndim - len(rc) - len(rb)
    swapped = (*range(nb), *range(nb + nl, nb + nl + nr), *range(nb, nb + nl))
    return nl > 0 and nr > 0 and tuple(permutation) == swapped


def _dot_general_shape(
    lhs: ShapedArray, rhs: ShapedArray, dimension_numbers: CanonicalDimensionNumbers
) -> tuple[int, ...]:
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    _check_dims_in_range("lhs", lhs.ndim, lhs_contract, lhs_batch)
    _check_dims_in_range("rhs", rhs.ndim, rhs_contract, rhs_batch)
    if len(lhs_batch) != len(rhs_batch):
        raise TypeError(
            "dot_general requires equal numbers of lhs_batch and rhs_batch dimensions, got "
            f"lhs_batch {lhs_batch} and rhs_batch {rhs_batch}."
        )
    _check_distinct("lhs", lhs_contract, lhs_batch)
    _check_distinct("rhs", rhs_contract, rhs_batch)
    _check_disjoint("lhs", lhs_contract, lhs_batch)
    _check_disjoint("rhs", rhs_contract, rhs_batch)
    batch_shape = tuple(lhs.shape[d] for d in lhs_batch)
    if batch_shape != tuple(rhs.shape[d] for d in rhs_batch):
        raise TypeError(
            "dot_general requires lhs batch dimensions and rhs batch dimensions to have the "
            f"same shape, got {batch_shape} and {tuple(rhs.shape[d] for d in rhs_batch)}."
        )
    lhs_sizes = tuple(lhs.shape[d] for d in lhs_contract)
    rhs_sizes = tuple(rhs.shape[d] for d in rhs_contract)
    if lhs_sizes != rhs_sizes:
        raise TypeError(
            "dot_general requires contracting dimensions to have the same shape, got "
            f"{lhs_sizes} and {rhs_sizes}."
        )
    lhs_free = tuple(lhs.shape[d] for d in free_dims(lhs.ndim, lhs_contract, lhs_batch))
    rhs_free = tuple(rhs.shape[d] for d in free_dims(rhs.ndim, rhs_contract, rhs_batch))
    return batch_shape + lhs_free + rhs_free


# ---------------------------------------------------------------------------------------------
# Dtype rule (XLA's HigherPrecisionType, then MaybeUpcast)


def _bit_width(dtype: DType) -> int:
    if dtypes.issubdtype(dtype, np.inexact):
        return int(dtypes.finfo(dtype).bits)
    if dtypes.issubdtype(dtype, np.integer):
        return int(dtypes.iinfo(dtype).bits)
    return 1  # bool


def _precision_rank(dtype: DType) -> tuple[bool, int, int, int, bool]:
    """XLA's order of element types: complex, exponent range, mantissa, width, signedness."""
    is_complex = dtypes.issubdtype(dtype, np.complexfloating)
    real = np.dtype(np.finfo(dtype).dtype) if is_complex else dtype
    is_float = dtypes.issubdtype(real, np.floating)
    return (
        is_complex,
        int(dtypes.finfo(real).maxexp) if is_float else -1,
        int(dtypes.finfo(real).nmant) if is_float else -1,
        _bit_width(real),
        not dtypes.issubdtype(real, np.unsignedinteger),
    )


def dot_result_dtype(lhs: DType, rhs: DType, preferred_element_type: DType | None) -> DType:
    """The element type of a dot: the more precise input type, or ``preferred_element_type``."""
    lhs_rank, rhs_rank = _precision_rank(lhs), _precision_rank(rhs)
    if lhs_rank == rhs_rank and lhs != rhs:
        raise TypeError(f"lax.dot_general argument type error: {lhs}, {rhs}")
    result = lhs if lhs_rank >= rhs_rank else rhs
    if preferred_element_type is None or preferred_element_type == result:
        return result
    narrower = _bit_width(preferred_element_type) < _bit_width(result)
    if not dtypes.issubdtype(result, np.floating) and narrower:
        raise TypeError(
            "`preferred_element_type` must not be narrower than the original type, got "
            f"preferred_element_type of {preferred_element_type} for result type of {result}."
        )
    return preferred_element_type


def _dot_general_rule(
    lhs: ShapedArray,
    rhs: ShapedArray,
    *,
    dimension_numbers: CanonicalDimensionNumbers,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> ShapedArray:
    shape = _dot_general_shape(lhs, rhs, dimension_numbers)
    dtype = dot_result_dtype(lhs.dtype, rhs.dtype, preferred_element_type)
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


dot_general_p = standard_primitive("dot_general", _dot_general_rule)


def _dot_general_display(params: Params) -> Params:
    """As JAX shows it: None params and the sharding left out, dimension numbers as lists."""
    shown = {k: v for k, v in params.items() if v is not None and k != "out_sharding"}
    (lc, rc), (lb, rb) = params["dimension_numbers"]
    shown["dimension_numbers"] = ((list(lc), list(rc)), (list(lb), list(rb)))
    return shown


display_rules[dot_general_p] = _dot_general_display


def _index_tuple(dims: Sequence[int] | int) -> Dims:
    return (int(dims),) if isinstance(dims, (int, np.integer)) else tuple(int(d) for d in dims)


def dot_general(
    lhs: ArrayLike,
    rhs: ArrayLike,
    dimension_numbers: DotDimensionNumbers,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    *,
    out_sharding: None = None,
) -> Array:
    """The general contraction: ``dimension_numbers = ((lhs_c, rhs_c), (lhs_b, rhs_b))``."""
    return dot(
        lhs,
        rhs,
        dimension_numbers=dimension_numbers,
        precision=precision,
        preferred_element_type=preferred_element_type,
        out_sharding=out_sharding,
    )


def dot(
    lhs: ArrayLike,
    rhs: ArrayLike,
    *,
    dimension_numbers: DotDimensionNumbers | None = None,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    out_sharding: None = None,
) -> Array:
    """A dot product; without ``dimension_numbers``, of vectors and matrices (``lhs @ rhs``)."""
    lhs_shape, rhs_shape = get_aval(lhs).shape, get_aval(rhs).shape
    if dimension_numbers is None:
        if not (1 <= len(lhs_shape) <= 2 and 1 <= len(rhs_shape) <= 2) or (
            lhs_shape[-1] != rhs_shape[0]
        ):
            raise ValueError(
                "jax.lax.dot: dimension_numbers must be specified when not performing simple "
                "un-batched matrix-matrix, matrix-vector, or vector-vector products; got "
                f"lhs_shape={lhs_shape} rhs_shape={rhs_shape}"
            )
        dimension_numbers = (((len(lhs_shape) - 1,), (0,)), ((), ()))
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    canonical = (
        (_index_tuple(lhs_contract), _index_tuple(rhs_contract)),
        (_index_tuple(lhs_batch), _index_tuple(rhs_batch)),
    )
    preferred = (
        None
        if preferred_element_type is None
        else dtypes.canonicalize_dtype(preferred_element_type)
    )
    return dot_general_p.bind(
        lhs,
        rhs,
        dimension_numbers=canonical,
        precision=canonicalize_precision(precision),
        preferred_element_type=preferred,
        out_sharding=out_sharding,
    )


# ---------------------------------------------------------------------------------------------
# Transformation rules: dot_general is bilinear


def _ranges_like(*groups: Sequence[int]) -> list[Dims]:
    """Consecutive ranges of the lengths of ``groups``: (0..n0-1), (n0..n0+n1-1), ..."""
    ranges, start = [], 0
    for group in groups:
        ranges.append(tuple(range(start, start + len(group))))
        start += len(group)
    return ranges


def _transpose_lhs(
    ct: Array,
    x_aval: ShapedArray,
    y: ArrayLike,
    dimension_numbers: CanonicalDimensionNumbers,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    swap_ans: bool = False,
) -> Array:
    """The cotangent of ``x`` in ``x . y`` (JAX's ``_dot_general_transpose_lhs``).

    Contract ``ct``'s y-free dims with y's free dims, batch over the batch dims; what remains
    is (batch, x free, x contracting in y's order), permuted back into x's layout.
    """
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = free_dims(x_aval.ndim, x_contract, x_batch)
    y_kept = free_dims(get_aval(y).ndim, y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    dims = ((ans_y, y_kept), (ans_batch, y_batch))
    x_contract_by_y = tuple(x_contract[i] for i in np.argsort(y_contract))
    out_axes = tuple(int(i) for i in np.argsort((*x_batch, *x_kept, *x_contract_by_y)))
    out = dot_general_p.bind(
        ct,
        y,
        dimension_numbers=dims,
        precision=precision,
        preferred_element_type=preferred_element_type,
        out_sharding=None,
    )
    x_bar = sh.transpose(out, out_axes)
    if get_aval(x_bar).dtype != x_aval.dtype:
        x_bar = ew.convert_element_type(x_bar, x_aval.dtype)
    return x_bar


def _swap(dimension_numbers: CanonicalDimensionNumbers) -> CanonicalDimensionNumbers:
    """The dimension numbers of ``rhs . lhs``."""
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    return (rhs_contract, lhs_contract), (rhs_batch, lhs_batch)


def _dot_general_transpose_lhs(
    ct: Array,
    lhs: UndefinedPrimal,
    rhs: ArrayLike,
    *,
    dimension_numbers: CanonicalDimensionNumbers,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> Cotangent:
    """The cotangent of ``lhs``: ``rhs`` contracted with ``ct``."""
    return _transpose_lhs(ct, lhs.aval, rhs, dimension_numbers, precision, preferred_element_type)


def _dot_general_transpose_rhs(
    ct: Array,
    lhs: ArrayLike,
    rhs: UndefinedPrimal,
    *,
    dimension_numbers: CanonicalDimensionNumbers,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> Cotangent:
    """The cotangent of ``rhs``: ``lhs`` contracted with ``ct`` (the lhs rule, swapped)."""
    swapped = _swap(dimension_numbers)
    return _transpose_lhs(
        ct, rhs.aval, lhs, swapped, precision, preferred_element_type, swap_ans=True
    )


defbilinear(dot_general_p, _dot_general_transpose_lhs, _dot_general_transpose_rhs)


def _bump(dims: Dims, inserted: int) -> Dims:
    """``dims`` renumbered after a new axis is inserted at ``inserted``."""
    return tuple(d + (d >= inserted) for d in dims)


def batched_dimension_numbers(
    ndims: tuple[int, int], batch_dims: tuple[BatchDim, BatchDim], dnums: CanonicalDimensionNumbers
) -> tuple[CanonicalDimensionNumbers, int]:
    """Dimension numbers for the batched operands, and where the output's batch axis lands.

    Both sides batched: the vmapped axes become a leading batch dimension of the dot (output
    axis 0). One side batched: its vmapped axis is one more free dimension of that side, and
    lands among that side's free dims in the output. Operands are never transposed.
    """
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dnums
    lbd, rbd = batch_dims
    if lbd is not None and rbd is not None:
        lhs_batch = (lbd, *_bump(lhs_batch, lbd))
        rhs_batch = (rbd, *_bump(rhs_batch, rbd))
        new = (_bump(lhs_contract, lbd), _bump(rhs_contract, rbd)), (lhs_batch, rhs_batch)
        return new, 0
    if lbd is not None:
        lhs_free = free_dims(ndims[0], lhs_contract, lhs_batch)
        out_dim = len(lhs_batch) + sum(1 for d in lhs_free if d < lbd)
        new = (_bump(lhs_contract, lbd), rhs_contract), (_bump(lhs_batch, lbd), rhs_batch)
        return new, out_dim
    assert rbd is not None
    rhs_free = free_dims(ndims[1], rhs_contract, rhs_batch)
    out_dim = ndims[0] - len(lhs_contract) + sum(1 for d in rhs_free if d < rbd)
    new = (lhs_contract, _bump(rhs_contract, rbd)), (lhs_batch, _bump(rhs_batch, rbd))
    return new, out_dim


def _dot_general_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    dimension_numbers: CanonicalDimensionNumbers,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> tuple[list[Array], list[int]]:
    """The vmapped axis as a batch dimension (both sides) or a free dimension (one side)."""
    lhs, rhs = args
    ndims = (get_aval(lhs).ndim, get_aval(rhs).ndim)
    dnums, out_dim = batched_dimension_numbers(ndims, (dims[0], dims[1]), dimension_numbers)
    out = dot_general_p.bind(
        lhs,
        rhs,
        dimension_numbers=dnums,
        precision=precision,
        preferred_element_type=preferred_element_type,
        out_sharding=out_sharding,
    )
    return [out], [out_dim]


batching_rules[dot_general_p] = _dot_general_batch
