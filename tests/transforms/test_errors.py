"""Tracer errors under jit: JAX's classes, and messages naming the function and argument."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import errors, lax
from tests.errors import raised
from tests.oracle import jax

CASES: list[tuple[str, Callable[[Any], Any], type[Exception], str]] = [
    (
        "range",
        lambda x: range(x),
        errors.TracerIntegerConversionError,
        "The __index__() method was called on traced array with shape int32[]",
    ),
    (
        "int",
        lambda x: int(x),
        errors.ConcretizationTypeError,
        "The problem arose with the `int` function",
    ),
    (
        "if",
        lambda x: 1 if x > 0 else 0,
        errors.TracerBoolConversionError,
        "Attempted boolean conversion of traced array with shape bool[]",
    ),
    (
        "asarray",
        lambda x: np.asarray(x),
        errors.TracerArrayConversionError,
        "The numpy.ndarray conversion method __array__() was called on traced array",
    ),
]


@pytest.mark.parametrize("name,fn,cls,phrase", CASES, ids=[c[0] for c in CASES])
def test_tracer_conversion_errors_match_jax(
    name: str, fn: Callable[[Any], Any], cls: type[Exception], phrase: str
) -> None:
    with pytest.raises(cls) as info:
        refjax.jit(fn)(3)
    message = str(info.value)
    assert phrase in message
    assert (
        "for jit. This concrete value was not available in Python because it depends on "
        "the value of the argument x." in message
    )
    jax_cls = getattr(jax.errors, cls.__name__)
    assert phrase in str(raised(lambda: jax.jit(fn)(3), jax_cls))


def test_bool_error_is_a_concretization_error() -> None:
    assert issubclass(errors.TracerBoolConversionError, errors.ConcretizationTypeError)
    assert issubclass(errors.ConcretizationTypeError, TypeError)


def test_static_argnums_makes_python_control_flow_work() -> None:
    f = refjax.jit(lambda x, n: x * n if n > 1 else x, static_argnums=1)
    assert float(f(2.0, 3)) == 6.0


def test_leaked_tracer_used_later_raises() -> None:
    leaked: list[Any] = []

    def f(x: Any) -> Any:
        leaked.append(x)
        return x

    refjax.jit(f)(1.0)
    with pytest.raises(errors.UnexpectedTracerError, match="Encountered an unexpected tracer"):
        lax.add(leaked[0], 1.0)


def test_leaked_tracer_message_names_the_function() -> None:
    leaked: list[Any] = []

    def my_leaky_function(x: Any) -> Any:
        leaked.append(x * 2.0)
        return x

    refjax.jit(my_leaky_function)(1.0)
    with pytest.raises(errors.UnexpectedTracerError, match="my_leaky_function"):
        refjax.jit(lambda y: y + leaked[0])(1.0)


def test_grad_of_python_control_flow_on_concrete_values_works() -> None:
    def f(x: Any) -> Any:
        return x * x if x > 0 else -x

    assert float(refjax.grad(f)(3.0)) == 6.0
    assert float(refjax.grad(f)(-3.0)) == -1.0
