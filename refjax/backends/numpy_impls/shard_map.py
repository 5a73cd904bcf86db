"""The implementation of ``shard_map`` (and so ``pmap``): one shard per device (``spmd``)."""

from __future__ import annotations

from refjax.backends.numpy_impls.table import register
from refjax.backends.spmd import run_shard_map
from refjax.interp.core import ClosedJaxpr, NDArray
from refjax.primitives.shard_map import Mesh, Specs, shard_map_p


@register(shard_map_p)
def _shard_map(*args: NDArray, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: Specs,
               out_specs: Specs, check_vma: bool) -> list[NDArray]:
    return run_shard_map(args, jaxpr, mesh, in_specs, out_specs)
