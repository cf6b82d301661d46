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
    p.add_argument("--batching", action=argparse.BooleanOptionalAction, default=None,
                   help="train an MLP run's seeds in its job as one batched model, as the workflow does where the "
                        "config's batching.devices turns it on for this device (default: as the config says)")
    p.add_argument("--max-replicates", type=int, default=None,
                   help="replicates a batched job holds at most (default: the config's batching.max_replicates, "
                        "else 64)")
    p.add_argument("--format", choices=("md", "tsv"), default="md")
    p.add_argument("--steps", action="store_true", help="also list every step time used and where it comes from")
    p.add_argument("--readme", nargs="?", const="docs/hpc.md", default=None, metavar="DOC",
                   help="instead, write the totals on the H200 and the 2-core CPU, with and without batching, into "
                        "DOC's block between <!-- cost:begin --> and <!-- cost:end --> (DOC: docs/hpc.md unless "
                        "given)")
    p.add_argument("--calibrate", action="store_true",
                   help="instead, measure this machine's step times for the shapes the configuration uses and "
                        "write them to --out (merged into it where it is a calibration of this device)")
    p.add_argument("--out", default=None, help="--calibrate: the calibration file to write")
    p.add_argument("--budget", type=float, default=120.0, help="--calibrate: seconds to spend measuring")
    p.add_argument("--on", default="auto", help="--calibrate: the torch device to measure (auto: CUDA if present)")


def run(args) -> int:
    from gradguess import batching as gbatching
    from gradguess import calibration, config, cost, plan, submissions

    cfg = config.load(args.configfile, args.schema)
    p = plan.build(cfg)
    for warning in p.warnings:
        print(f"gradguess: {warning}", file=sys.stderr)
    if args.calibrate:
        return _calibrate(p, args)
    groups = submissions.group_sizes(submissions.profile_of(args.configfile, args.profile))
    settings = gbatching.settings(cfg.get("batching"))
    if args.readme:
        costs = [cost.build(p, calibration.load(device), groups, batching=on,
                            max_replicates=args.max_replicates or settings["max_replicates"])
                 for device in ("h200", "cpu") for on in (False, True)]
        files = " ".join(args.configfile)
        cost.rewrite_readme(args.readme, cost.summary(costs, f"gradguess cost --configfile {files} --readme"))
        return 0
    cal = calibration.load(args.device)
    on = settings["devices"]["gpu" if cal.gpu else "cpu"] if args.batching is None else args.batching
    c = cost.build(p, cal, groups, batching=on, max_replicates=args.max_replicates or settings["max_replicates"])
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
    measure.calibrate(p, args.out, device, budget=args.budget,
                      log=lambda line: print(line, file=sys.stderr))
    return 0
