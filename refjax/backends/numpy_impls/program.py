"""The numpy backend's compiler: a jaxpr as one straight-line Python function of numpy calls.

``jit`` on the numpy backend runs :class:`NumpyExecutable`. Compiling plans the jaxpr once:

* each equation becomes a step, a :mod:`speed path <.prepared>` where there is one (a bound
  numpy call), else the primitive's reference implementation with its result checked;
* a ``broadcast_in_dim`` whose every user is a step numpy broadcasts for stays a reshape with
  size-1 axes (or the scalar itself): it is never materialised;
* a ``dot_general`` read only by a ``transpose`` that swaps its free dims computes the
  transposed product directly (the operands swapped), so nothing downstream works on a
  strided view;
* an elementwise step whose operand is dead afterwards writes its result into that operand's
  array (``out=``), when the array is one this program allocated, nothing else refers to it
  (no view of it, no other name for it is used later) and it is not an output. Inputs,
  constants and anything that may share memory with them are never written;
* every other value is released after its last use, as hand-written numpy would.

The first run goes step by step through the plan and checks every step's result (type, dtype,
shape, and that a step promising a new array returned one). A program that keeps running (after
``NumpyExecutable.INTERPRETED_RUNS`` runs; compiling Python costs about as much as a few runs of
a small program) runs as Python source (:attr:`NumpyExecutable.source`), compiled once: one call
per equation, a ``del`` where values die, and nothing else.

Outputs that may share memory with an input, a constant or another output are copied when the
caller gets them (:meth:`NumpyExecutable.run`), so no output aliases anything a caller can
mutate; control-flow bodies, run from inside another program, skip that copy (:func:`run_inner`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final, cast

import numpy as np

from refjax.backends.base import Backend, Buffer, Executable, get_backend, to_buffer
from refjax.backends.numpy_impls import prepared as pp
from refjax.backends.numpy_impls.table import impls
from refjax.errors import missing_rule_message
from refjax.interp.core import (
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    NDArray,
    Params,
    Primitive,
    ShapedArray,
    Var,
)
from refjax.interp.partial_eval import dce_closed_jaxpr
from refjax.interp.staging import inline_calls
from refjax.primitives import elementwise as ew
from refjax.primitives import linalg as la
from refjax.primitives import shape as sh
from refjax.primitives.calls import jit_p
from refjax.primitives.custom_derivatives import custom_jvp_call_p, custom_vjp_call_p
from refjax.primitives.remat import remat2_p

Program = Callable[[Sequence[Buffer]], list[Buffer]]
_FILENAME: Final = "<refjax numpy program>"


def exactly(value: NDArray, aval: ShapedArray, prim: Primitive) -> NDArray:
    """``value`` as an ndarray of ``aval``'s dtype; a shape mismatch is a bug in a rule."""
    out = np.asarray(value)
    if out.dtype != aval.dtype:
        out = out.astype(aval.dtype)
    if out.shape != aval.shape:
        raise AssertionError(
            f"numpy impl of {prim.name} gave shape {out.shape}, abstract eval said {aval.shape}"
        )
    return out


def reference_step(
    prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
) -> Callable[..., Any]:
    """``prim``'s reference implementation with ``params`` bound, its results checked: one
    array, or a list for a multiple-result primitive."""
    try:
        impl = impls[prim]
    except KeyError:
        raise NotImplementedError(missing_rule_message(prim.name, "numpy backend")) from None
    avals = list(out_avals)
    if prim.multiple_results:

        def multiple(*buffers: NDArray) -> list[NDArray]:
            results = impl(*buffers, **params)
            return [exactly(r, a, prim) for r, a in zip(results, avals, strict=True)]

        return multiple
    (aval,) = avals

    def single(*buffers: NDArray) -> NDArray:
        return exactly(cast(NDArray, impl(*buffers, **params)), aval, prim)

    return single


