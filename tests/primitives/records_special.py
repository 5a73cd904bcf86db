"""Op records for the special-function primitives (``bessel_i0e``, ``bessel_i1e``, ``igamma``,
``igammac``, ``igamma_grad_a``, ``regularized_incomplete_beta``, ``zeta``) and the small lax
primitives (``complex``, ``mulhi``, ``reduce_precision``, ``optimization_barrier``).

References: SciPy's special functions (installed with JAX), computed in float64 and rounded to
the operand dtype; numpy for the rest (``mulhi`` through 64-bit products). Their derivatives are
checked against JAX and finite differences in ``tests/scipy`` and
``tests/primitives/test_lax_extras.py``; here they are table records (values, abstract
evaluation, real JAX, vmap against a loop) and spec cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

try:  # SciPy comes with JAX (the test extra); without it these records are left out
    import scipy.special as sps
except ModuleNotFoundError:  # pragma: no cover
    sps = None

F32, F64 = FLOAT_DTYPES
I32, U32 = np.dtype(np.int32), np.dtype(np.uint32)
Maker = Callable[[np.random.Generator, Sequence[Shape], np.dtype[Any]], list[np.ndarray]]


def _uniform(lo: float, hi: float) -> Maker:
    def make(rng: np.random.Generator, shapes: Sequence[Shape],
             dtype: np.dtype[Any]) -> list[np.ndarray]:
        return [rng.uniform(lo, hi, s).astype(dtype) for s in shapes]

    return make


def _wide(fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """``fn`` on the operands in float64, rounded back to the first operand's dtype."""

    def ref(*xs: np.ndarray) -> np.ndarray:
        return np.asarray(fn(*(x.astype(np.float64) for x in xs))).astype(xs[0].dtype)

    return ref


def _ints(rng: np.random.Generator, shapes: Sequence[Shape],
          dtype: np.dtype[Any]) -> list[np.ndarray]:
    info = np.iinfo(dtype)
    return [rng.integers(info.min, info.max, s, dtype=np.int64).astype(dtype) for s in shapes]


def ref_mulhi(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The high half of the double-width product."""
    bits = x.dtype.itemsize * 8
    wide = np.int64 if x.dtype.kind == "i" else np.uint64
    return ((x.astype(wide) * y.astype(wide)) >> wide(bits)).astype(x.dtype)


def ref_complex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out_dtype = np.complex64 if x.dtype == np.float32 else np.complex128
    return (x.astype(out_dtype) + 1j * y.astype(out_dtype)).astype(out_dtype)


SHAPES_1 = [((3, 4),), ((5,),), ((),), ((0, 2),)]
SHAPES_2 = [((3, 4), (3, 4)), ((5,), (5,)), ((), ())]


def _records() -> list[OpRecord]:
    tol = {"tol": 2e-5}
    return [
        OpRecord("bessel_i0e", lambda lax, x: lax.bessel_i0e(x), _wide(sps.i0e), SHAPES_1,
                 FLOAT_DTYPES, args_maker=_uniform(-6.0, 6.0), differentiable=False, **tol),
        OpRecord("bessel_i1e", lambda lax, x: lax.bessel_i1e(x), _wide(sps.i1e), SHAPES_1,
                 FLOAT_DTYPES, args_maker=_uniform(-6.0, 6.0), differentiable=False, **tol),
        OpRecord("igamma", lambda lax, a, x: lax.igamma(a, x), _wide(sps.gammainc), SHAPES_2,
                 FLOAT_DTYPES, args_maker=_uniform(0.2, 5.0), differentiable=False, tol=2e-4),
        OpRecord("igammac", lambda lax, a, x: lax.igammac(a, x), _wide(sps.gammaincc),
                 SHAPES_2, FLOAT_DTYPES, args_maker=_uniform(0.2, 5.0), differentiable=False,
                 tol=2e-4),
        OpRecord("igamma_grad_a", lambda lax, a, x: lax.igamma_grad_a(a, x),
                 _wide(lambda a, x: (sps.gammainc(a + 1e-6, x) - sps.gammainc(a - 1e-6, x))
                       / 2e-6),
                 [((3, 4), (3, 4)), ((5,), (5,))], (F64,), args_maker=_uniform(0.5, 4.0),
                 differentiable=False, tol=1e-5,
                 notes="reference: central differences of SciPy's gammainc"),
        OpRecord("regularized_incomplete_beta",
                 lambda lax, a, b, x: lax.betainc(a, b, x), _wide(sps.betainc),
                 [((3, 4), (3, 4), (3, 4)), ((5,), (5,), (5,))], FLOAT_DTYPES,
                 args_maker=lambda rng, shapes, dtype: [
                     *_uniform(0.3, 4.0)(rng, shapes[:2], dtype),
                     *_uniform(0.05, 0.95)(rng, shapes[2:], dtype)],
                 differentiable=False, tol=2e-4),
        OpRecord("zeta", lambda lax, x, q: lax.zeta(x, q), _wide(sps.zeta), SHAPES_2,
                 FLOAT_DTYPES, args_maker=lambda rng, shapes, dtype: [
                     *_uniform(1.5, 6.0)(rng, shapes[:1], dtype),
                     *_uniform(0.5, 4.0)(rng, shapes[1:], dtype)],
                 differentiable=False, **tol),
        OpRecord("complex", lambda lax, x, y: lax.complex(x, y), ref_complex, SHAPES_2,
                 FLOAT_DTYPES, differentiable=False, tol=0.0),
        OpRecord("mulhi", lambda lax, x, y: lax.mulhi(x, y), ref_mulhi, SHAPES_2, (I32, U32),
                 args_maker=_ints, differentiable=False),
        OpRecord("reduce_precision", lambda lax, x: lax.reduce_precision(x, 5, 10),
                 lambda x: x.astype(np.float16).astype(x.dtype), SHAPES_1, FLOAT_DTYPES,
                 args_maker=_uniform(-100.0, 100.0), differentiable=False, tol=0.0,
                 notes="to float16's exponent and mantissa: a round trip through float16"),
        OpRecord("optimization_barrier", lambda lax, x: lax.optimization_barrier(x),
                 lambda x: x, SHAPES_1, FLOAT_DTYPES, differentiable=False, tol=0.0),
    ]


RECORDS: list[OpRecord] = _records() if sps is not None else []
