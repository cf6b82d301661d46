"""The paper's ReLU MLP on flattened images.

Depth counts weight matrices: a depth-D MLP is D linear layers W_1..W_D with a
ReLU after every one but the last, so D-1 hidden layers of `width` units and
logits s_D. This is the paper's convention (§3.1, eq. 2: a "k-layer" MLP has
weights W_1..W_k and the loss is computed on s_k), so "D:3, W:128" in Table 2
is Linear(in,128)-ReLU-Linear(128,128)-ReLU-Linear(128,classes).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class Trace:
    """What a forward pass leaves behind for gradient guessing.

    For layer i (0-based): `inputs[i]` is x_i, the layer's (flattened) input,
    and `masks[i]` is ReLU'(s_i) as booleans (None for the last layer, which has
    no ReLU). Hidden pre-activations are not kept: where s_i > 0 they equal
    x_{i+1}, and only that part is ever used. `logits` is s_last.
    """

    inputs: list[Tensor]
    masks: list[Tensor | None]
    logits: Tensor

    def width(self, i: int) -> int:
        return self.logits.shape[1] if self.masks[i] is None else self.masks[i].shape[1]


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
        """Forward pass that keeps every layer's input, pre-activation and ReLU mask."""
        inputs, masks = [], []
        h = x.flatten(1)
        for layer in self.layers[:-1]:
            inputs.append(h)
            s = layer(h)
            masks.append(s > 0)
            h = torch.relu(s)
        inputs.append(h)
        masks.append(None)
        return Trace(inputs, masks, self.layers[-1](h))

    def param_names(self, i: int) -> tuple[str, str | None]:
        """Names in `named_parameters()` of layer i's weight and bias."""
        return f"layers.{i}.weight", (f"layers.{i}.bias" if self.layers[i].bias is not None else None)

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}"
