"""vmap: per-example gradients, nested maps, axes specs, composition, and JAX's errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp


def loss(params: dict[str, Any], x: Any, y: Any) -> Any:
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return jnp.sum((h @ params["w2"] - y) ** 2)


def test_per_example_gradients_equal_a_loop_of_grads() -> None:
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.standard_normal((3, 5)).astype(np.float32),
        "b1": rng.standard_normal(5).astype(np.float32),
        "w2": rng.standard_normal((5, 2)).astype(np.float32),
    }
    xs = rng.standard_normal((7, 3)).astype(np.float32)
    ys = rng.standard_normal((7, 2)).astype(np.float32)
    batched = refjax.vmap(refjax.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
    for i in range(len(xs)):
        single = refjax.grad(loss)(params, xs[i], ys[i])
        for k in params:
            np.testing.assert_allclose(batched[k][i], single[k], rtol=1e-5, atol=1e-6)


def test_nested_vmap_outer_product() -> None:
    a = np.arange(3.0, dtype=np.float32)
    b = np.arange(4.0, dtype=np.float32) + 1
    outer = refjax.vmap(refjax.vmap(lambda x, y: x * y, (None, 0)), (0, None))(a, b)
    np.testing.assert_allclose(outer, np.outer(a, b))


def test_batched_matvec() -> None:
    rng = np.random.default_rng(1)
    m = rng.standard_normal((5, 3, 4)).astype(np.float32)
    v = rng.standard_normal((5, 4)).astype(np.float32)
    out = refjax.vmap(jnp.dot)(m, v)
    np.testing.assert_allclose(out, np.einsum("bij,bj->bi", m, v), rtol=1e-5)


def test_vmap_of_reduction_with_axis_and_out_axes() -> None:
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
    out = refjax.vmap(lambda r: jnp.sum(r, axis=1), in_axes=1, out_axes=1)(x)
    np.testing.assert_allclose(out, np.stack([x[:, i].sum(1) for i in range(3)], axis=1))


def test_in_axes_dict_prefix_and_kwargs() -> None:
    d = {"a": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32)}
    out = refjax.vmap(lambda t, scale=1.0: t["a"] * t["b"] * scale, in_axes=({"a": 0, "b": None},))(
        d, scale=np.full(3, 2.0, np.float32)
    )
    np.testing.assert_allclose(out, np.full((3, 2), 2.0))


def test_negative_in_axes() -> None:
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    out = refjax.vmap(lambda r: r * 2.0, in_axes=-1)(x)
    np.testing.assert_allclose(out, (x * 2).T)


def test_closure_over_batched_value() -> None:
    xs = np.arange(3.0, dtype=np.float32)

    def f(x: Any) -> Any:
        return refjax.vmap(lambda y: x * y)(np.ones(2, np.float32))

    np.testing.assert_allclose(refjax.vmap(f)(xs), np.outer(xs, np.ones(2)))


def test_inconsistent_sizes_message() -> None:
    with pytest.raises(ValueError, match="vmap got inconsistent sizes for array axes to be mapped"):
        refjax.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))


def test_in_axes_out_of_range() -> None:
    with pytest.raises(ValueError, match="vmap was requested to map its argument along axis 2"):
        refjax.vmap(lambda a: a, in_axes=2)(np.ones((3, 2)))


def test_in_axes_structure_mismatch() -> None:
    with pytest.raises(ValueError, match="in_axes"):
        refjax.vmap(lambda a, b: a, in_axes=(0, 0, 0))(np.ones(3), np.ones(3))


def test_no_mapped_inputs_needs_axis_size() -> None:
    with pytest.raises(ValueError, match="axis_size must be specified"):
        refjax.vmap(lambda a: a, in_axes=None)(np.ones(3))
    out = refjax.vmap(lambda a: a, in_axes=None, axis_size=2)(np.ones(3, np.float32))
    assert out.shape == (2, 3)


def test_elementwise_chain_has_no_transpose() -> None:
    jaxpr = refjax.make_jaxpr(
        refjax.vmap(lambda x, y: jnp.sin(x) * y + jnp.exp(x), in_axes=(1, 1), out_axes=1)
    )(np.ones((3, 4), np.float32), np.ones((3, 4), np.float32))
    assert "transpose" not in [e.primitive.name for e in jaxpr.eqns]


def test_vmap_of_jvp_matches_jax() -> None:
    jax = pytest.importorskip("jax")
    xs = np.linspace(0, 1, 4, dtype=np.float32)
    ours = refjax.vmap(lambda x: refjax.jvp(jnp.sin, (x,), (1.0 + x,))[1])(xs)
    theirs = jax.vmap(lambda x: jax.jvp(jax.numpy.sin, (x,), (1.0 + x,))[1])(xs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_grad_of_vmap() -> None:
    xs = np.linspace(0, 1, 4, dtype=np.float32)
    g = refjax.grad(lambda x: jnp.sum(refjax.vmap(jnp.sin)(x)))(xs)
    np.testing.assert_allclose(g, np.cos(xs), rtol=1e-6)


def test_missing_batching_rule_names_primitive(monkeypatch: pytest.MonkeyPatch) -> None:
    from refjax.interp.core import Primitive, abstract_eval_rules

    prim = Primitive("mystery_batch")
    monkeypatch.setitem(abstract_eval_rules, prim, lambda x: x)  # removed afterwards
    with pytest.raises(NotImplementedError, match="Batching rule for 'mystery_batch'"):
        refjax.vmap(lambda x: prim.bind(x))(np.ones(3, np.float32))
