"""NumPy indexing: ``x[idx]``, ``x.at[idx]``, ``take`` and ``take_along_axis``.

Fixed cases compare with real JAX (values, dtypes, weak types, errors); hypothesis draws random
basic and advanced index expressions on random shapes and compares with numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import refjax
import refjax.numpy as rnp
from refjax.errors import NonConcreteBooleanIndexError
from tests.numpy.helpers import assert_values, check

CUBE = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

INDICES: list[Any] = [
    1, -1, (0, 1), (0, -1, 2), slice(None), slice(1, None), slice(None, None, -1),
    slice(None, None, 2), slice(3, 0, -2), (slice(None), 1), (Ellipsis, 1), (None, 1),
    (1, None, Ellipsis, None), (Ellipsis,), (), None, np.int32(1), np.array(1),
    np.array([0, 1]), np.array([[0, 1], [1, 0]]), (np.array([0, 1]), np.array([1, 2])),
    (slice(None), np.array([0, 2])), (np.array([0, 1]), slice(None), np.array([1, 2])),
    (np.array([0, 1]), Ellipsis, np.array([1, 2])), (0, slice(None), np.array([1, 3])),
    (slice(None, None, -1), np.array([0, 2])), (slice(None, None, 2), np.array([0, 2])),
    (np.array([1, 0]), None), (None, np.array([1, 0]), None, np.array([0, 2])),
    CUBE > 5, (CUBE[:, :, 0] > 5,), (np.array([True, False]),),
    (slice(None), np.array([True, False, True])), True, False, (0, True), (None, True),
    (np.array([-1, -2]),), (1, [0, 2]), ([0, 1], [1, 2]), (np.uint8(1),),
    (np.array([0, 1], np.uint8),), 5, (0, 7), (slice(10, 20),), (slice(-10, 2),),
    (np.array([5, -7]),), (np.zeros((0,), np.int32),), (slice(2, 1),),
    (Ellipsis, np.array([[0], [3]]), slice(None, 2)), [0, 1], [slice(None)], 1.0, "a",
    (Ellipsis, Ellipsis), (0, 0, 0, 0), np.array([1.5]), (slice(None, None, 0),), {},
    np.array([True, False, True]),
]


def _id(idx: Any) -> str:
    return repr(idx).replace("\n", "")[:40]


@pytest.mark.parametrize("idx", INDICES, ids=[_id(i) for i in INDICES])
def test_getitem_matches_jax(idx: Any) -> None:
    check(lambda m, a: m.asarray(a)[idx], CUBE)


def test_getitem_with_array_indices_matches_jax() -> None:
    check(lambda m, a: m.asarray(a)[m.asarray(1)], CUBE)
    check(lambda m, a: m.asarray(a)[m.asarray(1):], CUBE)
    check(lambda m, a: m.asarray(a)[:, m.asarray([0, 2])], CUBE)
    check(lambda m, a: m.asarray(a)[m.asarray(1.0)], CUBE)
    check(lambda m, a: m.asarray(a)[m.asarray(CUBE > 3)], CUBE)


UPDATE_INDICES: list[Any] = [
    1, (0, 1), (slice(None), 1), np.array([0, 1, 0]),
    (np.array([0, 1]), slice(None), np.array([1, 2])), (slice(None, None, -1), 0), (None, 1),
    (Ellipsis, 1), CUBE > 5, 5, np.array([3, 0]), True, (slice(None, None, 2),),
    (np.array([[0], [1]]), np.array([0, 2])), (slice(1, None), np.array([-1])),
]
UPDATE_OPS = ["set", "add", "multiply", "mul", "min", "max", "subtract", "divide", "power",
              "get"]


@pytest.mark.parametrize("op", UPDATE_OPS)
@pytest.mark.parametrize("idx", UPDATE_INDICES, ids=[_id(i) for i in UPDATE_INDICES])
def test_index_update_matches_jax(op: str, idx: Any) -> None:
    if op == "get":
        check(lambda m, a: m.asarray(a).at[idx].get(), CUBE)
        check(lambda m, a: m.asarray(a).at[idx].get(mode="fill", fill_value=-1), CUBE)
        check(lambda m, a: m.asarray(a).at[idx].get(mode="clip"), CUBE)
        check(lambda m, a: m.asarray(a).at[idx].get(mode="promise_in_bounds"), CUBE)
    else:
        check(lambda m, a: getattr(m.asarray(a).at[idx], op)(2.0), CUBE)


UPDATE_CASES: list[tuple[str, Any]] = [
    ("set row", lambda m: m.asarray(CUBE).at[0, 1].set(np.arange(4.0))),
    ("set int into int", lambda m: m.arange(6).at[0].set(7)),
    ("add duplicates", lambda m: m.zeros(3).at[np.array([0, 0, 1])].add(1.0)),
    ("max duplicates", lambda m: m.zeros(3).at[np.array([0, 0, 1])].max(np.array([1., 5., 2.]))),
    ("apply", lambda m: m.asarray(CUBE).at[0].apply(m.sin)),
    ("set list", lambda m: m.asarray(CUBE).at[0, 0].set([1, 2, 3, 4])),
    ("drop out of bounds", lambda m: m.asarray(CUBE).at[np.array([5, 0])].set(1.0)),
    ("clip out of bounds", lambda m: m.asarray(CUBE).at[np.array([5, 0])].set(1.0, mode="clip")),
    ("set static out of bounds", lambda m: m.asarray(CUBE).at[10].set(1.0)),
    ("set wrong shape", lambda m: m.asarray(CUBE).at[0].set(m.ones(5))),
    ("bad mode", lambda m: m.asarray(CUBE).at[0].get(mode="bad")),
    ("bool array add", lambda m: m.asarray(np.array([True, False])).at[0].add(True)),
    ("int array float value", lambda m: m.arange(3).at[1].add(2.5)),
    ("weak array", lambda m: m.asarray(2.0).at[()].set(3)),
    ("sorted unique flags", lambda m: m.asarray(CUBE).at[np.array([0, 1])].set(
        0.0, indices_are_sorted=True, unique_indices=True)),
    ("no wrap", lambda m: m.asarray(CUBE).at[np.array([-1])].get(wrap_negative_indices=False,
                                                                 mode="fill")),
    ("empty", lambda m: m.zeros((0, 3)).at[np.zeros((0,), np.int32)].set(1.0)),
]


@pytest.mark.parametrize("name,f", UPDATE_CASES, ids=[n for n, _ in UPDATE_CASES])
def test_index_update_cases_match_jax(name: str, f: Any) -> None:
    check(f)


TAKE_CASES: list[tuple[str, Any]] = [
    ("take flat", lambda m: m.take(CUBE, np.array([0, 2, -1, 99]))),
    ("take axis", lambda m: m.take(CUBE, np.array([[0, 2], [1, -1]]), axis=1)),
    ("take clip", lambda m: m.take(CUBE, np.array([0, 9]), axis=2, mode="clip")),
    ("take wrap", lambda m: m.take(CUBE, np.array([0, 9, -5]), axis=2, mode="wrap")),
    ("take fill value", lambda m: m.take(CUBE, np.array([0, 9]), axis=2, fill_value=0)),
    ("take empty indices", lambda m: m.take(CUBE, np.zeros((0,), np.int32), axis=1)),
    ("take scalar index", lambda m: m.take(CUBE, 1, axis=0)),
    ("take bad mode", lambda m: m.take(CUBE, 1, mode="bogus")),
    ("take method", lambda m: m.asarray(CUBE).take(np.array([0, 5]))),
    ("take_along_axis", lambda m: m.take_along_axis(CUBE[::-1], np.argsort(CUBE[::-1], axis=1),
                                                    axis=1)),
    ("take_along_axis broadcast", lambda m: m.take_along_axis(CUBE, np.zeros((1, 3, 1), int),
                                                              axis=2)),
    ("take_along_axis None", lambda m: m.take_along_axis(CUBE, np.array([0, 5, -1]), axis=None)),
    ("take_along_axis out of bounds", lambda m: m.take_along_axis(CUBE, np.full((2, 3, 1), 7),
                                                                  axis=-1)),
    ("take_along_axis float", lambda m: m.take_along_axis(CUBE, np.zeros((2, 3, 1)), axis=-1)),
    ("take_along_axis rank", lambda m: m.take_along_axis(CUBE, np.zeros((2, 3), int), axis=-1)),
]


@pytest.mark.parametrize("name,f", TAKE_CASES, ids=[n for n, _ in TAKE_CASES])
def test_take_matches_jax(name: str, f: Any) -> None:
    check(f)


def test_traced_boolean_mask_is_an_error() -> None:
    with pytest.raises(NonConcreteBooleanIndexError, match=r"Array boolean indices must be "
                                                            r"concrete; got bool\[2,3,4\]"):
        refjax.make_jaxpr(lambda x: x[x > 5])(CUBE)


def test_traced_slice_bounds_are_an_error() -> None:
    with pytest.raises(IndexError, match="Slice entries must be static integers"):
        refjax.make_jaxpr(lambda x, i: x[i:])(CUBE, np.int32(1))


def test_traced_scalar_index_is_a_dynamic_slice() -> None:
    def f(x: refjax.Array, i: refjax.Array) -> refjax.Array:
        return x[i, 1:3]

    jaxpr = refjax.make_jaxpr(f)(CUBE, np.int32(1))
    assert "dynamic_slice" in [e.primitive.name for e in jaxpr.eqns]
    for i in (0, 1, -1, 5, -9):
        expected = CUBE[min(max(i + 2 if i < 0 else i, 0), 1), 1:3]
        assert_values(np.asarray(f(rnp.asarray(CUBE), rnp.int32(i))), expected)


def test_index_dtype_errors_match_jax() -> None:
    with pytest.raises(TypeError, match="Indexer must have integer or boolean type"):
        rnp.asarray(CUBE)[1.0]
    with pytest.raises(TypeError, match="Using a non-tuple sequence for multidimensional "
                                        "indexing is not allowed"):
        rnp.asarray(CUBE)[[0, 1]]
    with pytest.raises(IndexError, match="Too many indices"):
        rnp.asarray(CUBE)[0, 0, 0, 0]
    with pytest.raises(IndexError, match="index is out of bounds for axis 0 with size 0"):
        rnp.zeros(0)[0]


def test_iteration_and_len() -> None:
    rows = list(rnp.asarray(CUBE))
    assert len(rows) == 2 and all(isinstance(r, refjax.Array) for r in rows)
    assert_values(np.asarray(rows[1]), CUBE[1])


# ---------------------------------------------------------------------------------------------
# Random index expressions against numpy


@st.composite
def index_problems(draw: st.DrawFn) -> tuple[np.ndarray, tuple[Any, ...]]:
    """A random array and a random basic/advanced index expression valid for it."""
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    k = draw(st.integers(0, ndim))  # how many axes get an explicit index
    ellipsis_at = draw(st.none() | st.integers(0, k))
    if ellipsis_at is None:
        axes = list(range(k))
    else:
        axes = list(range(ellipsis_at)) + list(range(ndim - (k - ellipsis_at), ndim))
    adv_shape = draw(st.sampled_from([(), (2,), (1, 3), (2, 1)]))
    entries: list[Any] = [draw(_entry(shape[ax], adv_shape)) for ax in axes]
    if ellipsis_at is not None:
        entries.insert(ellipsis_at, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    return x, tuple(entries)


def _entry(size: int, adv_shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    """One index entry for an axis of ``size``: an int, a slice, an int array or a mask."""
    options: list[st.SearchStrategy[Any]] = [_slices(size), _bool_masks(size)]
    if size > 0:
        options += [st.integers(-size, size - 1), _int_arrays(size, adv_shape)]
    return st.one_of(*options)


def _slices(size: int) -> st.SearchStrategy[slice]:
    bound = st.none() | st.integers(-size - 2, size + 2)
    step = st.none() | st.integers(-3, 3).filter(lambda s: s != 0)
    return st.builds(slice, bound, bound, step)


def _int_arrays(size: int, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    n = int(np.prod(shape))
    values = st.lists(st.integers(-size, size - 1), min_size=n, max_size=n)
    return values.map(lambda v: np.array(v, np.int32).reshape(shape))


def _bool_masks(size: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.booleans(), min_size=size, max_size=size).map(np.array)


@given(index_problems())
def test_random_getitem_matches_numpy(problem: tuple[np.ndarray, tuple[Any, ...]]) -> None:
    x, idx = problem
    try:
        expected = x[idx]
    except IndexError:
        assume(False)
        return
    actual = rnp.asarray(x)[idx]
    assert actual.shape == expected.shape
    assert_values(np.asarray(actual), np.asarray(expected))


@given(index_problems())
def test_random_index_add_matches_numpy(problem: tuple[np.ndarray, tuple[Any, ...]]) -> None:
    x, idx = problem
    try:
        target_shape = x[idx].shape
        expected = x.copy()
        np.add.at(expected, idx, np.float32(1.5))
    except (IndexError, ValueError, TypeError):
        assume(False)
        return
    actual = rnp.asarray(x).at[idx].add(1.5)
    assert actual.shape == x.shape and target_shape == x[idx].shape
    assert_values(np.asarray(actual), expected)


@given(index_problems())
def test_random_index_set_matches_numpy(problem: tuple[np.ndarray, tuple[Any, ...]]) -> None:
    x, idx = problem
    try:
        values = np.arange(x[idx].size, dtype=np.float32).reshape(x[idx].shape) + 100
        expected = x.copy()
        expected[idx] = values
        # Repeated positions make the winner unspecified; only compare unique targets.
        probe = np.zeros(x.shape, np.int32)
        np.add.at(probe, idx, 1)
    except (IndexError, ValueError, TypeError):
        assume(False)
        return
    assume(probe.max(initial=0) <= 1)
    actual = rnp.asarray(x).at[idx].set(values)
    assert_values(np.asarray(actual), expected)


@given(index_problems())
def test_random_getitem_traced_matches_eager(problem: tuple[np.ndarray, tuple[Any, ...]]) -> None:
    x, idx = problem
    try:
        x[idx]
    except IndexError:
        assume(False)
        return
    eager = rnp.asarray(x)[idx]
    (aval,) = refjax.make_jaxpr(lambda a: a[idx])(x).out_avals
    assert (aval.shape, aval.dtype, aval.weak_type) == (eager.shape, eager.dtype, eager.weak_type)
