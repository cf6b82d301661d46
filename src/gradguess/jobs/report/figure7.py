"""Figure 7 (PNG, PDF) and its data (CSV): downstream layers' training curves and Jacobian spectra."""
from __future__ import annotations

HELP = "Figure 7 (PNG, PDF) and its data (CSV)"


def add_arguments(p) -> None:
    from gradguess.jobs.report.common import out_prefix

    p.add_argument("--runs", nargs="*", default=[], help="the left panel's runs' seed files (none: no panel)")
    p.add_argument("--spectra", required=True, help="CSV from `gradguess jacobian`")
    p.add_argument("--jacobian", default=None, help="the spectra's MLP as JSON (dataset, depth, width, layer)")
    out_prefix(p)


def run(args) -> int:
    import json

    from gradguess.report import figure7

    figure7.write(args.runs, args.spectra, args.out_prefix, args.preset,
                  json.loads(args.jacobian) if args.jacobian else None)
    return 0
