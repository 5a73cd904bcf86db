"""Cache-hit dispatch overhead of a jitted function: refjax vs JAX, measured in one run.

Prints microseconds per call for a small function on a small input (where dispatch, not
arithmetic, dominates), for refjax.jit on the numpy backend, jax.jit, and numpy eager, with
ratios. Not a test: run it with `python benchmarks/bench_jit_dispatch.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


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

    x = np.arange(8, dtype=np.float32)

    def f_ref(v: Any) -> Any:
        return rnp.sin(v) * 2.0 + v

    def f_np(v: Any) -> Any:
        return np.sin(v) * np.float32(2.0) + v

    jf = refjax.jit(f_ref)
    xr = refjax.device_put(x)
    rows = [
        ("numpy eager", per_call_us(lambda: f_np(x))),
        ("refjax eager (3 primitives)", per_call_us(lambda: f_ref(xr))),
        ("refjax jit, cache hit", per_call_us(lambda: jf(xr))),
    ]
    try:
        import jax
        import jax.numpy as jnp

        jx = jax.device_put(x)
        jjf = jax.jit(lambda v: jnp.sin(v) * 2.0 + v)
        rows.append(("jax jit, cache hit", per_call_us(lambda: jjf(jx).block_until_ready())))
    except ImportError:
        pass
    base = dict(rows)
    print(f"{'what':32s} {'us/call':>10s} {'vs numpy':>10s} {'vs jax jit':>11s}")
    for name, us in rows:
        vs_np = us / base["numpy eager"]
        vs_jax = f"{us / base['jax jit, cache hit']:.2f}x" if "jax jit, cache hit" in base else "-"
        print(f"{name:32s} {us:10.2f} {vs_np:9.2f}x {vs_jax:>11s}")


if __name__ == "__main__":
    main()
