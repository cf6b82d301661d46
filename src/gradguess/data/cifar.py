"""CIFAR-10 and CIFAR-100: the python-version batches (pickles) or a single .npz.

The batches are pickles, and a plain unpickler calls whatever callable a
pickle names: a data directory from elsewhere could run code here. They are
read through `SafeUnpickler`, which resolves only the few globals those files
name (numpy's array and scalar reconstructors, ndarray, dtype) and refuses
every other one before anything is called.
"""
from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import numpy as np
from numpy._core.multiarray import _reconstruct, scalar
from numpy._core.numeric import _frombuffer

from gradguess.data.core import Arrays, DataError


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles bytes at protocols 0-2 as _codecs.encode(text, "latin1"); other codecs are not needed.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not admitted")
    return codecs.encode(text, "latin1")


def _empty_bytes() -> bytes:
    return b""  # Python 3 pickles b"" at protocols 0-2 as bytes()


# What the CIFAR files name, written by Python 2 (numpy.core.*) or re-pickled by Python 3
# with numpy 2 (numpy._core.*, _frombuffer at protocol 5; _codecs/bytes at protocols 0-2).
_ADMITTED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): scalar,
    ("numpy._core.multiarray", "scalar"): scalar,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that admits numpy arrays, dicts, lists, bytes, strings and numbers only."""

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="bytes")
        self.path = path

    def find_class(self, module: str, name: str):
        # Never import: the table holds the objects themselves, so a refused name is never even looked up.
        try:
            return _ADMITTED[(module, name)]
        except KeyError:
            raise DataError(
                f"refused to unpickle {self.path}: it names the global {module}.{name}, and CIFAR batches "
                "hold only numpy arrays, lists, dicts, bytes, strings and numbers (a file that names other "
                "callables may try to run code); use the official CIFAR files or a .npz") from None

    def persistent_load(self, pid):
        raise DataError(f"refused to unpickle {self.path}: it holds a persistent id, which CIFAR batches never do")


def unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = SafeUnpickler(f, path).load()
    except DataError:
        raise
    except Exception as e:  # unpickling can fail in many ways; all mean a bad file
        # Not chained (here and wherever a user's source file fails): the message already quotes the
        # cause, and GradguessError reads a chained UnpicklingError or EOFError as a damaged torch file.
        raise DataError(f"cannot unpickle {path}: {type(e).__name__}: {e}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} holds a {type(obj).__name__}, expected a pickled dict")
    # The original files were pickled by Python 2 and give bytes keys; files
    # re-pickled by Python 3 give str keys. Accept both.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_batches(paths: list[Path], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for path in paths:
        batch = unpickle(path)
        if "data" not in batch or label_key not in batch:
            raise DataError(f"{path} lacks the entries 'data' and {label_key!r}")
        data = np.asarray(batch["data"])
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataError(f"{path}: 'data' has shape {data.shape}, expected [N, 3072]")
        if data.dtype.kind not in "ui":  # an object array would hold anything the pickle built
            raise DataError(f"{path}: 'data' has dtype {data.dtype}, expected uint8")
        # Rows are stored channel by channel (1024 red, 1024 green, 1024 blue): already CHW.
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[label_key]).reshape(-1))
    return np.concatenate(xs), np.concatenate(ys)


def read_npz(source: Path, what: str) -> Arrays:
    files = sorted(source.glob("*.npz"))
    if len(files) > 1:
        raise DataError(f"several .npz files in {source} ({', '.join(f.name for f in files)}); "
                        f"put only the {what} one there")
    path = files[0]
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in z.files]
            if missing:
                raise DataError(f"{path} lacks the arrays {missing}")
            arrays = [z[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except DataError:
        raise
    except Exception as e:  # bad zip, bad array header, truncated member, ...
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from None
    for i in (0, 2):
        x = arrays[i]
        if x.ndim == 4 and x.shape[1:] == (32, 32, 3):
            arrays[i] = x.transpose(0, 3, 1, 2)  # HWC -> CHW
        elif not (x.ndim == 4 and x.shape[1:] == (3, 32, 32)):
            raise DataError(f"{path}: images have shape {x.shape}, expected [N, 32, 32, 3]")
    return tuple(arrays)


def import_cifar(source: Path, folder: str, train: list[str], test: list[str], label_key: str, what: str) -> Arrays:
    # Accept the python batches directory itself or its parent; else a single .npz.
    names = train + test
    for d in (source / folder, source):
        if all((d / name).is_file() for name in names):
            x_train, y_train = read_batches([d / n for n in train], label_key)
            x_test, y_test = read_batches([d / n for n in test], label_key)
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
    train = [f"data_batch_{i}" for i in range(1, 6)]
    return import_cifar(source, "cifar-10-batches-py", train, ["test_batch"], "labels", "CIFAR-10")


def import_cifar100(source: Path) -> Arrays:
    return import_cifar(source, "cifar-100-python", ["train"], ["test"], "fine_labels", "CIFAR-100")
