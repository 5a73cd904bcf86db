"""Control flow that survives every transformation: ``cond``/``switch``, ``while_loop``, ``scan``.

Each is a primitive holding closed jaxprs as params (its branches, or its loop body), traced
once from the user's Python functions. Constants the functions close over are passed as explicit
operands, so outer transformations see them. Each primitive states its abstract evaluation, JVP,
batching, partial-evaluation and transpose rules below its definition; ``fori_loop`` and ``map``
are built on ``scan`` (and ``while_loop`` when a trip count is not static), as in JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from refjax import dtypes, tree_util
from refjax.interp.batching import (
    BatchDim,
    batch_jaxpr_dims,
    batch_size,
    batching_rules,
    bdim_at,
    moveaxis,
    vmap_leading,
)
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    ShapedArray,
    Var,
    call_jaxpr,
    get_aval,
    is_concrete,
    set_current_trace,
)
from refjax.interp.jvp import (
    Tangent,
    Zero,
    instantiate,
    jvp_jaxpr_nonzeros,
    jvp_rules,
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
from refjax.primitives.constants import convert
from refjax.tree_util import PyTreeDef

__all__ = [
    "cond", "cond_p", "fori_loop", "map", "scan", "scan_p", "switch", "while_loop", "while_p",
]


# ---------------------------------------------------------------------------------------------
# Tracing user functions


def _trace_fn(
    fn: Callable[..., Any], in_tree: PyTreeDef, avals: Sequence[ShapedArray], what: str
) -> tuple[ClosedJaxpr, list[ArrayLike], PyTreeDef]:
    """Trace ``fn`` on pytree args of ``avals``: its jaxpr (consts hoisted), consts, out tree."""
    out_trees: list[PyTreeDef] = []

    def flat_fn(*flat: ArrayLike) -> list[ArrayLike]:
        args = tree_util.tree_unflatten(in_tree, list(flat))
        out_flat, out_tree = tree_util.tree_flatten(fn(*args))
        out_trees.append(out_tree)
        return out_flat

    closed = trace_to_jaxpr(flat_fn, avals, debug_info(fn, what, []))
    hoisted, consts = hoist_consts(closed)
    return hoisted, consts, out_trees[0]


def _with_leading_unused(closed: ClosedJaxpr, avals: Sequence[ShapedArray], at: int) -> ClosedJaxpr:
    """``closed`` with extra, ignored inputs of ``avals`` inserted at position ``at``."""
    jaxpr = closed.jaxpr
    extra = tuple(Var(a) for a in avals)
    invars = jaxpr.invars[:at] + extra + jaxpr.invars[at:]
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars, jaxpr.eqns), closed.consts)


def _permute(closed: ClosedJaxpr, in_perm: Sequence[int], out_perm: Sequence[int]) -> ClosedJaxpr:
    """``closed`` with inputs and outputs reordered: new position i holds old ``perm[i]``."""
    jaxpr = closed.jaxpr
    invars = tuple(jaxpr.invars[i] for i in in_perm)
    outvars = tuple(jaxpr.outvars[i] for i in out_perm)
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, outvars, jaxpr.eqns), closed.consts)


def _show_diff(a: ShapedArray, b: ShapedArray) -> str:
    return a.str_short() if a == b else f"DIFFERENT {a.str_short()} vs. {b.str_short()}"


def _check_same_types(
    what1: str,
    tree1: PyTreeDef,
    avals1: Sequence[ShapedArray],
    what2: str,
    tree2: PyTreeDef,
    avals2: Sequence[ShapedArray],
) -> None:
    """JAX's TypeError when two functions' outputs differ in structure or type."""
    if tree1 != tree2:
        raise TypeError(
            f"{what1} must have same type structure as {what2}, but there are differences: "
            f"{tree1} vs {tree2}"
        )
    stripped1 = [a.strip_weak_type() for a in avals1]
    stripped2 = [a.strip_weak_type() for a in avals2]
    if stripped1 != stripped2:
        diff = tree_util.tree_unflatten(
            tree1, [_show_diff(a, b) for a, b in zip(stripped1, stripped2, strict=True)]
        )
        raise TypeError(f"{what1} and {what2} must have identical types, got\n{diff}.")


def _strengthen(fn: Callable[..., Any], strong: Sequence[bool]) -> Callable[..., Any]:
    """``fn`` with the flat outputs marked ``strong`` converted to strongly typed values."""
    def wrapped(*args: Any) -> Any:
        out_flat, tree = tree_util.tree_flatten(fn(*args))
        fixed = [
            convert(o, get_aval(o).dtype, False) if s else o
            for o, s in zip(out_flat, strong, strict=True)
        ]
        return tree_util.tree_unflatten(tree, fixed)

    return wrapped


# ---------------------------------------------------------------------------------------------
# cond / switch


def _cond_abstract_eval(
    index: ShapedArray, *ops: ShapedArray, branches: tuple[ClosedJaxpr, ...]
) -> list[ShapedArray]:
    if index.shape != () or index.dtype != dtypes.int32:
        raise TypeError(f"cond index must be an int32 scalar, got {index.str_short()}")
    for b in branches:
        if [a.strip_weak_type() for a in b.in_avals] != [a.strip_weak_type() for a in ops]:
            raise TypeError("cond branches must take the operands' types")
    return branches[0].out_avals


cond_p = standard_primitive("cond", _cond_abstract_eval, multiple_results=True)


def switch(index: ArrayLike, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """Apply ``branches[index](*operands)``, with ``index`` clamped into range (``lax.switch``)."""
    from refjax.primitives.elementwise import clamp, convert_element_type

    if not branches:
        raise ValueError("Empty branch sequence")
    idx_aval = get_aval(index)
    if idx_aval.shape != ():
        raise TypeError(f"Branch index must be scalar, got {index} of shape {idx_aval.shape}.")
    if not dtypes.is_integer(idx_aval.dtype):
        raise TypeError(f"Index type must be an integer, got {index} as {idx_aval.dtype}")
    if len(branches) == 1:
        return branches[0](*operands)
    idx = convert_element_type(index, np.int32)
    idx = clamp(np.int32(0), idx, np.int32(len(branches) - 1))
    return _bind_cond(idx, list(branches), operands, "branch 0 output", "branch {i} output")


def cond(
    pred: ArrayLike, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any
) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)`` (``lax.cond``)."""
    from refjax.primitives.elementwise import convert_element_type, ne

    if isinstance(pred, (list, tuple)) or np.ndim(pred) != 0:
        kind = (
            f"type {type(pred)}" if isinstance(pred, (list, tuple)) else f"shape {np.shape(pred)}."
        )
        raise TypeError(f"Pred must be a scalar, got {pred} of {kind}")
    pred_dtype = get_aval(pred).dtype
    if pred_dtype.kind not in "biuf":
        raise TypeError(f"Pred type must be either boolean or number, got {pred_dtype}.")
    if pred_dtype.kind != "b":
        pred = ne(pred, np.zeros((), pred_dtype))
    idx = convert_element_type(pred, np.int32)
    return _bind_cond(idx, [false_fun, true_fun], operands, "true_fun output", "false_fun output")


