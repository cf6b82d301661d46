"""Downloads through torchvision, for the data sets torchvision can still fetch."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradguess.data.core import Arrays, DataError

DOWNLOADABLE = ("mnist", "cifar10", "cifar100", "svhn")


def download(dataset: str, root: Path) -> Arrays:
    import torchvision.datasets as tvd  # lazily: slow to import, and only this path needs it

    raw = root / "raw"
    cls = {"mnist": tvd.MNIST, "cifar10": tvd.CIFAR10, "cifar100": tvd.CIFAR100, "svhn": tvd.SVHN}[dataset]
    splits = []
    for train in (True, False):
        try:
            if dataset == "svhn":
                ds = cls(root=raw, split="train" if train else "test", download=True)
            else:
                ds = cls(root=raw, train=train, download=True)
        except Exception as e:  # no internet, bad checksum, interrupted transfer, ...
            raise DataError(
                f"downloading {dataset} with torchvision into {raw} failed ({type(e).__name__}: {e}). "
                f"Without internet, get the files elsewhere and import them with "
                f"`gradguess data prepare --dataset {dataset} --root {root} --source DIR`"
            ) from e
        splits.extend(from_torchvision(dataset, ds))
    return tuple(splits)


def from_torchvision(dataset: str, ds: Any) -> tuple[np.ndarray, np.ndarray]:
    """Images as [N, C, H, W] and labels from a torchvision dataset object."""
    x = np.asarray(ds.data)
    if dataset == "mnist":
        return x[:, None], np.asarray(ds.targets)  # [N, 28, 28] -> [N, 1, 28, 28]
    if dataset == "svhn":
        return x, np.asarray(ds.labels)  # torchvision already gives CHW and maps 10 -> 0
    return x.transpose(0, 3, 1, 2), np.asarray(ds.targets)  # CIFAR: HWC -> CHW
