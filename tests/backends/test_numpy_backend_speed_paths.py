"""The numpy backend's compiled programs (``refjax/backends/numpy_impls/program.py``).

Speed paths must give what the reference implementations give; writing a result into a dead
operand's array must never change a value still to be read (through any name or view); a
broadcast left to numpy must never be written through; and no output may share memory with an
input, a constant or another output. Every program here runs until it is compiled: the first run
goes step by step with every result checked, later runs step by step, then compiled source.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as jnp
from refjax import lax
from refjax.backends.base import StepExecutable, get_backend
from refjax.backends.numpy_impls import prepared
from refjax.backends.numpy_impls.program import NumpyExecutable
from refjax.interp.core import ClosedJaxpr, Params
from refjax.interp.parser import parse_jaxpr
from refjax.primitives import elementwise as ew

RNG = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def compiled(closed: ClosedJaxpr) -> NumpyExecutable:
    exe = get_backend("numpy").compile(closed)
    assert isinstance(exe, NumpyExecutable)
    return exe


def from_text(text: str) -> tuple[ClosedJaxpr, NumpyExecutable]:
    closed = parse_jaxpr(text)
    return closed, compiled(closed)


def traced(fn: Callable[..., Any], *args: Any) -> tuple[ClosedJaxpr, NumpyExecutable]:
    closed = refjax.make_jaxpr(fn)(*args)
    return closed, compiled(closed)


def run(closed: ClosedJaxpr, exe: NumpyExecutable, args: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run until compiled (step by step and checked, step by step, then compiled, twice): all
    runs agree, inputs are untouched, a later run leaves an earlier run's outputs alone and
    shares no memory with them, and outputs have exactly their avals."""
    before = [a.copy() for a in args]
    runs = [exe.run(list(args)) for _ in range(NumpyExecutable.INTERPRETED_RUNS + 2)]
    assert exe.compiled
    first, kept = runs[0], [o.copy() for o in runs[0]]
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)  # inputs are never written
    for k, (copy, aval) in enumerate(zip(kept, closed.out_avals, strict=True)):
        for outs in runs:
            out = outs[k]
            assert isinstance(out, np.ndarray)
            assert (out.dtype, out.shape) == (aval.dtype, aval.shape)
            np.testing.assert_array_equal(out, copy)
            assert out is first[k] or not np.may_share_memory(out, first[k])
        np.testing.assert_array_equal(first[k], copy)  # not overwritten by the later runs
    return list(runs[-1])


def hows(exe: NumpyExecutable) -> list[str]:
    return [how for _, how in exe.describe()]


# ---------------------------------------------------------------------------------------------
# In-place reuse waits for the last read of the array, under every name


def test_reuse_waits_for_the_last_read() -> None:
    """``a`` is read again by the last step: writing ``b`` into ``a``'s array (liveness off by
    one) would make ``d = c - b``."""
    closed, exe = from_text("""{ lambda ; x:f32[4]. let
        a:f32[4] = mul x 2.0:f32[]
        b:f32[4] = add a 1.0:f32[]
        c:f32[4] = mul b 3.0:f32[]
        d:f32[4] = sub c a
      in (d,) }""")
    x = f32(4)
    (d,) = run(closed, exe, [x])
    a = x * np.float32(2)
    np.testing.assert_array_equal(d, (a + np.float32(1)) * np.float32(3) - a)
    assert hows(exe) == ["speed path", "speed path", "in place", "in place"]


def test_reuse_of_each_operand_position() -> None:
    """The dead operand may be either one (``b`` first, ``c`` second); the live one (``a``, an
    output) is never the target."""
    closed, exe = from_text("""{ lambda ; x:f32[5] y:f32[5]. let
        a:f32[5] = add x y
        b:f32[5] = sub x y
        c:f32[5] = div b a
        d:f32[5] = mul a c
        e:f32[5] = max d 0.0:f32[]
      in (e, a) }""")
    x, y = f32(5), f32(5)
    e, a = run(closed, exe, [x, y])
    np.testing.assert_array_equal(a, x + y)
    np.testing.assert_array_equal(e, np.maximum((x + y) * ((x - y) / (x + y)), 0))
    assert hows(exe) == ["speed path", "speed path", "in place", "in place", "in place"]


