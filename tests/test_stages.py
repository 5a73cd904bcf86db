"""``refjax.stages``: every stage of a program as data, checked against independent answers.

For a handful of programs (a scalar one, a vector one, ``cond``, ``scan``, a ``custom_jvp``
function, ``random.normal`` of a key) each stage is compared with what refjax's interpreters
produce by another path (``make_jaxpr`` of ``jvp``/``linearize``/``vjp``/``vmap``/``grad``
through the API), with real JAX's jaxpr text where refjax prints the same program as JAX, and
by value: each stage's jaxpr is evaluated and compared with JAX's ``jvp``/``vjp``/``vmap`` of the
same function (or a loop). Fusion plans run on the IR evaluator and must compute the function;
kernel sources must be the renderer's, made without any device runtime.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import stages
from refjax.backends.kernels import fusion
from refjax.backends.kernels.dialects import CUDA, OPENCL, Dialect
from refjax.backends.kernels.evaluate import evaluate_plan
from refjax.backends.kernels.render import render
from refjax.interp.core import ClosedJaxpr, eval_jaxpr
from refjax.interp.staging import inline_calls
from tests.oracle import jax
from tests.stage_programs import (
    BY_NAME,
    DIFFERENTIABLE,
    PROGRAMS,
    X3,
    Y3,
    Program,
    batch_of,
)
from tests.tolerances import F32, FUZZ_GRAD_RTOL, FUZZ_VALUE_RTOL, SAMPLER_ATOL, SAMPLER_RTOL


def jax_text(closed: Any) -> str:
    """JAX's jaxpr text, with the one spelling refjax does not copy (``axes=(np.int64(1),)``:
    an index JAX's vmap leaves a numpy scalar) written as refjax writes it."""
    return re.sub(r"np\.int64\((-?\d+)\)", r"\1", str(closed))


def flat(tree: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in refjax.tree_util.tree_leaves(tree)]


def run(closed: ClosedJaxpr, *args: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in eval_jaxpr(closed.jaxpr, closed.consts, *args)]


def close(ours: list[np.ndarray], theirs: list[np.ndarray], rtol: float,
          atol: float | None = None) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=rtol, atol=rtol if atol is None else atol)


def value_tol(p: Program) -> tuple[float, float]:
    """(rtol, atol) of the program's values against JAX: a sampler's for ``random.normal``
    (XLA's erf_inv), the differential fuzzer's for the others."""
    if p.name == "random":
        return SAMPLER_RTOL["normal"][F32], SAMPLER_ATOL[F32]
    return FUZZ_VALUE_RTOL, FUZZ_VALUE_RTOL


def tangents(p: Program) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    return tuple(rng.standard_normal(np.shape(a)).astype(np.float32) for a in p.args)


# ---------------------------------------------------------------------------------------------
# Traced, JVP, linearize, transpose, grad, vmap


@pytest.mark.parametrize("p", PROGRAMS, ids=str)
def test_traced_is_make_jaxpr(p: Program) -> None:
    f = p.build(refjax)
    closed = stages.traced(f, *p.args)
    assert str(closed) == str(refjax.make_jaxpr(f)(*p.args))
    if "traced" in p.as_jax:
        assert str(closed) == jax_text(jax.make_jaxpr(p.build(jax))(*p.args))


def test_traced_flattens_pytrees_and_keywords() -> None:
    def f(pair: Any, *, scale: Any) -> Any:
        return {"out": pair[0] * scale["s"] + pair[1]}

    closed = stages.traced(f, (X3, Y3), scale={"s": np.float32(2.0)})
    assert [a.shape for a in closed.in_avals] == [(3,), (3,), ()]
    np.testing.assert_allclose(run(closed, X3, Y3, np.float32(2.0))[0], X3 * 2 + Y3)
    assert "mul a c" in str(closed)


@pytest.mark.parametrize("p", DIFFERENTIABLE, ids=str)
def test_jvp_stage(p: Program) -> None:
    f, n = p.build(refjax), len(p.args)
    stage = stages.jvp_stage(f, *p.args)
    assert stage.nonzeros == (True,) * n
    via_api = refjax.make_jaxpr(lambda *a: refjax.jvp(f, a[:n], a[n:]))(*p.args, *p.args)
    assert str(stage.jaxpr) == str(via_api)
    g, t = p.build(jax), tangents(p)
    if "jvp" in p.as_jax:
        theirs = jax.make_jaxpr(lambda *a: jax.jvp(g, a[:n], a[n:]))(*p.args, *p.args)
        assert str(stage.jaxpr) == jax_text(theirs)
    close(run(stage.jaxpr, *p.args, *t), flat(jax.jvp(g, p.args, t)), FUZZ_GRAD_RTOL)


