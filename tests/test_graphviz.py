"""Pictures of jaxprs and fusion plans (``refjax/graphviz.py``): the DOT text parses back.

A small strict reader of the DOT subset the module writes (statements ending in ``;``, a
subgraph at its brace; quoted ids; attribute lists; nested subgraphs; quoted strings with
``\\"``, ``\\\\`` and ``\\n``) reads every picture back. The jaxpr pictures are checked
against an independent walk of the jaxpr (every equation exactly once, a cluster per nested
jaxpr, edges between declared nodes, the printer's names); the fusion pictures against the plan
itself (each step's cluster holds exactly the equations the plan says it computes) and against
what the fusion design promises for known programs (an elementwise chain is one kernel, bias
and activation join the matmul kernel, a reduced value broadcast back starts a new kernel, CUDA
calls a library for the matmul).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
import refjax.random
from refjax import graphviz, lax, stages
from refjax.backends.kernels.fusion import FusionOptions, KernelStep, PrimitiveStep, plan
from refjax.interp.core import ClosedJaxpr, Jaxpr, JaxprEqn, Var

# ---------------------------------------------------------------------------------------------
# A strict reader of the DOT that refjax.graphviz writes

TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<arrow>->)|(?P<punct>[{}\[\];,=])'
                   r"|(?P<word>[A-Za-z_][A-Za-z_0-9]*))", re.DOTALL)
ESCAPES = {'"': '"', "\\": "\\", "n": "\n"}


def unquote(token: str) -> str:
    """A quoted DOT string's text: only the escapes the writer uses are accepted."""
    out, chars = [], iter(token[1:-1])
    for c in chars:
        if c == "\\":
            escaped = next(chars)
            assert escaped in ESCAPES, f"unexpected escape \\{escaped} in {token}"
            out.append(ESCAPES[escaped])
        else:
            assert c != "\n", "a raw newline inside a quoted string"
            out.append(c)
    return "".join(out)


def tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) tokens; anything else in the text fails."""
    out, pos = [], 0
    while text[pos:].strip():
        m = TOKEN.match(text, pos)
        assert m is not None and m.lastgroup is not None, f"bad DOT at {text[pos:pos + 40]!r}"
        value = m.group(m.lastgroup)
        out.append((m.lastgroup, unquote(value) if m.lastgroup == "string" else value))
        pos = m.end()
    return out


@dataclass
class Cluster:
    name: str
    parent: str | None
    attrs: dict[str, str] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)  # declared directly inside


@dataclass
class Dot:
    name: str
    attrs: dict[str, dict[str, str]] = field(default_factory=dict)  # graph / node / edge
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    node_cluster: dict[str, str | None] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def inside(self, cluster: str) -> set[str]:
        """The nodes in ``cluster`` or any cluster nested in it."""
        found = set(self.clusters[cluster].nodes)
        for c in self.clusters.values():
            if c.parent == cluster:
                found |= self.inside(c.name)
        return found


class Reader:
    """Recursive descent over the tokens: ``digraph ID { stmt* }``."""

    def __init__(self, text: str) -> None:
        self.toks = tokens(text)
        self.i = 0

    def next(self, kind: str | None = None, value: str | None = None) -> str:
        k, v = self.toks[self.i]
        assert kind is None or k == kind, (kind, k, v, self.i)
        assert value is None or v == value, (value, v, self.i)
        self.i += 1
        return v

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def read(self) -> Dot:
        self.next("word", "digraph")
        dot = Dot(self.next("string"))
        self.next("punct", "{")
        self.statements(dot, None)
        assert self.i == len(self.toks), "text after the graph"
        return dot

    def attr_list(self) -> dict[str, str]:
        attrs: dict[str, str] = {}
        if self.peek() != ("punct", "["):
            return attrs
        self.next("punct", "[")
        while self.peek() != ("punct", "]"):
            key = self.next("word")
            self.next("punct", "=")
            assert key not in attrs, f"attribute {key} given twice"
            attrs[key] = self.next("string")
            if self.peek() == ("punct", ","):
                self.next()
        self.next("punct", "]")
        return attrs

    def statements(self, dot: Dot, cluster: str | None) -> None:
        while self.peek() != ("punct", "}"):
            kind, value = self.peek()
            if kind == "word" and value in ("graph", "node", "edge"):
                self.next()
                attrs = self.attr_list()
                if cluster is None:
                    dot.attrs[value] = attrs
                else:
                    assert value == "graph"
                    dot.clusters[cluster].attrs.update(attrs)
            elif kind == "word" and value == "subgraph":
                self.next()
                name = self.next("string")
                assert name.startswith("cluster_") and name not in dot.clusters, name
                dot.clusters[name] = Cluster(name, cluster)
                self.next("punct", "{")
                self.statements(dot, name)
                continue  # (a block ends at its brace)
            else:
                first = self.next("string")
                if self.peek() == ("arrow", "->"):
                    self.next()
                    head = self.next("string")
                    dot.edges.append((first, head, self.attr_list()))
                else:
                    assert first not in dot.nodes, f"node {first} declared twice"
                    dot.nodes[first] = self.attr_list()
                    dot.node_cluster[first] = cluster
                    if cluster is not None:
                        dot.clusters[cluster].nodes.append(first)
            self.next("punct", ";")
        self.next("punct", "}")


def parse(text: str) -> Dot:
    """Parse and check the graph: edges between declared nodes."""
    dot = Reader(text).read()
    for tail, head, _ in dot.edges:
        assert tail in dot.nodes and head in dot.nodes, (tail, head)
    return dot


def test_the_reader_is_strict() -> None:
    good = 'digraph "g" {\n  "a" [label="x \\"q\\" \\\\ \\n"];\n  "a" -> "a";\n}\n'
    assert parse(good).nodes["a"]["label"] == 'x "q" \\ \n'
    for bad in ['digraph "g" { "a" [label="x"] }',  # no ;
                'digraph "g" { "a"; "a"; }',  # declared twice
                'digraph "g" { "a"; "a" -> "b"; }',  # an undeclared node
                'digraph "g" { "a" [label="\\l"]; }']:  # an escape never written
        with pytest.raises(AssertionError):
            parse(bad)


# ---------------------------------------------------------------------------------------------
# Programs


def _f32(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


@refjax.custom_jvp
def _softplus(x: Any) -> Any:
    return jnp.log1p(jnp.exp(x))


@_softplus.defjvp
def _softplus_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    return _softplus(x), t * refjax.nn.sigmoid(x)


def _mlp(x: Any, w: Any, b: Any) -> Any:
    return jnp.maximum(x @ w + b, 0.0).sum()


def _jit_twice(x: Any) -> Any:
    f = refjax.jit(lambda y: jnp.sin(y) * 2.0)
    return f(x) + f(x + 1.0)


PROGRAMS: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "scalar": (lambda x, y: jnp.sin(x) * y + jnp.cos(y), (np.float32(1.5), np.float32(0.5))),
    "mlp": (_mlp, (_f32(4, 8), _f32(8, 3), _f32(3))),
    "grad_mlp": (refjax.grad(_mlp, argnums=1), (_f32(4, 8), _f32(8, 3), _f32(3))),
    "cond": (lambda x: lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x), (_f32(5),)),
    "scan": (lambda x: lax.scan(lambda c, y: (c + jnp.sin(y), c * y), 0.0, x), (_f32(6),)),
    "while": (lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 1.5),
                                       (0, x)), (_f32(3),)),
    "custom_jvp": (lambda x: _softplus(x) * 2.0, (_f32(4),)),
    "jit_twice": (_jit_twice, (_f32(4),)),
    "random_normal": (lambda key: refjax.random.normal(key, (3,)), (refjax.random.key(0),)),
}
NAMES = list(PROGRAMS)


def _jaxpr(name: str) -> ClosedJaxpr:
    fn, args = PROGRAMS[name]
    closed: ClosedJaxpr = refjax.make_jaxpr(fn)(*args)
    return closed


def _subs(eqn: JaxprEqn) -> Iterator[Jaxpr]:
    """The jaxprs in an equation's params (alone, in tuples, in records), found independently."""
    for value in eqn.params.values():
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, ClosedJaxpr):
                yield v.jaxpr
            elif isinstance(v, Jaxpr):
                yield v