@pytest.mark.parametrize(
    "view",
    [
        "t:f32[3,2] = transpose[permutation=(1, 0)] a",
        "t:f32[3,2] = reshape[dimensions=None new_sizes=(3, 2) sharding=None] a",
    ],
)
def test_reuse_waits_for_views(view: str) -> None:
    """``t`` is a view of ``a``'s array and is read after ``a`` is: no step may write into it."""
    closed, exe = from_text(f"""{{ lambda ; x:f32[2,3]. let
        a:f32[2,3] = add x 1.0:f32[]
        {view}
        b:f32[2,3] = mul a 2.0:f32[]
        u:f32[3,2] = neg t
      in (b, u) }}""")
    x = f32(2, 3)
    b, u = run(closed, exe, [x])
    a = x + np.float32(1)
    np.testing.assert_array_equal(b, a * np.float32(2))
    expected_t = a.T if "transpose" in view else a.reshape(3, 2)
    np.testing.assert_array_equal(u, -expected_t)
    assert hows(exe)[2] == "speed path"  # not in place: the view is still to be read


def test_reuse_waits_for_unmaterialised_broadcasts() -> None:
    """``v`` is ``a`` reshaped for numpy to broadcast (no copy): ``a`` must outlive ``v``."""
    closed, exe = from_text("""{ lambda ; x:f32[3] y:f32[2,3]. let
        a:f32[3] = add x 1.0:f32[]
        v:f32[2,3] = broadcast_in_dim[broadcast_dimensions=(1,) shape=(2, 3) sharding=None] a
        b:f32[3] = mul a 2.0:f32[]
        c:f32[2,3] = add v y
      in (b, c) }""")
    x, y = f32(3), f32(2, 3)
    b, c = run(closed, exe, [x, y])
    a = x + np.float32(1)
    np.testing.assert_array_equal(b, a * np.float32(2))
    np.testing.assert_array_equal(c, a[None, :] + y)
    assert hows(exe) == ["speed path", "unmaterialised broadcast", "speed path", "speed path"]


def test_a_broadcast_to_the_same_shape_is_never_written() -> None:
    """``b`` is ``a`` itself (a broadcast that adds nothing): writing ``c`` into ``b`` would
    change the output ``a``."""
    closed, exe = from_text("""{ lambda ; x:f32[3]. let
        a:f32[3] = mul x 2.0:f32[]
        b:f32[3] = broadcast_in_dim[broadcast_dimensions=(0,) shape=(3,) sharding=None] a
        c:f32[3] = add b 1.0:f32[]
      in (c, a) }""")
    x = f32(3)
    c, a = run(closed, exe, [x])
    np.testing.assert_array_equal(a, x * np.float32(2))
    np.testing.assert_array_equal(c, x * np.float32(2) + np.float32(1))


def test_broadcasts_numpy_cannot_finish_are_materialised() -> None:
    """``(1,3)`` and ``()`` broadcast to ``(1,3)``, not ``(2,3)``: one of them is materialised."""
    closed, exe = from_text("""{ lambda ; x:f32[3] s:f32[]. let
        a:f32[2,3] = broadcast_in_dim[broadcast_dimensions=(1,) shape=(2, 3) sharding=None] x
        b:f32[2,3] = broadcast_in_dim[broadcast_dimensions=() shape=(2, 3) sharding=None] s
        c:f32[2,3] = add a b
        d:f32[2,3] = mul c b
      in (d,) }""")
    x, s = f32(3), np.asarray(np.float32(1.5))
    (d,) = run(closed, exe, [x, s])
    np.testing.assert_array_equal(d, np.broadcast_to((x + s) * s, (2, 3)))


def test_reuse_waits_for_call_results_that_may_be_operands() -> None:
    """A branch, a loop or a nested jit may return its operand itself: ``a`` must outlive it."""

    def f(x: Any, p: Any) -> Any:
        a = x + 1.0
        r = lax.cond(p, lambda a: a, lambda a: a * 2.0, a)
        w = lax.while_loop(lambda c: c[0] < 0, lambda c: c, (jnp.int32(0), a))[1]
        j = refjax.jit(lambda a: a)(a)
        d = a * 3.0
        return r, w, j, d

    x = f32(4)
    for p in (True, False):
        closed, exe = traced(f, x, p)
        r, w, j, d = run(closed, exe, [x, np.asarray(p)])
        a = x + np.float32(1)
        np.testing.assert_array_equal(r, a if p else a * np.float32(2))
        np.testing.assert_array_equal(w, a)
        np.testing.assert_array_equal(j, a)
        np.testing.assert_array_equal(d, a * np.float32(3))
        np.testing.assert_array_equal(refjax.jit(f)(x, p)[3], a * np.float32(3))


