"""The prompt-tuning sets (CUB-200-2011, Stanford Cars, Stanford Dogs) from tiny files in their real layouts.

Each writer below produces a few JPEGs and the real annotation formats (text
tables for CUB, MATLAB files with the real variable and field names for Cars
and Dogs). Uniform images carry their class as a colour, so a test can tell
that every label landed on its own image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from gradguess import data
from gradguess.cli import main
from gradguess.data import DataError

PALETTE = [(220, 30, 30), (30, 200, 40), (40, 60, 230), (240, 220, 20), (200, 40, 200), (20, 210, 210)]
SIZES = [(40, 30), (30, 44), (64, 64), (50, 21)]  # landscape, portrait, square, wide


def jpeg(path: Path, colour=None, size=(40, 30), seed: int = 0, mode: str = "RGB") -> Path:
    """A JPEG of one colour, or of random noise in `mode` (the sets hold a few grey and CMYK files) when
    `colour` is None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if colour is None:
        pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(path, "JPEG", quality=90)
    else:
        Image.new("RGB", size, colour).save(path, "JPEG", quality=95)
    return path


def colour_index(image: torch.Tensor) -> int:
    """The palette entry a stored uniform [3, 224, 224] image shows (within JPEG's rounding)."""
    mean = image.double().mean(dim=(1, 2)).numpy()
    dist = [np.abs(mean - np.array(c)).max() for c in PALETTE]
    assert min(dist) < 6, f"not a palette colour: {mean}"
    return int(np.argmin(dist))


# ----------------------------------------------------------------------------- writers of the real layouts


def write_cub(root: Path, entries) -> dict:
    """CUB_200_2011/ under `root`; entries: (class 1..200, is_train) in images.txt order."""
    base = root / "CUB_200_2011"
    lines = {"images.txt": [], "image_class_labels.txt": [], "train_test_split.txt": []}
    out = {"source": root, "annotations": [base / n for n in lines], "train": [], "test": []}
    for i, (cls, train) in enumerate(entries, start=1):
        rel = f"{cls:03d}.Bird_{cls}/Bird_{cls}_{i:04d}_{1000 + i}.jpg"
        path = jpeg(base / "images" / rel, PALETTE[i % len(PALETTE)], SIZES[i % len(SIZES)])
        lines["images.txt"].append(f"{i} {rel}")
        lines["image_class_labels.txt"].append(f"{i} {cls}")
        lines["train_test_split.txt"].append(f"{i} {int(train)}")
        out["train" if train else "test"].append((path, cls - 1, i % len(PALETTE)))
    (base / "classes.txt").write_text("".join(f"{c} {c:03d}.Bird_{c}\n" for c in sorted({c for c, _ in entries})))
    for name, rows in lines.items():
        (base / name).write_text("\n".join(rows) + "\n")
    return out


def cars_annotations(path: Path, rows) -> None:
    """A struct array `annotations` with the fields of the real cars_*_annos*.mat files."""
    fields = ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")
    records = np.zeros((1, len(rows)), dtype=[(f, "O") for f in fields])
    for j, (fname, cls) in enumerate(rows):
        records[0, j] = (np.uint16(3), np.uint16(4), np.uint16(30), np.uint16(20), np.uint8(cls), fname)
    scipy.io.savemat(path, {"annotations": records})


def write_cars(root: Path, train_classes, test_classes, noise: bool = False) -> dict:
    """torchvision's StanfordCars layout under `root`."""
    base = root / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    names = np.array([f"Make Model {c} 2012" for c in range(1, 197)], dtype=object).reshape(1, -1)
    scipy.io.savemat(base / "devkit" / "cars_meta.mat", {"class_names": names})
    out = {"source": root, "annotations": [base / "devkit" / "cars_train_annos.mat",
                                            base / "cars_test_annos_withlabels.mat", base / "devkit" / "cars_meta.mat"]}
    for split, classes, annos in (("train", train_classes, out["annotations"][0]),
                                  ("test", test_classes, out["annotations"][1])):
        rows, out[split] = [], []
        for j, cls in enumerate(classes):
            fname = f"{j + 1:05d}.jpg"
            k = (j + (split == "test")) % len(PALETTE)
            path = jpeg(base / f"cars_{split}" / fname, None if noise else PALETTE[k], SIZES[j % len(SIZES)], seed=j,
                        mode=("RGB", "L", "CMYK")[j % 3])
            rows.append((fname, cls))
            out[split].append((path, cls - 1, k))
        cars_annotations(annos, rows)
    return out


WNIDS = {c: f"n02{85620 + c:06d}-Breed_{c}" for c in range(1, 121)}


