"""Comparing an adapter's result with what a case expects, and saying exactly how it differs.

A failure is a :class:`Mismatch`: a one-line message, and for values the output, the worst
element's index, the actual and expected values there and the difference the check allows.
:class:`Strictness` relaxes what JAX fixes but the semantics need not: weak types and the
wording (or class) of errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final, Literal, TypeAlias

import numpy as np

from spec.format import Case, Check, Error, Json, NDArray, Value

ErrorMode: TypeAlias = Literal["message", "class", "off"]
ERROR_MODES: Final = ("message", "class", "off")


@dataclass(frozen=True)
class Strictness:
    """How strictly to hold an adapter to a case.

    - ``weak_types``: compare weak types (JAX's weakly typed Python scalars); off: dtype and
      shape only.
    - ``errors``: ``message``, the exception's class (or a base class) by name and its message
      against the case's regex; ``class``, the class only; ``off``, any exception satisfies a
      case that expects an error.
    """

    weak_types: bool = True
    errors: ErrorMode = "message"


STRICT: Final = Strictness()


@dataclass(frozen=True)
class Mismatch:
    """Why a result is not what the case expects: ``message`` in one line, and the details."""

    message: str
    output: int | None = None  # which output (values and types)
    index: tuple[int, ...] | None = None  # the worst element (values)
    actual: str | None = None  # the actual value there (or the actual type, or the exception)
    expected: str | None = None  # the expected value there (or type, or error)
    allowed: float | None = None  # the difference the check allows at that element
    max_abs_diff: float | None = None
    n_differ: int | None = None  # elements that differ
    size: int | None = None  # elements in the output

    def to_json(self) -> Json:
        """The fields that are set, as a JSON object (``index`` as a list)."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.index is not None:
            out["index"] = list(self.index)
        return out


def _type_mismatch(i: int, actual: Value, expected: Value, strict: Strictness) -> Mismatch | None:
    if (actual.dtype, actual.shape) == (expected.dtype, expected.shape) and (
        not strict.weak_types or actual.weak_type == expected.weak_type
    ):
        return None
    a, e = actual.type_str(), expected.type_str()
    return Mismatch(f"output {i}: type {a}, expected {e}", output=i, actual=a, expected=e)


def _same(a: NDArray, e: NDArray, check: Check) -> NDArray:
    """Elementwise: does ``a`` pass for ``e`` (NaN matches NaN; exact tells -0.0 from 0.0)."""
    if e.dtype.kind not in "fc":
        return np.asarray(a == e)
    if check.kind != "exact":
        return np.isclose(a, e, rtol=check.rtol, atol=check.atol, equal_nan=True)
    parts = [(a.real, e.real), (a.imag, e.imag)] if e.dtype.kind == "c" else [(a, e)]
    ok = np.ones(e.shape, bool)
    for x, y in parts:
        ok &= (x == y) & (np.signbit(x) == np.signbit(y))
    return ok | (np.isnan(a) & np.isnan(e))  # a complex number is NaN if either part is


def _element(x: NDArray, index: tuple[int, ...]) -> str:
    """One element as numpy prints its dtype's shortest exact form (``-0.0``, ``nan``)."""
    return str(x[index])


def value_mismatch(i: int, actual: Value, expected: Value, check: Check) -> Mismatch | None:
    """None if output ``i``'s values pass ``check``; else where and by how much they differ."""
    if check.kind == "aval" or expected.data is None:
        return None
    if actual.data is None:
        return Mismatch(f"output {i}: no data in the output", output=i)
    a, e = np.asarray(actual.data), np.asarray(expected.data)
    with np.errstate(all="ignore"):
        same = _same(a, e, check)
        if bool(np.all(same)):
            return None
        diff = np.abs(a.astype(np.complex128) - e.astype(np.complex128))
        tolerant = check.kind != "exact" and e.dtype.kind in "fc"
        allowed = check.atol + check.rtol * np.abs(e.astype(np.complex128)) if tolerant else 0.0
        excess = np.where(np.isnan(diff), np.inf, diff - allowed)
    score = np.where(same, -np.inf, excess)
    index = tuple(int(j) for j in np.unravel_index(int(np.argmax(score)), e.shape))
    at_allowed = float(np.broadcast_to(allowed, e.shape)[index])
    n_differ, size = int(np.count_nonzero(~same)), int(e.size)
    worst = float(np.nanmax(diff)) if np.any(~np.isnan(diff)) else float("nan")
    act, exp = _element(a, index), _element(e, index)
    where = f"[{', '.join(map(str, index))}]"
    rule = (
        f"{check.kind} rtol={check.rtol:g} atol={check.atol:g}"
        if tolerant
        else "exact"
        if e.dtype.kind in "fc"
        else "exact (integers and bools)"
    )
    message = (
        f"output {i}: values differ at {where} ({n_differ} of {size} elements): actual {act}, "
        f"expected {exp}; |diff| {float(diff[index]):.3g} > allowed {at_allowed:.3g} ({rule}); "
        f"max abs diff {worst:.3g}"
    )
    return Mismatch(
        message,
        output=i,
        index=index,
        actual=act,
        expected=exp,
        allowed=at_allowed,
        max_abs_diff=worst,
        n_differ=n_differ,
        size=size,
    )


def outputs_mismatch(
    case: Case, outputs: Sequence[Value], strict: Strictness = STRICT
) -> Mismatch | None:
    """None if ``outputs`` are what the case expects (an outputs case), else the first
    difference."""
    assert not isinstance(case.expected, Error)
    expected = case.expected.values
    if len(outputs) != len(expected):
        return Mismatch(f"{len(outputs)} outputs, expected {len(expected)}")
    for i, (a, e) in enumerate(zip(outputs, expected, strict=True)):
        problem = _type_mismatch(i, a, e, strict) or value_mismatch(i, a, e, case.check)
        if problem:
            return problem
    return None


def error_mismatch(
    expected: Error, err: BaseException, strict: Strictness = STRICT
) -> Mismatch | None:
    """None if ``err`` is the error the case expects (as strictly as ``strict.errors`` says)."""
    if strict.errors == "off":
        return None
    names = {cls.__name__ for cls in type(err).__mro__}
    message = str(err)
    class_ok = expected.cls in names
    message_ok = strict.errors == "class" or re.search(expected.message, message) is not None
    if class_ok and message_ok:
        return None
    first = message.splitlines()[0] if message else ""
    raised = f"{type(err).__name__}: {first[:200]!r}"
    wanted = expected.cls if strict.errors == "class" else f"{expected.cls} /{expected.message}/"
    return Mismatch(f"raised {raised}; expected {wanted}", actual=raised, expected=wanted)


def judge(
    case: Case, result: Sequence[Value] | BaseException, strict: Strictness = STRICT
) -> Mismatch | None:
    """None if ``result`` (the outputs, or the exception raised) passes ``case``."""
    if isinstance(result, BaseException):
        if isinstance(case.expected, Error):
            return error_mismatch(case.expected, result, strict)
        text = str(result).splitlines()[0] if str(result) else ""
        raised = f"{type(result).__name__}: {text[:200]}"
        return Mismatch(f"raised {raised}", actual=raised)
    if isinstance(case.expected, Error):
        return Mismatch(
            f"returned {len(result)} outputs; expected {case.expected.cls}",
            actual=f"{len(result)} outputs",
            expected=case.expected.cls,
        )
    return outputs_mismatch(case, result, strict)


def compare(case: Case, outputs: Sequence[Value]) -> str | None:
    """None if ``outputs`` are what the case expects, else why not (strictly: the generator's
    check)."""
    problem = outputs_mismatch(case, outputs)
    return None if problem is None else problem.message
