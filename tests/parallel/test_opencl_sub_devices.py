"""``pmap`` and ``shard_map`` on the OpenCL backend over 2 PoCL CPU sub-devices
(``REFJAX_OPENCL_SUB_DEVICES=1``, one compute unit each), against real JAX on 2 of its 4 host
devices: each shard's kernels run on the queue of its own sub-device, with every buffer they
touch there; ``device_put`` moves buffers between the sub-devices.

The sub-device backend is built here (as ``REFJAX_OPENCL_SUB_DEVICES=1`` makes it) and made the
default for these tests only, so they run in both passes of ``make test`` (numpy and OpenCL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from refjax.backends import base
from tests.errors import assert_same_error
from tests.oracle import jax

cl: Any = pytest.importorskip("pyopencl")

N = 2
X = np.arange(N * 8, dtype=np.float32).reshape(N, 8) / 5 - 2
Y = np.cos(np.arange(N * 8, dtype=np.float32)).reshape(N, 8)


def _pocl_cpu_units() -> int:
    try:
        devices = [d for p in cl.get_platforms() for d in p.get_devices()]
    except cl.Error:
        return 0
    cpu = next((d for d in devices if d.type & cl.device_type.CPU
                and "Portable Computing Language" in d.platform.name), None)
    return 0 if cpu is None else int(cpu.max_compute_units)


@pytest.fixture(scope="module")
def subs() -> Iterator[Any]:
    """The OpenCL backend over the PoCL CPU's sub-devices, the default backend for a module."""
    if jax.device_count() != 4:
        pytest.skip("real JAX started without 4 host devices (XLA_FLAGS set elsewhere)")
    if _pocl_cpu_units() < N:
        pytest.skip(f"no PoCL CPU device with {N} compute units")
    from refjax.backends.opencl import MultiDeviceOpenCLBackend, OpenCLBackend

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PYOPENCL_CTX", raising=False)
        mp.delenv("REFJAX_OPENCL_DEVICES", raising=False)
        mp.setenv("REFJAX_OPENCL_SUB_DEVICES", "1")
        backend = OpenCLBackend()
        assert isinstance(backend, MultiDeviceOpenCLBackend)
        mp.setenv("REFJAX_BACKEND", "opencl")
        mp.setitem(base._INSTANCES, "opencl", backend)
        yield backend


@pytest.fixture
def launches(subs: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[int | None]]]:
    """Every kernel launch: the device whose queue it was enqueued on, and the device of each
    buffer it reads or writes."""
    record: list[tuple[int, list[int | None]]] = []
    launch = subs.launch

    def recording(kernel: object, grid: Any, buffers: Any, scalars: Any) -> None:
        record.append((subs.queues.index(subs.queue), [subs.device_index(b) for b in buffers]))
        launch(kernel, grid, buffers, scalars)

    monkeypatch.setattr(subs, "launch", recording)
    return record


def _lib(which: str) -> tuple[Any, ModuleType]:
    return (refjax, refjax.lax) if which == "ours" else (jax, jax.lax)


def _devices(which: str) -> list[Any]:
    api, _ = _lib(which)
    return list(api.devices()[:N])


def _close(ours: Any, theirs: Any, tol: float = 1e-5) -> None:
    ol, tl = refjax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ol) == len(tl)
    for o, t in zip(ol, tl, strict=True):
        assert np.shape(o) == np.shape(t) and np.asarray(o).dtype == np.asarray(t).dtype
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=tol, atol=tol)


def _on_own_devices(record: list[tuple[int, list[int | None]]]) -> None:
    """Both devices launched kernels, each on buffers of its own."""
    assert {d for d, _ in record} == set(range(N)), record
    for device, places in record:
        assert all(p == device for p in places if p is not None), (device, places)


# ---------------------------------------------------------------------------------------------
# pmap over the 2 sub-devices: (lax, x, y) -> one instance's result over axis 'i' of size 2

