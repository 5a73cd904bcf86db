"""Backends: where arrays live and primitives run.

A :class:`Backend` owns device buffers, computes single primitives eagerly (``execute``) and, in
later layers, compiles jaxprs. :class:`ArrayImpl` is the concrete ``refjax.Array``: an aval, a
buffer and the backend that owns it. ``REFJAX_BACKEND=numpy|opencl|cuda`` picks the default.
"""

from __future__ import annotations

import abc
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from refjax.config import config
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    Literal,
    NDArray,
    Params,
    Primitive,
    ShapedArray,
    Tracer,
    Var,
    abstract_eval,
    check_size,
    get_aval,
    register_evaluator,
)
from refjax.primitives.calls import jit_p

if TYPE_CHECKING:
    from refjax.backends.sharding import NamedSharding

Buffer = Any  # a backend's own array type: numpy.ndarray, a pyopencl or cupy array

_FLAGS: Final = config._values  # the live flag values (read on every eager primitive)


@dataclass(frozen=True, slots=True)
class Device:
    """One device of a backend (``refjax.devices()``): its platform, id and process, and the
    name of the refjax backend that holds its buffers (the platform, unless said otherwise)."""

    platform: str
    id: int = 0
    backend_name: str = ""
    process_index: int = 0

    @property
    def backend(self) -> str:
        """The name of the refjax backend of this device."""
        return self.backend_name or self.platform

    @property
    def device_kind(self) -> str:
        """The kind of device (JAX's ``device_kind``)."""
        return self.platform

    def __repr__(self) -> str:
        return f"{type(self).__name__}(platform={self.platform!r}, id={self.id})"


@dataclass(frozen=True, slots=True, repr=False)
class CpuDevice(Device):
    """A (virtual) CPU device of the numpy backend, printed as JAX prints its CPU devices."""

    def __repr__(self) -> str:
        return f"CpuDevice(id={self.id})"

    def __str__(self) -> str:
        return f"cpu:{self.id}"


@dataclass(frozen=True, slots=True)
class SingleDeviceSharding:
    """The placement of an array held whole by one device (``jax.sharding``'s)."""

    device: Device
    memory_kind: str = "device"

    @property
    def device_set(self) -> set[Device]:
        """The devices holding the array: this one."""
        return {self.device}

    @property
    def is_fully_replicated(self) -> bool:
        """Whether every device holds the whole array: true, with one device."""
        return True

    def __repr__(self) -> str:
        return f"SingleDeviceSharding(device={self.device!r}, memory_kind={self.memory_kind})"


