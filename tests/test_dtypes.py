"""refjax's dtype rules against real JAX: promotion of every pair of dtypes, with x64 off and on.

For each pair among bool, the signed and unsigned integers, the floats and the Python scalar types
``int``/``float``/``complex`` (weak), this checks ``promote_types``, ``result_type`` on values
(strong numpy zeros, weakly typed arrays, Python scalars) and the dtype and weak type of an actual
``add``. JAX is the oracle throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import refjax
from refjax import dtypes as rdt
from refjax.primitives.constants import constant
from tests.oracle import jax, jnp, lazy

jax_dtypes = lazy("jax._src.dtypes")
jax_lax = lazy("jax._src.lax.lax")

# JAX warns when asked for 64-bit values with x64 off; refjax canonicalises silently.
pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype")

ARRAY_DTYPES = [
    np.dtype(t)
    for t in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
    )
]
PY_TYPES: list[type] = [int, float, complex]
TYPES: list[Any] = [*ARRAY_DTYPES, *PY_TYPES]


def _name(t: Any) -> str:
    return t.__name__ if isinstance(t, type) else t.name


PAIRS = [pytest.param(a, b, id=f"{_name(a)}-{_name(b)}") for a in TYPES for b in TYPES]


@pytest.fixture(params=[False, True], ids=["x32", "x64"])
def mode(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Run with 64-bit mode off, then on, in refjax and JAX alike."""
    if request.param:
        request.getfixturevalue("x64")
    assert refjax.config.x64_enabled == request.param
    assert jax.config.jax_enable_x64 == request.param
    yield request.param


def _is_py_type(t: Any) -> bool:
    return any(t is p for p in PY_TYPES)  # np.dtype == int is True: compare by identity


# ---------------------------------------------------------------------------------------------
# Values of each kind, built the same way in refjax and in JAX


def _value_kinds(t: Any) -> list[str]:
    """Python scalars are weak; dtypes give strong zeros and (except bool) weak arrays."""
    if _is_py_type(t):
        return ["python"]
    return ["strong"] if t == np.bool_ else ["strong", "weak"]


def _refjax_value(t: Any, kind: str) -> Any:
    if kind == "python":
        return t(0)
    if kind == "strong":
        return np.zeros((), t)
    return constant(0, rdt.canonicalize_dtype(t), True)


def _jax_value(t: Any, kind: str) -> Any:
    if kind == "python":
        return t(0)
    if kind == "strong":
        return np.zeros((), t)
    return jax_lax._convert_element_type(0, jax.dtypes.canonicalize_dtype(t), weak_type=True)


def _value_pairs(a: Any, b: Any) -> Iterator[tuple[str, Any, Any, Any, Any]]:
    """(description, refjax a, refjax b, jax a, jax b) for every combination of value kinds."""
    for ka in _value_kinds(a):
        for kb in _value_kinds(b):
            what = f"{ka} {_name(a)} with {kb} {_name(b)}"
            yield (
                what,
                _refjax_value(a, ka),
                _refjax_value(b, kb),
                _jax_value(a, ka),
                _jax_value(b, kb),
            )


def _outcome(fn: Any, *args: Any) -> Any:
    """The result, or the class of the exception raised."""
    try:
        return fn(*args)
    except Exception as err:  # the class is what we compare
        return type(err).__name__


# ---------------------------------------------------------------------------------------------
# The promotion table


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types_matches_jax(mode: bool, a: Any, b: Any) -> None:
    assert _outcome(rdt.promote_types, a, b) == _outcome(jnp.promote_types, a, b)


def _ours(x: Any, y: Any) -> Any:
    return _outcome(lambda a, b: rdt.result_type(a, b, return_weak_type_flag=True), x, y)


def _theirs(x: Any, y: Any) -> Any:
    return _outcome(lambda a, b: jax.dtypes.result_type(a, b, return_weak_type_flag=True), x, y)


def _check_all(results: list[tuple[str, Any, Any]]) -> None:
    """Fail on any disagreement."""
    wrong = [(what, a, e) for what, a, e in results if a != e]
    assert not wrong, wrong


@pytest.mark.parametrize("a,b", PAIRS)
def test_result_type_of_dtypes_matches_jax(mode: bool, a: Any, b: Any) -> None:
    _check_all([("dtypes", _ours(a, b), _theirs(a, b))])


@pytest.mark.parametrize("a,b", PAIRS)
def test_result_type_of_values_matches_jax(mode: bool, a: Any, b: Any) -> None:
    _check_all(
        [(what, _ours(ra, rb), _theirs(ja, jb)) for what, ra, rb, ja, jb in _value_pairs(a, b)]
    )


