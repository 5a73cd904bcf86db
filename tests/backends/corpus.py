"""A corpus of kernels covering every op of the IR at every dtype, with inputs to run them on.

Shared by the renderer tests (run on PoCL against the IR evaluator) and the NVRTC compile test.
Kernels are multi-output so that one compilation covers many ops: per dtype, one map kernel
computes every unary and binary op, a select and every cast; per combiner and dtype, one reduce
kernel; plus views, iota, matmuls and the kernels of a few fused programs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

import refjax
import refjax.numpy as jnp
from refjax import lax
from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.evaluate import evaluate
from refjax.backends.kernels.fusion import FusionOptions, plan
from refjax.backends.kernels.ir import (
    Affine,
    BinaryOp,
    BufferArg,
    Kernel,
    Load,
    MapKernel,
    MatmulKernel,
    Reduced,
    ReduceKernel,
    RegisterBlock,
    UnaryOp,
    coalesce,
)
from refjax.backends.kernels.lower import Builder, identity_const, reductions
from refjax.primitives import reductions as rd
from tests.tolerances import KERNEL_SUMS

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
SIGNED = [np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64)]
UNSIGNED = [np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64)]
BOOL = np.dtype(np.bool_)
ALL = [BOOL, *SIGNED, *UNSIGNED, F32, F64]

_MATH = [
    UnaryOp.EXP, UnaryOp.EXP2, UnaryOp.LOG, UnaryOp.LOG1P, UnaryOp.EXPM1, UnaryOp.TANH,
    UnaryOp.SIN, UnaryOp.COS, UnaryOp.TAN, UnaryOp.ASIN, UnaryOp.ACOS, UnaryOp.ATAN,
    UnaryOp.SINH, UnaryOp.COSH, UnaryOp.ASINH, UnaryOp.ACOSH, UnaryOp.ATANH, UnaryOp.SQRT,
    UnaryOp.CBRT, UnaryOp.ERF, UnaryOp.ERFC, UnaryOp.LGAMMA,
]
UNARY: dict[str, list[UnaryOp]] = {
    "f": [UnaryOp.NEG, UnaryOp.SIGN, UnaryOp.FLOOR, UnaryOp.CEIL, UnaryOp.ROUND,
          UnaryOp.ROUND_EVEN, UnaryOp.IS_FINITE, UnaryOp.ABS, *_MATH],
    "i": [UnaryOp.NEG, UnaryOp.SIGN, UnaryOp.ABS, UnaryOp.NOT, UnaryOp.POPULATION_COUNT,
          UnaryOp.CLZ],
    "u": [UnaryOp.NEG, UnaryOp.SIGN, UnaryOp.NOT, UnaryOp.POPULATION_COUNT, UnaryOp.CLZ],
    "b": [UnaryOp.NOT],
}
_COMPARE = [BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE]
_INT_BINARY = [
    BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.REM, BinaryOp.MAX,
    BinaryOp.MIN, BinaryOp.AND, BinaryOp.OR, BinaryOp.XOR, BinaryOp.SHIFT_LEFT,
    BinaryOp.SHIFT_RIGHT_LOGICAL, BinaryOp.SHIFT_RIGHT_ARITHMETIC, *_COMPARE,
]
BINARY: dict[str, list[BinaryOp]] = {
    "f": [BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.REM, BinaryOp.MAX,
          BinaryOp.MIN, BinaryOp.POW, BinaryOp.NEXTAFTER, BinaryOp.ATAN2, *_COMPARE],
    "i": _INT_BINARY,
    "u": _INT_BINARY,
    "b": [BinaryOp.AND, BinaryOp.OR, BinaryOp.XOR, BinaryOp.MAX, BinaryOp.MIN, *_COMPARE],
}
# Ops whose float results may differ from numpy's by a few ulp (libm implementations differ).
APPROXIMATE = {*(op.value for op in _MATH), "pow", "atan2"}


def kind(dtype: np.dtype[Any]) -> str:
    """'b', 'i', 'u' or 'f'."""
    return "b" if dtype == BOOL else dtype.kind


def special_values(dtype: np.dtype[Any]) -> np.ndarray:
    """Values that exercise the edge cases of each op at ``dtype``."""
    if dtype == BOOL:
        return np.array([False, True])
    if dtype.kind == "f":
        return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5,
                         2.5, 3.0, 1e-30, -7.25, 0.7, 40.0], dtype)
    info = np.iinfo(dtype)
    bits = dtype.itemsize * 8
    values = [info.min, info.max, 0, 1, 2, 7, bits - 1, bits, bits + 1, 100 % (info.max + 1)]
    if dtype.kind == "i":
        values += [-1, -2, -bits, info.min + 1]
    return np.array(values, dtype=object).astype(dtype)


def pairs(dtype: np.dtype[Any], extra: int = 37) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of special values, then ``extra`` random pairs (the length is not a multiple
    of 4, so vectorised kernels also run their scalar tail)."""
    special = special_values(dtype)
    x, y = (np.array(v, dtype) for v in zip(*itertools.product(special, special), strict=True))
    rng = np.random.default_rng(dtype.num)
    if dtype == BOOL:
        rx, ry = rng.random(extra) < 0.5, rng.random(extra) < 0.5
    elif dtype.kind == "f":
        rx, ry = (rng.uniform(-3, 3, extra).astype(dtype) for _ in range(2))
    else:
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        rx, ry = (rng.integers(lo, hi, extra, endpoint=True).astype(dtype) for _ in range(2))
    return np.concatenate([x, rx]), np.concatenate([y, ry])


