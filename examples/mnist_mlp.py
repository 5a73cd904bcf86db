"""Train an MLP classifier on handwritten digits with refjax: ``jit(value_and_grad)`` SGD steps.

The default data, scikit-learn's 8x8 digits, needs nothing downloaded; ``--data DIR`` reads
MNIST's four IDX files (``train-images-idx3-ubyte[.gz]`` ...) instead. Each epoch draws a
permutation of the training set from a key split off ``--seed`` (``refjax.random``, Threefry,
bit for bit JAX's), walks it in minibatches of ``--batch-size`` (the last, partial one is left
out, so one compiled step serves every batch), and measures the accuracy on the held-out split.

The model, the loss and the update are written once against a :class:`Framework` (a numpy
namespace, ``random``, ``jit`` and ``value_and_grad``): built from refjax by default, or from real
JAX (``--framework jax``), the identical loop runs with the same keys and the same batch order,
so the two give the same losses to float32 rounding. The same seed gives the same losses, bit
for bit on the numpy backend.

Run: ``.venv/bin/python examples/mnist_mlp.py [--epochs 10] [--optimizer sgd|momentum]
[--backend numpy|opencl|cuda] [--plot curve.png] [--data DIR]``. Tests and benchmarks call
:func:`train` with a :class:`Config`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Literal

import numpy as np
from digits_data import Dataset, IdxFormatError, load_dataset
from example_backend import BACKEND_ENV, BACKENDS, using_backend
from numpy.typing import NDArray

ArrayT = Any  # an array of the framework in use: refjax.Array or jax.Array
Params = list[tuple[ArrayT, ArrayT]]  # (weights, bias) per layer
OptState = tuple[()] | Params  # nothing for SGD; the velocity for momentum
Step = Callable[[Params, OptState, ArrayT, ArrayT], tuple[Params, OptState, ArrayT]]
Optimizer = Literal["sgd", "momentum"]

DEFAULT_LR: Final[dict[Optimizer, float]] = {"sgd": 0.1, "momentum": 0.01}


@dataclass(frozen=True, slots=True)
class Framework:
    """What the training loop needs from an array library: refjax's, or real JAX's."""

    name: str
    np_: ModuleType
    random: ModuleType
    jit: Callable[..., Any]
    value_and_grad: Callable[..., Any]

    @classmethod
    def from_refjax(cls) -> Framework:
        """refjax: ``refjax.numpy``, ``refjax.random``, ``refjax.jit`` ..."""
        import refjax
        import refjax.numpy

        return cls("refjax", refjax.numpy, refjax.random, refjax.jit, refjax.value_and_grad)

    @classmethod
    def from_jax(cls) -> Framework:
        """Real JAX, the same names (an ImportError if JAX is not installed)."""
        import jax
        import jax.numpy

        return cls("jax", jax.numpy, jax.random, jax.jit, jax.value_and_grad)


@dataclass(frozen=True, slots=True)
class Config:
    """A training run: the data, the model, the optimiser and how it is shown."""

    data: Path | None = None  # a directory of MNIST's IDX files; None: the 8x8 digits
    hidden: tuple[int, ...] = (128,)
    epochs: int = 10
    batch_size: int = 32
    lr: float | None = None  # None: DEFAULT_LR[optimizer]
    optimizer: Optimizer = "sgd"
    momentum: float = 0.9
    seed: int = 0
    backend: str | None = None  # refjax's backend; None: REFJAX_BACKEND, else numpy
    progress: bool = True

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimiser's default."""
        return DEFAULT_LR[self.optimizer] if self.lr is None else self.lr


@dataclass(slots=True)
class History:
    """What a run measured: the loss of every step, and per epoch the accuracy and time."""

    losses: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)  # mean over the epoch's steps
    test_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # the first includes compiling
    steps_per_epoch: int = 0
    batch_size: int = 0

    @property
    def final_accuracy(self) -> float:
        """The held-out accuracy after the last epoch."""
        return self.test_accuracy[-1]

    def examples_per_second(self, epoch: int = -1) -> float:
        """Training throughput during one epoch (the last by default)."""
        return self.steps_per_epoch * self.batch_size / self.epoch_seconds[epoch]


# ---------------------------------------------------------------------------------------------
# The model, written once against a Framework


def init_params(fw: Framework, key: ArrayT, sizes: tuple[int, ...]) -> Params:
    """Glorot-uniform weights and zero biases (uniform bits are the same in refjax and JAX)."""
    params: Params = []
    keys = fw.random.split(key, len(sizes) - 1)
    for layer_key, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        limit = np.float32(math.sqrt(6.0 / (fan_in + fan_out)))
        u = fw.random.uniform(layer_key, (fan_in, fan_out), fw.np_.float32)
        params.append(((u * 2 - 1) * limit, fw.np_.zeros(fan_out, fw.np_.float32)))
    return params


