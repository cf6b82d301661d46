"""Jacobian spectra through k layers (Figure 7, right; A.3): more layers, a faster-decaying spectrum.

For the MLP's layer i, J_k = ∂x_{i+k}/∂s_i, the map from layer i's
pre-activations to the post-activations k layers on (the logits if i+k is the
last layer). With D_j = diag(ReLU'(s_j)):

    J_1 = D_i,   J_k = D_{i+k-1} W_{i+k-1} ⋯ D_{i+1} W_{i+1} D_i

per example, built from one forward pass (`MLP.trace`). Its singular values,
divided by the largest, are the curve; their effective rank (Roy & Vetterli)
says how many directions a k-layer-downstream guess really explores.
"""
from __future__ import annotations

import torch

from gradguess.metrics import entropy_rank


def jacobians(model, x: torch.Tensor, layer: int, k: int) -> torch.Tensor:
    """(B, n_{i+k}, n_i): ∂x_{i+k}/∂s_i for every example of `x`."""
    trace = model.trace(x)
    last = len(model.layers) - 1
    if layer + k > last + 1 or trace.masks[layer] is None:
        raise ValueError(f"layer {layer} has no {k} layers after it with ReLUs (the MLP has {last + 1} layers)")
    j = torch.diag_embed(trace.masks[layer].to(x.dtype))          # D_i
    for step in range(layer + 1, layer + k):
        j = model.layers[step].weight.detach() @ j                 # W_{step}
        if trace.masks[step] is not None:
            j = trace.masks[step].to(x.dtype)[:, :, None] * j      # D_{step}
    return j


def spectra(model, x: torch.Tensor, layer: int, depths: list[int]) -> list[dict]:
    """Rows {k, index, singular_value (normalised by the largest), effective_rank} averaged over examples."""
    rows = []
    for k in depths:
        s = torch.linalg.svdvals(jacobians(model, x, layer, k).double())  # (B, r), descending
        norm = s / s[:, :1].clamp_min(1e-30)
        ranks = torch.tensor([entropy_rank(v) for v in s])
        mean = norm.mean(0)
        for i, v in enumerate(mean.tolist()):
            rows.append({"k": k, "index": i + 1, "singular_value": v, "effective_rank": float(ranks.mean())})
    return rows
