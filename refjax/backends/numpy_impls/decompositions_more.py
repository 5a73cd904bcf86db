"""Numpy implementations of the Householder-based reductions of ``lax.linalg``: ``geqrf``,
``householder_product``, ``ormqr``, ``hessenberg``, ``tridiagonal``, ``schur``, and of
``symmetric_product`` and ``cholesky_update``.

numpy offers none of LAPACK's ``geqrf``, ``orgqr``, ``ormqr``, ``gehrd``, ``sytrd`` or ``gees``,
so they are written out here after LAPACK's unblocked reference routines, in the operand's
dtype, with LAPACK's conventions, so the packed reflectors and scale factors are the ones JAX
returns on CPU: the reflector ``H = I - tau v v^H`` of ``larfg`` (``v[0] = 1``,
``beta = -sign(re(alpha)) * |(alpha, x)|``; ``tau = 0`` where there is nothing to
annihilate), ``geqr2``, ``ung2r``, ``unm2r``, ``gehd2`` and ``hetd2``. The Schur form is
``gees`` without balancing: Hessenberg reduction, then ``lahqr``'s shifted QR iteration
(Francis double shifts with ``lanv2``'s standardised 2 x 2 blocks for real matrices, single
Wilkinson shifts for complex ones, Ahues and Tisseur's deflation test, exceptional shifts every
ten iterations). Where that iteration does not converge the results are NaN, as JAX's are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from refjax.backends.numpy_impls.decompositions import _batched
from refjax.backends.numpy_impls.table import register
from refjax.interp.core import NDArray
from refjax.primitives import decompositions_more as dm

# ---------------------------------------------------------------------------------------------
# Elementary reflectors


def _larfg(alpha: Any, x: NDArray) -> tuple[Any, NDArray, Any]:
    """LAPACK's ``larfg``: ``(beta, v_tail, tau)`` with ``H^H [alpha; x] = [beta; 0]`` for
    ``H = I - tau [1; v_tail] [1; v_tail]^H`` and ``beta`` real."""
    dtype = x.dtype
    xnorm = np.linalg.norm(x) if x.size else 0.0
    if xnorm == 0 and np.imag(alpha) == 0:
        return alpha, x.copy(), dtype.type(0)
    real = np.real(alpha)
    norm = math.sqrt(float(real) ** 2 + float(np.imag(alpha)) ** 2 + float(xnorm) ** 2)
    beta = -math.copysign(norm, float(real))
    tau = ((beta - alpha) / beta).astype(dtype) if dtype.kind == "c" else dtype.type(
        (beta - real) / beta)
    scale = dtype.type(1) / (alpha - dtype.type(beta))
    return dtype.type(beta), (x * scale).astype(dtype), dtype.type(tau)


def _apply_left(c: NDArray, v: NDArray, tau: Any) -> None:
    """``c <- (I - tau v v^H) c`` in place (``larf('L')``)."""
    if tau != 0:
        c -= tau * np.outer(v, v.conj() @ c)


def _apply_right(c: NDArray, v: NDArray, tau: Any) -> None:
    """``c <- c (I - tau v v^H)`` in place (``larf('R')``)."""
    if tau != 0:
        c -= tau * np.outer(c @ v, v.conj())


def _reflector(a: NDArray, i: int, start: int) -> NDArray:
    """The ``i``-th reflector stored in column ``i`` of ``a`` from row ``start`` on: one at
    ``start``, the stored tail below it."""
    v = a[start:, i].copy()
    if v.size:
        v[0] = 1
    return v


# ---------------------------------------------------------------------------------------------
# QR: geqrf, householder_product (orgqr), ormqr


def _geqrf_one(a: NDArray) -> tuple[NDArray, NDArray]:
    """LAPACK's ``geqr2``: ``R`` on and above the diagonal, the reflectors below it."""
    m, n = a.shape
    out = a.copy()
    k = min(m, n)
    taus = np.zeros(k, a.dtype)
    for i in range(k):
        beta, tail, tau = _larfg(out[i, i], out[i + 1:, i])
        out[i, i], out[i + 1:, i], taus[i] = beta, tail, tau
        v = _reflector(out, i, i)
        _apply_left(out[i:, i + 1:], v, np.conj(tau))  # H^H from the left
    return out, taus


