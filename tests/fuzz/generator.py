"""Random well-typed array programs: a small typed AST, its Python rendering, and a generator.

A :class:`Program` is one function ``f(x0, x1, ...)`` in SSA form: a :class:`Block` of
:class:`Assign` statements whose right-hand sides are expression nodes over earlier variables.
Control flow (``lax.cond``, ``lax.fori_loop``, ``lax.while_loop``, ``lax.scan``) holds nested
blocks, rendered as local ``def``s that may close over the enclosing variables. Every variable
carries its :class:`TType` (shape and dtype), computed while generating, so every program is
well typed. :func:`render_program` prints Python that only uses the names ``jax``, ``jnp`` and
``lax``: the same text runs under real JAX and under refjax.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np

DType: TypeAlias = Literal["float32", "int32", "bool"]
Shape: TypeAlias = tuple[int, ...]

MAX_SIZE = 48
MAX_RANK = 3
FLOAT_BOUND = 200.0  # generated float values stay below this in magnitude
INT_BOUND = 100_000


@dataclass(frozen=True)
class TType:
    """The type of an array: its shape and dtype."""

    shape: Shape
    dtype: DType

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        return f"{self.dtype}{list(self.shape)}"


@dataclass(frozen=True)
class Var:
    """A variable (function parameter, block parameter or statement target)."""

    name: str
    type: TType


@dataclass(frozen=True)
class Lit:
    """A Python scalar literal (weakly typed in both JAX and refjax)."""

    value: float | int | bool
    type: TType


Atom: TypeAlias = Var | Lit


# ----------------------------------------------------------------------------------------------
# Expressions


@dataclass(frozen=True)
class Copy:
    """``v = x`` (what the shrinker turns a statement into before dropping it)."""

    x: Var


@dataclass(frozen=True)
class Unary:
    op: str
    x: Var


@dataclass(frozen=True)
class Binary:
    op: str
    a: Atom
    b: Atom


@dataclass(frozen=True)
class Where:
    cond: Var
    a: Atom
    b: Atom


@dataclass(frozen=True)
class Reduce:
    op: str  # sum mean max min prod any all
    x: Var
    axes: tuple[int, ...] | None
    keepdims: bool


@dataclass(frozen=True)
class ArgReduce:
    op: str  # argmax argmin
    x: Var
    axis: int | None


@dataclass(frozen=True)
class Cumsum:
    x: Var
    axis: int


@dataclass(frozen=True)
class Astype:
    x: Var
    dtype: DType


@dataclass(frozen=True)
class Reshape:
    x: Var
    shape: tuple[int, ...]  # may hold one -1


@dataclass(frozen=True)
class Transpose:
    x: Var
    perm: tuple[int, ...]


@dataclass(frozen=True)
class ExpandDims:
    x: Var
    axis: int


@dataclass(frozen=True)
class Squeeze:
    x: Var
    axis: int


@dataclass(frozen=True)
class BroadcastTo:
    x: Var
    shape: Shape


@dataclass(frozen=True)
class Index:
    """Basic indexing: one int or slice (start, stop, step) per leading dimension."""

    x: Var
    items: tuple[int | tuple[int | None, int | None, int | None], ...]


@dataclass(frozen=True)
class Concat:
    xs: tuple[Var, ...]
    axis: int
    stack: bool


@dataclass(frozen=True)
class Pad:
    x: Var
    widths: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Roll:
    x: Var
    shift: int
    axis: int


@dataclass(frozen=True)
class Flip:
    x: Var
    axis: int


@dataclass(frozen=True)
class Matmul:
    a: Var
    b: Var


@dataclass(frozen=True)
class AxisOp:
    """``jax.nn.softmax`` / ``jax.nn.logsumexp`` / ``jnp.var`` along one axis."""

    op: str  # softmax logsumexp var
    x: Var
    axis: int


@dataclass(frozen=True)
class DynSlice:
    """``lax.dynamic_slice_in_dim`` at a traced start index (clamped into range)."""

    x: Var
    start: Var
    size: int
    axis: int


@dataclass(frozen=True)
class Take:
    """``jnp.take(..., mode='clip')`` with an int32 index array."""

    x: Var
    idx: Var
    axis: int


@dataclass(frozen=True)
class Block:
    """A function body: parameters, statements, results (rendered as ``def name(params)``)."""

    name: str
    params: tuple[Var, ...]
    stmts: tuple[Assign, ...]
    results: tuple[Var, ...]


@dataclass(frozen=True)
class Cond:
    pred: Var
    true: Block
    false: Block
    operands: tuple[Var, ...]


@dataclass(frozen=True)
class ForiLoop:
    n: int
    body: Block  # params (i, c) -> (c',)
    init: Var


@dataclass(frozen=True)
class WhileLoop:
    n: int
    body: Block  # params (k, c) -> (c',); k is the counter, the cond is ``k < n``
    init: Var


@dataclass(frozen=True)
class Scan:
    body: Block  # params (c, x) -> (c', y)
    init: Var
    xs: Var | None
    length: int
    reverse: bool


Expr: TypeAlias = (
    Copy | Unary | Binary | Where | Reduce | ArgReduce | Cumsum | Astype | Reshape | Transpose
    | ExpandDims | Squeeze | BroadcastTo | Index | Concat | Pad | Roll | Flip | Matmul | Cond
    | AxisOp | DynSlice | Take
    | ForiLoop | WhileLoop | Scan
)


@dataclass(frozen=True)
class Assign:
    targets: tuple[Var, ...]
    expr: Expr


@dataclass(frozen=True)
class Program:
    """``def f(params): body`` (``body.params`` are the function's parameters)."""

    seed: int
    body: Block

    @property
    def params(self) -> tuple[Var, ...]:
        return self.body.params

    @property
    def results(self) -> tuple[Var, ...]:
        return self.body.results


# ----------------------------------------------------------------------------------------------
# Rendering

UNARY_FORMS: dict[str, str] = {
    "neg": "-{x}",
    "sin": "jnp.sin({x})",
    "cos": "jnp.cos({x})",
    "tanh": "jnp.tanh({x})",
    "exp": "jnp.exp({x})",
    "log": "jnp.log({x} * {x} + 0.5)",
    "sqrt": "jnp.sqrt({x} * {x} + 0.25)",
    "square": "jnp.square({x})",
    "sigmoid": "jax.nn.sigmoid({x})",
    "softplus": "jax.nn.softplus({x})",
    "abs": "jnp.abs({x})",
    "floor": "jnp.floor({x})",
    "round": "jnp.round({x})",
    "sign": "jnp.sign({x})",
    "clip": "jnp.clip({x}, -1.0, 1.5)",
    "not": "jnp.logical_not({x})",
}

BINARY_FORMS: dict[str, str] = {
    "add": "{a} + {b}",
    "sub": "{a} - {b}",
    "mul": "{a} * {b}",
    "div": "{a} / ({b} * {b} + 1.0)",
    "max": "jnp.maximum({a}, {b})",
    "min": "jnp.minimum({a}, {b})",
    "floordiv": "{a} // (jnp.abs({b}) + 1)",
    "mod": "{a} % (jnp.abs({b}) + 1)",
    "and": "jnp.logical_and({a}, {b})",
    "or": "jnp.logical_or({a}, {b})",
    "xor": "jnp.logical_xor({a}, {b})",
    "lt": "{a} < {b}",
    "gt": "{a} > {b}",
    "le": "{a} <= {b}",
    "eq": "{a} == {b}",
    "ne": "{a} != {b}",
}
COMPARISONS = ("lt", "gt", "le", "eq", "ne")

JNP_DTYPE: dict[DType, str] = {"float32": "jnp.float32", "int32": "jnp.int32", "bool": "jnp.bool_"}


def render_atom(a: Atom) -> str:
    if isinstance(a, Var):
        return a.name
    if a.type.dtype == "float32":
        return repr(float(a.value))
    return repr(a.value)


def _slice_text(item: int | tuple[int | None, int | None, int | None]) -> str:
    if isinstance(item, int):
        return str(item)
    start, stop, step = item
    text = f"{'' if start is None else start}:{'' if stop is None else stop}"
    return text if step is None else f"{text}:{step}"


def render_expr(e: Expr) -> str:
    """The right-hand side of a statement (control flow: the call, its defs rendered apart)."""
    match e:
        case Copy(x):
            return x.name
        case Unary(op, x):
            return UNARY_FORMS[op].format(x=x.name)
        case Binary(op, a, b):
            return BINARY_FORMS[op].format(a=render_atom(a), b=render_atom(b))
        case Where(c, a, b):
            return f"jnp.where({c.name}, {render_atom(a)}, {render_atom(b)})"
        case Reduce(op, x, axes, keepdims):
            fn = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "prod": "prod",
                  "any": "any", "all": "all"}[op]
            axis = "None" if axes is None else (str(axes[0]) if len(axes) == 1 else str(axes))
            kd = ", keepdims=True" if keepdims else ""
            return f"jnp.{fn}({x.name}, axis={axis}{kd})"
        case ArgReduce(op, x, axis):
            return f"jnp.{op}({x.name}, axis={axis})"
        case Cumsum(x, axis):
            return f"jnp.cumsum({x.name}, axis={axis})"
        case Astype(x, dtype):
            return f"{x.name}.astype({JNP_DTYPE[dtype]})"
        case Reshape(x, shape):
            return f"jnp.reshape({x.name}, {shape})"
        case Transpose(x, perm):
            return f"jnp.transpose({x.name}, {perm})"
        case ExpandDims(x, axis):
            return f"jnp.expand_dims({x.name}, {axis})"
        case Squeeze(x, axis):
            return f"jnp.squeeze({x.name}, axis={axis})"
        case BroadcastTo(x, shape):
            return f"jnp.broadcast_to({x.name}, {shape})"
        case Index(x, items):
            return f"{x.name}[{', '.join(_slice_text(i) for i in items)}]"
        case Concat(xs, axis, stack):
            fn = "stack" if stack else "concatenate"
            return f"jnp.{fn}([{', '.join(v.name for v in xs)}], axis={axis})"
        case Pad(x, widths):
            return f"jnp.pad({x.name}, {widths})"
        case Roll(x, shift, axis):
            return f"jnp.roll({x.name}, {shift}, axis={axis})"
        case Flip(x, axis):
            return f"jnp.flip({x.name}, axis={axis})"
        case Matmul(a, b):
            return f"{a.name} @ {b.name}"
        case AxisOp(op, x, axis):
            fn = {"softmax": "jax.nn.softmax", "logsumexp": "jax.nn.logsumexp",
                  "var": "jnp.var"}[op]
            return f"{fn}({x.name}, axis={axis})"
        case DynSlice(x, start, size, axis):
            return f"lax.dynamic_slice_in_dim({x.name}, {start.name}, {size}, axis={axis})"
        case Take(x, idx, axis):
            return f"jnp.take({x.name}, {idx.name}, axis={axis}, mode='clip')"
        case Cond(pred, t, f, ops):
            args = "".join(f", {v.name}" for v in ops)
            return f"lax.cond({pred.name}, {t.name}, {f.name}{args})"
        case ForiLoop(n, body, init):
            return f"lax.fori_loop(0, {n}, {body.name}, {init.name})"
        case WhileLoop(n, body, init):
            return f"lax.while_loop({body.name}_cond, {body.name}, (jnp.int32(0), {init.name}))"
        case Scan(body, init, xs, length, reverse):
            xs_text = xs.name if xs is not None else f"None, length={length}"
            rev = ", reverse=True" if reverse else ""
            return f"lax.scan({body.name}, {init.name}, {xs_text}{rev})"
    raise TypeError(e)


