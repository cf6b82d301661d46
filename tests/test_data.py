"""Tests for gradguess.data: importing, caching, validating and loading data sets."""
from __future__ import annotations

import gzip
import pickle
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import scipy.io
import torch

from gradguess import data
from gradguess.data import DataError

# Real data kept beside the repository (never copied into it).
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MNIST_DIR = SHARED / "mnist"
CIFAR10_NPZ = SHARED / "cifar10" / "cifar10-train10000-test1000.npz"


# ----------------------------------------------------------------------------- helpers


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write `array` (uint8) as an IDX file: magic 2051 for images, 2049 for labels."""
    magic = 2051 if array.ndim == 3 else 2049
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def tiny_mnist(folder: Path, gz: bool = False, n_train: int = 12, n_test: int = 5) -> dict:
    """Write the four MNIST IDX files with random content into `folder`."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(folder / name, array, gz=gz)
    return arrays


def write_cifar_pickle(path: Path, images_chw: np.ndarray, labels, label_key: str, bytes_keys: bool) -> None:
    """One CIFAR python-format file: a dict with 'data' uint8 [N, 3072] rows in CHW order."""
    entry = {
        "batch_label": "tiny batch",
        "data": images_chw.reshape(len(images_chw), -1),
        label_key: list(map(int, labels)),
        "filenames": [f"img_{i}.png" for i in range(len(labels))],
    }
    if bytes_keys:  # what the original Python 2 pickles give under encoding="bytes"
        entry = {k.encode(): v for k, v in entry.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=2)


def cached(path: Path) -> dict:
    return torch.load(path, weights_only=True)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory) -> Path:
    if not all((MNIST_DIR / f"{name}.gz").is_file() for name in data.MNIST_FILES):
        pytest.skip(f"real MNIST not found in {MNIST_DIR} (expected the four IDX .gz files)")
    root = tmp_path_factory.mktemp("mnist")
    data.prepare("mnist", root, source=MNIST_DIR)
    return root


def test_real_mnist_import(mnist_cache):
    d = cached(mnist_cache / "mnist.pt")
    assert d["x_train"].shape == (60000, 1, 28, 28) and d["x_test"].shape == (10000, 1, 28, 28)
    assert d["x_train"].dtype == torch.uint8 and d["y_train"].dtype == torch.int64
    assert d["x_train"].is_contiguous()
    assert sorted(d["y_train"].unique().tolist()) == list(range(10))
    assert sorted(d["y_test"].unique().tolist()) == list(range(10))
    # Well-known first labels of the canonical files.
    assert d["y_train"][0] == 5 and d["y_test"][0] == 7
    assert d["num_classes"] == 10 and d["dataset"] == "mnist" and d["format_version"] == 1
    assert str(MNIST_DIR.resolve()) in d["source"]


def test_real_mnist_load_is_fast_and_normalised(mnist_cache):
    start = time.perf_counter()
    ds = data.load("mnist", mnist_cache)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"loading MNIST took {elapsed:.2f} s"
    assert ds.x_train.dtype == torch.float32 and ds.x_train.shape == (60000, 1, 28, 28)
    assert ds.y_train.dtype == torch.int64 and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.in_features == 784 and ds.num_classes == 10 and ds.name == "mnist"
    assert abs(ds.x_train.mean().item()) < 1e-3
    assert abs(ds.x_train.std().item() - 1) < 1e-3
    # Test set uses the train statistics, so it is close to but not exactly standard.
    assert abs(ds.x_test.mean().item()) < 0.05


def test_real_cifar10_npz(tmp_path):
    if not CIFAR10_NPZ.is_file():
        pytest.skip(f"CIFAR-10 subset not found at {CIFAR10_NPZ}")
    path = data.prepare("cifar10", tmp_path / "cache", source=CIFAR10_NPZ.parent)
    d = cached(path)
    assert d["x_train"].shape == (10000, 3, 32, 32) and d["x_test"].shape == (1000, 3, 32, 32)
    with np.load(CIFAR10_NPZ) as z:
        for i in (0, 1234, 9999):
            assert np.array_equal(d["x_train"][i].numpy(), z["x_train"][i].transpose(2, 0, 1))
        assert np.array_equal(d["x_test"][17].numpy(), z["x_test"][17].transpose(2, 0, 1))
        assert np.array_equal(d["y_train"].numpy(), z["y_train"].astype(np.int64))
        assert np.array_equal(d["y_test"].numpy(), z["y_test"].astype(np.int64))
    ds = data.load("cifar10", tmp_path / "cache")
    assert ds.in_features == 3072
    assert torch.allclose(ds.x_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-3)
    assert torch.allclose(ds.x_train.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3)


