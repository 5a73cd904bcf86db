"""Numpy implementations of the shape primitives."""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.dtypes import DType
from refjax.interp.core import NDArray
from refjax.primitives import shape as sh


@register(sh.broadcast_in_dim_p)
def _broadcast_in_dim(
    x: NDArray,
    *,
    shape: tuple[int, ...],
    broadcast_dimensions: tuple[int, ...],
    sharding: None = None,
) -> NDArray:
    expanded = [1] * len(shape)
    for size, dim in zip(x.shape, broadcast_dimensions, strict=True):
        expanded[dim] = size
    return np.broadcast_to(x.reshape(expanded), shape)


@register(sh.reshape_p)
def _reshape(
    x: NDArray,
    *,
    new_sizes: tuple[int, ...],
    dimensions: tuple[int, ...] | None,
    sharding: None = None,
) -> NDArray:
    ordered = x if dimensions is None else np.transpose(x, dimensions)
    return np.reshape(ordered, new_sizes)


@register(sh.squeeze_p)
def _squeeze(x: NDArray, *, dimensions: tuple[int, ...]) -> NDArray:
    return np.squeeze(x, axis=dimensions)


@register(sh.transpose_p)
def _transpose(x: NDArray, *, permutation: tuple[int, ...]) -> NDArray:
    return np.transpose(x, permutation)


@register(sh.rev_p)
def _rev(x: NDArray, *, dimensions: tuple[int, ...]) -> NDArray:
    return np.flip(x, axis=dimensions) if dimensions else x


@register(sh.concatenate_p)
def _concatenate(*xs: NDArray, dimension: int) -> NDArray:
    return np.concatenate(xs, axis=dimension)


@register(sh.pad_p)
def _pad(x: NDArray, padding_value: NDArray, *, padding_config: sh.PaddingConfig) -> NDArray:
    """Place ``x`` with strides ``interior + 1`` in a padded canvas, then crop negative edges."""
    canvas_shape = []
    placed = []
    cropped = []
    for (lo, hi, interior), size in zip(padding_config, x.shape, strict=True):
        start, dilated = max(lo, 0), sh.dilate_dim(size, interior)
        total = start + dilated + max(hi, 0)
        canvas_shape.append(total)
        placed.append(slice(start, start + dilated, interior + 1))
        cropped.append(slice(max(-lo, 0), total - max(-hi, 0)))
    canvas = np.full(canvas_shape, padding_value, dtype=x.dtype)
    canvas[tuple(placed)] = x
    return canvas[tuple(cropped)]


@register(sh.iota_p)
def _iota(
    *, dtype: DType, shape: tuple[int, ...], dimension: int, sharding: None = None
) -> NDArray:
    line = np.arange(shape[dimension], dtype=dtype)
    axes = [1] * len(shape)
    axes[dimension] = shape[dimension]
    return np.broadcast_to(line.reshape(axes), shape)


@register(sh.stack_p)
def _stack(*xs: NDArray, axis: int) -> NDArray:
    return np.stack(xs, axis=axis)


@register(sh.unstack_p)
def _unstack(x: NDArray, *, axis: int) -> list[NDArray]:
    return [np.array(np.take(x, i, axis=axis)) for i in range(x.shape[axis])]


@register(sh.split_p)
def _split(x: NDArray, *, sizes: tuple[int, ...], axis: int) -> list[NDArray]:
    bounds = np.cumsum(sizes)[:-1]
    return [np.array(part) for part in np.split(x, bounds, axis=axis)]


@register(sh.tile_p)
def _tile(x: NDArray, *, reps: tuple[int, ...]) -> NDArray:
    return np.tile(x, reps)
