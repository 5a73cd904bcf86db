"""The rest of ``jax.lax`` that makes sense without devices: constants, a few primitives, and
the composites JAX writes in lax.

Primitives, each with its abstract evaluation, JVP, transpose (where linear) and batching rules
as JAX's ``jax/_src/lax/lax.py`` states them:

- ``complex`` (``complex_p``): ``x + iy`` from two float32/float64 operands, lax broadcasting;
  linear in both, its transpose takes the real part and minus the imaginary part back.
- ``mulhi`` (``mulhi_p``): the high half of the double-width integer product; zero derivative.
- ``reduce_precision`` (``reduce_precision_p``): XLA's rounding of floats to fewer exponent and
  mantissa bits (ties to even, overflow to infinity, values below the smallest normal number of
  the narrow format to zero); linear, its own transpose.
- ``optimization_barrier`` (``optimization_barrier_p``): the identity on any number of values,
  which a compiler must not move operations across; its JVP and transpose put barriers on the
  tangents and cotangents.
- ``empty`` (``empty_p``): an array of a shape and dtype whose values are unspecified (zeros
  here, as XLA's CPU lowering gives).
- ``reduce`` (``reduce_p``): XLA's Reduce with a jaxpr computation over several operands and
  initial values; a monoid (``add`` from 0, ``max`` from -inf ...) binds the matching
  ``reduce_*`` primitive instead, as JAX does. Its JVP differentiates a tree of the computation
  (JAX's ``_reduce_jvp``); its batching moves batch axes to the front.

Composites: ``full``, ``full_like`` (weakly typed where the fill value, or ``x``, is),
``broadcast_shapes``, ``broadcast_to_rank``, ``broadcast_like``, ``batch_matmul``,
``index_take``, ``associative_scan`` (the parallel prefix scan of ``control_flow/loops.py``) and
``dtype``.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np

from refjax import dtypes, tree_util
from refjax.config import config
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import (
    BatchDim,
    batch_size,
    batching_rules,
    bdim_at,
    defbroadcasting,
    defvectorized,
    vmap_leading,
)
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    NDArray,
    ParamValue,
    ShapedArray,
    Tracer,
    call_jaxpr,
    get_aval,
    is_concrete,
)
from refjax.interp.jvp import Tangent, Zero, defjvp_zero, instantiate, jvp_flat, jvp_rules
from refjax.interp.parser import register_hidden_params
from refjax.interp.staging import debug_info, trace_to_jaxpr
from refjax.interp.transpose import (
    Cotangent,
    UndefinedPrimal,
    deflinear,
    deflinear2,
    transpose_rules,
)
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives import slicing as sl
from refjax.primitives.common import (
    FLOATING,
    INTEGER,
    check_dtype,
    check_shape,
    flatten_operands_and_inits,
    naryop_rule,
    standard_primitive,
)
from refjax.primitives.constants import as_array, constant, convert
from refjax.primitives.gather_scatter import GatherDimensionNumbers, gather
from refjax.primitives.linalg import PrecisionLike, dot_general
from refjax.tree_util import PyTree, PyTreeDef
from refjax.util import canonicalize_axis

__all__ = [
    "associative_scan",
    "batch_matmul",
    "broadcast_like",
    "broadcast_shapes",
    "broadcast_to_rank",
    "complex",
    "complex_p",
    "dtype",
    "empty",
    "empty_p",
    "full",
    "full_like",
    "index_take",
    "mulhi",
    "mulhi_p",
    "optimization_barrier",
    "optimization_barrier_p",
    "reduce",
    "reduce_p",
    "reduce_precision",
    "reduce_precision_p",
]


# ---------------------------------------------------------------------------------------------
# Helpers


def _canonical_shape(shape: object) -> tuple[int, ...]:
    """JAX's ``canonicalize_shape``: an int or a sequence of integers, else its TypeError."""
    dims: Any = (shape,) if isinstance(shape, (int, np.integer)) else shape
    try:
        return tuple(operator.index(d) for d in dims)
    except TypeError:
        raise TypeError(
            "Shapes must be 1D sequences of concrete values of integer type, "
            f"got {tuple(dims) if isinstance(dims, (list, tuple)) else dims}."
        ) from None


