"""Fusion: how many kernels a jitted program becomes, and that the plans compute the right thing.

Counts are checked twice: on the plan alone (no device needed), and as launches recorded by
``refjax.profiler`` under ``refjax.jit`` on the OpenCL backend. Results are compared with the
numpy backend (the reference) and with plain numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
import refjax.profiler
from refjax import lax
from refjax.backends.base import device_put
from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.evaluate import evaluate_plan
from refjax.backends.kernels.fusion import (
    FusionOptions,
    KernelStep,
    PrimitiveStep,
    ReshapeStep,
    plan,
)
from refjax.backends.kernels.ir import MapKernel, MatmulKernel, ReduceKernel
from tests.backends.programs import PROGRAMS, Program, f32, seed_loop, softmax

IDS = [p.name for p in PROGRAMS]


def _count_ok(program: Program, count: int) -> bool:
    return count <= program.kernels if program.at_most else count == program.kernels


def _plan_of(fn: Callable[..., Any], *args: Any) -> Any:
    return plan(refjax.make_jaxpr(fn)(*args))


@pytest.mark.parametrize("program", PROGRAMS, ids=IDS)
def test_plan_kernel_count(program: Program) -> None:
    p = _plan_of(program.fn, *program.args)
    assert _count_ok(program, len(p.kernels())), [k.name for k in p.kernels()]
    assert not [s for s in p.steps if isinstance(s, PrimitiveStep)]


@pytest.mark.parametrize("program", PROGRAMS, ids=IDS)
def test_plan_evaluates_to_numpy(program: Program) -> None:
    p = _plan_of(program.fn, *program.args)
    (out,) = evaluate_plan(p, program.args)
    np.testing.assert_allclose(out, program.expected(*program.args), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("program", PROGRAMS, ids=IDS)
def test_launches_on_opencl(program: Program, on_opencl: KernelBackend) -> None:
    args = [device_put(a, "opencl") for a in program.args]
    f = refjax.jit(program.fn)
    f(*args).block_until_ready()  # compile outside the trace
    with refjax.profiler.trace_kernels() as log:
        out = f(*args)
    assert _count_ok(program, len(log.kernels())), [k.name for k in log.launches]
    assert not log.host() and not log.compiles
    reference = refjax.jit(program.fn)(*[device_put(a, "numpy") for a in program.args])
    np.testing.assert_allclose(np.asarray(out), np.asarray(reference), rtol=1e-5, atol=1e-6)


def test_seed_loop_is_exact_on_opencl(on_opencl: KernelBackend) -> None:
    x = f32(10_001)
    out = refjax.jit(seed_loop)(device_put(x, "opencl"))
    np.testing.assert_array_equal(np.asarray(out), seed_loop(x))  # no FMA contraction


def test_seed_loop_kernel_is_vectorised(opencl: KernelBackend) -> None:
    from refjax.backends.kernels.render import render

    (kernel,) = _plan_of(seed_loop, f32(1000)).kernels()
    source = render(kernel, opencl.dialect).source
    assert "vload4" in source and "vstore4" in source


# ---------------------------------------------------------------------------------------------
# Plan structure


def _kinds(p: Any) -> list[str]:
    out = []
    for step in p.steps:
        if isinstance(step, KernelStep):
            out.append(type(step.kernel).__name__)
        elif isinstance(step, PrimitiveStep):
            out.append(step.primitive.name)
        else:
            out.append("reshape")
    return out


def test_reduction_absorbs_producers_and_consumers() -> None:
    x, b = f32(8, 16), f32(8)
    p = _plan_of(lambda x, b: jnp.tanh((jnp.exp(x) * 2).sum(1)) + b, x, b)
    assert _kinds(p) == ["ReduceKernel"]
    (out,) = evaluate_plan(p, [x, b])
    np.testing.assert_allclose(out, np.tanh((np.exp(x) * 2).sum(1)) + b, rtol=1e-5)


def test_multiple_outputs_share_a_kernel() -> None:
    x = f32(100)
    p = _plan_of(lambda x: (x + 1, x * 2, jnp.sin(x)), x)
    assert _kinds(p) == ["MapKernel"]
    assert len(p.kernels()[0].outputs) == 3


def test_reduction_and_its_epilogue_outputs_share_a_kernel() -> None:
    x = f32(8, 16)
    p = _plan_of(lambda x: (x.sum(1), x.sum(1) * 2), x)
    assert _kinds(p) == ["ReduceKernel"]


def test_nested_jit_is_inlined() -> None:
    inner = refjax.jit(lambda x: x * 2 + 1)
    p = _plan_of(lambda x: inner(inner(x)) - 3, f32(50))
    assert _kinds(p) == ["MapKernel"]


def test_views_fuse_without_copies() -> None:
    x = f32(4, 6)
    iota = lax.broadcasted_iota(np.float32, (6, 2), 0)
    p = _plan_of(lambda x: (x.T[::-1, 1:3] + iota).reshape(3, 2, 2), x)
    assert _kinds(p) == ["MapKernel"]
    (out,) = evaluate_plan(p, [x])
    expected = (x.T[::-1, 1:3] + np.arange(6, dtype=np.float32)[:, None]).reshape(3, 2, 2)
    np.testing.assert_array_equal(out, expected)


def test_reshape_of_a_strided_view_materialises() -> None:
    x = f32(4, 6)
    p = _plan_of(lambda x: jnp.exp(x.T.reshape(24)), x)
    assert _kinds(p) == ["MapKernel", "MapKernel"]  # a transposing copy, then exp
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, np.exp(x.T.reshape(24)), rtol=1e-6)


def test_reshape_of_an_input_is_an_alias() -> None:
    p = _plan_of(lambda x: x.reshape(6, 4), f32(4, 6))
    assert _kinds(p) == ["reshape"]


def test_reduced_value_broadcast_back_starts_a_kernel() -> None:
    x = f32(8, 16)
    p = _plan_of(lambda x: x / x.sum(1, keepdims=True), x)
    assert _kinds(p) == ["ReduceKernel", "MapKernel"]


def test_two_reductions_combined() -> None:
    x = f32(8, 16)
    p = _plan_of(lambda x: x.sum(1) * x.max(1), x)
    assert _kinds(p) == ["ReduceKernel", "ReduceKernel"]
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, x.sum(1) * x.max(1), rtol=1e-5)


def test_reduction_of_a_reduction() -> None:
    x = f32(8, 16)
    p = _plan_of(lambda x: x.sum(1).max(), x)
    assert _kinds(p) == ["ReduceKernel", "ReduceKernel"]


def test_matmul_with_transposed_operands_reads_them_in_place() -> None:
    a, b = f32(5, 3), f32(7, 5)
    p = _plan_of(lambda a, b: a.T @ b.T, a, b)
    assert _kinds(p) == ["MatmulKernel"]
    (out,) = evaluate_plan(p, [a, b])
    np.testing.assert_allclose(out, a.T @ b.T, rtol=1e-5)


def test_batched_matmul_with_a_fused_producer() -> None:
    a, b = f32(2, 4, 3), f32(2, 3, 5)
    p = _plan_of(lambda a, b: jnp.einsum("bij,bjk->bik", a * 2, b), a, b)
    assert _kinds(p) == ["MapKernel", "MatmulKernel"]
    (out,) = evaluate_plan(p, [a, b])
    np.testing.assert_allclose(out, np.einsum("bij,bjk->bik", a * 2, b), rtol=1e-5)


def test_matmul_epilogue_computes_every_elementwise_use() -> None:
    x, w, b = f32(7, 5), f32(5, 9), f32(9)

    def fn(x: Any, w: Any, b: Any) -> Any:
        h = x @ w + b
        return jnp.maximum(h, 0), (h > 0).astype(np.int32), (2 * h).sum(0)

    p = _plan_of(fn, x, w, b)
    assert _kinds(p) == ["MatmulKernel", "ReduceKernel"]
    (matmul, _) = p.kernels()
    assert isinstance(matmul, MatmulKernel) and len(matmul.outputs) == 3
    relu, positive, total = evaluate_plan(p, [x, w, b])
    h = x @ w + b
    np.testing.assert_allclose(relu, np.maximum(h, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(positive, (h > 0).astype(np.int32))
    np.testing.assert_allclose(total, (2 * h).sum(0), rtol=1e-5, atol=1e-5)


def test_matmul_result_used_as_a_matmul_operand_is_materialised() -> None:
    x, w = f32(6, 4), f32(4, 6)
    p = _plan_of(lambda x, w: jnp.tanh(x @ w) @ w.T, x, w)
    assert _kinds(p) == ["MatmulKernel", "MatmulKernel"]
    (out,) = evaluate_plan(p, [x, w])
    np.testing.assert_allclose(out, np.tanh(x @ w) @ w.T, rtol=1e-5, atol=1e-6)


def test_matmul_used_only_transposed_is_computed_transposed() -> None:
    # JAX's gradient of x @ w for w is a dot_general then a transpose; the update fuses into it
    x, w, y = f32(6, 4), f32(4, 3), f32(6, 3)

    def step(w: Any, x: Any, y: Any) -> Any:
        g = refjax.grad(lambda w: ((x @ w) * y).sum())(w)
        return w - 0.1 * g

    jaxpr = refjax.make_jaxpr(step)(w, x, y)
    assert "transpose" in str(jaxpr)
    p = plan(jaxpr)
    # the unused loss is not computed; the cotangent becomes a buffer (a matmul operand); the
    # gradient's matmul computes the transpose and the update in its epilogue
    assert [k.name for k in p.kernels()] == ["map_mul", "matmul_mul_sub"]
    (out,) = evaluate_plan(p, [w, x, y])
    np.testing.assert_allclose(out, w - 0.1 * (x.T @ y), rtol=1e-5, atol=1e-6)


def test_transposed_matmul_in_a_jit_inlined_twice() -> None:
    x, w = f32(6, 4), f32(6, 3)
    inner = refjax.jit(lambda x, w: (x.T @ w).T * 2.0)  # dot_general, transpose: swapped

    p = _plan_of(lambda x, w: inner(x, w) + inner(x * 3.0, w), x, w)
    # each inlining computes its matmul transposed (no transpose kernel); the second's epilogue
    # also adds the first's result
    assert [k.name for k in p.kernels()] == ["map_mul", "matmul_mul", "matmul_mul_add"]
    (out,) = evaluate_plan(p, [x, w])
    np.testing.assert_allclose(out, (x.T @ w).T * 2 + (3 * x.T @ w).T * 2, rtol=1e-5, atol=1e-5)


def test_matmul_as_primitive_when_asked() -> None:
    p = plan(refjax.make_jaxpr(lambda a, b: a @ b)(f32(2, 3), f32(3, 4)),
             FusionOptions(matmul_kernels=False))
    assert _kinds(p) == ["dot_general"]


def test_host_fallback_steps() -> None:
    x = f32(10)
    p = _plan_of(lambda x: jnp.sort(x * 2) + 1, x)
    assert _kinds(p) == ["MapKernel", "sort", "MapKernel"]
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, np.sort(x * 2) + 1, rtol=1e-6)


def test_float64_without_device_support_runs_on_the_host(x64: None) -> None:
    x = np.arange(4.0)
    p = plan(refjax.make_jaxpr(lambda x: x * 2)(x), FusionOptions(fp64=False))
    assert _kinds(p) == ["mul"]


def test_outputs_that_are_inputs_literals_or_duplicates() -> None:
    x = f32(3)
    p = _plan_of(lambda x: (x, 1.0, x * 2, x * 2), x)
    outs = evaluate_plan(p, [x])
    assert len(p.kernels()) == 1
    np.testing.assert_array_equal(outs[0], x)
    assert float(outs[1]) == 1.0
    np.testing.assert_array_equal(outs[2], x * 2)
    np.testing.assert_array_equal(outs[3], x * 2)


def test_size_zero_and_scalars() -> None:
    for x in (np.zeros((0, 3), np.float32), np.float32(2.5)):
        p = _plan_of(lambda x: (jnp.exp(x) * 2, x.sum()), x)
        got = evaluate_plan(p, [x])
        np.testing.assert_allclose(got[0], np.exp(x) * 2, rtol=1e-6)
        np.testing.assert_allclose(got[1], x.sum(), rtol=1e-6)


def test_control_flow_is_a_primitive_step_around_fused_bodies() -> None:
    def f(x: Any) -> Any:
        return lax.fori_loop(0, 3, lambda i, v: v * 2 + 1, x)

    x = f32(5)
    p = _plan_of(f, x)
    assert _kinds(p) == ["scan"]  # fori_loop with static bounds is a scan, as in JAX
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, ((x * 2 + 1) * 2 + 1) * 2 + 1, rtol=1e-6)


def test_budget_splits_huge_kernels() -> None:
    n = 40
    args = [f32(8) for _ in range(n)]
    p = _plan_of(lambda *xs: sum(xs[1:], xs[0]), *args)
    assert len(p.kernels()) >= 2
    assert all(len(k.inputs) <= 32 for k in p.kernels() if not isinstance(k, MatmulKernel))
    (out,) = evaluate_plan(p, args)
    np.testing.assert_allclose(out, np.sum(args, axis=0), rtol=1e-5)


def test_kernel_kinds_are_typed() -> None:
    p = _plan_of(softmax, f32(4, 5))
    assert all(isinstance(k, MapKernel | ReduceKernel) for k in p.kernels())
    assert not any(isinstance(s, ReshapeStep) for s in p.steps)


def _all_leaves(seq: Sequence[Any]) -> list[Any]:
    return list(seq)


# ---------------------------------------------------------------------------------------------
# Every program compiles: failure classes found by the random-program generator


FULL_REDUCTIONS_BROADCAST_BACK = [
    ("x-x.mean()", lambda x: x - x.mean(), lambda x: x - x.mean()),
    ("x+x.sum()", lambda x: x + x.sum(), lambda x: x + x.sum()),
    ("x*max(x)", lambda x: x * jnp.max(x), lambda x: x * np.max(x)),
    ("x.sum(1)*x.sum(1)[None]", lambda x: x.sum(1) * x.sum(1).max(),
     lambda x: x.sum(1) * x.sum(1).max()),
]


@pytest.mark.parametrize(("fn", "expected"), [(f, e) for _, f, e in FULL_REDUCTIONS_BROADCAST_BACK],
                         ids=[n for n, _, _ in FULL_REDUCTIONS_BROADCAST_BACK])
def test_full_reduction_broadcast_back_is_materialised(
    fn: Callable[..., Any], expected: Callable[..., Any]
) -> None:
    """A reduced scalar used over a bigger space: its reduce kernel writes it, a map loads it."""
    x = f32(6, 7)
    p = _plan_of(fn, x)
    assert _kinds(p)[-1] == "MapKernel" and not p.fallbacks
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, expected(x), rtol=1e-5, atol=1e-5)


def test_full_reduction_broadcast_back_on_opencl(on_opencl: KernelBackend) -> None:
    x = f32(6, 7)
    f = refjax.jit(lambda x: (x - x.mean(), x * jnp.max(x)))
    args = device_put(x, "opencl")
    f(args)
    with refjax.profiler.trace_kernels() as log:
        centred, scaled = f(args)
    assert len(log.kernels()) == 3 and not log.host()  # a sum, a max, then one map for both
    np.testing.assert_allclose(np.asarray(centred), x - x.mean(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(scaled), x * x.max(), rtol=1e-6)


def test_a_jit_called_twice_redefines_its_variables() -> None:
    """The same inner jaxpr inlined twice: a slot bound by the first call is not reused."""
    inner = refjax.jit(lambda x: (x - x.sum()).T)
    a, b = f32(2, 3), f32(2, 3)
    p = _plan_of(lambda a, b: (inner(a), inner(b) * 2), a, b)
    assert not p.fallbacks
    got = evaluate_plan(p, [a, b])
    np.testing.assert_allclose(got[0], (a - a.sum()).T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], (b - b.sum()).T * 2, rtol=1e-5, atol=1e-6)


def test_a_jit_called_twice_on_a_pending_value() -> None:
    """The second call's operand is still an expression, not a buffer."""
    inner = refjax.jit(lambda x: x.reshape(-1) / x.max())
    a = f32(3, 4)
    p = _plan_of(lambda a: inner(a) + inner(a * 2).sum(), a)
    (out,) = evaluate_plan(p, [a])
    expected = a.reshape(-1) / a.max() + (a * 2 / (a * 2).max()).sum()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_a_planning_failure_splits_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """An equation whose fused form fails is retried on buffers, then runs as a primitive."""
    from refjax.backends.kernels import lower
    from refjax.primitives import transcendental as tr

    def broken(*args: Any) -> Any:
        raise RuntimeError("no fused form")

    monkeypatch.setitem(lower.lowerings, tr.exp_p, broken)
    x = f32(4, 5)
    p = _plan_of(lambda x: jnp.exp(x * 2) + 1, x)
    assert _kinds(p) == ["MapKernel", "exp", "MapKernel"]
    assert len(p.fallbacks) == 2
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, np.exp(x * 2) + 1, rtol=1e-6)


def test_a_planner_bug_never_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure outside any one equation: the whole jaxpr runs as primitive steps."""
    from refjax.backends.kernels import fusion

    def broken(self: Any, outvars: Any) -> Any:
        raise RuntimeError("planner bug")

    monkeypatch.setattr(fusion._Planner, "_materialise_outputs", broken)
    x = f32(4, 5)
    p = _plan_of(lambda x: (x * 2).sum(0), x)
    assert _kinds(p) == ["mul", "reduce_sum"] and p.fallbacks
    (out,) = evaluate_plan(p, [x])
    np.testing.assert_allclose(out, (x * 2).sum(0), rtol=1e-5)
