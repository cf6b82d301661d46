"""MNIST's IDX files, raw or gzipped, alone or in torchvision's MNIST/raw/ layout."""
from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from gradguess.data.core import Arrays, DataError, find

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """Parse an IDX file (raw or gzip) whose header is `magic` then `ndim` sizes."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read IDX file {path}: {e}") from None  # not chained: see cifar.unpickle
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise DataError(f"IDX file {path} is truncated: {len(raw)} bytes, shorter than its header")
    found, *dims = np.frombuffer(raw, dtype=">i4", count=1 + ndim).tolist()
    if found != magic:
        raise DataError(f"IDX file {path} has magic number {found}, expected {magic}")
    expected = header + math.prod(dims)
    if len(raw) != expected:
        raise DataError(f"IDX file {path} has {len(raw)} bytes, expected {expected} for shape {dims} "
                        "(truncated or corrupt)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def import_mnist(source: Path) -> Arrays:
    # Accept the files themselves or torchvision's MNIST/raw/ layout.
    paths = find(list(MNIST_FILES), [source, source / "MNIST" / "raw"], ("", ".gz"))
    x_train = read_idx(paths[0], 2051, 3)
    y_train = read_idx(paths[1], 2049, 1)
    x_test = read_idx(paths[2], 2051, 3)
    y_test = read_idx(paths[3], 2049, 1)
    for path, x in ((paths[0], x_train), (paths[2], x_test)):
        if x.shape[1:] != (28, 28):
            raise DataError(f"IDX file {path} holds {x.shape[1]}x{x.shape[2]} images, expected 28x28")
    return x_train[:, None], y_train, x_test[:, None], y_test
