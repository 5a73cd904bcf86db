"""The OpenCL backend's devices: its one device by default, and, opted in, a PoCL CPU device's
sub-devices (one a compute unit: a 2-core CPU gives 2) holding arrays that compute correctly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax

cl: Any = pytest.importorskip("pyopencl")


def _pocl_cpu() -> Any:
    try:
        devices = [d for p in cl.get_platforms() for d in p.get_devices()]
    except cl.Error:
        return None
    return next((d for d in devices if d.type & cl.device_type.CPU
                 and "Portable Computing Language" in d.platform.name), None)


def _backend(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    from refjax.backends import base
    from refjax.backends.opencl import OpenCLBackend

    monkeypatch.delenv("PYOPENCL_CTX", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    backend = OpenCLBackend()
    monkeypatch.setitem(base._INSTANCES, "opencl", backend)
    return backend


def test_default_is_one_device(monkeypatch: pytest.MonkeyPatch) -> None:
    if _pocl_cpu() is None:
        pytest.skip("no PoCL CPU device")
    monkeypatch.delenv("REFJAX_OPENCL_SUB_DEVICES", raising=False)
    monkeypatch.delenv("REFJAX_OPENCL_DEVICES", raising=False)
    assert repr(_backend(monkeypatch).devices()) == "[Device(platform='opencl', id=0)]"


def test_pocl_cpu_sub_devices_hold_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = _pocl_cpu()
    if cpu is None:
        pytest.skip("no PoCL CPU device")
    backend = _backend(monkeypatch, REFJAX_OPENCL_SUB_DEVICES="1")
    devices = backend.devices()
    assert [d.id for d in devices] == list(range(int(cpu.max_compute_units)))
    assert refjax.devices("opencl") == devices and {d.platform for d in devices} == {"opencl"}
    last = devices[-1]
    x = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    y = refjax.device_put(x, last)
    out = refjax.jit(lambda a: refjax.numpy.sin(a) * 2)(y)
    assert y.devices() == {last} and out.devices() == {last} and out.committed
    np.testing.assert_allclose(np.asarray(out), np.sin(x) * 2, rtol=1e-6)
