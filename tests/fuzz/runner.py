"""Running one generated program under one transformation stack, comparing, shrinking, printing.

A :class:`Case` is a program, a stack name and the concrete inputs. :func:`harness_source`
renders it as one Python text (the program, its inputs as literals, the transformation stack
ending in ``out = ...``) that runs unchanged under real JAX and under refjax;
:func:`run` executes it on one implementation (``"jax"``, or a refjax backend such as
``"numpy"`` / ``"opencl"``) and :func:`compare` checks an outcome against JAX's. A failure is
shrunk by :func:`shrink` and printed by :func:`reproducer` as a runnable script.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tests.fuzz.generator import (
    Assign,
    Block,
    Cond,
    ForiLoop,
    Program,
    Scan,
    Var,
    WhileLoop,
    expr_vars,
    free_vars,
    generate,
    render_program,
    sub_blocks,
    substitute,
)
from tests.tolerances import FUZZ_GRAD_RTOL, FUZZ_VALUE_RTOL

BATCH = 3

# name -> (differentiates, batches)
STACKS: dict[str, tuple[bool, bool]] = {
    "none": (False, False),
    "jit": (False, False),
    "vmap": (False, True),
    "jit_vmap": (False, True),
    "vmap_jit": (False, True),
    "grad": (True, False),
    "jit_grad": (True, False),
    "grad_jit": (True, False),
    "vmap_grad": (True, True),
    "jvp": (True, False),
    "vjp": (True, False),
    "linearize": (True, False),
    "jvp_grad": (True, False),
}


@dataclass(frozen=True)
class Case:
    """A program under a stack, with its inputs (by parameter name)."""

    program: Program
    stack: str
    inputs: dict[str, np.ndarray]
    in_axes: dict[str, int | None] = field(default_factory=dict)
    tangents: dict[str, np.ndarray] = field(default_factory=dict)
    cotangents: tuple[np.ndarray, ...] = ()

    @property
    def label(self) -> str:
        return f"seed={self.program.seed} stack={self.stack}"


def _float_params(p: Program) -> list[Var]:
    return [v for v in p.params if v.type.dtype == "float32"]


def _float_results(p: Program) -> list[int]:
    return [i for i, v in enumerate(p.results) if v.type.dtype == "float32"]


def _random_value(rng: np.random.RandomState, shape: tuple[int, ...], dtype: str,
                  quantized: bool) -> np.ndarray:
    if dtype == "float32":
        x = rng.uniform(-2.0, 2.0, size=shape)
        if quantized:
            x = np.round(x * 4) / 4
        return np.asarray(x, np.float32)
    if dtype == "int32":
        return np.asarray(rng.randint(-5, 6, size=shape), np.int32)
    return np.asarray(rng.uniform(size=shape) < 0.5)


def make_case(program: Program, stack: str) -> Case:
    """Inputs for ``program`` under ``stack``, drawn from the program's seed."""
    diff, batched = STACKS[stack]
    rng = np.random.RandomState(program.seed % (2**32))
    quantized = not diff and rng.uniform() < 0.3
    in_axes: dict[str, int | None] = {}
    params = _float_params(program) if stack == "vmap_grad" else list(program.params)
    if batched:
        for v in params:
            r = rng.uniform()
            in_axes[v.name] = None if r < 0.3 else (1 if r > 0.85 and v.type.rank >= 1 else 0)
        if all(a is None for a in in_axes.values()):
            in_axes[params[0].name] = 0
    inputs: dict[str, np.ndarray] = {}
    for v in program.params:
        shape = v.type.shape
        axis = in_axes.get(v.name)
        if axis is not None:
            shape = shape[:axis] + (BATCH,) + shape[axis:]
        inputs[v.name] = _random_value(rng, shape, v.type.dtype, quantized)
    tangents = {v.name: np.asarray(rng.standard_normal(v.type.shape), np.float32)
                for v in _float_params(program)}
    cotangents = tuple(np.asarray(rng.standard_normal(program.results[i].type.shape),
                                  np.float32) for i in _float_results(program))
    return Case(program, stack, inputs, in_axes, tangents, cotangents)


