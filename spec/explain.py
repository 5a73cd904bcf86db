"""Explaining a case: ``python -m spec show ID``, and where in its stack a failing result goes
wrong.

:func:`show` writes a case out for a reader: the program, the transformation stack as nested
calls (``jit(vmap(grad(f, argnums=(0,)), in_axes=(0,), out_axes=0))``), the inputs and expected
outputs as numpy arrays, the check, the provenance, notes and tags.

:func:`divergence` locates a failure in the stack. The runner can compute three transformations
itself from the adapter's result for the stack inside them: ``jit`` (the same outputs),
``eval_shape`` (their types) and ``vmap`` (a loop over the slices of the mapped inputs, stacking
each output along ``out_axes``). For k = 1, 2, ... over the outermost transformations of those
kinds, it asks the adapter for the stack without the k outermost, computes those k itself, and
judges the result as the case would. The first k at which that passes names the k-th
transformation as where the adapter diverges (its result for the inner stack is right; its
result with the k-th applied is not). If none passes, the fault lies inside: in the first
transformation the runner cannot compute (``grad``, ``jvp``...), or in the program itself.
``eval_shape`` and ``vmap`` are computed only when the inputs carry data (eval_shape cases give
types only, so their stacks are not peeled below an ``eval_shape``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spec.adapters import Adapter
from spec.compare import Strictness, judge
from spec.format import (
    Case,
    Error,
    EvalShape,
    JaxprProgram,
    Jit,
    Json,
    NumpyProgram,
    PrimitiveProgram,
    Program,
    Transform,
    Value,
    Vmap,
    param_to_json,
    program_to_json,
    transform_to_json,
)
from spec.selection import all_primitives, stack_names, transform_name

# ---------------------------------------------------------------------------------------------
# The stack as nested calls


@dataclass(frozen=True)
class Stack:
    """A transformation stack written as nested calls, and the arrays its arguments name."""

    text: str
    values: tuple[tuple[str, Value], ...]


def _arg_text(label: str, obj: Json, values: list[tuple[str, Value]]) -> str:
    """A transformation argument from its JSON form: arrays become names listed below."""
    if isinstance(obj, dict) and "dtype" in obj and "shape" in obj:
        values.append((label, Value.from_json(obj)))
        return label
    if isinstance(obj, list):
        items = [_arg_text(f"{label}[{i}]", x, values) for i, x in enumerate(obj)]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(obj, dict):
        fields = [f"{k}={_arg_text(f'{label}.{k}', v, values)}" for k, v in obj.items()]
        return f"{{{', '.join(fields)}}}"
    return repr(obj)


def stack_text(transforms: Sequence[Transform], fn: str = "f") -> Stack:
    """``jit(vmap(grad(f, argnums=(0,)), in_axes=(0, None), out_axes=0))`` for
    ``[jit, vmap, grad]``; any transformation, through its JSON form."""
    text = fn
    values: list[tuple[str, Value]] = []
    names = [transform_name(t) for t in transforms]
    for pos in reversed(range(len(transforms))):
        obj = transform_to_json(transforms[pos])
        args = {} if isinstance(obj, str) else obj[names[pos]]
        parts = [text]
        for key, arg in (args or {}).items():
            label = key if names.count(names[pos]) == 1 else f"{key}@{pos}"
            parts.append(f"{key}={_arg_text(label, arg, values)}")
        text = f"{names[pos]}({', '.join(parts)})"
    return Stack(text, tuple(reversed(values)))


# ---------------------------------------------------------------------------------------------
# show


def array_text(value: Value, indent: str = "    ") -> str:
    """A value's type, then its data as numpy prints it, every element, each float in its
    dtype's shortest exact form."""
    head = value.type_str()
    if value.data is None:
        return f"{head} (type only: no data)"
    body = np.array2string(
        np.asarray(value.data), floatmode="unique", threshold=1 << 30, max_line_width=100
    )
    if "\n" not in body:
        return f"{head} = {body}"
    return f"{head} =\n" + "\n".join(indent + line for line in body.splitlines())


