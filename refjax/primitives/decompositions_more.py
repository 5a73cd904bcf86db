"""More of ``jax.lax.linalg``: the Householder reductions ``hessenberg``, ``tridiagonal`` (and
the internal ``geqrf``), the products of their reflectors ``householder_product`` and
``ormqr``, the Schur decomposition ``schur``, ``symmetric_product``, ``cholesky_update``, and
``qdwh``, the polar decomposition by QR-based dynamically weighted Halley iteration.

The primitives are JAX's ``linalg_primitive``s: each acts on the trailing matrix (or vector)
dims of its operands, which share their leading batch dims, and batches by moving every batch
axis to the front (``expand_dims_batcher``) -- except ``cholesky_update``, which takes exactly
one matrix and one vector and has no batching rule, as in JAX. Their results are those of
LAPACK's routines (``gehrd``, ``sytrd``/``hetrd``, ``geqrf``, ``orgqr``, ``ormqr``, ``gees``):
the reflectors ``H_i = I - tau_i v_i v_i^H`` packed below (or above) the reduced band, ``v_i``
with a unit first element. None has a JVP rule, as in JAX (differentiating one raises JAX's
``NotImplementedError`` naming it); ``qdwh`` is a composition of ``qr``, ``cholesky`` and
``triangular_solve`` and differentiates through them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.primitives import control_flow as cf
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives import transcendental as tr
from refjax.primitives.calls import library_jit
from refjax.primitives.common import check_same_dtypes, standard_primitive
from refjax.primitives.constants import constant
from refjax.primitives.decompositions import (
    _H,
    _T,
    _batch_leading,
    _eye,
    _real_dtype,
    _tril,
    cholesky,
    qr,
    split_batch,
    triangular_solve,
)
from refjax.primitives.linalg import dot_general

__all__ = [
    "cholesky_update",
    "cholesky_update_p",
    "hessenberg",
    "hessenberg_p",
    "householder_product",
    "householder_product_p",
    "ormqr",
    "ormqr_p",
    "qdwh",
    "schur",
    "schur_p",
    "symmetric_product",
    "symmetric_product_p",
    "tridiagonal",
    "tridiagonal_p",
]


# ---------------------------------------------------------------------------------------------
# Shapes and dtypes (JAX's linalg_shape_rule and naryop_dtype_rule)


_FLOAT: Final = "f"
_INEXACT: Final = "fc"
_KIND_NAMES: Final = {"f": "floating", "c": "complexfloating"}




def _check_dtypes(name: str, avals: Sequence[ShapedArray], kinds: str = _INEXACT) -> DType:
    """Each operand of one of ``kinds`` (float, complex), all of one dtype."""
    accepted = ", ".join(_KIND_NAMES[k] for k in kinds)
    for i, aval in enumerate(avals):
        if aval.dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept dtype {aval.dtype.name} at position {i}. "
                            f"Accepted dtypes at position {i} are subtypes of {accepted}.")
    check_same_dtypes(name, *avals)
    return avals[0].dtype


def _weak(avals: Sequence[ShapedArray]) -> bool:
    """JAX's standard weak-type rule: weak when every operand is."""
    return all(a.weak_type for a in avals)


# ---------------------------------------------------------------------------------------------
# geqrf (internal: jax._src.lax.linalg.geqrf, the packed QR of jnp.linalg.qr(mode="raw"))


def _geqrf_rule(a: ShapedArray) -> list[ShapedArray]:
    batch, ((m, n),) = split_batch("geqrf", [a], [2])
    dtype = _check_dtypes("geqrf", [a])
    weak = _weak([a])
    return [ShapedArray(a.shape, dtype, weak), ShapedArray((*batch, min(m, n)), dtype, weak)]


geqrf_p = standard_primitive("geqrf", _geqrf_rule, multiple_results=True)
_batch_leading(geqrf_p, multiple=True)


