"""W^T with the singular values of W_{i+1} raised to a power (§4.1, Figure 5).

Powers above 1 let a few singular directions dominate the guess, which lowers
the weights' effective rank over training and raises the cosine similarity:
the paper's controlled re-creation of self-sharpening. Power 1 is plain W^T.
"""
import torch

from gradguess.methods import DEFAULT_MODE
from gradguess.methods.engine import GuessContext
from gradguess.methods.wt import WT


class WTSVPower(WT):
    name = "wt_sv_power"

    def __init__(self, power: float = 1.0, mode: str = DEFAULT_MODE, memory: str = "default"):
        super().__init__(mode=mode, memory=memory)
        self.power = float(power)

    def options(self) -> dict:
        return {"power": self.power, **super().options()}

    def next_weight(self, ctx: GuessContext, i: int):
        u, s, vh = torch.linalg.svd(ctx.next_weight(i), full_matrices=False)
        return (u * s.pow(self.power)) @ vh
