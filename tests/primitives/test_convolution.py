"""Convolutions and windowed reductions: what the shared table-driven tests do not reach.

The records (``records_convolution.RECORDS``, a family in ``records.FAMILIES``) get the shared
checks in ``test_op_table.py`` and ``test_op_table_transforms.py``: values against the loop
references, abstract evaluation, real JAX, derivatives to second order in float64, ``vmap``
against a loop and against ``jax.vmap``. Here: forward-mode derivatives of the records with no
reverse mode in JAX (the generic ``reduce_window``, window-dilated max/min), the transposition
identity ``<ct, f(x)> = <f^T(ct), x>`` for every operand the op is linear in, the jaxprs of
programs (``make_jaxpr`` text, JAX's), JAX's errors, the dispatch of ``reduce_window`` to its
primitives, variadic and pytree ``reduce_window``, the shape helpers, integer wrap-around,
parsing printed jaxprs back, and ``jit``.
"""

from __future__ import annotations

import itertools
import re
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.backends.numpy_impls.convolution  # (registers the numpy implementations)
import refjax.backends.numpy_impls.windowed
from refjax.interp.parser import parse_jaxpr
from refjax.primitives import convolution as cv
from refjax.primitives import windowed as wd
from refjax.test_util import check_grads
from tests.oracle import jax, requires_jax
from tests.primitives.records import OpRecord, Shape, assert_close, case_args, flat, x64_for
from tests.primitives.records_convolution import LINEAR_OPERANDS, RECORDS

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _lax_namespace() -> Any:
    """``refjax.lax``, with this family's exports added while ``refjax/lax`` lacks them."""
    if all(hasattr(refjax.lax, n) for n in (*cv.__all__, *wd.__all__)):
        return refjax.lax
    ns = types.ModuleType("refjax.lax")
    ns.__dict__.update(vars(refjax.lax))
    for module in (cv, wd):
        for name in module.__all__:
            setattr(ns, name, getattr(module, name))
    return ns


lax = _lax_namespace()


def _case_id(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any]) -> str:
    return f"{rec.name}-{rec.notes}-{'x'.join(map(str, shapes))}-{dtype.name}"


CASES = [
    pytest.param(rec, shapes, dtype, id=_case_id(rec, shapes, dtype))
    for rec in RECORDS
    for shapes, dtype in rec.cases()
]


def _first_case(rec: OpRecord, prefer: np.dtype[Any]) -> tuple[Sequence[Shape], np.dtype[Any]]:
    for shapes, dtype in rec.cases():
        if dtype == prefer and all(len(s) > 0 and 0 not in s for s in shapes[:1]):
            return shapes, dtype
    return rec.cases()[0]


def _rec_id(rec: OpRecord) -> str:
    return f"{rec.name}-{rec.notes}"


# ---------------------------------------------------------------------------------------------
# Values, abstract evaluation, real JAX


# ---------------------------------------------------------------------------------------------
# Derivatives


def _float_positions(args: Sequence[np.ndarray]) -> list[int]:
    return [i for i, a in enumerate(args) if a.dtype.kind == "f"]


def _closed_over(lax_module: Any, rec: OpRecord, args: Sequence[np.ndarray],
                 diff: Sequence[int]) -> Callable[..., Any]:
    """The record's op as a function of the operands at ``diff`` only."""

    def f(*xs: Any) -> Any:
        full: list[Any] = list(args)
        for i, x in zip(diff, xs, strict=True):
            full[i] = x
        out = rec.op(lax_module, *full)
        return tuple(out) if isinstance(out, (list, tuple)) else out

    return f


GRAD_RECORDS = [pytest.param(rec, id=_rec_id(rec)) for rec in RECORDS
                if F64 in rec.dtypes and rec.name != "reduce_window" and rec.differentiable]
FORWARD_ONLY = [pytest.param(rec, id=_rec_id(rec)) for rec in RECORDS
                if F64 in rec.dtypes and (rec.name == "reduce_window" or not rec.differentiable)]


