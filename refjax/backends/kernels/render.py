"""Renderers: pure functions from a kernel of the IR and a :class:`Dialect` to source text.

Whole kernels are ``string.Template`` skeletons that show the final code's shape (a grid-stride
map, a vectorised map, a map over rows in vectors, an axis reduce with a local-memory tree, a row
reduce in lanes or in one vector, a column reduce in lanes, a tiled matmul, a register-blocked
matmul and one reading both operands along k, each with its epilogue); they are filled
with typed pieces: one ``const`` statement per body value, loads with their index arithmetic,
and helper functions for the ops whose lax semantics C does not give directly (NaN-propagating
max, saturating float-to-integer casts, integer division by zero, out-of-range shifts ...).

With ``generic=True`` every size, stride and offset becomes a kernel argument, so one compiled
kernel serves every shape with the same structure (eager dispatch uses this); the values to pass
come back in :attr:`Rendered.shape_args`. (Rows in vectors need known strides: generic kernels
keep the element-wise forms.)

On a CPU (PoCL) the vector forms are what make the code fast: the compiler does not vectorise
across work items once each runs its own loop, so vectors are written out, loaded and stored
through a vector type aligned as its element (``Dialect.wide_type``: PoCL 3.0 compiles
``vload8`` as a call, which spills every vector register around it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Final

import numpy as np

from refjax.backends.kernels.dialects import Dialect
from refjax.backends.kernels.ir import (
    FLOAT64,
    INDEX32,
    INDEX64,
    Affine,
    Binary,
    BinaryOp,
    Cast,
    Const,
    Expr,
    Index,
    Kernel,
    Load,
    MapKernel,
    MatmulKernel,
    Param,
    Reduced,
    ReduceKernel,
    RegisterBlock,
    Select,
    Unary,
    UnaryOp,
    affines,
    reached,
    reads_along_k,
)
from refjax.dtypes import DType

BOOL: Final = np.dtype(np.bool_)
FLOAT32: Final = np.dtype(np.float32)
VECTOR_WIDTH: Final = 4
REDUCE_LOCAL_MAX: Final = 256  # work items per reduce work group at most (a power of two)
MATMUL_TILE: Final = 16
COLUMN_LOCAL: Final = 16  # work items per group of a column reduction
BLOCKED_LOCAL: Final = 8  # work items per group of a register-blocked matmul, along m


@dataclass(frozen=True, slots=True)
class Rendered:
    """A kernel's source and how to launch it."""

    name: str
    source: str
    shape_args: tuple[int, ...]  # extra integer arguments (generic rendering), in order
    index_dtype: DType  # the type of those arguments and of index arithmetic
    vector_width: int  # elements per work item of a map's main loop; a column reduction's lanes


# ---------------------------------------------------------------------------------------------
# Types and literals


def _kind(dtype: DType) -> str:
    """'b', 'i' (signed), 'u' (unsigned) or 'f'."""
    return "b" if dtype == BOOL else dtype.kind


def ctype(d: Dialect, dtype: DType) -> str:
    """The compute type of ``dtype``."""
    return d.types[dtype]


def storage_type(d: Dialect, dtype: DType) -> str:
    """The element type of ``dtype`` in buffers and scalar arguments."""
    return d.storage_types.get(dtype, d.types[dtype])


def _int_type(d: Dialect, bits: int, signed: bool) -> str:
    return d.types[np.dtype(f"{'i' if signed else 'u'}{bits // 8}")]


def _type_vars(d: Dialect, dtype: DType) -> dict[str, str]:
    """Template variables of a dtype: T, and for integers U, S, W (unsigned >= 32 bits), BITS."""
    out = {"T": ctype(d, dtype)}
    if _kind(dtype) in "iu":
        bits = dtype.itemsize * 8
        out |= {
            "U": _int_type(d, bits, False),
            "S": _int_type(d, bits, True),
            "W": _int_type(d, max(bits, 32), False),
            "BITS": str(bits),
        }
    return out


def literal(d: Dialect, value: bool | int | float, dtype: DType) -> str:
    """A C literal of exactly ``value`` at ``dtype``."""
    kind = _kind(dtype)
    if kind == "b":
        return "true" if value else "false"
    suffix = d.literal_suffix.get(dtype, "")
    if kind == "f":
        x = float(value)
        inf, nan = d.special_floats[dtype]
        if math.isnan(x):
            return nan
        if math.isinf(x):
            return inf if x > 0 else f"(-{inf})"
        text = f"{float.hex(x)}{suffix}"
        return f"({text})" if x < 0 or text.startswith("-") else text
    n = int(value)
    info = np.iinfo(dtype)
    if kind == "i" and n == info.min:
        return f"(({ctype(d, dtype)})({n + 1}{suffix} - 1))"
    text = f"{n}{suffix}"
    return f"(({ctype(d, dtype)}){text})" if dtype.itemsize < 4 or n < 0 else text


def _math(d: Dialect, name: str, dtype: DType) -> str:
    return name + d.math_suffix.get(dtype, "")


# ---------------------------------------------------------------------------------------------
# Helper functions: lax semantics that C does not give directly

_HELPERS: Final[dict[str, str]] = {
    # NaN propagates; of two equal zeros max takes +0 and min -0. Selects, not branches, so
    # the compiler can vectorise a loop of them.
    "max": """$prefix $T $name($T a, $T b) {
  const $T m = a > b ? a : b;
  const $T z = (a == b && signbit(b)) ? a : m;
  return (a != a || b != b) ? a + b : z;
}""",
    "min": """$prefix $T $name($T a, $T b) {
  const $T m = a < b ? a : b;
  const $T z = (a == b && signbit(a)) ? a : m;
  return (a != a || b != b) ? a + b : z;
}""",
    "sign": """$prefix $T $name($T x) {
  if (x == 0 || isnan(x)) return x;
  return $copysign(($T)1, x);
}""",
    "div_i": """$prefix $T $name($T x, $T y) {
  if (y == 0) return ($T)-1;
  if (y == -1) return ($T)(-($W)x);
  return ($T)(x / y);
}""",
    "div_u": """$prefix $T $name($T x, $T y) {
  if (y == 0) return ($T)(~($T)0);
  return ($T)(x / y);
}""",
    "rem_i": """$prefix $T $name($T x, $T y) {
  if (y == 0) return x;
  if (y == -1) return ($T)0;
  return ($T)(x % y);
}""",
    "rem_u": """$prefix $T $name($T x, $T y) {
  if (y == 0) return x;
  return ($T)(x % y);
}""",
    "shift_left": """$prefix $T $name($T x, $T y) {
  const $U amount = ($U)y;
  if (amount >= $BITS) return ($T)0;
  return ($T)(($W)($U)x << amount);
}""",
    "shift_right_logical": """$prefix $T $name($T x, $T y) {
  const $U amount = ($U)y;
  if (amount >= $BITS) return ($T)0;
  return ($T)(($U)x >> amount);
}""",
    "shift_right_arithmetic": """$prefix $T $name($T x, $T y) {
  $U amount = ($U)y;
  if (amount > $BITS - 1) amount = $BITS - 1;
  return ($T)(($S)x >> amount);
}""",
    "convert": """$prefix $T $name($F x) {
  if (isnan(x)) return ($T)0;
  if (x <= $lo) return $min;
  if (x >= $hi) return $max;
  return ($T)x;
}""",
}


@dataclass(frozen=True, slots=True, order=True)
class Helper:
    """One helper function: the template's key and the dtypes it is instantiated at."""

    kind: str
    dtype: DType = field(compare=False)
    source: DType | None = field(default=None, compare=False)
    tag: str = ""


def _tag(dtype: DType) -> str:
    return "b" if dtype == BOOL else f"{dtype.kind}{dtype.itemsize * 8}"


def _helper(kind: str, dtype: DType, source: DType | None = None) -> Helper:
    tag = _tag(dtype) if source is None else f"{_tag(source)}_{_tag(dtype)}"
    return Helper(kind, dtype, source, f"{kind}_{tag}")


def _render_helper(d: Dialect, h: Helper) -> str:
    values = _type_vars(d, h.dtype) | {
        "prefix": d.function_prefix,
        "name": h.tag,
        "copysign": _math(d, "copysign", h.dtype),
    }
    if h.kind == "convert":
        assert h.source is not None
        values |= _convert_bounds(d, h.source, h.dtype)
    return Template(_HELPERS[h.kind]).substitute(values)


def _convert_bounds(d: Dialect, src: DType, dst: DType) -> dict[str, str]:
    """The saturation bounds of a float-to-integer conversion (exact powers of two)."""
    info = np.iinfo(dst)
    bits = dst.itemsize * 8
    lo = float(info.min)
    hi = 2.0**bits if dst.kind == "u" else -lo
    return {
        "F": ctype(d, src),
        "lo": literal(d, lo, src),
        "hi": literal(d, hi, src),
        "min": literal(d, int(info.min), dst),
        "max": literal(d, int(info.max), dst),
    }


# ---------------------------------------------------------------------------------------------
# Expressions

