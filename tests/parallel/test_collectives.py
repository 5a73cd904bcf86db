"""Collectives under ``vmap(axis_name=)``, against real JAX (``jax.vmap`` with an axis name runs
on one CPU device): values, dtypes, weak types, errors, and the same programs under ``jit``,
``grad``, ``jvp`` and nested ``vmap``s; ``make_jaxpr`` text of the staged collectives."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.errors import assert_same_error
from tests.numpy.helpers import assert_same
from tests.oracle import jax

N = 4  # the size of the named axis
X = np.arange(N * N * 3, dtype=np.float32).reshape(N, N, 3) / 7 - 2  # N instances of (N, 3)
W = np.cos(np.arange(N * N * 3, dtype=np.float32)).reshape(N, N, 3)

Program = Callable[[ModuleType, Any], Any]  # (lax, x) -> one instance's result

PROGRAMS: dict[str, Program] = {
    "psum": lambda lax, x: lax.psum(x, "i"),
    "psum_tuple": lambda lax, x: lax.psum(x, ("i",)),
    "psum_positional": lambda lax, x: lax.psum(x, ("i", 1)),
    "pmean": lambda lax, x: lax.pmean(x, "i"),
    "pmax": lambda lax, x: lax.pmax(x, "i"),
    "pmin": lambda lax, x: lax.pmin(x, "i"),
    "all_gather": lambda lax, x: lax.all_gather(x, "i"),
    "all_gather_axis1": lambda lax, x: lax.all_gather(x, "i", axis=1),
    "all_gather_tiled": lambda lax, x: lax.all_gather(x, "i", axis=1, tiled=True),
    "psum_scatter": lambda lax, x: lax.psum_scatter(x, "i"),
    "psum_scatter_tiled": lambda lax, x: lax.psum_scatter(x, "i", tiled=True),
    "ppermute": lambda lax, x: lax.ppermute(x, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]),
    "pshuffle": lambda lax, x: lax.pshuffle(x, "i", [2, 0, 3, 1]),
    "all_to_all": lambda lax, x: lax.all_to_all(x, "i", 0, 0),
    "all_to_all_0_1": lambda lax, x: lax.all_to_all(x, "i", 0, 1),
    "all_to_all_tiled": lambda lax, x: lax.all_to_all(x, "i", 0, 1, tiled=True),
    "pswapaxes": lambda lax, x: lax.pswapaxes(x, "i", 0),
    "axis_index": lambda lax, x: x * lax.axis_index("i"),
    "axis_size": lambda lax, x: x * lax.axis_size("i") + lax.psum(1, "i"),
    "psum_constant": lambda lax, x: x + lax.psum(np.ones(3, np.float32), "i"),
    "psum_bool": lambda lax, x: lax.psum(x > 0, "i"),
    "psum_int": lambda lax, x: lax.psum((x * 3).astype(np.int32), "i"),
    "pmean_int": lambda lax, x: lax.pmean((x * 3).astype(np.int32), "i"),
    "pmax_int": lambda lax, x: lax.pmax((x * 3).astype(np.int32), "i"),
    "pytree": lambda lax, x: lax.psum({"a": x, "b": (x[0], 2.0)}, "i"),
}
LINEAR = ["psum", "psum_positional", "pmean", "all_gather", "all_gather_tiled", "psum_scatter",
          "psum_scatter_tiled", "ppermute", "pshuffle", "all_to_all", "all_to_all_tiled",
          "axis_index"]


def _lib(which: str) -> tuple[Any, ModuleType]:
    return (refjax, refjax.lax) if which == "ours" else (jax, jax.lax)


def _on(which: str, name: str, wrap: str) -> Any:
    api, lax = _lib(which)
    body = PROGRAMS[name]

    def f(x: Any) -> Any:
        return body(lax, x)

    x = X if wrap != "in_axes_1" else np.swapaxes(X, 0, 1)
    if wrap == "plain":
        return api.vmap(f, axis_name="i")(x)
    if wrap == "in_axes_1":
        return api.vmap(f, in_axes=1, axis_name="i")(x)
    if wrap == "jit_inside":
        return api.vmap(api.jit(f), axis_name="i")(x)
    if wrap == "jit_outside":
        return api.jit(api.vmap(f, axis_name="i"))(x)
    raise AssertionError(wrap)


@pytest.mark.parametrize("wrap", ["plain", "in_axes_1", "jit_inside", "jit_outside"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_collective_under_vmap_matches_jax(name: str, wrap: str) -> None:
    assert_same(_tree_leaves(_on("ours", name, wrap)), _tree_leaves(_on("jax", name, wrap)))


def _tree_leaves(x: Any) -> list[Any]:
    """The result's arrays (JAX's rules return some results as numpy arrays: made JAX's)."""
    leaves = refjax.tree_util.tree_leaves(x) if not hasattr(x, "shape") else [x]
    return [jax.numpy.asarray(v) if isinstance(v, np.ndarray) else v for v in leaves]


