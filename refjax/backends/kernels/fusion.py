"""Fusion: partition a closed jaxpr into kernels, and plan the steps that run them.

Values live in numbered *slots* (device buffers). The planner walks the equations once, keeping
every value it can as an expression of the kernel IR (a :class:`~lower.Sym`) instead of a buffer:

- elementwise, broadcast and view-like primitives (``pad`` and ``concatenate`` among them)
  extend the expressions of their operands, so chains of them become one *map* kernel;
- a reduction takes its operand's expression as its prologue; elementwise consumers of the
  reduced value extend its epilogue, so they run in the same *axis-reduce* kernel;
- ``dot_general`` (of kernel dtypes) reads its operands in place, transposed or not, and is
  pending as a reduction is: elementwise consumers of its result (bias, activation, scaling,
  casts) extend its epilogue, so they run in the *matmul* kernel;
- a primitive with a decomposition (``decompose.py``: ``argmax``, ``argmin``; convolution and
  the windowed reductions, ``decompose_windows.py``) is inlined as the
  jaxpr of primitives that have IR forms, as a ``jit`` call is;
- a value is *materialised* (written to a buffer by a kernel) only when something needs a buffer:
  a view or another reduction of a reduced value, or an elementwise op broadcasting it (a reduced
  value broadcast back, ``x - x.mean()``, starts a new kernel), a reduced value combined with one
  of another pending reduction, a matmul's operands, ``dot_general`` where the backend calls a
  library instead (``matmul_kernels=False``: cuBLAS on CUDA), primitives without a kernel form
  (gather, scatter, sort, cumulative ops, control flow ...: a primitive step, run by the backend
  on the host or around compiled bodies), a kernel past the input or size budget, and the
  outputs of the jaxpr. Other values used by several consumers are recomputed.

A pending reduce (or matmul) kernel is emitted when one of its results is first needed as a
buffer; at that point every value still live that depends on its result is added to its outputs.
How a kernel divides its work depends on the device (:class:`FusionOptions`): a CPU wants each
work item to hold a block of a matmul's outputs in vector registers and to reduce rows or columns
serially in lanes; a GPU wants local-memory tiles and trees. A call's jaxpr
inlined twice redefines its variables: each definition forgets the buffer of the previous one.

Every program compiles. If planning an equation fails (a planner bug: some fused form that does
not exist), the kernel is split there: the equation is planned again on its operands
materialised, and if that fails too it becomes a primitive step; if anything else fails, the
whole jaxpr is planned again as primitive steps. Each such fallback is logged and listed in
:attr:`Plan.fallbacks` (the random-program tests require none).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, TypeAlias

import numpy as np

from refjax.backends.kernels import lower
from refjax.backends.kernels.decompose import decompositions
from refjax.backends.kernels.ir import (
    Affine,
    BinaryOp,
    BufferArg,
    Cast,
    Const,
    Expr,
    Kernel,
    Load,
    MapKernel,
    MatmulKernel,
    Param,
    Reduced,
    ReduceKernel,
    RegisterBlock,
    coalesce,
    is_kernel_dtype,
    op_names,
    operands,
    reads_along_k,
    with_operands,
)
from refjax.backends.kernels.lower import Builder, NotAffine, Sym, dense_affine
from refjax.dtypes import DType
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
from refjax.primitives import elementwise as ew
from refjax.primitives import linalg as la
from refjax.primitives import shape as sh
from refjax.primitives.calls import jit_p
from refjax.primitives.custom_derivatives import custom_jvp_call_p, custom_vjp_call_p
from refjax.primitives.remat import remat2_p

MAX_KERNEL_INPUTS: Final = 32  # buffers one kernel may read
MAX_KERNEL_COST: Final = 1024  # the deepest chain of ops one kernel computes per element
VIEW_RECOMPUTE_COST: Final = 64  # a view of a deeper value materialises it first
BROADCAST_RECOMPUTE_COST: Final = 8  # an expanding broadcast of a deeper value, likewise

log = logging.getLogger("refjax.kernels")

_CALLS: Final[dict[Primitive, str]] = {
    jit_p: "jaxpr",
    remat2_p: "jaxpr",
    custom_jvp_call_p: "call_jaxpr",
    custom_vjp_call_p: "call_jaxpr",
}


# ---------------------------------------------------------------------------------------------
# Plans


@dataclass(frozen=True, slots=True)
class KernelStep:
    """Launch ``kernel`` on the buffers in ``inputs`` with ``params``; results to ``outputs``."""

    kernel: Kernel
    inputs: tuple[int, ...]
    params: tuple[np.generic, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True, slots=True, eq=False)
class PrimitiveStep:
    """Apply a primitive without a kernel form (the backend decides how) to whole buffers."""

    primitive: Primitive
    params: Params
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ReshapeStep:
    """``output`` is the dense buffer ``input`` seen with another shape (no data moves)."""

    input: int
    output: int


Step: TypeAlias = KernelStep | PrimitiveStep | ReshapeStep


@dataclass(frozen=True, slots=True, eq=False)
class Provenance:
    """Where a plan's work comes from, for a reader (``refjax.graphviz`` draws it).

    ``equations``: the jaxpr's equations in the order planned, a call's body inlined (once per
    call, each time at new positions); an equation with a decomposition (``argmax``) stands for
    the equations it was planned as. ``steps``: for each step of the plan, the positions of the
    equations it computes (a value recomputed by several kernels counts in each; a kernel that
    only copies a buffer into another layout has none). ``slots``: for each slot, the jaxpr
    variables it holds (none for a kernel's temporary or a literal's constant).
    """

    equations: tuple[JaxprEqn, ...]
    steps: tuple[tuple[int, ...], ...]
    slots: tuple[tuple[Var, ...], ...]


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """What an executable does: constants into slots, inputs into slots, steps, outputs."""

    slots: tuple[ShapedArray, ...]
    inputs: tuple[int, ...]
    constants: tuple[tuple[int, NDArray], ...]
    steps: tuple[Step, ...]
    outputs: tuple[int, ...]
    fallbacks: tuple[str, ...] = ()  # planning failures worked around (a planner bug each)
    provenance: Provenance | None = None  # which equations each step computes

    def kernels(self) -> list[Kernel]:
        """The kernels of the plan, in launch order."""
        return [s.kernel for s in self.steps if isinstance(s, KernelStep)]


@dataclass(frozen=True, slots=True)
class FusionOptions:
    """What the target runs: float64 in kernels, and matmuls as kernels (else a primitive);
    ``matmul_block`` the register block of a float32 matmul (a CPU device), or None for the
    local-memory tile (a GPU); eight-byte accumulators get half the columns and half the vector
    width (vectors stay 32 bytes: PoCL's code generator fails on wider ones).
    ``matmul_dot_block`` the block of a float matmul whose operands are both read along k
    (``a @ b.T``; None: ``matmul_block`` with scalar loads of rhs).
    ``column_lanes`` and ``row_lanes`` as :class:`ReduceKernel`'s, ``row_lanes`` also
    :class:`MapKernel`'s (a CPU wants both; a GPU wants one output per work item of a column
    reduction, local-memory trees for the rest, and flat maps)."""

    fp64: bool = True
    matmul_kernels: bool = True
    matmul_block: RegisterBlock | None = None
    matmul_dot_block: RegisterBlock | None = None  # for operands read along k (a @ b.T)
    column_lanes: int = 1
    row_lanes: int = 0


# ---------------------------------------------------------------------------------------------
# The planner


@dataclass(frozen=True, slots=True)
class _MatmulCore:
    """A matmul waiting for its epilogue: operand slots and (b, m, k) / (b, k, n) indices."""

    lhs_slot: int
    lhs: Affine
    rhs_slot: int
    rhs: Affine
    batch: int
    m: int
    n: int
    k: int
    acc: DType
    block: RegisterBlock | None


@dataclass
class _PendingReduce:
    """A reduction (or a matmul, a sum over k) whose result later equations may still use:
    elementwise consumers fuse into its epilogue until something needs it in a buffer."""

    prologue: Sym
    combine: BinaryOp
    identity: Const
    shape: tuple[int, ...]
    reduced_shape: tuple[int, ...]
    outputs: list[tuple[Var, Sym]] = field(default_factory=list)
    matmul: _MatmulCore | None = None


class _Planner:
    """One walk over a jaxpr's equations (nested calls inlined), building a :class:`Plan`."""

    def __init__(self, options: FusionOptions, host: bool = False) -> None:
        self.options = options
        self.host = host  # every equation a primitive step: the plan of last resort
        self.fallbacks: list[str] = []
        self.b = Builder()
        self.slots: list[ShapedArray] = []
        self.constants: list[tuple[int, NDArray]] = []
        self.steps: list[Step] = []
        self.sym: dict[Var, Sym] = {}
        self.slot_of: dict[Var, int] = {}
        self.remaining: dict[Var, int] = {}
        self.pending: dict[int, _PendingReduce] = {}
        self.param_values: list[np.generic] = []
        self._param_ids: dict[tuple[DType, bytes], int] = {}
        self._reductions = 0
        self.fresh: set[Var] = set()  # results of ``copy``: never an alias of another buffer
        self.only_use: dict[Var, JaxprEqn] = {}  # the one equation using a variable, if one
        # transposes whose operand, a matmul's result, was computed transposed: aliases (by
        # id, holding the equation so the id stays its own; removed once planned)
        self.swapped: dict[int, JaxprEqn] = {}
        # provenance (see :class:`Provenance`): the equations planned, each step's positions,
        # each slot's variables; and for an expression the positions of the equations it
        # computes since the last buffers (a decomposition's own: its ``owner``), by body
        # position, or for a load (a view of a buffer: the same load may have other shapes) by
        # the value itself
        self.planned: list[JaxprEqn] = []
        self.step_equations: list[tuple[int, ...]] = []
        self.slot_vars: list[list[Var]] = []
        self.origin: dict[int, frozenset[int]] = {}
        self.view_origin: dict[Sym, frozenset[int]] = {}
        self.owner: int | None = None
        self.current = -1  # the position of the equation being planned
        self.copied: set[Var] = set()  # its matmul operands, copied by a kernel of their own

    # -- slots and values ------------------------------------------------------------------
    def new_slot(self, aval: ShapedArray) -> int:
        """A fresh slot for a value of ``aval``."""
        self.slots.append(aval)
        self.slot_vars.append([])
        return len(self.slots) - 1

    def bind_slot(self, var: Var, slot: int) -> None:
        """``var`` is the buffer in ``slot``; later uses load it."""
        self.slot_of[var] = slot
        if var not in self.slot_vars[slot]:
            self.slot_vars[slot].append(var)
        aval = self.slots[slot]
        self.sym[var] = self.b.load(slot, var.aval.shape, aval.dtype)

    def define(self, var: Var, s: Sym) -> None:
        """``var`` is the expression ``s`` (a jaxpr inlined twice redefines its variables)."""
        self.slot_of.pop(var, None)
        self.sym[var] = s

    def constant_slot(self, value: NDArray, aval: ShapedArray) -> int:
        """A slot holding a host constant (uploaded when the executable is built)."""
        slot = self.new_slot(aval)
        self.constants.append((slot, np.asarray(value, aval.dtype)))
        return slot

    def param(self, lit: Literal) -> Sym:
        """A literal as a scalar launch parameter (equal literals share one)."""
        dtype = lit.aval.dtype
        value = dtype.type(np.asarray(lit.val, dtype).item())
        key = (dtype, value.tobytes())
        index = self._param_ids.get(key)
        if index is None:
            index = self._param_ids[key] = len(self.param_values)
            self.param_values.append(value)
        return self.b.leaf(Param(index, dtype), ())

    def value(self, atom: Atom) -> Sym:
        """The expression of an operand."""
        if isinstance(atom, Literal):
            return self.param(atom)
        return self.sym[atom]

    def reductions_of(self, s: Sym) -> frozenset[int]:
        """The pending reductions ``s`` depends on."""
        return self.b.meta[s.id].reductions

    # -- materialising -----------------------------------------------------------------------
    def buffer(self, var: Var) -> int:
        """The slot of ``var``, computing it into a buffer now if it is still an expression."""
        if var in self.slot_of:
            return self.slot_of[var]
        s = self.sym[var]
        reductions = self.reductions_of(s)
        if reductions:
            (r,) = reductions
            self.pending[r].outputs.append((var, s))
            self.flush(r)
            return self.slot_of[var]
        alias = None if var in self.fresh else self._alias(s, var.aval)
        if alias is not None:
            self.bind_slot(var, alias)
            return alias
        (slot,) = self.emit_map([s], [var.aval])
        self.bind_slot(var, slot)
        return slot

    def _alias_source(self, s: Sym) -> int | None:
        """The slot already holding ``s`` densely (maybe with another shape), or None."""
        expr = self.b.body[s.id]
        if not isinstance(expr, Load) or expr.clamp or expr.index != dense_affine(s.shape):
            return None
        return expr.buffer if self.slots[expr.buffer].size == math.prod(s.shape) else None

    def _alias(self, s: Sym, aval: ShapedArray) -> int | None:
        """A slot holding ``s`` without computing: the source, or a reshape of it; or None."""
        source = self._alias_source(s)
        if source is None or self.slots[source].shape == s.shape:
            return source
        slot = self.new_slot(aval)
        self.add_step(ReshapeStep(source, slot), self.computes(s))
        return slot

    def materialise(self, atom: Atom) -> Sym:
        """``atom`` as a load of a buffer (literals stay parameters)."""
        if isinstance(atom, Literal):
            return self.param(atom)
        self.buffer(atom)
        return self.sym[atom]

    def flush(self, r: int) -> None:
        """Emit the pending reduce kernel ``r`` with every live value that depends on it."""
        pending = self.pending.pop(r)
        outputs = list(pending.outputs)
        chosen = {v for v, _ in outputs}
        for var, s in list(self.sym.items()):
            live = self.remaining.get(var, 0) > 0 and var not in self.slot_of
            if live and var not in chosen and r in self.reductions_of(s):
                outputs.append((var, s))
                chosen.add(var)
        slots = self._emit_reduce(r, pending, [s for _, s in outputs], [v.aval for v, _ in outputs])
        for (var, _), slot in zip(outputs, slots, strict=True):
            self.bind_slot(var, slot)

    # -- kernels ---------------------------------------------------------------------------
    def _extract(
        self, roots: Sequence[int]
    ) -> tuple[tuple[Expr, ...], dict[int, int], list[int], list[int]]:
        """The sub-body reached from ``roots``, renumbered; its input slots and param ids."""
        order = self.b.reached(roots)
        renumber: dict[int, int] = {}
        inputs: list[int] = []
        params: list[int] = []
        body: list[Expr] = []
        for i in order:
            expr = self.b.body[i]
            if isinstance(expr, Load):
                if expr.buffer not in inputs:
                    inputs.append(expr.buffer)
                expr = replace(expr, buffer=inputs.index(expr.buffer))
            elif isinstance(expr, Param):
                if expr.index not in params:
                    params.append(expr.index)
                expr = Param(params.index(expr.index), expr.dtype)
            elif isinstance(expr, Reduced):
                expr = Reduced(0, expr.dtype)
            else:
                expr = with_operands(expr, [renumber[j] for j in operands(expr)])
            renumber[i] = len(body)
            body.append(expr)
        return tuple(body), renumber, inputs, params

    def _buffer_args(self, inputs: Sequence[int]) -> tuple[BufferArg, ...]:
        return tuple(BufferArg(self.slots[i].dtype, self.slots[i].size) for i in inputs)

    def _outputs(self, syms: Sequence[Sym], avals: Sequence[ShapedArray]) -> tuple[
        list[int], list[int], list[int]
    ]:
        """Distinct output roots, the slot of each of ``syms``, and the slots written."""
        roots: list[int] = []
        slot_of_root: dict[int, int] = {}
        slots: list[int] = []
        for s, aval in zip(syms, avals, strict=True):
            if s.id not in slot_of_root:
                slot_of_root[s.id] = self.new_slot(aval.update(dtype=s.dtype))
                roots.append(s.id)
            slots.append(slot_of_root[s.id])
        return roots, slots, [slot_of_root[r] for r in roots]

    def emit_map(self, syms: Sequence[Sym], avals: Sequence[ShapedArray]) -> list[int]:
        """A map kernel computing ``syms`` (all over one shape) into new slots."""
        roots, slots, written = self._outputs(syms, avals)
        body, renumber, inputs, params = self._extract(roots)
        kernel = MapKernel(
            _kernel_name("map", body), syms[0].shape, self._buffer_args(inputs),
            tuple(self._param_dtype(p) for p in params), body,
            tuple(renumber[r] for r in roots), self.options.row_lanes,
        )
        self._launch(kernel, inputs, params, written, syms)
        return slots

    def _launch(
        self, kernel: Kernel, inputs: Sequence[int], params: Sequence[int], written: Sequence[int],
        computed: Sequence[Sym],
    ) -> None:
        step = KernelStep(coalesce(kernel), tuple(inputs),
                          tuple(self.param_values[p] for p in params), tuple(written))
        body = [self.origin.get(i, frozenset()) for i in self.b.reached([s.id for s in computed])]
        self.add_step(step, frozenset().union(*body, *map(self.computes, computed)))

    def add_step(self, step: Step, equations: frozenset[int]) -> None:
        """Append ``step``, computing the equations at the positions ``equations``."""
        self.steps.append(step)
        self.step_equations.append(tuple(sorted(equations)))

    def trace(self, out: Var, position: int, operands: Sequence[Atom]) -> None:
        """``out``, still an expression, computes equation ``position`` and what its operands
        still compute (not those in buffers)."""
        s = self.sym[out]
        buffered = [self.sym[a] for a in operands if isinstance(a, Var) and a in self.slot_of]
        if out in self.slot_of or s in buffered:  # (a no-op on a buffer computes nothing)
            return
        inputs = [self.computes(self.sym[a]) for a in operands
                  if isinstance(a, Var) and a not in self.slot_of and a not in self.copied]
        self.attribute(s, frozenset({position}).union(*inputs))

    def computes(self, s: Sym) -> frozenset[int]:
        """The positions of the equations the value ``s`` computes."""
        if isinstance(self.b.body[s.id], Load):
            return self.view_origin.get(s, frozenset())
        return self.origin.get(s.id, frozenset())

    def attribute(self, s: Sym, positions: frozenset[int]) -> None:
        """The value ``s`` computes (also) the equations at ``positions``."""
        if isinstance(self.b.body[s.id], Load):
            self.view_origin[s] = self.view_origin.get(s, frozenset()) | positions
        else:
            self.origin[s.id] = self.origin.get(s.id, frozenset()) | positions

    def _param_dtype(self, index: int) -> DType:
        dtype: DType = self.param_values[index].dtype
        return dtype

    def _emit_reduce(
        self, r: int, pending: _PendingReduce, syms: Sequence[Sym], avals: Sequence[ShapedArray]
    ) -> list[int]:
        if pending.matmul is not None:
            return self._emit_matmul(pending.matmul, syms, avals)
        roots, slots, written = self._outputs(syms, avals)
        body, renumber, inputs, params = self._extract([pending.prologue.id, *roots])
        name = _kernel_name(f"reduce_{pending.combine.value}", body)
        kernel = ReduceKernel(
            name, pending.shape, pending.reduced_shape, self._buffer_args(inputs),
            tuple(self._param_dtype(p) for p in params), body,
            renumber[pending.prologue.id], pending.combine, pending.identity,
            tuple(renumber[x] for x in roots), self.options.column_lanes, self.options.row_lanes,
        )
        self._launch(kernel, inputs, params, written, [pending.prologue, *syms])
        return slots

    # -- equations -------------------------------------------------------------------------
    def run(self, closed: ClosedJaxpr) -> Plan:
        """Plan the whole closed jaxpr; its outputs are always materialised."""
        jaxpr = closed.jaxpr
        inputs = []
        for var in jaxpr.invars:
            slot = self.new_slot(var.aval)
            inputs.append(slot)
            self.bind_slot(var, slot)
        self._bind_consts(jaxpr, closed.consts)
        self._count_uses(jaxpr)
        for eqn in jaxpr.eqns:
            self.equation(eqn)
        if not self.host:
            self._materialise_outputs(jaxpr.outvars)
        outputs = self._output_slots(jaxpr.outvars)
        provenance = Provenance(tuple(self.planned), tuple(self.step_equations),
                                tuple(tuple(v) for v in self.slot_vars))
        return Plan(tuple(self.slots), tuple(inputs), tuple(self.constants), tuple(self.steps),
                    tuple(outputs), tuple(self.fallbacks), provenance)

    def _bind_consts(self, jaxpr: Jaxpr, consts: Sequence[object]) -> None:
        for var, const in zip(jaxpr.constvars, consts, strict=True):
            self.bind_slot(var, self.constant_slot(np.asarray(const), var.aval))

    def _count_uses(self, jaxpr: Jaxpr) -> None:
        uses: dict[Var, list[JaxprEqn | None]] = {}
        for eqn in jaxpr.eqns:
            for atom in eqn.invars:
                if isinstance(atom, Var):
                    self.remaining[atom] = self.remaining.get(atom, 0) + 1
                    uses.setdefault(atom, []).append(eqn)
        for atom in jaxpr.outvars:
            if isinstance(atom, Var):
                self.remaining[atom] = self.remaining.get(atom, 0) + 1
                uses.setdefault(atom, []).append(None)
        for var, users in uses.items():
            if len(users) == 1 and users[0] is not None:
                self.only_use[var] = users[0]

    def _materialise_outputs(self, outvars: Sequence[Atom]) -> None:
        """Compute every output still an expression: pending reductions, then maps by shape."""
        groups: dict[tuple[int, ...], list[Var]] = {}
        for atom in outvars:
            if isinstance(atom, Literal) or atom in self.slot_of:
                continue
            s = self.sym[atom]
            reductions = self.reductions_of(s)
            if reductions:
                (r,) = reductions
                if all(v is not atom for v, _ in self.pending[r].outputs):
                    self.pending[r].outputs.append((atom, s))
            elif atom in self.fresh or self._alias_source(s) is None:
                groups.setdefault(s.shape, [])
                if atom not in groups[s.shape]:
                    groups[s.shape].append(atom)
            else:
                self.buffer(atom)
        for r in list(self.pending):
            if self.pending[r].outputs:
                self.flush(r)
        for members in groups.values():
            slots = self.emit_map([self.sym[v] for v in members], [v.aval for v in members])
            for var, slot in zip(members, slots, strict=True):
                self.bind_slot(var, slot)

    def _output_slots(self, outvars: Sequence[Atom]) -> list[int]:
        """The slots of the (materialised) outputs; literals become constants."""
        return [
            self.constant_slot(np.asarray(a.val), a.aval) if isinstance(a, Literal)
            else self.slot_of[a]
            for a in outvars
        ]

    def equation(self, eqn: JaxprEqn) -> None:
        """Plan one equation: fuse it, start a kernel, or add a primitive step."""
        prim = eqn.primitive
        if self.swapped.get(id(eqn)) is eqn:  # its operand is the matmul computed transposed
            del self.swapped[id(eqn)]
            (atom,), (out,) = eqn.invars, eqn.outvars
            assert isinstance(atom, Var) and atom not in self.slot_of
            self.define(out, self.sym[atom])
            self.trace(out, self.position(eqn), [atom])
            self.remaining[atom] -= 1
            return
        if prim is ew.copy_p:
            self.fresh.add(eqn.outvars[0])
        in_avals = [a.aval for a in eqn.invars]
        out_avals = [v.aval for v in eqn.outvars]
        if prim in _CALLS and not self.host:
            self._inline(eqn, eqn.params[_CALLS[prim]])
        elif not self.host and prim in decompositions and all(
            is_kernel_dtype(a.dtype, self.options.fp64) for a in [*in_avals, *out_avals]
        ) and (closed := decompositions[prim](in_avals, eqn.params)) is not None:
            position, owner = self.position(eqn), self.owner
            self.owner = position  # its equations are this one's, in the provenance
            self._inline(eqn, closed)
            self.owner = owner
            for out in eqn.outvars:
                self.trace(out, position, eqn.invars)
        else:
            position = self.position(eqn)
            self._fuse_or_split(eqn, self._planner_of(eqn, in_avals, out_avals))
            for out in eqn.outvars:
                self.trace(out, position, eqn.invars)
            self.copied.clear()
        for atom in eqn.invars:
            if isinstance(atom, Var):
                self.remaining[atom] -= 1

    def position(self, eqn: JaxprEqn) -> int:
        """``eqn``'s position among the equations planned (inside a decomposition, its owner's);
        it becomes the current one."""
        if self.owner is None:
            self.planned.append(eqn)
            self.current = len(self.planned) - 1
        else:
            self.current = self.owner
        return self.current

    def _planner_of(
        self, eqn: JaxprEqn, in_avals: Sequence[ShapedArray], out_avals: Sequence[ShapedArray]
    ) -> Callable[[JaxprEqn], None]:
        """The method planning ``eqn``: a reduction, a map, a matmul, or a primitive step."""
        prim = eqn.primitive
        if self.host:
            return self._primitive
        fusable = lower.lowerable(prim, eqn.params, in_avals, out_avals, self.options.fp64)
        if fusable and prim in lower.reductions:
            return self._reduce
        if fusable:
            return self._map
        if prim is la.dot_general_p and self._matmul_dtype(eqn) is not None:
            return self._matmul
        return self._primitive

    def _fuse_or_split(self, eqn: JaxprEqn, fuse: Callable[[JaxprEqn], None]) -> None:
        """``fuse(eqn)``; if that fails, again on operands in buffers; last, a host step."""
        if fuse == self._primitive:
            fuse(eqn)
            return
        try:
            fuse(eqn)
            return
        except Exception as err:  # any planning failure: split the kernel here, and retry
            self._fell_back(eqn, "its operands materialised", err)
        try:
            for atom in eqn.invars:
                if isinstance(atom, Var):
                    self.buffer(atom)
            fuse(eqn)
            return
        except Exception as err:  # still no kernel form: the backend runs it as a primitive
            self._fell_back(eqn, "a primitive step", err)
        self._primitive(eqn)

    def _fell_back(self, eqn: JaxprEqn, how: str, err: Exception) -> None:
        """Record (and log) that planning ``eqn`` failed with ``err``, and what happens instead."""
        note = f"{eqn.primitive.name} planned as {how} after {type(err).__name__}: {err}"
        log.warning("refjax fusion: %s", note)
        self.fallbacks.append(note)

    def _inline(self, eqn: JaxprEqn, closed: ClosedJaxpr) -> None:
        """A call: its body's equations join the caller's."""
        inner = closed.jaxpr
        for var, atom in zip(inner.invars, eqn.invars, strict=True):
            self._bind_like(var, atom)
        self._bind_consts(inner, closed.consts)
        self._count_uses(inner)
        for inner_eqn in inner.eqns:
            self.equation(inner_eqn)
        for var, atom in zip(eqn.outvars, inner.outvars, strict=True):
            self._bind_like(var, atom)
            if isinstance(atom, Var):
                self.remaining[atom] -= 1

    def _bind_like(self, var: Var, atom: Atom) -> None:
        if isinstance(atom, Literal) and not is_kernel_dtype(atom.aval.dtype, self.options.fp64):
            # a literal no kernel computes in (complex, float16) passed into an inlined call:
            # a constant buffer, for the host steps that read it
            value = np.asarray(atom.val, atom.aval.dtype)
            self.bind_slot(var, self.constant_slot(np.broadcast_to(value, var.aval.shape),
                                                   var.aval))
        elif isinstance(atom, Literal):
            self.define(var, lower.stretch(self.b, self.param(atom), var.aval.shape))
        elif atom in self.slot_of:
            self.bind_slot(var, self.slot_of[atom])
        else:
            self.define(var, self.sym[atom])

    def _map(self, eqn: JaxprEqn) -> None:
        prim = eqn.primitive
        out = eqn.outvars[0]
        rule = lower.lowerings[prim]
        if prim in lower.VIEWS:
            args = [self._viewable(a, out.aval) for a in eqn.invars]
            try:
                result = rule(self.b, args, eqn.params, out.aval)
            except NotAffine:
                args = [self.materialise(a) for a in eqn.invars]
                try:
                    result = rule(self.b, args, eqn.params, out.aval)
                except NotAffine:  # a reshape with dimensions: copy it transposed first
                    if prim is not sh.reshape_p:
                        raise
                    result = self._transposed_reshape(args[0], eqn.params["dimensions"], out.aval)
        else:
            args = self._fusable_operands(eqn.invars, out.aval.shape)
            result = rule(self.b, args, eqn.params, out.aval)
        self.define(out, result)

    def _transposed_reshape(
        self, x: Sym, dimensions: tuple[int, ...], out: ShapedArray
    ) -> Sym:
        """``reshape(transpose(x, dimensions))`` through a buffer holding the transpose."""
        permuted = lower.transpose(self.b, x, dimensions)
        self.attribute(permuted, frozenset({self.current}))
        (slot,) = self.emit_map([permuted], [ShapedArray(permuted.shape, permuted.dtype)])
        return lower.reshape(self.b, self.b.load(slot, permuted.shape, permuted.dtype), out.shape)

    def _viewable(self, atom: Atom, out: ShapedArray) -> Sym:
        """An operand of a view: materialised if reduced here, or too costly to recompute."""
        s = self.value(atom)
        cost = self.b.meta[s.id].cost
        expands = out.size > math.prod(s.shape)
        if (
            self.reductions_of(s)
            or cost > VIEW_RECOMPUTE_COST
            or (expands and cost > BROADCAST_RECOMPUTE_COST)
        ):
            return self.materialise(atom)
        return s

    def _fusable_operands(self, atoms: Sequence[Atom], shape: tuple[int, ...]) -> list[Sym]:
        """Operands of an elementwise op over ``shape``: one unbroadcast reduction at most."""
        args = [self.value(a) for a in atoms]
        keep: int | None = None
        for k, s in enumerate(args):
            reductions = self.reductions_of(s)
            if not reductions:
                continue
            (r,) = reductions
            if s.shape != shape:
                args[k] = self.materialise(atoms[k])
            elif keep is None:
                keep = r
            elif r != keep:
                args[k] = self.materialise(atoms[k])
        metas = [self.b.meta[s.id] for s in args]
        n_buffers = len(frozenset().union(*(m.buffers for m in metas)))
        cost = max(m.cost for m in metas)
        if n_buffers > MAX_KERNEL_INPUTS - 1 or cost > MAX_KERNEL_COST:
            args = [self.materialise(a) for a in atoms]
        return args

    def _reduce(self, eqn: JaxprEqn) -> None:
        (atom,) = eqn.invars
        x = self.value(atom)
        if self.reductions_of(x):
            x = self.materialise(atom)
        axes = tuple(eqn.params["axes"])
        reduction = lower.reductions[eqn.primitive]
        out = eqn.outvars[0]
        prologue = lower.reduction_prologue(self.b, x, axes)
        red_shape = tuple(x.shape[a] for a in axes)
        r = self._same_pending(prologue, reduction.combine, red_shape)
        if r is None:
            r = self._reductions
            self._reductions += 1
            self.pending[r] = _PendingReduce(
                prologue,
                reduction.combine,
                lower.identity_const(reduction, x.dtype),
                out.aval.shape,
                red_shape,
            )
        self.define(out, self.b.leaf(Reduced(r, x.dtype), out.aval.shape))

    def _same_pending(
        self, prologue: Sym, combine: BinaryOp, red_shape: tuple[int, ...]
    ) -> int | None:
        """A pending reduction computing exactly this one (its result is reused)."""
        for r, p in self.pending.items():
            if p.matmul is not None:
                continue
            same = (p.prologue.id, p.combine, p.reduced_shape) == (prologue.id, combine, red_shape)
            if same and p.prologue.shape == prologue.shape:
                return r
        return None

    def _primitive(self, eqn: JaxprEqn) -> None:
        inputs = tuple(
            self.constant_slot(np.asarray(a.val), a.aval) if isinstance(a, Literal)
            else self.buffer(a)
            for a in eqn.invars
        )
        outputs = tuple(self.new_slot(v.aval) for v in eqn.outvars)
        self.add_step(PrimitiveStep(eqn.primitive, eqn.params, inputs, outputs),
                      frozenset({self.current}))
        for var, slot in zip(eqn.outvars, outputs, strict=True):
            self.bind_slot(var, slot)

    # -- matmul ----------------------------------------------------------------------------
    def _matmul_dtype(self, eqn: JaxprEqn) -> DType | None:
        """The accumulation dtype of a dot_general the matmul kernel computes, else None."""
        if not self.options.matmul_kernels:
            return None
        lhs, rhs = (a.aval for a in eqn.invars)
        out = eqn.outvars[0].aval
        inputs = la.dot_result_dtype(lhs.dtype, rhs.dtype, None)
        acc = inputs if out.dtype.itemsize < inputs.itemsize else out.dtype
        dtypes = (lhs.dtype, rhs.dtype, out.dtype, acc)
        if any(not is_kernel_dtype(t, self.options.fp64) or t.kind == "b" for t in dtypes):
            return None
        return acc

    def _matmul(self, eqn: JaxprEqn) -> None:
        acc = self._matmul_dtype(eqn)
        assert acc is not None
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        lhs_atom, rhs_atom = eqn.invars
        lhs_aval, rhs_aval = lhs_atom.aval, rhs_atom.aval
        lf = la.free_dims(lhs_aval.ndim, lc, lb)
        rf = la.free_dims(rhs_aval.ndim, rc, rb)
        batch = math.prod(lhs_aval.shape[d] for d in lb)
        m = math.prod(lhs_aval.shape[d] for d in lf)
        n = math.prod(rhs_aval.shape[d] for d in rf)
        k = math.prod(lhs_aval.shape[d] for d in lc)
        out = eqn.outvars[0]
        shape = out.aval.shape
        user = self.only_use.get(out)
        transposed = user is not None and user.primitive is sh.transpose_p and (
            la.swaps_free_dims(eqn.params["dimension_numbers"], lhs_aval.ndim, rhs_aval.ndim,
                               user.params["permutation"])
        )
        if transposed:  # only used transposed (a gradient's dot_general, then a transpose):
            # computed so, as rhs^T lhs^T, the transpose an alias of it
            assert user is not None
            shape = user.outvars[0].aval.shape
            lhs_atom, rhs_atom, lb, lf, lc, rb, rf, rc, m, n = (
                rhs_atom, lhs_atom, rb, rf, rc, lb, lf, lc, n, m
            )
        lhs_slot, lhs = self._matmul_operand(lhs_atom, (*lb, *lf, *lc), (batch, m, k), acc)
        rhs_slot, rhs = self._matmul_operand(rhs_atom, (*rb, *rc, *rf), (batch, k, n), acc)
        core = _MatmulCore(lhs_slot, lhs, rhs_slot, rhs, batch, m, n, k, acc,
                           self._matmul_block(acc, lhs, rhs))
        r = self._reductions
        self._reductions += 1
        result = self.b.leaf(Reduced(r, acc), shape)
        self.pending[r] = _PendingReduce(
            result, BinaryOp.ADD, Const(acc.type(0).item(), acc), shape, (k,), matmul=core,
        )
        if out.aval.dtype != acc:
            result = self.b.cast(result, out.aval.dtype)
        self.define(out, result)
        if transposed:
            assert user is not None
            self.swapped[id(user)] = user

    def _emit_matmul(
        self, core: _MatmulCore, syms: Sequence[Sym], avals: Sequence[ShapedArray]
    ) -> list[int]:
        """The matmul kernel of ``core``, computing ``syms`` (its result and the elementwise
        values of it still wanted) in its epilogue."""
        roots, slots, written = self._outputs(syms, avals)
        body, renumber, inputs, params = self._extract(roots)
        operands_ = (BufferArg(core.acc, self.slots[core.lhs_slot].size),
                     BufferArg(core.acc, self.slots[core.rhs_slot].size))
        common = (core.batch, core.m, core.n, core.k)
        plain = len(roots) == 1 and _plain_result(body, renumber[roots[0]])
        if plain:  # the result (maybe converted) alone: stored straight from the registers
            kernel = MatmulKernel("matmul", *common, operands_, core.lhs, core.rhs, core.acc,
                                  body[renumber[roots[0]]].dtype, core.block)
            self._launch(kernel, [core.lhs_slot, core.rhs_slot], [], written, syms)
            return slots
        shifted = tuple(
            replace(e, buffer=e.buffer + 2) if isinstance(e, Load) else e for e in body
        )
        kernel = MatmulKernel(
            _kernel_name("matmul", body), *common, (*operands_, *self._buffer_args(inputs)),
            core.lhs, core.rhs, core.acc, core.acc, core.block,
            tuple(self._param_dtype(p) for p in params), shifted,
            tuple(renumber[x] for x in roots), syms[0].shape,
        )
        self._launch(kernel, [core.lhs_slot, core.rhs_slot, *inputs], params, written, syms)
        return slots

    def _matmul_block(self, acc: DType, lhs: Affine, rhs: Affine) -> RegisterBlock | None:
        dot = self.options.matmul_dot_block
        if dot is not None and acc.kind == "f" and reads_along_k(lhs, rhs):
            return dot.along_k(acc)
        block = self.options.matmul_block
        return None if block is None else block.for_dtype(acc)

    def _matmul_operand(
        self, atom: Atom, perm: tuple[int, ...], shape: tuple[int, int, int], acc: DType
    ) -> tuple[int, Affine]:
        """An operand as a buffer and its (batch, row, column) affine index."""
        s = self.value(atom)
        if self.reductions_of(s) or isinstance(atom, Literal):
            s = self.materialise(atom)
        permuted = lower.transpose(self.b, s, perm)
        try:
            view = lower.reshape(self.b, permuted, shape)
            copied = False
        except NotAffine:  # copy it into (batch, rows, columns) order first
            self._copies(atom, permuted)
            (slot,) = self.emit_map([permuted], [ShapedArray(permuted.shape, s.dtype)])
            view = self.b.load(slot, shape, s.dtype)
            copied = True
        view = self.b.cast(view, acc)
        expr = self.b.body[view.id]
        if isinstance(expr, Load) and not expr.clamp:
            return expr.buffer, expr.index
        if not copied:
            self._copies(atom, view)
        (slot,) = self.emit_map([view], [ShapedArray(shape, acc)])
        return slot, dense_affine(shape)

    def _copies(self, atom: Atom, copy: Sym) -> None:
        """``copy``, a matmul operand in another layout, computes what ``atom`` still does."""
        if isinstance(atom, Var) and atom not in self.slot_of:
            self.attribute(copy, self.computes(self.sym[atom]))
            self.copied.add(atom)


