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
each (``create_sub_devices``, equally: a 2-core CPU gives 2 devices). Both are opt-in and make a
:class:`MultiDeviceOpenCLBackend`: one command queue and memory pool per device, a buffer on the
queue of the device it was put on (``device_put(x, device)``, ``copy_to``), and every primitive
or compiled executable enqueued on the queue of its operands' device (so ``pmap``/``shard_map``
run each shard on its own device, the devices working at the same time). Programs are built for
every device of the context, and the kernel cache's key names all of them.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from refjax.backends.base import Buffer, Device, Executable, register_backend
from refjax.backends.kernels.autotune import CANDIDATES, DOT_CANDIDATES, MatmulTuner
from refjax.backends.kernels.backend import KernelBackend, dense
from refjax.backends.kernels.cache import KernelCache, Request
from refjax.backends.kernels.dialects import OPENCL, SPECIAL_IN_DOUBLE
from refjax.backends.kernels.fusion import FusionOptions
from refjax.backends.kernels.render import Grid, Rendered
from refjax.dtypes import DType
from refjax.interp.core import ClosedJaxpr, NDArray, Params, Primitive, ShapedArray

_SOURCE = b"source\n"
_BINARY = b"binary\n"
_BINARIES = b"binaries\n"  # one binary per device of a context of several


class OpenCLBackend(KernelBackend):
    """Computes with generated OpenCL kernels; buffers are pyopencl arrays."""

    name = "opencl"
    dialect = OPENCL

    def __new__(cls) -> OpenCLBackend:
        """A :class:`MultiDeviceOpenCLBackend` where the environment asks for several devices."""
        import os

        several = (os.environ.get("REFJAX_OPENCL_SUB_DEVICES") == "1"
                   or os.environ.get("REFJAX_OPENCL_DEVICES") == "all")
        return super().__new__(MultiDeviceOpenCLBackend if cls is OpenCLBackend and several
                               else cls)

    def __init__(self) -> None:
        import pyopencl as cl
        import pyopencl.array
        import pyopencl.tools

        self.cl: Any = cl
        self.cl_array: Any = pyopencl.array
        self.context, self.cl_devices = _context(cl)
        self.device = self.context.devices[0]
        # one in-order queue per device (the first device's is the default ``queue``)
        self.queues: list[Any] = [cl.CommandQueue(self.context, d) for d in self.cl_devices]
        self.queue = self.queues[0]
        fp64 = all("cl_khr_fp64" in d.extensions for d in self.context.devices)
        is_cpu = bool(self.device.type & cl.device_type.CPU)
        # A CPU wants each work item to hold a block of outputs in (vector) registers, with no
        # local memory or barriers (the tuner's default block); a GPU wants local-memory tiles.
        block = CANDIDATES[0] if is_cpu else None
        # A CPU reads a column reduction's rows 16 outputs wide (a work item takes a whole
        # 64-byte cache line of f32 per row: with 8, two work items that run one after the
        # other each fetched every line, 0.6 of copy bandwidth -> 0.8), and any other
        # reduction's rows 8 elements at a time (a GPU: local-memory trees)
        lanes = 16 if is_cpu else 1
        fingerprint = "||".join(_fingerprint(cl, d) for d in self.context.devices)
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
        # a pool per device: a freed buffer is reused by the queue that used it, in order
        self.allocators: list[Any] = [
            pyopencl.tools.MemoryPool(pyopencl.tools.ImmediateAllocator(q)) for q in self.queues]
        self.allocator = self.allocators[0]
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
        binaries: list[bytes] = program.get_info(self.cl.program_info.BINARIES)
        if len(binaries) == 1:
            return _BINARY + binaries[0], kernel
        return _BINARIES + b"".join(struct.pack("<Q", len(b)) + b for b in binaries), kernel

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
        elif payload.startswith(_BINARIES):
            binaries = _unpack(payload[len(_BINARIES) :])
            devices = list(self.context.devices)
            if len(binaries) != len(devices):
                raise ValueError("the entry holds binaries for another set of devices")
            program = self.cl.Program(self.context, devices, binaries).build()
        else:
            raise ValueError("the entry holds neither a source nor a binary")
        return self.cl.Kernel(program, request.name)


