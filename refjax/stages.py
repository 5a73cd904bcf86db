"""Every stage of refjax's pipeline as data: what a learner reads next to the source.

Each function here runs one interpreter of ``refjax/interp/`` (or the fusion compiler of
``refjax/backends/kernels/``) on a function's traced jaxpr and returns what it produced, in
frozen records: the traced jaxpr (:func:`traced`), its JVP (:func:`jvp_stage`), linearize's
split into a known and a linear jaxpr with the residuals between them named
(:func:`linearize_stage`), the transposed linear jaxpr (:func:`vjp_stage`,
:func:`transpose_stage`), the batched jaxpr (:func:`vmap_stage`), the traced jaxpr of ``grad``
(:func:`grad_stage`), the fusion plan with every kernel's buffers named by the jaxpr's variables
(:func:`fusion_plan`), and the source of every kernel in OpenCL C or CUDA C++
(:func:`kernel_sources`). Nothing needs a device: every stage is traced on avals, and kernels
are rendered from the plan, not compiled. ``refjax.explain`` only prints these records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from refjax import tree_util
from refjax.api import abstractify, arg_names, grad, make_jaxpr
from refjax.interp.batching import batch_jaxpr
from refjax.interp.core import (
    Atom,
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    ShapedArray,
    Var,
    printed_names,
)
from refjax.interp.core import (
    Literal as JaxprLiteral,
)
from refjax.interp.jvp import jvp_jaxpr
from refjax.interp.partial_eval import dce_closed_jaxpr, partial_eval_jaxpr
from refjax.interp.staging import debug_info, inline_calls, trace_to_jaxpr
from refjax.interp.transpose import transpose_jaxpr

if TYPE_CHECKING:  # (the kernel compiler is imported when a plan is made, not with refjax)
    from refjax.backends.kernels.fusion import FusionOptions, Plan, Provenance
    from refjax.backends.kernels.ir import Kernel

PyTree: TypeAlias = Any
BackendName: TypeAlias = Literal["opencl", "cuda"]

BACKENDS: Final[tuple[BackendName, ...]] = ("opencl", "cuda")


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def backend_options(backend: BackendName) -> FusionOptions:
    """The fusion options a kernel backend plans with, as far as a plan's kernels go: an OpenCL
    GPU's (a CPU device, PoCL, picks register blocks and lanes when it starts: the same kernels,
    rendered in vectors), and CUDA's, whose matmuls are cuBLAS calls (``backends/cuda.py``)."""
    from refjax.backends.kernels.fusion import FusionOptions

    _check_backend(backend)
    return FusionOptions() if backend == "opencl" else FusionOptions(fp64=True,
                                                                     matmul_kernels=False)


# ---------------------------------------------------------------------------------------------
# Names: the variables of a jaxpr as its printer names them


def var_names(jaxpr: Jaxpr | ClosedJaxpr) -> dict[Var, str]:
    """The name ``str(jaxpr)`` gives each variable it prints (``a``, ``b``, ...)."""
    return printed_names(jaxpr).names


def _atom_name(atom: Atom, names: Mapping[Var, str]) -> str:
    return repr(atom) if isinstance(atom, JaxprLiteral) else names.get(atom, "_")


# ---------------------------------------------------------------------------------------------
# Tracing


def traced(f: Callable[..., Any], *args: PyTree, **kwargs: PyTree) -> ClosedJaxpr:
    """The jaxpr of ``f`` traced on the avals of ``args`` and ``kwargs`` (pytrees flattened,
    positional leaves first, as ``make_jaxpr``; a :class:`ShapeDtypeStruct` stands for an
    array)."""
    flat, in_tree = tree_util.tree_flatten((args, kwargs))

    def flat_fun(*leaves: Any) -> list[Any]:
        a, kw = tree_util.tree_unflatten(in_tree, list(leaves))
        out_flat: list[Any] = tree_util.tree_leaves(f(*a, **kw))
        return out_flat

    names = arg_names(f, args) + [
        "kwargs" + tree_util.keystr(path)
        for path, _ in tree_util.tree_flatten_with_path(kwargs)[0]
    ]
    return trace_to_jaxpr(flat_fun, [abstractify(x) for x in flat],
                          debug_info(f, "make_jaxpr", names))


