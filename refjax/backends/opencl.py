"""The OpenCL backend: generated kernels run through pyopencl (on PoCL on any CPU).

Buffers are ``pyopencl.array.Array`` objects that stay on the device between calls and kernels;
data moves to the host only in ``to_numpy`` (``np.asarray``, printing) and in host fallbacks.
Kernels come from the fusion compiler (``refjax.backends.kernels``), rendered in the OpenCL
dialect; ``dot_general`` runs as a tiled matmul kernel. Compiled programs are cached in memory and
on disk (``refjax.backends.kernels.cache``).

The device is the first GPU found, else the first device of the first platform; set
``PYOPENCL_CTX`` to choose another (pyopencl's convention). pyopencl is imported only when the
backend is first used, so ``import refjax`` works without it.

Devices (``refjax.devices("opencl")``): the devices of the backend's context, by default the one
chosen device. ``REFJAX_OPENCL_DEVICES=all`` puts every device of its platform in the context;
``REFJAX_OPENCL_SUB_DEVICES=1`` partitions a PoCL CPU device into sub-devices of one compute unit
each (``create_sub_devices``, equally: a 2-core CPU gives 2 devices). Both are opt-in: kernels
are built for every device of the context, and a sub-device computes on one core. Arrays
remember the device they were put on; kernels run on the first device of the context (running
one shard per device comes with ``pmap``/``shard_map``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from refjax.backends.base import Buffer, Device, register_backend
from refjax.backends.kernels.autotune import CANDIDATES, DOT_CANDIDATES, MatmulTuner
from refjax.backends.kernels.backend import KernelBackend, dense
from refjax.backends.kernels.cache import KernelCache, Request
from refjax.backends.kernels.dialects import OPENCL, SPECIAL_IN_DOUBLE
from refjax.backends.kernels.fusion import FusionOptions
from refjax.backends.kernels.render import Grid, Rendered
from refjax.dtypes import DType
from refjax.interp.core import NDArray

_SOURCE = b"source\n"
_BINARY = b"binary\n"


class OpenCLBackend(KernelBackend):
    """Computes with generated OpenCL kernels; buffers are pyopencl arrays."""

    name = "opencl"
    dialect = OPENCL

    def __init__(self) -> None:
        import pyopencl as cl
        import pyopencl.array
        import pyopencl.tools

        self.cl: Any = cl
        self.cl_array: Any = pyopencl.array
        self.context, self.cl_devices = _context(cl)
        self.device = self.context.devices[0]
        self.queue = cl.CommandQueue(self.context)
        fp64 = "cl_khr_fp64" in self.device.extensions
        is_cpu = bool(self.device.type & cl.device_type.CPU)
        # A CPU wants each work item to hold a block of outputs in (vector) registers, with no
        # local memory or barriers (the tuner's default block); a GPU wants local-memory tiles.
        block = CANDIDATES[0] if is_cpu else None
        # A CPU reads a column reduction's rows 16 outputs wide (a work item takes a whole
        # 64-byte cache line of f32 per row: with 8, two work items that run one after the
        # other each fetched every line, 0.6 of copy bandwidth -> 0.8), and any other
        # reduction's rows 8 elements at a time (a GPU: local-memory trees)
        lanes = 16 if is_cpu else 1
        fingerprint = _fingerprint(cl, self.device)
        super().__init__(
            FusionOptions(fp64=fp64, matmul_block=block,
                          matmul_dot_block=DOT_CANDIDATES[0] if is_cpu else None,
                          column_lanes=lanes,
                          row_lanes=8 if is_cpu else 0),
            MatmulTuner("opencl", fingerprint) if is_cpu else None,
        )
        if fp64:  # PoCL's float tanh is 1 ulp off near +-1 (tanh(20) < 1), and its float erfc is
            # a few ulp off (numpy and JAX round erf/erfc/lgamma correctly, mostly): use double
            self.dialect = replace(OPENCL, promote_float32=SPECIAL_IN_DOUBLE | {"tanh"})
        self.allocator = pyopencl.tools.MemoryPool(pyopencl.tools.ImmediateAllocator(self.queue))
        units = int(self.device.max_compute_units)
        # PoCL runs a work group's items as a vectorised loop: a full grid (one iteration of the
        # grid-stride loop per item) is several times faster there than a few long-running items.
        self.map_local_size = 64 if is_cpu else 256
        self.reduce_local_size = 16 if is_cpu else 256  # PoCL compiles each local size anew
        self.max_groups = (1 << 24) if is_cpu else units * 32
        self._empty_arg = cl.Buffer(self.context, cl.mem_flags.READ_ONLY, 16)
        self._launching = threading.Lock()  # set_args + enqueue of a shared kernel object
        # PoCL caches its own machine code by source (~/.cache/pocl), and reading a program's
        # binary back from it costs ~10x the build; with PoCL the cache entry is the checked
        # source, and loading it is a build that hits PoCL's cache.
        self._keep_binaries = "Portable Computing Language" not in self.device.platform.name
        self.cache: KernelCache[Any] = KernelCache("opencl", fingerprint, self._build,
                                                   self._load)

    # -- buffers ---------------------------------------------------------------------------
    def from_numpy(self, value: NDArray) -> Buffer:
        """Copy a host array to the device (float0 arrays hold no data: they stay on the host)."""
        if value.dtype.itemsize == 0:
            return value
        return self.cl_array.to_device(
            self.queue, dense(value), allocator=self.allocator
        )

    def to_numpy(self, buffer: Buffer) -> NDArray:
        """Copy a device buffer to the host."""
        if isinstance(buffer, np.ndarray):
            return buffer
        result: NDArray = buffer.get(queue=self.queue)
        return result

    def empty(self, shape: tuple[int, ...], dtype: DType) -> Buffer:
        """An uninitialised dense device buffer."""
        if dtype.itemsize == 0:
            return np.zeros(shape, dtype)
        return self.cl_array.empty(self.queue, shape, dtype, allocator=self.allocator)

    def reshape(self, buffer: Buffer, shape: tuple[int, ...]) -> Buffer:
        """The same device buffer with another shape (no copy)."""
        return buffer.reshape(shape)

    def take(self, buffer: Buffer, i: int) -> Buffer:
        """A new buffer holding ``buffer[i]``."""
        row = self.empty(tuple(buffer.shape[1:]), buffer.dtype)
        if row.nbytes:
            self.cl.enqueue_copy(self.queue, row.data, buffer.base_data,
                                 src_offset=buffer.offset + i * row.nbytes, byte_count=row.nbytes)
        return row

    def put(self, dst: Buffer, i: int, src: Buffer) -> None:
        """Write ``src`` into ``dst[i]`` on the device."""
        if src.nbytes:
            self.cl.enqueue_copy(self.queue, dst.base_data, src.data,
                                 dst_offset=dst.offset + i * src.nbytes, byte_count=src.nbytes)

    def block_until_ready(self, buffer: Buffer) -> None:
        """Wait for every enqueued kernel."""
        self.queue.finish()

    def devices(self) -> list[Device]:
        """This backend's devices: the chosen device, or its platform's devices or sub-devices."""
        return [Device(self.name, i) for i in range(len(self.cl_devices))]

    # -- kernels ---------------------------------------------------------------------------
    def load_kernel(self, rendered: Rendered) -> object:
        """The kernel object for ``rendered``, from the kernel cache."""
        return self.cache.get(rendered.source, self.dialect.build_options, rendered.name)

    def launch(
        self, kernel: object, grid: Grid, buffers: Sequence[Buffer], scalars: Sequence[np.generic]
    ) -> None:
        """Enqueue a kernel on buffers and scalar arguments.

        A kernel object holds its arguments until it is enqueued, and one object serves every
        thread, so binding and enqueueing happen under the launch lock.
        """
        k: Any = kernel
        args = [*[self._mem(b) for b in buffers], *scalars]
        with self._launching:
            k.set_args(*args)
            self.cl.enqueue_nd_range_kernel(self.queue, k, grid.global_size, grid.local_size)

    def _mem(self, buffer: Buffer) -> Any:
        return buffer.data if buffer.size else self._empty_arg

    def _build(self, request: Request) -> tuple[bytes, Any]:
        """Compile ``request``: its payload (with PoCL the source, else the binary) and kernel."""
        program = self._build_source(request.source, request.options)
        kernel = self.cl.Kernel(program, request.name)
        if not self._keep_binaries:
            return _SOURCE + _source_payload(request), kernel
        binary: bytes = program.get_info(self.cl.program_info.BINARIES)[0]
        return _BINARY + binary, kernel

    def _build_source(self, source: str, options: Sequence[str]) -> Any:
        """The program built from ``source``; RuntimeError with the log and source if not."""
        program = self.cl.Program(self.context, source)
        try:
            return program.build(options=list(options))
        except self.cl.RuntimeError as err:
            raise RuntimeError(f"OpenCL build failed: {err}\n--- source ---\n{source}") from None

    def _load(self, payload: bytes, request: Request) -> Any:
        """The kernel of a cache entry's payload; ValueError if it is not ``request``'s."""
        if payload.startswith(_SOURCE):
            if payload[len(_SOURCE) :] != _source_payload(request):
                raise ValueError("the entry holds another kernel's source")
            program = self._build_source(request.source, request.options)  # hits PoCL's cache
        elif payload.startswith(_BINARY):
            binary = payload[len(_BINARY) :]
            program = self.cl.Program(self.context, [self.device], [binary]).build()
        else:
            raise ValueError("the entry holds neither a source nor a binary")
        return self.cl.Kernel(program, request.name)


def _source_payload(request: Request) -> bytes:
    """A PoCL cache entry's payload: the source and the build options."""
    return request.source.encode() + b"\0" + "\0".join(request.options).encode()


