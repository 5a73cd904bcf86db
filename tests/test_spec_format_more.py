"""The format's extensions: vmap axis trees, has_aux/allow_int, float0 values, custom_jvp,
custom_vjp and random programs: JSON round trips, backward compatibility, and the JaxLikeAdapter
applying them (on refjax; on JAX where it is installed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spec.adapters import Adapter, JaxAdapter, RefjaxAdapter
from spec.format import (
    FLOAT0,
    LEAF,
    AxisDict,
    Case,
    Check,
    CustomJvpProgram,
    CustomVjpProgram,
    DType,
    Grad,
    JaxprProgram,
    Jvp,
    Outputs,
    RandomProgram,
    Transform,
    Value,
    Vjp,
    Vmap,
    load_cases,
    program_from_json,
    program_to_json,
    transform_from_json,
    transform_to_json,
)

SIN = "{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }"
SIN_RULE = (
    "{ lambda ; a:f32[3] b:f32[3]. let c:f32[3] = sin a; d:f32[3] = cos a; "
    "e:f32[3] = mul 3.0:f32[] d; f:f32[3] = mul e b in (c, f) }"
)
SIN_FWD = "{ lambda ; a:f32[3]. let b:f32[3] = sin a; c:f32[3] = cos a in (b, c) }"
SIN_BWD = (
    "{ lambda ; a:f32[3] b:f32[3]. let c:f32[3] = mul 5.0:f32[] a; d:f32[3] = mul c b "
    "in (d,) }"
)
PAIR = "{ lambda ; a:f32[2,3] b:f32[3]. let c:f32[2,3] = mul a 2.0:f32[] in (c, b) }"


def _round(t: Transform) -> Transform:
    return transform_from_json(json.loads(json.dumps(transform_to_json(t))))


@pytest.mark.parametrize(
    "t",
    [
        Vmap((0, None)),
        Vmap((-1, None), (1, None, -2)),
        Vmap(None, 1, axis_size=3),
        Vmap(2, -1),
        Vmap((AxisDict((("v", 0), ("w", None))), (0, (None,))), 0,
             (AxisDict((("v", LEAF), ("w", LEAF))), (LEAF, (LEAF,)))),
        Grad((0, 2), has_aux=True, allow_int=True),
        Jvp((1,), (Value.float0((2,)),), has_aux=True),
        Vjp((0,), (Value.of(np.ones(3, np.float32)),), has_aux=True),
    ],
)
def test_transform_round_trip(t: Transform) -> None:
    again = _round(t)
    assert type(again) is type(t)
    assert json.dumps(transform_to_json(again)) == json.dumps(transform_to_json(t))
    if not isinstance(t, (Jvp, Vjp)):  # (values with data compare by their JSON)
        assert again == t


def test_old_json_loads_unchanged() -> None:
    assert transform_from_json({"vmap": {"in_axes": [0, None], "out_axes": 0}}) == Vmap((0, None))
    assert transform_from_json({"grad": {"argnums": [1]}}) == Grad((1,))
    assert transform_to_json(Grad((1,))) == {"grad": {"argnums": [1]}}
    assert transform_to_json(Vmap((0, None))) == {"vmap": {"in_axes": [0, None], "out_axes": 0}}


def test_every_existing_case_writes_back_the_same() -> None:
    for case in load_cases(["programs", "control_flow"]):
        text = json.dumps(case.to_json())
        assert json.dumps(Case.from_json(json.loads(text), case.topic).to_json()) == text


def test_float0_values() -> None:
    v = Value.float0((2, 3))
    obj = v.to_json()
    assert obj == {"dtype": FLOAT0, "shape": [2, 3], "weak_type": False, "data": []}
    back = Value.from_json(obj)
    assert (back.dtype, back.shape) == (FLOAT0, (2, 3)) and back.data is not None
    of = Value.of(np.zeros((4,), [("float0", "V")]))
    assert of.to_json() == Value.float0((4,)).to_json()


@pytest.mark.parametrize(
    "program",
    [
        CustomJvpProgram(SIN, SIN_RULE),
        CustomJvpProgram(SIN, SIN_RULE, (1,)),
        CustomVjpProgram(SIN, SIN_FWD, SIN_BWD),
        RandomProgram("uniform", (("shape", (2, 3)), ("dtype", DType("float32")),
                                  ("minval", -1.0))),
        RandomProgram("split"),
    ],
)
def test_program_round_trip(program: object) -> None:
    obj = json.loads(json.dumps(program_to_json(program)))  # type: ignore[arg-type]  # any kind
    assert program_from_json(obj) == program


def _adapters() -> list[Adapter]:
    adapters: list[Adapter] = [RefjaxAdapter("numpy")]
    try:
        adapters.append(JaxAdapter())
    except ImportError:  # JAX is optional: refjax alone
        pass
    return adapters


def _x() -> np.ndarray:
    return np.asarray([0.1, -0.7, 1.3], np.float32)


@pytest.mark.parametrize("adapter", _adapters(), ids=lambda a: a.name)
def test_custom_rules_are_used(adapter: Adapter) -> None:
    adapter.configure(x64=False)
    x, t = _x(), np.asarray([1.0, 2.0, -1.0], np.float32)
    (_, tangent) = adapter.evaluate(CustomJvpProgram(SIN, SIN_RULE),
                                    [Jvp((0,), (Value.of(t),))], [Value.of(x)])
    np.testing.assert_allclose(np.asarray(tangent.data), 3 * np.cos(x) * t, rtol=1e-6)
    (_, ct) = adapter.evaluate(CustomVjpProgram(SIN, SIN_FWD, SIN_BWD),
                               [Vjp((0,), (Value.of(t),))], [Value.of(x)])
    np.testing.assert_allclose(np.asarray(ct.data), 5 * np.cos(x) * t, rtol=1e-6)


@pytest.mark.parametrize("adapter", _adapters(), ids=lambda a: a.name)
def test_vmap_axes_and_grad_options(adapter: Adapter) -> None:
    adapter.configure(x64=False)
    a = np.arange(24, dtype=np.float32).reshape(2, 4, 3)  # batch 4 on axis 1
    b = np.arange(3, dtype=np.float32)
    outs = adapter.evaluate(JaxprProgram(PAIR), [Vmap((1, None), (-1, None))],
                            [Value.of(a), Value.of(b)])
    assert outs[0].shape == (2, 3, 4) and outs[1].shape == (3,)
    np.testing.assert_array_equal(outs[0].data, np.moveaxis(a * 2, 1, -1))
    tree = Vmap((AxisDict((("a", 1), ("b", None))),), (-1, None), (AxisDict((("a", LEAF),
                                                                            ("b", LEAF))),))
    again = adapter.evaluate(JaxprProgram(PAIR), [tree], [Value.of(a), Value.of(b)])
    np.testing.assert_array_equal(again[0].data, outs[0].data)
    text = ("{ lambda ; a:f32[] b:i32[]. let c:f32[] = convert_element_type[new_dtype=float32 "
            "weak_type=False] b; d:f32[] = mul a c; e:f32[] = mul d a in (e, c) }")
    grads = adapter.evaluate(JaxprProgram(text), [Grad((0, 1), has_aux=True, allow_int=True)],
                             [Value.of(np.float32(2.0)), Value.of(np.int32(3))])
    assert [g.type_str() for g in grads] == ["float32[]", "float0[]", "float32[]"]
    assert grads[0].data == 12.0 and grads[2].data == 3.0


@pytest.mark.parametrize("adapter", _adapters(), ids=lambda a: a.name)
def test_random_program(adapter: Adapter) -> None:
    adapter.configure(x64=False)
    key = Value.of(np.asarray([0, 42], np.uint32))
    (keys,) = adapter.evaluate(RandomProgram("split", (("num", 3),)), [], [key])
    assert keys.type_str() == "uint32[3,2]"
    case = Case("t", RandomProgram("split"), (), (key,), Outputs(()), Check("exact"), "")
    text = json.dumps(case.to_json())
    assert json.dumps(Case.from_json(json.loads(text)).to_json()) == text
