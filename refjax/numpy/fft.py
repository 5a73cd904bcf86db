"""``jax.numpy.fft``: discrete Fourier transforms, their sample frequencies and shifts.

Every transform is one ``lax.fft`` over the trailing axes, as JAX computes it: the requested axes
are moved last, cropped or zero-padded to the requested lengths ``s``, transformed (in steps of at
most three axes, XLA's limit), scaled for ``norm`` and moved back. ``norm`` is ``"backward"``
(the default: the inverse transforms divide by the size), ``"ortho"`` (both divide by its square
root) or ``"forward"`` (the forward transforms divide by it). ``hfft`` and ``ihfft`` are the
real transforms of a Hermitian spectrum, built from ``irfft`` and ``rfft``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array, ArrayLike
from refjax.numpy import reductions, ufuncs
from refjax.numpy._util import ensure_arraylike, promote_dtypes_inexact
from refjax.numpy.array_api import DeviceLike, on_device
from refjax.numpy.creation import arange, array, asarray
from refjax.numpy.manipulation import moveaxis, pad, roll
from refjax.primitives.fft import FftType
from refjax.primitives.fft import fft as lax_fft

__all__ = [
    "fft",
    "fft2",
    "fftfreq",
    "fftn",
    "fftshift",
    "hfft",
    "ifft",
    "ifft2",
    "ifftn",
    "ifftshift",
    "ihfft",
    "irfft",
    "irfft2",
    "irfftn",
    "rfft",
    "rfft2",
    "rfftfreq",
    "rfftn",
]

Shape = Sequence[int]
_XLA_MAX_FFT_RANK = 3


# ---------------------------------------------------------------------------------------------
# The core: every transform goes through here


def _norm_factor(sizes: Array, func_name: str, norm: str) -> Array:
    """What a transform of ``sizes`` is multiplied by for ``norm``: the inverse transforms
    (names starting with ``i``) and the forward ones scale oppositely."""
    if norm == "backward":
        return array(1)
    (sizes,) = promote_dtypes_inexact(sizes)  # no integer overflow in the product
    inverse = func_name.startswith("i")
    if norm == "ortho":
        root = ufuncs.sqrt(reductions.prod(sizes))
        return root if inverse else 1 / root
    if norm == "forward":
        total = reductions.prod(sizes)
        return total if inverse else 1 / total
    raise ValueError(
        f'Invalid norm value {norm}; should be "backward","ortho" or "forward".'
    )


def _fft_core(
    func_name: str,
    fft_type: FftType,
    a: ArrayLike,
    s: Shape | None,
    axes: Sequence[int] | None,
    norm: str | None,
) -> Array:
    """The ``fft_type`` transform of ``a`` over ``axes`` (default: the last ``len(s)``, else
    all), at lengths ``s`` (default: ``a``'s; for IRFFT, ``2 * (m - 1)`` on the last axis)."""
    full_name = f"jax.numpy.fft.{func_name}"
    (arr,) = ensure_arraylike(full_name, a)
    if s is not None:
        s = tuple(operator.index(n) for n in s)
        if any(n <= 0 for n in s):
            raise ValueError("Shape should be positive.")
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")  # numpy's words

    given_axes = axes
    fft_axes: Sequence[int]
    if axes is None:
        fft_axes = range(arr.ndim) if s is None else range(arr.ndim - len(s), arr.ndim)
    else:
        fft_axes = axes
    if len(fft_axes) != len(set(fft_axes)):
        raise ValueError(f"{full_name} does not support repeated axes. Got axes {fft_axes}.")

    # XLA transforms the innermost axes only: move the requested ones there
    if given_axes is not None:
        fft_axes = tuple(range(arr.ndim - len(fft_axes), arr.ndim))
        arr = moveaxis(arr, list(given_axes), list(fft_axes))

    lengths: list[int]
    if s is not None:
        in_shape = list(arr.shape)
        for ax, n in zip(fft_axes, s, strict=True):
            in_shape[ax] = n
        if fft_type == FftType.IRFFT:
            in_shape[-1] = in_shape[-1] // 2 + 1
        arr = arr[tuple(slice(n) for n in in_shape)]  # crop ...
        arr = pad(arr, [(0, n - m) for n, m in zip(in_shape, arr.shape, strict=True)])  # ... pad
        lengths = list(s)
    elif fft_type == FftType.IRFFT:
        lengths = [arr.shape[ax] for ax in fft_axes[:-1]]
        if fft_axes:
            lengths.append(max(0, 2 * (arr.shape[fft_axes[-1]] - 1)))
    else:
        lengths = [arr.shape[ax] for ax in fft_axes]

    out = _fft_nd(arr, fft_type, lengths)
    if norm is not None:
        out = out * _norm_factor(array(lengths, dtype=out.dtype), func_name, norm)
    if given_axes is not None:
        out = moveaxis(out, list(fft_axes), list(given_axes))
    return out


def _fft_nd(arr: Array, fft_type: FftType, lengths: Sequence[int]) -> Array:
    """The transform of the last ``len(lengths)`` axes of ``arr``, three axes at a time at most
    (two then two for four axes). Forward transforms do the real step on the innermost axes
    first, inverse ones last; the other steps are complex transforms."""
    if len(lengths) <= _XLA_MAX_FFT_RANK:
        return lax_fft(arr, fft_type, tuple(lengths))
    k = 2 if len(lengths) == 4 else _XLA_MAX_FFT_RANK
    outer = tuple(range(arr.ndim - len(lengths), arr.ndim - k))
    inner = tuple(range(arr.ndim - len(lengths) + k, arr.ndim))
    if fft_type in (FftType.RFFT, FftType.FFT):
        arr = lax_fft(arr, fft_type, tuple(lengths)[-k:])
        arr = moveaxis(arr, outer, inner)
        arr = _fft_nd(arr, FftType.FFT, lengths[:-k])
        return moveaxis(arr, inner, outer)
    arr = moveaxis(arr, outer, inner)
    arr = _fft_nd(arr, FftType.IFFT, lengths[:-k])
    arr = moveaxis(arr, inner, outer)
    return lax_fft(arr, fft_type, tuple(lengths)[-k:])


def _check_one_axis(func_name: str, axis: object) -> None:
    if isinstance(axis, (list, tuple)):
        full_name = f"jax.numpy.fft.{func_name}"
        raise ValueError(
            f"{full_name} does not support multiple axes. Please use {full_name}n. "
            f"Got axis = {axis!r}."
        )


def _fft_core_1d(
    func_name: str, fft_type: FftType, a: ArrayLike, n: int | None, axis: int | None,
    norm: str | None,
) -> Array:
    _check_one_axis(func_name, axis)
    return _fft_core(func_name, fft_type, a, None if n is None else [n],
                     None if axis is None else [axis], norm)


def _fft_core_2d(
    func_name: str, fft_type: FftType, a: ArrayLike, s: Shape | None, axes: Sequence[int],
    norm: str | None,
) -> Array:
    if len(axes) != 2:
        raise ValueError(f"jax.numpy.fft.{func_name} only supports 2 axes. Got axes = {axes!r}.")
    return _fft_core(func_name, fft_type, a, s, axes, norm)


# ---------------------------------------------------------------------------------------------
# One axis


def fft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The discrete Fourier transform of ``a`` along ``axis``, at length ``n`` (cropped or
    zero-padded; default ``a``'s)."""
    return _fft_core_1d("fft", FftType.FFT, a, n, axis, norm)


def ifft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse discrete Fourier transform of ``a`` along ``axis``, at length ``n``."""
    return _fft_core_1d("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The transform of real ``a`` along ``axis``: the ``n // 2 + 1`` non-negative frequency
    terms."""
    return _fft_core_1d("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The real inverse of :func:`rfft` along ``axis``: ``n`` values (default
    ``2 * (m - 1)`` for ``m`` input terms)."""
    return _fft_core_1d("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The (real) transform of a signal whose spectrum is Hermitian, given by its first half
    ``a``: ``n`` values (default ``2 * (m - 1)``)."""
    conj_a = ufuncs.conj(a)
    _check_one_axis("hfft", axis)
    size = (conj_a.shape[axis] - 1) * 2 if n is None else n
    return _fft_core_1d("hfft", FftType.IRFFT, conj_a, n, axis, norm) * size


def ihfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse of :func:`hfft`: the ``n // 2 + 1`` terms of the Hermitian spectrum of real
    ``a``."""
    _check_one_axis("ihfft", axis)
    arr = asarray(a)
    size = arr.shape[axis] if n is None else n
    out = _fft_core_1d("ihfft", FftType.RFFT, arr, n, axis, norm)
    return ufuncs.conj(out) * (1 / size)


# ---------------------------------------------------------------------------------------------
# Two axes, and any number


def fft2(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Array:
    """The two-dimensional discrete Fourier transform of ``a`` over ``axes``, at lengths
    ``s``."""
    return _fft_core_2d("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Array:
    """The two-dimensional inverse discrete Fourier transform of ``a`` over ``axes``."""
    return _fft_core_2d("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Array:
    """The two-dimensional transform of real ``a``; half the terms along ``axes[1]``."""
    return _fft_core_2d("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] = (-2, -1), norm: str | None = None
) -> Array:
    """The real inverse of :func:`rfft2` over ``axes``, at lengths ``s``."""
    return _fft_core_2d("irfft2", FftType.IRFFT, a, s, axes, norm)


def fftn(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Array:
    """The n-dimensional discrete Fourier transform of ``a`` over ``axes`` (default: the last
    ``len(s)`` axes, else all), at lengths ``s``."""
    return _fft_core("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Array:
    """The n-dimensional inverse discrete Fourier transform of ``a`` over ``axes``."""
    return _fft_core("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Array:
    """The n-dimensional transform of real ``a``; half the terms along the last of ``axes``."""
    return _fft_core("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(
    a: ArrayLike, s: Shape | None = None, axes: Sequence[int] | None = None,
    norm: str | None = None,
) -> Array:
    """The real inverse of :func:`rfftn` over ``axes``, at lengths ``s``."""
    return _fft_core("irfftn", FftType.IRFFT, a, s, axes, norm)


# ---------------------------------------------------------------------------------------------
# Frequencies and shifts


def _check_freq_args(func_name: str, n: object, d: object) -> None:
    if isinstance(n, (list, tuple)):
        raise ValueError(
            f"The n argument of jax.numpy.fft.{func_name} only takes an int. Got n = {list(n)}."
        )
    if isinstance(d, (list, tuple)):
        raise ValueError(
            f"The d argument of jax.numpy.fft.{func_name} only takes a single value. "
            f"Got d = {list(d)}."
        )


def _times(d: ArrayLike, n: int) -> ArrayLike:
    """``d * n`` as Python computes it (a numpy scalar is multiplied as a 0-d array)."""
    if isinstance(d, np.generic):
        return np.asarray(d) * n
    return d * n


def fftfreq(
    n: int, d: ArrayLike = 1.0, *, dtype: DTypeLike | None = None, device: DeviceLike = None
) -> Array:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., n//2 - 1 (or (n-1)//2), -(n//2), ..., -1] / (d * n)``, on ``device``."""
    out_dtype = dtype or dtypes.default_float_dtype()
    _check_freq_args("fftfreq", n, d)
    inexact = _to_inexact(np.dtype(out_dtype))
    real: DType = np.dtype(dtypes.finfo(inexact).dtype)
    i = arange(n, dtype=real)
    k = (i + n // 2) % n - n // 2
    return on_device((k.astype(real) / array(_times(d, n), dtype=real)).astype(out_dtype), device)


def _to_inexact(dtype: DType) -> DType:
    """JAX's ``dtypes.to_inexact_dtype`` (not canonicalised): booleans and integers up to 32
    bits become float32, 64-bit integers float64."""
    if dtypes.issubdtype(dtype, np.inexact):
        return dtype
    return dtypes.float64 if dtype.itemsize == 8 else dtypes.float32


def rfftfreq(
    n: int, d: ArrayLike = 1.0, *, dtype: DTypeLike | None = None, device: DeviceLike = None
) -> Array:
    """The sample frequencies of an ``n``-point :func:`rfft` with sample spacing ``d``:
    ``[0, 1, ..., n//2] / (d * n)``, on ``device``."""
    out_dtype = dtype or dtypes.default_float_dtype()
    _check_freq_args("rfftfreq", n, d)
    k = arange(0, n // 2 + 1 if n % 2 == 0 else (n - 1) // 2 + 1, dtype=out_dtype)
    return on_device(k / array(_times(d, n), dtype=out_dtype), device)


def _shifted(
    func_name: str, x: ArrayLike, axes: int | Sequence[int] | None, sign: int
) -> Array:
    """``x`` rolled by ``sign * (size // 2)`` along each of ``axes`` (default: all)."""
    (arr,) = ensure_arraylike(func_name, x)
    shift: int | list[int]
    if axes is None:
        axes = tuple(range(arr.ndim))
        shift = [sign * (size // 2) for size in arr.shape]
    elif isinstance(axes, int):
        shift = sign * (arr.shape[axes] // 2)
    else:
        shift = [sign * (arr.shape[ax] // 2) for ax in axes]
    return roll(arr, shift, axes)


def fftshift(x: ArrayLike, axes: int | Sequence[int] | None = None) -> Array:
    """``x`` with the zero-frequency term moved to the middle of ``axes`` (default: all)."""
    return _shifted("fftshift", x, axes, 1)


def ifftshift(x: ArrayLike, axes: int | Sequence[int] | None = None) -> Array:
    """The inverse of :func:`fftshift`."""
    return _shifted("ifftshift", x, axes, -1)
