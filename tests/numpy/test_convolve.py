"""``refjax.numpy.convolve`` and ``correlate`` against ``jax.numpy``'s and numpy's.

Values, dtypes and weak types for every mode, both length orders and several dtypes (integers
promote to floats; with ``preferred_element_type`` they don't); JAX's errors; gradients (against
JAX and finite differences); ``vmap``; and the staged program (``make_jaxpr`` text, JAX's jit
calls included).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import refjax
import refjax.backends.numpy_impls.convolution  # (registers the numpy implementations)
import refjax.backends.numpy_impls.windowed
import refjax.numpy as rnp
from refjax.numpy import convolution as rconv
from refjax.test_util import check_grads
from tests.numpy.helpers import assert_same, assert_values, jax, jnp
from tests.oracle import enable_x64, requires_jax


def _numpy_namespace() -> Any:
    """``refjax.numpy``, with ``convolve``/``correlate`` added while it lacks them."""
    if hasattr(rnp, "convolve") and hasattr(rnp, "correlate"):
        return rnp
    ns = types.ModuleType("refjax.numpy")
    ns.__dict__.update(vars(rnp))
    ns.convolve, ns.correlate = rconv.convolve, rconv.correlate
    return ns


RNP = _numpy_namespace()
RNG = np.random.default_rng(0)
MODES = ["full", "same", "valid"]
FUNCS = ["convolve", "correlate"]
LENGTHS = [(6, 3), (3, 6), (4, 4), (5, 1), (1, 1), (7, 2)]


def _values(n: int, dtype: Any) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(n) < 0.5
    if dtype.kind in "iu":
        return RNG.integers(0, 9, n).astype(dtype)
    if dtype.kind == "c":
        return (RNG.standard_normal(n) + 1j * RNG.standard_normal(n)).astype(dtype)
    return RNG.standard_normal(n).astype(dtype)


def _both(fn: Callable[[Any], Any]) -> tuple[Any, Any]:
    return fn(RNP), fn(jnp)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lengths", LENGTHS)
def test_modes_and_lengths_match_jax(name: str, mode: str, lengths: tuple[int, int]) -> None:
    a, v = _values(lengths[0], np.float32), _values(lengths[1], np.float32)
    ours, theirs = _both(lambda m: getattr(m, name)(a, v, mode))
    assert_same(ours, theirs, 1e-5)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lengths", LENGTHS)
def test_float64_values_match_numpy(name: str, mode: str, lengths: tuple[int, int]) -> None:
    a, v = _values(lengths[0], np.float64), _values(lengths[1], np.float64)
    with enable_x64():
        ours = getattr(RNP, name)(a, v, mode)
        assert ours.dtype == np.float64
        np.testing.assert_allclose(np.asarray(ours), getattr(np, name)(a, v, mode), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("mode", MODES)
def test_complex_values_match_numpy(name: str, mode: str) -> None:
    a, v = _values(5, np.complex64), _values(3, np.complex64)
    ours = getattr(RNP, name)(a, v, mode)
    assert ours.dtype == np.complex64
    expected = getattr(np, name)(a.astype(np.complex128), v.astype(np.complex128), mode)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-5, atol=1e-5)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtypes", [
    (np.int32, np.int32), (np.int8, np.float32), (np.bool_, np.bool_), (np.complex64, np.float32),
    (np.uint8, np.int16), (np.float16, np.float16),
])
def test_dtypes_promote_as_jax(name: str, dtypes: tuple[Any, Any]) -> None:
    a, v = _values(6, dtypes[0]), _values(3, dtypes[1])
    ours, theirs = _both(lambda m: getattr(m, name)(a, v, "same"))
    assert_same(ours, theirs, 1e-2 if np.float16 in dtypes else 1e-5)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
def test_weak_types_as_jax(name: str) -> None:
    a, v = _values(6, np.float32), _values(3, np.float32)

    def f(m: Any) -> Any:
        return getattr(m, name)(m.asarray(a) * 1.0, 2.0 * m.ones(3), "full")

    assert_same(*_both(f), 1e-5)
    assert_same(*_both(lambda m: getattr(m, name)(a, m.ones(3), "full")), 1e-5)
    del v


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("preferred", [np.int32, np.float32, np.int16])
def test_preferred_element_type_as_jax(name: str, preferred: Any) -> None:
    a, v = _values(7, np.int8) * 20, _values(4, np.int8) * 20
    ours, theirs = _both(lambda m: getattr(m, name)(a, v, "full",
                                                    preferred_element_type=preferred))
    assert_same(ours, theirs)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("precision", [None, "highest", ("high", "default")])
def test_precision_is_passed_on(name: str, precision: Any) -> None:
    a, v = _values(6, np.float32), _values(3, np.float32)
    ours = refjax.make_jaxpr(lambda x, y: getattr(RNP, name)(x, y, precision=precision))(a, v)
    theirs = jax.make_jaxpr(lambda x, y: getattr(jnp, name)(x, y, precision=precision))(a, v)
    assert str(ours) == str(theirs)


ERROR_CASES: dict[str, Callable[[Any, str], Any]] = {
    "2-D": lambda m, f: getattr(m, f)(np.ones((2, 3)), np.ones(2)),
    "0-D": lambda m, f: getattr(m, f)(np.ones(3), np.float32(2)),
    "empty": lambda m, f: getattr(m, f)(np.ones(0, np.float32), np.ones(3, np.float32)),
    "both empty": lambda m, f: getattr(m, f)(np.ones(0, np.float32), np.ones(0, np.float32)),
    "mode": lambda m, f: getattr(m, f)(np.ones(4, np.float32), np.ones(2, np.float32), "wide"),
    "list": lambda m, f: getattr(m, f)([1.0, 2.0], np.ones(2, np.float32)),
}


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_match_jax(name: str, case: str) -> None:
    call = ERROR_CASES[case]
    with pytest.raises(Exception) as theirs:
        call(jnp, name)
    with pytest.raises(Exception) as ours:
        call(RNP, name)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lengths", [(6, 3), (3, 6)])
def test_grad_matches_jax(name: str, mode: str, lengths: tuple[int, int]) -> None:
    a, v = _values(lengths[0], np.float32), _values(lengths[1], np.float32)

    def loss(m: Any, api: Any) -> Any:
        return api.grad(lambda x, y: (getattr(m, name)(x, y, mode) ** 2).sum(), (0, 1))(a, v)

    ours, theirs = loss(RNP, refjax), loss(jnp, jax)
    for o, t in zip(ours, theirs, strict=True):
        assert_values(np.asarray(o), np.asarray(t), 1e-4)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("mode", MODES)
def test_check_grads(name: str, mode: str) -> None:
    with enable_x64():
        a, v = _values(5, np.float64), _values(3, np.float64)
        check_grads(lambda x, y: getattr(RNP, name)(x, y, mode), (a, v), order=2,
                    modes=("fwd", "rev"), eps=1e-6)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 1), (1, 0)])
def test_vmap_matches_jax(name: str, in_axes: tuple[Any, Any]) -> None:
    a = _values(18, np.float32).reshape(3, 6)
    v = _values(12, np.float32).reshape(4, 3)
    a_in = a if in_axes[0] == 0 else (a[0] if in_axes[0] is None else a.T)
    v_in = v[:3] if in_axes[1] == 0 else (v[0] if in_axes[1] is None else v.T[:, :3])

    def f(m: Any, api: Any) -> Any:
        return api.vmap(lambda x, y: getattr(m, name)(x, y, "same"), in_axes)(a_in, v_in)

    assert_values(np.asarray(f(RNP, refjax)), np.asarray(f(jnp, jax)), 1e-5)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lengths", [(6, 3), (3, 6)])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.int32, np.float32),
                                    (np.complex64, np.complex64)])
def test_jaxpr_text_matches_jax(name: str, mode: str, lengths: tuple[int, int],
                                dtypes: tuple[Any, Any]) -> None:
    a, v = _values(lengths[0], dtypes[0]), _values(lengths[1], dtypes[1])
    ours = refjax.make_jaxpr(lambda x, y: getattr(RNP, name)(x, y, mode))(a, v)
    theirs = jax.make_jaxpr(lambda x, y: getattr(jnp, name)(x, y, mode))(a, v)
    assert str(ours) == str(theirs)


@requires_jax
@pytest.mark.parametrize("name", FUNCS)
def test_grad_jaxpr_text_matches_jax(name: str) -> None:
    a, v = _values(6, np.float32), _values(3, np.float32)

    def f(m: Any, api: Any) -> Any:
        return api.make_jaxpr(api.grad(lambda x, y: getattr(m, name)(x, y, "full").sum(),
                                       (0, 1)))(a, v)

    assert str(f(RNP, refjax)) == str(f(jnp, jax))


def test_jit_of_convolve() -> None:
    a, v = _values(6, np.float32), _values(3, np.float32)
    jitted = refjax.jit(lambda x, y: RNP.convolve(x, y, "same") + RNP.correlate(x, y, "same"))
    expected = np.convolve(a, v, "same") + np.correlate(a, v, "same")
    for _ in range(4):
        np.testing.assert_allclose(np.asarray(jitted(a, v)), expected, rtol=1e-5, atol=1e-5)
