"""Decompositions and solves (``jax.lax.linalg``): ``cholesky``, ``eigh``, ``lu`` (and
``lu_pivots_to_permutation``), ``qr``, ``svd``, ``triangular_solve`` and ``tridiagonal_solve``.

Every primitive acts on the trailing matrix (or vector) dims of its operands and maps over the
leading batch dims, which all operands share; batching moves the batch axis to the front of
every operand (JAX's ``expand_dims_batcher``), except for the two solves, which fold a batch
axis of the right-hand side alone into its columns, as JAX's rules do. The JVPs are JAX's:
the forward-mode Cholesky rule of Murray (arXiv:1602.07527), nondegenerate perturbation theory
for ``eigh`` (the ``1 / (w_j - w_i)`` matrix built with the identity added first, so the diagonal
gives no NaN), De Hoog et al.'s rule for ``lu``, Townsend's for ``qr`` (square, wide and tall),
and the SVD rule with zero singular values guarded. ``triangular_solve`` and
``tridiagonal_solve`` are linear in the right-hand side and have transpose rules.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from refjax.dtypes import DType
from refjax.interp.batching import (
    BatchDim,
    batch_size,
    batching_rules,
    bdim_at,
    moveaxis,
    vmap_leading,
)
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.jvp import Tangent, Zero, add_tangents, defjvp_zero, instantiate, jvp_rules
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deftranspose
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives.calls import library_jit
from refjax.primitives.common import check_same_dtypes, standard_primitive
from refjax.primitives.gather_scatter import GatherDimensionNumbers, GatherScatterMode, gather
from refjax.primitives.linalg import Precision, dot_general

__all__ = [
    "EighImplementation",
    "SvdAlgorithm",
    "cholesky",
    "cholesky_p",
    "eigh",
    "eigh_p",
    "lu",
    "lu_p",
    "lu_pivots_to_permutation",
    "lu_pivots_to_permutation_p",
    "qr",
    "qr_p",
    "svd",
    "svd_p",
    "symmetrize",
    "triangular_solve",
    "triangular_solve_p",
    "tridiagonal_solve",
    "tridiagonal_solve_p",
]


class EighImplementation(enum.Enum):
    """Which algorithm computes ``eigh`` (only the default, QR, exists on the host)."""

    QR = "qr"
    JACOBI = "jacobi"
    QDWH = "qdwh"


class SvdAlgorithm(enum.Enum):
    """Which algorithm computes ``svd`` (only the default exists on the host)."""

    DEFAULT = "default"
    QR = "QR"
    JACOBI = "Jacobi"
    POLAR = "polar"


# ---------------------------------------------------------------------------------------------
# Matrix helpers on the trailing two dims (lax operations, so they trace and differentiate)


def _T(x: ArrayLike) -> Array:  # noqa: N802  # JAX's name
    """``x`` with its last two dims swapped."""
    nd = get_aval(x).ndim
    return sh.transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def _conj(x: ArrayLike) -> Array:
    return ew.conj(x) if get_aval(x).dtype.kind == "c" else ew.convert_element_type(
        x, get_aval(x).dtype)


def _H(x: ArrayLike) -> Array:  # noqa: N802  # JAX's name
    """The conjugate transpose of the trailing matrices."""
    return _conj(_T(x))


def symmetrize(x: ArrayLike) -> Array:
    """``(x + x^H) / 2``: the Hermitian part of the trailing matrices."""
    return ew.div(ew.add(x, _H(x)), _scalar(x, 2))


def _scalar(x: ArrayLike, value: float) -> Array:
    return _scalar_of(get_aval(x), value)


def _tri_mask(shape: tuple[int, ...], k: int, lower: bool) -> Array:
    """True on and below (``lower``) or on and above diagonal ``k`` of ``shape``'s last two
    dims, broadcast over the rest."""
    n, m = shape[-2:]
    rows = sh.broadcasted_iota(np.dtype(np.int32), (n, m), 0)
    cols = sh.broadcasted_iota(np.dtype(np.int32), (n, m), 1)
    shifted = ew.add(rows, np.int32(k))
    mask = ew.ge(shifted, cols) if lower else ew.le(shifted, cols)
    return sh.broadcast_in_dim(mask, shape, (len(shape) - 2, len(shape) - 1))


def _tril(x: ArrayLike, k: int = 0) -> Array:
    aval = get_aval(x)
    return ew.select_n(_tri_mask(aval.shape, k, True), _zeros(aval), x)


def _triu(x: ArrayLike, k: int = 0) -> Array:
    aval = get_aval(x)
    return ew.select_n(_tri_mask(aval.shape, k, False), _zeros(aval), x)


def _zeros(aval: ShapedArray) -> Array:
    return sh.broadcast_in_dim(_scalar_of(aval, 0), aval.shape, ())


def _scalar_of(aval: ShapedArray, value: float) -> Array:
    from refjax.primitives.constants import constant

    return constant(value, aval.dtype)


def _eye(dtype: DType, shape: tuple[int, int], batch: tuple[int, ...] = ()) -> Array:
    """The identity (ones on the main diagonal) of ``shape``, broadcast over ``batch``."""
    n, m = shape
    rows = sh.broadcasted_iota(np.dtype(np.int32), (n, m), 0)
    cols = sh.broadcasted_iota(np.dtype(np.int32), (n, m), 1)
    eye = ew.convert_element_type(ew.eq(rows, cols), dtype)
    nb = len(batch)
    return sh.broadcast_in_dim(eye, (*batch, n, m), (nb, nb + 1)) if batch else eye


def _matmul(a: ArrayLike, b: ArrayLike) -> Array:
    """``a @ b`` on the trailing matrices, batch dims paired (precision HIGHEST, as JAX's)."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)),
                       precision=(Precision.HIGHEST, Precision.HIGHEST))