_MATH_UNARY: Final[dict[UnaryOp, str]] = {
    UnaryOp.FLOOR: "floor",
    UnaryOp.CEIL: "ceil",
    UnaryOp.ROUND: "round",
    UnaryOp.ROUND_EVEN: "rint",
    UnaryOp.EXP: "exp",
    UnaryOp.EXP2: "exp2",
    UnaryOp.LOG: "log",
    UnaryOp.LOG1P: "log1p",
    UnaryOp.EXPM1: "expm1",
    UnaryOp.TANH: "tanh",
    UnaryOp.SIN: "sin",
    UnaryOp.COS: "cos",
    UnaryOp.TAN: "tan",
    UnaryOp.ASIN: "asin",
    UnaryOp.ACOS: "acos",
    UnaryOp.ATAN: "atan",
    UnaryOp.SINH: "sinh",
    UnaryOp.COSH: "cosh",
    UnaryOp.ASINH: "asinh",
    UnaryOp.ACOSH: "acosh",
    UnaryOp.ATANH: "atanh",
    UnaryOp.SQRT: "sqrt",
    UnaryOp.CBRT: "cbrt",
    UnaryOp.ERF: "erf",
    UnaryOp.ERFC: "erfc",
    UnaryOp.LGAMMA: "lgamma",
    UnaryOp.ABS: "fabs",
}
_MATH_BINARY: Final[dict[BinaryOp, str]] = {
    BinaryOp.POW: "pow",
    BinaryOp.NEXTAFTER: "nextafter",
    BinaryOp.ATAN2: "atan2",
    BinaryOp.REM: "fmod",
}
# Integer forms: wrapping arithmetic goes through the unsigned type W (C's signed overflow is
# undefined); $x and $y are operand names.
_INT_UNARY: Final[dict[UnaryOp, str]] = {
    UnaryOp.NEG: "(($T)(-($W)$x))",
    UnaryOp.SIGN: "(($T)(($x > 0) - ($x < 0)))",
    UnaryOp.ABS: "($x < 0 ? ($T)(-($W)$x) : $x)",
    UnaryOp.NOT: "(($T)(~$x))",
}
_OPERATORS: Final[dict[BinaryOp, str]] = {
    BinaryOp.ADD: "+",
    BinaryOp.SUB: "-",
    BinaryOp.MUL: "*",
    BinaryOp.AND: "&",
    BinaryOp.OR: "|",
    BinaryOp.XOR: "^",
    BinaryOp.EQ: "==",
    BinaryOp.NE: "!=",
    BinaryOp.LT: "<",
    BinaryOp.LE: "<=",
    BinaryOp.GT: ">",
    BinaryOp.GE: ">=",
}
_HELPER_BINARY: Final[dict[tuple[BinaryOp, str], str]] = {
    (BinaryOp.MAX, "f"): "max",
    (BinaryOp.MIN, "f"): "min",
    (BinaryOp.DIV, "i"): "div_i",
    (BinaryOp.DIV, "u"): "div_u",
    (BinaryOp.REM, "i"): "rem_i",
    (BinaryOp.REM, "u"): "rem_u",
    **{
        (op, k): op.value
        for op in (
            BinaryOp.SHIFT_LEFT,
            BinaryOp.SHIFT_RIGHT_LOGICAL,
            BinaryOp.SHIFT_RIGHT_ARITHMETIC,
        )
        for k in "iu"
    },
}


@dataclass(frozen=True, slots=True)
class Code:
    """An expression's text and the helper functions it calls."""

    text: str
    helpers: frozenset[Helper] = frozenset()


def unary_code(d: Dialect, op: UnaryOp, x: str, dtype: DType) -> Code:
    """The C expression of ``op`` on operand ``x`` of ``dtype``."""
    kind = _kind(dtype)
    if op is UnaryOp.IS_FINITE:
        return Code(f"isfinite({x})")
    if op is UnaryOp.SIGN and kind == "f":
        h = _helper("sign", dtype)
        return Code(f"{h.tag}({x})", frozenset({h}))
    if op is UnaryOp.NEG and kind == "f":
        return Code(f"(-{x})")
    if op is UnaryOp.SIGN and kind == "u":
        return Code(f"(({ctype(d, dtype)})({x} != 0))")
    if op is UnaryOp.NOT and kind == "b":
        return Code(f"(!{x})")
    if op in (UnaryOp.POPULATION_COUNT, UnaryOp.CLZ):
        forms = d.popcount if op is UnaryOp.POPULATION_COUNT else d.clz
        form = forms[1] if dtype.itemsize == 8 else forms[0]
        text = Template(form).substitute(_type_vars(d, dtype) | {"x": x})
        return Code(f"(({ctype(d, dtype)}){text})")
    if kind in "iu":
        return Code(Template(_INT_UNARY[op]).substitute(_type_vars(d, dtype) | {"x": x}))
    name = _MATH_UNARY[op]
    if name in d.promote_float32 and dtype == FLOAT32:
        return Code(f"((float){_math(d, name, FLOAT64)}((double){x}))")
    return Code(f"{_math(d, name, dtype)}({x})")


def binary_code(d: Dialect, op: BinaryOp, x: str, y: str, dtype: DType) -> Code:
    """The C expression of ``op`` on operands ``x``, ``y`` of ``dtype`` (the operands' dtype)."""
    kind = _kind(dtype)
    helper = _HELPER_BINARY.get((op, kind))
    if helper is not None:
        h = _helper(helper, dtype)
        return Code(f"{h.tag}({x}, {y})", frozenset({h}))
    if op in (BinaryOp.MAX, BinaryOp.MIN):
        if kind == "b":
            return Code(f"({x} {'|' if op is BinaryOp.MAX else '&'} {y})")
        return Code(f"({x} {'>' if op is BinaryOp.MAX else '<'} {y} ? {x} : {y})")
    if op in _MATH_BINARY and kind == "f":
        return Code(f"{_math(d, _MATH_BINARY[op], dtype)}({x}, {y})")
    if op is BinaryOp.DIV:
        return Code(f"({x} / {y})")
    operator = _OPERATORS[op]
    if kind in "iu" and op in (BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL):
        tv = _type_vars(d, dtype)
        return Code(f"(({tv['T']})(({tv['W']}){x} {operator} ({tv['W']}){y}))")
    if kind in "iu" and op in (BinaryOp.AND, BinaryOp.OR, BinaryOp.XOR):
        return Code(f"(({ctype(d, dtype)})({x} {operator} {y}))")
    return Code(f"({x} {operator} {y})")


def cast_code(d: Dialect, x: str, src: DType, dst: DType) -> Code:
    """The C expression converting ``x`` from ``src`` to ``dst`` as lax does."""
    if dst == BOOL:
        return Code(f"({x} != 0)")
    if _kind(src) == "f" and _kind(dst) in "iu":
        h = _helper("convert", dst, src)
        return Code(f"{h.tag}({x})", frozenset({h}))
    return Code(f"(({ctype(d, dst)}){x})")


# ---------------------------------------------------------------------------------------------
# Index arithmetic: literals, or kernel arguments when rendering generically


class _Ints:
    """Integers of the index arithmetic: literals, or (generic) arguments ``d0, d1, ...``."""

    def __init__(self, generic: bool) -> None:
        self.generic = generic
        self.values: list[int] = []

    def __call__(self, value: int) -> str:
        if not self.generic:
            return str(value)
        self.values.append(value)
        return f"d{len(self.values) - 1}"

    def affine(self, affine: Affine, names: Sequence[str], base: str | None = None) -> str:
        """``base + sum(stride * name)``, or ``offset + ...`` when there is no base."""
        terms = [base if base is not None else self(affine.offset)]
        for stride, name in zip(affine.strides, names, strict=True):
            if self.generic:
                terms.append(f"{self(stride)} * {name}")
            elif stride == 1:
                terms.append(name)
            elif stride:
                terms.append(f"{stride} * {name}")
        if not self.generic and len(terms) > 1 and terms[0] == "0":
            terms = terms[1:]
        return " + ".join(terms)


def _decompose(ints: _Ints, index: str, names: Sequence[str], sizes: Sequence[int],
               itype: str, pad: str) -> list[str]:
    """Statements splitting a row-major linear index into one index per axis."""
    if not names:
        return []
    if len(names) == 1:
        return [f"{pad}const {itype} {names[0]} = {index};"]
    lines = [f"{pad}{itype} rest_{index} = {index};"]
    for name, size in zip(names[:0:-1], sizes[:0:-1], strict=True):
        extent = ints(size)
        lines.append(f"{pad}const {itype} {name} = rest_{index} % {extent};")
        lines.append(f"{pad}rest_{index} = rest_{index} / {extent};")
    lines.append(f"{pad}const {itype} {names[0]} = rest_{index};")
    return lines


def _index_dtype(kernel: Kernel) -> DType:
    """int32 when every partial sum of index arithmetic fits, else int64."""
    bound = max([kernel.size, *(b.size for b in kernel.inputs)])
    for affine, space in _affines_with_spaces(kernel):
        extent = abs(affine.offset) + sum(
            abs(s) * n for s, n in zip(affine.strides, space, strict=False)
        )
        bound = max(bound, extent)
    if isinstance(kernel, ReduceKernel):
        bound = max(bound, kernel.size * kernel.reduced_size)
    return INDEX32 if bound < 2**31 - 1 else INDEX64


def _affines_with_spaces(kernel: Kernel) -> list[tuple[Affine, tuple[int, ...]]]:
    if isinstance(kernel, MatmulKernel):
        return [
            (kernel.lhs, (kernel.batch, kernel.m, kernel.k)),
            (kernel.rhs, (kernel.batch, kernel.k, kernel.n)),
            *((a, kernel.out_shape) for a in affines(kernel.body)),
        ]
    space = kernel.shape + (kernel.reduced_shape if isinstance(kernel, ReduceKernel) else ())
    return [(a, space) for a in affines(kernel.body)]


# ---------------------------------------------------------------------------------------------
# Bodies: one const statement per value


