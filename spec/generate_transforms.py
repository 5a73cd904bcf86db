"""Cases for the transformations themselves: every vmap axis form, argnums/has_aux/allow_int,
symbolic zeros, custom_jvp/custom_vjp, the random API, control flow under stacks, promotion.

    .venv/bin/python -m spec.generate --only transforms   # or custom_derivatives, random_api,
                                                          # stacks

The topics (registered in ``spec/generate.py``'s ``all_drafts``):

- ``transforms``: vmap with negative, None, per-output and pytree-prefix axes, nested vmaps,
  ``axis_size``; grad/vjp/jvp with argnums over unused and integer inputs (float0), ``has_aux``,
  ``allow_int`` and its error; symbolic zeros (a subset of the inputs, outputs that ignore the
  inputs, one output's cotangent, stop_gradient, through cond/scan/while/jit); jnp's type
  promotion under jit, vmap, jvp and grad.
- ``custom_derivatives``: ``custom_jvp`` and ``custom_vjp`` programs whose rules differ from the
  true derivative (so an implementation that ignores the rule fails), under jvp, vjp, grad,
  linearize, vmap and jit.
- ``random_api``: ``jax.random`` on raw ``uint32[2]`` keys: PRNGKey, split, fold_in, bits and
  the samplers, against numpy re-implementations of JAX's documented algorithms on the numpy
  Threefry-2x32 of ``generate.py`` (checked against Random123's known answers).
- ``stacks``: cond, switch, while_loop, fori_loop, scan (reverse, several carries) and map under
  jit, vmap (batched predicates and operands), jvp, vjp, grad, linearize and two-deep stacks.

Expected values never come from refjax: the numpy twins of the programs under :func:`meaning`
(loops for vmap, fourth-order central differences in float64 for derivatives, and for custom
rules the rule's own numpy twin); types and errors come from real JAX, and every case is run on
JAX (:func:`finish_more`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import special as sp_special  # type: ignore[import-untyped]  # scipy has no stubs here

from spec.adapters import JaxAdapter
from spec.format import (
    FLOAT0,
    LEAF,
    AxisDict,
    AxisTree,
    Case,
    Check,
    CustomJvpProgram,
    CustomVjpProgram,
    DType,
    EvalShape,
    Grad,
    Jit,
    Jvp,
    Linearize,
    NDArray,
    NumpyProgram,
    Param,
    Program,
    RandomProgram,
    Transform,
    Value,
    Vjp,
    Vmap,
    derivative_outputs,
)
from spec.generate import (
    JAX_NOTE,
    Base,
    Draft,
    Log,
    NpFn,
    _basis,
    _directional,
    _upcast,
    _without_fd_noise,
    base_drafts,
    finish,
    has_derivative,
    jax,
    jax_program,
    jnp,
    lax,
    seed_of,
    set_x64,
    threefry2x32_np,
)

# d(args, argnums, tangents): the tangents of a function's outputs
Deriv = Callable[[Sequence[NDArray], Sequence[int], Sequence[NDArray]], tuple[NDArray, ...]]
# a draft's input: an array (or numpy scalar), or a Value (weak types, float0)
Input: TypeAlias = "npt.ArrayLike | Value"
# a named stack: (name, transforms outermost first, inputs)
Stack: TypeAlias = tuple[str, list[Transform], list[Input]]
# a named stack on inputs given elsewhere
Named: TypeAlias = tuple[str, list[Transform]]


# ---------------------------------------------------------------------------------------------
# The meaning of a stack, for functions with a numpy twin and optionally their own derivative


@dataclass(frozen=True)
class Twin:
    """A numpy function and, where it is not its finite-difference derivative (custom rules,
    stop_gradient), its directional derivative."""

    f: NpFn
    d: Deriv | None = None


def _is_int(a: NDArray) -> bool:
    return np.asarray(a).dtype.kind in "biu"


def directional(tw: Twin, args: Sequence[NDArray], argnums: Sequence[int],
                tangents: Sequence[NDArray]) -> tuple[NDArray, ...]:
    """The tangents of ``tw``'s outputs along ``tangents`` (integer inputs have none)."""
    keep = [(i, t) for i, t in zip(argnums, tangents, strict=True) if not _is_int(args[i])]
    if tw.d is not None:
        return tw.d(args, [i for i, _ in keep], [t for _, t in keep])
    if not keep:
        return tuple(np.zeros(np.shape(o)) for o in tw.f(*args))
    return _directional(tw.f, args, [i for i, _ in keep], [t for _, t in keep])


def pullback(tw: Twin, args: Sequence[NDArray], argnums: Sequence[int],
             cotangents: Sequence[NDArray]) -> tuple[NDArray, ...]:
    """The transpose of the directional derivative, one basis column at a time (integer
    inputs: zeros, whose type JAX gives as float0)."""
    out = []
    for i in argnums:
        shape = np.shape(args[i])
        if _is_int(args[i]):
            out.append(np.zeros(shape))
            continue
        col = []
        for e in _basis(shape):
            tangent = directional(tw, args, [i], [e])
            col.append(sum(float(np.sum(_upcast(c) * t))
                           for c, t in zip(cotangents, tangent, strict=True)
                           if not _is_int(c)))
        out.append(np.asarray(col, np.float64).reshape(shape))
    return tuple(out)


def _expand(axes: AxisTree, structure: AxisTree) -> list[int | None]:
    """The axis of every leaf of ``structure`` under the prefix ``axes``."""
    if isinstance(structure, tuple):
        parts = axes if isinstance(axes, tuple) else (axes,) * len(structure)
        return [a for p, s in zip(parts, structure, strict=True) for a in _expand(p, s)]
    if isinstance(structure, AxisDict):
        return [a for k, s in sorted(structure.items)
                for a in _expand(axes.get(k) if isinstance(axes, AxisDict) else axes, s)]
    assert axes is None or isinstance(axes, int), axes
    return [axes]


def leaf_axes(t: Vmap, args: Sequence[NDArray]) -> list[int | None]:
    """Each flat input's batch axis, nonnegative (None: unmapped)."""
    structure: tuple[AxisTree, ...] = t.in_tree or (LEAF,) * len(args)
    axes = _expand(t.in_axes, structure)
    return [None if ax is None else ax % np.ndim(a) for a, ax in zip(args, axes, strict=True)]


def _int_axis(a: AxisTree) -> int | None:
    """An axis that must be an int or None (an output's, or a leaf's)."""
    assert a is None or isinstance(a, int), a
    return a


def _out_axes(t: Vmap, n: int) -> list[int | None]:
    if isinstance(t.out_axes, tuple):
        return [_int_axis(a) for a in t.out_axes]
    return [t.out_axes] * n


def _loop(t: Vmap, fn: Callable[[list[NDArray], int], tuple[NDArray, ...]],
          args: Sequence[NDArray]) -> tuple[NDArray, ...]:
    axes = leaf_axes(t, args)
    sizes = {np.shape(a)[ax] for a, ax in zip(args, axes, strict=True) if ax is not None}
    (size,) = sizes or {t.axis_size}
    assert size is not None
    rows = [fn([a if ax is None else np.take(a, i, axis=ax)
                for a, ax in zip(args, axes, strict=True)], i) for i in range(size)]
    out = []
    for j, ax in enumerate(_out_axes(t, len(rows[0]))):
        column = [np.asarray(r[j]) for r in rows]
        if ax is None:  # unmapped: the same for every example
            for c in column[1:]:
                assert np.allclose(c, column[0]), "out_axes None for a mapped output"
            out.append(column[0])
        else:
            out.append(np.moveaxis(np.stack(column), 0, ax))
    return tuple(out)


def vmap_twin(inner: Twin, t: Vmap) -> Twin:
    """vmap by a loop over slices; its derivative slices the tangents alike."""

    def f(*args: NDArray) -> tuple[NDArray, ...]:
        return _loop(t, lambda sl, _: inner.f(*sl), args)

    def d(args: Sequence[NDArray], argnums: Sequence[int],
          tangents: Sequence[NDArray]) -> tuple[NDArray, ...]:
        axes = leaf_axes(t, args)

        def one(sl: list[NDArray], i: int) -> tuple[NDArray, ...]:
            ts = [tg if axes[k] is None else np.take(tg, i, axis=axes[k])
                  for k, tg in zip(argnums, tangents, strict=True)]
            return directional(inner, sl, argnums, ts)

        return _loop(t, one, args)

    return Twin(f, d)


def meaning(tw: Twin, transforms: Sequence[Transform]) -> Twin:
    """``tw`` under ``transforms`` (outermost first), by the definitions."""
    if not transforms:
        return tw
    t, inner = transforms[0], meaning(tw, transforms[1:])
    if isinstance(t, (Jit, EvalShape)):
        return inner
    if isinstance(t, Vmap):
        return vmap_twin(inner, t)
    if isinstance(t, Grad):
        g = t

        def grad(*args: NDArray) -> tuple[NDArray, ...]:
            outs = inner.f(*args)
            main = _first(inner, 1)
            gs = pullback(main, args, g.argnums, [np.ones_like(_upcast(outs[0]))])
            return (*gs, *(outs[1:] if g.has_aux else ()))

        return Twin(grad)
    if isinstance(t, (Jvp, Linearize)):
        tangents = [np.asarray(v.data) for v in t.tangents]
        aux = t.has_aux
        argnums = t.argnums

        def jvp(*args: NDArray) -> tuple[NDArray, ...]:
            outs = inner.f(*args)
            ds = directional(inner, args, argnums, tangents)
            if aux:
                return (*outs[:-1], *ds[:-1], outs[-1])
            return (*outs, *ds)

        return Twin(jvp)
    assert isinstance(t, Vjp)
    v = t
    cts = [np.asarray(c.data) for c in t.cotangents]

    def vjp(*args: NDArray) -> tuple[NDArray, ...]:
        outs = inner.f(*args)
        n = len(outs) - 1 if v.has_aux else len(outs)
        back = pullback(_first(inner, n), args, v.argnums, cts)
        return (*outs[:n], *back, *outs[n:])

    return Twin(vjp)


