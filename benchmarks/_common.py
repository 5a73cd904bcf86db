"""What the benchmarks share: interleaved timing and running under a chosen backend.

Not a benchmark itself; ``benchmarks/bench_*.py`` import it (they run as scripts, so this
directory is on ``sys.path``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable


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


def table(results: dict[str, float], reference: str, unit: str = "ms") -> None:
    """Print each candidate's time and its ratio to ``reference``."""
    ref = results[reference]
    for name, value in results.items():
        print(f"  {name:34s} {value:9.3f} {unit}   ({value / ref:6.2f}x {reference})")
