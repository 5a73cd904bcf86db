"""The ``jit`` call primitive: a staged function applied to arguments.

``jit_p`` holds a closed jaxpr as its ``jaxpr`` param. Every transformation handles it by
transforming the jaxpr and binding ``jit_p`` again, so ``grad(jit(f))``, ``jit(grad(f))``,
``vmap(jit(f))`` and ``jit(jit(f))`` all stay staged, and ``make_jaxpr`` shows the nested call.
Its partial evaluation forwards residuals that are known inputs or outputs and prunes unread
ones, and its JVP keeps zero output tangents symbolic, as JAX's do. ``library_jit`` stages
library functions (``jnp.clip``, ``nn.relu``, ...) as named ``jit`` calls, as JAX 0.10 does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias, TypeVar, cast

import numpy as np

from refjax import tree_util
from refjax.config import config
from refjax.interp.batching import BatchDim, batch_jaxpr_dims, batch_size, batching_rules
from refjax.interp.core import (
    EVAL_TRACE,
    Array,
    ArrayLike,
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Primitive,
    ShapedArray,
    Var,
    call_site_primitives,
    current_trace,
    get_aval,
)
from refjax.interp.jvp import (
    Tangent,
    Zero,
    instantiate,
    jvp_jaxpr_nonzeros,
    jvp_rules,
    tangent_aval,
)
from refjax.interp.partial_eval import (
    PartialEvalTrace,
    dce_closed_jaxpr,
    dce_rules,
    partial_eval_jaxpr,
    partial_eval_rules,
)
from refjax.interp.staging import StagingTrace, debug_info, hoist_consts, trace_to_jaxpr
from refjax.interp.transpose import (
    Cotangent,
    UndefinedPrimal,
    transpose_jaxpr,
    transpose_rules,
)
from refjax.primitives.common import standard_primitive
from refjax.tree_util import PyTreeDef

__all__ = ["library_jit"]

_F = TypeVar("_F", bound=Callable[..., Any])
# what a staged call takes as a dynamic argument (as ``jit`` does): arrays and scalars
_JIT_LEAVES: Final = (Array, np.ndarray, np.generic, bool, int, float, complex)


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
    # Output tangents known to be zero stay symbolic (not computed by the call), as in JAX.
    body, out_nonzeros = jvp_jaxpr_nonzeros(jaxpr, nonzeros, (False,) * len(jaxpr.out_avals))
    outs = jit_p.bind_all(*primals, *nz_tangents, jaxpr=body, name=name)  # (JAX keeps it)
    n = len(jaxpr.out_avals)
    it = iter(outs[n:])
    tangents_out: list[Tangent] = [
        next(it) if nz else Zero(tangent_aval(aval))
        for nz, aval in zip(out_nonzeros, jaxpr.out_avals, strict=True)
    ]
    return outs[:n], tangents_out


jvp_rules[jit_p] = _jit_jvp


# ---------------------------------------------------------------------------------------------
# Batching: batch the body with every batched output's batch axis at the front; an output that
# does not depend on the batch stays unbatched, as in JAX (so vmap's out_axes=None accepts it).


def _jit_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, jaxpr: ClosedJaxpr, name: str
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    force = (False,) * len(jaxpr.out_avals)
    batched, out_dims = batch_jaxpr_dims(jaxpr, tuple(dims), size, force)
    outs = jit_p.bind_all(*args, jaxpr=batched, name=name)
    return outs, out_dims


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
    unknowns = tuple(trace.is_unknown(a) for a in args)
    known_jaxpr, unknown_jaxpr, out_unknowns, sources = _split_call(jaxpr, unknowns)
    known_args = [a for a, u in zip(args, unknowns, strict=True) if not u]
    unknown_args = [a for a, u in zip(args, unknowns, strict=True) if u]
    from refjax.interp.core import set_current_trace

    with set_current_trace(trace.parent or trace):
        known_outs = jit_p.bind_all(*known_args, jaxpr=known_jaxpr, name=name)
    n_known = len(out_unknowns) - sum(out_unknowns)
    pools: dict[str, Sequence[ArrayLike]] = {
        "in": known_args, "out": known_outs, "res": known_outs[n_known:]}
    residuals = [pools[where][i] for where, i in sources]
    staged = StagingTrace.process_primitive(
        trace, jit_p, [*residuals, *unknown_args], {"jaxpr": unknown_jaxpr, "name": name}
    )
    known_iter, staged_iter = iter(known_outs[:n_known]), iter(staged)
    return [next(staged_iter) if u else next(known_iter) for u in out_unknowns]


partial_eval_rules[jit_p] = _jit_partial_eval


@functools.lru_cache(maxsize=1024)
def _split_call(
    closed: ClosedJaxpr, unknowns: tuple[bool, ...]
) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], list[tuple[str, int]]]:
    """``partial_eval_jaxpr`` of a call's body, with JAX's forwarding: a residual that is a
    known input, or one of the known outputs, is not returned again by the known call; the
    caller passes that value on. Returns the known and unknown jaxprs, which outputs are
    unknown, and where each residual comes from: ``("in", i)`` the i-th known argument,
    ``("out", i)`` the i-th known output, ``("res", k)`` the known call's k-th extra output."""
    known, unknown, out_unknowns, n_res = partial_eval_jaxpr(closed, unknowns)
    n_known = len(known.jaxpr.outvars) - n_res
    # residuals the unknown body does not read are not computed (as JAX prunes them)
    unknown, used = dce_closed_jaxpr(unknown, True, [False] * n_res + [True] * sum(unknowns))
    known, _ = dce_closed_jaxpr(known, [True] * n_known + used[:n_res], True)
    n_res = sum(used[:n_res])
    jaxpr = known.jaxpr
    ins = {id(v): i for i, v in enumerate(jaxpr.invars)}
    outs: dict[int, int] = {}
    for i, v in enumerate(jaxpr.outvars[:n_known]):
        if isinstance(v, Var):
            outs.setdefault(id(v), i)
    sources: list[tuple[str, int]] = []
    kept: list[Atom] = []
    kept_at: dict[int, int] = {}  # a residual twice is returned once
    for v in jaxpr.outvars[n_known:]:
        if isinstance(v, Var) and id(v) in ins:
            sources.append(("in", ins[id(v)]))
        elif isinstance(v, Var) and id(v) in outs:
            sources.append(("out", outs[id(v)]))
        elif isinstance(v, Var) and id(v) in kept_at:
            sources.append(("res", kept_at[id(v)]))
        else:
            if isinstance(v, Var):
                kept_at[id(v)] = len(kept)
            sources.append(("res", len(kept)))
            kept.append(v)
    if len(kept) < n_res:
        pruned = Jaxpr(jaxpr.constvars, jaxpr.invars, (*jaxpr.outvars[:n_known], *kept),
                       jaxpr.eqns)
        known = ClosedJaxpr(pruned, known.consts)
    return known, unknown, out_unknowns, sources


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


