"""How a plan's runs become cluster jobs: what `execution.max_job_hours` and `batching` make of each run. Torch-free:
the workflow (cluster.smk, train.smk), `gradguess plan --jobs` and `gradguess cost` all ask here, so the jobs a
user is shown are the jobs submitted.

A run is one job for all of its seeds (its seeds trained as one batched model where `batching` says so: a
small MLP's replicates on a GPU), or, where that job would not fit the limit even on its last retry, a job per
seed, each a chain of chunks of epochs. A run whose seeds are neither the config's `seeds` nor Figure 5's
replicates (Table 1 row (c)'s own backprop run) also trains a job per seed: the rules that train a whole run declare
those two seed lists as their outputs. A seed already trained to its end needs no chunk (`finished`), so a new
limit re-runs nothing finished.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from gradguess import batching as gbatching
from gradguess import jobsize, lineage
from gradguess.spec import RunSpec

LAST_ATTEMPT = 3  # retries: 2 in the workflow profile


def device_kind(gpu: bool) -> str:
    return "gpu" if gpu else "cpu"


def batched(spec: RunSpec, settings: Mapping | None, gpu: bool) -> bool:
    """Whether a run's job trains its seeds as one batched model (`settings`: the config's batching section)."""
    return gbatching.seeds_batch(spec, settings, device_kind(gpu))


def run_minutes(spec: RunSpec, gpu: bool, attempt: int = 1, calibration=None, settings: Mapping | None = None) -> int:
    """What a job training every seed of a run asks for, batched where `settings` batch it."""
    return jobsize.spec_minutes(spec, gpu, attempt, calibration, batched=batched(spec, settings, gpu))


def whole_seeds(config: Mapping) -> list[tuple[int, ...]]:
    """The seed lists a whole run's job can train (the outputs of `train` and `train_replicates`, common.smk)."""
    return [tuple(int(s) for s in config["seeds"]), tuple(range(config["figure5"]["sv_power"]["replicates"]))]


def schedule(plan, max_minutes: float, gpu: bool = True, calibration=None,
             settings: Mapping | None = None) -> dict[str, int]:
    """Per run: 0, one job for all of its seeds; n >= 1, one job per seed, each a chain of n chunks of epochs
    (n = 1: a job per seed); no job asks for more than `max_minutes`, even on its last retry (jobsize.margin grows
    with the attempt). Split by seed first, then by epochs. `calibration`: the step times to size jobs from
    (gradguess.calibration; default: the H200's for a GPU, the CPU's otherwise); `settings`: the batching section
    (default: the plan's config's)."""
    settings = plan.config.get("batching") if settings is None else settings
    out, whole = {}, whole_seeds(plan.config)
    for path, spec in plan.runs.items():
        if spec.seeds in whole and run_minutes(spec, gpu, LAST_ATTEMPT, calibration, settings) <= max_minutes:
            out[path] = 0
            continue
        chunks = 1
        while chunks < spec.epochs and chunk_minutes(spec, chunks, gpu, LAST_ATTEMPT, calibration) > max_minutes:
            chunks += 1
        out[path] = chunks
    return out


def chunk_ends(epochs: int, chunks: int) -> list[int]:
    """The epoch each of a run's chunks ends at: as even as whole epochs allow, the last at `epochs`."""
    return [round(k * epochs / chunks) for k in range(1, chunks + 1)]


def chunk_spec(spec: RunSpec, chunks: int) -> RunSpec:
    """One chunk of one seed of a run (or one seed, `chunks` = 1), as a spec to size: its longest chunk's epochs."""
    return spec.for_seed(spec.seeds[0]).with_(epochs=max(1, -(-spec.epochs // chunks)))


def chunk_minutes(spec: RunSpec, chunks: int, gpu: bool, attempt: int, calibration=None) -> int:
    """What one chunk of a run (or one seed, `chunks` = 1) asks for."""
    return jobsize.spec_minutes(chunk_spec(spec, chunks), gpu, attempt, calibration)


def finished(seed_dir, spec: RunSpec, seed: int) -> bool:
    """Whether a seed was trained to its end at this specification by this training code (its config.json and
    provenance.json say so; result.json, written last, exists). Such a seed needs no chunks whatever the job
    limit now is, so changing execution.max_job_hours leaves it alone."""
    seed_dir = Path(seed_dir)
    try:
        recorded = json.loads((seed_dir / "config.json").read_text())["spec"]
        code = json.loads((seed_dir / "provenance.json").read_text())["code_digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    planned = spec.for_seed(seed).to_dict()
    try:  # an option planned as "auto" was resolved by the job (its input, the reference table, is Snakemake's)
        options = recorded["method"]["options"]
        planned["method"]["options"] = {k: options.get(k, v) if v == "auto" else v
                                        for k, v in planned["method"]["options"].items()}
    except (KeyError, TypeError, AttributeError):
        return False
    return ((seed_dir / "result.json").is_file() and recorded == planned
            and code == lineage.training_digest(spec.method.name, spec.model.name))
