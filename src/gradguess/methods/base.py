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

    def compute_functional(self, model: nn.Module, params: dict[str, Tensor], x: Tensor, y: Tensor,
                           generator=None) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        """`compute` at `params` (the trainable parameters, by name) in place of the model's own, as (grads, logits,
        loss): a function of tensors, which `torch.func.vmap` maps over the replicates of a batched job
        (gradguess.batched), each with its own parameters and its own pre-drawn noise (`generator`: a `Draws`).
        The default swaps `params` into the model and runs `compute` unchanged, which serves every method that
        needs no autograd (the activation-space ones); backprop and the weight-space methods override it."""
        wrapper = getattr(self, "_computes", None)
        if wrapper is None or wrapper.model is not model:  # made once: torch.compile cannot trace a module's making
            wrapper = self._computes = _Computes(model, self)
        return torch.func.functional_call(wrapper, {f"model.{k}": v for k, v in params.items()}, (x, y, generator))

    def options(self) -> dict:
        """The method's settings, as recorded next to a run's results."""
        return {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


class _Computes(nn.Module):
    """A method's `compute` as a module's forward, so that `functional_call` can swap the model's parameters."""

    def __init__(self, model: nn.Module, estimator: Estimator):
        super().__init__()
        self.model, self.estimator = model, estimator

    def forward(self, x, y, generator):
        est = self.estimator.compute(self.model, x, y, generator)
        return est.grads, est.logits, est.loss


class Draws:
    """Stands in for a `torch.Generator` when a step's random numbers were drawn beforehand: the batched trainer
    (gradguess.batched) draws each replicate's from that replicate's own generator, outside `vmap`, and replays
    them to the unchanged guess rule inside it."""

    def draw(self, kind: str, shape: tuple[int, ...], device, dtype) -> Tensor:
        raise NotImplementedError


def noise(kind: str, shape, generator, device, dtype) -> Tensor:
    """Every random number a method draws comes from here: N(0, 1) (`normal`) or U[0, 1) (`uniform`)."""
    if isinstance(generator, Draws):
        return generator.draw(kind, tuple(shape), device, dtype)
    if kind not in SAMPLERS:
        raise ValueError(f"unknown noise {kind!r}; valid: {', '.join(SAMPLERS)}")
    return SAMPLERS[kind](shape, generator=generator, device=device, dtype=dtype)


SAMPLERS = {"normal": torch.randn, "uniform": torch.rand}
# the same numbers drawn into an existing tensor (a replicate's slice of a batched job's noise)
SAMPLERS_IN_PLACE = {"normal": Tensor.normal_, "uniform": Tensor.uniform_}


def mean_cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    return F.cross_entropy(logits, y)


def trainable(model: nn.Module) -> dict[str, Tensor]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}
