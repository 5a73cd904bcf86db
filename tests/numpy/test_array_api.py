"""``refjax.numpy`` as a Python array API namespace, against ``jax.numpy`` (JAX 0.10.2).

The inspection object (``__array_namespace_info__``: capabilities, devices, default dtypes,
dtypes by kind, with and without x64), the standard's signatures (``device=`` and ``copy=`` on
the creation functions, ``astype``, ``from_dlpack``, ``isdtype``), ``isdtype``'s kinds and
errors, the array methods ``to_device``, ``__array_namespace__``, ``__dlpack__`` and
``__dlpack_device__``, DLPack round trips with numpy and JAX, and a few functions the standard
names (``vecdot``, ``unstack``, ``unique_*``, ``cumulative_prod``). The external conformance
suite (data-apis/array-api-tests) runs with ``make array-api``, outside ``make test``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.errors import assert_same_error, raised
from tests.numpy.helpers import assert_same
from tests.oracle import enable_x64, jax, jnp

KINDS = [
    "bool",
    "signed integer",
    "unsigned integer",
    "integral",
    "real floating",
    "complex floating",
    "numeric",
]
DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip


def _device() -> refjax.Device:
    return refjax.devices()[0]


# ---------------------------------------------------------------------------------------------
# The namespace and its inspection object


def test_version_and_namespace_names() -> None:
    assert rnp.__array_api_version__ == jnp.__array_api_version__
    for name in ("__array_namespace_info__", "from_dlpack", "isdtype", "astype", "unstack",
                 "vecdot", "cumulative_prod", "unique_all", "unique_counts", "unique_inverse",
                 "unique_values", "linalg", "fft"):
        assert hasattr(rnp, name), name


@pytest.mark.parametrize("x64", [False, True])
def test_namespace_info_matches_jax(x64: bool) -> None:
    with enable_x64(x64):
        ours, theirs = rnp.__array_namespace_info__(), jnp.__array_namespace_info__()
        assert ours.capabilities() == theirs.capabilities()
        assert ours.default_device() is theirs.default_device() is None
        assert ours.default_dtypes() == theirs.default_dtypes()
        assert ours.default_dtypes(device=_device()) == theirs.default_dtypes()
        for kind in [None, *KINDS, ("bool", "complex floating"), ("signed integer",)]:
            assert ours.dtypes(kind=kind) == theirs.dtypes(kind=kind), kind
        assert ours.dtypes(device=_device()) == theirs.dtypes()


def test_namespace_info_devices_and_errors() -> None:
    info = rnp.__array_namespace_info__()
    assert info.devices() == [None, *refjax.devices()]  # None first, as JAX: "uncommitted"
    assert_same_error(lambda: info.dtypes(kind="floating"),
                      lambda: jnp.__array_namespace_info__().dtypes(kind="floating"),
                      expected=KeyError)


# ---------------------------------------------------------------------------------------------
# Signatures


# (jnp.array is left out: its positional ``copy`` goes through a deprecation wrapper, *args)
SIGNATURES = ["asarray", "arange", "empty", "empty_like", "eye", "full", "full_like",
              "linspace", "ones", "ones_like", "zeros", "zeros_like", "astype", "from_dlpack",
              "isdtype"]


@pytest.mark.parametrize("name", SIGNATURES)
def test_signature_as_jax(name: str) -> None:
    """Every parameter of JAX's (but its sharding one) with the same name, kind and default."""
    ours = inspect.signature(getattr(rnp, name)).parameters
    theirs = inspect.signature(getattr(jnp, name)).parameters
    expected = [(p.name, p.kind, p.default) for p in theirs.values() if p.name != "out_sharding"]
    assert [(p.name, p.kind, p.default) for p in ours.values()] == expected


def test_array_method_signatures() -> None:
    x, y = rnp.arange(3), jnp.arange(3)
    for method in ("to_device", "__array_namespace__", "__dlpack__", "__dlpack_device__"):
        ours = inspect.signature(getattr(x, method)).parameters
        theirs = inspect.signature(getattr(y, method)).parameters
        assert [(p.name, p.kind) for p in ours.values()] == [
            (p.name, p.kind) for p in theirs.values()
        ], method


# ---------------------------------------------------------------------------------------------
# device= and copy= on the creation functions, astype


