"""Shape primitives: errors (class and text as JAX's), params as JAX names them, edge semantics,
and structural properties checked with hypothesis against numpy."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import refjax
from refjax import lax
from refjax.primitives import shape as shape_primitives
from tests.errors import ErrorCase, check_error_case
from tests.oracle import jax
from tests.primitives.records_shape import ref_broadcast_in_dim, ref_pad

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
X1 = np.zeros((1, 3, 4), np.float32)


def _prim(module: Any, name: str) -> Any:
    """A primitive object: jax.lax exports them, refjax keeps them in its family module."""
    return getattr(module, name, None) or getattr(shape_primitives, name)


ERRORS = [
    ErrorCase(
        "reshape size",
        lambda m: m.reshape(X, (5, 5)),
        TypeError,
        "reshape total size must be unchanged",
        same=False,
    ),
    ErrorCase(
        "reshape negative",
        lambda m: m.reshape(X, (-1, 24)),
        TypeError,
        "reshape new_sizes must all be positive, got (-1, 24).",
    ),
    ErrorCase(
        "reshape dimensions",
        lambda m: m.reshape(X, (24,), (0, 1, 1)),
        TypeError,
        "reshape dimensions must be a permutation of operand dimensions",
    ),
    ErrorCase(
        "transpose short",
        lambda m: m.transpose(X, (0, 1)),
        TypeError,
        "transpose permutation isn't a permutation of operand dimensions",
    ),
    ErrorCase(
        "transpose repeated",
        lambda m: m.transpose(X, (0, 1, 1)),
        TypeError,
        "got permutation (0, 1, 1) for operand shape (2, 3, 4).",
    ),
    ErrorCase(
        "squeeze non-1",
        lambda m: m.squeeze(X, (0,)),
        ValueError,
        "cannot select an axis to squeeze out which has size not equal to one",
    ),
    ErrorCase(
        "squeeze out of range",
        lambda m: m.squeeze(X, (3,)),
        ValueError,
        "axis 3 is out of bounds for array of dimension 3",
    ),
    ErrorCase(
        "squeeze repeated",
        lambda m: m.squeeze(X1, (0, 0)),
        ValueError,
        "dimensions are not unique: (0, 0)",
    ),
    ErrorCase(
        "squeeze_p out of range",
        lambda m: _prim(m, "squeeze_p").bind(X, dimensions=(5,)),
        ValueError,
        "dimensions outside range [0, ndim): (5,)",
    ),
    ErrorCase(
        "squeeze_p repeated",
        lambda m: _prim(m, "squeeze_p").bind(X1, dimensions=(0, 0)),
        ValueError,
        "dimensions are not unique: (0, 0)",
    ),
    ErrorCase(
        "expand_dims repeated",
        lambda m: m.expand_dims(X, (0, 0)),
        ValueError,
        "repeated axis in lax.expand_dims: (0, 0)",
    ),
    ErrorCase(
        "expand_dims repeated after canonicalizing",
        lambda m: m.expand_dims(X, (0, -5)),
        ValueError,
        "repeated axis in lax.expand_dims: [0, 0]",
    ),
    ErrorCase(
        "expand_dims out of range",
        lambda m: m.expand_dims(X, (5,)),
        ValueError,
        "axis 5 is out of bounds for array of dimension 4",
    ),
    ErrorCase(
        "rev repeated",
        lambda m: m.rev(X, (0, 0)),
        TypeError,
        "rev dimensions must be unique, got (0, 0).",
    ),
    ErrorCase(
        "rev out of range",
        lambda m: m.rev(X, (3,)),
        TypeError,
        "rev dimensions must all be less than operand ndim",
    ),
    ErrorCase(
        "rev negative",
        lambda m: m.rev(X, (-1,)),
        TypeError,
        "rev dimensions must have every element be nonnegative, got (-1,).",
    ),
    ErrorCase(
        "concatenate nothing",
        lambda m: m.concatenate([], 0),
        ValueError,
        "concatenate requires a non-empty sequences of arrays",
    ),
    ErrorCase(
        "concatenate ranks",
        lambda m: m.concatenate([X, X[0]], 0),
        TypeError,
        "Cannot concatenate arrays with different numbers of dimensions: got (2, 3, 4), (3, 4).",
    ),
    ErrorCase(
        "concatenate dimension",
        lambda m: m.concatenate([X, X], 3),
        TypeError,
        "concatenate dimension out of bounds: dimension 3 for shapes (2, 3, 4), (2, 3, 4).",
    ),
    ErrorCase(
        "concatenate negative dimension",
        lambda m: m.concatenate([X, X], -1),
        TypeError,
        "concatenate dimension out of bounds: dimension -1",
    ),
    ErrorCase(
        "concatenate shapes",
        lambda m: m.concatenate([X, X[:, :2]], 0),
        TypeError,
        "Cannot concatenate arrays with shapes that differ in dimensions other than the one "
        "being concatenated: concatenating along dimension 0 for shapes "
        "(2, 3, 4), (2, 2, 4).",
    ),
    # JAX's text adds a tip naming jnp.concatenate (needs an entry in common._JNP_EQUIVALENTS).
    ErrorCase(
        "concatenate dtypes",
        lambda m: m.concatenate([X, X.astype(np.int32)], 0),
        TypeError,
        "lax.concatenate requires arguments to have the same dtypes, got float32, int32.",
        same=False,
    ),
    ErrorCase(
        "pad config length",
        lambda m: m.pad(X, np.float32(0), [(0, 0, 0)]),
        ValueError,
        "length of padding_config must equal the number of axes of operand",
    ),
    ErrorCase(
        "pad negative size",
        lambda m: m.pad(X, np.float32(0), [(-3, 0, 0), (0, 0, 0), (0, 0, 0)]),
        ValueError,
        "Dimension size after padding is not at least 0, got result shape (-1, 3, 4)",
    ),
    ErrorCase(
        "pad negative interior",
        lambda m: m.pad(X, np.float32(0), [(0, 0, -1), (0, 0, 0), (0, 0, 0)]),
        ValueError,
        "interior padding in padding_config must be nonnegative",
    ),
    ErrorCase(
        "pad dtype",
        lambda m: m.pad(X, np.int32(0), [(0, 0, 0)] * 3),
        TypeError,
        "pad operand and padding_value must be same dtype: got float32 and int32.",
    ),
    ErrorCase(
        "pad value not scalar",
        lambda m: m.pad(X, np.zeros(2, np.float32), [(0, 0, 0)] * 3),
        ValueError,
        "padding_value must be a scalar; got np.shape(padding_value)=(2,)",
    ),
    ErrorCase(
        "iota dimension",
        lambda m: m.broadcasted_iota(np.int32, (2, 3), 2),
        ValueError,
        "iota dimension must be between 0 and len(shape), got dimension=2 for shape=(2, 3)",
    ),
    ErrorCase(
        "iota negative dimension",
        lambda m: m.broadcasted_iota(np.int32, (2, 3), -1),
        ValueError,
        "got dimension=-1",
    ),
    ErrorCase(
        "iota dtype",
        lambda m: m.iota(np.bool_, 3),
        TypeError,
        "iota does not accept dtype bool. Accepted dtypes are subtypes of integer, "
        "floating, complexfloating.",
    ),
    ErrorCase(
        "iota negative size",
        lambda m: m.iota(np.int32, -1),
        TypeError,
        "iota shape must have every element be nonnegative, got (-1,).",
    ),
    ErrorCase(
        "broadcast_in_dim size",
        lambda m: m.broadcast_in_dim(X, (2, 5, 4), (0, 1, 2)),
        TypeError,
        "broadcast_in_dim operand dimension sizes must either be 1",
    ),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.label)
def test_error_class_and_text(case: ErrorCase) -> None:
    check_error_case(case, lambda: case.call(lax), lambda: case.call(jax.lax))


def test_errors_also_raised_while_tracing() -> None:
    with pytest.raises(TypeError, match=re.escape("transpose permutation isn't a permutation")):
        refjax.make_jaxpr(lambda x: lax.transpose(x, (0, 0, 1)))(X)
    with pytest.raises(ValueError, match="Dimension size after padding is not at least 0"):
        refjax.make_jaxpr(lambda x: lax.pad(x, 0.0, [(0, -2, 0)]))(np.ones(1, np.float32))


# ---------------------------------------------------------------------------------------------
# Params are named and valued exactly as JAX's


def _only_eqn(jaxpr: Any) -> Any:
    eqns = jaxpr.eqns if hasattr(jaxpr, "eqns") else jaxpr.jaxpr.eqns
    assert len(eqns) == 1, jaxpr
    return eqns[0]


PARAM_CASES: list[tuple[str, Callable[..., Any], tuple[np.ndarray, ...]]] = [
    ("reshape", lambda m, x: m.reshape(x, (6, 4)), (X,)),
    ("reshape dims", lambda m, x: m.reshape(x, (4, 6), (2, 0, 1)), (X,)),
    ("reshape identity dims", lambda m, x: m.reshape(x, (24,), (0, 1, 2)), (X,)),
    ("squeeze", lambda m, x: m.squeeze(x, (-1, 0)), (np.ones((1, 3, 1), np.float32),)),
    ("expand_dims", lambda m, x: m.expand_dims(x, (0, 2)), (X,)),
    ("broadcast", lambda m, x: m.broadcast(x, (5,)), (X,)),
    ("transpose", lambda m, x: m.transpose(x, (2, 0, 1)), (X,)),
    ("rev", lambda m, x: m.rev(x, (0, 2)), (X,)),
    ("rev none", lambda m, x: m.rev(x, ()), (X,)),
    ("concatenate", lambda m, x: m.concatenate([x, x], 1), (X,)),
    ("pad", lambda m, x: m.pad(x, np.float32(0), [(1, 2, 0), (-1, 0, 1), (0, 0, 2)]), (X,)),
    ("iota", lambda m: m.iota(np.int32, 5), ()),
    ("broadcasted_iota", lambda m: m.broadcasted_iota(np.float32, (2, 3), 1), ()),
    ("collapse", lambda m, x: m.collapse(x, 1), (X,)),
]


def _params(params: Any) -> dict[str, Any]:
    return {k: (np.dtype(v) if isinstance(v, np.dtype) else v) for k, v in params.items()}


@pytest.mark.parametrize("label,fn,args", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_params_match_jax(label: str, fn: Callable[..., Any], args: tuple[np.ndarray, ...]) -> None:
    ours = _only_eqn(refjax.make_jaxpr(lambda *a: fn(lax, *a))(*args))
    theirs = _only_eqn(jax.make_jaxpr(lambda *a: fn(jax.lax, *a))(*args))
    assert ours.primitive.name == theirs.primitive.name
    assert _params(ours.params) == _params(theirs.params)
    assert ours.outvars[0].aval.shape == theirs.outvars[0].aval.shape


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: m.reshape(x, (2, 3, 4)),
        lambda m, x: m.transpose(x, (0, 1, 2)),
        lambda m, x: m.squeeze(x, ()),
        lambda m, x: m.expand_dims(x, ()),
        lambda m, x: m.broadcast(x, ()),
        lambda m, x: m.concatenate([x], 0),
    ],
)
def test_identity_calls_bind_nothing(fn: Callable[..., Any]) -> None:
    """JAX's wrappers hand a traced array back unchanged when the op would be the identity."""
    assert not refjax.make_jaxpr(lambda x: fn(lax, x))(X).eqns
    assert not jax.make_jaxpr(lambda x: fn(jax.lax, x))(X).eqns