Program = Callable[[ModuleType, Any, Any], Any]
PROGRAMS: dict[str, Program] = {
    "no_collective": lambda lax, x, y: x * y + 1,
    "psum": lambda lax, x, y: lax.psum(x * y, "i"),
    "pmean": lambda lax, x, y: lax.pmean(x, "i") - x,
    "pmax": lambda lax, x, y: lax.pmax(x, "i") + lax.pmin(y, "i"),
    "all_gather": lambda lax, x, y: lax.all_gather(x, "i"),
    "all_gather_tiled": lambda lax, x, y: lax.all_gather(x, "i", tiled=True),
    "psum_scatter": lambda lax, x, y: lax.psum_scatter(x[:2], "i"),
    "psum_scatter_tiled": lambda lax, x, y: lax.psum_scatter(x[:4] * y[:4], "i", tiled=True),
    "ppermute": lambda lax, x, y: lax.ppermute(x, "i", [(0, 1), (1, 0)]),
    "pshuffle": lambda lax, x, y: lax.pshuffle(x, "i", [1, 0]),
    "all_to_all": lambda lax, x, y: lax.all_to_all(x[:2].reshape(2, 1), "i", 0, 1),
    "axis_index": lambda lax, x, y: x * lax.axis_index("i") + lax.axis_size("i"),
    "mixed": lambda lax, x, y: lax.psum(x * lax.ppermute(y, "i", [(0, 1), (1, 0)]), "i")
    + lax.sin(x) * 2,
}


def _pmap(which: str, name: str, wrap: str = "plain") -> Any:
    api, lax = _lib(which)
    body = PROGRAMS[name]
    # (x * 1.5: a kernel on each shard, in programs of collectives only)
    f = api.pmap(lambda x, y: body(lax, x * 1.5, y), axis_name="i", devices=_devices(which))
    if wrap == "plain":
        return f(X, Y)
    if wrap == "jit":
        return api.jit(f)(X, Y)
    if wrap == "grad":
        return api.grad(lambda x, y: (f(x, y) ** 2).sum(), argnums=(0, 1))(X, Y)
    raise AssertionError(wrap)


@pytest.mark.parametrize("name", PROGRAMS)
def test_pmap_matches_jax_on_sub_devices(name: str, launches: list[Any]) -> None:
    _close(_pmap("ours", name), _pmap("theirs", name))
    _on_own_devices(launches)


@pytest.mark.parametrize("wrap", ["jit", "grad"])
def test_pmap_under_jit_and_grad_on_sub_devices(wrap: str, launches: list[Any]) -> None:
    _close(_pmap("ours", "mixed", wrap), _pmap("theirs", "mixed", wrap), 2e-4)
    _on_own_devices(launches)


def test_vmap_pmap_shard_map_agree_on_sub_devices(subs: Any) -> None:
    lax, P = refjax.lax, refjax.sharding.PartitionSpec
    body = PROGRAMS["mixed"]

    def f(x: Any, y: Any) -> Any:
        return body(lax, x, y)

    by_vmap = refjax.vmap(f, axis_name="i")(X, Y)
    by_pmap = refjax.pmap(f, axis_name="i")(X, Y)
    mesh = refjax.sharding.Mesh(np.array(_devices("ours"), dtype=object), ("i",))
    by_shard_map = refjax.shard_map(
        lambda x, y: refjax.numpy.expand_dims(f(x[0], y[0]), 0), mesh=mesh,
        in_specs=(P("i"), P("i")), out_specs=P("i"))(X, Y)
    np.testing.assert_allclose(np.asarray(by_vmap), np.asarray(by_pmap), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(by_vmap), np.asarray(by_shard_map), rtol=1e-6)
    assert by_pmap.devices() == set(refjax.devices()[:N])


# ---------------------------------------------------------------------------------------------
# shard_map over a 1-D mesh of the 2 sub-devices


def _cases(P: Any) -> dict[str, Any]:  # noqa: N803  # as JAX users name it
    """name -> (in_specs, out_specs, body(lax, x, y))."""
    return {
        "rows": ((P("i"), P("i")), P("i"), lambda lax, x, y: lax.exp(x) * y),
        "psum": ((P("i"), P()), P(), lambda lax, x, y: lax.psum(x, "i") + y),
        "cols": ((P(None, "i"), P()), P(None, "i"), lambda lax, x, y: x * y[:, :1]),
        "gather": ((P("i"), P("i")), P("i"),
                   lambda lax, x, y: lax.all_gather(x, "i", tiled=True) * 1.5),
        "matmul": ((P("i"), P()), P("i"), lambda lax, x, y: x @ y.T),
    }


def _shard_map(which: str, name: str, wrap: str) -> Any:
    api, lax = _lib(which)
    in_specs, out_specs, body = _cases(api.sharding.PartitionSpec)[name]
    mesh = api.sharding.Mesh(np.array(_devices(which), dtype=object), ("i",))
    f = api.shard_map(lambda x, y: body(lax, x, y), mesh=mesh, in_specs=in_specs,
                      out_specs=out_specs)
    if wrap == "plain":
        return f(X, Y)
    if wrap == "jit":
        return api.jit(f)(X, Y)
    if wrap == "grad":
        return api.grad(lambda x, y: (f(x, y) ** 2).sum(), argnums=(0, 1))(X, Y)
    raise AssertionError(wrap)