def test_max_train_and_max_test_keep_the_first_examples(tmp_path):
    if not CIFAR10_NPZ.is_file():
        pytest.skip(f"CIFAR-10 subset not found at {CIFAR10_NPZ}")
    full = cached(data.prepare("cifar10", tmp_path / "full", source=CIFAR10_NPZ.parent))
    small = cached(data.prepare("cifar10", tmp_path / "small", source=CIFAR10_NPZ.parent, max_train=100, max_test=10))
    assert small["x_train"].shape[0] == 100 and small["x_test"].shape[0] == 10
    assert torch.equal(small["x_train"], full["x_train"][:100]) and torch.equal(small["y_test"], full["y_test"][:10])
    assert "first 100 training examples" in small["source"]
    # what the comparison says of the data a verdict used: sizes and origin, and no machine's path
    from gradguess.report.comparison import describe_data
    assert describe_data(tmp_path / "small" / "cifar10.pt") == {
        "train": 100, "test": 10, "origin": "local files, first 100 training examples, first 10 test examples"}
    assert describe_data(tmp_path / "full" / "cifar10.pt")["train"] == 10_000
    assert "/" not in describe_data(tmp_path / "full" / "cifar10.pt")["origin"]  # no machine's path


# ----------------------------------------------------------------------------- file formats


@pytest.mark.parametrize("layout", ["parent", "batches_dir"])
def test_cifar10_python_batches(tmp_path, layout):
    rng = np.random.default_rng(2)
    batches = tmp_path / "src" / "cifar-10-batches-py"
    train_x, train_y = [], []
    for i in range(1, 6):
        x = rng.integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, 4)
        write_cifar_pickle(batches / f"data_batch_{i}", x, y, "labels", bytes_keys=True)
        train_x.append(x)
        train_y.append(y)
    test_x = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)
    write_cifar_pickle(batches / "test_batch", test_x, [9, 0, 4], "labels", bytes_keys=True)

    source = batches.parent if layout == "parent" else batches
    d = cached(data.prepare("cifar10", tmp_path / "cache", source=source))
    # Batches concatenated in order 1..5; each row reshapes to CHW.
    assert np.array_equal(d["x_train"].numpy(), np.concatenate(train_x))
    assert np.array_equal(d["y_train"].numpy(), np.concatenate(train_y))
    assert np.array_equal(d["x_test"].numpy(), test_x)
    assert d["y_test"].tolist() == [9, 0, 4]
    assert data.load("cifar10", tmp_path / "cache").x_train.shape == (20, 3, 32, 32)


@pytest.mark.parametrize("bytes_keys", [True, False])
def test_cifar100_python(tmp_path, bytes_keys):
    rng = np.random.default_rng(3)
    folder = tmp_path / "src" / "cifar-100-python"
    x_train = rng.integers(0, 256, (6, 3, 32, 32), dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    write_cifar_pickle(folder / "train", x_train, [0, 99, 50, 1, 2, 3], "fine_labels", bytes_keys)
    write_cifar_pickle(folder / "test", x_test, [42, 99], "fine_labels", bytes_keys)
    d = cached(data.prepare("cifar100", tmp_path / "cache", source=folder.parent))
    assert d["num_classes"] == 100
    assert np.array_equal(d["x_train"].numpy(), x_train)
    assert d["y_train"].tolist() == [0, 99, 50, 1, 2, 3] and d["y_test"].tolist() == [42, 99]
    assert data.load("cifar100", tmp_path / "cache").num_classes == 100


def test_cifar100_npz(tmp_path):
    rng = np.random.default_rng(4)
    src = tmp_path / "src"
    src.mkdir()
    x_train = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    np.savez(src / "c100.npz", x_train=x_train, y_train=np.array([0, 1, 2, 98, 99]),
             x_test=x_train[:2], y_test=np.array([5, 6]))
    d = cached(data.prepare("cifar100", tmp_path / "cache", source=src))
    assert np.array_equal(d["x_train"].numpy(), x_train.transpose(0, 3, 1, 2))
    assert d["y_train"].tolist() == [0, 1, 2, 98, 99]


def test_svhn_mat(tmp_path):
    rng = np.random.default_rng(5)
    src = tmp_path / "src"
    src.mkdir()
    x_train = rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)  # [H, W, C, N] as in SVHN
    x_test = rng.integers(0, 256, (32, 32, 3, 2), dtype=np.uint8)
    scipy.io.savemat(src / "train_32x32.mat", {"X": x_train, "y": np.array([[10], [1], [9], [10]], np.uint8)})
    scipy.io.savemat(src / "test_32x32.mat", {"X": x_test, "y": np.array([[3], [10]], np.uint8)})
    d = cached(data.prepare("svhn", tmp_path / "cache", source=src))
    assert d["y_train"].tolist() == [0, 1, 9, 0]  # label 10 means the digit 0
    assert d["y_test"].tolist() == [3, 0]
    assert d["x_train"].shape == (4, 3, 32, 32)
    # x[n, c, h, w] == X[h, w, c, n]
    assert np.array_equal(d["x_train"][2].numpy(), x_train[..., 2].transpose(2, 0, 1))
    assert np.array_equal(d["x_test"][1].numpy(), x_test[..., 1].transpose(2, 0, 1))


