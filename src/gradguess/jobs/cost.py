"""What a configuration costs on a device, per rule and in total (jobs, SLURM submissions, optimizer steps,
device-hours, disk), from measured step times; or, with --calibrate, measure this machine's step times."""
from __future__ import annotations

import argparse
import sys

HELP = "print what a configuration costs per rule (jobs, submissions, steps, device-hours, disk), or --calibrate"


def add_arguments(p) -> None:
    p.add_argument("--configfile", nargs="+", default=["config.yaml"], metavar="YAML",
                   help="config.yaml, then presets, as given to snakemake (later files override earlier ones)")
    p.add_argument("--schema", default=None, help="the config schema (default: workflow/schemas/ beside the first "
                                                   "config file)")
    p.add_argument("--profile", default=None, help="the workflow profile whose group-components to use (default: "
                                                    "profiles/default/config.yaml beside the first config file)")
    p.add_argument("--device", default="h200",
                   help="whose step times: h200 (or gpu), cpu (this project's 2-core machine), or a calibration file")
    p.add_argument("--batching", action=argparse.BooleanOptionalAction, default=False,
                   help="train small-MLP replicate runs (seeds, lrs, SV powers) as one batched model a job")
    p.add_argument("--max-replicates", type=int, default=None,
                   help="replicates a batched job holds at most (default: the config's batching.max_replicates, "
                        "else 64)")
    p.add_argument("--max-width", type=int, default=256, help="the widest MLP whose replicates are batched")
    p.add_argument("--format", choices=("md", "tsv"), default="md")
    p.add_argument("--steps", action="store_true", help="also list every step time used and where it comes from")
    p.add_argument("--calibrate", action="store_true",
                   help="instead, measure this machine's step times for the shapes the configuration uses and "
                        "write them to --out (merged into it where it is a calibration of this device)")
    p.add_argument("--out", default=None, help="--calibrate: the calibration file to write")
    p.add_argument("--budget", type=float, default=120.0, help="--calibrate: seconds to spend measuring")
    p.add_argument("--on", default="auto", help="--calibrate: the torch device to measure (auto: CUDA if present)")


def run(args) -> int:
    from gradguess import calibration, config, cost, plan, submissions

    cfg = config.load(args.configfile, args.schema)
    p = plan.build(cfg)
    for warning in p.warnings:
        print(f"gradguess: {warning}", file=sys.stderr)
    if args.calibrate:
        return _calibrate(p, args)
    groups = submissions.group_sizes(submissions.profile_of(args.configfile, args.profile))
    batching = cfg.get("batching", {})
    cal = calibration.load(args.device)
    c = cost.build(p, cal, groups, batching=args.batching,
                   max_replicates=args.max_replicates or batching.get("max_replicates", 64), max_width=args.max_width)
    print(cost.tsv(c) if args.format == "tsv" else cost.markdown(c))
    if args.steps:
        print("\nStep times used:\n\n" + cost.step_list(c, cal))
    return 0


def _calibrate(p, args) -> int:
    if not args.out:
        raise ValueError("--calibrate needs --out FILE, the calibration to write")
    import torch

    from gradguess.calibration import measure

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.on == "auto" else args.on
    measure.calibrate(p, args.out, device, budget=args.budget, max_width=args.max_width,
                      log=lambda line: print(line, file=sys.stderr))
    return 0
