"""Directional descent (weight perturbation): the baseline the paper improves on.

One guess ε over all N parameters, one JVP per batch, estimate (ε·∇L) ε
(eq. 1, A.2). ε ~ N(0, 1/√N) entrywise, so its norm stays near 1 whatever N.

A model may declare trainable parameters whose exact gradient is local
(`model.local_parameters()`: a prompted ViT's linear head on frozen features,
models/vit_prompt.py). They are not guessed: ε covers the other N parameters,
and they take their exact gradient by reverse mode through the same forward
pass, in which nothing else requires grad, so autograd keeps only their own
op's input. The MLP and the LocalMixer declare none: all of theirs are guessed.
"""
from __future__ import annotations

import math
import warnings
from contextlib import nullcontext

import torch
from torch.func import functional_call, jvp

from gradguess.methods import low_memory
from gradguess.methods.base import Estimate, Estimator, mean_cross_entropy, noise, trainable


def weight_space_jvp(model, x, y, tangents, params=None):
    """Loss, logits and the loss's directional derivative along `tangents` (one forward-mode pass), at the model's
    trainable parameters or at `params`."""
    if params is None:
        params = {n: p.detach() for n, p in trainable(model).items() if n in tangents}

    def loss_fn(p):
        logits = functional_call(model, p, (x,))
        return mean_cross_entropy(logits, y), logits

    with warnings.catch_warnings():  # torch's own forward-AD decompositions still call torch.jit.script
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        loss, dloss, logits = jvp(loss_fn, (params,), (tangents,), has_aux=True)
    return loss, dloss, logits


def local_parameters(model) -> tuple[str, ...]:
    """Names of the trainable parameters the model learns from their exact local gradient (none by default)."""
    return tuple(model.local_parameters()) if hasattr(model, "local_parameters") else ()


def random_direction(model, generator, std: float | None = None, exclude=(), params=None) -> dict:
    """ε ~ N(0, std²) over the trainable parameters (or `params`), one tensor per parameter in their order."""
    if params is None:
        params = {n: p for n, p in trainable(model).items() if n not in exclude}
    if std is None:
        std = 1.0 / math.sqrt(sum(p.numel() for p in params.values()))
    return {n: noise("normal", p.shape, generator, p.device, p.dtype) * std for n, p in params.items()}


class Directional(Estimator):
    name = "directional"

    def __init__(self, memory: str = "default"):
        # low: ε is drawn layer by layer, twice, and never held whole (methods/low_memory.py; the MLP only)
        self.memory = low_memory.check_option(memory)

    def options(self) -> dict:
        return {"memory": self.memory}

    def probe(self, model, x, y, generator=None):
        """The guess ε and the directional derivative ε·∇L (exposed for tests and analyses)."""
        eps = random_direction(model, generator, exclude=local_parameters(model))
        loss, d, logits = weight_space_jvp(model, x, y, eps)
        return eps, d, loss, logits

    def compute(self, model, x, y, generator=None) -> Estimate:
        if self.memory == "low":
            return low_memory.estimate(self, model, x, y, generator)
        local = local_parameters(model)
        with torch.no_grad(), (torch.enable_grad() if local else nullcontext()):
            eps, d, loss, logits = self.probe(model, x, y, generator)
            grads = {n: d * e for n, e in eps.items()}
            if local:
                params = trainable(model)
                exact = torch.autograd.grad(loss, [params[n] for n in local])
                grads.update(zip(local, exact))
                grads = {n: grads[n].detach() for n in params}
            return Estimate(grads, logits.detach(), loss.detach())

    def compute_functional(self, model, params, x, y, generator=None):
        if local_parameters(model):
            raise NotImplementedError("directional descent with exactly learned local parameters has no "
                                      "functional form here")
        eps = random_direction(model, generator, params=params)
        loss, d, logits = weight_space_jvp(model, x, y, eps, params)
        return {n: d * e for n, e in eps.items()}, logits, loss