@dataclass
class _Body:
    """Renders body statements; collects the helpers they call. Local to one render call."""

    d: Dialect
    kernel: MapKernel | ReduceKernel | MatmulKernel
    ints: _Ints
    helpers: set[Helper] = field(default_factory=set)
    reduced_name: str = "acc"  # what a Reduced leaf reads (a column reduction's lane's acc)

    def operand(self, i: int, names: dict[int, str]) -> str:
        expr = self.kernel.body[i]
        if isinstance(expr, Const):
            return literal(self.d, expr.value, expr.dtype)
        if isinstance(expr, Param):
            return f"(p{expr.index} != 0)" if expr.dtype == BOOL else f"p{expr.index}"
        if isinstance(expr, Reduced):
            return self.reduced_name
        return names[i]

    def code(self, i: int, names: dict[int, str]) -> Code:
        """The expression computing body position ``i`` (a compute node)."""
        expr = self.kernel.body[i]
        body = self.kernel.body

        def name(j: int) -> str:
            return self.operand(j, names)

        if isinstance(expr, Unary):
            return unary_code(self.d, expr.op, name(expr.x), body[expr.x].dtype)
        if isinstance(expr, Binary):
            return binary_code(self.d, expr.op, name(expr.x), name(expr.y), body[expr.x].dtype)
        if isinstance(expr, Select):
            return Code(f"({name(expr.pred)} ? {name(expr.on_true)} : {name(expr.on_false)})")
        assert isinstance(expr, Cast)
        return cast_code(self.d, name(expr.x), body[expr.x].dtype, expr.dtype)

    def statements(
        self,
        positions: Iterable[int],
        names: dict[int, str],
        leaf: Callable[[int, Load | Index], str],
        pad: str,
        suffix: str = "",
        type_of: Callable[[int], str] | None = None,
    ) -> list[str]:
        """Statements computing ``positions`` in order; ``names`` gets each value's name."""
        lines = []
        for i in positions:
            expr = self.kernel.body[i]
            if isinstance(expr, Const | Param | Reduced):
                continue
            names[i] = f"v{i}{suffix}"
            if isinstance(expr, Load | Index):
                text = leaf(i, expr)
            else:
                code = self.code(i, names)
                self.helpers |= code.helpers
                text = code.text
            t = ctype(self.d, expr.dtype) if type_of is None else type_of(i)
            lines.append(f"{pad}const {t} {names[i]} = {text};")
        return lines

    def load(self, expr: Load | Index, index: str) -> str:
        """A load of element ``index`` (bools as true/false), or the index value itself."""
        if isinstance(expr, Index):
            return f"(({ctype(self.d, expr.dtype)})({index}))"
        if expr.clamp:  # into [0, size - 1]: the value is discarded where it was out of range
            last = self.ints(self.kernel.inputs[expr.buffer].size - 1)
            index = f"(({index}) < 0 ? 0 : ({index}) > {last} ? {last} : ({index}))"
        text = f"in{expr.buffer}[{index}]"
        return f"({text} != 0)" if expr.dtype == BOOL else text

    def store(self, k: int, value: str, index: str) -> str:
        """Store ``value`` as output ``k``'s element ``index``."""
        dtype = self.kernel.body[self.kernel.outputs[k]].dtype
        if dtype == BOOL:
            value = f"({storage_type(self.d, dtype)}){value}"
        return f"out{k}[{index}] = {value};"


def _signature(
    d: Dialect,
    inputs: Sequence[DType],
    outputs: Sequence[DType],
    params: Sequence[DType],
    n_ints: int,
    itype: str,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> str:
    q = f"{d.global_qualifier} " if d.global_qualifier else ""
    in_names = input_names or [f"in{k}" for k in range(len(inputs))]
    out_names = output_names or [f"out{k}" for k in range(len(outputs))]
    args = [
        f"{q}const {storage_type(d, t)}* {d.restrict} {n}"
        for t, n in zip(inputs, in_names, strict=True)
    ]
    args += [f"{q}{storage_type(d, t)}* {d.restrict} {n}" for t, n in zip(outputs, out_names,
                                                                          strict=True)]
    args += [f"const {storage_type(d, t)} p{k}" for k, t in enumerate(params)]
    args += [f"const {itype} d{k}" for k in range(n_ints)]
    return ",\n    ".join(args)


def _source(d: Dialect, helpers: Iterable[Helper], uses_fp64: bool, kernel_text: str) -> str:
    parts = [d.preamble] if d.preamble else []
    if uses_fp64 and d.fp64_preamble:
        parts.append(d.fp64_preamble)
    parts += [_render_helper(d, h) for h in sorted(set(helpers), key=lambda h: h.tag)]
    parts.append(kernel_text)
    return "\n\n".join(parts) + "\n"


def _uses_fp64(kernel: Kernel, d: Dialect) -> bool:
    if isinstance(kernel, MatmulKernel):
        dtypes = {kernel.acc_dtype, kernel.out_dtype, *(e.dtype for e in kernel.body)}
        return FLOAT64 in dtypes
    promoted = any(
        isinstance(e, Unary) and _MATH_UNARY.get(e.op) in d.promote_float32 for e in kernel.body
    )
    return promoted or any(e.dtype == FLOAT64 for e in kernel.body) or FLOAT64 in (
        b.dtype for b in kernel.inputs
    )


# ---------------------------------------------------------------------------------------------
# Skeletons

MAP_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  const $I n = $n;
  for ($I e = $global_id; e < n; e += $global_size) {
$body
  }
}""")

VECTOR_MAP_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  const $I n = $n;
  const $I n_vectors = n / 4;
  for ($I q = $global_id; q < n_vectors; q += $global_size) {
$vector_body
  }
  for ($I e = n_vectors * 4 + $global_id; e < n; e += $global_size) {
$body
  }
}""")

# A map over rows (the last axis), vectors along each row: each work item takes whole rows, the
# row's whole vectors with vector arithmetic, then its tail element by element.
ROW_MAP_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  for ($I o = $global_id; o < $n_rows; o += $global_size) {
$outer
    $I j = 0;
    for (; j + $w <= $row; j += $w) {
$vector
    }
    for (; j < $row; ++j) {
$scalar
    }
  }
}""")

REDUCE_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  $local $SA scratch[$local_max];
  const int lid = $local_id;
  const int lsize = $local_size;
  for ($I o = $group_id; o < $n_out; o += $num_groups) {
$out_index
    $A acc = $identity;
    for ($I r = lid; r < $n_red; r += lsize) {
$prologue
      acc = $combine_acc;
    }
    scratch[lid] = acc;
    $barrier
    for (int s = lsize / 2; s > 0; s >>= 1) {
      if (lid < s) {
        scratch[lid] = $combine_tree;
      }
      $barrier
    }
    if (lid == 0) {
      acc = scratch[0];
$epilogue
    }
    $barrier
  }
}""")

# A column reduction: each work item reduces $lanes consecutive outputs serially (the last
# group of lanes clamps its reads and guards its stores).
COLUMN_REDUCE_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  for ($I q = $global_id; q < $n_items; q += $global_size) {
$out_index
    for ($I r = 0; r < $n_red; ++r) {
$prologue
    }
$epilogue
  }
}""")

# A row reduction on a CPU: each work item reduces whole outputs, $lanes interleaved partial
# results per output (neighbouring lanes read neighbouring elements, which the compiler turns into
# vector arithmetic), then a tail, then the lanes combined.
ROW_REDUCE_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  for ($I o = $global_id; o < $n_out; o += $global_size) {
$out_index
    $I r = 0;
    for (; r + $lanes <= $n_red; r += $lanes) {
$lane_prologue
    }
    for (; r < $n_red; ++r) {
$tail_prologue
    }
$combine_lanes
$epilogue
  }
}""")

MATMUL_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  $local $A lhs_tile[$tile][$tile];
  $local $A rhs_tile[$tile][$tile];
  const int tx = $local_x;
  const int ty = $local_y;
  const $I b = $group_z;
  const $I m = ($I)$group_y * $tile + ty;
  const $I n = ($I)$group_x * $tile + tx;
  $A acc = $zero;
  for ($I k0 = 0; k0 < $k; k0 += $tile) {
    const $I ka = k0 + tx;
    const $I kb = k0 + ty;
    lhs_tile[ty][tx] = (m < $m && ka < $k) ? lhs[$lhs_index] : $zero;
    rhs_tile[ty][tx] = (kb < $k && n < $n) ? rhs[$rhs_index] : $zero;
    $barrier
    for (int kk = 0; kk < $tile; ++kk) {
      acc = $update;
    }
    $barrier
  }
  if (m < $m && n < $n) {
$store
  }
}""")


# A register-blocked matmul: each work item computes a rows x cols block of outputs. Work items
# run down the rows first (axis 0), so consecutive ones reuse the same columns of rhs from cache.
# A block inside the output runs the unrolled register code; a block at the bottom or right edge
# runs one vector of columns at a time over the whole block, reading rows clamped to the last,
# the columns of a partial vector one by one (clamped), and storing only what is inside.
BLOCKED_MATMUL_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  const $I b = $group_z;
  const $I m0 = ($I)$global_x * $rows;
  const $I n0 = ($I)$group_y * $cols;
  if (m0 >= $m || n0 >= $n) return;
  if (m0 + $rows <= $m && n0 + $cols <= $n) {
$block_init
    for ($I k = 0; k < $k; ++k) {
$contract
$block_step
    }
$block_store
  } else {
    for ($I v = n0; v < n0 + $cols && v < $n; v += $w) {
      const int whole = v + $w <= $n;
$edge_init
      for ($I k = 0; k < $k; ++k) {
$contract
$edge_step
      }
$edge_store
    }
  }
}""")


# A register-blocked matmul whose operands are both read along k (a @ b.T): each work item's
# rows x cols outputs each accumulate a vector of k's lanes, summed when k's whole vectors are
# done, then k's tail one by one. Rows and columns past the edge are read clamped to the last
# and not stored.
DOT_MATMUL_TEMPLATE: Final = Template("""\
$kernel $name(
    $args) {
  const $I b = $group_z;
  const $I m0 = ($I)$global_x * $rows;
  const $I n0 = ($I)$group_y * $cols;
  if (m0 >= $m || n0 >= $n) return;
$clamped
$init
  $I k = 0;
  for (; k + $w <= $k; k += $w) {
$contract
$step
  }
$sums
  for (; k < $k; ++k) {
$contract
$tail
  }
$store
}""")


def render(kernel: Kernel, dialect: Dialect, generic: bool = False) -> Rendered:
    """The source of ``kernel`` in ``dialect`` (sizes as arguments when ``generic``)."""
    if isinstance(kernel, MapKernel):
        return _render_map(kernel, dialect, generic)
    if isinstance(kernel, ReduceKernel):
        return _render_reduce(kernel, dialect, generic)
    return _render_matmul(kernel, dialect, generic)


