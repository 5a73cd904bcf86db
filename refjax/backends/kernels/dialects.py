"""The two C dialects kernels are rendered in, as data: OpenCL C and CUDA C++.

The renderer never asks which backend it renders for; everything that differs between the
dialects is a field here: keywords and qualifiers, work-item ids, the barrier, scalar and vector
type names, math function names, literal suffixes, and the build options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from refjax.dtypes import DType


def _dt(name: str) -> DType:
    return np.dtype(name)


@dataclass(frozen=True, slots=True)
class Dialect:
    """Everything the renderer needs to know about one C dialect."""

    name: str
    source_suffix: str
    preamble: str  # first lines of every source
    fp64_preamble: str  # added when a kernel computes in float64
    # first line of a matmul's accumulation loop body: lets a * b + acc be one fused multiply-add
    # there (elsewhere the preamble forbids contraction, so elementwise code rounds as numpy's)
    contract: str
    kernel_prefix: str  # before a kernel's name
    function_prefix: str  # before a helper function
    global_qualifier: str  # on pointer arguments
    restrict: str
    local_qualifier: str  # on work-group (shared) arrays
    barrier: str
    global_id: str
    global_size: str
    local_id: tuple[str, str, str]
    local_size: str
    group_id: tuple[str, str, str]
    num_groups: str
    types: Mapping[DType, str]  # compute type of each kernel dtype (bool is bool)
    storage_types: Mapping[DType, str]  # element type in buffers and params (bool is a byte)
    vector_types: Mapping[DType, str]  # 4-wide vector types, where loads may be vectorised
    vector_lanes: tuple[str, str, str, str]
    vector_load: str  # $vtype, $ptr, $i: vector i of 4 elements at ptr
    vector_store: str  # $vtype, $ptr, $i, $values: vector i of 4 elements at ptr
    vector_alignment: bool  # whether a vector load must start at a multiple of 4 elements
    vector_arithmetic: bool  # whether + - * / apply to vector types (scalars broadcasting)
    # $utype, $ptr: a $w-wide vector at ptr (no alignment needed), for register-blocked
    # matmuls, through $utype, which wide_type declares ($scalar, $w, $align: the element type,
    # the width, the element's alignment); "" where the dialect has no such loads (their blocks
    # read scalars)
    wide_type: str
    wide_load: str
    wide_store: str  # $utype, $ptr, $value
    math_suffix: Mapping[DType, str]  # appended to math function names (sinf)
    literal_suffix: Mapping[DType, str]  # of integer and float literals
    special_floats: Mapping[DType, tuple[str, str]]  # (inf, nan) expressions
    popcount: tuple[str, str]  # $x, $U: for widths up to 32 bits and for 64 bits
    clz: tuple[str, str]  # $x, $U, $BITS
    build_options: tuple[str, ...]  # the device architecture is added by the runtime
    promote_float32: frozenset[str] = frozenset()  # math functions computed in double for f32


_SIGNED: Final = ("int8", "int16", "int32", "int64")
_UNSIGNED: Final = ("uint8", "uint16", "uint32", "uint64")

# float32 special functions computed in double and rounded, where the device has double: the
# float versions are several ulp off, and the references (numpy, JAX) round correctly, mostly.
SPECIAL_IN_DOUBLE: Final = frozenset({"erf", "erfc", "lgamma"})

OPENCL: Final = Dialect(
    name="opencl",
    source_suffix=".cl",
    preamble="#pragma OPENCL FP_CONTRACT OFF",
    fp64_preamble="#pragma OPENCL EXTENSION cl_khr_fp64 : enable",
    contract="#pragma OPENCL FP_CONTRACT ON",
    kernel_prefix="__kernel void",
    function_prefix="static inline",
    global_qualifier="__global",
    restrict="restrict",
    local_qualifier="__local",
    barrier="barrier(CLK_LOCAL_MEM_FENCE);",
    global_id="get_global_id(0)",
    global_size="get_global_size(0)",
    local_id=("get_local_id(0)", "get_local_id(1)", "get_local_id(2)"),
    local_size="get_local_size(0)",
    group_id=("get_group_id(0)", "get_group_id(1)", "get_group_id(2)"),
    num_groups="get_num_groups(0)",
    types={
        _dt("bool"): "bool",
        **dict(zip(map(_dt, _SIGNED), ("char", "short", "int", "long"), strict=True)),
        **dict(zip(map(_dt, _UNSIGNED), ("uchar", "ushort", "uint", "ulong"), strict=True)),
        _dt("float32"): "float",
        _dt("float64"): "double",
    },
    storage_types={_dt("bool"): "uchar"},
    vector_types={
        _dt("bool"): "uchar4",
        **dict(zip(map(_dt, _SIGNED), ("char4", "short4", "int4", "long4"), strict=True)),
        **dict(zip(map(_dt, _UNSIGNED), ("uchar4", "ushort4", "uint4", "ulong4"), strict=True)),
        _dt("float32"): "float4",
        _dt("float64"): "double4",
    },
    vector_lanes=("s0", "s1", "s2", "s3"),
    vector_load="vload4($i, $ptr)",
    vector_store="vstore4(($vtype)($values), $i, $ptr);",
    vector_alignment=False,
    vector_arithmetic=True,
    # Not vload/vstore: PoCL 3.0 compiles vload8 as a call, which spills every vector register
    # of a register block around each load (a third of the speed). A pointer to a vector type
    # whose alignment is its element's is one unaligned vector move.
    wide_type="typedef $scalar $utype __attribute__((ext_vector_type($w), aligned($align)));",
    wide_load="(*(__global const $utype*)($ptr))",
    wide_store="*(__global $utype*)($ptr) = $value;",
    math_suffix={},
    literal_suffix={
        _dt("int64"): "L",
        _dt("uint32"): "u",
        _dt("uint64"): "UL",
        _dt("float32"): "f",
    },
    special_floats={
        _dt("float32"): ("INFINITY", "NAN"),
        _dt("float64"): ("((double)INFINITY)", "((double)NAN)"),
    },
    popcount=("popcount($x)", "popcount($x)"),
    clz=("clz($x)", "clz($x)"),
    build_options=("-w",),  # generated code trips style warnings (``x != x`` is a NaN test)
)

CUDA: Final = Dialect(
    name="cuda",
    source_suffix=".cu",
    preamble="",
    fp64_preamble="",
    contract="",
    kernel_prefix='extern "C" __global__ void',
    function_prefix="static __device__ __forceinline__",
    global_qualifier="",
    restrict="__restrict__",
    local_qualifier="__shared__",
    barrier="__syncthreads();",
    global_id="(blockIdx.x * (long long)blockDim.x + threadIdx.x)",
    global_size="((long long)blockDim.x * gridDim.x)",
    local_id=("threadIdx.x", "threadIdx.y", "threadIdx.z"),
    local_size="blockDim.x",
    group_id=("blockIdx.x", "blockIdx.y", "blockIdx.z"),
    num_groups="gridDim.x",
    types={
        _dt("bool"): "bool",
        **dict(
            zip(map(_dt, _SIGNED), ("signed char", "short", "int", "long long"), strict=True)
        ),
        **dict(
            zip(
                map(_dt, _UNSIGNED),
                ("unsigned char", "unsigned short", "unsigned int", "unsigned long long"),
                strict=True,
            )
        ),
        _dt("float32"): "float",
        _dt("float64"): "double",
    },
    storage_types={_dt("bool"): "unsigned char"},
    vector_types={
        _dt("bool"): "uchar4",
        _dt("int8"): "char4",
        _dt("uint8"): "uchar4",
        _dt("int32"): "int4",
        _dt("uint32"): "uint4",
        _dt("float32"): "float4",
    },
    vector_lanes=("x", "y", "z", "w"),
    vector_load="reinterpret_cast<const $vtype*>($ptr)[$i]",
    vector_store="reinterpret_cast<$vtype*>($ptr)[$i] = make_$vtype($values);",
    vector_alignment=True,
    vector_arithmetic=False,
    wide_type="",
    wide_load="",
    wide_store="",
    math_suffix={_dt("float32"): "f"},
    literal_suffix={
        _dt("int64"): "LL",
        _dt("uint32"): "u",
        _dt("uint64"): "ULL",
        _dt("float32"): "f",
    },
    special_floats={
        _dt("float32"): ("__int_as_float(0x7f800000)", "__int_as_float(0x7fc00000)"),
        _dt("float64"): (
            "__longlong_as_double(0x7ff0000000000000LL)",
            "__longlong_as_double(0x7ff8000000000000LL)",
        ),
    },
    popcount=("__popc((unsigned int)($U)$x)", "__popcll((unsigned long long)$x)"),
    clz=(
        "(__clz((int)(unsigned int)($U)$x) - (32 - $BITS))",
        "__clzll((long long)$x)",
    ),
    build_options=("--fmad=false",),
    promote_float32=SPECIAL_IN_DOUBLE,
)

DIALECTS: Final[dict[str, Dialect]] = {d.name: d for d in (OPENCL, CUDA)}
