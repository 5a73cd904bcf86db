"""The CUDA backend over several GPUs, and the kernels ``pmap``/``shard_map`` generate.

Without a GPU: NVRTC compiles every kernel that running the collectives' programs generates --
each non-collective equation of the per-shard bodies (eager dispatch, shape-generic, as the
lock-step interpreter ``backends/spmd.py`` runs them; the collectives themselves are host
exchanges), their gradients, and the ``vmap(axis_name=)`` forms (collectives batched into
ordinary reductions, gathers and permutations), whole (``jit``) and per equation.

With a GPU (a lent GPU machine: ``.venv/bin/pytest -q -p no:randomly -n 0
tests/backends/test_cuda_multi_device.py``): ``refjax.devices("cuda")`` lists every GPU cupy sees;
``device_put`` round trips through each GPU; computations run on their operands' GPU; ``pmap``
over every GPU (one shard per GPU; with one GPU, a ``pmap`` over 1 device) agrees with the
collectives' reference semantics (``vmap(axis_name=)`` on the numpy backend).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest

import refjax
from refjax.backends import base
from refjax.backends.kernels.dialects import CUDA
from refjax.backends.kernels.fusion import Plan, plan, primitive_jaxpr
from refjax.backends.kernels.render import Rendered, render
from refjax.backends.spmd import EXCHANGES
from refjax.interp.core import ClosedJaxpr
from refjax.primitives import collectives as co
from refjax.primitives.calls import jit_p
from tests.backends.test_cuda import ARCH, BATCH, _batch_source, _plans_of, needs_gpu, needs_nvrtc
from tests.parallel.test_pmap_shard_map import DIFFERENTIABLE, PROGRAMS, X, Y

# ---------------------------------------------------------------------------------------------
# Without a GPU: NVRTC compiles the kernels of the shards' programs

_HOST = {*EXCHANGES, co.axis_index_p}  # computed on the host by the lock-step interpreter


def _shard_plans(closed: ClosedJaxpr) -> Iterator[Plan]:
    """The plans of ``closed``'s equations as the lock-step interpreter runs them: each alone,
    shape-generic, except collectives (host exchanges) and ``jit``s (run in lock step, their
    equations in turn)."""
    for eqn in closed.eqns:
        if eqn.primitive in _HOST:
            continue
        if eqn.primitive is jit_p:
            yield from _shard_plans(eqn.params["jaxpr"])
            continue
        yield plan(primitive_jaxpr(eqn.primitive, eqn.params, [a.aval for a in eqn.invars],
                                   [v.aval for v in eqn.outvars]))


def _programs() -> Iterator[ClosedJaxpr]:
    lax = refjax.lax
    for name, body in PROGRAMS.items():
        def f(x: Any, y: Any, body: Any = body) -> Any:
            return body(lax, x, y)

        yield refjax.make_jaxpr(f, axis_env=[("i", 4)])(X[0], Y[0])
        if name in DIFFERENTIABLE:
            def loss(x: Any, y: Any, body: Any = body) -> Any:
                return (body(lax, x, y) ** 2).sum()

            yield refjax.make_jaxpr(refjax.grad(loss, argnums=(0, 1)), axis_env=[("i", 4)])(
                X[0], Y[0])
        yield refjax.make_jaxpr(refjax.vmap(f, axis_name="i"))(X, Y)


def collective_sources() -> list[Rendered]:
    """Every distinct CUDA kernel the collectives' programs generate."""
    seen: dict[str, Rendered] = {}
    for closed in _programs():
        for p in _shard_plans(closed):
            for kernel in p.kernels():
                rendered = render(kernel, CUDA, True)
                seen.setdefault(rendered.source, rendered)
        if not any(e.primitive in _HOST for e in closed.eqns):  # the vmap form: whole and each
            for p, generic in _plans_of(closed):
                for kernel in p.kernels():
                    rendered = render(kernel, CUDA, generic)
                    seen.setdefault(rendered.source, rendered)
    return list(seen.values())


@needs_nvrtc
def test_nvrtc_compiles_the_collectives_programs_kernels() -> None:
    from refjax.backends.cuda import NvrtcError, nvrtc_compile

    sources = collective_sources()
    assert len(sources) > 20
    failures = []
    for start in range(0, len(sources), BATCH):
        batch = tuple(sources[start : start + BATCH])
        try:
            nvrtc_compile(_batch_source(batch), (ARCH, *CUDA.build_options), "collectives")
        except NvrtcError as err:
            failures.append(str(err)[:2000])
    assert not failures, "\n\n".join(failures)


# ---------------------------------------------------------------------------------------------
# With a GPU: devices, placement, pmap over every GPU


