"""Reading jaxprs back from JAX's text form: the inverse of :func:`refjax.interp.core.pp_jaxpr`.

``parse_jaxpr(str(closed), closed.consts)`` rebuilds a :class:`ClosedJaxpr` that prints the same
text and computes the same values. The grammar is the printer's::

    jaxpr  := "{" "lambda" binder* ";" binder* "." "let" eqn* "in" "(" atoms ")" "}"
    binder := name ":" type                          a:f32[3,4]   (``_`` drops the value)
    eqn    := binder* "=" primitive params? atom*    one a line, or separated by ";"
    params := "[" (key "=" value)* "]"               space- or newline-separated
    atom   := name | value ":" type                  b, 2.0:f32[], True:bool[], -inf:f32[]

Param values: ints, floats, ``None``/``True``/``False``, dtype names (``float32`` becomes an
``np.dtype``), other bare words (strings, ``name=sin``), tuples, lists (read as tuples: params are
hashable, and printers that show lists, like JAX's for ``dot_general``, print tuples that way),
records and enums of registered param types (``GatherDimensionNumbers(offset_dims=(0,), ...)``,
``GatherScatterMode.FILL_OR_DROP``), ``np.int64(1)``, and nested jaxprs ``{ lambda ... }``, alone
or as a tuple printed one per line.

What the text does not show is inferred:

- Weak types. A literal is weakly typed iff its dtype is the default one of its kind under the
  current x64 setting (``f32``/``i32``/``c64`` without x64, ``f64``/``i64``/``c128`` with it), as
  a Python scalar would give; a weak literal keeps the printed Python scalar as its value, so it
  prints back the same text. Inputs are strongly typed, constvars take the weak type of their
  const, and an equation's outputs take the weak type its abstract evaluation gives.
- Params a printer hides (JAX hides ``broadcast_in_dim``'s ``shape``, implied by the binder type):
  a primitive registers a filler with :func:`register_hidden_params`.

Types are not checked beyond what is needed to build the jaxpr: run ``typecheck_jaxpr`` for that.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.core import (
    ArrayLike,
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    ParamValue,
    Primitive,
    ShapedArray,
    Var,
    abstract_eval,
    abstract_eval_rules,
    get_aval,
)

__all__ = [
    "JaxprParseError",
    "parse_jaxpr",
    "register_hidden_params",
    "register_open_jaxpr_param",
    "register_param_type",
]


class JaxprParseError(ValueError):
    """Text that is not a jaxpr: says where (line and column) and what was expected."""

    def __init__(self, message: str, text: str, pos: int) -> None:
        self.line = text.count("\n", 0, pos) + 1
        self.column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        source = text.split("\n")[self.line - 1]
        caret = " " * (self.column - 1) + "^"
        super().__init__(
            f"line {self.line}, column {self.column}: {message}\n  {source}\n  {caret}"
        )


# ---------------------------------------------------------------------------------------------
# Registries: param types, jaxpr-valued params that hold open jaxprs, hidden params

ParamType: TypeAlias = type
HiddenParamsFiller: TypeAlias = Callable[[dict[str, ParamValue], Sequence[ShapedArray]], None]

_PARAM_TYPES: dict[str, ParamType] = {}
# As in JAX, scatters hold the combining function as an open jaxpr.
_OPEN_JAXPR_PARAMS: set[tuple[str, str]] = {
    (scatter, "update_jaxpr")
    for scatter in (
        "scatter",
        "scatter-add",
        "scatter-sub",
        "scatter-mul",
        "scatter-min",
        "scatter-max",
    )
}
_HIDDEN_PARAMS: dict[str, HiddenParamsFiller] = {}
# Modules whose NamedTuples and Enums are param types, registered on first use.
_PARAM_TYPE_PACKAGE: Final = "refjax.primitives"


def register_param_type(cls: ParamType) -> ParamType:
    """Let the parser read ``cls``: a NamedTuple or dataclass (``Name(k=v, ...)``) or an Enum."""
    _PARAM_TYPES[cls.__name__] = cls
    return cls


def register_open_jaxpr_param(primitive: str, param: str) -> None:
    """Read ``primitive``'s jaxpr-valued ``param`` as an open ``Jaxpr`` (default: ClosedJaxpr)."""
    _OPEN_JAXPR_PARAMS.add((primitive, param))


