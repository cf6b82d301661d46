"""What a model costs per example, without torch: its parameters (what its weights file holds) and the
multiply-adds of one forward pass. The calibration scales measured step times by these, so only their ratios
between shapes matter; each model declares its own rule beside its code (`size` in models/<file>_facts.py).
"""
from __future__ import annotations

from gradguess.models import facts


def params(model: str, options, dataset: str) -> int:
    """Parameters a run's weights file holds (its trainable ones)."""
    return facts.get(model).params(options, dataset)


def forward_macs(model: str, options, dataset: str) -> int:
    """Multiply-adds of one example's forward pass."""
    return facts.get(model).forward_macs(options, dataset)


def step_flops(model: str, options, dataset: str, batch: int) -> float:
    """A training step's arithmetic as the calibration counts it: forward and backward, ~3x the forward's
    2 FLOPs per multiply-add, per example. A proxy for scaling between shapes, not a hardware count."""
    return 6.0 * forward_macs(model, options, dataset) * batch
