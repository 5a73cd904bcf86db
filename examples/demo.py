"""The refjax walkthrough (`make demo`): the seed's examples, with results and jaxprs.

Each section prints what a transformation computes and the jaxpr it stages, on the default
backend (``REFJAX_BACKEND`` picks another), and checks the result against plain numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import refjax
import refjax.numpy as jnp


def section(title: str) -> None:
    """Print a section header."""
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def check(name: str, got: Any, expected: Any, tol: float = 1e-5, ref: str = "numpy") -> None:
    """Print a result next to an independent answer (``ref``), and fail loudly on a mismatch."""
    got_np, expected_np = np.asarray(got), np.asarray(expected)
    np.testing.assert_allclose(got_np, expected_np, rtol=tol, atol=tol)
    if got_np.size <= 6:
        print(f"{name}: {got_np}  ({ref}: {expected_np})  ok")
    else:
        err = float(np.max(np.abs(got_np - expected_np)))
        print(f"{name}: shape {got_np.shape}, max |refjax - {ref}| = {err:.2e}  ok")


def grad_of_x_sin_x() -> None:
    """grad of x * sin(x): d/dx = sin(x) + x cos(x)."""
    section("grad of x * sin(x)")

    def f(x: Any) -> Any:
        return x * jnp.sin(x)

    print(refjax.make_jaxpr(f)(1.0))
    print(refjax.make_jaxpr(refjax.grad(f))(1.0))
    x = 1.5
    check("grad(f)(1.5)", refjax.grad(f)(x), np.sin(x) + x * np.cos(x))
    check(
        "grad(grad(f))(1.5)",
        refjax.grad(refjax.grad(f))(x),
        2 * np.cos(x) - x * np.sin(x),
    )


def vmap_of_a_row_function() -> None:
    """vmap of a function written for one row: a normalised dot product."""
    section("vmap of a row function")

    def row_fn(row: Any, w: Any) -> Any:
        return jnp.dot(row, w) / jnp.sum(row * row)

    rows = np.arange(12.0, dtype=np.float32).reshape(4, 3) + 1
    w = np.array([0.5, -1.0, 2.0], np.float32)
    batched = refjax.vmap(row_fn, in_axes=(0, None))
    print(refjax.make_jaxpr(batched)(rows, w))
    expected = rows @ w / (rows * rows).sum(1)
    check("vmap(row_fn)(rows, w)", batched(rows, w), expected)


def jit_of_the_loop() -> None:
    """jit of the 10-step loop: 20 equations, one trace, same values as eager."""
    section("jit of the 10-step loop")
    traces = []

    def f(x: Any) -> Any:
        traces.append(1)
        for _ in range(10):
            x -= 0.1 * x
        return x

    x = np.linspace(0.0, 1.0, 5, dtype=np.float32)
    jaxpr = refjax.make_jaxpr(f)(x)
    print(jaxpr)
    print(f"equations: {len(jaxpr.eqns)}")
    fast = refjax.jit(f)
    traces.clear()
    fast(x)
    fast(x)
    print(f"traces for two calls with the same signature: {len(traces)}")
    check("jit(f)(x)", fast(x), x * 0.9**10)


def per_example_gradients() -> None:
    """Per-example gradients of an MLP loss: vmap(grad(loss), in_axes=(None, 0, 0))."""
    section("per-example gradients")
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.standard_normal((3, 4)).astype(np.float32) * 0.5,
        "b1": np.zeros(4, np.float32),
        "w2": rng.standard_normal((4, 1)).astype(np.float32) * 0.5,
    }
    xs = rng.standard_normal((5, 3)).astype(np.float32)
    ys = rng.standard_normal((5, 1)).astype(np.float32)

    def loss(p: Any, x: Any, y: Any) -> Any:
        h = jnp.tanh(x @ p["w1"] + p["b1"])
        return jnp.sum((h @ p["w2"] - y) ** 2)

    per_example = refjax.jit(refjax.vmap(refjax.grad(loss), in_axes=(None, 0, 0)))
    grads = per_example(params, xs, ys)
    for name, g in sorted(grads.items()):
        print(f"  {name}: per-example gradient shape {g.shape}")
    loop = [refjax.grad(loss)(params, xs[i], ys[i]) for i in range(len(xs))]
    for name in params:
        stacked = np.stack([g[name] for g in loop])
        check(f"vmap(grad) for {name}", grads[name], stacked, 1e-5, ref="loop of grad")
    w1 = params["w1"]
    h = np.tanh(xs @ w1)
    resid = h @ params["w2"] - ys
    dw2 = 2 * h[:, :, None] * resid[:, None, :]
    check("dloss/dw2 by hand", grads["w2"], dw2, 1e-4)


def main() -> None:
    """Run every section."""
    print(f"refjax {refjax.__version__} on backend {refjax.default_backend()!r}")
    grad_of_x_sin_x()
    vmap_of_a_row_function()
    jit_of_the_loop()
    per_example_gradients()
    print("\nAll sections agree with their independent answers.")


if __name__ == "__main__":
    main()
