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
"""
from gradguess.catalog import DATASETS, NUM_CLASSES, SHAPES, SIZES  # noqa: F401  (re-exported)
from gradguess.data.core import FORMAT_VERSION, DataError, cache_path  # noqa: F401
from gradguess.data.loading import IMAGENET_MEAN, IMAGENET_STD, PER_BATCH, Data, load  # noqa: F401
from gradguess.data.mnist import MNIST_FILES  # noqa: F401
from gradguess.data.preparing import prepare  # noqa: F401

__all__ = ["DATASETS", "NUM_CLASSES", "SHAPES", "SIZES", "FORMAT_VERSION", "DataError", "cache_path",
           "IMAGENET_MEAN", "IMAGENET_STD", "PER_BATCH", "Data", "load", "MNIST_FILES", "prepare"]
