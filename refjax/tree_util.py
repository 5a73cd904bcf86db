"""Pytrees: nested containers of leaves, flattened to a list and a structure (``jax.tree_util``).

A pytree node is ``None`` (no children), a ``tuple``, ``list`` or ``dict`` (children in sorted-key
order), a namedtuple, or a type registered with :func:`register_pytree_node` (``OrderedDict`` and
``defaultdict`` come registered, as in JAX). Anything else is a leaf. Only exact types count: a
subclass of ``dict`` that is not itself registered is a leaf.

A :class:`PyTreeDef` is the structure without the leaves: a tree of immutable nodes, hashable and
compared by node types, node data (dict keys, custom aux data) and children, so it can key caches.
"""

from __future__ import annotations

import collections
import dataclasses
import difflib
import enum
import functools
import operator
import textwrap
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeAlias, TypeVar, cast

__all__ = [
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

PyTree = Any
"""A user's value: a leaf or a container of pytrees. The one place refjax's types say ``Any``."""

T = TypeVar("T")
_AuxT = TypeVar("_AuxT", bound=Hashable)
_TypeT = TypeVar("_TypeT", bound=type)

KeyEntry: TypeAlias = Hashable
KeyPath: TypeAlias = tuple[KeyEntry, ...]
IsLeaf: TypeAlias = Callable[[PyTree], bool]
IsLeafWithPath: TypeAlias = Callable[[KeyPath, PyTree], bool]
_FlattenFn: TypeAlias = Callable[[PyTree], tuple[Iterable[PyTree], PyTree]]
_FlattenWithKeysFn: TypeAlias = Callable[[PyTree], tuple[Iterable[tuple[KeyEntry, PyTree]], PyTree]]
_UnflattenFn: TypeAlias = Callable[[PyTree, tuple[PyTree, ...]], PyTree]
_ErrorMaker: TypeAlias = Callable[[str], ValueError]


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


# ---------------------------------------------------------------------------------------------
# Error messages (the same text as JAX's).


def _too_few_leaves(expected: int, got: int) -> ValueError:
    return ValueError(f"Too few leaves for PyTreeDef; expected {expected}, got {got}")


def _too_many_leaves(expected: int) -> ValueError:
    return ValueError(f"Too many leaves for PyTreeDef; expected {expected}.")


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


def _unsortable_keys() -> ValueError:
    return ValueError("Comparator raised exception while sorting pytree dictionary keys.")


def _duplicate_registration(nodetype: type) -> ValueError:
    return ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype!r}.")


# ---------------------------------------------------------------------------------------------
# The registry of node types.


class _Kind(enum.Enum):
    """What sort of pytree node a PyTreeDef node is."""

    LEAF = "leaf"
    NONE = "none"
    TUPLE = "tuple"
    LIST = "list"
    DICT = "dict"
    NAMEDTUPLE = "namedtuple"
    CUSTOM = "custom"


_BUILTIN_KINDS: Final[dict[type, _Kind]] = {
    type(None): _Kind.NONE,
    tuple: _Kind.TUPLE,
    list: _Kind.LIST,
    dict: _Kind.DICT,
}


@dataclasses.dataclass(frozen=True, slots=True)
class _Registration:
    """How to take apart and rebuild one registered node type."""

    nodetype: type
    flatten: _FlattenFn
    unflatten: _UnflattenFn
    flatten_with_keys: _FlattenWithKeysFn | None
    noun: str = "custom"  # "custom dataclass" for register_dataclass, as JAX's messages say


_registry: Final[dict[type, _Registration]] = {}


def _register(registration: _Registration) -> None:
    nodetype = registration.nodetype
    if nodetype in _BUILTIN_KINDS or nodetype in _registry:
        raise _duplicate_registration(nodetype)
    _registry[nodetype] = registration


def _is_namedtuple(tree: PyTree) -> bool:
    return isinstance(tree, tuple) and hasattr(tree, "_fields")


