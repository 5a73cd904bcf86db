"""The ``checkpoint`` (remat) call primitive, printed ``remat2`` as JAX 0.10 prints it.

``remat2_p`` holds a closed jaxpr without constants (``jaxpr``; a checkpointed function's
constants are leading inputs) and JAX's params: ``prevent_cse``, ``differentiated`` (False as
the user wrote it, True once differentiated) and ``policy`` (which intermediates a backward pass
may keep). Its value is the jaxpr's. What makes it a checkpoint is partial evaluation: the known
outputs are computed inline, and the unknown part is staged as a new ``remat2`` that takes the
*inputs* as residuals and recomputes every intermediate it needs, so a backward pass stores no
intermediate of the checkpointed function. The interpreter keeps nothing, whatever the policy
(JAX's policies choose what to save on a device; here they are recorded and otherwise no-ops).
JVP, batching and transpose transform the body and bind ``remat2`` again, as for ``jit``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from refjax.interp.batching import BatchDim, batch_jaxpr, batch_size, batching_rules
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    ShapedArray,
    call_jaxpr,
    set_current_trace,
)
from refjax.interp.jvp import Tangent, Zero, instantiate, jvp_jaxpr, jvp_rules
from refjax.interp.partial_eval import (
    PartialEvalTrace,
    dce_closed_jaxpr,
    dce_rules,
    partial_eval_jaxpr,
    partial_eval_rules,
)
from refjax.interp.staging import StagingTrace, trace_to_jaxpr
from refjax.interp.transpose import Cotangent, UndefinedPrimal, transpose_jaxpr, transpose_rules
from refjax.primitives.calls import call_abstract_eval, call_dce
from refjax.primitives.common import standard_primitive

__all__ = ["remat2_p"]

Policy = Callable[..., bool] | None


def _remat_abstract_eval(
    *avals: ShapedArray, jaxpr: ClosedJaxpr, prevent_cse: Any, differentiated: bool,
    policy: Policy,
) -> list[ShapedArray]:
    return call_abstract_eval("checkpoint", avals, jaxpr)


remat2_p = standard_primitive("remat2", _remat_abstract_eval, multiple_results=True)


def _rebind(args: Sequence[ArrayLike], jaxpr: ClosedJaxpr, params: dict[str, Any],
            differentiated: bool | None = None) -> list[Array]:
    """``remat2`` of ``jaxpr`` with the other params kept (``differentiated`` set if given)."""
    new = {**params, "jaxpr": jaxpr}
    if differentiated is not None:
        new["differentiated"] = differentiated
    return remat2_p.bind_all(*args, **new)


# ---------------------------------------------------------------------------------------------
# JVP: a checkpoint of the JVP of the body, marked differentiated.


def _remat_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, jaxpr: ClosedJaxpr,
    **params: Any,
) -> tuple[list[Array], list[Tangent]]:
    nonzeros = tuple(not isinstance(t, Zero) for t in tangents)
    nz_tangents = [t for t in tangents if not isinstance(t, Zero)]
    outs = _rebind([*primals, *nz_tangents], jvp_jaxpr(jaxpr, nonzeros), params, True)
    n = len(jaxpr.out_avals)
    return outs[:n], list(outs[n:])


jvp_rules[remat2_p] = _remat_jvp


# ---------------------------------------------------------------------------------------------
# Batching: a checkpoint of the batched body.


def _remat_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, jaxpr: ClosedJaxpr, **params: Any
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    outs = _rebind(args, batch_jaxpr(jaxpr, tuple(dims), size), params)
    return outs, [0] * len(outs)


batching_rules[remat2_p] = _remat_batch


# ---------------------------------------------------------------------------------------------
# Transpose: a checkpoint of the body's backward pass (which recomputes the forward values it
# needs from the defined inputs).


def _remat_transpose(
    cts: Sequence[Cotangent], *args: ArrayLike | UndefinedPrimal, jaxpr: ClosedJaxpr,
    **params: Any,
) -> list[Cotangent | None]:
    undefined = tuple(isinstance(a, UndefinedPrimal) for a in args)
    defined = [a for a in args if not isinstance(a, UndefinedPrimal)]
    t_jaxpr = transpose_jaxpr(jaxpr, undefined)
    outs = iter(_rebind([*defined, *map(instantiate, cts)], t_jaxpr, params))
    return [next(outs) if u else None for u in undefined]


transpose_rules[remat2_p] = _remat_transpose


# ---------------------------------------------------------------------------------------------
# Partial evaluation: the known outputs inline; the unknown ones staged as a checkpoint that
# takes the inputs it reads (known ones as residuals) and recomputes everything from them.


def _remat_partial_eval(
    trace: PartialEvalTrace, args: Sequence[ArrayLike], *, jaxpr: ClosedJaxpr, **params: Any
) -> list[Array]:
    unknowns = [trace.is_unknown(a) for a in args]
    known_jaxpr, unknown_jaxpr, out_unknowns, n_res = partial_eval_jaxpr(jaxpr, unknowns)
    n_known = len(known_jaxpr.out_avals) - n_res
    known_args = [a for a, u in zip(args, unknowns, strict=True) if not u]
    with set_current_trace(trace.parent or trace):  # inline, as JAX's known part is
        known_body, _ = dce_closed_jaxpr(
            known_jaxpr, [True] * n_known + [False] * n_res, instantiate=True)
        known_outs = call_jaxpr(known_body, known_args)
    recompute = _recompute(known_jaxpr, unknown_jaxpr, jaxpr.in_avals, unknowns, n_known)
    body, used = dce_closed_jaxpr(recompute, True)
    staged = StagingTrace.process_primitive(
        trace, remat2_p, [a for a, u in zip(args, used, strict=True) if u],
        {**params, "jaxpr": body, "differentiated": True},
    )
    known_iter, staged_iter = iter(known_outs), iter(staged)
    return [next(staged_iter) if u else next(known_iter) for u in out_unknowns]


def _recompute(known: ClosedJaxpr, unknown: ClosedJaxpr, in_avals: Sequence[ShapedArray],
               unknowns: Sequence[bool], n_known: int) -> ClosedJaxpr:
    """One jaxpr from all the inputs (``in_avals``, in their order) to the unknown outputs: the
    known part run again for its residuals, then the unknown part. (Split so, a scan or a cond
    that mixes known and unknown values is a known and an unknown one, as transposition needs.)
    """

    def fn(*args: ArrayLike) -> list[Array]:
        known_args = [a for a, u in zip(args, unknowns, strict=True) if not u]
        unknown_args = [a for a, u in zip(args, unknowns, strict=True) if u]
        residuals = call_jaxpr(known, known_args)[n_known:]
        return call_jaxpr(unknown, [*residuals, *unknown_args])

    return trace_to_jaxpr(fn, in_avals)


partial_eval_rules[remat2_p] = _remat_partial_eval


# ---------------------------------------------------------------------------------------------
# Dead-code elimination: the checkpoint keeps its used outputs, and the inputs they read.

dce_rules[remat2_p] = call_dce(remat2_p)
