"""jit: trace caching, retracing rules, composition with other transformations, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
from refjax import lax


def seed_loop(x: Any) -> Any:
    for _ in range(10):
        x -= 0.1 * x
    return x


def test_seed_loop_eager_equals_jit_and_numpy() -> None:
    x = np.linspace(-1.0, 1.0, 7, dtype=np.float32)
    expected = x.copy()
    for _ in range(10):
        expected -= np.float32(0.1) * expected
    np.testing.assert_allclose(seed_loop(jnp.asarray(x)), expected, rtol=1e-6)
    np.testing.assert_allclose(refjax.jit(seed_loop)(x), expected, rtol=1e-6)


def test_seed_loop_jaxpr_has_jaxs_twenty_equations() -> None:
    jax = pytest.importorskip("jax")
    x = np.ones(3, np.float32)
    ours = refjax.make_jaxpr(seed_loop)(x)
    theirs = jax.make_jaxpr(seed_loop)(x)
    assert len(ours.eqns) == len(theirs.eqns) == 20
    assert [e.primitive.name for e in ours.eqns] == [e.primitive.name for e in theirs.eqns]


class TraceCounter:
    """A function that counts how often it is traced (Python side effects run at trace time)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, x: Any, n: int = 1) -> Any:
        self.count += 1
        return x * 2.0 + n


def test_same_signature_traces_once() -> None:
    f = TraceCounter()
    jf = refjax.jit(f)
    x = np.ones(3, np.float32)
    jf(x)
    jf(x)
    jf(x + 1)
    assert f.count == 1


@pytest.mark.parametrize(
    "second",
    [np.ones(4, np.float32), np.ones(3, np.int32), np.ones((3, 1), np.float32)],
    ids=["new-shape", "new-dtype", "new-rank"],
)
def test_new_aval_retraces(second: np.ndarray) -> None:
    f = TraceCounter()
    jf = refjax.jit(f)
    jf(np.ones(3, np.float32))
    jf(second)
    assert f.count == 2


def test_new_static_value_retraces() -> None:
    f = TraceCounter()
    jf = refjax.jit(f, static_argnums=1)
    x = np.ones(3, np.float32)
    np.testing.assert_allclose(jf(x, 1), 3.0)
    np.testing.assert_allclose(jf(x, 2), 4.0)
    jf(x, 2)
    assert f.count == 2


def test_weak_and_strong_scalars_are_separate_entries() -> None:
    f = TraceCounter()
    jf = refjax.jit(f)
    weak = jf(1.0)
    strong = jf(np.float32(1.0))
    assert f.count == 2
    jax = pytest.importorskip("jax")
    jweak = jax.jit(lambda x: x * 2.0 + 1)(1.0)
    jstrong = jax.jit(lambda x: x * 2.0 + 1)(np.float32(1.0))
    assert weak.weak_type == jweak.weak_type
    assert strong.weak_type == jstrong.weak_type


def test_unhashable_static_argument_raises() -> None:
    jf = refjax.jit(lambda x, s: x, static_argnums=1)
    with pytest.raises(ValueError, match="Non-hashable static arguments are not supported"):
        jf(1.0, [1, 2])


def test_non_array_argument_raises() -> None:
    with pytest.raises(TypeError, match="not marked as static"):
        refjax.jit(lambda x: x)("a string")