@pytest.mark.parametrize("name", LINEAR)
def test_grad_and_jvp_inside_vmap_match_jax(name: str) -> None:
    def run(which: str) -> Any:
        api, lax = _lib(which)

        def loss(x: Any, w: Any) -> Any:
            out = PROGRAMS[name](lax, x)
            return (out * out.sum()).sum() * w.sum() + (x * w).sum()

        grads = api.vmap(api.grad(loss), axis_name="i")(X, W)
        tangents = api.vmap(lambda x, t: api.jvp(lambda y: PROGRAMS[name](lax, y), (x,), (t,)),
                            axis_name="i")(X, W)
        outer = api.grad(lambda x: api.vmap(loss, axis_name="i")(x, W).sum())(X)
        return [grads, *tangents, outer]

    ours, theirs = run("ours"), run("jax")
    for o, t in zip(ours, theirs, strict=True):
        assert_same(o, _tree_leaves(t), tol=2e-5)


@pytest.mark.parametrize("name", LINEAR + ["all_to_all_0_1"])
def test_vjp_transposes_jvp_inside_vmap(name: str) -> None:
    """<ct, jvp(t)> == <vjp(ct), t>: also where JAX's own transpose fails (all_to_all with
    split_axis != concat_axis, which JAX transposes through its wrapper, to a wrong shape)."""
    lax = refjax.lax

    def both(x: Any, t: Any, ct: Any) -> Any:
        _, tangent = refjax.jvp(lambda y: PROGRAMS[name](lax, y), (x,), (t,))
        _, pullback = refjax.vjp(lambda y: PROGRAMS[name](lax, y), x)
        (cotangent,) = pullback(ct)
        return lax.psum((tangent * ct).sum(), "i"), lax.psum((cotangent * t).sum(), "i")

    out = refjax.vmap(lambda y: PROGRAMS[name](lax, y), axis_name="i")(X)
    ct = np.sin(np.arange(out.size, dtype=np.float32)).reshape(out.shape)
    forward, backward = refjax.vmap(both, axis_name="i")(X, W, ct)
    np.testing.assert_allclose(np.asarray(forward), np.asarray(backward), rtol=1e-5, atol=1e-5)


def test_grad_of_psum_times_x_inside_vmap_is_jaxs() -> None:
    def run(api: Any, lax: ModuleType) -> Any:
        return api.vmap(api.grad(lambda x: lax.psum(x, "i") * x), axis_name="i")(
            np.arange(3.0, dtype=np.float32))

    assert_same(run(refjax, refjax.lax), run(jax, jax.lax))


NESTED: dict[str, Program] = {
    "psum_both": lambda lax, x: lax.psum(x, ("i", "j")),
    "psum_outer": lambda lax, x: lax.psum(x, "i"),
    "pmax_inner": lambda lax, x: lax.pmax(x, "j"),
    "axis_index_both": lambda lax, x: x * lax.axis_index(("i", "j")),
    "axis_size_both": lambda lax, x: x * lax.axis_size(("i", "j")),
    "gather_outer": lambda lax, x: lax.all_gather(x, "i", axis=1),
    "gather_tiled_outer": lambda lax, x: lax.all_gather(x, "i", tiled=True),
    "scatter_outer": lambda lax, x: lax.psum_scatter(x, "i", scatter_dimension=1, tiled=True),
    "permute_outer": lambda lax, x: lax.ppermute(x, "i", [(0, 1), (1, 0)]),
    "all_to_all_outer": lambda lax, x: lax.all_to_all(x, "i", 1, 0),
    "jit_psum_both": lambda lax, x: _jit_of(lax)(lambda y: lax.psum(y, ("j", "i")))(x),
    "grad_psum_outer": lambda lax, x: _grad_of(lax)(lambda y: (lax.psum(y, "i") * y).sum())(x),
}