def _bind_cond(
    index: ArrayLike,
    fns: list[Callable[..., Any]],
    operands: Sequence[Any],
    what_first: str,
    what_other: str,
) -> Any:
    flat, in_tree = tree_util.tree_flatten(tuple(operands))
    avals = [get_aval(x) for x in flat]
    traced = [_trace_fn(f, in_tree, avals, "cond") for f in fns]
    first = traced[0]
    for i, (jaxpr, _, tree) in enumerate(traced[1:], 1):
        what = what_other.format(i=i)
        names = (what, what_first) if what_first.startswith("true") else (what_first, what)
        trees = (first[2], tree) if names[0] == what_first else (tree, first[2])
        avs = (first[0].out_avals, jaxpr.out_avals)
        _check_same_types(names[0], trees[0], avs[0], names[1], trees[1], avs[1])
    strong = [
        not all(t[0].out_avals[k].weak_type for t in traced) for k in range(len(first[0].out_avals))
    ]
    if any(s and t[0].out_avals[k].weak_type for t in traced for k, s in enumerate(strong)):
        traced = [_trace_fn(_strengthen(f, strong), in_tree, avals, "cond") for f in fns]
    all_consts = [c for _, consts, _ in traced for c in consts]
    const_avals = [get_aval(c) for c in all_consts]
    branches, start = [], 0
    for jaxpr, consts, _ in traced:
        n = len(consts)
        widened = _with_leading_unused(jaxpr, const_avals[:start], 0)
        widened = _with_leading_unused(widened, const_avals[start + n :], start + n)
        branches.append(widened)
        start += n
    outs = cond_p.bind_all(index, *all_consts, *flat, branches=tuple(branches))
    return tree_util.tree_unflatten(first[2], outs)


def _cond_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, branches: tuple[ClosedJaxpr, ...]
) -> tuple[list[Array], list[Tangent]]:
    index, ops = primals[0], primals[1:]
    nonzeros = tuple(not isinstance(t, Zero) for t in tangents[1:])
    everything = (True,) * len(branches[0].out_avals)
    jvp_branches = tuple(jvp_jaxpr_nonzeros(b, nonzeros, everything)[0] for b in branches)
    nz_tangents = [t for t in tangents[1:] if not isinstance(t, Zero)]
    outs = cond_p.bind_all(index, *ops, *nz_tangents, branches=jvp_branches)
    n = len(branches[0].out_avals)
    return outs[:n], list(outs[n:])


jvp_rules[cond_p] = _cond_jvp


def _cond_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, branches: tuple[ClosedJaxpr, ...]
) -> tuple[list[Array], list[BatchDim]]:
    from refjax.primitives.elementwise import select_n
    from refjax.primitives.shape import broadcast_in_dim

    size = batch_size(args, dims)
    index, ops = args[0], args[1:]
    op_dims = tuple(None if d is None else d for d in dims[1:])
    everything = (True,) * len(branches[0].out_avals)
    if dims[0] is None:
        batched = tuple(batch_jaxpr_dims(b, op_dims, size, everything)[0] for b in branches)
        outs = cond_p.bind_all(index, *ops, branches=batched)
        return outs, [0] * len(outs)
    # A batched predicate: compute every branch for the whole batch, then select per element.
    per_branch = [
        call_jaxpr(batch_jaxpr_dims(b, op_dims, size, everything)[0], ops) for b in branches
    ]
    which = moveaxis(index, dims[0], 0)
    outs = []
    for k in range(len(branches[0].out_avals)):
        cases = [outs_b[k] for outs_b in per_branch]
        shape = get_aval(cases[0]).shape
        outs.append(select_n(broadcast_in_dim(which, shape, (0,)), *cases))
    return outs, [0] * len(outs)


batching_rules[cond_p] = _cond_batch


def _cond_transpose(
    cts: Sequence[Cotangent],
    index: ArrayLike | UndefinedPrimal,
    *ops: ArrayLike | UndefinedPrimal,
    branches: tuple[ClosedJaxpr, ...],
) -> list[Cotangent | None]:
    if isinstance(index, UndefinedPrimal):
        raise ValueError("cond: the branch index cannot be a linear input")
    undefined = tuple(isinstance(o, UndefinedPrimal) for o in ops)
    t_branches = tuple(transpose_jaxpr(b, undefined) for b in branches)
    defined = [o for o in ops if not isinstance(o, UndefinedPrimal)]
    outs = iter(
        cond_p.bind_all(index, *defined, *[instantiate(c) for c in cts], branches=t_branches)
    )
    result: list[Cotangent | None] = [None]
    return result + [next(outs) if u else None for u in undefined]


transpose_rules[cond_p] = _cond_transpose


def _cond_partial_eval(
    trace: PartialEvalTrace, args: Sequence[ArrayLike], *, branches: tuple[ClosedJaxpr, ...]
) -> list[Array]:
    unknowns = [trace.is_unknown(a) for a in args]
    if unknowns[0]:
        return StagingTrace.process_primitive(trace, cond_p, args, {"branches": branches})
    op_unknowns = unknowns[1:]
    first = [partial_eval_jaxpr(b, op_unknowns) for b in branches]
    out_uk = [any(f[2][k] for f in first) for k in range(len(branches[0].out_avals))]
    splits = [partial_eval_jaxpr(b, op_unknowns, out_uk) for b in branches]
    res_avals = [k.out_avals[len(k.out_avals) - n :] for k, _, _, n in splits]
    all_res = [a for avals in res_avals for a in avals]
    known_branches, unknown_branches, start = [], [], 0
    for known, unknown, _, n in splits:
        known_branches.append(_pad_residuals(known, n, all_res, start))
        unknown_branches.append(_widen_residuals(unknown, n, all_res, start))
        start += n
    index, ops = args[0], args[1:]
    known_ops = [o for o, u in zip(ops, op_unknowns, strict=True) if not u]
    with set_current_trace(trace.parent or trace):
        known_outs = cond_p.bind_all(index, *known_ops, branches=tuple(known_branches))
    n_known = len(known_outs) - len(all_res)
    residuals = known_outs[n_known:]
    unknown_ops = [o for o, u in zip(ops, op_unknowns, strict=True) if u]
    staged = StagingTrace.process_primitive(
        trace, cond_p, [index, *residuals, *unknown_ops], {"branches": tuple(unknown_branches)}
    )
    known_it, staged_it = iter(known_outs[:n_known]), iter(staged)
    return [next(staged_it) if u else next(known_it) for u in out_uk]


