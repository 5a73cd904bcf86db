"""The ``jax.lax`` functions of ``refjax/primitives/lax_extras.py`` and ``lax.linalg.eig``
against real ``jax.lax``: values, dtypes, weak types and errors (same class); jaxpr text; ``jit``;
derivatives against JAX's and against finite differences (``check_grads``); ``vmap`` against a
loop of JAX's function; and the numpy implementations against independent numpy references.

The functions are taken from their modules (``OURS``: those first, then ``refjax.lax``), so
these tests run before the names are exported from ``refjax.lax``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import lax as refjax_lax
from refjax.test_util import check_grads
from tests.errors import raised
from tests.numpy.helpers import assert_same, jax_prim_names, refjax_prim_names
from tests.oracle import jax

OURS: Any = refjax_lax  # (every name tested here is public there)


def jlax() -> Any:
    """Real ``jax.lax`` (the test skips without JAX)."""
    return jax.load().lax


def check_lax(f: Callable[..., Any], *args: Any, tol: float | None = None) -> Any:
    """``f(OURS, *args)`` matches ``f(jax.lax, *args)`` (or both raise the same class)."""
    try:
        theirs = f(jlax(), *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(OURS, *args), type(err))
        return None
    ours = f(OURS, *args)
    assert_same(ours, theirs, tol)
    return ours


def _add(a: Any, b: Any) -> Any:
    return a + b


def _mul(a: Any, b: Any) -> Any:
    return a * b


def _pair(a: Any, b: Any) -> Any:
    """A computation on (sum, product) pairs."""
    return a[0] + b[0], a[1] * b[1]


def _argmax_pair(m: Any) -> Callable[[Any, Any], Any]:
    """(value, index) pairs: the greater value wins, the first index on ties."""

    def comp(a: Any, b: Any) -> Any:
        (av, ai), (bv, bi) = a, b
        pick = m.bitwise_or(m.gt(bv, av), m.bitwise_and(m.eq(bv, av), m.lt(bi, ai)))
        return m.select(pick, bv, av), m.select(pick, bi, ai)

    return comp


X = np.arange(12, dtype=np.float32).reshape(3, 4) / 3 - 1
XI = np.arange(12, dtype=np.int32).reshape(3, 4)
F = np.float32([1.5, -2.25, 3e-5, 7e4, np.inf, -np.inf, np.nan, 1 / 3, 65519, 65520, 6e-5,
                6.1e-5, 1e-8, -0.0, 2.5, 3.5])
with np.errstate(over="ignore"):
    F16 = F.astype(np.float16)  # (7e4 and up overflow to inf)
INTS = np.array([-128, -1, 0, 5, 127, 100, 77], np.int64)
INTS2 = np.array([127, -128, 9, 3, 127, -7, -77], np.int64)



def _mulhi_case(dt: type[np.integer[Any]]) -> Callable[[Any], Any]:
    return lambda m: m.mulhi(INTS.astype(dt), INTS2.astype(dt))


def _reduce_precision_case(exponent_bits: int, mantissa_bits: int) -> Callable[[Any], Any]:
    return lambda m: m.reduce_precision(F, exponent_bits, mantissa_bits)


CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    # full, full_like, empty
    ("full", lambda m: m.full((2, 3), 1.0), ()),
    ("full int shape", lambda m: m.full(3, 1.0), ()),
    ("full dtype", lambda m: m.full((2,), 1.0, np.int32), ()),
    ("full numpy scalar", lambda m: m.full((2,), np.float64(1.5)), ()),
    ("full bool", lambda m: m.full((2,), True), ()),
    ("full scalar shape", lambda m: m.full((), 2), ()),
    ("full array fill", lambda m, x: m.full((2,), x[0, 0]), (X,)),
    ("full list", lambda m: m.full((2,), [1, 2]), ()),
    ("full float shape", lambda m: m.full((2.0,), 1), ()),
    ("full negative shape", lambda m: m.full((-1,), 1), ()),
    ("full_like", lambda m, x: m.full_like(x, 2), (X,)),
    ("full_like weak", lambda m: m.full_like(2.0, 2), ()),
    ("full_like dtype", lambda m: m.full_like(2.0, 2, np.int32), ()),
    ("full_like shape", lambda m: m.full_like(np.ones(3, np.int8), 2.7, shape=(2, 2)), ()),
    ("full_like numpy", lambda m: m.full_like(np.ones(3), 2), ()),
    ("full_like list", lambda m: m.full_like([1, 2], 2), ()),
    ("empty", lambda m: m.empty((2, 3), np.float32), ()),
    ("empty int shape", lambda m: m.empty(3, np.int32), ()),
    # complex
    ("complex", lambda m, x: m.complex(x, x[::-1]), (X,)),
    ("complex python", lambda m: m.complex(1.0, 2.0), ()),
    ("complex broadcast", lambda m, x: m.complex(x, np.float32(2)), (X,)),
    ("complex ints", lambda m: m.complex(1, 2), ()),
    ("complex of complex", lambda m: m.complex(np.complex64(1), np.complex64(2)), ()),
    ("complex shapes", lambda m: m.complex(np.ones(3, np.float32), np.ones(2, np.float32)), ()),
    ("complex ranks", lambda m: m.complex(np.ones(3, np.float32), np.ones((1, 3), np.float32)),
     ()),
    # mulhi
    *[(f"mulhi {dt.__name__}", _mulhi_case(dt), ())
      for dt in (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32)],
    ("mulhi python", lambda m: m.mulhi(70000, 90000), ()),
    ("mulhi floats", lambda m: m.mulhi(1.0, 3.0), ()),
    ("mulhi mixed", lambda m: m.mulhi(np.int32(1), np.int8(3)), ()),
    # reduce_precision
    *[(f"reduce_precision {e} {mb}", _reduce_precision_case(e, mb), ())
      for e, mb in ((5, 10), (8, 7), (4, 3), (2, 0), (1, 1), (8, 23), (11, 52), (3, 30))],
    ("reduce_precision float16", lambda m: m.reduce_precision(F16, 4, 3), ()),
    ("reduce_precision python", lambda m: m.reduce_precision(3.3, 5, 2), ()),
    ("reduce_precision ints", lambda m: m.reduce_precision(np.int32(3), 5, 2), ()),
    ("reduce_precision int, bad bits", lambda m: m.reduce_precision(np.int32(3), 0, 1), ()),
    ("reduce_precision exponent", lambda m: m.reduce_precision(F, 0, 1), ()),
    ("reduce_precision mantissa", lambda m: m.reduce_precision(F, 2, -1), ()),
    ("reduce_precision float bits", lambda m: m.reduce_precision(F, 5.0, 2), ()),
    # optimization_barrier
    ("optimization_barrier", lambda m, x: m.optimization_barrier((1.0, np.int32(2), x)), (X,)),
    ("optimization_barrier one", lambda m, x: m.optimization_barrier(x), (X,)),
    ("optimization_barrier nested", lambda m, x: m.optimization_barrier([x, (x[0], [2])]), (X,)),
    # shapes
    ("broadcast_to_rank", lambda m, x: m.broadcast_to_rank(x, 4), (X,)),
    ("broadcast_to_rank python", lambda m: m.broadcast_to_rank(1.0, 2), ()),
    ("broadcast_to_rank same", lambda m, x: m.broadcast_to_rank(x, 2), (X,)),
    ("broadcast_like", lambda m, x: m.broadcast_like(x[0], x), (X,)),
    ("broadcast_like scalar", lambda m, x: m.broadcast_like(2.0, x), (X,)),
    ("batch_matmul", lambda m: m.batch_matmul(np.arange(24, dtype=np.float32).reshape(2, 3, 4),
                                              np.ones((2, 4, 5), np.float32)), ()),
    ("batch_matmul 1d", lambda m: m.batch_matmul(np.ones(3), np.ones(3)), ()),
    ("batch_matmul ranks", lambda m: m.batch_matmul(np.ones((2, 3, 4)), np.ones((4, 5))), ()),
    ("index_take", lambda m, x: m.index_take(x, (np.int32([0, -1]), np.int32([1, 5])), (0, 1)),
     (X,)),
    ("index_take one axis", lambda m: m.index_take(
        np.arange(24).reshape(2, 3, 4), (np.int32([0, 2, 4]),), (1,)), ()),
    # reduce
    ("reduce sum", lambda m, x: m.reduce(x, np.float32(0), _add, (0,)), (X,)),
    ("reduce from one", lambda m, x: m.reduce(x, np.float32(1), _add, (0, 1)), (X,)),
    ("reduce non-commutative", lambda m: m.reduce(np.arange(12.0).reshape(3, 4), 100.0,
                                                  lambda a, b: a - b, (0,)), ()),
    ("reduce in order", lambda m: m.reduce(np.arange(5.0), 0.0, lambda a, b: a * 2 + b, (0,)),
     ()),
    ("reduce pairs", lambda m, x: m.reduce((x, x + 2), (np.float32(0), np.float32(1)), _pair,
                                           (1,)), (X,)),
    ("reduce argmax", lambda m, x, i: m.reduce((x, i), (np.float32(-np.inf), np.int32(0)),
                                               _argmax_pair(m), (1,)), (X[:, ::-1], XI)),
    ("reduce no dims", lambda m, x: m.reduce(x, np.float32(5), _add, ()), (X,)),
    ("reduce empty", lambda m: m.reduce(np.ones((0, 4), np.float32), np.float32(2), _add, (0,)),
     ()),
    ("reduce weak", lambda m: m.reduce(1.0, 2.0, _mul, ()), ()),
    ("reduce monoid sum", lambda m, x: m.reduce(x, 0.0, m.add, (1,)), (X,)),
    ("reduce monoid ints", lambda m, i: m.reduce(i, 0, m.add, (1,)), (XI,)),
    ("reduce monoid max", lambda m, x: m.reduce(x, -np.inf, m.max, (0,)), (X,)),
    ("reduce monoid min", lambda m, i: m.reduce(i, np.iinfo(np.int32).max, m.min, (0,)), (XI,)),
    ("reduce monoid prod", lambda m, x: m.reduce(x, 1.0, m.mul, (0,)), (X,)),
    ("reduce monoid or", lambda m, i: m.reduce(i, 0, m.bitwise_or, (0,)), (XI,)),
    ("reduce monoid and", lambda m, i: m.reduce(i, -1, m.bitwise_and, (1,)), (XI,)),
    ("reduce monoid xor", lambda m, i: m.reduce(i, 0, m.bitwise_xor, (1,)), (XI,)),
    ("reduce monoid weak", lambda m: m.reduce(2.0, 0.0, m.add, ()), ()),
    ("reduce lax add from one", lambda m, x: m.reduce(x, 1.0, m.add, (0,)), (X,)),
    ("reduce tree", lambda m, x: m.reduce((x,), [1.0], _add, (0,)), (X,)),
    ("reduce count", lambda m, x: m.reduce((x, x), (1.0,), _add, (0,)), (X,)),
    ("reduce init shape", lambda m, x: m.reduce(x, np.ones(2, np.float32), _mul, (0,)), (X,)),
    ("reduce init dtype", lambda m, x: m.reduce(x, 1, _mul, (0,)), (X,)),
    ("reduce dims", lambda m, x: m.reduce(x, np.float32(0), _mul, (2,)), (X,)),
    ("reduce negative dims", lambda m, x: m.reduce(x, np.float32(0), _mul, (-1,)), (X,)),
    ("reduce operand shapes", lambda m, x: m.reduce((x, x[0]), (np.float32(0), np.float32(0)),
                                                    _pair, (0,)), (X,)),
    ("reduce bad result", lambda m, x: m.reduce(x, np.float32(0), lambda a, b: (a, b), (0,)),
     (X,)),
    ("reduce bad result dtype", lambda m, x: m.reduce(
        x, np.float32(0), lambda a, b: m.convert_element_type(a * b, np.int32), (0,)), (X,)),
    # associative_scan
    ("associative_scan add", lambda m: m.associative_scan(m.add, np.arange(7.0)), ()),
    ("associative_scan mul reverse", lambda m: m.associative_scan(
        _mul, np.arange(1.0, 8.0).reshape(7, 1), reverse=True), ()),
    ("associative_scan axis", lambda m, x: m.associative_scan(m.max, x, axis=1), (X,)),
    ("associative_scan negative axis", lambda m, x: m.associative_scan(_add, x, axis=-2), (X,)),
    ("associative_scan pytree", lambda m, x: m.associative_scan(_pair, (x, x + 1)), (X,)),
    ("associative_scan bool", lambda m: m.associative_scan(
        m.bitwise_or, np.array([False, False, True, False, False])), ()),
    ("associative_scan lengths", lambda m, x: m.associative_scan(_pair, (x, x[:2])), (X,)),
    ("associative_scan not callable", lambda m, x: m.associative_scan(1, x), (X,)),
    # eig (real eigenvalues: LAPACK's order)
    ("eigvals", lambda m: m.linalg.eig(np.float32([[1, 2, 0], [3, 1, 1], [0, 1, 4]]),
                                       compute_left_eigenvectors=False,
                                       compute_right_eigenvectors=False), ()),
    ("eig not square", lambda m: m.linalg.eig(np.ones((2, 3), np.float32)), ()),
    ("eig rank 1", lambda m: m.linalg.eig(np.ones(3, np.float32)), ()),
    ("eig ints", lambda m: m.linalg.eig(np.ones((2, 2), np.int32)), ()),
]
EIG_TOL = {"eigvals": 2e-5}


@pytest.mark.parametrize("name,f,args", CASES, ids=[c[0] for c in CASES])
def test_matches_jax(name: str, f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    check_lax(f, *args, tol=EIG_TOL.get(name))


X64_CASES: list[tuple[str, Callable[..., Any]]] = [
    ("mulhi int64", lambda m: m.mulhi(INTS * 10**15, INTS2 * 7 * 10**14)),
    ("mulhi uint64", lambda m: m.mulhi(np.abs(INTS).astype(np.uint64) * np.uint64(2**56),
                                       np.abs(INTS2).astype(np.uint64) * np.uint64(3**35))),
    ("reduce_precision float64", lambda m: m.reduce_precision(F.astype(np.float64) / 3, 8, 23)),
    ("reduce_precision float64 narrow", lambda m: m.reduce_precision(F.astype(np.float64), 5, 10)),
    ("complex float64", lambda m: m.complex(np.float64(1.5), np.float64(-2))),
    ("full", lambda m: m.full((2,), 1.0)),
    ("full_like", lambda m: m.full_like(np.ones(2, np.float32), 2.5, np.float64)),
    ("empty", lambda m: m.empty((2,), np.float64)),
    ("reduce", lambda m: m.reduce(np.arange(6.0).reshape(2, 3), 0.0, _add, (1,))),
]


@pytest.mark.parametrize("f", [c[1] for c in X64_CASES], ids=[c[0] for c in X64_CASES])
def test_matches_jax_x64(f: Callable[..., Any], x64: None) -> None:
    check_lax(f)


@pytest.mark.parametrize("value", [3, 1.5, np.float64(2), np.int16(1), np.float32, "int8", int,
                                   float, complex, bool, np.dtype("uint8"), np.ones(2),
                                   np.ones(2, np.int8), None, [1, 2], True])
def test_dtype_matches_jax(value: Any) -> None:
    try:
        theirs = jlax().dtype(value)
    except Exception as err:
        raised(lambda: OURS.dtype(value), type(err))
        return
    assert OURS.dtype(value) == theirs


def test_dtype_of_arrays() -> None:
    assert OURS.dtype(refjax.numpy.ones(2, np.int8)) == np.dtype(np.int8)


@pytest.mark.parametrize("shapes", [((1, 3), (2, 1)), ((3,), (2, 1), ()), ((2, 3),), ((),),
                                    ((3,), (2,)), ((0, 1), (3,)), ((4, 1), (4, 1)), ()])
def test_broadcast_shapes_matches_jax(shapes: tuple[tuple[int, ...], ...]) -> None:
    try:
        theirs = jlax().broadcast_shapes(*shapes)
    except Exception as err:
        raised(lambda: OURS.broadcast_shapes(*shapes), type(err))
        return
    assert OURS.broadcast_shapes(*shapes) == tuple(theirs)


def test_associative_scan_of_fewer_than_two_elements_is_the_input() -> None:
    """JAX returns the input object itself (here a numpy array); refjax returns it as an
    Array, with the same values."""
    for x in (X[:1], np.ones((0, 2), np.float32)):
        ours = OURS.associative_scan(_add, x)
        assert isinstance(ours, refjax.Array)
        assert_same(ours, jax.load().numpy.asarray(jlax().associative_scan(_add, x)))


def test_empty_values_are_zeros_as_on_cpu() -> None:
    assert not np.asarray(OURS.empty((3, 2), np.float32)).any()


# ---------------------------------------------------------------------------------------------
# jaxprs


JAXPR_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("complex", lambda m: lambda x, y: m.complex(x, y), (X, X)),
    ("mulhi", lambda m: lambda x, y: m.mulhi(x, y), (XI, XI)),
    ("reduce_precision", lambda m: lambda x: m.reduce_precision(x, 5, 10), (X,)),
    ("optimization_barrier", lambda m: lambda x: m.optimization_barrier((x, x * 2)), (X,)),
    ("full", lambda m: lambda x: m.full((2, 3), x), (np.float32(1),)),
    ("full_like", lambda m: lambda x: m.full_like(x, 3), (X,)),
    ("empty", lambda m: lambda: m.empty((2,), np.dtype(np.float32)), ()),
    ("reduce", lambda m: lambda x: m.reduce(x, np.float32(1), _add, (0,)), (X,)),
    ("reduce pairs", lambda m: lambda x: m.reduce((x, x), (np.float32(0), np.float32(1)), _pair,
                                                  (1,)), (X,)),
    ("reduce monoid", lambda m: lambda x: m.reduce(x, -np.inf, m.max, (0,)), (X,)),
    ("batch_matmul", lambda m: lambda a, b: m.batch_matmul(a, b),
     (np.ones((2, 3, 4), np.float32), np.ones((2, 4, 5), np.float32))),
    ("broadcast_to_rank", lambda m: lambda x: m.broadcast_to_rank(x, 3), (X,)),
    ("index_take", lambda m: lambda x, i: m.index_take(x, (i,), (0,)), (X, np.int32([1, 0]))),
    ("eig", lambda m: lambda a: m.linalg.eig(a), (np.eye(2, dtype=np.float32),)),
    ("eigvals", lambda m: lambda a: m.linalg.eig(a, compute_left_eigenvectors=False,
                                                 compute_right_eigenvectors=False),
     (np.eye(2, dtype=np.float32),)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in JAXPR_CASES], ids=[c[0] for c in JAXPR_CASES])
def test_jaxpr_text_matches_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    ours = str(refjax.make_jaxpr(f(OURS))(*args))
    theirs = str(jax.make_jaxpr(f(jlax()))(*args))
    assert ours == theirs


def test_associative_scan_primitives_match_jax() -> None:
    for n in (1, 2, 5, 8):
        x = np.arange(float(n), dtype=np.float32)
        for reverse in (False, True):
            ours = refjax_prim_names(
                lambda y, r=reverse: OURS.associative_scan(_add, y, reverse=r), x)
            theirs = jax_prim_names(
                lambda y, r=reverse: jlax().associative_scan(_add, y, reverse=r), x)
            assert ours == theirs


def test_linearized_reduce_matches_jax() -> None:
    def f(m: Any) -> Callable[..., Any]:
        return lambda x, t: jax_or_refjax(m).jvp(
            lambda y: m.reduce(y, np.float32(0), _add, (0,)), (x,), (t,))

    assert str(refjax.make_jaxpr(f(OURS))(X, X)) == str(jax.make_jaxpr(f(jlax()))(X, X))


def jax_or_refjax(m: Any) -> Any:
    """The API module that goes with a lax namespace."""
    return refjax if m is OURS else jax.load()


# ---------------------------------------------------------------------------------------------
# Transformations


JIT_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("complex", lambda m, x, y: m.complex(x, y), (X, X[::-1])),
    ("mulhi", lambda m, x, y: m.mulhi(x, y), (XI * 100000, XI * 7 - 40)),
    ("reduce_precision", lambda m, x: m.reduce_precision(x * 1000, 5, 3), (X,)),
    ("optimization_barrier", lambda m, x: m.optimization_barrier((x, x * 2)), (X,)),
    ("full", lambda m, x: m.full((2, 3), x), (np.float32(1.5),)),
    ("full_like", lambda m, x: m.full_like(x, 2.5), (X,)),
    ("reduce", lambda m, x: m.reduce((x, x + 2), (np.float32(0), np.float32(1)), _pair, (0,)),
     (X,)),
    ("reduce argmax", lambda m, x, i: m.reduce((x, i), (np.float32(-np.inf), np.int32(0)),
                                               _argmax_pair(m), (0,)), (X, XI)),
    ("associative_scan", lambda m, x: m.associative_scan(_mul, x, axis=1), (X,)),
    ("index_take", lambda m, x, i: m.index_take(x, (i, i), (0, 1)), (X, np.int32([2, -1, 5]))),
    ("batch_matmul", lambda m, a: m.batch_matmul(a, a.transpose(0, 2, 1)),
     (np.arange(24, dtype=np.float32).reshape(2, 3, 4),)),
    ("eigvals", lambda m, a: m.linalg.eig(a, compute_left_eigenvectors=False,
                                          compute_right_eigenvectors=False)[0],
     (np.float32([[1, 2, 0], [3, 1, 1], [0, 1, 4]]),)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in JIT_CASES], ids=[c[0] for c in JIT_CASES])
def test_jit_matches_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    ours = refjax.jit(lambda *a: f(OURS, *a))(*args)
    theirs = jax.jit(lambda *a: f(jlax(), *a))(*args)
    assert_same(ours, theirs, 2e-5)


GRAD_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("complex", lambda m, x, y: m.real(m.complex(x, y) * m.complex(y, x ** 2)).sum(), (X, X + 2)),
    ("complex broadcast", lambda m, x: m.imag(m.complex(x, np.float32(2)) ** 2).sum(), (X,)),
    ("complex python", lambda m, x: m.real(m.complex(x, 1.0) * m.complex(1.0, x)), (1.5,)),
    ("reduce_precision", lambda m, x: (m.reduce_precision(x * 3, 5, 2) ** 2).sum(), (X,)),
    ("optimization_barrier", lambda m, x: (m.optimization_barrier((x, 2 * x))[1] ** 2).sum(),
     (X,)),
    ("full", lambda m, x: (m.full((3,), x) * np.float32([1, 2, 3])).sum(), (np.float32(2),)),
    ("full_like", lambda m, x: m.full_like(X, x).sum(), (np.float32(2),)),
    ("reduce product", lambda m, x: m.reduce(x, np.float32(1), _mul, (1,)).sum(), (X + 2,)),
    ("reduce pairs", lambda m, x: m.reduce((x, x), (np.float32(0), np.float32(1)), _pair,
                                           (0,))[1].sum(), (X + 2,)),
    ("reduce not associative", lambda m, x: m.reduce(x, np.float32(0),
                                                     lambda a, b: a + b * 3, (0,)).sum(), (X,)),
    ("reduce empty", lambda m, x: m.reduce(x[:0], np.float32(1), _mul, (0,)).sum(), (X,)),
    ("reduce no dims", lambda m, x: m.reduce(x, np.float32(1), _mul, ()).sum(), (X,)),
    ("associative_scan", lambda m, x: m.associative_scan(_mul, x, axis=1).sum(), (X,)),
    ("associative_scan reverse", lambda m, x: (m.associative_scan(_add, x, reverse=True) ** 2)
     .sum(), (X,)),
    ("index_take", lambda m, x: (m.index_take(x, (np.int32([0, 2, 2]),), (0,)) ** 2).sum(), (X,)),
    ("batch_matmul", lambda m, a: m.batch_matmul(a, a.transpose(0, 2, 1)).sum(),
     (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 10,)),
    ("eigvals", lambda m, a: m.real(m.linalg.eig(a, compute_left_eigenvectors=False,
                                                 compute_right_eigenvectors=False)[0] ** 2)
     .sum(), (np.float32([[1, 2, 0], [3, 1, 1], [0, 1, 4]]),)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES])
def test_grad_matches_jax(f: Callable[..., Any], args: tuple[Any, ...]) -> None:
    ours = refjax.grad(lambda *a: f(OURS, *a))(*args)
    theirs = jax.grad(lambda *a: f(jlax(), *a))(*args)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=2e-5)


def test_reduce_gradient_through_an_integer_operand() -> None:
    """JAX's rule fails here (it reshapes a symbolic zero tangent); the gradient of the winning
    value of an argmax reduction is 1 at the winner."""
    x = np.float32([[1, 5, 2], [7, 0, 7]])
    i = np.broadcast_to(np.arange(3, dtype=np.int32), x.shape)
    g = refjax.grad(lambda y: OURS.reduce((y, i), (np.float32(-np.inf), np.int32(0)),
                                          _argmax_pair(OURS), (1,))[0].sum())(x)
    np.testing.assert_array_equal(np.asarray(g), [[0, 1, 0], [1, 0, 0]])


def test_reduce_with_a_tangent_on_the_initial_value_raises_as_jax() -> None:
    def f(m: Any, api: Any) -> Any:
        return api.grad(lambda v: m.reduce(X, v, _add, (0,)).sum())(np.float32(1))

    raised(lambda: f(OURS, refjax), NotImplementedError)
    raised(lambda: f(jlax(), jax.load()), NotImplementedError)


def test_reduce_cannot_close_over_tracers() -> None:
    def f(m: Any, api: Any) -> Any:
        return api.jit(lambda x, y: m.reduce(x, np.float32(0), lambda a, b: a + b * y, (0,)))(
            X, np.float32(2))

    raised(lambda: f(OURS, refjax), NotImplementedError)
    raised(lambda: f(jlax(), jax.load()), NotImplementedError)


def test_eigenvector_derivatives_need_opting_in_as_jax() -> None:
    a = np.float32([[1, 2, 0], [3, 1, 1], [0, 1, 4]])
    raised(lambda: refjax.jvp(lambda y: OURS.linalg.eig(y), (a,), (a,)), NotImplementedError)
    raised(lambda: jax.jvp(lambda y: jlax().linalg.eig(y), (a,), (a,)), NotImplementedError)


def _aligned(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The phase that turns each column of ``v`` into the matching column of ``ref``."""
    return np.sum(np.conj(v) * ref, axis=-2, keepdims=True) / np.sum(np.abs(v) ** 2, axis=-2,
                                                                      keepdims=True)


