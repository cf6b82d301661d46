"""Rewrite the block of a preset's verdicts in docs/results.md from its comparison.csv, or the table of the claims'
checks (between their markers)."""
from __future__ import annotations

HELP = "rewrite docs/results.md's block of a preset's verdicts from its comparison.csv, or its table of claims"


def add_arguments(p) -> None:
    p.add_argument("--comparison", help="paper_figures/<preset>/comparison.csv")
    p.add_argument("--claims", action="store_true", help="rewrite the table of every claim's check instead")
    p.add_argument("--readme", default="docs/results.md", metavar="DOC",
                   help="the file holding the block's markers (default: docs/results.md)")


def run(args) -> int:
    from pathlib import Path

    from gradguess.report.summary import rewrite, rewrite_claims

    if not args.claims and not args.comparison:
        raise ValueError("gradguess report summary: give --comparison CSV, --claims, or both")
    if args.claims:
        rewrite_claims(Path(args.readme))
    if args.comparison:
        rewrite(Path(args.readme), Path(args.comparison))
    return 0