class Backend(abc.ABC):
    """A place that holds buffers and computes primitives on them.

    One backend object serves every thread: its executable cache is guarded by ``_lock``, and a
    subclass guards its own shared state (kernel caches, a device queue) the same way.
    """

    name: str

    def __init__(self) -> None:
        self._lock = threading.RLock()  # guards _executables (and a subclass's caches)
        self._executables: dict[int, tuple[ClosedJaxpr, Executable]] = {}

    @abc.abstractmethod
    def from_numpy(self, value: NDArray) -> Buffer:
        """Copy a host array (already of the target dtype) into a buffer."""

    @abc.abstractmethod
    def to_numpy(self, buffer: Buffer) -> NDArray:
        """Copy a buffer back to the host."""

    @abc.abstractmethod
    def execute(
        self,
        prim: Primitive,
        buffers: Sequence[Buffer],
        params: Params,
        out_avals: Sequence[ShapedArray],
    ) -> list[Buffer]:
        """Compute one primitive on buffers; results have exactly ``out_avals``."""

    def devices(self) -> list[Device]:
        """This backend's devices in this process (those it holds buffers for)."""
        return [Device(self.name)]

    def global_devices(self) -> list[Device]:
        """This backend's devices over every process (``refjax.distributed``); by default the
        ones of this process."""
        return self.devices()

    def prepare(
        self, prim: Primitive, params: Params, out_avals: Sequence[ShapedArray]
    ) -> Callable[..., list[Buffer]]:
        """A function computing ``prim`` with fixed params on buffers (a compiled step)."""

        def step(*buffers: Buffer) -> list[Buffer]:
            return self.execute(prim, buffers, params, out_avals)

        return step

    def compile(self, closed: ClosedJaxpr) -> Executable:
        """An executable for ``closed`` (cached per jaxpr object, built once per backend)."""
        exe = self._cached(closed)
        if exe is not None:
            return exe
        with self._lock:  # another thread may have built it while this one waited
            exe = self._cached(closed)
            if exe is None:
                _check_sizes(closed)
                exe = self.build_executable(closed)
                self._executables[id(closed)] = (closed, exe)
            return exe

    def _cached(self, closed: ClosedJaxpr) -> Executable | None:
        hit = self._executables.get(id(closed))
        return hit[1] if hit is not None and hit[0] is closed else None

    def build_executable(self, closed: ClosedJaxpr) -> Executable:
        """Prepare ``closed`` for running: by default, one prepared step per equation."""
        return StepExecutable(self, closed)

    def block_until_ready(self, buffer: Buffer) -> None:  # noqa: B027  # synchronous by default
        """Wait until ``buffer`` has been computed."""

    def from_numpy_on(self, value: NDArray, device: Device | None) -> Buffer:
        """A host array copied into a buffer on ``device`` (None: the first device): by default
        ``from_numpy`` (the backend's devices share one memory)."""
        return self.from_numpy(value)

    def copy_to(self, buffer: Buffer, device: Device) -> Buffer:
        """``buffer``'s contents on ``device``: by default the same buffer (the backend's devices
        share one memory, as the numpy backend's virtual CPU devices do)."""
        return buffer


def _check_sizes(closed: ClosedJaxpr) -> None:
    """ValueError if a value ``closed`` computes has more bytes than an int64 counts."""
    jaxpr = closed.jaxpr
    for var in [*jaxpr.invars, *(v for eqn in jaxpr.eqns for v in eqn.outvars)]:
        check_size(var.aval)


class ArrayImpl(Array):
    """A concrete array: an aval, a buffer, the backend that owns the buffer, and the device it
    was committed to (``device_put(x, device)``, or computed from committed arrays), else None:
    an uncommitted array lives on the backend's first device and may move (as JAX's)."""

    __slots__ = ("_aval", "buffer", "backend", "_device")

    def __init__(
        self, aval: ShapedArray, buffer: Buffer, backend: Backend, device: Device | None = None
    ) -> None:
        self._aval = aval
        self.buffer = buffer
        self.backend = backend
        self._device = device

    @property
    def aval(self) -> ShapedArray:
        """The abstract value."""
        return self._aval

    def _concrete_value(self) -> NDArray:
        return self.backend.to_numpy(self.buffer)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray:
        """The value as a numpy array: the (read-only) host buffer itself, or a writable copy
        when ``copy=True`` or a conversion to ``dtype`` is needed (``copy=False`` then raises,
        as numpy asks)."""
        value = self._concrete_value()
        needs_cast = dtype is not None and np.dtype(dtype) != value.dtype
        if copy is False and needs_cast:
            raise ValueError("converting to another dtype needs a copy; copy=False forbids it")
        if needs_cast:
            return value.astype(dtype)
        return value.copy() if copy else value

    def block_until_ready(self) -> ArrayImpl:
        """Wait for the computation of this array; returns the array."""
        self.backend.block_until_ready(self.buffer)
        return self

    def devices(self) -> set[Device]:
        """The devices holding this array."""
        return {self.device}

    @property
    def device(self) -> Device:
        """The device holding this array."""
        return self._device if self._device is not None else self.backend.devices()[0]

    @property
    def committed(self) -> bool:
        """Whether the array was placed on its device explicitly (JAX's ``committed``)."""
        return self._device is not None

    @property
    def sharding(self) -> SingleDeviceSharding:
        """How the array is placed: whole, on one device."""
        return SingleDeviceSharding(self.device)

    def __repr__(self) -> str:
        prefix = "Array("
        weak = ", weak_type=True" if self._aval.weak_type else ""
        dtype_text = f"dtype={self._aval.dtype.name}{weak})"
        width = int(np.get_printoptions()["linewidth"])
        if self._aval.size == 0:
            body = f"[], shape={self._aval.shape}"
        else:
            body = np.array2string(
                self._concrete_value(),
                prefix=prefix,
                suffix=",",
                separator=", ",
                max_line_width=width,
            )
        last_line = len(body) - body.rfind("\n") + 1
        sep = " " * len(prefix) if last_line + len(dtype_text) + 1 > width else " "  # as JAX
        return f"{prefix}{body},{sep}{dtype_text}"

    def __str__(self) -> str:
        return str(self._concrete_value())

    def __format__(self, spec: str) -> str:
        value = self._concrete_value()
        return format(value.item() if value.ndim == 0 else value, spec)

    def __reduce__(self) -> tuple[Callable[..., Array], tuple[NDArray]]:
        return (device_put, (self._concrete_value(),))

    def copy(self) -> ArrayImpl:
        """A copy of this array."""
        return ArrayImpl(self._aval, self.backend.from_numpy_on(self._concrete_value(),
                                                                self._device),
                         self.backend, self._device)


