"""The forward-gradient engine shared by every activation-space method.

A method only says how to guess ε_i, the gradient of each example's loss with
respect to layer i's pre-activations s_i (`ActivationGuess.guess`). The engine
does the rest, the same for all of them:

1. one forward pass keeping x_i, s_i and the ReLU masks (`MLP.trace`);
2. the guesses, injected as tangents of the s_i and carried forward to the
   logits with the activations' masks and weights (forward mode, by hand:
   ṡ_{j} = W_j (m_{j-1} ⊙ ṡ_{j-1}) + ε_j), giving each example's directional
   derivative d = ∇_s ℓ · ε without any backward pass of the loss;
3. the estimate of ∂ℓ_b/∂s_i as d·ε_i, turned into weight and bias updates by
   one outer product (a matmul over the batch) and one sum per layer (A.2).

A layer whose ∂ℓ_b/∂s_i is known locally, without backpropagation (the output
layer's error softmax − one-hot, for self-sharpening), says so through
`ActivationGuess.exact`: it is updated by that error as it is, unscaled, and
stays out of the tangent, so the directional derivative is over the guessed
layers only.

Two JVP modes:
- `joint`: every layer's guess goes into one tangent; each example gets one
  directional derivative d_b = Σ_i ∇_{s_i}ℓ_b · ε_{i,b}, which scales all of that
  example's layer guesses. Unbiased for isotropic guesses since layers' noises
  are independent: E[d ε_i] = Cov(ε_i) ∇_{s_i}ℓ.
- `per_layer`: each layer's guess has its own tangent and its own directional
  derivative d_{i,b} = ∇_{s_i}ℓ_b · ε_{i,b}. The tangents travel together as one
  stacked tensor, so it is still a single forward sweep, at more FLOPs.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from gradguess.methods import MODES
from gradguess.methods.base import Estimate, Estimator, mean_cross_entropy
from gradguess.models.mlp import Trace


@dataclass
class GuessContext:
    """What is known at guess time: the forward pass, the weights, the labels, the noise source."""

    model: torch.nn.Module
    trace: Trace
    y: Tensor
    generator: torch.Generator | None
    exact: list[Tensor | None] | None = None  # filled by `ActivationGuess.probe`
    pool_trace: Trace | None = None  # the activations a guess may mix: the batch's own unless a pool is set

    @property
    def num_layers(self) -> int:
        return len(self.trace.masks)

    @property
    def batch(self) -> int:
        return self.y.shape[0]

    def is_last(self, i: int) -> bool:
        return i == self.num_layers - 1

    def weight(self, i: int) -> Tensor:
        return self.model.layers[i].weight.detach()

    def shape(self, i: int) -> tuple[int, int]:
        return (self.batch, self.trace.width(i))

    def normal(self, i: int) -> Tensor:
        """N(0, I) noise shaped like layer i's pre-activations."""
        like = self.trace.logits
        return torch.randn(self.shape(i), generator=self.generator, device=like.device, dtype=like.dtype)

    def uniform(self, i: int) -> Tensor:
        like = self.trace.logits
        return torch.rand(self.shape(i), generator=self.generator, device=like.device, dtype=like.dtype)


def output_error(logits: Tensor, y: Tensor) -> Tensor:
    """∂ℓ_b/∂logits_b for cross-entropy: softmax − one-hot. Local to the output, no backprop."""
    return torch.softmax(logits, dim=1) - F.one_hot(y, logits.shape[1]).to(logits.dtype)


def directional_derivatives(ctx: GuessContext, guesses: list[Tensor], mode: str) -> Tensor:
    """Per-example directional derivatives of ℓ_b along the pre-activation guesses.

    Returns shape (B,) for `joint`, (L, B) for `per_layer` (row i: layer i's guess alone).
    """
    masks = ctx.trace.masks
    if mode == "joint":
        t = guesses[0]
        for j in range(1, ctx.num_layers):
            t = torch.addmm(guesses[j], t * masks[j - 1], ctx.weight(j).T)
    elif mode == "per_layer":
        t = guesses[0].unsqueeze(0)
        for j in range(1, ctx.num_layers):
            t = torch.cat([(t * masks[j - 1]) @ ctx.weight(j).T, guesses[j].unsqueeze(0)])
    else:
        raise ValueError(f"unknown JVP mode {mode!r}; valid modes: {', '.join(MODES)}")
    return (t * output_error(ctx.trace.logits, ctx.y)).sum(-1)


