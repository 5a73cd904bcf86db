"""Text as JAX 0.10 prints it: a tracer's ``repr`` and ``str`` under each transformation, the
item-assignment error, and ``_`` for an equation result nothing reads. Each case runs on refjax
and on real JAX and must print the same."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.oracle import jax


def _seen(m: ModuleType, run: Callable[[ModuleType, Callable[[Any], Any]], Any]) -> list[str]:
    """What ``print`` shows of the traced values a function receives under ``run``."""
    seen: list[str] = []

    def spy(x: Any) -> Any:
        seen.append(repr(x))
        seen.append(str(x))
        return x * 2.0

    run(m, spy)
    return seen


TRACERS: dict[str, Callable[[ModuleType, Callable[[Any], Any]], Any]] = {
    "jit": lambda m, f: m.jit(f)(1.0),
    "jit_array": lambda m, f: m.jit(f)(np.ones(3, np.float32)),
    "make_jaxpr": lambda m, f: m.make_jaxpr(f)(np.float32(1.0)),
    "grad": lambda m, f: m.grad(f)(1.0),
    "grad_grad": lambda m, f: m.grad(m.grad(f))(1.0),
    "jvp": lambda m, f: m.jvp(f, (1.0,), (1.0,)),
    "linearize": lambda m, f: m.linearize(f, 1.0),
    "vjp": lambda m, f: m.vjp(f, np.ones(2, np.float32)),
    "vmap": lambda m, f: m.vmap(f)(np.ones(2, np.float32)),
    "vmap_grad": lambda m, f: m.vmap(m.grad(f))(np.ones(2, np.float32)),
    "jit_jvp": lambda m, f: m.jit(lambda x: m.jvp(f, (x,), (x,)))(1.0),
}


@pytest.mark.parametrize("name", TRACERS)
def test_tracer_text(name: str) -> None:
    assert _seen(refjax, TRACERS[name]) == _seen(jax.load(), TRACERS[name])


def _assignment_error(m: ModuleType) -> tuple[str, str]:
    x = m.numpy.ones(3)
    try:
        x[0] = 1.0
    except TypeError as err:
        return type(err).__name__, str(err)
    return "no error", ""


def test_item_assignment_error() -> None:
    assert _assignment_error(refjax) == _assignment_error(jax.load())


UNUSED: dict[str, Callable[[ModuleType], Any]] = {
    "dropped_result": lambda m: m.make_jaxpr(lambda x: (m.numpy.sin(x), x)[1])(1.0),
    "dead_middle": lambda m: m.make_jaxpr(lambda x: (m.numpy.cos(x), x * 2.0)[1])(1.0),
    "loop_counter": lambda m: m.make_jaxpr(
        lambda x: m.lax.fori_loop(0, 3, lambda i, c: c * 2.0, x))(1.0),
    "pullback": lambda m: m.make_jaxpr(lambda x, ct: m.vjp(lambda x: x[1:3], x)[1](ct))(
        np.ones(5, np.float32), np.ones(2, np.float32)),
}


@pytest.mark.parametrize("name", UNUSED)
def test_unused_results_print_as_underscore(name: str) -> None:
    ours, theirs = str(UNUSED[name](refjax)), str(UNUSED[name](jax.load()))
    theirs = theirs.replace("np.int64(2)", "2")  # (JAX shows one numpy scalar in a param)
    assert ours == theirs
    assert "_:" in ours


WEAK: dict[str, Callable[[ModuleType], Any]] = {
    "fori_int_carry": lambda m: m.lax.fori_loop(0, 3, lambda i, c: c + i, 0),
    "fori_numpy_bounds": lambda m: m.lax.fori_loop(np.int16(0), np.int16(3),
                                                   lambda i, c: c + i, 0),
    "fori_strong_carry": lambda m: m.lax.fori_loop(0, 3, lambda i, c: c + i, np.int32(0)),
    "fori_float": lambda m: m.lax.fori_loop(0, 3, lambda i, c: c * 2.0, 1.0),
    "fori_jit": lambda m: m.jit(lambda n: m.lax.fori_loop(0, 4, lambda i, c: c + i * n, 0))(2),
}


@pytest.mark.parametrize("name", WEAK)
def test_weak_types_as_jax(name: str) -> None:
    """The value's repr (dtype and weak type) is JAX's."""
    assert repr(WEAK[name](refjax)) == repr(WEAK[name](jax.load()))


@pytest.mark.parametrize("shape", [(), (3,), (3, 4), (300, 400), (2, 3, 4, 5)])
def test_long_headers_wrap_as_jax(shape: tuple[int, ...]) -> None:
    """A header with many binders fills lines as JAX's printer does (4-space continuation)."""
    def header(m: ModuleType, n: int) -> str:
        args = [np.ones(shape, np.float32)] * n
        text = str(m.make_jaxpr(lambda *a: sum(a[1:], a[0]))(*args))
        return text.split(". let")[0]

    for n in (1, 6, 7, 8, 9, 12, 16, 30):
        assert header(refjax, n) == header(jax.load(), n), n


