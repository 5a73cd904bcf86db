"""AD options as JAX 0.10 takes them: ``holomorphic`` (grad, value_and_grad, jacfwd, jacrev,
hessian), ``allow_int`` with integer inputs (float0 cotangents; jacrev's block in the input's
dtype), ``reduce_axes`` (accepted empty, rejected otherwise), ``jacobian``, the dtype and weak
type of Jacobian blocks, ``linear_transpose`` (through jit and vmap too), ``closure_convert``
(under grad, jit and vmap), ``tree_util.Partial``, and JAX's errors for each. Each case runs
on refjax and on real JAX and must give the same value, dtype and weak type, or the same
exception class and message."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.oracle import jax

Case = Callable[[ModuleType], Any]

CASES: dict[str, Case] = {
    "grad_holomorphic": lambda m: m.grad(lambda z: z * z * z, holomorphic=True)(
        m.numpy.asarray(1 + 2j)),
    "grad_holomorphic_real_output": lambda m: m.grad(lambda z: (z * z).real, holomorphic=True)(
        m.numpy.asarray(1 + 2j)),
    "grad_holomorphic_real_input": lambda m: m.grad(lambda z: z * z, holomorphic=True)(1.0),
    "grad_complex_output": lambda m: m.grad(lambda z: z * z)(m.numpy.asarray(1 + 2j)),
    "grad_of_real_part": lambda m: m.grad(lambda z: (z * z).real)(m.numpy.asarray(1 + 2j)),
    "grad_holomorphic_int": lambda m: m.grad(lambda z: z * z, holomorphic=True,
                                             allow_int=True)(1),
    "value_and_grad_holomorphic": lambda m: m.value_and_grad(lambda z: m.numpy.sin(z),
                                                             holomorphic=True)(
        m.numpy.asarray(0.5 - 1j)),
    "grad_reduce_axes": lambda m: m.grad(lambda x: x * x, reduce_axes=("i",)),
    "grad_reduce_axes_empty": lambda m: m.grad(lambda x: x * x, reduce_axes=())(3.0),
    "value_and_grad_reduce_axes": lambda m: m.value_and_grad(lambda x: x, reduce_axes=("i",)),
    "vjp_reduce_axes": lambda m: m.vjp(lambda x: x * x, 1.0, reduce_axes=("i",)),
    "grad_int_allowed": lambda m: m.grad(lambda x: x * 2.0, allow_int=True)(1),
    "grad_string": lambda m: m.grad(lambda x: x.sum())(np.array(["a"])),
    "jacfwd_complex_input": lambda m: m.jacfwd(lambda z: z * z)(m.numpy.asarray(1 + 2j)),
    "jacfwd_int_input": lambda m: m.jacfwd(lambda x: x * 2)(1),
    "jacfwd_holomorphic": lambda m: m.jacfwd(lambda z: z * z * m.numpy.ones(2),
                                             holomorphic=True)(m.numpy.asarray(1 + 2j)),
    "jacfwd_holomorphic_real_input": lambda m: m.jacfwd(lambda z: z, holomorphic=True)(1.0),
    "jacfwd_holomorphic_real_output": lambda m: m.jacfwd(lambda z: (z * z).real,
                                                         holomorphic=True)(
        m.numpy.asarray(1 + 2j)),
    "jacrev_complex_output": lambda m: m.jacrev(lambda z: z * z)(m.numpy.asarray(1 + 2j)),
    "jacrev_holomorphic": lambda m: m.jacrev(lambda z: m.numpy.sin(z) * m.numpy.ones(2),
                                             holomorphic=True)(
        m.numpy.asarray([1 + 2j, 0.5j])),
    "jacrev_holomorphic_real_input": lambda m: m.jacrev(lambda z: z, holomorphic=True)(1.0),
    "jacrev_int_output": lambda m: m.jacrev(lambda x: x * 2, allow_int=True)(1),
    "jacrev_int_input_allowed": lambda m: m.jacrev(lambda x: x * 2.0, allow_int=True)(
        m.numpy.arange(3)),
    "jacrev_int_input": lambda m: m.jacrev(lambda x: x * 2.0)(1),
    "jacobian": lambda m: m.jacobian(lambda x: m.numpy.sin(x) * x)(m.numpy.arange(3.0)),
    "hessian_holomorphic": lambda m: m.hessian(lambda z: z * z * z, holomorphic=True)(
        m.numpy.asarray(1 + 2j)),
    # Jacobian blocks keep the dtype and weak type JAX gives them
    "jacrev_weak": lambda m: m.jacrev(lambda x: x * 2.0)(1.0),
    "jacfwd_weak": lambda m: m.jacfwd(lambda x: x * 2.0)(1.0),
    "jacfwd_f16_output": lambda m: m.jacfwd(lambda x: (x * 2).astype(m.numpy.float16))(1.0),
    "jacrev_f16_output": lambda m: m.jacrev(lambda x: (x * 2).astype(m.numpy.float16))(1.0),
    "jacrev_pytree": lambda m: m.jacrev(lambda p: {"y": p["a"] * p["b"]})(
        {"a": 2.0, "b": m.numpy.arange(2.0)}),
}

A = np.arange(6.0, dtype=np.float32).reshape(2, 3)
F32 = np.float32


def _transposed(m: ModuleType) -> Any:
    return m.linear_transpose(lambda x: m.numpy.dot(A, x) * 2.0, np.ones(3, F32))


def _closure(m: ModuleType, x: Any) -> Any:
    def g(y: Any) -> Any:
        return m.numpy.sin(x) * y + 3.0

    converted, consts = m.closure_convert(g, 2.0)
    return converted(2.0, *consts), len(consts)


CASES.update({
    "transpose_dot": lambda m: _transposed(m)(np.arange(2.0, dtype=F32)),
    "transpose_pytree": lambda m: m.linear_transpose(
        lambda x, y: {"s": x + 2 * y, "d": x - y}, 1.0, 2.0)({"s": 1.0, "d": 3.0}),
    "transpose_cumsum_reversed": lambda m: m.linear_transpose(
        lambda x: m.numpy.cumsum(x)[::-1], np.ones(4, F32))(np.arange(4.0, dtype=F32)),
    "transpose_int": lambda m: m.linear_transpose(lambda x: x * 2, 1)(3),
    "transpose_under_jit": lambda m: m.jit(lambda ct: _transposed(m)(ct))(
        np.arange(2.0, dtype=F32)),
    "transpose_under_vmap": lambda m: m.vmap(_transposed(m))(np.ones((3, 2), F32)),
    "transpose_nonlinear": lambda m: m.linear_transpose(lambda x: m.numpy.sin(x), 1.0)(1.0),
    "transpose_float_to_int": lambda m: m.linear_transpose(lambda x: x.astype(np.int32), 1.0),
    "transpose_bad_tree": lambda m: _transposed(m)([1.0, 2.0]),
    "transpose_bad_type": lambda m: _transposed(m)(np.ones(3, F32)),
    "transpose_reduce_axes": lambda m: m.linear_transpose(lambda x: x, 1.0, reduce_axes=("i",)),
    "closure_eager": lambda m: _closure(m, 1.0),
    "closure_grad": lambda m: m.grad(lambda x: _closure(m, x)[0])(1.0),
    "closure_jit": lambda m: m.jit(lambda x: _closure(m, x)[0])(1.0),
    "closure_vmap": lambda m: m.vmap(lambda x: _closure(m, x)[0])(m.numpy.arange(3.0)),
    "closure_int_const": lambda m: m.jit(lambda n: (lambda gc, c: (gc(2.0, *c), len(c)))(
        *m.closure_convert(lambda y: y * n, 1.0)))(3),
    "closure_bad_tree": lambda m: m.grad(lambda x: m.closure_convert(lambda y: x * y, 1.0)[0](
        [1.0], *m.closure_convert(lambda y: x * y, 1.0)[1]))(1.0),
    "partial_through_jit": lambda m: m.jit(lambda f, x: f(x))(
        m.tree_util.Partial(lambda a, b, c=1.0: a * b + c, 2.0, c=3.0), 4.0),
    "partial_leaves": lambda m: m.tree_util.tree_leaves(
        m.tree_util.Partial(lambda a, b, c=1.0: a * b + c, 2.0, c=3.0)),
})


def _outcome(case: Case, m: ModuleType) -> Any:
    """What the case gives: each leaf's value, dtype and weak type, or the exception."""
    try:
        result = case(m)
    except (TypeError, ValueError, NotImplementedError) as err:
        return (type(err).__name__, str(err))
    if callable(result):
        return "a function"
    leaves, tree = m.tree_util.tree_flatten(result)
    return str(tree), [(_value(np.asarray(x)), np.asarray(x).dtype.name,
                        bool(getattr(x, "weak_type", False))) for x in leaves]


def _value(x: np.ndarray) -> Any:
    if x.dtype.kind == "V":  # float0: no values, only a shape
        return x.shape
    return x.astype(np.complex128).round(5).tolist()


@pytest.mark.parametrize("name", CASES)
def test_as_jax(name: str) -> None:
    case = CASES[name]
    assert _outcome(case, refjax) == _outcome(case, jax.load())
