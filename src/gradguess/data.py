"""Dataset preparation and loading.

`prepare` turns a dataset (local files, a torchvision download, or the built-in
synthetic set) into one cached file `root/<dataset>.pt` holding uint8 images
[N, C, H, W] and int64 labels. `load` reads that file and returns normalised
float tensors on a device. Experiments only ever call `load`, so they never
touch the network and start in well under a second.
"""
from __future__ import annotations

import gzip
import math
import os
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradguess.catalog import DATASETS, NUM_CLASSES, SHAPES, SIZES  # noqa: F401  (re-exported)
from gradguess.errors import GradguessError
from gradguess.io import torch_save

FORMAT_VERSION = 1

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class DataError(GradguessError):
    """A data set could not be prepared or loaded; the message says what to fix."""


def _check_name(dataset: str) -> str:
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; valid names: {', '.join(DATASETS)}")
    return dataset


def cache_path(dataset: str, root: str | os.PathLike) -> Path:
    """Where `prepare` writes and `load` reads the cached data set."""
    return Path(root) / f"{_check_name(dataset)}.pt"


# --------------------------------------------------------------------------- prepare


def prepare(
    dataset: str,
    root: str | os.PathLike,
    source: str | os.PathLike | None = None,
    download: bool = True,
    max_train: int | None = None,
    max_test: int | None = None,
) -> Path:
    """Build `root/<dataset>.pt` and return its path.

    With `source`, files are imported from that local directory; without it the
    data set is downloaded with torchvision (when `download` is true). The
    synthetic data set is generated and ignores `source`. `max_train` and
    `max_test` keep only the first examples of each split (small presets).
    """
    path = cache_path(dataset, root)
    if dataset == "synthetic":
        arrays, origin = _synthetic(), "synthetic (built in, seed 0)"
    elif source is not None:
        source = Path(source)
        if not source.is_dir():
            raise DataError(f"source directory {source} does not exist or is not a directory")
        arrays = _IMPORTERS[dataset](source)
        origin = f"local files in {source.resolve()}"
    elif download:
        arrays = _download(dataset, Path(root))
        origin = f"torchvision download into {Path(root).resolve() / 'raw'}"
    else:
        raise DataError(
            f"no source directory given for {dataset} and download is disabled; "
            f"pass --source DIR with the {dataset} files"
        )

    x_train, y_train, x_test, y_test = arrays
    if max_train is not None:
        x_train, y_train = x_train[:max_train], y_train[:max_train]
        origin += f", first {len(y_train)} training examples"
    if max_test is not None:
        x_test, y_test = x_test[:max_test], y_test[:max_test]
        origin += f", first {len(y_test)} test examples"
    data = {
        "x_train": _uint8(x_train),
        "y_train": _labels(y_train),
        "x_test": _uint8(x_test),
        "y_test": _labels(y_test),
        "num_classes": NUM_CLASSES[dataset],
        "dataset": dataset,
        "source": origin,
        "format_version": FORMAT_VERSION,
    }
    # Check before writing so a bad import never leaves a cache that looks finished.
    _validate(data, dataset, f"{path} (from {origin})")
    torch_save(data, path)
    return path


def _uint8(x: Any) -> torch.Tensor:
    # A fresh contiguous copy: torch.save stores whole storages, so a view into a
    # larger buffer would bloat the file, and mmap-loading wants contiguous data.
    return torch.from_numpy(np.array(x, dtype=np.uint8, order="C", copy=True))


def _labels(y: Any) -> torch.Tensor:
    return torch.from_numpy(np.array(y, dtype=np.int64, copy=True).reshape(-1))


def _validate(data: Any, dataset: str, where: str) -> None:
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


