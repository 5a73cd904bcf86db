"""Reductions over a 4096x4096 float32 array: GB/s read, against a plain OpenCL copy.

Cases: sum over axis 0 (columns), sum over axis 1 (rows), the full sum, a softmax over rows
(``exp(x - max) / sum``) and a layer norm over rows (``(x - mean) / sqrt(var + eps)``).
Candidates: numpy, ``jax.jit`` and ``refjax.jit`` on the OpenCL backend, with a device copy of
the same array on the OpenCL backend's queue measured in the same rounds: the copy reads the
array once, so ``array bytes / copy time`` is the bandwidth a reduction can hope for. Prints GB/s
read (array bytes / time) and ratios, and checks every result against numpy in float64.
Target (issue 15): refjax OpenCL row and column sums >= 70% of the copy's bandwidth.

Run: ``.venv/bin/python benchmarks/bench_reductions.py [n] [repeats] [--json PATH]``. Not a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _common import Cell, Report, measure, parse_args, with_backend

import refjax
import refjax.numpy as jnp
import refjax.profiler
from refjax.backends.base import device_put, get_backend

EPS32 = float(np.finfo(np.float32).eps)


def softmax(x: Any, np_: Any = jnp) -> Any:
    """Softmax over rows."""
    e = np_.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def layer_norm(x: Any, np_: Any = jnp) -> Any:
    """Layer norm over rows, without scale or shift."""
    centred = x - x.mean(axis=1, keepdims=True)
    var = (centred * centred).mean(axis=1, keepdims=True)
    return centred / np_.sqrt(var + 1e-5)


# label -> (function of (x, numpy module), (rtol, atol) for an n x n input). A float32 sum of m
# unit normals has partial sums of size sqrt(m), and a running sum adds a rounding error of that
# size at each of m steps, which add up like a random walk: about eps * m, allowed 4x that.
CASES: dict[str, tuple[Callable[[Any, Any], Any], Callable[[int], tuple[float, float]]]] = {
    "sum axis 0": (lambda x, np_: x.sum(axis=0), lambda n: (0.0, 4 * n * EPS32)),
    "sum axis 1": (lambda x, np_: x.sum(axis=1), lambda n: (0.0, 4 * n * EPS32)),
    "full sum": (lambda x, np_: x.sum(), lambda n: (0.0, 4 * n * n * EPS32)),
    "softmax rows": (softmax, lambda n: (1e-4, 1e-4 / n)),
    "layer norm rows": (layer_norm, lambda n: (1e-4, 1e-5)),
}
TARGETS = ("sum axis 0", "sum axis 1")


def main() -> None:
    """Measure, print, check."""
    args = parse_args(__doc__, [("n", int, 4096), ("repeats", int, 10)])
    n = args.n
    host = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    report = Report.start("Reductions", f"{n}x{n} float32 ({host.nbytes / 2**20:.0f} MiB), "
                          f"GB/s read (array bytes / time), best of {args.repeats} "
                          "interleaved rounds")

    x_cl = device_put(host, "opencl")
    queue: Any = getattr(get_backend("opencl"), "queue")  # noqa: B009  # the OpenCL queue
    buffer: Any = x_cl.buffer

    def copy() -> None:
        buffer.copy(queue=queue)
        queue.finish()

    report.note("The copy is credited with the bytes it reads, like the rest, but also writes as "
                "many, so a reduction that only reads may run faster than the copy.")
    rows: list[list[Cell]] = []
    targets: dict[str, float] = {}
    for label, (fn, tolerance) in CASES.items():
        gbps, kernels = run_case(label, fn, tolerance(n), host, x_cl, copy, args.repeats)
        ours = gbps["refjax opencl"]
        row: list[Cell] = [label, *gbps.values(), ours / gbps["opencl copy"], ours / gbps["numpy"]]
        if "jax jit" in gbps:
            row.append(ours / gbps["jax jit"])
        rows.append([*row, kernels])
        if label in TARGETS:
            targets[label] = ours / gbps["opencl copy"]
    columns = ["case", *gbps, "opencl / copy", "opencl / numpy"]
    if "jax jit" in gbps:
        columns.append("opencl / jax")
    report.table("GB/s read (higher is better); ratios are bandwidth over bandwidth",
                 [*columns, "opencl kernels"], rows)
    for label, ratio in targets.items():
        report.target(f"refjax opencl / copy, {label}", ratio, ">=", 0.7, "issue 15")
    report.write(args.json)


def run_case(label: str, fn: Callable[[Any, Any], Any], tolerance: tuple[float, float],
             host: np.ndarray, x_cl: Any, copy: Callable[[], None],
             repeats: int) -> tuple[dict[str, float], int]:
    """GB/s read by each candidate and the copy (results checked), and refjax's OpenCL kernels."""
    jitted = refjax.jit(lambda x: fn(x, jnp))

    def on_opencl() -> Any:
        return with_backend("opencl", lambda: jitted(x_cl).block_until_ready())

    candidates: dict[str, Callable[[], object]] = {"numpy": lambda: fn(host, np)}
    jax_fn = _jax_fn(fn, host)
    if jax_fn is not None:
        candidates["jax jit"] = jax_fn
    candidates["refjax opencl"] = on_opencl
    candidates["opencl copy"] = copy
    ms = measure(candidates, repeats)

    expect = fn(host.astype(np.float64), np)
    rtol, atol = tolerance
    for name, run in candidates.items():
        if name != "opencl copy":
            np.testing.assert_allclose(np.asarray(run()), expect, rtol=rtol, atol=atol,
                                       err_msg=f"{name} on {label}")
    with refjax.profiler.trace_kernels() as log:
        on_opencl()
    return {name: host.nbytes / (t * 1e-3) / 1e9 for name, t in ms.items()}, len(log.kernels())


def _jax_fn(fn: Callable[[Any, Any], Any], host: np.ndarray) -> Callable[[], object] | None:
    try:
        import jax
        import jax.numpy as jjnp
    except ImportError:
        return None
    f = jax.jit(lambda x: fn(x, jjnp))
    x = jax.device_put(host)
    return lambda: f(x).block_until_ready()


if __name__ == "__main__":
    main()
