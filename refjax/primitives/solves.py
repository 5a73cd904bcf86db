"""Implicitly differentiated solves: ``custom_linear_solve`` (``linear_solve_p``) and
``custom_root``, as JAX's ``jax/_src/lax/control_flow/solves.py`` defines them.

``custom_linear_solve(matvec, b, solve, transpose_solve)`` traces four functions to closed
jaxprs held in one :class:`_LinearSolveTuple` param ``jaxprs`` (``matvec``; ``vecmat``, its
transpose, found by transposing the traced ``matvec``; ``solve`` and ``transpose_solve``), with
the constants each closes over passed as leading operands, counted per jaxpr in the
``const_lengths`` param. Evaluating the primitive runs ``solve`` on ``b``; nothing
differentiates *through* it. Its rules, from ``A x = b``:

- JVP: ``A dx = db - dA x``, so ``dx`` is another ``linear_solve_p`` on that right-hand side
  (``dA x`` is the JVP of ``matvec`` in its constants, with ``x`` held fixed); aux outputs get
  zero tangents.
- Transpose (linear in ``b``): the cotangent of ``b`` solves the transposed system, a
  ``linear_solve_p`` with the tuple transposed (``vecmat``/``matvec`` and
  ``transpose_solve``/``solve`` swapped). Without ``transpose_solve`` it is JAX's TypeError.
- Batching: a fixpoint over which parts of ``x`` and ``b`` are batched, so that all four
  jaxprs agree, then the batched jaxprs.
- Partial evaluation stages the whole equation when any operand is unknown (the default).

``custom_root(f, initial_guess, solve, tangent_solve)`` is a ``custom_jvp`` function whose JVP
rule is the implicit function theorem at the solution ``u*``: ``du* = -(d_u f)^{-1} (d_m f)``,
with ``tangent_solve`` solving against the linearization of ``f``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from refjax import tree_util
from refjax.interp.batching import (
    BatchDim,
    batch_jaxpr_dims,
    batch_size,
    batching_rules,
    bdim_at,
)
from refjax.interp.core import (
    Array,
    ArrayLike,
    ClosedJaxpr,
    ShapedArray,
    call_jaxpr,
    get_aval,
)
from refjax.interp.jvp import (
    Tangent,
    Zero,
    add_tangents,
    instantiate,
    jvp_flat,
    jvp_rules,
    tangent_aval,
    zeros_like_aval,
)
from refjax.interp.transpose import (
    Cotangent,
    UndefinedPrimal,
    transpose_jaxpr,
    transpose_rules,
)
from refjax.primitives.common import standard_primitive
from refjax.primitives.control_flow import _trace_fn
from refjax.primitives.custom_derivatives import custom_jvp
from refjax.tree_util import PyTree, PyTreeDef

__all__ = ["custom_linear_solve", "custom_root", "linear_solve_p"]


class _LinearSolveTuple(NamedTuple):
    """One entry per function of a linear solve (JAX's name, so params print as JAX's)."""

    matvec: Any
    vecmat: Any
    solve: Any
    transpose_solve: Any

    def transpose(self) -> _LinearSolveTuple:
        """The tuple of the transposed system: ``vecmat``/``matvec`` and the solves swapped."""
        return type(self)(self.vecmat, self.matvec, self.transpose_solve, self.solve)


def _split(args: Sequence[Any], const_lengths: _LinearSolveTuple) -> tuple[
        _LinearSolveTuple, list[Any]]:
    """``args`` cut into the four groups of constants (a tuple of lists) and the rest."""
    groups, start = [], 0
    for n in const_lengths:
        groups.append(list(args[start : start + n]))
        start += n
    return _LinearSolveTuple(*groups), list(args[start:])


def _flatten(groups: Sequence[Sequence[Any]]) -> list[Any]:
    return [x for group in groups for x in group]


# ---------------------------------------------------------------------------------------------
# The primitive


def _linear_solve_abstract_eval(
    *avals: ShapedArray, const_lengths: _LinearSolveTuple, jaxprs: _LinearSolveTuple
) -> list[ShapedArray]:
    """``x`` has ``b``'s types; aux outputs of ``solve`` follow."""
    _, b = _split(avals, const_lengths)
    num_aux = len(jaxprs.solve.out_avals) - len(jaxprs.matvec.out_avals)
    aux = list(jaxprs.solve.out_avals[len(jaxprs.solve.out_avals) - num_aux :]) if num_aux else []
    return [*b, *aux]