def geqrf(a: ArrayLike) -> tuple[Array, Array]:
    """``(r, taus)``: the QR factorisation of ``a`` as LAPACK's ``geqrf`` packs it, ``R`` on
    and above the diagonal, the Householder reflectors below it and their scale factors in
    ``taus``."""
    r, taus = geqrf_p.bind_all(a)
    return r, taus


# ---------------------------------------------------------------------------------------------
# hessenberg


def _hessenberg_rule(a: ShapedArray) -> list[ShapedArray]:
    batch, ((n, n2),) = split_batch("hessenberg", [a], [2])
    if n != n2:
        raise ValueError("Argument to Hessenberg reduction must have shape [..., n, n], got "
                         f"shape {(n, n2)}")
    if n == 0:  # (JAX's rule gives taus the shape (-1,), which fails to compile)
        raise ValueError("Argument to Hessenberg reduction must not be empty: its n - 1 "
                         "Householder scale factors would have a negative size")
    dtype = _check_dtypes("hessenberg", [a])
    weak = _weak([a])
    return [ShapedArray(a.shape, dtype, weak), ShapedArray((*batch, n - 1), dtype, weak)]


hessenberg_p = standard_primitive("hessenberg", _hessenberg_rule, multiple_results=True)
_batch_leading(hessenberg_p, multiple=True)


def hessenberg(a: ArrayLike) -> list[Array]:
    """``[a, taus]``: square ``a`` reduced to upper Hessenberg form ``Q^H a Q``, held on and
    above the first subdiagonal, the Householder reflectors of ``Q`` below it, their scale
    factors in ``taus``."""
    return hessenberg_p.bind_all(a)


# ---------------------------------------------------------------------------------------------
# householder_product


def _householder_product_rule(a: ShapedArray, taus: ShapedArray) -> ShapedArray:
    _, ((m, n), (k,)) = split_batch("householder_product", [a, taus], [2, 1])
    if m < n:
        raise ValueError("The first argument to householder_product must have at least as "
                         f"many rows as columns, got shape {(m, n)}")
    if k > min(m, n):
        raise ValueError("The second argument to householder_product must not have more rows "
                         "than the minimum of the first argument's rows and columns.")
    dtype = _check_dtypes("householder_product", [a, taus])
    return ShapedArray(a.shape, dtype, _weak([a, taus]))


householder_product_p = standard_primitive("householder_product", _householder_product_rule)
_batch_leading(householder_product_p, multiple=False)


def householder_product(a: ArrayLike, taus: ArrayLike) -> Array:
    """The first ``n`` columns of ``H_0 H_1 ... H_{k-1}`` (``m x n``, orthonormal columns),
    ``H_i = I - taus[i] v_i v_i^H`` with ``v_i`` the reflector stored below the diagonal in
    column ``i`` of ``a`` (a unit ``i``-th element, zeros above)."""
    return householder_product_p.bind(a, taus)


# ---------------------------------------------------------------------------------------------
# ormqr


def _ormqr_rule(a: ShapedArray, taus: ShapedArray, c: ShapedArray, *, left: bool,
                transpose: bool) -> ShapedArray:
    _, ((m, n), _, c_core) = split_batch("ormqr", [a, taus, c], [2, 1, 2])
    if left and c_core[0] != m:
        raise ValueError("ormqr with left=True expects c to have the same number of rows as "
                         f"the Householder matrix a. Got a shape {(m, n)} and c shape "
                         f"{c_core}.")
    if not left and c_core[1] != m:
        raise ValueError("ormqr with left=False expects c to have the same number of columns "
                         f"as the Householder matrix a has rows. Got a shape {(m, n)} and c "
                         f"shape {c_core}.")
    dtype = _check_dtypes("ormqr", [a, taus, c])
    return ShapedArray(c.shape, dtype, _weak([a, taus, c]))


ormqr_p = standard_primitive("ormqr", _ormqr_rule)
_batch_leading(ormqr_p, multiple=False)


