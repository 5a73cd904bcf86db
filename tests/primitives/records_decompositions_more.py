"""Op records for the Householder reductions and the rest of ``lax.linalg``: ``hessenberg``,
``tridiagonal``, ``householder_product``, ``ormqr``, ``schur`` and ``symmetric_product``.

References: SciPy's LAPACK wrappers (``gehrd``, ``sytrd``, ``orgqr``, ``ormqr``, ``gees``),
the routines JAX calls on CPU, mapped over the batch dims here; ``symmetric_product`` is
``alpha * a @ a.T + beta * c`` in float64. None of these primitives has a JVP rule in JAX, so
every record is ``differentiable=False``. ``cholesky_update`` takes no batch dims and has no
batching rule (as in JAX), so the shared vmap checks cannot run on it: it is tested in
``tests/primitives/test_decompositions_more.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape
from tests.primitives.records_decompositions import _real_spectrum

Maker = Callable[[np.random.Generator, Sequence[Shape], np.dtype[Any]], list[np.ndarray]]


def _lapack(name: str, dtype: np.dtype[Any]) -> Callable[..., Any]:
    import scipy.linalg.lapack as lapack  # the reference: LAPACK, as JAX calls it on CPU

    prefix = {"f": "s", "d": "d", "F": "c", "D": "z"}[dtype.char]
    if dtype.kind == "c":
        name = {"orgqr": "ungqr", "ormqr": "unmqr", "sytrd": "hetrd"}.get(name, name)
    fn: Callable[..., Any] = getattr(lapack, prefix + name)
    return fn


def _mapped(fn: Callable[..., tuple[np.ndarray, ...]], core: Sequence[int]
            ) -> Callable[..., tuple[np.ndarray, ...]]:
    """``fn`` (one matrix problem in, a tuple out) over the leading batch dims."""

    def ref(*xs: np.ndarray) -> tuple[np.ndarray, ...]:
        batch = xs[0].shape[: xs[0].ndim - core[0]]
        parts = [fn(*(x[idx] for x in xs)) for idx in np.ndindex(*batch)]
        return tuple(np.stack([p[k] for p in parts]).reshape(*batch, *parts[0][k].shape)
                     for k in range(len(parts[0])))

    return ref


def _gehrd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, tau, _ = _lapack("gehrd", a.dtype)(a)
    return h.astype(a.dtype), tau[: a.shape[-1] - 1].astype(a.dtype)


def _sytrd(lower: bool) -> Callable[[np.ndarray], tuple[np.ndarray, ...]]:
    def ref(a: np.ndarray) -> tuple[np.ndarray, ...]:
        c, d, e, tau, _ = _lapack("sytrd", a.dtype)(a, lower=int(lower))
        return c, d, e, tau

    return ref


def _orgqr(a: np.ndarray, taus: np.ndarray) -> tuple[np.ndarray]:
    q, _, _ = _lapack("orgqr", a.dtype)(a, taus)
    return (q.astype(a.dtype),)


def _ormqr(left: bool, transpose: bool) -> Callable[..., tuple[np.ndarray]]:
    def ref(a: np.ndarray, taus: np.ndarray, c: np.ndarray) -> tuple[np.ndarray]:
        trans = ("C" if a.dtype.kind == "c" else "T") if transpose else "N"
        lwork = max(1, c.shape[1] if left else c.shape[0]) * 8
        k = taus.shape[0]  # (SciPy's wrapper takes exactly k reflector columns)
        cq, _, _ = _lapack("ormqr", a.dtype)("L" if left else "R", trans, a[:, :k], taus, c,
                                             lwork)
        return (cq.astype(c.dtype),)

    return ref


def _geqrf_op(lax: Any, x: Any) -> Any:
    """``geqrf``, private in both (JAX's ``jax._src.lax.linalg.geqrf``)."""
    if lax.__name__.startswith("jax"):
        from jax._src.lax import linalg as jax_linalg

        return jax_linalg.geqrf(x)
    from refjax.primitives import decompositions_more

    return decompositions_more.geqrf(x)


def _geqrf(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    qr, tau, _, _ = _lapack("geqrf", a.dtype)(a)
    return qr.astype(a.dtype), tau.astype(a.dtype)


def _normal(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


def _taus(rng: np.random.Generator, shape: Shape, dtype: np.dtype[Any]) -> np.ndarray:
    """Householder scale factors in (1, 2), as ``geqrf`` gives them for real matrices."""
    return rng.uniform(1.0, 2.0, shape).astype(dtype)


def _makers(*fns: Callable[[np.random.Generator, Shape, np.dtype[Any]], np.ndarray]) -> Maker:
    def make(rng: np.random.Generator, shapes: Sequence[Shape],
             dtype: np.dtype[Any]) -> list[np.ndarray]:
        return [fn(rng, s, dtype) for fn, s in zip(fns, shapes, strict=True)]

    return make


def _ref_symmetric_product(alpha: float, beta: float) -> Callable[..., np.ndarray]:
    def ref(a: np.ndarray, c: np.ndarray) -> np.ndarray:
        a64 = a.astype(np.float64)
        return (alpha * a64 @ np.swapaxes(a64, -1, -2) + beta * c).astype(a.dtype)

    return ref


def _diagonal_and_below(lax: Any, t: Any) -> tuple[Any, Any]:
    """T's diagonal (sorted) and T with all but its strictly lower triangle zeroed."""
    n = t.shape[-1]
    eye = np.broadcast_to(np.eye(n, dtype=t.dtype), t.shape)
    below = np.broadcast_to(np.tril(np.ones((n, n)), -1).astype(t.dtype), t.shape)
    return lax.sort(lax.reduce_sum(lax.mul(t, eye), (t.ndim - 1,))), lax.mul(t, below)


def _schur_invariants(lax: Any, x: Any) -> tuple[Any, ...]:
    t, z = lax.linalg.schur(x)
    batch = tuple(range(x.ndim - 2))
    rows, cols = x.ndim - 2, x.ndim - 1

    def mm(p: Any, q: Any, pc: int, qc: int) -> Any:
        return lax.dot_general(p, q, (((pc,), (qc,)), (batch, batch)),
                               precision=lax.Precision.HIGHEST)

    eigenvalues, below = _diagonal_and_below(lax, t)
    return eigenvalues, mm(mm(z, t, cols, rows), z, cols, cols), mm(z, z, rows, rows), below


def _schur_form_invariants(lax: Any, x: Any) -> tuple[Any, ...]:
    return _diagonal_and_below(lax, lax.linalg.schur(x, compute_schur_vectors=False)[0])


def _ref_schur_invariants(x: np.ndarray) -> tuple[np.ndarray, ...]:
    eigenvalues = np.sort(np.linalg.eigvals(x.astype(np.float64)).real).astype(x.dtype)
    eye = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
    return eigenvalues, x, eye.copy(), np.zeros_like(x)


def _records() -> list[OpRecord]:
    normal = _makers(_normal)
    records = [
        OpRecord("hessenberg", lambda lax, x: lax.linalg.hessenberg(x), _mapped(_gehrd, [2]),
                 [((4, 4),), ((2, 3, 3),), ((1, 1),)], FLOAT_DTYPES, args_maker=normal,
                 tol=1e-4, differentiable=False),
        OpRecord("geqrf", _geqrf_op, _mapped(_geqrf, [2]),
                 [((4, 3),), ((3, 5),), ((2, 3, 3),)], FLOAT_DTYPES, args_maker=normal,
                 tol=1e-4, differentiable=False, notes="LAPACK's packed QR"),
        OpRecord("householder_product",
                 lambda lax, a, taus: lax.linalg.householder_product(a, taus),
                 _mapped(_orgqr, [2, 1]), [((5, 3), (3,)), ((2, 4, 4), (2, 2)), ((3, 2), (0,))],
                 FLOAT_DTYPES, args_maker=_makers(_normal, _taus), tol=1e-4,
                 differentiable=False),
        # A Schur form is not unique (LAPACK's is one of many: balancing, block order and
        # signs are its choices), so these records check what every Schur form has: T's
        # eigenvalues (real, distinct inputs: T is triangular), Z T Z^T = a, Z^T Z = I and
        # nothing below T's diagonal.
        OpRecord("schur", _schur_invariants, _ref_schur_invariants,
                 [((4, 4),), ((2, 3, 3),), ((1, 1),)], FLOAT_DTYPES,
                 args_maker=_makers(_real_spectrum), tol=1e-4, differentiable=False,
                 notes="the invariants of a Schur decomposition, not LAPACK's choices"),
        OpRecord("schur", _schur_form_invariants,
                 lambda x: _ref_schur_invariants(x)[::3], [((4, 4),)], FLOAT_DTYPES,
                 args_maker=_makers(_real_spectrum), tol=1e-4, differentiable=False,
                 notes="form only (compute_schur_vectors=False)"),
    ]
    for lower in (True, False):
        records.append(OpRecord(
            "tridiagonal", lambda lax, x, _lo=lower: lax.linalg.tridiagonal(x, lower=_lo),
            _mapped(_sytrd(lower), [2]), [((4, 4),), ((2, 3, 3),), ((1, 1),)], FLOAT_DTYPES,
            args_maker=normal, tol=1e-4, differentiable=False, notes=f"lower={lower}"))
    for left in (True, False):
        for transpose in (False, True):
            c_shape = (5, 2) if left else (2, 5)
            records.append(OpRecord(
                "ormqr",
                lambda lax, a, taus, c, _l=left, _t=transpose:
                    lax.linalg.ormqr(a, taus, c, left=_l, transpose=_t),
                _mapped(_ormqr(left, transpose), [2, 1, 2]),
                [((5, 3), (3,), c_shape), ((2, 5, 3), (2, 2), (2, *c_shape))], FLOAT_DTYPES,
                args_maker=_makers(_normal, _taus, _normal), tol=1e-4, differentiable=False,
                notes=f"left={left} transpose={transpose}"))
    for alpha, beta in ((1.0, 0.0), (2.0, -0.5)):
        records.append(OpRecord(
            "symmetric_product",
            lambda lax, a, c, _a=alpha, _b=beta:
                lax.linalg.symmetric_product(a, c, alpha=_a, beta=_b),
            _ref_symmetric_product(alpha, beta), [((3, 2), (3, 3)), ((2, 4, 3), (2, 4, 4))],
            FLOAT_DTYPES, args_maker=normal_pair(), tol=1e-5, differentiable=False,
            notes=f"alpha={alpha} beta={beta}"))
    return records


def normal_pair() -> Maker:
    """Two standard-normal operands."""
    return _makers(_normal, _normal)


RECORDS: list[OpRecord] = _records()
