"""jit's two dispatch paths: the fast path (positional plain arrays, no pytree work) and the
general one (pytrees, keyword and static arguments, any other leaf) make the same cache key for
the same signature, so they give the same results and trace as often, and as often as JAX.

A call is forced onto the general path by passing its leaves as instances of subclasses
(``ArrayImpl``, ``np.ndarray``, ``float``, ``int``): they have the same avals, but the fast path
takes only exact types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.numpy as rnp
from refjax import tree_util
from refjax.backends import base
from refjax.backends.base import ArrayImpl
from refjax.backends.numpy_backend import NumpyBackend
from tests.oracle import enable_x64, jax, jnp

# ---------------------------------------------------------------------------------------------
# Arguments, described by kind, made for refjax (plain or forced general) or for JAX


class _SubArray(ArrayImpl):
    __slots__ = ()


class _SubNd(np.ndarray):
    pass


class _SubFloat(float):
    pass


class _SubInt(int):
    pass


def make(kind: str, lib: str) -> Any:
    """An argument of ``kind`` for ``lib``: "refjax", "general" (refjax, off the fast path) or
    "jax"."""
    if kind == "dict":
        return {"a": make("np32", lib), "b": make("pyfloat", lib)}
    if kind == "list":
        return [make("rj32", lib), make("pyint", lib)]
    host: Any = {
        "np32": np.arange(3, dtype=np.float32),
        "np32b": np.arange(4, dtype=np.float32),
        "np64": np.arange(3, dtype=np.float64),
        "npi32": np.arange(3, dtype=np.int32),
        "np0d": np.array(2.0, np.float32),
        "npf32s": np.float32(2.0),
        "pyfloat": 2.0,
        "pyint": 3,
        "pybool": True,
    }.get(kind)
    if kind in ("rj32", "rjweak"):
        if lib == "jax":
            return jax.device_put(np.arange(3, dtype=np.float32)) if kind == "rj32" else (
                jax.jit(lambda v: v)(2.0)
            )
        x = refjax.device_put(np.arange(3, dtype=np.float32)) if kind == "rj32" else (
            refjax.jit(lambda v: v)(2.0)
        )
        return _SubArray(x.aval, x.buffer, x.backend) if lib == "general" else x
    assert host is not None or kind == "none", kind
    if lib != "general":
        return host
    if isinstance(host, np.ndarray):
        return host.view(_SubNd)
    if isinstance(host, np.generic):
        return np.asarray(host).view(_SubNd)  # a 0-d array: the same aval
    if type(host) is float:
        return _SubFloat(host)
    if type(host) is int:
        return _SubInt(host)
    return host  # bool (which cannot be subclassed), None


Call = tuple[tuple[str, ...], dict[str, str]]


def _args(call: Call, lib: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    pos, kw = call
    return tuple(make(k, lib) for k in pos), {n: make(k, lib) for n, k in kw.items()}


class Counted:
    """A function that counts its traces (a Python side effect) and returns ``out`` built from
    the sum of its leaves: one array, a tuple, a dict, or a mixed tree."""

    def __init__(self, out: str, lib: str) -> None:
        self.count, self.out, self.np = 0, out, rnp if lib != "jax" else jnp

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        total = sum(self.np.sum(leaf) for leaf in tree_util.tree_leaves((args, kwargs)))
        if self.out == "single":
            return total * 2.0
        if self.out == "tuple":
            return total, total * 2
        if self.out == "dict":
            return {"t": total, "u": [total + 1.0]}
        return (total, None, [total])


class Elementwise:
    """``v * 2 + 1``, counting its traces."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, v: Any) -> Any:
        self.count += 1
        return v * 2.0 + 1.0


def run_calls(calls: list[Call], lib: str, out: str = "single") -> tuple[int, list[Any]]:
    """The number of traces and the outputs of ``calls`` to one jitted ``Counted``."""
    fun = Counted(out, lib)
    jitted = jax.jit(fun) if lib == "jax" else refjax.jit(fun)
    outs = []
    for call in calls:
        args, kwargs = _args(call, lib)
        outs.append(jitted(*args, **kwargs))
    return fun.count, outs


def assert_same_outputs(got: list[Any], expected: list[Any]) -> None:
    for g, e in zip(got, expected, strict=True):
        g_leaves, g_tree = tree_util.tree_flatten(g)
        e_leaves, e_tree = tree_util.tree_flatten(e)
        assert g_tree == e_tree
        for a, b in zip(g_leaves, e_leaves, strict=True):
            assert a.dtype == b.dtype and a.weak_type == b.weak_type
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