def test_expand_dims_is_broadcast_in_dim() -> None:
    """JAX has no expand_dims primitive; lax.expand_dims binds broadcast_in_dim."""
    eqn = _only_eqn(refjax.make_jaxpr(lambda x: lax.expand_dims(x, (0, 2)))(X))
    assert eqn.primitive.name == "broadcast_in_dim"
    assert eqn.params["broadcast_dimensions"] == (1, 3, 4)
    assert eqn.outvars[0].aval.shape == (1, 2, 1, 3, 4)


# ---------------------------------------------------------------------------------------------
# Weak types follow JAX


def _weak(value: float) -> Callable[[Any], Any]:
    return lambda m: m.broadcast(value, (3,))


@pytest.mark.parametrize(
    "fn",
    [
        lambda m: m.reshape(_weak(1.0)(m), (3, 1)),
        lambda m: m.transpose(m.reshape(_weak(1.0)(m), (3, 1)), (1, 0)),
        lambda m: m.rev(_weak(1.0)(m), (0,)),
        lambda m: m.concatenate([_weak(1.0)(m), _weak(2.0)(m)], 0),
        lambda m: m.concatenate([_weak(1.0)(m), np.ones(2, np.float32)], 0),
        lambda m: m.pad(_weak(1.0)(m), 0.0, [(1, 1, 1)]),
        lambda m: m.pad(_weak(1.0)(m), np.float32(0), [(1, 1, 1)]),
        lambda m: m.pad(np.ones(2, np.float32), 0.0, [(1, 1, 1)]),
        lambda m: m.iota(np.float32, 3),
        lambda m: m.squeeze(m.reshape(_weak(1.0)(m), (3, 1)), (1,)),
    ],
)
def test_weak_type_matches_jax(fn: Callable[[Any], Any]) -> None:
    ours, theirs = fn(lax), fn(jax.lax)
    assert ours.weak_type == theirs.weak_type
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


