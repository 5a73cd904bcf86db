"""``jnp.einsum``: Einstein summation as a sequence of pairwise ``dot_general`` contractions.

The subscripts are parsed into one string of index names per operand (an ellipsis becomes unused
letters). A greedy path contracts, at each step, the pair of operands whose result is smallest,
as opt_einsum's paths do for the small expressions it optimises exactly; each step first sums out
names that only one side carries, takes diagonals of repeated names, and then contracts the pair
with one ``dot_general`` whose batch dimensions are the names both sides keep.
"""

from __future__ import annotations

import collections
import itertools
import math
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from refjax import dtypes, lax
from refjax.dtypes import DType, DTypeLike
from refjax.interp.core import Array
from refjax.numpy._util import check_arraylike, ensure_arraylike, user_dtype
from refjax.primitives.constants import constant, convert


@dataclass(frozen=True, slots=True)
class Contraction:
    """One step of an einsum path: which operands, which names vanish, and the einsum string."""

    operands: tuple[int, ...]  # positions in the current operand list, highest first
    removed: frozenset[str]  # names summed away by this step
    inputs: tuple[str, ...]  # the operands' names, in ``operands`` order
    result: str  # the names of the step's result


def einsum(
    subscripts: Any,
    /,
    *operands: Any,
    out: None = None,
    optimize: str | bool | Sequence[Any] = "auto",
    precision: Any = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """Einstein summation over the operands described by ``subscripts`` ("ij,jk->ik")."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.einsum is not supported.")
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved_to_subscripts(subscripts, operands)
    check_arraylike("einsum", *operands)
    arrays = ensure_arraylike("einsum", *operands)
    inputs, output = parse_subscripts(subscripts, [a.ndim for a in arrays])
    sizes = _label_sizes(inputs, [a.shape for a in arrays])
    path = contraction_path(inputs, output, sizes, optimize)
    if preferred_element_type is None:
        dtype, weak = dtypes.lattice_result_type(*arrays)
    else:
        dtype, weak = user_dtype(preferred_element_type, "einsum"), False
    result = _run_path(list(arrays), path, dtype, precision)
    return convert(result, dtype, bool(weak))


@dataclass(frozen=True, slots=True)
class EinsumPathInfo:
    """What ``einsum_path`` prints: the contraction and each pairwise step of its path."""

    subscripts: str
    steps: tuple[tuple[str, str], ...]  # (this step's einsum, the operands left afterwards)

    def __str__(self) -> str:
        lines = [f"  Complete contraction:  {self.subscripts}", "-" * 60,
                 f"{'current':>30}  {'remaining':>27}", "-" * 60]
        lines += [f"{now:>30}  {left:>27}" for now, left in self.steps]
        return "\n".join(lines)


def einsum_path(
    subscripts: Any, /, *operands: Any, optimize: str | bool | Sequence[Any] = "auto"
) -> tuple[list[tuple[int, ...]], EinsumPathInfo]:
    """The path ``einsum`` takes for these operands (pairs of positions, each pair's result
    appended to the operands left), and a printable description of it. The path can be given
    back to ``einsum(..., optimize=path)``. Operands may be arrays or anything with a shape."""
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved_to_subscripts(subscripts, operands)
    shapes = [tuple(np.shape(op)) for op in operands]  # ``.shape`` first: tracers work too
    inputs, output = parse_subscripts(subscripts, [len(s) for s in shapes])
    sizes = _label_sizes(inputs, shapes)
    path = contraction_path(inputs, output, sizes, optimize)
    terms = list(inputs)
    described: list[tuple[str, str]] = []
    for step in path:
        for k in step.operands:  # highest first, as the path removes them
            terms.pop(k)
        terms.append(step.result)
        described.append((",".join(step.inputs) + "->" + step.result,
                          ",".join(terms) + "->" + output))
    full = ",".join(inputs) + "->" + output
    return ([tuple(sorted(step.operands)) for step in path],
            EinsumPathInfo(full, tuple(described)))


# ---------------------------------------------------------------------------------------------
# Parsing


def _interleaved_to_subscripts(first: Any, rest: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as a subscripts string and its operands."""
    args = (first, *rest)
    arrays, specs = list(args[0::2]), list(args[1::2])
    out_spec = arrays.pop() if len(arrays) > len(specs) else None
    letters = string.ascii_letters

    def name(axes: Sequence[Any]) -> str:
        return "".join("..." if ax is Ellipsis else letters[int(ax)] for ax in axes)

    text = ",".join(name(s) for s in specs)
    if out_spec is not None:
        text += "->" + name(out_spec)
    return text, tuple(arrays)


def parse_subscripts(subscripts: str, ndims: Sequence[int]) -> tuple[list[str], str]:
    """One name string per operand and the output's names, with ellipses made explicit."""
    text = subscripts.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"Number of einsum subscripts, {len(terms)}, must be equal to the number of "
            f"operands, {len(ndims)}."
        )
    used = set(text) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    ell_len = max((nd - (len(t) - 3) for t, nd in zip(terms, ndims, strict=True) if "..." in t),
                  default=0)
    ell_names = "".join(spare[:ell_len])
    inputs = [_expand_ellipsis(t, nd, ell_names) for t, nd in zip(terms, ndims, strict=True)]
    if arrow:
        if "..." in rhs:
            rhs = rhs.replace("...", ell_names)
        output = rhs
    else:
        counts = collections.Counter("".join(inputs))
        singles = sorted(c for c, n in counts.items() if n == 1 and c not in ell_names)
        output = ell_names + "".join(singles)
    for name in output:
        if name not in "".join(inputs):
            raise ValueError(f"Output character '{name}' did not appear in the input")
    if len(set(output)) != len(output):
        raise ValueError(f"Output subscript '{output}' contains a repeated character.")
    return inputs, output


