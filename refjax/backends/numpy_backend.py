"""The numpy backend: the CPU reference. Buffers are numpy arrays; every primitive has an impl.

It offers ``REFJAX_NUM_CPU_DEVICES`` virtual CPU devices (default 1, read when the backend is
created), like XLA's ``--xla_force_host_platform_device_count``: they share the host's memory,
and an array remembers which one it was put on. Under ``refjax.distributed`` each process holds
its own ``REFJAX_NUM_CPU_DEVICES`` devices, numbered consecutively across processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Final, cast

from refjax.backends.base import (
    Backend,
    Buffer,
    CpuDevice,
    Device,
    Executable,
    process_layout,
    register_backend,
)
from refjax.backends.numpy_impls.program import NumpyExecutable, reference_step
from refjax.interp.core import ClosedJaxpr, NDArray, Params, Primitive, ShapedArray

NUM_DEVICES_ENV: Final = "REFJAX_NUM_CPU_DEVICES"


def _device_count_from_env() -> int:
    """``REFJAX_NUM_CPU_DEVICES`` as a positive count (1 when unset); ValueError otherwise."""
    text = os.environ.get(NUM_DEVICES_ENV, "") or "1"
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{NUM_DEVICES_ENV} must be a positive integer, got {text!r}")
    return int(text)


class NumpyBackend(Backend):
    """Computes with numpy on the host, on ``num_devices`` virtual CPU devices."""

    name = "numpy"

    def __init__(self, num_devices: int | None = None) -> None:
        super().__init__()
        layout = process_layout()
        counts = layout.device_counts or (
            _device_count_from_env() if num_devices is None else num_devices,)
        # every process's devices, with consecutive ids across processes (as JAX numbers them)
        self._global: list[Device] = [
            CpuDevice("cpu", sum(counts[:p]) + i, backend_name=self.name, process_index=p)
            for p, count in enumerate(counts) for i in range(count)
        ]
        self._devices: list[Device] = [d for d in self._global
                                       if d.process_index == layout.index]

    def devices(self) -> list[Device]:
        """The virtual CPU devices of this process."""
        return list(self._devices)

    def global_devices(self) -> list[Device]:
        """The virtual CPU devices of every process (``refjax.distributed``)."""
        return list(self._global)

    def from_numpy(self, value: NDArray) -> NDArray:
        return value

    def to_numpy(self, buffer: Buffer) -> NDArray:
        result: NDArray = buffer
        return result

    def execute(
        self,
        prim: Primitive,
        buffers: Sequence[Buffer],
        params: Params,
        out_avals: Sequence[ShapedArray],
    ) -> list[Buffer]:
        return self.prepare(prim, params, out_avals)(*buffers)

    def prepare(
        self, prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
    ) -> Callable[..., list[Buffer]]:
        step = reference_step(prim, params, out_avals)
        if prim.multiple_results:
            return cast(Callable[..., list[Buffer]], step)

        def single(*buffers: NDArray) -> list[NDArray]:
            return [step(*buffers)]

        return single

    def build_executable(self, closed: ClosedJaxpr) -> Executable:
        """``closed`` as straight-line numpy code (see :mod:`.numpy_impls.program`)."""
        return NumpyExecutable(self, closed)


register_backend("numpy", NumpyBackend)
