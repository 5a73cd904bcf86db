"""Numpy implementation of ``conv_general_dilated``: im2col and one contraction.

The operands go to the canonical layouts (N, C, spatial...) and (O, I, spatial...). Every window
of the dilated, padded input is gathered (``window_patches``: lhs dilation is the base dilation,
rhs dilation the window dilation), and contracted with the kernel by ``np.einsum``, per feature
group or batch group. Floats are computed in double precision (complex in complex128) and rounded
once to the result type; integers in int64, then wrapped to the result type as XLA's integer
convolutions wrap; booleans are "any of the ands".
"""

from __future__ import annotations

import math

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.backends.numpy_impls.windowed import window_patches
from refjax.dtypes import DType
from refjax.interp.core import NDArray
from refjax.primitives import convolution as cv
from refjax.primitives.linalg import CanonicalPrecision


def _compute_dtype(out: DType) -> DType:
    """What the sums run in: double precision for inexact results, int64 for the others."""
    if out.kind == "c":
        return np.dtype(np.complex128)
    if out.kind in "fV":  # (bfloat16 and the other ml_dtypes floats are kind V)
        return np.dtype(np.float64)
    return np.dtype(np.int64)


@register(cv.conv_general_dilated_p)
def _conv_general_dilated(
    lhs: NDArray,
    rhs: NDArray,
    *,
    window_strides: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    lhs_dilation: tuple[int, ...],
    rhs_dilation: tuple[int, ...],
    dimension_numbers: cv.ConvDimensionNumbers,
    feature_group_count: int,
    batch_group_count: int,
    precision: CanonicalPrecision,
    preferred_element_type: DType | None,
    out_sharding: None = None,
) -> NDArray:
    for i, s in enumerate(window_strides):
        if s <= 0:
            raise ValueError(
                "Cannot lower jaxpr with verifier errors:\n\texpects window to have positive "
                f"stride for {i}-th window dimension, but got {s}."
            )
    out_dtype = cv.conv_result_dtype(lhs.dtype, preferred_element_type)
    compute = _compute_dtype(out_dtype)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = lhs.transpose(lhs_spec).astype(compute)
    w = rhs.transpose(rhs_spec).astype(compute)
    n, c = x.shape[:2]
    o, i = w.shape[:2]
    kernel = w.shape[2:]
    patches, _ = window_patches(
        x,
        np.zeros((), compute),
        (1, 1, *kernel),
        (1, 1, *window_strides),
        ((0, 0), (0, 0), *padding),
        (1, 1, *lhs_dilation),
        (1, 1, *rhs_dilation),
    )
    out_space = patches.shape[2:-1]
    p, k = math.prod(out_space), math.prod(kernel)
    patches = patches.reshape(n, c, p, k)
    w = w.reshape(o, i, k)
    with np.errstate(over="ignore", invalid="ignore"):
        if batch_group_count > 1:
            b = batch_group_count
            out = np.einsum(
                "bncpk,bock->nbop", patches.reshape(b, n // b, c, p, k), w.reshape(b, o // b, i, k),
                optimize=True,
            ).reshape(n // b, o, *out_space)
        else:
            g = feature_group_count
            out = np.einsum(
                "ngcpk,gock->ngop", patches.reshape(n, g, c // g, p, k), w.reshape(g, o // g, i, k),
                optimize=True,
            ).reshape(n, o, *out_space)
        result = out != 0 if out_dtype == np.bool_ else out.astype(out_dtype)
    return np.asarray(result).transpose(np.argsort(out_spec))
