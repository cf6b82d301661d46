"""Backpropagation: the exact gradient, the oracle every guess is compared with.

A model with parts that the final loss does not reach (the LocalMixer's local
heads) says what backprop minimises through `model.objective(x, y)`, which
returns (objective, logits, loss); the estimate reports the loss.
"""
from __future__ import annotations

import torch
from torch.func import functional_call

from gradguess.methods.base import Estimate, Estimator, mean_cross_entropy, trainable


class Backprop(Estimator):
    name = "backprop"

    def compute(self, model, x, y, generator=None) -> Estimate:
        params = trainable(model)
        with torch.enable_grad():
            if hasattr(model, "objective"):
                objective, logits, loss = model.objective(x, y)
            else:
                logits = model(x)
                objective = loss = mean_cross_entropy(logits, y)
            grads = torch.autograd.grad(objective, list(params.values()))
        return Estimate(dict(zip(params, grads)), logits.detach(), loss.detach())

    def compute_functional(self, model, params, x, y, generator=None):
        """The same gradient by `torch.func.grad`, which (unlike `torch.autograd.grad`) works under `vmap`."""
        if hasattr(model, "objective"):
            raise NotImplementedError("backprop of a model with its own objective (local losses) has no functional "
                                      "form here")

        def loss_fn(p):
            logits = functional_call(model, p, (x,))
            loss = mean_cross_entropy(logits, y)
            return loss, (logits, loss)

        grads, (logits, loss) = torch.func.grad(loss_fn, has_aux=True)(params)
        return grads, logits, loss
