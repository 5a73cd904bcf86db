"""Indexing primitives: errors (class and text as JAX's), params and jaxprs as JAX prints them,
edge semantics (clamping, fill values, duplicate scatters, total orders), and properties checked
with hypothesis against numpy."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refjax
from refjax import lax
from refjax.primitives import gather_scatter, slicing, sorting
from tests.errors import ErrorCase, check_error_case
from tests.oracle import jax

X = np.arange(12, dtype=np.float32).reshape(3, 4)
I32 = np.int32
ROWS = np.array([[0], [2], [2]], np.int32)


def _row_gather_dnums(m: Any) -> Any:
    return m.GatherDimensionNumbers(
        offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,)
    )


def _row_scatter_dnums(m: Any) -> Any:
    return m.ScatterDimensionNumbers(
        update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
    )


def _gather(m: Any, dnums: dict[str, Any], sizes: Any, x: Any = X, idx: Any = ROWS) -> Any:
    return m.gather(x, idx, m.GatherDimensionNumbers(**dnums), sizes)


def _scatter(m: Any, dnums: dict[str, Any], upd: Any, idx: Any = ROWS, x: Any = X) -> Any:
    return m.scatter_add(x, idx, upd, m.ScatterDimensionNumbers(**dnums))


ROW_G = {"offset_dims": (1,), "collapsed_slice_dims": (0,), "start_index_map": (0,)}
ROW_S = {
    "update_window_dims": (1,),
    "inserted_window_dims": (0,),
    "scatter_dims_to_operand_dims": (0,),
}
UPD = np.ones((3, 4), np.float32)


ERRORS = [
    # slice
    ErrorCase(
        "slice limit",
        lambda m: m.slice(X, (0, 0), (4, 4)),
        TypeError,
        "slice limit_indices must be less than or equal to operand shape",
    ),
    ErrorCase(
        "slice negative start",
        lambda m: m.slice(X, (-1, 0), (2, 4)),
        TypeError,
        "slice start_indices must have every element be nonnegative, got (-1, 0).",
    ),
    ErrorCase(
        "slice rank",
        lambda m: m.slice(X, (0,), (2,)),
        TypeError,
        "slice start_indices must have length equal to the number of dimensions",
    ),
    ErrorCase(
        "slice start after limit",
        lambda m: m.slice(X, (2, 0), (1, 4)),
        TypeError,
        "slice limit_indices must be greater than or equal to start_indices",
    ),
    ErrorCase(
        "slice strides rank",
        lambda m: m.slice(X, (0, 0), (2, 4), (1,)),
        TypeError,
        "slice strides must have length equal to the number of dimensions",
    ),
    # dynamic_slice / dynamic_update_slice
    ErrorCase(
        "dynamic_slice sizes",
        lambda m: m.dynamic_slice(X, (0, 0), (4, 1)),
        TypeError,
        "slice slice_sizes must be less than or equal to operand shape, got slice_sizes (4, 1)",
    ),
    ErrorCase(
        "dynamic_slice index count",
        lambda m: m.dynamic_slice(X, (0,), (1, 1)),
        ValueError,
        "Length of slice indices must match number of operand dimensions (1 vs (3, 4))",
    ),
    ErrorCase(
        "dynamic_slice index dtypes",
        lambda m: m.dynamic_slice(X, (np.int32(0), np.int8(0)), (1, 1)),
        TypeError,
        "index arguments to dynamic_slice must be integers of the same type, got: int32, int8",
    ),
    ErrorCase(
        "dynamic_slice float index",
        lambda m: m.dynamic_slice(X, (np.float32(1), np.float32(0)), (1, 1)),
        TypeError,
        "index arguments to dynamic_slice must be integers of the same type",
        same=False,  # JAX wraps the float index with lt/select first: same error, later
    ),
    ErrorCase(
        "dynamic_slice index shape",
        lambda m: m.dynamic_slice(X, (np.zeros(2, I32), np.zeros(2, I32)), (1, 1)),
        TypeError,
        "start_indices arguments to dynamic_slice must be scalars",
        same=False,  # JAX's text shows its own aval reprs
    ),
    ErrorCase(
        "dynamic_update_slice rank",
        lambda m: m.dynamic_update_slice(X, np.ones(2, np.float32), (0, 0)),
        TypeError,
        "dynamic_update_slice update must have the same rank as operand",
    ),
    ErrorCase(
        "dynamic_update_slice too big",
        lambda m: m.dynamic_update_slice(X, np.ones((4, 1), np.float32), (0, 0)),
        TypeError,
        "dynamic_update_slice update shape must be smaller than operand shape",
    ),
    ErrorCase(
        "dynamic_update_slice dtypes",
        lambda m: m.dynamic_update_slice(X, np.ones((1, 1), np.int32), (0, 0)),
        TypeError,
        "lax.dynamic_update_slice requires arguments to have the same dtypes, got float32, int32.",
    ),
    ErrorCase(
        "index_in_dim bounds",
        lambda m: m.index_in_dim(X, 3),
        IndexError,
        "index 3 is out of bounds for axis 0 with size 3",
    ),
    # gather
    ErrorCase(
        "gather float indices",
        lambda m: _gather(m, ROW_G, (1, 4), idx=ROWS.astype(np.float32)),
        ValueError,
        "indices must have an integer type",
    ),
    ErrorCase(
        "gather offset_dims unsorted",
        lambda m: _gather(m, {**ROW_G, "offset_dims": (1, 0), "collapsed_slice_dims": ()}, (1, 4)),
        TypeError,
        "offset_dims in gather op must be sorted; got (1, 0)",
    ),
    ErrorCase(
        "gather offset_dims range",
        lambda m: _gather(m, {**ROW_G, "offset_dims": (2,)}, (1, 4)),
        TypeError,
        "Offset dimension 0 in gather op is out of bounds; got 2, but should have been in [0, 2)",
    ),
    ErrorCase(
        "gather start_index_map length",
        lambda m: _gather(m, {**ROW_G, "start_index_map": (0, 1)}, (1, 4)),
        TypeError,
        "Gather op has 2 elements in start_index_map and the bound of dimension "
        "index_vector_dim=1 of indices is 1. These two numbers must be equal.",
    ),
    ErrorCase(
        "gather start_index_map range",
        lambda m: _gather(m, {**ROW_G, "start_index_map": (2,)}, (1, 4)),
        TypeError,
        "Invalid start_index_map; domain is [0, 2), got: 0->2.",
    ),
    ErrorCase(
        "gather collapsed bound",
        lambda m: _gather(m, ROW_G, (2, 4)),
        TypeError,
        "Gather op can only collapse slice dims with bound 1, but bound is 2 for index 0 at "
        "position 0.",
    ),
    ErrorCase(
        "gather slice_sizes rank",
        lambda m: _gather(m, ROW_G, (1,)),
        TypeError,
        "Gather op must have one slice size for every input dimension; got: len(slice_sizes)=1, "
        "input_shape.rank=2",
    ),
    ErrorCase(
        "gather slice size range",
        lambda m: _gather(m, ROW_G, (1, 5)),
        TypeError,
        "Slice size at index 1 in gather op is out of range, must be within [0, 4 + 1), got 5.",
    ),
    ErrorCase(
        "gather unaccounted dims",
        lambda m: _gather(m, {**ROW_G, "offset_dims": ()}, (1, 4)),
        TypeError,
        "All components of the offset index in a gather op must either be a offset dimension or "
        "explicitly collapsed/batching",
    ),
    ErrorCase(
        "gather collapsed and batching",
        lambda m: _gather(
            m,
            {**ROW_G, "operand_batching_dims": (0,), "start_indices_batching_dims": (0,)},
            (1, 4),
        ),
        TypeError,
        "collapsed_slice_dims and operand_batching_dims in gather op must be disjoint",
    ),
    ErrorCase(
        "gather batching sizes",
        lambda m: _gather(
            m,
            {
                "offset_dims": (),
                "collapsed_slice_dims": (1,),
                "start_index_map": (1,),
                "operand_batching_dims": (0,),
                "start_indices_batching_dims": (0,),
            },
            (1, 1),
            idx=np.zeros((2, 1), np.int32),
        ),
        TypeError,
        "Gather op requires operand batching dimensions and indices batching dimensions to have "
        "the same shape, got (3,) and (2,).",
    ),
    ErrorCase(
        "gather batching index vector",
        lambda m: _gather(
            m,
            {
                "offset_dims": (),
                "collapsed_slice_dims": (1,),
                "start_index_map": (1,),
                "operand_batching_dims": (0,),
                "start_indices_batching_dims": (1,),
            },
            (1, 1),
        ),
        TypeError,
        "Gather op cannot have the index vector dimension as a batching dimension; got (1,).",
    ),
    ErrorCase(
        "gather rank-0 indices",
        lambda m: _gather(m, ROW_G, (1, 4), idx=np.int32(0)),
        TypeError,
        "Gather index leaf dimension must be within [0, rank(indices) + 1).",
    ),
    ErrorCase(
        "gather mode",
        lambda m: m.gather(X, ROWS, _row_gather_dnums(m), (1, 4), mode="nearest"),
        ValueError,
        'Unknown gather mode "nearest"',
    ),
    # scatter
    ErrorCase(
        "scatter updates rank",
        lambda m: _scatter(m, ROW_S, np.ones(3, np.float32)),
        TypeError,
        "Updates tensor must be of rank 2; got 1.",
    ),
    ErrorCase(
        "scatter window bounds",
        lambda m: _scatter(m, ROW_S, np.ones((3, 5), np.float32)),
        TypeError,
        "Bounds of the window dimensions of updates must not exceed the bounds of the "
        "corresponding dimensions of operand. For dimension 1, updates bound is 5, operand "
        "bound is 4.",
    ),
    ErrorCase(
        "scatter scatter bounds",
        lambda m: _scatter(m, ROW_S, np.ones((2, 4), np.float32)),
        TypeError,
        "Bounds of the scatter dimensions of updates must be the same as the bounds of the "
        "corresponding dimensions of scatter indices. For scatter dimension 0, updates bound is "
        "2, indices bound is 3.",
    ),
    ErrorCase(
        "scatter dtypes",
        lambda m: _scatter(m, ROW_S, np.ones((3, 4), np.int32)),
        TypeError,
        "lax.scatter requires arguments to have the same dtypes, got float32, int32.",
    ),
    ErrorCase(
        "scatter window size",
        lambda m: _scatter(m, {**ROW_S, "inserted_window_dims": ()}, UPD),
        TypeError,
        "Scatter op has window of size 1; doesn't match operand of rank 2.",
    ),
    ErrorCase(
        "scatter dims mapping",
        lambda m: _scatter(m, {**ROW_S, "scatter_dims_to_operand_dims": (0, 1)}, UPD),
        TypeError,
        "Scatter op has 2 elements in scatter_dims_to_operand_dims and the bound of dimension "
        "index_vector_dim=1 of indices is 1. These two numbers must be equal",
    ),
    ErrorCase(
        "scatter inserted unsorted",
        lambda m: _scatter(
            m,
            {**ROW_S, "update_window_dims": (), "inserted_window_dims": (1, 0)},
            np.ones(3, np.float32),
        ),
        TypeError,
        "inserted_window_dims in scatter op must be sorted; got (1, 0)",
    ),
    ErrorCase(
        "scatter float indices",
        lambda m: _scatter(m, ROW_S, UPD, idx=ROWS.astype(np.float32)),
        ValueError,
        "indices must have an integer type",
    ),
    ErrorCase(
        "scatter_add of bools",
        lambda m: m.scatter_add(
            np.array([True]),
            np.zeros((1, 1), np.int32),
            np.array([True]),
            m.ScatterDimensionNumbers((), (0,), (0,)),
        ),
        TypeError,
        "add does not accept dtype bool at position 0.",
    ),
    # sort and top_k
    ErrorCase(
        "sort shapes",
        lambda m: m.sort((X, X[:2]), num_keys=1),
        TypeError,
        "Arguments to sort must have equal shapes, got: (3, 4) (2, 4)",
        same=False,  # JAX reaches the same text by a different route for numpy inputs
    ),
    ErrorCase(
        "sort num_keys",
        lambda m: m.sort((X, X), num_keys=3),
        ValueError,
        "num_keys=3 must be between 1 and len(operand)=2",
    ),
    ErrorCase(
        "sort num_keys single",
        lambda m: m.sort(X, num_keys=2),
        ValueError,
        "num_keys=2 must equal 1 for a single operand.",
    ),
    ErrorCase("sort empty", lambda m: m.sort(()), TypeError, "Sort requires at least one operand"),
    ErrorCase(
        "sort axis",
        lambda m: m.sort(X, dimension=2),
        ValueError,
        "axis 2 is out of bounds for array of dimension 2",
    ),
    ErrorCase(
        "top_k k",
        lambda m: m.top_k(X, 5),
        ValueError,
        "k argument to top_k must be no larger than size along axis; got k=5 with "
        "shape=[3, 4] and axis=1",
    ),
    ErrorCase(
        "top_k negative",
        lambda m: m.top_k(X, -1),
        ValueError,
        "k argument to top_k must be nonnegative, got -1",
    ),
    ErrorCase(
        "top_k complex",
        lambda m: m.top_k(np.ones(3, np.complex64), 1),
        ValueError,
        "top_k is not compatible with complex inputs.",
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.label)
def test_error_matches_jax(case: ErrorCase) -> None:
    """JAX checks avals while tracing (eagerly, slice goes through dynamic_slice): trace it."""
    check_error_case(
        case, lambda: case.call(lax), lambda: jax.make_jaxpr(lambda: case.call(jax.lax))()
    )


# ---------------------------------------------------------------------------------------------
# Params and jaxprs: printed exactly as JAX prints them

FV = np.array([[1], [5]], np.int32)
JAXPR_CASES: dict[str, Callable[[Any, Any], Any]] = {
    "slice": lambda m, x: m.slice(x, (0, 1), (3, 4), (2, 2)),
    "slice no strides": lambda m, x: m.slice(x, (0, 1), (3, 4)),
    "gather": lambda m, x: m.gather(x, ROWS, _row_gather_dnums(m), (1, 4)),
    "gather fill": lambda m, x: m.gather(x, FV, _row_gather_dnums(m), (1, 4), mode="fill"),
    "gather clip": lambda m, x: m.gather(x, FV, _row_gather_dnums(m), (1, 4), mode="clip"),
    "scatter": lambda m, x: m.scatter(x, ROWS, x, _row_scatter_dnums(m)),
    "scatter-add": lambda m, x: m.scatter_add(x, ROWS, x, _row_scatter_dnums(m)),
    "scatter-mul": lambda m, x: m.scatter_mul(x, ROWS, x, _row_scatter_dnums(m), mode="clip"),
    "scatter-min": lambda m, x: m.scatter_min(x, ROWS, x, _row_scatter_dnums(m)),
    "scatter-max": lambda m, x: m.scatter_max(x, ROWS, x, _row_scatter_dnums(m)),
    "scatter-sub": lambda m, x: m.scatter_sub(x, ROWS, x, _row_scatter_dnums(m)),
    "sort": lambda m, x: m.sort(x, dimension=0),
    "sort many": lambda m, x: m.sort((x, x, x), num_keys=2),
    "top_k": lambda m, x: m.top_k(x, 2),
}


def _one_line(text: str) -> str:
    """A jaxpr's text with line breaks undone (where lines break is the printer's business)."""
    return re.sub(r"\[ ", "[", re.sub(r" \]", "]", re.sub(r"\s+", " ", text)))


def _jaxpr_texts(fn: Callable[..., Any], *args: Any) -> tuple[str, str]:
    ours = refjax.make_jaxpr(lambda *a: fn(lax, *a))(*args)
    theirs = jax.make_jaxpr(lambda *a: fn(jax.lax, *a))(*args)
    return _one_line(str(ours)), _one_line(str(theirs))


@pytest.mark.parametrize("label", list(JAXPR_CASES))
def test_jaxpr_printed_as_jax(label: str) -> None:
    x = X[:3, :3] if label.startswith("scatter") else X
    fn = JAXPR_CASES[label]
    ours, theirs = _jaxpr_texts(lambda m, x: fn(m, x), x)
    assert ours == theirs


def test_dynamic_slice_jaxpr_wraps_traced_negative_indices_as_jax() -> None:
    def fn(m: Any, x: Any, i: Any) -> Any:
        return m.dynamic_update_slice(m.dynamic_slice(x, (i, 1), (2, 2)), x[:1, :1], (0, i))

    ours, theirs = _jaxpr_texts(lambda m, x, i: fn(m, x, i), X, np.int32(1))
    assert ours == theirs


def test_scatter_update_jaxpr_is_shared_between_calls() -> None:
    """The same dtype gets the same update_jaxpr object, so params compare equal (jit caches)."""
    a = refjax.make_jaxpr(lambda x: lax.scatter_add(x, ROWS, UPD, _row_scatter_dnums(lax)))(X)
    b = refjax.make_jaxpr(lambda x: lax.scatter_add(x, ROWS, UPD, _row_scatter_dnums(lax)))(X)
    assert a.eqns[0].params == b.eqns[0].params


def test_weak_types_as_jax() -> None:
    def fn(m: Any) -> Any:
        w = m.broadcast_in_dim(2.0, (3, 4), ())
        i = np.int32(1)
        return (
            m.slice(w, (0, 0), (2, 2)),
            m.dynamic_slice(w, (i, i), (2, 2)),
            m.dynamic_update_slice(
                w, w[:1, :1] if m is jax.lax else m.slice(w, (0, 0), (1, 1)), (0, 0)
            ),
            m.gather(w, ROWS, _row_gather_dnums(m), (1, 4)),
            m.scatter_add(w, ROWS, w, _row_scatter_dnums(m)),
            *m.top_k(w, 2),
            m.sort(w),
        )

    ours = refjax.make_jaxpr(lambda: fn(lax))().out_avals
    theirs = jax.make_jaxpr(lambda: fn(jax.lax))().out_avals
    assert [a.weak_type for a in ours] == [a.weak_type for a in theirs]
    assert [a.shape for a in ours] == [a.shape for a in theirs]


# ---------------------------------------------------------------------------------------------
# Edge semantics


def _both(fn: Callable[[Any], Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    def run(m: Any) -> list[np.ndarray]:
        out = fn(m)
        return [np.asarray(o) for o in (out if isinstance(out, (tuple, list)) else [out])]

    return run(lax), run(jax.lax)


HELPER_CASES: dict[str, Callable[[Any], Any]] = {
    "slice_in_dim": lambda m: m.slice_in_dim(X, 1, -1, axis=1),
    "slice_in_dim defaults": lambda m: m.slice_in_dim(X, None, None, 2),
    "index_in_dim": lambda m: m.index_in_dim(X, -1, axis=1, keepdims=False),
    "index_in_dim keepdims": lambda m: m.index_in_dim(X, 1),
    "dynamic_slice_in_dim": lambda m: m.dynamic_slice_in_dim(X, np.int32(-3), 2, axis=1),
    "dynamic_slice_in_dim int": lambda m: m.dynamic_slice_in_dim(X, 5, 2),
    "dynamic_index_in_dim": lambda m: m.dynamic_index_in_dim(X, np.int32(9), 1, False),
    "dynamic_update_slice_in_dim": lambda m: m.dynamic_update_slice_in_dim(
        X, np.zeros((3, 2), np.float32), -1, axis=1
    ),
    "dynamic_update_index_in_dim": lambda m: m.dynamic_update_index_in_dim(
        X, np.zeros(4, np.float32), 7, 0
    ),
    "dynamic_slice array starts": lambda m: m.dynamic_slice(X, np.array([1, -1]), (2, 2)),
    "dynamic_slice no negatives": lambda m: m.dynamic_slice(
        X, (np.array(-1), np.array(2)), (2, 2), allow_negative_indices=False
    ),
    "dynamic_slice uint": lambda m: m.dynamic_slice(X, (np.uint8(9), np.uint8(1)), (2, 2)),
    "gather explicit fill": lambda m: m.gather(
        X, FV, _row_gather_dnums(m), (1, 4), mode="fill", fill_value=-7
    ),
    "gather scalar operand": lambda m: m.gather(
        np.float32(3), np.zeros((2, 0), np.int32), m.GatherDimensionNumbers((), (), ()), ()
    ),
    "gather batching slice size 0": lambda m: m.gather(
        X[:2, :3],
        np.zeros((2, 1), np.int32),
        m.GatherDimensionNumbers((1,), (), (1,), (0,), (0,)),
        (0, 2),
    ),
    "scatter last wins": lambda m: m.scatter(
        np.zeros(4, np.float32),
        np.array([[1], [1], [1], [3]], np.int32),
        np.arange(4, dtype=np.float32),
        m.ScatterDimensionNumbers((), (0,), (0,)),
    ),
    "scatter window clip": lambda m: m.scatter_add(
        X,
        np.array([[2], [-4]], np.int32),
        np.ones((2, 2, 3), np.float32),
        m.ScatterDimensionNumbers((1, 2), (), (0,)),
        mode="clip",
    ),
    "scatter window drop": lambda m: m.scatter_add(
        X,
        np.array([[2], [1]], np.int32),
        np.ones((2, 2, 3), np.float32),
        m.ScatterDimensionNumbers((1, 2), (), (0,)),
    ),
    "sort unstable": lambda m: m.sort((X[0] % 2, X[0]), is_stable=False),
    "sort complex": lambda m: m.sort(
        np.array([1 + 2j, 1 - 1j, np.nan + 0j, -1 + 5j, 1j * np.nan], np.complex64)
    ),
    "top_k axis 0": lambda m: m.top_k(X, 2, axis=0),
}


@pytest.mark.parametrize("label", list(HELPER_CASES))
def test_matches_jax(label: str) -> None:
    ours, theirs = _both(HELPER_CASES[label])
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_gather_one_hot_mode_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="ONE_HOT"):
        lax.gather(X, ROWS, _row_gather_dnums(lax), (1, 4), mode="one_hot")


def test_mode_defaults_as_jax() -> None:
    """gather defaults to PROMISE_IN_BOUNDS (no fill value); scatter to FILL_OR_DROP."""
    g = refjax.make_jaxpr(lambda x: lax.gather(x, ROWS, _row_gather_dnums(lax), (1, 4)))(X)
    s = refjax.make_jaxpr(lambda x: lax.scatter(x, ROWS, UPD, _row_scatter_dnums(lax)))(X)
    assert g.eqns[0].params["mode"] is lax.GatherScatterMode.PROMISE_IN_BOUNDS
    assert g.eqns[0].params["fill_value"] is None
    assert s.eqns[0].params["mode"] is lax.GatherScatterMode.FILL_OR_DROP
    assert s.eqns[0].params["update_jaxpr"] is None


@pytest.mark.parametrize(
    "dtype,fill", [(np.float32, np.nan), (np.int8, -128), (np.uint8, 255), (np.bool_, True)]
)
def test_gather_default_fill_values(dtype: Any, fill: Any) -> None:
    x = np.zeros(3, dtype)
    out = lax.gather(
        x, np.array([[5]], np.int32), lax.GatherDimensionNumbers((), (0,), (0,)), (1,), mode="fill"
    )
    np.testing.assert_array_equal(np.asarray(out), np.array([fill], dtype))


def test_gather_many_indices_is_fast() -> None:
    x = np.random.default_rng(0).standard_normal((1000, 16)).astype(np.float32)
    idx = np.random.default_rng(1).integers(0, 1000, (20000, 1)).astype(np.int32)
    start = time.perf_counter()
    out = lax.gather(x, idx, _row_gather_dnums(lax), (1, 16))
    scattered = lax.scatter_add(x, idx, out, _row_scatter_dnums(lax))
    assert time.perf_counter() - start < 2.0
    np.testing.assert_array_equal(np.asarray(out), x[idx[:, 0]])
    expected = x.copy()
    np.add.at(expected, idx[:, 0], x[idx[:, 0]])
    np.testing.assert_allclose(np.asarray(scattered), expected, rtol=1e-5, atol=1e-5)


def test_primitives_are_exported() -> None:
    for module in (slicing, gather_scatter, sorting):
        for name in module.__all__:
            assert getattr(lax, name) is getattr(module, name)


# ---------------------------------------------------------------------------------------------
# Properties against numpy

small_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5)


@given(st.data(), small_shapes)
def test_slice_is_numpy_basic_slicing(data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    starts = [data.draw(st.integers(0, d)) for d in shape]
    limits = [data.draw(st.integers(s, d)) for s, d in zip(starts, shape, strict=True)]
    strides = [data.draw(st.integers(1, 3)) for _ in shape]
    out = lax.slice(x, starts, limits, strides)
    window = tuple(slice(*b) for b in zip(starts, limits, strides, strict=True))
    np.testing.assert_array_equal(np.asarray(out), x[window])


@given(st.data(), small_shapes)
def test_dynamic_slice_is_clamped_slicing(data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    sizes = [data.draw(st.integers(0, d)) for d in shape]
    starts = [data.draw(st.integers(0, 9)) for _ in shape]
    out = lax.dynamic_slice(x, [np.int32(s) for s in starts], sizes)
    begin = [min(s, d - n) for s, d, n in zip(starts, shape, sizes, strict=True)]
    np.testing.assert_array_equal(
        np.asarray(out), x[tuple(slice(b, b + n) for b, n in zip(begin, sizes, strict=True))]
    )


@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
def test_row_gather_is_numpy_take(data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    idx = data.draw(
        hnp.arrays(np.int32, (data.draw(st.integers(0, 6)), 1), elements=st.integers(-3, 8))
    )
    dnums = lax.GatherDimensionNumbers(tuple(range(1, len(shape))), (0,), (0,))
    out = lax.gather(x, idx, dnums, (1, *shape[1:]), mode="clip")
    np.testing.assert_array_equal(np.asarray(out), np.take(x, idx[:, 0], 0, mode="clip"))


@given(st.data(), small_shapes)
def test_scatter_add_is_numpy_add_at(data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    n = data.draw(st.integers(0, 6))
    idx = data.draw(hnp.arrays(np.int32, (n, 1), elements=st.integers(-2, shape[0] + 1)))
    upd = np.ones((n, *shape[1:]), np.int32)
    dnums = lax.ScatterDimensionNumbers(tuple(range(1, len(shape))), (0,), (0,))
    out = lax.scatter_add(x, idx, upd, dnums)
    keep = (idx[:, 0] >= 0) & (idx[:, 0] < shape[0])
    expected = x.copy()
    np.add.at(expected, idx[keep, 0], upd[keep])
    np.testing.assert_array_equal(np.asarray(out), expected)


floats = st.sampled_from([-np.inf, -1.0, -0.0, 0.0, 0.5, np.inf, np.nan, -np.nan])


@given(
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=floats)
)
def test_float_sort_is_numpy_stable_sort(x: np.ndarray) -> None:
    """numpy's stable sort also ties -0.0 with 0.0 and puts every NaN last."""
    expected = np.sort(x, axis=-1, kind="stable")
    np.testing.assert_array_equal(np.asarray(lax.sort(x)).view(np.int32), expected.view(np.int32))


