"""Op records for ``dot_general``: matmul, batched matmul, outer and vector products, odd layouts.

The reference is an explicit sum over the contracted index, computed in float64/int64 and cast to
the result dtype (integer results wrap, as XLA's do; a bool dot is "any of the ands").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

F32, F64 = FLOAT_DTYPES
I8 = np.dtype(np.int8)
I32 = np.dtype(np.int32)
BOOL = np.dtype(np.bool_)
DTYPES = (F32, F64, I32, I8, BOOL)

Dims = tuple[int, ...]
DimensionNumbers = tuple[tuple[Dims, Dims], tuple[Dims, Dims]]


def _wide(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64 if np.issubdtype(x.dtype, np.inexact) else np.int64)


def _free(ndim: int, *used: Dims) -> list[int]:
    return [d for d in range(ndim) if not any(d in u for u in used)]


def ref_dot_general(dnums: DimensionNumbers, out_dtype: Any = None) -> Callable[..., np.ndarray]:
    """Loop over output positions; each is a sum over all contracted index tuples."""
    (lc, rc), (lb, rb) = dnums

    def ref(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        lf, rf = _free(lhs.ndim, lc, lb), _free(rhs.ndim, rc, rb)
        batch = [lhs.shape[d] for d in lb]
        shape = (*batch, *(lhs.shape[d] for d in lf), *(rhs.shape[d] for d in rf))
        contracted = [lhs.shape[d] for d in lc]
        a, b = _wide(lhs), _wide(rhs)
        out = np.zeros(shape, np.result_type(a, b))
        for pos in np.ndindex(*shape):
            bpos, lpos, rpos = np.split(np.array(pos, int), [len(lb), len(lb) + len(lf)])
            total = 0
            for cpos in np.ndindex(*contracted):
                li, ri = [0] * lhs.ndim, [0] * rhs.ndim
                for dims, vals in ((lb, bpos), (lf, lpos), (lc, cpos)):
                    for d, v in zip(dims, vals, strict=True):
                        li[d] = v
                for dims, vals in ((rb, bpos), (rf, rpos), (rc, cpos)):
                    for d, v in zip(dims, vals, strict=True):
                        ri[d] = v
                total += a[tuple(li)] * b[tuple(ri)]
            out[pos] = total
        dtype = out_dtype or np.result_type(lhs.dtype, rhs.dtype)
        if dtype == np.bool_:
            return out > 0
        with np.errstate(over="ignore"):
            return out.astype(dtype)

    return ref


def _dot(dnums: DimensionNumbers, **kwargs: Any) -> Callable[..., Any]:
    return lambda lax, lhs, rhs: lax.dot_general(lhs, rhs, dnums, **kwargs)


MATMUL: DimensionNumbers = (((1,), (0,)), ((), ()))
CASES: list[tuple[str, DimensionNumbers, Sequence[Sequence[Shape]]]] = [
    ("matmul", MATMUL, [((3, 4), (4, 5)), ((1, 1), (1, 1)), ((0, 3), (3, 2)), ((3, 0), (0, 2))]),
    ("matvec", MATMUL, [((3, 4), (4,)), ((2, 0), (0,))]),
    ("vector dot", (((0,), (0,)), ((), ())), [((5,), (5,)), ((0,), (0,))]),
    ("outer", (((), ()), ((), ())), [((3,), (4,)), ((), ()), ((2, 3), ())]),
    ("batched", (((2,), (1,)), ((0,), (0,))), [((2, 3, 4), (2, 4, 5)), ((0, 2, 3), (0, 3, 1))]),
    ("batch after free", (((1,), (0,)), ((2,), (2,))), [((3, 4, 2), (4, 5, 2))]),
    ("two contractions", (((1, 2), (2, 0)), ((0,), (1,))), [((2, 3, 4), (4, 2, 3))]),
    ("contract lhs first", (((0,), (1,)), ((), ())), [((4, 3), (5, 4))]),
]


def _records() -> list[OpRecord]:
    records = [
        OpRecord(
            "dot_general",
            _dot(dnums),
            ref_dot_general(dnums),
            shapes,
            DTYPES,
            tol=1e-5,  # sums in float32 differ from the float64 reference by a few ulps
            notes=label,
        )
        for label, dnums, shapes in CASES
    ]
    records += [
        OpRecord(
            "dot_general",
            _dot(MATMUL, preferred_element_type=np.int32),
            ref_dot_general(MATMUL, np.int32),
            [((3, 4), (4, 5))],
            (I8,),
            notes="preferred_element_type=int32 accumulates int8 without wrapping",
        ),
        OpRecord(
            "dot_general",
            lambda lax, lhs, rhs: lax.dot(lhs, rhs),
            lambda lhs, rhs: ref_dot_general((((lhs.ndim - 1,), (0,)), ((), ())))(lhs, rhs),
            [((3, 4), (4, 2)), ((4,), (4, 3)), ((4,), (4,))],
            (F32, I32),
            tol=1e-5,
            notes="lax.dot",
        ),
    ]
    return records


RECORDS: list[OpRecord] = _records()
