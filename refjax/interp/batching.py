"""Batching (``vmap``): the batch trace and the batching rule table.

A :class:`BatchTracer` holds a value with one extra axis, the batch axis, at position
``batch_dim`` (or ``not_mapped``: the value is the same for every batch element). A primitive
applied to batch tracers runs its batching rule, which computes the whole batch at once and says
where the batch axis of each output is. Rules keep the batch axis where it is when they can.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Sequence
from typing import Final, TypeAlias

from refjax.errors import missing_rule_message
from refjax.interp.ad_util import add_any, add_any_p
from refjax.interp.axes import AxisFrame, AxisName, extend_axis_env, uses_axis
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    NDArray,
    Params,
    ParamValue,
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    as_array,
    aval_text,
    call_jaxpr,
    current_trace,
    get_aval,
    new_trace,
    set_current_trace,
)
from refjax.interp.staging import trace_to_jaxpr
from refjax.tree_util import PyTree, PyTreeDef, tree_flatten, tree_unflatten

BatchDim: TypeAlias = int | None
not_mapped: Final = None

# rule(args, dims, **params) -> (outs, out_dims): one list entry per output, whether the
# primitive has one result or several.
BatchingRule: TypeAlias = Callable[..., tuple[Sequence[ArrayLike], Sequence[BatchDim]]]
batching_rules: dict[Primitive, BatchingRule] = {}


def batching_rule(prim: Primitive) -> BatchingRule:
    """The batching rule of ``prim``, or JAX's NotImplementedError naming it."""
    try:
        return batching_rules[prim]
    except KeyError:
        raise NotImplementedError(missing_rule_message(prim.name, "batching")) from None


# ---------------------------------------------------------------------------------------------
# Moving batch axes


def batch_size(args: Sequence[ArrayLike], dims: Sequence[BatchDim]) -> int:
    """The size of the batch axis, read off the first batched operand (the size of the axis
    being batched when none is: a rule run because its jaxpr uses the axis's name)."""
    sizes = (get_aval(a).shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    size = next(sizes, None)
    return batch_axis().size if size is None else size


# The axis of the batch trace whose rule is running: a rule that batches a jaxpr (a ``jit`` body,
# a ``cond`` branch) batches it along the same named axis, and a collective's rule reads the
# axis's name and size (JAX passes its ``axis_data`` to such rules).
_batch_axis: contextvars.ContextVar[AxisFrame] = contextvars.ContextVar("refjax_batch_axis")


def batch_axis() -> AxisFrame:
    """The axis (name, or None if unnamed, and size) being batched by the running rule."""
    return _batch_axis.get()


def moveaxis(x: ArrayLike, src: int, dst: int) -> Array:
    """``x`` with axis ``src`` moved to position ``dst`` (a transpose, or nothing)."""
    from refjax.primitives.shape import transpose

    ndim = get_aval(x).ndim
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return as_array(x)
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, tuple(perm))


def broadcast_batch(x: ArrayLike, size: int, dim: int) -> Array:
    """An unbatched value given a batch axis of ``size`` at position ``dim``."""
    from refjax.primitives.shape import broadcast_in_dim

    aval = get_aval(x)
    shape = list(aval.shape)
    shape.insert(dim, size)
    kept = tuple(i for i in range(len(shape)) if i != dim)
    return broadcast_in_dim(x, tuple(shape), kept)


def bdim_at(x: ArrayLike, dim: BatchDim, size: int, dst: int = 0) -> Array:
    """``x`` with its batch axis at ``dst`` (broadcast there if it was not mapped)."""
    if dim is None:
        return broadcast_batch(x, size, dst % (get_aval(x).ndim + 1))
    return moveaxis(x, dim, dst)


def _add_any_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[Array], list[BatchDim]]:
    x, y = args
    dx, dy = dims
    if dx == dy:
        return [add_any(x, y)], [dx]
    batched, d = (x, dx) if dx is not None else (y, dy)
    assert d is not None  # batching rules run only when some operand is batched
    size = get_aval(batched).shape[d]
    return [add_any(bdim_at(x, dx, size, 0), bdim_at(y, dy, size, 0))], [0]


batching_rules[add_any_p] = _add_any_batch


# ---------------------------------------------------------------------------------------------
# Rule builders for families of primitives


def defvectorized(prim: Primitive) -> None:
    """Batching for elementwise unary primitives: apply as is; the batch axis stays put."""

    def rule(
        args: Sequence[ArrayLike], dims: Sequence[BatchDim], **params: ParamValue
    ) -> tuple[list[Array], list[BatchDim]]:
        (x,), (d,) = args, dims
        return [prim.bind(x, **params)], [d]

    batching_rules[prim] = rule