# ---------------------------------------------------------------------------------------------
# The backend registry and default selection

_FACTORIES: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}  # a cache: each backend is created once, on first use
_CREATING: Final = threading.Lock()  # held while a backend is created, so only one thread does
BACKEND_ENV: Final = "REFJAX_BACKEND"


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Make backend ``name`` available; ``factory`` builds it on first use."""
    _FACTORIES[name] = factory


# The default backend's name is read on every call that does not name one (a jit cache hit
# among them), so the environment is read without ``os.environ.get``'s cost (~1 us): on CPython
# ``os.environ`` keeps its values in a dict of encoded strings, ``_data``, read directly here
# (elsewhere, ``os.environ.get``). Decoded names are remembered per raw value.
_ENV_DATA: Final[Any] = getattr(os.environ, "_data", None)
_ENV_KEY: Final[Any] = os.environ.encodekey(BACKEND_ENV) if _ENV_DATA is not None else None
_env_names: dict[Any, str] = {}


def _default_name() -> str:
    """``REFJAX_BACKEND`` as it is set now, else ``numpy``."""
    if _ENV_DATA is None:
        return os.environ.get(BACKEND_ENV) or "numpy"
    raw = _ENV_DATA.get(_ENV_KEY)
    name = _env_names.get(raw)
    if name is None:
        if len(_env_names) > 64:
            _env_names.clear()
        name = _env_names[raw] = (
            os.environ.decodevalue(raw) if raw is not None else ""
        ) or "numpy"
    return name


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name``, or the default one (``REFJAX_BACKEND``, else numpy)."""
    name = name or _default_name()
    backend = _INSTANCES.get(name)
    if backend is not None:
        return backend
    with _CREATING:
        backend = _INSTANCES.get(name)  # made by another thread while this one waited
        if backend is None:
            backend = _INSTANCES[name] = _create_backend(name)
    return backend


def _create_backend(name: str) -> Backend:
    """A new backend ``name``; a RuntimeError naming it and the reason if it cannot start."""
    if name not in _FACTORIES:
        known = ", ".join(sorted(_FACTORIES))
        raise RuntimeError(f"Unknown backend {name!r}; available backends: {known}")
    try:
        return _FACTORIES[name]()
    except Exception as err:  # no package, no driver, no platform, no device ...
        reason = " ".join(f"{type(err).__name__}: {err}".split())  # one line
        raise RuntimeError(
            f"Unable to initialize backend {name!r}: {reason} (set {BACKEND_ENV}=numpy to use "
            "the CPU reference backend)"
        ) from None


def default_backend() -> str:
    """The name of the default backend."""
    return get_backend().name


# ---------------------------------------------------------------------------------------------
# Processes (``refjax.distributed``): which one this is, and how many devices each holds