@pytest.mark.parametrize("a", [np.float32([[0, -2, 1], [1.5, 0.3, 0.2], [0.1, 0.4, -0.5]]),
                               np.float32([[1, 2, 0], [3, 1, 1], [0, 1, 4]])],
                         ids=["complex pair", "real"])
def test_eig_jvp_matches_jax(a: np.ndarray) -> None:
    """Eigenvalue tangents are JAX's; eigenvector tangents too, once each eigenvector's phase
    (LAPACK's free choice: numpy's LAPACK and JAX's may pick opposite signs) is aligned."""
    t = np.random.default_rng(0).standard_normal(a.shape).astype(np.float32)
    (w, vl, vr), (dw, dvl, dvr) = refjax.jvp(
        lambda y: OURS.linalg.eig(y, enable_eigvec_derivs=True), (a,), (t,))
    (w_j, vl_j, vr_j), (dw_j, dvl_j, dvr_j) = jax.jvp(
        lambda y: jlax().linalg.eig(y, enable_eigvec_derivs=True), (a,), (t,))
    np.testing.assert_allclose(np.asarray(w), np.asarray(w_j), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(np.asarray(dw), np.asarray(dw_j), rtol=1e-4, atol=1e-4)
    for v, dv, v_j, dv_j in ((vl, dvl, vl_j, dvl_j), (vr, dvr, vr_j, dvr_j)):
        phase = _aligned(np.asarray(v), np.asarray(v_j))
        np.testing.assert_allclose(np.asarray(v) * phase, np.asarray(v_j), atol=2e-5)
        np.testing.assert_allclose(np.asarray(dv) * phase, np.asarray(dv_j), atol=2e-4)


CHECK_GRADS_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
    ("complex", lambda x, y: OURS.complex(x, y), (X.astype(np.float64), X.astype(np.float64) + 1)),
    ("complex broadcast", lambda x, y: OURS.complex(x, y), (X[0].astype(np.float64), 2.0)),
    ("reduce_precision identity", lambda x: OURS.reduce_precision(x, 11, 52),
     (X.astype(np.float64),)),
    ("optimization_barrier", lambda x, y: OURS.optimization_barrier((x * y, y)),
     (X.astype(np.float64), X.astype(np.float64) + 1)),
    ("reduce", lambda x: OURS.reduce((x, x), (0.0, 1.0), _pair, (1,)),
     (X.astype(np.float64) + 2,)),
    ("reduce max", lambda x: OURS.reduce(x, -np.inf, lambda a, b: OURS.max(a, b), (0,)),
     (X.astype(np.float64),)),
    ("eigenvalues", lambda a: OURS.linalg.eig(a, compute_left_eigenvectors=False,
                                              compute_right_eigenvectors=False)[0],
     (np.float64([[1, 2, 0], [3, 1, 1], [0, 1, 4]]),)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in CHECK_GRADS_CASES],
                         ids=[c[0] for c in CHECK_GRADS_CASES])