@register(dm.geqrf_p)
def _geqrf(a: NDArray) -> list[NDArray]:
    return _batched(_geqrf_one, a)


def _householder_product_one(a: NDArray, taus: NDArray) -> tuple[NDArray]:
    """LAPACK's ``ung2r``: the first ``n`` columns of ``H_0 H_1 ... H_{k-1}``."""
    m, n = a.shape
    q = np.eye(m, n, dtype=a.dtype)
    for i in reversed(range(taus.shape[0])):
        _apply_left(q[i:, :], _reflector(a, i, i), taus[i])
    return (q,)


@register(dm.householder_product_p)
def _householder_product(a: NDArray, taus: NDArray) -> NDArray:
    out = np.zeros(a.shape, a.dtype)
    for idx in np.ndindex(*a.shape[:-2]):
        out[idx] = _householder_product_one(a[idx], taus[idx])[0]
    return out


def _ormqr_core(a: NDArray, taus: NDArray, c: NDArray, left: bool = True,
                transpose: bool = False) -> tuple[NDArray]:
    """LAPACK's ``unm2r``: ``op(Q) c`` (``left``) or ``c op(Q)``, ``Q = H_0 ... H_{k-1}``
    (``m x m``) and ``op`` the conjugate transpose if ``transpose``."""
    out = c.copy()
    k = taus.shape[0]
    forward = left == transpose  # Q^H c and c Q apply H_0 first
    for i in (range(k) if forward else reversed(range(k))):
        tau = np.conj(taus[i]) if transpose else taus[i]
        v = _reflector(a, i, i)
        if left:
            _apply_left(out[i:, :], v, tau)
        else:
            _apply_right(out[:, i:], v, tau)
    return (out,)


@register(dm.ormqr_p)
def _ormqr(a: NDArray, taus: NDArray, c: NDArray, *, left: bool, transpose: bool) -> NDArray:
    out = np.zeros(c.shape, c.dtype)
    for idx in np.ndindex(*a.shape[:-2]):
        out[idx] = _ormqr_core(a[idx], taus[idx], c[idx], left, transpose)[0]
    return out


# ---------------------------------------------------------------------------------------------
# Hessenberg and tridiagonal reductions


def _gehrd_one(a: NDArray) -> tuple[NDArray, NDArray]:
    """LAPACK's ``gehd2``: ``H`` on and above the first subdiagonal, reflectors below."""
    n = a.shape[0]
    out = a.copy()
    taus = np.zeros(max(n - 1, 0), a.dtype)
    for i in range(n - 1):
        beta, tail, tau = _larfg(out[i + 1, i], out[i + 2:, i])
        out[i + 1, i], out[i + 2:, i], taus[i] = beta, tail, tau
        v = _reflector(out, i, i + 1)
        _apply_right(out[:, i + 1:], v, tau)
        _apply_left(out[i + 1:, i + 1:], v, np.conj(tau))
    return out, taus


@register(dm.hessenberg_p)
def _hessenberg(a: NDArray) -> list[NDArray]:
    return _batched(_gehrd_one, a)


def _hermitian(a: NDArray, lower: bool) -> NDArray:
    """The Hermitian matrix whose ``lower`` (or upper) triangle ``a`` holds (diagonal real)."""
    tri = np.tril(a, -1) if lower else np.triu(a, 1)
    out: NDArray = tri + tri.conj().T + np.diag(np.real(np.diagonal(a))).astype(a.dtype)
    return out