def _diagonal(x: ArrayLike) -> Array:
    """The main diagonal of the trailing (square or not) matrices."""
    aval = get_aval(x)
    n, m = aval.shape[-2:]
    k = min(n, m)
    square = sl.slice(x, (0,) * (aval.ndim - 2) + (0, 0), (*aval.shape[:-2], k, k))
    masked = ew.select_n(_eye(np.dtype(np.bool_), (k, k), aval.shape[:-2]),
                         _zeros(get_aval(square)), square)
    return rd.reduce_sum(masked, (aval.ndim - 1,))


def _diag_matrix(v: ArrayLike) -> Array:
    """Square matrices with ``v`` (trailing dim) on their diagonals."""
    aval = get_aval(v)
    n = aval.shape[-1]
    full = (*aval.shape, n)
    spread = sh.broadcast_in_dim(v, full, (*range(aval.ndim - 1), aval.ndim))
    eye = _eye(np.dtype(np.bool_), (n, n), aval.shape[:-1])
    return ew.select_n(eye, _zeros(ShapedArray(full, aval.dtype)), spread)


def _real(x: ArrayLike) -> Array:
    return ew.real(x) if get_aval(x).dtype.kind == "c" else ew.convert_element_type(
        x, get_aval(x).dtype)


def _real_dtype(dtype: DType) -> DType:
    return np.dtype(np.finfo(dtype).dtype) if dtype.kind == "c" else dtype


def _take_rows(x: ArrayLike, rows: ArrayLike) -> Array:
    """``x[..., rows, :]`` for one matrix ``x`` (2-D) and a vector of row indices."""
    n_cols = get_aval(x).shape[1]
    idx = sh.expand_dims(rows, (1,))
    dnums = GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                   start_index_map=(0,))
    return gather(x, idx, dnums, (1, n_cols), mode=GatherScatterMode.PROMISE_IN_BOUNDS)


# ---------------------------------------------------------------------------------------------
# Shapes and dtypes: trailing "core" dims per operand, the rest batch dims all operands share


_FLOAT_OR_COMPLEX: Final = "fc"


def split_batch(name: str, avals: Sequence[ShapedArray], ranks: Sequence[int],
                batching: bool = True) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """The shared batch shape and each operand's core shape, with JAX's errors for bad ranks
    (JAX's ``linalg_shape_rule``; exact ranks for a primitive without ``batching``)."""
    batches, cores = [], []
    for i, (aval, rank) in enumerate(zip(avals, ranks, strict=True)):
        if aval.ndim < rank:
            raise TypeError(f"Input {i} to {name} must have rank at least {rank}, but got "
                            f"shape={aval.shape}")
        if not batching and aval.ndim != rank:
            raise TypeError(f"Input {i} to {name} must have a rank of exactly {rank}, but got "
                            f"shape={aval.shape}")
        batches.append(aval.shape[: aval.ndim - rank])
        cores.append(aval.shape[aval.ndim - rank:])
    if any(len(b) != len(batches[0]) for b in batches):
        raise TypeError(f"All inputs to {name} must have the same number of batch dimensions, "
                        f"but got {[len(b) for b in batches]} batch dimensions for the inputs.")
    if any(b != batches[0] for b in batches):
        raise TypeError(f"All inputs to {name} must have the same batch dimensions, but got "
                        f"{[tuple(b) for b in batches]}.")
    return tuple(batches[0]), [tuple(c) for c in cores]


def _check_dtypes(name: str, avals: Sequence[ShapedArray]) -> DType:
    """JAX's ``naryop_dtype_rule``: each operand a float or complex, all of one dtype."""
    for i, aval in enumerate(avals):
        if aval.dtype.kind not in _FLOAT_OR_COMPLEX:
            raise TypeError(f"{name} does not accept dtype {aval.dtype.name} at position {i}. "
                            f"Accepted dtypes at position {i} are subtypes of floating, "
                            "complexfloating.")
    check_same_dtypes(name, *avals)
    return avals[0].dtype


def _batch_leading(prim: Any, multiple: bool) -> None:
    """JAX's ``expand_dims_batcher``: every operand's batch axis moved (or broadcast) to the
    front; the results are batched at axis 0."""

    def rule(args: Sequence[ArrayLike], dims: Sequence[BatchDim],
             **params: Any) -> tuple[list[Array], list[BatchDim]]:
        size = batch_size(args, dims)
        moved = [bdim_at(a, d, size, 0) for a, d in zip(args, dims, strict=True)]
        outs = prim.bind_all(*moved, **params) if multiple else [prim.bind(*moved, **params)]
        return list(outs), [0] * len(outs)

    batching_rules[prim] = rule


# ---------------------------------------------------------------------------------------------
# cholesky


def _cholesky_rule(x: ShapedArray) -> ShapedArray:
    _, (core,) = split_batch("cholesky", [x], [2])
    _check_dtypes("cholesky", [x])
    if core[0] != core[1]:
        raise ValueError(f"The input to cholesky must be a square matrix. Got shape {core}.")
    return ShapedArray(x.shape, x.dtype)


cholesky_p = standard_primitive("cholesky", _cholesky_rule)


def cholesky(x: ArrayLike, *, symmetrize_input: bool = True) -> Array:
    """The lower-triangular ``L`` with ``L @ L^H = x`` for Hermitian positive-definite ``x``
    (NaNs where ``x`` is not positive definite). With ``symmetrize_input``, ``x``'s Hermitian
    part is factored; else only its lower triangle is read."""
    if symmetrize_input:
        x = symmetrize(x)
    return _tril(cholesky_p.bind(x))