@given(
    hnp.arrays(
        np.int32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=st.integers(-3, 3)
    )
)
def test_sort_key_val_is_a_stable_argsort(keys: np.ndarray) -> None:
    values = np.arange(keys.size, dtype=np.int32).reshape(keys.shape)
    k, v = lax.sort_key_val(keys, values)
    perm = np.argsort(keys, axis=-1, kind="stable")
    np.testing.assert_array_equal(np.asarray(k), np.take_along_axis(keys, perm, -1))
    np.testing.assert_array_equal(np.asarray(v), np.take_along_axis(values, perm, -1))


# ---------------------------------------------------------------------------------------------
# Transformation rules, against real JAX (scalar losses use dot_general, so that these tests
# need no other family's rules)

F32 = np.float32


def _normal(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape).astype(F32)


def _loss(m: Any, y: Any, w: np.ndarray) -> Any:
    """``<y, w>``: a scalar from a dot_general contracting every axis."""
    dims = tuple(range(w.ndim))
    return m.dot_general(y, w, ((dims, dims), ((), ())))


def _grads(fn: Callable[..., Any], *args: Any, argnums: Any = 0) -> tuple[Any, Any]:
    """``grad(fn(m, *args))`` with refjax.lax and with jax.lax."""
    ours = refjax.grad(lambda *a: fn(lax, *a), argnums)(*args)
    theirs = jax.grad(lambda *a: fn(jax.lax, *a), argnums)(*args)
    return ours, theirs


