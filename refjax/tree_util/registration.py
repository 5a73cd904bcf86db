"""Registering node types: the public ways into the registry ``core.py`` keeps.

:func:`register_pytree_node` takes a flatten and an unflatten function; the ``_class`` variants
read them off a class's methods; the ``_with_keys`` variants also give each child its key (for key
paths); :func:`register_static` makes a value a node with no children; :func:`register_dataclass`
takes a dataclass's fields apart as JAX does. ``OrderedDict`` and ``defaultdict`` are registered
at the end, as JAX registers them.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import operator
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeAlias, TypeVar

from refjax.tree_util.core import KeyEntry, PyTree, T, _register, _Registration
from refjax.tree_util.paths import DictKey, GetAttrKey

_AuxT = TypeVar("_AuxT", bound=Hashable)
_TypeT = TypeVar("_TypeT", bound=type)


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


# ---------------------------------------------------------------------------------------------
# Partial: a functools.partial whose bound arguments are the pytree's children


class _HashableCallableShim:
    """A ``functools.partial`` boxed so that :class:`Partial` keeps its arguments out of the
    tree (``functools.partial`` would merge a nested partial's arguments into its own)."""

    def __init__(self, fun: Callable[..., object]) -> None:
        self.fun = fun

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self.fun(*args, **kwargs)

    def __hash__(self) -> int:
        return hash(self.fun)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _HashableCallableShim):
            return bool(self.fun == other.fun)
        return bool(self.fun == other)

    def __repr__(self) -> str:
        return f"_HashableCallableShim({self.fun!r})"


class Partial(functools.partial[object]):
    """``functools.partial`` as a pytree, as JAX's ``tree_util.Partial``: the function is the
    node data (static), the positional and keyword arguments are the children, so a Partial can
    be passed to and returned from transformed functions."""

    def __new__(cls, func: Callable[..., object], *args: object, **kw: object) -> Partial:
        if isinstance(func, functools.partial):
            func = _HashableCallableShim(func)
        return super().__new__(cls, func, *args, **kw)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, children: Partial(func, *children[0], **children[1]),
)
