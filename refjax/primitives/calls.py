"""The ``jit`` call primitive: a staged function applied to arguments.

``jit_p`` holds a closed jaxpr as its ``jaxpr`` param. Every transformation handles it by
transforming the jaxpr and binding ``jit_p`` again, so ``grad(jit(f))``, ``jit(grad(f))``,
``vmap(jit(f))`` and ``jit(jit(f))`` all stay staged, and ``make_jaxpr`` shows the nested call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from refjax.interp.batching import BatchDim, batch_jaxpr, batch_size, batching_rules
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    JaxprEqn,
    Primitive,
    ShapedArray,
    call_site_primitives,
)
from refjax.interp.jvp import Tangent, Zero, instantiate, jvp_jaxpr, jvp_rules
from refjax.interp.partial_eval import (
    PartialEvalTrace,
    dce_closed_jaxpr,
    dce_rules,
    partial_eval_jaxpr,
    partial_eval_rules,
)
from refjax.interp.staging import StagingTrace
from refjax.interp.transpose import (
    Cotangent,
    UndefinedPrimal,
    transpose_jaxpr,
    transpose_rules,
)
from refjax.primitives.common import standard_primitive

__all__: list[str] = []


def call_abstract_eval(what: str, avals: Sequence[ShapedArray],
                       jaxpr: ClosedJaxpr) -> list[ShapedArray]:
    """The results of a call of ``jaxpr`` (``what`` names it in the TypeError raised when the
    operands' shapes and dtypes are not its inputs')."""
    expected = jaxpr.in_avals
    if len(avals) != len(expected) or any(
        (a.shape, a.dtype) != (e.shape, e.dtype) for a, e in zip(avals, expected, strict=False)
    ):
        got = ", ".join(a.str_short() for a in avals)
        want = ", ".join(e.str_short() for e in expected)
        raise TypeError(f"{what} called with arguments of type ({got}), expected ({want})")
    return jaxpr.out_avals


def _jit_abstract_eval(*avals: ShapedArray, jaxpr: ClosedJaxpr, name: str) -> list[ShapedArray]:
    return call_abstract_eval(f"jit {name}", avals, jaxpr)


jit_p = standard_primitive("jit", _jit_abstract_eval, multiple_results=True)
call_site_primitives.add(jit_p)  # printed as JAX 0.10 prints a jit


# ---------------------------------------------------------------------------------------------
# JVP: differentiate the body; primals and nonzero tangents in, primals and tangents out.


def _jit_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, jaxpr: ClosedJaxpr, name: str
) -> tuple[list[Array], list[Tangent]]:
    nonzeros = tuple(not isinstance(t, Zero) for t in tangents)
    nz_tangents = [t for t in tangents if not isinstance(t, Zero)]
    outs = jit_p.bind_all(
        *primals, *nz_tangents, jaxpr=jvp_jaxpr(jaxpr, nonzeros), name=name  # (JAX keeps it)
    )
    n = len(jaxpr.out_avals)
    return outs[:n], list(outs[n:])


jvp_rules[jit_p] = _jit_jvp


# ---------------------------------------------------------------------------------------------
# Batching: batch the body with every output's batch axis at the front.


def _jit_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, jaxpr: ClosedJaxpr, name: str
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    batched = batch_jaxpr(jaxpr, tuple(dims), size)
    outs = jit_p.bind_all(*args, jaxpr=batched, name=name)
    return outs, [0] * len(outs)


batching_rules[jit_p] = _jit_batch


# ---------------------------------------------------------------------------------------------
# Transpose: the backward pass of the body, staged as a jit of its own.


def _jit_transpose(
    cts: Sequence[Cotangent], *args: ArrayLike | UndefinedPrimal, jaxpr: ClosedJaxpr, name: str
) -> list[Cotangent | None]:
    undefined = tuple(isinstance(a, UndefinedPrimal) for a in args)
    defined = [a for a in args if not isinstance(a, UndefinedPrimal)]
    t_jaxpr = transpose_jaxpr(jaxpr, undefined)
    outs = iter(
        jit_p.bind_all(*defined, *map(instantiate, cts), jaxpr=t_jaxpr, name=name)
    )
    return [next(outs) if u else None for u in undefined]


transpose_rules[jit_p] = _jit_transpose


# ---------------------------------------------------------------------------------------------
# Partial evaluation: run the known part now, stage the unknown part.


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


# ---------------------------------------------------------------------------------------------
# Dead-code elimination: the call keeps its used outputs, and the arguments its pruned body reads.


def call_dce(prim: Primitive) -> Callable[[list[bool], JaxprEqn], tuple[list[bool],
                                                                     JaxprEqn | None]]:
    """The DCE rule of a call primitive ``prim`` whose body is its ``jaxpr`` param (``jit``,
    ``remat2``): keep the used outputs and the arguments the pruned body reads."""

    def rule(used_outputs: list[bool], eqn: JaxprEqn) -> tuple[list[bool], JaxprEqn | None]:
        if not any(used_outputs):
            return [False] * len(eqn.invars), None
        jaxpr: ClosedJaxpr = eqn.params["jaxpr"]
        body, used_inputs = dce_closed_jaxpr(jaxpr, used_outputs)
        if body is jaxpr:
            return used_inputs, eqn
        new = JaxprEqn(
            prim,
            tuple(v for v, u in zip(eqn.invars, used_inputs, strict=True) if u),
            tuple(v for v, u in zip(eqn.outvars, used_outputs, strict=True) if u),
            {**eqn.params, "jaxpr": body},
        )
        return used_inputs, new

    return rule


dce_rules[jit_p] = call_dce(jit_p)
