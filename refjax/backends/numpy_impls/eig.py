"""Numpy implementation of ``eig`` (``primitives/eig.py``), matrix by matrix over the batch.

``numpy.linalg.eig`` calls LAPACK's ``geev`` as XLA's CPU lowering does, so the eigenvalues come
in the same order and the right eigenvectors with the same normalisation (unit 2-norm, largest
component real); numpy computes in double precision, so float32 results may differ from JAX's
(single-precision) ones in the last bits, and a real eigenvector's sign may differ. The left
eigenvectors are the conjugated rows of ``inv(vr)``, normalised the same way (largest component
real and positive). A matrix with a NaN or infinity, or whose decomposition fails, gives NaNs,
as JAX's do.
"""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives.eig import EigImplementation, eig_p


def _normalised(v: NDArray) -> NDArray:
    """Columns of ``v`` scaled to unit 2-norm with their largest-magnitude component real and
    positive."""
    v = v / np.linalg.norm(v, axis=0, keepdims=True)
    largest = v[np.argmax(np.abs(v), axis=0), np.arange(v.shape[1])]
    phase = np.where(largest == 0, 1, largest / np.where(largest == 0, 1, np.abs(largest)))
    return v / phase


def _one(a: NDArray, left: bool, right: bool, dtype: np.dtype[np.complexfloating]) -> list[
        NDArray]:
    n = a.shape[0]
    try:
        with np.errstate(all="ignore"):
            w, vr = np.linalg.eig(a)
            vl = _normalised(np.linalg.inv(vr).conj().T) if left and n else vr
    except np.linalg.LinAlgError:
        nan = np.full((n, n), np.nan, dtype)
        w, vr, vl = nan[0], nan, nan
    outs = [np.asarray(w, dtype)]
    if left:
        outs.append(np.asarray(vl, dtype))
    if right:
        outs.append(np.asarray(vr, dtype))
    return outs


@register(eig_p)
def _eig(
    x: NDArray, *, compute_left_eigenvectors: bool, compute_right_eigenvectors: bool,
    enable_eigvec_derivs: bool, implementation: EigImplementation | None,
) -> list[NDArray]:
    dtype = np.result_type(x.dtype, np.complex64)
    batch, n = x.shape[:-2], x.shape[-1]
    left, right = compute_left_eigenvectors, compute_right_eigenvectors
    shapes = [(*batch, n)] + [(*batch, n, n)] * (int(left) + int(right))
    outs = [np.empty(shape, dtype) for shape in shapes]
    for idx in np.ndindex(*batch):
        for out, value in zip(outs, _one(x[idx], left, right, dtype), strict=True):
            out[idx] = value
    return outs