# ---------------------------------------------------------------------------------------------
# Properties (expected values use numpy only)

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


@st.composite
def arrays_and_permutations(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...]]:
    """A float32 array and a permutation of its axes."""
    x = draw(hnp.arrays(np.float32, small_shapes, elements=st.floats(-10, 10, width=32)))
    perm = tuple(draw(st.permutations(range(x.ndim))))
    return x, perm


@given(arrays_and_permutations())
def test_transpose_then_inverse_is_identity(case: tuple[np.ndarray, tuple[int, ...]]) -> None:
    x, perm = case
    y = lax.transpose(x, perm)
    np.testing.assert_array_equal(np.asarray(y), np.transpose(x, perm))
    inverse = tuple(int(i) for i in np.argsort(perm))
    np.testing.assert_array_equal(np.asarray(lax.transpose(y, inverse)), x)


@st.composite
def arrays_and_factorings(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...]]:
    """An int32 array and another shape with the same number of elements."""
    x = draw(hnp.arrays(np.int32, small_shapes))
    sizes = list(x.shape)
    new: list[int] = []
    while sizes:
        take = draw(st.integers(1, len(sizes)))
        new.append(int(np.prod(sizes[:take], dtype=np.int64)))
        sizes = sizes[take:]
    ones = draw(st.lists(st.integers(0, len(new)), max_size=2))
    for position in ones:
        new.insert(position, 1)
    return x, tuple(new)