def _hetrd_one(a: NDArray, lower: bool) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """LAPACK's ``hetd2`` (``sytd2``): the tridiagonal ``(d, e)``, the reflectors stored in the
    used triangle beyond the off-diagonal, the other triangle as given."""
    n = a.shape[0]
    real = np.dtype(a.dtype.char.lower()) if a.dtype.kind == "c" else a.dtype
    s = _hermitian(a, lower)
    out = a.copy()
    d, e = np.zeros(n, real), np.zeros(n - 1, real)
    taus = np.zeros(n - 1, a.dtype)
    # lower: reflector i annihilates s[i+2:, i]; upper: reflector i (from the bottom)
    # annihilates s[:i, i+1], its unit element at row i.
    for i in (range(n - 1) if lower else reversed(range(n - 1))):
        if lower:
            beta, tail, tau = _larfg(s[i + 1, i], s[i + 2:, i])
            v = np.concatenate([np.ones(1, a.dtype), tail])
            block = slice(i + 1, n)
            out[i + 2:, i] = tail
        else:
            beta, tail, tau = _larfg(s[i, i + 1], s[:i, i + 1])
            v = np.concatenate([tail, np.ones(1, a.dtype)])
            block = slice(0, i + 1)
            out[:i, i + 1] = tail
        e[i], taus[i] = np.real(beta), tau
        if tau != 0:
            sub = s[block, block]
            x = tau * (sub @ v)
            w = x - (tau / 2 * np.vdot(x, v)) * v
            s[block, block] = sub - np.outer(v, w.conj()) - np.outer(w, v.conj())
    d[:] = np.real(np.diagonal(s))
    idx = np.arange(n)
    out[idx, idx] = d
    if lower:
        out[idx[1:], idx[:-1]] = e
    else:
        out[idx[:-1], idx[1:]] = e
    return out, d, e, taus


@register(dm.tridiagonal_p)
def _tridiagonal(a: NDArray, *, lower: bool) -> list[NDArray]:
    return _batched(lambda m: _hetrd_one(m, lower), a)


# ---------------------------------------------------------------------------------------------
# Schur: gees = gehrd + unghr + lahqr (unbalanced)


_EXCEPTIONAL: int = 10  # LAPACK's KEXSH: an exceptional shift every ten iterations
_DAT1, _DAT2 = 0.75, -0.4375


def _rot_rows(h: NDArray, r1: int, r2: int, cols: slice, cs: Any, sn: Any) -> None:
    x, y = h[r1, cols].copy(), h[r2, cols].copy()
    h[r1, cols], h[r2, cols] = cs * x + sn * y, cs * y - sn * x


def _rot_cols(h: NDArray, c1: int, c2: int, rows: slice, cs: Any, sn: Any) -> None:
    x, y = h[rows, c1].copy(), h[rows, c2].copy()
    h[rows, c1], h[rows, c2] = cs * x + sn * y, cs * y - sn * x


def _sign(a: float, b: float) -> float:
    """Fortran's ``SIGN(a, b)``: ``|a|`` with the sign of ``b`` (positive for zero)."""
    return abs(a) if b >= 0 else -abs(a)


def _lanv2(a: float, b: float, c: float, d: float, eps: float
           ) -> tuple[float, float, float, float, float, float]:
    """LAPACK's ``lanv2``: the rotation ``(cs, sn)`` taking ``[[a, b], [c, d]]`` to standard
    form (upper triangular for real eigenvalues, equal diagonal and ``b * c < 0`` for a complex
    pair); ``(a, b, c, d, cs, sn)`` after it."""
    if c == 0:
        return a, b, c, d, 1.0, 0.0
    if b == 0:
        return d, -c, 0.0, a, 0.0, 1.0
    if a - d == 0 and _sign(1, b) != _sign(1, c):
        return a, b, c, d, 1.0, 0.0
    temp = a - d
    p = temp / 2
    bcmax = max(abs(b), abs(c))
    bcmis = min(abs(b), abs(c)) * _sign(1, b) * _sign(1, c)
    scale = max(abs(p), bcmax)
    z = (p / scale) * p + (bcmax / scale) * bcmis
    if z >= 4 * eps:  # real eigenvalues
        z = p + _sign(math.sqrt(scale) * math.sqrt(z), p)
        a = d + z
        d = d - (bcmax / z) * bcmis
        tau = math.hypot(c, z)
        return a, b - c, 0.0, d, z / tau, c / tau
    sigma = b + c  # complex or nearly equal real eigenvalues: equal diagonal first
    tau = math.hypot(sigma, temp)
    cs = math.sqrt((1 + abs(sigma) / tau) / 2)
    sn = -(p / (tau * cs)) * _sign(1, sigma)
    aa, bb = a * cs + b * sn, -a * sn + b * cs
    cc, dd = c * cs + d * sn, -c * sn + d * cs
    a, b = aa * cs + cc * sn, bb * cs + dd * sn
    c, d = -aa * sn + cc * cs, -bb * sn + dd * cs
    temp = (a + d) / 2
    a = d = temp
    if c != 0:
        if b != 0:
            if _sign(1, b) == _sign(1, c):  # real after all: make it upper triangular
                sab, sac = math.sqrt(abs(b)), math.sqrt(abs(c))
                p = _sign(sab * sac, c)
                tau = 1 / math.sqrt(abs(b + c))
                a, d = temp + p, temp - p
                b, c = b - c, 0.0
                cs1, sn1 = sab * tau, sac * tau
                cs, sn = cs * cs1 - sn * sn1, cs * sn1 + sn * cs1
        else:
            b, c = -c, 0.0
            cs, sn = -sn, cs
    return a, b, c, d, cs, sn