@pytest.mark.parametrize("rec", FORWARD_ONLY)
def test_check_grads_forward_only(rec: OpRecord) -> None:
    """The generic reduce_window (and select_and_gather_add with window dilation) differentiate
    forward only: JAX has no transpose for them."""
    shapes, _ = _first_case(rec, F64)
    with x64_for(F64):
        args = case_args(rec, shapes, F64)
        diff = _float_positions(args)
        f = _closed_over(lax, rec, args, diff)
        check_grads(f, [args[i] for i in diff], order=2, modes=("fwd",), eps=1e-6)


@requires_jax
@pytest.mark.parametrize("rec", FORWARD_ONLY)
def test_jvp_and_vjp_match_jax(rec: OpRecord) -> None:
    shapes, _ = _first_case(rec, F64)
    with x64_for(F64):
        args = case_args(rec, shapes, F64)
        diff = _float_positions(args)
        rng = np.random.default_rng(1)
        tangents = [rng.standard_normal(args[i].shape) for i in diff]
        f, jf = _closed_over(lax, rec, args, diff), _closed_over(jax.lax, rec, args, diff)
        primals = [args[i] for i in diff]
        _, t_out = refjax.jvp(f, primals, tangents)
        _, t_exp = jax.jvp(jf, primals, tangents)
        for a, e in zip(flat(t_out), flat(t_exp), strict=True):
            assert_close(a, np.asarray(e), 1e-10)
        if rec.name == "reduce_window" or not rec.differentiable:
            return
        out, pullback = refjax.vjp(f, *primals)
        _, j_pullback = jax.vjp(jf, *primals)
        ct = refjax.tree_util.tree_map(lambda o: rng.standard_normal(np.shape(o)), out)
        for a, e in zip(flat(pullback(ct)), flat(j_pullback(ct)), strict=True):
            assert_close(a, np.asarray(e), 1e-10)


LINEAR_CASES = [
    pytest.param(rec, i, id=f"{_rec_id(rec)}-operand{i}")
    for rec in RECORDS
    if F64 in rec.dtypes and rec.differentiable  # (window dilation: no transpose, as JAX)
    for i in LINEAR_OPERANDS.get(rec.name, ())
]


@pytest.mark.parametrize("rec,i", LINEAR_CASES)
def test_transpose_identity(rec: OpRecord, i: int) -> None:
    """``<ct, f(x)> = <f^T(ct), x>`` for the operand ``i`` the op is linear in."""
    shapes, _ = _first_case(rec, F64)
    with x64_for(F64):
        args = case_args(rec, shapes, F64)
        f = _closed_over(lax, rec, args, [i])
        x = args[i]
        y = np.asarray(f(x))
        ct = np.random.default_rng(2).standard_normal(y.shape)
        (x_ct,) = refjax.linear_transpose(f, x)(ct)
        lhs, rhs = np.vdot(ct, y), np.vdot(np.asarray(x_ct), x)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# vmap


def _batch_placements(ndims: Sequence[int]) -> list[tuple[int | None, ...]]:
    """Every batch-axis placement per operand (None = unbatched), not all None."""
    options = [[None, *range(n + 1)] for n in ndims]
    return [c for c in itertools.product(*options) if any(d is not None for d in c)]


VMAP_CASES = [
    pytest.param(rec, dims, id=f"{_rec_id(rec)}-{dims}")
    for rec in RECORDS
    for dims in _batch_placements([len(s) for s in _first_case(rec, F32)[0]])
]


def _stacked(rec: OpRecord, shapes: Sequence[Shape], dtype: np.dtype[Any], k: int, size: int,
             d: int) -> np.ndarray:
    """``size`` different examples of operand ``k`` stacked along axis ``d``."""
    base = case_args(rec, shapes, dtype)[k]
    rng = np.random.default_rng(size * 7 + k)
    rows = [base + rng.standard_normal(base.shape).astype(base.dtype) * 0.01
            if base.dtype.kind == "f" else base for _ in range(size)]
    stacked = np.stack(rows) if size else np.zeros((0, *base.shape), base.dtype)
    return np.moveaxis(stacked, 0, d)


JAX_VMAP_CASES = [
    pytest.param(rec, dims, id=f"{_rec_id(rec)}-{dims}")
    for rec in RECORDS
    for dims in [
        tuple(len(s) for s in _first_case(rec, F32)[0]),
        tuple(0 if k == 0 else None for k in range(len(_first_case(rec, F32)[0]))),
    ]
]


