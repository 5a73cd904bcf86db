"""The seed's loop on N = 10**7 float32 values: refjax jit on OpenCL against the alternatives.

Prints, from one run: refjax jit on the OpenCL backend, the numpy backend eagerly (op by op),
JAX's jit, and a plain device copy on OpenCL (the memory-bandwidth limit), with ratios. The
candidates run interleaved and each reports its best round, so a busy machine slows all alike.
Target (issue 7): refjax jit at least 2x faster than JAX's jit, and within 2x of the copy.

Run: ``.venv/bin/python benchmarks/bench_seed_loop.py [N] [repeats] [--json PATH]``. Not a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _common import Cell, Report, measure, parse_args, with_backend

import refjax
import refjax.profiler
from refjax.backends.base import device_put, get_backend


def loop(x: Any) -> Any:
    """The seed's loop: ten steps of ``x -= 0.1 * x``."""
    for _ in range(10):
        x -= 0.1 * x
    return x


def main() -> None:
    """Measure and print."""
    args = parse_args(__doc__, [("N", lambda s: int(float(s)), 10**7), ("repeats", int, 20)])
    n, repeats = args.N, args.repeats
    host = np.random.default_rng(0).standard_normal(n).astype(np.float32)

    opencl = get_backend("opencl")
    x_cl = device_put(host, "opencl")
    jitted = refjax.jit(loop)

    def run_opencl() -> None:
        with_backend("opencl", lambda: jitted(x_cl).block_until_ready())

    x_np = device_put(host, "numpy")
    copy_buffer = x_cl.buffer
    queue: Any = getattr(opencl, "queue")  # noqa: B009  # the OpenCL backend's queue

    def copy() -> None:
        copy_buffer.copy(queue=queue)
        queue.finish()

    candidates: dict[str, Callable[[], object]] = {
        "refjax jit (opencl)": run_opencl,
        "numpy eager": lambda: with_backend("numpy", lambda: loop(x_np)),
        "device copy (opencl)": copy,
    }
    jax_fn = _jax_fn(host)
    if jax_fn is not None:
        candidates["jax jit"] = jax_fn
    results = measure(candidates, repeats)
    with refjax.profiler.trace_kernels() as log:
        run_opencl()

    ours = results["refjax jit (opencl)"]
    report = Report.start("Seed loop", f"N = {n}, float32, ten steps of x -= 0.1 * x, best of "
                          f"{repeats} interleaved rounds")
    kernels = log.kernels()
    moved = sum(k.bytes_read + k.bytes_written for k in kernels)
    report.note(f"refjax launched {len(kernels)} kernel(s) moving {moved / 1e6:.1f} MB per call")
    refs = [name for name in ("refjax jit (opencl)", "numpy eager", "jax jit") if name in results]
    rows: list[list[Cell]] = [[name, ms, *(ms / results[ref] for ref in refs)]
                              for name, ms in results.items()]
    report.table("ms per call (lower is better); ratios are time over time",
                 ["candidate", "ms", *(f"/ {ref}" for ref in refs)], rows)
    if "jax jit" in results:
        report.target("jax jit / refjax jit (speed-up)", results["jax jit"] / ours, ">=", 2.0,
                      "issue 7")
    report.target("refjax jit / device copy", ours / results["device copy (opencl)"], "<=", 2.0,
                  "issue 7")
    np.testing.assert_allclose(np.asarray(jitted(x_cl)), loop(host), rtol=1e-6)
    report.write(args.json)


def _jax_fn(host: np.ndarray) -> Callable[[], object] | None:
    try:
        import jax
    except ImportError:
        return None
    x = jax.device_put(host)
    f = jax.jit(loop)
    return lambda: f(x).block_until_ready()


if __name__ == "__main__":
    main()