@dataclass(frozen=True, slots=True)
class ProcessLayout:
    """The processes running together: this one's index, and per process how many devices of
    the numpy backend it holds (``()``: a single process, not distributed)."""

    index: int = 0
    device_counts: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        """How many processes run together."""
        return max(1, len(self.device_counts))


_LAYOUT: list[ProcessLayout] = [ProcessLayout()]


def process_layout() -> ProcessLayout:
    """The processes running together (one, unless ``refjax.distributed`` is initialized)."""
    return _LAYOUT[0]


def set_process_layout(layout: ProcessLayout) -> None:
    """Make ``layout`` the processes' layout: JAX's RuntimeError if a backend exists already
    (its devices would be those of a single process)."""
    if _INSTANCES and layout != _LAYOUT[0]:
        raise RuntimeError("refjax.distributed.initialize() must be called before any refjax "
                           "calls that might initialise a backend. This includes any "
                           "computation, but also calls to refjax.devices, refjax.device_put, "
                           "and others.")
    _LAYOUT[0] = layout


def devices(backend: str | None = None) -> list[Device]:
    """The devices of ``backend`` (the default one if None), over every process."""
    return get_backend(backend).global_devices()


def local_devices(process_index: int | None = None, backend: str | None = None) -> list[Device]:
    """The devices of ``backend`` that process ``process_index`` (this one if None) holds."""
    index = _LAYOUT[0].index if process_index is None else process_index
    return [d for d in devices(backend) if d.process_index == index]


def device_count(backend: str | None = None) -> int:
    """How many devices ``backend`` has, over every process."""
    return len(devices(backend))


def local_device_count(backend: str | None = None) -> int:
    """How many devices ``backend`` has in this process."""
    return len(local_devices(backend=backend))


def process_index(backend: str | None = None) -> int:
    """This process's index among the processes of a multi-process run (0: a single one)."""
    return _LAYOUT[0].index


def process_count(backend: str | None = None) -> int:
    """How many processes run together (1 unless ``refjax.distributed`` is initialized)."""
    return _LAYOUT[0].count


def _device_backend(device: Device | str | None) -> Backend:
    if isinstance(device, Device):
        return get_backend(device.backend)
    return get_backend(device)


def device_put(
    x: ArrayLike, device: Device | SingleDeviceSharding | NamedSharding | str | None = None
) -> ArrayImpl:
    """``x`` as a concrete array on ``device``, committed to it; with no device, on the default
    backend (an array already there stays as it is, committed or not). A ``NamedSharding``
    places it over the devices of a mesh (``backends.sharding``)."""
    if not isinstance(device, (Device, SingleDeviceSharding, str, type(None))):
        from refjax.backends.sharding import put_sharded

        return put_sharded(x, device)
    if isinstance(device, SingleDeviceSharding):
        device = device.device
    backend = _device_backend(device)
    if isinstance(x, Tracer):
        raise TypeError("device_put of a traced value: device_put needs a concrete array")
    aval = get_aval(x)
    placed = device if isinstance(device, Device) else None
    if isinstance(x, ArrayImpl) and x.backend is backend:
        if placed is None or placed == x._device:
            return x
        return ArrayImpl(aval, backend.copy_to(x.buffer, placed), backend, placed)
    return ArrayImpl(aval, backend.from_numpy_on(_host_value(x, aval), placed), backend, placed)


def result_device(args: Sequence[object], label: str, names: Sequence[str] = ()) -> Device | None:
    """The device a computation on ``args`` runs on: that of its committed arrays (None if there
    is none); JAX's ValueError for committed arrays on two devices. ``names`` name the args."""
    found: tuple[int, ArrayImpl] | None = None
    for i, x in enumerate(args):
        if type(x) is not ArrayImpl or x._device is None:
            continue
        if found is None:
            found = (i, x)
        elif x._device != found[1]._device:
            j, y = found
            raise ValueError(
                "Received incompatible devices for jitted computation. Got "
                f"{_described(j, y, label, names)} and {_described(i, x, label, names)}")
    return None if found is None else found[1]._device


