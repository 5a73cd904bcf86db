"""The seed's snippets, run with refjax and with real JAX side by side.

Four snippets: the 10-step loop ``x -= 0.1 * x`` under ``jit`` (its jaxpr and value), ``grad``
of ``x * sin(x)`` at a few points, ``vmap`` of a square, and per-example gradients with
``vmap(grad(loss), in_axes=(None, 0, 0))``. Each runs with refjax and, when JAX is installed,
with JAX on the same inputs, and the script prints both results and whether they agree. Without
JAX (or with ``--no-jax``) it prints an answer computed independently in numpy instead.

Every snippet takes the library as ``lib``: the code JAX runs is the code refjax runs.

    python examples/seed_walkthrough.py --backend numpy
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import sys
from types import ModuleType
from typing import Any, Final

import numpy as np
from example_backend import BACKENDS, backend_error, using_backend
from numpy.typing import NDArray

import refjax

RTOL: Final = 1e-6  # float32 values: refjax and JAX round differently by an ulp or two
ATOL: Final = 1e-6


# ---------------------------------------------------------------------------------------------
# The snippets (each with ``lib`` = refjax or jax) and their numpy answers


def loop(x: Any) -> Any:
    """The seed's loop: ten steps of ``x -= 0.1 * x``."""
    for _ in range(10):
        x -= 0.1 * x
    return x


def jit_loop(x: Any, lib: ModuleType = refjax) -> tuple[str, Any]:
    """The loop's jaxpr (20 equations) and its value under ``jit``."""
    return str(lib.make_jaxpr(loop)(x)), lib.jit(loop)(x)


