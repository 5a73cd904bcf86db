"""Partial evaluation: split a computation into what is known now and what must be staged.

The :class:`PartialEvalTrace` is a staging trace that stages an equation only when one of its
inputs is *unknown* (one of its own tracers). Equations whose inputs are all known are computed
right away in the parent trace. ``linearize`` runs a JVP trace on top of it with known primals and
unknown tangents: the primal computation happens now, and the tangent computation becomes a
linear jaxpr whose constants are the residuals it needs.

Dead-code elimination (:func:`dce_jaxpr`, as JAX's ``pe.dce_jaxpr``) prunes that linear jaxpr
before anything transposes or evaluates it: equations whose outputs nothing uses are dropped, and
higher-order primitives drop what their bodies don't need through their ``dce_rules``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeAlias

from refjax.dtypes import float0
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Params,
    Primitive,
    ShapedArray,
    Var,
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
    linearizes = True  # its unknowns are the tangents of linearize, vjp and grad

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
    # As JAX's linearize: the linear jaxpr keeps only what its outputs need (every input stays).
    jaxpr, _ = dce_closed_jaxpr(jaxpr, True, instantiate=True, cache=False)
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


# ---------------------------------------------------------------------------------------------
# Dead-code elimination

# rule(used_outputs, eqn) -> (used_inputs, the pruned equation or None to drop it), with one
# entry of used_inputs per invar of ``eqn`` (as JAX's ``pe.dce_rules``). The pruned equation
# keeps the outvars that are used (a higher-order primitive may drop the others).
DceRule: TypeAlias = Callable[[list[bool], JaxprEqn], tuple[list[bool], JaxprEqn | None]]
dce_rules: dict[Primitive, DceRule] = {}
effectful_primitives: set[Primitive] = set()
"""Primitives whose equations are never dead (debug prints, callbacks with effects); an
equation whose params hold a jaxpr with one of them (a scan or a jit around a print) is not
either."""


def has_effects(eqn: JaxprEqn) -> bool:
    """Whether ``eqn`` has an effect: an effectful primitive, or one inside a jaxpr param."""
    if eqn.primitive in effectful_primitives:
        return True
    if not effectful_primitives:
        return False
    return any(_jaxpr_has_effects(j) for v in eqn.params.values() for j in _jaxprs_in(v))


def _jaxprs_in(value: object) -> list[Jaxpr]:
    if isinstance(value, ClosedJaxpr):
        return [value.jaxpr]
    if isinstance(value, Jaxpr):
        return [value]
    if isinstance(value, tuple):
        return [j for v in value for j in _jaxprs_in(v)]
    return []


@functools.lru_cache(maxsize=4096)
def _jaxpr_has_effects(jaxpr: Jaxpr) -> bool:
    return any(has_effects(e) for e in jaxpr.eqns)


def _default_dce_rule(
    used_outputs: list[bool], eqn: JaxprEqn
) -> tuple[list[bool], JaxprEqn | None]:
    """An equation none of whose outputs is used is dropped; any other is kept whole.

    (refjax's primitives have no side effects, so no equation must stay for its effects.)
    """
    if not any(used_outputs):
        return [False] * len(eqn.invars), None
    return [True] * len(eqn.invars), eqn


def dce_jaxpr(
    jaxpr: Jaxpr, used_outputs: Sequence[bool] | bool, instantiate: Sequence[bool] | bool = False
) -> tuple[Jaxpr, list[bool]]:
    """``jaxpr`` keeping only the outputs marked ``used_outputs`` and what computes them.

    Returns the new jaxpr and, per invar, whether it is used; an invar is kept (and reported
    used) when something needs it or ``instantiate`` marks it. Constvars are kept as they are.
    A jaxpr with nothing to remove comes back as the same object.
    """
    if isinstance(used_outputs, bool):
        used_outputs = [used_outputs] * len(jaxpr.outvars)
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(jaxpr.invars)
    new, used_inputs = _dce_jaxpr_cached(jaxpr, tuple(used_outputs), tuple(instantiate))
    return new, list(used_inputs)


@functools.lru_cache(maxsize=1024)
def _dce_jaxpr_cached(
    jaxpr: Jaxpr, used_outputs: tuple[bool, ...], instantiate: tuple[bool, ...]
) -> tuple[Jaxpr, list[bool]]:
    return _dce_jaxpr(jaxpr, used_outputs, instantiate)


def _dce_jaxpr(
    jaxpr: Jaxpr, used_outputs: Sequence[bool], instantiate: Sequence[bool]
) -> tuple[Jaxpr, list[bool]]:
    if len(used_outputs) != len(jaxpr.outvars) or len(instantiate) != len(jaxpr.invars):
        raise ValueError(
            f"dce_jaxpr: {len(used_outputs)} output flags and {len(instantiate)} input flags for "
            f"a jaxpr of {len(jaxpr.outvars)} outputs and {len(jaxpr.invars)} inputs"
        )
    used: set[Var] = set()
    for var, u in zip(jaxpr.outvars, used_outputs, strict=True):
        if u and isinstance(var, Var):
            used.add(var)
    new_eqns: list[JaxprEqn] = []
    for eqn in reversed(jaxpr.eqns):
        rule = dce_rules.get(eqn.primitive, _default_dce_rule)
        used_ins, new_eqn = rule([v in used for v in eqn.outvars], eqn)
        if new_eqn is None and has_effects(eqn):  # an effect stays, with what it reads
            used_ins, new_eqn = [True] * len(eqn.invars), eqn
        if new_eqn is not None:
            new_eqns.append(new_eqn)
        for atom, u in zip(eqn.invars, used_ins, strict=True):
            if u and isinstance(atom, Var):
                used.add(atom)
    used_inputs = [v in used or i for v, i in zip(jaxpr.invars, instantiate, strict=True)]
    new_eqns.reverse()
    if (
        all(used_outputs)
        and all(used_inputs)
        and len(new_eqns) == len(jaxpr.eqns)
        and all(a is b for a, b in zip(new_eqns, jaxpr.eqns, strict=True))
    ):
        return jaxpr, used_inputs
    invars = tuple(v for v, u in zip(jaxpr.invars, used_inputs, strict=True) if u)
    outvars = tuple(v for v, u in zip(jaxpr.outvars, used_outputs, strict=True) if u)
    return Jaxpr(jaxpr.constvars, invars, outvars, tuple(new_eqns)), used_inputs


def dce_closed_jaxpr(
    closed: ClosedJaxpr,
    used_outputs: Sequence[bool] | bool,
    instantiate: Sequence[bool] | bool = False,
    *,
    cache: bool = True,
) -> tuple[ClosedJaxpr, list[bool]]:
    """:func:`dce_jaxpr` on a closed jaxpr, also dropping the constants nothing uses.

    The DCE rules of higher-order primitives use it on their bodies, cached: an unchanged body
    comes back as the same object, and a pruned one as the same new object each time, so the
    caches keyed on it (``transpose_jaxpr``) still hit. A one-off jaxpr whose constants are
    large (``linearize``'s, holding the residuals) is pruned with ``cache=False``.
    """
    if isinstance(used_outputs, bool):
        used_outputs = [used_outputs] * len(closed.jaxpr.outvars)
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(closed.jaxpr.invars)
    prune = _dce_closed_jaxpr_cached if cache else _dce_closed_jaxpr
    new, used_inputs = prune(closed, tuple(used_outputs), tuple(instantiate))
    return new, list(used_inputs)


@functools.lru_cache(maxsize=1024)
def _dce_closed_jaxpr_cached(
    closed: ClosedJaxpr, used_outputs: tuple[bool, ...], instantiate: tuple[bool, ...]
) -> tuple[ClosedJaxpr, list[bool]]:
    return _dce_closed_jaxpr(closed, used_outputs, instantiate)


def _dce_closed_jaxpr(
    closed: ClosedJaxpr, used_outputs: tuple[bool, ...], instantiate: tuple[bool, ...]
) -> tuple[ClosedJaxpr, list[bool]]:
    jaxpr = closed.jaxpr
    n_consts = len(jaxpr.constvars)
    as_inputs = Jaxpr((), jaxpr.constvars + jaxpr.invars, jaxpr.outvars, jaxpr.eqns)
    pruned, used = _dce_jaxpr(as_inputs, used_outputs, (False,) * n_consts + instantiate)
    used_consts, used_inputs = used[:n_consts], used[n_consts:]
    if pruned is as_inputs and all(used_consts):
        return closed, used_inputs
    n_kept = sum(used_consts)
    new = Jaxpr(pruned.invars[:n_kept], pruned.invars[n_kept:], pruned.outvars, pruned.eqns)
    consts = tuple(c for c, u in zip(closed.consts, used_consts, strict=True) if u)
    return ClosedJaxpr(new, consts), used_inputs