# ---------------------------------------------------------------------------------------------
# Jaxprs: make_jaxpr's text is JAX's

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 4, 6, 5)).astype(np.float32)
W4 = RNG.standard_normal((6, 2, 3, 2)).astype(np.float32)
X_NHWC = RNG.standard_normal((2, 6, 5, 4)).astype(np.float32)
W_HWIO = RNG.standard_normal((3, 2, 4, 3)).astype(np.float32)
X3 = RNG.standard_normal((4, 3, 7)).astype(np.float32)
W3 = RNG.standard_normal((6, 3, 2)).astype(np.float32)
Y = RNG.standard_normal((5, 7)).astype(np.float32)
YB = RNG.standard_normal((5, 3, 7)).astype(np.float32)

CONV_KW: dict[str, Any] = dict(window_strides=(2, 1), padding=[(1, 0), (0, 2)], lhs_dilation=(1, 2),
                               rhs_dilation=(2, 1), feature_group_count=2)
NHWC_KW: dict[str, Any] = dict(window_strides=(2, 1), padding="SAME",
                               dimension_numbers=("NHWC", "HWIO", "NHWC"), precision="highest",
                               preferred_element_type=np.float32)
BGC_KW: dict[str, Any] = dict(window_strides=(1,), padding="VALID", batch_group_count=2)
RW_KW: dict[str, Any] = dict(window_dimensions=(2, 3), window_strides=(2, 1),
                             padding=[(1, 0), (1, 1)], base_dilation=(1, 2))


def _conv(kw: dict[str, Any]) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: lambda x, w: m.conv_general_dilated(x, w, **kw)


def _loss(kw: dict[str, Any]) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: lambda x, w: (m.conv_general_dilated(x, w, **kw) ** 2).sum()


def _rw(init: Any, name: str, **kw: Any) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: lambda y: m.reduce_window(y, init, getattr(m, name), **{**RW_KW, **kw})


def _rw_loss(init: Any, name: str) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: lambda y: (m.reduce_window(y, init, getattr(m, name), **RW_KW) ** 2).sum()


def _grad(make: Callable[[Any], Callable[..., Any]], argnums: Any = 0
          ) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: _api(m).grad(make(m), argnums)


def _api(m: Any) -> Any:
    return jax if m.__name__.startswith("jax") else refjax


def _vmap(make: Callable[[Any], Callable[..., Any]], in_axes: Any
          ) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: _api(m).vmap(make(m), in_axes)


def _jvp(make: Callable[[Any], Callable[..., Any]]) -> Callable[[Any], Callable[..., Any]]:
    return lambda m: lambda y, t: _api(m).jvp(make(m), (y,), (t,))


