"""Lowering: each elementwise, view and reduction primitive as an expression of the kernel IR.

A :class:`Builder` holds one growing, hash-consed body (equal expressions get one position, so
shared subexpressions are computed once). A :class:`Sym` is a value under construction: a body
position together with the index space (shape) it is computed over.

View primitives (broadcast, transpose, slice, rev, squeeze, reshape) move no data: they rebuild
the value's expression over the new index space, rewriting the affine index of every load and
iota beneath it. A reshape that is not affine in the loads' strides raises :class:`NotAffine`, and
the caller materialises the operand first (a dense buffer reshapes affinely). ``pad`` (without
interior padding) and ``concatenate`` are views too: each operand is shifted into place with
clamped loads (always inside their buffers) and selected where its index range holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Protocol

import numpy as np

from refjax.backends.kernels.ir import (
    COMPARISONS,
    INDEX32,
    INDEX64,
    LEAVES,
    Affine,
    Binary,
    BinaryOp,
    Cast,
    Const,
    Expr,
    Index,
    Load,
    Reduced,
    Select,
    Unary,
    UnaryOp,
    is_kernel_dtype,
    operands,
    reached,
    with_operands,
)
from refjax.backends.numpy_impls.reductions import max_identity, min_identity
from refjax.dtypes import DType
from refjax.interp import ad_util
from refjax.interp.core import Params, Primitive, ShapedArray
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives import transcendental as tr

BOOL: Final = np.dtype(np.bool_)


class NotAffine(Exception):
    """A view whose index is not an affine function of the new index space."""


@dataclass(frozen=True, slots=True)
class Sym:
    """Body position ``id`` of a builder, computed over the index space ``shape``."""

    id: int
    shape: tuple[int, ...]
    dtype: DType


@dataclass(frozen=True, slots=True)
class Meta:
    """What a body position depends on: reductions, buffers, and its depth in ops (a cost)."""

    reductions: frozenset[int]
    buffers: frozenset[int]
    cost: int


class Builder:
    """A growing SSA body with hash-consing: adding an existing expression returns its position."""

    def __init__(self) -> None:
        self.body: list[Expr] = []
        self.meta: list[Meta] = []
        self._ids: dict[Expr, int] = {}

    def add(self, expr: Expr) -> int:
        """The position of ``expr`` in the body (appended if new)."""
        found = self._ids.get(expr)
        if found is not None:
            return found
        self.body.append(expr)
        self.meta.append(self._meta(expr))
        self._ids[expr] = len(self.body) - 1
        return len(self.body) - 1

    def _meta(self, expr: Expr) -> Meta:
        if isinstance(expr, Reduced):
            return Meta(frozenset({expr.reduction}), frozenset(), 0)
        if isinstance(expr, Load):
            return Meta(frozenset(), frozenset({expr.buffer}), 0)
        parts = [self.meta[i] for i in operands(expr)]
        if not parts:
            return Meta(frozenset(), frozenset(), 0)
        return Meta(
            frozenset().union(*(p.reductions for p in parts)),
            frozenset().union(*(p.buffers for p in parts)),
            1 + max(p.cost for p in parts),
        )

    # -- building values -------------------------------------------------------------------
    def leaf(self, expr: Expr, shape: tuple[int, ...]) -> Sym:
        """A leaf expression as a value over ``shape``."""
        return Sym(self.add(expr), shape, expr.dtype)

    def const(self, value: bool | int | float, dtype: DType, shape: tuple[int, ...]) -> Sym:
        """A constant over ``shape``."""
        return self.leaf(Const(_scalar(value, dtype), dtype), shape)

    def unary(self, op: UnaryOp, x: Sym) -> Sym:
        """``op(x)``; the result keeps x's dtype, except ``is_finite`` (bool)."""
        dtype = BOOL if op is UnaryOp.IS_FINITE else x.dtype
        return Sym(self.add(Unary(op, x.id, dtype)), x.shape, dtype)

    def binary(self, op: BinaryOp, x: Sym, y: Sym) -> Sym:
        """``op(x, y)`` on values over the same space; comparisons give bool."""
        dtype = BOOL if op in COMPARISONS else x.dtype
        return Sym(self.add(Binary(op, x.id, y.id, dtype)), x.shape, dtype)

    def select(self, pred: Sym, on_true: Sym, on_false: Sym) -> Sym:
        """``on_true`` where ``pred`` holds, else ``on_false``."""
        expr = Select(pred.id, on_true.id, on_false.id, on_true.dtype)
        return Sym(self.add(expr), on_true.shape, on_true.dtype)

    def cast(self, x: Sym, dtype: DType) -> Sym:
        """``x`` converted to ``dtype`` (the same value if it already has it)."""
        if x.dtype == dtype:
            return x
        return Sym(self.add(Cast(x.id, dtype)), x.shape, dtype)

    def load(self, buffer: int, shape: tuple[int, ...], dtype: DType) -> Sym:
        """The whole of a dense row-major buffer of ``shape``."""
        return self.leaf(Load(buffer, dense_affine(shape), dtype), shape)

    def reached(self, roots: Sequence[int]) -> list[int]:
        """Every body position the ``roots`` depend on, in body (topological) order."""
        return sorted(reached(self.body, roots))

    # -- views ---------------------------------------------------------------------------
    def reindex(
        self, x: Sym, shape: tuple[int, ...], remap: Callable[[Affine], Affine | None]
    ) -> Sym:
        """``x`` rebuilt over ``shape``, every load/iota index rewritten by ``remap``."""

        def leaf(expr: Expr) -> Expr:
            if isinstance(expr, Reduced):
                raise NotAffine("a reduced value is not viewed inside its own kernel")
            if isinstance(expr, Load | Index):
                affine = remap(expr.index)
                if affine is None:
                    raise NotAffine(f"index {expr.index} is not affine after the view")
                return replace(expr, index=affine)
            return expr

        return self.rebuild(x, shape, leaf)

    def rebuild(self, x: Sym, shape: tuple[int, ...], leaf: Callable[[Expr], Expr]) -> Sym:
        """``x`` over ``shape`` with every leaf beneath it replaced by ``leaf(expr)``."""
        new: dict[int, int] = {}
        for i in self.reached([x.id]):
            expr = self.body[i]
            if isinstance(expr, LEAVES):
                new[i] = self.add(leaf(expr))
            else:
                new[i] = self.add(with_operands(expr, [new[j] for j in operands(expr)]))
        return Sym(new[x.id], shape, x.dtype)


