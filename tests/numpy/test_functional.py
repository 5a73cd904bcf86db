"""``vectorize`` (scalar functions, gufunc signatures, ``excluded``), ``apply_along_axis``,
``apply_over_axes``, ``piecewise``, ``fromfunction`` and ``frompyfunc``'s ufunc (call,
``reduce``, ``accumulate``, ``outer``, ``at``, ``reduceat``) against ``jax.numpy``: values,
errors, ``jit``, gradients, ``vmap`` and the named calls of the jaxprs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.numpy.missing_a_support import (
    check,
    check_calls,
    check_grad,
    check_jit,
    check_vmap,
    rnp,
)

I = np.array([3, 1, 2, 3, 1, 5], np.int32)  # noqa: E741
X = np.arange(12.0, dtype=np.float32).reshape(3, 4) % 5
V = np.array([0.5, 1.5, 2.5, 4.0], np.float32)
S3 = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)
R8 = np.arange(8.0, dtype=np.float32)

Case = tuple[str, Any, tuple[Any, ...]]


def mul_add(p: Any, q: Any) -> Any:
    return p * q + 1


def add(p: Any, q: Any) -> Any:
    return p + q


def ufunc(m: Any, f: Any = mul_add, nin: int = 2, nout: int = 1, identity: Any = None) -> Any:
    return m.frompyfunc(f, nin, nout, identity=identity)


VECTORIZE: list[Case] = [
    ("scalar function", lambda m, a, b: m.vectorize(mul_add)(a, b), (X, V)),
    ("tuple output", lambda m, a, b: m.vectorize(lambda p, q: (p + q, p - q))(a, b), (X, V)),
    ("signature", lambda m, a, b: m.vectorize(m.dot, signature="(n),(n)->()")(a, b), (X, V)),
    ("signature broadcast", lambda m, a, b: m.vectorize(m.dot, signature="(n),(n)->()")(a, b),
     (S3, V)),
    ("signature two outputs", lambda m, a: m.vectorize(lambda r: (r.sum(), r * 2),
                                                       signature="(n)->(),(n)")(a), (S3,)),
    ("signature new dim", lambda m, a: m.vectorize(lambda r: m.stack([r.sum(), r.max()]),
                                                   signature="(n)->(k)")(a), (S3,)),
    ("signature matmul", lambda m, a, b: m.vectorize(m.matmul, signature="(n,m),(m,k)->(n,k)")(
        a, b), (S3[:, :, :3], X[:3, :2])),
    ("excluded position", lambda m, a: m.vectorize(lambda r, k: r * k, excluded={1})(a, 3),
     (X,)),
    ("excluded name", lambda m, a: m.vectorize(lambda r, k=1: r * k, excluded={"k"})(a, k=3),
     (X,)),
    ("keyword not excluded", lambda m, a: m.vectorize(lambda r, k=1: r * k)(a, k=3), (X,)),
    ("None argument", lambda m, a: m.vectorize(lambda r, k: r if k is None else r * k)(a, None),
     (X,)),
    ("size-1 axes", lambda m, a, b: m.vectorize(mul_add)(a, b), (X[:1, :, None],
                                                                V[None, None, :1])),
    ("list argument", lambda m: m.vectorize(lambda p: p * 2)([1, 2, 3]), ()),
    ("bad signature", lambda m, a: m.vectorize(m.sum, signature="(n)->>()")(a), (X,)),
    ("too few dims", lambda m, a: m.vectorize(m.sum, signature="(n,m)->()")(a), (V,)),
    ("inconsistent core", lambda m, a, b: m.vectorize(m.dot, signature="(n),(n)->()")(a, b),
     (X, V[:3])),
    ("wrong output dims", lambda m, a: m.vectorize(lambda r: r, signature="(n)->()")(a), (X,)),
    ("wrong argument count", lambda m, a: m.vectorize(m.dot, signature="(n),(n)->()")(a), (X,)),
    ("output not a tuple", lambda m, a: m.vectorize(lambda r: r.sum(),
                                                    signature="(n)->(),()")(a), (X,)),
    ("excluded float", lambda m, a: m.vectorize(m.sum, excluded={1.5})(a), (X,)),
    ("excluded negative", lambda m, a: m.vectorize(m.sum, excluded={-1})(a), (X,)),
    ("incompatible shapes", lambda m, a, b: m.vectorize(mul_add)(a, b), (X, V[:3])),
]

APPLY: list[Case] = [
    ("apply_along_axis", lambda m, a: m.apply_along_axis(lambda r: m.sqrt(m.sum(r * r)), 1, a),
     (X,)),
    ("apply_along_axis 0", lambda m, a: m.apply_along_axis(m.sum, 0, a), (S3,)),
    ("apply_along_axis middle", lambda m, a: m.apply_along_axis(
        lambda r: m.stack([r.sum(), r.max()]), 1, a), (S3,)),
    ("apply_along_axis args", lambda m, a: m.apply_along_axis(lambda r, k, s=0: r * k + s, -1,
                                                              a, 2, s=1), (S3,)),
    ("apply_along_axis matrix out", lambda m, a: m.apply_along_axis(lambda r: m.outer(r, r), 0,
                                                                    a), (X,)),
    ("apply_over_axes", lambda m, a: m.apply_over_axes(m.sum, a, [0, 2]), (S3,)),
    ("apply_over_axes same rank", lambda m, a: m.apply_over_axes(m.cumsum, a, (1,)), (S3,)),
    ("apply_over_axes bad rank", lambda m, a: m.apply_over_axes(lambda t, ax: t.sum(), a, (1,)),
     (S3,)),
    ("piecewise", lambda m, a: m.piecewise(a, [a < 1, a > 3], [lambda t: t * 2, 0.0, m.sin]),
     (V,)),
    ("piecewise default 0", lambda m, a: m.piecewise(a, [a < 1, a > 3], [lambda t: t * 2, 7]),
     (X,)),
    ("piecewise args", lambda m, a: m.piecewise(a, [a < 2], [lambda t, k, s=0: t * k + s], 3,
                                                s=1), (I,)),
    ("piecewise overlapping", lambda m, a: m.piecewise(a, [a < 3, a < 2], [1, 2, 3]), (I,)),
    ("piecewise count", lambda m, a: m.piecewise(a, [a < 3], [1, 2, 3]), (I,)),
    ("piecewise scalar", lambda m: m.piecewise(2.0, [True], [lambda t: t + 1, 0]), ()),
    ("fromfunction", lambda m: m.fromfunction(lambda i, j: i * 10 + j, (2, 3)), ()),
    ("fromfunction int", lambda m: m.fromfunction(lambda i, j, k: i + j * k, (2, 3, 2),
                                                  dtype=int), ()),
    ("fromfunction 1d", lambda m: m.fromfunction(lambda i: i ** 2, 4), ()),
    ("fromfunction tuple", lambda m: m.fromfunction(lambda i, j: (i, j + i), (2, 2)), ()),
]

UFUNC: list[Case] = [
    ("call", lambda m, a, b: ufunc(m)(a, b), (X, V)),
    ("call two outputs", lambda m, a: ufunc(m, lambda p: (p, p * 2), 1, 2)(a), (X,)),
    ("reduce", lambda m, a: ufunc(m).reduce(a), (X,)),
    ("reduce axis keepdims", lambda m, a: ufunc(m, identity=0).reduce(a, axis=-1,
                                                                      keepdims=True), (S3,)),
    ("reduce all axes initial", lambda m, a: ufunc(m, add, identity=0).reduce(a, axis=None,
                                                                              initial=5.0),
     (S3,)),
    ("reduce where", lambda m, a: ufunc(m, add, identity=0).reduce(a, where=a > 2), (X,)),
    ("reduce where no identity", lambda m, a: ufunc(m, add).reduce(a, where=a > 2), (X,)),
    ("reduce where not bool", lambda m, a: ufunc(m, add, identity=0).reduce(a, where=a), (X,)),
    ("reduce empty", lambda m, a: ufunc(m, add).reduce(a), (X[:0],)),
    ("reduce empty identity", lambda m, a: ufunc(m, add, identity=0).reduce(a), (X[:0],)),
    ("reduce dtype", lambda m, a: ufunc(m, add).reduce(a, dtype=np.float32), (I,)),
    ("reduce unary", lambda m, a: ufunc(m, lambda p: p, 1).reduce(a), (X,)),
    ("accumulate", lambda m, a: ufunc(m).accumulate(a, axis=1), (X,)),
    ("accumulate int", lambda m, a: ufunc(m, add).accumulate(a), (I,)),
    ("accumulate empty", lambda m, a: ufunc(m, add).accumulate(a), (X[:0],)),
    ("outer", lambda m, a, b: ufunc(m).outer(a, b), (X, V)),
    ("at", lambda m, a, i, b: ufunc(m).at(a, i, b, inplace=False),
     (V, np.array([0, 2, 0]), np.array([2, 3, 4], np.float32))),
    ("at unary", lambda m, a, i: ufunc(m, lambda p: p * 2, 1).at(a, i, inplace=False),
     (V, np.array([0, 2, 0]))),
    ("at scalar index", lambda m, a: ufunc(m, add).at(a, 1, 5.0, inplace=False), (V,)),
    ("at inplace", lambda m, a: ufunc(m, add).at(a, 1, 5.0), (V,)),
    ("reduceat", lambda m, a, i: ufunc(m, add).reduceat(a, i), (R8, np.array([0, 4, 1, 5]))),
    ("reduceat axis", lambda m, a, i: ufunc(m, lambda p, q: p * q).reduceat(a, i, axis=1),
     (X, np.array([0, 2]))),
]


def overridden(m: Any) -> Any:
    """A ufunc whose call, reduce, accumulate, at and reduceat are given implementations."""
    return m.ufunc(
        add, 2, 1, name="plus", identity=0,
        call=lambda p, q: m.add(p, q) * 2,
        reduce=lambda a, axis, dtype, keepdims, initial, where: m.sum(a, axis, dtype,
                                                                       keepdims=keepdims),
        accumulate=lambda a, axis, dtype: m.cumsum(a, axis, dtype),
        at=lambda a, idx, *b: m.asarray(a).at[idx].add(*b),
        reduceat=lambda a, idx, axis, dtype: m.take(a, idx, axis=axis))


UFUNC += [
    ("overridden call", lambda m, a, b: overridden(m)(a, b), (X, V)),
    ("overridden reduce", lambda m, a: overridden(m).reduce(a, axis=1, keepdims=True), (X,)),
    ("overridden accumulate", lambda m, a: overridden(m).accumulate(a, axis=1), (X,)),
    ("overridden at", lambda m, a: overridden(m).at(a, 1, 5.0, inplace=False), (V,)),
    ("overridden reduceat", lambda m, a, i: overridden(m).reduceat(a, i), (R8, np.array([0, 4]))),
]

ALL = VECTORIZE + APPLY + UFUNC


@pytest.mark.parametrize("case", ALL, ids=[c[0] for c in ALL])
def test_matches_jax(case: Case) -> None:
    _, f, args = case
    check(f, *args)


@pytest.mark.parametrize("case", [c for c in ALL if c[2]], ids=[c[0] for c in ALL if c[2]])
def test_under_jit(case: Case) -> None:
    _, f, args = case
    check_jit(f, *args)


def test_ufunc_attributes() -> None:
    from tests.numpy.missing_a_support import jnp

    for m in (rnp, jnp):
        u = ufunc(m, add, identity=0)
        assert (repr(u), u.nin, u.nout, u.nargs, u.identity, u.__name__) == (
            "<jnp.ufunc 'add'>", 2, 1, 2, 0, "add")
        assert u == ufunc(m, add, identity=0)
        assert hash(u) == hash(ufunc(m, add, identity=0))
        assert u != ufunc(m, add)


GRADS: list[Case] = [
    ("vectorize signature", lambda m, a: m.vectorize(m.dot, signature="(n),(n)->()")(a, a),
     (X,)),
    ("vectorize scalar", lambda m, a: m.vectorize(lambda p: m.sin(p) * p)(a), (X,)),
    ("apply_along_axis", lambda m, a: m.apply_along_axis(lambda r: r * m.cumsum(r), 1, a),
     (X,)),
    ("apply_over_axes", lambda m, a: m.apply_over_axes(m.prod, a, [1]), (X,)),
    ("piecewise", lambda m, a: m.piecewise(a, [a < 1, a > 3], [lambda t: t ** 2, m.sin, 3.0]),
     (X,)),
    ("fromfunction", lambda m, s: m.fromfunction(lambda i, j: i * s + j, (2, 3)),
     (np.float32(1.5),)),
    ("ufunc call", lambda m, a: ufunc(m)(a, a), (X,)),
    ("ufunc reduce", lambda m, a: ufunc(m).reduce(a, axis=1), (X,)),
    ("ufunc accumulate", lambda m, a: ufunc(m).accumulate(a, axis=1), (X,)),
    ("ufunc outer", lambda m, a: ufunc(m).outer(a[0], a[1]), (X,)),
    ("ufunc at", lambda m, a: ufunc(m).at(a, np.array([0, 2, 0]), a[:3, 0], inplace=False),
     (X,)),
    ("ufunc reduceat", lambda m, a: ufunc(m, lambda p, q: p * q).reduceat(a, np.array([0, 2]),
                                                                         axis=1), (X,)),
]


@pytest.mark.parametrize("case", GRADS, ids=[c[0] for c in GRADS])
def test_gradients_match_jax(case: Case) -> None:
    _, f, args = case
    check_grad(f, *args)


BATCH = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) % 5 - 1
VMAPS: list[Case] = [
    ("vectorize", lambda m, a: m.vectorize(m.dot, signature="(n),(n)->()")(a, a), (BATCH,)),
    ("piecewise", lambda m, a: m.piecewise(a, [a < 0, a > 1], [lambda t: t ** 2, m.sin, 3.0]),
     (BATCH,)),
    ("apply_along_axis", lambda m, a: m.apply_along_axis(lambda r: r * m.cumsum(r), 1, a),
     (BATCH,)),
    ("ufunc call", lambda m, a: ufunc(m)(a, a[0]), (BATCH,)),
    ("ufunc reduce", lambda m, a: ufunc(m).reduce(a, axis=1), (BATCH,)),
    ("ufunc accumulate", lambda m, a: ufunc(m).accumulate(a, axis=1), (BATCH,)),
    ("ufunc outer", lambda m, a: ufunc(m).outer(a[0], a[1]), (BATCH,)),
]


@pytest.mark.parametrize("case", VMAPS, ids=[c[0] for c in VMAPS])
def test_vmap_matches_jax_and_a_loop(case: Case) -> None:
    _, f, args = case
    check_vmap(f, *args)


@pytest.mark.parametrize("case", [c for c in ALL if c[2]], ids=[c[0] for c in ALL if c[2]])
def test_calls_as_jax(case: Case) -> None:
    """``_piecewise`` (the constants dynamic, the functions static), ufunc's
    ``_call_vectorized``, ``reduce``, ``accumulate``, ``outer``, ``at``, ``reduceat``;
    ``vectorize`` and the others make no call of their own."""
    _, f, args = case
    check_calls(f, *args)


def _loss(m: Any, g: Any) -> Any:
    return m.grad(lambda *a: m.numpy.sum(g(*a)))


UNDER_GRAD = [c for c in GRADS if c[0] in ("vectorize signature", "apply_along_axis",
                                           "fromfunction", "ufunc call", "ufunc outer")]


@pytest.mark.parametrize("case", UNDER_GRAD, ids=[c[0] for c in UNDER_GRAD])
def test_calls_as_jax_under_grad(case: Case) -> None:
    _, f, args = case
    check_calls(f, *args, transform=_loss)


UNDER_VMAP = [c for c in VMAPS if c[0] != "ufunc accumulate"]


@pytest.mark.parametrize("case", UNDER_VMAP, ids=[c[0] for c in UNDER_VMAP])
def test_calls_as_jax_under_vmap(case: Case) -> None:
    _, f, args = case
    check_calls(f, *args, transform=lambda m, g: m.vmap(g))


# Under grad, JAX's partial evaluation of the loops and of switch keeps residuals refjax does
# not (the loop bounds; piecewise's conditions) and orders reduceat's transposed take's
# operands differently. Under vmap, refjax's scan batching rule batches accumulate's unbatched
# integer counter, which JAX's fixpoint leaves unbatched (the values agree).
KNOWN_DIFFERENCES: list[tuple[str, Case]] = [
    ("grad", next(c for c in GRADS if c[0] == "piecewise")),
    ("grad", next(c for c in GRADS if c[0] == "ufunc reduce")),
    ("grad", next(c for c in GRADS if c[0] == "ufunc accumulate")),
    ("grad", next(c for c in GRADS if c[0] == "ufunc at")),
    ("grad", next(c for c in GRADS if c[0] == "ufunc reduceat")),
    ("vmap", next(c for c in VMAPS if c[0] == "ufunc accumulate")),
]


@pytest.mark.xfail(strict=True, reason="loop and switch residuals; scan carry batching")
@pytest.mark.parametrize("how,case", KNOWN_DIFFERENCES,
                         ids=[f"{h} {c[0]}" for h, c in KNOWN_DIFFERENCES])
def test_known_differences(how: str, case: Case) -> None:
    _, f, args = case
    check_calls(f, *args, transform=_loss if how == "grad" else lambda m, g: m.vmap(g))