def test_svhn_bad_mat_names_file(tmp_path):
    (tmp_path / "train_32x32.mat").write_bytes(b"not a mat file at all" * 10)
    (tmp_path / "test_32x32.mat").write_bytes(b"nope")
    with pytest.raises(DataError, match="train_32x32.mat"):
        data.prepare("svhn", tmp_path / "cache", source=tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_raw_and_gzip(tmp_path, gz):
    arrays = tiny_mnist(tmp_path / "src", gz=gz)
    d = cached(data.prepare("mnist", tmp_path / "cache", source=tmp_path / "src"))
    assert np.array_equal(d["x_train"][:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    assert np.array_equal(d["y_test"].numpy(), arrays["t10k-labels-idx1-ubyte"])
    assert d["x_train"].shape == (12, 1, 28, 28)


def test_mnist_torchvision_layout(tmp_path):
    arrays = tiny_mnist(tmp_path / "src" / "MNIST" / "raw", gz=True)
    d = cached(data.prepare("mnist", tmp_path / "cache", source=tmp_path / "src"))
    assert np.array_equal(d["x_test"][:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])  # the files under MNIST/raw
    assert np.array_equal(d["y_train"].numpy(), arrays["train-labels-idx1-ubyte"])


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_names_file(tmp_path, gz):
    arrays = tiny_mnist(tmp_path, gz=False)
    raw = (tmp_path / "train-images-idx3-ubyte").read_bytes()[:-100]
    (tmp_path / "train-images-idx3-ubyte").unlink()
    if gz:  # a cut-off gzip stream, not just a short payload
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw)[:-30])
    else:
        (tmp_path / "train-images-idx3-ubyte").write_bytes(raw)
    assert arrays
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        data.prepare("mnist", tmp_path / "cache", source=tmp_path)
    assert not (tmp_path / "cache" / "mnist.pt").exists()


def test_corrupt_gzip_names_file(tmp_path):
    tiny_mnist(tmp_path, gz=True)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    blob = bytearray(path.read_bytes())
    blob[40:60] = b"\xff" * 20  # damage the deflate stream
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        data.prepare("mnist", tmp_path / "cache", source=tmp_path)


def test_idx_bad_magic_names_file(tmp_path):
    tiny_mnist(tmp_path)
    # A label file where an image file belongs.
    (tmp_path / "train-images-idx3-ubyte").write_bytes((tmp_path / "train-labels-idx1-ubyte").read_bytes())
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*magic"):
        data.prepare("mnist", tmp_path / "cache", source=tmp_path)


def test_missing_mnist_file_named(tmp_path):
    tiny_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte") as err:
        data.prepare("mnist", tmp_path / "cache", source=tmp_path)
    assert "train-images" not in str(err.value)  # only the missing one is reported


def test_missing_source_dir(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        data.prepare("mnist", tmp_path / "cache", source=tmp_path / "nowhere")


def test_missing_cifar_files_listed(tmp_path):
    with pytest.raises(DataError, match="data_batch_1.*test_batch.*npz"):
        data.prepare("cifar10", tmp_path / "cache", source=tmp_path)


def test_bad_pickle_names_file(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"\x80\x02garbage")
    (folder / "test").write_bytes(b"")
    with pytest.raises(DataError, match="cifar-100-python/train"):
        data.prepare("cifar100", tmp_path / "cache", source=tmp_path)


def test_bad_npz_names_file(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match="broken.npz"):
        data.prepare("cifar10", tmp_path / "cache", source=tmp_path)


def test_invalid_labels_rejected_before_caching(tmp_path):
    x = np.zeros((3, 32, 32, 3), np.uint8)
    np.savez(tmp_path / "c10.npz", x_train=x, y_train=np.array([0, 1, 10]), x_test=x, y_test=np.array([0, 1, 2]))
    with pytest.raises(DataError, match=r"cifar10\.pt.*y_train"):
        data.prepare("cifar10", tmp_path / "cache", source=tmp_path)
    assert not (tmp_path / "cache" / "cifar10.pt").exists()


# ----------------------------------------------------------------------------- cache file


def test_missing_cache_names_prepare_command(tmp_path):
    with pytest.raises(DataError) as err:
        data.load("cifar10", tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "cifar10.pt") in msg
    assert f"gradguess data prepare --dataset cifar10 --root {tmp_path}" in msg


def test_corrupt_cache_names_file(tmp_path):
    tiny_mnist(tmp_path / "src")
    path = data.prepare("mnist", tmp_path, source=tmp_path / "src")
    path.write_bytes(path.read_bytes()[:200])  # truncated, as after a disk-full copy
    with pytest.raises(DataError, match="mnist.pt"):
        data.load("mnist", tmp_path)
    path.write_bytes(b"hello")
    with pytest.raises(DataError, match="mnist.pt"):
        data.load("mnist", tmp_path)


def test_wrong_format_cache_names_file(tmp_path):
    torch.save({"x_train": torch.zeros(2)}, tmp_path / "mnist.pt")
    with pytest.raises(DataError, match="mnist.pt.*missing keys"):
        data.load("mnist", tmp_path)
    # A cache from another data set, renamed.
    tiny_mnist(tmp_path / "src")
    data.prepare("mnist", tmp_path, source=tmp_path / "src")
    (tmp_path / "mnist.pt").rename(tmp_path / "svhn.pt")
    with pytest.raises(DataError, match="svhn.pt"):
        data.load("svhn", tmp_path)


def test_unknown_dataset_lists_valid_names(tmp_path):
    for call in (lambda: data.prepare("imagenet", tmp_path), lambda: data.load("imagenet", tmp_path)):
        with pytest.raises(DataError, match="imagenet") as err:
            call()
        for name in data.DATASETS:
            assert name in str(err.value)


# ----------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    data.prepare("synthetic", root, source="/ignored/for/synthetic")
    return root


def test_synthetic_deterministic(synthetic_root, tmp_path):
    a = cached(synthetic_root / "synthetic.pt")
    b = cached(data.prepare("synthetic", tmp_path))
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(a[key], b[key]), key
    assert a["x_train"].shape == (10000, 3, 32, 32) and a["x_test"].shape == (2000, 3, 32, 32)
    assert a["num_classes"] == 10
    assert sorted(a["y_train"].bincount().tolist()) == [1000] * 10  # balanced


def test_synthetic_learnable_but_not_trivial(synthetic_root):
    ds = data.load("synthetic", synthetic_root)
    torch.manual_seed(0)
    model = torch.nn.Linear(ds.in_features, ds.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, xt = ds.x_train.flatten(1), ds.x_test.flatten(1)
    for _ in range(60):  # full batch; about 0.53 test accuracy (chance is 0.1)
        loss = torch.nn.functional.cross_entropy(model(x), ds.y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(xt).argmax(1) == ds.y_test).float().mean().item()
    assert 0.3 < acc < 0.9, acc


# ----------------------------------------------------------------------------- download path


def test_download_uses_preplaced_torchvision_files(tmp_path):
    # torchvision skips the download when the uncompressed raw files exist.
    arrays = tiny_mnist(tmp_path / "raw" / "MNIST" / "raw")
    d = cached(data.prepare("mnist", tmp_path))
    assert np.array_equal(d["x_test"][:, 0].numpy(), arrays["t10k-images-idx3-ubyte"])
    assert np.array_equal(d["y_train"].numpy(), arrays["train-labels-idx1-ubyte"])
    assert "torchvision" in d["source"]


def test_download_converts_torchvision_cifar(tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    class FakeCIFAR10:
        def __init__(self, root, train, download):
            calls.append((Path(root), train, download))
            n = 4 if train else 2
            self.data = np.arange(n * 32 * 32 * 3, dtype=np.int64).reshape(n, 32, 32, 3).astype(np.uint8)
            self.targets = list(range(n))

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    d = cached(data.prepare("cifar10", tmp_path))
    assert calls == [(tmp_path / "raw", True, True), (tmp_path / "raw", False, True)]
    expected = FakeCIFAR10(tmp_path, True, True).data.transpose(0, 3, 1, 2)
    assert np.array_equal(d["x_train"].numpy(), expected)
    assert d["y_test"].tolist() == [0, 1]


def test_download_converts_torchvision_svhn(tmp_path, monkeypatch):
    import torchvision.datasets

    class FakeSVHN:
        def __init__(self, root, split, download):
            assert split in ("train", "test")
            self.data = np.full((3, 3, 32, 32), 7, np.uint8)  # torchvision's SVHN is already CHW
            self.labels = np.array([0, 5, 9])

    monkeypatch.setattr(torchvision.datasets, "SVHN", FakeSVHN)
    d = cached(data.prepare("svhn", tmp_path))
    assert d["x_train"].shape == (3, 3, 32, 32) and d["y_train"].tolist() == [0, 5, 9]


def test_failed_download_suggests_source(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz", URLError("no network"))

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(DataError, match="--source") as err:
        data.prepare("mnist", tmp_path)
    assert "download" in str(err.value) and "failed" in str(err.value)
    assert not (tmp_path / "mnist.pt").exists()


def test_no_source_and_no_download(tmp_path):
    with pytest.raises(DataError, match="--source"):
        data.prepare("cifar100", tmp_path, download=False)