def _scalar(value: bool | int | float, dtype: DType) -> bool | int | float:
    """``value`` as the Python scalar of ``dtype`` (a canonical, hashable constant)."""
    item: bool | int | float = np.asarray(value).astype(dtype).item()
    return item


def dense_affine(shape: tuple[int, ...]) -> Affine:
    """The row-major index of a dense array of ``shape`` (0 strides on size-1 axes)."""
    strides: list[int] = []
    step = 1
    for size in reversed(shape):
        strides.append(step if size != 1 else 0)
        step *= size
    return Affine(0, tuple(reversed(strides)))


@dataclass(frozen=True, slots=True)
class LinearView:
    """old index ``k`` = ``offsets[k] + sum_j matrix[k][j] * new index j`` (``width`` new axes)."""

    offsets: tuple[int, ...]
    matrix: tuple[tuple[int, ...], ...]
    width: int

    def apply(self, affine: Affine) -> Affine:
        """An affine function of the old index, rewritten over the new index."""
        pairs = list(zip(affine.strides, self.offsets, strict=True))
        offset = affine.offset + sum(s * o for s, o in pairs)
        strides = tuple(
            sum(s * row[j] for s, row in zip(affine.strides, self.matrix, strict=True))
            for j in range(self.width)
        )
        return Affine(offset, strides)


def _unit(j: int, n: int, coeff: int = 1) -> tuple[int, ...]:
    return tuple(coeff if k == j else 0 for k in range(n))


def broadcast_view(
    old: tuple[int, ...], new: tuple[int, ...], dims: Sequence[int]
) -> Callable[[Affine], Affine]:
    """Old axis k becomes new axis ``dims[k]``; size-1 old axes stretch (stride 0)."""
    rows = tuple(
        _unit(d, len(new), 0 if size == 1 else 1) for size, d in zip(old, dims, strict=True)
    )
    return LinearView((0,) * len(old), rows, len(new)).apply


def stretch(b: Builder, x: Sym, shape: tuple[int, ...]) -> Sym:
    """``x`` broadcast to ``shape`` by lax's n-ary rule (rank 0, or size-1 axes stretching)."""
    if x.shape == shape:
        return x
    if not x.shape:
        return b.reindex(x, shape, lambda a: Affine(a.offset, (0,) * len(shape)))
    return b.reindex(x, shape, broadcast_view(x.shape, shape, range(len(shape))))


