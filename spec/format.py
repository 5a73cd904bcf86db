"""The case format: typed records for a case and their JSON encoding (see spec/README.md).

Everything here is plain Python and numpy: an implementation under test needs no refjax to read
cases. ``load_cases`` reads the JSON files in ``spec/cases``; ``Case.to_json`` writes one back.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

NDArray: TypeAlias = npt.NDArray[Any]
Json: TypeAlias = Any  # a value json.loads returns: dict, list, str, int, float, bool or None

FORMAT_VERSION: Final = 1
CASES_DIR: Final = Path(__file__).parent / "cases"
# Arrays with more elements than this are written as base64 bytes rather than a list of values.
LIST_LIMIT: Final = 64

DTYPE_NAMES: Final = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)


# ---------------------------------------------------------------------------------------------
# Values: typed arrays, exactly encoded


@dataclass(frozen=True)
class Value:
    """An array with its type: dtype name, shape, weak type, and its data (None when abstract)."""

    dtype: str
    shape: tuple[int, ...]
    weak_type: bool = False
    data: NDArray | None = None

    @staticmethod
    def of(array: npt.ArrayLike, weak_type: bool = False) -> Value:
        """The value of a numpy array (or scalar), with the given weak type."""
        arr = np.asarray(array)
        return Value(arr.dtype.name, tuple(arr.shape), weak_type, arr)

    def type_str(self) -> str:
        """``float32[2,3]`` (``~`` marks a weak type: ``~float32[]``)."""
        dims = ",".join(map(str, self.shape))
        return f"{'~' if self.weak_type else ''}{self.dtype}[{dims}]"

    def abstract(self) -> Value:
        """The same type without data."""
        return Value(self.dtype, self.shape, self.weak_type, None)

    def to_json(self) -> Json:
        """``{"dtype", "shape", "weak_type", "data"}`` with data exact (see README)."""
        out: dict[str, Json] = {
            "dtype": self.dtype,
            "shape": list(self.shape),
            "weak_type": self.weak_type,
        }
        if self.data is not None:
            out["data"] = encode_data(np.asarray(self.data, dtype=self.dtype))
        return out

    @staticmethod
    def from_json(obj: Json) -> Value:
        """The inverse of ``to_json``."""
        shape = tuple(int(d) for d in obj["shape"])
        dtype = str(obj["dtype"])
        data = obj.get("data")
        array = None if data is None else decode_data(data, dtype, shape)
        return Value(dtype, shape, bool(obj.get("weak_type", False)), array)


def _float_text(x: float) -> str:
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float.hex(x)


def _float_value(text: str) -> float:
    if text == "-nan":
        return -math.nan
    return float(text) if text in ("nan", "inf", "-inf") else float.fromhex(text)


def encode_data(array: NDArray) -> Json:
    """A flat C-order list (floats as hex strings, complex as [re, im]) or base64 bytes."""
    flat = array.reshape(-1)
    if flat.size > LIST_LIMIT:
        raw = flat.astype(flat.dtype.newbyteorder("<")).tobytes()
        return {"base64": base64.b64encode(raw).decode("ascii")}
    kind = array.dtype.kind
    if kind == "b":
        return [bool(x) for x in flat]
    if kind in "iu":
        return [int(x) for x in flat]
    if kind == "f":
        return [_float_text(float(x)) for x in flat]
    if kind == "c":
        return [[_float_text(float(x.real)), _float_text(float(x.imag))] for x in flat]
    raise ValueError(f"cannot encode dtype {array.dtype}")


def decode_data(data: Json, dtype: str, shape: tuple[int, ...]) -> NDArray:
    """The numpy array that ``encode_data`` wrote."""
    np_dtype = np.dtype(dtype)
    if isinstance(data, dict):
        raw = base64.b64decode(data["base64"])
        flat = np.frombuffer(raw, dtype=np_dtype.newbyteorder("<")).astype(np_dtype)
        return flat.reshape(shape)
    if np_dtype.kind == "f":
        items: list[Any] = [_float_value(x) for x in data]
    elif np_dtype.kind == "c":
        items = [complex(_float_value(re), _float_value(im)) for re, im in data]
    else:
        items = list(data)
    return np.array(items, dtype=np_dtype).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Programs


@dataclass(frozen=True)
class DType:
    """A dtype as a param value (``new_dtype=float32``)."""

    name: str


@dataclass(frozen=True)
class EnumMember:
    """An enum member as a param value (``GatherScatterMode.FILL_OR_DROP``)."""

    owner: str
    member: str


@dataclass(frozen=True)
class Record:
    """A record as a param value (``GatherDimensionNumbers(offset_dims=(0,), ...)``)."""

    name: str
    fields: tuple[tuple[str, Param], ...]


@dataclass(frozen=True)
class JaxprParam:
    """A jaxpr-valued param (``jaxpr={ lambda ; ... }``), as jaxpr text."""

    text: str


# A param value: what jaxpr text and the JSON of primitive programs can say. Sequences are tuples.
Param: TypeAlias = (
    "bool | int | float | complex | str | DType | EnumMember | Record | JaxprParam"
    " | tuple[Param, ...] | None"
)


@dataclass(frozen=True)
class JaxprProgram:
    """A program as a closed jaxpr in JAX's text form, with the values of its constvars."""

    text: str
    consts: tuple[Value, ...] = ()


