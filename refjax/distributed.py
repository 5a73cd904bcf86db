"""``jax.distributed``: several processes computing together, over MPI.

Start the program with an MPI launcher (``mpirun -n 2 python train.py``; ``pip install mpi4py
mpich``, or refjax's ``mpi`` extra, brings both) and call :func:`initialize` before anything else
touches refjax's devices. MPI's world then names the processes: ``refjax.process_index()`` is
this one's rank, ``refjax.process_count()`` the world's size. Each process holds its own
``REFJAX_NUM_CPU_DEVICES`` devices of the numpy backend (default 1; ``local_device_ids`` picks
some of them); ``refjax.devices()`` lists every process's, numbered consecutively across the
processes as JAX numbers them, each with its ``process_index``, and ``refjax.local_devices()``
this process's.

``pmap`` maps over the devices of every process: each process passes its own slices (the
leading axis: its local device count), collectives act over all the devices -- as MPI
collectives between processes (``backends.mpi``) -- and each process gets its slices' results.
``shard_map`` over a mesh of every process's devices takes global arrays, which every process
holds whole in refjax (:func:`make_array_from_process_local_data` assembles one from each
process's part); each process computes its own devices' shards and gets the whole outputs.
The same program gives the same values as as many virtual devices in one process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from refjax.backends import mpi
from refjax.backends.base import (
    BACKEND_ENV,
    ArrayImpl,
    ProcessLayout,
    device_put,
    process_index,
    process_layout,
    set_process_layout,
)
from refjax.backends.numpy_backend import _device_count_from_env
from refjax.backends.sharding import NamedSharding, put_sharded
from refjax.interp.core import ArrayLike
from refjax.primitives.shard_map import split_count

__all__ = ["initialize", "is_initialized", "make_array_from_process_local_data", "shutdown"]


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: int | Sequence[int] | None = None,
    cluster_detection_method: str | None = None,
    initialization_timeout: int = 300,
    heartbeat_timeout_seconds: int = 100,
    shutdown_timeout_seconds: int = 300,
    coordinator_bind_address: str | None = None,
    slice_index: int | None = None,
    partition_index: int | None = None,
) -> None:
    """Join the processes started together by an MPI launcher. ``num_processes`` and
    ``process_id``, when given, must be MPI's world size and this process's rank;
    ``local_device_ids`` picks which of the ``REFJAX_NUM_CPU_DEVICES`` local devices this process
    holds (all by default). The coordinator and timeouts are MPI's launcher's business: accepted,
    unused."""
    if mpi.running():
        raise RuntimeError("distributed.initialize should only be called once.")
    for name, value in (("process_id", process_id), ("num_processes", num_processes)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            kind = "nonnegative" if name == "process_id" else "positive"
            raise TypeError(f"{name} must be a {kind} int. Got {name}={value} of type "
                            f"{type(value)}.")
    backend = os.environ.get(BACKEND_ENV) or "numpy"
    if backend != "numpy":
        raise NotImplementedError(f"refjax.distributed runs the numpy backend; {BACKEND_ENV} "
                                  f"is {backend!r}")
    local = _local_count(local_device_ids)
    rank, size = mpi.start()
    try:
        if num_processes is not None and num_processes != size:
            raise ValueError(f"num_processes={num_processes}, but MPI started {size} "
                             "processes (mpirun -n)")
        if process_id is not None and process_id != rank:
            raise ValueError(f"process_id={process_id}, but this process has MPI rank {rank}")
        counts = tuple(int(c) for c in mpi.allgather(local))
        set_process_layout(ProcessLayout(rank, counts))
    except BaseException:
        mpi.stop()
        raise


def _local_count(local_device_ids: int | Sequence[int] | None) -> int:
    """How many local devices this process holds."""
    available = _device_count_from_env()
    if local_device_ids is None:
        return available
    ids = [local_device_ids] if isinstance(local_device_ids, int) else list(local_device_ids)
    if not ids or len(set(ids)) != len(ids) or not all(0 <= i < available for i in ids):
        raise ValueError(f"local_device_ids must be distinct ids of the {available} local "
                         f"devices (REFJAX_NUM_CPU_DEVICES), got {local_device_ids}")
    return len(ids)


def is_initialized() -> bool:
    """Whether :func:`initialize` was called (and not :func:`shutdown`)."""
    return mpi.running()


def shutdown() -> None:
    """Leave the processes' world (does nothing if it is not running). The devices stay as they
    were; a collective across processes afterwards raises."""
    if mpi.running():
        mpi.barrier()
        mpi.stop()


# ---------------------------------------------------------------------------------------------
# Global arrays


def make_array_from_process_local_data(sharding: NamedSharding, local_data: ArrayLike,
                                       global_shape: tuple[int, ...] | None = None
                                       ) -> ArrayImpl:
    """The global array placed as ``sharding`` says whose part held by this process's devices
    is ``local_data`` (JAX's function): the parts of every process joined, the whole array held
    by each process (refjax's global arrays are all addressable). ``global_shape`` defaults to
    the local shape scaled, along each dimension, by how many of the sharding's blocks the
    other processes add."""
    local = np.asarray(local_data)
    mesh, spec = sharding.mesh, sharding.spec
    factors = [split_count(mesh, names) for names in spec.dim_axes(local.ndim)]
    starts = sharding.devices_indices_map(tuple(factors))  # each device's block number per dim
    me = process_index()
    if not any(dev.process_index == me for dev in starts):
        raise ValueError("make_array_from_process_local_data: the sharding has no device of "
                         f"process {me}")
    mine = [[idx[d].start for dev, idx in starts.items() if dev.process_index == me]
            for d in range(local.ndim)]
    held = [len(set(b)) for b in mine]  # this process's blocks along each dimension
    shape = global_shape if global_shape is not None else tuple(
        n * f // h for n, f, h in zip(local.shape, factors, held, strict=True))
    box = []
    for d, (n, f, h) in enumerate(zip(shape, factors, held, strict=True)):
        step = n // f
        if local.shape[d] != h * step:
            raise ValueError(f"make_array_from_process_local_data: local_data has shape "
                             f"{local.shape}, but this process's devices hold {h} blocks of "
                             f"{step} along dimension {d} of the global shape {tuple(shape)}")
        box.append(min(mine[d]) * step)
    if process_layout().count == 1:
        return device_put(local, sharding)
    value = np.empty(shape, local.dtype)
    for corner, part in mpi.allgather((box, local)):
        value[tuple(slice(c, c + s) for c, s in zip(corner, part.shape, strict=True))] = part
    return put_sharded(value, sharding)
