"""A batched job's noise (gradguess.batched): each replicate's random numbers, drawn from its own generator in the
order the run alone draws them, and handed to the method's unchanged guess rule inside `vmap`.

The kinds and shapes of what a method draws in a step do not depend on the weights, so a dry run records them
(`Recorder`); every step `fill` draws them for each replicate and `Replay` hands a replicate its own, checking that
the method asks for exactly what was recorded.
"""
from __future__ import annotations

import torch

from gradguess.batching import BatchingError
from gradguess.methods.base import SAMPLERS_IN_PLACE, Draws, noise


class Recorder(Draws):
    """A dry run's noise: records what a method draws (kind, shape, dtype), in order."""

    def __init__(self, device):
        self.log: list[tuple] = []
        self.gen = torch.Generator(device=device).manual_seed(0)

    def draw(self, kind, shape, device, dtype):
        self.log.append((kind, shape, dtype))
        return noise(kind, shape, self.gen, device, dtype)


class Replay(Draws):
    """A replicate's pre-drawn noise, handed to the method in the order it was recorded."""

    def __init__(self, tensors, recorded):
        self.tensors, self.recorded, self.i = list(tensors), recorded, 0

    def draw(self, kind, shape, device, dtype):
        if self.i >= len(self.recorded) or self.recorded[self.i][:2] != (kind, shape):
            raise BatchingError("the method drew other noise than its dry run did (its draws depend on the "
                                "weights), so its replicates cannot be batched")
        self.i += 1
        return self.tensors[self.i - 1]

    def done(self) -> None:
        if self.i != len(self.recorded):
            raise BatchingError(f"the method drew {self.i} of the {len(self.recorded)} noise tensors its dry run "
                                "drew, so its replicates cannot be batched")


def fill(recorded, gens: list[torch.Generator], device) -> list[torch.Tensor]:
    """Each replicate's noise from its own generator, in the order the run alone draws it, stacked [R, ...]."""
    out = [torch.empty((len(gens), *shape), device=device, dtype=dtype) for _, shape, dtype in recorded]
    for r, gen in enumerate(gens):  # replicate by replicate: each generator's draws stay in their order
        for t, (kind, _, _) in zip(out, recorded):
            # in place on the replicate's slice: the same numbers as torch.randn/rand(shape, generator=gen)
            SAMPLERS_IN_PLACE[kind](t[r], generator=gen)
    return out