def _all_equations(jaxpr: Jaxpr) -> Iterator[JaxprEqn]:
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in _subs(eqn):
            yield from _all_equations(sub)


def _primitive(label: str) -> str:
    """The primitive of an equation node's label (``b c = scan`` -> ``scan``)."""
    return label.split("\n")[0].split("= ")[-1]


# ---------------------------------------------------------------------------------------------
# Jaxprs


@pytest.mark.parametrize("name", NAMES)
def test_jaxpr_dot_has_every_equation_once(name: str) -> None:
    closed = _jaxpr(name)
    dot = parse(graphviz.jaxpr_dot(closed, title=name))
    assert dot.attrs["graph"]["label"] == name
    equation_nodes = {n: a for n, a in dot.nodes.items() if re.search(r"(^|/)e\d+$", n)}
    walked = list(_all_equations(closed.jaxpr))
    assert len(equation_nodes) == len(walked)
    assert Counter(_primitive(a["label"]) for a in equation_nodes.values()) == Counter(
        e.primitive.name for e in walked)
    # each nested jaxpr is a cluster inside its equation's cluster
    nested = [c for c in dot.clusters.values() if c.name.endswith("/")]
    assert len(nested) == sum(len(list(_subs(e))) for e in walked)
    for c in nested:
        owner = c.name.removeprefix("cluster_").rsplit("/", 2)[0]
        assert c.parent == f"cluster_{owner}" and owner in dot.inside(c.parent)
    # inputs and outputs of the top level, named as the printer names them
    text = str(closed)
    top_inputs = [a["label"] for n, a in dot.nodes.items() if re.fullmatch(r"in\d+", n)]
    assert len(top_inputs) == len(closed.jaxpr.invars)
    for label in top_inputs:
        assert label in text
    assert sum(bool(re.fullmatch(r"out\d+", n)) for n in dot.nodes) == len(closed.jaxpr.outvars)


@pytest.mark.parametrize("name", ["scalar", "mlp", "cond"])
def test_jaxpr_dot_edges_are_the_variables(name: str) -> None:
    closed = _jaxpr(name)
    dot = parse(graphviz.jaxpr_dot(closed))
    text = str(closed)
    var_edges = [(t, h, a["label"]) for t, h, a in dot.edges if "label" in a]
    # one edge per variable read (each distinct operand of each equation) and per output
    reads = sum(len({id(a) for a in e.invars if isinstance(a, Var)})
                for e in _all_equations(closed.jaxpr))
    jaxprs = [closed.jaxpr, *(s for e in _all_equations(closed.jaxpr) for s in _subs(e))]
    outs = sum(isinstance(v, Var) for j in jaxprs for v in j.outvars)
    assert len(var_edges) == reads + outs
    for _, _, label in var_edges:  # every ``name:type`` is a binder of the printed text
        assert re.search(rf"(^|[ (]){re.escape(label)}([ .]|$)", text, re.M), label


@pytest.mark.parametrize("name", ["mlp", "grad_mlp", "scan", "while", "random_normal"])
def test_equations_read_as_printed(name: str) -> None:
    """Each top-level equation's tooltip starts with its printed line; its label names its
    results as the printer does (``_`` for one nothing reads)."""
    closed = _jaxpr(name)
    dot = parse(graphviz.jaxpr_dot(closed))
    printed = [line.strip() for line in str(closed).splitlines()]
    for i, _ in enumerate(closed.eqns):
        attrs = dot.nodes[f"e{i}"]
        first = attrs["tooltip"].split("\n")[0].strip()
        assert first in printed, first
        binders = first.split(" = ")[0].split(" ")
        assert attrs["label"].split("\n")[0] == " ".join(
            [b.split(":")[0] for b in binders] + ["=", closed.eqns[i].primitive.name])


