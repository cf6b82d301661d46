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
