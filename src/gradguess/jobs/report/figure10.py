"""Figure 10 (PNG, PDF) and its data (CSV): Figure 2 (right) per width, depth and layer."""
from __future__ import annotations

HELP = "Figure 10 (PNG, PDF) and its data (CSV)"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--subspace", nargs="+", required=True, help="CSVs from `gradguess subspace`")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import figure10

    figure10.write(args.subspace, args.out_prefix, args.preset)
    return 0
