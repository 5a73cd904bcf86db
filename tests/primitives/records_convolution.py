"""Op records for convolutions and windowed reductions.

``conv_general_dilated`` in 1, 2 and 3 spatial dimensions: strides, every padding kind (the
strings and explicit, negative, pairs), input and kernel dilation, feature and batch groups,
TensorFlow-style layouts, preferred element types, and the ``conv``/``conv_transpose`` wrappers.
``reduce_window`` through each of its primitives (``reduce_window_sum``/``max``/``min`` and the
generic ``reduce_window``, variadic too), and ``select_and_gather_add`` /
``select_and_scatter_add``, the primitives of max-pooling's derivatives.

The references are loops over output positions, written from the definitions (not from
refjax's code): a convolution sums, over the kernel's positions and the input features of its
group, the products with the input element the window covers in the dilated, padded input
(nothing where it covers padding or a hole); a windowed reduction folds ``acc = f(acc, x)`` over
the window's elements in row-major order from the initial value, skipping padding and holes.
Sums run in float64/int64 and are cast to the result dtype (integer results wrap, as XLA's do;
a bool convolution is "any of the ands").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tests.primitives.records import FLOAT_DTYPES, OpRecord, Shape

F32, F64 = FLOAT_DTYPES
I8 = np.dtype(np.int8)
I32 = np.dtype(np.int32)
BOOL = np.dtype(np.bool_)
C64 = np.dtype(np.complex64)

Pads = Sequence[tuple[int, int]]
Spec = tuple[str, str, str]

# ---------------------------------------------------------------------------------------------
# Padding, written out from its definition


def explicit_pads(
    padding: str | Pads, in_sizes: Sequence[int], windows: Sequence[int], strides: Sequence[int]
) -> list[tuple[int, int]]:
    """``SAME``: ``ceil(n / s)`` outputs, the total padding split with the odd one at the end
    (``SAME_LOWER``: at the start); ``VALID``: none."""
    if not isinstance(padding, str):
        return [(int(lo), int(hi)) for lo, hi in padding]
    if padding == "VALID":
        return [(0, 0)] * len(in_sizes)
    pads = []
    for n, w, s in zip(in_sizes, windows, strides, strict=True):
        total = max((-(-n // s) - 1) * s + w - n, 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if padding == "SAME" else (big, small))
    return pads


def _dilated(n: int, r: int) -> int:
    return 0 if n == 0 else (n - 1) * r + 1


def _wide(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "c":
        return x.astype(np.complex128)
    if x.dtype.kind == "f":
        return x.astype(np.float64)
    return x.astype(np.int64)


def window_out_sizes(shape: Sequence[int], window: Sequence[int], strides: Sequence[int],
                     pads: Pads, base: Sequence[int], dil: Sequence[int]) -> list[int]:
    """How many windows fit along each dim of the dilated, padded operand."""
    return [
        max((_dilated(n, d) + lo + hi - _dilated(w, r)) // s + 1, 0)
        for n, w, s, (lo, hi), d, r in zip(shape, window, strides, pads, base, dil, strict=True)
    ]


def _cast(total: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    if dtype == np.bool_:
        return total != 0
    with np.errstate(over="ignore"):
        return total.astype(dtype)


def _source_index(o: int, k: int, stride: int, rhs_dil: int, lhs_dil: int, low: int,
                  size: int) -> int | None:
    """Which input element output ``o``'s window covers at kernel position ``k`` (None:
    padding, or a hole of the input dilation)."""
    q = o * stride + k * rhs_dil - low  # position in the dilated input
    if q < 0 or q % lhs_dil or q // lhs_dil >= size:
        return None
    return q // lhs_dil


# ---------------------------------------------------------------------------------------------
# Convolution


def ref_conv(
    strides: Sequence[int],
    padding: str | Pads,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    spec: Spec | None = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    out_dtype: Any = None,
) -> Callable[..., np.ndarray]:
    """A convolution computed one output element at a time."""

    def ref(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        nsp = lhs.ndim - 2
        lhs_spec, rhs_spec, out_spec = spec or ("NC" + "xyz"[:nsp], "OI" + "xyz"[:nsp],
                                                 "NC" + "xyz"[:nsp])
        spatial = [c for c in rhs_spec if c not in "OI"]
        x = np.transpose(_wide(lhs), [lhs_spec.index(c) for c in "NC" + "".join(spatial)])
        w = np.transpose(_wide(rhs), [rhs_spec.index(c) for c in "OI" + "".join(spatial)])
        ld = list(lhs_dilation or [1] * nsp)
        rd = list(rhs_dilation or [1] * nsp)
        n = x.shape[0]
        o, i = w.shape[:2]
        sizes, kernel = x.shape[2:], w.shape[2:]
        eff_kernel = [_dilated(k, r) for k, r in zip(kernel, rd, strict=True)]
        pads = explicit_pads(padding, sizes, eff_kernel, strides)
        out_sizes = [
            max((_dilated(s, d) + lo + hi - k) // st + 1, 0)
            for s, d, (lo, hi), k, st in zip(sizes, ld, pads, eff_kernel, strides, strict=True)
        ]
        g, b = feature_group_count, batch_group_count
        out = np.zeros((n // b, o, *out_sizes), np.result_type(x, w))
        for nb, oc, *pos in itertools.product(range(n // b), range(o), *map(range, out_sizes)):
            group = oc // (o // g)  # feature group of this output feature
            bgroup = oc // (o // b)  # batch group of this output feature
            total = 0
            for ic, *kpos in itertools.product(range(i), *map(range, kernel)):
                src = [
                    _source_index(p, k, st, r, d, lo, s)
                    for p, k, st, r, d, (lo, _), s in zip(pos, kpos, strides, rd, ld, pads, sizes,
                                                          strict=True)
                ]
                if any(s is None for s in src):
                    continue
                x_at = x[(bgroup * (n // b) + nb, group * i + ic, *src)]
                total += x_at * w[(oc, ic, *kpos)]
            out[(nb, oc, *pos)] = total
        out = np.transpose(out, [("NC" + "".join(spatial)).index(ch) for ch in out_spec])
        return _cast(out, np.dtype(out_dtype) if out_dtype else lhs.dtype)

    return ref


def _conv_op(*args: Any, **kwargs: Any) -> Callable[..., Any]:
    return lambda lax, lhs, rhs: lax.conv_general_dilated(lhs, rhs, *args, **kwargs)


def _conv_record(
    label: str,
    shapes: Sequence[Sequence[Shape]],
    dtypes: Sequence[np.dtype[Any]],
    strides: Sequence[int],
    padding: str | Pads,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    spec: Spec | None = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    **kwargs: Any,
) -> OpRecord:
    op = _conv_op(strides, padding, lhs_dilation, rhs_dilation, spec,
                  feature_group_count=feature_group_count, batch_group_count=batch_group_count)
    ref = ref_conv(strides, padding, lhs_dilation, rhs_dilation, spec, feature_group_count,
                   batch_group_count)
    return OpRecord("conv_general_dilated", op, ref, shapes, dtypes, tol=1e-5, notes=label,
                    **kwargs)


NHWC: Spec = ("NHWC", "HWIO", "NHWC")


def _conv_records() -> list[OpRecord]:
    return [
        _conv_record("2-D SAME", [((2, 3, 4, 5), (4, 3, 3, 2)), ((1, 1, 4, 4), (2, 1, 1, 1)),
                                  ((0, 3, 5, 6), (4, 3, 3, 2)), ((2, 3, 5, 6), (0, 3, 3, 2))],
                     (F32, F64, I32, I8, BOOL), (1, 1), "SAME"),
        _conv_record("2-D VALID strided", [((2, 2, 6, 7), (3, 2, 3, 3)), ((1, 2, 2, 2),
                                                                         (3, 2, 3, 3))],
                     (F32, F64, C64), (2, 3), "VALID"),
        _conv_record("2-D SAME_LOWER strided", [((1, 2, 6, 7), (3, 2, 2, 4))], (F32, F64),
                     (2, 2), "SAME_LOWER"),
        _conv_record("1-D explicit padding, both dilations", [((2, 3, 9), (4, 3, 3))],
                     (F32, F64, I32), (2,), [(2, 1)], (2,), (2,)),
        _conv_record("2-D negative padding", [((2, 2, 6, 7), (3, 2, 2, 3))], (F32, F64),
                     (1, 2), [(-1, 2), (0, -2)]),
        _conv_record("2-D lhs dilation (transposed conv)", [((1, 2, 4, 5), (3, 2, 3, 2))],
                     (F32, F64), (1, 1), [(2, 2), (1, 0)], (2, 3)),
        _conv_record("2-D rhs dilation (atrous) SAME", [((2, 2, 7, 6), (2, 2, 2, 3))],
                     (F32, F64), (1, 2), "SAME", None, (2, 2)),
        _conv_record("3-D", [((1, 2, 4, 3, 5), (3, 2, 2, 2, 3))], (F32, F64, I32),
                     (1, 2, 1), [(1, 0), (0, 1), (1, 1)]),
        _conv_record("3-D SAME strided, dilated", [((2, 1, 5, 4, 4), (2, 1, 2, 3, 2))],
                     (F32, F64), (2, 1, 2), "SAME", None, (2, 1, 1)),
        _conv_record("NHWC / HWIO", [((2, 6, 5, 3), (3, 2, 3, 4))], (F32, F64, I32),
                     (2, 1), "SAME", None, (1, 2), NHWC),
        _conv_record("mixed layouts", [((5, 2, 3, 6), (3, 2, 4, 2))], (F32, F64),
                     (1, 2), [(1, 1), (0, 1)], None, None, ("WNCH", "IWOH", "HCWN")),
        _conv_record("feature groups", [((2, 4, 5, 5), (6, 2, 3, 2))], (F32, F64, I32),
                     (1, 1), "SAME", feature_group_count=2),
        _conv_record("depthwise NHWC", [((1, 5, 4, 3), (2, 2, 1, 6))], (F32, F64),
                     (1, 1), "VALID", spec=NHWC, feature_group_count=3),
        _conv_record("batch groups", [((4, 3, 6), (6, 3, 2))], (F32, F64, I32),
                     (1,), "VALID", batch_group_count=2),
        _conv_record("batch groups 2-D strided", [((6, 2, 5, 4), (3, 2, 2, 2))], (F32, F64),
                     (2, 1), [(1, 0), (0, 1)], batch_group_count=3),
        _conv_record("0 spatial dims", [((3, 4), (5, 4))], (F32, F64), (), []),
        OpRecord(
            "conv_general_dilated",
            _conv_op((1, 1), "VALID", preferred_element_type=np.int32),
            ref_conv((1, 1), "VALID", out_dtype=np.int32),
            [((2, 3, 4, 4), (2, 3, 3, 3))],
            (I8,),
            notes="preferred_element_type=int32 accumulates int8 without wrapping",
        ),
        OpRecord(
            "conv_general_dilated",
            _conv_op((1,), "SAME", preferred_element_type=np.float32, precision="highest"),
            ref_conv((1,), "SAME", out_dtype=np.float32),
            [((2, 3, 6), (2, 3, 3))],
            (I32,),
            tol=1e-5,
            notes="int32 inputs, float32 results",
        ),
        OpRecord(
            "conv_general_dilated",
            lambda lax, lhs, rhs: lax.conv(lhs, rhs, (2, 1), "SAME"),
            ref_conv((2, 1), "SAME"),
            [((2, 3, 5, 4), (2, 3, 2, 3))],
            (F32, F64),
            tol=1e-5,
            notes="lax.conv",
        ),
        OpRecord(
            "conv_general_dilated",
            lambda lax, lhs, rhs: lax.conv_with_general_padding(
                lhs, rhs, (1, 2), [(1, 2), (0, 1)], (2, 1), (1, 2)),
            ref_conv((1, 2), [(1, 2), (0, 1)], (2, 1), (1, 2)),
            [((1, 2, 4, 5), (3, 2, 2, 2))],
            (F32, F64),
            tol=1e-5,
            notes="lax.conv_with_general_padding",
        ),
        OpRecord(
            "conv_general_dilated",
            lambda lax, lhs, rhs: lax.conv_transpose(lhs, rhs, (2, 2), "SAME"),
            ref_conv((1, 1), [(2, 1), (2, 1)], (2, 2), spec=NHWC),  # keras: out = in * stride
            [((1, 3, 4, 2), (3, 3, 2, 3))],
            (F32, F64),
            tol=1e-5,
            notes="lax.conv_transpose (SAME, stride 2, NHWC)",
        ),
        OpRecord(
            "conv_general_dilated",
            lambda lax, lhs, rhs: lax.conv_transpose(
                lhs, rhs, (2,), "VALID", dimension_numbers=("NCH", "OIH", "NCH"),
                transpose_kernel=True),
            lambda lhs, rhs: ref_conv((1,), [(2, 2)], (2,))(
                lhs, np.flip(rhs, 2).swapaxes(0, 1)),
            [((2, 3, 4), (3, 2, 3))],
            (F32, F64),
            tol=1e-5,
            notes="lax.conv_transpose (VALID, transpose_kernel)",
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Windowed reductions


Fold = Callable[[Any, Any], Any]


def ref_reduce_window(
    fold: Fold,
    init: Callable[[np.dtype[Any]], Any],
    window: Sequence[int],
    strides: Sequence[int] | None = None,
    padding: str | Pads = "VALID",
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
    wide: bool = True,
) -> Callable[..., np.ndarray]:
    """Fold ``fold`` over each window's elements (row-major) from ``init(dtype)``."""

    def ref(x: np.ndarray) -> np.ndarray:
        nd = x.ndim
        st = list(strides or [1] * nd)
        bd = list(base_dilation or [1] * nd)
        wd = list(window_dilation or [1] * nd)
        eff = [_dilated(w, r) for w, r in zip(window, wd, strict=True)]
        pads = explicit_pads(padding, x.shape, eff, st)
        out_sizes = window_out_sizes(x.shape, window, st, pads, bd, wd)
        values = _wide(x) if wide else x
        out = np.zeros(out_sizes, values.dtype)
        for pos in itertools.product(*map(range, out_sizes)):
            acc = values.dtype.type(init(x.dtype))
            for k in itertools.product(*map(range, window)):
                src = [
                    _source_index(p, kk, s, r, d, lo, n)
                    for p, kk, s, r, d, (lo, _), n in zip(pos, k, st, wd, bd, pads, x.shape,
                                                          strict=True)
                ]
                if any(s is None for s in src):
                    continue
                acc = fold(acc, values[tuple(src)])
            out[pos] = acc
        return _cast(out, x.dtype)

    return ref