def test_jvp_stage_of_integer_inputs_has_no_tangent_inputs() -> None:
    stage = stages.jvp_stage(BY_NAME["random"].build(refjax), *BY_NAME["random"].args)
    assert stage.nonzeros == (False,)
    assert len(stage.jaxpr.in_avals) == 1 and len(stage.jaxpr.out_avals) == 2


@pytest.mark.parametrize("p", DIFFERENTIABLE, ids=str)
def test_linearize_stage(p: Program) -> None:
    f, g, t = p.build(refjax), p.build(jax), tangents(p)
    lin = stages.linearize_stage(f, *p.args)
    n_res = len(lin.residuals)
    # The known jaxpr computes the primal outputs and the residuals; the linear one maps the
    # residuals and the tangents to the output tangents: together, JAX's jvp.
    known = run(lin.known, *p.args)
    primals_out, residuals = known[: lin.num_primal_outputs], known[lin.num_primal_outputs:]
    assert len(residuals) == n_res
    theirs_out, theirs_t = jax.jvp(g, p.args, t)
    close(primals_out, flat(theirs_out), FUZZ_VALUE_RTOL)
    close(run(lin.linear, *residuals, *t), flat(theirs_t), FUZZ_GRAD_RTOL)
    # Each residual names an output of the known jaxpr and the input of the linear one.
    known_names, linear_names = stages.var_names(lin.known), stages.var_names(lin.linear)
    for i, r in enumerate(lin.residuals):
        assert r.known is lin.known.jaxpr.outvars[lin.num_primal_outputs + i]
        assert r.linear is lin.linear.jaxpr.invars[i]
        assert r.known_name == known_names[r.known] and r.linear_name == linear_names[r.linear]
        assert r.aval == r.linear.aval
        binders = r.defined_by.split(" = ")[0].split()
        assert r.known_name in binders or r.defined_by in (
            f"input {r.known_name}", f"constant {r.known_name}")
    if "linearize" in p.as_jax:
        _, f_jvp = refjax.linearize(f, *p.args)
        text = str(lin.linear_with_residuals_as_constants)
        assert text == str(refjax.make_jaxpr(f_jvp)(*t))
        _, g_jvp = jax.linearize(g, *p.args)
        assert text == jax_text(jax.make_jaxpr(g_jvp)(*t))


def test_residuals_of_the_vector_program() -> None:
    # sin(x) * y + cos(y): the tangent needs cos x (for sin's), y, sin x (for the product's)
    # and sin y (for cos's); the known jaxpr computes each, y is an input.
    lin = stages.linearize_stage(BY_NAME["vector"].build(refjax), X3, Y3)
    assert sorted(r.defined_by.split(" = ")[-1] for r in lin.residuals) == [
        "cos a", "input b", "sin a", "sin b"]
    assert [r.linear_name for r in lin.residuals] == ["a", "b", "c", "d"]


@pytest.mark.parametrize("p", DIFFERENTIABLE, ids=str)
def test_vjp_stage(p: Program) -> None:
    f, g = p.build(refjax), p.build(jax)
    stage = stages.vjp_stage(f, *p.args)
    lin = stage.linearize
    residuals = run(lin.known, *p.args)[lin.num_primal_outputs:]
    out, g_vjp = jax.vjp(g, *p.args)
    cts = [np.ones(np.shape(o), np.float32) * 0.75 for o in flat(out)]
    ct_tree = refjax.tree_util.tree_unflatten(refjax.tree_util.tree_structure(out), cts)
    close(run(stage.backward, *residuals, *cts), flat(g_vjp(ct_tree)), FUZZ_GRAD_RTOL)
    # The backward jaxpr is the transpose of the linear one, as transpose_stage makes it.
    n_res = len(lin.residuals)
    undefined = [False] * n_res + [True] * (len(lin.linear.in_avals) - n_res)
    assert str(stage.backward) == str(stages.transpose_stage(lin.linear, undefined))
    if "vjp" in p.as_jax:
        _, f_vjp = refjax.vjp(f, *p.args)
        text = str(stage.backward_with_residuals_as_constants)
        assert text == str(refjax.make_jaxpr(f_vjp)(ct_tree))
        assert text == jax_text(jax.make_jaxpr(g_vjp)(ct_tree))


@pytest.mark.parametrize("p", [p for p in DIFFERENTIABLE if "grad" in p.as_jax], ids=str)
def test_grad_stage(p: Program) -> None:
    f = p.build(refjax)
    closed = stages.grad_stage(f, *p.args)
    assert str(closed) == str(refjax.make_jaxpr(refjax.grad(f))(*p.args))
    assert str(closed) == jax_text(jax.make_jaxpr(jax.grad(p.build(jax)))(*p.args))


