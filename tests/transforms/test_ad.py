"""Autodiff programs under transformation stacks, compared with real JAX and numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
from refjax.test_util import check_grads
from tests.oracle import jax
from tests.oracle import jnp as jjnp


def x_sin_x(m: Any, x: Any) -> Any:
    return x * m.numpy.sin(x) if m is refjax else x * jjnp.sin(x)


def test_grad_of_x_sin_x_matches_formula() -> None:
    x = 1.3
    g = refjax.grad(lambda x: x * jnp.sin(x))(x)
    np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-6)


def test_grad_grad_matches_jax() -> None:
    f = lambda x: x * jnp.sin(x)  # noqa: E731
    jf = lambda x: x * jjnp.sin(x)  # noqa: E731
    for x in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(
            refjax.grad(refjax.grad(f))(x), jax.grad(jax.grad(jf))(x), rtol=1e-5
        )


def test_grad_make_jaxpr_equations_match_jax() -> None:
    ours = refjax.make_jaxpr(refjax.grad(lambda x: x * jnp.sin(x)))(1.0)
    theirs = jax.make_jaxpr(jax.grad(lambda x: x * jjnp.sin(x)))(1.0)
    assert sorted(e.primitive.name for e in ours.eqns) == sorted(
        e.primitive.name for e in theirs.eqns
    )


def test_perturbation_confusion() -> None:
    def f(x: Any) -> Any:
        return x * refjax.grad(lambda y: x * y)(2.0)

    assert float(refjax.grad(f)(3.0)) == 6.0


def quad(a: Any, x: Any) -> Any:
    return jnp.dot(x, jnp.dot(a, x))


def test_hessian_of_quadratic_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3)).astype(np.float32)
    x = rng.standard_normal(3).astype(np.float32)
    h = refjax.hessian(quad, argnums=1)(a, x)
    np.testing.assert_allclose(h, a + a.T, rtol=1e-5, atol=1e-5)


def test_jacfwd_equals_jacrev_equals_jax() -> None:
    def f(x: Any) -> Any:
        return jnp.sin(x) * jnp.sum(x * x)

    def jf(x: Any) -> Any:
        return jjnp.sin(x) * jjnp.sum(x * x)

    x = np.array([0.1, 0.5, -0.7], np.float32)
    fwd = refjax.jacfwd(f)(x)
    rev = refjax.jacrev(f)(x)
    np.testing.assert_allclose(fwd, rev, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fwd, jax.jacfwd(jf)(x), rtol=1e-5, atol=1e-6)


def mlp_loss(m: Any, params: dict[str, Any], x: Any, y: Any) -> Any:
    np_ = m.numpy
    h = np_.tanh(x @ params["w1"] + params["b1"])
    out = h @ params["w2"] + params["b2"]
    return np_.mean((out - y) ** 2)


def _mlp_data() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    params = {
        "w1": rng.standard_normal((4, 8)).astype(np.float32) * 0.3,
        "b1": rng.standard_normal(8).astype(np.float32) * 0.1,
        "w2": rng.standard_normal((8, 2)).astype(np.float32) * 0.3,
        "b2": np.zeros(2, np.float32),
    }
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    return params, x, y


def test_grad_of_mlp_loss_over_dict_matches_jax() -> None:
    params, x, y = _mlp_data()
    ours = refjax.grad(lambda p: mlp_loss(refjax, p, x, y))(params)
    theirs = jax.grad(lambda p: mlp_loss(jax, p, x, y))(params)
    assert sorted(ours) == sorted(theirs)
    for k in params:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-4, atol=1e-6)


def test_linearize_then_apply_equals_jvp() -> None:
    def f(x: Any) -> Any:
        return jnp.sin(x) * jnp.exp(x)

    x, t = np.float32(0.4), np.float32(1.5)
    out, f_jvp = refjax.linearize(f, x)
    _, tangent = refjax.jvp(f, (x,), (t,))
    np.testing.assert_allclose(f_jvp(t), tangent, rtol=1e-6)
    np.testing.assert_allclose(out, np.sin(x) * np.exp(x), rtol=1e-6)


def test_check_grads_on_a_program_float64(x64: None) -> None:
    def f(x: Any, y: Any) -> Any:
        return jnp.sum(jnp.tanh(x) * y + jnp.sin(x * y))

    rng = np.random.default_rng(2)
    check_grads(f, (rng.standard_normal(3), rng.standard_normal(3)), order=2)


def test_value_and_grad_with_aux_and_argnums() -> None:
    def f(x: Any, y: Any) -> Any:
        return x * y * 2.0, {"aux": x + y}

    (value, aux), (gx, gy) = refjax.value_and_grad(f, argnums=(0, 1), has_aux=True)(3.0, 4.0)
    assert float(value) == 24.0 and float(aux["aux"]) == 7.0
    assert (float(gx), float(gy)) == (8.0, 6.0)


def test_grad_non_scalar_output_raises() -> None:
    with pytest.raises(TypeError, match="Gradient only defined for scalar-output functions"):
        refjax.grad(lambda x: x * 2.0)(np.ones(3, np.float32))


def test_grad_integer_input_raises() -> None:
    with pytest.raises(TypeError, match="grad requires real- or complex-valued inputs"):
        refjax.grad(lambda x: x * 2)(3)


def test_grad_allow_int_gives_float0() -> None:
    g = refjax.grad(lambda x, y: x * y, argnums=(0, 1), allow_int=True)(2.0, 3)
    assert g[1].dtype == refjax.dtypes.float0


def test_missing_jvp_rule_names_primitive(monkeypatch: pytest.MonkeyPatch) -> None:
    from refjax.interp.core import Primitive, abstract_eval_rules

    prim = Primitive("mystery")
    monkeypatch.setitem(abstract_eval_rules, prim, lambda x: x)  # removed afterwards
    with pytest.raises(NotImplementedError, match="Differentiation rule for 'mystery'"):
        refjax.grad(lambda x: prim.bind(x))(1.0)


def test_double_where_gives_finite_gradient() -> None:
    def f(x: Any) -> Any:
        safe = jnp.where(x > 0, x, 1.0)
        return jnp.where(x > 0, jnp.sqrt(safe), 0.0)

    g = refjax.grad(f)(0.0)
    assert np.isfinite(g) and float(g) == 0.0


def test_custom_jvp_and_vjp_compose_with_jit_and_vmap() -> None:
    @refjax.custom_jvp
    def softplus(x: Any) -> Any:
        return jnp.log1p(jnp.exp(x))

    @softplus.defjvp
    def _(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1 + jnp.exp(-x))

    xs = np.linspace(-2, 2, 5, dtype=np.float32)
    g = refjax.jit(refjax.vmap(refjax.grad(softplus)))(xs)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-xs)), rtol=1e-5)

    @refjax.custom_vjp
    def clip_grad(x: Any) -> Any:
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1.0, 1.0),))
    out = refjax.grad(lambda x: jnp.sum(clip_grad(x) * 5.0))(np.ones(3, np.float32))
    np.testing.assert_allclose(out, np.ones(3))


@pytest.mark.parametrize("second", ["rule", "none"])
def test_custom_jvp_defjvps_sums_its_rules_as_jax(second: str) -> None:
    def results(m: Any) -> list[Any]:
        f = m.custom_jvp(lambda x, y: x * m.numpy.sin(y))
        f.defjvps(
            lambda t, ans, x, y: t * m.numpy.sin(y),
            (lambda t, ans, x, y: x * m.numpy.cos(y) * t) if second == "rule" else None,
        )
        out, tangent = m.jvp(f, (2.0, 3.0), (0.5, 10.0))
        return [out, tangent, *m.grad(lambda x, y: f(x, y) ** 2, argnums=(0, 1))(2.0, 3.0)]

    for ours, theirs in zip(results(refjax), results(jax), strict=True):
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)
