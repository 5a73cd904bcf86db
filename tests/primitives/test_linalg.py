"""dot_general: errors and dtype rules as JAX's, its params, and a hypothesis check of random
contractions against ``np.einsum``."""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refjax
from refjax import lax
from refjax.primitives import linalg
from tests.errors import ErrorCase, check_error_case
from tests.oracle import jax

A = np.ones((2, 3), np.float32)
B = np.ones((3, 4), np.float32)
MATMUL = (((1,), (0,)), ((), ()))


ERRORS = [
    ErrorCase(
        "contracting sizes",
        lambda m: m.dot_general(A, A, MATMUL),
        TypeError,
        "dot_general requires contracting dimensions to have the same shape, got (3,) and (2,).",
    ),
    ErrorCase(
        "batch sizes",
        lambda m: m.dot_general(A, B, (((), ()), ((0,), (0,)))),
        TypeError,
        "dot_general requires lhs batch dimensions and rhs batch dimensions to have the same "
        "shape, got (2,) and (3,).",
    ),
    ErrorCase(
        "lhs dims range",
        lambda m: m.dot_general(A, B, (((2,), (0,)), ((), ()))),
        TypeError,
        "dot_general requires lhs dimension numbers to be nonnegative and less than the number "
        "of axes of the lhs value, got lhs_batch of () and lhs_contracting of (2,) for lhs of "
        "rank 2",
    ),
    ErrorCase(
        "rhs dims range",
        lambda m: m.dot_general(A, B, (((1,), (-1,)), ((), ()))),
        TypeError,
        "dot_general requires rhs dimension numbers to be nonnegative",
    ),
    ErrorCase(
        "batch counts",
        lambda m: m.dot_general(A, B, (((), ()), ((0,), ()))),
        TypeError,
        "dot_general requires equal numbers of lhs_batch and rhs_batch dimensions, got "
        "lhs_batch (0,) and rhs_batch ().",
    ),
    ErrorCase(
        "repeated contracting",
        lambda m: m.dot_general(A, A, (((1, 1), (1, 1)), ((), ()))),
        TypeError,
        "dot_general requires lhs contracting dimensions to be distinct, got lhs_contracting "
        "(1, 1).",
    ),
    ErrorCase(
        "batch and contracting overlap",
        lambda m: m.dot_general(A, A, (((0,), (0,)), ((0,), (0,)))),
        TypeError,
        "dot_general requires lhs batch dimensions to be disjoint from contracting dimensions, "
        "got lhs_batch (0,) and lhs_contracting (0,).",
    ),
    ErrorCase(
        "narrower preferred type",
        lambda m: m.dot(
            np.ones((2, 2), np.int32), np.ones((2, 2), np.int32), preferred_element_type=np.int8
        ),
        TypeError,
        "`preferred_element_type` must not be narrower than the original type, got "
        "preferred_element_type of int8 for result type of int32.",
    ),
    ErrorCase(
        "dot needs dimension numbers",
        lambda m: m.dot(np.ones((2, 3, 4), np.float32), B),
        ValueError,
        "jax.lax.dot: dimension_numbers must be specified when not performing simple "
        "un-batched matrix-matrix, matrix-vector, or vector-vector products; got "
        "lhs_shape=(2, 3, 4) rhs_shape=(3, 4)",
    ),
    ErrorCase(
        "dot shapes",
        lambda m: m.dot(A, A),
        ValueError,
        "lhs_shape=(2, 3) rhs_shape=(2, 3)",
    ),
    ErrorCase(
        "precision",
        lambda m: m.dot(A, B, precision="exact"),
        ValueError,
        "Precision argument must be one of:\n- None,\n",
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.label)
def test_error_matches_jax(case: ErrorCase) -> None:
    check_error_case(
        case, lambda: case.call(lax), lambda: jax.make_jaxpr(lambda: case.call(jax.lax))()
    )


DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.uint32, np.float16, np.float32]


@pytest.mark.parametrize("lhs,rhs", list(itertools.product(DTYPES, DTYPES)))
def test_result_dtype_as_jax(lhs: Any, rhs: Any) -> None:
    """Mixed input dtypes: the more precise one wins, in XLA's order."""
    a, b = np.ones((2, 2), lhs), np.ones((2, 2), rhs)
    ours = refjax.make_jaxpr(lambda a, b: lax.dot(a, b))(a, b).out_avals[0]
    theirs = jax.make_jaxpr(lambda a, b: jax.lax.dot(a, b))(a, b).out_avals[0]
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.asarray(lax.dot(a, b)), np.asarray(jax.lax.dot(a, b)))


