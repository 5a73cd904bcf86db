"""``refjax.scipy.linalg`` against ``jax.scipy.linalg`` (JAX 0.10.2): values, shapes, dtypes and
weak types, error classes, float32 and float64, batches, gradients, ``vmap`` against a loop,
``jit``, and the named calls ``make_jaxpr`` shows. The generalized ``eigh`` (which JAX does not
have) is checked against SciPy, and the derivatives of ``solve(assume_a="pos")`` and ``expm``
against finite differences too."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
import refjax.scipy.linalg as rsl
from tests.errors import raised
from tests.numpy.helpers import assert_same, call_tree
from tests.oracle import enable_x64, jax, jnp, lazy

jsl: Any = lazy("jax.scipy.linalg")

_RNG = np.random.default_rng(11)


def _f32(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def _c64(*shape: int) -> np.ndarray:
    return (_RNG.standard_normal(shape) + 1j * _RNG.standard_normal(shape)).astype(np.complex64)


def _spd(x: np.ndarray) -> np.ndarray:
    """A well-conditioned Hermitian positive-definite matrix (batch) from ``x``."""
    n = x.shape[-1]
    return (x @ np.conj(np.swapaxes(x, -1, -2)) + n * np.eye(n)).astype(x.dtype)


A = _f32(4, 4)
SPD = _spd(A)
B = _f32(4, 2)
V = _f32(4)
TALL = _f32(5, 3)
WIDE = _f32(3, 5)
BATCH = _f32(2, 3, 3)
BATCH_SPD = _spd(BATCH)
BATCH_B = _f32(2, 3, 2)
CA = _c64(3, 3)
CSPD = _spd(CA)
CB = _c64(3, 2)
UPPER = np.triu(A) + 4 * np.eye(4, dtype=np.float32)
LOWER = np.tril(A) + 4 * np.eye(4, dtype=np.float32)
SMALL = 0.1 * A  # a small 1-norm: no squarings, a low Pade degree
BIG = 3.0 * A  # a few squarings
SQUARINGS = 40.0 * A  # more squarings than max_squarings=2 allows: NaNs
INT = np.array([[4, 1, 0], [1, 3, 1], [0, 1, 2]], np.int32)

Fn = Callable[..., Any]


def check(f: Fn, *args: Any, tol: float | None = 1e-4) -> None:
    """``f(refjax.scipy.linalg, *args)`` matches ``f(jax.scipy.linalg, *args)`` (shapes,
    dtypes, weak types, values), or raises an exception of the class JAX's raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            theirs = f(jsl, *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(rsl, *args), type(err))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ours = f(rsl, *args)
    assert_same(ours, theirs, tol)


# ---------------------------------------------------------------------------------------------
# Values, dtypes and errors