def ormqr(a: ArrayLike, taus: ArrayLike, c: ArrayLike, *, left: bool = True,
          transpose: bool = False) -> Array:
    """``Q @ c`` (``left``) or ``c @ Q``, or with ``Q^H`` (``transpose``), for the ``m x m``
    ``Q = H_0 ... H_{k-1}`` of the reflectors packed in ``a`` and ``taus`` (as ``geqrf``
    gives them), without forming ``Q``."""
    return ormqr_p.bind(a, taus, c, left=left, transpose=transpose)


# ---------------------------------------------------------------------------------------------
# schur


def _schur_rule(x: ShapedArray, *, compute_schur_vectors: bool, sort_eig_vals: bool,
                select_callable: Any) -> list[ShapedArray]:
    _, ((n, n2),) = split_batch("schur", [x], [2])
    if n != n2:
        raise ValueError(f"The input to schur must be a square matrix. Got shape {(n, n2)}.")
    dtype = _check_dtypes("schur", [x])
    out = ShapedArray(x.shape, dtype, _weak([x]))
    return [out, out] if compute_schur_vectors else [out]


schur_p = standard_primitive("schur", _schur_rule, multiple_results=True)
_batch_leading(schur_p, multiple=True)


def schur(x: ArrayLike, *, compute_schur_vectors: bool = True, sort_eig_vals: bool = False,
          select_callable: Callable[..., Any] | None = None) -> list[Array]:
    """``[T, Q]`` with ``x = Q T Q^H``, ``Q`` unitary and ``T`` upper triangular (complex
    ``x``) or quasi upper triangular (real ``x``: 2 x 2 diagonal blocks for complex pairs,
    with equal diagonal); only ``[T]`` without ``compute_schur_vectors``. ``sort_eig_vals``
    (unsupported, as on JAX's CPU) and ``select_callable`` are unused."""
    return schur_p.bind_all(x, compute_schur_vectors=compute_schur_vectors,
                            sort_eig_vals=sort_eig_vals, select_callable=select_callable)


# ---------------------------------------------------------------------------------------------
# tridiagonal


def _tridiagonal_rule(a: ShapedArray, *, lower: bool) -> list[ShapedArray]:
    batch, ((n, n2),) = split_batch("tridiagonal", [a], [2])
    if n != n2 or n2 == 0:
        raise ValueError(f"The input to tridiagonal must be a square matrix. Got shape "
                         f"{(n, n2)}.")
    dtype = _check_dtypes("tridiagonal", [a])
    real = _real_dtype(dtype)
    weak = _weak([a])
    return [ShapedArray(a.shape, dtype, weak), ShapedArray((*batch, n), real, weak),
            ShapedArray((*batch, n - 1), real, weak), ShapedArray((*batch, n - 1), dtype, weak)]


tridiagonal_p = standard_primitive("tridiagonal", _tridiagonal_rule, multiple_results=True)
_batch_leading(tridiagonal_p, multiple=True)


def tridiagonal(a: ArrayLike, *, lower: bool = True) -> list[Array]:
    """``[a, d, e, taus]``: Hermitian ``a`` (its ``lower`` or upper triangle read) reduced to
    real tridiagonal form ``Q^H a Q`` with diagonal ``d`` and off-diagonal ``e``; the returned
    ``a`` holds them on its diagonal and first sub- (super-) diagonal, the reflectors of ``Q``
    beyond, the other triangle as given; ``taus`` their scale factors."""
    return tridiagonal_p.bind_all(a, lower=lower)


# ---------------------------------------------------------------------------------------------
# symmetric_product


def _symmetric_product_rule(a: ShapedArray, c: ShapedArray, *, alpha: float,
                            beta: float) -> ShapedArray:
    _, (a_core, c_core) = split_batch("symmetric_product", [a, c], [2, 2])
    if a_core[0] != c_core[1] or c_core[0] != c_core[1]:
        raise ValueError("symmetric_update expects a rectangular matrix of shape (m, n) and a "
                         f"square matrix of shape (n, n). Got shapes {a_core} and {c_core}.")
    dtype = _check_dtypes("symmetric_product", [a, c], _FLOAT)
    return ShapedArray(c.shape, dtype, _weak([a, c]))


