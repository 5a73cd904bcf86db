"""The ``jax.lax`` names of ``refjax/primitives/lax_more.py`` against real JAX: values (the
random bit generators bit for bit), shapes, dtypes, errors, jvp/grad, vmap against a loop and
against JAX, and jaxpr structure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax as rlax
from refjax.test_util import check_grads
from tests.oracle import enable_x64, jax

RNG = np.random.RandomState(0)


def jlax() -> Any:
    return jax.lax


def same(x: Any, y: Any, tol: float = 0.0) -> None:
    xs, ys = refjax.tree_util.tree_leaves(x), jax.tree_util.tree_leaves(y)
    assert len(xs) == len(ys)
    for a, b in zip(xs, ys, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def same_error(ours: Any, theirs: Any) -> None:
    with pytest.raises(Exception) as jerr:
        theirs()
    with pytest.raises(jerr.type) as rerr:
        ours()
    assert str(rerr.value) == str(jerr.value)


# ---------------------------------------------------------------------------------------------
# rng_bit_generator, rng_uniform


KEYS = [np.uint32([1, 2, 3, 4]), np.uint32([7, 0, 0xFFFFFFFF, 0xFFFFFFFF]),
        np.uint32([0xDEADBEEF, 5, 0xFFFFFFFE, 0])]


@pytest.mark.parametrize("algorithm", [0, 1, 2])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32"])
def test_rng_bit_generator_bits(algorithm: int, dtype: str) -> None:
    for key in KEYS:
        for shape in [(), (1,), (5,), (4,), (3, 5), (2, 3, 4), (7, 3), (0, 3)]:
            ours = rlax.rng_bit_generator(key, shape, np.dtype(dtype),
                                          rlax.RandomAlgorithm(algorithm))
            theirs = jlax().rng_bit_generator(key, shape, np.dtype(dtype),
                                              jlax().RandomAlgorithm(algorithm))
            same(ours, theirs)


def test_rng_bit_generator_uint64_keys_and_bits() -> None:
    with enable_x64():
        for algorithm in (1, 2):
            for key in [KEYS[0], np.uint64([3, 0xFFFFFFFFFFFFFFFF])]:
                for shape in [(5,), (2, 3)]:
                    same(rlax.rng_bit_generator(key, shape, np.uint64,
                                                rlax.RandomAlgorithm(algorithm)),
                         jlax().rng_bit_generator(key, shape, np.uint64,
                                                  jlax().RandomAlgorithm(algorithm)))


def test_rng_bit_generator_vmap_jit_and_errors() -> None:
    keys = np.stack(KEYS)
    same(refjax.vmap(lambda k: rlax.rng_bit_generator(k, (2, 3)))(keys),
         jax.vmap(lambda k: jlax().rng_bit_generator(k, (2, 3)))(keys))
    same(refjax.vmap(lambda k: rlax.rng_bit_generator(k, (3,)), 1, 1)(keys.T),
         jax.vmap(lambda k: jlax().rng_bit_generator(k, (3,)), 1, 1)(keys.T))
    same(refjax.jit(lambda k: rlax.rng_bit_generator(k, (4,)))(KEYS[0]),
         jlax().rng_bit_generator(KEYS[0], (4,)))
    same_error(lambda: rlax.rng_bit_generator(KEYS[0], (2,), np.int32),
               lambda: jlax().rng_bit_generator(KEYS[0], (2,), np.int32))
    with pytest.raises(TypeError, match="uint32\\[4\\]"):  # (JAX: an AssertionError lowering)
        rlax.rng_bit_generator(np.uint32([1, 2, 3]), (2,))
    text = str(refjax.make_jaxpr(lambda k: rlax.rng_bit_generator(k, (2,), np.uint8))(KEYS[0]))
    assert "algorithm=RNG_DEFAULT" in text and "dtype=uint8" in text and "shape=(2,)" in text
    assert str(rlax.RandomAlgorithm.RNG_PHILOX) == str(jlax().RandomAlgorithm.RNG_PHILOX)


def test_rng_uniform_properties() -> None:
    x = np.asarray(rlax.rng_uniform(np.float32(2.0), np.float32(3.0), (2000,)))
    assert x.shape == (2000,) and x.dtype == np.float32
    assert ((x >= 2.0) & (x < 3.0)).all() and abs(x.mean() - 2.5) < 0.05
    i = np.asarray(rlax.rng_uniform(np.int32(-3), np.int32(4), (2000,)))
    assert i.dtype == np.int32 and set(np.unique(i)) == set(range(-3, 4))
    weak = rlax.rng_uniform(0.0, 1.0, (3,))
    assert weak.weak_type == jlax().rng_uniform(0.0, 1.0, (3,)).weak_type
    same_error(lambda: rlax.rng_uniform(np.zeros(2, np.float32), np.float32(1), (2,)),
               lambda: jlax().rng_uniform(np.zeros(2, np.float32), np.float32(1), (2,)))
    same_error(lambda: rlax.rng_uniform(np.float32(0), np.int32(1), (2,)),
               lambda: jlax().rng_uniform(np.float32(0), np.int32(1), (2,)))
    with pytest.raises(NotImplementedError, match="rng_uniform"):
        refjax.vmap(lambda a: rlax.rng_uniform(a, 1.0, (2,)))(np.zeros(3, np.float32))


# ---------------------------------------------------------------------------------------------
# random_gamma_grad


def test_random_gamma_grad() -> None:
    a = np.float32([0.5, 2.0, 3.0, 0.1, 5.0, -1.0, 1.0, np.nan])
    x = np.float32([0.3, 1.5, 0.0, 4.0, 7.0, 1.0, -1.0, 1.0])
    same(rlax.random_gamma_grad(a, x), jlax().random_gamma_grad(a, x), 2e-5)
    same(rlax.random_gamma_grad(np.float32(2.0), x[:3]),
         jlax().random_gamma_grad(np.float32(2.0), x[:3]), 2e-5)


# ---------------------------------------------------------------------------------------------
# approx_max_k, approx_min_k


@pytest.mark.parametrize("aggregate", [True, False])
def test_approx_top_k_values(aggregate: bool) -> None:
    x = RNG.randn(3, 300).astype(np.float32)
    for fn in ("approx_max_k", "approx_min_k"):
        for args in [(x, 5), (x, 2, 0), (x[0], 7)]:
            same(getattr(rlax, fn)(*args, aggregate_to_topk=aggregate),
                 getattr(jlax(), fn)(*args, aggregate_to_topk=aggregate))


def test_approx_top_k_output_size_matches_xla() -> None:
    from jax._src.lib import _jax  # the oracle of XLA's size rule

    from refjax.primitives.lax_more import approx_top_k_reduction_output_size

    for n, rank, k, recall in [(100, 1, 5, 0.95), (5000, 1, 10, 0.95), (5000, 2, 10, 0.9),
                               (300, 2, 1, 0.95), (100000, 2, 50, 0.99), (3000, 1, 3, 1.0)]:
        assert approx_top_k_reduction_output_size(n, rank, k, recall, False) == tuple(
            _jax.approx_top_k_reduction_output_size(n, rank, k, recall, False, -1))


def test_approx_top_k_jvp_vmap_errors() -> None:
    x = RNG.randn(4, 10).astype(np.float32)
    t = RNG.randn(4, 10).astype(np.float32)
    same(refjax.jvp(lambda v: rlax.approx_max_k(v, 3)[0], (x,), (t,)),
         jax.jvp(lambda v: jlax().approx_max_k(v, 3)[0], (x,), (t,)), 1e-6)
    same(refjax.grad(lambda v: rlax.approx_min_k(v, 2, 0)[0].sum())(x),
         jax.grad(lambda v: jlax().approx_min_k(v, 2, 0)[0].sum())(x))
    check_grads(lambda v: rlax.approx_max_k(v, 3)[0], (x,), order=1, modes=("fwd", "rev"))
    for axes in (0, 1):
        ours = refjax.vmap(lambda v: rlax.approx_max_k(v, 3), axes)(x)
        loop = [rlax.approx_max_k(np.take(x, i, axes), 3) for i in range(x.shape[axes])]
        same(ours, jax.vmap(lambda v: jlax().approx_max_k(v, 3), axes)(x))
        np.testing.assert_array_equal(np.asarray(ours[0]), np.stack([np.asarray(v[0])
                                                                     for v in loop]))
    for args in [(x, 0), (x, 11), (x.astype(np.int32), 2), (np.float32(1.0), 1)]:
        same_error(lambda a=args: rlax.approx_max_k(*a), lambda a=args: jlax().approx_max_k(*a))


# ---------------------------------------------------------------------------------------------
# total-order comparisons


def test_total_order_comparisons() -> None:
    f = np.float32([-0.0, np.nan, 1, -np.nan, 0.0, -np.inf, np.inf, 2.0])
    g = np.float32([0.0, 1, np.nan, 1, -0.0, -np.nan, np.nan, 2.0])
    for name in ("eq_to_p", "lt_to_p", "le_to_p"):
        for a, b in [(f, g), (g, f), (f, f), (np.int32([1, 2, 3]), np.int32([2, 2, 2]))]:
            same(getattr(rlax, name).bind(a, b), getattr(jlax(), name).bind(a, b))
    same(refjax.vmap(rlax.lt_to_p.bind, (0, None))(np.stack([f, g]), g),
         jax.vmap(jlax().lt_to_p.bind, (0, None))(np.stack([f, g]), g))


# ---------------------------------------------------------------------------------------------
# ragged_dot, ragged_dot_general


def test_ragged_dot() -> None:
    lhs = RNG.randn(6, 4).astype(np.float32)
    rhs = RNG.randn(3, 4, 5).astype(np.float32)
    for gs in [np.int32([2, 1, 2]), np.int32([0, 6, 0]), np.int32([1, 1, 1])]:
        same(rlax.ragged_dot(lhs, rhs, gs), jlax().ragged_dot(lhs, rhs, gs), 1e-5)
    gs = np.int32([2, 1, 3])
    same(refjax.grad(lambda a, b: rlax.ragged_dot(a, b, gs).sum(), (0, 1))(lhs, rhs),
         jax.grad(lambda a, b: jlax().ragged_dot(a, b, gs).sum(), (0, 1))(lhs, rhs), 1e-5)
    lb = np.stack([lhs, 2 * lhs])  # (JAX's own vmap of this is NotImplementedError: a loop)
    same(refjax.vmap(lambda a: rlax.ragged_dot(a, rhs, gs))(lb),
         np.stack([np.asarray(jlax().ragged_dot(a, rhs, gs)) for a in lb]), 1e-5)
    rb = np.stack([rhs, -rhs])
    same(refjax.vmap(lambda b: rlax.ragged_dot(lhs, b, gs))(rb),
         np.stack([np.asarray(jlax().ragged_dot(lhs, b, gs)) for b in rb]), 1e-5)
    same_error(lambda: rlax.ragged_dot(lhs, rhs, gs.astype(np.float32)),
               lambda: jlax().ragged_dot(lhs, rhs, gs.astype(np.float32)))
    same_error(lambda: rlax.ragged_dot(lhs, rhs, np.int32([1, 5])),
               lambda: jlax().ragged_dot(lhs, rhs, np.int32([1, 5])))


def test_ragged_dot_general_modes() -> None:
    cases = [  # contracting; batch-noncontracting with per-batch sizes; ragged batch
        ((([1], [0]), ([], [])), [1], [], (3, 6), (6, 2), np.int32([1, 3, 2])),
        ((([2], [1]), ([0], [0])), [1], [2], (2, 5, 3), (2, 3, 4, 6),
         np.int32([[1, 1, 2, 1], [0, 3, 1, 1]])),
        ((([2], [1]), ([0], [0])), [0], [], (4, 2, 3), (4, 3, 5), np.int32([1, 3])),
    ]
    for dnums, ragged, group, ls, rs, gs in cases:
        lhs, rhs = RNG.randn(*ls).astype(np.float32), RNG.randn(*rs).astype(np.float32)
        ours = rlax.ragged_dot_general(lhs, rhs, gs,
                                       rlax.RaggedDotDimensionNumbers(dnums, ragged, group))
        theirs = jlax().ragged_dot_general(lhs, rhs, gs,
                                           jlax().RaggedDotDimensionNumbers(dnums, ragged, group))
        same(ours, theirs, 1e-5)
    bad = rlax.RaggedDotDimensionNumbers((([1], [0]), ([], [])), [1], [0])
    jbad = jlax().RaggedDotDimensionNumbers((([1], [0]), ([], [])), [1], [0])
    lhs, rhs = RNG.randn(3, 6).astype(np.float32), RNG.randn(6, 2).astype(np.float32)
    same_error(lambda: rlax.ragged_dot_general(lhs, rhs, np.int32([6]), bad),
               lambda: jlax().ragged_dot_general(lhs, rhs, np.int32([6]), jbad))


# ---------------------------------------------------------------------------------------------
# conv_general_dilated_patches, conv_general_dilated_local


@pytest.mark.parametrize("dnums", [None, ("NHWC", "HWIO", "NHWC"), ("NCHW", "IOWH", "CNHW")])
def test_conv_patches(dnums: Any) -> None:
    x = RNG.randn(2, 3, 6, 5).astype(np.float32)
    if dnums is not None and dnums[0] == "NHWC":
        x = np.transpose(x, (0, 2, 3, 1))
    for strides, padding, dil in [((1, 1), "VALID", None), ((1, 2), "SAME", (2, 1)),
                                  ((2, 1), ((1, 0), (0, 2)), None)]:
        same(rlax.conv_general_dilated_patches(x, (2, 3), strides, padding, rhs_dilation=dil,
                                               dimension_numbers=dnums),
             jlax().conv_general_dilated_patches(x, (2, 3), strides, padding, rhs_dilation=dil,
                                                 dimension_numbers=dnums))
    f = lambda v: rlax.conv_general_dilated_patches(v, (2, 2), (1, 1), "SAME",  # noqa: E731
                                                    dimension_numbers=dnums)
    check_grads(f, (x,), order=1, modes=("rev",))


def test_conv_local() -> None:
    x = RNG.randn(2, 6, 5, 3).astype(np.float32)
    dn = ("NHWC", "HWIO", "NHWC")
    w = RNG.randn(6, 3, 18, 4).astype(np.float32)
    ours = rlax.conv_general_dilated_local(x, w, (1, 2), "SAME", (2, 3), dimension_numbers=dn)
    theirs = jlax().conv_general_dilated_local(x, w, (1, 2), "SAME", (2, 3),
                                               dimension_numbers=dn)
    same(ours, theirs, 1e-5)
    gr = refjax.grad(lambda w: rlax.conv_general_dilated_local(
        x, w, (1, 2), "SAME", (2, 3), dimension_numbers=dn).sum())(w)
    gj = jax.grad(lambda w: jlax().conv_general_dilated_local(
        x, w, (1, 2), "SAME", (2, 3), dimension_numbers=dn).sum())(w)
    same(gr, gj, 1e-5)
    x2 = RNG.randn(1, 2, 5, 4).astype(np.float32)
    w2 = RNG.randn(3, 8, 4, 3).astype(np.float32)  # O, I = 2 features * 2x2 window, out H, W
    same(rlax.conv_general_dilated_local(x2, w2, (1, 1), "VALID", (2, 2),
                                         precision=rlax.Precision.HIGHEST),
         jlax().conv_general_dilated_local(x2, w2, (1, 1), "VALID", (2, 2),
                                           precision=jlax().Precision.HIGHEST), 1e-5)


# ---------------------------------------------------------------------------------------------
# scatter_apply, composite, platform_dependent, stage, dce_sink, shape_as_value, types


def test_scatter_apply() -> None:
    v = np.arange(5, dtype=np.float32)
    rd = rlax.ScatterDimensionNumbers((), (0,), (0,))
    jd = jlax().ScatterDimensionNumbers((), (0,), (0,))
    for idx in [np.array([[0], [0], [2]]), np.array([[4], [1]])]:
        n = idx.shape[0]
        same(rlax.scatter_apply(v, idx, lambda t: t * 2 + 1, rd, update_shape=(n,)),
             jlax().scatter_apply(v, idx, lambda t: t * 2 + 1, jd, update_shape=(n,)))


def test_composite() -> None:
    def dec(x: Any, *, k: float) -> Any:
        return x * k + 1.0

    ours, theirs = rlax.composite(dec, "my.op"), jlax().composite(dec, "my.op")
    same(ours(np.float32(3.0), k=2.0), theirs(np.float32(3.0), k=2.0))
    rj = refjax.make_jaxpr(lambda x: ours(x, k=2.0))(np.float32(1.0))
    jj = jax.make_jaxpr(lambda x: theirs(x, k=2.0))(np.float32(1.0))
    assert [e.primitive.name for e in rj.eqns] == [e.primitive.name for e in jj.eqns]
    assert rj.eqns[0].params["name"] == "my.op" and rj.eqns[0].params["version"] == 0
    assert "name=my.op" in str(rj)
    same(refjax.jit(lambda x: ours(x, k=2.0))(np.float32(1.0)), np.float32(3.0))
    same_error(lambda: refjax.grad(lambda x: ours(x, k=2.0))(np.float32(1.0)),
               lambda: jax.grad(lambda x: theirs(x, k=2.0))(np.float32(1.0)))


def test_platform_dependent() -> None:
    x = np.float32(2.0)
    same(rlax.platform_dependent(x, cpu=lambda v: v + 1, cuda=lambda v: v - 1),
         jlax().platform_dependent(x, cpu=lambda v: v + 1, cuda=lambda v: v - 1))
    same(rlax.platform_dependent(x, tpu=lambda v: v + 1, default=lambda v: v * 3),
         jlax().platform_dependent(x, tpu=lambda v: v + 1, default=lambda v: v * 3))
    name = refjax.default_backend()
    assert float(rlax.platform_dependent(x, cpu=lambda v: v, **{name: lambda v: v * 5})) == 10.0
    same_error(lambda: rlax.platform_dependent(x, gpu=lambda v: v),
               lambda: jlax().platform_dependent(x, gpu=lambda v: v))
    same_error(lambda: rlax.platform_dependent(x, cpu=1),
               lambda: jlax().platform_dependent(x, cpu=1))


def test_stage_dce_sink_shape_as_value() -> None:
    same(rlax.stage(3.0), jlax().stage(3.0))
    same(rlax.stage(np.int32(3)), jlax().stage(np.int32(3)))
    assert str(refjax.make_jaxpr(lambda: rlax.stage(2.0))()) == str(
        jax.make_jaxpr(lambda: jlax().stage(2.0))())
    assert float(refjax.grad(lambda v: rlax.stage_p.bind(v) * 2)(1.0)) == 2.0
    assert str(refjax.make_jaxpr(lambda v: rlax.dce_sink(v))(1.0)) == str(
        jax.make_jaxpr(lambda v: jlax().dce_sink(v))(1.0))
    assert rlax.dce_sink(np.ones(2)) is None
    for shape in [(2, 3), (), (2**40,)]:
        ours, theirs = rlax.shape_as_value(shape), jlax().shape_as_value(shape)
        assert type(np.asarray(ours)) is np.ndarray
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        assert np.asarray(ours).dtype == np.asarray(theirs).dtype


def test_precision_types() -> None:
    a = np.ones((2, 2), np.float32)
    dn = (((1,), (0,)), ((), ()))
    for precision in (rlax.DotAlgorithmPreset.F32_F32_F32, "F32_F32_F32",
                      rlax.DotAlgorithm(np.float32, np.float32, np.float32)):
        out = rlax.dot_general(a, a, dn, precision=precision)
        np.testing.assert_array_equal(np.asarray(out), a @ a)
    text = str(refjax.make_jaxpr(lambda x: rlax.dot_general(
        x, x, dn, precision=rlax.DotAlgorithmPreset.F32_F32_F32))(a))
    assert "precision=DotAlgorithmPreset.F32_F32_F32" in text  # (JAX: precision=F32_F32_F32)
    assert [p.name for p in rlax.DotAlgorithmPreset] == [p.name for p in
                                                         jlax().DotAlgorithmPreset]
    assert rlax.DotAlgorithm._fields == jlax().DotAlgorithm._fields
    assert [(m.name, m.value) for m in rlax.AccuracyMode] == [
        (m.name, m.value) for m in jlax().AccuracyMode]
    assert rlax.Tolerance(atol=1e-3).atol == 1e-3
    same_error(lambda: rlax.Tolerance(), lambda: jlax().Tolerance())
    same_error(lambda: rlax.Tolerance(atol=-1.0), lambda: jlax().Tolerance(atol=-1.0))
