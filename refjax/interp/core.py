"""The interpreter core: abstract values, primitives, traces and tracers, jaxprs.

Data flows one way. A user function calls ``refjax.numpy``/``refjax.lax``, which call
``Primitive.bind``; ``bind`` hands the primitive to the *current trace* (held in a ``ContextVar``).
The root trace is the :class:`EvalTrace`, which asks a backend to compute (through the
:class:`Evaluator` the backend layer registers, so nothing here imports a backend). Every
transformation (jvp, vmap, staging to a jaxpr) is a :class:`Trace` subclass whose tracers carry
an abstract value; a trace runs its rules with its parent as the current trace, so
transformations nest. :class:`Array` is what an array *is*; its operators and methods are
installed by ``refjax.numpy.array_methods``.
"""

from __future__ import annotations

import abc
import collections
import contextvars
import enum
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt

from refjax import dtypes
from refjax.dtypes import DType
from refjax.errors import (
    ConcretizationTypeError,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
    conversion_context,
    escaped_tracer_message,
    missing_rule_message,
    shape_overflow_message,
)

# Static parameters of primitives are heterogeneous (axes tuples, dtypes, jaxprs, enums); each
# rule states the precise types of the params it reads in its own signature.
ParamValue: TypeAlias = Any
Params: TypeAlias = Mapping[str, ParamValue]
NDArray: TypeAlias = npt.NDArray[Any]

T = TypeVar("T")
U = TypeVar("U")


def safe_zip(xs: Sequence[T], ys: Sequence[U]) -> list[tuple[T, U]]:
    """``zip`` that fails on a length mismatch instead of truncating."""
    return list(zip(xs, ys, strict=True))


# ---------------------------------------------------------------------------------------------
# Abstract values


@dataclass(frozen=True, slots=True)
class ShapedArray:
    """The abstract value of an array: its shape, dtype and whether its dtype is weak."""

    shape: tuple[int, ...]
    dtype: DType
    weak_type: bool = False
    # The manual mesh axes the value varies over inside a ``shard_map`` body (JAX 0.10's
    # ``typeof(x).mat.varying``); empty everywhere else.
    vma: frozenset[Hashable] = frozenset()

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    def str_short(self, short_dtypes: bool = False) -> str:
        """JAX's short form: ``float32[3,4]``, or ``f32[3,4]`` with short dtype names."""
        name = dtypes.short_name(self.dtype) if short_dtypes else _dtype_name(self.dtype)
        return f"{name}[{','.join(map(str, self.shape))}]{vma_text(self.vma)}"

    @property
    def mat(self) -> ManualAxisType:
        """JAX's manual axis type: the axes the value varies over (``.varying``)."""
        return ManualAxisType(self.vma)

    manual_axis_type = mat

    def update(
        self,
        shape: tuple[int, ...] | None = None,
        dtype: DType | None = None,
        weak_type: bool | None = None,
        vma: frozenset[Hashable] | None = None,
    ) -> ShapedArray:
        """A copy with some fields replaced."""
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
            self.vma if vma is None else vma,
        )

    def strip_weak_type(self) -> ShapedArray:
        """The same aval, strongly typed."""
        return self if not self.weak_type else ShapedArray(self.shape, self.dtype, False,
                                                           self.vma)

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return (f"ShapedArray({self.dtype.name}[{','.join(map(str, self.shape))}]"
                f"{vma_text(self.vma)}{weak})")


@dataclass(frozen=True, slots=True)
class ManualAxisType:
    """JAX's ``core.ManualAxisType`` as far as refjax tracks it: the varying axes (refjax has
    no unreduced or reduced values)."""

    varying: frozenset[Hashable] = frozenset()
    unreduced: frozenset[Hashable] = frozenset()
    reduced: frozenset[Hashable] = frozenset()


# The order in which ``{V:(a,b)}`` lists axis names: the mesh's, set while a ``shard_map``
# body is traced or printed (names it does not hold follow, by their text).
vma_order: contextvars.ContextVar[tuple[Hashable, ...]] = contextvars.ContextVar(
    "refjax_vma_order", default=())


def ordered_axes(names: Iterable[Hashable]) -> tuple[Hashable, ...]:
    """``names`` in the mesh's order (see ``vma_order``)."""
    order = vma_order.get()
    rank = {n: i for i, n in enumerate(order)}
    return tuple(sorted(names, key=lambda n: (rank.get(n, len(order)), str(n))))


def vma_text(vma: frozenset[Hashable]) -> str:
    """JAX's suffix for a varying value: ``{V:a}``, ``{V:(a,b)}``; empty when invariant."""
    if not vma:
        return ""
    names = ",".join(str(n) for n in ordered_axes(vma))
    return "{V:" + (names if len(vma) == 1 else f"({names})") + "}"


def _dtype_name(dtype: DType) -> str:
    return "float0" if dtype == dtypes.float0 else dtype.name


# ---------------------------------------------------------------------------------------------
# Arrays: the common type of concrete arrays and tracers, with numpy-style operators.


