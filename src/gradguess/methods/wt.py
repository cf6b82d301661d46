"""W^T (§3.2, eq. 6): confine the guess to the range of the next layer's W^T, masked by ReLU'.

∂ℓ/∂s_i = ReLU'(s_i) ⊙ W_{i+1}^T ∂ℓ/∂s_{i+1}: everything but ∂ℓ/∂s_{i+1} is known
at guess time, so guess that as z ~ N(0, I). One matmul and a mask per layer.
Biased: E[guess guess^T] = M W^T W M (§5). The last layer gets N(0, I).
"""
from torch import Tensor

from gradguess.methods.engine import ActivationGuess, GuessContext


class WT(ActivationGuess):
    name = "wt"

    def next_weight(self, ctx: GuessContext, i: int) -> Tensor:
        return ctx.weight(i + 1)

    def guess(self, ctx: GuessContext, i: int):
        if ctx.is_last(i):
            return ctx.normal(i)
        z = ctx.normal(i + 1)
        return (z @ self.next_weight(ctx, i)) * ctx.trace.masks[i]