JAXPR_PROGRAMS: dict[str, tuple[Callable[[Any], Callable[..., Any]], tuple[Any, ...]]] = {
    "conv SAME": (lambda m: lambda x, w: m.conv_general_dilated(x, w, (1, 1), "SAME"),
                  (X4[:, :2], W4)),
    "conv general": (_conv(CONV_KW), (X4, W4)),
    "conv NHWC precision preferred": (_conv(NHWC_KW), (X_NHWC, W_HWIO)),
    "conv batch groups": (_conv(BGC_KW), (X3, W3)),
    "conv grad": (_grad(_loss(CONV_KW), (0, 1)), (X4, W4)),
    "conv grad NHWC": (_grad(_loss(NHWC_KW), (0, 1)), (X_NHWC, W_HWIO)),
    "conv grad batch groups": (_grad(_loss(BGC_KW), (0, 1)), (X3, W3)),
    "conv vmap lhs": (_vmap(_conv(CONV_KW), (0, None)), (np.stack([X4, X4]), W4)),
    "conv vmap rhs groups": (_vmap(_conv(CONV_KW), (None, 1)), (X4, np.stack([W4, W4], 1))),
    "conv vmap both": (_vmap(_conv(CONV_KW), (3, 2)), (np.stack([X4] * 2, 3),
                                                       np.stack([W4] * 2, 2))),
    "conv vmap batch groups lhs": (_vmap(_conv(BGC_KW), (2, None)), (np.stack([X3] * 3, 2), W3)),
    "conv vmap batch groups rhs": (_vmap(_conv(BGC_KW), (None, 0)), (X3, np.stack([W3] * 3))),
    "conv_transpose": (lambda m: lambda x, w: m.conv_transpose(x, w, (2, 2), "SAME"),
                       (X_NHWC, W_HWIO)),
    "conv_transpose kernel transposed": (
        lambda m: lambda x, w: m.conv_transpose(x, w, (2, 1), "VALID", transpose_kernel=True),
        (X_NHWC[..., :3], W_HWIO)),
    "reduce_window_sum": (_rw(0.0, "add"), (Y,)),
    "reduce_window_max": (_rw(-np.inf, "max"), (Y,)),
    "reduce_window_min": (_rw(np.inf, "min"), (Y,)),
    "reduce_window generic": (_rw(1.0, "mul"), (Y,)),
    "reduce_window vmap sum": (_vmap(_rw(0.0, "add"), 1), (YB,)),
    "reduce_window vmap generic": (_vmap(_rw(1.0, "mul"), 1), (YB,)),
    "reduce_window vmap max": (_vmap(_rw(-np.inf, "max"), 2), (YB.transpose(0, 2, 1),)),
    "reduce_window max grad": (_grad(_rw_loss(-np.inf, "max")), (Y,)),
    "reduce_window min grad": (_grad(_rw_loss(np.inf, "min")), (Y,)),
    "reduce_window max jvp": (_jvp(_rw(-np.inf, "max")), (Y, Y)),
    "reduce_window generic jvp": (_jvp(_rw(1.0, "mul")), (Y, Y)),
    "reduce_window sum grad": (_grad(_rw_loss(0.0, "add")), (Y,)),
}

# JAX's pad wrapper keeps the np.int64 numbers the padding arithmetic gives, and prints them so
# (``padding_config=((np.int64(0), ...``); refjax's pad makes them ints.
_NP_INT = re.compile(r"np\.int64\((-?\d+)\)")


def _jax_text(text: str) -> str:
    return _NP_INT.sub(r"\1", text)


@requires_jax
@pytest.mark.parametrize("name", list(JAXPR_PROGRAMS))
def test_jaxpr_text_matches_jax(name: str) -> None:
    make, args = JAXPR_PROGRAMS[name]
    ours = str(refjax.make_jaxpr(make(lax))(*args))
    theirs = str(jax.make_jaxpr(make(jax.lax))(*args))
    if "np.int64" in theirs:  # the one difference: JAX prints the pads as np.int64 there
        theirs = _jax_text(theirs)
        ours = re.sub(r"pad\[\n\s*padding_config=(.*)\n\s*\]", r"pad[padding_config=\1]", ours)
        theirs = re.sub(r"pad\[\n\s*padding_config=(.*)\n\s*\]", r"pad[padding_config=\1]",
                        theirs)
    assert ours == theirs


@requires_jax
@pytest.mark.parametrize("name", list(JAXPR_PROGRAMS))
def test_program_values_match_jax(name: str) -> None:
    make, args = JAXPR_PROGRAMS[name]
    ours = refjax.tree_util.tree_leaves(make(lax)(*args))
    theirs = jax.tree_util.tree_leaves(make(jax.lax)(*args))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert o.dtype == t.dtype
        assert_close(o, np.asarray(t), 1e-4)


# ---------------------------------------------------------------------------------------------
# Errors: JAX's types and messages

XE = np.ones((2, 4, 6, 6), np.float32)
WE = np.ones((6, 4, 3, 3), np.float32)
YE = np.ones((4, 6), np.float32)

