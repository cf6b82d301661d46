"""Rewrite the block of a preset's verdicts in a README from its comparison.csv (between its markers)."""
from __future__ import annotations

HELP = "rewrite a README's block of a preset's verdicts from its comparison.csv"


def add_arguments(p) -> None:
    p.add_argument("--comparison", required=True, help="paper_figures/<preset>/comparison.csv")
    p.add_argument("--readme", default="README.md", help="the file holding the block's markers")


def run(args) -> int:
    from pathlib import Path

    from gradguess.report.summary import rewrite

    rewrite(Path(args.readme), Path(args.comparison))
    return 0
