"""`prepare`: one data set, from local files, a torchvision download or the generator, into its cache file."""
from __future__ import annotations

import importlib
import os
from pathlib import Path

from gradguess.catalog import IMPORTERS, NUM_CLASSES
from gradguess.data import downloads
from gradguess.data.core import FORMAT_VERSION, DataError, cache_path, to_labels, to_uint8, validate
from gradguess.data.untrusted import integer_labels
from gradguess.io import torch_save

# These decode JPEGs, the slow part, so they take the limits and decode only the images kept.
IMAGE_SETS = ("cub200", "stanford_cars", "stanford_dogs")


def importer(dataset: str):
    """The module that reads `dataset`'s files (catalog.IMPORTERS), imported by name: preparing one data set
    runs its own importer's code only, and its digest names that one (lineage.data_modules)."""
    return importlib.import_module(f"gradguess.data.{IMPORTERS[dataset]}")


def prepare(
    dataset: str,
    root: str | os.PathLike,
    source: str | os.PathLike | None = None,
    download: bool = True,
    max_train: int | None = None,
    max_test: int | None = None,
) -> Path:
    """Build `root/<dataset>.pt` and return its path.

    With `source`, files are imported from that local directory; without it the
    data set is downloaded with torchvision (when `download` is true; the
    fine-grained image sets cannot be). The synthetic data set is generated and
    ignores `source`. `max_train` and `max_test` keep only the first examples of
    each split (small presets).
    """
    path = cache_path(dataset, root)
    if dataset == "synthetic":
        arrays, origin = importer(dataset).synthetic(), "synthetic (built in, seed 0)"
    elif source is not None:
        source = Path(source)
        if not source.is_dir():
            raise DataError(f"source directory {source} does not exist or is not a directory")
        read = getattr(importer(dataset), f"import_{dataset}")
        arrays = read(source, max_train=max_train, max_test=max_test) if dataset in IMAGE_SETS else read(source)
        origin = f"local files in {source.resolve()}"
    elif dataset not in downloads.DOWNLOADABLE:
        raise DataError(  # where a user gets the files of a set nothing can download
            f"{dataset} cannot be downloaded here: get {importer(dataset).GET}. Then run "
            f"`gradguess data prepare --dataset {dataset} --root {root} --source DIR`, or for the pipeline "
            f"set the config key data.sources.{dataset} to DIR"
        )
    elif download:
        arrays = downloads.download(dataset, Path(root))
        origin = f"torchvision download into {Path(root).resolve() / 'raw'}"
    else:
        raise DataError(
            f"no source directory given for {dataset} and download is disabled; "
            f"pass --source DIR with the {dataset} files"
        )

    x_train, y_train, x_test, y_test = arrays
    # Slice only what is longer: a view of the image sets' array (already cut by their
    # importer) would make to_uint8 copy gigabytes.
    if max_train is not None:
        if len(y_train) > max_train:
            x_train, y_train = x_train[:max_train], y_train[:max_train]
        origin += f", first {len(y_train)} training examples"
    if max_test is not None:
        if len(y_test) > max_test:
            x_test, y_test = x_test[:max_test], y_test[:max_test]
        origin += f", first {len(y_test)} test examples"
    data = {
        "x_train": to_uint8(x_train),
        "y_train": to_labels(integer_labels(y_train, f"the training labels from {origin}")),
        "x_test": to_uint8(x_test),
        "y_test": to_labels(integer_labels(y_test, f"the test labels from {origin}")),
        "num_classes": NUM_CLASSES[dataset],
        "dataset": dataset,
        "source": origin,
        "format_version": FORMAT_VERSION,
    }
    # Check before writing so a bad import never leaves a cache that looks finished.
    validate(data, dataset, f"{path} (from {origin})")
    torch_save(data, path)
    return path
