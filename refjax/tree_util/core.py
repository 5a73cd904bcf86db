"""The core of pytrees: the registry of node types, :class:`PyTreeDef`, flatten and unflatten.

Start reading here. ``tree_flatten`` walks a value: at each node it asks the registry what kind of
node the value is (``_kind_of``) and for its data and children (``_node_contents``), collects the
leaves left to right, and returns them with a :class:`PyTreeDef` of the nodes it passed.
``PyTreeDef.unflatten`` walks the structure back, rebuilding each node from its rebuilt children
(``_MAKE_NODE``). Everything else in ``refjax.tree_util`` is built on these.

The module reads top down: the registry, ``PyTreeDef``, flattening. After them come the parts a
first reading can skip: the per-kind checks behind ``PyTreeDef.flatten_up_to`` (``_CHECK_NODE``),
the per-kind text of its repr (``_NODE_REPR``), and the error messages, worded as JAX's.
The public ``register_*`` functions that fill the registry are in ``registration.py``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeAlias, TypeVar, cast

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


# ---------------------------------------------------------------------------------------------
# PyTreeDef, continued: checking a value against a structure, and printing one.


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
