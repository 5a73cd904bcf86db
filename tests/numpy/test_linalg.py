"""``refjax.numpy.linalg`` against ``jax.numpy.linalg``: norms, decompositions, determinants,
inverses, solves and least squares; values, dtypes, gradients, batching and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import check, jax, jnp

X = np.float32([[3, -4, 0], [1, 2, -2]])
NORMS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("default", (), {}),
    ("2 axis1", (None, 1), {}),
    ("1 axis1", (1, 1), {}),
    ("inf axis0", (np.inf, 0), {}),
    ("-inf axis1", (-np.inf, 1), {}),
    ("0 axis1", (0, 1), {}),
    ("3 axis1", (3, 1), {}),
    ("0.5 axis0", (0.5, 0), {}),
    ("fro", ("fro",), {}),
    ("matrix 1", (1,), {}),
    ("matrix -1", (-1,), {}),
    ("matrix inf", (np.inf,), {}),
    ("matrix -inf", (-np.inf,), {}),
    ("fro swapped keepdims", (None, (1, 0)), {"keepdims": True}),
    ("matrix 1 swapped", (1, (1, 0)), {}),
    ("matrix inf keepdims", (np.inf, (1, 0)), {"keepdims": True}),
    ("bad vector ord", ("bad", 1), {}),
    ("bad matrix ord", ("bad",), {}),
]


@pytest.mark.parametrize("args,kw", [c[1:] for c in NORMS], ids=[c[0] for c in NORMS])
def test_norm_matches_jax(args: tuple[Any, ...], kw: dict[str, Any]) -> None:
    check(lambda m, a: m.linalg.norm(a, *args, **kw), X)
    if not any(isinstance(a, str) for a in args):
        ours = refjax.grad(lambda v: rnp.sum(rnp.linalg.norm(v, *args, **kw)))(X)
        theirs = jax.grad(lambda v: jnp.sum(jnp.linalg.norm(v, *args, **kw)))(X)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize("x", [np.int32([3, 4]), np.float32([[[1, 2], [3, 4]]]),
                               np.complex64([3 + 4j, 1j]), np.zeros((0,), np.float32),
                               np.float16([3, 4])], ids=str)
def test_norm_of_other_dtypes_and_ranks(x: Any) -> None:
    check(lambda m, a: m.linalg.norm(a), x)
    check(lambda m, a: m.linalg.vector_norm(a, ord=np.inf), x)


def test_norm_needs_one_or_two_axes() -> None:
    check(lambda m, a: m.linalg.norm(a, axis=(0, 1, 2)), np.ones((2, 2, 2), np.float32))


@pytest.mark.parametrize("ord_", ["nuc", 2, -2])
def test_spectral_norms_match_jax(ord_: Any) -> None:
    check(lambda m, a: m.linalg.norm(a, ord_), X)
    check(lambda m, a: m.linalg.norm(a, ord_, axis=(2, 0), keepdims=True),
          np.arange(24, dtype=np.float32).reshape(2, 3, 4) % 5)
    ours = refjax.grad(lambda v: rnp.linalg.norm(v, ord_))(X)
    theirs = jax.grad(lambda v: jnp.linalg.norm(v, ord_))(X)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Decompositions, determinants, inverses and solves


_RNG = np.random.default_rng(7)
A = _RNG.standard_normal((4, 4)).astype(np.float32)
SPD = (A @ A.T + 4 * np.eye(4)).astype(np.float32)
B = _RNG.standard_normal((4, 2)).astype(np.float32)
V = _RNG.standard_normal(4).astype(np.float32)
BATCH = _RNG.standard_normal((2, 3, 3)).astype(np.float32)
TALL = _RNG.standard_normal((5, 3)).astype(np.float32)
WIDE = _RNG.standard_normal((2, 4)).astype(np.float32)
A64 = A.astype(np.float64)
SINGULAR = np.ones((5, 5), np.float32)

Fn = Any
LINALG: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("cholesky", lambda m, a: m.linalg.cholesky(a), (SPD,)),
    ("cholesky upper", lambda m, a: m.linalg.cholesky(a, upper=True), (SPD,)),
    ("cholesky not pd", lambda m, a: m.linalg.cholesky(a), (-SPD,)),
    ("cholesky int", lambda m, a: m.linalg.cholesky(a), (np.eye(3, dtype=np.int32),)),
    ("det", lambda m, a: m.linalg.det(a), (A,)),
    ("det 2x2", lambda m, a: m.linalg.det(a[:2, :2]), (A,)),
    ("det batch", lambda m, a: m.linalg.det(a), (BATCH,)),
    ("det 5x5", lambda m, a: m.linalg.det(a), (_RNG.standard_normal((5, 5)),)),
    ("det singular", lambda m, a: m.linalg.det(a), (SINGULAR,)),
    ("det not square", lambda m, a: m.linalg.det(a), (TALL,)),
    ("slogdet", lambda m, a: tuple(m.linalg.slogdet(a)), (A,)),
    ("slogdet batch", lambda m, a: tuple(m.linalg.slogdet(a)), (BATCH,)),
    ("slogdet 1x1", lambda m, a: tuple(m.linalg.slogdet(a[:1, :1])), (A,)),
    ("slogdet singular", lambda m, a: tuple(m.linalg.slogdet(a)), (SINGULAR,)),
    ("slogdet bad method", lambda m, a: m.linalg.slogdet(a, method="x"), (A,)),
    ("eigh", lambda m, a: tuple(m.linalg.eigh(a)), (SPD,)),
    ("eigh upper", lambda m, a: tuple(m.linalg.eigh(a, UPLO="U", symmetrize_input=False)),
     (SPD,)),
    ("eigh bad uplo", lambda m, a: m.linalg.eigh(a, UPLO="X"), (SPD,)),
    ("eigvalsh", lambda m, a: m.linalg.eigvalsh(a), (SPD,)),
    ("inv", lambda m, a: m.linalg.inv(a), (A,)),
    ("inv batch", lambda m, a: m.linalg.inv(a), (BATCH,)),
    ("inv vector", lambda m, a: m.linalg.inv(a), (V,)),
    ("pinv tall", lambda m, a: m.linalg.pinv(a), (TALL,)),
    ("pinv wide", lambda m, a: m.linalg.pinv(a), (WIDE,)),
    ("pinv hermitian", lambda m, a: m.linalg.pinv(a, hermitian=True), (SPD,)),
    ("solve", lambda m, a, b: m.linalg.solve(a, b), (A, B)),
    ("solve vector", lambda m, a, b: m.linalg.solve(a, b), (A, V)),
    ("solve batch", lambda m, a, b: m.linalg.solve(a, b), (BATCH, BATCH)),
    ("solve broadcast", lambda m, a, b: m.linalg.solve(a, b), (BATCH, BATCH[0])),
    ("solve bad", lambda m, a, b: m.linalg.solve(a, b), (A, V[:3])),
    ("solve bad matrix", lambda m, a, b: m.linalg.solve(a, b), (A, B[:3])),
    ("lstsq", lambda m, a, b: m.linalg.lstsq(a, b), (TALL, TALL[:, :2] @ np.ones((2, 2)))),
    ("lstsq vector", lambda m, a, b: m.linalg.lstsq(a, b), (TALL, TALL[:, 0])),
    ("qr", lambda m, a: tuple(m.linalg.qr(a)), (TALL,)),
    ("qr complete", lambda m, a: tuple(m.linalg.qr(a, mode="complete")), (TALL,)),
    ("qr r", lambda m, a: m.linalg.qr(a, mode="r"), (WIDE,)),
    ("qr bad mode", lambda m, a: m.linalg.qr(a, mode="bad"), (WIDE,)),
    ("svd", lambda m, a: tuple(m.linalg.svd(a, full_matrices=False)), (TALL,)),
    ("svd full", lambda m, a: tuple(m.linalg.svd(a)), (WIDE,)),
    ("svd hermitian", lambda m, a: tuple(m.linalg.svd(a, hermitian=True)), (SPD,)),
    ("svd values", lambda m, a: m.linalg.svd(a, compute_uv=False), (BATCH,)),
    ("svdvals", lambda m, a: m.linalg.svdvals(a), (TALL,)),
    ("matrix_power 5", lambda m, a: m.linalg.matrix_power(a, 5), (A,)),
    ("matrix_power 0", lambda m, a: m.linalg.matrix_power(a, 0), (BATCH,)),
    ("matrix_power -2", lambda m, a: m.linalg.matrix_power(a, -2), (A,)),
    ("matrix_power bad", lambda m, a: m.linalg.matrix_power(a, 2), (TALL,)),
    ("matrix_rank", lambda m, a: m.linalg.matrix_rank(a @ a.T), (TALL,)),
    ("matrix_rank tol", lambda m, a: m.linalg.matrix_rank(a, rtol=0.5), (TALL,)),
    ("multi_dot", lambda m, a, b: m.linalg.multi_dot([a, b, b.T, a[0]]), (A, B)),
    ("multi_dot vector first", lambda m, a, b: m.linalg.multi_dot([a[0], a, b]), (A, B)),
    ("multi_dot bad", lambda m, a, b: m.linalg.multi_dot([a, a[:2]]), (A, B)),
    ("tensorsolve", lambda m, a, b: m.linalg.tensorsolve(a.reshape(2, 2, 4), b[:, 0].reshape(
        2, 2)), (A, B)),
    ("tensorinv", lambda m, a: m.linalg.tensorinv(a.reshape(2, 2, 4), 2), (A,)),
    ("cond", lambda m, a: m.linalg.cond(a), (A,)),
    ("cond 1", lambda m, a: m.linalg.cond(a, 1), (A,)),
    ("cond -2", lambda m, a: m.linalg.cond(a, -2), (TALL,)),
    ("vecdot", lambda m, a, b: m.linalg.vecdot(a, b[:, 0]), (A, B)),
    ("matrix_norm", lambda m, a: m.linalg.matrix_norm(a, ord=2), (BATCH,)),
    ("trace", lambda m, a: m.linalg.trace(a, offset=1), (BATCH,)),
    ("diagonal", lambda m, a: m.linalg.diagonal(a, offset=-1), (BATCH,)),
    ("outer", lambda m, a: m.linalg.outer(a[0], a[1]), (A,)),
    ("cross", lambda m, a: m.linalg.cross(a[:, :3], a[:, 1:]), (A,)),
    ("float64", lambda m, a: m.linalg.inv(a), (A64,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in LINALG], ids=[c[0] for c in LINALG])
def test_linalg_matches_jax(f: Fn, args: tuple[Any, ...]) -> None:
    """Values, dtypes and shapes (or the error class) as ``jax.numpy.linalg``'s."""
    check(f, *args, tol=1e-4)