def _pad_residuals(
    known: ClosedJaxpr, n: int, all_res: Sequence[ShapedArray], start: int
) -> ClosedJaxpr:
    """A known branch that outputs every branch's residual slots (zeros for the others')."""
    from refjax.interp.jvp import zeros_like_aval

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        outs = call_jaxpr(known, args)
        n_out = len(outs) - n
        before = [zeros_like_aval(a) for a in all_res[:start]]
        after = [zeros_like_aval(a) for a in all_res[start + n :]]
        return [*outs[:n_out], *before, *outs[n_out:], *after]

    return trace_to_jaxpr(fn, known.in_avals)


def _widen_residuals(
    unknown: ClosedJaxpr, n: int, all_res: Sequence[ShapedArray], start: int
) -> ClosedJaxpr:
    """An unknown branch taking every branch's residuals and using its own slice."""
    widened = _with_leading_unused(unknown, all_res[:start], 0)
    return _with_leading_unused(widened, all_res[start + n :], start + n)


partial_eval_rules[cond_p] = _cond_partial_eval


def _cond_dce(used_outputs: list[bool], eqn: JaxprEqn) -> tuple[list[bool], JaxprEqn | None]:
    """Every branch keeps the used outputs, and takes the operands any branch needs (JAX's
    ``_cond_dce_rule``); a cond none of whose outputs is used is dropped."""
    if not any(used_outputs):
        return [False] * len(eqn.invars), None
    branches: tuple[ClosedJaxpr, ...] = eqn.params["branches"]
    used_ops = [False] * (len(eqn.invars) - 1)
    for b in branches:
        _, used = dce_closed_jaxpr(b, used_outputs)
        used_ops = [x or y for x, y in zip(used_ops, used, strict=True)]
    new_branches = tuple(dce_closed_jaxpr(b, used_outputs, used_ops)[0] for b in branches)
    used_inputs = [True, *used_ops]
    if all(used_inputs) and all(used_outputs) and all(
        n is b for n, b in zip(new_branches, branches, strict=True)
    ):
        return used_inputs, eqn
    return used_inputs, _pruned_eqn(eqn, used_inputs, used_outputs, branches=new_branches)


def _pruned_eqn(
    eqn: JaxprEqn, used_inputs: Sequence[bool], used_outputs: Sequence[bool], **params: Any
) -> JaxprEqn:
    """``eqn`` with only its used invars and outvars, and ``params`` updated."""
    return JaxprEqn(
        eqn.primitive,
        tuple(v for v, u in zip(eqn.invars, used_inputs, strict=True) if u),
        tuple(v for v, u in zip(eqn.outvars, used_outputs, strict=True) if u),
        {**eqn.params, **params},
    )


dce_rules[cond_p] = _cond_dce


# ---------------------------------------------------------------------------------------------
# while_loop


def _carry_types(
    outs: Sequence[ShapedArray], carry: Sequence[ShapedArray]
) -> list[ShapedArray] | None:
    """The body's output types if they are the carry's (weak types aside), else None. The
    varying mesh axes (vma) count only where the carry has some: a shard of a ``shard_map``
    runs a body typed inside it on plain values, whose types carry none."""
    if not any(a.vma for a in carry):
        outs = [a.update(vma=frozenset()) if a.vma else a for a in outs]
    same = [a.strip_weak_type() for a in outs] == [a.strip_weak_type() for a in carry]
    return list(outs) if same else None


def _while_abstract_eval(
    *avals: ShapedArray,
    cond_jaxpr: ClosedJaxpr,
    body_jaxpr: ClosedJaxpr,
    cond_nconsts: int,
    body_nconsts: int,
) -> list[ShapedArray]:
    outs = _carry_types(body_jaxpr.out_avals, avals[cond_nconsts + body_nconsts :])
    if outs is None:
        raise TypeError("while_loop body must map the carry to the same types")
    return outs


while_p = standard_primitive("while", _while_abstract_eval, multiple_results=True)


