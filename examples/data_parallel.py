"""Data-parallel training of the digits MLP: ``pmap`` over devices, gradients averaged with
``lax.pmean``.

Each step takes a global batch of ``--batch-size`` examples (in the order ``mnist_mlp.py``
draws them), splits it evenly over the devices, and runs one ``pmap``ped step: every device
computes the loss and gradients of its share, ``pmean`` averages both over the devices, and every
device applies the same update to its (replicated) parameters. Only the number of devices
changes between runs, so the losses agree: to float32 rounding between 1, 2 and 4 devices (the
mean of the per-device means sums in another order than the mean over the whole batch), and bit
for bit between ``N`` virtual devices in one process and the same ``N`` devices spread over MPI
processes (refjax's collectives combine the shards' values in the same order either way).

Run (from the repository root)::

    .venv/bin/python examples/data_parallel.py                          # 1 device
    REFJAX_NUM_CPU_DEVICES=4 .venv/bin/python examples/data_parallel.py --devices 2
    REFJAX_NUM_CPU_DEVICES=4 .venv/bin/python examples/data_parallel.py  # 4 devices
    .venv/bin/mpirun -n 2 .venv/bin/python examples/data_parallel.py     # 2 processes x 1
    REFJAX_NUM_CPU_DEVICES=2 .venv/bin/mpirun -n 2 .venv/bin/python examples/data_parallel.py

Under an MPI launcher (``mpirun``; refjax's ``mpi`` extra installs one) the script calls
``refjax.distributed.initialize()`` and every process trains on its devices' shares; process 0
prints the losses, and the work of every device (examples per step, the time of a step in its
process: gathered from the processes with ``all_gather``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from digits_data import Dataset, load_dataset
from mnist_mlp import Framework, Params, init_params, loss_fn

import refjax
from refjax import lax

# What MPI launchers (MPICH's Hydra, Open MPI, PMIx) put in the environment of their processes.
LAUNCHER_ENV: Final = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")

Step = Callable[[Params, Any, Any], tuple[Params, Any]]


@dataclass(frozen=True, slots=True)
class RunConfig:
    """A data-parallel run: how many steps, the global batch, the devices of each process."""

    steps: int = 20
    batch_size: int = 32  # the global batch, split evenly over every process's devices
    hidden: tuple[int, ...] = (128,)
    lr: float = 0.1
    seed: int = 0
    devices: int | None = None  # devices per process; None: all of its local devices


@dataclass(slots=True)
class Run:
    """What a run measured: each step's loss (the mean over the global batch) and time."""

    devices: int  # over every process
    processes: int
    per_device: int  # examples per device per step
    losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # per step; the first includes tracing


def make_step(fw: Framework, lr: float, devices: list[Any] | None) -> Step:
    """The ``pmap``ped SGD step: per device, the gradient of its share; ``pmean`` over them."""
    rate = np.float32(lr)

    def step(params: Params, x: Any, y: Any) -> tuple[Params, Any]:
        loss, grads = fw.value_and_grad(lambda p: loss_fn(fw, p, x, y))(params)
        grads = lax.pmean(grads, "batch")
        new = [(w - rate * gw, b - rate * gb)
               for (w, b), (gw, gb) in zip(params, grads, strict=True)]
        return new, lax.pmean(loss, "batch")

    pmapped: Step = refjax.pmap(step, "batch", in_axes=(None, 0, 0), out_axes=(None, None),
                                devices=devices)
    return pmapped


def train(config: RunConfig, data: Dataset) -> Run:
    """Train for ``config.steps`` steps on this process's devices (every process's, when
    ``refjax.distributed`` is initialized)."""
    fw = Framework.from_refjax()
    local = config.devices or refjax.local_device_count()
    if local > refjax.local_device_count():
        raise ValueError(f"--devices {local}, but this process has "
                         f"{refjax.local_device_count()} devices (REFJAX_NUM_CPU_DEVICES)")
    processes, me = refjax.process_count(), refjax.process_index()
    total = local * processes
    if config.batch_size % total:
        raise ValueError(f"the batch of {config.batch_size} does not split over {total} "
                         "devices")
    share = config.batch_size // total
    # in one process, pmap over the first `local` devices; over processes, over every one's
    step = make_step(fw, config.lr, refjax.local_devices()[:local] if processes == 1 else None)
    init_key, order_key = fw.random.split(fw.random.PRNGKey(config.seed))
    params = init_params(fw, init_key, (data.features, *config.hidden, data.num_classes))
    order = np.asarray(fw.random.permutation(order_key, len(data.x_train)))
    run = Run(devices=total, processes=processes, per_device=share)
    for i in range(config.steps):
        start = (i * config.batch_size) % (len(order) - config.batch_size + 1)
        batch = order[start:start + config.batch_size]
        mine = batch[me * local * share:(me + 1) * local * share]  # this process's devices'
        x = data.x_train[mine].reshape(local, share, data.features)
        y = data.y_train[mine].reshape(local, share)
        began = time.perf_counter()
        params, loss = step(params, x, y)
        run.losses.append(float(loss))
        run.seconds.append(time.perf_counter() - began)
    return run


def work_per_device(run: Run, ms: float) -> list[tuple[float, float]]:
    """Per device of every process, its process and the milliseconds of a step there: each
    process's figures gathered over the devices with ``all_gather`` (MPI between processes)."""
    local = run.devices // run.processes
    mine = np.tile(np.array([refjax.process_index(), ms], np.float32), (local, 1))
    gathered = refjax.pmap(lambda v: lax.all_gather(v, "batch"), "batch",
                           devices=refjax.local_devices()[:local] if run.processes == 1
                           else None)(mine)
    return [(float(p), float(t)) for p, t in np.asarray(gathered)[0]]


def parse_args(argv: list[str] | None = None) -> RunConfig:
    """The command line as a RunConfig."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    defaults = RunConfig()
    parser.add_argument("--steps", type=int, default=defaults.steps,
                        help="training steps (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="the global batch, split over the devices (default: %(default)s)")
    parser.add_argument("--devices", type=int, default=None,
                        help="devices per process (default: all; REFJAX_NUM_CPU_DEVICES)")
    parser.add_argument("--lr", type=float, default=defaults.lr,
                        help="learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="the PRNG seed: initial weights and batch order")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.batch_size < 1 or (args.devices is not None and args.devices < 1):
        parser.error("--steps, --batch-size and --devices must be at least 1")
    return RunConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                     devices=args.devices)


def main(argv: list[str] | None = None) -> int:
    """Train; process 0 prints the losses and every device's work."""
    config = parse_args(argv)
    if any(name in os.environ for name in LAUNCHER_ENV):
        refjax.distributed.initialize()
    me = refjax.process_index()
    try:
        run = train(config, load_dataset(None))
    except ValueError as err:
        print(f"{os.path.basename(sys.argv[0])}: error: {err}", file=sys.stderr)
        return 2
    later = run.seconds[1:] or run.seconds
    work = work_per_device(run, 1e3 * sum(later) / len(later))
    if me == 0:
        print(f"{run.devices} device(s) over {run.processes} process(es): global batch "
              f"{config.batch_size}, {run.per_device} examples per device per step")
        for i, loss in enumerate(run.losses):
            print(f"step {i + 1:3d} loss {loss:.9f}")
        for device, (process, ms) in enumerate(work):
            print(f"device {device} (process {int(process)}): the loss and gradients of "
                  f"{run.per_device} examples per step, {ms:.1f} ms per step")
    refjax.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
