"""float32 matmul throughput (GFLOP/s): numpy's BLAS, JAX's jit and refjax's jit, in one run.

Cases: square ``a @ b`` at 256, 512 and 1024; at 512 the transposed ``x.T @ g`` (the lhs read
transposed, as in a weight gradient) and ``a @ b.T`` (as in a backward pass); and a batched
8x256x256 @ 8x256x256. Candidates: numpy (BLAS, on all cores and on one), ``jax.jit``, and
``refjax.jit`` on the OpenCL backend (inputs placed there with ``device_put``, each call waited
for) and on the numpy backend.
Prints GFLOP/s and the ratios of refjax OpenCL to numpy (the better of its two thread counts) and
to JAX, and checks every result against a float64 product. Target (issue 15): refjax OpenCL
>= 50% of numpy at 512 and 1024.

Run: ``.venv/bin/python benchmarks/bench_matmul.py [repeats] [--json PATH]``. Not a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import Cell, Report, blas_threads_setter, measure, parse_args, with_backend

import refjax
import refjax.profiler
from refjax.backends.base import device_put

EPS32 = float(np.finfo(np.float32).eps)
SET_BLAS_THREADS = blas_threads_setter()


@dataclass(frozen=True)
class Case:
    """One product: its label, the operand shapes and the function (shared by every library)."""

    label: str
    lhs: tuple[int, ...]
    rhs: tuple[int, ...]
    fn: Callable[[Any, Any], Any]
    flops: int
    k: int  # the length of each sum


def matmul(a: Any, b: Any) -> Any:
    """``a @ b``."""
    return a @ b


def lhs_transposed(x: Any, g: Any) -> Any:
    """``x.T @ g``: the lhs read transposed."""
    return x.T @ g


def rhs_transposed(a: Any, b: Any) -> Any:
    """``a @ b.T``: the rhs read transposed."""
    return a @ b.T


CASES = (
    *(Case(f"{n}^3 a @ b", (n, n), (n, n), matmul, 2 * n**3, n) for n in (256, 512, 1024)),
    Case("512^3 x.T @ g", (512, 512), (512, 512), lhs_transposed, 2 * 512**3, 512),
    Case("512^3 a @ b.T", (512, 512), (512, 512), rhs_transposed, 2 * 512**3, 512),
    Case("8x256^3 batched a @ b", (8, 256, 256), (8, 256, 256), matmul, 2 * 8 * 256**3, 256),
)
TARGET_SIZES = ("512^3 a @ b", "1024^3 a @ b")


def main() -> None:
    """Measure, print, check."""
    args = parse_args(__doc__, [("repeats", int, 10)])
    rng = np.random.default_rng(0)
    report = Report.start("Matmul", f"float32, GFLOP/s, best of {args.repeats} interleaved "
                          "rounds")
    report.note("numpy's OpenBLAS runs on all cores by default, and on a busy machine it can lose "
                "a scheduler time slice per call waiting for a thread; it is also timed on one "
                "thread, and the ratios compare with the better of the two (numpy best).")
    rows: list[list[Cell]] = []
    targets: dict[str, float] = {}
    for case in CASES:
        a = rng.standard_normal(case.lhs).astype(np.float32)
        b = rng.standard_normal(case.rhs).astype(np.float32)
        gflops, kernels = run_case(case, a, b, args.repeats)
        numpy_best = max(v for name, v in gflops.items() if name.startswith("numpy"))
        ours = gflops["refjax opencl"]
        row: list[Cell] = [case.label, *gflops.values(), ours / numpy_best]
        if "jax jit" in gflops:
            row.append(ours / gflops["jax jit"])
        rows.append([*row, gflops["refjax numpy backend"] / numpy_best, kernels])
        if case.label in TARGET_SIZES:
            targets[case.label] = ours / numpy_best
    columns = ["case", *gflops, "opencl / numpy best"]
    if "jax jit" in gflops:
        columns.append("opencl / jax")
    columns += ["numpy backend / numpy best", "opencl kernels"]
    report.table("GFLOP/s (higher is better); ratios are throughput over throughput",
                 columns, rows)
    for label, ratio in targets.items():
        report.target(f"refjax opencl / numpy best at {label}", ratio, ">=", 0.5, "issue 15")
    report.write(args.json)


def run_case(case: Case, a: np.ndarray, b: np.ndarray,
             repeats: int) -> tuple[dict[str, float], int]:
    """GFLOP/s of each candidate on one case (results checked), and refjax's OpenCL kernels."""
    jitted = refjax.jit(case.fn)
    a_cl, b_cl = device_put(a, "opencl"), device_put(b, "opencl")
    a_np, b_np = device_put(a, "numpy"), device_put(b, "numpy")

    def on_opencl() -> Any:
        return with_backend("opencl", lambda: jitted(a_cl, b_cl).block_until_ready())

    def on_numpy() -> Any:
        return with_backend("numpy", lambda: refjax.block_until_ready(jitted(a_np, b_np)))

    candidates: dict[str, Callable[[], object]] = {"numpy": lambda: case.fn(a, b)}
    if SET_BLAS_THREADS is not None:
        candidates["numpy 1 thread"] = lambda: _one_thread(lambda: case.fn(a, b))
    jax_fn = _jax_fn(case.fn, a, b)
    if jax_fn is not None:
        candidates["jax jit"] = jax_fn
    candidates["refjax opencl"] = on_opencl
    candidates["refjax numpy backend"] = on_numpy
    ms = measure(candidates, repeats)

    # float32 sums of k products of unit normals: the rounding error grows at most like k * eps.
    expect = case.fn(a.astype(np.float64), b.astype(np.float64))
    for name, fn in candidates.items():
        np.testing.assert_allclose(np.asarray(fn()), expect, rtol=0, atol=8 * case.k * EPS32,
                                   err_msg=f"{name} on {case.label}")
    with refjax.profiler.trace_kernels() as log:
        on_opencl()
    return {name: case.flops / (t * 1e-3) / 1e9 for name, t in ms.items()}, len(log.kernels())


def _one_thread(fn: Callable[[], object]) -> object:
    assert SET_BLAS_THREADS is not None
    old = SET_BLAS_THREADS(1)
    try:
        return fn()
    finally:
        SET_BLAS_THREADS(old)


def _jax_fn(fn: Callable[[Any, Any], Any], a: np.ndarray,
            b: np.ndarray) -> Callable[[], object] | None:
    try:
        import jax
    except ImportError:
        return None
    f = jax.jit(fn)
    a_j, b_j = jax.device_put(a), jax.device_put(b)
    return lambda: f(a_j, b_j).block_until_ready()


if __name__ == "__main__":
    main()
