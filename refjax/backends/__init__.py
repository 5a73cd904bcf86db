"""Backends: numpy (the CPU reference) and, through the kernel compiler, OpenCL and CUDA."""

from __future__ import annotations

from refjax.backends import numpy_backend as numpy_backend
from refjax.backends.base import ArrayImpl, Backend, get_backend, register_backend

__all__ = ["ArrayImpl", "Backend", "get_backend", "register_backend"]
