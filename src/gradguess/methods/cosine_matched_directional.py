"""Directional descent with its cosine similarity set by hand (§4 'Effect of bias vs. variance', A.2).

An ablation, not a practical method: it uses the true gradient g to build an
*unbiased-in-direction* guess with exactly the cosine a biased method such as W^T
reaches (≈0.03 for the 6×1024 MLP). The random guess ε is split into its parts
along g and orthogonal to it, both normalised, and recombined as
cos θ ĝ_∥ + sin θ ĝ_⊥, scaled by |g| so that cosine 1 gives back backprop.
"""
from __future__ import annotations

import math

import torch

from gradguess.methods.backprop import Backprop
from gradguess.methods.base import Estimate, Estimator, noise


class CosineMatchedDirectional(Estimator):
    name = "cosine_matched_directional"

    def __init__(self, cosine: float = 0.03):
        if not -1.0 <= cosine <= 1.0:
            raise ValueError(f"cosine must lie in [-1, 1], got {cosine}")
        self.cosine = float(cosine)

    def options(self) -> dict:
        return {"cosine": self.cosine}

    def compute(self, model, x, y, generator=None) -> Estimate:
        exact = Backprop().compute(model, x, y)
        return Estimate(self.matched(exact.grads, generator), exact.logits, exact.loss)

    def compute_functional(self, model, params, x, y, generator=None):
        grads, logits, loss = Backprop().compute_functional(model, params, x, y)
        return self.matched(grads, generator), logits, loss

    def matched(self, exact: dict, generator) -> dict:
        """A direction at exactly `self.cosine` to the gradient `exact`, with its norm."""
        names = list(exact)
        g = torch.cat([exact[n].reshape(-1) for n in names])
        g_norm = g.norm()
        g_par = g / g_norm
        eps = noise("normal", g.shape, generator, g.device, g.dtype)
        g_perp = eps - (eps @ g_par) * g_par
        g_perp = g_perp / g_perp.norm()
        flat = g_norm * (self.cosine * g_par + math.sqrt(1.0 - self.cosine**2) * g_perp)
        parts = flat.split([exact[n].numel() for n in names])
        return {n: p.view_as(exact[n]) for n, p in zip(names, parts)}