def _small_subdiagonal(h: NDArray, i: int, lo: int, ulp: float, smlnum: float,
                       cabs: Callable[[Any], float]) -> int:
    """The row ``k`` in ``(lo, i]`` nearest ``i`` whose subdiagonal ``h[k, k-1]`` is
    negligible (Ahues and Tisseur's test), else ``lo``."""
    n = h.shape[0]
    for k in range(i, lo, -1):
        sub = cabs(h[k, k - 1])
        if sub <= smlnum:
            return k
        tst = cabs(h[k - 1, k - 1]) + cabs(h[k, k])
        if tst == 0:
            if k - 2 >= 0:
                tst += abs(np.real(h[k - 1, k - 2]))
            if k + 1 < n:
                tst += abs(np.real(h[k + 1, k]))
        if abs(np.real(h[k, k - 1])) <= ulp * tst:
            ab = max(sub, cabs(h[k - 1, k]))
            ba = min(sub, cabs(h[k - 1, k]))
            diff = cabs(h[k - 1, k - 1] - h[k, k])
            aa, bb = max(cabs(h[k, k]), diff), min(cabs(h[k, k]), diff)
            s = aa + ab
            if ba * (ab / s) <= max(smlnum, ulp * (bb * (aa / s))):
                return k
    return lo


def _lahqr_real(h: NDArray, z: NDArray) -> bool:
    """LAPACK's ``dlahqr`` on the whole of ``h`` (Hessenberg) with the transformations
    accumulated in ``z``; in place. False where it does not converge."""
    n = h.shape[0]
    info = np.finfo(h.dtype)
    ulp, safmin = float(info.eps), float(info.tiny)
    smlnum = safmin * (n / ulp)
    itmax = 30 * max(10, n)
    kdefl = 0
    i = n - 1
    while i >= 0:
        lo = 0
        for _ in range(itmax + 1):
            lo = _small_subdiagonal(h, i, lo, ulp, smlnum, abs)
            if lo > 0:
                h[lo, lo - 1] = 0
            if lo >= i - 1:
                break
            kdefl += 1
            if kdefl % (2 * _EXCEPTIONAL) == 0:
                s = abs(h[i, i - 1]) + abs(h[i - 1, i - 2])
                h11 = _DAT1 * s + h[i, i]
                h12, h21, h22 = _DAT2 * s, s, h11
            elif kdefl % _EXCEPTIONAL == 0:
                s = abs(h[lo + 1, lo]) + abs(h[lo + 2, lo + 1])
                h11 = _DAT1 * s + h[lo, lo]
                h12, h21, h22 = _DAT2 * s, s, h11
            else:
                h11, h21, h12, h22 = h[i - 1, i - 1], h[i, i - 1], h[i - 1, i], h[i, i]
            rt1r, rt1i, rt2r, rt2i = _real_shifts(float(h11), float(h12), float(h21),
                                                  float(h22))
            m, v = _double_shift_start(h, i, lo, rt1r, rt1i, rt2r, rt2i, ulp)
            _double_shift_sweep(h, z, m, i, lo, v)
        else:
            return False
        if lo == i - 1:
            a, b, c, d, cs, sn = _lanv2(float(h[i - 1, i - 1]), float(h[i - 1, i]),
                                        float(h[i, i - 1]), float(h[i, i]), ulp)
            h[i - 1, i - 1], h[i - 1, i], h[i, i - 1], h[i, i] = a, b, c, d
            _rot_rows(h, i - 1, i, slice(i + 1, n), cs, sn)
            _rot_cols(h, i - 1, i, slice(0, i - 1), cs, sn)
            _rot_cols(z, i - 1, i, slice(0, n), cs, sn)
        kdefl = 0
        i = lo - 1
    return True


