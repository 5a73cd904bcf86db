"""Checking a jaxpr's types: every equation against its primitive's abstract evaluation.

``typecheck_jaxpr`` walks the equations in order, as an interpreter would, but on avals: each
variable must be bound before it is read and bound once; literals and consts must have the avals
they are declared with; each equation's output variables must have exactly the avals (shape,
dtype and weak type) that ``abstract_eval`` gives for its inputs; jaxprs held in params are
checked the same way. The first mismatch raises :class:`JaxprTypeError` naming the equation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from refjax.interp.core import (
    ArrayLike,
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Literal,
    ParamValue,
    ShapedArray,
    Var,
    VarNames,
    abstract_eval,
    get_aval,
    pp_eqn,
    pp_jaxpr,
)

__all__ = ["JaxprTypeError", "typecheck_jaxpr"]


class JaxprTypeError(TypeError):
    """A jaxpr whose equations, variables or consts do not have the types they claim."""


def _same_aval(a: ShapedArray, b: ShapedArray) -> bool:
    return (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type)


class _Checker:
    """Checks one jaxpr (and the jaxprs in its params) with names as ``str(jaxpr)`` prints them."""

    __slots__ = ("names",)

    def __init__(self, names: VarNames) -> None:
        self.names = names

    def fail(self, eqn: JaxprEqn | None, message: str) -> JaxprTypeError:
        where = f"in equation `{pp_eqn(eqn, self.names, 0)}`: " if eqn is not None else ""
        return JaxprTypeError(f"{where}{message}")

    def closed(self, closed: ClosedJaxpr) -> None:
        """Consts against constvars, then the jaxpr."""
        self.consts(closed.jaxpr.constvars, closed.consts)
        self.jaxpr(closed.jaxpr)

    def consts(self, constvars: Sequence[Var], consts: Sequence[ArrayLike]) -> None:
        if len(constvars) != len(consts):
            raise self.fail(None, f"{len(constvars)} constvars but {len(consts)} consts")
        for var, const in zip(constvars, consts, strict=True):
            aval = get_aval(const)
            if not _same_aval(aval, var.aval):
                raise self.fail(
                    None,
                    f"const for constvar {self.names.name(var)} has aval {aval!r}, "
                    f"but the constvar is declared {var.aval!r}",
                )

    def jaxpr(self, jaxpr: Jaxpr) -> None:
        """Every equation in order, with a fresh environment of bound variables."""
        bound: set[Var] = set()
        for var in (*jaxpr.constvars, *jaxpr.invars):
            self.bind(bound, var, None)
        for eqn in jaxpr.eqns:
            self.eqn(bound, eqn)
        for atom in jaxpr.outvars:
            self.read(bound, atom, None)

    def bind(self, bound: set[Var], var: Var, eqn: JaxprEqn | None) -> None:
        if var in bound:
            raise self.fail(eqn, f"variable {self.names.name(var)} is bound twice")
        bound.add(var)

    def read(self, bound: set[Var], atom: Atom, eqn: JaxprEqn | None) -> ShapedArray:
        if isinstance(atom, Literal):
            aval = get_aval(atom.val)
            if not _same_aval(aval, atom.aval):
                raise self.fail(
                    eqn, f"literal {atom!r} has a value of aval {aval!r}, declared {atom.aval!r}"
                )
            return atom.aval
        if atom not in bound:
            raise self.fail(eqn, f"variable {self.names.name(atom)} is read before it is bound")
        return atom.aval

    def eqn(self, bound: set[Var], eqn: JaxprEqn) -> None:
        """Inputs bound, nested jaxprs well typed, outputs exactly as abstract eval says."""
        in_avals = [self.read(bound, atom, eqn) for atom in eqn.invars]
        for nested in _jaxprs_in(eqn.params.values()):
            self.nested(nested, eqn)
        try:
            out_avals = abstract_eval(eqn.primitive, in_avals, eqn.params)
        except (TypeError, ValueError) as err:
            raise self.fail(eqn, f"abstract evaluation failed: {err}") from err
        if len(out_avals) != len(eqn.outvars):
            raise self.fail(
                eqn, f"{len(eqn.outvars)} output variables for {len(out_avals)} results"
            )
        for i, (var, aval) in enumerate(zip(eqn.outvars, out_avals, strict=True)):
            if not _same_aval(var.aval, aval):
                raise self.fail(
                    eqn,
                    f"output {i} ({self.names.name(var)}) is declared {var.aval!r}, "
                    f"but abstract evaluation gives {aval!r}",
                )
        for var in eqn.outvars:
            self.bind(bound, var, eqn)

    def nested(self, nested: Jaxpr | ClosedJaxpr, eqn: JaxprEqn) -> None:
        try:
            if isinstance(nested, ClosedJaxpr):
                self.closed(nested)
            else:
                self.jaxpr(nested)
        except JaxprTypeError as err:
            raise self.fail(eqn, f"in a jaxpr param: {err}") from err


def _jaxprs_in(values: Iterable[ParamValue]) -> Iterator[Jaxpr | ClosedJaxpr]:
    """The jaxprs among param values, looking inside tuples."""
    for value in values:
        if isinstance(value, (Jaxpr, ClosedJaxpr)):
            yield value
        elif isinstance(value, tuple):
            yield from _jaxprs_in(value)


def typecheck_jaxpr(jaxpr: Jaxpr | ClosedJaxpr) -> None:
    """Raise JaxprTypeError unless every equation of ``jaxpr`` agrees with abstract evaluation."""
    names = VarNames()
    pp_jaxpr(jaxpr, names=names)  # name every variable as str(jaxpr) does, for the messages
    checker = _Checker(names)
    if isinstance(jaxpr, ClosedJaxpr):
        checker.closed(jaxpr)
    else:
        checker.jaxpr(jaxpr)