CASES: list[tuple[str, Fn, tuple[Any, ...]]] = [
    # cholesky and cho_factor / cho_solve
    ("cholesky", lambda m, a: m.cholesky(a), (SPD,)),
    ("inv call", lambda m, a: m.inv(a), (A,)),  # (inv and solve: custom_linear_solve)
    ("solve call", lambda m, a, b: m.solve(a, b), (A, B)),
    ("solve pos call", lambda m, a, b: m.solve(a, b, assume_a="pos"), (SPD, B)),
    ("cholesky lower", lambda m, a: m.cholesky(a, lower=True), (SPD,)),
    ("cholesky reads one triangle", lambda m, a: m.cholesky(np.triu(a)), (SPD,)),
    ("cholesky lower reads one triangle", lambda m, a: m.cholesky(np.tril(a), lower=True),
     (SPD,)),
    ("cholesky batch", lambda m, a: m.cholesky(a), (BATCH_SPD,)),
    ("cholesky complex", lambda m, a: m.cholesky(a), (CSPD,)),
    ("cholesky complex lower", lambda m, a: m.cholesky(a, lower=True), (CSPD,)),
    ("cholesky int", lambda m, a: m.cholesky(a), (INT,)),
    ("cholesky not pd", lambda m, a: m.cholesky(-a), (SPD,)),
    ("cholesky not square", lambda m, a: m.cholesky(a), (TALL,)),
    ("cholesky vector", lambda m, a: m.cholesky(a), (V,)),
    ("cho_factor", lambda m, a: m.cho_factor(a)[0], (SPD,)),
    ("cho_factor lower", lambda m, a: m.cho_factor(a, lower=True)[0], (SPD,)),
    ("cho_solve", lambda m, a, b: m.cho_solve(m.cho_factor(a), b), (SPD, B)),
    ("cho_solve lower", lambda m, a, b: m.cho_solve(m.cho_factor(a, lower=True), b), (SPD, B)),
    ("cho_solve vector", lambda m, a, b: m.cho_solve(m.cho_factor(a), b), (SPD, V)),
    ("cho_solve batch", lambda m, a, b: m.cho_solve(m.cho_factor(a, True), b),
     (BATCH_SPD, BATCH_B)),
    ("cho_solve broadcast c", lambda m, a, b: m.cho_solve((m.cholesky(a, True), True), b),
     (BATCH_SPD, BATCH_B[0])),
    ("cho_solve broadcast b", lambda m, a, b: m.cho_solve((m.cholesky(a), False), b),
     (BATCH_SPD[0], BATCH_B)),
    ("cho_solve batched vectors", lambda m, a, b: m.cho_solve((m.cholesky(a), False), b),
     (BATCH_SPD, BATCH_B[..., 0])),
    ("cho_solve broadcast vector", lambda m, a, b: m.cho_solve((m.cholesky(a), False), b),
     (BATCH_SPD, V[:3])),
    ("cho_solve complex", lambda m, a, b: m.cho_solve(m.cho_factor(a), b), (CSPD, CB)),
    ("cho_solve complex lower", lambda m, a, b: m.cho_solve(m.cho_factor(a, True), b),
     (CSPD, CB)),
    ("cho_solve int b", lambda m, a, b: m.cho_solve(m.cho_factor(a), b),
     (SPD, np.arange(8, dtype=np.int32).reshape(4, 2))),
    ("cho_solve mismatch", lambda m, a, b: m.cho_solve((a, True), b), (SPD, B[:3])),
    ("cho_solve not square", lambda m, a, b: m.cho_solve((a, True), b), (TALL, B)),
    ("cho_solve scalar b", lambda m, a: m.cho_solve((a, True), 1.0), (SPD,)),
    # solve_triangular
    ("solve_triangular", lambda m, a, b: m.solve_triangular(a, b), (UPPER, B)),
    ("solve_triangular lower", lambda m, a, b: m.solve_triangular(a, b, lower=True),
     (LOWER, B)),
    ("solve_triangular trans 1", lambda m, a, b: m.solve_triangular(a, b, trans=1), (UPPER, B)),
    ("solve_triangular trans T", lambda m, a, b: m.solve_triangular(a, b, trans="T"),
     (UPPER, B)),
    ("solve_triangular trans C lower",
     lambda m, a, b: m.solve_triangular(a, b, trans="C", lower=True), (LOWER, B)),
    ("solve_triangular trans N", lambda m, a, b: m.solve_triangular(a, b, trans="N"),
     (UPPER, V)),
    ("solve_triangular unit", lambda m, a, b: m.solve_triangular(a, b, unit_diagonal=True),
     (UPPER, B)),
    ("solve_triangular complex trans 2",
     lambda m, a, b: m.solve_triangular(np.triu(a) + 3 * np.eye(3), b, trans=2), (CA, CB)),
    ("solve_triangular complex trans 1",
     lambda m, a, b: m.solve_triangular(np.triu(a) + 3 * np.eye(3), b, trans=1), (CA, CB)),
    ("solve_triangular batch",
     lambda m, a, b: m.solve_triangular(np.triu(a) + 3 * np.eye(3, dtype=np.float32), b),
     (BATCH, BATCH_B)),
    ("solve_triangular broadcast",
     lambda m, a, b: m.solve_triangular(np.triu(a) + 3 * np.eye(3, dtype=np.float32), b),
     (BATCH[0], BATCH_B)),
    ("solve_triangular batched vectors",
     lambda m, a, b: m.solve_triangular(np.tril(a) + 3 * np.eye(3, dtype=np.float32), b,
                                        lower=True), (BATCH, BATCH_B[..., 0])),
    ("solve_triangular int", lambda m, a, b: m.solve_triangular(a, b), (np.triu(INT), INT)),
    ("solve_triangular bad trans", lambda m, a, b: m.solve_triangular(a, b, trans=3),
     (UPPER, B)),
    ("solve_triangular bad trans str", lambda m, a, b: m.solve_triangular(a, b, trans="X"),
     (UPPER, B)),
    ("solve_triangular mismatch", lambda m, a, b: m.solve_triangular(a, b), (UPPER, B[:3])),
    ("solve_triangular bad batch", lambda m, a, b: m.solve_triangular(a, b),
     (BATCH, np.ones((4, 3, 2), np.float32))),
    # lu_factor, lu_solve, lu
    ("lu_factor", lambda m, a: m.lu_factor(a), (A,)),
    ("lu_factor tall", lambda m, a: m.lu_factor(a), (TALL,)),
    ("lu_factor wide", lambda m, a: m.lu_factor(a), (WIDE,)),
    ("lu_factor batch", lambda m, a: m.lu_factor(a), (BATCH,)),
    ("lu_factor complex", lambda m, a: m.lu_factor(a), (CA,)),
    ("lu_factor int", lambda m, a: m.lu_factor(a), (INT,)),
    ("lu_factor vector", lambda m, a: m.lu_factor(a), (V,)),
    ("lu_solve", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (A, B)),
    ("lu_solve vector", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (A, V)),
    ("lu_solve trans 1", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=1), (A, B)),
    ("lu_solve trans 2 complex", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=2),
     (CA, CB)),
    ("lu_solve trans 1 complex", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=1),
     (CA, CB)),
    ("lu_solve batch", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (BATCH, BATCH_B)),
    ("lu_solve broadcast b", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (BATCH, B[:3])),
    ("lu_solve batched vectors", lambda m, a, b: m.lu_solve(m.lu_factor(a), b),
     (BATCH, BATCH_B[..., 0])),
    ("lu_solve broadcast vector", lambda m, a, b: m.lu_solve(m.lu_factor(a), b),
     (BATCH, V[:3])),
    ("lu_solve int b", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (A[:3, :3], INT)),
    ("lu_solve mismatch", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (A, B[:3])),
    ("lu_solve bad trans", lambda m, a, b: m.lu_solve(m.lu_factor(a), b, trans=3), (A, B)),
    ("lu", lambda m, a: m.lu(a), (A,)),
    ("lu tall", lambda m, a: m.lu(a), (TALL,)),
    ("lu wide", lambda m, a: m.lu(a), (WIDE,)),
    ("lu permute_l", lambda m, a: m.lu(a, permute_l=True), (A,)),
    ("lu permute_l tall", lambda m, a: m.lu(a, permute_l=True), (TALL,)),
    ("lu complex", lambda m, a: m.lu(a), (CA,)),
    ("lu complex permute_l", lambda m, a: m.lu(a, permute_l=True), (CA,)),
    ("lu int", lambda m, a: m.lu(a), (INT,)),
    ("lu batch", lambda m, a: m.lu(a), (BATCH,)),
    ("lu vector", lambda m, a: m.lu(a), (V,)),
    # qr, svd, eigh
    ("qr", lambda m, a: m.qr(a), (A,)),
    ("qr tall", lambda m, a: m.qr(a), (TALL,)),
    ("qr wide", lambda m, a: m.qr(a), (WIDE,)),
    ("qr economic tall", lambda m, a: m.qr(a, mode="economic"), (TALL,)),
    ("qr economic wide", lambda m, a: m.qr(a, mode="economic"), (WIDE,)),
    ("qr r tall", lambda m, a: m.qr(a, mode="r"), (TALL,)),
    ("qr r wide", lambda m, a: m.qr(a, mode="r"), (WIDE,)),
    ("qr batch", lambda m, a: m.qr(a), (BATCH,)),
    ("qr complex", lambda m, a: m.qr(a, mode="economic"), (CA,)),
    ("qr int", lambda m, a: m.qr(a), (INT,)),
    ("qr bad mode", lambda m, a: m.qr(a, mode="reduced"), (A,)),
    ("qr vector", lambda m, a: m.qr(a), (V,)),
    ("svd", lambda m, a: m.svd(a), (A,)),
    ("svd tall", lambda m, a: m.svd(a), (TALL,)),
    ("svd wide reduced", lambda m, a: m.svd(a, full_matrices=False), (WIDE,)),
    ("svd values", lambda m, a: m.svd(a, compute_uv=False), (TALL,)),
    ("svd batch", lambda m, a: m.svd(a, full_matrices=False), (BATCH,)),
    ("svd complex values", lambda m, a: m.svd(a, compute_uv=False), (CA,)),
    ("svd int", lambda m, a: m.svd(a, compute_uv=False), (INT,)),
    ("svd vector", lambda m, a: m.svd(a), (V,)),
    ("eigh", lambda m, a: m.eigh(a), (SPD,)),
    ("eigh values only", lambda m, a: m.eigh(a, eigvals_only=True), (SPD,)),
    ("eigh upper", lambda m, a: m.eigh(a, lower=False), (SPD,)),
    ("eigh batch", lambda m, a: m.eigh(a), (BATCH_SPD,)),
    ("eigh complex values", lambda m, a: m.eigh(a, eigvals_only=True), (CSPD,)),
    ("eigh int", lambda m, a: m.eigh(a, eigvals_only=True), (INT,)),
    ("eigh type 2", lambda m, a: m.eigh(a, type=2), (SPD,)),
    ("eigh eigvals", lambda m, a: m.eigh(a, eigvals=(0, 1)), (SPD,)),
    ("eigh not square", lambda m, a: m.eigh(a), (TALL,)),
    # det, inv, solve
    ("det", lambda m, a: m.det(a), (A,)),
    ("det batch", lambda m, a: m.det(a), (BATCH,)),
    ("det complex", lambda m, a: m.det(a), (CA,)),
    ("det not square", lambda m, a: m.det(a), (TALL,)),
    ("inv", lambda m, a: m.inv(a), (A,)),
    ("inv batch", lambda m, a: m.inv(a), (BATCH,)),
    ("inv complex", lambda m, a: m.inv(a), (CA,)),
    ("inv not square", lambda m, a: m.inv(a), (TALL,)),
    ("solve", lambda m, a, b: m.solve(a, b), (A, B)),
    ("solve vector", lambda m, a, b: m.solve(a, b), (A, V)),
    ("solve sym", lambda m, a, b: m.solve(a, b, assume_a="sym"), (SPD, B)),
    ("solve her", lambda m, a, b: m.solve(a, b, assume_a="her"), (CSPD, CB)),
    ("solve pos", lambda m, a, b: m.solve(a, b, assume_a="pos"), (SPD, B)),
    ("solve pos vector", lambda m, a, b: m.solve(a, b, assume_a="pos"), (SPD, V)),
    ("solve pos upper triangle",
     lambda m, a, b: m.solve(np.triu(a) - np.tril(np.ones_like(a), -1), b, assume_a="pos"),
     (SPD, B)),
    ("solve pos lower triangle",
     lambda m, a, b: m.solve(np.tril(a) + np.triu(np.ones_like(a), 1), b, assume_a="pos",
                             lower=True), (SPD, B)),
    ("solve pos batch", lambda m, a, b: m.solve(a, b, assume_a="pos"), (BATCH_SPD, BATCH_B)),
    ("solve pos complex", lambda m, a, b: m.solve(a, b, assume_a="pos"), (CSPD, CB)),
    ("solve pos int", lambda m, a, b: m.solve(a, b, assume_a="pos"), (INT, INT)),
    ("solve pos bad shapes", lambda m, a, b: m.solve(a, b, assume_a="pos"), (SPD, B[:3])),
    ("solve pos bad rank", lambda m, a, b: m.solve(a, b, assume_a="pos"), (BATCH_SPD, V[:3])),
    ("solve batch", lambda m, a, b: m.solve(a, b), (BATCH, BATCH_B)),
    ("solve bad assume_a", lambda m, a, b: m.solve(a, b, assume_a="diagonal"), (A, B)),
    ("solve mismatch", lambda m, a, b: m.solve(a, b), (A, B[:3])),
    # expm
    ("expm", lambda m, a: m.expm(a), (A,)),
    ("expm small norm", lambda m, a: m.expm(a), (SMALL,)),
    ("expm squarings", lambda m, a: m.expm(a), (BIG,)),
    ("expm zeros", lambda m, a: m.expm(a), (np.zeros((3, 3), np.float32),)),
    ("expm too many squarings", lambda m, a: m.expm(a, max_squarings=2), (SQUARINGS,)),
    ("expm upper_triangular", lambda m, a: m.expm(a, upper_triangular=True), (np.triu(BIG),)),
    ("expm batch", lambda m, a: m.expm(a), (np.stack([BATCH, 4 * BATCH]),)),
    ("expm complex", lambda m, a: m.expm(a), (CA,)),
    ("expm int", lambda m, a: m.expm(a), (INT,)),
    ("expm 1x1", lambda m, a: m.expm(a[:1, :1]), (A,)),
    ("expm nan", lambda m, a: m.expm(a), (np.full((2, 2), np.nan, np.float32),)),
    ("expm float16", lambda m, a: m.expm(a.astype(np.float16)), (A,)),
    ("expm not square", lambda m, a: m.expm(a), (TALL,)),
    ("expm vector", lambda m, a: m.expm(a), (V,)),
    # special matrices
    ("block_diag", lambda m, a, b: m.block_diag(a, b, a[:1]), (A, B)),
    ("block_diag scalars and vectors", lambda m, a: m.block_diag(a, 2.0, a[0], 3), (B,)),
    ("block_diag promotes", lambda m, a, b: m.block_diag(a, b), (INT, B)),
    ("block_diag ints", lambda m, a: m.block_diag(a, a[:2]), (INT,)),
    ("block_diag one", lambda m, a: m.block_diag(a), (CA,)),
    ("block_diag none", lambda m: m.block_diag(), ()),
    ("block_diag empty block", lambda m, a: m.block_diag(a, np.zeros((0, 2), np.float32)),
     (B,)),
    ("block_diag 3-D", lambda m, a: m.block_diag(a), (BATCH,)),
    ("toeplitz", lambda m, c: m.toeplitz(c), (V,)),
    ("toeplitz c r", lambda m, c, r: m.toeplitz(c, r), (V, TALL[:, 0])),
    ("toeplitz complex", lambda m, c: m.toeplitz(c), (CA[0],)),
    ("toeplitz complex r", lambda m, c, r: m.toeplitz(c, r), (CA[0], V)),
    ("toeplitz int", lambda m, c: m.toeplitz(c), (INT[0],)),
    ("toeplitz batch", lambda m, c, r: m.toeplitz(c, r), (BATCH, TALL[:3])),
    ("toeplitz broadcast", lambda m, c, r: m.toeplitz(c, r), (BATCH, V)),
    ("toeplitz scalar", lambda m: m.toeplitz(2.0), ()),
    ("toeplitz scalar r", lambda m, c: m.toeplitz(c, 1.5), (V,)),
    ("toeplitz empty", lambda m, c: m.toeplitz(c[:0], c), (V,)),
    ("toeplitz list", lambda m: m.toeplitz([1.0, 2.0]), ()),
    ("toeplitz bad batch", lambda m, c, r: m.toeplitz(c, r), (BATCH, TALL[:4])),
    ("hilbert 1", lambda m: m.hilbert(1), ()),
    ("hilbert 4", lambda m: m.hilbert(4), ()),
    ("hilbert 0", lambda m: m.hilbert(0), ()),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_jax(f: Fn, args: tuple[Any, ...]) -> None:
    check(f, *args)