symmetric_product_p = standard_primitive("symmetric_product", _symmetric_product_rule)
_batch_leading(symmetric_product_p, multiple=False)


def symmetric_product(a_matrix: ArrayLike, c_matrix: ArrayLike, *, alpha: float = 1.0,
                      beta: float = 0.0, symmetrize_output: bool = False) -> Array:
    """``alpha * a @ a^T + beta * c`` for ``a`` (``m x n``) and symmetric ``c`` (``m x m``);
    only the lower triangle is promised on every platform unless ``symmetrize_output``
    mirrors it into the upper one."""
    result = symmetric_product_p.bind(a_matrix, c_matrix, alpha=alpha, beta=beta)
    if symmetrize_output:
        result = ew.add(_tril(result), _T(_tril(result, -1)))
    return result


# ---------------------------------------------------------------------------------------------
# cholesky_update


def _cholesky_update_rule(r: ShapedArray, w: ShapedArray) -> ShapedArray:
    _, (r_core, w_core) = split_batch("cholesky_update", [r, w], [2, 1], batching=False)
    if r_core[0] != r_core[1] or w_core[0] != r_core[1]:
        raise ValueError("Rank-1 update to Cholesky decomposition takes a square matrix and a "
                         f"vector of the same size as input. Got shapes {r_core} and "
                         f"{w_core} instead")
    dtype = _check_dtypes("cholesky_update", [r, w], _FLOAT)
    return ShapedArray(r.shape, dtype, _weak([r, w]))


cholesky_update_p = standard_primitive("cholesky_update", _cholesky_update_rule)


def cholesky_update(r_matrix: ArrayLike, w_vector: ArrayLike) -> Array:
    """The upper-triangular Cholesky factor of ``R^T R + w w^T``, from that ``R`` of ``A``
    and the vector ``w``, in ``O(n^2)`` (Givens rotations)."""
    return cholesky_update_p.bind(r_matrix, w_vector)


# ---------------------------------------------------------------------------------------------
# qdwh: JAX's jax._src.tpu.linalg.qdwh, written with lax operations


_CHOLESKY_CUTOFF: Final = 100


def _mm(a: ArrayLike, b: ArrayLike) -> Array:
    """``a @ b`` for two matrices."""
    return dot_general(a, b, (((1,), (0,)), ((), ())))


def _abs(x: Array) -> Array:
    return ew.abs(x)


def _norm_1(x: Array) -> Array:
    """The largest column sum of ``|x|``."""
    return rd.reduce_max(rd.reduce_sum(_abs(x), (0,)), (0,))


def _norm_inf(x: Array) -> Array:
    """The largest row sum of ``|x|``."""
    return rd.reduce_max(rd.reduce_sum(_abs(x), (1,)), (0,))


def _norm_fro(x: Array) -> Array:
    a = _abs(x)
    return tr.sqrt(rd.reduce_sum(ew.mul(a, a), (0, 1)))


def _mask(x: Array, dims: tuple[int | None, ...], alternative: Array | None = None) -> Array:
    """``x`` where every index is below ``dims`` (None: any), else ``alternative`` (an array
    of ``x``'s shape; zeros if None)."""
    aval = get_aval(x)
    mask: Array | None = None
    for i, d in enumerate(dims):
        if d is not None:
            below = ew.lt(sh.broadcasted_iota(np.dtype(np.int32), aval.shape, i), np.int32(d))
            mask = below if mask is None else ew.bitwise_and(mask, below)
    if mask is None:
        return x
    if alternative is None:
        alternative = sh.broadcast_in_dim(constant(0, aval.dtype), aval.shape, ())
    return ew.select_n(mask, alternative, x)


