"""Cases that pin single rules the family topics leave untested: the topic ``rules``.

    .venv/bin/python -m spec.generate --only rules

The family topics draw their cases from the op records, which mark some primitives as not
differentiable (the special functions, ``complex``...) and batch their integer ops at rank 1
only. Each case here pins one rule that `python -m spec.mutation` showed no other case
exercises (``spec/mutants_gaps.txt`` named the case that would kill each survivor):

- JVPs and transposes: ``bessel_i0e``, ``bessel_i1e``, ``igamma``/``igammac`` in both operands,
  ``regularized_incomplete_beta`` in ``x`` (and JAX's error in ``a``, ``b``), ``complex``,
  ``optimization_barrier``, ``reduce_precision`` (at full precision: the identity), the generic
  ``reduce`` and ``reduce_window``, ``scatter`` with ``unique_indices``, ``concatenate`` of three
  operands, a ``custom_linear_solve`` whose matvec closes over four arrays, scans with three
  scanned inputs all differentiated (one with a linear body, whose transpose gets no
  residuals); ``cond`` (each branch), ``while`` and ``checkpoint`` in 64 bits, where a 0.1% error
  in their rules shows; ``bitcast_convert_type`` between floats of one width (a zero JVP);
- batching rules on batched values of rank >= 2, where reading the batch axis one place off
  shows: the bitwise ops, ``threefry2x32``, ``rng_bit_generator`` (types only: JAX draws the
  whole batch from the first key, no loop);
- types: ``schur``'s results returned as they come (weak type);
- operand positions the catalogue mutates that no other case reaches: JAX's errors for a
  tangent in ``polygamma``'s order and in the generic ``reduce``'s and ``reduce_window``'s
  initial values (a JVP that drops that tangent no longer raises); ``jit`` of four arguments,
  ``cond`` of four operands and ``scan`` of seven all differentiated (the last operand's term);
  a ``custom_linear_solve`` whose matvec closes over seven arrays (operands 5 and 6 are
  matvec's, not the solves' constants, whose tangents the rule ignores); ``shift_left``,
  ``shift_right_logical`` and ``stack`` of three with the shift amount and the third operand
  batched at rank 2 or 3.

Expected values come from numpy and SciPy references under :func:`spec.generate.numpy_meaning`
(loops for vmap, fourth-order central differences in float64 for derivatives); types and
errors from real JAX, on which every case is checked (:func:`spec.generate.finish`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
from scipy import special as sps  # type: ignore[import-untyped]  # scipy has no stubs here

from spec.format import Check, EvalShape, JaxprProgram, Jvp, NDArray, Transform, Value, Vjp, Vmap
from spec.generate import (
    Draft,
    NpFn,
    _normal_like,
    _stop,
    flat,
    is_wide,
    jax,
    jax_program,
    jnp,
    lax,
    primitive_program,
    seed_of,
    set_x64,
    threefry2x32_np,
)

TOPIC: Final = "rules"
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
_FD: Final = (
    "expected values: its numpy/SciPy reference; derivatives by fourth-order central "
    "differences of it in float64"
)


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(seed_of(f"rules|{name}"))


def _uniform(name: str, lo: float, hi: float, *shape: int) -> NDArray:
    return _rng(name).uniform(lo, hi, shape)


def derivative_drafts(
    name: str,
    fn: Callable[..., Any],
    ref: NpFn,
    args: Sequence[NDArray],
    argnums: Sequence[int],
    *,
    primitives: tuple[str, ...],
    vjp: bool = True,
    each: bool = True,
    dtypes: Sequence[np.dtype[Any]] = (F64, F32),
    notes: str = "",
) -> list[Draft]:
    """jvp (and vjp) of ``fn`` in ``argnums``, in each of ``dtypes`` (float args cast to it);
    in the first dtype also each operand of ``argnums`` alone (the others' tangents are
    symbolic zeros, so each operand's term is checked by itself)."""
    out = []
    for k, dtype in enumerate(dtypes):
        typed = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else a
                 for a in args]
        set_x64(is_wide(typed))
        program = jax_program(fn, typed)
        out_types = flat(jax.eval_shape(fn, *typed))
        rng = _rng(f"{name}|{dtype.name}|directions")
        tangents = {i: Value.of(_normal_like(rng, typed[i].shape, dtype)) for i in argnums}
        cts = tuple(Value.of(_normal_like(rng, t.shape, t.dtype)) for t in out_types)
        stacks: list[tuple[str, Transform]] = [
            ("jvp", Jvp(tuple(argnums), tuple(tangents[i] for i in argnums)))
        ]
        if vjp:
            stacks.append(("vjp", Vjp(tuple(argnums), cts)))
        if each and k == 0 and len(argnums) > 1:
            for i in argnums:
                stacks.append((f"jvp/arg{i}", Jvp((i,), (tangents[i],))))
                if vjp:
                    stacks.append((f"vjp/arg{i}", Vjp((i,), cts)))
        for kind, t in stacks:
            out.append(Draft(
                id=f"{TOPIC}/{name}/{kind}/{dtype.name}",
                topic=TOPIC,
                program=program,
                transforms=(t,),
                inputs=tuple(Value.of(a) for a in typed),
                ref=ref,
                provenance=f"program: jax.make_jaxpr of {name} (spec/generate_rules.py); {_FD}",
                primitives=primitives,
                x64=is_wide(typed),
                notes=notes,
            ))
    return out