# ---------------------------------------------------------------------------------------------
# Forward mode, linearize, transpose


@dataclass(frozen=True, slots=True)
class JvpStage:
    """The JVP of ``traced`` (``interp/jvp.py``'s ``jvp_jaxpr``): primals, then a tangent for
    each input marked in ``nonzeros`` (the float ones), in; primal outputs, then every output's
    tangent, out."""

    traced: ClosedJaxpr
    jaxpr: ClosedJaxpr
    nonzeros: tuple[bool, ...]


def _differentiable(aval: ShapedArray) -> bool:
    return aval.dtype.kind in "fc"


def jvp_of(closed: ClosedJaxpr) -> JvpStage:
    """:class:`JvpStage` of a traced jaxpr: tangents for its float inputs."""
    nonzeros = tuple(_differentiable(a) for a in closed.in_avals)
    return JvpStage(closed, jvp_jaxpr(closed, nonzeros), nonzeros)


def jvp_stage(f: Callable[..., Any], *args: PyTree, **kwargs: PyTree) -> JvpStage:
    """The JVP jaxpr of ``f`` at the avals of its arguments (as ``make_jaxpr`` of ``jvp``)."""
    return jvp_of(traced(f, *args, **kwargs))


@dataclass(frozen=True, slots=True)
class Residual:
    """A value the linear jaxpr needs from the known one: ``known`` (an output of the known
    jaxpr, named ``known_name`` there) becomes input ``linear`` (``linear_name``) of the linear
    jaxpr; ``defined_by`` is the known jaxpr's equation computing it, without its params
    (``d = cos a``), or ``input b``, ``constant c``, ``a literal``."""

    known: Atom
    known_name: str
    linear: Var
    linear_name: str
    aval: ShapedArray
    defined_by: str


@dataclass(frozen=True, slots=True)
class LinearizeStage:
    """Linearize as partial evaluation of the JVP jaxpr (``interp/partial_eval.py``'s
    ``partial_eval_jaxpr``) with the primals known and the tangents unknown: ``known`` maps
    the primals to the primal outputs and then the residuals; ``linear`` maps the residuals and
    then the input tangents to the output tangents (as JAX's ``partial_eval_jaxpr_nounits``),
    pruned of dead code as ``linearize`` prunes it (``dce_jaxpr``; every input stays).
    """

    jvp: JvpStage
    known: ClosedJaxpr
    linear: ClosedJaxpr
    residuals: tuple[Residual, ...]
    num_primal_outputs: int

    @property
    def linear_with_residuals_as_constants(self) -> Jaxpr:
        """``linear`` with the residuals as constvars, as ``make_jaxpr`` of the function
        ``linearize`` returns shows it (its constants are the residuals' values)."""
        return residuals_as_constants(self.linear.jaxpr, len(self.residuals))


def residuals_as_constants(jaxpr: Jaxpr, n_residuals: int) -> Jaxpr:
    """``jaxpr``, whose first ``n_residuals`` inputs are residuals, with those as constvars in
    the order the equations first read them, the unread ones dropped: the jaxpr a trace of
    the function that closes over them shows (the residuals are constants there, met as the
    equations are traced)."""
    residuals = set(jaxpr.invars[:n_residuals])
    order: list[Var] = []
    reads = [a for e in jaxpr.eqns for a in e.invars] + list(jaxpr.outvars)
    for atom in reads:
        if isinstance(atom, Var) and atom in residuals and atom not in order:
            order.append(atom)
    return Jaxpr(tuple(order), jaxpr.invars[n_residuals:], jaxpr.outvars, jaxpr.eqns)


