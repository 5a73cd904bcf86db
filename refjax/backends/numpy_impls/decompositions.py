"""Numpy implementations of the decompositions and solves (``lax.linalg``).

Each maps over the leading batch dims. Where LAPACK (which numpy calls, as XLA's CPU backend
does) would stop with an error, the results are NaN instead, as JAX's are: ``cholesky`` of a
matrix that is not positive definite, a singular tridiagonal system. ``lu`` and
``triangular_solve`` are written out (numpy has no ``getrf`` or ``trsm``): partial pivoting on
the largest ``|re| + |im|`` (LAPACK's choice, first on ties), and substitution that divides by
a zero diagonal to give infinities, as ``trsm`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives import decompositions as dc


def _batched(fn: Callable[..., Any], *xs: NDArray, core: int = 2) -> list[NDArray]:
    """``fn`` (matrices in, a tuple of arrays out) on every batch element; results stacked."""
    batch = xs[0].shape[: xs[0].ndim - core] if core else xs[0].shape
    items = [fn(*(x[idx] for x in xs)) for idx in np.ndindex(*batch)]
    if not items:  # an empty batch: run once on zeros for the result shapes
        probe = fn(*(np.zeros(x.shape[len(batch):], x.dtype) for x in xs))
        return [np.zeros((*batch, *p.shape), p.dtype) for p in probe]
    return [np.stack([it[k] for it in items]).reshape(*batch, *items[0][k].shape)
            for k in range(len(items[0]))]


@register(dc.cholesky_p)
def _cholesky(x: NDArray) -> NDArray:
    def one(a: NDArray) -> tuple[NDArray]:
        try:
            return (np.linalg.cholesky(np.tril(a) + np.tril(a, -1).conj().T).astype(a.dtype),)
        except np.linalg.LinAlgError:
            return (np.full(a.shape, np.nan, a.dtype),)

    return _batched(one, x)[0]


def _substitute(a: NDArray, b: NDArray, lower: bool, unit: bool) -> NDArray:
    """``x`` with ``a @ x = b`` for triangular ``a`` (the other triangle ignored), row by row."""
    n = a.shape[0]
    x = np.zeros(b.shape, np.result_type(a, b))
    order = range(n) if lower else range(n - 1, -1, -1)
    with np.errstate(all="ignore"):
        for i in order:
            known = slice(0, i) if lower else slice(i + 1, n)
            row = b[i] - a[i, known] @ x[known]
            x[i] = row if unit else row / a[i, i]
    return x


@register(dc.triangular_solve_p)
def _triangular_solve(a: NDArray, b: NDArray, *, left_side: bool, lower: bool,
                      transpose_a: bool, conjugate_a: bool, unit_diagonal: bool) -> NDArray:
    def one(am: NDArray, bm: NDArray) -> tuple[NDArray]:
        op = am.conj() if conjugate_a else am
        low = lower
        if transpose_a:
            op, low = op.T, not low
        if left_side:  # op(a) @ x = b
            return (_substitute(op, bm, low, unit_diagonal).astype(b.dtype),)
        # x @ op(a) = b  <=>  op(a)^T @ x^T = b^T
        return (_substitute(op.T, bm.T, not low, unit_diagonal).T.astype(b.dtype),)

    return _batched(one, a, b)[0]


def _lu_one(a: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``getrf``: partial pivoting by the largest ``|re| + |im|``, the first on ties."""
    m, n = a.shape
    lu = a.copy()
    k = min(m, n)
    pivots = np.zeros(k, np.int32)
    perm = np.arange(m, dtype=np.int32)
    with np.errstate(all="ignore"):
        for j in range(k):
            column = lu[j:, j]
            size = np.abs(column.real) + np.abs(column.imag) if np.iscomplexobj(lu) else np.abs(
                column)
            p = j + int(np.argmax(size)) if size.size else j
            pivots[j] = p
            if p != j:
                lu[[j, p]] = lu[[p, j]]
                perm[[j, p]] = perm[[p, j]]
            if lu[j, j] != 0:
                lu[j + 1:, j] /= lu[j, j]
            lu[j + 1:, j + 1:] -= np.outer(lu[j + 1:, j], lu[j, j + 1:])
    return lu, pivots, perm


