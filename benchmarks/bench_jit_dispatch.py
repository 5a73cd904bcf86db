"""Cache-hit dispatch overhead of a jitted function: refjax vs JAX, measured in one run.

Prints microseconds per call for a small function on a small input (where dispatch, not
arithmetic, dominates), for refjax.jit on the numpy backend, jax.jit, and numpy eager, with
ratios. Not a test: run it with
``.venv/bin/python benchmarks/bench_jit_dispatch.py [repeats] [number] [--json PATH]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import Cell, Report, parse_args


def per_call_us(fn: Callable[[], Any], repeats: int = 5, number: int = 2000) -> float:
    """The best of ``repeats`` timings of ``number`` calls, in microseconds per call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def main() -> None:
    """Run the measurements and print a table."""
    import refjax
    import refjax.numpy as rnp

    args = parse_args(__doc__, [("repeats", int, 5), ("number", int, 2000)])
    x = np.arange(8, dtype=np.float32)

    def f_ref(v: Any) -> Any:
        return rnp.sin(v) * 2.0 + v

    def f_np(v: Any) -> Any:
        return np.sin(v) * np.float32(2.0) + v

    jf = refjax.jit(f_ref)
    xr = refjax.device_put(x)
    calls: dict[str, Callable[[], Any]] = {
        "numpy eager": lambda: f_np(x),
        "refjax eager (3 primitives)": lambda: f_ref(xr),
        "refjax jit, cache hit": lambda: jf(xr),
    }
    try:
        import jax
        import jax.numpy as jnp

        jx = jax.device_put(x)
        jjf = jax.jit(lambda v: jnp.sin(v) * 2.0 + v)
        calls["jax jit, cache hit"] = lambda: jjf(jx).block_until_ready()
    except ImportError:
        pass
    us = {name: per_call_us(fn, args.repeats, args.number) for name, fn in calls.items()}
    refs = [name for name in ("numpy eager", "jax jit, cache hit") if name in us]
    report = Report.start("Jit dispatch", f"sin(x) * 2 + x on 8 float32 values (numpy "
                          f"backend), best of {args.repeats} timings of {args.number} calls")
    rows: list[list[Cell]] = [[name, t, *(t / us[ref] for ref in refs)] for name, t in us.items()]
    report.table("microseconds per call (lower is better); ratios are time over time",
                 ["what", "us/call", *(f"/ {ref}" for ref in refs)], rows)
    report.write(args.json)


if __name__ == "__main__":
    main()