def _common(d: Dialect, itype: str) -> dict[str, str]:
    return {
        "kernel": d.kernel_prefix,
        "I": itype,
        "global_id": d.global_id,
        "global_size": d.global_size,
        "local": d.local_qualifier,
        "barrier": d.barrier,
    }


def _vectorisable(kernel: MapKernel, d: Dialect) -> bool:
    """A 1-D map whose every load and store has a vector type (and alignment, if required)."""
    if len(kernel.shape) != 1 or kernel.size < VECTOR_WIDTH:
        return False
    used = reached(kernel.body, kernel.outputs)
    dtypes = [kernel.body[o].dtype for o in kernel.outputs]
    for i in used:
        expr = kernel.body[i]
        if isinstance(expr, Load) and expr.clamp:  # clamped loads are scalar loads
            return False
        if isinstance(expr, Load) and expr.index.strides[0] == 1:
            dtypes.append(expr.dtype)
            if d.vector_alignment and expr.index.offset % VECTOR_WIDTH:
                return False
    return all(t in d.vector_types for t in dtypes)


def _render_map(kernel: MapKernel, d: Dialect, generic: bool) -> Rendered:
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    body = _Body(d, kernel, ints)
    order = sorted(reached(kernel.body, kernel.outputs))
    axes = [f"i{k}" for k in range(len(kernel.shape))]
    n = ints(kernel.size)
    vector = _vectorisable(kernel, d)
    if not vector and not generic and kernel.row_lanes:
        width = _row_map_width(kernel, d, order)
        if width:
            return _render_row_map(kernel, d, ints, body, order, width)
    values: dict[str, str] = {}
    if vector:
        vector_body = _vector_arithmetic if _vector_safe(kernel, d, order) else _vector_body
        values["vector_body"] = "\n".join(vector_body(kernel, d, body, ints, order))
    lines = _decompose(ints, "e", axes, kernel.shape, itype, "    ")

    def leaf(i: int, expr: Load | Index) -> str:
        return body.load(expr, ints.affine(expr.index, axes))

    names: dict[int, str] = {}
    lines += body.statements(order, names, leaf, "    ")
    lines += [
        "    " + body.store(k, body.operand(o, names), "e") for k, o in enumerate(kernel.outputs)
    ]
    values["body"] = "\n".join(lines)
    signature = _signature(
        d, [b.dtype for b in kernel.inputs], kernel.output_dtypes, kernel.params,
        len(ints.values), itype,
    )
    template = VECTOR_MAP_TEMPLATE if vector else MAP_TEMPLATE
    text = template.substitute(_common(d, itype) | values | {
        "name": kernel.name, "args": signature, "n": n,
    })
    source = _source(d, body.helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype,
                    VECTOR_WIDTH if vector else 1)


ROW_MAP_MIN_ROWS: Final = 256  # fewer rows leave a CPU's cores idle: the flat map instead


def _row_map_width(kernel: MapKernel, d: Dialect, order: Sequence[int]) -> int:
    """The vector width a map of two or more axes can compute its rows with (0: none): at least
    :data:`ROW_MAP_MIN_ROWS` rows of at least two vectors, vector-safe arithmetic of one float
    dtype, each load contiguous or fixed along the last axis."""
    if len(kernel.shape) < 2 or not d.wide_load or not d.vector_arithmetic or not order:
        return 0
    dtype = kernel.body[order[0]].dtype
    width = 32 // dtype.itemsize
    if kernel.shape[-1] < 2 * width or kernel.size // kernel.shape[-1] < ROW_MAP_MIN_ROWS:
        return 0
    return width if _vector_ops_ok(d, kernel.body, order, dtype, _along_last) else 0


def _render_row_map(
    kernel: MapKernel, d: Dialect, ints: _Ints, body: _Body, order: list[int], width: int
) -> Rendered:
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    dtype = kernel.body[order[0]].dtype
    a_type = ctype(d, dtype)
    vtype, utype = f"{a_type}{width}", f"u{a_type}{width}"
    row = kernel.shape[-1]
    outer_axes = [f"o{k}" for k in range(len(kernel.shape) - 1)]
    outer = _decompose(ints, "o", outer_axes, kernel.shape[:-1], itype, "    ")
    bases: dict[int, str] = {}
    for i in order:
        expr = kernel.body[i]
        if isinstance(expr, Load):
            bases[i] = f"base{i}"
            part = Affine(expr.index.offset, expr.index.strides[:-1])
            outer.append(f"    const {itype} base{i} = {ints.affine(part, outer_axes)};")
    outer.append(f"    const {itype} at = o * {ints(row)};")

    def fixed(i: int) -> bool:
        expr = kernel.body[i]
        return isinstance(expr, Load) and expr.index.strides[-1] == 0

    def vector_leaf(i: int, expr: Load | Index) -> str:
        assert isinstance(expr, Load)
        if fixed(i):
            return body.load(expr, bases[i])
        return Template(d.wide_load).substitute(utype=utype, ptr=f"in{expr.buffer} + base{i} + j")

    def scalar_leaf(i: int, expr: Load | Index) -> str:
        return body.load(expr, bases[i] if fixed(i) else f"{bases[i]} + j")

    pad = "      "
    names: dict[int, str] = {}
    vector = body.statements(order, names, vector_leaf, pad, "_v",
                             type_of=lambda i: a_type if fixed(i) else vtype)
    vector += [pad + Template(d.wide_store).substitute(
        utype=utype, ptr=f"out{k} + at + j", value=body.operand(o, names))
        for k, o in enumerate(kernel.outputs)]
    names = {}
    scalar = body.statements(order, names, scalar_leaf, pad)
    scalar += [pad + body.store(k, body.operand(o, names), "at + j")
               for k, o in enumerate(kernel.outputs)]
    text = ROW_MAP_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": _plain_signature(kernel, d, ints, itype),
        "n_rows": ints(kernel.size // row),
        "row": ints(row),
        "w": str(width),
        "outer": "\n".join(outer),
        "vector": "\n".join(vector),
        "scalar": "\n".join(scalar),
    })
    typedef = _wide_typedef(d, a_type, width, dtype.itemsize)
    source = _source(d, body.helpers, _uses_fp64(kernel, d), typedef + "\n\n" + text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, row)


def _pointer(name: str, offset: str) -> str:
    """``name`` advanced by ``offset`` elements."""
    return name if offset == "0" else f"({name} + {offset})"


_VECTOR_OPS: Final = frozenset({BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV})


def _vector_safe(kernel: MapKernel, d: Dialect, order: list[int]) -> bool:
    """Whether the body is float arithmetic C applies to vectors as it does to scalars."""
    return d.vector_arithmetic and _vector_ops_ok(
        d, kernel.body, order, None, lambda load: load.index.strides[0] in (0, 1))


def _vector_ops_ok(
    d: Dialect, body: Sequence[Expr], order: Iterable[int], dtype: DType | None,
    load_ok: Callable[[Load], bool], reduced_ok: bool = False,
) -> bool:
    """Whether the values at ``order`` compute on vectors as C computes them on scalars: all
    floats of ``dtype`` (any float dtype when None), no index, select or cast (nor a reduced
    value unless ``reduced_ok``), only + - * / and negation or lane-wise math functions, and
    every load one that ``load_ok`` accepts."""
    for i in order:
        expr = body[i]
        if expr.dtype.kind != "f" or (dtype is not None and expr.dtype != dtype):
            return False
        if isinstance(expr, Index | Select | Cast) or (isinstance(expr, Reduced)
                                                       and not reduced_ok):
            return False
        if isinstance(expr, Load) and not load_ok(expr):
            return False
        if isinstance(expr, Binary) and expr.op not in _VECTOR_OPS:
            return False
        if isinstance(expr, Unary) and not _vector_unary(d, expr):
            return False
    return True


def _along_last(load: Load) -> bool:
    """A load (not clamped) contiguous or fixed along the last axis."""
    return not load.clamp and load.index.strides[-1] in (0, 1)


def _wide_typedef(d: Dialect, scalar: str, width: int, align: int) -> str:
    """The declaration of ``u<scalar><width>``, a vector aligned as its element (the type wide
    loads and stores go through: see ``Dialect.wide_type``)."""
    return Template(d.wide_type).substitute(scalar=scalar, utype=f"u{scalar}{width}", w=width,
                                            align=align)


def _vector_unary(d: Dialect, expr: Unary) -> bool:
    """Whether ``expr`` (a float) is negation or a math function the dialect applies to a
    vector as it does to a scalar, lane by lane (PoCL's vector exp computes 8 lanes in about
    the time of one scalar; a lane may differ from the scalar function's result by an ulp)."""
    if expr.op is UnaryOp.NEG:
        return True
    name = _MATH_UNARY.get(expr.op)
    return name is not None and not (name in d.promote_float32 and expr.dtype == FLOAT32)


def _vector_arithmetic(
    kernel: MapKernel, d: Dialect, body: _Body, ints: _Ints, order: list[int]
) -> list[str]:
    """The main loop of a vectorised map whose body computes on vectors directly."""
    pad = "    "
    lines: list[str] = []

    def leaf(i: int, expr: Load | Index) -> str:
        assert isinstance(expr, Load)
        if expr.index.strides[0] == 0:
            return body.load(expr, ints(expr.index.offset))
        ptr = _pointer(f"in{expr.buffer}", ints(expr.index.offset))
        vtype = d.vector_types[expr.dtype]
        return Template(d.vector_load).substitute(vtype=vtype, ptr=ptr, i="q")

    def type_of(i: int) -> str:
        expr = kernel.body[i]
        scalar = isinstance(expr, Load) and expr.index.strides[0] == 0
        return ctype(d, expr.dtype) if scalar else d.vector_types[expr.dtype]

    names: dict[int, str] = {}
    lines += body.statements(order, names, leaf, pad, type_of=type_of)
    for k, o in enumerate(kernel.outputs):
        vtype = d.vector_types[kernel.body[o].dtype]
        store = Template(d.vector_store).substitute(
            vtype=vtype, ptr=f"out{k}", i="q", values=body.operand(o, names)
        )
        lines.append(f"{pad}{store}")
    return lines


