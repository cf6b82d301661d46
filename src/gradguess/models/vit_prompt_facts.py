"""A frozen ViT with VPT-shallow prompts (models/vit_prompt.py), as the torch-free side knows it
(gradguess.models.facts)."""
from __future__ import annotations

from gradguess.models.facts import ModelFacts


def size(o, shape, classes) -> tuple[int, int]:
    """(trainable parameters: prompts and head, forward multiply-adds per example). The prompt-tuning sets are
    224x224 after preparation; the quick preset's are 32x32."""
    _, h, w = shape
    d, patches = o["dim"], (h // o["patch"]) * (w // o["patch"])
    tokens = patches + 1 + o["n_prompt"]
    hidden = int(d * float(o.get("mlp_ratio", 4.0)))
    per_block = tokens * (4 * d * d + 2 * d * hidden) + 2 * tokens * tokens * d  # qkv, proj, MLP; attention
    macs = patches * 3 * o["patch"] ** 2 * d + o["depth"] * per_block + d * classes
    return o["n_prompt"] * d + (d + 1) * classes, macs


FACTS = ModelFacts("vit_prompt", required=("patch", "dim", "depth", "heads", "n_prompt"),
                   optional=("mlp_ratio", "weights"), size=size,
                   arch=lambda o: f"vit-p{o['patch']}-w{o['dim']}-b{o['depth']}-h{o['heads']}-n{o['n_prompt']}",
                   memory_mb=lambda o, dataset, batch_size, gpu: 2000)  # ViT-B/16's weights alone are 0.35 GB