# ---------------------------------------------------------------------------------------------
# Derivatives of primitives the records mark as not differentiable


def _signed(name: str, lo: float, hi: float, *shape: int) -> NDArray:
    """Magnitudes in [lo, hi) with random signs (away from a kink at 0)."""
    signs = np.where(_rng(f"{name}|signs").random(shape) < 0.5, -1.0, 1.0)
    return signs * _uniform(name, lo, hi, *shape)


def special_drafts() -> list[Draft]:
    """bessel_i0e, bessel_i1e, igamma, igammac, regularized_incomplete_beta."""
    x = _signed("bessel", 0.3, 5.0, 2, 3)
    a, ax = _uniform("igamma-a", 0.8, 4.0, 2, 3), _uniform("igamma-x", 0.5, 4.0, 2, 3)
    ba, bb = _uniform("betainc-a", 0.8, 4.0, 2, 3), _uniform("betainc-b", 0.8, 4.0, 2, 3)
    bx = _uniform("betainc-x", 0.1, 0.9, 2, 3)
    out = []
    out += derivative_drafts("bessel_i0e", lax.bessel_i0e, lambda x: (sps.i0e(x),), [x], [0],
                             primitives=("bessel_i0e",))
    out += derivative_drafts("bessel_i1e", lax.bessel_i1e, lambda x: (sps.i1e(x),), [x], [0],
                             primitives=("bessel_i1e",))
    out += derivative_drafts("igamma", lax.igamma, lambda a, x: (sps.gammainc(a, x),),
                             [a, ax], [0, 1], primitives=("igamma",))
    out += derivative_drafts("igammac", lax.igammac, lambda a, x: (sps.gammaincc(a, x),),
                             [a, ax], [0, 1], primitives=("igammac",))
    out += derivative_drafts(
        "regularized_incomplete_beta", lax.betainc, lambda a, b, x: (sps.betainc(a, b, x),),
        [ba, bb, bx], [2], primitives=("regularized_incomplete_beta",),
        notes="in x only: JAX defines no derivative in a or b (the error cases)")
    # JAX's JVP rule raises for a tangent in a or b: each operand's term is reached
    for i in (0, 1):
        set_x64(True)
        out.append(Draft(
            id=f"{TOPIC}/regularized_incomplete_beta/jvp/arg{i}/error",
            topic=TOPIC,
            program=jax_program(lax.betainc, [ba, bb, bx]),
            transforms=(Jvp((i,), (Value.of(np.ones_like(ba)),)),),
            inputs=tuple(Value.of(v) for v in (ba, bb, bx)),
            ref=None,
            provenance="program: jax.make_jaxpr of lax.betainc; a tangent in an operand JAX "
            "does not differentiate",
            primitives=("regularized_incomplete_beta",),
            x64=True,
        ))
    return out


def _full_precision(x: Any) -> Any:
    """reduce_precision to the operand's own exponent and mantissa: the identity, whose
    derivative finite differences can state (JAX's JVP applies reduce_precision to the
    tangent, linear)."""
    bits = {"float32": (8, 23), "float64": (11, 52)}[np.dtype(x.dtype).name]
    return lax.reduce_precision(x, *bits)


def _reduce_fold(m: Any) -> Any:
    """The generic reduce with ``a + b + ab`` (associative, commutative: prod(1 + m) - 1)."""
    return lax.reduce(m, np.zeros((), m.dtype), lambda a, b: a + b + a * b, (0,))


def _window_fold(m: Any) -> Any:
    """The generic reduce_window with ``a + b + ab`` over 2x2 windows, stride 1."""
    return lax.reduce_window(m, np.zeros((), m.dtype), lambda a, b: a + b + a * b, (2, 2),
                             (1, 1), "VALID")


def _window_fold_np(m: NDArray) -> tuple[NDArray, ...]:
    rows, cols = m.shape[0] - 1, m.shape[1] - 1
    out = np.empty((rows, cols), m.dtype)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.prod(1.0 + m[i : i + 2, j : j + 2]) - 1.0
    return (out,)


