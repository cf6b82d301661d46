"""Every training job a plan makes and what it asks a cluster for, and how short jobs travel together: the table a
cluster user reads before submitting (`gradguess plan --jobs`). Torch-free; the rules ask jobsize the same way.

A run is one job (all its seeds), a job per seed, or per seed a chain of chunks (plan.schedule). Jobs estimated
shorter than `resources.short_job_minutes` join a group, `group_size` per submission (the workflow profile's
group-components); a group's jobs take turns on one GPU, so it asks for the sum of their times and the most memory
any of them needs.
"""
from __future__ import annotations

from gradguess import jobsize
from gradguess.plan import Plan, chunk_ends, chunk_minutes, schedule


def seeds_text(seeds) -> str:
    seeds = list(seeds)
    return " ".join(map(str, seeds)) if len(seeds) <= 4 else f"{seeds[0]}..{seeds[-1]} ({len(seeds)})"


def training_jobs(plan: Plan, max_minutes: float, gpu: bool = True) -> list[dict]:
    """One row per training job: its rule, run, seeds, chunk, epochs and its request (first attempt)."""
    rows = []
    plan_jobs = schedule(plan, max_minutes, gpu)
    for run, spec in sorted(plan.runs.items()):
        mem = jobsize.spec_mem_mb(spec, gpu)
        chunks = plan_jobs[run]
        if chunks == 0:
            rows.append({"rule": "train_replicates" if "/replicates/" in run else "train", "run": run,
                         "seeds": seeds_text(spec.seeds), "chunk": "", "epochs": f"1-{spec.epochs}",
                         "minutes": min(max_minutes, jobsize.spec_minutes(spec, gpu)), "mem_mb": mem})
            continue
        ends = chunk_ends(spec.epochs, chunks)
        for seed in spec.seeds:
            for k, end in enumerate(ends, start=1):
                rows.append({"rule": "train_seed" if k == chunks else "train_chunk", "run": run, "seeds": str(seed),
                             "chunk": f"{k}/{chunks}", "epochs": f"{(ends[k - 2] if k > 1 else 0) + 1}-{end}",
                             "minutes": min(max_minutes, chunk_minutes(spec, chunks, gpu, 1)), "mem_mb": mem})
    for run, spec in sorted(plan.trajectories.items()):
        rows.append({"rule": "capture_trajectory", "run": run, "seeds": str(spec.seeds[0]), "chunk": "",
                     "epochs": f"1-{spec.epochs}", "minutes": min(max_minutes, jobsize.spec_minutes(spec, gpu)),
                     "mem_mb": jobsize.spec_mem_mb(spec, gpu)})
    for row in rows:
        row["gpus"] = 1 if gpu else 0
    return rows


def short_limit(short_minutes: float, group_size: int, max_minutes: float) -> float:
    """Below this first-attempt estimate a job joins a group: short, and short enough that `group_size` of them
    fit one submission even on its last retry (jobsize.margin doubles by then)."""
    growth = jobsize.margin(3) / jobsize.margin(1)
    return min(short_minutes, max_minutes / max(1, group_size) / growth)


def short(row: dict, short_minutes: float, group_size: int, max_minutes: float) -> bool:
    return row["rule"] == "train" and row["minutes"] < short_limit(short_minutes, group_size, max_minutes)


def submissions(rows: list[dict], short_minutes: float, group_size: int, max_minutes: float) -> list[dict]:
    """What reaches the scheduler: each long job alone, the short ones `group_size` at a time."""
    alone = [dict(r, jobs=1) for r in rows if not short(r, short_minutes, group_size, max_minutes)]
    grouped = [r for r in rows if short(r, short_minutes, group_size, max_minutes)]
    for i in range(0, len(grouped), group_size):
        batch = grouped[i:i + group_size]
        alone.append({"rule": "group short_train", "run": f"{len(batch)} runs: {batch[0]['run']} ...",
                      "seeds": "", "chunk": "", "epochs": "", "jobs": len(batch),
                      "minutes": sum(r["minutes"] for r in batch), "mem_mb": max(r["mem_mb"] for r in batch),
                      "gpus": max(r["gpus"] for r in batch)})
    return alone


def table(rows: list[dict]) -> str:
    """A fixed-width table, one submission (or job) a line."""
    columns = ["rule", "minutes", "mem_mb", "gpus", "chunk", "seeds", "epochs", "run"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)