@dataclass(frozen=True)
class PrimitiveProgram:
    """One primitive applied to the inputs: its name and every param, typed."""

    name: str
    params: tuple[tuple[str, Param], ...]


@dataclass(frozen=True)
class NumpyProgram:
    """A function of the jax.numpy API applied to the inputs (for dtype promotion cases)."""

    function: str


Program: TypeAlias = JaxprProgram | PrimitiveProgram | NumpyProgram


def param_to_json(value: Param) -> Json:
    """Typed JSON for a param: lists are tuples; dtypes, enums, records and jaxprs are tagged."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"float": _float_text(value)}
    if isinstance(value, complex):
        return {"complex": [_float_text(value.real), _float_text(value.imag)]}
    if isinstance(value, DType):
        return {"dtype": value.name}
    if isinstance(value, EnumMember):
        return {"enum": f"{value.owner}.{value.member}"}
    if isinstance(value, Record):
        return {"record": value.name, "fields": {k: param_to_json(v) for k, v in value.fields}}
    if isinstance(value, JaxprParam):
        return {"jaxpr": value.text}
    return [param_to_json(v) for v in value]


def param_from_json(obj: Json) -> Param:
    """The inverse of ``param_to_json``."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, list):
        return tuple(param_from_json(v) for v in obj)
    if "float" in obj:
        return _float_value(obj["float"])
    if "complex" in obj:
        re, im = obj["complex"]
        return complex(_float_value(re), _float_value(im))
    if "dtype" in obj:
        return DType(obj["dtype"])
    if "enum" in obj:
        owner, _, member = str(obj["enum"]).rpartition(".")
        return EnumMember(owner, member)
    if "record" in obj:
        fields = tuple((str(k), param_from_json(v)) for k, v in obj["fields"].items())
        return Record(str(obj["record"]), fields)
    if "jaxpr" in obj:
        return JaxprParam(str(obj["jaxpr"]))
    raise ValueError(f"not a param value: {obj!r}")


def program_to_json(program: Program) -> Json:
    """``{"jaxpr": text, "consts": [...]}``, ``{"primitive", "params"}`` or ``{"numpy"}``."""
    if isinstance(program, JaxprProgram):
        return {"jaxpr": program.text, "consts": [c.to_json() for c in program.consts]}
    if isinstance(program, PrimitiveProgram):
        params = {k: param_to_json(v) for k, v in program.params}
        return {"primitive": program.name, "params": params}
    return {"numpy": program.function}


def program_from_json(obj: Json) -> Program:
    """The inverse of ``program_to_json``."""
    if "jaxpr" in obj:
        consts = tuple(Value.from_json(c) for c in obj.get("consts", []))
        return JaxprProgram(str(obj["jaxpr"]), consts)
    if "primitive" in obj:
        params = tuple((str(k), param_from_json(v)) for k, v in obj["params"].items())
        return PrimitiveProgram(str(obj["primitive"]), params)
    return NumpyProgram(str(obj["numpy"]))


# ---------------------------------------------------------------------------------------------
# Transforms: an ordered stack, outermost first


@dataclass(frozen=True)
class Jit:
    """``jit(f)``: the same outputs."""


@dataclass(frozen=True)
class EvalShape:
    """``eval_shape(f)``: the output types only (abstract evaluation)."""