def linearize_of(closed: ClosedJaxpr) -> LinearizeStage:
    """:class:`LinearizeStage` of a traced jaxpr."""
    jvp = jvp_of(closed)
    n_in, n_out = len(closed.in_avals), len(closed.out_avals)
    unknowns = [False] * n_in + [True] * sum(jvp.nonzeros)
    known, linear, _, n_res = partial_eval_jaxpr(
        jvp.jaxpr, unknowns, instantiate=[False] * n_out + [True] * n_out
    )
    # As linearize: the linear jaxpr keeps only what its outputs need (every input stays).
    linear, _ = dce_closed_jaxpr(linear, True, instantiate=True, cache=False)
    n_known_outs = len(known.out_avals) - n_res
    known_names, linear_names = printed_names(known), var_names(linear)
    defined = {v: e for e in known.jaxpr.eqns for v in e.outvars}
    residuals = []
    for atom, var in zip(known.jaxpr.outvars[n_known_outs:], linear.jaxpr.invars[:n_res],
                         strict=True):
        residuals.append(Residual(
            atom, _atom_name(atom, known_names.names), var, linear_names.get(var, "_"),
            atom.aval, _defined_by(atom, defined, known.jaxpr, known_names.names),
        ))
    return LinearizeStage(jvp, known, linear, tuple(residuals), n_known_outs)


def _defined_by(atom: Atom, defined: Mapping[Var, JaxprEqn], jaxpr: Jaxpr,
                names: Mapping[Var, str]) -> str:
    if isinstance(atom, JaxprLiteral):
        return "a literal"
    if atom in defined:
        return short_eqn(defined[atom], names)
    kind = "input" if atom in jaxpr.invars else "constant"
    return f"{kind} {names.get(atom, '_')}"


def short_eqn(eqn: JaxprEqn, names: Mapping[Var, str]) -> str:
    """``c = sin a``: an equation on one line, without its params and types (``names`` as
    :func:`var_names` gives them)."""
    outs = " ".join(names.get(v, "_") for v in eqn.outvars)
    ins = " ".join(_atom_name(a, names) for a in eqn.invars)
    return f"{outs} = {eqn.primitive.name} {ins}".rstrip()


def linearize_stage(f: Callable[..., Any], *args: PyTree, **kwargs: PyTree) -> LinearizeStage:
    """The known/linear split of ``f``'s JVP at the avals of its arguments."""
    return linearize_of(traced(f, *args, **kwargs))


def transpose_stage(linear: ClosedJaxpr, undefined: Sequence[bool]) -> ClosedJaxpr:
    """The transpose of a jaxpr linear in the inputs marked ``undefined``
    (``interp/transpose.py``'s ``transpose_jaxpr``): the defined inputs, then a cotangent per
    output, in; a cotangent per undefined input, out."""
    return transpose_jaxpr(linear, tuple(undefined))


@dataclass(frozen=True, slots=True)
class VjpStage:
    """Reverse mode, ``vjp = linearize + transpose``: ``backward`` maps the residuals, then a
    cotangent per output, to a cotangent per input tangent of ``linearize.linear``."""

    linearize: LinearizeStage
    backward: ClosedJaxpr

    @property
    def backward_with_residuals_as_constants(self) -> Jaxpr:
        """``backward`` with the residuals as constvars, as ``make_jaxpr`` of the function
        ``vjp`` returns shows it."""
        return residuals_as_constants(self.backward.jaxpr, len(self.linearize.residuals))


def vjp_of(closed: ClosedJaxpr) -> VjpStage:
    """:class:`VjpStage` of a traced jaxpr."""
    lin = linearize_of(closed)
    n_res = len(lin.residuals)
    undefined = [False] * n_res + [True] * (len(lin.linear.in_avals) - n_res)
    return VjpStage(lin, transpose_stage(lin.linear, undefined))


def vjp_stage(f: Callable[..., Any], *args: PyTree, **kwargs: PyTree) -> VjpStage:
    """The backward jaxpr of ``f`` at the avals of its arguments."""
    return vjp_of(traced(f, *args, **kwargs))


def grad_stage(f: Callable[..., Any], *args: PyTree, **kwargs: PyTree) -> ClosedJaxpr:
    """The jaxpr of ``grad(f)`` (the derivative in the first argument): the forward pass and
    the backward pass, with a cotangent of one, in one program (``make_jaxpr(grad(f))``)."""
    positional = list(args)
    kw_tree = tree_util.tree_structure(kwargs)
    n_kw = kw_tree.num_leaves

    def g(*flat: Any) -> Any:
        kw = tree_util.tree_unflatten(kw_tree, list(flat[len(flat) - n_kw:]))
        return f(*flat[: len(flat) - n_kw], **kw)

    closed: ClosedJaxpr = make_jaxpr(grad(g))(*positional, *tree_util.tree_leaves(kwargs))
    return closed