def _real_shifts(h11: float, h12: float, h21: float, h22: float
                 ) -> tuple[float, float, float, float]:
    """The two shifts (eigenvalues of the trailing 2 x 2 block); of two real ones, the one
    nearer ``h22`` twice."""
    s = abs(h11) + abs(h12) + abs(h21) + abs(h22)
    if s == 0:
        return 0.0, 0.0, 0.0, 0.0
    h11, h12, h21, h22 = h11 / s, h12 / s, h21 / s, h22 / s
    tr = (h11 + h22) / 2
    det = (h11 - tr) * (h22 - tr) - h12 * h21
    rtdisc = math.sqrt(abs(det))
    if det >= 0:
        return tr * s, rtdisc * s, tr * s, -rtdisc * s
    rt1r, rt2r = tr + rtdisc, tr - rtdisc
    shift = rt1r * s if abs(rt1r - h22) <= abs(rt2r - h22) else rt2r * s
    return shift, 0.0, shift, 0.0


def _double_shift_start(h: NDArray, i: int, lo: int, rt1r: float, rt1i: float, rt2r: float,
                        rt2i: float, ulp: float) -> tuple[int, NDArray]:
    """The row ``m`` the double-shift sweep starts at (two consecutive small subdiagonals) and
    the first column of ``(H - s1)(H - s2)`` there, scaled."""
    v = np.zeros(3, h.dtype)
    m = i - 2
    while True:
        h21s = float(h[m + 1, m])
        s = abs(float(h[m, m]) - rt2r) + abs(rt2i) + abs(h21s)
        h21s = h21s / s
        v1 = (h21s * float(h[m, m + 1]) + (float(h[m, m]) - rt1r) * ((float(h[m, m]) - rt2r) / s)
              - rt1i * (rt2i / s))
        v2 = h21s * (float(h[m, m]) + float(h[m + 1, m + 1]) - rt1r - rt2r)
        v3 = h21s * float(h[m + 2, m + 1])
        s = abs(v1) + abs(v2) + abs(v3)
        v[:] = (v1 / s, v2 / s, v3 / s)
        if m == lo:
            return m, v
        h00 = abs(float(h[m, m - 1])) * (abs(float(v[1])) + abs(float(v[2])))
        h01 = abs(float(v[0])) * (abs(float(h[m - 1, m - 1])) + abs(float(h[m, m]))
                                  + abs(float(h[m + 1, m + 1])))
        if h00 <= ulp * h01:
            return m, v
        m -= 1


def _double_shift_sweep(h: NDArray, z: NDArray, m: int, i: int, lo: int, v: NDArray) -> None:
    """One Francis double-shift QR sweep over rows ``m .. i`` (3 x 3 reflectors chasing the
    bulge), applied to all of ``h`` and to ``z``."""
    n = h.shape[0]
    for k in range(m, i):
        nr = min(3, i - k + 1)
        if k > m:
            v = h[k:k + nr, k - 1].copy()
        beta, tail, t1 = _larfg(v[0], v[1:nr])
        v = np.concatenate([[beta], tail])
        if k > m:
            h[k, k - 1] = beta
            h[k + 1, k - 1] = 0
            if k < i - 1:
                h[k + 2, k - 1] = 0
        elif m > lo:
            h[k, k - 1] = h[k, k - 1] * (1 - t1)
        u = np.concatenate([np.ones(1, h.dtype), tail])
        rows = slice(k, k + nr)
        _apply_left(h[rows, k:n], u, t1)
        _apply_right(h[0:min(k + 3, i) + 1, rows], u, t1)
        _apply_right(z[:, rows], u, t1)


