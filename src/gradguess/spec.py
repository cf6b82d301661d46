"""One run's specification: the model it trains, the method and optimizer it trains with, the data, how long, with
which seeds, and what it records. One list of fields, one validation, one digest, one serialisation: the plan
(gradguess.plan) writes it, `gradguess train --spec` reads it, config.json records it and a checkpoint is resumed
only by a run of the same spec. Torch-free: the Snakefile builds specs while it is parsed.

The fields are the one list of a run's settings; their metadata say what else reads them:
  setting        a config section may set it (training, methods, variants, a figure's section: gradguess.plan);
                 the config schema's `$defs/settings` lists the same names (a test checks)
  per_replicate  replicates of one batched job may differ in it (gradguess.batching)
  column         its column in the run tables (report/runs.py; None: none; the model, method and data set have
                 columns of their own making)
Their defaults are the one definition of a run's defaults (config.yaml's `training:` states the same values, for
the record a preset's artifacts keep: a test checks they agree).

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

from gradguess.catalog import DATASETS, DEFAULT_MODE, OPTIMIZERS
from gradguess.models import facts


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


def _field(default, *, setting: bool = True, per_replicate: bool = False, column: str | None = "="):
    """A RunSpec field with its metadata (the module docstring); column "=": the field's own name."""
    return field(default=default, metadata={"setting": setting, "per_replicate": per_replicate, "column": column})


@dataclass(frozen=True)
class RunSpec:
    model: Part
    method: Part
    dataset: str
    optimizer: str = _field("adamw")
    lr: float = _field(1e-4, per_replicate=True)
    momentum: float = _field(0.0)
    batch_size: int = _field(512)
    weight_decay: float | None = _field(None, per_replicate=True)  # None: the optimizer's default (gradguess.optim)
    epochs: int = _field(10, setting=False, column="planned_epochs")
    augment: bool = _field(False)           # random crop and flip per batch (Table 1)
    schedule: str = _field("constant", column=None)  # the lr over epochs: constant, or cosine (to 0, after a warmup)
    warmup_epochs: int = _field(0, column=None)      # cosine only: epochs of linear warmup from 0 (Jia et al.: 10)
    monitor_every: int = _field(0, per_replicate=True, column=None)  # steps between guess-quality measurements
    seeds: tuple[int, ...] = _field((0,), setting=False, per_replicate=True, column=None)

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
        self._validate_model()
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
        self._validate_support()

    def _validate_model(self) -> None:
        """The model's name and options, as its facts declare them (gradguess.models.facts)."""
        if self.model.name not in facts.names():
            raise SpecError(f"model.name: unknown {self.model.name!r}; valid: {', '.join(facts.names())}")
        model = facts.get(self.model.name)
        needed, allowed = model.required, model.optional
        lacking = sorted(set(needed) - set(self.model.options))
        unknown = sorted(set(self.model.options) - set(needed) - set(allowed))
        if lacking or unknown:
            raise SpecError(f"model.options of {self.model.name}: " + "; ".join(
                part for part in (f"lacks {lacking}" if lacking else "", f"unknown {unknown}" if unknown else "")
                if part) + f" (needs {list(needed)}, may have {list(allowed)})")
        for key in needed:
            if not isinstance(self.model.options[key], int) or self.model.options[key] < 1:
                raise SpecError(f"model.options.{key} must be an integer >= 1, got {self.model.options[key]!r}")

    def _validate_support(self) -> None:
        """What the method and settings ask of the model: a JVP mode, low memory, the monitor (its facts say)."""
        model, options = facts.get(self.model.name), self.method.options
        mode = options.get("mode", DEFAULT_MODE)
        if mode not in model.modes:
            raise SpecError(f"method.options.mode: model {model.name} takes JVP mode(s) {', '.join(model.modes)}, "
                            f"not {mode!r}")
        if options.get("memory") == "low" and not model.low_memory:
            supported = [n for n in facts.names() if facts.get(n).low_memory]
            raise SpecError(f"method option memory='low' is implemented for model(s) {', '.join(supported)} only, "
                            f"not {model.name}; use memory='default'")
        if self.monitor_every and not model.monitor:
            raise SpecError(f"the guess monitor (monitor_every) does not measure model {model.name}; use 0")

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
    """A model's part of a run directory, the one definition: its facts' (gradguess.models.facts), e.g. d<depth>-
    w<width> for an MLP; <name>-<options> for a model whose facts name none."""
    return facts.get(model.name).arch_name(model.options)


def settings() -> tuple[str, ...]:
    """The fields a config section may set (in field order)."""
    return tuple(f.name for f in fields(RunSpec) if f.metadata.get("setting"))


def per_replicate() -> tuple[str, ...]:
    """The fields replicates of one batched job may differ in (and the method's options)."""
    return tuple(f.name for f in fields(RunSpec) if f.metadata.get("per_replicate"))


def columns() -> dict[str, str]:
    """field -> its run-table column, for the fields the run tables show (in field order)."""
    return {f.name: f.name if f.metadata["column"] == "=" else f.metadata["column"] for f in fields(RunSpec)
            if f.metadata.get("column") is not None}


def defaults() -> dict:
    """Each setting's default."""
    return {f.name: f.default for f in fields(RunSpec) if f.metadata.get("setting")}


__all__ = ["RunSpec", "Part", "SpecError", "arch_name", "lr_factor", "SCHEDULES", "settings", "per_replicate",
           "columns", "defaults"]