_UNIQUE_ROWS: Final = np.asarray([2, 0], np.int32)


def _scatter_unique(o: Any, u: Any) -> Any:
    return o.at[_UNIQUE_ROWS].set(u, unique_indices=True)


def _scatter_unique_np(o: NDArray, u: NDArray) -> tuple[NDArray, ...]:
    out = np.array(o, copy=True)
    out[_UNIQUE_ROWS] = u
    return (out,)


def small_drafts() -> list[Draft]:
    """complex, optimization_barrier, reduce_precision, reduce, reduce_window, scatter,
    concatenate, bitcast_convert_type."""
    x, y = _uniform("complex-x", -2, 2, 2, 3), _uniform("complex-y", -2, 2, 2, 3)
    m = _uniform("fold", -0.5, 0.5, 3, 4)
    o, u = _uniform("scatter-o", -2, 2, 4, 3), _uniform("scatter-u", -2, 2, 2, 3)
    c1, c2, c3 = (_uniform(f"concat-{i}", -2, 2, n, 3) for i, n in enumerate((2, 1, 3)))
    out = []
    out += derivative_drafts("complex", lax.complex, lambda x, y: (x + 1j * y,), [x, y], [0, 1],
                             primitives=("complex",))
    out += derivative_drafts(
        "optimization_barrier", lambda a, b: lax.optimization_barrier((a, b)),
        lambda a, b: (a, b), [x, y], [0, 1], primitives=("optimization_barrier",))
    out += derivative_drafts(
        "reduce_precision", _full_precision, lambda x: (x,), [x], [0],
        primitives=("reduce_precision",),
        notes="to the operand's own exponent and mantissa bits: the identity")
    out += derivative_drafts("reduce", _reduce_fold,
                             lambda m: (np.prod(1.0 + m, axis=0) - 1.0,), [m], [0],
                             primitives=("reduce",))
    out += derivative_drafts("reduce_window", _window_fold, _window_fold_np, [m], [0],
                             primitives=("reduce_window",), vjp=False,
                             notes="jvp only: JAX's reverse mode of the generic reduce_window "
                             "fails (linearization gives no known primal)")
    out += derivative_drafts("scatter_unique", _scatter_unique, _scatter_unique_np, [o, u],
                             [0, 1], primitives=("scatter",),
                             notes="unique_indices=True: the JVP scatters the tangents, and "
                             "the vjp transposes that scatter")
    out += derivative_drafts(
        "concatenate3", lambda a, b, c: lax.concatenate([a, b, c], 0),
        lambda a, b, c: (np.concatenate([a, b, c], 0),), [c1, c2, c3], [0, 1, 2],
        primitives=("concatenate",))
    for dtype in (F64, F32):  # (a reference of its own per case: _stop keeps its value)
        out += derivative_drafts(
            "bitcast_convert_type", lambda a: lax.bitcast_convert_type(a, a.dtype),
            _stop(lambda a: (a,)), [x], [0], primitives=("bitcast_convert_type",), vjp=False,
            dtypes=(dtype,),
            notes="to its own dtype: JAX defines bitcast_convert_type's JVP as zero")
    return out


# ---------------------------------------------------------------------------------------------
# custom_linear_solve whose matvec closes over four arrays; scan over three inputs

_DOT: Final = "dot_general[dimension_numbers=(([1], [0]), ([], []))]"
_TDOT: Final = "dot_general[dimension_numbers=(([0], [0]), ([], []))]"


def _sum_of_products(dot: str, ms: str, x: str) -> str:
    """One line of equations: ``dot(m, x)`` for each m in ``ms``, summed."""
    eqns = [f"y{m}:f32[3] = {dot} {m} {x}" for m in ms]
    total = f"y{ms[0]}"
    for k, m in enumerate(ms[1:]):
        eqns.append(f"s{k}:f32[3] = add {total} y{m}")
        total = f"s{k}"
    return f"{'; '.join(eqns)} in ({total},)"


def _solve4_text() -> str:
    ms = "mnop"
    binders = " ".join(f"{m}:f32[3,3]" for m in ms)
    inputs = " ".join(f"{m}:f32[3,3]" for m in ("a", "b", "c", "d", "s", "ai"))
    return f"""{{ lambda ; {inputs} v:f32[3]. let
    w:f32[3] = custom_linear_solve[
      const_lengths=_LinearSolveTuple(matvec=4, vecmat=1, solve=1, transpose_solve=1)
      jaxprs=_LinearSolveTuple(
        matvec={{ lambda ; {binders} x:f32[3]. let {_sum_of_products(_DOT, ms, "x")} }}
        vecmat={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_TDOT} m x in (y,) }}
        solve={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_DOT} m x in (y,) }}
        transpose_solve={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_TDOT} m x in (y,) }}
      )
    ] a b c d s ai ai v
  in (w,) }}"""