def _expand_ellipsis(term: str, ndim: int, ell_names: str) -> str:
    """``term`` with ``...`` replaced by the trailing names of ``ell_names`` it covers."""
    if "..." not in term:
        if len(term) != ndim:
            raise ValueError(
                f"Einstein sum subscript '{term}' does not contain the correct number of "
                f"indices for operand with {ndim} dimensions."
            )
        return term
    covered = ndim - (len(term) - 3)
    if covered < 0:
        raise ValueError(f"Einstein sum subscript '{term}' has too many indices for operand "
                         f"with {ndim} dimensions.")
    return term.replace("...", ell_names[len(ell_names) - covered:])


def _label_sizes(inputs: Sequence[str], shapes: Sequence[tuple[int, ...]]) -> dict[str, int]:
    """The size of every name; size-1 dimensions broadcast against larger ones."""
    sizes: dict[str, int] = {}
    for k, (term, shape) in enumerate(zip(inputs, shapes, strict=True)):
        for name, dim in zip(term, shape, strict=True):
            if sizes.get(name, 1) == 1:
                sizes[name] = dim
            elif dim not in (1, sizes[name]):
                raise ValueError(
                    f"Size of label '{name}' for operand {k} ({sizes[name]}) does not match "
                    f"previous terms ({dim})."
                )
    return sizes


# ---------------------------------------------------------------------------------------------
# The contraction path


def contraction_path(
    inputs: Sequence[str], output: str, sizes: dict[str, int],
    optimize: str | bool | Sequence[Any] = "auto",
) -> list[Contraction]:
    """The pairwise contractions that compute the einsum: chosen greedily by result size, in
    order with ``optimize=False``, or as given by an explicit path (``einsum_path``'s first
    result: pairs of positions in the current operand list, the pair's result appended)."""
    terms = list(inputs)
    steps: list[Contraction] = []
    given = None if isinstance(optimize, (str, bool)) else _explicit_path(optimize, len(terms))
    if len(terms) == 1:
        return [Contraction((0,), frozenset(terms[0]) - frozenset(output), (terms[0],), output)]
    while len(terms) > 1:
        if given is not None:
            pair = given[len(steps)]
        else:
            pair = (0, 1) if optimize is False else _cheapest_pair(terms, output, sizes)
        steps.append(_contract_step(terms, pair, output, last=len(terms) == 2))
    return steps