@dataclass(frozen=True)
class Case:
    """A kernel with inputs to run it on, and which of its outputs are approximate."""

    name: str
    kernel: Kernel
    inputs: tuple[np.ndarray, ...]
    approximate: frozenset[int] = frozenset()


def op_case(dtype: np.dtype[Any]) -> Case:
    """Every unary and binary op, a select and every cast, at ``dtype``, in one map kernel."""
    x_host, y_host = pairs(dtype)
    n = x_host.size
    b = Builder()
    x, y = b.load(0, (n,), dtype), b.load(1, (n,), dtype)
    outs, approx = [], set()
    for uop in UNARY[kind(dtype)]:
        if uop.value in APPROXIMATE:
            approx.add(len(outs))
        outs.append(b.unary(uop, x))
    for bop in BINARY[kind(dtype)]:
        if bop.value in APPROXIMATE:
            approx.add(len(outs))
        outs.append(b.binary(bop, x, y))
    outs.append(b.select(b.binary(BinaryOp.LT, x, y), x, y))
    outs += [b.cast(x, t) for t in ALL if t != dtype]
    kernel = MapKernel(
        f"ops_{dtype.name}", (n,), (BufferArg(dtype, n), BufferArg(dtype, n)), (), tuple(b.body),
        tuple(o.id for o in outs),
    )
    return Case(kernel.name, kernel, (x_host, y_host), frozenset(approx))


def reduce_case(combine: BinaryOp, dtype: np.dtype[Any], rows: int = 5, cols: int = 37,
                lanes: int = 0, row_lanes: int = 0) -> Case:
    """A reduce kernel over the last axis with an epilogue (``acc`` cast and combined); with
    ``lanes``, a column reduction (over the first axis, ``lanes`` outputs per work item); with
    ``row_lanes``, each work item reducing whole rows in that many interleaved lanes."""
    rng = np.random.default_rng(cols)
    if dtype == BOOL:
        host = rng.random((rows, cols)) < 0.7
    elif dtype.kind == "f":
        host = rng.uniform(-2, 2, (rows, cols)).astype(dtype)
        if rows >= 4 and cols >= 6:  # NaN propagates; max/min order -0 below +0
            host[1, 3], host[2, :] = np.nan, 0.0
            host[2, 5] = -0.0
            host[3, :] = -0.0
    else:
        host = rng.integers(-50 if dtype.kind == "i" else 0, 50, (rows, cols)).astype(dtype)
    prim = {BinaryOp.ADD: rd.reduce_sum_p, BinaryOp.MUL: rd.reduce_prod_p,
            BinaryOp.MAX: rd.reduce_max_p, BinaryOp.MIN: rd.reduce_min_p,
            BinaryOp.AND: rd.reduce_and_p, BinaryOp.OR: rd.reduce_or_p,
            BinaryOp.XOR: rd.reduce_xor_p}[combine]
    b = Builder()
    n_out, n_red = (cols, rows) if lanes else (rows, cols)
    if lanes:  # x[r, o]: the outputs contiguous, the reduced elements a row apart
        x = b.leaf(Load(0, Affine(0, (1, cols)), dtype), (n_out, n_red))
    else:
        x = b.load(0, (rows, cols), dtype)
    acc = b.leaf(Reduced(0, dtype), (n_out,))
    outs = [acc]
    if n_red:  # an epilogue: the result combined with the first element reduced
        first = b.leaf(Load(0, Affine(0, (1,) if lanes else (cols,)), dtype), (n_out,))
        outs.append(b.binary(combine, acc, first))
    tag = f"_columns{lanes}" if lanes else f"_rows{row_lanes}" if row_lanes else ""
    kernel = ReduceKernel(
        f"reduce_{combine.value}_{dtype.name}{tag}", (n_out,), (n_red,),
        (BufferArg(dtype, rows * cols),), (), tuple(b.body), x.id, combine,
        identity_const(reductions[prim], dtype), tuple(o.id for o in outs), lanes, row_lanes,
    )
    return Case(kernel.name, kernel, (host,))


