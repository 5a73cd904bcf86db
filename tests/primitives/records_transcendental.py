"""Records for the transcendental and special-function primitives (see ``records.py``).

References: numpy's ufuncs for the elementary functions; for the special functions, which numpy
lacks, the C library through ``math`` (erf, erfc) and ``scipy.special`` (erfinv, gammaln, psi;
scipy comes with JAX, and refjax itself never imports it). scipy's ``erfc`` is avoided: it loses
about 5e-14 relative accuracy for x > 20, where glibc's stays within an ulp.

Inputs stay inside each function's real domain, and away from poles and branch points by enough
for float64 finite differences (the transformation checks differentiate every record marked
``differentiable``; complex records run only through vmap there, as check_grads works in float64).
Edge values (poles, ±1 for erf_inv, infinities, signed zeros), derivatives there and error messages
are checked in ``test_transcendental.py``.

XLA's ``polygamma`` (and so JAX's derivative of ``digamma``) loses accuracy below x = -4 and is
wrong below about -8, where refjax's stays accurate: records that compare derivatives of digamma
or values of polygamma with JAX at negative x keep to (-4, 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from tests.primitives.records import (
    FLOAT_DTYPES,
    OpRecord,
    Shape,
    ValuesFn,
    positive_values,
    random_values,
    same_maker,
    unit_values,
)

F = FLOAT_DTYPES
C = (np.dtype(np.complex64), np.dtype(np.complex128))
UNARY: list[tuple[Shape, ...]] = [((),), ((0,),), ((0, 3),), ((3, 4),)]
BINARY: list[tuple[Shape, ...]] = [
    ((), ()),
    ((0,), (0,)),
    ((3, 4), (3, 4)),
    ((3, 4), ()),
    ((), (3, 4)),
    ((1, 4), (3, 1)),
]


def uniform_values(low: float, high: float) -> ValuesFn:
    """Values uniform in (low, high)."""

    def values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
        return rng.uniform(low, high, shape).astype(dtype)

    return values


def near_one_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """±(1 - eps**u), u in (0.05, 0.95): the tails of erf_inv, down to a few ulps from ±1."""
    eps = float(np.finfo(dtype).eps)
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return (sign * (1 - eps ** rng.uniform(0.05, 0.95, shape))).astype(dtype)


def nonintegral_values(low: int) -> ValuesFn:
    """Non-integral values in (low, 0), at least 0.01 from the poles of the gamma functions."""

    def values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
        whole = rng.integers(low, 0, shape)
        return (whole + rng.uniform(0.01, 0.99, shape)).astype(dtype)

    return values


negative_values = nonintegral_values(-8)


def steep_tail_values(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """±(0.9 .. 0.99): erf_inv's steep tails, where finite differences still work."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return (sign * rng.uniform(0.9, 0.99, shape)).astype(dtype)


def polygamma_operands(
    rng: np.random.Generator, shapes: Sequence[Shape], dtype: np.dtype[Any]
) -> list[np.ndarray]:
    """Orders m in 0..4 (integral floats) and x in (0.1, 3)."""
    m_shape, x_shape = shapes
    return [rng.integers(0, 5, m_shape).astype(dtype), positive_values(rng, x_shape, dtype)]


def _scipy_special(name: str) -> Callable[..., Any]:
    """``scipy.special.<name>``, imported when a test needs it (skipped without scipy)."""

    def ref(x: np.ndarray) -> np.ndarray:
        special = pytest.importorskip("scipy.special")
        return np.asarray(getattr(special, name)(x.astype(np.float64)))

    return ref


