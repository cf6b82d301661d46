"""What the torch-free side knows of a model, declared by the model: the options a run specification gives it, its
part of a run directory's name, its size (what the calibration scales step times by and a weights file holds), its
host memory, the JVP modes its sites take, and what it supports (replicate batching, low-memory guessing, the guess
monitor). The Snakefile, the plan, jobsize, cost and the calibration read them while parsing, without torch.

A model is two files side by side: `models/<file>.py`, its code (torch: `build(options, input_shape, num_classes,
seed)`), and `models/<file>_facts.py`, its facts (`FACTS = ModelFacts(...)`, importing nothing but the standard
library and gradguess.catalog). The registry finds a model by its facts file, so adding one adds those two files and
edits none. (The facts cannot sit atop the code file: that file defines nn.Module subclasses, so importing it
imports torch.) A model defined elsewhere, a test's, joins with `gradguess.models.register(facts, builder)`.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

from gradguess.catalog import MODES, NUM_CLASSES, SHAPES

SUFFIX = "_facts"
MODEL_MB = 500  # host memory for a model that states none: its weights and activations, a guess


@dataclass(frozen=True)
class ModelFacts:
    name: str                                   # a run specification's model.name
    required: tuple[str, ...]                   # integer options (its size: they also key a calibration shape)
    # (trainable parameters, multiply-adds of one example's forward pass) for data of shape (C, H, W), K classes
    size: Callable[[Mapping, tuple[int, int, int], int], tuple[int, int]]
    optional: tuple[str, ...] = ()              # other options a specification may give
    arch: Callable[[Mapping], str] | None = None  # its part of a run directory; None: <name>-<k><v>-...
    # host MB beyond the runtime and the data set: (options, dataset, batch_size, gpu) -> MB; None: MODEL_MB
    memory_mb: Callable[[Mapping, str, int, bool], float] | None = None
    modes: tuple[str, ...] = MODES              # the JVP modes its sites take
    batches: bool = False                       # its seeds may train as one batched model (gradguess.batched)
    low_memory: bool = False                    # the methods' memory='low' (methods/low_memory.py)
    monitor: bool = False                       # the guess monitor (monitor_every) measures it
    module: str | None = None                   # gradguess.models.<module> builds it; None: registered with a builder

    def arch_name(self, options: Mapping) -> str:
        if self.arch is not None:
            return self.arch(options)
        return "-".join([self.name.replace("_", ""),
                         *(f"{k[0]}{v}" for k, v in sorted(options.items()) if isinstance(v, int))])

    def params(self, options: Mapping, dataset: str) -> int:
        return int(self.size(options, SHAPES[dataset], NUM_CLASSES[dataset])[0])

    def forward_macs(self, options: Mapping, dataset: str) -> int:
        return int(self.size(options, SHAPES[dataset], NUM_CLASSES[dataset])[1])

    def model_mb(self, options: Mapping, dataset: str, batch_size: int, gpu: bool) -> float:
        return MODEL_MB if self.memory_mb is None else self.memory_mb(options, dataset, batch_size, gpu)


_ADDED: dict[str, ModelFacts] = {}


@lru_cache(maxsize=None)
def _built_in() -> dict[str, ModelFacts]:
    """Every `models/<file>_facts.py`'s FACTS, by model name (files in name order)."""
    found = {}
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.endswith(SUFFIX):
            facts = importlib.import_module(f"{__package__}.{info.name}").FACTS
            found[facts.name] = replace(facts, module=info.name.removesuffix(SUFFIX))
    return found


def names() -> list[str]:
    return [*_built_in(), *_ADDED]


def get(name: str) -> ModelFacts:
    """A model's facts; KeyError naming the known models for an unknown one."""
    found = _built_in().get(name) or _ADDED.get(name)
    if found is None:
        raise KeyError(f"unknown model {name!r}; valid models: {', '.join(names())}")
    return found


def add(facts: ModelFacts) -> None:
    if facts.name in _built_in():
        raise ValueError(f"model {facts.name!r} is built in (models/); choose another name")
    _ADDED[facts.name] = facts


def remove(name: str) -> None:
    _ADDED.pop(name, None)