def register_hidden_params(primitive: str, fill: HiddenParamsFiller) -> None:
    """``fill(params, out_avals)`` adds the params a printer leaves out of ``primitive``'s eqns."""
    _HIDDEN_PARAMS[primitive] = fill


def _fill_broadcast_in_dim(params: dict[str, ParamValue], outs: Sequence[ShapedArray]) -> None:
    params.setdefault("shape", outs[0].shape)
    params.setdefault("broadcast_dimensions", ())
    params.setdefault("sharding", None)


def _fill_dot_general(params: dict[str, ParamValue], outs: Sequence[ShapedArray]) -> None:
    for key in ("precision", "preferred_element_type", "out_sharding"):
        params.setdefault(key, None)


# JAX's printer leaves these out (its pp rules for the two primitives), and so does refjax's
# (core.display_rules); text with them all in reads too.
register_hidden_params("broadcast_in_dim", _fill_broadcast_in_dim)
register_hidden_params("dot_general", _fill_dot_general)


def _is_param_type(cls: object) -> bool:
    return isinstance(cls, type) and (
        issubclass(cls, enum.Enum)
        or (issubclass(cls, tuple) and hasattr(cls, "_fields"))
        or dataclasses.is_dataclass(cls)
    )


@functools.cache
def _discover_param_types() -> None:
    """Register the NamedTuples, dataclasses and Enums defined in every primitive family."""
    package = importlib.import_module(_PARAM_TYPE_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{_PARAM_TYPE_PACKAGE}.{info.name}")
        for value in vars(module).values():
            if _is_param_type(value) and value.__module__ == module.__name__:
                _PARAM_TYPES.setdefault(value.__name__, value)


def _param_type(name: str) -> ParamType | None:
    if name not in _PARAM_TYPES:
        _discover_param_types()
    return _PARAM_TYPES.get(name)


_DTYPE_NAMES: Final[dict[str, DType]] = {
    **{dt.name: dt for dt in dtypes.ALL_DTYPES},
    "float0": dtypes.float0,
}


# ---------------------------------------------------------------------------------------------
# Scalars: literal values and bare words

_INT_RE: Final = re.compile(r"[-+]?\d+")
_FLOAT_RE: Final = re.compile(r"[-+]?(\d+\.\d*(e[-+]?\d+)?|\d+e[-+]?\d+|inf|nan)")
_COMPLEX_RE: Final = re.compile(r"\(?[-+]?[\d.e+\-infaj]*j\)?")
_IDENT_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRIMITIVE_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_WORD_RE: Final = re.compile(r"[^\s\[\](){},;=]+")
_KEYWORD_IN_RE: Final = re.compile(r"in\s*\(")
_SHAPE_RE: Final = re.compile(r"\[\s*(\d+(\s*,\s*\d+)*)?\s*\]")
_LITERAL_RE: Final = re.compile(r"\([^\s:)]*\)|[^\s:;,(){}\[\]]+")

Scalar: TypeAlias = bool | int | float | complex


def _scalar(word: str) -> Scalar | None:
    """A Python scalar written as Python prints it, or None if ``word`` is not one."""
    if word in ("True", "False"):
        return word == "True"
    if _INT_RE.fullmatch(word):
        return int(word)
    if _FLOAT_RE.fullmatch(word):
        return float(word)
    if _COMPLEX_RE.fullmatch(word):
        try:
            return complex(word)
        except ValueError:
            return None
    return None


def _word_value(word: str) -> ParamValue:
    """A bare word as a param: None, a scalar, a dtype, an enum member, or else a string."""
    if word == "None":
        return None
    scalar = _scalar(word)
    if scalar is not None:
        return scalar
    if word in _DTYPE_NAMES:
        return _DTYPE_NAMES[word]
    owner, _, member = word.rpartition(".")
    cls = _param_type(owner) if owner else None
    if cls is not None and issubclass(cls, enum.Enum) and member in cls.__members__:
        return cls[member]
    return word


def _default_dtypes() -> set[DType]:
    """The dtypes a Python bool/int/float/complex scalar gets now: weak literals have these."""
    return {
        dtypes.canonicalize_dtype(dtypes.int64),
        dtypes.canonicalize_dtype(dtypes.float64),
        dtypes.canonicalize_dtype(dtypes.complex128),
    }


def _literal_value(value: Scalar, dtype: DType) -> Scalar | None:
    """``value`` as the Python scalar kind of ``dtype``, or None if it does not fit that kind."""
    if dtype == dtypes.bool_:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if dtypes.is_integer(dtype):
        return value if isinstance(value, int) else None
    if dtype.kind == "f":
        return float(value) if isinstance(value, (int, float)) else None
    return complex(value)


# ---------------------------------------------------------------------------------------------
# The parser: a cursor over the text, one method per grammar rule

Scope: TypeAlias = dict[str, Var]


@dataclass(frozen=True, slots=True)
class _Binder:
    """A binder as written: ``name:type`` at position ``pos`` of the text."""

    name: str
    aval: ShapedArray
    pos: int


class _Parser:
    """A cursor over the text; one method per grammar rule."""

    __slots__ = ("text", "pos", "primitives", "shared", "pending")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.primitives = {prim.name: prim for prim in abstract_eval_rules}
        self.shared: dict[str, Jaxpr] = {}  # ``let name = {...} in`` bodies, by name
        # where the bodies not read yet start: a body may name one printed after it
        self.pending: dict[str, int] = {}

    def shared_body(self, name: str) -> Jaxpr | None:
        """The ``let`` body called ``name`` (read now if it was not yet), or None."""
        if name in self.shared:
            return self.shared[name]
        if name not in self.pending:
            return None
        saved, self.pos = self.pos, self.pending.pop(name)
        self.shared[name] = self.jaxpr(None)
        self.pos = saved
        return self.shared[name]

    def skip_braces(self) -> None:
        """Past the balanced ``{...}`` at the cursor (a body read later)."""
        depth = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    return
        raise self.error("unbalanced '{' in a let body")

    # -- the cursor ------------------------------------------------------------------------
    def error(self, message: str, pos: int | None = None) -> JaxprParseError:
        return JaxprParseError(message, self.text, self.pos if pos is None else pos)

    def skip(self, newlines: bool = True) -> None:
        chars = " \t\r\n" if newlines else " \t\r"
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, token: str, what: str | None = None) -> None:
        self.skip()
        if not self.at(token):
            raise self.error(f"expected {what or repr(token)}, found {self._found()}")
        self.pos += len(token)

    def _found(self) -> str:
        if self.pos >= len(self.text):
            return "end of text"
        match = _WORD_RE.match(self.text, self.pos)
        return repr(match.group() if match else self.text[self.pos])

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None or not found.group():
            raise self.error(f"expected {what}, found {self._found()}")
        self.pos = found.end()
        return found.group()

    def at_keyword_in(self) -> bool:
        """At ``in (``: the end of the equations (a variable may itself be called ``in``)."""
        return _KEYWORD_IN_RE.match(self.text, self.pos) is not None

    # -- jaxprs ----------------------------------------------------------------------------
    def jaxpr(self, consts: Sequence[ArrayLike] | None) -> Jaxpr:
        """``{ lambda consts ; args . let eqns in (outs) }`` with a scope of its own."""
        scope: Scope = {}
        self.expect("{")
        self.expect("lambda", "'lambda'")
        const_binders = self.binders(";")
        const_avals = self.const_avals(const_binders, consts)
        constvars = [
            self.bind(scope, b, aval) for b, aval in zip(const_binders, const_avals, strict=True)
        ]
        self.expect(";")
        invars = [self.bind(scope, b, b.aval) for b in self.binders(".")]
        self.expect(".")
        self.expect("let", "'let'")
        eqns = self.eqns(scope)
        self.expect("in", "'in'")
        outvars = self.out_atoms(scope)
        self.expect("}", "'}' closing the jaxpr")
        return Jaxpr(tuple(constvars), tuple(invars), tuple(outvars), tuple(eqns))

    def binders(self, end: str) -> list[_Binder]:
        """``a:f32[3] b:i32[]`` up to ``end``."""
        out: list[_Binder] = []
        self.skip()
        while not self.at(end):
            pos = self.pos
            name = self.match(_IDENT_RE, "a variable binder like 'a:f32[3]'")
            if not self.at(":"):
                raise self.error(f"expected ':' and a type after binder {name!r}")
            self.pos += 1
            out.append(_Binder(name, self.aval(), pos))
            self.skip()
        return out

    def bind(self, scope: Scope, binder: _Binder, aval: ShapedArray) -> Var:
        """A new variable named by ``binder`` (``_`` names none) of type ``aval``."""
        var = Var(aval)
        if binder.name == "_":  # unnamed; a later ``_`` atom (a body's result) means it
            scope["_"] = var
            return var
        if binder.name in scope:
            raise self.error(f"variable {binder.name!r} is bound twice", binder.pos)
        scope[binder.name] = var
        return var

    def aval(self) -> ShapedArray:
        """A type ``f32[3,4]``; weak types are not printed, so it is strong."""
        start = self.pos
        name = self.match(_IDENT_RE, "a dtype like 'f32'")
        try:
            dtype = dtypes.from_short_name(name)
        except ValueError:
            msg = f"unknown dtype {name!r} (expected e.g. f32, i32, bool)"
            raise self.error(msg, start) from None
        shape = self.match(_SHAPE_RE, f"a shape like [3,4] or [] after dtype {name!r}")
        dims = shape.strip("[] ").split(",")
        return ShapedArray(tuple(int(d) for d in dims if d.strip()), dtype)

    def const_avals(
        self, binders: Sequence[_Binder], consts: Sequence[ArrayLike] | None
    ) -> list[ShapedArray]:
        """Constvars' avals are their consts' (weak types included); the consts must fit."""
        if consts is None:
            if binders:
                msg = "a nested jaxpr with constvars: the text carries no const values"
                raise self.error(msg, binders[0].pos)
            return []
        if len(consts) != len(binders):
            raise self.error(f"the jaxpr has {len(binders)} constvars but {len(consts)} consts")
        avals = [get_aval(const) for const in consts]
        for binder, aval in zip(binders, avals, strict=True):
            if (aval.shape, aval.dtype) != (binder.aval.shape, binder.aval.dtype):
                declared = f"{binder.name}:{binder.aval.str_short(short_dtypes=True)}"
                given = aval.str_short(short_dtypes=True)
                raise self.error(f"const for {declared} has type {given}", binder.pos)
        return avals

    def eqns(self, scope: Scope) -> list[JaxprEqn]:
        out: list[JaxprEqn] = []
        while True:
            self.skip()
            if self.at_keyword_in() or not self.peek():
                return out
            out.append(self.eqn(scope))
            self.skip(newlines=False)
            if self.at(";"):
                self.pos += 1
            elif self.peek() not in ("\n", "") and not self.at_keyword_in():
                found = self._found()
                raise self.error(f"expected ';', a new line or 'in' after an equation, not {found}")

    def eqn(self, scope: Scope) -> JaxprEqn:
        """``b:f32[] c:f32[] = prim[params] a 1.0:f32[]`` (or ``prim a`` with no outputs)."""
        first = _IDENT_RE.match(self.text, self.pos)
        if first and not self.text.startswith(":", first.end()):  # no outputs (dce_sink a)
            binders: list[_Binder] = []
        else:
            binders = self.binders("=")
            self.pos += 1
            self.skip()
        prim_pos = self.pos
        name = self.match(_PRIMITIVE_RE, "a primitive name")
        prim = self.primitives.get(name)
        if prim is None:
            raise self.error(f"unknown primitive {name!r}", prim_pos)
        params = self.params(name) if self.at("[") else {}
        atoms = self.eqn_atoms(scope)
        printed = [b.aval for b in binders]
        if name in _HIDDEN_PARAMS:
            _HIDDEN_PARAMS[name](params, printed)
        out_avals = _out_avals(prim, [a.aval for a in atoms], params, printed)
        outvars = tuple(
            self.bind(scope, b, aval) for b, aval in zip(binders, out_avals, strict=True)
        )
        return JaxprEqn(prim, tuple(atoms), outvars, params)

    def eqn_atoms(self, scope: Scope) -> list[Atom]:
        """Operands: on the rest of the line, up to ``;``, ``in (`` or ``}``."""
        atoms: list[Atom] = []
        while True:
            self.skip(newlines=False)
            if self.peek() in ("\n", ";", "}", "") or self.at_keyword_in():
                return atoms
            atoms.append(self.atom(scope))

    def atom(self, scope: Scope) -> Atom:
        start = self.pos
        token = self.match(_LITERAL_RE, "a variable or a literal like 2.0:f32[]")
        if self.at(":"):
            self.pos += 1
            return self.literal(token, start)
        if token not in scope:
            raise self.error(f"unbound variable {token!r}", start)
        return scope[token]

    def literal(self, token: str, start: int) -> Literal:
        aval = self.aval()
        value = _scalar(token)
        fitted = None if value is None else _literal_value(value, aval.dtype)
        if fitted is None or aval.shape:
            text = f"{token}:{aval.str_short(short_dtypes=True)}"
            raise self.error(f"{text} is not a scalar literal", start)
        weak = aval.dtype in _default_dtypes()
        val: ArrayLike = fitted if weak else np.asarray(fitted, dtype=aval.dtype)
        return Literal(val, aval.update(weak_type=weak))

    def out_atoms(self, scope: Scope) -> list[Atom]:
        """``(a,)``, ``(a, b)`` or ``()``."""
        self.expect("(", "'(' starting the outputs")
        atoms: list[Atom] = []
        self.skip()
        while not self.at(")"):
            atoms.append(self.atom(scope))
            self.skip()
            if self.at(","):
                self.pos += 1
                self.skip()
            elif not self.at(")"):
                raise self.error(f"expected ',' or ')' in the outputs, found {self._found()}")
        self.pos += 1
        return atoms

    # -- params ----------------------------------------------------------------------------
    def params(self, prim: str) -> dict[str, ParamValue]:
        """``[k=v k=v]``: keys and values separated by spaces or new lines."""
        self.pos += 1
        params: dict[str, ParamValue] = {}
        while True:
            self.skip()
            if self.at("]"):
                self.pos += 1
                return params
            key_pos = self.pos
            key = self.match(_IDENT_RE, "a param name or ']'")
            if key in params:
                raise self.error(f"param {key!r} given twice", key_pos)
            self.expect("=", f"'=' after param name {key!r}")
            self.skip()
            params[key] = self.value((prim, key))

    def value(self, where: tuple[str, str]) -> ParamValue:
        if self.at("{"):
            return self.nested_jaxpr(where)
        if self.at("("):
            return self.paren(where)
        if self.at("["):
            return self.sequence("[", "]", where)
        start = self.pos
        word = self.match(_WORD_RE, "a param value")
        if self.at("("):
            return self.call(word, start, where)
        if where[1] != "name" and (word in self.shared or word in self.pending):  # a body
            # printed once, up front (a call's ``name`` param is the word itself)
            return self.shared_jaxpr(word, where)
        return _word_value(word)

    def shared_jaxpr(self, name: str, where: tuple[str, str]) -> Jaxpr | ClosedJaxpr:
        body = self.shared_body(name)
        assert body is not None
        return body if where in _OPEN_JAXPR_PARAMS else ClosedJaxpr(body, ())

    def nested_jaxpr(self, where: tuple[str, str]) -> Jaxpr | ClosedJaxpr:
        jaxpr = self.jaxpr(None)
        return jaxpr if where in _OPEN_JAXPR_PARAMS else ClosedJaxpr(jaxpr, ())

    def paren(self, where: tuple[str, str]) -> ParamValue:
        """A tuple, a parenthesised value such as ``(1+2j)``, or jaxprs one per line."""
        self.pos += 1
        self.skip()
        if self.at(")"):
            self.pos += 1
            return ()
        first = self.value(where)
        self.skip()
        if isinstance(first, (Jaxpr, ClosedJaxpr)) and not self.at(","):
            jaxprs = [first]
            while not self.at(")"):
                if self.at("{"):
                    jaxprs.append(self.nested_jaxpr(where))
                else:  # the name of a jaxpr printed up front
                    start = self.pos
                    word = _WORD_RE.match(self.text, self.pos)
                    if word is None or self.shared_body(word.group(0)) is None:
                        self.pos = start
                        raise self.error(f"expected a jaxpr or ')', found {self._found()}")
                    self.pos = word.end()
                    jaxprs.append(self.shared_jaxpr(word.group(0), where))
                self.skip()
            self.pos += 1
            return tuple(jaxprs)
        if self.at(")"):
            self.pos += 1
            return first
        rest = self.items(")", where)
        return (first, *rest)

    def sequence(self, open_: str, close: str, where: tuple[str, str]) -> tuple[ParamValue, ...]:
        """``[a, b]`` (read as a tuple) after ``open_``."""
        self.pos += len(open_)
        self.skip()
        if self.at(close):
            self.pos += len(close)
            return ()
        first = self.value(where)
        self.skip()
        return (first, *self.items(close, where))

    def items(self, close: str, where: tuple[str, str]) -> list[ParamValue]:
        """The items after a first one: ``, b, c`` (trailing comma allowed) then ``close``."""
        out: list[ParamValue] = []
        while True:
            self.skip()
            if self.at(close):
                self.pos += len(close)
                return out
            self.expect(",", f"',' or {close!r}")
            self.skip()
            if self.at(close):
                continue
            out.append(self.value(where))

    def call(self, word: str, start: int, where: tuple[str, str]) -> ParamValue:
        """``Record(k=v, ...)``, ``np.int64(1)`` or ``frozenset({...})``."""
        if word == "frozenset":
            return self.frozenset_(where)
        if word.startswith("np.") and word[3:] in _DTYPE_NAMES:
            self.pos += 1
            self.skip()
            arg = self.value(where)
            self.expect(")")
            return _DTYPE_NAMES[word[3:]].type(arg)
        cls = _param_type(word)
        if cls is None or issubclass(cls, enum.Enum):
            raise self.error(
                f"unknown param type {word!r}: register it with register_param_type", start
            )
        self.pos += 1
        fields: dict[str, ParamValue] = {}
        self.skip()
        while not self.at(")"):
            key = self.match(_IDENT_RE, f"a field of {word}")
            self.expect("=", f"'=' after field {key!r}")
            self.skip()
            fields[key] = self.value(where)
            self.skip()
            if self.at(","):
                self.pos += 1
                self.skip()
        self.pos += 1
        try:
            return cls(**fields)
        except TypeError as err:
            raise self.error(f"cannot build {word}: {err}", start) from None

    def frozenset_(self, where: tuple[str, str]) -> frozenset[ParamValue]:
        self.pos += 1
        self.skip()
        if self.at(")"):
            self.pos += 1
            return frozenset()
        items = self.sequence("{", "}", where)
        self.expect(")")
        return frozenset(items)


