"""Reading a structure: checking a value against a :class:`PyTreeDef`, printing one, one level.

``core.py`` builds structures and turns them back into values; this module reads them.
:func:`flatten_up_to` (``PyTreeDef.flatten_up_to``) walks a structure and a value together: at
each node it checks that the value has the node's type, data and number of children
(``_CHECK_NODE``, one check per node kind), and it returns the subtrees of the value at the
structure's leaves. When they do not match it raises the error JAX raises for that kind of node.
:func:`treedef_repr` (``PyTreeDef.__repr__``) prints each node by its kind (``_NODE_REPR``).
:func:`compose` and :func:`node_data` are the other ``PyTreeDef`` methods that read a structure,
and :func:`flatten_one_level` takes a value apart one level down.

The ``PyTreeDef`` methods delegate to the functions here. This module imports ``core``, so
``core`` imports it only inside those methods, when they are called.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Final, cast

from refjax.tree_util.core import (
    PyTree,
    PyTreeDef,
    _dict_keys,
    _is_namedtuple,
    _Kind,
    _kind_of,
    _node_contents,
    _registry,
    _sorted_keys,
)

# ---------------------------------------------------------------------------------------------
# Checking a value against a structure (``PyTreeDef.flatten_up_to``)


def flatten_up_to(treedef: PyTreeDef, tree: PyTree) -> list[PyTree]:
    """The subtrees of ``tree`` at ``treedef``'s leaves; ``treedef`` must be a prefix of it."""
    out: list[PyTree] = []
    _up_to(treedef, tree, out)
    out.reverse()
    return out


def _up_to(td: PyTreeDef, tree: PyTree, out: list[PyTree]) -> None:
    # Children right to left, as JAX's stack-based traversal, so the same mismatch is reported.
    if td._kind is _Kind.LEAF:
        out.append(tree)
        return
    children = _CHECK_NODE[td._kind](td, tree)
    for child_def, child in zip(reversed(td._children), reversed(children), strict=True):
        _up_to(child_def, child, out)


# Per node kind: check a value against a node and return its children.


def _has_type(tree: PyTree, typ: type | None) -> bool:
    """Whether the value's type is exactly ``typ`` (subclasses are other node types)."""
    return type(tree) is typ


def _check_none(td: PyTreeDef, tree: PyTree) -> Sequence[PyTree]:
    if tree is not None:
        raise _expected_none(tree)
    return ()


def _check_sequence(td: PyTreeDef, tree: PyTree) -> Sequence[PyTree]:
    assert td._type is not None
    name = td._type.__name__
    if not _has_type(tree, td._type):
        raise _expected_type(name, tree)
    if len(tree) != len(td._children):
        raise _arity_mismatch(name.capitalize(), name, len(tree), len(td._children), tree)
    children: Sequence[PyTree] = tree
    return children


def _check_dict(td: PyTreeDef, tree: PyTree) -> Sequence[PyTree]:
    if not _has_type(tree, dict):
        raise _expected_type("dict", tree)
    keys = _sorted_keys(tree)
    if list(keys) != list(_dict_keys(td._data)):
        raise _dict_key_mismatch(_dict_keys(td._data), keys)
    return [tree[k] for k in keys]


def _check_namedtuple(td: PyTreeDef, tree: PyTree) -> Sequence[PyTree]:
    if not _is_namedtuple(tree):
        raise _expected_type("named tuple", tree)
    if len(tree) != len(td._children):
        raise _arity_mismatch("Named tuple", "tuple", len(tree), len(td._children), tree)
    if not _has_type(tree, td._type):
        expected = f"expected type: {td._type!r}, tuple: {tree!r}"
        raise ValueError(f"Named tuple type mismatch: {expected}.")
    children: Sequence[PyTree] = tree
    return children


def _check_custom(td: PyTreeDef, tree: PyTree) -> Sequence[PyTree]:
    assert td._type is not None
    registration = _registry[td._type]
    noun = registration.noun
    if not _has_type(tree, td._type):
        raise ValueError(
            f"{noun.capitalize()} node type mismatch: expected type: {td._type!r}, value: {tree!r}."
        )
    children, aux = registration.flatten(tree)
    if td._data != aux:
        raise ValueError(f"Mismatch {noun} node data: {td._data!r} != {aux!r}; value: {tree!r}.")
    children = tuple(children)
    if len(children) != len(td._children):
        what = f"{noun.capitalize()} type"
        raise _arity_mismatch(what, "value", len(children), len(td._children), tree)
    return children