def _first(tw: Twin, n: int) -> Twin:
    """``tw``'s first n outputs."""
    d = tw.d
    return Twin(lambda *a: tw.f(*a)[:n],
                None if d is None else (lambda a, i, t: d(a, i, t)[:n]))


# ---------------------------------------------------------------------------------------------
# Drafts with twins, finished like generate.finish


@dataclass
class TDraft(Draft):
    """A draft whose program has a twin (its own derivative where not finite differences)."""

    twin_d: Deriv | None = None


def _expected(draft: Draft, types: Sequence[Value]) -> tuple[Value, ...]:
    assert draft.ref is not None
    arrays = [np.asarray(v.data) for v in draft.inputs]
    if draft.upcast or any(isinstance(t, (Grad, Jvp, Linearize, Vjp)) for t in draft.transforms):
        arrays = [_upcast(a) for a in arrays]
    twin = Twin(draft.ref, draft.twin_d if isinstance(draft, TDraft) else None)
    with np.errstate(all="ignore"):
        outs = meaning(twin, draft.transforms).f(*arrays)
    if len(outs) != len(types):
        raise ValueError(f"{draft.id}: reference gives {len(outs)} outputs, JAX {len(types)}")
    if has_derivative(draft.transforms):  # zero derivatives exactly zero, not rounding noise
        float_outs = [i for i, t in enumerate(types) if t.dtype != FLOAT0]
        slots = [i for i in derivative_outputs(draft.transforms, len(outs)) if i in float_outs]
        outs = _without_fd_noise(outs, slots)
    values = []
    for o, t in zip(outs, types, strict=True):
        arr = np.asarray(o)
        if arr.shape != t.shape:
            raise ValueError(f"{draft.id}: reference shape {arr.shape}, JAX {t.shape}")
        if t.dtype == FLOAT0:
            values.append(Value.float0(t.shape))
            continue
        with np.errstate(all="ignore"):
            values.append(Value(t.dtype, t.shape, t.weak_type, arr.astype(t.dtype)))
    return tuple(values)


def finish_more(draft: Draft, adapter: JaxAdapter, log: Log) -> Case | None:
    """``generate.finish`` with expected values from :func:`meaning` (new vmap axes, has_aux,
    allow_int, float0, custom rules): the case, or None if JAX disagrees."""
    return finish(draft, adapter, log, _expected)


_PROV: Final = ("expected values: its numpy twin, transformations by their definitions (loops "
                "over slices, fourth-order central differences in float64)")


def _draft(topic: str, name: str, program: Program, transforms: Sequence[Transform],
           inputs: Sequence[Input], ref: NpFn | None, *, what: str, d: Deriv | None = None,
           check: Check | None = None, x64: bool = False, notes: str = "",
           primitives: tuple[str, ...] = ()) -> TDraft:
    values = tuple(a if isinstance(a, Value) else Value.of(a) for a in inputs)
    return TDraft(
        id=f"{topic}/{name}",
        topic=topic,
        program=program,
        transforms=tuple(transforms),
        inputs=values,
        ref=ref,
        provenance=f"program: {what}; {_PROV}" if ref is not None else f"program: {what}",
        primitives=primitives,
        x64=x64,
        check=check,
        notes=notes,
        upcast=True,
        twin_d=d,
    )


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(seed_of(name))


def _n(name: str, *shape: int) -> NDArray:
    return _rng(name).standard_normal(shape).astype(np.float32)


def _t(name: str, a: npt.ArrayLike) -> Value:
    return Value.of(_n(name, *np.shape(a)).astype(np.asarray(a).dtype))


# ---------------------------------------------------------------------------------------------
# transforms: vmap axes


def _prog3_jax(a: Any, b: Any, s: Any) -> Any:
    return a * jnp.sin(b) + s, jnp.sum(a * a, axis=1) * s, b * 2.0


def _prog3_np(a: NDArray, b: NDArray, s: NDArray) -> tuple[NDArray, ...]:
    return a * np.sin(b) + s, np.sum(a * a, axis=1) * s, b * 2.0


def vmap_drafts() -> list[TDraft]:
    """Every in_axes/out_axes form on non-square shapes (2x3 slices, batch 4)."""
    set_x64(False)
    a, b, s = _n("va", 2, 3), _n("vb", 3), np.float32(0.5)
    prog = jax_program(_prog3_jax, [a, b, s])
    what = "jax.make_jaxpr of (a * sin(b) + s, sum(a*a, 1) * s, 2b) on f32[2,3], f32[3], f32[]"
    batch = 4
    a_bat = _n("vA0", batch, 2, 3)
    b_bat = _n("vB0", batch, 3)
    s_bat = _n("vS0", batch)
    out: list[TDraft] = []

    def add(name: str, t: Sequence[Transform], ins: Sequence[Input]) -> None:
        out.append(_draft("transforms", f"vmap/{name}", prog, t, ins, _prog3_np, what=what))

    add("in_0_n_n", [Vmap((0, None, None))], [a_bat, b, s])
    add("in_n_0_n", [Vmap((None, 0, None))], [a, b_bat, s])
    add("in_n_n_0", [Vmap((None, None, 0))], [a, b, s_bat])
    add("in_1_0_0", [Vmap((1, 0, 0))], [np.moveaxis(a_bat, 0, 1).copy(), b_bat, s_bat])
    add("in_2_1_0", [Vmap((2, 1, 0))], [np.moveaxis(a_bat, 0, 2).copy(), b_bat.T.copy(), s_bat])
    add("in_neg1_neg1_neg1", [Vmap((-1, -1, -1))],
        [np.moveaxis(a_bat, 0, -1).copy(), b_bat.T.copy(), s_bat])
    add("in_neg2_n_n", [Vmap((-2, None, None))], [np.moveaxis(a_bat, 0, 1).copy(), b, s])
    add("in_neg3_n_0", [Vmap((-3, None, 0))], [a_bat, b, s_bat])
    prog2 = jax_program(lambda a, b: (a * b, jnp.sum(a, 0) - b), [a, b])
    for ax, ins in ((1, [np.moveaxis(a_bat, 0, 1).copy(), b_bat.T.copy()]),
                    (-1, [np.moveaxis(a_bat, 0, -1).copy(), b_bat.T.copy()])):
        out.append(_draft("transforms", f"vmap/in_int{ax}", prog2, [Vmap(ax, ax)], ins,
                          lambda a, b: (a * b, np.sum(a, 0) - b),
                          what="jax.make_jaxpr of (a * b, sum(a, 0) - b), every input on one axis"))
    # out_axes
    add("out_1", [Vmap((0, 0, 0), 1)], [a_bat, b_bat, s_bat])
    add("out_neg1", [Vmap((0, 0, 0), -1)], [a_bat, b_bat, s_bat])
    add("out_per_output", [Vmap((0, 0, 0), (2, -1, 0))], [a_bat, b_bat, s_bat])
    add("out_none_unbatched", [Vmap((0, None, 0), (-2, 0, None))], [a_bat, b, s_bat])
    add("out_none_all_none_axis_size", [Vmap((None, None, None), (0, None, -1), axis_size=2)],
        [a, b, s])
    add("axis_size_all_none", [Vmap(None, 1, axis_size=3)], [a, b, s])
    # nested vmaps with different axes
    a_nest = _n("vAA", 2, batch, 2, 3)  # outer along 0, inner along 1 (of the outer slice: 0)
    add("nested_0_1", [Vmap((0, None, None)), Vmap((0, None, None), -1)], [a_nest, b, s])
    add("nested_1_0_neg1", [Vmap((1, 0, None), 1), Vmap((-1, None, 0), 0)],
        [_n("vAB", 2, 5, 3, 4), _n("vBB", 5, 3), _n("vSB", 4)])
    # under jit and derivatives
    add("jit.in_neg1_n_0", [Jit(), Vmap((-1, None, 0), -1)],
        [np.moveaxis(a_bat, 0, -1).copy(), b, s_bat])
    add("in_neg1_n_0.jit", [Vmap((-1, None, 0), (1, 0, None)), Jit()],
        [np.moveaxis(a_bat, 0, -1).copy(), b, s_bat])
    t_a, t_b, t_s = _t("vta", a), _t("vtb", b), _t("vts", s)
    add("neg1.jvp", [Vmap((-1, None, 0), (-1, 1, None, -1, 1, None)),
                     Jvp((0, 1, 2), (t_a, t_b, t_s))],
        [np.moveaxis(a_bat, 0, -1).copy(), b, s_bat])
    add("1.vjp", [Vmap((None, 0, 0), 1),
                  Vjp((0, 1), tuple(_t(f"vct{i}", o)
                                    for i, o in enumerate(_prog3_np(a, b, np.asarray(s)))))],
        [a, b_bat, s_bat])
    # jvp of a vmap: tangents batched like their primals
    out.append(_draft("transforms", "vmap/jvp.in_1_n_0.out_neg1",
                      prog, [Jvp((0, 2), (_t("vtA", a_bat.transpose(1, 0, 2)),
                                          Value.of(_n("vtS", batch)))),
                             Vmap((1, None, 0), -1)],
                      [a_bat.transpose(1, 0, 2).copy(), b, s_bat], _prog3_np, what=what))
    out.append(_draft("transforms", "vmap/vjp.in_neg1_0_n.out_per",
                      prog, [Vjp((0, 1), (Value.of(_n("c0", 2, 3, batch)),
                                          Value.of(_n("c1", batch, 2)),
                                          Value.of(_n("c2", 3, batch)))),
                             Vmap((-1, 0, None), (-1, 0, 1))],
                      [np.moveaxis(a_bat, 0, -1).copy(), b_bat, s], _prog3_np, what=what))
    # grad of a loss that vmaps inside (the per-example outputs summed)
    loss = jax_program(lambda w, xs: jnp.sum(jax.vmap(lambda x: jnp.tanh(x @ w), in_axes=1,
                                                      out_axes=-1)(xs) ** 2),
                       [_n("lw", 3, 2), _n("lx", 3, 5)])
    out.append(_draft("transforms", "vmap/grad_of_inner_vmap_in1_outneg1", loss,
                      [Grad((0, 1))], [_n("lw", 3, 2), _n("lx", 3, 5)],
                      lambda w, xs: (np.sum(np.tanh(xs.T @ w) ** 2),),
                      what="jax.make_jaxpr of sum(vmap(tanh(x @ w), in_axes=1, out_axes=-1)^2)"))
    out += pytree_drafts()
    return out


