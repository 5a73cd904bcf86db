"""Pytrees: nested containers of leaves, flattened to a list and a structure (``jax.tree_util``).

A pytree node is ``None`` (no children), a ``tuple``, ``list`` or ``dict`` (children in sorted-key
order), a namedtuple, or a type registered with :func:`register_pytree_node` (``OrderedDict`` and
``defaultdict`` come registered, as in JAX). Anything else is a leaf. Only exact types count: a
subclass of ``dict`` that is not itself registered is a leaf.

A :class:`PyTreeDef` is the structure without the leaves: a tree of immutable nodes, hashable and
compared by node types, node data (dict keys, custom aux data) and children, so it can key caches.

Open ``core.py`` first: the registry of node types, ``PyTreeDef``, ``tree_flatten`` and
``tree_unflatten``, on which the rest is built. The other modules each hold one topic, and each
imports only those listed before it:

- ``structure.py``: reading a structure -- ``PyTreeDef.flatten_up_to`` with its per-kind checks
  and JAX's error messages, the text of a ``PyTreeDef``'s repr, ``compose``, ``node_data`` and
  ``flatten_one_level``. (``core.py``'s ``PyTreeDef`` methods import it when called.)
- ``paths.py``: key paths -- the key classes (``SequenceKey``, ``DictKey``, ``GetAttrKey``,
  ``FlattenedIndexKey``), ``keystr``, ``tree_flatten_with_path``, ``flatten_one_level_with_keys``.
- ``prefix.py``: one tree as a prefix of another -- ``broadcast_prefix``, ``tree_broadcast``, and
  the errors locating where a tree is not a prefix, as JAX words them.
- ``derived.py``: functions derived from flattening -- ``tree_map``, ``tree_map_with_path``,
  ``tree_reduce``, ``tree_all``, ``tree_transpose``, ``all_leaves``, ``is_tree_node``, the
  ``treedef_*`` functions.
- ``registration.py``: ``register_pytree_node`` and its variants, ``register_dataclass``,
  ``register_static``; ``OrderedDict`` and ``defaultdict`` are registered there.

This file only gathers the public names, so ``refjax.tree_util.X`` is the whole API.
"""

from __future__ import annotations

from refjax.tree_util.core import IsLeaf as IsLeaf
from refjax.tree_util.core import (
    KeyEntry,
    PyTree,
    PyTreeDef,
    tree_flatten,
    tree_leaves,
    tree_structure,
    tree_unflatten,
)
from refjax.tree_util.core import T as T
from refjax.tree_util.derived import (
    all_leaves,
    is_tree_node,
    tree_all,
    tree_map,
    tree_map_with_path,
    tree_reduce,
    tree_reduce_associative,
    tree_transpose,
    treedef_children,
    treedef_is_leaf,
    treedef_tuple,
)
from refjax.tree_util.paths import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    KeyPath,
    SequenceKey,
    flatten_one_level_with_keys,
    keystr,
    tree_flatten_with_path,
    tree_leaves_with_path,
)
from refjax.tree_util.paths import IsLeafWithPath as IsLeafWithPath
from refjax.tree_util.prefix import broadcast_prefix, tree_broadcast
from refjax.tree_util.registration import (
    Partial,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    register_pytree_with_keys,
    register_pytree_with_keys_class,
    register_static,
)
from refjax.tree_util.structure import flatten_one_level

__all__ = [
    "Partial",
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "KeyEntry",
    "KeyPath",
    "PyTree",
    "PyTreeDef",
    "SequenceKey",
    "all_leaves",
    "broadcast_prefix",
    "flatten_one_level",
    "flatten_one_level_with_keys",
    "is_tree_node",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_pytree_with_keys",
    "register_pytree_with_keys_class",
    "register_static",
    "tree_all",
    "tree_broadcast",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_reduce_associative",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
    "treedef_children",
    "treedef_is_leaf",
    "treedef_tuple",
]
