"""Numpy implementations of the collectives, where one can run outside a mapped axis.

``psum``/``pmax``/``pmin`` over positional axes only are reductions. Over a named axis, and for
the other collectives, there is nothing to compute on one array: a mapping transformation
(``vmap(axis_name=)``; ``pmap``/``shard_map`` later) runs them through its rules, and an unbound
name is a NameError at abstract evaluation. Reaching these functions is a RuntimeError, as
JAX's ``all_to_all`` impl says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.axes import pvary_p
from refjax.interp.core import NDArray, Primitive
from refjax.primitives import collectives as co


def _allreduce(reduce: Callable[..., NDArray], name: str) -> Callable[..., NDArray]:
    def impl(x: NDArray, *, axes: tuple[Any, ...], axis_index_groups: Any) -> NDArray:
        if not all(isinstance(a, int) for a in axes):
            raise RuntimeError(f"{name} over a named axis must be used within a mapped context "
                               "like vmap or shard_map.")
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(reduce(x, axis=tuple(axes)))

    return impl


register(co.psum_p)(_allreduce(lambda x, axis: np.add.reduce(x, axis=axis, dtype=x.dtype),
                               "psum"))
register(co.pmax_p)(_allreduce(np.max, "pmax"))
register(co.pmin_p)(_allreduce(np.min, "pmin"))


def _unmapped(prim: Primitive) -> None:
    def impl(*args: NDArray, **params: Any) -> NDArray:
        raise RuntimeError(f"{prim.name} must be used within a mapped context like vmap or "
                           "shard_map.")

    register(prim)(impl)


for _prim in (co.psum_invariant_p, co.all_gather_p, co.reduce_scatter_p, co.ppermute_p,
              co.all_to_all_p, co.axis_index_p):
    _unmapped(_prim)


register(pvary_p)(lambda x, *, axes: x)  # a no-op cast (a shard of a shard_map runs it)
