"""Tests of refjax.tree_util: hand-built expectations, and real ``jax.tree_util`` as the oracle."""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable, Hashable
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refjax import tree_util as rtu
from refjax.tree_util import PyTree

# ---------------------------------------------------------------------------------------------
# Node types used by the tests, registered in refjax here and in JAX by ``_jtu()``.

Point = collections.namedtuple("Point", ["x", "y"])
Other = collections.namedtuple("Other", ["x", "y"])


@dataclasses.dataclass
class Box:
    """A custom node: one child, and a tag held as aux data."""

    value: PyTree
    tag: str


def _box_flatten(box: Box) -> tuple[tuple[PyTree], str]:
    return (box.value,), box.tag


def _box_unflatten(tag: str, children: tuple[PyTree, ...]) -> Box:
    return Box(children[0], tag)


@dataclasses.dataclass
class Pair:
    """A custom node registered with keys."""

    first: PyTree
    second: PyTree


def _pair_flatten_with_keys(pair: Pair) -> tuple[list[tuple[Hashable, PyTree]], None]:
    return [(rtu.GetAttrKey("first"), pair.first), (rtu.GetAttrKey("second"), pair.second)], None


def _pair_unflatten(aux: None, children: tuple[PyTree, ...]) -> Pair:
    return Pair(*children)


@dataclasses.dataclass
class Record:
    """A dataclass node: ``x`` and ``y`` are children, ``op`` is static."""

    x: PyTree
    y: PyTree
    op: str


class Leafy(dict[str, int]):
    """A dict subclass that nobody registered: a leaf."""


rtu.register_pytree_node(Box, _box_flatten, _box_unflatten)
rtu.register_pytree_with_keys(Pair, _pair_flatten_with_keys, _pair_unflatten)
rtu.register_dataclass(Record, data_fields=["x", "y"], meta_fields=["op"])


def _jax_pair_flatten_with_keys(pair: Pair) -> tuple[list[tuple[Hashable, PyTree]], None]:
    import jax.tree_util as jtu

    return [(jtu.GetAttrKey("first"), pair.first), (jtu.GetAttrKey("second"), pair.second)], None


@functools.cache
def _registered_jtu() -> ModuleType:
    import jax.tree_util as jtu

    jtu.register_pytree_node(Box, _box_flatten, _box_unflatten)
    jtu.register_pytree_with_keys(Pair, _jax_pair_flatten_with_keys, _pair_unflatten)
    jtu.register_dataclass(Record, data_fields=["x", "y"], meta_fields=["op"])
    return jtu


def _jtu() -> ModuleType:
    """Real ``jax.tree_util`` (skipping the test without JAX), with the test node types."""
    pytest.importorskip("jax")
    return _registered_jtu()


def _outcome(fn: Callable[[ModuleType], object], module: ModuleType) -> tuple[str, object]:
    """What ``fn(module)`` does: ("ok", its result) or (exception class name, message)."""
    try:
        return "ok", fn(module)
    except Exception as e:
        return type(e).__name__, str(e)


def _assert_same_as_jax(fn: Callable[[ModuleType], object]) -> None:
    """``fn`` returns (or raises) the same with refjax.tree_util as with jax.tree_util."""
    assert _outcome(fn, rtu) == _outcome(fn, _jtu())


# ---------------------------------------------------------------------------------------------
# Flattening: hand-built expectations.

FLATTEN_CASES: list[tuple[PyTree, list[PyTree], str]] = [
    (1, [1], "PyTreeDef(*)"),
    (None, [], "PyTreeDef(None)"),
    ((), [], "PyTreeDef(())"),
    ([], [], "PyTreeDef([])"),
    ({}, [], "PyTreeDef({})"),
    ((1,), [1], "PyTreeDef((*,))"),
    ((1, {"b": None, "a": 2}), [1, 2], "PyTreeDef((*, {'a': *, 'b': None}))"),
    ([1, [2, (3, None)]], [1, 2, 3], "PyTreeDef([*, [*, (*, None)]])"),
    ({"b": 1, "a": (2, 3)}, [2, 3, 1], "PyTreeDef({'a': (*, *), 'b': *})"),
    ({10: "x", 2: "y", 1: "z"}, ["z", "y", "x"], "PyTreeDef({1: *, 2: *, 10: *})"),
    (Point(1, (2, 3)), [1, 2, 3], "PyTreeDef(CustomNode(namedtuple[Point], [*, (*, *)]))"),
    (
        collections.OrderedDict([("z", 1), ("a", 2)]),
        [1, 2],
        "PyTreeDef(CustomNode(OrderedDict[('z', 'a')], [*, *]))",
    ),
    (
        collections.defaultdict(list, {"b": 1, "a": 2}),
        [2, 1],
        "PyTreeDef(CustomNode(defaultdict[(<class 'list'>, ('a', 'b'))], [*, *]))",
    ),
    (Box([1, 2], "t"), [1, 2], "PyTreeDef(CustomNode(Box[t], [[*, *]]))"),
    (Record(1, 2, "add"), [1, 2], "PyTreeDef(CustomNode(Record[('add',)], [*, *]))"),
    (Pair(1, None), [1], "PyTreeDef(CustomNode(Pair[None], [*, None]))"),
    (Leafy(a=1), [Leafy(a=1)], "PyTreeDef(*)"),
]