def _cabs1(x: Any) -> float:
    return float(abs(np.real(x)) + abs(np.imag(x)))


def _lahqr_complex(h: NDArray, z: NDArray) -> bool:
    """LAPACK's ``zlahqr`` on the whole of ``h`` (Hessenberg) with the transformations
    accumulated in ``z``; in place. False where it does not converge."""
    n = h.shape[0]
    info = np.finfo(h.dtype)
    ulp, safmin = float(info.eps), float(info.tiny)
    smlnum = safmin * (n / ulp)
    for i in range(1, n):  # real subdiagonal entries
        if np.imag(h[i, i - 1]) != 0:
            sc = h[i, i - 1] / _cabs1(h[i, i - 1])
            sc = np.conj(sc) / abs(sc)
            h[i, i - 1] = abs(h[i, i - 1])
            h[i, i:] *= sc
            h[:min(n - 1, i + 1) + 1, i] *= np.conj(sc)
            z[:, i] *= np.conj(sc)
    itmax = 30 * max(10, n)
    kdefl = 0
    i = n - 1
    while i >= 0:
        lo = 0
        for _ in range(itmax + 1):
            lo = _small_subdiagonal(h, i, lo, ulp, smlnum, _cabs1)
            if lo > 0:
                h[lo, lo - 1] = 0
            if lo >= i:
                break
            kdefl += 1
            t = _complex_shift(h, i, lo, kdefl)
            m, v = _single_shift_start(h, i, lo, t, ulp)
            _single_shift_sweep(h, z, m, i, lo, v)
        else:
            return False
        kdefl = 0
        i = lo - 1
    return True


def _complex_shift(h: NDArray, i: int, lo: int, kdefl: int) -> Any:
    """Wilkinson's shift (the eigenvalue of the trailing 2 x 2 block nearer ``h[i, i]``), or
    an exceptional one every ten iterations."""
    if kdefl % (2 * _EXCEPTIONAL) == 0:
        return _DAT1 * abs(np.real(h[i, i - 1])) + h[i, i]
    if kdefl % _EXCEPTIONAL == 0:
        return _DAT1 * abs(np.real(h[lo + 1, lo])) + h[lo, lo]
    t = h[i, i]
    u = np.sqrt(h[i - 1, i]) * np.sqrt(h[i, i - 1])
    s = _cabs1(u)
    if s == 0:
        return t
    x = (h[i - 1, i - 1] - t) / 2
    sx = _cabs1(x)
    s = max(s, sx)
    y = s * np.sqrt((x / s) ** 2 + (u / s) ** 2)
    if sx > 0 and np.real(x / sx) * np.real(y) + np.imag(x / sx) * np.imag(y) < 0:
        y = -y
    return t - u * (u / (x + y))


def _single_shift_start(h: NDArray, i: int, lo: int, t: Any, ulp: float
                        ) -> tuple[int, NDArray]:
    """The row ``m`` the single-shift sweep starts at and the first column of ``H - t``
    there, scaled."""
    m = i - 1
    while True:
        h11, h22 = h[m, m], h[m + 1, m + 1]
        h11s = h11 - t
        h21 = float(np.real(h[m + 1, m]))
        s = _cabs1(h11s) + abs(h21)
        v = np.array([h11s / s, h21 / s], h.dtype)
        if m == lo:
            return m, v
        h10 = float(np.real(h[m, m - 1]))
        if abs(h10) * abs(h21 / s) <= ulp * (_cabs1(v[0]) * (_cabs1(h11) + _cabs1(h22))):
            return m, v
        m -= 1


