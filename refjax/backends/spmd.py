"""Running ``shard_map`` (and so ``pmap``): one shard per device, collectives exchanged between
the shards.

:func:`run_shard_map` splits each input into the blocks its partition spec gives the mesh's
devices, puts each block on its device, and runs the body in lock step over the shards: every
equation is applied to each shard's operands in turn (eagerly, on the shard's device, so the
backend computes it there), and a collective over mesh axes instead gathers the operands of the
shards it combines and gives each its result (:data:`EXCHANGES`: each is a function from the
operands of one group of shards, ordered by their index along the collective's axes, to their
results -- what MPI's allreduce, allgather, reduce_scatter, sendrecv and alltoall do across
processes). A ``jit`` in the body that uses mesh axes runs in lock step too, a nested
``shard_map`` (nested ``pmap``) splits every shard into the inner mesh's, and any other equation
whose body uses mesh axes (a ``cond``/``scan``/``while`` with collectives inside) is computed
from the shards' stacked operands by ``vmap`` over the mesh axes, the collectives' reference
semantics. Outputs are joined from the shards' blocks; one replicated over an axis is taken from
the shards at index 0 along it.

Across processes (``refjax.distributed``), each process runs only the shards of its own devices
(:attr:`Shards.owned`): a collective whose group spans processes is exchanged over MPI
(``backends.mpi``), and the other steps that need every shard (a ``vmap``-computed equation,
joining outputs) first gather the shards' values from the processes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np

from refjax.backends import mpi
from refjax.backends.base import Device, device_put, process_index
from refjax.backends.sharding import NamedSharding, block_index
from refjax.interp.axes import AxisName, uses_axis
from refjax.interp.batching import bdim_at, vmap_flat
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    JaxprEqn,
    Literal,
    NDArray,
    Primitive,
    Var,
)
from refjax.primitives import collectives as co
from refjax.primitives.calls import jit_p
from refjax.primitives.shard_map import Mesh, PartitionSpec, Specs, shard_map_p

Coords: TypeAlias = dict[AxisName, int]  # a shard's index along each bound mesh axis


@dataclass(frozen=True, slots=True)
class Shards:
    """The shards running together: their axes (name, size), outermost first, and per shard
    (in row-major order over the axes) its coordinates and device; ``owned``: the shards this
    process runs (those on its devices; every one in a single process)."""

    axes: tuple[tuple[AxisName, int], ...]
    coords: tuple[Coords, ...]
    devices: tuple[Device, ...]
    owned: tuple[int, ...]

    @property
    def everywhere(self) -> bool:
        """Whether this process runs every shard."""
        return len(self.owned) == len(self.coords)

    @property
    def owned_devices(self) -> list[Device]:
        """The device of each shard this process runs."""
        return [self.devices[s] for s in self.owned]

    def gather(self, values: list[Any]) -> list[Any]:
        """Every shard's value, from this process's ``values`` (one per owned shard): gathered
        from the other processes when they run some of the shards."""
        if self.everywhere:
            return values
        found: dict[int, Any] = {}
        for part in mpi.allgather(dict(zip(self.owned, values, strict=True))):
            found.update(part)
        return [found[s] for s in range(len(self.coords))]

    @property
    def sizes(self) -> dict[AxisName, int]:
        """Each axis's size."""
        return dict(self.axes)

    def groups(self, names: Sequence[AxisName]) -> list[list[int]]:
        """The shards a collective over ``names`` combines: per group, shard numbers ordered by
        their index along ``names`` (row-major)."""
        sizes = self.sizes
        found: dict[tuple[int, ...], dict[int, int]] = {}
        for s, c in enumerate(self.coords):
            key = tuple(i for n, i in c.items() if n not in names)
            rank = 0
            for n in names:
                rank = rank * sizes[n] + c[n]
            found.setdefault(key, {})[rank] = s
        return [[g[r] for r in sorted(g)] for g in found.values()]


def mesh_shards(mesh: Mesh) -> Shards:
    """One shard per device of ``mesh``."""
    axes = tuple(mesh.shape.items())
    coords, devices = [], []
    for pos in itertools.product(*(range(s) for _, s in axes)):
        coords.append(dict(zip(mesh.axis_names, pos, strict=True)))
        devices.append(mesh.devices[pos])
    return Shards(axes, tuple(coords), tuple(devices), _owned(devices))


