"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``, as primitives holding jaxprs.

As in JAX, what a call does depends on the current trace. Outside any transformation the
function itself runs on the values (so its Python control flow on values works). Directly under
forward mode (``jvp``, and ``grad``/``vjp``/``linearize``, which start with it) only the rule
runs: a custom_jvp's JVP rule, or a custom_vjp's forward pass and then a ``custom_lin`` equation
for the tangents, whose transpose calls the backward function; the function itself is not
traced. Under any other trace (staging for ``jit`` or ``make_jaxpr``, ``vmap``) the function is
traced to a jaxpr and the call primitives below are bound:

``custom_jvp_call`` carries the traced function and a thunk that traces the user's JVP rule
for a given pattern of nonzero tangents; its JVP rule inlines that traced rule, every other
transformation sees an ordinary call. ``custom_vjp_call`` carries the function, a thunk for the
user's forward pass and the user's backward function; its JVP runs the forward pass and emits a
``custom_lin`` equation, linear in the tangents, whose transpose calls the backward function.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from refjax import dtypes, tree_util
from refjax.interp.batching import (
    BatchDim,
    batch_jaxpr,
    batch_size,
    batching_rules,
    bdim_at,
    vmap_leading,
)
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    EvalTrace,
    Params,
    ParamValue,
    ShapedArray,
    as_array,
    current_trace,
    display_rules,
    get_aval,
    set_current_trace,
)
from refjax.interp.core import (
    call_jaxpr as eval_closed,  # the params below are named call_jaxpr, as JAX's
)
from refjax.interp.jvp import (
    JVPTrace,
    Tangent,
    Zero,
    add_tangents,
    instantiate,
    jvp_rules,
    tangent_aval,
)
from refjax.interp.partial_eval import PartialEvalTrace
from refjax.interp.staging import debug_info, hoist_consts, trace_to_jaxpr
from refjax.interp.transpose import Cotangent, UndefinedPrimal, transpose_rules
from refjax.primitives.common import standard_primitive
from refjax.tree_util import PyTreeDef
from refjax.util import fun_name

__all__: list[str] = []


