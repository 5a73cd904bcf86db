"""Devices, placement and committed arrays, against real JAX with 4 host devices (``tests/
conftest.py`` sets ``--xla_force_host_platform_device_count=4`` before JAX starts) and refjax's
numpy backend with 4 virtual CPU devices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import refjax
from refjax.backends import base
from refjax.backends.numpy_backend import NumpyBackend
from tests.errors import assert_same_error
from tests.oracle import jax


@pytest.fixture
def four(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """refjax's default (numpy) backend with 4 devices, as REFJAX_NUM_CPU_DEVICES=4 makes it;
    real JAX with its 4."""
    if jax.device_count() != 4:
        pytest.skip("real JAX started without 4 host devices (XLA_FLAGS set elsewhere)")
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", "4")
    monkeypatch.delenv("REFJAX_BACKEND", raising=False)
    monkeypatch.setitem(base._INSTANCES, "numpy", NumpyBackend())
    yield


def test_device_queries_match_jax(four: None) -> None:
    for name in ["devices", "local_devices"]:
        ours, theirs = getattr(refjax, name)(), getattr(jax, name)()
        assert repr(ours) == repr(theirs)
        assert [str(d) for d in ours] == [str(d) for d in theirs]
        assert [(d.id, d.platform, d.process_index, d.device_kind) for d in ours] == [
            (d.id, d.platform, d.process_index, d.device_kind) for d in theirs]
    for name in ["device_count", "local_device_count", "process_index", "process_count"]:
        assert getattr(refjax, name)() == getattr(jax, name)()
    assert refjax.devices("numpy") == refjax.devices()
    assert repr(refjax.local_devices(backend="numpy")) == repr(jax.local_devices(backend="cpu"))


def _placement(lib: Any) -> list[str]:
    """What each way of making an array says about where it is."""
    ds = lib.devices()
    x = lib.numpy.ones(3)
    y = lib.device_put(x, ds[2])
    z = lib.device_put(np.arange(3.0, dtype=np.float32), lib.devices()[1])
    made = {
        "default": x, "put": y, "put_host": z, "put_none": lib.device_put(y),
        "put_sharding": lib.device_put(x, y.sharding),
        "sum": y + x, "scalar": y * 2, "sin": lib.numpy.sin(y), "uncommitted": x + 1,
        "jit": lib.jit(lambda a: a * 2)(y), "jit_mixed": lib.jit(lambda a, b: a - b)(x, y),
        "vmap": lib.vmap(lambda a: a * 2)(y), "grad": lib.grad(lambda a: (a * a).sum())(y),
        "move": lib.device_put(y, ds[3]),
    }
    return [f"{k}: {sorted(map(repr, v.devices()))} {v.committed} {v.sharding!r} "
            f"{type(v.sharding).__name__} {v.device!r}" for k, v in made.items()]


def test_placement_matches_jax(four: None) -> None:
    assert _placement(refjax) == _placement(jax)


def _clash(lib: Any, how: str) -> Any:
    ds = lib.devices()
    y = lib.device_put(lib.numpy.ones(3), ds[2])
    z = lib.device_put(lib.numpy.ones(3), ds[3])
    return y + z if how == "eager" else lib.jit(lambda a, b: a + b)(y, z)


@pytest.mark.parametrize("how", ["eager", "jit"])
def test_committed_arrays_on_two_devices_are_an_error(four: None, how: str) -> None:
    assert_same_error(lambda: _clash(refjax, how), lambda: _clash(jax, how), expected=ValueError)


def test_device_put_keeps_values_and_dtype(four: None) -> None:
    y = refjax.device_put(np.arange(4, dtype=np.int32), refjax.devices()[3])
    assert y.dtype == np.int32 and y.devices() == {refjax.devices()[3]}
    np.testing.assert_array_equal(np.asarray(y), np.arange(4))
    assert refjax.device_put(y, refjax.devices()[3]) is y


def test_device_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", "3")
    assert [d.id for d in NumpyBackend().devices()] == [0, 1, 2]
    monkeypatch.delenv("REFJAX_NUM_CPU_DEVICES")
    assert repr(NumpyBackend().devices()) == "[CpuDevice(id=0)]"
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", "zero")
    with pytest.raises(ValueError, match="REFJAX_NUM_CPU_DEVICES must be a positive integer"):
        NumpyBackend()


def test_one_device_array_reports_its_sharding() -> None:
    x = refjax.numpy.arange(3.0)
    (device,) = x.devices()
    assert x.sharding.device_set == {device} and x.sharding.is_fully_replicated
    assert not x.committed