def _owned(devices: Sequence[Device]) -> tuple[int, ...]:
    """The shards on this process's devices."""
    me = process_index()
    return tuple(s for s, d in enumerate(devices) if d.process_index == me)


# ---------------------------------------------------------------------------------------------
# Splitting and joining global arrays


def split(value: NDArray, mesh: Mesh, spec: PartitionSpec) -> list[NDArray]:
    """The block of ``value`` each device of ``mesh`` holds, in row-major mesh order."""
    return [value[block_index(mesh, spec, pos, value.shape)]
            for pos in itertools.product(*(range(s) for s in mesh.axis_sizes))]


def join(blocks: Sequence[NDArray], mesh: Mesh, spec: PartitionSpec,
         shape: tuple[int, ...]) -> NDArray:
    """The global array of ``shape`` from the devices' blocks (row-major mesh order); a block
    replicated over an axis is read at index 0 along it."""
    out = np.empty(shape, dtype=blocks[0].dtype)
    mentioned = set(spec.mentioned())
    for pos, block in zip(itertools.product(*(range(s) for s in mesh.axis_sizes)), blocks,
                          strict=True):
        if all(p == 0 for n, p in zip(mesh.axis_names, pos, strict=True) if n not in mentioned):
            out[block_index(mesh, spec, pos, shape)] = block
    return out


# ---------------------------------------------------------------------------------------------
# Collectives: one group's operands (host arrays, ordered by index) to its results

Exchange: TypeAlias = Callable[..., list[NDArray]]


def _allreduce(reduce: Callable[..., NDArray]) -> Exchange:
    def exchange(xs: list[NDArray], *, axes: tuple[AxisName, ...], **_: Any) -> list[NDArray]:
        positional = tuple(a for a in axes if isinstance(a, int))
        if positional:
            xs = [np.asarray(reduce(x, axis=positional)) for x in xs]
        total = np.asarray(reduce(np.stack(xs), axis=0)).astype(xs[0].dtype)
        return [total] * len(xs)

    return exchange


def _all_gather(xs: list[NDArray], *, all_gather_dimension: int, tiled: bool,
                **_: Any) -> list[NDArray]:
    out = (np.concatenate(xs, all_gather_dimension) if tiled
           else np.stack(xs, all_gather_dimension))
    return [out] * len(xs)


def _reduce_scatter(xs: list[NDArray], *, scatter_dimension: int, tiled: bool,
                    **_: Any) -> list[NDArray]:
    total = np.sum(np.stack(xs), axis=0, dtype=xs[0].dtype)
    if tiled:
        return list(np.split(total, len(xs), scatter_dimension))
    return [np.take(total, k, scatter_dimension) for k in range(len(xs))]


def _ppermute(xs: list[NDArray], *, perm: tuple[tuple[int, int], ...],
              **_: Any) -> list[NDArray]:
    co.check_perm(perm, len(xs))
    source = {t: s for s, t in perm}
    return [xs[source[k]] if k in source else np.zeros_like(xs[k]) for k in range(len(xs))]


def _all_to_all(xs: list[NDArray], *, split_axis: int, concat_axis: int,
                **_: Any) -> list[NDArray]:
    chunks = [np.split(x, len(xs), split_axis) for x in xs]
    return [np.concatenate([chunks[j][k] for j in range(len(xs))], concat_axis)
            for k in range(len(xs))]


EXCHANGES: Final[dict[Primitive, Exchange]] = {
    co.psum_p: _allreduce(np.sum),
    co.psum_invariant_p: _allreduce(np.sum),
    co.pmax_p: _allreduce(np.max),
    co.pmin_p: _allreduce(np.min),
    co.all_gather_p: _all_gather,
    co.reduce_scatter_p: _reduce_scatter,
    co.ppermute_p: _ppermute,
    co.all_to_all_p: _all_to_all,
}