def _solve4_np(a: NDArray, b: NDArray, c: NDArray, d: NDArray, s: NDArray, ai: NDArray,
               v: NDArray) -> tuple[NDArray, ...]:
    """The solution of ``(a + b + c + d) w = v`` (``s = a + b + c + d`` for vecmat and ``ai``,
    its inverse, for the solves are held fixed: custom_linear_solve differentiates the system
    through matvec)."""
    del s, ai
    return (np.linalg.solve(a + b + c + d, v),)


def _solve4_jax(a: Any, b: Any, c: Any, d: Any, s: Any, ai: Any, v: Any) -> Any:
    return lax.custom_linear_solve(lambda x: a @ x + b @ x + c @ x + d @ x, v,
                                   lambda _, x: ai @ x, lambda _, x: ai.T @ x)


def _scan3_jax(c: Any, x1: Any, x2: Any, x3: Any) -> Any:
    def step(carry: Any, xs: Any) -> Any:
        a, b, e = xs
        new = carry * a + jnp.sin(b) * e
        return new, new * b

    return lax.scan(step, c, (x1, x2, x3))


def _scan3_np(c: NDArray, x1: NDArray, x2: NDArray, x3: NDArray) -> tuple[NDArray, ...]:
    ys = []
    for a, b, e in zip(x1, x2, x3, strict=True):
        c = c * a + np.sin(b) * e
        ys.append(c * b)
    return (c, np.stack(ys))


def _scan3_linear_jax(c: Any, x1: Any, x2: Any, x3: Any) -> Any:
    def step(carry: Any, xs: Any) -> Any:
        a, b, e = xs
        new = 0.5 * carry + a - 2.0 * b
        return new, new + 3.0 * e

    return lax.scan(step, c, (x1, x2, x3))


def _scan3_linear_np(c: NDArray, x1: NDArray, x2: NDArray, x3: NDArray) -> tuple[NDArray, ...]:
    ys = []
    for a, b, e in zip(x1, x2, x3, strict=True):
        c = 0.5 * c + a - 2.0 * b
        ys.append(c + 3.0 * e)
    return (c, np.stack(ys))


def _cond_jax(i: Any, x: Any) -> Any:
    return lax.cond(i > 0, lambda y: jnp.sin(y) * y, lambda y: jnp.cos(y) - y * y, x)


def _cond_np(i: NDArray, x: NDArray) -> tuple[NDArray, ...]:
    return (np.sin(x) * x if i > 0 else np.cos(x) - x * x,)


def _while_jax(x: Any) -> Any:
    def body(c: Any) -> Any:
        k, y = c
        return k + 1, y * 0.75 + jnp.sin(y)

    return lax.while_loop(lambda c: c[0] < 3, body, (jnp.int32(0), x))[1]


def _while_np(x: NDArray) -> tuple[NDArray, ...]:
    for _ in range(3):
        x = x * 0.75 + np.sin(x)
    return (x,)


def _remat_jax(x: Any) -> Any:
    return jax.checkpoint(lambda y: jnp.sin(y) * jnp.exp(y / 2))(x)


def _remat_np(x: NDArray) -> tuple[NDArray, ...]:
    return (np.sin(x) * np.exp(x / 2),)


