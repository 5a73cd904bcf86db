"""``pmap`` and ``shard_map`` against real JAX with 4 host devices (``tests/conftest.py``), and
refjax's numpy backend with 4 virtual CPU devices: values, placement, errors, the same programs
under ``grad``/``jit``/``vmap``, and ``vmap(axis_name=)`` == ``pmap`` == ``shard_map`` on one
program; ``jit`` with ``in_shardings``/``out_shardings``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from refjax.backends import base
from refjax.backends.numpy_backend import NumpyBackend
from tests.errors import assert_same_error
from tests.oracle import jax

N = 4
X = (np.arange(N * 8, dtype=np.float32).reshape(N, 8) / 5 - 2)
Y = np.cos(np.arange(N * 8, dtype=np.float32)).reshape(N, 8)


@pytest.fixture(autouse=True)
def four(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """refjax's default backend with 4 devices (numpy unless REFJAX_BACKEND says otherwise)."""
    if jax.device_count() != 4:
        pytest.skip("real JAX started without 4 host devices (XLA_FLAGS set elsewhere)")
    monkeypatch.setenv("REFJAX_NUM_CPU_DEVICES", "4")
    if base._default_name() == "numpy":
        monkeypatch.setitem(base._INSTANCES, "numpy", NumpyBackend())
    elif len(refjax.devices()) < N:
        pytest.skip(f"the kernel backend has fewer than {N} devices (OpenCL: "
                    "test_opencl_sub_devices.py runs these programs on 2 sub-devices)")
    yield


def _lib(which: str) -> tuple[Any, ModuleType]:
    return (refjax, refjax.lax) if which == "ours" else (jax, jax.lax)


def _mesh(which: str, shape: tuple[int, ...], names: tuple[str, ...]) -> Any:
    api, _ = _lib(which)
    devices = np.array(api.devices()[: int(np.prod(shape))], dtype=object).reshape(shape)
    return api.sharding.Mesh(devices, names)


def _close(ours: Any, theirs: Any, tol: float = 1e-5) -> None:
    ol, tl = refjax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ol) == len(tl)
    for o, t in zip(ol, tl, strict=True):
        assert np.shape(o) == np.shape(t) and np.asarray(o).dtype == np.asarray(t).dtype
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------
# Programs over one named axis 'i' of size 4: (lax, x, y) -> one instance's result

Program = Callable[[ModuleType, Any, Any], Any]
PROGRAMS: dict[str, Program] = {
    "no_collective": lambda lax, x, y: x * y + 1,
    "psum": lambda lax, x, y: lax.psum(x * y, "i"),
    "pmean": lambda lax, x, y: lax.pmean(x, "i") - x,
    "pmax": lambda lax, x, y: lax.pmax(x, "i") + lax.pmin(y, "i"),
    "all_gather": lambda lax, x, y: lax.all_gather(x, "i"),
    "all_gather_tiled": lambda lax, x, y: lax.all_gather(x, "i", tiled=True),
    "psum_scatter": lambda lax, x, y: lax.psum_scatter(x[:4], "i"),
    "psum_scatter_tiled": lambda lax, x, y: lax.psum_scatter(x[:4] * y[:4], "i", tiled=True),
    "ppermute": lambda lax, x, y: lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]),
    "pshuffle": lambda lax, x, y: lax.pshuffle(x, "i", [2, 0, 3, 1]),
    "all_to_all": lambda lax, x, y: lax.all_to_all(x[:4].reshape(4, 1), "i", 0, 1),
    "all_to_all_tiled": lambda lax, x, y: lax.all_to_all(x[:4], "i", 0, 0, tiled=True),
    "axis_index": lambda lax, x, y: x * lax.axis_index("i") + lax.axis_size("i"),
    "psum_positional": lambda lax, x, y: lax.psum(x, ("i", 0)),
    "mixed": lambda lax, x, y: lax.psum(x * lax.ppermute(y, "i", [(i, (i + 1) % 4)
                                                                  for i in range(4)]), "i"),
}
DIFFERENTIABLE = ["no_collective", "psum", "pmean", "all_gather", "psum_scatter_tiled",
                  "ppermute", "mixed"]