@given(arrays_and_factorings())
def test_reshape_round_trip(case: tuple[np.ndarray, tuple[int, ...]]) -> None:
    x, new_sizes = case
    y = lax.reshape(x, new_sizes)
    np.testing.assert_array_equal(np.asarray(y), x.reshape(new_sizes))
    np.testing.assert_array_equal(np.asarray(lax.reshape(y, x.shape)), x)


@given(arrays_and_permutations())
def test_reshape_with_dimensions_is_transpose_then_reshape(
    case: tuple[np.ndarray, tuple[int, ...]],
) -> None:
    x, perm = case
    y = lax.reshape(x, (x.size,), perm)
    np.testing.assert_array_equal(np.asarray(y), np.transpose(x, perm).ravel())


@st.composite
def padded(draw: st.DrawFn, negative: bool) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """An int32 array and a padding config (with negative edges when ``negative``)."""
    x = draw(hnp.arrays(np.int32, small_shapes, elements=st.integers(1, 99)))
    config = []
    for size in x.shape:
        interior = draw(st.integers(0, 2))
        dilated = 0 if size == 0 else 1 + (interior + 1) * (size - 1)
        low_min = -dilated if negative else 0
        lo = draw(st.integers(low_min, 3))
        hi = draw(st.integers(-(dilated + lo) if negative else 0, 3))
        config.append((lo, hi, interior))
    return x, config