def _jit_of(lax: ModuleType) -> Any:
    return refjax.jit if lax is refjax.lax else jax.jit


def _grad_of(lax: ModuleType) -> Any:
    return refjax.grad if lax is refjax.lax else jax.grad


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_vmaps_with_two_names_match_jax(name: str) -> None:
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) - 5

    def run(which: str) -> Any:
        api, lax = _lib(which)
        inner = api.vmap(lambda y: NESTED[name](lax, y), axis_name="j")
        return api.vmap(inner, axis_name="i")(x)

    assert_same(run("ours"), _tree_leaves(run("jax")))


def test_inner_name_shadows_outer() -> None:
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)

    def run(api: Any, lax: ModuleType) -> Any:
        return api.vmap(api.vmap(lambda y: lax.psum(y, "i"), axis_name="i"), axis_name="i")(x)

    assert_same(run(refjax, refjax.lax), run(jax, jax.lax))


def test_jit_cache_tells_axis_sizes_apart() -> None:
    f = refjax.jit(lambda z: refjax.lax.all_gather(z, "i"))
    assert refjax.vmap(f, axis_name="i")(np.ones(3, np.float32)).shape == (3, 3)
    assert refjax.vmap(f, axis_name="i")(np.ones(4, np.float32)).shape == (4, 4)


def test_jit_with_unbatched_arguments_still_sees_the_axis() -> None:
    def run(api: Any, lax: ModuleType) -> Any:
        g = api.jit(lambda c: c + lax.axis_index("i"))
        return api.vmap(lambda x: g(np.float32(1.0)) + x, axis_name="i")(np.zeros(3, np.float32))

    assert_same(run(refjax, refjax.lax), run(jax, jax.lax))


def test_constant_psum_gives_python_scalars_as_jax() -> None:
    seen: dict[str, list[Any]] = {"ours": [], "jax": []}

    def run(which: str) -> None:
        api, lax = _lib(which)

        def f(x: Any) -> Any:
            seen[which].extend([lax.axis_size("i"), lax.psum(1.5, "i"), lax.pmean(1, "i")])
            return x

        api.vmap(f, axis_name="i")(np.zeros(4, np.float32))

    run("ours")
    run("jax")
    assert [(type(v), v) for v in seen["ours"]] == [(type(v), v) for v in seen["jax"]]


# ---------------------------------------------------------------------------------------------
# Errors


ERRORS: dict[str, Callable[[Any, ModuleType], Any]] = {
    "unbound_concrete": lambda api, lax: lax.psum(np.ones(2, np.float32), "i"),
    "unbound_axis_size": lambda api, lax: lax.axis_size("i"),
    "unbound_jit": lambda api, lax: api.jit(lambda x: lax.psum(x, "i"))(np.ones(2, np.float32)),
    "unbound_axis_index": lambda api, lax: lax.axis_index("i"),
    "unbound_pmax_jit": lambda api, lax: api.jit(lambda x: lax.pmax(x, "i"))(np.ones(2)),
    "other_name": lambda api, lax: api.vmap(lambda x: lax.psum(x, "j"), axis_name="i")(
        np.ones(2, np.float32)),
    "bad_shuffle": lambda api, lax: api.vmap(lambda x: lax.pshuffle(x, "i", [1, 1, 2, 3]),
                                             axis_name="i")(np.ones(4, np.float32)),
    "all_to_all_size": lambda api, lax: api.vmap(lambda x: lax.all_to_all(x, "i", 0, 0),
                                                 axis_name="i")(np.ones((4, 3), np.float32)),
    "all_to_all_tiled_size": lambda api, lax: api.vmap(
        lambda x: lax.all_to_all(x, "i", 0, 0, tiled=True), axis_name="i")(np.ones((4, 3))),
    "groups_cover": lambda api, lax: api.vmap(
        lambda x: lax.psum(x, "i", axis_index_groups=[[0, 1], [3]]), axis_name="i")(np.ones(4)),
    "groups_in_vmap": lambda api, lax: api.vmap(
        lambda x: lax.psum(x, "i", axis_index_groups=[[0, 1], [2, 3]]), axis_name="i")(
        np.ones(4, np.float32)),
    "groups_positional": lambda api, lax: lax.psum(np.ones(2), 0, axis_index_groups=[[0]]),
    "pmax_grad": lambda api, lax: api.vmap(api.grad(lambda x: lax.pmax(x, "i")),
                                           axis_name="i")(np.ones(3, np.float32)),
    "pcast_varying": lambda api, lax: lax.pcast(np.ones(2, np.float32), "i", to="varying"),
    "pcast_unreduced": lambda api, lax: lax.pcast(np.ones(2, np.float32), "i", to="unreduced"),
    "pcast_bad_to": lambda api, lax: lax.pcast(np.ones(2, np.float32), "i", to="bad"),
    "pcast_set": lambda api, lax: lax.pcast(np.ones(2, np.float32), {"i"}, to="varying"),
    "all_gather_to": lambda api, lax: lax.all_gather(np.ones(2), "i", to="nowhere"),
    "psum_positional_range": lambda api, lax: api.jit(lambda x: lax.psum(x, 3))(np.ones((2, 3))),
}


