"""``shard_map``: a per-shard function run on every device of a mesh, as one primitive.

A :class:`Mesh` arranges devices along named axes; a :class:`PartitionSpec` says, per array
dimension, which mesh axes split it (``P('i', None)``: rows split over ``'i'``; an axis it does
not name replicates the array over that axis). ``shard_map_p`` holds the per-shard body as a
closed jaxpr traced with the mesh's axis names bound (``interp.axes``), so its collectives act
over mesh axes. Its meaning, which every rule below follows: each device gets its block of every
input, runs the body, and the outputs' blocks are joined back; an output replicated over an axis
is taken from any one device (they are equal). Without ``check_vma`` that makes the transpose
divide its cotangent by the axis size and sum (``psum``) the input cotangents over the axes
their spec leaves out, as JAX's does; with it, the body's ``pvary``/``psum_invariant`` transpose
into each other and the boundary is left alone (JAX 0.10's scheme). ``pmap`` (``api_parallel``)
is a ``shard_map`` over a one-axis mesh, as in JAX 0.10. Running the primitive (one shard per
device, collectives exchanged between them) is the backends' ``spmd`` module;
``vmap(axis_name=)`` over the mesh axes computes the same values.

``check_vma`` types the body's values by the mesh axes they vary over (``ShapedArray.vma``:
an input varies over the axes its spec names; every abstract eval propagates it, and ``pvary``
casts are inserted where values meet), and rejects an output whose ``out_specs`` claims
replication over an axis it varies over, with JAX's error.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from refjax.interp.axes import AxisName, extend_axis_env, pvary_p, track_vma
from refjax.interp.batching import BatchDim, batch_jaxpr_dims, batch_size, batching_rules, moveaxis
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    JaxprEqn,
    ShapedArray,
    call_jaxpr,
    get_aval,
    ordered_axes,
    set_current_trace,
    vma_order,
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
    partial_eval_rules,
)
from refjax.interp.staging import StagingTrace, trace_to_jaxpr
from refjax.interp.transpose import Cotangent, UndefinedPrimal, transpose_jaxpr, transpose_rules
from refjax.primitives import collectives as co
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives.calls import _split_call
from refjax.primitives.common import standard_primitive
from refjax.primitives.constants import full_like_scalar

__all__ = ["Mesh", "PartitionSpec", "shard_map_p"]


class PartitionSpec(tuple[Any, ...]):
    """Per array dimension, the mesh axis (a name, a tuple of names, or None) splitting it."""

    def __new__(cls, *partitions: Any) -> PartitionSpec:
        parts = tuple(tuple(p) if isinstance(p, list) else p for p in partitions)
        return super().__new__(cls, parts)

    def __repr__(self) -> str:
        return "P(" + ", ".join(repr(p) for p in self) + ("," if len(self) == 1 else "") + ")"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[PartitionSpec], tuple[Any, ...]]:
        return (PartitionSpec, tuple(self))

    def dim_axes(self, ndim: int) -> tuple[tuple[AxisName, ...], ...]:
        """The mesh axes splitting each of ``ndim`` dimensions, in order (``()``: none)."""
        parts = [*self, *([None] * (ndim - len(self)))]
        return tuple(() if p is None else tuple(p) if isinstance(p, tuple) else (p,)
                     for p in parts)

    def mentioned(self) -> tuple[AxisName, ...]:
        """Every mesh axis this spec names."""
        return tuple(n for p in self for n in (p if isinstance(p, tuple) else (p,))
                     if n is not None)


class Mesh:
    """Devices laid out along named axes (``jax.sharding.Mesh``): ``devices`` is an array of
    devices whose dimensions are the axes ``axis_names``."""

    __slots__ = ("devices", "axis_names", "_key")

    def __init__(self, devices: Any, axis_names: str | Sequence[AxisName],
                 axis_types: Any = None) -> None:
        names = (axis_names,) if isinstance(axis_names, str) else tuple(axis_names)
        grid = np.empty(np.shape(devices), dtype=object)
        grid[...] = devices if isinstance(devices, np.ndarray) else _object_grid(devices)
        if grid.ndim != len(names):
            raise ValueError(f"Mesh requires the ndim of its first argument (`devices`) to equal "
                             f"the length of its second argument (`axis_names`), but got "
                             f"devices.ndim == {grid.ndim} and len(axis_names) == {len(names)}.")
        if len(set(names)) != len(names):
            raise ValueError(f"Mesh axis names must be unique, got {names}")
        grid.flags.writeable = False
        self.devices = grid
        self.axis_names: tuple[AxisName, ...] = names
        self._key = (tuple(grid.flat), grid.shape, names)

    @property
    def shape(self) -> OrderedDict[AxisName, int]:
        """Each axis name with its size, in order."""
        return OrderedDict(zip(self.axis_names, self.devices.shape, strict=True))

    @property
    def axis_sizes(self) -> tuple[int, ...]:
        """The sizes of the axes, in order."""
        return tuple(self.devices.shape)

    @property
    def size(self) -> int:
        """How many devices the mesh holds."""
        return int(self.devices.size)

    @property
    def device_ids(self) -> Any:
        """The ids of the devices, laid out as the mesh."""
        return np.vectorize(lambda d: d.id, otypes=[int])(self.devices)

    @property
    def empty(self) -> bool:
        """Whether the mesh has no devices."""
        return self.size == 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mesh) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return (f"Mesh(axis_sizes={self.axis_sizes}, axis_names={self.axis_names}, "
                f"axis_types={self._types()})")

    def __str__(self) -> str:
        axes = ", ".join(f"{n!r}: {s}" for n, s in self.shape.items())
        return f"Mesh({axes}, axis_types={self._types()})"

    def _types(self) -> str:
        """The axis types as JAX prints them: every axis is ``Auto`` here."""
        names = ["Auto"] * len(self.axis_names)
        return "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"


def _object_grid(devices: Any) -> Any:
    """A nested sequence of devices as a numpy object array of the same shape."""
    flat: list[Any] = []

    def walk(x: Any) -> Any:
        if isinstance(x, (list, tuple)):
            return [walk(y) for y in x]
        flat.append(x)
        return len(flat) - 1

    index = np.array(walk(devices), dtype=int)
    grid = np.empty(index.shape, dtype=object)
    for pos, i in np.ndenumerate(index):
        grid[pos] = flat[i]
    return grid


Specs = tuple[PartitionSpec, ...]


# ---------------------------------------------------------------------------------------------
# Shapes: a global array and one shard of it


def axis_frames(mesh: Mesh) -> extend_axes:
    """``with axis_frames(mesh):`` binds every mesh axis name to its size."""
    return extend_axes(mesh.shape.items())


class extend_axes:  # noqa: N801  # a context manager, as ``extend_axis_env``
    """Binds several (name, size) pairs for a block."""

    __slots__ = ("pairs", "stack")

    def __init__(self, pairs: Any) -> None:
        self.pairs = list(pairs)
        self.stack: list[extend_axis_env] = []

    def __enter__(self) -> None:
        for name, size in self.pairs:
            env = extend_axis_env(name, size)
            env.__enter__()
            self.stack.append(env)

    def __exit__(self, *exc: object) -> None:
        while self.stack:
            self.stack.pop().__exit__(*exc)


def split_count(mesh: Mesh, names: Sequence[AxisName]) -> int:
    """How many blocks the mesh axes ``names`` split a dimension into."""
    return math.prod(mesh.shape[n] for n in names)


def shard_aval(mesh: Mesh, spec: PartitionSpec, aval: ShapedArray,
               check_vma: bool = False) -> ShapedArray:
    """One device's block of a global array of ``aval`` split as ``spec`` says (with
    ``check_vma``, typed as varying over the axes ``spec`` names)."""
    dims = spec.dim_axes(aval.ndim)
    vma = aval.vma | frozenset(spec.mentioned()) if check_vma else aval.vma
    return aval.update(shape=tuple(s // split_count(mesh, n)
                                   for s, n in zip(aval.shape, dims, strict=True)), vma=vma)


def unshard_aval(mesh: Mesh, spec: PartitionSpec, aval: ShapedArray) -> ShapedArray:
    """The global array joined from blocks of ``aval`` laid out as ``spec`` says."""
    dims = spec.dim_axes(aval.ndim)
    return aval.update(shape=tuple(s * split_count(mesh, n)
                                   for s, n in zip(aval.shape, dims, strict=True)),
                       vma=aval.vma - frozenset(mesh.axis_names))


def unmentioned(mesh: Mesh, spec: PartitionSpec) -> tuple[AxisName, ...]:
    """The mesh axes over which ``spec`` replicates an array."""
    named = set(spec.mentioned())
    return tuple(n for n in mesh.axis_names if n not in named)


# ---------------------------------------------------------------------------------------------
# The primitive


def _shard_map_abstract_eval(
    *avals: ShapedArray, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: Specs, out_specs: Specs,
    check_vma: bool,
) -> list[ShapedArray]:
    shards = [shard_aval(mesh, s, a) for s, a in zip(in_specs, avals, strict=True)]
    if [(a.shape, a.dtype) for a in shards] != [(a.shape, a.dtype) for a in jaxpr.in_avals]:
        got = ", ".join(a.str_short() for a in shards)
        want = ", ".join(a.str_short() for a in jaxpr.in_avals)
        raise TypeError(f"shard_map called with blocks of type ({got}), expected ({want})")
    return [unshard_aval(mesh, s, a) for s, a in zip(out_specs, jaxpr.out_avals, strict=True)]


shard_map_p = standard_primitive("shard_map", _shard_map_abstract_eval, multiple_results=True)


def bind_shard_map(args: Sequence[ArrayLike], jaxpr: ClosedJaxpr, mesh: Mesh,
                   in_specs: Sequence[PartitionSpec], out_specs: Sequence[PartitionSpec],
                   check_vma: bool) -> list[Array]:
    """``shard_map_p`` applied to ``args``."""
    return shard_map_p.bind_all(*args, jaxpr=jaxpr, mesh=mesh, in_specs=tuple(in_specs),
                                out_specs=tuple(out_specs), check_vma=check_vma)


def trace_body(fn: Callable[..., Sequence[ArrayLike]], mesh: Mesh,
               avals: Sequence[ShapedArray], check_vma: bool = False) -> ClosedJaxpr:
    """``fn`` traced on blocks of ``avals`` with the mesh axes bound (with ``check_vma``,
    values typed by the mesh axes they vary over)."""
    token = vma_order.set(mesh.axis_names)
    try:
        with axis_frames(mesh), track_vma(mesh.axis_names if check_vma else ()):
            return trace_to_jaxpr(fn, avals)
    finally:
        vma_order.reset(token)


def vary_outputs(outs: Sequence[ArrayLike], specs: Sequence[PartitionSpec]) -> list[ArrayLike]:
    """Each output cast (``pvary``) to vary over every axis its spec names, as JAX's
    ``shard_map`` does before it checks them."""
    cast = []
    for x, spec in zip(outs, specs, strict=True):
        missing = ordered_axes(frozenset(spec.mentioned()) - get_aval(x).vma)
        cast.append(pvary_p.bind(x, axes=missing) if missing else x)
    return cast


# ---------------------------------------------------------------------------------------------
# JVP: the body's JVP; tangents split as their primals.


def _shard_map_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, jaxpr: ClosedJaxpr,
    mesh: Mesh, in_specs: Specs, out_specs: Specs, check_vma: bool,
) -> tuple[list[Array], list[Tangent]]:
    nonzeros = tuple(not isinstance(t, Zero) for t in tangents)
    with axis_frames(mesh):
        body, out_nz = jvp_jaxpr_nonzeros(jaxpr, nonzeros, (False,) * len(jaxpr.out_avals))
    nz_tangents = [t for t in tangents if not isinstance(t, Zero)]
    t_specs = tuple(s for s, nz in zip(in_specs, nonzeros, strict=True) if nz)
    t_out_specs = tuple(s for s, nz in zip(out_specs, out_nz, strict=True) if nz)
    outs = bind_shard_map([*primals, *nz_tangents], body, mesh, in_specs + t_specs,
                          out_specs + t_out_specs, check_vma)
    n = len(out_specs)
    it = iter(outs[n:])
    avals = [unshard_aval(mesh, s, a) for s, a in zip(out_specs, jaxpr.out_avals, strict=True)]
    out_tangents: list[Tangent] = [next(it) if nz else Zero(tangent_aval(a))
                                   for nz, a in zip(out_nz, avals, strict=True)]
    return outs[:n], out_tangents


jvp_rules[shard_map_p] = _shard_map_jvp


# ---------------------------------------------------------------------------------------------
# Batching: the batch axis leads every batched operand, unsplit; the body is batched at 0.


def _shard_map_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, jaxpr: ClosedJaxpr, mesh: Mesh,
    in_specs: Specs, out_specs: Specs, check_vma: bool,
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    moved = [x if d is None else moveaxis(x, d, 0) for x, d in zip(args, dims, strict=True)]
    specs = tuple(s if d is None else PartitionSpec(None, *s)
                  for s, d in zip(in_specs, dims, strict=True))
    body_dims = tuple(None if d is None else 0 for d in dims)
    with axis_frames(mesh):
        body, out_dims = batch_jaxpr_dims(jaxpr, body_dims, size, (False,) * len(out_specs))
    new_out = tuple(s if d is None else PartitionSpec(None, *s)
                    for s, d in zip(out_specs, out_dims, strict=True))
    return bind_shard_map(moved, body, mesh, specs, new_out, check_vma), out_dims


batching_rules[shard_map_p] = _shard_map_batch


# ---------------------------------------------------------------------------------------------
# Transpose: the body transposed; without check_vma, replicated output cotangents divided among
# the devices and input cotangents summed over the axes their inputs were replicated over.


def _is_float(aval: ShapedArray) -> bool:
    return bool(np.issubdtype(aval.dtype, np.inexact))


def _shard_map_transpose(
    cts: Sequence[Cotangent], *args: ArrayLike | UndefinedPrimal, jaxpr: ClosedJaxpr,
    mesh: Mesh, in_specs: Specs, out_specs: Specs, check_vma: bool,
) -> list[Cotangent | None]:
    undefined = tuple(isinstance(a, UndefinedPrimal) for a in args)
    defined = [a for a in args if not isinstance(a, UndefinedPrimal)]
    def_specs = tuple(s for s, u in zip(in_specs, undefined, strict=True) if not u)
    ct_specs = tuple(s for s, u in zip(in_specs, undefined, strict=True) if u)
    with axis_frames(mesh):
        t_body = transpose_jaxpr(jaxpr, undefined)

    n_ct = len(out_specs)

    def body(*ins: ArrayLike) -> list[ArrayLike]:  # (output cotangents first, as JAX's)
        if check_vma:  # the body's pvary/psum_invariant transpose into each other
            return _vma_cts(call_jaxpr(t_body, [*ins[n_ct:], *ins[:n_ct]]), ct_specs)
        out_cts = []
        for ct, spec in zip(ins[:n_ct], out_specs, strict=True):
            n = split_count(mesh, unmentioned(mesh, spec))
            aval = get_aval(ct)
            out_cts.append(ew.div(ct, full_like_scalar(ct, n)) if n > 1 and _is_float(aval)
                           else ct)
        in_cts = call_jaxpr(t_body, [*ins[n_ct:], *out_cts])
        return [c if not _is_float(get_aval(c)) or not unmentioned(mesh, spec)
                else co.psum_p.bind(c, axes=unmentioned(mesh, spec), axis_index_groups=None)
                for c, spec in zip(in_cts, ct_specs, strict=True)]

    body_avals = [*jaxpr.out_avals,
                  *(a for a, u in zip(jaxpr.in_avals, undefined, strict=True) if not u)]
    wrapped = trace_body(body, mesh, body_avals, check_vma)
    outs = iter(bind_shard_map([*map(instantiate, cts), *defined], wrapped, mesh,
                               out_specs + def_specs, ct_specs, check_vma))
    return [next(outs) if u else None for u in undefined]


transpose_rules[shard_map_p] = _shard_map_transpose


def _vma_cts(cts: Sequence[ArrayLike], specs: Specs) -> list[ArrayLike]:
    """Input cotangents typed as their inputs: one varying over an axis its spec replicates
    over is summed there (``psum_invariant``), one invariant over an axis its spec names is
    cast there (``pvary``)."""
    out: list[ArrayLike] = []
    for c, spec in zip(cts, specs, strict=True):
        vma, named = get_aval(c).vma, frozenset(spec.mentioned())
        extra = ordered_axes(vma - named)
        if extra and _is_float(get_aval(c)):
            c = co.psum_invariant_p.bind(c, axes=extra)
        out.append(c)
    return vary_outputs(out, specs)


# ---------------------------------------------------------------------------------------------
# Partial evaluation: the known part runs as a shard_map now; its residuals leave it stacked
# over every mesh axis (one block per device) and enter the staged unknown shard_map so.


def _shard_map_partial_eval(
    trace: PartialEvalTrace, args: Sequence[ArrayLike], *, jaxpr: ClosedJaxpr, mesh: Mesh,
    in_specs: Specs, out_specs: Specs, check_vma: bool,
) -> list[Array]:
    unknowns = tuple(trace.is_unknown(a) for a in args)
    with axis_frames(mesh):
        known, unknown, out_unknowns, sources = _split_call(jaxpr, unknowns)
    known_args = [a for a, u in zip(args, unknowns, strict=True) if not u]
    unknown_args = [a for a, u in zip(args, unknowns, strict=True) if u]
    known_specs = tuple(s for s, u in zip(in_specs, unknowns, strict=True) if not u)
    n_known = len(out_unknowns) - sum(out_unknowns)
    known_out_specs = tuple(s for s, u in zip(out_specs, out_unknowns, strict=True) if not u)
    n_res = len(known.out_avals) - n_known
    # Each residual of the known body leaves it stacked over every mesh axis (one block per
    # device) or, with check_vma, split over the axes it varies over (JAX's ``nospec``), a
    # scalar one as shape (1,).
    res_out = known.out_avals[n_known:]
    if check_vma:
        stacked_res = [not a.shape for a in res_out]
        res_out_specs = tuple(_vma_spec(a.vma) for a in res_out)
    else:
        stacked_res = [True] * n_res
        res_out_specs = (PartitionSpec(mesh.axis_names),) * n_res

    def known_body(*ins: ArrayLike) -> list[ArrayLike]:
        outs = call_jaxpr(known, ins)  # (residuals first, as JAX's)
        return [*(sh.expand_dims(r, (0,)) if s else r
                  for r, s in zip(outs[n_known:], stacked_res, strict=True)), *outs[:n_known]]

    known_wrapped = trace_body(known_body, mesh, known.in_avals, check_vma)
    with set_current_trace(trace.parent or trace):
        res_outs = bind_shard_map(known_args, known_wrapped, mesh, known_specs,
                                  res_out_specs + known_out_specs, check_vma)
    known_outs = res_outs[n_res:]
    pools: dict[str, tuple[Sequence[ArrayLike], Specs]] = {
        "in": (known_args, known_specs), "out": (known_outs, known_out_specs),
        "res": (res_outs[:n_res], res_out_specs)}
    residuals = [pools[where][0][i] for where, i in sources]
    res_specs = tuple(pools[where][1][i] for where, i in sources)
    stacked = [where == "res" and stacked_res[i] for where, i in sources]
    n_r = len(residuals)

    def unknown_body(*ins: ArrayLike) -> list[ArrayLike]:
        res = [sh.squeeze(r, (0,)) if s else r for r, s in zip(ins[:n_r], stacked, strict=True)]
        return list(call_jaxpr(unknown, [*res, *ins[n_r:]]))

    res_avals = [shard_aval(mesh, s, get_aval(r), check_vma)
                 for s, r in zip(res_specs, residuals, strict=True)]
    unknown_avals = [*res_avals, *unknown.in_avals[n_r:]]
    unknown_wrapped = trace_body(unknown_body, mesh, unknown_avals, check_vma)
    unknown_specs = tuple(s for s, u in zip(in_specs, unknowns, strict=True) if u)
    unknown_out_specs = tuple(s for s, u in zip(out_specs, out_unknowns, strict=True) if u)
    params = {"jaxpr": unknown_wrapped, "mesh": mesh, "in_specs": res_specs + unknown_specs,
              "out_specs": unknown_out_specs, "check_vma": check_vma}
    staged = StagingTrace.process_primitive(trace, shard_map_p, [*residuals, *unknown_args],
                                            params)
    known_iter, staged_iter = iter(known_outs[:n_known]), iter(staged)
    return [next(staged_iter) if u else next(known_iter) for u in out_unknowns]


partial_eval_rules[shard_map_p] = _shard_map_partial_eval


def _vma_spec(vma: frozenset[AxisName]) -> PartitionSpec:
    """A residual's spec under ``check_vma``: its leading dimension split over the axes it
    varies over (JAX's ``nospec``)."""
    names = ordered_axes(vma)
    if not names:
        return PartitionSpec()
    return PartitionSpec(names[0] if len(names) == 1 else names)


def _shard_map_dce(used_outputs: list[bool], eqn: JaxprEqn) -> tuple[list[bool],
                                                                     JaxprEqn | None]:
    if not any(used_outputs):
        return [False] * len(eqn.invars), None
    params = eqn.params
    body, used_inputs = dce_closed_jaxpr(params["jaxpr"], used_outputs)
    if body is params["jaxpr"]:
        return used_inputs, eqn
    new_params = {
        **params, "jaxpr": body,
        "in_specs": tuple(s for s, u in zip(params["in_specs"], used_inputs, strict=True) if u),
        "out_specs": tuple(s for s, u in zip(params["out_specs"], used_outputs, strict=True)
                           if u),
    }
    new = JaxprEqn(shard_map_p,
                   tuple(v for v, u in zip(eqn.invars, used_inputs, strict=True) if u),
                   tuple(v for v, u in zip(eqn.outvars, used_outputs, strict=True) if u),
                   new_params)
    return used_inputs, new


dce_rules[shard_map_p] = _shard_map_dce


# ---------------------------------------------------------------------------------------------
# Varying manual axes: with ``check_vma`` the body's avals say which mesh axes each value
# varies over (``ShapedArray.vma``, propagated by every abstract eval); an output whose
# ``out_specs`` claims replication over an axis it varies over is JAX's error.

Vma = frozenset[AxisName]


def check_replication(fun_name: str, mesh: Mesh, outs: Sequence[ShapedArray],
                      out_specs: Sequence[PartitionSpec], paths: Sequence[str]) -> None:
    """JAX's ValueError for an output whose spec says replicated over an axis it varies over;
    ``paths`` name each output's spec (``[0]``, or ``''`` for a single spec)."""
    bad = [(path, spec, aval.vma) for path, spec, aval in zip(paths, out_specs, outs,
                                                               strict=True)
           if aval.vma - frozenset(spec.mentioned())]
    if not bad:
        return
    msgs = [f"* out_specs{path} is {_replication_line(mesh, spec, vma)}"
            for path, spec, vma in bad]
    if len(msgs) == 1:
        msgs = [msgs[0][2:]]  # no bullet for one
    raise ValueError(
        f"shard_map applied to the function '{fun_name}' was given out_specs which require "
        "replication which can't be statically inferred given the mesh:\n\n"
        f"The mesh given has shape {mesh.axis_sizes} with corresponding axis names "
        f"{mesh.axis_names}.\n\n" + "\n\n".join(msgs) + "\n\n"
        "Check if these output values are meant to be replicated over those mesh axes. If not, "
        "consider revising the corresponding out_specs entries. If so, consider disabling the "
        "check by passing the check_vma=False argument to `jax.shard_map`.")


def _replication_line(mesh: Mesh, spec: PartitionSpec, vma: Vma) -> str:
    """JAX's sentence about one output varying over axes its spec says it is replicated over."""
    named = spec.mentioned()
    replicated = [n for n in mesh.axis_names if n not in named]
    if len(replicated) == 1:  # (that one axis is the one it varies over)
        return (f"{spec} which implies that the corresponding output value is "
                f"replicated across mesh axis {replicated[0]!r}, but could not infer "
                "replication over any axes")
    only = ",".join(str(n) for n in mesh.axis_names if n in named)
    diff = ",".join(str(n) for n in mesh.axis_names if n in vma and n not in named)
    got = ",".join(str(n) for n in mesh.axis_names if n in vma)
    return (f"{spec} which implies that the corresponding output value is only "
            f"varying across mesh axes {{{only}}} and not {{{diff}}}, but it was inferred to be "
            f"possibly varying over {{{got}}}")