def _pmap(which: str, name: str, wrap: str = "plain") -> Any:
    api, lax = _lib(which)
    body = PROGRAMS[name]
    f = api.pmap(lambda x, y: body(lax, x, y), axis_name="i")
    if wrap == "plain":
        return f(X, Y)
    if wrap == "jit":
        return api.jit(f)(X, Y)
    if wrap == "grad":
        return api.grad(lambda x, y: (f(x, y) ** 2).sum(), argnums=(0, 1))(X, Y)
    if wrap == "vmap":
        return api.vmap(f)(np.stack([X, Y]), np.stack([Y, X]))
    if wrap == "pmap_of_grad":
        g = api.grad(lambda x, y: (body(lax, x, y) ** 2).sum())
        return api.pmap(g, axis_name="i")(X, Y)
    raise AssertionError(wrap)


@pytest.mark.parametrize("name", PROGRAMS)
def test_pmap_matches_jax(name: str) -> None:
    _close(_pmap("ours", name), _pmap("theirs", name))


@pytest.mark.parametrize("name", ["psum", "all_gather", "ppermute", "axis_index", "mixed"])
@pytest.mark.parametrize("wrap", ["jit", "vmap"])
def test_pmap_under_jit_and_vmap(name: str, wrap: str) -> None:
    _close(_pmap("ours", name, wrap), _pmap("theirs", name, wrap))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("wrap", ["grad", "pmap_of_grad"])
def test_pmap_gradients(name: str, wrap: str) -> None:
    _close(_pmap("ours", name, wrap), _pmap("theirs", name, wrap), 2e-4)


def test_pmap_places_one_shard_per_device() -> None:
    y = refjax.pmap(lambda x: x * 2)(X)
    assert y.devices() == set(refjax.devices())
    assert y.sharding.spec == refjax.sharding.PartitionSpec(y.sharding.mesh.axis_names[0])
    z = refjax.pmap(lambda x: x + 1, devices=refjax.devices()[1:3])(X[:2])
    assert {d.id for d in z.devices()} == {1, 2}


def _pmap_options(which: str) -> list[Any]:
    api, lax = _lib(which)
    return [
        api.pmap(lambda x, n: x * n, static_broadcasted_argnums=1)(X, 3),
        api.pmap(lambda x, y: x + y, in_axes=(0, None))(X, Y[0]),
        api.pmap(lambda x: (x, lax.psum(x.sum(), "i")), "i", out_axes=(1, 0))(X),
        api.pmap(lambda x: x * 2, in_axes=1)(X.T),
        api.pmap(lambda d: d["a"] - d["b"][0])({"a": X, "b": (Y,)}),
        api.pmap(api.vmap(lambda x: lax.psum(x, "v") * lax.axis_index("i"), axis_name="v"),
                 "i")(X.reshape(4, 2, 4)),
        api.vmap(api.pmap(lambda x: lax.psum(x, ("i", "v")), "i"), axis_name="v")(
            X.reshape(1, 4, 8)),
    ]


def test_pmap_options_match_jax() -> None:
    _close(_pmap_options("ours"), _pmap_options("theirs"))


def test_nested_pmap_equals_nested_vmap() -> None:
    """JAX 0.10 cannot nest pmaps (its shard_map rewrite rejects the inner mesh); refjax runs
    the inner one per outer shard, against nested vmaps with the same names."""
    lax = refjax.lax

    def f(x: Any) -> Any:
        return lax.psum(x, ("i", "j")) * lax.axis_index("j") + lax.all_gather(x, "i").sum(0)

    x = X.reshape(2, 2, 8)
    ours = refjax.pmap(refjax.pmap(f, "j"), "i", devices=refjax.devices()[:2])(x)
    by_vmap = refjax.vmap(refjax.vmap(f, axis_name="j"), axis_name="i")(x)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(by_vmap), rtol=1e-6)


@pytest.mark.parametrize("case", ["too_many", "in_axes_tree", "unbound"])
def test_pmap_errors(case: str) -> None:
    def call(which: str) -> Any:
        api, lax = _lib(which)
        if case == "too_many":
            return api.pmap(lambda x: x)(np.ones((8, 2)))
        if case == "in_axes_tree":
            return api.pmap(lambda x: x, in_axes=(0, 0))(X)
        return api.pmap(lambda x: lax.psum(x, "j"), axis_name="i")(X)

    expected: type[Exception] = NameError if case == "unbound" else ValueError
    if case == "unbound":
        assert_same_error(lambda: call("ours"), lambda: call("theirs"), expected=expected)
    else:  # JAX 0.10 fails inside its shard_map rewrite; refjax says what is wrong
        with pytest.raises(expected):
            call("theirs")
        with pytest.raises(expected):
            call("ours")


