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
    "float0",
)
# float0: the dtype of the tangents and gradients of integer and boolean inputs. A float0 value
# has a shape and no payload (every float0 array is the same zero): its JSON ``data`` is ``[]``
# and its data here a boolean array of zeros of its shape, so that comparisons need no case.
FLOAT0: Final = "float0"


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
        """The value of a numpy array (or scalar), with the given weak type (a float0 array,
        numpy's ``[('float0', 'V')]``, gives a float0 value)."""
        arr = np.asarray(array)
        if arr.dtype.names == (FLOAT0,):
            return Value(FLOAT0, tuple(arr.shape), False, np.zeros(arr.shape, bool))
        return Value(arr.dtype.name, tuple(arr.shape), weak_type, arr)

    @staticmethod
    def float0(shape: tuple[int, ...]) -> Value:
        """The float0 value of a shape (the tangent of an integer array)."""
        return Value(FLOAT0, shape, False, np.zeros(shape, bool))

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
            if self.dtype == FLOAT0:
                out["data"] = []
            else:
                out["data"] = encode_data(np.asarray(self.data, dtype=self.dtype))
        return out

    @staticmethod
    def from_json(obj: Json) -> Value:
        """The inverse of ``to_json``."""
        shape = tuple(int(d) for d in obj["shape"])
        dtype = str(obj["dtype"])
        data = obj.get("data")
        if dtype == FLOAT0:
            array = None if data is None else np.zeros(shape, bool)
        else:
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


@dataclass(frozen=True)
class CustomJvpProgram:
    """``jax.custom_jvp``: a primal function and its JVP rule, each a closed jaxpr's text.

    ``primal`` maps the inputs ``xs`` to the outputs ``ys``; ``jvp`` maps ``(*xs, *txs)`` (one
    tangent per input) to ``(*ys, *tys)``. Under differentiation the rule is used, not the
    derivative of ``primal``; a tangent nobody asked for reaches the rule as zeros.
    ``nondiff_argnums``: inputs passed to the rule without tangents (its invars are then
    ``(*nondiff, *diff, *diff_tangents)``, as ``jax.custom_jvp`` calls ``rule(*nondiff,
    primals, tangents)``).
    """

    primal: str
    jvp: str
    nondiff_argnums: tuple[int, ...] = ()


@dataclass(frozen=True)
class CustomVjpProgram:
    """``jax.custom_vjp``: a primal function, a forward pass and a backward pass, as jaxpr text.

    ``primal``: ``xs -> ys``; ``fwd``: ``xs -> (*ys, *residuals)``; ``bwd``:
    ``(*residuals, *cts_of_ys) -> cts_of_xs`` (one per input). The number of residuals is
    ``len(bwd's invars) - len(ys)``.
    """

    primal: str
    fwd: str
    bwd: str


@dataclass(frozen=True)
class RandomProgram:
    """A function of the ``jax.random`` API applied to the inputs, with keyword params.

    Keys are raw ``uint32[2]`` key data (``jax.random.PRNGKey``'s); ``params`` are the static
    keyword arguments (``shape``, ``dtype``, ``minval``...), typed as params are.
    """

    function: str
    params: tuple[tuple[str, Param], ...] = ()


Program: TypeAlias = (
    JaxprProgram | PrimitiveProgram | NumpyProgram | CustomJvpProgram | CustomVjpProgram
    | RandomProgram
)


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
    if isinstance(program, CustomJvpProgram):
        rule: dict[str, Json] = {"primal": program.primal, "jvp": program.jvp}
        if program.nondiff_argnums:
            rule["nondiff_argnums"] = list(program.nondiff_argnums)
        return {"custom_jvp": rule}
    if isinstance(program, CustomVjpProgram):
        return {"custom_vjp": {"primal": program.primal, "fwd": program.fwd, "bwd": program.bwd}}
    if isinstance(program, RandomProgram):
        params = {k: param_to_json(v) for k, v in program.params}
        return {"random": program.function, "params": params}
    return {"numpy": program.function}


def program_from_json(obj: Json) -> Program:
    """The inverse of ``program_to_json``."""
    if "jaxpr" in obj:
        consts = tuple(Value.from_json(c) for c in obj.get("consts", []))
        return JaxprProgram(str(obj["jaxpr"]), consts)
    if "primitive" in obj:
        params = tuple((str(k), param_from_json(v)) for k, v in obj["params"].items())
        return PrimitiveProgram(str(obj["primitive"]), params)
    if "custom_jvp" in obj:
        rule = obj["custom_jvp"]
        nondiff = tuple(int(i) for i in rule.get("nondiff_argnums", []))
        return CustomJvpProgram(str(rule["primal"]), str(rule["jvp"]), nondiff)
    if "custom_vjp" in obj:
        rule = obj["custom_vjp"]
        return CustomVjpProgram(str(rule["primal"]), str(rule["fwd"]), str(rule["bwd"]))
    if "random" in obj:
        params = tuple((str(k), param_from_json(v)) for k, v in obj.get("params", {}).items())
        return RandomProgram(str(obj["random"]), params)
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
class AxisDict:
    """A dict node of a pytree (of axes, or of an argument's structure), keys in order."""

    items: tuple[tuple[str, AxisTree], ...]

    def get(self, key: str) -> AxisTree:
        """The subtree at ``key``."""
        return dict(self.items)[key]