@pytest.mark.parametrize("p", PROGRAMS, ids=str)
def test_vmap_stage(p: Program) -> None:
    f, batch = p.build(refjax), batch_of(p)
    stage = stages.vmap_stage(f, 0, *batch)
    assert stage.size == 2 and stage.in_dims == (0,) * len(batch)
    assert str(stage.unbatched) == str(stages.traced(f, *p.args))
    assert str(stage.batched) == str(refjax.make_jaxpr(refjax.vmap(f))(*batch))
    if "vmap" in p.as_jax:
        assert str(stage.batched) == jax_text(jax.make_jaxpr(jax.vmap(p.build(jax)))(*batch))
    # Against a loop over the batch, each slice run by JAX
    g = p.build(jax)
    slices = [flat(g(*[a[i] for a in batch])) for i in range(2)]
    expected = [np.stack(outs) for outs in zip(*slices, strict=True)]
    close(run(stage.batched, *batch), expected, *value_tol(p))


def test_vmap_stage_in_axes() -> None:
    f = lambda x, y: x * y  # noqa: E731
    stage = stages.vmap_stage(f, (1, None), np.ones((3, 2), np.float32), np.float32(2.0))
    assert stage.in_dims == (1, None) and stage.size == 2
    assert [a.shape for a in stage.unbatched.in_avals] == [(3,), ()]
    assert str(stage.batched) == str(refjax.make_jaxpr(refjax.vmap(f, (1, None)))(
        np.ones((3, 2), np.float32), np.float32(2.0)))
    with pytest.raises(ValueError, match="one size"):
        stages.vmap_stage(f, 0, np.ones(2, np.float32), np.ones(3, np.float32))


# ---------------------------------------------------------------------------------------------
# Fusion plans and kernel sources


BACKENDS = ["opencl", "cuda"]


def _closed(p: Program) -> ClosedJaxpr:
    return stages.traced(p.build(refjax), *p.args)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("p", PROGRAMS, ids=str)
def test_fusion_plan(p: Program, backend: stages.BackendName) -> None:
    closed = _closed(p)
    view = stages.fusion_plan(closed, backend)
    # The compiler's own plan of the same jaxpr, made directly
    direct = fusion.plan(inline_calls(closed, fusion._CALLS), stages.backend_options(backend))
    assert fusion.describe(view.plan) == fusion.describe(direct)
    assert view.plan.kernels() == direct.kernels() and view.plan.slots == direct.slots
    # It computes the function (kernels on the IR evaluator, host steps in numpy): JAX's values
    outs = evaluate_plan(view.plan, [np.asarray(a) for a in p.args])
    close(outs, flat(p.build(jax)(*p.args)), *value_tol(p))
    # Buffers named by the planned jaxpr's variables, bytes as the profiler counts them
    names = set(stages.var_names(view.jaxpr).values())
    for step in view.steps:
        for name in (*step.inputs, *step.outputs):
            assert name in names or re.fullmatch(r"(tmp|const)\d+", name), name
        if step.kind != "reshape":
            assert step.bytes_read == sum(a.size * a.dtype.itemsize for a in step.input_avals)
            assert step.bytes_written == sum(
                a.size * a.dtype.itemsize for a in step.output_avals)
        assert all(0 <= i < len(view.jaxpr.eqns) for i in step.equations)
    assert view.inputs == tuple(stages.var_names(view.jaxpr)[v] for v in view.jaxpr.jaxpr.invars)
    # Every equation whose result the function returns is computed by some step
    computed = {i for s in view.steps for i in s.equations}
    outvars = set(view.jaxpr.jaxpr.outvars)
    for i, eqn in enumerate(view.jaxpr.eqns):
        if outvars & set(eqn.outvars):
            assert i in computed, eqn


def test_fusion_plan_names_kernels_by_variables() -> None:
    # exp(x - max(x)) summed: the max is reduced first; its value broadcast back starts a second
    # kernel, reading x and the max (design: "a reduced value broadcast back starts a new
    # kernel"). The one output is written once.
    f = lambda x: refjax.numpy.sum(refjax.numpy.exp(x - refjax.numpy.max(x)))  # noqa: E731
    closed = stages.traced(f, np.ones(8, np.float32))
    view = stages.fusion_plan(closed)
    names = stages.var_names(closed)
    (max_eqn,) = [e for e in closed.eqns if e.primitive.name == "reduce_max"]
    m, out = names[max_eqn.outvars[0]], names[closed.jaxpr.outvars[0]]
    k0, k1 = view.kernels()
    assert (k0.inputs, k0.outputs, k0.bytes_read, k0.bytes_written) == (("a",), (m,), 32, 4)
    assert (set(k1.inputs), k1.outputs, k1.bytes_read, k1.bytes_written) == (
        {"a", m}, (out,), 36, 4)
    assert k0.equations == (closed.eqns.index(max_eqn),)
    assert k1.equations[-1] == len(closed.eqns) - 1
    assert view.bytes_read == 68 and view.bytes_written == 8
    assert [stages.kernel_kind(k.kernel) for k in (k0, k1) if k.kernel is not None] == [
        "reduce", "reduce"]


