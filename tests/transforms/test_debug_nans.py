"""``jax_debug_nans`` / ``jax_debug_infs`` as in JAX 0.10: the primitive that makes a NaN (or
an infinity) raises ``FloatingPointError`` naming it, eagerly and under ``jit`` (which runs the
function again op by op, nested jits too, after printing JAX's note); a value that was already
invalid in the inputs is not reported at a primitive; the flags also as context managers, beside
``disable_jit``. Each scenario runs on refjax and on real JAX; the printed logs must be equal."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.oracle import jax


def _attempt(name: str, thunk: Callable[[], Any]) -> None:
    try:
        print(name, thunk())
    except FloatingPointError as err:
        print(name, type(err).__name__, str(err)[:300])


def nans(m: ModuleType) -> None:
    jnp = m.numpy
    with m.debug_nans(True):
        _attempt("eager", lambda: jnp.log(-1.0))
        _attempt("div", lambda: jnp.float32(0.0) / jnp.float32(0.0))
        _attempt("jit", lambda: m.jit(lambda x: jnp.log(x) * 2)(-1.0))
        _attempt("grad", lambda: m.grad(lambda x: jnp.sqrt(x))(0.0))
        _attempt("ok", lambda: jnp.log(2.0))
        _attempt("inf is not a nan", lambda: jnp.log(0.0))
        _attempt("nested", lambda: m.jit(lambda x: m.jit(lambda y: jnp.log(y))(x) + 1)(-1.0))
        _attempt("nan input", lambda: m.jit(lambda x: x * 2)(np.float32("nan")))
        _attempt("vmap", lambda: m.vmap(jnp.log)(jnp.asarray([1.0, -1.0])))
    print("after", m.config.jax_debug_nans, jnp.log(-1.0))


def infs(m: ModuleType) -> None:
    jnp = m.numpy
    with m.debug_infs(True):
        _attempt("log zero", lambda: jnp.log(0.0))
        _attempt("jit exp", lambda: m.jit(lambda x: jnp.exp(x) + 1)(1000.0))
        _attempt("nan is not an inf", lambda: jnp.log(-1.0))


def disable_jit(m: ModuleType) -> None:
    def f(x: Any) -> Any:
        print("called with", repr(x))  # a tracer's repr under jit, the value without
        return x

    with m.disable_jit():
        print(m.jit(f)(1.0))
    print(m.jit(f)(1.0))


SCENARIOS = [nans, infs, disable_jit]


def _printed(scenario: Callable[[ModuleType], None], m: ModuleType,
             capsys: pytest.CaptureFixture[str]) -> str:
    scenario(m)
    return capsys.readouterr().out


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_as_jax(scenario: Callable[[ModuleType], None],
                capsys: pytest.CaptureFixture[str]) -> None:
    theirs = _printed(scenario, jax.load(), capsys)
    ours = _printed(scenario, refjax, capsys)
    assert ours == theirs
