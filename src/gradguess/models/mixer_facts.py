"""Ren et al.'s LocalMixer (models/mixer.py), as the torch-free side knows it (gradguess.models.facts)."""
from __future__ import annotations

from gradguess.catalog import DEFAULT_MODE
from gradguess.models.facts import ModelFacts


def size(o, shape, classes) -> tuple[int, int]:
    """(parameters, forward multiply-adds per example), following models/mixer.py's docstring."""
    c_in, h, w = shape
    p, ch, g, k = (h // o["patch"]) * (w // o["patch"]), o["channels"], o["groups"], classes
    patch_dim, per = o["patch"] ** 2 * c_in, ch // g
    params = (patch_dim + 1) * ch + o["blocks"] * (g * per * per + g * per + (ch + 1) * k) + (ch + 1) * k
    params += (o["blocks"] - 1) * (p * p + p + ch * ch + ch)  # token and channel mixing of blocks after the first
    macs = p * patch_dim * ch + o["blocks"] * p * ch * per + (o["blocks"] - 1) * (ch * p * p + p * ch * ch)
    return params, macs + (o["blocks"] + 1) * ch * k


FACTS = ModelFacts("localmixer", required=("blocks", "channels", "patch", "groups"), size=size,
                   arch=lambda o: f"mixer-b{o['blocks']}-c{o['channels']}-p{o['patch']}-g{o['groups']}",
                   memory_mb=lambda o, dataset, batch_size, gpu: 500,  # an allowance for weights and activations
                   modes=(DEFAULT_MODE,))  # one jvp of the whole network (MixerTrace.directional_derivatives)
