"""SVHN's cropped-digit .mat files (train_32x32.mat, test_32x32.mat)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gradguess.data.core import Arrays, DataError, find


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import scipy.io  # lazily: `import gradguess.data` stays light

    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises ValueError, MatReadError, OSError, ...
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from None  # see cifar.unpickle
    if "X" not in mat or "y" not in mat:
        raise DataError(f"{path} lacks the variables X and y")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataError(f"{path}: X has shape {x.shape}, expected [32, 32, 3, N] with N = {len(y)}")
    y[y == 10] = 0  # SVHN labels the digit 0 as class 10
    return x.transpose(3, 2, 0, 1), y  # [H, W, C, N] -> [N, C, H, W]


def import_svhn(source: Path) -> Arrays:
    train, test = find(["train_32x32.mat", "test_32x32.mat"], [source])
    return (*read_svhn_mat(train), *read_svhn_mat(test))
