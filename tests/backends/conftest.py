"""Fixtures for the kernel backends: the OpenCL backend (skipped without pyopencl or a device)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from refjax.backends.base import get_backend
from refjax.backends.kernels.backend import KernelBackend


@pytest.fixture(scope="session")
def opencl() -> KernelBackend:
    """The OpenCL backend (one per session, so compiled kernels are shared across tests)."""
    pytest.importorskip("pyopencl")
    try:
        backend = get_backend("opencl")
    except Exception as err:  # no platform, no device, a broken ICD ...
        pytest.skip(f"no usable OpenCL device: {err}")
    assert isinstance(backend, KernelBackend)
    return backend


@pytest.fixture
def on_opencl(opencl: KernelBackend, monkeypatch: pytest.MonkeyPatch) -> Iterator[KernelBackend]:
    """Make OpenCL the default backend for one test."""
    monkeypatch.setenv("REFJAX_BACKEND", "opencl")
    yield opencl