def transpose_view(
    x: Sym, perm: Sequence[int]
) -> tuple[tuple[int, ...], Callable[[Affine], Affine]]:
    """The shape and index map of ``transpose(x, perm)``: new axis j is old axis perm[j]."""
    n = len(perm)
    rows = tuple(_unit(list(perm).index(k), n) for k in range(n))
    shape = tuple(x.shape[p] for p in perm)
    return shape, LinearView((0,) * n, rows, n).apply


def reshape_strides(
    old: tuple[int, ...], strides: tuple[int, ...], new: tuple[int, ...]
) -> tuple[int, ...] | None:
    """Strides over ``new`` giving the same elements in row-major order, or None (not affine)."""
    if math.prod(old) == 0:
        return (0,) * len(new)
    old_dims = [(n, s) for n, s in zip(old, strides, strict=True) if n != 1]
    new_dims = [j for j, n in enumerate(new) if n != 1]
    out = [0] * len(new)
    oi = ni = 0
    while oi < len(old_dims) and ni < len(new_dims):
        oj, nj = oi + 1, ni + 1
        op, np_ = old_dims[oi][0], new[new_dims[ni]]
        while op != np_:
            if op < np_:
                op *= old_dims[oj][0]
                oj += 1
            else:
                np_ *= new[new_dims[nj]]
                nj += 1
        for k in range(oi, oj - 1):
            if old_dims[k][1] != old_dims[k + 1][1] * old_dims[k + 1][0]:
                return None
        step = old_dims[oj - 1][1]
        for k in range(nj - 1, ni - 1, -1):
            out[new_dims[k]] = step
            step *= new[new_dims[k]]
        oi, ni = oj, nj
    return tuple(out)


def reshape(b: Builder, x: Sym, shape: tuple[int, ...]) -> Sym:
    """``x`` reshaped (row-major); NotAffine if some load's strides do not allow it."""
    if shape == x.shape:
        return x

    def remap(affine: Affine) -> Affine | None:
        strides = reshape_strides(x.shape, affine.strides, shape)
        return None if strides is None else Affine(affine.offset, strides)

    return b.reindex(x, shape, remap)


# ---------------------------------------------------------------------------------------------
# The lowering table: primitive -> rule(builder, operands, params, out_aval) -> value


class LowerRule(Protocol):
    """Builds the IR value of one primitive application from its operands' values."""

    def __call__(
        self, b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray
    ) -> Sym: ...


lowerings: dict[Primitive, LowerRule] = {}
VIEWS: Final[set[Primitive]] = set()