@register(dc.lu_p)
def _lu(x: NDArray) -> list[NDArray]:
    return _batched(_lu_one, x)


@register(dc.lu_pivots_to_permutation_p)
def _lu_pivots_to_permutation(pivots: NDArray, *, permutation_size: int) -> NDArray:
    def one(p: NDArray) -> tuple[NDArray]:
        perm = np.arange(permutation_size, dtype=np.int32)
        for i, j in enumerate(p):
            if 0 <= j < permutation_size:
                perm[[i, j]] = perm[[j, i]]
        return (perm,)

    return _batched(one, pivots, core=1)[0]


@register(dc.qr_p)
def _qr(x: NDArray, *, pivoting: bool, full_matrices: bool,
        use_magma: bool | None) -> list[NDArray]:
    if pivoting:
        raise NotImplementedError("qr with pivoting=True (LAPACK's geqp3) is not implemented "
                                  "on refjax's numpy backend")
    mode: Literal["complete", "reduced"] = "complete" if full_matrices else "reduced"

    def one(a: NDArray) -> tuple[NDArray, NDArray]:
        q, r = np.linalg.qr(a, mode=mode)
        return q.astype(a.dtype), r.astype(a.dtype)

    return _batched(one, x)


@register(dc.eigh_p)
def _eigh(x: NDArray, *, lower: bool, sort_eigenvalues: bool,
          subset_by_index: tuple[int, int] | None, algorithm: Any) -> list[NDArray]:
    def one(a: NDArray) -> tuple[NDArray, NDArray]:
        w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
        if subset_by_index is not None:
            lo, hi = subset_by_index
            w, v = w[lo:hi], v[:, lo:hi]
        return v.astype(a.dtype), w.astype(dc._real_dtype(a.dtype))

    return _batched(one, x)


@register(dc.svd_p)
def _svd(x: NDArray, *, full_matrices: bool, compute_uv: bool,
         subset_by_index: tuple[int, int] | None, algorithm: Any) -> list[NDArray]:
    real = dc._real_dtype(x.dtype)

    def one(a: NDArray) -> tuple[NDArray, ...]:
        lo, hi = subset_by_index if subset_by_index is not None else (0, min(a.shape))
        if not compute_uv:
            return (np.linalg.svd(a, compute_uv=False)[lo:hi].astype(real),)
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        if subset_by_index is not None:
            u, s, vh = u[:, lo:hi], s[lo:hi], vh[lo:hi]
        return s.astype(real), u.astype(a.dtype), vh.astype(a.dtype)

    return _batched(one, x)


@register(dc.tridiagonal_solve_p)
def _tridiagonal_solve(dl: NDArray, d: NDArray, du: NDArray, b: NDArray, *,
                       perturb_singular: bool) -> NDArray:
    def one(l_: NDArray, d_: NDArray, u_: NDArray, bm: NDArray) -> tuple[NDArray]:
        n = d_.shape[0]
        a = np.diag(d_) + np.diag(l_[1:], -1) + np.diag(u_[:-1], 1) if n else np.zeros((0, 0))
        try:
            return (np.linalg.solve(a.astype(bm.dtype), bm).astype(bm.dtype),)
        except np.linalg.LinAlgError:
            return (np.full(bm.shape, np.nan, bm.dtype),)

    return _tri_batched(one, dl, d, du, b)


def _tri_batched(fn: Callable[..., tuple[NDArray]], dl: NDArray, d: NDArray, du: NDArray,
                 b: NDArray) -> NDArray:
    batch = d.shape[:-1]
    out = np.zeros(b.shape, b.dtype)
    for idx in np.ndindex(*batch):
        out[idx] = fn(dl[idx], d[idx], du[idx], b[idx])[0]
    return out
