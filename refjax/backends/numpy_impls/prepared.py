"""Speed paths of the numpy backend: an equation prepared once, when a jaxpr is compiled.

The reference implementations (``impls``) take operands and params on every call, convert their
operands and check their results. Under ``jit`` the compiler (:mod:`.program`) knows every
operand's dtype and shape, and sometimes its value, once and for all, and asks :func:`prepare`
for a :class:`Prepared` step: a plain numpy call with the params already bound, computing exactly
what the reference implementation computes (bit for bit, except where noted: a matmul's
summation order). ``None`` means "no speed path": the compiler then calls the reference.

A step also tells the compiler what it may do around it: whether the result is a new array that
nothing else refers to (so that a later step may overwrite it once it is dead), whether it can
write its result into a given array (``into``, numpy's ``out=``), and whether it accepts operands
that numpy broadcasts (a ``broadcast_in_dim`` left unmaterialised, as a reshape with size-1 axes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np

from refjax.backends.numpy_impls.linalg import compute_dtype
from refjax.backends.numpy_impls.reductions import max_identity, min_identity
from refjax.backends.numpy_impls.table import impls
from refjax.dtypes import DType
from refjax.interp.ad_util import add_any_p
from refjax.interp.core import NDArray, Params, Primitive, ShapedArray
from refjax.primitives import elementwise as ew
from refjax.primitives import linalg as la
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import transcendental as tr

StepFn: TypeAlias = Callable[..., Any]  # operands (and ``out`` last, for ``into``) -> result(s)


@dataclass(frozen=True, slots=True)
class Operand:
    """What the compiler knows about one operand of an equation."""

    aval: ShapedArray
    shape: tuple[int, ...]  # at run time; smaller than aval.shape for an unmaterialised broadcast
    value: NDArray | None = None  # known: a literal's, a constant's, a broadcast scalar's


@dataclass(frozen=True, slots=True)
class Prepared:
    """One equation as a numpy call with its params bound.

    ``fn(*operands)`` gives the result (a list of results for a multiple-result primitive).
    ``fresh``: every result is a new, writable array that shares memory with no operand.
    ``into``: ``into(*operands, out)`` writes the result into ``out`` (an array of exactly the
    result's dtype and shape, possibly one of the operands) and returns it.
    ``broadcasts``: numpy broadcasting of the operands gives the result's shape, so an operand
    may be smaller than its aval (size-1 axes), as long as the shapes broadcast to the result's.
    A step that is not ``fresh`` may return an operand or a view of one (a reshape, a transpose).
    """

    fn: StepFn
    fresh: bool = False
    into: StepFn | None = None
    broadcasts: bool = False


Operands: TypeAlias = Sequence[Operand]
Avals: TypeAlias = Sequence[ShapedArray]
Rule: TypeAlias = Callable[[Operands, Params, Avals], "Prepared | None"]
_RULES: dict[Primitive, Rule] = {}


def prepare(prim: Primitive, operands: Operands, params: Params, outs: Avals) -> Prepared | None:
    """The speed path for one equation, or None to call the reference implementation."""
    rule = _RULES.get(prim)
    return None if rule is None else rule(operands, params, outs)


def _plain(dtype: DType) -> bool:
    """A dtype numpy computes natively (not an extension type such as bfloat16)."""
    return dtype.isbuiltin == 1 and dtype.kind in "biufc"


def _scalar_result(fn: StepFn) -> StepFn:
    """``fn`` returning a 0-d array where numpy returns a scalar."""

    def scalar(*args: NDArray) -> NDArray:
        return np.asarray(fn(*args))

    return scalar


def _ufunc(ufunc: np.ufunc, outs: Avals) -> Prepared:
    """A ufunc call: fresh, broadcasting, able to write into ``out``."""
    fn: StepFn = ufunc if outs[0].ndim else _scalar_result(ufunc)

    def into(*args: NDArray) -> NDArray:
        result: NDArray = ufunc(*args[:-1], out=args[-1])
        return result

    return Prepared(fn, fresh=True, into=into, broadcasts=True)


def _ufunc_rule(ufunc: np.ufunc, kinds: str) -> Rule:
    """The reference is ``ufunc`` itself for operands of a plain dtype of these kinds."""

    def rule(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
        dtype = ops[0].aval.dtype
        if not _plain(dtype) or dtype.kind not in kinds or params:
            return None
        return _ufunc(ufunc, outs)

    return rule


_NUMERIC: Final = "biufc"
_SAME_AS_REFERENCE: Final[dict[Primitive, tuple[np.ufunc, str]]] = {
    ew.add_p: (np.add, _NUMERIC),
    add_any_p: (np.add, _NUMERIC),
    ew.sub_p: (np.subtract, "iufc"),
    ew.mul_p: (np.multiply, _NUMERIC),
    ew.div_p: (np.divide, "fc"),  # integer division truncates: the reference handles it
    ew.neg_p: (np.negative, "iufc"),
    ew.abs_p: (np.abs, "iuf"),
    ew.floor_p: (np.floor, "f"),
    ew.ceil_p: (np.ceil, "f"),
    ew.is_finite_p: (np.isfinite, "f"),
    ew.not_p: (np.invert, "biu"),
    ew.and_p: (np.bitwise_and, "biu"),
    ew.or_p: (np.bitwise_or, "biu"),
    ew.xor_p: (np.bitwise_xor, "biu"),
    ew.eq_p: (np.equal, _NUMERIC),
    ew.ne_p: (np.not_equal, _NUMERIC),
    ew.lt_p: (np.less, "biuf"),
    ew.le_p: (np.less_equal, "biuf"),
    ew.gt_p: (np.greater, "biuf"),
    ew.ge_p: (np.greater_equal, "biuf"),
    tr.exp_p: (np.exp, "fc"),
    tr.exp2_p: (np.exp2, "fc"),
    tr.log_p: (np.log, "fc"),
    tr.log1p_p: (np.log1p, "fc"),
    tr.expm1_p: (np.expm1, "f"),  # complex: the reference mends the real axis
    tr.tanh_p: (np.tanh, "fc"),
    tr.sin_p: (np.sin, "fc"),
    tr.cos_p: (np.cos, "fc"),
    tr.sqrt_p: (np.sqrt, "fc"),
}
for _prim, (_uf, _kinds) in _SAME_AS_REFERENCE.items():
    _RULES[_prim] = _ufunc_rule(_uf, _kinds)


def _square(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    """``x * x``, as the reference (and ``integer_pow`` with ``y=2``)."""
    if not _plain(ops[0].aval.dtype) or ops[0].aval.dtype.kind == "b":
        return None
    scalar = outs[0].ndim == 0

    def square(x: NDArray) -> NDArray:
        return np.asarray(x * x) if scalar else np.multiply(x, x)

    def into(x: NDArray, out: NDArray) -> NDArray:
        result: NDArray = np.multiply(x, x, out=out)
        return result

    return Prepared(square, fresh=True, into=into, broadcasts=True)


_RULES[ew.square_p] = _square
_RULES[ew.integer_pow_p] = lambda ops, params, outs: (
    _square(ops, {}, outs) if params["y"] == 2 else None
)


def _known_scalar(op: Operand) -> float | None:
    """The operand's value as a float, if it is a known real scalar (else None)."""
    if op.value is None or op.value.size != 1 or op.value.dtype.kind not in "iuf":
        return None
    return float(op.value.reshape(()))


def _chooser(ufunc: np.ufunc, is_max: bool) -> Rule:
    """``max``/``min``: numpy's ufunc where it agrees with XLA's signed zeros and NaN.

    Integers and booleans: always. Floats: against a known scalar ``c`` that is neither zero nor
    NaN (no tie between zeros can arise); and ``max`` against ``c = +0.0``, adding ``+0.0``
    afterwards to turn a ``-0.0`` (a tie between zeros numpy may settle either way) into XLA's
    ``+0.0`` (``x + 0.0`` is ``x`` for every other ``x``).
    """

    def rule(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
        dtype = ops[0].aval.dtype
        if not _plain(dtype) or dtype.kind not in "biuf":
            return None
        if dtype.kind != "f":
            return _ufunc(ufunc, outs)
        right, left = _known_scalar(ops[1]), _known_scalar(ops[0])
        c = right if right is not None else left
        if c is None or math.isnan(c):
            return None
        if c != 0:
            return _ufunc(ufunc, outs)
        if not is_max or math.copysign(1.0, c) < 0:
            return None
        zero, shape = np.zeros((), dtype), outs[0].shape

        def into(x: NDArray, y: NDArray, out: NDArray) -> NDArray:
            ufunc(x, y, out=out)
            result: NDArray = np.add(out, zero, out=out)
            return result

        def fresh(x: NDArray, y: NDArray) -> NDArray:
            return into(x, y, np.empty(shape, dtype))

        return Prepared(fresh, fresh=True, into=into, broadcasts=True)

    return rule


_RULES[ew.max_p] = _chooser(np.maximum, is_max=True)
_RULES[ew.min_p] = _chooser(np.minimum, is_max=False)


def _select_n(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    """Two cases and a boolean predicate: ``np.where``.

    Cases that are known scalars are looked up (``np.where`` with scalars is slow): ``pred ? 1
    : 0`` is a cast of the predicate, other pairs a ``take`` from the two values.
    """
    if len(ops) != 3 or ops[0].aval.dtype != np.bool_ or not _plain(outs[0].dtype):
        return None
    dtype, full = outs[0].dtype, ops[0].shape == outs[0].shape
    known = [op.value.reshape(()) for op in ops[1:] if op.value is not None and op.value.size == 1]
    if full and len(known) == 2:
        if_false, if_true = known
        zero_one = dtype.kind in "iuf" and if_false == 0 and if_true == 1
        if zero_one and not np.signbit(if_false):

            def cast(which: NDArray, if_false: NDArray, if_true: NDArray) -> NDArray:
                return which.astype(dtype)

            return Prepared(cast, fresh=True, broadcasts=True)
        table = np.array([if_false, if_true], dtype)

        def look_up(which: NDArray, if_false: NDArray, if_true: NDArray) -> NDArray:
            return table.take(which.view(np.uint8))

        fn = _scalar_result(look_up) if outs[0].ndim == 0 else look_up
        return Prepared(fn, fresh=True, broadcasts=True)

    def where(which: NDArray, if_false: NDArray, if_true: NDArray) -> NDArray:
        return np.where(which, if_true, if_false)

    return Prepared(where, fresh=True, broadcasts=True)


_RULES[ew.select_n_p] = _select_n


def _convert(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    """A cast numpy's ``astype`` does as XLA: not from complex to real, not float to integer."""
    old, new = ops[0].aval.dtype, outs[0].dtype
    if (old.kind == "c" and new.kind != "c") or (old.kind == "f" and new.kind in "iu"):
        return None

    def convert(x: NDArray) -> NDArray:
        return x.astype(new)

    return Prepared(convert, fresh=True)


_RULES[ew.convert_element_type_p] = _convert


# ---------------------------------------------------------------------------------------------
# Shapes: views


def _reshape(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    if params.get("dimensions") is not None:
        return None
    shape = outs[0].shape

    def reshape(x: NDArray) -> NDArray:
        return x.reshape(shape)

    return Prepared(reshape)


def _transpose(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    permutation = tuple(params["permutation"])

    def transpose(x: NDArray) -> NDArray:
        return x.transpose(permutation)

    return Prepared(transpose)


def _squeeze(ops: Operands, params: Params, outs: Avals) -> Prepared:
    shape = outs[0].shape

    def squeeze(x: NDArray) -> NDArray:
        return x.reshape(shape)  # dropping size-1 axes is a reshape

    return Prepared(squeeze)


_RULES[sh.reshape_p] = _reshape
_RULES[sh.squeeze_p] = _squeeze
_RULES[sh.transpose_p] = _transpose


def broadcast_shape(operand: ShapedArray, params: Params) -> tuple[int, ...]:
    """The operand of ``broadcast_in_dim`` reshaped to the result's rank (size-1 axes added)."""
    expanded = [1] * len(params["shape"])
    for size, dim in zip(operand.shape, params["broadcast_dimensions"], strict=True):
        expanded[dim] = size
    return tuple(expanded)


def unmaterialised_broadcast(operand: ShapedArray, params: Params) -> StepFn | None:
    """``broadcast_in_dim`` left for numpy to broadcast: a reshape (None: nothing to do)."""
    shape = broadcast_shape(operand, params)
    if operand.ndim == 0 or shape == operand.shape:
        return None

    def expand(x: NDArray) -> NDArray:
        return x.reshape(shape)

    return expand


# ---------------------------------------------------------------------------------------------
# Contractions and reductions


def dot_general_step(
    lhs: ShapedArray,
    rhs: ShapedArray,
    dimension_numbers: la.CanonicalDimensionNumbers,
    preferred_element_type: DType | None,
    out: ShapedArray,
) -> StepFn:
    """``dot_general`` as one ``np.matmul`` of (batched) matrices that are views where possible.

    The operands are transposed to (batch, free, contracting) and (batch, contracting, free)
    as views; numpy hands transposed matrices to BLAS without copying them. Reshapes (which may
    copy) happen only where there are several free or contracting dims, and a batch axis only
    where there are batch dims.
    """
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    out_dtype = la.dot_result_dtype(lhs.dtype, rhs.dtype, preferred_element_type)
    dtype = compute_dtype(lhs.dtype, rhs.dtype, out_dtype)
    lhs_free = la.free_dims(lhs.ndim, lhs_contract, lhs_batch)
    rhs_free = la.free_dims(rhs.ndim, rhs_contract, rhs_batch)
    lhs_perm = (*lhs_batch, *lhs_free, *lhs_contract)
    rhs_perm = (*rhs_batch, *rhs_contract, *rhs_free)
    n_batch = math.prod(lhs.shape[d] for d in lhs_batch)
    m = math.prod(lhs.shape[d] for d in lhs_free)
    k = math.prod(lhs.shape[d] for d in lhs_contract)
    n = math.prod(rhs.shape[d] for d in rhs_free)
    lhs_matrix = (n_batch, m, k) if lhs_batch else (m, k)
    rhs_matrix = (n_batch, k, n) if lhs_batch else (k, n)
    out_shape = out.shape

    def operand(
        aval: ShapedArray, perm: tuple[int, ...], matrix: tuple[int, ...]
    ) -> Callable[[NDArray], NDArray]:
        identity = perm == tuple(range(aval.ndim))
        reshaped = tuple(aval.shape[d] for d in perm) != matrix
        cast = aval.dtype != dtype

        def as_matrix(x: NDArray) -> NDArray:
            if not identity:
                x = x.transpose(perm)
            if reshaped:
                x = x.reshape(matrix)
            return x.astype(dtype) if cast else x

        return as_matrix

    as_lhs = operand(lhs, lhs_perm, lhs_matrix)
    as_rhs = operand(rhs, rhs_perm, rhs_matrix)
    recast = dtype != out_dtype
    reshaped = (*lhs_matrix[:-1], rhs_matrix[-1]) != out_shape

    def dot(x: NDArray, y: NDArray) -> NDArray:
        result: NDArray = np.matmul(as_lhs(x), as_rhs(y))
        if recast:
            result = result.astype(out_dtype)
        return result.reshape(out_shape) if reshaped else result

    return dot


def _dot_general(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    lhs, rhs = ops[0].aval, ops[1].aval
    if not (_plain(lhs.dtype) and _plain(rhs.dtype) and _plain(outs[0].dtype)):
        return None
    if outs[0].size == 0 or lhs.size == 0 or rhs.size == 0:
        return None  # numpy's empty matmuls: leave to the reference
    fn = dot_general_step(
        lhs, rhs, params["dimension_numbers"], params["preferred_element_type"], outs[0]
    )
    return Prepared(fn, fresh=True)


_RULES[la.dot_general_p] = _dot_general


def _reduce_sum(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
    axes = tuple(params["axes"])
    dtype = ops[0].aval.dtype
    if not axes or not _plain(dtype):
        return None
    scalar = outs[0].ndim == 0

    def reduce_sum(x: NDArray) -> NDArray:
        result: NDArray = np.add.reduce(x, axis=axes, dtype=dtype)
        return np.asarray(result) if scalar else result

    return Prepared(reduce_sum, fresh=True)


_RULES[rd.reduce_sum_p] = _reduce_sum


def _reduce_chooser(prim: Primitive, ufunc: np.ufunc, identity: Callable[[DType], NDArray]) -> Rule:
    """``reduce_max``/``reduce_min``: the ufunc's reduction, which is the reference's result
    unless a float result is zero (then the reference settles the zero's sign)."""

    def rule(ops: Operands, params: Params, outs: Avals) -> Prepared | None:
        axes, dtype = tuple(params["axes"]), ops[0].aval.dtype
        if not axes or not _plain(dtype) or dtype.kind not in "biuf":
            return None
        reference, start = impls[prim], identity(dtype)
        floats, scalar = dtype.kind == "f", outs[0].ndim == 0

        def reduce(x: NDArray) -> NDArray:
            result: NDArray = ufunc.reduce(x, axis=axes, initial=start)
            if floats and (result == 0).any():
                return np.asarray(reference(x, axes=axes))
            return np.asarray(result) if scalar else result

        return Prepared(reduce, fresh=True)

    return rule


_RULES[rd.reduce_max_p] = _reduce_chooser(rd.reduce_max_p, np.maximum, max_identity)
_RULES[rd.reduce_min_p] = _reduce_chooser(rd.reduce_min_p, np.minimum, min_identity)


def register(prim: Primitive, rule: Rule) -> None:
    """Make ``rule`` the speed path of ``prim`` (for rules that need the backend, as calls)."""
    _RULES[prim] = rule
