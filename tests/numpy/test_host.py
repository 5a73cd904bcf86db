"""``jnp.block``, ``einsum_path`` and the host-side functions (print options, files, buffers)
against real JAX and numpy."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from tests.numpy.helpers import assert_same, check, jax, jnp

_A = np.arange(4.0, dtype=np.float32).reshape(2, 2)
_B = np.ones((2, 3), np.float32)
_C = np.full((1, 2), 2, np.int32)
_D = np.full((1, 3), 3.0, np.float32)
_V = np.arange(3, dtype=np.float32)


@pytest.mark.parametrize("blocks", [
    lambda: _A,
    lambda: [_V, _V],
    lambda: [[_A, _B], [_C, _D]],
    lambda: [[_V], [_V]],
    lambda: [[[np.ones((1, 2, 3), np.float32)] * 3] * 4] * 2,
    lambda: [np.float32(1.0), 2.0, _V],
    lambda: [],
    lambda: [[_A], _A],
    lambda: (_A, _A),
    lambda: [[_A, _B], [_B, _B]],
], ids=["array", "list", "nested", "columns", "3d", "scalars", "empty", "depths", "tuple",
        "mismatch"])
def test_block_matches_jax(blocks: Any) -> None:
    check(lambda np_: np_.block(blocks()))


def test_block_under_jit_and_grad_matches_jax() -> None:
    def loss(np_: Any, a: Any, b: Any) -> Any:
        return np_.sum(np_.sin(np_.block([[a, b], [b, a]])) * np_.arange(16.0).reshape(4, 4))

    a = np.linspace(0.0, 1.0, 4, dtype=np.float32).reshape(2, 2)
    b = np.linspace(-1.0, 0.5, 4, dtype=np.float32).reshape(2, 2)
    ours = refjax.jit(refjax.grad(lambda a, b: loss(rnp, a, b), argnums=(0, 1)))(a, b)
    expected = jax.jit(jax.grad(lambda a, b: loss(jax.numpy, a, b), argnums=(0, 1)))(a, b)
    assert_same(ours, expected)


def test_einsum_path_is_a_valid_path_einsum_and_numpy_accept() -> None:
    rng = np.random.default_rng(0)
    x, y, z = rng.random((2, 3)), rng.random((3, 50)), rng.random((50, 5))
    path, info = rnp.einsum_path("ij,jk,kl", x, y, z)
    assert all(len(step) == 2 for step in path) and len(path) == 2
    assert "ij,jk,kl->il" in str(info)
    expected = np.einsum("ij,jk,kl", x, y, z)
    np.testing.assert_allclose(np.einsum("ij,jk,kl", x, y, z, optimize=["einsum_path", *path]),
                               expected)
    np.testing.assert_allclose(np.asarray(rnp.einsum("ij,jk,kl", x, y, z, optimize=path)),
                               expected, rtol=1e-5)
    # JAX's (opt_einsum's) path for the same operands is accepted too
    jax_path, _ = jnp.einsum_path("ij,jk,kl", x, y, z, optimize="optimal")
    np.testing.assert_allclose(np.asarray(rnp.einsum("ij,jk,kl", x, y, z, optimize=jax_path)),
                               expected, rtol=1e-5)


@pytest.mark.parametrize("path", [[(0, 1)], [(0, 0), (0, 1)], [(0, 5), (0, 1)],
                                  [(0, 1, 2)]])
def test_einsum_with_a_bad_path_raises(path: Any) -> None:
    ops = [np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))]
    with pytest.raises(ValueError, match="einsum path"):
        rnp.einsum("ij,jk,kl", *ops, optimize=path)


def test_frombuffer_and_fromstring_match_jax() -> None:
    data = np.arange(6, dtype=np.int16).tobytes()
    check(lambda np_: np_.frombuffer(data, dtype=np.int16))
    check(lambda np_: np_.frombuffer(data, dtype=np.uint8, count=4, offset=2))
    check(lambda np_: np_.frombuffer(data))  # float64 by default: narrowed without x64
    check(lambda np_: np_.fromstring("1 2 3", dtype=int, sep=" "))
    check(lambda np_: np_.fromstring("0.5,0.25", sep=","))


@pytest.mark.parametrize("name", ["fromfile", "fromiter"])
def test_fromfile_and_fromiter_raise_as_in_jax(name: str) -> None:
    with pytest.raises(NotImplementedError, match=f"jnp.{name}"):
        getattr(rnp, name)(iter([1, 2]))
    with pytest.raises(NotImplementedError):
        getattr(jnp, name)(iter([1, 2]))


def test_save_and_load_round_trip_as_in_jax() -> None:
    x = rnp.arange(5.0) * 1.5
    buf = io.BytesIO()
    rnp.save(buf, x)
    buf.seek(0)
    loaded = rnp.load(buf)
    assert isinstance(loaded, refjax.Array)
    np.testing.assert_array_equal(np.asarray(loaded), np.arange(5.0, dtype=np.float32) * 1.5)
    buf = io.BytesIO()
    rnp.savez(buf, a=x)
    buf.seek(0)
    archive = rnp.load(buf)
    np.testing.assert_array_equal(archive["a"], np.asarray(x))


def test_print_options_apply_to_printed_arrays() -> None:
    x = rnp.array([1.0 / 3.0])
    with rnp.printoptions(precision=2):
        assert rnp.get_printoptions()["precision"] == 2
        assert "0.33" in repr(x) and "0.333" not in repr(x)
        assert rnp.array_str(x) == np.array_str(np.asarray(x))
    assert rnp.get_printoptions() == np.get_printoptions()
    assert "0.33333334" in rnp.array_repr(x)


def test_numpy_names_are_numpys_as_in_jax() -> None:
    for name in ("ComplexWarning", "object_", "array_repr", "array_str", "save", "savez"):
        assert getattr(rnp, name) is getattr(jnp, name)


def test_numpy_conversion_copies_when_asked_as_jax_does() -> None:
    for module in (rnp, jnp):
        x = module.arange(3.0)
        view = np.asarray(x)
        if view.flags.writeable:  # a host copy of a device buffer: writing to it changes nothing
            view[1] = 7.0
        np.testing.assert_array_equal(np.asarray(x), [0.0, 1.0, 2.0])
        copied = np.array(x, copy=True)
        assert copied.flags.writeable and not np.shares_memory(view, copied)
        copied[0] = 5.0
        np.testing.assert_array_equal(np.asarray(x), [0.0, 1.0, 2.0])
        assert np.asarray(x, dtype=np.float16).dtype == np.float16