def test_jaxpr_dot_scalar_graph() -> None:
    """``sin(x) * y + cos(y)``: the whole graph, read from the printed jaxpr independently."""
    closed = _jaxpr("scalar")
    dot = parse(graphviz.jaxpr_dot(closed))
    edges = {(t, h, a.get("label")) for t, h, a in dot.edges}
    binders = re.findall(r"(\w+):f32\[\] = (\w+)", str(closed))
    prims = [p for _, p in binders]
    assert prims == ["sin", "mul", "cos", "add"]
    (c, _), (d, _), (e, _), (f, _) = binders
    assert edges == {
        ("in0", "e0", "a:f32[]"), ("e0", "e1", f"{c}:f32[]"), ("in1", "e1", "b:f32[]"),
        ("in1", "e2", "b:f32[]"), ("e1", "e3", f"{d}:f32[]"), ("e2", "e3", f"{e}:f32[]"),
        ("e3", "out0", f"{f}:f32[]"),
    }


def test_jaxpr_dot_is_deterministic() -> None:
    for name in ["cond", "jit_twice", "random_normal"]:
        assert graphviz.jaxpr_dot(_jaxpr(name)) == graphviz.jaxpr_dot(_jaxpr(name))
        assert graphviz.fusion_plan_dot(_jaxpr(name)) == graphviz.fusion_plan_dot(_jaxpr(name))


def test_strings_are_escaped() -> None:
    """A call's name with quotes, a backslash, a newline and angle brackets survives."""
    weird = 'f"1\\2\n<3>'

    def g(x: Any) -> Any:
        return jnp.sin(x)

    g.__name__ = weird
    closed = refjax.make_jaxpr(lambda x: refjax.jit(g)(x) + 1.0)(np.float32(1.0))
    assert any(e.params.get("name") == weird for e in closed.eqns)
    title = 'title "quoted" \\ <b>\nline two'
    dot = parse(graphviz.jaxpr_dot(closed, title))
    assert dot.name == title and dot.attrs["graph"]["label"] == title
    (call,) = [a for n, a in dot.nodes.items() if n == "e0"]
    assert f"name={weird.split(chr(10))[0]}" in call["label"]  # (the param line, shortened)
    assert f"name={weird}" in call["tooltip"]
    plan_dot = parse(graphviz.fusion_plan_dot(closed, title=title))
    assert plan_dot.name == title


# ---------------------------------------------------------------------------------------------
# Fusion plans


def _check_plan_picture(closed: ClosedJaxpr, options: FusionOptions) -> tuple[Any, Dot]:
    """Parse the picture and check each step's cluster against the plan; (plan, picture)."""
    p = plan(closed, options)
    assert p.provenance is not None and not p.fallbacks
    dot = parse(graphviz.fusion_plan_dot(closed, options))
    steps = [c for c in dot.clusters.values() if re.fullmatch(r"cluster_s\d+", c.name)]
    assert len(steps) == len(p.steps) == len(dot.clusters)
    for i, step in enumerate(p.steps):
        cluster = dot.clusters[f"cluster_s{i}"]
        drawn = {int(n.split("/e")[1]) for n in cluster.nodes if "/e" in n}
        assert drawn == set(p.provenance.steps[i]), (i, cluster.attrs["label"])
        for n in cluster.nodes:
            if "/e" in n:
                eqn = p.provenance.equations[int(n.split("/e")[1])]
                assert _primitive(dot.nodes[n]["label"]) == eqn.primitive.name
        if isinstance(step, KernelStep):
            assert cluster.attrs["label"].startswith(f"kernel {i}: {step.kernel.name}")
    kernels = [c for c in steps if c.attrs["label"].startswith("kernel ")]
    assert len(kernels) == len(p.kernels())
    # every equation planned is drawn: in the steps computing it, else alone (a no-op)
    covered = {q for s in p.provenance.steps for q in s}
    alone = {int(n[1:]) for n in dot.nodes if re.fullmatch(r"e\d+", n)}
    assert not covered & alone
    assert covered | alone == set(range(len(p.provenance.equations)))
    outs = [n for n in dot.nodes if re.fullmatch(r"out\d+", n)]
    assert len(outs) == len(closed.jaxpr.outvars)
    return p, dot


