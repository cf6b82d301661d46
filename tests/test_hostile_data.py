"""Hostile data files (issue 26): memory bombs and malformed files are refused, naming the file and the limit,
before anything large is allocated.

Every file here is small: headers that lie, and streams of zeros that would decompress to tens of MB (never
more). `refused` measures what Python and numpy allocate while a file is refused (tracemalloc): the importers
read a header, check it, and stop.
"""
from __future__ import annotations

import gzip
import io
import pickle
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io  # noqa: F401  (imported here, not while a test measures allocations)
import torch

from gradguess import data
from gradguess.data import DataError

MIB = 1 << 20


def refused(call, *needles, most_mib: int = 8, error: type[Exception] = DataError) -> str:
    """`call` raises `error` naming each of `needles`, having allocated less than `most_mib` MiB."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as err:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(err.value)
    for needle in needles:
        assert str(needle) in message, message
    assert peak < most_mib * MIB, f"{peak / MIB:.0f} MiB allocated before refusing: {message}"
    return message


def zeros_gz(mib: int) -> bytes:
    """`mib` MiB of zeros as gzip members (a file of ~1 KB per MiB; gzip reads the members as one stream)."""
    return gzip.compress(b"\0" * MIB, compresslevel=9) * mib


# ----------------------------------------------------------------------------- MNIST (IDX, gzip)


def mnist_files(folder: Path, images_head: bytes, images_body: bytes) -> Path:
    """The four MNIST files, the training images' replaced by a gzip of `images_head` then `images_body`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, magic, shape in (("train-labels-idx1-ubyte", 2049, (2,)), ("t10k-images-idx3-ubyte", 2051, (2, 28, 28)),
                               ("t10k-labels-idx1-ubyte", 2049, (2,))):
        (folder / name).write_bytes(struct.pack(f">{1 + len(shape)}i", magic, *shape) + bytes(np.prod(shape)))
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(images_head) + images_body)
    return path


def test_an_mnist_header_claiming_gigabytes_is_refused_before_decompressing(tmp_path):
    # the probe, smaller: a gzip of zeros whose IDX header claims 4,000,000 images (3.1 GB)
    path = mnist_files(tmp_path, struct.pack(">4i", 2051, 4_000_000, 28, 28), zeros_gz(64))
    refused(lambda: data.prepare("mnist", tmp_path / "cache", source=tmp_path),
            path, "4,000,000", "60,000", "limits.MNIST_EXAMPLES")


def test_an_mnist_stream_longer_than_its_header_is_not_decompressed_past_it(tmp_path):
    path = mnist_files(tmp_path, struct.pack(">4i", 2051, 2, 28, 28) + bytes(2 * 784), zeros_gz(64))
    refused(lambda: data.prepare("mnist", tmp_path / "cache", source=tmp_path), path, "more bytes")


def test_negative_mnist_dimensions_are_named(tmp_path):
    path = mnist_files(tmp_path, struct.pack(">4i", 2051, -2, -28, 28) + bytes(2 * 784), b"")
    refused(lambda: data.prepare("mnist", tmp_path / "cache", source=tmp_path), path, "negative")


# ----------------------------------------------------------------------------- CIFAR python batches (pickles)


def cifar10(tmp_path: Path, first: bytes) -> Path:
    """CIFAR-10's six batch files, the first one `first` (a pickle), the others valid and tiny."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    ok = pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}, protocol=2)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(ok)
    (folder / "data_batch_1").write_bytes(first)
    return folder / "data_batch_1"


def prepare_cifar10(tmp_path: Path):
    return lambda: data.prepare("cifar10", tmp_path / "cache", source=tmp_path)


def test_a_pickle_reusing_one_row_is_refused_by_its_row_count(tmp_path):
    # the probe, smaller: one row of 3,072 ints referenced 12,000 times (a 54 KB file; np.asarray would
    # build 295 MB of int64 from it, and the 100,000 references 2.5 GB)
    row = list(range(256)) * 12
    path = cifar10(tmp_path, pickle.dumps({"data": [row] * 12_000, "labels": [0] * 12_000}, protocol=2))
    assert path.stat().st_size < 64_000
    refused(prepare_cifar10(tmp_path), path, "12,000 rows", "10,000", "limits.CIFAR_ROWS")


@pytest.mark.parametrize("bomb", ["memo_index", "operations", "nested"])
def test_a_pickle_cannot_make_the_unpickler_allocate(tmp_path, bomb):
    needles, most = (), 8
    if bomb == "memo_index":  # 9 bytes: the C unpickler sized its memo by this index (268 MB)
        blob = b"\x80\x02}r" + struct.pack("<I", 1 << 24) + b"."
    elif bomb == "operations":  # 500,000 empty lists: 1 byte of pickle, 64 of memory each
        blob = b"\x80\x02}(X\x04\x00\x00\x00data](" + b"]" * 500_000 + b"eX\x06\x00\x00\x00labels]u."
        needles, most = ("330,000", "limits.PICKLE_OPS_PER_ROW"), 24  # refused after 330,000 (21 MB)
    else:  # labels nested 100,000 deep (numpy failed on them naming no file); 9 MB of lists
        needles, most = ("'labels'",), 16
        blob = (b"\x80\x02}(X\x04\x00\x00\x00data" + pickle.dumps(np.zeros((1, 3072), np.uint8), 2)[2:-1]
                + b"X\x06\x00\x00\x00labels" + b"]" * 100_000 + b"a" * 99_999 + b"u.")
    path = cifar10(tmp_path, blob)
    refused(prepare_cifar10(tmp_path), path, *needles, most_mib=most)


class Calls:
    """Pickles as a call of `func` with `args` (and a BUILD with `state`)."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