@pytest.mark.parametrize(("tree", "leaves", "text"), FLATTEN_CASES)
def test_flatten_gives_leaves_and_structure(tree: PyTree, leaves: list[PyTree], text: str) -> None:
    got_leaves, treedef = rtu.tree_flatten(tree)
    assert got_leaves == leaves
    assert repr(treedef) == text == str(treedef)
    assert rtu.tree_leaves(tree) == leaves
    assert rtu.tree_structure(tree) == treedef
    assert treedef.num_leaves == len(leaves)


@pytest.mark.parametrize(("tree", "leaves", "text"), FLATTEN_CASES)
def test_unflatten_inverts_flatten(tree: PyTree, leaves: list[PyTree], text: str) -> None:
    got_leaves, treedef = rtu.tree_flatten(tree)
    rebuilt = rtu.tree_unflatten(treedef, got_leaves)
    assert rebuilt == tree
    assert type(rebuilt) is type(tree)
    assert treedef.unflatten(iter(got_leaves)) == tree


def test_unflatten_rebuilds_containers_with_new_leaves() -> None:
    treedef = rtu.tree_structure(
        (Point(0, 0), collections.defaultdict(int, {"b": 0, "a": 0}), {"y": 0, "x": 0})
    )
    point, counts, plain = rtu.tree_unflatten(treedef, "abcdef")
    assert point == Point("a", "b")
    assert type(counts) is collections.defaultdict and counts.default_factory is int
    assert list(counts.items()) == [("a", "c"), ("b", "d")]
    assert list(plain.items()) == [("x", "e"), ("y", "f")]


def test_node_counts_and_children() -> None:
    treedef = rtu.tree_structure((1, (2, 3), None, {"a": 4}))
    assert treedef.num_leaves == 4
    assert treedef.num_nodes == 8  # tuple, *, (*, *) is 3, None, {a: *} is 2
    assert [str(c) for c in treedef.children()] == [
        "PyTreeDef(*)",
        "PyTreeDef((*, *))",
        "PyTreeDef(None)",
        "PyTreeDef({'a': *})",
    ]
    assert rtu.treedef_children(treedef) == treedef.children()
    assert rtu.tree_structure(None).num_nodes == 1
    assert rtu.tree_structure(None).num_leaves == 0
    assert rtu.tree_structure(1).children() == []


def test_is_leaf_stops_flattening() -> None:
    tree = [1, (2, 3), None]
    leaves = rtu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple))
    assert leaves == [1, (2, 3)]
    assert rtu.tree_leaves(tree, is_leaf=lambda x: x is None) == [1, 2, 3, None]
    assert str(rtu.tree_structure(tree, is_leaf=lambda x: x is None)) == "PyTreeDef([*, (*, *), *])"
    assert rtu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, list)) == [tree]


def test_treedef_equality_and_hash() -> None:
    same = [rtu.tree_structure({"a": (1, 2), "b": None}) for _ in range(2)]
    assert same[0] == same[1]
    assert hash(same[0]) == hash(same[1])
    assert len({same[0], same[1]}) == 1
    different = [
        rtu.tree_structure((1, 2)),
        rtu.tree_structure([1, 2]),
        rtu.tree_structure(Point(1, 2)),
        rtu.tree_structure(Other(1, 2)),
        rtu.tree_structure({"a": 1, "b": 2}),
        rtu.tree_structure({"a": 1, "c": 2}),
        rtu.tree_structure(collections.OrderedDict(a=1, b=2)),
        rtu.tree_structure(collections.OrderedDict(b=1, a=2)),
        rtu.tree_structure(Box((1, 2), "t")),
        rtu.tree_structure(Box((1, 2), "u")),
        rtu.tree_structure((1, None)),
        rtu.tree_structure((1, (2,))),
    ]
    for i, a in enumerate(different):
        for j, b in enumerate(different):
            assert (a == b) == (i == j), (a, b)
    assert rtu.tree_structure(1) != 1