# ---------------------------------------------------------------------------------------------
# Batching


@dataclass(frozen=True, slots=True)
class BatchedStage:
    """``vmap``: ``unbatched`` is the function traced on one slice of its arguments, ``batched``
    (``interp/batching.py``'s ``batch_jaxpr``) the same on batches of ``size`` along
    ``in_dims`` (None: not mapped), every output batched along axis 0."""

    unbatched: ClosedJaxpr
    batched: ClosedJaxpr
    in_dims: tuple[int | None, ...]
    size: int


def vmap_stage(
    f: Callable[..., Any], in_axes: Any = 0, *args: PyTree, **kwargs: PyTree
) -> BatchedStage:
    """The batched jaxpr of ``vmap(f, in_axes)`` on ``args`` (keyword arguments mapped along
    axis 0, as ``vmap`` maps them)."""
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    tree = (args, kwargs)
    flat, in_tree = tree_util.tree_flatten(tree)
    dims: list[int | None] = tree_util.broadcast_prefix(
        (in_axes, 0), tree, is_leaf=lambda x: x is None
    )
    avals = [abstractify(x) for x in flat]
    dims = [None if d is None else d % max(a.ndim, 1) for d, a in zip(dims, avals, strict=True)]
    sizes = {a.shape[d] for a, d in zip(avals, dims, strict=True) if d is not None}
    if len(sizes) != 1:
        raise ValueError(f"vmap_stage: the mapped axes must have one size, got {sorted(sizes)}")
    slices = [
        a if d is None else a.update(shape=a.shape[:d] + a.shape[d + 1:])
        for a, d in zip(avals, dims, strict=True)
    ]

    def flat_fun(*leaves: Any) -> list[Any]:
        a, kw = tree_util.tree_unflatten(in_tree, list(leaves))
        out_flat: list[Any] = tree_util.tree_leaves(f(*a, **kw))
        return out_flat

    unbatched = trace_to_jaxpr(flat_fun, slices, debug_info(f, "vmap", []))
    size = sizes.pop()
    return BatchedStage(unbatched, batch_jaxpr(unbatched, tuple(dims), size), tuple(dims), size)


# ---------------------------------------------------------------------------------------------
# Fusion: the plan of kernels, named by the jaxpr's variables


StepKind: TypeAlias = Literal["kernel", "host", "reshape"]


@dataclass(frozen=True, slots=True)
class StepView:
    """One step of a fusion plan: a ``kernel`` launch, a ``host`` step (a primitive without a
    kernel form, or control flow around compiled bodies), or a ``reshape`` (no data moves).
    ``inputs`` and ``outputs`` name the buffers by the jaxpr's variables (``tmp7``: a buffer
    no variable holds, ``const7``: a literal made a buffer); ``equations`` are the positions in
    the planned jaxpr of the equations it computes (a value used twice may be recomputed in
    two kernels). Bytes are those the step reads and writes, as the profiler counts them."""

    index: int
    kind: StepKind
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_avals: tuple[ShapedArray, ...]
    output_avals: tuple[ShapedArray, ...]
    equations: tuple[int, ...]
    bytes_read: int
    bytes_written: int
    kernel: Kernel | None


@dataclass(frozen=True, slots=True)
class FusionPlanView:
    """A fusion plan (``backends/kernels/fusion.py``) for ``backend``, each step's buffers named
    by the variables of ``jaxpr``: the jaxpr planned, its calls (``jit``, ``custom_jvp`` ...)
    inlined (the traced jaxpr itself when it has none); ``inputs``, ``constants`` (uploaded when
    the program is built) and ``outputs`` name the plan's buffers in and out, as the steps do.
    ``plan`` is the compiler's own."""

    backend: BackendName
    jaxpr: ClosedJaxpr
    steps: tuple[StepView, ...]
    inputs: tuple[str, ...]
    constants: tuple[str, ...]
    outputs: tuple[str, ...]
    plan: Plan

    def kernels(self) -> list[StepView]:
        """The kernel launches, in order."""
        return [s for s in self.steps if s.kind == "kernel"]

    @property
    def bytes_read(self) -> int:
        """Bytes read by every step together."""
        return sum(s.bytes_read for s in self.steps)

    @property
    def bytes_written(self) -> int:
        """Bytes written by every step together."""
        return sum(s.bytes_written for s in self.steps)


