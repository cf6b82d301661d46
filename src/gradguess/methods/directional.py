"""Directional descent (weight perturbation): the baseline the paper improves on.

One guess ε over all N parameters, one JVP per batch, estimate (ε·∇L) ε
(eq. 1, A.2). ε ~ N(0, 1/√N) entrywise, so its norm stays near 1 whatever N.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch.func import functional_call, jvp

from gradguess.methods.base import Estimate, Estimator, mean_cross_entropy, trainable


def weight_space_jvp(model, x, y, tangents):
    """Loss, logits and the loss's directional derivative along `tangents` (one forward-mode pass)."""
    params = {n: p.detach() for n, p in trainable(model).items()}

    def loss_fn(p):
        logits = functional_call(model, p, (x,))
        return mean_cross_entropy(logits, y), logits

    with warnings.catch_warnings():  # torch's own forward-AD decompositions still call torch.jit.script
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        loss, dloss, logits = jvp(loss_fn, (params,), (tangents,), has_aux=True)
    return loss, dloss, logits


def random_direction(model, generator, std: float | None = None) -> dict:
    params = trainable(model)
    if std is None:
        std = 1.0 / math.sqrt(sum(p.numel() for p in params.values()))
    return {n: torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype) * std
            for n, p in params.items()}


class Directional(Estimator):
    name = "directional"

    def probe(self, model, x, y, generator=None):
        """The guess ε and the directional derivative ε·∇L (exposed for tests and analyses)."""
        eps = random_direction(model, generator)
        loss, d, logits = weight_space_jvp(model, x, y, eps)
        return eps, d, loss, logits

    def compute(self, model, x, y, generator=None) -> Estimate:
        with torch.no_grad():
            eps, d, loss, logits = self.probe(model, x, y, generator)
            return Estimate({n: d * e for n, e in eps.items()}, logits, loss)
