"""The paper's MLP (models/mlp.py), as the torch-free side knows it (gradguess.models.facts)."""
from __future__ import annotations

from gradguess.catalog import in_features
from gradguess.models.facts import ModelFacts


def _dims(o, shape, classes) -> list[int]:
    c, h, w = shape
    return [c * h * w] + [int(o["width"])] * (int(o["depth"]) - 1) + [classes]


def size(o, shape, classes) -> tuple[int, int]:
    dims = _dims(o, shape, classes)
    return (sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:])), sum(a * b for a, b in zip(dims[:-1], dims[1:])))


def memory_mb(o, dataset: str, batch_size: int, gpu: bool) -> float:
    """Weights, grads, optimizer state and checkpoint copies (float32), and on the CPU the activations."""
    params = FACTS.params(o, dataset)
    activations = 0 if gpu else 4 * batch_size * (in_features(dataset) + o["depth"] * o["width"]) * 8
    return (4 * params * 8 + activations) / 2**20


FACTS = ModelFacts("mlp", required=("depth", "width"), size=size, arch=lambda o: f"d{o['depth']}-w{o['width']}",
                   memory_mb=memory_mb, batches=True, low_memory=True, monitor=True)