def _assert_trees_close(ours: Any, theirs: Any, tol: float = 1e-6) -> None:
    ours_flat = ours if isinstance(ours, (tuple, list)) else [ours]
    theirs_flat = theirs if isinstance(theirs, (tuple, list)) else [theirs]
    assert len(ours_flat) == len(theirs_flat)
    for a, b in zip(ours_flat, theirs_flat, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
        if b.dtype == jax.dtypes.float0:
            continue
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_grad_through_indexing_with_duplicate_indices_accumulates() -> None:
    import refjax.numpy as rnp

    x, w = _normal(5, 3), _normal(5, 3)
    idx = np.array([0, 2, 2, 4, 2], np.int32)
    ours = refjax.grad(lambda x: rnp.tensordot(rnp.asarray(x)[idx], w, axes=2))(x)
    theirs = jax.grad(lambda x: jax.numpy.tensordot(x[idx], w, axes=2))(x)
    expected = np.zeros_like(x)
    np.add.at(expected, idx, w)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize("mode", ["clip", "fill", "promise_in_bounds"])
def test_gather_grad_is_a_scatter_add(mode: str) -> None:
    x, w = _normal(5, 3), _normal(6, 3)
    idx = np.array([[0], [2], [2], [7], [-1], [2]], np.int32)  # duplicates and out of range

    def fn(m: Any, x: Any) -> Any:
        y = m.gather(x, idx, _row_gather_dnums(m), (1, 3), mode=mode, fill_value=0.0)
        return _loss(m, y, w)

    _assert_trees_close(*_grads(fn, x))
    jaxpr = refjax.make_jaxpr(refjax.grad(lambda x: fn(lax, x)))(x)
    assert "scatter-add" in str(jaxpr)


def test_slice_transpose_pads_between_strides() -> None:
    x, w = _normal(7, 6), _normal(2, 2)

    def fn(m: Any, x: Any) -> Any:
        return _loss(m, m.slice(x, (1, 2), (6, 6), (3, 2)), w)

    ours, theirs = _grads(fn, x)
    _assert_trees_close(ours, theirs)
    expected = np.zeros_like(x)
    expected[1:6:3, 2:6:2] = w
    np.testing.assert_array_equal(np.asarray(ours), expected)


def test_dynamic_slice_and_update_grads_at_clamped_starts() -> None:
    x, u, w = _normal(6, 5), _normal(2, 3), _normal(6, 5)
    starts = (np.int32(5), np.int32(-1))  # clamped to (4, 2) and (3, 1)

    def window(m: Any, x: Any) -> Any:
        return _loss(m, m.dynamic_slice(x, starts, (3, 4)), w[:3, :4])

    def updated(m: Any, x: Any, u: Any) -> Any:
        return _loss(m, m.dynamic_update_slice(x, u, starts), w)

    _assert_trees_close(*_grads(window, x))
    _assert_trees_close(*_grads(updated, x, u, argnums=(0, 1)))


def test_sort_grad_follows_the_permutation() -> None:
    x = np.array([[3.0, -1.0, 2.0, 0.5], [0.0, 4.0, -2.0, 1.0]], F32)
    w = _normal(2, 4)
    ours, theirs = _grads(lambda m, x: _loss(m, m.sort(x), w), x)
    _assert_trees_close(ours, theirs)
    perm = np.argsort(x, axis=-1)
    expected = np.zeros_like(x)
    np.put_along_axis(expected, perm, w, axis=-1)
    np.testing.assert_array_equal(np.asarray(ours), expected)


def test_sort_jvp_with_ties_matches_jax() -> None:
    """At ties the stable permutation decides which tangent goes where, as in JAX."""
    keys = np.array([[1.0, 0.0, 1.0, -0.0, np.inf, 1.0], [2.0, 2.0, np.nan, 2.0, 0.0, np.nan]], F32)
    values, t_keys, t_values = _normal(2, 6), _normal(2, 6), _normal(3, 2, 6)[0]

    def run(m: Any, api: Any) -> Any:
        return api.jvp(lambda k, v: m.sort_key_val(k, v), (keys, values), (t_keys, t_values))

    (ours_p, ours_t), (theirs_p, theirs_t) = run(lax, refjax), run(jax.lax, jax)
    _assert_trees_close(ours_p, theirs_p)
    _assert_trees_close(ours_t, theirs_t)


def test_sort_jvp_jaxpr_gathers_along_a_sorted_iota() -> None:
    x = _normal(3, 4)
    ours = refjax.make_jaxpr(lambda x, t: refjax.jvp(lax.sort, (x,), (t,)))(x, x)
    names = [e.primitive.name for e in ours.eqns]
    assert names == ["iota", "sort", "broadcast_in_dim", "gather"]
    sort_eqn, gather_eqn = ours.eqns[1], ours.eqns[3]
    assert sort_eqn.params["num_keys"] == 1 and len(sort_eqn.invars) == 2
    dnums = gather_eqn.params["dimension_numbers"]
    assert dnums.operand_batching_dims == dnums.start_indices_batching_dims == (0,)


def test_top_k_jvp_and_vmap_match_jax() -> None:
    x = np.array([[1.0, 3.0, 3.0, -2.0, 0.0], [5.0, -1.0, 2.0, 2.0, 4.0]], F32)
    t = _normal(2, 5)
    ours = refjax.jvp(lambda x: lax.top_k(x, 3), (x,), (t,))
    theirs = jax.jvp(lambda x: jax.lax.top_k(x, 3), (x,), (t,))
    _assert_trees_close(ours[0], theirs[0])
    _assert_trees_close(ours[1], theirs[1])
    batched = np.stack([x, x[::-1]], axis=1)
    ours_v = refjax.vmap(lambda x: lax.top_k(x, 2, axis=0), in_axes=1)(batched)
    theirs_v = jax.vmap(lambda x: jax.lax.top_k(x, 2, axis=0), in_axes=1)(batched)
    _assert_trees_close(ours_v, theirs_v)


def test_scatter_with_duplicates_jvp_and_vjp_match_jax() -> None:
    """The last duplicate wins; its update (not the others) gets the tangent."""
    x, u = _normal(5, 3), _normal(6, 3)
    idx = np.array([[1], [3], [1], [1], [7], [0]], np.int32)
    tx, tu = _normal(5, 3) * 2, _normal(6, 3) * 2

    def f(m: Any) -> Callable[..., Any]:
        return lambda x, u: m.scatter(x, idx, u, _row_scatter_dnums(m))

    _assert_trees_close(refjax.jvp(f(lax), (x, u), (tx, tu)), jax.jvp(f(jax.lax), (x, u), (tx, tu)))
    ct = _normal(5, 3) * 3
    _assert_trees_close(refjax.vjp(f(lax), x, u)[1](ct), jax.vjp(f(jax.lax), x, u)[1](ct))


@pytest.mark.parametrize("name", ["scatter_min", "scatter_max"])
def test_scatter_extremal_jvp_averages_ties_as_jax(name: str) -> None:
    x = np.array([[1.0, 5.0], [2.0, 0.0], [3.0, 3.0]], F32)
    u = np.array([[1.0, 5.0], [1.0, -1.0], [3.0, 7.0], [2.0, 0.0]], F32)  # ties with x and u
    idx = np.array([[0], [0], [2], [1]], np.int32)
    tx, tu = _normal(3, 2), _normal(4, 2)

    def f(m: Any) -> Callable[..., Any]:
        return lambda x, u: getattr(m, name)(x, idx, u, _row_scatter_dnums(m))

    _assert_trees_close(refjax.jvp(f(lax), (x, u), (tx, tu)), jax.jvp(f(jax.lax), (x, u), (tx, tu)))


def test_scatter_mul_update_gradients_need_unique_indices_as_jax() -> None:
    x, u = _normal(4, 2), _normal(3, 2)
    idx = np.array([[0], [2], [0]], np.int32)

    def f(m: Any, unique: bool) -> Callable[..., Any]:
        dnums = _row_scatter_dnums(m)
        return lambda x, u: m.scatter_mul(
            x, idx[:2] if unique else idx, u, dnums, unique_indices=unique
        )

    for api, m in ((refjax, lax), (jax, jax.lax)):
        with pytest.raises(NotImplementedError, match="only implemented if `unique_indices=True`"):
            api.jvp(f(m, False), (x, u), (x, u))
    ours = refjax.jvp(lambda x: f(lax, False)(x, u), (x,), (u[:1].repeat(4, 0),))
    theirs = jax.jvp(lambda x: f(jax.lax, False)(x, u), (x,), (u[:1].repeat(4, 0),))
    _assert_trees_close(ours, theirs)
    ct = _normal(4, 2)
    _assert_trees_close(
        refjax.vjp(f(lax, True), x, u[:2])[1](ct), jax.vjp(f(jax.lax, True), x, u[:2])[1](ct)
    )


def _dynamic_slice_fn(m: Any) -> Callable[..., Any]:
    return lambda x, i, j: m.dynamic_slice(x, (i, j), (2, 3))


STARTS = (np.array([0, 4, -1, 9, 2], np.int32), np.array([1, -7, 3, 0, 2], np.int32))


def _starts(axes: tuple[int | None, ...]) -> list[np.ndarray]:
    """Five start indices per dim where batched, else the first one."""
    return [s if d is not None else s[0] for s, d in zip(STARTS, axes, strict=True)]


@pytest.mark.parametrize("in_axes", [(None, 0, 0), (None, 0, None), (0, 0, 0), (2, None, 0)])
def test_vmap_of_dynamic_slice_with_batched_starts(in_axes: tuple[int | None, ...]) -> None:
    x = _normal(6, 5, 5) if in_axes[0] == 2 else _normal(5, 6, 5)[0]
    if in_axes[0] == 0:
        x = _normal(5, 6, 5)
    args = (x, *_starts(in_axes[1:]))
    ours = refjax.vmap(_dynamic_slice_fn(lax), in_axes)(*args)
    theirs = jax.vmap(_dynamic_slice_fn(jax.lax), in_axes)(*args)
    loop = [
        _dynamic_slice_fn(lax)(
            *(a if d is None else np.take(a, k, d) for a, d in zip(args, in_axes, strict=True))
        )
        for k in range(5)
    ]
    np.testing.assert_array_equal(np.asarray(ours), np.stack([np.asarray(o) for o in loop]))
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    jaxpr = refjax.make_jaxpr(refjax.vmap(_dynamic_slice_fn(lax), in_axes))(*args)
    assert "gather" in str(jaxpr) and "transpose" not in str(jaxpr)


def test_vmap_of_dynamic_slice_with_unbatched_starts_keeps_the_batch_axis() -> None:
    x = _normal(6, 4, 5)
    ours = refjax.vmap(lambda x: lax.dynamic_slice(x, (3, 1), (2, 3)), 1)(x)
    theirs = jax.vmap(lambda x: jax.lax.dynamic_slice(x, (3, 1), (2, 3)), 1)(x)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    fn = refjax.vmap(lambda x: lax.dynamic_slice(x, (3, 1), (2, 3)), 1, out_axes=1)
    jaxpr = refjax.make_jaxpr(fn)(x)
    assert [e.primitive.name for e in jaxpr.eqns] == ["dynamic_slice"]


@pytest.mark.parametrize("in_axes", [(None, None, 0, 0), (0, 0, 0, None), (1, None, 0, 0)])
def test_vmap_of_dynamic_update_slice_with_batched_starts(in_axes: tuple[int | None, ...]) -> None:
    x = {None: _normal(6, 5), 0: _normal(5, 6, 5), 1: _normal(6, 5, 5)}[in_axes[0]]
    u = {None: _normal(2, 3), 0: _normal(5, 2, 3)}[in_axes[1]]
    args = (x, u, *_starts(in_axes[2:]))

    def fn(m: Any) -> Callable[..., Any]:
        return lambda x, u, i, j: m.dynamic_update_slice(x, u, (i, j))

    ours = refjax.vmap(fn(lax), in_axes)(*args)
    theirs = jax.vmap(fn(jax.lax), in_axes)(*args)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


GATHER_AXES = [(0, None), (1, None), (2, None), (None, 0), (None, 1), (0, 0), (1, 1), (2, 0)]


@pytest.mark.parametrize("in_axes", GATHER_AXES)
def test_vmap_of_gather_matches_jax_without_transposes(in_axes: tuple[int | None, ...]) -> None:
    """Window gathers with a batching dim; the batch axes stay where they are."""
    dnums = {
        "offset_dims": (1,),
        "collapsed_slice_dims": (0,),
        "start_index_map": (0,),
        "operand_batching_dims": (1,),
        "start_indices_batching_dims": (1,),
    }
    x_axis, i_axis = in_axes
    x = np.moveaxis(_normal(4, 5, 3, 2), 0, x_axis) if x_axis is not None else _normal(5, 3, 2)
    idx = np.random.default_rng(3).integers(0, 5, (4, 6, 3, 1)).astype(np.int32)
    idx = np.moveaxis(idx, 0, i_axis) if i_axis is not None else idx[0]

    def fn(m: Any) -> Callable[..., Any]:
        return lambda x, i: m.gather(x, i, m.GatherDimensionNumbers(**dnums), (1, 1, 2))

    ours = refjax.vmap(fn(lax), in_axes)(x, idx)
    theirs = jax.vmap(fn(jax.lax), in_axes)(x, idx)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    jaxpr = refjax.make_jaxpr(refjax.vmap(fn(lax), in_axes))(x, idx)
    operand_moves = [e for e in jaxpr.eqns[:-1] if e.primitive.name == "transpose"]
    assert not operand_moves


SCATTER_AXES = [
    (0, None, None),
    (1, None, 1),
    (None, None, 0),
    (None, None, 2),
    (0, 0, 0),
    (None, 1, None),
    (1, 0, 2),
    (2, 1, None),
]


@pytest.mark.parametrize("name", ["scatter_add", "scatter", "scatter_mul"])
@pytest.mark.parametrize("in_axes", SCATTER_AXES)
def test_vmap_of_scatter_matches_jax(name: str, in_axes: tuple[int | None, ...]) -> None:
    dnums = {
        "update_window_dims": (2,),
        "inserted_window_dims": (0,),
        "scatter_dims_to_operand_dims": (0,),
        "operand_batching_dims": (1,),
        "scatter_indices_batching_dims": (1,),
    }
    shapes = [(5, 3, 2), (6, 3, 1), (6, 3, 2)]
    rng = np.random.default_rng(4)
    values = [
        _normal(4, *shapes[0]),
        rng.integers(0, 5, (4, *shapes[1])).astype(np.int32),
        _normal(4, *shapes[2]) + 2,
    ]
    args = [
        v[0] if d is None else np.moveaxis(v, 0, d) for v, d in zip(values, in_axes, strict=True)
    ]

    def fn(m: Any) -> Callable[..., Any]:
        dn = m.ScatterDimensionNumbers(**dnums)
        return lambda x, i, u: getattr(m, name)(x, i, u, dn, mode="clip")

    ours = refjax.vmap(fn(lax), in_axes)(*args)
    theirs = jax.vmap(fn(jax.lax), in_axes)(*args)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


def test_vmap_of_sort_moves_the_sort_dimension() -> None:
    keys = np.random.default_rng(5).integers(0, 3, (4, 6)).astype(np.int32)
    values = _normal(6, 4)
    fn = lambda m: lambda k, v: m.sort((k, v), dimension=0, num_keys=1)  # noqa: E731
    ours = refjax.vmap(fn(lax), (0, 1))(keys, values)
    theirs = jax.vmap(fn(jax.lax), (0, 1))(keys, values)
    _assert_trees_close(ours, theirs)
