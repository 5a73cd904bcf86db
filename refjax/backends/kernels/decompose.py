"""Decompositions: primitives with no IR form of their own, written as jaxprs of primitives that
have one, so the fusion planner can inline them (as it inlines a ``jit`` call) and they run as
kernels instead of on the host.

``argmax``/``argmin`` along an axis are two reductions: the extreme value ``m`` (max and min
propagate NaN, so ``m`` is NaN exactly when a NaN is present), then the smallest index whose
element equals ``m``, a NaN counting as equal to a NaN ``m``. That is JAX's rule: the first
occurrence of the extreme value, and the first NaN if there is one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeAlias

import numpy as np

from refjax.backends.kernels.decompose_windows import window_decompositions
from refjax.dtypes import DType
from refjax.interp.core import Array, ClosedJaxpr, Params, Primitive, ShapedArray
from refjax.interp.staging import trace_to_jaxpr
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl

# None: the primitive needs no decomposition with these params (``pad`` without interior)
Decomposition: TypeAlias = Callable[[Sequence[ShapedArray], Params], ClosedJaxpr | None]


def _trace(fn: Callable[..., Array], in_avals: Sequence[ShapedArray]) -> ClosedJaxpr:
    """``fn`` staged out on (strongly typed) arguments of ``in_avals``."""
    return trace_to_jaxpr(lambda *xs: [fn(*xs)], [a.strip_weak_type() for a in in_avals])


def _arg_extreme(extreme: Callable[[Array, Sequence[int]], Array]) -> Decomposition:
    def rule(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
        (axis,) = params["axes"]
        index_dtype: DType = params["index_dtype"]
        shape = in_avals[0].shape
        kept = tuple(d for d in range(len(shape)) if d != axis)
        is_float = in_avals[0].dtype.kind == "f"

        def fn(x: Array) -> Array:
            m = sh.broadcast_in_dim(extreme(x, (axis,)), shape, kept)
            hit = ew.eq(x, m)
            if is_float:  # a NaN extreme: the first NaN
                hit = ew.bitwise_or(hit, ew.bitwise_and(ew.ne(x, x), ew.ne(m, m)))
            index = sh.broadcasted_iota(index_dtype, shape, axis)
            past = np.array(np.iinfo(index_dtype).max, index_dtype)  # never chosen: m is hit
            none = sh.broadcast_in_dim(past, shape, ())
            return rd.reduce_min(ew.select(hit, index, none), (axis,))

        return _trace(fn, in_avals)

    return rule


decompositions: Final[dict[Primitive, Decomposition]] = {
    rd.argmax_p: _arg_extreme(rd.reduce_max),
    rd.argmin_p: _arg_extreme(rd.reduce_min),
}


def _trace_all(fn: Callable[..., Sequence[Array]], in_avals: Sequence[ShapedArray]
               ) -> ClosedJaxpr:
    """``fn`` (several results) staged out on strongly typed arguments of ``in_avals``."""
    return trace_to_jaxpr(lambda *xs: list(fn(*xs)), [a.strip_weak_type() for a in in_avals])


def _stack(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """``stack``: each operand given a unit axis, then one concatenate."""
    axis: int = params["axis"]
    shape = list(in_avals[0].shape)
    shape.insert(axis, 1)
    dims = tuple(d for d in range(len(shape)) if d != axis)

    def fn(*xs: Array) -> Array:
        return sh.concatenate([sh.broadcast_in_dim(x, tuple(shape), dims) for x in xs], axis)

    return _trace(fn, in_avals)


def _tile(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """``tile``: a broadcast to ``(r0, n0, r1, n1, ...)``, then a reshape."""
    reps: tuple[int, ...] = params["reps"]
    shape = in_avals[0].shape
    wide = tuple(k for pair in zip(reps, shape, strict=True) for k in pair)
    dims = tuple(2 * i + 1 for i in range(len(shape)))
    out = tuple(r * n for r, n in zip(reps, shape, strict=True))

    def fn(x: Array) -> Array:
        return sh.reshape(sh.broadcast_in_dim(x, wide, dims), out)

    return _trace(fn, in_avals)


def _split(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """``split``: one slice per piece."""
    sizes: tuple[int, ...] = params["sizes"]
    axis: int = params["axis"]

    def fn(x: Array) -> list[Array]:
        starts = np.cumsum((0, *sizes[:-1]))
        return [sl.slice_in_dim(x, int(s), int(s) + n, axis=axis)
                for s, n in zip(starts, sizes, strict=True)]

    return _trace_all(fn, in_avals)


def _unstack(in_avals: Sequence[ShapedArray], params: Params) -> ClosedJaxpr:
    """``unstack``: one slice per index, its unit axis reshaped away."""
    axis: int = params["axis"]
    shape = in_avals[0].shape
    rest = tuple(n for d, n in enumerate(shape) if d != axis)

    def fn(x: Array) -> list[Array]:
        return [sh.reshape(sl.slice_in_dim(x, i, i + 1, axis=axis), rest)
                for i in range(shape[axis])]

    return _trace_all(fn, in_avals)


decompositions[sh.stack_p] = _stack
decompositions[sh.tile_p] = _tile
decompositions[sh.split_p] = _split
decompositions[sh.unstack_p] = _unstack
decompositions.update(window_decompositions)  # convolution, windowed reductions