def fusion_plan(
    closed: ClosedJaxpr, backend: BackendName = "opencl", options: FusionOptions | None = None
) -> FusionPlanView:
    """The kernels ``backend`` would compile for ``closed`` (with ``options``, else the
    backend's: :func:`backend_options`), named by the jaxpr's variables."""
    from refjax.backends.kernels import fusion
    from refjax.backends.kernels.fusion import KernelStep, PrimitiveStep

    _check_backend(backend)
    options = backend_options(backend) if options is None else options
    planned = inline_calls(closed, fusion._CALLS)  # (the calls the planner inlines)
    plan = fusion.plan(planned, options)
    names = var_names(planned)
    provenance = plan.provenance
    slot_vars = provenance.slots if provenance is not None else ((),) * len(plan.slots)
    position = _positions(planned.jaxpr, provenance)
    constants = {slot for slot, _ in plan.constants}

    def slot_name(slot: int) -> str:
        named = [v for v in slot_vars[slot] if v in names]
        if named:
            return names[named[0]]
        return f"const{slot}" if slot in constants else f"tmp{slot}"

    def nbytes(slot: int) -> int:
        aval = plan.slots[slot]
        return aval.size * aval.dtype.itemsize

    steps = []
    for k, step in enumerate(plan.steps):
        kernel: Kernel | None = None
        if isinstance(step, KernelStep):
            kind: StepKind = "kernel"
            name, ins, outs, kernel = step.kernel.name, step.inputs, step.outputs, step.kernel
        elif isinstance(step, PrimitiveStep):
            kind, name, ins, outs = "host", step.primitive.name, step.inputs, step.outputs
        else:
            kind, name, ins, outs = "reshape", "reshape", (step.input,), (step.output,)
        computed = provenance.steps[k] if provenance is not None else ()
        moves = kind != "reshape"
        steps.append(StepView(
            k, kind, name, tuple(slot_name(s) for s in ins), tuple(slot_name(s) for s in outs),
            tuple(plan.slots[s] for s in ins), tuple(plan.slots[s] for s in outs),
            tuple(sorted({position[p] for p in computed if p in position})),
            sum(nbytes(s) for s in ins) if moves else 0,
            sum(nbytes(s) for s in outs) if moves else 0,
            kernel,
        ))
    return FusionPlanView(
        backend, planned, tuple(steps), tuple(slot_name(s) for s in plan.inputs),
        tuple(slot_name(s) for s, _ in plan.constants),
        tuple(slot_name(s) for s in plan.outputs), plan,
    )


def _positions(jaxpr: Jaxpr, provenance: Provenance | None) -> dict[int, int]:
    """Each position of the planner's equations -> the position of the same equation in
    ``jaxpr`` (the planner saw it pruned of dead code: a pruned higher-order equation is a new
    one with some of the same results)."""
    if provenance is None:
        return {}
    by_id = {id(e): i for i, e in enumerate(jaxpr.eqns)}
    by_out = {v: i for i, e in enumerate(jaxpr.eqns) for v in e.outvars}
    out = {}
    for p, eqn in enumerate(provenance.equations):
        i = by_id.get(id(eqn))
        if i is None:
            i = next((by_out[v] for v in eqn.outvars if v in by_out), None)
        if i is not None:
            out[p] = i
    return out


def kernel_kind(kernel: Kernel) -> str:
    """``map``, ``reduce`` or ``matmul``: the skeleton a kernel is rendered with."""
    from refjax.backends.kernels.ir import MapKernel, MatmulKernel

    if isinstance(kernel, MapKernel):
        return "map"
    return "matmul" if isinstance(kernel, MatmulKernel) else "reduce"


# ---------------------------------------------------------------------------------------------
# Code generation


@dataclass(frozen=True, slots=True)
class KernelSource:
    """The source of the kernel of plan step ``step``, in ``dialect``, as rendered by
    ``backends/kernels/render.py`` (not compiled: no device is needed)."""

    step: int
    name: str
    dialect: str
    source: str


