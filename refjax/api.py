"""The user-facing transformations: pytrees in and out, argnums, static args, error checks.

Each wrapper flattens its arguments with ``tree_util``, runs the interpreter of its transformation
on flat lists of arrays, and rebuilds the output pytree.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Final, overload

import numpy as np

from refjax import dtypes, tree_util
from refjax.api_util import (
    check_callable,
    ensure_inbounds,
    ensure_index,
    ensure_index_tuple,
    ensure_str_tuple,
    fun_signature,
    infer_argnums_and_argnames,
    validate_jit_argnums,
)
from refjax.backends.base import (
    ArrayImpl,
    Backend,
    Device,
    deoptimized,
    get_backend,
    invalid_values,
    result_device,
    to_buffer,
)
from refjax.interp.axes import extend_axis_env
from refjax.interp.core import Array, ArrayLike, ShapedArray, as_array, get_aval
from refjax.interp.staging import debug_info, hoist_consts, trace_to_jaxpr


def arg_names(fn: Callable[..., Any], args: Sequence[Any]) -> list[str]:
    """Names of the flattened arguments (``x``, ``params['w']``), for error messages."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    names = []
    for i, arg in enumerate(args):
        base = params[i] if i < len(params) else f"args[{i}]"
        paths, _ = tree_util.tree_flatten_with_path(arg)
        names += [base + tree_util.keystr(path) for path, _ in paths]
    return names


def abstractify(x: ArrayLike | ShapeDtypeStruct) -> ShapedArray:
    """The aval a traced input gets: shapes and dtypes kept, weak types kept, as JAX.

    A :class:`ShapeDtypeStruct` stands for an array of its shape and dtype (``make_jaxpr`` and
    ``eval_shape`` accept one, as JAX's do).
    """
    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, x.dtype, x.weak_type)
    return get_aval(x)


def make_jaxpr(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] = (),
    axis_env: Sequence[tuple[Any, int]] | None = None,
    return_shape: bool = False,
) -> Callable[..., Any]:
    """A function that returns the ClosedJaxpr of ``fun`` traced on its arguments' avals
    (with the named axes of ``axis_env``, (name, size) pairs, bound for its collectives)."""
    if not callable(fun):
        raise TypeError("the first argument must be callable")  # JAX's text (functools.partial)

    @functools.wraps(fun)
    def make(*args: Any) -> Any:
        check_callable(fun)  # JAX's make_jaxpr checks as jax.jit does, when called
        nums = ensure_index_tuple(static_argnums)
        validate_jit_argnums(fun, (nums, ()), ((), ()))
        static = ensure_inbounds(True, len(args), nums)
        dyn_args = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = tree_util.tree_flatten(dyn_args)
        out_tree: list[tree_util.PyTreeDef] = []

        def flat_fun(*flat_args: ArrayLike) -> list[ArrayLike]:
            rebuilt = iter(tree_util.tree_unflatten(in_tree, list(flat_args)))
            full = [a if i in static else next(rebuilt) for i, a in enumerate(args)]
            out = fun(*full)
            out_flat, tree = tree_util.tree_flatten(out)
            out_tree.append(tree)
            return out_flat

        names = arg_names(fun, dyn_args)
        debug = debug_info(fun, "make_jaxpr", names)
        with contextlib.ExitStack() as axes:
            for axis_name, size in axis_env or ():
                axes.enter_context(extend_axis_env(axis_name, size))
            closed = trace_to_jaxpr(flat_fun, [abstractify(x) for x in flat], debug)
        if return_shape:
            shapes = [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in closed.out_avals]
            return closed, tree_util.tree_unflatten(out_tree[0], shapes)
        return closed

    return make


class ShapeDtypeStruct:
    """A shape and dtype standing for an array (``jax.ShapeDtypeStruct``)."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape: Sequence[int], dtype: Any, weak_type: bool = False) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype, self.weak_type) == (
            other.shape,
            other.dtype,
            other.weak_type,
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))


# ---------------------------------------------------------------------------------------------
# Automatic differentiation: jvp, linearize, vjp, grad and friends


_SCALARS = (bool, int, float, complex, np.generic, np.ndarray)


def _dtype_of(x: object) -> Any:
    return get_aval(x).dtype


def _check_jvp_args(primals: Sequence[Any], tangents: Sequence[Any]) -> None:
    from refjax.interp.jvp import tangent_aval

    for p, t in zip(primals, tangents, strict=True):
        p_aval, t_aval = get_aval(p), get_aval(t)
        expected = tangent_aval(p_aval).dtype
        if t_aval.dtype != expected:
            raise TypeError(
                "primal and tangent arguments to jax.jvp do not match; dtypes must be equal, "
                "or in case of int/bool primal dtype the tangent dtype must be float0."
                f"Got primal dtype {p_aval.dtype} and so expected tangent dtype {expected}, "
                f"but got tangent dtype {t_aval.dtype} instead."
            )
        if p_aval.shape != t_aval.shape:
            raise ValueError(
                "jvp called with different primal and tangent shapes;"
                f"Got primal shape {p_aval.shape} and tangent shape as {t_aval.shape}"
            )


def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False
) -> Any:
    """``(fun(*primals), d fun(primals)[tangents])``: forward-mode derivative along ``tangents``."""
    from refjax.interp.jvp import Zero, instantiate, jvp_flat

    check_callable(fun)
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "primal and tangent arguments to jax.jvp must be tuples or lists; "
            f"found {type(primals).__name__} and {type(tangents).__name__}."
        )
    flat_p, p_tree = tree_util.tree_flatten(tuple(primals))
    flat_t, t_tree = tree_util.tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(
            "primal and tangent arguments to jax.jvp must have the same tree structure; "
            f"primals have tree structure {p_tree} whereas tangents have tree structure {t_tree}."
        )
    _check_jvp_args(flat_p, flat_t)
    tangents_in = [
        Zero.from_primal(p) if _dtype_of(t) == dtypes.float0 else as_array(t)
        for p, t in zip(flat_p, flat_t, strict=True)
    ]
    # The aux leaves leave the JVP trace as extra outputs (their primals are the aux), so an aux
    # computed from the inputs is no leaked tracer.
    outs: list[tuple[tree_util.PyTreeDef, tree_util.PyTreeDef | None, int]] = []

    def flat_fun(*ins: ArrayLike) -> list[ArrayLike]:
        out = fun(*tree_util.tree_unflatten(p_tree, list(ins)))
        aux_flat: list[ArrayLike] = []
        aux_tree = None
        if has_aux:
            out, aux = out
            aux_flat, aux_tree = tree_util.tree_flatten(aux)
        out_flat, out_tree = tree_util.tree_flatten(out)
        outs.append((out_tree, aux_tree, len(out_flat)))
        return [*out_flat, *aux_flat]

    primals_flat, tangents_flat = jvp_flat(flat_fun, flat_p, tangents_in)
    out_tree, aux_tree, n_out = outs[0]
    primals_out = tree_util.tree_unflatten(out_tree, primals_flat[:n_out])
    tangents_out = tree_util.tree_unflatten(
        out_tree, [instantiate(t) for t in tangents_flat[:n_out]]
    )
    if aux_tree is not None:
        return primals_out, tangents_out, tree_util.tree_unflatten(aux_tree, primals_flat[n_out:])
    return primals_out, tangents_out


class _Flattened:
    """``fun`` on flat lists of arrays, remembering its output tree (and aux output)."""

    def __init__(self, fun: Callable[..., Any], in_tree: tree_util.PyTreeDef, has_aux: bool):
        self.fun, self.in_tree, self.has_aux = fun, in_tree, has_aux
        self.out_tree: tree_util.PyTreeDef | None = None
        self.aux_tree: tree_util.PyTreeDef | None = None
        self.num_out = 0

    def __call__(self, *flat_args: ArrayLike) -> list[ArrayLike]:
        args = tree_util.tree_unflatten(self.in_tree, list(flat_args))
        out = self.fun(*args)
        aux_flat: list[Any] = []
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(
                    "has_aux=True requires the function to return a pair (output, aux), "
                    f"got {type(out).__name__}"
                )
            out, aux = out
            aux_flat, self.aux_tree = tree_util.tree_flatten(aux)
        out_flat, self.out_tree = tree_util.tree_flatten(out)
        self.num_out = len(out_flat)
        return list(out_flat) + list(aux_flat)


def _linearize(
    fun: Callable[..., Any], primals: Sequence[Any], has_aux: bool, traced_for: str
) -> tuple[_Flattened, list[Any], Any, list[ShapedArray]]:
    from refjax.interp.jvp import tangent_aval
    from refjax.interp.partial_eval import linearize_flat

    flat, in_tree = tree_util.tree_flatten(tuple(primals))
    flat_fun = _Flattened(fun, in_tree, has_aux)
    in_avals = [tangent_aval(get_aval(x)) for x in flat]
    debug = debug_info(fun, traced_for, arg_names(fun, primals))
    outs, jaxpr, _ = linearize_flat(flat_fun, flat, in_avals, debug)
    return flat_fun, outs, jaxpr, in_avals


def linearize(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(fun(*primals), f_jvp)`` where ``f_jvp`` evaluates the staged linear JVP jaxpr."""
    from refjax.interp.core import eval_jaxpr

    check_callable(fun)
    flat_fun, outs, jaxpr, _ = _linearize(fun, primals, has_aux, "linearize")
    assert flat_fun.out_tree is not None
    out_tree, n = flat_fun.out_tree, flat_fun.num_out
    in_tree = tree_util.tree_structure(tuple(primals))

    def f_jvp(*tangents: Any) -> Any:
        flat_t, t_tree = tree_util.tree_flatten(tuple(tangents))
        if t_tree != in_tree:
            raise ValueError(
                f"linearized function called on tangent values inconsistent with the original "
                f"primal values: got tangent tree {t_tree} for primal tree {in_tree}"
            )
        tangents_out = eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *flat_t)
        return tree_util.tree_unflatten(out_tree, tangents_out[:n])

    primals_out = tree_util.tree_unflatten(out_tree, outs[:n])
    if has_aux:
        assert flat_fun.aux_tree is not None
        return primals_out, f_jvp, tree_util.tree_unflatten(flat_fun.aux_tree, outs[n:])
    return primals_out, f_jvp