# ---------------------------------------------------------------------------------------------
# shard_map over 1-D and 2-D meshes


def _specs_cases(P: Any) -> dict[str, Any]:  # noqa: N803  # as JAX users name it
    """name -> (mesh shape, names, in_specs, out_specs, body(lax, x, y))."""
    return {
        "1d_rows": ((4,), ("i",), (P("i"), P("i")), P("i"), lambda lax, x, y: x * y),
        "1d_psum": ((4,), ("i",), (P("i"), P()), P(), lambda lax, x, y: lax.psum(x, "i") + y),
        "1d_cols": ((4,), ("i",), (P(None, "i"), P()), P(None, "i"),
                    lambda lax, x, y: x * y[:, :1]),
        "1d_gather": ((4,), ("i",), (P("i"), P("i")), P("i"),
                      lambda lax, x, y: lax.all_gather(x, "i", tiled=True) * 1.0),
        "2d_both": ((2, 2), ("a", "b"), (P("a", "b"), P("a", "b")), P("a", "b"),
                    lambda lax, x, y: x + lax.axis_index("a") * 10 + lax.axis_index("b")),
        "2d_tuple": ((2, 2), ("a", "b"), (P(("a", "b")), P()), P(("b", "a")),
                     lambda lax, x, y: x * y[0, 0]),
        "2d_psum_a": ((2, 2), ("a", "b"), (P("a", "b"), P()), P(None, "b"),
                      lambda lax, x, y: lax.psum(x, "a")),
        "2d_psum_ab": ((2, 2), ("a", "b"), (P("a", "b"), P()), P(),
                       lambda lax, x, y: lax.psum(x, ("a", "b")) + y[:2, :4]),
        "2d_ppermute": ((2, 2), ("a", "b"), (P("a", "b"), P()), P("a", "b"),
                        lambda lax, x, y: lax.ppermute(x, "b", [(0, 1), (1, 0)])),
        "2d_invariant_psum": ((2, 2), ("a", "b"), (P(), P()), P(),
                              lambda lax, x, y: lax.psum(y, "a")),
    }


def _shard_map(which: str, name: str, wrap: str = "plain") -> Any:
    api, lax = _lib(which)
    shape, names, in_specs, out_specs, body = _specs_cases(api.sharding.PartitionSpec)[name]
    mesh = _mesh(which, shape, names)
    f = api.shard_map(lambda x, y: body(lax, x, y), mesh=mesh, in_specs=in_specs,
                      out_specs=out_specs)
    if wrap == "plain":
        return f(X, Y)
    if wrap == "jit":
        return api.jit(f)(X, Y)
    if wrap == "grad":
        return api.grad(lambda x, y: (f(x, y) ** 2).sum(), argnums=(0, 1))(X, Y)
    if wrap == "vmap":
        return api.vmap(f, in_axes=(0, None))(np.stack([X, -X]), Y)
    raise AssertionError(wrap)


SHARD_CASES = list(_specs_cases(refjax.sharding.PartitionSpec))


@pytest.mark.parametrize("name", SHARD_CASES)
@pytest.mark.parametrize("wrap", ["plain", "jit", "grad", "vmap"])
def test_shard_map_matches_jax(name: str, wrap: str) -> None:
    _close(_shard_map("ours", name, wrap), _shard_map("theirs", name, wrap), 2e-4)


def test_shard_map_output_sharding_matches_jax() -> None:
    ours, theirs = _shard_map("ours", "2d_tuple"), _shard_map("theirs", "2d_tuple")
    assert repr(ours.sharding) == repr(theirs.sharding)
    assert ours.devices() == set(refjax.devices())


def _replication_error(which: str, how: str) -> Any:
    api, lax = _lib(which)
    P = api.sharding.PartitionSpec
    mesh = _mesh(which, (2, 2), ("a", "b"))
    bodies: dict[str, tuple[Any, Any]] = {
        "varying": (lambda x: x, P()),
        "half": (lambda x: lax.psum(x, "a"), P()),
        "index": (lambda x: x * 0 + lax.axis_index("b"), P("a")),
    }
    body, out = bodies[how]
    return api.shard_map(body, mesh=mesh, in_specs=P("a", "b"), out_specs=out)(X)


