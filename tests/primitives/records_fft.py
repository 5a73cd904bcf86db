"""Op records for ``fft``: each transform type (FFT, IFFT, RFFT, IRFFT) over one to three
trailing axes, with and without leading batch axes (see ``records.py``).

The reference is the definition: each transformed axis is multiplied by its DFT matrix
``exp(-+2 pi i j k / n)`` in complex128 (one over ``n`` for the inverse), one axis at a time, and
cast to the result's dtype. RFFT keeps the first ``n // 2 + 1`` terms of the last axis of the full
transform. IRFFT rebuilds the full Hermitian spectrum of the last axis from its first half and
takes the real part of its inverse transform, ignoring the imaginary parts of the zero-frequency
term (and of the Nyquist term for even ``n``), as numpy's and XLA's transforms do.

Most records take real operands, the real and imaginary parts of the complex ones, and return
the real and imaginary parts of complex results: the transformation tests then differentiate
(check_grads in float64, JVP and VJP against JAX), transpose and batch ``fft`` through its
complex operands and results. The records marked "complex operands" pass complex arrays straight
in (complex64 and complex128), for the values, the abstract evaluation and JAX's results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

F = FLOAT_DTYPES
C = (np.dtype(np.complex64), np.dtype(np.complex128))

# A transform's entries are sums of n terms, rounded ~log2(n) times; the reference is computed
# in complex128 by matrix products. Relative and absolute, by the operands' dtype.
TOLERANCE: dict[np.dtype[Any], float] = {
    np.dtype(np.float32): 5e-6,
    np.dtype(np.complex64): 5e-6,
    np.dtype(np.float64): 1e-13,
    np.dtype(np.complex128): 1e-13,
}


@dataclass(frozen=True)
class FftRecord(OpRecord):
    """An fft record: its value tolerance is :data:`TOLERANCE`'s for the dtype."""

    def tolerance(self, dtype: np.dtype[Any]) -> float:
        """The tolerance of transforms of ``dtype`` operands."""
        return TOLERANCE[np.dtype(dtype)]


def _complex_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.result_type(dtype, np.complex64)


# ---------------------------------------------------------------------------------------------
# Reference: DFT matrices, one axis at a time, in complex128


def _dft_matrix(n: int, inverse: bool) -> np.ndarray:
    k = np.arange(n)
    sign = 1.0 if inverse else -1.0
    m: np.ndarray = np.exp(sign * 2j * np.pi * np.outer(k, k) / n)
    return m / n if inverse else m


def _along(x: np.ndarray, axis: int, matrix: np.ndarray) -> np.ndarray:
    """``matrix`` applied to every vector of ``x`` along ``axis``."""
    moved = np.moveaxis(x, axis, -1)
    return np.moveaxis(moved @ matrix.T, -1, axis)


def _dft(x: np.ndarray, axes: Sequence[int], inverse: bool) -> np.ndarray:
    """The transform of ``x`` over ``axes``, by matrix products in complex128."""
    out = x.astype(np.complex128)
    for axis in axes:
        out = _along(out, axis, _dft_matrix(x.shape[axis], inverse))
    return out


def _last(x: np.ndarray, k: int) -> range:
    return range(x.ndim - k, x.ndim)