def _kind_of(tree: PyTree) -> _Kind:
    """The node kind of a value's root (LEAF when its type is not a pytree node)."""
    typ = type(tree)
    kind = _BUILTIN_KINDS.get(typ)
    if kind is not None:
        return kind
    if typ in _registry:
        return _Kind.CUSTOM
    return _Kind.NAMEDTUPLE if _is_namedtuple(tree) else _Kind.LEAF


def _sorted_keys(tree: dict[PyTree, PyTree]) -> tuple[Hashable, ...]:
    try:
        return tuple(sorted(tree))
    except TypeError:
        raise _unsortable_keys() from None


def _node_contents(tree: PyTree, kind: _Kind) -> tuple[Hashable, Sequence[PyTree]]:
    """A non-leaf node's data (dict keys, custom aux data) and its children, in order."""
    if kind is _Kind.TUPLE or kind is _Kind.LIST or kind is _Kind.NAMEDTUPLE:
        return None, tree
    if kind is _Kind.DICT:
        keys = _sorted_keys(tree)
        return keys, [tree[k] for k in keys]
    if kind is _Kind.NONE:
        return None, ()
    children, aux = _registry[type(tree)].flatten(tree)
    return aux, tuple(children)


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


def _dict_keys(data: Hashable) -> tuple[Hashable, ...]:
    """The keys a dict node holds as its data (a tuple, sorted)."""
    assert isinstance(data, tuple)
    return data


def _custom_keyed_contents(tree: PyTree) -> tuple[Hashable, list[tuple[KeyEntry, PyTree]]]:
    registration = _registry[type(tree)]
    if registration.flatten_with_keys is None:
        children, aux = registration.flatten(tree)
        return aux, [(FlattenedIndexKey(i), c) for i, c in enumerate(children)]
    pairs, aux = registration.flatten_with_keys(tree)
    return aux, list(pairs)


# ---------------------------------------------------------------------------------------------
# PyTreeDef


class PyTreeDef:
    """The structure of a pytree: node types, node data and children, with leaves left out."""

    __slots__ = ("_children", "_data", "_hash", "_kind", "_num_leaves", "_num_nodes", "_type")
    _kind: _Kind
    _type: type | None
    _data: Hashable
    _children: tuple[PyTreeDef, ...]
    _num_leaves: int
    _num_nodes: int
    _hash: int | None

    def __init__(
        self,
        kind: _Kind,
        node_type: type | None,
        node_data: Hashable,
        children: tuple[PyTreeDef, ...],
    ) -> None:
        self._kind = kind
        self._type = node_type
        self._data = node_data
        self._children = children
        num_leaves, num_nodes = (1 if kind is _Kind.LEAF else 0), 1
        for child in children:
            num_leaves += child._num_leaves
            num_nodes += child._num_nodes
        self._num_leaves, self._num_nodes = num_leaves, num_nodes
        self._hash = None

    @property
    def num_leaves(self) -> int:
        """The number of leaves."""
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """The number of nodes, leaves and ``None`` included."""
        return self._num_nodes

    def children(self) -> list[PyTreeDef]:
        """The structures of the root's children."""
        return list(self._children)

    def node_data(self) -> tuple[type, object] | None:
        """The root's (type, data), or None for a leaf, as JAX's ``node_data``."""
        if self._type is None:
            return None
        if self._kind is _Kind.DICT:
            return self._type, list(_dict_keys(self._data))
        return self._type, self._data

    def unflatten(self, leaves: Iterable[PyTree]) -> PyTree:
        """Builds the pytree with this structure from its leaves, in order."""
        flat = list(leaves)
        if len(flat) < self._num_leaves:
            raise _too_few_leaves(self._num_leaves, len(flat))
        if len(flat) > self._num_leaves:
            raise _too_many_leaves(self._num_leaves)
        return self._build(iter(flat))

    def _build(self, leaves: Iterator[PyTree]) -> PyTree:
        if self._kind is _Kind.LEAF:
            return next(leaves)
        children = [
            next(leaves) if c._kind is _Kind.LEAF else c._build(leaves) for c in self._children
        ]
        return _MAKE_NODE[self._kind](self, children)

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        """The subtrees of ``tree`` at this structure's leaves; this structure must be a prefix."""
        out: list[PyTree] = []
        self._up_to(tree, out)
        out.reverse()
        return out

    def _up_to(self, tree: PyTree, out: list[PyTree]) -> None:
        # Children right to left, as JAX's stack-based traversal, so the same mismatch is reported.
        if self._kind is _Kind.LEAF:
            out.append(tree)
            return
        children = _CHECK_NODE[self._kind](self, tree)
        for child_def, child in zip(reversed(self._children), reversed(children), strict=True):
            child_def._up_to(child, out)

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """This structure with every leaf replaced by ``inner``."""
        if self._kind is _Kind.LEAF:
            return inner
        children = tuple(c.compose(inner) for c in self._children)
        return PyTreeDef(self._kind, self._type, self._data, children)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return self is other or (
            self._type is other._type
            and self._kind is other._kind
            and bool(self._data == other._data)
            and self._children == other._children
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._kind, self._type, self._data, self._children))
        return self._hash

    def __repr__(self) -> str:
        return f"PyTreeDef({self._node_repr()})"

    def _node_repr(self) -> str:
        children = [c._node_repr() for c in self._children]
        return _NODE_REPR[self._kind](self, children)