def pytree_drafts() -> list[TDraft]:
    """vmap over dict and tuple arguments, with full trees and prefixes of axes."""
    set_x64(False)
    w, v, s = _n("tw", 2, 3), _n("tv", 3), np.float32(1.5)

    def ref(w: NDArray, v: NDArray, s: NDArray) -> tuple[NDArray, ...]:
        return (w @ v * s, np.sum(w, 0) + v)

    what = "jax.make_jaxpr of (w @ v * s, sum(w, 0) + v) on f32[2,3], f32[3], f32[]"
    d_wv = AxisDict((("v", LEAF), ("w", LEAF)))  # leaves in sorted key order: v, w
    w_bat, v_bat, s_bat2 = _n("tW", 4, 2, 3), _n("tV", 4, 3), _n("tS", 4)
    out = []
    # program inputs are (w, v, s); the dict argument {"v": v, "w": w} flattens v then w, so
    # these cases take a program with inputs in that order
    prog_vw = jax_program(lambda v, w, s: (w @ v * s, jnp.sum(w, 0) + v), [v, w, s])

    def ref_vw(v: NDArray, w: NDArray, s: NDArray) -> tuple[NDArray, ...]:
        return ref(w, v, s)

    cases: list[tuple[str, Vmap, list[Input]]] = [
        ("dict_full", Vmap((AxisDict((("v", 0), ("w", -1))), None), 0, (d_wv, LEAF)),
         [v_bat, np.moveaxis(w_bat, 0, -1).copy(), s]),
        ("dict_prefix_0", Vmap((0, 0), -1, (d_wv, LEAF)), [v_bat, w_bat, s_bat2]),
        ("dict_prefix_none", Vmap((None, 0), (1, None), (d_wv, LEAF)), [v, w, s_bat2]),
        ("dict_one_none", Vmap((AxisDict((("v", None), ("w", 1))), 0), (0, 1), (d_wv, LEAF)),
         [v, np.moveaxis(w_bat, 0, 1).copy(), s_bat2]),
        ("tuple_nested", Vmap(((0, (None,)), -1), 0, ((LEAF, (LEAF,)), LEAF)),
         [v_bat, w, s_bat2]),
        ("tuple_prefix", Vmap((1, None), 0, ((LEAF, LEAF), LEAF)),
         [v_bat.T.copy(), np.moveaxis(w_bat, 0, 1).copy(), s]),
    ]
    for name, t, ins in cases:
        out.append(_draft("transforms", f"vmap_tree/{name}", prog_vw, [t], ins, ref_vw,
                          what=what + " (inputs ordered v, w, s)"))
    t_vw = Vmap((AxisDict((("v", 0), ("w", -1))), None), 0, (d_wv, LEAF))
    out.append(_draft("transforms", "vmap_tree/jit.dict.jvp", prog_vw,
                      [Jit(), t_vw, Jvp((0, 1), (_t("tvt", v), _t("twt", w)))],
                      [v_bat, np.moveaxis(w_bat, 0, -1).copy(), s], ref_vw, what=what))
    out.append(_draft("transforms", "vmap_tree/dict.grad", jax_program(
        lambda v, w, s: jnp.sum(jnp.sin(w @ v)) * s, [v, w, s]),
        [Vmap((AxisDict((("v", None), ("w", 0))), 0), 0, (d_wv, LEAF)), Grad((0, 1, 2))],
        [v, w_bat, s_bat2], lambda v, w, s: (np.sum(np.sin(w @ v)) * s,),
        what="sum(sin(w @ v)) * s"))
    return out


# ---------------------------------------------------------------------------------------------
# transforms: argnums, unused and integer inputs, has_aux, allow_int


def argnum_drafts() -> list[TDraft]:
    """Gradients with respect to unused, integer and several inputs; has_aux; allow_int."""
    set_x64(False)
    x, y = _n("gx", 2, 3), _n("gy", 3)
    n = np.asarray([2, -1, 3], np.int32)
    out: list[TDraft] = []
    # f(x, y, z) = sum(sin(x) * z): y unused
    unused = jax_program(lambda x, y, z: jnp.sum(jnp.sin(x) * z), [x, y, y])
    ref_unused = lambda x, y, z: (np.sum(np.sin(x) * z),)  # noqa: E731
    w1 = "jax.make_jaxpr of sum(sin(x) * z) (y unused)"
    for nums in ((0,), (1,), (0, 1, 2), (2, 1)):
        name = "".join(map(str, nums))
        out.append(_draft("transforms", f"grad/unused_arg/argnums{name}", unused,
                          [Grad(nums)], [x, y, _n("gz", 3)], ref_unused, what=w1))
    out.append(_draft("transforms", "grad/unused_arg/vmap.argnums1", unused,
                      [Vmap((0, None, 0)), Grad((1, 2))],
                      [_n("gX", 4, 2, 3), y, _n("gZ", 4, 3)], ref_unused, what=w1))
    out.append(_draft("transforms", "vjp/unused_arg", unused,
                      [Vjp((0, 1), (Value.of(np.float32(1.5)),))], [x, y, _n("gz", 3)],
                      ref_unused, what=w1))
    out.append(_draft("transforms", "jvp/unused_arg_only", unused,
                      [Jvp((1,), (_t("gty", y),))], [x, y, _n("gz", 3)], ref_unused, what=w1))
    # integer inputs: f(x, n) = sum(x * n)
    intp = jax_program(lambda x, n: (jnp.sum(x * n),), [y, n])
    ref_int = lambda x, n: (np.sum(x * n),)  # noqa: E731
    w2 = "jax.make_jaxpr of sum(x * n), n int32"
    out.append(_draft("transforms", "grad/allow_int/argnums01", intp,
                      [Grad((0, 1), allow_int=True)], [y, n], ref_int, what=w2))
    out.append(_draft("transforms", "grad/allow_int/argnums1", intp,
                      [Grad((1,), allow_int=True)], [y, n], ref_int, what=w2))
    out.append(_draft("transforms", "grad/allow_int/vmap", intp,
                      [Vmap((0, 0)), Grad((0, 1), allow_int=True)],
                      [_n("gY", 2, 3), np.stack([n, n + 1])], ref_int, what=w2))
    out.append(_draft("transforms", "grad/allow_int/jit", intp,
                      [Jit(), Grad((1, 0), allow_int=True)], [y, n], ref_int, what=w2))
    out.append(_draft("transforms", "grad/int_without_allow_int", intp, [Grad((0, 1))],
                      [y, n], None, what=w2))
    out.append(_draft("transforms", "grad/int_argnum_without_allow_int", intp, [Grad((1,))],
                      [y, n], None, what=w2))
    out.append(_draft("transforms", "jvp/int_input_float0_tangent", intp,
                      [Jvp((0, 1), (_t("gyt", y), Value.float0((3,))))], [y, n], ref_int,
                      what=w2))
    out.append(_draft("transforms", "vjp/int_input_float0_cotangent", intp,
                      [Vjp((0, 1), (Value.of(np.float32(2.0)),))], [y, n], ref_int, what=w2))
    # integer outputs: f(x, n) = (x * 2, n + 1): jvp gives a float0 tangent for n + 1
    intout = jax_program(lambda x, n: (x * 2.0, n + 1), [y, n])
    out.append(_draft("transforms", "jvp/int_output_float0", intout,
                      [Jvp((0,), (_t("gyt2", y),))], [y, n],
                      lambda x, n: (x * 2.0, n + 1), what="(x * 2, n + 1)"))
    out.append(_draft("transforms", "vjp/int_output", intout,
                      [Vjp((0,), (_t("gc", y), Value.float0((3,))))], [y, n],
                      lambda x, n: (x * 2.0, n + 1), what="(x * 2, n + 1)"))
    # has_aux: the last outputs returned unchanged (an int one among them)
    auxp = jax_program(lambda x, n: (jnp.sum(jnp.sin(x) ** 2), x * 3.0, n * 2),
                       [x, np.int32(4)])
    ref_aux = lambda x, n: (np.sum(np.sin(x) ** 2), x * 3.0, n * 2)  # noqa: E731
    w3 = "jax.make_jaxpr of (sum(sin(x)^2), 3x, 2n)"
    out.append(_draft("transforms", "grad/has_aux", auxp, [Grad((0,), has_aux=True)],
                      [x, np.int32(4)], ref_aux, what=w3))
    out.append(_draft("transforms", "grad/has_aux/jit.vmap", auxp,
                      [Jit(), Vmap((1, 0)), Grad((0,), has_aux=True)],
                      [_n("gXa", 2, 5, 3), np.arange(5, dtype=np.int32)], ref_aux, what=w3))
    out.append(_draft("transforms", "grad/has_aux/allow_int", auxp,
                      [Grad((0, 1), has_aux=True, allow_int=True)], [x, np.int32(4)], ref_aux,
                      what=w3))
    aux2 = jax_program(lambda x: (jnp.sin(x), x * x, jnp.sum(x)), [y])
    ref_aux2 = lambda x: (np.sin(x), x * x, np.sum(x))  # noqa: E731
    out.append(_draft("transforms", "vjp/has_aux", aux2,
                      [Vjp((0,), (_t("hc0", y), _t("hc1", y)), has_aux=True)], [y], ref_aux2,
                      what="(sin x, x^2, sum x)"))
    out.append(_draft("transforms", "jvp/has_aux", aux2,
                      [Jvp((0,), (_t("ht", y),), has_aux=True)], [y], ref_aux2,
                      what="(sin x, x^2, sum x)"))
    out.append(_draft("transforms", "jvp/has_aux/vmap", aux2,
                      [Vmap((1,), (0, 1, 0, -1, 0)),
                       Jvp((0,), (_t("ht", y),), has_aux=True)],
                      [_n("hY", 3, 2)], ref_aux2, what="(sin x, x^2, sum x)"))
    out.append(_draft("transforms", "linearize/has_aux", aux2,
                      [Linearize((0,), (_t("hl", y),), has_aux=True)], [y], ref_aux2,
                      what="(sin x, x^2, sum x)"))
    out.append(_draft("transforms", "linearize/has_aux/jit", aux2,
                      [Jit(), Linearize((0,), (_t("hl", y),), has_aux=True)], [y], ref_aux2,
                      what="(sin x, x^2, sum x)"))
    # second order with argnums
    two = jax_program(lambda x, y: jnp.sum(jnp.sin(x) * y ** 2), [y, _n("g2", 3)])
    ref_two = lambda x, y: (np.sum(np.sin(x) * y ** 2),)  # noqa: E731
    out.append(_draft("transforms", "grad/grad_argnums_1_of_0",
                      two, [Vjp((0,), (_t("g2c", y),)), Grad((1,))], [y, _n("g2", 3)],
                      ref_two, what="sum(sin(x) * y^2)"))
    return out


