"""The CUDA backend: generated kernels compiled with NVRTC and run through cupy.

The fusion compiler's kernels are rendered in the CUDA dialect, compiled to PTX by NVRTC
(:func:`nvrtc_compile`, cached in memory and on disk) and loaded with ``cupy.RawModule``.
Buffers are cupy arrays that stay on the GPU. ``dot_general`` is not a generated kernel here: it
runs as ``cupy.matmul`` (cuBLAS). NVRTC needs no GPU, so every kernel can be compiled (and is,
in the tests) on a machine without one; running needs a GPU.

cupy is imported only when the backend is first used, so ``import refjax`` works without it.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax.backends.base import Buffer, Device, register_backend
from refjax.backends.kernels.backend import BufferFn, KernelBackend, dense
from refjax.backends.kernels.cache import KernelCache, Request
from refjax.backends.kernels.dialects import CUDA
from refjax.backends.kernels.fusion import FusionOptions
from refjax.backends.kernels.render import Grid, Rendered
from refjax.dtypes import DType
from refjax.interp.core import NDArray, Params, Primitive, ShapedArray
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

    def __init__(self) -> None:
        import cupy

        self.cp: Any = cupy
        device = cupy.cuda.Device()
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
        """This backend's device."""
        return [Device(self.name)]

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
        if not re.search(rb"\.entry\s+" + re.escape(request.name.encode()) + rb"\s*\(", ptx):
            raise ValueError(f"the PTX has no kernel {request.name}")
        fd, path = tempfile.mkstemp(suffix=".ptx")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(ptx)
            module = self.cp.RawModule(path=path)
            return module.get_function(request.name)
        finally:
            os.unlink(path)

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


register_backend("cuda", CudaBackend)