def test_node_data() -> None:
    assert rtu.tree_structure(1).node_data() is None
    assert rtu.tree_structure(None).node_data() == (type(None), None)
    assert rtu.tree_structure((1,)).node_data() == (tuple, None)
    assert rtu.tree_structure({"b": 1, "a": 2}).node_data() == (dict, ["a", "b"])
    assert rtu.tree_structure(Point(1, 2)).node_data() == (Point, None)
    assert rtu.tree_structure(Box(1, "t")).node_data() == (Box, "t")


def test_treedef_helpers() -> None:
    assert rtu.treedef_is_leaf(rtu.tree_structure(1))
    assert rtu.treedef_is_leaf(rtu.tree_structure(None))
    assert rtu.treedef_is_leaf(rtu.tree_structure(()))
    assert not rtu.treedef_is_leaf(rtu.tree_structure((1,)))
    pair = rtu.treedef_tuple([rtu.tree_structure(1), rtu.tree_structure([1, 2])])
    assert pair == rtu.tree_structure((0, [0, 0]))
    composed = rtu.tree_structure([1, None, 2]).compose(rtu.tree_structure((1, 2)))
    assert composed == rtu.tree_structure([(0, 0), None, (0, 0)])
    assert composed.num_leaves == 4


def test_all_leaves() -> None:
    assert rtu.all_leaves([1, "a", 2.0])
    assert not rtu.all_leaves([1, (2,)])
    assert not rtu.all_leaves([1, None])
    assert rtu.all_leaves([1, (2,)], is_leaf=lambda x: isinstance(x, tuple))


def test_is_tree_node() -> None:
    for typ in (tuple, list, dict, type(None), Point, Box, collections.OrderedDict):
        assert rtu.is_tree_node(typ)
    for typ in (int, Leafy, str):
        assert not rtu.is_tree_node(typ)


def test_flatten_one_level() -> None:
    children, meta = rtu.flatten_one_level({"b": 1, "a": 2})
    assert (list(children), meta) == ([2, 1], ("a", "b"))
    children, meta = rtu.flatten_one_level(Point(1, 2))
    assert (list(children), meta) == ([1, 2], Point)
    with pytest.raises(ValueError, match="can't tree-flatten type: <class 'int'>"):
        rtu.flatten_one_level(1)


# ---------------------------------------------------------------------------------------------
# Mapping and reducing: hand-built expectations.


def test_tree_map_one_and_several_trees() -> None:
    tree = {"a": (1, 2), "b": [3, None]}
    assert rtu.tree_map(lambda x: x * 10, tree) == {"a": (10, 20), "b": [30, None]}
    other = {"a": (4, 5), "b": [6, None]}
    assert rtu.tree_map(lambda x, y: x + y, tree, other) == {"a": (5, 7), "b": [9, None]}


def test_tree_map_rest_may_have_subtrees_at_leaves() -> None:
    out = rtu.tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), None])
    assert out == [(1, (3, 4)), (2, None)]


def test_tree_map_is_leaf() -> None:
    out = rtu.tree_map(len, [(1, 2), [(3,)]], is_leaf=lambda x: isinstance(x, tuple))
    assert out == [2, [1]]


def test_tree_reduce_and_all() -> None:
    assert rtu.tree_reduce(lambda a, b: a + b, [1, (2, 3), None]) == 6
    assert rtu.tree_reduce(lambda a, b: a + b, [], 10) == 10
    assert rtu.tree_reduce(lambda a, b: (a, b), [1, [2, 3]]) == ((1, 2), 3)
    with pytest.raises(TypeError, match="reduce"):
        rtu.tree_reduce(lambda a, b: a + b, [])
    assert rtu.tree_reduce_associative(lambda a, b: (a, b), [1, 2, 3, 4]) == ((1, 2), (3, 4))
    with pytest.raises(TypeError, match="Must specify identity"):
        rtu.tree_reduce_associative(lambda a, b: a + b, [])
    assert rtu.tree_all([True, (1, "x")])
    assert not rtu.tree_all([True, (0,)])
    assert rtu.tree_all([None, ()])