def _render_block_def(block: Block, indent: str, header_params: str | None = None) -> list[str]:
    params = header_params if header_params is not None else ", ".join(p.name for p in block.params)
    lines = [f"{indent}def {block.name}({params}):"]
    lines += _render_stmts(block.stmts, indent + "    ")
    lines.append(f"{indent}    return {_render_results(block.results)}")
    return lines


def _render_results(results: Sequence[Var]) -> str:
    if len(results) == 1:
        return results[0].name
    return "(" + ", ".join(v.name for v in results) + ")"


def _render_stmts(stmts: Sequence[Assign], indent: str) -> list[str]:
    lines: list[str] = []
    for s in stmts:
        e = s.expr
        if isinstance(e, Cond):
            lines += _render_block_def(e.true, indent)
            lines += _render_block_def(e.false, indent)
        elif isinstance(e, ForiLoop):
            lines += _render_block_def(e.body, indent)
        elif isinstance(e, WhileLoop):
            k, c = e.body.params
            lines.append(f"{indent}def {e.body.name}_cond(state):")
            lines.append(f"{indent}    return state[0] < {e.n}")
            lines.append(f"{indent}def {e.body.name}(state):")
            lines.append(f"{indent}    {k.name}, {c.name} = state")
            lines += _render_stmts(e.body.stmts, indent + "    ")
            lines.append(f"{indent}    return ({k.name} + 1, {e.body.results[0].name})")
        elif isinstance(e, Scan):
            lines += _render_block_def(e.body, indent)
        targets = ", ".join(t.name for t in s.targets)
        if isinstance(e, WhileLoop):
            targets = "_, " + targets
        lines.append(f"{indent}{targets} = {render_expr(e)}")
    return lines