GRADS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("det", lambda m, a: m.linalg.det(a), (A,)),
    ("det 5x5", lambda m, a: m.linalg.det(a), (_RNG.standard_normal((5, 5)).astype(np.float32),)),
    ("det singular", lambda m, a: m.linalg.det(a), (SINGULAR,)),
    ("slogdet", lambda m, a: m.linalg.slogdet(a)[1], (A,)),
    ("slogdet 2x2", lambda m, a: m.linalg.slogdet(a[:2, :2])[1], (A,)),
    ("inv", lambda m, a: m.linalg.inv(a), (A,)),
    ("pinv tall", lambda m, a: m.linalg.pinv(a), (TALL,)),
    ("pinv wide", lambda m, a: m.linalg.pinv(a), (WIDE,)),
    ("solve", lambda m, a: m.linalg.solve(a, a[:, :2] + 1), (A,)),
    ("cholesky", lambda m, a: m.linalg.cholesky(a), (SPD,)),
    ("eigh values", lambda m, a: m.linalg.eigh(a)[0], (SPD,)),
    ("svd values tall", lambda m, a: m.linalg.svd(a, full_matrices=False)[1], (TALL,)),
    ("svd vectors wide", lambda m, a: abs(m.linalg.svd(a, full_matrices=False)[2]), (WIDE,)),
    ("qr tall complete", lambda m, a: abs(m.linalg.qr(a, mode="complete")[0]), (TALL,)),
    ("qr wide", lambda m, a: abs(m.linalg.qr(a)[1]), (WIDE,)),
    ("lstsq", lambda m, a: m.linalg.lstsq(a, a[:, 0] + 1)[0], (TALL,)),
    ("matrix_power", lambda m, a: m.linalg.matrix_power(a, 3), (A,)),
    ("norm nuc", lambda m, a: m.linalg.norm(a, "nuc"), (TALL,)),
]


