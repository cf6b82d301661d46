"""Figure 3 as PNG and PDF, from `gradguess report gather`'s runs table."""
from __future__ import annotations

HELP = "Figure 3 as PNG and PDF"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--runs", required=True, dest="source", help="CSV from `gradguess report gather`")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import figure3

    figure3.write(args.source, args.out_prefix, args.preset)
    return 0