def _described(i: int, x: ArrayImpl, label: str, names: Sequence[str]) -> str:
    name = names[i] if i < len(names) else f"args[{i}]"
    device = x.device
    return (f"argument {name} of {label} with shape {x.aval.str_short()} and with device ids "
            f"[{device.id}] on platform {device.platform.upper()}")


def _host_value(x: ArrayLike | Literal, aval: ShapedArray) -> NDArray:
    """A value as a host numpy array of exactly ``aval.dtype``."""
    if isinstance(x, Literal):
        x = x.val
    value = np.asarray(x)
    return value if value.dtype == aval.dtype else value.astype(aval.dtype)


def to_buffer(x: ArrayLike, aval: ShapedArray, backend: Backend) -> Buffer:
    """An operand as a buffer of ``backend`` (transferring through the host if needed)."""
    if isinstance(x, ArrayImpl) and x.backend is backend:
        return x.buffer
    return backend.from_numpy(_host_value(x, aval))


def _pick_backend(args: Sequence[ArrayLike]) -> Backend:
    """The backend of the first concrete array among ``args``, else the default."""
    for arg in args:
        if isinstance(arg, ArrayImpl):
            return arg.backend
    return get_backend()


def apply_primitive(prim: Primitive, args: Sequence[ArrayLike], params: Params) -> list[Array]:
    """Eager evaluation of one primitive: check it abstractly, then compute it on a backend."""
    avals = [get_aval(a) for a in args]
    out_avals = abstract_eval(prim, avals, params)
    for aval in out_avals:
        check_size(aval)
    backend = _pick_backend(args)
    device = result_device(args, prim.name, _OPERAND_NAMES.get(len(args), ()))
    buffers = [to_buffer(a, av, backend) for a, av in zip(args, avals, strict=True)]
    outs = backend.execute(prim, buffers, params, out_avals)
    results: list[Array] = [
        ArrayImpl(av, b, backend, device) for av, b in zip(out_avals, outs, strict=True)
    ]
    if _FLAGS["jax_debug_nans"] or _FLAGS["jax_debug_infs"]:
        kind = invalid_values(results)
        # (an invalid value already among the inputs is not this primitive's doing)
        if kind is not None and invalid_values(args) != kind:
            jaxpr = params.get("jaxpr")
            if prim is jit_p and isinstance(jaxpr, ClosedJaxpr):
                return deoptimized(f"jit({params.get('name')})", jaxpr, args)
            print(_INVALID_NOTE)
            raise FloatingPointError(f"invalid value ({kind}) encountered in {prim.name}")
    return results


# how JAX names a primitive's operands in its error for incompatible devices (lax's parameters)
_OPERAND_NAMES: Final = {1: ("x",), 2: ("x", "y")}


# what JAX prints before running a function de-optimized (it says "nan" for infinities too)
_INVALID_NOTE: Final = ("Invalid nan value encountered in the output of a jax.jit function. "
                       "Calling the de-optimized version.")


def invalid_values(values: Sequence[ArrayLike]) -> str | None:
    """``"nan"`` or ``"inf"`` if a float among ``values`` has one that ``jax_debug_nans`` or
    ``jax_debug_infs`` asks to report, else None."""
    for x in values:
        value = x._concrete_value() if isinstance(x, Array) else np.asarray(x)
        if value is None or value.dtype.kind not in "fc":
            continue
        if _FLAGS["jax_debug_nans"] and np.isnan(value).any():
            return "nan"
        if _FLAGS["jax_debug_infs"] and np.isinf(value).any():
            return "inf"
    return None


