"""``refjax.scipy.linalg``: SciPy's linear algebra API, as ``jax.scipy.linalg`` (JAX 0.10.2).

Decompositions (``cholesky``, ``lu``, ``qr``, ``svd``, ``eigh``) and solves (``cho_solve``,
``lu_solve``, ``solve_triangular``, ``solve``) are ``refjax.lax.linalg``'s primitives with
SciPy's argument conventions; ``det`` and ``inv`` are ``refjax.numpy.linalg``'s. ``expm`` is
the scaling-and-squaring Pade approximation JAX uses (Higham 2005): the Pade degree and the
number of squarings are picked from the 1-norm at run time, with ``lax.switch`` and a ``scan``
of ``lax.cond``. ``block_diag``, ``toeplitz`` and ``hilbert`` build special matrices.

The functions JAX wraps in ``jit`` are wrapped in :func:`~refjax.primitives.calls.library_jit`
with the same static arguments and names (``_cholesky``, ``_cho_solve``, ``lu_factor`` ...), so
a traced program holds the same named calls. Where JAX maps a function over batch dims with
``jnp.vectorize``, refjax broadcasts the operands' batch dims and lets the primitives batch
(or maps with ``vmap`` where a function does not batch), with ``jnp.vectorize``'s shape checks
and errors.

Departures from JAX: ``solve(assume_a="pos")`` has JAX's first derivatives (those of the
linear solve, not of the Cholesky factorisation) through a ``custom_jvp``, where JAX uses
``lax.custom_linear_solve``, which refjax does not have (second derivatives agree along
Hermitian directions; and the batched-vector FutureWarning JAX's own column-by-column solve
raises for batched matrices is not raised); ``eigh`` solves the generalized problem (``b``
given, ``type=1``) by a Cholesky reduction, where JAX raises ``NotImplementedError``;
``qr(pivoting=True)`` raises ``NotImplementedError`` (no backend of refjax computes a pivoted
QR); ``lu`` of a batch raises a ValueError that says so (JAX's fails unpacking the shape).
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from refjax import dtypes, lax
from refjax.interp.batching import vmap_leading
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import (
    creation,
    manipulation,
    selection,
    tensor_contractions,
    ufuncs,
)
from refjax.numpy import linalg as jnp_linalg
from refjax.numpy._util import check_arraylike, promote_dtypes, promote_dtypes_inexact
from refjax.primitives import solves
from refjax.primitives.calls import library_jit
from refjax.primitives.decompositions import lu_solve as lu_solve_factors
from refjax.scipy.linalg_more import *  # noqa: F403  # schur, polar, sqrtm, special matrices ...

__all__ = [
    "block_diag",
    "cho_factor",
    "cho_solve",
    "cholesky",
    "det",
    "eigh",
    "expm",
    "hilbert",
    "inv",
    "lu",
    "lu_factor",
    "lu_solve",
    "qr",
    "solve",
    "solve_triangular",
    "svd",
    "toeplitz",
]


# ---------------------------------------------------------------------------------------------
# Helpers


def _H(x: Array) -> Array:  # noqa: N802  # JAX's name
    """The conjugate transpose of the trailing matrices."""
    return ufuncs.conj(manipulation.swapaxes(x, -1, -2))


def _precise_matmul(a: ArrayLike, b: ArrayLike) -> Array:
    return tensor_contractions.matmul(a, b, precision=lax.Precision.HIGHEST)


_CORE: Final = re.compile(r"\(([^()]*)\)")


def _vectorize(signature: str, fun: Callable[..., Any], *args: Array,
               batched: bool = True) -> Any:
    """``fun`` on ``args`` whose trailing dims are the core dims of ``signature``'s inputs
    (``"(n,n),(n)->(n)"``), the leading batch dims broadcast together: ``jnp.vectorize``'s
    effect and errors. With ``batched``, ``fun`` maps over the batch dims itself (the
    decomposition primitives do); else it is mapped with ``vmap``, one batch dim at a time."""
    context = f"on vectorized function with excluded=frozenset() and signature={signature!r}"
    cores = [tuple(d.strip() for d in group.split(",") if d.strip())
             for group in _CORE.findall(signature.split("->")[0])]
    sizes: dict[str, int] = {}
    batch_shapes = []
    for arg, dims in zip(args, cores, strict=True):
        if arg.ndim < len(dims):
            raise ValueError(f"input with shape {arg.shape!r} does not have enough dimensions "
                             f"for all core dimensions {dims!r} {context}")
        nbatch = arg.ndim - len(dims)
        for name, size in zip(dims, arg.shape[nbatch:], strict=True):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"inconsistent size for core dimension {name!r}: {size!r} vs "
                                 f"{sizes[name]!r} {context}")
        batch_shapes.append(arg.shape[:nbatch])
    batch = manipulation.broadcast_shapes(*batch_shapes)
    full = [manipulation.broadcast_to(a, (*batch, *a.shape[a.ndim - len(dims):]))
            if a.shape[:a.ndim - len(dims)] != batch else a
            for a, dims in zip(args, cores, strict=True)]
    if batched or not batch:
        return fun(*full)
    mapped = fun
    for _ in batch:
        mapped = functools.partial(vmap_leading, mapped)
    return mapped(*full)


def _solve_signature(name: str, a: Array, b: Array, extra: str = "") -> str:
    """The vectorize signature of a solve with ``b`` one vector (``b.ndim == 1``), a batch of
    vectors (the deprecated reading of ``b`` one rank below ``a`` with matching last dims, with
    JAX's FutureWarning) or matrices."""
    if b.ndim == 1:
        return f"(n,n),{extra}(n)->(n)"
    if a.ndim == b.ndim + 1 and a.shape[-1] == b.shape[-1]:
        call = {"cho_solve": "cho_solve(c_and_lower, b[..., None])",
                "lu_solve": "lu_solve(lu_and_piv, b[..., None])",
                "solve_triangular": "solve_triangular(a, b[..., None])"}[name]
        warnings.warn(
            f"jax.scipy.linalg.{name}: batched 1D solves with b.ndim > 1 are deprecated, and "
            "in the future will be treated as a batched 2D solve. Use "
            f"{call}.squeeze(-1) to avoid this warning.", category=FutureWarning, stacklevel=4)
        return f"(n,n),{extra}(n)->(n)"
    return f"(n,n),{extra}(n,k)->(n,k)"


# ---------------------------------------------------------------------------------------------
# Cholesky


@library_jit(static_argnames=("lower",))
def _cholesky(a: ArrayLike, lower: bool) -> Array:
    (arr,) = promote_dtypes_inexact(creation.asarray(a))
    factor = lax.linalg.cholesky(arr if lower else _H(arr), symmetrize_input=False)
    return factor if lower else _H(factor)


def cholesky(a: ArrayLike, lower: bool = False, overwrite_a: bool = False,
             check_finite: bool = True) -> Array:
    """The Cholesky factor of Hermitian positive-definite ``a`` (``..., n, n``): upper ``U``
    with ``a = U^H @ U`` by default, lower ``L`` with ``a = L @ L^H`` if ``lower``. Only the
    named triangle of ``a`` is read; NaNs where ``a`` is not positive definite.
    ``overwrite_a`` and ``check_finite`` are accepted and ignored (as JAX)."""
    del overwrite_a, check_finite
    return _cholesky(a, lower)


def cho_factor(a: ArrayLike, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Array, bool]:
    """``(c, lower)``: ``a``'s Cholesky factor (as :func:`cholesky`) and which triangle it is,
    to pass to :func:`cho_solve`. (SciPy leaves garbage in the other triangle; here it is
    zero.)"""
    del overwrite_a, check_finite
    return cholesky(a, lower=lower), lower


def _cho_solve_core(c: Array, b: Array, lower: bool, signature: str) -> Array:
    """Two triangular solves with the factor ``c`` (``a = c @ c^H`` if ``lower``, else
    ``a = c^H @ c``)."""

    def solve(transpose: bool) -> Callable[[Array, Array], Array]:
        return functools.partial(lax.linalg.triangular_solve, left_side=True, lower=lower,
                                 transpose_a=transpose, conjugate_a=transpose)

    y: Array = _vectorize(signature, solve(not lower), c, b)
    x: Array = _vectorize(signature, solve(lower), c, y)
    return x


@library_jit(static_argnames=("lower",))
def _cho_solve(c: ArrayLike, b: ArrayLike, lower: bool) -> Array:
    c_arr, b_arr = promote_dtypes_inexact(creation.asarray(c), creation.asarray(b))
    signature = _solve_signature("cho_solve", c_arr, b_arr)
    return _cho_solve_core(c_arr, b_arr, lower, signature)


def cho_solve(c_and_lower: tuple[ArrayLike, bool], b: ArrayLike, overwrite_b: bool = False,
              check_finite: bool = True) -> Array:
    """``x`` solving ``a @ x = b`` from ``(c, lower) = cho_factor(a)``; ``b`` a vector
    (``n``) or matrices (``..., n, k``), batch dims broadcast with ``c``'s."""
    del overwrite_b, check_finite
    c, lower = c_and_lower
    return _cho_solve(c, b, lower)


# ---------------------------------------------------------------------------------------------
# Triangular solves


_TRANS: Final[dict[int | str, tuple[bool, bool]]] = {
    0: (False, False), "N": (False, False),
    1: (True, False), "T": (True, False),
    2: (True, True), "C": (True, True),
}


@library_jit(static_argnames=("trans", "lower", "unit_diagonal"))
def _solve_triangular(a: ArrayLike, b: ArrayLike, trans: int | str, lower: bool,
                      unit_diagonal: bool) -> Array:
    try:
        transpose_a, conjugate_a = _TRANS[trans]
    except (KeyError, TypeError):
        raise ValueError(f"Invalid 'trans' value {trans}") from None
    a_arr, b_arr = promote_dtypes_inexact(creation.asarray(a), creation.asarray(b))
    signature = _solve_signature("solve_triangular", a_arr, b_arr)
    solve = functools.partial(lax.linalg.triangular_solve, left_side=True, lower=lower,
                              transpose_a=transpose_a, conjugate_a=conjugate_a,
                              unit_diagonal=unit_diagonal)
    out: Array = _vectorize(signature, solve, a_arr, b_arr)
    return out


def solve_triangular(a: ArrayLike, b: ArrayLike, trans: int | str = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False, debug: Any = None,
                     check_finite: bool = True) -> Array:
    """``x`` solving ``op(a) @ x = b`` for triangular ``a`` (its ``lower`` or upper triangle
    read; ones assumed on the diagonal with ``unit_diagonal``), ``op`` the identity
    (``trans`` 0 or "N"), the transpose (1, "T") or the conjugate transpose (2, "C")."""
    del overwrite_b, debug, check_finite
    return _solve_triangular(a, b, trans, lower, unit_diagonal)


# ---------------------------------------------------------------------------------------------
# LU


@library_jit(static_argnames=("overwrite_a", "check_finite"))
def lu_factor(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True
              ) -> tuple[Array, Array]:
    """``(lu, piv)``: ``a``'s LU factors with partial pivoting packed in one matrix (``L``
    unit lower triangular below the diagonal, ``U`` on and above it) and the row swaps
    (int32: row ``i`` was swapped with row ``piv[i]``), for :func:`lu_solve`."""
    del overwrite_a, check_finite
    (arr,) = promote_dtypes_inexact(creation.asarray(a))
    factors, pivots, _ = lax.linalg.lu(arr)
    return factors, pivots


@library_jit(static_argnames=("trans", "overwrite_b", "check_finite"))
def lu_solve(lu_and_piv: tuple[ArrayLike, ArrayLike], b: ArrayLike, trans: int = 0,
             overwrite_b: bool = False, check_finite: bool = True) -> Array:
    """``x`` solving ``a @ x = b`` (``trans`` 0), ``a^T @ x = b`` (1) or ``a^H @ x = b`` (2)
    from ``(lu, piv) = lu_factor(a)``; ``b`` a vector or matrices, batch dims broadcast."""
    del overwrite_b, check_finite
    factors, pivots = lu_and_piv
    lu_arr, b_arr = promote_dtypes_inexact(creation.asarray(factors), creation.asarray(b))
    if trans not in (0, 1, 2):
        raise ValueError(f"'trans' value must be 0, 1, or 2, got {trans}")
    m = lu_arr.shape[-2]
    perm = lax.linalg.lu_pivots_to_permutation(pivots, m)
    signature = _solve_signature("lu_solve", lu_arr, b_arr, extra="(n),")
    out: Array = _vectorize(signature, functools.partial(lu_solve_factors, trans=trans),
                            lu_arr, perm, b_arr)
    return out


@library_jit(static_argnames=("permute_l",))
def _lu(a: ArrayLike, permute_l: bool) -> tuple[Array, ...]:
    (arr,) = promote_dtypes_inexact(creation.asarray(a))
    factors, _, permutation = lax.linalg.lu(arr)
    if arr.ndim != 2:  # as JAX's, which unpacks the shape into (m, n)
        raise ValueError(f"jax.scipy.linalg.lu takes a single matrix (2 dims); got shape "
                         f"{arr.shape}")
    m, n = arr.shape
    dtype = arr.dtype
    k = min(m, n)
    rows = creation.arange(m, dtype=permutation.dtype)
    p = ufuncs.real(creation.array(ufuncs.equal(permutation[None, :], rows[:, None]),
                                   dtype=dtype))
    lower = ufuncs.add(selection.tril(factors, -1)[:, :k], creation.eye(m, k, dtype=dtype))
    upper = selection.triu(factors)[:k, :]
    if permute_l:
        return _precise_matmul(p, lower), upper
    return p, lower, upper


@library_jit(static_argnames=("permute_l", "overwrite_a", "check_finite"))
def lu(a: ArrayLike, permute_l: bool = False, overwrite_a: bool = False,
       check_finite: bool = True) -> tuple[Array, ...]:
    """``(p, l, u)`` with ``a = p @ l @ u`` (``p`` a permutation matrix, ``l`` unit lower
    triangular ``m x k``, ``u`` upper triangular ``k x n``, ``k = min(m, n)``); with
    ``permute_l``, ``(p @ l, u)``. ``a`` is one matrix."""
    del overwrite_a, check_finite
    return _lu(a, permute_l)


# ---------------------------------------------------------------------------------------------
# QR, SVD and eigh


@library_jit(static_argnames=("mode", "pivoting"))
def _qr(a: ArrayLike, mode: str, pivoting: bool) -> tuple[Array, ...]:
    if mode in ("full", "r"):
        full_matrices = True
    elif mode == "economic":
        full_matrices = False
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    if pivoting:
        raise NotImplementedError(
            "refjax.scipy.linalg.qr(pivoting=True): no refjax backend computes a QR "
            "decomposition with column pivoting (LAPACK's geqp3); use pivoting=False")
    (arr,) = promote_dtypes_inexact(creation.asarray(a))
    q, r = lax.linalg.qr(arr, pivoting=False, full_matrices=full_matrices)
    return (r,) if mode == "r" else (q, r)


def qr(a: ArrayLike, overwrite_a: bool = False, lwork: Any = None, mode: str = "full",
       pivoting: bool = False, check_finite: bool = True) -> tuple[Array, ...]:
    """``(q, r)`` with ``a = q @ r``, ``q`` unitary and ``r`` upper triangular: ``q`` square
    (``mode`` "full") or ``m x k`` ("economic", ``k = min(m, n)``); ``(r,)`` alone for "r"
    (its full ``m x n`` form, as SciPy). ``pivoting=True`` is not supported."""
    del overwrite_a, lwork, check_finite
    return _qr(a, mode, pivoting)


@library_jit(static_argnames=("full_matrices", "compute_uv"))
def _svd(a: ArrayLike, *, full_matrices: bool, compute_uv: bool
         ) -> Array | tuple[Array, Array, Array]:
    (arr,) = promote_dtypes_inexact(creation.asarray(a))
    return lax.linalg.svd(arr, full_matrices=full_matrices, compute_uv=compute_uv)


def svd(a: ArrayLike, full_matrices: bool = True, compute_uv: bool = True,
        overwrite_a: bool = False, check_finite: bool = True, lapack_driver: str = "gesdd"
        ) -> Array | tuple[Array, Array, Array]:
    """``(u, s, vh)`` with ``a = u @ diag(s) @ vh``, ``s`` descending; ``u`` and ``vh``
    square unless not ``full_matrices``; ``s`` alone unless ``compute_uv``."""
    del overwrite_a, check_finite, lapack_driver
    return _svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


@library_jit(static_argnames=("lower", "eigvals_only", "eigvals", "type"))
def _eigh(a: ArrayLike, b: ArrayLike | None, lower: bool, eigvals_only: bool,
          eigvals: None, type: int) -> Array | tuple[Array, Array]:  # noqa: A002  # SciPy's
    if type != 1:
        raise NotImplementedError("Only the type=1 case of eigh is implemented.")
    if eigvals is not None:
        raise NotImplementedError("Only the eigvals=None case of eigh is implemented.")
    if b is None:
        (arr,) = promote_dtypes_inexact(creation.asarray(a))
        v, w = lax.linalg.eigh(arr, lower=lower)
    else:
        arr, b_arr = promote_dtypes_inexact(creation.asarray(a), creation.asarray(b))
        v, w = _generalized_eigh(arr, b_arr, lower)
    return w if eigvals_only else (w, v)


def _generalized_eigh(a: Array, b: Array, lower: bool) -> tuple[Array, Array]:
    """``a @ v = b @ v @ diag(w)`` for Hermitian ``a`` and positive-definite ``b``, reduced
    with ``b = L @ L^H`` to the standard problem of ``C = L^-1 @ a @ L^-H``; ``v = L^-H @ y``
    from ``C``'s eigenvectors ``y``, so that ``v^H @ b @ v = I`` (SciPy's normalisation)."""
    factor = lax.linalg.cholesky(b)  # (b's Hermitian part, as a's in eigh)
    shape = manipulation.broadcast_shapes(a.shape[:-2], factor.shape[:-2])
    a = manipulation.broadcast_to(a, (*shape, *a.shape[-2:]))
    factor = manipulation.broadcast_to(factor, (*shape, *factor.shape[-2:]))
    left = lax.linalg.triangular_solve(factor, a, left_side=True, lower=True)
    c = lax.linalg.triangular_solve(factor, left, left_side=False, lower=True,
                                    transpose_a=True, conjugate_a=True)
    y, w = lax.linalg.eigh(c, lower=lower)
    v = lax.linalg.triangular_solve(factor, y, left_side=True, lower=True, transpose_a=True,
                                    conjugate_a=True)
    return v, w


def eigh(a: ArrayLike, b: ArrayLike | None = None, lower: bool = True,
         eigvals_only: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
         turbo: bool = True, eigvals: None = None, type: int = 1,  # noqa: A002  # SciPy's
         check_finite: bool = True) -> Array | tuple[Array, Array]:
    """``(w, v)``: the real eigenvalues (ascending) and eigenvectors (columns) of Hermitian
    ``a`` (its Hermitian part is decomposed), or only ``w`` with ``eigvals_only``. With ``b``
    (Hermitian positive definite) the generalized problem ``a @ v = w * b @ v``, ``v``
    normalised to ``v^H @ b @ v = I`` (JAX raises NotImplementedError there). Only
    ``type=1`` and ``eigvals=None`` are supported."""
    del overwrite_a, overwrite_b, turbo, check_finite
    return _eigh(a, b, lower, eigvals_only, eigvals, type)


# ---------------------------------------------------------------------------------------------
# Determinants, inverses and solves


def det(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The determinant of square ``a`` (``jnp.linalg.det``)."""
    del overwrite_a, check_finite
    return jnp_linalg.det(a)


def inv(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The inverse of square ``a`` (``jnp.linalg.inv``)."""
    del overwrite_a, check_finite
    return jnp_linalg.inv(a)


def _pos_solve(a: Array, b: Array, lower: bool) -> Array:
    """The positive-definite solve as JAX's: Cholesky factors of ``a`` (outside
    differentiation) in a symmetric ``custom_linear_solve``, whose derivatives reuse them."""
    factors = cho_factor(lax.stop_gradient(a), lower=lower)

    def solve_one(x: Array) -> Array:
        out: Array = lax.custom_linear_solve(
            lambda v: solves.broadcasted_matvec(a, v), x,
            solve=lambda _, v: cho_solve(factors, v), symmetric=True)
        return out

    return solves.solve_by_columns(solve_one, a, b)


@library_jit(static_argnames=("assume_a", "lower"))
def _solve(a: ArrayLike, b: ArrayLike, assume_a: str, lower: bool) -> Array:
    if assume_a != "pos":
        return jnp_linalg.solve(a, b)
    a_arr, b_arr = promote_dtypes_inexact(creation.asarray(a), creation.asarray(b))
    solves.check_solve_shapes(a_arr, b_arr)
    return _pos_solve(a_arr, b_arr, lower)


_ASSUME_A: Final = ["gen", "sym", "her", "pos"]


def solve(a: ArrayLike, b: ArrayLike, lower: bool = False, overwrite_a: bool = False,
          overwrite_b: bool = False, debug: bool = False, check_finite: bool = True,
          assume_a: str = "gen") -> Array:
    """``x`` solving ``a @ x = b``: by LU (``assume_a`` "gen", "sym", "her") or, for
    positive-definite ``a`` ("pos"), by Cholesky on its ``lower`` (or upper) triangle."""
    del overwrite_a, overwrite_b, debug, check_finite
    if assume_a not in _ASSUME_A:
        raise ValueError(f"Expected assume_a to be one of {_ASSUME_A}; got {assume_a!r}")
    return _solve(a, b, assume_a, lower)


# ---------------------------------------------------------------------------------------------
# The matrix exponential


def _identity_like(a: Array) -> Array:
    return creation.eye(a.shape[0], a.shape[1], dtype=a.dtype)


def _poly(terms: Sequence[tuple[float, Array]]) -> Array:
    """``sum(c * x for c, x in terms)``."""
    total = ufuncs.multiply(terms[0][0], terms[0][1])
    for coef, x in terms[1:]:
        total = ufuncs.add(total, ufuncs.multiply(coef, x))
    return total


def _pade3(a: Array) -> tuple[Array, Array]:
    b = (120.0, 60.0, 12.0, 1.0)
    ident = _identity_like(a)
    a2 = _precise_matmul(a, a)
    u = _precise_matmul(a, _poly([(b[3], a2), (b[1], ident)]))
    v = _poly([(b[2], a2), (b[0], ident)])
    return u, v


def _pade5(a: Array) -> tuple[Array, Array]:
    b = (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0)
    ident = _identity_like(a)
    a2 = _precise_matmul(a, a)
    a4 = _precise_matmul(a2, a2)
    u = _precise_matmul(a, _poly([(b[5], a4), (b[3], a2), (b[1], ident)]))
    v = _poly([(b[4], a4), (b[2], a2), (b[0], ident)])
    return u, v


def _pade7(a: Array) -> tuple[Array, Array]:
    b = (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0)
    ident = _identity_like(a)
    a2 = _precise_matmul(a, a)
    a4 = _precise_matmul(a2, a2)
    a6 = _precise_matmul(a4, a2)
    u = _precise_matmul(a, _poly([(b[7], a6), (b[5], a4), (b[3], a2), (b[1], ident)]))
    v = _poly([(b[6], a6), (b[4], a4), (b[2], a2), (b[0], ident)])
    return u, v


def _pade9(a: Array) -> tuple[Array, Array]:
    b = (17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0,
         110880.0, 3960.0, 90.0, 1.0)
    ident = _identity_like(a)
    a2 = _precise_matmul(a, a)
    a4 = _precise_matmul(a2, a2)
    a6 = _precise_matmul(a4, a2)
    a8 = _precise_matmul(a6, a2)
    u = _precise_matmul(a, _poly([(b[9], a8), (b[7], a6), (b[5], a4), (b[3], a2),
                                  (b[1], ident)]))
    v = _poly([(b[8], a8), (b[6], a6), (b[4], a4), (b[2], a2), (b[0], ident)])
    return u, v


def _pade13(a: Array) -> tuple[Array, Array]:
    b = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
         129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
         40840800.0, 960960.0, 16380.0, 182.0, 1.0)
    ident = _identity_like(a)
    a2 = _precise_matmul(a, a)
    a4 = _precise_matmul(a2, a2)
    a6 = _precise_matmul(a4, a2)
    inner_u = _precise_matmul(a6, _poly([(b[13], a6), (b[11], a4), (b[9], a2)]))
    u = _precise_matmul(a, ufuncs.add(inner_u, _poly([(b[7], a6), (b[5], a4), (b[3], a2),
                                                     (b[1], ident)])))
    inner_v = _precise_matmul(a6, _poly([(b[12], a6), (b[10], a4), (b[8], a2)]))
    v = ufuncs.add(inner_v, _poly([(b[6], a6), (b[4], a4), (b[2], a2), (b[0], ident)]))
    return u, v


# Per precision: the largest 1-norm the highest degree approximates well (scaled down to it by
# squarings), the degrees, and the 1-norm up to which each lower degree suffices (Higham).
_PADE: Final[dict[str, tuple[float, list[Callable[[Array], tuple[Array, Array]]],
                             list[float]]]] = {
    "64": (5.371920351148152, [_pade3, _pade5, _pade7, _pade9, _pade13],
           [1.495585217958292e-002, 2.539398330063230e-001, 9.504178996162932e-001,
            2.097847961257068e+000]),
    "32": (3.925724783138660, [_pade3, _pade5, _pade7],
           [4.258730016922831e-001, 1.880152677804762e+000]),
}


@library_jit()
def _calc_P_Q(a: Array) -> tuple[Array, Array, Array]:  # noqa: N802  # JAX's name
    """``(P, Q, n_squarings)``: the numerator and denominator of the Pade approximant of
    ``a / 2**n_squarings``, its degree chosen from ``a``'s 1-norm."""
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError("expected A to be a square matrix")
    if a.dtype in (np.dtype(np.float64), np.dtype(np.complex128)):
        maxnorm, degrees, bounds = _PADE["64"]
    elif a.dtype in (np.dtype(np.float32), np.dtype(np.complex64)):
        maxnorm, degrees, bounds = _PADE["32"]
    else:
        raise TypeError(f"A.dtype={a.dtype} is not supported.")
    norm = jnp_linalg.norm(a, 1)
    n_squarings = ufuncs.maximum(0, ufuncs.floor(ufuncs.log2(ufuncs.divide(norm, maxnorm))))
    scaled = ufuncs.divide(a, ufuncs.power(2, n_squarings.astype(a.dtype)))
    # jnp.digitize(norm, bounds): how many bounds are not above the norm (all for a NaN norm,
    # which sorts last), from scalar comparisons (no array constant staged)
    above = [ufuncs.logical_not(ufuncs.less(norm, bound)).astype(np.int32) for bound in bounds]
    idx = functools.reduce(ufuncs.add, above)
    u, v = lax.switch(idx, degrees, scaled)
    return ufuncs.add(u, v), ufuncs.add(ufuncs.negative(u), v), n_squarings


@library_jit(static_argnames=("max_squarings",))
def _squaring(r: Array, n_squarings: Array, max_squarings: int) -> Array:
    """``r`` squared ``n_squarings`` times: a scan of ``max_squarings`` conditional steps."""

    def step(c: Array, i: Array) -> tuple[Array, None]:
        squared: Array = lax.cond(ufuncs.less(i, n_squarings),
                                  lambda x: _precise_matmul(x, x), lambda x: x, c)
        return squared, None

    out, _ = lax.scan(step, r, creation.arange(max_squarings, dtype=n_squarings.dtype))
    squared: Array = out
    return squared


@library_jit(static_argnames=("upper_triangular", "max_squarings"))
def expm(A: ArrayLike, *, upper_triangular: bool = False,  # noqa: N803  # SciPy's name
         max_squarings: int = 16) -> Array:
    """The matrix exponential of (batched) square ``A``, by scaling and squaring with a Pade
    approximant (degree 3 to 13 in float64, 3 to 7 in float32). ``upper_triangular`` solves the
    approximant's system by back substitution; NaNs where more than ``max_squarings``
    squarings would be needed."""
    (arr,) = promote_dtypes_inexact(A)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"Expected A to be a (batched) square matrix, got A.shape={arr.shape}.")
    if arr.ndim > 2:
        one = functools.partial(expm, upper_triangular=upper_triangular,
                                max_squarings=max_squarings)
        mapped: Array = _vectorize("(n,n)->(n,n)", one, arr, batched=False)
        return mapped
    p, q, n_squarings = _calc_P_Q(arr)

    def nan(operands: tuple[Array, Array, Array]) -> Array:
        return creation.full_like(operands[0], np.nan)

    def compute(operands: tuple[Array, Array, Array]) -> Array:
        _, num, den = operands
        r = solve_triangular(den, num) if upper_triangular else jnp_linalg.solve(den, num)
        return _squaring(r, n_squarings, max_squarings)

    out: Array = lax.cond(ufuncs.greater(n_squarings, max_squarings), nan, compute,
                          (arr, p, q))
    return out


