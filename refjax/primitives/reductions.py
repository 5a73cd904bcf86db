"""Reduction primitives: monoid reductions over axes, arg-reductions, cumulative reductions.

A reduction over an axis of size 0 gives the monoid's identity (0 for sums, 1 for products, -inf or
the least integer for max, all ones for bitwise and ...), as XLA's ``Reduce`` does. Integer sums and
products keep their dtype and wrap around. ``reduce_max``/``reduce_min`` propagate NaN;
``argmax``/``argmin`` count NaN as the extreme value and pick the first index on ties.

Derivatives follow JAX: ``reduce_max``/``reduce_min`` share the tangent equally among the
locations of the extreme value; ``reduce_prod`` multiplies each tangent by the product of the
other factors (exact at zeros); the cumulative products, maxima, minima and logsumexps are
differentiated through the parallel prefix scan that defines them; integer-valued reductions
(logical ones, argmax/argmin) have zero derivative. Batching shifts the reduced axes around the
batch axis, which never moves.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TypeAlias

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import BatchDim, batching_rules
from refjax.interp.core import (
    Array,
    ArrayLike,
    ParamValue,
    Primitive,
    ShapedArray,
    as_array,
    get_aval,
)
from refjax.interp.jvp import (
    Tangent,
    defjvp,
    defjvp2,
    defjvp_zero,
    instantiate,
    jvp_rules,
    zeros_like_aval,
)
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2

# Families use each other's operations inside rules; module imports keep the cycle harmless.
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives import transcendental as tr
from refjax.primitives.common import (
    ANY,
    FLOATING,
    NUMBER,
    ScalarKind,
    ShapeRule,
    check_dtype,
    standard_primitive,
)

__all__ = [
    "argmax",
    "argmax_p",
    "argmin",
    "argmin_p",
    "cumlogsumexp",
    "cumlogsumexp_p",
    "cummax",
    "cummax_p",
    "cummin",
    "cummin_p",
    "cumprod",
    "cumprod_p",
    "cumsum",
    "cumsum_p",
    "reduce_and",
    "reduce_and_p",
    "reduce_max",
    "reduce_max_p",
    "reduce_min",
    "reduce_min_p",
    "reduce_or",
    "reduce_or_p",
    "reduce_prod",
    "reduce_prod_p",
    "reduce_sum",
    "reduce_sum_p",
    "reduce_xor",
    "reduce_xor_p",
]


def _aval_text(aval: ShapedArray) -> str:
    """JAX's ``str`` of an aval: ``float32[2,3]``, with ``~`` in front when weakly typed."""
    weak = "~" if aval.weak_type else ""
    return f"{weak}{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def reduced_shape(operand: ShapedArray, axes: tuple[int, ...]) -> tuple[int, ...]:
    """``operand``'s shape without ``axes``; JAX's ValueError for repeated or out-of-range axes."""
    if len(axes) != len(set(axes)):
        raise ValueError(f"duplicate value in 'axes' of reduction: {axes}")
    if not all(0 <= a < operand.ndim for a in axes):
        raise ValueError(
            f"reduction axes {axes} contains out-of-bounds indices for {_aval_text(operand)}."
        )
    return tuple(d for i, d in enumerate(operand.shape) if i not in axes)


def _axes(axes: Sequence[int]) -> tuple[int, ...]:
    return tuple(operator.index(a) for a in axes)


def defreducer(prim: Primitive) -> None:
    """Batching for a reduction over ``axes``: the axes shift past the batch axis, which stays."""

    def rule(
        args: Sequence[ArrayLike],
        dims: Sequence[BatchDim],
        *,
        axes: tuple[int, ...],
        **params: ParamValue,
    ) -> tuple[list[Array], list[int]]:
        (x,), (d,) = args, dims
        assert d is not None
        shifted = tuple(a + (a >= d) for a in axes)
        return [prim.bind(x, axes=shifted, **params)], [d - sum(a < d for a in axes)]

    batching_rules[prim] = rule


# ---------------------------------------------------------------------------------------------
# Monoid reductions over axes


