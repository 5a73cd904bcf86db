"""Key paths: where a leaf sits in a pytree, as the keys from the root down to it.

A key is one step: :class:`SequenceKey` (a tuple or list index), :class:`DictKey` (a mapping key),
:class:`GetAttrKey` (a namedtuple or dataclass attribute) or :class:`FlattenedIndexKey` (the
position of a child of a custom node registered without keys). :func:`keystr` prints a path, e.g.
``[0]['a'].x``; :func:`tree_flatten_with_path` flattens as ``tree_flatten`` does, pairing each
leaf with its path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from typing import TypeAlias

from refjax.tree_util.core import (
    _LEAF,
    KeyEntry,
    PyTree,
    PyTreeDef,
    _dict_keys,
    _Kind,
    _kind_of,
    _node_contents,
    _registry,
)
from refjax.tree_util.structure import _meta

KeyPath: TypeAlias = tuple[KeyEntry, ...]
IsLeafWithPath: TypeAlias = Callable[[KeyPath, PyTree], bool]


# ---------------------------------------------------------------------------------------------
# Keys: one step of a path from the root to a leaf.


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """The index of a child of a tuple or list."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class DictKey:
    """The key of a child of a dict (or another mapping node)."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """The attribute name of a child of a namedtuple or dataclass node."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class FlattenedIndexKey:
    """The position of a child of a custom node registered without keys."""

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """Joins the string forms of the keys in a key path, e.g. ``[0]['a'].x``."""
    str_fn = _simple_keystr if simple else str
    return separator.join(map(str_fn, keys))


def _key_value(key: KeyEntry) -> object:
    """The raw index, dict key or attribute name a key entry stands for."""
    if isinstance(key, SequenceKey):
        return key.idx
    if isinstance(key, GetAttrKey):
        return key.name
    if isinstance(key, (DictKey, FlattenedIndexKey)):
        return key.key
    return key


def _simple_keystr(key: KeyEntry) -> str:
    return str(_key_value(key))


def _keyed_contents(tree: PyTree, kind: _Kind) -> tuple[Hashable, list[tuple[KeyEntry, PyTree]]]:
    """Like ``_node_contents``, with each child paired with its key."""
    if kind is _Kind.CUSTOM:
        return _custom_keyed_contents(tree)
    data, children = _node_contents(tree, kind)
    if kind is _Kind.DICT:
        return data, [(DictKey(k), tree[k]) for k in _dict_keys(data)]
    if kind is _Kind.NAMEDTUPLE:
        return data, [(GetAttrKey(f), c) for f, c in zip(tree._fields, children, strict=True)]
    return data, [(SequenceKey(i), c) for i, c in enumerate(children)]


def _custom_keyed_contents(tree: PyTree) -> tuple[Hashable, list[tuple[KeyEntry, PyTree]]]:
    registration = _registry[type(tree)]
    if registration.flatten_with_keys is None:
        children, aux = registration.flatten(tree)
        return aux, [(FlattenedIndexKey(i), c) for i, c in enumerate(children)]
    pairs, aux = registration.flatten_with_keys(tree)
    return aux, list(pairs)


def flatten_one_level_with_keys(
    tree: PyTree,
) -> tuple[Iterable[tuple[KeyEntry, PyTree]], Hashable]:
    """A node's (key, child) pairs and its metadata, one level down."""
    kind = _kind_of(tree)
    if kind is _Kind.LEAF:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    data, pairs = _keyed_contents(tree, kind)
    return tuple(pairs), _meta(tree, kind, data)


# ---------------------------------------------------------------------------------------------
# Key paths


def _flatten_with_path(
    tree: PyTree,
    path: KeyPath,
    is_leaf: IsLeafWithPath | None,
    out: list[tuple[KeyPath, PyTree]],
) -> PyTreeDef:
    if is_leaf is not None and is_leaf(path, tree):
        out.append((path, tree))
        return _LEAF
    kind = _kind_of(tree)
    if kind is _Kind.LEAF:
        out.append((path, tree))
        return _LEAF
    data, pairs = _keyed_contents(tree, kind)
    children = tuple([_flatten_with_path(c, (*path, k), is_leaf, out) for k, c in pairs])
    return PyTreeDef(kind, type(tree), data, children)


def _path_predicate(
    is_leaf: Callable[..., bool] | None, is_leaf_takes_path: bool
) -> IsLeafWithPath | None:
    if is_leaf is None or is_leaf_takes_path:
        return is_leaf
    leaf_predicate = is_leaf
    return lambda _, x: leaf_predicate(x)


def tree_flatten_with_path(
    tree: PyTree,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> tuple[list[tuple[KeyPath, PyTree]], PyTreeDef]:
    """The (key path, leaf) pairs of a pytree, left to right, and its structure."""
    out: list[tuple[KeyPath, PyTree]] = []
    treedef = _flatten_with_path(tree, (), _path_predicate(is_leaf, is_leaf_takes_path), out)
    return out, treedef


def tree_leaves_with_path(
    tree: PyTree,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> list[tuple[KeyPath, PyTree]]:
    """The (key path, leaf) pairs of a pytree, left to right."""
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]