def build_case(seed: int, stack: str) -> Case:
    """The case of ``seed`` under ``stack`` (deterministic)."""
    return make_case(generate(seed), stack)


# ----------------------------------------------------------------------------------------------
# Rendering a case as one runnable text


def _literal(x: np.ndarray) -> str:
    dtype = {"float32": "np.float32", "int32": "np.int32", "bool": "np.bool_"}[str(x.dtype)]
    return f"np.array({x.tolist()!r}, dtype={dtype})"


def _tuple(items: Sequence[str]) -> str:
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def harness_source(case: Case) -> str:
    """The program, its inputs and the transformation stack, ending with ``out = ...``."""
    p = case.program
    lines = [render_program(p)]
    for v in p.params:
        lines.append(f"a_{v.name} = {_literal(case.inputs[v.name])}")
    for name, t in case.tangents.items():
        lines.append(f"t_{name} = {_literal(t)}")
    for i, ct in enumerate(case.cotangents):
        lines.append(f"ct{i} = {_literal(ct)}")
    fparams = [v.name for v in _float_params(p)]
    fres = _float_results(p)
    all_args = ", ".join(f"a_{v.name}" for v in p.params)
    f_args = ", ".join(f"a_{n}" for n in fparams)
    diff, _ = STACKS[case.stack]
    if diff:
        call = ", ".join(n if n in fparams else f"a_{n}" for n in (v.name for v in p.params))
        if len(p.results) == 1:
            sel = "o"
        elif len(fres) == 1:
            sel = f"o[{fres[0]}]"
        else:
            sel = _tuple([f"o[{i}]" for i in fres])
        lines.append(f"def fd({', '.join(fparams)}):")
        lines.append(f"    o = f({call})")
        lines.append(f"    return {sel}")
        inner = "jax.jit(fd)" if case.stack == "grad_jit" else "fd"
        total = " + ".join(f"jnp.sum(o[{i}])" for i in range(len(fres))) if len(fres) > 1 \
            else "jnp.sum(o)"
        lines.append(f"def loss({', '.join(fparams)}):")
        lines.append(f"    o = {inner}({', '.join(fparams)})")
        lines.append(f"    return {total}")
    argnums = "" if len(fparams) == 1 else f", argnums={tuple(range(len(fparams)))}"
    grad = f"jax.grad(loss{argnums})"
    axes_all = _tuple([str(case.in_axes.get(v.name)) for v in p.params])
    axes_f = _tuple([str(case.in_axes.get(n)) for n in fparams])
    primals = _tuple([f"a_{n}" for n in fparams])
    tangents = _tuple([f"t_{n}" for n in fparams])
    cts = _tuple([f"ct{i}" for i in range(len(fres))]) if len(fres) > 1 else "ct0"
    stack = {
        "none": f"out = f({all_args})",
        "jit": f"out = jax.jit(f)({all_args})",
        "vmap": f"out = jax.vmap(f, in_axes={axes_all})({all_args})",
        "jit_vmap": f"out = jax.jit(jax.vmap(f, in_axes={axes_all}))({all_args})",
        "vmap_jit": f"out = jax.vmap(jax.jit(f), in_axes={axes_all})({all_args})",
        "grad": f"out = {grad}({f_args})",
        "jit_grad": f"out = jax.jit({grad})({f_args})",
        "grad_jit": f"out = {grad}({f_args})",
        "vmap_grad": f"out = jax.vmap({grad}, in_axes={axes_f})({f_args})",
        "jvp": f"out = jax.jvp(fd, {primals}, {tangents})",
        "vjp": f"y, pullback = jax.vjp(fd, {f_args})\nout = (y, pullback({cts}))",
        "linearize": f"y, f_lin = jax.linearize(fd, {f_args})\nout = (y, f_lin{tangents})",
        "jvp_grad": f"out = jax.jvp({grad}, {primals}, {tangents})",
    }[case.stack]
    lines.append(stack)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Outcome:
    """What running a case gave: output leaves, or an error (class name, builtin base, text)."""

    leaves: tuple[np.ndarray, ...] | None = None
    error: tuple[str, str, str] | None = None

    def summary(self) -> str:
        if self.error is not None:
            return f"raised {self.error[0]}: {self.error[2]}"
        assert self.leaves is not None
        return "\n".join(f"  [{i}] {x.dtype}{list(x.shape)} = "
                         f"{np.array2string(x, precision=6, threshold=60)}"
                         for i, x in enumerate(self.leaves))