def vjp(
    fun: Callable[..., Any], *primals: Any, has_aux: bool = False, reduce_axes: Sequence[Any] = ()
) -> Any:
    """``(fun(*primals), f_vjp)``: ``f_vjp(ct)`` pulls a cotangent back to the inputs."""
    from refjax.interp.jvp import instantiate, tangent_aval
    from refjax.interp.partial_eval import dce_closed_jaxpr
    from refjax.interp.transpose import UndefinedPrimal, backward_pass

    _no_reduce_axes("vjp", reduce_axes)
    check_callable(fun)
    flat_fun, outs, jaxpr, in_avals = _linearize(fun, primals, has_aux, "vjp")
    assert flat_fun.out_tree is not None
    out_tree, n = flat_fun.out_tree, flat_fun.num_out
    # The aux outputs' tangents get no cotangent: prune what only they need, as JAX's linear
    # jaxpr never has them.
    n_aux = len(jaxpr.out_avals) - n
    jaxpr, _ = dce_closed_jaxpr(
        jaxpr, [True] * n + [False] * n_aux, instantiate=True, cache=False
    )
    in_tree = tree_util.tree_structure(tuple(primals))
    out_avals = [tangent_aval(get_aval(o)) for o in outs[:n]]

    def f_vjp(cotangent: Any) -> tuple[Any, ...]:
        flat_ct, ct_tree = tree_util.tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise TypeError(
                f"Tree structure of cotangent input {ct_tree}, does not match structure of "
                f"primal output {out_tree}."
            )
        for ct, aval in zip(flat_ct, out_avals, strict=True):
            ct_aval = get_aval(ct)
            if ct_aval.shape != aval.shape or ct_aval.dtype != aval.dtype:
                raise ValueError(
                    f"Type of cotangent input to vjp pullback function ({ct_aval.str_short()}) "
                    f"is not the expected tangent type ({aval.str_short()}) of corresponding "
                    "primal output."
                )
        cts_out = list(flat_ct)
        undefined = [UndefinedPrimal(a) for a in in_avals]
        cts_in = backward_pass(jaxpr.jaxpr, jaxpr.consts, undefined, cts_out)
        return tuple(tree_util.tree_unflatten(in_tree, [instantiate(c) for c in cts_in]))

    primals_out = tree_util.tree_unflatten(out_tree, outs[:n])
    if has_aux:
        assert flat_fun.aux_tree is not None
        return primals_out, f_vjp, tree_util.tree_unflatten(flat_fun.aux_tree, outs[n:])
    return primals_out, f_vjp


def _check_arg(x: Any) -> ShapedArray:
    """``x``'s aval, or JAX's TypeError for a value that is not a JAX type."""
    try:
        return get_aval(x)
    except TypeError:
        raise TypeError(f"Argument '{x}' of type {type(x)} is not a valid JAX type.") from None


def _check_input_dtype_revderiv(name: str, holomorphic: bool, allow_int: bool, x: Any) -> None:
    """JAX's checks of an input of ``grad`` or ``jacrev`` (``name``)."""
    dtype = _check_arg(x).dtype
    if holomorphic and dtype.kind != "c":
        raise TypeError(
            f"{name} with holomorphic=True requires inputs with complex dtype, but got "
            f"{dtype.name}."
        )
    if dtype.kind in "biu":
        if not allow_int:
            raise TypeError(
                f"{name} requires real- or complex-valued inputs (input dtype that is a "
                f"sub-dtype of np.inexact), but got {dtype.name}. If you want to use Boolean- "
                "or integer-valued inputs, use vjp or set allow_int to True."
            )
    elif not dtypes.is_float(dtype):
        raise TypeError(
            f"{name} requires numerical-valued inputs (input dtype that is a sub-dtype of "
            f"np.bool_ or np.number), but got {dtype.name}."
        )


def _check_output_dtype_revderiv(name: str, holomorphic: bool, x: Any) -> None:
    """JAX's checks of an output of ``grad`` or ``jacrev`` (``name``)."""
    dtype = get_aval(x).dtype
    if holomorphic:
        if dtype.kind != "c":
            raise TypeError(
                f"{name} with holomorphic=True requires outputs with complex dtype, but got "
                f"{dtype.name}."
            )
    elif dtype.kind == "c":
        raise TypeError(
            f"{name} requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name}. For holomorphic differentiation, pass "
            "holomorphic=True. For differentiation of non-holomorphic functions involving "
            "complex outputs, use jax.vjp directly."
        )
    elif dtype.kind != "f":
        raise TypeError(
            f"{name} requires real-valued outputs (output dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name}. For differentiation of functions with "
            "integer outputs, use jax.vjp directly."
        )