linear_solve_p = standard_primitive(
    "custom_linear_solve", _linear_solve_abstract_eval, multiple_results=True
)


def _linear_solve_jvp(
    primals: Sequence[ArrayLike], tangents: Sequence[Tangent], *,
    const_lengths: _LinearSolveTuple, jaxprs: _LinearSolveTuple,
) -> tuple[list[Array], list[Tangent]]:
    """``A x = b`` gives ``A dx = db - dA x``: ``dx`` solves the same system."""
    params = {"const_lengths": const_lengths, "jaxprs": jaxprs}
    x = linear_solve_p.bind_all(*primals, **params)
    consts, _ = _split(primals, const_lengths)
    consts_dot, b_dot = _split(tangents, const_lengths)
    n_x = len(b_dot)
    x_leaves = x[:n_x]
    rhs: list[Tangent] = list(b_dot)
    if not all(isinstance(t, Zero) for t in consts_dot.matvec):
        matvec_dot = _tangent_linear_map(jaxprs.matvec, consts.matvec, consts_dot.matvec, x_leaves)
        rhs = [add_tangents(r, _neg(m)) for r, m in zip(rhs, matvec_dot, strict=True)]
    aux_zeros: list[Tangent] = [Zero(tangent_aval(get_aval(a))) for a in x[n_x:]]
    if all(isinstance(r, Zero) for r in rhs):
        return x, [*(Zero(tangent_aval(get_aval(v))) for v in x_leaves), *aux_zeros]
    x_dot = linear_solve_p.bind_all(*_flatten(consts), *(instantiate(r) for r in rhs), **params)
    return x, [*x_dot[:n_x], *aux_zeros]


def _neg(t: Tangent) -> Tangent:
    from refjax.primitives.elementwise import neg

    return t if isinstance(t, Zero) else neg(t)


def _tangent_linear_map(
    matvec: ClosedJaxpr, consts: Sequence[ArrayLike], consts_dot: Sequence[Tangent],
    x: Sequence[Array],
) -> list[Tangent]:
    """``dA x``: the JVP of ``matvec(consts, x)`` along the constants' tangents, ``x`` fixed."""
    zeros = [Zero(tangent_aval(get_aval(v))) for v in x]
    _, out = jvp_flat(lambda *a: call_jaxpr(matvec, a), [*consts, *x], [*consts_dot, *zeros])
    return out


jvp_rules[linear_solve_p] = _linear_solve_jvp


def _linear_solve_transpose(
    cts: Sequence[Cotangent], *primals: ArrayLike | UndefinedPrimal,
    const_lengths: _LinearSolveTuple, jaxprs: _LinearSolveTuple,
) -> list[Cotangent | None]:
    """The cotangent of ``b`` solves the transposed system ``A^T ct_b = ct_x``."""
    if jaxprs.transpose_solve is None:
        raise TypeError(
            "transpose_solve required for backwards mode automatic differentiation of "
            "custom_linear_solve"
        )
    consts, b = _split(primals, const_lengths)
    if any(isinstance(c, UndefinedPrimal) for c in _flatten(consts)):
        raise NotImplementedError(
            "custom_linear_solve: transposing with respect to the constants of its functions "
            "is not implemented (as in JAX)"
        )
    x_ct, aux_ct = cts[: len(b)], cts[len(b) :]
    if any(not isinstance(c, Zero) for c in aux_ct):
        raise NotImplementedError(
            "custom_linear_solve: cotangents of the aux outputs are not supported (as in JAX)"
        )
    ct_b = linear_solve_p.bind_all(
        *_flatten(consts.transpose()), *(instantiate(c) for c in x_ct),
        const_lengths=const_lengths.transpose(), jaxprs=jaxprs.transpose(),
    )
    result: list[Cotangent | None] = [None] * sum(const_lengths)
    return result + [ct if isinstance(v, UndefinedPrimal) else None
                     for ct, v in zip(ct_b[: len(b)], b, strict=True)]


transpose_rules[linear_solve_p] = _linear_solve_transpose


def _batch(
    closed: ClosedJaxpr | None, batched: Sequence[bool], size: int, force: Sequence[bool]
) -> tuple[ClosedJaxpr | None, list[bool]]:
    """``closed`` batched (inputs marked ``batched`` at axis 0); which outputs are batched."""
    if closed is None:
        return None, [False] * len(force)
    dims = tuple(0 if b else None for b in batched)
    jaxpr, out_dims = batch_jaxpr_dims(closed, dims, size, tuple(force))
    return jaxpr, [d is not None for d in out_dims]