# ---------------------------------------------------------------------------------------------
# transforms: symbolic zeros


def _sg_jvp(args: Sequence[NDArray], argnums: Sequence[int],
            tangents: Sequence[NDArray]) -> tuple[NDArray, ...]:
    """d(x * stop_gradient(x) + sin(y)) = stop_gradient(x) dx + cos(y) dy (and 0 for the
    constant output)."""
    x, y = args[0], args[1]
    dx = dict(zip(argnums, tangents, strict=True)).get(0, np.zeros_like(x))
    dy = dict(zip(argnums, tangents, strict=True)).get(1, np.zeros_like(y))
    return (x * dx + np.cos(y) * dy, np.zeros_like(x))


def zero_drafts() -> list[TDraft]:
    """Tangents and cotangents that are zero by structure: a subset of inputs, outputs that
    ignore the inputs, one output's cotangent, stop_gradient, through control flow and jit."""
    set_x64(False)
    x, y = _n("zx", 3), _n("zy", 3)
    out: list[TDraft] = []
    # outputs: depends on x only; on nothing; on both; on y only (via jit)
    def multi_jax(x: Any, y: Any) -> Any:
        inner = jax.jit(lambda a, b: (jnp.cos(b) * 2.0, a * 0.0 + 1.0))
        c, one = inner(x, y)
        return jnp.sin(x), jnp.ones(3, jnp.float32) * 4.0, x * y, c, one

    def multi_np(x: NDArray, y: NDArray) -> tuple[NDArray, ...]:
        return (np.sin(x), np.full(3, 4.0), x * y, np.cos(y) * 2.0, x * 0.0 + 1.0)

    prog = jax_program(multi_jax, [x, y])
    what = "jax.make_jaxpr of (sin x, 4, x*y, jit(cos(y)*2, x*0+1)) (spec/generate_transforms.py)"
    cts = [_t(f"zc{i}", x) for i in range(5)]
    zero = Value.of(np.zeros(3, np.float32))
    multi_stacks: list[Named] = [
        ("jvp_x_only", [Jvp((0,), (_t("zt", x),))]),
        ("jvp_y_only", [Jvp((1,), (_t("zt", y),))]),
        ("jvp_both", [Jvp((0, 1), (_t("zt", x), _t("zu", y)))]),
        ("vjp_x_only", [Vjp((0,), tuple(cts))]),
        ("vjp_y_only", [Vjp((1,), tuple(cts))]),
        ("vjp_one_output_ct", [Vjp((0, 1), (zero, zero, cts[2], zero, zero))]),
        ("vjp_const_output_ct", [Vjp((0, 1), (zero, cts[1], zero, zero, zero))]),
        ("linearize_y_only", [Linearize((1,), (_t("zt", y),))]),
        ("vmap.jvp_x_only", [Vmap((0, None)), Jvp((0,), (_t("zt", x),))]),
        ("vmap_y.vjp_x_only", [Vmap((None, 0)), Vjp((0,), tuple(cts))]),
        ("jit.vjp_y_only", [Jit(), Vjp((1,), tuple(cts))]),
    ]
    for name, t in multi_stacks:
        ins: list[Input] = [x, y]
        if name.startswith("vmap."):
            ins = [_n("zX", 2, 3), y]
        elif name.startswith("vmap_y"):
            ins = [x, _n("zY", 2, 3)]
        out.append(_draft("transforms", f"zeros/multi/{name}", prog, t, ins, multi_np, what=what))
    # stop_gradient: the twin's derivative is written out (differences see through it)
    sg = jax_program(lambda x, y: (x * lax.stop_gradient(x) + jnp.sin(y),
                                   lax.stop_gradient(x * y)), [x, y])
    sg_np = lambda x, y: (x * x + np.sin(y), x * y)  # noqa: E731
    wsg = "jax.make_jaxpr of (x * stop_gradient(x) + sin y, stop_gradient(x*y))"
    sg_stacks: list[Named] = [
        ("jvp", [Jvp((0, 1), (_t("st", x), _t("su", y)))]),
        ("vjp", [Vjp((0, 1), (cts[0], cts[1]))]),
        ("vmap.vjp", [Vmap((0, 0)), Vjp((0, 1), (cts[0], cts[1]))]),
    ]
    for name, t in sg_stacks:
        ins = [_n("sX", 2, 3), _n("sY", 2, 3)] if name.startswith("vmap") else [x, y]
        out.append(_draft("transforms", f"zeros/stop_gradient/{name}", sg, t, ins, sg_np,
                          what=wsg, d=_sg_jvp))
    # through control flow: cond where one branch ignores x; scan whose carry ignores xs;
    # while with an integer counter carry
    p = np.float32(1.0)

    def cond_jax(p: Any, x: Any, y: Any) -> Any:
        return lax.cond(p > 0, lambda a, b: (a * b, jnp.zeros_like(b)),
                        lambda a, b: (jnp.ones_like(a), b * 3.0), x, y)

    def cond_np(p: NDArray, x: NDArray, y: NDArray) -> tuple[NDArray, ...]:
        return (x * y, np.zeros_like(y)) if p > 0 else (np.ones_like(x), y * 3.0)

    cprog = jax_program(cond_jax, [p, x, y])
    wc = "jax.make_jaxpr of cond(p > 0, (x*y, 0), (1, 3y))"
    for pv in (1.0, -1.0):
        cond_stacks: list[Named] = [
            ("jvp_x", [Jvp((1,), (_t("ct", x),))]),
            ("jvp_y", [Jvp((2,), (_t("cu", y),))]),
            ("vjp_x", [Vjp((1,), (cts[0], cts[1]))]),
            ("vjp_y_first_ct", [Vjp((2,), (cts[0], zero))]),
        ]
        for name, t in cond_stacks:
            out.append(_draft("transforms", f"zeros/cond/{'t' if pv > 0 else 'f'}/{name}",
                              cprog, t, [np.float32(pv), x, y], cond_np, what=wc))
    out.append(_draft("transforms", "zeros/cond/vmap_mixed.jvp_y", cprog,
                      [Vmap((0, 0, None)), Jvp((2,), (_t("cu", y),))],
                      [np.asarray([1.0, -1.0, 0.5], np.float32), _n("cX", 3, 3), y], cond_np,
                      what=wc))

    # the integer carries start from an input (a literal start would be weakly typed in the
    # text, unlike jnp.int32(0) in the function JAX traced)
    def scan_jax(c: Any, xs: Any, k0: Any) -> Any:
        def body(carry: Any, x: Any) -> Any:
            a, k = carry
            return (a * 0.5 + 1.0, k + 1), a * x
        (a, k), ys = lax.scan(body, (c, k0), xs)
        return a, k, ys

    def scan_np(c: NDArray, xs: NDArray, k0: NDArray) -> tuple[NDArray, ...]:
        a, ys = c, []
        for x_ in xs:
            ys.append(a * x_)
            a = a * 0.5 + 1.0
        return a, k0 + np.int32(len(xs)), np.stack(ys)

    k0 = np.int32(2)
    sprog = jax_program(scan_jax, [np.float32(0.3), x, k0])
    ws = "jax.make_jaxpr of scan((a, k) -> (a/2 + 1, k + 1), ys = a * x) from (c, k0)"
    scan_stacks: list[Named] = [
        ("jvp_xs_only", [Jvp((1,), (_t("sxt", x),))]),
        ("jvp_c_only", [Jvp((0,), (Value.of(np.float32(1.0)),))]),
        ("vjp_xs_only", [Vjp((1,), (Value.of(np.float32(0.0)), Value.float0(()),
                                    _t("syc", x)))]),
        ("vjp_c_carry_ct_only", [Vjp((0, 1), (Value.of(np.float32(1.0)), Value.float0(()),
                                              zero))]),
    ]
    for name, t in scan_stacks:
        out.append(_draft("transforms", f"zeros/scan/{name}", sprog, t,
                          [np.float32(0.3), x, k0], scan_np, what=ws))

    def while_jax(x: Any, y: Any, i0: Any) -> Any:
        def body(c: Any) -> Any:
            i, a, b = c
            return i + 1, a * 1.5 + b, b
        return lax.while_loop(lambda c: c[0] < 3, body, (i0, x, y))

    def while_np(x: NDArray, y: NDArray, i0: NDArray) -> tuple[NDArray, ...]:
        a = x
        for _ in range(int(i0), 3):
            a = a * 1.5 + y
        return np.asarray(max(int(i0), 3), np.int32), a, y

    i0 = np.int32(0)
    wprog = jax_program(while_jax, [x, y, i0])
    ww = "jax.make_jaxpr of while_loop(i < 3, (i+1, 1.5a + b, b)) from (i0, x, y)"
    while_stacks: list[Named] = [
        ("jvp_x_only", [Jvp((0,), (_t("wt", x),))]),
        ("jvp_y_only", [Jvp((1,), (_t("wu", y),))]),
        ("vmap.jvp_y_only", [Vmap((None, 0, None)), Jvp((1,), (_t("wu", y),))]),
        ("vmap_i0.jvp_x", [Vmap((None, None, 0)), Jvp((0,), (_t("wt", x),))]),
    ]
    for name, t in while_stacks:
        ins = [x, _n("wY", 2, 3), i0] if name.startswith("vmap.") else [x, y, i0]
        if name.startswith("vmap_i0"):
            ins = [x, y, np.asarray([0, 2, 1], np.int32)]
        out.append(_draft("transforms", f"zeros/while/{name}", wprog, t, ins, while_np, what=ww))
    return out