class Array:
    """``refjax.Array``: a concrete array or a tracer. Operators forward to ``refjax.numpy``
    (installed by ``refjax.numpy.array_methods``).

    Subclasses define ``aval`` and ``_concrete_value``. (A plain class rather than an ABC:
    ``isinstance`` checks against it run on every primitive application.)
    """

    __slots__ = ()
    __array_priority__ = 100
    __hash__ = None  # type: ignore[assignment]  # arrays are unhashable, as in JAX and numpy

    @property
    def aval(self) -> ShapedArray:
        """The abstract value: shape, dtype, weak type."""
        raise NotImplementedError(f"{type(self).__name__} must define aval")

    def _concrete_value(self) -> NDArray | None:
        """The value as a numpy array if it is known now, else None."""
        raise NotImplementedError(f"{type(self).__name__} must define _concrete_value")

    def _error_repr(self) -> str:
        return f"traced array with shape {self.aval.str_short()}"

    def __setitem__(self, index: object, value: object) -> None:
        raise TypeError(
            "JAX arrays are immutable and do not support in-place item assignment. Instead of "
            "x[idx] = y, use x = x.at[idx].set(y) or another .at[] method: "
            "https://docs.jax.dev/en/latest/_autosummary/jax.numpy.ndarray.at.html"
        )

    def _origin_msg(self) -> str:
        return ""

    # -- metadata ------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape."""
        return self.aval.shape

    @property
    def dtype(self) -> DType:
        """The dtype."""
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.aval.ndim

    @property
    def size(self) -> int:
        """Number of elements."""
        return self.aval.size

    @property
    def weak_type(self) -> bool:
        """Whether the dtype is weak (came from a Python scalar)."""
        return self.aval.weak_type

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self) -> Iterator[Array]:
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    # -- conversions to Python and numpy ---------------------------------------------------
    def __array__(self, dtype: DType | None = None, copy: bool | None = None) -> NDArray:
        value = self._concrete_value()
        if value is None:
            raise TracerArrayConversionError(self)
        return value if dtype is None else value.astype(dtype)

    def _scalar(self, kind: str) -> NDArray:
        value = self._concrete_value()
        if value is None:
            raise ConcretizationTypeError(self, conversion_context(kind))
        return value

    def __bool__(self) -> bool:
        value = self._concrete_value()
        if value is None:
            raise TracerBoolConversionError(self)
        return bool(value)

    def __index__(self) -> int:
        value = self._concrete_value()
        if value is None:
            raise TracerIntegerConversionError(self)
        if not dtypes.is_integer(self.dtype):
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(value)

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def item(self) -> bool | int | float | complex:
        """The single element as a Python scalar."""
        value: bool | int | float | complex = self._scalar("item").item()
        return value

    def tolist(self) -> Any:
        """The value as nested Python lists."""
        return self._scalar("tolist").tolist()

    # -- operators and methods: installed by refjax.numpy.array_methods, declared here
    if TYPE_CHECKING:
        def __neg__(self) -> Array: ...
        def __pos__(self) -> Array: ...
        def __abs__(self) -> Array: ...
        def __invert__(self) -> Array: ...
        def __add__(self, other: ArrayLike) -> Array: ...
        def __radd__(self, other: ArrayLike) -> Array: ...
        def __sub__(self, other: ArrayLike) -> Array: ...
        def __rsub__(self, other: ArrayLike) -> Array: ...
        def __mul__(self, other: ArrayLike) -> Array: ...
        def __rmul__(self, other: ArrayLike) -> Array: ...
        def __truediv__(self, other: ArrayLike) -> Array: ...
        def __rtruediv__(self, other: ArrayLike) -> Array: ...
        def __floordiv__(self, other: ArrayLike) -> Array: ...
        def __rfloordiv__(self, other: ArrayLike) -> Array: ...
        def __mod__(self, other: ArrayLike) -> Array: ...
        def __rmod__(self, other: ArrayLike) -> Array: ...
        def __divmod__(self, other: ArrayLike) -> tuple[Array, Array]: ...
        def __pow__(self, other: ArrayLike) -> Array: ...
        def __rpow__(self, other: ArrayLike) -> Array: ...
        def __matmul__(self, other: ArrayLike) -> Array: ...
        def __rmatmul__(self, other: ArrayLike) -> Array: ...
        def __and__(self, other: ArrayLike) -> Array: ...
        def __rand__(self, other: ArrayLike) -> Array: ...
        def __or__(self, other: ArrayLike) -> Array: ...
        def __ror__(self, other: ArrayLike) -> Array: ...
        def __xor__(self, other: ArrayLike) -> Array: ...
        def __rxor__(self, other: ArrayLike) -> Array: ...
        def __lshift__(self, other: ArrayLike) -> Array: ...
        def __rlshift__(self, other: ArrayLike) -> Array: ...
        def __rshift__(self, other: ArrayLike) -> Array: ...
        def __rrshift__(self, other: ArrayLike) -> Array: ...
        def __eq__(self, other: object) -> Array: ...  # type: ignore[override]  # elementwise, as numpy
        def __ne__(self, other: object) -> Array: ...  # type: ignore[override]  # elementwise, as numpy
        def __lt__(self, other: ArrayLike) -> Array: ...
        def __le__(self, other: ArrayLike) -> Array: ...
        def __gt__(self, other: ArrayLike) -> Array: ...
        def __ge__(self, other: ArrayLike) -> Array: ...
        def __getitem__(self, idx: Any) -> Array: ...
        @property
        def at(self) -> Any: ...  # refjax.numpy.indexing.IndexUpdateHelper
        @property
        def T(self) -> Array: ...  # noqa: N802  # numpy's name
        @property
        def mT(self) -> Array: ...  # noqa: N802  # numpy's name
        @property
        def real(self) -> Array: ...
        @property
        def imag(self) -> Array: ...
        def conj(self) -> Array: ...
        def astype(self, dtype: dtypes.DTypeLike) -> Array: ...
        def reshape(self, *shape: Any, order: str = "C") -> Array: ...
        def transpose(self, *axes: Any) -> Array: ...
        def swapaxes(self, axis1: int, axis2: int) -> Array: ...
        def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Array: ...
        def ravel(self, order: str = "C") -> Array: ...
        def flatten(self, order: str = "C") -> Array: ...
        def sum(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array: ...
        def prod(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array: ...
        def mean(self, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array: ...
        def var(
            self, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False
        ) -> Array: ...
        def std(
            self, axis: Any = None, dtype: Any = None, ddof: int = 0, keepdims: bool = False
        ) -> Array: ...
        def max(self, axis: Any = None, keepdims: bool = False) -> Array: ...
        def min(self, axis: Any = None, keepdims: bool = False) -> Array: ...
        def any(self, axis: Any = None, keepdims: bool = False) -> Array: ...
        def all(self, axis: Any = None, keepdims: bool = False) -> Array: ...
        def argmax(self, axis: int | None = None, keepdims: bool = False) -> Array: ...
        def argmin(self, axis: int | None = None, keepdims: bool = False) -> Array: ...
        def cumsum(self, axis: int | None = None, dtype: Any = None) -> Array: ...
        def cumprod(self, axis: int | None = None, dtype: Any = None) -> Array: ...
        def clip(
            self, min: ArrayLike | None = None, max: ArrayLike | None = None  # noqa: A002
        ) -> Array: ...
        def round(self, decimals: int = 0) -> Array: ...
        def dot(self, other: ArrayLike) -> Array: ...
        def sort(self, axis: int = -1) -> Array: ...
        def argsort(self, axis: int = -1) -> Array: ...
        def take(self, indices: ArrayLike, axis: int | None = None) -> Array: ...
        def repeat(self, repeats: int, axis: int | None = None) -> Array: ...
        def to_device(self, device: Any, *, stream: int | None = None) -> Array: ...
        def __array_namespace__(self, /, *, api_version: str | None = None) -> Any: ...
        def __dlpack__(
            self,
            /,
            *,
            stream: int | None = None,
            max_version: tuple[int, int] | None = None,
            dl_device: tuple[int, int] | None = None,
            copy: bool | None = None,
        ) -> object: ...
        def __dlpack_device__(self, /) -> tuple[int, int]: ...


ArrayLike: TypeAlias = Array | NDArray | np.generic | bool | int | float | complex
_SCALAR_TYPES: Final = (bool, int, float, complex, np.generic)


def as_operand(x: object) -> ArrayLike:
    """``x`` if numpy would compare an array with it, else TypeError."""
    if isinstance(x, (Array, np.ndarray, *_SCALAR_TYPES)):
        return x
    raise TypeError(f"unsupported operand type {type(x).__name__!r} for an array comparison")


def get_aval(x: object) -> ShapedArray:
    """The abstract value of an array-like: a refjax Array, a numpy array, or a Python scalar."""
    if isinstance(x, Array):
        return x.aval
    if isinstance(x, (np.ndarray, *_SCALAR_TYPES)):
        dtype, weak = dtypes.dtype_and_weak_type(x)
        return ShapedArray(np.shape(x), dtype, weak)
    if isinstance(x, Literal):
        return x.aval
    raise TypeError(f"Value {x!r} with type {type(x)} is not a valid JAX type")


def is_concrete(x: object) -> bool:
    """Whether ``x`` has a value known now (it is not an abstract tracer)."""
    return not isinstance(x, Array) or x._concrete_value() is not None


def concrete_or_error(x: ArrayLike, context: str = "") -> NDArray:
    """``x`` as a numpy array, or a ConcretizationTypeError saying why it must be concrete."""
    if isinstance(x, Array):
        value = x._concrete_value()
        if value is None:
            raise ConcretizationTypeError(x, context)
        return value
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Primitives and the abstract-evaluation table

# rule(*avals, **params) -> the output avals, one per result (``primitives.common``'s
# ``standard_primitive`` builds one from a single-result shape rule)
AbstractEvalRule: TypeAlias = Callable[..., Sequence["ShapedArray"]]


class Primitive:
    """A named operation with static params; what it means lives in its rule tables."""

    __slots__ = ("name", "multiple_results")

    def __init__(self, name: str, multiple_results: bool = False) -> None:
        self.name = name
        self.multiple_results = multiple_results

    def __repr__(self) -> str:
        return self.name

    def bind(self, *args: ArrayLike, **params: ParamValue) -> Array:
        """Apply this single-result primitive in the current trace."""
        assert not self.multiple_results, f"{self.name} has several results: use bind_all"
        return current_trace().process_primitive(self, args, params)[0]

    def bind_all(self, *args: ArrayLike, **params: ParamValue) -> list[Array]:
        """Apply this primitive in the current trace; a list of its results."""
        return current_trace().process_primitive(self, args, params)


abstract_eval_rules: dict[Primitive, AbstractEvalRule] = {}


def abstract_eval(
    prim: Primitive, avals: Sequence[ShapedArray], params: Params
) -> list[ShapedArray]:
    """The output avals of ``prim`` on ``avals``: its shape/dtype/weak-type rule."""
    try:
        rule = abstract_eval_rules[prim]
    except KeyError:
        raise NotImplementedError(missing_rule_message(prim.name, "abstract_eval")) from None
    outs = list(rule(*avals, **params))
    if any(a.vma for a in avals) or prim in vma_sources:  # inside shard_map only
        outs = _with_vma(prim, avals, params, outs)
    return outs


# rule(avals, params) -> the vma of each output, for primitives that change it (collectives,
# ``pvary``); any other primitive's outputs vary over the union of its inputs' axes (a
# higher-order primitive's outputs keep the vma its bodies gave them).
VmaRule: TypeAlias = Callable[[Sequence[ShapedArray], Params], Sequence[frozenset[Hashable]]]
vma_rules: dict[Primitive, VmaRule] = {}
vma_sources: set[Primitive] = set()  # those whose rule runs on invariant operands too (pvary)


def _with_vma(prim: Primitive, avals: Sequence[ShapedArray], params: Params,
              outs: list[ShapedArray]) -> list[ShapedArray]:
    rule = vma_rules.get(prim)
    if rule is not None:
        vmas = list(rule(avals, params))
    elif jaxprs_in_params(params):
        return outs
    else:
        vmas = [frozenset().union(*(a.vma for a in avals))] * len(outs)
    return [o if o.vma == v else o.update(vma=v) for o, v in zip(outs, vmas, strict=True)]




_MAX_BYTES: Final = 2**63 - 1


def check_size(aval: ShapedArray) -> None:
    """ValueError when an array of ``aval`` would have more bytes than an int64 counts.

    XLA computes the product ``itemsize * d0 * d1 * ...`` left to right and rejects it at the
    first overflow (so a zero-sized axis after an overflowing prefix does not help); JAX then
    fails (aborts, even) when it compiles or runs. Abstract values of any size are fine (JAX's
    ``eval_shape`` and ``make_jaxpr`` accept them); backends check each value they are to
    compute (``apply_primitive``, ``Backend.compile``), before allocating, so every backend
    gives the same error.
    """
    n = aval.dtype.itemsize
    for d in aval.shape:
        n *= d
        if n > _MAX_BYTES:
            raise ValueError(shape_overflow_message(aval.shape))


# ---------------------------------------------------------------------------------------------
# Traces, tracers and the current trace


class Trace(abc.ABC):
    """An interpreter for primitives. ``level`` grows with nesting; dead traces reject use."""

    __slots__ = ("parent", "level", "alive")
    # whether values traced here are the tangents of a linearization (a JVP tracer whose tangent
    # is one shows as JAX's GradTracer)
    linearizes: ClassVar[bool] = False

    def __init__(self, parent: Trace | None) -> None:
        self.parent = parent
        self.level: int = 0 if parent is None else parent.level + 1
        self.alive = True

    @abc.abstractmethod
    def process_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        """Interpret ``prim`` applied to ``args``."""

    def check_foreign(self, tracer: Tracer) -> None:
        """Accept a tracer of an enclosing live trace (a constant here); reject a leaked one.

        Enclosing means an ancestor of this trace: a live trace of another thread (whose level
        may well be lower) is not one.
        """
        owner = tracer._trace
        if owner.alive and owner.level < self.level and self._descends_from(owner):
            return
        raise UnexpectedTracerError(
            escaped_tracer_message(tracer.aval.str_short(), type(tracer).__name__, owner.describe())
        )

    def _descends_from(self, ancestor: Trace) -> bool:
        trace = self.parent
        while trace is not None and trace.level >= ancestor.level:
            if trace is ancestor:
                return True
            trace = trace.parent
        return False

    def describe(self) -> str:
        """What this trace is tracing, for error messages."""
        return ""

    def origin_msg(self, tracer: Tracer) -> str:
        """Which function and argument made ``tracer`` abstract (for tracer errors)."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(level={self.level})"


class Tracer(Array):
    """A value being traced by a transformation; its trace interprets primitives applied to it."""

    __slots__ = ("_trace",)

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def _concrete_value(self) -> NDArray | None:
        return None

    def _origin_msg(self) -> str:
        return self._trace.origin_msg(self)

    def _short_repr(self) -> str:
        """How JAX 0.10 shows a tracer (``print(x)`` inside a transformed function)."""
        return f"{type(self).__name__}<{aval_text(self.aval)}>"

    def __repr__(self) -> str:
        return self._short_repr()

    __str__ = __repr__


def aval_text(aval: ShapedArray) -> str:
    """``float32[3]``, ``~float32[]`` for a weak type: JAX's ``str`` of an aval."""
    return ("~" if aval.weak_type else "") + aval.str_short()


def tracer_text(x: object) -> str:
    """A tracer's short form, or ``str`` of a value (the parts of a tracer's short form)."""
    return x._short_repr() if isinstance(x, Tracer) else str(x)


_current_trace: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "refjax_current_trace", default=None
)


class EvalTrace(Trace):
    """The root trace: primitives are computed by a backend on concrete arrays."""

    __slots__ = ()

    def process_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        for arg in args:
            if isinstance(arg, Tracer):
                self.check_foreign(arg)
        return _evaluator().apply_primitive(prim, args, params)


EVAL_TRACE: Final = EvalTrace(None)


class Evaluator(Protocol):
    """What the root trace needs from the backend layer, which registers it (as JAX's
    ``primitive.impl``): compute one primitive on concrete values, and place a constant."""

    def apply_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        """``prim`` applied to concrete ``args`` on a backend."""
        ...

    def put(self, host: NDArray, aval: ShapedArray) -> Array:
        """A concrete array of ``aval`` holding ``host`` (of ``aval.dtype``), on the default
        backend."""
        ...


_EVALUATOR: list[Evaluator] = []  # set once, by refjax.backends when it is imported


def register_evaluator(evaluator: Evaluator) -> None:
    """Make ``evaluator`` compute what the root ``EvalTrace`` is given."""
    _EVALUATOR[:] = [evaluator]


def _evaluator() -> Evaluator:
    if not _EVALUATOR:
        raise RuntimeError("no backend is registered: import refjax, not only refjax.interp")
    return _EVALUATOR[0]


def concrete_array(value: object, aval: ShapedArray) -> Array:
    """A concrete array of ``aval`` (weak type included) holding ``value``, converted to
    ``aval.dtype`` as numpy converts (wrapping, no warnings): how constants are made, whatever
    the current trace."""
    with np.errstate(invalid="ignore", over="ignore"):
        host = np.asarray(value).astype(aval.dtype)
    return _evaluator().put(host, aval)


def current_trace() -> Trace:
    """The trace that ``bind`` hands primitives to now."""
    trace = _current_trace.get()
    return EVAL_TRACE if trace is None else trace


class set_current_trace:  # noqa: N801  # a context manager, named as a function like JAX's
    """``with set_current_trace(t):`` makes ``t`` the current trace for the block."""

    __slots__ = ("trace", "token")

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def __enter__(self) -> Trace:
        self.token = _current_trace.set(self.trace)
        return self.trace

    def __exit__(self, *exc: object) -> None:
        _current_trace.reset(self.token)


class new_trace(set_current_trace):  # noqa: N801
    """Like ``set_current_trace``; on exit the trace ends and its tracers can no longer be used."""

    __slots__ = ()

    def __exit__(self, *exc: object) -> None:
        self.trace.alive = False
        super().__exit__(*exc)


# ---------------------------------------------------------------------------------------------
# Jaxprs


@dataclass(frozen=True, slots=True, eq=False)
class Var:
    """A variable of a jaxpr; compared by identity."""

    aval: ShapedArray


@dataclass(frozen=True, slots=True, eq=False)
class Literal:
    """A scalar constant written inline in a jaxpr (``2.0:f32[]``)."""

    val: ArrayLike
    aval: ShapedArray

    def __repr__(self) -> str:
        return f"{literal_text(self)}:{self.aval.str_short(short_dtypes=True)}"


Atom: TypeAlias = Var | Literal


@dataclass(frozen=True, slots=True, eq=False)
class JaxprEqn:
    """One equation: ``outvars = primitive[params] invars``."""

    primitive: Primitive
    invars: tuple[Atom, ...]
    outvars: tuple[Var, ...]
    params: Params


@dataclass(frozen=True, slots=True, eq=False)
class Jaxpr:
    """A typed first-order program: constvars and invars in, equations, outvars out."""

    constvars: tuple[Var, ...]
    invars: tuple[Var, ...]
    outvars: tuple[Atom, ...]
    eqns: tuple[JaxprEqn, ...]

    @property
    def in_avals(self) -> list[ShapedArray]:
        """The avals of the invars."""
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        """The avals of the outvars."""
        return [v.aval for v in self.outvars]

    def __str__(self) -> str:
        return pp_jaxpr(self)

    __repr__ = __str__


@dataclass(frozen=True, slots=True, eq=False)
class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""

    jaxpr: Jaxpr
    consts: tuple[ArrayLike, ...]

    @property
    def in_avals(self) -> list[ShapedArray]:
        """The avals of the (non-const) inputs."""
        return self.jaxpr.in_avals

    @property
    def out_avals(self) -> list[ShapedArray]:
        """The avals of the outputs."""
        return self.jaxpr.out_avals

    @property
    def eqns(self) -> tuple[JaxprEqn, ...]:
        """The equations of the jaxpr."""
        return self.jaxpr.eqns

    def __str__(self) -> str:
        return str(self.jaxpr)

    __repr__ = __str__


def call_jaxpr(closed: ClosedJaxpr, args: Sequence[ArrayLike]) -> list[Array]:
    """Evaluate a closed jaxpr on ``args`` in the current trace (an inlined call)."""
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def literal_text(lit: Literal) -> str:
    """A literal's value as JAX prints it (the Python scalar's repr: ``0.10000000149011612``)."""
    value = np.asarray(lit.val).item()
    return repr(value)


def eval_jaxpr(jaxpr: Jaxpr, consts: Sequence[ArrayLike], *args: ArrayLike) -> list[Array]:
    """Run ``jaxpr`` by binding each equation in the current trace."""
    env: dict[Var, ArrayLike] = {}

    def read(atom: Atom) -> ArrayLike:
        return atom.val if isinstance(atom, Literal) else env[atom]

    for var, val in safe_zip(jaxpr.constvars, consts):
        env[var] = val
    for var, val in safe_zip(jaxpr.invars, args):
        env[var] = val
    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind_all(*map(read, eqn.invars), **eqn.params)
        for var, out in safe_zip(eqn.outvars, outs):
            env[var] = out
    return [as_array(read(v)) for v in jaxpr.outvars]


def as_array(x: ArrayLike) -> Array:
    """``x`` if it is an Array; constants become concrete arrays on the default backend."""
    if isinstance(x, Array):
        return x
    return concrete_array(x, get_aval(x))


# ---------------------------------------------------------------------------------------------
# The printer: JAX's text form, ``{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }``

LINE_WIDTH: Final = 80


class VarNames:
    """Names variables a, b, ..., z, ba, bb, ... in order of first appearance."""

    __slots__ = ("names", "count", "shared")

    def __init__(self) -> None:
        self.names: dict[Var, str] = {}
        self.count = 0  # fresh names given (an alias or ``_`` takes none)
        self.shared: dict[int, str] = {}  # id of a jit body printed once, up front -> its name

    def name(self, var: Var) -> str:
        if var not in self.names:
            text = _alphabetic(self.count)
            self.count += 1
            while self.shared and text in self.shared.values():  # (as JAX: not a let's name)
                text = _alphabetic(self.count)
                self.count += 1
            self.names[var] = text
        return self.names[var]

    def alias(self, var: Var, name: str) -> None:
        """Call ``var`` ``name`` (a name given already, or ``_``) unless it has one."""
        self.names.setdefault(var, name)

    def binder(self, var: Var, unused: bool = False) -> str:
        """``name:type``; an equation's result nothing reads is ``_`` (and takes no name)."""
        name = "_" if unused else self.name(var)
        return f"{name}:{var.aval.str_short(short_dtypes=True)}"

    def atom(self, atom: Atom) -> str:
        return repr(atom) if isinstance(atom, Literal) else self.name(atom)


def _alphabetic(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> ba: JAX's variable names."""
    text = ""
    while not text or n:
        n, digit = divmod(n, 26)
        text = chr(ord("a") + digit) + text
    return text


# A call site: the operands, the results, and the results nothing reads (printed ``_``).
CallSite: TypeAlias = tuple[Sequence[Atom], Sequence[Var], set[Var]]


def pp_jaxpr(jaxpr: Jaxpr | ClosedJaxpr, indent: int = 0, names: VarNames | None = None,
             call: CallSite | None = None, col: int | None = None) -> str:
    """``jaxpr`` in JAX's text form; lines after the first are indented by ``indent``. The
    body of a call (``call``) is named at its call site, as JAX 0.10 prints a ``jit``: each
    input as the operand it receives, each result as the binder it goes to. ``col`` is the
    column the text starts at (after a ``name=``), when not ``indent``: a jaxpr stays on one
    line only if it fits from there."""
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    if names is None:  # the top level: a jit body called more than once is printed first
        names = VarNames()
        lets = [f"let {name} = {pp_jaxpr(body, 0, names)} in\n"
                for name, body in _shared_bodies(jaxpr, names)]
        return "".join(lets) + pp_jaxpr(jaxpr, indent, names, call)
    if call is not None:
        operands, results, dropped = call
        taken: set[str] = set()  # (an operand passed twice names only the first input)
        for inner, outer in zip(jaxpr.invars, operands, strict=False):
            if isinstance(outer, Var) and names.name(outer) not in taken:
                taken.add(names.name(outer))
                names.alias(inner, names.name(outer))
        for inner_out, result in zip(jaxpr.outvars, results, strict=False):
            if isinstance(inner_out, Var) and inner_out not in jaxpr.invars:
                names.alias(inner_out, "_" if result in dropped else names.name(result))
    if indent == 0:  # a top-level jaxpr's binders wrap as JAX wraps them
        head = _wrapped_head(jaxpr, names)
    else:
        consts = " ".join(names.binder(v) for v in jaxpr.constvars)
        args = " ".join(names.binder(v) for v in jaxpr.invars)
        head = f"{{ lambda {consts}; {args}. let"
    read = {a for e in jaxpr.eqns for a in e.invars if isinstance(a, Var)}
    read.update(v for v in jaxpr.outvars if isinstance(v, Var))
    eqns = [pp_eqn(e, names, indent + 4, read) for e in jaxpr.eqns]
    outs = _pp_tuple([names.atom(v) for v in jaxpr.outvars])
    one_line = f"{head} {'; '.join(eqns)} in {outs} }}"
    if "\n" not in one_line and (indent if col is None else col) + len(one_line) <= LINE_WIDTH:
        return one_line
    pad = " " * indent
    body = "".join(f"\n{pad}    {e}" for e in eqns)
    return f"{head}{body}\n{pad}  in {outs} }}"


def printed_names(jaxpr: Jaxpr | ClosedJaxpr) -> VarNames:
    """The names ``str(jaxpr)`` gives its variables, nested jaxprs' too (the printer's own
    order: the bodies printed up front first), for tools that name what the text names."""
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    names = VarNames()
    for _, body in _shared_bodies(jaxpr, names):
        pp_jaxpr(body, 0, names)
    pp_jaxpr(jaxpr, 0, names)
    return names


def _shared_bodies(top: Jaxpr, names: VarNames) -> list[tuple[str, Jaxpr]]:
    """The sub-jaxprs printed once, up front, as JAX 0.10's printer picks them: every jaxpr
    reachable from ``top`` (breadth first through every equation's params) that is reached more
    than once, or that has more than 10 equations; each named after the ``name`` param of the
    equation holding it (else ``jaxpr``), numbered when names repeat. Registered in
    ``names.shared``."""
    counts: dict[int, int] = {}
    found: dict[int, Jaxpr] = {}
    labels: dict[int, str] = {}
    queue: collections.deque[Jaxpr] = collections.deque([top])
    while queue:
        jaxpr = queue.popleft()
        key = id(jaxpr)
        found[key] = jaxpr
        counts[key] = counts.get(key, 0) + (2 if jaxpr is not top and len(jaxpr.eqns) > 10
                                            else 1)
        for eqn in jaxpr.eqns:
            subs = jaxprs_in_params(eqn.params)
            queue.extend(subs)
            name = eqn.params.get("name")
            if name is not None:
                for sub in subs:
                    labels.setdefault(id(sub), str(name).strip("<>"))
    out: list[tuple[str, Jaxpr]] = []
    used: collections.Counter[str] = collections.Counter()
    for key, count in counts.items():
        if count < 2:
            continue
        label = labels.get(key, "jaxpr")
        if (k := used[label]) > 0:  # JAX's numbering: f, f1, ...
            used[label] += 1
            label += str(k)
        used[label] += 1
        names.shared[key] = label
        out.append((label, found[key]))
    return out


def jaxprs_in_params(params: Params) -> list[Jaxpr]:
    """The jaxprs among an equation's params (alone or in tuples), in the params' order."""
    out: list[Jaxpr] = []
    for value in params.values():
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, ClosedJaxpr):
                out.append(v.jaxpr)
            elif isinstance(v, Jaxpr):
                out.append(v)
    return out


def _wrapped_head(jaxpr: Jaxpr, names: VarNames) -> str:
    """``{ lambda consts; args. let`` with the binders filling lines, continued 4 spaces in, as
    JAX's printer fills them: a binder goes on the next line when its *name* would pass column
    80 (its type, printed after it, is not counted; nor is the ``. let`` after the last)."""
    lines: list[str] = []
    line = "{ lambda "
    for group, end in ((jaxpr.constvars, "; "), (jaxpr.invars, ". let")):
        for k, v in enumerate(group):
            name, text = names.name(v), names.binder(v)
            if k and len(line) + 1 + len(name) > LINE_WIDTH:
                lines.append(line)
                line = "    " + text
            else:
                line += (" " if k else "") + text
        line += end
    return "\n".join([*lines, line])


def _pp_tuple(items: Sequence[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


call_site_primitives: set[Primitive] = set()
"""Call primitives printed as JAX 0.10 prints a ``jit``: ``name`` first, the ``jaxpr`` body
named at its call site, a body called more than once printed once up front (``calls.py``
registers ``jit``)."""

DisplayRule: TypeAlias = Callable[[Params], Params]
display_rules: dict[Primitive, DisplayRule] = {}
"""How a primitive's params are shown, where JAX's printer leaves some out or reshapes them
(``broadcast_in_dim``'s shape, implied by its binder; ``dot_general``'s None params). The
parser fills such hidden params back in (``parser.register_hidden_params``)."""


def pp_eqn(eqn: JaxprEqn, names: VarNames, indent: int, read: set[Var] | None = None) -> str:
    """One equation; results not in ``read`` (when given) print as ``_``, as JAX's do."""
    axis_names = getattr(eqn.params.get("mesh"), "axis_names", None)
    if axis_names is None:
        return _pp_eqn(eqn, names, indent, read)
    token = vma_order.set(tuple(axis_names))  # a shard_map body's vma in its mesh's order
    try:
        return _pp_eqn(eqn, names, indent, read)
    finally:
        vma_order.reset(token)


def _pp_eqn(eqn: JaxprEqn, names: VarNames, indent: int, read: set[Var] | None) -> str:
    lhs = " ".join(names.binder(v, read is not None and v not in read) for v in eqn.outvars)
    rhs = " ".join(names.atom(a) for a in eqn.invars)
    name = eqn.primitive.name
    rule = display_rules.get(eqn.primitive)
    params = eqn.params if rule is None else rule(eqn.params)
    lhs = f"{lhs} = " if lhs else ""  # an equation with no results (an effect) has no binders
    if not params:
        return f"{lhs}{name} {rhs}"
    # sorted, with a ``name`` first (JAX's printer puts a call's name before its params)
    items = sorted(params.items(), key=lambda kv: (kv[0] != "name", kv[0]))
    call: CallSite | None = None
    if eqn.primitive in call_site_primitives:  # the name first, the body named at the call site
        items.sort(key=lambda kv: (kv[0] != "name", kv[0] != "jaxpr", kv[0]))
        dropped = {v for v in eqn.outvars if read is not None and v not in read}
        call = (eqn.invars, eqn.outvars, dropped)

    def param(k: str, v: ParamValue, at: int, col: int | None = None) -> str:
        if call is not None and k == "jaxpr" and isinstance(v, (Jaxpr, ClosedJaxpr)):
            shared = names.shared.get(id(v.jaxpr if isinstance(v, ClosedJaxpr) else v))
            return shared if shared is not None else pp_jaxpr(v, at, names, call, col)
        return pp_param(v, names, at, col=col)

    flat = " ".join(f"{k}={param(k, v, indent)}" for k, v in items)
    head = f"{lhs}{name}[{flat}]"
    # As JAX's printer: the params stay on one line if they fit, whatever operands follow.
    if "\n" not in head and indent + len(head) <= LINE_WIDTH:
        return f"{head} {rhs}"
    pad = " " * indent

    def line(k: str, v: ParamValue) -> str:
        text = f"{pad}  {k}={param(k, v, indent + 2, indent + 3 + len(k))}"
        if "\n" not in text and len(text) > LINE_WIDTH and _is_jaxpr_tuple(v):
            text = f"{pad}  {k}={pp_param(v, names, indent + 2, flat=False)}"
        return text

    lines = "".join(f"\n{line(k, v)}" for k, v in items)
    return f"{lhs}{name}[{lines}\n{pad}] {rhs}"


def _is_jaxpr_tuple(value: ParamValue) -> bool:
    return isinstance(value, tuple) and bool(value) and all(
        isinstance(v, (Jaxpr, ClosedJaxpr)) for v in value)


def pp_param(value: ParamValue, names: VarNames, indent: int, flat: bool = True,
             col: int | None = None) -> str:
    """A param's text: jaxprs nested (or the name of one printed up front), dtypes by name,
    tuples and records recursively. A tuple of jaxprs that each fit on one line is printed on
    one line (unless not ``flat``)."""
    if isinstance(value, (Jaxpr, ClosedJaxpr)):
        shared = names.shared.get(id(value.jaxpr if isinstance(value, ClosedJaxpr) else value))
        return shared if shared is not None else pp_jaxpr(value, indent, names, col=col)
    if isinstance(value, np.dtype):
        return dtypes.short_name(value) if value == dtypes.float0 else value.name
    if hasattr(value, "_fields") and any(isinstance(v, (Jaxpr, ClosedJaxpr)) for v in value):
        assert isinstance(value, tuple)  # a record of jaxprs: one labelled field a line
        pad = " " * indent
        labels: tuple[str, ...] = getattr(value, "_fields")  # noqa: B009  # a NamedTuple's
        fields = "".join(f"\n{pad}  {f}={pp_param(getattr(value, f), names, indent + 2)}"
                         for f in labels)
        return f"{type(value).__name__}({fields}\n{pad})"
    if _is_jaxpr_tuple(value):
        pad = " " * indent
        if flat:
            probe = VarNames()  # (printing names variables: try on a copy first)
            probe.names, probe.count, probe.shared = dict(names.names), names.count, names.shared
            texts = [pp_param(v, probe, indent + 2) for v in value]
            if not any("\n" in t for t in texts):
                return f"({' '.join(pp_param(v, names, indent + 2) for v in value)})"
        inner = "".join(f"\n{pad}  {pp_param(v, names, indent + 2)}" for v in value)
        return f"({inner}\n{pad})"
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        fields = ", ".join(
            f"{f}={pp_param(getattr(value, f), names, indent)}" for f in value._fields
        )
        return f"{type(value).__name__}({fields})"
    if isinstance(value, (tuple, list)):  # (a string inside one is quoted, as str(tuple) is)
        parts = [repr(v) if isinstance(v, str) else pp_param(v, names, indent) for v in value]
        if isinstance(value, list):
            return f"[{', '.join(parts)}]"
        return _pp_tuple(parts) if parts else "()"
    if isinstance(value, enum.Enum) and not isinstance(value, int):
        return f"{type(value).__name__}.{value.name}"
    # addresses masked, as JAX prints them, so that a jaxpr's text is the same every run
    return _ADDRESS.sub(" at 0xXXXXXXXXXXXX>", str(value))


_ADDRESS: Final = re.compile(r" at 0x[0-9a-fA-F]+>")