# An axis spec: an int (negative counts from the end), None (not mapped), or a pytree of them:
# a tuple, or a dict (AxisDict). An argument's structure is such a tree too, with LEAF at the
# leaves (one flat input each).
AxisTree: TypeAlias = "int | str | tuple[AxisTree, ...] | AxisDict | None"
LEAF: Final = "*"


def tree_leaves(structure: AxisTree) -> int:
    """How many arrays an argument structure holds (LEAF: one)."""
    if isinstance(structure, tuple):
        return sum(tree_leaves(s) for s in structure)
    if isinstance(structure, AxisDict):
        return sum(tree_leaves(s) for _, s in sorted(structure.items))
    return 1


@dataclass(frozen=True)
class Vmap:
    """``vmap(f, in_axes, out_axes, axis_size=...)``.

    ``in_axes``: one entry per argument (an int, negative allowed, None, or a pytree prefix of
    the argument), or one int/None for every argument. ``out_axes``: an int/None for every
    output, or one entry per output. ``in_tree`` (optional): the structure of each argument,
    a tree with LEAF at its leaves; the flat inputs fill the leaves in order (dict keys
    sorted, as JAX flattens dicts). Without it every argument is one array.
    """

    in_axes: int | tuple[AxisTree, ...] | None
    out_axes: int | tuple[AxisTree, ...] | None = 0
    in_tree: tuple[AxisTree, ...] | None = None
    axis_size: int | None = None


@dataclass(frozen=True)
class Grad:
    """``grad(f, argnums, has_aux, allow_int)``: the gradients with respect to ``argnums``.

    f has one output, or with ``has_aux`` two or more: the first is differentiated, the others
    are returned unchanged after the gradients. With ``allow_int`` an integer input's
    gradient is a float0 zero.
    """

    argnums: tuple[int, ...] = (0,)
    has_aux: bool = False
    allow_int: bool = False


@dataclass(frozen=True)
class Jvp:
    """``jvp`` of f in the inputs ``argnums`` (the rest held fixed) along ``tangents``.

    Outputs: f's outputs, then their tangents. With ``has_aux`` f's last output is auxiliary:
    outputs are the others, their tangents, then the auxiliary output. An integer input's
    tangent is a float0 value.
    """

    argnums: tuple[int, ...]
    tangents: tuple[Value, ...]
    has_aux: bool = False


@dataclass(frozen=True)
class Linearize:
    """``linearize`` of f in ``argnums``, its linear map applied to ``tangents``.

    Outputs: f's outputs, then the linear map's. With ``has_aux`` f's last output is auxiliary,
    as for :class:`Jvp`: the other outputs, the linear map's, then the auxiliary output.
    """

    argnums: tuple[int, ...]
    tangents: tuple[Value, ...]
    has_aux: bool = False


@dataclass(frozen=True)
class Vjp:
    """``vjp`` of f in ``argnums``, its pullback applied to ``cotangents`` (one per output).

    Outputs: f's outputs, then one cotangent per input in ``argnums``. With ``has_aux`` f's
    last output is auxiliary and gets no cotangent: outputs are the others, the input
    cotangents, then the auxiliary output.
    """

    argnums: tuple[int, ...]
    cotangents: tuple[Value, ...]
    has_aux: bool = False


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
        vmap: dict[str, Json] = {
            "in_axes": axes_to_json(t.in_axes),
            "out_axes": axes_to_json(t.out_axes),
        }
        if t.in_tree is not None:
            vmap["in_tree"] = axes_to_json(t.in_tree)
        if t.axis_size is not None:
            vmap["axis_size"] = t.axis_size
        return {"vmap": vmap}
    if isinstance(t, Grad):
        grad: dict[str, Json] = {"argnums": list(t.argnums)}
        if t.has_aux:
            grad["has_aux"] = True
        if t.allow_int:
            grad["allow_int"] = True
        return {"grad": grad}
    if isinstance(t, Jvp):
        tangents = [v.to_json() for v in t.tangents]
        jvp: dict[str, Json] = {"argnums": list(t.argnums), "tangents": tangents}
        if t.has_aux:
            jvp["has_aux"] = True
        return {"jvp": jvp}
    if isinstance(t, Linearize):
        tangents = [v.to_json() for v in t.tangents]
        lin: dict[str, Json] = {"argnums": list(t.argnums), "tangents": tangents}
        if t.has_aux:
            lin["has_aux"] = True
        return {"linearize": lin}
    cotangents = [v.to_json() for v in t.cotangents]
    vjp: dict[str, Json] = {"argnums": list(t.argnums), "cotangents": cotangents}
    if t.has_aux:
        vjp["has_aux"] = True
    return {"vjp": vjp}


