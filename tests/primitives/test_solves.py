"""``lax.custom_linear_solve`` (``linear_solve_p``) and ``lax.custom_root`` against real JAX:
values, jvp, grad (through the transposed solve), vjp, vmap (against a loop and JAX), jit,
errors, and the printed jaxpr's structure.

Each case is written once as a function of a lax/numpy pair, so the same code runs on refjax and
on JAX.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from refjax import lax as rlax
from tests.oracle import jax, jnp

TOL = 1e-5
RNG = np.random.RandomState(0)
A = (RNG.randn(3, 3) + 4 * np.eye(3)).astype(np.float32)
SPD = (A @ A.T).astype(np.float32)
B = RNG.randn(3).astype(np.float32)


def ours() -> Any:
    return SimpleNamespace(lax=rlax, np=rnp, api=refjax)


def theirs() -> Any:
    return SimpleNamespace(lax=jax.lax, np=jnp, api=jax)


def close(x: Any, y: Any, tol: float = TOL) -> None:
    for a, b in zip(refjax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(y), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


# Solvers written with each library's ops


def linear_solve(m: Any, symmetric: bool = False, with_transpose: bool = True) -> Any:
    """x = A^{-1} b with an implicitly differentiated dense solve."""
    def fn(a: Any, b: Any) -> Any:
        def matvec(x: Any) -> Any:
            return m.np.dot(a, x)

        def solve(mv: Any, rhs: Any) -> Any:
            return m.np.linalg.solve(a, rhs)

        def tsolve(vm: Any, rhs: Any) -> Any:
            return m.np.linalg.solve(a.T, rhs)

        t = (solve if symmetric else tsolve) if with_transpose else None
        return m.lax.custom_linear_solve(matvec, b, solve, t, symmetric=symmetric)

    return fn


def pytree_solve(m: Any) -> Any:
    """A solve on a pair (two independent diagonal systems), with aux output."""
    def fn(d: Any, b: Any) -> Any:
        def matvec(x: Any) -> Any:
            return (d * x[0], 2.0 * x[1])

        def solve(mv: Any, rhs: Any) -> Any:
            return (rhs[0] / d, rhs[1] / 2.0), m.np.sum(rhs[0])

        out, aux = m.lax.custom_linear_solve(matvec, b, solve, solve, symmetric=True,
                                             has_aux=True)
        return out[0].sum() + out[1].sum() * 3.0 + 0.0 * aux

    return fn


def sqrt_root(m: Any) -> Any:
    """sqrt(a) by Newton's method under custom_root, differentiated implicitly."""
    def fn(a: Any) -> Any:
        def f(x: Any) -> Any:
            return x * x - a

        def solve(f: Any, x0: Any) -> Any:
            return m.lax.fori_loop(0, 25, lambda i, x: x - f(x) / (2 * x), x0)

        return m.lax.custom_root(f, m.np.ones_like(a), solve, lambda g, y: y / g(1.0))

    return fn


def vector_root(m: Any) -> Any:
    """The root of A x - b * c (x depends on A, b and c), solved by a dense solve."""
    def fn(a: Any, b: Any, c: Any) -> Any:
        def f(x: Any) -> Any:
            return m.np.dot(a, x) - b * c

        def solve(f: Any, x0: Any) -> Any:
            return m.np.linalg.solve(a, b * c)

        def tangent_solve(g: Any, y: Any) -> Any:
            return m.np.linalg.solve(m.api.jacfwd(g)(y), y)

        return m.lax.custom_root(f, m.np.zeros_like(b), solve, tangent_solve)

    return fn


# ---------------------------------------------------------------------------------------------
# custom_linear_solve