def _modules(impl: str) -> dict[str, Any]:
    if impl == "jax":
        import jax
        import jax.numpy as jnp
        from jax import lax

        return {"jax": jax, "jnp": jnp, "lax": lax, "np": np}
    import refjax
    import refjax.numpy as rjnp
    from refjax import lax as rlax

    return {"jax": refjax, "jnp": rjnp, "lax": rlax, "np": np}


@contextmanager
def backend_env(impl: str) -> Iterator[None]:
    """Make ``impl`` refjax's default backend (``REFJAX_BACKEND``) for the duration."""
    if impl == "jax":
        yield
        return
    old = os.environ.get("REFJAX_BACKEND")
    os.environ["REFJAX_BACKEND"] = impl
    try:
        yield
    finally:
        if old is None:
            del os.environ["REFJAX_BACKEND"]
        else:
            os.environ["REFJAX_BACKEND"] = old


def _builtin_base(err: BaseException) -> str:
    for cls in type(err).__mro__:
        if cls.__module__ == "builtins":
            return cls.__name__
    return "Exception"


def run_source(source: str, impl: str) -> Outcome:
    """Execute a harness text on ``impl`` (``"jax"`` or a refjax backend name)."""
    ns = _modules(impl)
    with backend_env(impl):
        try:
            exec(compile(source, "<fuzz>", "exec"), ns)
            leaves = ns["jax"].tree_util.tree_leaves(ns["out"])
            return Outcome(leaves=tuple(np.asarray(x) for x in leaves))
        except Exception as err:
            lines = str(err).strip().splitlines() or [""]
            where = traceback.extract_tb(err.__traceback__)[-1]
            text = f"{lines[0][:300]} [at {os.path.basename(where.filename)}:{where.lineno}]"
            return Outcome(error=(type(err).__name__, _builtin_base(err), text))


def run(case: Case, impl: str) -> Outcome:
    return run_source(harness_source(case), impl)


def tolerance(stack: str) -> float:
    """Relative tolerance for float32 (values; derivatives a bit looser): tests.tolerances."""
    return FUZZ_GRAD_RTOL if STACKS[stack][0] else FUZZ_VALUE_RTOL


def compare(expected: Outcome, actual: Outcome, rtol: float) -> tuple[str, str] | None:
    """None when ``actual`` matches JAX's ``expected``, else (kind, description)."""
    if expected.error is not None or actual.error is not None:
        if expected.error is None:
            assert actual.error is not None
            return f"raises {actual.error[0]}", f"JAX succeeds, refjax {actual.summary()}"
        if actual.error is None:
            return (f"no error (JAX {expected.error[0]})",
                    f"JAX {expected.summary()}, refjax succeeds")
        if expected.error[0] != actual.error[0]:
            return (f"error class {actual.error[0]} != {expected.error[0]}",
                    f"JAX {expected.summary()}\nrefjax {actual.summary()}")
        return None
    assert expected.leaves is not None and actual.leaves is not None
    if len(expected.leaves) != len(actual.leaves):
        return "structure", f"{len(actual.leaves)} leaves, JAX has {len(expected.leaves)}"
    for i, (e, a) in enumerate(zip(expected.leaves, actual.leaves, strict=True)):
        if e.shape != a.shape:
            return "shape", f"leaf {i}: shape {a.shape}, JAX {e.shape}"
        if e.dtype != a.dtype:
            return "dtype", f"leaf {i}: dtype {a.dtype}, JAX {e.dtype}"
        if e.dtype.kind == "f":
            scale = float(np.max(np.abs(e[np.isfinite(e)]), initial=1.0))
            ok = np.isclose(a, e, rtol=rtol, atol=rtol * scale, equal_nan=True)
        else:
            ok = a == e
        if not np.all(ok):
            bad = np.argwhere(~np.asarray(ok))[0]
            idx = tuple(int(j) for j in bad)
            return "value", (f"leaf {i} {e.dtype}{list(e.shape)} at {idx}: "
                             f"{a[idx]!r} vs JAX {e[idx]!r} ({int(np.sum(~ok))} of {e.size} "
                             "differ)")
    return None


