"""Forward-mode differentiation: the JVP trace and the JVP rule table.

A :class:`JVPTracer` carries a primal value and its tangent. Applying a primitive to such tracers
runs the primitive's JVP rule, with the parent trace current, producing the output primal and
tangent together. Tangents may be *symbolic zeros* (:class:`Zero`): a rule whose tangents are all
zero is skipped entirely, and integer or boolean values get ``float0`` zero tangents, as in JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np

from refjax import dtypes
from refjax.errors import missing_rule_message
from refjax.interp.ad_util import add_any
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
    call_jaxpr,
    concrete_array,
    current_trace,
    get_aval,
    new_trace,
    set_current_trace,
    tracer_text,
)
from refjax.interp.staging import trace_to_jaxpr

# ---------------------------------------------------------------------------------------------
# Tangents


@dataclass(frozen=True, slots=True)
class Zero:
    """A symbolic zero tangent of a given aval: never materialised unless a rule needs it."""

    aval: ShapedArray

    @staticmethod
    def from_primal(x: ArrayLike) -> Zero:
        """The zero tangent for primal value ``x``."""
        return Zero(tangent_aval(get_aval(x)))


Tangent: TypeAlias = Array | Zero


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """The aval of tangents of ``aval``: same shape; ``float0`` for integer and bool primals."""
    if dtypes.is_float(aval.dtype):
        return aval
    return ShapedArray(aval.shape, dtypes.float0, False)


def zeros_like_aval(aval: ShapedArray) -> Array:
    """A concrete array of zeros of ``aval`` (``float0`` zeros included)."""
    return concrete_array(np.zeros(aval.shape, aval.dtype), aval)


def instantiate_tangent(t: Tangent) -> Array:
    """Alias of :func:`instantiate` (reads better where ``instantiate`` is a parameter)."""
    return instantiate(t)


def instantiate(t: Tangent) -> Array:
    """A tangent as an array: symbolic zeros become broadcast zeros."""
    if not isinstance(t, Zero):
        return t
    if t.aval.dtype == dtypes.float0:
        return zeros_like_aval(t.aval)
    from refjax.primitives.shape import broadcast_in_dim

    scalar = zeros_like_aval(t.aval.update(shape=()))
    return broadcast_in_dim(scalar, t.aval.shape, ()) if t.aval.shape else scalar


def add_tangents(x: Tangent, y: Tangent) -> Tangent:
    """Sum of two tangents of the same aval, skipping symbolic zeros."""
    if isinstance(x, Zero):
        return y
    if isinstance(y, Zero):
        return x
    return add_any(x, y)


# ---------------------------------------------------------------------------------------------
# The rule table and the helpers that build rules for families of primitives

# rule(primals, tangents, **params) -> (primals_out, tangents_out): one list entry per output,
# whether the primitive has one result or several.
JvpRule: TypeAlias = Callable[..., tuple[Sequence[ArrayLike], Sequence["Tangent"]]]
jvp_rules: dict[Primitive, JvpRule] = {}

# fn(tangent_i, *primals, **params) -> the output tangent's contribution from input i
TangentFn: TypeAlias = Callable[..., Array]


def defjvp(prim: Primitive, *fns: TangentFn | None) -> None:
    """JVP as a sum over inputs of ``fns[i](t_i, *primals)``; None: not differentiable there."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: ParamValue
    ) -> tuple[list[Array], list[Tangent]]:
        out = prim.bind(*primals, **params)
        total: Tangent = Zero.from_primal(out)
        for fn, t in zip(fns, tangents, strict=True):
            if fn is not None and not isinstance(t, Zero):
                total = add_tangents(total, fn(t, *primals, **params))
        return [out], [total]

    jvp_rules[prim] = rule


def defjvp2(prim: Primitive, *fns: TangentFn | None) -> None:
    """Like :func:`defjvp`, but each ``fns[i](t_i, ans, *primals)`` also sees the output."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: ParamValue
    ) -> tuple[list[Array], list[Tangent]]:
        out = prim.bind(*primals, **params)
        total: Tangent = Zero.from_primal(out)
        for fn, t in zip(fns, tangents, strict=True):
            if fn is not None and not isinstance(t, Zero):
                total = add_tangents(total, fn(t, out, *primals, **params))
        return [out], [total]

    jvp_rules[prim] = rule


def defjvp_zero(prim: Primitive) -> None:
    """A primitive with zero derivative everywhere (comparisons, floor, argmax, bitwise ops)."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: ParamValue
    ) -> tuple[list[Array], list[Tangent]]:
        outs = prim.bind_all(*primals, **params)
        return outs, [Zero.from_primal(o) for o in outs]

    jvp_rules[prim] = rule


def deflinear_jvp(prim: Primitive) -> None:
    """JVP of a primitive linear in all its operands: apply it to the tangents (registered by
    ``transpose.deflinear``/``deflinear2`` together with the transpose)."""

    def rule(
        primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: ParamValue
    ) -> tuple[list[Array], list[Array]]:
        outs = prim.bind_all(*primals, **params)
        return outs, prim.bind_all(*[instantiate(t) for t in tangents], **params)

    jvp_rules[prim] = rule


