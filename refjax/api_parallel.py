"""``shard_map`` and ``pmap``: the user-facing wrappers of ``shard_map_p``.

``shard_map(f, mesh=, in_specs=, out_specs=)`` traces ``f`` once on one device's blocks (the mesh
axis names bound), checks the outputs' replication (``check_vma``), and binds ``shard_map_p``,
which runs one shard per device (``backends.spmd``) or is transformed by ``grad``/``vmap``/
``jit`` like any primitive. ``pmap(f, axis_name)`` is, as in JAX 0.10, a ``shard_map`` over a
one-axis mesh of the first ``n`` devices, with each mapped argument's axis moved to the front and
split one slice per device. At the top level the results carry their ``NamedSharding``.

Across processes (``refjax.distributed``), ``pmap`` maps over the devices of every process, as
JAX's: each process passes its local slices (the leading axis: as many as it has devices taking
part), collectives act over all of them (over MPI between processes), and each process gets the
results of its own slices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from refjax import tree_util
from refjax.api_util import check_callable
from refjax.backends.base import (
    ArrayImpl,
    Device,
    SingleDeviceSharding,
    device_put,
    local_devices,
    process_count,
)
from refjax.backends.base import devices as backend_devices
from refjax.backends.sharding import NamedSharding, ShardedArray
from refjax.interp.batching import moveaxis
from refjax.interp.core import (
    EVAL_TRACE,
    Array,
    ArrayLike,
    ShapedArray,
    Tracer,
    current_trace,
    get_aval,
)
from refjax.primitives import shape as sh
from refjax.primitives.shard_map import (
    Mesh,
    PartitionSpec,
    bind_shard_map,
    check_replication,
    shard_aval,
    split_count,
    trace_body,
    unshard_aval,
    vary_outputs,
)

__all__ = ["pmap", "shard_map", "typeof"]


def typeof(x: Any) -> ShapedArray:
    """The abstract value of ``x`` (``jax.typeof``): inside a ``shard_map`` body with
    ``check_vma``, its ``.mat.varying`` are the mesh axes the value varies over."""
    return get_aval(x)


def _is_spec(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def _spec_leaves(what: str, specs: Any, tree: Any) -> list[PartitionSpec]:
    """``specs`` (a pytree prefix of ``tree``, with PartitionSpec leaves) one per leaf."""
    try:
        leaves = tree_util.broadcast_prefix(specs, tree, is_leaf=_is_spec)
    except ValueError:
        raise ValueError(f"shard_map {what} must be a tree prefix of the corresponding value, "
                         f"got {what}={specs} for value tree "
                         f"{tree_util.tree_structure(tree)}.") from None
    for leaf in leaves:
        if not isinstance(leaf, PartitionSpec):
            raise TypeError(f"shard_map {what} must be PartitionSpecs (or a pytree of them), "
                            f"got {leaf!r}")
    return leaves


def _check_spec(fun_name: str, mesh: Mesh, spec: PartitionSpec, aval: Any, what: str) -> None:
    """JAX's errors for a spec naming an axis not in the mesh, twice, or splitting unevenly."""
    names = spec.mentioned()
    for n in names:
        if n not in mesh.axis_names:
            raise ValueError(f"shard_map applied to the function '{fun_name}' was given an "
                             f"{what} spec {spec} that refers to axis name {n!r}, which is not "
                             f"in the mesh with axis names {mesh.axis_names}")
    if len(set(names)) != len(names):
        raise ValueError(f"shard_map applied to the function '{fun_name}' was given an {what} "
                         f"spec {spec} that names a mesh axis more than once")
    if len(spec) > aval.ndim:
        raise ValueError(f"shard_map applied to the function '{fun_name}' was given an {what} "
                         f"spec {spec} of length {len(spec)}, but the corresponding value has "
                         f"rank {aval.ndim} (shape {aval.shape})")
    for dim, (size, axes) in enumerate(zip(aval.shape, spec.dim_axes(aval.ndim), strict=True)):
        count = split_count(mesh, axes)
        if size % count:
            raise ValueError(f"shard_map applied to the function '{fun_name}' was given argument "
                             f"arrays with axis sizes that are not evenly divisible by the "
                             f"corresponding mesh axis sizes: the {what} spec {spec} splits "
                             f"dimension {dim} of size {size} into {count} blocks")