_LEAF: Final = PyTreeDef(_Kind.LEAF, None, None, ())


# Per node kind: rebuild a node from its children (unflatten).


def _make_custom(td: PyTreeDef, children: list[PyTree]) -> PyTree:
    assert td._type is not None
    return _registry[td._type].unflatten(td._data, tuple(children))


def _make_namedtuple(td: PyTreeDef, children: list[PyTree]) -> PyTree:
    assert td._type is not None
    return td._type(*children)


def _make_dict(td: PyTreeDef, children: list[PyTree]) -> PyTree:
    return dict(zip(_dict_keys(td._data), children, strict=True))


_MAKE_NODE: Final[dict[_Kind, Callable[[PyTreeDef, list[PyTree]], PyTree]]] = {
    _Kind.NONE: lambda td, children: None,
    _Kind.TUPLE: lambda td, children: tuple(children),
    _Kind.LIST: lambda td, children: children,
    _Kind.DICT: _make_dict,
    _Kind.NAMEDTUPLE: _make_namedtuple,
    _Kind.CUSTOM: _make_custom,
}


# Per node kind: check a value against a node and return its children (flatten_up_to).


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


# Per node kind: the text of a node in PyTreeDef's repr, given its children's text.


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
# Flattening


def _flatten(tree: PyTree, is_leaf: IsLeaf | None, leaves: list[PyTree]) -> PyTreeDef:
    """Appends the leaves of ``tree`` to ``leaves`` and returns its structure."""
    if is_leaf is not None and is_leaf(tree):
        leaves.append(tree)
        return _LEAF
    kind = _kind_of(tree)
    if kind is _Kind.LEAF:
        leaves.append(tree)
        return _LEAF
    data, children = _node_contents(tree, kind)
    child_defs: list[PyTreeDef] = []
    for child in children:
        # The hot path: a child that is plainly a leaf (an array) is handled without recursing.
        if is_leaf is None and _is_plain_leaf(child):
            leaves.append(child)
            child_defs.append(_LEAF)
        else:
            child_defs.append(_flatten(child, is_leaf, leaves))
    return PyTreeDef(kind, type(tree), data, tuple(child_defs))


def _is_plain_leaf(x: PyTree) -> bool:
    """A quick, conservative leaf test: False for every node and for every tuple."""
    typ = type(x)
    return typ not in _BUILTIN_KINDS and typ not in _registry and not isinstance(x, tuple)


def tree_flatten(tree: PyTree, is_leaf: IsLeaf | None = None) -> tuple[list[PyTree], PyTreeDef]:
    """The leaves of a pytree, left to right, and its structure."""
    leaves: list[PyTree] = []
    treedef = _flatten(tree, is_leaf, leaves)
    return leaves, treedef


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[PyTree]) -> PyTree:
    """Builds the pytree with structure ``treedef`` from its leaves."""
    return treedef.unflatten(leaves)