def test_tree_transpose() -> None:
    outer, inner = rtu.tree_structure([0, 0]), rtu.tree_structure((0, 0, 0))
    tree = [(1, 2, 3), (4, 5, 6)]
    assert rtu.tree_transpose(outer, inner, tree) == ([1, 4], [2, 5], [3, 6])
    assert rtu.tree_transpose(outer, None, tree) == ([1, 4], [2, 5], [3, 6])
    with pytest.raises(TypeError, match="Mismatch"):
        rtu.tree_transpose(outer, inner, [(1, 2, 3), (4, 5)])


def test_tree_broadcast() -> None:
    assert rtu.tree_broadcast([1, 2], [(3, 4), {"a": 5}]) == [(1, 1), {"a": 2}]
    assert rtu.broadcast_prefix((1, 2), ((3, 4), 5)) == [1, 1, 2]
    with pytest.raises(ValueError, match="different lengths of list"):
        rtu.tree_broadcast([1, 2], [(3, 4)])


# ---------------------------------------------------------------------------------------------
# Key paths: hand-built expectations.


def test_flatten_with_path_and_keystr() -> None:
    tree = {"a": [1, Point(2, 3)], "b": Box(4, "t"), "c": Pair(5, 6)}
    pairs, treedef = rtu.tree_flatten_with_path(tree)
    assert treedef == rtu.tree_structure(tree)
    assert [(rtu.keystr(p), x) for p, x in pairs] == [
        ("['a'][0]", 1),
        ("['a'][1].x", 2),
        ("['a'][1].y", 3),
        ("['b'][<flat index 0>]", 4),
        ("['c'].first", 5),
        ("['c'].second", 6),
    ]
    assert pairs[1][0] == (rtu.DictKey("a"), rtu.SequenceKey(1), rtu.GetAttrKey("x"))
    assert pairs[3][0][1] == rtu.FlattenedIndexKey(0)
    simple = rtu.keystr(pairs[1][0], simple=True, separator="/")
    assert simple == "a/1/x"


def test_key_reprs() -> None:
    assert repr(rtu.SequenceKey(0)) == "SequenceKey(idx=0)"
    assert repr(rtu.DictKey("a")) == "DictKey(key='a')"
    assert repr(rtu.GetAttrKey("x")) == "GetAttrKey(name='x')"
    assert repr(rtu.FlattenedIndexKey(1)) == "FlattenedIndexKey(key=1)"
    assert rtu.DictKey("a") != rtu.GetAttrKey("a")
    assert hash(rtu.SequenceKey(2)) == hash(rtu.SequenceKey(2))


def test_map_with_path() -> None:
    out = rtu.tree_map_with_path(
        lambda p, x, y: (rtu.keystr(p), x + y), [1, {"k": 2}], [3, {"k": 4}]
    )
    assert out == [("[0]", 4), {"k": ("[1]['k']", 6)}]
    leaves = rtu.tree_leaves_with_path(
        [1, (2,)], is_leaf=lambda p, x: len(p) == 1, is_leaf_takes_path=True
    )
    assert leaves == [((rtu.SequenceKey(0),), 1), ((rtu.SequenceKey(1),), (2,))]


# ---------------------------------------------------------------------------------------------
# Registration


@pytest.mark.usefixtures("restore_rule_tables")
def test_register_pytree_node_class_decorator() -> None:
    @rtu.register_pytree_node_class
    class Scaled:
        def __init__(self, value: PyTree, scale: float) -> None:
            self.value, self.scale = value, scale

        def tree_flatten(self) -> tuple[tuple[PyTree], float]:
            return (self.value,), self.scale

        @classmethod
        def tree_unflatten(cls, scale: float, children: tuple[PyTree, ...]) -> Scaled:
            return cls(children[0], scale)

    leaves, treedef = rtu.tree_flatten(Scaled((1, 2), 0.5))
    assert leaves == [1, 2]
    assert str(treedef) == "PyTreeDef(CustomNode(Scaled[0.5], [(*, *)]))"
    rebuilt = treedef.unflatten([3, 4])
    assert isinstance(rebuilt, Scaled)
    assert (rebuilt.value, rebuilt.scale) == ((3, 4), 0.5)