def _resolve_kwargs(
    fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Keyword arguments moved into their positions and defaults filled in, as JAX's custom
    derivatives require (so ``nondiff_argnums`` may name a parameter left to its default)."""
    if isinstance(fun, functools.partial):  # (an opaque signature, as in JAX)
        if kwargs:
            raise TypeError("keyword arguments could not be resolved to positions")
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except ValueError:  # no signature to read (a builtin)
        if kwargs:
            raise TypeError("keyword arguments could not be resolved to positions") from None
        return args
    bound.apply_defaults()
    passed = [k for k in bound.kwargs if k in kwargs]
    if passed:  # (keyword-only parameters left to their defaults are dropped, as in JAX)
        raise TypeError("The following keyword arguments could not be resolved to positions: "
                        f"{', '.join(passed)}")
    return tuple(bound.args)


def _split_nondiff(args: Sequence[Any], nondiff: Sequence[int]) -> tuple[list[Any], list[Any]]:
    static = [args[i] for i in nondiff]
    dyn = [a for i, a in enumerate(args) if i not in nondiff]
    return static, dyn


def _merge(static: Sequence[Any], dyn: Sequence[Any], nondiff: Sequence[int]) -> list[Any]:
    s, d = iter(static), iter(dyn)
    return [next(s) if i in nondiff else next(d) for i in range(len(static) + len(dyn))]


def _trace_flat(
    fn: Callable[..., Any], in_tree: PyTreeDef, avals: Sequence[ShapedArray], what: str,
    user_fn: Callable[..., Any], nondiff: Sequence[int],
) -> tuple[ClosedJaxpr, list[ArrayLike], PyTreeDef]:
    """``fn`` traced on ``avals``; errors name ``user_fn`` and its arguments, as JAX's."""
    out_trees: list[PyTreeDef] = []

    def flat_fn(*flat: ArrayLike) -> list[ArrayLike]:
        out_flat, tree = tree_util.tree_flatten(fn(*tree_util.tree_unflatten(in_tree, list(flat))))
        out_trees.append(tree)
        return out_flat

    names = _arg_names(user_fn, in_tree, nondiff)
    closed = trace_to_jaxpr(flat_fn, avals, debug_info(user_fn, f"{what} fun", names))
    hoisted, consts = hoist_consts(closed)
    return hoisted, consts, out_trees[0]


def _arg_names(fn: Callable[..., Any], in_tree: PyTreeDef, nondiff: Sequence[int]) -> list[str]:
    """The names of the flat differentiable arguments (``x``, ``params['w']``)."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    dyn_params = [p for i, p in enumerate(params) if i not in nondiff]
    dyn = tree_util.tree_unflatten(in_tree, [0] * in_tree.num_leaves)
    names: list[str] = []
    for i, arg in enumerate(dyn):
        base = dyn_params[i] if i < len(dyn_params) else f"args[{i}]"
        paths, _ = tree_util.tree_flatten_with_path(arg)
        names += [base + tree_util.keystr(path) for path, _ in paths]
    return names


# ---------------------------------------------------------------------------------------------
# Symbolic zeros, as a rule defined with ``symbolic_zeros=True`` sees them


class SymbolicZero:
    """A tangent known to be zero, passed to a JVP rule defined with ``symbolic_zeros=True``
    in place of a zero array (``jax.custom_derivatives.SymbolicZero``); its ``aval``, ``shape``
    and ``dtype`` are the tangent's. A rule may also return one for a zero tangent output."""

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    def __repr__(self) -> str:
        return "SymbolicZero"

    @property
    def shape(self) -> tuple[int, ...]:
        """The tangent's shape."""
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The tangent's dtype."""
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        """The tangent's number of axes."""
        return len(self.aval.shape)

    @staticmethod
    def from_primal_value(val: Any) -> SymbolicZero:
        """The symbolic zero tangent of primal ``val``."""
        return SymbolicZero(tangent_aval(get_aval(val)))


def _rule_tangent(t: Tangent, symbolic: bool) -> Any:
    """A tangent as a JVP rule receives it: zeros instantiated, or symbolic if asked for."""
    if isinstance(t, Zero):
        return SymbolicZero(t.aval) if symbolic else instantiate(t)
    return t


# ---------------------------------------------------------------------------------------------
# custom_jvp


class JvpThunk:
    """Traces the user's JVP rule to a jaxpr for one pattern of nonzero tangents (memoised).

    The jaxpr takes (consts, primals, nonzero tangents) and returns (primals out, tangents out).
    """

    def __init__(self, make: Callable[[tuple[bool, ...]], ClosedJaxpr], name: str,
                 rule_name: str = "jvp") -> None:
        self.make = functools.lru_cache(maxsize=64)(make)
        self.name = name  # the function's
        self.rule_name = rule_name  # the user's JVP rule's, as JAX prints it

    def __call__(self, nonzeros: tuple[bool, ...]) -> ClosedJaxpr:
        return self.make(nonzeros)

    def __repr__(self) -> str:
        return f"jvp({self.name})"


def _custom_jvp_call_abstract_eval(
    *avals: ShapedArray,
    call_jaxpr: ClosedJaxpr,
    jvp_jaxpr_fun: JvpThunk,
    num_consts: int,
    symbolic_zeros: bool,
) -> list[ShapedArray]:
    return call_jaxpr.out_avals


custom_jvp_call_p = standard_primitive(
    "custom_jvp_call", _custom_jvp_call_abstract_eval, multiple_results=True
)


def _custom_jvp_call_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    call_jaxpr: ClosedJaxpr,
    jvp_jaxpr_fun: JvpThunk,
    num_consts: int,
    symbolic_zeros: bool,
) -> tuple[list[Array], list[Tangent]]:
    if any(not isinstance(t, Zero) for t in tangents[:num_consts]):
        raise TypeError(
            "Detected differentiation of a custom_jvp function with respect to a closed-over "
            "value. That isn't supported because the custom JVP rule only specifies how to "
            "differentiate the custom_jvp function with respect to explicit input parameters. "
            "Try passing the closed-over value into the custom_jvp function as an argument, and "
            "adapting the custom_jvp rule."
        )
    nonzeros = tuple(not isinstance(t, Zero) for t in tangents[num_consts:])
    jvp_closed = jvp_jaxpr_fun(nonzeros)
    nz_tangents = [t for t in tangents[num_consts:] if not isinstance(t, Zero)]
    outs = eval_closed(jvp_closed, [*primals, *nz_tangents])
    n = len(call_jaxpr.out_avals)
    return outs[:n], list(outs[n:])


jvp_rules[custom_jvp_call_p] = _custom_jvp_call_jvp


