"""cond/switch, while_loop, fori_loop, scan and map under jvp, grad, vmap and jit, vs JAX."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax
from tests.oracle import jax


def both(
    build: Callable[[Any], Callable[..., Any]],
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The same program written once against a (jax-like) module, for refjax and for jax."""
    return build(refjax), build(jax)


def cond_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        return m.lax.cond(x > 0.5, lambda y: m.numpy.sin(y) * y, lambda y: y * y * 3.0, x)

    return f


def switch_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        idx = m.numpy.int32(m.numpy.floor(x * 3.0))
        return m.lax.switch(idx, [lambda y: y * 2.0, m.numpy.sin, m.numpy.exp], x)

    return f


def scan_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        def step(c: Any, xi: Any) -> tuple[Any, Any]:
            c = c * m.numpy.sin(xi) + xi
            return c, c * 2.0

        c, ys = m.lax.scan(step, x[0], x)
        return c + m.numpy.sum(ys)

    return f


def reverse_scan_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        c, ys = m.lax.scan(lambda c, xi: (c * xi, c + xi), 1.0, x, reverse=True)
        return c + m.numpy.sum(ys * ys)

    return f


def fori_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        return m.numpy.sum(m.lax.fori_loop(0, 4, lambda i, c: c * m.numpy.cos(c) + i, x))

    return f


def while_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        def body(c: Any) -> Any:
            return c[0] + 1, c[1] * 1.5 + m.numpy.sin(c[1])

        return m.lax.while_loop(lambda c: c[0] < 3, body, (0, x))[1]

    return f


def map_prog(m: Any) -> Callable[..., Any]:
    def f(x: Any) -> Any:
        return m.numpy.sum(m.lax.map(lambda r: m.numpy.sin(r) * r, x))

    return f


SCALAR_PROGS = {"cond": cond_prog, "switch": switch_prog, "while": while_prog}
VECTOR_PROGS = {
    "scan": scan_prog,
    "reverse_scan": reverse_scan_prog,
    "fori": fori_prog,
    "map": map_prog,
}
POINTS = [0.2, 0.7, 0.9]
VEC = np.array([0.3, -0.2, 0.8, 0.5], np.float32)


@pytest.mark.parametrize("name", sorted(SCALAR_PROGS))
@pytest.mark.parametrize("x", POINTS)
def test_scalar_programs_eval_jvp_jit(name: str, x: float) -> None:
    ours, theirs = both(SCALAR_PROGS[name])
    xf = np.float32(x)
    np.testing.assert_allclose(ours(xf), theirs(xf), rtol=1e-5)
    np.testing.assert_allclose(refjax.jit(ours)(xf), theirs(xf), rtol=1e-5)
    _, t = refjax.jvp(ours, (xf,), (np.float32(1.0),))
    _, jt = jax.jvp(theirs, (xf,), (np.float32(1.0),))
    np.testing.assert_allclose(t, jt, rtol=1e-5)


@pytest.mark.parametrize("name", ["cond", "switch"])
@pytest.mark.parametrize("x", POINTS)
def test_grad_through_cond(name: str, x: float) -> None:
    ours, theirs = both(SCALAR_PROGS[name])
    np.testing.assert_allclose(
        refjax.grad(ours)(np.float32(x)), jax.grad(theirs)(np.float32(x)), rtol=1e-5
    )


def test_reverse_mode_of_while_raises_jaxs_error() -> None:
    ours, _ = both(while_prog)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for"):
        refjax.grad(ours)(np.float32(0.5))


@pytest.mark.parametrize("name", sorted(SCALAR_PROGS))
def test_vmap_of_scalar_programs_batched_predicate(name: str) -> None:
    ours, theirs = both(SCALAR_PROGS[name])
    xs = np.array(POINTS, np.float32)
    np.testing.assert_allclose(refjax.vmap(ours)(xs), jax.vmap(theirs)(xs), rtol=1e-5)
    loop = np.stack([np.asarray(ours(x)) for x in xs])
    np.testing.assert_allclose(refjax.vmap(ours)(xs), loop, rtol=1e-6)


def test_vmap_cond_unbatched_predicate() -> None:
    def f(p: Any, x: Any) -> Any:
        return lax.cond(p, lambda y: y * 2.0, lambda y: -y, x)

    xs = np.arange(3.0, dtype=np.float32)
    np.testing.assert_allclose(refjax.vmap(f, in_axes=(None, 0))(True, xs), xs * 2)
    jaxpr = refjax.make_jaxpr(refjax.vmap(f, in_axes=(None, 0)))(True, xs)
    assert "cond" in [e.primitive.name for e in jaxpr.eqns]


