"""Checks the transformations make at the boundary, with JAX's errors (``jax._src.api_util``).

``jit``, ``grad``, ``vmap`` and friends check their function and their ``argnums``/``argnames``
here, when they wrap (or, where JAX does, when they are called), so a mistake is reported
in the user's terms before anything is traced.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_NOT_KEYWORD = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)


def check_callable(fun: object) -> None:
    """JAX's TypeError unless ``fun`` is a plain callable (not a staticmethod or generator)."""
    if isinstance(fun, staticmethod):
        raise TypeError(f"staticmethod arguments are not supported, got {fun}")
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun}")
    if inspect.isgeneratorfunction(fun):
        raise TypeError(f"Expected a function, got a generator function: {fun}")


def ensure_index(x: Any) -> int | tuple[int, ...]:
    """An index or a tuple of indices (``argnums=1`` or ``argnums=(0, 2)``); Python's TypeError
    for anything else (``1.0``, ``"1"``)."""
    try:
        return operator.index(x)
    except TypeError:
        return tuple(map(operator.index, x))


def ensure_index_tuple(x: Any) -> tuple[int, ...]:
    """:func:`ensure_index` as a tuple."""
    index = ensure_index(x)
    return (index,) if isinstance(index, int) else index


def _ensure_str(x: str) -> str:
    if not isinstance(x, str):
        raise TypeError(f"argument is not a string: {x}")
    return x


def ensure_str_tuple(x: str | Iterable[str]) -> tuple[str, ...]:
    """A name or names as a tuple of strings, else JAX's TypeError."""
    return (x,) if isinstance(x, str) else tuple(map(_ensure_str, x))


def ensure_inbounds(allow_invalid: bool, num_args: int, argnums: Sequence[int]) -> tuple[int, ...]:
    """``argnums`` resolved against ``num_args`` positional arguments (negatives count from
    the end). With ``allow_invalid``, indices past the end are dropped, as ``jit`` does for
    static arguments the caller did not pass."""
    result = []
    for i in argnums:
        if i >= num_args and allow_invalid:
            continue
        if not -num_args <= i < num_args:
            raise ValueError(
                "Positional argument indices, e.g. for `static_argnums`, must have value greater "
                "than or equal to -len(args) and less than len(args), but got value "
                f"{i} for len(args) == {num_args}."
            )
        result.append(i % num_args)
    return tuple(result)


def fun_signature(fun: Callable[..., Any]) -> inspect.Signature | None:
    """``inspect.signature(fun)``, or None for callables without one (some builtins)."""
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def validate_argnums(sig: inspect.Signature, argnums: tuple[int, ...], name: str) -> None:
    """JAX's ValueError when ``argnums`` name positions ``sig`` does not have (``*args``
    accepts any)."""
    n_pos = 0
    for param in sig.parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return
        n_pos += param.kind in _POSITIONAL
    if argnums and (-min(argnums) > n_pos or max(argnums) >= n_pos):
        raise ValueError(
            f"Jitted function has {name}={argnums}, but only accepts {n_pos} positional arguments."
        )


def validate_argnames(sig: inspect.Signature, argnames: tuple[str, ...], name: str) -> None:
    """JAX's ValueError when ``argnames`` are not keyword parameters of ``sig`` (``**kwargs``
    accepts any name but a positional-only one)."""
    params = sig.parameters.values()
    positional_only = {p.name for p in params if p.kind in _NOT_KEYWORD}
    if invalid := positional_only & set(argnames):
        raise ValueError(
            f"Jitted function has invalid argnames {invalid} in {name}. These are positional-only"
        )
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    if invalid := set(argnames) - {p.name for p in params if p.kind in _KEYWORD}:
        raise ValueError(
            f"Jitted function has invalid argnames {invalid} in {name}. "
            "Function does not take these args."
        )


def infer_argnums_and_argnames(
    sig: inspect.Signature | None,
    argnums: int | Sequence[int] | None,
    argnames: str | Iterable[str] | None,
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Static (or donated) argument numbers and names, each inferred from the other through
    ``sig`` when only one is given, as JAX does: a positional-or-keyword parameter named by one
    is named by both, so it is static whether it is passed by position or by keyword."""
    if argnums is None and argnames is None:
        return (), ()
    if argnums is not None and argnames is not None:
        return ensure_index_tuple(argnums), ensure_str_tuple(argnames)
    if sig is None:
        return (ensure_index_tuple(argnums) if argnums is not None else (),
                ensure_str_tuple(argnames) if argnames is not None else ())
    either = [(i, name) for i, (name, param) in enumerate(sig.parameters.items())
              if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    if argnums is None:
        assert argnames is not None
        names = ensure_str_tuple(argnames)
        return tuple(i for i, name in either if name in names), names
    nums = ensure_index_tuple(argnums)
    return nums, tuple(name for i, name in either if i in nums)


def validate_jit_argnums(
    fun: Callable[..., Any],
    static: tuple[tuple[int, ...], tuple[str, ...]],
    donate: tuple[tuple[int, ...], tuple[str, ...]],
) -> None:
    """Check ``jit``'s ``(argnums, argnames)`` pairs for static and donated arguments against
    ``fun``'s signature, as ``jax.jit`` does when it wraps."""
    sig = fun_signature(fun)
    if sig is None:
        if donate[1]:
            raise ValueError(
                f"Getting the signature of function {fun} failed. "
                "Pass donate_argnums instead of donate_argnames."
            )
    else:
        for (nums, names), kind in ((static, "static"), (donate, "donate")):
            validate_argnums(sig, nums, f"{kind}_argnums")
            validate_argnames(sig, names, f"{kind}_argnames")
    if both := set(static[1]) & set(donate[1]):
        raise ValueError(
            "static_argnames and donate_argnames cannot intersect. Argument names "
            f"{both} appear in both static_argnames and donate_argnames"
        )
