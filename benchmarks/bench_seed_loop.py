"""The seed's loop on N = 10**7 float32 values: refjax jit on OpenCL against the alternatives.

Prints, from one run: refjax jit on the OpenCL backend, the numpy backend eagerly (op by op),
JAX's jit, and a plain device copy on OpenCL (the memory-bandwidth limit), with ratios. The
candidates run interleaved and each reports its best round, so a busy machine slows all alike.
Target (issue 7): refjax jit at least 2x faster than JAX's jit, and within 2x of the copy.

Run: ``.venv/bin/python benchmarks/bench_seed_loop.py [N] [repeats]``. Not a test.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import refjax
import refjax.profiler
from refjax.backends.base import device_put, get_backend


def loop(x: Any) -> Any:
    """The seed's loop: ten steps of ``x -= 0.1 * x``."""
    for _ in range(10):
        x -= 0.1 * x
    return x


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


def main() -> None:
    """Measure and print."""
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**7
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
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
    print(f"N = {n}, float32, best of {repeats} interleaved rounds")
    kernels = log.kernels()
    moved = sum(k.bytes_read + k.bytes_written for k in kernels)
    print(f"refjax launched {len(kernels)} kernel(s) moving {moved / 1e6:.1f} MB per call")
    for name, ms in results.items():
        print(f"  {name:24s} {ms:8.2f} ms   ({ms / ours:5.2f}x refjax)")
    if "jax jit" in results:
        print(f"refjax vs jax jit: {results['jax jit'] / ours:.2f}x faster (target >= 2x)")
    print(f"refjax vs copy: {ours / results['device copy (opencl)']:.2f}x the copy (target <= 2x)")
    np.testing.assert_allclose(np.asarray(jitted(x_cl)), loop(host), rtol=1e-6)


def with_backend(name: str, fn: Callable[[], object]) -> object:
    """Run ``fn`` with ``REFJAX_BACKEND`` set to ``name``."""
    import os

    old = os.environ.get("REFJAX_BACKEND")
    os.environ["REFJAX_BACKEND"] = name
    try:
        return fn()
    finally:
        if old is None:
            del os.environ["REFJAX_BACKEND"]
        else:
            os.environ["REFJAX_BACKEND"] = old


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