@pytest.mark.parametrize("name", list(_cases(refjax.sharding.PartitionSpec)))
@pytest.mark.parametrize("wrap", ["plain", "jit", "grad"])
def test_shard_map_matches_jax_on_sub_devices(name: str, wrap: str,
                                              launches: list[Any]) -> None:
    _close(_shard_map("ours", name, wrap), _shard_map("theirs", name, wrap), 2e-4)
    _on_own_devices(launches)


def test_shard_map_output_sharding_matches_jax(subs: Any) -> None:
    ours, theirs = _shard_map("ours", "rows", "plain"), _shard_map("theirs", "rows", "plain")
    assert repr(ours.sharding) == repr(theirs.sharding).replace("CpuDevice", "Device")
    assert ours.devices() == set(refjax.devices()[:N])
    blocks = {s.device.id: np.asarray(s.data) for s in ours.addressable_shards}
    for shard in theirs.addressable_shards:
        np.testing.assert_allclose(blocks[shard.device.id], np.asarray(shard.data), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Buffers on their devices


def test_device_put_moves_buffers_between_sub_devices(subs: Any) -> None:
    d0, d1 = refjax.devices()[:N]
    x = refjax.device_put(X, d1)
    assert x.devices() == {d1} and x.buffer.queue is subs.queues[1]
    back = refjax.device_put(x, d0)
    assert back.devices() == {d0} and back.buffer.queue is subs.queues[0]
    assert refjax.device_put(back, d0) is back
    np.testing.assert_array_equal(np.asarray(back), X)
    np.testing.assert_array_equal(np.asarray(x.copy()), X)
    assert x.copy().buffer.queue is subs.queues[1]
    uncommitted = refjax.device_put(Y)
    assert uncommitted.buffer.queue is subs.queues[0] and not uncommitted.committed


def test_computations_run_on_their_operands_device(subs: Any, launches: list[Any]) -> None:
    d1 = refjax.devices()[1]
    x = refjax.device_put(X, d1)
    y = refjax.device_put(Y)  # uncommitted, on the first device
    eager = refjax.numpy.sin(x) * y + 2.0
    jitted = refjax.jit(lambda a, b: refjax.numpy.tanh(a @ b.T).sum(0))(x, y)
    looped = refjax.lax.fori_loop(0, 3, lambda i, a: a * 1.5 + i, x)
    for out in [eager, jitted, looped]:
        assert out.devices() == {d1} and out.committed and out.buffer.queue is subs.queues[1]
    np.testing.assert_allclose(np.asarray(eager), np.sin(X) * Y + 2, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jitted), np.tanh(X @ Y.T).sum(0), rtol=1e-5)
    expected = X.copy()
    for i in range(3):
        expected = expected * 1.5 + i
    np.testing.assert_allclose(np.asarray(looped), expected, rtol=1e-6)
    assert launches and all(d == 1 for d, _ in launches)


def _clash(lib: Any) -> Any:
    ds = lib.devices()
    return lib.numpy.ones(3) * lib.device_put(lib.numpy.ones(3), ds[0]) + lib.device_put(
        lib.numpy.ones(3), ds[1])


def test_committed_arrays_on_two_sub_devices_are_an_error(subs: Any) -> None:
    assert_same_error(lambda: _clash(refjax), lambda: _clash(jax), expected=ValueError,
                      normalize=lambda text: text.replace("OPENCL", "CPU"))


def test_threads_compute_on_both_sub_devices_at_once(subs: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    f = refjax.jit(lambda a: refjax.numpy.tanh(a @ a.T) + 1)

    def work(k: int) -> list[Any]:
        device = refjax.devices()[k % N]
        x = refjax.device_put(X * (k + 1), device)
        outs = [f(x), refjax.numpy.cos(x) * 2]
        assert all(o.devices() == {device} and o.buffer.queue is subs.queues[k % N]
                   for o in outs)
        return [np.asarray(o) for o in outs]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(8)))
    for k, (a, b) in enumerate(results):
        x = X * (k + 1)
        np.testing.assert_allclose(a, np.tanh(x @ x.T) + 1, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b, np.cos(x) * 2, rtol=1e-6)