def shard_map_flat(
    fun: Callable[..., Any], mesh: Mesh, args: Sequence[Any], in_specs: Any, out_specs: Any,
    check_vma: bool, fun_name: str,
) -> Any:
    """``fun(*args)`` run per shard of ``mesh``: the output pytree."""
    flat, in_tree = tree_util.tree_flatten(tuple(args))
    specs = _spec_leaves("in_specs", tuple(in_specs) if isinstance(in_specs, list)
                         else in_specs, tuple(args))
    avals = [get_aval(x) for x in flat]
    for spec, aval in zip(specs, avals, strict=True):
        _check_spec(fun_name, mesh, spec, aval, "in_specs")
    out_trees: list[Any] = []

    def body(*leaves: ArrayLike) -> list[ArrayLike]:
        out = fun(*tree_util.tree_unflatten(in_tree, list(leaves)))
        out_flat, out_tree = tree_util.tree_flatten(out)
        out_trees.append((out, out_tree))
        if not check_vma:
            return out_flat
        specs_out = _spec_leaves("out_specs", out_specs, out)
        for spec, x in zip(specs_out, out_flat, strict=True):
            _check_spec(fun_name, mesh, spec, unshard_aval(mesh, spec, get_aval(x)),
                        "out_specs")
        check_replication(fun_name, mesh, [get_aval(x) for x in out_flat], specs_out,
                          _spec_paths(out_specs, out))
        return vary_outputs(out_flat, specs_out)

    jaxpr = trace_body(body, mesh, [shard_aval(mesh, s, a, check_vma)
                                    for s, a in zip(specs, avals, strict=True)], check_vma)
    out, out_tree = out_trees[0]
    outs_specs = _spec_leaves("out_specs", out_specs, out)
    for spec, aval in zip(outs_specs, jaxpr.out_avals, strict=True):
        _check_spec(fun_name, mesh, spec, unshard_aval(mesh, spec, aval), "out_specs")
    results = bind_shard_map(flat, jaxpr, mesh, specs, outs_specs, check_vma)
    if current_trace() is EVAL_TRACE:
        results = [_placed(r, NamedSharding(mesh, s)) for r, s in zip(results, outs_specs,
                                                                      strict=True)]
    return tree_util.tree_unflatten(out_tree, results)


def _spec_paths(specs: Any, tree: Any) -> list[str]:
    """For each leaf of ``tree``, the key path (``[0]``) of its spec in ``specs``, a prefix."""
    keyed, _ = tree_util.tree_flatten_with_path(specs, is_leaf=_is_spec)
    paths = tree_util.tree_unflatten(tree_util.tree_structure(specs, is_leaf=_is_spec),
                                     [tree_util.keystr(k) for k, _ in keyed])
    return [str(p) for p in tree_util.broadcast_prefix(paths, tree)]


def _placed(x: Array, sharding: NamedSharding) -> Array:
    """A computed array reporting the sharding it was assembled with."""
    if type(x) is not ArrayImpl:
        return x
    return ShardedArray(x.aval, x.buffer, x.backend, sharding)


class _Infer:
    def __repr__(self) -> str:
        return "Infer"


Infer = _Infer()


def shard_map(
    f: Callable[..., Any] | None = None, /, *, out_specs: Any, in_specs: Any = Infer,
    mesh: Mesh | None = None, axis_names: Iterable[Any] = frozenset(), check_vma: bool = True,
) -> Any:
    """``f`` applied to each device's blocks of its arguments (split over ``mesh`` as
    ``in_specs`` say), the outputs' blocks joined as ``out_specs`` say; collectives inside act
    over the mesh axes."""
    if f is None:
        return functools.partial(shard_map, out_specs=out_specs, in_specs=in_specs, mesh=mesh,
                                 axis_names=axis_names, check_vma=check_vma)
    check_callable(f)
    if mesh is None:
        raise ValueError("The context mesh cannot be empty. Use `jax.set_mesh(mesh)` to enter "
                         "into a mesh context")
    if isinstance(in_specs, _Infer):
        raise NotImplementedError("shard_map without in_specs needs explicitly sharded "
                                  "arguments; pass in_specs")
    if frozenset(axis_names) and frozenset(axis_names) != frozenset(mesh.axis_names):
        raise NotImplementedError("shard_map over some of the mesh's axes (axis_names=)")
    name = getattr(f, "__name__", "fun")

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        return shard_map_flat(f, mesh, args, in_specs, out_specs, check_vma, name)

    return wrapped