def _vector_body(
    kernel: MapKernel, d: Dialect, body: _Body, ints: _Ints, order: list[int]
) -> list[str]:
    """The main loop of a vectorised map: vector loads, four lanes of statements, vector stores."""
    pad = "    "
    itype = ctype(d, _index_dtype(kernel))
    lines: list[str] = []
    vectors: dict[int, str] = {}
    scalars: dict[int, str] = {}
    for i in order:
        expr = kernel.body[i]
        if not isinstance(expr, Load):
            continue
        stride = expr.index.strides[0]
        if stride == 1:
            ptr = _pointer(f"in{expr.buffer}", ints(expr.index.offset))
            vtype = d.vector_types[expr.dtype]
            load = Template(d.vector_load).substitute(vtype=vtype, ptr=ptr, i="q")
            vectors[i] = f"x{i}"
            lines.append(f"{pad}const {vtype} x{i} = {load};")
        elif stride == 0 and not ints.generic:
            scalars[i] = f"x{i}"
            text = body.load(expr, str(expr.index.offset))
            lines.append(f"{pad}const {ctype(d, expr.dtype)} x{i} = {text};")
    lane_names: list[dict[int, str]] = []
    for lane, field_name in enumerate(d.vector_lanes):
        lines.append(f"{pad}const {itype} e{lane} = q * 4 + {lane};")
        names: dict[int, str] = {}

        def leaf(i: int, expr: Load | Index, lane: int = lane, field_name: str = field_name) -> str:
            if i in vectors:
                text = f"{vectors[i]}.{field_name}"
                return f"({text} != 0)" if expr.dtype == BOOL else text
            if i in scalars:
                return scalars[i]
            return body.load(expr, ints.affine(expr.index, [f"e{lane}"]))

        lines += body.statements(order, names, leaf, pad, f"_{lane}")
        lane_names.append(names)
    for k, o in enumerate(kernel.outputs):
        dtype = kernel.body[o].dtype
        vtype = d.vector_types[dtype]
        parts = [body.operand(o, names) for names in lane_names]
        if dtype == BOOL:
            parts = [f"({storage_type(d, dtype)}){p}" for p in parts]
        store = Template(d.vector_store).substitute(
            vtype=vtype, ptr=f"out{k}", i="q", values=", ".join(parts)
        )
        lines.append(f"{pad}{store}")
    return lines


def _out_bases(
    kernel: ReduceKernel, ints: _Ints, order: Sequence[int], axes: Sequence[str], itype: str,
    suffix: str = "",
) -> tuple[list[str], dict[int, str]]:
    """For each load (or index) among ``order``, a ``const`` holding the part of its index the
    output position (``axes``) fixes, and the names of those constants by body position."""
    n_out = len(kernel.shape)
    lines: list[str] = []
    bases: dict[int, str] = {}
    for i in order:
        expr = kernel.body[i]
        if isinstance(expr, Load | Index):
            part = Affine(expr.index.offset, expr.index.strides[:n_out])
            bases[i] = f"base{i}{suffix}"
            lines.append(f"    const {itype} {bases[i]} = {ints.affine(part, axes)};")
    return lines, bases


def _reduce_epilogue(
    kernel: ReduceKernel, body: _Body, ints: _Ints, out_axes: Sequence[str], pad: str
) -> list[str]:
    """The statements of a reduce kernel's epilogue for output ``o`` (its axes ``out_axes``),
    the reduced value being ``acc``, and its stores."""
    order = sorted(reached(kernel.body, kernel.outputs))

    def leaf(i: int, expr: Load | Index) -> str:
        return body.load(expr, ints.affine(expr.index, out_axes))

    names: dict[int, str] = {}
    lines = body.statements(order, names, leaf, pad)
    return lines + [
        pad + body.store(k, body.operand(o, names), "o") for k, o in enumerate(kernel.outputs)
    ]


def _plain_signature(kernel: MapKernel | ReduceKernel, d: Dialect, ints: _Ints,
                     itype: str) -> str:
    """Inputs, outputs, scalar params and (generic) sizes of a map or reduce kernel."""
    return _signature(
        d, [b.dtype for b in kernel.inputs], kernel.output_dtypes, kernel.params,
        len(ints.values), itype,
    )


def column_like(kernel: ReduceKernel) -> bool:
    """Whether the prologue's loads walk the outputs contiguously and the reduced elements with
    a stride (a column reduction): some load has stride 1 along the last output axis, and none
    along the last reduced axis."""
    n_out = len(kernel.shape)
    if not n_out or not kernel.reduced_shape:
        return False
    loads = [
        e for i in reached(kernel.body, [kernel.prologue])
        if isinstance(e := kernel.body[i], Load)
    ]
    return any(e.index.strides[n_out - 1] == 1 for e in loads) and all(
        e.index.strides[-1] != 1 for e in loads
    )


def _render_reduce(kernel: ReduceKernel, d: Dialect, generic: bool) -> Rendered:
    if kernel.column_lanes and column_like(kernel):
        return _render_column_reduce(kernel, kernel.column_lanes, d, generic)
    if kernel.row_lanes and kernel.reduced_shape:
        return _render_row_reduce(kernel, kernel.row_lanes, d, generic)
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    body = _Body(d, kernel, ints)
    n_out = len(kernel.shape)
    out_axes = [f"o{k}" for k in range(n_out)]
    red_axes = [f"r{k}" for k in range(len(kernel.reduced_shape))]
    n_out_text, n_red_text = ints(kernel.size), ints(kernel.reduced_size)
    pro_order = sorted(reached(kernel.body, [kernel.prologue]))
    out_lines = _decompose(ints, "o", out_axes, kernel.shape, itype, "    ")
    base_lines, bases = _out_bases(kernel, ints, pro_order, out_axes, itype)
    out_lines += base_lines
    pro_lines = _decompose(ints, "r", red_axes, kernel.reduced_shape, itype, "      ")

    def pro_leaf(i: int, expr: Load | Index) -> str:
        part = Affine(0, expr.index.strides[n_out:])
        return body.load(expr, ints.affine(part, red_axes, base=bases[i]))

    pro_names: dict[int, str] = {}
    pro_lines += body.statements(pro_order, pro_names, pro_leaf, "      ")
    acc_dtype = kernel.identity.dtype
    combine_acc = binary_code(d, kernel.combine, "acc", body.operand(kernel.prologue, pro_names),
                              acc_dtype)
    combine_tree = binary_code(d, kernel.combine, "scratch[lid]", "scratch[lid + s]", acc_dtype)
    body.helpers |= combine_acc.helpers | combine_tree.helpers

    epi_lines = _reduce_epilogue(kernel, body, ints, out_axes, "      ")
    signature = _plain_signature(kernel, d, ints, itype)
    text = REDUCE_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": signature,
        "A": ctype(d, acc_dtype),
        "SA": storage_type(d, acc_dtype),
        "local_max": str(REDUCE_LOCAL_MAX),
        "local_id": d.local_id[0],
        "local_size": d.local_size,
        "group_id": d.group_id[0],
        "num_groups": d.num_groups,
        "n_out": n_out_text,
        "n_red": n_red_text,
        "out_index": "\n".join(out_lines),
        "identity": literal(d, kernel.identity.value, acc_dtype),
        "prologue": "\n".join(pro_lines),
        "combine_acc": combine_acc.text,
        "combine_tree": combine_tree.text,
        "epilogue": "\n".join(epi_lines),
    })
    source = _source(d, body.helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, 1)


def _render_row_reduce(kernel: ReduceKernel, lanes: int, d: Dialect, generic: bool) -> Rendered:
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    body = _Body(d, kernel, ints)
    n_out = len(kernel.shape)
    out_axes = [f"o{k}" for k in range(n_out)]
    n_out_text, n_red_text = ints(kernel.size), ints(kernel.reduced_size)
    pro_order = sorted(reached(kernel.body, [kernel.prologue]))
    acc_dtype = kernel.identity.dtype
    a_type = ctype(d, acc_dtype)
    identity = literal(d, kernel.identity.value, acc_dtype)
    out_lines = _decompose(ints, "o", out_axes, kernel.shape, itype, "    ")
    base_lines, bases = _out_bases(kernel, ints, pro_order, out_axes, itype)
    out_lines += base_lines
    out_lines += [f"    {a_type} acc{lane} = {identity};" for lane in range(lanes)]

    def lane_lines(lane: int, offset: str, pad: str) -> list[str]:
        """Reduce the element ``r + offset`` into lane ``lane``'s partial result."""
        red_axes = [f"r{k}_{lane}" for k in range(len(kernel.reduced_shape))]
        lines = [f"{pad}const {itype} rr{lane} = r{offset};"]
        lines += _decompose(ints, f"rr{lane}", red_axes, kernel.reduced_shape, itype, pad)

        def leaf(i: int, expr: Load | Index) -> str:
            part = Affine(0, expr.index.strides[n_out:])
            return body.load(expr, ints.affine(part, red_axes, base=bases[i]))

        names: dict[int, str] = {}
        lines += body.statements(pro_order, names, leaf, pad, f"_{lane}")
        combine = binary_code(d, kernel.combine, f"acc{lane}",
                              body.operand(kernel.prologue, names), acc_dtype)
        body.helpers |= combine.helpers
        return [*lines, f"{pad}acc{lane} = {combine.text};"]

    width = 0 if generic else _row_vector_width(kernel, d, pro_order)
    if width:  # one vector of lanes, computed with vector arithmetic
        typedef = _wide_typedef(d, a_type, width, acc_dtype.itemsize)
        vector_lines, vector_combine = _row_vector_lines(kernel, d, body, ints, bases, pro_order,
                                                         width)
        text = ROW_REDUCE_TEMPLATE.substitute(_common(d, itype) | {
            "name": kernel.name,
            "args": _plain_signature(kernel, d, ints, itype),
            "lanes": str(width),
            "n_out": n_out_text,
            "n_red": n_red_text,
            "out_index": "\n".join([*out_lines[:-lanes],
                                    f"    {a_type}{width} accv = ({a_type}{width})({identity});",
                                    f"    {a_type} acc0 = {identity};"]),
            "lane_prologue": "\n".join(vector_lines),
            "tail_prologue": "\n".join(lane_lines(0, "", "      ")),
            "combine_lanes": "\n".join(vector_combine),
            "epilogue": "\n".join(_reduce_epilogue(kernel, body, ints, out_axes, "    ")),
        })
        source = _source(d, body.helpers, _uses_fp64(kernel, d), typedef + "\n\n" + text)
        return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, lanes)
    lane_prologue = [x for lane in range(lanes) for x in lane_lines(lane, f" + {lane}", "      ")]
    tail_prologue = lane_lines(0, "", "      ")
    partial = [f"acc{lane}" for lane in range(lanes)]
    combine_lines: list[str] = []
    while len(partial) > 1:  # pairwise, as a tree
        pairs = []
        for a, b in zip(partial[::2], partial[1::2], strict=False):
            code = binary_code(d, kernel.combine, a, b, acc_dtype)
            body.helpers |= code.helpers
            combine_lines.append(f"    {a} = {code.text};")
            pairs.append(a)
        partial = pairs + ([partial[-1]] if len(partial) % 2 else [])
    combine_lines.append(f"    const {a_type} acc = {partial[0]};")

    epi_lines = _reduce_epilogue(kernel, body, ints, out_axes, "    ")
    signature = _plain_signature(kernel, d, ints, itype)
    text = ROW_REDUCE_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": signature,
        "lanes": str(lanes),
        "n_out": n_out_text,
        "n_red": n_red_text,
        "out_index": "\n".join(out_lines),
        "lane_prologue": "\n".join(lane_prologue),
        "tail_prologue": "\n".join(tail_prologue),
        "combine_lanes": "\n".join(combine_lines),
        "epilogue": "\n".join(epi_lines),
    })
    source = _source(d, body.helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, lanes)


