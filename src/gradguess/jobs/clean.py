"""Under TREE, delete the checkpoints of finished runs, checkpoints whose digest is not in --keep (settings changed,
or the run is no longer configured) and the temporary files of killed writes. Results, metrics, weights and
snapshots stay."""
from __future__ import annotations

import logging
import sys

log = logging.getLogger("gradguess")
HELP = "delete checkpoints nothing will resume from, never a result"


def add_arguments(p) -> None:
    p.add_argument("--tree", required=True, help="a preset's results directory, e.g. results/paper")
    p.add_argument("--keep", default=None, metavar="DIGESTS",
                   help="digests of the checkpoints the current config would resume from, separated by spaces "
                        "('-': read them from stdin); without it only finished runs' checkpoints go")
    p.add_argument("--dry-run", action="store_true", help="only list what would be deleted")


def run(args) -> int:
    from gradguess.housekeeping import clean

    keep = None
    if args.keep is not None:
        keep = set((sys.stdin.read() if args.keep == "-" else args.keep).split())
    removed = clean(args.tree, keep_digests=keep, dry_run=args.dry_run)
    total = sum(size for _, size in removed)
    for path, size in removed:
        log.info("%s %s (%.1f MB)", "would remove" if args.dry_run else "removed", path, size / 2**20)
    log.info("%s %d file(s), %.1f MB", "would free" if args.dry_run else "freed", len(removed), total / 2**20)
    return 0
