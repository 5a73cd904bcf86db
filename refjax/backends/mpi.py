"""Collectives across processes, over MPI (mpi4py): the exchanges of ``backends.spmd`` when the
shards a collective combines live in several processes.

``refjax.distributed.initialize()`` starts this layer (:func:`start`): MPI's world communicator
names the processes (its rank is ``process_index()``, its size ``process_count()``), and each
process holds its own devices. The lock-step interpreter of ``spmd`` runs, in every process, the
shards of its own devices; a collective whose group of shards spans processes comes here
(:func:`exchange`) with the operands of the group's local shards, and each gets its result:

- each process holding one shard of the group (one device per process, or a mesh axis across
  processes): the MPI collective itself, over a communicator of the group's processes ranked in
  the group's order -- ``psum``/``psum_invariant``/``pmax``/``pmin`` are ``Allreduce``
  (SUM/MAX/MIN), ``all_gather`` is ``Allgather``, ``psum_scatter`` is ``Reduce_scatter_block``,
  ``ppermute`` is ``Sendrecv`` (``Isend``/``Recv`` where a shard only sends or only receives),
  ``all_to_all`` is ``Alltoall``;
- a process holding several shards of the group (several local devices): the group's operands
  are gathered into every member with MPI's ``Allgather`` and the host function of
  ``spmd.EXCHANGES`` computes each shard's result, so the arithmetic (the summation order of
  ``psum`` among them) is that of one process with as many devices.

A dtype MPI has no type for (``bfloat16``, ...) travels as a pickled object (``allgather``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from refjax.interp.core import NDArray, Primitive
from refjax.primitives import collectives as co


@dataclass(slots=True)
class _World:
    """The running MPI world: its communicator, and the sub-communicators made so far (keyed
    by their processes, in rank order)."""

    mpi: Any  # the mpi4py.MPI module
    comm: Any  # a duplicate of MPI.COMM_WORLD: refjax's messages never meet the program's
    subs: dict[tuple[int, ...], Any]


_WORLD: list[_World] = []

# What ``mpirun``/``mpiexec`` launchers put in a process's environment (MPICH's Hydra, Open MPI,
# Slurm's PMI): a process started by one of them is part of an MPI world.
LAUNCHER_ENV: Final = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                       "MPI_LOCALNRANKS")


def launched_by_mpirun() -> bool:
    """Whether this process was started by an MPI launcher (``mpirun -n 2 python ...``)."""
    return any(name in os.environ for name in LAUNCHER_ENV)


def load_mpi() -> Any:
    """The ``mpi4py.MPI`` module (MPI initialised); an ImportError saying what to install."""
    try:
        from mpi4py import MPI  # type: ignore[import-not-found, unused-ignore]  # optional extra
    except ImportError as err:
        raise ImportError("refjax.distributed needs mpi4py and an MPI library: pip install "
                          "mpi4py mpich (or refjax's 'mpi' extra)") from err
    return MPI


def start() -> tuple[int, int]:
    """Join the MPI world: this process's rank and the world's size."""
    if not _WORLD:
        mpi = load_mpi()
        _WORLD.append(_World(mpi, mpi.COMM_WORLD.Dup(), {}))
    comm = _WORLD[0].comm
    return int(comm.Get_rank()), int(comm.Get_size())


def stop() -> None:
    """Leave the MPI world (its communicators freed; MPI itself finalises at exit)."""
    if _WORLD:
        world = _WORLD.pop()
        for sub in world.subs.values():
            sub.Free()
        world.comm.Free()


def running() -> bool:
    """Whether :func:`start` was called (and not :func:`stop`)."""
    return bool(_WORLD)


def _world() -> _World:
    if not _WORLD:
        raise RuntimeError("collectives across processes need refjax.distributed.initialize()")
    return _WORLD[0]


def allgather(value: Any) -> list[Any]:
    """``value`` from every process, in rank order (MPI's ``allgather`` of Python objects)."""
    return list(_world().comm.allgather(value))


def barrier() -> None:
    """Wait until every process gets here."""
    _world().comm.Barrier()


def communicator(processes: Sequence[int]) -> Any:
    """A communicator of ``processes`` (ranks of the world), ranked in the order given; made
    once per order (collectively, by those processes only: MPI's ``Create_group``)."""
    world = _world()
    key = tuple(processes)
    if key == tuple(range(world.comm.Get_size())):
        return world.comm
    if key not in world.subs:
        group = world.comm.Get_group().Incl(list(key))
        world.subs[key] = world.comm.Create_group(group)
        group.Free()
    return world.subs[key]


def _mpi_type(dtype: np.dtype[Any]) -> Any:
    """MPI's type for ``dtype``, or None if it has none (the value then travels pickled)."""
    from mpi4py.util.dtlib import from_numpy_dtype  # type: ignore[import-not-found, unused-ignore]

    try:
        return from_numpy_dtype(dtype)
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------------------------------------
# One group's exchange


HostExchange = Callable[..., list[NDArray]]


def exchange(prim: Primitive, params: Mapping[str, Any], owners: Sequence[int],
             local: dict[int, NDArray], host: HostExchange) -> dict[int, NDArray]:
    """A collective over one group of shards spread over processes. ``owners[k]`` is the
    process of the group's ``k``-th shard (in the group's order), ``local`` this process's
    operands by position in the group; the result of each of them, by position. ``host`` is
    the one-process exchange (``spmd.EXCHANGES``), used where a process holds several shards."""
    processes = list(dict.fromkeys(owners))
    comm = communicator(processes)
    values = list(local.values())
    one_each = len(processes) == len(owners)
    if one_each and _mpi_type(values[0].dtype) is not None:
        (k, x), = local.items()
        collective = _COLLECTIVES[prim]
        return {k: collective(comm, _contiguous(x), len(owners), k, dict(params))}
    gathered: list[dict[int, NDArray]] = comm.allgather(local)  # every member's operands
    operands: dict[int, NDArray] = {}
    for part in gathered:
        operands.update(part)
    results = host([operands[k] for k in range(len(owners))], **params)
    return {k: np.asarray(results[k]) for k in local}


_REDUCE: Final[dict[str, Callable[..., Any]]] = {"SUM": np.sum, "MAX": np.max, "MIN": np.min}


def _allreduce(op: str) -> Callable[..., NDArray]:
    def run(comm: Any, x: NDArray, n: int, k: int, params: dict[str, Any]) -> NDArray:
        positional = tuple(a for a in params["axes"] if isinstance(a, int))
        if positional:
            x = _contiguous(np.asarray(_REDUCE[op](x, axis=positional)).astype(x.dtype))
        out = np.empty_like(x)
        comm.Allreduce(x, out, op=getattr(_world().mpi, op))
        return out

    return run


def _all_gather(comm: Any, x: NDArray, n: int, k: int, params: dict[str, Any]) -> NDArray:
    out = np.empty((n, *x.shape), x.dtype)
    comm.Allgather(x, out)
    dim = params["all_gather_dimension"]
    if params["tiled"]:
        return np.concatenate(list(out), dim)
    return np.moveaxis(out, 0, dim)


def _reduce_scatter(comm: Any, x: NDArray, n: int, k: int, params: dict[str, Any]) -> NDArray:
    dim = params["scatter_dimension"]
    blocks = _contiguous(np.stack(np.split(x, n, dim)))  # block j goes to member j
    out = np.empty(blocks.shape[1:], x.dtype)
    comm.Reduce_scatter_block(blocks, out, op=_world().mpi.SUM)
    return out if params["tiled"] else np.take(out, 0, dim)


def _ppermute(comm: Any, x: NDArray, n: int, k: int, params: dict[str, Any]) -> NDArray:
    perm = params["perm"]
    co.check_perm(perm, n)
    dest = next((t for s, t in perm if s == k), None)
    source = next((s for s, t in perm if t == k), None)
    out = np.zeros_like(x)
    if dest is not None and source is not None:
        comm.Sendrecv(x, dest=dest, recvbuf=out, source=source)
    elif dest is not None:
        comm.Send(x, dest=dest)
    elif source is not None:
        comm.Recv(out, source=source)
    return out


def _all_to_all(comm: Any, x: NDArray, n: int, k: int, params: dict[str, Any]) -> NDArray:
    chunks = _contiguous(np.stack(np.split(x, n, params["split_axis"])))
    out = np.empty_like(chunks)
    comm.Alltoall(chunks, out)
    return np.concatenate(list(out), params["concat_axis"])


_COLLECTIVES: Final[dict[Primitive, Callable[..., NDArray]]] = {
    co.psum_p: _allreduce("SUM"),
    co.psum_invariant_p: _allreduce("SUM"),
    co.pmax_p: _allreduce("MAX"),
    co.pmin_p: _allreduce("MIN"),
    co.all_gather_p: _all_gather,
    co.reduce_scatter_p: _reduce_scatter,
    co.ppermute_p: _ppermute,
    co.all_to_all_p: _all_to_all,
}


def _contiguous(x: NDArray) -> NDArray:
    """``x`` as a C-contiguous array of the same shape (a 0-d one stays 0-d, unlike
    ``np.ascontiguousarray``)."""
    return np.require(x, requirements="C")