@given(padded(negative=False))
def test_pad_then_slice_recovers_operand(
    case: tuple[np.ndarray, list[tuple[int, int, int]]],
) -> None:
    x, config = case
    y = np.asarray(lax.pad(x, np.int32(0), config))
    expected_shape = tuple(
        lo + hi + (0 if d == 0 else 1 + (i + 1) * (d - 1))
        for (lo, hi, i), d in zip(config, x.shape, strict=True)
    )
    assert y.shape == expected_shape
    index = tuple(slice(lo, y.shape[k] - hi, i + 1) for k, (lo, hi, i) in enumerate(config))
    np.testing.assert_array_equal(y[index], x)
    assert (y == 0).sum() == y.size - x.size  # every other element is padding


@given(padded(negative=True), st.integers(-5, 0))
def test_pad_matches_numpy_reference(
    case: tuple[np.ndarray, list[tuple[int, int, int]]], value: int
) -> None:
    x, config = case
    y = lax.pad(x, np.int32(value), config)
    np.testing.assert_array_equal(np.asarray(y), ref_pad(x, np.int32(value), config))


@given(hnp.arrays(np.float32, small_shapes, elements=st.floats(-10, 10, width=32)), st.data())
def test_rev_twice_is_identity(x: np.ndarray, data: st.DataObject) -> None:
    dims = tuple(sorted(data.draw(st.sets(st.integers(0, max(x.ndim - 1, 0)), max_size=x.ndim))))
    y = lax.rev(x, dims)
    np.testing.assert_array_equal(np.asarray(y), np.flip(x, dims) if dims else x)
    np.testing.assert_array_equal(np.asarray(lax.rev(y, dims)), x)


@given(
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
    st.lists(st.integers(0, 3), min_size=1, max_size=4),
    st.data(),
)
def test_concatenate_then_slice_recovers_pieces(
    shape: tuple[int, ...], sizes: list[int], data: st.DataObject
) -> None:
    axis = data.draw(st.integers(0, len(shape) - 1))
    pieces = []
    for size in sizes:
        piece_shape = (*shape[:axis], size, *shape[axis + 1 :])
        pieces.append(np.random.default_rng(size).integers(0, 9, piece_shape).astype(np.int32))
    y = np.asarray(lax.concatenate(pieces, axis))
    offset = 0
    for piece in pieces:
        index = [slice(None)] * len(shape)
        index[axis] = slice(offset, offset + piece.shape[axis])
        np.testing.assert_array_equal(y[tuple(index)], piece)
        offset += piece.shape[axis]
    assert y.shape[axis] == offset


@given(hnp.arrays(np.int32, small_shapes), st.data())
def test_squeeze_undoes_expand_dims(x: np.ndarray, data: st.DataObject) -> None:
    ndim_out = x.ndim + data.draw(st.integers(0, 2))
    new_axes = tuple(data.draw(st.permutations(range(ndim_out)))[: ndim_out - x.ndim])
    y = lax.expand_dims(x, new_axes)
    np.testing.assert_array_equal(np.asarray(y), np.expand_dims(x, new_axes))
    np.testing.assert_array_equal(np.asarray(lax.squeeze(y, new_axes)), x)


@given(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), st.data())
def test_broadcasted_iota_is_the_index(shape: tuple[int, ...], data: st.DataObject) -> None:
    dimension = data.draw(st.integers(0, len(shape) - 1))
    y = np.asarray(lax.broadcasted_iota(np.int32, shape, dimension))
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, np.indices(shape, dtype=np.int32)[dimension])


def test_iota_dtypes_are_canonicalized(x64: None) -> None:
    assert lax.iota(np.float64, 3).dtype == np.float64
    assert lax.iota(np.int64, 3).dtype == np.int64


def test_iota_dtypes_narrow_without_x64() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # JAX warns that it truncates the dtype
        expected = jax.lax.iota(np.float64, 3).dtype
    assert lax.iota(np.float64, 3).dtype == expected == np.float32


# ---------------------------------------------------------------------------------------------
# Transposes, JVPs and batching, each checked against real JAX

ArgsFn = Callable[..., Any]  # fn(lax_module, *operands)


