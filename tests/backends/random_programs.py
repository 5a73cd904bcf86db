"""A seeded generator of random refjax programs, to test that every program compiles and agrees.

A program is a straight line of ``refjax.numpy`` / ``refjax.lax`` operations on a pool of values:
elementwise ops (broadcasting scalars, lower ranks and size-1 axes), reductions (with and
without keepdims, over several axes or all), views (reshape, transpose, slices, flips,
concatenate, pad, expand_dims / squeeze, broadcast_to), matmuls and ``dot_general`` with batch
dimensions and transposed operands, ``where`` and casts between f32, i32 and bool. Every op picks
its operands from the whole pool, so values (reduced ones especially) get several consumers; the
outputs may be inputs, views of inputs, duplicates, literals, and arrays of size zero.

Values computed by inexact float ops (transcendentals, division, float sums, matmuls) are
*approximate*: they may differ by rounding between backends, so they are never cast to ints or
compared, which would turn a rounding difference into a different answer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import refjax
import refjax.numpy as jnp
from refjax import lax
from refjax.backends.base import BACKEND_ENV
from refjax.backends.kernels.evaluate import evaluate_plan
from refjax.backends.kernels.fusion import FusionOptions, plan

F32, I32, BOOL = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.bool_)
Fn = Callable[..., Any]


@dataclass(frozen=True)
class Value:
    """A value of the pool: its shape, dtype, and whether rounding may change it."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    approx: bool = False

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class Op:
    """``apply`` on the pool values at ``inputs``, described by ``text``."""

    text: str
    inputs: tuple[int, ...]
    apply: Fn


@dataclass
class RandomProgram:
    """A generated program: its inputs, ops and outputs (a pool index, or a literal)."""

    seed: int
    args: tuple[np.ndarray, ...]
    ops: list[Op] = field(default_factory=list)
    outputs: list[int | float] = field(default_factory=list)

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        """Run the program (traced under ``refjax.jit`` by the tests)."""
        pool = list(args)
        for op in self.ops:
            pool.append(op.apply(*[pool[i] for i in op.inputs]))
        return tuple(pool[o] if isinstance(o, int) else o for o in self.outputs)

    def describe(self) -> str:
        """The program as readable lines (for failure messages)."""
        lines = [f"seed {self.seed}"]
        lines += [f"v{i} = arg {a.dtype}{list(a.shape)}" for i, a in enumerate(self.args)]
        n = len(self.args)
        lines += [f"v{n + k} = {op.text.format(*op.inputs)}" for k, op in enumerate(self.ops)]
        lines.append("return " + ", ".join(
            f"v{o}" if isinstance(o, int) else repr(o) for o in self.outputs))
        return "\n".join(lines)


