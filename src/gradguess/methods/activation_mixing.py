"""Activation mixing (§3.3, A.2): guess in the subspace the batch's activations span.

Per example, a random N(0,1) combination of the batch's post-activations of the
same layer, masked by that example's ReLU derivative. Each example's guess is
rescaled to norm √n_i, the norm of an isotropic guess of that layer, so mixing
neither dominates nor vanishes among the layers of a joint JVP. The last layer
has no activations to mix and gets N(0, I).
"""
import math

import torch

from gradguess.methods.engine import ActivationGuess, GuessContext


class ActivationMixing(ActivationGuess):
    name = "activation_mixing"

    def guess(self, ctx: GuessContext, i: int):
        if ctx.is_last(i):
            return ctx.normal(i)
        acts, mask = ctx.trace.inputs[i + 1], ctx.trace.masks[i]  # ReLU(s_i) and ReLU'(s_i)
        coeffs = torch.randn((ctx.batch, ctx.batch), generator=ctx.generator, device=acts.device, dtype=acts.dtype)
        g = (coeffs @ acts) * mask
        norm = g.norm(dim=1, keepdim=True)
        # an example whose units are all dead at this layer has nothing to guess: keep it zero
        scale = torch.where(norm > 0, math.sqrt(acts.shape[1]) / norm, torch.zeros_like(norm))
        return g * scale