def test_derivatives_match_finite_differences(f: Callable[..., Any], args: tuple[Any, ...],
                                              x64: None) -> None:
    # eigenvalues are differentiable once, as in JAX (their JVP needs eigenvector derivatives)
    check_grads(f, args, order=1 if f is CHECK_GRADS_CASES[-1][1] else 2)


def test_eigenvalues_are_differentiable_once_as_in_jax() -> None:
    a = np.float32([[1, 2, 0], [3, 1, 1], [0, 1, 4]])

    def f(m: Any, api: Any) -> Any:
        return api.hessian(lambda y: m.real(m.linalg.eig(
            y, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]).sum())(a)

    raised(lambda: f(OURS, refjax), NotImplementedError)
    raised(lambda: f(jlax(), jax.load()), NotImplementedError)


VMAP_CASES: list[tuple[str, Callable[..., Any], tuple[Any, ...], tuple[Any, ...]]] = [
    ("complex", lambda m, x, y: m.complex(x, y), (X, X.T), (0, 1)),
    ("complex one batched", lambda m, x, y: m.complex(x, y), (X, X[:, 0]), (1, None)),
    ("mulhi", lambda m, x, y: m.mulhi(x, y), (XI * 99999, XI[0] - 3), (0, None)),
    ("reduce_precision", lambda m, x: m.reduce_precision(x * 100, 4, 2), (X,), (1,)),
    ("optimization_barrier", lambda m, x, y: m.optimization_barrier((x, y)), (X, X.T), (0, 1)),
    ("full", lambda m, v: m.full((2,), v), (X[0],), (0,)),
    ("full_like", lambda m, v: m.full_like(X[0], v), (X[0],), (0,)),
    ("reduce", lambda m, x: m.reduce((x, x), (np.float32(0), np.float32(1)), _pair, (0,)),
     (X,), (1,)),
    ("reduce unbatched", lambda m, x, y: m.reduce((x, y), (np.float32(0), np.float32(1)), _pair,
                                                  (0,)), (X, X[:, 0]), (1, None)),
    ("associative_scan", lambda m, x: m.associative_scan(_add, x), (X,), (0,)),
    ("index_take", lambda m, x, i: m.index_take(x, (i,), (0,)), (X.T, np.int32([[0, 1],
                                                                                [2, 5],
                                                                                [3, 3]])),
     (None, 0)),
    ("batch_matmul", lambda m, a: m.batch_matmul(a, a), (np.arange(8, dtype=np.float32)
                                                         .reshape(2, 1, 2, 2),), (0,)),
    ("eigvals", lambda m, a: m.linalg.eig(a, compute_left_eigenvectors=False,
                                          compute_right_eigenvectors=False)[0],
     (np.stack([np.float32([[1, 2], [3, 1]]), np.float32([[4, 1], [0, 2]])]),), (0,)),
]


