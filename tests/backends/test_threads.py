"""Thread safety of the backends: shared jitted and eager programs called from many threads at
once (``sys.setswitchinterval(1e-6)``), first calls racing in a fresh process, and backend
creation; every result equals a single-threaded run. A longer run by hand:
``python -m tests.backends.stress --backend opencl --threads 16 --seconds 60``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refjax.backends import base
from refjax.backends.base import Backend, get_backend, register_backend
from refjax.backends.numpy_backend import NumpyBackend
from tests.backends import stress

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ["numpy", "opencl"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each backend in turn as the default (OpenCL skipped without a usable device)."""
    name: str = request.param
    if name == "opencl":
        request.getfixturevalue("opencl")
    monkeypatch.setenv("REFJAX_BACKEND", name)
    return name


def test_threads_get_the_single_threaded_results(backend: str) -> None:
    report = stress.stress(threads=8, seconds=2.0)
    assert report.ok(), (report.wrong[:5], report.errors[:5])
    assert report.calls > 8 * len(stress.workloads())


def test_first_calls_racing_in_a_fresh_process(backend: str, tmp_path: Path) -> None:
    env = {**os.environ, "REFJAX_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.backends.stress", "--backend", backend, "--cold"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def registry() -> Iterator[None]:
    """Restore the backend registry after a test registers fakes in it."""
    factories, instances = dict(base._FACTORIES), dict(base._INSTANCES)
    yield
    base._FACTORIES.clear()
    base._FACTORIES.update(factories)
    base._INSTANCES.clear()
    base._INSTANCES.update(instances)


def test_a_backend_is_created_once_by_racing_threads(registry: None) -> None:
    made: list[Backend] = []

    def slow_factory() -> Backend:
        time.sleep(0.05)  # a device being opened
        made.append(NumpyBackend())
        return made[-1]

    register_backend("slow", slow_factory)
    got: list[Backend] = []
    start = threading.Barrier(8)

    def first_call() -> None:
        start.wait()
        got.append(get_backend("slow"))

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len(got) == 8 and all(b is made[0] for b in got)


def test_an_unavailable_backend_is_named_with_its_reason_in_one_line(registry: None) -> None:
    def broken() -> Backend:
        raise OSError("no driver\n  found on this machine")

    register_backend("broken", broken)
    with pytest.raises(RuntimeError) as info:
        get_backend("broken")
    message = str(info.value)
    assert "\n" not in message
    assert "'broken'" in message and "OSError: no driver found on this machine" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_cuda_without_a_driver_says_so_in_one_line() -> None:
    try:
        get_backend("cuda")
    except RuntimeError as err:
        assert "\n" not in str(err) and "'cuda'" in str(err)
    else:
        pytest.skip("a CUDA device is usable here")


def test_a_tracer_of_another_threads_live_trace_is_rejected() -> None:
    import refjax
    import refjax.numpy as jnp
    from refjax.errors import UnexpectedTracerError

    leaked: list[Any] = []
    traced, finish = threading.Event(), threading.Event()

    def keeps_tracing(x: object) -> object:
        leaked.append(x)
        traced.set()
        finish.wait(timeout=60)  # the other thread's trace stays alive meanwhile
        return x

    other = threading.Thread(target=lambda: refjax.jit(keeps_tracing)(1.0))
    other.start()
    try:
        assert traced.wait(timeout=60)
        # the leaked tracer's trace is live and of a lower level, but it encloses nothing here
        with pytest.raises(UnexpectedTracerError):
            refjax.make_jaxpr(refjax.grad(lambda y: jnp.sin(leaked[0]) * y))(2.0)
    finally:
        finish.set()
        other.join()