def _explicit_path(path: Sequence[Any], n: int) -> list[tuple[int, int]]:
    """A user's path checked step by step: each step two distinct positions among the operands
    left (numpy's paths may start with the word ``'einsum_path'``)."""
    steps = [tuple(step) for step in path if not isinstance(step, str)]
    if n == 1 and steps in ([], [(0,)]):
        return []
    if len(steps) != n - 1:
        raise ValueError(f"einsum path {list(path)} has {len(steps)} contractions; "
                         f"{n} operands need {n - 1}")
    pairs: list[tuple[int, int]] = []
    for k, step in enumerate(steps):
        left = n - k
        if (len(step) != 2 or not all(isinstance(i, int) and 0 <= i < left for i in step)
                or step[0] == step[1]):
            raise ValueError(f"einsum path step {k} is {step}: refjax contracts pairs, two "
                             f"distinct positions below {left}")
        pairs.append((int(step[0]), int(step[1])))
    return pairs


def _kept_names(terms: Sequence[str], pair: tuple[int, int], output: str) -> frozenset[str]:
    """Names of the pair that the output or another operand still needs."""
    others = [t for k, t in enumerate(terms) if k not in pair]
    needed = frozenset(output).union(*others)
    return frozenset(terms[pair[0]] + terms[pair[1]]) & needed


def _cheapest_pair(terms: Sequence[str], output: str, sizes: dict[str, int]) -> tuple[int, int]:
    """The pair of operands whose contraction gives the smallest result (then the fewest flops)."""
    def cost(pair: tuple[int, int]) -> tuple[int, int, tuple[int, int]]:
        kept = _kept_names(terms, pair, output)
        flops = math.prod(sizes[n] for n in set(terms[pair[0]] + terms[pair[1]]))
        return math.prod(sizes[n] for n in kept), flops, pair

    pairs = [(i, j) for i in range(len(terms)) for j in range(i + 1, len(terms))]
    return min(pairs, key=cost)


def _contract_step(
    terms: list[str], pair: tuple[int, int], output: str, last: bool
) -> Contraction:
    """Record contracting ``pair`` and replace it in ``terms`` by its result (at the end)."""
    kept = _kept_names(terms, pair, output)
    removed = frozenset(terms[pair[0]] + terms[pair[1]]) - kept
    hi, lo = max(pair), min(pair)
    taken = (terms.pop(hi), terms.pop(lo))
    if last:
        result = output
    else:
        joined = "".join(taken)
        result = "".join(sorted(kept, key=joined.find))
    terms.append(result)
    return Contraction((hi, lo), removed, taken, result)


# ---------------------------------------------------------------------------------------------
# Running the path


def _run_path(
    operands: list[Array], path: Sequence[Contraction], dtype: DType, precision: Any
) -> Array:
    for step in path:
        parts = [operands.pop(k) for k in step.operands]
        if len(parts) == 1:
            value, names = _reduce_one(parts[0], step.inputs[0], step.removed, step.result, dtype)
        else:
            value, names = _contract_pair(parts[0], parts[1], step, dtype, precision)
        if names != step.result:
            value = lax.transpose(value, tuple(names.index(n) for n in step.result))
        operands.append(value)
    return operands[0]


def _sum(x: Array, axes: Sequence[int], dtype: DType) -> Array:
    """Sum over ``axes`` in the einsum's accumulation dtype."""
    if dtypes.result_type(x, dtype) != x.dtype:
        x = convert(x, dtype)
    if x.dtype == dtypes.bool_:
        return lax.reduce_or(x, tuple(axes))
    return lax.reduce_sum(x, tuple(axes))


def _sum_uniques(x: Array, names: str, uniques: Sequence[str], dtype: DType) -> tuple[Array, str]:
    """Sum out names that appear once and are not kept."""
    if not uniques:
        return x, names
    axes = [names.index(n) for n in uniques]
    return _sum(x, axes, dtype), "".join(n for n in names if n not in uniques)


def _diagonal_mask(shape: tuple[int, ...], axes: Sequence[int]) -> Array:
    """True where the indices along ``axes`` are all equal (``lax._delta``)."""
    base = tuple(shape[a] for a in sorted(axes))
    iotas = [lax.broadcasted_iota(dtypes.uint32, base, i) for i in range(len(base))]
    eyes = [lax.eq(a, b) for a, b in itertools.pairwise(iotas)]
    mask = eyes[0]
    for eye in eyes[1:]:
        mask = lax.bitwise_and(mask, eye)
    return lax.broadcast_in_dim(mask, shape, tuple(sorted(axes)))


