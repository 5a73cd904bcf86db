"""Collectives across 2 MPI processes (``mpirun -n 2``) against the same programs on as many
virtual devices in one process (bit for bit) and on real JAX's host devices (to float32
rounding): ``pmap`` with each process's own rows, over 2 processes x 1 device and 2 x 2; the
processes' view (``process_index``, ``devices()``, ``local_devices()``); ``initialize``'s
errors; ``shard_map`` over a mesh of both processes' devices on a global array assembled by
``make_array_from_process_local_data``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import refjax
from refjax.backends import base
from refjax.backends.numpy_backend import NumpyBackend
from refjax.sharding import Mesh, NamedSharding, PartitionSpec
from tests.oracle import jax
from tests.parallel.mpi.conftest import run_mpi
from tests.parallel.mpi.programs import global_input, programs

NAMES = list(programs(refjax.lax, refjax.grad, 2))


@pytest.fixture(scope="module", params=[1, 2], ids=["2x1", "2x2"])
def mpi_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[int, dict[str, list[np.ndarray]]]:
    """The worker run under ``mpirun -n 2`` with 1 or 2 devices per process: the local devices
    per process, and per result each process's value (process order)."""
    local: int = request.param
    out = tmp_path_factory.mktemp(f"mpi{local}")
    run_mpi(["-m", "tests.parallel.mpi.worker", str(out)], local)
    ranks = [np.load(Path(out) / f"rank{r}.npz") for r in range(2)]
    return local, {k: [r[k] for r in ranks] for k in ranks[0].files}


@pytest.fixture
def virtual(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """refjax's numpy backend with 4 virtual devices in this process."""
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", "4")
    monkeypatch.setenv("REFJAX_BACKEND", "numpy")
    monkeypatch.setitem(base._INSTANCES, "numpy", NumpyBackend())
    yield


def test_processes_see_the_layout(mpi_run: tuple[int, dict[str, list[np.ndarray]]]) -> None:
    local, res = mpi_run
    total = 2 * local
    for rank in range(2):
        assert res["layout"][rank].tolist() == [rank, 2, local, total]
        assert res["device_ids"][rank].tolist() == list(range(total))  # consecutive, as JAX's
        assert res["device_processes"][rank].tolist() == [p for p in range(2)
                                                          for _ in range(local)]
        assert res["local_ids"][rank].tolist() == list(range(rank * local, (rank + 1) * local))
        assert str(res["error_num_processes"][rank]) == (
            "num_processes=3, but MPI started 2 processes (mpirun -n)")
        assert str(res["error_twice"][rank]) == (  # JAX's text
            "distributed.initialize should only be called once.")


@pytest.mark.parametrize("name", NAMES)
def test_pmap_over_processes_is_pmap_over_virtual_devices(
        mpi_run: tuple[int, dict[str, list[np.ndarray]]], virtual: None, name: str) -> None:
    local, res = mpi_run
    total = 2 * local
    fn = programs(refjax.lax, refjax.grad, total)[name]
    ours = np.asarray(refjax.pmap(fn, "i", devices=refjax.devices()[:total])(
        global_input(total)))
    joined = np.concatenate(res[name])  # each process's rows, in process order
    assert joined.dtype == ours.dtype
    np.testing.assert_array_equal(joined, ours)  # bit for bit
    theirs = np.asarray(jax.pmap(programs(jax.lax, jax.grad, total)[name], "i",
                                 devices=jax.devices()[:total])(global_input(total)))
    assert theirs.dtype == joined.dtype
    np.testing.assert_allclose(joined, theirs, rtol=1e-6, atol=1e-6)


def test_shard_map_over_both_processes(mpi_run: tuple[int, dict[str, list[np.ndarray]]],
                                       virtual: None) -> None:
    local, res = mpi_run
    total = 2 * local
    x = global_input(total)
    for rank in range(2):  # every process holds the whole global array and results
        np.testing.assert_array_equal(res["global"][rank], x)
    mesh = Mesh(np.array(refjax.devices()[:total], dtype=object).reshape(2, local), ("p", "l"))
    f = refjax.shard_map(lambda b: (refjax.lax.psum(b, "p"), refjax.lax.pmax(b, "l")),
                         mesh=mesh, in_specs=PartitionSpec(("p", "l")),
                         out_specs=(PartitionSpec("l"), PartitionSpec("p")))
    placed = refjax.device_put(x, NamedSharding(mesh, PartitionSpec(("p", "l"))))
    jmesh = jax.sharding.Mesh(np.array(jax.devices()[:total]).reshape(2, local), ("p", "l"))
    g = jax.shard_map(lambda b: (jax.lax.psum(b, "p"), jax.lax.pmax(b, "l")), mesh=jmesh,
                      in_specs=jax.P(("p", "l")), out_specs=(jax.P("l"), jax.P("p")))
    for k, (ours, theirs) in enumerate(zip(f(placed), g(x), strict=True)):
        for rank in range(2):
            np.testing.assert_array_equal(res[f"shard_map{k}"][rank], np.asarray(ours))
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


def test_without_mpi_one_process() -> None:
    assert not refjax.distributed.is_initialized()
    assert refjax.process_count() == 1 and refjax.process_index() == 0
    refjax.distributed.shutdown()  # nothing running: nothing to do, as JAX's


def test_initialize_after_the_backend_started(monkeypatch: pytest.MonkeyPatch) -> None:
    refjax.devices()
    with pytest.raises(RuntimeError, match=r"must be called before any refjax calls"):
        base.set_process_layout(base.ProcessLayout(0, (1, 1)))
    with pytest.raises(TypeError, match="process_id must be a nonnegative int"):
        refjax.distributed.initialize(process_id="0")  # type: ignore[arg-type]  # the error
    monkeypatch.setenv("REFJAX_BACKEND", "opencl")
    with pytest.raises(NotImplementedError, match="runs the numpy backend"):
        refjax.distributed.initialize()
