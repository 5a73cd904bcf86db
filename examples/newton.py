"""Newton's method with ``refjax.hessian`` and ``refjax.numpy.linalg.solve``, in float64.

Each step solves ``H(w) d = g(w)`` for the Newton direction and moves to ``w - d``. Near the
minimiser the gradient norm roughly squares from one step to the next (quadratic convergence):
the script prints each iterate's loss, gradient norm and ``|g_k+1| / |g_k|^2``, which settles to
a constant. Two problems:

- ``logistic`` (default): an L2-regularised logistic regression on data from ``refjax.random``,
  its minimiser checked against ``scipy.optimize.minimize`` on the same loss written in numpy;
- ``rosenbrock``: the Rosenbrock function from ``--start``, checked against its minimiser
  ``(1, ..., 1)`` in closed form.

64-bit mode (``jax_enable_x64``) is switched on for the run and restored afterwards. Every
function takes the library as ``lib`` (``refjax`` by default), so the tests run the same program
with real JAX.

    python examples/newton.py --backend numpy --problem logistic
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import Any, Final

import numpy as np
import scipy.optimize  # type: ignore[import-untyped]  # SciPy ships no type stubs
from example_backend import BACKENDS, backend_error, using_backend
from numpy.typing import NDArray

import refjax

PROBLEMS: Final = ("logistic", "rosenbrock")


@dataclass(frozen=True, slots=True)
class Iterate:
    """One Newton iterate: its loss and gradient norm."""

    loss: float
    grad_norm: float


@contextlib.contextmanager
def x64(lib: ModuleType = refjax) -> Iterator[None]:
    """``jax_enable_x64`` on in ``lib`` for the block, then set back to what it was."""
    old = bool(lib.config.jax_enable_x64)
    lib.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        lib.config.update("jax_enable_x64", old)


# ---------------------------------------------------------------------------------------------
# The problems


def make_data(
    key: Any, n: int, d: int, lib: ModuleType = refjax
) -> tuple[Any, Any]:
    """``n`` points in ``d`` dimensions with 0/1 labels drawn from a logistic model."""
    kx, kw, ky = lib.random.split(key, 3)
    xs = lib.random.normal(kx, (n, d), "float64")
    w_true = lib.random.normal(kw, (d,), "float64")
    p = 1.0 / (1.0 + lib.numpy.exp(-(xs @ w_true)))
    ys = (lib.random.uniform(ky, (n,), "float64") < p).astype("float64")
    return xs, ys


def logistic_loss(w: Any, xs: Any, ys: Any, lam: float, lib: ModuleType = refjax) -> Any:
    """The mean logistic loss plus ``lam / 2 |w|^2``: smooth and strictly convex."""
    z = xs @ w
    return lib.numpy.mean(lib.numpy.logaddexp(0.0, z) - ys * z) + 0.5 * lam * w @ w


def rosenbrock(w: Any, lib: ModuleType = refjax) -> Any:
    """``sum 100 (w[i+1] - w[i]^2)^2 + (1 - w[i])^2``, smallest (zero) at ``(1, ..., 1)``."""
    return lib.numpy.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1.0 - w[:-1]) ** 2)


def numpy_logistic(
    w: NDArray[np.float64], xs: NDArray[np.float64], ys: NDArray[np.float64], lam: float
) -> tuple[float, NDArray[np.float64]]:
    """The logistic loss and its gradient written in numpy (the independent answer)."""
    z = xs @ w
    value = np.mean(np.logaddexp(0.0, z) - ys * z) + 0.5 * lam * w @ w
    grad = xs.T @ (1.0 / (1.0 + np.exp(-z)) - ys) / len(ys) + lam * w
    return float(value), grad


def scipy_minimiser(xs: Any, ys: Any, lam: float, w0: Any) -> NDArray[np.float64]:
    """The logistic loss's minimiser found by SciPy's BFGS on the numpy loss."""
    args = (np.asarray(xs), np.asarray(ys), lam)
    result = scipy.optimize.minimize(numpy_logistic, np.asarray(w0, np.float64), args=args,
                                     jac=True, method="BFGS", options={"gtol": 1e-12})
    x: NDArray[np.float64] = result.x
    return x


# ---------------------------------------------------------------------------------------------
# Newton's method


def newton_step(f: Callable[[Any], Any], w: Any, lib: ModuleType = refjax) -> tuple[Any, Any, Any]:
    """``w - H^-1 g`` for ``f``'s gradient ``g`` and hessian ``H`` at ``w``; ``f(w)``, ``|g|``."""
    value, g = lib.value_and_grad(f)(w)
    h = lib.hessian(f)(w)
    return w - lib.numpy.linalg.solve(h, g), value, lib.numpy.linalg.norm(g)