X64_CASES = ["cholesky", "cho_solve", "solve_triangular trans C lower", "lu_factor",
             "lu_solve trans 1", "lu permute_l", "qr economic tall", "svd values", "eigh",
             "det", "inv", "solve pos", "expm", "expm small norm", "expm squarings",
             "expm upper_triangular", "expm complex", "expm int", "block_diag promotes",
             "toeplitz c r", "toeplitz scalar", "hilbert 4"]


@pytest.mark.parametrize("name", X64_CASES)
def test_matches_jax_in_float64(name: str) -> None:
    """The inputs in 64 bits: float64 stays float64, int64 becomes float64; ``expm`` takes its
    float64 path (Pade degrees up to 13)."""
    (f, args), = [c[1:] for c in CASES if c[0] == name]
    kinds = {"c": np.complex128, "f": np.float64, "i": np.int64}
    wide = tuple(a.astype(kinds[a.dtype.kind]) if isinstance(a, np.ndarray) else a
                 for a in args)
    with enable_x64():
        check(f, *wide, tol=1e-9)


def test_expm_takes_every_pade_degree_in_float64() -> None:
    """The 1-norm picks degree 3, 5, 7, 9 or 13 (then squarings) in float64."""
    x = _RNG.standard_normal((4, 4))
    x = x / np.abs(x).sum(axis=0).max()  # 1-norm 1
    with enable_x64():
        for scale in (0.01, 0.2, 0.9, 2.0, 5.0, 30.0):
            check(lambda m, a: m.expm(a), scale * x, tol=1e-10)


