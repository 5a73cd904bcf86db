"""A reader for jaxprs in JAX's text form, into plain records any adapter can interpret.

No refjax and no JAX: the result names primitives by string and keeps params as the neutral
values of ``spec.format`` (``DType``, ``EnumMember``, ``Record``, ``JaxprParam`` and tuples). The
grammar (JAX's printer, as in ``jax.make_jaxpr(f)(x)``)::

    jaxpr  := "{" "lambda" binder* ";" binder* "." "let" eqn* "in" "(" atoms ")" "}"
    binder := name ":" type                    a:f32[3,4]   (``_`` drops the value)
    eqn    := binder* "=" primitive params? atom*
    params := "[" (key "=" value)* "]"
    atom   := name | value ":" type            b, 2.0:f32[], True:bool[], -inf:f32[]

A literal is weakly typed iff its dtype is the default of its kind (``f32``/``i32``/``c64`` without
x64, ``f64``/``i64``/``c128`` with it): interpreters decide that, knowing the x64 setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from spec.format import DType, EnumMember, JaxprParam, Param, Record

SHORT_DTYPES: Final[dict[str, str]] = {
    "bool": "bool",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
    "f16": "float16",
    "bf16": "bfloat16",
    "f32": "float32",
    "f64": "float64",
    "c64": "complex64",
    "c128": "complex128",
    "float0": "float0",
}
DTYPE_WORDS: Final = frozenset(SHORT_DTYPES.values())

_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRIMITIVE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_TYPE: Final = re.compile(r"([a-z0-9]+)\[([0-9,\s]*)\]")
_WORD: Final = re.compile(r"[^\s\[\](){},;=]+")
_LITERAL: Final = re.compile(r"\([^\s:)]*\)|[^\s:;,(){}\[\]]+")
_IN: Final = re.compile(r"in\s*\(")


@dataclass(frozen=True)
class Type:
    """An array type: dtype name and shape."""

    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Var:
    """A variable: its name in its jaxpr (``_`` for a dropped output) and type."""

    name: str
    type: Type


@dataclass(frozen=True)
class Lit:
    """A scalar literal: its Python value and type."""

    value: bool | int | float | complex
    type: Type


Atom = Var | Lit


@dataclass(frozen=True)
class Eqn:
    """``outs = primitive[params] ins``."""

    outs: tuple[Var, ...]
    primitive: str
    params: tuple[tuple[str, Param], ...]
    ins: tuple[Atom, ...]

    def param(self, key: str) -> Param:
        """The value of param ``key`` (KeyError if absent)."""
        for k, v in self.params:
            if k == key:
                return v
        raise KeyError(f"{self.primitive} has no param {key!r}")


@dataclass(frozen=True)
class Jaxpr:
    """A jaxpr read from text. Variable names are local to it (nested jaxprs have their own)."""

    constvars: tuple[Var, ...]
    invars: tuple[Var, ...]
    eqns: tuple[Eqn, ...]
    outs: tuple[Atom, ...]


class JaxprTextError(ValueError):
    """Text that is not a jaxpr: says where."""


def read_jaxpr(text: str) -> Jaxpr:
    """The jaxpr that ``text`` (JAX's printed form) describes."""
    reader = _Reader(text)
    jaxpr = reader.jaxpr()
    reader.skip()
    if reader.pos != len(text):
        raise reader.error("text after the jaxpr")
    return jaxpr


def jaxpr_param(value: Param) -> Jaxpr:
    """A jaxpr-valued param, read."""
    if not isinstance(value, JaxprParam):
        raise TypeError(f"expected a jaxpr param, got {value!r}")
    return read_jaxpr(value.text)


def primitives_in(jaxpr: Jaxpr) -> set[str]:
    """The names of every primitive in ``jaxpr``, nested jaxprs included."""
    names: set[str] = set()
    for eqn in jaxpr.eqns:
        names.add(eqn.primitive)
        for _, value in eqn.params:
            for sub in _jaxprs_in(value):
                names |= primitives_in(read_jaxpr(sub.text))
    return names


def _jaxprs_in(value: Param) -> list[JaxprParam]:
    if isinstance(value, JaxprParam):
        return [value]
    if isinstance(value, tuple):
        return [j for v in value for j in _jaxprs_in(v)]
    return []


def _scalar(word: str) -> bool | int | float | complex | None:
    if word in ("True", "False"):
        return word == "True"
    if re.fullmatch(r"[-+]?\d+", word):
        return int(word)
    if re.fullmatch(r"[-+]?(\d+\.\d*(e[-+]?\d+)?|\d+e[-+]?\d+|inf|nan)", word):
        return float(word)
    if word.endswith("j)") or word.endswith("j"):
        try:
            return complex(word)
        except ValueError:
            return None
    return None


class _Reader:
    """A cursor over the text, one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> JaxprTextError:
        line = self.text.count("\n", 0, self.pos) + 1
        return JaxprTextError(f"line {line}: {what} at {self.text[self.pos : self.pos + 30]!r}")

    def skip(self, newlines: bool = True) -> None:
        chars = " \t\r\n" if newlines else " \t\r"
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def expect(self, token: str) -> None:
        self.skip()
        if not self.at(token):
            raise self.error(f"expected {token!r}")
        self.pos += len(token)

    def match(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        found = pattern.match(self.text, self.pos)
        if found is None or not found.group():
            raise self.error(f"expected {what}")
        self.pos = found.end()
        return found

    # -- jaxprs ------------------------------------------------------------------------------
    def jaxpr(self) -> Jaxpr:
        self.expect("{")
        self.expect("lambda")
        constvars = self.binders(";")
        self.expect(";")
        invars = self.binders(".")
        self.expect(".")
        self.expect("let")
        eqns = []
        while True:
            self.skip()
            if _IN.match(self.text, self.pos):
                break
            eqns.append(self.eqn())
            self.skip(newlines=False)
            if self.at(";"):
                self.pos += 1
        self.expect("in")
        outs = self.out_atoms()
        self.expect("}")
        return Jaxpr(tuple(constvars), tuple(invars), tuple(eqns), tuple(outs))

    def binders(self, end: str) -> list[Var]:
        out = []
        self.skip()
        while not self.at(end):
            name = self.match(_IDENT, "a binder").group()
            self.expect(":")
            out.append(Var(name, self.type()))
            self.skip()
        return out

    def type(self) -> Type:
        found = self.match(_TYPE, "a type like f32[3]")
        short, dims = found.group(1), found.group(2)
        if short not in SHORT_DTYPES:
            raise self.error(f"unknown dtype {short!r}")
        shape = tuple(int(d) for d in dims.split(",") if d.strip())
        return Type(SHORT_DTYPES[short], shape)

    def eqn(self) -> Eqn:
        self.skip()
        first = _IDENT.match(self.text, self.pos)
        if first and not self.text.startswith(":", first.end()):  # no outputs (dce_sink x)
            outs: list[Var] = []
        else:
            outs = self.binders("=")
            self.pos += 1
            self.skip()
        name = self.match(_PRIMITIVE, "a primitive name").group()
        params = self.params() if self.at("[") else ()
        ins = []
        while True:
            self.skip(newlines=False)
            if self.pos >= len(self.text) or self.text[self.pos] in "\n;}":
                break
            if _IN.match(self.text, self.pos):
                break
            ins.append(self.atom())
        return Eqn(tuple(outs), name, params, tuple(ins))

    def atom(self) -> Atom:
        token = self.match(_LITERAL, "a variable or literal").group()
        if not self.at(":"):
            return Var(token, Type("", ()))
        self.pos += 1
        value = _scalar(token)
        if value is None:
            raise self.error(f"bad literal {token!r}")
        return Lit(value, self.type())

    def out_atoms(self) -> list[Atom]:
        self.expect("(")
        out: list[Atom] = []
        while True:
            self.skip()
            if self.at(")"):
                self.pos += 1
                return out
            out.append(self.atom())
            self.skip()
            if self.at(","):
                self.pos += 1

    # -- params --------------------------------------------------------------------------------
    def params(self) -> tuple[tuple[str, Param], ...]:
        self.pos += 1
        out: list[tuple[str, Param]] = []
        while True:
            self.skip()
            if self.at("]"):
                self.pos += 1
                return tuple(out)
            key = self.match(_IDENT, "a param name").group()
            self.expect("=")
            self.skip()
            out.append((key, self.value()))

    def value(self) -> Param:
        if self.at("{"):
            return self.nested()
        if self.at("("):
            return self.paren()
        if self.at("["):
            self.pos += 1
            return self.items("]")
        word = self.match(_WORD, "a param value").group()
        if self.at("("):
            return self.call(word)
        return _word(word)

    def nested(self) -> JaxprParam:
        start = self.pos
        self.jaxpr()
        return JaxprParam(self.text[start : self.pos])

    def paren(self) -> Param:
        """A tuple, a complex number ``(1+2j)``, or jaxprs one per line."""
        self.pos += 1
        self.skip()
        if self.at("{"):
            jaxprs: list[Param] = []
            while self.at("{"):
                jaxprs.append(self.nested())
                self.skip()
                if self.at(","):
                    self.pos += 1
                    self.skip()
            self.expect(")")
            return tuple(jaxprs)
        found = re.compile(r"[-+]?[0-9.e+\-]*[-+][0-9.e+\-]*j\)").match(self.text, self.pos)
        if found:
            self.pos = found.end()
            return complex(found.group()[:-1])
        return self.items(")")

    def items(self, close: str) -> tuple[Param, ...]:
        out: list[Param] = []
        while True:
            self.skip()
            if self.at(close):
                self.pos += 1
                return tuple(out)
            out.append(self.value())
            self.skip()
            if self.at(","):
                self.pos += 1

    def call(self, word: str) -> Param:
        """``Record(k=v, ...)``, ``np.int64(1)`` or ``frozenset({...})``."""
        self.pos += 1
        self.skip()
        if word.startswith("np.") or word == "frozenset":
            inner = self.value() if not self.at("{") else self.braces()
            self.expect(")")
            return inner
        fields: list[tuple[str, Param]] = []
        while True:
            self.skip()
            if self.at(")"):
                self.pos += 1
                return Record(word, tuple(fields))
            key = self.match(_IDENT, f"a field of {word}").group()
            self.expect("=")
            self.skip()
            fields.append((key, self.value()))
            self.skip()
            if self.at(","):
                self.pos += 1

    def braces(self) -> tuple[Param, ...]:
        self.pos += 1
        return self.items("}")


def _word(word: str) -> Param:
    """A bare word: None, a scalar, a dtype, an enum member, or a string."""
    if word == "None":
        return None
    scalar = _scalar(word)
    if scalar is not None:
        return scalar
    if word in DTYPE_WORDS:
        return DType(word)
    owner, _, member = word.rpartition(".")
    if owner and owner[:1].isupper() and _IDENT.fullmatch(member):
        return EnumMember(owner, member)
    return word