@dataclass(frozen=True)
class Vmap:
    """``vmap(f, in_axes, out_axes)``: in_axes has one entry (int or None) per input."""

    in_axes: tuple[int | None, ...]
    out_axes: int = 0


@dataclass(frozen=True)
class Grad:
    """``grad(f, argnums)`` of a one-output f: the gradients with respect to ``argnums``."""

    argnums: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Jvp:
    """``jvp`` of f in the inputs ``argnums`` (the rest held fixed) along ``tangents``.

    Outputs: f's outputs, then their tangents.
    """

    argnums: tuple[int, ...]
    tangents: tuple[Value, ...]


@dataclass(frozen=True)
class Linearize:
    """``linearize`` of f in ``argnums``, its linear map applied to ``tangents``.

    Outputs: f's outputs, then the linear map's.
    """

    argnums: tuple[int, ...]
    tangents: tuple[Value, ...]


@dataclass(frozen=True)
class Vjp:
    """``vjp`` of f in ``argnums``, its pullback applied to ``cotangents`` (one per output).

    Outputs: f's outputs, then one cotangent per input in ``argnums``.
    """

    argnums: tuple[int, ...]
    cotangents: tuple[Value, ...]


Transform: TypeAlias = Jit | EvalShape | Vmap | Grad | Jvp | Linearize | Vjp
TRANSFORM_NAMES: Final[dict[type, str]] = {
    Jit: "jit",
    EvalShape: "eval_shape",
    Vmap: "vmap",
    Grad: "grad",
    Jvp: "jvp",
    Linearize: "linearize",
    Vjp: "vjp",
}


def transform_to_json(t: Transform) -> Json:
    """``"jit"``, ``"eval_shape"`` or ``{name: {args}}``."""
    if isinstance(t, Jit):
        return "jit"
    if isinstance(t, EvalShape):
        return "eval_shape"
    if isinstance(t, Vmap):
        return {"vmap": {"in_axes": list(t.in_axes), "out_axes": t.out_axes}}
    if isinstance(t, Grad):
        return {"grad": {"argnums": list(t.argnums)}}
    if isinstance(t, Jvp):
        tangents = [v.to_json() for v in t.tangents]
        return {"jvp": {"argnums": list(t.argnums), "tangents": tangents}}
    if isinstance(t, Linearize):
        tangents = [v.to_json() for v in t.tangents]
        return {"linearize": {"argnums": list(t.argnums), "tangents": tangents}}
    cotangents = [v.to_json() for v in t.cotangents]
    return {"vjp": {"argnums": list(t.argnums), "cotangents": cotangents}}


def transform_from_json(obj: Json) -> Transform:
    """The inverse of ``transform_to_json``."""
    if obj == "jit":
        return Jit()
    if obj == "eval_shape":
        return EvalShape()
    if obj == "grad":
        return Grad()
    ((name, args),) = obj.items()
    argnums = tuple(int(a) for a in args.get("argnums", [0]))
    if name == "jit":
        return Jit()
    if name == "vmap":
        axes = tuple(None if a is None else int(a) for a in args["in_axes"])
        return Vmap(axes, int(args.get("out_axes", 0)))
    if name == "grad":
        return Grad(argnums)
    if name == "jvp":
        return Jvp(argnums, tuple(Value.from_json(v) for v in args["tangents"]))
    if name == "linearize":
        return Linearize(argnums, tuple(Value.from_json(v) for v in args["tangents"]))
    if name == "vjp":
        return Vjp(argnums, tuple(Value.from_json(v) for v in args["cotangents"]))
    raise ValueError(f"unknown transform {name!r}")


# ---------------------------------------------------------------------------------------------
# Expected results and checks


@dataclass(frozen=True)
class Outputs:
    """The expected outputs, in order (data None: only the type is specified)."""

    values: tuple[Value, ...]


@dataclass(frozen=True)
class Error:
    """The expected error: an exception class name and a regex its message must match."""

    cls: str
    message: str


Expected: TypeAlias = Outputs | Error
CheckKind: TypeAlias = Literal["exact", "allclose", "finite_difference", "aval"]