def render_program(p: Program, name: str = "f") -> str:
    """``def f(...)`` as Python source text using only ``jax``, ``jnp`` and ``lax``."""
    return "\n".join(_render_block_def(dataclasses.replace(p.body, name=name), "")) + "\n"


# ----------------------------------------------------------------------------------------------
# Generic traversal (used by the shrinker)


def sub_blocks(e: Expr) -> tuple[Block, ...]:
    if isinstance(e, Cond):
        return (e.true, e.false)
    if isinstance(e, ForiLoop | WhileLoop | Scan):
        return (e.body,)
    return ()


def expr_vars(e: Expr) -> Iterator[Var]:
    """The variables an expression reads directly (not those read inside its blocks)."""
    for f in dataclasses.fields(e):
        value = getattr(e, f.name)
        if isinstance(value, Var):
            yield value
        elif isinstance(value, tuple):
            yield from (v for v in value if isinstance(v, Var))


def free_vars(block: Block) -> set[str]:
    """Names a block reads that it does not define (its closure)."""
    defined = {p.name for p in block.params}
    used: set[str] = set()
    for s in block.stmts:
        used |= {v.name for v in expr_vars(s.expr)} - defined
        for b in sub_blocks(s.expr):
            used |= free_vars(b) - defined
        defined |= {t.name for t in s.targets}
    used |= {v.name for v in block.results} - defined
    return used


def substitute(obj: object, mapping: dict[str, Var]) -> object:
    """``obj`` with variables renamed by ``mapping`` (in expressions, blocks, statements)."""
    if isinstance(obj, Var):
        return mapping.get(obj.name, obj)
    if isinstance(obj, tuple):
        return tuple(substitute(o, mapping) for o in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type | Lit | TType):
        changes = {f.name: substitute(getattr(obj, f.name), mapping)
                   for f in dataclasses.fields(obj)}
        return dataclasses.replace(obj, **changes)
    return obj


# ----------------------------------------------------------------------------------------------
# Generation


@dataclass
class Scope:
    """Variables visible while generating one block, with a magnitude bound for each."""

    vars: list[Var] = field(default_factory=list)
    bounds: dict[str, float] = field(default_factory=dict)

    def add(self, v: Var, bound: float) -> None:
        self.vars.append(v)
        self.bounds[v.name] = bound

    def child(self) -> Scope:
        return Scope(list(self.vars), dict(self.bounds))


