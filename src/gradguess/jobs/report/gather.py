"""One table of runs (one row per seed) and one of per-epoch curves, from the runs' result files."""
from __future__ import annotations

import logging

log = logging.getLogger("gradguess")
HELP = "one table of runs and one of per-epoch curves from run directories"


def add_arguments(p) -> None:
    p.add_argument("--results", nargs="+", required=True, help="result.json of each run's seeds")
    p.add_argument("--runs", required=True, help="output CSV, one row per run and seed")
    p.add_argument("--curves", required=True, help="output CSV, one row per run, seed and epoch")


def run(args) -> int:
    from gradguess import io
    from gradguess.report.runs import gather_runs

    runs, curves = gather_runs(args.results)
    io.write_text(args.runs, runs.to_csv(index=False))
    io.write_text(args.curves, curves.to_csv(index=False))
    log.info("gathered %d runs (%d diverged)", len(runs), int((runs["status"] == "diverged").sum()))
    return 0