def axes_to_json(axes: AxisTree) -> Json:
    """An axis tree as JSON: ints, null, LEAF as themselves; tuples as lists; dicts as
    objects (in their order)."""
    if isinstance(axes, tuple):
        return [axes_to_json(a) for a in axes]
    if isinstance(axes, AxisDict):
        return {k: axes_to_json(v) for k, v in axes.items}
    return axes


def axes_from_json(obj: Json) -> AxisTree:
    """The inverse of ``axes_to_json``."""
    if isinstance(obj, list):
        return tuple(axes_from_json(a) for a in obj)
    if isinstance(obj, dict):
        return AxisDict(tuple((str(k), axes_from_json(v)) for k, v in obj.items()))
    if obj is None or obj == LEAF:
        return obj  # type: ignore[no-any-return]  # None or the leaf marker
    return int(obj)


def _top_axes(obj: Json) -> int | tuple[AxisTree, ...] | None:
    axes = axes_from_json(obj)
    if isinstance(axes, (AxisDict, str)):
        raise ValueError(f"vmap axes must be an int, null or a list: {obj!r}")
    return axes


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
    has_aux = bool(args.get("has_aux", False))
    if name == "vmap":
        tree = args.get("in_tree")
        in_tree = None if tree is None else _top_axes(tree)
        if in_tree is not None and not isinstance(in_tree, tuple):
            raise ValueError(f"vmap in_tree must be a list: {tree!r}")
        size = args.get("axis_size")
        return Vmap(
            _top_axes(args["in_axes"]),
            _top_axes(args.get("out_axes", 0)),
            in_tree,
            None if size is None else int(size),
        )
    if name == "grad":
        return Grad(argnums, has_aux, bool(args.get("allow_int", False)))
    if name == "jvp":
        return Jvp(argnums, tuple(Value.from_json(v) for v in args["tangents"]), has_aux)
    if name == "linearize":
        return Linearize(argnums, tuple(Value.from_json(v) for v in args["tangents"]), has_aux)
    if name == "vjp":
        return Vjp(argnums, tuple(Value.from_json(v) for v in args["cotangents"]), has_aux)
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
    # where rtol/atol were set from units in the last place: rtol = ulps * eps(dtype) and
    # atol = ulps * eps(dtype) * scale (informative: the comparison reads rtol and atol only)
    ulps: int | None = None

    def to_json(self) -> Json:
        """``{"kind", "rtol", "atol"[, "ulps"]}`` (tolerances only where they apply)."""
        if self.kind in ("exact", "aval"):
            return {"kind": self.kind}
        out: dict[str, Json] = {"kind": self.kind, "rtol": self.rtol, "atol": self.atol}
        if self.ulps is not None:
            out["ulps"] = self.ulps
        return out

    @staticmethod
    def from_json(obj: Json) -> Check:
        """The inverse of ``to_json``."""
        ulps = obj.get("ulps")
        return Check(
            obj["kind"],
            float(obj.get("rtol", 0.0)),
            float(obj.get("atol", 0.0)),
            None if ulps is None else int(ulps),
        )


def derivative_outputs(transforms: Sequence[Transform], n_outputs: int) -> list[int]:
    """The positions of the derivative outputs (tangents, cotangents, gradients) among a
    case's ``n_outputs`` outputs, by its outermost differentiating transform; [] if none."""
    for t in transforms:
        if isinstance(t, Grad):  # the gradients, then (has_aux) the auxiliary outputs
            return list(range(min(len(t.argnums), n_outputs)))
        if isinstance(t, Vjp):  # f's outputs, the cotangents, then (has_aux) the auxiliary one
            end = n_outputs - 1 if t.has_aux else n_outputs
            return list(range(end - len(t.argnums), end))
        if isinstance(t, (Jvp, Linearize)) and t.has_aux:  # outputs, tangents, the aux one
            m = (n_outputs - 1) // 2
            return list(range(m, 2 * m))
        if isinstance(t, (Jvp, Linearize)):
            return list(range(n_outputs // 2, n_outputs))
    return []


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
    # marks such as ``jax-specific:weak-type``: what a runner may relax or skip (README.md)
    tags: tuple[str, ...] = ()

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
        if self.tags:
            out["tags"] = list(self.tags)
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
            tags=tuple(str(t) for t in obj.get("tags", ())),
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
