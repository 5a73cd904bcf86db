"""``jit`` as JAX 0.10 accepts it: options-only decoration, static arguments by position or by
keyword (each of ``static_argnums``/``static_argnames`` inferred from the other), one trace
cache per function shared by its wrappers, pytree node data that cannot be hashed, and JAX's
errors. Each scenario runs on refjax and on real JAX, logging what it traces and returns; the
logs must be equal."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.oracle import jax

Log = list[Any]


def _value(x: Any) -> Any:
    return np.asarray(x).tolist()


def decorate_with_options(m: ModuleType, log: Log) -> None:
    @m.jit(static_argnums=0)
    def f(n: int, x: Any) -> Any:
        log.append(("trace", n))
        return x * n

    log.append(_value(f(2, 3.0)))
    log.append(_value(f(2, 4.0)))
    g = functools.partial(m.jit, static_argnames="n")(lambda x, n: x * n)
    log.append(_value(g(2.0, n=3)))
    log.append(_value(g(2.0, 3)))  # positional: still static (argnums inferred)


def static_by_position_or_keyword(m: ModuleType, log: Log) -> None:
    def g(x: Any, n: int) -> Any:
        log.append(("trace", n, type(n).__name__))
        return x * n

    for options in ({"static_argnums": 1}, {"static_argnames": "n"},
                    {"static_argnums": 1, "static_argnames": "n"}):
        jg = m.jit(g, **options)
        log.append(_value(jg(1.0, 2)))
        log.append(_value(jg(1.0, n=2)))
        log.append(_value(jg(x=1.0, n=3)))
        log.append(_value(jg(1.0, 2)))

    def kwonly(x: Any, *, n: int) -> Any:
        log.append(("kwonly", n))
        return x * n

    log.append(_value(m.jit(kwonly, static_argnames="n")(1.0, n=5)))

    def varargs(*args: Any, n: int = 1) -> Any:
        log.append(("varargs", n))
        return args[0] * n

    jv = m.jit(varargs, static_argnames="n")
    log.append(_value(jv(1.0, n=2)))
    log.append(_value(jv(2.0, n=2)))


def wrappers_share_traces(m: ModuleType, log: Log) -> None:
    def h(x: Any) -> Any:
        log.append("trace h")
        return x + 1

    log.append(_value(m.jit(h)(1.0)))
    log.append(_value(m.jit(h)(1.0)))  # another wrapper of the same function: no trace
    log.append(_value(m.jit(h)(np.float32(2.0))))
    log.append(_value(m.jit(h, static_argnums=0)(3.0)))  # other options: their own traces
    for _ in range(2):  # a new lambda each time is a new function: traced each time
        log.append(_value(m.jit(lambda x: (log.append("trace lambda"), x * 2)[1])(1.0)))


class Node:
    """A pytree node whose node data is a dict (cannot be hashed)."""

    def __init__(self, v: Any, meta: dict[str, int]) -> None:
        self.v, self.meta = v, meta


def _node_flatten(n: Node) -> tuple[tuple[Any], dict[str, int]]:
    return (n.v,), n.meta


def _node_unflatten(meta: dict[str, int], children: Any) -> Node:
    return Node(children[0], meta)


refjax.tree_util.register_pytree_node(Node, _node_flatten, _node_unflatten)
_jax_registered: list[bool] = []


def unhashable_node_data(m: ModuleType, log: Log) -> None:
    if m is not refjax and not _jax_registered:
        m.tree_util.register_pytree_node(Node, _node_flatten, _node_unflatten)
        _jax_registered.append(True)

    def k(n: Node) -> Any:
        log.append(("trace", dict(n.meta)))
        return n.v * 2

    jk = m.jit(k)
    log.append(_value(jk(Node(1.0, {"a": 1}))))
    log.append(_value(jk(Node(2.0, {"a": 1}))))  # equal node data: the same trace
    log.append(_value(jk(Node(2.0, {"a": 2}))))


def errors(m: ModuleType, log: Log) -> None:
    def g(x: Any, n: int) -> Any:
        return x * n

    cases: list[Callable[[], Any]] = [
        lambda: m.jit(g, static_argnums=5),
        lambda: m.jit(g, static_argnums=-3),
        lambda: m.jit(g, static_argnames="q"),
        lambda: m.jit(None),
        lambda: m.jit(g, 1),  # options are keyword-only
        lambda: m.jit(g, static_argnums=1)(1.0, [2]),  # a static argument must be hashable
    ]
    for case in cases:
        try:
            case()
            log.append("no error")
        except (TypeError, ValueError) as err:
            log.append((type(err).__name__, str(err).split("\n")[0]))


SCENARIOS = [decorate_with_options, static_by_position_or_keyword, wrappers_share_traces,
             unhashable_node_data, errors]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_jit_behaves_as_jax(scenario: Callable[[ModuleType, Log], None]) -> None:
    theirs: Log = []
    scenario(jax.load() if hasattr(jax, "load") else jax, theirs)
    ours: Log = []
    scenario(refjax, ours)
    assert ours == theirs
