"""The ``jit`` call primitive: a staged function applied to arguments.

``jit_p`` holds a closed jaxpr as its ``jaxpr`` param. Every transformation handles it by
transforming the jaxpr and binding ``jit_p`` again, so ``grad(jit(f))``, ``jit(grad(f))``,
``vmap(jit(f))`` and ``jit(jit(f))`` all stay staged, and ``make_jaxpr`` shows the nested call.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from refjax.interp.batching import BatchDim, BatchTrace, BatchTracer, batching_rules, bdim_at
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    Jaxpr,
    ShapedArray,
    as_array,
    current_trace,
    eval_jaxpr,
    get_aval,
    new_trace,
)
from refjax.interp.jvp import JVPTrace, JVPTracer, Tangent, Zero, instantiate, jvp_rules
from refjax.interp.partial_eval import PartialEvalTrace, partial_eval_rules
from refjax.interp.staging import StagingTrace, trace_to_jaxpr
from refjax.interp.transpose import (
    Cotangent,
    UndefinedPrimal,
    backward_pass,
    transpose_rules,
)
from refjax.primitives.common import standard_primitive

__all__: list[str] = []


def _jit_abstract_eval(*avals: ShapedArray, jaxpr: ClosedJaxpr, name: str) -> list[ShapedArray]:
    expected = jaxpr.in_avals
    if len(avals) != len(expected) or any(
        (a.shape, a.dtype) != (e.shape, e.dtype) for a, e in zip(avals, expected, strict=False)
    ):
        got = ", ".join(a.str_short() for a in avals)
        want = ", ".join(e.str_short() for e in expected)
        raise TypeError(f"jit {name} called with arguments of type ({got}), expected ({want})")
    return jaxpr.out_avals


jit_p = standard_primitive("jit", _jit_abstract_eval, multiple_results=True)


def call_jaxpr(closed: ClosedJaxpr, args: Sequence[ArrayLike]) -> list[Array]:
    """Evaluate a closed jaxpr on ``args`` in the current trace (an inlined call)."""
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def hoist_consts(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list[ArrayLike]]:
    """The same computation with its constants as leading inputs, and those constants."""
    jaxpr = closed.jaxpr
    hoisted = Jaxpr((), jaxpr.constvars + jaxpr.invars, jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(hoisted, ()), list(closed.consts)


# ---------------------------------------------------------------------------------------------
# JVP: differentiate the body; primals and nonzero tangents in, primals and tangents out.


@functools.lru_cache(maxsize=1024)
def jvp_jaxpr(closed: ClosedJaxpr, nonzeros: tuple[bool, ...]) -> ClosedJaxpr:
    """The JVP of ``closed`` taking primals then the tangents marked nonzero."""
    n = len(nonzeros)
    tangent_avals = [a for a, nz in zip(closed.in_avals, nonzeros, strict=True) if nz]

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        primals, tangents = args[:n], iter(args[n:])
        trace = JVPTrace(current_trace())
        with new_trace(trace):
            ins = [
                JVPTracer(trace, p, as_array(next(tangents))) if nz else p
                for p, nz in zip(primals, nonzeros, strict=True)
            ]
            pairs = [trace.lift(o) for o in call_jaxpr(closed, ins)]
        return [p for p, _ in pairs] + [instantiate(t) for _, t in pairs]

    return trace_to_jaxpr(fn, [*closed.in_avals, *tangent_avals])


def _jit_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, jaxpr: ClosedJaxpr, name: str
) -> tuple[list[Array], list[Tangent]]:
    nonzeros = tuple(not isinstance(t, Zero) for t in tangents)
    nz_tangents = [t for t in tangents if not isinstance(t, Zero)]
    outs = jit_p.bind_all(
        *primals, *nz_tangents, jaxpr=jvp_jaxpr(jaxpr, nonzeros), name=f"jvp({name})"
    )
    n = len(jaxpr.out_avals)
    return outs[:n], list(outs[n:])


jvp_rules[jit_p] = _jit_jvp


# ---------------------------------------------------------------------------------------------
# Batching: batch the body with every output's batch axis at the front.


@functools.lru_cache(maxsize=1024)
def batch_jaxpr(closed: ClosedJaxpr, dims: tuple[BatchDim, ...], size: int) -> ClosedJaxpr:
    """``closed`` batched along ``dims`` (batch axes at the front of every output)."""
    avals = []
    for aval, d in zip(closed.in_avals, dims, strict=True):
        shape = list(aval.shape)
        if d is not None:
            shape.insert(d, size)
        avals.append(aval.update(shape=tuple(shape)))

    def fn(*vals: ArrayLike) -> list[ArrayLike]:
        trace = BatchTrace(current_trace(), size)
        with new_trace(trace):
            ins = [
                v if d is None else BatchTracer(trace, v, d)
                for v, d in zip(vals, dims, strict=True)
            ]
            pairs = [trace.lift(o) for o in call_jaxpr(closed, ins)]
        return [bdim_at(v, d, size, 0) for v, d in pairs]

    return trace_to_jaxpr(fn, avals)


def _jit_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, jaxpr: ClosedJaxpr, name: str
) -> tuple[list[Array], list[BatchDim]]:
    size = next(get_aval(a).shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    batched = batch_jaxpr(jaxpr, tuple(dims), size)
    outs = jit_p.bind_all(*args, jaxpr=batched, name=name)
    return outs, [0] * len(outs)


batching_rules[jit_p] = _jit_batch


# ---------------------------------------------------------------------------------------------
# Transpose: the backward pass of the body, staged as a jit of its own.


@functools.lru_cache(maxsize=1024)
def transpose_jaxpr(closed: ClosedJaxpr, undefined: tuple[bool, ...]) -> ClosedJaxpr:
    """Maps (defined inputs, output cotangents) to the cotangents of the undefined inputs."""
    defined_avals = [a for a, u in zip(closed.in_avals, undefined, strict=True) if not u]
    n_defined = len(defined_avals)

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        defined, cts = iter(args[:n_defined]), list(args[n_defined:])
        operands = [
            UndefinedPrimal(a) if u else next(defined)
            for a, u in zip(closed.in_avals, undefined, strict=True)
        ]
        cts_in = backward_pass(closed.jaxpr, closed.consts, operands, [as_array(c) for c in cts])
        return [instantiate(c) for c in cts_in]

    return trace_to_jaxpr(fn, [*defined_avals, *closed.out_avals])


def _jit_transpose(
    cts: Sequence[Cotangent], *args: ArrayLike | UndefinedPrimal, jaxpr: ClosedJaxpr, name: str
) -> list[Cotangent | None]:
    undefined = tuple(isinstance(a, UndefinedPrimal) for a in args)
    defined = [a for a in args if not isinstance(a, UndefinedPrimal)]
    t_jaxpr = transpose_jaxpr(jaxpr, undefined)
    outs = iter(
        jit_p.bind_all(*defined, *map(instantiate, cts), jaxpr=t_jaxpr, name=f"transpose({name})")
    )
    return [next(outs) if u else None for u in undefined]


transpose_rules[jit_p] = _jit_transpose


# ---------------------------------------------------------------------------------------------
# Partial evaluation: run the known part now, stage the unknown part.


def partial_eval_jaxpr(
    closed: ClosedJaxpr, unknowns: Sequence[bool]
) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    """Split ``closed`` into a known jaxpr (known inputs -> known outputs + residuals) and an
    unknown jaxpr (residuals + unknown inputs -> unknown outputs).

    Returns both, which outputs are unknown, and the number of residuals.
    """
    return _partial_eval_jaxpr(closed, tuple(unknowns))


@functools.lru_cache(maxsize=1024)
def _partial_eval_jaxpr(
    closed: ClosedJaxpr, unknowns: tuple[bool, ...]
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
            out_unknowns = [pe.is_unknown(o) for o in outs]
            unknown_outs = [o for o, u in zip(outs, out_unknowns, strict=True) if u]
            unknown_jaxpr = pe.to_closed_jaxpr(unknown_outs)
        residuals = list(unknown_jaxpr.consts)
        known_outs = [o for o, u in zip(outs, out_unknowns, strict=True) if not u]
        known_jaxpr = stage.to_closed_jaxpr([*known_outs, *residuals])
    staged_unknown, _ = hoist_consts(unknown_jaxpr)
    return known_jaxpr, staged_unknown, out_unknowns, len(residuals)


def _jit_partial_eval(
    trace: PartialEvalTrace, args: Sequence[ArrayLike], *, jaxpr: ClosedJaxpr, name: str
) -> list[Array]:
    unknowns = [trace.is_unknown(a) for a in args]
    known_jaxpr, unknown_jaxpr, out_unknowns, n_res = partial_eval_jaxpr(jaxpr, unknowns)
    known_args = [a for a, u in zip(args, unknowns, strict=True) if not u]
    unknown_args = [a for a, u in zip(args, unknowns, strict=True) if u]
    from refjax.interp.core import set_current_trace

    with set_current_trace(trace.parent or trace):
        known_outs = jit_p.bind_all(*known_args, jaxpr=known_jaxpr, name=name)
    n_known = len(known_outs) - n_res
    residuals = known_outs[n_known:]
    staged = StagingTrace.process_primitive(
        trace, jit_p, [*residuals, *unknown_args], {"jaxpr": unknown_jaxpr, "name": name}
    )
    known_iter, staged_iter = iter(known_outs[:n_known]), iter(staged)
    return [next(staged_iter) if u else next(known_iter) for u in out_unknowns]


partial_eval_rules[jit_p] = _jit_partial_eval
