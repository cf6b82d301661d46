"""Stanford Cars in torchvision's `StanfordCars` layout (torchvision/datasets/stanford_cars.py).

    stanford_cars/cars_train/<file>.jpg
    stanford_cars/cars_test/<file>.jpg
    stanford_cars/devkit/cars_train_annos.mat       struct array `annotations`: fname, class (1..196), bbox_*
    stanford_cars/cars_test_annos_withlabels.mat    the same for the test images
    stanford_cars/devkit/cars_meta.mat              cell array `class_names` (196)

The official split: 8,144 training and 8,041 test images, in the annotation files' order;
labels are `class - 1`, as torchvision's.
"""
from __future__ import annotations

from pathlib import Path

from gradguess.catalog import NUM_CLASSES
from gradguess.data import images
from gradguess.data.core import Arrays, DataError

GET = ("the images (cars_train/, cars_test/; e.g. https://www.kaggle.com/datasets/jessicali9530/stanford-cars-dataset, "
       "about 1.9 GB, with any nested cars_train/cars_train flattened), the devkit (car_devkit.tgz) and "
       "cars_test_annos_withlabels.mat as https://github.com/pytorch/vision/issues/7545#issuecomment-1631441616 "
       "describes (the original site is gone and torchvision's download is disabled), arranged in torchvision's "
       "StanfordCars layout; the source is the stanford_cars directory or the one holding it")


def _folder(source: Path) -> Path:
    for d in (source / "stanford_cars", source):
        if (d / "devkit").is_dir():
            return d
    raise DataError(f"no Stanford Cars files in {source}: expected {source / 'stanford_cars'} (or {source}) to hold "
                    "devkit/cars_train_annos.mat, devkit/cars_meta.mat, cars_test_annos_withlabels.mat, cars_train/ "
                    f"and cars_test/. Get {GET}")


def _listing(annotations: Path, image_dir: Path) -> images.Listing:
    records = images.read_mat(annotations, "annotations")["annotations"]
    missing = [f for f in ("fname", "class") if f not in (records.dtype.names or ())]
    if missing:
        raise DataError(f"{annotations}: `annotations` lacks the field(s) {', '.join(missing)}")
    if not image_dir.is_dir():
        raise DataError(f"missing image directory {image_dir}")
    names = images.names_from(records["fname"], annotations)
    labels = images.labels_from(records["class"], annotations, NUM_CLASSES["stanford_cars"])
    return [(images.inside(image_dir, name, annotations), label) for name, label in zip(names, labels)]


def import_stanford_cars(source: Path, max_train: int | None = None, max_test: int | None = None) -> Arrays:
    folder = _folder(source)
    meta = folder / "devkit" / "cars_meta.mat"
    classes = images.read_mat(meta, "class_names")["class_names"]
    if len(classes) != NUM_CLASSES["stanford_cars"]:
        raise DataError(f"{meta} names {len(classes)} classes, expected {NUM_CLASSES['stanford_cars']}")
    annotations = folder / "devkit" / "cars_train_annos.mat", folder / "cars_test_annos_withlabels.mat"
    train = _listing(annotations[0], folder / "cars_train")
    test = _listing(annotations[1], folder / "cars_test")
    return (*images.split(train, max_train, "stanford_cars", "train", source, annotations[0]),
            *images.split(test, max_test, "stanford_cars", "test", source, annotations[1]))
