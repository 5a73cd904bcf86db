"""Backends: numpy (the CPU reference) and, through the kernel compiler, OpenCL and CUDA."""

from __future__ import annotations

from importlib import import_module

from refjax.backends import numpy_backend as numpy_backend
from refjax.backends.base import ArrayImpl, Backend, get_backend, register_backend

# Kernel backends: their modules (and pyopencl/cupy) load only when first selected.
register_backend("opencl", lambda: import_module("refjax.backends.opencl").OpenCLBackend())
register_backend("cuda", lambda: import_module("refjax.backends.cuda").CudaBackend())

__all__ = ["ArrayImpl", "Backend", "get_backend", "register_backend"]