def while_loop(
    cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any
) -> Any:
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)``; return ``val``."""
    flat, in_tree = tree_util.tree_flatten(init_val)
    arg_tree = tree_util.tree_structure((init_val,))
    avals = [get_aval(x) for x in flat]
    body, body_consts, body_tree = _trace_fn(body_fun, arg_tree, avals, "while_loop")
    _check_same_types("body_fun output", body_tree, body.out_avals, "input", in_tree, avals)
    if any(a.weak_type and not b.weak_type for a, b in zip(avals, body.out_avals, strict=True)):
        avals = [
            a.update(weak_type=a.weak_type and b.weak_type)
            for a, b in zip(avals, body.out_avals, strict=True)
        ]
        flat = [_to_aval(x, a) for x, a in zip(flat, avals, strict=True)]
        body, body_consts, body_tree = _trace_fn(body_fun, arg_tree, avals, "while_loop")
    body = _match_weak(body, avals)
    cond_j, cond_consts, cond_tree = _trace_fn(cond_fun, arg_tree, avals, "while_loop")
    if cond_tree.num_leaves != 1:
        raise TypeError(f"cond_fun must return a boolean scalar, but got pytree {cond_tree}.")
    if cond_j.out_avals[0].strip_weak_type() != ShapedArray((), dtypes.bool_):
        raise TypeError(
            f"cond_fun must return a boolean scalar, but got output type(s) {cond_j.out_avals}."
        )
    outs = while_p.bind_all(
        *cond_consts,
        *body_consts,
        *flat,
        cond_jaxpr=cond_j,
        body_jaxpr=body,
        cond_nconsts=len(cond_consts),
        body_nconsts=len(body_consts),
    )
    return tree_util.tree_unflatten(in_tree, outs)


def _to_aval(x: ArrayLike, aval: ShapedArray) -> ArrayLike:
    return convert(x, aval.dtype, aval.weak_type)


def _match_weak(closed: ClosedJaxpr, avals: Sequence[ShapedArray]) -> ClosedJaxpr:
    """``closed`` with outputs made as weak/strong as the carry ``avals`` they feed back into."""
    if all(
        o.weak_type == a.weak_type
        for o, a in zip(closed.out_avals, avals[-len(closed.out_avals) :], strict=True)
    ):
        return closed

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        outs = call_jaxpr(closed, args)
        targets = avals[-len(outs) :]
        return [_to_aval(o, a) for o, a in zip(outs, targets, strict=True)]

    return trace_to_jaxpr(fn, closed.in_avals)


def _while_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    cond_jaxpr: ClosedJaxpr,
    body_jaxpr: ClosedJaxpr,
    cond_nconsts: int,
    body_nconsts: int,
) -> tuple[list[Array], list[Tangent]]:
    nc, nb = cond_nconsts, body_nconsts
    bconst_nz = [not isinstance(t, Zero) for t in tangents[nc : nc + nb]]
    carry_nz = [not isinstance(t, Zero) for t in tangents[nc + nb :]]
    while True:  # fixpoint: which carries have nonzero tangents
        _, out_nz = jvp_jaxpr_nonzeros(body_jaxpr, (*bconst_nz, *carry_nz), tuple(carry_nz))
        new = [a or b for a, b in zip(carry_nz, out_nz, strict=True)]
        if new == carry_nz:
            break
        carry_nz = new
    body_jvp, _ = jvp_jaxpr_nonzeros(body_jaxpr, (*bconst_nz, *carry_nz), tuple(carry_nz))
    n_bt, n_ct, n_carry = sum(bconst_nz), sum(carry_nz), len(carry_nz)
    # body_jvp inputs: [bconsts, carry, bconst tangents, carry tangents] -> reorder to
    # [bconsts, bconst tangents, carry, carry tangents]
    in_perm = [
        *range(nb),
        *range(nb + n_carry, nb + n_carry + n_bt),
        *range(nb, nb + n_carry),
        *range(nb + n_carry + n_bt, nb + n_carry + n_bt + n_ct),
    ]
    body_new = _permute(body_jvp, in_perm, range(n_carry + n_ct))
    tangent_avals = [a for a, nz in zip(body_jaxpr.out_avals, carry_nz, strict=True) if nz]
    cond_new = _with_leading_unused(
        cond_jaxpr, [_tangent_aval(a) for a in tangent_avals], nc + n_carry
    )
    carry = primals[nc + nb :]
    carry_t = [instantiate(t) for t, nz in zip(tangents[nc + nb :], carry_nz, strict=True) if nz]
    bconst_t = [
        instantiate(t) for t, nz in zip(tangents[nc : nc + nb], bconst_nz, strict=True) if nz
    ]
    outs = while_p.bind_all(
        *primals[:nc],
        *primals[nc : nc + nb],
        *bconst_t,
        *carry,
        *carry_t,
        cond_jaxpr=cond_new,
        body_jaxpr=body_new,
        cond_nconsts=nc,
        body_nconsts=nb + n_bt,
    )
    out_t = iter(outs[n_carry:])
    tangents_out: list[Tangent] = [
        next(out_t) if nz else Zero(_tangent_aval(a))
        for a, nz in zip(body_jaxpr.out_avals, carry_nz, strict=True)
    ]
    return outs[:n_carry], tangents_out


def _tangent_aval(aval: ShapedArray) -> ShapedArray:
    from refjax.interp.jvp import tangent_aval

    return tangent_aval(aval)


jvp_rules[while_p] = _while_jvp


def _batch_axis_to(
    axis: int, args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[ArrayLike], tuple[BatchDim, ...]]:
    """Loop operands with their batch axes moved to ``axis`` (unmapped ones as they are), and
    the batch dims the batched body sees for them: 0 where mapped (a scanned operand's axis 0
    is the scan's own, so its batch axis goes to 1 and the body's slice has it at 0)."""
    moved = [x if d is None else moveaxis(x, d, axis) for x, d in zip(args, dims, strict=True)]
    return moved, tuple(None if d is None else 0 for d in dims)


def _while_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    cond_jaxpr: ClosedJaxpr,
    body_jaxpr: ClosedJaxpr,
    cond_nconsts: int,
    body_nconsts: int,
) -> tuple[list[Array], list[BatchDim]]:
    nc, nb = cond_nconsts, body_nconsts
    size = batch_size(args, dims)
    cconsts, cdims = _batch_axis_to(0, args[:nc], dims[:nc])
    bconsts, bdims = _batch_axis_to(0, args[nc : nc + nb], dims[nc : nc + nb])
    carry = [bdim_at(x, d, size, 0) for x, d in zip(args[nc + nb :], dims[nc + nb :], strict=True)]
    n_carry = len(carry)
    carry_dims = (0,) * n_carry
    cond_b, pred_dims = batch_jaxpr_dims(cond_jaxpr, cdims + carry_dims, size, (False,))
    body_b, _ = batch_jaxpr_dims(body_jaxpr, bdims + carry_dims, size, (True,) * n_carry)
    if pred_dims[0] is None:
        outs = while_p.bind_all(
            *cconsts,
            *bconsts,
            *carry,
            cond_jaxpr=cond_b,
            body_jaxpr=body_b,
            cond_nconsts=nc,
            body_nconsts=nb,
        )
        return outs, [0] * n_carry
    # A batched predicate: loop while any lane runs; lanes that stopped keep their values.
    from refjax.primitives.elementwise import select_n
    from refjax.primitives.reductions import reduce_or
    from refjax.primitives.shape import broadcast_in_dim

    carry_avals = [get_aval(c) for c in carry]

    def any_cond(*a: ArrayLike) -> list[ArrayLike]:
        (pred,) = call_jaxpr(cond_b, a)
        return [reduce_or(pred, (0,))]

    def masked_body(*a: ArrayLike) -> list[ArrayLike]:
        cc, bc, xs = a[:nc], a[nc : nc + nb], a[nc + nb :]
        (pred,) = call_jaxpr(cond_b, [*cc, *xs])
        new = call_jaxpr(body_b, [*bc, *xs])
        return [
            select_n(broadcast_in_dim(pred, get_aval(n).shape, (0,)), x, n)
            for n, x in zip(new, xs, strict=True)
        ]

    c_avals = [get_aval(c) for c in cconsts]
    b_avals = [get_aval(b) for b in bconsts]
    cond_new = trace_to_jaxpr(any_cond, [*c_avals, *carry_avals])
    body_new = trace_to_jaxpr(masked_body, [*c_avals, *b_avals, *carry_avals])
    outs = while_p.bind_all(
        *cconsts,
        *cconsts,
        *bconsts,
        *carry,
        cond_jaxpr=cond_new,
        body_jaxpr=body_new,
        cond_nconsts=nc,
        body_nconsts=nc + nb,
    )
    return outs, [0] * n_carry


batching_rules[while_p] = _while_batch


def _while_partial_eval(
    trace: PartialEvalTrace,
    args: Sequence[ArrayLike],
    *,
    cond_jaxpr: ClosedJaxpr,
    body_jaxpr: ClosedJaxpr,
    cond_nconsts: int,
    body_nconsts: int,
) -> list[Array]:
    """Known carries run in a loop now; unknown ones rerun the whole loop, staged (as JAX)."""
    params = {
        "cond_jaxpr": cond_jaxpr,
        "body_jaxpr": body_jaxpr,
        "cond_nconsts": cond_nconsts,
        "body_nconsts": body_nconsts,
    }
    nc, nb = cond_nconsts, body_nconsts
    unknowns = [trace.is_unknown(a) for a in args]
    carry_uk = unknowns[nc + nb :]
    while True:
        _, _, out_uk, _ = partial_eval_jaxpr(body_jaxpr, [*unknowns[nc : nc + nb], *carry_uk])
        new = [a or b for a, b in zip(carry_uk, out_uk, strict=True)]
        if new == carry_uk:
            break
        carry_uk = new
    cond_uk = partial_eval_jaxpr(cond_jaxpr, [*unknowns[:nc], *carry_uk])[2][0]
    staged = StagingTrace.process_primitive(trace, while_p, args, params)
    if cond_uk or all(carry_uk):
        return staged
    known_body = _known_part(body_jaxpr, [*unknowns[nc : nc + nb], *carry_uk], carry_uk)
    known_cond = _known_part(cond_jaxpr, [*unknowns[:nc], *carry_uk], [False])
    cconsts = [a for a, u in zip(args[:nc], unknowns[:nc], strict=True) if not u]
    bconsts = [a for a, u in zip(args[nc : nc + nb], unknowns[nc : nc + nb], strict=True) if not u]
    carry = [a for a, u in zip(args[nc + nb :], carry_uk, strict=True) if not u]
    with set_current_trace(trace.parent or trace):
        known = while_p.bind_all(
            *cconsts,
            *bconsts,
            *carry,
            cond_jaxpr=known_cond,
            body_jaxpr=known_body,
            cond_nconsts=len(cconsts),
            body_nconsts=len(bconsts),
        )
    known_it = iter(known)
    return [s if u else next(known_it) for s, u in zip(staged, carry_uk, strict=True)]


def _known_part(
    closed: ClosedJaxpr, unknowns: Sequence[bool], out_unknowns: Sequence[bool]
) -> ClosedJaxpr:
    """The part of ``closed`` computing its known outputs from its known inputs only."""
    known, _, _, n_res = partial_eval_jaxpr(closed, unknowns, list(out_unknowns))
    n_out = len(known.out_avals) - n_res
    return _permute(known, range(len(known.in_avals)), range(n_out))


partial_eval_rules[while_p] = _while_partial_eval


def _while_transpose(*args: Any, **params: Any) -> list[Cotangent | None]:
    raise ValueError(
        "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with "
        "dynamic start/stop values. Try using lax.scan, or using fori_loop with static "
        "start/stop."
    )


transpose_rules[while_p] = _while_transpose
# while has no DCE rule, as in JAX: the default one drops a loop none of whose results is used
# and keeps any other whole (a carry can steer the loop through cond_jaxpr).


# ---------------------------------------------------------------------------------------------
# scan


def _scan_abstract_eval(
    *avals: ShapedArray,
    jaxpr: ClosedJaxpr,
    length: int,
    reverse: bool,
    unroll: int,
    num_consts: int,
    num_carry: int,
) -> list[ShapedArray]:
    carry = avals[num_consts : num_consts + num_carry]
    xs = avals[num_consts + num_carry :]
    if any(x.shape[:1] != (length,) for x in xs):
        raise TypeError(f"scan xs must have leading axis of size {length}")
    outs = jaxpr.out_avals
    carry_out = _carry_types(outs[:num_carry], carry)
    if carry_out is None:
        raise TypeError("scan body must map the carry to the same types")
    ys = [a.update(shape=(length, *a.shape)) for a in outs[num_carry:]]
    return [*carry_out, *ys]


scan_p = standard_primitive("scan", _scan_abstract_eval, multiple_results=True)


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
    _split_transpose: bool = False,
) -> tuple[Any, Any]:
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; return the final carry
    and the stacked ``y``s (``lax.scan``)."""
    xs_flat = tree_util.tree_leaves(xs)
    lengths = {get_aval(x).shape[0] if get_aval(x).shape else -1 for x in xs_flat}
    if -1 in lengths:
        raise ValueError("scan got value with no leading axis to scan over")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) > 1:
        raise ValueError(
            "scan got values with different leading axis sizes: "
            f"{', '.join(str(n) for n in sorted(lengths))}."
        )
    if not lengths:
        raise ValueError("scan got no values to scan over and `length` not provided.")
    n = lengths.pop()
    init_flat, init_tree = tree_util.tree_flatten(init)
    carry_avals = [get_aval(c) for c in init_flat]
    x_avals = [get_aval(x).update(shape=get_aval(x).shape[1:]) for x in xs_flat]
    in_tree = tree_util.tree_structure((init, xs))

    def traced(c_avals: Sequence[ShapedArray]) -> tuple[ClosedJaxpr, list[ArrayLike], PyTreeDef]:
        return _trace_fn(lambda c, x: _pair_out(f(c, x)), in_tree, [*c_avals, *x_avals], "scan")

    body, consts, out_tree = traced(carry_avals)
    carry_tree, y_tree = _split_out_tree(out_tree)
    n_carry = len(init_flat)
    out_carry = body.out_avals[:n_carry]
    _check_scan_carry(init_tree, carry_avals, carry_tree, out_carry)
    if any(a.weak_type and not b.weak_type for a, b in zip(carry_avals, out_carry, strict=True)):
        carry_avals = [
            a.update(weak_type=a.weak_type and b.weak_type)
            for a, b in zip(carry_avals, out_carry, strict=True)
        ]
        init_flat = [_to_aval(x, a) for x, a in zip(init_flat, carry_avals, strict=True)]
        body, consts, out_tree = traced(carry_avals)
    body = _match_carry_weak(body, carry_avals, len(consts))
    outs = scan_p.bind_all(
        *consts,
        *init_flat,
        *xs_flat,
        jaxpr=body,
        length=n,
        reverse=bool(reverse),
        unroll=int(unroll),
        num_consts=len(consts),
        num_carry=n_carry,
    )
    return (
        tree_util.tree_unflatten(carry_tree, outs[:n_carry]),
        tree_util.tree_unflatten(y_tree, outs[n_carry:]),
    )


