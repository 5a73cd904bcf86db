"""The one way the tests compare refjax's errors with real JAX's: class and message.

- ``raised(thunk, expected)``: the exception ``thunk()`` raises, failing if it raises none (or
  one that is not an ``expected``);
- ``assert_same_error(ours, theirs)``: JAX's thunk raises; refjax's raises the same class (or a
  subclass, with ``subclass_ok``) with the same message (after ``normalize``, if given);
- ``ErrorCase`` and ``check_error_case``: a table row of a call that must fail with a class and a
  key phrase, and (if ``same``) with exactly JAX's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["ErrorCase", "Thunk", "assert_same_error", "check_error_case", "raised"]

Thunk = Callable[[], Any]
Expected = type[BaseException] | tuple[type[BaseException], ...]


def raised(thunk: Thunk, expected: Expected = Exception) -> BaseException:
    """The exception ``thunk()`` raises; the test fails if none is raised (or not ``expected``)."""
    with pytest.raises(expected) as info:
        thunk()
    return info.value


def _same(text: str) -> str:
    return text


def assert_same_error(
    ours: Thunk,
    theirs: Thunk,
    *,
    expected: Expected = Exception,
    subclass_ok: bool = False,
    normalize: Callable[[str], str] = _same,
) -> tuple[BaseException, BaseException]:
    """JAX's ``theirs()`` raises an ``expected``; refjax's ``ours()`` raises the same class (a
    subclass too with ``subclass_ok``) with the same message. Returns (ours, theirs)."""
    their_err = raised(theirs, expected)
    if subclass_ok:
        pattern = f"^{re.escape(normalize(str(their_err)))}$"
        with pytest.raises(type(their_err)) as info:
            ours()
        our_err: BaseException = info.value
        assert re.search(pattern, normalize(str(our_err))), (str(our_err), str(their_err))
    else:
        our_err = raised(ours, expected)
        assert type(our_err) is type(their_err), (our_err, their_err)
        assert normalize(str(our_err)) == normalize(str(their_err))
    return our_err, their_err


@dataclass(frozen=True)
class ErrorCase:
    """A call that must fail: with JAX's class, a key phrase, and (if ``same``) JAX's exact text."""

    label: str
    call: Callable[[Any], Any]  # call(lax_module)
    error: type[Exception]
    phrase: str
    same: bool = True  # real JAX raises the same text (False: JAX fails elsewhere or differently)


def check_error_case(
    case: ErrorCase,
    ours: Thunk,
    theirs: Thunk,
    *,
    normalize: Callable[[str], str] = _same,
) -> None:
    """``ours()`` raises ``case.error`` with ``case.phrase`` in its message; if ``case.same``,
    ``theirs()`` (real JAX) raises ``case.error`` too, with the same message."""
    our_err = raised(ours, case.error)
    assert case.phrase in str(our_err), (case.phrase, str(our_err))
    if case.same:
        their_err = raised(theirs, case.error)
        assert normalize(str(our_err)) == normalize(str(their_err))
