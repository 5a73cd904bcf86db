"""Staging: tracing a Python function into a jaxpr (``make_jaxpr``, and ``jit``'s first step).

Every primitive bound while the :class:`StagingTrace` is current becomes an equation. Values that
are not this trace's tracers are constants: scalars are written inline as literals, other arrays
become constvars of the resulting :class:`ClosedJaxpr`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from refjax.errors import origin_message
from refjax.interp.axes import join_vma, pvary_p
from refjax.interp.core import (
    Array,
    ArrayLike,
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    Params,
    Primitive,
    ShapedArray,
    Trace,
    Tracer,
    Var,
    abstract_eval,
    aval_text,
    get_aval,
    new_trace,
)


@dataclass(frozen=True, slots=True)
class DebugInfo:
    """What is being traced, for error messages: the function, why, and its argument names."""

    func_name: str
    traced_for: str
    arg_names: tuple[str, ...]


def debug_info(fn: Callable[..., object], traced_for: str, arg_names: Sequence[str]) -> DebugInfo:
    """Describe ``fn`` as JAX does: its name, file and line."""
    name = getattr(fn, "__name__", type(fn).__name__)
    code = getattr(fn, "__code__", None)
    where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
    return DebugInfo(f"{name}{where}", traced_for, tuple(arg_names))


class StagingTracer(Tracer):
    """A tracer standing for a variable of the jaxpr being built."""

    __slots__ = ("jaxpr_var",)

    def __init__(self, trace: StagingTrace, var: Var) -> None:
        super().__init__(trace)
        self.jaxpr_var = var

    @property
    def aval(self) -> ShapedArray:
        """The variable's aval."""
        return self.jaxpr_var.aval

    def _short_repr(self) -> str:
        return f"JitTracer({aval_text(self.aval)})"


class StagingTrace(Trace):
    """Records every primitive applied to its tracers as a jaxpr equation."""

    __slots__ = ("debug", "eqns", "invars", "constvars", "consts", "_const_ids")

    def __init__(self, parent: Trace | None, debug: DebugInfo | None = None) -> None:
        super().__init__(parent)
        self.debug = debug
        self.eqns: list[JaxprEqn] = []
        self.invars: list[Var] = []
        self.constvars: list[Var] = []
        self.consts: list[ArrayLike] = []
        self._const_ids: dict[int, Var] = {}

    def new_arg(self, aval: ShapedArray) -> StagingTracer:
        """A fresh input variable of the jaxpr."""
        var = Var(aval)
        self.invars.append(var)
        return StagingTracer(self, var)

    def to_atom(self, x: ArrayLike) -> Atom:
        """This trace's variable for ``x``; a literal or a constvar for anything else."""
        if isinstance(x, StagingTracer) and x._trace is self:
            return x.jaxpr_var
        if isinstance(x, Tracer):
            self.check_foreign(x)
        aval = get_aval(x)
        if not aval.shape and not isinstance(x, Tracer):
            return Literal(x, aval)
        var = self._const_ids.get(id(x))
        if var is None:
            var = self._const_ids[id(x)] = Var(aval)
            self.constvars.append(var)
            self.consts.append(x)
        return var

    def process_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        atoms = [self.to_atom(a) for a in args]
        if len(atoms) > 1 and any(a.aval.vma for a in atoms):  # inside shard_map only
            atoms = self._pvary(prim, atoms, params)
        out_avals = abstract_eval(prim, [a.aval for a in atoms], params)
        outvars = tuple(Var(aval) for aval in out_avals)
        self.eqns.append(JaxprEqn(prim, tuple(atoms), outvars, dict(params)))
        return [StagingTracer(self, v) for v in outvars]

    def _pvary(self, prim: Primitive, atoms: list[Atom], params: Params) -> list[Atom]:
        """The operands cast (``pvary``) to vary over the same mesh axes, as JAX does."""
        casts = join_vma(prim, [a.aval for a in atoms], params)
        out: list[Atom] = []
        for atom, axes in zip(atoms, casts, strict=True):
            if axes:
                cast = {"axes": axes}
                var = Var(abstract_eval(pvary_p, [atom.aval], cast)[0])
                self.eqns.append(JaxprEqn(pvary_p, (atom,), (var,), cast))
                atom = var
            out.append(atom)
        return out

    def to_closed_jaxpr(self, outs: Sequence[ArrayLike]) -> ClosedJaxpr:
        """The jaxpr recorded so far, returning ``outs``."""
        outvars = tuple(self.to_atom(x) for x in outs)
        jaxpr = Jaxpr(tuple(self.constvars), tuple(self.invars), outvars, tuple(self.eqns))
        return ClosedJaxpr(jaxpr, tuple(self.consts))

    def describe(self) -> str:
        if self.debug is None:
            return ""
        return f"{self.debug.func_name} traced for {self.debug.traced_for}"

    def origin_msg(self, tracer: Tracer) -> str:
        if self.debug is None or not isinstance(tracer, StagingTracer):
            return ""
        positions = self._progenitor_args(tracer.jaxpr_var)
        names = [self._arg_name(i) for i in positions]
        return origin_message(self.debug.func_name, self.debug.traced_for, names)

    def _arg_name(self, i: int) -> str:
        assert self.debug is not None
        return self.debug.arg_names[i] if i < len(self.debug.arg_names) else f"args[{i}]"

    def _progenitor_args(self, var: Var) -> list[int]:
        """Positions of the inputs that ``var`` depends on."""
        needed: set[Var] = {var}
        for eqn in reversed(self.eqns):
            if any(v in needed for v in eqn.outvars):
                needed.update(a for a in eqn.invars if isinstance(a, Var))
        return [i for i, v in enumerate(self.invars) if v in needed]


