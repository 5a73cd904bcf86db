"""Checks at the API boundary: refjax raises JAX's error class with JAX's message.

Each test computes real JAX's error first and expects refjax's to match it, for non-callables
given to the transformations, ``jit``'s static/donated argnums and argnames, ``argnums`` of the
differentiation transforms, ``vmap``'s axes and shape arguments of ``jax.numpy``.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.errors import Thunk, assert_same_error, raised
from tests.oracle import jax, jnp


def on_both(build: Callable[[Any], Thunk]) -> None:
    """``build(module)`` run on ``refjax`` and on ``jax``; the errors must match."""
    assert_same_error(build(refjax), build(jax), subclass_ok=True)


def f2(x: Any, y: Any) -> Any:
    return x * y


def f_varargs(*args: Any, **kwargs: Any) -> Any:
    return args[0]


def f_kwargs(x: Any, **kwargs: Any) -> Any:
    return x


def f_posonly(x: Any, /, y: Any) -> Any:
    return x + y


def f_kwonly(x: Any, *, y: Any) -> Any:
    return x + y


def f_gen(x: Any) -> Iterator[Any]:
    yield x


class CallableObject:
    def __call__(self, x: Any, y: Any) -> Any:
        return x


# ---------------------------------------------------------------------------------------------
# Non-callables

WRAPPERS = ["jit", "vmap", "grad", "value_and_grad", "jacfwd", "jacrev", "hessian"]


@pytest.mark.parametrize("name", WRAPPERS)
@pytest.mark.parametrize("fun", [5, None, "abc", f_gen], ids=["int", "None", "str", "gen"])
def test_transform_of_non_callable_raises_when_wrapping(name: str, fun: Any) -> None:
    on_both(lambda m: lambda: getattr(m, name)(fun))


CALL_TIME: dict[str, Callable[[Any], Thunk]] = {
    "jvp": lambda m: lambda: m.jvp(5, (1.0,), (1.0,)),
    "jvp_bad_primals": lambda m: lambda: m.jvp(5, 1.0, 1.0),
    "vjp": lambda m: lambda: m.vjp(5, 1.0),
    "linearize": lambda m: lambda: m.linearize(5, 1.0),
    "eval_shape": lambda m: lambda: m.eval_shape(5, 1.0),
    "make_jaxpr": lambda m: lambda: m.make_jaxpr(5),
    "jit_staticmethod": lambda m: lambda: m.jit(staticmethod(f2)),
}


@pytest.mark.parametrize("build", CALL_TIME.values(), ids=CALL_TIME.keys())
def test_functions_taking_a_callable_check_it(build: Callable[[Any], Thunk]) -> None:
    on_both(build)


# ---------------------------------------------------------------------------------------------
# jit: static and donated argnums / argnames against the signature

JIT_REJECTS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "argnames_missing": (f2, {"static_argnames": "nope"}),
    "argnames_one_missing": (f2, {"static_argnames": ["y", "nope"]}),
    "argnames_with_varargs_only": (lambda x, *a: x, {"static_argnames": "nope"}),
    "argnames_positional_only": (f_posonly, {"static_argnames": "x"}),
    "argnames_not_str": (f2, {"static_argnames": [1]}),
    "argnames_int": (f2, {"static_argnames": 1}),
    "argnums_past_end": (f2, {"static_argnums": 2}),
    "argnums_negative": (f2, {"static_argnums": -3}),
    "argnums_tuple": (f2, {"static_argnums": (0, 2)}),
    "argnums_keyword_only": (f_kwonly, {"static_argnums": 1}),
    "argnums_partial": (functools.partial(f2, 1.0), {"static_argnums": 1}),
    "argnames_partial": (functools.partial(f2, 1.0), {"static_argnames": "x"}),
    "argnums_callable_object": (CallableObject(), {"static_argnums": 2}),
    "argnums_str": (f2, {"static_argnums": "1"}),
    "argnums_float": (f2, {"static_argnums": 1.0}),
    "donate_argnums": (f2, {"donate_argnums": 5}),
    "donate_argnames": (f2, {"donate_argnames": "nope"}),
    "static_and_donated": (f2, {"static_argnames": "x", "donate_argnames": "x"}),
}


@pytest.mark.parametrize("fun,options", JIT_REJECTS.values(), ids=JIT_REJECTS.keys())
def test_jit_checks_argnums_and_argnames_when_wrapping(
    fun: Callable[..., Any], options: dict[str, Any]
) -> None:
    on_both(lambda m: lambda: m.jit(fun, **options))


JIT_ACCEPTS: dict[str, tuple[Callable[..., Any], dict[str, Any], tuple[Any, ...]]] = {
    "varargs_any_argnum": (f_varargs, {"static_argnums": 5}, (1.0, 2.0)),
    "kwargs_any_argname": (f_varargs, {"static_argnames": "nope"}, (1.0,)),
    "kwargs_after_x": (f_kwargs, {"static_argnames": "nope"}, (1.0,)),
    "keyword_only_argname": (f_kwonly, {"static_argnames": "y"}, (1.0,)),
    "no_signature": (max, {"static_argnums": (0, 1, 3)}, (1.0, 2.0)),
    "duplicates": (f2, {"static_argnums": (1, 1)}, (2.0, 3)),
    "negative_in_range": (f2, {"static_argnums": -1}, (2.0, 3)),
}


@pytest.mark.parametrize("fun,options,args", JIT_ACCEPTS.values(), ids=JIT_ACCEPTS.keys())
def test_jit_accepts_what_jax_accepts(
    fun: Callable[..., Any], options: dict[str, Any], args: tuple[Any, ...]
) -> None:
    kwargs = {"y": 2.0} if fun is f_kwonly else {}
    expected = jax.jit(fun, **options)(*args, **kwargs)
    np.testing.assert_allclose(refjax.jit(fun, **options)(*args, **kwargs), expected)


def test_jit_static_argnum_before_the_first_argument_fails_when_called() -> None:
    def fresh(*args: Any) -> Any:  # not yet in JAX's caches, which skip this check on a hit
        return args[0]

    on_both(lambda m: lambda: m.jit(fresh, static_argnums=-5)(1.0, 2.0))


def test_jit_static_argnum_past_the_call_fails_when_called() -> None:
    on_both(lambda m: lambda: m.jit(f2, static_argnums=1)(1.0))


def test_make_jaxpr_checks_static_argnums_when_called() -> None:
    on_both(lambda m: lambda: m.make_jaxpr(f2, static_argnums=2)(1.0, 2.0))


# ---------------------------------------------------------------------------------------------
# argnums of the differentiation transforms


def loss(x: Any, y: Any) -> Any:
    return (x * y).sum()


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "jacfwd", "jacrev", "hessian"])
@pytest.mark.parametrize("argnums", [2, -3, (0, 2)], ids=["past_end", "negative", "tuple"])
def test_argnums_out_of_range_when_called(name: str, argnums: Any) -> None:
    x = np.ones(3, np.float32)
    on_both(lambda m: lambda: getattr(m, name)(loss, argnums=argnums)(x, x))


@pytest.mark.parametrize("name", ["grad", "value_and_grad", "jacfwd", "jacrev", "hessian"])
@pytest.mark.parametrize("argnums", [1.0, "1"], ids=["float", "str"])
def test_argnums_of_wrong_type(name: str, argnums: Any) -> None:
    """Raised when wrapping where JAX raises then (all but jacrev), else when called."""
    try:
        wrapped = getattr(jax, name)(loss, argnums=argnums)
    except TypeError:
        on_both(lambda m: lambda: getattr(m, name)(loss, argnums=argnums))
        return
    ours = getattr(refjax, name)(loss, argnums=argnums)
    x = np.ones(3, np.float32)
    assert_same_error(lambda: ours(x, x), lambda: wrapped(x, x), subclass_ok=True)


# ---------------------------------------------------------------------------------------------
# vmap axes against the rank of each value

XS = np.arange(8, dtype=np.float32).reshape(4, 2)


@pytest.mark.parametrize("out_axes", [2, 3, -3, -4])
def test_vmap_out_axes_out_of_range(out_axes: int) -> None:
    on_both(lambda m: lambda: m.vmap(lambda r: r * 2.0, out_axes=out_axes)(XS))


@pytest.mark.parametrize(
    "fun,out_axes",
    [
        (lambda r: r.sum(), 1),
        (lambda r: (r, r), (0, 2)),
        (lambda r: np.ones(2, np.float32), 2),
        (lambda r: np.ones(2, np.float32), -3),
    ],
    ids=["scalar_output", "tuple_entry", "unmapped_output", "unmapped_negative"],
)
def test_vmap_out_axes_out_of_range_per_output(fun: Callable[[Any], Any], out_axes: Any) -> None:
    on_both(lambda m: lambda: m.vmap(fun, out_axes=out_axes)(XS))


def test_vmap_out_axes_out_of_range_in_nested_vmap() -> None:
    xs = np.ones((3, 4, 2), np.float32)
    on_both(lambda m: lambda: m.vmap(m.vmap(lambda r: r * 2.0, out_axes=2))(xs))


@pytest.mark.parametrize("in_axes", [2, -3, ({"a": 2},)])
def test_vmap_in_axes_out_of_range(in_axes: Any) -> None:
    arg = {"a": XS} if isinstance(in_axes, tuple) else XS
    on_both(lambda m: lambda: m.vmap(lambda a: a, in_axes=in_axes)(arg))


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_vmap_axes_in_range_still_work(axis: int) -> None:
    ours = refjax.vmap(lambda r: r * 2.0, in_axes=axis, out_axes=axis)(XS)
    np.testing.assert_array_equal(
        ours, jax.vmap(lambda r: r * 2.0, in_axes=axis, out_axes=axis)(XS)
    )
    unmapped = refjax.vmap(lambda r: rnp.ones(2), out_axes=axis)(XS)
    assert unmapped.shape == jax.vmap(lambda r: jnp.ones(2), out_axes=axis)(XS).shape


# ---------------------------------------------------------------------------------------------
# Shape arguments of jax.numpy

SHAPE_ERRORS: dict[str, Callable[[Any], Thunk]] = {
    "zeros_negative": lambda np_: lambda: np_.zeros((2, -3)),
    "ones_negative_int": lambda np_: lambda: np_.ones(-1),
    "empty_negative": lambda np_: lambda: np_.empty((-1,)),
    "full_negative": lambda np_: lambda: np_.full((-1,), 1.0),
    "zeros_float": lambda np_: lambda: np_.zeros(2.0),
    "zeros_float_dim": lambda np_: lambda: np_.zeros((2.0, 3)),
    "zeros_numpy_float": lambda np_: lambda: np_.zeros((np.float32(3),)),
    "zeros_none": lambda np_: lambda: np_.zeros(None),
    "zeros_str": lambda np_: lambda: np_.zeros("ab"),
    "zeros_nested": lambda np_: lambda: np_.zeros([[2]]),
    "zeros_generator": lambda np_: lambda: np_.zeros(i for i in (2,)),
    "ones_generator": lambda np_: lambda: np_.ones(i for i in (2,)),
    "zeros_forgot_tuple": lambda np_: lambda: np_.zeros(2, 3),
    "ones_forgot_tuple": lambda np_: lambda: np_.ones(2, 3),
    "empty_forgot_tuple": lambda np_: lambda: np_.empty(2, 3),
    "full_float": lambda np_: lambda: np_.full(2.5, 1.0),
    "zeros_like_negative": lambda np_: lambda: np_.zeros_like(np.ones(2), shape=(-1,)),
    "full_like_float": lambda np_: lambda: np_.full_like(np.ones(2), 1.0, shape=2.0),
    "broadcast_to_negative": lambda np_: lambda: np_.broadcast_to(1.0, -1),
    "broadcast_to_float": lambda np_: lambda: np_.broadcast_to(1.0, (2.0,)),
    "broadcast_to_float_list": lambda np_: lambda: np_.broadcast_to(1.0, [2.0]),
    "broadcast_shapes_negative": lambda np_: lambda: np_.broadcast_shapes((-1,), (2,)),
    # 2.5, not 2.0: JAX caches broadcast_shapes, and (2.0,) hits an earlier call's (2,) entry
    "broadcast_shapes_float": lambda np_: lambda: np_.broadcast_shapes((2.5,), (2,)),
    "reshape_float": lambda np_: lambda: np_.reshape(np_.ones(6), 2.0),
    "reshape_float_dim": lambda np_: lambda: np_.reshape(np_.ones(6), (2.0, 3)),
    "reshape_negative": lambda np_: lambda: np_.reshape(np_.ones(6), (-2, -3)),
    "reshape_two_unknown": lambda np_: lambda: np_.reshape(np_.ones(6), (-1, -1)),
    "reshape_method_int": lambda np_: lambda: np_.ones(2).reshape(-3),
    "reshape_method_float": lambda np_: lambda: np_.ones(2).reshape(2.0),
    "reshape_huge": lambda np_: lambda: np_.reshape(np_.ones(6), (2**40, 2**40)),
}


@pytest.mark.parametrize("build", SHAPE_ERRORS.values(), ids=SHAPE_ERRORS.keys())
def test_shape_arguments_are_checked_as_jax(build: Callable[[Any], Thunk]) -> None:
    assert_same_error(build(rnp), build(jnp), subclass_ok=True)


def test_traced_dimension_error_gives_jax_hint() -> None:
    hint = "If using `jit`, try using `static_argnums` or applying `jit` to smaller subfunctions."
    expected = raised(lambda: jax.jit(lambda n: jnp.zeros((n, 2)))(3))
    assert hint in str(expected)
    with pytest.raises(type(expected), match=re.escape(hint)):
        refjax.jit(lambda n: rnp.zeros((n, 2)))(3)


@pytest.mark.parametrize("shape", [3, np.int64(3), (True,), np.array([2, 3])])
def test_integer_like_shapes_still_work(shape: Any) -> None:
    assert rnp.zeros(shape).shape == jnp.zeros(shape).shape


# ---------------------------------------------------------------------------------------------
# Sizes that overflow: XLA rejects them (JAX aborts); refjax raises before allocating

OVERFLOW = "overflow in static extent product"


def jax_overflow_stderr(shape: tuple[int, ...], dtype: str) -> str:
    """What JAX prints when it makes ``jnp.zeros(shape, dtype)`` (in a child: it may abort)."""
    code = f"import jax.numpy as jnp\njnp.zeros({shape!r}, {dtype!r}).block_until_ready()"
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert child.returncode != 0
    return child.stderr


@pytest.mark.parametrize(
    "shape,dtype", [((2**40, 2**40), "float32"), ((2**61,), "float32")], ids=["2d", "bytes"]
)
def test_overflowing_size_fails_as_in_jax(shape: tuple[int, ...], dtype: str) -> None:
    dims = ", ".join(map(str, shape))
    assert f"{OVERFLOW}: dimensions=[{dims}]" in jax_overflow_stderr(shape, dtype)
    with pytest.raises(ValueError, match=re.escape(f"{OVERFLOW}: dimensions=[{dims}]")):
        rnp.zeros(shape, dtype)


OVERFLOWS: dict[str, Thunk] = {
    "dim_past_int64": lambda: rnp.zeros(2**63),
    "ones": lambda: rnp.ones((2**40, 2**40)),
    "full": lambda: rnp.full((2**40, 2**40), 1.0),
    "broadcast_to": lambda: rnp.broadcast_to(1.0, (2**40, 2**40)),
    "zero_after_overflow": lambda: rnp.zeros((2**62, 0, 2**62), np.float32),
    "eye": lambda: rnp.eye(2**40),
    "arange": lambda: rnp.arange(2**62),
    "tile": lambda: rnp.tile(rnp.ones(2), (2**40, 2**40)),
    "jit": lambda: refjax.jit(lambda: rnp.zeros((2**40, 2**40)).sum())(),
    "vmap": lambda: refjax.vmap(lambda r: rnp.zeros((2**40, 2**40)) + r)(np.ones(2)),
}


@pytest.mark.parametrize("thunk", OVERFLOWS.values(), ids=OVERFLOWS.keys())
def test_overflowing_sizes_raise_before_allocating(thunk: Thunk) -> None:
    with pytest.raises(ValueError, match=OVERFLOW):
        thunk()


def test_overflowing_sizes_are_fine_abstractly() -> None:
    def ours() -> Any:
        return rnp.zeros((2**40, 2**40)).sum(0)

    def theirs() -> Any:
        return jnp.zeros((2**40, 2**40)).sum(0)

    staged = [refjax.eval_shape(ours), refjax.make_jaxpr(ours)().out_avals[0]]
    want = jax.eval_shape(theirs)
    assert all((got.shape, got.dtype) == (want.shape, want.dtype) for got in staged)
    assert jax.make_jaxpr(theirs)().out_avals[0].shape == want.shape


@pytest.mark.parametrize("shape", [(0, 2**62, 2**62), (2**62, 0, 2**62)])
def test_zero_sized_shapes_that_xla_counts_are_accepted(shape: tuple[int, ...]) -> None:
    ours = refjax.eval_shape(lambda: rnp.zeros(shape, np.int8))
    theirs = jax.eval_shape(lambda: jnp.zeros(shape, np.int8))
    assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
