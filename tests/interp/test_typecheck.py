"""``typecheck_jaxpr``: well-typed jaxprs pass; every kind of mismatch names its equation.

Ill-typed jaxprs are written as text (the parser does not check types) or built from ``Var``s
when the text cannot express the fault (a weak type, a variable read before it is bound).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax
from refjax.interp.core import (
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    ShapedArray,
    Var,
)
from refjax.interp.parser import parse_jaxpr
from refjax.interp.typecheck import JaxprTypeError, typecheck_jaxpr
from refjax.primitives.elementwise import add_p
from refjax.primitives.transcendental import sin_p
from tests.primitives.records import OpRecord, all_records, case_args, x64_for

F32 = np.dtype(np.float32)
SCALAR = ShapedArray((), F32)


def _fails(jaxpr: Jaxpr | ClosedJaxpr, *phrases: str) -> str:
    with pytest.raises(JaxprTypeError) as info:
        typecheck_jaxpr(jaxpr)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, message
    return message


# ---------------------------------------------------------------------------------------------
# Well-typed jaxprs pass


@pytest.mark.parametrize(
    "rec", [pytest.param(r, id=f"{i}-{r.name}") for i, r in enumerate(all_records())]
)
def test_every_record_typechecks(rec: OpRecord) -> None:
    shapes, dtype = rec.cases()[0]
    with x64_for(dtype):
        args = case_args(rec, shapes, dtype)
        typecheck_jaxpr(refjax.make_jaxpr(lambda *a: rec.op(lax, *a))(*args))


X = np.arange(6, dtype=np.float32).reshape(2, 3)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x * refjax.numpy.sin(x) + 1.0,
        lambda x: refjax.numpy.add(x, np.ones(3, np.float32)),
        lambda x: lax.cond(x[0, 0] > 0, lax.sin, lax.cos, x),
        lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0), (0, x)),
        lambda x: lax.scan(lambda c, r: (c + r, c * r), np.zeros(3, np.float32), x),
        lambda x: refjax.jit(lambda y: y * 2.0 + np.ones(3, np.float32))(x),
        lambda x: refjax.numpy.argmax(refjax.numpy.sum(x, axis=0) ** 2),
    ],
    ids=["arith", "consts", "cond", "while", "scan", "jit", "reductions"],
)
def test_staged_programs_typecheck(fn: Any) -> None:
    typecheck_jaxpr(refjax.make_jaxpr(fn)(X))


def test_open_jaxpr_typechecks() -> None:
    typecheck_jaxpr(refjax.make_jaxpr(lambda x: x + 1.0)(X).jaxpr)


# ---------------------------------------------------------------------------------------------
# Mismatches written as text


def test_output_dtype_mismatch() -> None:
    jaxpr = parse_jaxpr("{ lambda ; a:f32[3]. let b:i32[3] = sin a in (b,) }")
    _fails(
        jaxpr,
        "in equation `b:i32[3] = sin a`",
        "output 0 (b) is declared ShapedArray(int32[3])",
        "abstract evaluation gives ShapedArray(float32[3])",
    )


def test_output_shape_mismatch() -> None:
    jaxpr = parse_jaxpr("{ lambda ; a:f32[3] b:f32[3]. let c:f32[4] = add a b in (c,) }")
    _fails(jaxpr, "`c:f32[4] = add a b`", "declared ShapedArray(float32[4])", "float32[3]")


def test_abstract_eval_failure_is_reported_with_its_message() -> None:
    jaxpr = parse_jaxpr("{ lambda ; a:f32[3] b:i32[3]. let c:f32[3] = add a b in (c,) }")
    message = _fails(jaxpr, "`c:f32[3] = add a b`", "abstract evaluation failed")
    assert "lax.add requires arguments to have the same dtypes, got float32, int32" in message
    with pytest.raises(JaxprTypeError) as info:
        typecheck_jaxpr(jaxpr)
    assert isinstance(info.value.__cause__, TypeError)


def test_bad_params_are_reported() -> None:
    jaxpr = parse_jaxpr(
        "{ lambda ; a:f32[2,3]. let b:f32[3,2] = transpose[permutation=(0, 0)] a in (b,) }"
    )
    _fails(jaxpr, "transpose[permutation=(0, 0)] a", "abstract evaluation failed")


def test_wrong_number_of_outputs() -> None:
    jaxpr = parse_jaxpr("{ lambda ; a:f32[]. let b:f32[] c:f32[] = sin a in (b,) }")
    _fails(jaxpr, "2 output variables for 1 results")


def test_nested_jaxpr_is_checked() -> None:
    text = """{ lambda ; a:f32[3]. let
    b:f32[3] = jit[
      jaxpr={ lambda ; c:f32[3]. let d:f32[3] = sin c; e:f32[3] = cos d in (e,) }
      name=f
    ] a
  in (b,) }"""
    good = parse_jaxpr(text)
    typecheck_jaxpr(good)
    bad = parse_jaxpr(text.replace("e:f32[3] = cos", "e:i32[3] = cos"))
    # (the body is printed named at its call site, as JAX 0.10 prints a jit)
    _fails(bad, "in equation `b:f32[3] = jit[", "in a jaxpr param", "`b:i32[3] = cos c`")


def test_nested_jaxprs_in_tuples_are_checked() -> None:
    closed = refjax.make_jaxpr(lambda x: lax.cond(x[0] > 0, lax.sin, lax.cos, x))(X[0])
    typecheck_jaxpr(closed)
    bad_text = str(closed).replace("= cos", "= neg")
    bad = parse_jaxpr(bad_text.replace("f32[3] = neg", "i32[3] = neg"))
    _fails(bad, "cond[", "in a jaxpr param", "= neg")


# ---------------------------------------------------------------------------------------------
# Mismatches the text cannot express: built from Vars


def test_weak_type_mismatch() -> None:
    a = Var(SCALAR)
    b = Var(SCALAR.update(weak_type=True))
    jaxpr = Jaxpr((), (a,), (b,), (JaxprEqn(sin_p, (a,), (b,), {}),))
    _fails(jaxpr, "declared ShapedArray(float32[], weak_type=True)", "gives ShapedArray(float32[])")


def test_variable_read_before_bound() -> None:
    a, b, c = Var(SCALAR), Var(SCALAR), Var(SCALAR)
    eqns = (JaxprEqn(add_p, (a, c), (b,), {}), JaxprEqn(sin_p, (a,), (c,), {}))
    _fails(Jaxpr((), (a,), (b,), eqns), "`b:f32[] = add a c`", "variable c is read before")


def test_outvar_never_bound() -> None:
    a, b = Var(SCALAR), Var(SCALAR)
    _fails(Jaxpr((), (a,), (b,), ()), "variable b is read before it is bound")


def test_variable_bound_twice() -> None:
    a, b = Var(SCALAR), Var(SCALAR)
    eqns = (JaxprEqn(sin_p, (a,), (b,), {}), JaxprEqn(sin_p, (b,), (b,), {}))
    _fails(Jaxpr((), (a,), (b,), eqns), "`b:f32[] = sin b`", "variable b is bound twice")


def test_input_bound_twice() -> None:
    a = Var(SCALAR)
    _fails(Jaxpr((a,), (a,), (a,), ()), "variable a is bound twice")


def test_literal_value_must_match_its_aval() -> None:
    a, b = Var(SCALAR), Var(SCALAR)
    lit = Literal(np.int32(1), SCALAR)
    jaxpr = Jaxpr((), (a,), (b,), (JaxprEqn(add_p, (a, lit), (b,), {}),))
    _fails(jaxpr, "literal 1:f32[] has a value of aval ShapedArray(int32[])")


def test_consts_must_match_constvars() -> None:
    c, a, b = Var(ShapedArray((3,), F32)), Var(ShapedArray((3,), F32)), Var(ShapedArray((3,), F32))
    jaxpr = Jaxpr((c,), (a,), (b,), (JaxprEqn(add_p, (a, c), (b,), {}),))
    typecheck_jaxpr(ClosedJaxpr(jaxpr, (np.ones(3, np.float32),)))
    _fails(ClosedJaxpr(jaxpr, ()), "1 constvars but 0 consts")
    _fails(
        ClosedJaxpr(jaxpr, (np.ones(4, np.float32),)),
        "const for constvar a has aval ShapedArray(float32[4])",
        "declared ShapedArray(float32[3])",
    )
