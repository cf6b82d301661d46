"""MNIST's IDX files, raw or gzipped, alone or in torchvision's MNIST/raw/ layout.

The header (magic number, then one size per dimension) is read first and checked against MNIST's shape
(`limits.MNIST_*`); then exactly the bytes it declares are read, so a gzip stream that would expand past
them is never decompressed further.
"""
from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from gradguess.data.core import Arrays, DataError, find
from gradguess.data.limits import MNIST_EXAMPLES, MNIST_IMAGE
from gradguess.data.untrusted import open_regular

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def _check_header(path: Path, head: bytes, magic: int, rest: tuple[int, ...], most: int) -> list[int]:
    """The sizes an IDX header declares, checked: the magic number, none negative, MNIST's shape."""
    found, *dims = struct.unpack(f">{len(head) // 4}i", head)
    if found != magic:
        raise DataError(f"IDX file {path} has magic number {found}, expected {magic}")
    if any(d < 0 for d in dims):
        raise DataError(f"IDX file {path} declares the shape {dims}, with a negative size (corrupt header)")
    if dims[0] > most:
        raise DataError(f"IDX file {path} declares {dims[0]:,} examples, more than the {most:,} of MNIST's "
                        f"{path.name.split('-')[0]} files (limits.MNIST_EXAMPLES): refused before reading them")
    if tuple(dims[1:]) != rest:
        raise DataError(f"IDX file {path} holds {'x'.join(map(str, dims[1:]))} images, "
                        f"expected {'x'.join(map(str, rest))}")
    return dims


def read_idx(path: Path, magic: int, ndim: int, most: int) -> np.ndarray:
    """Parse an IDX file (raw or gzip) whose header is `magic` then `ndim` sizes, with at most `most` examples."""
    header = 4 * (1 + ndim)
    try:
        with open_regular(path) as raw, (gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw) as f:
            head = f.read(header)
            if len(head) < header:
                raise DataError(f"IDX file {path} is truncated: {len(head)} bytes, shorter than its header")
            dims = _check_header(path, head, magic, MNIST_IMAGE if ndim == 3 else (), most)
            body = f.read(math.prod(dims))  # a gzip stream is decompressed only this far
            extra = len(f.read(1))
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read IDX file {path}: {e}") from None  # not chained: see pickles.unpickle
    if len(body) != math.prod(dims) or extra:
        size = f"{header + len(body)} bytes" if not extra else "more bytes"
        raise DataError(f"IDX file {path} has {size}, expected {header + math.prod(dims)} for shape {dims} "
                        "(truncated or corrupt)")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def import_mnist(source: Path) -> Arrays:
    # Accept the files themselves or torchvision's MNIST/raw/ layout.
    paths = find(list(MNIST_FILES), [source, source / "MNIST" / "raw"], ("", ".gz"))
    x_train = read_idx(paths[0], 2051, 3, MNIST_EXAMPLES["train"])
    y_train = read_idx(paths[1], 2049, 1, MNIST_EXAMPLES["train"])
    x_test = read_idx(paths[2], 2051, 3, MNIST_EXAMPLES["t10k"])
    y_test = read_idx(paths[3], 2049, 1, MNIST_EXAMPLES["t10k"])
    return x_train[:, None], y_train, x_test[:, None], y_test
