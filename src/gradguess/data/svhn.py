"""SVHN's cropped-digit .mat files (train_32x32.mat, test_32x32.mat).

Their variables' headers are read first (`matfile.scan`) and checked against SVHN's shapes
(`limits.SVHN_*`): only then is anything decompressed, and no more than those shapes take.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gradguess.data import matfile
from gradguess.data.core import Arrays, DataError, find
from gradguess.data.limits import SVHN_EXAMPLES, SVHN_IMAGE
from gradguess.data.untrusted import integer_labels


def _check(path: Path, x: matfile.Variable, y: matfile.Variable) -> None:
    for var in (x, y):
        if var.mclass not in matfile.NUMERIC:
            raise DataError(f"{path}: {var.name} is {var.kind}, expected a numeric array")
    n = x.dims[-1]
    if len(x.dims) != 4 or x.dims[:3] != SVHN_IMAGE:
        raise DataError(f"{path}: X has shape {x.dims}, expected [32, 32, 3, N]")
    if n > SVHN_EXAMPLES[path.name]:
        raise DataError(f"{path}: X declares {n:,} images, more than the {SVHN_EXAMPLES[path.name]:,} of SVHN's "
                        f"{path.name} (limits.SVHN_EXAMPLES): refused before decompressing it")
    if x.mclass != 9:
        raise DataError(f"{path}: X is {x.kind}, expected uint8 pixels (as SVHN's files hold)")
    if math.prod(y.dims) != n:
        raise DataError(f"{path}: y has shape {y.dims}, expected N = {n} labels")


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    _, order, found = matfile.scan(path)
    if "X" not in found or "y" not in found:
        raise DataError(f"{path} lacks the variables X and y")
    _check(path, found["X"], found["y"])
    x = matfile.numeric(path, order, found["X"])
    y = integer_labels(matfile.numeric(path, order, found["y"]), f"{path}: y")
    y[y == 10] = 0  # SVHN labels the digit 0 as class 10
    return x.transpose(3, 2, 0, 1), y  # [H, W, C, N] -> [N, C, H, W]


def import_svhn(source: Path) -> Arrays:
    train, test = find(["train_32x32.mat", "test_32x32.mat"], [source])
    return (*read_svhn_mat(train), *read_svhn_mat(test))
