"""One training epoch of ``examples/mnist_mlp.py`` (8x8 digits, MLP 64-128-10, SGD), four ways.

Prints, from one run: the epoch written by hand in numpy (forward and backward, the same
batches), and the example's loop (a ``jit(value_and_grad)`` step per batch, the batch gathered
on the host, each loss read back) on real JAX and on refjax's numpy and OpenCL backends, each
with its ratio to JAX and to the hand-written numpy epoch. Every candidate starts from the same
parameters and walks the same permutation; compiling happens in the warm-up, outside the timing.
The epoch is 44 small steps (1438 examples, batch 32), so it measures a step's dispatch more
than its arithmetic.

Run: ``.venv/bin/python benchmarks/bench_mnist_epoch.py [batch] [repeats] [--json PATH]``.
Not a test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import Cell, Report, measure, parse_args, with_backend
from numpy.typing import NDArray

from refjax.backends.base import device_put

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import mnist_mlp  # the example is a script in examples/, not a package
from digits_data import Dataset, load_digits
from mnist_mlp import Config, Framework, Params

F32 = np.float32
HostParams = list[tuple[NDArray[np.float32], NDArray[np.float32]]]


def numpy_epoch(params: HostParams, data: Dataset, order: NDArray[np.int64], batch: int,
                lr: float) -> tuple[HostParams, list[float]]:
    """The example's SGD epoch by hand: forward, softmax cross-entropy gradient, backward."""
    losses = []
    for i in range(len(order) // batch):
        rows = order[i * batch:(i + 1) * batch]
        x, y = data.x_train[rows], data.y_train[rows]
        acts, pre = [x], []
        for w, b in params[:-1]:
            pre.append(acts[-1] @ w + b)
            acts.append(np.maximum(pre[-1], F32(0)))
        w, b = params[-1]
        z = acts[-1] @ w + b
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        losses.append(float(-(shifted[np.arange(batch), y] - np.log(total[:, 0])).mean()))
        g = e / total
        g[np.arange(batch), y] -= 1
        g /= F32(batch)
        new = []
        for j in range(len(params) - 1, -1, -1):
            w, b = params[j]
            gw, gb = acts[j].T @ g, g.sum(axis=0)
            if j:
                g = (g @ w.T) * (pre[j - 1] > 0)
            new.append((w - F32(lr) * gw, b - F32(lr) * gb))
        params = new[::-1]
    return params, losses


def framework_epoch(fw: Framework, config: Config, params: Params, data: Dataset,
                    order: NDArray[np.int64]) -> Callable[[], list[float]]:
    """One epoch of the example's own loop on ``fw``, from ``params`` each time it is called."""
    step = mnist_mlp.make_step(fw, config)
    state = mnist_mlp.init_opt_state(fw, params, config.optimizer)
    return lambda: mnist_mlp.run_epoch(step, params, state, data, order, config.batch_size)[2]


def main() -> None:
    """Measure and print."""
    args = parse_args(__doc__, [("batch", int, 32), ("repeats", int, 10)])
    config = Config(batch_size=args.batch, progress=False)
    data = load_digits()
    sizes = (data.features, *config.hidden, data.num_classes)
    key = mnist_mlp.Framework.from_refjax().random.PRNGKey(config.seed)
    order = np.random.default_rng(config.seed).permutation(len(data.x_train))

    host = [(np.asarray(w), np.asarray(b))
            for w, b in mnist_mlp.init_params(Framework.from_refjax(), key, sizes)]

    def on_refjax(backend: str) -> Callable[[], object]:
        params = [(device_put(w, backend), device_put(b, backend)) for w, b in host]
        epoch = framework_epoch(Framework.from_refjax(), config, params, data, order)
        return lambda: with_backend(backend, epoch)

    candidates: dict[str, Callable[[], object]] = {
        "numpy by hand": lambda: numpy_epoch(host, data, order, config.batch_size,
                                             config.learning_rate),
        "refjax jit (numpy backend)": on_refjax("numpy"),
        "refjax jit (opencl)": on_refjax("opencl"),
    }
    jax_epoch = _jax_epoch(config, host, data, order)
    if jax_epoch is not None:
        candidates["jax jit"] = jax_epoch
    results = measure(candidates, args.repeats)
    steps = len(order) // config.batch_size
    report = Report.start("MNIST-style epoch", f"8x8 digits, MLP {'-'.join(map(str, sizes))}, "
                          f"{steps} SGD steps of batch {config.batch_size}, float32, best of "
                          f"{args.repeats} interleaved rounds")
    refs = [name for name in ("numpy by hand", "jax jit") if name in results]
    rows: list[list[Cell]] = [
        [name, ms, ms / steps * 1e3, steps * config.batch_size / ms * 1e3,
         *(ms / results[ref] for ref in refs)]
        for name, ms in results.items()
    ]
    report.table("ms per epoch (lower is better); ratios are time over time",
                 ["candidate", "ms", "us/step", "examples/s", *(f"/ {ref}" for ref in refs)],
                 rows)
    expected = numpy_epoch(host, data, order, config.batch_size, config.learning_rate)[1]
    for name in ("refjax jit (numpy backend)", "refjax jit (opencl)", "jax jit"):
        if name in candidates:
            losses = candidates[name]()
            np.testing.assert_allclose(np.asarray(losses), expected, rtol=1e-4, err_msg=name)
    report.note("every candidate's losses match the hand-written epoch's (rtol 1e-4)")
    report.write(args.json)


def _jax_epoch(config: Config, host: HostParams, data: Dataset,
               order: NDArray[np.int64]) -> Callable[[], object] | None:
    try:
        fw = Framework.from_jax()
    except ImportError:
        return None
    import jax

    params = [(jax.device_put(w), jax.device_put(b)) for w, b in host]
    return framework_epoch(fw, config, params, data, order)


if __name__ == "__main__":
    main()
