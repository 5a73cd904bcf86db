"""Numpy implementations of the linalg primitives."""

from __future__ import annotations

import math

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.dtypes import DType
from refjax.interp.core import NDArray
from refjax.primitives import linalg as la


def compute_dtype(lhs: DType, rhs: DType, out: DType) -> DType:
    """Accumulate in the output type, unless a preferred output type is narrower than the inputs."""
    inputs = la.dot_result_dtype(lhs, rhs, None)
    return inputs if out.itemsize < inputs.itemsize else out


@register(la.dot_general_p)
def _dot_general(
    lhs: NDArray,
    rhs: NDArray,
    *,
    dimension_numbers: la.CanonicalDimensionNumbers,
    precision: la.CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> NDArray:
    """As a batched matmul: lhs to (batch, free, contract), rhs to (batch, contract, free)."""
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    out_dtype = la.dot_result_dtype(lhs.dtype, rhs.dtype, preferred_element_type)
    dtype = compute_dtype(lhs.dtype, rhs.dtype, out_dtype)
    lhs_free = la.free_dims(lhs.ndim, lhs_contract, lhs_batch)
    rhs_free = la.free_dims(rhs.ndim, rhs_contract, rhs_batch)
    batch_shape = tuple(lhs.shape[d] for d in lhs_batch)
    lhs_free_shape = tuple(lhs.shape[d] for d in lhs_free)
    rhs_free_shape = tuple(rhs.shape[d] for d in rhs_free)
    size = math.prod(lhs.shape[d] for d in lhs_contract)
    n_batch = math.prod(batch_shape)
    a = lhs.transpose(lhs_batch + lhs_free + lhs_contract).astype(dtype)
    b = rhs.transpose(rhs_batch + rhs_contract + rhs_free).astype(dtype)
    a = a.reshape(n_batch, math.prod(lhs_free_shape), size)
    b = b.reshape(n_batch, size, math.prod(rhs_free_shape))
    with np.errstate(over="ignore", invalid="ignore"):
        out: NDArray = np.matmul(a, b).astype(out_dtype)
    return out.reshape(batch_shape + lhs_free_shape + rhs_free_shape)
