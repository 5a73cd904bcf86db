"""Adapters: how the runner asks an implementation to evaluate a case.

An adapter is any object with ``name``, ``configure(x64=...)`` and
``evaluate(program, transforms, inputs) -> outputs`` (the :class:`Adapter` protocol). Most
implementations mirror JAX's API, so :class:`JaxLikeAdapter` does the shared part: it turns the
transform stack into calls of the library's ``jit``/``vmap``/``grad``/``jvp``/``vjp``/
``linearize``/``eval_shape``, and converts values in and out. A subclass only says how to make a
Python function of a program. Two ship here: :class:`RefjaxAdapter` (any refjax backend) and
:class:`JaxAdapter` (real JAX, interpreting the jaxpr text with JAX's primitives).
"""

from __future__ import annotations

import abc
import enum
import functools
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from spec import jaxpr_text
from spec.format import (
    FLOAT0,
    LEAF,
    AxisDict,
    AxisTree,
    CustomJvpProgram,
    CustomVjpProgram,
    DType,
    EnumMember,
    EvalShape,
    Grad,
    JaxprParam,
    JaxprProgram,
    Jit,
    Jvp,
    Linearize,
    NumpyProgram,
    Param,
    PrimitiveProgram,
    Program,
    RandomProgram,
    Record,
    Transform,
    Value,
    Vjp,
    Vmap,
)

Fn = Callable[..., tuple[Any, ...]]  # a program as a function: arrays in, a tuple of arrays out


class Adapter(Protocol):
    """What the runner needs from an implementation under test."""

    name: str

    def configure(self, *, x64: bool) -> None:
        """Turn 64-bit mode (``jax_enable_x64``) on or off for the next cases."""

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        """The outputs of ``program`` under ``transforms`` (outermost first) on ``inputs``.

        Raise the implementation's own exception for an error: the runner matches its class
        name (or a base class's) and message against the case.
        """
        ...


@dataclass(frozen=True)
class Capabilities:
    """What an adapter can run; None means everything. The runner skips (never fails) a case
    that needs more, and never asks the adapter for it.

    - ``transforms``: names from ``eval`` (a program with no transformation), ``jit``,
      ``eval_shape``, ``vmap``, ``grad``, ``jvp``, ``vjp``, ``linearize``; a case needs every
      name in its stack (``eval`` if the stack is empty).
    - ``dtypes``: numpy dtype names; a case needs those of its inputs, consts, tangents,
      cotangents and expected outputs.
    - ``primitives``: a case needs those it is about and those in its program.
    - ``x64``: whether cases with ``jax_enable_x64`` on can run.

    An adapter declares them as a ``capabilities`` attribute; without one it supports everything.
    """

    transforms: frozenset[str] | None = None
    dtypes: frozenset[str] | None = None
    primitives: frozenset[str] | None = None
    x64: bool = True


EVERYTHING: Final = Capabilities()


def capabilities_of(adapter: object) -> Capabilities:
    """An adapter's declared capabilities (everything if it declares none)."""
    caps = getattr(adapter, "capabilities", None)
    return caps if isinstance(caps, Capabilities) else EVERYTHING


# ---------------------------------------------------------------------------------------------
# What JAX's printer hides, and the shared part for libraries with JAX's API

# Params JAX's printer leaves out at their defaults (its pp rules), as cases leave them out too;
# broadcast_in_dim's shape comes from the equation's output type.
_UNARY_WITH_ACCURACY: Final = "exp exp2 log expm1 log1p tanh logistic sin cos tan sqrt rsqrt cbrt"
HIDDEN_DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "broadcast_in_dim": {"broadcast_dimensions": (), "sharding": None},
    "convert_element_type": {"sharding": None},
    "dot_general": {"precision": None, "preferred_element_type": None, "out_sharding": None},
    "mul": {"out_dtype": None},
    "dce_sink": {"prevent_mlir_dce": False},
    **{name: {"accuracy": None} for name in _UNARY_WITH_ACCURACY.split()},
}