@pytest.mark.parametrize("symmetric", [False, True])
def test_linear_solve_values_jvp_grad(symmetric: bool) -> None:
    a = SPD if symmetric else A
    fr, fj = linear_solve(ours(), symmetric), linear_solve(theirs(), symmetric)
    close(fr(a, B), fj(a, B))
    close(fr(a, B), np.linalg.solve(a.astype(np.float64), B))
    ta, tb = RNG.randn(3, 3).astype(np.float32), RNG.randn(3).astype(np.float32)
    close(refjax.jvp(fr, (a, B), (ta, tb)), jax.jvp(fj, (a, B), (ta, tb)), 1e-4)
    loss_r = lambda a, b: (fr(a, b) ** 2).sum()  # noqa: E731
    loss_j = lambda a, b: (fj(a, b) ** 2).sum()  # noqa: E731
    close(refjax.grad(loss_r, (0, 1))(a, B), jax.grad(loss_j, (0, 1))(a, B), 1e-4)
    ct = RNG.randn(3).astype(np.float32)
    close(refjax.vjp(fr, a, B)[1](ct), jax.vjp(fj, a, B)[1](ct), 1e-4)
    close(refjax.jit(fr)(a, B), fj(a, B))


def test_linear_solve_second_order() -> None:
    fr, fj = linear_solve(ours()), linear_solve(theirs())
    hr = refjax.hessian(lambda b: fr(A, b).sum() ** 2)(B)
    hj = jax.hessian(lambda b: fj(A, b).sum() ** 2)(B)
    close(hr, hj, 1e-4)


def test_linear_solve_vmap_vs_loop_and_jax() -> None:
    fr, fj = linear_solve(ours()), linear_solve(theirs())
    bs = RNG.randn(4, 3).astype(np.float32)
    as_ = np.stack([A + i * np.eye(3, dtype=np.float32) for i in range(4)])
    for in_axes, args in [((None, 0), (A, bs)), ((0, None), (as_, B)), ((0, 0), (as_, bs)),
                          ((None, 1), (A, bs.T))]:
        got = refjax.vmap(fr, in_axes)(*args)
        close(got, jax.vmap(fj, in_axes)(*args))
        loop = [fr(*(x if ax is None else np.take(x, i, ax)
                     for x, ax in zip(args, in_axes, strict=True))) for i in range(4)]
        close(got, np.stack([np.asarray(v) for v in loop]))
    # vmap of grad: batched transposed solves
    gr = refjax.vmap(refjax.grad(lambda b: fr(A, b).sum()))(bs)
    gj = jax.vmap(jax.grad(lambda b: fj(A, b).sum()))(bs)
    close(gr, gj)


def test_linear_solve_pytree_and_aux() -> None:
    fr, fj = pytree_solve(ours()), pytree_solve(theirs())
    d = np.float32([1.0, 2.0, 4.0])
    b = (B, 2 * B)
    close(fr(d, b), fj(d, b))
    close(refjax.grad(fr, (0, 1))(d, b), jax.grad(fj, (0, 1))(d, b))
    out, aux = rlax.custom_linear_solve(lambda x: x, B, lambda mv, b: (b, {"n": b.sum()}),
                                        has_aux=True)
    close(out, B)
    assert set(aux) == {"n"}
    np.testing.assert_allclose(np.asarray(aux["n"]), B.sum(), rtol=1e-6)