class NumpyExecutable(Executable):
    """A jaxpr compiled to a Python function of numpy calls (see the module's docstring)."""

    __slots__ = ("_plan", "_program", "_guards", "_runs")

    INTERPRETED_RUNS: ClassVar[int] = 3  # runs before the program is compiled to Python

    def __init__(self, backend: Backend, closed: ClosedJaxpr) -> None:
        self._plan = _Planner(backend, closed)
        self._program: Program | None = None
        self._guards = self._plan.guards
        self._runs = 0

    @property
    def source(self) -> str:
        """The Python source the program runs as once it is compiled."""
        return self._plan.source()

    def describe(self) -> list[tuple[str, str]]:
        """Each step's primitive and how it runs: ``reference``, ``speed path``, ``in place``,
        ``unmaterialised broadcast`` or ``transposed dot`` (a dot_general and its transpose)."""
        return [(node.prim.name, node.how) for node in self._plan.nodes]

    def run(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        """The outputs for a caller: none shares memory with an input, a constant or another."""
        outs = self.run_inner(buffers)
        for guard in self._guards:
            out = outs[guard.output]
            if (
                guard.always
                or any(np.may_share_memory(out, buffers[i]) for i in guard.inputs)
                or any(np.may_share_memory(out, outs[j]) for j in guard.outputs)
            ):
                outs[guard.output] = np.array(out, copy=True)
        return outs

    def run_inner(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        """The outputs, which may be inputs or constants of the program (or views of them)."""
        program = self._program
        if program is None:
            self._runs += 1  # (a lost update from another thread only delays compiling)
            if self._runs <= self.INTERPRETED_RUNS:
                return self._plan.interpret(buffers, check=self._runs == 1)
            program = self._program = self._plan.compile()
        return program(buffers)

    @property
    def compiled(self) -> bool:
        """Whether the program runs as compiled Python source (see the module's docstring)."""
        return self._program is not None


def run_inner(closed: ClosedJaxpr, args: Sequence[NDArray]) -> list[NDArray]:
    """Run ``closed`` on the numpy backend from inside another program (a loop or branch body)."""
    exe = get_backend("numpy").compile(closed)
    outs: list[NDArray] = exe.run_inner(args) if isinstance(exe, NumpyExecutable) else exe.run(args)
    return outs


# ---------------------------------------------------------------------------------------------
# Planning


@dataclass(frozen=True, slots=True)
class Guard:
    """Output ``output`` is copied if ``always``, or if it may share memory with these inputs
    (positions among the program's arguments) or earlier outputs."""

    output: int
    always: bool
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(slots=True)
class _Node:
    """An equation to run: the jaxpr's, or one the planner rewrote (a fused transpose)."""

    prim: Primitive
    invars: tuple[Atom, ...]
    outvars: tuple[Var, ...]
    params: Params
    step: pp.Prepared | None = None  # the speed path, if any
    lazy: bool = False  # an unmaterialised broadcast_in_dim
    into: Var | None = None  # the dead operand whose array receives the result
    fused: bool = False  # a dot_general computing its reader, a transpose, directly

    @property
    def how(self) -> str:
        """How the node runs (see :meth:`NumpyExecutable.describe`)."""
        if self.lazy:
            return "unmaterialised broadcast"
        if self.fused:
            return "transposed dot"
        if self.step is None:
            return "reference"
        return "speed path" if self.into is None else "in place"


def _swapped_dot(dot: JaxprEqn, transpose: JaxprEqn) -> _Node | None:
    """``transpose(dot_general(a, b))`` as ``dot_general(b, a)``, if the transpose swaps the free
    dims of ``a`` and ``b`` (keeping batch dims first and the order within each group)."""
    dnums = dot.params["dimension_numbers"]
    lhs, rhs = dot.invars[0].aval, dot.invars[1].aval
    if not la.swaps_free_dims(dnums, lhs.ndim, rhs.ndim, transpose.params["permutation"]):
        return None
    (lc, rc), (lb, rb) = dnums
    params = {**dot.params, "dimension_numbers": ((rc, lc), (rb, lb))}
    invars = (dot.invars[1], dot.invars[0])
    return _Node(la.dot_general_p, invars, transpose.outvars, params, fused=True)


class _Planner:
    """Decides every step of a program and emits it as Python source."""

    def __init__(self, backend: Backend, closed: ClosedJaxpr) -> None:
        # calls inlined (one program: no call overhead, and their steps fuse with the caller's),
        # then dead code out (a pure_callback nothing reads does not run, as in JAX); effects
        # stay, and so does every input (the caller passes them all)
        closed = _fold_literal_converts(inline_calls(closed, _CALL_BODIES))
        closed, _ = dce_closed_jaxpr(closed, True, instantiate=True)
        jaxpr = self.jaxpr = closed.jaxpr
        self.namespace: dict[str, Any] = {"_errstate": np.errstate}
        self.names: dict[Var | Literal, str] = {}
        self.constants: dict[Var | Literal, NDArray] = {}
        literals = [a for eqn in jaxpr.eqns for a in eqn.invars if isinstance(a, Literal)]
        literals += [a for a in jaxpr.outvars if isinstance(a, Literal)]
        for var, const in zip(jaxpr.constvars, closed.consts, strict=True):
            self._constant(var, to_buffer(const, var.aval, backend))
        for lit in literals:
            self._constant(lit, to_buffer(lit.val, lit.aval, backend))
        for var in jaxpr.invars:
            self.names.setdefault(var, f"v{len(self.names)}")
        self.nodes = self._fuse(jaxpr.eqns)
        self.index = {v: i for i, node in enumerate(self.nodes) for v in node.outvars}
        self.uses = self._uses()
        self.scalars = self._broadcast_scalars()
        self.lazy: set[Var] = set()
        for node in self.nodes:
            node.step = self._prepare(node)
        self.lazy = self._lazy_broadcasts()
        for node in self.nodes:
            node.lazy = node.prim is sh.broadcast_in_dim_p and node.outvars[0] in self.lazy
            if not node.lazy and self._reads_lazy(node):  # prepared again for smaller operands
                node.step = self._prepare(node)
                if node.step is None or not node.step.broadcasts:
                    raise AssertionError(f"the speed path of {node.prim.name} changed its mind")
        self._plan_memory()
        self.guards = self._guards()
        self.functions = [self._function(node) for node in self.nodes]
        for i, node in enumerate(self.nodes):
            for var in node.outvars:
                self.names.setdefault(var, f"v{len(self.names)}")
            self.namespace[f"f{i}"] = self.functions[i]

    def _constant(self, key: Var | Literal, value: NDArray) -> None:
        if key in self.constants:  # one Literal object read by several equations: one name
            return
        name = self.names[key] = f"k{len(self.constants)}"
        self.constants[key] = self.namespace[name] = value

    # -- the program's shape ------------------------------------------------------------------

    def _fuse(self, eqns: Sequence[JaxprEqn]) -> list[_Node]:
        """The equations as nodes, a transposed dot_general computed transposed."""
        outputs = {v for v in self.jaxpr.outvars if isinstance(v, Var)}
        readers: dict[Var, list[JaxprEqn]] = {}
        for eqn in eqns:
            for atom in eqn.invars:
                if isinstance(atom, Var):
                    readers.setdefault(atom, []).append(eqn)
        swapped: dict[int, _Node] = {}  # id of a transpose -> the swapped dot computing it
        skipped: set[int] = set()  # ids of the dots they replace
        for eqn in eqns:
            if eqn.primitive is not la.dot_general_p or eqn.outvars[0] in outputs:
                continue
            users = readers.get(eqn.outvars[0], [])
            if len(users) == 1 and users[0].primitive is sh.transpose_p:
                node = _swapped_dot(eqn, users[0])
                if node is not None:
                    swapped[id(users[0])] = node
                    skipped.add(id(eqn))
        return [
            swapped.get(id(eqn)) or _Node(eqn.primitive, eqn.invars, eqn.outvars, eqn.params)
            for eqn in eqns
            if id(eqn) not in skipped
        ]

    def _uses(self) -> dict[Var, list[int]]:
        """The nodes reading each variable, in order (the program's end reads its outputs)."""
        uses: dict[Var, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for atom in node.invars:
                if isinstance(atom, Var):
                    uses.setdefault(atom, []).append(i)
        for atom in self.jaxpr.outvars:
            if isinstance(atom, Var):
                uses.setdefault(atom, []).append(len(self.nodes))
        return uses

    def _broadcast_scalars(self) -> dict[Var, NDArray]:
        """Broadcasts of known scalars, by the scalar (a speed path may use its value)."""
        values: dict[Var, NDArray] = {}
        for node in self.nodes:
            if node.prim is sh.broadcast_in_dim_p:
                known = self._known(node.invars[0], values)
                if known is not None and known.size == 1:
                    values[node.outvars[0]] = known.reshape(())
        return values

    def _known(self, atom: Atom, scalars: dict[Var, NDArray]) -> NDArray | None:
        """The value of a literal, a constant or a broadcast scalar constant, if known."""
        if atom in self.constants:
            return self.constants[atom]
        return scalars.get(atom) if isinstance(atom, Var) else None

    def _shape(self, atom: Atom) -> tuple[int, ...]:
        """The shape ``atom`` has at run time (smaller than its aval's if a lazy broadcast)."""
        if not isinstance(atom, Var) or atom not in self.lazy:
            return atom.aval.shape
        node = self.nodes[self.index[atom]]
        source = node.invars[0].aval
        return () if source.ndim == 0 else pp.broadcast_shape(source, node.params)

    def _reads_lazy(self, node: _Node) -> bool:
        return any(isinstance(a, Var) and a in self.lazy for a in node.invars)

    def _prepare(self, node: _Node) -> pp.Prepared | None:
        operands = [
            pp.Operand(a.aval, self._shape(a), self._known(a, self.scalars)) for a in node.invars
        ]
        return pp.prepare(node.prim, operands, node.params, [v.aval for v in node.outvars])

    def _lazy_broadcasts(self) -> set[Var]:
        """The broadcasts all readers of which let numpy broadcast (and that are not outputs)."""
        end = len(self.nodes)

        def broadcasts(i: int) -> bool:
            step = self.nodes[i].step if i < end else None
            return step is not None and step.broadcasts

        self.lazy = {
            node.outvars[0]
            for node in self.nodes
            if node.prim is sh.broadcast_in_dim_p
            and all(broadcasts(i) for i in self.uses.get(node.outvars[0], [end]))
        }
        changed = True
        while changed:  # materialise broadcasts where numpy would not reach the result's shape
            changed = False
            for node in self.nodes:
                if self._reads_lazy(node):
                    shape = np.broadcast_shapes(*(self._shape(a) for a in node.invars))
                    if shape != node.outvars[0].aval.shape:
                        self.lazy.difference_update(node.invars)
                        changed = True
        return self.lazy

    # -- memory ------------------------------------------------------------------------------

    def _plan_memory(self) -> None:
        """Which arrays each value may share memory with, where results go, what dies when.

        A *root* is an array: an input, a constant, or a result this program allocates. Each
        value has the set of roots it may share memory with; a step that is not known to give
        a new array may return (a view of) any operand, so its result has its operands' roots
        too. A root is dead after the last step reading any value that has it.
        """
        self.roots: dict[Var, frozenset[int]] = {}
        self.input_roots: dict[int, int] = {}  # root -> position among the arguments
        self.const_roots: set[int] = set()
        owned: set[int] = set()  # roots of arrays this program allocated
        last: dict[int, int] = {}  # root -> the last node reading a value that has it
        counter = itertools.count()

        def last_use(var: Var) -> int:
            return self.uses[var][-1] if var in self.uses else -1

        def define(var: Var, roots: frozenset[int]) -> None:
            self.roots[var] = roots
            for r in roots:
                last[r] = max(last.get(r, -1), last_use(var))

        def roots_of(atom: Atom) -> frozenset[int]:
            if isinstance(atom, Var):
                return self.roots[atom]
            root = next(counter)
            self.const_roots.add(root)
            return frozenset({root})

        for position, var in enumerate(self.jaxpr.invars):
            root = next(counter)
            self.input_roots[root] = position
            define(var, frozenset({root}))
        for var in self.jaxpr.constvars:
            root = next(counter)
            self.const_roots.add(root)
            define(var, frozenset({root}))
        for i, node in enumerate(self.nodes):
            step = None if node.lazy else node.step
            if step is not None and step.into is not None:
                node.into = self._dead_operand(node, i, owned, last)
            operand_roots = frozenset().union(*(roots_of(a) for a in node.invars))
            for var in node.outvars:
                if node.into is not None:
                    define(var, self.roots[node.into])
                elif step is not None and step.fresh:
                    root = next(counter)
                    owned.add(root)
                    define(var, frozenset({root}))
                else:
                    define(var, operand_roots | {next(counter)})
        outputs = {v for v in self.jaxpr.outvars if isinstance(v, Var)}
        self.dead_after: dict[int, list[Var]] = {}
        for var, i in self.index.items():
            if var not in outputs:
                self.dead_after.setdefault(max(last_use(var), i), []).append(var)

    def _dead_operand(
        self, node: _Node, i: int, owned: set[int], last: dict[int, int]
    ) -> Var | None:
        """An operand whose array can take the result: allocated here, dead after node ``i``."""
        (out,) = node.outvars
        for atom in node.invars:
            if not isinstance(atom, Var) or atom in self.lazy or len(self.roots[atom]) != 1:
                continue
            if atom.aval.shape != out.aval.shape or atom.aval.dtype != out.aval.dtype:
                continue
            (root,) = self.roots[atom]
            if root not in owned or last[root] != i:
                continue
            others = [a for a in node.invars if isinstance(a, Var) and a is not atom]
            if any(root in self.roots[a] for a in others):
                continue  # this step reads (part of) the same array under another name
            return atom
        return None

    def _guards(self) -> list[Guard]:
        """For each output that may share memory with an input, a constant or another output."""
        guards: list[Guard] = []
        seen: list[frozenset[int]] = []
        for k, atom in enumerate(self.jaxpr.outvars):
            roots = frozenset() if isinstance(atom, Literal) else self.roots[atom]
            always = isinstance(atom, Literal) or bool(roots & self.const_roots)
            inputs = tuple(sorted({self.input_roots[r] for r in roots if r in self.input_roots}))
            earlier = tuple(j for j, other in enumerate(seen) if roots & other)
            if always or inputs or earlier:
                guards.append(Guard(k, always, inputs, earlier))
            seen.append(roots)
        return guards

    # -- code -------------------------------------------------------------------------------

    def _function(self, node: _Node) -> Callable[..., Any] | None:
        """What node computes its results with (None: its result is its operand)."""
        if node.lazy:
            return pp.unmaterialised_broadcast(node.invars[0].aval, node.params)
        if node.step is None:
            return reference_step(node.prim, node.params, [v.aval for v in node.outvars])
        return node.step.fn if node.into is None else node.step.into

    def source(self) -> str:
        """The program as the Python source of a function ``program(args)``."""
        body = []
        for i, node in enumerate(self.nodes):
            args = [self.names[a] for a in node.invars]
            outs = [self.names[v] for v in node.outvars]
            if self.functions[i] is None:
                call = args[0]
            else:
                into = [self.names[node.into]] if node.into is not None else []
                call = f"f{i}({', '.join(args + into)})"
            if not outs:
                body.append(call)
            elif node.prim.multiple_results and not node.lazy:
                body.append(f"{', '.join(outs)}, = {call}")
            else:
                body.append(f"{outs[0]} = {call}")
            if i in self.dead_after:
                body.append(f"del {', '.join(self.names[v] for v in self.dead_after[i])}")
        body.append(f"return [{', '.join(self.names[a] for a in self.jaxpr.outvars)}]")
        inputs = "".join(self.names[v] + ", " for v in self.jaxpr.invars)
        lines = ["def program(args):", f"    {inputs}= args" if inputs else "    del args"]
        lines.append('    with _errstate(all="ignore"):')
        lines.extend(f"        {line}" for line in body)
        return "\n".join(lines) + "\n"

    def compile(self) -> Program:
        """The program as a Python function."""
        namespace = dict(self.namespace)
        exec(compile(self.source(), _FILENAME, "exec"), namespace)  # the source is made here
        return cast(Program, namespace["program"])

    def interpret(self, buffers: Sequence[Buffer], check: bool) -> list[Buffer]:
        """Run the program step by step, as its source would; ``check`` every step's results."""
        env: dict[Atom, Any] = dict(self.constants)
        env.update(zip(self.jaxpr.invars, buffers, strict=True))
        with np.errstate(all="ignore"):
            for i, node in enumerate(self.nodes):
                fn = self.functions[i]
                args = [env[a] for a in node.invars]
                into = [env[node.into]] if node.into is not None else []
                result = args[0] if fn is None else fn(*args, *into)
                multiple = node.prim.multiple_results and not node.lazy
                results = list(result) if multiple else [result]
                if check:
                    self._check(i, results, args)
                env.update(zip(node.outvars, results, strict=True))
                for var in self.dead_after.get(i, []):
                    del env[var]
        return [env[a] for a in self.jaxpr.outvars]

    def _check(self, i: int, results: Sequence[object], operands: Sequence[object]) -> None:
        """Node ``i``'s results: of the type, dtype and shape planned, new arrays where promised
        (a broadcast of a scalar passes its operand on as it is)."""
        node = self.nodes[i]
        step = None if node.lazy else node.step
        passed_on = self.functions[i] is None
        for var, value in zip(node.outvars, results, strict=True):
            shape = self._shape(var)
            if not isinstance(value, np.ndarray | np.generic if passed_on else np.ndarray):
                raise AssertionError(f"{node.prim.name} gave a {type(value).__name__}")
            if value.dtype != var.aval.dtype or value.shape != shape:
                raise AssertionError(
                    f"{node.prim.name} gave {value.dtype}{list(value.shape)}, planned "
                    f"{var.aval.dtype}{list(shape)}"
                )
            if step is not None and step.fresh and node.into is None:
                shared = any(
                    isinstance(x, np.ndarray) and np.may_share_memory(value, x) for x in operands
                )
                if shared or not value.flags.writeable:
                    raise AssertionError(f"{node.prim.name} did not give a new array")


def _call_rule(key: str) -> pp.Rule:
    """A call's body compiled with the caller, run without copying its outputs."""

    def rule(
        ops: Sequence[pp.Operand], params: Params, outs: Sequence[ShapedArray]
    ) -> pp.Prepared | None:
        inner = get_backend("numpy").compile(params[key])
        if not isinstance(inner, NumpyExecutable):
            return None

        def call(*args: NDArray) -> list[NDArray]:
            return inner.run_inner(args)

        return pp.Prepared(call)

    return rule


def _fold_literal_converts(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``convert_element_type`` of a literal scalar replaced by the converted literal (a call
    inlined with a Python scalar operand converts it; the speed paths need to see the value)."""
    jaxpr = closed.jaxpr
    if not any(e.primitive is ew.convert_element_type_p and isinstance(e.invars[0], Literal)
               for e in jaxpr.eqns):
        return closed
    env: dict[Var, Atom] = {}
    eqns: list[JaxprEqn] = []
    for eqn in jaxpr.eqns:
        args = tuple(env.get(a, a) if isinstance(a, Var) else a for a in eqn.invars)
        (out, *_), arg = eqn.outvars, args[0] if args else None
        if eqn.primitive is ew.convert_element_type_p and isinstance(arg, Literal):
            # (converted by the primitive's own implementation: XLA's rounding and casts)
            value = impls[eqn.primitive](np.asarray(arg.val, arg.aval.dtype), **eqn.params)
            env[out] = Literal(np.asarray(value, out.aval.dtype), out.aval)
            continue
        eqns.append(JaxprEqn(eqn.primitive, args, eqn.outvars, eqn.params))
    outvars = tuple(env.get(v, v) if isinstance(v, Var) else v for v in jaxpr.outvars)
    folded = Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, tuple(eqns))
    return ClosedJaxpr(folded, closed.consts)


# the call primitives a program inlines, and the param holding each one's body
_CALL_BODIES: Final[dict[Primitive, str]] = {
    jit_p: "jaxpr", remat2_p: "jaxpr", custom_jvp_call_p: "call_jaxpr",
    custom_vjp_call_p: "call_jaxpr",
}
pp.register(jit_p, _call_rule("jaxpr"))
pp.register(remat2_p, _call_rule("jaxpr"))
pp.register(custom_jvp_call_p, _call_rule("call_jaxpr"))
pp.register(custom_vjp_call_p, _call_rule("call_jaxpr"))