def test_fusion_plan_of_a_matmul_per_backend() -> None:
    f = lambda a, b: refjax.numpy.tanh(a @ b)  # noqa: E731
    closed = stages.traced(f, np.ones((4, 5), np.float32), np.ones((5, 3), np.float32))
    cl, cu = stages.fusion_plan(closed, "opencl"), stages.fusion_plan(closed, "cuda")
    assert [s.kind for s in cl.steps] == ["kernel"]  # the matmul, tanh in its epilogue
    kernel = cl.steps[0].kernel
    assert kernel is not None and stages.kernel_kind(kernel) == "matmul"
    assert [s.kind for s in cu.steps] == ["host", "kernel"]  # cuBLAS, then tanh
    assert cu.steps[0].name == "dot_general" and cu.steps[1].inputs == cu.steps[0].outputs


def test_fusion_plan_of_calls_names_the_inlined_jaxpr() -> None:
    f = lambda x: refjax.jit(refjax.numpy.sin)(x) * 2.0  # noqa: E731
    closed = stages.traced(f, X3)
    assert any(e.primitive.name == "jit" for e in closed.eqns)
    view = stages.fusion_plan(closed)
    assert view.jaxpr is not closed
    assert [e.primitive.name for e in view.jaxpr.eqns] == ["sin", "mul"]
    (kernel,) = view.kernels()
    assert kernel.equations == (0, 1)
    assert kernel.outputs == (stages.var_names(view.jaxpr)[view.jaxpr.jaxpr.outvars[0]],)


@pytest.mark.parametrize("p", PROGRAMS, ids=str)
def test_kernel_sources_are_the_renderers(p: Program, monkeypatch: pytest.MonkeyPatch) -> None:
    # No device runtime is touched: pyopencl and cupy cannot even be imported here.
    monkeypatch.setitem(sys.modules, "pyopencl", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    closed = _closed(p)
    dialects: list[tuple[stages.BackendName, Dialect]] = [("opencl", OPENCL), ("cuda", CUDA)]
    for dialect, d in dialects:
        direct = fusion.plan(inline_calls(closed, fusion._CALLS), stages.backend_options(dialect))
        sources = stages.kernel_sources(closed, dialect)
        assert [s.source for s in sources] == [render(k, d).source for k in direct.kernels()]
        for s in sources:
            head = f"__kernel void {s.name}(" if dialect == "opencl" else (
                f'extern "C" __global__ void {s.name}(')
            assert head in s.source and s.dialect == dialect
    view = stages.fusion_plan(closed, "cuda")
    assert stages.kernel_sources(view, "cuda") == stages.kernel_sources(closed, "cuda")


def test_unknown_backend_and_dialect() -> None:
    closed = _closed(BY_NAME["scalar"])
    with pytest.raises(ValueError, match="backend must be one of"):
        stages.fusion_plan(closed, "metal")  # type: ignore[arg-type]  # the error under test
    with pytest.raises(ValueError, match="dialect must be one of"):
        stages.kernel_sources(closed, "hip")  # type: ignore[arg-type]  # the error under test
    with pytest.raises(ValueError, match="transform must be"):
        stages.all_stages(BY_NAME["scalar"].build(refjax), *BY_NAME["scalar"].args,
                          transform="hessian")  # type: ignore[arg-type]  # the error under test


@pytest.mark.parametrize("p", PROGRAMS, ids=str)
def test_var_names_are_the_printers(p: Program) -> None:
    closed = _closed(p)
    text, names = str(closed), stages.var_names(closed)
    for eqn in closed.eqns:
        for v in eqn.outvars:
            if v in names:
                assert f"{names[v]}:{v.aval.str_short(short_dtypes=True)}" in text


def test_fusion_plan_names_constants() -> None:
    c = np.arange(3, dtype=np.float32)
    closed = stages.traced(lambda x: x * c + 1.0, X3)
    view = stages.fusion_plan(closed)
    (constvar,) = closed.jaxpr.constvars
    name = stages.var_names(closed)[constvar]
    assert view.constants == (name,) and name in view.kernels()[0].inputs
    np.testing.assert_allclose(evaluate_plan(view.plan, [X3])[0], X3 * c + 1.0)
