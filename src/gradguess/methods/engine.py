"""The forward-gradient engine shared by every activation-space method.

A method only says how to guess ε_i, the gradient of each example's loss with
respect to site i's variable z_i (`ActivationGuess.guess`; for the MLP z_i is
layer i's pre-activation s_i). The engine does the rest, the same for all of
them and for every model, through the model's `Sites` (models/sites.py):

1. one forward pass keeping each site's input, variable and ReLU mask
   (`model.trace`);
2. the guesses, injected as tangents of the z_i and carried forward to the
   losses in one forward-mode pass (`Sites.directional_derivatives`: a hand
   tangent sweep ṡ_{j} = W_j (m_{j-1} ⊙ ṡ_{j-1}) + ε_j for the MLP, one
   `torch.func.jvp` for the LocalMixer), giving each loss's directional
   derivative d without any backward pass of the loss;
3. the estimate of ∂ℓ/∂z_i as d·ε_i (`Sites.scale`: for the MLP each example's
   d; for the LocalMixer with local losses, each (example, patch, group) part
   of ε_i times the derivative of the local loss it feeds), turned into weight
   and bias updates by one local vector-Jacobian product per site
   (`Sites.updates`: an outer product and a sum, A.2; plus the site's
   LayerNorm where it has one).

A layer whose ∂ℓ_b/∂s_i is known locally, without backpropagation (the output
layer's error softmax − one-hot, for self-sharpening), says so through
`ActivationGuess.exact`: it is updated by that error as it is, unscaled, and
stays out of the tangent, so the directional derivative is over the guessed
layers only.

Two JVP modes (the MLP; the LocalMixer has `joint` only):
- `joint`: every layer's guess goes into one tangent; each example gets one
  directional derivative d_b = Σ_i ∇_{s_i}ℓ_b · ε_{i,b}, which scales all of that
  example's layer guesses. Unbiased for isotropic guesses since layers' noises
  are independent: E[d ε_i] = Cov(ε_i) ∇_{s_i}ℓ.
- `per_layer`: each layer's guess has its own tangent and its own directional
  derivative d_{i,b} = ∇_{s_i}ℓ_b · ε_{i,b}. The tangents travel together as one
  stacked tensor, so it is still a single forward sweep, at more FLOPs.

Local losses (`local_losses=True`, LocalMixer only): the guesses of a block are
scored by that block's local losses (Ren et al. 2022) instead of the final
loss; see models/mixer.py for their definition.

Memory (`memory`, the MLP and `joint` only): `default` keeps every layer's
activations as above; `low` keeps a few layers' at a time and recomputes them
in a second forward sweep (methods/low_memory.py), with equal estimates.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from gradguess.methods import DEFAULT_MODE, MODES, low_memory
from gradguess.methods.base import Estimate, Estimator, mean_cross_entropy, noise
from gradguess.models.sites import Sites, output_error  # noqa: F401  (output_error re-exported)


@dataclass
class GuessContext:
    """What is known at guess time: the forward pass, the weights, the labels, the noise source."""

    model: torch.nn.Module
    trace: Sites
    y: Tensor
    generator: torch.Generator | None
    exact: list[Tensor | None] | None = None  # filled by `ActivationGuess.probe`
    pool_trace: Sites | None = None  # the activations a guess may mix: the batch's own unless a pool is set
    local_losses: bool = False  # whether the guesses are scored by local losses (what "next map" means may change)

    @property
    def num_layers(self) -> int:
        return self.trace.num_sites

    @property
    def batch(self) -> int:
        return self.y.shape[0]

    def is_last(self, i: int) -> bool:
        """Whether site i is the model's output (the MLP's logits): its guess is plain noise."""
        return self.trace.is_output(i)

    def shape(self, i: int) -> tuple[int, ...]:
        return self.trace.shape(i)

    def mask(self, i: int) -> Tensor | None:
        return self.trace.mask(i)

    def next_weight(self, i: int) -> Tensor:
        return self.trace.next_weight(i, self.local_losses)

    def next_transpose(self, i: int, z: Tensor, weight: Tensor) -> Tensor:
        return self.trace.next_transpose(i, z, weight, self.local_losses)

    def draw(self, shape, kind: str = "normal") -> Tensor:
        """Noise of `shape` from the context's generator: every draw of a guess rule goes through here (and
        `base.noise`), so a batched run can hand each replicate the numbers its own generator drew."""
        like = self.trace.logits
        return noise(kind, shape, self.generator, like.device, like.dtype)

    def normal(self, i: int) -> Tensor:
        """N(0, I) noise shaped like site i's variable."""
        return self.draw(self.shape(i))

    def uniform(self, i: int) -> Tensor:
        return self.draw(self.shape(i), "uniform")

    def next_normal(self, i: int) -> Tensor:
        """N(0, I) noise shaped like the output of the linear map that follows site i."""
        return self.draw(self.trace.next_shape(i, self.local_losses))


