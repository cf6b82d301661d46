"""Stanford Dogs in its official layout (images.tar and lists.tar, unpacked side by side).

    Images/<wnid>-<breed>/<file>.jpg
    train_list.mat   file_list (cell: "<wnid>-<breed>/<file>.jpg"), annotation_list, labels (1..120)
    test_list.mat    the same for the test images

The official split: 12,000 training (100 per class) and 8,580 test images, in the lists' order.
"""
from __future__ import annotations

from pathlib import Path

from gradguess.catalog import NUM_CLASSES
from gradguess.data import images
from gradguess.data.core import Arrays, DataError

GET = ("images.tar (757 MB) and lists.tar (0.5 MB) from http://vision.stanford.edu/aditya86/ImageNetDogs/, "
       "both unpacked into the source directory (giving Images/, train_list.mat and test_list.mat)")


def _listing(lists: Path, image_dir: Path) -> images.Listing:
    mat = images.read_mat(lists, "file_list", "labels")
    names = images.names_from(mat["file_list"], lists)
    labels = images.labels_from(mat["labels"], lists, NUM_CLASSES["stanford_dogs"])
    if len(names) != len(labels):
        raise DataError(f"{lists}: file_list has {len(names)} entries but labels {len(labels)}")
    return [(images.inside(image_dir, name, lists), label) for name, label in zip(names, labels)]


def import_stanford_dogs(source: Path, max_train: int | None = None, max_test: int | None = None) -> Arrays:
    image_dir = source / "Images"
    if not image_dir.is_dir() and not (source / "train_list.mat").is_file():
        raise DataError(f"no Stanford Dogs files in {source}: expected Images/, train_list.mat and test_list.mat. "
                        f"Get {GET}")
    if not image_dir.is_dir():
        raise DataError(f"missing image directory {image_dir} (from images.tar)")
    train = _listing(source / "train_list.mat", image_dir)
    test = _listing(source / "test_list.mat", image_dir)
    return (*images.split(train, max_train, "stanford_dogs", "train", source, source / "train_list.mat"),
            *images.split(test, max_test, "stanford_dogs", "test", source, source / "test_list.mat"))
