"""``jax.tree``: the pytree functions under short names (``refjax.tree.map`` is
:func:`refjax.tree_util.tree_map`, the same object), and :func:`static` for dataclass fields.

As in JAX, this module only renames: every function here is the one in :mod:`refjax.tree_util`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from refjax.tree_util import tree_all as all  # noqa: A004 (jax.tree.all, as JAX names it)
from refjax.tree_util import tree_broadcast as broadcast
from refjax.tree_util import tree_flatten as flatten
from refjax.tree_util import tree_flatten_with_path as flatten_with_path
from refjax.tree_util import tree_leaves as leaves
from refjax.tree_util import tree_leaves_with_path as leaves_with_path
from refjax.tree_util import tree_map as map  # noqa: A004 (jax.tree.map)
from refjax.tree_util import tree_map_with_path as map_with_path
from refjax.tree_util import tree_reduce as reduce
from refjax.tree_util import tree_reduce_associative as reduce_associative
from refjax.tree_util import tree_structure as structure
from refjax.tree_util import tree_transpose as transpose
from refjax.tree_util import tree_unflatten as unflatten

__all__ = [
    "all",
    "broadcast",
    "flatten",
    "flatten_with_path",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "reduce",
    "reduce_associative",
    "static",
    "structure",
    "transpose",
    "unflatten",
]


def static(**kwargs: Any) -> Any:
    """A ``dataclasses.field`` marked static (``metadata={"static": True}``), so that
    :func:`refjax.tree_util.register_dataclass` keeps it as node data, not a child; the other
    arguments are ``dataclasses.field``'s."""
    metadata = {"static": True, **(kwargs.pop("metadata", {}) or {})}
    return dataclasses.field(metadata=metadata, **kwargs)