def write_dogs(root: Path, train_classes, test_classes) -> dict:
    """Images/ from images.tar and train_list.mat, test_list.mat from lists.tar, under `root`."""
    out = {"source": root, "annotations": [root / "train_list.mat", root / "test_list.mat"]}
    every = []
    for split, classes in (("train", train_classes), ("test", test_classes)):
        files, out[split] = [], []
        for j, cls in enumerate(classes):
            stem = f"{WNIDS[cls].split('-')[0]}_{split}{j}"
            k = (2 * j + (split == "test")) % len(PALETTE)
            path = jpeg(root / "Images" / WNIDS[cls] / f"{stem}.jpg", PALETTE[k], SIZES[j % len(SIZES)])
            files.append(f"{WNIDS[cls]}/{stem}.jpg")
            out[split].append((path, cls - 1, k))
        cell = np.array(files, dtype=object).reshape(-1, 1)
        scipy.io.savemat(root / f"{split}_list.mat", {
            "file_list": cell, "annotation_list": np.array([f[:-4] for f in files], dtype=object).reshape(-1, 1),
            "labels": np.array(classes, dtype=np.float64).reshape(-1, 1)})
        every += files
    scipy.io.savemat(root / "file_list.mat", {"file_list": np.array(every, dtype=object).reshape(-1, 1)})
    return out


def write(dataset: str, root: Path) -> dict:
    if dataset == "cub200":
        return write_cub(root, [(1, True), (1, False), (2, True), (200, False), (2, True), (200, True), (1, True)])
    if dataset == "stanford_cars":
        return write_cars(root, [5, 196, 1, 5], [1, 196, 7])
    return write_dogs(root, [1, 120, 2, 1], [120, 2, 1])


FGVC = ["cub200", "stanford_cars", "stanford_dogs"]


# ----------------------------------------------------------------------------- import, split, labels, pixels


@pytest.mark.parametrize("dataset", FGVC)
def test_official_split_labels_and_images(tmp_path, dataset):
    files = write(dataset, tmp_path / "src")
    path = data.prepare(dataset, tmp_path / "cache", source=files["source"])
    d = torch.load(path, weights_only=True)
    assert d["num_classes"] == {"cub200": 200, "stanford_cars": 196, "stanford_dogs": 120}[dataset]
    assert str(files["source"].resolve()) in d["source"]
    for split in ("train", "test"):
        x, y = d[f"x_{split}"], d[f"y_{split}"]
        assert x.dtype == torch.uint8 and x.shape == (len(files[split]), 3, 224, 224) and x.is_contiguous()
        # the official split, in the annotation files' order, with 0-based labels
        assert y.tolist() == [label for _, label, _ in files[split]]
        # each label sits on its own image: uniform images are their colour, each channel in its place
        assert [colour_index(img) for img in x] == [k for _, _, k in files[split]]


def test_cub_accepts_its_directory_or_the_parent(tmp_path):
    files = write("cub200", tmp_path / "src")
    a = torch.load(data.prepare("cub200", tmp_path / "a", source=files["source"]), weights_only=True)
    b = torch.load(data.prepare("cub200", tmp_path / "b", source=files["source"] / "CUB_200_2011"), weights_only=True)
    assert torch.equal(a["x_train"], b["x_train"]) and torch.equal(a["y_test"], b["y_test"])


def test_cars_match_torchvision_and_vpt_test_transform(tmp_path):
    """Our Cars import against torchvision's own StanfordCars reader on the same files, followed by
    Jia et al.'s evaluation transform: Resize(256) (shorter side) then CenterCrop(224)."""
    from torchvision import datasets as tvd
    from torchvision import transforms as T

    files = write_cars(tmp_path / "src", [3, 196, 1, 9], [2, 196, 1], noise=True)
    d = torch.load(data.prepare("stanford_cars", tmp_path / "cache", source=tmp_path / "src"), weights_only=True)
    vpt = T.Compose([T.Resize(256), T.CenterCrop(224), T.PILToTensor()])
    for split in ("train", "test"):
        reference = tvd.StanfordCars(tmp_path / "src", split=split, transform=vpt)
        assert len(reference) == len(d[f"x_{split}"]) == len(files[split])
        for i in range(len(reference)):
            image, target = reference[i]
            assert target == d[f"y_{split}"][i].item()
            assert torch.equal(image, d[f"x_{split}"][i]), (split, i)