def test_pytree_inputs_and_outputs() -> None:
    def f(d: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return d["a"] + d["b"], {"c": d["a"] * 2.0}

    d = {"a": np.arange(3.0, dtype=np.float32), "b": np.ones(3, np.float32)}
    out, extra = refjax.jit(f)(d)
    np.testing.assert_allclose(out, d["a"] + d["b"])
    np.testing.assert_allclose(extra["c"], d["a"] * 2)


def test_static_argnames() -> None:
    f = TraceCounter()
    jf = refjax.jit(f, static_argnames="n")
    np.testing.assert_allclose(jf(np.ones(2, np.float32), n=3), 5.0)
    assert f.count == 1


def test_make_jaxpr_shows_the_nested_call() -> None:
    jaxpr = refjax.make_jaxpr(refjax.jit(jnp.sin))(np.ones(3, np.float32))
    assert [e.primitive.name for e in jaxpr.eqns] == ["jit"]
    inner = jaxpr.eqns[0].params["jaxpr"]
    assert [e.primitive.name for e in inner.eqns] == ["sin"]


def f_mixed(x: Any) -> Any:
    return jnp.sin(x) * x + jnp.cos(x * 2.0)


COMPOSITIONS = {
    "jit-grad": lambda m, f: m.jit(m.grad(f)),
    "grad-jit": lambda m, f: m.grad(m.jit(f)),
    "jit-jit-grad": lambda m, f: m.jit(m.jit(m.grad(f))),
    "grad-grad-jit": lambda m, f: m.grad(m.grad(m.jit(f))),
    "jit-vmap-grad": lambda m, f: m.jit(m.vmap(m.grad(f))),
}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_jit_composes_with_grad_and_vmap(name: str) -> None:
    jax = pytest.importorskip("jax")
    import jax.numpy as jjnp

    def jf(x: Any) -> Any:
        return jjnp.sin(x) * x + jjnp.cos(x * 2.0)

    x = np.linspace(0.1, 0.9, 4, dtype=np.float32) if "vmap" in name else np.float32(0.7)
    got = COMPOSITIONS[name](refjax, f_mixed)(x)
    expected = COMPOSITIONS[name](jax, jf)(x)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_vmap_of_jit_equals_loop() -> None:
    xs = np.linspace(0, 1, 5, dtype=np.float32)
    out = refjax.vmap(refjax.jit(f_mixed))(xs)
    loop = np.stack([np.asarray(f_mixed(x)) for x in xs])
    np.testing.assert_allclose(out, loop, rtol=1e-6)


def test_jit_of_vmap_of_grad() -> None:
    xs = np.linspace(0, 1, 5, dtype=np.float32)
    out = refjax.jit(refjax.vmap(refjax.grad(f_mixed)))(xs)
    expected = np.cos(xs) * xs + np.sin(xs) - 2 * np.sin(2 * xs)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_side_effects_happen_at_trace_time_only() -> None:
    log: list[int] = []

    def f(x: Any) -> Any:
        log.append(1)
        return lax.add(x, x)

    jf = refjax.jit(f)
    for _ in range(3):
        jf(np.ones(2, np.float32))
    assert log == [1]


def test_eval_shape_and_shape_dtype_struct() -> None:
    out = refjax.eval_shape(lambda x: (x.sum(), x * 2), np.ones((2, 3), np.float32))
    assert out[0] == refjax.ShapeDtypeStruct((), np.float32)
    assert out[1] == refjax.ShapeDtypeStruct((2, 3), np.float32)


def test_shape_dtype_structs_stand_for_arrays_when_tracing() -> None:
    """make_jaxpr and eval_shape take ShapeDtypeStructs as JAX does: the same text as JAX's."""
    jax = pytest.importorskip("jax")

    def f(x: Any, y: Any) -> Any:
        return (x * 2).sum(0) + y

    spec = [((4, 3), np.float32), ((3,), np.int32)]
    ours = refjax.make_jaxpr(f)(*[refjax.ShapeDtypeStruct(s, t) for s, t in spec])
    theirs = jax.make_jaxpr(f)(*[jax.ShapeDtypeStruct(s, t) for s, t in spec])
    assert str(ours) == str(theirs)
    shape = refjax.eval_shape(f, *[refjax.ShapeDtypeStruct(s, t) for s, t in spec])
    assert shape == refjax.ShapeDtypeStruct((3,), np.float32)


def test_block_until_ready_returns_its_argument() -> None:
    tree = {"a": jnp.ones(3)}
    assert refjax.block_until_ready(tree) is tree