# ---------------------------------------------------------------------------------------------
# transforms: jnp type promotion under transformations


def promotion_drafts() -> list[TDraft]:
    """jnp functions on mixed int/float/weak inputs under jit, vmap, jvp and grad: the types
    are JAX's (the oracle), the values numpy's."""
    out: list[TDraft] = []
    f32, i32, f16 = _n("pf", 3), np.asarray([1, -2, 3], np.int32), _n("ph", 3).astype(np.float16)
    weak = Value(  "float32", (), True, np.asarray(2.5, np.float32))
    weak_i = Value("int32", (), True, np.asarray(3, np.int32))
    fns = {"add": np.add, "multiply": np.multiply, "subtract": np.subtract,
           "true_divide": np.true_divide, "maximum": np.maximum}
    rows: list[tuple[str, str, list[Input], list[Transform]]] = []
    for fn in fns:
        rows += [
            (fn, "f32_i32/jit", [f32, i32], [Jit()]),
            (fn, "i32_f16/vmap", [np.stack([i32, i32 * 2]), np.stack([f16, f16])],
             [Vmap((0, 0))]),
            (fn, "f16_weakf/vmap", [np.stack([f16, f16 + 1]), weak], [Vmap((0, None))]),
            (fn, "i32_weakf/jit.vmap", [np.stack([i32, i32 + 1]), weak],
             [Jit(), Vmap((0, None))]),
            (fn, "f16_weaki/jvp", [f16, weak_i], [Jvp((0,), (_t("pt", f16),))]),
            (fn, "f16_i32/jvp", [f16, i32], [Jvp((0,), (_t("pt", f16),))]),
            # No jvp in a weakly typed primal: JAX gives its tangents the primal's weak type
            # (its linearize trace records tangent types from primal types), an accident of
            # JAX's implementation that the spec leaves unspecified.
        ]
    for fn, name, ins, t in rows:
        prog = NumpyProgram(fn)
        ref = (lambda f: lambda a, b: (f(a, b),))(fns[fn])
        vals = [a if isinstance(a, Value) else Value.of(a) for a in ins]
        out.append(_draft("transforms", f"promotion/{fn}/{name}", prog, t, vals, ref,
                          what=f"jax.numpy.{fn}"))
    # grad through mixed types: sum(x * n + 0.5) with x f16, n i32 (the float16 gradient)
    gp = jax_program(lambda x, n: jnp.sum(x * n + 0.5).astype(jnp.float32), [f16, i32])
    out.append(_draft("transforms", "promotion/grad_f16_times_i32", gp, [Grad((0,))],
                      [f16, i32], lambda x, n: (np.sum(x * n + 0.5),),
                      what="sum(x * n + 0.5) with x f16, n i32",
                      check=Check("allclose", 1e-2, 1e-2)))
    out.append(_draft("transforms", "promotion/vmap.grad_f16_times_i32", gp,
                      [Vmap((0, None)), Grad((0,))], [np.stack([f16, f16 * 2]), i32],
                      lambda x, n: (np.sum(x * n + 0.5),),
                      what="sum(x * n + 0.5) with x f16, n i32",
                      check=Check("allclose", 1e-2, 1e-2)))
    return out


def transforms_drafts() -> list[Draft]:
    """The ``transforms`` topic."""
    return [*vmap_drafts(), *argnum_drafts(), *zero_drafts(), *promotion_drafts()]


# ---------------------------------------------------------------------------------------------
# custom_derivatives


def _text(fn: Callable[..., Any], *args: npt.ArrayLike) -> str:
    program = jax_program(fn, list(args))
    assert not program.consts, "custom rule jaxprs take no consts"
    return program.text