def _cholesky_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
                  ) -> tuple[list[Array], list[Tangent]]:
    (x,), (sigma_dot,) = primals, tangents
    factor = cholesky_p.bind(x)
    if isinstance(sigma_dot, Zero):
        return [factor], [Zero.from_primal(factor)]
    lower = _tril(factor)
    n = get_aval(x).shape[-1]
    batch = get_aval(x).shape[:-2]

    def phi(m: Array) -> Array:  # the lower triangle, its diagonal halved
        return ew.div(_tril(m), ew.add(_scalar(m, 1), _eye(get_aval(m).dtype, (n, n), batch)))

    tmp = triangular_solve(lower, sigma_dot, left_side=False, transpose_a=True,
                           conjugate_a=True, lower=True)
    inner = triangular_solve(lower, tmp, left_side=True, transpose_a=False, lower=True)
    return [factor], [_matmul(lower, phi(inner))]


jvp_rules[cholesky_p] = _cholesky_jvp
_batch_leading(cholesky_p, multiple=False)


# ---------------------------------------------------------------------------------------------
# triangular_solve


def _triangular_solve_rule(a: ShapedArray, b: ShapedArray, *, left_side: bool, lower: bool,
                           transpose_a: bool, conjugate_a: bool,
                           unit_diagonal: bool) -> ShapedArray:
    _, (a_core, b_core) = split_batch("triangular_solve", [a, b], [2, 2])
    _check_dtypes("triangular_solve", [a, b])
    if a_core[0] != a_core[1]:
        raise ValueError("The first input to triangular_solve must be a square matrix. Got "
                         f"shape {a_core}.")
    if a_core[1] != b_core[0 if left_side else 1]:
        raise ValueError(f"Incompatible shapes for arguments to triangular_solve: {a_core} and "
                         f"{b_core}.")
    return ShapedArray(b.shape, b.dtype)


triangular_solve_p = standard_primitive("triangular_solve", _triangular_solve_rule)


def triangular_solve(
    a: ArrayLike,
    b: ArrayLike,
    *,
    left_side: bool = False,
    lower: bool = False,
    transpose_a: bool = False,
    conjugate_a: bool = False,
    unit_diagonal: bool = False,
) -> Array:
    """``X`` solving ``op(a) @ X = b`` (``left_side``) or ``X @ op(a) = b``, with ``a``
    triangular (only its ``lower`` or upper triangle read; a unit diagonal assumed with
    ``unit_diagonal``) and ``op`` a transpose and/or conjugation. A ``b`` of one rank less than
    ``a`` is a single vector."""
    conjugate_a = conjugate_a and get_aval(a).dtype.kind == "c"
    singleton = get_aval(b).ndim == get_aval(a).ndim - 1
    if singleton:
        b = sh.expand_dims(b, (get_aval(b).ndim if left_side else get_aval(b).ndim - 1,))
    out = triangular_solve_p.bind(a, b, left_side=left_side, lower=lower,
                                  transpose_a=transpose_a, conjugate_a=conjugate_a,
                                  unit_diagonal=unit_diagonal)
    if singleton:
        nd = get_aval(out).ndim
        out = sh.squeeze(out, (nd - 1 if left_side else nd - 2,))
    return out


def _triangular_solve_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
                          left_side: bool, lower: bool, transpose_a: bool, conjugate_a: bool,
                          unit_diagonal: bool) -> tuple[list[Array], list[Tangent]]:
    a, b = primals
    g_a, g_b = tangents
    params = dict(left_side=left_side, lower=lower, transpose_a=transpose_a,
                  conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)
    ans = triangular_solve_p.bind(a, b, **params)
    total: Tangent = Zero.from_primal(ans)
    if not isinstance(g_a, Zero):
        m, n = get_aval(b).shape[-2:]
        k = 1 if unit_diagonal else 0
        g = _tril(g_a, -k) if lower else _triu(g_a, k)
        g = ew.neg(g)
        g = _T(g) if transpose_a else g
        g = _conj(g) if conjugate_a else g

        def a_inverse(rhs: ArrayLike) -> Array:
            return triangular_solve_p.bind(a, rhs, **params)

        if left_side:  # cheaper order first, as JAX
            term = a_inverse(_matmul(g, ans)) if m > n else _matmul(a_inverse(g), ans)
        else:
            term = a_inverse(_matmul(ans, g)) if m < n else _matmul(ans, a_inverse(g))
        total = add_tangents(total, term)
    if not isinstance(g_b, Zero):
        total = add_tangents(total, triangular_solve_p.bind(a, g_b, **params))
    return [ans], [total]


def _triangular_solve_transpose(ct: Array, a: ArrayLike | UndefinedPrimal,
                                b: ArrayLike | UndefinedPrimal, *, left_side: bool,
                                lower: bool, transpose_a: bool, conjugate_a: bool,
                                unit_diagonal: bool) -> list[Cotangent | None]:
    if isinstance(a, UndefinedPrimal) or not isinstance(b, UndefinedPrimal):
        raise RuntimeError("triangular_solve is linear only in its right-hand side")
    ct_b = triangular_solve_p.bind(a, ct, left_side=left_side, lower=lower,
                                   transpose_a=not transpose_a, conjugate_a=conjugate_a,
                                   unit_diagonal=unit_diagonal)
    return [None, ct_b]


jvp_rules[triangular_solve_p] = _triangular_solve_jvp
deftranspose(triangular_solve_p, _triangular_solve_transpose)


