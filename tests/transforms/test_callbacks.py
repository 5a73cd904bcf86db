"""Host callbacks as JAX 0.10 runs them: ``debug.print`` and ``debug.callback`` (eager, under
jit when the function runs, once per element under vmap, on primals under grad, inside scan and
cond, never removed as dead code), ``pure_callback`` (declared results, vmap methods, no JVP),
``experimental.io_callback`` (an effect with results). Each scenario runs on refjax and on real
JAX; what it prints (addresses masked) must be the same."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.oracle import jax


def debug_print(m: ModuleType) -> None:
    def f(x: Any) -> Any:
        m.debug.print("x = {x}, y = {}", x * 2, x=x)
        return x + 1

    print(m.make_jaxpr(f)(1.0))
    f(1.0)
    m.jit(f)(m.numpy.arange(3.0))
    m.vmap(f)(m.numpy.arange(3.0))
    m.grad(f)(1.0)
    m.jit(m.grad(f))(2.0)
    print(m.make_jaxpr(m.grad(f))(1.0))

    def h(x: Any) -> Any:
        m.debug.print("{} {s} {}", "static", x, s=3)
        return x

    h(1.0)
    m.jit(h)(2.0)


def debug_callback(m: ModuleType) -> None:
    def g(x: Any) -> Any:
        m.debug.callback(lambda v: print("cb", type(v).__name__, v), x, ordered=True)
        return x

    m.jit(g)(1.0)
    g(2.0)
    m.vmap(g)(m.numpy.arange(2.0))
    print(m.make_jaxpr(g)(1.0))


def in_control_flow(m: ModuleType) -> None:
    def f(x: Any) -> Any:
        def body(c: Any, i: Any) -> Any:
            m.debug.print("step {} {}", i, c)
            return c * 2, None

        m.lax.scan(body, x, m.numpy.arange(3))  # its results unused: still runs
        return x

    f(1.0)
    m.jit(f)(2.0)
    print(m.grad(f)(1.0))
    m.jit(lambda x: m.lax.cond(x > 0, lambda: m.debug.print("pos {}", x),
                               lambda: m.debug.print("neg {}", x)))(-1.0)


def pure_callbacks(m: ModuleType) -> None:
    f32 = m.ShapeDtypeStruct((), np.float32)
    sin = m.jit(lambda x: m.pure_callback(
        lambda v: (print("type", type(v).__name__), np.sin(v))[1], f32, x))
    print(sin(1.0))
    print(m.make_jaxpr(lambda x: m.pure_callback(np.sin, f32, x))(1.0))
    for method in ("sequential", "expand_dims", "broadcast_all"):
        def call(x: Any, y: Any, method: str = method) -> Any:
            return m.pure_callback(
                lambda v, w: (print(method, v.shape, w.shape), np.sin(v) * w)[1], f32, x, y,
                vmap_method=method)

        print(m.vmap(call, in_axes=(0, None))(m.numpy.arange(3.0), 2.0))
    # unused: a pure callback may be dropped
    print(m.jit(lambda x: (m.pure_callback(lambda v: (print("unused ran"), v)[1], f32, x),
                           x * 2)[1])(1.0))
    tree = {"a": f32, "b": m.ShapeDtypeStruct((2,), np.int32)}
    print(m.jit(lambda x: m.pure_callback(
        lambda v: {"a": np.cos(v), "b": np.arange(2, dtype=np.int32)}, tree, x))(0.0))


def io_callbacks(m: ModuleType) -> None:
    io = m.experimental.io_callback
    f32 = m.ShapeDtypeStruct((), np.float32)

    def k(x: Any) -> Any:
        return io(lambda v: (print("io", v), np.sin(v))[1], f32, x, ordered=True)

    print(k(1.0), m.jit(k)(1.0))
    print(m.make_jaxpr(k)(1.0))
    print(m.vmap(lambda x: io(lambda v: np.sin(v), f32, x))(m.numpy.arange(2.0)))
    m.jit(lambda x: (io(lambda v: (print("effect kept"), v)[1], f32, x), x)[1])(1.0)


def errors(m: ModuleType) -> None:
    f32 = m.ShapeDtypeStruct((), np.float32)
    io = m.experimental.io_callback
    cases: list[Callable[[], Any]] = [
        lambda: m.vmap(lambda x: io(np.sin, f32, x, ordered=True))(m.numpy.arange(2.0)),
        lambda: m.grad(lambda x: io(np.sin, f32, x))(1.0),
        lambda: m.grad(lambda x: m.pure_callback(np.sin, f32, x))(1.0),
        lambda: m.vmap(lambda x: m.pure_callback(np.sin, f32, x))(m.numpy.arange(2.0)),
    ]
    for case in cases:
        try:
            case()
            print("no error")
        except (ValueError, NotImplementedError) as err:
            print(type(err).__name__, err)


SCENARIOS = [debug_print, debug_callback, in_control_flow, pure_callbacks, io_callbacks, errors]


def _printed(scenario: Callable[[ModuleType], None], m: ModuleType,
             capsys: pytest.CaptureFixture[str]) -> str:
    scenario(m)
    out = capsys.readouterr().out
    return re.sub(r"0x[0-9a-fA-F]+", "0x", out)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_callbacks_print_as_jax(scenario: Callable[[ModuleType], None],
                                capsys: pytest.CaptureFixture[str]) -> None:
    theirs = _printed(scenario, jax.load(), capsys)
    ours = _printed(scenario, refjax, capsys)
    assert ours == theirs
