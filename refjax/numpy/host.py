"""The parts of ``jax.numpy`` that live on the host: printing options, files and buffers, and
``block`` (nested lists of blocks concatenated).

refjax arrays print through numpy, so numpy's print options apply to them and
``get_printoptions``/``set_printoptions``/``printoptions`` are numpy's, as in JAX. ``load`` and
``frombuffer``/``fromstring`` read with numpy and return an array on the default device;
``save``/``savez``/``array_repr``/``array_str`` are numpy's functions (they call ``__array__``).
``fromfile`` and ``fromiter`` are left out on purpose, as JAX leaves them out: reading a file or
consuming an iterator is a side effect that a traced function would perform once, at trace time.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from typing import IO, Any

import numpy as np

from refjax import lax
from refjax.dtypes import DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy.creation import asarray
from refjax.numpy.manipulation import concatenate
from refjax.primitives.calls import library_jit

ComplexWarning = np.exceptions.ComplexWarning
object_ = np.object_
array_repr = np.array_repr
array_str = np.array_str
save = np.save
savez = np.savez


def get_printoptions() -> dict[str, Any]:
    """numpy's print options, which refjax arrays print with."""
    return dict(np.get_printoptions())


def set_printoptions(*args: Any, **kwargs: Any) -> None:
    """Set numpy's print options (refjax arrays print through numpy)."""
    np.set_printoptions(*args, **kwargs)


def printoptions(*args: Any, **kwargs: Any) -> AbstractContextManager[Any]:
    """A context manager setting numpy's print options for its block."""
    return np.printoptions(*args, **kwargs)


def load(file: IO[bytes] | str | os.PathLike[Any], *args: Any, **kwargs: Any) -> Any:
    """``numpy.load``; a ``.npy`` file's array comes back as a refjax array (``.npz`` archives
    stay numpy's lazy mapping of numpy arrays, as in JAX)."""
    out = np.load(file, *args, **kwargs)
    return asarray(out) if isinstance(out, np.ndarray) else out


def frombuffer(buffer: Any, dtype: DTypeLike = float, count: int = -1, offset: int = 0
               ) -> Array:
    """A 1-D array of the buffer's data read as ``dtype`` (64-bit types narrow unless x64)."""
    return asarray(np.frombuffer(buffer, dtype=dtype, count=count, offset=offset))


def fromstring(string: str, dtype: DTypeLike = float, count: int = -1, *, sep: str) -> Array:
    """A 1-D array of the numbers in ``string``, separated by ``sep``."""
    return asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep))


def _impure(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"jnp.{name}() is not implemented because it may be non-pure and thus unsafe for use "
        f"with JIT and other JAX transformations: a traced function would read its input once, "
        f"at trace time. Consider using jnp.asarray(np.{name}(...)) outside the transformed "
        f"function instead.")


def fromfile(*args: Any, **kwargs: Any) -> Array:
    """Not implemented, as in JAX: reading a file is a side effect."""
    raise _impure("fromfile")


def fromiter(*args: Any, **kwargs: Any) -> Array:
    """Not implemented, as in JAX: consuming an iterator is a side effect."""
    raise _impure("fromiter")


def _block(xs: Any) -> tuple[Array, int]:
    """The innermost lists concatenate along the last axis, the next along the one before, ...;
    every block first gets leading unit axes up to the result's rank. Returns (array, depth)."""
    if isinstance(xs, tuple):
        raise ValueError(f"jax.numpy.block does not allow tuples, got {xs}")
    if not isinstance(xs, list):
        return asarray(xs), 1
    if not xs:
        raise ValueError("jax.numpy.block does not allow empty list arguments")
    parts = [_block(x) for x in xs]
    depth = parts[0][1]
    if any(d != depth for _, d in parts[1:]):
        raise ValueError("Mismatched list depths in jax.numpy.block")
    rank = max(depth, max(a.ndim for a, _ in parts))
    blocks = [lax.broadcast(a, (1,) * (rank - a.ndim)) if a.ndim < rank else a
              for a, _ in parts]
    return concatenate(blocks, axis=-depth), depth + 1


@library_jit()
def block(arrays: ArrayLike | list[Any]) -> Array:
    """An array assembled from a nested list of blocks (``numpy.block``)."""
    return _block(arrays)[0]