def _hermitian_inverse(half: np.ndarray, n: int) -> np.ndarray:
    """The real signal of length ``n`` whose spectrum's first ``n // 2 + 1`` terms (along the
    last axis) are ``half``: the full spectrum is rebuilt by conjugate symmetry."""
    full = np.zeros((*half.shape[:-1], n), np.complex128)
    if n == 0:
        return full.real
    full[..., 0] = half[..., 0].real
    for j in range(1, (n - 1) // 2 + 1):
        full[..., j] = half[..., j]
        full[..., n - j] = np.conj(half[..., j])
    if n % 2 == 0:
        full[..., n // 2] = half[..., n // 2].real
    return _along(full, full.ndim - 1, _dft_matrix(n, inverse=True)).real


def ref_fft(x: np.ndarray, k: int, inverse: bool) -> np.ndarray:
    return _dft(x, _last(x, k), inverse).astype(_complex_dtype(x.dtype))


def ref_rfft(x: np.ndarray, k: int) -> np.ndarray:
    n = x.shape[-1]
    return _dft(x, _last(x, k), inverse=False)[..., : n // 2 + 1].astype(_complex_dtype(x.dtype))


def ref_irfft(x: np.ndarray, k: int, n: int) -> np.ndarray:
    outer = _dft(x, _last(x, k)[:-1], inverse=True)  # complex inverses first
    return _hermitian_inverse(outer, n).astype(np.finfo(x.dtype).dtype)


def _parts(out: np.ndarray) -> Any:
    """A complex result as its real and imaginary parts; a real one as is."""
    if np.iscomplexobj(out):
        return out.real, out.imag
    return out


# ---------------------------------------------------------------------------------------------
# Ops written against a lax-like module (refjax.lax or jax.lax)


def _join(lax: Any, re: Any, im: Any) -> Any:
    """``re + im * 1j`` with lax operations both modules have."""
    dtype = _complex_dtype(np.dtype(re.dtype))
    unit = np.array(1j, dtype)
    return lax.add(lax.convert_element_type(re, dtype),
                   lax.mul(lax.convert_element_type(im, dtype), unit))


def _split(lax: Any, out: Any) -> Any:
    if np.issubdtype(out.dtype, np.complexfloating):
        return lax.real(out), lax.imag(out)
    return out


def _irfft_lengths(shape: Sequence[int], k: int, odd: bool) -> tuple[int, ...]:
    """IRFFT lengths for an operand of ``shape``: its sizes, and ``2 * (m - 1) + odd`` last."""
    return (*shape[len(shape) - k : -1], 2 * (shape[-1] - 1) + int(odd))


def _complex_op(name: str, k: int, odd: bool = False) -> Callable[..., Any]:
    """The transform of the complex operand ``re + im * 1j``, split into parts."""

    def op(lax: Any, re: Any, im: Any) -> Any:
        kind = getattr(lax.FftType, name)
        shape = tuple(re.shape)
        lengths = _irfft_lengths(shape, k, odd) if name == "IRFFT" else shape[len(shape) - k :]
        return _split(lax, lax.fft(_join(lax, re, im), kind, lengths))

    return op


def _complex_ref(name: str, k: int, odd: bool = False) -> Callable[..., Any]:
    def ref(re: np.ndarray, im: np.ndarray) -> Any:
        x = (re + 1j * im).astype(_complex_dtype(re.dtype))
        if name == "IRFFT":
            return ref_irfft(x, k, _irfft_lengths(x.shape, k, odd)[-1])
        return _parts(ref_fft(x, k, inverse=name == "IFFT"))

    return ref


def _rfft_op(k: int) -> Callable[..., Any]:
    def op(lax: Any, x: Any) -> Any:
        shape = tuple(x.shape)
        return _split(lax, lax.fft(x, lax.FftType.RFFT, shape[len(shape) - k :]))

    return op


# ---------------------------------------------------------------------------------------------
# Operands passed in as complex arrays


def _direct_op(name: str, k: int, odd: bool = False) -> Callable[..., Any]:
    def op(lax: Any, x: Any) -> Any:
        shape = tuple(x.shape)
        lengths = _irfft_lengths(shape, k, odd) if name == "IRFFT" else shape[len(shape) - k :]
        return lax.fft(x, getattr(lax.FftType, name), lengths)

    return op


def _direct_ref(name: str, k: int, odd: bool = False) -> Callable[..., Any]:
    def ref(x: np.ndarray) -> np.ndarray:
        if name == "IRFFT":
            return ref_irfft(x, k, _irfft_lengths(x.shape, k, odd)[-1])
        return ref_fft(x, k, inverse=name == "IFFT")

    return ref


# ---------------------------------------------------------------------------------------------
# The records

# shapes of one operand per number of transformed axes: the first without batch axes (the
# transformation tests use it), then with leading batch axes, then an empty batch
SHAPES: dict[int, list[Shape]] = {
    1: [(5,), (2, 3, 6), (1,), (0, 4)],
    2: [(3, 4), (2, 3, 5), (1, 1)],
    3: [(2, 3, 4), (2, 2, 3, 3)],
}
# IRFFT operands: the last axis holds n // 2 + 1 terms
IRFFT_SHAPES: dict[int, list[Shape]] = {
    1: [(4,), (2, 3, 4), (1,), (0, 3)],
    2: [(3, 4), (2, 3, 3)],
    3: [(2, 3, 3), (2, 2, 3, 2)],
}


def _pairs(shapes: Sequence[Shape]) -> list[tuple[Shape, Shape]]:
    return [(s, s) for s in shapes]


def _records() -> list[OpRecord]:
    records: list[OpRecord] = []
    for k in (1, 2, 3):
        for name in ("FFT", "IFFT"):
            records.append(FftRecord(
                "fft", _complex_op(name, k), _complex_ref(name, k), _pairs(SHAPES[k]), F,
                linear=True, notes=f"{name} over {k} axes, operand re + im * 1j",
            ))
        records.append(FftRecord(
            "fft", _rfft_op(k), lambda x, k=k: _parts(ref_rfft(x, k)), [(s,) for s in SHAPES[k]],
            F, linear=True, notes=f"RFFT over {k} axes",
        ))
        for odd in (False, True):
            records.append(FftRecord(
                "fft", _complex_op("IRFFT", k, odd), _complex_ref("IRFFT", k, odd),
                _pairs(IRFFT_SHAPES[k]), F, linear=True,
                notes=f"IRFFT over {k} axes, {'odd' if odd else 'even'} length",
            ))
    for name, k, odd, shapes in [
        ("FFT", 1, False, [(6,), (2, 3, 5)]),
        ("IFFT", 2, False, [(3, 4), (2, 3, 4)]),
        ("FFT", 3, False, [(2, 3, 4), (2, 2, 2, 3)]),
        ("IRFFT", 1, True, [(4,), (2, 3, 4)]),
        ("IRFFT", 2, False, [(3, 3), (2, 3, 3)]),
    ]:
        records.append(FftRecord(
            "fft", _direct_op(name, k, odd), _direct_ref(name, k, odd),
            [(s,) for s in shapes], C, differentiable=False,
            linear=True, notes=f"{name} over {k} axes, complex operands",
        ))
    return records


RECORDS: list[OpRecord] = _records()
