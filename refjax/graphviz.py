"""Pictures of jaxprs and fusion plans, as Graphviz DOT text.

A jaxpr is a dataflow graph: :func:`jaxpr_dot` draws one node per input, constant, equation and
output, and one edge per variable from the node defining it to each node reading it, labelled
``name:type`` with the names the printer gives (``str(closed)`` reads the same). The jaxprs a
higher-order primitive holds (``cond``'s branches, a ``scan`` or ``while`` body, a ``jit`` call,
``custom_jvp_call``'s function) are drawn inside the equation's cluster, each its own cluster.

:func:`fusion_plan_dot` draws what a kernel backend runs instead (``backends/kernels/fusion.py``,
planned without a device): each kernel a cluster of the equations it computes, so a learner sees
which equations fused; host steps and library calls (``dot_general`` through cuBLAS) clusters of
their one equation; buffers passed between steps edges labelled by the jaxpr variable they hold.
A call's body is inlined into the plan, so its equations sit in the caller's kernels.

:func:`write_dot` writes the text, and the SVG (or PNG) beside it when Graphviz's ``dot`` program
is installed. The text is deterministic: ids are positions, names are the printer's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from refjax.backends.kernels.fusion import (
    FusionOptions,
    KernelStep,
    Plan,
    PrimitiveStep,
    Provenance,
    ReshapeStep,
    plan,
)
from refjax.backends.kernels.ir import MatmulKernel, ReduceKernel
from refjax.interp.core import (
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    ParamValue,
    Var,
    VarNames,
    display_rules,
    pp_eqn,
    pp_param,
    printed_names,
)
from refjax.primitives.linalg import dot_general_p
from refjax.stages import backend_options

Backend: typing.TypeAlias = typing.Literal["opencl", "cuda"]

PARAM_WIDTH: Final = 40  # a param's text longer than this is cut (the tooltip has it whole)
TOOLTIP_WIDTH: Final = 2000
FONT: Final = "Helvetica"
COLORS: Final[dict[str, str]] = {
    "input": "#dbeafe",
    "const": "#e5e7eb",
    "output": "#dcfce7",
    "equation": "#ffffff",
    "call": "#fef9c3",
    "map": "#fde68a",
    "reduce": "#fdba74",
    "matmul": "#f9a8d4",
    "host": "#c4b5fd",
    "library": "#a5b4fc",
    "reshape": "#e5e7eb",
}


# ---------------------------------------------------------------------------------------------
# DOT text


def quote(text: str) -> str:
    """``text`` as a DOT quoted string: backslashes and quotes escaped, newlines as ``\\n``.

    Inside quotes only ``\\"`` is DOT's own escape; Graphviz then reads a label's ``\\\\`` as one
    backslash and ``\\n`` as a line break, so every other character (``<``, ``>``, ``{``, ``|``)
    is literal in a non-HTML label of a non-record node, the only kind written here.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def attributes(attrs: dict[str, str]) -> str:
    """``[k="v", ...]`` in the order given ("" when there are none)."""
    if not attrs:
        return ""
    return " [" + ", ".join(f"{k}={quote(v)}" for k, v in attrs.items()) + "]"


@dataclass
class Graph:
    """DOT statements being written: nodes in their (nested, indented) subgraphs, and the edges,
    written after them at the top (an edge statement inside a subgraph would draw its ends into
    that subgraph)."""

    lines: list[str] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    depth: int = 1

    def add(self, statement: str) -> None:
        self.lines.append("  " * self.depth + statement)

    def node(self, node_id: str, **attrs: str) -> None:
        self.add(f"{quote(node_id)}{attributes(attrs)};")

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        self.edges.append(f"  {quote(tail)} -> {quote(head)}{attributes(attrs)};")

    def cluster(self, name: str, **attrs: str) -> _Subgraph:
        """A ``subgraph cluster_...`` block (use with ``with``), with graph attributes."""
        return _Subgraph(self, f"cluster_{name}", attrs)

    def text(self, name: str, **attrs: str) -> str:
        """The whole ``digraph``, its default graph, node and edge attributes first."""
        head = [f"digraph {quote(name)} {{",
                f"  graph{attributes({'fontname': FONT, 'compound': 'true', **attrs})};",
                f"  node{attributes({'fontname': FONT, 'fontsize': '10'})};",
                f"  edge{attributes({'fontname': FONT, 'fontsize': '9'})};"]
        return "\n".join([*head, *self.lines, *self.edges, "}"]) + "\n"


@dataclass
class _Subgraph:
    graph: Graph
    name: str
    attrs: dict[str, str]

    def __enter__(self) -> Graph:
        self.graph.add(f"subgraph {quote(self.name)} {{")
        self.graph.depth += 1
        self.graph.add(f"graph{attributes(self.attrs)};")
        return self.graph

    def __exit__(self, *exc: object) -> None:
        self.graph.depth -= 1
        self.graph.add("}")


# ---------------------------------------------------------------------------------------------
# Names and labels


def typed(var: Var, names: VarNames) -> str:
    """``name:type``, as a binder prints."""
    return f"{names.name(var)}:{var.aval.str_short(short_dtypes=True)}"


def _short(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= PARAM_WIDTH else one_line[: PARAM_WIDTH - 1] + "…"


def _holds_jaxpr(value: ParamValue) -> bool:
    values = value if isinstance(value, tuple) else (value,)
    return any(isinstance(v, Jaxpr | ClosedJaxpr) or _holds_jaxpr_record(v) for v in values)


def _holds_jaxpr_record(value: object) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields") and any(
        isinstance(v, Jaxpr | ClosedJaxpr) for v in value)


def sub_jaxprs(eqn: JaxprEqn) -> list[tuple[str, ClosedJaxpr | Jaxpr]]:
    """The jaxprs among ``eqn``'s params, each with where it sits (``branches[1]``, ``jaxpr``),
    in the order of the sorted param names."""
    out: list[tuple[str, ClosedJaxpr | Jaxpr]] = []
    for key, value in sorted(eqn.params.items()):
        if isinstance(value, Jaxpr | ClosedJaxpr):
            out.append((key, value))
        elif _holds_jaxpr_record(value):
            assert isinstance(value, tuple)
            labels: tuple[str, ...] = getattr(value, "_fields")  # noqa: B009  # a NamedTuple's
            out += [(f"{key}.{f}", v) for f, v in zip(labels, value, strict=True)
                    if isinstance(v, Jaxpr | ClosedJaxpr)]
        elif isinstance(value, tuple):
            out += [(f"{key}[{i}]", v) for i, v in enumerate(value)
                    if isinstance(v, Jaxpr | ClosedJaxpr)]
    return out


def equation_label(eqn: JaxprEqn, names: VarNames) -> str:
    """``outs = primitive``, then its params one a line (shortened, jaxprs left out: they are
    drawn), then the literal operands. A result nothing reads is ``_``, as printed."""
    outs = " ".join(names.names.get(v, "_") for v in eqn.outvars)
    lines = [f"{outs} = {eqn.primitive.name}" if outs else eqn.primitive.name]
    rule = display_rules.get(eqn.primitive)
    params = eqn.params if rule is None else rule(eqn.params)
    for key, value in sorted(params.items(), key=lambda kv: (kv[0] != "name", kv[0])):
        if not _holds_jaxpr(value):
            lines.append(_short(f"{key}={pp_param(value, names, 0)}"))
    literals = [repr(a) for a in eqn.invars if isinstance(a, Literal)]
    if literals:
        lines.append("with " + " ".join(literals))
    return "\n".join(lines)


def equation_tooltip(eqn: JaxprEqn, names: VarNames) -> str:
    """The equation as the printer writes it (cut, for a large body); printed with a copy of
    ``names``, so that naming what was never printed (``_``) changes no other name."""
    copy = VarNames()
    copy.names, copy.count, copy.shared = dict(names.names), names.count, names.shared
    text = pp_eqn(eqn, copy, 0, read=set(names.names))
    return text if len(text) <= TOOLTIP_WIDTH else text[: TOOLTIP_WIDTH - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Jaxprs


def jaxpr_dot(closed: ClosedJaxpr | Jaxpr, title: str | None = None) -> str:
    """The DOT text of ``closed``: its inputs, constants, equations and outputs as nodes, each
    variable an edge ``name:type`` from where it is defined to where it is read; a higher-order
    equation a cluster holding a cluster per jaxpr in its params.

    Node ids: ``in{i}``, ``const{i}``, ``e{i}``, ``out{i}`` at the top; a nested jaxpr's under
    the prefix ``e{i}/{param}/`` (``e2/branches[0]/e0``).
    """
    names = printed_names(closed)
    jaxpr = closed.jaxpr if isinstance(closed, ClosedJaxpr) else closed
    graph = Graph()
    _draw_jaxpr(graph, jaxpr, names, "")
    label = title if title is not None else "jaxpr"
    return graph.text(label, label=label, labelloc="t", rankdir="TB")


def _draw_jaxpr(graph: Graph, jaxpr: Jaxpr, names: VarNames, prefix: str) -> list[str]:
    """Draw ``jaxpr``'s nodes with ids under ``prefix``; the ids of its input nodes."""
    defined: dict[Var, str] = {}
    inputs = []
    for i, var in enumerate(jaxpr.constvars):
        defined[var] = node = f"{prefix}const{i}"
        graph.node(node, label=f"const {typed(var, names)}", shape="ellipse", style="filled",
                   fillcolor=COLORS["const"])
    for i, var in enumerate(jaxpr.invars):
        defined[var] = node = f"{prefix}in{i}"
        inputs.append(node)
        graph.node(node, label=typed(var, names), shape="ellipse", style="filled",
                   fillcolor=COLORS["input"])
    for i, eqn in enumerate(jaxpr.eqns):
        node = f"{prefix}e{i}"
        _draw_equation(graph, eqn, names, node)
        for var in dict.fromkeys(a for a in eqn.invars if isinstance(a, Var)):
            graph.edge(defined[var], node, label=typed(var, names))
        for var in eqn.outvars:
            defined[var] = node
    for i, atom in enumerate(jaxpr.outvars):
        node = f"{prefix}out{i}"
        if isinstance(atom, Literal):
            graph.node(node, label=f"out {i} = {atom!r}", shape="ellipse", style="filled",
                       fillcolor=COLORS["output"])
            continue
        graph.node(node, label=f"out {i}", shape="ellipse", style="filled",
                   fillcolor=COLORS["output"])
        graph.edge(defined[atom], node, label=typed(atom, names))
    return inputs


def _draw_equation(graph: Graph, eqn: JaxprEqn, names: VarNames, node: str) -> None:
    """One equation's node; with jaxprs in its params, a cluster holding it and them."""
    label = equation_label(eqn, names)
    tooltip = equation_tooltip(eqn, names)
    subs = sub_jaxprs(eqn)
    if not subs:
        graph.node(node, label=label, tooltip=tooltip, shape="box", style="rounded,filled",
                   fillcolor=COLORS["equation"])
        return
    with graph.cluster(node, label=eqn.primitive.name, style="rounded,filled",
                       fillcolor=COLORS["call"]):
        graph.node(node, label=label, tooltip=tooltip, shape="box", style="rounded,filled",
                   fillcolor=COLORS["equation"])
        for where, sub in subs:
            prefix = f"{node}/{where}/"
            with graph.cluster(prefix, label=where, style="dashed"):
                inner = sub.jaxpr if isinstance(sub, ClosedJaxpr) else sub
                for head in _draw_jaxpr(graph, inner, names, prefix):
                    graph.edge(node, head, style="dashed", color="gray50", arrowhead="none")


# ---------------------------------------------------------------------------------------------
# Fusion plans


def fusion_plan_dot(
    closed: ClosedJaxpr,
    backend: Backend | FusionOptions = "opencl",
    title: str | None = None,
    *,
    planned: Plan | None = None,
) -> str:
    """The DOT text of the plan a kernel backend makes of ``closed`` (planned here, without a
    device, unless ``planned`` is that plan already): each step a cluster ``cluster_s{i}`` of the
    equations it computes, node ids ``s{i}/e{p}`` (``p`` the position in the plan's
    :class:`~refjax.backends.kernels.fusion.Provenance`), an equation several kernels recompute
    drawn in each, one no step computes (a no-op on a buffer) outside them as ``e{p}``; the
    buffers between steps edges labelled by the variable they hold; inputs ``in{i}``, constants
    ``const{slot}``, outputs ``out{i}``.
    """
    options = backend_options(backend) if isinstance(backend, str) else backend
    p = planned if planned is not None else plan(closed, options)
    assert p.provenance is not None, "a plan from fusion.plan carries its provenance"
    names = printed_names(closed)
    graph = Graph()
    _PlanDrawing(graph, p, p.provenance, names).draw(closed.jaxpr)
    label = title if title is not None else "fusion plan"
    return graph.text(label, label=label, labelloc="t", rankdir="TB")


@dataclass
class _PlanDrawing:
    graph: Graph
    plan: Plan
    source: Provenance
    names: VarNames
    # for each slot: who wrote it (an input, a constant, a step) as the node an edge starts at
    writer: dict[int, str] = field(default_factory=dict)

    def draw(self, jaxpr: Jaxpr) -> None:
        for i, (slot, var) in enumerate(zip(self.plan.inputs, jaxpr.invars, strict=True)):
            self.writer[slot] = f"in{i}"
            self.graph.node(f"in{i}", label=typed(var, self.names), shape="ellipse",
                            style="filled", fillcolor=COLORS["input"])
        for slot, _ in self.plan.constants:
            self.writer[slot] = f"const{slot}"
            self.graph.node(f"const{slot}", label=f"const {self.slot_name(slot)}",
                            shape="ellipse", style="filled", fillcolor=COLORS["const"])
        for i, step in enumerate(self.plan.steps):
            self.step(i, step)
        done = {p for positions in self.source.steps for p in positions}
        for p, eqn in enumerate(self.source.equations):
            if p not in done:  # a no-op on a buffer (a reshape to its own shape): no step
                self.graph.node(f"e{p}", label=f"{equation_label(eqn, self.names)}\n(no work)",
                                tooltip=equation_tooltip(eqn, self.names), shape="box",
                                style="rounded,dashed")
        for i, (slot, atom) in enumerate(zip(self.plan.outputs, jaxpr.outvars, strict=True)):
            self.graph.node(f"out{i}", label=f"out {i}", shape="ellipse", style="filled",
                            fillcolor=COLORS["output"])
            text = repr(atom) if isinstance(atom, Literal) else typed(atom, self.names)
            self.graph.edge(self.writer[slot], f"out{i}", label=text)

    def slot_name(self, slot: int) -> str:
        """``name:type`` of the (first) variable a slot holds, else ``slot{n}:type``."""
        held = self.source.slots[slot]
        aval = self.plan.slots[slot].str_short(short_dtypes=True)
        return typed(held[0], self.names) if held else f"slot{slot}:{aval}"

    def step(self, i: int, step: KernelStep | PrimitiveStep | ReshapeStep) -> None:
        positions = self.source.steps[i]
        kind, title = _step_title(i, step)
        anchor = f"s{i}"
        nodes = {p: f"s{i}/e{p}" for p in positions}
        with self.graph.cluster(anchor, label=title, style="rounded,filled",
                                fillcolor=COLORS[kind]):
            if not nodes:  # a copy into another layout: no equation of the jaxpr
                self.graph.node(anchor, label="copy", shape="box", style="rounded")
            for p, node in nodes.items():
                eqn = self.source.equations[p]
                self.graph.node(node, label=equation_label(eqn, self.names),
                                tooltip=equation_tooltip(eqn, self.names), shape="box",
                                style="rounded,filled", fillcolor=COLORS["equation"])
            for p, node in nodes.items():  # the values passed inside the step
                for var in self._operands(p):
                    source = self._defined_in(var, p, nodes)
                    if source is not None:
                        self.graph.edge(source, node, label=typed(var, self.names))
        first = next(iter(nodes.values()), anchor)
        for slot in _reads(step):
            held = set(self.source.slots[slot])
            reader = next((nodes[p] for p in nodes if held & set(self._operands(p))), first)
            self.graph.edge(self.writer[slot], reader, label=self.slot_name(slot), penwidth="2")
        for slot in _writes(step):
            held = set(self.source.slots[slot])
            self.writer[slot] = next(
                (nodes[p] for p in reversed(nodes)
                 if held & set(self.source.equations[p].outvars)), first)

    def _operands(self, position: int) -> list[Var]:
        atoms: Sequence[Atom] = self.source.equations[position].invars
        return list(dict.fromkeys(a for a in atoms if isinstance(a, Var)))

    def _defined_in(self, var: Var, position: int, nodes: dict[int, str]) -> str | None:
        """The node of the last equation of the step before ``position`` defining ``var``."""
        for p in sorted(nodes, reverse=True):
            if p < position and var in self.source.equations[p].outvars:
                return nodes[p]
        return None


def _step_title(i: int, step: KernelStep | PrimitiveStep | ReshapeStep) -> tuple[str, str]:
    """The colour key and the cluster label of step ``i``."""
    if isinstance(step, KernelStep):
        kernel = step.kernel
        kind = ("matmul" if isinstance(kernel, MatmulKernel)
                else "reduce" if isinstance(kernel, ReduceKernel) else "map")
        return kind, f"kernel {i}: {kernel.name} ({kind})"
    if isinstance(step, PrimitiveStep):
        if step.primitive is dot_general_p:
            return "library", f"step {i}: library call {step.primitive.name}"
        return "host", f"step {i}: primitive {step.primitive.name} (no kernel form)"
    return "reshape", f"step {i}: reshape (no data moves)"


def _reads(step: KernelStep | PrimitiveStep | ReshapeStep) -> tuple[int, ...]:
    return (step.input,) if isinstance(step, ReshapeStep) else tuple(dict.fromkeys(step.inputs))


def _writes(step: KernelStep | PrimitiveStep | ReshapeStep) -> tuple[int, ...]:
    return (step.output,) if isinstance(step, ReshapeStep) else step.outputs


# ---------------------------------------------------------------------------------------------
# Files


def write_dot(
    text: str, path: str | os.PathLike[str], formats: Sequence[str] = ("svg",)
) -> list[Path]:
    """Write ``text`` to ``path`` (``.dot`` added if it has no suffix) and, when Graphviz's
    ``dot`` program is installed, each of ``formats`` (``svg``, ``png``, ...) beside it; the
    paths written, the DOT file first. Without ``dot`` only the DOT file is written."""
    target = Path(path)
    if not target.suffix:
        target = target.with_suffix(".dot")
    for fmt in formats:
        if not fmt.isalnum():
            raise ValueError(f"write_dot: {fmt!r} is not a Graphviz output format")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    written = [target]
    program = shutil.which("dot")
    if program is None:
        return written
    for fmt in formats:
        out = target.with_suffix(f".{fmt}")
        result = subprocess.run(  # a fixed program, its arguments a list
            [program, f"-T{fmt}", "-o", str(out), str(target)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dot -T{fmt} {target} failed: {result.stderr.strip()}")
        written.append(out)
    return written