def _pair_out(out: Any) -> Any:
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"scan body output must be a pair, got {tree_util.tree_structure(out)}.")
    return (out[0], out[1])


def _split_out_tree(out_tree: PyTreeDef) -> tuple[PyTreeDef, PyTreeDef]:
    children = out_tree.children()
    return children[0], children[1]


def _check_scan_carry(
    init_tree: PyTreeDef,
    init_avals: Sequence[ShapedArray],
    out_tree: PyTreeDef,
    out_avals: Sequence[ShapedArray],
) -> None:
    if init_tree != out_tree:
        raise TypeError(
            "scan body function carry input and carry output must have the same pytree "
            f"structure, but they differ:\n\n  * the input carry has structure {init_tree}\n"
            f"  * the output carry has structure {out_tree}"
        )
    diffs = [
        f"  * the input carry component {i} has type {a.str_short()} but the corresponding "
        f"output carry component has type {b.str_short()}"
        for i, (a, b) in enumerate(zip(init_avals, out_avals, strict=True))
        if a.strip_weak_type() != b.strip_weak_type()
    ]
    if diffs:
        raise TypeError(
            "scan body function carry input and carry output must have equal types, but they "
            "differ:\n\n" + "\n".join(diffs) + "\n\nRevise the function so that all output "
            "types match the corresponding input types."
        )