def _linear_solve_batch(
    args: Sequence[ArrayLike], dims: Sequence[BatchDim], *,
    const_lengths: _LinearSolveTuple, jaxprs: _LinearSolveTuple,
) -> tuple[list[Array], list[BatchDim]]:
    """JAX's fixpoint: which parts of ``x`` and ``b`` are batched must agree across all four
    jaxprs (``vecmat`` and ``solve`` give ``x``, ``matvec`` and ``transpose_solve`` give ``b``);
    everything batched then moves to axis 0."""
    size = batch_size(args, dims)
    orig_bat = [d is not None for d in dims]
    params_bat, orig_b_bat = _split(orig_bat, const_lengths)
    matvec, vecmat, solve, solve_t = jaxprs
    n_op = len(matvec.out_avals)
    num_aux = len(solve.out_avals) - n_op
    b_bat, x_bat = list(orig_b_bat), [False] * len(solve.out_avals)
    for _ in range(1 + len(orig_b_bat) + len(solve.out_avals)):
        solve_b, solve_x_bat = _batch(solve, params_bat.solve + b_bat, size, x_bat)
        if vecmat is None:
            vecmat_b, x_bat_out = None, solve_x_bat
        else:
            vecmat_b, vecmat_x_bat = _batch(vecmat, params_bat.vecmat + b_bat, size, b_bat)
            x_bat_out = [a or c for a, c in
                         zip(vecmat_x_bat + [True] * num_aux, solve_x_bat, strict=True)]
        x_bat_noaux = x_bat_out[:n_op]
        matvec_b, matvec_b_bat = _batch(matvec, params_bat.matvec + x_bat_noaux, size, b_bat)
        if solve_t is None:
            solve_t_b = None
            b_bat_out = [m or o for m, o in zip(matvec_b_bat, orig_b_bat, strict=True)]
        else:
            solve_t_b, solve_t_bat = _batch(solve_t, params_bat.transpose_solve + x_bat_noaux,
                                            size, x_bat_out)
            b_bat_out = [m or s or o for m, s, o in
                         zip(matvec_b_bat, solve_t_bat[: len(orig_b_bat)], orig_b_bat,
                             strict=True)]
        if x_bat_out == x_bat and b_bat_out == b_bat:
            break
        x_bat, b_bat = x_bat_out, b_bat_out
    else:  # pragma: no cover - each round batches more, so the loop reaches the fixpoint
        raise AssertionError("custom_linear_solve batching: no fixpoint")
    consts, b = _split(args, const_lengths)
    consts_dims, b_dims = _split(dims, const_lengths)
    new_consts = [x if d is None else bdim_at(x, d, size, 0)
                  for x, d in zip(_flatten(consts), _flatten(consts_dims), strict=True)]
    new_b = [bdim_at(x, d, size, 0) if now else x
             for x, d, now in zip(b, b_dims, b_bat, strict=True)]
    outs = linear_solve_p.bind_all(
        *new_consts, *new_b, const_lengths=const_lengths,
        jaxprs=_LinearSolveTuple(matvec_b, vecmat_b, solve_b, solve_t_b),
    )
    return outs, [0 if bat else None for bat in solve_x_bat]


batching_rules[linear_solve_p] = _linear_solve_batch


# ---------------------------------------------------------------------------------------------
# custom_linear_solve


def _check_shapes(func_name: str, expected_name: str, actual: Sequence[Any],
                  expected: Sequence[Any]) -> None:
    actual_shapes = [np.shape(a) for a in actual]
    expected_shapes = [np.shape(e) for e in expected]
    if actual_shapes != expected_shapes:
        raise ValueError(
            f"{func_name}() output shapes must match {expected_name}, "
            f"got {actual_shapes} and {expected_shapes}"
        )


def _check_tree(func_name: str, expected_name: str, actual: PyTreeDef, expected: PyTreeDef,
                has_aux: bool = False) -> None:
    """JAX's errors when a function's output tree is not ``expected`` (with an aux output,
    the first of a pair)."""
    if has_aux:
        children = actual.children()
        if len(children) != 2:
            raise ValueError(
                f"{func_name}() produced a pytree with structure {actual}, but a pytree tuple "
                "with auxiliary output was expected because has_aux was set to True."
            )
        actual = children[0]
    if actual != expected:
        raise TypeError(
            f"{func_name}() output pytree structure must match {expected_name}, "
            f"got {actual} and {expected}."
        )