SCENARIOS: dict[str, tuple[list[Call], int]] = {
    # name: (calls, how many traces)
    "same-array-repeated": ([(("np32",), {})] * 3, 1),
    "numpy-and-refjax-arrays-share": ([(("np32",), {}), (("rj32",), {}), (("np32",), {})], 1),
    "new-shape-and-dtype": ([(("np32",), {}), (("np32b",), {}), (("npi32",), {})], 3),
    "weak-python-float-vs-strong-array": (
        [(("pyfloat",), {}), (("np0d",), {}), (("pyfloat",), {}), (("np0d",), {})], 2
    ),
    "strong-array-then-weak-array": (
        [(("np0d",), {}), (("np0d",), {}), (("rjweak",), {}), (("rjweak",), {})], 2
    ),
    "numpy-scalar-and-0d-array-share": ([(("npf32s",), {}), (("np0d",), {})], 1),
    "python-float-and-weak-array-share": ([(("pyfloat",), {}), (("rjweak",), {})], 1),
    "python-int-float-bool": ([(("pyint",), {}), (("pyfloat",), {}), (("pybool",), {})], 3),
    "float64-array-canonicalised": ([(("np64",), {}), (("np32",), {})], 1),
    "two-positional": ([(("rj32", "pyfloat"), {}), (("np32", "pyfloat"), {})], 1),
    "positional-vs-keyword": (
        [(("rj32", "pyfloat"), {}), (("rj32",), {"b": "pyfloat"}), (("rj32",), {"b": "pyfloat"})],
        2,
    ),
    "keywords-in-any-order": (
        [((), {"a": "np32", "b": "pyint"}), ((), {"b": "pyint", "a": "rj32"})], 1
    ),
    "pytree-arguments": (
        [(("dict",), {}), (("dict",), {}), (("list",), {}), (("rj32", "pyint"), {})], 3
    ),
    "none-argument": ([(("np32", "none"), {}), (("np32", "none"), {}), (("np32",), {})], 2),
}


