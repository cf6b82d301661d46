"""Figure 11 (A.7): train and test curves of Table 2's runs, rows data sets, columns architectures."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from gradguess.report.figure3 import arch_order
from gradguess.report.names import arch_label, dataset_key, dataset_label, method_key, method_label
from gradguess.report.plots import colour, finish, markers, style


def draw(curves: pd.DataFrame, out, preset: str) -> list[Path]:
    """Train (solid) and test (dashed) accuracy per epoch, rows datasets, columns architectures."""
    style()
    datasets = sorted(curves["dataset"].unique(), key=dataset_key)
    archs = arch_order(curves)
    methods = sorted(curves["method"].unique(), key=method_key)
    fig, axes = plt.subplots(len(datasets), len(archs), figsize=(3.4 * len(archs) + 1.8, 2.8 * len(datasets)),
                             sharex=True, sharey="row", squeeze=False)
    mean = curves.groupby(["dataset", "depth", "width", "method", "epoch"])[["train_acc", "test_acc"]].mean().reset_index()
    for r, dataset in enumerate(datasets):
        for c, (depth, width) in enumerate(archs):
            ax = axes[r][c]
            for method in methods:
                g = mean[(mean["dataset"] == dataset) & (mean["depth"] == depth) & (mean["width"] == width)
                         & (mean["method"] == method)]
                if g.empty:
                    continue
                ax.plot(g["epoch"], g["train_acc"] * 100, color=colour(method), lw=1.4, label=method_label(method),
                        **markers(g["epoch"]))
                ax.plot(g["epoch"], g["test_acc"] * 100, color=colour(method), lw=1.2, ls="--", **markers(g["epoch"]))
            if r == 0:
                ax.set_title(arch_label(depth, width))
            if c == 0:
                ax.set_ylabel(f"{dataset_label(dataset)}\naccuracy (%)")
            if r == len(datasets) - 1:
                ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="0.3", lw=1.4), plt.Line2D([], [], color="0.3", ls="--", lw=1.2)]
    labels += ["train", "test"]
    return finish(fig, "Figure 11: train (solid) and test (dashed) accuracy of the Table 2 runs", out, preset,
                  (handles, labels))




def write(out, preset: str, curves: str) -> None:
    """`curves`: `gradguess report gather`'s table of per-epoch curves."""
    draw(pd.read_csv(curves), out, preset)
