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

from refjax.dtypes import DType
from refjax.interp.core import Array, ClosedJaxpr, Params, Primitive, ShapedArray
from refjax.interp.staging import trace_to_jaxpr
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh

Decomposition: TypeAlias = Callable[[Sequence[ShapedArray], Params], ClosedJaxpr]


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