def test_scan_carries_and_slices() -> None:
    """A scan body reads 0-d slices of its xs and passes a carry through unchanged."""

    def f(c0: Any, xs: Any) -> Any:
        def body(carry: Any, x: Any) -> Any:
            keep, acc = carry
            acc = jnp.maximum(acc * 2.0 + x, 0.0)
            return (keep, acc), acc - keep

        return lax.scan(body, (c0, c0), xs)

    c0, xs = np.asarray(np.float32(0.25)), f32(6)
    closed, exe = traced(f, c0, xs)
    keep, acc, ys = run(closed, exe, [c0, xs])
    expected_acc, expected_ys = np.float32(0.25), []
    for x in xs:
        expected_acc = np.maximum(expected_acc * np.float32(2) + x, np.float32(0))
        expected_ys.append(expected_acc - np.float32(0.25))
    np.testing.assert_array_equal(keep, c0)
    np.testing.assert_allclose(acc, expected_acc, rtol=1e-6)
    np.testing.assert_allclose(ys, np.array(expected_ys), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Outputs share memory with nothing a caller holds


OUTPUT_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "identity": lambda x: x,
    "transpose": lambda x: x.T,
    "reshape": lambda x: x.reshape(-1),
    "twice": lambda x: (x, x),
    "value and view": lambda x: (x * 2.0, (x * 2.0).T),
    "cond": lambda x: lax.cond(True, lambda a: a, lambda a: a + 1.0, x),
    "constant": lambda x: (x + 1.0, jnp.arange(3.0)),
    "broadcast": lambda x: jnp.broadcast_to(x[0], (4, 3)),
}


@pytest.mark.parametrize("name", OUTPUT_FUNCTIONS)
def test_outputs_do_not_alias_inputs_or_each_other(name: str) -> None:
    """Not the caller's input, not another output, not an output of another call (JAX: the
    same); so changing the input, or an output, changes nothing else."""
    fn = refjax.jit(OUTPUT_FUNCTIONS[name])
    x = f32(2, 3)
    held = [np.asarray(o) for _ in range(3) for o in refjax.tree_util.tree_leaves(fn(x))]
    snapshots = [h.copy() for h in held]
    for i, a in enumerate(held):
        assert not np.shares_memory(a, x)
        for b in held[i + 1 :]:
            assert not np.shares_memory(a, b)
    x[...] = 7.0
    for h, snapshot in zip(held, snapshots, strict=True):
        np.testing.assert_array_equal(h, snapshot)
    x_now = x.copy()
    for i, h in enumerate(held):
        if h.flags.writeable:
            h[...] = -1.0
            snapshots[i] = h.copy()
    np.testing.assert_array_equal(x, x_now)
    for h, snapshot in zip(held, snapshots, strict=True):
        np.testing.assert_array_equal(h, snapshot)


# ---------------------------------------------------------------------------------------------
# dot_general: every layout of batch, contracting and free dims, against np.einsum


def _dims_einsum(lhs_order: str, rhs_order: str) -> tuple[Any, str]:
    """Dimension numbers and the einsum for operands whose axes are ``lhs_order``/``rhs_order``
    (letters: b batch, c contracting, m/n free)."""
    dims = (
        ((lhs_order.index("c"),), (rhs_order.index("c"),)),
        ((lhs_order.index("b"),), (rhs_order.index("b"),)),
    )
    return dims, f"{lhs_order},{rhs_order}->bmn"


SIZES = {"b": 2, "c": 5, "m": 3, "n": 4}


