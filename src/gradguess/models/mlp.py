"""The paper's ReLU MLP on flattened images.

Depth counts weight matrices: a depth-D MLP is D linear layers W_1..W_D with a
ReLU after every one but the last, so D-1 hidden layers of `width` units and
logits s_D. This is the paper's convention (§3.1, eq. 2: a "k-layer" MLP has
weights W_1..W_k and the loss is computed on s_k), so "D:3, W:128" in Table 2
is Linear(in,128)-ReLU-Linear(128,128)-ReLU-Linear(128,classes).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from gradguess.catalog import MODES
from gradguess.models.sites import Sites, output_error


@dataclass
class Trace(Sites):
    """What a forward pass leaves behind for gradient guessing; the MLP's sites are its layers.

    For layer i (0-based): `inputs[i]` is x_i, the layer's (flattened) input,
    and `masks[i]` is ReLU'(s_i) as booleans (None for the last layer, which has
    no ReLU). Hidden pre-activations are not kept: where s_i > 0 they equal
    x_{i+1}, and only that part is ever used. `logits` is s_last. The guessed
    variable of site i is s_i itself (no normalisation between map and ReLU).
    """

    inputs: list[Tensor]
    masks: list[Tensor | None]
    logits: Tensor
    model: "MLP | None" = field(default=None, repr=False)

    def width(self, i: int) -> int:
        return self.logits.shape[1] if self.masks[i] is None else self.masks[i].shape[1]

    # ---- the `Sites` interface
    @property
    def num_sites(self) -> int:
        return len(self.masks)

    def shape(self, i: int) -> tuple[int, ...]:
        return (self.logits.shape[0], self.width(i))

    def is_output(self, i: int) -> bool:
        return i == self.num_sites - 1  # the logits

    def mask(self, i: int) -> Tensor | None:
        return self.masks[i]

    def post(self, i: int) -> Tensor:
        return self.inputs[i + 1]  # ReLU(s_i)

    def weight(self, i: int) -> Tensor:
        return self.model.layers[i].weight.detach()

    def next_weight(self, i: int, local_losses: bool = False) -> Tensor:
        return self.weight(i + 1)

    def next_shape(self, i: int, local_losses: bool = False) -> tuple[int, ...]:
        return self.shape(i + 1)

    def next_transpose(self, i: int, z: Tensor, weight: Tensor, local_losses: bool = False) -> Tensor:
        return z @ weight

    def directional_derivatives(self, guesses, y, mode, local_losses=False):
        """Per-example directional derivatives of ℓ_b along the pre-activation guesses, by a hand tangent sweep
        ṡ_j = W_j (m_{j-1} ⊙ ṡ_{j-1}) + ε_j. Shape (B,) for `joint`, (L, B) for `per_layer`."""
        if local_losses:
            raise ValueError("the MLP has no local losses: use local_losses=false")
        masks = self.masks
        if mode == "joint":
            t = guesses[0]
            for j in range(1, self.num_sites):
                t = tangent_step(t, masks[j - 1], self.weight(j), guesses[j])
        elif mode == "per_layer":
            t = guesses[0].unsqueeze(0)
            for j in range(1, self.num_sites):
                t = torch.cat([(t * masks[j - 1]) @ self.weight(j).T, guesses[j].unsqueeze(0)])
        else:
            raise ValueError(f"unknown JVP mode {mode!r}; valid modes: {', '.join(MODES)}")
        return tangent_derivative(t, self.logits, y)

    def scale(self, i: int, d: Tensor, guess: Tensor) -> Tensor:
        return (d if d.dim() == 1 else d[i])[:, None] * guess

    def updates(self, estimates, y, local_losses=False):
        """∂L/∂W_i ≈ mean_b ĝ_{i,b} x_{i,b}^T and ∂L/∂b_i ≈ mean_b ĝ_{i,b}, L the batch-mean loss."""
        grads = {}
        for i, g in enumerate(estimates):
            grads.update(self.model.layer_updates(i, g, self.inputs[i]))
        return grads


# The two steps of the joint tangent sweep, shared with the low-memory sweep (methods/low_memory.py) so that both
# do the same floating-point operations and agree bit for bit.
def tangent_step(t: Tensor, mask: Tensor, weight: Tensor, guess: Tensor) -> Tensor:
    """ṡ_j = W_j (m_{j-1} ⊙ ṡ_{j-1}) + ε_j."""
    return torch.addmm(guess, t * mask, weight.T)


def tangent_derivative(t: Tensor, logits: Tensor, y: Tensor) -> Tensor:
    """Each example's directional derivative of its loss, from the tangent of its logits."""
    return (t * output_error(logits, y)).sum(-1)


class MLP(nn.Module):
    def __init__(self, in_features: int, num_classes: int, depth: int, width: int, bias: bool = True):
        super().__init__()
        if depth < 1:
            raise ValueError(f"MLP depth must be >= 1 (number of linear layers), got {depth}")
        if width < 1:
            raise ValueError(f"MLP width must be >= 1, got {width}")
        dims = [in_features] + [width] * (depth - 1) + [num_classes]
        self.layers = nn.ModuleList(nn.Linear(a, b, bias=bias) for a, b in zip(dims[:-1], dims[1:]))
        self.in_features, self.num_classes, self.depth, self.width = in_features, num_classes, depth, width

    def forward(self, x: Tensor) -> Tensor:
        h = x.flatten(1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        return h

    @torch.no_grad()
    def trace(self, x: Tensor) -> Trace:
        """Forward pass that keeps every layer's input and ReLU mask."""
        inputs, masks, out = [], [], None
        for h, mask, out in self.sweep(x):
            inputs.append(h)
            masks.append(mask)
        return Trace(inputs, masks, out, self)

    @torch.no_grad()
    def sweep(self, x: Tensor):
        """The forward pass one layer at a time: (x_i, ReLU'(s_i) or None for the last layer, the layer's output).

        `trace` keeps every layer's; the low-memory mode (methods/low_memory.py) keeps a few at a time."""
        h, last = x.flatten(1), len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            s = layer(h)
            if i == last:
                yield h, None, s
                return
            mask, out = s > 0, torch.relu(s)
            del s  # only its mask and ReLU are ever used
            yield h, mask, out
            h = out

    def layer_updates(self, i: int, estimate: Tensor, x: Tensor) -> dict[str, Tensor]:
        """Layer i's weight and bias updates from per-example estimates of ∂ℓ_b/∂s_i and the layer's input x_i:
        mean_b ĝ_b x_bᵀ and mean_b ĝ_b (the batch-mean loss's gradient, estimated)."""
        batch = estimate.shape[0]
        w_name, b_name = self.param_names(i)
        grads = {w_name: (estimate.T @ x) / batch}
        if b_name is not None:
            grads[b_name] = estimate.sum(0) / batch
        return grads

    def param_names(self, i: int) -> tuple[str, str | None]:
        """Names in `named_parameters()` of layer i's weight and bias."""
        return f"layers.{i}.weight", (f"layers.{i}.bias" if self.layers[i].bias is not None else None)

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}"


def build(options: dict, input_shape, num_classes: int, seed: int) -> MLP:
    """The MLP a run with `seed` starts from (the registry's entry; options: depth, width)."""
    import math

    torch.manual_seed(seed)
    return MLP(math.prod(input_shape), num_classes, int(options["depth"]), int(options["width"]))