def control_drafts() -> list[Draft]:
    """custom_linear_solve over four matvec arrays; cond, while and checkpoint; scans of one
    carry and three xs."""
    rng = _rng("solve4")
    parts = [rng.standard_normal((3, 3)) * 0.3 for _ in range(4)]
    parts[0] = parts[0] + 2.0 * np.eye(3)
    parts32 = [p.astype(np.float32) for p in parts]
    system = np.sum([p.astype(np.float64) for p in parts32], axis=0)
    s, ai = system.astype(np.float32), np.linalg.inv(system).astype(np.float32)
    v = rng.standard_normal(3).astype(np.float32)
    args = (*parts32, s, ai, v)
    set_x64(False)
    text = _solve4_text()
    out = []
    argnums = (0, 1, 2, 3, 6)  # the system, through matvec's four arrays, and the right side
    tangents = tuple(Value.of(_normal_like(rng, args[i].shape, args[i].dtype)) for i in argnums)
    (w_type,) = flat(jax.eval_shape(_solve4_jax, *args))
    ct = Value.of(_normal_like(rng, w_type.shape, w_type.dtype))
    for kind, t in (("jvp", Jvp(argnums, tangents)), ("vjp", Vjp(argnums, (ct,)))):
        out.append(Draft(
            id=f"{TOPIC}/custom_linear_solve4/{kind}/float32",
            topic=TOPIC,
            program=JaxprProgram(text),
            transforms=(t,),
            inputs=tuple(Value.of(a) for a in args),
            ref=_solve4_np,
            provenance="program: jaxpr text written by hand for lax.custom_linear_solve with "
            f"a matvec over four arrays (spec/generate_rules.py); {_FD}",
            primitives=("custom_linear_solve",),
            notes="matvec x = a x + b x + c x + d x; vecmat by s = a + b + c + d, solve "
            "and transpose_solve by ai = inv(s)",
        ))
    # cond (each branch), while and checkpoint, in 64 bits where a 0.1% error shows
    v = _uniform("control-v", -1.5, 1.5, 2, 3)
    for branch in (0, 1):
        out += derivative_drafts(f"cond{branch}", _cond_jax, _cond_np,
                                 [np.asarray(branch, np.int32), v], [1], primitives=("cond",))
    out += derivative_drafts("while", _while_jax, _while_np, [v], [0], primitives=("while",),
                             vjp=False, notes="jvp only: JAX has no reverse mode of while_loop")
    out += derivative_drafts("checkpoint", _remat_jax, _remat_np, [v], [0], primitives=())
    c0 = np.asarray(0.4)
    xs = [_uniform(f"scan3-{i}", -1, 1, 4) for i in range(3)]
    out += derivative_drafts("scan3", _scan3_jax, _scan3_np, [c0, *xs], [0, 1, 2, 3],
                             primitives=("scan",), each=False)
    # a linear body: no residuals, so the transposed scan's operands are the carry and the
    # three xs themselves, each given a cotangent
    out += derivative_drafts("scan3_linear", _scan3_linear_jax, _scan3_linear_np, [c0, *xs],
                             [0, 1, 2, 3], primitives=("scan",), each=False)
    return out


# ---------------------------------------------------------------------------------------------
# Batching of rank >= 2 values


def _clz32(x: NDArray) -> NDArray:
    u = np.asarray(x).astype(np.int64) & 0xFFFFFFFF
    out = np.full(u.shape, 32, np.int64)
    for bit in range(32):
        out = np.where((u >> bit) & 1 == 1, 31 - bit, out)
    return out.astype(np.asarray(x).dtype)


def _popcount32(x: NDArray) -> NDArray:
    u = np.asarray(x).astype(np.int64) & 0xFFFFFFFF
    out = np.zeros(u.shape, np.int64)
    for bit in range(32):
        out = out + ((u >> bit) & 1)
    return out.astype(np.asarray(x).dtype)


def _shift_left32(x: NDArray, s: NDArray) -> NDArray:
    """``x << s`` on 32 bits (wrapping), for shift amounts in [0, 32)."""
    wide = (np.asarray(x).astype(np.int64) << np.asarray(s).astype(np.int64)) & 0xFFFFFFFF
    return wide.astype(np.uint32).astype(np.int32)


def _shift_right_logical32(x: NDArray, s: NDArray) -> NDArray:
    """``x >> s`` of x's 32 bits read unsigned, for shift amounts in [0, 32)."""
    wide = (np.asarray(x).astype(np.int64) & 0xFFFFFFFF) >> np.asarray(s).astype(np.int64)
    return wide.astype(np.uint32).astype(np.int32)


def _vmap_draft(name: str, fn: Callable[..., Any], ref: NpFn, inputs: Sequence[NDArray],
                in_axes: tuple[int | None, ...], out_axes: int, prim: str,
                example: Sequence[NDArray], check: Check | None = None) -> Draft:
    set_x64(is_wide(example))
    axes = ",".join("n" if a is None else str(a) for a in in_axes)
    return Draft(
        id=f"{TOPIC}/{name}/vmap/{axes}/out{out_axes}",
        topic=TOPIC,
        program=jax_program(fn, example),
        transforms=(Vmap(in_axes, out_axes),),
        inputs=tuple(Value.of(a) for a in inputs),
        ref=ref,
        provenance=f"program: jax.make_jaxpr of {name} (spec/generate_rules.py); expected "
        "values: its numpy reference in a loop over the batch (the meaning of vmap)",
        primitives=(prim,),
        x64=is_wide(example),
        check=check,
    )