def _shape_checked(fun: Callable[[Any], Any], name: str, b_flat: Sequence[Any],
                   has_aux: bool) -> Callable[[Any], Any]:
    """``fun`` with its (non-aux) output's shapes checked against ``b``'s."""
    def checked(x: Any) -> Any:
        y = fun(x)
        main = y
        if has_aux:
            main, _ = y
        _check_shapes(name, "b", tree_util.tree_leaves(main), b_flat)
        return y

    return checked


def _as_function(closed: ClosedJaxpr, consts: Sequence[ArrayLike],
                 tree: PyTreeDef) -> Callable[[Any], Any]:
    """The pytree function of ``b``'s structure that ``closed`` computes with ``consts``."""
    def fn(x: Any) -> Any:
        leaves = tree_util.tree_leaves(x)
        return tree_util.tree_unflatten(tree, call_jaxpr(closed, [*consts, *leaves]))

    return fn


def custom_linear_solve(
    matvec: Callable[[Any], Any],
    b: PyTree,
    solve: Callable[[Callable[[Any], Any], Any], Any],
    transpose_solve: Callable[[Callable[[Any], Any], Any], Any] | None = None,
    symmetric: bool = False,
    has_aux: bool = False,
) -> Any:
    """``solve(matvec, b)``, differentiated implicitly as the solution ``x`` of the linear
    equation ``matvec(x) == b`` (``lax.custom_linear_solve``): the derivatives solve the same
    (or, in reverse mode, the transposed) system with ``solve``/``transpose_solve`` instead of
    differentiating through ``solve``. ``symmetric`` says ``matvec`` is its own transpose
    (``transpose_solve`` then defaults to ``solve``); with ``has_aux`` the solves return
    ``(x, aux)``."""
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    b_flat, tree = tree_util.tree_flatten(b)
    b_avals = [get_aval(x) for x in b_flat]
    arg_tree = tree_util.tree_structure((b,))

    def trace(fun: Callable[[Any], Any], what: str) -> tuple[ClosedJaxpr, list[ArrayLike],
                                                             PyTreeDef]:
        return _trace_fn(fun, arg_tree, b_avals, what)

    matvec_jaxpr, matvec_consts, out_tree = trace(
        _shape_checked(matvec, "matvec", b_flat, False), "custom_linear_solve")
    _check_tree("matvec", "b", out_tree, tree)
    solve_jaxpr, solve_consts, solve_tree = trace(
        _shape_checked(functools.partial(solve, matvec), "solve", b_flat, has_aux),
        "custom_linear_solve solve")
    _check_tree("solve", "b", solve_tree, tree, has_aux)
    vecmat_jaxpr: ClosedJaxpr | None = None
    tr_solve_jaxpr: ClosedJaxpr | None = None
    vecmat_consts: list[ArrayLike] = []
    tr_solve_consts: list[ArrayLike] = []
    if transpose_solve is not None:
        if symmetric:
            vecmat_jaxpr, vecmat_consts = matvec_jaxpr, matvec_consts
        else:
            undefined = (False,) * len(matvec_consts) + (True,) * len(b_flat)
            transposed = transpose_jaxpr(matvec_jaxpr, undefined)
            vecmat_jaxpr, vecmat_consts, _ = trace(
                _as_function(transposed, matvec_consts, tree),
                "custom_linear_solve transpose_solve")
        vecmat = _as_function(vecmat_jaxpr, vecmat_consts, tree)
        tr_solve_jaxpr, tr_solve_consts, out_tree = trace(
            _shape_checked(functools.partial(transpose_solve, vecmat), "transpose_solve", b_flat,
                           has_aux),
            "custom_linear_solve transpose_solve")
        _check_tree("transpose_solve", "b", out_tree, tree, has_aux)
    all_consts = [matvec_consts, vecmat_consts, solve_consts, tr_solve_consts]
    const_lengths = _LinearSolveTuple(*(len(c) for c in all_consts))
    jaxprs = _LinearSolveTuple(matvec_jaxpr, vecmat_jaxpr, solve_jaxpr, tr_solve_jaxpr)
    outs = linear_solve_p.bind_all(
        *_flatten(all_consts), *b_flat, const_lengths=const_lengths, jaxprs=jaxprs
    )
    if not has_aux:
        return tree_util.tree_unflatten(tree, outs)
    n = len(b_flat)
    aux_tree = solve_tree.children()[1]
    return tree_util.tree_unflatten(tree, outs[:n]), tree_util.tree_unflatten(aux_tree, outs[n:])