def _per_element(fn: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    """A float64 reference that applies a ``math`` function to each element."""
    return np.vectorize(lambda v: fn(float(v)), otypes=[np.float64])


def _logistic(x: np.ndarray) -> np.ndarray:
    if np.iscomplexobj(x):
        return np.asarray(1 / (1 + np.exp(-x)))
    return _scipy_special("expit")(x)


def _rsqrt(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / np.sqrt(x))


def _polygamma(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    special = pytest.importorskip("scipy.special")
    return np.asarray(special.polygamma(m.astype(np.int64), x.astype(np.float64)))


def polygamma_of_order(
    m: int, values: ValuesFn, dtypes: Sequence[np.dtype[Any]] = F, **kwargs: Any
) -> OpRecord:
    """A record for ``lax.polygamma(m, x)`` at a fixed order ``m``, differentiable in ``x``."""
    return OpRecord(
        name="polygamma",
        op=lambda lax, x: lax.polygamma(float(m), x),
        ref=lambda x: _polygamma(np.full(np.shape(x), m), x),
        shapes=UNARY,
        dtypes=dtypes,
        args_maker=same_maker(values),
        **kwargs,
    )


def unary(
    name: str,
    ref: Callable[..., Any],
    values: ValuesFn = random_values,
    dtypes: Sequence[np.dtype[Any]] = F,
    **kwargs: Any,
) -> OpRecord:
    """A record for the unary ``lax.<name>``."""
    return OpRecord(
        name=name,
        op=lambda lax, x: getattr(lax, name)(x),
        ref=ref,
        shapes=UNARY,
        dtypes=dtypes,
        args_maker=same_maker(values),
        **kwargs,
    )


COMPLEX_NOTE = "complex operands: values off the branch cuts, as numpy and XLA agree there"

RECORDS: list[OpRecord] = [
    # Exponentials and logarithms
    unary("exp", np.exp),
    unary("exp", np.exp, uniform_values(-80, 80), notes="near float32 overflow"),
    unary("exp", np.exp, dtypes=C, notes=COMPLEX_NOTE),
    unary("exp2", np.exp2),
    unary("exp2", np.exp2, dtypes=C, notes=COMPLEX_NOTE),
    unary("log", np.log, positive_values),
    unary("log", np.log, dtypes=C, notes=COMPLEX_NOTE),
    unary("log1p", np.log1p, positive_values),
    unary("log1p", np.log1p, uniform_values(-0.99, 1e-3), notes="cancellation near 0 and -1"),
    unary("log1p", np.log1p, dtypes=C, notes=COMPLEX_NOTE),
    unary("expm1", np.expm1),
    unary("expm1", np.expm1, dtypes=C, notes=COMPLEX_NOTE),
    # Sigmoids
    unary("tanh", np.tanh),
    unary("tanh", np.tanh, dtypes=C, notes=COMPLEX_NOTE),
    unary("logistic", _logistic),
    unary("logistic", _logistic, uniform_values(-40, 40), notes="saturated tails"),
    unary("logistic", _logistic, dtypes=C, notes=COMPLEX_NOTE),
    # Trigonometric functions
    unary("sin", np.sin),
    unary("sin", np.sin, dtypes=C, notes=COMPLEX_NOTE),
    unary("cos", np.cos),
    unary("cos", np.cos, dtypes=C, notes=COMPLEX_NOTE),
    unary("tan", np.tan),
    unary("tan", np.tan, dtypes=C, notes=COMPLEX_NOTE),
    unary("asin", np.arcsin, unit_values),
    unary("asin", np.arcsin, dtypes=C, notes=COMPLEX_NOTE),
    unary("acos", np.arccos, unit_values),
    unary("acos", np.arccos, dtypes=C, notes=COMPLEX_NOTE),
    unary("atan", np.arctan),
    unary("atan", np.arctan, dtypes=C, notes=COMPLEX_NOTE),
    OpRecord(
        name="atan2",
        op=lambda lax, x, y: lax.atan2(x, y),
        ref=np.arctan2,
        shapes=BINARY,
        dtypes=F,
        notes="complex atan2 is compared with JAX in test_transcendental.py",
    ),
    # Hyperbolic functions
    unary("sinh", np.sinh),
    unary("sinh", np.sinh, dtypes=C, notes=COMPLEX_NOTE),
    unary("cosh", np.cosh),
    unary("cosh", np.cosh, dtypes=C, notes=COMPLEX_NOTE),
    unary("asinh", np.arcsinh),
    unary("asinh", np.arcsinh, dtypes=C, notes=COMPLEX_NOTE),
    unary("acosh", np.arccosh, uniform_values(1.1, 4)),
    unary("acosh", np.arccosh, dtypes=C, notes=COMPLEX_NOTE),
    unary("atanh", np.arctanh, unit_values),
    unary("atanh", np.arctanh, dtypes=C, notes=COMPLEX_NOTE),
    # Roots
    unary("sqrt", np.sqrt, positive_values),
    unary("sqrt", np.sqrt, dtypes=C, notes=COMPLEX_NOTE),
    unary("rsqrt", _rsqrt, positive_values),
    unary("rsqrt", _rsqrt, dtypes=C, notes=COMPLEX_NOTE),
    unary("cbrt", np.cbrt),
    # Special functions
    unary("erf", _per_element(math.erf)),
    unary("erf", _per_element(math.erf), uniform_values(-6, 6), notes="saturation at ±1"),
    unary("erfc", _per_element(math.erfc)),
    unary("erfc", _per_element(math.erfc), uniform_values(-6, 26), notes="deep right tail"),
    unary("erf_inv", _scipy_special("erfinv"), unit_values),
    unary("erf_inv", _scipy_special("erfinv"), steep_tail_values, notes="steep tails"),
    unary(
        "erf_inv",
        _scipy_special("erfinv"),
        near_one_values,
        compare_jax=False,
        differentiable=False,
        notes="tails near ±1: XLA's float64 erf_inv is only ~1e-10 accurate here; finite "
        "differences would step past ±1 (derivatives there: test_transcendental.py)",
    ),
    unary("lgamma", _scipy_special("gammaln"), positive_values),
    unary("lgamma", _scipy_special("gammaln"), uniform_values(0.01, 30), notes="Stirling range"),
    unary(
        "lgamma",
        _scipy_special("gammaln"),
        negative_values,
        tol=1e-14,
        dtypes=(np.dtype(np.float64),),
        notes="reflection; scipy and XLA lose a few ulps near the negative zeros",
    ),
    unary("digamma", _scipy_special("psi"), positive_values),
    unary("digamma", _scipy_special("psi"), uniform_values(0.01, 30), notes="asymptotic range"),
    unary(
        "digamma",
        _scipy_special("psi"),
        negative_values,
        tol=1e-13,
        dtypes=(np.dtype(np.float64),),
        compare_jax=False,
        notes="reflection; scipy's psi is off by up to ~1e-14 relative for negative x; XLA's "
        "polygamma, JAX's derivative here, is wrong below -8",
    ),
    unary(
        "digamma",
        _scipy_special("psi"),
        nonintegral_values(-4),
        tol=1e-13,
        dtypes=(np.dtype(np.float64),),
        notes="reflection, where XLA's polygamma (the derivative) is accurate",
    ),
    polygamma_of_order(1, positive_values),
    polygamma_of_order(2, uniform_values(0.01, 30), notes="asymptotic range"),
    polygamma_of_order(
        3,
        nonintegral_values(-4),
        tol=1e-12,
        dtypes=(np.dtype(np.float64),),
        notes="negative x: the direct sum; XLA is accurate to ~1e-14 here",
    ),
    OpRecord(
        name="polygamma",
        op=lambda lax, m, x: lax.polygamma(m, x),
        ref=_polygamma,
        shapes=BINARY,
        dtypes=F,
        args_maker=polygamma_operands,
        differentiable=False,
        notes="m as an operand (broadcasting, vmap); not differentiable in m (JAX raises), so "
        "derivatives in x are checked by the fixed-order records",
    ),
]
