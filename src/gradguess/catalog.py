"""Names and facts importable without torch (the Snakefile and the report commands use them): datasets, optimizers,
JVP modes. (A model's facts live beside the model: gradguess.models.facts.)"""
from __future__ import annotations

DATASETS = ("mnist", "svhn", "cifar10", "cifar100", "synthetic", "cub200", "stanford_cars", "stanford_dogs")
OPTIMIZERS = ("adamw", "sgd", "stable_adamw")
# JVP modes of the activation-space methods (methods/engine.py): one directional derivative per example (the
# paper's), or one per layer and example; the first is every method's default
MODES = ("joint", "per_layer")
DEFAULT_MODE = MODES[0]
# The models, their options and their other facts: gradguess.models.facts (one file beside each model).
# the module of gradguess.data that reads each data set's files (`import_<dataset>`; the synthetic set's generator):
# `prepare` imports it by name, so a data set's preparation digest names its own importer only (lineage.data_modules)
IMPORTERS = {"mnist": "mnist", "svhn": "svhn", "cifar10": "cifar", "cifar100": "cifar", "synthetic": "synthetic",
             "cub200": "cub", "stanford_cars": "cars", "stanford_dogs": "dogs"}

# (channels, height, width) and number of classes of each data set.
SHAPES = {
    "mnist": (1, 28, 28),
    "svhn": (3, 32, 32),
    "cifar10": (3, 32, 32),
    "cifar100": (3, 32, 32),
    "synthetic": (3, 32, 32),
    # The fine-grained sets for prompt tuning a ViT-B/16, resized and center-cropped at preparation.
    "cub200": (3, 224, 224),
    "stanford_cars": (3, 224, 224),
    "stanford_dogs": (3, 224, 224),
}
NUM_CLASSES = {"mnist": 10, "svhn": 10, "cifar10": 10, "cifar100": 100, "synthetic": 10,
               "cub200": 200, "stanford_cars": 196, "stanford_dogs": 120}
# (train, test) examples of the canonical sets, for sizing cluster jobs; a local source may hold fewer.
SIZES = {
    "mnist": (60_000, 10_000),
    "svhn": (73_257, 26_032),
    "cifar10": (50_000, 10_000),
    "cifar100": (50_000, 10_000),
    "synthetic": (10_000, 2_000),
    "cub200": (5_994, 5_794),
    "stanford_cars": (8_144, 8_041),
    "stanford_dogs": (12_000, 8_580),
}


def in_features(dataset: str) -> int:
    c, h, w = SHAPES[dataset]
    return c * h * w
