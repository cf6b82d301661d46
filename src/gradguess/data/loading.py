"""`load`: a prepared data set as tensors on one device, and the per-batch conversion `Data.prepare_batch`.

Two kinds of set:
- the small ones the MLPs and the LocalMixer train on (MNIST, SVHN, CIFAR, synthetic)
  are converted once at load time into float tensors normalised per channel with
  their own training set's statistics; `prepare_batch` returns a batch as it is;
- the fine-grained image sets for prompt tuning (CUB-200-2011, Stanford Cars and
  Stanford Dogs) stay uint8 on the device, since as floats they would take 4x
  their 1.8 to 3.1 GB; `prepare_batch` scales a batch to [0, 1] and normalises
  it with ImageNet's mean and standard deviation, those the pre-trained ViT saw.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from gradguess.data.core import DataError, cache_path, validate

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Sets normalised per batch with fixed (mean, std) per channel; every other set is normalised at load.
PER_BATCH = {
    "cub200": (IMAGENET_MEAN, IMAGENET_STD),
    "stanford_cars": (IMAGENET_MEAN, IMAGENET_STD),
    "stanford_dogs": (IMAGENET_MEAN, IMAGENET_STD),
}


@dataclass
class Data:
    """A prepared data set on one device.

    `x_train` and `x_test` are either normalised floats (`mean` is None) or raw
    uint8 pixels that `prepare_batch` normalises with `mean` and `std`
    ([1, C, 1, 1] tensors on the same device). Code that trains or evaluates
    passes every batch of `x_*` through `prepare_batch`.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    name: str
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None

    @property
    def in_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    def prepare_batch(self, x: torch.Tensor) -> torch.Tensor:
        """A batch of `x_train` or `x_test` as the float tensor a model takes."""
        if self.mean is None:
            return x
        if x.dtype != torch.uint8:
            # Normalising twice would silently shift every input: insist on the stored pixels.
            raise TypeError(f"{self.name}: prepare_batch takes uint8 pixels from x_train or x_test, got {x.dtype}")
        return x.to(torch.float32).div_(255).sub_(self.mean.to(x.device)).div_(self.std.to(x.device))


def load(dataset: str, root: str | os.PathLike, device: torch.device | str = "cpu") -> Data:
    """Read `root/<dataset>.pt` onto `device`.

    The small sets come back scaled to [0, 1] and normalised per channel with
    the training set's mean and standard deviation; the sets in `PER_BATCH`
    come back as uint8, for `Data.prepare_batch` to normalise batch by batch.
    """
    path = cache_path(dataset, root)
    if not path.is_file():
        raise DataError(f"no prepared data at {path}; run "
                        f"`gradguess data prepare --dataset {dataset} --root {root}` first")
    try:
        # mmap avoids reading the file twice; weights_only refuses arbitrary pickles.
        data = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # truncated zip, not a torch file, foreign pickle, ...
        raise DataError(f"cannot read prepared data {path}: {type(e).__name__}: {e}; "
                        f"delete it and run `gradguess data prepare --dataset {dataset} --root {root}`") from e
    validate(data, dataset, str(path))

    device = torch.device(device)
    mean = std = None
    if dataset in PER_BATCH:
        # copy: the tensors must not keep the memory-mapped file alive
        x_train = data["x_train"].to(device, copy=True)
        x_test = data["x_test"].to(device, copy=True)
        mean, std = (torch.tensor(v, dtype=torch.float32, device=device).view(1, -1, 1, 1)
                     for v in PER_BATCH[dataset])
    else:
        # Convert on the device: the uint8 copy is 4x smaller to move than floats.
        x_train = data["x_train"].to(device).float().div_(255)
        x_test = data["x_test"].to(device).float().div_(255)
        m = x_train.mean(dim=(0, 2, 3), keepdim=True)
        s = x_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)  # a constant channel stays finite
        x_train.sub_(m).div_(s)
        x_test.sub_(m).div_(s)
    return Data(
        x_train=x_train,
        # clone: labels must not keep the memory-mapped file alive
        y_train=data["y_train"].to(device).clone(),
        x_test=x_test,
        y_test=data["y_test"].to(device).clone(),
        num_classes=int(data["num_classes"]),
        name=dataset,
        mean=mean,
        std=std,
    )
