"""Figure 1 (PNG, PDF) and its table (CSV, Markdown, LaTeX), from `gradguess cosine`'s per-epoch measurements."""
from __future__ import annotations

HELP = "Figure 1 (PNG, PDF) and its table (CSV, Markdown, LaTeX)"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import setting

    p.add_argument("--measurements", nargs="+", required=True, help="CSVs from `gradguess cosine --epoch`")
    p.add_argument("--figure-prefix", required=True)
    p.add_argument("--table-prefix", required=True)
    p.add_argument("--preset", required=True)
    p.add_argument("--average-from-epoch", type=int, default=1,
                   help="the table averages epochs from this one on (default 1: the paper measures after each "
                        "epoch, so the initialisation is drawn but not averaged)")
    setting(p, 'the trajectory {"dataset":..,"depth":..,"width":..}')


def run(args) -> int:
    import json

    from gradguess.report import figure1

    figure1.write(args.measurements, args.figure_prefix, args.table_prefix, args.preset, args.average_from_epoch,
                  json.loads(args.setting) if args.setting else None)
    return 0