def defbroadcasting(prim: Primitive) -> None:
    """Batching for n-ary elementwise primitives with lax broadcasting (rank-0 and size-1 axes)."""

    def rule(
        args: Sequence[ArrayLike], dims: Sequence[BatchDim], **params: ParamValue
    ) -> tuple[list[Array], list[BatchDim]]:
        operands, out_dim = broadcast_batched_operands(args, dims)
        outs = prim.bind_all(*operands, **params)
        return outs, [out_dim] * len(outs)

    batching_rules[prim] = rule


def broadcast_batched_operands(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[ArrayLike], int]:
    """Operands of an elementwise op aligned so lax broadcasting applies; the output batch axis.

    If every batched operand has its batch axis at the same place and the same rank, and the
    unbatched ones are scalars, nothing moves. Otherwise batch axes go to the front and every
    operand of lower rank gains size-1 axes.
    """
    avals = [get_aval(a) for a in args]
    batched = [(av, d) for av, d in zip(avals, dims, strict=True) if d is not None]
    first_aval, first_dim = batched[0]
    if all(
        (d is None and av.ndim == 0) or (d == first_dim and av.ndim == first_aval.ndim)
        for av, d in zip(avals, dims, strict=True)
    ):
        return list(args), first_dim
    rank = max(av.ndim - (d is not None) for av, d in zip(avals, dims, strict=True)) + 1
    return [_align(a, av, d, rank) for a, av, d in zip(args, avals, dims, strict=True)], 0


def _align(x: ArrayLike, aval: ShapedArray, dim: BatchDim, rank: int) -> ArrayLike:
    """Batch axis to the front, then size-1 axes so the operand has ``rank`` dims."""
    from refjax.primitives.shape import broadcast_in_dim

    if dim is None:
        if aval.ndim == 0:
            return x
        return broadcast_in_dim(x, (1, *aval.shape), tuple(range(1, aval.ndim + 1)))
    moved = moveaxis(x, dim, 0)
    if aval.ndim == rank:
        return moved
    size, rest = aval.shape[dim], [s for i, s in enumerate(aval.shape) if i != dim]
    shape = (size, *([1] * (rank - aval.ndim)), *rest)
    keep = (0, *range(rank - len(rest), rank))
    return broadcast_in_dim(moved, shape, keep)


# ---------------------------------------------------------------------------------------------
# The trace


class BatchTracer(Tracer):
    """A value with a batch axis at ``batch_dim``; its aval is that of one batch element."""

    __slots__ = ("val", "batch_dim")

    def __init__(self, trace: BatchTrace, val: ArrayLike, batch_dim: int) -> None:
        super().__init__(trace)
        self.val = val
        self.batch_dim = batch_dim

    @property
    def aval(self) -> ShapedArray:
        """The aval of one batch element."""
        aval = get_aval(self.val)
        shape = aval.shape[: self.batch_dim] + aval.shape[self.batch_dim + 1 :]
        return aval.update(shape=shape)

    def _concrete_value(self) -> NDArray | None:
        return None

    def _short_repr(self) -> str:
        return f"VmapTracer(aval={aval_text(self.aval)}, batched={aval_text(get_aval(self.val))})"


class BatchTrace(Trace):
    """Batching: every primitive runs its batching rule on whole batches."""

    __slots__ = ("axis_size", "axis_name")

    def __init__(self, parent: Trace | None, axis_size: int, axis_name: AxisName = None) -> None:
        super().__init__(parent)
        self.axis_size = axis_size
        self.axis_name = axis_name

    def lift(self, x: ArrayLike) -> tuple[ArrayLike, BatchDim]:
        """(value, batch dim) of ``x``: a constant here is not mapped."""
        if isinstance(x, BatchTracer) and x._trace is self:
            return x.val, x.batch_dim
        if isinstance(x, Tracer):
            self.check_foreign(x)
        return x, not_mapped

    def process_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        pairs = [self.lift(a) for a in args]
        vals = [v for v, _ in pairs]
        dims = [d for _, d in pairs]
        with set_current_trace(self.parent or self):
            if all(d is None for d in dims) and not (
                self.axis_name is not None and uses_axis(prim, params, self.axis_name)
            ):
                return prim.bind_all(*vals, **params)
            token = _batch_axis.set(AxisFrame(self.axis_name, self.axis_size))
            try:
                outs, out_dims = batching_rule(prim)(vals, dims, **params)
            finally:
                _batch_axis.reset(token)
        return [self.wrap(o, d) for o, d in zip(outs, out_dims, strict=True)]

    def wrap(self, val: object, dim: BatchDim) -> Array:
        """A batch tracer for ``val``; an unmapped value is left as a constant."""
        assert isinstance(val, Array), val
        if dim is None:
            return val
        return BatchTracer(self, val, dim % get_aval(val).ndim)