def _unbroadcast(aval: ShapedArray, ct: Array) -> Array:
    """Cotangent ``ct`` summed back to ``aval``'s shape (lax broadcasting: rank 0, size-1 axes)."""
    if ct.shape == aval.shape:
        return ct
    if not aval.shape:
        return rd.reduce_sum(ct, tuple(range(ct.ndim)))
    axes = tuple(i for i, (a, b) in enumerate(zip(ct.shape, aval.shape, strict=True)) if a != b)
    return sh.reshape(rd.reduce_sum(ct, axes), aval.shape)


# ---------------------------------------------------------------------------------------------
# dtype, full, full_like, empty


def dtype(x: object) -> DType:
    """The canonical dtype of a value or type, as ``jax.lax.dtype`` (``jax.dtypes.dtype``)
    gives it: Python scalars and scalar types take the default dtype of their kind; arrays keep
    theirs."""
    if x is None:
        raise ValueError(f"Invalid argument to dtype: {x}.")
    if isinstance(x, Array):
        return x.dtype
    if isinstance(x, (type, np.dtype, str)) or type(x) in (bool, int, float, builtins.complex):
        return dtypes.dtype_and_weak_type(x)[0]
    attr = getattr(x, "dtype", None)
    if isinstance(attr, np.dtype):
        found = attr
    else:
        try:
            found = np.result_type(x)  # type: ignore[arg-type]  # any object: numpy decides
        except TypeError as err:
            raise TypeError(f"Cannot determine dtype of {x}") from err
    return dtypes.canonicalize_dtype(found)


def full(
    shape: Sequence[int] | int,
    fill_value: ArrayLike,
    dtype: DTypeLike | None = None,
    *,
    sharding: None = None,
) -> Array:
    """An array of ``shape`` filled with the scalar ``fill_value`` (a broadcast constant); weakly
    typed when ``dtype`` is None and ``fill_value`` is."""
    dims = _canonical_shape(shape)
    if np.shape(fill_value):
        raise TypeError(
            "full must be called with scalar fill_value, got fill_value.shape "
            f"{np.shape(fill_value)}."
        )
    if dtype is None:
        fill_dtype, weak = dtypes.dtype_and_weak_type(fill_value)
    else:
        fill_dtype, weak = dtypes.canonicalize_dtype(dtype), False
    fill = convert(fill_value, fill_dtype, weak)
    return sh.broadcast(fill, dims) if dims else fill


def full_like(
    x: ArrayLike,
    fill_value: ArrayLike,
    dtype: DTypeLike | None = None,
    shape: Sequence[int] | int | None = None,
    sharding: None = None,
) -> Array:
    """An array like ``x`` (its shape, dtype and weak type unless given) full of
    ``fill_value``."""
    aval = get_aval(x)
    fill_shape = aval.shape if shape is None else _canonical_shape(shape)
    weak = dtype is None and aval.weak_type
    out_dtype = aval.dtype if dtype is None else dtypes.canonicalize_dtype(dtype)
    return full(fill_shape, convert(fill_value, out_dtype, weak))


def _empty_rule(*, shape: tuple[int, ...], dtype: DType, out_sharding: None) -> ShapedArray:
    check_shape("empty", shape)
    return ShapedArray(tuple(shape), dtype)


empty_p = standard_primitive("empty", _empty_rule)


def empty(shape: Sequence[int] | int, dtype: DTypeLike, *, out_sharding: None = None) -> Array:
    """An array of ``shape`` and ``dtype`` whose values are unspecified (zeros here)."""
    dims = _canonical_shape(shape)
    return empty_p.bind(shape=dims, dtype=dtypes.canonicalize_dtype(dtype), out_sharding=None)


# ---------------------------------------------------------------------------------------------
# complex

_COMPLEX_PARTS: Final = (np.float32, np.float64)


