"""What every format shares: the error type, the cached file's path and layout, and its validation.

The cache `root/<dataset>.pt` is a dict of uint8 images [N, C, H, W], int64
labels, the class count, the data set's name, a `source` description and a
format version. Every importer produces the same four arrays; `prepare`
(in `preparing`) writes them here, `load` (in `loading`) reads them back.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradguess.catalog import DATASETS, NUM_CLASSES, SHAPES
from gradguess.errors import GradguessError

FORMAT_VERSION = 1

# x_train, y_train, x_test, y_test as an importer returns them: images [N, C, H, W], labels [N].
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class DataError(GradguessError):
    """A data set could not be prepared or loaded; the message says what to fix."""


def check_name(dataset: str) -> str:
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; valid names: {', '.join(DATASETS)}")
    return dataset


def cache_path(dataset: str, root: str | os.PathLike) -> Path:
    """Where `prepare` writes and `load` reads the cached data set."""
    return Path(root) / f"{check_name(dataset)}.pt"


def find(names: list[str], folders: list[Path], suffixes: tuple[str, ...] = ("",)) -> list[Path]:
    """Locate each of `names` (with any of `suffixes`) in `folders`, or say what is missing."""
    found, missing = [], []
    for name in names:
        hits = [d / (name + s) for d in folders for s in suffixes if (d / (name + s)).is_file()]
        if hits:
            found.append(hits[0])
        else:
            missing.append(name + (" (or .gz)" if ".gz" in suffixes else ""))
    if missing:
        raise DataError(f"missing file(s) {', '.join(missing)}; looked in {', '.join(map(str, folders))}")
    return found


def to_uint8(x: Any) -> torch.Tensor:
    # torch.save stores whole storages, so a view into a larger buffer would bloat the
    # file, and mmap-loading wants contiguous data: copy unless `x` already owns exactly
    # its bytes (the image importers fill one such array; a second copy of 3 GB would
    # double prepare's peak memory).
    if not (isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.base is None and x.flags.c_contiguous):
        x = np.array(x, dtype=np.uint8, order="C", copy=True)
    return torch.from_numpy(x)


def to_labels(y: Any) -> torch.Tensor:
    return torch.from_numpy(np.array(y, dtype=np.int64, copy=True).reshape(-1))


def validate(data: Any, dataset: str, where: str) -> None:
    """Raise DataError naming `where` unless `data` is a well-formed cache dict."""

    def fail(msg: str) -> None:
        raise DataError(f"invalid {dataset} data in {where}: {msg}")

    if not isinstance(data, dict):
        fail(f"expected a dict, found {type(data).__name__}")
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test", "num_classes",
                           "dataset", "format_version") if k not in data]
    if missing:
        fail(f"missing keys {missing}")
    if data["format_version"] != FORMAT_VERSION:
        fail(f"format_version {data['format_version']!r}, expected {FORMAT_VERSION}")
    if data["dataset"] != dataset:
        fail(f"file holds dataset {data['dataset']!r}")
    if data["num_classes"] != NUM_CLASSES[dataset]:
        fail(f"num_classes {data['num_classes']!r}, expected {NUM_CLASSES[dataset]}")
    for split in ("train", "test"):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            fail(f"x_{split} and y_{split} must be tensors")
        if x.dtype != torch.uint8:
            fail(f"x_{split} has dtype {x.dtype}, expected torch.uint8")
        if y.dtype != torch.int64:
            fail(f"y_{split} has dtype {y.dtype}, expected torch.int64")
        if x.dim() != 4 or tuple(x.shape[1:]) != SHAPES[dataset]:
            fail(f"x_{split} has shape {tuple(x.shape)}, expected [N, {', '.join(map(str, SHAPES[dataset]))}]")
        if y.dim() != 1 or len(y) != len(x):
            fail(f"y_{split} has shape {tuple(y.shape)} but x_{split} has {len(x)} examples")
        if len(x) == 0:
            fail(f"{split} split is empty")
        if int(y.min()) < 0 or int(y.max()) >= NUM_CLASSES[dataset]:
            fail(f"y_{split} labels span [{int(y.min())}, {int(y.max())}], "
                 f"expected [0, {NUM_CLASSES[dataset] - 1}]")
