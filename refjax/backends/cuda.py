"""The CUDA backend: generated kernels compiled with NVRTC and run through cupy.

The fusion compiler's kernels are rendered in the CUDA dialect, compiled to PTX by NVRTC
(:func:`nvrtc_compile`, cached in memory and on disk) and loaded with ``cupy.RawModule``.
Buffers are cupy arrays that stay on the GPU. ``dot_general`` is not a generated kernel here: it
runs as ``cupy.matmul`` (cuBLAS). NVRTC needs no GPU, so every kernel can be compiled (and is,
in the tests) on a machine without one; running needs a GPU.

Devices (``refjax.devices("cuda")``): every GPU cupy sees (``cupy.cuda.runtime.getDeviceCount``,
so ``CUDA_VISIBLE_DEVICES`` chooses). With several, the backend is a
:class:`MultiGpuCudaBackend`: a buffer lives on the GPU it was put on (allocated under that
``cupy.cuda.Device``), and each primitive or compiled executable runs on its operands' GPU, with
its kernels loaded there, so ``pmap``/``shard_map`` run one shard per GPU.

cupy is imported only when the backend is first used, so ``import refjax`` works without it.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from refjax.backends.base import Buffer, Device, Executable, register_backend
from refjax.backends.kernels.backend import BufferFn, KernelBackend, PlanExecutable, dense
from refjax.backends.kernels.cache import KernelCache, Request
from refjax.backends.kernels.dialects import CUDA
from refjax.backends.kernels.fusion import FusionOptions
from refjax.backends.kernels.render import Grid, Rendered
from refjax.dtypes import DType
from refjax.interp.core import ClosedJaxpr, NDArray, Params, Primitive, ShapedArray
from refjax.primitives import linalg as la


class NvrtcError(RuntimeError):
    """NVRTC rejected a kernel; the message holds its log and the source."""


def nvrtc_compile(source: str, options: Sequence[str], name: str = "kernel") -> bytes:
    """PTX for ``source``, compiled by NVRTC (no GPU needed); NvrtcError with the log if not."""
    from cupy_backends.cuda.libs import nvrtc

    program = nvrtc.createProgram(source, f"{name}.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(program, list(options))
        except nvrtc.NVRTCError as err:
            log = nvrtc.getProgramLog(program)
            raise NvrtcError(f"NVRTC failed on {name}: {err}\n{log}\n--- source ---\n{source}") \
                from None
        ptx: str | bytes = nvrtc.getPTX(program)
    finally:
        nvrtc.destroyProgram(program)
    return ptx.encode() if isinstance(ptx, str) else ptx


def nvrtc_version() -> str:
    """The NVRTC version, for cache keys."""
    from cupy_backends.cuda.libs import nvrtc

    major, minor = nvrtc.getVersion()
    return f"nvrtc {major}.{minor}"


class CudaBackend(KernelBackend):
    """Computes with generated CUDA kernels; buffers are cupy arrays."""

    name = "cuda"
    dialect = CUDA
    map_local_size = 256

    def __new__(cls) -> CudaBackend:
        """A :class:`MultiGpuCudaBackend` where cupy sees several GPUs."""
        import cupy

        several = cls is CudaBackend and int(cupy.cuda.runtime.getDeviceCount()) > 1
        return super().__new__(MultiGpuCudaBackend if several else cls)

    def __init__(self) -> None:
        import cupy

        self.cp: Any = cupy
        self.gpu_count = int(cupy.cuda.runtime.getDeviceCount())
        device = cupy.cuda.Device(0)
        super().__init__(FusionOptions(fp64=True, matmul_kernels=False))
        self.max_groups = int(device.attributes["MultiProcessorCount"]) * 32
        arch = f"--gpu-architecture=compute_{device.compute_capability}"
        self.build_options = (arch, *CUDA.build_options)
        fingerprint = f"{nvrtc_version()}|{arch}"
        self.cache: KernelCache[Any] = KernelCache("cuda", fingerprint, self._build, self._load)

    # -- buffers ---------------------------------------------------------------------------
    def from_numpy(self, value: NDArray) -> Buffer:
        """Copy a host array to the device (float0 arrays hold no data: they stay on the host)."""
        if value.dtype.itemsize == 0:
            return value
        return self.cp.asarray(dense(value))

    def to_numpy(self, buffer: Buffer) -> NDArray:
        """Copy a device buffer to the host."""
        if isinstance(buffer, np.ndarray):
            return buffer
        result: NDArray = self.cp.asnumpy(buffer)
        return result

    def empty(self, shape: tuple[int, ...], dtype: DType) -> Buffer:
        """An uninitialised dense device buffer."""
        if dtype.itemsize == 0:
            return np.zeros(shape, dtype)
        return self.cp.empty(shape, dtype)

    def reshape(self, buffer: Buffer, shape: tuple[int, ...]) -> Buffer:
        """The same device buffer with another shape (no copy)."""
        return buffer.reshape(shape)

    def take(self, buffer: Buffer, i: int) -> Buffer:
        """A new buffer holding ``buffer[i]``."""
        return buffer[i].copy()

    def put(self, dst: Buffer, i: int, src: Buffer) -> None:
        """Write ``src`` into ``dst[i]`` on the device."""
        dst[i] = src

    def block_until_ready(self, buffer: Buffer) -> None:
        """Wait for every enqueued kernel."""
        self.cp.cuda.get_current_stream().synchronize()

    def devices(self) -> list[Device]:
        """This backend's devices: every GPU cupy sees."""
        return [Device(self.name, i) for i in range(self.gpu_count)]

    # -- kernels ---------------------------------------------------------------------------
    def load_kernel(self, rendered: Rendered) -> object:
        """The kernel object for ``rendered``, from the kernel cache."""
        return self.cache.get(rendered.source, self.build_options, rendered.name)

    def _build(self, request: Request) -> tuple[bytes, Any]:
        """Compile ``request`` with NVRTC: its PTX (the cache payload) and its loaded kernel."""
        ptx = nvrtc_compile(request.source, request.options, request.name)
        return ptx, self._load(ptx, request)

    def _load(self, ptx: bytes, request: Request) -> Any:
        """The kernel ``request.name`` of ``ptx``; ValueError if the PTX has no such entry."""
        _check_entry(ptx, request.name)
        return _load_function(self.cp, ptx, request.name)

    def launch(
        self, kernel: object, grid: Grid, buffers: Sequence[Buffer], scalars: Sequence[np.generic]
    ) -> None:
        """Enqueue a kernel on buffers and scalar arguments."""
        k: Any = kernel
        k(grid.groups, grid.local_size, (*buffers, *scalars))

    def primitive_runner(
        self, prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
    ) -> BufferFn:
        """``dot_general`` through cuBLAS (``cupy.matmul``); the rest as on every kernel backend."""
        if prim is la.dot_general_p:
            return self._dot_general(params, out_avals[0])
        return super().primitive_runner(prim, params, out_avals)

    def _dot_general(self, params: Params, out: ShapedArray) -> BufferFn:
        cp = self.cp
        (lc, rc), (lb, rb) = params["dimension_numbers"]

        def run(lhs: Buffer, rhs: Buffer) -> list[Buffer]:
            lf = la.free_dims(lhs.ndim, lc, lb)
            rf = la.free_dims(rhs.ndim, rc, rb)
            inputs = la.dot_result_dtype(lhs.dtype, rhs.dtype, None)
            acc = inputs if out.dtype.itemsize < inputs.itemsize else out.dtype
            batch = math.prod(lhs.shape[d] for d in lb)
            m = math.prod(lhs.shape[d] for d in lf)
            n = math.prod(rhs.shape[d] for d in rf)
            k = math.prod(lhs.shape[d] for d in lc)
            a = lhs.transpose((*lb, *lf, *lc)).astype(acc).reshape(batch, m, k)
            b = rhs.transpose((*rb, *rc, *rf)).astype(acc).reshape(batch, k, n)
            result = cp.matmul(a, b).astype(out.dtype).reshape(out.shape)
            return [result]

        return run