def _complex_dtype(dt: DType) -> DType:
    """float32 -> complex64, float64 -> complex128."""
    return np.result_type(dt, np.complex64)


complex_p = standard_primitive(
    "complex", naryop_rule("complex", [_COMPLEX_PARTS, _COMPLEX_PARTS], _complex_dtype)
)


def complex(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001  # lax's name
    """Elementwise ``x + 1j * y`` from two real operands of the same float dtype."""
    return complex_p.bind(x, y)


def _complex_transpose(
    ct: Array, x: ArrayLike | UndefinedPrimal, y: ArrayLike | UndefinedPrimal
) -> list[Cotangent | None]:
    """``real(ct)`` to ``x`` and ``imag(-ct)`` to ``y``, each summed to its operand's shape."""
    assert isinstance(x, UndefinedPrimal) or isinstance(y, UndefinedPrimal)
    ct_x = _unbroadcast(x.aval, ew.real(ct)) if isinstance(x, UndefinedPrimal) else None
    ct_y = _unbroadcast(y.aval, ew.imag(ew.neg(ct))) if isinstance(y, UndefinedPrimal) else None
    return [ct_x, ct_y]


deflinear2(complex_p, _complex_transpose)
defbroadcasting(complex_p)


# ---------------------------------------------------------------------------------------------
# mulhi

mulhi_p = standard_primitive("mulhi", naryop_rule("mulhi", [INTEGER, INTEGER]))


def mulhi(x: ArrayLike, y: ArrayLike, /) -> Array:
    """Elementwise high half of the double-width product ``x * y`` (the low half is ``x * y``)."""
    return mulhi_p.bind(x, y)


defjvp_zero(mulhi_p)
defbroadcasting(mulhi_p)


# ---------------------------------------------------------------------------------------------
# reduce_precision


def _reduce_precision_rule(
    operand: ShapedArray, *, exponent_bits: int, mantissa_bits: int
) -> ShapedArray:
    if exponent_bits < 1:
        raise ValueError(f"reduce_precision: exponent_bits must be positive; got {exponent_bits}")
    if mantissa_bits < 0:
        raise ValueError(
            f"reduce_precision: mantissa_bits must be non-negative; got {mantissa_bits}"
        )
    check_dtype("reduce_precision", operand, FLOATING)
    return operand


reduce_precision_p = standard_primitive("reduce_precision", _reduce_precision_rule)


def reduce_precision(operand: ArrayLike, exponent_bits: int, mantissa_bits: int) -> Array:
    """``operand`` rounded to a float format of ``exponent_bits`` and ``mantissa_bits`` bits
    (ties to even; too large becomes infinity, below the format's smallest normal becomes 0),
    still in ``operand``'s dtype."""
    return reduce_precision_p.bind(
        operand,
        exponent_bits=operator.index(exponent_bits),
        mantissa_bits=operator.index(mantissa_bits),
    )


deflinear(
    reduce_precision_p,
    lambda ct, *, exponent_bits, mantissa_bits: [
        reduce_precision_p.bind(ct, exponent_bits=exponent_bits, mantissa_bits=mantissa_bits)
    ],
)
defvectorized(reduce_precision_p)


# ---------------------------------------------------------------------------------------------
# optimization_barrier


def _optimization_barrier_rule(*avals: ShapedArray) -> list[ShapedArray]:
    return list(avals)


optimization_barrier_p = standard_primitive(
    "optimization_barrier", _optimization_barrier_rule, multiple_results=True
)


def optimization_barrier(operand: PyTree, /) -> PyTree:
    """The values of ``operand`` (a pytree), unchanged; a compiler may move no operation across
    the barrier (it has no effect outside compiled code)."""
    flat, tree = tree_util.tree_flatten(operand)
    return tree_util.tree_unflatten(tree, optimization_barrier_p.bind_all(*flat))


def _optimization_barrier_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent]
) -> tuple[list[Array], list[Tangent]]:
    """A barrier on the primals, and another on the (instantiated) tangents."""
    outs = optimization_barrier_p.bind_all(*primals)
    return outs, list(optimization_barrier_p.bind_all(*(instantiate(t) for t in tangents)))


