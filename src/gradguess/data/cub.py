"""CUB-200-2011 in its official layout (CUB_200_2011.tgz, unpacked).

    CUB_200_2011/images.txt               "<image id> <class dir>/<file>.jpg"
    CUB_200_2011/image_class_labels.txt   "<image id> <class 1..200>"
    CUB_200_2011/train_test_split.txt     "<image id> <1: train, 0: test>"
    CUB_200_2011/images/<class dir>/<file>.jpg

The official split: 5,994 training and 5,794 test images, in images.txt's order.
"""
from __future__ import annotations

import os
from pathlib import Path

from gradguess.catalog import NUM_CLASSES
from gradguess.data import images
from gradguess.data.core import Arrays, DataError
from gradguess.data.limits import ANNOTATION_TEXT_BYTES
from gradguess.data.untrusted import open_regular

FILES = ("images.txt", "image_class_labels.txt", "train_test_split.txt")
GET = ("CUB_200_2011.tgz (1.1 GB) from https://www.vision.caltech.edu/datasets/cub_200_2011/, unpacked; "
       "the source is the CUB_200_2011 directory or the one holding it")


def _table(path: Path) -> dict[int, str]:
    """A two-column "<id> <value>" file as {id: value}."""
    if not path.is_file():
        raise DataError(f"missing annotation file {path}")
    table = {}
    try:
        with open_regular(path) as f:
            if os.fstat(f.fileno()).st_size > ANNOTATION_TEXT_BYTES:
                raise DataError(f"{path} is larger than the {ANNOTATION_TEXT_BYTES:,} bytes an annotation table "
                                "may take (limits.ANNOTATION_TEXT_BYTES)")
            lines = f.read().decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read {path}: {e}") from None  # see pickles.unpickle
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split(maxsplit=1)
        if len(fields) != 2 or not fields[0].isdigit():
            raise DataError(f"{path}, line {number}: expected '<image id> <value>', found {line!r}")
        key = int(fields[0])
        if key in table:
            raise DataError(f"{path}, line {number}: image id {key} listed twice")
        table[key] = fields[1].strip()
    if not table:
        raise DataError(f"{path} lists no images")
    return table


def _folder(source: Path) -> Path:
    for d in (source, source / "CUB_200_2011"):
        if (d / "images.txt").is_file() or (d / "images").is_dir():
            return d
    raise DataError(f"no CUB-200-2011 files in {source}: expected {source / 'CUB_200_2011'} (or {source}) to hold "
                    f"{', '.join(FILES)} and images/. Get {GET}")


def import_cub200(source: Path, max_train: int | None = None, max_test: int | None = None) -> Arrays:
    folder = _folder(source)
    paths, classes, splits = (_table(folder / name) for name in FILES)
    for table, path in ((classes, folder / FILES[1]), (splits, folder / FILES[2])):
        if table.keys() != paths.keys():
            odd = sorted(table.keys() ^ paths.keys())
            raise DataError(f"{path} and {folder / FILES[0]} list different image ids (e.g. {odd[0]})")
    ids = list(paths)  # images.txt's order: by class, then by file
    labels = dict(zip(ids, images.labels_from([classes[i] for i in ids], folder / FILES[1], NUM_CLASSES["cub200"])))
    if not set(splits.values()) <= {"0", "1"}:
        raise DataError(f"{folder / FILES[2]}: the split flags must be 1 (train) or 0 (test)")
    image_dir = folder / "images"
    listing = {flag: [(images.inside(image_dir, paths[i], folder / FILES[0]), labels[i])
                      for i in ids if splits[i] == flag] for flag in ("1", "0")}
    return (*images.split(listing["1"], max_train, "cub200", "train", source, folder / FILES[2]),
            *images.split(listing["0"], max_test, "cub200", "test", source, folder / FILES[2]))