@dataclass
class Failure:
    case: Case
    backend: str
    kind: str
    detail: str
    expected: Outcome
    actual: Outcome


class Oracle:
    """Runs JAX once per distinct source text."""

    def __init__(self) -> None:
        self.cache: dict[str, Outcome] = {}

    def __call__(self, source: str) -> Outcome:
        if source not in self.cache:
            self.cache[source] = run_source(source, "jax")
        return self.cache[source]


ORACLE = Oracle()


def check(case: Case, backend: str, oracle: Callable[[str], Outcome] = ORACLE) -> Failure | None:
    """Run ``case`` on JAX and on refjax's ``backend``; a :class:`Failure` if they differ."""
    source = harness_source(case)
    expected = oracle(source)
    actual = run_source(source, backend)
    diff = compare(expected, actual, tolerance(case.stack))
    if diff is None:
        return None
    return Failure(case, backend, diff[0], diff[1], expected, actual)


# ----------------------------------------------------------------------------------------------
# Shrinking


def _replace_sub_block(e: Any, i: int, new: Block) -> Any:
    if isinstance(e, Cond):
        return dataclasses.replace(e, true=new) if i == 0 else dataclasses.replace(e, false=new)
    assert isinstance(e, ForiLoop | WhileLoop | Scan)
    return dataclasses.replace(e, body=new)


def _block_mutations(block: Block, outer: list[Var]) -> Iterator[Block]:
    """Smaller variants of ``block``: a statement dropped (its uses replaced), recursively."""
    visible = [*outer, *(p for p in block.params if p.name != "_")]
    stmts = list(block.stmts)
    for idx, s in enumerate(stmts):
        operands = [v for v in expr_vars(s.expr) if v in visible]
        mapping: dict[str, Var] = {}
        for t in s.targets:
            same = [v for v in operands if v.type == t.type]
            same += [v for v in reversed(visible) if v.type == t.type and v not in same]
            if same:
                mapping[t.name] = same[0]
        rest = Block(block.name, block.params, tuple(stmts[idx + 1:]), block.results)
        used = free_vars(rest)
        if all(t.name in mapping or t.name not in used for t in s.targets):
            new_rest = substitute(rest, mapping)
            assert isinstance(new_rest, Block)
            yield Block(block.name, block.params, (*stmts[:idx], *new_rest.stmts),
                        new_rest.results)
        for bi, sub in enumerate(sub_blocks(s.expr)):
            for new_sub in _block_mutations(sub, visible):
                new_stmt = Assign(s.targets, _replace_sub_block(s.expr, bi, new_sub))
                yield Block(block.name, block.params, (*stmts[:idx], new_stmt,
                                                       *stmts[idx + 1:]), block.results)
        visible += s.targets


def dce(block: Block) -> Block:
    """``block`` without statements whose results are never read."""
    live = {v.name for v in block.results}
    kept: list[Assign] = []
    for s in reversed(block.stmts):
        if not any(t.name in live for t in s.targets):
            continue
        e = s.expr
        for bi, sub in enumerate(sub_blocks(e)):
            e = _replace_sub_block(e, bi, dce(sub))
        live |= {v.name for v in expr_vars(e)}
        for sub in sub_blocks(e):
            live |= free_vars(sub)
        kept.append(Assign(s.targets, e))
    return Block(block.name, block.params, tuple(reversed(kept)), block.results)


