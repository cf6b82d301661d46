"""Watching a run: how good its guesses are as it trains (§4.1, Figure 5).

Every `every` steps the trainer hands the monitor the batch, the weights and the
estimate the step is about to apply. The monitor computes backprop's gradient on
that batch at those weights (its cost: one forward and backward pass every
`every` steps; backprop draws no random numbers, so a monitored run trains
bit for bit like an unmonitored one) and records:
  cosine            of the estimate with the gradient, whole network
  cosine_<layer>    the same per layer (weight and bias together)
  rank_<layer>      the effective rank (Roy & Vetterli) of the layer's weights
The estimate is the one the step uses: no extra guess is drawn.
"""
from __future__ import annotations

from pathlib import Path

import torch

from gradguess import io
from gradguess.methods.backprop import Backprop
from gradguess.metrics import cosine_similarity, effective_rank, layer_cosine_similarity


def monitor_columns(num_layers: int) -> list[str]:
    layers = [f"layers.{i}" for i in range(num_layers)]
    return (["step", "epoch", "cosine"] + [f"cosine_{layer}" for layer in layers]
            + [f"rank_{layer}" for layer in layers])


class Monitor:
    def __init__(self, every: int, path: str | Path, num_layers: int, rows: list[dict] | None = None):
        if every < 1:
            raise ValueError(f"monitor interval must be >= 1 step, got {every}")
        self.every, self.path, self.columns = every, Path(path), monitor_columns(num_layers)
        self.rows: list[dict] = list(rows or [])

    def due(self, step: int) -> bool:
        """`step` counts the steps taken before this one: step 0 (the initialisation) is measured."""
        return step % self.every == 0

    def observe(self, step: int, epoch: int, model, x, y, estimate: dict) -> dict:
        exact = Backprop().compute(model, x, y).grads
        row = {"step": step, "epoch": epoch, "cosine": cosine_similarity(estimate, exact)}
        row.update({f"cosine_{k}": v for k, v in layer_cosine_similarity(estimate, exact).items()})
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith(".weight"):
                    row[f"rank_{name.removesuffix('.weight')}"] = effective_rank(p)
        self.rows.append(row)
        return row

    def write(self) -> None:
        io.write_csv(self.path, self.rows, self.columns)
