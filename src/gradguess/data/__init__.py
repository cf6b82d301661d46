"""Dataset preparation and loading.

`prepare` turns a data set (local files, a torchvision download, or the built-in
synthetic set) into one cached file `root/<dataset>.pt` holding uint8 images
[N, C, H, W] and int64 labels. `load` reads that file onto a device as a `Data`;
every batch a model sees goes through `Data.prepare_batch` (the identity for the
sets normalised at load time, ImageNet normalisation for the prompt-tuning
sets, kept as uint8). Experiments only ever call `load`, so they never touch
the network and start in well under a second.

One module per on-disk format: `mnist` (IDX), `cifar` (python batches through
a restricted unpickler, or .npz), `svhn` (.mat), `cub`, `cars`, `dogs` (JPEGs
and their official annotation files, through `images`), `synthetic` (generated),
`downloads` (torchvision); `core` holds the cache file's layout and checks.
A user's files are untrusted: `pickles`, `npz` and `matfile` read them within
the sizes their headers declare, checked against `limits` before allocating;
`untrusted` opens regular files only and checks labels.

The names below load their module on first use: importing the package imports
no importer, so code that loads data (a training run) neither pays for the
importers nor has them in its code digest (gradguess.lineage).
"""
from __future__ import annotations

import importlib

from gradguess.catalog import DATASETS, NUM_CLASSES, SHAPES, SIZES  # noqa: F401  (re-exported)

_LAZY = {"FORMAT_VERSION": "core", "DataError": "core", "cache_path": "core", "IMAGENET_MEAN": "loading",
         "IMAGENET_STD": "loading", "PER_BATCH": "loading", "Data": "loading", "load": "loading",
         "MNIST_FILES": "mnist", "prepare": "preparing"}


def __getattr__(attr: str):
    if attr in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[attr]}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["DATASETS", "NUM_CLASSES", "SHAPES", "SIZES", *_LAZY]