def _custom_jvp_call_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    call_jaxpr: ClosedJaxpr,
    jvp_jaxpr_fun: JvpThunk,
    num_consts: int,
    symbolic_zeros: bool,
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    dims_t = tuple(dims)
    batched_call = batch_jaxpr(call_jaxpr, dims_t, size)

    def make(nonzeros: tuple[bool, ...]) -> ClosedJaxpr:
        inner = jvp_jaxpr_fun(nonzeros)
        arg_dims = dims_t[num_consts:]
        t_dims = tuple(d for d, nz in zip(arg_dims, nonzeros, strict=True) if nz)
        return batch_jaxpr(inner, (*dims_t, *t_dims), size)

    outs = custom_jvp_call_p.bind_all(
        *args,
        call_jaxpr=batched_call,
        jvp_jaxpr_fun=JvpThunk(make, jvp_jaxpr_fun.name, jvp_jaxpr_fun.rule_name),
        num_consts=num_consts,
        symbolic_zeros=symbolic_zeros,
    )
    return outs, [0] * len(outs)


batching_rules[custom_jvp_call_p] = _custom_jvp_call_batch


def _custom_jvp_call_display(params: Params) -> Params:
    """As JAX prints the call: the function's and the rule's names, no thunk, ``num_consts``
    only when there are constants."""
    thunk = params["jvp_jaxpr_fun"]
    assert isinstance(thunk, JvpThunk)
    shown: dict[str, ParamValue] = {"name": thunk.name, "call_jaxpr": params["call_jaxpr"],
                                    "jvp": thunk.rule_name,
                                    "symbolic_zeros": params["symbolic_zeros"]}
    if params["num_consts"]:
        shown["num_consts"] = params["num_consts"]
    return shown


display_rules[custom_jvp_call_p] = _custom_jvp_call_display