def _match_carry_weak(
    body: ClosedJaxpr, carry_avals: Sequence[ShapedArray], n_consts: int
) -> ClosedJaxpr:
    """``body`` (after ``n_consts`` const inputs) with carry outputs as weak as the carry."""
    outs = body.out_avals[: len(carry_avals)]
    if all(o.weak_type == a.weak_type for o, a in zip(outs, carry_avals, strict=True)):
        return body

    def fn(*args: ArrayLike) -> list[ArrayLike]:
        res = call_jaxpr(body, args)
        fixed = [_to_aval(o, a) for o, a in zip(res[: len(carry_avals)], carry_avals, strict=True)]
        return [*fixed, *res[len(carry_avals) :]]

    return trace_to_jaxpr(fn, body.in_avals)


def _scan_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    jaxpr: ClosedJaxpr,
    length: int,
    reverse: bool,
    unroll: int,
    num_consts: int,
    num_carry: int,
) -> tuple[list[Array], list[Tangent]]:
    nc, nk = num_consts, num_carry
    nz = [not isinstance(t, Zero) for t in tangents]
    const_nz, carry_nz, xs_nz = nz[:nc], nz[nc : nc + nk], nz[nc + nk :]
    n_ys = len(jaxpr.out_avals) - nk
    while True:
        _, out_nz = jvp_jaxpr_nonzeros(
            jaxpr, (*const_nz, *carry_nz, *xs_nz), (*carry_nz, *([False] * n_ys))
        )
        new = [a or b for a, b in zip(carry_nz, out_nz[:nk], strict=True)]
        if new == carry_nz:
            break
        carry_nz = new
    body_jvp, out_nz = jvp_jaxpr_nonzeros(
        jaxpr, (*const_nz, *carry_nz, *xs_nz), (*carry_nz, *([False] * n_ys))
    )
    ys_nz = out_nz[nk:]
    n_in = nc + nk + len(xs_nz)
    ct, kt, xt = sum(const_nz), sum(carry_nz), sum(xs_nz)
    # body_jvp inputs: [consts, carry, xs, const_t, carry_t, xs_t]
    in_perm = [
        *range(nc),
        *range(n_in, n_in + ct),
        *range(nc, nc + nk),
        *range(n_in + ct, n_in + ct + kt),
        *range(nc + nk, n_in),
        *range(n_in + ct + kt, n_in + ct + kt + xt),
    ]
    # body_jvp outputs: [carry, ys, carry_t, ys_t]
    n_out = nk + n_ys
    yt = sum(ys_nz)
    out_perm = [
        *range(nk),
        *range(n_out, n_out + kt),
        *range(nk, n_out),
        *range(n_out + kt, n_out + kt + yt),
    ]
    body_new = _permute(body_jvp, in_perm, out_perm)
    consts, carry, xs = primals[:nc], primals[nc : nc + nk], primals[nc + nk :]
    const_t = [instantiate(t) for t, z in zip(tangents[:nc], const_nz, strict=True) if z]
    carry_t = [instantiate(t) for t, z in zip(tangents[nc : nc + nk], carry_nz, strict=True) if z]
    xs_t = [instantiate(t) for t, z in zip(tangents[nc + nk :], xs_nz, strict=True) if z]
    outs = scan_p.bind_all(
        *consts,
        *const_t,
        *carry,
        *carry_t,
        *xs,
        *xs_t,
        jaxpr=body_new,
        length=length,
        reverse=reverse,
        unroll=unroll,
        num_consts=nc + ct,
        num_carry=nk + kt,
    )
    carry_out, carry_t_out = outs[:nk], iter(outs[nk : nk + kt])
    ys, ys_t = outs[nk + kt : nk + kt + n_ys], iter(outs[nk + kt + n_ys :])
    out_avals = _scan_abstract_eval(
        *[get_aval(p) for p in primals],
        jaxpr=jaxpr,
        length=length,
        reverse=reverse,
        unroll=unroll,
        num_consts=nc,
        num_carry=nk,
    )
    tangents_out: list[Tangent] = []
    for k, aval in enumerate(out_avals):
        is_nz = carry_nz[k] if k < nk else ys_nz[k - nk]
        source = carry_t_out if k < nk else ys_t
        tangents_out.append(next(source) if is_nz else Zero(_tangent_aval(aval)))
    return [*carry_out, *ys], tangents_out


jvp_rules[scan_p] = _scan_jvp


def _scan_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    jaxpr: ClosedJaxpr,
    length: int,
    reverse: bool,
    unroll: int,
    num_consts: int,
    num_carry: int,
) -> tuple[list[Array], list[BatchDim]]:
    nc, nk = num_consts, num_carry
    size = batch_size(args, dims)
    consts, const_dims = _batch_axis_to(0, args[:nc], dims[:nc])
    carry = [
        bdim_at(x, d, size, 0) for x, d in zip(args[nc : nc + nk], dims[nc : nc + nk], strict=True)
    ]
    xs, xs_dims = _batch_axis_to(1, args[nc + nk :], dims[nc + nk :])  # axis 0 is the scan's
    in_dims = (*const_dims, *([0] * nk), *xs_dims)
    n_ys = len(jaxpr.out_avals) - nk
    body_b, out_dims = batch_jaxpr_dims(
        jaxpr, tuple(in_dims), size, (*([True] * nk), *([False] * n_ys))
    )
    outs = scan_p.bind_all(
        *consts,
        *carry,
        *xs,
        jaxpr=body_b,
        length=length,
        reverse=reverse,
        unroll=unroll,
        num_consts=nc,
        num_carry=nk,
    )
    y_dims = [None if d is None else 1 for d in out_dims[nk:]]
    return outs, [*([0] * nk), *y_dims]


batching_rules[scan_p] = _scan_batch


