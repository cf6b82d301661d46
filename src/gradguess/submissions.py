"""Every training job a plan makes and what it asks a cluster for, and how short jobs travel together: the table a
cluster user reads before submitting (`gradguess plan --jobs`; `gradguess cost` adds up the same rows per rule).
Torch-free; the rules ask jobsize the same way.

A run is one job (all its seeds), a job per seed, or per seed a chain of chunks (plan.schedule). Jobs estimated
shorter than `resources.short_job_minutes` join a group, `group_size` per submission (the workflow profile's
group-components); a group's jobs take turns on one GPU, so it asks for the sum of their times and the most memory
any of them needs. A rule whose jobs always share a group (Figure 1's measure_guesses) is grouped by its size.
"""
from __future__ import annotations

from pathlib import Path

from gradguess import jobsize
from gradguess.plan import Plan
from gradguess.schedule import batched, chunk_ends, chunk_minutes, run_minutes, schedule

SHORT_GROUP = "short_train"
GROUPABLE = ("train", "train_replicates")  # the rules in the short group (train.smk: train_replicates is `use rule train`)


def seeds_text(seeds) -> str:
    seeds = list(seeds)
    return " ".join(map(str, seeds)) if len(seeds) <= 4 else f"{seeds[0]}..{seeds[-1]} ({len(seeds)})"


def training_jobs(plan: Plan, max_minutes: float, gpu: bool = True, calibration=None, settings=None) -> list[dict]:
    """One row per training job: its rule, run, seeds, chunk, epochs and its request (first attempt); `job` is
    the specification of what it trains (its seeds, as many epochs as it trains), for adding up its cost;
    `batched`: whether its seeds train as one batched model (`settings`: the batching section, default the
    plan's config's)."""
    rows = []
    settings = plan.config.get("batching") if settings is None else settings
    plan_jobs = schedule(plan, max_minutes, gpu, calibration, settings)
    for run, spec in sorted(plan.runs.items()):
        mem = jobsize.spec_mem_mb(spec, gpu)
        chunks = plan_jobs[run]
        if chunks == 0:
            together = batched(spec, settings, gpu)
            rows.append({"rule": "train_replicates" if "/replicates/" in run else "train", "run": run,
                         "seeds": seeds_text(spec.seeds) + (" batched" if together else ""), "chunk": "",
                         "epochs": f"1-{spec.epochs}",
                         "minutes": min(max_minutes, run_minutes(spec, gpu, 1, calibration, settings)),
                         "mem_mb": mem, "job": spec, "batched": together})
            continue
        ends = chunk_ends(spec.epochs, chunks)
        for seed in spec.seeds:
            for k, end in enumerate(ends, start=1):
                start = ends[k - 2] if k > 1 else 0
                rows.append({"rule": "train_seed" if k == chunks else "train_chunk", "run": run, "seeds": str(seed),
                             "chunk": f"{k}/{chunks}", "epochs": f"{start + 1}-{end}",
                             "minutes": min(max_minutes, chunk_minutes(spec, chunks, gpu, 1, calibration)),
                             "mem_mb": mem, "job": spec.for_seed(seed).with_(epochs=end - start)})
    for run, spec in sorted(plan.trajectories.items()):
        rows.append({"rule": "capture_trajectory", "run": run, "seeds": str(spec.seeds[0]), "chunk": "",
                     "epochs": f"1-{spec.epochs}",
                     "minutes": min(max_minutes, jobsize.spec_minutes(spec, gpu, calibration=calibration)),
                     "mem_mb": jobsize.spec_mem_mb(spec, gpu), "job": spec})
    for row in rows:
        row["gpus"] = 1 if gpu else 0
    return rows


def short_limit(short_minutes: float, group_size: int, max_minutes: float) -> float:
    """Below this first-attempt estimate a job joins a group: short, and short enough that `group_size` of them
    fit one submission even on its last retry (jobsize.margin doubles by then)."""
    growth = jobsize.margin(3) / jobsize.margin(1)
    return min(short_minutes, max_minutes / max(1, group_size) / growth)


def short(row: dict, short_minutes: float, group_size: int, max_minutes: float) -> bool:
    return row["rule"] in GROUPABLE and row["minutes"] < short_limit(short_minutes, group_size, max_minutes)


def submissions(rows: list[dict], short_minutes: float, group_size: int, max_minutes: float,
                fixed: dict[str, int] | None = None) -> list[dict]:
    """What reaches the scheduler: each long job alone, the short ones `group_size` at a time, and the jobs of a
    rule in `fixed` (rule -> group size: a group every job of the rule joins) that many at a time."""
    fixed = fixed or {}
    groups = {SHORT_GROUP: [r for r in rows if r["rule"] not in fixed
                            and short(r, short_minutes, group_size, max_minutes)]}
    groups.update({rule: [r for r in rows if r["rule"] == rule] for rule in fixed})
    members = {id(r) for g in groups.values() for r in g}
    alone = [dict(r, jobs=1) for r in rows if id(r) not in members]
    for name, grouped in groups.items():
        size = group_size if name == SHORT_GROUP else fixed[name]
        for i in range(0, len(grouped), size):
            batch = grouped[i:i + size]
            alone.append({"rule": f"group {name}", "run": f"{len(batch)} runs: {batch[0]['run']} ...",
                          "seeds": "", "chunk": "", "epochs": "", "jobs": len(batch),
                          "minutes": sum(r["minutes"] for r in batch), "mem_mb": max(r["mem_mb"] for r in batch),
                          "gpus": max(r["gpus"] for r in batch)})
    return alone


def group_sizes(profile) -> dict[str, int]:
    """The workflow profile's group-components (profiles/default/config.yaml): jobs per grouped submission."""
    import yaml

    path = Path(profile)
    settings = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    return {k: int(v) for k, v in (settings.get("group-components") or {}).items()}


def workflow_profile(root) -> Path:
    """The workflow profile Snakemake loads by itself: profiles/default/ beside the Snakefile in `root`."""
    return Path(root) / "profiles" / "default" / "config.yaml"


def profile_of(configfiles, profile=None) -> Path:
    """The workflow profile a run with these config files uses: profiles/default/ beside the first of them."""
    return Path(profile) if profile else workflow_profile(Path(configfiles[0]).resolve().parent)


def plan_submissions(plan: Plan, cfg: dict, groups: dict[str, int]) -> list[dict]:
    """The training submissions of a plan, as `gradguess plan --jobs` lists them: sized from the H200's calibration
    for a GPU config, the CPU's for resources.train.gpu: 0, grouped as the profile says."""
    limit = 60 * cfg["execution"]["max_job_hours"]
    gpu = cfg["resources"]["train"].get("gpu", 1) > 0
    return submissions(training_jobs(plan, limit, gpu), cfg["resources"]["short_job_minutes"],
                       int(groups.get(SHORT_GROUP, 1)), limit)


def table(rows: list[dict]) -> str:
    """A fixed-width table, one submission (or job) a line."""
    columns = ["rule", "minutes", "mem_mb", "gpus", "chunk", "seeds", "epochs", "run"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)