def _triangular_solve_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim],
                            **params: Any) -> tuple[list[Array], list[BatchDim]]:
    a, b = args
    da, db = dims
    if da is None:  # a batch of right-hand sides: one solve with more columns (rows)
        assert db is not None
        left = params["left_side"]
        y = moveaxis(b, db, -1 if left else -2)
        shape = get_aval(y).shape
        if left:  # (..., m, n, B) as (..., m, n * B)
            flat = sh.reshape(y, (*shape[:-2], shape[-2] * shape[-1]))
            out = triangular_solve_p.bind(a, flat, **params)
            return [sh.reshape(out, shape)], [len(shape) - 1]
        flat = sh.reshape(y, (*shape[:-3], shape[-3] * shape[-2], shape[-1]))
        out = triangular_solve_p.bind(a, flat, **params)
        return [sh.reshape(out, shape)], [len(shape) - 2]
    size = batch_size(args, dims)
    a0, b0 = bdim_at(a, da, size, 0), bdim_at(b, db, size, 0)
    return [triangular_solve_p.bind(a0, b0, **params)], [0]


batching_rules[triangular_solve_p] = _triangular_solve_batch


# ---------------------------------------------------------------------------------------------
# lu and lu_pivots_to_permutation


def _lu_rule(x: ShapedArray) -> list[ShapedArray]:
    batch, ((m, n),) = split_batch("lu", [x], [2])
    _check_dtypes("lu", [x])
    i32 = np.dtype(np.int32)
    return [ShapedArray(x.shape, x.dtype), ShapedArray((*batch, min(m, n)), i32),
            ShapedArray((*batch, m), i32)]


lu_p = standard_primitive("lu", _lu_rule, multiple_results=True)


def lu(x: ArrayLike) -> tuple[Array, Array, Array]:
    """LU decomposition with partial pivoting: ``(lu, pivots, permutation)`` where ``lu`` packs
    the unit-lower-triangular ``L`` (below the diagonal) and upper-triangular ``U``, ``pivots``
    the row swaps made (int32) and ``permutation`` the rows of ``x`` they select, so that
    ``x[permutation] = L @ U``."""
    lu_, pivots, perm = lu_p.bind_all(x)
    return lu_, pivots, perm


def _lu_jvp_one(lu_: Array, a_dot: Array, permutation: Array) -> Array:
    m, n = get_aval(a_dot).shape
    dtype = get_aval(a_dot).dtype
    k = min(m, n)
    zero = _scalar(lu_, 0)
    lower = sh.pad(_tril(sl.slice(lu_, (0, 0), (m, k)), -1), zero, ((0, 0, 0), (0, m - k, 0)))
    lower = ew.add(lower, _eye(dtype, (m, m)))
    u_eye = sh.pad(_eye(dtype, (n - k, n - k)), zero, ((k, 0, 0), (k, 0, 0)))
    upper = ew.add(sh.pad(_triu(sl.slice(lu_, (0, 0), (k, n))), zero,
                          ((0, n - k, 0), (0, 0, 0))), u_eye)
    la = triangular_solve(lower, _take_rows(a_dot, permutation), left_side=True,
                          transpose_a=False, lower=True, unit_diagonal=True)
    lau = triangular_solve(upper, la, left_side=False, transpose_a=False, lower=False)
    l_dot = _matmul(lower, _tril(lau, -1))
    u_dot = _matmul(_triu(lau), upper)
    return ew.add(l_dot, u_dot)


def _lu_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
            ) -> tuple[list[Array], list[Tangent]]:
    (a,), (a_dot,) = primals, tangents
    lu_, pivots, perm = lu_p.bind_all(a)
    if isinstance(a_dot, Zero):
        lu_dot: Tangent = Zero.from_primal(lu_)
    else:
        fun: Callable[..., Any] = _lu_jvp_one
        for _ in get_aval(a).shape[:-2]:
            fun = functools.partial(vmap_leading, fun)
        lu_dot = fun(lu_, a_dot, perm)
    return [lu_, pivots, perm], [lu_dot, Zero.from_primal(pivots), Zero.from_primal(perm)]


jvp_rules[lu_p] = _lu_jvp
_batch_leading(lu_p, multiple=True)


def _lu_pivots_rule(pivots: ShapedArray, *, permutation_size: int) -> ShapedArray:
    split_batch("lu_pivots_to_permutation", [pivots], [1])
    if pivots.dtype != np.dtype(np.int32):
        raise TypeError(f"lu_pivots_to_permutation does not accept dtype {pivots.dtype.name} at "
                        "position 0. Accepted dtypes at position 0 are subtypes of int32.")
    if permutation_size < pivots.shape[-1]:
        raise ValueError(f"Output permutation size {permutation_size} has to exceed the trailing "
                         f"dimension of the pivots. Got pivots size {pivots.shape[-1]}")
    return ShapedArray((*pivots.shape[:-1], permutation_size), pivots.dtype)


lu_pivots_to_permutation_p = standard_primitive("lu_pivots_to_permutation", _lu_pivots_rule)


def lu_pivots_to_permutation(pivots: ArrayLike, permutation_size: int) -> Array:
    """The row permutation that the row swaps ``pivots`` (as ``lu`` returns them) make of
    ``range(permutation_size)``."""
    return lu_pivots_to_permutation_p.bind(pivots, permutation_size=permutation_size)


def _lu_pivots_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim],
                     **params: Any) -> tuple[list[Array], list[BatchDim]]:
    (x,), (d,) = args, dims
    assert d is not None
    return [lu_pivots_to_permutation_p.bind(moveaxis(x, d, 0), **params)], [0]


batching_rules[lu_pivots_to_permutation_p] = _lu_pivots_batch
defjvp_zero(lu_pivots_to_permutation_p)  # integers in, integers out


