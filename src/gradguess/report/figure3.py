"""Figure 3: accuracy of Table 2's runs against (depth, width), one column per data set."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gradguess.report.names import arch_params, dataset_key, dataset_label, method_key, method_label
from gradguess.report.plots import colour, finish, style


def arch_order(runs: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted({(int(d), int(w)) for d, w in zip(runs["depth"], runs["width"])}, key=lambda a: arch_params(*a))


def draw(runs: pd.DataFrame, out, preset: str) -> list[Path]:
    """Train (top) and test (bottom) accuracy against (depth, width), one column per dataset."""
    style()
    runs = runs[runs["status"] == "completed"].copy()
    datasets = sorted(runs["dataset"].unique(), key=lambda d: dataset_key(d, figure3=True))
    archs = arch_order(runs)
    runs["arch"] = [archs.index((int(d), int(w))) for d, w in zip(runs["depth"], runs["width"])]
    methods = sorted(runs["method"].unique(), key=method_key)
    fig, axes = plt.subplots(2, len(datasets), figsize=(3.6 * len(datasets) + 1.5, 6.4), sharex=True, squeeze=False)
    for col, dataset in enumerate(datasets):
        for row, split in enumerate(("train", "test")):
            ax = axes[row][col]
            for i, method in enumerate(methods):
                g = runs[(runs["dataset"] == dataset) & (runs["method"] == method)]
                stats = g.groupby("arch")[f"{split}_acc"].agg(["mean", "std"]).reset_index()
                offset = (i - (len(methods) - 1) / 2) * 0.05  # keep overlapping error bars apart
                ax.errorbar(stats["arch"] + offset, stats["mean"] * 100, yerr=stats["std"].fillna(0) * 100,
                            marker="o", ms=4, capsize=2, color=colour(method), label=method_label(method))
            ax.set_xticks(range(len(archs)), [f"({d}, {w})" for d, w in archs], rotation=30)
            if row == 0:
                ax.set_title(dataset_label(dataset))
            if col == 0:
                ax.set_ylabel(f"{split} accuracy (%)")
            if row == 1:
                ax.set_xlabel("(depth, width)")
    return finish(fig, "Figure 3: MLP accuracy by architecture (mean ± std over seeds)", out, preset,
                  axes[0][0].get_legend_handles_labels())




def write(out, preset: str, runs: str) -> None:
    """`runs`: `gradguess report gather`'s table of runs."""
    draw(pd.read_csv(runs), out, preset)