@pytest.mark.parametrize("f,args,in_axes", [c[1:] for c in VMAP_CASES],
                         ids=[c[0] for c in VMAP_CASES])
def test_vmap_matches_a_loop(f: Callable[..., Any], args: tuple[Any, ...],
                             in_axes: tuple[Any, ...]) -> None:
    """``vmap`` of ours against JAX's function applied to one batch element at a time."""
    ours = refjax.vmap(lambda *a: f(OURS, *a), in_axes=in_axes)(*args)
    size = next(np.shape(a)[d] for a, d in zip(args, in_axes, strict=True) if d is not None)
    rows = [f(jlax(), *(a if d is None else np.take(a, k, axis=d)
                        for a, d in zip(args, in_axes, strict=True))) for k in range(size)]
    ours_l = ours if isinstance(ours, (tuple, list)) else [ours]
    rows_l = [r if isinstance(r, (tuple, list)) else [r] for r in rows]
    for j, leaf in enumerate(ours_l):
        expected = np.stack([np.asarray(r[j]) for r in rows_l])
        np.testing.assert_allclose(np.asarray(leaf), expected, rtol=2e-5, atol=2e-5)


def test_reduce_with_batched_initial_values_raises_as_jax() -> None:
    def f(m: Any, api: Any) -> Any:
        return api.vmap(lambda v: m.reduce(X, v, _mul, (0,)))(np.float32([1, 2]))

    raised(lambda: f(OURS, refjax), NotImplementedError)
    raised(lambda: f(jlax(), jax.load()), NotImplementedError)