CREATIONS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("array", lambda np_, d: np_.array([1.0, 2.0], device=d)),
    ("asarray", lambda np_, d: np_.asarray([1, 2], copy=True, device=d)),
    ("arange", lambda np_, d: np_.arange(1, 7, 2, device=d)),
    ("linspace", lambda np_, d: np_.linspace(0.0, 1.0, 5, device=d)),
    ("empty", lambda np_, d: np_.empty((2, 0), "int32", device=d)),
    ("zeros", lambda np_, d: np_.zeros((2, 3), device=d)),
    ("ones", lambda np_, d: np_.ones(3, "int8", device=d)),
    ("full", lambda np_, d: np_.full((2,), 7, device=d)),
    ("eye", lambda np_, d: np_.eye(3, 4, k=1, device=d)),
    ("zeros_like", lambda np_, d: np_.zeros_like(np.ones(2, np.int16), device=d)),
    ("ones_like", lambda np_, d: np_.ones_like(np.ones(2, np.float32), device=d)),
    ("empty_like", lambda np_, d: np_.empty_like(np.ones((2, 1)), shape=(3,), device=d)),
    ("full_like", lambda np_, d: np_.full_like(np.ones(2, np.uint8), 3, device=d)),
    ("astype", lambda np_, d: np_.astype(np_.arange(3), "float32", copy=True, device=d)),
    ("fftfreq", lambda np_, d: np_.fft.fftfreq(5, 0.5, device=d)),
    ("rfftfreq", lambda np_, d: np_.fft.rfftfreq(6, device=d)),
]


@pytest.mark.parametrize(("name", "make"), CREATIONS, ids=[c[0] for c in CREATIONS])
def test_creation_with_device(name: str, make: Callable[[Any, Any], Any]) -> None:
    for ours_device, their_device in [(None, None), (_device(), jax.devices()[0])]:
        ours, theirs = make(rnp, ours_device), make(jnp, their_device)
        assert_same(ours, theirs)
        assert ours.device == _device()


def test_device_under_jit_is_ignored_for_traced_values() -> None:
    f = refjax.jit(lambda x: rnp.zeros(3, device=_device()) + rnp.asarray(x, device=_device()))
    g = jax.jit(lambda x: jnp.zeros(3, device=jax.devices()[0]) + x)
    assert_same(f(2.0), g(2.0))


def test_eye_clips_a_python_int_offset() -> None:
    with enable_x64():
        for k in (2**63, -(2**70), 2**31):
            assert_same(rnp.eye(3, k=k), jnp.eye(3, k=k))
            assert_same(rnp.eye(0, None, k=k), jnp.eye(0, None, k=k))


# ---------------------------------------------------------------------------------------------
# isdtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_isdtype_kinds(dtype: str) -> None:
    kinds: list[Any] = [*KINDS, ("bool", "real floating"), ("complex floating",), np.float32,
                        "int8", (np.int64, "unsigned integer")]
    for kind in kinds:
        assert rnp.isdtype(np.dtype(dtype), kind) == jnp.isdtype(np.dtype(dtype), kind), kind
    assert rnp.isdtype(getattr(rnp, dtype), "numeric") == jnp.isdtype(getattr(jnp, dtype),
                                                                       "numeric")


def test_isdtype_errors() -> None:
    for bad, expected in [("floating", ValueError), (3, TypeError), (("bool", 3), TypeError)]:
        assert_same_error(lambda b=bad: rnp.isdtype(np.float32, b),
                          lambda b=bad: jnp.isdtype(np.float32, b), expected=expected)


# ---------------------------------------------------------------------------------------------
# The array methods


def test_to_device_and_array_namespace() -> None:
    x = rnp.arange(4.0)
    moved = x.to_device(_device())
    assert_same(moved, jnp.arange(4.0).to_device(jax.devices()[0]))
    assert moved.device == _device()
    assert x.__array_namespace__() is rnp
    assert x.__array_namespace__(api_version=rnp.__array_api_version__) is rnp
    assert_same_error(lambda: x.to_device(_device(), stream=1),
                      lambda: jnp.arange(4.0).to_device(jax.devices()[0], stream=1),
                      expected=NotImplementedError)
    assert_same_error(lambda: x.__array_namespace__(api_version="2023.12"),
                      lambda: jnp.arange(4.0).__array_namespace__(api_version="2023.12"),
                      expected=ValueError)


def test_to_device_of_a_tracer() -> None:
    f = refjax.jit(lambda x: x.to_device(_device()) * 2)
    assert_same(f(rnp.ones(2)), jax.jit(lambda x: x.to_device(jax.devices()[0]) * 2)(jnp.ones(2)))


def test_dlpack_device() -> None:
    ours, theirs = rnp.ones(2).__dlpack_device__(), jnp.ones(2).__dlpack_device__()
    assert tuple(map(int, ours)) == tuple(map(int, theirs)) == (1, 0)  # kDLCPU, device 0