@pytest.mark.parametrize("how", ["ndarray_called", "reconstruct_shape"])
def test_a_pickle_cannot_have_numpy_allocate_a_shape(tmp_path, how):
    from numpy._core.multiarray import _reconstruct

    big = (20_000, 3072)  # 61 MB, never filled: accepted as CIFAR data before
    call = Calls(np.ndarray, (big,)) if how == "ndarray_called" else Calls(_reconstruct, (np.ndarray, big, b"B"))
    path = cifar10(tmp_path, pickle.dumps({"data": call, "labels": [0]}, protocol=2))
    refused(prepare_cifar10(tmp_path), path)


def test_an_object_array_state_is_refused_before_numpy_sees_it(tmp_path):
    """numpy builds an object array of the declared length from a pickled list and crashes on a short one
    (segmentation fault): run in a child process, so a regression fails this test, not the whole session."""
    from numpy._core.multiarray import _reconstruct

    blob = pickle.dumps({"data": Calls(_reconstruct, (np.ndarray, (0,), b"b"),
                                       (1, (10_000_000,), np.dtype("O"), False, [1])), "labels": [0]}, protocol=2)
    path = cifar10(tmp_path, blob)
    code = ("import sys; from pathlib import Path; from gradguess.data.pickles import unpickle\n"
            "try:\n    unpickle(Path(sys.argv[1]), 10_000)\nexcept Exception as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(path) in out.stdout and "dtype object" in out.stdout


@pytest.mark.parametrize("labels,needle", [(["cat", "dog"], "'cat'"), ([1.7, 2.0], "1.7"), ([[0], [1]], "a list")])
def test_labels_that_are_not_class_numbers_are_refused_naming_the_file(tmp_path, labels, needle):
    path = cifar10(tmp_path, pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": labels}, protocol=2))
    refused(prepare_cifar10(tmp_path), path, needle)


# ----------------------------------------------------------------------------- .npz


def npy(shape, descr: str = "|u1", body: bytes | None = None) -> bytes:
    """A .npy member: its header for `shape`, then `body` (by default the bytes the shape needs, zeros)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": descr, "fortran_order": False, "shape": shape})
    return head.getvalue() + (bytes(int(np.prod(shape)) * np.dtype(descr).itemsize) if body is None else body)


def declare(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size the zip records for `member` (both records): a lying archive."""
    blob, name = bytearray(path.read_bytes()), member.encode()
    for signature, size_at, name_length_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        at = blob.find(signature)
        while at != -1:
            length = struct.unpack_from("<H", blob, at + name_length_at)[0]
            if blob[at + name_at:at + name_at + length] == name:
                struct.pack_into("<I", blob, at + size_at, size)
            at = blob.find(signature, at + 4)
    path.write_bytes(bytes(blob))


def cifar_npz(path: Path, **members: bytes) -> Path:
    """A CIFAR .npz with two examples per split, but for `members` (raw .npy bytes)."""
    arrays = {"x_train": npy((2, 32, 32, 3)), "y_train": npy((2,)), "x_test": npy((2, 32, 32, 3)), "y_test": npy((2,))}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in {**arrays, **members}.items():
            z.writestr(f"{name}.npy", blob)
    return path


def test_an_npz_header_claiming_more_than_cifar_holds_is_refused_unread(tmp_path):
    # the zip bomb: 100,000 images (307 MB) declared by header and zip, 1 MB of zeros there
    header = npy((100_000, 32, 32, 3), body=b"")
    path = cifar_npz(tmp_path / "bomb.npz", x_train=header + bytes(MIB))
    declare(path, "x_train.npy", len(header) + 100_000 * 3072)
    assert path.stat().st_size < 10_000
    refused(lambda: data.prepare("cifar10", tmp_path / "cache", source=tmp_path),
            path, "x_train", "100,000", "50,000", "limits.NPZ_EXAMPLES")


def test_an_npz_member_whose_zip_size_and_header_disagree_is_refused(tmp_path):
    path = cifar_npz(tmp_path / "lies.npz", y_test=npy((2,)) + bytes(16 * MIB))  # 16 MiB of zeros after the array
    refused(lambda: data.prepare("cifar10", tmp_path / "cache", source=tmp_path), path, "y_test.npy", "uncompressed")


def test_an_npz_stream_longer_than_its_header_is_not_decompressed_past_it(tmp_path):
    path = cifar_npz(tmp_path / "long.npz", x_test=npy((2, 32, 32, 3)) + bytes(64 * MIB))
    declare(path, "x_test.npy", len(npy((2, 32, 32, 3))))  # the zip agrees with the header; the stream does not
    # read to its declared end, and no further: its checksum (of the whole stream) then fails; np.load read
    # only the header's bytes and took it
    refused(lambda: data.prepare("cifar10", tmp_path / "cache", source=tmp_path), path, "x_test.npy", "CRC")


@pytest.mark.parametrize("labels,needle", [(np.array([1.5, 2.0]), "1.5"), (np.array(["a", "b"]), "<U1")])
def test_npz_labels_that_are_not_class_numbers_are_refused(tmp_path, labels, needle):
    x = np.zeros((2, 32, 32, 3), np.uint8)
    np.savez(tmp_path / "c.npz", x_train=x, y_train=labels, x_test=x, y_test=np.array([0, 1]))
    refused(lambda: data.prepare("cifar10", tmp_path / "cache", source=tmp_path), tmp_path / "c.npz", needle)
    assert not (tmp_path / "cache" / "cifar10.pt").exists()


# ----------------------------------------------------------------------------- SVHN (.mat v5)


def mat_header() -> bytes:
    return b"MATLAB 5.0 MAT-file, crafted".ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100) + b"IM"


def tagged(kind: int, payload: bytes) -> bytes:
    return struct.pack("<II", kind, len(payload)) + payload + bytes(-len(payload) % 8)


def matrix_head(mclass: int, dims, name: str) -> bytes:
    """A miMATRIX's array flags, dimensions and name."""
    return (tagged(6, struct.pack("<II", mclass, 0)) + tagged(5, struct.pack(f"<{len(dims)}i", *dims))
            + tagged(1, name.encode()))


def compressed(head: bytes, zeros: int) -> bytes:
    """A miCOMPRESSED element: a miMATRIX of `head` and a uint8 data element of `zeros` zero bytes, streamed
    through zlib so that the test never holds the zeros."""
    padded = zeros + (-zeros % 8)
    inner = struct.pack("<II", 14, len(head) + 8 + padded) + head + struct.pack("<II", 2, zeros)
    z = zlib.compressobj(1)
    out = [z.compress(inner)] + [z.compress(bytes(min(MIB, left))) for left in range(padded, 0, -MIB)]
    stream = b"".join(out) + z.flush()
    return struct.pack("<II", 15, len(stream)) + stream


def svhn(tmp_path: Path, x_element: bytes) -> Path:
    """SVHN's two files: the test file valid and tiny, the training file's X `x_element`."""
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.ones((2, 1))})
    y_element = tagged(14, matrix_head(6, (1, 1), "y") + tagged(9, struct.pack("<d", 1.0)))
    (tmp_path / "train_32x32.mat").write_bytes(mat_header() + x_element + y_element)
    return tmp_path / "train_32x32.mat"


