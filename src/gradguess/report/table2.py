"""Table 2: train and test accuracy of every MLP run, mean ± std over seeds, in the paper's layout."""
from __future__ import annotations

import pandas as pd

from gradguess.report.layout import format_cell, mean_std, write_table
from gradguess.report.names import arch_label, arch_params, dataset_key, dataset_label, method_key, method_label


def table2(runs: pd.DataFrame) -> pd.DataFrame:
    """Long form: accuracy (%) mean ± std over seeds per architecture, method, dataset and split."""
    rows = []
    for (depth, width, method, dataset), group in runs.groupby(["depth", "width", "method", "dataset"]):
        done = group[group["status"] == "completed"]
        setting = {c: group[c].iloc[0] for c in ("planned_epochs", "optimizer", "lr", "batch_size", "weight_decay")
                   if c in group}
        for split in ("train", "test"):
            mean, std = mean_std(done[f"{split}_acc"] * 100)
            rows.append({"depth": depth, "width": width, "method": method, "dataset": dataset, "split": split,
                         "mean": mean, "std": std, "seeds": len(group), "diverged": int((group["status"] == "diverged").sum()),
                         **setting})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["_a"] = [arch_params(d, w) for d, w in zip(out["depth"], out["width"])]
    out["_m"] = out["method"].map(method_key)
    out["_d"] = out["dataset"].map(dataset_key)
    return out.sort_values(["_a", "_m", "split", "_d"]).drop(columns=["_a", "_m", "_d"]).reset_index(drop=True)


def table2_wide(long: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The paper's layout: rows (architecture, method), columns train/test × dataset."""
    datasets = sorted(long["dataset"].unique(), key=dataset_key)
    header = ["Architecture", "Method"] + [f"{split.title()} {dataset_label(d)}" for split in ("train", "test")
                                             for d in datasets]
    body = []
    for (depth, width, method), group in long.groupby(["depth", "width", "method"], sort=False):
        cells = {(r.split, r.dataset): format_cell(r.mean, r.std, r.diverged) for r in group.itertuples()}
        body.append([arch_label(depth, width), method_label(method)] +
                    [cells.get((split, d), "–") for split in ("train", "test") for d in datasets])
    return header, body


def table2_stacked(long: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """The paper's layout: a train block above a test block; rows (architecture, method), columns datasets.

    The block is the first column ("Train" / "Test" on the block's first row).
    """
    datasets = sorted(long["dataset"].unique(), key=dataset_key)
    header = ["Split", "Architecture", "Method"] + [dataset_label(d) for d in datasets]
    body = []
    for split in ("train", "test"):
        part = long[long["split"] == split]
        for (depth, width, method), group in part.groupby(["depth", "width", "method"], sort=False):
            cells = {r.dataset: format_cell(r.mean, r.std, r.diverged) for r in group.itertuples()}
            body.append([f"{split.title()} accuracy", arch_label(depth, width), method_label(method)]
                        + [cells.get(d, "–") for d in datasets])
    return header, body




def write(out, preset: str, runs: str, layout: str = "stacked") -> None:
    """`runs`: `gradguess report gather`'s one row per run."""
    long = table2(pd.read_csv(runs))
    header, body = table2_stacked(long) if layout == "stacked" else table2_wide(long)
    datasets = ", ".join(dataset_label(d) for d in sorted(set(long["dataset"]), key=dataset_key)) if len(long) else ""
    write_table(long, header, body, out, f"Table 2: train and test accuracy (%) of MLPs on {datasets}", preset,
                groups=2 if layout == "stacked" else 1)