@dataclass(frozen=True)
class Check:
    """How outputs are compared: types always; values exactly, or within rtol/atol."""

    kind: CheckKind
    rtol: float = 0.0
    atol: float = 0.0

    def to_json(self) -> Json:
        """``{"kind", "rtol", "atol"}`` (tolerances only where they apply)."""
        if self.kind in ("exact", "aval"):
            return {"kind": self.kind}
        return {"kind": self.kind, "rtol": self.rtol, "atol": self.atol}

    @staticmethod
    def from_json(obj: Json) -> Check:
        """The inverse of ``to_json``."""
        return Check(obj["kind"], float(obj.get("rtol", 0.0)), float(obj.get("atol", 0.0)))


@dataclass(frozen=True)
class Case:
    """One executable statement of the specification."""

    id: str
    program: Program
    transforms: tuple[Transform, ...]
    inputs: tuple[Value, ...]
    expected: Expected
    check: Check
    provenance: str
    primitives: tuple[str, ...] = ()  # the primitives the case is about (coverage)
    x64: bool = False  # jax_enable_x64 on while the case runs
    notes: str = ""
    topic: str = field(default="", compare=False)

    def to_json(self) -> Json:
        """The case as a JSON object (keys in the order README.md documents)."""
        out: dict[str, Json] = {
            "id": self.id,
            "primitives": list(self.primitives),
            "x64": self.x64,
            "program": program_to_json(self.program),
            "transforms": [transform_to_json(t) for t in self.transforms],
            "inputs": [v.to_json() for v in self.inputs],
        }
        if isinstance(self.expected, Error):
            out["expected"] = {
                "error": {"class": self.expected.cls, "message": self.expected.message}
            }
        else:
            out["expected"] = {"outputs": [v.to_json() for v in self.expected.values]}
        out["check"] = self.check.to_json()
        out["provenance"] = self.provenance
        if self.notes:
            out["notes"] = self.notes
        return out

    @staticmethod
    def from_json(obj: Json, topic: str = "") -> Case:
        """The inverse of ``to_json``."""
        expected_obj = obj["expected"]
        expected: Expected
        if "error" in expected_obj:
            err = expected_obj["error"]
            expected = Error(str(err["class"]), str(err["message"]))
        else:
            expected = Outputs(tuple(Value.from_json(v) for v in expected_obj["outputs"]))
        return Case(
            id=str(obj["id"]),
            program=program_from_json(obj["program"]),
            transforms=tuple(transform_from_json(t) for t in obj["transforms"]),
            inputs=tuple(Value.from_json(v) for v in obj["inputs"]),
            expected=expected,
            check=Check.from_json(obj["check"]),
            provenance=str(obj["provenance"]),
            primitives=tuple(obj.get("primitives", ())),
            x64=bool(obj.get("x64", False)),
            notes=str(obj.get("notes", "")),
            topic=topic,
        )


# ---------------------------------------------------------------------------------------------
# Files: one per topic


def topic_files(directory: Path = CASES_DIR) -> dict[str, Path]:
    """The case files by topic (the file name without ``.json``)."""
    return {p.stem: p for p in sorted(directory.glob("*.json")) if not p.stem.startswith("_")}


def load_topic(path: Path) -> list[Case]:
    """The cases of one topic file."""
    obj = json.loads(path.read_text())
    if obj.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: format {obj.get('format')!r}, expected {FORMAT_VERSION}")
    return [Case.from_json(c, path.stem) for c in obj["cases"]]


def load_cases(only: Iterable[str] = (), directory: Path = CASES_DIR) -> list[Case]:
    """Every case, or those of the topics in ``only``."""
    files = topic_files(directory)
    wanted = list(only) or list(files)
    unknown = [t for t in wanted if t not in files]
    if unknown:
        raise ValueError(f"unknown topic(s) {unknown}; topics: {sorted(files)}")
    return [case for topic in wanted for case in load_topic(files[topic])]


def dump_topic(path: Path, topic: str, description: str, cases: Sequence[Case]) -> None:
    """Write one topic file: a header and its cases, one JSON object per case."""
    header = {"format": FORMAT_VERSION, "topic": topic, "description": description}
    lines = [json.dumps(c.to_json(), separators=(",", ":")) for c in cases]
    head = json.dumps(header, indent=1)[:-2]
    body = ",\n".join(lines)
    path.write_text(f'{head},\n "cases": [\n{body}\n]}}\n')


def load_json(path: Path) -> Mapping[str, Json]:
    """A JSON object from a file (for the side files such as ``_primitives.json``)."""
    obj: Mapping[str, Json] = json.loads(path.read_text())
    return obj