def test_linear_solve_errors() -> None:
    b = np.ones(2, np.float32)
    cases = [
        lambda m: m.lax.custom_linear_solve(lambda x: x[:1], b, lambda mv, b: b),
        lambda m: m.lax.custom_linear_solve(lambda x: (x, x), b, lambda mv, b: b),
        lambda m: m.lax.custom_linear_solve(lambda x: x, b, lambda mv, b: (b, b)),
        lambda m: m.lax.custom_linear_solve(lambda x: x, b, lambda mv, b: b, has_aux=True),
        lambda m: m.api.grad(lambda b: m.lax.custom_linear_solve(
            lambda x: x, b, lambda mv, b: b).sum())(b),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs_err:
            case(theirs())
        with pytest.raises(theirs_err.type) as ours_err:
            case(ours())
        assert str(ours_err.value) == str(theirs_err.value)


def test_linear_solve_jaxpr_structure() -> None:
    def f(m: Any) -> Any:
        return lambda a, b: m.lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, b: b / 2,
                                                      lambda mv, b: mv(b))

    ours_jaxpr = refjax.make_jaxpr(f(ours()))(A, B)
    theirs_jaxpr = jax.make_jaxpr(f(theirs()))(A, B)
    assert [e.primitive.name for e in ours_jaxpr.eqns] == [
        e.primitive.name for e in theirs_jaxpr.eqns] == ["custom_linear_solve"]
    eqn, jeqn = ours_jaxpr.eqns[0], theirs_jaxpr.eqns[0]
    assert tuple(eqn.params["const_lengths"]) == tuple(jeqn.params["const_lengths"])
    for ours_j, theirs_j in zip(eqn.params["jaxprs"], jeqn.params["jaxprs"], strict=True):
        assert [e.primitive.name for e in ours_j.eqns] == [
            e.primitive.name for e in theirs_j.eqns]
    text = str(ours_jaxpr)
    assert "const_lengths=_LinearSolveTuple(matvec=1, vecmat=1, solve=0, transpose_solve=1)" \
        in text
    for field in ("matvec={", "vecmat={", "solve={", "transpose_solve={"):
        assert field in text
    # grad shows the transposed solve: a second custom_linear_solve on the cotangent
    grad_jaxpr = refjax.make_jaxpr(refjax.grad(lambda b: f(ours())(A, b).sum()))(B)
    names = [e.primitive.name for e in grad_jaxpr.eqns]
    assert names.count("custom_linear_solve") == 2


# ---------------------------------------------------------------------------------------------
# custom_root


def test_custom_root_scalar() -> None:
    fr, fj = sqrt_root(ours()), sqrt_root(theirs())
    a = np.float32(2.0)
    close(fr(a), fj(a))
    close(refjax.grad(fr)(a), jax.grad(fj)(a))
    close(refjax.grad(fr)(a), 0.5 / np.sqrt(2.0))
    close(refjax.jvp(fr, (a,), (np.float32(1.0),)), jax.jvp(fj, (a,), (np.float32(1.0),)))
    xs = np.float32([1.0, 2.0, 9.0])
    close(refjax.vmap(fr)(xs), np.sqrt(xs))
    close(refjax.vmap(refjax.grad(fr))(xs), jax.vmap(jax.grad(fj))(xs))
    close(refjax.jit(refjax.grad(fr))(a), jax.grad(fj)(a))


def test_custom_root_vector() -> None:
    fr, fj = vector_root(ours()), vector_root(theirs())
    c = np.float32(1.5)
    close(fr(A, B, c), fj(A, B, c))
    loss_r = lambda a, b, c: (fr(a, b, c) ** 2).sum()  # noqa: E731
    loss_j = lambda a, b, c: (fj(a, b, c) ** 2).sum()  # noqa: E731
    close(refjax.grad(loss_r, (0, 1, 2))(A, B, c), jax.grad(loss_j, (0, 1, 2))(A, B, c), 1e-4)


def test_custom_root_has_aux_and_errors() -> None:
    def solve(f: Any, x0: Any) -> Any:
        return x0 * 0 + 3.0, {"iters": 7}

    x, aux = rlax.custom_root(lambda x: x - 3.0, 1.0, solve, lambda g, y: y, has_aux=True)
    close(x, 3.0)
    assert int(aux["iters"]) == 7
    cases = [
        lambda m: m.lax.custom_root(lambda x: x, 1.0, lambda f, x: (x, x), lambda g, y: y),
        lambda m: m.lax.custom_root(lambda x: (x, x), 1.0, lambda f, x: x, lambda g, y: y),
    ]
    for case in cases:
        with pytest.raises(Exception) as theirs_err:
            case(theirs())
        with pytest.raises(theirs_err.type) as ours_err:
            case(ours())
        assert str(ours_err.value) == str(theirs_err.value)


def test_custom_root_jaxpr_structure() -> None:
    a = np.float32(2.0)
    ours_names = [e.primitive.name for e in refjax.make_jaxpr(sqrt_root(ours()))(a).eqns]
    theirs_names = [e.primitive.name for e in jax.make_jaxpr(sqrt_root(theirs()))(a).eqns]
    assert ours_names[-1] == theirs_names[-1] == "custom_jvp_call"