# ---------------------------------------------------------------------------------------------
# custom_root


class _RootJaxprs(NamedTuple):
    f: ClosedJaxpr
    solve: ClosedJaxpr
    l_and_s: ClosedJaxpr


def custom_root(
    f: Callable[[Any], Any],
    initial_guess: PyTree,
    solve: Callable[[Callable[[Any], Any], Any], Any],
    tangent_solve: Callable[[Callable[[Any], Any], Any], Any],
    has_aux: bool = False,
) -> Any:
    """``solve(f, initial_guess)``, a root of ``f``, differentiated implicitly
    (``lax.custom_root``): by the implicit function theorem with respect to what ``f`` closes
    over, solving the tangent system with ``tangent_solve(g, y)`` where ``g`` is ``f``
    linearized at the root. With ``has_aux``, ``solve`` returns ``(root, aux)``."""
    guess_flat, guess_tree = tree_util.tree_flatten(initial_guess)
    avals = [get_aval(x) for x in guess_flat]
    arg_tree = tree_util.tree_structure((initial_guess,))
    f_jaxpr, f_consts, out_tree = _trace_fn(f, arg_tree, avals, "custom_root")
    _check_tree("f", "initial_guess", out_tree, guess_tree)
    solve_jaxpr, solve_consts, solution_tree = _trace_fn(
        functools.partial(solve, f), arg_tree, avals, "custom_root solve")
    _check_tree("solve", "initial_guess", solution_tree, guess_tree, has_aux)

    def linearize_and_solve(x: Any, b: Any) -> Any:
        x_flat = tree_util.tree_leaves(x)

        def f_jvp(t: Any) -> Any:
            _, out = jvp_flat(lambda *a: call_jaxpr(f_jaxpr, [*f_consts, *a]), x_flat,
                              tree_util.tree_leaves(t))
            return tree_util.tree_unflatten(guess_tree, [instantiate(o) for o in out])

        return tangent_solve(f_jvp, b)

    l_and_s_jaxpr, l_and_s_consts, out_tree = _trace_fn(
        linearize_and_solve, tree_util.tree_structure((initial_guess, initial_guess)),
        [*avals, *avals], "custom_root tangent_solve")
    _check_tree("tangent_solve", "x", out_tree, guess_tree)
    lengths = (len(f_consts), len(solve_consts), len(l_and_s_consts))
    jaxprs = _RootJaxprs(f_jaxpr, solve_jaxpr, l_and_s_jaxpr)
    outs = _root_function(lengths, jaxprs)(*f_consts, *solve_consts, *l_and_s_consts,
                                           *guess_flat)
    return tree_util.tree_unflatten(solution_tree, list(outs))


def _split_root(args: Sequence[Any], lengths: tuple[int, int, int]) -> tuple[
        list[list[Any]], list[Any]]:
    groups, start = [], 0
    for n in lengths:
        groups.append(list(args[start : start + n]))
        start += n
    return groups, list(args[start:])


def _root_function(lengths: tuple[int, int, int], jaxprs: _RootJaxprs) -> custom_jvp:
    """The solve as a ``custom_jvp`` function of the constants and the guess (JAX's
    ``_custom_root``), its JVP the implicit function theorem."""

    def _custom_root(*args: ArrayLike) -> list[Array]:
        (_, solve_consts, _), guess = _split_root(args, lengths)
        return call_jaxpr(jaxprs.solve, [*solve_consts, *guess])

    root = custom_jvp(_custom_root)

    def _root_jvp(primals: tuple[ArrayLike, ...], tangents: tuple[ArrayLike, ...]) -> tuple[
            list[Array], list[ArrayLike]]:
        (f_consts, _, l_and_s_consts), _ = _split_root(primals, lengths)
        (f_consts_dot, _, _), _ = _split_root(tangents, lengths)
        sol = root(*primals)
        n = len(jaxprs.f.out_avals)
        solution, aux = list(sol[:n]), list(sol[n:])
        # F(m, u*(m)) = 0 gives  du* = -(d_u F)^{-1} [d_m F dm]
        _, rhs = jvp_flat(lambda *m: call_jaxpr(jaxprs.f, [*m, *solution]), f_consts,
                          f_consts_dot)
        solved = call_jaxpr(jaxprs.l_and_s, [*l_and_s_consts, *solution,
                                             *(instantiate(r) for r in rhs)])
        from refjax.primitives.elementwise import neg

        solution_dot: list[ArrayLike] = [neg(s) for s in solved]
        solution_dot += [zeros_like_aval(tangent_aval(get_aval(a))) for a in aux]
        return sol, solution_dot

    root.defjvp(_root_jvp)
    return root


