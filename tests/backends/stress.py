"""A thread stress run: many threads call shared jitted and eager programs while the interpreter
switches threads as often as it can; every result must equal a single-threaded run.

Used by ``tests/backends/test_threads.py`` (a few seconds per backend in CI) and by hand for a
longer run::

    python -m tests.backends.stress --backend opencl --threads 16 --seconds 60
    python -m tests.backends.stress --backend opencl --cold   # first calls race (fresh process)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import refjax
import refjax.numpy as jnp
from refjax import lax

Workload = Callable[..., Any]  # (w, x) -> a pytree of arrays


def _loss(w: Any, x: Any) -> Any:
    return jnp.sum(jnp.tanh(x @ w) ** 2) + jnp.mean(w * w)


def _eager_chain(w: Any, x: Any) -> Any:
    y = jnp.exp(-jnp.abs(x)) * 2.0 + 1.0
    return (y - y.mean()).sum(0), jnp.maximum(w, 0.0).max(1)


def _loop(w: Any, x: Any) -> Any:
    def body(i: Any, carry: Any) -> Any:
        return carry * 0.9 + jnp.sin(w) / (i + 1.0)

    return lax.fori_loop(0, 5, body, w)


def _scan(w: Any, x: Any) -> Any:
    def step(c: Any, row: Any) -> Any:
        c = jnp.tanh(c + row.sum())
        return c, c.max()

    return lax.scan(step, w[0], x)


def workloads() -> dict[str, Workload]:
    """Programs that share compiled kernels between threads (made anew for every run)."""
    return {
        "jit_grad": refjax.jit(refjax.grad(_loss)),
        "eager": _eager_chain,
        "jit_loop": refjax.jit(_loop),
        "vmap_grad": refjax.vmap(refjax.grad(_loss), in_axes=(None, 0)),
        "scan": refjax.jit(_scan),
        "normalise": refjax.jit(lambda w, x: (x - x.mean(0)) / (x.std(0) + 1.0)),
    }


def inputs(count: int = 12, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Operand pairs ``(w: f32[8, 4], x: f32[5, 8])``; ``vmap_grad`` maps over x's rows."""
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((8, 4)).astype(np.float32),
         rng.standard_normal((5, 8)).astype(np.float32))
        for _ in range(count)
    ]


def as_numpy(tree: Any) -> list[np.ndarray]:
    """The leaves of a result as host arrays."""
    return [np.asarray(leaf) for leaf in refjax.tree_util.tree_leaves(tree)]


@dataclass
class Report:
    """What a stress run saw: calls made, wrong results, exceptions (with their text)."""

    calls: int = 0
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def ok(self) -> bool:
        """No wrong result and no exception."""
        return not self.wrong and not self.errors


@contextmanager
def fast_switching() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, for the duration."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def single_threaded(
    programs: dict[str, Workload], operands: Sequence[tuple[np.ndarray, np.ndarray]]
) -> dict[tuple[str, int], list[np.ndarray]]:
    """Every program on every operand pair, in one thread: the expected results."""
    return {
        (name, i): as_numpy(fn(*pair))
        for name, fn in programs.items()
        for i, pair in enumerate(operands)
    }


def _same(got: list[np.ndarray], want: list[np.ndarray]) -> bool:
    return len(got) == len(want) and all(
        g.shape == w.shape and g.dtype == w.dtype and np.array_equal(g, w, equal_nan=True)
        for g, w in zip(got, want, strict=True)
    )


def hammer(
    programs: dict[str, Workload],
    operands: Sequence[tuple[np.ndarray, np.ndarray]],
    expected: dict[tuple[str, int], list[np.ndarray]] | None,
    threads: int,
    seconds: float,
) -> tuple[Report, dict[tuple[str, int], list[np.ndarray]]]:
    """``threads`` threads calling the programs for ``seconds``, all starting at once.

    Each result is compared with ``expected`` (a single-threaded run on the same backend:
    kernels are deterministic, so results must be bitwise equal); with ``expected=None`` the
    first result seen for each call is returned so that a later run can check against it.
    """
    report = Report()
    seen: dict[tuple[str, int], list[np.ndarray]] = {}
    owners: set[int] = set()  # the backend objects holding the threads' arrays
    lock = threading.Lock()
    start = threading.Barrier(threads)
    names = sorted(programs)

    def work(t: int) -> None:
        start.wait()
        mine = [tuple(refjax.device_put(a) for a in pair) for pair in operands]  # to the device
        with lock:
            owners.update(id(a.backend) for pair in mine for a in pair)
        deadline = time.monotonic() + seconds
        k = 0
        while k < len(names) or time.monotonic() < deadline:
            name = names[(t + k) % len(names)]
            i = (t * 7 + k) % len(operands)
            k += 1
            try:
                got = as_numpy(programs[name](*mine[i]))
            except Exception as err:  # reported, not raised: the run goes on
                with lock:
                    report.errors.append(f"{name}[{i}]: {type(err).__name__}: {err}")
                continue
            with lock:
                report.calls += 1
                want = (expected or seen).setdefault((name, i), got)
                if not _same(got, want):
                    report.wrong.append(f"{name}[{i}] in thread {t}")

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    with fast_switching():
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    if len(owners) > 1:
        report.wrong.append(f"{len(owners)} backend objects made for one backend name")
    return report, seen


def stress(threads: int, seconds: float) -> Report:
    """A warm run on the default backend: expected results from one thread, then every thread
    at once."""
    programs, operands = workloads(), inputs()
    expected = single_threaded(programs, operands)
    report, _ = hammer(programs, operands, expected, threads, seconds)
    return report


def cold(threads: int) -> Report:
    """First calls race on the default backend: its creation, tracing, compiling (run it in a
    fresh process)."""
    programs, operands = workloads(), inputs(count=4)
    report, seen = hammer(programs, operands, None, threads, seconds=0.0)
    expected = single_threaded(workloads(), operands)
    for key, got in seen.items():
        if not _same(got, expected[key]):
            report.wrong.append(f"{key[0]}[{key[1]}]: first results differ from one thread's")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run a stress test and print what it saw; exit status 1 on any fault."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--cold", action="store_true", help="race the first calls instead")
    args = parser.parse_args(argv)
    os.environ["REFJAX_BACKEND"] = args.backend
    report = cold(args.threads) if args.cold else stress(args.threads, args.seconds)
    for line in report.wrong[:20] + report.errors[:20]:
        print(line)
    print(f"{report.calls} calls, {len(report.wrong)} wrong, {len(report.errors)} errors")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
