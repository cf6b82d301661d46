"""Hostile files in the fine-grained image sets (issue 26): a FIFO or a link out of the source directory among the
images, more images listed than the official split, a JPEG header claiming a huge image, an annotation .mat
whose cell array claims millions of entries, an oversized CUB table. Each is refused naming the file."""
from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image  # noqa: F401  (imported here, not while a test measures allocations)
from test_data_fgvc import FGVC, jpeg, write
from test_hostile_data import mat_header, matrix_head, refused, tagged

from gradguess import data
from gradguess.data import DataError


def release_after(fifo: Path, seconds: float) -> tuple[threading.Event, threading.Event]:
    """(hung, done): if something still waits to read `fifo` after `seconds` (`done` not yet set), open it for
    writing, which lets that reader go on (to an empty file), and set `hung`."""
    hung, done = threading.Event(), threading.Event()

    def watch() -> None:
        if done.wait(seconds):
            return
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # fails unless a reader waits
        except OSError:
            return
        hung.set()
        os.close(fd)

    threading.Thread(target=watch, daemon=True).start()
    return hung, done


@pytest.mark.parametrize("dataset", FGVC)
def test_a_fifo_among_the_images_is_refused_not_waited_on(tmp_path, dataset):
    files = write(dataset, tmp_path / "src")
    path = files["test"][1][0]
    path.unlink()
    os.mkfifo(path)
    hung, done = release_after(path, 5.0)
    try:
        with pytest.raises(DataError) as err:
            data.prepare(dataset, tmp_path / "cache", source=files["source"])
    finally:
        done.set()
    assert not hung.is_set(), "prepare waited on the FIFO"
    assert str(path) in str(err.value) and "FIFO" in str(err.value)
    assert not (tmp_path / "cache" / f"{dataset}.pt").exists()


@pytest.mark.parametrize("dataset", FGVC)
def test_a_link_out_of_the_source_directory_is_refused_one_inside_is_not(tmp_path, dataset):
    files = write(dataset, tmp_path / "src")
    path, other = files["test"][1][0], files["test"][0][0]
    outside = jpeg(tmp_path / "elsewhere" / "x.jpg", (1, 2, 3))
    path.unlink()
    os.symlink(outside, path)
    with pytest.raises(DataError) as err:
        data.prepare(dataset, tmp_path / "cache", source=files["source"])
    assert str(path) in str(err.value) and str(outside) in str(err.value) and "outside the source" in str(err.value)
    path.unlink()
    os.symlink(os.path.relpath(other, path.parent), path)  # a link to another image of the set: accepted
    d = torch.load(data.prepare(dataset, tmp_path / "cache", source=files["source"]), weights_only=True)
    assert torch.equal(d["x_test"][1], d["x_test"][0])


def test_more_images_listed_than_the_official_split_are_refused_before_decoding(tmp_path):
    files = write("cub200", tmp_path / "src")
    base = files["source"] / "CUB_200_2011"
    rel = (base / "images.txt").read_text().split()[1]
    n = 5_995  # CUB's training split has 5,994; every line names the same small image
    (base / "images.txt").write_text("".join(f"{i} {rel}\n" for i in range(1, n + 2)))
    (base / "image_class_labels.txt").write_text("".join(f"{i} 1\n" for i in range(1, n + 2)))
    (base / "train_test_split.txt").write_text("".join(f"{i} {int(i <= n)}\n" for i in range(1, n + 2)))
    refused(lambda: data.prepare("cub200", tmp_path / "cache", source=files["source"], max_train=2),
            "train_test_split.txt", "5,995", "5,994", "limits.IMAGES_LISTED")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_jpeg_claiming_more_pixels_than_the_cap_is_refused_before_decoding(tmp_path):
    files = write("cub200", tmp_path / "src")
    path = files["test"][0][0]
    blob = bytearray(path.read_bytes())
    sof = blob.find(b"\xff\xc0")  # the frame header: precision, then height and width
    struct.pack_into(">HH", blob, sof + 5, 9_500, 9_500)  # 90.25 million pixels (270 MB decoded)
    path.write_bytes(bytes(blob))
    refused(lambda: data.prepare("cub200", tmp_path / "cache", source=files["source"]),
            path, "9500 x 9500", "limits.IMAGE_PIXELS")


def test_an_annotation_cell_array_claiming_millions_of_entries_is_refused_unallocated(tmp_path):
    # a 200-byte file_list: scipy allocated its 10,000,000 cells (80 MB) before finding none there
    files = write("stanford_dogs", tmp_path / "src")
    lists = files["annotations"][0]
    labels = tagged(14, matrix_head(6, (1, 1), "labels") + tagged(9, struct.pack("<d", 1.0)))
    lists.write_bytes(mat_header() + tagged(14, matrix_head(1, (10_000_000, 1), "file_list")) + labels)
    refused(lambda: data.prepare("stanford_dogs", tmp_path / "cache", source=files["source"]), lists, "10,000,000")


def test_an_oversized_cub_table_is_refused(tmp_path, monkeypatch):
    import gradguess.data.cub

    files = write("cub200", tmp_path / "src")
    monkeypatch.setattr(gradguess.data.cub, "ANNOTATION_TEXT_BYTES", 64)  # the real cap is 16 MiB: a small file
    with pytest.raises(DataError, match=r"images\.txt is larger than the 64 bytes.*limits\.ANNOTATION_TEXT_BYTES"):
        data.prepare("cub200", tmp_path / "cache", source=files["source"])


@pytest.mark.parametrize("dataset", ["stanford_cars", "stanford_dogs"])
def test_compressed_annotation_files_load_as_before(tmp_path, dataset):
    files = write(dataset, tmp_path / "src")
    before = torch.load(data.prepare(dataset, tmp_path / "a", source=files["source"]), weights_only=True)
    for path in files["annotations"]:  # as MATLAB writes them (-v7: every variable compressed)
        mat = scipy.io.loadmat(path)
        scipy.io.savemat(path, {k: v for k, v in mat.items() if not k.startswith("__")}, do_compression=True)
    after = torch.load(data.prepare(dataset, tmp_path / "b", source=files["source"]), weights_only=True)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(before[key], after[key]), key
    assert np.array_equal(before["y_train"].numpy(), [label for _, label, _ in files["train"]])