def lu_solve(lu_: ArrayLike, permutation: ArrayLike, b: ArrayLike, trans: int = 0) -> Array:
    """``x`` solving ``a @ x = b`` (``trans`` 0), ``a^T @ x = b`` (1) or ``a^H @ x = b`` (2)
    from ``a``'s LU factors (``lu`` and ``permutation`` as :func:`lu` returns them); ``b`` a
    vector or matrices of the same batch shape."""
    if trans not in (0, 1, 2):
        raise ValueError(f"'trans' value must be 0, 1, or 2, got {trans}")
    return _lu_solve(lu_, permutation, b, trans)


@library_jit(static_argnames=("trans",))
def _lu_solve(lu_: ArrayLike, permutation: ArrayLike, b: ArrayLike, trans: int) -> Array:
    m = get_aval(lu_).shape[-1]
    b_aval = get_aval(b)
    vector = b_aval.ndim == get_aval(lu_).ndim - 1
    rhs = sh.expand_dims(b, (b_aval.ndim,)) if vector else b

    def one(lu1: Array, perm1: Array, b1: Array) -> Array:
        if trans == 0:
            x = _take_rows(b1, perm1)
            x = triangular_solve(lu1, x, left_side=True, lower=True, unit_diagonal=True)
            return triangular_solve(lu1, x, left_side=True, lower=False)
        conj = trans == 2
        x = triangular_solve(lu1, b1, left_side=True, lower=False, transpose_a=True,
                             conjugate_a=conj)
        x = triangular_solve(lu1, x, left_side=True, lower=True, unit_diagonal=True,
                             transpose_a=True, conjugate_a=conj)
        from refjax.primitives.sorting import sort_key_val

        iota = sh.iota(np.dtype(np.int32), m)
        _, inverse = sort_key_val(perm1, iota)
        return _take_rows(x, inverse)

    fun: Callable[..., Any] = one
    for _ in get_aval(lu_).shape[:-2]:
        fun = functools.partial(vmap_leading, fun)
    out: Array = fun(lu_, permutation, rhs)
    return sh.squeeze(out, (get_aval(out).ndim - 1,)) if vector else out


# ---------------------------------------------------------------------------------------------
# qr


def _qr_rule(x: ShapedArray, *, pivoting: bool, full_matrices: bool,
             use_magma: bool | None) -> list[ShapedArray]:
    batch, ((m, n),) = split_batch("qr", [x], [2])
    _check_dtypes("qr", [x])
    k = m if full_matrices else min(m, n)
    outs = [ShapedArray((*batch, m, k), x.dtype), ShapedArray((*batch, k, n), x.dtype)]
    if pivoting:
        outs.append(ShapedArray((*batch, n), np.dtype(np.int32)))
    return outs


qr_p = standard_primitive("qr", _qr_rule, multiple_results=True)


def qr(x: ArrayLike, *, pivoting: bool = False, full_matrices: bool = True,
       use_magma: bool | None = None) -> tuple[Array, ...]:
    """``(q, r)`` with ``q`` unitary (its first ``k`` columns, ``k = min(m, n)``, unless
    ``full_matrices``) and ``r`` upper triangular, ``x = q @ r``; with ``pivoting`` also the
    column permutation ``p`` (int32) with ``x[:, p] = q @ r``. ``use_magma`` is accepted and
    ignored (a GPU library choice)."""
    return tuple(qr_p.bind_all(x, pivoting=pivoting, full_matrices=full_matrices,
                               use_magma=use_magma))


def _thin_qr_jvp(q: Array, r: Array, dx: Array) -> tuple[Array, Array]:
    """The JVP of a QR decomposition of matrices with ``m >= n`` (Townsend)."""
    dx_rinv = triangular_solve(r, dx)  # a right-side solve, upper
    qt_dx_rinv = _matmul(_H(q), dx_rinv)
    lower = _tril(qt_dx_rinv, -1)
    do = ew.sub(lower, _H(lower))  # skew-symmetric
    n = get_aval(r).shape[-1]
    if get_aval(qt_dx_rinv).dtype.kind == "c":  # the imaginary part of the diagonal
        eye = _eye(get_aval(do).dtype, (n, n), get_aval(do).shape[:-2])
        imag = ew.sub(qt_dx_rinv, ew.convert_element_type(ew.real(qt_dx_rinv),
                                                            get_aval(qt_dx_rinv).dtype))
        do = ew.add(do, ew.mul(eye, imag))
    dq = ew.add(_matmul(q, ew.sub(do, qt_dx_rinv)), dx_rinv)
    dr = _matmul(ew.sub(qt_dx_rinv, do), r)
    return dq, dr


def _cols(x: ArrayLike, start: int, stop: int) -> Array:
    aval = get_aval(x)
    return sl.slice(x, (0,) * aval.ndim, (*aval.shape[:-1], stop)) if start == 0 else \
        sl.slice(x, (0,) * (aval.ndim - 1) + (start,), aval.shape[:-1] + (stop,))


def _rows(x: ArrayLike, start: int, stop: int) -> Array:
    aval = get_aval(x)
    lo = (0,) * (aval.ndim - 2) + (start, 0)
    hi = (*aval.shape[:-2], stop, aval.shape[-1])
    return sl.slice(x, lo, hi)