def test_resize_keeps_aspect_then_crops_the_centre(tmp_path):
    # 512 x 256: the shorter side is already 256, so the crop is the original's columns 144..367 and rows
    # 16..239; red turns blue at the original's column 300, the crop's 156 (a 256 x 256 resize would put it at 134).
    pixels = np.zeros((256, 512, 3), np.uint8)
    pixels[:, :300] = (230, 20, 20)
    pixels[:, 300:] = (20, 20, 230)
    files = write_cub(tmp_path / "src", [(4, True), (4, False)])
    Image.fromarray(pixels).save(files["train"][0][0], "JPEG", quality=95)
    x = torch.load(data.prepare("cub200", tmp_path / "cache", source=tmp_path / "src"), weights_only=True)["x_train"][0]
    assert (x[0, :, :148] > 200).all() and (x[2, :, :148] < 50).all()
    assert (x[2, :, 164:] > 200).all() and (x[0, :, 164:] < 50).all()


def test_max_train_and_max_test_decode_only_the_images_kept(tmp_path):
    files = write("stanford_dogs", tmp_path / "src")
    files["train"][3][0].write_bytes(b"not a jpeg")  # past the limit: never opened
    files["test"][2][0].write_bytes(b"not a jpeg")
    d = torch.load(data.prepare("stanford_dogs", tmp_path / "cache", source=tmp_path / "src", max_train=2,
                                max_test=2), weights_only=True)
    assert d["y_train"].tolist() == [label for _, label, _ in files["train"][:2]]
    assert d["y_test"].tolist() == [label for _, label, _ in files["test"][:2]]
    assert "first 2 training examples, first 2 test examples" in d["source"]


# ----------------------------------------------------------------------------- load and prepare_batch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def test_load_keeps_pixels_and_prepare_batch_normalises_with_imagenet_statistics(tmp_path):
    files = write("cub200", tmp_path / "src")
    data.prepare("cub200", tmp_path / "cache", source=files["source"])
    d = data.load("cub200", tmp_path / "cache")
    assert d.x_train.dtype == torch.uint8 and d.x_train.shape == (5, 3, 224, 224) and d.x_test.shape[0] == 2
    assert d.num_classes == 200 and d.in_features == 3 * 224 * 224 and d.name == "cub200"
    batch = d.x_train[1:3]
    out = d.prepare_batch(batch)
    assert out.dtype == torch.float32 and out.shape == batch.shape
    assert torch.equal(d.x_train[1:3], batch)  # the stored pixels are untouched
    for c in range(3):
        v = batch[0, c, 100, 37].item()
        assert out[0, c, 100, 37].item() == pytest.approx((v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], abs=1e-6)
    # a whole image of the palette colour: every pixel normalised the same way
    rgb = PALETTE[files["train"][1][2]]
    for c in range(3):
        assert out[0, c].mean().item() == pytest.approx((rgb[c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c], abs=0.03)
    with pytest.raises(TypeError, match="uint8"):
        d.prepare_batch(out)  # normalising twice is refused


def test_prepare_batch_is_the_identity_for_the_sets_normalised_at_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "c10.npz", x_train=x, y_train=np.arange(6), x_test=x[:2], y_test=np.arange(2))
    data.prepare("cifar10", tmp_path / "cache", source=tmp_path)
    d = data.load("cifar10", tmp_path / "cache")
    assert d.x_train.dtype == torch.float32 and d.prepare_batch(d.x_train[:4]) is not None
    assert d.prepare_batch(d.x_train[:4]).data_ptr() == d.x_train[:4].data_ptr()
    assert torch.allclose(d.x_train.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)  # as before: own statistics


# ----------------------------------------------------------------------------- clear errors

WHERE = {"cub200": "vision.caltech.edu/datasets/cub_200_2011", "stanford_cars": "StanfordCars",
         "stanford_dogs": "vision.stanford.edu/aditya86/ImageNetDogs"}


@pytest.mark.parametrize("dataset", FGVC)
def test_no_source_says_where_to_get_the_files_and_which_key_to_set(tmp_path, dataset):
    for download in (True, False):
        with pytest.raises(DataError) as err:
            data.prepare(dataset, tmp_path, download=download)
        assert WHERE[dataset] in str(err.value) and f"data.sources.{dataset}" in str(err.value)
    assert not (tmp_path / f"{dataset}.pt").exists()


