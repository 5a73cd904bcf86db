"""The ``fft`` primitive (``jax.lax.fft``): discrete Fourier transforms over the trailing axes.

``fft_p`` transforms the last ``len(fft_lengths)`` axes of its operand (one to three of them, as
XLA's FFT), in one of four ways (:class:`FftType`): ``FFT`` and ``IFFT`` map complex to complex;
``RFFT`` maps real to complex and keeps the ``n // 2 + 1`` non-redundant entries of the last axis;
``IRFFT`` maps those back to ``n`` real values. ``IFFT`` and ``IRFFT`` scale by ``1 / prod(n)``.

The transform is linear: its JVP is the same transform of the tangent. ``FFT`` and ``IFFT`` are
symmetric matrices, so each is its own transpose; the transposes of ``RFFT`` and ``IRFFT`` are the
other one, weighted for the entries that ``RFFT`` leaves out (JAX's ``_rfft_transpose`` and
``_irfft_transpose``). Batching moves the batch axis to the front, where no transform reaches.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence

import numpy as np

from refjax import dtypes
from refjax.dtypes import DType
from refjax.interp.batching import BatchDim, batching_rules, moveaxis
from refjax.interp.core import Array, ArrayLike, ShapedArray, get_aval
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2
from refjax.primitives import elementwise as ew
from refjax.primitives import shape as sh
from refjax.primitives import slicing
from refjax.primitives.calls import library_jit
from refjax.primitives.common import standard_primitive
from refjax.primitives.constants import constant

__all__ = ["FftType", "fft", "fft_p"]


class FftType(enum.IntEnum):
    """Which transform ``fft`` computes (``jax.lax.FftType``); jaxprs show its value."""

    FFT = 0
    "Forward complex-to-complex FFT."

    IFFT = 1
    "Inverse complex-to-complex FFT."

    RFFT = 2
    "Forward real-to-complex FFT."

    IRFFT = 3
    "Inverse real-to-complex FFT."


_FFT_TYPE_NAMES: dict[str, FftType] = {
    name: t for t in FftType for name in (t.name, t.name.lower())
}


def _fft_type(fft_type: FftType | str) -> FftType:
    """``fft_type`` as an :class:`FftType`: a member, or its name in upper or lower case."""
    if isinstance(fft_type, str):
        if fft_type not in _FFT_TYPE_NAMES:
            raise ValueError(f"Unknown FFT type '{fft_type}'")
        return _FFT_TYPE_NAMES[fft_type]
    if isinstance(fft_type, FftType):
        return fft_type
    raise TypeError(f"Unknown FFT type value '{fft_type}'")


def _complex_dtype(dtype: DType) -> DType:
    """The complex dtype of a float dtype's precision: float32 -> complex64 (JAX's rule)."""
    return np.result_type(dtype, np.complex64)


def _real_dtype(dtype: DType) -> DType:
    """The real dtype of a complex dtype's precision: complex64 -> float32."""
    return np.dtype(np.finfo(dtype).dtype)


