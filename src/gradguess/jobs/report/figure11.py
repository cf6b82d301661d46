"""Figure 11 as PNG and PDF, from `gradguess report gather`'s curves table."""
from __future__ import annotations

HELP = "Figure 11 as PNG and PDF"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--curves", required=True, dest="source", help="CSV from `gradguess report gather`")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import figure11

    figure11.write(args.source, args.out_prefix, args.preset)
    return 0
