"""Figure 4 (PNG, PDF) and its data (CSV): averaging guesses in both JVP modes, matched cosine, momentum."""
from __future__ import annotations

HELP = "Figure 4 (PNG, PDF) and its data (CSV)"


def add_arguments(p) -> None:
    from gradguess import methods
    from gradguess.jobs.report.common import out_prefix, setting

    p.add_argument("--averaging", required=True, help="CSV from `gradguess averaging`")
    p.add_argument("--middle", nargs="*", default=[], help="the middle panel's runs' seed files (none: no panel)")
    p.add_argument("--right", nargs="*", default=[], help="the right panel's runs' seed files (none: no panel)")
    p.add_argument("--paper-mode", choices=methods.MODES, default="per_layer",
                   help="the JVP mode marked as the paper's reading (config figure4.paper_mode)")
    setting(p, "the averaged model's setting")
    out_prefix(p)


def run(args) -> int:
    import json

    from gradguess.report import figure4

    figure4.write(args.averaging, args.middle, args.right, args.out_prefix, args.preset, args.paper_mode,
                  json.loads(args.setting) if args.setting else None)
    return 0