def test_linear_rules_transpose_as_jax() -> None:
    """``vjp`` of the linear primitives (their transposes): complex with broadcasting,
    reduce_precision, optimization_barrier."""
    cases: list[tuple[Callable[..., Any], tuple[Any, ...], Any]] = [
        (lambda m, x, y: m.complex(x, y), (X, np.float32(2)),
         np.complex64(X + 1j * X[::-1])),
        (lambda m, x: m.reduce_precision(x, 4, 2), (X,), X * 3),
        (lambda m, x, y: m.optimization_barrier((x, y))[0] * 2, (X, X), X),
    ]
    for f, args, ct in cases:
        _, ours_vjp = refjax.vjp(lambda *a, f=f: f(OURS, *a), *args)
        _, theirs_vjp = jax.vjp(lambda *a, f=f: f(jlax(), *a), *args)
        for o, t in zip(ours_vjp(ct), theirs_vjp(ct), strict=True):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# The numpy implementations against independent references


def test_mulhi_matches_python_integers() -> None:
    rng = np.random.default_rng(1)
    for dt in (np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32):
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, 50, dtype=np.int64, endpoint=True).astype(dt)
        b = rng.integers(info.min, info.max, 50, dtype=np.int64, endpoint=True).astype(dt)
        bits = info.bits
        expected = [(int(p) * int(q)) >> bits for p, q in zip(a, b, strict=True)]
        np.testing.assert_array_equal(np.asarray(OURS.mulhi(a, b)),
                                      np.array(expected).astype(dt))