def test_expm_matches_scipy() -> None:
    """An independent reference: SciPy's expm, in float64."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    x = _RNG.standard_normal((5, 5))
    with enable_x64():
        for scale in (0.05, 1.0, 10.0):
            np.testing.assert_allclose(np.asarray(rsl.expm(scale * x)),
                                       scipy_linalg.expm(scale * x), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("m", [3, 4])
def test_lu_reconstructs(m: int) -> None:
    x = _f32(m, 4)
    p, lower, upper = rsl.lu(x)
    np.testing.assert_allclose(np.asarray(p) @ np.asarray(lower) @ np.asarray(upper), x,
                               rtol=1e-5, atol=1e-5)
    pl, upper2 = rsl.lu(x, permute_l=True)
    np.testing.assert_allclose(np.asarray(pl) @ np.asarray(upper2), x, rtol=1e-5, atol=1e-5)


def test_cho_factor_returns_the_flag() -> None:
    for lower in (False, True):
        c, flag = rsl.cho_factor(SPD, lower=lower)
        assert flag is lower
        assert_same(c, jsl.cho_factor(SPD, lower=lower)[0], 1e-5)


def test_batched_vector_solves_warn_as_jax() -> None:
    """``b`` one rank below ``a`` with matching last dims is a batch of vectors, deprecated
    with JAX's FutureWarning."""
    b = BATCH_B[..., 0]
    with pytest.warns(FutureWarning, match="cho_solve: batched 1D solves"):
        rsl.cho_solve((rsl.cholesky(BATCH_SPD), False), b)
    with pytest.warns(FutureWarning, match="solve_triangular: batched 1D solves"):
        rsl.solve_triangular(BATCH, b)
    with pytest.warns(FutureWarning, match="lu_solve: batched 1D solves"):
        rsl.lu_solve(rsl.lu_factor(BATCH), b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rsl.cho_solve((rsl.cholesky(SPD), False), V)
    # solve(assume_a="pos") of matrices solves column by column, each a batch of vectors
    # through cho_solve: JAX 0.10 warns there too. The warning comes while tracing, so a call
    # traced before (another test, same shapes) stays quiet: no jit here, neither side.
    for m, lib in ((rsl, refjax), (jsl, jax)):
        with lib.disable_jit(), pytest.warns(FutureWarning, match="cho_solve: batched 1D"):
            m.solve(BATCH_SPD, BATCH_B, assume_a="pos")


def test_qr_with_pivoting_is_not_supported() -> None:
    err = raised(lambda: rsl.qr(A, pivoting=True), NotImplementedError)
    assert "pivoting" in str(err)
    raised(lambda: rsl.qr(A, mode="bad", pivoting=True), ValueError)  # the mode first, as JAX


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_generalized_eigh_matches_scipy(dtype: Any) -> None:
    """``eigh(a, b)`` (JAX raises NotImplementedError): SciPy's eigenvalues, and eigenvectors
    with ``a @ v = b @ v @ diag(w)`` and ``v^H @ b @ v = I``."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    make = _c64 if dtype == np.complex64 else _f32
    a = make(4, 4)
    a = (a + np.conj(a.T)) / 2
    b = _spd(make(4, 4))
    w, v = rsl.eigh(a, b)
    assert w.dtype == np.float32 and v.dtype == dtype
    expected = scipy_linalg.eigh(a.astype(np.complex128), b.astype(np.complex128),
                                 eigvals_only=True)
    np.testing.assert_allclose(np.asarray(w), expected, rtol=1e-4, atol=1e-4)
    wn, vn = np.asarray(w), np.asarray(v)
    np.testing.assert_allclose(a @ vn, b @ vn * wn, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.conj(vn.T) @ b @ vn, np.eye(4), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(rsl.eigh(a, b, eigvals_only=True)), expected,
                               rtol=1e-4, atol=1e-4)
    batch = np.stack([a, 2 * a])
    wb = rsl.eigh(batch, b, eigvals_only=True)
    np.testing.assert_allclose(np.asarray(wb)[1], 2 * expected, rtol=1e-4, atol=1e-4)
    raised(lambda: rsl.eigh(a, b, type=2), NotImplementedError)
    assert "eigh" in str(raised(lambda: jsl.eigh(a, b), NotImplementedError))  # JAX: none


# ---------------------------------------------------------------------------------------------
# Gradients, vmap and jit

GRADS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("cholesky", lambda m, a: m.cholesky(a), (SPD,)),
    ("cholesky lower", lambda m, a: m.cholesky(a, lower=True), (SPD,)),
    ("cho_solve c", lambda m, a: m.cho_solve((m.cholesky(a, lower=True), True), B), (SPD,)),
    ("cho_solve b", lambda m, b: m.cho_solve((m.cholesky(SPD), False), b), (B,)),
    ("solve_triangular a", lambda m, a: m.solve_triangular(a, B, trans=1), (UPPER,)),
    ("solve_triangular b", lambda m, b: m.solve_triangular(LOWER, b, lower=True), (V,)),
    ("lu_factor", lambda m, a: m.lu_factor(a)[0], (A,)),
    ("lu_solve b", lambda m, b: m.lu_solve(m.lu_factor(A), b, trans=1), (B,)),
    ("lu_solve factors", lambda m, a: m.lu_solve(m.lu_factor(a), B), (A,)),
    ("lu", lambda m, a: m.lu(a)[1:], (A,)),
    ("lu permute_l", lambda m, a: m.lu(a, permute_l=True), (TALL,)),
    ("qr economic", lambda m, a: abs(m.qr(a, mode="economic")[1]), (TALL,)),
    ("svd values", lambda m, a: m.svd(a, compute_uv=False), (WIDE,)),
    ("eigh values", lambda m, a: m.eigh(a, eigvals_only=True), (SPD,)),
    ("det", lambda m, a: m.det(a), (A,)),
    ("inv", lambda m, a: m.inv(a), (A,)),
    ("solve", lambda m, a: m.solve(a, B), (A,)),
    ("solve pos a", lambda m, a: m.solve(a, B, assume_a="pos"), (SPD,)),
    ("solve pos a lower", lambda m, a: m.solve(a, V, assume_a="pos", lower=True), (SPD,)),
    ("solve pos b", lambda m, b: m.solve(SPD, b, assume_a="pos"), (B,)),
    ("expm", lambda m, a: m.expm(a), (A,)),
    ("expm squarings", lambda m, a: m.expm(a), (BIG,)),
    ("expm upper_triangular", lambda m, a: m.expm(a, upper_triangular=True), (UPPER / 4,)),
    ("block_diag", lambda m, a: m.block_diag(a, 2 * a[:2]), (B,)),
    ("toeplitz", lambda m, c: m.toeplitz(c, 2 * c[::-1]), (V,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_gradients_match_jax(f: Fn, args: tuple[Any, ...]) -> None:
    """``grad`` of the sum of every output, against JAX's (``solve(assume_a="pos")``'s are
    those of the linear solve, not symmetric in ``a``)."""

    def loss(m: ModuleType, sl: Any) -> Fn:
        def total(x: Any) -> Any:
            out = f(sl, x)
            leaves = out if isinstance(out, tuple) else (out,)
            return sum(m.sum(o) for o in leaves)

        return total

    ours = refjax.grad(loss(rnp, rsl))(*args)
    theirs = jax.grad(loss(jnp, jsl))(*args)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("f,args", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_vmap_matches_a_loop(f: Fn, args: tuple[Any, ...]) -> None:
    stacked = np.stack([args[0], 1.1 * args[0], 0.9 * args[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        batched = refjax.vmap(lambda x: f(rsl, x))(stacked)
        for i in range(3):
            one = f(rsl, stacked[i])
            for b, o in zip(batched if isinstance(batched, tuple) else (batched,),
                            one if isinstance(one, tuple) else (one,), strict=True):
                np.testing.assert_allclose(np.asarray(b)[i], np.asarray(o), rtol=1e-5,
                                           atol=1e-5)


JITTED = ["cholesky", "cho_solve", "solve_triangular trans T", "lu_factor", "lu_solve",
          "lu permute_l", "qr economic tall", "qr r wide", "svd", "eigh", "det", "inv",
          "solve", "solve pos", "solve pos vector", "expm", "expm squarings",
          "expm too many squarings", "expm upper_triangular", "expm batch", "block_diag",
          "toeplitz c r", "toeplitz batch"]


@pytest.mark.parametrize("name", JITTED)
def test_jit_matches_jax(name: str) -> None:
    (f, args), = [c[1:] for c in CASES if c[0] == name]
    j = jax.load()
    ours = refjax.jit(lambda *a: f(rsl, *a))(*args)
    theirs = j.jit(lambda *a: f(jsl, *a))(*args)
    assert_same(ours, theirs, 1e-4)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)], ids=str)
def test_derivatives_by_finite_differences(shape: tuple[int, ...]) -> None:
    """Second order, both modes, in float64: the positive-definite solve in ``a`` (along
    symmetric directions: ``a``'s other triangle is not read, so finite differences see only
    the symmetric part of a perturbation, which JAX's derivative does not drop) and ``b``,
    cho_solve, expm."""
    from refjax.test_util import check_grads

    x = np.random.default_rng(5).standard_normal(shape)
    spd = _spd(x)
    rhs = np.random.default_rng(6).standard_normal((*shape[:-1], 2))

    def sym(a: Any) -> Any:
        return (a + rnp.swapaxes(a, -1, -2)) / 2

    with enable_x64():
        check_grads(lambda a, b: rsl.solve(sym(a), b, assume_a="pos"), (spd, rhs), order=2,
                    eps=1e-6)
        check_grads(lambda a, b: rsl.solve(sym(a), b[..., 0], assume_a="pos", lower=True),
                    (spd, rhs), order=2, eps=1e-6)
        check_grads(lambda c, b: rsl.cho_solve((c, True), b),
                    (np.asarray(rsl.cholesky(spd, lower=True)), rhs), order=2, eps=1e-6)
        check_grads(lambda a: rsl.expm(a), (x,), order=2, eps=1e-6)
        check_grads(lambda a: rsl.expm(a), (4 * x,), order=1, eps=1e-6)


# ---------------------------------------------------------------------------------------------
# The named calls of make_jaxpr

CALLS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("cholesky", lambda m, a: m.cholesky(a), (SPD,)),
    ("cho_factor", lambda m, a: m.cho_factor(a, lower=True)[0], (SPD,)),
    ("cho_solve", lambda m, a, b: m.cho_solve((a, False), b), (SPD, B)),
    ("cho_solve vector", lambda m, a, b: m.cho_solve((a, True), b), (SPD, V)),
    ("cho_solve batch", lambda m, a, b: m.cho_solve((a, True), b), (BATCH_SPD, B[:3])),
    ("solve_triangular", lambda m, a, b: m.solve_triangular(a, b, trans="T"), (A, B)),
    ("lu_factor", lambda m, a: m.lu_factor(a), (A,)),
    ("lu", lambda m, a: m.lu(a), (TALL,)),
    ("lu permute_l", lambda m, a: m.lu(a, permute_l=True), (A,)),
    ("qr", lambda m, a: m.qr(a), (A,)),
    ("qr r", lambda m, a: m.qr(a, mode="r"), (WIDE,)),
    ("svd", lambda m, a: m.svd(a, full_matrices=False), (TALL,)),
    ("eigh", lambda m, a: m.eigh(a), (SPD,)),
    ("eigh values", lambda m, a: m.eigh(a, eigvals_only=True), (BATCH_SPD,)),
    ("det", lambda m, a: m.det(a), (A,)),
    ("block_diag", lambda m, a, b: m.block_diag(a, b), (A, B)),
    ("toeplitz", lambda m, c: m.toeplitz(c), (V,)),
    ("toeplitz batch", lambda m, c, r: m.toeplitz(c, r), (BATCH, V)),
    ("hilbert", lambda m: m.hilbert(3), ()),
    ("lu_solve", lambda m, a, b: m.lu_solve(m.lu_factor(a), b), (A, B)),
]

# Where refjax's program has other calls than JAX's: JAX's digitize in expm is a hijax
# searchsorted (three nested calls).
KNOWN_DIFFERENCES: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("expm", lambda m, a: m.expm(a), (A,)),
]


def _tree(m: ModuleType, sl: Any, f: Fn, args: tuple[Any, ...]) -> list[Any]:
    return call_tree(m.make_jaxpr(lambda *a: f(sl, *a))(*args))


@pytest.mark.parametrize("f,args", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_calls_as_jax(f: Fn, args: tuple[Any, ...]) -> None:
    assert _tree(refjax, rsl, f, args) == _tree(jax.load(), jsl, f, args)


@pytest.mark.parametrize("f,args", [c[1:] for c in KNOWN_DIFFERENCES],
                         ids=[c[0] for c in KNOWN_DIFFERENCES])
@pytest.mark.xfail(strict=True, reason="refjax has no hijax searchsorted")
def test_known_call_differences(f: Fn, args: tuple[Any, ...]) -> None:
    assert _tree(refjax, rsl, f, args) == _tree(jax.load(), jsl, f, args)


UNDER: dict[str, list[str]] = {
    "grad": ["cholesky", "cho_solve", "solve_triangular", "lu permute_l"],
    "vmap": ["cholesky", "cho_solve", "solve_triangular", "lu permute_l", "qr", "eigh",
             "block_diag", "toeplitz"],
}
# Under grad, the residuals the forward calls hand over differ from JAX's: those of the JVP
# rules of refjax.lax.linalg's qr and eigh, and those jit's partial evaluation forwards
# (JAX's forward atleast_1d / atleast_2d calls, identities, return nothing).
KNOWN_UNDER_GRAD = ["qr", "eigh", "block_diag", "toeplitz"]


def _transformed(m: ModuleType, np_mod: Any, sl: Any, f: Fn, how: str) -> Fn:
    def loss(*a: Any) -> Any:
        out = f(sl, *a)
        leaves = out if isinstance(out, tuple) else (out,)
        return sum(np_mod.sum(np_mod.abs(o)) for o in leaves)

    return m.grad(loss) if how == "grad" else m.vmap(lambda *a: f(sl, *a))


def _trees_under(case: tuple[str, Fn, tuple[Any, ...]], how: str) -> tuple[Any, Any]:
    _, f, args = case
    stacked = tuple(np.stack([a, a]) for a in args) if how == "vmap" else args
    ours = call_tree(refjax.make_jaxpr(_transformed(refjax, rnp, rsl, f, how))(*stacked))
    theirs = call_tree(jax.make_jaxpr(_transformed(jax.load(), jnp, jsl, f, how))(*stacked))
    return ours, theirs


@pytest.mark.parametrize("how,case", [(how, c) for how, names in UNDER.items()
                                      for c in CALLS if c[0] in names],
                         ids=[f"{how}-{c[0]}" for how, names in UNDER.items()
                              for c in CALLS if c[0] in names])
def test_calls_as_jax_under_transformations(how: str, case: tuple[str, Fn, tuple[Any, ...]]
                                            ) -> None:
    """The forward call with its residuals and the transposed call (grad), and the batched
    call (vmap)."""
    ours, theirs = _trees_under(case, how)
    assert ours == theirs


@pytest.mark.parametrize("case", [c for c in CALLS if c[0] in KNOWN_UNDER_GRAD],
                         ids=[c[0] for c in CALLS if c[0] in KNOWN_UNDER_GRAD])
@pytest.mark.xfail(strict=True, reason="other residuals than JAX's (lax.linalg JVP rules, "
                                       "jit's partial evaluation)")
def test_known_call_differences_under_grad(case: tuple[str, Fn, tuple[Any, ...]]) -> None:
    ours, theirs = _trees_under(case, "grad")
    assert ours == theirs