def jvp_rule(prim: Primitive) -> JvpRule:
    """The JVP rule of ``prim``, or JAX's NotImplementedError naming it."""
    try:
        return jvp_rules[prim]
    except KeyError:
        raise NotImplementedError(missing_rule_message(prim.name, "jvp")) from None


# ---------------------------------------------------------------------------------------------
# The trace


class JVPTracer(Tracer):
    """A primal value with its tangent, both values of the parent trace."""

    __slots__ = ("primal", "tangent")

    def __init__(self, trace: JVPTrace, primal: ArrayLike, tangent: Tangent) -> None:
        super().__init__(trace)
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self) -> ShapedArray:
        """The primal's aval."""
        return get_aval(self.primal)

    def _concrete_value(self) -> NDArray | None:
        if isinstance(self.primal, Array):
            return self.primal._concrete_value()
        return np.asarray(self.primal)

    def _short_repr(self) -> str:
        primal, tangent = tracer_text(self.primal), self.tangent
        if isinstance(tangent, Tracer) and tangent._trace.linearizes:
            return f"GradTracer(primal={primal}, typeof(tangent)={tangent.aval.str_short(True)})"
        return f"JVPTracer(primal={primal}, tangent={tracer_text(tangent)})"


class JVPTrace(Trace):
    """Forward-mode differentiation: every primitive runs its JVP rule."""

    __slots__ = ()

    def lift(self, x: ArrayLike) -> tuple[ArrayLike, Tangent]:
        """(primal, tangent) of ``x``: a constant here has a zero tangent."""
        if isinstance(x, JVPTracer) and x._trace is self:
            return x.primal, x.tangent
        if isinstance(x, Tracer):
            self.check_foreign(x)
        return x, Zero.from_primal(x)

    def process_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        pairs = [self.lift(a) for a in args]
        primals = [p for p, _ in pairs]
        tangents = [t for _, t in pairs]
        with set_current_trace(self.parent or self):
            if all(isinstance(t, Zero) for t in tangents):
                return prim.bind_all(*primals, **params)
            outs, touts = jvp_rule(prim)(primals, tangents, **params)
        return [self.wrap(p, t) for p, t in zip(outs, touts, strict=True)]

    def wrap(self, primal: object, tangent: object) -> Array:
        """A tracer for (primal, tangent); a zero tangent leaves the primal as a constant."""
        assert isinstance(primal, Array), primal
        if isinstance(tangent, Zero):
            return primal
        assert isinstance(tangent, Array), tangent
        return JVPTracer(self, primal, tangent)


# ---------------------------------------------------------------------------------------------
# The entry point: forward mode on flat arrays (``api.jvp`` adds pytrees and argument checks)


def jvp_flat(
    fun: Callable[..., Sequence[ArrayLike]],
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
) -> tuple[list[Array], list[Tangent]]:
    """``fun``'s outputs at ``primals`` and their tangents along ``tangents`` (symbolic zeros
    where an output does not depend on a nonzero tangent)."""
    trace = JVPTrace(current_trace())
    with new_trace(trace):
        ins = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents, strict=True)]
        pairs = [trace.lift(o) for o in fun(*ins)]
    return [as_array(p) for p, _ in pairs], [t for _, t in pairs]


# ---------------------------------------------------------------------------------------------
# Transforming whole jaxprs (used by the rules of higher-order primitives)


def jvp_jaxpr(closed: ClosedJaxpr, nonzeros: tuple[bool, ...]) -> ClosedJaxpr:
    """The JVP of ``closed``: primals then nonzero tangents in; primals then all tangents out."""
    jaxpr, _ = jvp_jaxpr_nonzeros(closed, nonzeros, (True,) * len(closed.out_avals))
    return jaxpr


@functools.lru_cache(maxsize=1024)
def jvp_jaxpr_nonzeros(
    closed: ClosedJaxpr, nonzeros: tuple[bool, ...], instantiate: tuple[bool, ...]
) -> tuple[ClosedJaxpr, list[bool]]:
    """The JVP of ``closed`` and which output tangents it returns (nonzero or instantiated).

    Inputs: primals, then the tangents marked in ``nonzeros``. Outputs: primals, then the
    tangents that are nonzero or forced by ``instantiate``.
    """
    n = len(nonzeros)
    tangent_avals = [tangent_aval(a) for a, nz in zip(closed.in_avals, nonzeros, strict=True) if nz]
    out_nonzeros: list[bool] = []

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        primals, tangents = args[:n], iter(args[n:])
        tangents_in = [
            as_array(next(tangents)) if nz else Zero.from_primal(p)
            for p, nz in zip(primals, nonzeros, strict=True)
        ]
        primals_out, tangents_out = jvp_flat(
            lambda *ins: call_jaxpr(closed, ins), primals, tangents_in
        )
        keep = [
            not isinstance(t, Zero) or f for t, f in zip(tangents_out, instantiate, strict=True)
        ]
        out_nonzeros.extend(keep)
        kept = [instantiate_tangent(t) for t, k in zip(tangents_out, keep, strict=True) if k]
        return [*primals_out, *kept]

    jaxpr = trace_to_jaxpr(fn, [*closed.in_avals, *tangent_avals])
    return jaxpr, out_nonzeros
