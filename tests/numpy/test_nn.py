"""``refjax.nn`` against ``jax.nn``: values, dtypes, weak types; numpy references for a few."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.nn as rnn
from tests.numpy.helpers import assert_values, check, jax, jnp

X = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
INPUTS: list[Any] = [X, np.array([1, -2, 3], np.int32), 2.0, np.float16([0.5, -1.0]),
                     np.zeros((0, 2), np.float32), np.float32([np.inf, -np.inf, np.nan, 0.0])]
ACTIVATIONS = ["relu", "relu6", "sigmoid", "softplus", "soft_sign", "silu", "swish", "mish",
               "log_sigmoid", "elu", "leaky_relu", "hard_tanh", "celu", "selu", "hard_sigmoid",
               "hard_silu", "hard_swish", "gelu", "softmax", "log_softmax", "logsumexp",
               "standardize", "identity", "squareplus", "sparse_plus"]


def nn(m: Any) -> Any:
    """``jax.nn`` for ``jax.numpy``, ``refjax.nn`` for ``refjax.numpy``."""
    return jax.nn if m is jnp else rnn


def _ids(xs: list[Any]) -> list[str]:
    return [f"{getattr(x, 'dtype', type(x).__name__)}{getattr(x, 'shape', '')}" for x in xs]


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("x", INPUTS, ids=_ids(INPUTS))
def test_activation_matches_jax(name: str, x: Any) -> None:
    check(lambda m, a: getattr(nn(m), name)(a), x)


CASES: list[tuple[str, Callable[..., Any]]] = [
    ("gelu exact", lambda m, a: nn(m).gelu(a, approximate=False)),
    ("softmax axis 0", lambda m, a: nn(m).softmax(a, axis=0)),
    ("softmax axes", lambda m, a: nn(m).softmax(a, axis=(0, 1))),
    ("softmax where", lambda m, a: nn(m).softmax(a, where=a > 0)),
    ("log_softmax where", lambda m, a: nn(m).log_softmax(a, axis=(0, 1), where=a > 0)),
    ("logsumexp keepdims", lambda m, a: nn(m).logsumexp(a, axis=0, keepdims=True)),
    ("logsumexp b", lambda m, a: nn(m).logsumexp(a, axis=1, b=a > 0)),
    ("logsumexp sign", lambda m, a: nn(m).logsumexp(a, b=-1.0, return_sign=True)),
    ("logsumexp where", lambda m, a: nn(m).logsumexp(a, axis=1, where=a > -1)),
    ("logsumexp negative b", lambda m, a: nn(m).logsumexp(a, b=-1.0)),
    ("glu", lambda m, a: nn(m).glu(a)),
    ("glu axis 0", lambda m, a: nn(m).glu(np.ones((4, 3)), axis=0)),
    ("standardize stable", lambda m, a: nn(m).standardize(a, algorithm="stable", axis=0)),
    ("standardize given", lambda m, a: nn(m).standardize(a, mean=0.0, variance=4.0)),
    ("elu alpha", lambda m, a: nn(m).elu(a, alpha=0.5)),
    ("leaky_relu slope", lambda m, a: nn(m).leaky_relu(a, negative_slope=0.2)),
    ("celu alpha", lambda m, a: nn(m).celu(a, alpha=2.0)),
]


@pytest.mark.parametrize("name,f", CASES, ids=[n for n, _ in CASES])
def test_activation_options_match_jax(name: str, f: Callable[..., Any]) -> None:
    check(f, X)


ONE_HOT: list[tuple[Any, dict[str, Any]]] = [
    (np.array([0, 2, 5, -1]), {}),
    (np.array([[0, 2], [1, 1]]), {"axis": 0}),
    (np.array([[0, 2], [1, 1]]), {"axis": 1}),
    (np.array([0, 2]), {"dtype": np.int32}),
    (np.array([0, 2]), {"dtype": bool}),
    (2, {}),
    (np.array([0, 1], np.uint8), {}),
]


@pytest.mark.parametrize("x,kw", ONE_HOT, ids=[str(k) for _, k in ONE_HOT])
def test_one_hot_matches_jax(x: Any, kw: dict[str, Any]) -> None:
    check(lambda m, a: nn(m).one_hot(a, 3, **kw), x)


def test_softmax_is_stable_for_large_inputs() -> None:
    big = np.array([1000.0, 1001.0, 1002.0], np.float32)
    expected = np.exp(big - big.max()) / np.exp(big - big.max()).sum()
    assert_values(np.asarray(rnn.softmax(big)), expected.astype(np.float32))
    assert_values(np.asarray(rnn.log_softmax(big)), np.log(expected).astype(np.float32))
    assert_values(np.asarray(rnn.logsumexp(big)), np.float32(1002.0 + np.log(np.exp(
        [-2.0, -1.0, 0.0]).sum())))


def test_activations_match_numpy_formulas() -> None:
    x = X.astype(np.float64)
    refs = {
        "relu": np.maximum(x, 0),
        "sigmoid": 1 / (1 + np.exp(-x)),
        "softplus": np.log1p(np.exp(x)),
        "silu": x / (1 + np.exp(-x)),
        "log_sigmoid": -np.log1p(np.exp(-x)),
        "relu6": np.clip(x, 0, 6),
        "gelu": 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        "softmax": np.exp(x) / np.exp(x).sum(-1, keepdims=True),
        "log_softmax": x - np.log(np.exp(x).sum(-1, keepdims=True)),
    }
    for name, ref in refs.items():
        assert_values(np.asarray(getattr(rnn, name)(X)), ref.astype(np.float32), tol=1e-5)


def test_softmax_uses_stop_gradient() -> None:
    jaxpr = refjax.make_jaxpr(rnn.softmax)(X)
    assert "stop_gradient" in [e.primitive.name for e in jaxpr.eqns]


# Kinks, ties and infinities, where a derivative rule (custom or not) decides the answer.
KINKS = np.float32([0.0, -0.0, 6.0, -1.0, 1.0, 0.5, -3.0, 50.0, -50.0, np.inf, -np.inf])
SMOOTHED = ["relu", "relu6", "softplus", "log_sigmoid", "squareplus", "sparse_plus", "silu",
            "gelu", "elu", "celu", "selu", "mish", "hard_tanh", "sigmoid", "soft_sign"]


@pytest.mark.parametrize("name", SMOOTHED)
def test_activation_derivatives_at_kinks_match_jax(name: str) -> None:
    """relu'(0) = 0 and relu6'(6) = 0 (JAX's custom JVPs), softplus'(0) = 1/2 (logaddexp's)."""
    ours = refjax.vmap(refjax.grad(getattr(rnn, name)))(KINKS)
    theirs = jax.vmap(jax.grad(getattr(jax.nn, name)))(KINKS)
    # a few ulp apart where the formula cancels (squareplus at -50); a wrong rule is off by 1/2
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-4, atol=1e-7,
                               equal_nan=True)
    second = refjax.vmap(refjax.grad(refjax.grad(getattr(rnn, name))))(KINKS[2:9])
    second_jax = jax.vmap(jax.grad(jax.grad(getattr(jax.nn, name))))(KINKS[2:9])
    np.testing.assert_allclose(np.asarray(second), np.asarray(second_jax), rtol=1e-4,
                               atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_derivatives_match_jax(name: str) -> None:
    inf, nan = np.inf, np.nan
    pairs = np.float32([(0, 0), (1, 2), (inf, 1), (-inf, -inf), (inf, inf), (3, -inf),
                        (nan, 1), (-2, -2), (40, -40)])
    x, y = pairs[:, 0], pairs[:, 1]
    ours = refjax.vmap(refjax.grad(getattr(refjax.numpy, name), (0, 1)))(x, y)
    theirs = jax.vmap(jax.grad(getattr(jnp, name), (0, 1)))(x, y)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, equal_nan=True)
    tangent = refjax.jvp(getattr(refjax.numpy, name), (x, y), (np.ones_like(x), -np.ones_like(y)))
    tangent_jax = jax.jvp(getattr(jnp, name), (x, y), (np.ones_like(x), -np.ones_like(y)))
    np.testing.assert_allclose(np.asarray(tangent[1]), np.asarray(tangent_jax[1]), rtol=1e-6,
                               equal_nan=True)
