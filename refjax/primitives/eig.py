"""The eigendecomposition of a general (non-symmetric) square matrix, ``jax.lax.linalg.eig``.

``eig_p`` maps over leading batch dims and returns complex eigenvalues ``w`` and, as asked, the
left eigenvectors ``vl`` (``vl[:, j]^H a = w_j vl[:, j]^H``) and the right ones ``vr``
(``a vr[:, j] = w_j vr[:, j]``), each of unit 2-norm with its largest component real, as LAPACK's
``geev`` gives them. Its batching moves the batch axis to the front; its JVP is JAX's
(nondegenerate perturbation theory): the eigenvalues' always, the eigenvectors' only with
``enable_eigvec_derivs=True`` (JAX's NotImplementedError otherwise), differentiating through
geev's normalisation.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.batching import BatchDim, batch_size, batching_rules, bdim_at
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.jvp import Tangent, instantiate, jvp_rules
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives.common import check_dtype_at, standard_primitive
from refjax.primitives.decompositions import lu, lu_solve
from refjax.primitives.lax_extras import complex as make_complex
from refjax.primitives.linalg import Precision, dot_general

__all__ = ["EigImplementation", "eig", "eig_p"]


class EigImplementation(enum.Enum):
    """Which library computes ``eig`` (on the host, LAPACK's ``geev`` through numpy)."""

    CUSOLVER = "cusolver"
    MAGMA = "magma"
    LAPACK = "lapack"


def _complex_dtype(dt: DType) -> DType:
    return np.result_type(dt, np.complex64)


def _eig_rule(
    x: ShapedArray, *, compute_left_eigenvectors: bool, compute_right_eigenvectors: bool,
    enable_eigvec_derivs: bool, implementation: EigImplementation | None,
) -> list[ShapedArray]:
    if x.ndim < 2:
        raise TypeError(f"Input 0 to eig must have rank at least 2, but got shape={x.shape}")
    batch, core = x.shape[:-2], x.shape[-2:]
    if core[0] != core[1]:
        raise ValueError(f"The input to eig must be a square matrix. Got shape {core}.")
    check_dtype_at("eig", x, 0, (np.floating, np.complexfloating))
    dtype = _complex_dtype(x.dtype)
    vectors = int(compute_left_eigenvectors) + int(compute_right_eigenvectors)
    return [ShapedArray(x.shape[:-1], dtype)] + [ShapedArray((*batch, *core), dtype)] * vectors


eig_p = standard_primitive("eig", _eig_rule, multiple_results=True)


def eig(
    x: ArrayLike,
    *,
    compute_left_eigenvectors: bool = True,
    compute_right_eigenvectors: bool = True,
    enable_eigvec_derivs: bool = False,
    implementation: EigImplementation | None = None,
    use_magma: bool | None = None,
) -> list[Array]:
    """``[w, vl, vr]``: the eigenvalues of the square matrices ``x`` (complex, in LAPACK's
    order) and, if asked, their left and right eigenvectors (as columns). A decomposition that
    fails gives NaNs."""
    if use_magma is not None:
        implementation = EigImplementation.MAGMA if use_magma else EigImplementation.LAPACK
    return eig_p.bind_all(
        x,
        compute_left_eigenvectors=bool(compute_left_eigenvectors),
        compute_right_eigenvectors=bool(compute_right_eigenvectors),
        enable_eigvec_derivs=bool(enable_eigvec_derivs),
        implementation=implementation,
    )


# ---------------------------------------------------------------------------------------------
# Batching: the batch axis to the front (JAX's ``expand_dims_batcher``)


def _eig_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], **params: bool | EigImplementation | None
) -> tuple[list[Array], list[BatchDim]]:
    (x,), (d,) = args, dims
    outs = eig_p.bind_all(bdim_at(x, d, batch_size(args, dims), 0), **params)
    return outs, [0] * len(outs)


batching_rules[eig_p] = _eig_batch


# ---------------------------------------------------------------------------------------------
# JVP (JAX's ``eig_jvp_rule``)


def _T(x: ArrayLike) -> Array:  # noqa: N802  # JAX's name
    nd = get_aval(x).ndim
    return sh.transpose(x, (*range(nd - 2), nd - 1, nd - 2))