@pytest.fixture(scope="module")
def cuda() -> Iterator[Any]:
    """The CUDA backend, the default one for this module."""
    from refjax.backends.cuda import CudaBackend

    with pytest.MonkeyPatch.context() as mp:
        backend = CudaBackend()
        mp.setenv("REFJAX_BACKEND", "cuda")
        mp.setitem(base._INSTANCES, "cuda", backend)
        yield backend


@needs_gpu
def test_every_gpu_is_a_device(cuda: Any) -> None:
    import cupy

    count = int(cupy.cuda.runtime.getDeviceCount())
    assert [(d.platform, d.id) for d in refjax.devices()] == [("cuda", i) for i in range(count)]
    assert type(cuda).__name__ == ("MultiGpuCudaBackend" if count > 1 else "CudaBackend")


@needs_gpu
def test_device_put_round_trips_through_every_gpu(cuda: Any) -> None:
    x = np.linspace(-2, 2, 24, dtype=np.float32).reshape(4, 6)
    here: Any = refjax.device_put(x)
    for device in refjax.devices():
        y = refjax.device_put(here, device)
        assert y.devices() == {device} and y.committed
        assert int(y.buffer.device.id) == device.id
        out = refjax.jit(lambda a: refjax.numpy.sin(a) @ a.T)(y)
        eager = refjax.numpy.exp(y) + 1.0
        for r in [out, eager]:
            assert r.devices() == {device} and int(r.buffer.device.id) == device.id
        np.testing.assert_allclose(np.asarray(out), np.sin(x) @ x.T, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(eager), np.exp(x) + 1, rtol=1e-6)
        here = y
    back = refjax.device_put(here, refjax.devices()[0])
    np.testing.assert_array_equal(np.asarray(back), x)
    assert int(back.buffer.device.id) == 0


@needs_gpu
@pytest.mark.parametrize("name", ["no_collective", "psum", "pmax", "all_gather", "ppermute",
                                  "axis_index", "mixed"])
def test_pmap_over_every_gpu(cuda: Any, name: str) -> None:
    lax = refjax.lax
    n = len(refjax.devices())
    perm = [(i, (i + 1) % n) for i in range(n)]
    bodies = {
        "no_collective": lambda x, y: x * y + 1,
        "psum": lambda x, y: lax.psum(x * y, "i"),
        "pmax": lambda x, y: lax.pmax(x, "i") + lax.pmin(y, "i"),
        "all_gather": lambda x, y: lax.all_gather(x * 2, "i"),
        "ppermute": lambda x, y: lax.ppermute(x * 2, "i", perm),
        "axis_index": lambda x, y: x * lax.axis_index("i") + lax.axis_size("i"),
        "mixed": lambda x, y: lax.psum(x * lax.ppermute(y, "i", perm), "i") + lax.sin(x),
    }
    f = bodies[name]
    xs = np.linspace(-1, 1, n * 8, dtype=np.float32).reshape(n, 8)
    ys = np.cos(np.arange(n * 8, dtype=np.float32)).reshape(n, 8)
    before = list(getattr(cuda, "launch_counts", []))
    ours = refjax.pmap(f, axis_name="i")(xs, ys)
    assert ours.devices() == set(refjax.devices())
    with pytest.MonkeyPatch.context() as mp:  # the reference semantics, on the host
        mp.setenv("REFJAX_BACKEND", "numpy")
        expected = refjax.vmap(f, axis_name="i")(xs, ys)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(expected), rtol=1e-5, atol=1e-6)
    if before and name != "axis_index":  # several GPUs: each ran its shard's kernels
        after = cuda.launch_counts
        assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)


# ---------------------------------------------------------------------------------------------
# Without a GPU: the multi-GPU dispatch on a stand-in for cupy (2 "GPUs" of host memory, kernels
# compiled by the real NVRTC but not run: their launches are recorded), so placement is checked
# here and values on a lent GPU machine (above)


class _FakeArray(np.ndarray):
    """A host array standing in for a cupy array on GPU ``gpu``."""

    gpu: int = 0

    def __array_finalize__(self, obj: Any) -> None:
        self.gpu = getattr(obj, "gpu", _Fake.current[-1])

    @property
    def device(self) -> Any:  # cupy's Device, not numpy's "cpu"
        return _Fake.Device(self.gpu)

    def copy(self, order: Any = "C") -> Any:  # cupy copies onto the current device
        out = np.array(self, copy=True).view(_FakeArray)
        out.gpu = _Fake.current[-1]
        return out