ERRORS: dict[str, Callable[[Any], Any]] = {
    "ndim": lambda m: m.conv_general_dilated(XE, WE[0], (1, 1), "SAME"),
    "feature_group_count 0": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "SAME",
                                                              feature_group_count=0),
    "feature_group_count divides": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "SAME",
                                                                    feature_group_count=3),
    "rhs input features": lambda m: m.conv_general_dilated(XE, WE[:, :2], (1, 1), "SAME"),
    "rhs output features": lambda m: m.conv_general_dilated(XE, WE[:5, :2], (1, 1), "SAME",
                                                            feature_group_count=2),
    "batch_group_count 0": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "SAME",
                                                            batch_group_count=0),
    "batch_group_count divides": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "SAME",
                                                                  batch_group_count=3),
    "batch_group_count outputs": lambda m: m.conv_general_dilated(XE, WE[:5], (1, 1), "SAME",
                                                                  batch_group_count=2),
    "both groups": lambda m: m.conv_general_dilated(XE, WE[:, :2], (1, 1), "SAME",
                                                    batch_group_count=2, feature_group_count=2),
    "strides length": lambda m: m.conv_general_dilated(XE, WE, (1,), [(0, 0), (0, 0)]),
    "pads length": lambda m: m.conv_general_dilated(XE, WE, (1, 1), [(0, 0)]),
    "pads not pairs": lambda m: m.conv_general_dilated(XE, WE, (1, 1), [(0, 0, 1), (0, 0)]),
    "padding string": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "FOO"),
    "negative padding": lambda m: m.conv_general_dilated(XE, WE, (1, 1), [(-4, -3), (0, 0)]),
    "string padding with lhs dilation": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "SAME", lhs_dilation=(2, 1)),
    "rhs dilation 0": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "VALID",
                                                       rhs_dilation=(0, 1)),
    "lhs dilation 0": lambda m: m.conv_general_dilated(XE, WE, (1, 1), [(0, 0), (0, 0)],
                                                       lhs_dilation=(0, 1)),
    "preferred narrower": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "VALID",
                                                           preferred_element_type=np.float16),
    "preferred int for float": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", preferred_element_type=np.int32),
    "preferred unsigned for signed": lambda m: m.conv_general_dilated(
        XE.astype(np.int8), WE.astype(np.int8), (1, 1), "VALID", preferred_element_type=np.uint32),
    "mixed dtypes": lambda m: m.conv_general_dilated(XE, WE.astype(np.int32), (1, 1), "VALID"),
    "dimension_numbers length": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers=("NCH", "OIHW", "NCHW")),
    "dimension_numbers spatial": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers=("NCHX", "OIHW", "NCHW")),
    "dimension_numbers duplicate": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers=("NCHH", "OIHW", "NCHW")),
    "dimension_numbers N twice": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers=("NNHW", "OIHW", "NCHW")),
    "dimension_numbers string": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers="NCHW"),
    "dimension_numbers two": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW")),
    "dimension_numbers not strings": lambda m: m.conv_general_dilated(
        XE, WE, (1, 1), "VALID", dimension_numbers=((0, 1, 2, 3),) * 3),
    "precision": lambda m: m.conv_general_dilated(XE, WE, (1, 1), "VALID", precision="foo"),
    "window rank": lambda m: m.reduce_window(YE, 0.0, m.add, (2,), (1,), "VALID"),
    "strides rank": lambda m: m.reduce_window(YE, 0.0, m.add, (2, 2), (1,), [(0, 0)] * 2),
    "base dilation rank": lambda m: m.reduce_window(YE, 0.0, m.add, (2, 2), (1, 1), "VALID",
                                                    base_dilation=(1,)),
    "window dilation rank": lambda m: m.reduce_window(YE, 0.0, m.add, (2, 2), (1, 1), "VALID",
                                                      window_dilation=(1,)),
    "window 0": lambda m: m.reduce_window(YE, 0.0, m.add, (0, 2), (1, 1), "VALID"),
    "stride 0": lambda m: m.reduce_window(YE, 0.0, m.add, (1, 2), (0, 1), "VALID"),
    "base dilation 0": lambda m: m.reduce_window(YE, 0.0, m.add, (1, 2), (1, 1), "VALID",
                                                 base_dilation=(0, 1)),
    # (JAX caches its eager executables by params, and 2.0 == 2: a window used nowhere else)
    "window float": lambda m: m.reduce_window(YE, 0.0, m.add, (2.0, 5), (1, 1), "VALID"),
    "pads rank": lambda m: m.reduce_window(YE, 0.0, m.add, (1, 2), (1, 1), [(0, 0)]),
    "init dtype": lambda m: m.reduce_window(YE, np.int32(1), m.mul, (2, 2), (1, 1), "VALID"),
    "init shape": lambda m: m.reduce_window(YE, np.ones(2, np.float32), m.mul, (2, 2), (1, 1),
                                            "VALID"),
    "tree mismatch": lambda m: m.reduce_window((YE, YE), 0.0, m.add, (2, 2), (1, 1), "VALID"),
    "no operands": lambda m: m.reduce_window((), (), m.add, (2, 2), (1, 1), "VALID"),
    "output tree": lambda m: m.reduce_window(YE, 1.0, lambda a, b: (a * b,), (2, 2), (1, 1),
                                             "VALID"),
    "bool sum": lambda m: m.reduce_window(YE.astype(bool), False, m.add, (2, 2), (1, 1),
                                          "VALID"),
    "computation closes over a tracer": lambda m: _api(m).vmap(
        lambda t: m.reduce_window(YE, 1.0, lambda a, b: a * b * t, (2, 2)))(np.ones(3, np.float32)),
    "grad with window dilation": lambda m: _api(m).grad(
        lambda a: m.reduce_window(a, -np.inf, m.max, (2, 2), (1, 1), "VALID",
                                  window_dilation=(2, 1)).sum())(YE),
}