# integers and booleans become a float where an inexact operand is needed (JAX's table)
_TO_INEXACT: dict[DType, DType] = {
    **{np.dtype(t): dtypes.float32
       for t in ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32")},
    **{np.dtype(t): dtypes.float64 for t in ("int64", "uint64")},
}


def _to_inexact(dtype: DType) -> DType:
    return _TO_INEXACT.get(dtype, dtype)


def _to_complex(dtype: DType) -> DType:
    """complex128 for 64-bit inputs (after ``_to_inexact``), complex64 for every other."""
    wide = _to_inexact(dtype) in (np.dtype(np.float64), np.dtype(np.complex128))
    return np.dtype(np.complex128) if wide else np.dtype(np.complex64)


# ---------------------------------------------------------------------------------------------
# Shape and dtype rule


def _fft_rule(
    x: ShapedArray, *, fft_type: FftType, fft_lengths: tuple[int, ...]
) -> ShapedArray:
    """The result's aval, or JAX's ValueError (``fft_abstract_eval``) for a bad operand.

    ``fft_type`` may be the plain int a parsed jaxpr holds (jaxprs print the enum's value).
    """
    kind = FftType(fft_type)
    k = len(fft_lengths)
    if k > x.ndim:
        raise ValueError(
            f"FFT input shape {x.shape} must have at least as many input dimensions as "
            f"fft_lengths {fft_lengths}."
        )
    shape: tuple[int, ...]
    if kind == FftType.RFFT:
        if x.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"RFFT input must be float32 or float64, got {x.dtype}")
        if x.shape[-k:] != fft_lengths:
            raise ValueError(
                f"RFFT input shape {x.shape} minor dimensions must be equal to fft_lengths "
                f"{fft_lengths}"
            )
        shape = (*x.shape[:-k], *fft_lengths[:-1], fft_lengths[-1] // 2 + 1)
        dtype = _complex_dtype(x.dtype)
    elif kind == FftType.IRFFT:
        if not dtypes.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"IRFFT input must be complex64 or complex128, got {x.dtype}")
        if x.shape[-k:-1] != fft_lengths[:-1]:
            raise ValueError(
                f"IRFFT input shape {x.shape} minor dimensions must be equal to all except the "
                f"last fft_length, got {fft_lengths=}"
            )
        shape = (*x.shape[:-k], *fft_lengths)
        dtype = _real_dtype(x.dtype)
    else:
        if not dtypes.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"FFT input must be complex64 or complex128, got {x.dtype}")
        if x.shape[-k:] != fft_lengths:
            raise ValueError(
                f"FFT input shape {x.shape} minor dimensions must be equal to fft_lengths "
                f"{fft_lengths}"
            )
        shape, dtype = x.shape, x.dtype
    return x.update(shape=tuple(int(d) for d in shape), dtype=dtype)


fft_p = standard_primitive("fft", _fft_rule)


def _check_hashable(*statics: object) -> None:
    """JAX's ValueError for a static argument of its ``jit`` that cannot be hashed."""
    for value in statics:
        try:
            hash(value)
        except TypeError as err:
            raise ValueError(
                "Non-hashable static arguments are not supported. An error occurred while trying "
                f"to hash an object of type {type(value)}, {value}. The error was:\n"
                f"{type(err).__name__}: {err}\n"
            ) from None


def fft(x: ArrayLike, fft_type: FftType | str, fft_lengths: Sequence[int]) -> Array:
    """The ``fft_type`` transform of the trailing ``len(fft_lengths)`` axes of ``x``.

    ``fft_type`` is an :class:`FftType` or its name (``"fft"``, ``"IRFFT"`` ...). ``x`` is cast
    to a complex dtype (to a real one for ``RFFT``) first. As JAX's, the call is a ``jit`` named
    ``fft`` with ``fft_type`` and ``fft_lengths`` static; with no ``fft_lengths``, ``x`` (cast)
    is the result.
    """
    _check_hashable(fft_type, fft_lengths)
    return _fft(x, fft_type, fft_lengths)


@library_jit(static_argnames=("fft_type", "fft_lengths"), name="fft")
def _fft(x: ArrayLike, fft_type: FftType | str, fft_lengths: Sequence[int]) -> Array:
    kind = _fft_type(fft_type)
    aval = get_aval(x)
    if kind == FftType.RFFT:
        if aval.dtype.kind == "c":
            raise ValueError("only real valued inputs supported for rfft")
        operand = ew.convert_element_type(x, _to_inexact(aval.dtype))
    else:
        operand = ew.convert_element_type(x, _to_complex(aval.dtype))
    if len(fft_lengths) == 0:  # XLA's FFT has no rank-0 form
        return operand
    return fft_p.bind(operand, fft_type=kind, fft_lengths=tuple(fft_lengths))