def matmul_case(dtype: np.dtype[Any], batch: int, m: int, n: int, k: int,
                transposed: bool, block: RegisterBlock | None = None,
                rhs_transposed: bool = False) -> Case:
    """A batched matmul; ``transposed`` reads lhs as (b, k, m) and rhs as (b, n, k) in memory,
    ``rhs_transposed`` only rhs (both operands contiguous along k, as ``a @ b.T``);
    ``block``: register-blocked (None: the local-memory tile)."""
    rng = np.random.default_rng(m * n * k)
    lhs = rng.integers(-3, 4, (batch, m, k)).astype(dtype)
    rhs = rng.integers(-3, 4, (batch, k, n)).astype(dtype)
    if transposed:
        lhs_mem, rhs_mem = lhs.transpose(0, 2, 1).copy(), rhs.transpose(0, 2, 1).copy()
        la, ra = Affine(0, (m * k, 1, m)), Affine(0, (n * k, 1, k))
    elif rhs_transposed:
        lhs_mem, rhs_mem = lhs, rhs.transpose(0, 2, 1).copy()
        la, ra = Affine(0, (m * k, k, 1)), Affine(0, (n * k, 1, k))
    else:
        lhs_mem, rhs_mem = lhs, rhs
        la, ra = Affine(0, (m * k, k, 1)), Affine(0, (k * n, n, 1))
    kernel = MatmulKernel(
        "matmul", batch, m, n, k, (BufferArg(dtype, lhs.size), BufferArg(dtype, rhs.size)),
        la, ra, dtype, dtype, block,
    )
    tag = "" if block is None else f"_block{block.rows}x{block.cols}w{block.width}"
    layout = "_t" if transposed else "_nt" if rhs_transposed else ""
    name = f"matmul_{dtype.name}_{batch}x{m}x{n}x{k}{layout}{tag}"
    return Case(name, kernel, (lhs_mem, rhs_mem))


