"""The paper's figures, drawn with seaborn, each saved as PNG and PDF and stamped with its preset."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # cluster nodes and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from gradguess import io  # noqa: E402
from gradguess.report.names import (PALETTE, arch_label, arch_params, dataset_key, dataset_label,  # noqa: E402
                                    method_key, method_label)


def _style():
    sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def _colour(method: str) -> str:
    return PALETTE.get(method.partition(":")[0], "#17becf")


def save(fig, prefix: str | Path, preset: str) -> list[Path]:
    fig.text(0.995, 0.005, f"gradguess · preset: {preset}", ha="right", va="bottom", fontsize=7, color="0.45")
    prefix = Path(prefix)
    paths = []
    for suffix in (".png", ".pdf"):
        with io.atomic_path(prefix.with_suffix(suffix)) as tmp:
            fig.savefig(tmp, format=suffix[1:], dpi=200, bbox_inches="tight")
        paths.append(prefix.with_suffix(suffix))
    plt.close(fig)
    return paths


def figure1(measurements: pd.DataFrame, prefix, preset: str, average_from_epoch: int = 1) -> list[Path]:
    """Cosine similarity with the true gradient along the backprop trajectory, one panel per JVP mode.

    `joint` is the paper's mode, `per_layer` our extension; epochs before
    `average_from_epoch` are shaded: drawn, but not in the table's average.
    """
    _style()
    grouped = measurements.groupby(["method", "mode", "epoch"], dropna=False)["cosine"]
    per_epoch = grouped.agg(mean="mean", q25=lambda c: c.quantile(0.25), q75=lambda c: c.quantile(0.75)).reset_index()
    per_epoch["mode"] = per_epoch["mode"].fillna("")
    modes = [m for m in ("joint", "per_layer") if m in set(per_epoch["mode"])] or [""]
    fig, axes = plt.subplots(1, len(modes), figsize=(5.2 * len(modes), 4), sharey=True, squeeze=False)
    methods = sorted(per_epoch["method"].unique(), key=method_key)
    for ax, mode in zip(axes[0], modes):
        for method in methods:
            rows = per_epoch[(per_epoch["method"] == method) & ((per_epoch["mode"] == mode) | (per_epoch["mode"] == ""))]
            if rows.empty:
                continue
            floor = 1e-6  # a log axis cannot show the rare negative batch mean
            ax.plot(rows["epoch"], rows["mean"].clip(lower=floor), marker="o", ms=3, color=_colour(method),
                    label=method_label(method))
            ax.fill_between(rows["epoch"], rows["q25"].clip(lower=floor), rows["q75"].clip(lower=floor),
                            color=_colour(method), alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch of backprop training")
        if per_epoch["epoch"].min() < average_from_epoch:
            ax.axvspan(per_epoch["epoch"].min() - 0.5, average_from_epoch - 0.5, color="0.9", zorder=0, lw=0)
        ax.set_title({"joint": "JVP mode: joint (the paper's)", "per_layer": "JVP mode: per_layer (our extension)"}
                     .get(mode, ""))
    positive = per_epoch["mean"][per_epoch["mean"] > 0]
    if not positive.empty:
        axes[0][0].set_ylim(bottom=float(positive.min()) / 5)
    axes[0][0].set_ylabel("cosine similarity with the gradient")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.suptitle("Figure 1: guessed-gradient cosine similarity along the backprop trajectory\n"
                 "(mean over batches, different batches each epoch; band: interquartile range;"
                 f" grey: not in the table's average)" if per_epoch["epoch"].min() < average_from_epoch else
                 "Figure 1: guessed-gradient cosine similarity along the backprop trajectory\n"
                 "(mean over batches, different batches each epoch; band: interquartile range)")
    fig.tight_layout()
    return save(fig, prefix, preset)


def _arch_order(runs: pd.DataFrame) -> list[tuple[int, int]]:
    return sorted({(int(d), int(w)) for d, w in zip(runs["depth"], runs["width"])}, key=lambda a: arch_params(*a))


def figure3(runs: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Train (top) and test (bottom) accuracy against (depth, width), one column per dataset."""
    _style()
    runs = runs[runs["status"] == "completed"].copy()
    datasets = sorted(runs["dataset"].unique(), key=lambda d: dataset_key(d, figure3=True))
    archs = _arch_order(runs)
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
                            marker="o", ms=4, capsize=2, color=_colour(method), label=method_label(method))
            ax.set_xticks(range(len(archs)), [f"({d}, {w})" for d, w in archs], rotation=30)
            if row == 0:
                ax.set_title(dataset_label(dataset))
            if col == 0:
                ax.set_ylabel(f"{split} accuracy (%)")
            if row == 1:
                ax.set_xlabel("(depth, width)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Figure 3: MLP accuracy by architecture (mean ± std over seeds)")
    fig.tight_layout()
    return save(fig, prefix, preset)


def figure11(curves: pd.DataFrame, prefix, preset: str) -> list[Path]:
    """Train (solid) and test (dashed) accuracy per epoch, rows datasets, columns architectures."""
    _style()
    datasets = sorted(curves["dataset"].unique(), key=dataset_key)
    archs = _arch_order(curves)
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
                ax.plot(g["epoch"], g["train_acc"] * 100, color=_colour(method), lw=1.4, label=method_label(method))
                ax.plot(g["epoch"], g["test_acc"] * 100, color=_colour(method), lw=1.2, ls="--")
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
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Figure 11: train (solid) and test (dashed) accuracy of the Table 2 runs")
    fig.tight_layout()
    return save(fig, prefix, preset)


__all__ = ["figure1", "figure3", "figure11"]
