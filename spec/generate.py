"""Writes spec/cases/*.json from sources independent of refjax, and checks every case on real JAX.

    .venv/bin/python -m spec.generate            # all topics
    .venv/bin/python -m spec.generate --only promotion

Where each part comes from:

- **programs**: jaxpr text printed by real JAX (``jax.make_jaxpr``) for the op records of
  ``tests/primitives/records*.py``, for the base functions below, and for control flow;
- **inputs**: the records' args makers (seeded from the case id) and seeded normals;
- **expected values**: the records' numpy references and the numpy functions below, under
  :func:`numpy_meaning`, the transformations' definitions in numpy: a loop over slices for vmap,
  fourth-order central differences in float64 for jvp, grad, vjp and linearize;
- **expected types** (dtype, shape, weak type) and **errors** (class and message): real JAX, the
  oracle; the promotion cases' types come from the lattice table below, checked against JAX.

Every case is then run through the JAX adapter: a case JAX fails is reported and left out, unless a
wider tolerance documented in its ``notes`` makes it pass. Nothing here imports refjax's
transformations (refjax is imported only to list the primitives it defines, for coverage).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import itertools
import json
import re
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np

from spec.adapters import HIDDEN_DEFAULTS, JaxAdapter
from spec.format import (
    CASES_DIR,
    Case,
    Check,
    DType,
    EnumMember,
    Error,
    EvalShape,
    Grad,
    JaxprParam,
    JaxprProgram,
    Jit,
    Jvp,
    Linearize,
    NDArray,
    NumpyProgram,
    Outputs,
    Param,
    PrimitiveProgram,
    Program,
    Record,
    Transform,
    Value,
    Vjp,
    Vmap,
    derivative_outputs,
    dump_topic,
    load_cases,
    load_json,
)
from spec.jaxpr_text import read_jaxpr
from spec.runner import compare
from spec.sensitivity import EPS, GAPS_HEAD, INSENSITIVE_HEAD, gaps, insensitivity
from tests.primitives.records import FAMILIES, OpRecord, all_records, random_values

jax: Any = importlib.import_module("jax")
jnp: Any = importlib.import_module("jax.numpy")
lax: Any = importlib.import_module("jax.lax")

NpFn = Callable[..., tuple[NDArray, ...]]
Shapes = Sequence[tuple[int, ...]]

WIDE: Final = frozenset({"float64", "int64", "uint64", "complex128"})
F32, F64, C64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex64)
C128 = np.dtype(np.complex128)
VALUE_TOL: Final = {
    "float16": 1e-3,
    "float32": 1e-6,
    "float64": 1e-15,
    "complex64": 1e-6,
    "complex128": 1e-15,
}
GRAD_TOL: Final = {"float32": 2e-3, "float64": 1e-5, "complex64": 2e-3, "complex128": 1e-5}
# fourth-order central differences: error ~ h^4, noise ~ eps / h; each element takes the step
# whose estimate agrees best with the next larger one's (see _directional)
FD_STEPS: Final = (4e-3, 1e-3, 2.5e-4, 6.25e-5)
FD_NOISE: Final = 1e-10  # below this (relative to the outputs), a finite difference is zero
# Derivative checks: ulps of the output dtype, ULP_MARGIN times what JAX needs, at least MIN_ULPS
ULP_MARGIN: Final = 8
MIN_ULPS: Final = 16
JAX_NOTE: Final = f"checked against JAX {jax.__version__}"


def seed_of(text: str) -> int:
    """A deterministic seed for a case id."""
    return zlib.crc32(text.encode())


def set_x64(x64: bool) -> None:
    """JAX's 64-bit mode."""
    jax.config.update("jax_enable_x64", x64)


def is_wide(arrays: Sequence[NDArray]) -> bool:
    """Whether any array has a 64-bit dtype (the case then runs with x64 on)."""
    return any(np.asarray(a).dtype.name in WIDE for a in arrays)


def flat(out: Any) -> tuple[Any, ...]:
    """An op's output as a tuple."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


# ---------------------------------------------------------------------------------------------
# The transformations' meaning in numpy: loops and finite differences


def _upcast(x: NDArray) -> NDArray:
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x.astype(np.float64)
    if x.dtype.kind == "c":
        return x.astype(np.complex128)
    return x


def _directional(
    f: NpFn, args: Sequence[NDArray], argnums: Sequence[int], tangents: Sequence[NDArray]
) -> tuple[NDArray, ...]:
    """d/ds f(args + s * tangents) at s = 0, by fourth-order central differences.

    Each element takes the step of FD_STEPS whose estimate agrees best with the next larger
    step's (a step too large for a nearby singularity or kink disagrees; one too small is
    rounding noise)."""

    def at(s: float) -> tuple[NDArray, ...]:
        moved = [_upcast(a) for a in args]
        for i, t in zip(argnums, tangents, strict=True):
            moved[i] = moved[i] + s * _upcast(t)
        return tuple(_upcast(o) for o in f(*moved))

    def central(h: float) -> tuple[NDArray, ...]:
        m2, m1, p1, p2 = at(-2 * h), at(-h), at(h), at(2 * h)
        return tuple(
            (a - 8 * b + 8 * c - d) / (12 * h) for a, b, c, d in zip(m2, m1, p1, p2, strict=True)
        )

    estimates = [central(h) for h in FD_STEPS]
    out = []
    for j in range(len(estimates[0])):
        ests = np.stack([np.asarray(e[j]) for e in estimates])  # (steps, *shape)
        with np.errstate(invalid="ignore"):
            gaps = np.abs(ests[1:] - ests[:-1])
        gaps = np.where(np.isnan(gaps), np.inf, gaps)
        best = np.argmin(gaps, axis=0) + 1 if len(FD_STEPS) > 1 else np.zeros((), int)
        out.append(np.take_along_axis(ests, np.expand_dims(best, 0), axis=0)[0])
    return tuple(out)


def _basis(shape: tuple[int, ...]) -> Iterator[NDArray]:
    for k in range(int(np.prod(shape, dtype=int))):
        e = np.zeros(int(np.prod(shape, dtype=int)))
        e[k] = 1.0
        yield e.reshape(shape)


def _pair(cotangents: Sequence[NDArray], tangents: Sequence[NDArray]) -> float:
    """<ct, t> = Re sum(ct * t): the pairing JAX's transposes use (real for real arrays)."""
    return float(
        sum(np.sum(_upcast(c) * d).real for c, d in zip(cotangents, tangents, strict=True))
    )


def fd_vjp(
    f: NpFn, args: Sequence[NDArray], argnums: Sequence[int], cotangents: Sequence[NDArray]
) -> tuple[NDArray, ...]:
    """The transpose of the jvp: ct_in[k] = <ct, J e_k> (- i <ct, J (i e_k)> for complex
    inputs), one column of J at a time."""
    out = []
    for i in argnums:
        shape = np.shape(args[i])
        complex_in = np.iscomplexobj(args[i])
        grads: list[complex] = []
        for e in _basis(shape):
            g: complex = _pair(cotangents, _directional(f, args, [i], [e]))
            if complex_in:
                g -= 1j * _pair(cotangents, _directional(f, args, [i], [1j * e]))
            grads.append(g)
        out.append(
            np.asarray(grads, dtype=np.complex128 if complex_in else np.float64).reshape(shape)
        )
    return tuple(out)


def flat_axes(t: Vmap) -> tuple[tuple[int | None, ...], int]:
    """A vmap's axes when they are flat (an int or None per input, one int out_axes): the only
    form the per-primitive cases use (the axis trees are spec/generate_transforms.py's)."""
    ins, out = t.in_axes, t.out_axes
    if not isinstance(ins, tuple) or not isinstance(out, int):
        raise TypeError(f"not a flat vmap: {t}")
    flat: list[int | None] = []
    for ax in ins:
        if ax is not None and not isinstance(ax, int):
            raise TypeError(f"not a flat vmap: {t}")
        flat.append(ax)
    return tuple(flat), out


def _vmap_loop(f: NpFn, t: Vmap, args: Sequence[NDArray]) -> tuple[NDArray, ...]:
    """Stack f over slices: the meaning of vmap."""
    in_axes, out_axes = flat_axes(t)
    sizes = {np.shape(a)[ax] for a, ax in zip(args, in_axes, strict=True) if ax is not None}
    (size,) = sizes

    def slice_at(i: int) -> list[NDArray]:
        return [
            a if ax is None else np.take(a, i, axis=ax)
            for a, ax in zip(args, in_axes, strict=True)
        ]

    if size == 0:
        dummy = [
            a if ax is None else np.zeros(np.delete(np.shape(a), ax), np.asarray(a).dtype)
            for a, ax in zip(args, in_axes, strict=True)
        ]
        like = f(*dummy)
        return tuple(
            np.moveaxis(np.zeros((0, *np.shape(o)), np.asarray(o).dtype), 0, out_axes)
            for o in like
        )
    rows = [f(*slice_at(i)) for i in range(size)]
    return tuple(
        np.moveaxis(np.stack([np.asarray(r[j]) for r in rows]), 0, out_axes)
        for j in range(len(rows[0]))
    )


def numpy_meaning(ref: NpFn, transforms: Sequence[Transform]) -> NpFn:
    """``ref`` under ``transforms`` (outermost first), by definition: loops and differences."""
    if not transforms:
        return ref
    t, inner = transforms[0], numpy_meaning(ref, transforms[1:])
    if isinstance(t, (Jit, EvalShape)):
        return inner
    if isinstance(t, Vmap):
        return lambda *args: _vmap_loop(inner, t, args)
    if isinstance(t, Grad):

        def grad(*args: NDArray) -> tuple[NDArray, ...]:
            (out,) = inner(*args)
            return fd_vjp(inner, args, t.argnums, [np.ones_like(_upcast(out))])

        return grad
    if isinstance(t, (Jvp, Linearize)):
        tangents = [np.asarray(v.data) for v in t.tangents]
        return lambda *args: (*inner(*args), *_directional(inner, args, t.argnums, tangents))
    assert isinstance(t, Vjp)
    cts = [np.asarray(v.data) for v in t.cotangents]
    return lambda *args: (*inner(*args), *fd_vjp(inner, args, t.argnums, cts))


def has_derivative(transforms: Sequence[Transform]) -> bool:
    """Whether the stack differentiates (its meaning then runs in float64)."""
    return any(isinstance(t, (Grad, Jvp, Linearize, Vjp)) for t in transforms)


# ---------------------------------------------------------------------------------------------
# Drafts: a case before its expected values, finished by running the reference and JAX


@dataclass
class Draft:
    """A case without its expected outputs; ``ref`` computes them (None: JAX's error)."""

    id: str
    topic: str
    program: Program
    transforms: tuple[Transform, ...]
    inputs: tuple[Value, ...]
    ref: NpFn | None
    provenance: str
    primitives: tuple[str, ...] = ()
    x64: bool = False
    check: Check | None = None  # None: by dtype (values, or gradients under derivatives)
    notes: str = ""
    types_from: str = "JAX"  # where expected types come from, for the provenance
    expected_types: tuple[Value, ...] | None = None  # types fixed by a table (promotion cases)
    expected_weak: bool | None = None  # weak types fixed by a rule (weak-type cases)
    optional: bool = False  # an error case that is no case if JAX accepts it
    upcast: bool = False  # run the reference in float64 (programs written for any precision)
    tags: tuple[str, ...] = ()  # jax-specific:... marks (spec/README.md, tags)


@dataclass
class Log:
    """What happened to drafts: dropped (JAX disagrees) and widened tolerances."""

    dropped: list[str] = field(default_factory=list)
    widened: list[str] = field(default_factory=list)
    insensitive: list[str] = field(default_factory=list)  # "id: why" (a 0.1% error passes)