class Generator:
    """Builds one :class:`RandomProgram` from a seed."""

    def __init__(self, seed: int, max_ops: int = 8) -> None:
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.max_ops = max_ops
        self.big = self.chance(0.15)  # large axes: multi-group reductions, vectorised maps
        self.pool: list[Value] = []
        self.jitted: list[tuple[Op, bool]] = []

    # -- helpers ---------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return bool(self.rng.random() < p)

    def choice(self, items: Sequence[Any]) -> Any:
        """One of ``items``."""
        return items[int(self.rng.integers(len(items)))]

    def shape(self, rank: int | None = None) -> tuple[int, ...]:
        """A small random shape (sizes 1..5, rarely 0), or a large one of rank 2 at most."""
        rank = int(self.rng.integers(0, 4)) if rank is None else rank
        if self.big:
            sizes = [1, 7, 33, 64, 130, 257, 1031]
            return tuple(int(self.choice(sizes)) for _ in range(min(rank, 2)))
        return tuple(0 if self.chance(0.04) else int(self.rng.integers(1, 6)) for _ in range(rank))

    def pick(self, where: Callable[[Value], bool] = lambda v: True) -> int | None:
        """A pool index whose value satisfies ``where`` (recent ones likelier), or None."""
        found = [i for i, v in enumerate(self.pool) if where(v)]
        if not found:
            return None
        weights = np.array([1.0 + i for i in found])
        return int(self.rng.choice(found, p=weights / weights.sum()))

    def array(self, v: Value) -> np.ndarray:
        """A random input of ``v``'s aval (floats on a coarse grid, so sums are exact)."""
        if v.dtype == F32:
            return (self.rng.integers(-8, 9, v.shape) / 4).astype(np.float32)
        if v.dtype == I32:
            return self.rng.integers(-5, 6, v.shape).astype(np.int32)
        return self.rng.random(v.shape) < 0.5

    # -- the program -----------------------------------------------------------------------
    def program(self) -> RandomProgram:
        """A random program."""
        n_args = int(self.rng.integers(1, 4))
        for _ in range(n_args):
            dtype = self.choice([F32, F32, F32, I32, BOOL])
            self.pool.append(Value(self.shape(), dtype))
        prog = RandomProgram(self.seed, tuple(self.array(v) for v in self.pool))
        makers = [self.unary, self.binary, self.binary, self.reduce, self.reduce, self.view,
                  self.view, self.matmul, self.where, self.cast, self.concat_pad, self.special,
                  self.host, self.control, self.again, self.chain]
        target = int(self.rng.integers(1, self.max_ops + 1))
        attempts = 0
        while len(prog.ops) < target and attempts < 10 * target:
            attempts += 1
            made = self.choice(makers)()
            if made is None:
                continue
            op, approx = made
            if self.chance(0.15):  # a nested jit: inlined by the planner (maybe twice)
                op = Op(f"jit({op.text})", op.inputs, refjax.jit(op.apply))
                self.jitted.append((op, approx))
            value = self.infer(op, approx)
            if value is not None and value.size <= (1 << 17 if self.big else 4096):
                prog.ops.append(op)
                self.pool.append(value)
        prog.outputs = self.outputs(n_args)
        return prog

    def infer(self, op: Op, approx: bool) -> Value | None:
        """The value ``op`` makes, or None if refjax rejects the op on these avals."""
        specs = [refjax.ShapeDtypeStruct(self.pool[i].shape, self.pool[i].dtype)
                 for i in op.inputs]
        try:
            out = refjax.eval_shape(op.apply, *specs)
        except Exception:  # an op the generator composed badly: skip it
            return None
        dtype = np.dtype(out.dtype)
        if dtype not in (F32, I32, BOOL):
            return None
        return Value(tuple(out.shape), dtype, approx and dtype == F32)

    def outputs(self, n_args: int) -> list[int | float]:
        """One to four outputs: the last value, and maybe others, inputs, duplicates, literals."""
        last = len(self.pool) - 1
        outs: list[int | float] = [last]
        for _ in range(int(self.rng.integers(0, 4))):
            roll = self.rng.random()
            if roll < 0.1:
                outs.append(1.5)
            elif roll < 0.25:
                outs.append(outs[0])
            else:
                idx = self.pick()
                assert idx is not None
                outs.append(idx)
        return outs

    # -- op makers: each returns an op and whether its result is approximate, or None ----------
    def unary(self) -> tuple[Op, bool] | None:
        """An elementwise unary op."""
        i = self.pick()
        assert i is not None
        v = self.pool[i]
        if v.dtype == BOOL:
            return Op("~v{0}", (i,), lambda x: ~x), False
        if v.dtype == I32:
            name, fn = self.choice([("-", lambda x: -x), ("abs", jnp.abs), ("~", lambda x: ~x),
                                    ("sign", jnp.sign), ("square", jnp.square)])
            return Op(f"{name}(v{{0}})", (i,), fn), False
        exact: list[tuple[str, Fn]] = [("-", lambda x: -x), ("abs", jnp.abs),
                                       ("square", jnp.square)]
        if not v.approx:
            exact += [("floor", jnp.floor), ("sign", jnp.sign), ("round", jnp.round)]
        inexact: list[tuple[str, Fn]] = [
            ("exp", jnp.exp), ("tanh", jnp.tanh), ("sin", jnp.sin),
            ("sqrt_abs", lambda x: jnp.sqrt(jnp.abs(x))),
            ("log1p_abs", lambda x: jnp.log1p(jnp.abs(x))),
            ("sigmoid", refjax.nn.sigmoid),
        ]
        if self.chance(0.5):
            name, fn = self.choice(exact)
            return Op(f"{name}(v{{0}})", (i,), fn), v.approx
        name, fn = self.choice(inexact)
        return Op(f"{name}(v{{0}})", (i,), fn), True

    def partner(self, v: Value) -> int | None:
        """A value whose shape broadcasts against ``v``'s."""
        def fits(w: Value) -> bool:
            if len(w.shape) > len(v.shape):
                return False
            tail = v.shape[len(v.shape) - len(w.shape):]
            return all(a in (b, 1) for a, b in zip(w.shape, tail, strict=True))

        return self.pick(fits)

    def binary(self) -> tuple[Op, bool] | None:
        """An elementwise binary op, broadcasting, or with a scalar literal."""
        i = self.pick()
        assert i is not None
        v = self.pool[i]
        if self.chance(0.25):
            c = self.choice([2, 3, -1]) if v.dtype != BOOL else True
            name, fn = self.choice([("+", lambda x: x + c), ("*", lambda x: x * c),
                                    ("max", lambda x: jnp.maximum(x, c))])
            if v.dtype == BOOL:
                name, fn = "&", lambda x: x & c
            return Op(f"({name} v{{0}} {c})", (i,), fn), v.approx
        j = self.partner(v)
        if j is None:
            return None
        w = self.pool[j]
        approx = v.approx or w.approx
        if self.chance(0.5):
            i, j, v, w = j, i, w, v  # the smaller operand first
        if v.dtype == BOOL and w.dtype == BOOL:
            name, fn = self.choice([("&", lambda x, y: x & y), ("|", lambda x, y: x | y),
                                    ("==", lambda x, y: x == y)])
            return Op(f"(v{{0}} {name} v{{1}})", (i, j), fn), False
        dtype = F32 if F32 in (v.dtype, w.dtype) else I32
        ops: list[tuple[str, Fn, bool]] = [
            ("+", lambda x, y: x + y, False), ("-", lambda x, y: x - y, False),
            ("*", lambda x, y: x * y, False), ("max", jnp.maximum, False),
            ("min", jnp.minimum, False),
        ]
        if dtype == F32:
            ops.append(("/", lambda x, y: x / (jnp.abs(y) + 1), True))
        else:
            ops += [("//", lambda x, y: x // (jnp.abs(y) + 1), False),
                    ("%", lambda x, y: x % (jnp.abs(y) + 1), False)]
        if not approx:
            ops += [(">", lambda x, y: x > y, False), ("==", lambda x, y: x == y, False)]
        name, fn, inexact = self.choice(ops)

        def apply(x: Any, y: Any, fn: Fn = fn) -> Any:
            return fn(x.astype(dtype), y.astype(dtype))

        return Op(f"({name} v{{0}} v{{1}})", (i, j), apply), approx or inexact

    def reduce(self) -> tuple[Op, bool] | None:
        """A reduction over one axis, several, or all; with or without keepdims."""
        i = self.pick()
        assert i is not None
        v = self.pool[i]
        rank = len(v.shape)
        axis: int | tuple[int, ...] | None = None
        if rank and self.chance(0.7):
            k = int(self.rng.integers(1, rank + 1))
            axes = tuple(sorted(int(a) for a in self.rng.choice(rank, k, replace=False)))
            axis = axes[0] if len(axes) == 1 and self.chance(0.5) else axes
        keep = self.chance(0.4)
        names = ["sum", "max", "min", "mean", "prod"]
        if v.dtype == BOOL:
            names = ["any", "all", "sum"]
        if not v.approx and (axis is None or isinstance(axis, int)):
            names += ["argmax", "argmin"]
        name = self.choice(names)
        if name in ("max", "min", "argmax", "argmin") and v.size == 0:
            return None  # no identity: refjax raises, as numpy does
        if name in ("argmax", "argmin"):
            if axis is None:
                keep = False
            fn = getattr(jnp, name)
            return Op(f"{name}(v{{0}}, axis={axis}, keepdims={keep})", (i,),
                      lambda x: fn(x, axis=axis, keepdims=keep)), False
        fn = getattr(jnp, name)
        inexact = (v.dtype == F32 and name in ("sum", "mean", "prod")) or name == "mean"
        return Op(f"{name}(v{{0}}, axis={axis}, keepdims={keep})", (i,),
                  lambda x: fn(x, axis=axis, keepdims=keep)), v.approx or inexact

    def view(self) -> tuple[Op, bool] | None:
        """A view: reshape, transpose, slice, flip, expand_dims, squeeze or broadcast_to."""
        i = self.pick()
        assert i is not None
        v = self.pool[i]
        kind = self.choice(["reshape", "transpose", "slice", "flip", "expand", "squeeze",
                            "broadcast", "reshape"])
        rank = len(v.shape)
        if kind == "reshape":
            shape = self.refactor(v.shape)
            return Op(f"reshape(v{{0}}, {shape})", (i,), lambda x: x.reshape(shape)), v.approx
        if kind == "transpose" and rank >= 2:
            perm = tuple(int(p) for p in self.rng.permutation(rank))
            return Op(f"transpose(v{{0}}, {perm})", (i,),
                      lambda x: jnp.transpose(x, perm)), v.approx
        if kind == "slice" and rank:
            index = tuple(self.random_slice(n) for n in v.shape)
            return Op(f"v{{0}}[{index}]", (i,), lambda x: x[index]), v.approx
        if kind == "flip" and rank:
            axis = int(self.rng.integers(rank))
            return Op(f"flip(v{{0}}, {axis})", (i,), lambda x: jnp.flip(x, axis)), v.approx
        if kind == "expand":
            axis = int(self.rng.integers(rank + 1))
            return Op(f"expand_dims(v{{0}}, {axis})", (i,),
                      lambda x: jnp.expand_dims(x, axis)), v.approx
        if kind == "squeeze" and 1 in v.shape:
            axes = tuple(k for k, n in enumerate(v.shape) if n == 1 and self.chance(0.7))
            return Op(f"squeeze(v{{0}}, {axes})", (i,), lambda x: jnp.squeeze(x, axes)), v.approx
        if kind == "broadcast":
            shape = self.broadcast_shape(v.shape)
            return Op(f"broadcast_to(v{{0}}, {shape})", (i,),
                      lambda x: jnp.broadcast_to(x, shape)), v.approx
        return None

    def refactor(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Another shape of the same size (flattened, split, or with 1s inserted)."""
        size = math.prod(shape)
        if size == 0:
            empty: tuple[int, ...] = self.choice([(0,), (0, 3), (2, 0)])
            return empty
        factors = [p for p in range(2, size + 1) if size % p == 0]
        out: list[int] = []
        rest = size
        while rest > 1 and factors and len(out) < 3:
            f = self.choice([p for p in factors if rest % p == 0])
            out.append(f)
            rest //= f
        if rest > 1:
            out.append(rest)
        if self.chance(0.3):
            out.insert(int(self.rng.integers(len(out) + 1)), 1)
        return tuple(out)

    def random_slice(self, n: int) -> slice:
        """A static slice of an axis of size ``n`` (maybe strided, reversed or empty)."""
        start = int(self.rng.integers(0, n + 1))
        stop = int(self.rng.integers(start, n + 1))
        step = self.choice([1, 1, 2, 3, -1])
        if step < 0:
            return slice(None, None, -1)
        return slice(start, stop, step) if self.chance(0.8) else slice(None)

    def broadcast_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape ``shape`` broadcasts to (stretched 1s, maybe new leading axes)."""
        grown = tuple(int(self.rng.integers(1, 4)) if n == 1 else n for n in shape)
        lead = self.shape(int(self.rng.integers(0, 2)))
        return (*lead, *grown) if len(shape) + len(lead) <= 4 else grown

    def matmul(self) -> tuple[Op, bool] | None:
        """``x @ y`` or a ``dot_general`` with batch dims and transposed operands."""
        i = self.pick(lambda v: len(v.shape) >= 1 and v.dtype != BOOL)
        if i is None:
            return None
        v = self.pool[i]
        rank = len(v.shape)
        if rank >= 2 and self.chance(0.5):
            # contract x with itself: batch over axis 0 (rank 3), contract a random axis
            c = int(self.rng.integers(rank))
            batch = (0,) if rank == 3 and c != 0 and self.chance(0.6) else ()
            dims = (((c,), (c,)), (batch, batch))
            other = self.pick(lambda w: w.shape == v.shape and w.dtype != BOOL)
            return Op(f"dot_general(v{{0}}, v{{1}}, {dims})", (i, i if other is None else other),
                      lambda x, y: lax.dot_general(x, y.astype(x.dtype), dims)), True
        k = v.shape[-1]
        j = self.pick(lambda w: len(w.shape) >= 1 and w.dtype != BOOL and (
            w.shape[0] == k if len(w.shape) == 1 else w.shape[-2:-1] == (k,)))
        if j is None:
            return Op("(v{0} @ v{0}.mT)", (i,), lambda x: x @ jnp.swapaxes(x, -1, -2)
                      if x.ndim >= 2 else x @ x), True
        return Op("(v{0} @ v{1})", (i, j), lambda x, y: x @ y.astype(x.dtype)), True

    def where(self) -> tuple[Op, bool] | None:
        """``where(c, x, y)`` with a bool value, or a comparison, as the condition."""
        i = self.pick()
        assert i is not None
        v = self.pool[i]
        j = self.partner(v)
        c = self.pick(lambda w: w.dtype == BOOL and self.partner_of(w, v))
        if j is None:
            return None
        w = self.pool[j]
        if c is None:
            if v.approx:
                return None
            return Op("where(v{0} > 0, v{0}, v{1})", (i, j),
                      lambda x, y: jnp.where(x > 0, x, y.astype(x.dtype))), w.approx
        return Op("where(v{2}, v{0}, v{1})", (i, j, c),
                  lambda x, y, z: jnp.where(z, x, y.astype(x.dtype))), v.approx or w.approx

    @staticmethod
    def partner_of(w: Value, v: Value) -> bool:
        """Whether ``w`` broadcasts against ``v``."""
        if len(w.shape) > len(v.shape):
            return False
        tail = v.shape[len(v.shape) - len(w.shape):]
        return all(a in (b, 1) for a, b in zip(w.shape, tail, strict=True))

    def cast(self) -> tuple[Op, bool] | None:
        """A cast between f32, i32 and bool (never of an approximate float)."""
        i = self.pick()
        assert i is not None
        v = self.pool[i]
        targets = [t for t in (F32, I32, BOOL) if t != v.dtype]
        if v.approx:
            targets = []
        if not targets:
            return None
        t = self.choice(targets)
        return Op(f"v{{0}}.astype({t})", (i,), lambda x: x.astype(t)), False

    def concat_pad(self) -> tuple[Op, bool] | None:
        """A concatenate (with itself or a matching value) or a pad (lax: maybe negative)."""
        i = self.pick(lambda v: len(v.shape) >= 1)
        if i is None:
            return None
        v = self.pool[i]
        rank = len(v.shape)
        axis = int(self.rng.integers(rank))
        if self.chance(0.5):
            def same(w: Value) -> bool:
                return len(w.shape) == rank and all(
                    a == b for k, (a, b) in enumerate(zip(w.shape, v.shape, strict=True))
                    if k != axis)

            j = self.pick(same)
            assert j is not None
            approx = v.approx or self.pool[j].approx
            return Op(f"concatenate([v{{0}}, v{{1}}, v{{0}}], {axis})", (i, j),
                      lambda x, y: jnp.concatenate([x, y.astype(x.dtype), x], axis)), approx
        config = [(int(self.rng.integers(-1, 3)), int(self.rng.integers(-1, 3)),
                   int(self.rng.integers(0, 2)) if self.chance(0.2) else 0) for _ in v.shape]
        fill = 0.5 if v.dtype == F32 else (True if v.dtype == BOOL else 7)
        return Op(f"lax.pad(v{{0}}, {fill}, {config})", (i,),
                  lambda x: lax.pad(x, np.asarray(fill, x.dtype), config)), v.approx

    def again(self) -> tuple[Op, bool] | None:
        """A nested jit applied again, to values of the same avals (its jaxpr inlined twice)."""
        if not self.jitted:
            return None
        op, approx = self.choice(self.jitted)
        inputs = [self.same_aval(self.pool[i]) for i in op.inputs]
        return Op(op.text, tuple(inputs), op.apply), approx or any(
            self.pool[i].approx for i in inputs)

    def chain(self) -> tuple[Op, bool] | None:
        """A long chain of elementwise ops (past the recompute and kernel cost budgets)."""
        i = self.pick(lambda v: v.dtype != BOOL)
        if i is None:
            return None
        n = int(self.choice([5, 40, 300]))

        def apply(x: Any) -> Any:
            for k in range(n):
                x = jnp.maximum(x, x - 1) if k % 2 else x + 1
            return x

        return Op(f"chain{n}(v{{0}})", (i,), apply), self.pool[i].approx

    def same_aval(self, v: Value) -> int:
        """A pool value with the shape and dtype of ``v`` (maybe ``v`` itself)."""
        j = self.pick(lambda w: (w.shape, w.dtype) == (v.shape, v.dtype))
        assert j is not None
        return j

    def special(self) -> tuple[Op, bool] | None:
        """Less common elementwise primitives: clamp, select_n, shifts, powers, iota, ..."""
        i = self.pick(lambda v: v.dtype != BOOL)
        if i is None:
            return None
        v = self.pool[i]
        ops: list[tuple[str, Fn, bool]] = [
            ("clamp(-1, v{0}, 1)", lambda x: lax.clamp(np.asarray(-1, x.dtype), x,
                                                       np.asarray(1, x.dtype)), False),
            ("integer_pow(v{0}, 3)", lambda x: lax.integer_pow(x, 3), False),
            ("v{0} + iota", lambda x: x + lax.broadcasted_iota(x.dtype, x.shape, x.ndim - 1)
             if x.ndim else x, False),
            ("select_n(v{0} % 3, ...)", lambda x: lax.select_n(
                (jnp.abs(x) % 3).astype(np.int32), x, -x, x * 2), False),
        ]
        if v.dtype == I32:
            ops += [("v{0} << 2", lambda x: lax.shift_left(x, np.int32(2)), False),
                    ("v{0} >> 1", lambda x: lax.shift_right_arithmetic(x, np.int32(1)), False),
                    ("popcount(v{0})", lax.population_count, False),
                    ("rem(v{0}, 3)", lambda x: lax.rem(x, np.int32(3)), False)]
        else:
            ops += [("isfinite(v{0})", jnp.isfinite, False),
                    ("v{0} ** 2.0", lambda x: x ** np.float32(2.0), True),
                    ("relu(v{0})", refjax.nn.relu, False),
                    ("softplus(v{0})", refjax.nn.softplus, True)]
        text, fn, inexact = self.choice(ops)
        if text.startswith("select_n") and v.approx:
            return None
        return Op(text, (i,), fn), v.approx or inexact

    def host(self) -> tuple[Op, bool] | None:
        """Primitives without a kernel form: cumsum, sort, take, dynamic_slice."""
        i = self.pick(lambda v: len(v.shape) >= 1 and v.dtype != BOOL)
        if i is None:
            return None
        v = self.pool[i]
        axis = int(self.rng.integers(len(v.shape)))
        n = v.shape[axis]
        ops: list[tuple[str, Fn, bool]] = [
            (f"cumsum(v{{0}}, {axis})", lambda x: jnp.cumsum(x, axis), v.dtype == F32),
            (f"sort(v{{0}}, {axis})", lambda x: jnp.sort(x, axis), False),
        ]
        if n:
            index = self.rng.integers(0, n, int(self.rng.integers(1, 4))).astype(np.int32)
            ops += [(f"take(v{{0}}, {list(index)}, {axis})",
                     lambda x: jnp.take(x, jnp.asarray(index), axis=axis), False),
                    (f"dynamic_slice(v{{0}}, argmax, {axis})", lambda x: lax.dynamic_slice_in_dim(
                        x, jnp.argmax(x.reshape(-1)) % n, 1, axis), False)]
        text, fn, inexact = self.choice(ops)
        if text.startswith(("sort", "dynamic")) and v.approx:
            return None
        return Op(text, (i,), fn), v.approx or inexact

    def control(self) -> tuple[Op, bool] | None:
        """Control flow whose bodies compile separately: fori_loop, cond, scan."""
        i = self.pick(lambda v: v.dtype != BOOL)
        if i is None:
            return None
        v = self.pool[i]
        kind = self.choice(["fori", "cond", "scan"])
        if kind == "fori":
            return Op("fori_loop(2, c * 2 + c.sum(), v{0})", (i,), lambda x: lax.fori_loop(
                0, 2, lambda k, c: c * 2 + c.sum().astype(c.dtype), x)), v.approx
        if kind == "cond":
            if v.approx:
                return None
            return Op("cond(v{0}.sum() > 0, x - x.max(), x + 1)", (i,), lambda x: lax.cond(
                x.sum() > 0, lambda y: y - jnp.max(y, initial=0), lambda y: y + 1, x)), False
        if not v.shape or not v.shape[0]:
            return None
        return Op("scan(c + x, v{0}[0], v{0})", (i,), lambda x: lax.scan(
            lambda c, r: (c + r, c * 2 - r.sum()), x[0], x)[1]), v.approx or v.dtype == F32


def generate(seed: int, max_ops: int = 8) -> RandomProgram:
    """The random program of ``seed``."""
    return Generator(seed, max_ops).program()


# ---------------------------------------------------------------------------------------------
# Running and comparing


def run_on(prog: RandomProgram, backend: str) -> list[np.ndarray]:
    """The outputs of ``prog`` under ``refjax.jit`` with ``backend`` as the default backend."""
    previous = os.environ.get(BACKEND_ENV)
    os.environ[BACKEND_ENV] = backend
    try:
        outs = refjax.jit(prog)(*prog.args)
        return [np.asarray(o) for o in outs]
    finally:
        if previous is None:
            del os.environ[BACKEND_ENV]
        else:
            os.environ[BACKEND_ENV] = previous


def compare(prog: RandomProgram, got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> None:
    """Assert ``got`` equals the reference ``want``: exactly for ints and bools, else closely."""
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        where = f"output {k} of\n{prog.describe()}"
        assert g.shape == w.shape and g.dtype == w.dtype, f"{g.dtype}{g.shape} vs {w.dtype}" \
            f"{w.shape}: {where}"
        if w.dtype.kind == "f":
            finite = np.abs(w[np.isfinite(w)])
            scale = float(finite.max()) if finite.size else 1.0
            np.testing.assert_allclose(g, w, rtol=2e-4, atol=1e-5 * max(scale, 1.0),
                                       err_msg=where)
        else:
            np.testing.assert_array_equal(g, w, err_msg=where)


def check(seed: int, backend: str, max_ops: int = 8) -> RandomProgram:
    """Generate program ``seed``, run it on numpy and on ``backend``, and compare."""
    prog = generate(seed, max_ops)
    compare(prog, run_on(prog, backend), run_on(prog, "numpy"))
    return prog


def run_plan(prog: RandomProgram, options: FusionOptions | None = None) -> list[np.ndarray]:
    """The outputs of ``prog``'s fusion plan run by the IR evaluator (no device, no codegen)."""
    closed = refjax.make_jaxpr(prog)(*prog.args)
    return [np.asarray(o) for o in evaluate_plan(plan(closed, options), prog.args)]