class custom_jvp:  # noqa: N801  # JAX's name
    """A function with a user-defined JVP rule (``jax.custom_jvp``)."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable[..., Any] | None = None
        self.symbolic_zeros = False

    def defjvp(self, jvp: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """Set the JVP rule ``jvp(primals, tangents) -> (primal_out, tangent_out)``."""
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """Set the JVP as a sum of per-argument rules ``jvp_i(t_i, primal_out, *primals)``."""
        if self.nondiff_argnums:
            raise TypeError("Can't use ``defjvps`` with ``nondiff_argnums``.")

        def jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
            out = self(*primals)  # (the call itself, as JAX's: staged, it stays a call)
            total = None
            for rule, t in zip(jvps, tangents, strict=True):
                if rule is None:
                    continue
                term = rule(t, out, *primals)
                total = term if total is None else tree_util.tree_map(add_tangents, total, term)
            if total is None:
                total = tree_util.tree_map(lambda o: np.zeros_like(np.asarray(o)), out)
            return out, total

        self.defjvp(jvp)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.fun, "__name__", "fun")
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")
        args = _resolve_kwargs(self.fun, args, kwargs)
        trace = current_trace()
        done, result = _evaluated(self, self.fun, trace, args)
        if done:
            return result
        static, dyn = _split_nondiff(args, self.nondiff_argnums)
        if isinstance(trace, JVPTrace):
            return self._jvp_directly(trace, static, dyn, name)
        flat, in_tree = tree_util.tree_flatten(tuple(dyn))
        avals = [get_aval(x) for x in flat]
        fun = functools.partial(_call_with_static, self.fun, static, self.nondiff_argnums)
        closed, consts, out_tree = _trace_flat(fun, in_tree, avals, "custom_jvp", self.fun,
                                                self.nondiff_argnums)
        out_avals = closed.out_avals
        jvp_rule = self.jvp
        symbolic = self.symbolic_zeros

        def make(nonzeros: tuple[bool, ...]) -> ClosedJaxpr:
            const_avals = [get_aval(c) for c in consts]
            t_avals = [tangent_aval(a) for a, nz in zip(avals, nonzeros, strict=True) if nz]

            def rule(*a: ArrayLike) -> list[ArrayLike]:
                n_c, n_p = len(const_avals), len(avals)
                primals, t_iter = list(a[n_c : n_c + n_p]), iter(a[n_c + n_p :])
                tangents = [
                    next(t_iter) if nz else _rule_tangent(Zero(tangent_aval(av)), symbolic)
                    for av, nz in zip(avals, nonzeros, strict=True)
                ]
                p_args = tuple(tree_util.tree_unflatten(in_tree, primals))
                t_args = tuple(tree_util.tree_unflatten(in_tree, tangents))
                # JAX's convention: jvp(*nondiff_args, primals, tangents)
                primal_out, tangent_out = jvp_rule(*static, p_args, t_args)
                p_flat, p_out_tree = tree_util.tree_flatten(primal_out)
                t_flat, t_out_tree = tree_util.tree_flatten(tangent_out)
                t_flat = _instantiate_symbolic(p_flat, t_flat)
                _check_jvp_outputs(
                    name, out_tree, out_avals, p_out_tree, p_flat, t_out_tree, t_flat
                )
                return [*p_flat, *t_flat]

            return trace_to_jaxpr(rule, [*const_avals, *avals, *t_avals])

        outs = custom_jvp_call_p.bind_all(
            *consts,
            *flat,
            call_jaxpr=closed,
            jvp_jaxpr_fun=JvpThunk(make, name, fun_name(jvp_rule)),
            num_consts=len(consts),
            symbolic_zeros=self.symbolic_zeros,
        )
        return tree_util.tree_unflatten(out_tree, outs)


    def _jvp_directly(
        self, trace: JVPTrace, static: list[Any], dyn: list[Any], name: str
    ) -> Any:
        """Under forward mode: only the JVP rule runs, on the primals and tangents of ``trace``
        (in its parent trace); with no nonzero tangent, the call goes to the parent trace."""
        assert self.jvp is not None
        flat, in_tree = tree_util.tree_flatten(tuple(dyn))
        pairs = [trace.lift(x) for x in flat]
        primals = [p for p, _ in pairs]
        with set_current_trace(trace.parent or trace):
            if all(isinstance(t, Zero) for _, t in pairs):
                p_dyn = list(tree_util.tree_unflatten(in_tree, primals))
                return self(*_merge(static, p_dyn, self.nondiff_argnums))
            tangents = [_rule_tangent(t, self.symbolic_zeros) for _, t in pairs]
            p_args = tuple(tree_util.tree_unflatten(in_tree, primals))
            t_args = tuple(tree_util.tree_unflatten(in_tree, tangents))
            primal_out, tangent_out = self.jvp(*static, p_args, t_args)
            p_flat, p_tree = tree_util.tree_flatten(primal_out)
            t_flat, t_tree = tree_util.tree_flatten(tangent_out)
            t_flat = _instantiate_symbolic(p_flat, t_flat)
        _check_jvp_outputs(name, p_tree, [get_aval(p) for p in p_flat], p_tree, p_flat, t_tree,
                           t_flat)
        outs = [trace.wrap(as_array(p), _tangent_out(p, t))
                for p, t in zip(p_flat, t_flat, strict=True)]
        return tree_util.tree_unflatten(p_tree, outs)


def _evaluated(call: Callable[..., Any], fun: Callable[..., Any], trace: Any,
               args: tuple[Any, ...]) -> tuple[bool, Any]:
    """``(True, result)`` where no rule is involved: outside any transformation the function
    itself, on the values; under partial evaluation with every input known, the call again in
    the parent trace, and a custom_jvp function with unknown inputs inlined (a linear use).
    Else ``(False, None)``."""
    if isinstance(trace, EvalTrace):
        return True, fun(*args)
    if _all_known(trace, args):
        with set_current_trace(trace.parent or trace):
            return True, call(*args)
    if isinstance(trace, PartialEvalTrace) and isinstance(call, custom_jvp):
        # a custom_jvp function applied to unknown (linear) values, as inside a JVP rule
        # under linearize: only the function is needed, not its rule (JAX inlines it too)
        return True, fun(*args)
    return False, None


def _all_known(trace: Any, args: Sequence[Any]) -> bool:
    """Whether ``trace`` partially evaluates and no leaf of ``args`` is unknown to it (the call
    then runs in the parent trace, as any primitive with known inputs does)."""
    return isinstance(trace, PartialEvalTrace) and not any(
        trace.is_unknown(x) for x in tree_util.tree_leaves(list(args)))


def _instantiate_symbolic(p_flat: Sequence[Any], t_flat: Sequence[Any]) -> list[Any]:
    """A rule's tangent outputs with each ``SymbolicZero`` made zeros of its primal's tangent
    type (when the primal and tangent trees match; else left for the check to report)."""
    if len(p_flat) != len(t_flat):
        return list(t_flat)
    return [instantiate(Zero(tangent_aval(get_aval(p)))) if isinstance(t, SymbolicZero) else t
            for p, t in zip(p_flat, t_flat, strict=True)]


def _tangent_out(primal: ArrayLike, tangent: ArrayLike) -> Tangent:
    """A rule's tangent output: a symbolic zero for an integer or boolean primal (float0)."""
    aval = tangent_aval(get_aval(primal))
    if aval.dtype == dtypes.float0:
        return Zero(aval)
    return as_array(tangent)


def _call_with_static(
    fun: Callable[..., Any], static: Sequence[Any], nondiff: Sequence[int], *dyn: Any
) -> Any:
    return fun(*_merge(static, list(dyn), nondiff))


