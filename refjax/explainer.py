"""``refjax.explain``: every stage of a function's way to kernels, printed with a caption.

It only formats what :mod:`refjax.stages` returns: the traced jaxpr, the JVP jaxpr,
linearize's known and linear jaxprs with the residuals between them, the transposed (backward)
jaxpr, the jaxpr of ``grad``, the batched jaxpr, the fusion plan kernel by kernel (inputs and
outputs by jaxpr variable, bytes moved) and the OpenCL and CUDA source of every kernel.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Final, TextIO

from refjax import stages
from refjax.interp.core import ClosedJaxpr, ShapedArray

PyTree = Any

# One line each, printed above the stage (``{backend}``, ``{n}``, ``{name}`` filled in).
CAPTIONS: Final[dict[str, str]] = {
    "traced": "traced jaxpr: the function run once on abstract values, each primitive it "
              "applies recorded as an equation (interp/staging.py)",
    "jvp": "JVP jaxpr: primals, then tangents, in; primal outputs, then output tangents, out "
           "(interp/jvp.py)",
    "known": "linearize, known jaxpr: what the primals alone determine, computed now; it "
             "returns the primal outputs, then the residuals (interp/partial_eval.py)",
    "linear": "linearize, linear jaxpr: the residuals, then the input tangents, in; output "
              "tangents out; linear in the tangents",
    "residuals": "linearize, residuals: each known variable that becomes an input of the "
                 "linear jaxpr, and the equation computing it",
    "backward": "transposed (backward) jaxpr: the residuals, then output cotangents, in; input "
                "cotangents out (interp/transpose.py)",
    "grad": "grad jaxpr: the forward pass and the backward pass of grad(f) with a cotangent "
            "of one, in one program (api.py's grad: vjp)",
    "vmap": "batched jaxpr: the same program on a batch along axis 0 of every argument, "
            "each primitive's batching rule applied (interp/batching.py)",
    "planned": "jaxpr planned for {backend}: the calls (jit, custom_jvp ...) inlined, as the "
               "fusion compiler sees them",
    "plan": "fusion plan for {backend}: {n} kernel(s), each computing the equations listed, "
            "reading and writing whole buffers (backends/kernels/fusion.py)",
    "source": "{dialect} source of kernel {n}, {name} (backends/kernels/render.py)",
}
DIALECT_NAMES: Final[dict[str, str]] = {"opencl": "OpenCL C", "cuda": "CUDA C++"}


def explain(
    f: Callable[..., Any],
    *args: PyTree,
    transform: stages.Transform | None = None,
    backend: stages.BackendName | None = None,
    file: TextIO | None = None,
    **kwargs: PyTree,
) -> None:
    """Print every stage of ``f`` on ``args`` under ``transform`` (None: every stage of
    differentiation; ``'vmap'``: ``args`` batched along axis 0), down to the fusion plan and
    kernel source for ``backend`` (None: OpenCL and CUDA), each under a one-line caption."""
    out = sys.stdout if file is None else file
    result = stages.all_stages(f, *args, transform=transform, backend=backend, **kwargs)
    out.write(format_stages(result, getattr(f, "__name__", type(f).__name__)))


def format_stages(result: stages.Stages, name: str = "f") -> str:
    """The text ``explain`` prints for ``result``."""
    parts: list[str] = []
    counter = iter(range(1, 1000))

    def section(key: str, body: str, **fill: object) -> None:
        caption = CAPTIONS[key].format(**fill)
        parts.append(f"-- {next(counter)}. {caption}\n{body.rstrip()}\n")

    avals = ", ".join(a.str_short(short_dtypes=True) for a in result.traced.in_avals)
    transform = result.transform or "every stage"
    parts.append(f"refjax.explain: {name} on ({avals}), {transform}\n")
    section("traced", str(result.traced))
    if result.jvp is not None:
        section("jvp", str(result.jvp.jaxpr))
    if result.linearize is not None:
        lin = result.linearize
        section("known", str(lin.known))
        section("linear", str(lin.linear))
        section("residuals", format_residuals(lin))
    if result.vjp is not None:
        section("backward", str(result.vjp.backward))
    if result.grad is not None:
        section("grad", str(result.grad))
    if result.vmap is not None:
        section("vmap", str(result.vmap.batched))
    for compiled in result.compiled:
        view = compiled.plan
        if view.jaxpr is not result.compiled_jaxpr:
            section("planned", str(view.jaxpr), backend=view.backend)
        section("plan", format_plan(view), backend=view.backend, n=len(view.kernels()))
        for src in compiled.sources:
            section("source", src.source, dialect=DIALECT_NAMES[src.dialect], n=src.step,
                    name=src.name)
    return "\n".join(parts)


def format_residuals(lin: stages.LinearizeStage) -> str:
    """One line per residual: ``known -> linear input   (its equation)``."""
    if not lin.residuals:
        return "(none: the linear jaxpr needs nothing from the primal computation)"
    rows = [(f"{r.known_name}:{_short(r.aval)}", r.linear_name, r.defined_by)
            for r in lin.residuals]
    width = max(len(k) for k, _, _ in rows)
    return "\n".join(f"  {k:<{width}} -> {v:<3} ({d})" for k, v, d in rows)


def format_plan(view: stages.FusionPlanView) -> str:
    """The plan kernel by kernel: what it computes, the buffers it reads and writes."""
    names = stages.var_names(view.jaxpr)
    eqns = view.jaxpr.jaxpr.eqns
    lines = [f"  inputs {_buffers(view.inputs, [view.plan.slots[s] for s in view.plan.inputs])}"]
    if view.constants:
        avals = [view.plan.slots[s] for s, _ in view.plan.constants]
        lines.append(f"  constants {_buffers(view.constants, avals)}")
    for step in view.steps:
        what = (f"{stages.kernel_kind(step.kernel)} kernel" if step.kernel is not None
                else "host step" if step.kind == "host" else "reshape (no data moves)")
        lines.append(f"  {step.index}. {step.name}: {what}")
        if step.equations:
            computed = "; ".join(stages.short_eqn(eqns[i], names) for i in step.equations)
            lines.append(f"       computes {computed}")
        lines.append(f"       reads  {_buffers(step.inputs, step.input_avals)}"
                     f" ({step.bytes_read} bytes)")
        lines.append(f"       writes {_buffers(step.outputs, step.output_avals)}"
                     f" ({step.bytes_written} bytes)")
    out_avals = [view.plan.slots[s] for s in view.plan.outputs]
    lines.append(f"  outputs {_buffers(view.outputs, out_avals)}")
    lines.append(f"  in all: {view.bytes_read} bytes read, {view.bytes_written} bytes written")
    if view.plan.fallbacks:
        lines += [f"  fallback: {note}" for note in view.plan.fallbacks]
    return "\n".join(lines)


def _short(aval: ShapedArray) -> str:
    return aval.str_short(short_dtypes=True)


def _buffers(names: tuple[str, ...], avals: list[ShapedArray] | tuple[ShapedArray, ...]) -> str:
    if not names:
        return "nothing"
    return ", ".join(f"{n}:{_short(a)}" for n, a in zip(names, avals, strict=True))


def stage_jaxprs(result: stages.Stages) -> dict[str, ClosedJaxpr]:
    """The jaxprs of ``result`` by stage name (for pictures): traced, jvp, known, linear,
    backward, grad, vmap, as shown."""
    out: dict[str, ClosedJaxpr] = {"traced": result.traced}
    if result.jvp is not None:
        out["jvp"] = result.jvp.jaxpr
    if result.linearize is not None:
        out["known"] = result.linearize.known
        out["linear"] = result.linearize.linear
    if result.vjp is not None:
        out["backward"] = result.vjp.backward
    if result.grad is not None:
        out["grad"] = result.grad
    if result.vmap is not None:
        out["vmap"] = result.vmap.batched
    return out