class _Exporter:
    """An object exporting ``x``'s DLPack capsule with fixed keyword arguments."""

    def __init__(self, x: refjax.Array, **kwargs: Any) -> None:
        self.x, self.kwargs = x, kwargs

    def __dlpack__(self, **_: Any) -> object:
        return self.x.__dlpack__(**self.kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.x.__dlpack_device__()


@pytest.mark.parametrize("dtype", DTYPES)
def test_dlpack_round_trips(dtype: str) -> None:
    with enable_x64():
        value = (np.arange(6).reshape(2, 3) % 2).astype(dtype)
        x = rnp.asarray(value)
        np.testing.assert_array_equal(np.from_dlpack(x), value)  # numpy reads ours
        np.testing.assert_array_equal(np.asarray(jnp.from_dlpack(x)), value)  # so does JAX
        for source in (value, x, jnp.asarray(value)):
            assert_same(rnp.from_dlpack(source), jnp.from_dlpack(source))
        for kwargs in [{}, {"max_version": (1, 0)}, {"max_version": (1, 0), "copy": True},
                       {"max_version": (1, 0), "copy": False, "dl_device": (1, 0)}]:
            np.testing.assert_array_equal(np.from_dlpack(_Exporter(x, **kwargs)), value)


def test_dlpack_exports_never_let_the_array_change() -> None:
    x = rnp.arange(3.0)
    shared = np.from_dlpack(_Exporter(x, max_version=(1, 0)))  # the buffer, flagged read-only
    assert not shared.flags.writeable
    for kwargs in [{}, {"max_version": (1, 0), "copy": True}]:  # DLPack 0.x, or asked: a copy
        copied = np.from_dlpack(_Exporter(x, **kwargs))
        assert not np.shares_memory(copied, np.asarray(x))
        np.testing.assert_array_equal(copied, [0.0, 1.0, 2.0])


def test_from_dlpack_copies_unless_told_not_to() -> None:
    host = np.arange(3.0, dtype=np.float32)
    copied, shared = rnp.from_dlpack(host), rnp.from_dlpack(host, copy=False)
    host[0] = 5.0
    np.testing.assert_array_equal(np.asarray(copied), [0.0, 1.0, 2.0])
    if refjax.default_backend() == "numpy":  # kernel backends copy to the device anyway
        np.testing.assert_array_equal(np.asarray(shared), [5.0, 1.0, 2.0])
    y = rnp.from_dlpack(rnp.ones(2), device=_device())
    assert y.device == _device()


def test_from_dlpack_errors() -> None:
    assert_same_error(lambda: rnp.from_dlpack([1, 2]), lambda: jnp.from_dlpack([1, 2]),
                      expected=TypeError)
    err = raised(lambda: rnp.ones(2).__dlpack__(dl_device=(2, 0)), BufferError)
    assert "CPU" in str(err)


# ---------------------------------------------------------------------------------------------
# Functions the standard names


def test_standard_functions_match_jax() -> None:
    with enable_x64():
        a = np.array([[3, 1, 3], [2, 1, 2]], np.int8)
        b = np.array([[1, 2, 3], [4, 5, 6]], np.int8)
        for name in ("unique_all", "unique_counts", "unique_inverse", "unique_values"):
            assert_same(tuple(getattr(rnp, name)(a)) if name != "unique_values"
                        else getattr(rnp, name)(a),
                        tuple(getattr(jnp, name)(a)) if name != "unique_values"
                        else getattr(jnp, name)(a))
        assert_same(rnp.vecdot(a, b), jnp.vecdot(a, b))
        assert_same(rnp.linalg.vecdot(a, b, axis=0), jnp.linalg.vecdot(a, b, axis=0))
        assert_same(rnp.unstack(a, axis=1), jnp.unstack(a, axis=1))
        assert_same(rnp.cumulative_prod(a, axis=1, include_initial=True),
                    jnp.cumulative_prod(a, axis=1, include_initial=True))


def test_complex_expm1_on_the_real_axis() -> None:
    inf, nan = np.inf, np.nan
    z = np.array([complex(-0.0, 0.0), complex(0.0, -0.0), complex(inf, 0.0), complex(nan, 0.0),
                  complex(-inf, 0.0), complex(nan, 1.0), complex(1.0, 2.0)], np.complex64)
    ours, theirs = np.asarray(rnp.expm1(z)), np.asarray(jnp.expm1(z))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_array_equal(np.signbit(ours.real), np.signbit(theirs.real))
    np.testing.assert_array_equal(np.signbit(ours.imag), np.signbit(theirs.imag))
    jitted = np.asarray(refjax.jit(rnp.expm1)(z))
    np.testing.assert_array_equal(np.signbit(jitted.real), np.signbit(theirs.real))