# --------------------------------------------------------------------------- local import

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """Parse an IDX file (raw or gzip) whose header is `magic` then `ndim` sizes."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read IDX file {path}: {e}") from e
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


def _find(names: list[str], folders: list[Path], suffixes: tuple[str, ...] = ("",)) -> list[Path]:
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


def _import_mnist(source: Path) -> Arrays:
    # Accept the files themselves or torchvision's MNIST/raw/ layout.
    paths = _find(list(MNIST_FILES), [source, source / "MNIST" / "raw"], ("", ".gz"))
    x_train = _read_idx(paths[0], 2051, 3)
    y_train = _read_idx(paths[1], 2049, 1)
    x_test = _read_idx(paths[2], 2051, 3)
    y_test = _read_idx(paths[3], 2049, 1)
    for path, x in ((paths[0], x_train), (paths[2], x_test)):
        if x.shape[1:] != (28, 28):
            raise DataError(f"IDX file {path} holds {x.shape[1]}x{x.shape[2]} images, expected 28x28")
    return x_train[:, None], y_train, x_test[:, None], y_test


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f, encoding="bytes")
    except Exception as e:  # unpickling can fail in many ways; all mean a bad file
        raise DataError(f"cannot unpickle {path}: {type(e).__name__}: {e}") from e
    if not isinstance(obj, dict):
        raise DataError(f"{path} holds a {type(obj).__name__}, expected a pickled dict")
    # The original files were pickled by Python 2 and give bytes keys; files
    # re-pickled by Python 3 give str keys. Accept both.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _read_batches(paths: list[Path], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for path in paths:
        batch = _unpickle(path)
        if "data" not in batch or label_key not in batch:
            raise DataError(f"{path} lacks the entries 'data' and {label_key!r}")
        data = np.asarray(batch["data"])
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataError(f"{path}: 'data' has shape {data.shape}, expected [N, 3072]")
        # Rows are stored channel by channel (1024 red, 1024 green, 1024 blue): already CHW.
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch[label_key]).reshape(-1))
    return np.concatenate(xs), np.concatenate(ys)


def _read_npz(source: Path, what: str) -> Arrays:
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
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from e
    for i in (0, 2):
        x = arrays[i]
        if x.ndim == 4 and x.shape[1:] == (32, 32, 3):
            arrays[i] = x.transpose(0, 3, 1, 2)  # HWC -> CHW
        elif not (x.ndim == 4 and x.shape[1:] == (3, 32, 32)):
            raise DataError(f"{path}: images have shape {x.shape}, expected [N, 32, 32, 3]")
    return tuple(arrays)


def _import_cifar(source: Path, folder: str, train: list[str], test: list[str],
                  label_key: str, what: str) -> Arrays:
    # Accept the python batches directory itself or its parent; else a single .npz.
    names = train + test
    for d in (source / folder, source):
        if all((d / name).is_file() for name in names):
            x_train, y_train = _read_batches([d / n for n in train], label_key)
            x_test, y_test = _read_batches([d / n for n in test], label_key)
            return x_train, y_train, x_test, y_test
    if any(source.glob("*.npz")):
        return _read_npz(source, what)
    d = source / folder if (source / folder).is_dir() else source
    missing = [n for n in names if not (d / n).is_file()]
    raise DataError(
        f"no {what} files found: expected {source / folder} (or {source}) to hold {', '.join(names)} "
        f"(missing in {d}: {', '.join(missing)}), or {source} to hold a single .npz "
        "with x_train, y_train, x_test, y_test"
    )


def _import_cifar10(source: Path) -> Arrays:
    train = [f"data_batch_{i}" for i in range(1, 6)]
    return _import_cifar(source, "cifar-10-batches-py", train, ["test_batch"], "labels", "CIFAR-10")


def _import_cifar100(source: Path) -> Arrays:
    return _import_cifar(source, "cifar-100-python", ["train"], ["test"], "fine_labels", "CIFAR-100")


def _read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises ValueError, MatReadError, OSError, ...
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from e
    if "X" not in mat or "y" not in mat:
        raise DataError(f"{path} lacks the variables X and y")
    x, y = mat["X"], np.asarray(mat["y"]).reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise DataError(f"{path}: X has shape {x.shape}, expected [32, 32, 3, N] with N = {len(y)}")
    y[y == 10] = 0  # SVHN labels the digit 0 as class 10
    return x.transpose(3, 2, 0, 1), y  # [H, W, C, N] -> [N, C, H, W]


def _import_svhn(source: Path) -> Arrays:
    train, test = _find(["train_32x32.mat", "test_32x32.mat"], [source])
    return (*_read_svhn_mat(train), *_read_svhn_mat(test))


_IMPORTERS = {
    "mnist": _import_mnist,
    "cifar10": _import_cifar10,
    "cifar100": _import_cifar100,
    "svhn": _import_svhn,
}


# --------------------------------------------------------------------------- download


def _download(dataset: str, root: Path) -> Arrays:
    import torchvision.datasets as tvd

    raw = root / "raw"
    cls = {"mnist": tvd.MNIST, "cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100, "svhn": tvd.SVHN}[dataset]
    splits = []
    for train in (True, False):
        try:
            if dataset == "svhn":
                ds = cls(root=raw, split="train" if train else "test", download=True)
            else:
                ds = cls(root=raw, train=train, download=True)
        except Exception as e:  # no internet, bad checksum, interrupted transfer, ...
            raise DataError(
                f"downloading {dataset} with torchvision into {raw} failed ({type(e).__name__}: {e}). "
                f"Without internet, get the files elsewhere and import them with "
                f"`gradguess data prepare --dataset {dataset} --root {root} --source DIR`"
            ) from e
        splits.extend(_from_torchvision(dataset, ds))
    return tuple(splits)


def _from_torchvision(dataset: str, ds: Any) -> tuple[np.ndarray, np.ndarray]:
    """Images as [N, C, H, W] and labels from a torchvision dataset object."""
    x = np.asarray(ds.data)
    if dataset == "mnist":
        return x[:, None], np.asarray(ds.targets)  # [N, 28, 28] -> [N, 1, 28, 28]
    if dataset == "svhn":
        return x, np.asarray(ds.labels)  # torchvision already gives CHW and maps 10 -> 0
    return x.transpose(0, 3, 1, 2), np.asarray(ds.targets)  # CIFAR: HWC -> CHW


# --------------------------------------------------------------------------- synthetic


def _synthetic(seed: int = 0, n_train: int = SIZES["synthetic"][0], n_test: int = SIZES["synthetic"][1]) -> Arrays:
    """A CIFAR-shaped 10-class task: smooth class prototypes, shifted, plus clutter.

    Each image is its class prototype, circularly shifted by up to 8 pixels and
    rescaled in contrast, plus a smooth random "clutter" image and pixel noise.
    The clutter lives in the same smooth subspace as the prototypes, so it does
    not average away, and the shifts make the classes non-linear: logistic
    regression reaches roughly 50% test accuracy, an MLP clearly more. Only
    numpy's seeded PCG64 generator is used, so every call gives the same bytes.
    """
    rng = np.random.default_rng(seed)
    classes, size, coarse = 10, 32, 8
    n = n_train + n_test

    # Bilinear upsampling as a matrix: smooth(c) = up @ c @ up.T, for c [.., 8, 8].
    up = np.stack([np.interp(np.linspace(0, coarse - 1, size), np.arange(coarse), e)
                   for e in np.eye(coarse)], axis=1).astype(np.float32)
    def smooth(shape: tuple[int, ...]) -> np.ndarray:
        return up @ rng.standard_normal((*shape, coarse, coarse), dtype=np.float32) @ up.T

    protos = smooth((classes, 3))
    # Both splits exactly balanced, in random order.
    y = np.concatenate([rng.permutation(np.arange(m) % classes) for m in (n_train, n_test)])

    # Circular shift per example, done as one gather: x[i] = roll(protos[y[i]], (dy, dx)).
    dy, dx = rng.integers(-8, 9, size=(2, n))
    rows = (np.arange(size) - dy[:, None]) % size  # [n, 32]
    cols = (np.arange(size) - dx[:, None]) % size
    x = protos[y[:, None, None, None], np.arange(3)[None, :, None, None],
               rows[:, None, :, None], cols[:, None, None, :]]

    x *= rng.uniform(0.5, 1.5, size=(n, 1, 1, 1)).astype(np.float32)  # contrast
    x += 2.0 * smooth((n, 3))                                           # clutter
    x += 0.5 * rng.standard_normal(x.shape, dtype=np.float32)           # pixel noise
    x = np.clip(128 + 30 * x, 0, 255).astype(np.uint8)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


# --------------------------------------------------------------------------- load


@dataclass
class Data:
    """A prepared data set as normalised float tensors on one device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    name: str

    @property
    def in_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))


