"""Replicate batching, the plan's side (torch-free): which runs train together in one job as one batched model
(gradguess.batched), from config:

    batching:
      max_replicates: 64           # replicates in one batched job at most
      devices: {gpu: true, cpu: false}

Runs batch when their specifications are equal but for what a batched model keeps per replicate (the RunSpec fields
marked per_replicate: the seed, the learning rate, the weight decay, the monitor interval) and the method's options
(wt_sv_power's power, a cosine...). Everything else (dataset, architecture, batch size, epochs, optimizer and its
momentum, schedule, augmentation, the method itself) is one for the whole job. Only the models whose facts say so
batch (models/<file>_facts.py: the MLP). On the CPU batching does not pay (0.5-0.9x the
throughput of one by one: benchmarks/results/cpu-bench-batched.txt), so the default batches on GPUs only, where
small MLPs are bound by kernel launches that batching shares (to be measured: benchmarks/bench_batched.py --device
cuda).

The workflow batches one run's seeds in the run's own job (`seeds_batch`, `seeds_mask`): they share every setting,
so whatever changes one changes all, and batching re-runs nothing a run alone would not. Runs with different
settings can train as one model too (`gradguess train --batch`, repeated `--spec`: gradguess.batched), but the
workflow does not group them: Snakemake re-runs a job's every output when its params change, so one changed lr
would re-train the group's other runs.
"""
from __future__ import annotations

import json
from typing import Iterable, Mapping

from gradguess import methods
from gradguess.models import facts
from gradguess.spec import RunSpec, per_replicate

DEFAULTS = {"max_replicates": 64, "devices": {"gpu": True, "cpu": False}}
# every method of the registry batches: each has a functional form (methods.base.Estimator.compute_functional)
PER_REPLICATE = per_replicate()  # and the method's options


def batches(model: str) -> bool:
    """Whether a model's runs can train as replicates of one batched model (its facts say)."""
    return model in facts.names() and facts.get(model).batches


class BatchingError(ValueError):
    """Runs that cannot train as one batched model; the message says which setting stands in the way."""


def alone(spec: RunSpec) -> str | None:
    """Why this run never batches, or None."""
    if not batches(spec.model.name):
        models = [m for m in facts.names() if batches(m)]
        return f"model {spec.model.name!r} does not batch (batched models: {', '.join(models)})"
    if spec.method.name not in methods.names():
        return f"method {spec.method.name!r} does not batch"
    if spec.method.options.get("memory") == "low":  # a lone run's way of saving memory, not a batched one
        return "method option memory='low' does not batch (it trains a run alone with less memory)"
    return None


def key(spec: RunSpec) -> str | None:
    """What the replicates of one batched job share, as canonical JSON; None: this run never batches."""
    if alone(spec):
        return None
    shared = spec.to_dict()
    for name in PER_REPLICATE:
        shared.pop(name)
    shared["method"] = {"name": spec.method.name}
    return json.dumps(shared, sort_keys=True)


def why_not(specs: Iterable[RunSpec]) -> str | None:
    """Why these runs cannot train as one batched model, or None if they can."""
    specs = list(specs)
    for spec in specs:
        reason = alone(spec)
        if reason:
            return reason
    first = json.loads(key(specs[0]))
    for spec in specs[1:]:
        other = json.loads(key(spec))
        differ = sorted(k for k in first if first[k] != other[k])
        if differ:
            return (f"the runs differ in {', '.join(differ)} (replicates of a batched job may differ only in "
                    f"{', '.join(PER_REPLICATE)} and method options)")
    return None


def check(specs: Iterable[RunSpec]) -> None:
    reason = why_not(specs)
    if reason:
        raise BatchingError(f"cannot train these runs as one batched model: {reason}")


def settings(config: Mapping | None) -> dict:
    """The batching section with its defaults filled in, validated (a bad value names its key)."""
    given = dict(config or {})
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise BatchingError(f"unknown batching setting(s) {', '.join(unknown)}; valid: {', '.join(DEFAULTS)}")
    out = {"max_replicates": given.get("max_replicates", DEFAULTS["max_replicates"]),
           "devices": {**DEFAULTS["devices"], **(given.get("devices") or {})}}
    if not isinstance(out["max_replicates"], int) or out["max_replicates"] < 1:
        raise BatchingError(f"batching.max_replicates must be an integer >= 1, got {out['max_replicates']!r}")
    for kind, on in out["devices"].items():
        if kind not in DEFAULTS["devices"] or not isinstance(on, bool):
            raise BatchingError(f"batching.devices: expected gpu/cpu: true|false, got {kind}: {on!r}")
    return out


def enabled(config: Mapping | None, device: str) -> bool:
    """Whether runs batch on this kind of device ('gpu' or 'cpu') at all."""
    return settings(config)["devices"][device]


def seeds_batch(spec: RunSpec, config: Mapping | None, device: str) -> bool:
    """Whether one run's job trains its seeds as one batched model on `device` ('gpu' or 'cpu'): what the
    workflow does (train.smk passes `--batched yes`); runs are not grouped with each other there."""
    return (enabled(config, device) and key(spec) is not None
            and 1 < len(spec.seeds) <= settings(config)["max_replicates"])


def seeds_mask(spec: RunSpec, config: Mapping | None) -> int:
    """Where one run's job trains its seeds as one batched model, as the bits of a workflow resource (a job learns
    its device only when it runs): 1 on a GPU, 2 on the CPU, 0 never."""
    return sum(bit for bit, device in ((1, "gpu"), (2, "cpu")) if seeds_batch(spec, config, device))
