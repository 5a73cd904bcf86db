"""Per-example gradients and DP-SGD: ``vmap(grad(loss), in_axes=(None, 0, 0))``.

A tiny MLP classifies synthetic points drawn with ``refjax.random``. One ``vmap`` of ``grad``
gives every example's gradient at once; each is clipped to a global L2 norm of ``--clip`` (the
norm over the whole parameter pytree), the clipped gradients are summed, Gaussian noise of
standard deviation ``--noise * --clip`` is added, and the sum is divided by the batch size:
the private gradient of DP-SGD (Abadi et al., 2016). The script prints the per-example norms
before and after clipping, checks the vmapped gradients against a Python loop of ``grad``, and
takes a few DP-SGD steps.

Every function takes the library as ``lib`` (``refjax`` by default): the same program runs with
real JAX (``lib=jax``), which is how the tests compare the two.

    python examples/per_example_grads.py --backend numpy --clip 1.0 --noise 1.1
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
from example_backend import BACKENDS, backend_error, using_backend

import refjax

PyTree = Any  # a pytree of arrays (here: the parameter dict, or a batch of gradients)
Params = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Model and data


def init_params(key: Any, n_features: int, n_hidden: int, lib: ModuleType = refjax) -> Params:
    """A one-hidden-layer MLP's parameters, scaled as LeCun's initialisation."""
    k1, k2 = lib.random.split(key)
    return {
        "w1": lib.random.normal(k1, (n_features, n_hidden)) / np.sqrt(n_features),
        "b1": lib.numpy.zeros(n_hidden),
        "w2": lib.random.normal(k2, (n_hidden,)) / np.sqrt(n_hidden),
        "b2": lib.numpy.zeros(()),
    }


def make_data(key: Any, n: int, n_features: int, lib: ModuleType = refjax) -> tuple[Any, Any]:
    """``n`` Gaussian points labelled 0/1 by a random hyperplane, with 10% of labels flipped."""
    kx, kw, kf = lib.random.split(key, 3)
    xs = lib.random.normal(kx, (n, n_features))
    w_true = lib.random.normal(kw, (n_features,))
    flip = lib.random.uniform(kf, (n,)) < 0.1
    ys = lib.numpy.where(flip, xs @ w_true <= 0, xs @ w_true > 0).astype("float32")
    return xs, ys


def logit(params: Params, x: Any, lib: ModuleType = refjax) -> Any:
    """The MLP's logit for one example ``x``."""
    h = lib.numpy.tanh(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def loss(params: Params, x: Any, y: Any, lib: ModuleType = refjax) -> Any:
    """The logistic loss of one example: ``log(1 + e^z) - y z`` for logit ``z``, label ``y``."""
    z = logit(params, x, lib)
    return lib.numpy.logaddexp(0.0, z) - y * z


def batch_loss(params: Params, xs: Any, ys: Any, lib: ModuleType = refjax) -> Any:
    """The mean loss over a batch."""
    return lib.numpy.mean(lib.vmap(partial(loss, lib=lib), in_axes=(None, 0, 0))(params, xs, ys))


# ---------------------------------------------------------------------------------------------
# Per-example gradients, clipping and noise


def per_example_grads(params: Params, xs: Any, ys: Any, lib: ModuleType = refjax) -> Params:
    """Every example's gradient, stacked on a leading axis: ``vmap(grad(loss))``."""
    grads: Params = lib.vmap(lib.grad(partial(loss, lib=lib)), in_axes=(None, 0, 0))(params, xs, ys)
    return grads


def loop_grads(params: Params, xs: Any, ys: Any, lib: ModuleType = refjax) -> Params:
    """The same gradients from a Python loop of ``grad``, one example at a time (numpy arrays)."""
    grad_one = lib.jit(lib.grad(partial(loss, lib=lib)))
    grads = [grad_one(params, xs[i], ys[i]) for i in range(xs.shape[0])]
    return {name: np.stack([np.asarray(g[name]) for g in grads]) for name in params}


def global_norms(grads: PyTree, lib: ModuleType = refjax) -> Any:
    """Each example's gradient norm over the whole pytree (leaves with a leading batch axis)."""
    leaves = lib.tree_util.tree_leaves(grads)
    squares = [lib.numpy.sum(leaf.reshape(leaf.shape[0], -1) ** 2, axis=1) for leaf in leaves]
    return lib.numpy.sqrt(sum(squares))


def clip_grads(grads: PyTree, clip: float, lib: ModuleType = refjax) -> PyTree:
    """Each example's gradient scaled by ``1 / max(1, norm / clip)``: norms at most ``clip``."""
    scale = 1.0 / lib.numpy.maximum(1.0, global_norms(grads, lib) / clip)

    def scaled(leaf: Any) -> Any:
        return leaf * scale.reshape((-1,) + (1,) * (leaf.ndim - 1))

    return lib.tree_util.tree_map(scaled, grads)


def private_grad(
    grads: PyTree, key: Any, clip: float, noise: float, lib: ModuleType = refjax
) -> PyTree:
    """DP-SGD's gradient: the clipped per-example gradients summed, noised, then averaged."""
    leaves, treedef = lib.tree_util.tree_flatten(clip_grads(grads, clip, lib))
    keys = lib.random.split(key, len(leaves))
    n = leaves[0].shape[0]
    noisy = [
        (leaf.sum(0) + noise * clip * lib.random.normal(k, leaf.shape[1:], leaf.dtype)) / n
        for leaf, k in zip(leaves, keys, strict=True)
    ]
    return lib.tree_util.tree_unflatten(treedef, noisy)


def dp_sgd_step(
    params: Params, key: Any, xs: Any, ys: Any, lr: float, clip: float, noise: float,
    lib: ModuleType = refjax,
) -> tuple[Params, Any]:
    """One DP-SGD step: the parameters moved by ``-lr`` times the private gradient, and the loss."""
    grads = private_grad(per_example_grads(params, xs, ys, lib), key, clip, noise, lib)
    new = lib.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return new, batch_loss(params, xs, ys, lib)


def train(
    params: Params, key: Any, xs: Any, ys: Any, steps: int, lr: float, clip: float,
    noise: float, lib: ModuleType = refjax,
) -> tuple[Params, list[float]]:
    """``steps`` full-batch DP-SGD steps under ``jit``; the parameters and each step's loss."""
    step = lib.jit(partial(dp_sgd_step, lr=lr, clip=clip, noise=noise, lib=lib))
    losses = []
    for k in lib.random.split(key, steps):
        params, value = step(params, k, xs, ys)
        losses.append(float(value))
    return params, losses


def max_difference(a: PyTree, b: PyTree) -> float:
    """The largest absolute difference between two pytrees of arrays with the same structure."""
    return max(
        float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
        for x, y in zip(refjax.tree_util.tree_leaves(a), refjax.tree_util.tree_leaves(b),
                        strict=True)
    )


# ---------------------------------------------------------------------------------------------
# The script


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get("REFJAX_BACKEND"),
                        help="refjax backend (default: REFJAX_BACKEND, else numpy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=32, help="batch size")
    parser.add_argument("--features", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--clip", type=float, default=1.0, help="per-example L2 norm bound")
    parser.add_argument("--noise", type=float, default=1.1, help="noise multiplier")
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=20)
    return parser.parse_args(argv)


def show(label: str, values: Any, shown: int = 8) -> None:
    """Print the first ``shown`` values of a vector, with its maximum."""
    v = np.asarray(values)
    head = np.array2string(v[:shown], precision=3, suppress_small=True)
    print(f"  {label}: {head}{' ...' if v.size > shown else ''}  (max {v.max():.3f})")


def main(argv: list[str] | None = None) -> int:
    """Per-example gradients, their clipping and DP-SGD; 0 if vmap agrees with the loop.

    1 if it does not; 2 if the backend cannot start.
    """
    args = parse_args(argv)
    if (failure := backend_error(args.backend)) is not None:
        print(f"error: {failure}", file=sys.stderr)
        return 2
    with using_backend(args.backend):
        print(f"refjax {refjax.__version__} on backend {refjax.default_backend()!r}")
        k_data, k_init, k_train = refjax.random.split(refjax.random.key(args.seed), 3)
        xs, ys = make_data(k_data, args.examples, args.features)
        params = init_params(k_init, args.features, args.hidden)

        grads = refjax.jit(per_example_grads)(params, xs, ys)
        for name, g in sorted(grads.items()):
            print(f"  {name}: per-example gradients of shape {g.shape}")
        show("norms before clipping", global_norms(grads))
        show(f"norms after clipping to {args.clip}", global_norms(clip_grads(grads, args.clip)))
        err = max_difference(grads, loop_grads(params, xs, ys))
        print(f"  max |vmap(grad) - loop of grad| = {err:.2e}")

        print(f"DP-SGD: clip {args.clip}, noise multiplier {args.noise}, lr {args.lr}")
        params, losses = train(params, k_train, xs, ys, args.steps, args.lr, args.clip, args.noise)
        for i in sorted({0, len(losses) // 2, len(losses) - 1} if losses else set()):
            print(f"  step {i:3d}: loss {losses[i]:.4f}")
        accuracy = float(np.mean((np.asarray(refjax.vmap(logit, (None, 0))(params, xs)) > 0)
                                 == (np.asarray(ys) > 0.5)))
        print(f"  training accuracy after {args.steps} steps: {accuracy:.2f}")
    ok = err < 1e-5
    print("vmap(grad) agrees with the loop of grad." if ok else "vmap(grad) DISAGREES with it.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
