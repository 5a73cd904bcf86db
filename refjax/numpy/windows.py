"""Window functions of ``jax.numpy``: ``bartlett``, ``blackman``, ``hamming``, ``hanning`` and
``kaiser``, as JAX writes them (``jax/_src/numpy/window_functions.py``): the default float dtype,
a window of ones for ``M <= 1``, otherwise a formula in ``n = iota(M)``. ``kaiser`` uses
``jnp.i0``, the modified Bessel function of order 0.
"""

from __future__ import annotations

import numpy as np

from refjax import dtypes, lax
from refjax.interp.core import Array, ArrayLike, concrete_or_error
from refjax.numpy import ufuncs
from refjax.numpy.numerical import i0
from refjax.primitives.lax_extras import full

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]


def _window_size(M: int, name: str) -> int:  # noqa: N803  # numpy's name
    """``int(M)`` of a concrete ``M`` (JAX's ``concrete_or_error(int, M, ...)``)."""
    if isinstance(M, Array):
        return int(concrete_or_error(M, f"M argument of jnp.{name}"))
    return int(M)


def _iota(M: int) -> Array:  # noqa: N803  # numpy's name
    return lax.iota(dtypes.default_float_dtype(), M)


def blackman(M: int) -> Array:  # noqa: N803  # numpy's name
    """The Blackman window of ``M`` points: ``0.42 - 0.5 cos(2 pi n/(M-1)) + 0.08 cos(4 pi
    n/(M-1))``."""
    M = _window_size(M, "blackman")  # noqa: N806
    if M <= 1:
        return full((M,), 1, dtypes.default_float_dtype())
    n = _iota(M)
    return 0.42 - 0.5 * ufuncs.cos(2 * np.pi * n / (M - 1)) + 0.08 * ufuncs.cos(
        4 * np.pi * n / (M - 1))


def bartlett(M: int) -> Array:  # noqa: N803  # numpy's name
    """The Bartlett (triangular) window of ``M`` points: ``1 - |2n + 1 - M| / (M - 1)``."""
    M = _window_size(M, "bartlett")  # noqa: N806
    if M <= 1:
        return full((M,), 1, dtypes.default_float_dtype())
    n = _iota(M)
    return 1 - ufuncs.abs(2 * n + 1 - M) / (M - 1)


def hamming(M: int) -> Array:  # noqa: N803  # numpy's name
    """The Hamming window of ``M`` points: ``0.54 - 0.46 cos(2 pi n / (M - 1))``."""
    M = _window_size(M, "hamming")  # noqa: N806
    if M <= 1:
        return full((M,), 1, dtypes.default_float_dtype())
    n = _iota(M)
    return 0.54 - 0.46 * ufuncs.cos(2 * np.pi * n / (M - 1))


def hanning(M: int) -> Array:  # noqa: N803  # numpy's name
    """The Hann window of ``M`` points: ``0.5 (1 - cos(2 pi n / (M - 1)))``."""
    M = _window_size(M, "hanning")  # noqa: N806
    if M <= 1:
        return full((M,), 1, dtypes.default_float_dtype())
    n = _iota(M)
    return 0.5 * (1 - ufuncs.cos(2 * np.pi * n / (M - 1)))


def kaiser(M: int, beta: ArrayLike) -> Array:  # noqa: N803  # numpy's name
    """The Kaiser window of ``M`` points and shape ``beta``:
    ``i0(beta sqrt(1 - ((n - a) / a)^2)) / i0(beta)`` with ``a = (M - 1) / 2``."""
    M = _window_size(M, "kaiser")  # noqa: N806
    if M <= 1:
        return full((M,), 1, dtypes.default_float_dtype())
    n = _iota(M)
    alpha = 0.5 * (M - 1)
    return i0(beta * ufuncs.sqrt(1 - ((n - alpha) / alpha) ** 2)) / i0(beta)