def broadcast_shapes(*shapes: Shape) -> Shape | None:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _factorizations(size: int, rank: int) -> list[Shape]:
    if rank == 0:
        return [()] if size == 1 else []
    if rank == 1:
        return [(size,)]
    out: list[Shape] = []
    for d in range(1, size + 1):
        if size % d == 0:
            out += [(d, *rest) for rest in _factorizations(size // d, rank - 1)]
    return out


class Generator:
    """Generates one random program from a seed."""

    def __init__(self, seed: int, allow_while: bool = True) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.counter = 0
        self.allow_while = allow_while

    # -- helpers --------------------------------------------------------------------------------

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def random_shape(self) -> Shape:
        rank = self.rng.choices([0, 1, 2, 3], weights=[1, 3, 4, 2])[0]
        while True:
            shape = tuple(self.rng.choice([1, 2, 3, 4]) for _ in range(rank))
            if math.prod(shape) <= MAX_SIZE:
                return shape

    def pick(self, scope: Scope, pred: Callable[[Var], bool]) -> Var | None:
        """A visible variable satisfying ``pred``, preferring recent ones."""
        cands = [v for v in scope.vars if pred(v)]
        if not cands:
            return None
        weights = [1.0 + i for i in range(len(cands))]
        return self.rng.choices(cands, weights=weights)[0]

    def emit(self, stmts: list[Assign], scope: Scope, expr: Expr, t: TType, bound: float) -> Var:
        v = Var(self.fresh(), t)
        stmts.append(Assign((v,), expr))
        scope.add(v, bound)
        return v

    # -- statements -----------------------------------------------------------------------------

    def gen_stmt(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        kinds = {
            "unary": 6, "binary": 8, "compare": 2, "where": 2, "reduce": 4, "argreduce": 1,
            "cumsum": 1, "astype": 2, "reshape": 2, "transpose": 2, "expand": 1, "squeeze": 1,
            "broadcast": 2, "index": 3, "concat": 2, "pad": 1, "roll": 1, "flip": 1,
            "matmul": 3, "axisop": 2, "dynslice": 2, "take": 1,
            "cond": 2, "fori": 2, "while": 1, "scan": 2,
        }
        if depth >= 2:
            for k in ("cond", "fori", "while", "scan"):
                kinds.pop(k)
        if not self.allow_while:
            kinds.pop("while", None)
        names = list(kinds)
        for _ in range(20):
            kind = self.rng.choices(names, weights=[kinds[k] for k in names])[0]
            v = getattr(self, f"gen_{kind}")(stmts, scope, depth)
            if v is not None:
                return v  # type: ignore[no-any-return]
        return None

    def gen_unary(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: True)
        if x is None:
            return None
        b = scope.bounds[x.name]
        if x.type.dtype == "bool":
            return self.emit(stmts, scope, Unary("not", x), x.type, 1)
        if x.type.dtype == "int32":
            op = self.rng.choice(["neg", "abs"])
            return self.emit(stmts, scope, Unary(op, x), x.type, b)
        ops = {"neg": b, "sin": 1.0, "cos": 1.0, "tanh": 1.0, "sigmoid": 1.0, "abs": b,
               "log": math.log(b * b + 0.5) + 1, "sqrt": b + 0.5, "square": b * b,
               "softplus": b + 1, "floor": b + 1, "round": b + 1, "sign": 1.0, "clip": 1.5}
        if b <= 4:
            ops["exp"] = math.exp(b)
        if b > 50:
            ops.pop("sin")
            ops.pop("cos")
        ops = {k: nb for k, nb in ops.items() if nb <= FLOAT_BOUND}
        op = self.rng.choice(sorted(ops))
        return self.emit(stmts, scope, Unary(op, x), x.type, ops[op])

    def _partner(self, scope: Scope, a: Var, dtype: DType) -> Atom:
        """A second operand broadcast-compatible with ``a`` (a variable or a literal)."""
        if self.rng.random() < 0.2:
            if dtype == "float32":
                return Lit(round(self.rng.uniform(-2, 2), 2), TType((), dtype))
            if dtype == "int32":
                return Lit(self.rng.randint(-3, 3), TType((), dtype))
            return Lit(self.rng.random() < 0.5, TType((), dtype))
        b = self.pick(scope, lambda v: v.type.dtype == dtype and (
            (s := broadcast_shapes(a.type.shape, v.type.shape)) is not None
            and math.prod(s) <= MAX_SIZE and len(s) <= MAX_RANK + 1))
        return b if b is not None else a

    def _bound(self, scope: Scope, a: Atom) -> float:
        if isinstance(a, Lit):
            return abs(float(a.value))
        return scope.bounds[a.name]

    def gen_binary(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        a = self.pick(scope, lambda v: True)
        if a is None:
            return None
        dtype = a.type.dtype
        b = self._partner(scope, a, dtype)
        if self.rng.random() < 0.5:
            a, b = b, a  # type: ignore[assignment]
        shape = broadcast_shapes(a.type.shape, b.type.shape)
        assert shape is not None
        ba, bb = self._bound(scope, a), self._bound(scope, b)
        if dtype == "bool":
            op = self.rng.choice(["and", "or", "xor"])
            bound = 1.0
        else:
            ops = {"add": ba + bb, "sub": ba + bb, "mul": ba * bb, "max": max(ba, bb),
                   "min": max(ba, bb)}
            if dtype == "float32":
                ops["div"] = ba
            else:
                ops["floordiv"] = ba
                ops["mod"] = bb + 1
            limit = FLOAT_BOUND if dtype == "float32" else INT_BOUND
            ops = {k: nb for k, nb in ops.items() if nb <= limit}
            if not ops:
                return None
            op = self.rng.choice(sorted(ops))
            bound = ops[op]
        if isinstance(a, Lit) and isinstance(b, Lit):
            return None
        return self.emit(stmts, scope, Binary(op, a, b), TType(shape, dtype), bound)

    def gen_compare(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        a = self.pick(scope, lambda v: v.type.dtype != "bool")
        if a is None:
            return None
        b = self._partner(scope, a, a.type.dtype)
        shape = broadcast_shapes(a.type.shape, b.type.shape)
        assert shape is not None
        ops = ["lt", "gt"] if a.type.dtype == "float32" else list(COMPARISONS)
        return self.emit(stmts, scope, Binary(self.rng.choice(ops), a, b),
                         TType(shape, "bool"), 1)

    def gen_where(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        c = self.pick(scope, lambda v: v.type.dtype == "bool")
        if c is None:
            return None
        a = self.pick(scope, lambda v: v.type.dtype != "bool" and broadcast_shapes(
            v.type.shape, c.type.shape) is not None)
        if a is None:
            return None
        b = self._partner(scope, a, a.type.dtype)
        shape = broadcast_shapes(c.type.shape, a.type.shape, b.type.shape)
        if shape is None or math.prod(shape) > MAX_SIZE:
            return None
        bound = max(self._bound(scope, a), self._bound(scope, b))
        return self.emit(stmts, scope, Where(c, a, b), TType(shape, a.type.dtype), bound)

    def _axes(self, rank: int) -> tuple[int, ...] | None:
        if rank == 0 or self.rng.random() < 0.3:
            return None
        k = self.rng.randint(1, rank)
        axes = tuple(sorted(self.rng.sample(range(rank), k)))
        if len(axes) == 1 and self.rng.random() < 0.3:
            return (axes[0] - rank,)
        return axes

    def gen_reduce(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if x is None:
            return None
        axes = self._axes(x.type.rank)
        keepdims = self.rng.random() < 0.4
        norm = tuple(range(x.type.rank)) if axes is None else tuple(a % x.type.rank for a in axes)
        shape = tuple(1 if i in norm else d for i, d in enumerate(x.type.shape) if keepdims
                      or i not in norm)
        count = math.prod(x.type.shape[i] for i in norm)
        b = scope.bounds[x.name]
        if x.type.dtype == "bool":
            op = self.rng.choice(["any", "all", "sum"])
            dtype: DType = "int32" if op == "sum" else "bool"
            return self.emit(stmts, scope, Reduce(op, x, axes, keepdims), TType(shape, dtype),
                             count)
        ops = {"sum": b * count, "max": b, "min": b, "prod": b ** count}
        if x.type.dtype == "float32":
            ops["mean"] = b
        limit = FLOAT_BOUND if x.type.dtype == "float32" else INT_BOUND
        ops = {k: nb for k, nb in ops.items() if nb <= limit}
        op = self.rng.choice(sorted(ops))
        return self.emit(stmts, scope, Reduce(op, x, axes, keepdims), TType(shape, x.type.dtype),
                         ops[op])

    def gen_argreduce(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0 and v.type.dtype != "bool")
        if x is None:
            return None
        axis: int | None = None
        shape: Shape = ()
        if self.rng.random() >= 0.3:
            axis = self.rng.randrange(x.type.rank)
            shape = x.type.shape[:axis] + x.type.shape[axis + 1:]
        op = self.rng.choice(["argmax", "argmin"])
        return self.emit(stmts, scope, ArgReduce(op, x, axis), TType(shape, "int32"),
                         x.type.size)

    def gen_cumsum(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0 and v.type.dtype != "bool")
        if x is None:
            return None
        axis = self.rng.randrange(x.type.rank)
        bound = scope.bounds[x.name] * x.type.shape[axis]
        if bound > (FLOAT_BOUND if x.type.dtype == "float32" else INT_BOUND):
            return None
        return self.emit(stmts, scope, Cumsum(x, axis), x.type, bound)

    def gen_astype(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: True)
        if x is None:
            return None
        b = scope.bounds[x.name]
        table: dict[DType, list[DType]] = {"float32": ["int32"], "int32": ["float32"],
                                            "bool": ["float32", "int32"]}
        targets = table[x.type.dtype]
        dtype = self.rng.choice(targets)
        if dtype == "float32" and b > FLOAT_BOUND:
            return None
        return self.emit(stmts, scope, Astype(x, dtype), TType(x.type.shape, dtype), b)

    def gen_reshape(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: True)
        if x is None:
            return None
        rank = self.rng.randint(1, MAX_RANK)
        shapes = [s for s in _factorizations(x.type.size, rank) if s != x.type.shape]
        if not shapes:
            return None
        shape = self.rng.choice(shapes)
        text_shape = shape
        if self.rng.random() < 0.3:
            i = self.rng.randrange(len(shape))
            text_shape = shape[:i] + (-1,) + shape[i + 1:]
        return self.emit(stmts, scope, Reshape(x, text_shape), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_transpose(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank >= 2)
        if x is None:
            return None
        perm = list(range(x.type.rank))
        while perm == sorted(perm):
            self.rng.shuffle(perm)
        shape = tuple(x.type.shape[p] for p in perm)
        return self.emit(stmts, scope, Transpose(x, tuple(perm)), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_expand(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank < MAX_RANK)
        if x is None:
            return None
        axis = self.rng.randint(0, x.type.rank)
        shape = x.type.shape[:axis] + (1,) + x.type.shape[axis:]
        if self.rng.random() < 0.3:
            axis = axis - x.type.rank - 1
        return self.emit(stmts, scope, ExpandDims(x, axis), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_squeeze(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: 1 in v.type.shape)
        if x is None:
            return None
        axis = self.rng.choice([i for i, d in enumerate(x.type.shape) if d == 1])
        shape = x.type.shape[:axis] + x.type.shape[axis + 1:]
        return self.emit(stmts, scope, Squeeze(x, axis), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_broadcast(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank <= MAX_RANK)
        if x is None:
            return None
        shape = tuple(self.rng.choice([2, 3]) if d == 1 else d for d in x.type.shape)
        if x.type.rank < MAX_RANK and self.rng.random() < 0.6:
            shape = (self.rng.choice([2, 3]), *shape)
        if shape == x.type.shape or math.prod(shape) > MAX_SIZE:
            return None
        return self.emit(stmts, scope, BroadcastTo(x, shape), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_index(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if x is None:
            return None
        n = self.rng.randint(1, x.type.rank)
        items: list[int | tuple[int | None, int | None, int | None]] = []
        shape: list[int] = []
        for d in x.type.shape[:n]:
            if self.rng.random() < 0.3:
                i = self.rng.randrange(-d, d)
                items.append(i)
                continue
            step = self.rng.choice([None, None, 1, 2, -1, -2])
            start = self.rng.choice([None, self.rng.randrange(-d, d)])
            stop = self.rng.choice([None, self.rng.randrange(-d, d + 1)])
            length = len(range(d)[slice(start, stop, step)])
            if length == 0:
                start, stop = None, None
                length = len(range(d)[slice(start, stop, step)])
            items.append((start, stop, step))
            shape.append(length)
        shape += x.type.shape[n:]
        return self.emit(stmts, scope, Index(x, tuple(items)), TType(tuple(shape), x.type.dtype),
                         scope.bounds[x.name])

    def gen_concat(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if x is None:
            return None
        stack = self.rng.random() < 0.3
        if stack:
            axis = self.rng.randint(0, x.type.rank)
            others = [v for v in scope.vars if v.type == x.type and v != x]
            shape = x.type.shape[:axis] + (2,) + x.type.shape[axis:]
        else:
            axis = self.rng.randrange(x.type.rank)

            def fits(v: Var) -> bool:
                s = v.type.shape
                return (v.type.dtype == x.type.dtype and len(s) == x.type.rank and v != x
                        and all(a == b for i, (a, b) in enumerate(zip(s, x.type.shape, strict=True))
                                if i != axis))

            others = [v for v in scope.vars if fits(v)]
        y = self.rng.choice(others) if others else x
        if not stack:
            shape = tuple(d + y.type.shape[axis] if i == axis else d
                          for i, d in enumerate(x.type.shape))
        if math.prod(shape) > MAX_SIZE or len(shape) > MAX_RANK + 1:
            return None
        bound = max(scope.bounds[x.name], scope.bounds[y.name])
        xs = (x, y) if self.rng.random() < 0.5 else (y, x)
        return self.emit(stmts, scope, Concat(xs, axis, stack), TType(shape, x.type.dtype), bound)

    def gen_pad(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: 0 < v.type.rank <= 2 and v.type.dtype != "bool")
        if x is None:
            return None
        widths = tuple((self.rng.randint(0, 2), self.rng.randint(0, 2)) for _ in x.type.shape)
        shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.type.shape, widths, strict=True))
        if math.prod(shape) > MAX_SIZE:
            return None
        return self.emit(stmts, scope, Pad(x, widths), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_roll(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if x is None:
            return None
        axis = self.rng.randrange(x.type.rank)
        return self.emit(stmts, scope, Roll(x, self.rng.randint(-3, 3), axis), x.type,
                         scope.bounds[x.name])

    def gen_flip(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if x is None:
            return None
        return self.emit(stmts, scope, Flip(x, self.rng.randrange(x.type.rank)), x.type,
                         scope.bounds[x.name])

    def gen_matmul(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        a = self.pick(scope, lambda v: v.type.dtype == "float32" and 1 <= v.type.rank <= 3)
        if a is None:
            return None
        k = a.type.shape[-1]

        def fits(v: Var) -> bool:
            s = v.type.shape
            return v.type.dtype == "float32" and (
                (len(s) == 1 and s[0] == k) or (len(s) == 2 and s[0] == k))

        b = self.pick(scope, fits)
        if b is None:
            if a.type.rank < 2:
                return None
            perm = (*range(a.type.rank - 2), a.type.rank - 1, a.type.rank - 2)
            shape_t = tuple(a.type.shape[p] for p in perm)
            b = self.emit(stmts, scope, Transpose(a, perm), TType(shape_t, "float32"),
                          scope.bounds[a.name])
        try:
            shape = np.matmul(np.zeros(a.type.shape), np.zeros(b.type.shape)).shape
        except ValueError:
            return None
        bound = scope.bounds[a.name] * scope.bounds[b.name] * a.type.shape[-1]
        if bound > FLOAT_BOUND or math.prod(shape) > MAX_SIZE:
            return None
        return self.emit(stmts, scope, Matmul(a, b), TType(tuple(shape), "float32"), bound)

    def gen_axisop(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        x = self.pick(scope, lambda v: v.type.rank > 0 and v.type.dtype == "float32")
        if x is None:
            return None
        axis = self.rng.randrange(x.type.rank)
        b = scope.bounds[x.name]
        op = self.rng.choice(["softmax", "logsumexp", "var"])
        if op == "softmax":
            return self.emit(stmts, scope, AxisOp(op, x, axis), x.type, 1.0)
        shape = x.type.shape[:axis] + x.type.shape[axis + 1:]
        bound = b + math.log(x.type.shape[axis]) if op == "logsumexp" else b * b
        if bound > FLOAT_BOUND:
            return None
        return self.emit(stmts, scope, AxisOp(op, x, axis), TType(shape, "float32"), bound)

    def gen_dynslice(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        start = self.pick(scope, lambda v: v.type == TType((), "int32"))
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if start is None or x is None:
            return None
        axis = self.rng.randrange(x.type.rank)
        size = self.rng.randint(1, x.type.shape[axis])
        shape = x.type.shape[:axis] + (size,) + x.type.shape[axis + 1:]
        return self.emit(stmts, scope, DynSlice(x, start, size, axis), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    def gen_take(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        idx = self.pick(scope, lambda v: v.type.dtype == "int32" and v.type.rank <= 1)
        x = self.pick(scope, lambda v: v.type.rank > 0)
        if idx is None or x is None:
            return None
        axis = self.rng.randrange(x.type.rank)
        shape = x.type.shape[:axis] + idx.type.shape + x.type.shape[axis + 1:]
        if len(shape) > MAX_RANK + 1 or math.prod(shape) > MAX_SIZE:
            return None
        return self.emit(stmts, scope, Take(x, idx, axis), TType(shape, x.type.dtype),
                         scope.bounds[x.name])

    # -- control flow ---------------------------------------------------------------------------

    def coerce(self, stmts: list[Assign], scope: Scope, x: Var, t: TType) -> Var:
        """Statements turning ``x`` into a value of type ``t``."""
        if x.type.dtype != t.dtype:
            if x.type.dtype == "float32" and t.dtype == "bool":
                x = self.emit(stmts, scope, Binary("gt", x, Lit(0.0, TType((), "float32"))),
                              TType(x.type.shape, "bool"), 1)
            elif t.dtype == "bool":
                x = self.emit(stmts, scope, Binary("ne", x, Lit(0, TType((), x.type.dtype))),
                              TType(x.type.shape, "bool"), 1)
            else:
                b = min(scope.bounds[x.name], FLOAT_BOUND)
                x = self.emit(stmts, scope, Astype(x, t.dtype), TType(x.type.shape, t.dtype), b)
        if x.type.shape == t.shape:
            return x
        b = scope.bounds[x.name]
        if broadcast_shapes(x.type.shape, t.shape) == t.shape:
            return self.emit(stmts, scope, BroadcastTo(x, t.shape), t, b)
        if x.type.size == t.size:
            return self.emit(stmts, scope, Reshape(x, t.shape), t, b)
        if x.type.size > t.size:
            if x.type.rank != 1:
                x = self.emit(stmts, scope, Reshape(x, (-1,)), TType((x.type.size,), t.dtype), b)
            x = self.emit(stmts, scope, Index(x, ((None, t.size, None),)),
                          TType((t.size,), t.dtype), b)
            return x if x.type.shape == t.shape else self.emit(
                stmts, scope, Reshape(x, t.shape), t, b)
        op = "any" if t.dtype == "bool" else "max"
        x = self.emit(stmts, scope, Reduce(op, x, None, False), TType((), t.dtype), b)
        return self.emit(stmts, scope, BroadcastTo(x, t.shape), t, b)

    def gen_block(self, name: str, params: list[tuple[Var, float]], outer: Scope, depth: int,
                  n_stmts: int) -> tuple[list[Assign], Scope]:
        scope = outer.child()
        for p, b in params:
            scope.add(p, b)
        stmts: list[Assign] = []
        for _ in range(n_stmts):
            self.gen_stmt(stmts, scope, depth)
        return stmts, scope

    def _squash(self, stmts: list[Assign], scope: Scope, x: Var) -> Var:
        """``tanh(x)`` for a float ``x`` (keeps loop carries bounded)."""
        return self.emit(stmts, scope, Unary("tanh", x), x.type, 1.0)

    def _body_result(self, stmts: list[Assign], scope: Scope, t: TType, fallback: Var,
                     squash: bool) -> Var:
        last = stmts[-1].targets[-1] if stmts else fallback
        if t.dtype == "float32" and last.type.dtype != "float32":
            cands = [v for v in scope.vars if v.type.dtype == "float32" and v.name in {
                tt.name for s in stmts for tt in s.targets}]
            last = cands[-1] if cands else fallback
        r = self.coerce(stmts, scope, last, t)
        return self._squash(stmts, scope, r) if squash and t.dtype == "float32" else r

    def gen_cond(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        pred = self.pick(scope, lambda v: v.type == TType((), "bool"))
        if pred is None or self.rng.random() < 0.3:
            x = self.pick(scope, lambda v: v.type.dtype == "float32")
            if x is None:
                return None
            s = self.emit(stmts, scope, Reduce("sum", x, None, False), TType((), "float32"),
                          scope.bounds[x.name] * x.type.size)
            pred = self.emit(stmts, scope, Binary(self.rng.choice(["gt", "lt"]), s,
                                                  Lit(0.0, TType((), "float32"))),
                             TType((), "bool"), 1)
        n_ops = self.rng.randint(1, 2)
        ops: list[Var] = []
        for _ in range(n_ops):
            v = self.pick(scope, lambda v: v.type.dtype != "bool" and v not in ops)
            if v is not None:
                ops.append(v)
        if not ops:
            return None
        out_t = ops[0].type
        bound = max(scope.bounds[v.name] for v in ops)
        blocks = []
        for branch in ("t", "f"):
            name = self.fresh(f"branch_{branch}")
            params = [(Var(self.fresh("p"), v.type), scope.bounds[v.name]) for v in ops]
            body, inner = self.gen_block(name, params, scope, depth + 1, self.rng.randint(1, 3))
            res = self._body_result(body, inner, out_t, params[0][0], squash=False)
            bound = max(bound, inner.bounds[res.name])
            blocks.append(Block(name, tuple(p for p, _ in params), tuple(body), (res,)))
        if bound > FLOAT_BOUND:
            return None
        return self.emit(stmts, scope, Cond(pred, blocks[0], blocks[1], tuple(ops)), out_t,
                         bound)

    def _loop_body(self, scope: Scope, depth: int, carry: Var, first: Var,
                   first_bound: float) -> Block:
        name = self.fresh("body")
        c = Var(self.fresh("c"), carry.type)
        params = [(first, first_bound), (c, max(scope.bounds[carry.name], 1.0))]
        body, inner = self.gen_block(name, params, scope, depth + 1, self.rng.randint(1, 3))
        res = self._body_result(body, inner, carry.type, c, squash=True)
        return Block(name, (first, c), tuple(body), (res,))

    def gen_fori(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        init = self.pick(scope, lambda v: v.type.dtype == "float32")
        if init is None:
            return None
        n = self.rng.randint(1, 4)
        body = self._loop_body(scope, depth, init, Var(self.fresh("i"), TType((), "int32")), n)
        return self.emit(stmts, scope, ForiLoop(n, body, init), init.type,
                         max(scope.bounds[init.name], 1.0))

    def gen_while(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        init = self.pick(scope, lambda v: v.type.dtype == "float32")
        if init is None:
            return None
        n = self.rng.randint(1, 4)
        body = self._loop_body(scope, depth, init, Var(self.fresh("k"), TType((), "int32")), n)
        return self.emit(stmts, scope, WhileLoop(n, body, init), init.type,
                         max(scope.bounds[init.name], 1.0))

    def gen_scan(self, stmts: list[Assign], scope: Scope, depth: int) -> Var | None:
        init = self.pick(scope, lambda v: v.type.dtype == "float32")
        if init is None:
            return None
        xs = self.pick(scope, lambda v: v.type.rank >= 1) if self.rng.random() < 0.8 else None
        length = xs.type.shape[0] if xs is not None else self.rng.randint(1, 3)
        name = self.fresh("step")
        c = Var(self.fresh("c"), init.type)
        params: list[tuple[Var, float]] = [(c, max(scope.bounds[init.name], 1.0))]
        if xs is not None:
            params.append((Var(self.fresh("e"), TType(xs.type.shape[1:], xs.type.dtype)),
                           scope.bounds[xs.name]))
        body, inner = self.gen_block(name, params, scope, depth + 1, self.rng.randint(1, 3))
        y = body[-1].targets[-1] if body else params[-1][0]
        if xs is None:
            params.append((Var("_", TType((), "float32")), 0.0))
        y_bound = inner.bounds[y.name]
        res = self._body_result(body, inner, init.type, c, squash=True)
        if len(y.type.shape) + 1 > MAX_RANK + 1 or (length * y.type.size) > MAX_SIZE:
            y = res
            y_bound = 1.0
        block = Block(name, tuple(p for p, _ in params), tuple(body), (res, y))
        carry = Var(self.fresh(), init.type)
        ys = Var(self.fresh(), TType((length, *y.type.shape), y.type.dtype))
        stmts.append(Assign((carry, ys), Scan(block, init, xs, length,
                                               self.rng.random() < 0.3)))
        scope.add(carry, max(scope.bounds[init.name], 1.0))
        scope.add(ys, y_bound)
        return ys if self.rng.random() < 0.5 else carry

    # -- programs -------------------------------------------------------------------------------

    def program(self) -> Program:
        n_args = self.rng.choices([1, 2, 3], weights=[3, 4, 2])[0]
        params: list[tuple[Var, float]] = []
        for i in range(n_args):
            choices: list[DType] = ["float32", "int32", "bool"]
            dtype = "float32" if i == 0 else self.rng.choices(choices, weights=[6, 2, 1])[0]
            bound = {"float32": 2.0, "int32": 5.0, "bool": 1.0}[dtype]
            params.append((Var(f"x{i}", TType(self.random_shape(), dtype)), bound))
        stmts, _ = self.gen_block("f", params, Scope(), 0, self.rng.randint(2, 7))
        defined = [t for s in stmts for t in s.targets]
        floats = [v for v in defined if v.type.dtype == "float32"]
        if not floats:
            x0 = params[0][0]
            stmts.append(Assign((Var(self.fresh(), x0.type),), Unary("sin", x0)))
            floats = [stmts[-1].targets[0]]
        results = [floats[-1]]
        others = [v for v in defined if v not in results]
        if others and self.rng.random() < 0.3:
            results.append(self.rng.choice(others))
        return Program(self.seed, Block("f", tuple(p for p, _ in params), tuple(stmts),
                                        tuple(results)))


def generate(seed: int, allow_while: bool = True) -> Program:
    """The program of ``seed`` (deterministic)."""
    return Generator(seed, allow_while).program()
