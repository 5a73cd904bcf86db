"""Run under ``mpirun -n 2 python -m tests.parallel.mpi.worker OUT``: every program of
``programs.py`` pmapped over the devices of both processes, each process passing its own rows;
each process writes its results (and what it sees of the processes) to ``OUT/rank<i>.npz``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import refjax
from refjax.sharding import Mesh, NamedSharding, PartitionSpec
from tests.parallel.mpi.programs import global_input, programs


def main(out: Path) -> None:
    results: dict[str, np.ndarray] = {}
    try:
        refjax.distributed.initialize(num_processes=3)
    except ValueError as err:
        results["error_num_processes"] = np.array(str(err))
    refjax.distributed.initialize(num_processes=2)
    try:
        refjax.distributed.initialize()
    except RuntimeError as err:
        results["error_twice"] = np.array(str(err))
    me, count = refjax.process_index(), refjax.process_count()
    local = refjax.local_device_count()
    results["layout"] = np.array([me, count, local, refjax.device_count()])
    results["device_ids"] = np.array([d.id for d in refjax.devices()])
    results["device_processes"] = np.array([d.process_index for d in refjax.devices()])
    results["local_ids"] = np.array([d.id for d in refjax.local_devices()])
    total = refjax.device_count()
    rows = global_input(total)[me * local:(me + 1) * local]
    for name, fn in programs(refjax.lax, refjax.grad, total).items():
        results[name] = np.asarray(refjax.pmap(fn, "i")(rows))
    # shard_map over a mesh of every process's devices, on a global array assembled from the
    # processes' rows: a mesh axis across the processes ('p') and one within each ('l')
    mesh = Mesh(np.array(refjax.devices(), dtype=object).reshape(count, local), ("p", "l"))
    sharding = NamedSharding(mesh, PartitionSpec(("p", "l")))
    x = refjax.make_array_from_process_local_data(sharding, rows)
    results["global"] = np.asarray(x)
    f = refjax.shard_map(lambda b: (refjax.lax.psum(b, "p"), refjax.lax.pmax(b, "l")),
                         mesh=mesh, in_specs=PartitionSpec(("p", "l")),
                         out_specs=(PartitionSpec("l"), PartitionSpec("p")))
    for k, value in enumerate(f(x)):
        results[f"shard_map{k}"] = np.asarray(value)
    refjax.distributed.shutdown()
    np.savez(out / f"rank{me}.npz", **results)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