def _sorted_sets(text: str) -> str:
    """A message with every ``{'a', 'b'}`` set's items sorted (their order varies by process)."""
    return re.sub(r"\{([^{}]*)\}", lambda m: "{" + ", ".join(sorted(m[1].split(", "))) + "}",
                  text)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_jax(name: str) -> None:
    assert_same_error(lambda: ERRORS[name](refjax, refjax.lax), lambda: ERRORS[name](jax, jax.lax),
                      normalize=_sorted_sets)


def test_pcast_of_no_names_is_the_identity() -> None:
    x = refjax.numpy.ones(2)
    assert refjax.lax.pcast(x, (), to="varying") is x


def test_partial_ppermute_fills_zeros() -> None:
    """JAX's documented semantics (its vmap rule asserts a full permutation instead)."""
    x = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    out = refjax.vmap(lambda v: refjax.lax.ppermute(v, "i", [(0, 2), (3, 1)]), axis_name="i")(x)
    expected = np.zeros_like(x)
    expected[2], expected[1] = x[0], x[3]
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_bad_scatter_size_is_an_error() -> None:
    """JAX's abstract-eval error (its vmap rule returns a wrongly shaped result instead)."""
    with pytest.raises(ValueError, match="must match shard count 4"):
        refjax.vmap(lambda v: refjax.lax.psum_scatter(v, "i"), axis_name="i")(np.ones((4, 3)))


def test_psum_over_positional_axes_runs_eagerly() -> None:
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    assert_same(refjax.lax.psum(refjax.numpy.asarray(x), 1), jax.lax.psum(jax.numpy.asarray(x), 1))


# ---------------------------------------------------------------------------------------------
# Jaxprs


JAXPRS: dict[str, Program] = {
    "psum": lambda lax, x: lax.psum(x, "i"),
    "pmax": lambda lax, x: lax.pmax(x, ("i", "j")),
    "pmean": lambda lax, x: lax.pmean(x, "i"),
    "all_gather": lambda lax, x: lax.all_gather(x, "i", axis=1),
    "psum_scatter": lambda lax, x: lax.psum_scatter(x, "i", tiled=True),
    "ppermute": lambda lax, x: lax.ppermute(x, "i", [(0, 1), (1, 0)]),
    "all_to_all": lambda lax, x: lax.all_to_all(x, "i", 0, 0, tiled=True),
    "axis_index": lambda lax, x: x + lax.axis_index("i"),
    "positional": lambda lax, x: lax.psum(x, 0),
}


@pytest.mark.parametrize("name", sorted(JAXPRS))
def test_make_jaxpr_prints_collectives_as_jax(name: str) -> None:
    x = np.ones((2, 2), np.float32)
    env = [("i", 2), ("j", 3)]
    ours = refjax.make_jaxpr(lambda v: JAXPRS[name](refjax.lax, v), axis_env=env)(x)
    theirs = jax.make_jaxpr(lambda v: JAXPRS[name](jax.lax, v), axis_env=env)(x)
    assert str(ours) == str(theirs)