# ---------------------------------------------------------------------------------------------
# Special matrices


@library_jit()
def block_diag(*arrs: ArrayLike) -> Array:
    """The block-diagonal matrix of ``arrs`` (each at most 2-D: scalars and vectors are
    1 x 1 and 1 x n blocks), in their common dtype."""
    if not arrs:
        arrs = (creation.zeros((1, 0)),)
    promoted = promote_dtypes(*arrs)
    bad = [i for i, a in enumerate(promoted) if a.ndim > 2]
    if bad:
        raise ValueError("Arguments to jax.scipy.linalg.block_diag must have at most 2 "
                         f"dimensions, got {promoted[bad[0]]} at argument {bad[0]}.")
    blocks: list[Array] = [manipulation.atleast_2d(a) for a in promoted]
    dtype = blocks[0].dtype
    total = sum(b.shape[1] for b in blocks)
    padded = []
    col = 0
    for block in blocks:
        cols = block.shape[1]
        padded.append(lax.pad(block, dtype.type(0), ((0, 0, 0), (col, total - cols - col, 0))))
        col += cols
    return manipulation.concatenate(padded, axis=0)


def _toeplitz(c: Array, r: Array) -> Array:
    """The Toeplitz matrix of first column ``c`` and first row ``r`` (``r[0]`` unread)."""
    (ncols,), (nrows,) = c.shape, r.shape
    if ncols == 0 or nrows == 0:
        return creation.empty((ncols, nrows), dtype=dtypes.promote_types(c.dtype, r.dtype))
    # elems[k] = c[ncols-1-k] (k < ncols), else r[k-ncols+1]; row i of the sliding windows
    # elems[i:i+nrows], flipped upside down, is the matrix.
    elems = manipulation.concatenate((c[::-1], r[1:]))
    starts = lax.broadcasted_iota(np.dtype(np.int32), (ncols, nrows), 0)
    offsets = lax.broadcasted_iota(np.dtype(np.int32), (ncols, nrows), 1)
    windows = elems[ufuncs.add(starts, offsets)]
    # (JAX takes the windows with conv_general_dilated_patches, whose result is never weak)
    strong = lax.convert_element_type(windows, windows.dtype)
    return manipulation.flip(strong, axis=0)


def toeplitz(c: ArrayLike, r: ArrayLike | None = None) -> Array:
    """The Toeplitz matrix with first column ``c`` and first row ``r`` (``conj(c)`` by
    default; ``c[0]`` wins on the diagonal); leading dims of ``c`` and ``r`` are batch dims,
    broadcast together."""
    if r is None:
        check_arraylike("toeplitz", c)
        r = ufuncs.conjugate(creation.asarray(c))
    else:
        check_arraylike("toeplitz", c, r)
    c_arr = manipulation.atleast_1d(creation.asarray(c))
    r_arr = manipulation.atleast_1d(creation.asarray(r))
    out: Array = _vectorize("(m),(n)->(m,n)", _toeplitz, c_arr, r_arr, batched=False)
    return out


@library_jit(static_argnames=("n",))
def hilbert(n: int) -> Array:
    """The ``n x n`` Hilbert matrix, ``1 / (i + j + 1)`` (in the default float dtype)."""
    a = lax.broadcasted_iota(dtypes.canonicalize_dtype(float), (n, 1), 0)
    return ufuncs.divide(1, ufuncs.add(ufuncs.add(a, a.T), 1))
