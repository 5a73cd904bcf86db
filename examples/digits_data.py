"""Handwritten digits for the training examples: an IDX (MNIST) reader and scikit-learn's 8x8 set.

The IDX format (LeCun's MNIST files) is a header, then the raw array: two zero bytes, a type
code (``0x08`` unsigned byte ... ``0x0E`` double), the number of dimensions, one big-endian
``uint32`` size per dimension, then the elements, big-endian, in C order. Files may be gzipped;
a gzipped file is recognised by its first two bytes (``1f 8b``), not by its name. Every problem
with a file is raised as :class:`IdxFormatError` naming the file and what is wrong with it; a
missing file as ``FileNotFoundError`` naming the names looked for.

:func:`load_dataset` returns a :class:`Dataset` of float32 images (one row per example) and int32
labels, split into a training and a held-out part and normalised with the training part's
statistics: MNIST's own ``train``/``t10k`` files from a directory, or (``None``) the 1797 8x8
digits that scikit-learn ships, split deterministically.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

GZIP_MAGIC: Final = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype.
IDX_DTYPES: Final[dict[int, str]] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}

# The four files of MNIST (and of Fashion-MNIST, KMNIST ...), as LeCun's site names them.
IDX_FILES: Final[dict[str, tuple[str, str]]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

NUM_CLASSES: Final = 10


class IdxFormatError(ValueError):
    """A data file that is not a well-formed IDX file, or not the array it should hold."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# ---------------------------------------------------------------------------------------------
# The IDX reader


def read_idx(path: str | Path) -> NDArray[np.generic]:
    """The array stored in IDX file ``path`` (gzipped or not), in native byte order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw.startswith(GZIP_MAGIC):
        raw = _gunzip(path, raw)
    return parse_idx(path, raw)


def _gunzip(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise IdxFormatError(
            path, f"starts like a gzip file but cannot be decompressed ({err})") from err


def parse_idx(path: Path, raw: bytes) -> NDArray[np.generic]:
    """The array in the (uncompressed) IDX bytes ``raw``; ``path`` names them in errors."""
    if len(raw) < 4:
        raise IdxFormatError(path, f"truncated: {len(raw)} bytes, shorter than the 4-byte magic "
                                   "number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        codes = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise IdxFormatError(path, f"bad magic number 0x{raw[:4].hex().upper()}: an IDX file "
                                   f"starts with two zero bytes, a type code ({codes}) and the "
                                   "number of dimensions")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    if ndim == 0:
        raise IdxFormatError(path, "the header gives 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxFormatError(path, f"truncated header: {ndim} dimensions need {header} bytes, "
                                   f"the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    need, have = math.prod(shape) * dtype.itemsize, len(raw) - header
    if have < need:
        raise IdxFormatError(path, f"truncated: shape {shape} of {dtype.name} needs {need} bytes "
                                   f"of data, the file has {have}")
    if have > need:
        raise IdxFormatError(path, f"{have - need} bytes after the data of shape {shape} "
                                   f"({dtype.name})")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: NDArray[np.generic], compress: bool = False) -> None:
    """Write ``array`` as an IDX file (gzipped if ``compress``): the inverse of :func:`read_idx`."""
    codes = {np.dtype(name).newbyteorder("="): code for code, name in IDX_DTYPES.items()}
    dtype = array.dtype.newbyteorder("=")
    if dtype not in codes:
        raise TypeError(f"IDX files hold {sorted(d.name for d in codes)}, not {array.dtype}")
    header = bytes([0, 0, codes[dtype], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = header + np.ascontiguousarray(array, dtype.newbyteorder(">")).tobytes()
    Path(path).write_bytes(gzip.compress(raw) if compress else raw)


def find_idx(directory: Path, stem: str) -> Path:
    """``directory/stem`` or ``directory/stem.gz``, whichever exists."""
    for name in (stem, f"{stem}.gz"):
        if (directory / name).is_file():
            return directory / name
    where = directory if directory.is_dir() else f"{directory} (no such directory)"
    raise FileNotFoundError(f"no {stem} or {stem}.gz in {where}: give --data a directory holding "
                            "MNIST's four IDX files, or leave --data out to use the 8x8 digits "
                            "that scikit-learn ships")


def load_idx_split(directory: str | Path, split: Literal["train", "test"]
                   ) -> tuple[NDArray[np.uint8], NDArray[np.int32]]:
    """One split of an MNIST-style directory: ``uint8[n, rows, cols]`` images, ``int32[n]``
    labels."""
    directory = Path(directory)
    images_path, labels_path = (find_idx(directory, stem) for stem in IDX_FILES[split])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise IdxFormatError(images_path, f"images must have 3 dimensions (count, rows, "
                                          f"columns), this file has shape {images.shape}")
    if images.dtype != np.uint8:
        raise IdxFormatError(images_path, f"images must be unsigned bytes, not {images.dtype}")
    if labels.ndim != 1:
        raise IdxFormatError(labels_path, f"labels must have 1 dimension, this file has shape "
                                          f"{labels.shape}")
    if labels.dtype.kind not in "iu":
        raise IdxFormatError(labels_path, f"labels must be integers, not {labels.dtype}")
    if len(labels) != len(images):
        raise IdxFormatError(labels_path, f"{len(labels)} labels for the {len(images)} images "
                                          f"of {images_path.name}")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise IdxFormatError(labels_path, f"labels must lie in 0..{NUM_CLASSES - 1}, found "
                                          f"{labels.min()}..{labels.max()}")
    return images.astype(np.uint8), labels.astype(np.int32)


# ---------------------------------------------------------------------------------------------
# Datasets


@dataclass(frozen=True, slots=True)
class Dataset:
    """Flattened, normalised float32 images and int32 labels, split into train and test."""

    name: str
    x_train: NDArray[np.float32]
    y_train: NDArray[np.int32]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.int32]
    num_classes: int = NUM_CLASSES

    @property
    def features(self) -> int:
        """The length of one (flattened) example."""
        return int(self.x_train.shape[1])

    def subset(self, train: int | None = None, test: int | None = None) -> Dataset:
        """The first ``train`` training and ``test`` held-out examples (all if None)."""
        return Dataset(self.name, self.x_train[:train], self.y_train[:train],
                       self.x_test[:test], self.y_test[:test], self.num_classes)


def split_train_test(
    x: NDArray[np.generic], y: NDArray[np.generic], test_fraction: float = 0.2, seed: int = 0
) -> tuple[NDArray[np.generic], NDArray[np.generic], NDArray[np.generic], NDArray[np.generic]]:
    """``x_train, y_train, x_test, y_test``: a shuffled split, the same for the same ``seed``."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(x))
    cut = len(x) - max(1, round(len(x) * test_fraction))
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


