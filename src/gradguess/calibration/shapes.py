"""What a model costs per example, without torch: its parameters (what its weights file holds) and the
multiply-adds of one forward pass. The calibration scales measured step times by these, so only their ratios
between shapes matter; they follow each model's code (models/mlp.py, models/mixer.py, models/vit_prompt.py).
"""
from __future__ import annotations

from gradguess.catalog import NUM_CLASSES, SHAPES

def _mlp_dims(dataset: str, o) -> list[int]:
    c, h, w = SHAPES[dataset]
    return [c * h * w] + [int(o["width"])] * (int(o["depth"]) - 1) + [NUM_CLASSES[dataset]]


def _mixer(dataset: str, o) -> tuple[int, int]:
    """(parameters, forward multiply-adds per example) of the LocalMixer (models/mixer.py's docstring)."""
    c_in, h, w = SHAPES[dataset]
    p, ch, g, k = (h // o["patch"]) * (w // o["patch"]), o["channels"], o["groups"], NUM_CLASSES[dataset]
    patch_dim, per = o["patch"] ** 2 * c_in, ch // g
    params = (patch_dim + 1) * ch + o["blocks"] * (g * per * per + g * per + (ch + 1) * k) + (ch + 1) * k
    params += (o["blocks"] - 1) * (p * p + p + ch * ch + ch)  # token and channel mixing of blocks after the first
    macs = p * patch_dim * ch + o["blocks"] * p * ch * per + (o["blocks"] - 1) * (ch * p * p + p * ch * ch)
    return params, macs + (o["blocks"] + 1) * ch * k


def _vit(dataset: str, o) -> tuple[int, int]:
    """(trainable parameters: prompts and head, forward multiply-adds per example) of a prompted ViT."""
    _, h, w = SHAPES[dataset]  # the prompt-tuning sets are 224x224 after preparation; the quick preset's are 32x32
    d, patches = o["dim"], (h // o["patch"]) * (w // o["patch"])
    tokens = patches + 1 + o["n_prompt"]
    hidden = int(d * float(o.get("mlp_ratio", 4.0)))
    per_block = tokens * (4 * d * d + 2 * d * hidden) + 2 * tokens * tokens * d  # qkv, proj, MLP; attention
    macs = patches * 3 * o["patch"] ** 2 * d + o["depth"] * per_block + d * NUM_CLASSES[dataset]
    return o["n_prompt"] * d + (d + 1) * NUM_CLASSES[dataset], macs


def params(model: str, options, dataset: str) -> int:
    """Parameters a run's weights file holds (its trainable ones)."""
    if model == "mlp":
        dims = _mlp_dims(dataset, options)
        return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))
    if model == "localmixer":
        return _mixer(dataset, options)[0]
    if model == "vit_prompt":
        return _vit(dataset, options)[0]
    raise KeyError(f"no size rule for model {model!r} (gradguess/calibration/shapes.py)")


def forward_macs(model: str, options, dataset: str) -> int:
    """Multiply-adds of one example's forward pass."""
    if model == "mlp":
        dims = _mlp_dims(dataset, options)
        return sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    if model == "localmixer":
        return _mixer(dataset, options)[1]
    if model == "vit_prompt":
        return _vit(dataset, options)[1]
    raise KeyError(f"no size rule for model {model!r} (gradguess/calibration/shapes.py)")


def step_flops(model: str, options, dataset: str, batch: int) -> float:
    """A training step's arithmetic as the calibration counts it: forward and backward, ~3x the forward's
    2 FLOPs per multiply-add, per example. A proxy for scaling between shapes, not a hardware count."""
    return 6.0 * forward_macs(model, options, dataset) * batch