def newton(
    f: Callable[[Any], Any], w0: Any, tol: float = 1e-10, max_iter: int = 30,
    lib: ModuleType = refjax,
) -> tuple[Any, list[Iterate]]:
    """Newton's method from ``w0`` until the gradient norm is below ``tol``; the iterates."""
    step = lib.jit(partial(newton_step, f, lib=lib))
    w, history = w0, []
    for _ in range(max_iter):
        w_next, value, grad_norm = step(w)
        history.append(Iterate(float(value), float(grad_norm)))
        if history[-1].grad_norm < tol:
            return w, history
        w = w_next
    return w, history


def print_history(history: list[Iterate]) -> None:
    """Each iterate's loss, gradient norm and ``|g_k+1| / |g_k|^2``."""
    print(f"  {'k':>3}  {'loss':>22}  {'|grad|':>10}  {'|g_k+1|/|g_k|^2':>16}")
    for k, it in enumerate(history):
        prev = history[k - 1].grad_norm if k else 0.0
        ratio = " " * 16
        if k and prev > 0 and it.grad_norm > 0:
            ratio = f"{it.grad_norm / prev**2:16.3g}"
        print(f"  {k:3d}  {it.loss:22.16g}  {it.grad_norm:10.3e}  {ratio}")


# ---------------------------------------------------------------------------------------------
# The script


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("REFJAX_BACKEND"),
                        help="refjax backend (default: REFJAX_BACKEND, else numpy)")
    parser.add_argument("--problem", choices=PROBLEMS, default="logistic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--features", type=int, default=5)
    parser.add_argument("--lam", type=float, default=1e-2, help="L2 regularisation")
    parser.add_argument("--start", type=float, nargs="+", default=[-1.2, 1.0],
                        help="rosenbrock's starting point")
    parser.add_argument("--tol", type=float, default=1e-10, help="gradient norm to stop at")
    return parser.parse_args(argv)


def run_logistic(args: argparse.Namespace) -> float:
    """Newton on the logistic loss; the distance to SciPy's minimiser."""
    xs, ys = make_data(refjax.random.key(args.seed), args.examples, args.features)
    w0 = refjax.numpy.zeros(args.features, "float64")
    w, history = newton(partial(logistic_loss, xs=xs, ys=ys, lam=args.lam), w0, args.tol)
    print_history(history)
    expected = scipy_minimiser(xs, ys, args.lam, w0)
    err = float(np.max(np.abs(np.asarray(w) - expected)))
    print(f"  minimiser: {np.array2string(np.asarray(w), precision=6)}")
    print(f"  scipy    : {np.array2string(expected, precision=6)}  (max difference {err:.1e})")
    return err


def run_rosenbrock(args: argparse.Namespace) -> float:
    """Newton on the Rosenbrock function; the distance to its minimiser (1, ..., 1)."""
    w0 = refjax.numpy.asarray(args.start, "float64")
    w, history = newton(rosenbrock, w0, args.tol)
    print_history(history)
    err = float(np.max(np.abs(np.asarray(w) - 1.0)))
    print(f"  minimiser: {np.array2string(np.asarray(w), precision=12)}  "
          f"(closed form: all ones; max difference {err:.1e})")
    return err


def main(argv: list[str] | None = None) -> int:
    """Newton's method on the chosen problem; 0 if it reaches the independent minimiser.

    1 if it does not; 2 if the backend cannot start.
    """
    args = parse_args(argv)
    if (failure := backend_error(args.backend)) is not None:
        print(f"error: {failure}", file=sys.stderr)
        return 2
    with using_backend(args.backend), x64():
        print(f"refjax {refjax.__version__} on backend {refjax.default_backend()!r}, float64")
        print(f"Newton's method on the {args.problem} problem")
        err = run_logistic(args) if args.problem == "logistic" else run_rosenbrock(args)
    ok = err < 1e-6
    print("The minimiser agrees with the independent answer." if ok else "MISMATCH.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