def batching_drafts() -> list[Draft]:
    """Integer ops, threefry2x32 and rng_bit_generator batched along axis 1 of 2-d values (and
    2 of 3-d), so that an axis read one place off shows."""
    rng = _rng("bitwise")
    i32 = np.int32
    x = rng.integers(-2**31, 2**31 - 1, (3, 4), dtype=np.int64).astype(i32)
    y = rng.integers(-2**31, 2**31 - 1, (3, 4), dtype=np.int64).astype(i32)
    s = rng.integers(0, 32, (3, 4)).astype(i32)
    x3 = rng.integers(-2**31, 2**31 - 1, (2, 4, 3), dtype=np.int64).astype(i32)
    unary: list[tuple[str, Callable[..., Any], Callable[[NDArray], NDArray]]] = [
        ("not", lax.bitwise_not, np.invert),
        ("clz", lax.clz, _clz32),
        ("population_count", lax.population_count, _popcount32),
    ]
    binary: list[tuple[str, Callable[..., Any], Callable[[NDArray, NDArray], NDArray],
                       NDArray]] = [
        ("and", lax.bitwise_and, np.bitwise_and, y),
        ("shift_right_arithmetic", lax.shift_right_arithmetic, np.right_shift, s),
        ("shift_left", lax.shift_left, _shift_left32, s),
        ("shift_right_logical", lax.shift_right_logical, _shift_right_logical32, s),
    ]
    out = []
    for prim, ufn, uref in unary:
        def ref1(a: NDArray, f: Callable[[NDArray], NDArray] = uref) -> tuple[NDArray, ...]:
            return (f(a),)

        out.append(_vmap_draft(prim, ufn, ref1, [x], (1,), 0, prim, [x[:, 0]]))
        out.append(_vmap_draft(prim, ufn, ref1, [x3], (2,), 1, prim, [x3[:, :, 0]]))
    for prim, bfn, bref, other in binary:
        def ref2(a: NDArray, b: NDArray,
                 f: Callable[[NDArray, NDArray], NDArray] = bref) -> tuple[NDArray, ...]:
            return (f(a, b),)

        out.append(_vmap_draft(prim, bfn, ref2, [x, other], (1, 1), 0, prim,
                               [x[:, 0], other[:, 0]]))
        out.append(_vmap_draft(prim, bfn, ref2, [x, other[:, 0]], (1, None), 1, prim,
                               [x[:, 0], other[:, 0]]))
        out.append(_vmap_draft(prim, bfn, ref2, [x[:, 0], other], (None, 1), 0, prim,
                               [x[:, 0], other[:, 0]]))
    # stack of three, the third operand batched at rank 3 (each along its own axis, all along
    # axis 0, and the first unbatched)
    stacked = [rng.standard_normal((4, 2, 3)).astype(np.float32) for _ in range(3)]
    stack_example = [p[0] for p in stacked]

    def stack3(a: NDArray, b: NDArray, c: NDArray) -> tuple[NDArray, ...]:
        return (np.stack([a, b, c]),)

    for axes in ((0, 1, 2), (0, 0, 0), (None, 2, 1)):
        placed = [p[0] if a is None else np.moveaxis(p, 0, a)
                  for p, a in zip(stacked, axes, strict=True)]
        out.append(_vmap_draft("stack3", lambda a, b, c: jnp.stack([a, b, c]), stack3, placed,
                               axes, 0, "stack", stack_example))
    # threefry2x32 on 3x4 keys and counts, batched along axis 1 (examples of shape (3,))
    prim = importlib.import_module("jax.extend.random").threefry2x32_p
    words = [rng.integers(0, 2**32, (3, 4), dtype=np.uint64).astype(np.uint32) for _ in range(4)]

    def fry(*a: Any) -> Any:
        return tuple(prim.bind(*a))

    example = [w[:, 0] for w in words]
    out.append(_vmap_draft("threefry2x32", fry, threefry2x32_np, words, (1, 1, 1, 1), 0,
                           "threefry2x32", example))
    out.append(_vmap_draft("threefry2x32", fry, threefry2x32_np,
                           [words[0][:, 0], words[1][:, 0], words[2], words[3]],
                           (None, None, 1, 1), 1, "threefry2x32", example))
    # rng_bit_generator over a batch of keys: types only (JAX's rule is no loop over keys)
    keys = rng.integers(0, 2**32, (4, 3), dtype=np.uint64).astype(np.uint32)

    def bits(k: Any) -> Any:
        return lax.rng_bit_generator(k, (2, 5), np.uint32)

    for in_axis, out_axis, batch in ((1, 1, keys), (0, 0, keys.T), (1, 0, keys)):
        draft = _vmap_draft("rng_bit_generator", bits, lambda k: (), [batch], (in_axis,),
                            out_axis, "rng_bit_generator", [keys[:, 0]], Check("aval"))
        out.append(draft)
    return out