def _qr_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, pivoting: bool,
            full_matrices: bool, use_magma: bool | None) -> tuple[list[Array], list[Tangent]]:
    (x,), (dx_t,) = primals, tangents
    outs = qr_p.bind_all(x, pivoting=pivoting, full_matrices=full_matrices,
                         use_magma=use_magma)
    q, r = outs[0], outs[1]
    if isinstance(dx_t, Zero):
        return list(outs), [Zero.from_primal(o) for o in outs]
    dx = instantiate(dx_t)
    *_, m, n = get_aval(x).shape
    if pivoting:
        perm = outs[2]

        fun: Callable[..., Any] = _take_cols
        for _ in get_aval(x).shape[:-2]:
            fun = functools.partial(vmap_leading, fun)
        dx = fun(dx, perm)
    extra: list[Tangent] = [Zero.from_primal(outs[2])] if pivoting else []
    if m < n:  # wide: the square block, then the rest through dq
        x2 = _cols(x, m, n)
        dx1, dx2 = _cols(dx, 0, m), _cols(dx, m, n)
        dq, dr1 = _thin_qr_jvp(q, _cols(r, 0, m), dx1)
        dr2 = ew.add(_matmul(_H(dq), x2), _matmul(_H(q), dx2))
        dr = sh.concatenate([dr1, dr2], get_aval(dr1).ndim - 1)
        return list(outs), [dq, dr, *extra]
    q_mn = _cols(q, 0, n) if full_matrices else q
    r_nn = _rows(r, 0, n) if full_matrices else r
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, r_nn, dx)
    if not full_matrices or m == n:
        return list(outs), [dq_mn, dr_nn, *extra]
    q_nn, q_pn = _rows(q_mn, 0, n), _rows(q_mn, n, m)
    q_mp = _cols(q, n, m)
    dq_nn, dq_pn = _rows(dq_mn, 0, n), _rows(dq_mn, n, m)
    batch = get_aval(q_nn).shape[:-2]
    eye_n = _eye(get_aval(q_nn).dtype, (n, n), batch)
    factor, _, perm_nn = lu(ew.sub(q_nn, eye_n))
    z_pn_h = lu_solve(factor, perm_nn, _H(q_pn), trans=2)
    z_pn = _H(z_pn_h)
    dq_mp = ew.sub(_matmul(dq_mn, z_pn_h),
                   _matmul(ew.add(q_mn, _matmul(q_mp, z_pn)),
                           _H(ew.sub(dq_pn, _matmul(z_pn, dq_nn)))))
    dq = sh.concatenate([dq_mn, dq_mp], get_aval(dq_mn).ndim - 1)
    zeros = _zeros(ShapedArray((*batch, m - n, n), get_aval(dr_nn).dtype))
    dr = sh.concatenate([dr_nn, zeros], get_aval(dr_nn).ndim - 2)
    return list(outs), [dq, dr, *extra]


def _take_cols(x: Array, cols: Array) -> Array:
    """``x[:, cols]`` for one matrix ``x``."""
    return _T(_take_rows(_T(x), cols))


jvp_rules[qr_p] = _qr_jvp
_batch_leading(qr_p, multiple=True)


# ---------------------------------------------------------------------------------------------
# eigh


def _eigh_rule(x: ShapedArray, *, lower: bool, sort_eigenvalues: bool,
               subset_by_index: tuple[int, int] | None, algorithm: Any) -> list[ShapedArray]:
    batch, ((n, n2),) = split_batch("eigh", [x], [2])
    _check_dtypes("eigh", [x])
    if n != n2:
        raise ValueError("Argument to symmetric eigendecomposition must have shape [..., n, n], "
                         f"got shape {x.shape}")
    d = n if subset_by_index is None else subset_by_index[1] - subset_by_index[0]
    return [ShapedArray((*batch, n, d), x.dtype), ShapedArray((*batch, d), _real_dtype(x.dtype))]


eigh_p = standard_primitive("eigh", _eigh_rule, multiple_results=True)


def eigh(x: ArrayLike, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True, subset_by_index: tuple[int, int] | None = None,
         implementation: EighImplementation | None = None) -> tuple[Array, Array]:
    """``(v, w)``: the eigenvectors (columns) and real eigenvalues (ascending) of Hermitian
    ``x``. With ``symmetrize_input`` its Hermitian part is decomposed; else only its ``lower``
    (or upper) triangle is read. ``subset_by_index=(lo, hi)`` keeps eigenpairs lo..hi-1."""
    if symmetrize_input:
        x = symmetrize(x)
    v, w = eigh_p.bind_all(x, lower=lower, sort_eigenvalues=sort_eigenvalues,
                           subset_by_index=subset_by_index, algorithm=implementation)
    return v, w


def _eigh_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *, lower: bool,
              sort_eigenvalues: bool, subset_by_index: tuple[int, int] | None,
              algorithm: Any) -> tuple[list[Array], list[Tangent]]:
    (a,), (a_dot_t,) = primals, tangents
    n = get_aval(a).shape[-1]
    if not (subset_by_index is None or tuple(subset_by_index) == (0, n)):
        raise NotImplementedError("Derivatives not defined for partial eigen decomposition.")
    v, w_real = eigh_p.bind_all(symmetrize(a), lower=lower, sort_eigenvalues=sort_eigenvalues,
                                subset_by_index=subset_by_index, algorithm=algorithm)
    if isinstance(a_dot_t, Zero):
        return [v, w_real], [Zero.from_primal(v), Zero.from_primal(w_real)]
    a_dot = instantiate(a_dot_t)
    dtype = get_aval(a).dtype
    batch = get_aval(a).shape[:-2]
    w = ew.convert_element_type(w_real, dtype)
    eye_n = _eye(dtype, (n, n), batch)
    nb = len(batch)
    rows = sh.broadcast_in_dim(w, (*batch, n, n), (*range(nb), nb + 1))  # w_j along a row
    cols = sh.broadcast_in_dim(w, (*batch, n, n), (*range(nb), nb))  # w_i down a column
    f_mat = ew.sub(ew.integer_pow(ew.sub(ew.add(eye_n, rows), cols), -1), eye_n)
    vdag_adot_v = _matmul(_matmul(_H(v), a_dot), v)
    dv = _matmul(v, ew.mul(f_mat, vdag_adot_v))
    dw = _diagonal(_real(vdag_adot_v))
    return [v, w_real], [dv, dw]


