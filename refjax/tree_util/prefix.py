"""One pytree as a prefix of another, and the errors that say where one is not.

A tree is a prefix of another when the other is the first with some of its leaves replaced by
subtrees (``PyTreeDef.flatten_up_to``). :func:`broadcast_prefix` and :func:`tree_broadcast` copy
each leaf of a prefix over its subtree; ``tree_map`` over several trees needs its first tree to be
a prefix of the others. When it is not, ``_prefix_error`` walks both trees to the first node that
differs and explains it by its key path, in the words of JAX's ``prefix_errors``.
"""

from __future__ import annotations

import difflib
import textwrap
from collections.abc import Callable, Hashable
from typing import TypeAlias

from refjax.tree_util.core import (
    IsLeaf,
    PyTree,
    PyTreeDef,
    tree_flatten,
    tree_structure,
)
from refjax.tree_util.paths import KeyPath, _key_value, flatten_one_level_with_keys, keystr
from refjax.tree_util.structure import flatten_one_level

_ErrorMaker: TypeAlias = Callable[[str], ValueError]


def broadcast_prefix(
    prefix_tree: PyTree, full_tree: PyTree, is_leaf: IsLeaf | None = None
) -> list[PyTree]:
    """Each leaf of ``prefix_tree`` repeated once per leaf of its subtree in ``full_tree``."""
    prefix_leaves, prefix_def = tree_flatten(prefix_tree, is_leaf)
    try:
        subtrees = prefix_def.flatten_up_to(full_tree)
    except ValueError:
        explain = _prefix_error((), prefix_tree, full_tree, is_leaf)
        if explain is None:
            raise
        raise explain("broadcast_prefix prefix_tree") from None
    counts = [tree_structure(s).num_leaves for s in subtrees]
    return [x for x, n in zip(prefix_leaves, counts, strict=True) for _ in range(n)]


def tree_broadcast(prefix_tree: PyTree, full_tree: PyTree, is_leaf: IsLeaf | None = None) -> PyTree:
    """``prefix_tree`` with each leaf copied over its subtree's leaves in ``full_tree``."""
    return tree_structure(full_tree).unflatten(broadcast_prefix(prefix_tree, full_tree, is_leaf))


def _flatten_up_to_explained(
    treedef: PyTreeDef, tree: PyTree, other: PyTree, is_leaf: IsLeaf | None, name: str
) -> list[PyTree]:
    """``treedef.flatten_up_to(other)``, failing with a message locating the first mismatch."""
    try:
        return treedef.flatten_up_to(other)
    except Exception:
        explain = _prefix_error((), tree, other, is_leaf)
        if explain is None:
            raise
        raise explain(name) from None


# ---------------------------------------------------------------------------------------------
# Explaining why a tree is not a prefix of another (JAX's ``prefix_errors``).


def _prefix_error(
    key_path: KeyPath, prefix: PyTree, full: PyTree, is_leaf: IsLeaf | None
) -> _ErrorMaker | None:
    """A maker of the error locating the first place ``prefix`` is not a prefix of ``full``."""
    if _treedef_is_strict_leaf(tree_structure(prefix, is_leaf)):
        return None
    if type(prefix) is not type(full):
        return _different_types_error(key_path, prefix, full)
    prefix_children, prefix_meta = flatten_one_level(prefix)
    full_children, full_meta = flatten_one_level(full)
    prefix_children, full_children = tuple(prefix_children), tuple(full_children)
    if isinstance(prefix, (list, tuple)):
        if len(prefix) != len(full):
            return _different_lengths_error(key_path, prefix, full)
    elif len(prefix_children) != len(full_children):
        return _different_arity_error(key_path, prefix, full)
    if prefix_meta != full_meta:
        return _different_metadata_error(key_path, prefix, prefix_meta, full_meta)
    keys = _child_keys(prefix)
    for key, p, f in zip(keys, prefix_children, full_children, strict=True):
        explain = _prefix_error((*key_path, key), p, f, is_leaf)
        if explain is not None:
            return explain
    return None


def _treedef_is_strict_leaf(treedef: PyTreeDef) -> bool:
    return treedef.num_nodes == 1 and treedef.num_leaves == 1


def _child_keys(tree: PyTree) -> KeyPath:
    return tuple(key for key, _ in flatten_one_level_with_keys(tree)[0])


def _different_types_error(key_path: KeyPath, prefix: PyTree, full: PyTree) -> _ErrorMaker:
    return lambda name: ValueError(
        "pytree structure error: different types at key path\n"
        f"    {name}{keystr(key_path)}\n"
        f"At that key path, the prefix pytree {name} has a subtree of type\n"
        f"    {type(prefix)}\n"
        "but at the same key path the full pytree has a subtree of different type\n"
        f"    {type(full)}."
    )


def _different_lengths_error(key_path: KeyPath, prefix: PyTree, full: PyTree) -> _ErrorMaker:
    ty = type(prefix).__name__
    return lambda name: ValueError(
        f"pytree structure error: different lengths of {ty} at key path\n"
        f"    {name}{keystr(key_path)}\n"
        f"At that key path, the prefix pytree {name} has a subtree of type {ty} of length "
        f"{len(prefix)}, but the full pytree has a subtree of the same type but of length "
        f"{len(full)}."
    )


def _different_arity_error(key_path: KeyPath, prefix: PyTree, full: PyTree) -> _ErrorMaker:
    prefix_keys, full_keys = _child_keys(prefix), _child_keys(full)
    diff = _symmetric_difference(prefix_keys, full_keys)
    return lambda name: ValueError(
        "pytree structure error: different numbers of pytree children at key path\n"
        f"    {name}{keystr(key_path)}\n"
        f"At that key path, the prefix pytree {name} has a subtree of type\n"
        f"    {type(prefix)}\n"
        f"with {len(prefix_keys)} child keys\n"
        f"    {_join_keys(prefix_keys)}\n"
        "but at the same key path the full pytree has a subtree of the same type but with "
        f"{len(full_keys)} child keys\n"
        f"    {_join_keys(full_keys)}\n"
        + ("" if diff is None else f"so the symmetric difference on key sets is\n    {diff}")
    )


def _join_keys(keys: KeyPath) -> str:
    return " ".join(str(_key_value(k)) for k in keys)


def _symmetric_difference(a: KeyPath, b: KeyPath) -> str | None:
    """The keys in exactly one of ``a`` and ``b``, in order (None if keys are unhashable)."""
    try:
        only_a, only_b = set(a) - set(b), set(b) - set(a)
    except TypeError:
        return None
    return _join_keys(tuple(k for k in a if k in only_a) + tuple(k for k in b if k in only_b))


def _different_metadata_error(
    key_path: KeyPath, prefix: PyTree, prefix_meta: Hashable, full_meta: Hashable
) -> _ErrorMaker:
    prefix_str, full_str = str(prefix_meta), str(full_meta)
    diff_lines = difflib.ndiff(prefix_str.splitlines(), full_str.splitlines())
    metadata_diff = textwrap.indent("\n".join(diff_lines), prefix="    ")
    return lambda name: ValueError(
        "pytree structure error: different pytree metadata at key path\n"
        f"    {name}{keystr(key_path)}\n"
        f"At that key path, the prefix pytree {name} has a subtree of type\n"
        f"    {type(prefix)}\n"
        "with metadata\n"
        f"    {prefix_str}\n"
        "but at the same key path the full pytree has a subtree of the same type but with "
        "metadata\n"
        f"    {full_str}\n"
        "so the diff in the metadata at these pytree nodes is\n"
        f"{metadata_diff}"
    )