def _restrict(f: Fn, args: Sequence[Any], argnums: Sequence[int]) -> Fn:
    """``f`` as a function of the arguments ``argnums`` only, the others fixed to ``args``."""

    def g(*diff: Any) -> tuple[Any, ...]:
        full = list(args)
        for i, x in zip(argnums, diff, strict=True):
            full[i] = x
        return f(*full)

    return g


def _only(out: tuple[Any, ...]) -> Any:
    """The single output of a one-output function (grad differentiates that)."""
    return out[0] if len(out) == 1 else out


def _split_aux(f: Fn) -> Callable[..., tuple[Any, Any]]:
    """``f`` as ``has_aux`` functions want it: (its outputs but the last, its last output)."""

    def g(*args: Any) -> tuple[Any, Any]:
        out = f(*args)
        return tuple(out[:-1]), out[-1]

    return g


def _python_axes(axes: AxisTree) -> Any:
    """An axis tree as JAX's APIs take it: tuples and dicts."""
    if isinstance(axes, tuple):
        return tuple(_python_axes(a) for a in axes)
    if isinstance(axes, AxisDict):
        return {k: _python_axes(v) for k, v in axes.items}
    return axes


def _unflatten(structure: AxisTree, leaves: list[Any]) -> Any:
    """Fill ``structure``'s leaves from the front of ``leaves`` (dict keys sorted)."""
    if isinstance(structure, tuple):
        return tuple(_unflatten(s, leaves) for s in structure)
    if isinstance(structure, AxisDict):
        return {k: _unflatten(s, leaves) for k, s in sorted(structure.items)}
    assert structure == LEAF, structure
    return leaves.pop(0)


def _flatten(structure: AxisTree, tree: Any) -> list[Any]:
    """The leaves of ``tree`` in ``structure``'s order."""
    if isinstance(structure, tuple):
        return [x for s, t in zip(structure, tree, strict=True) for x in _flatten(s, t)]
    if isinstance(structure, AxisDict):
        return [x for k, s in sorted(structure.items) for x in _flatten(s, tree[k])]
    return [tree]


def _static(value: Param) -> Any:
    """A param as a Python keyword argument: tuples, numpy dtypes, scalars."""
    if isinstance(value, tuple):
        return tuple(_static(v) for v in value)
    if isinstance(value, DType):
        return np.dtype(value.name)
    return value