@pytest.mark.parametrize(
    ("lhs_order", "rhs_order"),
    [
        ("".join(lo), "".join(ro))
        for lo in itertools.permutations("bcm")
        for ro in itertools.permutations("bcn")
    ],
)
def test_dot_general_batch_and_contracting_dims_anywhere(lhs_order: str, rhs_order: str) -> None:
    dims, spec = _dims_einsum(lhs_order, rhs_order)
    lhs = f32(*(SIZES[d] for d in lhs_order))
    rhs = f32(*(SIZES[d] for d in rhs_order))
    closed, exe = traced(lambda a, b: lax.dot_general(a, b, dims), lhs, rhs)
    (out,) = run(closed, exe, [lhs, rhs])
    np.testing.assert_allclose(out, np.einsum(spec, lhs, rhs), rtol=1e-5, atol=1e-5)
    ints = [(RNG.integers(-9, 9, a.shape)).astype(np.int32) for a in (lhs, rhs)]
    closed, exe = traced(lambda a, b: lax.dot_general(a, b, dims), *ints)
    (out,) = run(closed, exe, ints)
    np.testing.assert_array_equal(out, np.einsum(spec, *ints))


@pytest.mark.parametrize(
    ("lhs_shape", "rhs_shape", "dims", "spec"),
    [
        ((3, 5), (5, 4), (((1,), (0,)), ((), ())), "mc,cn->mn"),
        ((5, 3), (5, 4), (((0,), (0,)), ((), ())), "cm,cn->mn"),
        ((3, 5), (4, 5), (((1,), (1,)), ((), ())), "mc,nc->mn"),
        ((5, 3), (4, 5), (((0,), (1,)), ((), ())), "cm,nc->mn"),
        ((2, 3, 5, 6), (6, 4, 5), (((2, 3), (2, 0)), ((), ())), "pmcd,dnc->pmn"),
        ((5,), (5, 4), (((0,), (0,)), ((), ())), "c,cn->n"),
        ((5,), (5,), (((0,), (0,)), ((), ())), "c,c->"),
        ((2, 3, 5), (2, 5), (((2,), (1,)), ((0,), (0,))), "bmc,bc->bm"),
        ((3, 2, 5, 7), (7, 2, 5, 4), (((2,), (2,)), ((1, 3), (1, 0))), "mbcd,dbcn->bdmn"),
    ],
)
def test_dot_general_layouts(
    lhs_shape: tuple[int, ...], rhs_shape: tuple[int, ...], dims: Any, spec: str
) -> None:
    lhs, rhs = f32(*lhs_shape), f32(*rhs_shape)
    closed, exe = traced(lambda a, b: lax.dot_general(a, b, dims), lhs, rhs)
    (out,) = run(closed, exe, [lhs, rhs])
    np.testing.assert_allclose(out, np.einsum(spec, lhs, rhs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("lhs_shape", "rhs_shape", "dims", "perm", "spec"),
    [
        ((5, 3), (5, 4), (((0,), (0,)), ((), ())), (1, 0), "cm,cn->nm"),
        ((3, 5), (4, 5), (((1,), (1,)), ((), ())), (1, 0), "mc,nc->nm"),
        ((2, 3, 5), (2, 5, 4), (((2,), (1,)), ((0,), (0,))), (0, 2, 1), "bmc,bcn->bnm"),
        ((2, 3, 5), (5, 4, 2), (((2,), (0,)), ((0,), (2,))), (0, 2, 1), "bmc,cnb->bnm"),
        ((3, 6, 5), (5, 4), (((2,), (0,)), ((), ())), (2, 0, 1), "mpc,cn->nmp"),
    ],
)
def test_transposed_dot_general_is_computed_transposed(
    lhs_shape: tuple[int, ...], rhs_shape: tuple[int, ...], dims: Any, perm: Any, spec: str
) -> None:
    lhs, rhs = f32(*lhs_shape), f32(*rhs_shape)
    closed, exe = traced(lambda a, b: lax.transpose(lax.dot_general(a, b, dims), perm), lhs, rhs)
    (out,) = run(closed, exe, [lhs, rhs])
    np.testing.assert_allclose(out, np.einsum(spec, lhs, rhs), rtol=1e-5, atol=1e-5)
    assert hows(exe) == ["transposed dot"]
    assert out.flags.c_contiguous


def test_a_transposed_dot_that_is_also_read_stays_a_dot() -> None:
    lhs, rhs = f32(5, 3), f32(5, 4)
    dims = (((0,), (0,)), ((), ()))

    def f(a: Any, b: Any) -> Any:
        d = lax.dot_general(a, b, dims)
        return d.T, d * 2.0

    closed, exe = traced(f, lhs, rhs)
    t, d2 = run(closed, exe, [lhs, rhs])
    np.testing.assert_allclose(t, (lhs.T @ rhs).T, rtol=1e-5)
    np.testing.assert_allclose(d2, lhs.T @ rhs * 2, rtol=1e-5)
    assert "transposed dot" not in hows(exe)


# ---------------------------------------------------------------------------------------------
# Speed paths give the reference's values, signed zeros and NaN included


EDGES = np.array(
    [-0.0, 0.0, np.nan, -np.inf, np.inf, 1e-45, -1e-45, 2.5, -2.5, 3.0, -1.0], np.float32
)


def assert_same_values(got: np.ndarray, want: np.ndarray) -> None:
    """Equal values, NaN where NaN, and zeros of the same sign (complex: in both parts)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "c":
        assert_same_values(got.real, want.real)
        assert_same_values(got.imag, want.imag)
    elif want.dtype.kind == "f":
        ordered = ~np.isnan(want)
        np.testing.assert_array_equal(np.signbit(got[ordered]), np.signbit(want[ordered]))


ELEMENTWISE: dict[str, Callable[[Any], Any]] = {
    "max(x, 0)": lambda x: lax.max(x, np.float32(0.0)),
    "max(0, x)": lambda x: lax.max(np.float32(0.0), x),
    "max(x, -0)": lambda x: lax.max(x, np.float32(-0.0)),
    "max(x, 2.5)": lambda x: lax.max(x, np.float32(2.5)),
    "min(x, 0)": lambda x: lax.min(x, np.float32(0.0)),
    "min(x, -1)": lambda x: lax.min(-1.0, x),
    "max(x, x[::-1])": lambda x: lax.max(x, x[::-1]),
    "select 0/1": lambda x: lax.select(x > 0, jnp.ones_like(x), jnp.zeros_like(x)),
    "select 1/2": lambda x: lax.select(x > 0, jnp.full_like(x, 2.0), jnp.ones_like(x)),
    "select -0/nan": lambda x: lax.select(x > 0, jnp.full_like(x, np.nan), jnp.full_like(x, -0.0)),
    "select arrays": lambda x: lax.select(x > 0, x, -x),
    "select ints": lambda x: lax.select(
        x > 0, jnp.ones(x.shape, jnp.int32), jnp.zeros_like(x, jnp.int32)
    ),
    "select bools": lambda x: lax.select(x > 0, jnp.ones(x.shape, bool), jnp.zeros(x.shape, bool)),
    "select complex": lambda x: lax.select(
        x > 0, jnp.ones(x.shape, jnp.complex64), jnp.zeros(x.shape, jnp.complex64)
    ),
    "select constants": lambda x: lax.select(
        x > 0, jnp.asarray(EDGES[: x.size]), jnp.zeros_like(x)
    ),
    "relu grad": refjax.grad(lambda x: jnp.maximum(x, 0.0).sum()),
    "reduce_max": lambda x: jnp.stack([x, -x]).max(axis=1),
    "reduce_min": lambda x: jnp.stack([x, -x]).min(axis=1),
    "sum": lambda x: jnp.stack([x, -x]).sum(axis=1),
    "int max": lambda x: lax.max(x.astype(jnp.int32), jnp.int32(1)),
    "cast": lambda x: (x > 1.0).astype(jnp.float32) + x.astype(jnp.int32),
    "square": lambda x: lax.integer_pow(x, 2) + lax.square(x),
    "transcendental": lambda x: jnp.exp(x) + jnp.log(jnp.abs(x)) + jnp.tanh(x),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize(
    "x",
    [
        EDGES,
        np.array([-0.0, -0.0, -0.0], np.float32),
        np.array([0.0, -0.0, 0.0], np.float32),
        np.array([[-0.0, 0.0], [np.nan, -0.0]], np.float32).reshape(-1),
    ],
    ids=["edges", "negative zeros", "mixed zeros", "nan"],
)
def test_speed_paths_match_the_reference(name: str, x: np.ndarray) -> None:
    closed, exe = traced(ELEMENTWISE[name], x)
    (want,) = StepExecutable(get_backend("numpy"), closed).run([x])  # the reference impls
    (got,) = run(closed, exe, [x])
    assert_same_values(got, want)


def test_relu_grad_takes_speed_paths() -> None:
    x = f32(8, 16)
    closed, exe = traced(refjax.grad(lambda x: jnp.maximum(x, 0.0).sum()), x)
    run(closed, exe, [x])
    steps = exe.describe()
    assert ("max", "speed path") in steps or ("max", "in place") in steps
    assert all(how != "reference" for prim, how in steps if prim == "select_n")


def test_a_wrong_speed_path_fails_the_first_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run checks each step: a result of the wrong dtype is an AssertionError."""

    def wrong(ops: Any, params: Params, outs: Any) -> prepared.Prepared:
        return prepared.Prepared(lambda x, y: np.add(x, y, dtype=np.float64), fresh=True)

    monkeypatch.setitem(prepared._RULES, ew.add_p, wrong)
    closed = parse_jaxpr("""{ lambda ; x:f32[3]. let y:f32[3] = add x x in (y,) }""")
    exe = NumpyExecutable(get_backend("numpy"), closed)
    with pytest.raises(AssertionError, match="add gave float64"):
        exe.run([f32(3)])


def test_a_speed_path_claiming_a_new_array_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def aliasing(ops: Any, params: Params, outs: Any) -> prepared.Prepared:
        return prepared.Prepared(lambda x: x, fresh=True)

    monkeypatch.setitem(prepared._RULES, ew.neg_p, aliasing)
    closed = parse_jaxpr("""{ lambda ; x:f32[3]. let y:f32[3] = neg x in (y,) }""")
    exe = NumpyExecutable(get_backend("numpy"), closed)
    with pytest.raises(AssertionError, match="did not give a new array"):
        exe.run([f32(3)])


# ---------------------------------------------------------------------------------------------
# A whole training step


def test_mlp_sgd_step_matches_numpy_by_hand() -> None:
    sizes = (12, 16, 16, 3)
    params = [
        (f32(m, n) * np.float32(0.3), f32(n) * np.float32(0.1))
        for m, n in itertools.pairwise(sizes)
    ]
    x, y = f32(8, sizes[0]), np.eye(sizes[-1], dtype=np.float32)[RNG.integers(0, 3, 8)]

    def loss(params: Any, x: Any, y: Any) -> Any:
        h = x
        for w, b in params[:-1]:
            h = jnp.maximum(h @ w + b, 0.0)
        w, b = params[-1]
        logits = h @ w + b
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
        return -(logp * y).sum() / x.shape[0]

    def step(params: Any, x: Any, y: Any) -> Any:
        grads = refjax.grad(loss)(params, x, y)
        return [
            (w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads, strict=True)
        ]

    acts, pre = [x], []
    for w, b in params[:-1]:
        pre.append(acts[-1] @ w + b)
        acts.append(np.maximum(pre[-1], 0))
    logits = acts[-1] @ params[-1][0] + params[-1][1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    g = (e / e.sum(axis=1, keepdims=True) - y) / x.shape[0]
    expected = []
    for i in range(len(params) - 1, -1, -1):
        w, b = params[i]
        gw, gb = acts[i].T @ g, g.sum(axis=0)
        if i:
            g = (g @ w.T) * (pre[i - 1] > 0)
        expected.append((w - np.float32(0.01) * gw, b - np.float32(0.01) * gb))
    expected.reverse()

    flat = [a for wb in params for a in wb]

    def flat_step(*a: Any) -> Any:
        return step([(a[0], a[1]), (a[2], a[3]), (a[4], a[5])], a[6], a[7])

    closed, exe = traced(flat_step, *flat, x, y)
    got = run(closed, exe, [*flat, x, y])
    for out, want in zip(got, [a for wb in expected for a in wb], strict=True):
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    jitted = refjax.jit(step)
    for _ in range(NumpyExecutable.INTERPRETED_RUNS + 2):
        for (w, b), (ew_, eb) in zip(jitted(params, x, y), expected, strict=True):
            np.testing.assert_allclose(np.asarray(w), ew_, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(np.asarray(b), eb, rtol=1e-5, atol=1e-6)
    assert "in place" in hows(exe) and "transposed dot" in hows(exe)