@pytest.mark.parametrize("backend", ["opencl", "cuda"])
@pytest.mark.parametrize("name", NAMES)
def test_fusion_plan_dot_clusters_are_the_plan(name: str, backend: str) -> None:
    p, _ = _check_plan_picture(_jaxpr(name), stages.backend_options(backend))
    assert p.provenance is not None
    assert {q for s in p.provenance.steps for q in s} == set(range(len(p.provenance.equations)))


def test_a_no_op_is_drawn_outside_the_steps() -> None:
    closed = refjax.make_jaxpr(lambda x: jnp.reshape(jnp.argmax(x), ()))(_f32(5))
    assert [e.primitive.name for e in closed.eqns] == ["argmax", "reshape"]
    p, dot = _check_plan_picture(closed, FusionOptions())
    assert p.provenance is not None
    (alone,) = [n for n in dot.nodes if re.fullmatch(r"e\d+", n)]
    assert p.provenance.equations[int(alone[1:])] is closed.eqns[1]
    assert dot.node_cluster[alone] is None and "(no work)" in dot.nodes[alone]["label"]


def _cluster_prims(dot: Dot, i: int) -> Counter[str]:
    return Counter(_primitive(dot.nodes[n]["label"]) for n in dot.clusters[f"cluster_s{i}"].nodes
                   if "/e" in n)


def test_an_elementwise_chain_is_one_kernel() -> None:
    closed = refjax.make_jaxpr(lambda x: jnp.tanh(jnp.sin(x) * 2.0 + jnp.cos(x)) - x)(_f32(16))
    p, dot = _check_plan_picture(closed, FusionOptions())
    assert len(p.steps) == 1 and isinstance(p.steps[0], KernelStep)
    assert _cluster_prims(dot, 0) == Counter(e.primitive.name for e in closed.eqns)
    # the values inside the kernel are edges inside it; only the input and output cross
    inside = [(t, h) for t, h, _ in dot.edges if t.startswith("s0/") and h.startswith("s0/")]
    assert len(inside) == sum(1 for e in closed.eqns[1:] for a in e.invars
                              if any(a in d.outvars for d in closed.eqns))


def test_bias_and_activation_join_the_matmul_kernel() -> None:
    closed = _jaxpr("mlp")
    p, dot = _check_plan_picture(closed, stages.backend_options("opencl"))
    assert [type(s).__name__ for s in p.steps] == ["KernelStep", "KernelStep"]
    assert dot.clusters["cluster_s0"].attrs["label"].endswith("(matmul)")
    assert _cluster_prims(dot, 0) == Counter(["dot_general", "broadcast_in_dim", "add", "max"])
    assert _cluster_prims(dot, 1) == Counter(["reduce_sum"])
    # the activation's buffer passes from the matmul kernel to the reduction, named as printed
    (relu,) = re.findall(r"(\w+):f32\[4,3\] = max", str(closed))
    crossing = [(t, h, a["label"]) for t, h, a in dot.edges
                if t.startswith("s0/") and h.startswith("s1/")]
    assert [label for _, _, label in crossing] == [f"{relu}:f32[4,3]"]


