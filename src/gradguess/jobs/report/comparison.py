"""comparison.md/csv: the paper's numbers and claims against this preset's, each verdict with its setting."""
from __future__ import annotations

HELP = "comparison.md/csv: the paper's numbers and claims against this preset's"


def add_arguments(p) -> None:
    p.add_argument("--figures", required=True, help="the preset's paper_figures directory: the artifacts compared, "
                                                     "and where comparison.md and comparison.csv go")
    p.add_argument("--averaging", default=None, help="Figure 4 (left)'s averaging.csv")
    p.add_argument("--settings", required=True,
                   help="the measurements' settings as JSON: {figure1: {dataset, depth, width, trajectory_epochs, "
                        "optimizer, lr, batch_size, batches_per_epoch}, averaging: {..., snapshot_epoch, paper_mode}, "
                        "spectra: {dataset, depth, width}, table1: {dataset}}")
    p.add_argument("--data-root", default=None, help="the tree's prepared data sets, to say which data each used")
    p.add_argument("--preset", required=True, help="preset name, stamped on the artifact")


def run(args) -> int:
    import json
    from pathlib import Path

    from gradguess.report import comparison
    from gradguess.report.artifacts import paths
    from gradguess.report.claims import PAPER_DATASETS, PROMPT_DATASETS

    root = Path(args.data_root) if args.data_root else None
    data = {d: comparison.describe_data(root / f"{d}.pt") for d in (*PAPER_DATASETS, *PROMPT_DATASETS)
            if root is not None and (root / f"{d}.pt").is_file()}
    comparison.write(Path(args.figures), args.averaging, json.loads(args.settings), args.preset,
                     paths("comparison", args.figures), data)
    return 0
