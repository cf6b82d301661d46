"""Linear sites: what a model tells the forward-gradient engine about itself.

Every activation-space method guesses, for each *site* i, the gradient of each
example's loss with respect to a variable z_i that a linear map produced and
that a ReLU (possibly after a residual sum) consumes. A model's forward pass
returns a `Sites` object that answers, per site:

- `shape(i)`: the shape of a guess for z_i, batch first;
- `is_output(i)`: whether z_i is the model's output (the MLP's logits): its
  guess is plain noise, and an exact local error may replace it;
- `mask(i)`: ReLU'(·) at z_i's consumer, shaped like the guess, or None where
  no ReLU follows (an output layer; a ViT's prompt tokens, which are not an
  output: a guess rule then skips the mask);
- `post(i)`: the ReLU's output (what activation mixing mixes);
- `next_weight(i)`, `next_shape(i)`, `next_transpose(i, z, w)`: the next linear
  map that reads the ReLU's output, as its weight, the shape of its output, and
  its transpose applied to a vector z of that shape (what W^T uses);
- `directional_derivatives(guesses, y, mode, local_losses)`: the one
  forward-mode pass that carries all guesses as tangents and returns every
  loss's directional derivative (one per example for a global loss; one per
  example, patch and group for the LocalMixer's local losses);
- `scale(i, d, guess)`: the estimate of ∂ℓ/∂z_i: each part of the guess times
  the directional derivative(s) of the loss(es) that part feeds;
- `updates(estimates, y, local_losses)`: the parameter updates, keyed like
  `model.named_parameters()`, from the per-example estimates (one local
  vector-Jacobian product per site: outer products, and the LayerNorm where
  the site has one), plus the exact gradients of parameters that learn from a
  loss they touch directly (the LocalMixer's heads and classifier).

The guess rules (`methods/wt.py`, `activation_mixing.py`,
`activation_perturbation.py`) speak only this interface, so they run unchanged
on every model that provides it: `models/mlp.py` (`Trace`, sites = its layers)
and `models/mixer.py` (`MixerTrace`, sites = each block's linear maps).

A third architecture, prompt tuning a ViT (Figure 9, `models/vit_prompt.py`),
plugs in the same way: its `trace(x)` returns a `Sites` whose one site is the
prompt tokens z ([B, n_prompt, D]), not an output and without a mask; W^T's
`next_transpose` is the first block's qkv projection through the LayerNorm in
front of it; `directional_derivatives` is one `torch.func.jvp` of the frozen
network with the prompt's tangent; `updates` averages the per-example
estimates into the prompt parameter and gives the head its exact gradient.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor


class Sites(ABC):
    """A forward pass seen as a list of linear sites (see the module docstring)."""

    logits: Tensor

    @property
    @abstractmethod
    def num_sites(self) -> int: ...

    @abstractmethod
    def shape(self, i: int) -> tuple[int, ...]: ...

    @abstractmethod
    def is_output(self, i: int) -> bool: ...

    @abstractmethod
    def mask(self, i: int) -> Tensor | None: ...

    @abstractmethod
    def post(self, i: int) -> Tensor: ...

    # the next linear map may depend on whether the losses are local (the LocalMixer: a block's head, or the
    # next block's token mixing)
    @abstractmethod
    def next_weight(self, i: int, local_losses: bool = False) -> Tensor: ...

    @abstractmethod
    def next_shape(self, i: int, local_losses: bool = False) -> tuple[int, ...]: ...

    @abstractmethod
    def next_transpose(self, i: int, z: Tensor, weight: Tensor, local_losses: bool = False) -> Tensor: ...

    @abstractmethod
    def directional_derivatives(self, guesses: list[Tensor], y: Tensor, mode: str,
                                local_losses: bool = False) -> Tensor: ...

    @abstractmethod
    def scale(self, i: int, d: Tensor, guess: Tensor) -> Tensor: ...

    @abstractmethod
    def updates(self, estimates: list[Tensor], y: Tensor, local_losses: bool = False) -> dict[str, Tensor]: ...


def output_error(logits: Tensor, y: Tensor) -> Tensor:
    """∂ℓ_b/∂logits_b for cross-entropy: softmax − one-hot. Local to the output, no backprop."""
    import torch
    from torch.nn import functional as F

    return torch.softmax(logits, dim=1) - F.one_hot(y, logits.shape[1]).to(logits.dtype)