class MultiGpuCudaBackend(CudaBackend):
    """The CUDA backend over several GPUs.

    A buffer is a cupy array on its GPU. A computation (an eager primitive, a compiled
    executable) runs under the ``cupy.cuda.Device`` of its operands: the first operand not on
    GPU 0 decides (so JAX's committed device, since committed operands on two devices are refused
    before), else the enclosing computation's GPU (a loop body's). An operand on another GPU (an
    uncommitted array, a constant) is copied there first. Kernels are loaded per GPU (a CUDA
    module belongs to one device's context); ``launch_counts`` counts the launches per GPU.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._eager_caches: list[OrderedDict[Hashable, PlanExecutable]] = []
        super().__init__()
        self._eager_caches = [OrderedDict() for _ in range(self.gpu_count)]
        self.launch_counts = [0] * self.gpu_count

    @property
    def gpu(self) -> int:
        """The GPU computing in this thread (0 outside a computation)."""
        return int(getattr(self._local, "device", 0))

    @property
    def _eager(self) -> OrderedDict[Hashable, PlanExecutable]:
        """The eager executables of the GPU computing now (their constants live there)."""
        return self._eager_caches[self.gpu]

    @_eager.setter
    def _eager(self, value: OrderedDict[Hashable, PlanExecutable]) -> None:
        pass  # the base class's one cache: one per GPU instead

    def device_index(self, buffer: Buffer) -> int | None:
        """The GPU holding ``buffer`` (None for a host array: float0)."""
        return None if type(buffer) is np.ndarray else int(buffer.device.id)

    def _run_on(self, buffers: Sequence[Buffer],
                run: Callable[[Sequence[Buffer]], list[Buffer]]) -> list[Buffer]:
        """``run(buffers)`` on the GPU of ``buffers``, those elsewhere copied there first."""
        local = self._local
        outer = self.gpu
        places = [self.device_index(b) for b in buffers]
        chosen = next((i for i in places if i), outer)
        if any(i is not None and i != chosen for i in places):
            target = Device(self.name, chosen)
            buffers = [b if i is None or i == chosen else self.copy_to(b, target)
                       for b, i in zip(buffers, places, strict=True)]
        local.device = chosen
        try:
            with self.cp.cuda.Device(chosen):
                return run(buffers)
        finally:
            local.device = outer

    def execute(
        self,
        prim: Primitive,
        buffers: Sequence[Buffer],
        params: Params,
        out_avals: Sequence[ShapedArray],
    ) -> list[Buffer]:
        """One primitive, on its operands' GPU."""
        return self._run_on(
            buffers, lambda bs: CudaBackend.execute(self, prim, bs, params, out_avals))

    def build_executable(self, closed: ClosedJaxpr) -> Executable:
        """``closed`` for every GPU: each run on its operands' GPU, by an executable prepared
        there (its constants uploaded, its kernels loaded) when it first runs there."""
        return _OnOperandsGpu(self, closed)

    def _load(self, ptx: bytes, request: Request) -> Any:
        """The kernel ``request.name`` of ``ptx``, loaded on each GPU as it is first used."""
        _check_entry(ptx, request.name)
        return _PerGpu(self.cp, ptx, request.name)

    def launch(
        self, kernel: object, grid: Grid, buffers: Sequence[Buffer], scalars: Sequence[np.generic]
    ) -> None:
        """Launch the kernel's copy on the current GPU, counting it."""
        k: Any = kernel
        gpu = self.gpu
        self.launch_counts[gpu] += 1
        k.on(gpu)(grid.groups, grid.local_size, (*buffers, *scalars))

    def block_until_ready(self, buffer: Buffer) -> None:
        """Wait for the GPU holding ``buffer``."""
        gpu = self.device_index(buffer)
        self.cp.cuda.Device(0 if gpu is None else gpu).synchronize()

    def from_numpy_on(self, value: NDArray, device: Device | None) -> Buffer:
        """Copy a host array to ``device``'s memory (GPU 0's if None)."""
        if value.dtype.itemsize == 0:
            return value
        with self.cp.cuda.Device(0 if device is None else device.id):
            return self.cp.asarray(dense(value))

    def copy_to(self, buffer: Buffer, device: Device) -> Buffer:
        """``buffer``'s contents on ``device``: the buffer itself if it is there, else a copy made
        on that GPU once ``buffer``'s GPU has written it (and waited for, so that the source may
        be freed)."""
        here = self.device_index(buffer)
        if here is None or here == device.id:
            return buffer
        self.cp.cuda.Device(here).synchronize()
        target = self.cp.cuda.Device(device.id)
        with target:
            out = buffer.copy()  # cupy copies onto the current device
            target.synchronize()
        return out


