"""Figure 5 (PNG, PDF) and its data (CSV), from the runs' monitor.csv."""
from __future__ import annotations

HELP = "Figure 5 (PNG, PDF) and its data (CSV)"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--top", nargs="+", required=True, help="the monitored runs' monitor.csv (top row)")
    p.add_argument("--bottom", nargs="+", required=True, help="the wt_sv_power replicates' monitor.csv")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import figure5

    figure5.write(args.top, args.bottom, args.out_prefix, args.preset)
    return 0
