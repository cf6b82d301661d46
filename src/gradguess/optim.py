"""Optimizers of the paper: AdamW (its default), SGD with or without momentum, StableAdamW (A.1).

Written here, a few lines each, rather than taken from `torch.optim`: every
`torch.optim` step imports `torch._dynamo` on first use, three seconds of a
seven-second pipeline job on our CPUs, and the pipeline runs hundreds of small
jobs. The update rules follow PyTorch's AdamW and SGD and torch-optimi's
StableAdamW exactly; the tests run each against its reference.

An optimizer here holds a list of parameters whose `.grad` the trainer fills,
and keeps its state as plain tensors and ints, so a checkpoint saves and
restores it bit for bit (`state_dict` / `load_state_dict`).
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import Tensor

from gradguess.catalog import OPTIMIZERS

# Weight decay when none is given: PyTorch's AdamW default (decoupled) for the Adam family; none for SGD,
# whose weight decay is a coupled L2 term that the A.1 sweep has no reason to add.
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01, "sgd": 0.0, "stable_adamw": 0.01}


class Optimizer:
    """The part of `torch.optim.Optimizer` the trainer uses: `step`, `state_dict`, `load_state_dict`."""

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float):
        self.params = [p for p in params]
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.steps = 0
        self.buffers: dict[str, list[Tensor]] = {}

    def buffer(self, name: str) -> list[Tensor]:
        if name not in self.buffers:
            self.buffers[name] = [torch.zeros_like(p) for p in self.params]
        return self.buffers[name]

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        self.update([p.detach() for p in self.params], [p.grad.detach() for p in self.params])

    def update(self, params: list[Tensor], grads: list[Tensor]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {"steps": self.steps, "buffers": {k: [b.clone() for b in v] for k, v in self.buffers.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.buffers = {k: [b.to(p.device, p.dtype) for b, p in zip(v, self.params)]
                        for k, v in state["buffers"].items()}

    @property
    def param_groups(self) -> list[dict]:  # what torch.optim shows, for code that inspects settings
        return [{"params": self.params, "lr": self.lr, "weight_decay": self.weight_decay}]


def moments_(m, v, grads, b1: float, b2: float) -> None:
    """The first and second moments' exponential averages, in place (Adam's and StableAdamW's)."""
    torch._foreach_lerp_(m, grads, 1 - b1)
    torch._foreach_mul_(v, b2)
    torch._foreach_addcmul_(v, grads, grads, 1 - b2)


def adam_moments(m, v, grads, betas, steps: int, eps: float):
    """Adam's moment updates in place; returns the bias-corrected denominators and the first moment's correction."""
    b1, b2 = betas
    moments_(m, v, grads, b1, b2)
    denom = torch._foreach_sqrt(v)
    torch._foreach_div_(denom, math.sqrt(1 - b2 ** steps))
    torch._foreach_add_(denom, eps)
    return denom, 1 - b1 ** steps


class AdamW(Optimizer):
    """Loshchilov & Hutter (2017), as `torch.optim.AdamW`: decoupled decay, bias-corrected moments."""

    def __init__(self, params, lr, weight_decay=0.01, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = betas, eps

    def update(self, params, grads):
        m, v = self.buffer("exp_avg"), self.buffer("exp_avg_sq")
        if self.weight_decay:
            torch._foreach_mul_(params, 1 - self.lr * self.weight_decay)
        denom, bias1 = adam_moments(m, v, grads, self.betas, self.steps, self.eps)
        torch._foreach_addcdiv_(params, m, denom, -self.lr / bias1)


class SGD(Optimizer):
    """As `torch.optim.SGD`: coupled L2 decay, heavy-ball momentum without dampening."""

    def __init__(self, params, lr, weight_decay=0.0, momentum=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)

    def update(self, params, grads):
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        if self.momentum:
            buf = self.buffer("momentum")
            if self.steps == 1:  # PyTorch starts the buffer at the first gradient
                torch._foreach_copy_(buf, grads)
            else:
                torch._foreach_mul_(buf, self.momentum)
                torch._foreach_add_(buf, grads)
            grads = buf
        torch._foreach_add_(params, grads, alpha=-self.lr)


class StableAdamW(Optimizer):
    """Wortsman et al. (2023), as torch-optimi's `StableAdamW`: AdamW whose step, per tensor, is divided by
    max(1, RMS(g²/v)), so that a gradient spike against a small second moment cannot blow a weight up.

    Moments are debiased through their betas (β̂_t = (β^t − β)/(β^t − 1)) as optimi does; the clipping stays
    on the device (no host sync per tensor).
    """

    def __init__(self, params, lr, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-6):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = betas, eps

    @staticmethod
    def debias(beta: float, step: int) -> float:
        return (beta ** step - beta) / (beta ** step - 1)

    def update(self, params, grads):
        b1, b2 = (self.debias(b, self.steps) for b in self.betas)
        m, v = self.buffer("exp_avg"), self.buffer("exp_avg_sq")
        moments_(m, v, grads, b1, b2)
        for p, g, m_i, v_i in zip(params, grads, m, v):
            rms = (g * g / v_i.clamp_min(self.eps ** 2)).mean().sqrt()
            lr = self.lr / rms.clamp_min(1.0)
            if self.weight_decay:
                p.mul_(1 - lr * self.weight_decay)
            p.sub_(lr * m_i / (v_i.sqrt() + self.eps))


def default_weight_decay(name: str) -> float:
    if name not in DEFAULT_WEIGHT_DECAY:
        raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    return DEFAULT_WEIGHT_DECAY[name]


def buffer_names(name: str, momentum: float = 0.0) -> tuple[str, ...]:
    """The state buffers optimizer `name` keeps once it has stepped: what a checkpoint's optimizer state holds."""
    if name == "sgd":
        return ("momentum",) if momentum else ()
    return ("exp_avg", "exp_avg_sq")


def make_optimizer(name: str, params: Iterable[Tensor], lr: float, *,
                   momentum: float = 0.0, weight_decay: float | None = None) -> Optimizer:
    if weight_decay is None:
        weight_decay = default_weight_decay(name)
    if name == "adamw":
        return AdamW(params, lr, weight_decay)
    if name == "sgd":
        return SGD(params, lr, weight_decay, momentum=momentum)
    if name == "stable_adamw":
        return StableAdamW(params, lr, weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