# ---------------------------------------------------------------------------------------------
# Operand positions no other case reaches: errors for tangents JAX does not differentiate; the
# last operands of jit, cond, scan and custom_linear_solve given tangents


def _reduce_fold_init(m: Any, init: Any) -> Any:
    """The generic reduce with ``a + b + ab`` and its initial value an argument."""
    return lax.reduce(m, init, lambda a, b: a + b + a * b, (0,))


def _window_fold_init(m: Any, init: Any) -> Any:
    """The generic reduce_window with ``a + b + ab`` and its initial value an argument."""
    return lax.reduce_window(m, init, lambda a, b: a + b + a * b, (2, 2), (1, 1), "VALID")


def _error_draft(name: str, fn: Callable[..., Any], args: Sequence[NDArray], arg: int,
                 prim: str, why: str) -> Draft:
    """A jvp in ``args[arg]`` alone, which JAX's rule rejects (the case expects its error)."""
    set_x64(is_wide(args))
    return Draft(
        id=f"{TOPIC}/{name}/jvp/arg{arg}/error",
        topic=TOPIC,
        program=jax_program(fn, args),
        transforms=(Jvp((arg,), (Value.of(np.ones_like(args[arg])),)),),
        inputs=tuple(Value.of(a) for a in args),
        ref=None,
        provenance=f"program: jax.make_jaxpr of {name} (spec/generate_rules.py); {why}",
        primitives=(prim,),
        x64=is_wide(args),
    )


def _jit4_jax(a: Any, b: Any, c: Any, d: Any) -> Any:
    return jax.jit(lambda a, b, c, d: a * b + c * jnp.sin(d))(a, b, c, d)


def _jit4_np(a: NDArray, b: NDArray, c: NDArray, d: NDArray) -> tuple[NDArray, ...]:
    return (a * b + c * np.sin(d),)


def _cond4_jax(i: Any, a: Any, b: Any, c: Any, d: Any) -> Any:
    return lax.cond(i > 0, lambda a, b, c, d: a * b + jnp.sin(c) * d,
                    lambda a, b, c, d: a - b * c + jnp.cos(d), a, b, c, d)


def _cond4_np(i: NDArray, a: NDArray, b: NDArray, c: NDArray,
              d: NDArray) -> tuple[NDArray, ...]:
    return (a * b + np.sin(c) * d if i > 0 else a - b * c + np.cos(d),)


def _scan6_jax(c: Any, *xs: Any) -> Any:
    def step(carry: Any, x: Any) -> Any:
        a, b, e, f, g, h = x
        new = carry * a + jnp.sin(b) * e + f * g - 0.5 * h
        return new, new * h

    return lax.scan(step, c, xs)


def _scan6_np(c: NDArray, *xs: NDArray) -> tuple[NDArray, ...]:
    ys = []
    for a, b, e, f, g, h in zip(*xs, strict=True):
        c = c * a + np.sin(b) * e + f * g - 0.5 * h
        ys.append(c * h)
    return (c, np.stack(ys))


def _solve7_text() -> str:
    ms = "mnopqrt"
    binders = " ".join(f"{m}:f32[3,3]" for m in ms)
    inputs = " ".join(f"{m}:f32[3,3]" for m in ("a", "b", "c", "d", "e", "f", "g", "ai"))
    return f"""{{ lambda ; {inputs} v:f32[3]. let
    w:f32[3] = custom_linear_solve[
      const_lengths=_LinearSolveTuple(matvec=7, vecmat=0, solve=1, transpose_solve=0)
      jaxprs=_LinearSolveTuple(
        matvec={{ lambda ; {binders} x:f32[3]. let {_sum_of_products(_DOT, ms, "x")} }}
        vecmat=None
        solve={{ lambda ; m:f32[3,3] x:f32[3]. let y:f32[3] = {_DOT} m x in (y,) }}
        transpose_solve=None
      )
    ] a b c d e f g ai v
  in (w,) }}"""


def _solve7_np(*args: NDArray) -> tuple[NDArray, ...]:
    """The solution of ``(a + b + ... + g) w = v`` (``ai``, the inverse for solve, is held
    fixed: custom_linear_solve differentiates the system through matvec)."""
    *parts, _, v = args
    return (np.linalg.solve(np.sum(parts, axis=0), v),)


