"""``refjax.numpy.fft`` (and ``refjax.lax.fft``) against ``jax.numpy.fft`` and numpy.

Every transform is compared with real JAX on the same inputs (values, shapes, dtypes, weak
types), over its lengths ``n``/``s`` (padding and cropping), axes, ``norm`` modes, input dtypes
and ranks up to five (JAX splits those into transforms of at most three axes); the one-axis
transforms also with numpy's values. Errors (bad ``norm``, repeated or too many axes, lengths
that are not positive ...) have JAX's class and message. The frequencies and shifts are compared
the same way. Traced programs print as JAX's do, plainly and under grad, vmap, jvp and vjp; the
derivatives match JAX's and finite differences; vmap and jit give JAX's values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from refjax import lax
from refjax.test_util import check_grads
from tests.errors import assert_same_error
from tests.numpy.helpers import assert_same, call_tree, check, check_numpy
from tests.oracle import enable_x64, jax, jnp

_RNG = np.random.default_rng(11)


def _real(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape).astype(np.float32)


def _complex(*shape: int) -> np.ndarray:
    return (_RNG.standard_normal(shape) + 1j * _RNG.standard_normal(shape)).astype(np.complex64)


R = _real(3, 4, 5)
C = _complex(3, 4, 5)
R2 = _real(4, 6)
C2 = _complex(4, 6)
V = _real(7)
I = np.arange(12, dtype=np.int32).reshape(3, 4) % 5  # noqa: E741  # a readable name here

# A transform's entries are sums of n rounded products: float32 results agree to about 1e-6
# of their size, relative and absolute.
TOL32 = 1e-5
TOL64 = 1e-12

Fn = Callable[..., Any]
# (label, f(module, *args), args): ``module`` is refjax.numpy or jax.numpy
TRANSFORMS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    # one axis
    ("fft", lambda m, a: m.fft.fft(a), (C,)),
    ("fft of real", lambda m, a: m.fft.fft(a), (R,)),
    ("fft of int", lambda m, a: m.fft.fft(a), (I,)),
    ("fft pad", lambda m, a: m.fft.fft(a, n=8), (C,)),
    ("fft crop", lambda m, a: m.fft.fft(a, n=2), (C,)),
    ("fft axis 0 pad ortho", lambda m, a: m.fft.fft(a, 6, 0, "ortho"), (C,)),
    ("fft axis 1 forward", lambda m, a: m.fft.fft(a, axis=1, norm="forward"), (C,)),
    ("fft backward", lambda m, a: m.fft.fft(a, norm="backward"), (C,)),
    ("fft vector", lambda m, a: m.fft.fft(a), (V,)),
    ("fft length 1", lambda m, a: m.fft.fft(a, n=1), (V,)),
    ("fft empty batch", lambda m, a: m.fft.fft(a), (np.zeros((0, 4), np.complex64),)),
    ("ifft", lambda m, a: m.fft.ifft(a), (C,)),
    ("ifft crop axis -2", lambda m, a: m.fft.ifft(a, 3, -2), (C,)),
    ("ifft ortho", lambda m, a: m.fft.ifft(a, norm="ortho"), (C,)),
    ("ifft forward", lambda m, a: m.fft.ifft(a, norm="forward"), (C,)),
    ("rfft", lambda m, a: m.fft.rfft(a), (R,)),
    ("rfft odd pad", lambda m, a: m.fft.rfft(a, 7, 1), (R,)),
    ("rfft crop ortho", lambda m, a: m.fft.rfft(a, 3, norm="ortho"), (R,)),
    ("rfft forward", lambda m, a: m.fft.rfft(a, norm="forward"), (R,)),
    ("rfft of int", lambda m, a: m.fft.rfft(a), (I,)),
    ("irfft", lambda m, a: m.fft.irfft(a), (C,)),
    ("irfft odd", lambda m, a: m.fft.irfft(a, 9), (C,)),
    ("irfft crop axis 0 ortho", lambda m, a: m.fft.irfft(a, 3, 0, "ortho"), (C,)),
    ("irfft forward", lambda m, a: m.fft.irfft(a, norm="forward"), (C,)),
    ("irfft of real", lambda m, a: m.fft.irfft(a), (R,)),
    ("irfft of one term", lambda m, a: m.fft.irfft(a), (_complex(2, 1),)),
    ("hfft", lambda m, a: m.fft.hfft(a), (C,)),
    ("hfft n axis", lambda m, a: m.fft.hfft(a, 5, 0), (C,)),
    ("hfft ortho", lambda m, a: m.fft.hfft(a, norm="ortho"), (C,)),
    ("hfft forward", lambda m, a: m.fft.hfft(a, 6, norm="forward"), (C,)),
    ("ihfft", lambda m, a: m.fft.ihfft(a), (R,)),
    ("ihfft n axis", lambda m, a: m.fft.ihfft(a, 6, 1), (R,)),
    ("ihfft ortho", lambda m, a: m.fft.ihfft(a, norm="ortho"), (R,)),
    ("ihfft forward", lambda m, a: m.fft.ihfft(a, norm="forward"), (R,)),
    # two axes
    ("fft2", lambda m, a: m.fft.fft2(a), (C,)),
    ("fft2 s axes", lambda m, a: m.fft.fft2(a, (2, 7), (0, 2)), (C,)),
    ("fft2 swapped axes", lambda m, a: m.fft.fft2(a, axes=(1, 0)), (C,)),
    ("ifft2 ortho", lambda m, a: m.fft.ifft2(a, norm="ortho"), (C,)),
    ("ifft2 s forward", lambda m, a: m.fft.ifft2(a, (5, 3), norm="forward"), (C,)),
    ("rfft2", lambda m, a: m.fft.rfft2(a), (R,)),
    ("rfft2 s axes", lambda m, a: m.fft.rfft2(a, (4, 3), (2, 0)), (R,)),
    ("irfft2", lambda m, a: m.fft.irfft2(a), (C,)),
    ("irfft2 s", lambda m, a: m.fft.irfft2(a, (3, 9), norm="ortho"), (C,)),
    # any number of axes
    ("fftn", lambda m, a: m.fft.fftn(a), (C,)),
    ("fftn s (last axes)", lambda m, a: m.fft.fftn(a, (2, 7)), (C,)),
    ("fftn axes", lambda m, a: m.fft.fftn(a, axes=(2, 0)), (C,)),
    ("fftn s axes forward", lambda m, a: m.fft.fftn(a, (3, 2), (0, 1), "forward"), (C,)),
    ("fftn no axes", lambda m, a: m.fft.fftn(a, axes=()), (C,)),
    ("fftn no axes ortho", lambda m, a: m.fft.fftn(a, axes=(), norm="ortho"), (C,)),
    ("fftn 0-d", lambda m, a: m.fft.fftn(a), (np.complex64(2 + 1j),)),
    ("fftn 4-d", lambda m, a: m.fft.fftn(a), (_complex(2, 3, 2, 4),)),
    ("fftn 5-d", lambda m, a: m.fft.fftn(a), (_complex(2, 1, 3, 2, 2),)),
    ("ifftn", lambda m, a: m.fft.ifftn(a, norm="ortho"), (C,)),
    ("ifftn 4-d", lambda m, a: m.fft.ifftn(a), (_complex(2, 3, 2, 4),)),
    ("ifftn 5-d axes", lambda m, a: m.fft.ifftn(a, axes=(4, 0, 1, 2, 3)),
     (_complex(2, 1, 3, 2, 2),)),
    ("rfftn", lambda m, a: m.fft.rfftn(a), (R,)),
    ("rfftn s axes", lambda m, a: m.fft.rfftn(a, (2, 6), (1, 0), "forward"), (R,)),
    ("rfftn 4-d", lambda m, a: m.fft.rfftn(a), (_real(2, 3, 2, 4),)),
    ("rfftn 5-d", lambda m, a: m.fft.rfftn(a), (_real(2, 1, 3, 2, 5),)),
    ("irfftn", lambda m, a: m.fft.irfftn(a), (C,)),
    ("irfftn s", lambda m, a: m.fft.irfftn(a, (5, 4, 7)), (C,)),
    ("irfftn axes ortho", lambda m, a: m.fft.irfftn(a, axes=(2, 0), norm="ortho"), (C,)),
    ("irfftn 4-d", lambda m, a: m.fft.irfftn(a), (_complex(2, 3, 2, 4),)),
    ("irfftn 5-d", lambda m, a: m.fft.irfftn(a), (_complex(2, 1, 3, 2, 3),)),
]
IDS = [c[0] for c in TRANSFORMS]


@pytest.mark.parametrize("case", TRANSFORMS, ids=IDS)
def test_transform_matches_jax(case: tuple[str, Fn, tuple[Any, ...]]) -> None:
    _, f, args = case
    check(f, *args, tol=TOL32)


# 64-bit inputs (with jax_enable_x64): complex128 and float64 results
X64_TRANSFORMS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("fft", lambda m, a: m.fft.fft(a, 6), (C.astype(np.complex128),)),
    ("fft of float64", lambda m, a: m.fft.fft(a), (R.astype(np.float64),)),
    ("fft of int64", lambda m, a: m.fft.fft(a), (I.astype(np.int64),)),
    ("ifft2", lambda m, a: m.fft.ifft2(a, norm="ortho"), (C.astype(np.complex128),)),
    ("rfftn", lambda m, a: m.fft.rfftn(a, (3, 7)), (R.astype(np.float64),)),
    ("irfft", lambda m, a: m.fft.irfft(a, 7, norm="forward"), (C.astype(np.complex128),)),
    ("hfft", lambda m, a: m.fft.hfft(a), (C.astype(np.complex128),)),
    ("ihfft", lambda m, a: m.fft.ihfft(a, 4), (R.astype(np.float64),)),
    ("fftn 4-d", lambda m, a: m.fft.fftn(a), (_complex(2, 3, 2, 2).astype(np.complex128),)),
]


@pytest.mark.parametrize("case", X64_TRANSFORMS, ids=[c[0] for c in X64_TRANSFORMS])
def test_transform_matches_jax_in_64_bits(
    case: tuple[str, Fn, tuple[Any, ...]], x64: None
) -> None:
    _, f, args = case
    check(f, *args, tol=TOL64)


# numpy's values (computed in float64 from float32 operands; complex operands as given)
NUMPY_TRANSFORMS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("fft", lambda m, a: m.fft.fft(a, 6, 1), (C,)),
    ("ifft", lambda m, a: m.fft.ifft(a, norm="ortho"), (C,)),
    ("rfft", lambda m, a: m.fft.rfft(a, 9), (R,)),
    ("irfft", lambda m, a: m.fft.irfft(a, 5, 0, "forward"), (C,)),
    ("hfft", lambda m, a: m.fft.hfft(a, 7), (C,)),
    ("ihfft", lambda m, a: m.fft.ihfft(a, norm="ortho"), (R,)),
    ("fftn", lambda m, a: m.fft.fftn(a, (2, 5), (2, 0)), (C,)),
    ("irfftn", lambda m, a: m.fft.irfftn(a, (4, 3, 6), (0, 1, 2)), (C,)),
    ("rfft2", lambda m, a: m.fft.rfft2(a), (R2,)),
]


@pytest.mark.parametrize("case", NUMPY_TRANSFORMS, ids=[c[0] for c in NUMPY_TRANSFORMS])
def test_transform_matches_numpy(case: tuple[str, Fn, tuple[Any, ...]]) -> None:
    _, f, args = case
    check_numpy(f, *args, tol=TOL32)


def test_inverses_undo_transforms() -> None:
    """ifftn(fftn(x)) and irfftn(rfftn(x)) give x back (refjax alone, an identity)."""
    x = _real(2, 3, 4, 5)
    np.testing.assert_allclose(np.asarray(rnp.fft.ifftn(rnp.fft.fftn(x))), x, atol=1e-5)
    np.testing.assert_allclose(np.asarray(rnp.fft.irfftn(rnp.fft.rfftn(x), x.shape)), x,
                               atol=1e-5)
    np.testing.assert_allclose(np.asarray(rnp.fft.hfft(rnp.fft.ihfft(V), 7)), V, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Errors: JAX's class and message

ERRORS: list[tuple[str, Fn]] = [
    ("bad norm", lambda m: m.fft.fft(C, norm="bogus")),
    ("norm is case-sensitive", lambda m: m.fft.irfft2(C, norm="Ortho")),
    ("zero length", lambda m: m.fft.fftn(C, s=(0, 2))),
    ("negative n", lambda m: m.fft.fft(C, n=-1)),
    ("ihfft n 0", lambda m: m.fft.ihfft(R, n=0)),
    ("float length", lambda m: m.fft.fftn(C, s=(2.0,))),
    ("s and axes lengths", lambda m: m.fft.fftn(C, s=(2, 2), axes=(0,))),
    ("repeated axes", lambda m: m.fft.fftn(C, axes=(0, 0))),
    ("repeated axes list", lambda m: m.fft.rfftn(R, axes=[1, 1])),
    ("same axis twice, spelled apart", lambda m: m.fft.fftn(C, axes=(0, -3))),
    ("axis out of range", lambda m: m.fft.fft(C, axis=3)),
    ("negative axis out of range", lambda m: m.fft.ifft(C, axis=-4)),
    ("more axes than dims", lambda m: m.fft.fftn(C2, axes=(0, 1, 2))),
    ("more lengths than dims", lambda m: m.fft.fftn(V, s=(2, 3))),
    ("fft of 0-d", lambda m: m.fft.fft(np.complex64(1))),
    ("fft axis list", lambda m: m.fft.fft(C, axis=[0])),
    ("irfft axis tuple", lambda m: m.fft.irfft(C, axis=(0, 1))),
    ("hfft axis tuple", lambda m: m.fft.hfft(C, axis=(0,))),
    ("ihfft axis list", lambda m: m.fft.ihfft(R, axis=[0, 1])),
    ("fft2 three axes", lambda m: m.fft.fft2(C, axes=(0, 1, 2))),
    ("irfft2 one axis", lambda m: m.fft.irfft2(C, axes=[0])),
    ("rfft of complex", lambda m: m.fft.rfft(C)),
    ("rfftn of complex", lambda m: m.fft.rfftn(C, axes=(0,))),
    ("list operand", lambda m: m.fft.fft([1.0, 2.0])),
    ("list operand of fftshift", lambda m: m.fft.fftshift([1.0, 2.0])),
    ("fftfreq n list", lambda m: m.fft.fftfreq([3])),
    ("fftfreq d list", lambda m: m.fft.fftfreq(3, [1.0])),
    ("rfftfreq n tuple", lambda m: m.fft.rfftfreq((3,))),
    ("rfftfreq d tuple", lambda m: m.fft.rfftfreq(3, (1.0, 2.0))),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_jax(case: tuple[str, Fn]) -> None:
    _, f = case
    assert_same_error(lambda: f(rnp), lambda: f(jnp))


# ---------------------------------------------------------------------------------------------
# Frequencies and shifts

FREQUENCIES: list[tuple[str, Fn]] = [
    ("fftfreq", lambda m: m.fft.fftfreq(5)),
    ("fftfreq even d", lambda m: m.fft.fftfreq(6, 0.3)),
    ("fftfreq one", lambda m: m.fft.fftfreq(1)),
    ("fftfreq none", lambda m: m.fft.fftfreq(0)),
    ("fftfreq int d", lambda m: m.fft.fftfreq(8, 2)),
    ("fftfreq int dtype", lambda m: m.fft.fftfreq(6, 2, dtype=np.int32)),
    ("fftfreq complex dtype", lambda m: m.fft.fftfreq(7, 0.5, dtype=np.complex64)),
    ("fftfreq array d", lambda m: m.fft.fftfreq(4, np.float32(0.25))),
    ("rfftfreq", lambda m: m.fft.rfftfreq(5, 0.1)),
    ("rfftfreq even", lambda m: m.fft.rfftfreq(6)),
    ("rfftfreq int dtype", lambda m: m.fft.rfftfreq(6, dtype=np.int32)),
    ("rfftfreq float16", lambda m: m.fft.rfftfreq(9, 3.0, dtype=np.float16)),
]


@pytest.mark.parametrize("case", FREQUENCIES, ids=[c[0] for c in FREQUENCIES])
def test_frequencies_match_jax(case: tuple[str, Fn]) -> None:
    check(case[1])


def test_frequencies_in_64_bits(x64: None) -> None:
    check(lambda m: m.fft.fftfreq(7, 0.1))
    check(lambda m: m.fft.fftfreq(4, dtype=np.int64))
    check(lambda m: m.fft.rfftfreq(10, 0.01))
    check(lambda m: m.fft.rfftfreq(5, dtype=np.float32))


def test_frequencies_match_numpy() -> None:
    check_numpy(lambda m: m.fft.fftfreq(9, 0.2))
    check_numpy(lambda m: m.fft.rfftfreq(9, 0.2))


SHIFTS: list[tuple[str, Fn, tuple[Any, ...]]] = [
    ("fftshift", lambda m, a: m.fft.fftshift(a), (R,)),
    ("fftshift axis", lambda m, a: m.fft.fftshift(a, 1), (R,)),
    ("fftshift negative axis", lambda m, a: m.fft.fftshift(a, -1), (C,)),
    ("fftshift axes", lambda m, a: m.fft.fftshift(a, (0, 2)), (R,)),
    ("fftshift vector", lambda m, a: m.fft.fftshift(a), (V,)),
    ("fftshift 0-d", lambda m, a: m.fft.fftshift(a), (np.float32(3),)),
    ("ifftshift", lambda m, a: m.fft.ifftshift(a), (R,)),
    ("ifftshift axis", lambda m, a: m.fft.ifftshift(a, 1), (I,)),
    ("ifftshift axes", lambda m, a: m.fft.ifftshift(a, [1, 0]), (C,)),
    ("ifftshift vector", lambda m, a: m.fft.ifftshift(a), (V,)),
    ("shifts undo", lambda m, a: m.fft.ifftshift(m.fft.fftshift(a)), (V,)),
    ("shift of frequencies", lambda m: m.fft.fftshift(m.fft.fftfreq(8)), ()),
]


@pytest.mark.parametrize("case", SHIFTS, ids=[c[0] for c in SHIFTS])
def test_shifts_match_jax(case: tuple[str, Fn, tuple[Any, ...]]) -> None:
    _, f, args = case
    check(f, *args)


def test_shifts_match_numpy() -> None:
    check_numpy(lambda m, a: m.fft.fftshift(a, (0, 1)), R)
    check_numpy(lambda m, a: m.fft.ifftshift(a), V)


# ---------------------------------------------------------------------------------------------
# Traced programs print as JAX's


def _int64_as_int(text: str) -> str:
    """JAX's ``jnp.pad`` keeps its widths as numpy ints, which print as ``np.int64(3)``, where
    refjax's print as ``3`` (the longer text breaks its line elsewhere): compare without them,
    and without white space."""
    return re.sub(r"\s+", "", re.sub(r"np\.int64\((-?\d+)\)", r"\1", text))


# (label, f(module) -> function to trace, args)
JAXPRS: list[tuple[str, Callable[[ModuleType], Fn], tuple[Any, ...]]] = [
    ("fft", lambda m: m.numpy.fft.fft, (C,)),
    ("fft of real", lambda m: m.numpy.fft.fft, (R,)),
    ("ifft axis 0 ortho", lambda m: lambda a: m.numpy.fft.ifft(a, axis=0, norm="ortho"), (C,)),
    ("rfft", lambda m: m.numpy.fft.rfft, (R,)),
    ("rfft of int", lambda m: m.numpy.fft.rfft, (I,)),
    ("irfft", lambda m: m.numpy.fft.irfft, (C,)),
    ("irfft backward", lambda m: lambda a: m.numpy.fft.irfft(a, norm="backward"), (C,)),
    ("hfft", lambda m: m.numpy.fft.hfft, (C,)),
    ("ihfft", lambda m: m.numpy.fft.ihfft, (R,)),
    ("fft2 forward", lambda m: lambda a: m.numpy.fft.fft2(a, norm="forward"), (C,)),
    ("ifftn axes", lambda m: lambda a: m.numpy.fft.ifftn(a, axes=(2, 0)), (C,)),
    ("rfftn", lambda m: m.numpy.fft.rfftn, (R,)),
    ("irfftn ortho", lambda m: lambda a: m.numpy.fft.irfftn(a, norm="ortho"), (C,)),
    ("fftn no axes ortho", lambda m: lambda a: m.numpy.fft.fftn(a, axes=(), norm="ortho"), (C,)),
    ("fftn 4-d", lambda m: m.numpy.fft.fftn, (_complex(2, 3, 2, 4),)),
    ("rfftn 5-d", lambda m: m.numpy.fft.rfftn, (_real(2, 1, 3, 2, 5),)),
    ("irfftn 4-d", lambda m: m.numpy.fft.irfftn, (_complex(2, 3, 2, 4),)),
    ("fftshift", lambda m: m.numpy.fft.fftshift, (R,)),
    ("ifftshift axis", lambda m: lambda a: m.numpy.fft.ifftshift(a, 1), (R,)),
    ("fftfreq", lambda m: lambda: m.numpy.fft.fftfreq(5, 0.5), ()),
    ("rfftfreq", lambda m: lambda: m.numpy.fft.rfftfreq(8), ()),
    # transformed
    ("grad irfft", lambda m: _grad(m, lambda a: m.numpy.sum(m.numpy.fft.irfft(a))), (C,)),
    ("grad irfft2 ortho",
     lambda m: _grad(m, lambda a: m.numpy.sum(m.numpy.fft.irfft2(a, norm="ortho"))), (C,)),
    ("vmap fft", lambda m: m.vmap(m.numpy.fft.fft, in_axes=1), (C,)),
    ("vmap irfftn", lambda m: m.vmap(m.numpy.fft.irfftn, in_axes=2), (C,)),
    ("vmap rfft2 at the end", lambda m: m.vmap(m.numpy.fft.rfft2, in_axes=2), (R,)),
    ("jvp ifft", lambda m: lambda a: m.jvp(m.numpy.fft.ifft, (a,), (a,)), (C,)),
    ("linearize rfft", lambda m: lambda a: m.linearize(m.numpy.fft.rfft, a)[1](a), (R2,)),
    ("vjp ifft2", lambda m: lambda a: m.vjp(m.numpy.fft.ifft2, a)[1](a), (C,)),
    ("vjp fftn 3 axes", lambda m: lambda a: m.vjp(m.numpy.fft.fftn, a)[1](a), (C,)),
    ("vjp rfftn", lambda m: lambda a, c: m.vjp(m.numpy.fft.rfftn, a)[1](c),
     (R, _complex(3, 4, 3))),
    ("vjp ihfft", lambda m: lambda a, c: m.vjp(m.numpy.fft.ihfft, a)[1](c), (R, C[..., :3])),
]
# with padding: the same text but for the widths' spelling (see _int64_as_int)
PADDED_JAXPRS: list[tuple[str, Callable[[ModuleType], Fn], tuple[Any, ...]]] = [
    ("fft pad", lambda m: lambda a: m.numpy.fft.fft(a, n=8), (C,)),
    ("fft crop axis 0", lambda m: lambda a: m.numpy.fft.fft(a, n=2, axis=0), (C,)),
    ("rfft pad ortho", lambda m: lambda a: m.numpy.fft.rfft(a, 7, 1, "ortho"), (R,)),
    ("irfft n", lambda m: lambda a: m.numpy.fft.irfft(a, 7), (C,)),
    ("hfft n forward", lambda m: lambda a: m.numpy.fft.hfft(a, 5, norm="forward"), (C,)),
    ("fft2 s axes", lambda m: lambda a: m.numpy.fft.fft2(a, (2, 6), (0, 2)), (C,)),
    ("irfftn s", lambda m: lambda a: m.numpy.fft.irfftn(a, (5, 4, 6)), (C,)),
    ("vmap rfft2 s", lambda m: m.vmap(lambda a: m.numpy.fft.rfft2(a, s=(2, 6))), (R,)),
]


def _grad(m: ModuleType, f: Fn) -> Fn:
    return m.grad(f)  # type: ignore[no-any-return]  # jax's grad is untyped here


def _texts(make: Callable[[ModuleType], Fn], args: tuple[Any, ...]) -> tuple[str, str]:
    ours = str(refjax.make_jaxpr(make(refjax))(*args))
    j = jax.load()
    theirs = str(j.make_jaxpr(make(j))(*args))
    return ours, theirs


@pytest.mark.parametrize("case", JAXPRS, ids=[c[0] for c in JAXPRS])
def test_jaxpr_text_matches_jax(
    case: tuple[str, Callable[[ModuleType], Fn], tuple[Any, ...]]
) -> None:
    _, make, args = case
    ours, theirs = _texts(make, args)
    assert ours == theirs


@pytest.mark.parametrize("case", PADDED_JAXPRS, ids=[c[0] for c in PADDED_JAXPRS])
def test_padded_jaxpr_text_matches_jax(
    case: tuple[str, Callable[[ModuleType], Fn], tuple[Any, ...]]
) -> None:
    _, make, args = case
    ours, theirs = _texts(make, args)
    assert _int64_as_int(ours) == _int64_as_int(theirs)


# Under grad, JAX's ``real`` and ``abs`` transpose through a ``complex`` primitive that refjax
# writes as ``convert_element_type``: the named calls (fft, _rfft_transpose ...) still match.
GRAD_CALLS: list[tuple[str, Fn, np.ndarray]] = [
    ("rfft abs", lambda m, a: m.abs(m.fft.rfft(a)), R),
    ("fft real", lambda m, a: m.real(m.fft.fft(a, axis=0)), R),
    ("fftn axes abs", lambda m, a: m.abs(m.fft.fftn(a, axes=(1, 0))), C),
    ("ifft2 imag", lambda m, a: m.imag(m.fft.ifft2(a, norm="forward")), C),
    ("irfftn", lambda m, a: m.fft.irfftn(a), C),
    ("hfft", lambda m, a: m.fft.hfft(a), C),
    ("ihfft abs", lambda m, a: m.abs(m.fft.ihfft(a)), R),
    ("rfftn 4-d abs", lambda m, a: m.abs(m.fft.rfftn(a)), _real(2, 3, 2, 4)),
]


@pytest.mark.parametrize("case", GRAD_CALLS, ids=[c[0] for c in GRAD_CALLS])
def test_calls_under_grad_match_jax(case: tuple[str, Fn, np.ndarray]) -> None:
    _, f, x = case
    j = jax.load()
    ours = refjax.make_jaxpr(refjax.grad(lambda a: rnp.sum(f(rnp, a))))(x)
    theirs = j.make_jaxpr(j.grad(lambda a: jnp.sum(f(jnp, a))))(x)
    assert call_tree(ours) == call_tree(theirs)


# ---------------------------------------------------------------------------------------------
# Derivatives, batching and jit: JAX's values, and finite differences


@pytest.mark.parametrize("case", GRAD_CALLS, ids=[c[0] for c in GRAD_CALLS])
def test_grad_matches_jax(case: tuple[str, Fn, np.ndarray]) -> None:
    _, f, x = case
    ours = refjax.grad(lambda a: rnp.sum(f(rnp, a)))(x)
    theirs = jax.grad(lambda a: jnp.sum(f(jnp, a)))(x)
    assert_same(ours, theirs, tol=1e-4)


# every function with a length that pads or crops, a norm and an axis, in float64
GRAD_CHECKS: list[tuple[str, Fn, np.ndarray]] = [
    ("fft", lambda a: rnp.fft.fft(a, 6, 0, "ortho"), C2.astype(np.complex128)),
    ("ifft", lambda a: rnp.fft.ifft(a, 4, norm="forward"), C2.astype(np.complex128)),
    ("rfft", lambda a: rnp.fft.rfft(a, 7, 0), R2.astype(np.float64)),
    ("irfft", lambda a: rnp.fft.irfft(a, 9, norm="ortho"), C2.astype(np.complex128)),
    ("hfft", lambda a: rnp.fft.hfft(a, 5, 0), C2.astype(np.complex128)),
    ("ihfft", lambda a: rnp.fft.ihfft(a, 5), R2.astype(np.float64)),
    ("rfft2", lambda a: rnp.fft.rfft2(a, (3, 8), (1, 0)), R2.astype(np.float64)),
    ("irfftn", lambda a: rnp.fft.irfftn(a, (3, 5)), C2.astype(np.complex128)),
    ("fftn 4-d", lambda a: rnp.fft.fftn(a), _complex(2, 2, 3, 2).astype(np.complex128)),
    ("irfftn 4-d", lambda a: rnp.fft.irfftn(a), _complex(2, 2, 3, 2).astype(np.complex128)),
]


@pytest.mark.parametrize("case", GRAD_CHECKS, ids=[c[0] for c in GRAD_CHECKS])
def test_derivatives_match_finite_differences(case: tuple[str, Fn, np.ndarray]) -> None:
    _, f, x = case
    with enable_x64():
        check_grads(f, (x,), order=2, modes=("fwd", "rev"))


VMAPS: list[tuple[str, Fn, tuple[Any, ...], Any]] = [
    ("fft", lambda m, a: m.fft.fft(a), (C,), 1),
    ("rfft n", lambda m, a: m.fft.rfft(a, 6), (R,), 2),
    ("irfft2", lambda m, a: m.fft.irfft2(a), (C,), 0),
    ("ifftn axes", lambda m, a: m.fft.ifftn(a, axes=(1, 0)), (C,), 2),
    ("hfft", lambda m, a: m.fft.hfft(a, norm="ortho"), (C,), 1),
    ("fftshift", lambda m, a: m.fft.fftshift(a), (R,), 1),
]


@pytest.mark.parametrize("case", VMAPS, ids=[c[0] for c in VMAPS])
def test_vmap_matches_jax(case: tuple[str, Fn, tuple[Any, ...], Any]) -> None:
    _, f, args, in_axes = case
    ours = refjax.vmap(lambda *a: f(rnp, *a), in_axes=in_axes)(*args)
    theirs = jax.vmap(lambda *a: f(jnp, *a), in_axes=in_axes)(*args)
    assert_same(ours, theirs, tol=TOL32)


@pytest.mark.parametrize("case", TRANSFORMS[::4], ids=IDS[::4])
def test_jit_matches_jax(case: tuple[str, Fn, tuple[Any, ...]]) -> None:
    _, f, args = case
    ours = refjax.jit(lambda *a: f(rnp, *a))(*args)
    theirs = jax.jit(lambda *a: f(jnp, *a))(*args)
    assert_same(ours, theirs, tol=TOL32)


# ---------------------------------------------------------------------------------------------
# refjax.lax.fft: the transform types by name or member, casts, and its errors

LAX_CALLS: list[tuple[str, Fn, np.ndarray]] = [
    ("fft by name", lambda lx, a: lx.fft(a, "fft", (5,)), C),
    ("FFT by upper-case name", lambda lx, a: lx.fft(a, "FFT", (4, 5)), C),
    ("ifft by member", lambda lx, a: lx.fft(a, lx.FftType.IFFT, (3, 4, 5)), C),
    ("rfft", lambda lx, a: lx.fft(a, "rfft", (4, 5)), R),
    ("irfft", lambda lx, a: lx.fft(a, "IRFFT", (4, 8)), C),
    ("irfft odd", lambda lx, a: lx.fft(a, lx.FftType.IRFFT, (9,)), C),
    ("fft of real", lambda lx, a: lx.fft(a, "fft", (5,)), R),
    ("fft of int", lambda lx, a: lx.fft(a, "fft", (4,)), I),
    ("rfft of int", lambda lx, a: lx.fft(a, "rfft", (3, 4)), I),
    ("rfft of bool", lambda lx, a: lx.fft(a, "rfft", (4,)), I > 2),
    ("irfft of real", lambda lx, a: lx.fft(a, "irfft", (4, 8)), R),
    ("fft of float16", lambda lx, a: lx.fft(a, "fft", (5,)), R.astype(np.float16)),
    ("no lengths", lambda lx, a: lx.fft(a, "ifft", ()), R),
    ("no lengths rfft", lambda lx, a: lx.fft(a, "rfft", ()), I),
    ("numpy int lengths", lambda lx, a: lx.fft(a, "fft", (np.int64(5),)), C),
]


@pytest.mark.parametrize("case", LAX_CALLS, ids=[c[0] for c in LAX_CALLS])
def test_lax_fft_matches_jax(case: tuple[str, Fn, np.ndarray]) -> None:
    _, f, x = case
    j = jax.load()
    assert_same(f(lax, x), f(j.lax, x), tol=TOL32)
    ours = str(refjax.make_jaxpr(lambda a: f(lax, a))(x))
    theirs = str(j.make_jaxpr(lambda a: f(j.lax, a))(x))
    assert ours == theirs


LAX_ERRORS: list[tuple[str, Fn]] = [
    ("unhashable lengths", lambda lx: lx.fft(C, "fft", [5])),
    ("int type", lambda lx: lx.fft(C, 0, (5,))),
    ("unknown name", lambda lx: lx.fft(C, "dct", (5,))),
    ("lengths not the minor dims", lambda lx: lx.fft(C, "fft", (4,))),
    ("more lengths than dims", lambda lx: lx.fft(C2, "ifft", (1, 4, 6))),
    ("rfft of complex", lambda lx: lx.fft(C, "rfft", (5,))),
    ("rfft of float16", lambda lx: lx.fft(R.astype(np.float16), "rfft", (5,))),
    ("rfft lengths", lambda lx: lx.fft(R, "rfft", (6,))),
    ("irfft lengths", lambda lx: lx.fft(C, "irfft", (3, 8))),
]


@pytest.mark.parametrize("case", LAX_ERRORS, ids=[c[0] for c in LAX_ERRORS])
def test_lax_fft_errors_match_jax(case: tuple[str, Fn]) -> None:
    _, f = case
    assert_same_error(lambda: f(lax), lambda: f(jax.load().lax))


def test_fft_type_is_jaxs() -> None:
    """The enum's members and values, and the primitive's params, as JAX's."""
    theirs = jax.load().lax.FftType
    assert [(t.name, int(t)) for t in lax.FftType] == [(t.name, int(t)) for t in theirs]
    assert str(lax.FftType.IRFFT) == str(theirs.IRFFT) == "3"
    assert lax.fft_p.name == "fft"


def test_irfft_of_mismatched_lengths_fails_when_run() -> None:
    """XLA accepts the type, and rejects the program: the innermost axis must hold
    ``n // 2 + 1`` terms. Staging succeeds, evaluation raises (JAX: when compiling)."""
    staged = refjax.make_jaxpr(lambda a: lax.fft(a, "irfft", (12,)))(C)
    assert staged.out_avals[0].shape == (3, 4, 12)
    with pytest.raises(ValueError, match="IRFFT requires innermost dimension"):
        lax.fft(C, "irfft", (12,))