@requires_jax
@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_jax(name: str) -> None:
    call = ERRORS[name]
    with pytest.raises(Exception) as theirs:
        call(jax.lax)
    with pytest.raises(Exception) as ours:
        call(lax)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_grad_of_the_generic_reduce_window_fails() -> None:
    """No transpose for the generic primitive (JAX raises a ValueError from linearize,
    "Linearization failed to produce known values ..."; refjax's linearize its own error)."""
    with pytest.raises((ValueError, NotImplementedError)):
        refjax.grad(lambda a: lax.reduce_window(a, 1.0, lax.mul, (2, 2)).sum())(YE)


def test_zero_stride_convolution_fails_when_run() -> None:
    """As in JAX, the shape rule lets a zero stride through; running the convolution fails."""
    x, w = np.ones((1, 1, 4), np.float32), np.ones((1, 1, 2), np.float32)
    jaxpr = refjax.make_jaxpr(lambda a, b: lax.conv_general_dilated(a, b, (0,), "VALID"))(x, w)
    assert jaxpr.out_avals[0].shape == (1, 1, 1)
    with pytest.raises(ValueError, match="positive stride"):
        lax.conv_general_dilated(x, w, (0,), "VALID")


# ---------------------------------------------------------------------------------------------
# reduce_window: dispatch, pytrees, wrap-around


def _prim_names(jaxpr: Any) -> list[str]:
    return [e.primitive.name for e in jaxpr.eqns]


DISPATCH: dict[str, tuple[Callable[[Any], Callable[..., Any]], Any]] = {
    "add 0": (lambda m: lambda y: m.reduce_window(y, 0.0, m.add, (2, 2)), YE),
    "add 0 int": (lambda m: lambda y: m.reduce_window(y, 0, m.add, (2, 2)), YE.astype(np.int32)),
    "add 1": (lambda m: lambda y: m.reduce_window(y, 1.0, m.add, (2, 2)), YE),
    "max -inf": (lambda m: lambda y: m.reduce_window(y, -np.inf, m.max, (2, 2)), YE),
    "max 0": (lambda m: lambda y: m.reduce_window(y, 0.0, m.max, (2, 2)), YE),
    "max int min": (lambda m: lambda y: m.reduce_window(y, np.int32(-(2**31)), m.max, (2, 2)),
                    YE.astype(np.int32)),
    "max bool": (lambda m: lambda y: m.reduce_window(y, False, m.max, (2, 2)), YE > 0),
    "min inf": (lambda m: lambda y: m.reduce_window(y, np.inf, m.min, (2, 2)), YE),
    "min bool": (lambda m: lambda y: m.reduce_window(y, True, m.min, (2, 2)), YE > 0),
    "traced init": (lambda m: lambda y: m.reduce_window(y, y[0, 0] * 0, m.add, (2, 2)), YE),
    "mul": (lambda m: lambda y: m.reduce_window(y, 1.0, m.mul, (2, 2)), YE),
    "lambda add": (lambda m: lambda y: m.reduce_window(y, 0.0, lambda a, b: a + b, (2, 2)), YE),
}