@pytest.mark.parametrize("how", ["varying", "half", "index"])
def test_replication_check_matches_jax(how: str) -> None:
    assert_same_error(lambda: _replication_error("ours", how),
                      lambda: _replication_error("theirs", how), expected=ValueError,
                      normalize=_without_function_name)


def _without_function_name(text: str) -> str:
    """The error without the function's name (JAX names its own wrapper of a lambda) and the
    note JAX appends about its filtered traceback."""
    text = re.sub(r"the function '[^']*'", "the function", text)
    return text.split("\n--------------------")[0]


def test_check_vma_false_takes_a_replica() -> None:
    def run(which: str) -> Any:
        api, lax = _lib(which)
        P = api.sharding.PartitionSpec
        mesh = _mesh(which, (4,), ("i",))
        return api.shard_map(lambda x: lax.psum(x, "i"), mesh=mesh, in_specs=P("i"),
                             out_specs=P(), check_vma=False)(X)

    _close(run("ours"), run("theirs"))


# ---------------------------------------------------------------------------------------------
# One program three ways: vmap(axis_name=) == pmap == shard_map


@pytest.mark.parametrize("name", ["psum", "all_gather", "ppermute", "axis_index", "mixed",
                                  "all_to_all"])
def test_vmap_pmap_shard_map_agree(name: str) -> None:
    body = PROGRAMS[name]
    lax, P = refjax.lax, refjax.sharding.PartitionSpec

    def f(x: Any, y: Any) -> Any:
        return body(lax, x, y)

    by_vmap = refjax.vmap(f, axis_name="i")(X, Y)
    by_pmap = refjax.pmap(f, axis_name="i")(X, Y)
    mesh = _mesh("ours", (4,), ("i",))
    by_shard_map = refjax.shard_map(
        lambda x, y: refjax.numpy.expand_dims(f(x[0], y[0]), 0), mesh=mesh,
        in_specs=(P("i"), P("i")), out_specs=P("i"))(X, Y)
    np.testing.assert_allclose(np.asarray(by_vmap), np.asarray(by_pmap), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(by_vmap), np.asarray(by_shard_map), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# jit with shardings, device_put with a NamedSharding


def _jit_shardings(which: str) -> list[str]:
    api, _ = _lib(which)
    P, NS = api.sharding.PartitionSpec, api.sharding.NamedSharding
    mesh = _mesh(which, (2, 2), ("a", "b"))
    rows, cols = NS(mesh, P("a")), NS(mesh, P(None, ("b", "a")))
    one = api.sharding.SingleDeviceSharding(api.devices()[3])
    out = [*api.jit(lambda x, y: (x * 2, y + 1), out_shardings=(rows, cols))(X, Y),
           api.jit(lambda x: x.sum(), out_shardings=one)(X)]
    put = api.device_put(X, NS(mesh, P(("a", "b"), None)))
    inp = api.jit(lambda x: x - 1, in_shardings=NS(mesh, P(None, "b")))(X)
    return [f"{np.asarray(v).tolist()} {sorted(d.id for d in v.devices())} {v.sharding!r}"
            for v in [*out, put]] + [str(np.asarray(inp).tolist())]


def test_jit_shardings_match_jax() -> None:
    assert _jit_shardings("ours") == _jit_shardings("theirs")


def test_addressable_shards_hold_their_blocks() -> None:
    P, NS = refjax.sharding.PartitionSpec, refjax.sharding.NamedSharding
    mesh = _mesh("ours", (2, 2), ("a", "b"))
    y = refjax.device_put(X, NS(mesh, P("a", "b")))
    theirs = jax.device_put(X, jax.sharding.NamedSharding(_mesh("theirs", (2, 2), ("a", "b")),
                                                          jax.sharding.PartitionSpec("a", "b")))
    ours_blocks = {s.device.id: np.asarray(s.data) for s in y.addressable_shards}
    their_blocks = {s.device.id: np.asarray(s.data) for s in theirs.addressable_shards}
    assert ours_blocks.keys() == their_blocks.keys()
    for k, v in ours_blocks.items():
        np.testing.assert_array_equal(v, their_blocks[k])
        assert next(s for s in y.addressable_shards if s.device.id == k).data.devices() == {
            refjax.devices()[k]}


def test_make_mesh() -> None:
    mesh = refjax.make_mesh((2, 2), ("a", "b"))
    assert mesh.shape == jax.make_mesh((2, 2), ("a", "b")).shape
    assert [d.id for d in mesh.devices.flat] == [0, 1, 2, 3]