def _scan_partial_eval(
    trace: PartialEvalTrace,
    args: Sequence[ArrayLike],
    *,
    jaxpr: ClosedJaxpr,
    length: int,
    reverse: bool,
    unroll: int,
    num_consts: int,
    num_carry: int,
) -> list[Array]:
    nc, nk = num_consts, num_carry
    n_ys = len(jaxpr.out_avals) - nk
    unknowns = [trace.is_unknown(a) for a in args]
    const_uk, carry_uk, xs_uk = unknowns[:nc], unknowns[nc : nc + nk], unknowns[nc + nk :]
    while True:
        _, _, out_uk, _ = partial_eval_jaxpr(jaxpr, [*const_uk, *carry_uk, *xs_uk])
        new = [a or b for a, b in zip(carry_uk, out_uk[:nk], strict=True)]
        if new == carry_uk:
            break
        carry_uk = new
    force = [*carry_uk, *([False] * n_ys)]
    known_j, unknown_j, out_uk, n_res = partial_eval_jaxpr(
        jaxpr, [*const_uk, *carry_uk, *xs_uk], force
    )
    ys_uk = out_uk[nk:]
    consts, carry, xs = args[:nc], args[nc : nc + nk], args[nc + nk :]
    k_consts = [a for a, u in zip(consts, const_uk, strict=True) if not u]
    k_carry = [a for a, u in zip(carry, carry_uk, strict=True) if not u]
    k_xs = [a for a, u in zip(xs, xs_uk, strict=True) if not u]
    n_kcarry = len(k_carry)
    with set_current_trace(trace.parent or trace):
        known_outs = scan_p.bind_all(
            *k_consts,
            *k_carry,
            *k_xs,
            jaxpr=known_j,
            length=length,
            reverse=reverse,
            unroll=unroll,
            num_consts=len(k_consts),
            num_carry=n_kcarry,
        )
    k_carry_out = known_outs[:n_kcarry]
    k_ys = known_outs[n_kcarry : len(known_outs) - n_res]
    residuals = known_outs[len(known_outs) - n_res :]
    u_consts = [a for a, u in zip(consts, const_uk, strict=True) if u]
    u_carry = [a for a, u in zip(carry, carry_uk, strict=True) if u]
    u_xs = [a for a, u in zip(xs, xs_uk, strict=True) if u]
    # unknown_j inputs: [residuals, unknown consts, unknown carry, unknown xs];
    # scan wants [consts, carry, xs]: residuals are per-iteration, so they join the xs.
    nr, nuc, nuk, nux = n_res, len(u_consts), len(u_carry), len(u_xs)
    in_perm = [
        *range(nr, nr + nuc),
        *range(nr + nuc, nr + nuc + nuk),
        *range(nr),
        *range(nr + nuc + nuk, nr + nuc + nuk + nux),
    ]
    unknown_body = _permute(unknown_j, in_perm, range(len(unknown_j.out_avals)))
    staged = StagingTrace.process_primitive(
        trace,
        scan_p,
        [*u_consts, *u_carry, *residuals, *u_xs],
        {
            "jaxpr": unknown_body,
            "length": length,
            "reverse": reverse,
            "unroll": unroll,
            "num_consts": nuc,
            "num_carry": nuk,
        },
    )
    staged_it, k_carry_it, k_ys_it = iter(staged), iter(k_carry_out), iter(k_ys)
    result: list[Array] = [next(staged_it) if u else next(k_carry_it) for u in carry_uk]
    result += [next(staged_it) if u else next(k_ys_it) for u in ys_uk]
    return result


partial_eval_rules[scan_p] = _scan_partial_eval


def _scan_dce(used_outputs: list[bool], eqn: JaxprEqn) -> tuple[list[bool], JaxprEqn | None]:
    """Unused ys are dropped, and carries nothing needs (a fixpoint: a carry is needed when it
    is used after the loop or feeds a needed carry or y), with the body pruned to match and the
    consts and xs it no longer reads (JAX's ``_scan_dce_rule``)."""
    if not any(used_outputs):
        return [False] * len(eqn.invars), None
    jaxpr: ClosedJaxpr = eqn.params["jaxpr"]
    nc: int = eqn.params["num_consts"]
    nk: int = eqn.params["num_carry"]
    nx = len(jaxpr.in_avals) - nc - nk
    used_carry, used_ys = list(used_outputs[:nk]), list(used_outputs[nk:])
    for _ in range(nk + 1):
        body, used_inputs = dce_closed_jaxpr(
            jaxpr, [*used_carry, *used_ys], [*([False] * nc), *used_carry, *([False] * nx)]
        )
        used_carry_in = used_inputs[nc : nc + nk]
        if used_carry_in == used_carry:
            break
        used_carry = [a or b for a, b in zip(used_carry, used_carry_in, strict=True)]
    else:  # pragma: no cover - each round adds a carry, so nk + 1 rounds reach the fixpoint
        raise AssertionError("scan DCE: no fixpoint")
    used_outs = [*used_carry, *used_ys]
    if body is jaxpr and all(used_inputs) and all(used_outs):
        return used_inputs, eqn
    return used_inputs, _pruned_eqn(
        eqn,
        used_inputs,
        used_outs,
        jaxpr=body,
        num_consts=sum(used_inputs[:nc]),
        num_carry=sum(used_carry),
    )


dce_rules[scan_p] = _scan_dce