@requires_jax
@pytest.mark.parametrize("name", list(DISPATCH))
def test_reduce_window_binds_the_primitive_jax_binds(name: str) -> None:
    make, y = DISPATCH[name]
    assert _prim_names(refjax.make_jaxpr(make(lax))(y)) == _prim_names(
        jax.make_jaxpr(make(jax.lax))(y))
    assert str(refjax.make_jaxpr(make(lax))(y)) == str(jax.make_jaxpr(make(jax.lax))(y))
    ours, theirs = make(lax)(y), make(jax.lax)(y)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@requires_jax
def test_reduce_window_of_a_pytree() -> None:
    def f(m: Any) -> Callable[..., Any]:
        def both(a: Any, b: Any) -> Any:
            return {"s": a["s"] + b["s"], "p": a["p"] * b["p"]}

        return lambda x, y: m.reduce_window({"s": x, "p": y}, {"s": 0.0, "p": 1.0}, both,
                                            (2, 3), (1, 2), "SAME")

    x, y = Y, Y * 0.5 + 1
    ours, theirs = f(lax)(x, y), f(jax.lax)(x, y)
    assert sorted(ours) == ["p", "s"]
    for k in ours:
        assert_close(ours[k], np.asarray(theirs[k]), 1e-5)
    assert str(refjax.make_jaxpr(f(lax))(x, y)) == str(jax.make_jaxpr(f(jax.lax))(x, y))


@requires_jax
def test_integer_sums_wrap_as_xla_does() -> None:
    x = np.full((6,), 100, np.int8)
    ours = lax.reduce_window(x, np.int8(0), lax.add, (3,), (1,), "VALID")
    theirs = jax.lax.reduce_window(x, np.int8(0), jax.lax.add, (3,), (1,), "VALID")
    assert ours.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    lhs, rhs = np.full((1, 4, 5), 50, np.int8), np.full((2, 4, 3), 7, np.int8)
    ours = lax.conv_general_dilated(lhs, rhs, (1,), "SAME")
    theirs = jax.lax.conv_general_dilated(lhs, rhs, (1,), "SAME")
    assert ours.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@requires_jax
def test_max_pool_gradient_goes_to_the_first_maximum() -> None:
    """Ties: the cotangent goes to the first maximum of each window, as XLA selects."""
    y = np.array([[1.0, 3.0, 3.0, 2.0], [3.0, 0.0, 3.0, 1.0]], np.float32)

    def f(m: Any) -> Callable[..., Any]:
        return lambda a: m.reduce_window(a, -np.inf, m.max, (2, 2), (1, 1), "SAME").sum()

    np.testing.assert_array_equal(np.asarray(refjax.grad(f(lax))(y)),
                                  np.asarray(jax.grad(f(jax.lax))(y)))


# ---------------------------------------------------------------------------------------------
# The shape helpers


@requires_jax
@pytest.mark.parametrize("args", [
    ((2, 3, 10, 7), (4, 3, 3, 2), (2, 1), "SAME"),
    ((2, 3, 10, 7), (4, 3, 3, 2), (2, 3), "VALID"),
    ((2, 3, 10, 7), (4, 3, 3, 2), (1, 2), [(1, 2), (0, 3)]),
])
def test_conv_shape_tuple(args: tuple[Any, ...]) -> None:
    assert cv.conv_shape_tuple(*args) == tuple(jax.lax.conv_shape_tuple(*args))


@requires_jax
@pytest.mark.parametrize("padding", ["SAME", "VALID", [(1, 0), (2, 1)]])
def test_conv_general_and_transpose_shape_tuples(padding: Any) -> None:
    args = ((2, 9, 7, 3), (3, 2, 3, 5), (2, 3), padding, ("NHWC", "HWIO", "NHWC"))
    assert cv.conv_general_shape_tuple(*args) == tuple(jax.lax.conv_general_shape_tuple(*args))
    assert cv.conv_transpose_shape_tuple(*args) == tuple(
        jax.lax.conv_transpose_shape_tuple(*args))


