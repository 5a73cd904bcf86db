"""The semantic reference of the kernel IR: evaluate a kernel with numpy, without generated code.

Every op means exactly what the lax primitive of the same name means, so each one runs through
the numpy backend's implementation of that primitive; a reduce kernel's combiner runs through
the matching ``reduce_*`` implementation. The renderers are tested against this evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np

from refjax.backends.kernels.ir import (
    Affine,
    Binary,
    BinaryOp,
    Const,
    Expr,
    Index,
    Kernel,
    Load,
    MapKernel,
    MatmulKernel,
    Param,
    Reduced,
    ReduceKernel,
    Select,
    Unary,
    UnaryOp,
    reached,
)
from refjax.backends.numpy_impls import impls

if TYPE_CHECKING:
    from refjax.backends.kernels.fusion import Plan
from refjax.dtypes import DType
from refjax.interp.core import NDArray, Primitive
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import transcendental as tr

_UNARY_PRIMITIVES: Final[dict[UnaryOp, Primitive]] = {
    UnaryOp.NEG: ew.neg_p,
    UnaryOp.SIGN: ew.sign_p,
    UnaryOp.FLOOR: ew.floor_p,
    UnaryOp.CEIL: ew.ceil_p,
    UnaryOp.IS_FINITE: ew.is_finite_p,
    UnaryOp.ABS: ew.abs_p,
    UnaryOp.NOT: ew.not_p,
    UnaryOp.POPULATION_COUNT: ew.population_count_p,
    UnaryOp.CLZ: ew.clz_p,
    UnaryOp.EXP: tr.exp_p,
    UnaryOp.EXP2: tr.exp2_p,
    UnaryOp.LOG: tr.log_p,
    UnaryOp.LOG1P: tr.log1p_p,
    UnaryOp.EXPM1: tr.expm1_p,
    UnaryOp.TANH: tr.tanh_p,
    UnaryOp.SIN: tr.sin_p,
    UnaryOp.COS: tr.cos_p,
    UnaryOp.TAN: tr.tan_p,
    UnaryOp.ASIN: tr.asin_p,
    UnaryOp.ACOS: tr.acos_p,
    UnaryOp.ATAN: tr.atan_p,
    UnaryOp.SINH: tr.sinh_p,
    UnaryOp.COSH: tr.cosh_p,
    UnaryOp.ASINH: tr.asinh_p,
    UnaryOp.ACOSH: tr.acosh_p,
    UnaryOp.ATANH: tr.atanh_p,
    UnaryOp.SQRT: tr.sqrt_p,
    UnaryOp.CBRT: tr.cbrt_p,
    UnaryOp.ERF: tr.erf_p,
    UnaryOp.ERFC: tr.erfc_p,
    UnaryOp.LGAMMA: tr.lgamma_p,
}
_BINARY_PRIMITIVES: Final[dict[BinaryOp, Primitive]] = {
    BinaryOp.ADD: ew.add_p,
    BinaryOp.SUB: ew.sub_p,
    BinaryOp.MUL: ew.mul_p,
    BinaryOp.DIV: ew.div_p,
    BinaryOp.REM: ew.rem_p,
    BinaryOp.MAX: ew.max_p,
    BinaryOp.MIN: ew.min_p,
    BinaryOp.POW: ew.pow_p,
    BinaryOp.NEXTAFTER: ew.nextafter_p,
    BinaryOp.ATAN2: tr.atan2_p,
    BinaryOp.AND: ew.and_p,
    BinaryOp.OR: ew.or_p,
    BinaryOp.XOR: ew.xor_p,
    BinaryOp.SHIFT_LEFT: ew.shift_left_p,
    BinaryOp.SHIFT_RIGHT_LOGICAL: ew.shift_right_logical_p,
    BinaryOp.SHIFT_RIGHT_ARITHMETIC: ew.shift_right_arithmetic_p,
    BinaryOp.EQ: ew.eq_p,
    BinaryOp.NE: ew.ne_p,
    BinaryOp.LT: ew.lt_p,
    BinaryOp.LE: ew.le_p,
    BinaryOp.GT: ew.gt_p,
    BinaryOp.GE: ew.ge_p,
}
REDUCTION_PRIMITIVES: Final[dict[BinaryOp, Primitive]] = {
    BinaryOp.ADD: rd.reduce_sum_p,
    BinaryOp.MUL: rd.reduce_prod_p,
    BinaryOp.MAX: rd.reduce_max_p,
    BinaryOp.MIN: rd.reduce_min_p,
    BinaryOp.AND: rd.reduce_and_p,
    BinaryOp.OR: rd.reduce_or_p,
    BinaryOp.XOR: rd.reduce_xor_p,
}


def unary(op: UnaryOp, x: NDArray) -> NDArray:
    """``op`` applied elementwise, with its lax semantics."""
    if op is UnaryOp.ROUND:
        return _call(ew.round_p, x, rounding_method=ew.RoundingMethod.AWAY_FROM_ZERO)
    if op is UnaryOp.ROUND_EVEN:
        return _call(ew.round_p, x, rounding_method=ew.RoundingMethod.TO_NEAREST_EVEN)
    return _call(_UNARY_PRIMITIVES[op], x)


def binary(op: BinaryOp, x: NDArray, y: NDArray) -> NDArray:
    """``op`` applied elementwise, with its lax semantics."""
    return _call(_BINARY_PRIMITIVES[op], x, y)


def cast(x: NDArray, dtype: DType) -> NDArray:
    """``x`` converted as ``convert_element_type`` converts."""
    return _call(ew.convert_element_type_p, x, new_dtype=dtype, weak_type=False)


def reduce(op: BinaryOp, x: NDArray, axes: tuple[int, ...]) -> NDArray:
    """``x`` reduced over ``axes`` by the combiner ``op`` (a ``reduce_*`` primitive)."""
    return _call(REDUCTION_PRIMITIVES[op], x, axes=axes)


def _call(prim: Primitive, *args: NDArray, **params: object) -> NDArray:
    with np.errstate(all="ignore"):
        return np.asarray(impls[prim](*args, **params))


# ---------------------------------------------------------------------------------------------
# Bodies


def _affine_values(affine: Affine, shape: tuple[int, ...]) -> NDArray:
    """The affine index at every point of ``shape``, as an int64 array of that shape."""
    out = np.full(shape, affine.offset, dtype=np.int64)
    for d, stride in enumerate(affine.strides):
        if stride:
            axis = np.arange(shape[d], dtype=np.int64).reshape(
                [shape[d] if k == d else 1 for k in range(len(shape))]
            )
            out = out + stride * axis
    return out


LeafValue = Callable[[Expr], NDArray | None]


def evaluate_body(
    body: Sequence[Expr],
    shape: tuple[int, ...],
    inputs: Sequence[NDArray],
    params: Sequence[np.generic],
    reduced: NDArray | None = None,
    wanted: Sequence[int] | None = None,
) -> list[NDArray]:
    """The value of every body position over the index space ``shape`` (unwanted ones skipped)."""
    needed = reached(body, range(len(body)) if wanted is None else wanted)
    values: list[NDArray] = []
    for i, expr in enumerate(body):
        if i not in needed:
            values.append(np.zeros((), expr.dtype))
            continue
        values.append(_evaluate(expr, values, shape, inputs, params, reduced))
    return values


def _evaluate(
    expr: Expr,
    values: Sequence[NDArray],
    shape: tuple[int, ...],
    inputs: Sequence[NDArray],
    params: Sequence[np.generic],
    reduced: NDArray | None,
) -> NDArray:
    full = np.broadcast_to
    if isinstance(expr, Const):
        return full(np.asarray(expr.value, expr.dtype), shape)
    if isinstance(expr, Param):
        return full(np.asarray(params[expr.index], expr.dtype), shape)
    if isinstance(expr, Load):
        flat = np.asarray(inputs[expr.buffer]).reshape(-1)
        where = _affine_values(expr.index, shape)
        if expr.clamp:
            where = np.clip(where, 0, flat.size - 1)
        return flat[where].astype(expr.dtype)
    if isinstance(expr, Index):
        return _affine_values(expr.index, shape).astype(expr.dtype)
    if isinstance(expr, Reduced):
        assert reduced is not None, "a Reduced leaf outside a reduce kernel's epilogue"
        return full(reduced, shape)
    if isinstance(expr, Unary):
        return full(unary(expr.op, values[expr.x]), shape)
    if isinstance(expr, Binary):
        return full(binary(expr.op, values[expr.x], values[expr.y]), shape)
    if isinstance(expr, Select):
        pred, on_true, on_false = values[expr.pred], values[expr.on_true], values[expr.on_false]
        return full(np.where(pred, on_true, on_false).astype(expr.dtype), shape)
    return full(cast(values[expr.x], expr.dtype), shape)


# ---------------------------------------------------------------------------------------------
# Kernels


def evaluate(
    kernel: Kernel, inputs: Sequence[NDArray], params: Sequence[np.generic] = ()
) -> list[NDArray]:
    """The outputs of ``kernel`` on host ``inputs`` (flat or shaped) and scalar ``params``."""
    if isinstance(kernel, MapKernel):
        values = evaluate_body(kernel.body, kernel.shape, inputs, params, None, kernel.outputs)
        return [np.array(values[o]) for o in kernel.outputs]
    if isinstance(kernel, ReduceKernel):
        return _evaluate_reduce(kernel, inputs, params)
    return _evaluate_matmul(kernel, inputs, params)


def _evaluate_reduce(
    kernel: ReduceKernel, inputs: Sequence[NDArray], params: Sequence[np.generic]
) -> list[NDArray]:
    space = kernel.shape + kernel.reduced_shape
    pro = evaluate_body(kernel.body, space, inputs, params, None, [kernel.prologue])
    axes = tuple(range(len(kernel.shape), len(space)))
    acc = reduce(kernel.combine, np.asarray(pro[kernel.prologue]), axes)
    values = evaluate_body(kernel.body, kernel.shape, inputs, params, acc, kernel.outputs)
    return [np.array(values[o]) for o in kernel.outputs]


def _evaluate_matmul(
    kernel: MatmulKernel, inputs: Sequence[NDArray], params: Sequence[np.generic]
) -> list[NDArray]:
    lhs = np.asarray(inputs[0]).reshape(-1)[
        _affine_values(kernel.lhs, (kernel.batch, kernel.m, kernel.k))
    ]
    rhs = np.asarray(inputs[1]).reshape(-1)[
        _affine_values(kernel.rhs, (kernel.batch, kernel.k, kernel.n))
    ]
    with np.errstate(all="ignore"):
        out = np.matmul(lhs.astype(kernel.acc_dtype), rhs.astype(kernel.acc_dtype))
    acc = np.asarray(out, kernel.acc_dtype)
    if not kernel.outputs:
        return [cast(acc, kernel.out_dtype)]
    space = kernel.out_shape
    values = evaluate_body(kernel.body, space, inputs, params, acc.reshape(space),
                           kernel.outputs)
    return [np.array(values[o]).reshape(kernel.shape) for o in kernel.outputs]


# ---------------------------------------------------------------------------------------------
# Plans


def evaluate_plan(steps: Plan, inputs: Sequence[NDArray]) -> list[NDArray]:
    """Run a fusion plan on the host: kernels by this evaluator, other steps by numpy."""
    from refjax.backends.base import get_backend
    from refjax.backends.kernels.fusion import KernelStep, PrimitiveStep, ReshapeStep

    env: list[NDArray | None] = [None] * len(steps.slots)
    for slot, value in steps.constants:
        env[slot] = value
    for slot, value in zip(steps.inputs, inputs, strict=True):
        env[slot] = np.asarray(value)

    def read(slot: int) -> NDArray:
        value = env[slot]
        assert value is not None, f"slot {slot} read before it was written"
        return value

    for step in steps.steps:
        if isinstance(step, KernelStep):
            outs = evaluate(step.kernel, [read(s) for s in step.inputs], step.params)
        elif isinstance(step, PrimitiveStep):
            avals = [steps.slots[s] for s in step.outputs]
            fn = get_backend("numpy").prepare(step.primitive, step.params, avals)
            outs = fn(*[read(s) for s in step.inputs])
        else:
            outs = [read(step.input)]
        written = [step.output] if isinstance(step, ReshapeStep) else step.outputs
        for slot, out in zip(written, outs, strict=True):
            env[slot] = np.asarray(out).reshape(steps.slots[slot].shape)
    return [read(s) for s in steps.outputs]
