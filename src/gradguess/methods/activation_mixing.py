"""Activation mixing (§3.3, A.2): guess in the subspace the batch's activations span.

Per example, a random N(0,1) combination of the batch's post-activations of the
same layer (or of a `pool`'s, see `ActivationGuess`), masked by that example's ReLU derivative. The paper says only that
the guess is normalised "to ensure stability"; we rescale each example's guess
to norm √n_i, the norm of an isotropic guess of that layer, so mixing neither
dominates nor vanishes among the layers of a joint JVP (`normalize=False`
keeps the raw mixture, whose mean estimate is exactly M AᵀA M ∇ℓ, §5). The
last layer has no activations to mix and gets N(0, I). On the LocalMixer an
example's activations of a site are all its patches' (a [P, C] tensor): the
mixture combines whole examples, and the norm is over all of them.
"""
import math

import torch

from gradguess.methods import DEFAULT_MODE
from gradguess.methods.engine import ActivationGuess, GuessContext


class ActivationMixing(ActivationGuess):
    name = "activation_mixing"

    def __init__(self, normalize: bool = True, mode: str = DEFAULT_MODE, local_losses: bool = False,
                 memory: str = "default"):
        super().__init__(mode=mode, local_losses=local_losses, memory=memory)
        if not isinstance(normalize, bool):
            raise ValueError(f"activation_mixing option normalize must be true or false, got {normalize!r}")
        self.normalize = normalize

    def options(self) -> dict:
        return {"normalize": self.normalize, **super().options()}

    def guess(self, ctx: GuessContext, i: int):
        if ctx.is_last(i):
            return ctx.normal(i)
        acts = ctx.pool_trace.post(i).flatten(1)  # ReLU(s_i) of the batch (or of the pool), one row per example
        mask = ctx.mask(i)                         # ReLU'(s_i) of each example
        coeffs = ctx.draw((ctx.batch, acts.shape[0]))
        g = (coeffs @ acts).view(ctx.shape(i))
        g = g if mask is None else g * mask
        if not self.normalize:
            return g
        flat = g.flatten(1)
        norm = flat.norm(dim=1, keepdim=True)
        # an example whose units are all dead at this layer has nothing to guess: keep it zero
        scale = torch.where(norm > 0, math.sqrt(acts.shape[1]) / norm, torch.zeros_like(norm))
        return (flat * scale).view(ctx.shape(i))