def test_an_svhn_mat_declaring_more_images_than_svhn_is_refused_before_decompressing(tmp_path):
    # a compressed X of 80,000 images of zeros (245 MB, decompressed whole before; SVHN's training file has 73,257)
    path = svhn(tmp_path, compressed(matrix_head(9, (32, 32, 3, 80_000), "X"), 80_000 * 3072))
    assert path.stat().st_size < 2 * MIB
    refused(lambda: data.prepare("svhn", tmp_path / "cache", source=tmp_path),
            path, "80,000", "73,257", "limits.SVHN_EXAMPLES")


def test_an_svhn_variable_larger_than_its_dimensions_is_not_decompressed(tmp_path):
    # X says 1 image; its element declares, and its stream holds, 64 MiB
    path = svhn(tmp_path, compressed(matrix_head(9, (32, 32, 3, 1), "X"), 64 * MIB))
    refused(lambda: data.prepare("svhn", tmp_path / "cache", source=tmp_path), path, "X", "(32, 32, 3, 1)")


def test_svhn_labels_in_a_cell_array_or_fractional_are_refused_naming_the_file(tmp_path):
    cell = np.empty((2, 1), dtype=object)
    cell[0, 0], cell[1, 0] = np.array([1.0]), "x"
    x = np.zeros((32, 32, 3, 2), np.uint8)
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": x, "y": np.ones((2, 1))})
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": cell})
    refused(lambda: data.prepare("svhn", tmp_path / "cache", source=tmp_path), "train_32x32.mat", "cell array")
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": np.array([[1.5], [10.0]])}, do_compression=True)
    refused(lambda: data.prepare("svhn", tmp_path / "cache", source=tmp_path), "train_32x32.mat", "1.5")


def test_compressed_svhn_files_still_load(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 3), dtype=np.uint8)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        scipy.io.savemat(tmp_path / name, {"X": x, "y": np.array([[10.0], [1.0], [9.0]])}, do_compression=True)
    d = torch.load(data.prepare("svhn", tmp_path / "cache", source=tmp_path), weights_only=True)
    assert d["y_train"].tolist() == [0, 1, 9]
    assert np.array_equal(d["x_test"][1].numpy(), x[..., 1].transpose(2, 0, 1))