def _vjp_both(fn: ArgsFn, *args: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The cotangents of ``args`` for one random output cotangent, from refjax and from JAX."""
    out, pullback = refjax.vjp(lambda *a: fn(lax, *a), *args)
    ct = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
    _, jax_pullback = jax.vjp(lambda *a: fn(jax.lax, *a), *args)
    return [np.asarray(c) for c in pullback(ct)], [np.asarray(c) for c in jax_pullback(ct)]


def _assert_vjp_matches_jax(fn: ArgsFn, *args: np.ndarray) -> None:
    ours, theirs = _vjp_both(fn, *args)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


PAD_CONFIGS = [
    [(2, -1, 2)],
    [(-2, 1, 0)],
    [(-3, -2, 1)],
    [(0, 0, 3)],
    [(-7, 2, 1)],
]


@pytest.mark.parametrize("config", PAD_CONFIGS, ids=str)
def test_pad_transpose_with_negative_and_interior_padding(config: list[Any]) -> None:
    """Cotangents of the operand (unpadded, strided) and the padding value (all the rest)."""
    x, v = np.arange(1, 6, dtype=np.float32), np.float32(-1.5)
    _assert_vjp_matches_jax(lambda m, a, b: m.pad(a, b, config), x, v)


@pytest.mark.parametrize(
    "config", [((1, -2, 1), (-1, 2, 2)), ((0, 0, 0), (2, 1, 0)), ((-1, 0, 1), (-2, -1, 1))], ids=str
)
def test_pad_transpose_in_two_dimensions(config: Any) -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    _assert_vjp_matches_jax(lambda m, a, b: m.pad(a, b, config), x, np.float32(2))


@pytest.mark.parametrize("config", [*PAD_CONFIGS, [(1, 1, 1)]], ids=str)
def test_pad_gradient_of_the_padding_value_alone(config: list[Any]) -> None:
    """d sum(pad(x, v)) / dv counts the padding positions left in the output (hand-counted with
    the numpy reference). JAX 0.10 fails here: its pad transpose needs the operand linear too."""
    x = np.arange(1, 6, dtype=np.float32)
    grad = refjax.grad(lambda v: lax.pad(x, v, config).sum())(np.float32(0.5))
    count = ref_pad(np.zeros(5, np.float32), np.float32(1), config).sum()
    assert float(grad) == count


def test_pad_jvp_in_the_padding_value_matches_jax() -> None:
    x, v = np.arange(4, dtype=np.float32), np.float32(1)
    config = [(1, -1, 1)]
    ours = refjax.jvp(lambda b: lax.pad(x, b, config), (v,), (np.float32(3),))[1]
    theirs = jax.jvp(lambda b: jax.lax.pad(x, b, config), (v,), (np.float32(3),))[1]
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


LINEAR_CASES: list[tuple[str, ArgsFn, tuple[np.ndarray, ...]]] = [
    ("reshape", lambda m, x: m.reshape(x, (4, 6)), (X,)),
    ("reshape dims", lambda m, x: m.reshape(x, (4, 6), (2, 0, 1)), (X,)),
    ("reshape to scalar", lambda m, x: m.reshape(x, ()), (np.ones((1, 1), np.float32),)),
    ("collapse", lambda m, x: m.collapse(x, 0, 2), (X,)),
    ("squeeze", lambda m, x: m.squeeze(x, (0,)), (X1,)),
    ("squeeze several", lambda m, x: m.squeeze(x, (0, 2)), (np.ones((1, 3, 1), np.float32),)),
    ("expand_dims", lambda m, x: m.expand_dims(x, (0, 3)), (X,)),
    ("broadcast size-1", lambda m, x: m.broadcast_in_dim(x, (2, 4, 3), (0, 2)), (X[:1, :, 0],)),
    ("broadcast new", lambda m, x: m.broadcast_in_dim(x, (5, 2, 3, 4), (1, 2, 3)), (X,)),
    ("broadcast 1->1", lambda m, x: m.broadcast_in_dim(x, (1, 3, 2), (0, 1)), (X1[:, :, 0],)),
    ("transpose", lambda m, x: m.transpose(x, (2, 0, 1)), (X,)),
    ("rev", lambda m, x: m.rev(x, (0, 2)), (X,)),
    ("concatenate", lambda m, x, y: m.concatenate([x, y, x], 1), (X, X[:, :1])),
]


@pytest.mark.parametrize("fn,args", [c[1:] for c in LINEAR_CASES], ids=[c[0] for c in LINEAR_CASES])
def test_transposes_match_jax(fn: ArgsFn, args: tuple[np.ndarray, ...]) -> None:
    _assert_vjp_matches_jax(fn, *args)


def test_concatenate_transpose_is_one_split() -> None:
    """The cotangent is split once, as JAX's rule does; only the linear operand's piece is
    used (the others print ``_``), and the program is JAX's."""
    y = np.ones((2, 2, 4), np.float32)
    _assert_vjp_matches_jax(lambda m, x: m.concatenate([y, x, y], 1), X)
    ours = refjax.make_jaxpr(refjax.grad(lambda x: lax.concatenate([y, x, y], 1).sum()))(X)
    theirs = jax.load().make_jaxpr(
        jax.load().grad(lambda x: jax.load().lax.concatenate([y, x, y], 1).sum()))(X)
    assert [e.primitive.name for e in ours.eqns].count("split") == 1
    assert str(ours) == str(theirs)


def test_broadcast_transpose_sums_then_restores_unit_axes() -> None:
    x = np.ones((1, 3), np.float32)
    grad = refjax.grad(lambda a: lax.broadcast_in_dim(a, (4, 2, 3), (0, 2)).sum())(x)
    np.testing.assert_array_equal(np.asarray(grad), np.full((1, 3), 8.0, np.float32))


# (fn on one example, in_axes per operand, out_axes where the rule leaves the batch axis)
VMAP_IN_PLACE: list[tuple[str, ArgsFn, tuple[int | None, ...], int]] = [
    ("broadcast_in_dim", lambda m, x: m.broadcast_in_dim(x, (2, 3, 4), (0, 2)), (1,), 1),
    ("broadcast front", lambda m, x: m.broadcast_in_dim(x, (4, 5, 3), (0, 2)), (0,), 0),
    ("expand_dims", lambda m, x: m.expand_dims(x, (1,)), (2,), 3),
    ("squeeze", lambda m, x: m.squeeze(x, (0,)), (2,), 1),
    ("transpose", lambda m, x: m.transpose(x, (1, 0)), (1,), 1),
    ("rev", lambda m, x: m.rev(x, (0, 1)), (1,), 1),
    ("concatenate", lambda m, x, y: m.concatenate([x, y], 1), (2, 2), 2),
    ("concatenate one", lambda m, x, y: m.concatenate([x, y], 0), (1, None), 1),
    ("pad", lambda m, x, v: m.pad(x, v, [(1, -1, 1), (0, 2, 0)]), (2, None), 2),
    ("reshape front", lambda m, x: m.reshape(x, (12,)), (0,), 0),
]
VB = np.random.default_rng(2).standard_normal((2, 4, 3)).astype(np.float32)
VMAP_ARGS: dict[str, tuple[np.ndarray, ...]] = {
    "broadcast_in_dim": (VB[:, :, :1],),
    "squeeze": (VB[:1],),
    "concatenate one": (VB[0], np.ones(2, np.float32)),
    "pad": (VB, np.float32(7)),
}


@pytest.mark.parametrize(
    "label,fn,in_axes,out_axes", VMAP_IN_PLACE, ids=[c[0] for c in VMAP_IN_PLACE]
)
def test_vmap_keeps_the_batch_axis_in_place(
    label: str, fn: ArgsFn, in_axes: tuple[int | None, ...], out_axes: int
) -> None:
    """No transposes added to the batched jaxpr, and the same values as JAX's vmap."""
    args = VMAP_ARGS.get(label, (VB,) * len(in_axes))
    batched = refjax.vmap(lambda *a: fn(lax, *a), in_axes=in_axes, out_axes=out_axes)
    names = [e.primitive.name for e in refjax.make_jaxpr(batched)(*args).eqns]
    assert names.count("transpose") == (label == "transpose")
    expected = jax.vmap(lambda *a: fn(jax.lax, *a), in_axes=in_axes, out_axes=out_axes)(*args)
    np.testing.assert_array_equal(np.asarray(batched(*args)), np.asarray(expected))


@pytest.mark.parametrize("in_axes,sizes", [(1, (3, 2)), (2, (8,)), (2, (4, 2))])
def test_vmap_reshape_folds_the_batch_move_into_dimensions(
    in_axes: int, sizes: tuple[int, ...]
) -> None:
    """Row-major reshape needs the batch axis first: reshape's own ``dimensions`` puts it there."""
    batched = refjax.vmap(lambda x: lax.reshape(x, sizes), in_axes=in_axes)
    jaxpr = refjax.make_jaxpr(batched)(VB)
    assert [e.primitive.name for e in jaxpr.eqns] == ["reshape"]
    expected = jax.vmap(lambda x: jax.lax.reshape(x, sizes), in_axes=in_axes)(VB)
    np.testing.assert_array_equal(np.asarray(batched(VB)), np.asarray(expected))


@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (1, 0)])
def test_vmap_pad_with_a_batched_padding_value(in_axes: tuple[int | None, int]) -> None:
    x, v = VB[0], np.array([1.0, -2.0, 3.0, 0.5], np.float32)
    if in_axes[0] == 0:
        x = VB[:, :, 0].T.copy()  # 4 examples of shape (2,)
    elif in_axes[0] == 1:
        x = VB[:, :, 0].copy()  # batch of 4 along axis 1
    config = [(1, -1, 1)] if x.ndim - (in_axes[0] is not None) == 1 else [(1, -1, 1), (0, 1, 0)]

    def run(m: Any) -> Any:
        vmap = refjax.vmap if m is lax else jax.vmap
        return vmap(lambda a, b: m.pad(a, b, config), in_axes=in_axes)(x, v)

    np.testing.assert_array_equal(np.asarray(run(lax)), np.asarray(run(jax.lax)))