def _jvp_of_rule(rule: Callable[..., tuple[NDArray, ...]], n_in: int) -> Deriv:
    """A custom_jvp rule's numpy twin ``rule(*xs, *ts) -> (*ys, *tys)`` as a Deriv."""

    def d(args: Sequence[NDArray], argnums: Sequence[int],
          tangents: Sequence[NDArray]) -> tuple[NDArray, ...]:
        ts = [np.zeros(np.shape(a)) for a in args[:n_in]]
        for i, t in zip(argnums, tangents, strict=True):
            ts[i] = t
        outs = rule(*args[:n_in], *ts)
        return tuple(outs[len(outs) // 2:])

    return d


def _jvp_of_bwd(primal: NpFn, bwd: Callable[..., tuple[NDArray, ...]]) -> Deriv:
    """The transpose of a custom_vjp's backward pass ``bwd(xs, cts) -> cts_in``, as a Deriv:
    tangent out = J t where J's rows are bwd of the output basis."""

    def d(args: Sequence[NDArray], argnums: Sequence[int],
          tangents: Sequence[NDArray]) -> tuple[NDArray, ...]:
        outs = [np.asarray(o) for o in primal(*args)]
        result = []
        for j, o in enumerate(outs):
            col = []
            for e in _basis(o.shape):
                cts = [e if jj == j else np.zeros(oo.shape) for jj, oo in enumerate(outs)]
                back = bwd(args, cts)
                col.append(sum(float(np.sum(back[i] * t))
                               for i, t in zip(argnums, tangents, strict=True)))
            result.append(np.asarray(col).reshape(o.shape))
        return tuple(result)

    return d


def custom_drafts() -> list[Draft]:
    """custom_jvp and custom_vjp with rules that differ from the true derivative."""
    set_x64(False)
    x, y = _n("cx", 3), _n("cy", 3)
    x_bat = _n("cX", 4, 3)
    out: list[Draft] = []
    topic = "custom_derivatives"
    # custom_jvp f(x) = sin x with the rule t -> 3 cos(x) t
    sin_text = _text(lambda x: (jnp.sin(x),), x)
    rule_text = _text(lambda x, t: (jnp.sin(x), 3.0 * jnp.cos(x) * t), x, x)
    p1 = CustomJvpProgram(sin_text, rule_text)
    ref1 = lambda x: (np.sin(x),)  # noqa: E731
    d1 = _jvp_of_rule(lambda x, t: (np.sin(x), 3.0 * np.cos(x) * t), 1)
    w1 = "custom_jvp of sin with the jvp rule 3 cos(x) t (jaxprs by jax.make_jaxpr)"
    ct = _t("cct", x)
    stacks1: list[Stack] = [
        ("eval", [], [x]),
        ("jit", [Jit()], [x]),
        ("jvp", [Jvp((0,), (_t("ct1", x),))], [x]),
        ("jit.jvp", [Jit(), Jvp((0,), (_t("ct1", x),))], [x]),
        ("jvp.jit", [Jvp((0,), (_t("ct1", x),)), Jit()], [x]),
        ("linearize", [Linearize((0,), (_t("ct1", x),))], [x]),
        ("vjp", [Vjp((0,), (ct,))], [x]),
        ("vmap", [Vmap((1,), -1)], [x_bat.T.copy()]),
        ("vmap.jvp", [Vmap((0,)), Jvp((0,), (_t("ct1", x),))], [x_bat]),
        ("jvp.vmap", [Jvp((0,), (_t("ct2", x_bat.T),)), Vmap((1,), 0)], [x_bat.T.copy()]),
        ("vmap.vjp", [Vmap((0,)), Vjp((0,), (ct,))], [x_bat]),
        ("vjp.vmap", [Vjp((0,), (_t("ct3", x_bat),)), Vmap((-1,), 0)], [x_bat.T.copy()]),
    ]
    for name, t, ins in stacks1:
        out.append(_draft(topic, f"custom_jvp/sin/{name}", p1, t, ins, ref1, d=d1, what=w1))
    # a scalar loss for grad: sum(sin x) with the rule sum(3 cos(x) t)
    ssum = CustomJvpProgram(_text(lambda x: (jnp.sum(jnp.sin(x)),), x),
                            _text(lambda x, t: (jnp.sum(jnp.sin(x)),
                                                jnp.sum(3.0 * jnp.cos(x) * t)), x, x))
    ref_s = lambda x: (np.sum(np.sin(x)),)  # noqa: E731
    d_s = _jvp_of_rule(lambda x, t: (np.sum(np.sin(x)), np.sum(3.0 * np.cos(x) * t)), 1)
    sum_stacks: list[Stack] = [
        ("grad", [Grad()], [x]),
        ("jit.grad", [Jit(), Grad()], [x]),
        ("vmap.grad", [Vmap((0,)), Grad()], [x_bat]),
        ("grad.jit", [Grad(), Jit()], [x]),
    ]
    for name, t, ins in sum_stacks:
        out.append(_draft(topic, f"custom_jvp/sum_sin/{name}", ssum, t, ins, ref_s, d=d_s,
                          what="custom_jvp of sum(sin x), rule sum(3 cos(x) t)"))
    # two inputs, two outputs: f(x, y) = (x y, x + y), rule (2 tx y + x ty, tx - ty): the
    # tangent nobody asked for reaches the rule as zeros
    p2 = CustomJvpProgram(
        _text(lambda x, y: (x * y, x + y), x, y),
        _text(lambda x, y, tx, ty: (x * y, x + y, 2.0 * tx * y + x * ty, tx - ty), x, y, x, y),
    )
    ref2 = lambda x, y: (x * y, x + y)  # noqa: E731
    d2 = _jvp_of_rule(lambda x, y, tx, ty: (x * y, x + y, 2.0 * tx * y + x * ty, tx - ty), 2)
    w2 = "custom_jvp of (x y, x + y), rule (2 tx y + x ty, tx - ty)"
    zero = Value.of(np.zeros(3, np.float32))
    two_stacks: list[Stack] = [
        ("jvp_x", [Jvp((0,), (_t("c2t", x),))], [x, y]),
        ("jvp_y", [Jvp((1,), (_t("c2u", y),))], [x, y]),
        ("jvp_both", [Jvp((0, 1), (_t("c2t", x), _t("c2u", y)))], [x, y]),
        ("vjp_both", [Vjp((0, 1), (_t("c2c", x), _t("c2d", x)))], [x, y]),
        ("vjp_y_second_ct", [Vjp((1,), (zero, _t("c2d", x)))], [x, y]),
        ("vmap_n0.jvp_x", [Vmap((None, 0)), Jvp((0,), (_t("c2t", x),))], [x, _n("c2Y", 2, 3)]),
        ("vmap_0n.vjp_y", [Vmap((0, None), (1, 0, 1)), Vjp((1,), (_t("c2c", x), zero))],
         [_n("c2X", 2, 3), y]),
    ]
    for name, t, ins in two_stacks:
        out.append(_draft(topic, f"custom_jvp/two/{name}", p2, t, ins, ref2, d=d2, what=w2))
    # custom_vjp f(x) = sin x, fwd saves cos x, bwd ct -> 5 r ct
    pv = CustomVjpProgram(sin_text, _text(lambda x: (jnp.sin(x), jnp.cos(x)), x),
                          _text(lambda r, c: (5.0 * r * c,), x, x))
    dv = _jvp_of_bwd(ref1, lambda a, cts: (5.0 * np.cos(a[0]) * cts[0],))
    wv = "custom_vjp of sin, fwd (sin x, cos x), bwd (r, ct) -> 5 r ct"
    vjp_stacks: list[Stack] = [
        ("eval", [], [x]),
        ("jit", [Jit()], [x]),
        ("vjp", [Vjp((0,), (ct,))], [x]),
        ("jit.vjp", [Jit(), Vjp((0,), (ct,))], [x]),
        ("vjp.jit", [Vjp((0,), (ct,)), Jit()], [x]),
        ("vmap", [Vmap((-1,), 0)], [x_bat.T.copy()]),
        ("vmap.vjp", [Vmap((1,), -1), Vjp((0,), (ct,))], [x_bat.T.copy()]),
        ("vjp.vmap", [Vjp((0,), (_t("cv3", x_bat),)), Vmap((0,))], [x_bat]),
    ]
    for name, t, ins in vjp_stacks:
        out.append(_draft(topic, f"custom_vjp/sin/{name}", pv, t, ins, ref1, d=dv, what=wv))
    out.append(_draft(topic, "custom_vjp/sin/jvp_error", pv, [Jvp((0,), (_t("ct1", x),))], [x],
                      None, what=wv + " (forward mode: an error)"))
    pvs = CustomVjpProgram(_text(lambda x: (jnp.sum(jnp.sin(x)),), x),
                           _text(lambda x: (jnp.sum(jnp.sin(x)), jnp.cos(x)), x),
                           _text(lambda r, c: (5.0 * r * c,), x, np.float32(1.0)))
    dvs = _jvp_of_bwd(ref_s, lambda a, cts: (5.0 * np.cos(a[0]) * cts[0],))
    vjp_sum_stacks: list[Stack] = [
        ("grad", [Grad()], [x]),
        ("jit.grad", [Jit(), Grad()], [x]),
        ("vmap.grad", [Vmap((0,)), Grad()], [x_bat]),
        ("vmap1.jit.grad", [Vmap((1,)), Jit(), Grad()], [x_bat.T.copy()]),
    ]
    for name, t, ins in vjp_sum_stacks:
        out.append(_draft(topic, f"custom_vjp/sum_sin/{name}", pvs, t, ins, ref_s, d=dvs,
                          what="custom_vjp of sum(sin x), bwd 5 cos(x) ct"))
    # two inputs, two outputs, two residuals: f = (x y, sin x), bwd (y, cos x, c1, c2) ->
    # (c1 y + 2 c2 cos x, 7 c1)
    p3 = CustomVjpProgram(
        _text(lambda x, y: (x * y, jnp.sin(x)), x, y),
        _text(lambda x, y: (x * y, jnp.sin(x), y, jnp.cos(x)), x, y),
        _text(lambda ry, rc, c1, c2: (c1 * ry + 2.0 * c2 * rc, 7.0 * c1), x, x, x, x),
    )
    ref3 = lambda x, y: (x * y, np.sin(x))  # noqa: E731
    d3 = _jvp_of_bwd(ref3, lambda a, c: (c[0] * a[1] + 2.0 * c[1] * np.cos(a[0]), 7.0 * c[0]))
    w3 = "custom_vjp of (x y, sin x), residuals (y, cos x), bwd (c1 y + 2 c2 cos x, 7 c1)"
    vjp_two_stacks: list[Stack] = [
        ("vjp_both", [Vjp((0, 1), (_t("c3a", x), _t("c3b", x)))], [x, y]),
        ("vjp_y", [Vjp((1,), (_t("c3a", x), _t("c3b", x)))], [x, y]),
        ("vjp_x_second_ct_only", [Vjp((0,), (zero, _t("c3b", x)))], [x, y]),
        ("vmap_0n.vjp_x", [Vmap((0, None)), Vjp((0, 1), (_t("c3a", x), zero))],
         [_n("c3X", 2, 3), y]),
    ]
    for name, t, ins in vjp_two_stacks:
        out.append(_draft(topic, f"custom_vjp/two/{name}", p3, t, ins, ref3, d=d3, what=w3))
    return out


# ---------------------------------------------------------------------------------------------
# random_api: numpy re-implementations of jax.random's algorithms (threefry, partitionable)

U32 = np.uint32


def iota_2x32(shape: tuple[int, ...]) -> tuple[NDArray, NDArray]:
    """The flat index of every element as (high, low) uint32 words (zeros for a scalar)."""
    idx = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    return (idx >> np.uint64(32)).astype(U32), (idx & np.uint64(0xFFFFFFFF)).astype(U32)


def _fry(key: NDArray, hi: NDArray, lo: NDArray) -> tuple[NDArray, NDArray]:
    a, b = threefry2x32_np(key[0], key[1], hi, lo)
    return np.asarray(a, U32), np.asarray(b, U32)


def np_bits(key: NDArray, width: int, shape: tuple[int, ...]) -> NDArray:
    """random_bits: threefry of the iota; 64 bits are (hi << 32) | lo, else hi ^ lo."""
    b1, b2 = _fry(key, *iota_2x32(shape))
    if width == 64:
        return (b1.astype(np.uint64) << np.uint64(32)) | b2.astype(np.uint64)
    return (b1 ^ b2).astype(f"uint{width}")


def np_split(key: NDArray, shape: tuple[int, ...] = (2,)) -> NDArray:
    """split: threefry of the iota of the key shape, stacked as key words."""
    b1, b2 = _fry(key, *iota_2x32(shape))
    return np.stack([b1, b2], axis=-1)


def np_fold_in(key: NDArray, data: NDArray) -> NDArray:
    """fold_in: threefry of the counter (0, data)."""
    a, b = _fry(key, np.asarray(0, U32), np.asarray(data).astype(U32))
    return np.stack([a, b])


def np_prngkey(seed: NDArray) -> NDArray:
    """PRNGKey: the seed's high and low 32-bit words (the high word of a 32-bit seed is 0)."""
    s = np.asarray(seed)
    wide = s.dtype.itemsize == 8
    v = int(s) % (1 << 64) if wide else int(s) % (1 << 32)
    return np.asarray([(v >> 32) if wide else 0, v & 0xFFFFFFFF], U32)


def np_uniform(key: NDArray, shape: tuple[int, ...],
               dtype: type[np.floating[Any]] = np.float32,
               minval: float = 0.0, maxval: float = 1.0) -> NDArray:
    """uniform: the mantissa bits under the exponent of 1.0, minus 1, scaled, max'd."""
    dt = np.dtype(dtype)
    nbits, nmant = dt.itemsize * 8, np.finfo(dt).nmant
    uint = np.dtype(f"uint{nbits}")
    bits = np_bits(key, nbits, shape).astype(uint)
    fb = (bits >> uint.type(nbits - nmant)) | np.asarray(1.0, dt).view(uint)
    floats = fb.view(dt) - dt.type(1.0)
    lo, hi = dt.type(minval), dt.type(maxval)
    out: NDArray = np.maximum(lo, floats * (hi - lo) + lo)
    return out


def np_normal(key: NDArray, shape: tuple[int, ...]) -> NDArray:
    lo = np.nextafter(np.float32(-1.0), np.float32(0.0))
    u = np_uniform(key, shape, np.float32, float(lo), 1.0)
    out: NDArray = np.sqrt(2.0) * sp_special.erfinv(u.astype(np.float64))
    return out


def np_randint(key: NDArray, shape: tuple[int, ...], minval: int, maxval: int) -> NDArray:
    """randint (int32): two words of bits per value, reduced modulo the span."""
    k1, k2 = np_split(key)
    higher, lower = np_bits(k1, 32, shape), np_bits(k2, 32, shape)
    span = U32(maxval - minval) if maxval > minval else U32(1)
    mult = U32((U32(1 << 16) % span) * (U32(1 << 16) % span) % span)
    off = ((higher % span) * mult + lower % span) % span
    return (np.int64(minval) + off.astype(np.int64)).astype(np.int32)


def np_shuffle_order(key: NDArray, n: int) -> NDArray:
    """permutation's order: one round (for n < 2^32^(1/3)) of a stable sort on random bits of
    the second half of split(key)."""
    rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    order = np.arange(n)
    for _ in range(rounds):
        key, sub = np_split(key)
        sort_keys = np_bits(sub, 32, (n,))
        order = order[np.argsort(sort_keys, kind="stable")]
    return order


def np_gumbel(key: NDArray, shape: tuple[int, ...]) -> NDArray:
    tiny = float(np.finfo(np.float32).tiny)
    u = np_uniform(key, shape, np.float32, tiny, 1.0).astype(np.float64)
    return -np.log(-np.log(u))


def np_truncated_normal(key: NDArray, lower: float, upper: float,
                        shape: tuple[int, ...]) -> NDArray:
    s2 = np.sqrt(2.0)
    a = np.float32(sp_special.erf(np.float32(lower) / np.float32(s2)))
    b = np.float32(sp_special.erf(np.float32(upper) / np.float32(s2)))
    u = np_uniform(key, shape, np.float32, float(a), float(b)).astype(np.float64)
    out = s2 * sp_special.erfinv(u)
    lo = np.nextafter(np.float32(lower), np.float32(np.inf))
    hi = np.nextafter(np.float32(upper), np.float32(-np.inf))
    clipped: NDArray = np.clip(out, lo, hi)
    return clipped


def _key(seed: int) -> NDArray:
    return np.asarray([0, seed], U32)


def random_drafts() -> list[Draft]:
    """jax.random on raw keys, eval, jit and vmap over a batch of keys."""
    for k in (0, 7, 123456):  # the split and fold_in twins against their documented shape
        assert np_split(_key(k)).shape == (2, 2)
    keys = np.stack([_key(s) for s in (0, 42, 7, 2**31 + 5)])
    out: list[Draft] = []
    topic = "random_api"
    approx = Check("allclose", 2e-5, 2e-6)

    def add(name: str, fn: str, params: dict[str, Param], ref: NpFn,
            extra: Sequence[Input] = (), check: Check | None = None, x64: bool = False,
            batch: bool = True, key: npt.ArrayLike | None = None, note: str = "") -> None:
        program = RandomProgram(fn, tuple(params.items()))
        k0 = _key(42) if key is None else key
        what = (f"jax.random.{fn} on raw uint32[2] key data (the API; a RandomProgram); "
                "expected values: a numpy re-implementation of JAX's documented algorithm on "
                "the numpy Threefry-2x32 of spec/generate.py" + note)
        stacks: list[Stack] = [
            ("eval", [], [k0, *extra]), ("jit", [Jit()], [k0, *extra])]
        if batch:
            stacks.append(("vmap_keys", [Vmap((0, *([None] * len(extra))))], [keys, *extra]))
            stacks.append(("jit.vmap_keys1", [Jit(), Vmap((1, *([None] * len(extra))), -1)],
                           [keys.T.copy(), *extra]))
        for sname, t, ins in stacks:
            d = _draft(topic, f"{name}/{sname}", program, t, ins, ref, what=what,
                       check=check, x64=x64)
            d.provenance = f"program: {what}"
            out.append(d)

    seeds = [("int32_0", np.int32(0)), ("int32_42", np.int32(42)), ("int32_neg1", np.int32(-1))]
    for name, s in seeds:
        add(f"PRNGKey/{name}", "PRNGKey", {}, lambda s: (np_prngkey(s),), batch=False, key=s)
    add("PRNGKey/int64_big", "PRNGKey", {}, lambda s: (np_prngkey(s),), batch=False,
        key=np.int64(2**40 + 17), x64=True)
    out.append(_draft(topic, "PRNGKey/vmap_seeds", RandomProgram("PRNGKey"),
                      [Vmap((0,))], [np.asarray([0, 1, -5, 99], np.int32)],
                      lambda s: (np_prngkey(s),), what="jax.random.PRNGKey under vmap"))
    add("split/2", "split", {}, lambda k: (np_split(k, (2,)),))
    add("split/3", "split", {"num": 3}, lambda k: (np_split(k, (3,)),))
    add("split/2x3", "split", {"num": (2, 3)}, lambda k: (np_split(k, (2, 3)),))
    add("fold_in/5", "fold_in", {}, lambda k, d: (np_fold_in(k, d),), [np.uint32(5)])
    add("fold_in/big", "fold_in", {}, lambda k, d: (np_fold_in(k, d),), [np.uint32(2**32 - 3)])
    out.append(_draft(topic, "fold_in/vmap_data", RandomProgram("fold_in"),
                      [Vmap((None, 0))], [_key(42), np.asarray([0, 1, 2, 77], np.uint32)],
                      lambda k, d: (np_fold_in(k, d),), what="jax.random.fold_in under vmap"))
    add("bits/uint32_2x3", "bits", {"shape": (2, 3)}, lambda k: (np_bits(k, 32, (2, 3)),))
    add("bits/uint32_scalar", "bits", {"shape": ()}, lambda k: (np_bits(k, 32, ()),))
    add("bits/uint8_5", "bits", {"shape": (5,), "dtype": DType("uint8")},
        lambda k: (np_bits(k, 8, (5,)),))
    add("bits/uint16_3", "bits", {"shape": (3,), "dtype": DType("uint16")},
        lambda k: (np_bits(k, 16, (3,)),))
    add("bits/uint64_2x2", "bits", {"shape": (2, 2), "dtype": DType("uint64")},
        lambda k: (np_bits(k, 64, (2, 2)),), x64=True)
    add("uniform/f32_2x3", "uniform", {"shape": (2, 3)},
        lambda k: (np_uniform(k, (2, 3)),), check=Check("exact"))
    add("uniform/f32_range", "uniform", {"shape": (4,), "minval": -2.0, "maxval": 3.0},
        lambda k: (np_uniform(k, (4,), np.float32, -2.0, 3.0),), check=approx)
    add("uniform/f64_3", "uniform", {"shape": (3,), "dtype": DType("float64")},
        lambda k: (np_uniform(k, (3,), np.float64),), check=Check("exact"), x64=True)
    norm_note = "; erf_inv by scipy.special.erfinv in float64 (XLA's float32 erf_inv differs " \
                "by a few ulps: allclose)"
    add("normal/f32_2x3", "normal", {"shape": (2, 3)}, lambda k: (np_normal(k, (2, 3)),),
        check=approx, note=norm_note)
    add("bernoulli/p_array", "bernoulli", {},
        lambda k, p: (np_uniform(k, p.shape, np.float32) < p.astype(np.float32),),
        [np.asarray([[0.1, 0.5, 0.9], [0.3, 0.7, 0.5]], np.float32)])
    add("bernoulli/shape", "bernoulli", {"p": 0.5, "shape": (6,)},
        lambda k: (np_uniform(k, (6,)) < np.float32(0.5),))
    add("randint/0_10", "randint", {"shape": (2, 3), "minval": 0, "maxval": 10},
        lambda k: (np_randint(k, (2, 3), 0, 10),))
    add("randint/neg", "randint", {"shape": (5,), "minval": -7, "maxval": 3},
        lambda k: (np_randint(k, (5,), -7, 3),))
    add("randint/empty_range", "randint", {"shape": (3,), "minval": 4, "maxval": 4},
        lambda k: (np_randint(k, (3,), 4, 4),))
    add("gumbel/f32_4", "gumbel", {"shape": (4,)}, lambda k: (np_gumbel(k, (4,)),),
        check=approx, note="; logs in float64")
    add("exponential/f32_4", "exponential", {"shape": (4,)},
        lambda k: (-np.log1p(-np_uniform(k, (4,)).astype(np.float64)),), check=approx,
        note="; log1p in float64")
    add("categorical/2x4", "categorical", {},
        lambda k, lg: (np.argmax(np_gumbel(k, lg.shape) + lg, axis=-1).astype(np.int32),),
        [np.asarray([[0.0, 1.0, -1.0, 0.5], [2.0, 0.0, 0.0, 1.0]], np.float32)],
        note="; argmax of logits plus gumbel noise (logs in float64)")
    add("permutation/int5", "permutation", {"x": 5},
        lambda k: (np_shuffle_order(k, 5).astype(np.int32),))
    add("permutation/array", "permutation", {},
        lambda k, x: (x[np_shuffle_order(k, x.shape[0])],),
        [np.asarray([10.0, 20.0, 30.0, 40.0, 50.0, 60.0], np.float32)])
    add("permutation/rows", "permutation", {},
        lambda k, x: (x[np_shuffle_order(k, x.shape[0])],),
        [np.arange(12, dtype=np.int32).reshape(4, 3)])
    add("truncated_normal/-1_2", "truncated_normal", {"lower": -1.0, "upper": 2.0,
                                                       "shape": (5,)},
        lambda k: (np_truncated_normal(k, -1.0, 2.0, (5,)),), check=approx, note=norm_note)
    return out


# ---------------------------------------------------------------------------------------------
# stacks: control flow under every transformation and two-deep stacks


def sum1(f: Callable[..., Any]) -> Callable[..., Any]:
    """The JAX loss: the sum of the sums of ``f``'s outputs."""
    return lambda *a: jnp.sum(jnp.stack([jnp.sum(o) for o in f(*a)]))


def sum1_np(f: NpFn) -> NpFn:
    """The numpy twin of :func:`sum1`."""

    def loss(*a: NDArray) -> tuple[NDArray, ...]:
        return (sum(np.sum(o) for o in f(*a)),)

    return loss


def _cond2_jax(p: Any, x: Any, y: Any) -> Any:
    return lax.cond(p > 0, lambda a, b: jnp.sin(a) * b, lambda a, b: a * a - b, x, y)


def _cond2_np(p: NDArray, x: NDArray, y: NDArray) -> tuple[NDArray, ...]:
    return (np.sin(x) * y if p > 0 else x * x - y,)


def _switch3_jax(i: Any, x: Any) -> Any:
    return lax.switch(i, [lambda a: a * 3.0, jnp.cos, lambda a: a ** 3], x)


def _switch3_np(i: NDArray, x: NDArray) -> tuple[NDArray, ...]:
    branches: list[Callable[[NDArray], NDArray]] = [lambda a: a * 3.0, np.cos, lambda a: a ** 3]
    return (branches[int(np.clip(i, 0, 2))](x),)


def _scan2_jax(xs: Any, c: Any, d: Any) -> Any:
    def body(carry: Any, x: Any) -> Any:
        a, b = carry
        return (a * 0.8 + b * x, b + jnp.sin(a)), a * b + x
    (a, b), ys = lax.scan(body, (c, d), xs)
    return a, b, ys


def _scan2_np(xs: NDArray, c: NDArray, d: NDArray, reverse: bool = False) -> tuple[NDArray, ...]:
    a, b, ys = c, d, []
    for x in (xs[::-1] if reverse else xs):
        ys.append(a * b + x)
        a, b = a * 0.8 + b * x, b + np.sin(a)
    stacked = np.stack(ys)
    return a, b, stacked[::-1] if reverse else stacked


def _scan2_rev_jax(xs: Any, c: Any, d: Any) -> Any:
    def body(carry: Any, x: Any) -> Any:
        a, b = carry
        return (a * 0.8 + b * x, b + jnp.sin(a)), a * b + x
    (a, b), ys = lax.scan(body, (c, d), xs, reverse=True)
    return a, b, ys


def _while2_jax(x: Any, y: Any) -> Any:
    def body(c: Any) -> Any:
        a, b = c
        return a * 1.5 + b, b * 0.5 + 0.25
    return lax.while_loop(lambda c: jnp.sum(c[0]) < 8.0, body, (x, y))


def _while2_np(x: NDArray, y: NDArray) -> tuple[NDArray, ...]:
    a, b = x, y
    while np.sum(a) < 8.0:
        a, b = a * 1.5 + b, b * 0.5 + 0.25
    return a, b


def _fori2_jax(x: Any, y: Any) -> Any:
    return lax.fori_loop(0, 4, lambda i, c: (c[0] * 0.9 + c[1] * i, jnp.cos(c[0]) + c[1]),
                         (x, y))


def _fori2_np(x: NDArray, y: NDArray) -> tuple[NDArray, ...]:
    a, b = x, y
    for i in range(4):
        a, b = a * 0.9 + b * i, np.cos(a) + b
    return a, b


def _map_jax(xs: Any, w: Any) -> Any:
    return lax.map(lambda r: jnp.tanh(r * w).sum(), xs)


def stacks_drafts() -> list[Draft]:
    """Control flow under every stack, through generate.py's named stacks (outermost first;
    ``vmapN`` maps every input along N except those after ``_``)."""
    x, y = _n("sx", 3), _n("sy", 3)
    xs = _n("sxs", 4)
    m_rows = _n("sM", 4, 3)
    c0, d0 = np.asarray(0.3, np.float32), np.asarray(-0.2, np.float32)
    one = ["eval", "jit", "jvp", "vjp", "linearize", "vmap", "vmap1", "jit.vmap",
           "vmap.jvp", "jit.vmap.jvp", "vmap.vjp", "vmap.jit"]
    table: list[tuple[Base, list[str]]] = [
        (Base("cond2_true", _cond2_jax, _cond2_np, (np.asarray(1.0, np.float32), x, y), "stacks"),
         [*one, "vmap_0"]),
        (Base("cond2_false", _cond2_jax, _cond2_np, (np.asarray(-1.0, np.float32), x, y), "stacks"),
         ["eval", "jvp", "vjp", "linearize", "vmap_0", "vmap_0.jvp"]),
        (Base("cond2_loss", sum1(lambda p, x, y: (_cond2_jax(p, x, y),)),
              sum1_np(_cond2_np), (np.asarray(0.3, np.float32), x, y), "stacks"),
         ["grad", "grad1", "grad12", "vmap.grad12", "jit.vmap.grad1", "jvp.grad1",
          "vmap_0.grad12", "grad12.jit"]),
        (Base("switch3", _switch3_jax, _switch3_np, (np.asarray(1, np.int32), x), "stacks"),
         ["eval", "jit", "jvp", "vjp", "vmap", "jit.vmap", "vmap.jvp", "vmap.vjp", "vmap1"]),
        (Base("scan2", _scan2_jax, _scan2_np, (xs, c0, d0), "stacks"),
         [*one, "vmap_0", "vmap_12"]),
        (Base("scan2_reverse", _scan2_rev_jax,
              lambda xs, c, d: _scan2_np(xs, c, d, reverse=True),
              (xs, c0, d0), "stacks"),
         ["eval", "jit", "jvp", "vjp", "vmap", "vmap.jvp", "vmap.vjp"]),
        (Base("scan2_loss", sum1(_scan2_jax), sum1_np(_scan2_np),
              (xs, c0, d0), "stacks"),
         ["grad0", "grad12", "grad012", "jit.grad012", "grad012.jit", "vmap.grad012",
          "jit.vmap.grad012", "vmap1.grad0", "jvp.grad0", "vmap.jvp.grad12", "grad1.grad1",
          "grad2.grad1", "vmap_12.grad0"]),
        (Base("while2", _while2_jax, _while2_np, (x * 0.1 + 0.5, y * 0.1), "stacks"),
         ["eval", "jit", "jvp", "linearize", "vmap", "vmap1", "jit.vmap", "vmap.jvp",
          "vmap_1", "vmap_0"]),
        (Base("fori2", _fori2_jax, _fori2_np, (x, y), "stacks"), one),
        (Base("fori2_loss", sum1(_fori2_jax), sum1_np(_fori2_np), (x, y), "stacks"),
         ["grad01", "jit.grad01", "grad01.jit", "vmap.grad01", "jit.vmap.grad01",
          "vmap1.grad0", "jvp.grad0", "vmap.jvp.grad01", "vmap_1.grad01"]),
        (Base("map", _map_jax, lambda xs, w: (np.tanh(xs * w).sum(axis=1),), (m_rows, y), "stacks"),
         ["eval", "jit", "jvp", "vjp", "vmap", "vmap.jvp", "vmap_1", "vmap.vjp"]),
    ]
    drafts: list[Draft] = []
    for base, stacks in table:
        for d in base_drafts(base, stacks):
            if "cond2" in base.name and d.transforms and any(
                    isinstance(t, Vmap) and _first_axis(t) is not None for t in d.transforms):
                d = _both_branches(d)
            drafts.append(d)
    return drafts


def _first_axis(t: Vmap) -> AxisTree:
    """The batch axis of ``t``'s first argument (the predicate)."""
    return t.in_axes[0] if isinstance(t.in_axes, tuple) else t.in_axes


def _both_branches(d: Draft) -> Draft:
    """A cond case vmapped over its predicate: predicates of both signs in the batch."""
    p = d.inputs[0]
    assert p.data is not None
    signs = np.where(np.arange(p.data.size) % 2 == 0, 1.0, -1.0).reshape(p.shape)
    data = (np.abs(p.data) + 0.5) * signs
    return replace(d, inputs=(Value.of(data.astype(p.dtype)), *d.inputs[1:]))


# ---------------------------------------------------------------------------------------------

TOPICS: Final[dict[str, tuple[str, Callable[[], list[Draft]]]]] = {
    "transforms": (
        "vmap axis forms (negative, None, per-output, pytree prefixes, axis_size, nested), "
        "argnums over unused and integer inputs (float0, allow_int), has_aux, symbolic zeros, "
        "type promotion under transformations",
        transforms_drafts,
    ),
    "custom_derivatives": (
        "custom_jvp and custom_vjp programs (rules that differ from the true derivative) under "
        "jvp, vjp, grad, linearize, vmap and jit",
        custom_drafts,
    ),
    "random_api": (
        "jax.random on raw keys: PRNGKey, split, fold_in, bits and the samplers, against numpy "
        "re-implementations of JAX's algorithms",
        random_drafts,
    ),
    "stacks": (
        "cond, switch, while_loop, fori_loop, scan (reverse, two carries) and map under jit, "
        "vmap, jvp, vjp, grad, linearize and two-deep stacks",
        stacks_drafts,
    ),
}

__all__ = ["TOPICS", "finish_more", "meaning", "JAX_NOTE"]