def scale_guesses(guesses: list[Tensor], d: Tensor) -> list[Tensor]:
    """Estimates of ∂ℓ_b/∂s_i: each guess times its directional derivative."""
    if d.dim() == 1:
        return [d[:, None] * g for g in guesses]
    return [d[i][:, None] * g for i, g in enumerate(guesses)]


def weight_updates(model, trace: Trace, preact_grads: list[Tensor]) -> dict[str, Tensor]:
    """∂L/∂W_i ≈ mean_b ĝ_{i,b} x_{i,b}^T and ∂L/∂b_i ≈ mean_b ĝ_{i,b}, L the batch-mean loss."""
    grads = {}
    batch = preact_grads[0].shape[0]
    for i, g in enumerate(preact_grads):
        w_name, b_name = model.param_names(i)
        grads[w_name] = (g.T @ trace.inputs[i]) / batch
        if b_name is not None:
            grads[b_name] = g.sum(0) / batch
    return grads


class ActivationGuess(Estimator):
    """Base of the activation-space methods: subclasses implement `guess` only.

    `pool`, if set, holds inputs whose activations a guess may draw on instead of
    the batch's own (activation mixing; Figure 4 feeds copies of one example and
    mixes the activations of that example's training batch).
    """

    pool: Tensor | None = None

    def __init__(self, mode: str = "joint"):
        if mode not in MODES:
            raise ValueError(f"unknown JVP mode {mode!r}; valid modes: {', '.join(MODES)}")
        self.mode = mode

    def options(self) -> dict:
        return {"mode": self.mode}

    @abstractmethod
    def guess(self, ctx: GuessContext, i: int) -> Tensor:
        """A guess (B, n_i) for ∂ℓ_b/∂s_i, built only from what is known before the loss."""

    def exact(self, ctx: GuessContext, i: int) -> Tensor | None:
        """∂ℓ_b/∂s_i where it is known locally (no backpropagation), else None (the default: guess it)."""
        return None

    def probe(self, model, x, y, generator=None):
        """Forward pass, guesses and directional derivatives, for tests and analyses.

        A layer with an exact local error has a zero guess here (it is not in the tangent);
        its error is in `ctx.exact[i]`.
        """
        with torch.no_grad():
            ctx = GuessContext(model, model.trace(x), y, generator)
            ctx.pool_trace = model.trace(self.pool) if self.pool is not None else ctx.trace
            ctx.exact = [self.exact(ctx, i) for i in range(ctx.num_layers)]
            guesses = [torch.zeros(ctx.shape(i), device=e.device, dtype=e.dtype) if e is not None
                       else self.guess(ctx, i) for i, e in enumerate(ctx.exact)]
            return ctx, guesses, directional_derivatives(ctx, guesses, self.mode)

    def preact_estimates(self, ctx: GuessContext, guesses: list[Tensor], d: Tensor) -> list[Tensor]:
        """Per-example estimates of ∂ℓ_b/∂s_i: the exact local error where there is one, else d·ε_i."""
        scaled = scale_guesses(guesses, d)
        return [e if e is not None else s for e, s in zip(ctx.exact, scaled)]

    def compute(self, model, x, y, generator=None) -> Estimate:
        ctx, guesses, d = self.probe(model, x, y, generator)
        with torch.no_grad():
            grads = weight_updates(model, ctx.trace, self.preact_estimates(ctx, guesses, d))
            logits = ctx.trace.logits
            return Estimate(grads, logits, mean_cross_entropy(logits, y))
