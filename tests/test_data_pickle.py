"""CIFAR's python batches are pickles: they load through a restricted unpickler that refuses any other callable."""
from __future__ import annotations

import io
import os
import pickle
import pickletools
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gradguess import data
from gradguess.data import DataError


class Py2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle wrote the CIFAR files: every string a BINSTRING (bytes), protocol 2."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 1.x, which wrote the files, lived at numpy.core (no frames at protocol 2: a plain replace is safe)
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def globals_named(blob: bytes) -> set[str]:
    return {arg.replace(" ", ".") for op, arg, _ in pickletools.genops(blob) if op.name == "GLOBAL"}


def batch(x: np.ndarray, labels, key: str) -> dict:
    return {"batch_label": "training batch 1 of 1", "data": x.reshape(len(x), -1), key: [int(v) for v in labels],
            "filenames": [f"img_{i}.png" for i in range(len(labels))]}


def test_python2_format_batches_load(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    x_train = rng.integers(0, 256, (5, 3, 32, 32), dtype=np.uint8)
    x_test = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    for name, x, y in (("train", x_train, [3, 0, 99, 42, 7]), ("test", x_test, [1, 98])):
        blob = py2_pickle(batch(x, y, "fine_labels"))
        # the file holds what the real ones hold: numpy's reconstructor by its Python 2 name, no _codecs
        assert globals_named(blob) == {"numpy.core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype"}
        (folder / name).write_bytes(blob)
    cached = torch.load(data.prepare("cifar100", tmp_path / "cache", source=tmp_path), weights_only=True)
    assert cached["y_train"].tolist() == [3, 0, 99, 42, 7] and cached["y_test"].tolist() == [1, 98]
    assert np.array_equal(cached["x_train"].numpy(), x_train) and np.array_equal(cached["x_test"].numpy(), x_test)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_repickled_by_python3_load(tmp_path, protocol):
    # protocols 0-2 name _codecs.encode and bytes; 5 names numpy's _frombuffer
    rng = np.random.default_rng(protocol)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    xs = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
        xs.append(x)
        entry = {**batch(x, [1, 9], "labels"), "empty": b""}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=protocol))
    cached = torch.load(data.prepare("cifar10", tmp_path / "cache", source=tmp_path), weights_only=True)
    assert np.array_equal(cached["x_train"].numpy(), np.concatenate(xs[:5]))
    assert np.array_equal(cached["x_test"].numpy(), xs[5])


def write_cifar100(folder: Path, train_blob: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train").write_bytes(train_blob)
    (folder / "test").write_bytes(pickle.dumps(batch(np.zeros((1, 3, 32, 32), np.uint8), [0], "fine_labels")))
    return folder / "train"


class RunsCommand:
    """A pickle that, unpickled plainly, runs os.system (the attack the restricted unpickler stops)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("how", ["protocol0_os_system", "reduce_os_system", "eval", "nested_in_dict", "popen"])
def test_a_pickle_naming_another_callable_is_refused_and_never_called(tmp_path, how):
    marker = tmp_path / "ran"
    command = f"touch {marker}"
    if how == "protocol0_os_system":  # the classic: GLOBAL 'os system', REDUCE
        blob, named = f"cos\nsystem\n(S'{command}'\ntR.".encode(), "os.system"
    elif how == "reduce_os_system":  # what pickle.dumps writes for os.system on this platform
        blob, named = pickle.dumps(RunsCommand(command), protocol=2), f"{os.system.__module__}.system"
    elif how == "eval":
        blob, named = f"cbuiltins\neval\n(V__import__('os').system('{command}')\ntR.".encode(), "builtins.eval"
    elif how == "nested_in_dict":  # a valid batch that hides the call among its entries
        entry = {**batch(np.zeros((1, 3, 32, 32), np.uint8), [0], "fine_labels"), "extra": RunsCommand(command)}
        blob, named = pickle.dumps(entry, protocol=4), f"{os.system.__module__}.system"
    else:
        blob, named = f"csubprocess\nPopen\n((S'touch'\nS'{marker}'\nltR.".encode(), "subprocess.Popen"
    path = write_cifar100(tmp_path / "src" / "cifar-100-python", blob)
    with pytest.raises(DataError) as err:
        data.prepare("cifar100", tmp_path / "cache", source=tmp_path / "src")
    msg = str(err.value)
    assert str(path) in msg and named in msg and "refused" in msg
    assert not marker.exists()
    assert not (tmp_path / "cache" / "cifar100.pt").exists()


def test_only_latin1_codecs_are_admitted(tmp_path):
    # _codecs.encode is admitted for the bytes Python 3 writes at protocol 2, with latin1 only
    blob = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    write_cifar100(tmp_path / "cifar-100-python", blob)
    with pytest.raises(DataError, match="rot13"):
        data.prepare("cifar100", tmp_path / "cache", source=tmp_path)


def test_object_arrays_are_refused(tmp_path):
    entry = batch(np.zeros((1, 3, 32, 32), np.uint8), [0], "fine_labels")
    entry["data"] = entry["data"].astype(object)
    write_cifar100(tmp_path / "cifar-100-python", pickle.dumps(entry, protocol=2))
    with pytest.raises(DataError, match="dtype object"):
        data.prepare("cifar100", tmp_path / "cache", source=tmp_path)


@pytest.mark.parametrize("blob", [b"", b"\x80\x02garbage", b"\x80\x02}q\x00(X\x04\x00\x00\x00data"])
def test_a_damaged_batch_is_named_as_a_cifar_file(tmp_path, blob):
    path = write_cifar100(tmp_path / "cifar-100-python", blob)
    with pytest.raises(DataError) as err:
        data.prepare("cifar100", tmp_path / "cache", source=tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"cannot unpickle {path}: ") and "PyTorch" not in msg  # a source file, not a cache to delete
