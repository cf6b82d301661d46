"""What the three fine-grained image sets (CUB-200-2011, Stanford Cars, Stanford Dogs) share.

Their JPEGs are decoded once, at preparation, into uint8 [N, 3, 224, 224] for a
ViT-B/16: training then only indexes tensors. Annotation files and images come
from users, so they are untrusted: names listed in them must stay inside the
image folder, images must be JPEGs (PIL's other decoders are never reached),
and .mat files are read with scipy (no pickle, no eval).
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Sequence

import numpy as np

from gradguess.data.core import DataError

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
        with Image.open(path, formats=("JPEG",)) as img:
            rgb = resize_crop(img.convert("RGB"))
    except FileNotFoundError:
        raise DataError(f"missing image {path}") from None
    except Exception as e:  # not a JPEG, truncated, decompression bomb, ...
        # not chained: see cifar.unpickle
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


def split(listing: Listing, keep: int | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode the first `keep` (all if None) images of `listing`: images and labels.

    Only those are decoded, so a small preset does not pay for the whole set.
    """
    listing = listing[:keep] if keep is not None else listing
    return decode_all([path for path, _ in listing], what), np.array([y for _, y in listing], np.int64)


def read_mat(path: Path, *variables: str) -> dict:
    """A .mat file's `variables`, squeezed (1 x N cells and structs become 1-D), or a DataError naming it."""
    import scipy.io  # lazily: `import gradguess.data` stays light

    if not path.is_file():
        raise DataError(f"missing annotation file {path}")
    try:
        mat = scipy.io.loadmat(path, squeeze_me=True)
    except Exception as e:  # scipy raises ValueError, MatReadError, OSError, ...
        raise DataError(f"cannot read {path}: {type(e).__name__}: {e}") from None  # see cifar.unpickle
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
