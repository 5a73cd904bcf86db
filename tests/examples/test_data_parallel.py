"""``examples/data_parallel.py``: data-parallel training of the digits MLP with ``pmap`` and
``pmean`` on 1, 2 and 4 virtual devices gives the same losses (to float32 rounding: the mean of
the per-device means sums in another order than one mean over the batch; 1 and 2 devices agree
bit for bit here), and the one-device run is the plain, unmapped SGD step of ``mnist_mlp``; the
command line. The run under ``mpirun -n 2`` is in ``tests/parallel/mpi/test_mpi_example.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import data_parallel
import numpy as np
import pytest
from data_parallel import RunConfig
from digits_data import load_dataset
from mnist_mlp import Config, Framework, init_params, make_step

from refjax.backends import base
from refjax.backends.numpy_backend import NumpyBackend

STEPS = 4


@pytest.fixture
def four(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """refjax's numpy backend with 4 virtual devices."""
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", "4")
    monkeypatch.setenv("REFJAX_BACKEND", "numpy")
    monkeypatch.setitem(base._INSTANCES, "numpy", NumpyBackend())
    yield


def losses(devices: int) -> list[float]:
    run = data_parallel.train(RunConfig(steps=STEPS, devices=devices), load_dataset(None))
    assert run.devices == devices and run.processes == 1 and run.per_device == 32 // devices
    return run.losses


def test_one_two_four_devices_same_losses(four: None) -> None:
    one, two, four_ = losses(1), losses(2), losses(4)
    # the unmapped step of mnist_mlp on the same batches: the reference
    fw, data = Framework.from_refjax(), load_dataset(None)
    init_key, order_key = fw.random.split(fw.random.PRNGKey(0))
    params = init_params(fw, init_key, (data.features, 128, data.num_classes))
    order = np.asarray(fw.random.permutation(order_key, len(data.x_train)))
    step, plain = make_step(fw, Config(lr=0.1)), []
    for i in range(STEPS):
        batch = order[i * 32:(i + 1) * 32]
        params, _, loss = step(params, (), data.x_train[batch], data.y_train[batch])
        plain.append(float(loss))
    np.testing.assert_allclose(one, plain, rtol=1e-6)
    assert np.all(np.diff(one) < 0)  # it learns
    np.testing.assert_allclose(two, one, rtol=1e-6)
    np.testing.assert_allclose(four_, one, rtol=1e-6)


def test_command_line(four: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert data_parallel.main(["--steps", "2", "--devices", "4"]) == 0
    out = capsys.readouterr().out
    assert "4 device(s) over 1 process(es): global batch 32, 8 examples per device" in out
    assert len(re.findall(r"^step +\d+ loss ", out, re.MULTILINE)) == 2
    assert "device 3 (process 0): the loss and gradients of 8 examples per step" in out
    assert data_parallel.main(["--devices", "3"]) == 2  # 32 does not split over 3
    assert "does not split over 3 devices" in capsys.readouterr().err