def _context(cl: Any) -> tuple[Any, list[Any]]:
    """PYOPENCL_CTX's choice, else the first GPU, else the first device; with its platform's
    other devices (``REFJAX_OPENCL_DEVICES=all``) or as PoCL CPU sub-devices
    (``REFJAX_OPENCL_SUB_DEVICES=1``). Returns the context and the devices it offers (PoCL
    reports one device for a context of sub-devices)."""
    import os

    if os.environ.get("PYOPENCL_CTX"):
        chosen = cl.create_some_context(interactive=False).devices[0]
    else:
        devices = [d for p in cl.get_platforms() for d in p.get_devices()]
        if not devices:
            raise RuntimeError("refjax opencl backend: no OpenCL device found")
        gpus = [d for d in devices if d.type & cl.device_type.GPU]
        chosen = (gpus or devices)[0]
    if os.environ.get("REFJAX_OPENCL_SUB_DEVICES") == "1" and _is_pocl_cpu(cl, chosen):
        subs = chosen.create_sub_devices([cl.device_partition_property.EQUALLY, 1])
        return cl.Context(subs), list(subs)
    if os.environ.get("REFJAX_OPENCL_DEVICES") == "all":
        others = [d for d in chosen.platform.get_devices() if d != chosen]
        return cl.Context([chosen, *others]), [chosen, *others]
    return cl.Context([chosen]), [chosen]


def _is_pocl_cpu(cl: Any, device: Any) -> bool:
    """Whether ``device`` is a CPU of PoCL (which partitions it by compute units)."""
    return bool(device.type & cl.device_type.CPU) and (
        "Portable Computing Language" in device.platform.name)


def _fingerprint(cl: Any, device: Any) -> str:
    """What a compiled binary depends on besides its source: platform, device, driver."""
    platform = device.platform
    return "|".join([platform.name, platform.version, device.name, device.version,
                     device.driver_version, cl.VERSION_TEXT])


register_backend("opencl", OpenCLBackend)