@pytest.mark.parametrize("name", sorted(VECTOR_PROGS))
def test_vector_programs_against_jax(name: str) -> None:
    ours, theirs = both(VECTOR_PROGS[name])
    np.testing.assert_allclose(ours(VEC), theirs(VEC), rtol=1e-5)
    np.testing.assert_allclose(refjax.jit(ours)(VEC), theirs(VEC), rtol=1e-5)
    np.testing.assert_allclose(refjax.grad(ours)(VEC), jax.grad(theirs)(VEC), rtol=1e-4)
    t = np.ones_like(VEC)
    np.testing.assert_allclose(
        refjax.jvp(ours, (VEC,), (t,))[1], jax.jvp(theirs, (VEC,), (t,))[1], rtol=1e-4
    )
    batch = np.stack([VEC, VEC * 0.5, -VEC])
    np.testing.assert_allclose(refjax.vmap(ours)(batch), jax.vmap(theirs)(batch), rtol=1e-5)
    np.testing.assert_allclose(
        refjax.vmap(refjax.grad(ours))(batch), jax.vmap(jax.grad(theirs))(batch), rtol=1e-4
    )


def test_scan_matches_unrolled_python_loop() -> None:
    xs = np.linspace(-1, 1, 6, dtype=np.float32)

    def step(c: Any, x: Any) -> tuple[Any, Any]:
        return c * 0.9 + x, c * x

    carry, ys = lax.scan(step, np.float32(0.5), xs)
    c, expected = np.float32(0.5), []
    for x in xs:
        expected.append(c * x)
        c = c * np.float32(0.9) + x
    np.testing.assert_allclose(carry, c, rtol=1e-6)
    np.testing.assert_allclose(ys, np.array(expected), rtol=1e-6)


def test_scan_length_without_xs_and_pytree_carry() -> None:
    (a, b), ys = lax.scan(lambda c, _: ((c[0] + 1.0, c[1] * 2.0), c[0]), (0.0, 1.0), None, length=4)
    assert (float(a), float(b)) == (4.0, 16.0)
    np.testing.assert_allclose(ys, [0.0, 1.0, 2.0, 3.0])


def test_scan_carry_type_mismatch_message() -> None:
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        lax.scan(lambda c, x: (np.ones(2, np.float32), x), np.float32(0.0), np.ones(3, np.float32))


def test_scan_different_leading_sizes() -> None:
    with pytest.raises(ValueError, match="scan got values with different leading axis sizes"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.ones(3), np.ones(4)))


def test_while_cond_must_return_bool_scalar() -> None:
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c, np.float32(1.0))


def test_cond_branch_type_mismatch() -> None:
    with pytest.raises(TypeError, match="must have identical types"):
        lax.cond(True, lambda x: x, lambda x: x.astype(np.int32), np.float32(1.0))


def test_cond_pred_must_be_scalar() -> None:
    with pytest.raises(TypeError, match="Pred must be a scalar"):
        lax.cond(np.ones(2, bool), lambda x: x, lambda x: x, 1.0)


def test_fori_loop_with_traced_bounds_uses_while() -> None:
    def f(n: Any) -> Any:
        return lax.fori_loop(0, n, lambda i, c: c + i, 0)

    jaxpr = refjax.make_jaxpr(f)(5)
    assert "while" in [e.primitive.name for e in jaxpr.eqns]
    assert int(refjax.jit(f)(5)) == 10


def test_python_if_on_traced_value_raises() -> None:
    from refjax.errors import TracerBoolConversionError

    def f(x: Any) -> Any:
        return x if x > 0 else -x

    with pytest.raises(TracerBoolConversionError, match="Attempted boolean conversion"):
        refjax.jit(f)(1.0)


@pytest.mark.parametrize("batch_size", [0, 1, 3, 4, 10, 25])
def test_map_with_batch_size(batch_size: int) -> None:
    """lax.map(batch_size=k): a loop's values, JAX's jaxpr text, and grad through it."""
    rng = np.random.default_rng(batch_size)
    xs = {"a": rng.standard_normal((10, 2)).astype(np.float32),
          "b": rng.standard_normal(10).astype(np.float32)}

    def body(m: Any) -> Callable[[Any], Any]:
        return lambda r: (m.numpy.sin(r["a"]) * r["b"], r["b"].sum() * 2)

    got = lax.map(body(refjax), xs, batch_size=batch_size)
    want = [(np.sin(xs["a"][i]) * xs["b"][i], xs["b"][i] * 2) for i in range(10)]
    np.testing.assert_allclose(np.asarray(got[0]), np.stack([w[0] for w in want]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(got[1]), np.stack([w[1] for w in want]), rtol=1e-6)
    ours = refjax.make_jaxpr(lambda x: lax.map(body(refjax), x, batch_size=batch_size))(xs)
    theirs = jax.make_jaxpr(lambda x: jax.lax.map(body(jax), x, batch_size=batch_size))(xs)
    assert str(ours) == str(theirs)
    loss = lambda m, lx: lambda a: m.numpy.sum(  # noqa: E731
        lx.map(lambda r: m.numpy.sin(r) ** 2, a, batch_size=batch_size))
    g = refjax.jit(refjax.grad(loss(refjax, lax)))(xs["a"])
    np.testing.assert_allclose(np.asarray(g), np.sin(2 * xs["a"]), rtol=1e-5, atol=1e-6)