jvp_rules[eigh_p] = _eigh_jvp
_batch_leading(eigh_p, multiple=True)


# ---------------------------------------------------------------------------------------------
# svd


def _svd_rule(x: ShapedArray, *, full_matrices: bool, compute_uv: bool,
              subset_by_index: tuple[int, int] | None, algorithm: Any) -> list[ShapedArray]:
    batch, ((m, n),) = split_batch("svd", [x], [2])
    _check_dtypes("svd", [x])
    rank = min(m, n)
    if subset_by_index is not None:
        if full_matrices and tuple(subset_by_index) != (0, rank):
            raise ValueError("full_matrices and subset_by_index cannot both be set")
        rank = min(rank, subset_by_index[1] - subset_by_index[0])
    s = ShapedArray((*batch, rank), _real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    u = ShapedArray((*batch, m, m if full_matrices else rank), x.dtype)
    vt = ShapedArray((*batch, n if full_matrices else rank, n), x.dtype)
    return [s, u, vt]


svd_p = standard_primitive("svd", _svd_rule, multiple_results=True)


def svd(x: ArrayLike, *, full_matrices: bool = True, compute_uv: bool = True,
        subset_by_index: tuple[int, int] | None = None,
        algorithm: SvdAlgorithm | None = None) -> Array | tuple[Array, Array, Array]:
    """``(u, s, vh)`` with ``x = u @ diag(s) @ vh``, singular values ``s`` descending (only
    ``s`` unless ``compute_uv``); ``u`` and ``vh`` square unless not ``full_matrices``."""
    outs = svd_p.bind_all(x, full_matrices=full_matrices, compute_uv=compute_uv,
                          subset_by_index=subset_by_index, algorithm=algorithm)
    if compute_uv:
        s, u, vt = outs
        return u, s, vt
    return outs[0]


def _svd_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
             full_matrices: bool, compute_uv: bool, subset_by_index: tuple[int, int] | None,
             algorithm: Any) -> tuple[list[Array], list[Tangent]]:
    (a,), (da_t,) = primals, tangents
    s, u, vt = svd_p.bind_all(a, full_matrices=False, compute_uv=True,
                              subset_by_index=subset_by_index, algorithm=algorithm)
    m, n = get_aval(a).shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "Singular value decomposition JVP not implemented for full matrices")
    outs = [s, u, vt] if compute_uv else [s]
    if isinstance(da_t, Zero):
        return outs, [Zero.from_primal(o) for o in outs]
    da = instantiate(da_t)
    dtype = get_aval(a).dtype
    ut, v = _H(u), _H(vt)
    batch = get_aval(s).shape[:-1]
    k = get_aval(s).shape[-1]
    nb = len(batch)
    s_row = sh.broadcast_in_dim(s, (*batch, k, k), (*range(nb), nb + 1))  # s_j
    s_col = sh.broadcast_in_dim(s, (*batch, k, k), (*range(nb), nb))  # s_i
    d_s = _matmul(_matmul(ut, da), v)
    ds = _diagonal(_real(d_s))
    if not compute_uv:
        return outs, [ds]
    s_diffs = ew.mul(ew.add(s_row, s_col), ew.sub(s_row, s_col))
    s_diffs_zeros = _eye(get_aval(s).dtype, (k, k), batch)
    f = ew.sub(ew.div(_scalar(s, 1), ew.add(s_diffs, s_diffs_zeros)), s_diffs_zeros)
    s_row_c = ew.convert_element_type(s_row, dtype)
    s_col_c = ew.convert_element_type(s_col, dtype)
    dss = ew.mul(s_row_c, d_s)
    sds = ew.mul(s_col_c, d_s)
    s_zeros = ew.convert_element_type(ew.eq(s, _scalar(s, 0)), get_aval(s).dtype)
    s_inv = ew.sub(ew.div(_scalar(s, 1), ew.add(s, s_zeros)), s_zeros)
    s_inv_mat = _diag_matrix(s_inv)
    dudv_diag = ew.mul(ew.mul(_scalar(d_s, 0.5), ew.sub(d_s, _H(d_s))),
                       ew.convert_element_type(s_inv_mat, dtype))
    f_c = ew.convert_element_type(f, dtype)
    du = _matmul(u, ew.add(ew.mul(f_c, ew.add(dss, _H(dss))), dudv_diag))
    dv = _matmul(v, ew.mul(f_c, ew.add(sds, _H(sds))))

    def over_s(x: Array) -> Array:  # x / s along the last axis (s_j in column j)
        shape = get_aval(x).shape
        spread = sh.broadcast_in_dim(s, shape, (*range(nb), nb + 1))
        return ew.div(x, ew.convert_element_type(spread, dtype))

    if m > n:
        dav = _matmul(da, v)
        du = ew.add(du, over_s(ew.sub(dav, _matmul(u, _matmul(ut, dav)))))
    if n > m:
        dahu = _matmul(_H(da), u)
        dv = ew.add(dv, over_s(ew.sub(dahu, _matmul(v, _matmul(vt, dahu)))))
    return outs, [ds, du, _H(dv)]


jvp_rules[svd_p] = _svd_jvp
_batch_leading(svd_p, multiple=True)


# ---------------------------------------------------------------------------------------------
# tridiagonal_solve