def trace_to_jaxpr(
    fn: Callable[..., Sequence[ArrayLike]],
    in_avals: Sequence[ShapedArray],
    debug: DebugInfo | None = None,
    parent: Trace | None = None,
) -> ClosedJaxpr:
    """Trace ``fn`` (flat arrays in, a sequence of arrays out) on abstract inputs to a jaxpr."""
    from refjax.interp.core import current_trace

    trace = StagingTrace(current_trace() if parent is None else parent, debug)
    with new_trace(trace):
        args = [trace.new_arg(aval) for aval in in_avals]
        outs = fn(*args)
        return trace.to_closed_jaxpr(list(outs))


def hoist_consts(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list[ArrayLike]]:
    """The same computation with its constants as leading inputs, and those constants."""
    jaxpr = closed.jaxpr
    hoisted = Jaxpr((), jaxpr.constvars + jaxpr.invars, jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(hoisted, ()), list(closed.consts)


def inline_calls(closed: ClosedJaxpr, bodies: Mapping[Primitive, str]) -> ClosedJaxpr:
    """``closed`` with every equation of a call primitive in ``bodies`` (which names the param
    holding its closed jaxpr, called on all the equation's operands) replaced by that body's
    equations, recursively; the bodies' constants become constants of the result. The same
    computation without the calls (a backend runs it as one program). Unchanged if there is
    no call."""
    jaxpr = closed.jaxpr
    if not any(eqn.primitive in bodies for eqn in jaxpr.eqns):
        return closed
    constvars, consts = list(jaxpr.constvars), list(closed.consts)
    eqns: list[JaxprEqn] = []

    def emit(inner: Jaxpr, env: dict[Var, Atom]) -> None:
        def atom(a: Atom) -> Atom:
            return env.get(a, a) if isinstance(a, Var) else a

        for eqn in inner.eqns:
            args = tuple(atom(a) for a in eqn.invars)
            if eqn.primitive in bodies:
                body = eqn.params[bodies[eqn.primitive]]
                assert isinstance(body, ClosedJaxpr)
                sub: dict[Var, Atom] = dict(zip(body.jaxpr.invars, args, strict=True))
                for var, value in zip(body.jaxpr.constvars, body.consts, strict=True):
                    sub[var] = fresh = Var(var.aval)
                    constvars.append(fresh)
                    consts.append(value)
                emit(body.jaxpr, sub)
                for out, inner_out in zip(eqn.outvars, body.jaxpr.outvars, strict=True):
                    env[out] = sub.get(inner_out, inner_out) if isinstance(
                        inner_out, Var) else inner_out
                continue
            outs = tuple(Var(v.aval) for v in eqn.outvars)  # fresh: a body may be inlined twice
            env.update(zip(eqn.outvars, outs, strict=True))
            eqns.append(JaxprEqn(eqn.primitive, args, outs, eqn.params))

    env: dict[Var, Atom] = {}
    emit(jaxpr, env)
    outvars = tuple(env.get(v, v) if isinstance(v, Var) else v for v in jaxpr.outvars)
    return ClosedJaxpr(Jaxpr(tuple(constvars), jaxpr.invars, outvars, tuple(eqns)),
                       tuple(consts))