def test_reduce_precision_to_half_matches_numpy_float16() -> None:
    """Rounding float32 to (5, 10) bits is a cast to float16 and back, except below float16's
    smallest normal number (XLA flushes those to zero; float16 keeps subnormals)."""
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(2000) * 10.0 ** rng.integers(-4, 5, 2000)).astype(np.float32)
    x = x[np.abs(x) >= np.finfo(np.float16).tiny]
    expected = x.astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(OURS.reduce_precision(x, 5, 10)), expected)


def test_reduce_matches_a_numpy_fold() -> None:
    x = np.random.default_rng(3).standard_normal((3, 4, 5)).astype(np.float32)
    ours = OURS.reduce(x, np.float32(0.5), lambda a, b: a * 0.5 + b, (1, 2))
    expected = []
    for row in x:
        acc = np.float32(0.5)
        for v in np.transpose(row, (0, 1)).reshape(-1):
            acc = np.float32(acc * np.float32(0.5) + v)
        expected.append(acc)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-6)


def test_associative_scan_matches_numpy_cumulative_ops() -> None:
    x = np.random.default_rng(4).standard_normal((9, 3)).astype(np.float32)
    np.testing.assert_allclose(OURS.associative_scan(_add, x), np.cumsum(x, 0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(OURS.associative_scan(OURS.max, x, axis=1),
                               np.maximum.accumulate(x, 1))
    np.testing.assert_allclose(OURS.associative_scan(_add, x, reverse=True),
                               np.cumsum(x[::-1], 0)[::-1], rtol=1e-5, atol=1e-6)
