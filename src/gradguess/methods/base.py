"""The one interface every gradient-guessing method implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class Estimate:
    """A method's gradient estimate for one batch, plus the forward pass it came with.

    `grads` is keyed like `model.named_parameters()` and estimates the gradient of
    the batch's mean cross-entropy. `logits` and `loss` come for free from the
    method's own forward pass, so the trainer never runs a second one.
    """

    grads: dict[str, Tensor]
    logits: Tensor
    loss: Tensor


class Estimator(ABC):
    """A gradient-guessing method. Subclasses set `name` and implement `compute`."""

    name: ClassVar[str]

    def estimate(self, model: nn.Module, x: Tensor, y: Tensor,
                 generator: torch.Generator | None = None) -> dict[str, Tensor]:
        return self.compute(model, x, y, generator).grads

    @abstractmethod
    def compute(self, model: nn.Module, x: Tensor, y: Tensor,
                generator: torch.Generator | None = None) -> Estimate:
        ...

    def options(self) -> dict:
        """The method's settings, as recorded next to a run's results."""
        return {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


def mean_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(logits, y)


def trainable(model: nn.Module) -> dict[str, Tensor]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}
