"""k-layer downstream, or partial backpropagation (§3.2, eq. 7; A.2; A.3).

Guess a random vector at the output of layer i+k (the post-activation
ReLU(s_{i+k}), or the logits when i+k is the last layer) and backpropagate that
*random* vector through layers i+k..i+1 and layer i's ReLU. For k = 1 this
differs from W^T by the next layer's ReLU mask, which W^T leaves out. Layers
with fewer than k layers after them (the last one, for k = 1) get N(0, I).
"""
from torch import Tensor

from gradguess.methods import DEFAULT_MODE
from gradguess.methods.engine import ActivationGuess, GuessContext


class Downstream(ActivationGuess):
    name = "downstream"

    def __init__(self, layers: int = 1, mode: str = DEFAULT_MODE, memory: str = "default"):
        super().__init__(mode=mode, memory=memory)
        if layers < 1:
            raise ValueError(f"downstream layers must be >= 1, got {layers}")
        self.layers = int(layers)

    def options(self) -> dict:
        return {"layers": self.layers, **super().options()}

    def lookahead(self) -> int:
        return self.layers  # the masks of the k sites after i

    def noise(self, ctx: GuessContext, i: int) -> Tensor:
        return ctx.normal(i)

    def guess(self, ctx: GuessContext, i: int):
        top = i + self.layers
        if top >= ctx.num_layers:
            return self.noise(ctx, i)
        u = self.noise(ctx, top)
        # back through the sites: site j's mask, then the transpose of the map that made site j from site j-1
        for j in range(top, i, -1):
            if ctx.mask(j) is not None:
                u = u * ctx.mask(j)
            u = ctx.next_transpose(j - 1, u, ctx.next_weight(j - 1))
        return u if ctx.mask(i) is None else u * ctx.mask(i)