def _check_input_dtype_jacfwd(holomorphic: bool, x: Any) -> None:
    dtype = _check_arg(x).dtype
    if holomorphic:
        if dtype.kind != "c":
            raise TypeError(
                "jacfwd with holomorphic=True requires inputs with complex dtype, but got "
                f"{dtype.name}."
            )
    elif dtype.kind != "f":
        raise TypeError(
            "jacfwd requires real-valued inputs (input dtype that is a sub-dtype of "
            f"np.floating), but got {dtype.name}. For holomorphic differentiation, pass "
            "holomorphic=True. For differentiation of non-holomorphic functions involving "
            "complex inputs or integer inputs, use jax.jvp directly."
        )


def _check_output_dtype_jacfwd(holomorphic: bool, x: Any) -> None:
    dtype = get_aval(x).dtype
    if holomorphic and dtype.kind != "c":
        raise TypeError(
            "jacfwd with holomorphic=True requires outputs with complex dtype, but got "
            f"{dtype.name}."
        )


def _check_grad_output(out: Any, holomorphic: bool) -> None:
    if not isinstance(out, (Array, *_SCALARS)):
        raise TypeError(f"Gradient only defined for scalar-output functions. Output was {out}.")
    aval = get_aval(out)
    if aval.shape != ():
        raise TypeError(
            f"Gradient only defined for scalar-output functions. Output had shape: {aval.shape}."
        )
    _check_output_dtype_revderiv("grad", holomorphic, out)


def _no_reduce_axes(name: str, reduce_axes: Sequence[Any]) -> None:
    """JAX still accepts ``reduce_axes`` (empty) and rejects any axis."""
    if reduce_axes:
        raise NotImplementedError(f"reduce_axes argument to {name} is deprecated")


def value_and_grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    reduce_axes: Sequence[Any] = (),
) -> Callable[..., Any]:
    """A function computing ``fun``'s value and its gradient with respect to ``argnums``
    (``holomorphic``: complex inputs and output, the derivative of a holomorphic ``fun``)."""
    _no_reduce_axes("grad", reduce_axes)  # (JAX's message names grad here too)
    check_callable(fun)
    spec = ensure_index(argnums)

    @functools.wraps(fun)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        nums = _grad_argnums(spec, len(args))
        dyn = [args[i] for i in nums]
        for leaf in tree_util.tree_leaves(dyn):
            _check_input_dtype_revderiv("grad", holomorphic, allow_int, leaf)

        def partial_fun(*dyn_args: Any) -> Any:
            full = list(args)
            for i, a in zip(nums, dyn_args, strict=True):
                full[i] = a
            return fun(*full, **kwargs)

        if has_aux:
            out, f_vjp, aux = vjp(partial_fun, *dyn, has_aux=True)
        else:
            out, f_vjp = vjp(partial_fun, *dyn)
        _check_grad_output(out, holomorphic)
        from refjax.primitives.constants import constant

        aval = get_aval(out)
        grads = f_vjp(constant(np.ones((), aval.dtype), aval.dtype, aval.weak_type))
        g = grads[0] if isinstance(spec, int) else tuple(grads)
        return ((out, aux), g) if has_aux else (out, g)

    return value_and_grad_f


def _grad_argnums(argnums: int | tuple[int, ...], nargs: int) -> tuple[int, ...]:
    """``argnums`` resolved against the caller's ``nargs`` positional arguments, as JAX."""
    max_argnum = argnums if isinstance(argnums, int) else max(argnums)
    if max_argnum >= nargs:
        raise TypeError(
            f"differentiating with respect to {argnums=} requires at least {max_argnum + 1} "
            f"positional arguments to be passed by the caller, but got only {nargs} positional "
            "arguments."
        )
    return ensure_inbounds(False, nargs, ensure_index_tuple(argnums))


def grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    reduce_axes: Sequence[Any] = (),
) -> Callable[..., Any]:
    """The gradient of scalar-valued ``fun`` with respect to ``argnums`` (reverse mode)."""
    _no_reduce_axes("grad", reduce_axes)
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @functools.wraps(fun)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        out, g = vg(*args, **kwargs)
        return (g, out[1]) if has_aux else g

    return grad_f


# ---------------------------------------------------------------------------------------------
# vmap


def _check_axes_spec(name: str, axes: Any) -> None:
    leaves = tree_util.tree_leaves(axes, is_leaf=lambda x: x is None)
    if not all(leaf is None or type(leaf) is int for leaf in leaves):
        raise TypeError(
            f"vmap {name} must be an int, None, or (nested) container with those types as "
            f"leaves, but got {axes}."
        )


def _flatten_axes(what: str, tree: Any, axes: Any) -> list[int | None]:
    """``axes`` (a prefix of ``tree``) broadcast to one entry per leaf of ``tree``."""
    try:
        return tree_util.broadcast_prefix(axes, tree, is_leaf=lambda x: x is None)
    except ValueError:
        raise ValueError(
            f"{what} specification must be a tree prefix of the corresponding value, got "
            f"specification {axes} for value tree {tree_util.tree_structure(tree)}."
        ) from None


def _mapped_size(
    fun: Callable[..., Any],
    args: Any,
    flat: Sequence[Any],
    dims: Sequence[int | None],
    axis_size: int | None,
) -> int:
    """The common size of the mapped axes, or JAX's ValueError listing each argument's size."""
    sizes: list[int | None] = []
    for x, d in zip(flat, dims, strict=True):
        if d is None:
            sizes.append(None)
            continue
        shape = get_aval(x).shape
        if not -len(shape) <= d < len(shape):
            min_rank = d + 1 if d >= 0 else -d
            raise ValueError(
                f"vmap was requested to map its argument along axis {d}, which implies that its "
                f"rank should be at least {min_rank}, but is only {len(shape)} "
                f"(its shape is {shape})"
            )
        sizes.append(shape[d])
    distinct = {s for s in sizes if s is not None}
    if axis_size is not None:
        distinct.add(axis_size)
    if len(distinct) == 1:
        return distinct.pop()
    if not distinct:
        if not flat:
            raise ValueError(
                "vmap wrapped function must be passed at least one argument containing an array "
                f"or axis_size must be specified, got empty *args={args[0]} and **kwargs={args[1]}"
            )
        raise ValueError(
            "vmap must have at least one non-None value in in_axes or axis_size must be specified"
        )
    raise ValueError(_inconsistent_sizes_message(fun, args, flat, dims, sizes, axis_size))


def _inconsistent_sizes_message(
    fun: Callable[..., Any],
    args: Any,
    flat: Sequence[Any],
    dims: Sequence[int | None],
    sizes: Sequence[int | None],
    axis_size: int | None,
) -> str:
    names = _leaf_descriptions(fun, args, flat)
    counts: dict[int, list[int]] = {}
    for i, s in enumerate(sizes):
        if s is not None:
            counts.setdefault(s, []).append(i)
    ordered = sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
    lines = ["vmap got inconsistent sizes for array axes to be mapped:\n"]
    if axis_size is not None:
        lines.append(f"  * the `axis_size` argument was {axis_size};\n")
    for rank, (size, where) in enumerate(ordered):
        i = where[0]
        if len(where) == 1:
            lines.append(f"  * one axis had size {size}: axis {dims[i]} of {names[i]};\n")
        else:
            lead = "most axes" if rank == 0 else "some axes"
            lines.append(
                f"  * {lead} ({len(where)} of them) had size {size}, e.g. axis {dims[i]} of "
                f"{names[i]};\n"
            )
    return "".join(lines)


