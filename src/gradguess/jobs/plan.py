"""Every run and trajectory a configuration plans, with its whole specification: a table to read and grep before
submitting anything (the workflow writes the same to results/<preset>/plan.tsv)."""
from __future__ import annotations

import sys

HELP = "print (or write) every run the configuration plans, each with its full specification"


def add_arguments(p) -> None:
    p.add_argument("--configfile", nargs="+", default=["config.yaml"], metavar="YAML",
                   help="config.yaml, then presets, as given to snakemake (later files override earlier ones)")
    p.add_argument("--config-json", default=None, help="a resolved config as JSON instead (the workflow's)")
    p.add_argument("--schema", default=None, help="the config schema (default: workflow/schemas/ beside the first "
                                                   "config file)")
    p.add_argument("--out", default=None, help="a TSV file (default: stdout)")
    p.add_argument("--jobs", action="store_true",
                   help="instead, every cluster submission with what it asks for (runtime, memory, GPUs), long runs "
                        "split as execution.max_job_hours demands and short jobs grouped as the workflow profile says")
    p.add_argument("--profile", default=None, help="the workflow profile whose group-components to use (default: "
                                                    "profiles/default/config.yaml beside the first config file)")
    p.add_argument("--specs", default=None, metavar="DIR",
                   help="also write each run's specification as DIR/<run directory>.json, for `gradguess train --spec`")


def run(args) -> int:
    from pathlib import Path

    from gradguess import config, io, plan

    import json

    cfg = json.loads(args.config_json) if args.config_json else config.load(args.configfile, args.schema)
    p = plan.build(cfg)
    for warning in p.warnings:
        print(f"gradguess: {warning}", file=sys.stderr)
    if args.jobs:
        print(jobs_table(p, cfg, args))
        return 0
    if args.out:
        plan.write_tsv(p, args.out)
    else:
        rows = p.rows()
        print("\t".join(rows[0]) if rows else "")
        for r in rows:
            print("\t".join(str(v) for v in r.values()))
    if args.specs:
        for directory, spec in {**p.runs, **p.trajectories}.items():
            io.write_text(Path(args.specs) / f"{directory}.json", spec.to_json() + "\n")
    return 0


def jobs_table(p, cfg, args) -> str:
    from gradguess import submissions

    groups = submissions.group_sizes(submissions.profile_of(args.configfile, args.profile))
    rows = submissions.plan_submissions(p, cfg, groups)
    limit = 60 * cfg["execution"]["max_job_hours"]
    longest = max((r["minutes"] for r in rows), default=0)
    return (submissions.table(rows) + f"\n{len(rows)} training submissions ({sum(r['jobs'] for r in rows)} jobs); "
            f"the longest asks for {longest} minutes, the limit (execution.max_job_hours) is {limit:g}")
