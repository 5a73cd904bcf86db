"""More of ``jax.lax``: random bits, approximate top-k, ragged and patch convolutions, named
calls, and the small types and markers JAX exports.

Primitives, each with its abstract evaluation and the rules JAX gives it:

- ``rng_bit_generator`` (``rng_bit_generator_p``): XLA's stateless RngBitGenerator. The key is
  ``uint32[4]`` (or ``uint64[2]``): a 64-bit Threefry/Philox key, then a 64-bit counter. The
  numpy implementation reproduces XLA's CPU bits exactly for ``RNG_THREE_FRY`` and
  ``RNG_PHILOX`` (``RNG_DEFAULT`` is Philox on CPU, as XLA's); the new key is the old one with
  its counter advanced. Batching uses the first key for the whole batch, as JAX's rule does.
- ``rng_uniform`` (``rng_uniform_p``): XLA's stateful Rng, uniform in ``[a, b)``; its values are
  unspecified (fresh entropy each call here). No JVP or batching rule, as in JAX.
- ``approx_top_k`` (``approx_top_k_p``): ``approx_max_k``/``approx_min_k``. On CPU JAX computes
  them exactly (sorted, as ``top_k``); with ``aggregate_to_topk=False`` the output keeps XLA's
  approximate reduction size (:func:`approx_top_k_reduction_output_size`).
- ``eq_to``, ``lt_to``, ``le_to`` (``eq_to_p`` ...): comparisons in IEEE total order
  (``-NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN``), what XLA's sort compares with; zero
  derivative.
- ``stage`` (``stage_p``): the identity that makes a host value an array of the current trace.
- ``dce_sink`` (``dce_sink_p``): marks values as used, so dead-code elimination keeps them.
- ``composite`` (``composite_p``): a named call of its decomposition (XLA's composite op); as in
  JAX it has no JVP, transpose or batching rule.

Composites (built from other primitives, as JAX builds them): ``conv_general_dilated_patches``,
``conv_general_dilated_local``, ``ragged_dot``/``ragged_dot_general`` (JAX's
``_ragged_dot_general_impl``: the ragged dimension expanded to a masked group axis, then one
``dot_general``), ``random_gamma_grad``, ``scatter_apply``, ``platform_dependent`` and
``shape_as_value``.

``platform_dependent`` picks its branch in Python for the backend values live on: a keyword
naming refjax's backend (``numpy``, ``opencl``, ``cuda``) wins; else the ``numpy`` and
``opencl`` backends take JAX's ``cpu`` branch and ``cuda`` takes ``cuda``; else ``default``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from refjax import dtypes, tree_util
from refjax.dtypes import DType, DTypeLike
from refjax.interp.batching import (
    BatchDim,
    batching_rules,
    bdim_at,
    defbroadcasting,
    defvectorized,
)
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    ParamValue,
    ShapedArray,
    Tracer,
    concrete_array,
    get_aval,
)
from refjax.interp.jvp import Tangent, Zero, defjvp_zero, jvp_rules, tangent_aval
from refjax.interp.parser import register_hidden_params
from refjax.interp.partial_eval import effectful_primitives
from refjax.interp.staging import debug_info, hoist_consts, trace_to_jaxpr
from refjax.interp.transpose import Cotangent, UndefinedPrimal, deflinear2, transpose_rules
from refjax.primitives import elementwise as ew
from refjax.primitives import reductions as rd
from refjax.primitives import shape as sh
from refjax.primitives.common import (
    ANY,
    broadcast_shapes,
    naryop_rule,
    standard_primitive,
)
from refjax.primitives.constants import as_array, constant, convert
from refjax.primitives.control_flow import while_loop
from refjax.primitives.convolution import (
    ConvGeneralDilatedDimensionNumbers,
    PaddingLike,
    conv_dimension_numbers,
    conv_general_dilated,
)
from refjax.primitives.dot_algorithm import (
    AccuracyMode,
    DotAlgorithm,
    DotAlgorithmPreset,
    Tolerance,
)
from refjax.primitives.gather_scatter import (
    GatherDimensionNumbers,
    ScatterDimensionNumbers,
    gather,
    scatter_add,
)
from refjax.primitives.linalg import (
    DotDimensionNumbers,
    Precision,
    PrecisionLike,
    canonicalize_precision,
    dot_general,
)
from refjax.primitives.special import igamma_grad_a
from refjax.primitives.transcendental import exp, lgamma, log
from refjax.tree_util import PyTree

__all__ = [
    "AccuracyMode",
    "DotAlgorithm",
    "DotAlgorithmPreset",
    "PrecisionLike",
    "RaggedDotDimensionNumbers",
    "RandomAlgorithm",
    "Tolerance",
    "approx_max_k",
    "approx_min_k",
    "approx_top_k_p",
    "composite",
    "conv_general_dilated_local",
    "conv_general_dilated_patches",
    "dce_sink",
    "dce_sink_p",
    "eq_to_p",
    "le_to_p",
    "lt_to_p",
    "platform_dependent",
    "ragged_dot",
    "ragged_dot_general",
    "random_gamma_grad",
    "rng_bit_generator",
    "rng_bit_generator_p",
    "rng_uniform",
    "rng_uniform_p",
    "scatter_apply",
    "shape_as_value",
    "stage",
    "stage_p",
]


def _moveaxis(x: Array, src: Sequence[int], dst: Sequence[int]) -> Array:
    """``np.moveaxis`` of an array, as one ``transpose``."""
    nd = x.ndim
    sources, dests = [s % nd for s in src], [d % nd for d in dst]
    order = [n for n in range(nd) if n not in sources]
    for d, s in sorted(zip(dests, sources, strict=True)):
        order.insert(d, s)
    perm = tuple(order)
    return x if perm == tuple(range(x.ndim)) else sh.transpose(x, perm)


# ---------------------------------------------------------------------------------------------
# conv_general_dilated_patches, conv_general_dilated_local


def conv_general_dilated_patches(
    lhs: ArrayLike,
    filter_shape: Sequence[int],
    window_strides: Sequence[int],
    padding: PaddingLike,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
    precision: Precision | None = None,
    preferred_element_type: DTypeLike | None = None,
) -> Array:
    """The patches ``conv_general_dilated`` would see, flattened into the output's feature
    dimension (ordered as input feature, then the filter's spatial dims): a grouped
    convolution with a one-hot kernel, as JAX builds it."""
    lhs_array = as_array(lhs)
    filter_shape = tuple(filter_shape)
    dnums = conv_dimension_numbers(lhs_array.shape, (1, 1, *filter_shape), dimension_numbers)
    lhs_spec, rhs_spec, _ = dnums
    spatial_size = math.prod(filter_shape)
    n_channels = lhs_array.shape[lhs_spec[1]]
    eye = np.eye(spatial_size, dtype=lhs_array.dtype)
    kernel = np.broadcast_to(eye, (n_channels, spatial_size, spatial_size))
    kernel = kernel.reshape((n_channels * spatial_size, 1, *filter_shape))
    kernel = np.moveaxis(kernel, (0, 1), (rhs_spec[0], rhs_spec[1]))
    return conv_general_dilated(
        lhs_array,
        constant(np.ascontiguousarray(kernel), lhs_array.dtype),
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dnums,
        feature_group_count=n_channels,
        precision=None if precision is None else (precision, Precision.DEFAULT),
        preferred_element_type=preferred_element_type,
    )


def conv_general_dilated_local(
    lhs: ArrayLike,
    rhs: ArrayLike,
    window_strides: Sequence[int],
    padding: PaddingLike,
    filter_shape: Sequence[int],
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
    precision: PrecisionLike = None,
) -> Array:
    """An unshared (locally connected) convolution: a separate kernel at each output position,
    ``rhs``'s spatial dims indexing output positions and its input-feature dim holding the
    flattened patch; the patches contracted with ``rhs`` by ``dot_general``."""
    lhs_array = as_array(lhs)
    c_precision = canonicalize_precision(precision)
    if c_precision is None:
        lhs_precision = None
    elif isinstance(c_precision, tuple) and len(c_precision) == 2:
        lhs_precision = c_precision[0]
    else:
        raise ValueError(f"Unsupported precision for conv_general_dilated_local: {precision}")
    patches = conv_general_dilated_patches(
        lhs_array, filter_shape, window_strides, padding, lhs_dilation, rhs_dilation,
        dimension_numbers, lhs_precision,
    )
    _, rhs_spec, out_spec = conv_dimension_numbers(
        lhs_array.shape, (1, 1, *filter_shape), dimension_numbers)
    lhs_b = list(out_spec[2:])
    rhs_b = list(rhs_spec[2:])
    rhs_b = [rhs_b[i] for i in sorted(range(len(rhs_b)), key=lambda k: lhs_b[k])]
    lhs_b = sorted(lhs_b)
    dnums = (([out_spec[1]], [rhs_spec[1]]), (lhs_b, rhs_b))
    out = dot_general(patches, rhs, dnums, precision=precision)
    return _moveaxis(out, (-2, -1), (out_spec[0], out_spec[1]))


# ---------------------------------------------------------------------------------------------
# rng_bit_generator, rng_uniform


class RandomAlgorithm(enum.IntEnum):
    """Which PRNG algorithm ``rng_bit_generator`` uses."""

    RNG_DEFAULT = 0
    RNG_THREE_FRY = 1
    RNG_PHILOX = 2

    def __str__(self) -> str:
        return self.name


_BIT_DTYPES: tuple[DType, ...] = tuple(np.dtype(t) for t in ("uint8", "uint16", "uint32",
                                                               "uint64"))


def _rng_bit_generator_rule(
    key: ShapedArray, *, shape: tuple[int, ...], dtype: DType, algorithm: RandomAlgorithm,
    out_sharding: None,
) -> list[ShapedArray]:
    if (key.shape, key.dtype) not in (((4,), np.dtype(np.uint32)), ((2,), np.dtype(np.uint64))):
        raise TypeError(
            f"rng_bit_generator: the key must be uint32[4] or uint64[2], got {key.str_short()}"
        )
    if dtype not in _BIT_DTYPES:
        raise TypeError(f"rng_bit_generator: unsupported dtype {dtype}")
    return [key, ShapedArray(tuple(shape), dtype)]


rng_bit_generator_p = standard_primitive(
    "rng_bit_generator", _rng_bit_generator_rule, multiple_results=True
)


def rng_bit_generator(
    key: ArrayLike, shape: Sequence[int], dtype: DTypeLike = np.uint32,
    algorithm: RandomAlgorithm = RandomAlgorithm.RNG_DEFAULT, *, out_sharding: None = None,
) -> tuple[Array, Array]:
    """``(new_key, bits)``: uniformly random bits of ``shape`` and the unsigned ``dtype`` from
    the stateless generator ``algorithm`` keyed by ``key`` (XLA's RngBitGenerator)."""
    dims = tuple(operator.index(d) for d in shape)
    dt = dtypes.canonicalize_dtype(dtype)
    if dt not in _BIT_DTYPES:
        raise TypeError(f"rng_bit_generator: unsupported dtype {dt}")
    new_key, bits = rng_bit_generator_p.bind_all(
        key, shape=dims, dtype=dt, algorithm=RandomAlgorithm(algorithm), out_sharding=None
    )
    return new_key, bits


def _rng_bit_generator_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, shape: tuple[int, ...],
    dtype: DType, algorithm: RandomAlgorithm, out_sharding: None,
) -> tuple[list[Array], list[BatchDim]]:
    """JAX's rule: the first key generates the whole batch and alone is advanced."""
    from refjax.primitives import slicing as sl

    (keys,), (bd,) = args, dims
    assert bd is not None
    size = get_aval(keys).shape[bd]
    keys = bdim_at(keys, bd, size, 0)
    key = sh.squeeze(sl.slice_in_dim(keys, 0, 1), (0,))
    new_key, bits = rng_bit_generator_p.bind_all(
        key, shape=(size, *shape), dtype=dtype, algorithm=algorithm, out_sharding=out_sharding
    )
    new_keys = sl.dynamic_update_slice(keys, sh.expand_dims(new_key, (0,)),
                                       (np.int32(0), np.int32(0)))
    return [new_keys, bits], [0, 0]


batching_rules[rng_bit_generator_p] = _rng_bit_generator_batch


def _fill_algorithm(params: dict[str, ParamValue], outs: Sequence[ShapedArray]) -> None:
    """JAX's text shows the algorithm by its bare name (``algorithm=RNG_PHILOX``)."""
    if isinstance(params.get("algorithm"), str):
        params["algorithm"] = RandomAlgorithm[params["algorithm"]]


register_hidden_params("rng_bit_generator", _fill_algorithm)


def _rng_uniform_rule(a: ShapedArray, b: ShapedArray, *, shape: tuple[int, ...]) -> ShapedArray:
    if a.dtype != b.dtype:
        raise ValueError(
            f"Arguments to rng_uniform must have identical dtypes, got {a.dtype} and {b.dtype}."
        )
    if a.shape != () or b.shape != ():
        raise ValueError(
            f"Arguments to rng_uniform must be scalars; got shapes {a.shape} and {b.shape}."
        )
    if not (dtypes.issubdtype(a.dtype, np.floating)
            or dtypes.issubdtype(a.dtype, np.signedinteger)):
        # (XLA's CPU compiler aborts on the others)
        raise TypeError(f"rng_uniform: unsupported dtype {a.dtype}")
    return ShapedArray(tuple(shape), a.dtype, a.weak_type and b.weak_type)


rng_uniform_p = standard_primitive("rng_uniform", _rng_uniform_rule)
effectful_primitives.add(rng_uniform_p)


def rng_uniform(a: ArrayLike, b: ArrayLike, shape: Sequence[int]) -> Array:
    """Random numbers of ``shape`` uniform in ``[a, b)`` (XLA's stateful Rng; the values are
    unspecified and differ from call to call)."""
    return rng_uniform_p.bind(a, b, shape=tuple(operator.index(d) for d in shape))


# ---------------------------------------------------------------------------------------------
# random_gamma_grad


def random_gamma_grad(a: ArrayLike, x: ArrayLike) -> Array:
    """The derivative in ``a`` of a sample ``x`` of ``Gamma(a, 1)`` (implicitly, through its
    CDF ``P(a, x)``): ``-(dP/da) / (dP/dx)``; 0 at ``x = 0``, NaN outside ``x >= 0, a > 0``."""
    args = [as_array(a), as_array(x)]
    shape = broadcast_shapes("random_gamma_grad", *(v.shape for v in args))
    args = [v if v.shape == shape else sh.broadcast_in_dim(v, shape, tuple(range(v.ndim)))
            for v in args]
    dtype = args[0].dtype
    upcast = dtype == np.float16
    if upcast:
        args = [ew.convert_element_type(v, np.float32) for v in args]
    av, xv = args

    def const(value: float) -> Array:
        return sh.broadcast_in_dim(constant(value, av.dtype, av.weak_type), shape, ())

    zero = const(0.0)
    safe_x = ew.select(ew.gt(xv, zero), xv, const(1.0))
    log_density = ew.sub(ew.sub(ew.mul(ew.sub(av, const(1.0)), log(safe_x)), safe_x), lgamma(av))
    out = ew.neg(ew.div(igamma_grad_a(av, safe_x), exp(log_density)))
    is_nan = ew.bitwise_or(ew.ne(av, av), ew.ne(xv, xv))
    domain_error = ew.bitwise_or(ew.lt(xv, zero), ew.le(av, zero))
    out = ew.select(ew.eq(xv, zero), zero, out)
    out = ew.select(ew.bitwise_or(domain_error, is_nan), const(float("nan")), out)
    return ew.convert_element_type(out, dtype) if upcast else out


# ---------------------------------------------------------------------------------------------
# approx_max_k, approx_min_k

_TPU_LANE_TILING = 128  # rank > 1
_TPU_CHUNK_TILING = 1024  # rank 1


def _log2_floor(value: int) -> int:
    return 0 if value == 0 else value.bit_length() - 1


def _log2_ceil(value: int) -> int:
    return 0 if value == 0 else (value - 1).bit_length()


def approx_top_k_reduction_output_size(
    input_size: int, rank: int, top_k: int, recall_target: float, aggregate_to_topk: bool,
    input_size_override: int = -1,
) -> tuple[int, int]:
    """XLA's ``ApproxTopKReductionOutputSize``: the size the reduced dimension keeps, and the
    reduction as a power of two (-1 when aggregating to ``top_k``)."""
    if aggregate_to_topk:
        return top_k, -1
    tiling = _TPU_CHUNK_TILING if rank == 1 else _TPU_LANE_TILING
    if input_size <= tiling:
        return input_size, 0
    if input_size_override >= 0 and input_size > input_size_override:
        raise ValueError(
            f"reduction_input_size_override: {input_size_override} should be greater equals "
            f"to operands[reduction_dim]: {input_size}"
        )
    logical = input_size_override if input_size_override >= 0 else input_size
    if top_k == 1:
        return tiling, _log2_ceil(-(-logical // tiling))
    recall = float(np.float32(recall_target))
    if recall == 1.0:
        return input_size, 0
    if recall <= 0.0 or recall > 1.0:
        raise ValueError("recall_target should range in (0,1]")
    m = min(max(int((1.0 - top_k) / math.log(recall)), tiling), input_size)
    log2_reduction = _log2_floor(logical // m)
    if log2_reduction == 0:
        return input_size, 0
    log2_reduction = min(log2_reduction, _log2_ceil(input_size // tiling))
    chunks = -(-input_size // tiling)
    size = -(-chunks // (1 << log2_reduction)) * tiling
    return size, log2_reduction


def _approx_top_k_rule(
    operand: ShapedArray, *, k: int, reduction_dimension: int, recall_target: float,
    is_max_k: bool, reduction_input_size_override: int, aggregate_to_topk: bool,
) -> list[ShapedArray]:
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if len(operand.shape) == 0:
        raise TypeError(
            f"approx_top_k operand must have >= 1 dimension, got {operand.shape}"
        )
    dims = list(operand.shape)
    if dims[reduction_dimension] < k:
        raise ValueError(
            f"k must be smaller than the size of reduction_dim {dims[reduction_dimension]}, "
            f"got {k}"
        )
    if not dtypes.issubdtype(operand.dtype, np.floating):
        raise ValueError("operand must be a floating type")
    dims[reduction_dimension] = approx_top_k_reduction_output_size(
        dims[reduction_dimension], len(dims), k, recall_target, aggregate_to_topk,
        reduction_input_size_override,
    )[0]
    return [operand.update(shape=tuple(dims)),
            ShapedArray(tuple(dims), np.dtype(np.int32))]


approx_top_k_p = standard_primitive("approx_top_k", _approx_top_k_rule, multiple_results=True)


def _approx_top_k(
    operand: ArrayLike, k: int, reduction_dimension: int, recall_target: float, is_max_k: bool,
    reduction_input_size_override: int, aggregate_to_topk: bool,
) -> tuple[Array, Array]:
    values, indices = approx_top_k_p.bind_all(
        operand, k=operator.index(k), reduction_dimension=operator.index(reduction_dimension),
        recall_target=float(recall_target), is_max_k=is_max_k,
        reduction_input_size_override=operator.index(reduction_input_size_override),
        aggregate_to_topk=bool(aggregate_to_topk),
    )
    return values, indices


def approx_max_k(
    operand: ArrayLike, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
    reduction_input_size_override: int = -1, aggregate_to_topk: bool = True,
) -> tuple[Array, Array]:
    """The ``k`` largest values along ``reduction_dimension`` and their indices, in descending
    order (exact here, as on JAX's CPU backend)."""
    return _approx_top_k(operand, k, reduction_dimension, recall_target, True,
                         reduction_input_size_override, aggregate_to_topk)


def approx_min_k(
    operand: ArrayLike, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
    reduction_input_size_override: int = -1, aggregate_to_topk: bool = True,
) -> tuple[Array, Array]:
    """The ``k`` smallest values along ``reduction_dimension`` and their indices, in ascending
    order (exact here, as on JAX's CPU backend)."""
    return _approx_top_k(operand, k, reduction_dimension, recall_target, False,
                         reduction_input_size_override, aggregate_to_topk)


def take_along_axis(x: ArrayLike, indices: ArrayLike, axis: int) -> Array:
    """``x`` read at ``indices`` along ``axis`` (every other axis matched one to one): a gather
    with batching dims, as ``jnp.take_along_axis`` lowers."""
    ndim = get_aval(x).ndim
    others = tuple(d for d in range(ndim) if d != axis)
    dnums = GatherDimensionNumbers(
        offset_dims=(), collapsed_slice_dims=(axis,), start_index_map=(axis,),
        operand_batching_dims=others, start_indices_batching_dims=others,
    )
    return gather(x, sh.expand_dims(indices, (ndim,)), dnums, (1,) * ndim,
                  mode="promise_in_bounds")


def _approx_top_k_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], **params: Any
) -> tuple[list[Array], list[Tangent]]:
    """The tangent is read where the values were (``take_along_axis``); indices get none."""
    (operand,), (tangent,) = primals, tangents
    values, indices = approx_top_k_p.bind_all(operand, **params)
    axis = params["reduction_dimension"] % get_aval(indices).ndim
    t_out: Tangent = (Zero(tangent_aval(get_aval(values))) if isinstance(tangent, Zero)
                      else take_along_axis(tangent, indices, axis))
    return [values, indices], [t_out, Zero(tangent_aval(get_aval(indices)))]


def _approx_top_k_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *, reduction_dimension: int,
    **params: Any,
) -> tuple[list[Array], list[BatchDim]]:
    (operand,), (bd,) = args, dims
    assert bd is not None
    dim_map = [d for d in range(get_aval(operand).ndim) if d != bd]
    outs = approx_top_k_p.bind_all(
        operand, reduction_dimension=dim_map[reduction_dimension], **params)
    return outs, [bd, bd]


jvp_rules[approx_top_k_p] = _approx_top_k_jvp
batching_rules[approx_top_k_p] = _approx_top_k_batch


# ---------------------------------------------------------------------------------------------
# Total-order comparisons: eq_to, lt_to, le_to

eq_to_p = standard_primitive(
    "eq_to", naryop_rule("eq_to", [ANY, ANY], lambda _: np.dtype(np.bool_)))
le_to_p = standard_primitive(
    "le_to", naryop_rule("le_to", [ANY, ANY], lambda _: np.dtype(np.bool_)))
lt_to_p = standard_primitive(
    "lt_to", naryop_rule("lt_to", [ANY, ANY], lambda _: np.dtype(np.bool_)))
for _prim in (eq_to_p, le_to_p, lt_to_p):
    defjvp_zero(_prim)
    defbroadcasting(_prim)


# ---------------------------------------------------------------------------------------------
# ragged_dot, ragged_dot_general


@dataclasses.dataclass(frozen=True, init=False)
class RaggedDotDimensionNumbers:
    """The ragged, group and dot dimensions of ``ragged_dot_general``: ``dot_dimension_numbers``
    as ``dot_general``'s, one ``lhs_ragged_dimensions`` entry, and the ``rhs_group_dimensions``
    (one when the ragged dimension is not contracted, else none)."""

    dot_dimension_numbers: tuple[tuple[tuple[int, ...], tuple[int, ...]],
                                 tuple[tuple[int, ...], tuple[int, ...]]]
    lhs_ragged_dimensions: tuple[int, ...]
    rhs_group_dimensions: tuple[int, ...]

    def __init__(self, dot_dimension_numbers: DotDimensionNumbers,
                 lhs_ragged_dimensions: Sequence[int], rhs_group_dimensions: Sequence[int]):
        (lc, rc), (lb, rb) = dot_dimension_numbers
        dnums = ((tuple(lc), tuple(rc)), (tuple(lb), tuple(rb)))
        object.__setattr__(self, "dot_dimension_numbers", dnums)
        object.__setattr__(self, "lhs_ragged_dimensions", tuple(lhs_ragged_dimensions))
        object.__setattr__(self, "rhs_group_dimensions", tuple(rhs_group_dimensions))


class _RaggedMode(enum.Enum):
    NONCONTRACTING = 1  # [b,m,k], [g,b,k,n], [b,g] -> [b,m,n]
    CONTRACTING = 2  # [b,m,k], [b,k,n], [b,g] -> [g,b,m,n]
    BATCH = 3  # [b,m,k], [b,k,n], [g] -> [b,m,n]


def _ragged_mode(rank: int, dnums: RaggedDotDimensionNumbers) -> tuple[_RaggedMode, int]:
    ragged = dnums.lhs_ragged_dimensions[0]
    (l_contract, _), (l_batch, _) = dnums.dot_dimension_numbers
    noncontract = [d for d in range(rank) if d not in l_contract and d not in l_batch]
    if ragged in noncontract:
        return _RaggedMode.NONCONTRACTING, ragged
    if ragged in l_contract:
        return _RaggedMode.CONTRACTING, ragged
    if ragged in l_batch:
        return _RaggedMode.BATCH, ragged
    raise TypeError(
        f"lhs_ragged_dim {ragged} not found in lhs_noncontracting {noncontract}, "
        f"lhs_contracting {list(l_contract)}, or lhs_batch {list(l_batch)}."
    )


def _prefix_dims(mode: _RaggedMode, rank: int, ragged: int, batch: Sequence[int],
                 contract: Sequence[int]) -> list[int]:
    """The dims of the operand that ``group_sizes``' leading dims follow."""
    batch, contract = list(batch), list(contract)
    noncontract = [d for d in range(rank) if d not in contract and d not in batch]
    if mode is _RaggedMode.NONCONTRACTING:
        return batch + noncontract[: noncontract.index(ragged)]
    if mode is _RaggedMode.CONTRACTING:
        return batch + contract[: contract.index(ragged)]
    return batch[: batch.index(ragged)]


def _check_ragged(lhs: ShapedArray, rhs: ShapedArray, group_sizes: ShapedArray,
                  dnums: RaggedDotDimensionNumbers) -> _RaggedMode:
    """JAX's shape rule for ``ragged_dot_general`` (dot_general checks the rest)."""
    def in_range(dim: int, rank: int, dim_name: str, arg: str) -> None:
        if dim < 0 or dim >= rank:
            raise TypeError(
                f"ragged_dot_general requires {dim_name} numbers to be nonnegative and less "
                f"than the number of axes of the {arg} value, got {dim} for {arg} of rank "
                f"{rank}."
            )

    if len(dnums.lhs_ragged_dimensions) != 1:
        raise TypeError("ragged_dot_general expects exactly one lhs ragged dimension.")
    ragged = dnums.lhs_ragged_dimensions[0]
    in_range(ragged, lhs.ndim, "lhs ragged dimension", "lhs")
    mode, _ = _ragged_mode(lhs.ndim, dnums)
    (l_contract, r_contract), (l_batch, r_batch) = dnums.dot_dimension_numbers
    if group_sizes.ndim == 0:
        raise TypeError("expected rank of group_sizes to be >=1.")
    if group_sizes.ndim != 1:
        prefix = _prefix_dims(mode, lhs.ndim, ragged, l_batch, l_contract)
        expected = (*(lhs.shape[i] for i in prefix), group_sizes.shape[-1])
        if group_sizes.shape != expected:
            raise TypeError(
                f"expected group_sizes to have shape {expected}, got {group_sizes.shape}."
            )
    num_groups = group_sizes.shape[-1]
    groups = dnums.rhs_group_dimensions
    if mode is not _RaggedMode.NONCONTRACTING:
        if groups:
            raise TypeError(
                "ragged_dot_general requires zero group dimensions in the rhs when lhs ragged "
                "dimension is contracting or batch."
            )
    else:
        if len(groups) != 1:
            raise TypeError(
                "ragged_dot_general requires exactly one rhs group dimension when lhs ragged "
                "dimension is noncontracting."
            )
        in_range(groups[0], rhs.ndim, "rhs group dimension", "rhs")
        if groups[0] in r_batch or groups[0] in r_contract:
            raise TypeError(
                "ragged_dot_general requires rhs group dimension numbers to be distinct from "
                "contracting and batch dimensions."
            )
        if rhs.shape[groups[0]] != num_groups:
            raise TypeError(
                f"expected rhs group dimension size to be {num_groups}, got "
                f"{rhs.shape[groups[0]]}."
            )
    if not dtypes.issubdtype(group_sizes.dtype, np.integer):
        raise TypeError(
            "ragged_dot_general requires that group_sizes.dtype is subtype of np.integer."
        )
    return mode


def _expand(x: Array, dim: int, group_sizes: Array, axes: Sequence[int]) -> Array:
    """``x`` with a leading group axis: slice ``g`` keeps the rows of the ragged ``dim`` in
    group ``g`` (zeros elsewhere); ``group_sizes`` is ``[*x.shape[axes], g]``."""
    g = group_sizes.shape[-1]
    shape = (g, *x.shape)
    ends = rd.cumsum(group_sizes, group_sizes.ndim - 1)
    starts = ew.sub(ends, group_sizes)
    # the group axis first, then the prefix axes in x's order
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    perm = (len(axes), *order)
    if perm != tuple(range(len(perm))):
        ends, starts = sh.transpose(ends, perm), sh.transpose(starts, perm)
    target = (0, *sorted(a + 1 for a in axes))
    ends_b = sh.broadcast_in_dim(ends, shape, target)
    starts_b = sh.broadcast_in_dim(starts, shape, target)
    iota = sh.broadcasted_iota(group_sizes.dtype, shape, dim + 1)
    mask = ew.bitwise_and(ew.le(starts_b, iota), ew.lt(iota, ends_b))
    xb = sh.broadcast_in_dim(x, shape, tuple(range(1, len(shape))))
    return ew.select(mask, xb, sh.broadcast_in_dim(constant(0, x.dtype), shape, ()))


def ragged_dot_general(
    lhs: ArrayLike, rhs: ArrayLike, group_sizes: ArrayLike,
    ragged_dot_dimension_numbers: RaggedDotDimensionNumbers, precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None, group_offset: ArrayLike | None = None,
    out_sharding: None = None,
) -> Array:
    """``dot_general`` where one lhs dimension is split into consecutive groups of
    ``group_sizes``: a non-contracted ragged dim uses the rhs slice of its group, a contracted
    one gives a result per group, a batch one is an ordinary product."""
    if group_offset is not None:
        raise NotImplementedError("Unimplemented group_offset support.")
    lhs_a, rhs_a, gs = as_array(lhs), as_array(rhs), as_array(group_sizes)
    dnums = ragged_dot_dimension_numbers
    mode = _check_ragged(lhs_a.aval, rhs_a.aval, gs.aval, dnums)
    ragged = dnums.lhs_ragged_dimensions[0]
    (l_contract, r_contract), (l_batch, r_batch) = dnums.dot_dimension_numbers
    l_prefix = _prefix_dims(mode, lhs_a.ndim, ragged, l_batch, l_contract)
    if gs.ndim == 1:
        gs = sh.broadcast_in_dim(gs, (*(lhs_a.shape[i] for i in l_prefix), gs.shape[0]),
                                 (len(l_prefix),))
    dot = functools.partial(dot_general, precision=precision,
                            preferred_element_type=preferred_element_type)

    def incr(dims: Sequence[int]) -> list[int]:
        return [d + 1 for d in dims]

    if mode is _RaggedMode.NONCONTRACTING:
        group = dnums.rhs_group_dimensions[0]
        return dot(_expand(lhs_a, ragged, gs, l_prefix), rhs_a,
                   ((incr(l_contract) + [0], [*r_contract, group]), (incr(l_batch), r_batch)))
    if mode is _RaggedMode.CONTRACTING:
        r_ragged = r_contract[list(l_contract).index(ragged)]
        r_prefix = _prefix_dims(mode, rhs_a.ndim, r_ragged, r_batch, r_contract)
        return dot(_expand(lhs_a, ragged, gs, l_prefix), _expand(rhs_a, r_ragged, gs, r_prefix),
                   ((incr(l_contract), incr(r_contract)), ([0, *incr(l_batch)],
                                                           [0, *incr(r_batch)])))
    return dot(lhs_a, rhs_a, dnums.dot_dimension_numbers)


def ragged_dot(
    lhs: ArrayLike, rhs: ArrayLike, group_sizes: ArrayLike, precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None, group_offset: ArrayLike | None = None,
    out_sharding: None = None,
) -> Array:
    """``[m, k] x [g, k, n] -> [m, n]``: rows of ``lhs`` in consecutive groups of
    ``group_sizes``, each multiplied by its group's ``rhs[g]`` (rows past the groups give 0)."""
    return ragged_dot_general(
        lhs, rhs, group_sizes,
        RaggedDotDimensionNumbers((([1], [1]), ([], [])), [0], [0]),
        precision, preferred_element_type, group_offset,
    )


# ---------------------------------------------------------------------------------------------
# stage, dce_sink, shape_as_value


stage_p = standard_primitive("stage", lambda x: x)
defvectorized(stage_p)
deflinear2(stage_p, lambda ct, _: [ct])


def _stage_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent]) -> tuple[
        list[Array], list[Tangent]]:
    (x,), (t,) = primals, tangents
    return [stage_p.bind(x)], [t]


jvp_rules[stage_p] = _stage_jvp


def stage(x: ArrayLike, /) -> Array:
    """``x`` as an array of the current trace (the identity on arrays; a host value becomes a
    constant array)."""
    if isinstance(x, Array):
        return x
    dt, weak = dtypes.dtype_and_weak_type(x)
    return convert(x, dt, weak)


def _dce_sink_rule(x: ShapedArray, *, prevent_mlir_dce: bool) -> list[ShapedArray]:
    return []


dce_sink_p = standard_primitive("dce_sink", _dce_sink_rule, multiple_results=True)
effectful_primitives.add(dce_sink_p)


def _dce_sink_jvp(primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
                  prevent_mlir_dce: bool) -> tuple[list[Array], list[Tangent]]:
    dce_sink_p.bind_all(*primals, prevent_mlir_dce=prevent_mlir_dce)
    return [], []


def _dce_sink_transpose(cts: Sequence[Cotangent], x: ArrayLike | UndefinedPrimal, *,
                        prevent_mlir_dce: bool) -> list[Cotangent | None]:
    return [None]


def _dce_sink_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
                    prevent_mlir_dce: bool) -> tuple[list[Array], list[BatchDim]]:
    dce_sink_p.bind_all(*args, prevent_mlir_dce=prevent_mlir_dce)
    return [], []


def _fill_prevent_mlir_dce(params: dict[str, Any], outs: Sequence[ShapedArray]) -> None:
    params.setdefault("prevent_mlir_dce", False)  # (text of dce_sink_p.bind(x) has none)


register_hidden_params("dce_sink", _fill_prevent_mlir_dce)
jvp_rules[dce_sink_p] = _dce_sink_jvp
transpose_rules[dce_sink_p] = _dce_sink_transpose
batching_rules[dce_sink_p] = _dce_sink_batch


def dce_sink(val: PyTree, *, prevent_mlir_dce: bool = False) -> None:
    """Mark every array of ``val`` as used, so that dead-code elimination keeps what computes
    it (``prevent_mlir_dce`` is accepted for JAX's signature; refjax has no MLIR)."""
    for leaf in tree_util.tree_leaves(val):
        dce_sink_p.bind_all(leaf, prevent_mlir_dce=bool(prevent_mlir_dce))


def shape_as_value(shape: Sequence[int]) -> Array | np.ndarray[Any, np.dtype[Any]]:
    """A shape as an integer array (int32 if every size fits, else int64), as a numpy array
    (an empty shape gives an empty array)."""
    dims = tuple(operator.index(d) for d in shape)
    fits = all(d <= np.iinfo(np.int32).max for d in dims)
    dtype = np.dtype(np.int32 if fits else np.int64)
    if not dims:
        return sh.broadcast_in_dim(constant(0, dtypes.canonicalize_dtype(dtype)), (0,), ())
    return np.asarray(dims, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# scatter_apply


def scatter_apply(
    operand: ArrayLike, scatter_indices: ArrayLike, func: Callable[[Array], Array],
    dimension_numbers: ScatterDimensionNumbers, *, update_shape: Sequence[int] = (),
    indices_are_sorted: bool = False, unique_indices: bool = False, mode: Any = None,
) -> Array:
    """``operand`` with the elementwise ``func`` applied at each place the scatter of an
    update of ``update_shape`` would write (once per update, so twice at a place two updates
    hit, as XLA applies it)."""
    operand_a = as_array(operand)
    ones = sh.broadcast_in_dim(constant(1, np.dtype(np.int32)), tuple(update_shape), ())
    zeros = sh.broadcast_in_dim(constant(0, np.dtype(np.int32)), operand_a.shape, ())
    counts = scatter_add(zeros, scatter_indices, ones, dimension_numbers,
                         indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                         mode=mode)

    def cond(carry: tuple[Array, Array]) -> Array:
        i, _ = carry
        return rd.reduce_or(ew.gt(counts, i), tuple(range(operand_a.ndim)))

    def body(carry: tuple[Array, Array]) -> tuple[Array, Array]:
        i, x = carry
        return ew.add(i, constant(1, np.dtype(np.int32))), ew.select(ew.gt(counts, i), func(x), x)

    _, out = while_loop(cond, body, (constant(0, np.dtype(np.int32)), operand_a))
    out_array: Array = out
    return out_array


# ---------------------------------------------------------------------------------------------
# composite


def _composite_rule(*avals: ShapedArray, name: str, attributes: tuple[Any, ...], version: int,
                    jaxpr: ClosedJaxpr) -> list[ShapedArray]:
    return list(jaxpr.out_avals)


composite_p = standard_primitive("composite", _composite_rule, multiple_results=True)


def _composite_jvp(*args: Any, **params: Any) -> tuple[list[Array], list[Tangent]]:
    raise ValueError(
        "JVP rule for composite not implemented. You can use `jax.custom_jvp` to add support. "
        "See https://docs.jax.dev/en/latest/_autosummary/jax.custom_jvp.html"
    )


def _composite_transpose(*args: Any, **params: Any) -> list[Cotangent | None]:
    raise ValueError(
        "Transpose rule for composite not implemented. You can use`jax.custom_jvp` or "
        "`jax.custom_vjp` to add support. See "
        "https://docs.jax.dev/en/latest/_autosummary/jax.custom_jvp.html"
    )


jvp_rules[composite_p] = _composite_jvp
transpose_rules[composite_p] = _composite_transpose


class _Attribute(NamedTuple):
    """One keyword attribute of a composite: its name, leaves and tree (printed as JAX's
    ``(name, leaves, tree)`` triple)."""

    key: str
    leaves: tuple[Any, ...]
    tree: Any


def composite(decomposition: Callable[..., Any], name: str,
              version: int = 0) -> Callable[..., Any]:
    """``decomposition`` as a named operation (XLA's composite): calling the result binds
    ``composite`` with ``decomposition`` traced as its body and the keyword arguments as static
    attributes; evaluating it runs the body."""

    @functools.wraps(decomposition)
    def call(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(v, Tracer) for v in tree_util.tree_leaves(list(kwargs.values()))):
            raise TypeError(
                f"Found a JAX Tracer as an attribute in the decomposition for the composite op "
                f"'{name}'. Any values that aren't explicitly known at compile time must be "
                "explicitly passed as arguments to the composite."
            )
        flat, in_tree = tree_util.tree_flatten(args)
        out_trees: list[Any] = []

        def flat_fn(*leaves: ArrayLike) -> list[ArrayLike]:
            out = decomposition(*tree_util.tree_unflatten(in_tree, list(leaves)), **kwargs)
            out_flat, out_tree = tree_util.tree_flatten(out)
            out_trees.append(out_tree)
            return out_flat

        closed = trace_to_jaxpr(flat_fn, [get_aval(x) for x in flat],
                                debug_info(decomposition, "composite", []))
        hoisted, consts = hoist_consts(closed)
        attributes = []
        for k, v in kwargs.items():
            leaves, tree = tree_util.tree_flatten(v)
            attributes.append(tuple((k, tuple(leaves), tree)))
        outs = composite_p.bind_all(*consts, *flat, name=name, attributes=tuple(attributes),
                                    version=operator.index(version), jaxpr=hoisted)
        return tree_util.tree_unflatten(out_trees[0], outs)

    return call


# ---------------------------------------------------------------------------------------------
# platform_dependent

_JAX_PLATFORM: dict[str, str] = {"numpy": "cpu", "opencl": "cpu", "cuda": "cuda"}


def _current_platform() -> str:
    """The refjax backend (``numpy``, ``opencl``, ``cuda``) a new constant lives on: its
    device's backend, not its JAX platform name (``cpu`` for numpy's devices)."""
    probe = concrete_array(np.int32(0), ShapedArray((), np.dtype(np.int32)))
    device = getattr(probe, "device", None)
    return str(getattr(device, "backend", "numpy"))


def platform_dependent(*args: Any, default: Callable[..., Any] | None = None,
                       **per_platform: Callable[..., Any]) -> Any:
    """The branch for the platform computing it applied to ``args``: a keyword naming refjax's
    backend (``numpy``, ``opencl``, ``cuda``) first, then JAX's name for it (``cpu`` for numpy
    and OpenCL, ``cuda``), then ``default``."""
    for pname, branch in per_platform.items():
        if not callable(branch):
            raise TypeError(f"lax.platform_dependent: the '{pname}' branch must be a callable.")
        if pname == "gpu":
            raise ValueError("Use 'cuda' or 'rocm' for lax.platform_dependent.")
    if default is not None and not callable(default):
        raise TypeError("lax.platform_dependent: the 'default' branch must be a callable.")
    platform = _current_platform()
    for key in (platform, _JAX_PLATFORM.get(platform, platform)):
        if key in per_platform:
            return per_platform[key](*args)
    if default is None:
        raise ValueError(
            f"Cannot lower platform_dependent: the platform {_JAX_PLATFORM.get(platform)!r} "
            f"(refjax backend {platform!r}) has no branch among {sorted(per_platform)} and "
            "there is no default"
        )
    return default(*args)