@requires_jax
@pytest.mark.parametrize("padding", ["SAME", "SAME_LOWER", "VALID", "same"])
def test_padtype_to_pads(padding: str) -> None:
    for args in [((10, 7), (3, 4), (2, 3)), ((5,), (6,), (1,)), ((4, 4), (1, 1), (3, 3))]:
        assert cv.padtype_to_pads(*args, padding) == [
            tuple(p) for p in jax.lax.padtype_to_pads(*args, padding)]


@requires_jax
@pytest.mark.parametrize("dn", [None, ("NCHW", "OIHW", "NCHW"), ("NHWC", "HWIO", "NHWC"),
                                ("WNCH", "IWOH", "HCWN"), ("NWHC", "OIWH", "CNHW")])
def test_conv_dimension_numbers(dn: Any) -> None:
    ours = cv.conv_dimension_numbers((2, 3, 4, 5), (6, 3, 2, 2), dn)
    theirs = jax.lax.conv_dimension_numbers((2, 3, 4, 5), (6, 3, 2, 2), dn)
    assert ours == tuple(tuple(s) for s in theirs)
    assert type(ours).__name__ == "ConvDimensionNumbers"


@requires_jax
@pytest.mark.parametrize("args", [
    ((5, 7), (2, 3), (1, 2), [(1, 0), (0, 1)], (2, 1), (1, 2)),
    ((5, 7), (2, 3), (1, 1), [(-5, 0), (0, 0)], None, None),
])
def test_reduce_window_shape_tuple(args: tuple[Any, ...]) -> None:
    assert wd.reduce_window_shape_tuple(*args) == tuple(jax.lax.reduce_window_shape_tuple(*args))


def test_exports_are_jax_laxs() -> None:
    """What ``jax.lax`` exports of these two modules (``select_and_scatter_p``, the generic
    select-and-scatter with jaxpr bodies that JAX only lowers to, is left out)."""
    expected = {"ConvDimensionNumbers", "ConvGeneralDilatedDimensionNumbers", "conv",
                "conv_dimension_numbers", "conv_general_dilated", "conv_general_dilated_p",
                "conv_general_permutations", "conv_general_shape_tuple", "conv_shape_tuple",
                "conv_transpose", "conv_transpose_shape_tuple", "conv_with_general_padding",
                "padtype_to_pads", "reduce_window", "reduce_window_max_p",
                "reduce_window_min_p", "reduce_window_p", "reduce_window_shape_tuple",
                "reduce_window_sum_p", "select_and_gather_add_p", "select_and_scatter_add_p"}
    assert set(cv.__all__) | set(wd.__all__) == expected


# ---------------------------------------------------------------------------------------------
# Printed jaxprs parse back; jit


@pytest.mark.parametrize("name", ["conv general", "conv NHWC precision preferred",
                                  "reduce_window generic", "reduce_window max grad",
                                  "reduce_window max jvp", "reduce_window generic jvp"])
def test_printed_jaxprs_parse_back(name: str) -> None:
    make, args = JAXPR_PROGRAMS[name]
    closed = refjax.make_jaxpr(make(lax))(*args)
    parsed = parse_jaxpr(str(closed), closed.consts)
    assert str(parsed) == str(closed)
    for e1, e2 in zip(closed.eqns, parsed.eqns, strict=True):
        assert e1.primitive is e2.primitive
        assert e1.params.keys() == e2.params.keys()
        if "select_prim" in e1.params:
            assert e1.params["select_prim"] is e2.params["select_prim"]
    from refjax.interp.core import eval_jaxpr

    expected = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    got = eval_jaxpr(parsed.jaxpr, parsed.consts, *args)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", ["conv general", "conv grad", "reduce_window max grad",
                                  "reduce_window generic", "reduce_window vmap generic"])
def test_jit_matches_eager(name: str) -> None:
    make, args = JAXPR_PROGRAMS[name]
    eager = refjax.tree_util.tree_leaves(make(lax)(*args))
    jitted = refjax.jit(make(lax))
    for _ in range(4):  # (the numpy backend interprets a program's first runs, then compiles it)
        for a, b in zip(refjax.tree_util.tree_leaves(jitted(*args)), eager, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