def _matmul(a: ArrayLike, b: ArrayLike) -> Array:
    """``a @ b`` over the trailing matrices (``lax.dot``/``batch_matmul``, precision HIGHEST)."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)),
                       precision=(Precision.HIGHEST, Precision.HIGHEST))


def _solve(a: ArrayLike, b: ArrayLike) -> Array:
    """``a^{-1} b`` for matrices ``b`` (through ``a``'s LU factors, differentiable in both)."""
    lu_, _, permutation = lu(a)
    return lu_solve(lu_, permutation, b, trans=0)


def _eye(dtype: DType, n: int, batch: tuple[int, ...]) -> Array:
    rows = sh.broadcasted_iota(dtypes.int32, (n, n), 0)
    cols = sh.broadcasted_iota(dtypes.int32, (n, n), 1)
    eye = ew.convert_element_type(ew.eq(rows, cols), dtype)
    nb = len(batch)
    return sh.broadcast_in_dim(eye, (*batch, n, n), (nb, nb + 1)) if batch else eye


def _extract_diagonal(s: Array) -> Array:
    n = s.shape[-1]
    return rd.reduce_sum(ew.mul(s, _eye(s.dtype, n, s.shape[:-2])), (s.ndim - 1,))


def _eig_vec_jvp(w: Array, v: Array, da: Array) -> tuple[Array, Array]:
    """The tangents of the eigenvalues ``w`` and of geev's normalised eigenvectors ``v``."""
    n = w.shape[-1]
    batch = w.shape[:-1]
    nb = len(batch)
    eye_n = _eye(w.dtype, n, batch)
    w_row = sh.broadcast_in_dim(w, (*batch, n, n), (*range(nb), nb + 1))  # w[..., None, :]
    w_col = sh.broadcast_in_dim(w, (*batch, n, n), (*range(nb), nb))  # w[..., None]
    f_mat = ew.sub(ew.reciprocal(ew.sub(ew.add(eye_n, w_row), w_col)), eye_n)
    p = _matmul(_solve(v, da), v)
    dw = _extract_diagonal(p)
    u = _matmul(v, ew.mul(f_mat, p))
    # dv_j = u_j + c_j v_j with c_j fixed by geev's normalisation (unit norm, real largest
    # component k_j): c_j = -Re(v_j^* u_j) - i Im(u_{k_j j}) / v_{k_j j}
    rows = v.ndim - 2
    k = rd.argmax(ew.abs(v), rows, dtypes.int32)
    at_k = ew.eq(sh.broadcasted_iota(dtypes.int32, v.shape, rows), sh.expand_dims(k, (rows,)))
    mask = ew.convert_element_type(at_k, v.dtype)
    re = ew.neg(ew.real(rd.reduce_sum(ew.mul(ew.conj(v), u), (rows,))))
    im = ew.div(ew.neg(ew.imag(rd.reduce_sum(ew.mul(mask, u), (rows,)))),
                ew.real(rd.reduce_sum(ew.mul(mask, v), (rows,))))
    c = make_complex(re, im)
    return dw, ew.add(u, ew.mul(v, sh.expand_dims(c, (rows,))))


def _eig_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
    compute_left_eigenvectors: bool, compute_right_eigenvectors: bool,
    enable_eigvec_derivs: bool, implementation: EigImplementation | None,
) -> tuple[list[Array], list[Tangent]]:
    (a,), (da_t,) = primals, tangents
    if (compute_left_eigenvectors or compute_right_eigenvectors) and not enable_eigvec_derivs:
        raise NotImplementedError(
            "Derivatives of non-symmetric eigenvectors are only valid under assumptions on the "
            "input that JAX cannot check (see the enable_eigvec_derivs argument to "
            "jax.lax.linalg.eig). Pass enable_eigvec_derivs=True to jax.lax.linalg.eig to opt "
            "in. See https://github.com/jax-ml/jax/issues/2748 for discussion."
        )
    outs = eig_p.bind_all(
        a, compute_left_eigenvectors=compute_left_eigenvectors, compute_right_eigenvectors=True,
        enable_eigvec_derivs=enable_eigvec_derivs, implementation=implementation,
    )
    w, vr = outs[0], outs[-1]
    da = ew.convert_element_type(instantiate(da_t), vr.dtype)
    if not (compute_left_eigenvectors or compute_right_eigenvectors):
        return [w], [rd.reduce_sum(ew.mul(_solve(vr, da), _T(vr)), (vr.ndim - 1,))]
    dw, dvr = _eig_vec_jvp(w, vr, da)
    primal_out: list[Array] = [w]
    tangent_out: list[Tangent] = [dw]
    if compute_left_eigenvectors:
        vl = outs[1]
        _, dvl = _eig_vec_jvp(ew.conj(w), vl, ew.conj(_T(da)))
        primal_out.append(vl)
        tangent_out.append(dvl)
    if compute_right_eigenvectors:
        primal_out.append(vr)
        tangent_out.append(dvr)
    return primal_out, tangent_out


jvp_rules[eig_p] = _eig_jvp