def _check_jvp_outputs(
    name: str,
    out_tree: PyTreeDef,
    out_avals: Sequence[ShapedArray],
    p_tree: PyTreeDef,
    p_flat: Sequence[Any],
    t_tree: PyTreeDef,
    t_flat: Sequence[Any],
) -> None:
    if p_tree != out_tree:
        raise TypeError(
            "Custom JVP rule must produce a pair (list or tuple of length two) where the first "
            "element represents the primal output (equal in value to the output of the "
            f"custom_jvp-decorated function {name}, and in particular of the same container/"
            f"pytree structure), but instead the JVP rule output's first element had container/"
            f"pytree structure:\n    {p_tree}\nwhile the custom_jvp-decorated function {name} "
            f"had output container/pytree structure:\n    {out_tree}."
        )
    if p_tree != t_tree:
        raise TypeError(
            "Custom JVP rule must produce primal and tangent outputs with equal container "
            f"(pytree) structures, but got {p_tree} and {t_tree} respectively."
        )
    for p, t in zip(p_flat, t_flat, strict=True):
        pa, ta = get_aval(p), get_aval(t)
        expected = tangent_aval(pa)
        if ta.shape != pa.shape or ta.dtype != expected.dtype:
            raise TypeError(
                "Custom JVP rule must produce primal and tangent outputs with corresponding "
                f"shapes and dtypes. Expected {expected.str_short()} (tangent type of "
                f"{pa.str_short()}) but got {ta.str_short()}."
            )


# ---------------------------------------------------------------------------------------------
# custom_vjp


class VjpFunctions:
    """The user's forward thunk and backward function of one ``custom_vjp`` call site.

    ``fwd(perturbed)`` traces the forward pass for a pattern of perturbed (differentiated)
    inputs (which a rule defined with ``symbolic_zeros=True`` sees); ``fwd_name`` and
    ``bwd_name`` are the user's functions' names, as JAX prints them."""

    def __init__(
        self,
        fwd: Callable[[tuple[bool, ...]], tuple[ClosedJaxpr, int]],
        bwd: Callable[..., list[ArrayLike]],
        name: str,
        *,
        symbolic_zeros: bool = False,
        fwd_name: str = "fwd",
        bwd_name: str = "bwd",
    ) -> None:
        self._fwd = functools.lru_cache(maxsize=8)(fwd)
        self.bwd = bwd
        self.name = name
        self.symbolic_zeros = symbolic_zeros
        self.fwd_name = fwd_name
        self.bwd_name = bwd_name

    def fwd(self, perturbed: tuple[bool, ...]) -> tuple[ClosedJaxpr, int]:
        """The forward jaxpr (consts, primals) -> (outputs, residuals), and #residuals, for
        the inputs ``perturbed`` marks as differentiated."""
        return self._fwd(perturbed)

    def derived(
        self,
        fwd: Callable[[tuple[bool, ...]], tuple[ClosedJaxpr, int]],
        bwd: Callable[..., list[ArrayLike]],
    ) -> VjpFunctions:
        """New forward and backward functions (a transformed call site's) with these names."""
        return VjpFunctions(fwd, bwd, self.name, symbolic_zeros=self.symbolic_zeros,
                            fwd_name=self.fwd_name, bwd_name=self.bwd_name)

    def __repr__(self) -> str:
        return f"custom_vjp({self.name})"


@dataclasses.dataclass
class CustomVJPPrimal:
    """A primal input as a ``custom_vjp`` forward rule defined with ``symbolic_zeros=True``
    receives it: its ``value``, and whether it is ``perturbed`` (differentiated); if not,
    its column of the Jacobian is zero (``jax.custom_derivatives.CustomVJPPrimal``)."""

    value: Any
    perturbed: bool


def _custom_vjp_call_abstract_eval(
    *avals: ShapedArray, call_jaxpr: ClosedJaxpr, vjp: VjpFunctions, num_consts: int
) -> list[ShapedArray]:
    return call_jaxpr.out_avals


custom_vjp_call_p = standard_primitive(
    "custom_vjp_call", _custom_vjp_call_abstract_eval, multiple_results=True
)


def _custom_lin_abstract_eval(
    *avals: ShapedArray, num_res: int, vjp: VjpFunctions, out_avals: tuple[ShapedArray, ...]
) -> list[ShapedArray]:
    return [tangent_aval(a) for a in out_avals]


custom_lin_p = standard_primitive("custom_lin", _custom_lin_abstract_eval, multiple_results=True)

# what JAX raises when a ``custom_lin`` runs or is batched: forward mode through a custom_vjp
NO_FORWARD_MODE = "can't apply forward-mode autodiff (jvp) to a custom_vjp function."