@pytest.mark.parametrize("dataset", FGVC)
def test_missing_or_empty_directory(tmp_path, dataset):
    with pytest.raises(DataError, match="nowhere.*does not exist"):
        data.prepare(dataset, tmp_path / "cache", source=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as err:
        data.prepare(dataset, tmp_path / "cache", source=tmp_path / "empty")
    assert str(tmp_path / "empty") in str(err.value) and WHERE[dataset] in str(err.value)


@pytest.mark.parametrize("dataset,which", [(d, i) for d in FGVC for i in range(2)]
                         + [("cub200", 2), ("stanford_cars", 2)])
def test_missing_annotation_file_is_named(tmp_path, dataset, which):
    files = write(dataset, tmp_path / "src")
    files["annotations"][which].unlink()
    with pytest.raises(DataError, match=f"missing annotation file .*{files['annotations'][which].name}"):
        data.prepare(dataset, tmp_path / "cache", source=files["source"])
    assert not (tmp_path / "cache" / f"{dataset}.pt").exists()


@pytest.mark.parametrize("dataset", ["stanford_cars", "stanford_dogs"])
def test_corrupt_mat_file_is_named(tmp_path, dataset):
    files = write(dataset, tmp_path / "src")
    files["annotations"][1].write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(DataError, match=files["annotations"][1].name):
        data.prepare(dataset, tmp_path / "cache", source=files["source"])


@pytest.mark.parametrize("dataset", FGVC)
@pytest.mark.parametrize("damage", ["garbage", "truncated", "png", "missing"])
def test_bad_image_is_named(tmp_path, dataset, damage):
    files = write(dataset, tmp_path / "src")
    path = files["test"][1][0]
    if damage == "garbage":
        path.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG at all" * 4)
    elif damage == "truncated":
        jpeg(path, None, (200, 150))
        path.write_bytes(path.read_bytes()[:600])
    elif damage == "png":  # a decodable image, but not in the format the data sets ship
        Image.new("RGB", (40, 30), (1, 2, 3)).save(path, "PNG")
    else:
        path.unlink()
    with pytest.raises(DataError, match="missing image" if damage == "missing" else "cannot decode image") as err:
        data.prepare(dataset, tmp_path / "cache", source=files["source"])
    assert str(path) in str(err.value)
    assert not (tmp_path / "cache" / f"{dataset}.pt").exists()


def test_cub_bad_tables(tmp_path):
    files = write("cub200", tmp_path / "src")
    base = files["source"] / "CUB_200_2011"
    labels = (base / "image_class_labels.txt").read_text()
    (base / "image_class_labels.txt").write_text(labels.replace("4 200", "4 201"))
    with pytest.raises(DataError, match="image_class_labels.txt.*201 outside 1..200"):
        data.prepare("cub200", tmp_path / "cache", source=files["source"])
    (base / "image_class_labels.txt").write_text(labels.replace("4 200\n", ""))
    with pytest.raises(DataError, match="image_class_labels.txt.*different image ids"):
        data.prepare("cub200", tmp_path / "cache", source=files["source"])
    (base / "image_class_labels.txt").write_text(labels)
    images = (base / "images.txt").read_text()
    (base / "images.txt").write_text(images.replace("2 001.Bird_1/", "2 ../../"))
    with pytest.raises(DataError, match="images.txt.*not a relative path inside"):
        data.prepare("cub200", tmp_path / "cache", source=files["source"])


def test_cars_bad_annotations(tmp_path):
    files = write("stanford_cars", tmp_path / "src")
    cars_annotations(files["annotations"][0], [("00001.jpg", 197)])
    with pytest.raises(DataError, match="cars_train_annos.mat.*197 outside 1..196"):
        data.prepare("stanford_cars", tmp_path / "cache", source=files["source"])
    no_class = np.zeros((1, 2), dtype=[("fname", "O"), ("bbox_x1", "O")])
    scipy.io.savemat(files["annotations"][0], {"annotations": no_class})
    with pytest.raises(DataError, match="cars_train_annos.mat.*lacks the field.*class"):
        data.prepare("stanford_cars", tmp_path / "cache", source=files["source"])


def test_dogs_label_outside_the_breeds(tmp_path):
    files = write("stanford_dogs", tmp_path / "src")
    mat = scipy.io.loadmat(files["annotations"][0])
    mat["labels"][0, 0] = 121
    scipy.io.savemat(files["annotations"][0], {k: v for k, v in mat.items() if not k.startswith("__")})
    with pytest.raises(DataError, match="train_list.mat.*121 outside 1..120"):
        data.prepare("stanford_dogs", tmp_path / "cache", source=files["source"])


# ----------------------------------------------------------------------------- command line


def test_cli_prepares_cub(tmp_path, capsys):
    files = write("cub200", tmp_path / "src")
    root = tmp_path / "root"
    assert main(["data", "prepare", "--dataset", "cub200", "--source", str(files["source"]), "--root", str(root)]) == 0
    assert data.load("cub200", root).x_test.shape == (2, 3, 224, 224)
    assert main(["data", "prepare", "--dataset", "stanford_dogs", "--root", str(root)]) == 2
    assert "data.sources.stanford_dogs" in capsys.readouterr().err
