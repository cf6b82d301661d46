"""paper_figures/<preset>/README.md and the resolved config."""
from __future__ import annotations

HELP = "paper_figures/README.md and the resolved config"


def add_arguments(p) -> None:
    p.add_argument("--out", required=True)
    p.add_argument("--config-out", required=True)
    p.add_argument("--config-json", required=True, help="the resolved config, as JSON")
    p.add_argument("--configfiles", nargs="*", default=[])
    p.add_argument("--artifacts", nargs="+", required=True)


def run(args) -> int:
    import json

    from gradguess.report.readme import write_config, write_readme

    config = json.loads(args.config_json)
    write_config(args.config_out, config, args.configfiles)
    write_readme(args.out, [*args.artifacts, args.config_out], config, args.configfiles)
    return 0
