"""Table 2 as CSV, Markdown and LaTeX."""
from __future__ import annotations

HELP = "Table 2 as CSV, Markdown and LaTeX"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--runs", required=True, help="CSV from `gradguess report gather`")
    p.add_argument("--layout", choices=("stacked", "wide"), default="stacked",
                   help="stacked: the paper's train block above a test block (default); wide: train and test side "
                        "by side")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import table2

    table2.write(args.runs, args.out_prefix, args.preset, layout=args.layout)
    return 0