def kernel_sources(
    closed: ClosedJaxpr | FusionPlanView, dialect: BackendName = "opencl"
) -> tuple[KernelSource, ...]:
    """The source of every kernel of ``closed``'s fusion plan for the ``dialect`` backend (or
    of the kernels of a plan already made), in launch order."""
    from refjax.backends.kernels.dialects import DIALECTS
    from refjax.backends.kernels.render import render

    if dialect not in DIALECTS:
        raise ValueError(f"kernel_sources: dialect must be one of {sorted(DIALECTS)}, "
                         f"got {dialect!r}")
    view = closed if isinstance(closed, FusionPlanView) else fusion_plan(closed, dialect)
    out = []
    for step in view.kernels():
        assert step.kernel is not None
        out.append(KernelSource(step.index, step.name, dialect,
                                render(step.kernel, DIALECTS[dialect]).source))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Every stage at once (what ``refjax.explain`` prints)


Transform: TypeAlias = Literal["grad", "vmap", "jvp", "linearize", "vjp", "jit"]
TRANSFORMS: Final[tuple[str, ...]] = ("grad", "vmap", "jvp", "linearize", "vjp", "jit")


@dataclass(frozen=True, slots=True)
class Compiled:
    """What a kernel backend makes of ``jaxpr`` (the last stage shown): its plan, and the
    source of its kernels in the backend's dialect."""

    plan: FusionPlanView
    sources: tuple[KernelSource, ...]


@dataclass(frozen=True, slots=True)
class Stages:
    """The stages of one function under one transformation (None where not shown): which
    jaxpr the backends compile is ``compiled_jaxpr`` (``compiled_from`` names the stage)."""

    transform: str | None
    traced: ClosedJaxpr
    jvp: JvpStage | None
    linearize: LinearizeStage | None
    vjp: VjpStage | None
    grad: ClosedJaxpr | None
    vmap: BatchedStage | None
    compiled_from: str
    compiled_jaxpr: ClosedJaxpr
    compiled: tuple[Compiled, ...]


def all_stages(
    f: Callable[..., Any],
    *args: PyTree,
    transform: Transform | None = None,
    backend: BackendName | None = None,
    **kwargs: PyTree,
) -> Stages:
    """Every stage of ``f`` on ``args`` under ``transform``: the traced jaxpr; for ``jvp``,
    ``linearize``, ``vjp`` and ``grad`` the stages of differentiation up to it (``None``: all
    of them, when an input is a float); for ``vmap`` the batched jaxpr (``args`` batched along
    axis 0); then the plan and kernels of the last jaxpr, for ``backend`` (None: both)."""
    if transform is not None and transform not in TRANSFORMS:
        raise ValueError(f"transform must be None or one of {TRANSFORMS}, got {transform!r}")
    backends: tuple[BackendName, ...] = BACKENDS if backend is None else (backend,)
    vmap = vmap_stage(f, 0, *args, **kwargs) if transform == "vmap" else None
    closed = vmap.unbatched if vmap is not None else traced(f, *args, **kwargs)
    differentiate = transform in ("jvp", "linearize", "vjp", "grad") or (
        transform is None and any(_differentiable(a) for a in closed.in_avals))
    vjp = vjp_of(closed) if differentiate and transform in (None, "vjp", "grad") else None
    lin = vjp.linearize if vjp is not None else (
        linearize_of(closed) if transform == "linearize" else None)
    jvp = lin.jvp if lin is not None else (jvp_of(closed) if transform == "jvp" else None)
    grad_jaxpr = grad_stage(f, *args, **kwargs) if transform == "grad" else None
    last: tuple[str, ClosedJaxpr] = ("traced", closed)
    if vmap is not None:
        last = ("vmap", vmap.batched)
    elif grad_jaxpr is not None:
        last = ("grad", grad_jaxpr)
    elif transform == "vjp" and vjp is not None:
        last = ("vjp", vjp.backward)
    elif transform == "linearize" and lin is not None:
        last = ("linearize", lin.linear)
    elif transform == "jvp" and jvp is not None:
        last = ("jvp", jvp.jaxpr)
    compiled = []
    for name in backends:
        view = fusion_plan(last[1], name)
        compiled.append(Compiled(view, kernel_sources(view, name)))
    return Stages(transform, closed, jvp, lin, vjp, grad_jaxpr, vmap, last[0], last[1],
                  tuple(compiled))