def _row_vector_width(kernel: ReduceKernel, d: Dialect, order: Sequence[int]) -> int:
    """The vector width a row reduction can compute with (0: none): a float sum or product
    whose prologue is vector-safe arithmetic of one float dtype, each load either fixed along
    the reduction or contiguous along it (in row-major order of the reduced axes)."""
    acc = kernel.identity.dtype
    if (not d.wide_load or not d.vector_arithmetic or acc.kind != "f"
            or kernel.combine not in (BinaryOp.ADD, BinaryOp.MUL)):
        return 0
    n_out = len(kernel.shape)
    contiguous = tuple(math.prod(kernel.reduced_shape[k + 1:])
                       for k in range(len(kernel.reduced_shape)))

    def along_reduction(load: Load) -> bool:
        strides = load.index.strides[n_out:]
        return not load.clamp and (strides == contiguous or not any(strides))

    return 32 // acc.itemsize if _vector_ops_ok(d, kernel.body, order, acc,
                                                along_reduction) else 0


def _row_vector_lines(
    kernel: ReduceKernel, d: Dialect, body: _Body, ints: _Ints, bases: dict[int, str],
    order: Sequence[int], width: int,
) -> tuple[list[str], list[str]]:
    """A vector row reduction's loop body (``width`` elements from ``r`` into ``accv``) and its
    combination of the lanes, then the tail's ``acc0``, into ``acc``."""
    n_out = len(kernel.shape)
    acc = kernel.identity.dtype
    a_type = ctype(d, acc)
    vtype = f"{a_type}{width}"
    load = Template(d.wide_load)

    def fixed(i: int) -> bool:
        expr = kernel.body[i]
        return isinstance(expr, Load) and not any(expr.index.strides[n_out:])

    def leaf(i: int, expr: Load | Index) -> str:
        if fixed(i):
            return body.load(expr, bases[i])
        assert isinstance(expr, Load)
        return load.substitute(utype=f"u{vtype}", ptr=f"in{expr.buffer} + {bases[i]} + r")

    def type_of(i: int) -> str:
        return a_type if fixed(i) else vtype

    names: dict[int, str] = {}
    pad = "      "
    lines = body.statements(order, names, leaf, pad, "_v", type_of=type_of)
    op = "+" if kernel.combine is BinaryOp.ADD else "*"
    lines.append(f"{pad}accv = accv {op} {body.operand(kernel.prologue, names)};")
    combine = _lane_sum(a_type, "lanes", "accv", width, "    ", op)
    combine.append(f"    const {a_type} acc = lanes {op} acc0;")
    return lines, combine


def _render_column_reduce(
    kernel: ReduceKernel, lanes: int, d: Dialect, generic: bool
) -> Rendered:
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    body = _Body(d, kernel, ints)
    n_out = len(kernel.shape)
    red_axes = [f"r{k}" for k in range(len(kernel.reduced_shape))]
    size = ints(kernel.size)
    n_items = ints(-(-kernel.size // lanes))
    n_red = ints(kernel.reduced_size)
    pro_order = sorted(reached(kernel.body, [kernel.prologue]))
    epi_order = sorted(reached(kernel.body, kernel.outputs))
    acc_dtype = kernel.identity.dtype
    a_type = ctype(d, acc_dtype)
    identity = literal(d, kernel.identity.value, acc_dtype)
    out_lines: list[str] = []
    pro_lines = _decompose(ints, "r", red_axes, kernel.reduced_shape, itype, "      ")
    epi_lines: list[str] = []
    for lane in range(lanes):
        o, axes = f"o{lane}", [f"o{k}_{lane}" for k in range(n_out)]
        out_lines += [
            f"    const {itype} e{lane} = q * {lanes} + {lane};",
            f"    const {itype} {o} = e{lane} < {size} ? e{lane} : {size} - 1;",
            *_decompose(ints, o, axes, kernel.shape, itype, "    "),
            f"    {a_type} acc{lane} = {identity};",
        ]
        base_lines, bases = _out_bases(kernel, ints, pro_order, axes, itype, f"_{lane}")
        out_lines += base_lines

        def pro_leaf(i: int, expr: Load | Index, bases: dict[int, str] = bases) -> str:
            part = Affine(0, expr.index.strides[n_out:])
            return body.load(expr, ints.affine(part, red_axes, base=bases[i]))

        pro_names: dict[int, str] = {}
        pro_lines += body.statements(pro_order, pro_names, pro_leaf, "      ", f"_{lane}")
        combine = binary_code(d, kernel.combine, f"acc{lane}",
                              body.operand(kernel.prologue, pro_names), acc_dtype)
        body.helpers |= combine.helpers
        pro_lines.append(f"      acc{lane} = {combine.text};")

        def epi_leaf(i: int, expr: Load | Index, axes: list[str] = axes) -> str:
            return body.load(expr, ints.affine(expr.index, axes))

        body.reduced_name = f"acc{lane}"
        epi_names: dict[int, str] = {}
        lines = body.statements(epi_order, epi_names, epi_leaf, "      ", f"_{lane}")
        lines += [
            "      " + body.store(k, body.operand(x, epi_names), o)
            for k, x in enumerate(kernel.outputs)
        ]
        epi_lines += [f"    if (e{lane} < {size}) {{", *lines, "    }"]
    signature = _plain_signature(kernel, d, ints, itype)
    text = COLUMN_REDUCE_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": signature,
        "lanes": str(lanes),
        "n_items": n_items,
        "n_red": n_red,
        "out_index": "\n".join(out_lines),
        "prologue": "\n".join(pro_lines),
        "epilogue": "\n".join(epi_lines),
    })
    source = _source(d, body.helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, lanes)


class _MatmulEpilogue:
    """The statements storing one matmul result: its epilogue (if any) and its stores."""

    def __init__(self, kernel: MatmulKernel, d: Dialect, ints: _Ints, itype: str) -> None:
        self.kernel, self.d, self.ints, self.itype = kernel, d, ints, itype
        self.m, self.n = ints(kernel.m), ints(kernel.n)
        self.body = _Body(d, kernel, ints)
        self.order = sorted(reached(kernel.body, kernel.outputs))
        self.helpers: set[Helper] = set()

    def direct_axes(self) -> list[str] | None:
        """The names of the result's axes when its shape is (m, n) or (batch, m, n), else None
        (an epilogue over another shape of the same row-major order divides the offset)."""
        kernel = self.kernel
        if kernel.out_shape == (kernel.m, kernel.n) and kernel.batch == 1:
            return ["m", "n"]
        if kernel.out_shape == (kernel.batch, kernel.m, kernel.n):
            return ["b", "m", "n"]
        return None

    def vector_width_ok(self) -> bool:
        """Whether the epilogue can run on a vector of results along n (:meth:`vector_lines`):
        the result's axes are (b,) m, n, its body is vector-safe arithmetic in the accumulator's
        float dtype, and each load is contiguous or fixed along n."""
        kernel = self.kernel
        if not kernel.outputs or self.direct_axes() is None or not self.d.vector_arithmetic:
            return False
        return _vector_ops_ok(self.d, kernel.body, self.order, kernel.acc_dtype, _along_last,
                              reduced_ok=True)

    def vector_lines(self, acc: str, m: str, n: str, width: int, pad: str) -> list[str]:
        """Store the vector ``acc`` of elements (b, ``m``, ``n`` ... ``n`` + ``width`` - 1) through
        the epilogue computed on vectors (see :meth:`vector_width_ok`)."""
        kernel, d = self.kernel, self.d
        a_type = ctype(d, kernel.acc_dtype)
        utype = f"u{a_type}{width}"
        direct = self.direct_axes()
        assert direct is not None
        axes = [{"m": m, "n": n}.get(x, x) for x in direct]

        def fixed(i: int) -> bool:
            expr = kernel.body[i]
            return isinstance(expr, Load) and expr.index.strides[-1] == 0

        def leaf(i: int, expr: Load | Index) -> str:
            assert isinstance(expr, Load)
            at = self.ints.affine(expr.index, axes)
            if fixed(i):
                return self.body.load(expr, at)
            return Template(d.wide_load).substitute(utype=utype, ptr=f"in{expr.buffer} + {at}")

        self.body.reduced_name = acc
        names: dict[int, str] = {}
        at = f"(b * {self.m} + {m}) * {self.n} + {n}"
        out = [f"{pad}{{", f"{pad}  const {self.itype} at = {at};"]
        out += self.body.statements(self.order, names, leaf, pad + "  ", "_v", type_of=lambda i:
                                    a_type if fixed(i) else f"{a_type}{width}")
        out += [pad + "  " + Template(d.wide_store).substitute(
            utype=utype, ptr=f"out{k} + at", value=self.body.operand(o, names))
            for k, o in enumerate(kernel.outputs)]
        self.helpers |= self.body.helpers
        return [*out, f"{pad}}}"]

    def lines(self, acc: str, m: str, n: str, pad: str) -> list[str]:
        """Store the result ``acc`` of element (b, ``m``, ``n``) (names of C values)."""
        kernel = self.kernel
        at = f"(b * {self.m} + {m}) * {self.n} + {n}"
        if not kernel.outputs:
            code = cast_code(self.d, acc, kernel.acc_dtype, kernel.out_dtype)
            self.helpers |= code.helpers
            return [f"{pad}out0[{at}] = {code.text};"]

        axes = [f"x{d}" for d in range(len(kernel.out_shape))]

        def leaf(i: int, expr: Load | Index) -> str:
            return self.body.load(expr, self.ints.affine(expr.index, axes))

        self.body.reduced_name = acc
        names: dict[int, str] = {}
        out = [f"{pad}{{", f"{pad}  const {self.itype} at = {at};"]
        direct = self.direct_axes()
        if direct is None:
            out += _decompose(self.ints, "at", axes, kernel.out_shape, self.itype, pad + "  ")
        else:  # the result's axes are (b,) m, n: no division
            out += [f"{pad}  const {self.itype} {x} = {name};"
                    for x, name in zip(axes, direct, strict=True)]
        out += self.body.statements(self.order, names, leaf, pad + "  ")
        out += [
            f"{pad}  " + self.body.store(k, self.body.operand(o, names), "at")
            for k, o in enumerate(kernel.outputs)
        ]
        self.helpers |= self.body.helpers
        return [*out, f"{pad}}}"]


