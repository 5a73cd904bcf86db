"""Shared checks for the tests of the ``jax.numpy`` functions of part A (set operations,
counting and binning, partial sorts and selections, editing, numerical routines, function
application): refjax against real JAX, eagerly, under ``jit``, ``grad`` and ``vmap``, and the
named calls of their jaxprs.

``rnp`` is ``refjax.numpy`` with the new modules' functions (``refjax/numpy/setops.py``,
``histograms.py``, ``searching.py``, ``editing.py``, ``numerical.py``, ``functional.py``)
looked up there until ``refjax/numpy/__init__.py`` exports them; ``check``, ``check_grad``,
``check_vmap`` and ``check_calls`` take ``f(module, *args)`` as ``tests.numpy.helpers.check``
does and run it on ``rnp`` and on ``jax.numpy``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

import refjax
import refjax.errors
import refjax.numpy as _refjax_numpy
from refjax.numpy import editing, functional, histograms, numerical, searching, setops
from tests.errors import raised
from tests.numpy.helpers import assert_same, call_tree, jax, jnp, leaves

__all__ = ["check", "check_calls", "check_grad", "check_jit", "check_vmap", "jax", "jnp",
           "normalized_calls", "rnp"]

_MODULES: tuple[ModuleType, ...] = (setops, histograms, searching, editing, numerical, functional)


class _Extended:
    """``refjax.numpy``, and the part-A functions from their modules."""

    def __getattr__(self, name: str) -> Any:
        if hasattr(_refjax_numpy, name):
            return getattr(_refjax_numpy, name)
        for module in _MODULES:
            if name in module.__all__:
                return getattr(module, name)
        raise AttributeError(name)


rnp: Any = _Extended()

Fn = Callable[..., Any]


def check(f: Fn, *args: Any, tol: float | None = None) -> Any:
    """``f(rnp, *args)`` matches ``f(jax.numpy, *args)``: values, shapes, dtypes and weak
    types; or both raise, refjax the class JAX raises."""
    try:
        theirs = f(jnp, *args)
    except Exception as err:  # any JAX error must be mirrored
        raised(lambda: f(rnp, *args), _our_class(err))
        return None
    ours = f(rnp, *args)
    assert_same(ours, theirs, tol)
    return ours


def _our_class(err: Exception) -> type[BaseException]:
    """The class refjax raises where JAX raises ``err``: JAX's own error classes
    (``jax.errors.ConcretizationTypeError`` ...) are refjax.errors' namesakes."""
    cls = type(err)
    if cls.__module__.startswith("jax"):
        ours: type[BaseException] = getattr(refjax.errors, cls.__name__)
        return ours
    return cls


def check_jit(f: Fn, *args: Any, tol: float | None = None) -> None:
    """As :func:`check`, with ``f`` under each library's ``jit`` (arrays as arguments)."""
    check(lambda m, *a: (refjax if m is rnp else jax.load()).jit(lambda *b: f(m, *b))(*a),
          *args, tol=tol)


def _scalar_loss(m: Any, f: Fn) -> Fn:
    def loss(*args: Any) -> Any:
        return sum(m.sum(m.asarray(o, dtype=np.float32)) for o in leaves(f(m, *args)))

    return loss


def check_grad(f: Fn, *args: Any, argnums: int = 0, tol: float = 1e-5) -> None:
    """refjax's gradient of the sum of ``f``'s outputs matches JAX's (or both raise alike)."""
    j = jax.load()
    try:
        theirs = j.grad(_scalar_loss(jnp, f), argnums=argnums)(*args)
    except Exception as err:
        raised(lambda: refjax.grad(_scalar_loss(rnp, f), argnums=argnums)(*args),
               _our_class(err))
        return
    ours = refjax.grad(_scalar_loss(rnp, f), argnums=argnums)(*args)
    assert_same(ours, theirs, tol)


def check_vmap(f: Fn, *args: Any, tol: float | None = None) -> None:
    """refjax's ``vmap`` of ``f`` over the leading axis of every argument matches JAX's vmap,
    and a Python loop over refjax's unbatched calls."""
    ours = refjax.vmap(lambda *a: f(rnp, *a))(*args)
    theirs = jax.load().vmap(lambda *a: f(jnp, *a))(*args)
    assert_same(ours, theirs, tol)
    rows = [leaves(f(rnp, *(a[i] for a in args))) for i in range(np.shape(args[0])[0])]
    for k, leaf in enumerate(leaves(ours)):
        looped = np.stack([np.asarray(row[k]) for row in rows])
        np.testing.assert_allclose(np.asarray(leaf), looped, rtol=tol or 1e-6, atol=tol or 1e-6)


def normalized_calls(tree: Any) -> Any:
    """A :func:`call_tree` with the bodies of ``searchsorted`` calls dropped: JAX 0.10's is a
    hijax primitive's three nested ``_searchsorted_scan_impl`` calls, refjax's one call (the
    difference ``tests/numpy/test_jit_wrappers.py`` records), so functions that search
    (``digitize``, the histograms, ``interp``) compare on everything else."""
    if isinstance(tree, list):
        return [normalized_calls(t) for t in tree]
    if isinstance(tree, tuple) and len(tree) == 4:
        name, ins, outs, body = tree
        return (name, ins, outs, [] if name == "searchsorted" else normalized_calls(body))
    if isinstance(tree, tuple) and len(tree) == 2:
        return (tree[0], normalized_calls(tree[1]))
    return tree


def _tree_or_error(thunk: Callable[[], Any]) -> Any:
    try:
        return normalized_calls(call_tree(thunk()))
    except Exception as err:
        return type(err).__name__


def check_calls(f: Fn, *args: Any,
                transform: Callable[[Any, Fn], Fn] = lambda m, g: g) -> None:
    """``make_jaxpr`` of ``transform(module, f(module, ...))`` shows the same named calls
    (names, operand and result types, nesting) in refjax as in JAX, or both fail alike."""
    j = jax.load()
    ours = _tree_or_error(lambda: refjax.make_jaxpr(
        transform(refjax, lambda *a: f(rnp, *a)))(*args))
    theirs = _tree_or_error(lambda: j.make_jaxpr(transform(j, lambda *a: f(jnp, *a)))(*args))
    assert ours == theirs