def test_cuda_calls_a_library_for_the_matmul() -> None:
    closed = _jaxpr("mlp")
    p, dot = _check_plan_picture(closed, stages.backend_options("cuda"))
    assert isinstance(p.steps[0], PrimitiveStep)
    assert "library call dot_general" in dot.clusters["cluster_s0"].attrs["label"]
    assert len(p.kernels()) == 1  # bias, activation and sum in one reduce kernel
    assert _cluster_prims(dot, 1) == Counter(["broadcast_in_dim", "add", "max", "reduce_sum"])


def test_a_reduced_value_broadcast_back_starts_a_kernel() -> None:
    closed = refjax.make_jaxpr(lambda x: x - x.mean())(_f32(4, 8))
    p, dot = _check_plan_picture(closed, FusionOptions())
    assert len(p.kernels()) == 2
    assert _cluster_prims(dot, 0) == Counter(["reduce_sum", "div"])
    assert _cluster_prims(dot, 1) == Counter(["sub"])


def test_an_inlined_call_joins_the_callers_kernel() -> None:
    closed = _jaxpr("jit_twice")
    p, dot = _check_plan_picture(closed, FusionOptions())
    assert len(p.kernels()) == 1
    # the body's equations twice (once per call), with the caller's add ops
    assert _cluster_prims(dot, 0) == Counter({"sin": 2, "mul": 2, "add": 2})


def test_control_flow_is_a_primitive_step() -> None:
    closed = _jaxpr("cond")
    p, dot = _check_plan_picture(closed, FusionOptions())
    hosted = [i for i, s in enumerate(p.steps) if isinstance(s, PrimitiveStep)]
    assert [p.steps[i].primitive.name for i in hosted] == ["cond"]
    assert "primitive cond" in dot.clusters[f"cluster_s{hosted[0]}"].attrs["label"]


def test_fusion_plan_dot_takes_a_plan_made_already() -> None:
    closed = _jaxpr("grad_mlp")
    p = plan(closed, FusionOptions())
    assert graphviz.fusion_plan_dot(closed, planned=p) == graphviz.fusion_plan_dot(closed)


# ---------------------------------------------------------------------------------------------
# Files


def test_write_dot_writes_the_text_and_svg_when_dot_is_installed(tmp_path: Path) -> None:
    text = graphviz.fusion_plan_dot(_jaxpr("grad_mlp"), title="grad of an MLP")
    written = graphviz.write_dot(text, tmp_path / "pictures" / "mlp")
    assert written[0] == tmp_path / "pictures" / "mlp.dot"
    assert written[0].read_text() == text
    if shutil.which("dot") is None:
        assert written == written[:1]
        pytest.skip("Graphviz's dot is not installed: only the .dot is written")
    assert written[1:] == [tmp_path / "pictures" / "mlp.svg"]
    svg = written[1].read_text()
    assert "<svg" in svg and "grad of an MLP" in svg
    # every picture of the tested programs renders (dot fails on invalid text), odd names too
    for name in NAMES:
        graphviz.write_dot(graphviz.jaxpr_dot(_jaxpr(name)), tmp_path / f"{name}.dot")
        graphviz.write_dot(graphviz.fusion_plan_dot(_jaxpr(name)), tmp_path / f"{name}_plan.dot")
    odd = graphviz.jaxpr_dot(_jaxpr("scalar"), 'a "title" \\ <b>\nline two')
    (svg_path,) = graphviz.write_dot(odd, tmp_path / "odd.dot")[1:]
    assert "&lt;b&gt;" in svg_path.read_text()


def test_write_dot_without_dot_writes_only_the_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)
    text = graphviz.jaxpr_dot(_jaxpr("scalar"))
    assert graphviz.write_dot(text, tmp_path / "s.dot", ("svg", "png")) == [tmp_path / "s.dot"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.dot"]
    with pytest.raises(ValueError, match="not a Graphviz output format"):
        graphviz.write_dot(text, tmp_path / "t.dot", ("svg; rm",))