def logits(fw: Framework, params: Params, x: ArrayT) -> ArrayT:
    """The MLP: relu hidden layers, a linear output layer."""
    for w, b in params[:-1]:
        x = fw.np_.maximum(x @ w + b, 0.0)
    w, b = params[-1]
    return x @ w + b


def loss_fn(fw: Framework, params: Params, x: ArrayT, y: ArrayT) -> ArrayT:
    """Mean softmax cross-entropy against integer labels ``y``."""
    np_ = fw.np_
    z = logits(fw, params, x)
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np_.log(np_.exp(shifted).sum(axis=1, keepdims=True))
    onehot = (y[:, None] == np_.arange(z.shape[1])).astype(np_.float32)
    return -(logp * onehot).sum() / x.shape[0]


def init_opt_state(fw: Framework, params: Params, optimizer: Optimizer) -> OptState:
    """The optimiser's state: nothing for SGD, a zero velocity per parameter for momentum."""
    if optimizer == "sgd":
        return ()
    return [(fw.np_.zeros_like(w), fw.np_.zeros_like(b)) for w, b in params]


def make_step(fw: Framework, config: Config) -> Step:
    """``jit`` of one update: ``(params, state, x, y) -> (params, state, loss)``."""
    lr, mu = np.float32(config.learning_rate), np.float32(config.momentum)

    def step(params: Params, state: OptState, x: ArrayT, y: ArrayT
             ) -> tuple[Params, OptState, ArrayT]:
        loss, grads = fw.value_and_grad(lambda p: loss_fn(fw, p, x, y))(params)
        if config.optimizer == "momentum":
            state = [(mu * vw + gw, mu * vb + gb)
                     for (vw, vb), (gw, gb) in zip(state, grads, strict=True)]
            grads = state
        params = [(w - lr * gw, b - lr * gb)
                  for (w, b), (gw, gb) in zip(params, grads, strict=True)]
        return params, state, loss

    jitted: Step = fw.jit(step)
    return jitted


def make_predict(fw: Framework) -> Callable[[Params, ArrayT], ArrayT]:
    """``jit`` of the predicted class of each row."""
    predict: Callable[[Params, ArrayT], ArrayT] = fw.jit(
        lambda params, x: fw.np_.argmax(logits(fw, params, x), axis=1))
    return predict


# ---------------------------------------------------------------------------------------------
# The loop


def train(config: Config, data: Dataset | None = None,
          framework: Framework | None = None) -> History:
    """Train the MLP as ``config`` says on ``data`` (loaded from ``config.data`` if None)."""
    data = load_dataset(config.data) if data is None else data
    fw = Framework.from_refjax() if framework is None else framework
    backend = config.backend if fw.name == "refjax" else None
    with using_backend(backend):
        return _train(fw, config, data)


def _train(fw: Framework, config: Config, data: Dataset) -> History:
    n = len(data.x_train)
    steps = n // config.batch_size
    if steps == 0:
        raise ValueError(f"batch size {config.batch_size} is larger than the {n} training "
                         "examples")
    init_key, shuffle_key = fw.random.split(fw.random.PRNGKey(config.seed))
    params = init_params(fw, init_key, (data.features, *config.hidden, data.num_classes))
    state = init_opt_state(fw, params, config.optimizer)
    step, predict = make_step(fw, config), make_predict(fw)
    history = History(steps_per_epoch=steps, batch_size=config.batch_size)
    for epoch in range(config.epochs):
        shuffle_key, epoch_key = fw.random.split(shuffle_key)
        order = np.asarray(fw.random.permutation(epoch_key, n))
        bar = _progress(config, epoch, steps)
        start = time.perf_counter()

        def show(i: int, loss: float, bar: Any = bar, start: float = start) -> None:
            rate = (i + 1) * config.batch_size / (time.perf_counter() - start)
            bar.set_postfix({"loss": f"{loss:.4f}", "ex/s": f"{rate:.0f}"}, refresh=False)
            bar.update()

        params, state, losses = run_epoch(step, params, state, data, order, config.batch_size,
                                          None if bar is None else show)
        history.epoch_seconds.append(time.perf_counter() - start)
        history.losses += losses
        history.epoch_loss.append(sum(losses) / steps)
        predicted = np.asarray(predict(params, data.x_test))
        history.test_accuracy.append(float((predicted == data.y_test).mean()))
        if bar is not None:
            bar.set_postfix({"loss": f"{history.epoch_loss[-1]:.4f}",
                             "ex/s": f"{history.examples_per_second():.0f}",
                             "test acc": f"{history.final_accuracy:.3f}"})
            bar.close()
    return history


