"""The core of pytrees: the registry of node types, :class:`PyTreeDef`, flatten and unflatten.

Start reading here. ``tree_flatten`` walks a value: at each node it asks the registry what kind of
node the value is (``_kind_of``) and for its data and children (``_node_contents``), collects the
leaves left to right, and returns them with a :class:`PyTreeDef` of the nodes it passed.
``PyTreeDef.unflatten`` walks the structure back, rebuilding each node from its rebuilt children
(``_MAKE_NODE``). Everything else in ``refjax.tree_util`` is built on these.

The module reads top down: the registry, ``PyTreeDef``, flattening. Read ``structure.py`` next:
checking a value against a structure (``PyTreeDef.flatten_up_to``, with JAX's error messages),
printing a structure, and ``flatten_one_level``. The public ``register_*`` functions that fill the
registry are in ``registration.py``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeAlias, TypeVar

PyTree = Any
"""A user's value: a leaf or a container of pytrees. The one place refjax's types say ``Any``."""

T = TypeVar("T")

KeyEntry: TypeAlias = Hashable
IsLeaf: TypeAlias = Callable[[PyTree], bool]
_FlattenFn: TypeAlias = Callable[[PyTree], tuple[Iterable[PyTree], PyTree]]
_FlattenWithKeysFn: TypeAlias = Callable[[PyTree], tuple[Iterable[tuple[KeyEntry, PyTree]], PyTree]]
_UnflattenFn: TypeAlias = Callable[[PyTree, tuple[PyTree, ...]], PyTree]


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
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype!r}.")
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
        msg = "Comparator raised exception while sorting pytree dictionary keys."
        raise ValueError(msg) from None


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


def _dict_keys(data: Hashable) -> tuple[Hashable, ...]:
    """The keys a dict node holds as its data (a tuple, sorted)."""
    assert isinstance(data, tuple)
    return data


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

    def unflatten(self, leaves: Iterable[PyTree]) -> PyTree:
        """Builds the pytree with this structure from its leaves, in order."""
        flat = list(leaves)
        expected, got = self._num_leaves, len(flat)
        if got < expected:
            raise ValueError(f"Too few leaves for PyTreeDef; expected {expected}, got {got}")
        if got > expected:
            raise ValueError(f"Too many leaves for PyTreeDef; expected {expected}.")
        return self._build(iter(flat))

    def _build(self, leaves: Iterator[PyTree]) -> PyTree:
        if self._kind is _Kind.LEAF:
            return next(leaves)
        children = [
            next(leaves) if c._kind is _Kind.LEAF else c._build(leaves) for c in self._children
        ]
        return _MAKE_NODE[self._kind](self, children)

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

    # Reading a structure: these methods are written in structure.py, which imports this module,
    # so each imports it when called rather than at the top of this one.

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        """The subtrees of ``tree`` at this structure's leaves; this structure must be a prefix."""
        from refjax.tree_util import structure

        return structure.flatten_up_to(self, tree)

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """This structure with every leaf replaced by ``inner``."""
        from refjax.tree_util import structure

        return structure.compose(self, inner)

    def node_data(self) -> tuple[type, object] | None:
        """The root's (type, data), or None for a leaf, as JAX's ``node_data``."""
        from refjax.tree_util import structure

        return structure.node_data(self)

    def __repr__(self) -> str:
        from refjax.tree_util import structure

        return structure.treedef_repr(self)


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