def _scalar_mul(s: ArrayLike, x: Array) -> Array:
    aval = get_aval(x)
    return ew.mul(sh.broadcast_in_dim(ew.convert_element_type(s, aval.dtype), aval.shape, ()), x)


def _use_qr(u: Array, m: int, n: int, params: Sequence[Array]) -> Array:
    """One QDWH step by a QR factorisation of ``[sqrt(c) u; I]``."""
    a_minus_e_by_sqrt_c, sqrt_c, e = params
    big_m, big_n = get_aval(u).shape
    dtype = get_aval(u).dtype
    top = _scalar_mul(sqrt_c, u)
    padded = sh.pad(top, constant(0, dtype), [(0, big_n, 0), (0, 0, 0)])
    y = sl.dynamic_update_slice(padded, _eye(dtype, (big_n, big_n)),
                                (np.int32(m), np.int32(0)))
    q, _ = qr(y, full_matrices=False)
    q1 = _mask(sl.slice(q, (0, 0), (big_m, big_n)), (m, n))
    q2 = sl.dynamic_slice(q, (np.int32(m), np.int32(0)), (big_n, big_n))
    q2 = _H(_mask(q2, (n, n)))
    return ew.add(_scalar_mul(e, u), _scalar_mul(a_minus_e_by_sqrt_c, _mm(q1, q2)))


def _use_cholesky(u: Array, m: int, n: int, params: Sequence[Array]) -> Array:
    """One QDWH step by a Cholesky factorisation of ``c u^H u + I``."""
    a_minus_e, c, e = params
    _, big_n = get_aval(u).shape
    dtype = get_aval(u).dtype
    eye = _eye(dtype, (big_n, big_n))
    x = ew.add(_scalar_mul(c, _mm(_H(u), u)), eye)
    x = _mask(x, (n, n), eye)
    y = cholesky(x, symmetrize_input=False)
    z = _conj(triangular_solve(y, _T(u), left_side=True, lower=True, conjugate_a=True))
    z = _H(triangular_solve(y, z, left_side=True, lower=True, transpose_a=True,
                            conjugate_a=True))
    return ew.add(_scalar_mul(e, u), _scalar_mul(a_minus_e, z))


def _conj(x: Array) -> Array:
    return ew.conj(x) if get_aval(x).dtype.kind == "c" else x


def _coefficients(eps: float, max_iterations: int) -> tuple[list[tuple[float, float, float]],
                                                            list[tuple[float, float, float]]]:
    """The weights ``(a, b, c)`` of the QR steps and of the Cholesky steps, as parameters."""
    lower = eps
    tol_l = 10.0 * eps / 2.0
    qr_coefs, chol_coefs = [], []
    k = 0
    while lower + tol_l < 1 and k < max_iterations:
        k += 1
        l2 = lower * lower
        dd = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = (1.0 + dd) ** (1 / 2)
        a = sqd + (2 - dd + 2 * (2 - l2) / (l2 * sqd)) ** (1 / 2)
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        lower = lower * (a + b * l2) / (1 + c * l2)
        e = b / c
        if c > _CHOLESKY_CUTOFF:
            qr_coefs.append(((a - e) / c ** (1 / 2), c ** (1 / 2), e))
        else:
            chol_coefs.append((a - e, c, e))
    return qr_coefs, chol_coefs


