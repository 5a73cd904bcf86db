"""custom_jvp and custom_vjp evaluate as in JAX: outside any transformation the function runs
on values (Python control flow on them works); under jvp and grad only the rules run (the
function is not traced, so a ``print`` in it runs as often as in JAX); under jit, make_jaxpr and
vmap the function is traced. Each scenario runs on refjax and on real JAX, logging what runs and
what it returns; the logs must be equal."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import refjax
from tests.oracle import jax

Log = list[Any]


def _value(x: Any) -> Any:
    return np.asarray(x).round(5).tolist()


def _run(log: Log, tag: str, thunk: Callable[[], Any], message: bool = True) -> None:
    try:
        out = thunk()
        log.append((tag, [_value(v) for v in _leaves(out)]))
    except Exception as err:  # the class and the first line of the message
        log.append((tag, type(err).__name__, str(err).split("\n")[0] if message else ""))


def _leaves(x: Any) -> list[Any]:
    return x if isinstance(x, (tuple, list)) else [x]


def custom_jvp_with_control_flow(m: ModuleType, log: Log) -> None:
    @m.custom_jvp
    def f(x: Any) -> Any:
        log.append("f runs")
        if x > 0:  # Python control flow on the value
            return m.numpy.sin(x)
        return m.numpy.cos(x)

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        log.append("rule runs")
        return m.numpy.sin(x), 2.0 * t

    _run(log, "eager", lambda: f(1.0))
    _run(log, "eager negative", lambda: f(-1.0))
    _run(log, "grad", lambda: m.grad(f)(1.0))
    _run(log, "jvp", lambda: m.jvp(f, (1.0,), (1.0,)))
    _run(log, "jvp of a constant", lambda: m.jvp(lambda y: f(1.0) * y, (2.0,), (1.0,)))
    _run(log, "jit", lambda: m.jit(f)(1.0))  # traced: the control flow fails, as in JAX


def custom_jvp_rules(m: ModuleType, log: Log) -> None:
    @m.custom_jvp
    def g(x: Any, y: Any) -> Any:
        log.append("g runs")
        return x * y

    g.defjvps(lambda t, ans, x, y: t * y * 2, lambda t, ans, x, y: t * x * 3)
    _run(log, "defjvps", lambda: m.grad(g, argnums=(0, 1))(2.0, 5.0))
    _run(log, "defjvps jit", lambda: m.jit(m.grad(g, argnums=(0, 1)))(2.0, 5.0))

    @partial(m.custom_jvp, nondiff_argnums=(0,))
    def app(fn: Callable[[Any], Any], x: Any) -> Any:
        log.append("app runs")
        return fn(x)

    @app.defjvp
    def app_jvp(fn: Callable[[Any], Any], primals: Any, tangents: Any) -> Any:
        (x,), (t,) = primals, tangents
        return app(fn, x), t * 10.0

    _run(log, "nondiff", lambda: m.grad(partial(app, m.numpy.sin))(1.0))
    _run(log, "nondiff vmap", lambda: m.vmap(m.grad(partial(app, m.numpy.sin)))(
        m.numpy.arange(3.0)))
    _run(log, "hessian", lambda: m.hessian(lambda x: app(m.numpy.sin, x) * x)(1.5))


def custom_vjp_runs(m: ModuleType, log: Log) -> None:
    @m.custom_vjp
    def h(x: Any) -> Any:
        log.append("h runs")
        return m.numpy.sin(x)

    def h_fwd(x: Any) -> Any:
        log.append("fwd runs")
        return m.numpy.sin(x), x

    def h_bwd(res: Any, g: Any) -> Any:
        log.append("bwd runs")
        return (g * 3.0 * res,)

    h.defvjp(h_fwd, h_bwd)
    _run(log, "eager", lambda: h(1.0))
    _run(log, "grad", lambda: m.grad(h)(2.0))
    _run(log, "jit grad", lambda: m.jit(m.grad(h))(2.0))
    _run(log, "vmap", lambda: m.vmap(h)(m.numpy.arange(2.0)))
    _run(log, "vmap grad", lambda: m.vmap(m.grad(h))(m.numpy.arange(2.0)))
    _run(log, "value_and_grad", lambda: m.value_and_grad(lambda x: h(x) * x)(2.0))
    _run(log, "jvp", lambda: m.jvp(h, (1.0,), (1.0,)))  # forward mode of a custom_vjp: error

    bad = m.custom_vjp(lambda x: x)
    bad.defvjp(lambda x: x, lambda r, g: (g,))
    _run(log, "fwd not a pair", lambda: m.grad(bad)(1.0))


def closed_over_tracers(m: ModuleType, log: Log) -> None:
    def outer(y: Any) -> Any:
        @m.custom_jvp
        def f(x: Any) -> Any:
            return x * y

        f.defjvp(lambda p, t: (f(p[0]), t[0] * 7.0))
        return f(2.0)

    # (JAX's message names its tracer class, LinearizeTracer, where refjax's is a JVPTracer)
    _run(log, "grad closed", lambda: m.grad(outer)(3.0), message=False)
    _run(log, "eager closed", lambda: outer(3.0))


def symbolic_zeros(m: ModuleType, log: Log) -> None:
    zero_type = m.custom_derivatives.SymbolicZero

    @m.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return x * y

    @partial(f.defjvp, symbolic_zeros=True)
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x, y), (tx, ty) = primals, tangents
        log.append(("zeros", isinstance(tx, zero_type), isinstance(ty, zero_type)))
        if isinstance(ty, zero_type):
            log.append(("zero", ty.shape, str(ty.dtype)))
        out = f(x, y)
        t = 0.0 * out
        if not isinstance(tx, zero_type):
            t = t + tx * y
        if not isinstance(ty, zero_type):
            t = t + ty * x
        return out, t

    _run(log, "grad x", lambda: m.grad(f)(2.0, 3.0))
    _run(log, "grad y under jit", lambda: m.jit(m.grad(f, argnums=1))(2.0, 3.0))
    _run(log, "grad both", lambda: m.grad(f, argnums=(0, 1))(2.0, 3.0))

    @m.custom_jvp
    def g(x: Any) -> Any:
        return x * 2

    @partial(g.defjvp, symbolic_zeros=True)
    def g_jvp(primals: Any, tangents: Any) -> Any:
        return g(primals[0]), zero_type.from_primal_value(primals[0])

    _run(log, "a symbolic zero returned", lambda: m.grad(g)(1.0))
    _run(log, "zero_from_primal", lambda: m.custom_derivatives.zero_from_primal(
        m.numpy.ones(2)))


def vjp_symbolic_zeros(m: ModuleType, log: Log) -> None:
    """``custom_vjp`` with ``symbolic_zeros=True``: ``fwd`` sees which inputs are perturbed,
    ``bwd`` a ``SymbolicZero`` for each output cotangent known to be zero, under grad, jit,
    vmap and vjp."""
    zero_type = m.custom_derivatives.SymbolicZero
    np_ = m.numpy

    @m.custom_vjp
    def f(x: Any, y: Any) -> Any:
        return np_.sin(x) * y, x + y

    def f_fwd(x: Any, y: Any) -> Any:
        log.append(("fwd", type(x).__name__, x.perturbed, y.perturbed))
        return f(x.value, y.value), (x.value, y.value)

    def f_bwd(res: Any, cts: Any) -> Any:
        x, y = res
        ca, cb = cts
        log.append(("bwd", isinstance(ca, zero_type), isinstance(cb, zero_type)))
        if isinstance(ca, zero_type):
            log.append(("zero", ca.shape, str(ca.dtype)))
            return (cb, cb)
        if isinstance(cb, zero_type):
            return (np_.cos(x) * y * ca, None)
        return (np_.cos(x) * y * ca + cb, np_.sin(x) * ca + cb)

    f.defvjp(f_fwd, f_bwd, symbolic_zeros=True)
    x, y = np.float32(0.5), np.float32(2.0)
    first = lambda a, b: f(a, b)[0]  # noqa: E731
    _run(log, "eager", lambda: f(x, y))
    _run(log, "grad first", lambda: m.grad(first)(x, y))
    _run(log, "grad second", lambda: m.grad(lambda a, b: f(a, b)[1])(x, y))
    _run(log, "grad both", lambda: m.grad(lambda a, b: f(a, b)[0] + f(a, b)[1],
                                          argnums=(0, 1))(x, y))
    _run(log, "jit of grad", lambda: m.jit(m.grad(first))(x, y))
    _run(log, "grad of jit", lambda: m.grad(m.jit(first), argnums=1)(x, y))
    _run(log, "vmap of grad", lambda: m.vmap(m.grad(first))(np.ones(3, np.float32),
                                                            np.arange(3, dtype=np.float32)))
    _run(log, "grad of vmap", lambda: m.grad(lambda a: m.vmap(first)(a, a).sum())(
        np.arange(3, dtype=np.float32)))
    _run(log, "vjp", lambda: m.vjp(f, x, y)[1]((np.float32(1.0), np.float32(0.0))))
    _run(log, "jvp", lambda: m.jvp(lambda a: f(a, y), (x,), (np.float32(1.0),)))
    _run(log, "jacfwd", lambda: m.jacfwd(first)(x, y))


def printed(m: ModuleType, log: Log) -> None:
    """The call equations as JAX prints them (the function's and the rules' names)."""

    @m.custom_jvp
    def f(x: Any, y: Any) -> Any:
        return m.numpy.sin(x) * y

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), m.numpy.cos(x) * tx * y + m.numpy.sin(x) * ty

    @m.custom_vjp
    def g(x: Any) -> Any:
        return m.numpy.sin(x)

    def g_fwd(x: Any) -> Any:
        return m.numpy.sin(x), m.numpy.cos(x)

    def g_bwd(c: Any, ct: Any) -> Any:
        return (c * ct,)

    g.defvjp(g_fwd, g_bwd)

    @m.custom_jvp
    def h(x: Any) -> Any:
        return x * 3.0

    h.defjvps(lambda t, ans, x: 3.0 * t)
    x = np.float32(1.0)
    c = np.arange(3, dtype=np.float32)
    log.append(str(m.make_jaxpr(f)(x, 2.0)))
    log.append(str(m.make_jaxpr(g)(x)))
    log.append(str(m.make_jaxpr(m.grad(f))(x, 2.0)))
    log.append(str(m.make_jaxpr(m.jit(g))(x)))
    log.append(str(m.make_jaxpr(h)(x)))
    log.append(str(m.make_jaxpr(lambda a: f(a, m.numpy.asarray(c)))(x)))


def custom_jvp_on_tangents(m: ModuleType, log: Log) -> None:
    """A rule that applies the custom_jvp function to the tangents (linear in them): under
    grad the function is inlined into the linear part, so it transposes."""

    @m.custom_jvp
    def f(x: Any) -> Any:
        return 2 * x

    @f.defjvp
    def f_jvp(primals: Any, tangents: Any) -> Any:
        return f(primals[0]), f(tangents[0])

    x = np.ones(2, np.float32)
    _run(log, "grad", lambda: m.grad(lambda a: m.numpy.sum(f(a)))(x))
    _run(log, "vjp", lambda: m.vjp(f, x)[1](x * 3))
    _run(log, "jit of grad", lambda: m.jit(m.grad(lambda a: m.numpy.sum(f(a) ** 2)))(x))
    log.append(str(m.make_jaxpr(m.grad(lambda a: m.numpy.sum(f(a))))(x)))


SCENARIOS = [custom_jvp_with_control_flow, custom_jvp_rules, custom_vjp_runs,
             custom_jvp_on_tangents, closed_over_tracers, symbolic_zeros, vjp_symbolic_zeros,
             printed]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_custom_derivatives_evaluate_as_jax(scenario: Callable[[ModuleType, Log], None]) -> None:
    theirs: Log = []
    scenario(jax.load(), theirs)
    ours: Log = []
    scenario(refjax, ours)
    assert ours == theirs