def _tridiagonal_solve_rule(dl: ShapedArray, d: ShapedArray, du: ShapedArray, b: ShapedArray,
                            *, perturb_singular: bool) -> ShapedArray:
    split_batch("tridiagonal_solve", [dl, d, du, b], [1, 1, 1, 2])
    _check_dtypes("tridiagonal_solve", [dl, d, du, b])
    if dl.shape != d.shape or dl.shape != du.shape:
        raise TypeError("tridiagonal_solve requires that all diagonal arguments have the same "
                        "shape.")
    if dl.shape != b.shape[:-1]:
        raise TypeError("tridiagonal_solve requires that the leading ndim-1 dimensions of b "
                        "equal the dimensions of the diagonal arguments.")
    return ShapedArray(b.shape, b.dtype)


tridiagonal_solve_p = standard_primitive("tridiagonal_solve", _tridiagonal_solve_rule)


def tridiagonal_solve(dl: ArrayLike, d: ArrayLike, du: ArrayLike, b: ArrayLike, *,
                      perturb_singular: bool = False) -> Array:
    """``x`` solving ``A @ x = b`` for the tridiagonal ``A`` with sub-diagonal ``dl`` (its
    first element unused), diagonal ``d`` and super-diagonal ``du`` (its last unused)."""
    return tridiagonal_solve_p.bind(dl, d, du, b, perturb_singular=perturb_singular)


def _shift(x: ArrayLike, down: bool) -> Array:
    """The rows of ``x`` moved one place down (``down``) or up along axis -2, zeros in."""
    aval = get_aval(x)
    nd = aval.ndim
    zero = _scalar(x, 0)
    cfg = [(0, 0, 0)] * nd
    n = aval.shape[-2]
    if down:
        cfg[-2] = (1, -1, 0)
    else:
        cfg[-2] = (-1, 1, 0)
    return sh.pad(x, zero, cfg) if n else ew.convert_element_type(x, aval.dtype)


def _tridiagonal_product(dl: ArrayLike, d: ArrayLike, du: ArrayLike, b: ArrayLike) -> Array:
    """``A @ b`` for the tridiagonal ``A`` of ``(dl, d, du)``."""
    b_aval = get_aval(b)
    nd = b_aval.ndim

    def col(v: ArrayLike) -> Array:
        return sh.broadcast_in_dim(v, b_aval.shape, tuple(range(nd - 1)))

    y = ew.mul(col(d), b)
    y = ew.add(y, ew.mul(col(dl), _shift(b, down=True)))
    return ew.add(y, ew.mul(col(du), _shift(b, down=False)))


def _tridiagonal_solve_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
                           perturb_singular: bool) -> tuple[list[Array], list[Tangent]]:
    dl, d, du, _ = primals
    *diags_dot, b_dot = tangents
    ans = tridiagonal_solve_p.bind(*primals, perturb_singular=perturb_singular)
    if all(isinstance(t, Zero) for t in diags_dot):
        rhs: Tangent = b_dot
    else:
        t_dl, t_d, t_du = (instantiate(t) for t in diags_dot)
        matvec = _tridiagonal_product(t_dl, t_d, t_du, ans)
        rhs = add_tangents(b_dot, ew.neg(matvec))
    if isinstance(rhs, Zero):
        return [ans], [Zero.from_primal(ans)]
    return [ans], [tridiagonal_solve_p.bind(dl, d, du, rhs, perturb_singular=perturb_singular)]


def _tridiagonal_solve_transpose(ct: Array, dl: ArrayLike | UndefinedPrimal,
                                 d: ArrayLike | UndefinedPrimal,
                                 du: ArrayLike | UndefinedPrimal,
                                 b: ArrayLike | UndefinedPrimal, *,
                                 perturb_singular: bool) -> list[Cotangent | None]:
    if any(isinstance(x, UndefinedPrimal) for x in (dl, d, du)):
        raise RuntimeError("tridiagonal_solve is linear only in its right-hand side")
    assert not isinstance(dl, UndefinedPrimal) and not isinstance(du, UndefinedPrimal)
    assert not isinstance(d, UndefinedPrimal)
    n = get_aval(du).shape[-1]
    nd = get_aval(du).ndim
    zero_du = _zeros(ShapedArray((*get_aval(du).shape[:-1], 1), get_aval(du).dtype))
    lead = (0,) * (nd - 1)
    dl_t = sh.concatenate([zero_du, sl.slice(du, (*lead, 0), (*get_aval(du).shape[:-1],
                                                                n - 1))], nd - 1)
    du_t = sh.concatenate([sl.slice(dl, (*lead, 1), get_aval(dl).shape), zero_du], nd - 1)
    return [None, None, None,
            tridiagonal_solve_p.bind(dl_t, d, du_t, ct, perturb_singular=perturb_singular)]


jvp_rules[tridiagonal_solve_p] = _tridiagonal_solve_jvp
deftranspose(tridiagonal_solve_p, _tridiagonal_solve_transpose)


def _tridiagonal_solve_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                             perturb_singular: bool) -> tuple[list[Array], list[BatchDim]]:
    dl, d, du, b = args
    ddl, dd, ddu, db = dims
    if ddl is None and dd is None and ddu is None:  # only b: its batch axis among the columns
        assert db is not None
        y = moveaxis(b, db, -2)
        shape = get_aval(y).shape
        flat = sh.reshape(y, (*shape[:-3], shape[-3], shape[-2] * shape[-1]))
        out = tridiagonal_solve_p.bind(dl, d, du, flat, perturb_singular=perturb_singular)
        return [sh.reshape(out, shape)], [len(shape) - 2]
    size = batch_size(args, dims)
    moved = [bdim_at(x, dim, size, 0) for x, dim in zip(args, dims, strict=True)]
    return [tridiagonal_solve_p.bind(*moved, perturb_singular=perturb_singular)], [0]


batching_rules[tridiagonal_solve_p] = _tridiagonal_solve_batch