def _param_line(key: str, value: object) -> str:
    obj = param_to_json(value)  # type: ignore[arg-type]  # a Param from the program
    if isinstance(obj, dict) and "jaxpr" in obj:
        return f"  {key} = {obj['jaxpr']}"
    return f"  {key} = {obj!r}"


def program_text(program: Program) -> list[str]:
    """The program: the jaxpr as written, a primitive with its params, or a numpy function."""
    if isinstance(program, JaxprProgram):
        lines = ["program (jaxpr):", *("  " + line for line in program.text.splitlines())]
        for i, c in enumerate(program.consts):
            lines.append(f"  const {i}: {array_text(c)}")
        return lines
    if isinstance(program, PrimitiveProgram):
        lines = [f"program: the primitive {program.name!r} applied to the inputs, params:"]
        return lines + [_param_line(k, v) for k, v in program.params] or lines + ["  (none)"]
    if isinstance(program, NumpyProgram):
        return [f"program: jax.numpy.{program.function} applied to the inputs"]
    return [
        "program:",
        *("  " + line for line in json.dumps(program_to_json(program), indent=1).splitlines()),
    ]


def _check_text(case: Case) -> str:
    check = case.check
    if check.kind == "aval":
        return "check: aval (dtype, shape and weak type only)"
    if check.kind == "exact":
        return "check: exact (types equal; values bit-equal, NaN matches NaN, -0.0 is not 0.0)"
    return (
        f"check: {check.kind} rtol={check.rtol:g} atol={check.atol:g} (types equal; "
        "|actual - expected| <= atol + rtol * |expected|, NaN matches NaN, integers exact)"
    )


