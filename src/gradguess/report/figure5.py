"""Figure 5 (§4.1, A.2): self-sharpening's guess cosine rising over training (top), and W^T with W's singular
values raised to a power (bottom), from the runs' monitor.csv."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from gradguess import io
from gradguess.report.names import method_label
from gradguess.report.plots import band, colour, save, setting_title, style
from gradguess.report.runs import load_monitors, load_runs


def draw(top: pd.DataFrame, curves: pd.DataFrame, bottom: pd.DataFrame, out, preset: str) -> list[Path]:
    """Top: self-sharpening's cosine rises while the others' stay flat, and its train accuracy;
    bottom: wt_sv_power per power, cosine and the first layer's effective rank over training."""
    style()
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    ax = axes[0][0]
    for run in dict.fromkeys(top["run"]):
        rows = top[top["run"] == run]
        stats = rows.groupby("step")["cosine"].agg(["mean", "min", "max"]).reset_index()
        band(ax, stats["step"], stats, colour(rows["method"].iloc[0]), method_label(rows["method"].iloc[0]))
    ax.axhline(0, color="0.5", lw=0.6)  # linear: a single batch's cosine can be negative
    ax.set_xlabel("step")
    ax.set_ylabel("cosine similarity with the gradient")
    ax.set_title("cosine of the step's estimate (whole network)", fontsize=9)
    legend(ax)
    ax = axes[0][1]
    for run in dict.fromkeys(curves["run"]):
        rows = curves[curves["run"] == run]
        c, label = colour(rows["method"].iloc[0]), method_label(rows["method"].iloc[0])
        for split, ls in (("train", "-"), ("test", ":")):
            stats = (rows.groupby("epoch")[f"{split}_acc"].agg(["mean", "min", "max"]) * 100).reset_index()
            band(ax, stats["epoch"], stats, c, label if split == "train" else None, ls=ls)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("train accuracy (solid) and test accuracy (dotted)", fontsize=9)
    legend(ax)
    powers = sorted(bottom["power"].dropna().unique()) if not bottom.empty else []
    palette = sns.color_palette("viridis", n_colors=max(len(powers), 1))
    rank = "rank_layers.0"
    for c, power in zip(palette, powers):
        rows = bottom[bottom["power"] == power]
        replicates = rows["seed"].nunique()
        for ax, column in ((axes[1][0], "cosine"), (axes[1][1], rank)):
            stats = rows.groupby("step")[column].agg(["mean", "min", "max"]).reset_index()
            band(ax, stats["step"], stats, c, f"power {power:g}")
    for ax, ylabel, title in ((axes[1][0], "cosine similarity with the gradient", "W^T with singular values ^ power"),
                              (axes[1][1], "effective rank, first layer's weights", "first layer's effective rank")):
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.set_title(title + (f" (mean and range over {replicates} replicates)" if powers else ""), fontsize=9)
        legend(ax, ncol=2)
    fig.suptitle(f"Figure 5: self-sharpening (top: {setting_title(top)}), re-created by raising W's singular values "
                 f"to a power (bottom: {setting_title(bottom)})")
    fig.tight_layout()
    return save(fig, out, preset)


def legend(ax, ncol: int = 1) -> None:
    if ax.get_legend_handles_labels()[0]:  # a row without runs (none monitored) gets no empty legend
        ax.legend(fontsize=7, frameon=False, ncol=ncol)


def figure5_data(top: pd.DataFrame, curves: pd.DataFrame, bottom: pd.DataFrame) -> pd.DataFrame:
    """Figure 5's data, long form: the top row's monitors and accuracy curves, the bottom row's monitors."""
    return pd.concat([top.assign(panel="top: cosine"), curves.assign(panel="top: accuracy"),
                      bottom.assign(panel="bottom: cosine and first-layer effective rank")], ignore_index=True)


def write(out, preset: str, top: list[str], bottom: list[str]) -> None:
    """`top`, `bottom`: seed files (monitor.csv) of the monitored Table 2 runs and of the wt_sv_power replicates,
    one run per power (the rule's inputs)."""
    top_monitors, bottom_monitors, curves = load_monitors(top), load_monitors(bottom), load_runs(top)
    draw(top_monitors, curves, bottom_monitors, out, preset)
    data = figure5_data(top_monitors, curves, bottom_monitors)
    io.write_text(out["csv"], data.assign(preset=preset).to_csv(index=False))