def _check_for(draft: Draft, outs: Sequence[Value]) -> Check:
    if draft.check is not None:
        return draft.check
    dtypes = {o.dtype for o in outs if o.dtype in VALUE_TOL}
    if not dtypes:
        return Check("exact")
    if has_derivative(draft.transforms):
        tol = max(GRAD_TOL.get(d, 2e-3) for d in dtypes)
        return Check("finite_difference", tol, tol)
    tol = max(VALUE_TOL[d] for d in dtypes)
    return Check("allclose", tol, tol)


def ulp_check(
    transforms: Sequence[Transform], expected: Sequence[Value], actual: Sequence[Value]
) -> tuple[Check, float] | None:
    """A derivative check in ulps of the outputs' dtype, from how far ``actual`` (JAX's
    outputs) is from ``expected`` (float64 references rounded to the output dtype), and that
    distance in ulps; None where they cannot be compared so (no float outputs, non-finite
    disagreements: ``compare`` decides).

    rtol = n eps and atol = n eps scale, where scale is the smallest of the derivative outputs'
    largest magnitudes: an element near 0 after cancellation needs no relative precision, and
    a 0.1% error at any derivative output's largest element exceeds the tolerance while
    n eps < 5e-4. n is a power of two: ULP_MARGIN times what JAX needs, at least MIN_ULPS."""
    floats = [
        i for i, v in enumerate(expected) if v.dtype in EPS and v.data is not None
    ]
    if not floats or len(actual) != len(expected):
        return None
    eps = max(EPS[expected[i].dtype] for i in floats)
    tops = []
    for i in derivative_outputs(transforms, len(expected)):
        data = np.abs(np.asarray(expected[i].data, np.complex128)) if i in floats else None
        if data is not None and data.size and np.isfinite(data).any():
            tops.append(float(np.max(data[np.isfinite(data)])))
    # An output whose largest magnitude is finite-difference noise next to the others' (a
    # derivative that is zero, computed by differences) sets no scale.
    floor = 1e-8 * max(tops, default=0.0)
    scale = min((t for t in tops if t > floor), default=1.0)
    needed = 0.0
    for i in floats:
        a_data = actual[i].data
        if a_data is None or np.shape(a_data) != expected[i].shape:
            return None
        e = np.asarray(expected[i].data, np.complex128)
        a = np.asarray(a_data, np.complex128)
        finite = np.isfinite(e)
        if not np.isfinite(a[finite]).all():
            return None
        if finite.any():
            err = np.abs(a[finite] - e[finite]) / (eps * (scale + np.abs(e[finite])))
            needed = max(needed, float(np.max(err)))
    ulps = MIN_ULPS
    while ulps < ULP_MARGIN * needed:
        ulps *= 2
    tol = ulps * eps
    return Check("finite_difference", tol, tol * scale, ulps), needed


def _expected_values(draft: Draft, types: Sequence[Value]) -> tuple[Value, ...]:
    assert draft.ref is not None
    arrays = [np.asarray(v.data) for v in draft.inputs]
    if draft.upcast or has_derivative(draft.transforms):
        arrays = [_upcast(a) for a in arrays]
    with np.errstate(all="ignore"):
        outs = numpy_meaning(draft.ref, draft.transforms)(*arrays)
    if len(outs) != len(types):
        raise ValueError(f"{draft.id}: reference gives {len(outs)} outputs, JAX {len(types)}")
    if has_derivative(draft.transforms):
        narrow = [np.asarray(o).dtype.name for o in outs if np.asarray(o).dtype.kind in "fc"]
        if any(d not in WIDE for d in narrow):  # its differences would be 32-bit noise
            raise ValueError(f"the reference computes in {narrow} from float64 inputs")
        outs = _without_fd_noise(outs, derivative_outputs(draft.transforms, len(outs)))
    values = []
    for o, t in zip(outs, types, strict=True):
        arr = np.asarray(o)
        if arr.shape != t.shape:
            raise ValueError(f"{draft.id}: reference shape {arr.shape}, JAX {t.shape}")
        with np.errstate(all="ignore"):
            values.append(Value(t.dtype, t.shape, t.weak_type, arr.astype(t.dtype)))
    return tuple(values)


def _without_fd_noise(outs: Sequence[NDArray], slots: Sequence[int]) -> tuple[NDArray, ...]:
    """Derivative outputs with the finite differences' rounding noise where the derivative is
    zero (|x| < FD_NOISE (1 + the largest output magnitude)) set to 0."""
    arrays = [np.asarray(o) for o in outs]
    tops = [
        float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0))
        for a in arrays
        if a.dtype.kind in "fc"
    ]
    floor = FD_NOISE * (1.0 + max(tops, default=0.0))
    for i in slots:
        a = arrays[i]
        if a.dtype.kind in "fc":
            with np.errstate(invalid="ignore"):
                arrays[i] = np.where(np.abs(a) < floor, np.zeros_like(a), a)
    return tuple(arrays)