def _scan_transpose(
    cts: Sequence[Cotangent],
    *args: ArrayLike | UndefinedPrimal,
    jaxpr: ClosedJaxpr,
    length: int,
    reverse: bool,
    unroll: int,
    num_consts: int,
    num_carry: int,
) -> list[Cotangent | None]:
    """The backward scan: cotangents flow through the carry in the opposite direction.

    Defined (residual) consts stay consts; undefined consts accumulate their cotangents in the
    carry; defined xs stay xs; undefined xs receive cotangents as the transposed scan's ys.
    """
    original = args
    nc, nk = num_consts, num_carry
    # A carry whose initial value is known (an instantiated zero tangent) is still linear
    # in the loop: treat it as undefined and drop its cotangent, as JAX does.
    args = (*args[:nc], *(_as_undefined(c) for c in args[nc : nc + nk]), *args[nc + nk :])
    consts, carry, xs = args[:nc], args[nc : nc + nk], args[nc + nk :]
    res_consts = [c for c in consts if not isinstance(c, UndefinedPrimal)]
    lin_consts = [c for c in consts if isinstance(c, UndefinedPrimal)]
    res_xs = [x for x in xs if not isinstance(x, UndefinedPrimal)]
    undefined = tuple(isinstance(a, UndefinedPrimal) for a in args)
    # transpose_jaxpr(body): (defined inputs, cts of [carry, ys]) -> cts of undefined inputs,
    # ordered as [lin consts, carry, lin xs].
    t_body = transpose_jaxpr(jaxpr, undefined)
    n_rc, n_lc, n_rx = len(res_consts), len(lin_consts), len(res_xs)
    res_x_avals = [a.update(shape=a.shape[1:]) for a in (get_aval(x) for x in res_xs)]
    lin_c_avals = [c.aval for c in lin_consts]
    carry_avals = [c.aval for c in carry if isinstance(c, UndefinedPrimal)]
    y_avals = [a for a in jaxpr.out_avals[nk:]]

    def body(*a: ArrayLike) -> list[ArrayLike]:
        rc = a[:n_rc]
        acc = a[n_rc : n_rc + n_lc]
        ct_carry = a[n_rc + n_lc : n_rc + n_lc + nk]
        rx = a[n_rc + n_lc + nk : n_rc + n_lc + nk + n_rx]
        ct_y = a[n_rc + n_lc + nk + n_rx :]
        defined_iter_c, defined_iter_x = iter(rc), iter(rx)
        defined = []
        for k, u in enumerate(undefined):
            if u:
                continue
            defined.append(next(defined_iter_c) if k < nc else next(defined_iter_x))
        outs = call_jaxpr(t_body, [*defined, *ct_carry, *ct_y])
        ct_lc, ct_k, ct_lx = outs[:n_lc], outs[n_lc : n_lc + nk], outs[n_lc + nk :]
        from refjax.primitives.elementwise import add

        new_acc = [add(x, y) for x, y in zip(acc, ct_lc, strict=True)]
        return [*new_acc, *ct_k, *ct_lx]

    in_avals = [
        *(get_aval(c) for c in res_consts),
        *lin_c_avals,
        *carry_avals,
        *res_x_avals,
        *y_avals,
    ]
    body_t = trace_to_jaxpr(body, in_avals)
    from refjax.interp.jvp import zeros_like_aval

    acc0 = [zeros_like_aval(a) for a in lin_c_avals]
    ct_carry0 = [instantiate(c) for c in cts[:nk]]
    ct_ys = [instantiate(c) for c in cts[nk:]]
    outs = scan_p.bind_all(
        *res_consts,
        *acc0,
        *ct_carry0,
        *res_xs,
        *ct_ys,
        jaxpr=body_t,
        length=length,
        reverse=not reverse,
        unroll=unroll,
        num_consts=n_rc,
        num_carry=n_lc + nk,
    )
    ct_consts_it = iter(outs[:n_lc])
    ct_carry_it = iter(outs[n_lc : n_lc + nk])
    ct_xs_it = iter(outs[n_lc + nk :])
    result: list[Cotangent | None] = []
    for k, a in enumerate(args):
        if not isinstance(a, UndefinedPrimal):
            result.append(None)
        elif k < nc:
            result.append(next(ct_consts_it))
        elif k < nc + nk:
            ct = next(ct_carry_it)
            result.append(ct if isinstance(original[k], UndefinedPrimal) else None)
        else:
            result.append(next(ct_xs_it))
    return result


def _as_undefined(x: ArrayLike | UndefinedPrimal) -> UndefinedPrimal:
    return x if isinstance(x, UndefinedPrimal) else UndefinedPrimal(get_aval(x))


transpose_rules[scan_p] = _scan_transpose


# ---------------------------------------------------------------------------------------------
# fori_loop and map, built on scan (and while_loop)


def fori_loop(
    lower: ArrayLike,
    upper: ArrayLike,
    body_fun: Callable[[Any, Any], Any],
    init_val: Any,
    *,
    unroll: int | bool | None = None,
) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)`` (``lax.fori_loop``).

    With concrete bounds it lowers to ``scan`` (so reverse-mode differentiation works), as JAX
    does; otherwise to ``while_loop``.
    """
    from refjax.primitives.elementwise import add, lt

    if is_concrete(lower) and is_concrete(upper):
        lo, hi = int(np.asarray(lower)), int(np.asarray(upper))

        # The index is a Python int, so weakly typed whatever the bounds' dtype (an int carry
        # that adds it stays weak), as JAX's is.
        def step(carry: tuple[Any, Any], _: Any) -> tuple[tuple[Any, Any], None]:
            i, x = carry
            return (add(i, 1), body_fun(i, x)), None

        start: Any = lo
        (_, result), _ = scan(
            step,
            (start, init_val),
            None,
            length=max(hi - lo, 0),
            unroll=1 if unroll is None else unroll,
        )
        return result
    if unroll not in (None, 1, False):
        raise ValueError(
            "Can only use `unroll` in `fori_loop` if the loop bounds are statically known."
        )
    dtype = dtypes.result_type(lower, upper)
    lo_arr, hi_arr = convert(lower, dtype), convert(upper, dtype)

    def body(carry: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
        i, h, x = carry
        return add(i, np.asarray(1, dtype)), h, body_fun(i, x)

    _, _, result = while_loop(lambda c: lt(c[0], c[1]), body, (lo_arr, hi_arr, init_val))
    return result


def map(f: Callable[[Any], Any], xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001
    """``f`` applied to each slice of ``xs`` along its leading axis, stacked (``lax.map``).

    With ``batch_size``, as JAX: a scan over ``vmap(f)`` on batches of that many slices, then
    ``vmap(f)`` on the remainder, concatenated (``batch_size=0`` is one ``vmap``).
    """
    if batch_size is None:
        _, ys = scan(lambda _, x: ((), f(x)), (), xs)
        return ys
    from refjax.primitives import shape as sh
    from refjax.primitives import slicing as sl

    leaves, tree = tree_util.tree_flatten(xs)
    if not leaves:
        return map(f, xs)
    n = int(np.shape(leaves[0])[0])
    batches, rest = divmod(n, batch_size) if batch_size else (0, n)
    done = batches * batch_size

    def part(x: Any, start: int, stop: int) -> Any:  # x[start:stop], nothing if that is all
        shape = np.shape(x)
        if (start, stop) == (0, shape[0]):
            return x
        return sl.slice(x, (start, *(0,) * (len(shape) - 1)), (stop, *shape[1:]))

    batched, remainders = [], []
    for x in leaves:  # per leaf, its batches then its remainder (JAX's order of equations)
        if batches:
            batched.append(sh.reshape(part(x, 0, done), (batches, batch_size, *np.shape(x)[1:])))
        if rest:
            remainders.append(part(x, done, n))

    def flatten(y: Any) -> Any:
        return sh.reshape(y, (done, *y.shape[2:]))

    if not batches:
        return vmap_leading(f, tree_util.tree_unflatten(tree, remainders))
    _, ys = scan(lambda _, x: ((), vmap_leading(f, x)), (), tree_util.tree_unflatten(tree, batched))
    if not rest:
        return tree_util.tree_map(flatten, ys)
    remainder = vmap_leading(f, tree_util.tree_unflatten(tree, remainders))
    return tree_util.tree_map(lambda a, b: sh.concatenate([flatten(a), b], 0), ys, remainder)
