"""How much a user's data file may declare: checked against its header before anything is allocated.

A file is refused, with its name and the limit, when its header declares more. Where a data set has a known
shape the limit is that shape (a file may hold fewer examples, never more); where a format has none, a stated
cap well above the real files. docs/data.md#untrusted-input-what-we-load-and-the-limits lists them; keep the two
in step.
"""
from __future__ import annotations

from gradguess.catalog import SIZES

# MNIST (IDX files): 28x28 images; examples per file, by the file name's prefix.
MNIST_IMAGE = (28, 28)
MNIST_EXAMPLES = {"train": SIZES["mnist"][0], "t10k": SIZES["mnist"][1]}

# CIFAR python batches (pickles): rows of 3 x 32 x 32 bytes; rows per file, by its name.
CIFAR_ROW = 3 * 32 * 32
CIFAR_ROWS = {"data_batch": 10_000, "test_batch": 10_000, "train": 50_000, "test": 10_000}
# Bytes a pickle may spend on one row: its 3,072 pixels (twice that where Python 3 pickled them at protocol 2,
# as latin-1 text) and the row's labels and file name. The real files spend about 3,110.
PICKLE_BYTES_PER_ROW = 8 * 1024
# Pickle operations per row (each builds at most one object, so this bounds what unpickling builds); the real
# files use 3 to 4, a Python 3 re-pickle at protocol 2 about 10.
PICKLE_OPS_PER_ROW = 32
PICKLE_SLACK_BYTES, PICKLE_SLACK_OPS = 1 << 20, 10_000  # a batch's label, a header, a near-empty test file
# CIFAR as one .npz (x_train, y_train, x_test, y_test): examples per split.
NPZ_EXAMPLES = {"train": SIZES["cifar10"][0], "test": SIZES["cifar10"][1]}
NPZ_MEMBERS = 4096  # arrays in any .npz (data or ViT weights: ViT-B/16 has 200)

# SVHN (.mat): images 32 x 32 x 3; examples per file.
SVHN_IMAGE = (32, 32, 3)
SVHN_EXAMPLES = {"train_32x32.mat": SIZES["svhn"][0], "test_32x32.mat": SIZES["svhn"][1]}
# A variable of any .mat file: dimensions, nesting of cells and structs, name length.
MAT_DIMS, MAT_DEPTH, MAT_NAME = 32, 8, 64
# Stanford Cars' and Dogs' annotation .mat files: bytes a variable may hold decompressed (the real ones: ~3 MB).
ANNOTATION_MAT_BYTES = 64 << 20
# CUB's text tables (images.txt is 0.6 MB).
ANNOTATION_TEXT_BYTES = 16 << 20

# The fine-grained image sets: images listed per split (their official splits), pixels per JPEG (PIL's own
# warning threshold; no image of these sets comes near it).
IMAGES_LISTED = {name: SIZES[name] for name in ("cub200", "stanford_cars", "stanford_dogs")}
IMAGE_PIXELS = 89_478_485

# ViT weights: a file may declare at most this multiple of the float32 bytes of the backbone it must hold
# (room for float64 and a pre-training classifier; ViT-B/16's backbone is 343 MB).
WEIGHTS_BYTES_FACTOR = 4
