"""``refjax.numpy`` as a Python array API standard namespace, as ``jax.numpy`` is one.

The standard (https://data-apis.org/array-api/) asks a namespace for its version
(``__array_api_version__``), an inspection object (``__array_namespace_info__()``: devices,
dtypes, default dtypes, capabilities), ``from_dlpack``, and asks arrays for
``__array_namespace__``, ``to_device``, ``device`` and the DLPack pair
``__dlpack__``/``__dlpack_device__``. This module holds all of them, as JAX's
``array_api_metadata.py`` does; the array methods are installed by ``array_methods.py``.

Devices are ``refjax.devices()`` of the default backend, with ``None`` first: as in JAX, ``None``
means "uncommitted" (the default backend chooses). DLPack exchange goes through the host: every
backend's buffer is copied to a numpy array, so arrays export as CPU (``kDLCPU``) tensors.
"""

from __future__ import annotations

import enum
import types
from typing import Final, TypeAlias

import numpy as np

from refjax import dtypes
from refjax.backends.base import ArrayImpl, Device, device_put
from refjax.backends.base import devices as _backend_devices
from refjax.config import config
from refjax.dtypes import DType
from refjax.interp.core import Array, NDArray, Tracer

__array_api_version__: Final = "2024.12"

DeviceLike: TypeAlias = Device | str | None
Capabilities: TypeAlias = dict[str, bool | int]
DefaultDtypes: TypeAlias = dict[str, DType]

# The standard's dtypes by kind; the 64-bit ones only with x64 enabled (float16 is not one).
_KINDS: Final[dict[str, tuple[DType, ...]]] = {
    "bool": (dtypes.bool_,),
    "signed integer": dtypes.SIGNED_INTS,
    "unsigned integer": dtypes.UNSIGNED_INTS,
    "integral": dtypes.INTS,
    "real floating": (dtypes.float32, dtypes.float64),
    "complex floating": dtypes.COMPLEXES,
    "numeric": (*dtypes.INTS, dtypes.float32, dtypes.float64, *dtypes.COMPLEXES),
}
_X64_ONLY: Final = frozenset({dtypes.int64, dtypes.uint64, dtypes.float64, dtypes.complex128})


class ArrayNamespaceInfo:
    """What ``__array_namespace_info__()`` returns: the namespace's devices and dtypes."""

    _capabilities: Final[Capabilities] = {
        "boolean indexing": False,  # within transformations, as JAX
        "data-dependent shapes": False,  # within transformations, as JAX
        "max dimensions": 64,  # JAX's (XLA's) limit, kept for the same answers
    }

    def capabilities(self) -> Capabilities:
        """The optional features: boolean indexing, data-dependent shapes, max dimensions."""
        return dict(self._capabilities)

    def default_device(self) -> None:
        """None: arrays are uncommitted by default and go to the default backend."""
        return None

    def devices(self) -> list[Device | None]:
        """``None`` (uncommitted) and the default backend's devices."""
        return [None, *_backend_devices()]

    def default_dtypes(self, *, device: DeviceLike = None) -> DefaultDtypes:
        """The default real, complex, integer and index dtypes (64-bit with x64)."""
        del device  # the same on every device
        float_ = dtypes.default_float_dtype()
        int_ = dtypes.default_int_dtype()
        return {
            "real floating": float_,
            "complex floating": dtypes.promote_types(float_, dtypes.complex64),
            "integral": int_,
            "indexing": int_,
        }

    def dtypes(
        self, *, device: DeviceLike = None, kind: str | tuple[str, ...] | None = None
    ) -> dict[str, DType]:
        """The standard's dtypes of ``kind`` (a name or a tuple of names; all if None)."""
        del device  # the same on every device
        if kind is None:
            kinds: tuple[str, ...] = ("numeric", "bool")
        else:
            kinds = kind if isinstance(kind, tuple) else (kind,)
        out: dict[str, DType] = {}
        for name in kinds:
            if name not in _KINDS:
                raise KeyError(name)  # as JAX's dict lookup
            out.update({dt.name: dt for dt in _KINDS[name] if _available(dt)})
        return out


def _available(dtype: DType) -> bool:
    return config.jax_enable_x64 or dtype not in _X64_ONLY


def __array_namespace_info__() -> ArrayNamespaceInfo:  # noqa: N807  # the standard's name
    """The array API inspection object of ``refjax.numpy``."""
    return ArrayNamespaceInfo()


# ---------------------------------------------------------------------------------------------
# Devices


def on_device(x: Array, device: DeviceLike) -> Array:
    """``x`` placed on ``device`` (None: where it is; a traced value stays as it is)."""
    if device is None or isinstance(x, Tracer):
        return x
    return device_put(x, device)


def to_device(self: Array, device: DeviceLike, *, stream: int | None = None) -> Array:
    """``x.to_device(device)``: this array on ``device``."""
    if stream is not None:
        raise NotImplementedError("stream argument of array.to_device()")
    return on_device(self, device)


def array_namespace(self: Array, /, *, api_version: str | None = None) -> types.ModuleType:
    """``x.__array_namespace__()``: the namespace of refjax arrays, ``refjax.numpy``."""
    if api_version is not None and api_version != __array_api_version__:
        raise ValueError(
            f"{api_version=!r} is not available; available versions are: "
            f"{[__array_api_version__]}"
        )
    import refjax.numpy  # the package above this module, loaded by the time arrays exist

    return refjax.numpy


# ---------------------------------------------------------------------------------------------
# DLPack


class DLDeviceType(enum.IntEnum):
    """DLPack's device types (those refjax exports: the host CPU)."""

    kDLCPU = 1  # noqa: N815  # DLPack's name


def dlpack_device(self: Array, /) -> tuple[DLDeviceType, int]:
    """``x.__dlpack_device__()``: arrays export from the host, as CPU tensors."""
    return DLDeviceType.kDLCPU, 0


def dlpack(
    self: Array,
    /,
    *,
    stream: int | None = None,
    max_version: tuple[int, int] | None = None,
    dl_device: tuple[int, int] | None = None,
    copy: bool | None = None,
) -> object:
    """``x.__dlpack__()``: a DLPack capsule of this array's value on the host (numpy's)."""
    if stream is not None:
        raise BufferError("refjax arrays export from the host: stream must be None")
    if dl_device is not None and tuple(dl_device) != (DLDeviceType.kDLCPU, 0):
        raise BufferError(f"refjax arrays export to the CPU (1, 0) only, not {dl_device}")
    if max_version is None or max_version[0] < 1:  # the legacy capsule has no read-only flag
        return np.asarray(self).copy().__dlpack__()  # a private copy: arrays are immutable
    if copy:
        return np.asarray(self).copy().__dlpack__(max_version=max_version, copy=True)
    view = np.asarray(self).view()
    view.flags.writeable = False  # the buffer itself, flagged read-only for the consumer
    return view.__dlpack__(max_version=max_version, copy=False)


def from_dlpack(
    x: object, /, *, device: DeviceLike = None, copy: bool | None = None
) -> Array:
    """An array from any object with ``__dlpack__`` (numpy, refjax and JAX arrays ...)."""
    if not (hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__")):
        raise TypeError(
            "The array passed to from_dlpack must have __dlpack__ and __dlpack_device__ methods."
        )
    if device is None and isinstance(x, ArrayImpl):
        device = x.device  # stays where it is, as the standard asks
    host: NDArray = np.from_dlpack(x)
    return device_put(host if copy is False else host.copy(), device)
