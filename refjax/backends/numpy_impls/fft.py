"""Numpy implementations: fft.

numpy's transforms over the trailing axes, cast back to the result's dtype (XLA computes in the
operand's precision; numpy may compute wider). The operands XLA's FFT rejects when it compiles,
though the abstract evaluation lets them through, are rejected here with XLA's words.
"""

from __future__ import annotations

import numpy as np

from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives.fft import FftType, fft_p

_MAX_RANK = 3  # XLA's FFT transforms one to three axes


@register(fft_p)
def _fft(x: NDArray, *, fft_type: FftType, fft_lengths: tuple[int, ...]) -> NDArray:
    """numpy's n-dimensional transform of the last ``len(fft_lengths)`` axes."""
    kind = FftType(fft_type)
    lengths = tuple(int(n) for n in fft_lengths)
    k = len(lengths)
    if not 1 <= k <= _MAX_RANK:
        raise ValueError(f"fft: rank must be between 1 and {_MAX_RANK}, but got {k}.")
    axes = tuple(range(x.ndim - k, x.ndim))
    if kind == FftType.FFT or kind == FftType.IFFT:
        shape, dtype = x.shape, x.dtype
    elif kind == FftType.RFFT:
        if lengths[-1] == 0:  # XLA's result has 0 entries there, its declared type 1
            raise ValueError("fft: an RFFT of length 0 cannot be lowered (XLA's verifier).")
        shape = (*x.shape[:-k], *lengths[:-1], lengths[-1] // 2 + 1)
        dtype = np.result_type(x.dtype, np.complex64)
    else:
        if x.shape[-1] != lengths[-1] // 2 + 1:
            raise ValueError(
                "fft: IRFFT requires innermost dimension to be compatible with "
                f"fft_length[-1]/2+1. Got: {x.shape[-1]} but fft_length is "
                f"{', '.join(map(str, lengths))}."
            )
        shape, dtype = (*x.shape[:-k], *lengths), np.finfo(x.dtype).dtype
    if x.size == 0 or 0 in shape:  # numpy refuses transforms of length 0
        return np.zeros(shape, dtype)
    out: NDArray
    if kind == FftType.FFT:
        out = np.fft.fftn(x, axes=axes)
    elif kind == FftType.IFFT:
        out = np.fft.ifftn(x, axes=axes)
    elif kind == FftType.RFFT:
        out = np.fft.rfftn(x, axes=axes)
    else:
        out = np.fft.irfftn(x, s=lengths, axes=axes)
    return np.asarray(out, dtype=dtype)