def _custom_vjp_call_jvp(
    primals: Sequence[ArrayLike],
    tangents: Sequence[Tangent],
    *,
    call_jaxpr: ClosedJaxpr,
    vjp: VjpFunctions,
    num_consts: int,
) -> tuple[list[Array], list[Tangent]]:
    if any(not isinstance(t, Zero) for t in tangents[:num_consts]):
        raise TypeError(
            "Detected differentiation of a custom_vjp function with respect to a closed-over "
            "value. That isn't supported because the custom VJP rule only specifies how to "
            "differentiate the custom_vjp function with respect to explicit input parameters."
        )
    perturbed = tuple(not isinstance(t, Zero) for t in tangents[num_consts:])
    fwd_jaxpr, num_res = vjp.fwd(perturbed)
    outs = eval_closed(fwd_jaxpr, primals)
    n_out = len(outs) - num_res
    primal_out, residuals = outs[:n_out], outs[n_out:]
    arg_tangents = [instantiate(t) for t in tangents[num_consts:]]
    tangent_out = custom_lin_p.bind_all(
        *residuals,
        *arg_tangents,
        num_res=num_res,
        vjp=vjp,
        out_avals=tuple(get_aval(o) for o in primal_out),
    )
    return primal_out, list(tangent_out)


jvp_rules[custom_vjp_call_p] = _custom_vjp_call_jvp


def _custom_lin_transpose(
    cts: Sequence[Cotangent],
    *args: ArrayLike | UndefinedPrimal,
    num_res: int,
    vjp: VjpFunctions,
    out_avals: tuple[ShapedArray, ...],
) -> list[Cotangent | None]:
    residuals = [r for r in args[:num_res] if not isinstance(r, UndefinedPrimal)]
    cts_in = vjp.bwd(residuals, [_bwd_cotangent(c, vjp.symbolic_zeros) for c in cts])
    result: list[Cotangent | None] = [None] * num_res
    return result + [as_array(c) for c in cts_in]


transpose_rules[custom_lin_p] = _custom_lin_transpose


def _bwd_cotangent(ct: Cotangent, symbolic: bool) -> Any:
    """An output cotangent as ``bwd`` receives it: zeros instantiated, or a ``SymbolicZero``
    for a rule defined with ``symbolic_zeros=True``."""
    if isinstance(ct, Zero):
        return SymbolicZero(ct.aval) if symbolic else instantiate(ct)
    return ct


def _custom_lin_batch(args: Sequence[ArrayLike], dims: Sequence[BatchDim],
                      **params: Any) -> tuple[list[Array], list[BatchDim]]:
    raise TypeError(NO_FORWARD_MODE)


# ``custom_lin`` is only ever transposed; batching it means forward mode (``jacfwd``)
batching_rules[custom_lin_p] = _custom_lin_batch


def _custom_vjp_call_batch(
    args: Sequence[ArrayLike],
    dims: Sequence[BatchDim],
    *,
    call_jaxpr: ClosedJaxpr,
    vjp: VjpFunctions,
    num_consts: int,
) -> tuple[list[Array], list[BatchDim]]:
    size = batch_size(args, dims)
    args0 = [bdim_at(a, d, size, 0) for a, d in zip(args, dims, strict=True)]
    zeros = (0,) * len(args0)
    batched_call = batch_jaxpr(call_jaxpr, zeros, size)

    def fwd(perturbed: tuple[bool, ...]) -> tuple[ClosedJaxpr, int]:
        inner, num_res = vjp.fwd(perturbed)
        return batch_jaxpr(inner, zeros, size), num_res

    def bwd(res: list[ArrayLike], cts: list[Any]) -> list[ArrayLike]:
        # symbolic zero cotangents stay out of the map, as per-example symbolic zeros
        is_zero = [isinstance(c, SymbolicZero) for c in cts]
        per_example = [SymbolicZero(ShapedArray(c.shape[1:], c.dtype, c.aval.weak_type))
                       if z else None for c, z in zip(cts, is_zero, strict=True)]

        def one(r: list[ArrayLike], mapped: list[ArrayLike]) -> list[ArrayLike]:
            it = iter(mapped)
            full = [z if z is not None else next(it) for z in per_example]
            return vjp.bwd(list(r), full)

        mapped = [c for c, z in zip(cts, is_zero, strict=True) if not z]
        out: list[ArrayLike] = vmap_leading(one, res, mapped, size=size)
        return out

    outs = custom_vjp_call_p.bind_all(
        *args0,
        call_jaxpr=batched_call,
        vjp=vjp.derived(fwd, bwd),
        num_consts=num_consts,
    )
    return outs, [0] * len(outs)


batching_rules[custom_vjp_call_p] = _custom_vjp_call_batch