def load(dataset: str, root: str | os.PathLike, device: torch.device | str = "cpu") -> Data:
    """Read `root/<dataset>.pt` and return it scaled to [0, 1] and normalised per
    channel with the training set's mean and standard deviation."""
    path = cache_path(dataset, root)
    if not path.is_file():
        raise DataError(f"no prepared data at {path}; run "
                        f"`gradguess data prepare --dataset {dataset} --root {root}` first")
    try:
        # mmap avoids reading the file twice; weights_only refuses arbitrary pickles.
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # truncated zip, not a torch file, foreign pickle, ...
        raise DataError(f"cannot read prepared data {path}: {type(e).__name__}: {e}; "
                        f"delete it and run `gradguess data prepare --dataset {dataset} --root {root}`") from e
    _validate(data, dataset, str(path))

    device = torch.device(device)
    # Convert on the device: the uint8 copy is 4x smaller to move than floats.
    x_train = data["x_train"].to(device).float().div_(255)
    x_test = data["x_test"].to(device).float().div_(255)
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)  # a constant channel stays finite
    x_train.sub_(mean).div_(std)
    x_test.sub_(mean).div_(std)
    return Data(
        x_train=x_train,
        # clone: labels must not keep the memory-mapped file alive
        y_train=data["y_train"].to(device).clone(),
        x_test=x_test,
        y_test=data["y_test"].to(device).clone(),
        num_classes=int(data["num_classes"]),
        name=dataset,
    )
