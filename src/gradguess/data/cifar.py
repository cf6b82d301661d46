"""CIFAR-10 and CIFAR-100: the python-version batches (pickles) or a single .npz.

The batches are pickles, read through `pickles.unpickle` (a restricted unpickler, bounded by the file's
name: `limits.CIFAR_ROWS`); a .npz is read through `npz.Npz` (shapes from the headers, checked against
CIFAR's splits before any array is decompressed). Either way, what the file holds is checked against CIFAR's
shapes before an array is built from it: a list where an array belongs could stand for gigabytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gradguess.data.core import Arrays, DataError
from gradguess.data.limits import CIFAR_ROW, CIFAR_ROWS, NPZ_EXAMPLES
from gradguess.data.npz import Npz
from gradguess.data.pickles import unpickle
from gradguess.data.untrusted import integer_labels, show

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _labels(labels, path: Path, key: str, n: int) -> np.ndarray:
    """A batch's labels: a flat list (or 1-D array) of `n` class numbers, checked before numpy sees it."""
    if isinstance(labels, (list, tuple)):
        if len(labels) != n:
            raise DataError(f"{path}: {key!r} has {len(labels):,} entries but 'data' {n:,} rows")
        odd = [i for i, v in enumerate(labels)
               if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))]
        if odd:
            raise DataError(f"{path}: {key!r} holds {show(labels[odd[0]])} at position {odd[0]}, "
                            "expected integer class numbers")
        labels = np.array(labels)
    elif not isinstance(labels, np.ndarray) or labels.ndim != 1 or len(labels) != n:
        raise DataError(f"{path}: {key!r} is {show(labels)}, expected a list of {n:,} class numbers")
    return integer_labels(labels, f"{path}: {key!r}")


def _batch(path: Path, label_key: str, most: int) -> tuple[np.ndarray, np.ndarray]:
    batch = unpickle(path, most)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path} lacks the entries 'data' and {label_key!r}")
    data = batch["data"]
    rows = len(data) if isinstance(data, (list, tuple)) or getattr(data, "ndim", 0) else None
    if rows is not None and rows > most:
        raise DataError(f"{path}: 'data' has {rows:,} rows, more than the {most:,} of CIFAR's {path.name} "
                        "(limits.CIFAR_ROWS): refused before building an array of them")
    if not isinstance(data, np.ndarray):
        raise DataError(f"{path}: 'data' is {show(data)}, expected a uint8 array [N, 3072]")
    if data.ndim != 2 or data.shape[1] != CIFAR_ROW:
        raise DataError(f"{path}: 'data' has shape {data.shape}, expected [N, 3072]")
    if data.dtype.kind not in "ui":
        raise DataError(f"{path}: 'data' has dtype {data.dtype}, expected uint8")
    # Rows are stored channel by channel (1024 red, 1024 green, 1024 blue): already CHW.
    return data.reshape(-1, 3, 32, 32), _labels(batch[label_key], path, label_key, len(data))


def read_batches(paths: list[Path], label_key: str, most: list[int]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*(_batch(path, label_key, rows) for path, rows in zip(paths, most)))
    return np.concatenate(xs), np.concatenate(ys)


def _check_npz(z: Npz) -> None:
    """Each split's shapes and dtypes, from the headers: CIFAR's, with at most its examples."""
    missing = [k for k in NPZ_KEYS if k not in z.members]
    if missing:
        raise DataError(f"{z.path} lacks the arrays {missing}")
    for split, most in NPZ_EXAMPLES.items():
        x, y = z.members[f"x_{split}"], z.members[f"y_{split}"]
        for m in (x, y):
            if m.shape and m.shape[0] > most:
                raise DataError(f"{z.path}: {m.name} declares {m.shape[0]:,} examples, more than the {most:,} of "
                                f"CIFAR's {split} split (limits.NPZ_EXAMPLES): refused before reading it")
        if len(x.shape) != 4 or x.shape[1:] not in ((32, 32, 3), (3, 32, 32)):
            raise DataError(f"{z.path}: images have shape {x.shape}, expected [N, 32, 32, 3]")
        if x.dtype.kind not in "ui":
            raise DataError(f"{z.path}: {x.name} has dtype {x.dtype}, expected uint8")
        if not (len(y.shape) == 1 or (len(y.shape) == 2 and y.shape[1] == 1)):
            raise DataError(f"{z.path}: {y.name} has shape {y.shape}, expected [N] (or [N, 1])")


def read_npz(source: Path, what: str) -> Arrays:
    files = sorted(source.glob("*.npz"))
    if len(files) > 1:
        raise DataError(f"several .npz files in {source} ({', '.join(f.name for f in files)}); "
                        f"put only the {what} one there")
    path = files[0]
    with Npz(path) as z:
        _check_npz(z)
        arrays = [z.read(k) for k in NPZ_KEYS]
    for i in (0, 2):
        if arrays[i].shape[1:] == (32, 32, 3):
            arrays[i] = arrays[i].transpose(0, 3, 1, 2)  # HWC -> CHW
    for i in (1, 3):
        arrays[i] = integer_labels(arrays[i], f"{path}: {NPZ_KEYS[i]}")
    return tuple(arrays)


def import_cifar(source: Path, folder: str, train: dict[str, int], test: dict[str, int], label_key: str,
                 what: str) -> Arrays:
    """`train` and `test`: each split's batch files, and the rows each may hold."""
    # Accept the python batches directory itself or its parent; else a single .npz.
    names = [*train, *test]
    for d in (source / folder, source):
        if all((d / name).is_file() for name in names):
            x_train, y_train = read_batches([d / n for n in train], label_key, list(train.values()))
            x_test, y_test = read_batches([d / n for n in test], label_key, list(test.values()))
            return x_train, y_train, x_test, y_test
    if any(source.glob("*.npz")):
        return read_npz(source, what)
    d = source / folder if (source / folder).is_dir() else source
    missing = [n for n in names if not (d / n).is_file()]
    raise DataError(
        f"no {what} files found: expected {source / folder} (or {source}) to hold {', '.join(names)} "
        f"(missing in {d}: {', '.join(missing)}), or {source} to hold a single .npz "
        "with x_train, y_train, x_test, y_test"
    )


def import_cifar10(source: Path) -> Arrays:
    train = {f"data_batch_{i}": CIFAR_ROWS["data_batch"] for i in range(1, 6)}
    return import_cifar(source, "cifar-10-batches-py", train, {"test_batch": CIFAR_ROWS["test_batch"]}, "labels",
                        "CIFAR-10")


def import_cifar100(source: Path) -> Arrays:
    return import_cifar(source, "cifar-100-python", {"train": CIFAR_ROWS["train"]}, {"test": CIFAR_ROWS["test"]},
                        "fine_labels", "CIFAR-100")
