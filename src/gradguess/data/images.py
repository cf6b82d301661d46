"""What the three fine-grained image sets (CUB-200-2011, Stanford Cars, Stanford Dogs) share.

Their JPEGs are decoded once, at preparation, into uint8 [N, 3, 224, 224] for a
ViT-B/16: training then only indexes tensors. Annotation files and images come
from users, so they are untrusted: names listed in them must stay inside the
image folder (and a symbolic link inside the source directory), a split may list no
more images than its official one, images must be regular files (a FIFO would block
forever) and JPEGs of at most `limits.IMAGE_PIXELS` (PIL's other decoders are never
reached), and .mat files are read through `matfile` (bounded; no pickle, no eval).
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from gradguess.data import matfile
from gradguess.data.core import DataError
from gradguess.data.limits import ANNOTATION_MAT_BYTES, IMAGE_PIXELS, IMAGES_LISTED
from gradguess.data.untrusted import open_regular

log = logging.getLogger("gradguess.data")

# Jia et al.'s VPT evaluation transform for 224-pixel inputs (src/data/transforms.py of KMnP/vpt):
# torchvision's Resize(256), which scales the shorter side to 256 and keeps the aspect ratio (not a
# 256 x 256 square), then CenterCrop(224). Both splits are stored so; VPT's training transform takes a
# random 224 crop of the 256 image instead, so any augmentation here must work on the centre crops.
RESIZE, SIZE = 256, 224

Listing = list[tuple[Path, int]]  # (image file, 0-based label)


def inside(folder: Path, name: str, listed_in: Path) -> Path:
    """`folder / name`, refusing a name from an annotation file that would leave `folder`."""
    rel = PurePosixPath(name.strip())
    if not name.strip() or rel.is_absolute() or ".." in rel.parts or "\\" in name:
        raise DataError(f"{listed_in} lists the image {name!r}, which is not a relative path inside {folder}")
    return folder.joinpath(*rel.parts)


def resize_crop(img):
    """torchvision's Resize(RESIZE) then CenterCrop(SIZE) on a PIL image, with PIL directly."""
    from PIL import Image

    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(RESIZE * long / short)
    new_w, new_h = (RESIZE, new_long) if w <= h else (new_long, RESIZE)
    img = img.resize((new_w, new_h), Image.BILINEAR)
    top, left = int(round((new_h - SIZE) / 2.0)), int(round((new_w - SIZE) / 2.0))
    return img.crop((left, top, left + SIZE, top + SIZE))


def decode(path: Path) -> np.ndarray:
    """One JPEG as uint8 [3, SIZE, SIZE] RGB (grey and CMYK files are converted, as torchvision's loader does)."""
    from PIL import Image

    try:
        with open_regular(path) as f, Image.open(f, formats=("JPEG",)) as img:
            if img.width * img.height > IMAGE_PIXELS:  # its header's size: nothing decoded yet
                raise DataError(f"image {path} is {img.width} x {img.height} pixels, more than the "
                                f"{IMAGE_PIXELS:,} an image may have (limits.IMAGE_PIXELS): refused before decoding it")
            rgb = resize_crop(img.convert("RGB"))
    except FileNotFoundError:
        raise DataError(f"missing image {path}") from None
    except DataError:
        raise
    except Exception as e:  # not a JPEG, truncated, decompression bomb, ...
        # not chained: see pickles.unpickle
        raise DataError(f"cannot decode image {path} (expected a JPEG): {type(e).__name__}: {e}") from None
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def decode_all(paths: Sequence[Path], what: str) -> np.ndarray:
    """All of `paths` as one uint8 [N, 3, SIZE, SIZE] array, decoded on a few threads.

    PIL releases the GIL while it decodes and resizes, so threads scale without
    copying images between processes. The array is allocated once and filled in
    place: for Stanford Dogs it is 3 GB.
    """
    out = np.empty((len(paths), 3, SIZE, SIZE), dtype=np.uint8)

    def fill(i: int) -> None:
        out[i] = decode(paths[i])
        if (i + 1) % 2000 == 0:
            log.info("%s: decoded %d of %d images", what, i + 1, len(paths))

    workers = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(fill, range(len(paths))):  # re-raises the first failure, in order
            pass
    return out


def within(path: Path, root: str, source: Path) -> Path:
    """`path`, refusing one that leads out of the source directory (`root`: its real path) by a link."""
    real = os.path.realpath(path)
    if os.path.commonpath([real, root]) != root:
        raise DataError(f"image {path} leads to {real}, outside the source directory {source} (a symbolic link "
                        "out of it): refused")
    return path


def split(listing: Listing, keep: int | None, dataset: str, part: str, source: Path,
          listed_in: Path) -> tuple[np.ndarray, np.ndarray]:
    """Decode the first `keep` (all if None) images of `listing` (the `part` split of `dataset`, from
    `listed_in`, whose images lie in `source`): images and labels.

    Only those are decoded, so a small preset does not pay for the whole set.
    """
    most = IMAGES_LISTED[dataset][part == "test"]
    if len(listing) > most:
        raise DataError(f"{listed_in} lists {len(listing):,} {part} images, more than the {most:,} of {dataset}'s "
                        "official split (limits.IMAGES_LISTED): refused before decoding any")
    listing = listing[:keep] if keep is not None else listing
    root = os.path.realpath(source)
    paths = [within(path, root, source) for path, _ in listing]
    return decode_all(paths, f"{dataset} {part}"), np.array([y for _, y in listing], np.int64)


def read_mat(path: Path, *variables: str) -> dict:
    """A .mat file's `variables`, squeezed (1 x N cells and structs become 1-D), or a DataError naming it.
    Read through `matfile`: each variable decompressed within `limits.ANNOTATION_MAT_BYTES` and checked."""
    if not path.is_file():
        raise DataError(f"missing annotation file {path}")
    mat = matfile.loadmat(path, variables, ANNOTATION_MAT_BYTES, "an annotation file's variable may hold "
                          "(limits.ANNOTATION_MAT_BYTES)")
    missing = [v for v in variables if v not in mat]
    if missing:
        raise DataError(f"{path} lacks the variable(s) {', '.join(missing)}")
    # squeeze_me turns a list of one into a scalar: make every variable 1-D again.
    return {v: np.atleast_1d(mat[v]) for v in variables}


def labels_from(values, path: Path, num_classes: int) -> list[int]:
    """1-based class numbers from an annotation file as 0-based labels, checked against `num_classes`."""
    numbers = []
    for v in np.asarray(values, dtype=object).reshape(-1):
        if isinstance(v, str):  # from a text file
            ok = v.strip().isdigit()
            n = int(v) if ok else 0
        else:  # from a .mat file: any numeric type holding a whole number
            try:
                n = int(v)
                ok = bool(n == v)
            except (TypeError, ValueError, OverflowError):
                ok = False
        if not ok:
            raise DataError(f"{path}: class label {v!r} is not an integer")
        if not 1 <= n <= num_classes:
            raise DataError(f"{path}: class label {n} outside 1..{num_classes}")
        numbers.append(n - 1)
    return numbers


def names_from(values, path: Path) -> list[str]:
    """File names from a .mat cell array of strings."""
    names = []
    for v in np.asarray(values, dtype=object).reshape(-1):
        v = np.asarray(v).reshape(-1)  # squeezed cells give a str, unsqueezed ones a 1-element array
        if v.size != 1 or not isinstance(v[0], str) or not v[0]:
            raise DataError(f"{path}: expected a list of file names, found an entry {v!r}")
        names.append(str(v[0]))
    return names