def _leaf_descriptions(fun: Callable[..., Any], args: Any, flat: Sequence[Any]) -> list[str]:
    """'argument x of type f32[3]' for each flat leaf of ``(args, kwargs)``."""
    try:
        params = list(inspect.signature(fun).parameters)
    except (TypeError, ValueError):
        params = []
    out: list[str] = []
    for path, leaf in tree_util.tree_flatten_with_path(args)[0]:
        first = path[0]
        rest = tree_util.keystr(tuple(path[1:]))
        kind = f"of type {get_aval(leaf).str_short()}"
        if getattr(first, "idx", None) == 0:  # positional args
            i = getattr(path[1], "idx", 0)
            name = f"argument {params[i]}" if i < len(params) else f"args[{i}]"
            out.append(f"{name}{tree_util.keystr(tuple(path[2:]))} {kind}")
        else:
            out.append(f"kwargs{rest} {kind}")
    return out


def _move_out_axis(val: ArrayLike, bdim: int | None, size: int, out_axis: int | None) -> Array:
    """One output of ``vmap``: its batch axis ``bdim`` moved to ``out_axis`` (JAX's errors for
    an axis outside the output's rank, or a mapped output with ``out_axes=None``)."""
    from refjax.interp.batching import bdim_at

    if out_axis is None:
        if bdim is not None:
            raise ValueError("vmap has mapped output but out_axes is None")
        return as_array(val)
    rank = get_aval(val).ndim + (bdim is None)
    if not -rank <= out_axis < rank:
        raise ValueError(f"axis {out_axis} is out of bounds for array of dimension {rank}")
    return bdim_at(val, bdim, size, out_axis)


def vmap(
    fun: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
) -> Callable[..., Any]:
    """``fun`` mapped over axes of its arguments (``in_axes``), stacking results at ``out_axes``."""
    from refjax.interp.batching import vmap_flat

    check_callable(fun)
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or type(in_axes) in (int, tuple, dict)):
        raise TypeError(
            "vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
            f"positional arguments passed to the function, but got {in_axes}."
        )
    _check_axes_spec("in_axes", in_axes)
    _check_axes_spec("out_axes", out_axes)

    @functools.wraps(fun)
    def vmap_f(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                "vmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                "positional arguments passed to the function, "
                f"but got len(in_axes)={len(in_axes)}, len(args)={len(args)}"
            )
        tree = (args, kwargs)
        flat, in_tree = tree_util.tree_flatten(tree)
        dims = _flatten_axes("vmap in_axes", tree, (in_axes, 0))
        size = _mapped_size(fun, tree, flat, dims, axis_size)
        outs: list[tuple[Any, tree_util.PyTreeDef]] = []

        def flat_fun(*ins: ArrayLike) -> list[ArrayLike]:
            a, kw = tree_util.tree_unflatten(in_tree, list(ins))
            out = fun(*a, **kw)
            out_flat, out_tree = tree_util.tree_flatten(out)
            outs.append((out, out_tree))
            return out_flat

        pairs = vmap_flat(flat_fun, flat, dims, size, axis_name)
        out, out_tree = outs[0]
        o_dims = _flatten_axes("vmap out_axes", out, out_axes)
        moved = zip(pairs, o_dims, strict=True)
        results = [_move_out_axis(val, d, size, od) for (val, d), od in moved]
        return tree_util.tree_unflatten(out_tree, results)

    return vmap_f


# ---------------------------------------------------------------------------------------------
# Jacobians and Hessians, built from vmap as in JAX


def _std_basis(flat: Sequence[Any]) -> Any:
    """Rows of the identity matrix over the concatenated flat inputs, split per input."""
    from refjax.numpy import eye, reshape

    sizes = [get_aval(x).size for x in flat]
    total = sum(sizes)
    dtype = dtypes.result_type(*flat) if flat else np.float32
    basis = eye(total, dtype=dtype)
    parts, start = [], 0
    for x, n in zip(flat, sizes, strict=True):
        parts.append(reshape(basis[:, start : start + n], (total, *get_aval(x).shape)))
        start += n
    return parts


def _possible_downcast(x: Any, example: ShapedArray) -> Any:
    """A Jacobian block in its example's dtype and weak type, as JAX's: the real part of a
    complex block of a real example, zeros of the example's dtype for a float0 block (an
    integer input's, with ``allow_int``)."""
    from refjax.primitives.elementwise import convert_element_type_p, real

    aval = get_aval(x)
    if aval.dtype == dtypes.float0:
        from refjax.numpy import zeros

        x = zeros(aval.shape, example.dtype)
        aval = get_aval(x)
    elif aval.dtype.kind == "c" and example.dtype.kind != "c":
        x = real(x)
        aval = get_aval(x)
    if aval.dtype == example.dtype and aval.weak_type == example.weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=example.dtype, weak_type=example.weak_type)