def test_constants_wrap_too() -> None:
    def header(m: ModuleType) -> str:
        consts = [m.numpy.ones((30, 40)) * i for i in range(9)]
        return str(m.make_jaxpr(lambda x: sum((x * c for c in consts), x))(
            np.ones((30, 40), np.float32))).split(". let")[0]

    assert header(refjax) == header(jax.load())


def _jit_programs(m: ModuleType) -> list[str]:
    """make_jaxpr texts of programs with jit calls: a body named at its call site, jvp and
    transposed bodies, nested jits, an operand passed twice, bodies called twice (printed once
    up front as ``let name = ... in``)."""
    jnp = m.numpy
    f = m.jit(lambda x, y: (jnp.sin(x) * 2 + y, x))
    g = m.jit(lambda x: jnp.sum(x ** 2))
    h = m.jit(lambda x: m.jit(lambda y: y * 2)(x) + 1)
    k = m.jit(lambda x: x * 2)
    return [str(t) for t in (
        m.make_jaxpr(f)(1.0, 2.0),
        m.make_jaxpr(lambda x: f(x, 3.0)[0] * 2)(1.0),
        m.make_jaxpr(m.grad(g))(np.ones(3, np.float32)),
        m.make_jaxpr(h)(1.0),
        m.make_jaxpr(lambda x: m.jit(lambda a, b: a * b)(x, x))(1.0),
        m.make_jaxpr(m.vmap(m.jit(jnp.cos)))(np.ones(3, np.float32)),
        m.make_jaxpr(lambda x: f(x, 3.0)[0] + f(x * 2, x)[0])(1.0),
        m.make_jaxpr(lambda x: k(k(x)) + f(x, x)[0] + f(x, 1.0)[1])(1.0),
    )]


def _long(m: ModuleType, x: Any) -> Any:
    for _ in range(6):
        x = m.numpy.sin(x) * 2.0
    return x


def _shared_programs(m: ModuleType) -> list[str]:
    """Sub-jaxprs JAX's printer puts up front: any with more than 10 equations (a loop body,
    a cond branch, a jit body called once), named after their call or ``jaxpr``; variables
    never take those names. Library functions' jit calls, under grad (the forward call with
    its residuals forwarded and pruned, the transposed call) and vmap."""
    jnp = m.numpy
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    return [str(t) for t in (
        m.make_jaxpr(lambda a: m.lax.fori_loop(0, 3, lambda i, c: _long(m, c), a))(
            np.float32(1)),
        m.make_jaxpr(lambda a: m.jit(lambda b: _long(m, b))(a)
                     + m.jit(lambda b: _long(m, b))(a + 1))(np.float32(1)),
        m.make_jaxpr(lambda a: m.lax.cond(a > 0, lambda b: _long(m, b), lambda b: b, a))(
            np.float32(1)),
        m.make_jaxpr(lambda a: jnp.clip(a, 0, 1) * 2)(x),
        m.make_jaxpr(m.grad(lambda a: jnp.clip(a, 0, 1).sum()))(x),
        m.make_jaxpr(m.grad(lambda a: jnp.where(a > 0, a, 1.0).sum()))(x),
        m.make_jaxpr(m.grad(lambda a: m.nn.silu(a).sum()))(x),
        m.make_jaxpr(m.grad(lambda a: m.nn.relu(a).sum()))(x),
        m.make_jaxpr(lambda a: jnp.trace(a, 1))(x[:, :3]),
        m.make_jaxpr(m.vmap(lambda a: jnp.clip(a, 0.5) + jnp.round(a, 1)))(x),
        m.make_jaxpr(m.grad(lambda a: jnp.concatenate([a, a * 2]).sum()))(x),
    )]


def test_shared_jaxprs_and_library_calls_print_as_jax() -> None:
    ours, theirs = _shared_programs(refjax), _shared_programs(jax.load())
    for a, b in zip(ours, theirs, strict=True):
        assert a == b


def test_jit_prints_as_jax() -> None:
    ours, theirs = _jit_programs(refjax), _jit_programs(jax.load())
    for a, b in zip(ours, theirs, strict=True):
        assert a == b


def test_jit_text_parses_back() -> None:
    from refjax.interp.parser import parse_jaxpr
    from refjax.interp.typecheck import typecheck_jaxpr

    for text in _jit_programs(refjax):
        back = parse_jaxpr(text)
        typecheck_jaxpr(back)
        assert str(back) == text


def test_shared_text_parses_back() -> None:
    """A ``let`` body referred to by any param (a loop body, one of a cond's branches)."""
    from refjax.interp.parser import parse_jaxpr
    from refjax.interp.typecheck import typecheck_jaxpr

    texts = _shared_programs(refjax)[:3] + [str(refjax.make_jaxpr(
        lambda a: refjax.lax.while_loop(lambda c: c < 3, lambda c: _long(refjax, c), a))(
            np.float32(1)))]
    for text in texts:
        back = parse_jaxpr(text)
        typecheck_jaxpr(back)
        assert str(back) == text
