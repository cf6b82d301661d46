"""Self-sharpening (§4.1, A.2): 1-layer downstream with uniform noise and the true output error.

Uniform U[0, 1) noise has a non-zero mean, so the guesses share a common
direction; that bias narrows the guess space, the weights lose rank, and the
cosine similarity rises over training. The last layer's guess is the true error
softmax − one-hot: local to the output, no backpropagation. The paper trains
this with StableAdamW because it can be unstable.
"""
from gradguess.methods.downstream import Downstream
from gradguess.methods.engine import GuessContext, output_error


class SelfSharpening(Downstream):
    name = "self_sharpening"

    def __init__(self, mode: str = "joint"):
        super().__init__(layers=1, mode=mode)

    def options(self) -> dict:
        return {"mode": self.mode}

    def noise(self, ctx: GuessContext, i: int):
        return ctx.uniform(i)

    def guess(self, ctx: GuessContext, i: int):
        if ctx.is_last(i):
            return output_error(ctx.trace.logits, ctx.y)
        return super().guess(ctx, i)
