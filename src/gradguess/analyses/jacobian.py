"""Jacobian spectra through k layers (Figure 7, right; A.3): more layers, a faster-decaying spectrum.

A.3 takes the Jacobians of "layers i+1, ..., i+k", each a weight matrix with
its ReLU mask, so k counts weight layers downstream of layer i: the map a
k-layer-downstream guess backpropagates through. For the MLP's layer i and
D_j = diag(ReLU'(s_j)),

    J_k = ∂x_{i+k+1}/∂s_i = D_{i+k} W_{i+k} ⋯ D_{i+1} W_{i+1} D_i

per example (no D after the last layer: x is then the logits), built from one
forward pass (`MLP.trace`). k = 1 is what 1-layer downstream guesses through:
W_{i+1} and both masks around it. Its singular values, divided by the
largest, are the curve; their effective rank (Roy & Vetterli) says how many
directions a k-layer-downstream guess really explores.
"""
from __future__ import annotations

import torch

from gradguess.metrics import entropy_rank

COLUMNS = ["state", "k", "index", "singular_value", "effective_rank"]


def jacobians(model, x: torch.Tensor, layer: int, k: int) -> torch.Tensor:
    """(B, n_{i+k+1}, n_i): ∂x_{i+k+1}/∂s_i through the k weight layers after `layer`, for every example."""
    trace = model.trace(x)
    layers = len(model.layers)
    if k < 1 or layer + k > layers - 1 or trace.masks[layer] is None:
        raise ValueError(f"layer {layer} has no {k} weight layers after it (the MLP has {layers} layers; "
                         f"k counts W_(i+1) .. W_(i+k))")
    j = torch.diag_embed(trace.masks[layer].to(x.dtype))          # D_i
    for step in range(layer + 1, layer + k + 1):
        j = model.layers[step].weight.detach() @ j                 # W_step
        if trace.masks[step] is not None:
            j = trace.masks[step].to(x.dtype)[:, :, None] * j      # D_step
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


def run_spectra(run, data_root, layer: int, depths: list[int], examples: int, seed: int, device: str = "auto"
                ) -> list[dict]:
    """A run's spectra at its initialisation (rebuilt from its spec and seed) and at its final weights, on the
    same seeded batch of its training data."""
    from gradguess.analyses.inputs import device_for, examples as batch, initial_and_trained

    init, trained, data = initial_and_trained(run, data_root, device_for(device, "Jacobian spectra"))
    x, _ = batch(data, examples, seed)
    return [{"state": state, **row} for state, model in (("initialisation", init), ("trained", trained))
            for row in spectra(model, x, layer, depths)]
