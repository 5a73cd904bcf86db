"""Arrays placed over several devices: ``NamedSharding`` and the arrays that carry one.

A :class:`NamedSharding` is a mesh and a partition spec: device ``d`` of the mesh holds the block
of the array that the spec gives its position (``primitives.shard_map``'s ``shard_aval``). A
:class:`ShardedArray` is a concrete array with such a placement: refjax keeps its value as one
buffer of the backend (the numpy backend's virtual devices share the host's memory) and reports
the placement through ``sharding``, ``devices()`` and ``addressable_shards``; ``shard_map`` and
``pmap`` compute each block on its own device, and their results carry the sharding they were
assembled with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from refjax.backends.base import ArrayImpl, Backend, Device, device_put, get_backend
from refjax.interp.core import ArrayLike, NDArray, ShapedArray, get_aval
from refjax.primitives.shard_map import Mesh, PartitionSpec, shard_aval, split_count


@dataclass(frozen=True, slots=True)
class NamedSharding:
    """An array split over ``mesh`` as ``spec`` says (``jax.sharding.NamedSharding``)."""

    mesh: Mesh
    spec: PartitionSpec = PartitionSpec()  # noqa: RUF009  # immutable: a tuple
    memory_kind: str = "device"

    def __post_init__(self) -> None:
        if not isinstance(self.spec, PartitionSpec):
            raise TypeError("NamedSharding expects a PartitionSpec as its spec, got "
                            f"{self.spec!r}")
        for name in self.spec.mentioned():
            if name not in self.mesh.axis_names:
                raise ValueError(f"Resource axis: {name} of {self.spec} is not found in mesh: "
                                 f"{tuple(self.mesh.axis_names)}.")

    @property
    def device_set(self) -> set[Device]:
        """Every device of the mesh."""
        return set(self.mesh.devices.flat)

    @property
    def is_fully_replicated(self) -> bool:
        """Whether every device holds the whole array."""
        return not self.spec.mentioned()

    @property
    def num_devices(self) -> int:
        """How many devices hold a block."""
        return self.mesh.size

    def shard_shape(self, global_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one device's block of an array of ``global_shape``."""
        check_divisible(self, global_shape)
        return tuple(shard_aval(self.mesh, self.spec, ShapedArray(global_shape,
                                                                  np.dtype(np.float32))).shape)

    def devices_indices_map(self, global_shape: tuple[int, ...]) -> dict[Device, tuple[slice,
                                                                                      ...]]:
        """Each device with the index of its block."""
        return {d: block_index(self.mesh, self.spec, pos, global_shape)
                for pos, d in np.ndenumerate(self.mesh.devices)}

    def __repr__(self) -> str:
        return (f"NamedSharding(mesh={self.mesh}, spec={self.spec}, "
                f"memory_kind={self.memory_kind})")


def check_divisible(sharding: NamedSharding, shape: tuple[int, ...]) -> None:
    """JAX's ValueError for an array the sharding cannot split evenly."""
    spec, mesh = sharding.spec, sharding.mesh
    if len(spec) > len(shape):
        raise ValueError(f"One of device_put args was given the sharding of {sharding}, which "
                         f"implies that the global size of its dimension {len(shape)} should be "
                         f"divisible by the mesh, but it has rank {len(shape)}")
    factors = [split_count(mesh, names) for names in spec.dim_axes(len(shape))]
    for dim, (size, factor) in enumerate(zip(shape, factors, strict=True)):
        if size % factor:
            raise ValueError(f"Sharding {sharding} implies that array axis {dim} is partitioned "
                             f"{factor} times, but the dimension size is {size} (full shape: "
                             f"{shape}, per-dimension tiling factors: {factors} should evenly "
                             "divide the shape)")


def block_index(mesh: Mesh, spec: PartitionSpec, pos: tuple[int, ...],
                shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The index of the block that the device at mesh position ``pos`` holds."""
    coords = dict(zip(mesh.axis_names, pos, strict=True))
    index = []
    for size, names in zip(shape, spec.dim_axes(len(shape)), strict=True):
        count = split_count(mesh, names)
        k = 0
        for n in names:
            k = k * mesh.shape[n] + coords[n]
        step = size // count
        index.append(slice(k * step, (k + 1) * step))
    return tuple(index)


@dataclass(frozen=True, slots=True)
class Shard:
    """One device's block of a sharded array (``jax.Shard``)."""

    device: Device
    index: tuple[slice, ...]
    data: ArrayImpl


class ShardedArray(ArrayImpl):
    """A concrete array placed over the devices of a :class:`NamedSharding`."""

    __slots__ = ("_sharding",)

    def __init__(self, aval: ShapedArray, buffer: Any, backend: Backend,
                 sharding: NamedSharding) -> None:
        super().__init__(aval, buffer, backend, None)
        self._sharding = sharding

    @property
    def sharding(self) -> NamedSharding:  # type: ignore[override]  # a wider placement
        """How the array is split over the mesh's devices."""
        return self._sharding

    def devices(self) -> set[Device]:
        """Every device holding a block."""
        return self._sharding.device_set

    @property
    def committed(self) -> bool:
        """A sharded array is always placed explicitly."""
        return True

    @property
    def addressable_shards(self) -> list[Shard]:
        """Each device's block, on that device."""
        value = self._concrete_value()
        return [Shard(d, idx, device_put(value[idx], d))
                for d, idx in self._sharding.devices_indices_map(self.aval.shape).items()]

    def copy(self) -> ShardedArray:
        """A copy of this array, placed the same way."""
        return ShardedArray(self._aval, self.backend.from_numpy(self._concrete_value()),
                            self.backend, self._sharding)


def put_sharded(x: ArrayLike, sharding: NamedSharding) -> ShardedArray:
    """``x`` placed over ``sharding``'s devices (``device_put(x, NamedSharding(...))``)."""
    aval = get_aval(x)
    check_divisible(sharding, aval.shape)
    first = next(iter(sharding.mesh.devices.flat))
    backend = get_backend(first.backend) if isinstance(first, Device) else get_backend()
    host: NDArray = np.asarray(x, dtype=aval.dtype)
    buffer = x.buffer if isinstance(x, ArrayImpl) and x.backend is backend \
        else backend.from_numpy(host)
    return ShardedArray(aval, buffer, backend, sharding)