def _collective_names(eqn: JaxprEqn) -> tuple[AxisName, ...]:
    params = eqn.params
    if "axes" in params:
        return co.named_axes(params["axes"])
    return co.names_of(params["axis_name"])


# ---------------------------------------------------------------------------------------------
# The lock-step interpreter

PerShard: TypeAlias = list[list[ArrayLike]]  # per shard, a list of values


def run_body(closed: ClosedJaxpr, shards: Shards, args: PerShard) -> PerShard:
    """``closed`` on every shard's ``args`` in lock step; per shard, its outputs."""
    jaxpr = closed.jaxpr
    envs: list[dict[Var, ArrayLike]] = [
        dict(zip([*jaxpr.constvars, *jaxpr.invars], [*closed.consts, *a], strict=True))
        for a in args]

    def read(s: int, atom: Var | Literal) -> ArrayLike:
        return atom.val if isinstance(atom, Literal) else envs[s][atom]

    names = [n for n, _ in shards.axes]
    for eqn in jaxpr.eqns:
        ins = [[read(s, a) for a in eqn.invars] for s in range(len(envs))]
        outs = _run_eqn(eqn, shards, names, ins)
        for env, values in zip(envs, outs, strict=True):
            env.update(zip(eqn.outvars, values, strict=True))
    return [[read(s, v) for v in jaxpr.outvars] for s in range(len(envs))]


def _run_eqn(eqn: JaxprEqn, shards: Shards, names: list[AxisName], ins: PerShard) -> PerShard:
    prim, params = eqn.primitive, eqn.params
    used = [n for n in names if uses_axis(prim, params, n)]
    if prim in EXCHANGES and used:
        return _exchange(eqn, shards, ins)
    if prim is co.axis_index_p and used:
        return [[_on(np.int32(_rank(shards, s, co.names_of(params["axis_name"]))), d)]
                for s, d in zip(shards.owned, shards.owned_devices, strict=True)]
    if prim is shard_map_p:
        return _nested(eqn, shards, ins)
    if prim is jit_p and used:
        return run_body(params["jaxpr"], shards, ins)
    if used:
        return _by_vmap(eqn, shards, ins)
    return [list[ArrayLike](prim.bind_all(*[_on(x, d) for x in xs], **params))
            for xs, d in zip(ins, shards.owned_devices, strict=True)]


def _on(x: ArrayLike, device: Device) -> Array:
    """``x`` committed to ``device`` (left where it is if it already is)."""
    return device_put(x, device)


def _rank(shards: Shards, s: int, names: Sequence[AxisName]) -> int:
    sizes, coords, rank = shards.sizes, shards.coords[s], 0
    for n in names:
        rank = rank * sizes[n] + coords[n]
    return rank


def _exchange(eqn: JaxprEqn, shards: Shards, ins: PerShard) -> PerShard:
    params = eqn.params
    if params.get("axis_index_groups") is not None:
        raise NotImplementedError("axis_index_groups in a collective under shard_map or pmap")
    outs: PerShard = [[] for _ in ins]
    where = {s: k for k, s in enumerate(shards.owned)}  # a shard's place in ins
    host = EXCHANGES[eqn.primitive]
    for group in shards.groups(_collective_names(eqn)):
        mine = {k: s for k, s in enumerate(group) if s in where}
        if not mine:
            continue
        if len(mine) == len(group):
            results = dict(enumerate(host([np.asarray(ins[where[s]][0]) for s in group],
                                          **params)))
        else:  # the group spans processes: over MPI
            owners = [shards.devices[s].process_index for s in group]
            results = mpi.exchange(eqn.primitive, params, owners,
                                   {k: np.asarray(ins[where[s]][0]) for k, s in mine.items()},
                                   host)
        for k, s in mine.items():
            outs[where[s]] = [_on(np.asarray(results[k]), shards.devices[s])]
    return outs