def _unary_rule(op: UnaryOp) -> LowerRule:
    def rule(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
        return b.unary(op, args[0])

    return rule


def _binary_rule(op: BinaryOp) -> LowerRule:
    def rule(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
        x, y = (stretch(b, a, out.shape) for a in args)
        return b.binary(op, x, y)

    return rule


for _prim, _op in [
    (ew.neg_p, UnaryOp.NEG),
    (ew.sign_p, UnaryOp.SIGN),
    (ew.floor_p, UnaryOp.FLOOR),
    (ew.ceil_p, UnaryOp.CEIL),
    (ew.is_finite_p, UnaryOp.IS_FINITE),
    (ew.abs_p, UnaryOp.ABS),
    (ew.not_p, UnaryOp.NOT),
    (ew.population_count_p, UnaryOp.POPULATION_COUNT),
    (ew.clz_p, UnaryOp.CLZ),
    (tr.exp_p, UnaryOp.EXP),
    (tr.exp2_p, UnaryOp.EXP2),
    (tr.log_p, UnaryOp.LOG),
    (tr.log1p_p, UnaryOp.LOG1P),
    (tr.expm1_p, UnaryOp.EXPM1),
    (tr.tanh_p, UnaryOp.TANH),
    (tr.sin_p, UnaryOp.SIN),
    (tr.cos_p, UnaryOp.COS),
    (tr.tan_p, UnaryOp.TAN),
    (tr.asin_p, UnaryOp.ASIN),
    (tr.acos_p, UnaryOp.ACOS),
    (tr.atan_p, UnaryOp.ATAN),
    (tr.sinh_p, UnaryOp.SINH),
    (tr.cosh_p, UnaryOp.COSH),
    (tr.asinh_p, UnaryOp.ASINH),
    (tr.acosh_p, UnaryOp.ACOSH),
    (tr.atanh_p, UnaryOp.ATANH),
    (tr.sqrt_p, UnaryOp.SQRT),
    (tr.cbrt_p, UnaryOp.CBRT),
    (tr.erf_p, UnaryOp.ERF),
    (tr.erfc_p, UnaryOp.ERFC),
    (tr.lgamma_p, UnaryOp.LGAMMA),
]:
    lowerings[_prim] = _unary_rule(_op)

for _prim, _bop in [
    (ew.add_p, BinaryOp.ADD),
    (ad_util.add_any_p, BinaryOp.ADD),
    (ew.sub_p, BinaryOp.SUB),
    (ew.mul_p, BinaryOp.MUL),
    (ew.div_p, BinaryOp.DIV),
    (ew.rem_p, BinaryOp.REM),
    (ew.max_p, BinaryOp.MAX),
    (ew.min_p, BinaryOp.MIN),
    (ew.nextafter_p, BinaryOp.NEXTAFTER),
    (tr.atan2_p, BinaryOp.ATAN2),
    (ew.and_p, BinaryOp.AND),
    (ew.or_p, BinaryOp.OR),
    (ew.xor_p, BinaryOp.XOR),
    (ew.shift_left_p, BinaryOp.SHIFT_LEFT),
    (ew.shift_right_logical_p, BinaryOp.SHIFT_RIGHT_LOGICAL),
    (ew.shift_right_arithmetic_p, BinaryOp.SHIFT_RIGHT_ARITHMETIC),
    (ew.eq_p, BinaryOp.EQ),
    (ew.ne_p, BinaryOp.NE),
    (ew.lt_p, BinaryOp.LT),
    (ew.le_p, BinaryOp.LE),
    (ew.gt_p, BinaryOp.GT),
    (ew.ge_p, BinaryOp.GE),
]:
    lowerings[_prim] = _binary_rule(_bop)


def _identity(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    return args[0]


lowerings[ew.copy_p] = _identity
lowerings[ew.stop_gradient_p] = _identity


def _round(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    even = params["rounding_method"] == ew.RoundingMethod.TO_NEAREST_EVEN
    return b.unary(UnaryOp.ROUND_EVEN if even else UnaryOp.ROUND, args[0])


def _square(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    return b.binary(BinaryOp.MUL, args[0], args[0])


def _integer_pow(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    """Repeated squaring in the numpy backend's order (so float results agree bit for bit)."""
    (x,), n = args, int(params["y"])
    if n == 0:
        return b.const(1, x.dtype, x.shape)
    acc: Sym | None = None
    base, k = x, abs(n)
    while k:
        if k & 1:
            acc = base if acc is None else b.binary(BinaryOp.MUL, acc, base)
        k >>= 1
        if k:
            base = b.binary(BinaryOp.MUL, base, base)
    assert acc is not None
    return b.binary(BinaryOp.DIV, b.const(1, x.dtype, x.shape), acc) if n < 0 else acc


def _pow(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    x, y = (stretch(b, a, out.shape) for a in args)
    return b.binary(BinaryOp.POW, x, b.cast(y, x.dtype))


def _rsqrt(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    (x,) = args
    return b.binary(BinaryOp.DIV, b.const(1, x.dtype, x.shape), b.unary(UnaryOp.SQRT, x))


def _logistic(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    """``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)`` below, with ``e = exp(-|x|)``."""
    (x,) = args
    e = b.unary(UnaryOp.EXP, b.unary(UnaryOp.NEG, b.unary(UnaryOp.ABS, x)))
    one = b.const(1, x.dtype, x.shape)
    denom = b.binary(BinaryOp.ADD, one, e)
    positive = b.binary(BinaryOp.GE, x, b.const(0, x.dtype, x.shape))
    return b.select(
        positive, b.binary(BinaryOp.DIV, one, denom), b.binary(BinaryOp.DIV, e, denom)
    )


def _select_n(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    """``cases[which]``: bool picks between two; an integer index saturates at the ends."""
    which, *cases = (stretch(b, a, out.shape) for a in args)
    if which.dtype == BOOL:
        return b.select(which, cases[1], cases[0]) if len(cases) == 2 else cases[0]
    result = cases[0]
    for i, case in enumerate(cases[1:], start=1):
        past = b.binary(BinaryOp.GE, which, b.const(i, which.dtype, out.shape))
        result = b.select(past, case, result)
    return result


def _clamp(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    lo, x, hi = (stretch(b, a, out.shape) for a in args)
    return b.binary(BinaryOp.MIN, b.binary(BinaryOp.MAX, x, lo), hi)


def _convert(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    return b.cast(args[0], out.dtype)


lowerings[ew.round_p] = _round
lowerings[ew.square_p] = _square
lowerings[ew.integer_pow_p] = _integer_pow
lowerings[ew.pow_p] = _pow
lowerings[tr.rsqrt_p] = _rsqrt
lowerings[tr.logistic_p] = _logistic
lowerings[ew.select_n_p] = _select_n
lowerings[ew.clamp_p] = _clamp
lowerings[ew.convert_element_type_p] = _convert


# -- views ---------------------------------------------------------------------------------


def _view(prim: Primitive) -> Callable[[LowerRule], LowerRule]:
    def register(rule: LowerRule) -> LowerRule:
        lowerings[prim] = rule
        VIEWS.add(prim)
        return rule

    return register


@_view(sh.broadcast_in_dim_p)
def _broadcast_in_dim(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    (x,) = args
    dims = params["broadcast_dimensions"]
    if not x.shape:
        return stretch(b, x, out.shape)
    return b.reindex(x, out.shape, broadcast_view(x.shape, out.shape, dims))


@_view(sh.reshape_p)
def _reshape(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    (x,) = args
    dims = params["dimensions"]
    if dims is not None:
        x = transpose(b, x, dims)
    return reshape(b, x, out.shape)


def transpose(b: Builder, x: Sym, perm: Sequence[int]) -> Sym:
    """``x`` with its axes permuted: new axis j is old axis ``perm[j]``."""
    if tuple(perm) == tuple(range(len(perm))):
        return x
    shape, remap = transpose_view(x, perm)
    return b.reindex(x, shape, remap)


@_view(sh.transpose_p)
def _transpose(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    return transpose(b, args[0], params["permutation"])


@_view(sh.squeeze_p)
def _squeeze(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    (x,) = args
    dropped = set(params["dimensions"])
    kept = [k for k in range(len(x.shape)) if k not in dropped]
    rows = tuple(
        _unit(kept.index(k), len(kept), 1) if k in kept else (0,) * len(kept)
        for k in range(len(x.shape))
    )
    view = LinearView((0,) * len(x.shape), rows, len(kept))
    return b.reindex(x, out.shape, view.apply)


@_view(sh.rev_p)
def _rev(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    (x,) = args
    dims = set(params["dimensions"])
    n = len(x.shape)
    offsets = tuple(x.shape[k] - 1 if k in dims else 0 for k in range(n))
    rows = tuple(_unit(k, n, -1 if k in dims else 1) for k in range(n))
    return b.reindex(x, out.shape, LinearView(offsets, rows, n).apply)


@_view(sl.slice_p)
def _slice(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    (x,) = args
    n = len(x.shape)
    steps = params["strides"] or (1,) * n
    rows = tuple(_unit(k, n, steps[k]) for k in range(n))
    view = LinearView(tuple(params["start_indices"]), rows, n)
    return b.reindex(x, out.shape, view.apply)


def clamped(b: Builder, x: Sym) -> Sym:
    """``x`` with every load beneath it clamped into its buffer (to read out of its range)."""
    return b.rebuild(x, x.shape, lambda e: replace(e, clamp=True) if isinstance(e, Load) else e)


def shifted(b: Builder, x: Sym, low: Sequence[int], shape: tuple[int, ...]) -> tuple[Sym, Sym]:
    """``x`` placed at offset ``low`` in a space of ``shape``, and where it is inside it.

    The first value is ``x[i - low]`` (clamped loads: defined everywhere, meaningful where the
    second, a bool, holds).
    """
    n = len(shape)
    itype = INDEX32 if max(shape, default=0) < 2**31 - 1 else INDEX64
    view = LinearView(tuple(-lo for lo in low), tuple(_unit(k, n) for k in range(n)), n)
    value = clamped(b, b.reindex(x, shape, view.apply))
    inside: Sym | None = None
    zero = b.const(0, itype, shape)
    for k in range(n):
        for bound, op in ((low[k], BinaryOp.GE), (low[k] + x.shape[k], BinaryOp.LT)):
            if (op is BinaryOp.GE and bound <= 0) or (op is BinaryOp.LT and bound >= shape[k]):
                continue  # always true
            # i[k] - bound against 0: the bound is an index offset, a launch argument when the
            # kernel is rendered shape-generic (one compiled kernel for every placement)
            index = b.leaf(Index(Affine(-bound, _unit(k, n)), itype), shape)
            test = b.binary(op, index, zero)
            inside = test if inside is None else b.binary(BinaryOp.AND, inside, test)
    return value, b.const(True, BOOL, shape) if inside is None else inside


@_view(sh.pad_p)
def _pad(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    x, fill = args
    fill = stretch(b, fill, out.shape)
    if math.prod(x.shape) == 0:
        return fill
    low = [lo for lo, _, _ in params["padding_config"]]
    value, inside = shifted(b, x, low, out.shape)
    return b.select(inside, value, fill)


@_view(sh.concatenate_p)
def _concatenate(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    axis = params["dimension"]
    placed: list[tuple[Sym, Sym]] = []
    start = 0
    for x in args:
        if x.shape[axis]:
            low = [start if k == axis else 0 for k in range(len(out.shape))]
            placed.append(shifted(b, x, low, out.shape))
        start += x.shape[axis]
    if not placed:  # every operand is empty: so is the result
        return b.const(0, out.dtype, out.shape)
    result = placed[-1][0]
    for value, inside in reversed(placed[:-1]):
        result = b.select(inside, value, result)
    return result


@_view(sh.iota_p)
def _iota(b: Builder, args: Sequence[Sym], params: Params, out: ShapedArray) -> Sym:
    affine = Affine(0, _unit(params["dimension"], len(out.shape)))
    return b.leaf(Index(affine, out.dtype), out.shape)


# ---------------------------------------------------------------------------------------------
# Reductions: a combiner with its identity


@dataclass(frozen=True, slots=True)
class Reduction:
    """How a ``reduce_*`` primitive combines: an associative op and its identity."""

    combine: BinaryOp
    identity: Callable[[DType], bool | int | float]


def _zero(dtype: DType) -> int:
    return 0


def _one(dtype: DType) -> int:
    return 1


def _all_ones(dtype: DType) -> bool | int:
    if dtype == BOOL:
        return True
    all_ones: int = np.invert(np.zeros((), dtype)).item()
    return all_ones


def _lowest(dtype: DType) -> bool | int | float:
    value: bool | int | float = max_identity(dtype).item()
    return value


def _highest(dtype: DType) -> bool | int | float:
    value: bool | int | float = min_identity(dtype).item()
    return value


reductions: Final[dict[Primitive, Reduction]] = {
    rd.reduce_sum_p: Reduction(BinaryOp.ADD, _zero),
    rd.reduce_prod_p: Reduction(BinaryOp.MUL, _one),
    rd.reduce_max_p: Reduction(BinaryOp.MAX, _lowest),
    rd.reduce_min_p: Reduction(BinaryOp.MIN, _highest),
    rd.reduce_and_p: Reduction(BinaryOp.AND, _all_ones),
    rd.reduce_or_p: Reduction(BinaryOp.OR, _zero),
    rd.reduce_xor_p: Reduction(BinaryOp.XOR, _zero),
}


def identity_const(reduction: Reduction, dtype: DType) -> Const:
    """The identity of ``reduction`` at ``dtype`` as a constant."""
    return Const(_scalar(reduction.identity(dtype), dtype), dtype)


def reduction_prologue(b: Builder, x: Sym, axes: Sequence[int]) -> Sym:
    """``x`` over the space (kept axes..., reduced axes...): the prologue of a reduction."""
    kept = [k for k in range(len(x.shape)) if k not in axes]
    return transpose(b, x, [*kept, *axes])


def lowerable(prim: Primitive, params: Params, in_avals: Sequence[ShapedArray],
              out_avals: Sequence[ShapedArray], fp64: bool) -> bool:
    """Whether ``prim`` on these avals has a kernel form (else it runs on the host)."""
    if prim not in lowerings and prim not in reductions:
        return False
    if prim is sh.pad_p and any(interior for _, _, interior in params["padding_config"]):
        return False  # interior padding is no affine view (decompose_windows.py rewrites it)
    return all(is_kernel_dtype(a.dtype, fp64) for a in [*in_avals, *out_avals])
