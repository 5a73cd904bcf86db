"""Partial evaluation: split a computation into what is known now and what must be staged.

The :class:`PartialEvalTrace` is a staging trace that stages an equation only when one of its
inputs is *unknown* (one of its own tracers). Equations whose inputs are all known are computed
right away in the parent trace. ``linearize`` runs a JVP trace on top of it with known primals and
unknown tangents: the primal computation happens now, and the tangent computation becomes a
linear jaxpr whose constants are the residuals it needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from refjax.dtypes import float0
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    Params,
    Primitive,
    ShapedArray,
    as_array,
    call_jaxpr,
    current_trace,
    new_trace,
    set_current_trace,
)
from refjax.interp.jvp import JVPTrace, JVPTracer, Tangent, Zero, instantiate
from refjax.interp.staging import DebugInfo, StagingTrace, StagingTracer, hoist_consts

# rule(trace, args, **params) -> outputs, for higher-order primitives that can split their body.
PartialEvalRule = Callable[..., list[Array]]
partial_eval_rules: dict[Primitive, PartialEvalRule] = {}


class PartialEvalTrace(StagingTrace):
    """Stages equations with an unknown input; computes the others now, in the parent trace."""

    __slots__ = ()

    def is_unknown(self, x: ArrayLike) -> bool:
        """Whether ``x`` is one of this trace's (unknown) tracers."""
        return isinstance(x, StagingTracer) and x._trace is self

    def process_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        if not any(self.is_unknown(a) for a in args):
            with set_current_trace(self.parent or self):
                return prim.bind_all(*args, **params)
        rule = partial_eval_rules.get(prim)
        if rule is not None:
            return rule(self, args, **params)
        return super().process_primitive(prim, args, params)


def linearize_flat(
    fn: Callable[..., Sequence[ArrayLike]],
    primals: Sequence[ArrayLike],
    tangent_avals: Sequence[ShapedArray],
    debug: DebugInfo | None = None,
) -> tuple[list[Array], ClosedJaxpr, list[bool]]:
    """Primal outputs of ``fn`` now, and the linear jaxpr mapping input to output tangents.

    Also returns, per output, whether its tangent is a symbolic zero (the jaxpr then returns
    explicit zeros for it).
    """
    pe = PartialEvalTrace(current_trace(), debug)
    with new_trace(pe):
        tangents_in = [pe.new_arg(aval) for aval in tangent_avals]
        jvp_trace = JVPTrace(pe)
        with new_trace(jvp_trace):
            ins = [
                JVPTracer(jvp_trace, p, Zero(t.aval) if t.aval.dtype == float0 else t)
                for p, t in zip(primals, tangents_in, strict=True)
            ]
            outs = list(fn(*ins))
        pairs = [jvp_trace.lift(o) for o in outs]
        zero_outs = [isinstance(t, Zero) for _, t in pairs]
        tangents_out = [_as_tangent_out(t) for _, t in pairs]
        jaxpr = pe.to_closed_jaxpr(tangents_out)
    primals_out = [_known(p, pe) for p, _ in pairs]
    return primals_out, jaxpr, zero_outs


def _as_tangent_out(t: Tangent) -> ArrayLike:
    return instantiate(t)


def _known(x: ArrayLike, pe: PartialEvalTrace) -> Array:
    """A primal output must be known: computed now, not staged."""
    if pe.is_unknown(x):
        raise NotImplementedError(
            "linearize: a primal output depends on tangents; a higher-order primitive is missing "
            "its partial-evaluation rule"
        )
    return as_array(x)


# ---------------------------------------------------------------------------------------------
# Transforming whole jaxprs (used by the rules of higher-order primitives)


def partial_eval_jaxpr(
    closed: ClosedJaxpr, unknowns: Sequence[bool], instantiate: Sequence[bool] | bool = False
) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    """Split ``closed`` into a known jaxpr (known inputs -> known outputs + residuals) and an
    unknown jaxpr (residuals + unknown inputs -> unknown outputs).

    Outputs marked in ``instantiate`` are made unknown even when they could be known (their
    value then travels as a residual). Returns both jaxprs, which outputs are unknown, and the
    number of residuals.
    """
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(closed.out_avals)
    return _partial_eval_jaxpr(closed, tuple(unknowns), tuple(instantiate))


@functools.lru_cache(maxsize=1024)
def _partial_eval_jaxpr(
    closed: ClosedJaxpr, unknowns: tuple[bool, ...], instantiate: tuple[bool, ...]
) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    known_avals = [a for a, u in zip(closed.in_avals, unknowns, strict=True) if not u]
    unknown_avals = [a for a, u in zip(closed.in_avals, unknowns, strict=True) if u]
    stage = StagingTrace(current_trace())
    with new_trace(stage):
        known_args = iter([stage.new_arg(a) for a in known_avals])
        pe = PartialEvalTrace(stage)
        with new_trace(pe):
            unknown_args = iter([pe.new_arg(a) for a in unknown_avals])
            ins = [next(unknown_args) if u else next(known_args) for u in unknowns]
            outs = call_jaxpr(closed, ins)
            out_unknowns = [
                pe.is_unknown(o) or f for o, f in zip(outs, instantiate, strict=True)
            ]
            unknown_outs = [o for o, u in zip(outs, out_unknowns, strict=True) if u]
            unknown_jaxpr = pe.to_closed_jaxpr(unknown_outs)
        residuals = list(unknown_jaxpr.consts)
        known_outs = [o for o, u in zip(outs, out_unknowns, strict=True) if not u]
        known_jaxpr = stage.to_closed_jaxpr([*known_outs, *residuals])
    staged_unknown, _ = hoist_consts(unknown_jaxpr)
    return known_jaxpr, staged_unknown, out_unknowns, len(residuals)