@pytest.mark.parametrize("f,args", [c[1:] for c in GRADS], ids=[c[0] for c in GRADS])
def test_linalg_gradients_match_jax(f: Fn, args: tuple[Any, ...]) -> None:
    """``grad`` of the sum, and ``vmap`` over a batch against a loop."""
    ours = refjax.grad(lambda a: rnp.sum(f(rnp, a)))(*args)
    theirs = jax.grad(lambda a: jnp.sum(f(jnp, a)))(*args)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-3, atol=2e-3)
    stacked = np.stack([args[0], args[0] * 1.1])
    batched = refjax.vmap(lambda a: f(rnp, a))(stacked)
    for i in range(2):
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(f(rnp, stacked[i])),
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5), (2, 3, 3)], ids=str)
def test_decomposition_derivatives_by_finite_differences(shape: tuple[int, ...]) -> None:
    """Second-order checks, both modes, in float64: svd (reduced), qr (reduced and complete),
    lu, and eigh of the symmetric part."""
    from refjax.test_util import check_grads

    x = np.random.default_rng(3).standard_normal(shape)
    with refjax.enable_x64():
        check_grads(lambda a: refjax.lax.linalg.svd(a, full_matrices=False), (x,), order=2,
                    eps=1e-6)
        check_grads(lambda a: refjax.lax.linalg.qr(a, full_matrices=False), (x,), order=2,
                    eps=1e-6)
        check_grads(lambda a: refjax.lax.linalg.qr(a, full_matrices=True), (x,), order=1,
                    eps=1e-6)
        check_grads(lambda a: refjax.lax.linalg.lu(a)[0], (x,), order=2, eps=1e-6)
        if shape[-1] == shape[-2]:
            check_grads(lambda a: refjax.lax.linalg.eigh(a)[1], (x,), order=2, eps=1e-6)
            check_grads(lambda a: rnp.linalg.det(a), (x,), order=2, eps=1e-6)
