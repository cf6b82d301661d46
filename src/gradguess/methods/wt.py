"""W^T (§3.2, eq. 6): confine the guess to the range of the next layer's W^T, masked by ReLU'.

∂ℓ/∂s_i = ReLU'(s_i) ⊙ W_{i+1}^T ∂ℓ/∂s_{i+1}: everything but ∂ℓ/∂s_{i+1} is known
at guess time, so guess that as z ~ N(0, I). One matmul and a mask per layer.
Biased: E[guess guess^T] = M W^T W M (§5). The last layer gets N(0, I).

On any model through its sites (models/sites.py): z is noise in the output
space of the linear map that reads site i's ReLU output, and the guess is that
map's transpose applied to z, masked by ReLU' (LocalMixer: the next token,
channel or group-linear map, or the block's head with local losses; a ViT's
prompt tokens: the first block's qkv projection through its LayerNorm, and no
mask, models/vit_prompt.py).
"""
from torch import Tensor

from gradguess.methods.engine import ActivationGuess, GuessContext


class WT(ActivationGuess):
    name = "wt"

    def next_weight(self, ctx: GuessContext, i: int) -> Tensor:
        return ctx.next_weight(i)

    def guess(self, ctx: GuessContext, i: int):
        if ctx.is_last(i):
            return ctx.normal(i)
        z = ctx.next_normal(i)
        guess = ctx.next_transpose(i, z, self.next_weight(ctx, i))
        mask = ctx.mask(i)  # None where no ReLU reads the site (a ViT's prompt tokens)
        return guess if mask is None else guess * mask