def _matmul_signature(kernel: MatmulKernel, d: Dialect, n_ints: int, itype: str) -> str:
    """lhs and rhs (in the accumulator's type), the epilogue's inputs, the outputs, params."""
    inputs = [kernel.acc_dtype, kernel.acc_dtype, *(b.dtype for b in kernel.inputs[2:])]
    names = ["lhs", "rhs", *(f"in{k}" for k in range(2, len(kernel.inputs)))]
    return _signature(d, inputs, kernel.output_dtypes, kernel.params, n_ints, itype, names)


def _render_matmul(kernel: MatmulKernel, d: Dialect, generic: bool) -> Rendered:
    if kernel.block is not None and along_k(kernel, kernel.block, d):
        return _render_dot_matmul(kernel, kernel.block, d, generic)
    if kernel.block is not None:
        return _render_blocked_matmul(kernel, kernel.block, d, generic)
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    acc = kernel.acc_dtype
    m, n, k = ints(kernel.m), ints(kernel.n), ints(kernel.k)
    lhs_index = ints.affine(kernel.lhs, ["b", "m", "ka"])
    rhs_index = ints.affine(kernel.rhs, ["b", "kb", "n"])
    product = binary_code(d, BinaryOp.MUL, "lhs_tile[ty][kk]", "rhs_tile[kk][tx]", acc)
    update = binary_code(d, BinaryOp.ADD, "acc", product.text, acc)
    epilogue = _MatmulEpilogue(kernel, d, ints, itype)
    store = epilogue.lines("acc", "m", "n", "    ")
    helpers = product.helpers | update.helpers | epilogue.helpers
    signature = _matmul_signature(kernel, d, len(ints.values), itype)
    text = MATMUL_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": signature,
        "A": ctype(d, acc),
        "tile": str(MATMUL_TILE),
        "local_x": d.local_id[0],
        "local_y": d.local_id[1],
        "group_x": d.group_id[0],
        "group_y": d.group_id[1],
        "group_z": d.group_id[2],
        "m": m,
        "n": n,
        "k": k,
        "zero": literal(d, 0, acc),
        "lhs_index": lhs_index,
        "rhs_index": rhs_index,
        "update": update.text,
        "store": "\n".join(store),
    })
    source = _source(d, helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, 1)


def along_k(kernel: MatmulKernel, block: RegisterBlock, d: Dialect) -> bool:
    """Whether the register block reads both operands in vectors along k: their layout asks for
    it (:func:`reads_along_k`), the dialect has wide loads and the accumulator is a float."""
    return (
        block.width > 1
        and bool(d.wide_load)
        and _kind(kernel.acc_dtype) == "f"
        and reads_along_k(kernel.lhs, kernel.rhs)
    )


def _lane_sum(a_type: str, name: str, x: str, w: int, pad: str, op: str = "+") -> list[str]:
    """Declare ``name``, the sum (or, with ``op``, the product) of ``x``'s ``w`` lanes: halves
    first (a tree)."""
    lines: list[str] = []
    while w > 2:
        w //= 2
        half = f"{name}_{w}"
        lines.append(f"{pad}const {a_type}{w} {half} = {x}.lo {op} {x}.hi;")
        x = half
    total = f"{x}.s0 {op} {x}.s1" if w == 2 else x
    return [*lines, f"{pad}{a_type} {name} = {total};"]


def _render_dot_matmul(
    kernel: MatmulKernel, block: RegisterBlock, d: Dialect, generic: bool
) -> Rendered:
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    acc = kernel.acc_dtype
    a_type = ctype(d, acc)
    w = block.width
    vtype = f"{a_type}{w}"
    utype = f"u{vtype}"  # the same vector, aligned as one element (see Dialect.wide_type)
    load = Template(d.wide_load)
    rows, cols = block.rows, block.cols
    m, n, k = ints(kernel.m), ints(kernel.n), ints(kernel.k)
    zero = literal(d, 0, acc)
    pad = "  "
    clamped = [f"{pad}const {itype} row{r} = m0 + {r} < {m} ? m0 + {r} : {m} - 1;"
               for r in range(rows)]
    clamped += [f"{pad}const {itype} col{c} = n0 + {c} < {n} ? n0 + {c} : {n} - 1;"
                for c in range(cols)]
    init = [f"{pad}{vtype} acc{r}_{c} = ({vtype})({zero});"
            for r in range(rows) for c in range(cols)]
    lhs_at = [ints.affine(kernel.lhs, ["b", f"row{r}", "k"]) for r in range(rows)]
    rhs_at = [ints.affine(kernel.rhs, ["b", "k", f"col{c}"]) for c in range(cols)]
    step = [f"{pad}  const {vtype} a{r} = "
            + load.substitute(utype=utype, ptr=f"lhs + {lhs_at[r]}") + ";" for r in range(rows)]
    for c in range(cols):
        step.append(f"{pad}  {{ const {vtype} bv = "
                    + load.substitute(utype=utype, ptr=f"rhs + {rhs_at[c]}") + ";")
        step += [f"{pad}    acc{r}_{c} = acc{r}_{c} + a{r} * bv;" for r in range(rows)]
        step.append(f"{pad}  }}")
    sums = [line for r in range(rows) for c in range(cols)
            for line in _lane_sum(a_type, f"s{r}_{c}", f"acc{r}_{c}", w, pad)]
    tail = [f"{pad}  s{r}_{c} = s{r}_{c} + lhs[{lhs_at[r]}] * rhs[{rhs_at[c]}];"
            for r in range(rows) for c in range(cols)]
    epilogue = _MatmulEpilogue(kernel, d, ints, itype)
    store: list[str] = []
    for r in range(rows):
        for c in range(cols):
            store += [f"{pad}if (m0 + {r} < {m} && n0 + {c} < {n}) {{",
                      f"{pad}  const {itype} m = m0 + {r};",
                      f"{pad}  const {itype} n = n0 + {c};",
                      *epilogue.lines(f"s{r}_{c}", "m", "n", pad + "  "),
                      f"{pad}}}"]
    signature = _matmul_signature(kernel, d, len(ints.values), itype)
    text = DOT_MATMUL_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": signature,
        "rows": str(rows),
        "cols": str(cols),
        "w": str(w),
        "global_x": d.global_id,
        "group_y": d.group_id[1],
        "group_z": d.group_id[2],
        "m": m,
        "n": n,
        "k": k,
        "contract": d.contract,
        "clamped": "\n".join(clamped),
        "init": "\n".join(init),
        "step": "\n".join(step),
        "sums": "\n".join(sums),
        "tail": "\n".join(tail),
        "store": "\n".join(store),
    })
    text = _wide_typedef(d, a_type, w, acc.itemsize) + "\n\n" + text
    source = _source(d, epilogue.helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, 1)


def blocked_width(kernel: MatmulKernel, block: RegisterBlock, d: Dialect) -> int:
    """The vector width the blocked matmul reads ``rhs`` with: ``block.width`` where the dialect
    has wide loads, the accumulator is a float and ``rhs`` is contiguous along n; else 1."""
    wide = (
        block.width > 1
        and d.wide_load
        and _kind(kernel.acc_dtype) == "f"
        and kernel.rhs.strides[2] == 1
        and block.cols % block.width == 0
    )
    return block.width if wide else 1