def _program_mutations(p: Program) -> Iterator[Program]:
    if len(p.results) > 1:
        for r in p.results:
            if r.type.dtype == "float32":
                yield dataclasses.replace(p, body=dataclasses.replace(p.body, results=(r,)))
    for b in _block_mutations(p.body, []):
        small = dce(b)
        yield dataclasses.replace(p, body=small)
        if small != b:  # dead code matters to some failures (jit stages it all)
            yield dataclasses.replace(p, body=b)


def _restrict(case: Case, p: Program) -> Case:
    """``case`` for the smaller program ``p`` (drops the inputs of unused parameters)."""
    used = free_vars(dataclasses.replace(p.body, params=()))
    params = tuple(v for v in p.params if v.name in used) or p.params[:1]
    if not any(v.type.dtype == "float32" for v in params):
        first = next(v for v in p.params if v.type.dtype == "float32")
        params = tuple(v for v in p.params if v in params or v == first)
    p = dataclasses.replace(p, body=dataclasses.replace(p.body, params=params))
    names = {v.name for v in params}
    in_axes = {k: a for k, a in case.in_axes.items() if k in names}
    if STACKS[case.stack][1] and all(a is None for a in in_axes.values()):
        return case  # nothing batched any more: not a valid smaller case
    old_f = [r for r in case.program.results if r.type.dtype == "float32"]
    new_f = [r for r in p.results if r.type.dtype == "float32"]
    ct = case.cotangents if len(old_f) == len(new_f) else tuple(
        c for c, r in zip(case.cotangents, old_f, strict=True) if r in new_f)
    if len(ct) != len(new_f):
        return case
    return Case(p, case.stack, {k: x for k, x in case.inputs.items() if k in names}, in_axes,
                {k: x for k, x in case.tangents.items() if k in names}, ct)


def _size(p: Program) -> int:
    def count(b: Block) -> int:
        return sum(1 + sum(count(sb) for sb in sub_blocks(s.expr)) for s in b.stmts)

    return count(p.body) + len(p.params) + len(p.results)


def shrink(failure: Failure, budget_s: float = 60.0, max_tries: int = 400) -> Failure:
    """A smaller failure of the same kind (greedy: take the first smaller variant that fails)."""
    best = failure
    deadline = time.monotonic() + budget_s
    tries = 0
    for body in (dce(best.case.program.body), best.case.program.body):
        start = _restrict(best.case, dataclasses.replace(best.case.program, body=body))
        f = check(start, best.backend)
        if f is not None and f.kind == best.kind:
            best = f
            break
    progress = True
    while progress and time.monotonic() < deadline and tries < max_tries:
        progress = False
        for p in _program_mutations(best.case.program):
            if time.monotonic() > deadline or tries >= max_tries:
                break
            cand = _restrict(best.case, p)
            if _size(cand.program) >= _size(best.case.program):
                continue
            tries += 1
            f = check(cand, best.backend)
            if f is not None and f.kind == best.kind:
                best = f
                progress = True
                break
    return best


# ----------------------------------------------------------------------------------------------
# Printing


def reproducer(failure: Failure) -> str:
    """A self-contained script reproducing ``failure`` on JAX and on refjax."""
    case = failure.case
    body = harness_source(case)
    header = f'''# refjax differential fuzzer: {case.label} backend={failure.backend}
# {failure.kind}: {failure.detail}
# Run on JAX:    python repro.py jax
# Run on refjax: REFJAX_BACKEND={failure.backend} python repro.py refjax
import sys

import numpy as np

if sys.argv[1:] == ["jax"]:
    import jax
    import jax.numpy as jnp
    from jax import lax
else:
    import refjax as jax
    import refjax.numpy as jnp
    from refjax import lax

'''
    footer = "print(jax.tree_util.tree_map(np.asarray, out))\n"
    return header + body + footer


def report(failure: Failure) -> str:
    """The reproducer, followed by both outcomes."""
    return (reproducer(failure)
            + f"# --- refjax ({failure.backend}):\n"
            + "".join(f"#   {line}\n" for line in failure.actual.summary().splitlines())
            + "# --- JAX:\n"
            + "".join(f"#   {line}\n" for line in failure.expected.summary().splitlines()))
