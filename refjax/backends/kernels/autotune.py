"""Choosing a register-blocked matmul's block by timing: a small autotuner with a memory on disk.

The block a CPU device runs a matmul fastest with (how many rows and columns of outputs each work
item holds) depends on the device and on the shape: on a narrow output fewer columns waste less
of the edge, on a long ``k`` a taller block reuses more of ``rhs``. :class:`MatmulTuner` times a
few candidate blocks on the device the first time it meets a *shape class* (the accumulator
dtype, each size rounded up to a power of two, batched or not, the operands' layouts, whether an
epilogue runs and how many scalar parameters it has) and remembers the fastest, in memory and
in a JSON file beside the kernel cache (``<cache dir>/autotune/<backend>-<device digest>.json``),
so later processes skip the timing.

Only large matmuls are tuned (:data:`MIN_WORK` multiply-adds): timing costs a compile and a few
runs per candidate. ``REFJAX_AUTOTUNE=0`` turns tuning off (the backend's default block is used).
A file that cannot be read or parsed is replaced, with a warning; one that cannot be written
leaves the choices in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

from refjax.backends.kernels.cache import cache_dir
from refjax.backends.kernels.ir import MatmulKernel, RegisterBlock, reads_along_k

log = logging.getLogger("refjax.kernels")

AUTOTUNE_ENV: Final = "REFJAX_AUTOTUNE"
MIN_WORK: Final = 1 << 22  # batch * m * n * k below which the default block is used
ROUNDS: Final = 3  # rounds of timing, every candidate once in each
# Candidate blocks for four-byte accumulators (``RegisterBlock.for_dtype`` narrows them for
# eight-byte ones): the default first (6 x 2 vectors of 8: twelve accumulators, two rhs vectors
# and a broadcast fill fifteen of AVX2's sixteen vector registers), then 4 x 3 vectors (faster
# when nothing else is live, but all sixteen registers: a value the epilogue keeps in a register
# spills an accumulator), smaller ones that leave room, and a square one for a rhs read with
# scalar loads. Blocks of more than twelve vectors spill accumulators to the stack.
CANDIDATES: Final = (
    RegisterBlock(6, 16, 8),
    RegisterBlock(4, 24, 8),
    RegisterBlock(5, 16, 8),
    RegisterBlock(4, 16, 8),
    RegisterBlock(8, 8, 8),
)


# Candidate blocks for a matmul whose operands are both read along k (``a @ b.T``): rows x cols
# outputs, each a vector of 8 lanes of k; the vectors of lhs's rows stay in registers beside the
# accumulators, so 3 x 3 (nine accumulators, three rows and one rhs vector) leaves room.
DOT_CANDIDATES: Final = (
    RegisterBlock(3, 3, 8),
    RegisterBlock(4, 2, 8),
    RegisterBlock(2, 4, 8),
    RegisterBlock(3, 4, 8),
)


def enabled() -> bool:
    """Whether tuning is on (``REFJAX_AUTOTUNE`` is not ``0``)."""
    return os.environ.get(AUTOTUNE_ENV, "1") != "0"


def shape_class(kernel: MatmulKernel) -> str:
    """The key a choice is remembered by: dtypes, sizes rounded up to powers of two, layouts."""

    def bucket(x: int) -> int:
        return 1 << max(0, (x - 1).bit_length())

    layout = "".join("c" if a.strides[2] == 1 else "s" for a in (kernel.lhs, kernel.rhs))
    # the epilogue's scalar parameters, which the compiler may keep in vector registers
    epilogue = f"e1p{len(kernel.params)}" if kernel.outputs else "e0"
    return (
        f"{kernel.acc_dtype.name}:b{int(kernel.batch > 1)}:m{bucket(kernel.m)}:"
        f"n{bucket(kernel.n)}:k{bucket(kernel.k)}:{layout}:{epilogue}"
    )


def candidates(kernel: MatmulKernel) -> list[RegisterBlock]:
    """The blocks to time for ``kernel``'s layout and accumulator dtype."""
    acc = kernel.acc_dtype
    if acc.kind == "f" and reads_along_k(kernel.lhs, kernel.rhs):
        return [b.along_k(acc) for b in DOT_CANDIDATES]
    return [b.for_dtype(acc) for b in CANDIDATES]


class MatmulTuner:
    """Remembered choices of one device, and the timing that makes new ones."""

    def __init__(self, backend: str, device: str, directory: Path | None = None) -> None:
        root = cache_dir() if directory is None else directory
        digest = hashlib.sha256(device.encode()).hexdigest()[:16]
        self.path = None if root is None else root / "autotune" / f"{backend}-{digest}.json"
        self._lock = threading.Lock()  # guards _choices and the file
        self._choices: dict[str, tuple[int, int, int]] | None = None  # read on first use

    def tuned(
        self, kernel: MatmulKernel, measure: Callable[[MatmulKernel], float]
    ) -> MatmulKernel:
        """``kernel`` with the block remembered for its shape class, timing the candidates with
        ``measure`` (seconds per run of a kernel) when there is none yet. Kernels too small to
        tune, or without a register block, come back as they are."""
        work = kernel.batch * kernel.m * kernel.n * kernel.k
        if kernel.block is None or work < MIN_WORK or not enabled():
            return kernel
        key = shape_class(kernel)
        with self._lock:
            choice = self._load().get(key)
        if choice is None:
            block = self.fastest(kernel, candidates(kernel), measure)
            with self._lock:
                self._load()[key] = (block.rows, block.cols, block.width)
                self._save()
            return replace(kernel, block=block)
        return replace(kernel, block=RegisterBlock(*choice))

    @staticmethod
    def fastest(
        kernel: MatmulKernel,
        blocks: Sequence[RegisterBlock],
        measure: Callable[[MatmulKernel], float],
    ) -> RegisterBlock:
        """The block of ``blocks`` whose kernel ``measure`` times fastest (the first on ties):
        each candidate's best of :data:`ROUNDS` rounds, the candidates taking turns in each
        round, so that a burst of load on a shared machine slows them alike."""
        kernels = [replace(kernel, block=b) for b in blocks]
        best_times = [math.inf] * len(kernels)
        for _ in range(ROUNDS):
            for k, candidate in enumerate(kernels):
                best_times[k] = min(best_times[k], measure(candidate))
        times = [(t, k) for k, t in enumerate(best_times)]
        best = min(times)[1]
        log.info("refjax autotune %s: %s", shape_class(kernel),
                 ", ".join(f"{b.rows}x{b.cols}: {t * 1e3:.3f} ms"
                           for (t, _), b in zip(times, blocks, strict=True)))
        return blocks[best]

    # -- the file --------------------------------------------------------------------------
    def _load(self) -> dict[str, tuple[int, int, int]]:
        if self._choices is not None:
            return self._choices
        self._choices = {}
        if self.path is None or not self.path.exists():
            return self._choices
        try:
            data = json.loads(self.path.read_text())
            for key, value in data.items():
                rows, cols, width = (int(v) for v in value)
                self._choices[str(key)] = (rows, cols, width)
        except (OSError, ValueError, TypeError) as err:
            log.warning("refjax autotune: ignoring %s (%s); timing again", self.path, err)
            self._choices = {}
        return self._choices

    def _save(self) -> None:
        if self.path is None or self._choices is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({k: list(v) for k, v in sorted(self._choices.items())},
                                      indent=1))
            os.replace(tmp, self.path)
        except OSError as err:
            log.warning("refjax autotune: cannot write %s (%s); choices kept in memory",
                        self.path, err)
