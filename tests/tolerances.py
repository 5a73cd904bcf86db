"""The one table of test tolerances by dtype (relative and absolute unless said otherwise).

The base rows are JAX's test utilities' (``jax._src.public_test_util``): ``VALUE`` for one
primitive's values, ``GRAD`` for derivatives against finite differences (the defaults of
``refjax.test_util.check_grads``, which the tests call without tolerances). The other rows are
looser, each for the tests named in its comment and for the reason given there; every test's
effective tolerance is what it was before these tables were gathered here.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

F16: Final = np.dtype(np.float16)
F32: Final = np.dtype(np.float32)
F64: Final = np.dtype(np.float64)
C64: Final = np.dtype(np.complex64)
C128: Final = np.dtype(np.complex128)

# Values of one primitive (refjax) against an independent numpy reference (tests/primitives's
# records, their vmap-against-a-loop checks). Exact dtypes (bool, integers) compare exactly.
VALUE: Final[dict[np.dtype[Any], float]] = {
    F16: 1e-3,
    F32: 1e-6,
    F64: 1e-15,
    C64: 1e-6,
    C128: 1e-15,
}

# Derivatives against central finite differences (JAX's; refjax.test_util uses the same).
GRAD: Final[dict[np.dtype[Any], float]] = {
    F16: 1e-2,
    F32: 2e-3,
    F64: 1e-5,
    C64: 1e-3,
    C128: 1e-5,
}

# refjax.lax against real jax.lax, per primitive (test_op_table, test_op_table_transforms):
# XLA evaluates transcendental functions with its own approximations, a few ulp from the
# correctly rounded numpy reference, so ten times VALUE.
JAX_FACTOR: Final = 10.0

# refjax.numpy against real jax.numpy or numpy (tests/numpy), when a test gives no tolerance of
# its own: a jax.numpy function is a composition of primitives, whose roundings add up, and
# numpy's reference is computed in float64 then rounded. Looser than VALUE: one more ulp in
# 16/32 bits, 100x in 64 bits. Kept as it was (the OpenCL run of the suite uses it too); on the
# numpy backend only ``cross`` (test_more_functions, float32: a difference of products) needs
# more than VALUE today.
COMPOSITE: Final[dict[np.dtype[Any], float]] = {
    F16: 2e-3,
    F32: 2e-6,
    F64: 1e-13,
    C64: 2e-6,
    C128: 1e-13,
}
COMPOSITE_DEFAULT: Final = 1e-6  # a dtype not in COMPOSITE (e.g. bfloat16)

# Reductions and matmuls rendered as kernels against the IR evaluator (tests/backends/
# test_render): the summation order differs, within a couple of ulp of the result.
KERNEL_SUMS: Final[dict[np.dtype[Any], float]] = {F32: 2e-6, F64: 4e-15}

# refjax.random's samplers against real JAX (test_random): XLA's polynomial approximations of
# erf_inv (normal, truncated_normal) and log/log1p (gumbel, exponential); relative per sampler,
# and one absolute tolerance per real dtype. See test_random's module docstring.
SAMPLER_RTOL: Final[dict[str, dict[np.dtype[Any], float]]] = {
    "normal": {F32: 2e-4, F64: 1e-11},
    "truncated_normal": {F32: 2e-5, F64: 1e-13},
    "gumbel": {F32: 2e-6, F64: 1e-14},
    "exponential": {F32: 2e-6, F64: 1e-14},
}
SAMPLER_ATOL: Final[dict[np.dtype[Any], float]] = {F32: 2e-6, F64: 1e-14}

# The differential fuzzer (tests/fuzz), float32 programs against real JAX: whole random
# programs under transformation stacks, relative; stacks with derivatives (more operations,
# each rounded) a bit looser than values.
FUZZ_VALUE_RTOL: Final = 2e-5
FUZZ_GRAD_RTOL: Final = 1e-4


def value_tol(dtype: Any) -> float:
    """VALUE's tolerance for ``dtype`` (0 for exact dtypes)."""
    return VALUE.get(np.dtype(dtype), 0.0)


def grad_tol(dtype: Any) -> float:
    """GRAD's tolerance for ``dtype`` (0 for exact dtypes)."""
    return GRAD.get(np.dtype(dtype), 0.0)


def composite_tol(dtype: Any) -> float:
    """COMPOSITE's tolerance for ``dtype`` (COMPOSITE_DEFAULT for dtypes it does not list)."""
    return COMPOSITE.get(np.dtype(dtype), COMPOSITE_DEFAULT)