class MultiDeviceOpenCLBackend(OpenCLBackend):
    """The OpenCL backend over several devices of one context (opted in by the environment).

    Each device has its own in-order command queue and memory pool; a buffer belongs to the
    queue of its device. A computation (an eager primitive, a compiled executable) runs on the
    queue of its operands' device, the first operand not on the first device deciding (so JAX's
    committed device, since committed operands on two devices are refused before), else the
    enclosing computation's device (a loop body's): ``queue`` and ``allocator`` are, while it
    runs, that device's, in the thread running it. An operand on another device (an uncommitted
    array, a literal) is read once its queue has finished, and the computation is waited for
    before it returns, so that neither queue reuses a buffer the other still reads.
    ``launch_counts`` counts the kernels enqueued on each device.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        super().__init__()
        self._index = {id(q): i for i, q in enumerate(self.queues)}
        self.launch_counts = [0] * len(self.queues)

    @property
    def queue(self) -> Any:
        """The queue of the device computing in this thread (the first device's outside)."""
        return self.queues[getattr(self._local, "device", 0)]

    @queue.setter
    def queue(self, value: Any) -> None:  # the base class sets the first device's queue
        pass

    @property
    def allocator(self) -> Any:
        """The memory pool of the device computing in this thread."""
        return self.allocators[getattr(self._local, "device", 0)]

    @allocator.setter
    def allocator(self, value: Any) -> None:
        pass

    def device_index(self, buffer: Buffer) -> int | None:
        """The index of the device holding ``buffer`` (None for a host array: float0)."""
        queue = getattr(buffer, "queue", None)
        return None if queue is None else self._index.get(id(queue))

    def _run_on(self, buffers: Sequence[Buffer], run: Callable[[], list[Buffer]]) -> list[Buffer]:
        """``run()`` with ``buffers``' device as this thread's computing device."""
        local = self._local
        outer: int = getattr(local, "device", 0)
        places = [self.device_index(b) for b in buffers]
        # the first operand off the first device decides; else the enclosing computation's
        chosen = next((i for i in places if i), outer)
        foreign = {i for i in places if i is not None and i != chosen}
        for i in foreign:  # written on another queue: wait for it there
            self.queues[i].finish()
        local.device = chosen
        try:
            result: list[Buffer] = run()
        finally:
            local.device = outer
        if foreign:
            self.queues[chosen].finish()
        return result

    def execute(
        self,
        prim: Primitive,
        buffers: Sequence[Buffer],
        params: Params,
        out_avals: Sequence[ShapedArray],
    ) -> list[Buffer]:
        """One primitive, on the queue of its operands' device."""
        return self._run_on(
            buffers, lambda: OpenCLBackend.execute(self, prim, buffers, params, out_avals))

    def build_executable(self, closed: ClosedJaxpr) -> Executable:
        """``closed`` compiled once for every device; each run on its operands' device."""
        return _OnOperandsDevice(self, super().build_executable(closed))

    def launch(
        self, kernel: object, grid: Grid, buffers: Sequence[Buffer], scalars: Sequence[np.generic]
    ) -> None:
        """Enqueue a kernel on the computing device's queue, counting it."""
        self.launch_counts[getattr(self._local, "device", 0)] += 1
        super().launch(kernel, grid, buffers, scalars)

    def to_numpy(self, buffer: Buffer) -> NDArray:
        """Copy a device buffer to the host, through the queue of its device."""
        if isinstance(buffer, np.ndarray):
            return buffer
        result: NDArray = buffer.get()
        return result

    def block_until_ready(self, buffer: Buffer) -> None:
        """Wait for every kernel enqueued on ``buffer``'s device."""
        queue = getattr(buffer, "queue", None)
        (queue or self.queues[0]).finish()

    def from_numpy_on(self, value: NDArray, device: Device | None) -> Buffer:
        """Copy a host array to ``device``'s memory (the first device's if None)."""
        if value.dtype.itemsize == 0:
            return value
        i = 0 if device is None else device.id
        return self.cl_array.to_device(self.queues[i], dense(value), allocator=self.allocators[i])

    def copy_to(self, buffer: Buffer, device: Device) -> Buffer:
        """``buffer``'s contents on ``device``: the buffer itself if it is there, else a copy made
        on ``device``'s queue once ``buffer``'s has written it (and waited for, so that the
        source may be freed)."""
        here = self.device_index(buffer)
        if here is None or here == device.id:
            return buffer
        self.queues[here].finish()
        queue = self.queues[device.id]
        out = self.cl_array.empty(queue, buffer.shape, buffer.dtype,
                                  allocator=self.allocators[device.id])
        if out.nbytes:
            self.cl.enqueue_copy(queue, out.data, buffer.base_data, src_offset=buffer.offset,
                                 byte_count=out.nbytes)
            queue.finish()
        return out


class _OnOperandsDevice(Executable):
    """An executable of a multi-device OpenCL backend, run on its operands' device."""

    __slots__ = ("backend", "inner")

    def __init__(self, backend: MultiDeviceOpenCLBackend, inner: Executable) -> None:
        self.backend = backend
        self.inner = inner

    def run(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        inner = self.inner
        return self.backend._run_on(buffers, lambda: inner.run(buffers))

    def __getattr__(self, name: str) -> Any:  # the plan, kernels, ... of the compiled one
        if name.startswith("_") or name in self.__slots__:  # not set yet (a copy, a pickle)
            raise AttributeError(name)
        return getattr(self.inner, name)


def _unpack(data: bytes) -> list[bytes]:
    """The binaries packed one after another, each after its length (8 bytes, little-endian)."""
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<Q", data, at)
        out.append(data[at + 8 : at + 8 + n])
        at += 8 + n
    return out


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
