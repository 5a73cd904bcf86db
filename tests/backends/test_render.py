"""Rendered kernels compile and compute what the IR evaluator computes (OpenCL, run on PoCL).

Every op at every kernel dtype, with edge values (NaN, infinities, signed zeros, integer
extremes, division by 0 and -1, out-of-range shifts, saturating casts), each reduce combiner,
matmuls and the kernels of fused programs; shape-specialised and shape-generic renderings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from refjax.backends.kernels.backend import KernelBackend
from refjax.backends.kernels.dialects import CUDA, OPENCL
from refjax.backends.kernels.render import literal, render
from tests.backends import corpus

OP_CASES = corpus.op_cases()
REDUCE_CASES = corpus.reduce_cases()
MATMUL_CASES = corpus.matmul_cases()
PROGRAM_CASES = corpus.program_cases()
# Shape-generic rendering (eager dispatch uses it) on a representative subset.
GENERIC = {"ops_float32", "ops_int32", "ops_bool", "reduce_max_float32", "views_0", "softmax_1",
           "matmul_float32_3x5x7x33_t", "matmul_float32_2x19x37x13_block8x16w8",
           "matmul_float32_3x17x20x33_t_block8x16w8"}


ALL_CASES = OP_CASES + REDUCE_CASES + MATMUL_CASES + PROGRAM_CASES
RUNS = [pytest.param(c, False, id=c.name) for c in ALL_CASES] + [
    pytest.param(c, True, id=f"{c.name}-generic") for c in ALL_CASES if c.name in GENERIC
]


@pytest.mark.parametrize("case,generic", RUNS)
def test_kernel_matches_evaluator_on_opencl(
    case: corpus.Case, generic: bool, opencl: KernelBackend
) -> None:
    corpus.run_case(opencl, case, generic)


def test_generic_rendering_shares_source_across_shapes() -> None:
    a = corpus.reduce_case(corpus.BinaryOp.ADD, corpus.F32, rows=3, cols=10)
    b = corpus.reduce_case(corpus.BinaryOp.ADD, corpus.F32, rows=7, cols=20)
    ra, rb = (render(corpus.coalesced(c).kernel, OPENCL, generic=True) for c in (a, b))
    assert ra.source == rb.source and ra.shape_args != rb.shape_args
    sa, sb = (render(corpus.coalesced(c).kernel, OPENCL) for c in (a, b))
    assert sa.source != sb.source and not sa.shape_args


def test_renderers_are_pure_and_dialects_differ_only_as_data() -> None:
    kernel = corpus.coalesced(OP_CASES[-1]).kernel
    assert render(kernel, OPENCL) == render(kernel, OPENCL)
    cl, cu = render(kernel, OPENCL).source, render(kernel, CUDA).source
    assert "__kernel void" in cl and 'extern "C" __global__ void' in cu
    assert "vload4" in cl and "reinterpret_cast<const double4*>" not in cu


@pytest.mark.parametrize(
    "value,dtype,text",
    [
        (0.1, np.float32, "0x1.99999a0000000p-4f"),
        (-0.0, np.float64, "(-0x0.0p+0)"),
        (float("inf"), np.float32, "INFINITY"),
        (-(2**31), np.int32, "((int)(-2147483647 - 1))"),
        (2**64 - 1, np.uint64, "18446744073709551615UL"),
        (-3, np.int8, "((char)-3)"),
        (True, np.bool_, "true"),
    ],
)
def test_literals_are_exact(value: Any, dtype: Any, text: str) -> None:
    v = np.asarray(value, dtype).item()
    assert literal(OPENCL, v, np.dtype(dtype)) == text
