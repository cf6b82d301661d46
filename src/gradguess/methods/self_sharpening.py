"""Self-sharpening (§4.1, A.2): 1-layer downstream with uniform noise and the true output error.

The paper: "we use the same framework as 1-layer downstream, but we use random
uniform guessing instead of random normal, and the last layer gradients are
replaced with the true error vector instead of a random guess."

What we do, inside the one framework every other method uses:
- hidden layers: 1-layer downstream guesses from U[0, 1) noise, scaled by the
  directional derivative of the guessed layers (joint JVP, as every Table 2 row);
- the last layer: its exact local gradient, (softmax − one-hot) x_Lᵀ, unscaled.
  It is local to the output (no backpropagation) and it is not part of the
  tangent. Using the error as the last layer's *guess* instead, scaled by a
  joint directional derivative that carries the hidden layers' non-zero-mean
  noise, collapses training to chance (MNIST 3×128, StableAdamW, 3 epochs: 11%
  train accuracy, against 87% this way).

Uniform noise has a non-zero mean, so the guesses share a common direction;
that bias narrows the guess space, the weights lose rank, and the cosine
similarity rises over training. The paper trains this with StableAdamW because
it can be unstable.
"""
from gradguess.methods import DEFAULT_MODE
from gradguess.methods.downstream import Downstream
from gradguess.methods.engine import GuessContext, output_error


class SelfSharpening(Downstream):
    name = "self_sharpening"

    def __init__(self, mode: str = DEFAULT_MODE, memory: str = "default"):
        super().__init__(layers=1, mode=mode, memory=memory)

    def options(self) -> dict:
        return {"mode": self.mode, "memory": self.memory}

    def noise(self, ctx: GuessContext, i: int):
        return ctx.uniform(i)

    def exact(self, ctx: GuessContext, i: int):
        return output_error(ctx.trace.logits, ctx.y) if ctx.is_last(i) else None
