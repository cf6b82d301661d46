"""Arguments every report job shares."""
from __future__ import annotations


def out_prefix(p, name: str = "--out-prefix") -> None:
    p.add_argument(name, required=True, dest=name.lstrip("-").replace("-", "_"),
                   help="path without suffix, e.g. paper_figures/quick/figure4")
    p.add_argument("--preset", required=True, help="preset name, stamped on the artifact")


def setting(p, what: str) -> None:
    p.add_argument("--setting", default=None, help=f"{what} as JSON, for the titles")
