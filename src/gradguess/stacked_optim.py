"""The optimizers of gradguess.optim over R replicates' stacked parameters ([R, ...] each), in one update.

Replicate r's slice is updated as `optim.make_optimizer(kind, ...)` would update that replicate's own parameters,
with its own learning rate and weight decay (a per-replicate factor broadcast over the slice: a [R, 1, ...] tensor),
in the same order of floating-point operations where PyTorch's CPU kernels allow it (`addcdiv` is (v·m)/d, an add
with alpha is a fused multiply-add: `addcmul`). The momentum and the optimizer's constants (betas, eps) are shared:
replicates with another momentum or optimizer belong to another group (gradguess.batching).

The per-replicate scalars are kept in float64 on the device and rounded to the parameters' dtype where the single
optimizer's kernels round its Python floats, so no step copies anything from the host (no sync in the hot loop).
State: each replicate's slice reads and writes the single optimizer's `state_dict` format (`state_of`, `load`), so a
replicate's checkpoint resumes alone and a lone run's checkpoint resumes in a batch.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gradguess.optim import StableAdamW, adam_moments, default_weight_decay, make_optimizer, moments_


class StackedOptimizer:
    def __init__(self, kind: str, params: list[Tensor], lrs: list[float], weight_decays: list[float | None],
                 momentum: float = 0.0):
        self.kind, self.params = kind, list(params)
        # the single optimizer's constants (betas, eps, momentum), read off one made with no parameters
        self.single = make_optimizer(kind, [], 1.0, momentum=momentum, weight_decay=0.0)
        device = self.params[0].device
        decays = [default_weight_decay(kind) if wd is None else float(wd) for wd in weight_decays]
        self.base_lrs = torch.tensor([float(lr) for lr in lrs], dtype=torch.float64, device=device)
        self.weight_decays = torch.tensor(decays, dtype=torch.float64, device=device)
        self.decays = any(decays)
        self.steps = 0
        self.buffers: dict[str, list[Tensor]] = {}
        self.set_factor(1.0)

    def set_factor(self, factor: float) -> None:
        """The schedule's lr multiplier of this epoch (the same for every replicate: one schedule per group)."""
        self.lr = self.base_lrs * float(factor)                      # float64 [R]: lr_r as the single optimizer's
        dtype = self.params[0].dtype
        self.lr_cast, self.wd_cast = self.lr.to(dtype), self.weight_decays.to(dtype)
        self.decay = (1 - self.lr * self.weight_decays).to(dtype)

    @staticmethod
    def _per(values: Tensor, like: Tensor) -> Tensor:
        """Per-replicate values [R] viewed to broadcast over a stacked parameter [R, ...]."""
        return values.view(-1, *([1] * (like.dim() - 1)))

    def buffer(self, name: str) -> list[Tensor]:
        if name not in self.buffers:
            self.buffers[name] = [torch.zeros_like(p) for p in self.params]
        return self.buffers[name]

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        self.steps += 1
        params = [p.detach() for p in self.params]
        getattr(self, f"_{self.kind}")(params, [g.detach() for g in grads])

    def _adamw(self, params, grads):
        m, v = self.buffer("exp_avg"), self.buffer("exp_avg_sq")
        if self.decays:
            for p in params:
                p.mul_(self._per(self.decay, p))
        denom, bias1 = adam_moments(m, v, grads, self.single.betas, self.steps, self.single.eps)
        coef = (-self.lr / bias1).to(params[0].dtype)  # the single optimizer's -lr / bias1, rounded as its kernel does
        for p, m_i, d in zip(params, m, denom):
            p.add_(self._per(coef, p) * m_i / d)  # = addcdiv(p, m, d, value=-lr/bias1)

    def _sgd(self, params, grads):
        if self.decays:
            grads = [torch.addcmul(g, p, self._per(self.wd_cast, p)) for g, p in zip(grads, params)]
        if self.single.momentum:
            buf = self.buffer("momentum")
            if self.steps == 1:
                torch._foreach_copy_(buf, grads)
            else:
                torch._foreach_mul_(buf, self.single.momentum)
                torch._foreach_add_(buf, grads)
            grads = buf
        neg_lr = -self.lr_cast
        for p, g in zip(params, grads):
            p.addcmul_(g, self._per(neg_lr, p))  # = add_(g, alpha=-lr)

    def _stable_adamw(self, params, grads):
        b1, b2 = (StableAdamW.debias(b, self.steps) for b in self.single.betas)
        eps = self.single.eps
        m, v = self.buffer("exp_avg"), self.buffer("exp_avg_sq")
        moments_(m, v, grads, b1, b2)
        for p, g, m_i, v_i in zip(params, grads, m, v):
            rms = (g * g / v_i.clamp_min(eps ** 2)).flatten(1).mean(1).sqrt()   # one per replicate
            lr = self._per(rms.clamp_min(1.0), p).reciprocal() * self._per(self.lr_cast, p)  # = lr / rms, as
            # the single optimizer's Python float / tensor computes it
            if self.decays:
                p.mul_(1 - lr * self._per(self.wd_cast, p))
            p.sub_(lr * m_i / (v_i.sqrt() + eps))

    # ---- per-replicate state, in the single optimizer's format
    def state_of(self, r: int) -> dict:
        """Replicate r's state as its own optimizer's `state_dict` (a momentum-free SGD keeps no buffer)."""
        return {"steps": self.steps, "buffers": {k: [b[r].clone() for b in v] for k, v in self.buffers.items()}}

    def load(self, states: list[dict | None]) -> None:
        """Stack the replicates' own states (None: not started); all must have taken the same number of steps."""
        steps = {0 if s is None else int(s["steps"]) for s in states}
        if len(steps) > 1:
            raise ValueError(f"replicates trained together must have taken the same number of steps, got {steps}")
        self.steps = steps.pop()
        names = sorted({k for s in states if s is not None for k in s["buffers"]})
        self.buffers = {}
        for name in names:
            if any(s is None or name not in s["buffers"] for s in states):
                raise ValueError(f"optimizer state {name!r} is missing for some replicates at step {self.steps}")
            self.buffers[name] = [torch.stack([s["buffers"][name][i].to(p.device, p.dtype) for s in states])
                                  for i, p in enumerate(self.params)]

