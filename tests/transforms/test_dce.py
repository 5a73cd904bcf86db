"""Dead-code elimination of jaxprs (``refjax.interp.partial_eval.dce_jaxpr``, JAX's
``pe.dce_jaxpr``), and reverse mode through programs whose dead part JAX prunes before it
transposes: a ``while_loop`` (which has no transpose) feeding only an unused ``scan`` ys or
``cond`` output must not stop ``grad``, as it does not in JAX.

The DCE tests state by hand which equations, inputs and outputs stay; the gradient tests compare
with real JAX.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from refjax import lax
from refjax.interp.core import ClosedJaxpr, Jaxpr, JaxprEqn, eval_jaxpr
from refjax.interp.partial_eval import dce_closed_jaxpr, dce_jaxpr
from tests.oracle import jax

X = np.float32(0.7)
Y = np.linspace(-1.0, 1.0, 4, dtype=np.float32)


def _doubling_while(m: Any, v: Any) -> Any:
    """A while_loop (no transpose rule) whose result depends on ``v``."""
    return m.lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0), (0, v))[1]


def _names(jaxpr: Jaxpr | ClosedJaxpr) -> list[str]:
    return [e.primitive.name for e in jaxpr.eqns]


def _only(jaxpr: Jaxpr, name: str) -> JaxprEqn:
    (eqn,) = [e for e in jaxpr.eqns if e.primitive.name == name]
    return eqn


# ---------------------------------------------------------------------------------------------
# dce_jaxpr itself


def test_dce_scan_drops_unused_ys_computed_by_a_while() -> None:
    def f(x: Any, y: Any) -> Any:
        w = _doubling_while(refjax, y)  # feeds only the scan's ys
        c, _ys = lax.scan(lambda c, _: (c * 2.0, w), x, None, length=3)
        return c

    closed = refjax.make_jaxpr(f)(X, Y)
    assert _names(closed) == ["while", "scan"]
    scan = _only(closed.jaxpr, "scan")
    assert (scan.params["num_consts"], scan.params["num_carry"], len(scan.outvars)) == (1, 1, 2)

    pruned, used_inputs = dce_jaxpr(closed.jaxpr, [True])

    # The while computed only the dropped ys: it goes, and y (read only by it) is unused.
    assert used_inputs == [True, False]
    assert pruned.invars == (closed.jaxpr.invars[0],)
    assert _names(pruned) == ["scan"]
    new_scan = pruned.eqns[0]
    assert new_scan.invars == (closed.jaxpr.invars[0],)  # the carry's init, no const
    assert new_scan.outvars == scan.outvars[:1]  # the final carry, no ys
    assert (new_scan.params["num_consts"], new_scan.params["num_carry"]) == (0, 1)
    assert new_scan.params["length"] == 3
    body: ClosedJaxpr = new_scan.params["jaxpr"]
    assert len(body.jaxpr.invars) == 1 and len(body.jaxpr.outvars) == 1  # c -> c * 2
    assert _names(body) == ["mul"]
    # Same value as before pruning.
    (want,) = eval_jaxpr(closed.jaxpr, closed.consts, X, Y)
    (got,) = eval_jaxpr(pruned, closed.consts, X)
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(got, X * 8.0)


def test_dce_scan_carry_fixpoint() -> None:
    """A carry stays when a kept carry reads it (b feeds a), even if nothing reads its own
    final value; a carry only itself reads (c) goes, with the xs only it reads."""

    def f(a: Any, b: Any, c: Any, xs: Any, zs: Any) -> Any:
        def step(carry: Any, x: Any) -> Any:
            a, b, c = carry
            xi, zi = x
            return (a + b * xi, b * 2.0, rnp.sin(c) + zi), a
        (a, _b, _c), _ys = lax.scan(step, (a, b, c), (xs, zs))
        return a

    closed = refjax.make_jaxpr(f)(X, X, X, Y, Y)
    pruned, used_inputs = dce_jaxpr(closed.jaxpr, [True])
    assert used_inputs == [True, True, False, True, False]
    scan = _only(pruned, "scan")
    assert (scan.params["num_consts"], scan.params["num_carry"]) == (0, 2)
    old_scan = _only(closed.jaxpr, "scan")
    assert scan.outvars == old_scan.outvars[:2]  # final a and b; c and the ys go
    body: ClosedJaxpr = scan.params["jaxpr"]
    assert len(body.jaxpr.invars) == 3  # a, b, xi
    assert len(body.jaxpr.outvars) == 2
    assert "sin" not in _names(body)
    (want,) = eval_jaxpr(closed.jaxpr, closed.consts, X, X, X, Y, Y)
    (got,) = eval_jaxpr(pruned, closed.consts, X, X, Y)
    np.testing.assert_allclose(got, want)


def test_dce_cond_prunes_every_branch_to_the_used_outputs() -> None:
    def f(p: Any, x: Any, y: Any) -> Any:
        def true_fun(x: Any, y: Any) -> Any:
            return x * 2.0, _doubling_while(refjax, y)

        a, _b = lax.cond(p, true_fun, lambda x, y: (rnp.sin(x), y + 1.0), x, y)
        return a

    closed = refjax.make_jaxpr(f)(True, Y, Y)
    pruned, used_inputs = dce_jaxpr(closed.jaxpr, [True])
    assert used_inputs == [True, True, False]
    cond = _only(pruned, "cond")
    assert len(cond.invars) == 2 and len(cond.outvars) == 1  # index, x -> a
    branches: tuple[ClosedJaxpr, ...] = cond.params["branches"]
    assert [_names(b) for b in branches] == [["sin"], ["mul"]]  # no while, no add
    assert all(len(b.jaxpr.invars) == 1 for b in branches)
    for p in (True, False):
        (want,) = eval_jaxpr(closed.jaxpr, closed.consts, p, Y, Y)
        (got,) = eval_jaxpr(pruned, closed.consts, p, Y)
        np.testing.assert_allclose(got, want)


def test_dce_default_rule_and_instantiate() -> None:
    def f(x: Any, y: Any) -> Any:
        _dead = rnp.sin(y)
        return rnp.cos(x), x * 3.0

    closed = refjax.make_jaxpr(f)(Y, Y)
    assert _names(closed) == ["sin", "cos", "mul"]
    pruned, used_inputs = dce_jaxpr(closed.jaxpr, [False, True])
    assert _names(pruned) == ["mul"]
    assert used_inputs == [True, False]
    assert len(pruned.outvars) == 1
    kept, used_inputs = dce_jaxpr(closed.jaxpr, [False, True], instantiate=True)
    assert used_inputs == [True, True] and kept.invars == closed.jaxpr.invars
    assert _names(kept) == ["mul"]


def test_dce_with_nothing_to_remove_returns_the_same_jaxpr() -> None:
    closed = refjax.make_jaxpr(lambda x: lax.scan(lambda c, x: (c * x, c + x), 1.0, x))(Y)
    same, used = dce_jaxpr(closed.jaxpr, True)
    assert same is closed.jaxpr and used == [True]
    same_closed, used = dce_closed_jaxpr(closed, True)
    assert same_closed is closed and used == [True]


# ---------------------------------------------------------------------------------------------
# Reverse mode: the dead while never reaches the transpose (JAX gives a gradient too)


def while_feeds_scan_ys(m: Any) -> Callable[..., Any]:
    """The fuzzer's seed-407 program, reduced: a while result is only a scan's (unused) ys."""

    def f(x: Any, y: Any) -> Any:
        w = _doubling_while(m, y)
        c, _ys = m.lax.scan(lambda c, _: (c, w), x, None, length=2)
        return m.numpy.mean(c)

    return f


def while_in_scan_body_ys(m: Any) -> Callable[..., Any]:
    def f(x: Any, y: Any) -> Any:
        def step(c: Any, yi: Any) -> Any:
            return c * yi + m.numpy.sin(c), _doubling_while(m, yi)

        c, _ys = m.lax.scan(step, x[0], y)
        return c

    return f


def while_in_unused_cond_output(m: Any) -> Callable[..., Any]:
    def f(x: Any, y: Any) -> Any:
        def true_fun(x: Any, y: Any) -> Any:
            return x * 2.0, _doubling_while(m, y)

        a, _b = m.lax.cond(x[0] > 0, true_fun, lambda x, y: (m.numpy.sin(x), y), x, y)
        return m.numpy.sum(a * y)

    return f


PROGRAMS = {
    "while_feeds_scan_ys": while_feeds_scan_ys,
    "while_in_scan_body_ys": while_in_scan_body_ys,
    "while_in_unused_cond_output": while_in_unused_cond_output,
}
WRAPS: dict[str, Callable[[Any, Callable[..., Any]], Callable[..., Any]]] = {
    "grad": lambda m, f: m.grad(f, argnums=(0, 1)),
    "grad_jit": lambda m, f: m.grad(m.jit(f), argnums=(0, 1)),
    "jit_grad": lambda m, f: m.jit(m.grad(f, argnums=(0, 1))),
}


@pytest.mark.parametrize("wrap", sorted(WRAPS))
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_grad_with_a_dead_while_matches_jax(name: str, wrap: str) -> None:
    x = np.array([0.5, -1.25, 2.0], np.float32)
    y = np.array([0.25, 1.5, -0.75], np.float32)
    ours = WRAPS[wrap](refjax, PROGRAMS[name](refjax))(x, y)
    theirs = WRAPS[wrap](jax, PROGRAMS[name](jax))(x, y)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_vjp_aux_computed_by_a_while_matches_jax() -> None:
    """An aux output needs no cotangent: what only it needs is not transposed."""

    def prog(m: Any) -> Callable[..., Any]:
        def f(x: Any) -> Any:
            w = _doubling_while(m, x)
            c, ys = m.lax.scan(lambda c, _: (c * 2.0, w), x, None, length=2)
            return m.numpy.sum(c), ys

        return f

    out, f_vjp, aux = refjax.vjp(prog(refjax), Y, has_aux=True)
    j_out, j_vjp, j_aux = jax.vjp(prog(jax), Y, has_aux=True)
    np.testing.assert_allclose(np.asarray(out), np.asarray(j_out), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(aux), np.asarray(j_aux), rtol=1e-6)
    (g,) = f_vjp(np.float32(1.0))
    (j_g,) = j_vjp(np.float32(1.0))
    np.testing.assert_allclose(np.asarray(g), np.asarray(j_g), rtol=1e-6)


def test_a_live_while_still_raises_jaxs_error() -> None:
    def f(x: Any, y: Any) -> Any:
        w = _doubling_while(refjax, y)
        c, ys = lax.scan(lambda c, _: (c, w), x, None, length=2)
        return rnp.mean(c) + rnp.sum(ys)

    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for"):
        refjax.grad(f, argnums=(0, 1))(Y[:3], Y)