# ---------------------------------------------------------------------------------------------
# pmap


class _PmapAxis:
    """The name of an unnamed pmap axis (no collective can refer to it)."""

    def __repr__(self) -> str:
        return "_internal_pmap_axis_name"


def _pmap_devices(size: int, devices: Sequence[Device] | None,
                  backend: str | None) -> list[Device]:
    if devices is not None:
        if len(devices) != size:
            raise ValueError("Leading axis size of input to pmapped function must equal the "
                             "number of local devices passed to pmap. Got axis_size="
                             f"{size}, num_local_devices={len(devices)}.")
        return list(devices)
    if process_count() > 1:  # size slices on each process: the first size devices of each
        local = local_devices(backend=backend)
        if size > len(local):
            raise ValueError(f"compiling computation that requires {size} local devices, but "
                             f"only {len(local)} are available in this process")
        return [d for p in range(process_count())
                for d in local_devices(p, backend)[:size]]
    available = backend_devices(backend)
    if size > len(available):
        raise ValueError(f"compiling computation that requires {size} logical devices, but "
                         f"only {len(available)} XLA devices are available "
                         f"(num_replicas={size})")
    return available[:size]


def pmap(
    fun: Callable[..., Any], axis_name: Any = None, *, in_axes: Any = 0, out_axes: Any = 0,
    static_broadcasted_argnums: int | Iterable[int] = (),
    devices: Sequence[Device] | None = None, backend: str | None = None,
    axis_size: int | None = None, donate_argnums: int | Iterable[int] = (),
) -> Callable[..., Any]:
    """``fun`` mapped over the leading (``in_axes``) axis of its arguments, one slice per device;
    collectives over ``axis_name`` act across the devices."""
    from refjax.api import _flatten_axes, _mapped_size

    check_callable(fun)
    statics = ((static_broadcasted_argnums,) if isinstance(static_broadcasted_argnums, int)
               else tuple(static_broadcasted_argnums))
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    name = axis_name if axis_name is not None else _PmapAxis()

    @functools.wraps(fun)
    def pmapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise NotImplementedError("pmap of a function called with keyword arguments")
        static_pos = {i % len(args) for i in statics}
        dyn = [a for i, a in enumerate(args) if i not in static_pos]
        axes = in_axes
        if isinstance(axes, tuple) and statics:
            axes = tuple(ax for i, ax in enumerate(axes) if i not in static_pos)
        flat, in_tree = tree_util.tree_flatten(tuple(dyn))
        dims = _flatten_axes("pmap in_axes", tuple(dyn), axes)
        size = _mapped_size(fun, (tuple(dyn), {}), flat, dims, axis_size)
        devs = _pmap_devices(size, devices, backend)
        mesh = Mesh(np.array(devs, dtype=object), (name,))
        across = len(devs) > size  # the local slices of a pmap over several processes
        moved = [x if d is None else moveaxis(x, d, 0) for x, d in zip(flat, dims, strict=True)]
        in_specs = [PartitionSpec() if d is None else PartitionSpec(name) for d in dims]
        outs: list[Any] = []

        def body(*leaves: Any) -> Any:
            vals = [x if d is None else sh.squeeze(x, (0,)) for x, d in zip(leaves, dims,
                                                                             strict=True)]
            it = iter(tree_util.tree_unflatten(in_tree, vals))
            full = [a if i in static_pos else next(it) for i, a in enumerate(args)]
            out = fun(*full)
            out_flat, out_tree = tree_util.tree_flatten(out)
            o_dims = _flatten_axes("pmap out_axes", out, out_axes)
            outs.append((out_tree, o_dims))
            return [x if od is None else sh.expand_dims(x, (0,))
                    for x, od in zip(out_flat, o_dims, strict=True)]

        flat_out = (_pmap_processes(body, mesh, size, moved, in_specs, outs, name) if across
                    else _pmap_shard_map(body, mesh, moved, in_specs, outs, name))
        out_tree, o_dims = outs[0]
        results = [r if od is None else moveaxis(r, 0, od) for r, od in zip(flat_out, o_dims,
                                                                              strict=True)]
        return tree_util.tree_unflatten(out_tree, results)

    return pmapped


