"""Figure 9 (PNG, PDF) and its data (CSV), from its runs' files."""
from __future__ import annotations

HELP = "Figure 9 (PNG, PDF) and its data (CSV)"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--runs", nargs="+", required=True, help="the runs' seed files (result.json)")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import figure9

    figure9.write(args.runs, args.out_prefix, args.preset)
    return 0