def jacfwd(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by forward mode: ``vmap`` of ``jvp`` over a standard basis
    (``holomorphic``: complex inputs and outputs, a holomorphic ``fun``'s derivative)."""
    from refjax.numpy import reshape

    check_callable(fun)
    spec = ensure_index(argnums)

    def jac(*args: Any, **kwargs: Any) -> Any:
        nums = ensure_inbounds(False, len(args), ensure_index_tuple(spec))
        dyn = tuple(args[i] for i in nums)
        flat, tree = tree_util.tree_flatten(dyn)
        for x in flat:
            _check_input_dtype_jacfwd(holomorphic, x)

        def partial_fun(*dyn_args: Any) -> Any:
            full = list(args)
            for i, a in zip(nums, dyn_args, strict=True):
                full[i] = a
            return fun(*full, **kwargs)

        out_avals: list[ShapedArray] = []  # the primal outputs' (per example)

        def push(*tangent_flat: Any) -> Any:
            tangents = tree_util.tree_unflatten(tree, list(tangent_flat))
            res = jvp(partial_fun, dyn, tangents, has_aux=has_aux)
            out_avals[:] = [get_aval(y) for y in tree_util.tree_leaves(res[0])]
            return (res[1], res[2]) if has_aux else res[1]

        basis = _std_basis(flat)
        pushed = vmap(push, out_axes=-1)(*basis)
        if has_aux:
            pushed, aux = pushed
            aux = tree_util.tree_map(lambda a: a[0], aux)
        sizes = [get_aval(x).shape for x in flat]

        def split(y: Any) -> Any:
            parts, start = [], 0
            for shape in sizes:
                n = int(np.prod(shape, dtype=np.int64))
                piece = y[..., start : start + n]
                parts.append(reshape(piece, (*y.shape[:-1], *shape)))
                start += n
            per_arg = tree_util.tree_unflatten(tree, parts)
            return per_arg[0] if isinstance(spec, int) else per_arg

        for y in tree_util.tree_leaves(pushed):
            _check_output_dtype_jacfwd(holomorphic, y)
        leaves, pushed_tree = tree_util.tree_flatten(pushed)
        pushed = tree_util.tree_unflatten(pushed_tree, [
            _possible_downcast(y, a) for y, a in zip(leaves, out_avals, strict=True)])
        out = tree_util.tree_map(split, pushed)
        return (out, aux) if has_aux else out

    return jac


def jacrev(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by reverse mode: ``vmap`` of ``vjp`` over a standard basis
    (``holomorphic``: complex inputs and outputs, a holomorphic ``fun``'s derivative)."""
    from refjax.numpy import reshape

    check_callable(fun)  # JAX's jacrev checks argnums only when called

    def jac(*args: Any, **kwargs: Any) -> Any:
        nums = ensure_inbounds(False, len(args), ensure_index_tuple(argnums))
        dyn = tuple(args[i] for i in nums)
        for x in tree_util.tree_leaves(dyn):
            _check_input_dtype_revderiv("jacrev", holomorphic, allow_int, x)

        def partial_fun(*dyn_args: Any) -> Any:
            full = list(args)
            for i, a in zip(nums, dyn_args, strict=True):
                full[i] = a
            return fun(*full, **kwargs)

        res = vjp(partial_fun, *dyn, has_aux=has_aux)
        out, f_vjp = res[0], res[1]
        out_flat, out_tree = tree_util.tree_flatten(out)
        for y in out_flat:
            _check_output_dtype_revderiv("jacrev", holomorphic, y)
        basis = _std_basis(out_flat)
        cts = vmap(lambda *ct: f_vjp(tree_util.tree_unflatten(out_tree, list(ct))))(*basis)
        # cts: per input, leading axis = concatenated output size; split it per output leaf.
        out_shapes = [get_aval(o).shape for o in out_flat]

        def per_output(g: Any) -> Any:
            parts, start = [], 0
            for shape in out_shapes:
                n = int(np.prod(shape, dtype=np.int64))
                parts.append(reshape(g[start : start + n], (*shape, *g.shape[1:])))
                start += n
            return tree_util.tree_unflatten(out_tree, parts)

        cts = [tree_util.tree_map(lambda g, x: _possible_downcast(g, get_aval(x)), ct, arg)
               for ct, arg in zip(cts, dyn, strict=True)]
        grads = cts[0] if isinstance(argnums, int) else tuple(cts)
        result = _transpose_tree(tree_util.tree_map(per_output, grads), grads, out_tree)
        return (result, res[2]) if has_aux else result

    return jac


def _transpose_tree(jac: Any, inner: Any, out_tree: tree_util.PyTreeDef) -> Any:
    """Make the output tree the outer structure, the input tree the inner one (as JAX)."""
    inner_tree = tree_util.tree_structure(inner)
    return tree_util.tree_transpose(inner_tree, out_tree, jac)


def jacobian(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Callable[..., Any]:
    """``jacrev`` (JAX's ``jacobian`` is reverse mode)."""
    return jacrev(fun, argnums, has_aux, holomorphic, allow_int)


def hessian(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """The Hessian of scalar ``fun``: ``jacfwd(jacrev(fun))``, as in JAX."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


# ---------------------------------------------------------------------------------------------
# jit
#
# A call of a jitted function looks its signature up in the function's cache: a key made in one
# pass over the arguments, then (on a hit) the entry's executable runs on the arguments' buffers.
# Calls with only positional arguments that are plain arrays (refjax arrays of this process,
# numpy arrays, Python and numpy scalars) and no static arguments take a fast path that does no
# pytree work; every other call flattens ``(args, kwargs)``. Both paths make the same key for
# the same signature, so they share cache entries (and traces).


class _JitEntry:
    """One traced signature of a jitted function: its jaxpr, constants and output tree, and
    (once run outside any trace) its executable."""

    __slots__ = (
        "closed", "hoisted", "consts", "out_tree", "out_avals", "rebuild", "single", "exe"
    )

    def __init__(self, closed: Any, out_tree: tree_util.PyTreeDef) -> None:
        self.closed = closed
        self.hoisted, self.consts = hoist_consts(closed)
        self.out_tree = out_tree
        self.out_avals: tuple[ShapedArray, ...] = tuple(closed.out_avals)
        self.rebuild = _rebuilder(out_tree, len(self.out_avals))
        # the output's aval when the output is one array (not in a container), else None
        self.single = self.out_avals[0] if self.rebuild is _first else None
        self.exe: Any = None  # the executable of the backend in the entry's key


_first: Callable[[list[Any]], Any] = operator.itemgetter(0)


def _rebuilder(out_tree: tree_util.PyTreeDef, n: int) -> Callable[[list[Any]], Any]:
    """The output pytree from the flat outputs: a shortcut for a single array or a tuple of
    arrays (the common outputs), else ``out_tree.unflatten``."""
    if out_tree == tree_util.tree_structure(0):
        return _first
    if out_tree == tree_util.tree_structure((0,) * n):
        return tuple
    return out_tree.unflatten


@functools.cache
def _leaf_args_tree(n: int, names: tuple[str, ...] = ()) -> tree_util.PyTreeDef:
    """The tree of ``(args, kwargs)`` for ``n`` positional arguments and keyword arguments
    ``names`` (sorted), all leaves: what ``tree_flatten`` gives for such a call, made once."""
    return tree_util.tree_structure(([0] * n, dict.fromkeys(names, 0)))


# The avals of plain host values: per (type, x64) for scalars, per (dtype, shape, x64) for numpy
# arrays, so a call does not build a ShapedArray (and canonicalise a dtype) per argument.
_PLAIN_SCALARS: Final = frozenset(
    {bool, int, float, complex, np.bool_, np.float16, np.float32, np.float64, np.complex64,
     np.complex128, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
     np.uint64}
)
_scalar_avals: dict[tuple[type, bool], ShapedArray] = {}
_array_avals: dict[tuple[np.dtype[Any], tuple[int, ...], bool], ShapedArray] = {}
_MAX_ARRAY_AVALS: Final = 4096


def _plain_aval(x: object, x64: bool) -> ShapedArray | None:
    """``get_aval(x)`` for a numpy array or scalar of exactly a plain type, from a cache; None
    for anything else (and for a value ``get_aval`` rejects: the general path reports it)."""
    typ = type(x)
    if typ is np.ndarray:
        assert isinstance(x, np.ndarray)
        key = (x.dtype, x.shape, x64)
        aval = _array_avals.get(key)
        if aval is None:
            try:
                aval = get_aval(x)
            except TypeError:
                return None
            if len(_array_avals) >= _MAX_ARRAY_AVALS:
                _array_avals.clear()
            _array_avals[key] = aval
        return aval
    if typ in _PLAIN_SCALARS:
        aval = _scalar_avals.get((typ, x64))
        if aval is None:
            aval = _scalar_avals[typ, x64] = get_aval(x)
        return aval
    return None


def _plain_avals(leaves: Sequence[Any], x64: bool) -> tuple[ShapedArray, ...] | None:
    """The avals of ``leaves`` if all are plain arrays (refjax arrays of exactly ``ArrayImpl``,
    or what :func:`_plain_aval` takes), else None."""
    avals = []
    for x in leaves:
        if type(x) is ArrayImpl:
            avals.append(x._aval)
        else:
            aval = _plain_aval(x, x64)
            if aval is None:
                return None
            avals.append(aval)
    return tuple(avals)


def _check_static(statics: tuple[Any, ...]) -> None:
    for _, _, value in statics:
        try:
            hash(value)
        except TypeError as err:
            raise ValueError(
                "Non-hashable static arguments are not supported. An error occurred while trying "
                f"to hash an object of type {type(value)}, {value}. The error was:\n{err}\n"
            ) from None


def _check_jit_arg(fun_name: str, x: Any, name: str) -> ShapedArray:
    if not isinstance(x, (Array, *_SCALARS)):
        raise TypeError(
            f"Error interpreting argument to {fun_name} as an abstract array. The problematic "
            f"value is of type {type(x)} and was passed to the function at path {name}.\n"
            "This typically means that a jit-wrapped function was called with a non-array "
            "argument, and this argument was not marked as static using the static_argnums or "
            "static_argnames parameters of jax.jit."
        )
    return get_aval(x)


def _jit_statics(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] | None,
    static_argnames: str | Sequence[str] | None,
    donate_argnums: int | Sequence[int] | None,
    donate_argnames: str | Sequence[str] | None,
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``jit``'s static argument numbers and names, each inferred from the other through
    ``fun``'s signature and checked against it, as JAX does."""
    check_callable(fun)
    sig = fun_signature(fun)
    static = infer_argnums_and_argnames(sig, static_argnums, static_argnames)
    donate = infer_argnums_and_argnames(sig, donate_argnums, donate_argnames)
    validate_jit_argnums(fun, static, donate)
    return static


class _JitCache:
    """The traced signatures of one function under one set of static arguments, shared by every
    ``jit`` wrapper of it (JAX caches on the function: ``jit(f)(x)`` twice traces once). Keys
    whose pytree node data cannot be hashed are compared by equality, in a list."""

    __slots__ = ("entries", "unhashable")

    def __init__(self) -> None:
        self.entries: dict[tuple[Any, ...], _JitEntry] = {}
        self.unhashable: list[tuple[tuple[Any, ...], _JitEntry]] = []

    def get(self, key: tuple[Any, ...]) -> _JitEntry | None:
        try:
            return self.entries.get(key)
        except TypeError:  # node data that cannot be hashed
            return next((e for k, e in self.unhashable if k == key), None)

    def put(self, key: tuple[Any, ...], entry: _JitEntry) -> None:
        try:
            self.entries[key] = entry
        except TypeError:
            self.unhashable.append((key, entry))


# fun -> (static argnums, static argnames) -> the cache of its traces
_jit_caches: weakref.WeakKeyDictionary[Any, dict[Any, _JitCache]] = weakref.WeakKeyDictionary()


def _jit_cache(fun: Callable[..., Any], statics: tuple[Any, ...]) -> _JitCache:
    """The trace cache of ``fun`` under ``statics``, shared with every other ``jit`` of it (a
    fresh one for a callable that cannot be weakly referenced or hashed)."""
    try:
        per_fun = _jit_caches.setdefault(fun, {})
    except TypeError:
        return _JitCache()
    return per_fun.setdefault(statics, _JitCache())


class _NotSpecified:
    """The default of ``jit``'s function: absent, ``jit(**options)`` is a decorator (``None``
    is an error, as in JAX)."""

    def __repr__(self) -> str:
        return "<not-specified>"


_NOT_SPECIFIED: Final = _NotSpecified()


@overload
def jit(
    fun: Callable[..., Any],
    /,
    *,
    static_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
    donate_argnums: int | Sequence[int] | None = None,
    donate_argnames: str | Sequence[str] | None = None,
    in_shardings: Any = None,
    out_shardings: Any = None,
) -> Callable[..., Any]: ...


@overload
def jit(
    fun: _NotSpecified = _NOT_SPECIFIED,
    /,
    *,
    static_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
    donate_argnums: int | Sequence[int] | None = None,
    donate_argnames: str | Sequence[str] | None = None,
    in_shardings: Any = None,
    out_shardings: Any = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def jit(
    fun: Callable[..., Any] | _NotSpecified = _NOT_SPECIFIED,
    /,
    *,
    static_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
    donate_argnums: int | Sequence[int] | None = None,
    donate_argnames: str | Sequence[str] | None = None,
    in_shardings: Any = None,
    out_shardings: Any = None,
) -> Callable[..., Any]:
    """``fun`` traced once per signature to a jaxpr and run by the backend's compiler.

    Called with options only (``@jit(static_argnums=0)``) it returns the decorator, as JAX's.
    ``static_argnums`` and ``static_argnames`` each name the other's parameters too (through
    ``fun``'s signature), so a static argument may be passed by position or by keyword.
    The cache key is the input pytree structure, each input's aval (shape, dtype, weak type),
    the static arguments' values, the backend and the flags tracing reads (x64, threefry); the
    cache belongs to ``fun`` (and the static argument numbers and names), so every ``jit`` of
    one function shares it. ``donate_argnums`` and ``donate_argnames`` are checked and
    otherwise ignored: refjax never reuses input buffers. ``in_shardings`` place the
    arguments and ``out_shardings`` the results (a ``Device``, ``SingleDeviceSharding`` or
    ``NamedSharding`` per leaf, or one for all), as ``device_put`` does.
    """
    if isinstance(fun, _NotSpecified):
        return functools.partial(
            jit, static_argnums=static_argnums, static_argnames=static_argnames,
            donate_argnums=donate_argnums, donate_argnames=donate_argnames,
            in_shardings=in_shardings, out_shardings=out_shardings,
        )
    jitted = _jit(fun, static_argnums, static_argnames, donate_argnums, donate_argnames)
    if in_shardings is None and out_shardings is None:
        return jitted
    from refjax.api_parallel import with_shardings

    return with_shardings(jitted, in_shardings, out_shardings)


def _jit(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] | None,
    static_argnames: str | Sequence[str] | None,
    donate_argnums: int | Sequence[int] | None,
    donate_argnames: str | Sequence[str] | None,
) -> Callable[..., Any]:
    from refjax.config import config
    from refjax.interp.axes import axis_frames
    from refjax.interp.core import EVAL_TRACE, current_trace
    from refjax.primitives.calls import jit_p

    static_nums, static_names = _jit_statics(
        fun, static_argnums, static_argnames, donate_argnums, donate_argnames
    )
    # key -> entry. A key is ``(avals, backend, x64, threefry)`` for flat positional array
    # arguments without statics (the fast path's key, which the general path makes too for
    # such a call), else ``(avals, backend, x64, threefry, in_tree, statics)``.
    shared = _jit_cache(fun, (static_nums, static_names))
    cache = shared.entries
    static_positions: dict[int, tuple[int, ...]] = {}
    name = getattr(fun, "__name__", "fun")
    flags = config._values  # the live flag values (``config.read`` without its call)
    fast_ok = not static_nums

    def trace(
        in_tree: Any,
        avals: Sequence[ShapedArray],
        args: Any,
        kwargs: Any,
        static_pos: tuple[int, ...],
        names: list[str],
    ) -> _JitEntry:
        out_trees: list[tree_util.PyTreeDef] = []

        def flat_fun(*flat_args: ArrayLike) -> list[ArrayLike]:
            dyn_args, dyn_kwargs = tree_util.tree_unflatten(in_tree, list(flat_args))
            it = iter(dyn_args)
            full = [a if i in static_pos else next(it) for i, a in enumerate(args)]
            full_kwargs = {
                k: (v if k in static_names else dyn_kwargs[k]) for k, v in kwargs.items()
            }
            out_flat, out_tree = tree_util.tree_flatten(fun(*full, **full_kwargs))
            out_trees.append(out_tree)
            return out_flat

        closed = trace_to_jaxpr(flat_fun, avals, debug_info(fun, "jit", names))
        return _JitEntry(closed, out_trees[0])

    def run(entry: _JitEntry, flat: Sequence[Any], avals: Sequence[ShapedArray],
            backend: Backend, device: Device | None = None) -> Any:
        """The entry's outputs on ``flat`` (on ``device``, where committed inputs are): run by
        the backend, or bound under a trace."""
        if current_trace() is not EVAL_TRACE:
            return entry.rebuild(
                jit_p.bind_all(*entry.consts, *flat, jaxpr=entry.hoisted, name=name)
            )
        exe = entry.exe
        if exe is None:
            exe = entry.exe = backend.compile(entry.closed)
        bufs = [
            x.buffer if type(x) is ArrayImpl and x.backend is backend
            else to_buffer(x, av, backend)
            for x, av in zip(flat, avals, strict=True)
        ]
        outs: list[Array] = [
            ArrayImpl(av, b, backend, device)
            for av, b in zip(entry.out_avals, exe.run(bufs), strict=True)
        ]
        if flags["jax_debug_nans"] or flags["jax_debug_infs"]:
            kind = invalid_values(outs)
            if kind is not None:  # run again op by op, to raise at the primitive
                outs = deoptimized(f"jit({name})", entry.closed, flat)
        return entry.rebuild(outs)

    def general(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call with pytree, keyword or static arguments (or unusual leaves)."""
        static_pos = static_positions.get(len(args))
        if static_pos is None:
            static_pos = static_positions[len(args)] = ensure_inbounds(True, len(args), static_nums)
        # Each static argument is keyed by its type and value (JAX's strict type equality:
        # ``1``, ``1.0`` and ``True`` are equal but trace differently).
        statics = tuple((i, type(args[i]), args[i]) for i in static_pos) + tuple(
            (k, type(kwargs[k]), kwargs[k]) for k in sorted(kwargs) if k in static_names
        )
        _check_static(statics)
        dyn_args = [a for i, a in enumerate(args) if i not in static_pos]
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_names}
        x64 = flags["jax_enable_x64"]
        kw_names = tuple(sorted(dyn_kwargs))
        leaves = [*dyn_args, *(dyn_kwargs[k] for k in kw_names)] if kw_names else dyn_args
        avals = _plain_avals(leaves, x64)
        if avals is not None:  # leaves only: the structure is known without flattening
            flat, in_tree = leaves, _leaf_args_tree(len(dyn_args), kw_names)
            backend = get_backend()
        else:
            flat, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs))
            backend = get_backend()
            try:
                avals = tuple(x.aval if isinstance(x, Array) else get_aval(x) for x in flat)
            except TypeError:
                names = arg_names(fun, dyn_args) + list(dyn_kwargs)
                for i, x in enumerate(flat):
                    _check_jit_arg(name, x, names[i] if i < len(names) else f"args[{i}]")
                raise
        key: tuple[Any, ...] = (avals, backend, x64, flags["jax_threefry_partitionable"])
        frames = axis_frames()  # a body traced under vmap(axis_name=) depends on the axis sizes
        if frames:
            key += (frames,)
        flat_tree = _leaf_args_tree(len(flat))
        if statics or (in_tree is not flat_tree and in_tree != flat_tree):
            key += (in_tree, statics)
        entry = shared.get(key)
        if entry is None:
            names = arg_names(fun, dyn_args) + list(dyn_kwargs)
            entry = trace(in_tree, avals, args, kwargs, static_pos, names)
            shared.put(key, entry)
        try:
            device = result_device(flat, name)
        except ValueError:  # again, naming the arguments
            device = result_device(flat, getattr(fun, "__qualname__", name),
                                   arg_names(fun, dyn_args) + list(dyn_kwargs))
        return run(entry, flat, avals, backend, device)

    @functools.wraps(fun)
    def jitted(*args: Any, **kwargs: Any) -> Any:
        if flags["jax_disable_jit"]:
            return fun(*args, **kwargs)
        if kwargs or not fast_ok or flags["jax_debug_nans"] or flags["jax_debug_infs"]:
            return general(args, kwargs)
        # The fast path: positional plain arrays and a compiled entry, run outside any trace.
        # One pass makes the key and takes the buffers of arrays already on the backend; no
        # pytree work. Anything else is left to ``general``, which makes the same key.
        backend = get_backend()
        x64 = flags["jax_enable_x64"]
        avals = []
        bufs: list[Any] = []
        transfer = False  # whether an argument must be copied to the backend
        for x in args:
            if type(x) is ArrayImpl:
                if x._device is not None:  # committed: the general path places the results
                    return general(args, kwargs)
                avals.append(x._aval)
                if x.backend is backend:
                    bufs.append(x.buffer)
                    continue
            else:
                aval = _plain_aval(x, x64)
                if aval is None:
                    return general(args, kwargs)
                avals.append(aval)
            bufs.append(None)
            transfer = True
        entry = cache.get((tuple(avals), backend, x64, flags["jax_threefry_partitionable"]))
        if entry is None or entry.exe is None or current_trace() is not EVAL_TRACE:
            return general(args, kwargs)  # to trace, compile or bind
        if transfer:
            bufs = [
                to_buffer(x, av, backend) if b is None else b
                for x, av, b in zip(args, avals, bufs, strict=True)
            ]
        outs = entry.exe.run(bufs)
        if entry.single is not None:
            return ArrayImpl(entry.single, outs[0], backend)
        return entry.rebuild(
            [ArrayImpl(av, b, backend) for av, b in zip(entry.out_avals, outs, strict=True)]
        )

    jitted._cache_size = lambda: (  # type: ignore[attr-defined]  # JAX's debug hook
        len(cache) + len(shared.unhashable))
    return jitted


def eval_shape(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The output shapes and dtypes of ``fun`` on ``args``, without computing it."""
    check_callable(fun)
    flat, in_tree = tree_util.tree_flatten((args, kwargs))
    out_trees: list[tree_util.PyTreeDef] = []

    def flat_fun(*flat_args: ArrayLike) -> list[ArrayLike]:
        a, kw = tree_util.tree_unflatten(in_tree, list(flat_args))
        out_flat, out_tree = tree_util.tree_flatten(fun(*a, **kw))
        out_trees.append(out_tree)
        return out_flat

    avals = [abstractify(x) for x in flat]
    closed = trace_to_jaxpr(flat_fun, avals, debug_info(fun, "eval_shape", []))
    shapes = [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in closed.out_avals]
    return tree_util.tree_unflatten(out_trees[0], shapes)


# ---------------------------------------------------------------------------------------------
# linear_transpose and closure_convert


def linear_transpose(
    fun: Callable[..., Any], *primals: Any, reduce_axes: Sequence[Any] = ()
) -> Callable[..., Any]:
    """The transpose of linear ``fun`` at the shapes and dtypes of ``primals``: a function from
    an output cotangent to the tuple of input cotangents (a :class:`tree_util.Partial` holding
    ``fun``'s constants, so it can pass through transformations). ``fun`` is traced with every
    input unknown; an operation that is not linear in them has no transpose rule and fails
    when the transpose runs, as in JAX."""
    from refjax.interp.jvp import instantiate
    from refjax.interp.partial_eval import dce_closed_jaxpr
    from refjax.interp.transpose import UndefinedPrimal, backward_pass

    if reduce_axes:
        raise NotImplementedError("reduce_axes argument to transpose is deprecated")
    check_callable(fun)
    closed, in_tree, out_tree, in_avals = _trace_positional(fun, primals, "linear_transpose")
    closed, _ = dce_closed_jaxpr(closed, [True] * len(closed.jaxpr.outvars), instantiate=True,
                                 cache=False)
    out_avals = tuple(closed.out_avals)
    kinds = [a.dtype.kind for a in (*in_avals, *out_avals)]
    if not (all(k in "fc" for k in kinds) or all(k in "iu" for k in kinds)):
        raise TypeError(
            "linear_transpose only supports [float or complex] -> [float or complex], and "
            "integer -> integer functions, but got "
            f"{[a.dtype for a in in_avals]} -> {[a.dtype for a in out_avals]}."
        )

    def transposed_fun(consts: list[Any], out_cotangent: Any) -> Any:
        out_cts, ct_tree = tree_util.tree_flatten(out_cotangent)
        if ct_tree != out_tree:
            raise TypeError("cotangent tree does not match function output, expected "
                            f"{out_tree} but got {ct_tree}")
        if not all(_same_type(aval, ct) for aval, ct in zip(out_avals, out_cts, strict=True)):
            raise TypeError("cotangent type does not match function output, expected "
                            f"{out_avals} but got {out_cts}")
        undefined = [UndefinedPrimal(a) for a in in_avals]
        cts = backward_pass(closed.jaxpr, consts, undefined, out_cts)
        return tree_util.tree_unflatten(in_tree, [instantiate(c) for c in cts])

    return tree_util.Partial(transposed_fun, list(closed.consts))


def _trace_positional(
    fun: Callable[..., Any], args: tuple[Any, ...], what: str
) -> tuple[Any, tree_util.PyTreeDef, tree_util.PyTreeDef, list[ShapedArray]]:
    """``fun(*args)`` staged on the avals of ``args``' leaves: the closed jaxpr, the input and
    output trees, and the input avals."""
    flat, in_tree = tree_util.tree_flatten(args)
    in_avals = [abstractify(x) for x in flat]
    out_trees: list[tree_util.PyTreeDef] = []

    def flat_fun(*leaves: ArrayLike) -> list[ArrayLike]:
        out = fun(*tree_util.tree_unflatten(in_tree, leaves))
        out_flat, out_tree = tree_util.tree_flatten(out)
        out_trees.append(out_tree)
        return out_flat

    closed = trace_to_jaxpr(flat_fun, in_avals, debug_info(fun, what, []))
    return closed, in_tree, out_trees[0], in_avals


def _same_type(aval: ShapedArray, x: Any) -> bool:
    """Whether ``x`` has ``aval``'s shape and dtype (weak types aside), as a cotangent must."""
    try:
        other = get_aval(x)
    except TypeError:
        return False
    return other.shape == aval.shape and other.dtype == aval.dtype


def _maybe_perturbed(x: Any) -> bool:
    """Whether ``x`` may carry a nonzero tangent (so ``closure_convert`` makes it an argument):
    not a tracer, no; a JVP tracer with a symbolic zero tangent, as its primal; a staged value,
    unless its tangent space is float0 (integers, booleans); a batched value, as its contents;
    any other JVP tracer, yes."""
    from refjax.interp.batching import BatchTracer
    from refjax.interp.core import Tracer
    from refjax.interp.jvp import JVPTracer, Zero
    from refjax.interp.staging import StagingTracer

    if not isinstance(x, Tracer):
        return False
    if isinstance(x, JVPTracer):
        return _maybe_perturbed(x.primal) if isinstance(x.tangent, Zero) else True
    if isinstance(x, StagingTracer):
        return dtypes.is_float(x.aval.dtype)
    if isinstance(x, BatchTracer):
        return _maybe_perturbed(x.val)
    return True


def closure_convert(fun: Callable[..., Any], *example_args: Any) -> tuple[Callable[..., Any],
                                                                         list[Any]]:
    """``fun`` with the values it closes over that may carry tangents (tracers of enclosing
    transformations) made explicit trailing arguments, as JAX's: ``(converted, consts)`` with
    ``converted(*args, *consts) == fun(*args)``. Meant for ``custom_vjp`` and ``custom_jvp``
    functions, whose closed-over tracers would otherwise escape their rules."""
    from refjax.interp.core import eval_jaxpr

    closed, in_tree, out_tree, _ = _trace_positional(fun, example_args, "closure_convert")
    consts = list(closed.consts)
    perturbed = [_maybe_perturbed(c) for c in consts]
    hoisted = [c for c, p in zip(consts, perturbed, strict=True) if p]
    kept = [c for c, p in zip(consts, perturbed, strict=True) if not p]
    n_hoisted = len(hoisted)

    def converted_fun(*args_hconsts: Any) -> Any:
        n_args = len(args_hconsts) - n_hoisted
        args, given = args_hconsts[:n_args], list(args_hconsts[n_args:])
        kept_it, given_it = iter(kept), iter(given)
        all_consts = [next(given_it) if p else next(kept_it) for p in perturbed]
        all_args, in_tree2 = tree_util.tree_flatten(tuple(args))
        if in_tree != in_tree2:
            raise TypeError(
                "The inputs to the closure produced by closure_convert must have the same "
                "Pytree structure as the example arguments passed when closure_convert was "
                f"called. Expected {in_tree}, but got {in_tree2}"
            )
        out_flat = eval_jaxpr(closed.jaxpr, all_consts, *all_args)
        return tree_util.tree_unflatten(out_tree, out_flat)

    return converted_fun, hoisted


# ---------------------------------------------------------------------------------------------
# checkpoint (remat)


def checkpoint(
    fun: Callable[..., Any],
    *,
    prevent_cse: bool | Sequence[bool] = True,
    policy: Callable[..., bool] | None = None,
    static_argnums: int | tuple[int, ...] = (),
    static_argnames: str | Sequence[str] = (),
) -> Callable[..., Any]:
    """``fun`` staged as one ``remat2`` equation, as JAX's ``jax.checkpoint``: its value is
    ``fun``'s, and differentiating it recomputes ``fun``'s intermediates in the backward pass
    instead of keeping them (``policy``, from :mod:`refjax.checkpoint_policies`, is recorded;
    the interpreter recomputes whatever it says). ``static_argnums``/``static_argnames`` are
    passed to ``fun`` as Python values, not traced."""
    from refjax.primitives.remat import remat2_p

    check_callable(fun)
    nums = ensure_index_tuple(static_argnums)
    names = ensure_str_tuple(static_argnames)

    @functools.wraps(fun)
    def fun_remat(*args: Any, **kwargs: Any) -> Any:
        static_pos = set(ensure_inbounds(True, len(args), nums))
        dyn_args = [a for i, a in enumerate(args) if i not in static_pos]
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in names}
        flat, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs))
        in_avals = [abstractify(x) for x in flat]
        out_trees: list[tree_util.PyTreeDef] = []

        def flat_fun(*flat_args: ArrayLike) -> list[ArrayLike]:
            a, kw = tree_util.tree_unflatten(in_tree, list(flat_args))
            it = iter(a)
            full = [args[i] if i in static_pos else next(it) for i in range(len(args))]
            full_kw = {k: (v if k in names else kw[k]) for k, v in kwargs.items()}
            out_flat, out_tree = tree_util.tree_flatten(fun(*full, **full_kw))
            out_trees.append(out_tree)
            return out_flat

        closed = trace_to_jaxpr(flat_fun, in_avals, debug_info(fun, "checkpoint", []))
        body, consts = hoist_consts(closed)
        outs = remat2_p.bind_all(*consts, *flat, jaxpr=body, prevent_cse=prevent_cse,
                                 differentiated=False, policy=policy)
        return tree_util.tree_unflatten(out_trees[0], outs)

    return fun_remat


remat = checkpoint
