"""``examples/data_parallel.py`` under ``mpirun -n 2`` (1 and 2 devices per process): the same
losses, bit for bit, as the same number of virtual devices in one process."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from refjax.backends import base
from refjax.backends.numpy_backend import NumpyBackend
from tests.parallel.mpi.conftest import ROOT, run_mpi

EXAMPLES = ROOT / "examples"
STEPS = 3


def printed_losses(out: str) -> list[float]:
    return [float(m) for m in re.findall(r"^step +\d+ loss (\S+)$", out, re.MULTILINE)]


@pytest.mark.parametrize("local", [1, 2])
def test_mpi_run_has_the_losses_of_virtual_devices(local: int,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_mpi([str(EXAMPLES / "data_parallel.py"), "--steps", str(STEPS)], local)
    total = 2 * local
    assert f"{total} device(s) over 2 process(es)" in out
    for device in range(total):
        assert re.search(rf"^device {device} \(process {device // local}\): the loss and "
                         rf"gradients of {32 // total} examples per step", out, re.MULTILINE)
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", str(total))
    monkeypatch.setenv("REFJAX_BACKEND", "numpy")
    monkeypatch.setitem(base._INSTANCES, "numpy", NumpyBackend())
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import data_parallel
    from digits_data import load_dataset

    run = data_parallel.train(data_parallel.RunConfig(steps=STEPS), load_dataset(None))
    # printed with 9 decimals: enough to tell float32 values apart
    assert np.array_equal(np.float32(printed_losses(out)), np.float32(run.losses))
    assert "data_parallel" in sys.modules
    assert Path(sys.modules["data_parallel"].__file__ or "").parent == EXAMPLES