def directional_derivatives(ctx: GuessContext, guesses: list[Tensor], mode: str, local_losses: bool = False) -> Tensor:
    """The losses' directional derivatives along the guesses, from one forward-mode pass.

    MLP: shape (B,) for `joint`, (L, B) for `per_layer` (row i: layer i's guess alone).
    """
    if mode not in MODES:
        raise ValueError(f"unknown JVP mode {mode!r}; valid modes: {', '.join(MODES)}")
    return ctx.trace.directional_derivatives(guesses, ctx.y, mode, local_losses)


def scale_guesses(guesses: list[Tensor], d: Tensor) -> list[Tensor]:
    """Estimates of ∂ℓ_b/∂s_i for the MLP: each guess times its directional derivative."""
    if d.dim() == 1:
        return [d[:, None] * g for g in guesses]
    return [d[i][:, None] * g for i, g in enumerate(guesses)]


def weight_updates(model, trace: Sites, preact_grads: list[Tensor]) -> dict[str, Tensor]:
    """Parameter updates from per-example estimates of ∂ℓ_b/∂z_i (see `Sites.updates`)."""
    return trace.updates(preact_grads, None)


class ActivationGuess(Estimator):
    """Base of the activation-space methods: subclasses implement `guess` only.

    `local_losses`: score each block's guesses by its local losses (a model with
    local losses only, the LocalMixer; "Ren et al." is activation perturbation
    with local losses) instead of by the final loss.

    `pool`, if set, holds inputs whose activations a guess may draw on instead of
    the batch's own (activation mixing; Figure 4 feeds copies of one example and
    mixes the activations of that example's training batch).
    """

    pool: Tensor | None = None

    def __init__(self, mode: str = DEFAULT_MODE, local_losses: bool = False, memory: str = "default"):
        if mode not in MODES:
            raise ValueError(f"unknown JVP mode {mode!r}; valid modes: {', '.join(MODES)}")
        if not isinstance(local_losses, bool):
            raise ValueError(f"option local_losses must be true or false, got {local_losses!r}")
        self.mode = mode
        self.local_losses = local_losses
        self.memory = low_memory.check_option(memory, mode, local_losses)

    def options(self) -> dict:
        return {"mode": self.mode, "local_losses": self.local_losses, "memory": self.memory}

    @abstractmethod
    def guess(self, ctx: GuessContext, i: int) -> Tensor:
        """A guess (B, n_i) for ∂ℓ_b/∂s_i, built only from what is known before the loss."""

    def exact(self, ctx: GuessContext, i: int) -> Tensor | None:
        """∂ℓ_b/∂s_i where it is known locally (no backpropagation), else None (the default: guess it)."""
        return None

    def context(self, model, sites: Sites, y: Tensor, generator) -> GuessContext:
        """The context the guesses of one batch are made in (the low-memory sweep passes sites of its own)."""
        return GuessContext(model, sites, y, generator, local_losses=self.local_losses)

    def lookahead(self) -> int:
        """How many layers after site i the guess for site i reads (masks, activations): what a low-memory sweep
        must have computed before it can guess site i. Weights and shapes are always at hand."""
        return 0

    def probe(self, model, x, y, generator=None):
        """Forward pass, guesses and directional derivatives, for tests and analyses.

        A layer with an exact local error has a zero guess here (it is not in the tangent);
        its error is in `ctx.exact[i]`.
        """
        with torch.no_grad():
            ctx = self.context(model, model.trace(x), y, generator)
            ctx.pool_trace = model.trace(self.pool) if self.pool is not None else ctx.trace
            ctx.exact = [self.exact(ctx, i) for i in range(ctx.num_layers)]
            guesses = [torch.zeros(ctx.shape(i), device=e.device, dtype=e.dtype) if e is not None
                       else self.guess(ctx, i) for i, e in enumerate(ctx.exact)]
            return ctx, guesses, directional_derivatives(ctx, guesses, self.mode, self.local_losses)

    def preact_estimates(self, ctx: GuessContext, guesses: list[Tensor], d: Tensor) -> list[Tensor]:
        """Per-example estimates of ∂ℓ_b/∂s_i: the exact local error where there is one, else d·ε_i."""
        return [e if e is not None else ctx.trace.scale(i, d, g) for i, (e, g) in enumerate(zip(ctx.exact, guesses))]

    def compute(self, model, x, y, generator=None) -> Estimate:
        if self.memory == "low":
            return low_memory.estimate(self, model, x, y, generator)
        ctx, guesses, d = self.probe(model, x, y, generator)
        with torch.no_grad():
            grads = ctx.trace.updates(self.preact_estimates(ctx, guesses, d), y, self.local_losses)
            logits = ctx.trace.logits
            return Estimate(grads, logits, mean_cross_entropy(logits, y))