def run_epoch(step: Step, params: Params, state: OptState, data: Dataset,
              order: NDArray[np.integer[Any]], batch_size: int,
              on_step: Callable[[int, float], None] | None = None
              ) -> tuple[Params, OptState, list[float]]:
    """One pass over the training examples in ``order``, in whole batches: the new parameters
    and optimiser state, and each step's loss (``on_step(i, loss)`` after step ``i``)."""
    losses: list[float] = []
    for i in range(len(order) // batch_size):
        batch = order[i * batch_size:(i + 1) * batch_size]
        params, state, loss = step(params, state, data.x_train[batch], data.y_train[batch])
        losses.append(float(loss))
        if on_step is not None:
            on_step(i, losses[-1])
    return params, state, losses


def _progress(config: Config, epoch: int, steps: int) -> Any:
    """A tqdm bar for one epoch, or None when progress is off or tqdm is not installed."""
    if not config.progress:
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed
    except ImportError:
        return None
    return tqdm(total=steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="step",
                file=sys.stderr, dynamic_ncols=True)


# ---------------------------------------------------------------------------------------------
# The curve


def check_matplotlib() -> None:
    """An ImportError saying what to install, if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install matplotlib (or refjax's "
                          "'examples' extra)") from None


def plot_history(history: History, path: str | Path, title: str = "") -> None:
    """Write the loss (per step and per epoch) and the held-out accuracy as a PNG at ``path``."""
    check_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    steps = np.arange(1, len(history.losses) + 1) / history.steps_per_epoch
    epochs = np.arange(1, len(history.epoch_loss) + 1)
    left.plot(steps, history.losses, color="tab:blue", alpha=0.3, lw=0.8, label="per step")
    left.plot(epochs - 0.5, history.epoch_loss, "o-", color="tab:blue", label="epoch mean")
    left.set(xlabel="epoch", ylabel="training loss", yscale="log")
    left.legend()
    right.plot(epochs, history.test_accuracy, "o-", color="tab:green")
    right.set(xlabel="epoch", ylabel="held-out accuracy", ylim=(0, 1))
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # (build/ in a fresh clone)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# The command line


def parse_args(argv: list[str] | None = None) -> tuple[Config, str, Path | None]:
    """The command line as a Config, the framework's name and the plot's path."""
    summary = (__doc__ or "").strip().splitlines()[0]
    parser = argparse.ArgumentParser(description=summary)
    defaults = Config()
    parser.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help="a directory of MNIST IDX files (default: scikit-learn's 8x8 "
                             "digits)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs,
                        help="passes over the training split (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="examples per step (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default: 0.1 for sgd, 0.01 for momentum)")
    parser.add_argument("--optimizer", choices=("sgd", "momentum"), default=defaults.optimizer,
                        help="plain SGD or SGD with momentum (default: %(default)s)")
    parser.add_argument("--momentum", type=float, default=defaults.momentum,
                        help="the momentum coefficient (default: %(default)s)")
    parser.add_argument("--hidden", type=_sizes, default=defaults.hidden, metavar="N[,N...]",
                        help="hidden layer sizes (default: 128)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="the PRNG seed: initial weights and batch order (default: "
                             "%(default)s)")
    parser.add_argument("--backend", choices=BACKENDS, default=os.environ.get(BACKEND_ENV),
                        help=f"refjax's backend (default: ${BACKEND_ENV}, else numpy)")
    parser.add_argument("--framework", choices=("refjax", "jax"), default="refjax",
                        help="run the same loop on real JAX instead")
    parser.add_argument("--plot", type=Path, default=None, metavar="PATH",
                        help="write the loss and accuracy curves as a PNG (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    config = replace(defaults, data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                     lr=args.lr, optimizer=args.optimizer, momentum=args.momentum,
                     hidden=args.hidden, seed=args.seed, backend=args.backend,
                     progress=not args.no_progress)
    return config, args.framework, args.plot


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive: {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    """Train, print the result, and write the curve if asked; 2 on bad data or set-up."""
    config, framework_name, plot = parse_args(argv)
    prog = Path(sys.argv[0]).name
    try:
        if plot is not None:
            check_matplotlib()
        fw = Framework.from_jax() if framework_name == "jax" else Framework.from_refjax()
        data = load_dataset(config.data)
        start = time.perf_counter()
        history = train(config, data, fw)
    except (FileNotFoundError, IdxFormatError, ImportError, RuntimeError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - start
    backend = config.backend or os.environ.get(BACKEND_ENV) or "numpy"
    where = f"refjax, {backend} backend" if fw.name == "refjax" else "JAX"
    print(f"{data.name}: {len(data.x_train)} training, {len(data.x_test)} held-out examples; "
          f"MLP {'-'.join(map(str, (data.features, *config.hidden, data.num_classes)))}, "
          f"{config.optimizer}, lr {config.learning_rate}, batch {config.batch_size}, "
          f"seed {config.seed}")
    print(f"final held-out accuracy {history.final_accuracy:.4f} after {config.epochs} epochs; "
          f"final epoch loss {history.epoch_loss[-1]:.4f}; {wall:.1f} s ({where}; "
          f"{history.examples_per_second():.0f} examples/s in the last epoch)")
    if plot is not None:
        plot_history(history, plot, f"{data.name}, {where}, {config.optimizer}")
        print(f"curves written to {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
