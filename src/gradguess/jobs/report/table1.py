"""Table 1 (CSV, Markdown, LaTeX): LocalMixer test accuracy beside the paper's."""
from __future__ import annotations

HELP = "Table 1 (CSV, Markdown, LaTeX): LocalMixer test accuracy beside the paper's"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    for row in ("adam", "augment", "augment-long"):
        p.add_argument(f"--{row}", nargs="*", default=[], help=f"the {row} row's runs' seed files")
    out_prefix(p)


def run(args) -> int:
    from gradguess.report import table1

    table1.write({"adam": args.adam, "augment": args.augment, "augment_long": args.augment_long}, args.out_prefix,
                 args.preset)
    return 0
