"""Optimizers of the paper: AdamW (its default), SGD with or without momentum, StableAdamW (A.1)."""
from __future__ import annotations

from typing import Iterable

import torch

OPTIMIZERS = ("adamw", "sgd", "stable_adamw")
# Weight decay when none is given: PyTorch's AdamW default (decoupled) for the Adam family; none for SGD,
# whose weight decay is a coupled L2 term that the A.1 sweep has no reason to add.
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01, "sgd": 0.0, "stable_adamw": 0.01}


def default_weight_decay(name: str) -> float:
    if name not in DEFAULT_WEIGHT_DECAY:
        raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    return DEFAULT_WEIGHT_DECAY[name]


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, *,
                   momentum: float = 0.0, weight_decay: float | None = None) -> torch.optim.Optimizer:
    if weight_decay is None:
        weight_decay = default_weight_decay(name)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "stable_adamw":
        # Wortsman et al. (2023): AdamW with per-tensor update clipping by the
        # RMS of g²/v. torch-optimi maintains a faithful implementation.
        from optimi import StableAdamW

        params = list(params)
        # optimi would try its Triton kernels whenever Triton is installed, which fails off-GPU
        on_cuda = bool(params) and params[0].device.type == "cuda"
        return StableAdamW(params, lr=lr, weight_decay=weight_decay, triton=None if on_cuda else False)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
