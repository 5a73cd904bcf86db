"""One SGD step of an MLP classifier (784-512-512-10, batch 128, float32), four ways.

Prints, from one run: the step written by hand in numpy (forward and backward), JAX's
``jit(step)``, and refjax's ``jit(step)`` on the numpy backend and on the OpenCL backend, each
with its ratio to JAX and to the hand-written numpy step. Targets (issue 15): OpenCL <= 1.5x JAX;
the numpy backend <= 1.1x hand-written numpy.

Run: ``.venv/bin/python benchmarks/bench_mlp.py [batch] [repeats] [--json PATH]``. Not a test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import Cell, Report, measure, parse_args, with_backend

import refjax
import refjax.numpy as jnp
import refjax.profiler
from refjax.backends.base import device_put

SIZES = (784, 512, 512, 10)
LR = 0.01


def init(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights and biases, scaled as a He initialisation."""
    return [
        ((rng.standard_normal((m, n)) * np.sqrt(2 / m)).astype(np.float32),
         np.zeros(n, np.float32))
        for m, n in itertools.pairwise(SIZES)
    ]


def loss(params: Any, x: Any, y: Any, np_: Any = jnp) -> Any:
    """Mean softmax cross-entropy of the MLP (relu hidden layers) against one-hot ``y``."""
    h = x
    for w, b in params[:-1]:
        h = np_.maximum(h @ w + b, 0.0)
    w, b = params[-1]
    logits = h @ w + b
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np_.log(np_.exp(shifted).sum(axis=1, keepdims=True))
    return -(logp * y).sum() / x.shape[0]


def step(params: Any, x: Any, y: Any) -> Any:
    """Parameters after one SGD step (refjax and JAX share this code)."""
    grads = refjax.grad(loss)(params, x, y)
    return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)]


def numpy_step(params: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray,
               y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same step by hand: forward, softmax cross-entropy gradient, backward."""
    acts, pre = [x], []
    for w, b in params[:-1]:
        z = acts[-1] @ w + b
        pre.append(z)
        acts.append(np.maximum(z, 0.0))
    w, b = params[-1]
    logits = acts[-1] @ w + b
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    g = (e / e.sum(axis=1, keepdims=True) - y) / x.shape[0]
    out = []
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        gw, gb = acts[i].T @ g, g.sum(axis=0)
        if i:
            g = (g @ w.T) * (pre[i - 1] > 0)
        out.append((w - LR * gw, b - LR * gb))
    return out[::-1]


def main() -> None:
    """Measure and print."""
    args = parse_args(__doc__, [("batch", int, 128), ("repeats", int, 20)])
    batch, repeats = args.batch, args.repeats
    rng = np.random.default_rng(0)
    params = init(rng)
    x = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], batch)]

    def placed(backend: str) -> tuple[Any, Any, Any]:
        tree = refjax.tree_util.tree_map(lambda a: device_put(a, backend), (params, x, y))
        return tree[0], tree[1], tree[2]

    jitted = refjax.jit(step)
    on_cl, on_np = placed("opencl"), placed("numpy")

    def run(backend: str, args: tuple[Any, Any, Any]) -> Callable[[], object]:
        return lambda: with_backend(backend, lambda: refjax.block_until_ready(jitted(*args)))

    candidates: dict[str, Callable[[], object]] = {
        "numpy by hand": lambda: numpy_step(params, x, y),
        "refjax jit (numpy backend)": run("numpy", on_np),
        "refjax jit (opencl)": run("opencl", on_cl),
    }
    jax_fn = _jax_step(params, x, y)
    if jax_fn is not None:
        candidates["jax jit"] = jax_fn
    results = measure(candidates, repeats)
    with refjax.profiler.trace_kernels() as log:
        run("opencl", on_cl)()
    report = Report.start("MLP step", f"{'-'.join(map(str, SIZES))}, batch {batch}, float32, "
                          f"one SGD step, best of {repeats} interleaved rounds")
    report.note(f"refjax OpenCL launched {len(log.kernels())} kernels, {len(log.host())} host "
                "steps per call")
    refs = [name for name in ("numpy by hand", "jax jit") if name in results]
    rows: list[list[Cell]] = [[name, ms, *(ms / results[ref] for ref in refs)]
                              for name, ms in results.items()]
    report.table("ms per step (lower is better); ratios are time over time",
                 ["candidate", "ms", *(f"/ {ref}" for ref in refs)], rows)
    if "jax jit" in results:
        report.target("refjax opencl / jax jit",
                      results["refjax jit (opencl)"] / results["jax jit"], "<=", 1.5, "issue 15")
    report.target("refjax numpy backend / numpy by hand",
                  results["refjax jit (numpy backend)"] / results["numpy by hand"], "<=", 1.1,
                  "issue 15")
    expect = numpy_step(params, x, y)
    for got in (with_backend("opencl", lambda: jitted(*on_cl)),
                with_backend("numpy", lambda: jitted(*on_np))):
        for (w, b), (ew, eb) in zip(got, expect, strict=True):
            np.testing.assert_allclose(np.asarray(w), ew, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(np.asarray(b), eb, rtol=1e-4, atol=1e-5)
    report.write(args.json)


def _jax_step(params: Any, x: np.ndarray, y: np.ndarray) -> Callable[[], object] | None:
    try:
        import jax
        import jax.numpy as jjnp
    except ImportError:
        return None

    def jstep(params: Any, x: Any, y: Any) -> Any:
        grads = jax.grad(lambda p: loss(p, x, y, jjnp))(params)
        return [(w - LR * gw, b - LR * gb)
                for (w, b), (gw, gb) in zip(params, grads, strict=True)]

    f = jax.jit(jstep)
    args = jax.device_put((params, x, y))
    return lambda: jax.block_until_ready(f(*args))


if __name__ == "__main__":
    main()