def _reduce_rule(name: str, accepted: Sequence[ScalarKind]) -> ShapeRule:
    """Abstract eval of ``reduce_<op>``: axes removed, dtype and weak type kept."""

    def rule(
        operand: ShapedArray, *, axes: tuple[int, ...], out_sharding: None = None
    ) -> ShapedArray:
        shape = reduced_shape(operand, axes)
        check_dtype(name, operand, accepted)
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    return rule


def _logical_reduce_rule(operand: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    """Abstract eval of ``reduce_and``/``or``/``xor``: bool or integer operands, strong result."""
    shape = reduced_shape(operand, axes)
    if not (operand.dtype == dtypes.bool_ or np.issubdtype(operand.dtype, np.integer)):
        raise TypeError(
            f"logical reduction requires operand dtype bool or int, got {operand.dtype.name}."
        )
    return ShapedArray(shape, operand.dtype, False)


reduce_sum_p = standard_primitive("reduce_sum", _reduce_rule("reduce_sum", NUMBER))


def reduce_sum(operand: ArrayLike, axes: Sequence[int], *, out_sharding: None = None) -> Array:
    """The sum over ``axes`` (no upcasting: integer sums wrap around)."""
    return reduce_sum_p.bind(operand, axes=_axes(axes), out_sharding=None)




def _reduce_sum_transpose(
    ct: Array, operand: ArrayLike | UndefinedPrimal, *, axes: tuple[int, ...], out_sharding: None
) -> list[Cotangent | None]:
    """Broadcast the cotangent back along the summed axes."""
    assert isinstance(operand, UndefinedPrimal)
    shape = operand.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [sh.broadcast_in_dim(ct, shape, kept)]


deflinear2(reduce_sum_p, _reduce_sum_transpose)
defreducer(reduce_sum_p)


reduce_prod_p = standard_primitive("reduce_prod", _reduce_rule("reduce_prod", NUMBER))


def reduce_prod(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """The product over ``axes`` (no upcasting: integer products wrap around)."""
    return reduce_prod_p.bind(operand, axes=_axes(axes))


def _axes_to_front(x: ArrayLike, axes: tuple[int, ...]) -> Array:
    """``x`` with ``axes`` moved to the front and flattened into one (size 1 if none)."""
    shape = get_aval(x).shape
    kept = [i for i in range(len(shape)) if i not in axes]
    rows = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    return sh.reshape(x, (rows, *(shape[i] for i in kept)), (*axes, *kept))


def _exclusive_cumprod(x: Array, reverse: bool) -> Array:
    """Products of the elements strictly before (``reverse``: after) each one along axis 0."""
    edge = (-1, 1, 0) if reverse else (1, -1, 0)
    config = (edge, *((0, 0, 0),) * (x.ndim - 1))
    return sh.pad(cumprod(x, 0, reverse), np.ones((), x.dtype), config)


def _reduce_prod_jvp(t: Array, x: ArrayLike, *, axes: tuple[int, ...]) -> Array:
    """``sum_i t_i * prod_{j != i} x_j``, the other factors as products before and after i."""
    xs, ts = _axes_to_front(x, axes), _axes_to_front(t, axes)
    others = ew.mul(_exclusive_cumprod(xs, False), _exclusive_cumprod(xs, True))
    return reduce_sum(ew.mul(ts, others), (0,))


defjvp(reduce_prod_p, _reduce_prod_jvp)
defreducer(reduce_prod_p)


def _reduce_chooser_jvp(t: Array, ans: Array, x: ArrayLike, *, axes: tuple[int, ...]) -> Array:
    """The mean of the tangents at the locations of the extreme value (ties share equally)."""
    shape = tuple(1 if i in axes else d for i, d in enumerate(get_aval(x).shape))
    location = ew.convert_element_type(ew.eq(x, sh.reshape(ans, shape)), t.dtype)
    return ew.div(reduce_sum(ew.mul(t, location), axes), reduce_sum(location, axes))


reduce_max_p = standard_primitive("reduce_max", _reduce_rule("reduce_max", ANY))


def reduce_max(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """The maximum over ``axes``; NaN if any element is NaN; -inf (least int) if empty."""
    return reduce_max_p.bind(operand, axes=_axes(axes))


defjvp2(reduce_max_p, _reduce_chooser_jvp)
defreducer(reduce_max_p)


reduce_min_p = standard_primitive("reduce_min", _reduce_rule("reduce_min", ANY))


def reduce_min(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """The minimum over ``axes``; NaN if any element is NaN; inf (greatest int) if empty."""
    return reduce_min_p.bind(operand, axes=_axes(axes))


defjvp2(reduce_min_p, _reduce_chooser_jvp)
defreducer(reduce_min_p)


reduce_and_p = standard_primitive("reduce_and", _logical_reduce_rule)


def reduce_and(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Bitwise (for bools, logical) AND over ``axes``; all ones if empty."""
    return reduce_and_p.bind(operand, axes=_axes(axes))


defjvp_zero(reduce_and_p)
defreducer(reduce_and_p)


reduce_or_p = standard_primitive("reduce_or", _logical_reduce_rule)


def reduce_or(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Bitwise (for bools, logical) OR over ``axes``; zero if empty."""
    return reduce_or_p.bind(operand, axes=_axes(axes))


defjvp_zero(reduce_or_p)
defreducer(reduce_or_p)


reduce_xor_p = standard_primitive("reduce_xor", _logical_reduce_rule)


def reduce_xor(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Bitwise (for bools, logical) XOR over ``axes``; zero if empty."""
    return reduce_xor_p.bind(operand, axes=_axes(axes))


defjvp_zero(reduce_xor_p)
defreducer(reduce_xor_p)


# ---------------------------------------------------------------------------------------------
# Arg-reductions


def _argminmax_rule(name: str) -> ShapeRule:
    """Abstract eval of ``argmax``/``argmin``: one non-empty axis removed, integer indices."""

    def rule(operand: ShapedArray, *, axes: tuple[int, ...], index_dtype: DType) -> ShapedArray:
        (axis,) = axes
        if not 0 <= axis < operand.ndim:
            raise ValueError(f"Invalid axis {axis} for operand shape {operand.shape}")
        if operand.shape[axis] < 1:
            raise ValueError(
                "argmin and argmax require non-empty reduced dimension. "
                f"operand.shape={operand.shape} axis={axis}"
            )
        check_dtype(name, operand, ANY)
        if not np.issubdtype(index_dtype, np.integer):
            raise TypeError(
                f"index_dtype must be an integer type, but got {np.dtype(index_dtype).name}"
            )
        shape = operand.shape[:axis] + operand.shape[axis + 1 :]
        return ShapedArray(shape, index_dtype, False)

    return rule


argmax_p = standard_primitive("argmax", _argminmax_rule("argmax"))


def argmax(operand: ArrayLike, axis: int, index_dtype: DTypeLike) -> Array:
    """Index of the greatest element along ``axis`` (the first one; NaN counts as greatest)."""
    dtype = dtypes.canonicalize_dtype(index_dtype)
    return argmax_p.bind(operand, axes=(operator.index(axis),), index_dtype=dtype)


defjvp_zero(argmax_p)
defreducer(argmax_p)


argmin_p = standard_primitive("argmin", _argminmax_rule("argmin"))


def argmin(operand: ArrayLike, axis: int, index_dtype: DTypeLike) -> Array:
    """Index of the least element along ``axis`` (the first one; NaN counts as least)."""
    dtype = dtypes.canonicalize_dtype(index_dtype)
    return argmin_p.bind(operand, axes=(operator.index(axis),), index_dtype=dtype)


defjvp_zero(argmin_p)
defreducer(argmin_p)


# ---------------------------------------------------------------------------------------------
# Cumulative reductions


def _cumulative_rule(name: str, accepted: Sequence[ScalarKind]) -> ShapeRule:
    """Abstract eval of ``cum<op>``: shape, dtype and weak type kept; one non-negative axis."""

    def rule(operand: ShapedArray, *, axis: int, reverse: bool) -> ShapedArray:
        if axis < 0:
            raise ValueError("XLA operations do not allow negative axes")
        if axis >= operand.ndim:
            raise ValueError(f"axis {axis} is out of bounds for array of shape {operand.shape}")
        check_dtype(name, operand, accepted)
        return operand

    return rule


def _defcumulative_batching(prim: Primitive) -> None:
    """Batching for a cumulative reduction: its axis shifts past the batch axis, which stays."""

    def rule(
        args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, axis: int, reverse: bool
    ) -> tuple[list[Array], list[int]]:
        (x,), (d,) = args, dims
        assert d is not None
        return [prim.bind(x, axis=axis + (axis >= d), reverse=reverse)], [d]

    batching_rules[prim] = rule


# combine(a, b) -> c for parallel lists of arrays (here: a running value and its tangent).
Combine: TypeAlias = Callable[[Sequence[ArrayLike], Sequence[ArrayLike]], list[Array]]


def _associative_scan(
    combine: Combine, elems: Sequence[ArrayLike], axis: int, reverse: bool
) -> list[Array]:
    """Running ``combine`` of ``elems`` along ``axis``: JAX's parallel prefix scan, step by step."""
    if reverse:
        elems = [sh.rev(e, (axis,)) for e in elems]
    scans = _prefix_scan(combine, elems, axis)
    return [sh.rev(s, (axis,)) for s in scans] if reverse else scans


def _prefix_scan(combine: Combine, elems: Sequence[ArrayLike], axis: int) -> list[Array]:
    """Combine neighbouring pairs and scan those (the odd positions), then fill in the even ones."""
    n = get_aval(elems[0]).shape[axis]
    if n < 2:
        return [as_array(e) for e in elems]

    def every_other(xs: Sequence[ArrayLike], start: int, stop: int | None = None) -> list[Array]:
        return [sl.slice_in_dim(x, start, stop, 2, axis) for x in xs]

    odd = _prefix_scan(combine, combine(every_other(elems, 0, -1), every_other(elems, 1)), axis)
    before = odd if n % 2 else [sl.slice_in_dim(o, 0, -1, axis=axis) for o in odd]
    even = combine(before, every_other(elems, 2))
    firsts = [sl.slice_in_dim(e, 0, 1, axis=axis) for e in elems]
    even = [sh.concatenate([f, r], axis) for f, r in zip(firsts, even, strict=True)]
    return [_interleave(e, o, axis) for e, o in zip(even, odd, strict=True)]


def _interleave(a: Array, b: Array, axis: int) -> Array:
    """``a[0], b[0], a[1], b[1], ...`` along ``axis`` (``a`` may be one longer than ``b``)."""
    extra = a.shape[axis] - b.shape[axis]
    a_config = [(0, 0, 0)] * a.ndim
    b_config = [(0, 0, 0)] * b.ndim
    a_config[axis] = (0, 1 - extra, 1)
    b_config[axis] = (1, extra, 1)
    return ew.add(sh.pad(a, _zero_scalar(a), a_config), sh.pad(b, _zero_scalar(b), b_config))


def _zero_scalar(x: ArrayLike) -> Array:
    """A scalar zero of ``x``'s dtype and weak type."""
    return zeros_like_aval(get_aval(x).update(shape=()))


def _scan_jvp(combine_pairs: Combine) -> Callable[..., tuple[list[Array], list[Array]]]:
    """The JVP of a cumulative reduction: scan (value, tangent) pairs with ``combine_pairs``."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, axis: int, reverse: bool
    ) -> tuple[list[Array], list[Array]]:
        (x,), (t,) = primals, tangents
        out, t_out = _associative_scan(combine_pairs, [x, instantiate(t)], axis, reverse)
        return [out], [t_out]

    return rule


def _mul_pairs(a: Sequence[ArrayLike], b: Sequence[ArrayLike]) -> list[Array]:
    """``(x, tx) * (y, ty) = (x y, tx y + x ty)``."""
    (x, tx), (y, ty) = a, b
    return [ew.mul(x, y), ew.add(ew.mul(tx, y), ew.mul(x, ty))]


def _balanced_eq(x: ArrayLike, z: Array, y: ArrayLike) -> Array:
    """1 where ``x`` alone attains ``z``, 1/2 where ``x`` and ``y`` tie there, else 0 (as JAX)."""
    hit = ew.convert_element_type(ew.eq(x, z), z.dtype)
    tie = ew.convert_element_type(ew.eq(y, z), z.dtype)
    return ew.div(hit, ew.add(tie, np.ones((), z.dtype)))


def _chooser_pairs(choose: Callable[[ArrayLike, ArrayLike], Array]) -> Combine:
    """``max``/``min`` of (value, tangent) pairs: the chosen tangent, ties split in half."""

    def combine(a: Sequence[ArrayLike], b: Sequence[ArrayLike]) -> list[Array]:
        (x, tx), (y, ty) = a, b
        z = choose(x, y)
        return [z, ew.add(ew.mul(tx, _balanced_eq(x, z, y)), ew.mul(ty, _balanced_eq(y, z, x)))]

    return combine


def _logaddexp(x: ArrayLike, y: ArrayLike) -> Array:
    """``log(exp(x) + exp(y))`` without overflow; ``x + y`` where ``x - y`` is NaN."""
    delta = ew.sub(x, y)
    stable = ew.add(ew.max(x, y), tr.log1p(tr.exp(ew.neg(ew.abs(delta)))))
    return ew.select_n(ew.ne(delta, delta), stable, ew.add(x, y))


def _replace_inf(x: ArrayLike) -> Array:
    """``x`` with +inf read as 0."""
    aval = get_aval(x)
    zeros = sh.broadcast_in_dim(_zero_scalar(x), aval.shape, ())
    return ew.select_n(ew.eq(x, np.array(np.inf, aval.dtype)), x, zeros)


def _logaddexp_pairs(a: Sequence[ArrayLike], b: Sequence[ArrayLike]) -> list[Array]:
    """``logaddexp`` of (value, tangent) pairs: tangents weighted by ``exp(x - z)`` (JAX's rule)."""
    (x, tx), (y, ty) = a, b
    z = _logaddexp(x, y)
    wx = tr.exp(ew.sub(_replace_inf(x), _replace_inf(z)))
    wy = tr.exp(ew.sub(_replace_inf(y), _replace_inf(z)))
    return [z, ew.add(ew.mul(tx, wx), ew.mul(ty, wy))]


cumsum_p = standard_primitive("cumsum", _cumulative_rule("cumsum", NUMBER))


def cumsum(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running sums along ``axis`` (from the end when ``reverse``)."""
    return cumsum_p.bind(operand, axis=int(axis), reverse=bool(reverse))




def _cumsum_transpose(
    ct: Array, operand: ArrayLike | UndefinedPrimal, *, axis: int, reverse: bool
) -> list[Cotangent | None]:
    """Running sums in the other direction."""
    return [cumsum(ct, axis, not reverse)]


deflinear2(cumsum_p, _cumsum_transpose)
_defcumulative_batching(cumsum_p)


cumprod_p = standard_primitive("cumprod", _cumulative_rule("cumprod", NUMBER))


def cumprod(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running products along ``axis`` (from the end when ``reverse``)."""
    return cumprod_p.bind(operand, axis=int(axis), reverse=bool(reverse))


jvp_rules[cumprod_p] = _scan_jvp(_mul_pairs)
_defcumulative_batching(cumprod_p)


cummax_p = standard_primitive("cummax", _cumulative_rule("cummax", NUMBER))


def cummax(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running maxima along ``axis`` (NaN propagates)."""
    return cummax_p.bind(operand, axis=int(axis), reverse=bool(reverse))


jvp_rules[cummax_p] = _scan_jvp(_chooser_pairs(ew.max))
_defcumulative_batching(cummax_p)


cummin_p = standard_primitive("cummin", _cumulative_rule("cummin", NUMBER))


def cummin(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running minima along ``axis`` (NaN propagates)."""
    return cummin_p.bind(operand, axis=int(axis), reverse=bool(reverse))


jvp_rules[cummin_p] = _scan_jvp(_chooser_pairs(ew.min))
_defcumulative_batching(cummin_p)


# JAX accepts integers here too, then fails while lowering; refjax rejects them up front.
cumlogsumexp_p = standard_primitive("cumlogsumexp", _cumulative_rule("cumlogsumexp", FLOATING))


def cumlogsumexp(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
    """Running ``log(sum(exp(x)))`` along ``axis``, computed without overflow."""
    return cumlogsumexp_p.bind(operand, axis=int(axis), reverse=bool(reverse))


jvp_rules[cumlogsumexp_p] = _scan_jvp(_logaddexp_pairs)
_defcumulative_batching(cumlogsumexp_p)
