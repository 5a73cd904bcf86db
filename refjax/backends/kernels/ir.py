"""The kernel IR: scalar expressions over an index space, and the kernel skeletons that run them.

A kernel body is a tuple of :data:`Expr` in SSA form: an expression names its operands by their
position in the body, so bodies are flat, shallowly hashable and easy to print one statement a
line. The leaves read memory or the index space:

- ``Load``: element ``offset + sum(strides[d] * i[d])`` of an input buffer, where ``i`` is the
  multi-index of the iteration space (a stride of 0 is a broadcast, a negative one a reversal),
  optionally clamped into the buffer (``pad`` and ``concatenate`` read past their operands);
- ``Index``: that same affine function of the multi-index as a value (``iota``);
- ``Const``: a constant fixed by the lowering; ``Param``: a scalar argument of the launch;
- ``Reduced``: the result of the reduction, in the epilogue of an axis-reduce kernel.

Three skeletons run bodies: :class:`MapKernel` (one work item per output element, grid-stride),
:class:`ReduceKernel` (prologue, combiner with identity, epilogue; one work group per output
element with a local-memory tree) and :class:`MatmulKernel` (a tiled batched matmul).

The ops are named after the lax primitives they compute and have exactly their semantics
(``evaluate.py`` is the reference: it runs each op through the numpy backend's implementation).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeAlias

import numpy as np

from refjax.dtypes import DType

# ---------------------------------------------------------------------------------------------
# Scalar types a kernel computes in

KERNEL_DTYPES: Final[frozenset[DType]] = frozenset(
    np.dtype(t)
    for t in (
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.float32,
        np.float64,
    )
)
FLOAT64: Final = np.dtype(np.float64)
INDEX32: Final = np.dtype(np.int32)
INDEX64: Final = np.dtype(np.int64)


def is_kernel_dtype(dtype: DType, fp64: bool = True) -> bool:
    """Whether kernels compute in ``dtype`` (float16 and complex run on the host)."""
    return dtype in KERNEL_DTYPES and (fp64 or dtype != FLOAT64)


class UnaryOp(enum.Enum):
    """Elementwise unary operations, named after the lax primitives they compute."""

    NEG = "neg"
    SIGN = "sign"
    FLOOR = "floor"
    CEIL = "ceil"
    ROUND = "round"  # ties away from zero
    ROUND_EVEN = "round_even"  # ties to even: round with RoundingMethod.TO_NEAREST_EVEN
    IS_FINITE = "is_finite"
    ABS = "abs"
    NOT = "not"
    POPULATION_COUNT = "population_count"
    CLZ = "clz"
    EXP = "exp"
    EXP2 = "exp2"
    LOG = "log"
    LOG1P = "log1p"
    EXPM1 = "expm1"
    TANH = "tanh"
    SIN = "sin"
    COS = "cos"
    TAN = "tan"
    ASIN = "asin"
    ACOS = "acos"
    ATAN = "atan"
    SINH = "sinh"
    COSH = "cosh"
    ASINH = "asinh"
    ACOSH = "acosh"
    ATANH = "atanh"
    SQRT = "sqrt"
    CBRT = "cbrt"
    ERF = "erf"
    ERFC = "erfc"
    LGAMMA = "lgamma"


class BinaryOp(enum.Enum):
    """Elementwise binary operations, named after the lax primitives they compute."""

    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    REM = "rem"
    MAX = "max"
    MIN = "min"
    POW = "pow"
    NEXTAFTER = "nextafter"
    ATAN2 = "atan2"
    AND = "and"
    OR = "or"
    XOR = "xor"
    SHIFT_LEFT = "shift_left"
    SHIFT_RIGHT_LOGICAL = "shift_right_logical"
    SHIFT_RIGHT_ARITHMETIC = "shift_right_arithmetic"
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"


COMPARISONS: Final = frozenset(
    {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE}
)

# ---------------------------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True, slots=True)
class Affine:
    """``offset + sum(strides[d] * i[d])`` over the iteration multi-index ``i``."""

    offset: int
    strides: tuple[int, ...]

    def at(self, index: Sequence[int]) -> int:
        """The value at one multi-index."""
        return self.offset + sum(s * i for s, i in zip(self.strides, index, strict=True))


@dataclass(frozen=True, slots=True)
class Const:
    """A constant of the lowering (an identity, an exponent's 1, a case number)."""

    value: bool | int | float
    dtype: DType


@dataclass(frozen=True, slots=True)
class Param:
    """Scalar argument ``index`` of the launch (a literal of the jaxpr)."""

    index: int
    dtype: DType


@dataclass(frozen=True, slots=True)
class Load:
    """Element ``index`` of input buffer ``buffer`` (stored densely, row-major).

    With ``clamp`` the element index is first clamped into the buffer: the load of a value that
    a select discards where the index is out of range (``pad``, ``concatenate``), which must
    still read inside the buffer.
    """

    buffer: int
    index: Affine
    dtype: DType
    clamp: bool = False


@dataclass(frozen=True, slots=True)
class Index:
    """The affine function ``index`` of the multi-index, as a value of ``dtype`` (iota)."""

    index: Affine
    dtype: DType


@dataclass(frozen=True, slots=True)
class Reduced:
    """The reduced value of reduction ``reduction`` (in a reduce kernel's epilogue)."""

    reduction: int
    dtype: DType


@dataclass(frozen=True, slots=True)
class Unary:
    """``op(body[x])``."""

    op: UnaryOp
    x: int
    dtype: DType


@dataclass(frozen=True, slots=True)
class Binary:
    """``op(body[x], body[y])``; comparisons give bool."""

    op: BinaryOp
    x: int
    y: int
    dtype: DType


@dataclass(frozen=True, slots=True)
class Select:
    """``body[on_true]`` where ``body[pred]`` holds, else ``body[on_false]``."""

    pred: int
    on_true: int
    on_false: int
    dtype: DType


@dataclass(frozen=True, slots=True)
class Cast:
    """``body[x]`` converted to ``dtype`` as ``convert_element_type`` does (saturating)."""

    x: int
    dtype: DType


Leaf: TypeAlias = Const | Param | Load | Index | Reduced
Expr: TypeAlias = Const | Param | Load | Index | Reduced | Unary | Binary | Select | Cast
LEAVES: Final = (Const, Param, Load, Index, Reduced)


def operands(expr: Expr) -> tuple[int, ...]:
    """The body positions ``expr`` reads."""
    if isinstance(expr, Unary | Cast):
        return (expr.x,)
    if isinstance(expr, Binary):
        return (expr.x, expr.y)
    if isinstance(expr, Select):
        return (expr.pred, expr.on_true, expr.on_false)
    return ()


def with_operands(expr: Expr, ids: Sequence[int]) -> Expr:
    """``expr`` reading ``ids`` instead of its operands."""
    if isinstance(expr, Unary):
        return Unary(expr.op, ids[0], expr.dtype)
    if isinstance(expr, Cast):
        return Cast(ids[0], expr.dtype)
    if isinstance(expr, Binary):
        return Binary(expr.op, ids[0], ids[1], expr.dtype)
    if isinstance(expr, Select):
        return Select(ids[0], ids[1], ids[2], expr.dtype)
    return expr


# ---------------------------------------------------------------------------------------------
# Kernels


@dataclass(frozen=True, slots=True)
class BufferArg:
    """An input or output buffer: dense, row-major, ``size`` elements of ``dtype``."""

    dtype: DType
    size: int


@dataclass(frozen=True, slots=True)
class MapKernel:
    """One work item per element of ``shape``: output k is ``body[outputs[k]]`` (row-major).
    ``row_lanes`` > 0 (a CPU device) lets a map of two or more axes run whole rows per work
    item, computing with vectors along them where its body allows."""

    name: str
    shape: tuple[int, ...]
    inputs: tuple[BufferArg, ...]
    params: tuple[DType, ...]
    body: tuple[Expr, ...]
    outputs: tuple[int, ...]
    row_lanes: int = 0

    @property
    def size(self) -> int:
        """Number of elements computed."""
        return math.prod(self.shape)

    @property
    def output_dtypes(self) -> tuple[DType, ...]:
        """The dtype of each output."""
        return tuple(self.body[o].dtype for o in self.outputs)


@dataclass(frozen=True, slots=True)
class ReduceKernel:
    """Reduce ``body[prologue]`` over ``reduced_shape`` for each element of ``shape``.

    The prologue's loads index the space ``shape + reduced_shape``; the combiner ``combine``
    (an associative, commutative binary op) starts from ``identity``. The epilogue values
    (``outputs``) index ``shape`` and read the result as a :class:`Reduced` leaf.

    ``column_lanes`` chooses how a column reduction (loads that walk the outputs contiguously
    and the reduced elements with a stride) runs: 0, like any reduction, one work group per
    output combining through local memory; n > 0, each work item reduces n consecutive outputs
    serially, so neighbouring lanes and work items read neighbouring elements. ``row_lanes``
    chooses how any other reduction runs: 0, through local memory as above; n > 0 (a CPU), each
    work item reduces whole outputs, keeping n interleaved partial results.
    """

    name: str
    shape: tuple[int, ...]
    reduced_shape: tuple[int, ...]
    inputs: tuple[BufferArg, ...]
    params: tuple[DType, ...]
    body: tuple[Expr, ...]
    prologue: int
    combine: BinaryOp
    identity: Const
    outputs: tuple[int, ...]
    column_lanes: int = 0
    row_lanes: int = 0

    @property
    def size(self) -> int:
        """Number of output elements."""
        return math.prod(self.shape)

    @property
    def reduced_size(self) -> int:
        """Number of elements reduced into each output."""
        return math.prod(self.reduced_shape)

    @property
    def output_dtypes(self) -> tuple[DType, ...]:
        """The dtype of each output."""
        return tuple(self.body[o].dtype for o in self.outputs)


@dataclass(frozen=True, slots=True)
class RegisterBlock:
    """How a work item of a register-blocked matmul works: it computes a ``rows`` x ``cols``
    block of outputs held in registers, reading ``rhs`` ``width`` columns at a time (vector loads
    when ``width`` > 1; ``cols`` is a multiple of ``width``). When both operands are read along
    ``k`` (:func:`reads_along_k`), each output instead accumulates ``width`` lanes of ``k`` in a
    vector, summed at the end. No local memory, no barriers: the layout a CPU device wants (PoCL
    vectorises the ``width``-wide arithmetic)."""

    rows: int
    cols: int
    width: int

    def along_k(self, acc: DType) -> RegisterBlock:
        """This block (meant for four-byte accumulators, operands read along ``k``: each of the
        ``rows`` x ``cols`` outputs sums a vector of ``width`` lanes) for ``acc``: vectors of
        the same 32 bytes."""
        return RegisterBlock(self.rows, self.cols, max(1, self.width * 4 // acc.itemsize))

    def for_dtype(self, acc: DType) -> RegisterBlock:
        """This block (meant for four-byte accumulators) for ``acc``: for eight-byte ones, half
        the columns and half the vector width, so that it holds as many vectors of the same
        32 bytes (PoCL's code generator fails on wider ones) and fits the same registers."""
        if acc.itemsize < 8:
            return self
        return RegisterBlock(self.rows, max(1, self.cols // 2), max(1, self.width // 2))


def reads_along_k(lhs: Affine, rhs: Affine) -> bool:
    """Whether a matmul's operands are both contiguous along ``k`` and ``rhs`` is not along
    ``n`` (``a @ b.T``, as in a backward pass): a register block then reads vectors along ``k``
    from both and sums each product's lanes at the end (see :class:`RegisterBlock`)."""
    return lhs.strides[2] == 1 and rhs.strides[1] == 1 and rhs.strides[2] != 1


@dataclass(frozen=True, slots=True)
class MatmulKernel:
    """``out[b, m, n] = sum_k lhs[b, m, k] * rhs[b, k, n]``, accumulated in ``acc_dtype``.

    ``lhs`` and ``rhs`` index inputs 0 and 1 by their (b, m, k) and (b, k, n) multi-indices
    (a transposed operand is read in place, through its strides); the products and sums are
    computed in ``acc_dtype``. Without an epilogue the result is converted to ``out_dtype`` and
    stored. With one (``outputs`` not empty), ``body`` is an elementwise epilogue over
    ``out_shape`` (the result's shape, whose row-major order is that of (b, m, n)) whose
    :class:`Reduced` leaf is the accumulated value (a bias added, an activation, a scale), its
    loads reading inputs 2 and after; each of ``outputs`` is stored.
    ``block`` chooses the work decomposition: a :class:`RegisterBlock`, or None for a square
    local-memory tile with one output per work item (the layout a GPU wants).
    """

    name: str
    batch: int
    m: int
    n: int
    k: int
    inputs: tuple[BufferArg, ...]
    lhs: Affine
    rhs: Affine
    acc_dtype: DType
    out_dtype: DType
    block: RegisterBlock | None = None
    params: tuple[DType, ...] = ()
    body: tuple[Expr, ...] = ()
    outputs: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()  # the epilogue's index space: the result's row-major shape

    @property
    def shape(self) -> tuple[int, int, int]:
        """The output shape (batch, m, n)."""
        return (self.batch, self.m, self.n)

    @property
    def size(self) -> int:
        """Number of output elements."""
        return self.batch * self.m * self.n

    @property
    def output_dtypes(self) -> tuple[DType, ...]:
        """The dtype of each output: the epilogue's, or the converted result's."""
        if self.outputs:
            return tuple(self.body[o].dtype for o in self.outputs)
        return (self.out_dtype,)


Kernel: TypeAlias = MapKernel | ReduceKernel | MatmulKernel


def affines(body: Sequence[Expr]) -> Iterator[Affine]:
    """Every affine index used by a body (loads and index values)."""
    for expr in body:
        if isinstance(expr, Load | Index):
            yield expr.index


def op_names(body: Sequence[Expr]) -> list[str]:
    """The distinct op names of a body, in order (for kernel names)."""
    names: dict[str, None] = {}
    for expr in body:
        if isinstance(expr, Unary | Binary):
            names[expr.op.value] = None
        elif isinstance(expr, Select):
            names["select"] = None
        elif isinstance(expr, Cast):
            names["convert"] = None
        elif isinstance(expr, Index):
            names["iota"] = None
    return list(names)


# ---------------------------------------------------------------------------------------------
# Coalescing: fewer, longer axes in the index space, so index arithmetic is cheap


def reached(body: Sequence[Expr], roots: Sequence[int]) -> set[int]:
    """The body positions ``roots`` depend on."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        i = stack.pop()
        if i not in seen:
            seen.add(i)
            stack.extend(operands(body[i]))
    return seen


def _merge_plan(shape: Sequence[int], strides: Sequence[Sequence[int]]) -> list[list[int]]:
    """Groups of adjacent axes that every stride list lets merge (size-1 axes dropped)."""
    if math.prod(shape) == 0:  # an empty space: one empty axis (its strides never matter)
        return [list(range(len(shape)))] if shape else []
    groups: list[list[int]] = []
    for d, size in enumerate(shape):
        if size == 1:
            continue
        if groups:
            last = groups[-1][-1]
            if all(s[last] == s[d] * size for s in strides):
                groups[-1].append(d)
                continue
        groups.append([d])
    return groups


def _apply_plan(
    shape: Sequence[int], strides: Sequence[int], groups: list[list[int]]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    sizes = tuple(math.prod(shape[d] for d in g) for g in groups)
    return sizes, tuple(strides[g[-1]] for g in groups)


def _rewrite_affines(
    body: Sequence[Expr], nodes: set[int], fn: Callable[[Affine], Affine]
) -> tuple[Expr, ...]:
    out: list[Expr] = []
    for i, expr in enumerate(body):
        if i in nodes and isinstance(expr, Load):
            out.append(replace(expr, index=fn(expr.index)))
        elif i in nodes and isinstance(expr, Index):
            out.append(Index(fn(expr.index), expr.dtype))
        else:
            out.append(expr)
    return tuple(out)


def coalesce(kernel: Kernel) -> Kernel:
    """``kernel`` over an index space with size-1 axes dropped and mergeable axes merged."""
    if isinstance(kernel, MapKernel):
        return _coalesce_map(kernel)
    if isinstance(kernel, ReduceKernel):
        return _coalesce_reduce(kernel)
    return kernel


def _coalesce_map(kernel: MapKernel) -> MapKernel:
    nodes = reached(kernel.body, kernel.outputs)
    strides = [a.strides for i in nodes for a in affines([kernel.body[i]])]
    groups = _merge_plan(kernel.shape, strides)
    shape = _apply_plan(kernel.shape, kernel.shape, groups)[0]

    def fn(a: Affine) -> Affine:
        return Affine(a.offset, _apply_plan(kernel.shape, a.strides, groups)[1])

    body = _rewrite_affines(kernel.body, nodes, fn)
    return MapKernel(kernel.name, shape, kernel.inputs, kernel.params, body, kernel.outputs,
                     kernel.row_lanes)


def _coalesce_reduce(kernel: ReduceKernel) -> ReduceKernel:
    n_out = len(kernel.shape)
    pro = reached(kernel.body, [kernel.prologue])
    epi = reached(kernel.body, kernel.outputs)
    pro_strides = [a.strides for i in pro for a in affines([kernel.body[i]])]
    epi_strides = [a.strides for i in epi for a in affines([kernel.body[i]])]
    out_groups = _merge_plan(kernel.shape, [s[:n_out] for s in pro_strides] + epi_strides)
    red_groups = _merge_plan(kernel.reduced_shape, [s[n_out:] for s in pro_strides])
    shape = _apply_plan(kernel.shape, kernel.shape, out_groups)[0]
    red_shape = _apply_plan(kernel.reduced_shape, kernel.reduced_shape, red_groups)[0]

    def fn(a: Affine) -> Affine:
        out = _apply_plan(kernel.shape, a.strides[:n_out], out_groups)[1]
        if len(a.strides) == n_out:
            return Affine(a.offset, out)
        red = _apply_plan(kernel.reduced_shape, a.strides[n_out:], red_groups)[1]
        return Affine(a.offset, out + red)

    body = _rewrite_affines(kernel.body, pro | epi, fn)
    return ReduceKernel(
        kernel.name, shape, red_shape, kernel.inputs, kernel.params, body,
        kernel.prologue, kernel.combine, kernel.identity, kernel.outputs, kernel.column_lanes,
        kernel.row_lanes,
    )