def _qdwh(x: Array, m: int, n: int, max_iterations: int, eps: float | None
          ) -> tuple[Array, Array, Array, Array]:
    dtype = get_aval(x).dtype
    real = _real_dtype(dtype)
    if eps is None:
        eps = float(dtypes.finfo(dtype).eps)
    one_norm, inf_norm = _norm_1(x), _norm_inf(x)
    alpha_inverse = ew.mul(tr.rsqrt(one_norm), tr.rsqrt(inf_norm))
    alpha_inverse = ew.select_n(ew.eq(one_norm, constant(0, real)), alpha_inverse,
                                constant(1, real))
    u = _scalar_mul(alpha_inverse, x)
    tol_l = 10.0 * eps / 2.0
    tol_norm = tr.cbrt(constant(tol_l, dtypes.canonicalize_dtype(float)))
    qr_coefs, chol_coefs = _coefficients(eps, max_iterations)

    def iterate(u: Array, coefs: list[tuple[float, float, float]],
                update: Callable[[Array, int, int, Sequence[Array]], Array],
                test: bool) -> tuple[Array, Array]:
        table = constant(np.asarray(coefs, np.float64), dtype)

        def body(k: Array, state: tuple[Array, Array]) -> tuple[Array, Array]:
            u_prev, not_converged = state
            row = sl.dynamic_index_in_dim(table, k, keepdims=False)
            params = [sl.index_in_dim(row, j, keepdims=False) for j in range(3)]
            u_new = update(u_prev, m, n, params)
            if test:
                not_converged = ew.gt(_norm_fro(ew.sub(u_new, u_prev)),
                                      ew.convert_element_type(tol_norm, real))
            return u_new, not_converged

        out: tuple[Array, Array] = cf.fori_loop(0, len(coefs), body,
                                                (u, constant(True, np.dtype(np.bool_))))
        return out

    not_converged = constant(True, np.dtype(np.bool_))
    if qr_coefs:
        u, _ = iterate(u, qr_coefs, _use_qr, False)
    if chol_coefs:
        u, not_converged = iterate(u, chol_coefs, _use_cholesky, True)
    halley = [constant(v, dtype) for v in (3.0 - 1.0 / 3.0, 3.0, 1.0 / 3.0)]

    def cond_fun(state: tuple[Array, Array, Array]) -> Array:
        k, _, flag = state
        return ew.bitwise_and(flag, ew.lt(k, np.int32(max_iterations)))

    def body_fun(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        k, u_prev, _ = state
        u_new = _use_cholesky(u_prev, m, n, halley)
        flag = ew.gt(_norm_fro(ew.sub(u_new, u_prev)), ew.convert_element_type(tol_norm, real))
        return ew.add(k, np.int32(1)), u_new, flag

    start = constant(len(qr_coefs) + len(chol_coefs), np.dtype(np.int32), weak_type=True)
    num_iters, u, not_converged = cf.while_loop(cond_fun, body_fun, (start, u, not_converged))
    u = ew.sub(_scalar_mul(1.5, u), _scalar_mul(0.5, _mm(u, _mm(_H(u), u))))
    h = _mm(_H(u), x)
    h = ew.div(ew.add(h, _H(h)), sh.broadcast_in_dim(constant(2, dtype), get_aval(h).shape, ()))
    return u, h, num_iters, ew.bitwise_not(not_converged)


@library_jit(static_argnames=("is_hermitian", "max_iterations", "eps", "dynamic_shape"))
def qdwh(x: ArrayLike, *, is_hermitian: bool = False, max_iterations: int | None = None,
         eps: float | None = None, dynamic_shape: tuple[int, int] | None = None
         ) -> tuple[Array, Array, Array, Array]:
    """``(u, h, num_iters, is_converged)``: the polar decomposition ``x = u h`` of full-rank
    ``x`` (``M x N``, ``M >= N``; ``u`` with orthonormal columns, ``h`` Hermitian positive
    definite) by QR-based dynamically weighted Halley iteration, then a Newton-Schulz step;
    ``dynamic_shape=(m, n)`` names the true shape of a zero-padded ``x``."""
    del is_hermitian  # unused, as in JAX
    max_iterations = 10 if max_iterations is None else int(max_iterations)
    arr = ew.convert_element_type(x, get_aval(x).dtype)
    big_m, big_n = get_aval(arr).shape
    if big_m < big_n:
        raise ValueError("The input matrix of shape M x N must have M >= N.")
    if dynamic_shape is not None:
        m, n = dynamic_shape
        arr = _mask(arr, (m, n))
    else:
        m, n = big_m, big_n
    return _qdwh(arr, m, n, max_iterations, eps)
