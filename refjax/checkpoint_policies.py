"""``jax.checkpoint_policies``: which intermediates of a ``checkpoint``-ed function a backward
pass may save instead of recomputing.

A policy is called as ``policy(prim, *avals, **params)`` and answers whether that primitive's
result is saveable. refjax records the policy on the ``remat2`` equation (so jaxprs show it, as
JAX's do) and recomputes everything whatever it answers: on the interpreter saving is only a
memory/time trade, not a difference in values. The functions have JAX's names and arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "checkpoint_dots",
    "checkpoint_dots_with_no_batch_dims",
    "dots_saveable",
    "dots_with_no_batch_dims_saveable",
    "everything_saveable",
    "nothing_saveable",
    "offload_dot_with_no_batch_dims",
    "save_and_offload_only_these_names",
    "save_any_names_but_these",
    "save_anything_except_these_names",
    "save_from_both_policies",
    "save_only_these_names",
]

Policy = Callable[..., bool]


def everything_saveable(*_: Any, **__: Any) -> bool:
    """Save every intermediate (no recomputation)."""
    return True


def nothing_saveable(*_: Any, **__: Any) -> bool:
    """Save nothing: recompute every intermediate (the default)."""
    return False


def dots_saveable(prim: Any, *_: Any, **__: Any) -> bool:
    """Save the results of matrix products."""
    return getattr(prim, "name", None) == "dot_general"


checkpoint_dots = dots_saveable


def dots_with_no_batch_dims_saveable(prim: Any, *_: Any, **params: Any) -> bool:
    """Save the results of matrix products without batch dimensions."""
    if getattr(prim, "name", None) != "dot_general":
        return False
    (_, _), (lhs_batch, rhs_batch) = params["dimension_numbers"]
    return not lhs_batch and not rhs_batch


checkpoint_dots_with_no_batch_dims = dots_with_no_batch_dims_saveable


def _names(prim: Any, params: dict[str, Any]) -> str | None:
    """The name a ``checkpoint_name`` gave a value (refjax has no names: None)."""
    return params.get("name") if getattr(prim, "name", None) == "name" else None


def save_only_these_names(*names_which_can_be_saved: str) -> Policy:
    """Save only the values named (with ``checkpoint_name``) in ``names_which_can_be_saved``."""
    names = set(names_which_can_be_saved)

    def policy(prim: Any, *_: Any, **params: Any) -> bool:
        return _names(prim, params) in names

    return policy


def save_any_names_but_these(*names_not_to_save: str) -> Policy:
    """Save every named value except those in ``names_not_to_save``."""
    names = set(names_not_to_save)

    def policy(prim: Any, *_: Any, **params: Any) -> bool:
        name = _names(prim, params)
        return name is not None and name not in names

    return policy


def save_anything_except_these_names(*names_not_to_save: str) -> Policy:
    """Save everything except the values named in ``names_not_to_save``."""
    names = set(names_not_to_save)

    def policy(prim: Any, *_: Any, **params: Any) -> bool:
        return _names(prim, params) not in names

    return policy


def save_from_both_policies(policy_1: Policy, policy_2: Policy) -> Policy:
    """Save what either policy saves."""

    def policy(prim: Any, *args: Any, **params: Any) -> bool:
        return bool(policy_1(prim, *args, **params) or policy_2(prim, *args, **params))

    return policy


def save_and_offload_only_these_names(
    *, names_which_can_be_saved: Iterable[str], names_which_can_be_offloaded: Iterable[str],
    offload_src: str, offload_dst: str,
) -> Policy:
    """Save the named values (offloading has no meaning on the interpreter: offloaded names
    count as saved)."""
    return save_only_these_names(*names_which_can_be_saved, *names_which_can_be_offloaded)


def offload_dot_with_no_batch_dims(offload_src: str, offload_dst: str) -> Policy:
    """Save matrix products without batch dimensions (offloading has no meaning here)."""
    return dots_with_no_batch_dims_saveable