class _Fake:
    """The part of cupy the CUDA backend uses."""

    current: ClassVar[list[int]] = [0]
    launches: ClassVar[list[tuple[str, int, int, list[int]]]] = []  # name, loaded on, ran on,
    # and the GPUs of its buffer arguments

    class Device:
        compute_capability = "90"
        attributes: ClassVar[dict[str, int]] = {"MultiProcessorCount": 4}

        def __init__(self, gpu: int | None = None) -> None:
            self.id = _Fake.current[-1] if gpu is None else gpu

        def __enter__(self) -> Any:
            _Fake.current.append(self.id)
            return self

        def __exit__(self, *exc: object) -> None:
            _Fake.current.pop()

        def synchronize(self) -> None:
            pass

    class runtime:  # noqa: N801  # cupy.cuda.runtime
        @staticmethod
        def getDeviceCount() -> int:  # cupy's name
            return 2

    class cuda:  # noqa: N801  # cupy.cuda
        pass

    class RawModule:
        def __init__(self, path: str) -> None:
            with open(path, "rb") as f:
                self.ptx = f.read()
            self.gpu = _Fake.current[-1]

        def get_function(self, name: str) -> Any:
            gpu = self.gpu

            def launch(grid: Any, block: Any, args: tuple[Any, ...]) -> None:
                _Fake.launches.append((name, gpu, _Fake.current[-1],
                                       [a.gpu for a in args if isinstance(a, _FakeArray)]))

            return launch

    @staticmethod
    def asarray(value: Any) -> Any:
        out = np.array(value, copy=True).view(_FakeArray)
        out.gpu = _Fake.current[-1]
        return out

    @staticmethod
    def empty(shape: Any, dtype: Any) -> Any:
        out = np.empty(shape, dtype).view(_FakeArray)
        out.gpu = _Fake.current[-1]
        return out

    @staticmethod
    def asnumpy(value: Any) -> Any:
        return np.asarray(value).view(np.ndarray).copy()


_Fake.cuda.Device = _Fake.Device  # type: ignore[attr-defined]  # cupy.cuda's members
_Fake.cuda.runtime = _Fake.runtime  # type: ignore[attr-defined]  # (set on the stand-in)


@pytest.fixture
def two_fake_gpus(monkeypatch: pytest.MonkeyPatch) -> Any:
    import sys

    from refjax.backends.cuda import CudaBackend, MultiGpuCudaBackend

    monkeypatch.setitem(sys.modules, "cupy", _Fake)
    monkeypatch.setattr(_Fake, "current", [0])
    monkeypatch.setattr(_Fake, "launches", [])
    backend = CudaBackend()
    assert isinstance(backend, MultiGpuCudaBackend)
    monkeypatch.setenv("REFJAX_BACKEND", "cuda")
    monkeypatch.setitem(base._INSTANCES, "cuda", backend)
    return backend


def _ran_on(gpu: int) -> None:
    """Every recorded launch ran on ``gpu``, loaded there, on buffers there; then forget them."""
    assert _Fake.launches
    for name, loaded, ran, args in _Fake.launches:
        assert (loaded, ran) == (gpu, gpu) and set(args) == {gpu}, (name, loaded, ran, args)
    _Fake.launches.clear()


@needs_nvrtc
def test_multi_gpu_dispatch_places_buffers_and_kernels(two_fake_gpus: Any) -> None:
    backend = two_fake_gpus
    d0, d1 = refjax.devices()
    assert (d0.id, d1.id) == (0, 1) and d1.platform == "cuda"
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    on1 = refjax.device_put(x, d1)
    assert on1.buffer.gpu == 1 and on1.devices() == {d1}
    back = refjax.device_put(on1, d0)
    assert back.buffer.gpu == 0
    np.testing.assert_array_equal(np.asarray(back), x)
    here = refjax.device_put(x)  # uncommitted: GPU 0

    f = refjax.jit(lambda a: refjax.numpy.sin(a) * 2 + np.arange(3, dtype=np.float32))
    out1 = f(on1)
    assert out1.buffer.gpu == 1 and out1.devices() == {d1}
    _ran_on(1)
    out0 = f(here)
    assert out0.buffer.gpu == 0 and not out0.committed
    _ran_on(0)
    mixed: Any = on1 * here - 1.0  # the uncommitted operand is copied to GPU 1
    assert mixed.buffer.gpu == 1
    _ran_on(1)
    looped: Any = refjax.lax.fori_loop(0, 2, lambda i, a: a * 2.0, on1)
    assert looped.buffer.gpu == 1
    _ran_on(1)
    assert backend.launch_counts[0] > 0 and backend.launch_counts[1] > 0

    def body(v: Any) -> Any:
        return refjax.lax.psum(refjax.numpy.exp(v), "i") * v

    refjax.pmap(body, axis_name="i")(np.ones((2, 4), np.float32))
    by_gpu: dict[int, int] = {}
    for name, loaded, ran, args in _Fake.launches:
        assert loaded == ran and set(args) == {ran}, (name, loaded, ran, args)
        by_gpu[ran] = by_gpu.get(ran, 0) + 1
    assert by_gpu.keys() == {0, 1} and by_gpu[0] == by_gpu[1]