# ---------------------------------------------------------------------------------------------
# Library functions staged as named calls, as JAX 0.10 wraps many jax.numpy and jax.nn
# functions in ``jit``: under a trace the call is one ``jit[name=...]`` equation holding the
# function's body (so ``make_jaxpr`` shows what JAX's shows); outside any trace the function
# runs directly, primitive by primitive, with the same values.

_LibraryKey: TypeAlias = tuple[Any, ...]
_MAX_TRACES: Final = 256  # traced signatures kept per library function


def library_jit(
    *, static_argnames: Sequence[str] = (), name: str | None = None
) -> Callable[[_F], _F]:
    """Decorate a library function as JAX's ``@jit(static_argnames=...)`` does: under a trace
    its call binds ``jit_p`` (named ``name``, else the function's name) on the body traced
    for the arguments' shapes, dtypes and the static arguments' values. The dynamic arguments
    are flattened as ``jit`` flattens ``(args, kwargs)``. A call whose static arguments cannot
    be hashed, or whose dynamic leaves are not arrays or scalars, runs directly instead."""

    def wrap(fun: _F) -> _F:
        sig = inspect.signature(fun)
        params = list(sig.parameters.values())
        static = frozenset(static_argnames)
        positions = {p.name: i for i, p in enumerate(params)
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)}
        static_pos = frozenset(positions[n] for n in static if n in positions)
        label = name or fun.__name__
        traces: dict[_LibraryKey, tuple[ClosedJaxpr, list[ArrayLike], PyTreeDef]] = {}

        @functools.wraps(fun)
        def staged(*args: Any, **kwargs: Any) -> Any:
            if current_trace() is EVAL_TRACE or config.read("jax_disable_jit"):
                return fun(*args, **kwargs)
            dyn_args = [a for i, a in enumerate(args) if i not in static_pos]
            dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static}
            statics = tuple((i, type(args[i]), args[i]) for i in sorted(static_pos)
                            if i < len(args)) + tuple(
                (k, type(v), v) for k, v in sorted(kwargs.items()) if k in static)
            flat, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs))
            if not all(isinstance(x, _JIT_LEAVES) for x in flat):
                return fun(*args, **kwargs)
            avals = tuple(get_aval(x) for x in flat)
            key = (in_tree, avals, statics, config.read("jax_enable_x64"))
            try:
                entry = traces.get(key)
            except TypeError:  # a static argument that cannot be hashed
                return fun(*args, **kwargs)
            if entry is None:
                out_trees: list[PyTreeDef] = []

                def flat_fun(*leaves: ArrayLike) -> list[ArrayLike]:
                    d_args, d_kwargs = tree_util.tree_unflatten(in_tree, list(leaves))
                    it = iter(d_args)
                    full = [a if i in static_pos else next(it) for i, a in enumerate(args)]
                    full_kwargs = {k: (v if k in static else d_kwargs[k])
                                   for k, v in kwargs.items()}
                    out, tree = tree_util.tree_flatten(fun(*full, **full_kwargs))
                    out_trees.append(tree)
                    return out

                closed = trace_to_jaxpr(flat_fun, avals, debug_info(fun, "jit", []))
                hoisted, consts = hoist_consts(closed)
                entry = (hoisted, consts, out_trees[0])
                if len(traces) >= _MAX_TRACES:
                    traces.clear()
                traces[key] = entry
            hoisted, consts, out_tree = entry
            outs = jit_p.bind_all(*consts, *flat, jaxpr=hoisted, name=label)
            return tree_util.tree_unflatten(out_tree, outs)

        return cast(_F, staged)

    return wrap