_CHECK_NODE: Final[dict[_Kind, Callable[[PyTreeDef, PyTree], Sequence[PyTree]]]] = {
    _Kind.NONE: _check_none,
    _Kind.TUPLE: _check_sequence,
    _Kind.LIST: _check_sequence,
    _Kind.DICT: _check_dict,
    _Kind.NAMEDTUPLE: _check_namedtuple,
    _Kind.CUSTOM: _check_custom,
}


# Error messages (the same text as JAX's).


def _expected_type(name: str, tree: PyTree) -> ValueError:
    return ValueError(f"Expected {name}, got {tree!r}.")


def _arity_mismatch(what: str, noun: str, got: int, expected: int, tree: PyTree) -> ValueError:
    return ValueError(f"{what} arity mismatch: {got} != {expected}; {noun}: {tree!r}.")


def _expected_none(tree: PyTree) -> ValueError:
    return ValueError(
        f"Expected None, got {tree!r}.\n\n"
        "In previous releases of JAX, flatten-up-to used to consider None to be a tree-prefix of "
        "non-None values. To obtain the previous behavior, you can usually write:\n"
        "  jax.tree.map(lambda x, y: None if x is None else f(x, y), a, b, "
        "is_leaf=lambda x: x is None)"
    )


def _dict_key_mismatch(expected: Sequence[Hashable], present: Sequence[Hashable]) -> ValueError:
    return ValueError(
        f"Dict key mismatch; expected keys: {list(expected)!r}; present keys: {list(present)!r}."
    )


# ---------------------------------------------------------------------------------------------
# Printing a structure (``PyTreeDef.__repr__``)


def treedef_repr(treedef: PyTreeDef) -> str:
    """``PyTreeDef(...)`` with ``*`` for each leaf, e.g. ``PyTreeDef({'a': (*, [*])})``."""
    return f"PyTreeDef({_node_repr(treedef)})"


def _node_repr(td: PyTreeDef) -> str:
    children = [_node_repr(c) for c in td._children]
    return _NODE_REPR[td._kind](td, children)


# Per node kind: the text of a node, given its children's text.


def _repr_tuple(td: PyTreeDef, children: list[str]) -> str:
    return f"({children[0]},)" if len(children) == 1 else f"({', '.join(children)})"


def _repr_dict(td: PyTreeDef, children: list[str]) -> str:
    items = zip(_dict_keys(td._data), children, strict=True)
    return "{" + ", ".join(f"{k!r}: {c}" for k, c in items) + "}"


def _repr_custom(td: PyTreeDef, children: list[str]) -> str:
    assert td._type is not None
    name = "namedtuple" if td._kind is _Kind.NAMEDTUPLE else td._type.__name__
    data = td._type.__name__ if td._kind is _Kind.NAMEDTUPLE else td._data
    return f"CustomNode({name}[{data}], [{', '.join(children)}])"


_NODE_REPR: Final[dict[_Kind, Callable[[PyTreeDef, list[str]], str]]] = {
    _Kind.LEAF: lambda td, children: "*",
    _Kind.NONE: lambda td, children: "None",
    _Kind.TUPLE: _repr_tuple,
    _Kind.LIST: lambda td, children: f"[{', '.join(children)}]",
    _Kind.DICT: _repr_dict,
    _Kind.NAMEDTUPLE: _repr_custom,
    _Kind.CUSTOM: _repr_custom,
}


# ---------------------------------------------------------------------------------------------
# One node at a time


def compose(outer: PyTreeDef, inner: PyTreeDef) -> PyTreeDef:
    """``outer`` with every leaf replaced by ``inner`` (``PyTreeDef.compose``)."""
    if outer._kind is _Kind.LEAF:
        return inner
    children = tuple(compose(c, inner) for c in outer._children)
    return PyTreeDef(outer._kind, outer._type, outer._data, children)


def node_data(treedef: PyTreeDef) -> tuple[type, object] | None:
    """The root's (type, data), or None for a leaf (``PyTreeDef.node_data``)."""
    if treedef._type is None:
        return None
    if treedef._kind is _Kind.DICT:
        return treedef._type, list(_dict_keys(treedef._data))
    return treedef._type, treedef._data


def flatten_one_level(tree: PyTree) -> tuple[Iterable[PyTree], Hashable]:
    """A node's children and its metadata, one level down."""
    kind = _kind_of(tree)
    if kind is _Kind.LEAF:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    data, children = _node_contents(tree, kind)
    if kind is _Kind.DICT:
        children = tuple(children)
    elif kind is _Kind.NAMEDTUPLE:
        children = list(children)
    return children, _meta(tree, kind, data)


def _meta(tree: PyTree, kind: _Kind, data: Hashable) -> Hashable:
    """A node's metadata as ``flatten_one_level`` gives it: its data, or a namedtuple's type."""
    return cast(Hashable, type(tree)) if kind is _Kind.NAMEDTUPLE else data