# ---------------------------------------------------------------------------------------------
# Transposition (the JVP is the transform itself: fft is linear)


def _full_like(
    x: ArrayLike, value: float, shape: tuple[int, ...], dtype: DType | None = None
) -> Array:
    """``lax.full_like(x, value, shape=shape, dtype=dtype)``: a broadcast scalar constant, weak
    when ``x`` is and no dtype is given."""
    aval = get_aval(x)
    weak = dtype is None and aval.weak_type
    scalar = constant(value, aval.dtype if dtype is None else dtype, weak)
    return sh.broadcast_in_dim(scalar, shape, ())


def _hermitian_mask(like: ArrayLike, m: int, n: int, dtype: DType | None = None) -> Array:
    """Weights of the ``m = n // 2 + 1`` entries an RFFT of length ``n`` keeps: 1 for the DC
    entry (and the Nyquist one when ``n`` is even), 2 for the others, which stand for their
    conjugate twins too."""
    mask = _full_like(like, 2.0, (m,), dtype)
    mask = slicing.dynamic_update_slice(mask, _full_like(like, 1.0, (1,), dtype), (0,))
    if n % 2 == 0:
        mask = slicing.dynamic_update_slice(mask, _full_like(like, 1.0, (1,), dtype), (m - 1,))
    return mask


@library_jit(static_argnames=("fft_lengths",))
def _rfft_transpose(t: Array, fft_lengths: tuple[int, ...]) -> Array:
    """The cotangent of an RFFT's operand: an IRFFT of the conjugate cotangent, halved where the
    RFFT's outputs stand for two entries of the full spectrum, scaled by ``prod(fft_lengths)``."""
    mask = _hermitian_mask(t, t.shape[-1], fft_lengths[-1])
    size = math.prod(fft_lengths)
    mask = sh.expand_dims(mask, tuple(range(t.ndim - 1)))
    out = fft(ew.div(ew.conj(t), mask), FftType.IRFFT, fft_lengths)
    return ew.mul(constant(size, out.dtype, weak_type=True), out)


def _irfft_transpose(t: Array, fft_lengths: tuple[int, ...]) -> Array:
    """The cotangent of an IRFFT's operand: the conjugate of an RFFT of the cotangent, doubled
    for the entries that stand for two, scaled by ``1 / prod(fft_lengths)`` (JAX's convention
    for complex gradients)."""
    x = fft(t, FftType.RFFT, fft_lengths)
    mask = _hermitian_mask(t, x.shape[-1], fft_lengths[-1], x.dtype)
    scale = 1 / math.prod(fft_lengths)
    weights = ew.mul(constant(scale, x.dtype, weak_type=True),
                     sh.expand_dims(mask, tuple(range(x.ndim - 1))))
    return ew.conj(ew.mul(weights, x))


def _fft_transpose(
    ct: Array, x: UndefinedPrimal, *, fft_type: FftType, fft_lengths: tuple[int, ...]
) -> list[Cotangent | None]:
    """FFT and IFFT are their own transposes; RFFT's and IRFFT's are each other, weighted."""
    kind = FftType(fft_type)
    if kind == FftType.RFFT:
        return [_rfft_transpose(ct, fft_lengths)]
    if kind == FftType.IRFFT:
        return [_irfft_transpose(ct, fft_lengths)]
    return [fft(ct, kind, fft_lengths)]


deflinear2(fft_p, _fft_transpose)


# ---------------------------------------------------------------------------------------------
# Batching


def _fft_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    fft_type: FftType,
    fft_lengths: tuple[int, ...],
) -> tuple[list[Array], list[int]]:
    """The batch axis moved to the front, out of reach of the trailing-axes transform."""
    (x,), (d,) = args, dims
    assert d is not None
    return [fft(moveaxis(x, d, 0), FftType(fft_type), fft_lengths)], [0]


batching_rules[fft_p] = _fft_batch