@pytest.mark.usefixtures("restore_rule_tables")
def test_register_with_keys_class_and_static() -> None:
    @rtu.register_pytree_with_keys_class
    class Named:
        def __init__(self, a: PyTree) -> None:
            self.a = a

        def tree_flatten_with_keys(self) -> tuple[list[tuple[Hashable, PyTree]], None]:
            return [(rtu.GetAttrKey("a"), self.a)], None

        @classmethod
        def tree_unflatten(cls, aux: None, children: tuple[PyTree, ...]) -> Named:
            return cls(*children)

    @rtu.register_static
    @dataclasses.dataclass(frozen=True)
    class Config:
        name: str

    tree = [Named(1), Config("c")]
    assert [rtu.keystr(p) for p, _ in rtu.tree_leaves_with_path(tree)] == ["[0].a"]
    leaves, treedef = rtu.tree_flatten(tree)
    assert leaves == [1]
    assert treedef.unflatten([2])[1] == Config("c")


@pytest.mark.usefixtures("restore_rule_tables")
def test_register_dataclass_without_field_lists() -> None:
    @rtu.register_dataclass
    @dataclasses.dataclass
    class Params:
        w: PyTree
        n: int = dataclasses.field(metadata={"static": True})

    leaves, treedef = rtu.tree_flatten(Params((1, 2), 3))
    assert leaves == [1, 2]
    assert treedef.unflatten([5, 6]) == Params((5, 6), 3)
    with pytest.raises(TypeError, match="data_fields and meta_fields must both be specified"):
        rtu.register_dataclass(Params, data_fields=["w"])


@pytest.mark.usefixtures("restore_rule_tables")
def test_registering_a_type_twice_raises() -> None:
    class Twice:
        pass

    rtu.register_pytree_node(Twice, lambda t: ((), None), lambda aux, children: Twice())
    with pytest.raises(ValueError, match="Duplicate custom PyTreeDef type registration for"):
        rtu.register_pytree_node(Twice, lambda t: ((), None), lambda aux, children: Twice())
    for builtin in (list, tuple, dict, type(None), collections.OrderedDict):
        with pytest.raises(ValueError, match="Duplicate custom PyTreeDef type registration"):
            rtu.register_pytree_node(builtin, lambda t: ((), None), lambda aux, children: None)


# ---------------------------------------------------------------------------------------------
# Errors: class and key phrase.


def test_unflatten_with_wrong_leaf_count() -> None:
    treedef = rtu.tree_structure((1, (2, 3)))
    with pytest.raises(ValueError, match=r"^Too few leaves for PyTreeDef; expected 3, got 2$"):
        treedef.unflatten([1, 2])
    with pytest.raises(ValueError, match=r"^Too many leaves for PyTreeDef; expected 3\.$"):
        rtu.tree_unflatten(treedef, [1, 2, 3, 4])


FLATTEN_UP_TO_ERRORS: list[tuple[PyTree, PyTree, str]] = [
    ((1, 2), (1, 2, 3), "Tuple arity mismatch: 3 != 2; tuple: (1, 2, 3)."),
    ((1, 2), [1, 2], "Expected tuple, got [1, 2]."),
    ([1, 2], [1], "List arity mismatch: 1 != 2; list: [1]."),
    ({"a": 1}, {"b": 1}, "Dict key mismatch; expected keys: ['a']; present keys: ['b']."),
    ({"a": 1}, [1], "Expected dict, got [1]."),
    (None, 1, "Expected None, got 1."),
    (Point(1, 2), (1, 2), "Expected named tuple, got (1, 2)."),
    (Point(1, 2), Other(1, 2), "Named tuple type mismatch: expected type: "),
    (Box(1, "t"), Box(1, "u"), "Mismatch custom node data: 't' != 'u'"),
    (Box(1, "t"), (1,), "Custom node type mismatch: expected type: "),
    (Record(1, 2, "a"), Record(1, 2, "b"), "Mismatch custom dataclass node data: ('a',) != "),
]