# ---------------------------------------------------------------------------------------------
# Dense solves through custom_linear_solve (JAX's ``lax.linalg._solve``, behind jnp.linalg.solve)


def broadcasted_matvec(a: Array, b: Array) -> Array:
    """``a @ b`` with signature ``(..., n, m), (..., m) -> (..., n)``, batch dims broadcast,
    at the highest precision."""
    from refjax.primitives import lax_extras
    from refjax.primitives import linalg as la
    from refjax.primitives import shape as sh

    batch = lax_extras.broadcast_shapes(a.shape[:-2], b.shape[:-1])
    n = len(batch)

    def to(x: Array, shape: tuple[int, ...]) -> Array:
        if x.shape == shape:
            return x
        return sh.broadcast_in_dim(x, shape, tuple(range(len(shape) - x.ndim, len(shape))))

    a = to(a, (*batch, *a.shape[-2:]))
    b = to(b, (*batch, b.shape[-1]))
    numbers = (((a.ndim - 1,), (b.ndim - 1,)), (tuple(range(n)), tuple(range(n))))
    return la.dot_general(a, b, numbers, precision=la.Precision.HIGHEST)


def check_solve_shapes(a: Array, b: Array) -> None:
    """``a`` of shape ``[..., m, m]``, ``b`` of ``[..., m]`` or ``[..., m, k]`` (JAX's error)."""
    if not (a.ndim >= 2 and b.ndim in (a.ndim, a.ndim - 1)
            and a.shape[-1] == a.shape[-2] == b.shape[a.ndim - 2]):
        raise ValueError("The arguments to solve must have shapes a=[..., m, m] and "
                         f"b=[..., m, k] or b=[..., m]; got a={a.shape} and b={b.shape}")


def solve_by_columns(solve_one: Callable[[Array], Array], a: Array, b: Array) -> Array:
    """``solve_one`` (a solve of ``a`` for one right-hand side ``[..., m]``) on ``b``: directly
    for a vector, else mapped over the columns of ``b`` (``[..., m, k]``, JAX's vmap)."""
    from refjax.interp.batching import moveaxis, vmap_flat

    if a.ndim == b.ndim + 1:
        return solve_one(b)
    ((out, dim),) = vmap_flat(lambda x: [solve_one(x)], [b], [b.ndim - 1], b.shape[-1])
    assert dim is not None  # the solution depends on every column
    return moveaxis(out, dim, max(a.ndim, b.ndim) - 1)


def solve(a: Array, b: Array) -> Array:
    """``x`` with ``a @ x = b`` for ``a`` of shape ``[..., m, m]`` and ``b`` of ``[..., m]`` or
    ``[..., m, k]``: LU-factor ``a`` once (outside differentiation) and solve through
    ``custom_linear_solve``, so derivatives reuse the factors (the transpose solves with
    ``trans=1``); a matrix ``b`` is solved column by column under ``vmap``."""
    from refjax.primitives import decompositions as dec
    from refjax.primitives import elementwise as ew
    from refjax.primitives import shape as sh

    check_solve_shapes(a, b)
    out_shape = tuple(d_a if d_b == 1 else d_b
                      for d_a, d_b in zip((*a.shape[:-1], 1), b.shape, strict=False))
    if out_shape != b.shape:
        b = sh.broadcast_in_dim(b, out_shape, tuple(range(b.ndim)))
    factors, _, permutation = dec.lu(ew.stop_gradient(a))

    def solve_one(x: Array) -> Array:
        out: Array = custom_linear_solve(
            lambda v: broadcasted_matvec(a, v),
            x,
            solve=lambda _, v: dec.lu_solve(factors, permutation, v, trans=0),
            transpose_solve=lambda _, v: dec.lu_solve(factors, permutation, v, trans=1))
        return out

    return solve_by_columns(solve_one, a, b)
