"""Functions derived from flattening: mapping, reducing, transposing, and structure queries.

Each is a few lines over ``tree_flatten`` and ``PyTreeDef``: :func:`tree_map` flattens its first
tree, takes the others up to that structure and unflattens the results; :func:`tree_reduce`,
:func:`tree_reduce_associative` and :func:`tree_all` fold the leaves; :func:`tree_transpose` swaps
an outer and an inner structure; :func:`all_leaves`, :func:`is_tree_node` and the ``treedef_*``
functions answer questions about structures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Final

from refjax.tree_util.core import (
    _BUILTIN_KINDS,
    IsLeaf,
    PyTree,
    PyTreeDef,
    T,
    _Kind,
    _kind_of,
    _registry,
    tree_flatten,
    tree_leaves,
    tree_structure,
)
from refjax.tree_util.paths import tree_flatten_with_path
from refjax.tree_util.prefix import _flatten_up_to_explained


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """The structure of a tuple whose children have the given structures."""
    return PyTreeDef(_Kind.TUPLE, tuple, None, tuple(treedefs))


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """The structures of the root's children."""
    return treedef.children()


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether the structure is a single node (a leaf, ``None`` or an empty container)."""
    return treedef.num_nodes == 1


def all_leaves(iterable: Iterable[PyTree], is_leaf: IsLeaf | None = None) -> bool:
    """Whether every element is a leaf (``None`` is not: it is a node)."""
    if is_leaf is None:
        return all(_kind_of(x) is _Kind.LEAF for x in iterable)
    items = list(iterable)
    leaves = tree_leaves(items, is_leaf)
    return len(leaves) == len(items) and all(x is y for x, y in zip(items, leaves, strict=True))


def is_tree_node(typ: type) -> bool:
    """Whether values of this type are pytree nodes (built in, registered or a namedtuple)."""
    is_namedtuple_type = issubclass(typ, tuple) and hasattr(typ, "_fields")
    return typ in _BUILTIN_KINDS or typ in _registry or is_namedtuple_type


# ---------------------------------------------------------------------------------------------
# Mapping and reducing


def tree_map(
    f: Callable[..., PyTree], tree: PyTree, *rest: PyTree, is_leaf: IsLeaf | None = None
) -> PyTree:
    """Applies ``f`` leafwise; ``tree``'s structure must be a prefix of each tree in ``rest``."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves])
    others = [_flatten_up_to_explained(treedef, tree, r, is_leaf, "tree_map tree") for r in rest]
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others, strict=True)])


def tree_map_with_path(
    f: Callable[..., PyTree],
    tree: PyTree,
    *rest: PyTree,
    is_leaf: Callable[..., bool] | None = None,
    is_leaf_takes_path: bool = False,
) -> PyTree:
    """Applies ``f(key_path, leaf, *other_leaves)`` leafwise, as ``tree_map`` does ``f``."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    name = "tree_map_with_path tree"
    leaf_is_leaf = None if is_leaf_takes_path else is_leaf
    others = [_flatten_up_to_explained(treedef, tree, r, leaf_is_leaf, name) for r in rest]
    columns = zip(pairs, *others, strict=True)
    return treedef.unflatten([f(path, x, *xs) for (path, x), *xs in columns])


class _Unspecified:
    """The default of an optional argument for which ``None`` is a meaningful value."""


_UNSPECIFIED: Final = _Unspecified()


def tree_reduce(
    function: Callable[[T, PyTree], T],
    tree: PyTree,
    initializer: T | _Unspecified = _UNSPECIFIED,
    is_leaf: IsLeaf | None = None,
) -> T:
    """Folds ``function`` over the leaves, left to right (``functools.reduce``)."""
    leaves = tree_leaves(tree, is_leaf)
    if isinstance(initializer, _Unspecified):
        result: T = functools.reduce(function, leaves)
    else:
        result = functools.reduce(function, leaves, initializer)
    return result


def tree_reduce_associative(
    operation: Callable[[T, T], T],
    tree: PyTree,
    *,
    identity: T | _Unspecified = _UNSPECIFIED,
    is_leaf: IsLeaf | None = None,
) -> T:
    """Reduces the leaves with an associative ``operation`` as a balanced tree of calls."""
    leaves: list[T] = tree_leaves(tree, is_leaf)
    return _parallel_reduce(leaves, operation, identity)


def _parallel_reduce(
    sequence: list[T], operation: Callable[[T, T], T], identity: T | _Unspecified
) -> T:
    if not sequence:
        if isinstance(identity, _Unspecified):
            raise TypeError("Must specify identity for parallel reduction of empty sequence.")
        return identity
    if len(sequence) == 1:
        return sequence[0]
    half = len(sequence) // 2
    left = _parallel_reduce(sequence[:half], operation, identity)
    return operation(left, _parallel_reduce(sequence[half:], operation, identity))


def tree_all(tree: PyTree, *, is_leaf: IsLeaf | None = None) -> bool:
    """Whether every leaf is truthy (True for a tree with no leaves)."""
    return all(tree_leaves(tree, is_leaf))


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: PyTree
) -> PyTree:
    """Turns an outer-structure tree of inner-structure trees into the inner of outers."""
    flat, treedef = tree_flatten(pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree_to_transpose)[0])
    inner_size, outer_size = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != inner_size * outer_size:
        expected = outer_treedef.compose(inner_treedef)
        raise TypeError(f"Mismatch\n{treedef}\n != \n{expected}")
    rows = [flat[i * inner_size : (i + 1) * inner_size] for i in range(outer_size)]
    columns = [outer_treedef.unflatten(column) for column in zip(*rows, strict=True)]
    return inner_treedef.unflatten(columns)