def show(case: Case) -> str:
    """Everything about one case, for a reader."""
    stack = stack_text(case.transforms)
    lines = [
        f"case {case.id}",
        f"topic: {case.topic or '-'}; x64: {'on' if case.x64 else 'off'}",
        f"primitives: {', '.join(sorted(all_primitives(case))) or '-'}",
        f"transformations: {' . '.join(stack_names(case))} (outermost first)",
        f"tags: {', '.join(case.tags) or '-'}",
        *program_text(case.program),
        f"applied as: {stack.text}",
    ]
    for label, value in stack.values:
        lines.append(f"  {label}: {array_text(value)}")
    lines.append("inputs:")
    lines += [f"  x{i}: {array_text(v)}" for i, v in enumerate(case.inputs)] or ["  (none)"]
    if isinstance(case.expected, Error):
        lines.append(f"expected: raises {case.expected.cls}, message matching the regex")
        lines.append(f"  /{case.expected.message}/")
    else:
        lines.append("expected outputs:")
        values = case.expected.values
        lines += [f"  y{i}: {array_text(v)}" for i, v in enumerate(values)] or ["  (none)"]
        lines.append(_check_text(case))
    lines.append(f"provenance: {case.provenance}")
    if case.notes:
        lines.append(f"notes: {case.notes}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Divergence: the first transformation at which the adapter's result goes wrong


class _CannotCompute(Exception):
    """The runner cannot compute this transformation itself (no data, or nothing to loop)."""


def _in_axes(t: Vmap, n: int) -> list[int | None] | None:
    """A vmap's axis for each of ``n`` flat inputs; None if its axes are trees or its size is
    given (then the runner does not compute it)."""
    if t.in_tree is not None or t.axis_size is not None:
        return None
    axes = [t.in_axes] * n if t.in_axes is None or isinstance(t.in_axes, int) else t.in_axes
    if len(axes) != n or not all(a is None or isinstance(a, int) for a in axes):
        return None
    return [a for a in axes if a is None or isinstance(a, int)]


def _out_axes(t: Vmap, n: int) -> list[int | None] | None:
    """A vmap's axis for each of ``n`` outputs (None: not mapped); None for trees."""
    axes = [t.out_axes] * n if t.out_axes is None or isinstance(t.out_axes, int) else t.out_axes
    if len(axes) != n or not all(a is None or isinstance(a, int) for a in axes):
        return None
    return [a for a in axes if a is None or isinstance(a, int)]


def computable(t: Transform, inputs: Sequence[Value]) -> bool:
    """Whether the runner can compute ``t`` from the inner stack's results on ``inputs``."""
    if isinstance(t, Jit):
        return True
    data = all(v.data is not None for v in inputs)
    if isinstance(t, EvalShape):
        return data
    return isinstance(t, Vmap) and data and _in_axes(t, len(inputs)) is not None


def _take(value: Value, i: int, axis: int | None) -> Value:
    if axis is None:
        return value
    assert value.data is not None
    return Value.of(np.take(value.data, i, axis=axis), value.weak_type)


def _vmap_loop(t: Vmap, results: Sequence[Sequence[Value]]) -> list[Value]:
    """Each output's slices stacked along its out axis (an unmapped output: the first)."""
    axes = _out_axes(t, len(results[0]))
    if axes is None:
        raise _CannotCompute("vmap out_axes")
    outs = []
    for per_output, axis in zip(zip(*results, strict=True), axes, strict=True):
        if any(v.data is None for v in per_output):
            raise _CannotCompute("abstract slices")
        if axis is None:
            outs.append(per_output[0])
            continue
        stacked = np.stack([np.asarray(v.data) for v in per_output], axis=axis)
        outs.append(Value.of(stacked, all(v.weak_type for v in per_output)))
    return outs


def evaluate_peeled(
    adapter: Adapter,
    program: Program,
    transforms: Sequence[Transform],
    inputs: Sequence[Value],
    k: int,
) -> list[Value]:
    """The stack's outputs with its ``k`` outermost transformations computed by the runner from
    the adapter's results for the stack inside them."""
    if k == 0:
        return adapter.evaluate(program, transforms, inputs)
    t, inner = transforms[0], transforms[1:]
    if not computable(t, inputs):
        raise _CannotCompute(transform_name(t))
    if isinstance(t, Jit):
        return evaluate_peeled(adapter, program, inner, inputs, k - 1)
    if isinstance(t, EvalShape):
        return [v.abstract() for v in evaluate_peeled(adapter, program, inner, inputs, k - 1)]
    assert isinstance(t, Vmap)
    axes = _in_axes(t, len(inputs))
    assert axes is not None
    sizes = {v.shape[a] for v, a in zip(inputs, axes, strict=True) if a is not None}
    if len(sizes) != 1 or 0 in sizes:
        raise _CannotCompute("vmap sizes")
    results = [
        evaluate_peeled(
            adapter,
            program,
            inner,
            [_take(v, i, a) for v, a in zip(inputs, axes, strict=True)],
            k - 1,
        )
        for i in range(sizes.pop())
    ]
    return _vmap_loop(t, results)


def divergence(adapter: Adapter, case: Case, strict: Strictness) -> str | None:
    """Where in the stack a failing case goes wrong (see the module's docstring); None when
    the outermost transformation is not one the runner can compute."""
    names = list(stack_names(case))
    depth = 0
    while depth < len(case.transforms) and computable(case.transforms[depth], case.inputs):
        depth += 1
    if depth == 0:
        return None
    for k in range(1, depth + 1):
        try:
            result: list[Value] | Exception = evaluate_peeled(
                adapter, case.program, case.transforms, case.inputs, k
            )
        except _CannotCompute:
            depth = k - 1
            break
        except Exception as err:  # the adapter's own error, judged as the case judges it
            result = err
        if judge(case, result, strict) is None:
            inner = stack_text(case.transforms[k:]).text
            done = ", ".join(names[:k])
            return (
                f"diverges at {names[k - 1]} (transformation {k} from the outside): the "
                f"adapter's {inner} with {done} computed by the runner passes"
            )
    if depth == 0:
        return None
    inner = stack_text(case.transforms[depth:]).text
    where = f"in {inner}" if case.transforms[depth:] else "in the program itself (f)"
    return (
        f"still fails with the outer {', '.join(names[:depth])} computed by the runner: the "
        f"divergence is {where}"
    )