def _custom_vjp_call_display(params: Params) -> Params:
    """As JAX prints the call: the function's, ``fwd``'s and ``bwd``'s names, ``num_consts``
    only when there are constants."""
    vjp = params["vjp"]
    assert isinstance(vjp, VjpFunctions)
    shown: dict[str, ParamValue] = {"name": vjp.name, "bwd": vjp.bwd_name,
                                    "call_jaxpr": params["call_jaxpr"], "fwd": vjp.fwd_name,
                                    "symbolic_zeros": vjp.symbolic_zeros}
    if params["num_consts"]:
        shown["num_consts"] = params["num_consts"]
    return shown


display_rules[custom_vjp_call_p] = _custom_vjp_call_display


class custom_vjp:  # noqa: N801  # JAX's name
    """A function with a user-defined VJP: ``fwd`` saves residuals, ``bwd`` maps cotangents."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        self.symbolic_zeros = False

    def defvjp(
        self,
        fwd: Callable[..., Any],
        bwd: Callable[..., Any],
        symbolic_zeros: bool = False,
        optimize_remat: bool = False,
    ) -> None:
        """Set ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, ct_out) -> ct_args``.

        With ``symbolic_zeros``, ``fwd`` receives each primal leaf as a
        :class:`CustomVJPPrimal` (its value and whether it is differentiated) and ``bwd`` a
        :class:`SymbolicZero` for each output cotangent known to be zero. ``optimize_remat``
        (an XLA scheduling hint in JAX) changes nothing here."""
        self.fwd, self.bwd = fwd, bwd
        self.symbolic_zeros = symbolic_zeros

    def _call_fwd(self, static: list[Any], primals: list[Any], in_tree: PyTreeDef,
                  perturbed: Sequence[bool]) -> Any:
        """The user's ``fwd`` on the flat ``primals`` (wrapped as ``CustomVJPPrimal``s for a
        rule defined with ``symbolic_zeros``)."""
        assert self.fwd is not None
        if self.symbolic_zeros:
            primals = [CustomVJPPrimal(p, bool(d))
                       for p, d in zip(primals, perturbed, strict=True)]
        dyn = list(tree_util.tree_unflatten(in_tree, primals))
        return self.fwd(*_merge(static, dyn, self.nondiff_argnums))

    def _vjp_functions(self, fwd: Callable[[tuple[bool, ...]], tuple[ClosedJaxpr, int]],
                       bwd: Callable[..., list[ArrayLike]], name: str) -> VjpFunctions:
        return VjpFunctions(fwd, bwd, name, symbolic_zeros=self.symbolic_zeros,
                            fwd_name=fun_name(self.fwd), bwd_name=fun_name(self.bwd))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.fun, "__name__", "fun")
        if self.fwd is None or self.bwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")
        args = _resolve_kwargs(self.fun, args, kwargs)
        trace = current_trace()
        done, result = _evaluated(self, self.fun, trace, args)
        if done:
            return result
        nondiff = self.nondiff_argnums
        static, dyn = _split_nondiff(args, nondiff)
        if isinstance(trace, JVPTrace):
            return self._jvp_directly(trace, static, dyn, name)
        flat, in_tree = tree_util.tree_flatten(tuple(dyn))
        avals = [get_aval(x) for x in flat]
        fun = functools.partial(_call_with_static, self.fun, static, nondiff)
        closed, consts, out_tree = _trace_flat(fun, in_tree, avals, "custom_vjp", self.fun,
                                                nondiff)
        user_bwd = self.bwd
        res_trees: list[PyTreeDef] = []

        def fwd(perturbed: tuple[bool, ...]) -> tuple[ClosedJaxpr, int]:
            def run(*a: ArrayLike) -> list[ArrayLike]:
                out, res = self._call_fwd(static, list(a[len(consts) :]), in_tree, perturbed)
                out_flat, tree = tree_util.tree_flatten(out)
                _check_fwd_output(name, tree, out_tree)
                res_flat, res_tree = tree_util.tree_flatten(res)
                res_trees.append(res_tree)
                return [*out_flat, *res_flat]

            fwd_closed = trace_to_jaxpr(run, [*(get_aval(c) for c in consts), *avals])
            return fwd_closed, len(fwd_closed.out_avals) - len(closed.out_avals)

        bwd = _bwd_function(user_bwd, static, dyn, out_tree, lambda: res_trees[-1], name)
        outs = custom_vjp_call_p.bind_all(
            *consts,
            *flat,
            call_jaxpr=closed,
            vjp=self._vjp_functions(fwd, bwd, name),
            num_consts=len(consts),
        )
        return tree_util.tree_unflatten(out_tree, outs)


    def _jvp_directly(
        self, trace: JVPTrace, static: list[Any], dyn: list[Any], name: str
    ) -> Any:
        """Under forward mode: the forward pass runs on the primals (in the parent trace) and
        the tangents go through a ``custom_lin`` equation whose transpose calls ``bwd``; the
        function itself does not run. With no nonzero tangent the call goes to the parent."""
        assert self.fwd is not None and self.bwd is not None
        flat, in_tree = tree_util.tree_flatten(tuple(dyn))
        pairs = [trace.lift(x) for x in flat]
        primals = [p for p, _ in pairs]
        nondiff = self.nondiff_argnums
        p_dyn = list(tree_util.tree_unflatten(in_tree, primals))
        with set_current_trace(trace.parent or trace):
            if all(isinstance(t, Zero) for _, t in pairs):
                return self(*_merge(static, p_dyn, nondiff))
            perturbed = [not isinstance(t, Zero) for _, t in pairs]
            pair = self._call_fwd(static, primals, in_tree, perturbed)
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                fwd_name = getattr(self.fwd, "__name__", "fwd")
                raise TypeError(
                    f"Custom VJP fwd rule {fwd_name} for function {name} must produce a pair "
                    "(list or tuple of length two) where the first element represents the "
                    "primal output (equal to those of the custom_vjp-decorated function "
                    f"{name}) and the second element represents residuals (i.e. values stored "
                    "from the forward pass for use on the backward pass), but instead of a "
                    f"pair the fwd rule {fwd_name} produced {pair}."
                )
            out, res = pair
            out_flat, out_tree = tree_util.tree_flatten(out)
            res_flat, res_tree = tree_util.tree_flatten(res)
            res_flat = [as_array(r) for r in res_flat]
            bwd = _bwd_function(self.bwd, static, dyn, out_tree, lambda: res_tree, name)
            tangent_out = custom_lin_p.bind_all(
                *res_flat,
                *(instantiate(t) for _, t in pairs),
                num_res=len(res_flat),
                vjp=self._vjp_functions(_not_staged, bwd, name),
                out_avals=tuple(get_aval(o) for o in out_flat),
            )
        outs = [trace.wrap(as_array(p), _tangent_out(p, t))
                for p, t in zip(out_flat, tangent_out, strict=True)]
        return tree_util.tree_unflatten(out_tree, outs)


def _not_staged(perturbed: tuple[bool, ...]) -> tuple[ClosedJaxpr, int]:
    raise AssertionError("a custom_vjp called under forward mode has no staged forward pass")


def _check_fwd_output(name: str, tree: PyTreeDef, out_tree: PyTreeDef) -> None:
    if tree != out_tree:
        raise TypeError(
            "Custom VJP fwd rule must produce a pair (list or tuple of length two) where the "
            "first element represents the primal output (equal to the output of the "
            f"custom_vjp-decorated function {name}) and the second element represents "
            "residuals (i.e. values stored from the forward pass for use on the backward "
            "pass), but instead the fwd rule output's first element had container/pytree "
            f"structure:\n    {tree}\nwhile the custom_vjp-decorated function {name} had "
            f"output container/pytree structure:\n    {out_tree}."
        )


def _bwd_function(
    user_bwd: Callable[..., Any],
    static: Sequence[Any],
    dyn: Sequence[Any],
    out_tree: PyTreeDef,
    res_tree: Callable[[], PyTreeDef],
    name: str,
) -> Callable[[list[ArrayLike], list[ArrayLike]], list[ArrayLike]]:
    """The backward function on flat residuals and cotangents: the user's ``bwd`` on their
    trees, its result checked as JAX checks it (``None`` meaning a zero cotangent)."""

    def bwd(res: list[ArrayLike], cts: list[ArrayLike]) -> list[ArrayLike]:
        residuals = tree_util.tree_unflatten(res_tree(), res)
        ct_tree = tree_util.tree_unflatten(out_tree, cts)
        cts_in = user_bwd(*static, residuals, ct_tree)
        if not isinstance(cts_in, (tuple, list)):
            raise TypeError(
                f"Custom VJP bwd rule must produce a tuple, got {type(cts_in).__name__}."
            )
        if len(cts_in) != len(dyn):
            raise TypeError(
                f"Custom VJP bwd rule {name} must produce a tuple of length equal to the "
                f"number of primal inputs ({len(dyn)}), got {len(cts_in)}."
            )
        return tree_util.tree_leaves(
            [_zero_if_none(c, d) for c, d in zip(cts_in, dyn, strict=True)]
        )

    return bwd


def _zero_if_none(ct: Any, primal: Any) -> Any:
    if ct is None:
        return tree_util.tree_map(lambda p: instantiate(Zero(tangent_aval(get_aval(p)))), primal)
    return ct
