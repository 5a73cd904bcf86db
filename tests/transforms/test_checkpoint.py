"""``checkpoint``/``remat``: the same values as the function itself under every transformation,
the jaxpr structure JAX gives (one ``remat2`` equation; differentiated, it recomputes from the
inputs in the backward pass), static arguments, policies, and real JAX as the oracle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
from refjax import lax
from tests.oracle import jax


def chain(x: Any) -> Any:
    return jnp.sin(jnp.sin(x)) * x


def tree_fn(p: dict[str, Any], x: Any) -> Any:
    h = jnp.tanh(x @ p["w"] + p["b"])
    return {"out": (h**2).sum(), "h": h}


def with_control_flow(x: Any) -> Any:
    y = lax.fori_loop(0, 3, lambda i, c: jnp.cos(c) * 1.5, x)
    return lax.cond(y.sum() > 0, lambda v: v * 2.0, lambda v: -v, y)


X = np.linspace(-1.0, 1.0, 5).astype(np.float32)
P = {"w": np.linspace(-1, 1, 15).reshape(5, 3).astype(np.float32),
     "b": np.float32([0.1, -0.2, 0.3])}

TRANSFORMS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "eager": lambda f: f,
    "jit": refjax.jit,
    "vmap": lambda f: refjax.vmap(f),
    "grad_sum": lambda f: refjax.grad(lambda x: f(x).sum()),
    "jit_grad": lambda f: refjax.jit(refjax.grad(lambda x: f(x).sum())),
    "vmap_grad": lambda f: refjax.vmap(refjax.grad(lambda x: f(x).sum())),
    "jacfwd": refjax.jacfwd,
    "jacrev": refjax.jacrev,
    "hessian_sum": lambda f: refjax.hessian(lambda x: f(x).sum()),
}


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("fn", [chain, with_control_flow], ids=["chain", "control_flow"])
def test_same_values_as_without_checkpoint(fn: Callable[..., Any], name: str) -> None:
    t = TRANSFORMS[name]
    x = X.reshape(5, 1) if name.startswith("vmap") else X
    np.testing.assert_allclose(t(refjax.checkpoint(fn))(x), t(fn)(x), rtol=1e-6, atol=1e-6)


def test_pytrees_nesting_and_policies() -> None:
    inner = refjax.checkpoint(tree_fn, policy=refjax.checkpoint_policies.dots_saveable)
    outer = refjax.remat(lambda p, x: inner(p, x)["out"] * 2.0, prevent_cse=False)
    expected = refjax.grad(lambda p, x: tree_fn(p, x)["out"] * 2.0)(P, X)
    got = refjax.grad(outer)(P, X)
    for k in P:
        np.testing.assert_allclose(got[k], expected[k], rtol=1e-6)
    out = inner(P, X)
    np.testing.assert_allclose(out["h"], tree_fn(P, X)["h"], rtol=1e-6)


def test_static_arguments_are_python_values() -> None:
    def power(x: Any, n: int) -> Any:
        assert isinstance(n, int)  # not traced
        for _ in range(n):
            x = jnp.sin(x)
        return x

    f = refjax.checkpoint(power, static_argnums=1)
    np.testing.assert_allclose(refjax.grad(f)(0.5, 3), refjax.grad(power)(0.5, 3), rtol=1e-6)
    g = refjax.checkpoint(power, static_argnames="n")
    np.testing.assert_allclose(g(0.5, n=2), power(0.5, 2), rtol=1e-6)


def test_backward_pass_recomputes_from_the_inputs() -> None:
    """Differentiated, the checkpoint passes only the function's input (and the cotangent) to
    the backward ``remat2``, which recomputes ``sin x`` instead of reading it."""
    jaxpr = refjax.make_jaxpr(refjax.grad(refjax.checkpoint(lambda x: jnp.sin(jnp.sin(x)))))(1.0)
    remats = [e for e in jaxpr.eqns if e.primitive.name == "remat2"]
    assert len(remats) == 1
    eqn = remats[0]
    assert eqn.params["differentiated"] is True
    assert eqn.invars[0] is jaxpr.jaxpr.invars[0]  # the input itself, not an intermediate
    inner = [e.primitive.name for e in eqn.params["jaxpr"].eqns]
    assert inner.count("sin") == 1 and "cos" in inner


@pytest.mark.parametrize("transform", ["none", "vmap"])
def test_jaxpr_text_is_jaxs(transform: str) -> None:
    def build(m: Any) -> Any:
        f = m.checkpoint(lambda x: m.numpy.sin(m.numpy.sin(x)) * 2.0)
        g = {"none": f, "vmap": m.vmap(f)}[transform]
        return str(m.make_jaxpr(g)(np.ones(3, np.float32)))

    assert build(refjax) == build(jax.load())


def test_grad_jaxpr_equations_are_jaxs() -> None:
    def eqns(m: Any) -> list[str]:
        f = m.checkpoint(lambda x: m.numpy.sin(m.numpy.sin(x)))
        closed = m.make_jaxpr(m.grad(f))(1.0)
        return [e.primitive.name for e in closed.eqns] + [
            e.primitive.name for e in closed.eqns[-1].params["jaxpr"].eqns]

    assert eqns(refjax) == eqns(jax.load())


@pytest.mark.parametrize("fn", [chain, with_control_flow], ids=["chain", "control_flow"])
def test_values_match_jax(fn: Callable[..., Any]) -> None:
    def run(m: Any) -> list[np.ndarray]:
        f = m.checkpoint(lambda x: fn(x) if m is refjax else _as_jax(fn, x))
        g = m.grad(lambda x: f(x).sum())
        return [np.asarray(f(X)), np.asarray(g(X)), np.asarray(m.jit(g)(X))]

    for ours, theirs in zip(run(refjax), run(jax.load()), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=2e-6)


def _as_jax(fn: Callable[..., Any], x: Any) -> Any:
    """``fn`` with JAX's modules in place of refjax's."""
    j = jax.load()
    if fn is chain:
        return j.numpy.sin(j.numpy.sin(x)) * x
    y = j.lax.fori_loop(0, 3, lambda i, c: j.numpy.cos(c) * 1.5, x)
    return j.lax.cond(y.sum() > 0, lambda v: v * 2.0, lambda v: -v, y)


def test_policies_have_jaxs_names() -> None:
    public = {n for n in dir(jax.checkpoint_policies) if not n.startswith("_")}
    assert public == set(refjax.checkpoint_policies.__all__)
