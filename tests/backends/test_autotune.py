"""The matmul autotuner: it keeps the fastest candidate per shape class, remembers it on disk,
survives a bad file, leaves small kernels alone, and picks blocks that compute the right answer
on PoCL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import refjax
from refjax.backends.base import device_put
from refjax.backends.kernels import autotune
from refjax.backends.kernels.autotune import CANDIDATES, DOT_CANDIDATES, MatmulTuner, shape_class
from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.ir import Affine, BufferArg, MatmulKernel, RegisterBlock

F32 = np.dtype(np.float32)


def _kernel(m: int, n: int, k: int, dtype: np.dtype[np.generic] = F32) -> MatmulKernel:
    return MatmulKernel(
        "matmul", 1, m, n, k, (BufferArg(dtype, m * k), BufferArg(dtype, k * n)),
        Affine(0, (m * k, k, 1)), Affine(0, (k * n, n, 1)), dtype, dtype, CANDIDATES[0],
    )


class _Clock:
    """A fake measure: each block takes the time given; counts the calls."""

    def __init__(self, times: dict[RegisterBlock, float]) -> None:
        self.times = times
        self.calls = 0

    def __call__(self, kernel: MatmulKernel) -> float:
        self.calls += 1
        assert kernel.block is not None
        return self.times[kernel.block]


@pytest.fixture(autouse=True)
def _tuning_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(autotune.AUTOTUNE_ENV, "1")
    yield


def test_fastest_block_is_chosen_remembered_and_read_back(tmp_path: Path) -> None:
    times = {b: 1.0 + i for i, b in enumerate(CANDIDATES)}
    times[CANDIDATES[2]] = 0.5
    clock = _Clock(times)
    tuner = MatmulTuner("opencl", "device A", tmp_path)
    kernel = _kernel(256, 256, 256)
    assert tuner.tuned(kernel, clock).block == CANDIDATES[2]
    assert clock.calls == autotune.ROUNDS * len(CANDIDATES)
    # the same shape class (sizes rounded up to powers of two): no timing
    assert tuner.tuned(_kernel(200, 250, 256), clock).block == CANDIDATES[2]
    assert clock.calls == autotune.ROUNDS * len(CANDIDATES)
    # another process with the same device reads the file; another device times anew
    again = MatmulTuner("opencl", "device A", tmp_path)
    assert again.tuned(kernel, _Clock({})).block == CANDIDATES[2]
    other = _Clock({b: 1.0 for b in CANDIDATES})
    assert MatmulTuner("opencl", "device B", tmp_path).tuned(kernel, other).block == CANDIDATES[0]
    assert other.calls == autotune.ROUNDS * len(CANDIDATES)
    assert again.path is not None
    assert json.loads(again.path.read_text())[shape_class(kernel)] == list(
        (CANDIDATES[2].rows, CANDIDATES[2].cols, CANDIDATES[2].width)
    )


def test_a_burst_of_load_in_one_round_does_not_decide(tmp_path: Path) -> None:
    """Each candidate keeps its best round: the fastest block is chosen even though its first
    timing was slowed (as by another process) to the slowest of all."""
    fastest = CANDIDATES[1]
    rounds: dict[RegisterBlock, int] = {}

    def measure(kernel: MatmulKernel) -> float:
        assert kernel.block is not None
        rounds[kernel.block] = rounds.get(kernel.block, 0) + 1
        if kernel.block == fastest:
            return 10.0 if rounds[fastest] == 1 else 0.5
        return 1.0

    assert MatmulTuner("opencl", "d", tmp_path).tuned(_kernel(256, 256, 256), measure).block \
        == fastest


def test_eight_byte_accumulators_time_half_blocks(tmp_path: Path) -> None:
    seen: list[RegisterBlock] = []

    def measure(kernel: MatmulKernel) -> float:
        assert kernel.block is not None
        seen.append(kernel.block)
        return 1.0

    MatmulTuner("opencl", "d", tmp_path).tuned(_kernel(256, 256, 256, np.dtype(np.float64)),
                                               measure)
    halves = [RegisterBlock(b.rows, b.cols // 2, b.width // 2) for b in CANDIDATES]
    assert seen == halves * autotune.ROUNDS  # the candidates take turns, round after round


def test_operands_read_along_k_time_their_own_blocks(tmp_path: Path) -> None:
    """``a @ b.T`` (rhs contiguous along k) times the along-k candidates, eight-byte ones with
    half the lanes, and remembers them apart from ``a @ b``'s."""
    seen: list[RegisterBlock] = []

    def measure(kernel: MatmulKernel) -> float:
        assert kernel.block is not None
        seen.append(kernel.block)
        return 1.0

    tuner = MatmulTuner("opencl", "d", tmp_path)
    for dtype in (F32, np.dtype(np.float64)):
        plain = _kernel(256, 256, 256, dtype)
        nt = replace(plain, rhs=Affine(0, (256 * 256, 1, 256)))
        assert shape_class(nt) != shape_class(plain)
        seen.clear()
        tuner.tuned(nt, measure)
        lanes = 8 if dtype == F32 else 4
        assert seen == [RegisterBlock(b.rows, b.cols, lanes)
                        for b in DOT_CANDIDATES] * autotune.ROUNDS


def test_small_untiled_or_disabled_kernels_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock({})
    tuner = MatmulTuner("opencl", "d", tmp_path)
    small = _kernel(16, 16, 16)
    assert tuner.tuned(small, clock) is small
    tiled = replace(_kernel(256, 256, 256), block=None)
    assert tuner.tuned(tiled, clock) is tiled
    monkeypatch.setenv(autotune.AUTOTUNE_ENV, "0")
    big = _kernel(256, 256, 256)
    assert tuner.tuned(big, clock) is big
    assert clock.calls == 0


def test_an_unreadable_file_is_replaced_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tuner = MatmulTuner("opencl", "d", tmp_path)
    assert tuner.path is not None
    tuner.path.parent.mkdir(parents=True)
    tuner.path.write_text("{not json")
    clock = _Clock({b: 1.0 + i for i, b in enumerate(CANDIDATES)})
    with caplog.at_level(logging.WARNING, logger="refjax.kernels"):
        assert tuner.tuned(_kernel(256, 256, 256), clock).block == CANDIDATES[0]
    assert any("ignoring" in r.getMessage() for r in caplog.records)
    assert clock.calls == autotune.ROUNDS * len(CANDIDATES)
    assert shape_class(_kernel(256, 256, 256)) in json.loads(tuner.path.read_text())


def test_tuned_matmul_on_opencl_matches_numpy(on_opencl: KernelBackend, tmp_path: Path) -> None:
    if on_opencl.tuner is None:
        pytest.skip("the OpenCL device is not a CPU: no register blocks to tune")
    saved = on_opencl.tuner
    on_opencl.tuner = tuner = MatmulTuner("opencl", "test device", tmp_path)
    try:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((257, 300)).astype(np.float32)
        b = rng.standard_normal((300, 131)).astype(np.float32)
        out = refjax.jit(lambda a, b: (a @ b) * 2.0)(device_put(a, "opencl"),
                                                     device_put(b, "opencl"))
        np.testing.assert_allclose(np.asarray(out), (a @ b) * 2, rtol=1e-4, atol=1e-3)
        assert tuner.path is not None
        chosen = json.loads(tuner.path.read_text())
        assert len(chosen) == 1 and tuple(next(iter(chosen.values()))) in {
            (c.rows, c.cols, c.width) for c in CANDIDATES
        }
    finally:
        on_opencl.tuner = saved