def tree_leaves(tree: PyTree, is_leaf: IsLeaf | None = None) -> list[PyTree]:
    """The leaves of a pytree, left to right."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: PyTree, is_leaf: IsLeaf | None = None) -> PyTreeDef:
    """The structure of a pytree."""
    return tree_flatten(tree, is_leaf)[1]


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """The structure of a tuple whose children have the given structures."""
    return PyTreeDef(_Kind.TUPLE, tuple, None, tuple(treedefs))


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """The structures of the root's children."""
    return treedef.children()


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether the structure is a single node (a leaf, ``None`` or an empty container)."""
    return treedef.num_nodes == 1


def _treedef_is_strict_leaf(treedef: PyTreeDef) -> bool:
    return treedef.num_nodes == 1 and treedef.num_leaves == 1


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


def flatten_one_level_with_keys(
    tree: PyTree,
) -> tuple[Iterable[tuple[KeyEntry, PyTree]], Hashable]:
    """A node's (key, child) pairs and its metadata, one level down."""
    kind = _kind_of(tree)
    if kind is _Kind.LEAF:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    data, pairs = _keyed_contents(tree, kind)
    return tuple(pairs), _meta(tree, kind, data)


def _meta(tree: PyTree, kind: _Kind, data: Hashable) -> Hashable:
    """A node's metadata as ``flatten_one_level`` gives it: its data, or a namedtuple's type."""
    return cast(Hashable, type(tree)) if kind is _Kind.NAMEDTUPLE else data


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


# ---------------------------------------------------------------------------------------------
# Registering node types


def register_pytree_node(
    nodetype: type[T],
    flatten_func: Callable[[T], tuple[Iterable[PyTree], _AuxT]],
    unflatten_func: Callable[[_AuxT, tuple[PyTree, ...]], T],
    flatten_with_keys_func: Callable[[T], tuple[Iterable[tuple[KeyEntry, PyTree]], _AuxT]]
    | None = None,
) -> None:
    """Makes ``nodetype`` a pytree node, taken apart by ``flatten_func``."""
    _register(_Registration(nodetype, flatten_func, unflatten_func, flatten_with_keys_func))


def register_pytree_node_class(cls: _TypeT) -> _TypeT:
    """Class decorator: registers a class by its ``tree_flatten``/``tree_unflatten`` methods."""
    unflatten = cls.tree_unflatten  # type: ignore[attr-defined]
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), unflatten)
    return cls


def register_pytree_with_keys(
    nodetype: type[T],
    flatten_with_keys: Callable[[T], tuple[Iterable[tuple[KeyEntry, PyTree]], _AuxT]],
    unflatten_func: Callable[[_AuxT, tuple[PyTree, ...]], T],
    flatten_func: Callable[[T], tuple[Iterable[PyTree], _AuxT]] | None = None,
) -> None:
    """Makes ``nodetype`` a pytree node whose children have keys (for key paths)."""

    def flatten_without_keys(tree: T) -> tuple[list[PyTree], _AuxT]:
        pairs, aux = flatten_with_keys(tree)
        return [child for _, child in pairs], aux

    flatten = flatten_without_keys if flatten_func is None else flatten_func
    register_pytree_node(nodetype, flatten, unflatten_func, flatten_with_keys)


def register_pytree_with_keys_class(cls: _TypeT) -> _TypeT:
    """Class decorator: registers a class by ``tree_flatten_with_keys``/``tree_unflatten``."""
    flatten = operator.methodcaller("tree_flatten") if hasattr(cls, "tree_flatten") else None
    flatten_with_keys = operator.methodcaller("tree_flatten_with_keys")
    unflatten = cls.tree_unflatten  # type: ignore[attr-defined]
    register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls


def register_static(cls: _TypeT) -> _TypeT:
    """Class decorator: makes instances nodes with no children, held whole in the treedef."""
    register_pytree_with_keys(cls, lambda obj: ((), obj), lambda obj, _: obj)
    return cls