class JaxLikeAdapter(abc.ABC):
    """An adapter for a library whose ``api`` module has JAX's transformation functions."""

    name: str = "jax-like"
    api: Any  # jit, vmap, grad, jvp, vjp, linearize, eval_shape, ShapeDtypeStruct

    @abc.abstractmethod
    def configure(self, *, x64: bool) -> None:
        """Turn 64-bit mode on or off."""

    @abc.abstractmethod
    def program_function(self, program: Program) -> Fn:
        """``program`` as a Python function of arrays returning a tuple of arrays."""

    # -- values ----------------------------------------------------------------------------
    def to_input(self, value: Value) -> Any:
        """A case value as an argument: a numpy array, a weak scalar, or a ShapeDtypeStruct."""
        if value.dtype == FLOAT0:
            return np.zeros(value.shape, self.api.dtypes.float0)
        if value.data is None:
            dtype = np.dtype(value.dtype)
            return self.api.ShapeDtypeStruct(value.shape, dtype, weak_type=value.weak_type)
        if value.weak_type:
            return self.weak_input(value)
        return np.asarray(value.data)

    def weak_input(self, value: Value) -> Any:
        """A weakly typed scalar: ``numpy.asarray`` of a Python scalar, as in JAX."""
        assert value.data is not None
        out = self.api.numpy.asarray(value.data.item())
        if value.shape or np.dtype(out.dtype) != np.dtype(value.dtype):
            raise NotImplementedError(f"a weakly typed {value.type_str()} input")
        return out

    def to_value(self, out: Any) -> Value:
        """An output as a case value (abstract for ``eval_shape`` results)."""
        weak = bool(getattr(out, "weak_type", False))
        if isinstance(out, self.api.ShapeDtypeStruct):
            return Value(np.dtype(out.dtype).name, tuple(out.shape), weak, None)
        array = np.asarray(out)
        if array.dtype.names == (FLOAT0,):
            return Value.float0(tuple(array.shape))
        return Value(array.dtype.name, tuple(array.shape), weak, array)

    # -- transforms ------------------------------------------------------------------------
    def transform(self, t: Transform, f: Fn) -> Fn:
        """``f`` under one transformation; every result is a flat tuple of arrays."""
        api = self.api
        if isinstance(t, Jit):
            return api.jit(f)  # type: ignore[no-any-return]  # the library's jit
        if isinstance(t, EvalShape):
            return lambda *args: tuple(api.eval_shape(f, *args))
        if isinstance(t, Vmap):
            return self._vmap(t, f)
        if isinstance(t, Grad):
            if t.has_aux:
                grad_aux = api.grad(
                    lambda *a: (f(*a)[0], f(*a)[1:]), argnums=t.argnums, has_aux=True,
                    allow_int=t.allow_int,
                )
                return lambda *args: (lambda g: (*g[0], *g[1]))(grad_aux(*args))
            grad = api.grad(lambda *a: _only(f(*a)), argnums=t.argnums, allow_int=t.allow_int)
            return lambda *args: tuple(grad(*args))
        if isinstance(t, Jvp):
            return functools.partial(self._jvp, t, f)
        if isinstance(t, Linearize):
            return functools.partial(self._linearize, t, f)
        return functools.partial(self._vjp, t, f)

    def _vmap(self, t: Vmap, f: Fn) -> Fn:
        in_axes = _python_axes(t.in_axes)
        out_axes = _python_axes(t.out_axes)
        kwargs = {} if t.axis_size is None else {"axis_size": t.axis_size}
        if t.in_tree is None:
            return self.api.vmap(f, in_axes=in_axes, out_axes=out_axes, **kwargs)  # type: ignore[no-any-return]  # the library's vmap
        structure = t.in_tree
        mapped = self.api.vmap(
            lambda *trees: f(*_flatten(structure, trees)),
            in_axes=in_axes,
            out_axes=out_axes,
            **kwargs,
        )
        return lambda *flat: tuple(mapped(*_unflatten(structure, list(flat))))

    def _jvp(self, t: Jvp, f: Fn, *args: Any) -> tuple[Any, ...]:
        g = _restrict(f, args, t.argnums)
        primals = [args[i] for i in t.argnums]
        tangents = [self.to_input(v) for v in t.tangents]
        if t.has_aux:
            outs, tangents_out, aux = self.api.jvp(_split_aux(g), primals, tangents, has_aux=True)
            return (*outs, *tangents_out, aux)
        outs, tangents_out = self.api.jvp(g, primals, tangents)
        return (*outs, *tangents_out)

    def _linearize(self, t: Linearize, f: Fn, *args: Any) -> tuple[Any, ...]:
        g = _restrict(f, args, t.argnums)
        tangents = [self.to_input(v) for v in t.tangents]
        if t.has_aux:
            outs, f_jvp, aux = self.api.linearize(
                _split_aux(g), *[args[i] for i in t.argnums], has_aux=True
            )
            return (*outs, *f_jvp(*tangents), aux)
        outs, f_jvp = self.api.linearize(g, *[args[i] for i in t.argnums])
        return (*outs, *f_jvp(*tangents))

    def _vjp(self, t: Vjp, f: Fn, *args: Any) -> tuple[Any, ...]:
        g = _restrict(f, args, t.argnums)
        cotangents = tuple(self.to_input(v) for v in t.cotangents)
        if t.has_aux:
            outs, pullback, aux = self.api.vjp(
                _split_aux(g), *[args[i] for i in t.argnums], has_aux=True
            )
            return (*outs, *pullback(cotangents), aux)
        outs, pullback = self.api.vjp(g, *[args[i] for i in t.argnums])
        return (*outs, *pullback(cotangents))

    # -- programs the library's API states (custom derivatives, random) ------------------------
    def api_program_function(self, program: Program) -> Fn | None:
        """custom_jvp, custom_vjp and random programs through the library's own API (their
        jaxprs through ``program_function``); None for the other kinds."""
        if isinstance(program, CustomJvpProgram):
            return self._custom_jvp(program)
        if isinstance(program, CustomVjpProgram):
            return self._custom_vjp(program)
        if isinstance(program, RandomProgram):
            fn = getattr(self.api.random, program.function)
            params = {k: _static(v) for k, v in program.params}
            return lambda *args: (fn(*args, **params),)
        return None

    def _custom_jvp(self, program: CustomJvpProgram) -> Fn:
        primal = self.program_function(JaxprProgram(program.primal))
        rule = self.program_function(JaxprProgram(program.jvp))
        nondiff = program.nondiff_argnums
        f = self.api.custom_jvp(lambda *xs: tuple(primal(*xs)), nondiff_argnums=nondiff)

        def jvp(*args: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
            *fixed, primals, tangents = args
            outs = rule(*fixed, *primals, *tangents)
            n = len(outs) // 2
            return tuple(outs[:n]), tuple(outs[n:])

        f.defjvp(jvp)
        return lambda *args: tuple(f(*args))

    def _custom_vjp(self, program: CustomVjpProgram) -> Fn:
        primal = self.program_function(JaxprProgram(program.primal))
        fwd = self.program_function(JaxprProgram(program.fwd))
        bwd = self.program_function(JaxprProgram(program.bwd))
        n_out = len(jaxpr_text.read_jaxpr(program.primal).outs)
        f = self.api.custom_vjp(lambda *xs: tuple(primal(*xs)))

        def forward(*xs: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
            outs = fwd(*xs)
            return tuple(outs[:n_out]), tuple(outs[n_out:])

        def backward(res: tuple[Any, ...], cts: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(bwd(*res, *cts))

        f.defvjp(forward, backward)
        return lambda *args: tuple(f(*args))

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        """Build the program's function, wrap it in the transforms, call it, convert back."""
        f = self.api_program_function(program) or self.program_function(program)
        for t in reversed(transforms):
            f = self.transform(t, f)
        outs = f(*[self.to_input(v) for v in inputs])
        return [self.to_value(o) for o in outs]


# ---------------------------------------------------------------------------------------------
# refjax


def _classes_in(package: str) -> dict[str, type]:
    """The Enum and NamedTuple classes defined in the modules of ``package``, by name."""
    root = importlib.import_module(package)
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(root.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        for value in vars(module).values():
            record = (
                isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields")
            )
            if isinstance(value, type) and (issubclass(value, enum.Enum) or record):
                found.setdefault(value.__name__, value)
    return found


class RefjaxAdapter(JaxLikeAdapter):
    """refjax on one backend: ``backend`` if given, else ``REFJAX_BACKEND`` (else numpy)."""

    capabilities = EVERYTHING

    def __init__(self, backend: str | None = None) -> None:
        import refjax

        self.api = refjax
        self.backend = backend or os.environ.get("REFJAX_BACKEND") or "numpy"
        self.name = f"refjax ({self.backend})"
        self._classes = _classes_in("refjax.primitives")

    def configure(self, *, x64: bool) -> None:
        """Set refjax's ``jax_enable_x64``."""
        self.api.config.update("jax_enable_x64", x64)

    def to_input(self, value: Value) -> Any:
        """Inputs with data live on this adapter's backend."""
        x = super().to_input(value)
        return x if value.data is None else self.api.device_put(x, self.backend)

    def evaluate(
        self, program: Program, transforms: Sequence[Transform], inputs: Sequence[Value]
    ) -> list[Value]:
        """Evaluate with this backend as refjax's default (for constants and literals too)."""
        saved = os.environ.get("REFJAX_BACKEND")
        os.environ["REFJAX_BACKEND"] = self.backend
        try:
            return super().evaluate(program, transforms, inputs)
        finally:
            if saved is None:
                del os.environ["REFJAX_BACKEND"]
            else:
                os.environ["REFJAX_BACKEND"] = saved

    def program_function(self, program: Program) -> Fn:
        """Jaxprs through refjax's parser; primitives by name; numpy functions from refjax."""
        from refjax.interp.core import eval_jaxpr
        from refjax.interp.parser import parse_jaxpr

        if isinstance(program, JaxprProgram):
            consts = [np.asarray(c.data) for c in program.consts]
            closed = parse_jaxpr(program.text, consts)
            return lambda *args: tuple(eval_jaxpr(closed.jaxpr, closed.consts, *args))
        if isinstance(program, PrimitiveProgram):
            return self._primitive(program)
        assert isinstance(program, NumpyProgram), program  # the others: api_program_function
        fn = getattr(self.api.numpy, program.function)
        return lambda *args: (fn(*args),)

    def _primitive(self, program: PrimitiveProgram) -> Fn:
        from refjax.interp.core import abstract_eval_rules

        by_name = {p.name: p for p in abstract_eval_rules}
        if program.name not in by_name:
            raise NotImplementedError(f"refjax has no primitive {program.name!r}")
        prim = by_name[program.name]
        params = {k: self._param(program.name, k, v) for k, v in program.params}
        if program.name in _REFJAX_HIDDEN:  # what refjax's parser fills for JAX's text
            params = {**HIDDEN_DEFAULTS[program.name], **params}
        return lambda *args: tuple(prim.bind_all(*args, **params))

    def _param(self, prim: str, key: str, value: Param) -> Any:
        from refjax.interp.parser import parse_jaxpr

        if isinstance(value, tuple):
            return tuple(self._param(prim, key, v) for v in value)
        if isinstance(value, DType):
            return np.dtype(value.name)
        if isinstance(value, EnumMember):
            return self._classes[value.owner][value.member]  # type: ignore[index]  # an Enum
        if isinstance(value, Record):
            cls = self._classes[value.name]
            return cls(**{k: self._param(prim, key, v) for k, v in value.fields})
        if isinstance(value, JaxprParam):
            closed = parse_jaxpr(value.text)
            return closed.jaxpr if key == "update_jaxpr" else closed
        return value


# ---------------------------------------------------------------------------------------------
# Real JAX

# Params JAX prints as bare numbers (IntEnum members) or bare member names but binds as its
# enum.
_INT_ENUMS: Final = {("fft", "fft_type"): "FftType"}
_NAMED_ENUMS: Final = {("rng_bit_generator", "algorithm"): "RandomAlgorithm"}
# Params whose value is a primitive, printed by its name (``select_prim=ge``).
_PRIMITIVE_PARAMS: Final = frozenset({("select_and_gather_add", "select_prim"),
                                      ("select_and_scatter_add", "select_prim")})

# Jaxpr params JAX holds open (a ``Jaxpr``, not a ``ClosedJaxpr``), besides ``update_jaxpr``.
_OPEN: Final = frozenset({("remat2", "jaxpr")})

# The primitives whose hidden params refjax has (refjax.interp.parser fills them from text).
_REFJAX_HIDDEN: Final = ("broadcast_in_dim", "dot_general")
_DEFAULT_KINDS: Final = {
    False: {"int32", "float32", "complex64"},
    True: {"int64", "float64", "complex128"},
}


class JaxAdapter(JaxLikeAdapter):
    """Real JAX: jaxpr text is interpreted by binding JAX's primitives, control flow through
    ``lax.switch``/``while_loop``/``scan`` and ``jit`` calls through ``jax.jit``."""

    name = "jax"
    capabilities = EVERYTHING

    def __init__(self) -> None:
        self.api = importlib.import_module("jax")
        self.lax: Any = importlib.import_module("jax.lax")
        prims: Any = importlib.import_module("jax.extend.core.primitives")
        primitive_type = importlib.import_module("jax.extend.core").Primitive
        self.primitives: dict[str, Any] = {}
        for module in (prims, *_jax_lax_modules()):
            for value in vars(module).values():
                if isinstance(value, primitive_type):
                    self.primitives.setdefault(value.name, value)
        self.classes: dict[str, Any] = {}
        for module in (self.lax, *_jax_lax_modules()):
            for value in vars(module).values():
                if isinstance(value, type) and value.__name__ not in self.classes:
                    self.classes[value.__name__] = value
        self.x64 = False

    def configure(self, *, x64: bool) -> None:
        """Set JAX's ``jax_enable_x64``."""
        self.api.config.update("jax_enable_x64", x64)
        self.x64 = x64

    def program_function(self, program: Program) -> Fn:
        """Interpret jaxpr text; bind primitives by name; numpy functions from jax.numpy."""
        if isinstance(program, JaxprProgram):
            jaxpr = jaxpr_text.read_jaxpr(program.text)
            consts = [np.asarray(c.data) for c in program.consts]
            return lambda *args: tuple(self.interpret(jaxpr, consts, args))
        if isinstance(program, PrimitiveProgram):
            prim = self._primitive(program.name)
            params = {k: self._param(program.name, k, v) for k, v in program.params}
            params = {**HIDDEN_DEFAULTS.get(program.name, {}), **params}
            if prim.multiple_results:
                return lambda *args: tuple(prim.bind(*args, **params))
            return lambda *args: (prim.bind(*args, **params),)
        assert isinstance(program, NumpyProgram), program  # the others: api_program_function
        fn = getattr(importlib.import_module("jax.numpy"), program.function)
        return lambda *args: (fn(*args),)

    def _primitive(self, name: str) -> Any:
        if name not in self.primitives:
            raise NotImplementedError(f"JAX has no primitive {name!r}")
        return self.primitives[name]

    # -- the interpreter -------------------------------------------------------------------
    def interpret(
        self, jaxpr: jaxpr_text.Jaxpr, consts: Sequence[Any], args: Sequence[Any]
    ) -> list[Any]:
        """Run ``jaxpr`` with JAX, equation by equation."""
        env: dict[str, Any] = {}

        def read(atom: jaxpr_text.Atom) -> Any:
            return self._literal(atom) if isinstance(atom, jaxpr_text.Lit) else env[atom.name]

        for var, value in zip((*jaxpr.constvars, *jaxpr.invars), (*consts, *args), strict=True):
            env[var.name] = value
        for eqn in jaxpr.eqns:
            outs = self._apply(eqn, [read(a) for a in eqn.ins])
            for var, out in zip(eqn.outs, outs, strict=True):
                env[var.name] = out
        return [read(a) for a in jaxpr.outs]

    def _literal(self, lit: jaxpr_text.Lit) -> Any:
        if lit.type.dtype in _DEFAULT_KINDS[self.x64]:
            return lit.value  # weakly typed, as a Python scalar
        return np.asarray(lit.value, dtype=lit.type.dtype)

    def _sub(self, value: Param) -> Callable[..., list[Any]]:
        sub = jaxpr_text.jaxpr_param(value)
        return lambda *args: self.interpret(sub, [], args)

    def _apply(self, eqn: jaxpr_text.Eqn, ins: list[Any]) -> list[Any]:
        name = eqn.primitive
        if name in ("jit", "pjit", "closed_call", "core_call"):
            return list(self.api.jit(self._sub(eqn.param("jaxpr")))(*ins))
        if name == "cond":
            branches = eqn.param("branches")
            assert isinstance(branches, tuple)
            return list(self.lax.switch(ins[0], [self._sub(b) for b in branches], *ins[1:]))
        if name == "while":
            return self._while(eqn, ins)
        if name == "scan":
            return self._scan(eqn, ins)
        prim = self._primitive(name)
        params = {k: self._param(name, k, v) for k, v in eqn.params}
        if name == "round":  # printed as the IntEnum's value
            params["rounding_method"] = self.lax.RoundingMethod(params["rounding_method"])
        if name == "broadcast_in_dim":
            params.setdefault("shape", eqn.outs[0].type.shape)
        if name == "reduce" and "computation" not in params:  # the jaxpr says what it computes
            params["computation"] = self._sub(eqn.param("jaxpr"))
        params = {**HIDDEN_DEFAULTS.get(name, {}), **params}
        out = prim.bind(*ins, **params)
        return list(out) if prim.multiple_results else [out]

    def _while(self, eqn: jaxpr_text.Eqn, ins: list[Any]) -> list[Any]:
        nc, nb = eqn.param("cond_nconsts"), eqn.param("body_nconsts")
        assert isinstance(nc, int) and isinstance(nb, int)
        cconsts, bconsts, init = ins[:nc], ins[nc : nc + nb], ins[nc + nb :]
        cond, body = self._sub(eqn.param("cond_jaxpr")), self._sub(eqn.param("body_jaxpr"))
        return list(
            self.lax.while_loop(
                lambda c: cond(*cconsts, *c)[0], lambda c: body(*bconsts, *c), list(init)
            )
        )

    def _scan(self, eqn: jaxpr_text.Eqn, ins: list[Any]) -> list[Any]:
        nconsts, ncarry = eqn.param("num_consts"), eqn.param("num_carry")
        assert isinstance(nconsts, int) and isinstance(ncarry, int)
        consts, init, xs = ins[:nconsts], ins[nconsts : nconsts + ncarry], ins[nconsts + ncarry :]
        body = self._sub(eqn.param("jaxpr"))

        def step(carry: list[Any], x: list[Any]) -> tuple[list[Any], list[Any]]:
            out = body(*consts, *carry, *x)
            return out[:ncarry], out[ncarry:]

        carry, ys = self.lax.scan(
            step,
            list(init),
            list(xs),
            length=eqn.param("length"),
            reverse=bool(eqn.param("reverse")),
        )
        return [*carry, *ys]

    def _param(self, prim: str, key: str, value: Param) -> Any:
        if isinstance(value, tuple):
            return tuple(self._param(prim, key, v) for v in value)
        if isinstance(value, DType):
            return np.dtype(value.name)
        if isinstance(value, EnumMember):
            return self.classes[value.owner][value.member]
        if (prim, key) in _INT_ENUMS and isinstance(value, int):  # printed as a bare number
            return self.classes[_INT_ENUMS[prim, key]](value)
        if (prim, key) in _NAMED_ENUMS and isinstance(value, str):  # printed as a bare name
            return self.classes[_NAMED_ENUMS[prim, key]][value]
        if (prim, key) in _PRIMITIVE_PARAMS:
            return self.primitives[str(value)]
        if isinstance(value, Record):
            fields = {k: self._param(prim, key, v) for k, v in value.fields}
            return self.classes[value.name](**fields)
        if isinstance(value, JaxprParam):
            return self._jax_jaxpr(value, open_=key == "update_jaxpr" or (prim, key) in _OPEN)
        return value

    def _jax_jaxpr(self, value: JaxprParam, open_: bool) -> Any:
        """A JAX jaxpr for a jaxpr-valued param, made by tracing our interpreter of it."""
        sub = jaxpr_text.jaxpr_param(value)
        avals = [
            self.api.ShapeDtypeStruct(v.type.shape, np.dtype(v.type.dtype)) for v in sub.invars
        ]
        closed = self.api.make_jaxpr(lambda *a: self.interpret(sub, [], a))(*avals)
        return closed.jaxpr if open_ else closed


def _jax_lax_modules() -> list[Any]:
    """JAX's lax implementation modules (for param classes jax.lax does not re-export)."""
    return [m for name, m in sorted(sys.modules.items()) if name.startswith("jax._src.lax")]


# ---------------------------------------------------------------------------------------------

ADAPTERS: Final[dict[str, Callable[[str | None], Adapter]]] = {
    "refjax": lambda backend: RefjaxAdapter(backend),
    "jax": lambda backend: JaxAdapter(),
}


def make_adapter(name: str, backend: str | None = None) -> Adapter:
    """The adapter called ``name`` (``refjax`` or ``jax``), or ``module:Class`` of your own."""
    if name in ADAPTERS:
        return ADAPTERS[name](backend)
    module, _, cls = name.partition(":")
    if not cls:
        raise ValueError(f"unknown adapter {name!r}: use refjax, jax or module:Class")
    adapter: Adapter = getattr(importlib.import_module(module), cls)()
    return adapter