@given(padded(negative=True), st.data())
def test_pad_transpose_is_the_adjoint_of_the_numpy_reference(
    case: tuple[np.ndarray, list[tuple[int, int, int]]], data: st.DataObject
) -> None:
    """``<pad(x, v), c> == <x, c_x> + v c_v`` for the cotangents ``(c_x, c_v)`` of any ``c``:
    ``c_x`` must be ``pad``'s adjoint on the operand and ``c_v`` the sum over padding positions."""
    x = case[0].astype(np.float32)
    config = case[1]
    out_shape = ref_pad(x, np.float32(0), config).shape
    c = data.draw(hnp.arrays(np.float32, out_shape, elements=st.integers(-9, 9).map(float)))
    _, pullback = refjax.vjp(lambda a, b: lax.pad(a, b, config), x, np.float32(0))
    c_x, c_v = (np.asarray(t) for t in pullback(c))
    assert c_x.shape == x.shape
    np.testing.assert_array_equal(np.vdot(ref_pad(x, np.float32(0), config), c), np.vdot(x, c_x))
    padding_positions = ref_pad(np.zeros_like(x), np.float32(1), config)
    assert float(c_v) == np.vdot(padding_positions, c)


@given(st.integers(0, 3), st.data())
def test_broadcast_in_dim_transpose_is_the_adjoint(rank: int, data: st.DataObject) -> None:
    """``<broadcast(x), c> == <x, broadcast^T(c)>``, with size-1 axes stretched and new axes."""
    out_ndim = data.draw(st.integers(rank, rank + 2))
    dims = sorted(data.draw(st.permutations(range(out_ndim)))[:rank])
    out_shape = tuple(data.draw(st.integers(0, 3)) for _ in range(out_ndim))
    operand_shape = tuple(1 if data.draw(st.booleans()) else out_shape[d] for d in dims)
    x = np.arange(int(np.prod(operand_shape)), dtype=np.float32).reshape(operand_shape)
    c = data.draw(hnp.arrays(np.float32, out_shape, elements=st.integers(-9, 9).map(float)))
    _, pullback = refjax.vjp(lambda a: lax.broadcast_in_dim(a, out_shape, dims), x)
    c_x = np.asarray(pullback(c)[0])
    assert c_x.shape == x.shape
    assert np.vdot(ref_broadcast_in_dim(x, out_shape, dims), c) == np.vdot(x, c_x)