def _error_regex(message: str) -> str:
    """JAX's message as a regex: its first line, escaped, without JAX-only detail."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    pattern = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", first[:160])  # readable: no "\ "
    # JAX shows some ints as numpy scalars (np.int64(2)): accept the plain int too.
    return re.sub(r"np\\\.(u?int\d+)\\\((-?\d+)\\\)", r"(?:np\\.\1\\()?\2\\)?", pattern)


def _round_trip(draft: Draft) -> Draft:
    """The draft as its JSON will read back (NaN payloads, -0.0, dtypes): what JAX must run."""
    probe = Case(
        draft.id, draft.program, draft.transforms, draft.inputs, Outputs(()), Check("exact"), ""
    )
    back = Case.from_json(json.loads(json.dumps(probe.to_json())))
    return replace(draft, program=back.program, transforms=back.transforms, inputs=back.inputs)


ExpectedValues = Callable[[Draft, Sequence[Value]], tuple[Value, ...]]


def finish(
    draft: Draft, adapter: JaxAdapter, log: Log, expected_values: ExpectedValues | None = None
) -> Case | None:
    """The case, with expected values from its reference and types (or error) from JAX.
    ``expected_values`` computes the values from the draft and the types (the records' and base
    functions' references under ``numpy_meaning`` if None)."""
    draft = _round_trip(draft)
    adapter.configure(x64=draft.x64)
    set_x64(draft.x64)
    try:
        jax_outs = adapter.evaluate(draft.program, draft.transforms, draft.inputs)
    except Exception as err:  # JAX rejects the case: an error case, or a wrong case
        if draft.ref is not None:
            why = " ".join(str(err).split())  # one line
            log.dropped.append(f"{draft.id}: JAX raised {type(err).__name__}: {why}"[:300])
            return None
        if draft.optional and not isinstance(err, (TypeError, ValueError)):
            return None  # an internal error of JAX's, not part of its contract
        expected = Error(type(err).__name__, _error_regex(str(err)))
        return _case(draft, expected, Check("exact"))
    if draft.ref is None:
        if not draft.optional:
            log.dropped.append(f"{draft.id}: expected an error, JAX returned")
        return None
    types = draft.expected_types or tuple(o.abstract() for o in jax_outs)
    if draft.expected_weak is not None:
        types = tuple(replace(t, weak_type=draft.expected_weak) for t in types)
    try:
        reference = expected_values or _expected_values
        values = types if draft.check == Check("aval") else reference(draft, types)
    except Exception as err:  # a reference that cannot run here: a wrong case
        log.dropped.append(f"{draft.id}: reference failed: {type(err).__name__}: {err}"[:300])
        return None
    check = _check_for(draft, values)
    if draft.check is None and has_derivative(draft.transforms):
        return _finish_derivative(draft, values, jax_outs, check, log)
    case = _case(draft, Outputs(values), check)
    problem = compare(case, jax_outs)
    for factor in (10, 100):
        if problem is None or check.kind in ("exact", "aval"):
            break
        wider = Check(check.kind, check.rtol * factor, check.atol * factor)
        case = replace(case, check=wider)
        problem = compare(case, jax_outs)
        if problem is None:
            note = f"tolerance x{factor}: the reference and XLA differ by more than the default"
            case = replace(case, notes=f"{case.notes} {note}".strip())
            log.widened.append(draft.id)
    if problem is not None:
        log.dropped.append(f"{draft.id}: JAX disagrees: {problem}")
        return None
    return case


def _finish_derivative(
    draft: Draft, values: Sequence[Value], jax_outs: Sequence[Value], fallback: Check, log: Log
) -> Case | None:
    """A derivative case: its tolerance in ulps, calibrated on JAX (at most the old limits,
    GRAD_TOL x100), then checked for sensitivity: a derivative output scaled by 0.1% must
    fail (the expected one and JAX's); where not, the case stays and is listed."""
    calibrated = ulp_check(draft.transforms, values, jax_outs)
    check = fallback if calibrated is None else calibrated[0]
    if calibrated is not None and check.rtol > 100 * fallback.rtol:
        log.dropped.append(
            f"{draft.id}: JAX disagrees: needs {calibrated[1]:.3g} ulps (rtol {check.rtol:.3g})"
        )
        return None
    case = _case(draft, Outputs(tuple(values)), check)
    problem = compare(case, jax_outs)
    if problem is not None:
        log.dropped.append(f"{draft.id}: JAX disagrees: {problem}")
        return None
    if calibrated is not None:
        note = f"{check.ulps} ulps of {_ulp_dtype(values)} (JAX needs {calibrated[1]:.2g})"
        case = replace(case, notes=f"{case.notes} {note}".strip())
    why = insensitivity(case, [jax_outs])
    if why is not None:
        log.insensitive.append(f"{case.id}: {why}")
    return case


def _ulp_dtype(values: Sequence[Value]) -> str:
    floats = [v.dtype for v in values if v.dtype in EPS]
    return max(floats, key=lambda d: EPS[d]) if floats else "?"


def _tags(draft: Draft, expected: Outputs | Error) -> tuple[str, ...]:
    """The draft's tags, and those every case of a kind has: an error case's message is JAX's
    wording; a weakly typed input makes the expected types JAX's weak-type rules."""
    tags = list(draft.tags)
    if isinstance(expected, Error):
        tags.append("jax-specific:error-message")
    if any(v.weak_type for v in draft.inputs):
        tags.append("jax-specific:weak-type")
    return tuple(dict.fromkeys(tags))


def _case(draft: Draft, expected: Outputs | Error, check: Check) -> Case:
    provenance = draft.provenance
    if isinstance(expected, Error):
        provenance += "; expected error: JAX's class and message"
    else:
        provenance += f"; expected types: {draft.types_from}"
    return Case(
        id=draft.id,
        program=draft.program,
        transforms=draft.transforms,
        inputs=draft.inputs,
        expected=expected,
        check=check,
        provenance=f"{provenance}; {JAX_NOTE}",
        primitives=draft.primitives,
        x64=draft.x64,
        notes=draft.notes,
        topic=draft.topic,
        tags=_tags(draft, expected),
    )


# ---------------------------------------------------------------------------------------------
# Programs from JAX


def jax_program(fn: Callable[..., Any], args: Sequence[Any]) -> JaxprProgram:
    """``fn``'s jaxpr as JAX prints it, with its consts."""
    closed = jax.make_jaxpr(fn)(*args)
    consts = tuple(Value.of(np.asarray(c)) for c in closed.consts)
    # ``reduce`` prints its Python computation beside the jaxpr that states it: text keeps the
    # jaxpr (adapters rebuild the callable from it)
    text = re.sub(r"\n *computation=<function [^\n]*>", "", str(closed))
    return JaxprProgram(text, consts)


def neutral_param(value: Any) -> Param:
    """A JAX param value in the format's neutral terms (TypeError for the unprintable)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "name") and hasattr(type(value), "__members__"):
        return EnumMember(type(value).__name__, value.name)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.dtype):
        return DType(value.name)
    if isinstance(value, type) and issubclass(value, np.generic):
        return DType(np.dtype(value).name)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        fields = tuple((k, neutral_param(getattr(value, k))) for k in value._fields)
        return Record(type(value).__name__, fields)
    if isinstance(value, (tuple, list)):
        return tuple(neutral_param(v) for v in value)
    if type(value).__name__ in ("Jaxpr", "ClosedJaxpr"):
        return JaxprParam(str(value))
    raise TypeError(f"no neutral form for {type(value).__name__}")


def primitive_program(fn: Callable[..., Any], args: Sequence[Any]) -> PrimitiveProgram | None:
    """``fn`` as one primitive with typed params, if its jaxpr is a single equation on the
    inputs in order; else None. Params JAX's printer hides at their defaults are left out."""
    closed = jax.make_jaxpr(fn)(*args)
    jaxpr = closed.jaxpr
    if len(jaxpr.eqns) != 1 or jaxpr.constvars:
        return None
    (eqn,) = jaxpr.eqns
    if list(eqn.invars) != list(jaxpr.invars) or list(eqn.outvars) != list(jaxpr.outvars):
        return None
    hidden = HIDDEN_DEFAULTS.get(eqn.primitive.name, {})
    try:
        params = tuple(
            (k, neutral_param(v))
            for k, v in sorted(eqn.params.items())
            if not (k in hidden and v == hidden[k])
        )
    except TypeError:
        return None
    return PrimitiveProgram(eqn.primitive.name, params)


# ---------------------------------------------------------------------------------------------
# Cases from the op records: eval, abstract eval, jvp, vjp, linearize, vmap


def _shapes_text(shapes: Shapes) -> str:
    return "_".join("x".join(map(str, s)) or "s" for s in shapes) or "none"


def record_args(rec: OpRecord, shapes: Shapes, dtype: np.dtype[Any], salt: str) -> list[NDArray]:
    """The record's operands, seeded by the record, shapes, dtype and ``salt``."""
    rng = np.random.default_rng(seed_of(f"{rec.name}|{rec.notes}|{shapes}|{dtype}|{salt}"))
    return [np.asarray(a) for a in rec.args_maker(rng, shapes, dtype)]


def _record_ref(rec: OpRecord, keep: Sequence[int] | None = None) -> NpFn:
    def ref(*args: NDArray) -> tuple[NDArray, ...]:
        out = flat(rec.ref(*args))
        return out if keep is None else tuple(out[i] for i in keep)

    return ref


def _record_fn(rec: OpRecord, keep: Sequence[int] | None = None) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        out = flat(rec.op(lax, *args))
        return out if keep is None else tuple(out[i] for i in keep)

    return fn


def _eval_choices(rec: OpRecord) -> list[tuple[Shapes, np.dtype[Any]]]:
    """Every shape case once (dtypes in turn), then every dtype not yet seen."""
    dtypes = list(rec.dtypes)
    chosen = [(s, dtypes[i % len(dtypes)]) for i, s in enumerate(rec.shapes)]
    seen = {d for _, d in chosen}
    richest = max(rec.shapes, key=lambda s: sum(len(x) for x in s) + 0.1 * len(s))
    chosen += [(richest, d) for d in dtypes if d not in seen]
    return chosen


def _first_case(rec: OpRecord, prefer: np.dtype[Any]) -> tuple[Shapes, np.dtype[Any]]:
    cases = rec.cases()
    for shapes, dtype in cases:
        if dtype == prefer and all(len(s) > 0 and 0 not in s for s in shapes[:1]):
            return shapes, dtype
    return cases[0]


def _provenance(rec: OpRecord, family: str, what: str) -> str:
    return (
        f"program: jax.make_jaxpr of the {rec.name!r} record's op in "
        f"tests/primitives/records_{family}.py; inputs: its args maker, seeded from the id; "
        f"expected values: {what}"
    )


@dataclass
class RecordCases:
    """Drafts for one record (the ``k``-th of its primitive)."""

    rec: OpRecord
    k: int
    family: str
    dk: int = 0  # the record's index among its primitive's differentiable records

    def tag(self, kind: str, shapes: Shapes, dtype: np.dtype[Any]) -> str:
        note = f"r{self.k}"
        return f"{self.rec.name}/{kind}/{note}/{_shapes_text(shapes)}/{dtype.name}"

    def drafts(self) -> list[Draft]:
        out = self.eval_drafts() + self.abstract_drafts() + self.vmap_drafts()
        out += self.derivative_drafts()
        return out

    def _program(self, args: Sequence[NDArray], keep: Sequence[int] | None = None) -> Program:
        set_x64(is_wide(args))
        return jax_program(_record_fn(self.rec, keep), args)

    def eval_drafts(self) -> list[Draft]:
        out = []
        for i, (shapes, dtype) in enumerate(_eval_choices(self.rec)[: 3 if self.k == 0 else 1]):
            args = record_args(self.rec, shapes, dtype, "eval")
            stacks: list[tuple[Transform, ...]] = [()]
            if i == 0 and self.k == 0:
                stacks.append((Jit(),))
            for stack in stacks:
                kind = "eval" if not stack else "jit"
                out.append(
                    Draft(
                        id=self.tag(kind, shapes, dtype),
                        topic=self.family,
                        program=self._program(args),
                        transforms=stack,
                        inputs=tuple(Value.of(a) for a in args),
                        ref=_record_ref(self.rec),
                        provenance=_provenance(self.rec, self.family, "its numpy reference"),
                        primitives=(self.rec.name,),
                        x64=is_wide(args),
                        check=self._check(),
                    )
                )
        return out

    def _check(self) -> Check | None:
        """The record's own tolerance, if it sets one (0: exact)."""
        tol = self.rec.tol
        if tol is None:
            return None
        return Check("exact") if tol == 0 else Check("allclose", tol, tol)

    def abstract_drafts(self) -> list[Draft]:
        out = []
        for shapes, dtype in _eval_choices(self.rec)[: 2 if self.k == 0 else 1]:
            args = record_args(self.rec, shapes, dtype, "abstract")
            set_x64(is_wide(args))
            program: Program | None = primitive_program(_record_fn(self.rec), args)
            form = "primitive"
            if program is None:
                program, form = self._program(args), "jaxpr"
            out.append(
                Draft(
                    id=self.tag(f"abstract_eval/{form}", shapes, dtype),
                    topic=self.family,
                    program=program,
                    transforms=(EvalShape(),),
                    inputs=tuple(Value.of(a).abstract() for a in args),
                    ref=lambda *a: (),
                    check=Check("aval"),
                    provenance="program: the record's op as JAX stages it; inputs: types only",
                    primitives=(self.rec.name,),
                    x64=is_wide(args),
                )
            )
        return out

    def vmap_drafts(self) -> list[Draft]:
        shapes, dtype = _first_case(self.rec, F32)
        if not shapes or not self.rec.vmap_is_loop:  # (JAX's batching rule is no loop there)
            return []
        placements = batch_placements([len(s) for s in shapes])
        if self.k > 2:
            return []
        if self.k > 0:
            placements = [tuple(0 for _ in shapes)]
        elif len(placements) > 6:
            step = len(placements) / 6
            placements = [placements[int(i * step)] for i in range(6)]
        out = []
        for j, dims in enumerate(placements):
            sizes = (3, 0) if (j == 0 and self.k == 0) else (3,)
            for size in sizes:
                out.append(self._vmap_draft(shapes, dtype, dims, size))
        return out

    def _vmap_draft(
        self, shapes: Shapes, dtype: np.dtype[Any], dims: tuple[int | None, ...], size: int
    ) -> Draft:
        base = record_args(self.rec, shapes, dtype, "vmap-0")
        draws = [record_args(self.rec, shapes, dtype, f"vmap-{i}") for i in range(max(size, 1))]
        batched = []
        for k, (arg, d) in enumerate(zip(base, dims, strict=True)):
            if d is None:
                batched.append(arg)
                continue
            stacked = (
                np.stack([draw[k] for draw in draws[:size]])
                if size
                else np.zeros((0, *arg.shape), arg.dtype)
            )
            batched.append(np.moveaxis(stacked, 0, d))
        dims_text = ",".join("n" if d is None else str(d) for d in dims)
        return Draft(
            id=self.tag(f"vmap/{dims_text}/b{size}", shapes, dtype),
            topic=self.family,
            program=self._program(base),
            transforms=(Vmap(dims, 0),),
            inputs=tuple(Value.of(a) for a in batched),
            ref=_record_ref(self.rec),
            provenance=_provenance(
                self.rec,
                self.family,
                "its numpy reference in a loop over the batch (the meaning of vmap)",
            ),
            primitives=(self.rec.name,),
            x64=is_wide(batched),
            check=self._check(),
        )

    def derivative_drafts(self) -> list[Draft]:
        """jvp, vjp (and linearize for the first record) of a primitive's first two
        differentiable records; the first in 64 and 32 bits on the same shapes (ids differing
        in the dtype only; no linearize in 32 bits), the second in one dtype. With the first
        dtype also each float operand alone (the others' tangents are symbolic zeros, so
        every operand's JVP and transpose term is checked by itself) and, for several
        outputs, a vjp of each output alone (the others' cotangents symbolic zeros)."""
        rec = self.rec
        smooth = rec.differentiable or rec.name in PIECEWISE_CONSTANT
        float_dtypes = [d for d in (F64, F32, C64) if d in rec.dtypes]
        if not smooth or not float_dtypes or rec.name in NO_FD or self.dk > 1:
            return []
        shapes, _ = _first_case(rec, float_dtypes[0])
        twins: tuple[np.dtype[Any], ...] = (float_dtypes[0],)
        if self.dk == 0:
            twins = (F64, F32) if float_dtypes[0].kind == "f" else (C128, C64)
        out = []
        for dtype in twins:
            try:
                out += self._derivative_set(shapes, dtype, single=dtype == twins[0])
            except Exception:  # a dtype the record's args maker or JAX's op does not take
                if dtype in rec.dtypes:
                    raise
        return out

    def _derivative_set(self, shapes: Shapes, dtype: np.dtype[Any], single: bool) -> list[Draft]:
        rec = self.rec
        args = record_args(rec, shapes, dtype, "derivative")
        if rec.name in PIECEWISE_CONSTANT:  # away from the jumps the records aim at
            rng = np.random.default_rng(seed_of(self.tag("fd", shapes, dtype)))
            args = [random_values(rng, a.shape, a.dtype) for a in args]
        diff = [i for i, a in enumerate(args) if a.dtype.kind in "fc"]
        set_x64(is_wide(args))
        out_types = flat(jax.eval_shape(_record_fn(rec), *args))
        keep = [i for i, t in enumerate(out_types) if np.dtype(t.dtype).kind in "fc"]
        if not diff or not keep:
            return []
        rng = np.random.default_rng(seed_of(self.tag("tangents", shapes, dtype)))
        tangents = tuple(Value.of(_normal_like(rng, args[i].shape, args[i].dtype)) for i in diff)
        cts = tuple(
            Value.of(_normal_like(rng, out_types[i].shape, out_types[i].dtype)) for i in keep
        )
        what = (
            "its numpy reference; derivatives by fourth-order central differences of it in float64"
        )
        stacks: list[tuple[str, Sequence[int], Transform]] = [
            ("jvp", keep, Jvp(tuple(diff), tangents)),
            ("vjp", keep, Vjp(tuple(diff), cts)),
        ]
        if self.dk == 0 and single:
            stacks.append(("linearize", keep, Linearize(tuple(diff), tangents)))
        if single and len(diff) > 1:  # each operand alone: the others' tangents are zeros
            for j, i in enumerate(diff):
                stacks.append((f"jvp/arg{i}", keep, Jvp((i,), (tangents[j],))))
                stacks.append((f"vjp/arg{i}", keep, Vjp((i,), cts)))
        if single and len(keep) > 1:  # each output alone: the others' cotangents are zeros
            for j, o in enumerate(keep):
                stacks.append((f"vjp/out{o}", [o], Vjp(tuple(diff), (cts[j],))))
        programs = {tuple(k): self._program(args, k) for _, k, _ in stacks}
        drafts = []
        for kind, outs, t in stacks:
            ref = _record_ref(rec, outs)
            drafts.append(
                Draft(
                    id=self.tag(kind, shapes, dtype),
                    topic=self.family,
                    program=programs[tuple(outs)],
                    transforms=(t,),
                    inputs=tuple(Value.of(a) for a in args),
                    ref=_stop(ref) if rec.name == "stop_gradient" else ref,
                    provenance=_provenance(rec, self.family, what),
                    primitives=(rec.name,),
                    x64=is_wide(args),
                )
            )
        return drafts


def _normal_like(rng: np.random.Generator, shape: tuple[int, ...], dtype: Any) -> NDArray:
    """Standard normals of ``dtype`` (complex: independent real and imaginary parts)."""
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return np.asarray(x).astype(dtype)


# Float ops whose derivative is zero wherever it exists (finite differences agree off the jumps).
PIECEWISE_CONSTANT: Final = frozenset({"floor", "ceil", "round", "sign", "stop_gradient"})
# Records whose derivative finite differences cannot check (none so far).
NO_FD: Final = frozenset[str]()


def _stop(ref: NpFn) -> NpFn:
    """A reference whose values pass through but whose finite differences see a constant."""
    frozen: dict[str, tuple[NDArray, ...]] = {}

    def wrapped(*args: NDArray) -> tuple[NDArray, ...]:
        if "value" not in frozen:
            frozen["value"] = ref(*args)
        return frozen["value"]

    return wrapped


def batch_placements(ndims: Sequence[int]) -> list[tuple[int | None, ...]]:
    """Every batch-axis placement per operand (None = unbatched), not all None; with more
    than two operands, each operand batched alone, then all at the front and all at the back."""
    options = [[None, *range(n + 1)] for n in ndims]
    if len(ndims) <= 2:
        return [tuple(c) for c in itertools.product(*options) if any(d is not None for d in c)]
    out: list[tuple[int | None, ...]] = []
    for i, n in enumerate(ndims):
        out += [tuple(d if j == i else None for j in range(len(ndims))) for d in range(n + 1)]
    return [*out, tuple(0 for _ in ndims), tuple(ndims)]


def record_topics() -> dict[str, list[Draft]]:
    """Drafts for every op record, by family."""
    topics: dict[str, list[Draft]] = {}
    for family in FAMILIES:
        module = importlib.import_module(f"tests.primitives.records_{family}")
        counts: dict[str, int] = {}
        smooth: dict[str, int] = {}
        drafts = topics.setdefault(family, [])
        for rec in module.RECORDS:
            k = counts.get(rec.name, 0)
            counts[rec.name] = k + 1
            dk = smooth.get(rec.name, 0)
            if rec.differentiable or rec.name in PIECEWISE_CONSTANT:
                smooth[rec.name] = dk + 1
            drafts += RecordCases(rec, k, family, dk).drafts()
    return topics


# ---------------------------------------------------------------------------------------------
# dtype promotion and weak types

# JAX's type promotion lattice (the jax.numpy type promotion documentation): each type to the
# types just above it. "i*", "f*", "c*" are the weak types of Python int, float and complex.
LATTICE: Final[dict[str, tuple[str, ...]]] = {
    "bool": ("i*",),
    "i*": ("uint8", "int8"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": ("f*",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("f*",),
    "f*": ("float16", "c*"),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "c*": ("complex64",),
    "complex64": ("complex128",),
    "complex128": (),
}
WEAK_NODES: Final = {"i*": "int", "f*": "float", "c*": "complex"}
NARROW: Final = {
    "int64": "int32",
    "uint64": "uint32",
    "float64": "float32",
    "complex128": "complex64",
}


@functools.cache
def _above(node: str) -> frozenset[str]:
    """``node`` and every type above it."""
    return frozenset({node}).union(*(_above(n) for n in LATTICE[node]))


def join(a: str, b: str) -> str:
    """The least upper bound of two lattice nodes."""
    common = _above(a) & _above(b)
    (least,) = [c for c in common if _above(c) >= common]
    return least


def node_dtype(node: str, x64: bool) -> str:
    """The dtype a node stands for: weak nodes take the default width, 64 bits only with x64."""
    name = {"i*": "int64", "f*": "float64", "c*": "complex128"}.get(node, node)
    return name if x64 else NARROW.get(name, name)


def promotion_drafts() -> list[Draft]:
    """``jnp.add`` on every pair of types, strong and weak, without x64; with x64, the types
    (``eval_shape``) of the pairs with a 64-bit or weak type."""
    out = []
    for x64 in (False, True):
        strong = [
            "bool",
            "uint8",
            "uint16",
            "uint32",
            "int8",
            "int16",
            "int32",
            "float16",
            "float32",
            "complex64",
        ]
        if x64:
            strong += ["uint64", "int64", "float64", "complex128"]
        nodes = strong + list(WEAK_NODES)
        pairs = list(itertools.product(nodes, nodes))
        if x64:  # the pairs whose result x64 changes: those with a 64-bit or weak type
            pairs = [p for p in pairs if set(p) & {*NARROW, *WEAK_NODES}]
        for a, b in pairs:
            result = join(a, b)
            res_dtype = node_dtype(result, x64)
            inputs: tuple[Value, ...] = (_promotion_input(a, x64), _promotion_input(b, x64))
            if x64:  # types only (eval_shape): the values are those of the x32 table
                inputs = tuple(v.abstract() for v in inputs)
            expected = Value(
                res_dtype, (2,) if (a in strong or b in strong) else (), result in WEAK_NODES
            )
            out.append(
                Draft(
                    id=f"promotion/add/{'x64' if x64 else 'x32'}/{a}+{b}",
                    topic="promotion",
                    program=NumpyProgram("add"),
                    transforms=(EvalShape(),) if x64 else (),
                    inputs=inputs,
                    check=Check("aval") if x64 else None,
                    ref=lambda x, y, d=res_dtype: (np.add(np.asarray(x, d), np.asarray(y, d)),),
                    provenance="program: jax.numpy.add; inputs: small values, weak ones are "
                    "numpy.asarray of Python scalars; expected values: numpy in the "
                    "result dtype",
                    primitives=("add",),
                    x64=x64,
                    expected_types=(expected,),
                    types_from="the lattice table in spec/generate.py (JAX's promotion lattice)",
                )
            )
    return out


def _promotion_input(node: str, x64: bool) -> Value:
    if node in WEAK_NODES:
        dtype = node_dtype(node, x64)
        return Value(dtype, (), True, np.asarray(2, dtype))
    data = np.asarray([True, False]) if node == "bool" else np.asarray([1, 2])
    return Value.of(data.astype(node))


# Primitives whose result is never weak: conversions to a dtype the params name.
STRONG_RESULT: Final = frozenset({"convert_element_type", "bitcast_convert_type"})
# Operands that do not count towards the result's weak type (select_n's predicate).
TYPE_NEUTRAL: Final = {"select_n": (0,)}


def weak_type_drafts() -> list[Draft]:
    """Elementwise primitives on scalar operands, weak and strong: the result is weak iff every
    operand is (but for conversions, and select_n's predicate, which does not count)."""
    out = []
    seen: set[str] = set()
    for family in ("elementwise", "transcendental"):
        module = importlib.import_module(f"tests.primitives.records_{family}")
        for rec in module.RECORDS:
            scalar = [s for s in rec.shapes if s and all(x == () for x in s)]
            if rec.name in seen or not scalar or F32 not in rec.dtypes:
                continue
            seen.add(rec.name)
            shapes = scalar[0]
            args = record_args(rec, shapes, F32, "weak")
            n = len(args)
            combos = [tuple([True] * n)] + [tuple(j != i for j in range(n)) for i in range(n)]
            set_x64(False)
            program = jax_program(_record_fn(rec), args)
            for weak in combos:
                mark = "".join("w" if w else "s" for w in weak)
                inputs = tuple(Value.of(a, w) for a, w in zip(args, weak, strict=True))
                counted = [w for i, w in enumerate(weak) if i not in TYPE_NEUTRAL.get(rec.name, ())]
                all_weak = all(counted) and rec.name not in STRONG_RESULT
                out.append(
                    Draft(
                        id=f"weak_type/{rec.name}/{mark}",
                        topic="promotion",
                        program=program,
                        transforms=(),
                        inputs=inputs,
                        ref=_record_ref(rec),
                        provenance=_provenance(rec, family, "its numpy reference") + "; weak "
                        "operands are numpy.asarray of Python scalars",
                        primitives=(rec.name,),
                        expected_weak=all_weak,
                        types_from="JAX (dtype, shape); weak type from the rule 'weak iff every "
                        "operand is weak'",
                        tags=("jax-specific:weak-type",),
                    )
                )
    return out


# ---------------------------------------------------------------------------------------------
# Error cases


def _mutate(value: Value, how: str) -> Value | None:
    """A wrong type for an operand: another dtype kind, one more axis, a longer last axis."""
    if how == "dtype":
        kind = np.dtype(value.dtype).kind
        new = "int32" if kind in "fc" else "float32"
        return Value(new, value.shape)
    if how == "rank":
        return Value(value.dtype, (2, *value.shape))
    if how == "shape" and value.shape:
        return Value(value.dtype, (*value.shape[:-1], value.shape[-1] + 1))
    return None


def mutation_drafts() -> list[Draft]:
    """Each record's primitive with one operand's type made wrong: JAX's error, under eval_shape.
    Mutations JAX accepts are not cases."""
    out = []
    seen: set[str] = set()
    for rec in all_records():
        if rec.name in seen or not rec.shapes or not rec.shapes[0]:
            continue
        seen.add(rec.name)
        shapes, dtype = _eval_choices(rec)[-1]
        args = record_args(rec, shapes, dtype, "errors")
        set_x64(is_wide(args))
        program = primitive_program(_record_fn(rec), args)
        if program is None:
            continue
        for pos, how in itertools.product(range(min(len(args), 2)), ("dtype", "rank", "shape")):
            inputs = [Value.of(a).abstract() for a in args]
            wrong = _mutate(inputs[pos], how)
            if wrong is None:
                continue
            inputs[pos] = wrong
            out.append(
                Draft(
                    id=f"errors/{rec.name}/{how}{pos}",
                    topic="errors",
                    program=program,
                    transforms=(EvalShape(),),
                    inputs=tuple(inputs),
                    ref=None,
                    provenance=f"program: the {rec.name!r} record's op as one primitive (JAX's "
                    f"params); operand {pos} given a wrong {how}",
                    primitives=(rec.name,),
                    x64=is_wide(args),
                    optional=True,
                )
            )
    return out


def _scalar_fn_program(fn: Callable[..., Any], *args: Any) -> JaxprProgram:
    set_x64(is_wide([np.asarray(a) for a in args]))
    return jax_program(fn, args)


def transform_error_drafts() -> list[Draft]:
    """Errors the transformations raise, as JAX words them."""
    x3 = np.asarray([0.5, -1.0, 2.0], np.float32)
    i3 = np.asarray([1, 2, 3], np.int32)
    sin3 = _scalar_fn_program(jnp.sin, x3)
    mul_i = _scalar_fn_program(lambda x: x * 2, i3)
    add = _scalar_fn_program(lambda x, y: x + y, np.float32(1), np.float32(2))
    while_p = _scalar_fn_program(
        lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, x), np.float32(1)
    )
    cplx = _scalar_fn_program(lambda x: x * (1 + 2j), np.float32(1))
    cases: list[tuple[str, JaxprProgram, tuple[Transform, ...], tuple[Value, ...], bool]] = [
        ("grad_nonscalar", sin3, (Grad(),), (Value.of(x3),), False),
        ("grad_int_input", mul_i, (Grad(),), (Value.of(i3),), False),
        ("grad_complex_output", cplx, (Grad(),), (Value.of(np.float32(1)),), False),
        (
            "vmap_inconsistent_sizes",
            add,
            (Vmap((0, 0)),),
            (Value.of(np.zeros(2, np.float32)), Value.of(np.zeros(3, np.float32))),
            False,
        ),
        ("vmap_axis_out_of_range", sin3, (Vmap((1,)),), (Value.of(x3),), False),
        (
            "vmap_no_mapped_axis",
            add,
            (Vmap((None, None)),),
            (Value.of(np.float32(1)), Value.of(np.float32(2))),
            False,
        ),
        (
            "jvp_tangent_dtype",
            sin3,
            (Jvp((0,), (Value.of(x3.astype(np.float64)),)),),
            (Value.of(x3),),
            True,
        ),
        (
            "jvp_tangent_shape",
            sin3,
            (Jvp((0,), (Value.of(np.zeros(4, np.float32)),)),),
            (Value.of(x3),),
            False,
        ),
        ("grad_of_while_loop", while_p, (Grad(),), (Value.of(np.float32(1)),), False),
        (
            "vjp_of_while_loop",
            while_p,
            (Vjp((0,), (Value.of(np.float32(1)),)),),
            (Value.of(np.float32(1)),),
            False,
        ),
    ]
    # The errors that are JAX's choices rather than the transformations' meaning: reverse mode
    # of while_loop (JAX keeps no tape for a loop of unknown trip count; jvp and linearize of it
    # work), and checks JAX's API makes where the semantics leaves room (an integer input's
    # gradient could be float0 zeros, a complex output's could be holomorphic, a float64
    # tangent could be rounded to its float32 primal's dtype, a vmap with no mapped input could
    # map nothing).
    jax_choices: dict[str, tuple[str, ...]] = {
        "grad_of_while_loop": ("jax-specific:reverse-while",),
        "vjp_of_while_loop": ("jax-specific:reverse-while",),
        "grad_int_input": ("jax-specific:api-check",),
        "grad_complex_output": ("jax-specific:api-check",),
        "jvp_tangent_dtype": ("jax-specific:api-check",),
        "vmap_no_mapped_axis": ("jax-specific:api-check",),
    }
    return [
        Draft(
            id=f"errors/transform/{name}",
            topic="errors",
            program=program,
            transforms=transforms,
            inputs=inputs,
            ref=None,
            provenance="program: jax.make_jaxpr of a small function; transform misused",
            x64=x64,
            tags=jax_choices.get(name, ()),
        )
        for name, program, transforms, inputs, x64 in cases
    ]


ILL_TYPED: Final[dict[str, str]] = {
    "add_dtypes": "{ lambda ; a:f32[3] b:i32[3]. let c:f32[3] = add a b in (c,) }",
    "add_shapes": "{ lambda ; a:f32[3] b:f32[4]. let c:f32[3] = add a b in (c,) }",
    "sin_int": "{ lambda ; a:i32[3]. let b:i32[3] = sin a in (b,) }",
    "dot_contracting": "{ lambda ; a:f32[2,3] b:f32[4,2]. let c:f32[2,2] = dot_general["
    "dimension_numbers=(([1], [0]), ([], [])) preferred_element_type=float32"
    "] a b in (c,) }",
    "concatenate_rank": "{ lambda ; a:f32[2,3] b:f32[3]. let c:f32[5,3] = concatenate["
    "dimension=0] a b in (c,) }",
    "transpose_perm": "{ lambda ; a:f32[2,3]. let b:f32[3,2] = transpose[permutation=(0, 0)] "
    "a in (b,) }",
    "reduce_axes": "{ lambda ; a:f32[2,3]. let b:f32[2] = reduce_sum[axes=(2,) "
    "out_sharding=None] a in (b,) }",
    "select_n_predicate": "{ lambda ; p:f32[3] a:f32[3] b:f32[3]. let c:f32[3] = select_n p a b"
    " in (c,) }",
}


def ill_typed_drafts() -> list[Draft]:
    """Jaxprs JAX could not have staged, each with one ill-typed equation: evaluating raises."""
    out = []
    for name, text in ILL_TYPED.items():
        invars = read_jaxpr(text).invars
        inputs = tuple(
            Value(v.type.dtype, v.type.shape, False, np.ones(v.type.shape, v.type.dtype))
            for v in invars
        )
        out.append(
            Draft(
                id=f"errors/jaxpr/{name}",
                topic="errors",
                program=JaxprProgram(text),
                transforms=(),
                inputs=inputs,
                ref=None,
                provenance="program: jaxpr text written by hand with one ill-typed equation",
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Programs under transformation stacks


@dataclass(frozen=True)
class Base:
    """A function written twice: with JAX (for its jaxpr) and with numpy (for its meaning)."""

    name: str
    fn: Callable[..., Any]
    ref: NpFn
    args: tuple[NDArray, ...]
    topic: str = "programs"
    notes: str = ""
    text: str | None = None  # the program written by hand (JAX's text of it does not parse)


def _draws(base: Base, size: int, axes: Sequence[int | None], salt: str) -> list[NDArray]:
    """Batched inputs for vmap: ``size`` seeded perturbations of the base args, stacked."""
    rng = np.random.default_rng(seed_of(f"{base.name}|{salt}"))
    out = []
    for a, ax in zip(base.args, axes, strict=True):
        if ax is None:
            out.append(a)
            continue
        if a.dtype.kind == "f":
            rows = [
                a + rng.standard_normal(a.shape).astype(a.dtype) * a.dtype.type(0.3)
                for _ in range(size)
            ]
        else:  # integers: neighbours (switch indices, trip counts)
            rows = [a + a.dtype.type(k) - a.dtype.type(1) for k in range(size)]
        out.append(np.moveaxis(np.stack(rows), 0, ax))
    return out


def _like(rng: np.random.Generator, a: NDArray) -> Value:
    return Value.of(rng.standard_normal(np.shape(a)).astype(a.dtype))


def base_drafts(base: Base, stacks: Sequence[str]) -> list[Draft]:
    """Drafts for ``base`` under named stacks (see :func:`named_stack`)."""
    set_x64(is_wide(base.args))
    program = jax_program(base.fn, base.args) if base.text is None else JaxprProgram(base.text)
    where = ("jax.make_jaxpr of" if base.text is None else "jaxpr text written by hand for")
    out_types = flat(jax.eval_shape(base.fn, *base.args))
    drafts = []
    for name in stacks:
        transforms, args = named_stack(base, name, out_types)
        drafts.append(
            Draft(
                id=f"{base.topic}/{base.name}/{name}",
                topic=base.topic,
                program=program,
                transforms=transforms,
                inputs=tuple(Value.of(a) for a in args),
                ref=base.ref,
                provenance=(
                    f"program: {where} {base.name} (spec/generate.py); expected "
                    "values: its numpy twin, transformations by loops and fourth-order "
                    "central differences in float64"
                ),
                x64=is_wide(base.args),
                notes=base.notes,
                upcast=True,
                check=Check("aval") if EvalShape() in transforms else None,
            )
        )
    return drafts


def named_stack(
    base: Base, name: str, out_types: Sequence[Any]
) -> tuple[tuple[Transform, ...], list[NDArray]]:
    """A stack from a name like ``jit.vmap0.grad``: outermost first; ``vmapN`` maps every array
    input along N except those of ``vmapN_`` (``_`` marks unmapped inputs by position)."""
    rng = np.random.default_rng(seed_of(f"{base.name}|{name}"))
    floats = tuple(i for i, a in enumerate(base.args) if a.dtype.kind == "f")
    parts = name.split(".") if name != "eval" else []
    transforms: list[Transform] = []
    args = list(base.args)
    for part in parts:
        if part == "jit":
            transforms.append(Jit())
        elif part == "eval_shape":
            transforms.append(EvalShape())
        elif part.startswith("grad"):
            nums = tuple(int(c) for c in part[4:]) or (floats[0],)
            transforms.append(Grad(nums))
        elif part == "jvp":
            transforms.append(Jvp(floats, tuple(_like(rng, base.args[i]) for i in floats)))
        elif part == "linearize":
            transforms.append(Linearize(floats, tuple(_like(rng, base.args[i]) for i in floats)))
        elif part == "vjp":
            cts = tuple(Value.of(rng.standard_normal(t.shape).astype(t.dtype)) for t in out_types)
            transforms.append(Vjp(floats, cts))
        elif part.startswith("vmap"):
            spec, _, unmapped = part[4:].partition("_")
            axis = int(spec or 0)
            skip = {int(c) for c in unmapped}
            axes = tuple(
                None if i in skip else min(axis, base.args[i].ndim) for i in range(len(base.args))
            )
            transforms.append(Vmap(axes, 0))
        else:
            raise ValueError(f"unknown stack part {part!r}")
    vmaps = [t for t in transforms if isinstance(t, Vmap)]
    if vmaps:
        (outer,) = vmaps[:1]
        args = _draws(base, 3, flat_axes(outer)[0], name)
    return tuple(transforms), args


def _f64(*args: NDArray) -> list[NDArray]:
    return [_upcast(a) for a in args]


def _x_sin_x(x: NDArray) -> tuple[NDArray, ...]:
    return (x * np.sin(x),)


def _seed_loop_np(x: NDArray) -> tuple[NDArray, ...]:
    for _ in range(10):
        x = x - x.dtype.type(0.1) * x
    return (x,)


def _seed_loop_jax(x: Any) -> Any:
    for _ in range(10):
        x -= 0.1 * x
    return x


def _loss_np(w: NDArray, x: NDArray) -> tuple[NDArray, ...]:
    return ((np.tanh(np.dot(w, x)) - 1.0) ** 2,)


def _mlp_np(
    w1: NDArray, b1: NDArray, w2: NDArray, b2: NDArray, x: NDArray, y: NDArray
) -> tuple[NDArray, ...]:
    pred = np.tanh(x @ w1 + b1) @ w2 + b2
    return (np.mean((pred - y) ** 2),)


def _mlp_jax(w1: Any, b1: Any, w2: Any, b2: Any, x: Any, y: Any) -> Any:
    pred = jnp.tanh(x @ w1 + b1) @ w2 + b2
    return jnp.mean((pred - y) ** 2)


def _xent_np(logits: NDArray, y: NDArray) -> tuple[NDArray, ...]:
    shifted = logits - np.max(logits)
    return (-np.sum(y * (shifted - np.log(np.sum(np.exp(shifted))))),)


def _xent_jax(logits: Any, y: Any) -> Any:
    return -jnp.sum(y * jax.nn.log_softmax(logits))


def _nested_jit_jax(x: Any) -> Any:
    inner = jax.jit(lambda y: jnp.sin(y) * 2.0)
    return inner(x) + jax.jit(jax.jit(jnp.cos))(x)


def _nested_jit_np(x: NDArray) -> tuple[NDArray, ...]:
    return (np.sin(x) * 2.0 + np.cos(x),)


def _normals(seed: str, *shapes: tuple[int, ...], dtype: Any = np.float32) -> tuple[NDArray, ...]:
    rng = np.random.default_rng(seed_of(seed))
    return tuple(rng.standard_normal(s).astype(dtype) for s in shapes)


def program_drafts() -> list[Draft]:
    """The seed's examples and a few more base functions, under many stacks."""
    x0 = np.asarray(0.7, np.float32)
    w, x = _normals("loss", (3,), (3,))
    mlp32 = _normals("mlp", (3, 4), (4,), (4, 2), (2,), (5, 3), (5, 2))
    mlp64 = tuple(a.astype(np.float64) for a in mlp32)
    (logits,) = _normals("xent", (4,))
    onehot = np.eye(4, dtype=np.float32)[1]
    (v3,) = _normals("v3", (3,))
    (m23,) = _normals("m23", (2, 3))
    bases_and_stacks: list[tuple[Base, list[str]]] = [
        (
            Base("x_sin_x", lambda x: x * jnp.sin(x), _x_sin_x, (x0,)),
            [
                "eval",
                "eval_shape",
                "jit",
                "jit.jit",
                "grad",
                "jit.grad",
                "grad.jit",
                "grad.grad",
                "grad.grad.grad",
                "jit.grad.grad",
                "jvp",
                "linearize",
                "vjp",
                "vmap",
                "vmap.grad",
                "jit.vmap.grad",
                "grad.grad.jit",
                "jvp.grad",
                "vmap.jvp",
                "vmap.vjp",
                "vmap.grad.grad",
            ],
        ),
        (
            Base("x_sin_x_f64", lambda x: x * jnp.sin(x), _x_sin_x, (x0.astype(np.float64),)),
            ["grad", "grad.grad", "jvp.grad", "vmap.grad"],
        ),
        (
            Base("loss", lambda w, x: (jnp.tanh(jnp.dot(w, x)) - 1.0) ** 2, _loss_np, (w, x)),
            [
                "eval",
                "grad",
                "jit.grad",
                "grad01",
                "grad1",
                "vmap_0.grad",
                "jit.vmap_0.grad",
                "vmap.grad",
                "jvp",
                "vjp",
                "linearize",
                "vmap_0.jvp",
                "grad.jit",
            ],
        ),
        (
            Base("seed_loop", _seed_loop_jax, _seed_loop_np, (x0,)),
            [
                "eval",
                "jit",
                "grad",
                "jit.grad",
                "grad.grad",
                "jvp",
                "vjp",
                "linearize",
                "vmap",
                "jit.vmap",
                "vmap.grad",
            ],
        ),
        (
            Base("seed_loop_vector", _seed_loop_jax, _seed_loop_np, (v3,)),
            ["eval", "jit", "jvp", "vjp", "vmap", "vmap1"],
        ),
        (
            Base("mlp_loss", _mlp_jax, _mlp_np, mlp32),
            ["eval", "jit", "grad0123", "jit.grad0123", "grad4", "jvp", "vjp", "linearize"],
        ),
        (
            Base("mlp_loss_f64", _mlp_jax, _mlp_np, mlp64),
            ["grad0123", "jit.grad0123", "vjp", "jvp"],
        ),
        (
            Base("mlp_example_loss", _mlp_jax, _mlp_np, (*mlp32[:4], mlp32[4][:1], mlp32[5][:1])),
            ["vmap_0123.grad0123", "jit.vmap_0123.grad0123", "vmap_0123.jit.grad0123"],
        ),
        (
            Base("softmax_xent", _xent_jax, _xent_np, (logits, onehot)),
            ["eval", "jit", "grad", "vmap.grad", "jvp", "vjp", "linearize", "grad.jit"],
        ),
        (
            Base("nested_jit", _nested_jit_jax, _nested_jit_np, (v3,)),
            [
                "eval",
                "eval_shape",
                "jit",
                "jvp",
                "vjp",
                "linearize",
                "vmap",
                "vmap1",
                "jit.vmap",
                "vmap.jvp",
                "eval_shape.vmap",
            ],
        ),
        (
            Base(
                "relu_leaky",
                lambda x: jnp.sum(jnp.where(x > 0, x, 0.01 * x) ** 2),
                lambda x: (np.sum(np.where(x > 0, x, 0.01 * x) ** 2),),
                (v3,),
            ),
            ["eval", "grad", "jit.grad", "vmap.grad", "jvp", "vjp"],
        ),
        (
            Base("matmul_gram", lambda m: jnp.sum(m @ m.T), lambda m: (np.sum(m @ m.T),), (m23,)),
            ["eval", "grad", "vmap.grad", "vmap2.grad", "jvp", "vjp", "linearize"],
        ),
        (
            Base(
                "three_outputs",
                lambda a, b: (a * b, a + b, jnp.sin(a)),
                lambda a, b: (a * b, a + b, np.sin(a)),
                (v3, v3[::-1].copy()),
            ),
            ["eval", "jit", "jvp", "vjp", "linearize", "vmap", "vmap1", "vmap_1", "jit.vmap.jvp"],
        ),
        (
            Base(
                "reductions",
                lambda m: jnp.sum(jnp.exp(m) * jnp.cos(m), axis=0),
                lambda m: (np.sum(np.exp(m) * np.cos(m), axis=0),),
                (m23,),
            ),
            ["eval", "jvp", "vjp", "vmap", "vmap1", "vmap2", "vmap.jvp"],
        ),
    ]
    drafts = []
    for base, stacks in bases_and_stacks:
        drafts += base_drafts(base, stacks)
    drafts += add_any_drafts()
    drafts += empty_drafts()
    drafts += rng_uniform_drafts()
    drafts += small_primitive_drafts()
    return drafts


def _upper_cholesky_np(r: NDArray, w: NDArray) -> tuple[NDArray, ...]:
    """The upper Cholesky factor of ``r^T r + w w^T`` (positive diagonal)."""
    r64, w64 = r.astype(np.float64), w.astype(np.float64)
    return (np.linalg.cholesky(r64.T @ r64 + np.outer(w64, w64)).T.astype(r.dtype),)


def _composite_jax(x: Any) -> Any:
    return lax.composite(lambda y: jnp.sin(y) * 2.0, name="spec.sin2")(x)


def _dce_sink_jax(x: Any) -> Any:
    lax.dce_sink(x)  # keeps x alive for dead-code elimination; computes nothing
    return x * 2.0


def small_primitive_drafts() -> list[Draft]:
    """``cholesky_update`` (no derivatives, no batching in JAX), ``composite`` (a named call
    that runs its decomposition) and ``dce_sink`` (an equation with no outputs)."""
    (v3,) = _normals("small-v3", (3,))
    (m,) = _normals("small-m", (3, 3))
    r = _upper_cholesky_np((m + 3.0 * np.eye(3)).astype(np.float32), np.zeros(3, np.float32))[0]
    table: list[tuple[Base, list[str]]] = [
        (Base("cholesky_update", lambda r, w: lax.linalg.cholesky_update(r, w),
              _upper_cholesky_np, (r, v3)), ["eval", "jit", "eval_shape"]),
        # (JAX has neither a JVP nor a batching rule for composite; its dce_sink batching
        # rule fails: those stacks are left out)
        (Base("composite", _composite_jax, lambda x: (np.sin(x) * 2.0,), (v3,)),
         ["eval", "jit", "eval_shape"]),
        (Base("dce_sink", _dce_sink_jax, lambda x: (x * 2.0,), (v3,)),
         ["eval", "jit", "jvp", "vjp", "eval_shape"]),
    ]
    drafts = []
    for base, stacks in table:
        drafts += base_drafts(base, stacks)
    # differentiating or batching a composite is an error (JAX's, checked on JAX)
    errors = base_drafts(table[1][0], ["jvp", "vmap"])
    drafts += [replace(d, ref=None, check=None) for d in errors]
    return drafts


def rng_uniform_drafts() -> list[Draft]:
    """``rng_uniform``: values from a stateful generator, unspecified: the type only."""
    text = ("{ lambda ; a:f32[] b:f32[]. let c:f32[2,3] = rng_uniform[shape=(2, 3)] a b "
            "in (c,) }")
    args = [np.asarray(0.0, np.float32), np.asarray(1.0, np.float32)]
    return [
        Draft(
            id=f"programs/rng_uniform/{name}",
            topic="programs",
            program=JaxprProgram(text),
            transforms=transforms,
            inputs=tuple(Value.of(a) for a in args),
            ref=lambda a, b: (np.zeros((2, 3), np.float32),),
            primitives=("rng_uniform",),
            check=Check("aval"),
            provenance="program: jaxpr text written by hand; expected type: the params "
                       "(values unspecified, not checked)",
        )
        for name, transforms in (("eval", ()), ("jit", (Jit(),)), ("eval_shape", (EvalShape(),)))
    ]


def empty_drafts() -> list[Draft]:
    """``lax.empty``: an array of a shape and dtype whose values are unspecified, so every case
    checks the type only (JAX happens to give zeros; an implementation need not)."""
    out = []
    for shape, dtype in (((2, 3), "float32"), ((4,), "int32"), ((), "bool"), ((0, 2), "float32")):
        aval = f"{_SHORT[dtype]}[{','.join(map(str, shape))}]"
        text = (f"{{ lambda ; . let a:{aval} = empty[dtype={dtype} out_sharding=None "
                f"shape={shape!r}] in (a,) }}")
        for name, transforms in (("eval", ()), ("jit", (Jit(),)), ("eval_shape", (EvalShape(),))):
            out.append(Draft(
                id=f"programs/empty/{name}/{'x'.join(map(str, shape)) or 'scalar'}/{dtype}",
                topic="programs",
                program=JaxprProgram(text),
                transforms=transforms,
                inputs=(),
                ref=lambda shape=shape, dtype=dtype: (np.zeros(shape, dtype),),
                primitives=("empty",),
                check=Check("aval"),
                provenance="program: jaxpr text written by hand; expected type: the params "
                           "(values unspecified, not checked)",
            ))
    return out


_SHORT: Final = {"float32": "f32", "int32": "i32", "bool": "bool"}


def add_any_drafts() -> list[Draft]:
    """``add_any``, the sum of tangents and cotangents, as a one-equation jaxpr."""
    text = "{ lambda ; a:f32[3] b:f32[3]. let c:f32[3] = add_any a b in (c,) }"
    a, b = _normals("add_any", (3,), (3,))
    rng = np.random.default_rng(seed_of("add_any|t"))
    stacks: dict[str, tuple[tuple[Transform, ...], list[NDArray]]] = {
        "eval": ((), [a, b]),
        "jit": ((Jit(),), [a, b]),
        "jvp": ((Jvp((0, 1), (_like(rng, a), _like(rng, b))),), [a, b]),
        "vjp": ((Vjp((0, 1), (_like(rng, a),)),), [a, b]),
        "vmap": ((Vmap((0, None)),), [np.stack([a, b, a]), b]),
        "vmap11": ((Vmap((1, 1)),), [np.stack([a, b]).T.copy(), np.stack([b, a]).T.copy()]),
        "eval_shape": ((EvalShape(),), [a, b]),
    }
    return [
        Draft(
            id=f"programs/add_any/{name}",
            topic="programs",
            program=JaxprProgram(text),
            transforms=transforms,
            inputs=tuple(Value.of(x) for x in args),
            ref=lambda x, y: (x + y,),
            upcast=True,
            check=Check("aval") if name == "eval_shape" else None,
            provenance="program: jaxpr text written by hand; expected values: numpy x + y",
        )
        for name, (transforms, args) in stacks.items()
    ]


# ---------------------------------------------------------------------------------------------
# Control flow


def _cond_np(p: NDArray, x: NDArray) -> tuple[NDArray, ...]:
    return (np.sin(x) * 2.0 if p > 0 else np.cos(x) + 1.0,)


def _cond_jax(p: Any, x: Any) -> Any:
    return lax.cond(p > 0, lambda y: jnp.sin(y) * 2.0, lambda y: jnp.cos(y) + 1.0, x)


def _switch_np(i: NDArray, x: NDArray) -> tuple[NDArray, ...]:
    branches = [lambda y: y * 2.0, lambda y: np.sin(y), lambda y: y**2]
    return (branches[int(np.clip(i, 0, 2))](x),)


def _switch_jax(i: Any, x: Any) -> Any:
    return lax.switch(i, [lambda y: y * 2.0, jnp.sin, lambda y: y**2], x)


def _scan_np(xs: NDArray, c0: NDArray) -> tuple[NDArray, ...]:
    c, ys = c0, []
    for x in xs:
        ys.append(np.sin(c) * x)
        c = c * 0.9 + x
    return c, np.stack(ys)


def _scan_jax(xs: Any, c0: Any) -> Any:
    def step(c: Any, x: Any) -> Any:
        return c * 0.9 + x, jnp.sin(c) * x

    return lax.scan(step, c0, xs)


def _scan_rev_np(xs: NDArray, c0: NDArray) -> tuple[NDArray, ...]:
    c, ys = _scan_np(xs[::-1], c0)
    return c, ys[::-1]


def _scan_rev_jax(xs: Any, c0: Any) -> Any:
    def step(c: Any, x: Any) -> Any:
        return c * 0.9 + x, jnp.sin(c) * x

    return lax.scan(step, c0, xs, reverse=True)


def _fori_np(x: NDArray) -> tuple[NDArray, ...]:
    for i in range(5):
        x = x * 0.9 + np.sin(x) * i
    return (x,)


def _fori_jax(x: Any) -> Any:
    return lax.fori_loop(0, 5, lambda i, y: y * 0.9 + jnp.sin(y) * i, x)


def _while_np(x: NDArray) -> tuple[NDArray, ...]:
    while np.sum(x) < 10.0:
        x = x * 2.0 + 0.5
    return (x,)


def _while_jax(x: Any) -> Any:
    return lax.while_loop(lambda y: jnp.sum(y) < 10.0, lambda y: y * 2.0 + 0.5, x)


def _remat_np(x: NDArray) -> tuple[NDArray, ...]:
    return (np.sin(np.sin(x) * x),)


def _remat_jax(x: Any) -> Any:
    """``jax.checkpoint`` (the ``remat2`` primitive): same values, recomputed residuals."""
    return importlib.import_module("jax").checkpoint(lambda y: jnp.sin(jnp.sin(y) * y))(x)


def _reduce_np(m: NDArray) -> tuple[NDArray, ...]:
    return (np.prod(1.0 + m, axis=0) - 1.0,)


def _reduce_jax(m: Any) -> Any:
    """The generic ``reduce`` primitive, with a computation JAX does not recognise as a monoid
    (``a + b + ab``: associative and commutative, so the order of the fold does not matter;
    the result is ``prod(1 + m) - 1``)."""
    return lax.reduce(m, np.float32(0.0), lambda a, b: a + b + a * b, (0,))


# custom_linear_solve of a 3x3 system: matvec ``a @ x`` (and vecmat ``a^T @ x``) over ``a``,
# solve ``ai @ x`` and transpose_solve ``ai^T @ x`` over ``ai = inv(a)``. JAX prints the jaxprs
# inside a NamedTuple's repr with nested ``let``s that no reader takes, so the text is written
# here, one labelled field a line.
_MATVEC = "dot_general[dimension_numbers=(([1], [0]), ([], []))] m x"
_VECMAT = "dot_general[dimension_numbers=(([0], [0]), ([], []))] x m"
LINEAR_SOLVE_TEXT: Final = f"""{{ lambda ; a:f32[3,3] ai:f32[3,3] b:f32[3]. let
    c:f32[3] = custom_linear_solve[
      const_lengths=_LinearSolveTuple(matvec=1, vecmat=1, solve=1, transpose_solve=1)
      jaxprs=_LinearSolveTuple(
        matvec={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_MATVEC} in (y,) }}
        vecmat={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_VECMAT} in (y,) }}
        solve={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_MATVEC} in (y,) }}
        transpose_solve={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_VECMAT} in (y,) }}
      )
    ] a a ai ai b
  in (c,) }}"""


def _linear_solve_np(a: NDArray, ai: NDArray, b: NDArray) -> tuple[NDArray, ...]:
    """The solution of ``a x = b``: a function of ``a`` and ``b`` only (the solve's own
    constants, here ``ai``, get no derivative: custom_linear_solve differentiates the system)."""
    del ai
    return (np.linalg.solve(a, b),)


def _linear_solve_jax(a: Any, ai: Any, b: Any) -> Any:
    return lax.custom_linear_solve(lambda x: a @ x, b, lambda _, x: ai @ x,
                                   lambda _, x: ai.T @ x)


def _fori_dynamic_np(n: NDArray, x: NDArray) -> tuple[NDArray, ...]:
    for _ in range(int(n)):
        x = x * 1.5 - 0.25
    return (x,)


def _fori_dynamic_jax(n: Any, x: Any) -> Any:
    return lax.fori_loop(0, n, lambda i, y: y * 1.5 - 0.25, x)


def _scan_cond_np(xs: NDArray) -> tuple[NDArray, ...]:
    c = np.zeros((), xs.dtype)
    for x in xs:
        c = c + (np.sin(x) if x > 0 else x * x)
    return (c,)


def _scan_cond_jax(xs: Any) -> Any:
    def step(c: Any, x: Any) -> Any:
        return c + lax.cond(x > 0, jnp.sin, lambda y: y * y, x), None

    return lax.scan(step, jnp.zeros((), xs.dtype), xs)[0]


def _map_np(xs: NDArray) -> tuple[NDArray, ...]:
    return (np.stack([np.sum(np.tanh(r)) for r in xs]),)


def control_flow_drafts() -> list[Draft]:
    """cond, switch, scan, fori_loop, while_loop and map under transformations."""
    (v3,) = _normals("cf-v3", (3,))
    (xs,) = _normals("cf-xs", (5,))
    c0 = np.asarray(0.3, np.float32)
    pos, neg = np.asarray(1.0, np.float32), np.asarray(-1.0, np.float32)
    small = np.asarray([0.5, 0.25, 1.0], np.float32)
    system = (_normals("cf-system", (3, 3))[0] + 3.0 * np.eye(3)).astype(np.float32)
    table: list[tuple[Base, list[str]]] = [
        (
            Base("cond_true", _cond_jax, _cond_np, (pos, v3), "control_flow"),
            [
                "eval",
                "eval_shape",
                "jit",
                "jvp",
                "vjp",
                "linearize",
                "vmap_0",
                "vmap",
                "jit.vmap",
                "eval_shape.vmap",
            ],
        ),
        (
            Base("cond_false", _cond_jax, _cond_np, (neg, v3), "control_flow"),
            ["eval", "jvp", "vjp", "vmap_0", "vmap"],
        ),
        (
            Base(
                "cond_grad",
                lambda p, x: jnp.sum(_cond_jax(p, x)),
                lambda p, x: (np.sum(_cond_np(p, x)[0]),),
                (pos, v3),
                "control_flow",
            ),
            ["grad1", "jit.grad1", "vmap.grad1", "vmap_0.grad1"],
        ),
        (
            Base("switch", _switch_jax, _switch_np, (np.asarray(1, np.int32), v3), "control_flow"),
            ["eval", "jit", "jvp", "vjp", "vmap_0", "vmap"],
        ),
        (
            Base(
                "switch_clamped_high",
                _switch_jax,
                _switch_np,
                (np.asarray(7, np.int32), v3),
                "control_flow",
            ),
            ["eval", "jvp"],
        ),
        (
            Base(
                "switch_clamped_low",
                _switch_jax,
                _switch_np,
                (np.asarray(-3, np.int32), v3),
                "control_flow",
            ),
            ["eval", "vjp"],
        ),
        (
            Base("scan", _scan_jax, _scan_np, (xs, c0), "control_flow"),
            [
                "eval",
                "eval_shape",
                "jit",
                "jvp",
                "vjp",
                "linearize",
                "vmap",
                "vmap1",
                "vmap_0",
                "vmap.jvp",
                "eval_shape.jvp",
            ],
        ),
        (
            Base("scan_reverse", _scan_rev_jax, _scan_rev_np, (xs, c0), "control_flow"),
            ["eval", "jvp", "vjp", "vmap"],
        ),
        (
            Base(
                "scan_grad",
                lambda xs, c: jnp.sum(_scan_jax(xs, c)[1]) + _scan_jax(xs, c)[0],
                lambda xs, c: (np.sum(_scan_np(xs, c)[1]) + _scan_np(xs, c)[0],),
                (xs, c0),
                "control_flow",
            ),
            ["grad01", "jit.grad01", "vmap.grad01", "grad1.grad1"],
        ),
        (
            Base("fori_loop", _fori_jax, _fori_np, (v3,), "control_flow"),
            ["eval", "jit", "jvp", "vjp", "linearize", "vmap", "vmap1"],
        ),
        (
            Base(
                "fori_loop_grad",
                lambda x: jnp.sum(_fori_jax(x)),
                lambda x: (np.sum(_fori_np(x)[0]),),
                (v3,),
                "control_flow",
            ),
            ["grad", "jit.grad", "vmap.grad"],
        ),
        (
            Base("while_loop", _while_jax, _while_np, (small,), "control_flow"),
            [
                "eval",
                "eval_shape",
                "jit",
                "jvp",
                "linearize",
                "vmap",
                "jit.vmap",
                "vmap.jvp",
                "eval_shape.vmap",
            ],
        ),
        (
            Base(
                "fori_loop_dynamic",
                _fori_dynamic_jax,
                _fori_dynamic_np,
                (np.asarray(4, np.int32), v3),
                "control_flow",
            ),
            ["eval", "jit", "jvp", "vmap_0", "vmap"],
        ),
        (
            Base("custom_linear_solve", _linear_solve_jax, _linear_solve_np,
                 (system, np.linalg.inv(system).astype(np.float32), v3), "control_flow",
                 text=LINEAR_SOLVE_TEXT),
            # (vmap over b only: batched a and ai drawn apart would not be inverses)
            ["eval", "jit", "jvp", "vjp", "linearize", "vmap_01", "jit.vmap_01",
             "vmap_01.jvp", "vmap_01.vjp", "eval_shape"],
        ),
        (
            Base("checkpoint", _remat_jax, _remat_np, (v3,), "control_flow"),
            ["eval", "jit", "jvp", "vjp", "linearize", "vmap", "vmap.jvp", "eval_shape"],
        ),
        (
            Base(
                "checkpoint_grad",
                lambda x: jnp.sum(_remat_jax(x)),
                lambda x: (np.sum(_remat_np(x)[0]),),
                (v3,),
                "control_flow",
            ),
            ["grad", "jit.grad", "vmap.grad"],
        ),
        (
            Base("reduce_fold", _reduce_jax, _reduce_np, (np.stack([v3, v3 * 2, v3 - 1]),),
                 "control_flow"),
            ["eval", "jit", "vmap", "vmap1", "eval_shape"],
        ),
        (
            Base("scan_of_cond", _scan_cond_jax, _scan_cond_np, (xs,), "control_flow"),
            ["eval", "jit", "grad", "jvp", "vjp", "vmap", "vmap.grad"],
        ),
        (
            Base(
                "map",
                lambda xs: lax.map(lambda r: jnp.sum(jnp.tanh(r)), xs),
                _map_np,
                (np.stack([v3, v3 * 2]),),
                "control_flow",
            ),
            ["eval", "jit", "jvp", "vjp", "vmap", "vmap2"],
        ),
    ]
    drafts = []
    for base, stacks in table:
        drafts += base_drafts(base, stacks)
    return drafts


# ---------------------------------------------------------------------------------------------
# threefry2x32


def threefry2x32_np(k1: NDArray, k2: NDArray, x1: NDArray, x2: NDArray) -> tuple[NDArray, ...]:
    """Threefry-2x32 with 20 rounds (Salmon et al., Random123), in uint32 numpy."""
    u32 = np.uint32
    k1, k2, x1, x2 = (np.asarray(a, u32) for a in (k1, k2, x1, x2))
    keys = [k1, k2, k1 ^ k2 ^ u32(0x1BD11BDA)]
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    a, b = x1 + keys[0], x2 + keys[1]
    for i in range(5):
        for r in rotations[i % 2]:
            a = a + b
            b = (b << u32(r)) | (b >> u32(32 - r))
            b = a ^ b
        a = a + keys[(i + 1) % 3]
        b = b + keys[(i + 2) % 3] + u32(i + 1)
    return a, b


# Known-answer vectors of Random123 (kat_vectors): key, counter -> output.
THREEFRY_KAT: Final = (
    ((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
)


def threefry_drafts() -> list[Draft]:
    """threefry2x32 on the known-answer vectors (eval, jit), types, and under vmap."""
    for key, count, want in THREEFRY_KAT:
        got = threefry2x32_np(*(np.asarray(v, np.uint32) for v in (*key, *count)))
        assert tuple(int(g) for g in got) == want, "the numpy threefry disagrees with the KAT"
    prim = importlib.import_module("jax.extend.random").threefry2x32_p
    columns = [
        np.asarray([kat[0][0] for kat in THREEFRY_KAT], np.uint32),
        np.asarray([kat[0][1] for kat in THREEFRY_KAT], np.uint32),
        np.asarray([kat[1][0] for kat in THREEFRY_KAT], np.uint32),
        np.asarray([kat[1][1] for kat in THREEFRY_KAT], np.uint32),
    ]
    set_x64(False)
    program = jax_program(lambda *a: tuple(prim.bind(*a)), columns)
    scalars = [c[:1].reshape(()) for c in columns]
    scalar_program = jax_program(lambda *a: tuple(prim.bind(*a)), scalars)
    prov = (
        "program: jax.make_jaxpr of threefry2x32_p; inputs: Random123's known-answer "
        "vectors; expected values: a numpy Threefry-2x32-20 checked against those vectors"
    )
    out = [
        Draft(
            id="random/threefry2x32/eval",
            topic="random",
            program=program,
            transforms=(),
            inputs=tuple(Value.of(c) for c in columns),
            ref=threefry2x32_np,
            provenance=prov,
            primitives=("threefry2x32",),
        ),
        Draft(
            id="random/threefry2x32/jit",
            topic="random",
            program=program,
            transforms=(Jit(),),
            inputs=tuple(Value.of(c) for c in columns),
            ref=threefry2x32_np,
            provenance=prov,
            primitives=("threefry2x32",),
        ),
        Draft(
            id="random/threefry2x32/abstract_eval",
            topic="random",
            program=program,
            transforms=(EvalShape(),),
            inputs=tuple(Value.of(c).abstract() for c in columns),
            ref=threefry2x32_np,
            provenance=prov,
            primitives=("threefry2x32",),
            check=Check("aval"),
        ),
    ]
    for axes in ((0, 0, 0, 0), (None, None, 0, 0), (0, 0, None, None)):
        inputs = [
            c if ax is not None else s for c, s, ax in zip(columns, scalars, axes, strict=True)
        ]
        mark = ",".join("n" if a is None else str(a) for a in axes)
        out.append(
            Draft(
                id=f"random/threefry2x32/vmap/{mark}",
                topic="random",
                program=scalar_program,
                transforms=(Vmap(axes),),
                inputs=tuple(Value.of(c) for c in inputs),
                ref=threefry2x32_np,
                provenance=prov + "; vmap by a loop",
                primitives=("threefry2x32",),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Coverage: which primitive x transformation pairs JAX defines

INTERNAL: Final = frozenset({"custom_lin", "custom_jvp_call", "custom_vjp_call",
                             "stage"})  # (stage: JAX's tracing lifts it away, no jaxpr has it)
# Batching rules whose meaning is no loop over the batch, so the format's vmap (a loop) has no
# case for them: rng_bit_generator (JAX draws the whole batch from the first key), dce_sink
# (JAX's batching rule fails), empty (no operands).
NOT_A_LOOP: Final = frozenset({"rng_bit_generator", "dce_sink", "empty"})
HIGHER_ORDER_DIFFERENTIABLE: Final = frozenset({"cond", "scan", "while", "jit", "add_any"})


def rule_table() -> dict[str, list[str]]:
    """For every primitive refjax defines (names only), the kinds JAX has rules for."""
    importlib.import_module("refjax.lax")
    core = importlib.import_module("refjax.interp.core")
    names = sorted(p.name for p in core.abstract_eval_rules)
    ad = importlib.import_module("jax._src.interpreters.ad")
    batching = importlib.import_module("jax._src.interpreters.batching")
    jax_prims = JaxAdapter().primitives
    differentiable = {r.name for r in all_records() if r.differentiable} | PIECEWISE_CONSTANT
    differentiable |= HIGHER_ORDER_DIFFERENTIABLE
    operandless = {r.name for r in all_records() if all(not s for s in r.shapes)}
    table: dict[str, list[str]] = {}
    for name in names:
        if name in INTERNAL or name not in jax_prims:
            continue
        prim = jax_prims[name]
        kinds = ["eval", "abstract_eval"]
        if prim in ad.primitive_jvps and name in differentiable:
            kinds.append("jvp")
            if name != "while":  # JAX: no reverse mode through while_loop
                kinds.append("vjp")
        if (prim in batching.fancy_primitive_batchers and name not in operandless
                and name not in NOT_A_LOOP):
            kinds.append("vmap")
        table[name] = kinds
    return table


# ---------------------------------------------------------------------------------------------

TOPIC_DESCRIPTIONS: Final = {
    "elementwise": "elementwise primitives (records_elementwise.py)",
    "transcendental": "transcendental primitives (records_transcendental.py)",
    "shape": "shape primitives (records_shape.py)",
    "reductions": "reductions and cumulative reductions (records_reductions.py)",
    "indexing": "slicing, gather, scatter, sort, top_k (records_indexing.py)",
    "linalg": "dot_general (records_linalg.py)",
    "decompositions": "lax.linalg: cholesky, eig (eigenvalues), eigh, lu, qr, svd, triangular "
    "and tridiagonal solves (records_decompositions.py)",
    "fft": "the fft primitive: FFT, IFFT, RFFT, IRFFT over 1-3 axes (records_fft.py)",
    "convolution": "conv_general_dilated and the windowed reductions (records_convolution.py)",
    "special": "special functions (igamma, betainc, zeta, Bessel) and complex, mulhi, "
    "reduce_precision, optimization_barrier (records_special.py)",
    "decompositions_more": "lax.linalg's reductions without derivatives: hessenberg, schur, "
    "householder_product, ormqr, tridiagonal, symmetric_product (records_decompositions_more.py)",
    "lax_more": "approx_max_k/approx_min_k, the total-order comparisons eq_to, lt_to, le_to, "
    "and rng_bit_generator (Threefry, Philox) (records_lax_more.py)",
    "promotion": "dtype promotion (jnp.add over the lattice) and weak types of primitives",
    "errors": "errors: ill-typed primitives (eval_shape), misused transformations, ill-typed "
    "jaxprs",
    "programs": "programs under transformation stacks: the seed's examples, an MLP, calls",
    "control_flow": "cond, switch, scan, fori_loop, while_loop and map under transformations",
    "random": "threefry2x32 on known-answer vectors",
    "rules": "single rules the family topics leave untested (spec/generate_rules.py)",
}


def all_drafts(only: Sequence[str]) -> dict[str, list[Draft]]:
    """Drafts by topic (the topics in ``only``, or all)."""
    more = importlib.import_module("spec.generate_transforms").TOPICS  # transform topics
    wanted = set(only) or {*TOPIC_DESCRIPTIONS, *more}
    topics: dict[str, list[Draft]] = {}
    if wanted & set(FAMILIES):
        topics.update({k: v for k, v in record_topics().items() if k in wanted})
    builders: dict[str, Callable[[], list[Draft]]] = {
        "promotion": lambda: promotion_drafts() + weak_type_drafts(),
        "errors": lambda: mutation_drafts() + transform_error_drafts() + ill_typed_drafts(),
        "programs": program_drafts,
        "control_flow": control_flow_drafts,
        "random": threefry_drafts,
        "rules": lambda: importlib.import_module("spec.generate_rules").rules_drafts(),
    }
    builders.update({topic: build for topic, (_, build) in more.items()})
    for topic, build in builders.items():
        if topic in wanted:
            topics[topic] = build()
    return topics


def _unique(cases: list[Case]) -> list[Case]:
    seen: dict[str, int] = {}
    out = []
    for case in cases:
        n = seen.get(case.id, 0)
        seen[case.id] = n + 1
        out.append(case if n == 0 else replace(case, id=f"{case.id}#{n}"))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Generate, check on JAX, write."""
    parser = argparse.ArgumentParser(prog="python -m spec.generate", description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="a topic (repeatable)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    adapter, log = JaxAdapter(), Log()
    counts: dict[str, int] = {}
    for topic, drafts in all_drafts(args.only).items():
        more = importlib.import_module("spec.generate_transforms")  # their own finish
        end = more.finish_more if topic in more.TOPICS else finish
        cases = _unique([c for d in drafts if (c := end(d, adapter, log)) is not None])
        about = more.TOPICS[topic][0] if topic in more.TOPICS else TOPIC_DESCRIPTIONS[topic]
        dump_topic(CASES_DIR / f"{topic}.json", topic, about, cases)
        counts[topic] = len(cases)
        print(f"{topic}: {len(cases)} cases ({len(drafts)} drafts)", flush=True)
    if not args.only:
        rows = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in rule_table().items()]
        text = '{"primitives": {\n' + ",\n".join(rows) + "\n}}\n"
        (CASES_DIR / "_primitives.json").write_text(text)
    report = [f"{t}: {n}" for t, n in counts.items()]
    report += ["", f"left out ({len(log.dropped)}): JAX disagrees with the case as drafted"]
    report += log.dropped
    report += ["", f"tolerance widened ({len(log.widened)}):", *log.widened]
    report += [
        "",
        f"{INSENSITIVE_HEAD} ({len(log.insensitive)}): JAX's own error at the output's largest "
        "element is more than ~2e-4 (its float64 twin is checked)",
        *log.insensitive,
    ]
    # over every case file now written (topics not regenerated included)
    table = load_json(CASES_DIR / "_primitives.json")["primitives"]
    missing = gaps(load_cases(), table)
    report += [
        "",
        f"{GAPS_HEAD} ({len(missing)}): primitive, kind (jvp: jvp/linearize; vjp: vjp/grad), "
        "precision",
        *missing,
    ]
    name = "_generation.txt" if not args.only else f"_generation_{'_'.join(args.only)}.txt"
    (CASES_DIR / name).write_text("\n".join(report) + "\n")
    print(
        f"{sum(counts.values())} cases; {len(log.dropped)} drafts left out (see spec/cases/{name})"
    )


if __name__ == "__main__":
    main()