def _optimization_barrier_transpose(
    cts: Sequence[Cotangent], *operands: ArrayLike | UndefinedPrimal
) -> list[Cotangent | None]:
    """A barrier on the (instantiated) cotangents."""
    return list(optimization_barrier_p.bind_all(*(instantiate(c) for c in cts)))


def _optimization_barrier_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim]
) -> tuple[list[Array], list[BatchDim]]:
    return optimization_barrier_p.bind_all(*args), list(dims)


jvp_rules[optimization_barrier_p] = _optimization_barrier_jvp
transpose_rules[optimization_barrier_p] = _optimization_barrier_transpose
batching_rules[optimization_barrier_p] = _optimization_barrier_batch


# ---------------------------------------------------------------------------------------------
# Shapes: broadcast_shapes, broadcast_to_rank, broadcast_like, batch_matmul, index_take


def _try_broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """Equal-rank shapes broadcast (size-1 axes stretch), else TypeError."""
    out = []
    for sizes in zip(*shapes, strict=True):
        non_ones = {d for d in sizes if d != 1}
        if len(non_ones) > 1:
            raise TypeError("broadcast_shapes got incompatible shapes for broadcasting")
        out.append(non_ones.pop() if non_ones else 1)
    return tuple(out)


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape numpy broadcasting gives arrays of ``shapes`` (ranks promoted, size-1 axes
    stretched); ValueError if they do not broadcast."""
    assert shapes, "broadcast_shapes needs at least one shape"  # JAX's AssertionError too
    fst, *rst = shapes
    if not rst:
        return fst
    result = builtins.max(shapes, key=len)
    ndim = len(result)
    if ndim == 0 or all(tuple(result[ndim - len(s):]) == tuple(s) for s in shapes):
        return result
    promoted = tuple((*((1,) * (ndim - len(s))), *s) for s in shapes)
    try:
        return _try_broadcast_shapes(*promoted)
    except TypeError as err:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={list(shapes)}") from err


def broadcast_to_rank(x: ArrayLike, rank: int) -> Array:
    """``x`` with leading size-1 axes added until it has ``rank`` dimensions."""
    ndim = np.ndim(x)
    if ndim == rank:
        return as_array(x)
    return sh.broadcast(x, (1,) * (rank - ndim))


def broadcast_like(arr: ArrayLike, like_arr: ArrayLike) -> Array:
    """``arr`` broadcast (numpy's rules) to the shape of ``like_arr``."""
    operand = as_array(arr)
    shape = get_aval(like_arr).shape
    lead = len(shape) - operand.ndim
    if lead < 0 or not all(d in (1, s) for d, s in zip(operand.shape, shape[lead:], strict=True)):
        raise ValueError(
            f"Incompatible shapes for broadcasting: shapes={[operand.shape, shape]}"
        )
    if operand.shape == shape:
        return operand
    return sh.broadcast_in_dim(operand, shape, tuple(range(lead, len(shape))))


def batch_matmul(lhs: Array, rhs: Array, precision: PrecisionLike = None) -> Array:
    """Matrix products of the trailing two dims, paired over the leading (batch) dims."""
    if builtins.min(lhs.ndim, rhs.ndim) < 2:
        raise ValueError(
            f"Arguments to batch_matmul must be at least 2D, got {lhs.ndim}, {rhs.ndim}"
        )
    if lhs.ndim != rhs.ndim:
        raise ValueError(
            f"Arguments to batch_matmul must have same ndim, got {lhs.ndim}, {rhs.ndim}"
        )
    batch = tuple(range(lhs.ndim - 2))
    return dot_general(
        lhs, rhs, (((lhs.ndim - 1,), (rhs.ndim - 2,)), (batch, batch)), precision=precision
    )


def index_take(src: Array, idxs: Sequence[Array], axes: Sequence[int]) -> Array:
    """``src`` gathered at the points ``idxs`` (one index array per axis of ``axes``, taken
    modulo the axis sizes), the other axes kept whole."""
    indices = sh.concatenate([sh.expand_dims(i, (1,)) for i in idxs], 1)
    sizes = np.array([src.shape[ax] for ax in axes])
    max_idx = sh.expand_dims(as_array(sizes), tuple(range(indices.ndim - 1)))
    indices = indices % max_idx  # jnp's remainder, as JAX writes it
    slice_sizes = list(src.shape)
    for ax in axes:
        slice_sizes[ax] = 1
    offset_dims = tuple(range(1, src.ndim - indices.shape[1] + 1))
    dnums = GatherDimensionNumbers(
        offset_dims=offset_dims, collapsed_slice_dims=tuple(axes), start_index_map=tuple(axes)
    )
    return gather(src, indices, dnums, tuple(slice_sizes))


# ---------------------------------------------------------------------------------------------
# reduce: XLA's Reduce with a user computation


def _split_half(values: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    n = len(values) // 2
    return list(values[:n]), list(values[n:])


def _reduced_shape(shape: tuple[int, ...], dimensions: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` without ``dimensions``: IndexError past the rank (as ``np.delete``), ValueError
    for a negative dimension (XLA's verifier rejects it)."""
    for d in dimensions:
        if d >= len(shape):
            raise IndexError(
                f"index {d} is out of bounds for axis 0 with size {len(shape)}"
            )
        if d < 0:
            raise ValueError(
                f"Out-of-bounds dimension {d}, expected to be in range [0, {len(shape)})"
            )
    return tuple(s for i, s in enumerate(shape) if i not in dimensions)


def _reduce_rule(
    *avals: ShapedArray, computation: Callable[..., Any], jaxpr: ClosedJaxpr,
    dimensions: tuple[int, ...],
) -> list[ShapedArray]:
    operands, inits = _split_half(avals)
    if any(a.shape != () for a in inits):  # JAX's shape rule, then its dtype rule
        raise ValueError(f"reduce found non-scalar initial value: {[a.shape for a in inits]}")
    shapes = [_reduced_shape(o.shape, dimensions) for o in operands]
    if [o.dtype for o in operands] != [i.dtype for i in inits]:
        raise TypeError(
            "reduce operand dtypes should match corresponding initial value dtypes, got "
            f"operands={operands} and initial_values={inits}"
        )
    # (XLA's verifier rejects the rest when JAX lowers the reduce, with a ValueError too)
    if len({o.shape for o in operands}) > 1:
        raise ValueError(
            "reduce expects all operands to have compatible shapes, got "
            f"{[o.shape for o in operands]}"
        )
    outs = jaxpr.out_avals
    if len(outs) != len(inits) or any(
        (o.shape, o.dtype) != ((), i.dtype) for o, i in zip(outs, inits, strict=True)
    ):
        raise ValueError(
            "reduce's computation must return one scalar per operand, of the initial values' "
            f"dtypes: got {[o.str_short() for o in outs]} for initial values "
            f"{[i.str_short() for i in inits]}"
        )
    return [
        ShapedArray(shape, o.dtype, o.weak_type and i.weak_type)
        for shape, o, i in zip(shapes, operands, inits, strict=True)
    ]


reduce_p = standard_primitive("reduce", _reduce_rule, multiple_results=True)


def _fill_reduce(params: dict[str, ParamValue], outs: Sequence[ShapedArray]) -> None:
    """Text may leave out ``computation`` (a Python callable): the jaxpr states it."""
    jaxpr = params["jaxpr"]
    assert isinstance(jaxpr, ClosedJaxpr)
    params.setdefault("computation", lambda *args: call_jaxpr(jaxpr, args))


register_hidden_params("reduce", _fill_reduce)


def _monoid_reducer(
    computation: Callable[..., Any], init: ArrayLike
) -> Callable[[ArrayLike, Sequence[int]], Array] | None:
    """The ``reduce_*`` a (concrete, scalar) identity and a lax monoid stand for, as JAX's
    ``_get_monoid_reducer``; None otherwise."""
    aval = get_aval(init)
    if aval.shape != () or not is_concrete(init):
        return None
    val = np.asarray(init)
    dt = aval.dtype
    intlike = dt == dtypes.bool_ or dtypes.is_integer(dt)
    reducers: list[tuple[Callable[..., Array], Callable[[ArrayLike, Sequence[int]], Array],
                         NDArray | None, bool]] = [
        (ew.add, rd.reduce_sum, np.zeros((), dt), True),
        (ew.mul, rd.reduce_prod, np.ones((), dt), True),
        (ew.bitwise_or, rd.reduce_or, np.zeros((), dt), intlike),
        (ew.bitwise_and, rd.reduce_and, _and_identity(dt), intlike),
        (ew.bitwise_xor, rd.reduce_xor, np.zeros((), dt), intlike),
        (ew.max, rd.reduce_max, _max_identity(dt), True),
        (ew.min, rd.reduce_min, _min_identity(dt), True),
    ]
    for op, reducer, identity, allowed in reducers:
        if computation is op:
            if not allowed or identity is None:
                return None
            return reducer if bool(np.equal(val, identity)) else None
    return None


def _and_identity(dt: DType) -> NDArray:
    return np.array(True) if dt == dtypes.bool_ else np.array(-1).astype(dt)


def _max_identity(dt: DType) -> NDArray | None:
    if np.issubdtype(dt, np.inexact):
        return np.array(-np.inf, dt)
    if dtypes.is_integer(dt):
        return np.array(np.iinfo(dt).min, dt)
    return np.array(False) if dt == dtypes.bool_ else None


def _min_identity(dt: DType) -> NDArray | None:
    if np.issubdtype(dt, np.inexact):
        return np.array(np.inf, dt)
    if dtypes.is_integer(dt):
        return np.array(np.iinfo(dt).max, dt)
    return np.array(True) if dt == dtypes.bool_ else None


@functools.lru_cache(maxsize=256)
def _reduction_jaxpr(
    computation: Callable[..., Any], avals: tuple[ShapedArray, ...], tree: PyTreeDef, x64: bool
) -> tuple[ClosedJaxpr, PyTreeDef]:
    """``computation(xs, ys)`` traced on two pytrees of scalars of ``avals`` (JAX's
    ``_variadic_reduction_jaxpr``, cached per function, avals and 64-bit mode); the closed jaxpr
    and its output tree."""
    out_trees: list[PyTreeDef] = []

    def flat(*args: ArrayLike) -> list[ArrayLike]:
        n = len(avals)
        xs = tree_util.tree_unflatten(tree, args[:n])
        ys = tree_util.tree_unflatten(tree, args[n:])
        out, out_tree = tree_util.tree_flatten(computation(xs, ys))
        out_trees.append(out_tree)
        return out

    closed = trace_to_jaxpr(flat, [*avals, *avals], debug_info(computation, "reduce comp", []))
    if any(isinstance(c, Tracer) for c in closed.consts):
        raise NotImplementedError(
            "Reduction computations can't close over Tracers. Please open an issue at "
            "https://github.com/jax-ml/jax."
        )
    return closed, out_trees[0]


def reduce(
    operands: PyTree,
    init_values: PyTree,
    computation: Callable[[Any, Any], Any],
    dimensions: Sequence[int],
    out_sharding: None = None,
) -> PyTree:
    """``operands`` (a pytree of arrays of one shape) reduced over ``dimensions`` by
    ``computation(accumulated, element)``, starting from the scalar ``init_values`` (a pytree of
    the same structure): XLA's Reduce, which folds the elements in order."""
    flat_operands, flat_inits, operand_tree = flatten_operands_and_inits(operands, init_values)
    dims = tuple(operator.index(d) for d in dimensions)
    monoid = _monoid_reducer(computation, flat_inits[0]) if len(flat_inits) == 1 else None
    if monoid is not None:
        weak = dtypes.is_weakly_typed(flat_operands[0]) and dtypes.is_weakly_typed(flat_inits[0])
        out = monoid(flat_operands[0], dims)
        return convert(out, out.dtype, weak)
    avals = tuple(get_aval(x) for x in flat_inits)
    closed, out_tree = _reduction_jaxpr(computation, avals, operand_tree,
                                        bool(config.read("jax_enable_x64")))
    outs = reduce_p.bind_all(
        *flat_operands, *flat_inits, computation=computation, jaxpr=closed, dimensions=dims
    )
    return tree_util.tree_unflatten(out_tree, outs)


def _reduce_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, computation: Callable[..., Any],
    jaxpr: ClosedJaxpr, dimensions: tuple[int, ...],
) -> tuple[list[Array], list[BatchDim]]:
    """Batch axes of the operands to the front (a batched initial value is JAX's
    NotImplementedError too)."""
    operands, inits = _split_half(args)
    operand_dims, init_dims = _split_half(dims)
    if any(d is not None for d in init_dims):
        raise NotImplementedError("reduce with batched initial values")
    size = batch_size(args, dims)
    moved = [bdim_at(x, d, size, 0) for x, d in zip(operands, operand_dims, strict=True)]
    outs = reduce_p.bind_all(
        *moved, *inits, computation=computation, jaxpr=jaxpr,
        dimensions=tuple(d + 1 for d in dimensions),
    )
    return outs, [0] * len(outs)


def _vmapped(fn: Callable[..., Sequence[ArrayLike]], depth: int) -> Callable[..., Any]:
    """``fn`` mapped ``depth`` times over the leading axis of every argument."""
    for _ in range(depth):
        fn = functools.partial(vmap_leading, fn)
    return fn


def _reduce_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
    computation: Callable[..., Any], jaxpr: ClosedJaxpr, dimensions: tuple[int, ...],
) -> tuple[list[Array], list[Tangent]]:
    """JAX's rule: the reduced axes moved to the front and flattened, then reduced by a tree of
    (vmapped) calls of the computation, differentiated by ``jvp``."""
    primal_xs, init_values = _split_half(primals)
    tangent_xs, tangent_inits = _split_half(tangents)
    if any(not isinstance(t, Zero) for t in tangent_inits):
        raise NotImplementedError(
            "Gradient of general lax.reduce with non-zero tangents for initial values to "
            "reduction not implemented"
        )
    input_shape = get_aval(primal_xs[0]).shape
    n = math.prod(input_shape[a] for a in dimensions)
    non_axes = tuple(i for i in range(len(input_shape)) if i not in dimensions)
    permutation = (*dimensions, *non_axes)
    rest = tuple(input_shape[i] for i in non_axes)
    new_shape = (n, *rest)

    def moved(x: ArrayLike) -> Array:
        return sh.reshape(x, new_shape, permutation)

    def moved_tangent(t: Tangent) -> Tangent:
        if isinstance(t, Zero):
            return Zero(t.aval.update(shape=new_shape))
        return moved(t)

    reducer = _vmapped(lambda *args: call_jaxpr(jaxpr, args), len(non_axes) + 1)

    def reduce_tree(*xs: ArrayLike) -> list[ArrayLike]:
        parts = [as_array(x) for x in xs]
        while parts[0].shape[0] > 1:
            size = parts[0].shape[0]
            n1 = (size + 1) // 2
            firsts = [sl.slice_in_dim(x, 0, n1) for x in parts]
            seconds = [sl.slice_in_dim(x, n1, None) for x in parts]
            if size - n1 != n1:
                paddings = [(0, 0, 0)] * parts[0].ndim
                paddings[0] = (0, 1, 0)
                seconds = [sh.pad(x, i, paddings) for x, i in zip(seconds, init_values,
                                                                  strict=True)]
            parts = list(reducer(*firsts, *seconds))
        if parts[0].shape[0] == 0:
            return [full(rest, i) for i in init_values]
        return [sh.squeeze(x, (0,)) for x in parts]

    outs, touts = jvp_flat(
        reduce_tree, [moved(x) for x in primal_xs], [moved_tangent(t) for t in tangent_xs]
    )
    return list(outs), list(touts)


jvp_rules[reduce_p] = _reduce_jvp
batching_rules[reduce_p] = _reduce_batch


# ---------------------------------------------------------------------------------------------
# associative_scan


def _interleave(a: Array, b: Array, axis: int) -> Array:
    """``a`` and ``b`` (as long, or one shorter) interleaved along ``axis``: a0 b0 a1 b1 ..."""
    assert a.shape[axis] == b.shape[axis] or a.shape[axis] == b.shape[axis] + 1
    a_pad = [(0, 0, 0)] * a.ndim
    b_pad = [(0, 0, 0)] * b.ndim
    a_pad[axis] = (0, 1 if a.shape[axis] == b.shape[axis] else 0, 1)
    b_pad[axis] = (1, 0 if a.shape[axis] == b.shape[axis] else 1, 1)
    op = ew.bitwise_or if a.dtype == dtypes.bool_ else ew.add
    # (strongly typed zeros, as JAX's ``lax._const`` of an array)
    return op(sh.pad(a, constant(0, a.dtype), a_pad), sh.pad(b, constant(0, b.dtype), b_pad))


def associative_scan(
    fn: Callable[[Any, Any], Any], elems: PyTree, reverse: bool = False, axis: int = 0
) -> PyTree:
    """The inclusive prefix scan of ``elems`` (a pytree of arrays) along ``axis`` with the
    associative ``fn``, computed in O(log n) rounds of ``fn`` on whole slices (Blelloch's
    odd/even recursion, as JAX's)."""
    if not callable(fn):
        raise TypeError("lax.associative_scan: fn argument should be callable.")
    elems_flat, tree = tree_util.tree_flatten(elems)
    elems_flat = [as_array(e) for e in elems_flat]
    if reverse:
        elems_flat = [sh.rev(e, (canonicalize_axis(axis, e.ndim),)) for e in elems_flat]

    def combine(a_flat: Sequence[Array], b_flat: Sequence[Array]) -> list[Array]:
        a = tree_util.tree_unflatten(tree, a_flat)
        b = tree_util.tree_unflatten(tree, b_flat)
        c_flat, _ = tree_util.tree_flatten(fn(a, b))
        return [as_array(c) for c in c_flat]

    axis = canonicalize_axis(axis, elems_flat[0].ndim)
    num_elems = int(elems_flat[0].shape[axis])
    if not all(int(e.shape[axis]) == num_elems for e in elems_flat[1:]):
        raise ValueError(
            "Array inputs to associative_scan must have the same first dimension. "
            f"(saw: {[e.shape for e in elems_flat]})"
        )

    def scan(elems: list[Array]) -> list[Array]:
        num = elems[0].shape[axis]
        if num < 2:
            return elems
        reduced = combine(
            [sl.slice_in_dim(e, 0, -1, stride=2, axis=axis) for e in elems],
            [sl.slice_in_dim(e, 1, None, stride=2, axis=axis) for e in elems],
        )
        odd = scan(reduced)
        if num % 2 == 0:
            even = combine(
                [sl.slice_in_dim(e, 0, -1, axis=axis) for e in odd],
                [sl.slice_in_dim(e, 2, None, stride=2, axis=axis) for e in elems],
            )
        else:
            even = combine(odd, [sl.slice_in_dim(e, 2, None, stride=2, axis=axis)
                                 for e in elems])
        even = [
            sh.concatenate([sl.slice_in_dim(e, 0, 1, axis=axis), r], axis)
            for e, r in zip(elems, even, strict=True)
        ]
        return [_interleave(e, o, axis) for e, o in zip(even, odd, strict=True)]

    scans = scan(elems_flat)
    if reverse:
        scans = [sh.rev(s, (axis,)) for s in scans]
    return tree_util.tree_unflatten(tree, scans)