@pytest.mark.parametrize(
    "preferred", [np.int32, np.float32, np.int16, np.float16, np.uint8, np.complex64]
)
def test_preferred_element_type_as_jax(preferred: Any) -> None:
    a = np.full((2, 3), 100, np.int8)
    run = lambda m: m.dot(a, a.T, preferred_element_type=preferred)  # noqa: E731
    ours, theirs = run(lax), run(jax.lax)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_params_named_as_jax() -> None:
    fn = lambda m, a, b: m.dot(a, b, precision="highest", preferred_element_type=np.float32)  # noqa: E731
    ours = refjax.make_jaxpr(lambda a, b: fn(lax, a, b))(A, B).eqns[0]
    theirs = jax.make_jaxpr(lambda a, b: fn(jax.lax, a, b))(A, B).eqns[0]
    assert set(ours.params) == set(theirs.params)
    assert ours.params["dimension_numbers"] == theirs.params["dimension_numbers"]
    assert str(ours.params["precision"]) == str(theirs.params["precision"])
    assert ours.params["preferred_element_type"] == theirs.params["preferred_element_type"]


def test_precision_canonicalisation() -> None:
    highest = (lax.Precision.HIGHEST, lax.Precision.HIGHEST)
    assert linalg.canonicalize_precision("float32") == highest
    assert linalg.canonicalize_precision(lax.Precision.HIGHEST) == highest
    assert linalg.canonicalize_precision(("high", "default")) == (
        lax.Precision.HIGH,
        lax.Precision.DEFAULT,
    )
    assert linalg.canonicalize_precision(None) is None
    assert lax.Precision("bfloat16") is lax.Precision.DEFAULT


def test_weak_types_as_jax() -> None:
    def fn(m: Any) -> Any:
        w = m.broadcast_in_dim(2.0, (3,), ())
        return m.dot(w, w), m.dot(w, np.ones(3, np.float32))

    ours = refjax.make_jaxpr(lambda: fn(lax))().out_avals
    theirs = jax.make_jaxpr(lambda: fn(jax.lax))().out_avals
    assert [a.weak_type for a in ours] == [a.weak_type for a in theirs]


@st.composite
def contractions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, Any, str]:
    """Random batch/contracting/free dims, laid out in random orders in lhs and rhs."""
    sizes = st.integers(0, 3)
    n_batch, n_contract, n_lhs, n_rhs = (draw(st.integers(0, 2)) for _ in range(4))
    letters = iter(string.ascii_letters)
    batch = [(next(letters), draw(sizes)) for _ in range(n_batch)]
    contract = [(next(letters), draw(sizes)) for _ in range(n_contract)]
    lhs_free = [(next(letters), draw(sizes)) for _ in range(n_lhs)]
    rhs_free = [(next(letters), draw(sizes)) for _ in range(n_rhs)]
    lhs_axes = draw(st.permutations(batch + contract + lhs_free))
    rhs_axes = draw(st.permutations(batch + contract + rhs_free))
    lhs_pos = {name: i for i, (name, _) in enumerate(lhs_axes)}
    rhs_pos = {name: i for i, (name, _) in enumerate(rhs_axes)}
    dnums = (
        (tuple(lhs_pos[n] for n, _ in contract), tuple(rhs_pos[n] for n, _ in contract)),
        (tuple(lhs_pos[n] for n, _ in batch), tuple(rhs_pos[n] for n, _ in batch)),
    )
    free = [n for n, s in lhs_axes if (n, s) in lhs_free]
    free += [n for n, s in rhs_axes if (n, s) in rhs_free]
    out = "".join(n for n, _ in batch) + "".join(free)  # free dims keep their operand order
    spec = f"{''.join(n for n, _ in lhs_axes)},{''.join(n for n, _ in rhs_axes)}->{out}"
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    lhs = rng.integers(-5, 5, [s for _, s in lhs_axes]).astype(np.int32)
    rhs = rng.integers(-5, 5, [s for _, s in rhs_axes]).astype(np.int32)
    return lhs, rhs, dnums, spec


@given(contractions())
def test_dot_general_is_einsum(case: tuple[np.ndarray, np.ndarray, Any, str]) -> None:
    lhs, rhs, dnums, spec = case
    out = lax.dot_general(lhs, rhs, dnums)
    np.testing.assert_array_equal(np.asarray(out), np.einsum(spec, lhs, rhs))


# ---------------------------------------------------------------------------------------------
# Transformation rules


def _matmul(m: Any) -> Callable[[Any, Any], Any]:
    return lambda a, b: m.dot_general(a, b, MATMUL)


