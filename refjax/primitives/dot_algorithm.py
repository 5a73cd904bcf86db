"""How precisely to compute: ``DotAlgorithm``/``DotAlgorithmPreset`` (accepted as a
``dot_general`` precision, as JAX accepts them) and ``Tolerance``/``AccuracyMode`` (the accuracy
of unary functions). refjax records them in the params it is given and computes exactly in the
operands' dtype whatever they say, as its numpy reference always does.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from refjax.dtypes import DTypeLike

__all__ = ["AccuracyMode", "DotAlgorithm", "DotAlgorithmPreset", "Tolerance"]


class DotAlgorithm(NamedTuple):
    """A dot product's algorithm: the types the operands are rounded to, the accumulation
    type, how many components each operand splits into and how many products are summed."""

    lhs_precision_type: DTypeLike
    rhs_precision_type: DTypeLike
    accumulation_type: DTypeLike
    lhs_component_count: int = 1
    rhs_component_count: int = 1
    num_primitive_operations: int = 1
    allow_imprecise_accumulation: bool = False


class DotAlgorithmPreset(enum.Enum):
    """The named dot algorithms some platforms support (JAX's list)."""

    DEFAULT = enum.auto()
    ANY_F8_ANY_F8_F32 = enum.auto()
    ANY_F8_ANY_F8_F32_FAST_ACCUM = enum.auto()
    ANY_F8_ANY_F8_ANY = enum.auto()
    ANY_F8_ANY_F8_ANY_FAST_ACCUM = enum.auto()
    F16_F16_F16 = enum.auto()
    F16_F16_F32 = enum.auto()
    BF16_BF16_BF16 = enum.auto()
    BF16_BF16_F32 = enum.auto()
    BF16_BF16_F32_X3 = enum.auto()
    BF16_BF16_F32_X6 = enum.auto()
    BF16_BF16_F32_X9 = enum.auto()
    TF32_TF32_F32 = enum.auto()
    TF32_TF32_F32_X3 = enum.auto()
    F32_F32_F32 = enum.auto()
    F64_F64_F64 = enum.auto()

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __str__(self) -> str:
        return self.name


class AccuracyMode(enum.Enum):
    """How accurately a unary function is computed: the most accurate, or the default."""

    HIGHEST = 1
    DEFAULT = 2


class Tolerance:
    """Tolerances for a unary function's result: at most two of ``atol``, ``rtol`` and
    ``ulps``, each non-negative, at least one set."""

    def __init__(self, atol: float = 0.0, rtol: float = 0.0, ulps: int = 0) -> None:
        if atol < 0.0 or rtol < 0.0 or ulps < 0.0:
            raise ValueError("Tolerances must be non-negative.")
        if atol == 0.0 and rtol == 0.0 and ulps == 0:
            raise ValueError("At least one of atol, rtol, or ulps must be set.")
        self.atol = atol
        self.rtol = rtol
        self.ulps = ulps
