"""JAX's error classes (``jax.errors``) and the text of refjax's error messages.

Message text lives here, next to the classes, so the interpreters only say *which* error happened.
The tracer-related messages take the tracer's ``_error_repr()`` (its type) and ``_origin_msg()``
(which traced function and argument made it abstract), as JAX's do.
"""

from __future__ import annotations

from typing import Protocol

_ERROR_PAGE = "https://docs.jax.dev/en/latest/errors.html"


class _TracerLike(Protocol):
    def _error_repr(self) -> str: ...

    def _origin_msg(self) -> str: ...


class _JAXErrorMixin(Exception):
    """Appends the pointer to JAX's error page, as JAX's own errors do."""

    def __init__(self, message: str) -> None:
        name = type(self).__name__
        super().__init__(f"{message}\nSee {_ERROR_PAGE}#jax.errors.{name}")


class JAXTypeError(_JAXErrorMixin, TypeError):
    """Base of JAX's type errors."""


class JAXIndexError(_JAXErrorMixin, IndexError):
    """Base of JAX's index errors."""


class ConcretizationTypeError(JAXTypeError):
    """A traced (abstract) value was used where Python needs a concrete one."""

    def __init__(self, tracer: _TracerLike, context: str = "") -> None:
        super().__init__(
            "Abstract tracer value encountered where concrete value is expected: "
            f"{tracer._error_repr()}\n{context}{tracer._origin_msg()}\n"
        )


class NonConcreteBooleanIndexError(JAXIndexError):
    """Boolean-mask indexing with a traced mask (its output shape would be unknown)."""

    def __init__(self, tracer: _TracerLike) -> None:
        super().__init__(f"Array boolean indices must be concrete; got {tracer._error_repr()}\n")


class TracerArrayConversionError(JAXTypeError):
    """``np.asarray`` (``__array__``) was called on a tracer."""

    def __init__(self, tracer: _TracerLike) -> None:
        super().__init__(
            "The numpy.ndarray conversion method __array__() was called on "
            f"{tracer._error_repr()}{tracer._origin_msg()}"
        )


class TracerIntegerConversionError(JAXTypeError):
    """``__index__`` (``range(x)``, ``hex(x)``, indexing a list) was called on a tracer."""

    def __init__(self, tracer: _TracerLike) -> None:
        super().__init__(
            f"The __index__() method was called on {tracer._error_repr()}{tracer._origin_msg()}"
        )


class TracerBoolConversionError(ConcretizationTypeError):
    """Python ``if``/``while``/``and`` on a traced value."""

    def __init__(self, tracer: _TracerLike) -> None:
        JAXTypeError.__init__(
            self,
            f"Attempted boolean conversion of {tracer._error_repr()}.{tracer._origin_msg()}",
        )


class UnexpectedTracerError(JAXTypeError):
    """A tracer escaped the transformation that made it and was used afterwards."""


class KeyReuseError(JAXTypeError):
    """A PRNG key was consumed twice (raised only when key-reuse checking is on)."""


def escaped_tracer_message(aval_str: str, tracer_type: str, origin: str) -> str:
    """The text of :class:`UnexpectedTracerError` for a leaked tracer."""
    msg = (
        "Encountered an unexpected tracer. A function transformed by JAX had a side effect, "
        f"allowing for a reference to an intermediate value with type {aval_str} wrapped in a "
        f"{tracer_type} to escape the scope of the transformation.\n"
        "JAX transformations require that functions explicitly return their outputs, "
        "and disallow saving intermediate values to global state."
    )
    if origin:
        msg += f"\nThe function being traced when the value leaked was {origin}."
    return msg


def origin_message(func: str, traced_for: str, arg_names: list[str]) -> str:
    """The sentence naming the traced function and the arguments a value depends on."""
    origin = f"\nThe error occurred while tracing the function {func} for {traced_for}. "
    if not arg_names:
        return origin
    if len(arg_names) == 1:
        args = f"the argument {arg_names[0]}"
    elif len(arg_names) == 2:
        args = f"the arguments {arg_names[0]} and {arg_names[1]}"
    else:
        args = f"the arguments {', '.join(arg_names[:-1])}, and {arg_names[-1]}"
    plural = "s" if len(arg_names) > 1 else ""
    return origin + (
        "This concrete value was not available in Python because it depends on the "
        f"value{plural} of {args}."
    )


def conversion_context(fname: str) -> str:
    """The hint JAX gives when ``int``/``float``/``complex`` meets a tracer."""
    return (
        f"The problem arose with the `{fname}` function. If trying to convert the data type of "
        f"a value, try using `x.astype({fname})` or `jnp.array(x, {fname})` instead."
    )


def missing_rule_message(primitive: str, transformation: str) -> str:
    """The text of the NotImplementedError for a primitive with no rule for a transformation."""
    kinds = {
        "jvp": f"Differentiation rule for '{primitive}' not implemented",
        "transpose": f"Transpose rule (for reverse-mode differentiation) for '{primitive}' "
        "not implemented",
        "batching": f"Batching rule for '{primitive}' not implemented",
        "abstract_eval": f"Abstract evaluation for '{primitive}' not implemented",
    }
    return kinds.get(transformation, f"No {transformation} rule for primitive '{primitive}'")


def shape_overflow_message(shape: tuple[int, ...]) -> str:
    """The text of the ValueError for an array too large to count: XLA's, then the rule."""
    dims = ", ".join(map(str, shape))
    return (
        f"overflow in static extent product: dimensions=[{dims}]. An array's size in bytes "
        "(its item size times the product of its dimensions) must fit in int64."
    )
