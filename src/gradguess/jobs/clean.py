"""Under TREE, delete the checkpoints of finished jobs, checkpoints whose digest the configuration does not plan
(settings changed, or the run is no longer configured) and the temporary files of killed writes. Results, metrics,
weights and snapshots stay; so does every checkpoint of a job Snakemake marks incomplete, and nothing is deleted
while any Snakemake lock is held in the working directory, on TREE or not (gradguess.housekeeping)."""
from __future__ import annotations

import logging
import sys

log = logging.getLogger("gradguess")
HELP = "delete checkpoints nothing will resume from, never a result"


def add_arguments(p) -> None:
    p.add_argument("--tree", required=True, help="a preset's results directory, e.g. results/paper")
    p.add_argument("--config-json", default=None, metavar="JSON",
                   help="the resolved config (the workflow's): keep the checkpoints its runs would resume from, and "
                        "every checkpoint of a run until all the seeds it plans are finished")
    p.add_argument("--keep", default=None, metavar="DIGESTS",
                   help="instead, digests of the checkpoints to keep, separated by spaces ('-': read them from "
                        "stdin); with neither, only finished runs' checkpoints go")
    p.add_argument("--snakemake-dir", default=".snakemake", metavar="DIR",
                   help="Snakemake's state, whose locks and incomplete markers say what is running (default: "
                        ".snakemake, in the working directory Snakemake runs in)")
    p.add_argument("--dry-run", action="store_true", help="only list what would be deleted")


def run(args) -> int:
    import json

    from gradguess import housekeeping

    keep, units = None, None
    if args.config_json is not None:
        from gradguess import plan

        keep, units = housekeeping.expected(plan.build(json.loads(args.config_json)))
    elif args.keep is not None:
        keep = set((sys.stdin.read() if args.keep == "-" else args.keep).split())
    removed = housekeeping.clean(args.tree, keep_digests=keep, dry_run=args.dry_run, units=units,
                                 state=args.snakemake_dir)
    total = sum(size for _, size in removed)
    for path, size in removed:
        log.info("%s %s (%.1f MB)", "would remove" if args.dry_run else "removed", path, size / 2**20)
    log.info("%s %d file(s), %.1f MB", "would free" if args.dry_run else "freed", len(removed), total / 2**20)
    return 0