# ---------------------------------------------------------------------------------------------
# Entry points: a function on batches (``api.vmap`` adds pytrees and argument checks)


def vmap_flat(
    fun: Callable[..., Sequence[ArrayLike]],
    args: Sequence[ArrayLike],
    in_dims: Sequence[BatchDim],
    size: int,
    axis_name: AxisName = None,
) -> list[tuple[ArrayLike, BatchDim]]:
    """``fun`` on batches of ``size``: ``args`` mapped along ``in_dims`` (None: unmapped);
    each output with its batch dim (None for an output that does not depend on the batch).
    A named axis is bound (``interp.axes``) while ``fun`` runs, for its collectives."""
    trace = BatchTrace(current_trace(), size, axis_name)
    with new_trace(trace):
        ins = [
            x if d is None else BatchTracer(trace, x, d % get_aval(x).ndim)
            for x, d in zip(args, in_dims, strict=True)
        ]
        if axis_name is None:
            return [trace.lift(o) for o in fun(*ins)]
        with extend_axis_env(axis_name, size):
            return [trace.lift(o) for o in fun(*ins)]


def vmap_leading(fun: Callable[..., PyTree], *args: PyTree, size: int | None = None) -> PyTree:
    """``fun`` mapped over the leading axis (of ``size``, else the first leaf's) of every leaf
    of ``args``, every output stacked along a new leading axis: ``vmap(fun)(*args)`` for rules
    that need one, without the API's argument checks."""
    flat, in_tree = tree_flatten(args)
    size = get_aval(flat[0]).shape[0] if size is None else size
    out_trees: list[PyTreeDef] = []

    def flat_fun(*leaves: ArrayLike) -> list[ArrayLike]:
        out, out_tree = tree_flatten(fun(*tree_unflatten(in_tree, list(leaves))))
        out_trees.append(out_tree)
        return out

    pairs = vmap_flat(flat_fun, flat, [0] * len(flat), size)
    return tree_unflatten(out_trees[0], [bdim_at(v, d, size, 0) for v, d in pairs])


# ---------------------------------------------------------------------------------------------
# Transforming whole jaxprs (used by the rules of higher-order primitives)


def batch_jaxpr(closed: ClosedJaxpr, dims: tuple[BatchDim, ...], size: int) -> ClosedJaxpr:
    """``closed`` batched along ``dims`` (batch axes at the front of every output)."""
    jaxpr, _ = batch_jaxpr_dims(closed, dims, size, (True,) * len(closed.out_avals))
    return jaxpr


def batch_jaxpr_dims(
    closed: ClosedJaxpr, dims: tuple[BatchDim, ...], size: int, force: tuple[bool, ...]
) -> tuple[ClosedJaxpr, list[BatchDim]]:
    """``closed`` batched along ``dims``; outputs batched at 0, or unbatched (None) if not forced.

    Returns the jaxpr and each output's batch dim. Inside a batching rule, the jaxpr is batched
    along the rule's axis, under its name (its collectives act over the batch).
    """
    frame = _batch_axis.get(None)
    name = frame.name if frame is not None and frame.size == size else None
    return _batch_jaxpr_dims(closed, dims, size, force, name)


@functools.lru_cache(maxsize=1024)
def _batch_jaxpr_dims(
    closed: ClosedJaxpr,
    dims: tuple[BatchDim, ...],
    size: int,
    force: tuple[bool, ...],
    axis_name: AxisName,
) -> tuple[ClosedJaxpr, list[BatchDim]]:
    out_dims: list[BatchDim] = []
    avals = []
    for aval, d in zip(closed.in_avals, dims, strict=True):
        shape = list(aval.shape)
        if d is not None:
            shape.insert(d, size)
        avals.append(aval.update(shape=tuple(shape)))

    def fn(*vals: ArrayLike) -> list[ArrayLike]:
        pairs = vmap_flat(lambda *ins: call_jaxpr(closed, ins), vals, dims, size, axis_name)
        out_dims.extend(
            None if d is None and not f else 0 for (_, d), f in zip(pairs, force, strict=True)
        )
        return [
            v if od is None else bdim_at(v, d, size, 0)
            for (v, d), od in zip(pairs, out_dims, strict=True)
        ]

    jaxpr = trace_to_jaxpr(fn, avals)
    return jaxpr, out_dims