def _render_blocked_matmul(
    kernel: MatmulKernel, block: RegisterBlock, d: Dialect, generic: bool
) -> Rendered:
    itype_dtype = _index_dtype(kernel)
    itype = ctype(d, itype_dtype)
    ints = _Ints(generic)
    acc, out_dtype = kernel.acc_dtype, kernel.out_dtype
    a_type = ctype(d, acc)
    w = blocked_width(kernel, block, d)
    vtype = f"{a_type}{w}" if w > 1 else a_type
    utype = f"u{vtype}"  # the same vector, aligned as one element (see Dialect.wide_type)
    rows, cols = block.rows, block.cols
    m, n, k = ints(kernel.m), ints(kernel.n), ints(kernel.k)
    zero = literal(d, 0, acc)
    helpers: set[Helper] = set()

    def mul_add(total: str, x: str, y: str) -> str:
        if w > 1:  # float vectors: the arithmetic is C's (a scalar operand broadcasts)
            return f"{total} + {x} * {y}"
        product = binary_code(d, BinaryOp.MUL, x, y, acc)
        update = binary_code(d, BinaryOp.ADD, total, product.text, acc)
        helpers.update(product.helpers | update.helpers)
        return update.text

    def result(x: str) -> str:
        code = cast_code(d, x, acc, out_dtype)
        helpers.update(code.helpers)
        return code.text

    def out_at(row: str, col: str) -> str:
        return f"(b * {m} + {row}) * {n} + {col}"

    def rhs_at(col: str) -> str:
        return f"rhs[{ints.affine(kernel.rhs, ['b', 'k', col])}]"

    pad = "      "
    groups = [(c, f"n0 + {c * w}") for c in range(cols // w)]
    init = [f"{pad}{vtype} acc{r}_{c} = ({vtype})({zero});" for r in range(rows)
            for c, _ in groups]
    step: list[str] = []
    if w > 1:
        base = ints.affine(Affine(kernel.rhs.offset, kernel.rhs.strides[:2]), ["b", "k"])
        load = Template(d.wide_load)
        step += [
            f"{pad}const {vtype} b{c} = "
            + load.substitute(utype=utype, ptr=f"rhs + {base} + {col}") + ";"
            for c, col in groups
        ]
    else:
        step += [f"{pad}const {a_type} b{c} = {rhs_at(f'({col})')};" for c, col in groups]
    for r in range(rows):
        a_index = ints.affine(kernel.lhs, ["b", f"(m0 + {r})", "k"])
        step.append(f"{pad}const {a_type} a{r} = lhs[{a_index}];")
        step += [f"{pad}acc{r}_{c} = {mul_add(f'acc{r}_{c}', f'a{r}', f'b{c}')};"
                 for c, _ in groups]
    epilogue = _MatmulEpilogue(kernel, d, ints, itype)
    store: list[str] = []
    if kernel.outputs and w > 1 and epilogue.vector_width_ok():  # vectors straight from the
        # registers through the epilogue
        for r in range(rows):
            for c, col in groups:
                store += epilogue.vector_lines(f"acc{r}_{c}", f"(m0 + {r})", f"({col})", w,
                                               pad[:-2])
    elif kernel.outputs:  # the block through a private tile, then the epilogue element by element
        # (an array of the block's vectors, so that each is stored whole, read as elements)
        store.append(f"{pad[:-2]}{vtype} block[{rows * cols // w}];")
        store += [f"{pad[:-2]}block[{(r * cols) // w + c}] = acc{r}_{c};"
                  for r in range(rows) for c, _ in groups]
        store.append(f"{pad[:-2]}const {a_type}* tile = (const {a_type}*)block;")
        store += [  # (loops the compiler can vectorise along n)
            f"{pad[:-2]}for (int r = 0; r < {rows}; ++r) {{",
            f"{pad}for (int j = 0; j < {cols}; ++j) {{",
            f"{pad}  const {itype} m = m0 + r;",
            f"{pad}  const {itype} n = n0 + j;",
            f"{pad}  const {a_type} acc = tile[r * {cols} + j];",
            *epilogue.lines("acc", "m", "n", pad + "  "),
            f"{pad}}}",
            f"{pad[:-2]}}}",
        ]
    else:  # no epilogue: straight from the registers
        for r in range(rows):
            for c, col in groups:
                at = out_at(f"m0 + {r}", col)
                if w > 1 and out_dtype == acc:
                    store.append(pad[:-2] + Template(d.wide_store).substitute(
                        utype=utype, ptr=f"out0 + {at}", value=f"acc{r}_{c}"))
                elif w > 1:
                    store += [f"{pad[:-2]}out0[{at} + {j}] = {result(f'acc{r}_{c}.s{j:x}')};"
                              for j in range(w)]
                else:
                    store.append(f"{pad[:-2]}out0[{at}] = {result(f'acc{r}_{c}')};")
    # the edge: one vector of columns (whole, or a partial one read element by element) at a
    # time, over every row of the block (clamped to the last row; stores guarded)
    edge_init = [f"{pad}{vtype} acc{r} = ({vtype})({zero});" for r in range(rows)]
    last_row = f"(m0 + {{r}} < {m} ? m0 + {{r}} : {m} - 1)"
    if w > 1:
        base = ints.affine(Affine(kernel.rhs.offset, kernel.rhs.strides[:2]), ["b", "k"])
        whole = Template(d.wide_load).substitute(utype=utype, ptr=f"rhs + {base} + v")
        parts = ", ".join(rhs_at(f"(v + {j} < {n} ? v + {j} : {n} - 1)") for j in range(w))
        edge_step = [f"{pad}const {vtype} bv = whole ? {whole} : ({vtype})({parts});"]
    else:
        edge_step = [f"{pad}const {a_type} bv = {rhs_at('v')};"]
    for r in range(rows):
        a_index = ints.affine(kernel.lhs, ["b", last_row.format(r=r), "k"])
        edge_step += [f"{pad}const {a_type} a{r} = lhs[{a_index}];",
                      f"{pad}acc{r} = {mul_add(f'acc{r}', f'a{r}', 'bv')};"]
    edge_store: list[str] = []
    epad = pad + "    "
    for r in range(rows):
        edge_store += [f"{pad}if (m0 + {r} < {m}) {{", f"{pad}  const {itype} m = m0 + {r};"]
        if w > 1:  # the vector's elements through a private copy, up to the last column
            edge_store += [
                f"{pad}  const {vtype} lanes = acc{r};",
                f"{pad}  for (int j = 0; j < {w} && v + j < {n}; ++j) {{",
                f"{epad}const {itype} n = v + j;",
                f"{epad}const {a_type} acc = ((const {a_type}*)&lanes)[j];",
                *epilogue.lines("acc", "m", "n", epad),
                f"{pad}  }}",
            ]
        else:
            edge_store += [f"{pad}  const {itype} n = v;",
                           *epilogue.lines(f"acc{r}", "m", "n", pad + "  ")]
        edge_store.append(f"{pad}}}")
    helpers |= epilogue.helpers
    signature = _matmul_signature(kernel, d, len(ints.values), itype)
    text = BLOCKED_MATMUL_TEMPLATE.substitute(_common(d, itype) | {
        "name": kernel.name,
        "args": signature,
        "A": a_type,
        "rows": str(rows),
        "cols": str(cols),
        "global_x": d.global_id,
        "group_y": d.group_id[1],
        "group_z": d.group_id[2],
        "m": m,
        "n": n,
        "k": k,
        "contract": d.contract,
        "block_init": "\n".join(init),
        "block_step": "\n".join(step),
        "block_store": "\n".join(store),
        "w": str(w),
        "edge_init": "\n".join(edge_init),
        "edge_step": "\n".join(edge_step),
        "edge_store": "\n".join(edge_store),
    })
    if w > 1:
        text = _wide_typedef(d, a_type, w, acc.itemsize) + "\n\n" + text
    source = _source(d, helpers, _uses_fp64(kernel, d), text)
    return Rendered(kernel.name, source, tuple(ints.values), itype_dtype, 1)


# ---------------------------------------------------------------------------------------------
# Launch geometry


@dataclass(frozen=True, slots=True)
class Grid:
    """Global and local work sizes (in work items, per axis)."""

    global_size: tuple[int, ...]
    local_size: tuple[int, ...]

    @property
    def groups(self) -> tuple[int, ...]:
        """Work groups per axis."""
        return tuple(g // max(loc, 1) for g, loc in zip(self.global_size, self.local_size,
                                                        strict=True))


def launch_grid(
    kernel: Kernel, rendered: Rendered, map_local: int, reduce_local: int, max_groups: int
) -> Grid:
    """How to launch ``kernel``: grid-stride maps and reduces are capped at ``max_groups``.

    Maps use ``map_local`` items per group; reduces ``reduce_local`` (a power of two up to
    ``REDUCE_LOCAL_MAX``), fewer for short reductions, but never fewer than 16.
    """
    if isinstance(kernel, MapKernel):
        items = -(-kernel.size // rendered.vector_width)
        groups = max(1, min(-(-items // map_local), max_groups))
        return Grid((groups * map_local,), (map_local,))
    if isinstance(kernel, ReduceKernel) and kernel.reduced_shape and kernel.row_lanes and not (
        kernel.column_lanes and column_like(kernel)
    ):
        items = max(1, kernel.size)
        local = min(COLUMN_LOCAL, items)
        groups = max(1, min(-(-items // local), max_groups))
        return Grid((groups * local,), (local,))
    if isinstance(kernel, ReduceKernel) and kernel.column_lanes and column_like(kernel):
        items = max(1, -(-kernel.size // kernel.column_lanes))
        local = min(COLUMN_LOCAL, items)
        groups = max(1, min(-(-items // local), max_groups))
        return Grid((groups * local,), (local,))
    if isinstance(kernel, ReduceKernel):
        short = 1 << max(4, (kernel.reduced_size - 1).bit_length())
        local = min(REDUCE_LOCAL_MAX, reduce_local, short)
        groups = max(1, min(kernel.size, max_groups))
        return Grid((groups * local,), (local,))
    if kernel.block is not None:  # row blocks along axis 0, column blocks along axis 1
        items = max(1, -(-kernel.m // kernel.block.rows))
        local = min(BLOCKED_LOCAL, items)
        return Grid(
            (-(-items // local) * local, -(-kernel.n // kernel.block.cols), kernel.batch),
            (local, 1, 1),
        )
    t = MATMUL_TILE
    return Grid(
        (-(-kernel.n // t) * t, -(-kernel.m // t) * t, kernel.batch), (t, t, 1)
    )
