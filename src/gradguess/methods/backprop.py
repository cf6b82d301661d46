"""Backpropagation: the exact gradient, the oracle every guess is compared with."""
from __future__ import annotations

import torch

from gradguess.methods.base import Estimate, Estimator, mean_cross_entropy, trainable


class Backprop(Estimator):
    name = "backprop"

    def compute(self, model, x, y, generator=None) -> Estimate:
        params = trainable(model)
        with torch.enable_grad():
            logits = model(x)
            loss = mean_cross_entropy(logits, y)
            grads = torch.autograd.grad(loss, list(params.values()))
        return Estimate(dict(zip(params, grads)), logits.detach(), loss.detach())