def _plain_result(body: Sequence[Expr], root: int) -> bool:
    """Whether ``body[root]`` is the reduced value itself, or it converted."""
    expr = body[root]
    return isinstance(expr, Reduced) or (
        isinstance(expr, Cast) and isinstance(body[expr.x], Reduced)
    )


def _kernel_name(kind: str, body: Sequence[Expr]) -> str:
    """A readable kernel name: its kind and first few ops (``map_mul_sub``)."""
    names = op_names(body)[:4]
    return "_".join([kind, *names]) if names else f"{kind}_copy"


def plan(closed: ClosedJaxpr, options: FusionOptions | None = None) -> Plan:
    """Partition ``closed`` into kernels and primitive steps (never an internal error).

    Equations whose results nothing uses are dropped first (a gradient's jaxpr keeps the
    forward pass's loss, which ``grad`` does not return), as XLA does; every input stays.
    """
    options = options or FusionOptions()
    closed, _ = dce_closed_jaxpr(closed, True, instantiate=True, cache=False)
    try:
        return _Planner(options).run(closed)
    except Exception as err:  # a planner bug: every equation runs as a primitive step instead
        note = f"the jaxpr planned as primitive steps after {type(err).__name__}: {err}"
        log.warning("refjax fusion: %s", note)
        host = _Planner(options, host=True).run(closed)
        return replace(host, fallbacks=(note, *host.fallbacks))


def primitive_jaxpr(
    prim: Primitive,
    params: Mapping[str, object],
    in_avals: Sequence[ShapedArray],
    out_avals: Sequence[ShapedArray],
) -> ClosedJaxpr:
    """The one-equation jaxpr applying ``prim`` (eager dispatch compiles it)."""
    invars = tuple(Var(a) for a in in_avals)
    outvars = tuple(Var(a) for a in out_avals)
    eqn = JaxprEqn(prim, invars, outvars, dict(params))
    return ClosedJaxpr(Jaxpr((), invars, outvars, (eqn,)), ())


def describe(p: Plan) -> str:
    """A one-line-per-step summary of a plan (for dumps and debugging)."""
    lines = []
    for step in p.steps:
        if isinstance(step, KernelStep):
            lines.append(f"kernel {step.kernel.name}: {step.inputs} -> {step.outputs}")
        elif isinstance(step, PrimitiveStep):
            lines.append(f"primitive {step.primitive.name}: {step.inputs} -> {step.outputs}")
        else:
            lines.append(f"reshape: {step.input} -> {step.output}")
    return "\n".join(lines)