def program_cases() -> list[Case]:
    """The kernels of a few fused programs (views, iota, reductions, matmul, epilogues)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 8)).astype(np.float32)
    w = rng.standard_normal((8, 5)).astype(np.float32)
    rows = rng.standard_normal((300, 37)).astype(np.float32)
    tall, wide = rows[:20, :8], rows[:8, :40]
    programs: list[tuple[str, Callable[..., Any], tuple[np.ndarray, ...]]] = [
        ("views", lambda x: x.T[::-1, 1:5] * lax.broadcasted_iota(np.float32, (8, 4), 1), (x,)),
        ("softmax", lambda x: jnp.exp(x - x.max(1, keepdims=True))
         / jnp.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True), (x,)),
        ("mlp", lambda x, w: jnp.tanh(x @ w).mean(0), (x, w)),
        ("norm", lambda x: (x - x.mean(0)) / jnp.sqrt(((x - x.mean(0)) ** 2).mean(0) + 1e-5),
         (x,)),
        ("where", lambda x: jnp.where(x > 0, x, 0.01 * x).astype(np.int32).sum(), (x,)),
        ("dense", lambda x, w: jnp.maximum(x @ w + w[0], 0).astype(np.int32), (x, w)),
        ("backward", lambda x, w: (x @ w) @ w.T - x, (x, w)),
        # an epilogue on vectors straight from a register block: loads along n and fixed
        ("epilogue", lambda a, b: (a @ b) * 0.5 - a[:, :1] + b[0] * b[1], (tall, wide)),
        # enough rows (with a tail after the whole vectors) for rows of vectors on a CPU
        ("softmax_rows", lambda r: jnp.exp(r - r.max(1, keepdims=True))
         / jnp.exp(r - r.max(1, keepdims=True)).sum(1, keepdims=True), (rows,)),
        ("norm_rows", lambda r: (r - r.mean(1, keepdims=True)) * lax.rsqrt(
            ((r - r.mean(1, keepdims=True)) ** 2).mean(1, keepdims=True) + 1e-5) * r[0], (rows,)),
    ]
    cases = []
    # planned as for a GPU (local-memory tiles, tree reductions) and as for a CPU (register
    # blocks, column reductions 8 outputs wide)
    cpu = FusionOptions(matmul_block=BLOCK, matmul_dot_block=DOT_BLOCK, column_lanes=8,
                        row_lanes=8)
    for name, fn, args in programs:
        for tag, options in (("", FusionOptions()), ("_cpu", cpu)):
            p = plan(refjax.make_jaxpr(fn)(*args), options)
            cases += [Case(f"{name}{tag}_{k}", kernel, ()) for k, kernel in enumerate(p.kernels())]
    return cases


def op_cases() -> list[Case]:
    """One op kernel per dtype."""
    return [op_case(t) for t in ALL]


def reduce_cases() -> list[Case]:
    """Reduce kernels for every combiner at the dtypes it applies to."""
    out = []
    for combine in (BinaryOp.ADD, BinaryOp.MUL, BinaryOp.MAX, BinaryOp.MIN):
        out += [reduce_case(combine, t) for t in (F32, F64, np.dtype(np.int32), np.dtype(np.uint8))]
    for combine in (BinaryOp.AND, BinaryOp.OR, BinaryOp.XOR):
        out += [reduce_case(combine, t) for t in (BOOL, np.dtype(np.int64))]
    out += [reduce_case(BinaryOp.MAX, BOOL), reduce_case(BinaryOp.ADD, F32, rows=3, cols=1000)]
    out.append(reduce_case(BinaryOp.ADD, F32, rows=4, cols=0))
    # column reductions: 8 and 1 outputs per work item, a ragged last group, integer wrapping
    out += [reduce_case(BinaryOp.ADD, F32, rows=33, cols=21, lanes=8),
            reduce_case(BinaryOp.MAX, F32, rows=7, cols=16, lanes=8),
            reduce_case(BinaryOp.MUL, np.dtype(np.int32), rows=9, cols=5, lanes=8),
            reduce_case(BinaryOp.MIN, F64, rows=6, cols=11, lanes=1),
            reduce_case(BinaryOp.OR, BOOL, rows=5, cols=13, lanes=8)]
    # row reductions in lanes: a tail shorter than the lanes, rows shorter than the lanes, NaN
    # and signed zeros through max and min, integer wrapping, an empty reduction
    out += [reduce_case(BinaryOp.ADD, F32, rows=5, cols=37, row_lanes=8),
            reduce_case(BinaryOp.MAX, F32, rows=6, cols=21, row_lanes=8),
            reduce_case(BinaryOp.MIN, F64, rows=4, cols=6, row_lanes=8),
            reduce_case(BinaryOp.MUL, np.dtype(np.int32), rows=3, cols=19, row_lanes=8),
            reduce_case(BinaryOp.XOR, np.dtype(np.int64), rows=3, cols=9, row_lanes=4),
            reduce_case(BinaryOp.ADD, F32, rows=4, cols=0, row_lanes=8),
            # ... and in vectors where the sum or product is of floats (the tail as above)
            reduce_case(BinaryOp.ADD, F64, rows=3, cols=13, row_lanes=8),
            reduce_case(BinaryOp.MUL, F32, rows=2, cols=19, row_lanes=8)]
    return out


BLOCK: Final = RegisterBlock(6, 16, 8)  # the OpenCL backend's block on a CPU device
DOT_BLOCK: Final = RegisterBlock(3, 3, 8)  # and its block for operands read along k (a @ b.T)


def matmul_cases() -> list[Case]:
    """Matmuls: float32 and float64, int32 (wrapping), tiles with ragged edges, batches."""
    return [
        matmul_case(F32, 1, 17, 23, 19, False),
        matmul_case(F32, 3, 5, 7, 33, True),
        matmul_case(F64, 2, 16, 16, 16, False),
        matmul_case(np.dtype(np.int32), 2, 9, 4, 3, True),
        matmul_case(F32, 1, 4, 5, 0, False),
        # register blocks (a CPU's layout): whole blocks, ragged bottom and right edges, a block
        # wider than the output, rhs read in place transposed (scalar columns), other dtypes
        matmul_case(F32, 1, 16, 32, 7, False, BLOCK),
        matmul_case(F32, 2, 19, 37, 13, False, BLOCK),
        matmul_case(F32, 1, 3, 5, 9, False, BLOCK),
        matmul_case(F32, 3, 17, 20, 33, True, BLOCK),
        matmul_case(F32, 1, 9, 10, 6, False, RegisterBlock(4, 4, 1)),
        matmul_case(F64, 2, 9, 17, 16, False, RegisterBlock(4, 8, 4)),
        matmul_case(np.dtype(np.int32), 2, 9, 17, 3, False, BLOCK),
        matmul_case(F32, 1, 4, 5, 0, False, BLOCK),
        # both operands read along k in vectors (a @ b.T): ragged rows, columns and k tail,
        # whole blocks in a batch, k shorter than a vector, an empty k, eight-byte lanes
        matmul_case(F32, 1, 19, 23, 37, False, DOT_BLOCK, rhs_transposed=True),
        matmul_case(F32, 2, 6, 8, 16, False, RegisterBlock(3, 4, 8), rhs_transposed=True),
        matmul_case(F32, 1, 2, 3, 5, False, DOT_BLOCK, rhs_transposed=True),
        matmul_case(F32, 1, 4, 5, 0, False, DOT_BLOCK, rhs_transposed=True),
        matmul_case(F64, 2, 7, 5, 13, False, DOT_BLOCK.along_k(F64), rhs_transposed=True),
        # the same layout with an integer accumulator: register block with scalar rhs reads
        matmul_case(np.dtype(np.int32), 1, 7, 9, 11, False, BLOCK, rhs_transposed=True),
    ]



def coalesced(case: Case) -> Case:
    """``case`` with its kernel coalesced (as the fusion planner emits kernels)."""
    return Case(case.name, coalesce(case.kernel), case.inputs, case.approximate)


# ---------------------------------------------------------------------------------------------
# Running a case on a kernel backend against the IR evaluator (test_render on OpenCL, test_cuda)


def random_inputs(kernel: Kernel) -> tuple[list[np.ndarray], list[np.generic]]:
    """Inputs in [-2, 2) and scalar params in [0.5, 1.5) for ``kernel`` (the same every run)."""
    rng = np.random.default_rng(7)
    inputs = [rng.uniform(-2, 2, b.size).astype(b.dtype) for b in kernel.inputs]
    params = [t.type(rng.uniform(0.5, 1.5)) for t in kernel.params]
    return inputs, params


def same_floats(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Bit-for-bit equality, except that any NaN equals any NaN."""
    both_nan = np.isnan(got) & np.isnan(want)
    same = (got == want) & (np.signbit(got) == np.signbit(want))
    result: np.ndarray = both_nan | same
    return result