def numpy_loop(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """The loop in numpy float32, step by step."""
    x = x.copy()
    for _ in range(10):
        x -= np.float32(0.1) * x
    return x


def x_sin_x(x: Any, lib: ModuleType = refjax) -> Any:
    """``x * sin(x)``."""
    return x * lib.numpy.sin(x)


def grad_x_sin_x(points: NDArray[np.float32], lib: ModuleType = refjax) -> tuple[str, Any]:
    """The jaxpr of ``grad(x * sin(x))`` and its value at each point (one call per point)."""
    df = lib.grad(lambda x: x_sin_x(x, lib))
    return str(lib.make_jaxpr(df)(points[0])), np.array([df(p) for p in points])


def numpy_grad_x_sin_x(points: NDArray[np.float32]) -> NDArray[np.float64]:
    """``d/dx x sin(x) = sin(x) + x cos(x)``, in float64."""
    x = points.astype(np.float64)
    return np.sin(x) + x * np.cos(x)


def vmap_square(xs: Any, lib: ModuleType = refjax) -> tuple[str, Any]:
    """The jaxpr of ``vmap`` of a square written for one number, and its value on ``xs``."""
    square = lib.vmap(lambda x: x * x)
    return str(lib.make_jaxpr(square)(xs)), square(xs)


def example_loss(w: Any, x: Any, y: Any, lib: ModuleType = refjax) -> Any:
    """A linear model's squared error on one example: ``(x . w - y)^2``."""
    return (lib.numpy.dot(x, w) - y) ** 2


def per_example_grads(w: Any, xs: Any, ys: Any, lib: ModuleType = refjax) -> Any:
    """Every example's gradient of ``example_loss`` in ``w``: ``vmap(grad(loss))``."""
    loss = lib.grad(lambda w, x, y: example_loss(w, x, y, lib))
    return lib.vmap(loss, in_axes=(None, 0, 0))(w, xs, ys)


def staged_per_example_grads(w: Any, xs: Any, ys: Any, lib: ModuleType = refjax) -> tuple[str, Any]:
    """The jaxpr of the per-example gradients and their value."""
    jaxpr = lib.make_jaxpr(lambda w, x, y: per_example_grads(w, x, y, lib))(w, xs, ys)
    return str(jaxpr), per_example_grads(w, xs, ys, lib)


def numpy_per_example_grads(
    w: NDArray[np.float32], xs: NDArray[np.float32], ys: NDArray[np.float32]
) -> NDArray[np.float64]:
    """By hand: ``2 (x . w - y) x`` for each example, in float64."""
    xs64 = xs.astype(np.float64)
    residual = xs64 @ w.astype(np.float64) - ys
    return 2.0 * residual[:, None] * xs64


# ---------------------------------------------------------------------------------------------
# Running each snippet with refjax, JAX or numpy


def inputs() -> dict[str, NDArray[np.float32]]:
    """The snippets' inputs: fixed float32 arrays, the same for every library."""
    rng = np.random.default_rng(0)
    return {
        "loop": np.linspace(0.0, 1.0, 4, dtype=np.float32),
        "points": np.array([0.0, 0.5, 1.5, 3.0], np.float32),
        "squares": np.arange(5.0, dtype=np.float32),
        "w": np.array([0.5, -1.0, 2.0], np.float32),
        "xs": rng.standard_normal((4, 3)).astype(np.float32),
        "ys": rng.standard_normal(4).astype(np.float32),
    }


def run_all(lib: ModuleType, data: dict[str, NDArray[np.float32]]) -> dict[str, tuple[str, Any]]:
    """Each snippet's jaxpr text and value (a numpy array), computed with ``lib``."""
    jaxpr, value = jit_loop(data["loop"], lib)
    results = {"jit of the 10-step loop": (jaxpr, value)}
    results["grad of x * sin(x)"] = grad_x_sin_x(data["points"], lib)
    results["vmap of square"] = vmap_square(data["squares"], lib)
    results["per-example gradients"] = staged_per_example_grads(
        data["w"], data["xs"], data["ys"], lib
    )
    return {name: (text, np.asarray(v)) for name, (text, v) in results.items()}


# What each printed stage is, for a reader seeing it for the first time (one or two lines).
NARRATION: Final[dict[str, str]] = {
    "jit of the 10-step loop": (
        "jit traces the Python loop once into a jaxpr: the loop is unrolled, one mul and one\n"
        "sub per step; the backend compiles that program and later calls skip Python."),
    "grad of x * sin(x)": (
        "grad = linearize + transpose: the forward values (sin, cos), then the backward pass,\n"
        "which sums the two paths of x with add_any (cos x * x + sin x)."),
    "vmap of square": (
        "vmap runs the function on a batch at once: the traced program has no loop, mul works\n"
        "on the whole batch axis."),
    "per-example gradients": (
        "vmap(grad(loss)): the backward pass of one example's loss, batched; the dot_general\n"
        "with a batch dimension gives one gradient row per example."),
}
CLOSING: Final = (
    "\nEvery stage of a transformation can be printed: refjax.explain(f, *args) or\n"
    "  python -m refjax explain module:function --args 'f32[3]' --transform grad\n"
    "prints the traced, JVP, linearized, backward and batched jaxprs, the fusion plan and the\n"
    "generated kernels; docs/tour/ walks through the source that makes each of them.")


def numpy_answers(data: dict[str, NDArray[np.float32]]) -> dict[str, NDArray[Any]]:
    """The independent answers, in the order of ``run_all``."""
    return {
        "jit of the 10-step loop": numpy_loop(data["loop"]),
        "grad of x * sin(x)": numpy_grad_x_sin_x(data["points"]),
        "vmap of square": data["squares"] ** 2,
        "per-example gradients": numpy_per_example_grads(data["w"], data["xs"], data["ys"]),
    }


def load_jax() -> ModuleType | None:
    """Real JAX if it is installed, else None."""
    try:
        return importlib.import_module("jax")
    except ImportError:
        return None


def agree(a: NDArray[Any], b: NDArray[Any]) -> bool:
    """Same shape and values within float32 rounding."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def side_by_side(left: str, right: str, titles: tuple[str, str]) -> None:
    """Two blocks of text in two columns."""
    lines_l, lines_r = left.splitlines(), right.splitlines()
    width = max(len(line) for line in [titles[0], *lines_l])
    print(f"  {titles[0]:<{width}} | {titles[1]}")
    for a, b in itertools.zip_longest(lines_l, lines_r, fillvalue=""):
        print(f"  {a:<{width}} | {b}")


def show_value(label: str, value: NDArray[Any]) -> None:
    """One result, indented, on as few lines as it takes."""
    text = np.array2string(value, precision=6, suppress_small=True)
    print(f"  {label:<7}" + text.replace("\n", "\n" + " " * 9))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("REFJAX_BACKEND"),
                        help="refjax backend (default: REFJAX_BACKEND, else numpy)")
    parser.add_argument("--no-jax", action="store_true",
                        help="compare with numpy even when JAX is installed")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Every snippet with refjax beside JAX (or numpy); 0 if all agree.

    1 if one does not; 2 if the backend cannot start.
    """
    args = parse_args(argv)
    if (failure := backend_error(args.backend)) is not None:
        print(f"error: {failure}", file=sys.stderr)
        return 2
    jax = None if args.no_jax else load_jax()
    ref_name = f"jax {jax.__version__}" if jax is not None else "numpy"
    data = inputs()
    with using_backend(args.backend):
        print(f"refjax {refjax.__version__} on backend {refjax.default_backend()!r}, "
              f"compared with {ref_name}")
        ours = run_all(refjax, data)
    theirs: dict[str, tuple[str, NDArray[Any]]]
    if jax is not None:
        theirs = run_all(jax, data)
    else:
        theirs = {name: ("", value) for name, value in numpy_answers(data).items()}
    all_agree = True
    for name, (jaxpr, value) in ours.items():
        print(f"\n=== {name} " + "=" * max(0, 70 - len(name)))
        print("\n".join("  " + line for line in NARRATION[name].splitlines()))
        their_jaxpr, their_value = theirs[name]
        if jaxpr and their_jaxpr:
            side_by_side(jaxpr, their_jaxpr, ("refjax", "jax"))
            print(f"  jaxprs identical: {jaxpr == their_jaxpr}")
        elif jaxpr:
            print("\n".join("  " + line for line in jaxpr.splitlines()))
        short = "jax" if jax is not None else "numpy"
        show_value("refjax", value)
        show_value(short, their_value)
        same = agree(value, their_value)
        all_agree &= same
        print(f"  agree: {same}")
    print("\nAll snippets agree." if all_agree else "\nSome snippets DISAGREE.")
    print(CLOSING)
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
