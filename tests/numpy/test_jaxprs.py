"""Traced programs: ``refjax.make_jaxpr`` of key jnp functions has JAX's primitive sequence.

JAX wraps many jnp functions in ``jit`` (and some in ``custom_jvp``), as refjax does; both jaxprs
are flattened before comparing the primitives (``test_jit_wrappers.py`` compares the calls).
Equations whose inputs are all constants are skipped on both sides (JAX stages them, refjax
computes them while tracing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.nn as rnn
import refjax.numpy as rnp
from tests.numpy.helpers import inner_jaxpr, jax, jax_prim_names, jnp, refjax_prim_names

X = np.ones((3, 4), np.float32)
I = np.ones((3, 4), np.int32)  # noqa: E741  # a readable name here

Case = tuple[Any, ...]

CASES: list[Case] = [
    ("sum", lambda m: lambda a: m.sum(a, axis=1), X),
    ("sum bool", lambda m: lambda a: m.sum(a > 0), X),
    ("mean", lambda m: lambda a: m.mean(a, 0), X),
    ("mean int", lambda m: lambda a: m.mean(a), I),
    ("var", lambda m: lambda a: m.var(a, 0), X),
    ("std", lambda m: lambda a: m.std(a), X),
    ("max", lambda m: lambda a: m.max(a, 0), X),
    ("argmax", lambda m: lambda a: m.argmax(a, 0), X),
    ("argmax none", lambda m: lambda a: m.argmax(a), X),
    ("where", lambda m: lambda a: m.where(a > 0, a, 0.), X),
    ("add1", lambda m: lambda a: a + 1, X),
    ("add int f", lambda m: lambda a: a + 1.5, I),
    ("truediv", lambda m: lambda a: a / 2, I),
    ("floordiv i", lambda m: lambda a: a // 2, I),
    ("floordiv f", lambda m: lambda a: a // 2, X),
    ("rem i", lambda m: lambda a: a % 3, I),
    ("rem f", lambda m: lambda a: a % 3, X),
    ("pow2", lambda m: lambda a: a ** 2, X),
    ("pow f", lambda m: lambda a: a ** 2.5, X),
    ("pow arr", lambda m: lambda a, b: a ** b, X, X),
    ("ipow", lambda m: lambda a, b: a ** b, I, I),
    ("X[1]", lambda m: lambda a: a[1], X),
    ("x[-1]", lambda m: lambda a: a[-1], X),
    ("x[1:, ::2]", lambda m: lambda a: a[1:, ::2], X),
    ("x[::-1]", lambda m: lambda a: a[::-1], X),
    ("x[None, ..., 1]", lambda m: lambda a: a[None, ..., 1], X),
    ("x[j]", lambda m: lambda a, j: a[j], X, np.array([0, 2])),
    ("x[j, j]", lambda m: lambda a, j: a[j, j], X, np.array([0, 2])),
    ("x[i] traced", lambda m: lambda a, j: a[j], X, np.int32(1)),
    ("x[::2, i]", lambda m: lambda a, j: a[::2, j], X, np.int32(1)),
    ("x[10]", lambda m: lambda a: a[10], X),
    ("x[j, 1:]", lambda m: lambda a, j: a[j, 1:], X, np.array([0, 2])),
    ("x[1:, j]", lambda m: lambda a, j: a[1:, j], X, np.array([0, 2])),
    ("at set", lambda m: lambda a: a.at[1].set(2.), X),
    ("at add", lambda m: lambda a, j: a.at[j].add(2.), X, np.array([0, 2])),
    ("at get", lambda m: lambda a, j: a.at[j].get(mode='fill'), X, np.array([0, 2])),
    ("at mul", lambda m: lambda a, j: a.at[j].mul(2.), X, np.array([0, 2])),
    ("at set slice", lambda m: lambda a: a.at[1:].set(2.), X),
    ("at set neg", lambda m: lambda a, v: a.at[::-1].set(v), X, X),
    ("matmul", lambda m: lambda a, b: a @ b, X, X.T),
    ("dot", lambda m: lambda a, b: m.dot(a, b), X[0], X[0]),
    ("einsum", lambda m: lambda a, b: m.einsum('ij,jk->ik', a, b), X, X.T),
    ("einsum3", lambda m: lambda a, b, c: m.einsum("ij,jk,kl->il", a, b, c), np.ones((2, 3)),
     np.ones((3, 4)), np.ones((4, 5))),
    ("einsum trace", lambda m: lambda a: m.einsum('ii->', a), np.ones((3,3))),
    ("clip", lambda m: lambda a: m.clip(a, 0, 1), X),
    ("concat", lambda m: lambda a: m.concatenate([a, a]), X),
    ("reshape", lambda m: lambda a: a.reshape(2, 6), X),
    ("T", lambda m: lambda a: a.T, X),
    ("squeeze", lambda m: lambda a: m.squeeze(a[None]), X),
    ("expand", lambda m: lambda a: m.expand_dims(a, 1), X),
    ("bcast", lambda m: lambda a: m.broadcast_to(a, (2,3,4)), X),
    ("cumsum", lambda m: lambda a: m.cumsum(a, 0), X),
    ("sort", lambda m: lambda a: m.sort(a), X),
    ("argsort", lambda m: lambda a: m.argsort(a), X),
    ("take", lambda m: lambda a, j: m.take(a, j, axis=1), X, np.array([0, 2])),
    ("take_along", lambda m: lambda a, j: m.take_along_axis(a, j, axis=1), X,
     np.zeros((3, 2), np.int32)),
    ("isnan", lambda m: m.isnan, X),
    ("isinf", lambda m: m.isinf, X),
    ("log10", lambda m: m.log10, X),
    ("log2", lambda m: m.log2, X),
    ("reciprocal", lambda m: m.reciprocal, X),
    ("logaddexp", lambda m: m.logaddexp, X, X),
    ("any", lambda m: lambda a: m.any(a > 0, 0), X),
    ("all f", lambda m: lambda a: m.all(a), X),
    ("repeat", lambda m: lambda a: m.repeat(a, 2, 0), X),
    ("flip", lambda m: lambda a: m.flip(a, 0), X),
    ("triu", lambda m: lambda a: m.triu(a), X),
    ("tril", lambda m: lambda a: m.tril(a), X),
    ("roll", lambda m: lambda a: m.roll(a, 1, 0), X),
    ("pad", lambda m: lambda a: m.pad(a, 1), X),
    ("isclose", lambda m: lambda a, b: m.isclose(a, b), X, X),
    ("signbit", lambda m: m.signbit, X),
    ("trunc", lambda m: m.trunc, X),
    ("round2", lambda m: lambda a: m.round(a, 2), X),
    ("hypot", lambda m: m.hypot, X, X),
    ("divmod", lambda m: m.divmod, X, X),
    ("diag", lambda m: m.diag, X),
    ("diag1", lambda m: m.diag, X[0]),
    ("outer", lambda m: m.outer, X[0], X[1]),
    ("vdot", lambda m: m.vdot, X, X),
    ("linspace", lambda m: lambda a: m.linspace(0., a, 5), np.float32(1)),
    ("eye", lambda m: lambda a: m.eye(3) + a, np.float32(1)),
    ("arange", lambda m: lambda a: m.arange(5) + a, np.float32(1)),
    ("full traced", lambda m: lambda a: m.full((2,3), a), np.float32(1)),
    ("zeros_like", lambda m: m.zeros_like, X),
    ("moveaxis", lambda m: lambda a: m.moveaxis(a, 0, -1), X),
    ("ravel", lambda m: m.ravel, X),
    ("array copies", lambda m: m.array, X),
    ("array dtype", lambda m: lambda a: m.array(a, dtype=int), X),
    ("asarray does not copy", lambda m: m.asarray, X),
    ("copy", lambda m: m.copy, X),
    ("array of list", lambda m: lambda a: m.array([a, a]), X),
    ("prod", lambda m: m.prod, X),
    ("minimum", lambda m: m.minimum, I, X),
    ("float_power", lambda m: m.float_power, I, I),
    ("right_shift", lambda m: m.right_shift, I, I),
    ("stack", lambda m: lambda a: m.stack([a, a]), X),
    ("stack axis", lambda m: lambda a, b: m.stack([a, b], axis=-1), X, I),
    ("tile", lambda m: lambda a: m.tile(a, (2, 1)), X),
    ("tile rank up", lambda m: lambda a: m.tile(a, (2, 1, 3)), X),
    ("split", lambda m: lambda a: m.split(a, 2, 1), X),
    ("array_split", lambda m: lambda a: m.array_split(a, [1, 3], 1), X),
    ("unstack", lambda m: lambda a: m.unstack(a, axis=1), X),
]

def _run(case: Case) -> tuple[list[str], list[str]]:
    _name, make, *args = case
    return jax_prim_names(make(jnp), *args), refjax_prim_names(make(rnp), *args)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_jaxpr_primitives_match_jax(case: Case) -> None:
    theirs, ours = _run(case)
    assert ours == theirs


NN: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
    (name, lambda *a, _n=name, **k: getattr(jax.nn, _n)(*a, **k), getattr(rnn, name))
    for name in ("softmax", "log_softmax", "logsumexp", "gelu", "sigmoid", "silu", "relu",
                 "softplus", "log_sigmoid", "standardize", "relu6", "elu")
]


@pytest.mark.parametrize("name,theirs,ours", NN, ids=[n for n, _, _ in NN])
def test_nn_jaxprs_match_jax(name: str, theirs: Callable[..., Any],
                             ours: Callable[..., Any]) -> None:
    assert refjax_prim_names(ours, X) == jax_prim_names(theirs, X)


def test_exact_gelu_jaxpr_matches_jax() -> None:
    assert (refjax_prim_names(lambda a: rnn.gelu(a, approximate=False), X)
            == jax_prim_names(lambda a: jax.nn.gelu(a, approximate=False), X))


def test_one_hot_jaxpr_matches_jax() -> None:
    idx = np.array([0, 2])
    assert (refjax_prim_names(lambda a: rnn.one_hot(a, 4), idx)
            == jax_prim_names(lambda a: jax.nn.one_hot(a, 4), idx))


def _eqns(jaxpr: Any) -> list[Any]:
    """All equations, with JAX's jit and custom_jvp sub-jaxprs inlined."""
    out = []
    for eqn in jaxpr.eqns:
        inner = inner_jaxpr(eqn)
        out += [eqn] if inner is None else _eqns(inner)
    return out