def kernel_sums(kernel: Kernel) -> bool:
    """Whether float results depend on the summation order."""
    return isinstance(kernel, MatmulKernel) or (
        isinstance(kernel, ReduceKernel) and kernel.combine in (BinaryOp.ADD, BinaryOp.MUL)
    )


def check_outputs(case: Case, kernel: Kernel, got: Sequence[np.ndarray],
                  want: Sequence[np.ndarray]) -> None:
    """Exact (NaNs alike) except where summation order or approximations may differ."""
    approximate = isinstance(kernel, ReduceKernel | MatmulKernel)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        g = np.asarray(g).reshape(np.shape(w))
        assert g.dtype == w.dtype, (case.name, k)
        if w.dtype.kind != "f":
            np.testing.assert_array_equal(g, w, err_msg=f"{case.name} output {k}")
        elif k in case.approximate or (approximate and kernel_sums(kernel)) or not case.inputs:
            tol = KERNEL_SUMS[w.dtype]
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True,
                                       err_msg=f"{case.name} output {k}")
        else:
            bad = ~same_floats(g, w)
            assert not bad.any(), (case.name, k, g[bad][:5], w[bad][:5])


def run_case(backend: KernelBackend, case: Case, generic: bool) -> None:
    """``case``'s kernel run on ``backend`` computes what the IR evaluator computes."""
    kernel = coalesced(case).kernel
    if case.inputs:
        inputs, params = list(case.inputs), []
    else:
        inputs, params = random_inputs(kernel)
    want = evaluate(kernel, inputs, params)
    bufs = [backend.from_numpy(np.ascontiguousarray(a).reshape(-1)) for a in inputs]
    got = [backend.to_numpy(b) for b in backend.run_kernel(kernel, bufs, params, generic)]
    check_outputs(case, kernel, got, want)