@pytest.mark.parametrize("in_axes", [(0, 0), (1, 2), (2, 0), (0, 1)])
def test_vmap_with_both_sides_batched_adds_a_batch_dim_and_no_transpose(
    in_axes: tuple[int, int],
) -> None:
    rng = np.random.default_rng(0)
    a = np.moveaxis(rng.standard_normal((3, 2, 4)).astype(np.float32), 0, in_axes[0])
    b = np.moveaxis(rng.standard_normal((3, 4, 5)).astype(np.float32), 0, in_axes[1])
    fn = refjax.vmap(_matmul(lax), in_axes)
    jaxpr = refjax.make_jaxpr(fn)(a, b)
    assert [e.primitive.name for e in jaxpr.eqns] == ["dot_general"]
    _, batch = jaxpr.eqns[0].params["dimension_numbers"]
    assert batch == ((in_axes[0],), (in_axes[1],))
    expected = jax.vmap(_matmul(jax.lax), in_axes)(a, b)
    np.testing.assert_allclose(np.asarray(fn(a, b)), np.asarray(expected), rtol=1e-6)


@pytest.mark.parametrize(
    "in_axes,out_axis",
    [((1, None), 1), ((0, None), 0), ((None, 1), 1), ((None, 2), 2), ((None, 0), 1)],
)
def test_vmap_with_one_side_batched_adds_a_free_dim(
    in_axes: tuple[int | None, int | None], out_axis: int
) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 4)).astype(np.float32), rng.standard_normal((4, 5))
    b = b.astype(np.float32)
    if in_axes[0] is not None:
        a = np.stack([a, 2 * a, -a], axis=in_axes[0])
    else:
        b = np.stack([b, 2 * b, -b], axis=in_axes[1])
    fn = refjax.vmap(_matmul(lax), in_axes, out_axes=out_axis)
    assert [e.primitive.name for e in refjax.make_jaxpr(fn)(a, b).eqns] == ["dot_general"]
    expected = jax.vmap(_matmul(jax.lax), in_axes, out_axes=out_axis)(a, b)
    np.testing.assert_allclose(np.asarray(fn(a, b)), np.asarray(expected), rtol=1e-6)


def test_grad_of_matmul_is_the_transposed_products() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    w = rng.standard_normal((3, 2))

    def loss(m: Any) -> Callable[[Any, Any], Any]:
        return lambda a, b: m.dot_general(
            m.dot_general(a, b, MATMUL), w, (((0, 1), (0, 1)), ((), ()))
        )

    ga, gb = refjax.grad(loss(lax), (0, 1))(a, b)
    np.testing.assert_allclose(np.asarray(ga), w @ b.T, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(gb), a.T @ w, rtol=1e-5)
    ja, jb = jax.grad(loss(jax.lax), (0, 1))(a, b)
    np.testing.assert_allclose(np.asarray(ga), np.asarray(ja), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gb), np.asarray(jb), rtol=1e-6)


def test_transpose_keeps_the_operand_dtype_with_a_preferred_element_type() -> None:
    a = np.ones((2, 3), np.float16)
    b = np.ones((3, 4), np.float16)
    fn = lambda m: lambda a: m.dot(a, b, preferred_element_type=np.float32)  # noqa: E731
    ct = np.ones((2, 4), np.float32)
    (ours,) = refjax.vjp(fn(lax), a)[1](ct)
    (theirs,) = jax.vjp(fn(jax.lax), a)[1](ct)
    assert ours.dtype == theirs.dtype == np.float16
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@settings(max_examples=20)
@given(contractions(), st.data())
def test_dot_general_vjp_and_vmap_match_jax(
    case: tuple[np.ndarray, np.ndarray, Any, str], data: st.DataObject
) -> None:
    """Random contractions: VJPs as JAX's, and vmap at random axes as a loop over einsum."""
    lhs, rhs, dnums, spec = case
    lhs, rhs = lhs.astype(np.float32), rhs.astype(np.float32)
    fn = lambda m: lambda a, b: m.dot_general(a, b, dnums)  # noqa: E731
    out, pullback = refjax.vjp(fn(lax), lhs, rhs)
    ct = np.random.default_rng(0).integers(-3, 3, np.shape(out)).astype(np.float32)
    expected = jax.vjp(fn(jax.lax), lhs, rhs)[1](ct)
    for ours, theirs in zip(pullback(ct), expected, strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    lhs_axis = data.draw(st.sampled_from([None, *range(lhs.ndim + 1)]))
    rhs_axis = data.draw(st.sampled_from([None, *range(rhs.ndim + 1)]))
    if lhs_axis is None and rhs_axis is None:
        return
    batch = [(lhs + k, rhs - k) for k in range(2)]
    a = lhs if lhs_axis is None else np.stack([x for x, _ in batch], axis=lhs_axis)
    b = rhs if rhs_axis is None else np.stack([y for _, y in batch], axis=rhs_axis)
    got = refjax.vmap(fn(lax), (lhs_axis, rhs_axis))(a, b)
    for k in range(2):
        x = lhs if lhs_axis is None else batch[k][0]
        y = rhs if rhs_axis is None else batch[k][1]
        np.testing.assert_array_equal(np.asarray(got)[k], np.einsum(spec, x, y))
