"""examples/per_example_grads.py: vmap(grad) against a loop of grad, numpy and real JAX.

The example's functions take the library as ``lib``, so JAX runs the very same program: same
seed, same data (refjax.random's keys and uniform bits are JAX's bit for bit; its normal
samples are within SAMPLER_RTOL, XLA's erf_inv being a few ulp off), same DP-SGD steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import per_example_grads as ex
import pytest

import refjax
from tests.oracle import jax
from tests.tolerances import COMPOSITE, F32, FUZZ_VALUE_RTOL, SAMPLER_ATOL, SAMPLER_RTOL

N, D, H = 8, 3, 4  # examples, features, hidden units: small, the program is what is tested
TOL = COMPOSITE[F32]  # a handful of primitives per gradient entry, each rounded


def setup(lib: Any, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """The example's data, parameters and training key from ``seed``, made with ``lib``."""
    k_data, k_init, k_train = lib.random.split(lib.random.key(seed), 3)
    xs, ys = ex.make_data(k_data, N, D, lib)
    return xs, ys, ex.init_params(k_init, D, H, lib), k_train


def as_numpy(tree: Any) -> dict[str, np.ndarray[Any, Any]]:
    """A parameter-shaped dict of arrays as numpy arrays."""
    return {name: np.asarray(leaf) for name, leaf in tree.items()}


def assert_trees_close(a: Any, b: Any, rtol: float, atol: float) -> None:
    """Two dicts of arrays with the same keys, shapes and values within tolerance."""
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_allclose(np.asarray(a[name]), np.asarray(b[name]), rtol=rtol,
                                   atol=atol, err_msg=name)


def test_same_seed_same_data_as_jax() -> None:
    xs, ys, params, k_train = setup(refjax)
    jxs, jys, jparams, jk_train = setup(jax)
    np.testing.assert_array_equal(refjax.random.key_data(k_train), jax.random.key_data(jk_train))
    np.testing.assert_array_equal(np.asarray(ys), np.asarray(jys))  # uniform bits and signs
    for ours, theirs in [(xs, jxs), *((params[k], jparams[k]) for k in params)]:
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs),
                                   rtol=SAMPLER_RTOL["normal"][F32], atol=SAMPLER_ATOL[F32])


def test_vmap_grad_matches_loop_and_jax(backend: str) -> None:
    xs, ys, params, _ = setup(refjax)
    grads = refjax.jit(ex.per_example_grads)(params, xs, ys)
    assert {k: g.shape for k, g in grads.items()} == {
        "w1": (N, D, H), "b1": (N, H), "w2": (N, H), "b2": (N,)
    }
    assert_trees_close(grads, ex.loop_grads(params, xs, ys), TOL, TOL)
    np_params, np_xs, np_ys = as_numpy(params), np.asarray(xs), np.asarray(ys)
    theirs = ex.per_example_grads(np_params, np_xs, np_ys, lib=jax)
    assert_trees_close(grads, theirs, TOL, TOL)


def test_gradients_by_hand() -> None:
    """The last layer's per-example gradients by hand: (sigmoid(z) - y) h and sigmoid(z) - y."""
    xs, ys, params, _ = setup(refjax)
    p, x, y = as_numpy(params), np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    h = np.tanh(x @ p["w1"] + p["b1"])
    residual = 1.0 / (1.0 + np.exp(-(h @ p["w2"] + p["b2"]))) - y
    grads = ex.per_example_grads(params, xs, ys)
    np.testing.assert_allclose(grads["b2"], residual, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads["w2"], residual[:, None] * h, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("clip", [0.05, 0.5, 100.0])
def test_clipping_against_numpy(clip: float) -> None:
    xs, ys, params, _ = setup(refjax)
    grads = as_numpy(ex.per_example_grads(params, xs, ys))
    flat = np.concatenate([g.reshape(N, -1) for _, g in sorted(grads.items())], axis=1)
    norms = np.linalg.norm(flat.astype(np.float64), axis=1)
    np.testing.assert_allclose(ex.global_norms(grads), norms, rtol=TOL)
    clipped = as_numpy(ex.clip_grads(grads, clip))
    scale = np.minimum(1.0, clip / norms)
    for name, g in grads.items():
        expected = g * scale.reshape((-1,) + (1,) * (g.ndim - 1))
        np.testing.assert_allclose(clipped[name], expected, rtol=TOL, atol=1e-7, err_msg=name)
    after = np.asarray(ex.global_norms(clipped))
    np.testing.assert_allclose(after, np.minimum(norms, clip), rtol=TOL)


def test_private_grad_without_noise_is_the_mean_of_clipped() -> None:
    xs, ys, params, key = setup(refjax)
    grads = ex.per_example_grads(params, xs, ys)
    mean = ex.private_grad(grads, key, clip=0.5, noise=0.0)
    clipped = as_numpy(ex.clip_grads(grads, 0.5))
    assert_trees_close(mean, {k: v.mean(0) for k, v in clipped.items()}, TOL, TOL)


def test_private_grad_matches_jax() -> None:
    """Same per-example gradients, same key: the same noise (up to XLA's erf_inv) and result."""
    xs, ys, params, key = setup(refjax)
    grads = as_numpy(ex.per_example_grads(params, xs, ys))
    ours = ex.private_grad(grads, key, clip=1.0, noise=1.1)
    jkey = jax.random.wrap_key_data(np.asarray(refjax.random.key_data(key)))
    theirs = ex.private_grad(grads, jkey, clip=1.0, noise=1.1, lib=jax)
    assert_trees_close(ours, theirs, SAMPLER_RTOL["normal"][F32], SAMPLER_ATOL[F32])


def test_dp_sgd_training_matches_jax(backend: str) -> None:
    """Four jitted DP-SGD steps from seed 0 in refjax and in JAX: the same losses."""
    xs, ys, params, key = setup(refjax)
    new, losses = ex.train(params, key, xs, ys, steps=4, lr=0.5, clip=1.0, noise=1.1)
    jxs, jys, jparams, jkey = setup(jax)
    jnew, jlosses = ex.train(jparams, jkey, jxs, jys, steps=4, lr=0.5, clip=1.0, noise=1.1,
                             lib=jax)
    np.testing.assert_allclose(losses, jlosses, rtol=FUZZ_VALUE_RTOL)
    assert_trees_close(new, jnew, FUZZ_VALUE_RTOL, SAMPLER_ATOL[F32])


def test_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert ex.main(["--backend", "numpy", "--examples", "8", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "on backend 'numpy'" in out
    assert "norms after clipping to 1.0" in out
    assert "vmap(grad) agrees with the loop of grad." in out