def _sum_repeats(
    x: Array, names: str, keep: str, dtype: DType
) -> tuple[Array, str]:
    """Take the diagonal of every repeated name; sum it away unless ``keep`` has the name."""
    for name, count in collections.Counter(names).items():
        if count < 2:
            continue
        axes = [i for i, n in enumerate(names) if n == name]
        zeros = _zeros_like(x)
        x = lax.select_n(_diagonal_mask(x.shape, axes), zeros, x)
        if name not in keep:
            x = _sum(x, axes, dtype)
            names = names.replace(name, "")
        else:
            x = _sum(x, axes[:-1], dtype)
            names = names.replace(name, "", count - 1)
    return x, names


def _zeros_like(x: Array) -> Array:
    zero = constant(0, x.dtype, x.weak_type)
    return lax.broadcast_in_dim(zero, x.shape, ()) if x.shape else zero


def _reduce_one(
    x: Array, names: str, removed: frozenset[str], result: str, dtype: DType
) -> tuple[Array, str]:
    """A single-operand step: sums over removed names and diagonals of repeated ones."""
    counts = collections.Counter(names)
    uniques = [n for n in sorted(removed) if counts[n] == 1]
    x, names = _sum_uniques(x, names, uniques, dtype)
    return _sum_repeats(x, names, result, dtype)


def _squeeze_singletons(
    x: Array, names: str, other_shape: tuple[int, ...], other_names: str
) -> tuple[Array, str]:
    """Drop size-1 dimensions that broadcast against a larger one of the other operand."""
    keep = [
        x.shape[i] != 1 or j == -1 or other_shape[j] == 1
        for i, j in enumerate(map(other_names.find, names))
    ]
    squeezed = tuple(i for i, k in enumerate(keep) if not k)
    x = lax.squeeze(x, squeezed) if squeezed else x
    return x, "".join(n for n, k in zip(names, keep, strict=True) if k)


def _contract_pair(
    lhs: Array, rhs: Array, step: Contraction, dtype: DType, precision: Any
) -> tuple[Array, str]:
    """A two-operand step: local sums and diagonals, then one ``dot_general``."""
    lhs_names, rhs_names = step.inputs
    result = step.result
    lhs, lhs_names = _squeeze_singletons(lhs, lhs_names, rhs.shape, rhs_names)
    rhs, rhs_names = _squeeze_singletons(rhs, rhs_names, lhs.shape, lhs_names)
    contracted = sorted(step.removed)
    lhs_counts, rhs_counts = collections.Counter(lhs_names), collections.Counter(rhs_names)
    lhs_uniques = [n for n in contracted if lhs_counts[n] == 1 and rhs_counts[n] == 0]
    lhs, lhs_names = _sum_uniques(lhs, lhs_names, lhs_uniques, dtype)
    rhs_uniques = [n for n in contracted if rhs_counts[n] == 1 and lhs_counts[n] == 0]
    rhs, rhs_names = _sum_uniques(rhs, rhs_names, rhs_uniques, dtype)
    lhs, lhs_names = _sum_repeats(lhs, lhs_names, result + rhs_names, dtype)
    rhs, rhs_names = _sum_repeats(rhs, rhs_names, result + lhs_names, dtype)
    both = set(lhs_names) & set(rhs_names)
    contracted = [n for n in contracted if n in set(lhs_names) | set(rhs_names)]
    batch = "".join(n for n in result if n in both)
    lhs_batch = tuple(lhs_names.find(n) for n in batch)
    rhs_batch = tuple(rhs_names.find(n) for n in batch)
    lhs_cont = tuple(lhs_names.index(n) for n in contracted)
    rhs_cont = tuple(rhs_names.index(n) for n in contracted)
    gone = batch + "".join(contracted)
    lhs_rest = "".join(n for n in lhs_names if n not in gone)
    rhs_rest = "".join(n for n in rhs_names if n not in gone)
    if batch + rhs_rest + lhs_rest == result:
        dims = ((rhs_cont, lhs_cont), (rhs_batch, lhs_batch))
        out = lax.dot_general(rhs, lhs, dims, precision, preferred_element_type=dtype)
        return out, batch + rhs_rest + lhs_rest
    dims = ((lhs_cont, rhs_cont), (lhs_batch, rhs_batch))
    out = lax.dot_general(lhs, rhs, dims, precision, preferred_element_type=dtype)
    return out, batch + lhs_rest + rhs_rest
