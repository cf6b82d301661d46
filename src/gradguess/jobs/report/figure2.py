"""Figure 2 (PNG, PDF) and its data (CSV): class pictures and activation-subspace projections."""
from __future__ import annotations

HELP = "Figure 2 (PNG, PDF) and its data (CSV)"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--subspace", nargs="+", required=True, help="CSVs from `gradguess subspace`")
    p.add_argument("--images", required=True, help="CSV from `gradguess class-images`")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import figure2

    figure2.write(args.subspace, args.images, args.out_prefix, args.preset)
    return 0