def register_dataclass(
    nodetype: _TypeT,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
    drop_fields: Sequence[str] = (),
) -> _TypeT:
    """Registers a dataclass: data fields are children, meta fields are static node data."""
    data, meta = _dataclass_fields(nodetype, data_fields, meta_fields, drop_fields)

    def flatten(x: PyTree) -> tuple[tuple[PyTree, ...], Hashable]:
        return tuple(getattr(x, n) for n in data), tuple(getattr(x, n) for n in meta)

    def flatten_with_keys(x: PyTree) -> tuple[list[tuple[KeyEntry, PyTree]], Hashable]:
        return [(GetAttrKey(n), getattr(x, n)) for n in data], tuple(getattr(x, n) for n in meta)

    def unflatten(aux: Hashable, children: tuple[PyTree, ...]) -> PyTree:
        assert isinstance(aux, tuple)
        fields = zip((*meta, *data), (*aux, *children), strict=True)
        return nodetype(**dict(fields))

    _register(_Registration(nodetype, flatten, unflatten, flatten_with_keys, "custom dataclass"))
    return nodetype


def _dataclass_fields(
    nodetype: type,
    data_fields: Sequence[str] | None,
    meta_fields: Sequence[str] | None,
    drop_fields: Sequence[str],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The (data, meta) field names of a dataclass node, checked as JAX checks them."""
    if data_fields is None or meta_fields is None:
        if (data_fields is None) != (meta_fields is None):
            raise TypeError(
                "register_dataclass: data_fields and meta_fields must both be specified when "
                f"either is specified. Got {data_fields=} {meta_fields=}."
            )
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(
                "register_dataclass: data_fields and meta_fields are required when nodetype is "
                f"not a dataclass. Got {nodetype=}."
            )
        fields = dataclasses.fields(nodetype)
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
    _check_dataclass_fields(nodetype, data_fields, meta_fields, drop_fields)
    return tuple(data_fields), tuple(meta_fields)


def _check_dataclass_fields(
    nodetype: type, data: Sequence[str], meta: Sequence[str], drop_fields: Sequence[str]
) -> None:
    if dataclasses.is_dataclass(nodetype):
        init_fields = {f.name for f in dataclasses.fields(nodetype) if f.init}
        init_fields.difference_update(drop_fields)
        if {*meta, *data} != init_fields:
            msg = (
                "data_fields and meta_fields must include all dataclass fields with"
                " ``init=True`` and only them."
            )
            if missing := init_fields - {*meta, *data}:
                msg += f" Missing fields: {missing}. Add them to drop_fields to suppress"
                msg += " this error."
            if unexpected := {*meta, *data} - init_fields:
                msg += f" Unexpected fields: {unexpected}."
            raise ValueError(msg)
    if overlap := set(data) & set(meta):
        raise ValueError(
            f"data_fields and meta_fields must not overlap. Overlapping fields: {overlap}."
        )


def _flatten_ordereddict_with_keys(
    d: collections.OrderedDict[Hashable, PyTree],
) -> tuple[tuple[tuple[KeyEntry, PyTree], ...], tuple[Hashable, ...]]:
    return tuple((DictKey(k), v) for k, v in d.items()), tuple(d.keys())


def _unflatten_ordereddict(
    keys: tuple[Hashable, ...], values: tuple[PyTree, ...]
) -> collections.OrderedDict[Hashable, PyTree]:
    return collections.OrderedDict(zip(keys, values, strict=True))


_DefaultdictAux: TypeAlias = tuple[Callable[[], PyTree] | None, tuple[Hashable, ...]]


def _flatten_defaultdict_with_keys(
    d: collections.defaultdict[Hashable, PyTree],
) -> tuple[tuple[tuple[KeyEntry, PyTree], ...], _DefaultdictAux]:
    keys = tuple(sorted(d))  # type: ignore[type-var]
    return tuple((DictKey(k), d[k]) for k in keys), (d.default_factory, keys)


def _unflatten_defaultdict(
    aux: _DefaultdictAux, values: tuple[PyTree, ...]
) -> collections.defaultdict[Hashable, PyTree]:
    return collections.defaultdict(aux[0], zip(aux[1], values, strict=True))


register_pytree_with_keys(
    collections.OrderedDict, _flatten_ordereddict_with_keys, _unflatten_ordereddict
)
register_pytree_with_keys(
    collections.defaultdict, _flatten_defaultdict_with_keys, _unflatten_defaultdict
)