def _max_init(dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "f":
        return -np.inf
    return np.iinfo(dtype).min if dtype.kind in "iu" else False


def _min_init(dtype: np.dtype[Any]) -> Any:
    if dtype.kind == "f":
        return np.inf
    return np.iinfo(dtype).max if dtype.kind in "iu" else True


def _identity(name: str, x: Any) -> Any:
    """The initial value making ``reduce_window`` bind the ``name`` primitive, in x's dtype."""
    dtype = np.dtype(x.dtype)
    value = {"add": 0, "max": _max_init(dtype), "min": _min_init(dtype)}[name]
    return np.array(value, dtype)


def _rw_op(name: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
    def op(lax: Any, x: Any) -> Any:
        return lax.reduce_window(x, _identity(name, x), getattr(lax, name), *args, **kwargs)

    return op


def _rw_record(
    name: str,
    fold: Fold,
    init: Callable[[np.dtype[Any]], Any],
    label: str,
    shapes: Sequence[Sequence[Shape]],
    dtypes: Sequence[np.dtype[Any]],
    window: Sequence[int],
    strides: Sequence[int] | None = None,
    padding: str | Pads = "VALID",
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
    **kwargs: Any,
) -> OpRecord:
    primitive = f"reduce_window_{'sum' if name == 'add' else name}"
    op = _rw_op(name, window, strides, padding, base_dilation, window_dilation)
    ref = ref_reduce_window(fold, init, window, strides, padding, base_dilation, window_dilation)
    return OpRecord(primitive, op, ref, shapes, dtypes, notes=label, **kwargs)


def _add(a: Any, b: Any) -> Any:
    return a + b


def _sum_records() -> list[OpRecord]:
    zero = lambda dtype: 0  # noqa: E731
    return [
        _rw_record("add", _add, zero, "2-D SAME strided", [((5, 7),), ((1, 1),), ((0, 4),)],
                   (F32, F64, I32, I8), (2, 3), (1, 2), "SAME", tol=1e-5),
        _rw_record("add", _add, zero, "2-D dilations, explicit padding", [((4, 5),)],
                   (F32, F64, I32), (2, 2), (2, 1), [(1, 2), (0, 1)], (2, 1), (1, 2), tol=1e-5),
        _rw_record("add", _add, zero, "1-D SAME_LOWER", [((9,),)], (F32, F64), (4,), (3,),
                   "SAME_LOWER", tol=1e-5),
        _rw_record("add", _add, zero, "3-D negative padding", [((3, 4, 5),)], (F32, F64, I32),
                   (2, 1, 2), (1, 1, 2), [(-1, 1), (0, 0), (1, -1)], tol=1e-5),
    ]


def _chooser_records(name: str, fold: Fold, init: Callable[[np.dtype[Any]], Any]
                     ) -> list[OpRecord]:
    return [
        _rw_record(name, fold, init, "2-D SAME", [((5, 6),), ((1, 1),), ((3, 0),)],
                   (F32, F64, I32, BOOL), (3, 2), (2, 1), "SAME"),
        _rw_record(name, fold, init, "2-D base dilation, padding", [((4, 5),)], (F32, F64, I32),
                   (2, 2), (1, 2), [(1, 1), (0, 1)], (2, 1)),
        _rw_record(name, fold, init, "1-D window dilation (no VJP, as in JAX)", [((8,),)],
                   (F32, F64, I8), (3,), (2,), [(1, 0)], None, (2,), differentiable=False),
        _rw_record(name, fold, init, "3-D VALID", [((3, 4, 4),)], (F32, F64), (2, 2, 3),
                   (1, 2, 1)),
    ]


def _windowed_module(lax: Any) -> Any:
    """Where the select_and_* wrappers live: JAX keeps them private."""
    if lax.__name__.startswith("jax"):
        from jax._src.lax import windowed_reductions

        return windowed_reductions
    from refjax.primitives import windowed

    return windowed


def _gather_op(select: str, window: Sequence[int], strides: Sequence[int], padding: Pads,
               base: Sequence[int], dil: Sequence[int]) -> Callable[..., Any]:
    def op(lax: Any, t: Any, x: Any) -> Any:
        fn = _windowed_module(lax)._select_and_gather_add if lax.__name__.startswith(
            "jax") else _windowed_module(lax).select_and_gather_add
        return fn(t, x, getattr(lax, f"{select}_p"), window, strides, padding, base, dil)

    return op


def ref_select_and_gather_add(select: str, window: Sequence[int], strides: Sequence[int],
                              padding: Pads, base: Sequence[int], dil: Sequence[int]
                              ) -> Callable[..., np.ndarray]:
    """Per window, the tangent at the first greatest (least) operand element; 0 if none."""
    better = np.greater if select == "ge" else np.less

    def ref(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        pairs = np.stack([x.astype(np.float64), t.astype(np.float64)], -1)

        def fold(acc: Any, pair: Any) -> Any:
            return pair if acc is None or better(pair[0], acc[0]) else acc

        out = np.zeros(window_out_sizes(x.shape, window, strides, padding, base, dil))
        for pos in np.ndindex(*out.shape):
            chosen = _fold_window(pairs, fold, pos, window, strides, padding, base, dil)
            out[pos] = 0.0 if chosen is None else chosen[1]
        return out.astype(t.dtype)

    return ref


def _fold_window(values: np.ndarray, fold: Fold, pos: Sequence[int], window: Sequence[int],
                 strides: Sequence[int], padding: Pads, base: Sequence[int],
                 dil: Sequence[int]) -> Any:
    """``fold`` over the window at output ``pos`` of ``values`` (trailing axes kept)."""
    acc = None
    shape = values.shape[: len(window)]
    for k in itertools.product(*map(range, window)):
        src = [_source_index(p, kk, s, r, d, lo, n) for p, kk, s, r, d, (lo, _), n in
               zip(pos, k, strides, dil, base, padding, shape, strict=True)]
        if all(s is not None for s in src):
            acc = fold(acc, values[tuple(src)])
    return acc


def _scatter_op(select: str, window: Sequence[int], strides: Sequence[int], padding: Pads
                ) -> Callable[..., Any]:
    def op(lax: Any, s: Any, x: Any) -> Any:
        if lax.__name__.startswith("jax"):
            fn = _windowed_module(lax)._select_and_scatter_add
        else:
            fn = _windowed_module(lax).select_and_scatter_add
        return fn(s, x, getattr(lax, f"{select}_p"), window, strides, padding)

    return op


def ref_select_and_scatter_add(select: str, window: Sequence[int], strides: Sequence[int],
                               padding: Pads) -> Callable[..., np.ndarray]:
    """Each source value added where its window of the operand is first greatest (least);
    padding counts as -inf (inf) and takes nothing."""
    better = np.greater if select == "ge" else np.less

    def ref(source: np.ndarray, x: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape, np.float64)
        fill = -np.inf if select == "ge" else np.inf
        for pos in np.ndindex(*source.shape):
            best, best_at = None, None
            for k in itertools.product(*map(range, window)):
                src = [_source_index(p, kk, s, 1, 1, lo, n) for p, kk, s, (lo, _), n in
                       zip(pos, k, strides, padding, x.shape, strict=True)]
                padded = any(s is None for s in src)
                value = fill if padded else float(x[tuple(src)])
                if best is None or better(value, best):
                    best, best_at = value, None if padded else tuple(src)
            if best_at is not None:
                out[best_at] += source[pos]
        return out.astype(source.dtype)

    return ref


def _select_records() -> list[OpRecord]:
    two = (2, 2)
    records = []
    for select in ("ge", "le"):
        records += [
            OpRecord(
                "select_and_gather_add",
                _gather_op(select, (2, 3), (1, 2), [(1, 0), (1, 1)], (1, 2), (1, 1)),
                ref_select_and_gather_add(select, (2, 3), (1, 2), [(1, 0), (1, 1)], (1, 2),
                                          (1, 1)),
                [((4, 5), (4, 5))],
                (F32, F64),
                notes=f"{select}: padding and base dilation",
            ),
            OpRecord(
                "select_and_gather_add",
                _gather_op(select, (3,), (2,), [(0, 1)], (1,), (2,)),
                ref_select_and_gather_add(select, (3,), (2,), [(0, 1)], (1,), (2,)),
                [((9,), (9,))],
                (F32, F64),
                notes=f"{select}: window dilation (no transpose: not differentiated)",
                differentiable=False,
            ),
            OpRecord(
                "select_and_scatter_add",
                _scatter_op(select, two, (2, 1), [(1, 0), (0, 1)]),
                ref_select_and_scatter_add(select, two, (2, 1), [(1, 0), (0, 1)]),
                [((2, 5), (4, 5))],
                (F32, F64),
                notes=f"{select}: padding, strides",
            ),
        ]
    return records


# ---------------------------------------------------------------------------------------------
# The generic reduce_window


def _generic_op(init: Callable[[Any], Any], fn: Callable[[Any], Any], *args: Any
                ) -> Callable[..., Any]:
    return lambda lax, x: lax.reduce_window(x, init(x), fn(lax), *args)


def _variadic_op(*args: Any) -> Callable[..., Any]:
    """A (sum, max) pair of windows, reduced together: generic even with identities."""

    def op(lax: Any, x: Any, y: Any) -> Any:
        def both(a: Any, b: Any) -> Any:
            return (lax.add(a[0], b[0]), lax.max(a[1], b[1]))

        return lax.reduce_window((x, y), (np.array(0, x.dtype), np.array(-np.inf, y.dtype)),
                                 both, *args)

    return op


def _variadic_ref(*args: Any) -> Callable[..., Any]:
    sums = ref_reduce_window(_add, lambda d: 0, *args)
    maxes = ref_reduce_window(max, lambda d: -np.inf, *args)
    return lambda x, y: (sums(x), maxes(y))


def _generic_records() -> list[OpRecord]:
    mul = lambda a, b: a * b  # noqa: E731
    mul_args = ((2, 2), (1, 2), [(1, 0), (0, 1)], (2, 1), (1, 2))
    sub_args = ((3,), (2,), "SAME")
    return [
        OpRecord(
            "reduce_window",
            _generic_op(lambda x: np.array(1, x.dtype), lambda lax: lax.mul, *mul_args),
            ref_reduce_window(mul, lambda d: 1, *mul_args),
            [((4, 5),), ((1, 3),)],
            (F32, F64, I32),
            tol=1e-5,
            differentiable=False,  # forward mode only (no transpose, as in JAX): see the tests
            notes="mul: padding and both dilations",
        ),
        OpRecord(
            "reduce_window",
            _generic_op(lambda x: np.array(2, x.dtype), lambda lax: lambda a, b: a * 2 - b,
                        *sub_args),
            ref_reduce_window(lambda a, b: a * 2 - b, lambda d: 2, *sub_args),
            [((7,),)],
            (F32, F64, I32),
            tol=1e-5,
            differentiable=False,
            notes="a non-commutative computation: the fold order shows",
        ),
        OpRecord(
            "reduce_window",
            _generic_op(lambda x: np.array(1, x.dtype), lambda lax: lax.add, (2, 2), (1, 1),
                        "SAME"),
            ref_reduce_window(_add, lambda d: 1, (2, 2), (1, 1), "SAME"),
            [((3, 4),)],
            (F32, F64, I32),
            tol=1e-5,
            differentiable=False,
            notes="add from 1: not the identity, so the generic primitive",
        ),
        OpRecord(
            "reduce_window",
            _variadic_op((2, 2), (1, 2), [(0, 1), (1, 0)]),
            _variadic_ref((2, 2), (1, 2), [(0, 1), (1, 0)]),
            [((3, 5), (3, 5))],
            (F32, F64),
            tol=1e-5,
            differentiable=False,
            notes="two operands reduced together",
        ),
    ]


def _records() -> list[OpRecord]:
    return [
        *_conv_records(),
        *_sum_records(),
        *_chooser_records("max", max, _max_init),
        *_chooser_records("min", min, _min_init),
        *_select_records(),
        *_generic_records(),
    ]


RECORDS: list[OpRecord] = _records()

# Operands each record's function is linear in (each alone, the others fixed): the
# transposition identity <ct, f(x)> = <f^T(ct), x> holds for each.
LINEAR_OPERANDS: dict[str, tuple[int, ...]] = {
    "conv_general_dilated": (0, 1),
    "reduce_window_sum": (0,),
    "select_and_gather_add": (0,),
    "select_and_scatter_add": (0,),
}