@pytest.mark.parametrize("a,b", PAIRS)
def test_result_type_is_jax_lattice_result_type(mode: bool, a: Any, b: Any) -> None:
    """refjax's lattice_result_type is JAX's (jnp's promotion)."""
    for what, ra, rb, ja, jb in _value_pairs(a, b):
        ours = _outcome(rdt.lattice_result_type, ra, rb)
        assert ours == _outcome(jax_dtypes.lattice_result_type, ja, jb), what


@pytest.mark.parametrize("a,b", PAIRS)
def test_add_dtype_and_weak_type_match_jax(mode: bool, a: Any, b: Any) -> None:
    both_bool = not _is_py_type(a) and not _is_py_type(b) and a == b == np.bool_
    for what, ra, rb, ja, jb in _value_pairs(a, b):
        expected = jax.eval_shape(jnp.add, ja, jb)  # JAX's types without compiling each pair
        try:
            actual = refjax.numpy.add(ra, rb)
        except TypeError:
            if both_bool:  # the only value pair of this (a, b)
                pytest.xfail("jnp.add of two bools is a logical or; refjax.numpy.add rejects bool")
            raise
        assert (actual.dtype, actual.weak_type) == (expected.dtype, expected.weak_type), what
        np.testing.assert_array_equal(np.asarray(actual), np.zeros((), actual.dtype))


# ---------------------------------------------------------------------------------------------
# Canonical dtypes and unsupported dtypes

ALL_SPECS: list[Any] = [
    *ARRAY_DTYPES,
    np.dtype("complex64"),
    np.dtype("complex128"),
    int,
    float,
    complex,
    bool,
    np.float64,
    np.int64,
    "float32",
    "uint64",
]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: _name(s) if not isinstance(s, str) else s)
def test_canonicalize_dtype_matches_jax(mode: bool, spec: Any) -> None:
    assert rdt.canonicalize_dtype(spec) == jax.dtypes.canonicalize_dtype(spec)


@pytest.mark.parametrize(
    "wide,narrow",
    [("int64", "int32"), ("uint64", "uint32"), ("float64", "float32"), ("complex128", "complex64")],
)
def test_canonicalize_dtype_narrows_without_x64(wide: str, narrow: str) -> None:
    assert rdt.canonicalize_dtype(wide) == np.dtype(narrow)


@pytest.mark.parametrize("wide", ["int64", "uint64", "float64", "complex128"])
def test_canonicalize_dtype_keeps_64_bits_with_x64(x64: None, wide: str) -> None:
    assert rdt.canonicalize_dtype(wide) == np.dtype(wide)


def test_default_dtypes_follow_x64(mode: bool) -> None:
    assert rdt.default_int_dtype() == jax.dtypes.canonicalize_dtype(int)
    assert rdt.default_float_dtype() == jax.dtypes.canonicalize_dtype(float)


def test_bfloat16_is_not_an_array_type() -> None:
    """refjax does not support bfloat16: JAX's TypeError for dtypes it has no arrays of."""
    bfloat16 = jnp.bfloat16
    with pytest.raises(TypeError, match="Dtype bfloat16 is not a valid JAX array type"):
        rdt.canonicalize_dtype(bfloat16)
    with pytest.raises(TypeError, match="bfloat16"):
        refjax.numpy.add(np.zeros(2, bfloat16), 1.0)


@pytest.mark.parametrize(
    "make_bad",  # made in the test: JAX's bfloat16 only exists with JAX
    [lambda: jnp.bfloat16, lambda: object, lambda: np.dtype("S3"), lambda: rdt.float0],
    ids=["bfloat16", "object", "bad2", "bad3"],
)
def test_promote_types_outside_the_lattice(make_bad: Callable[[], Any]) -> None:
    """JAX's ValueError for dtypes outside the lattice (refjax's lattice has no bfloat16)."""
    bad = make_bad()
    with pytest.raises(ValueError, match="is not a valid dtype for JAX type promotion") as ours:
        rdt.promote_types(bad, np.float32)
    if bad is not jnp.bfloat16:
        with pytest.raises(ValueError) as theirs:
            jnp.promote_types(bad, np.float32)
        assert str(ours.value) == str(theirs.value)


def test_type_promotion_error_is_a_value_error() -> None:
    assert issubclass(rdt.TypePromotionError, ValueError)
    assert issubclass(jax_dtypes.TypePromotionError, ValueError)