def _params(closed: Any, prim: str) -> dict[str, str]:
    """The params of the first ``prim`` equation, as text."""
    eqn = next(e for e in _eqns(closed.jaxpr) if e.primitive.name == prim)
    return {k: str(v) for k, v in eqn.params.items()}


PARAM_CASES: list[tuple[str, str, Callable[..., Any], tuple[Any, ...]]] = [
    ("gather", "gather", lambda a, j: a[j, 1:], (X, np.array([0, 2]))),
    ("gather fill", "gather", lambda a, j: a.at[j].get(mode="fill"), (X, np.array([0, 2]))),
    ("strided gather", "gather", lambda a, j: a[::2, j], (X, np.int32(1))),
    ("slice", "slice", lambda a: a[1:, ::2], (X,)),
    ("dynamic_slice", "dynamic_slice", lambda a, j: a[j], (X, np.int32(1))),
    ("scatter-add", "scatter-add", lambda a, j: a.at[j].add(1.0), (X, np.array([0, 2]))),
    ("scatter", "scatter", lambda a: a.at[1:].set(2.0), (X,)),
    ("reduce_sum", "reduce_sum", lambda a: a.sum(0), (X,)),
    ("argmax", "argmax", lambda a: a.argmax(1), (X,)),
    ("dot_general", "dot_general", lambda a: a @ a.T, (X,)),
    ("cumsum", "cumsum", lambda a: a.cumsum(1), (X,)),
    ("sort", "sort", lambda a: jnp.argsort(a) if isinstance(a, jax.Array) else rnp.argsort(a),
     (X,)),
    ("iota", "iota", lambda a: a + (jnp if isinstance(a, jax.Array) else rnp).arange(4), (X,)),
    ("round", "round", lambda a: a.round(), (X,)),
]


@pytest.mark.parametrize("name,prim,f,args", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_params_match_jax(name: str, prim: str, f: Callable[..., Any],
                          args: tuple[Any, ...]) -> None:
    """Beyond names: the key equation's params are JAX's (dimension numbers, modes, axes)."""
    theirs = _params(jax.make_jaxpr(f)(*args), prim)
    ours = _params(refjax.make_jaxpr(f)(*args), prim)
    theirs.pop("update_jaxpr", None)
    ours.pop("update_jaxpr", None)
    assert ours == theirs
