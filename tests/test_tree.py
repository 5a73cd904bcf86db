"""``refjax.tree`` (``jax.tree``): the same functions as ``refjax.tree_util`` under JAX 0.10's
short names, checked against real ``jax.tree`` on the same trees, and ``tree.static``."""

from __future__ import annotations

import dataclasses
import operator
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import tree_util as rtu
from tests.oracle import jax

TREES: list[Any] = [
    1.0,
    None,
    (1, [2, 3], {"b": 4, "a": (5, None)}),
    [OrderedDict([("z", 1), ("y", [2, 3])]), ()],
    {"w": np.arange(3.0), "b": [np.float32(1.0), 2]},
]

# jax.tree's names and the tree_util functions they are (the same objects, as in JAX)
ALIASES = {
    "all": "tree_all",
    "broadcast": "tree_broadcast",
    "flatten": "tree_flatten",
    "flatten_with_path": "tree_flatten_with_path",
    "leaves": "tree_leaves",
    "leaves_with_path": "tree_leaves_with_path",
    "map": "tree_map",
    "map_with_path": "tree_map_with_path",
    "reduce": "tree_reduce",
    "reduce_associative": "tree_reduce_associative",
    "structure": "tree_structure",
    "transpose": "tree_transpose",
    "unflatten": "tree_unflatten",
}


def test_every_name_is_the_tree_util_function() -> None:
    for short, long in ALIASES.items():
        assert getattr(refjax.tree, short) is getattr(rtu, long), short
    assert sorted(refjax.tree.__all__) == sorted([*ALIASES, "static"])


def test_the_names_are_jax_trees_names() -> None:
    public = {n for n in dir(jax.tree) if not n.startswith("_")}
    assert public == set(refjax.tree.__all__)


def _same(a: Any, b: Any) -> None:
    """Equal leaves (arrays compared as arrays) in the same structure."""
    la, sa = rtu.tree_flatten(a)
    lb, sb = jax.tree.flatten(b)
    assert str(sa) == str(sb)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_functions_match_jax(tree: Any) -> None:
    _same(refjax.tree.map(lambda x: x * 2, tree), jax.tree.map(lambda x: x * 2, tree))
    _same(refjax.tree.map(operator.add, tree, tree), jax.tree.map(operator.add, tree, tree))
    assert [np.asarray(x).tolist() for x in refjax.tree.leaves(tree)] == [
        np.asarray(x).tolist() for x in jax.tree.leaves(tree)]
    assert str(refjax.tree.structure(tree)) == str(jax.tree.structure(tree))
    leaves, treedef = refjax.tree.flatten(tree)
    _same(refjax.tree.unflatten(treedef, leaves), tree)
    try:
        expected: Any = jax.tree.all(tree)
    except ValueError:  # an array leaf has no truth value, in JAX as in numpy
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError):
            refjax.tree.all(tree)
    else:
        assert refjax.tree.all(tree) == expected
    count = refjax.tree.reduce(lambda n, _: n + 1, tree, 0)
    assert count == jax.tree.reduce(lambda n, _: n + 1, tree, 0)
    paths = [(rtu.keystr(p), np.asarray(x).tolist())
             for p, x in refjax.tree.leaves_with_path(tree)]
    assert paths == [(jax.tree_util.keystr(p), np.asarray(x).tolist())
                     for p, x in jax.tree.leaves_with_path(tree)]
    flat, _ = refjax.tree.flatten_with_path(tree)
    assert [rtu.keystr(p) for p, _ in flat] == [p for p, _ in paths]
    _same(refjax.tree.map_with_path(lambda p, x: len(rtu.keystr(p)), tree),
          jax.tree.map_with_path(lambda p, x: len(jax.tree_util.keystr(p)), tree))


def test_transpose_broadcast_and_reduce_associative_match_jax() -> None:
    pairs = [(1, 2), (3, 4), (5, 6)]
    outer, inner = refjax.tree.structure([0, 0, 0]), refjax.tree.structure((0, 0))
    jouter, jinner = jax.tree.structure([0, 0, 0]), jax.tree.structure((0, 0))
    assert refjax.tree.transpose(outer, inner, pairs) == jax.tree.transpose(jouter, jinner, pairs)
    prefix, full = (1, {"a": 2}), ((3, 4), {"a": [5, 6]})
    assert refjax.tree.broadcast(prefix, full) == jax.tree.broadcast(prefix, full)
    tree = [1, (2, 3), {"x": 4}]
    assert refjax.tree.reduce_associative(operator.add, tree) == \
        jax.tree.reduce_associative(operator.add, tree)


@rtu.register_dataclass
@dataclasses.dataclass
class Op:
    """A dataclass node with a static field (registered once, at import)."""

    x: Any
    y: Any
    op: str = refjax.tree.static(default="add", metadata={"doc": "kept"})


def test_static_fields_are_node_data() -> None:
    m = Op(np.ones(2), np.arange(2.0))
    leaves, treedef = refjax.tree.flatten(m)
    assert len(leaves) == 2
    back = refjax.tree.unflatten(treedef, leaves)
    assert back.op == "add"
    field = {f.name: f for f in dataclasses.fields(Op)}["op"]
    assert dict(field.metadata) == {"static": True, "doc": "kept"}
    # another value of a static field is another structure
    assert refjax.tree.structure(Op(1, 2, "mul")) != refjax.tree.structure(Op(1, 2))