class _PerGpu:
    """One kernel's PTX and its function loaded on each GPU that ran it."""

    __slots__ = ("cp", "ptx", "name", "functions", "lock")

    def __init__(self, cp: Any, ptx: bytes, name: str) -> None:
        self.cp, self.ptx, self.name = cp, ptx, name
        self.functions: dict[int, Any] = {}
        self.lock = threading.Lock()

    def on(self, gpu: int) -> Any:
        """The function loaded on ``gpu`` (loaded now if it is the first use there)."""
        function = self.functions.get(gpu)
        if function is None:
            with self.lock, self.cp.cuda.Device(gpu):
                function = self.functions.get(gpu)
                if function is None:
                    function = self.functions[gpu] = _load_function(self.cp, self.ptx, self.name)
        return function


class _OnOperandsGpu(Executable):
    """A jaxpr compiled by a multi-GPU backend: run on its operands' GPU, by the executable
    prepared for that GPU."""

    __slots__ = ("backend", "closed", "per_gpu", "lock")

    def __init__(self, backend: MultiGpuCudaBackend, closed: ClosedJaxpr) -> None:
        self.backend = backend
        self.closed = closed
        self.per_gpu: dict[int, Executable] = {}
        self.lock = threading.Lock()
        self.on(0)  # prepared (and its kernels compiled) now, as on one GPU

    def on(self, gpu: int) -> Executable:
        """The executable prepared on ``gpu``."""
        exe = self.per_gpu.get(gpu)
        if exe is None:
            with self.lock, self.backend.cp.cuda.Device(gpu):
                exe = self.per_gpu.get(gpu)
                if exe is None:
                    exe = self.per_gpu[gpu] = CudaBackend.build_executable(self.backend,
                                                                           self.closed)
        return exe

    def run(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        backend = self.backend
        return backend._run_on(buffers, lambda bs: self.on(backend.gpu).run(bs))

    def __getattr__(self, name: str) -> Any:  # the plan, kernels, ... of the compiled one
        if name.startswith("_") or name in self.__slots__:  # not set yet (a copy, a pickle)
            raise AttributeError(name)
        return getattr(self.on(0), name)


def _check_entry(ptx: bytes, name: str) -> None:
    """ValueError if ``ptx`` has no kernel ``name``."""
    if not re.search(rb"\.entry\s+" + re.escape(name.encode()) + rb"\s*\(", ptx):
        raise ValueError(f"the PTX has no kernel {name}")


def _load_function(cp: Any, ptx: bytes, name: str) -> Any:
    """The kernel ``name`` of ``ptx``, loaded on the current GPU."""
    fd, path = tempfile.mkstemp(suffix=".ptx")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(ptx)
        module = cp.RawModule(path=path)
        return module.get_function(name)
    finally:
        os.unlink(path)


register_backend("cuda", CudaBackend)
