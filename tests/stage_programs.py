"""The programs whose stages tests/test_stages.py and tests/test_explain.py check: a scalar
one, a vector one, ``cond``, ``scan``, a ``custom_jvp`` function and ``random.normal`` of a key,
each written once for refjax and for JAX (``build(m)``, ``m`` the package)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np


def _scalar(m: ModuleType) -> Callable[..., Any]:
    return lambda x, y: m.numpy.sin(x) * y + m.numpy.cos(y)


def _vector(m: ModuleType) -> Callable[..., Any]:
    return lambda x, y: m.numpy.sum(m.numpy.sin(x) * y + m.numpy.cos(y))


def _cond(m: ModuleType) -> Callable[..., Any]:
    np_ = m.numpy
    return lambda x: m.lax.cond(np_.sum(x) > 0, np_.sin, np_.cos, x)


def _scan(m: ModuleType) -> Callable[..., Any]:
    np_ = m.numpy
    return lambda x: m.lax.scan(lambda c, a: (c * a, np_.sin(c)), np_.float32(1.0), x)


def _custom_jvp(m: ModuleType) -> Callable[..., Any]:
    np_ = m.numpy

    @m.custom_jvp
    def softplus(x: Any) -> Any:
        return np_.log1p(np_.exp(x))

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] * m.nn.sigmoid(p[0])))
    return lambda x: np_.sum(softplus(x) * x)


def _random(m: ModuleType) -> Callable[..., Any]:
    return lambda key: m.random.normal(key, (3,))


@dataclass(frozen=True)
class Program:
    name: str
    build: Callable[[ModuleType], Callable[..., Any]]
    args: tuple[Any, ...]
    # stages whose jaxpr text is JAX's, letter for letter (others differ where refjax stages
    # the same computation another way: cond's residuals are not merged across branches, scan's
    # operands come in another order, a batched cond stays a select, keys are raw arrays)
    as_jax: frozenset[str]

    def __str__(self) -> str:
        return self.name


X3 = np.array([0.5, -1.25, 2.0], np.float32)
Y3 = np.array([1.5, 0.25, -0.75], np.float32)
PROGRAMS = [
    Program("scalar", _scalar, (np.float32(1.5), np.float32(0.5)),
            frozenset({"traced", "jvp", "vmap", "grad"})),
    Program("vector", _vector, (X3, Y3),
            frozenset({"traced", "jvp", "linearize", "vjp", "vmap", "grad"})),
    Program("cond", _cond, (X3,), frozenset({"traced", "jvp"})),
    Program("scan", _scan, (X3,), frozenset({"traced", "jvp", "vmap"})),
    Program("custom_jvp", _custom_jvp, (X3,),
            frozenset({"traced", "jvp", "linearize", "vjp", "vmap", "grad"})),
    Program("random", _random, (np.array([0, 42], np.uint32),), frozenset()),
]
DIFFERENTIABLE = [p for p in PROGRAMS if p.name != "random"]
BY_NAME = {p.name: p for p in PROGRAMS}


def batch_of(p: Program) -> tuple[Any, ...]:
    """The program's arguments, a batch of two along axis 0 (different values in each)."""
    return tuple(np.stack([a, (a + 1).astype(np.asarray(a).dtype)]) for a in p.args)