def test_batched_psum_jaxpr_is_jaxs() -> None:
    x = np.ones((3, 2), np.float32)
    ours = refjax.make_jaxpr(refjax.vmap(lambda v: refjax.lax.psum(v, "i") * v, axis_name="i"))
    theirs = jax.make_jaxpr(jax.vmap(lambda v: jax.lax.psum(v, "i") * v, axis_name="i"))
    assert str(ours(x)) == re.sub(r"np\.int64\((\d+)\)", r"\1", str(theirs(x)))  # JAX's quirk


def _control_flow(api: Any, lax: ModuleType) -> list[Any]:
    x = np.arange(12.0, dtype=np.float32).reshape(4, 3)

    def branchy(v: Any) -> Any:
        return lax.cond(v[0] > 3, lambda u: lax.psum(u, "i"),
                        lambda u: u * lax.axis_index("i"), v)

    def scanned(v: Any) -> Any:
        return lax.scan(lambda c, u: (c + lax.psum(u, "i"), lax.all_gather(u, "i")), 0.0, v)

    return [
        api.vmap(branchy, axis_name="i")(x),
        api.vmap(lambda v: lax.fori_loop(0, 3, lambda k, u: lax.pmean(u, "i") + u, v),
                 axis_name="i")(x),
        *api.vmap(scanned, axis_name="i")(x),
        *api.vmap(lambda v: api.jvp(lambda u: u * lax.axis_index("i"), (v,), (v,)),
                  axis_name="i")(x),
        api.vmap(api.jacfwd(lambda u: lax.psum(u * u, "i")), axis_name="i")(x),
        api.vmap(api.jacrev(lambda u: lax.all_gather(u, "i").sum(0)), axis_name="i")(x),
        api.vmap(api.checkpoint(lambda u: lax.psum(api.numpy.sin(u), "i")), axis_name="i")(x),
        api.vmap(lambda v: api.vmap(lambda w: lax.psum(w, "i"))(v), axis_name="i")(x),
    ]


def test_collectives_in_control_flow_and_derivatives_inside_vmap_match_jax() -> None:
    ours, theirs = _control_flow(refjax, refjax.lax), _control_flow(jax, jax.lax)
    for o, t in zip(ours, theirs, strict=True):
        assert_same(o, _tree_leaves(t)[0], tol=1e-5)


@pytest.mark.parametrize("tiled", [False, True])
@pytest.mark.parametrize("which", ["psum_scatter", "all_gather"])
def test_gather_and_scatter_over_an_outer_axis_keep_the_inner_batch_axis(
    which: str, tiled: bool
) -> None:
    """A collective over an enclosing vmap's axis inside a vmap batched *after* its dimension:
    an untiled scatter removes that dimension and an untiled gather adds one, moving the inner
    batch axis (JAX 0.10's own rule fails here with an IndexError; the reference is a loop)."""
    x = np.arange(2 * 2 * 5 * 3 * 4, dtype=np.float32).reshape(2, 2, 5, 3, 4)

    def op(v: Any) -> Any:
        if which == "psum_scatter":
            return refjax.lax.psum_scatter(v, "j", scatter_dimension=0, tiled=tiled)
        return refjax.lax.all_gather(v, "j", axis=0, tiled=tiled)

    inner = refjax.vmap(op, in_axes=2, out_axes=0)
    ours = np.asarray(refjax.vmap(inner, axis_name="j")(x))
    rows = []
    for j in range(2):
        per_i = []
        for i in range(3):
            slices = [x[k][:, :, i, :] for k in range(2)]  # each j's (2, 5, 4) slice at i
            if which == "psum_scatter":
                total = slices[0] + slices[1]
                per_i.append(total[j:j + 1].reshape(1, 5, 4) if tiled else total[j])
            else:
                per_i.append(np.concatenate(slices) if tiled else np.stack(slices))
        rows.append(np.stack(per_i))
    np.testing.assert_array_equal(ours, np.stack(rows))
