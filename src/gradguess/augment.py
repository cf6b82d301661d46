"""Data augmentation on the device, per batch: random crop with zero padding and horizontal flip.

Table 1's row (b) trains the LocalMixer with "random cropping, random
horizontal flips" (§4). We use the usual CIFAR recipe: pad 4 pixels on every
side, crop a random 32×32 window, flip with probability 1/2, independently per
image. The images are already normalised (`data.load`), so the zero padding is
the training set's mean colour. Batched: one gather for the crops, no Python
loop over images, no host sync; all randomness comes from `generator`.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def random_crop_flip(x: Tensor, generator: torch.Generator | None = None, padding: int = 4,
                     flip: bool = True) -> Tensor:
    """x [B, C, H, W] → the same shape: each image shifted by a random (dy, dx) ∈ [−padding, padding]²
    (vacated pixels zero) and mirrored left-right with probability 1/2."""
    b, c, h, w = x.shape
    dev = x.device
    padded = F.pad(x, (padding, padding, padding, padding))
    top = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=dev)
    left = torch.randint(0, 2 * padding + 1, (b,), generator=generator, device=dev)
    rows = (top[:, None] + torch.arange(h, device=dev))                 # [B, H]
    cols = (left[:, None] + torch.arange(w, device=dev))                # [B, W]
    if flip:
        mirror = torch.rand(b, generator=generator, device=dev) < 0.5
        cols = torch.where(mirror[:, None], cols.flip(1), cols)
    idx_r = rows[:, None, :, None].expand(b, c, h, padded.shape[3])
    out = padded.gather(2, idx_r)                                       # [B, C, H, W + 2p]
    idx_c = cols[:, None, None, :].expand(b, c, h, w)
    return out.gather(3, idx_c)
