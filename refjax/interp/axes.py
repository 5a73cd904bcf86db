"""Named axes: the axis environment that collectives read, and which primitives use which names.

``vmap(f, axis_name='i')`` (and later ``pmap``/``shard_map``) binds a name to a size while ``f``
runs; collectives (``psum(x, 'i')``, ``axis_index('i')``) look the name up here, in a
``ContextVar`` of frames (the innermost frame of a name shadows outer ones), so the name stays
visible wherever ``f``'s primitives are traced -- inside a ``jit`` body staged under the ``vmap``
too, as JAX's ``core.extend_axis_env_nd``. A jaxpr that was staged there may mention the name:
:func:`uses_axis` tells a batch trace that such an equation needs its rule even when no operand
is batched.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from refjax.interp.core import (
    Jaxpr,
    Params,
    Primitive,
    ShapedArray,
    jaxprs_in_params,
    ordered_axes,
    vma_rules,
)

AxisName: TypeAlias = Hashable


@dataclass(frozen=True, slots=True)
class AxisFrame:
    """A named axis bound by a mapping transformation: its name and size."""

    name: AxisName
    size: int


_axis_env: contextvars.ContextVar[tuple[AxisFrame, ...]] = contextvars.ContextVar(
    "refjax_axis_env", default=()
)


class extend_axis_env:  # noqa: N801  # a context manager, named as JAX's
    """``with extend_axis_env(name, size):`` binds ``name`` to ``size`` for the block."""

    __slots__ = ("frame", "token")

    def __init__(self, name: AxisName, size: int) -> None:
        self.frame = AxisFrame(name, size)

    def __enter__(self) -> AxisFrame:
        self.token = _axis_env.set((*_axis_env.get(), self.frame))
        return self.frame

    def __exit__(self, *exc: object) -> None:
        _axis_env.reset(self.token)


def axis_frames() -> tuple[AxisFrame, ...]:
    """The bound named axes, outermost first."""
    return _axis_env.get()


def axis_exists(name: AxisName) -> bool:
    """Whether ``name`` is bound."""
    return any(f.name == name for f in _axis_env.get())


def axis_size(name: AxisName) -> int:
    """The size bound to ``name`` (innermost binding); JAX's NameError if it is unbound."""
    for frame in reversed(_axis_env.get()):
        if frame.name == name:
            return frame.size
    raise NameError(f"unbound axis name: {name}")


def check_axis_names(names: Iterable[AxisName], api_name: str) -> None:
    """JAX's NameError for a named (non-integer) axis among ``names`` that is not bound."""
    for name in names:
        if not isinstance(name, int) and not axis_exists(name):
            raise NameError(
                f"Found an unbound axis name: {name}. To fix this, please call {api_name} "
                "under `jax.shard_map`."
            )


# ---------------------------------------------------------------------------------------------
# Which axis names an equation uses

# rule(params) -> the axis names a collective acts over (registered next to each collective)
AxisNamesRule: TypeAlias = Callable[[Params], tuple[AxisName, ...]]
axis_names_rules: dict[Primitive, AxisNamesRule] = {}


def uses_axis(prim: Primitive, params: Params, name: AxisName) -> bool:
    """Whether an equation of ``prim`` acts over the axis ``name``: a collective over it, or a
    higher-order primitive whose jaxpr params hold one."""
    rule = axis_names_rules.get(prim)
    if rule is not None:
        return name in rule(params)
    return any(jaxpr_uses_axis(j, name) for j in jaxprs_in_params(params))


@functools.lru_cache(maxsize=512)
def jaxpr_uses_axis(jaxpr: Jaxpr, name: AxisName) -> bool:
    """Whether an equation of ``jaxpr`` (or of a jaxpr nested in one) acts over ``name``."""
    return any(uses_axis(eqn.primitive, eqn.params, name) for eqn in jaxpr.eqns)


# ---------------------------------------------------------------------------------------------
# Varying manual axes (JAX 0.10's ``vma``): inside a ``shard_map`` body traced with
# ``check_vma=True``, an aval says which of the mesh's axes its value varies over. Values that
# meet in one primitive are first cast to the union of their axes by ``pvary`` (a no-op cast from
# invariant to varying, as JAX inserts it); the rules of ``pvary`` live with the collectives.

pvary_p = Primitive("pvary")

_vma_axes: contextvars.ContextVar[frozenset[AxisName]] = contextvars.ContextVar(
    "refjax_vma_axes", default=frozenset()
)


class track_vma:  # noqa: N801  # a context manager, as ``extend_axis_env``
    """``with track_vma(names):`` types values by the manual axes ``names`` they vary over."""

    __slots__ = ("names", "token")

    def __init__(self, names: Iterable[AxisName]) -> None:
        self.names = frozenset(names)

    def __enter__(self) -> None:
        self.token = _vma_axes.set(_vma_axes.get() | self.names)

    def __exit__(self, *exc: object) -> None:
        _vma_axes.reset(self.token)


def vma_axes() -> frozenset[AxisName]:
    """The manual axes whose varying values are typed now (empty outside ``shard_map``)."""
    return _vma_axes.get()


def join_vma(prim: Primitive, avals: Sequence[ShapedArray],
             params: Params) -> list[tuple[AxisName, ...]]:
    """For each operand of ``prim``, the axes ``pvary`` must add so that all vary over the same
    axes (JAX's ``auto_insert_reshard``); empty where nothing is to add. Primitives with their
    own vma rule (collectives) and higher-order ones (their bodies are typed) take operands as
    they are."""
    if prim in vma_rules or jaxprs_in_params(params):
        return [()] * len(avals)
    union = frozenset().union(*(a.vma for a in avals))
    return [ordered_axes(union - a.vma) for a in avals]