def operand_drafts() -> list[Draft]:
    """polygamma, reduce and reduce_window errors; jit, cond, scan and custom_linear_solve
    differentiated in their last operands."""
    out = []
    m, x = np.full((2, 3), 1.0, np.float32), _uniform("polygamma-x", 0.5, 3.0, 2, 3)
    out.append(_error_draft(
        "polygamma", lax.polygamma, [m, x.astype(np.float32)], 0, "polygamma",
        "a tangent in the order m, which JAX does not differentiate"))
    fold = _uniform("fold", -0.5, 0.5, 3, 4).astype(np.float32)
    init = np.zeros((), np.float32)
    out.append(_error_draft(
        "reduce_init", _reduce_fold_init, [fold, init], 1, "reduce",
        "a tangent in the initial value, which JAX's JVP of the generic reduce rejects"))
    out.append(_error_draft(
        "reduce_window_init", _window_fold_init, [fold, init], 1, "reduce_window",
        "a tangent in the initial value, which JAX's JVP of the generic reduce_window rejects"))
    # jit of four arguments, cond of four operands: the fourth's term
    args4 = [_uniform(f"four-{k}", -1.5, 1.5, 2, 3) for k in range(4)]
    out += derivative_drafts("jit4", _jit4_jax, _jit4_np, args4, [0, 1, 2, 3],
                             primitives=("jit",), each=False)
    out += derivative_drafts("jit4_last", _jit4_jax, _jit4_np, args4, [3],
                             primitives=("jit",), dtypes=(F64,),
                             notes="in the fourth argument alone")
    for branch in (0, 1):
        index = np.asarray(branch, np.int32)
        out += derivative_drafts(f"cond4_{branch}", _cond4_jax, _cond4_np, [index, *args4],
                                 [1, 2, 3, 4], primitives=("cond",), each=False)
    # scan of one carry and six xs: operand 6 is the last xs
    c0 = np.asarray(0.3)
    xs = [_uniform(f"scan6-{k}", -1, 1, 4) for k in range(6)]
    out += derivative_drafts("scan6", _scan6_jax, _scan6_np, [c0, *xs], list(range(7)),
                             primitives=("scan",), each=False)
    # custom_linear_solve over seven matvec arrays: operands 5 and 6 are matvec's
    rng = _rng("solve7")
    parts = [(rng.standard_normal((3, 3)) * 0.3).astype(np.float32) for _ in range(7)]
    parts[0] = parts[0] + np.float32(2.0) * np.eye(3, dtype=np.float32)
    system = np.sum([p.astype(np.float64) for p in parts], axis=0)
    ai = np.linalg.inv(system).astype(np.float32)
    v = rng.standard_normal(3).astype(np.float32)
    args = (*parts, ai, v)
    set_x64(False)
    argnums = (0, 1, 2, 3, 4, 5, 6, 8)
    tangents = tuple(Value.of(_normal_like(rng, args[i].shape, args[i].dtype)) for i in argnums)
    stacks = (("jvp", Jvp(argnums, tangents)), ("jvp/matvec5,6", Jvp((5, 6), tangents[5:7])))
    for kind, t in stacks:
        out.append(Draft(
            id=f"{TOPIC}/custom_linear_solve7/{kind}/float32",
            topic=TOPIC,
            program=JaxprProgram(_solve7_text()),
            transforms=(t,),
            inputs=tuple(Value.of(a) for a in args),
            ref=_solve7_np,
            provenance="program: jaxpr text written by hand for lax.custom_linear_solve with "
            f"a matvec over seven arrays (spec/generate_rules.py); {_FD}",
            primitives=("custom_linear_solve",),
            notes="matvec x = (a + b + ... + g) x, solve by ai = its inverse; no transpose "
            "solve (jvp only)",
        ))
    return out


# ---------------------------------------------------------------------------------------------
# Types


def type_drafts() -> list[Draft]:
    """schur's results returned as they come: their types (weak type, dtype) unmultiplied."""
    out = []
    for dtype in (F32, F64):
        a = (_rng(f"schur|{dtype.name}").standard_normal((4, 4))).astype(dtype)
        set_x64(is_wide([a]))
        fn = lax.linalg.schur
        program = primitive_program(fn, [a]) or jax_program(fn, [a])
        for kind, stack in (("abstract_eval", (EvalShape(),)), ("types", ())):
            out.append(Draft(
                id=f"{TOPIC}/schur/{kind}/{dtype.name}",
                topic=TOPIC,
                program=program,
                transforms=stack,
                inputs=tuple(Value.of(v).abstract() if stack else Value.of(v) for v in [a]),
                ref=lambda *a: (),
                check=Check("aval"),
                provenance="program: jax.make_jaxpr of lax.linalg.schur; types only (the "
                "Schur vectors' signs are not unique)",
                primitives=("schur",),
                x64=is_wide([a]),
            ))
    return out


def rules_drafts() -> list[Draft]:
    """Every draft of the topic."""
    return special_drafts() + small_drafts() + control_drafts() + batching_drafts() + \
        type_drafts() + operand_drafts()


__all__ = ["TOPIC", "rules_drafts"]