def _pmap_shard_map(body: Callable[..., Any], mesh: Mesh, moved: list[Any],
                    in_specs: list[PartitionSpec], outs: list[Any], name: Any) -> list[Any]:
    """The pmap body as a shard_map; its out specs depend on the traced outputs."""

    jaxpr = trace_body(body, mesh, [shard_aval(mesh, s, get_aval(x))
                                    for s, x in zip(in_specs, moved, strict=True)])
    out_specs = [PartitionSpec() if od is None else PartitionSpec(name) for od in outs[0][1]]
    results = bind_shard_map(moved, jaxpr, mesh, in_specs, out_specs, False)
    if current_trace() is EVAL_TRACE:
        results = [_placed(r, NamedSharding(mesh, s)) for r, s in zip(results, out_specs,
                                                                      strict=True)]
    return results


def _pmap_processes(body: Callable[..., Any], mesh: Mesh, size: int, moved: list[Any],
                    in_specs: list[PartitionSpec], outs: list[Any], name: Any) -> list[Any]:
    """The pmap body run on this process's ``size`` slices, collectives over every process's
    (``mesh``: the devices of all); the results of the local slices, stacked."""
    from refjax.backends.spmd import mesh_shards, run_body

    if current_trace() is not EVAL_TRACE:
        raise NotImplementedError("pmap across processes under a transformation (jit, grad, "
                                  "vmap) of the pmap: apply it inside the pmapped function")
    shards = mesh_shards(mesh)
    local = Mesh(np.array(shards.owned_devices, dtype=object), (name,))
    values = [x if isinstance(x, Array) else device_put(x) for x in moved]
    jaxpr = trace_body(body, mesh, [shard_aval(local, s, get_aval(x))
                                    for s, x in zip(in_specs, values, strict=True)])
    out_specs = [PartitionSpec() if od is None else PartitionSpec(name) for od in outs[0][1]]
    blocks: list[list[ArrayLike]] = [[device_put(np.asarray(x)[j:j + 1] if spec else x, d)
               for x, spec in zip(values, in_specs, strict=True)]
              for j, d in enumerate(shards.owned_devices)]
    results = run_body(jaxpr, shards, blocks)
    joined = [np.concatenate([np.asarray(r[i]) for r in results]) if spec
              else np.asarray(results[0][i]) for i, spec in enumerate(out_specs)]
    return [_placed(device_put(v), NamedSharding(local, s)) for v, s in zip(joined, out_specs,
                                                                             strict=True)]


# ---------------------------------------------------------------------------------------------
# jit(in_shardings=, out_shardings=)


def _is_placement(x: Any) -> bool:
    return x is None or isinstance(x, (Device, SingleDeviceSharding, NamedSharding))


def place(tree: Any, shardings: Any, what: str) -> Any:
    """Every concrete leaf of ``tree`` put where ``shardings`` (a pytree prefix of ``tree``,
    or one placement for all) says; traced leaves are left as they are."""
    if _is_placement(shardings):
        placements = [shardings] * len(tree_util.tree_leaves(tree))
    else:
        try:
            placements = tree_util.broadcast_prefix(shardings, tree, is_leaf=_is_placement)
        except ValueError:
            raise ValueError(f"jit {what} must be a tree prefix of the corresponding value, "
                             f"got {what}={shardings} for value tree "
                             f"{tree_util.tree_structure(tree)}.") from None
    leaves, treedef = tree_util.tree_flatten(tree)
    placed = [x if p is None or isinstance(x, Tracer) else device_put(x, p)
              for x, p in zip(leaves, placements, strict=True)]
    return tree_util.tree_unflatten(treedef, placed)


def with_shardings(jitted: Callable[..., Any], in_shardings: Any,
                   out_shardings: Any) -> Callable[..., Any]:
    """``jitted`` with its arguments placed by ``in_shardings`` and its results by
    ``out_shardings`` (where they are computed outside any trace)."""

    @functools.wraps(jitted)
    def placed(*args: Any, **kwargs: Any) -> Any:
        if in_shardings is not None:
            args = place(args, in_shardings if not isinstance(in_shardings, list)
                         else tuple(in_shardings), "in_shardings")
        out = jitted(*args, **kwargs)
        if out_shardings is not None and current_trace() is EVAL_TRACE:
            out = place(out, out_shardings, "out_shardings")
        return out

    return placed