def _out_avals(
    prim: Primitive,
    in_avals: Sequence[ShapedArray],
    params: dict[str, ParamValue],
    printed: Sequence[ShapedArray],
) -> list[ShapedArray]:
    """The printed output types, with the weak types abstract evaluation gives when it agrees."""
    try:
        inferred = abstract_eval(prim, in_avals, params)
    except (TypeError, ValueError, NotImplementedError):
        return list(printed)  # ill-typed: typecheck_jaxpr reports it
    if len(inferred) != len(printed):
        return list(printed)
    return [
        inf if (inf.shape, inf.dtype) == (out.shape, out.dtype) else out
        for inf, out in zip(inferred, printed, strict=True)
    ]


def parse_jaxpr(text: str, consts: Sequence[ArrayLike] = ()) -> ClosedJaxpr:
    """The ClosedJaxpr that ``text`` (JAX's jaxpr text form) describes, closed over ``consts``."""
    parser = _Parser(text)
    parser.skip()
    while parser.text.startswith("let ", parser.pos):  # ``let name = {...} in``, as JAX 0.10
        parser.pos += len("let ")
        parser.skip()
        name = parser.match(_WORD_RE, "a name for the shared jaxpr")
        parser.skip()
        parser.expect("=")
        parser.skip()
        parser.pending[name] = parser.pos  # read when first named (bodies name later ones)
        parser.skip_braces()
        parser.skip()
        parser.expect("in", "'in'")
        parser.skip()
    for name in list(parser.pending):
        parser.shared_body(name)
    jaxpr = parser.jaxpr(tuple(consts))
    parser.skip()
    if parser.pos != len(text):
        raise parser.error(f"unexpected text after the jaxpr: {parser._found()}")
    return ClosedJaxpr(jaxpr, tuple(consts))
