"""Figure 4: the cosine of the mean of n guesses of one example, in both JVP modes (left); directional descent
at a matched cosine against W^T (middle); both with SGD, with and without momentum (right)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gradguess import io
from gradguess.report.names import method_key, method_label
from gradguess.report.plots import colour, save, setting_title, style, training_curves
from gradguess.report.runs import load_runs, runs_of

MODE_TITLES = {"joint": "one directional derivative per example", "per_layer": "one per layer and example"}


def averaging_panel(ax, rows: pd.DataFrame, mode: str, paper_mode: str):
    for method in sorted(rows["method"].unique(), key=method_key):
        mine = rows[rows["method"] == method]
        stats = mine.groupby("guesses")["cosine"].agg(["mean", "min", "max"]).reset_index()
        ax.plot(stats["guesses"], stats["mean"], marker="o", ms=3, color=colour(method), label=method_label(method))
        ax.fill_between(stats["guesses"], stats["min"], stats["max"], color=colour(method), alpha=0.15, lw=0)
        if "limit" in mine and mine["limit"].notna().any():  # a biased method's curve ends at its mean's cosine
            limit = mine["limit"].mean()
            ax.axhline(limit, color=colour(method), ls=":", lw=1.2,
                       label=f"{method_label(method)}: its mean estimate's cosine, {limit:.2f}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("guesses averaged (one example)")
    ax.set_ylabel("cosine similarity with its gradient")
    mark = " — the paper's reading" if mode == paper_mode else ""
    ax.set_title(f"JVP mode {mode}: {MODE_TITLES.get(mode, mode)}{mark}", fontsize=9,
                 fontweight="bold" if mark else "normal")
    # below the axes: inside, the legend hid the limit line near the top
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)


def draw(averaging: pd.DataFrame, curves: pd.DataFrame, middle: list[str], right: list[str], out, preset: str,
         paper_mode: str = "per_layer", setting: dict | None = None) -> list[Path]:
    style()
    averaging = averaging.assign(mode=averaging["mode"].fillna("") if "mode" in averaging else "joint")
    modes = [m for m in ("per_layer", "joint") if m in set(averaging["mode"])]
    panels = len(modes) + bool(middle) + bool(right)
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.8), squeeze=False)
    axes = list(axes[0])
    for ax, mode in zip(axes, modes):
        averaging_panel(ax, averaging[averaging["mode"].isin([mode, ""])], mode, paper_mode)
    rest = axes[len(modes):]
    if middle:
        ax = rest.pop(0)
        training_curves(ax, curves, middle)
        ax.set_title(f"matched cosine ({setting_title(curves[curves['run'].isin(middle)])})", fontsize=9)
    if right:
        ax = rest.pop(0)
        training_curves(ax, curves, right)
        ax.set_title("bias and momentum (SGD; solid: momentum 0.9, dashed: none)", fontsize=9)
    examples = averaging["example"].nunique()
    where = f" at {setting['dataset']} {setting['depth']}x{setting['width']}" if setting else ""
    fig.suptitle(f"Figure 4: biased guesses saturate (left: mean and range over {examples} example(s){where}); a "
                 "matched-cosine unbiased guess trains faster, with momentum")
    fig.tight_layout()
    return save(fig, out, preset)


def write(out, preset: str, averaging: str, middle: list[str], right: list[str], paper_mode: str = "per_layer",
          setting: dict | None = None) -> None:
    """`averaging`: `gradguess averaging`'s CSV; `middle`, `right`: the panels' runs' seed files (the rule's
    inputs)."""
    curves = load_runs([*middle, *right])
    middle, right = runs_of(middle), runs_of(right)
    averaging = pd.read_csv(averaging)
    if "mode" not in averaging:
        averaging["mode"] = "joint"
    averaging["mode"] = averaging["mode"].fillna("")
    draw(averaging, curves, middle, right, out, preset, paper_mode, setting)
    keys = ["method", "mode", "guesses"]
    stats = averaging.groupby(keys)["cosine"].agg(["mean", "min", "max"]).reset_index()
    if "limit" in averaging:
        stats = stats.merge(averaging.groupby(keys)["limit"].mean().reset_index(), on=keys)
    stats["paper_reading"] = stats["mode"].isin([paper_mode, ""])
    panels = [stats.assign(panel="left")]
    if not curves.empty:
        panels.append(curves.assign(panel=["middle" if r in middle else "right" for r in curves["run"]]))
    io.write_text(out["csv"], pd.concat(panels).assign(preset=preset).to_csv(index=False))
