"""``jax.sharding``: meshes, partition specs and the placements of arrays."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from refjax.backends.base import Device, SingleDeviceSharding
from refjax.backends.base import devices as backend_devices
from refjax.backends.sharding import NamedSharding, Shard
from refjax.primitives.shard_map import Mesh, PartitionSpec

__all__ = ["Mesh", "NamedSharding", "PartitionSpec", "Shard", "SingleDeviceSharding",
           "make_mesh"]


def make_mesh(axis_shapes: Sequence[int], axis_names: Sequence[Any], axis_types: Any = None,
              *, devices: Sequence[Device] | None = None) -> Mesh:
    """A mesh of the first ``prod(axis_shapes)`` devices laid out as ``axis_shapes``."""
    shape = tuple(axis_shapes)
    if len(shape) != len(tuple(axis_names)):
        raise ValueError(f"Length of axis_shapes {shape} must match the length of axis_names "
                         f"{tuple(axis_names)}")
    available = list(backend_devices()) if devices is None else list(devices)
    count = int(np.prod(shape, dtype=np.int64))
    if count > len(available):
        raise ValueError(f"Number of devices {len(available)} must be >= the product of mesh "
                         f"shape {shape}")
    grid = np.empty(count, dtype=object)
    grid[:] = available[:count]
    return Mesh(grid.reshape(shape), tuple(axis_names), axis_types)