def normalise(
    train: NDArray[np.generic], test: NDArray[np.generic], scale: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Both parts as float32 rows, divided by ``scale``, centred per pixel and scaled to unit
    variance overall, with the training part's statistics."""
    rows_train = train.reshape(len(train), -1).astype(np.float64) / scale
    rows_test = test.reshape(len(test), -1).astype(np.float64) / scale
    mean = rows_train.mean(axis=0)
    std = float((rows_train - mean).std()) or 1.0
    return (((rows_train - mean) / std).astype(np.float32),
            ((rows_test - mean) / std).astype(np.float32))


def load_digits(test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (1797 images, values 0..16), split and normalised."""
    try:
        from sklearn.datasets import (  # type: ignore[import-untyped]  # sklearn has no stubs
            load_digits as sklearn_digits,
        )
    except ImportError:
        raise ImportError("the default data set, the 8x8 digits, comes with scikit-learn: "
                          "pip install scikit-learn (or give --data an MNIST directory)") from None
    bunch = sklearn_digits()
    images = np.asarray(bunch.images, np.uint8)
    labels = np.asarray(bunch.target, np.int32)
    x_train, y_train, x_test, y_test = split_train_test(images, labels, test_fraction, split_seed)
    x_train, x_test = normalise(x_train, x_test, 16.0)
    return Dataset("digits 8x8", x_train, y_train.astype(np.int32), x_test,
                   y_test.astype(np.int32))


def load_mnist(directory: str | Path) -> Dataset:
    """MNIST (or any data set in its four IDX files) from ``directory``, normalised."""
    train_images, y_train = load_idx_split(directory, "train")
    test_images, y_test = load_idx_split(directory, "test")
    if train_images.shape[1:] != test_images.shape[1:]:
        raise IdxFormatError(Path(directory), f"training images are {train_images.shape[1:]}, "
                                              f"test images {test_images.shape[1:]}")
    x_train, x_test = normalise(train_images, test_images, 255.0)
    return Dataset(f"IDX files in {directory}", x_train, y_train, x_test, y_test)


def load_dataset(directory: str | Path | None = None) -> Dataset:
    """MNIST's IDX files from ``directory``, or the 8x8 digits if None."""
    return load_digits() if directory is None else load_mnist(directory)
