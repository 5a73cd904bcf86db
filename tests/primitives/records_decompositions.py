"""Op records for the decompositions and solves of ``lax.linalg``.

References: numpy's LAPACK routines (``cholesky``, ``qr``, ``eigh``, ``svd``, ``solve``) and two
written out here in plain loops (``lu`` with partial pivoting, row swaps to a permutation).
Inputs are well conditioned (diagonal shifts) and, for ``eigh`` and ``svd``, have distinct
eigenvalues and singular values, so the derivatives are defined and finite differences work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

F32, F64 = FLOAT_DTYPES
Maker = Callable[[np.random.Generator, Sequence[Shape], np.dtype[Any]], list[np.ndarray]]


def _normal(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _spd(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Symmetric positive definite, well conditioned: ``a a^T + n I``."""
    a = rng.standard_normal(shape)
    n = shape[-1]
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def _symmetric(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Symmetric with well separated eigenvalues (1, 3, 5, ...) and random eigenvectors."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    w = np.arange(n) * 2.0 + 1.0
    return ((q * w[..., None, :]) @ np.swapaxes(q, -1, -2)).astype(dtype)


def _separated(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """A matrix with well separated singular values (for svd's derivatives)."""
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((*shape[:-2], m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((*shape[:-2], n, n)))
    s = np.zeros((*shape[:-2], m, n))
    for i in range(k):
        s[..., i, i] = 1.0 + 1.5 * (k - i)
    return (u @ s @ v).astype(dtype)


def _real_spectrum(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """A non-symmetric matrix with real, well separated eigenvalues (1, 3, 5, ...):
    ``V diag(w) V^-1`` with ``V`` near the identity."""
    n = shape[-1]
    v = np.eye(n) + 0.3 * rng.standard_normal(shape)
    w = np.arange(n) * 2.0 + 1.0
    return ((v * w[..., None, :]) @ np.linalg.inv(v)).astype(dtype)


def _eigenvalues(lax: Any, x: Any) -> Any:
    """``eig``'s eigenvalues, sorted: LAPACK's order is its own, not part of the meaning."""
    w = lax.linalg.eig(x, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]
    return lax.sort(w)


def _ref_eigenvalues(x: np.ndarray) -> np.ndarray:
    out = np.sort_complex(np.linalg.eigvals(x.astype(np.float64)))
    return out.astype(np.complex64 if x.dtype == np.float32 else np.complex128)


def _well_conditioned(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]
                      ) -> np.ndarray:
    n = shape[-1]
    return (rng.standard_normal(shape) + (n + 1) * np.eye(n)).astype(dtype)


def _makers(*fns: Callable[[np.random.Generator, Shape, np.dtype[Any]], np.ndarray]) -> Maker:
    def make(rng: np.random.Generator, shapes: Sequence[Shape],
             dtype: np.dtype[Any]) -> list[np.ndarray]:
        return [fn(rng, s, dtype) for fn, s in zip(fns, shapes, strict=True)]

    return make


def _sym(x: np.ndarray) -> np.ndarray:
    return (x + np.swapaxes(x, -1, -2).conj()) / 2


def _tri(a: np.ndarray, lower: bool, unit: bool) -> np.ndarray:
    t = np.tril(a) if lower else np.triu(a)
    if unit:
        idx = np.arange(a.shape[-1])
        t = t.copy()
        t[..., idx, idx] = 1
    return t


def ref_triangular_solve(left_side: bool, lower: bool, transpose_a: bool,
                         unit_diagonal: bool) -> Callable[..., np.ndarray]:
    def ref(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        t = _tri(a.astype(np.float64), lower, unit_diagonal)
        op = np.swapaxes(t, -1, -2) if transpose_a else t
        if left_side:
            out = np.linalg.solve(op, b.astype(np.float64))
        else:  # x op = b  <=>  op^T x^T = b^T
            out = np.swapaxes(np.linalg.solve(np.swapaxes(op, -1, -2),
                                              np.swapaxes(b, -1, -2).astype(np.float64)), -1, -2)
        return out.astype(b.dtype)

    return ref


def _lu_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Doolittle with partial pivoting, one element at a time (float64)."""
    m, n = a.shape
    lu = a.astype(np.float64).copy()
    k = min(m, n)
    pivots = np.zeros(k, np.int32)
    perm = list(range(m))
    for j in range(k):
        p = max(range(j, m), key=lambda i: (abs(lu[i, j]), -i))
        pivots[j] = p
        for c in range(n):
            lu[j, c], lu[p, c] = lu[p, c], lu[j, c]
        perm[j], perm[p] = perm[p], perm[j]
        for i in range(j + 1, m):
            lu[i, j] /= lu[j, j]
            for c in range(j + 1, n):
                lu[i, c] -= lu[i, j] * lu[j, c]
    return lu.astype(a.dtype), pivots, np.asarray(perm, np.int32)


def ref_lu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    batch = x.shape[:-2]
    parts = [_lu_reference(x[idx]) for idx in np.ndindex(*batch)]
    m, n = x.shape[-2:]
    shapes = [(m, n), (min(m, n),), (m,)]
    return tuple(  # type: ignore[return-value]  # a 3-tuple built from a generator
        np.stack([p[k] for p in parts]).reshape(*batch, *shapes[k]) if parts
        else np.zeros((*batch, *shapes[k]), x.dtype if k == 0 else np.int32)
        for k in range(3)
    )


def ref_pivots_to_permutation(size: int) -> Callable[[np.ndarray], np.ndarray]:
    def ref(p: np.ndarray) -> np.ndarray:
        out = np.zeros((*p.shape[:-1], size), np.int32)
        for idx in np.ndindex(*p.shape[:-1]):
            perm = list(range(size))
            for i, j in enumerate(p[idx]):
                perm[i], perm[int(j)] = perm[int(j)], perm[i]
            out[idx] = perm
        return out

    return ref


def _pivots(rng: np.random.Generator, shapes: Sequence[Shape],
            dtype: np.dtype[Any]) -> list[np.ndarray]:
    (shape,) = shapes
    k = shape[-1]
    out = np.zeros(shape, np.int32)
    for idx in np.ndindex(*shape[:-1]):
        out[idx] = [rng.integers(i, 5) for i in range(k)]
    return [out]


def ref_tridiagonal(dl: np.ndarray, d: np.ndarray, du: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros(b.shape, b.dtype)
    for idx in np.ndindex(*d.shape[:-1]):
        n = d.shape[-1]
        a = np.zeros((n, n))
        for i in range(n):
            a[i, i] = d[idx][i]
            if i > 0:
                a[i, i - 1] = dl[idx][i]
            if i < n - 1:
                a[i, i + 1] = du[idx][i]
        out[idx] = np.linalg.solve(a, b[idx].astype(np.float64))
    return out


def _shifted_diag(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    return (rng.standard_normal(shape) + 4.0).astype(dtype)


def _records() -> list[OpRecord]:
    records: list[OpRecord] = [
        OpRecord("cholesky", lambda lax, x: lax.linalg.cholesky(x),
                 lambda x: np.linalg.cholesky(_sym(x.astype(np.float64))).astype(x.dtype),
                 [((3, 3),), ((2, 4, 4),), ((1, 1),), ((0, 0),)], FLOAT_DTYPES,
                 args_maker=_makers(_spd), tol=1e-4),
        OpRecord("eigh", lambda lax, x: lax.linalg.eigh(x),
                 lambda x: tuple(reversed(np.linalg.eigh(_sym(x)))),
                 [((3, 3),), ((2, 4, 4),), ((1, 1),)], FLOAT_DTYPES,
                 args_maker=_makers(_symmetric), tol=1e-4),
        OpRecord("eig", _eigenvalues, _ref_eigenvalues, [((3, 3),), ((2, 4, 4),), ((1, 1),)],
                 FLOAT_DTYPES, args_maker=_makers(_real_spectrum), tol=1e-4, max_order=1,
                 notes="eigenvalues only, sorted; first derivatives only, as in JAX (the JVP "
                       "needs eigenvectors, whose derivatives JAX leaves undefined)"),
        OpRecord("qr", lambda lax, x: lax.linalg.qr(x, full_matrices=False),
                 lambda x: tuple(np.linalg.qr(x, mode="reduced")),
                 [((3, 3),), ((4, 3),), ((3, 5),), ((2, 4, 2),)], FLOAT_DTYPES,
                 tol=1e-4, notes="reduced"),
        OpRecord("qr", lambda lax, x: lax.linalg.qr(x, full_matrices=True),
                 lambda x: tuple(np.linalg.qr(x, mode="complete")),
                 [((3, 3),), ((4, 2),), ((2, 3),)], FLOAT_DTYPES, tol=1e-4, notes="complete"),
        OpRecord("svd", lambda lax, x: lax.linalg.svd(x, full_matrices=False),
                 lambda x: tuple(np.linalg.svd(x, full_matrices=False)),
                 [((3, 3),), ((4, 3),), ((3, 5),), ((2, 3, 2),)], FLOAT_DTYPES,
                 args_maker=_makers(_separated), tol=1e-4),
        OpRecord("svd", lambda lax, x: lax.linalg.svd(x, compute_uv=False),
                 lambda x: np.linalg.svd(x, compute_uv=False),
                 [((3, 3),), ((4, 3),), ((2, 2, 5),)], FLOAT_DTYPES,
                 args_maker=_makers(_separated), tol=1e-4, notes="values only"),
        OpRecord("lu", lambda lax, x: lax.linalg.lu(x), ref_lu,
                 [((3, 3),), ((4, 3),), ((3, 5),), ((2, 3, 3),)], FLOAT_DTYPES,
                 tol=1e-4, differentiable=False, notes="factors, pivots and permutation"),
        OpRecord("lu", lambda lax, x: lax.linalg.lu(x)[0], lambda x: ref_lu(x)[0],
                 [((3, 3),), ((4, 3),), ((3, 5),)], FLOAT_DTYPES, tol=1e-4,
                 notes="the packed factors (differentiable)"),
        OpRecord("lu_pivots_to_permutation",
                 lambda lax, p: lax.linalg.lu_pivots_to_permutation(p, 5),
                 ref_pivots_to_permutation(5), [((3,),), ((2, 4),)],
                 (np.dtype(np.int32),), args_maker=_pivots, differentiable=False),
        OpRecord("tridiagonal_solve",
                 lambda lax, dl, d, du, b: lax.linalg.tridiagonal_solve(dl, d, du, b),
                 ref_tridiagonal, [((4,), (4,), (4,), (4, 2)), ((2, 3), (2, 3), (2, 3), (2, 3, 1))],
                 FLOAT_DTYPES, args_maker=_makers(_normal, _shifted_diag, _normal, _normal),
                 tol=1e-4),
    ]
    for left in (True, False):
        for lower in (True, False):
            for transpose in (False, True):
                for unit in (False, True):
                    a_shape, b_shape = (3, 3), ((3, 2) if left else (2, 3))
                    records.append(OpRecord(
                        "triangular_solve",
                        lambda lax, a, b, _l=left, _lo=lower, _t=transpose, _u=unit:
                            lax.linalg.triangular_solve(a, b, left_side=_l, lower=_lo,
                                                        transpose_a=_t, unit_diagonal=_u),
                        ref_triangular_solve(left, lower, transpose, unit),
                        [(a_shape, b_shape), ((2, *a_shape), (2, *b_shape))], FLOAT_DTYPES,
                        args_maker=_makers(_well_conditioned, _normal), tol=1e-4,
                        notes=f"left_side={left} lower={lower} transpose_a={transpose} "
                              f"unit_diagonal={unit}",
                    ))
    return records


RECORDS: list[OpRecord] = _records()
