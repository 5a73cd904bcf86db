"""What the benchmarks share: interleaved timing, running under a chosen backend, and reports.

Not a benchmark itself; ``benchmarks/bench_*.py`` import it (they run as scripts, so this
directory is on ``sys.path``).

A benchmark builds a :class:`Report`: each table and target it adds is printed at once, and
``Report.write(path)`` saves the same numbers as JSON (every script takes ``--json PATH``), which
``benchmarks/perf_table.py`` turns into ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Cell = str | float | int


def measure(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The best wall time of each candidate in milliseconds.

    Candidates run interleaved, one call each per round, so that a varying load on the machine
    affects all of them alike; each is warmed up first.
    """
    for fn in candidates.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: min(ts) for name, ts in times.items()}


def with_backend(name: str, fn: Callable[[], object]) -> object:
    """Run ``fn`` with ``REFJAX_BACKEND`` set to ``name``."""
    old = os.environ.get("REFJAX_BACKEND")
    os.environ["REFJAX_BACKEND"] = name
    try:
        return fn()
    finally:
        if old is None:
            del os.environ["REFJAX_BACKEND"]
        else:
            os.environ["REFJAX_BACKEND"] = old


def blas_threads_setter() -> Callable[[int], int] | None:
    """Set the thread count of the OpenBLAS numpy uses, returning the old one; None if not found.

    On a busy machine a multi-threaded BLAS can lose a whole scheduler time slice per call waiting
    for its second thread, so the matmul benchmark also times numpy on one thread. (What
    ``threadpoolctl`` does, without the dependency: numpy has loaded the library already.)
    """
    import ctypes

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if "openblas" in line.lower() and line.split()[-1].startswith("/")})
    except OSError:
        return None
    for path in paths:
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return _setter(get, put)
    return None


def _setter(get: Any, put: Any) -> Callable[[int], int]:
    def swap(count: int) -> int:
        old = int(get())
        put(count)
        return old

    return swap


BLAS_TIMEOUT_ENV = "OPENBLAS_THREAD_TIMEOUT"


def quiet_blas() -> None:
    """Run this script again, once, with OpenBLAS's idle threads going to sleep at once.

    After each call OpenBLAS keeps its worker threads spinning for about 2^28 cycles (~0.1 s)
    in case another call comes; on a 2-core machine they then take both cores from whichever
    candidate is timed next (a PoCL kernel ran at half speed right after a numpy matmul).
    ``OPENBLAS_THREAD_TIMEOUT=4`` (2^4 cycles) stops that; it is read when OpenBLAS loads, so the
    process is replaced by a fresh one with it set (unless it is set already). numpy's own
    timings do not change measurably: waking a sleeping thread costs microseconds.
    """
    if os.environ.get(BLAS_TIMEOUT_ENV) is None:
        os.environ[BLAS_TIMEOUT_ENV] = "4"
        os.execv(sys.executable, [sys.executable, *sys.argv])


def parse_args(
    doc: str | None, positionals: Sequence[tuple[str, Callable[[str], Any], Any]]
) -> argparse.Namespace:
    """The command line: optional positionals ``(name, type, default)``, then ``--json PATH``.

    First, :func:`quiet_blas` (every benchmark calls this at the start of ``main``)."""
    quiet_blas()
    summary = (doc or "").strip().splitlines()
    parser = argparse.ArgumentParser(description=summary[0] if summary else None)
    for name, kind, default in positionals:
        parser.add_argument(name, nargs="?", type=kind, default=default,
                            help=f"default: {default}")
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="also write the results, as printed, to PATH as JSON")
    return parser.parse_args()


def fmt(cell: Cell) -> str:
    """A cell as text: floats with three significant digits or so, the rest as they are."""
    if isinstance(cell, float):
        size = abs(cell)
        if size >= 100:
            return f"{cell:.0f}"
        if size >= 10:
            return f"{cell:.1f}"
        if size >= 0.01 or cell == 0:
            return f"{cell:.2f}"
        return f"{cell:.2g}"
    return str(cell)


@dataclass
class Table:
    """Rows of cells under column headers (the first column names the row)."""

    caption: str
    columns: list[str]
    rows: list[list[Cell]]

    def print(self) -> None:
        """Print it aligned, the caption first."""
        text = [[fmt(cell) for cell in row] for row in self.rows]
        lines = [self.columns, *text]
        widths = [max(len(line[i]) for line in lines) for i in range(len(self.columns))]
        print(self.caption)
        for line in lines:
            cells = [c.rjust(w) for c, w in zip(line, widths, strict=True)]
            print("  " + "  ".join([line[0].ljust(widths[0]), *cells[1:]]))


@dataclass
class Target:
    """An issue's target: ``value op bound`` (e.g. a ratio ``<= 1.5``)."""

    what: str
    value: float
    op: Literal["<=", ">="]
    bound: float
    source: str = ""

    @property
    def met(self) -> bool:
        """Whether this run met it."""
        return self.value <= self.bound if self.op == "<=" else self.value >= self.bound

    def line(self) -> str:
        """One line: the value, the target and whether it was met."""
        where = f", {self.source}" if self.source else ""
        return (f"{self.what}: {fmt(self.value)} (target {self.op} {fmt(self.bound)}{where}: "
                f"{'met' if self.met else 'NOT met'})")


@dataclass
class Report:
    """What one benchmark run found: its tables, its targets and notes, printed as they come."""

    title: str
    setup: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, title: str, setup: str) -> Report:
        """A new, empty report, its title and set-up printed."""
        print(f"{title}: {setup}")
        return cls(title, setup)

    @classmethod
    def read(cls, path: str) -> Report:
        """The report ``write`` saved at ``path`` (not printed)."""
        with open(path, encoding="utf-8") as source:
            data = json.load(source)
        return cls(data["title"], data["setup"],
                   [Table(t["caption"], t["columns"], t["rows"]) for t in data["tables"]],
                   [Target(t["what"], t["value"], t["op"], t["bound"], t["source"])
                    for t in data["targets"]],
                   data["notes"])

    def table(self, caption: str, columns: list[str], rows: list[list[Cell]]) -> None:
        """Add a table and print it."""
        added = Table(caption, columns, rows)
        added.print()
        self.tables.append(added)

    def target(self, what: str, value: float, op: Literal["<=", ">="], bound: float,
               source: str = "") -> None:
        """Add a target and print whether it was met."""
        added = Target(what, value, op, bound, source)
        print(added.line())
        self.targets.append(added)

    def note(self, text: str) -> None:
        """Add a line of explanation and print it."""
        print(text)
        self.notes.append(text)

    def write(self, path: str | None) -> None:
        """Save everything as JSON at ``path`` (nothing when ``path`` is None)."""
        if path is None:
            return
        data = asdict(self)
        for target, added in zip(data["targets"], self.targets, strict=True):
            target["met"] = added.met
        with open(path, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