def _nested(eqn: JaxprEqn, shards: Shards, ins: PerShard) -> PerShard:
    """An inner ``shard_map``: every shard split over the inner mesh, all run together."""
    params = eqn.params
    mesh: Mesh = params["mesh"]
    inner = mesh_shards(mesh)
    if not (shards.everywhere and inner.everywhere):
        raise NotImplementedError("a nested shard_map (or pmap) across processes")
    coords, devices = [], []
    blocks: PerShard = []
    for s, xs in enumerate(ins):
        parts = [split(np.asarray(x), mesh, spec) for x, spec in zip(xs, params["in_specs"],
                                                                     strict=True)]
        for k, (c, d) in enumerate(zip(inner.coords, inner.devices, strict=True)):
            coords.append({**shards.coords[s], **c})
            devices.append(d)
            blocks.append([_on(p[k], d) for p in parts])
    both = Shards(shards.axes + inner.axes, tuple(coords), tuple(devices),
                  tuple(range(len(coords))))
    results = run_body(params["jaxpr"], both, blocks)
    n = len(inner.coords)
    out_avals = [v.aval for v in eqn.outvars]
    return [[_on(join([np.asarray(r[i]) for r in results[s * n:(s + 1) * n]], mesh, spec,
                      av.shape), shards.devices[s])
             for i, (spec, av) in enumerate(zip(params["out_specs"], out_avals, strict=True))]
            for s in range(len(ins))]


def _by_vmap(eqn: JaxprEqn, shards: Shards, ins: PerShard) -> PerShard:
    """An equation whose body uses the mesh axes, computed by ``vmap`` over them."""
    sizes = [s for _, s in shards.axes]
    literal = [isinstance(a, Literal) for a in eqn.invars]
    ins = shards.gather(ins)
    stacked = [None if lit else np.stack([np.asarray(xs[i]) for xs in ins]).reshape(
        *sizes, *np.shape(ins[0][i])) for i, lit in enumerate(literal)]

    def over(level: int, *vals: Any) -> list[Any]:
        if level == len(shards.axes):
            return list(eqn.primitive.bind_all(*vals, **eqn.params))
        name, size = shards.axes[level]
        dims = [None if lit else 0 for lit in literal]
        pairs = vmap_flat(lambda *v: over(level + 1, *v), list(vals), dims, size, name)
        # (arrays, not numpy: an inner level's values are the outer vmap's tracers)
        return [bdim_at(v, d, size, 0) for v, d in pairs]

    values = [ins[0][i] if lit else x for i, (lit, x) in enumerate(zip(literal, stacked,
                                                                        strict=True))]
    outs = over(0, *values)
    flat = [np.asarray(o).reshape(len(ins), *np.shape(o)[len(sizes):]) for o in outs]
    return [[_on(o[s], d) for o in flat] for s, d in zip(shards.owned, shards.owned_devices,
                                                         strict=True)]


def run_shard_map(args: Sequence[ArrayLike], jaxpr: ClosedJaxpr, mesh: Mesh,
                  in_specs: Specs, out_specs: Specs) -> list[NDArray]:
    """``shard_map_p`` on concrete arguments: the joined outputs, as host arrays. Across
    processes every process holds the whole arguments, runs its own devices' shards, and gets
    the whole outputs (gathered from the processes)."""
    shards = mesh_shards(mesh)
    parts = [split(np.asarray(x), mesh, spec) for x, spec in zip(args, in_specs, strict=True)]
    blocks: PerShard = [[_on(p[k], shards.devices[k]) for p in parts] for k in shards.owned]
    results = shards.gather([[np.asarray(r) for r in rs]
                             for rs in run_body(jaxpr, shards, blocks)])
    shapes = [unshard.shape for unshard in _global_avals(jaxpr, mesh, out_specs)]
    return [join([np.asarray(r[i]) for r in results], mesh, spec, shape)
            for i, (spec, shape) in enumerate(zip(out_specs, shapes, strict=True))]


def _global_avals(jaxpr: ClosedJaxpr, mesh: Mesh, specs: Specs) -> list[Any]:
    from refjax.primitives.shard_map import unshard_aval

    return [unshard_aval(mesh, s, a) for s, a in zip(specs, jaxpr.out_avals, strict=True)]


def output_shardings(mesh: Mesh, specs: Specs) -> list[NamedSharding]:
    """The placement of each output of a ``shard_map`` over ``mesh``."""
    return [NamedSharding(mesh, s) for s in specs]