@pytest.mark.parametrize(("prefix", "full", "phrase"), FLATTEN_UP_TO_ERRORS)
def test_flatten_up_to_errors(prefix: PyTree, full: PyTree, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        rtu.tree_structure(prefix).flatten_up_to(full)
    assert str(info.value).startswith(phrase)


TREE_MAP_ERRORS: list[tuple[PyTree, PyTree, str]] = [
    ((1, 2), (1, 2, 3), "different lengths of tuple at key path\n    tree_map tree\n"),
    ((1, 2), [1, 2], "different types at key path"),
    ([1, {"a": (1, 2)}], [1, {"a": (1, 2, 3)}], "    tree_map tree[1]['a']\n"),
    ({"a": 1}, {"b": 1}, "different pytree metadata at key path"),
    ({"a": 1}, {"a": 1, "b": 2}, "different numbers of pytree children at key path"),
    (Box(1, "t"), Box(1, "u"), "so the diff in the metadata at these pytree nodes is"),
    ([1, None], [1, 2], "    tree_map tree[1]\n"),
]


@pytest.mark.parametrize(("tree", "other", "phrase"), TREE_MAP_ERRORS)
def test_tree_map_structure_errors(tree: PyTree, other: PyTree, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        rtu.tree_map(lambda x, y: x, tree, other)
    message = str(info.value)
    assert message.startswith("pytree structure error: ")
    assert phrase in message


def test_mismatch_inside_namedtuple_names_its_field() -> None:
    with pytest.raises(ValueError) as info:
        rtu.tree_map(lambda x, y: x, Point(None, None), Point(None, ()))
    assert "    tree_map tree.y\n" in str(info.value)


def test_unsortable_dict_keys() -> None:
    with pytest.raises(ValueError, match="Comparator raised exception while sorting"):
        rtu.tree_flatten({1: 1, "a": 2})


# ---------------------------------------------------------------------------------------------
# JAX as the oracle: fixed cases.

ORACLE_TREES: list[PyTree] = [
    *(tree for tree, _, _ in FLATTEN_CASES),
    {"a": [1, Point(2, Box((3, None), "t"))], "b": collections.OrderedDict(z=4, y=())},
    [Record((1, 2), {"k": 3}, "op"), Pair([4], None), collections.defaultdict(int, q=(5,))],
    ((((1,),),), [[[]]], {"x": {"y": {}}}),
]


@pytest.mark.parametrize("tree", ORACLE_TREES)
def test_flatten_matches_jax(tree: PyTree) -> None:
    def summary(tu: ModuleType) -> object:
        leaves, treedef = tu.tree_flatten(tree)
        return (
            leaves,
            str(treedef),
            treedef.num_leaves,
            treedef.num_nodes,
            treedef.node_data(),
            [str(c) for c in treedef.children()],
            tu.treedef_is_leaf(treedef),
            tu.all_leaves(leaves),
        )

    _assert_same_as_jax(summary)


@pytest.mark.parametrize("tree", ORACLE_TREES)
def test_paths_match_jax(tree: PyTree) -> None:
    _assert_same_as_jax(
        lambda tu: [(repr(p), tu.keystr(p), x) for p, x in tu.tree_leaves_with_path(tree)]
    )
    _assert_same_as_jax(lambda tu: tu.tree_map_with_path(lambda p, x: tu.keystr(p), tree))


@pytest.mark.parametrize("tree", ORACLE_TREES)
def test_one_level_matches_jax(tree: PyTree) -> None:
    # JAX 0.10's flatten_one_level_with_keys names every namedtuple child after the first field
    # (its tree_flatten_with_path does not); refjax gives each child its own field name.
    keys_too = not isinstance(tree, Point)

    def one_level(tu: ModuleType) -> object:
        children, meta = tu.flatten_one_level(tree)
        pairs, meta_k = tu.flatten_one_level_with_keys(tree)
        keys = [repr(k) for k, _ in pairs] if keys_too else []
        return list(children), meta, keys, [c for _, c in pairs], meta_k

    _assert_same_as_jax(one_level)


def test_one_level_with_keys_of_namedtuple() -> None:
    pairs, meta = rtu.flatten_one_level_with_keys(Point(1, 2))
    assert list(pairs) == [(rtu.GetAttrKey("x"), 1), (rtu.GetAttrKey("y"), 2)]
    assert meta is Point


ORACLE_ERRORS: list[Callable[[ModuleType], object]] = [
    *(
        functools.partial(lambda tu, p, f: tu.tree_structure(p).flatten_up_to(f), p=p, f=f)
        for p, f, _ in FLATTEN_UP_TO_ERRORS
    ),
    *(
        functools.partial(lambda tu, t, o: tu.tree_map(lambda x, y: x, t, o), t=t, o=o)
        for t, o, _ in TREE_MAP_ERRORS
    ),
    lambda tu: tu.tree_structure((1, (2, 3))).unflatten([1, 2]),
    lambda tu: tu.tree_structure((1, (2, 3))).unflatten([1, 2, 3, 4]),
    lambda tu: tu.tree_structure(None).unflatten([1]),
    lambda tu: tu.tree_structure([(1, 2), {"a": 1}]).flatten_up_to([(1,), {"b": 1}]),
    lambda tu: tu.tree_structure(Box((1, 2), "t")).flatten_up_to(Box((1,), "t")),
    lambda tu: tu.tree_map(lambda x, y: x, Box((1, 2), "t"), Box((1,), "t")),
    lambda tu: tu.tree_map(lambda x, y: x, Pair(1, (2, 3)), Pair(1, (2,))),
    lambda tu: tu.tree_map(lambda x, y: x, Record(1, 2, "a"), Record(1, 2, "b")),
    lambda tu: tu.tree_map(lambda x, y: x, Point(1, 2), Other(1, 2)),
    lambda tu: tu.tree_map(lambda x, y: x, collections.OrderedDict(a=1, b=2), {"a": 1, "b": 2}),
    lambda tu: tu.tree_map(lambda x, y, z: x, [1, 2], [1, 2], [1]),
    lambda tu: tu.tree_map_with_path(lambda p, x, y: x, [1, 2], [3]),
    lambda tu: tu.tree_broadcast([1, 2], [(3, 4)]),
    lambda tu: tu.tree_flatten({1: 1, "a": 2}),
    lambda tu: tu.tree_transpose(
        tu.tree_structure([0, 0]), tu.tree_structure((0, 0, 0)), [(1, 2, 3), (4, 5)]
    ),
    lambda tu: tu.tree_reduce_associative(lambda a, b: a + b, []),
    lambda tu: tu.flatten_one_level(1),
]


@pytest.mark.parametrize("fn", ORACLE_ERRORS)
def test_errors_match_jax(fn: Callable[[ModuleType], object]) -> None:
    kind, _ = _outcome(fn, rtu)
    assert kind != "ok"
    _assert_same_as_jax(fn)


@pytest.mark.usefixtures("restore_rule_tables")
def test_duplicate_registration_matches_jax() -> None:
    class Twice:
        pass

    def register_twice(tu: ModuleType) -> None:
        for _ in range(2):
            tu.register_pytree_node(Twice, lambda t: ((), None), lambda aux, children: Twice())

    assert _outcome(register_twice, rtu) == _outcome(register_twice, _jtu())
    assert _outcome(register_twice, rtu)[0] == "ValueError"


MAP_CASES: list[tuple[PyTree, ...]] = [
    ([1, 2], [(3, 4), None]),
    ({"a": 1, "b": Point(2, 3)}, {"a": [9], "b": Point((), 5)}),
    (Box(1, "t"), Box({"k": 2}, "t")),
    ([1, (2, 3)], [1, (2, 3)], [4, (5, 6)]),
    (None, None),
    (1, None),
]


@pytest.mark.parametrize("trees", MAP_CASES)
def test_tree_map_matches_jax(trees: tuple[PyTree, ...]) -> None:
    _assert_same_as_jax(lambda tu: tu.tree_map(lambda *xs: xs, *trees))
    _assert_same_as_jax(lambda tu: tu.tree_map_with_path(lambda p, *xs: (repr(p), xs), *trees))
    _assert_same_as_jax(lambda tu: tu.tree_broadcast(trees[0], trees[1]))


def test_reductions_match_jax() -> None:
    tree = [1, (2, None, {"a": 3, "b": [4]})]
    _assert_same_as_jax(lambda tu: tu.tree_reduce(lambda a, b: (a, b), tree))
    _assert_same_as_jax(lambda tu: tu.tree_reduce(lambda a, b: (a, b), tree, 0))
    _assert_same_as_jax(lambda tu: tu.tree_reduce_associative(lambda a, b: (a, b), tree))
    _assert_same_as_jax(lambda tu: [tu.tree_all(t) for t in (tree, [0, 1], [], [None])])
    _assert_same_as_jax(
        lambda tu: tu.tree_transpose(
            tu.tree_structure([0, 0]), None, [(1, {"a": 2}), (3, {"a": 4})]
        )
    )


# ---------------------------------------------------------------------------------------------
# Property tests: random nested structures, against hand-built identities and against JAX.

_LEAVES = st.integers(-3, 3)
_KEYS = st.sampled_from(["a", "b", "c"])


def _containers(
    children: st.SearchStrategy[PyTree], namedtuples: bool = True
) -> st.SearchStrategy[PyTree]:
    return st.one_of(
        st.lists(children, max_size=3).map(tuple),
        st.lists(children, max_size=3),
        st.dictionaries(_KEYS, children, max_size=3),
        st.builds(Point, children, children) if namedtuples else st.nothing(),
        st.dictionaries(_KEYS, children, max_size=3).map(collections.OrderedDict),
        st.dictionaries(_KEYS, children, max_size=2).map(lambda d: collections.defaultdict(int, d)),
        st.builds(Box, children, st.sampled_from(["p", "q"])),
        st.builds(Pair, children, children),
        st.builds(Record, children, children, st.sampled_from(["+", "*"])),
    )


TREES = st.recursive(st.none() | _LEAVES, _containers, max_leaves=10)
# Without namedtuples, for comparing error messages: JAX 0.10 names the wrong field in the key path
# of a mismatch inside a namedtuple (see test_mismatch_inside_namedtuple_names_its_field).
TREES_NO_NAMEDTUPLE = st.recursive(
    st.none() | _LEAVES, functools.partial(_containers, namedtuples=False), max_leaves=10
)


@given(TREES)
def test_flatten_then_unflatten_is_identity(tree: PyTree) -> None:
    leaves, treedef = rtu.tree_flatten(tree)
    assert rtu.tree_unflatten(treedef, leaves) == tree
    assert treedef.num_leaves == len(leaves)
    assert rtu.tree_structure(rtu.tree_unflatten(treedef, leaves)) == treedef
    assert rtu.tree_flatten_with_path(tree)[1] == treedef
    assert [x for _, x in rtu.tree_leaves_with_path(tree)] == leaves


@given(TREES)
def test_map_and_structure_agree(tree: PyTree) -> None:
    leaves, treedef = rtu.tree_flatten(tree)
    mapped = rtu.tree_map(lambda x: ("leaf", x), tree)
    assert rtu.tree_leaves(
        mapped, is_leaf=lambda x: isinstance(x, tuple) and x[:1] == ("leaf",)
    ) == [("leaf", x) for x in leaves]
    assert rtu.tree_structure(rtu.tree_map(lambda x: 0, tree)) == treedef
    assert rtu.tree_map(lambda x, y: y, tree, tree) == tree
    assert treedef.flatten_up_to(tree) == leaves
    assert hash(rtu.tree_structure(tree)) == hash(treedef)


@given(TREES)
@settings(max_examples=100)
def test_random_trees_match_jax(tree: PyTree) -> None:
    _assert_same_as_jax(lambda tu: (lambda lt: (lt[0], str(lt[1])))(tu.tree_flatten(tree)))
    _assert_same_as_jax(lambda tu: tu.tree_map(lambda x: (x, x), tree))
    _assert_same_as_jax(lambda tu: tu.tree_leaves(tree, is_leaf=lambda x: isinstance(x, tuple)))
    _assert_same_as_jax(lambda tu: [(tu.keystr(p), x) for p, x in tu.tree_leaves_with_path(tree)])
    _assert_same_as_jax(
        lambda tu: (lambda td: (td.num_nodes, td.num_leaves, str(td.children())))(
            tu.tree_structure(tree)
        )
    )


def _comparable(outcome: tuple[str, object]) -> tuple[str, object]:
    """An outcome with the symmetric-difference key list as a set (JAX prints a set, unordered)."""
    kind, value = outcome
    if isinstance(value, str) and "symmetric difference on key sets is\n" in value:
        head, keys = value.rsplit("\n", 1)
        return kind, (head, frozenset(keys.split()))
    return outcome


@given(TREES_NO_NAMEDTUPLE, TREES_NO_NAMEDTUPLE)
@settings(max_examples=150)
def test_random_pairs_match_jax(first: PyTree, second: PyTree) -> None:
    jtu = _jtu()

    def map_pair(tu: ModuleType) -> object:
        return tu.tree_map(lambda x, y: (x, y), first, second)

    def equal_structures(tu: ModuleType) -> object:
        return tu.tree_structure(first) == tu.tree_structure(second)

    assert _comparable(_outcome(map_pair, rtu)) == _comparable(_outcome(map_pair, jtu))
    assert _outcome(equal_structures, rtu) == _outcome(equal_structures, jtu)


@given(st.data())
@settings(max_examples=100)
def test_random_prefix_trees_match_jax(data: st.DataObject) -> None:
    prefix = data.draw(TREES_NO_NAMEDTUPLE)
    treedef = rtu.tree_structure(prefix)
    full = treedef.unflatten([data.draw(TREES_NO_NAMEDTUPLE) for _ in range(treedef.num_leaves)])
    _assert_same_as_jax(lambda tu: tu.tree_map(lambda x, y: (x, y), prefix, full))
    _assert_same_as_jax(lambda tu: tu.tree_structure(prefix).flatten_up_to(full))
    _assert_same_as_jax(lambda tu: tu.tree_broadcast(prefix, full))