@pytest.mark.parametrize("out", ["single", "tuple", "dict", "mixed"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_fast_and_general_paths_agree(scenario: str, out: str) -> None:
    calls, traces = SCENARIOS[scenario]
    fast_count, fast_outs = run_calls(calls, "refjax", out)
    general_count, general_outs = run_calls(calls, "general", out)
    assert fast_count == general_count == traces
    assert_same_outputs(fast_outs, general_outs)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_trace_counts_match_jax(scenario: str) -> None:
    calls, traces = SCENARIOS[scenario]
    jax_count, jax_outs = run_calls(calls, "jax", "tuple")
    count, outs = run_calls(calls, "refjax", "tuple")
    assert count == jax_count == traces
    for got, expected in zip(outs, jax_outs, strict=True):
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype and a.weak_type == b.weak_type
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_paths_share_cache_entries(scenario: str) -> None:
    """Each call made on both paths, alternately, to one jitted function: no extra traces."""
    calls, traces = SCENARIOS[scenario]
    fun = Counted("single", "refjax")
    jitted = refjax.jit(fun)
    for call in calls:
        for lib in ("refjax", "general", "refjax"):
            args, kwargs = _args(call, lib)
            jitted(*args, **kwargs)
    assert fun.count == traces
    assert jitted._cache_size() == traces  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# The fast path does no pytree work


@pytest.fixture
def no_pytree_work(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """A switch that makes flattening and unflattening fail from then on (for cache hits)."""

    def forbid() -> None:
        def boom(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("pytree work on a cache hit")

        monkeypatch.setattr(tree_util, "tree_flatten", boom)
        monkeypatch.setattr(tree_util, "tree_unflatten", boom)
        monkeypatch.setattr(tree_util, "tree_structure", boom)

    yield forbid


def test_cache_hits_on_positional_plain_arguments_take_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Such a call never reaches the general path (which checks the static arguments)."""
    from refjax import api

    fun = Elementwise()
    jitted = refjax.jit(fun)
    two = refjax.jit(lambda a, b: (a * b, b))
    args = [refjax.device_put(np.ones(3, np.float32)), np.ones(3, np.float32), 2.0,
            np.float32(2.0), 3, True]
    expected = [jitted(a) for a in args] + [two(args[0], 2.0)]

    def general_path(statics: Any) -> None:
        raise AssertionError("the general path on a cache hit")

    monkeypatch.setattr(api, "_check_static", general_path)
    got = [jitted(a) for a in args] + [two(args[0], 2.0)]
    assert fun.count == 5  # 1-d float32 (twice), weak float, float32, weak int, bool
    for g, e in zip(tree_util.tree_leaves(got), tree_util.tree_leaves(expected), strict=True):
        assert g.aval == e.aval
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e))
    with pytest.raises(AssertionError, match="general path"):
        jitted({"a": args[0]})  # a pytree: the general path
    with pytest.raises(AssertionError, match="general path"):
        jitted(v=args[0])  # a keyword argument: the general path


def test_cache_hits_on_plain_arguments_flatten_nothing(
    no_pytree_work: Callable[[], None],
) -> None:
    x, xr = np.ones(3, np.float32), refjax.device_put(np.ones(3, np.float32))
    single = refjax.jit(lambda a, b: a * b)
    pair = refjax.jit(lambda a, b: (a + b, a - b))
    keywords = refjax.jit(lambda a, b: a - b)
    statics = refjax.jit(lambda a, n: a * n, static_argnums=1)
    calls: list[Callable[[], Any]] = [
        lambda: single(xr, 2.0),
        lambda: single(x, np.float32(3.0)),
        lambda: pair(xr, x),
        lambda: keywords(xr, b=x),
        lambda: keywords(a=x, b=1),
        lambda: statics(xr, 4),
    ]
    expected = [call() for call in calls]  # traced and compiled
    no_pytree_work()
    for call, want in zip(calls, expected, strict=True):
        got = call()
        for a, b in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,), strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_single_and_tuple_outputs_have_their_structure() -> None:
    x = np.arange(3, dtype=np.float32)
    assert isinstance(refjax.jit(lambda v: v + 1)(x), refjax.Array)
    for _ in range(2):  # the trace, then a cache hit
        pair = refjax.jit(lambda v: (v, v + 1))(x)
        assert type(pair) is tuple and len(pair) == 2
        one = refjax.jit(lambda v: (v,))(x)
        assert type(one) is tuple and len(one) == 1
        listed = refjax.jit(lambda v: [v])(x)
        assert type(listed) is list and len(listed) == 1
        assert refjax.jit(lambda v: ())(x) == ()
        assert refjax.jit(lambda v: None)(x) is None
    fn = refjax.jit(lambda v: {"a": v, "b": (v, None)})
    for _ in range(2):
        out = fn(x)
        assert set(out) == {"a", "b"} and out["b"][1] is None


# ---------------------------------------------------------------------------------------------
# What else the key holds: x64, static arguments (with their types), the backend


def test_x64_toggling_retraces_on_both_paths() -> None:
    for lib in ("refjax", "general"):
        fun = Counted("single", lib)
        jitted = refjax.jit(fun)
        x = make("np64", lib)
        f = make("pyfloat", lib)
        dtypes = [jitted(x).dtype, jitted(f).dtype]
        with enable_x64():
            dtypes += [jitted(x).dtype, jitted(f).dtype]
        dtypes += [jitted(x).dtype, jitted(f).dtype]
        assert fun.count == 4, lib
        assert dtypes == [np.float32] * 2 + [np.float64] * 2 + [np.float32] * 2, lib


def test_refjax_arrays_retrace_when_x64_toggles() -> None:
    fun = Counted("single", "refjax")
    jitted = refjax.jit(fun)
    xr = refjax.device_put(np.ones(3, np.float32))
    jitted(xr)
    with enable_x64():
        jitted(xr)
        jitted(xr)
    jitted(xr)
    assert fun.count == 2


@pytest.mark.parametrize("how", ["positional", "keyword"])
def test_static_arguments_are_keyed_by_type_and_value(how: str) -> None:
    """``1``, ``1.0`` and ``True`` are equal but trace separately, as JAX's strict type
    equality for static arguments."""
    x = np.arange(3, dtype=np.int32)
    traces = []

    def f(v: Any, n: Any) -> Any:
        traces.append(n)
        return v * n

    if how == "positional":
        jitted = refjax.jit(f, static_argnums=1)
        outs = [jitted(x, n) for n in (1, 1.0, True, 1, 1.0)]
    else:
        jitted = refjax.jit(f, static_argnames="n")
        outs = [jitted(x, n=n) for n in (1, 1.0, True, 1, 1.0)]
    assert traces == [1, 1.0, True]
    assert [o.dtype for o in outs] == [np.int32, np.float32, np.int32, np.int32, np.float32]
    expected = [jax.jit(f, static_argnums=1)(x, n).dtype for n in (1, 1.0, True)]
    assert [o.dtype for o in outs[:3]] == expected


def test_static_arguments_and_arrays_on_both_paths() -> None:
    for lib in ("refjax", "general"):
        fun = Counted("single", lib)

        def f(v: Any, n: int, fun: Counted = fun) -> Any:
            return fun(v) * n

        jitted = refjax.jit(f, static_argnums=1)
        outs = [jitted(make(k, lib), n) for k, n in [("np32", 2), ("rj32", 2), ("np32", 3)]]
        assert fun.count == 2, lib
        np.testing.assert_array_equal(np.asarray(outs[2]), 3 * 3.0 * 2)


@pytest.fixture
def twin_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[base.Backend]:
    """A second numpy backend, registered as ``twin`` (and removed after the test)."""

    class Twin(NumpyBackend):
        name = "twin"

    twin = Twin()
    monkeypatch.setitem(base._FACTORIES, "twin", lambda: twin)
    yield twin
    base._INSTANCES.pop("twin", None)


def test_the_default_backend_is_read_on_every_call(
    monkeypatch: pytest.MonkeyPatch, twin_backend: base.Backend
) -> None:
    monkeypatch.delenv(base.BACKEND_ENV, raising=False)
    fun = Elementwise()
    jitted = refjax.jit(fun)
    x = np.arange(3, dtype=np.float32)
    xr = refjax.device_put(x)
    numpy_backend = base.get_backend("numpy")
    assert jitted(xr).backend is numpy_backend
    monkeypatch.setenv(base.BACKEND_ENV, "twin")
    outs = [jitted(xr), jitted(xr), jitted(x)]  # a numpy-backend array is copied to the twin
    assert all(o.backend is twin_backend for o in outs)
    assert fun.count == 2
    monkeypatch.setenv(base.BACKEND_ENV, "")  # empty: the default, numpy
    assert jitted(xr).backend is numpy_backend
    monkeypatch.delenv(base.BACKEND_ENV)
    assert jitted(outs[0]).backend is numpy_backend  # and a twin array is copied back
    assert fun.count == 2
    np.testing.assert_array_equal(np.asarray(outs[2]), np.asarray(outs[0]))


def test_jit_under_other_transformations_reuses_the_entry() -> None:
    """Under grad, vmap and an outer jit the arguments are tracers of the same avals: the
    entry traced for the eager call is bound, not traced again (as in JAX)."""
    counts = []
    for lib in ("refjax", "jax"):
        api = refjax if lib == "refjax" else jax
        fun = Elementwise()
        jitted = api.jit(fun)
        x = np.arange(3, dtype=np.float32)
        np.testing.assert_array_equal(np.asarray(jitted(x)), x * 2 + 1)
        g = api.grad(lambda v, jitted=jitted: jitted(v).sum())(x)
        np.testing.assert_array_equal(np.asarray(g), 2.0)
        batched = api.vmap(jitted)(np.ones((2, 3), np.float32))  # rows of x's aval
        np.testing.assert_array_equal(np.asarray(batched), 3.0)
        outer = api.jit(lambda v, jitted=jitted: jitted(v) + 1.0)
        np.testing.assert_array_equal(np.asarray(outer(x)), x * 2 + 2)
        counts.append(fun.count)
    assert counts == [1, 1]


# ---------------------------------------------------------------------------------------------
# Errors are the general path's, whichever path a call starts on


def test_non_array_arguments_are_named() -> None:
    def f(x: Any, y: Any) -> Any:
        return x

    jitted = refjax.jit(f)
    xr = refjax.device_put(np.ones(3, np.float32))
    jitted(xr, 1.0)
    for bad in ("a string", object(), [1.0, "b"]):
        with pytest.raises(TypeError, match=r"(?s)at path y.*not marked as static"):
            jitted(xr, bad)
    with pytest.raises(TypeError, match=r"(?s)at path y.*not marked as static"):
        jitted(xr, y="a string")


def test_invalid_numpy_dtypes_raise_every_time() -> None:
    jitted = refjax.jit(lambda v: v)
    bad = np.array(["a", "b"])
    for _ in range(2):
        with pytest.raises(TypeError, match="not a valid JAX array type"):
            jitted(bad)
    np.testing.assert_array_equal(np.asarray(jitted(np.ones(2, np.float32))), 1.0)


def test_unhashable_static_arguments_raise_every_time() -> None:
    jitted = refjax.jit(lambda v, s: v, static_argnums=1)
    jitted(1.0, (1, 2))
    for _ in range(2):
        with pytest.raises(ValueError, match="Non-hashable static arguments"):
            jitted(1.0, [1, 2])


def test_disable_jit_bypasses_both_paths() -> None:
    fun = Counted("single", "refjax")
    jitted = refjax.jit(fun)
    x = np.ones(3, np.float32)
    jitted(x)
    refjax.config.update("jax_disable_jit", True)
    try:
        jitted(x)
        jitted(x, y=x)
    finally:
        refjax.config.update("jax_disable_jit", False)
    assert fun.count == 3
    jitted(x)
    assert fun.count == 3
