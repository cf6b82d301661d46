"""One run's specification: the model it trains, the method and optimizer it trains with, the data, how long, with
which seeds, and what it records. One list of fields, one validation, one digest, one serialisation: the plan
(gradguess.plan) writes it, `gradguess train --spec` reads it, config.json records it and a checkpoint is resumed
only by a run of the same spec. Torch-free: the Snakefile builds specs while it is parsed.

    spec = RunSpec.from_dict({"model": {"name": "mlp", "options": {"depth": 6, "width": 1024}},
                              "method": {"name": "wt"}, "dataset": "cifar10", "epochs": 1000})
    spec.arch          # 'd6-w1024': the architecture's part of a run directory, defined here only
    spec.digest()      # names the run's checkpoints: everything but the seeds
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping

from gradguess.catalog import DATASETS, MODELS, OPTIMIZERS


SCHEDULES = ("constant", "cosine")


def lr_factor(schedule: str, epoch: int, epochs: int, warmup: int) -> float:
    """The lr multiplier in (0-based) `epoch`: 1, or Jia et al.'s warmup-cosine (KMnP/vpt, src/solver/lr_scheduler.py),
    stepped once an epoch: linear from 0 over `warmup` epochs, then a half cosine to 0."""
    import math

    if schedule == "constant":
        return 1.0
    if epoch < warmup:
        return epoch / max(1, warmup)
    progress = (epoch - warmup) / max(1, epochs - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class SpecError(ValueError):
    """A run specification names something unknown or holds a bad value; the message names the field."""


@dataclass(frozen=True)
class Part:
    """A named, configured component: a model or a method, with its options."""
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "options": dict(sorted(self.options.items()))}

    @classmethod
    def from_dict(cls, what: str, value) -> "Part":
        if isinstance(value, str):
            return cls(value, {})
        if not isinstance(value, Mapping) or "name" not in value:
            raise SpecError(f"{what}: expected {{name, options}}, got {value!r}")
        unknown = sorted(set(value) - {"name", "options"})
        if unknown:
            raise SpecError(f"{what}: unknown key(s) {unknown}; valid: name, options")
        return cls(str(value["name"]), dict(value.get("options") or {}))


@dataclass(frozen=True)
class RunSpec:
    model: Part
    method: Part
    dataset: str
    epochs: int = 10
    batch_size: int = 512
    optimizer: str = "adamw"
    lr: float = 1e-4
    momentum: float = 0.0
    weight_decay: float | None = None   # None: the optimizer's default (gradguess.optim)
    augment: bool = False               # random crop and flip per batch (Table 1)
    schedule: str = "constant"          # the lr over epochs: constant, or cosine (to 0, after a linear warmup)
    warmup_epochs: int = 0              # cosine only: epochs of linear warmup from 0 (Jia et al.'s VPT: 10)
    seeds: tuple[int, ...] = (0,)
    monitor_every: int = 0              # steps between guess-quality measurements (monitor.csv); 0: off

    # ---- one serialisation
    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["model"], out["method"], out["seeds"] = self.model.to_dict(), self.method.to_dict(), list(self.seeds)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, value: Mapping) -> "RunSpec":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise SpecError(f"unknown run setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        missing = sorted({"model", "method", "dataset"} - set(value))
        if missing:
            raise SpecError(f"run specification lacks {', '.join(missing)}")
        kw = dict(value)
        kw["model"] = Part.from_dict("model", kw["model"])
        kw["method"] = Part.from_dict("method", kw["method"])
        if "seeds" in kw:
            seeds = kw["seeds"]
            kw["seeds"] = tuple(int(s) for s in (seeds if isinstance(seeds, (list, tuple)) else [seeds]))
        spec = cls(**kw)
        spec.validate()
        return spec

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SpecError(f"run specification is not JSON: {exc}") from exc

    # ---- one validation (names and ranges; a method's options are checked by the method itself)
    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise SpecError(f"dataset: unknown {self.dataset!r}; valid: {', '.join(DATASETS)}")
        if self.model.name not in MODELS:
            raise SpecError(f"model.name: unknown {self.model.name!r}; valid: {', '.join(MODELS)}")
        needed, allowed = MODELS[self.model.name]
        lacking = sorted(set(needed) - set(self.model.options))
        unknown = sorted(set(self.model.options) - set(needed) - set(allowed))
        if lacking or unknown:
            raise SpecError(f"model.options of {self.model.name}: " + "; ".join(
                part for part in (f"lacks {lacking}" if lacking else "", f"unknown {unknown}" if unknown else "")
                if part) + f" (needs {list(needed)}, may have {list(allowed)})")
        for key in needed:
            if not isinstance(self.model.options[key], int) or self.model.options[key] < 1:
                raise SpecError(f"model.options.{key} must be an integer >= 1, got {self.model.options[key]!r}")
        from gradguess import methods  # torch-free: names only
        if self.method.name not in methods.names():
            raise SpecError(f"method.name: unknown {self.method.name!r}; valid: {', '.join(methods.names())}")
        if self.optimizer not in OPTIMIZERS:
            raise SpecError(f"optimizer: unknown {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise SpecError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise SpecError(f"lr must be > 0, got {self.lr!r}")
        if self.monitor_every < 0:
            raise SpecError(f"monitor_every must be >= 0 (0: off), got {self.monitor_every}")
        if not isinstance(self.augment, bool):
            raise SpecError(f"augment must be true or false, got {self.augment!r}")
        if self.schedule not in SCHEDULES:
            raise SpecError(f"schedule: unknown {self.schedule!r}; valid: {', '.join(SCHEDULES)}")
        if not 0 <= self.warmup_epochs < self.epochs or (self.warmup_epochs and self.schedule == "constant"):
            raise SpecError(f"warmup_epochs must be >= 0, below epochs and only with a cosine schedule, got "
                            f"{self.warmup_epochs}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise SpecError(f"seeds must be distinct and at least one, got {list(self.seeds)}")

    # ---- one digest
    def digest(self, with_seeds: bool = False) -> str:
        """10 hex digits over the canonical JSON: names a run's checkpoints (without the seeds: the seed is the
        directory) and tells a checkpoint from another spec's."""
        data = self.to_dict()
        if not with_seeds:
            data.pop("seeds")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]

    # ---- what is derived from it
    @property
    def arch(self) -> str:
        return arch_name(self.model)

    def for_seed(self, seed: int) -> "RunSpec":
        return replace(self, seeds=(int(seed),))

    def trains_like(self, other: "RunSpec") -> bool:
        """Whether two specs train the same weights: monitoring draws no random numbers (a test checks it)."""
        return replace(self, monitor_every=0) == replace(other, monitor_every=0)

    def with_(self, **changes) -> "RunSpec":
        return replace(self, **changes)


def arch_name(model: Part) -> str:
    """A model's part of a run directory, the one definition: d<depth>-w<width> for an MLP,
    mixer-b<blocks>-c<channels>-p<patch>-g<groups> for a LocalMixer, vit-p<patch>-w<dim>-b<blocks>-h<heads>-n<prompts>
    for a prompted ViT, <name>-<options> for any other."""
    o = model.options
    if model.name == "mlp":
        return f"d{o['depth']}-w{o['width']}"
    if model.name == "localmixer":
        return f"mixer-b{o['blocks']}-c{o['channels']}-p{o['patch']}-g{o['groups']}"
    if model.name == "vit_prompt":
        return f"vit-p{o['patch']}-w{o['dim']}-b{o['depth']}-h{o['heads']}-n{o['n_prompt']}"
    return "-".join([model.name.replace("_", ""), *(f"{k[0]}{v}" for k, v in sorted(o.items()) if isinstance(v, int))])


__all__ = ["RunSpec", "Part", "SpecError", "arch_name", "lr_factor", "SCHEDULES"]