def _single_shift_sweep(h: NDArray, z: NDArray, m: int, i: int, lo: int, v: NDArray) -> None:
    """One single-shift QR sweep over rows ``m .. i`` (2 x 2 reflectors), keeping the
    subdiagonal real."""
    for k in range(m, i):
        if k > m:
            v = h[k:k + 2, k - 1].copy()
        beta, tail, t1 = _larfg(v[0], v[1:2])
        if k > m:
            h[k, k - 1] = beta
            h[k + 1, k - 1] = 0
        v2 = tail[0]
        t2 = np.real(t1 * v2)
        total = np.conj(t1) * h[k, k:] + t2 * h[k + 1, k:]
        h[k, k:] -= total
        h[k + 1, k:] -= total * v2
        rows = slice(0, min(k + 2, i) + 1)
        total = t1 * h[rows, k] + t2 * h[rows, k + 1]
        h[rows, k] -= total
        h[rows, k + 1] -= total * np.conj(v2)
        total = t1 * z[:, k] + t2 * z[:, k + 1]
        z[:, k] -= total
        z[:, k + 1] -= total * np.conj(v2)
        if k == m and m > lo:  # make h[m, m-1] real again
            temp = 1 - t1
            temp = temp / abs(temp)
            h[m + 1, m] *= np.conj(temp)
            if m + 2 <= i:
                h[m + 2, m + 1] *= temp
            for j in range(m, i + 1):
                if j != m + 1:
                    h[j, j + 1:] *= temp
                    h[:j, j] *= np.conj(temp)
                    z[:, j] *= np.conj(temp)
    temp = h[i, i - 1]
    if np.imag(temp) != 0:
        rtemp = abs(temp)
        h[i, i - 1] = rtemp
        temp = temp / rtemp
        h[i, i + 1:] *= np.conj(temp)
        h[:i, i] *= temp
        z[:, i] *= temp


def _gees_one(a: NDArray, compute_schur_vectors: bool) -> tuple[NDArray, ...]:
    n = a.shape[0]
    if n == 0:
        return (a.copy(), a.copy()) if compute_schur_vectors else (a.copy(),)
    packed, taus = _gehrd_one(a)
    h = np.triu(packed, -1)
    z = np.eye(n, dtype=a.dtype)
    if n > 1:
        z[1:, 1:] = _householder_product_one(packed[1:, :-1], taus)[0]
    ok = (_lahqr_complex if a.dtype.kind == "c" else _lahqr_real)(h, z)
    h = np.triu(h) if a.dtype.kind == "c" else np.triu(h, -1)
    if not ok:
        h[...], z[...] = np.nan, np.nan
    return (h, z) if compute_schur_vectors else (h,)


@register(dm.schur_p)
def _schur(x: NDArray, *, compute_schur_vectors: bool, sort_eig_vals: bool,
           select_callable: Any) -> list[NDArray]:
    if sort_eig_vals:
        raise NotImplementedError("The sort feature of LAPACK's gees routine is not "
                                  "implemented.")
    return _batched(lambda m: _gees_one(m, compute_schur_vectors), x)


# ---------------------------------------------------------------------------------------------
# symmetric_product, cholesky_update


@register(dm.symmetric_product_p)
def _symmetric_product(a: NDArray, c: NDArray, *, alpha: float, beta: float) -> NDArray:
    out = alpha * (a @ np.swapaxes(a, -1, -2)) + beta * c
    return np.asarray(out, a.dtype)


@register(dm.cholesky_update_p)
def _cholesky_update(r: NDArray, w: NDArray) -> NDArray:
    """Givens rotations zeroing ``w`` into the rows of ``r`` (JAX's lowering)."""
    r, z = r.copy(), w.copy()
    one, zero = r.dtype.type(1), r.dtype.type(0)
    with np.errstate(all="ignore"):
        for k in range(z.shape[0]):
            x, y = r[k, k], z[k]
            if y == 0:
                c, s = one, zero
            else:
                scale = max(abs(x), abs(y))
                xs, ys = x / scale, y / scale
                rh = one / np.sqrt(xs * xs + ys * ys)
                c, s = xs * rh, -ys * rh
            row = r[k, :].copy()
            r[k, :], z = c * row - s * z, c * z + s * row
    return r