def deoptimized(label: str, closed: ClosedJaxpr, args: Sequence[ArrayLike]) -> list[Array]:
    """``closed`` run again op by op, so that the primitive making an invalid value raises
    (``jax_debug_nans``/``jax_debug_infs``), as JAX runs a jitted function de-optimized, after
    printing JAX's note."""
    from refjax.interp.core import eval_jaxpr

    print(_INVALID_NOTE)

    outs = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    kind = invalid_values(outs)
    if kind is not None:
        raise FloatingPointError(
            f"{(label, kind)!r}. Because jax_config.debug_nans.value and/or "
            "config.jax_debug_infs is set, the de-optimized function (i.e., the function as if "
            "the `jit` decorator were removed) was called in an attempt to get a more precise "
            "error message. However, the de-optimized function did not produce invalid values "
            "during its execution. This behavior can result from `jit` optimizations causing "
            "the invalid value to be produced. It may also arise from having nan/inf literals "
            "as inputs or outputs, like `jax.jit(lambda ...: jax.numpy.nan)(...)`. \n\nIt may "
            "be possible to avoid the invalid value by removing the `jit` decorator, at the "
            "cost of losing optimizations. \n\nIf you see this error, consider opening a bug "
            "report at https://github.com/jax-ml/jax."
        )
    return outs


class _RootEvaluator:
    """How the root trace (``interp.core.EvalTrace``) computes: on the arrays' backend."""

    def apply_primitive(
        self, prim: Primitive, args: Sequence[ArrayLike], params: Params
    ) -> list[Array]:
        """``prim`` on concrete ``args`` (see :func:`apply_primitive`)."""
        return apply_primitive(prim, args, params)

    def put(self, host: NDArray, aval: ShapedArray) -> Array:
        """``host`` as an array of ``aval`` on the default backend."""
        backend = get_backend()
        return ArrayImpl(aval, backend.from_numpy(host), backend)


register_evaluator(_RootEvaluator())


def block_until_ready(x: Any) -> Any:
    """Wait for every array in the pytree ``x``; returns ``x``."""
    from refjax.tree_util import tree_leaves

    for leaf in tree_leaves(x):
        if isinstance(leaf, ArrayImpl):
            leaf.block_until_ready()
    return x


# ---------------------------------------------------------------------------------------------
# Executables: a compiled jaxpr


class Executable(abc.ABC):
    """A closed jaxpr prepared by a backend: ``run`` maps input buffers to output buffers."""

    @abc.abstractmethod
    def run(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        """Compute the outputs from input buffers (constants are already inside)."""


class StepExecutable(Executable):
    """A jaxpr as a flat list of prepared steps over numbered slots: no interpretation at run."""

    __slots__ = ("initial", "in_slots", "out_slots", "steps")

    def __init__(self, backend: Backend, closed: ClosedJaxpr) -> None:
        jaxpr = closed.jaxpr
        slots: dict[Var, int] = {}
        self.initial: list[Buffer] = []

        def slot_of(atom: Var | Literal) -> int:
            if isinstance(atom, Literal):
                self.initial.append(to_buffer(atom.val, atom.aval, backend))
                return len(self.initial) - 1
            if atom not in slots:
                slots[atom] = len(self.initial)
                self.initial.append(None)
            return slots[atom]

        for var, const in zip(jaxpr.constvars, closed.consts, strict=True):
            self.initial[slot_of(var)] = to_buffer(const, var.aval, backend)
        self.in_slots = [slot_of(v) for v in jaxpr.invars]
        self.steps: list[tuple[Callable[..., list[Buffer]], list[int], list[int]]] = []
        for eqn in jaxpr.eqns:
            fn = backend.prepare(eqn.primitive, eqn.params, [v.aval for v in eqn.outvars])
            ins = [slot_of(a) for a in eqn.invars]
            self.steps.append((fn, ins, [slot_of(v) for v in eqn.outvars]))
        self.out_slots = [slot_of(v) for v in jaxpr.outvars]

    def run(self, buffers: Sequence[Buffer]) -> list[Buffer]:
        env = list(self.initial)
        for i, buf in zip(self.in_slots, buffers, strict=True):
            env[i] = buf
        for fn, ins, outs in self.steps:
            for o, r in zip(outs, fn(*[env[i] for i in ins]), strict=True):
                env[o] = r
        return [env[i] for i in self.out_slots]
